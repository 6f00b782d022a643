/*
 * client.h — HTTPS client for node-to-node calls, the SDK and the CLI, on
 * libcurl. One struct http_client per thread (it reuses its connections).
 */
#ifndef ECERT_HTTP_CLIENT_H
#define ECERT_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/buf.h"

struct http_client;

/* ca_file: PEM bundle to trust (NULL = system store). */
ecert_status http_client_new(const char *ca_file, struct http_client **out);
void http_client_free(struct http_client *c);
/* POST JSON; *status receives the HTTP status. ECERT_E_UNREACHABLE when the
 * connection fails, ECERT_E_TIMEOUT past timeout_ms, ECERT_E_TOO_LONG when the
 * response exceeds resp->max. */
ecert_status http_client_post(struct http_client *c, const char *url, const char *body,
                              size_t len, long timeout_ms, int *status, struct buf *resp);
ecert_status http_client_get(struct http_client *c, const char *url, long timeout_ms,
                             int *status, struct buf *resp);

#endif
