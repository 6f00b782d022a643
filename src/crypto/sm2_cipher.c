/*
 * sm2_cipher.c — SM2 public-key encryption (GB/T 32918.4) and the encodings
 * of its ciphertexts (SPEC §3.3).
 *
 * Encryption and decryption are written on OpenSSL's EC primitives rather
 * than EVP_PKEY_encrypt/decrypt: the layout (C1||C3||C2, optional 04), the KDF
 * and the C3 check are then ours, and recognising the legacy C1||C2||C3 order
 * costs one extra SM3 instead of a second scalar multiplication. The scalar
 * multiplications are the selected engine's: the fast engine's constant-time
 * comb and window methods (sm2_fast.c) on sm2p256v1, or OpenSSL's
 * constant-time ladder for a single scalar on a prime curve.
 */
#include <stdatomic.h>
#include <string.h>

#include "common/codec.h"
#include "common/der.h"
#include "common/error.h"
#include "common/secure.h"
#include "crypto/sm2_internal.h"
#include "crypto/sm3.h"
#include "crypto/sm3_x16.h"

/* ---- formats ------------------------------------------------------------- */

static const char *const format_names[] = {"hex", "hex04", "base64", "der"};

ecert_status sm2_cipher_format_from_name(const char *name, ecert_cipher_format *out)
{
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
        if (strcmp(name, format_names[i]) == 0) {
            *out = (ecert_cipher_format)i;
            return ECERT_OK;
        }
    return err_set(ECERT_E_MALFORMED, "unknown ciphertext format '%.32s' (hex|hex04|base64|der)",
                   name);
}

const char *sm2_cipher_format_name(ecert_cipher_format f)
{
    return (unsigned)f < 4 ? format_names[f] : "?";
}

/* ---- KDF and the shared secret ------------------------------------------- */

/* The state of one en/decryption once the shared point (x2, y2) is known:
 * SM3 over x2||y2 is one full block, so it is hashed once and each 32 bytes
 * of key stream costs one compression of (counter, padding). With AVX-512
 * sixteen such blocks are computed at once (sm3_x16.h) whenever more than
 * one is still needed; otherwise the prefix state is copied (a struct
 * assignment) per counter. */
struct kdf {
    struct sm3_ctx prefix; /* SM3 after x2||y2 */
    uint32_t ct;           /* the last counter used */
    uint8_t stream[16 * 32];
    size_t len, used; /* bytes of stream computed / consumed */
};

static ecert_status kdf_init(struct kdf *k, const uint8_t x2y2[64])
{
    memset(k, 0, sizeof *k);
    sm3_ctx_init(&k->prefix);
    sm3_ctx_update(&k->prefix, x2y2, 64);
    return ECERT_OK;
}

static void kdf_release(struct kdf *k)
{
    secure_wipe(k, sizeof *k);
}

/* Computes the next key stream bytes; `want` is how many are still needed. */
static void kdf_refill(struct kdf *k, size_t want)
{
    /* -1 until the first call asks the CPU; every thread finds the same */
    static _Atomic int x16 = -1;
    int have = atomic_load_explicit(&x16, memory_order_relaxed);
    if (have < 0) {
        have = sm3_kdf16_available();
        atomic_store_explicit(&x16, have, memory_order_relaxed);
    }
    if (want > 32 && have) {
        sm3_kdf16(k->prefix.h, k->ct + 1, k->stream);
        k->ct += 16;
        k->len = sizeof k->stream;
    } else {
        k->ct++;
        uint8_t ctb[4] = {(uint8_t)(k->ct >> 24), (uint8_t)(k->ct >> 16), (uint8_t)(k->ct >> 8),
                          (uint8_t)k->ct};
        struct sm3_ctx work = k->prefix; /* final wipes it */
        sm3_ctx_update(&work, ctb, 4);
        sm3_ctx_final(&work, k->stream);
        k->len = 32;
    }
    k->used = 0;
}

/* out[i] = in[i] ^ t[i] for the next n bytes of key stream t; *nonzero |= t.
 * A run of stream bytes at a time, so that the loop vectorises. */
