/*
 * The two SM2 engines crossed through the public API (sm2.h): key
 * derivation, signatures and ciphertexts made by one engine are checked by
 * the other, changed ones are rejected by both, and with the same k both
 * produce the same bytes; messages of every length 0-4096; r, s at the ends
 * of their range; C1 off the curve, at coordinates >= p, at (0, 0); per-key
 * tables and their budget. The fast engine alternates between its arithmetic
 * backends.
 *
 * Counts are per ctest run and bounded in time; ECERT_SM2_FAST_SCALE (a
 * percentage, default 100) scales them, and sanitizer builds run a tenth.
 * The PRNG seed is printed; ECERT_TEST_SEED=<n> replays a run.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "common/buf.h"
#include "common/codec.h"
#include "crypto/sm2.h"
#include "crypto/sm2_fast.h"
#include "crypto/sm2_internal.h"

#define SM2_FIXTURE_NAME "test_sm2_fast_api"
#include "sm2_fast_fixture.h"

static struct sm2_key *random_key(void)
{
    uint8_t d[32];
    struct sm2_key *k = NULL;
    do {
        rnd_bytes(d, 32);
    } while (sm2_key_from_private(NULL, d, &k) != ECERT_OK);
    return k;
}

static struct sm2_key *public_of(const struct sm2_key *k)
{
    struct sm2_key *p = NULL;
    assert_int_equal(sm2_key_from_public(NULL, sm2_key_public_xy(k), &p), ECERT_OK);
    return p;
}

static void set_engine(enum sm2_engine e)
{
    assert_int_equal(sm2_engine_set(e), ECERT_OK);
}

/* d = 1, 2, 3, n-2 (last valid), n-1, n, n+1 (invalid), then random: both
 * engines accept the same scalars and derive the same public key. */
static void test_key_derivation(void **state)
{
    int n = count(500);
    for (int i = 0; i < n; i++) {
        uint8_t d[32];
        rnd_bytes(d, 32);
        if (i < 7) {
            static const int deltas[] = {-2, -1, 0, 1};
            uint8_t z[32] = {0};
            if (i < 3)
                add_small(d, z, i + 1);
            else
                add_small(d, util_sm2_n, deltas[i - 3]);
        }
        sm2_fast_set_backend(backends[i % nbackends]);
        struct sm2_key *a = NULL, *b = NULL;
        set_engine(SM2_ENGINE_FAST);
        ecert_status sa = sm2_key_from_private(NULL, d, &a);
        set_engine(SM2_ENGINE_OPENSSL);
        ecert_status sb = sm2_key_from_private(NULL, d, &b);
        assert_int_equal(sa, sb);
        if (i >= 3 && i < 7)
            assert_int_equal(sa, i == 3 ? ECERT_OK : ECERT_E_MALFORMED);
        if (!sa)
            assert_memory_equal(sm2_key_public_xy(a), sm2_key_public_xy(b), 64);
        sm2_key_free(a);
        sm2_key_free(b);
    }
    set_engine(SM2_ENGINE_FAST);
}

