/*
 * Every SM2 vector of tests/data/vectors/sm2.json (the same file as
 * ../shared/corpus/vectors/sm2.json) through both engines, and for the fast
 * engine through each arithmetic backend: keys derive the published public
 * key, signatures verify (or not, as expected), signing with the published k
 * reproduces r and s, every published ciphertext encoding decrypts, and
 * encrypting with the published k reproduces the ciphertext byte for byte.
 * Vectors on the GM/T 0003 example curve run too: they must keep using the
 * OpenSSL primitives whichever engine is selected.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/codec.h"
#include "crypto/sm2.h"
#include "crypto/sm2_fast.h"
#include "util.h"

static json_t *sm2v;

struct setting {
    enum sm2_engine engine;
    const char *backend; /* fast engine only */
};

static struct setting settings[4];
static size_t nsettings;

static int setup(void **state)
{
    sm2v = util_load_json("vectors/sm2.json");
    settings[nsettings++] = (struct setting){SM2_ENGINE_OPENSSL, NULL};
    settings[nsettings++] = (struct setting){SM2_ENGINE_FAST, "generic"};
    if (sm2_fast_set_backend("x64") == 0)
        settings[nsettings++] = (struct setting){SM2_ENGINE_FAST, "x64"};
    if (sm2_fast_set_backend("x64-avx512") == 0)
        settings[nsettings++] = (struct setting){SM2_ENGINE_FAST, "x64-avx512"};
    return sm2_fast_available() ? 0 : -1;
}

static int teardown(void **state)
{
    json_decref(sm2v);
    sm2_engine_set(SM2_ENGINE_FAST);
    return 0;
}

static void apply(const struct setting *s)
{
    assert_int_equal(sm2_engine_set(s->engine), ECERT_OK);
    if (s->backend)
        assert_int_equal(sm2_fast_set_backend(s->backend), 0);
}

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'F')
            *s += 32;
}

static void assert_hex_eq(const uint8_t *got, size_t n, const char *want_hex)
{
    char *hex = malloc(2 * n + 1), *want = strdup(want_hex);
    assert_non_null(hex);
    assert_non_null(want);
    hex_encode(got, n, hex);
    lower(want);
    assert_string_equal(hex, want);
    free(hex);
    free(want);
}

/* The key of a vector (private or public), on its curve. */
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
        uint8_t *db = util_unhex(d, &n);
        assert_int_equal(n, 32);
        assert_int_equal(sm2_key_from_private(curve, db, &k), ECERT_OK);
        free(db);
        if (json_object_get(v, "public_key")) {
            char hex[131];
            sm2_key_public_hex(k, hex);
            char *want = strdup(util_str(v, "public_key"));
            lower(want);
            assert_string_equal(hex, want);
            free(want);
        }
    } else {
        uint8_t *pb = util_unhex(util_str(v, "public_key"), &n);
        assert_int_equal(n, 65);
        assert_int_equal(sm2_key_from_public(curve, pb + 1, &k), ECERT_OK);
        free(pb);
    }
    return k;
}

static void signature_vectors(const struct setting *s)
{
    json_t *list = json_object_get(sm2v, "signature_vectors");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *id = util_str(v, "id"), *expected = util_str(v, "expected");
        struct sm2_curve *curve;
        struct sm2_key *pub = vector_key(v, 0, &curve);
        size_t ml, il, rl;
        uint8_t *msg = util_unhex(util_str(v, "message_hex"), &ml);
        uint8_t *uid = util_unhex(util_str(v, "user_id_hex"), &il);
        uint8_t *raw = util_unhex(util_str(v, "signature_raw_rs"), &rl);
        uint8_t e[32];
        assert_int_equal(sm2_digest(pub, uid, il, msg, ml, e), ECERT_OK);
        ecert_status st = sm2_verify(pub, uid, il, msg, ml, raw);
        if (strcmp(id, "gbt32918.5-annexA-no-Z") == 0 || strcmp(expected, "valid") == 0)
            assert_int_equal(st, ECERT_OK);
        else
            assert_int_equal(st, ECERT_E_SIGNATURE);
        const char *k = json_string_value(json_object_get(v, "k"));
        if (k && strcmp(expected, "valid") == 0) {
            struct sm2_curve *c2;
            struct sm2_key *priv = vector_key(v, 1, &c2);
            size_t kl;
            uint8_t *kb = util_unhex(k, &kl), sig[64];
            assert_int_equal(sm2_sign_digest_with_k(priv, e, kb, sig), ECERT_OK);
            assert_memory_equal(sig, raw, 64);
            /* a private key verifies too (its public part) */
            assert_int_equal(sm2_verify(priv, uid, il, msg, ml, raw), ECERT_OK);
            assert_int_equal(sm2_sign(priv, uid, il, msg, ml, sig), ECERT_OK);
            assert_int_equal(sm2_verify(pub, uid, il, msg, ml, sig), ECERT_OK);
            free(kb);
            sm2_key_free(priv);
            sm2_curve_free(c2);
        }
        /* every use of the public key after its table exists (fast engine:
         * the 16th use) still verifies */
        for (int r = 0; r < 20 && strcmp(expected, "valid") == 0; r++)
            assert_int_equal(sm2_verify(pub, uid, il, msg, ml, raw), ECERT_OK);
        free(msg), free(uid), free(raw);
        sm2_key_free(pub);
        sm2_curve_free(curve);
    }
}