static ecert_status kdf_xor(struct kdf *k, const uint8_t *in, uint8_t *out, size_t n,
                            uint8_t *nonzero)
{
    size_t i = 0;
    while (i < n) {
        if (k->used == k->len)
            kdf_refill(k, n - i);
        size_t m = k->len - k->used < n - i ? k->len - k->used : n - i;
        const uint8_t *t = k->stream + k->used;
        uint8_t nz = 0;
        for (size_t j = 0; j < m; j++) {
            nz |= t[j];
            out[i + j] = in[i + j] ^ t[j];
        }
        *nonzero |= nz;
        k->used += m;
        i += m;
    }
    return ECERT_OK;
}

/* C3 = SM3(x2 || M || y2) */
static ecert_status c3_compute(const uint8_t x2y2[64], const uint8_t *m, size_t n, uint8_t c3[32])
{
    struct sm3_ctx h;
    sm3_ctx_init(&h);
    sm3_ctx_update(&h, x2y2, 32);
    sm3_ctx_update(&h, m, n);
    sm3_ctx_update(&h, x2y2 + 32, 32);
    sm3_ctx_final(&h, c3);
    return ECERT_OK;
}

static ecert_status point_xy(const struct sm2_curve *c, const EC_POINT *p, BN_CTX *ctx,
                             uint8_t xy[64])
{
    BN_CTX_start(ctx);
    BIGNUM *x = BN_CTX_get(ctx), *y = BN_CTX_get(ctx);
    int ok = y && EC_POINT_get_affine_coordinates(c->group, p, x, y, ctx) &&
             BN_bn2binpad(x, xy, 32) == 32 && BN_bn2binpad(y, xy + 32, 32) == 32;
    BN_CTX_end(ctx);
    return ok ? ECERT_OK : err_set(ECERT_E_CRYPTO, "SM2: point conversion failed");
}

/* ---- encryption ------------------------------------------------------------*/

/* The working set of the OpenSSL engine for one encryption. */
struct ossl_enc {
    BN_CTX *ctx;
    EC_POINT *c1, *s;
    BIGNUM *kk;
};

/* One attempt's points: C1 = kG and S = kP = (x2, y2) for k (fixed or
 * fresh), with the selected engine. *retry is set when a fresh k was 0. */
static ecert_status shared_points(const struct sm2_key *pub, const uint8_t *kk_fixed,
                                  struct ossl_enc *o, uint8_t c1xy[64], uint8_t x2y2[64],
                                  bool *retry)
{
    const struct sm2_curve *c = pub->curve;
    *retry = false;
    if (!o->ctx) {
        uint8_t kb[SM2_SCALAR_LEN];
        ecert_status st = ECERT_OK;
        if (kk_fixed)
            memcpy(kb, kk_fixed, sizeof kb);
        else
            st = sm2_fast_random_scalar(kb);
        if (!st)
            st = sm2_fast_encrypt_points(pub->fpub, kb, c1xy, x2y2);
        secure_wipe(kb, sizeof kb);
        return st;
    }
    if (kk_fixed) {
        if (!BN_bin2bn(kk_fixed, SM2_SCALAR_LEN, o->kk))
            return err_set(ECERT_E_NOMEM, "out of memory");
    } else if (!BN_priv_rand_range(o->kk, c->n)) {
        return err_set(ECERT_E_CRYPTO, "random: the DRBG failed");
    }
    if (BN_is_zero(o->kk)) {
        if (kk_fixed)
            return err_set(ECERT_E_ARG, "SM2: k = 0");
        *retry = true;
        return ECERT_OK;
    }
    if (!EC_POINT_mul(c->group, o->c1, o->kk, NULL, NULL, o->ctx) ||
        !EC_POINT_mul(c->group, o->s, NULL, pub->pub, o->kk, o->ctx))
        return err_set(ECERT_E_CRYPTO, "SM2: scalar multiplication failed");
    ecert_status st = point_xy(c, o->c1, o->ctx, c1xy);
    return st ? st : point_xy(c, o->s, o->ctx, x2y2);
}

