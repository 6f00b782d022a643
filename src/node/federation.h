/*
 * federation.h — calls from one province to others (SPEC §1, §3.4): through
 * the hub by default, point to point when the hub errs or exceeds
 * hub_timeout_ms. Either way the inner envelopes are encrypted end to end
 * between the two provinces (appId node:<self>), so the hub never reads
 * business data.
 */
#ifndef ECERT_NODE_FEDERATION_H
#define ECERT_NODE_FEDERATION_H

#include <stdbool.h>
#include <stddef.h>

#include "node/directory.h"
#include "node/node.h"

#define FED_MAX_TARGETS 8

struct fed_target {
    const struct directory_node *node; /* in */
    ecert_status st;                   /* transport: OK, 5001 unreachable, 5002 timeout */
    int code;                          /* the target's answer when st is OK */
    struct buf result;                 /* its business JSON for code 0 */
    char detail[256];
};

/* Calls `endpoint` with `business` on every target and fills each target's
 * outcome; returns ECERT_OK unless nothing could even be attempted.
 * *via_hub tells whether the hub carried the answers (false: fallback). */
ecert_status fed_call(struct node *n, const char *endpoint, const char *business,
                      struct fed_target *t, size_t nt, bool *via_hub);
void fed_target_release(struct fed_target *t, size_t nt);

/* The province of a region (first two digits), from the directory. */
const struct directory_node *fed_province_of_region(struct node *n, const char *region);

#endif
