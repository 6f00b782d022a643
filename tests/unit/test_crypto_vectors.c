/*
 * Known-answer tests: every vector of tests/data/vectors/{sm2,sm3,sm4}.json,
 * positive and negative, through the crypto module's own entry points.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/codec.h"
#include "crypto/sm2.h"
#include "crypto/sm3.h"
#include "crypto/sm4.h"
#include "util.h"

static json_t *sm2v, *sm3v, *sm4v;

static int load_all(void **state)
{
    sm2v = util_load_json("vectors/sm2.json");
    sm3v = util_load_json("vectors/sm3.json");
    sm4v = util_load_json("vectors/sm4.json");
    return 0;
}

static int free_all(void **state)
{
    json_decref(sm2v);
    json_decref(sm3v);
    json_decref(sm4v);
    return 0;
}

static void assert_hex_eq(const uint8_t *got, size_t n, const char *want_hex)
{
    char hex[4096];
    assert_true(2 * n < sizeof hex);
    hex_encode(got, n, hex);
    char want[4096];
    size_t wl = strlen(want_hex);
    assert_true(wl < sizeof want);
    for (size_t i = 0; i <= wl; i++)
        want[i] = (char)((want_hex[i] >= 'A' && want_hex[i] <= 'F') ? want_hex[i] + 32
                                                                     : want_hex[i]);
    assert_string_equal(hex, want);
}

/* ---- SM3 ------------------------------------------------------------------*/

static void test_sm3_vectors(void **state)
{
    json_t *list = json_object_get(sm3v, "vectors");
    size_t i, count = 0;
    json_t *v;
    json_array_foreach(list, i, v) {
        size_t n;
        uint8_t *in = util_unhex(util_str(v, "input_hex"), &n);
        uint8_t out[SM3_LEN];
        const char *mac = json_string_value(json_object_get(v, "mac"));
        if (mac) {
            size_t kl;
            uint8_t *key = util_unhex(util_str(v, "key_hex"), &kl);
            assert_int_equal(hmac_sm3(key, kl, in, n, out), ECERT_OK);
            assert_hex_eq(out, SM3_LEN, mac);
            free(key);
        } else {
            assert_int_equal(sm3_digest(in, n, out), ECERT_OK);
            assert_hex_eq(out, SM3_LEN, util_str(v, "digest"));
            /* Streaming in uneven pieces gives the same digest. */
            struct sm3 *h;
            assert_int_equal(sm3_new(&h), ECERT_OK);
            for (size_t off = 0; off < n;) {
                size_t k = (off % 7) + 1;
                if (k > n - off)
                    k = n - off;
                assert_int_equal(sm3_update(h, in + off, k), ECERT_OK);
                off += k;
            }
            uint8_t out2[SM3_LEN];
            assert_int_equal(sm3_final(h, out2), ECERT_OK);
            sm3_free(h);
            assert_memory_equal(out, out2, SM3_LEN);
            /* A one-bit change of the input changes the digest. */
            if (n) {
                in[n / 2] ^= 1;
                assert_int_equal(sm3_digest(in, n, out2), ECERT_OK);
                assert_memory_not_equal(out, out2, SM3_LEN);
            }
        }
        free(in);
        count++;
    }
    assert_true(count >= 20);
}

/* ---- SM4 ------------------------------------------------------------------*/

static json_t *find(json_t *list, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (strcmp(util_str(v, "id"), id) == 0)
            return v;
    }
    fail_msg("vector %s missing", id);
    return NULL;
}

static void test_sm4_ecb(void **state)
{
    json_t *v = find(json_object_get(sm4v, "vectors"), "gbt32907-example1");
    size_t n;
    uint8_t *key = util_unhex(util_str(v, "key"), &n);
    uint8_t *pt = util_unhex(util_str(v, "plaintext"), &n);
    uint8_t out[16], back[16];
    assert_int_equal(sm4_ecb_block(key, pt, out, 1), ECERT_OK);
    assert_hex_eq(out, 16, util_str(v, "ciphertext"));
    assert_int_equal(sm4_ecb_block(key, out, back, 0), ECERT_OK);
    assert_memory_equal(back, pt, 16);
    free(key);
    free(pt);
}