static ecert_status encrypt_impl(const struct sm2_key *pub, const uint8_t *msg, size_t len,
                                 const uint8_t *kk_fixed, struct buf *raw)
{
    if (len > SM2_MAX_PLAINTEXT)
        return err_set(ECERT_E_TOO_LONG, "SM2: plaintext of %zu bytes exceeds %u", len,
                       SM2_MAX_PLAINTEXT);
    const struct sm2_curve *c = pub->curve;
    size_t start = raw->len;
    ecert_status st = buf_reserve(raw, SM2_CIPHER_OVERHEAD + len);
    if (st)
        return st;
    struct ossl_enc o = {0};
    uint8_t x2y2[64];
    struct kdf kdf = {0};
    if (!sm2_key_use_fast(pub)) {
        o.ctx = BN_CTX_secure_new();
        o.c1 = EC_POINT_new(c->group), o.s = EC_POINT_new(c->group);
        o.kk = BN_secure_new();
        if (!o.ctx || !o.c1 || !o.s || !o.kk) {
            st = err_set(ECERT_E_NOMEM, "out of memory");
            goto done;
        }
        BN_set_flags(o.kk, BN_FLG_CONSTTIME);
    }
    for (int tries = 0;; tries++) {
        if (tries == 64) {
            st = err_set(ECERT_E_CRYPTO, "SM2 encryption: no usable k");
            goto done;
        }
        raw->len = start;
        uint8_t c1xy[64];
        bool retry;
        if ((st = shared_points(pub, kk_fixed, &o, c1xy, x2y2, &retry)))
            goto done;
        if (retry)
            continue;
        uint8_t *out = raw->data + start;
        out[0] = 0x04;
        memcpy(out + 1, c1xy, 64);
        uint8_t nonzero = 0;
        kdf_release(&kdf);
        if ((st = kdf_init(&kdf, x2y2)) ||
            (st = kdf_xor(&kdf, msg, out + SM2_CIPHER_OVERHEAD, len, &nonzero)))
            goto done;
        /* t all zero: GB/T 32918.4 says pick another k (an empty message has
         * no key stream to check). */
        if (len && !nonzero) {
            if (kk_fixed) {
                st = err_set(ECERT_E_ARG, "SM2: the given k yields an all-zero key stream");
                goto done;
            }
            continue;
        }
        if ((st = c3_compute(x2y2, msg, len, out + 1 + 64)))
            goto done;
        raw->len = start + SM2_CIPHER_OVERHEAD + len;
        raw->data[raw->len] = 0;
        break;
    }
done:
    if (st)
        raw->len = start;
    kdf_release(&kdf);
    secure_wipe(x2y2, sizeof x2y2);
    BN_clear_free(o.kk);
    EC_POINT_free(o.c1);
    EC_POINT_free(o.s);
    BN_CTX_free(o.ctx);
    return st;
}

ecert_status sm2_encrypt(const struct sm2_key *pub, const uint8_t *msg, size_t len,
                         struct buf *raw)
{
    return encrypt_impl(pub, msg, len, NULL, raw);
}

ecert_status sm2_encrypt_with_k(const struct sm2_key *pub, const uint8_t *msg, size_t len,
                                const uint8_t kk[SM2_SCALAR_LEN], struct buf *raw)
{
    return encrypt_impl(pub, msg, len, kk, raw);
}

/* GM/T 0009 SM2Cipher ::= SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING,
 * cipherText OCTET STRING } */
static ecert_status der_encode(const uint8_t *raw, size_t len, struct buf *out)
{
    const uint8_t *x = raw + 1, *y = raw + 33, *c3 = raw + 65, *c2 = raw + 97;
    size_t c2len = len - SM2_CIPHER_OVERHEAD;
    size_t body = der_uint_size(x, 32) + der_uint_size(y, 32) + 1 + der_len_size(32) + 32 + 1 +
                  der_len_size(c2len) + c2len;
    size_t total = 1 + der_len_size(body) + body, off = 0;
    struct buf tmp = BUF_INIT(total + 1);
    ecert_status st = buf_reserve(&tmp, total);
    if (st)
        return st;
    uint8_t *p = tmp.data;
    if ((st = der_put_header(p, total, &off, DER_SEQUENCE, body)) ||
        (st = der_put_uint(p, total, &off, x, 32)) || (st = der_put_uint(p, total, &off, y, 32)) ||
        (st = der_put_header(p, total, &off, DER_OCTET_STRING, 32)))
        goto done;
    memcpy(p + off, c3, 32);
    off += 32;
    if ((st = der_put_header(p, total, &off, DER_OCTET_STRING, c2len)))
        goto done;
    memcpy(p + off, c2, c2len);
    off += c2len;
    tmp.len = off;
    st = buf_reserve(out, BASE64_ENCODED_LEN(off));
    if (!st) {
        out->len += base64_encode(tmp.data, off, (char *)out->data + out->len, 0);
    }
done:
    buf_release(&tmp);
    return st;
}

