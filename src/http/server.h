/*
 * server.h — the project's small HTTPS server interface, on libmicrohttpd.
 *
 * What it guarantees to handlers: a complete request body no larger than
 * max_body (else 413 with code 1003 before the handler runs), a per-request
 * arena released after the response is sent, the client's IP, and a bounded
 * number of connections (total and per IP) with idle timeouts.
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
    const uint8_t *body;
    size_t body_len;
    const char *remote_ip;
    struct arena *arena;       /* released after the response */
};

struct http_response {
    int status;
    const char *content_type;  /* default "application/json; charset=utf-8" */
    struct buf body;           /* the handler fills it (cap = max response) */
};

/* Called on a pool thread for every complete request. */
typedef void (*http_handler)(void *ctx, const struct http_request *req,
                             struct http_response *resp);

struct http_server_config {
    const char *bind_ip;        /* "127.0.0.1" */
    uint16_t port;
    const char *tls_cert_pem;   /* PEM text (certificate chain) */
    const char *tls_key_pem;    /* PEM text */
    unsigned threads;           /* 0 = number of cores */
    unsigned max_connections;   /* 0 = 1024 */
    unsigned per_ip_connections;/* 0 = 128 */
    size_t max_body;            /* 0 = 16 MiB */
    size_t max_response;        /* 0 = 64 MiB */
    unsigned idle_timeout_s;    /* 0 = 30 */
};

struct http_server;
ecert_status http_server_start(const struct http_server_config *cfg, http_handler h, void *ctx,
                               struct http_server **out);
/* Stops accepting, finishes in-flight requests, frees. */
void http_server_stop(struct http_server *s);

#endif