static void test_sign_verify_cross(void **state)
{
    int n = count(2000);
    struct sm2_key *k = random_key(), *pub = public_of(k);
    static uint8_t msg[4097];
    for (int i = 0; i < n; i++) {
        if (i % 50 == 49) {
            sm2_key_free(k), sm2_key_free(pub);
            k = random_key(), pub = public_of(k);
        }
        size_t len = i < 300 ? (size_t)i : (size_t)(rnd() % 4097);
        rnd_bytes(msg, len);
        sm2_fast_set_backend(backends[i % nbackends]);
        uint8_t sig[64];
        enum sm2_engine se = (i & 1) ? SM2_ENGINE_FAST : SM2_ENGINE_OPENSSL;
        enum sm2_engine ve = (i & 2) ? SM2_ENGINE_FAST : SM2_ENGINE_OPENSSL;
        set_engine(se);
        assert_int_equal(sm2_sign(k, NULL, 0, msg, len, sig), ECERT_OK);
        set_engine(ve);
        assert_int_equal(sm2_verify(pub, NULL, 0, msg, len, sig), ECERT_OK);
        /* a changed signature or message fails on both engines */
        uint8_t bad[64];
        memcpy(bad, sig, 64);
        bad[rnd() % 64] ^= (uint8_t)(1u << (rnd() % 8));
        ecert_status s1 = sm2_verify(pub, NULL, 0, msg, len, bad);
        set_engine(se);
        ecert_status s2 = sm2_verify(pub, NULL, 0, msg, len, bad);
        assert_int_equal(s1, ECERT_E_SIGNATURE);
        assert_int_equal(s2, ECERT_E_SIGNATURE);
        if (len) {
            msg[rnd() % len] ^= 1;
            assert_int_equal(sm2_verify(pub, NULL, 0, msg, len, sig), ECERT_E_SIGNATURE);
        }
        /* with the same k both engines give the same signature */
        uint8_t e[32], kk[32], s_a[64], s_b[64];
        assert_int_equal(sm2_digest(k, NULL, 0, msg, len, e), ECERT_OK);
        rnd_bytes(kk, 32);
        set_engine(SM2_ENGINE_FAST);
        ecert_status ra = sm2_sign_digest_with_k(k, e, kk, s_a);
        set_engine(SM2_ENGINE_OPENSSL);
        ecert_status rb = sm2_sign_digest_with_k(k, e, kk, s_b);
        assert_int_equal(ra, rb);
        if (!ra)
            assert_memory_equal(s_a, s_b, 64);
    }
    sm2_key_free(k), sm2_key_free(pub);
    set_engine(SM2_ENGINE_FAST);
}

/* Signatures with r, s at and around the ends of [1, n-1]; k at the edges. */
static void test_verify_edges(void **state)
{
    struct sm2_key *k = random_key(), *pub = public_of(k);
    uint8_t msg[32], e[32], sig[64];
    rnd_bytes(msg, sizeof msg);
    assert_int_equal(sm2_digest(k, NULL, 0, msg, sizeof msg, e), ECERT_OK);
    assert_int_equal(sm2_sign_digest(k, e, sig), ECERT_OK);
    uint8_t z[32] = {0}, ones[32];
    memset(ones, 0xff, 32);
    uint8_t vals[16][32];
    size_t nv = 0;
    for (int d = 0; d <= 2; d++)
        add_small(vals[nv++], z, d); /* 0 1 2 */
    for (int d = -2; d <= 2; d++)
        add_small(vals[nv++], util_sm2_n, d); /* n-2 .. n+2 */
    add_small(vals[nv++], ones, 0);        /* 2^256 - 1 */
    memcpy(vals[nv++], sig, 32);           /* the real r */
    memcpy(vals[nv++], sig + 32, 32);      /* the real s */
    for (int b = 0; b < nbackends; b++) {
        sm2_fast_set_backend(backends[b]);
        for (size_t i = 0; i < nv; i++)
            for (size_t j = 0; j < nv; j++) {
                uint8_t t[64];
                memcpy(t, vals[i], 32);
                memcpy(t + 32, vals[j], 32);
                set_engine(SM2_ENGINE_FAST);
                ecert_status sa = sm2_verify_digest(pub, e, t);
                set_engine(SM2_ENGINE_OPENSSL);
                ecert_status sb = sm2_verify_digest(pub, e, t);
                assert_int_equal(sa, sb);
                assert_int_equal(sa, memcmp(t, sig, 64) == 0 ? ECERT_OK : ECERT_E_SIGNATURE);
            }
        /* signing with k = 0, n (degenerate) fails on both; 1, n-1, n+1,
         * 2^256-1 agree byte for byte */
        for (size_t i = 0; i < nv - 2; i++) {
            uint8_t s_a[64], s_b[64];
            set_engine(SM2_ENGINE_FAST);
            ecert_status ra = sm2_sign_digest_with_k(k, e, vals[i], s_a);
            set_engine(SM2_ENGINE_OPENSSL);
            ecert_status rb = sm2_sign_digest_with_k(k, e, vals[i], s_b);
            assert_int_equal(ra == ECERT_OK, rb == ECERT_OK);
            if (!ra)
                assert_memory_equal(s_a, s_b, 64);
            if (i == 0 || i == 5) /* 0 and n */
                assert_int_not_equal(ra, ECERT_OK);
        }
    }
    sm2_key_free(k), sm2_key_free(pub);
    set_engine(SM2_ENGINE_FAST);
}