/* GB/T 32907 example 2: the block encrypted 1,000,000 times. CBC over zero
 * blocks with IV = P computes exactly E(E(...E(P))): C_i = E(0 ^ C_{i-1}). */
static void test_sm4_million(void **state)
{
    json_t *v = find(json_object_get(sm4v, "vectors"), "gbt32907-example2");
    size_t n;
    uint8_t *key = util_unhex(util_str(v, "key"), &n);
    uint8_t *pt = util_unhex(util_str(v, "plaintext"), &n);
    const size_t blocks = 1000000;
    uint8_t *zeros = calloc(blocks, 16), *out = malloc(blocks * 16 + 16);
    size_t outlen = 0;
    assert_non_null(zeros);
    assert_non_null(out);
    assert_int_equal(sm4_cbc_encrypt(key, pt, zeros, blocks * 16, out, &outlen), ECERT_OK);
    assert_int_equal(outlen, blocks * 16 + 16); /* + one padding block */
    assert_hex_eq(out + (blocks - 1) * 16, 16, util_str(v, "ciphertext"));
    free(zeros);
    free(out);
    free(key);
    free(pt);
}

static void test_sm4_gcm(void **state)
{
    json_t *v = find(json_object_get(sm4v, "vectors"), "rfc8998-A.1-sm4-gcm");
    size_t kl, nl, al, pl, cl, tl;
    uint8_t *key = util_unhex(util_str(v, "key"), &kl);
    uint8_t *nonce = util_unhex(util_str(v, "nonce"), &nl);
    uint8_t *aad = util_unhex(util_str(v, "aad"), &al);
    uint8_t *pt = util_unhex(util_str(v, "plaintext"), &pl);
    uint8_t *ct = util_unhex(util_str(v, "ciphertext"), &cl);
    uint8_t *tag = util_unhex(util_str(v, "tag"), &tl);
    assert_int_equal(nl, 12);
    uint8_t out[256], t[16], back[256];
    assert_int_equal(sm4_gcm_seal(key, nonce, aad, al, pt, pl, out, t), ECERT_OK);
    assert_memory_equal(out, ct, cl);
    assert_memory_equal(t, tag, 16);
    assert_int_equal(sm4_gcm_open(key, nonce, aad, al, ct, cl, tag, back), ECERT_OK);
    assert_memory_equal(back, pt, pl);
    /* Negative: a flipped bit in the ciphertext, the tag or the AAD. */
    ct[3] ^= 0x10;
    assert_int_equal(sm4_gcm_open(key, nonce, aad, al, ct, cl, tag, back), ECERT_E_DECRYPT);
    ct[3] ^= 0x10;
    tag[15] ^= 1;
    assert_int_equal(sm4_gcm_open(key, nonce, aad, al, ct, cl, tag, back), ECERT_E_DECRYPT);
    tag[15] ^= 1;
    aad[0] ^= 1;
    assert_int_equal(sm4_gcm_open(key, nonce, aad, al, ct, cl, tag, back), ECERT_E_DECRYPT);
    free(key), free(nonce), free(aad), free(pt), free(ct), free(tag);
}

static void test_sm4_cbc_ctr_roundtrip(void **state)
{
    uint8_t key[16] = {1, 2, 3}, iv[16] = {9}, in[100], out[116], back[116];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)i;
    for (size_t len = 0; len <= sizeof in; len += 11) {
        size_t ol = 0, bl = 0;
        assert_int_equal(sm4_cbc_encrypt(key, iv, in, len, out, &ol), ECERT_OK);
        assert_int_equal(ol, (len / 16 + 1) * 16);
        assert_int_equal(sm4_cbc_decrypt(key, iv, out, ol, back, &bl), ECERT_OK);
        assert_int_equal(bl, len);
        assert_memory_equal(back, in, len);
        assert_int_equal(sm4_ctr(key, iv, in, len, out), ECERT_OK);
        assert_int_equal(sm4_ctr(key, iv, out, len, back), ECERT_OK);
        assert_memory_equal(back, in, len);
    }
    size_t bl;
    assert_int_equal(sm4_cbc_decrypt(key, iv, out, 15, back, &bl), ECERT_E_DECRYPT);
}

