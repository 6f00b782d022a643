/*
 * server.c — the HTTPS server on libmicrohttpd (MHD) with GnuTLS.
 *
 * MHD calls on_request several times per request: once when the headers are
 * in (*con_cls is still NULL), once per piece of body, and once more with no
 * data when the body is complete. We keep one struct req_state per request in
 * *con_cls from the first call, run the handler on the last, and free the
 * state in on_completed, which MHD calls for every request that got a
 * con_cls, however it ends (response sent, client gone, server stopping).
 *
 * Bodies over max_body never reach the handler and are never buffered:
 *   - a declared Content-Length over the cap with "Expect: 100-continue", or
 *     over the cap by more than DRAIN_MAX, is answered 413 at once (MHD then
 *     closes the connection: it refuses to read a body after an early reply);
 *   - otherwise (a small overrun, or a chunked body that grows past the cap)
 *     the rest of the body is read and discarded, then 413 is sent, so that
 *     the client reads the answer instead of a reset from unread data; past
 *     DRAIN_MAX of discarded bytes the connection is dropped.
 * Methods other than GET and POST get 405 the same way: after their body
 * (if any) is drained, or at once when it is announced over DRAIN_MAX or
 * with "Expect: 100-continue".
 *
 * Handlers do not run on MHD's threads. A handler may wait seconds for a
 * peer (a province fan-out, the hub's deadline); on an MHD polling thread
 * that would stall every other connection the thread serves, kept-alive
 * ones included. So the complete request is handed to a pool of handler
 * threads and its connection suspended (MHD_suspend_connection); the
 * handler's thread stores the response and resumes the connection, and
 * MHD calls on_request once more, which queues the stored response. MHD's
 * threads only do TLS and socket I/O. Each connection has at most one
 * request in flight, so a queue as long as the connection limit never
 * overflows.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/error.h"
#include "common/secure.h"
#include "crypto/x509.h"

#define DEFAULT_BIND_IP "127.0.0.1"
#define DEFAULT_MAX_CONNECTIONS 1024u
#define DEFAULT_PER_IP 128u
#define DEFAULT_MAX_BODY (16u << 20)
#define DEFAULT_MAX_RESPONSE (64u << 20)
#define DEFAULT_MAX_ARENA (64u << 20)
#define DEFAULT_IDLE_S 30u
#define DEFAULT_GRACE_MS 5000u
/* Handler threads when the configuration says 0: enough for requests that
 * wait on peers, independent of the core count. */
#define DEFAULT_HANDLER_THREADS 32u
#define MAX_HANDLER_THREADS 1024u
/* MHD's per-connection pool: request line, headers and the read buffer. */
#define CONNECTION_MEMORY (64u * 1024)
/* How much of an oversized body we read and throw away to answer 413 on a
 * connection that stays usable; beyond it we answer at once or hang up. */
#define DRAIN_MAX (1u << 20)
/* Largest certificate chain or key accepted as PEM text. */
#define TLS_PEM_MAX X509_PEM_MAX
/* TLS 1.2 and 1.3 only, GnuTLS's default ("NORMAL") suites otherwise. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

#define JSON_TYPE "application/json; charset=utf-8"
static const char BODY_413[] = "{\"code\":1003,\"msg\":\"body too large\"}";
static const char BODY_405[] = "{\"code\":1004,\"msg\":\"method not allowed\"}";
static const char BODY_500[] = "{\"code\":5000,\"msg\":\"internal error\"}";

struct req_state;

/* The handler threads and their FIFO of complete requests. */
struct handler_pool {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    struct req_state **ring; /* cap entries */
    size_t cap, head, count;
    bool stopping;
    pthread_t *threads;
    unsigned nthreads;
};

struct http_server {
    struct MHD_Daemon *daemon;
    struct handler_pool pool;
    http_handler handler;
    void *ctx;
    size_t max_body, max_response, max_arena;
    unsigned grace_ms;
    uint16_t port;
    char *cert_pem, *key_pem; /* copies that outlive MHD's use of them */
    size_t key_len;
    void (*log)(void *log_ctx, const char *line);
    void *log_ctx;
    atomic_uint in_flight; /* requests between first callback and completion */
    /* The last MHD message while starting, for the error detail. */
    pthread_mutex_t start_lock;
    bool starting;
    char start_error[256];
};