ecert_status sm2_cipher_encode(const uint8_t *raw, size_t len, ecert_cipher_format fmt,
                               struct buf *text)
{
    if (len < SM2_CIPHER_OVERHEAD || raw[0] != 0x04)
        return err_set(ECERT_E_ARG, "not a raw SM2 ciphertext");
    ecert_status st;
    switch (fmt) {
    case ECERT_CIPHER_HEX:
    case ECERT_CIPHER_HEX04: {
        size_t skip = fmt == ECERT_CIPHER_HEX ? 1 : 0;
        size_t n = len - skip;
        if ((st = buf_reserve(text, 2 * n)))
            return st;
        hex_encode(raw + skip, n, (char *)text->data + text->len);
        text->len += 2 * n;
        return ECERT_OK;
    }
    case ECERT_CIPHER_BASE64:
        if ((st = buf_reserve(text, BASE64_ENCODED_LEN(len))))
            return st;
        text->len += base64_encode(raw, len, (char *)text->data + text->len, 0);
        return ECERT_OK;
    case ECERT_CIPHER_DER:
        return der_encode(raw, len, text);
    }
    return err_set(ECERT_E_ARG, "unknown ciphertext format");
}

ecert_status sm2_encrypt_text(const struct sm2_key *pub, const uint8_t *msg, size_t len,
                              ecert_cipher_format fmt, struct buf *text)
{
    struct buf raw = BUF_INIT(SM2_MAX_PLAINTEXT + SM2_CIPHER_OVERHEAD);
    ecert_status st = sm2_encrypt(pub, msg, len, &raw);
    if (!st)
        st = sm2_cipher_encode(raw.data, raw.len, fmt, text);
    buf_release(&raw);
    return st;
}

/* ---- decryption -----------------------------------------------------------*/

/* One way of reading the input: C1 (x||y) and the rest. For raw layouts the
 * order of C3 and C2 inside `rest` is unknown; for DER both parts are
 * explicit (c3/c2 set) and `alt_c3/alt_c2` hold the swapped reading when the
 * two OCTET STRINGs could be either. */
struct candidate {
    const uint8_t *c1;
    const uint8_t *c3, *c2;         /* the C1||C3||C2 reading */
    const uint8_t *alt_c3, *alt_c2; /* the legacy reading, or NULL */
    size_t c2len;
};

static void candidate_raw(struct candidate *c, const uint8_t *c1, const uint8_t *rest,
                          size_t restlen)
{
    c->c1 = c1;
    c->c2len = restlen - SM2_C3_LEN;
    c->c3 = rest;
    c->c2 = rest + SM2_C3_LEN;
    c->alt_c2 = rest;
    c->alt_c3 = rest + c->c2len;
}

/* Parses GM/T 0009 DER. Some producers write (x, y, C2, C3): when only one
 * OCTET STRING is 32 bytes long it is C3; when both are, both readings are
 * tried (C3 decides). */
static bool parse_der(const uint8_t *p, size_t len, uint8_t c1buf[64], struct candidate *c)
{
    struct der in = {p, len}, seq, ix, iy, o1, o2;
    if (der_expect(&in, DER_SEQUENCE, &seq) || !der_empty(&in) ||
        der_expect(&seq, DER_INTEGER, &ix) || der_expect(&seq, DER_INTEGER, &iy) ||
        der_expect(&seq, DER_OCTET_STRING, &o1) || der_expect(&seq, DER_OCTET_STRING, &o2) ||
        !der_empty(&seq) || der_integer_fixed(&ix, c1buf, 32) ||
        der_integer_fixed(&iy, c1buf + 32, 32))
        return false;
    memset(c, 0, sizeof *c);
    c->c1 = c1buf;
    if (o1.len == SM2_C3_LEN) {
        c->c3 = o1.p, c->c2 = o2.p, c->c2len = o2.len;
        if (o2.len == SM2_C3_LEN)
            c->alt_c3 = o2.p, c->alt_c2 = o1.p;
        return true;
    }
    if (o2.len == SM2_C3_LEN) {
        c->c3 = o2.p, c->c2 = o1.p, c->c2len = o1.len;
        return true;
    }
    return false;
}

