/*
 * fuzz_sm2_engines — the fast SM2 engine against OpenSSL on every input.
 *
 * The first byte picks an experiment (bits 0-1) and whether keys get their
 * precomputed tables (bit 7); the rest supplies scalars, points,
 * keys, messages and ciphertexts. Every experiment runs the same operation on
 * both engines (and, for the fast engine, on both arithmetic backends where
 * the CPU has the x64 one) and requires identical results: the same verdict
 * and the same bytes. Anything else calls abort().
 *
 *   0  k·G, k·P (constant time), k·P through a per-key table (one input in
 *      16: a table costs a millisecond), s·G + t·P, point validation — the
 *      fast primitives against OpenSSL's EC_POINT_mul / oct2point — and
 *      eight k·G at once on AVX-512 IFMA against both
 *   1  keys from a private scalar, signing with a given k, verification of
 *      that signature and of an arbitrary (r, s)
 *   2  encryption with a given k of a message, decryption of it with both
 *      engines and of arbitrary bytes as a ciphertext, and of a one-byte
 *      change of the valid ciphertext
 *   3  field arithmetic mod p (product, square, both inversions, sum,
 *      difference) against OpenSSL's BN
 *
 * Scalars are arbitrary 256-bit strings: 0, n, values above n and near 2^256
 * are all reached (the seeds in corpus/sm2_engines/ start there).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "common/buf.h"
#include "crypto/sm2.h"
#include "crypto/sm2_fast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSG 4096

static EC_GROUP *grp;
static BN_CTX *bctx;
static BIGNUM *pmod;
static const char *backends[3] = {"generic", "x64", "x64-avx512"};
static int nbackends = 1;

static _Noreturn void fail(const char *what)
{
    fprintf(stderr, "fuzz_sm2_engines: engines disagree: %s\n", what);
    abort();
}

static void setup(void)
{
    if (grp)
        return;
    grp = EC_GROUP_new_by_curve_name(NID_sm2);
    bctx = BN_CTX_new();
    pmod = BN_new();
    if (!grp || !bctx || !pmod || !EC_GROUP_get_curve(grp, pmod, NULL, NULL, bctx))
        abort();
    while (nbackends < 3 && sm2_fast_set_backend(backends[nbackends]) == 0)
        nbackends++;
    sm2_fast_set_backend(backends[0]);
}

/* Takes n bytes from the input (zero-padded when it runs out). */
static void take(const uint8_t **p, size_t *left, uint8_t *out, size_t n)
{
    size_t k = *left < n ? *left : n;
    memcpy(out, *p, k);
    memset(out + k, 0, n - k);
    *p += k;
    *left -= k;
}

/* OpenSSL: s·G + t·P (either NULL), 0 for infinity. P must be valid. */
static int ref_mul(const uint8_t *s, const uint8_t *t, const uint8_t *p, uint8_t out[64])
{
    BIGNUM *bs = s ? BN_bin2bn(s, 32, NULL) : NULL, *bt = t ? BN_bin2bn(t, 32, NULL) : NULL;
    EC_POINT *pp = NULL, *r = EC_POINT_new(grp);
    if (p) {
        uint8_t oct[65] = {4};
        memcpy(oct + 1, p, 64);
        pp = EC_POINT_new(grp);
        if (!pp || EC_POINT_oct2point(grp, pp, oct, 65, bctx) != 1)
            fail("reference point");
    }
    if (!r || EC_POINT_mul(grp, r, bs, pp, bt, bctx) != 1)
        fail("reference multiplication");
    int ok = !EC_POINT_is_at_infinity(grp, r);
    if (ok) {
        uint8_t oct[65];
        if (EC_POINT_point2oct(grp, r, POINT_CONVERSION_UNCOMPRESSED, oct, 65, bctx) != 65)
            fail("reference encoding");
        memcpy(out, oct + 1, 64);
    }
    BN_free(bs), BN_free(bt);
    EC_POINT_free(pp), EC_POINT_free(r);
    return ok;
}