/* ---- SM2 signatures -------------------------------------------------------*/

/* The key of a vector: on sm2p256v1 through the normal parser, on the example
 * curve through an explicit curve. *curve_out receives a curve to free. */
static struct sm2_key *vector_key(json_t *v, int private, struct sm2_curve **curve_out)
{
    const char *cname = util_str(v, "curve");
    struct sm2_curve *curve = NULL;
    struct sm2_key *k = NULL;
    if (strcmp(cname, "sm2p256v1") != 0) {
        json_t *c = json_object_get(json_object_get(sm2v, "curves"), cname);
        assert_non_null(c);
        assert_int_equal(sm2_curve_new(util_str(c, "p"), util_str(c, "a"), util_str(c, "b"),
                                       util_str(c, "n"), util_str(c, "gx"), util_str(c, "gy"),
                                       &curve),
                         ECERT_OK);
    }
    *curve_out = curve;
    size_t n;
    if (private) {
        const char *d = util_str(v, "private_key");
        if (!curve) {
            assert_int_equal(sm2_key_parse_private(d, strlen(d), &k), ECERT_OK);
        } else {
            uint8_t *db = util_unhex(d, &n);
            assert_int_equal(sm2_key_from_private(curve, db, &k), ECERT_OK);
            free(db);
        }
        /* The derived public key is the vector's. */
        if (json_object_get(v, "public_key")) {
            char hex[131];
            sm2_key_public_hex(k, hex);
            assert_string_equal(hex, util_str(v, "public_key"));
        }
    } else {
        const char *p = util_str(v, "public_key");
        if (!curve) {
            assert_int_equal(sm2_key_parse_public(p, strlen(p), &k), ECERT_OK);
        } else {
            uint8_t *pb = util_unhex(p, &n);
            assert_int_equal(n, 65);
            assert_int_equal(sm2_key_from_public(curve, pb + 1, &k), ECERT_OK);
            free(pb);
        }
    }
    return k;
}

static void test_sm2_signature_vectors(void **state)
{
    json_t *list = json_object_get(sm2v, "signature_vectors");
    size_t i, count = 0;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *id = util_str(v, "id");
        const char *expected = util_str(v, "expected");
        struct sm2_curve *curve;
        struct sm2_key *pub = vector_key(v, 0, &curve);
        size_t ml, il, rl, dl;
        uint8_t *msg = util_unhex(util_str(v, "message_hex"), &ml);
        uint8_t *uid = util_unhex(util_str(v, "user_id_hex"), &il);
        uint8_t *raw = util_unhex(util_str(v, "signature_raw_rs"), &rl);
        uint8_t *der = util_unhex(util_str(v, "signature_der"), &dl);
        assert_int_equal(rl, 64);
        uint8_t z[32], e[32], rs[64];

        /* Z for the vector's user ID. */
        assert_int_equal(sm2_z(pub, uid, il, z), ECERT_OK);
        assert_hex_eq(z, 32, util_str(v, "Z"));
        assert_int_equal(sm2_digest(pub, uid, il, msg, ml, e), ECERT_OK);
        if (json_string_value(json_object_get(v, "e")))
            assert_hex_eq(e, 32, util_str(v, "e"));

        /* DER and raw decode to the same (r, s). */
        assert_int_equal(sm2_sig_decode_bytes(der, dl, rs), ECERT_OK);
        assert_memory_equal(rs, raw, 64);
        assert_int_equal(sm2_sig_decode_bytes(raw, rl, rs), ECERT_OK);
        uint8_t der2[SM2_SIG_DER_MAX];
        size_t d2 = sm2_sig_to_der(rs, der2);
        assert_int_equal(d2, dl);
        assert_memory_equal(der2, der, dl);

        ecert_status st = sm2_verify(pub, uid, il, msg, ml, rs);
        if (strcmp(id, "gbt32918.5-annexA-no-Z") == 0) {
            /* Valid with Z; a verifier that hashes M alone must reject it. */
            assert_int_equal(st, ECERT_OK);
            uint8_t e_noz[32];
            assert_int_equal(sm3_digest(msg, ml, e_noz), ECERT_OK);
            assert_int_equal(sm2_verify_digest(pub, e_noz, rs), ECERT_E_SIGNATURE);
        } else if (strcmp(expected, "valid") == 0) {
            assert_int_equal(st, ECERT_OK);
        } else {
            assert_string_equal(expected, "invalid");
            assert_int_equal(st, ECERT_E_SIGNATURE);
        }

        /* With k known, signing reproduces (r, s) exactly. */
        const char *k = json_string_value(json_object_get(v, "k"));
        if (k && strcmp(expected, "valid") == 0) {
            struct sm2_curve *c2;
            struct sm2_key *priv = vector_key(v, 1, &c2);
            size_t kl;
            uint8_t *kb = util_unhex(k, &kl);
            uint8_t sig[64];
            assert_int_equal(sm2_sign_digest_with_k(priv, e, kb, sig), ECERT_OK);
            assert_memory_equal(sig, raw, 64);
            /* And a fresh random signature verifies under the same key. */
            assert_int_equal(sm2_sign(priv, uid, il, msg, ml, sig), ECERT_OK);
            assert_int_equal(sm2_verify(pub, uid, il, msg, ml, sig), ECERT_OK);
            free(kb);
            sm2_key_free(priv);
            sm2_curve_free(c2);
        }
        free(msg), free(uid), free(raw), free(der);
        sm2_key_free(pub);
        sm2_curve_free(curve);
        count++;
    }
    assert_int_equal(count, json_array_size(list));
    assert_true(count >= 6);
}

