/*
 * server.h — the project's small HTTPS server interface, on libmicrohttpd.
 *
 * What it guarantees to handlers: a complete request body no larger than
 * max_body (else 413 with code 1003 before the handler runs), a per-request
 * arena released after the response is sent, the client's IP, and a bounded
 * number of connections (total and per IP) with idle timeouts.
 *
 * Only GET and POST reach the handler; any other method is answered 405
 * (code 1004) by the server. See docs/http.md for every limit and answer.
 */
#ifndef ECERT_HTTP_SERVER_H
#define ECERT_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/arena.h"
#include "common/buf.h"

struct http_request {
    const char *method;        /* "GET", "POST" */
    const char *path;          /* without query */
    const char *content_type;  /* may be NULL */
    const uint8_t *body;       /* NUL-terminated; "" when empty (never NULL) */
    size_t body_len;
    const char *remote_ip;     /* "127.0.0.1", "::1" (IPv4-mapped shown as IPv4) */
    struct arena *arena;       /* released after the response */
};

struct http_response {
    int status;                /* preset to 200; outside 100-599 is sent as 500 */
    const char *content_type;  /* default "application/json; charset=utf-8" */
    struct buf body;           /* the handler fills it (cap = max response) */
    unsigned retry_after_s;    /* > 0: a Retry-After header with these seconds (429, 503) */
};

/* Called on a handler thread for every complete request. A handler may
 * block (on a peer, say) without delaying other connections: it holds only
 * its own handler thread. */
typedef void (*http_handler)(void *ctx, const struct http_request *req,
                             struct http_response *resp);

struct http_server_config {
    const char *bind_ip;        /* "127.0.0.1" (NULL = that), "::1", "0.0.0.0", "::" */
    uint16_t port;
    const char *tls_cert_pem;   /* PEM text (certificate chain) */
    const char *tls_key_pem;    /* PEM text */
    unsigned threads;           /* I/O (TLS, sockets) threads; 0 = number of cores */
    unsigned handler_threads;   /* threads running handlers; 0 = 32, at most 1024 */
    unsigned max_connections;   /* 0 = 1024 */
    unsigned per_ip_connections;/* 0 = 128 */
    size_t max_body;            /* 0 = 16 MiB */
    size_t max_response;        /* 0 = 64 MiB */
    unsigned idle_timeout_s;    /* 0 = 30 */
    size_t max_arena;           /* per-request arena cap; 0 = 64 MiB */
    unsigned stop_grace_ms;     /* how long stop waits for in-flight requests; 0 = 5000 */
    /* One line per libmicrohttpd/GnuTLS error (no newline). NULL = stderr. */
    void (*log)(void *log_ctx, const char *line);
    void *log_ctx;
};

struct http_server;
/* Binds, loads the TLS certificate and key, starts the thread pool. The PEM
 * texts are copied. ECERT_E_MALFORMED when the certificate or key is not PEM
 * or the key is not the certificate's; ECERT_E_IO (detail: libmicrohttpd's
 * reason) when the address cannot be bound or GnuTLS refuses the pair;
 * ECERT_E_ARG for a missing certificate/key or a bind_ip that is not an IP
 * address. */
ecert_status http_server_start(const struct http_server_config *cfg, http_handler h, void *ctx,
                               struct http_server **out);
/* The bound port (the kernel's choice when cfg->port was 0). */
uint16_t http_server_port(const struct http_server *s);
/* Stops accepting, finishes in-flight requests (up to stop_grace_ms: their
 * handlers return and their responses are sent), then closes every connection
 * and joins the pool threads, and frees. NULL is allowed. */
void http_server_stop(struct http_server *s);

#endif