static int ref_valid(const uint8_t xy[64])
{
    uint8_t oct[65] = {4};
    memcpy(oct + 1, xy, 64);
    EC_POINT *e = EC_POINT_new(grp);
    int ok = e && EC_POINT_oct2point(grp, e, oct, 65, bctx) == 1;
    EC_POINT_free(e);
    return ok;
}

static void same_result(const char *what, int fa, const uint8_t *a, int fb, const uint8_t *b)
{
    if (fa != fb || (fa && memcmp(a, b, 64) != 0))
        fail(what);
}

/* Eight k·G at once (AVX-512 IFMA, where the CPU has it): lane 0 is k
 * (against OpenSSL's k·G, fb/b), the others t, the point's two halves and
 * byte rotations of k (against the scalar engine). A lane outside [1, n-1]
 * must make the whole call return 0. */
/* the group order n, big-endian */
static const uint8_t sm2_n_be[32] = {
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x72, 0x03, 0xdf, 0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5, 0x41, 0x23};

static void exp_base_x8(const uint8_t k[32], const uint8_t t[32], const uint8_t xy[64], int fb,
                        const uint8_t b[64])
{
    static const uint8_t zero[32];
    uint8_t lanes[8][32], out[8][64], a[64];
    memcpy(lanes[0], k, 32);
    memcpy(lanes[1], t, 32);
    memcpy(lanes[2], xy, 32);
    memcpy(lanes[3], xy + 32, 32);
    for (int i = 4; i < 8; i++)
        for (int j = 0; j < 32; j++)
            lanes[i][j] = k[(j + 7 * i) % 32];
    int valid = 1;
    for (int i = 0; i < 8; i++)
        valid &= memcmp(lanes[i], zero, 32) != 0 && memcmp(lanes[i], sm2_n_be, 32) < 0;
    int r = sm2_fast_mul_base_x8((const uint8_t(*)[32])lanes, out);
    if (r < 0)
        return;
    if (r != valid)
        fail("8 × k·G: range verdict");
    if (!valid)
        return;
    same_result("8 × k·G lane 0", 1, out[0], fb, b);
    sm2_fast_set_backend(backends[nbackends - 1]);
    for (int i = 1; i < 8; i++)
        same_result("8 × k·G", 1, out[i], sm2_fast_mul_base(lanes[i], a), a);
}

static void exp_points(const uint8_t *p, size_t left, int table)
{
    uint8_t k[32], t[32], xy[64], a[64], b[64];
    take(&p, &left, k, 32);
    take(&p, &left, t, 32);
    take(&p, &left, xy, 64);
    int valid = ref_valid(xy);
    for (int i = 0; i < nbackends; i++) {
        sm2_fast_set_backend(backends[i]);
        if (sm2_fast_point_valid(xy) != valid)
            fail("point validation");
    }
    if (!valid) /* a point from the bytes: h·G */
        if (!ref_mul(xy, NULL, NULL, xy))
            return;
    int fb = ref_mul(k, NULL, NULL, b);
    for (int i = 0; i < nbackends; i++) {
        sm2_fast_set_backend(backends[i]);
        same_result("k·G", sm2_fast_mul_base(k, a), a, fb, b);
    }
    exp_base_x8(k, t, xy, fb, b);
    fb = ref_mul(NULL, k, xy, b);
    for (int i = 0; i < nbackends; i++) {
        sm2_fast_set_backend(backends[i]);
        same_result("k·P", sm2_fast_mul_point(k, xy, a), a, fb, b);
        if (table)
            same_result("k·P (table)", sm2_fast_mul_point_table(k, xy, a), a, fb, b);
    }
    fb = ref_mul(t, k, xy, b);
    for (int i = 0; i < nbackends; i++) {
        sm2_fast_set_backend(backends[i]);
        same_result("s·G + t·P", sm2_fast_mul_double(t, k, xy, a), a, fb, b);
    }
}