static void test_encrypt_decrypt_cross(void **state)
{
    int n = count(1200);
    struct sm2_key *k = random_key(), *pub = public_of(k);
    static uint8_t msg[4097];
    for (int i = 0; i < n; i++) {
        if (i % 40 == 39) {
            sm2_key_free(k), sm2_key_free(pub);
            k = random_key(), pub = public_of(k);
        }
        size_t len = i < 200 ? (size_t)i : (size_t)(rnd() % 4097);
        rnd_bytes(msg, len);
        sm2_fast_set_backend(backends[(i / 4) % nbackends]);
        enum sm2_engine ee = (i & 1) ? SM2_ENGINE_FAST : SM2_ENGINE_OPENSSL;
        enum sm2_engine de = (i & 2) ? SM2_ENGINE_FAST : SM2_ENGINE_OPENSSL;
        struct buf raw = BUF_INIT(1 << 20), plain = BUF_INIT(1 << 20);
        set_engine(ee);
        assert_int_equal(sm2_encrypt(pub, msg, len, &raw), ECERT_OK);
        set_engine(de);
        assert_int_equal(sm2_decrypt(k, raw.data, raw.len, 0, &plain), ECERT_OK);
        assert_int_equal(plain.len, len);
        assert_memory_equal(plain.data, msg, len);
        /* a changed byte fails on both engines */
        raw.data[rnd() % raw.len] ^= (uint8_t)(1u << (rnd() % 8));
        buf_reset(&plain);
        ecert_status s1 = sm2_decrypt(k, raw.data, raw.len, 0, &plain);
        set_engine(ee);
        buf_reset(&plain);
        ecert_status s2 = sm2_decrypt(k, raw.data, raw.len, 0, &plain);
        assert_int_equal(s1, s2);
        assert_int_equal(s1, ECERT_E_DECRYPT);
        /* the same k gives the same ciphertext on both engines */
        uint8_t kk[32];
        rnd_bytes(kk, 32);
        struct buf a = BUF_INIT(1 << 20), b = BUF_INIT(1 << 20);
        set_engine(SM2_ENGINE_FAST);
        ecert_status ra = sm2_encrypt_with_k(pub, msg, len, kk, &a);
        set_engine(SM2_ENGINE_OPENSSL);
        ecert_status rb = sm2_encrypt_with_k(pub, msg, len, kk, &b);
        assert_int_equal(ra, rb);
        if (!ra) {
            assert_int_equal(a.len, b.len);
            assert_memory_equal(a.data, b.data, a.len);
        }
        buf_release(&a), buf_release(&b);
        buf_release(&raw);
        buf_release_secret(&plain);
    }
    sm2_key_free(k), sm2_key_free(pub);
    set_engine(SM2_ENGINE_FAST);
}

/* C1 not on the curve, at coordinates >= p, or the identity's (0, 0):
 * every engine says ECERT_E_DECRYPT and appends nothing. Public keys off the
 * curve are refused at parse time. */
static void test_decrypt_bad_points(void **state)
{
    struct sm2_key *k = random_key(), *pub = public_of(k);
    uint8_t msg[40];
    rnd_bytes(msg, sizeof msg);
    struct buf raw = BUF_INIT(1 << 20);
    assert_int_equal(sm2_encrypt(pub, msg, sizeof msg, &raw), ECERT_OK);
    for (int i = 0; i < 200; i++) {
        uint8_t c[1 + 64 + 32 + sizeof msg];
        memcpy(c, raw.data, sizeof c);
        if (i == 0)
            memset(c + 1, 0, 64);
        else if (i == 1)
            memcpy(c + 1, util_sm2_p, 32);
        else if (i == 2)
            memcpy(c + 33, util_sm2_p, 32);
        else
            c[1 + rnd() % 64] ^= (uint8_t)(1u << (rnd() % 8));
        for (int e = 0; e < 2; e++) {
            struct buf plain = BUF_INIT(1 << 20);
            sm2_fast_set_backend(backends[i % nbackends]);
            set_engine(e ? SM2_ENGINE_FAST : SM2_ENGINE_OPENSSL);
            assert_int_equal(sm2_decrypt(k, c, sizeof c, SM2_DECRYPT_STRICT_ORDER, &plain),
                             ECERT_E_DECRYPT);
            assert_int_equal(plain.len, 0);
            buf_release(&plain);
        }
        struct sm2_key *bad = NULL;
        if (i < 3 || !sm2_fast_point_valid(c + 1))
            assert_int_equal(sm2_key_from_public(NULL, c + 1, &bad), ECERT_E_MALFORMED);
        sm2_key_free(bad);
    }
    buf_release(&raw);
    sm2_key_free(k), sm2_key_free(pub);
    set_engine(SM2_ENGINE_FAST);
}