enum req_verdict {
    REQ_READING = 0, /* accumulating the body */
    REQ_TOO_LARGE,   /* draining; 413 at the end */
    REQ_NOT_ALLOWED, /* not GET or POST: draining; 405 at the end */
    REQ_FAILED,      /* out of memory while buffering; 500 at the end */
    REQ_HANDLING,    /* queued or in a handler; the connection is suspended */
    REQ_ANSWERED,    /* the handler returned; resp is ready to be queued */
};

struct req_state {
    struct arena arena;
    struct buf body;
    size_t drained;
    enum req_verdict verdict;
    /* What the handler thread needs, captured on the MHD thread before the
     * connection is suspended (MHD's strings stay valid until completion). */
    struct MHD_Connection *conn;
    struct http_request req;
    char ip[INET6_ADDRSTRLEN];
    struct http_response resp;
};

/* ---- logging -------------------------------------------------------------- */

static void log_line(struct http_server *s, const char *line)
{
    if (s->log)
        s->log(s->log_ctx, line);
    else
        fprintf(stderr, "ecert http: %s\n", line); /* one call: one unbroken line */
}

/* MHD's messages (several of which end with a newline, some of which carry
 * GnuTLS's text) become one line each. */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct http_server *s = cls;
    char line[512];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        return;
    size_t len = strnlen(line, sizeof line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
        line[--len] = 0;
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r' || line[i] == '\t')
            line[i] = ' ';
    if (len == 0)
        return;
    pthread_mutex_lock(&s->start_lock);
    if (s->starting) {
        size_t keep = len < sizeof s->start_error - 1 ? len : sizeof s->start_error - 1;
        memcpy(s->start_error, line, keep);
        s->start_error[keep] = 0;
    }
    pthread_mutex_unlock(&s->start_lock);
    log_line(s, line);
}

/* ---- responses ------------------------------------------------------------ */

static enum MHD_Result reply_static(struct MHD_Connection *conn, unsigned status, const char *body,
                                    size_t len, bool allow_header)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE) != MHD_YES ||
        (allow_header &&
         MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, POST") != MHD_YES)) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Hands the handler's buffer to MHD, which frees it once it is sent. */
static enum MHD_Result reply_handler(struct MHD_Connection *conn, struct http_response *resp)
{
    unsigned status = resp->status >= 100 && resp->status <= 599 ? (unsigned)resp->status : 500;
    struct MHD_Response *r;
    if (resp->body.data && resp->body.len) {
        r = MHD_create_response_from_buffer_with_free_callback(resp->body.len, resp->body.data,
                                                               free);
        if (!r) {
            buf_release(&resp->body);
            return MHD_NO;
        }
        resp->body.data = NULL; /* owned by MHD now */
        resp->body.len = resp->body.cap = 0;
    } else {
        buf_release(&resp->body);
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
    }
    const char *ct = resp->content_type ? resp->content_type : JSON_TYPE;
    /* MHD refuses header values with CR/LF; fall back rather than fail. */
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ct) != MHD_YES &&
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE) != MHD_YES) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    /* Answers carry personal data: no shared cache may keep them. */
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    if (resp->retry_after_s > 0) {
        char secs[16];
        snprintf(secs, sizeof secs, "%u", resp->retry_after_s);
        if (MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs) != MHD_YES) {
            MHD_destroy_response(r);
            return MHD_NO;
        }
    }
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- requests ------------------------------------------------------------- */

/* Strict decimal (MHD has already refused a malformed header in strict mode,
 * but this must not depend on that). false when absent or unreadable. */
static bool content_length(struct MHD_Connection *conn, uint64_t *out)
{
    const char *v =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!v || !*v)
        return false;
    uint64_t n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
            return false;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    *out = n;
    return true;
}

static void remote_ip(struct MHD_Connection *conn, char out[INET6_ADDRSTRLEN])
{
    out[0] = 0;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, out, INET6_ADDRSTRLEN);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        /* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d. */
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            inet_ntop(AF_INET, in6->sin6_addr.s6_addr + 12, out, INET6_ADDRSTRLEN);
        else
            inet_ntop(AF_INET6, &in6->sin6_addr, out, INET6_ADDRSTRLEN);
    }
}

/* First call for a request: state, method and declared length. Returning
 * with a queued response ends the request here. */
