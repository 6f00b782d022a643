/*
 * sm2_fast_fixture.h — what test_sm2_fast.c and test_sm2_fast_api.c share:
 * a seeded PRNG (ECERT_TEST_SEED replays a run), counts scaled by
 * ECERT_SM2_FAST_SCALE and cut for sanitizer builds, the arithmetic backends
 * this CPU runs, OpenSSL's SM2 group (n and p come from util.h), and the
 * cmocka setup/teardown. Included once by each of those files, which define
 * SM2_FIXTURE_NAME (printed with the seed) first.
 */
#ifndef ECERT_TEST_SM2_FAST_FIXTURE_H
#define ECERT_TEST_SM2_FAST_FIXTURE_H

#ifndef SM2_FIXTURE_NAME
#error "define SM2_FIXTURE_NAME before including sm2_fast_fixture.h"
#endif

#include "util.h"

/* ---- helpers --------------------------------------------------------------*/

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rnd_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

static int count(int n)
{
    return util_scaled("ECERT_SM2_FAST_SCALE", UNDER_ASAN ? n / 10 : n, 4);
}

/* The arithmetic backends this CPU runs ("x64" needs BMI2, ADX, AVX2;
 * "x64-avx512" also AVX-512F), the usable ones first. */
static const char *backends[3] = {"generic", "x64", "x64-avx512"};
static int nbackends = 1;

static EC_GROUP *grp;
static BN_CTX *bctx;
static BIGNUM *pmod;

static int setup(void **state)
{
    const char *seed = getenv("ECERT_TEST_SEED");
    rng_state = seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL);
    printf("# " SM2_FIXTURE_NAME ": ECERT_TEST_SEED=%llu\n", (unsigned long long)rng_state);
    grp = EC_GROUP_new_by_curve_name(NID_sm2);
    bctx = BN_CTX_new();
    pmod = BN_new();
    if (!grp || !bctx || !pmod || !sm2_fast_available() ||
        !EC_GROUP_get_curve(grp, pmod, NULL, NULL, bctx))
        return -1;
    const char *initial = sm2_fast_backend();
    nbackends = 1;
    while (nbackends < 3 && sm2_fast_set_backend(backends[nbackends]) == 0)
        nbackends++;
    sm2_fast_set_backend(initial);
    printf("# backends: %d of generic, x64, x64-avx512 (default %s)\n", nbackends, initial);
    return 0;
}

static int teardown(void **state)
{
    EC_GROUP_free(grp);
    BN_CTX_free(bctx);
    BN_free(pmod);
    sm2_engine_set(SM2_ENGINE_FAST);
    return 0;
}

/* 32-byte big-endian add of a small signed delta (wraps mod 2^256). */
static void add_small(uint8_t out[32], const uint8_t in[32], int delta)
{
    int carry = delta;
    for (int i = 31; i >= 0; i--) {
        int v = in[i] + carry;
        out[i] = (uint8_t)(v & 0xff);
        carry = v >> 8; /* arithmetic: -1 on borrow */
    }
}

#endif
