/*
 * The public SDK, used the way an integrator uses it: only <ecert/ecert.h>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ecert/ecert.h>

static const char *D_HEX = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
static const char *P_HEX = "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
                           "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";

static void test_keys(void **state)
{
    ecert_key *k = NULL, *p = NULL;
    assert_int_equal(ecert_key_generate(&k), ECERT_OK);
    assert_non_null(k);
    assert_true(ecert_key_has_private(k));
    char pub[131], priv[65];
    ecert_key_public_hex(k, pub);
    assert_int_equal(strlen(pub), 130);
    assert_memory_equal(pub, "04", 2);
    assert_int_equal(ecert_key_private_hex(k, priv), ECERT_OK);
    assert_int_equal(strlen(priv), 64);
    ecert_key_free(k);

    assert_int_equal(ecert_key_parse_private(D_HEX, strlen(D_HEX), &k), ECERT_OK);
    ecert_key_public_hex(k, pub);
    assert_string_equal(pub, P_HEX);
    assert_int_equal(ecert_key_parse_public(P_HEX, strlen(P_HEX), &p), ECERT_OK);
    assert_false(ecert_key_has_private(p));
    assert_int_equal(ecert_key_private_hex(p, priv), ECERT_E_ARG);
    ecert_key_free(k);
    ecert_key_free(p);

    assert_int_equal(ecert_key_parse_public("04zz", 4, &p), ECERT_E_MALFORMED);
    assert_true(strlen(ecert_last_error()) > 0);
    assert_int_equal(ecert_key_parse_private(NULL, 0, &k), ECERT_E_ARG);
    ecert_key_free(NULL);
}

static void test_sign_verify(void **state)
{
    ecert_key *k = NULL, *p = NULL;
    assert_int_equal(ecert_key_parse_private(D_HEX, strlen(D_HEX), &k), ECERT_OK);
    assert_int_equal(ecert_key_parse_public(P_HEX, strlen(P_HEX), &p), ECERT_OK);
    const char *msg = "appId\n1764345600123\nnonce\ncipher";
    for (int raw = 0; raw <= 1; raw++) {
        char *sig = NULL;
        assert_int_equal(ecert_sm2_sign(k, NULL, msg, strlen(msg), raw, &sig), ECERT_OK);
        if (raw)
            assert_int_equal(strlen(sig), 128);
        assert_int_equal(ecert_sm2_verify(p, NULL, msg, strlen(msg), sig, strlen(sig)), ECERT_OK);
        assert_int_equal(ecert_sm2_verify(p, NULL, msg, strlen(msg) - 1, sig, strlen(sig)),
                         ECERT_E_SIGNATURE);
        assert_int_equal(ecert_sm2_verify(p, "other-id", msg, strlen(msg), sig, strlen(sig)),
                         ECERT_E_SIGNATURE);
        ecert_free(sig);
    }
    assert_int_equal(ecert_sm2_verify(p, NULL, msg, strlen(msg), "@@", 2), ECERT_E_MALFORMED);
    /* The GB/T 32918.5 Annex A signature, default ID. */
    const char *annex_a = "3046022100f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eac"
                          "eee720b3022100b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69"
                          "c485bbc1aa";
    assert_int_equal(ecert_sm2_verify(p, NULL, "message digest", 14, annex_a, strlen(annex_a)),
                     ECERT_OK);
    ecert_key_free(k);
    ecert_key_free(p);
}

static void test_encrypt_decrypt(void **state)
{
    ecert_key *k = NULL, *p = NULL;
    assert_int_equal(ecert_key_generate(&k), ECERT_OK);
    char pub[131];
    ecert_key_public_hex(k, pub);
    assert_int_equal(ecert_key_parse_public(pub, strlen(pub), &p), ECERT_OK);
    const char *msg = "{\"CertificateID\":\"1.2.156.3005.2.11100000000013338W032."
                      "11220000013544541J.2430599.001.F\"}";
    for (int f = ECERT_CIPHER_HEX; f <= ECERT_CIPHER_DER; f++) {
        char *ct = NULL;
        size_t cl = 0;
        assert_int_equal(ecert_sm2_encrypt(p, msg, strlen(msg), (ecert_cipher_format)f, &ct, &cl),
                         ECERT_OK);
        assert_int_equal(strlen(ct), cl);
        unsigned char *pt = NULL;
        size_t pl = 0;
        assert_int_equal(ecert_sm2_decrypt(k, ct, cl, &pt, &pl), ECERT_OK);
        assert_int_equal(pl, strlen(msg));
        assert_string_equal((char *)pt, msg); /* NUL-terminated for convenience */
        ecert_free(pt);
        /* A public key cannot decrypt. */
        assert_int_equal(ecert_sm2_decrypt(p, ct, cl, &pt, &pl), ECERT_E_ARG);
        ecert_free(ct);
    }
    unsigned char *pt = NULL;
    size_t pl;
    assert_int_equal(ecert_sm2_decrypt(k, "00", 2, &pt, &pl), ECERT_E_DECRYPT);
    ecert_key_free(k);
    ecert_key_free(p);
}

static void test_sm3_and_status(void **state)
{
    unsigned char d[ECERT_SM3_LEN];
    assert_int_equal(ecert_sm3("abc", 3, d), ECERT_OK);
    assert_int_equal(d[0], 0x66);
    assert_int_equal(d[31], 0xe0);
    assert_int_equal(ecert_sm3(NULL, 0, d), ECERT_OK);
    assert_int_equal(ecert_sm3(NULL, 1, d), ECERT_E_ARG);
    assert_string_equal(ecert_strerror(ECERT_E_DECRYPT), "cannot decrypt encryptData");
    assert_int_equal(ecert_status_http(ECERT_E_TIMEOUT), 504);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_encrypt_decrypt),
        cmocka_unit_test(test_sm3_and_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