/* Per-key tables: built on the threshold-th use, same results, bounded. */
static void test_key_tables(void **state)
{
    size_t old = sm2_fast_set_key_tables(2, 3);
    size_t live0 = sm2_fast_key_tables_live();
    struct sm2_key *keys[4], *pubs[4];
    uint8_t msg[64];
    rnd_bytes(msg, sizeof msg);
    set_engine(SM2_ENGINE_FAST);
    for (int i = 0; i < 4; i++) {
        keys[i] = random_key();
        pubs[i] = public_of(keys[i]);
    }
    for (int round = 0; round < 6; round++)
        for (int i = 0; i < 4; i++) {
            uint8_t sig[64];
            sm2_fast_set_backend(backends[round % nbackends]);
            assert_int_equal(sm2_sign(keys[i], NULL, 0, msg, sizeof msg, sig), ECERT_OK);
            assert_int_equal(sm2_verify(pubs[i], NULL, 0, msg, sizeof msg, sig), ECERT_OK);
            struct buf raw = BUF_INIT(1 << 20), plain = BUF_INIT(1 << 20);
            assert_int_equal(sm2_encrypt(pubs[i], msg, sizeof msg, &raw), ECERT_OK);
            assert_int_equal(sm2_decrypt(keys[i], raw.data, raw.len, 0, &plain), ECERT_OK);
            assert_memory_equal(plain.data, msg, sizeof msg);
            set_engine(SM2_ENGINE_OPENSSL); /* the reference accepts both */
            assert_int_equal(sm2_verify(pubs[i], NULL, 0, msg, sizeof msg, sig), ECERT_OK);
            buf_reset(&plain);
            assert_int_equal(sm2_decrypt(keys[i], raw.data, raw.len, 0, &plain), ECERT_OK);
            set_engine(SM2_ENGINE_FAST);
            buf_release(&raw);
            buf_release_secret(&plain);
        }
    /* two of the four public keys got a table: the budget of 2 holds */
    int with = 0;
    for (int i = 0; i < 4; i++)
        with += sm2_fast_pub_has_table(pubs[i]->fpub);
    assert_int_equal(with, 2);
    assert_int_equal(sm2_fast_key_tables_live() - live0, 2);
    for (int i = 0; i < 4; i++) {
        sm2_key_free(keys[i]);
        sm2_key_free(pubs[i]);
    }
    assert_int_equal(sm2_fast_key_tables_live(), live0);
    sm2_fast_set_key_tables(old, 16);
}

/* One verification of a fresh signature by pub (the key's table is used,
 * or counted towards, as in any verification). */
static void verify_once(struct sm2_key *key, struct sm2_key *pub)
{
    uint8_t msg[32], sig[64];
    rnd_bytes(msg, sizeof msg);
    assert_int_equal(sm2_sign(key, NULL, 0, msg, sizeof msg, sig), ECERT_OK);
    assert_int_equal(sm2_verify(pub, NULL, 0, msg, sizeof msg, sig), ECERT_OK);
    sig[40] ^= 1;
    assert_int_equal(sm2_verify(pub, NULL, 0, msg, sizeof msg, sig), ECERT_E_SIGNATURE);
}

/* The tables are a bounded LRU: with room for two, a third key's table
 * evicts the least recently used one, whose key gets a table again after
 * `threshold` more uses (evicting the then least recently used). */
