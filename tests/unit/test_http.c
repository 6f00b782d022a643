/*
 * The HTTPS server and client against each other over real TLS on loopback:
 * a P-256 certificate from the development CA, the client trusting that CA
 * from a file. Round trips, keep-alive reuse, the body cap (413 without the
 * handler, Content-Length and chunked, early and drained), 405, timeouts,
 * refused connections, certificate failures, concurrency, the response cap,
 * uploads cut off midway, graceful stop and start-up errors. Leaks are left
 * to ASan (build-http-asan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "common/buf.h"
#include "crypto/x509.h"
#include "http/client.h"
#include "http/server.h"

#define PEM_CAP (64u * 1024)
#define MAX_BODY 4096u
#define BIG_RESPONSE (100u * 1024)
#define SLEEP_MS 1500
#define HOLD_MS 10000

/* ---- fixture --------------------------------------------------------------- */

struct handler_ctx {
    atomic_int calls;
    atomic_int bad_requests; /* handler-side checks that failed */
    atomic_int sleeping;     /* handlers inside /sleep now */
    atomic_int holding;      /* handlers inside /hold now */
    atomic_int released;     /* set by /release; ends /hold */
};

struct fixture {
    struct buf ca_pem, ca_key, srv_pem, srv_key;
    struct buf other_ca_pem, other_ca_key;
    char ca_file[64], other_ca_file[64];
    struct handler_ctx hctx;
    struct http_server *server;
    uint16_t port;
    char base[64];
    atomic_int log_lines;
};

static struct fixture *F;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void quiet_log(void *ctx, const char *line)
{
    struct fixture *f = ctx;
    atomic_fetch_add(&f->log_lines, 1);
    if (getenv("ECERT_TEST_VERBOSE"))
        fprintf(stderr, "[server] %s\n", line);
    /* A log line is one line. */
    if (strchr(line, '\n'))
        abort();
}

static void handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct handler_ctx *h = ctx;
    atomic_fetch_add(&h->calls, 1);
    if (!req->body || req->body[req->body_len] != 0 || !req->remote_ip || !req->arena)
        atomic_fetch_add(&h->bad_requests, 1);

    if (strcmp(req->path, "/echo") == 0) {
        if (strcmp(req->method, "POST") != 0 || !req->content_type ||
            strcmp(req->content_type, "application/json") != 0)
            atomic_fetch_add(&h->bad_requests, 1);
        /* Through the arena, so that it is used on every echo. */
        char *copy = arena_strndup(req->arena, (const char *)req->body, req->body_len);
        if (!copy || buf_append(&resp->body, copy, req->body_len) != ECERT_OK)
            resp->status = 500;
    } else if (strcmp(req->path, "/sleep") == 0) {
        atomic_fetch_add(&h->sleeping, 1);
        sleep_ms(SLEEP_MS);
        atomic_fetch_sub(&h->sleeping, 1);
        buf_append_str(&resp->body, "{\"slept\":true}");
    } else if (strcmp(req->path, "/hold") == 0) {
        /* Waits for /release (at most HOLD_MS), answers whether it came. */
        atomic_fetch_add(&h->holding, 1);
        for (int i = 0; i < HOLD_MS / 10 && !atomic_load(&h->released); i++)
            sleep_ms(10);
        atomic_fetch_sub(&h->holding, 1);
        buf_append_str(&resp->body, atomic_load(&h->released) ? "released" : "timed out");
        resp->content_type = "text/plain";
    } else if (strcmp(req->path, "/release") == 0) {
        atomic_store(&h->released, 1);
        buf_append_str(&resp->body, "ok");
        resp->content_type = "text/plain";
    } else if (strcmp(req->path, "/big") == 0) {
        for (unsigned i = 0; i < BIG_RESPONSE / 64; i++)
            buf_append_str(&resp->body,
                           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n");
    } else if (strcmp(req->path, "/ip") == 0) {
        buf_append_str(&resp->body, req->remote_ip);
        resp->content_type = "text/plain";
    } else if (strcmp(req->path, "/healthz") == 0) {
        if (strcmp(req->method, "GET") != 0 || req->body_len != 0)
            atomic_fetch_add(&h->bad_requests, 1);
        buf_append_str(&resp->body, "ok");
        resp->content_type = "text/plain";
    } else if (strcmp(req->path, "/limited") == 0) {
        resp->status = 429;
        resp->retry_after_s = 42;
        buf_append_str(&resp->body, "{\"code\":5003}");
    } else if (strcmp(req->path, "/empty") == 0) {
        resp->status = 204;
    } else if (strcmp(req->path, "/bad-status") == 0) {
        resp->status = 42;
    } else {
        resp->status = 404;
        buf_append_str(&resp->body, "{\"code\":4001}");
    }
}

