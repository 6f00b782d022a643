/*
 * client.c — the HTTPS client on libcurl's easy interface.
 *
 * One CURL easy handle per struct http_client: the handle keeps its
 * connections (and TLS sessions) open between calls, so a thread that talks
 * to the same peer again pays no new handshake. A handle must never be used
 * by two threads at once, hence "one client per thread".
 */
#include "http/client.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/error.h"

#define CONNECT_TIMEOUT_MAX_MS 5000L

struct http_client {
    CURL *curl;
    struct curl_slist *post_headers;
    struct curl_slist *get_headers;
    struct buf *sink;         /* the caller's response buffer, during a call */
    ecert_status sink_status; /* why the write callback refused data */
    unsigned long connections;
    unsigned retry_after_s;   /* Retry-After (delta-seconds) of the last answer, 0 = none */
    char errbuf[CURL_ERROR_SIZE];
};

/* curl_global_init is not thread-safe and must run once per process, before
 * any handle exists; pthread_once makes the first http_client_new do it. The
 * matching curl_global_cleanup is left to process exit: the SDK cannot know
 * when its last user is done. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct http_client *c = userdata;
    size_t n = size * nmemb; /* size is 1 by curl's contract */
    ecert_status st = buf_append(c->sink, data, n);
    if (st) {
        /* Returning less than n makes curl stop with CURLE_WRITE_ERROR. */
        c->sink_status = st;
        return n ? 0 : 1;
    }
    return n;
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->post_headers);
    curl_slist_free_all(c->get_headers);
    free(c);
}

/* Options that stay for the life of the handle. Every curl_easy_setopt is
 * checked: an option this libcurl lacks must fail loudly, not weaken TLS. */
static ecert_status client_setup(struct http_client *c, const char *ca_file)
{
    CURL *h = c->curl;
    bool ok = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https") == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_USERAGENT, "ecert/" ECERT_VERSION) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEDATA, c) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) == CURLE_OK &&
              (!ca_file || curl_easy_setopt(h, CURLOPT_CAINFO, ca_file) == CURLE_OK);
    if (!ok)
        return err_set(ECERT_E_INTERNAL, "libcurl refused a required option");
    c->post_headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (c->post_headers)
        c->post_headers = curl_slist_append(c->post_headers, "Accept: application/json");
    c->get_headers = curl_slist_append(NULL, "Accept: application/json");
    if (!c->post_headers || !c->get_headers)
        return err_set(ECERT_E_NOMEM, "out of memory");
    return ECERT_OK;
}

ecert_status http_client_new(const char *ca_file, struct http_client **out)
{
    if (!out)
        return err_set(ECERT_E_ARG, "http_client_new: NULL argument");
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return err_set(ECERT_E_INTERNAL, "curl_global_init: %s", curl_easy_strerror(global_rc));
    /* A missing CA file would otherwise surface as "unreachable" on every
     * call; say what is wrong once, here. */
    if (ca_file) {
        FILE *f = fopen(ca_file, "r");
        if (!f)
            return err_set(ECERT_E_IO, "CA file %.200s: %s", ca_file, strerror(errno));
        fclose(f);
    }
    struct http_client *c = calloc(1, sizeof *c);
    if (!c)
        return err_set(ECERT_E_NOMEM, "out of memory");
    c->curl = curl_easy_init();
    ecert_status st =
        c->curl ? client_setup(c, ca_file) : err_set(ECERT_E_INTERNAL, "curl_easy_init failed");
    if (st) {
        http_client_free(c);
        return st;
    }
    *out = c;
    return ECERT_OK;
}

/* What a failed transfer means to our callers (SPEC §5: 5001 unreachable,
 * 5002 timeout); curl's own message goes into the detail. */