/* ---- SM2 encryption -------------------------------------------------------*/

static void decrypt_expect(struct sm2_key *k, const char *text, int flags, const uint8_t *want,
                           size_t wl)
{
    struct buf plain = BUF_INIT(1 << 20);
    ecert_status st = sm2_decrypt(k, (const uint8_t *)text, strlen(text), flags, &plain);
    if (st != ECERT_OK)
        fail_msg("decrypt of %.30s... failed: %s", text, ecert_last_error());
    assert_int_equal(plain.len, wl);
    assert_memory_equal(plain.data, want, wl);
    buf_release(&plain);
}

static const char *const encodings[] = {
    "C1C3C2_hex",     "C1C2C3_hex",     "C1C3C2_no04_hex",          "C1C2C3_no04_hex",
    "C1C3C2_base64",  "C1C2C3_base64",  "GMT0009_DER_C1C3C2_hex",   "GMT0009_DER_C1C3C2_base64",
    "GMT0009_DER_as_published_hex",
};

static void test_sm2_encryption_vectors(void **state)
{
    json_t *list = json_object_get(sm2v, "encryption_vectors");
    size_t i, count = 0;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *id = util_str(v, "id");
        const char *expected = util_str(v, "expected");
        struct sm2_curve *curve;
        struct sm2_key *priv = vector_key(v, 1, &curve);
        if (strcmp(expected, "decrypts") == 0) {
            size_t pl;
            uint8_t *pt = util_unhex(util_str(v, "plaintext_hex"), &pl);
            size_t used = 0;
            for (size_t e = 0; e < sizeof encodings / sizeof encodings[0]; e++) {
                const char *text = json_string_value(json_object_get(v, encodings[e]));
                if (!text)
                    continue;
                decrypt_expect(priv, text, 0, pt, pl);
                /* Uppercase hex and base64 of the hex text are accepted too. */
                if (is_hex(text, strlen(text))) {
                    char *up = strdup(text);
                    for (char *p = up; *p; p++)
                        if (*p >= 'a' && *p <= 'f')
                            *p -= 32;
                    decrypt_expect(priv, up, 0, pt, pl);
                    char *b64 = malloc(BASE64_ENCODED_LEN(strlen(up)) + 1);
                    base64_encode((const uint8_t *)up, strlen(up), b64, 0);
                    decrypt_expect(priv, b64, 0, pt, pl);
                    free(b64);
                    free(up);
                }
                used++;
            }
            assert_true(used >= 8);
            /* In strict order, the C1C2C3 forms fail and C1C3C2 ones pass. */
            struct buf plain = BUF_INIT(1 << 20);
            const char *legacy = util_str(v, "C1C2C3_hex");
            assert_int_equal(sm2_decrypt(priv, (const uint8_t *)legacy, strlen(legacy),
                                         SM2_DECRYPT_STRICT_ORDER, &plain),
                             ECERT_E_DECRYPT);
            decrypt_expect(priv, util_str(v, "C1C3C2_hex"), SM2_DECRYPT_STRICT_ORDER, pt, pl);
            buf_release(&plain);
            /* With k known, encryption reproduces the ciphertext exactly. */
            const char *k = json_string_value(json_object_get(v, "k"));
            if (k) {
                struct sm2_curve *c2;
                struct sm2_key *pub = vector_key(v, 0, &c2);
                size_t kl;
                uint8_t *kb = util_unhex(k, &kl);
                struct buf raw = BUF_INIT(1 << 20);
                assert_int_equal(sm2_encrypt_with_k(pub, pt, pl, kb, &raw), ECERT_OK);
                assert_hex_eq(raw.data, raw.len, util_str(v, "C1C3C2_hex"));
                if (!c2) {
                    /* The canonical text forms, byte for byte. */
                    struct buf t = BUF_INIT(1 << 20);
                    assert_int_equal(sm2_cipher_encode(raw.data, raw.len, ECERT_CIPHER_HEX, &t),
                                     ECERT_OK);
                    assert_string_equal((char *)t.data, util_str(v, "C1C3C2_no04_hex"));
                    buf_reset(&t);
                    assert_int_equal(
                        sm2_cipher_encode(raw.data, raw.len, ECERT_CIPHER_BASE64, &t), ECERT_OK);
                    assert_string_equal((char *)t.data, util_str(v, "C1C3C2_base64"));
                    buf_reset(&t);
                    assert_int_equal(sm2_cipher_encode(raw.data, raw.len, ECERT_CIPHER_DER, &t),
                                     ECERT_OK);
                    assert_string_equal((char *)t.data, util_str(v, "GMT0009_DER_C1C3C2_base64"));
                    buf_release(&t);
                }
                buf_release(&raw);
                free(kb);
                sm2_key_free(pub);
                sm2_curve_free(c2);
            }
            free(pt);
        } else {
            const char *text = util_str(v, "C1C3C2_hex");
            struct buf plain = BUF_INIT(1 << 20);
            if (strcmp(id, "gbt32918.5-annexC-wrong-order") == 0) {
                /* A strict C1||C3||C2 decoder fails; auto-detection recovers
                 * it as the legacy order. */
                assert_int_equal(sm2_decrypt(priv, (const uint8_t *)text, strlen(text),
                                             SM2_DECRYPT_STRICT_ORDER, &plain),
                                 ECERT_E_DECRYPT);
                assert_int_equal(
                    sm2_decrypt(priv, (const uint8_t *)text, strlen(text), 0, &plain), ECERT_OK);
                assert_memory_equal(plain.data, "encryption standard", 19);
            } else {
                assert_int_equal(
                    sm2_decrypt(priv, (const uint8_t *)text, strlen(text), 0, &plain),
                    ECERT_E_DECRYPT);
                assert_int_equal(sm2_decrypt(priv, (const uint8_t *)text, strlen(text),
                                             SM2_DECRYPT_STRICT_ORDER, &plain),
                                 ECERT_E_DECRYPT);
                assert_int_equal(plain.len, 0);
            }
            buf_release(&plain);
        }
        sm2_key_free(priv);
        sm2_curve_free(curve);
        count++;
    }
    assert_int_equal(count, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sm3_vectors),
        cmocka_unit_test(test_sm4_ecb),
        cmocka_unit_test(test_sm4_million),
        cmocka_unit_test(test_sm4_gcm),
        cmocka_unit_test(test_sm4_cbc_ctr_roundtrip),
        cmocka_unit_test(test_sm2_signature_vectors),
        cmocka_unit_test(test_sm2_encryption_vectors),
    };
    return cmocka_run_group_tests(tests, load_all, free_all);
}
