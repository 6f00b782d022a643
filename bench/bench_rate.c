/*
 * bench_rate — what a rate-limit check costs a request (docs/limits.md),
 * next to the costs the pipeline already pays per request, in the same run:
 * one SM2 verification (every request's signature) and one store_nonce_use
 * (every request's replay check, a database write).
 *
 *   bench_rate [--seconds S] [--pg DSN]
 *
 * Limiter cases, on a SQLite store in a temporary directory (and on
 * PostgreSQL with --pg, in a schema of its own that is dropped afterwards):
 *   chunk 1   a store lease per request (exact counting);
 *   auto      the default chunk for the default per-app limit (6000 per
 *             minute: 60 calls per lease);
 *   4 threads the default chunk with four threads on one key (the
 *             stripe lock and concurrent leases).
 * The limits are set so high that nothing is refused: what is measured is
 * the cost of letting a call through. Rounds alternate so that machine load
 * weighs on every case alike.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "common/error.h"
#include "crypto/sm2.h"
#include "node/ratelimit.h"
#include "store/store.h"

#define BIG_LIMIT 1000000000u

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_rate: %s failed: %s\n", what, err_detail());
    exit(1);
}

/* ---- the cases: each returns operations per second ----------------------------- */

static double rate_verify(double secs)
{
    struct sm2_key *k = NULL;
    uint8_t sig[SM2_SIG_LEN];
    static const char msg[] = "appId\ntimestamp\nnonce\nencryptData";
    if (sm2_key_generate(&k) || sm2_sign(k, NULL, 0, msg, sizeof msg - 1, sig))
        die("sm2 key");
    long n = 0;
    double t0 = now_s(), t;
    do {
        if (sm2_verify(k, NULL, 0, msg, sizeof msg - 1, sig))
            die("sm2_verify");
        n++;
    } while ((t = now_s() - t0) < secs);
    sm2_key_free(k);
    return n / t;
}

static double rate_nonce(struct store *s, double secs)
{
    static unsigned long seq;
    long n = 0;
    char nonce[32];
    double t0 = now_s(), t;
    do {
        snprintf(nonce, sizeof nonce, "b%lu", seq++);
        if (store_nonce_use(s, "BENCHAPP", nonce, wall_ms(), 600000))
            die("store_nonce_use");
        n++;
    } while ((t = now_s() - t0) < secs);
    return n / t;
}

struct limiter_run {
    struct ratelimit *rl;
    uint32_t chunk;
    double secs;
    long n;
};

static void *limiter_loop(void *arg)
{
    struct limiter_run *r = arg;
    double t0 = now_s();
    do {
        bool ok = false, first = false;
        int64_t retry = 0;
        if (ratelimit_take(r->rl, "app:BENCHAPP", BIG_LIMIT, r->chunk, 60000, wall_ms(), &ok,
                           &retry, &first) ||
            !ok)
            die("ratelimit_take");
        r->n++;
    } while (now_s() - t0 < r->secs);
    return NULL;
}

static double rate_limiter(struct ratelimit *rl, uint32_t chunk, int threads, double secs)
{
    struct limiter_run runs[8];
    pthread_t th[8];
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        runs[i] = (struct limiter_run){rl, chunk, secs, 0};
        if (pthread_create(&th[i], NULL, limiter_loop, &runs[i]) != 0)
            die("pthread_create");
    }
    long n = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        n += runs[i].n;
    }
    return n / (now_s() - t0);
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* ---- one backend -------------------------------------------------------------- */

static void run_backend(const char *name, struct store *s, double secs, double verify_rate)
{
    struct ratelimit rl;
    if (ratelimit_init(&rl, s, 0))
        die("ratelimit_init");
    const uint32_t auto_chunk = ratelimit_auto_chunk(6000);
    double nonce = 0, exact = 0, chunked = 0, threaded = 0, calls = 0;
    unsigned long long leases = 0;
    for (int round = 0; round < 2; round++) {
        nonce += rate_nonce(s, secs) / 2;
        exact += rate_limiter(&rl, 1, 1, secs) / 2;
        unsigned long long l0 = atomic_load(&rl.leases);
        double t0 = now_s();
        double r1 = rate_limiter(&rl, auto_chunk, 1, secs);
        double t1 = now_s();
        double r4 = rate_limiter(&rl, auto_chunk, 4, secs);
        calls += r1 * (t1 - t0) + r4 * (now_s() - t1);
        leases += atomic_load(&rl.leases) - l0;
        chunked += r1 / 2;
        threaded += r4 / 2;
    }
    printf("%s store:\n", name);
    printf("  %-38s %12.0f /s  %8.2f us  (the replay check every request pays)\n",
           "store_nonce_use", nonce, 1e6 / nonce);
    struct {
        const char *label;
        double rate;
    } rows[] = {
        {"limiter, chunk 1 (a lease per call)", exact},
        {"limiter, default chunk", chunked},
        {"limiter, default chunk, 4 threads", threaded},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        printf("  %-38s %12.0f /s  %8.2f us  = %5.3f nonce checks, %5.3f SM2 verifications\n",
               rows[i].label, rows[i].rate, 1e6 / rows[i].rate, nonce / rows[i].rate,
               verify_rate / rows[i].rate);
    printf("  (default chunk %u: %.0f calls let through on %llu store leases)\n", auto_chunk,
           calls, leases);
    ratelimit_release(&rl);
}

int main(int argc, char **argv)
{
    double secs = 1.0;
    const char *pg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            secs = atof(argv[++i]);
        else if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc)
            pg = argv[++i];
        else {
            fprintf(stderr, "usage: bench_rate [--seconds S] [--pg DSN]\n");
            return 2;
        }
    }
    if (secs <= 0)
        secs = 1.0;
    double verify = rate_verify(secs);
    printf("rate limiter, per call let through (%.1f s per case, two rounds):\n", secs);
    printf("  %-38s %12.0f /s  %8.2f us\n", "SM2 verification (every request)", verify,
           1e6 / verify);

    char dir[] = "/tmp/ecert-bench-rate-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp");
    char path[128];
    snprintf(path, sizeof path, "%s/rate.db", dir);
    struct store_config cfg = {"sqlite", path, 4, NULL};
    struct store *s = NULL;
    if (store_open(&cfg, &s))
        die("store_open (sqlite)");
    run_backend("SQLite", s, secs, verify);
    store_close(s);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        unlink(p);
    }
    rmdir(dir);

    if (pg && pg[0]) {
        char schema[64], dsn[2048];
        snprintf(schema, sizeof schema, "bench_rate_%ld", (long)getpid());
        snprintf(dsn, sizeof dsn, "%s options='-csearch_path=%s'", pg, schema);
        struct store_config pc = {"postgres", NULL, 4, dsn};
        if (store_open(&pc, &s))
            die("store_open (postgres)");
        run_backend("PostgreSQL", s, secs, verify);
        store_close(s);
        PGconn *c = PQconnectdb(pg);
        PQsetNoticeProcessor(c, quiet, NULL);
        char sql[128];
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
        if (PQstatus(c) == CONNECTION_OK)
            PQclear(PQexec(c, sql));
        PQfinish(c);
    }
    return 0;
}
