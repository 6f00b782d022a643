/*
 * test_sm3 — ecert's own SM3 and HMAC-SM3 (src/crypto/sm3.c): the published
 * examples and vectors, and differential checks against OpenSSL: EVP SM3 over
 * every length up to 4096 with random contents and random ways of splitting
 * the input into updates, HMAC for keys of 0..200 and messages of 0..1000
 * bytes. All of it once per compression variant (sm3_impl_set).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto/sm3.h"
#include "util.h"

/* A fixed-seed generator, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rng() >> 32);
}

static void evp_sm3(const void *p, size_t n, uint8_t out[SM3_LEN])
{
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sm3(), NULL), 1);
    assert_int_equal(len, SM3_LEN);
}

/* Hashes p in pieces: 0 = one update, 1 = single bytes, 2 = random sizes
 * (empty updates included). */
static void own_sm3_split(const uint8_t *p, size_t n, int mode, uint8_t out[SM3_LEN])
{
    struct sm3_ctx c;
    sm3_ctx_init(&c);
    if (mode == 0) {
        sm3_ctx_update(&c, p, n);
    } else {
        for (size_t off = 0; off < n;) {
            size_t k = mode == 1 ? 1 : (size_t)(rng() % 150);
            if (k > n - off)
                k = n - off;
            sm3_ctx_update(&c, p + off, k);
            off += k;
        }
    }
    sm3_ctx_final(&c, out);
}

static void assert_digest_hex(const uint8_t d[SM3_LEN], const char *hex)
{
    size_t n;
    uint8_t *want = util_unhex(hex, &n);
    assert_int_equal(n, SM3_LEN);
    assert_memory_equal(d, want, SM3_LEN);
    free(want);
}

/* ---- known answers -------------------------------------------------------- */