static const char *const encodings[] = {
    "C1C3C2_hex",
    "C1C2C3_hex",
    "C1C3C2_no04_hex",
    "C1C2C3_no04_hex",
    "C1C3C2_base64",
    "C1C2C3_base64",
    "GMT0009_DER_C1C3C2_hex",
    "GMT0009_DER_C1C3C2_base64",
    "GMT0009_DER_as_published_hex",
};

static void encryption_vectors(const struct setting *s)
{
    json_t *list = json_object_get(sm2v, "encryption_vectors");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *expected = util_str(v, "expected");
        struct sm2_curve *curve;
        struct sm2_key *priv = vector_key(v, 1, &curve);
        if (strcmp(expected, "decrypts") != 0) {
            /* negative vectors fail in strict order; the legacy-order one is
             * recovered by auto-detection, the tampered ones are not */
            const char *text = util_str(v, "C1C3C2_hex");
            bool legacy = strcmp(util_str(v, "id"), "gbt32918.5-annexC-wrong-order") == 0;
            struct buf plain = BUF_INIT(1 << 20);
            assert_int_equal(sm2_decrypt(priv, (const uint8_t *)text, strlen(text),
                                         SM2_DECRYPT_STRICT_ORDER, &plain),
                             ECERT_E_DECRYPT);
            assert_int_equal(plain.len, 0);
            assert_int_equal(sm2_decrypt(priv, (const uint8_t *)text, strlen(text), 0, &plain),
                             legacy ? ECERT_OK : ECERT_E_DECRYPT);
            if (legacy)
                assert_memory_equal(plain.data, "encryption standard", 19);
            else
                assert_int_equal(plain.len, 0);
            buf_release_secret(&plain);
            sm2_key_free(priv);
            sm2_curve_free(curve);
            continue;
        }
        size_t pl;
        uint8_t *pt = util_unhex(util_str(v, "plaintext_hex"), &pl);
        size_t used = 0;
        for (size_t e = 0; e < sizeof encodings / sizeof encodings[0]; e++) {
            const char *text = json_string_value(json_object_get(v, encodings[e]));
            if (!text)
                continue;
            struct buf plain = BUF_INIT(1 << 20);
            ecert_status st = sm2_decrypt(priv, (const uint8_t *)text, strlen(text), 0, &plain);
            if (st != ECERT_OK)
                fail_msg("%s: %s does not decrypt: %s", util_str(v, "id"), encodings[e],
                         ecert_last_error());
            assert_int_equal(plain.len, pl);
            assert_memory_equal(plain.data, pt, pl);
            buf_release_secret(&plain);
            used++;
        }
        assert_true(used >= 8);
        const char *k = json_string_value(json_object_get(v, "k"));
        if (k) {
            struct sm2_curve *c2;
            struct sm2_key *pub = vector_key(v, 0, &c2);
            size_t kl;
            uint8_t *kb = util_unhex(k, &kl);
            /* before and after the key's table exists */
            for (int r = 0; r < 20; r++) {
                struct buf raw = BUF_INIT(1 << 20);
                assert_int_equal(sm2_encrypt_with_k(pub, pt, pl, kb, &raw), ECERT_OK);
                assert_hex_eq(raw.data, raw.len, util_str(v, "C1C3C2_hex"));
                buf_release(&raw);
            }
            free(kb);
            sm2_key_free(pub);
            sm2_curve_free(c2);
        }
        free(pt);
        sm2_key_free(priv);
        sm2_curve_free(curve);
    }
}

static void test_signature_vectors(void **state)
{
    for (size_t i = 0; i < nsettings; i++) {
        apply(&settings[i]);
        signature_vectors(&settings[i]);
    }
}

static void test_encryption_vectors(void **state)
{
    for (size_t i = 0; i < nsettings; i++) {
        apply(&settings[i]);
        encryption_vectors(&settings[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_vectors),
        cmocka_unit_test(test_encryption_vectors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