/* Tries the readings of one byte string; ECERT_OK with the plaintext, or
 * ECERT_E_DECRYPT. *tried_point reports whether some reading had a C1 on the
 * curve (then its failure is final for this input). */
static ecert_status decrypt_candidate(const struct sm2_key *k, const struct candidate *cand,
                                      int flags, struct buf *plain, bool *tried_point)
{
    const struct sm2_curve *c = k->curve;
    EC_POINT *c1 = NULL, *s = NULL;
    BN_CTX *ctx = NULL;
    struct kdf kdf = {0};
    uint8_t x2y2[64], c3[32];
    size_t start = plain->len;
    bool fast = k->fpriv && sm2_key_use_fast(k);
    ecert_status st;
    if (fast)
        st = sm2_fast_point_valid(cand->c1) ? ECERT_OK
                                            : err_set(ECERT_E_DECRYPT, "point not on the curve");
    else
        st = sm2_point_from_xy(c, cand->c1, &c1);
    if (st)
        return st; /* not on the curve: not this reading */
    *tried_point = true;
    if (cand->c2len > SM2_MAX_PLAINTEXT) {
        st = err_set(ECERT_E_TOO_LONG, "SM2: ciphertext too long");
        goto done;
    }
    if (fast) {
        /* S = d * C1, constant time in d (sm2_fast.c) */
        if ((st = sm2_fast_decrypt_point(k->fpriv, cand->c1, x2y2))) {
            if (st == ECERT_E_DECRYPT)
                st = err_set(ECERT_E_DECRYPT, "point not on the curve");
            goto done;
        }
    } else {
        ctx = BN_CTX_secure_new();
        s = EC_POINT_new(c->group);
        if (!ctx || !s) {
            st = err_set(ECERT_E_NOMEM, "out of memory");
            goto done;
        }
        /* S = d * C1 (single scalar on a prime curve: OpenSSL's constant-time
         * Montgomery ladder). h = 1 for SM2, so there is no small-subgroup
         * step. */
        if (!EC_POINT_mul(c->group, s, NULL, c1, k->d, ctx)) {
            st = err_set(ECERT_E_CRYPTO, "SM2: scalar multiplication failed");
            goto done;
        }
        if ((st = point_xy(c, s, ctx, x2y2)))
            goto done;
    }
    if ((st = buf_reserve(plain, cand->c2len)))
        goto done;
    uint8_t *m = plain->data + start;
    uint8_t nonzero = 0;
    if ((st = kdf_init(&kdf, x2y2)) || (st = kdf_xor(&kdf, cand->c2, m, cand->c2len, &nonzero)) ||
        (st = c3_compute(x2y2, m, cand->c2len, c3)))
        goto done;
    if ((cand->c2len == 0 || nonzero) && secure_equal(c3, cand->c3, SM2_C3_LEN)) {
        plain->len = start + cand->c2len;
        plain->data[plain->len] = 0;
        goto done;
    }
    if (cand->alt_c3 && !(flags & SM2_DECRYPT_STRICT_ORDER)) {
        /* The legacy order: the key stream depends only on (x2, y2) and the
         * length, which both readings share; redo the XOR from the start. */
        kdf_release(&kdf);
        if ((st = kdf_init(&kdf, x2y2)) ||
            (st = kdf_xor(&kdf, cand->alt_c2, m, cand->c2len, &nonzero)) ||
            (st = c3_compute(x2y2, m, cand->c2len, c3)))
            goto done;
        if ((cand->c2len == 0 || nonzero) && secure_equal(c3, cand->alt_c3, SM2_C3_LEN)) {
            plain->len = start + cand->c2len;
            plain->data[plain->len] = 0;
            goto done;
        }
    }
    if (plain->data)
        secure_wipe(plain->data + start, cand->c2len);
    st = err_set(ECERT_E_DECRYPT, "C3 does not match: wrong key or altered ciphertext");
done:
    kdf_release(&kdf);
    secure_wipe(x2y2, sizeof x2y2);
    EC_POINT_free(c1);
    EC_POINT_free(s);
    BN_CTX_free(ctx);
    return st;
}