static void test_gbt_examples(void **state)
{
    (void)state;
    uint8_t d[SM3_LEN];
    /* GB/T 32905-2016 Appendix A, example 1: "abc". */
    assert_int_equal(sm3_digest("abc", 3, d), ECERT_OK);
    assert_digest_hex(d, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    /* Example 2: "abcd" sixteen times, 64 bytes, so padding takes a whole
     * second block. */
    char m[65];
    for (int i = 0; i < 16; i++)
        memcpy(m + 4 * i, "abcd", 4);
    assert_int_equal(sm3_digest(m, 64, d), ECERT_OK);
    assert_digest_hex(d, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
    /* The empty message. */
    assert_int_equal(sm3_digest(NULL, 0, d), ECERT_OK);
    assert_digest_hex(d, "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b");
}

static void test_vectors(void **state)
{
    (void)state;
    json_t *root = util_load_json("vectors/sm3.json");
    json_t *list = json_object_get(root, "vectors"), *v;
    size_t i, digests = 0, macs = 0;
    json_array_foreach(list, i, v)
    {
        size_t n;
        uint8_t *in = util_unhex(util_str(v, "input_hex"), &n);
        uint8_t out[SM3_LEN];
        const char *mac = json_string_value(json_object_get(v, "mac"));
        if (mac) {
            size_t kl;
            uint8_t *key = util_unhex(util_str(v, "key_hex"), &kl);
            assert_int_equal(hmac_sm3(key, kl, in, n, out), ECERT_OK);
            assert_digest_hex(out, mac);
            free(key);
            macs++;
        } else {
            for (int mode = 0; mode < 3; mode++) {
                own_sm3_split(in, n, mode, out);
                assert_digest_hex(out, util_str(v, "digest"));
            }
            digests++;
        }
        free(in);
    }
    json_decref(root);
    assert_true(digests >= 10);
    assert_true(macs >= 1);
}

static void test_million_a(void **state)
{
    (void)state;
    size_t n = 1000000;
    uint8_t *m = malloc(n), d[SM3_LEN], want[SM3_LEN];
    assert_non_null(m);
    memset(m, 'a', n);
    assert_int_equal(sm3_digest(m, n, d), ECERT_OK);
    assert_digest_hex(d, "c8aaf89429554029e231941a2acc0ad61ff2a5acd8fadd25847a3a732b3b02c3");
    evp_sm3(m, n, want);
    assert_memory_equal(d, want, SM3_LEN);
    /* The same in odd pieces through the heap context. */
    struct sm3 *h;
    assert_int_equal(sm3_new(&h), ECERT_OK);
    for (size_t off = 0; off < n; off += 999)
        assert_int_equal(sm3_update(h, m + off, n - off < 999 ? n - off : 999), ECERT_OK);
    assert_int_equal(sm3_final(h, d), ECERT_OK);
    sm3_free(h);
    assert_memory_equal(d, want, SM3_LEN);
    free(m);
}

/* ---- differential against OpenSSL ----------------------------------------- */

static void test_every_length(void **state)
{
    (void)state;
    enum { MAX = 4096 };
    uint8_t *m = malloc(MAX), want[SM3_LEN], got[SM3_LEN];
    assert_non_null(m);
    for (size_t n = 0; n <= MAX; n++) {
        fill(m, n);
        evp_sm3(m, n, want);
        for (int mode = 0; mode < 3; mode++) {
            own_sm3_split(m, n, mode, got);
            assert_memory_equal(got, want, SM3_LEN);
        }
        assert_int_equal(sm3_digest(m, n, got), ECERT_OK);
        assert_memory_equal(got, want, SM3_LEN);
    }
    free(m);
}

/* A copied context continues independently of the original, whatever the
 * fill of its block buffer at the copy. */
static void test_copy(void **state)
{
    (void)state;
    uint8_t p[300], s1[200], s2[200], m[500], want[SM3_LEN], got[SM3_LEN];
    fill(p, sizeof p);
    fill(s1, sizeof s1);
    fill(s2, sizeof s2);
    for (size_t pl = 0; pl <= sizeof p; pl += 7) {
        size_t l1 = (pl * 13) % sizeof s1, l2 = (pl * 31) % sizeof s2;
        struct sm3_ctx a, b;
        sm3_ctx_init(&a);
        sm3_ctx_update(&a, p, pl);
        b = a;
        sm3_ctx_update(&b, s2, l2);
        sm3_ctx_update(&a, s1, l1);

        memcpy(m, p, pl);
        memcpy(m + pl, s1, l1);
        evp_sm3(m, pl + l1, want);
        sm3_ctx_final(&a, got);
        assert_memory_equal(got, want, SM3_LEN);

        memcpy(m + pl, s2, l2);
        evp_sm3(m, pl + l2, want);
        sm3_ctx_final(&b, got);
        assert_memory_equal(got, want, SM3_LEN);

        /* The same through the heap API: sm3_copy, and final resets. */
        struct sm3 *h, *g;
        assert_int_equal(sm3_new(&h), ECERT_OK);
        assert_int_equal(sm3_new(&g), ECERT_OK);
        assert_int_equal(sm3_update(g, s1, 5), ECERT_OK); /* overwritten by the copy */
        assert_int_equal(sm3_update(h, p, pl), ECERT_OK);
        assert_int_equal(sm3_copy(g, h), ECERT_OK);
        assert_int_equal(sm3_update(g, s2, l2), ECERT_OK);
        assert_int_equal(sm3_final(g, got), ECERT_OK);
        assert_memory_equal(got, want, SM3_LEN);
        assert_int_equal(sm3_update(g, s1, l1), ECERT_OK);
        assert_int_equal(sm3_final(g, got), ECERT_OK);
        evp_sm3(s1, l1, want);
        assert_memory_equal(got, want, SM3_LEN);
        assert_int_equal(sm3_reset(h), ECERT_OK);
        assert_int_equal(sm3_final(h, got), ECERT_OK);
        evp_sm3(NULL, 0, want);
        assert_memory_equal(got, want, SM3_LEN);
        sm3_free(h);
        sm3_free(g);
    }
}

/* final leaves nothing of the message or state behind. */
static void test_final_wipes(void **state)
{
    (void)state;
    struct sm3_ctx c, zero;
    uint8_t d[SM3_LEN];
    memset(&zero, 0, sizeof zero);
    for (size_t n = 0; n < 130; n += 13) {
        uint8_t m[130];
        fill(m, n);
        sm3_ctx_init(&c);
        sm3_ctx_update(&c, m, n);
        sm3_ctx_final(&c, d);
        assert_memory_equal(&c, &zero, sizeof c);
    }
}

/* Every key length 0..200 and every message length 0..1000: each key length
 * kl takes the message lengths congruent to kl mod 13, so across the key
 * lengths all message lengths occur (the full cross product is 13 times the
 * work and took minutes under ASan). */
static void test_hmac(void **state)
{
    (void)state;
    uint8_t key[200], msg[1000], want[SM3_LEN], got[SM3_LEN];
    fill(key, sizeof key);
    fill(msg, sizeof msg);
    size_t runs = 0;
    for (size_t kl = 0; kl <= sizeof key; kl++)
        for (size_t ml = kl % 13; ml <= sizeof msg; ml += 13) {
            unsigned int len = 0;
            assert_non_null(HMAC(EVP_sm3(), key, (int)kl, msg, ml, want, &len));
            assert_int_equal(len, SM3_LEN);
            assert_int_equal(hmac_sm3(key, kl, msg, ml, got), ECERT_OK);
            assert_memory_equal(got, want, SM3_LEN);
            runs++;
        }
    assert_true(runs > 15000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gbt_examples), cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_million_a),    cmocka_unit_test(test_every_length),
        cmocka_unit_test(test_copy),         cmocka_unit_test(test_final_wipes),
        cmocka_unit_test(test_hmac),
    };
    /* Every compression variant this CPU has, the portable one always. */
    static const char *const impls[] = {"generic", "bmi2"};
    int failed = 0;
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
        if (sm3_impl_set(impls[i]) != ECERT_OK) {
            if (i == 0)
                return 1; /* generic must always be there */
            printf("test_sm3: no %s on this CPU, not run\n", impls[i]);
            continue;
        }
        if (strcmp(sm3_impl_name(), impls[i]) != 0)
            return 1;
        failed |= cmocka_run_group_tests_name(impls[i], tests, NULL, NULL);
    }
    if (sm3_impl_set("no-such") == ECERT_OK)
        return 1;
    return failed;
}
