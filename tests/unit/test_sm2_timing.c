/*
 * Statistical timing test of the fast SM2 engine, in the style of dudect
 * (Reparaz, Balasch, Verbauwhede, "Dude, is my code constant time?", 2017):
 * an operation is timed on inputs from two classes — a fixed secret (chosen
 * to be as "easy" as possible for leaky code: k = 1, d = 1, i.e. nearly all
 * signed digits zero) and fresh random secrets — interleaved at random, and
 * Welch's t statistic compares the two timing distributions, raw and cropped
 * at several percentiles (to drop the preemption spikes of a shared
 * machine). Constant-time code gives |t| near 0-3; a leak grows |t| without
 * bound as measurements accumulate. The threshold here is |t| < 10,
 * dudect's "definitely not constant time" level, over a bounded number of
 * measurements.
 *
 * Operations: k·G and signing (secret k, secret d), eight k·G at once on
 * AVX-512 IFMA (secret k in every lane), d·C1 and decryption (secret d). A positive control — the variable-time double multiplication
 * that verification uses on public scalars, with s = t = 1 against random
 * ones — must exceed the threshold, so a harness that cannot see a leak
 * fails instead of passing silently.
 *
 * Timing is meaningless under AddressSanitizer: there the test skips with a
 * message. ECERT_SM2_TIMING_SCALE (a percentage) scales the measurement
 * counts; t-values are printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/buf.h"
#include "crypto/random.h"
#include "crypto/sm2.h"
#include "crypto/sm2_fast.h"
#include "util.h"


#define T_THRESHOLD 10.0
#define POOL 16 /* key objects per class */
#define CTS 8   /* ciphertexts per key */
#define MSG 512