/* A key under each engine: the same status and public point. */
static void key_pair(const uint8_t d[32], struct sm2_key **kf, struct sm2_key **ko)
{
    sm2_engine_set(SM2_ENGINE_FAST);
    ecert_status sf = sm2_key_from_private(NULL, d, kf);
    sm2_engine_set(SM2_ENGINE_OPENSSL);
    ecert_status so = sm2_key_from_private(NULL, d, ko);
    if (sf != so)
        fail("key status");
    if (!sf && memcmp(sm2_key_public_xy(*kf), sm2_key_public_xy(*ko), 64) != 0)
        fail("public key");
    if (sf)
        *kf = *ko = NULL;
}

static void exp_sign(const uint8_t *p, size_t left)
{
    uint8_t d[32], e[32], k[32], other[64];
    take(&p, &left, d, 32);
    take(&p, &left, e, 32);
    take(&p, &left, k, 32);
    take(&p, &left, other, 64);
    struct sm2_key *kf, *ko;
    key_pair(d, &kf, &ko);
    if (!kf)
        return;
    uint8_t sf[64], so[64];
    for (int i = 0; i < nbackends; i++) {
        sm2_fast_set_backend(backends[i]);
        sm2_engine_set(SM2_ENGINE_FAST);
        ecert_status a = sm2_sign_digest_with_k(kf, e, k, sf);
        sm2_engine_set(SM2_ENGINE_OPENSSL);
        ecert_status b = sm2_sign_digest_with_k(ko, e, k, so);
        if ((a == ECERT_OK) != (b == ECERT_OK) || (!a && memcmp(sf, so, 64) != 0))
            fail("signature with a given k");
        const uint8_t *sigs[2] = {a ? NULL : sf, other};
        for (int j = 0; j < 2; j++) {
            if (!sigs[j])
                continue;
            /* both engines, both key objects (the key's table appears after
             * its second use) */
            ecert_status v[4];
            sm2_engine_set(SM2_ENGINE_FAST);
            v[0] = sm2_verify_digest(kf, e, sigs[j]);
            v[1] = sm2_verify_digest(ko, e, sigs[j]);
            sm2_engine_set(SM2_ENGINE_OPENSSL);
            v[2] = sm2_verify_digest(kf, e, sigs[j]);
            v[3] = sm2_verify_digest(ko, e, sigs[j]);
            if (v[0] != v[2] || v[1] != v[3] || v[0] != v[1])
                fail("verification verdict");
            if (j == 0 && v[0] != ECERT_OK)
                fail("own signature rejected");
        }
    }
    sm2_key_free(kf);
    sm2_key_free(ko);
}

