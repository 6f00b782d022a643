/*
 * metrics.h — the counters behind GET /metrics (Prometheus text format):
 * requests by path and code, a latency histogram, SM2 operations.
 */
#ifndef ECERT_NODE_METRICS_H
#define ECERT_NODE_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/buf.h"

#define METRICS_PATHS 32
#define METRICS_CODES 32
#define METRICS_BUCKETS 14

struct metrics_path {
    char path[64];
    int codes[METRICS_CODES];
    uint64_t counts[METRICS_CODES];
    int ncodes;
};

struct metrics {
    pthread_mutex_t mu;
    struct metrics_path paths[METRICS_PATHS];
    int npaths;
    uint64_t other; /* requests on paths beyond the table (unknown paths) */
    uint64_t buckets[METRICS_BUCKETS];
    uint64_t count;
    double sum_s;
    atomic_uint_fast64_t sm2_sign, sm2_verify, sm2_encrypt, sm2_decrypt;
    /* rate limits (docs/limits.md): refusals by scope, store leases taken,
     * store failures while leasing (the call was let through) */
    atomic_uint_fast64_t rate_refused_ip, rate_refused_app, rate_leases, rate_errors;
};

void metrics_init(struct metrics *m);
void metrics_release(struct metrics *m);
void metrics_observe(struct metrics *m, const char *path, int code, double seconds);
ecert_status metrics_render(struct metrics *m, const char *node_id, struct buf *out);

#endif