static ecert_status map_error(struct http_client *c, CURLcode rc, const char *method,
                              const char *url, size_t max)
{
    const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return err_set(ECERT_E_TIMEOUT, "%s %.200s: %s", method, url, why);
    case CURLE_WRITE_ERROR:
        if (c->sink_status == ECERT_E_TOO_LONG)
            return err_set(ECERT_E_TOO_LONG, "%s %.200s: response over %zu bytes", method, url,
                           max);
        if (c->sink_status)
            return err_set(c->sink_status, "%s %.200s: cannot store the response", method, url);
        return err_set(ECERT_E_UNREACHABLE, "%s %.200s: %s", method, url, why);
    case CURLE_FILESIZE_EXCEEDED:
        return err_set(ECERT_E_TOO_LONG, "%s %.200s: response over %zu bytes", method, url, max);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return err_set(ECERT_E_ARG, "%s %.200s: %s (https URLs only)", method, url, why);
    case CURLE_OUT_OF_MEMORY:
        return err_set(ECERT_E_NOMEM, "%s %.200s: out of memory", method, url);
    case CURLE_SSL_CACERT_BADFILE:
        return err_set(ECERT_E_IO, "%s %.200s: %s", method, url, why);
    default:
        /* Resolve, connect, TLS handshake and certificate verification,
         * resets and empty replies: the peer cannot be reached. */
        return err_set(ECERT_E_UNREACHABLE, "%s %.200s: %s", method, url, why);
    }
}

/* Retry-After in its delta-seconds form (what ecertd sends with 5003);
 * the HTTP-date form and anything unreadable count as none. Capped at a day. */
static unsigned retry_after(CURL *h)
{
    struct curl_header *hd = NULL;
    if (curl_easy_header(h, "Retry-After", 0, CURLH_HEADER, -1, &hd) != CURLHE_OK || !hd ||
        !hd->value)
        return 0;
    unsigned long v = 0;
    const char *p = hd->value;
    if (!*p)
        return 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 86400)
            return 86400;
    }
    return (unsigned)v;
}

/* The two halves of a transfer, shared by the single call (perform) and the
 * parallel one (http_client_post_parallel): set the per-call options, and
 * read the outcome once curl is done with the handle. */
static ecert_status prepare(struct http_client *c, const char *url, long timeout_ms,
                            struct buf *resp)
{
    CURL *h = c->curl;
    long connect_ms = timeout_ms < CONNECT_TIMEOUT_MAX_MS ? timeout_ms : CONNECT_TIMEOUT_MAX_MS;
    /* A declared Content-Length over the cap stops the transfer before any
     * of the body is read; the write callback catches the rest (chunked). */
    curl_off_t max_file = resp->max > (size_t)INT64_MAX ? 0 : (curl_off_t)resp->max;
    if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, max_file) != CURLE_OK)
        return err_set(ECERT_E_NOMEM, "out of memory");
    buf_reset(resp);
    c->sink = resp;
    c->sink_status = ECERT_OK;
    c->retry_after_s = 0;
    c->errbuf[0] = 0;
    return ECERT_OK;
}

static ecert_status finish(struct http_client *c, CURLcode rc, const char *method,
                           const char *url, int *status, struct buf *resp)
{
    CURL *h = c->curl;
    c->sink = NULL;
    long opened = 0;
    if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &opened) == CURLE_OK && opened > 0)
        c->connections += (unsigned long)opened;
    if (rc != CURLE_OK) {
        buf_reset(resp);
        return map_error(c, rc, method, url, resp->max);
    }
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    *status = (int)code;
    c->retry_after_s = retry_after(h);
    return ECERT_OK;
}

static ecert_status perform(struct http_client *c, const char *method, const char *url,
                            long timeout_ms, int *status, struct buf *resp)
{
    ecert_status st = prepare(c, url, timeout_ms, resp);
    if (st)
        return st;
    CURLcode rc = curl_easy_perform(c->curl);
    return finish(c, rc, method, url, status, resp);
}

static ecert_status set_post_body(struct http_client *c, const char *body, size_t len)
{
    if (!body && len)
        return err_set(ECERT_E_ARG, "http client: NULL body of %zu bytes", len);
    /* POSTFIELDS does not copy: the body is only read during the transfer. */
    if (curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "") != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->post_headers) != CURLE_OK)
        return err_set(ECERT_E_INTERNAL, "libcurl refused the request body");
    return ECERT_OK;
}

static ecert_status check_args(struct http_client *c, const char *url, long timeout_ms, int *status,
                               struct buf *resp)
{
    if (!c || !url || !status || !resp)
        return err_set(ECERT_E_ARG, "http client: NULL argument");
    *status = 0;
    if (timeout_ms <= 0)
        return err_set(ECERT_E_ARG, "http client: timeout must be positive");
    return ECERT_OK;
}