static int scaled(int n)
{
    return util_scaled("ECERT_SM2_TIMING_SCALE", n, 200);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A uniform scalar in [1, n-1]. */
static void random_scalar(uint8_t k[32])
{
    for (;;) {
        assert_int_equal(random_bytes(k, 32), ECERT_OK);
        if (memcmp(k, util_sm2_n, 32) < 0 && (k[31] | k[0] | k[15]))
            return;
    }
}

/* ---- the statistics ---------------------------------------------------------*/

/* (the tests link no libm) */
static double fabs_(double x)
{
    return x < 0 ? -x : x;
}

static double sqrt_(double x)
{
    if (x <= 0)
        return 0;
    double r = x > 1 ? x : 1;
    for (int i = 0; i < 200; i++) {
        double nr = 0.5 * (r + x / r);
        if (nr == r)
            break;
        r = nr;
    }
    return r;
}

struct sample {
    double *t;
    unsigned char *cls;
    size_t n, cap;
};

static void sample_init(struct sample *s, size_t cap)
{
    s->t = malloc(cap * sizeof *s->t);
    s->cls = malloc(cap);
    s->n = 0;
    s->cap = cap;
    assert_non_null(s->t);
    assert_non_null(s->cls);
}

static void sample_free(struct sample *s)
{
    free(s->t);
    free(s->cls);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Welch's t over the measurements below `limit`. */
static double welch(const struct sample *s, double limit)
{
    double n[2] = {0, 0}, mean[2] = {0, 0}, m2[2] = {0, 0};
    for (size_t i = 0; i < s->n; i++) {
        if (s->t[i] > limit)
            continue;
        int c = s->cls[i];
        n[c] += 1;
        double d = s->t[i] - mean[c];
        mean[c] += d / n[c];
        m2[c] += d * (s->t[i] - mean[c]);
    }
    if (n[0] < 10 || n[1] < 10)
        return 0;
    double v0 = m2[0] / (n[0] - 1), v1 = m2[1] / (n[1] - 1);
    double den = sqrt_(v0 / n[0] + v1 / n[1]);
    return den > 0 ? (mean[0] - mean[1]) / den : 0;
}

/* The largest |t| over no cropping and crops at the 99th, 95th, 90th, 75th
 * and 50th percentiles of all measurements. */
static double max_t(const struct sample *s, double *mean_us)
{
    double *sorted = malloc(s->n * sizeof *sorted);
    assert_non_null(sorted);
    memcpy(sorted, s->t, s->n * sizeof *sorted);
    qsort(sorted, s->n, sizeof *sorted, cmp_double);
    static const double pct[] = {1.0, 0.99, 0.95, 0.90, 0.75, 0.50};
    double worst = 0;
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++) {
        size_t idx = (size_t)(pct[i] * (double)(s->n - 1));
        double t = fabs_(welch(s, sorted[idx]));
        if (t > worst)
            worst = t;
    }
    *mean_us = sorted[s->n / 2] / 1000.0; /* the median, in microseconds */
    free(sorted);
    return worst;
}

/* Per measurement: its class, a pick (which key object and ciphertext of the
 * pool) and its scalar, all prepared before the clock starts. Both classes
 * read their scalar from the same array, slot i for measurement i, so that
 * memory traffic cannot tell them apart (a single hot "fixed" value against
 * an array of random ones would itself show up as a timing difference). */
struct input {
    uint8_t scalar[32];
    uint32_t pick;
    int cls;
};

typedef void (*measure_fn)(const struct input *in);

/* Runs fn n times over inputs of both classes in random order, at most
 * `budget_s` seconds; returns the largest |t|. */
static double run(const char *name, measure_fn fn, int n, double budget_s)
{
    struct sample s;
    sample_init(&s, (size_t)n);
    struct input *in = malloc((size_t)n * sizeof *in);
    assert_non_null(in);
    for (int i = 0; i < n; i++) {
        uint8_t r[5];
        assert_int_equal(random_bytes(r, sizeof r), ECERT_OK);
        in[i].cls = r[0] & 1;
        in[i].pick = (uint32_t)r[1] | (uint32_t)r[2] << 8 | (uint32_t)r[3] << 16;
        if (in[i].cls) {
            random_scalar(in[i].scalar);
        } else {
            memset(in[i].scalar, 0, 32);
            in[i].scalar[31] = 1;
        }
    }
    uint64_t start = now_ns();
    for (int i = 0; i < n; i++) {
        int cls = in[i].cls;
        uint64_t t0 = now_ns();
        fn(&in[i]);
        uint64_t t1 = now_ns();
        s.t[s.n] = (double)(t1 - t0);
        s.cls[s.n++] = (unsigned char)cls;
        if ((double)(t1 - start) / 1e9 > budget_s && s.n >= 200)
            break;
    }
    double med;
    double t = max_t(&s, &med);
    printf("# timing %-34s |t| = %6.2f over %zu measurements (median %.1f us)\n", name, t, s.n,
           med);
    fflush(stdout);
    sample_free(&s);
    free(in);
    return t;
}

/* ---- the operations -------------------------------------------------------*/

static uint8_t point[64];
static struct sm2_key *keys[2][POOL];
static struct buf cts[2][POOL][CTS];
static uint8_t digest[32];

static void m_base(const struct input *in)
{
    uint8_t out[64];
    sm2_fast_mul_base(in->scalar, out);
}

/* Eight k·G at once (AVX-512 IFMA): all lanes k = 1 against eight random
 * scalars (the input's, its low byte varied per lane). */
static void m_base_x8(const struct input *in)
{
    uint8_t k[8][32], out[8][64];
    for (int i = 0; i < 8; i++) {
        memcpy(k[i], in->scalar, 32);
        if (in->cls)
            k[i][31] ^= (uint8_t)(i << 4);
    }
    sm2_fast_mul_base_x8((const uint8_t(*)[32])k, out);
}

static void m_point(const struct input *in)
{
    uint8_t out[64];
    sm2_fast_mul_point(in->scalar, point, out);
}

static void m_sign_k(const struct input *in)
{
    uint8_t sig[64];
    sm2_sign_digest_with_k(keys[1][in->pick % POOL], digest, in->scalar, sig);
}

/* The class picks the key (d = 1 or random); k is the engine's own. */
static void m_sign_key(const struct input *in)
{
    uint8_t sig[64];
    sm2_sign_digest(keys[in->cls][in->pick % POOL], digest, sig);
}

static void m_decrypt(const struct input *in)
{
    static struct buf plain = BUF_INIT(1 << 16);
    size_t k = in->pick % POOL, c = (in->pick / POOL) % CTS;
    buf_reset(&plain);
    sm2_decrypt(keys[in->cls][k], cts[in->cls][k][c].data, cts[in->cls][k][c].len, 0, &plain);
}

/* The control: verification's variable-time s·G + t·P with s = t = 1. */
static void m_control(const struct input *in)
{
    uint8_t out[64];
    sm2_fast_mul_double(in->scalar, in->scalar, point, out);
}

static int setup(void **state)
{
    if (UNDER_ASAN || !sm2_fast_available())
        return 0;
    sm2_engine_set(SM2_ENGINE_FAST);
    uint8_t k[32], msg[MSG];
    random_scalar(k);
    if (!sm2_fast_mul_base(k, point))
        return -1;
    memset(msg, 0x3c, sizeof msg);
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < POOL; i++) {
            /* class 0: d = 1 in every key object; class 1: random d */
            uint8_t d[32] = {0};
            d[31] = 1;
            if (c)
                random_scalar(d);
            if (sm2_key_from_private(NULL, d, &keys[c][i]))
                return -1;
            for (int j = 0; j < CTS; j++) {
                cts[c][i][j] = (struct buf)BUF_INIT(1 << 16);
                if (sm2_encrypt(keys[c][i], msg, sizeof msg, &cts[c][i][j]))
                    return -1;
            }
        }
    memset(digest, 0xa5, sizeof digest);
    return 0;
}