static void write_file(char *path, size_t cap, const struct buf *b)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, cap, "%s/ecert-http-XXXXXX", dir && *dir && strlen(dir) < 32 ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b->data, b->len), (ssize_t)b->len);
    close(fd);
}

static struct http_server_config base_config(struct fixture *f)
{
    struct http_server_config cfg = {
        .bind_ip = "127.0.0.1",
        .port = 0,
        .tls_cert_pem = (const char *)f->srv_pem.data,
        .tls_key_pem = (const char *)f->srv_key.data,
        .threads = 4,
        .max_body = MAX_BODY,
        .max_response = 1u << 20,
        .log = quiet_log,
        .log_ctx = f,
    };
    return cfg;
}

static int group_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    buf_init(&f->ca_pem, PEM_CAP), buf_init(&f->ca_key, PEM_CAP);
    buf_init(&f->srv_pem, PEM_CAP), buf_init(&f->srv_key, PEM_CAP);
    buf_init(&f->other_ca_pem, PEM_CAP), buf_init(&f->other_ca_key, PEM_CAP);
    static const char *const dns[] = {"localhost", NULL};
    static const char *const ips[] = {"127.0.0.1", "::1", NULL};
    assert_int_equal(x509_tls_ca_new("ecert test CA", 30, &f->ca_pem, &f->ca_key), ECERT_OK);
    assert_int_equal(x509_tls_server_new((char *)f->ca_pem.data, f->ca_pem.len,
                                         (char *)f->ca_key.data, f->ca_key.len, NULL, dns, ips, 30,
                                         &f->srv_pem, &f->srv_key),
                     ECERT_OK);
    assert_int_equal(x509_tls_ca_new("ecert test CA", 30, &f->other_ca_pem, &f->other_ca_key),
                     ECERT_OK);
    write_file(f->ca_file, sizeof f->ca_file, &f->ca_pem);
    write_file(f->other_ca_file, sizeof f->other_ca_file, &f->other_ca_pem);

    struct http_server_config cfg = base_config(f);
    assert_int_equal(http_server_start(&cfg, handler, &f->hctx, &f->server), ECERT_OK);
    f->port = http_server_port(f->server);
    assert_true(f->port > 0);
    snprintf(f->base, sizeof f->base, "https://127.0.0.1:%u", (unsigned)f->port);
    F = f;
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    struct fixture *f = *state;
    http_server_stop(f->server);
    assert_int_equal(atomic_load(&f->hctx.bad_requests), 0);
    unlink(f->ca_file);
    unlink(f->other_ca_file);
    buf_release(&f->ca_pem), buf_release_secret(&f->ca_key);
    buf_release(&f->srv_pem), buf_release_secret(&f->srv_key);
    buf_release(&f->other_ca_pem), buf_release_secret(&f->other_ca_key);
    free(f);
    return 0;
}

static void url_of(char *out, size_t cap, const char *path)
{
    snprintf(out, cap, "%s%s", F->base, path);
}

static struct http_client *client(void)
{
    struct http_client *c = NULL;
    assert_int_equal(http_client_new(F->ca_file, &c), ECERT_OK);
    return c;
}

/* A request the client API does not make (other methods, chunked or aborted
 * uploads), with libcurl directly and the same trust settings. */
struct raw_upload {
    size_t total, sent;
    size_t abort_at; /* 0 = never */
};

