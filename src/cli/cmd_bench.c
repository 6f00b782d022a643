/*
 * cmd_bench.c — `ecert bench crypto [--engine openssl|fast|both]
 * [--seconds N] [--json]`: SM2 throughput of this machine through the crypto
 * module's own entry points, per operation and engine, measured in the same
 * run.
 *
 * With both engines the two alternate in short slices (A B B A A B ...), so
 * that the noise of a shared machine falls on both alike: the ratio is the
 * figure to trust, the absolute rates move with the load. Operations:
 *
 *   sign            sm2_sign of a 512-byte message (SM3 of Z||M included;
 *                   on AVX-512 IFMA the fast engine takes k·G from its
 *                   eight-lane pool, so the figure averages over refills)
 *   verify          sm2_verify of the same, with a long-lived public key
 *   encrypt_512B    sm2_encrypt of 512 bytes to a long-lived public key
 *   decrypt_512B    sm2_decrypt of that ciphertext (raw C1||C3||C2)
 *   verify_cold     verify with per-key tables off (a key seen for the first
 *   encrypt_cold    time, or more keys than the table budget)
 *
 * Two costs per operation: wall-clock time (what a caller waits for) and the
 * thread's CPU time (what the operation itself costs). On a shared machine
 * they differ: time spent descheduled counts in the first only, and the
 * caches another process has filled count in both (the fast engine's tables
 * are the more exposed). Both ratios are printed.
 *
 * "Long-lived" keys are those the fast engine precomputes a table for after a
 * few uses (peers, the trust key, frequent apps); the _cold rows show the
 * cost without one. The OpenSSL engine has no such table either way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/error.h"
#include "crypto/sm2.h"
#include "crypto/sm2_fast.h"

#define BENCH_MSG 512

static const char usage_bench[] =
    "usage: ecert bench crypto [--engine openssl|fast|both] [--seconds N] [--json]\n"
    "\n"
    "Measures SM2 sign, verify, encrypt and decrypt (512-byte messages) per\n"
    "engine in the same run and prints operations per second, microseconds per\n"
    "operation (wall clock and the thread's CPU time) and, with both engines\n"
    "(the default), the fast/openssl ratios of both.\n"
    "--seconds is the time per operation and engine (default 2, at most 600).\n"
    "\n"
    "exit status: 0 success, 2 usage or input error\n";

struct bench_state {
    struct sm2_key *key, *pub, *cold_pub;
    uint8_t msg[BENCH_MSG];
    uint8_t sig[SM2_SIG_LEN];
    struct buf ct;
    struct buf scratch;
    ecert_status failed;
    const char *failed_op;
};

typedef ecert_status (*bench_fn)(struct bench_state *s);

static ecert_status op_sign(struct bench_state *s)
{
    uint8_t sig[SM2_SIG_LEN];
    return sm2_sign(s->key, NULL, 0, s->msg, BENCH_MSG, sig);
}

static ecert_status op_verify(struct bench_state *s)
{
    return sm2_verify(s->pub, NULL, 0, s->msg, BENCH_MSG, s->sig);
}

static ecert_status op_verify_cold(struct bench_state *s)
{
    return sm2_verify(s->cold_pub, NULL, 0, s->msg, BENCH_MSG, s->sig);
}

static ecert_status op_encrypt(struct bench_state *s)
{
    buf_reset(&s->scratch);
    return sm2_encrypt(s->pub, s->msg, BENCH_MSG, &s->scratch);
}

static ecert_status op_encrypt_cold(struct bench_state *s)
{
    buf_reset(&s->scratch);
    return sm2_encrypt(s->cold_pub, s->msg, BENCH_MSG, &s->scratch);
}

static ecert_status op_decrypt(struct bench_state *s)
{
    buf_reset(&s->scratch);
    ecert_status st = sm2_decrypt(s->key, s->ct.data, s->ct.len, 0, &s->scratch);
    if (!st && s->scratch.len != BENCH_MSG)
        st = err_set(ECERT_E_CRYPTO, "decryption returned %zu bytes", s->scratch.len);
    return st;
}

struct bench_op {
    const char *name;
    bench_fn fn;
    bool cold; /* per-key tables off while it runs */
    double rate[2], us[2], cpu_us[2];
};

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs fn for about `slice` seconds; adds to *ops, *elapsed and *cpu. */
static ecert_status run_slice(struct bench_state *s, bench_fn fn, double slice, double *ops,
                              double *elapsed, double *cpu)
{
    double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), t0 = clock_s(CLOCK_MONOTONIC), t;
    long n = 0;
    do {
        ecert_status st = fn(s);
        if (st)
            return st;
        n++;
        t = clock_s(CLOCK_MONOTONIC);
    } while (t - t0 < slice);
    *cpu += clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    *ops += (double)n;
    *elapsed += t - t0;
    return ECERT_OK;
}