static int teardown(void **state)
{
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < POOL; i++) {
            sm2_key_free(keys[c][i]);
            for (int j = 0; j < CTS; j++)
                buf_release(&cts[c][i][j]);
        }
    return 0;
}

static void skip_if_meaningless(void)
{
    if (UNDER_ASAN) {
        printf("# timing: skipped under AddressSanitizer (instrumentation dominates the "
               "timings); the release build runs this test\n");
        skip();
    }
}

static void test_control_detects_leak(void **state)
{
    skip_if_meaningless();
    double t = run("control: s·G + t·P (variable time)", m_control, scaled(4000), 20);
    if (t < T_THRESHOLD)
        fail_msg("the harness cannot see a known leak (|t| = %.2f): inconclusive", t);
}

static void test_base_mul(void **state)
{
    skip_if_meaningless();
    assert_true(run("k·G, k = 1 vs random", m_base, scaled(20000), 40) < T_THRESHOLD);
}

static void test_base_mul_x8(void **state)
{
    skip_if_meaningless();
    uint8_t k[8][32] = {{0}}, out[8][64];
    for (int i = 0; i < 8; i++)
        k[i][31] = 1;
    if (sm2_fast_mul_base_x8((const uint8_t(*)[32])k, out) < 0) {
        printf("# timing: no AVX-512 IFMA on this CPU, eight-lane k·G skipped\n");
        skip();
    }
    assert_true(run("8 × k·G, k = 1 vs random", m_base_x8, scaled(8000), 40) < T_THRESHOLD);
}

static void test_var_mul(void **state)
{
    skip_if_meaningless();
    assert_true(run("d·C1, d = 1 vs random", m_point, scaled(8000), 40) < T_THRESHOLD);
}

static void test_sign(void **state)
{
    skip_if_meaningless();
    assert_true(run("sign, k = 1 vs random", m_sign_k, scaled(15000), 40) < T_THRESHOLD);
    assert_true(run("sign, key d = 1 vs random", m_sign_key, scaled(15000), 40) < T_THRESHOLD);
}

static void test_decrypt(void **state)
{
    skip_if_meaningless();
    assert_true(run("decrypt 512 B, d = 1 vs random", m_decrypt, scaled(8000), 40) < T_THRESHOLD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_detects_leak),
        cmocka_unit_test(test_base_mul),
        cmocka_unit_test(test_base_mul_x8),
        cmocka_unit_test(test_var_mul),
        cmocka_unit_test(test_sign),
        cmocka_unit_test(test_decrypt),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