static void test_key_tables_lru(void **state)
{
    set_engine(SM2_ENGINE_FAST);
    struct sm2_key *k[3], *pub[3];
    for (int i = 0; i < 3; i++) {
        k[i] = random_key();
        pub[i] = public_of(k[i]);
    }
    size_t old = sm2_fast_set_key_tables(0, 1); /* evicts every idle table */
    assert_int_equal(sm2_fast_key_tables_live(), 0);
    sm2_fast_set_key_tables(2, 2);
#define HAS(i) sm2_fast_pub_has_table(pub[i]->fpub)
    /* each verify_once is two uses: A and B get tables */
    verify_once(k[0], pub[0]);
    verify_once(k[1], pub[1]);
    assert_true(HAS(0) && HAS(1) && !HAS(2));
    verify_once(k[0], pub[0]); /* A is now the most recent */
    verify_once(k[2], pub[2]); /* C's table evicts B's */
    assert_true(HAS(0) && !HAS(1) && HAS(2));
    assert_int_equal(sm2_fast_key_tables_live(), 2);
    /* B's first use afresh does not rebuild; its second does, evicting A */
    uint8_t msg[8] = {1, 2, 3}, sig[64];
    assert_int_equal(sm2_sign(k[1], NULL, 0, msg, sizeof msg, sig), ECERT_OK);
    assert_int_equal(sm2_verify(pub[1], NULL, 0, msg, sizeof msg, sig), ECERT_OK);
    assert_false(HAS(1));
    assert_int_equal(sm2_verify(pub[1], NULL, 0, msg, sizeof msg, sig), ECERT_OK);
    assert_true(!HAS(0) && HAS(1) && HAS(2));
    assert_int_equal(sm2_fast_key_tables_live(), 2);
    /* results are right with the re-created table, on both paths */
    for (int i = 0; i < 3; i++) {
        verify_once(k[i], pub[i]);
        struct buf raw = BUF_INIT(1 << 16), plain = BUF_INIT(1 << 16);
        assert_int_equal(sm2_encrypt(pub[i], msg, sizeof msg, &raw), ECERT_OK);
        assert_int_equal(sm2_decrypt(k[i], raw.data, raw.len, 0, &plain), ECERT_OK);
        assert_memory_equal(plain.data, msg, sizeof msg);
        buf_release(&raw);
        buf_release_secret(&plain);
    }
    /* lowering the bound evicts down to it */
    sm2_fast_set_key_tables(1, 2);
    assert_int_equal(sm2_fast_key_tables_live(), 1);
#undef HAS
    for (int i = 0; i < 3; i++) {
        sm2_key_free(k[i]);
        sm2_key_free(pub[i]);
    }
    assert_int_equal(sm2_fast_key_tables_live(), 0);
    sm2_fast_set_key_tables(old, 16);
}

/* Eviction while other threads compute with the evicted tables: room for
 * one table, four keys, every use may build a table and evict another
 * thread's. Each table must stay alive while in use (ASan would see a use
 * after free) and every result must be right. */
struct churn {
    struct sm2_key *key[4], *pub[4];
    uint8_t msg[48], sig[4][64];
    int failures, next_id;
};

static void *churn_worker(void *arg)
{
    struct churn *c = arg;
    int id = __atomic_fetch_add(&c->next_id, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 24; i++) {
        int j = (i * 3 + id + i / 4) % 4; /* threads interleave over the keys */
        if (sm2_verify(c->pub[j], NULL, 0, c->msg, sizeof c->msg, c->sig[j]) != ECERT_OK)
            __atomic_add_fetch(&c->failures, 1, __ATOMIC_RELAXED);
        struct buf raw = BUF_INIT(1 << 16), plain = BUF_INIT(1 << 16);
        if (sm2_encrypt(c->pub[j], c->msg, sizeof c->msg, &raw) != ECERT_OK ||
            sm2_decrypt(c->key[j], raw.data, raw.len, 0, &plain) != ECERT_OK ||
            plain.len != sizeof c->msg || memcmp(plain.data, c->msg, sizeof c->msg) != 0)
            __atomic_add_fetch(&c->failures, 1, __ATOMIC_RELAXED);
        buf_release(&raw);
        buf_release_secret(&plain);
    }
    return NULL;
}