static ecert_status measure(struct bench_state *s, struct bench_op *op, const bool use[2],
                            double seconds)
{
    const int slices = 8;
    double slice = seconds / slices, ops[2] = {0, 0}, el[2] = {0, 0}, cpu[2] = {0, 0};
    size_t old_max = 0;
    if (op->cold)
        old_max = sm2_fast_set_key_tables(0, 16);
    ecert_status st = ECERT_OK;
    for (int e = 0; e < 2 && !st; e++) /* warm-up: tables, caches */
        if (use[e] && !(st = sm2_engine_set((enum sm2_engine)e)))
            for (int i = 0; i < 20 && !st; i++)
                st = op->fn(s);
    for (int i = 0; i < slices && !st; i++) {
        /* A B B A A B B A: each engine runs first half of the time */
        for (int j = 0; j < 2 && !st; j++) {
            int e = (i % 2 == 0) ? j : 1 - j;
            if (!use[e])
                continue;
            if (!(st = sm2_engine_set((enum sm2_engine)e)))
                st = run_slice(s, op->fn, slice, &ops[e], &el[e], &cpu[e]);
        }
    }
    if (op->cold)
        sm2_fast_set_key_tables(old_max, 16);
    for (int e = 0; e < 2; e++) {
        op->rate[e] = el[e] > 0 ? ops[e] / el[e] : 0;
        op->us[e] = ops[e] > 0 ? 1e6 * el[e] / ops[e] : 0;
        op->cpu_us[e] = ops[e] > 0 ? 1e6 * cpu[e] / ops[e] : 0;
    }
    return st;
}

static ecert_status bench_setup(struct bench_state *s)
{
    ecert_status st = sm2_key_generate(&s->key);
    if (!st)
        st = sm2_key_from_public(NULL, sm2_key_public_xy(s->key), &s->pub);
    if (!st)
        st = sm2_key_from_public(NULL, sm2_key_public_xy(s->key), &s->cold_pub);
    for (size_t i = 0; i < BENCH_MSG; i++)
        s->msg[i] = (uint8_t)(i * 7 + 1);
    if (!st)
        st = sm2_sign(s->key, NULL, 0, s->msg, BENCH_MSG, s->sig);
    if (!st)
        st = sm2_encrypt(s->pub, s->msg, BENCH_MSG, &s->ct);
    return st;
}

static void bench_release(struct bench_state *s)
{
    sm2_key_free(s->key);
    sm2_key_free(s->pub);
    sm2_key_free(s->cold_pub);
    buf_release(&s->ct);
    buf_release_secret(&s->scratch);
}