static size_t raw_read(char *out, size_t size, size_t nmemb, void *ud)
{
    struct raw_upload *u = ud;
    if (u->abort_at && u->sent >= u->abort_at)
        return CURL_READFUNC_ABORT;
    size_t n = size * nmemb, left = u->total - u->sent;
    if (n > left)
        n = left;
    if (n > 1000)
        n = 1000; /* small pieces: several callbacks on the server */
    memset(out, 'a', n);
    u->sent += n;
    return n;
}

static size_t raw_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    return buf_append(b, data, size * nmemb) == ECERT_OK ? size * nmemb : 0;
}

static CURLcode raw_request(const char *method, const char *path, struct raw_upload *up,
                            long *status, struct buf *body)
{
    char url[128];
    url_of(url, sizeof url, path);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    struct curl_slist *hdr = curl_slist_append(NULL, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CAINFO, F->ca_file);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, raw_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    if (up) {
        /* Unknown size: HTTP/1.1 chunked transfer encoding. */
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, raw_read);
        curl_easy_setopt(h, CURLOPT_READDATA, up);
    }
    if (strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    buf_reset(body);
    CURLcode rc = curl_easy_perform(h);
    *status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return rc;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_round_trip(void **state)
{
    struct http_client *c = client();
    struct buf resp = BUF_INIT(1u << 20);
    char url[128];
    int status = 0;
    const char *json = "{\"appId\":\"A3100001\",\"nonce\":\"c9a1f0e27b4d4e8f\"}";

    url_of(url, sizeof url, "/echo");
    assert_int_equal(http_client_post(c, url, json, strlen(json), 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 200);
    assert_int_equal(resp.len, strlen(json));
    assert_memory_equal(resp.data, json, resp.len);

    url_of(url, sizeof url, "/ip");
    assert_int_equal(http_client_get(c, url, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 200);
    assert_string_equal((char *)resp.data, "127.0.0.1");

    url_of(url, sizeof url, "/healthz?probe=1"); /* the query is not part of the path */
    assert_int_equal(http_client_get(c, url, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 200);
    assert_string_equal((char *)resp.data, "ok");

    /* An empty POST body reaches the handler as "", length 0. */
    url_of(url, sizeof url, "/echo");
    assert_int_equal(http_client_post(c, url, NULL, 0, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 200);
    assert_int_equal(resp.len, 0);

    /* Retry-After travels from the handler to the client, for that answer
     * only. */
    url_of(url, sizeof url, "/limited");
    assert_int_equal(http_client_post(c, url, "{}", 2, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 429);
    assert_int_equal(http_client_retry_after(c), 42);

    url_of(url, sizeof url, "/empty");
    assert_int_equal(http_client_get(c, url, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 204);
    assert_int_equal(http_client_retry_after(c), 0);
    url_of(url, sizeof url, "/bad-status");
    assert_int_equal(http_client_get(c, url, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 500);
    url_of(url, sizeof url, "/nowhere");
    assert_int_equal(http_client_get(c, url, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 404);
    assert_string_equal((char *)resp.data, "{\"code\":4001}");

    /* The certificate's DNS name works as well as its IP. */
    char named[128];
    snprintf(named, sizeof named, "https://localhost:%u/healthz", (unsigned)F->port);
    assert_int_equal(http_client_get(c, named, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 200);

    buf_release(&resp);
    http_client_free(c);
}

static void test_keep_alive(void **state)
{
    struct http_client *c = client();
    struct buf resp = BUF_INIT(1u << 20);
    char url[128], body[64];
    url_of(url, sizeof url, "/echo");
    for (int i = 0; i < 100; i++) {
        int status = 0;
        int n = snprintf(body, sizeof body, "{\"i\":%d}", i);
        assert_int_equal(http_client_post(c, url, body, (size_t)n, 5000, &status, &resp), ECERT_OK);
        assert_int_equal(status, 200);
        assert_memory_equal(resp.data, body, (size_t)n);
    }
    /* GET and POST share the connection too. */
    int status = 0;
    url_of(url, sizeof url, "/healthz");
    assert_int_equal(http_client_get(c, url, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(http_client_connections(c), 1);
    buf_release(&resp);
    http_client_free(c);
}

static void test_body_too_large(void **state)
{
    struct http_client *c = client();
    struct buf resp = BUF_INIT(1u << 20);
    char url[128];
    int status = 0;
    url_of(url, sizeof url, "/echo");
    size_t big = 3u << 20;
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, '7', big);

    /* Exactly the cap is fine. */
    assert_int_equal(http_client_post(c, url, body, MAX_BODY, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 200);
    assert_int_equal(resp.len, MAX_BODY);

    int before = atomic_load(&F->hctx.calls);
    /* One byte over: the body is read and discarded, the connection stays. */
    unsigned long conns = http_client_connections(c);
    assert_int_equal(http_client_post(c, url, body, MAX_BODY + 1, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 413);
    assert_string_equal((char *)resp.data, "{\"code\":1003,\"msg\":\"body too large\"}");
    assert_int_equal(http_client_connections(c), conns);
    /* 3 MiB: curl asks "Expect: 100-continue", the server answers 413 at
     * once and the body is never sent (were it sent, the server would stop
     * draining after 1 MiB and hang up: no 413 would arrive). */
    assert_int_equal(http_client_post(c, url, body, big, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 413);
    assert_string_equal((char *)resp.data, "{\"code\":1003,\"msg\":\"body too large\"}");
    assert_int_equal(atomic_load(&F->hctx.calls), before);

    /* Chunked (no Content-Length): over the cap while accumulating. */
    struct buf rb = BUF_INIT(1u << 20);
    long code = 0;
    struct raw_upload up = {.total = 3 * MAX_BODY};
    assert_int_equal(raw_request("POST", "/echo", &up, &code, &rb), CURLE_OK);
    assert_int_equal(code, 413);
    assert_string_equal((char *)rb.data, "{\"code\":1003,\"msg\":\"body too large\"}");
    /* Chunked and endless: the server stops reading and hangs up. */
    struct raw_upload flood = {.total = 4u << 20};
    CURLcode rc = raw_request("POST", "/echo", &flood, &code, &rb);
    assert_true(rc != CURLE_OK || code == 413);
    assert_true(flood.sent < flood.total);
    assert_int_equal(atomic_load(&F->hctx.calls), before);

    /* The client still works afterwards. */
    assert_int_equal(http_client_post(c, url, "{}", 2, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 200);
    assert_int_equal(atomic_load(&F->hctx.calls), before + 1);
    free(body);
    buf_release(&rb);
    buf_release(&resp);
    http_client_free(c);
}

static void test_method_not_allowed(void **state)
{
    struct buf rb = BUF_INIT(1u << 20);
    long code = 0;
    int before = atomic_load(&F->hctx.calls);
    static const char *const methods[] = {"PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        assert_int_equal(raw_request(methods[i], "/echo", NULL, &code, &rb), CURLE_OK);
        assert_int_equal(code, 405);
        assert_string_equal((char *)rb.data, "{\"code\":1004,\"msg\":\"method not allowed\"}");
    }
    /* With a body, too: the server reads and discards it before answering,
     * so the client always gets the 405 (answered first, a body still on
     * its way made curl fail with "failed sending data" now and then; the
     * 256 KiB ones nearly always). */
    static const size_t sizes[] = {100, 64u << 10, 256u << 10};
    for (int rep = 0; rep < 5; rep++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            struct raw_upload up = {.total = sizes[i]};
            assert_int_equal(raw_request("PUT", "/echo", &up, &code, &rb), CURLE_OK);
            assert_int_equal(code, 405);
            assert_int_equal(up.sent, up.total);
            assert_string_equal((char *)rb.data, "{\"code\":1004,\"msg\":\"method not allowed\"}");
        }
    assert_int_equal(atomic_load(&F->hctx.calls), before);
    buf_release(&rb);
}

static void test_timeout(void **state)
{
    struct http_client *c = client();
    struct buf resp = BUF_INIT(1u << 20);
    char url[128];
    int status = -1;
    url_of(url, sizeof url, "/sleep");
    long t0 = now_ms();
    assert_int_equal(http_client_post(c, url, "{}", 2, 300, &status, &resp), ECERT_E_TIMEOUT);
    long took = now_ms() - t0;
    assert_true(took >= 250 && took < SLEEP_MS);
    assert_int_equal(status, 0);
    assert_int_equal(resp.len, 0);
    assert_non_null(strstr(ecert_last_error(), "/sleep"));
    /* The same client recovers on a new connection. */
    url_of(url, sizeof url, "/healthz");
    assert_int_equal(http_client_get(c, url, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 200);
    buf_release(&resp);
    http_client_free(c);
}

static void test_refused(void **state)
{
    /* A port that was just free: bind, read it, close. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t sl = sizeof sin;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    close(fd);

    struct http_client *c = client();
    struct buf resp = BUF_INIT(1024);
    char url[128];
    int status = -1;
    snprintf(url, sizeof url, "https://127.0.0.1:%u/echo", (unsigned)ntohs(sin.sin_port));
    assert_int_equal(http_client_post(c, url, "{}", 2, 3000, &status, &resp), ECERT_E_UNREACHABLE);
    assert_int_equal(status, 0);
    assert_true(strlen(ecert_last_error()) > 0);
    buf_release(&resp);
    http_client_free(c);
}

static void test_tls_failures(void **state)
{
    struct buf resp = BUF_INIT(1024);
    char url[128];
    int status = -1;
    url_of(url, sizeof url, "/echo");
    int before = atomic_load(&F->hctx.calls);

    /* A CA that did not issue the server's certificate. */
    struct http_client *c = NULL;
    assert_int_equal(http_client_new(F->other_ca_file, &c), ECERT_OK);
    assert_int_equal(http_client_post(c, url, "{}", 2, 3000, &status, &resp), ECERT_E_UNREACHABLE);
    assert_non_null(strstr(ecert_last_error(), "certificate"));
    http_client_free(c);

    /* The right CA, but a certificate for another name. */
    struct buf pem = BUF_INIT(PEM_CAP), key = BUF_INIT(PEM_CAP);
    static const char *const other[] = {"other.example", NULL};
    assert_int_equal(x509_tls_server_new((char *)F->ca_pem.data, F->ca_pem.len,
                                         (char *)F->ca_key.data, F->ca_key.len, NULL, other, NULL,
                                         1, &pem, &key),
                     ECERT_OK);
    struct http_server_config cfg = base_config(F);
    cfg.tls_cert_pem = (const char *)pem.data;
    cfg.tls_key_pem = (const char *)key.data;
    cfg.threads = 1;
    struct http_server *s = NULL;
    assert_int_equal(http_server_start(&cfg, handler, &F->hctx, &s), ECERT_OK);
    snprintf(url, sizeof url, "https://127.0.0.1:%u/echo", (unsigned)http_server_port(s));
    c = client();
    assert_int_equal(http_client_post(c, url, "{}", 2, 3000, &status, &resp), ECERT_E_UNREACHABLE);
    http_client_free(c);
    http_server_stop(s);

    /* Plain HTTP is refused by the client before any connection. */
    c = client();
    snprintf(url, sizeof url, "http://127.0.0.1:%u/echo", (unsigned)F->port);
    assert_int_equal(http_client_post(c, url, "{}", 2, 3000, &status, &resp), ECERT_E_ARG);
    assert_int_equal(http_client_connections(c), 0);
    http_client_free(c);
    assert_int_equal(atomic_load(&F->hctx.calls), before);
    buf_release(&pem), buf_release_secret(&key), buf_release(&resp);
}

#define THREADS 8
#define PER_THREAD 50

struct worker {
    int id;
    int ok;
    unsigned long connections;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct http_client *c = NULL;
    if (http_client_new(F->ca_file, &c) != ECERT_OK)
        return NULL;
    struct buf resp = BUF_INIT(1u << 20);
    char url[128], body[96];
    url_of(url, sizeof url, "/echo");
    for (int i = 0; i < PER_THREAD; i++) {
        int status = 0;
        int n = snprintf(body, sizeof body, "{\"thread\":%d,\"request\":%d}", w->id, i);
        if (http_client_post(c, url, body, (size_t)n, 10000, &status, &resp) == ECERT_OK &&
            status == 200 && resp.len == (size_t)n && memcmp(resp.data, body, (size_t)n) == 0)
            w->ok++;
    }
    w->connections = http_client_connections(c);
    buf_release(&resp);
    http_client_free(c);
    return NULL;
}

static void test_concurrent(void **state)
{
    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.id = i};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, PER_THREAD);
        assert_int_equal(w[i].connections, 1);
    }
}

static void test_response_too_long(void **state)
{
    struct http_client *c = client();
    struct buf small = BUF_INIT(1024), resp = BUF_INIT(1u << 20);
    char url[128];
    int status = -1;
    url_of(url, sizeof url, "/big");
    assert_int_equal(http_client_get(c, url, 5000, &status, &small), ECERT_E_TOO_LONG);
    assert_int_equal(small.len, 0);
    /* Exactly the cap is fine. */
    small.max = BIG_RESPONSE;
    assert_int_equal(http_client_get(c, url, 5000, &status, &small), ECERT_OK);
    assert_int_equal(small.len, BIG_RESPONSE);
    small.max = BIG_RESPONSE - 1;
    assert_int_equal(http_client_get(c, url, 5000, &status, &small), ECERT_E_TOO_LONG);
    assert_int_equal(http_client_get(c, url, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 200);
    assert_int_equal(resp.len, BIG_RESPONSE);
    buf_release(&small);
    buf_release(&resp);
    http_client_free(c);
}

/* Clients that go away mid-upload: the server must free the request state
 * (ASan's leak check at exit covers this path). */
static void test_upload_aborted(void **state)
{
    int before = atomic_load(&F->hctx.calls);
    struct buf rb = BUF_INIT(1u << 20);
    long code = 0;
    for (int i = 0; i < 5; i++) {
        struct raw_upload up = {.total = MAX_BODY - 10, .abort_at = 2000};
        assert_int_equal(raw_request("POST", "/echo", &up, &code, &rb), CURLE_ABORTED_BY_CALLBACK);
    }
    assert_int_equal(atomic_load(&F->hctx.calls), before);
    /* The server is fine. */
    struct http_client *c = client();
    char url[128];
    int status = 0;
    url_of(url, sizeof url, "/healthz");
    assert_int_equal(http_client_get(c, url, 5000, &status, &rb), ECERT_OK);
    assert_int_equal(status, 200);
    http_client_free(c);
    buf_release(&rb);
}

struct slow_call {
    const char *url;
    ecert_status st;
    int status;
    char answer[16];
};

static void *slow_main(void *arg)
{
    struct slow_call *sc = arg;
    struct http_client *c = NULL;
    if (http_client_new(F->ca_file, &c) != ECERT_OK)
        return NULL;
    struct buf resp = BUF_INIT(1024);
    sc->st = http_client_post(c, sc->url, "{}", 2, HOLD_MS + 5000, &sc->status, &resp);
    if (sc->st == ECERT_OK)
        snprintf(sc->answer, sizeof sc->answer, "%.*s", (int)resp.len, (const char *)resp.data);
    buf_release(&resp);
    http_client_free(c);
    return NULL;
}

/* Stopping waits for a request in progress and its answer goes out. */
static void test_graceful_stop(void **state)
{
    struct http_server_config cfg = base_config(F);
    cfg.threads = 2;
    struct http_server *s = NULL;
    struct handler_ctx hctx = {0}; /* its own: /sleep of other tests may still run */
    assert_int_equal(http_server_start(&cfg, handler, &hctx, &s), ECERT_OK);
    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/sleep", (unsigned)http_server_port(s));
    struct slow_call sc = {.url = url, .st = ECERT_E_INTERNAL};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_main, &sc), 0);
    /* Wait until the request is inside the handler. */
    for (int i = 0; i < 1000 && atomic_load(&hctx.sleeping) == 0; i++)
        sleep_ms(10);
    assert_int_equal(atomic_load(&hctx.sleeping), 1);
    long t0 = now_ms();
    http_server_stop(s);
    long took = now_ms() - t0;
    pthread_join(t, NULL);
    assert_int_equal(sc.st, ECERT_OK);
    assert_int_equal(sc.status, 200);
    assert_true(took < 5000);

    /* Nothing listens any more. */
    struct http_client *c = client();
    struct buf resp = BUF_INIT(1024);
    int status = 0;
    assert_int_equal(http_client_post(c, url, "{}", 2, 2000, &status, &resp), ECERT_E_UNREACHABLE);
    buf_release(&resp);
    http_client_free(c);
}

/* A handler that waits (as a province waits on a hanging peer) must not
 * hold up other connections, kept-alive ones included, even when the server
 * has a single I/O thread: /hold waits until a request on another, already
 * open connection has been handled. Were handlers run on the I/O thread,
 * /release could not be read until /hold gave up ("timed out"). */
static void test_blocked_handler(void **state)
{
    struct http_server_config cfg = base_config(F);
    cfg.threads = 1;
    cfg.handler_threads = 2;
    struct http_server *s = NULL;
    struct handler_ctx hctx = {0};
    assert_int_equal(http_server_start(&cfg, handler, &hctx, &s), ECERT_OK);
    char hold_url[128], echo_url[128], release_url[128];
    unsigned port = (unsigned)http_server_port(s);
    snprintf(hold_url, sizeof hold_url, "https://127.0.0.1:%u/hold", port);
    snprintf(echo_url, sizeof echo_url, "https://127.0.0.1:%u/echo", port);
    snprintf(release_url, sizeof release_url, "https://127.0.0.1:%u/release", port);

    /* The second client's connection is open and idle before /hold starts. */
    struct http_client *c = client();
    struct buf resp = BUF_INIT(1024);
    int status = 0;
    assert_int_equal(http_client_post(c, echo_url, "{}", 2, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 200);

    struct slow_call hc = {.url = hold_url, .st = ECERT_E_INTERNAL};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_main, &hc), 0);
    for (int i = 0; i < 1000 && atomic_load(&hctx.holding) == 0; i++)
        sleep_ms(10);
    assert_int_equal(atomic_load(&hctx.holding), 1);

    resp.len = 0;
    assert_int_equal(http_client_post(c, release_url, "{}", 2, HOLD_MS + 5000, &status, &resp),
                     ECERT_OK);
    assert_int_equal(status, 200);
    assert_int_equal(http_client_connections(c), 1); /* the same kept-alive connection */
    pthread_join(t, NULL);
    assert_int_equal(hc.st, ECERT_OK);
    assert_int_equal(hc.status, 200);
    assert_string_equal(hc.answer, "released");

    buf_release(&resp);
    http_client_free(c);
    http_server_stop(s);
}

/* A body of several MiB under a larger cap: curl's "Expect: 100-continue",
 * MHD's "100 Continue", the body in many pieces, an echo as large. */
static void test_large_body(void **state)
{
    struct http_server_config cfg = base_config(F);
    cfg.max_body = 8u << 20;
    cfg.max_response = 8u << 20;
    struct http_server *s = NULL;
    struct handler_ctx hctx = {0};
    assert_int_equal(http_server_start(&cfg, handler, &hctx, &s), ECERT_OK);
    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/echo", (unsigned)http_server_port(s));
    size_t n = 5u << 20;
    char *body = malloc(n);
    assert_non_null(body);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)('a' + i % 26);
    struct http_client *c = client();
    struct buf resp = BUF_INIT(8u << 20);
    int status = 0;
    assert_int_equal(http_client_post(c, url, body, n, 20000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 200);
    assert_int_equal(resp.len, n);
    assert_memory_equal(resp.data, body, n);
    assert_int_equal(atomic_load(&hctx.calls), 1);
    free(body);
    buf_release(&resp);
    http_client_free(c);
    http_server_stop(s);
}

/* Per-IP connection limit and the idle timeout, on a server of their own. */
static void test_connection_limits(void **state)
{
    struct http_server_config cfg = base_config(F);
    cfg.threads = 1;
    cfg.per_ip_connections = 2;
    cfg.idle_timeout_s = 1;
    struct http_server *s = NULL;
    struct handler_ctx hctx = {0};
    assert_int_equal(http_server_start(&cfg, handler, &hctx, &s), ECERT_OK);
    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/healthz", (unsigned)http_server_port(s));
    struct buf resp = BUF_INIT(1024);
    int status = 0;

    /* Two kept-alive connections from 127.0.0.1 use up its allowance. */
    struct http_client *a = client(), *b = client(), *c = client();
    assert_int_equal(http_client_get(a, url, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(http_client_get(b, url, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(http_client_get(c, url, 5000, &status, &resp), ECERT_E_UNREACHABLE);
    http_client_free(b);
    http_client_free(c);

    /* Idle past the timeout: the server closed a's connection, a reconnects. */
    sleep_ms(2500);
    assert_int_equal(http_client_get(a, url, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 200);
    assert_int_equal(http_client_connections(a), 2);
    http_client_free(a);
    buf_release(&resp);
    http_server_stop(s);
}

static void test_start_errors(void **state)
{
    struct http_server_config cfg = base_config(F);
    struct http_server *s = (struct http_server *)&cfg; /* must be reset to NULL */

    cfg.port = F->port; /* in use */
    assert_int_equal(http_server_start(&cfg, handler, &F->hctx, &s), ECERT_E_IO);
    assert_null(s);
    assert_non_null(strstr(ecert_last_error(), "127.0.0.1"));

    cfg = base_config(F);
    cfg.bind_ip = "localhost"; /* a name, not an address */
    assert_int_equal(http_server_start(&cfg, handler, &F->hctx, &s), ECERT_E_ARG);
    cfg = base_config(F);
    cfg.tls_key_pem = NULL;
    assert_int_equal(http_server_start(&cfg, handler, &F->hctx, &s), ECERT_E_ARG);
    cfg = base_config(F);
    cfg.tls_cert_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
    assert_int_equal(http_server_start(&cfg, handler, &F->hctx, &s), ECERT_E_MALFORMED);
    cfg = base_config(F);
    cfg.tls_key_pem = (const char *)F->ca_key.data; /* the key of another certificate */
    assert_int_equal(http_server_start(&cfg, handler, &F->hctx, &s), ECERT_E_MALFORMED);
    assert_non_null(strstr(ecert_last_error(), "does not belong"));
    assert_null(s);
    assert_int_equal(http_server_start(NULL, handler, NULL, &s), ECERT_E_ARG);
    http_server_stop(NULL);

    struct http_client *c = NULL;
    assert_int_equal(http_client_new("/nonexistent/ca.pem", &c), ECERT_E_IO);
    assert_null(c);
    c = client();
    struct buf resp = BUF_INIT(16);
    int status;
    char url[128];
    url_of(url, sizeof url, "/healthz");
    assert_int_equal(http_client_get(c, url, 0, &status, &resp), ECERT_E_ARG);
    assert_int_equal(http_client_post(c, url, NULL, 5, 1000, &status, &resp), ECERT_E_ARG);
    http_client_free(c);
    http_client_free(NULL);
}

static void test_ipv6(void **state)
{
    struct http_server_config cfg = base_config(F);
    cfg.bind_ip = "::1";
    cfg.threads = 1;
    struct http_server *s = NULL;
    if (http_server_start(&cfg, handler, &F->hctx, &s) != ECERT_OK)
        skip(); /* no IPv6 loopback here */
    char url[128];
    snprintf(url, sizeof url, "https://[::1]:%u/ip", (unsigned)http_server_port(s));
    struct http_client *c = client();
    struct buf resp = BUF_INIT(1024);
    int status = 0;
    assert_int_equal(http_client_get(c, url, 5000, &status, &resp), ECERT_OK);
    assert_int_equal(status, 200);
    assert_string_equal((char *)resp.data, "::1");
    buf_release(&resp);
    http_client_free(c);
    http_server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_tls_failures),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_response_too_long),
        cmocka_unit_test(test_upload_aborted),
        cmocka_unit_test(test_graceful_stop),
        cmocka_unit_test(test_blocked_handler),
        cmocka_unit_test(test_large_body),
        cmocka_unit_test(test_connection_limits),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_ipv6),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