static void decrypt_both(struct sm2_key *kf, struct sm2_key *ko, const uint8_t *c, size_t n,
                         int flags)
{
    struct buf a = BUF_INIT(1 << 20), b = BUF_INIT(1 << 20);
    sm2_engine_set(SM2_ENGINE_FAST);
    ecert_status sa = sm2_decrypt(kf, c, n, flags, &a);
    sm2_engine_set(SM2_ENGINE_OPENSSL);
    ecert_status sb = sm2_decrypt(ko, c, n, flags, &b);
    if (sa != sb || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
        fail("decryption");
    buf_release_secret(&a);
    buf_release_secret(&b);
}

static void exp_encrypt(const uint8_t *p, size_t left)
{
    uint8_t d[32], k[32], pos[2];
    take(&p, &left, d, 32);
    take(&p, &left, k, 32);
    take(&p, &left, pos, 2);
    struct sm2_key *kf, *ko;
    key_pair(d, &kf, &ko);
    if (!kf)
        return;
    size_t mlen = left > MAX_MSG ? MAX_MSG : left;
    for (int i = 0; i < nbackends; i++) {
        sm2_fast_set_backend(backends[i]);
        struct buf a = BUF_INIT(1 << 20), b = BUF_INIT(1 << 20);
        sm2_engine_set(SM2_ENGINE_FAST);
        ecert_status sa = sm2_encrypt_with_k(kf, p, mlen, k, &a);
        sm2_engine_set(SM2_ENGINE_OPENSSL);
        ecert_status sb = sm2_encrypt_with_k(ko, p, mlen, k, &b);
        if ((sa == ECERT_OK) != (sb == ECERT_OK) || a.len != b.len ||
            (a.len && memcmp(a.data, b.data, a.len) != 0))
            fail("encryption with a given k");
        if (!sa) {
            decrypt_both(kf, ko, a.data, a.len, 0);
            a.data[((size_t)pos[0] << 8 | pos[1]) % a.len] ^= 0x5a;
            decrypt_both(kf, ko, a.data, a.len, 0);
            decrypt_both(kf, ko, a.data, a.len, SM2_DECRYPT_STRICT_ORDER);
        }
        buf_release(&a);
        buf_release(&b);
    }
    /* the input itself as a ciphertext (any form sm2_decrypt reads) */
    decrypt_both(kf, ko, p, left, 0);
    sm2_key_free(kf);
    sm2_key_free(ko);
}

static void ref_field(char op, const uint8_t a[32], const uint8_t b[32], uint8_t out[32])
{
    BIGNUM *x = BN_bin2bn(a, 32, NULL), *y = BN_bin2bn(b, 32, NULL), *r = BN_new();
    int ok = x && y && r;
    switch (op) {
    case '*':
        ok = ok && BN_mod_mul(r, x, y, pmod, bctx);
        break;
    case 's':
        ok = ok && BN_mod_sqr(r, x, pmod, bctx);
        break;
    case '+':
        ok = ok && BN_mod_add(r, x, y, pmod, bctx);
        break;
    case '-':
        ok = ok && BN_mod_sub(r, x, y, pmod, bctx);
        break;
    case 'h': { /* a / 2 */
        BIGNUM *half = BN_new();
        ok = ok && half && BN_set_word(half, 2) && BN_mod_inverse(half, half, pmod, bctx) &&
             BN_mod_mul(r, x, half, pmod, bctx);
        BN_free(half);
        break;
    }
    default: /* inverses; 0 maps to 0 */
        if (ok && BN_is_zero(x))
            BN_zero(r);
        else
            ok = ok && BN_mod_inverse(r, x, pmod, bctx);
    }
    if (!ok || BN_bn2binpad(r, out, 32) != 32)
        fail("reference field operation");
    BN_free(x), BN_free(y), BN_free(r);
}

static void exp_field(const uint8_t *p, size_t left)
{
    uint8_t a[32], b[32], x[32], y[32];
    take(&p, &left, a, 32);
    take(&p, &left, b, 32);
    static const char ops[] = "*s+-hif";
    for (int i = 0; i < nbackends; i++) {
        sm2_fast_set_backend(backends[i]);
        for (const char *op = ops; *op; op++) {
            int rc = sm2_fast_field_op(*op, a, b, x);
            if (rc != 0)
                return; /* an input >= p: nothing to compare */
            ref_field(*op, a, b, y);
            if (memcmp(x, y, 32) != 0)
                fail("field operation");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    enum sm2_engine saved = sm2_engine_get();
    /* Bit 7 of the first byte turns per-key tables on from a key's first use
     * (a table costs a millisecond: most inputs go without). */
    sm2_fast_set_key_tables((data[0] & 0x80) ? 8 : 0, 1);
    const uint8_t *p = data + 1;
    size_t left = size - 1;
    switch (data[0] & 3) {
    case 0:
        exp_points(p, left, (data[0] >> 4) == 0xf);
        break;
    case 1:
        exp_sign(p, left);
        break;
    case 2:
        exp_encrypt(p, left);
        break;
    case 3:
        exp_field(p, left);
        break;
    }
    sm2_engine_set(saved);
    sm2_fast_set_backend(backends[0]);
    return 0;
}
