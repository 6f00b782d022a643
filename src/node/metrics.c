#include "node/metrics.h"

#include <string.h>

static const double bucket_le[METRICS_BUCKETS - 1] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                       0.1,   0.25,   0.5,   1,    2.5,   5,
                                                       10};

void metrics_init(struct metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void metrics_release(struct metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

void metrics_observe(struct metrics *m, const char *path, int code, double seconds)
{
    pthread_mutex_lock(&m->mu);
    struct metrics_path *p = NULL;
    for (int i = 0; i < m->npaths; i++)
        if (strcmp(m->paths[i].path, path) == 0) {
            p = &m->paths[i];
            break;
        }
    /* Only known endpoints get a row (the caller passes "other" for the
     * rest), so an attacker cannot grow the table with random paths. */
    if (!p && m->npaths < METRICS_PATHS && strlen(path) < sizeof p->path) {
        p = &m->paths[m->npaths++];
        memcpy(p->path, path, strlen(path) + 1);
    }
    if (p) {
        int k = 0;
        while (k < p->ncodes && p->codes[k] != code)
            k++;
        if (k == p->ncodes && k < METRICS_CODES)
            p->codes[p->ncodes++] = code;
        if (k < METRICS_CODES)
            p->counts[k]++;
    } else {
        m->other++;
    }
    int b = 0;
    while (b < METRICS_BUCKETS - 1 && seconds > bucket_le[b])
        b++;
    m->buckets[b]++;
    m->count++;
    m->sum_s += seconds;
    pthread_mutex_unlock(&m->mu);
}

ecert_status metrics_render(struct metrics *m, const char *node_id, struct buf *out)
{
    ecert_status st = ECERT_OK;
    pthread_mutex_lock(&m->mu);
    st = buf_printf(out, "# HELP ecert_requests_total Requests by endpoint and response code.\n"
                         "# TYPE ecert_requests_total counter\n");
    for (int i = 0; !st && i < m->npaths; i++)
        for (int k = 0; !st && k < m->paths[i].ncodes; k++)
            st = buf_printf(out, "ecert_requests_total{node=\"%s\",path=\"%s\",code=\"%d\"} %llu\n",
                            node_id, m->paths[i].path, m->paths[i].codes[k],
                            (unsigned long long)m->paths[i].counts[k]);
    if (!st)
        st = buf_printf(out, "ecert_requests_total{node=\"%s\",path=\"other\",code=\"404\"} %llu\n",
                        node_id, (unsigned long long)m->other);
    if (!st)
        st = buf_printf(out, "# HELP ecert_request_seconds Request latency.\n"
                             "# TYPE ecert_request_seconds histogram\n");
    uint64_t cum = 0;
    for (int b = 0; !st && b < METRICS_BUCKETS; b++) {
        cum += m->buckets[b];
        if (b < METRICS_BUCKETS - 1)
            st = buf_printf(out, "ecert_request_seconds_bucket{node=\"%s\",le=\"%g\"} %llu\n",
                            node_id, bucket_le[b], (unsigned long long)cum);
        else
            st = buf_printf(out, "ecert_request_seconds_bucket{node=\"%s\",le=\"+Inf\"} %llu\n",
                            node_id, (unsigned long long)cum);
    }
    if (!st)
        st = buf_printf(out,
                        "ecert_request_seconds_sum{node=\"%s\"} %.6f\n"
                        "ecert_request_seconds_count{node=\"%s\"} %llu\n",
                        node_id, m->sum_s, node_id, (unsigned long long)m->count);
    pthread_mutex_unlock(&m->mu);
    if (!st)
        st = buf_printf(out,
                        "# HELP ecert_crypto_operations_total SM2 operations performed.\n"
                        "# TYPE ecert_crypto_operations_total counter\n"
                        "ecert_crypto_operations_total{node=\"%s\",op=\"sm2_sign\"} %llu\n"
                        "ecert_crypto_operations_total{node=\"%s\",op=\"sm2_verify\"} %llu\n"
                        "ecert_crypto_operations_total{node=\"%s\",op=\"sm2_encrypt\"} %llu\n"
                        "ecert_crypto_operations_total{node=\"%s\",op=\"sm2_decrypt\"} %llu\n",
                        node_id, (unsigned long long)atomic_load(&m->sm2_sign), node_id,
                        (unsigned long long)atomic_load(&m->sm2_verify), node_id,
                        (unsigned long long)atomic_load(&m->sm2_encrypt), node_id,
                        (unsigned long long)atomic_load(&m->sm2_decrypt));
    if (!st)
        st = buf_printf(out,
                        "# HELP ecert_rate_limited_total Calls refused by a rate limit (5003).\n"
                        "# TYPE ecert_rate_limited_total counter\n"
                        "ecert_rate_limited_total{node=\"%s\",scope=\"ip\"} %llu\n"
                        "ecert_rate_limited_total{node=\"%s\",scope=\"app\"} %llu\n"
                        "# HELP ecert_rate_leases_total Rate-limit budget leases taken from "
                        "the store.\n"
                        "# TYPE ecert_rate_leases_total counter\n"
                        "ecert_rate_leases_total{node=\"%s\"} %llu\n"
                        "# HELP ecert_rate_errors_total Leases the store failed to give (the "
                        "call went on).\n"
                        "# TYPE ecert_rate_errors_total counter\n"
                        "ecert_rate_errors_total{node=\"%s\"} %llu\n",
                        node_id, (unsigned long long)atomic_load(&m->rate_refused_ip), node_id,
                        (unsigned long long)atomic_load(&m->rate_refused_app), node_id,
                        (unsigned long long)atomic_load(&m->rate_leases), node_id,
                        (unsigned long long)atomic_load(&m->rate_errors));
    return st;
}