ecert_status http_client_post(struct http_client *c, const char *url, const char *body, size_t len,
                              long timeout_ms, int *status, struct buf *resp)
{
    ecert_status st = check_args(c, url, timeout_ms, status, resp);
    if (st)
        return st;
    if ((st = set_post_body(c, body, len)))
        return st;
    return perform(c, "POST", url, timeout_ms, status, resp);
}

ecert_status http_client_get(struct http_client *c, const char *url, long timeout_ms, int *status,
                             struct buf *resp)
{
    ecert_status st = check_args(c, url, timeout_ms, status, resp);
    if (st)
        return st;
    if (curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->get_headers) != CURLE_OK)
        return err_set(ECERT_E_INTERNAL, "libcurl refused a GET");
    return perform(c, "GET", url, timeout_ms, status, resp);
}

unsigned http_client_retry_after(const struct http_client *c)
{
    return c ? c->retry_after_s : 0;
}

unsigned long http_client_connections(const struct http_client *c)
{
    return c ? c->connections : 0;
}

/* Fan-out: the transfers run together on one curl multi handle, each with its
 * own deadline, so n peers cost the slowest one, not the sum. Each request
 * brings its own client (one per peer, kept by the caller), which keeps that
 * peer's connection alive between fan-outs. */
/* One multi handle per thread, kept: an easy handle added to a multi uses
 * the multi's connection cache, so a multi made per fan-out would close
 * every connection at its cleanup and each fan-out would pay new TLS
 * handshakes with every peer. */
static pthread_key_t multi_key;
static pthread_once_t multi_once = PTHREAD_ONCE_INIT;

static void multi_destroy(void *m)
{
    curl_multi_cleanup(m);
}

static void multi_key_init(void)
{
    pthread_key_create(&multi_key, multi_destroy);
}

static CURLM *thread_multi(void)
{
    pthread_once(&multi_once, multi_key_init);
    CURLM *m = pthread_getspecific(multi_key);
    if (!m) {
        m = curl_multi_init();
        if (m)
            pthread_setspecific(multi_key, m);
    }
    return m;
}

ecert_status http_client_post_parallel(struct http_parallel *reqs, size_t n)
{
    pthread_once(&global_once, global_init);
    CURLM *m = thread_multi();
    if (!m)
        return err_set(ECERT_E_NOMEM, "curl_multi_init failed");
    size_t added = 0;
    for (size_t i = 0; i < n; i++) {
        struct http_parallel *r = &reqs[i];
        r->status = 0;
        r->detail[0] = 0;
        r->st = check_args(r->client, r->url, r->timeout_ms, &r->status, r->resp);
        if (!r->st)
            r->st = set_post_body(r->client, r->body, r->len);
        if (!r->st)
            r->st = prepare(r->client, r->url, r->timeout_ms, r->resp);
        if (!r->st && curl_multi_add_handle(m, r->client->curl) != CURLM_OK)
            r->st = err_set(ECERT_E_INTERNAL, "curl_multi_add_handle failed");
        if (r->st) {
            snprintf(r->detail, sizeof r->detail, "%s", err_detail());
            r->done = true;
        } else {
            r->done = false;
            added++;
        }
    }
    int running = (int)added;
    while (running > 0) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            for (size_t i = 0; i < n; i++) {
                struct http_parallel *r = &reqs[i];
                if (r->done || r->client->curl != msg->easy_handle)
                    continue;
                r->st = finish(r->client, msg->data.result, "POST", r->url, &r->status, r->resp);
                if (r->st)
                    snprintf(r->detail, sizeof r->detail, "%s", err_detail());
                r->done = true;
                curl_multi_remove_handle(m, r->client->curl);
            }
        }
        if (running > 0 && curl_multi_poll(m, NULL, 0, 100, NULL) != CURLM_OK)
            break;
    }
    /* Anything not finished (a multi error) is reported as unreachable. */
    for (size_t i = 0; i < n; i++) {
        struct http_parallel *r = &reqs[i];
        if (r->done)
            continue;
        curl_multi_remove_handle(m, r->client->curl);
        r->client->sink = NULL;
        r->st = ECERT_E_UNREACHABLE;
        snprintf(r->detail, sizeof r->detail, "POST %.200s: transfer aborted", r->url);
        r->done = true;
    }
    return ECERT_OK;
}