static void test_threads_evict(void **state)
{
    set_engine(SM2_ENGINE_FAST);
    struct churn c = {.failures = 0, .next_id = 0};
    rnd_bytes(c.msg, sizeof c.msg);
    for (int i = 0; i < 4; i++) {
        c.key[i] = random_key();
        c.pub[i] = public_of(c.key[i]);
        assert_int_equal(sm2_sign(c.key[i], NULL, 0, c.msg, sizeof c.msg, c.sig[i]), ECERT_OK);
    }
    size_t old = sm2_fast_set_key_tables(1, 1);
    pthread_t th[4];
    int nth = UNDER_ASAN ? 2 : 4;
    for (int i = 0; i < nth; i++)
        assert_int_equal(pthread_create(&th[i], NULL, churn_worker, &c), 0);
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(c.failures, 0);
    assert_int_equal(sm2_fast_key_tables_live(), 1);
    for (int i = 0; i < 4; i++) {
        sm2_key_free(c.key[i]);
        sm2_key_free(c.pub[i]);
    }
    assert_int_equal(sm2_fast_key_tables_live(), 0);
    sm2_fast_set_key_tables(old, 16);
}

/* Keys are shared across threads: many threads reaching a key's table
 * threshold at once build one table, and every result stays right. */
struct shared {
    struct sm2_key *key, *pub;
    uint8_t msg[100], sig[64];
    int failures;
};

static void *worker(void *arg)
{
    struct shared *sh = arg;
    for (int i = 0; i < 40; i++) {
        if (sm2_verify(sh->pub, NULL, 0, sh->msg, sizeof sh->msg, sh->sig) != ECERT_OK)
            __atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
        struct buf raw = BUF_INIT(1 << 16), plain = BUF_INIT(1 << 16);
        if (sm2_encrypt(sh->pub, sh->msg, sizeof sh->msg, &raw) != ECERT_OK ||
            sm2_decrypt(sh->key, raw.data, raw.len, 0, &plain) != ECERT_OK ||
            plain.len != sizeof sh->msg || memcmp(plain.data, sh->msg, sizeof sh->msg) != 0)
            __atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
        buf_release(&raw);
        buf_release_secret(&plain);
    }
    return NULL;
}

static void test_threads_share_keys(void **state)
{
    size_t old = sm2_fast_set_key_tables(128, 5);
    size_t live0 = sm2_fast_key_tables_live();
    set_engine(SM2_ENGINE_FAST);
    struct shared sh = {.key = random_key(), .failures = 0};
    sh.pub = public_of(sh.key);
    rnd_bytes(sh.msg, sizeof sh.msg);
    assert_int_equal(sm2_sign(sh.key, NULL, 0, sh.msg, sizeof sh.msg, sh.sig), ECERT_OK);
    pthread_t th[4];
    int nth = UNDER_ASAN ? 2 : 4;
    for (int i = 0; i < nth; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker, &sh), 0);
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(sh.failures, 0);
    assert_true(sm2_fast_pub_has_table(sh.pub->fpub));
    assert_int_equal(sm2_fast_key_tables_live() - live0, 1);
    sm2_key_free(sh.key);
    sm2_key_free(sh.pub);
    assert_int_equal(sm2_fast_key_tables_live(), live0);
    sm2_fast_set_key_tables(old, 16);
}

/* Signing from the per-thread pool of presigned k (backend x64-avx512 on a
 * CPU with AVX-512 IFMA; the scalar path elsewhere): many signatures of one
 * digest, across refills of the pool and in two threads, all verify under
 * OpenSSL and no two share r (r = e + x1: the same r means the same k). A
 * child forked after the parent has drawn from its pool must not sign with
 * the parent's next k. */
struct presign_run {
    struct sm2_key *key;
    uint8_t e[32];
    uint8_t r[40][32];
    int failures;
};

static void *presign_worker(void *arg)
{
    struct presign_run *pr = arg;
    for (int i = 0; i < 40; i++) {
        uint8_t sig[64];
        if (sm2_sign_digest(pr->key, pr->e, sig) != ECERT_OK)
            pr->failures++;
        memcpy(pr->r[i], sig, 32);
    }
    return NULL;
}