static enum MHD_Result request_begin(struct http_server *s, struct MHD_Connection *conn,
                                     const char *method, void **con_cls)
{
    struct req_state *r = calloc(1, sizeof *r);
    if (!r)
        return MHD_NO;
    arena_init(&r->arena, s->max_arena);
    buf_init(&r->body, s->max_body);
    *con_cls = r;
    atomic_fetch_add(&s->in_flight, 1);

    uint64_t declared;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
        /* Like a small overrun of the cap: a body the client is still
         * sending is read and discarded first, so that it reads the 405
         * rather than a reset from unread data (curl: "failed sending
         * data"); one that cannot be drained is refused at once. */
        bool expect =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT) != NULL;
        if (expect || (content_length(conn, &declared) && declared > DRAIN_MAX))
            return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, BODY_405, sizeof BODY_405 - 1,
                                true);
        r->verdict = REQ_NOT_ALLOWED;
        return MHD_YES;
    }
    if (content_length(conn, &declared) && declared > s->max_body) {
        bool expect =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT) != NULL;
        if (expect || declared - s->max_body > DRAIN_MAX)
            return reply_static(conn, MHD_HTTP_CONTENT_TOO_LARGE, BODY_413, sizeof BODY_413 - 1,
                                false);
        r->verdict = REQ_TOO_LARGE;
    }
    return MHD_YES;
}

static enum MHD_Result request_data(struct req_state *r, const char *data, size_t n)
{
    if (r->verdict == REQ_READING) {
        ecert_status st = buf_append(&r->body, data, n);
        if (st == ECERT_OK)
            return MHD_YES;
        r->verdict = st == ECERT_E_TOO_LONG ? REQ_TOO_LARGE : REQ_FAILED;
        buf_release_secret(&r->body); /* what we have is useless now */
    }
    if (n > DRAIN_MAX - r->drained)
        return MHD_NO; /* no answer is possible mid-upload: hang up */
    r->drained += n;
    return MHD_YES;
}

/* Runs one request's handler on a pool thread, then hands the connection
 * back to MHD, which calls on_request again to send the answer. */
static void run_handler(struct http_server *s, struct req_state *r)
{
    buf_init(&r->resp.body, s->max_response);
    r->resp.status = 200;
    r->resp.content_type = NULL;
    r->resp.retry_after_s = 0;
    err_clear();
    s->handler(s->ctx, &r->req, &r->resp);
    r->verdict = REQ_ANSWERED;
    MHD_resume_connection(r->conn);
}

static void *handler_main(void *arg)
{
    struct http_server *s = arg;
    struct handler_pool *p = &s->pool;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->count == 0 && !p->stopping)
            pthread_cond_wait(&p->nonempty, &p->lock);
        if (p->count == 0) { /* stopping, and nothing left to answer */
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        struct req_state *r = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
        pthread_mutex_unlock(&p->lock);
        run_handler(s, r);
    }
}

/* false when the queue is full (cannot happen while every connection has
 * at most one request in flight; answered 500 rather than trusted). */
static bool pool_push(struct handler_pool *p, struct req_state *r)
{
    pthread_mutex_lock(&p->lock);
    bool ok = p->count < p->cap && !p->stopping;
    if (ok) {
        p->ring[(p->head + p->count) % p->cap] = r;
        p->count++;
        pthread_cond_signal(&p->nonempty);
    }
    pthread_mutex_unlock(&p->lock);
    return ok;
}

static enum MHD_Result request_end(struct http_server *s, struct MHD_Connection *conn,
                                   struct req_state *r, const char *url, const char *method)
{
    if (r->verdict == REQ_ANSWERED)
        return reply_handler(conn, &r->resp);
    if (r->verdict == REQ_TOO_LARGE)
        return reply_static(conn, MHD_HTTP_CONTENT_TOO_LARGE, BODY_413, sizeof BODY_413 - 1, false);
    if (r->verdict == REQ_NOT_ALLOWED)
        return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, BODY_405, sizeof BODY_405 - 1, true);
    if (r->verdict == REQ_FAILED)
        return reply_static(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, BODY_500, sizeof BODY_500 - 1,
                            false);
    if (r->verdict == REQ_HANDLING)
        return MHD_YES; /* a spurious call while suspended: nothing to do yet */
    remote_ip(conn, r->ip);
    r->conn = conn;
    r->req = (struct http_request){
        .method = method,
        .path = url,
        .content_type =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .body = r->body.data ? r->body.data : (const uint8_t *)"",
        .body_len = r->body.len,
        .remote_ip = r->ip,
        .arena = &r->arena,
    };
    r->verdict = REQ_HANDLING;
    /* Suspend first: once queued, a handler thread may resume it at once. */
    MHD_suspend_connection(conn);
    if (!pool_push(&s->pool, r)) {
        r->verdict = REQ_FAILED;
        MHD_resume_connection(conn);
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *s = cls;
    struct req_state *r = *con_cls;
    if (!r)
        return request_begin(s, conn, method, con_cls);
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return request_data(r, upload_data, n);
    }
    return request_end(s, conn, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    struct req_state *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    buf_release_secret(&r->body);
    if (r->verdict == REQ_ANSWERED)
        buf_release(&r->resp.body); /* reply_handler took it only if it queued it */
    arena_release(&r->arena);
    free(r);
    atomic_fetch_sub(&s->in_flight, 1);
}