static int bench_crypto(int argc, char **argv)
{
    struct cli_opt opts[] = {
        {"--engine", true, NULL},
        {"--seconds", true, NULL},
        {"--json", false, NULL},
    };
    size_t nopts = sizeof opts / sizeof opts[0];
    int pos = cli_parse_opts(argc, argv, 1, opts, nopts);
    if (pos < 0)
        return EXIT_USAGE;
    if (pos < argc)
        return cli_usage_error("bench crypto: unexpected argument '%s' (try --help)", argv[pos]);
    bool use[2] = {true, true}; /* indexed by enum sm2_engine */
    const char *ev = cli_opt(opts, nopts, "--engine");
    if (ev && strcmp(ev, "both") != 0) {
        enum sm2_engine e;
        if (sm2_engine_from_name(ev, &e))
            return cli_usage_error("bench crypto: --engine wants openssl, fast or both");
        use[0] = use[1] = false;
        use[e] = true;
    }
    double seconds = 2.0;
    const char *sv = cli_opt(opts, nopts, "--seconds");
    if (sv) {
        char *end;
        seconds = strtod(sv, &end);
        if (end == sv || *end || !(seconds > 0 && seconds <= 600))
            return cli_usage_error("bench crypto: --seconds wants a number in (0, 600]");
    }
    bool json = cli_opt(opts, nopts, "--json") != NULL;
    enum sm2_engine initial = sm2_engine_get();
    if (use[SM2_ENGINE_FAST] && sm2_engine_set(SM2_ENGINE_FAST))
        return cli_fail("bench crypto", ECERT_E_ARG);

    struct bench_state s = {.ct = BUF_INIT(1 << 16), .scratch = BUF_INIT(1 << 16)};
    struct bench_op ops[] = {
        {"sign", op_sign, false, {0, 0}, {0, 0}, {0, 0}},
        {"verify", op_verify, false, {0, 0}, {0, 0}, {0, 0}},
        {"encrypt_512B", op_encrypt, false, {0, 0}, {0, 0}, {0, 0}},
        {"decrypt_512B", op_decrypt, false, {0, 0}, {0, 0}, {0, 0}},
        {"verify_cold", op_verify_cold, true, {0, 0}, {0, 0}, {0, 0}},
        {"encrypt_cold", op_encrypt_cold, true, {0, 0}, {0, 0}, {0, 0}},
    };
    size_t nops = sizeof ops / sizeof ops[0];
    ecert_status st = bench_setup(&s);
    if (st) {
        bench_release(&s);
        return cli_fail("bench crypto: setup", st);
    }
    bool both = use[0] && use[1];
    if (!json) {
        printf("SM2 on this machine, %.1f s per operation and engine%s\n", seconds,
               both ? " (engines alternate in slices)" : "");
        printf("%-14s", "operation");
        for (int e = 0; e < 2; e++)
            if (use[e])
                printf(" %12s ops/s %9s %9s", sm2_engine_name((enum sm2_engine)e), "us/op",
                       "cpu us");
        printf("%s\n", both ? "   fast/openssl (wall, cpu)" : "");
        fflush(stdout);
    }
    for (size_t i = 0; i < nops && !st; i++) {
        st = measure(&s, &ops[i], use, seconds);
        if (st) {
            st = err_wrap(st, ops[i].name);
            break;
        }
        if (!json) {
            printf("%-14s", ops[i].name);
            for (int e = 0; e < 2; e++)
                if (use[e])
                    printf(" %18.0f %9.1f %9.1f", ops[i].rate[e], ops[i].us[e],
                           ops[i].cpu_us[e]);
            if (both)
                printf("   %12.1fx %6.1fx", ops[i].rate[1] / ops[i].rate[0],
                       ops[i].cpu_us[0] / ops[i].cpu_us[1]);
            printf("\n");
            fflush(stdout);
        }
    }
    sm2_engine_set(initial);
    bench_release(&s);
    if (st)
        return cli_fail("bench crypto", st);
    if (json) {
        printf("{\"seconds\":%.3f,\"message_bytes\":%d,\"results\":[", seconds, BENCH_MSG);
        bool first = true;
        for (size_t i = 0; i < nops; i++)
            for (int e = 0; e < 2; e++) {
                if (!use[e])
                    continue;
                printf("%s{\"op\":\"%s\",\"engine\":\"%s\",\"ops_per_s\":%.1f,\"us_per_op\":%.2f,"
                       "\"cpu_us_per_op\":%.2f}",
                       first ? "" : ",", ops[i].name, sm2_engine_name((enum sm2_engine)e),
                       ops[i].rate[e], ops[i].us[e], ops[i].cpu_us[e]);
                first = false;
            }
        printf("]");
        if (both) {
            printf(",\"ratio_fast_over_openssl\":{");
            for (size_t i = 0; i < nops; i++)
                printf("%s\"%s\":%.2f", i ? "," : "", ops[i].name, ops[i].rate[1] / ops[i].rate[0]);
            printf("},\"cpu_ratio_fast_over_openssl\":{");
            for (size_t i = 0; i < nops; i++)
                printf("%s\"%s\":%.2f", i ? "," : "", ops[i].name,
                       ops[i].cpu_us[1] > 0 ? ops[i].cpu_us[0] / ops[i].cpu_us[1] : 0);
            printf("}");
        }
        printf("}\n");
    }
    return EXIT_OK;
}

int cmd_bench(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage_bench, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "crypto") != 0)
        return cli_usage_error("bench: unknown benchmark '%s' (crypto)", argv[1]);
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (cli_is_help(argv[i])) {
            fputs(usage_bench, stdout);
            return EXIT_OK;
        }
    return bench_crypto(argc - 1, argv + 1);
}