/* All readings of one byte string, most specific first. */
static ecert_status decrypt_bytes(const struct sm2_key *k, const uint8_t *p, size_t n, int flags,
                                  struct buf *plain, bool *tried_point)
{
    struct candidate cand;
    uint8_t c1buf[64];
    ecert_status st = ECERT_E_DECRYPT;
    if (n >= 2 && p[0] == DER_SEQUENCE && parse_der(p, n, c1buf, &cand)) {
        st = decrypt_candidate(k, &cand, flags, plain, tried_point);
        if (st != ECERT_E_DECRYPT || *tried_point)
            return st;
    }
    /* With 04: C1 = p[1..65). Never strip the 04 blindly: x1 itself may start
     * with 04, so the reading whose C1 lies on the curve wins. */
    if (n >= SM2_CIPHER_OVERHEAD && p[0] == 0x04) {
        candidate_raw(&cand, p + 1, p + 65, n - 65);
        st = decrypt_candidate(k, &cand, flags, plain, tried_point);
        if (st != ECERT_E_DECRYPT || *tried_point)
            return st;
    }
    if (n >= SM2_CIPHER_OVERHEAD - 1) {
        candidate_raw(&cand, p, p + 64, n - 64);
        st = decrypt_candidate(k, &cand, flags, plain, tried_point);
    }
    return st;
}

static bool is_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
            return false;
        else if (p[i] > 0x7e)
            return false;
    return true;
}

ecert_status sm2_decrypt(const struct sm2_key *k, const uint8_t *in, size_t len, int flags,
                         struct buf *plain)
{
    if (!k->has_private)
        return err_set(ECERT_E_ARG, "decryption needs a private key");
    /* Text of the largest plaintext in hex is about twice its size. */
    if (len > 2 * ((size_t)SM2_MAX_PLAINTEXT + SM2_CIPHER_OVERHEAD) + 1024)
        return err_set(ECERT_E_TOO_LONG, "ciphertext of %zu bytes exceeds the limit", len);
    bool tried = false;
    ecert_status st = ECERT_E_DECRYPT;
    struct buf a = BUF_INIT(len), b = BUF_INIT(len);
    if (is_text(in, len)) {
        const char *t = (const char *)in;
        size_t n = len;
        while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t'))
            n--;
        while (n && (t[0] == '\n' || t[0] == '\r' || t[0] == ' ' || t[0] == '\t'))
            t++, n--;
        size_t m = 0;
        /* 1. hex (either case) */
        if (is_hex(t, n) && !buf_reserve(&a, n / 2) &&
            hex_decode(t, n, a.data, n / 2, &m) == ECERT_OK) {
            st = decrypt_bytes(k, a.data, m, flags, plain, &tried);
            if (!st || tried)
                goto done;
        }
        /* 2. base64 of the bytes, or 3. base64 of the hex text */
        if (!buf_reserve(&b, BASE64_DECODED_MAX(n)) &&
            base64_decode(t, n, b.data, BASE64_DECODED_MAX(n), &m, BASE64_SKIP_WS) == ECERT_OK) {
            if (is_hex((const char *)b.data, m)) {
                size_t m2 = 0;
                buf_reset(&a);
                if (!buf_reserve(&a, m / 2) &&
                    hex_decode((const char *)b.data, m, a.data, m / 2, &m2) == ECERT_OK) {
                    st = decrypt_bytes(k, a.data, m2, flags, plain, &tried);
                    if (!st || tried)
                        goto done;
                }
            }
            st = decrypt_bytes(k, b.data, m, flags, plain, &tried);
            if (!st || tried)
                goto done;
        }
    }
    /* 4. the bytes themselves (raw or DER, e.g. from a file) */
    st = decrypt_bytes(k, in, len, flags, plain, &tried);
done:
    buf_release(&a);
    buf_release_secret(&b);
    if (st == ECERT_E_DECRYPT && !tried)
        return err_set(ECERT_E_DECRYPT, "not an SM2 ciphertext in any accepted form "
                                        "(hex, base64, DER; C1 not on the curve or too short)");
    return st;
}