/* ---- lifecycle ------------------------------------------------------------ */

static void server_free(struct http_server *s)
{
    if (!s)
        return;
    free(s->cert_pem);
    if (s->key_pem) {
        secure_wipe(s->key_pem, s->key_len);
        free(s->key_pem);
    }
    pthread_mutex_destroy(&s->start_lock);
    free(s->pool.ring);
    free(s->pool.threads);
    pthread_mutex_destroy(&s->pool.lock);
    pthread_cond_destroy(&s->pool.nonempty);
    free(s);
}

/* Lets the handler threads finish what is queued, then joins them. */
static void pool_stop(struct handler_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->nonempty);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
}

static ecert_status pool_start(struct http_server *s, unsigned nthreads, size_t cap)
{
    struct handler_pool *p = &s->pool;
    p->ring = calloc(cap, sizeof *p->ring);
    p->threads = calloc(nthreads, sizeof *p->threads);
    if (!p->ring || !p->threads)
        return err_set(ECERT_E_NOMEM, "out of memory");
    p->cap = cap;
    for (unsigned i = 0; i < nthreads; i++) {
        if (pthread_create(&p->threads[i], NULL, handler_main, s) != 0) {
            pool_stop(p);
            return err_set(ECERT_E_INTERNAL, "HTTPS server: cannot start handler threads");
        }
        p->nthreads = i + 1;
    }
    return ECERT_OK;
}

static ecert_status pem_copy(const char *pem, const char *what, char **out, size_t *len)
{
    size_t n = pem ? strnlen(pem, TLS_PEM_MAX + 1) : 0;
    if (n == 0)
        return err_set(ECERT_E_ARG, "HTTPS server: no TLS %s", what);
    if (n > TLS_PEM_MAX)
        return err_set(ECERT_E_TOO_LONG, "HTTPS server: TLS %s over %u bytes", what, TLS_PEM_MAX);
    *out = malloc(n + 1);
    if (!*out)
        return err_set(ECERT_E_NOMEM, "out of memory");
    memcpy(*out, pem, n);
    (*out)[n] = 0;
    if (len)
        *len = n;
    return ECERT_OK;
}

static unsigned cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

ecert_status http_server_start(const struct http_server_config *cfg, http_handler h, void *ctx,
                               struct http_server **out)
{
    if (!out)
        return err_set(ECERT_E_ARG, "http_server_start: NULL argument");
    *out = NULL;
    if (!cfg || !h)
        return err_set(ECERT_E_ARG, "http_server_start: NULL argument");