static int sign_in_child(void *arg, uint8_t *out)
{
    struct presign_run *pr = arg;
    return sm2_sign_digest(pr->key, pr->e, out) == ECERT_OK ? 0 : -1;
}

static void test_presign_pool(void **state)
{
    set_engine(SM2_ENGINE_FAST);
    struct sm2_key *k = random_key(), *pub = public_of(k);
    static struct presign_run runs[2];
    rnd_bytes(runs[0].e, 32);
    for (int t = 0; t < 2; t++) {
        runs[t].key = k;
        memcpy(runs[t].e, runs[0].e, 32); /* one digest for all */
        runs[t].failures = 0;
    }
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, presign_worker, &runs[1]), 0);
    presign_worker(&runs[0]);
    pthread_join(th, NULL);
    set_engine(SM2_ENGINE_OPENSSL);
    for (int t = 0; t < 2; t++) {
        assert_int_equal(runs[t].failures, 0);
        for (int i = 0; i < 40; i++) {
            for (int u = 0; u < 2; u++)
                for (int j = 0; j < 40; j++)
                    if (u != t || j != i)
                        assert_memory_not_equal(runs[t].r[i], runs[u].r[j], 32);
        }
    }
    /* every one verifies (OpenSSL): sign again and check */
    for (int i = 0; i < 20; i++) {
        uint8_t sig[64];
        set_engine(SM2_ENGINE_FAST);
        assert_int_equal(sm2_sign_digest(k, runs[0].e, sig), ECERT_OK);
        set_engine(SM2_ENGINE_OPENSSL);
        assert_int_equal(sm2_verify_digest(pub, runs[0].e, sig), ECERT_OK);
    }
    /* fork: the parent has a partly used pool */
    set_engine(SM2_ENGINE_FAST);
    uint8_t sig[64], in_child[64];
    assert_int_equal(sm2_sign_digest(k, runs[0].e, sig), ECERT_OK);
    assert_int_equal(util_in_child(sign_in_child, &runs[0], in_child, 64), 0);
    assert_int_equal(sm2_sign_digest(k, runs[0].e, sig), ECERT_OK);
    assert_memory_not_equal(sig, in_child, 32);
    set_engine(SM2_ENGINE_OPENSSL);
    assert_int_equal(sm2_verify_digest(pub, runs[0].e, in_child), ECERT_OK);
    set_engine(SM2_ENGINE_FAST);
    sm2_key_free(k), sm2_key_free(pub);
}

/* Switching engines: names, and the environment-free default. */
static void test_engine_switch(void **state)
{
    enum sm2_engine e;
    assert_int_equal(sm2_engine_from_name("fast", &e), ECERT_OK);
    assert_int_equal(e, SM2_ENGINE_FAST);
    assert_int_equal(sm2_engine_from_name("openssl", &e), ECERT_OK);
    assert_int_equal(e, SM2_ENGINE_OPENSSL);
    assert_int_equal(sm2_engine_from_name("gmssl", &e), ECERT_E_ARG);
    assert_int_equal(sm2_engine_set((enum sm2_engine)7), ECERT_E_ARG);
    set_engine(SM2_ENGINE_OPENSSL);
    assert_int_equal(sm2_engine_get(), SM2_ENGINE_OPENSSL);
    assert_string_equal(sm2_engine_name(sm2_engine_get()), "openssl");
    set_engine(SM2_ENGINE_FAST);
    assert_int_equal(sm2_engine_get(), SM2_ENGINE_FAST);
    assert_string_equal(sm2_engine_name(sm2_engine_get()), "fast");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_switch),
        cmocka_unit_test(test_key_derivation),
        cmocka_unit_test(test_sign_verify_cross),
        cmocka_unit_test(test_verify_edges),
        cmocka_unit_test(test_encrypt_decrypt_cross),
        cmocka_unit_test(test_decrypt_bad_points),
        cmocka_unit_test(test_key_tables),
        cmocka_unit_test(test_key_tables_lru),
        cmocka_unit_test(test_threads_evict),
        cmocka_unit_test(test_threads_share_keys),
        cmocka_unit_test(test_presign_pool),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
