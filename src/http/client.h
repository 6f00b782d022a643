/*
 * client.h — HTTPS client for node-to-node calls, the SDK and the CLI, on
 * libcurl. One struct http_client per thread (it reuses its connections).
 *
 * HTTPS only, peer and host name always verified, no redirects followed.
 * See docs/http.md for timeouts and the mapping of failures to statuses.
 */
#ifndef ECERT_HTTP_CLIENT_H
#define ECERT_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/buf.h"

struct http_client;

/* ca_file: PEM bundle to trust (NULL = system store). ECERT_E_IO when the
 * file cannot be read. */
ecert_status http_client_new(const char *ca_file, struct http_client **out);
void http_client_free(struct http_client *c);
/* POST JSON; *status receives the HTTP status. ECERT_E_UNREACHABLE when the
 * connection fails, ECERT_E_TIMEOUT past timeout_ms, ECERT_E_TOO_LONG when the
 * response exceeds resp->max.
 * resp is reset first and holds the whole body on ECERT_OK (whatever the HTTP
 * status: any complete answer is ECERT_OK); it is left empty on failure.
 * timeout_ms (> 0) bounds the whole call, connecting within min(timeout_ms,
 * 5000). ECERT_E_ARG for a non-https URL or a timeout <= 0. */
ecert_status http_client_post(struct http_client *c, const char *url, const char *body,
                              size_t len, long timeout_ms, int *status, struct buf *resp);
ecert_status http_client_get(struct http_client *c, const char *url, long timeout_ms,
                             int *status, struct buf *resp);
/* The Retry-After of the last answer in seconds (ecertd sends it with 5003,
 * HTTP 429); 0 when it had none. */
unsigned http_client_retry_after(const struct http_client *c);
/* How many connections this client has opened so far (a count that stays
 * put across calls shows that keep-alive reuse works). */
unsigned long http_client_connections(const struct http_client *c);

/* One transfer of a fan-out. In: client (one per peer, not shared with
 * another element), url, body, len, timeout_ms, resp (its max bounds the
 * answer). Out: st (as http_client_post), status, detail. */
struct http_parallel {
    struct http_client *client;
    const char *url;
    const char *body;
    size_t len;
    long timeout_ms;
    struct buf *resp;
    ecert_status st;
    int status;
    char detail[256];
    bool done;
};
/* Runs every transfer at once and returns when all have finished or hit
 * their deadlines; each element reports its own outcome. */
ecert_status http_client_post_parallel(struct http_parallel *reqs, size_t n);

#endif