    const char *ip = cfg->bind_ip ? cfg->bind_ip : DEFAULT_BIND_IP;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    memset(&sin, 0, sizeof sin);
    memset(&sin6, 0, sizeof sin6);
    struct sockaddr *sa;
    bool v6 = false;
    if (inet_pton(AF_INET, ip, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons(cfg->port);
        sa = (struct sockaddr *)&sin;
    } else if (inet_pton(AF_INET6, ip, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(cfg->port);
        sa = (struct sockaddr *)&sin6;
        v6 = true;
    } else {
        return err_set(ECERT_E_ARG, "HTTPS server: bind address is not an IP address");
    }

    struct http_server *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(ECERT_E_NOMEM, "out of memory");
    pthread_mutex_init(&s->start_lock, NULL);
    pthread_mutex_init(&s->pool.lock, NULL);
    pthread_cond_init(&s->pool.nonempty, NULL);
    s->handler = h;
    s->ctx = ctx;
    s->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
    s->max_response = cfg->max_response ? cfg->max_response : DEFAULT_MAX_RESPONSE;
    s->max_arena = cfg->max_arena ? cfg->max_arena : DEFAULT_MAX_ARENA;
    s->grace_ms = cfg->stop_grace_ms ? cfg->stop_grace_ms : DEFAULT_GRACE_MS;
    s->log = cfg->log;
    s->log_ctx = cfg->log_ctx;
    atomic_init(&s->in_flight, 0);
    ecert_status st;
    size_t cert_len = 0;
    if ((st = pem_copy(cfg->tls_cert_pem, "certificate", &s->cert_pem, &cert_len)) ||
        (st = pem_copy(cfg->tls_key_pem, "key", &s->key_pem, &s->key_len)) ||
        (st = x509_tls_check_pair(s->cert_pem, cert_len, s->key_pem, s->key_len))) {
        server_free(s);
        return st;
    }

    unsigned threads = cfg->threads ? cfg->threads : cores();
    unsigned max_conn = cfg->max_connections ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS;
    unsigned per_ip = cfg->per_ip_connections ? cfg->per_ip_connections : DEFAULT_PER_IP;
    unsigned idle = cfg->idle_timeout_s ? cfg->idle_timeout_s : DEFAULT_IDLE_S;
    /* MHD splits the connection limit between the pool threads. */
    if (max_conn < threads)
        max_conn = threads;
    unsigned handlers = cfg->handler_threads ? cfg->handler_threads : DEFAULT_HANDLER_THREADS;
    if (handlers > MAX_HANDLER_THREADS)
        handlers = MAX_HANDLER_THREADS;
    /* One request in flight per connection: the queue never needs more. */
    if ((st = pool_start(s, handlers, max_conn))) {
        server_free(s);
        return st;
    }
    /* ITC: needed by MHD_quiesce_daemon (graceful stop). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TLS |
                     MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
    if (v6)
        flags |= MHD_USE_IPv6;

    s->starting = true;
    /* One thread is MHD's single internal polling thread, not a pool (MHD
     * warns when asked for a pool of one or zero): the option is then left
     * out, through an option array that is empty. */
    struct MHD_OptionItem pool[] = {
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    /* The logger comes first so that MHD reports even option errors to it. */
    s->daemon = MHD_start_daemon(
        flags, cfg->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_ARRAY, pool, MHD_OPTION_CONNECTION_LIMIT, max_conn,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_CONNECTION_TIMEOUT, idle,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY, MHD_OPTION_STRICT_FOR_CLIENT,
        (int)1, MHD_OPTION_HTTPS_MEM_CERT, s->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, s->key_pem,
        MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_END);
    pthread_mutex_lock(&s->start_lock);
    s->starting = false;
    pthread_mutex_unlock(&s->start_lock);
    if (!s->daemon) {
        st = err_set(ECERT_E_IO, "HTTPS server on %s port %u: %s", ip, (unsigned)cfg->port,
                     s->start_error[0] ? s->start_error : "libmicrohttpd could not start");
        pool_stop(&s->pool);
        server_free(s);
        return st;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di && di->port ? di->port : cfg->port;
    *out = s;
    return ECERT_OK;
}

uint16_t http_server_port(const struct http_server *s)
{
    return s ? s->port : 0;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

void http_server_stop(struct http_server *s)
{
    if (!s)
        return;
    /* Stop accepting, then give requests already begun the grace period to
     * complete (handler returned and response sent: on_completed ran), so
     * that a rolling restart does not cut answers in half. Idle keep-alive
     * connections hold no request and do not delay the stop. */
    MHD_socket lfd = MHD_quiesce_daemon(s->daemon);
    for (unsigned waited = 0; atomic_load(&s->in_flight) > 0 && waited < s->grace_ms; waited += 10)
        sleep_ms(10);
    /* MHD cannot stop with a connection suspended: every handler returns
     * (and resumes its connection) before the daemon goes. Handlers bound
     * their own waits (peer deadlines), so this ends. */
    pool_stop(&s->pool);
    /* Closes every connection (on_completed runs for the rest) and joins the
     * pool threads: after it no callback of ours can run. */
    MHD_stop_daemon(s->daemon);
    /* After quiesce the listening socket is ours to close. */
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    server_free(s);
}
