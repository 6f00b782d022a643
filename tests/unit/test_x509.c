/*
 * The development PKI: P-256 TLS certificates (parsed back and verified with
 * OpenSSL's chain verifier, host and IP checks included) and SM2 app
 * certificates (verified against their CA with the explicit user ID, refused
 * under another CA, after tampering and outside their validity), plus
 * cross-checks of the SM2 signature with the project's own SM2 code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/buf.h"
#include "crypto/sm2.h"
#include "crypto/x509.h"

#define PEM_CAP (64u * 1024)

static const char *const LOCAL_DNS[] = {"localhost", NULL};
static const char *const LOCAL_IPS[] = {"127.0.0.1", "::1", NULL};

static X509 *pem_x509(const struct buf *b)
{
    BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
    assert_non_null(bio);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *pem_key(const struct buf *b)
{
    BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
    assert_non_null(bio);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(k);
    return k;
}

static void x509_to_buf(X509 *x, struct buf *out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_true(PEM_write_bio_X509(bio, x));
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    assert_true(n > 0);
    buf_reset(out);
    assert_int_equal(buf_append(out, data, (size_t)n), ECERT_OK);
    BIO_free(bio);
}

/* X509_verify_cert of `leaf` against the single trust anchor `ca`, checking
 * the TLS server purpose and, when given, a host name or an IP. */
static int verify_tls(X509 *ca, X509 *leaf, const char *host, const char *ip)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_non_null(store);
    assert_non_null(ctx);
    assert_true(X509_STORE_add_cert(store, ca));
    assert_true(X509_STORE_CTX_init(ctx, store, leaf, NULL));
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    assert_true(X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER));
    if (host)
        assert_true(X509_VERIFY_PARAM_set1_host(param, host, 0));
    if (ip)
        assert_true(X509_VERIFY_PARAM_set1_ip_asc(param, ip));
    int ok = X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return ok;
}

/* ---- TLS ------------------------------------------------------------------ */

static void test_tls_chain(void **state)
{
    struct buf ca_pem = BUF_INIT(PEM_CAP), ca_key = BUF_INIT(PEM_CAP);
    struct buf srv_pem = BUF_INIT(PEM_CAP), srv_key = BUF_INIT(PEM_CAP);
    assert_int_equal(x509_tls_ca_new("ecert dev TLS CA", 3650, &ca_pem, &ca_key), ECERT_OK);
    assert_non_null(strstr((char *)ca_pem.data, "-----BEGIN CERTIFICATE-----"));
    assert_non_null(strstr((char *)ca_key.data, "-----BEGIN PRIVATE KEY-----"));
    assert_int_equal(x509_tls_server_new((char *)ca_pem.data, ca_pem.len, (char *)ca_key.data,
                                         ca_key.len, NULL, LOCAL_DNS, LOCAL_IPS, 825, &srv_pem,
                                         &srv_key),
                     ECERT_OK);

    struct x509_info info;
    assert_int_equal(x509_info((char *)ca_pem.data, ca_pem.len, &info), ECERT_OK);
    assert_string_equal(info.subject_cn, "ecert dev TLS CA");
    assert_string_equal(info.issuer_cn, "ecert dev TLS CA");
    assert_string_equal(info.key_type, "prime256v1");
    assert_string_equal(info.sig_alg, "ecdsa-with-SHA256");
    assert_true(info.is_ca);
    assert_int_equal(strlen(info.public_key_hex), 130);
    assert_true(info.not_after - info.not_before >= 3650 * 86400);
    assert_true(info.not_before <= (int64_t)time(NULL));

    assert_int_equal(x509_info((char *)srv_pem.data, srv_pem.len, &info), ECERT_OK);
    assert_string_equal(info.subject_cn, "localhost"); /* first DNS name */
    assert_string_equal(info.issuer_cn, "ecert dev TLS CA");
    assert_false(info.is_ca);
    assert_true(strlen(info.serial_hex) >= 2 && strlen(info.serial_hex) <= 34);

    X509 *ca = pem_x509(&ca_pem), *leaf = pem_x509(&srv_pem);
    EVP_PKEY *ca_k = pem_key(&ca_key), *leaf_k = pem_key(&srv_key);
    assert_int_equal(X509_check_private_key(ca, ca_k), 1);
    assert_int_equal(X509_check_private_key(leaf, leaf_k), 1);
    assert_true(EVP_PKEY_is_a(leaf_k, "EC"));
    /* Extended key usage and SAN are what a TLS client checks. */
    assert_true(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER);
    assert_int_equal(verify_tls(ca, leaf, NULL, NULL), 1);
    assert_int_equal(verify_tls(ca, leaf, "localhost", NULL), 1);
    assert_int_equal(verify_tls(ca, leaf, NULL, "127.0.0.1"), 1);
    assert_int_equal(verify_tls(ca, leaf, NULL, "::1"), 1);
    assert_int_equal(verify_tls(ca, leaf, "example.com", NULL), 0);
    assert_int_equal(verify_tls(ca, leaf, NULL, "10.0.0.1"), 0);

    /* Another CA (even with the same name) is not trusted for this leaf. */
    struct buf ca2_pem = BUF_INIT(PEM_CAP), ca2_key = BUF_INIT(PEM_CAP);
    assert_int_equal(x509_tls_ca_new("ecert dev TLS CA", 30, &ca2_pem, &ca2_key), ECERT_OK);
    X509 *ca2 = pem_x509(&ca2_pem);
    assert_int_equal(verify_tls(ca2, leaf, NULL, NULL), 0);
    /* Serials are random: two CAs never share one. */
    struct x509_info info2;
    assert_int_equal(x509_info((char *)ca_pem.data, ca_pem.len, &info), ECERT_OK);
    assert_int_equal(x509_info((char *)ca2_pem.data, ca2_pem.len, &info2), ECERT_OK);
    assert_string_not_equal(info.serial_hex, info2.serial_hex);

    X509_free(ca), X509_free(leaf), X509_free(ca2);
    EVP_PKEY_free(ca_k), EVP_PKEY_free(leaf_k);
    buf_release(&ca_pem), buf_release_secret(&ca_key);
    buf_release(&ca2_pem), buf_release_secret(&ca2_key);
    buf_release(&srv_pem), buf_release_secret(&srv_key);
}

static void test_tls_refusals(void **state)
{
    struct buf ca_pem = BUF_INIT(PEM_CAP), ca_key = BUF_INIT(PEM_CAP);
    struct buf ca2_pem = BUF_INIT(PEM_CAP), ca2_key = BUF_INIT(PEM_CAP);
    struct buf out = BUF_INIT(PEM_CAP), key = BUF_INIT(PEM_CAP);
    assert_int_equal(x509_tls_ca_new("CA one", 10, &ca_pem, &ca_key), ECERT_OK);
    assert_int_equal(x509_tls_ca_new("CA two", 10, &ca2_pem, &ca2_key), ECERT_OK);
    const char *cp = (char *)ca_pem.data, *kp = (char *)ca_key.data;

    assert_int_equal(x509_tls_ca_new("x", 0, &out, &key), ECERT_E_ARG);
    assert_int_equal(x509_tls_ca_new("x", X509_DAYS_MAX + 1, &out, &key), ECERT_E_ARG);
    assert_int_equal(x509_tls_ca_new("", 10, &out, &key), ECERT_E_MALFORMED);

    static const char *const bad_dns[][2] = {{"a..b", NULL},       {"-a.example", NULL},
                                             {"a-.example", NULL}, {"a b", NULL},
                                             {"a,DNS:evil", NULL}, {"", NULL}};
    for (size_t i = 0; i < sizeof bad_dns / sizeof bad_dns[0]; i++)
        assert_int_equal(x509_tls_server_new(cp, ca_pem.len, kp, ca_key.len, "n", bad_dns[i], NULL,
                                             10, &out, &key),
                         ECERT_E_MALFORMED);
    static const char *const bad_ip[][2] = {
        {"300.1.1.1", NULL}, {"localhost", NULL}, {"1.2.3", NULL}};
    for (size_t i = 0; i < sizeof bad_ip / sizeof bad_ip[0]; i++)
        assert_int_equal(x509_tls_server_new(cp, ca_pem.len, kp, ca_key.len, "n", NULL, bad_ip[i],
                                             10, &out, &key),
                         ECERT_E_MALFORMED);
    /* No names at all. */
    assert_int_equal(
        x509_tls_server_new(cp, ca_pem.len, kp, ca_key.len, NULL, NULL, NULL, 10, &out, &key),
        ECERT_E_ARG);
    /* A wildcard is a valid DNS name. */
    static const char *const wild[] = {"*.ecert.test", NULL};
    assert_int_equal(
        x509_tls_server_new(cp, ca_pem.len, kp, ca_key.len, NULL, wild, NULL, 10, &out, &key),
        ECERT_OK);
    buf_reset(&out), buf_reset(&key);
    /* The CA key of another CA. */
    assert_int_equal(x509_tls_server_new(cp, ca_pem.len, (char *)ca2_key.data, ca2_key.len, NULL,
                                         LOCAL_DNS, NULL, 10, &out, &key),
                     ECERT_E_MALFORMED);
    /* Not PEM. */
    assert_int_equal(
        x509_tls_server_new("junk", 4, kp, ca_key.len, NULL, LOCAL_DNS, NULL, 10, &out, &key),
        ECERT_E_MALFORMED);
    assert_int_equal(
        x509_tls_server_new(cp, ca_pem.len, "junk", 4, NULL, LOCAL_DNS, NULL, 10, &out, &key),
        ECERT_E_MALFORMED);
    /* Failures leave the outputs as they were. */
    assert_int_equal(out.len, 0);
    assert_int_equal(key.len, 0);

    /* The pre-flight check a server runs on its certificate and key. */
    assert_int_equal(x509_tls_check_pair(cp, ca_pem.len, kp, ca_key.len), ECERT_OK);
    assert_int_equal(x509_tls_check_pair(cp, ca_pem.len, (char *)ca2_key.data, ca2_key.len),
                     ECERT_E_MALFORMED);
    assert_int_equal(x509_tls_check_pair(kp, ca_key.len, kp, ca_key.len), ECERT_E_MALFORMED);
    assert_int_equal(x509_tls_check_pair(cp, ca_pem.len, cp, ca_pem.len), ECERT_E_MALFORMED);

    struct x509_info info;
    assert_int_equal(x509_info("junk", 4, &info), ECERT_E_MALFORMED);
    assert_int_equal(x509_info(cp, 0, &info), ECERT_E_MALFORMED);
    assert_int_equal(x509_info(cp, X509_PEM_MAX + 1, &info), ECERT_E_TOO_LONG);
    /* A key is not a certificate. */
    assert_int_equal(x509_info(kp, ca_key.len, &info), ECERT_E_MALFORMED);

    buf_release(&ca_pem), buf_release_secret(&ca_key);
    buf_release(&ca2_pem), buf_release_secret(&ca2_key);
    buf_release(&out), buf_release_secret(&key);
}

/* ---- SM2 ------------------------------------------------------------------ */

struct sm2_fixture {
    struct sm2_key *ca_key, *app_key;
    struct buf ca_pem, app_pem;
};

static const struct x509_app_subject APP = {
    .app_id = "A3100001",
    .corp_name = "上海市某某区政务服务中心",
    .corp_code = "11310000MB2F0123XA",
};

static int sm2_setup(void **state)
{
    struct sm2_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    buf_init(&f->ca_pem, PEM_CAP);
    buf_init(&f->app_pem, PEM_CAP);
    assert_int_equal(sm2_key_generate(&f->ca_key), ECERT_OK);
    assert_int_equal(sm2_key_generate(&f->app_key), ECERT_OK);
    assert_int_equal(x509_sm2_ca_new(f->ca_key, "YRD-TRUST SM2 CA", 3650, &f->ca_pem), ECERT_OK);
    assert_int_equal(x509_sm2_app_new((char *)f->ca_pem.data, f->ca_pem.len, f->ca_key, &APP,
                                      f->app_key, 365, &f->app_pem),
                     ECERT_OK);
    *state = f;
    return 0;
}

static int sm2_teardown(void **state)
{
    struct sm2_fixture *f = *state;
    sm2_key_free(f->ca_key);
    sm2_key_free(f->app_key);
    buf_release(&f->ca_pem);
    buf_release(&f->app_pem);
    free(f);
    return 0;
}

static void test_sm2_parse_back(void **state)
{
    struct sm2_fixture *f = *state;
    struct x509_info info;
    assert_int_equal(x509_info((char *)f->ca_pem.data, f->ca_pem.len, &info), ECERT_OK);
    assert_string_equal(info.subject_cn, "YRD-TRUST SM2 CA");
    assert_string_equal(info.key_type, "SM2");
    assert_string_equal(info.sig_alg, "SM2-with-SM3");
    assert_true(info.is_ca);
    char hex[131];
    sm2_key_public_hex(f->ca_key, hex);
    assert_string_equal(info.public_key_hex, hex);

    assert_int_equal(x509_info((char *)f->app_pem.data, f->app_pem.len, &info), ECERT_OK);
    assert_string_equal(info.subject_cn, APP.app_id);
    assert_string_equal(info.subject_o, APP.corp_name);
    assert_string_equal(info.subject_org_id, APP.corp_code);
    assert_string_equal(info.issuer_cn, "YRD-TRUST SM2 CA");
    assert_string_equal(info.key_type, "SM2");
    assert_string_equal(info.sig_alg, "SM2-with-SM3");
    assert_false(info.is_ca);
    sm2_key_public_hex(f->app_key, hex);
    assert_string_equal(info.public_key_hex, hex);
    int64_t days = (info.not_after - info.not_before) / 86400;
    assert_int_equal(days, 365); /* 365 days + the 5 minutes of skew */

    /* The signature algorithm OID on the wire is 1.2.156.10197.1.501. */
    X509 *x = pem_x509(&f->app_pem);
    char oid[64];
    const X509_ALGOR *alg = NULL;
    X509_get0_signature(NULL, &alg, x);
    const ASN1_OBJECT *obj = NULL;
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    OBJ_obj2txt(oid, sizeof oid, obj, 1);
    assert_string_equal(oid, "1.2.156.10197.1.501");
    X509_free(x);

    struct sm2_key *pub = NULL;
    assert_int_equal(x509_sm2_public_key((char *)f->app_pem.data, f->app_pem.len, &pub), ECERT_OK);
    assert_memory_equal(sm2_key_public_xy(pub), sm2_key_public_xy(f->app_key), SM2_POINT_LEN);
    assert_false(sm2_key_has_private(pub));
    sm2_key_free(pub);
}

static void test_sm2_verify(void **state)
{
    struct sm2_fixture *f = *state;
    const char *ca = (char *)f->ca_pem.data, *app = (char *)f->app_pem.data;
    assert_int_equal(x509_sm2_verify(app, f->app_pem.len, ca, f->ca_pem.len, 0), ECERT_OK);
    /* The CA is self-signed with the same ID. */
    assert_int_equal(x509_sm2_verify(ca, f->ca_pem.len, ca, f->ca_pem.len, 0), ECERT_OK);

    /* Another SM2 CA with the same name: key identifiers differ. */
    struct sm2_key *k2 = NULL;
    struct buf ca2 = BUF_INIT(PEM_CAP), ca3 = BUF_INIT(PEM_CAP);
    assert_int_equal(sm2_key_generate(&k2), ECERT_OK);
    assert_int_equal(x509_sm2_ca_new(k2, "YRD-TRUST SM2 CA", 10, &ca2), ECERT_OK);
    assert_int_equal(x509_sm2_verify(app, f->app_pem.len, (char *)ca2.data, ca2.len, 0),
                     ECERT_E_SIGNATURE);
    /* ... and with another name. */
    assert_int_equal(x509_sm2_ca_new(k2, "Another CA", 10, &ca3), ECERT_OK);
    assert_int_equal(x509_sm2_verify(app, f->app_pem.len, (char *)ca3.data, ca3.len, 0),
                     ECERT_E_SIGNATURE);
    assert_non_null(strstr(ecert_last_error(), "names differ"));

    /* The app certificate is not a CA: nothing verifies under it. */
    assert_int_equal(x509_sm2_verify(app, f->app_pem.len, app, f->app_pem.len, 0),
                     ECERT_E_SIGNATURE);

    /* Validity: 'at' before notBefore and after notAfter. */
    struct x509_info info;
    assert_int_equal(x509_info(app, f->app_pem.len, &info), ECERT_OK);
    assert_int_equal(x509_sm2_verify(app, f->app_pem.len, ca, f->ca_pem.len, info.not_after + 1),
                     ECERT_E_SIGNATURE);
    assert_non_null(strstr(ecert_last_error(), "expired"));
    assert_int_equal(x509_sm2_verify(app, f->app_pem.len, ca, f->ca_pem.len, info.not_before - 1),
                     ECERT_E_SIGNATURE);
    assert_non_null(strstr(ecert_last_error(), "not yet valid"));
    assert_int_equal(x509_sm2_verify(app, f->app_pem.len, ca, f->ca_pem.len, info.not_after - 1),
                     ECERT_OK);

    /* A P-256 TLS CA is not an SM2 CA; a TLS certificate is not SM2-SM3. */
    struct buf tls = BUF_INIT(PEM_CAP), tls_key = BUF_INIT(PEM_CAP);
    assert_int_equal(x509_tls_ca_new("YRD-TRUST SM2 CA", 10, &tls, &tls_key), ECERT_OK);
    assert_int_equal(x509_sm2_verify(app, f->app_pem.len, (char *)tls.data, tls.len, 0),
                     ECERT_E_SIGNATURE);
    assert_int_equal(x509_sm2_verify((char *)tls.data, tls.len, ca, f->ca_pem.len, 0),
                     ECERT_E_SIGNATURE);
    assert_int_equal(x509_sm2_verify("junk", 4, ca, f->ca_pem.len, 0), ECERT_E_MALFORMED);
    assert_int_equal(x509_sm2_verify(app, f->app_pem.len, "junk", 4, 0), ECERT_E_MALFORMED);

    sm2_key_free(k2);
    buf_release(&ca2), buf_release(&ca3), buf_release(&tls), buf_release_secret(&tls_key);
}

static void test_sm2_tampered(void **state)
{
    struct sm2_fixture *f = *state;
    struct buf out = BUF_INIT(PEM_CAP);

    /* A flipped bit in the signature. */
    X509 *x = pem_x509(&f->app_pem);
    const ASN1_BIT_STRING *sig = NULL;
    X509_get0_signature(&sig, NULL, x);
    ((ASN1_BIT_STRING *)sig)->data[sig->length - 3] ^= 0x01;
    x509_to_buf(x, &out);
    X509_free(x);
    assert_int_equal(
        x509_sm2_verify((char *)out.data, out.len, (char *)f->ca_pem.data, f->ca_pem.len, 0),
        ECERT_E_SIGNATURE);

    /* A changed subject under the original signature: re-encoding the TBS
     * part from the modified fields invalidates the signature. */
    x = pem_x509(&f->app_pem);
    X509_NAME *n = X509_NAME_new();
    assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                                           (const unsigned char *)"A3100002", -1, -1, 0));
    assert_true(X509_set_subject_name(x, n));
    X509_NAME_free(n);
    i2d_re_X509_tbs(x, NULL); /* drop the cached encoding of the signed part */
    x509_to_buf(x, &out);
    X509_free(x);
    assert_int_equal(
        x509_sm2_verify((char *)out.data, out.len, (char *)f->ca_pem.data, f->ca_pem.len, 0),
        ECERT_E_SIGNATURE);
    buf_release(&out);
}

/* The signature is over Z computed with ID 1234567812345678: check it with
 * the project's own SM2 verifier on the TBS bytes, and check that OpenSSL
 * refuses it under another ID (so the ID is really part of it). */
static void test_sm2_user_id(void **state)
{
    struct sm2_fixture *f = *state;
    X509 *x = pem_x509(&f->app_pem);
    unsigned char *tbs = NULL;
    int tbs_len = i2d_re_X509_tbs(x, &tbs);
    assert_true(tbs_len > 0);
    const ASN1_BIT_STRING *sig = NULL;
    X509_get0_signature(&sig, NULL, x);
    uint8_t rs[SM2_SIG_LEN];
    assert_int_equal(sm2_sig_from_der(sig->data, (size_t)sig->length, rs), ECERT_OK);
    assert_int_equal(sm2_verify(f->ca_key, NULL, 0, tbs, (size_t)tbs_len, rs), ECERT_OK);
    const uint8_t other[] = "ALICE123@YAHOO.COM";
    assert_int_equal(sm2_verify(f->ca_key, other, sizeof other - 1, tbs, (size_t)tbs_len, rs),
                     ECERT_E_SIGNATURE);
    OPENSSL_free(tbs);

    X509 *ca = pem_x509(&f->ca_pem);
    ASN1_OCTET_STRING *wrong = ASN1_OCTET_STRING_new();
    assert_true(ASN1_OCTET_STRING_set(wrong, other, (int)sizeof other - 1));
    X509_set0_distinguishing_id(x, wrong);
    assert_int_not_equal(X509_verify(x, X509_get0_pubkey(ca)), 1);
    ASN1_OCTET_STRING *right = ASN1_OCTET_STRING_new();
    assert_true(
        ASN1_OCTET_STRING_set(right, (const unsigned char *)SM2_DEFAULT_ID, SM2_DEFAULT_ID_LEN));
    X509_set0_distinguishing_id(x, right); /* frees `wrong` */
    assert_int_equal(X509_verify(x, X509_get0_pubkey(ca)), 1);
    ERR_clear_error();
    X509_free(x);
    X509_free(ca);
}

static void test_sm2_refusals(void **state)
{
    struct sm2_fixture *f = *state;
    struct buf out = BUF_INIT(PEM_CAP);
    const char *ca = (char *)f->ca_pem.data;
    size_t ca_len = f->ca_pem.len;

    struct x509_app_subject s = APP;
    s.app_id = "A31\n0001";
    assert_int_equal(x509_sm2_app_new(ca, ca_len, f->ca_key, &s, f->app_key, 10, &out),
                     ECERT_E_MALFORMED);
    s = APP;
    s.app_id = "";
    assert_int_equal(x509_sm2_app_new(ca, ca_len, f->ca_key, &s, f->app_key, 10, &out),
                     ECERT_E_MALFORMED);
    s = APP;
    char long_name[3 * 65 + 1];
    for (int i = 0; i < 65; i++)
        memcpy(long_name + 3 * i, "中", 3);
    long_name[3 * 65] = 0;
    s.corp_name = long_name; /* 65 characters */
    assert_int_equal(x509_sm2_app_new(ca, ca_len, f->ca_key, &s, f->app_key, 10, &out),
                     ECERT_E_MALFORMED);
    long_name[3 * 64] = 0; /* 64 characters: the X.520 bound, accepted */
    assert_int_equal(x509_sm2_app_new(ca, ca_len, f->ca_key, &s, f->app_key, 10, &out), ECERT_OK);
    buf_reset(&out);
    s.corp_name = "\xe4\xb8"; /* truncated UTF-8 */
    assert_int_equal(x509_sm2_app_new(ca, ca_len, f->ca_key, &s, f->app_key, 10, &out),
                     ECERT_E_MALFORMED);
    s.corp_name = "\xc0\xaf"; /* overlong '/' */
    assert_int_equal(x509_sm2_app_new(ca, ca_len, f->ca_key, &s, f->app_key, 10, &out),
                     ECERT_E_MALFORMED);
    s = APP;
    s.corp_code = "9131 0000";
    assert_int_equal(x509_sm2_app_new(ca, ca_len, f->ca_key, &s, f->app_key, 10, &out),
                     ECERT_E_MALFORMED);

    /* A CA key that is not the CA certificate's, and a public-only CA key. */
    assert_int_equal(x509_sm2_app_new(ca, ca_len, f->app_key, &APP, f->app_key, 10, &out),
                     ECERT_E_MALFORMED);
    struct sm2_key *pub = NULL;
    assert_int_equal(x509_sm2_public_key(ca, ca_len, &pub), ECERT_OK);
    assert_int_equal(x509_sm2_app_new(ca, ca_len, pub, &APP, f->app_key, 10, &out), ECERT_E_ARG);
    assert_int_equal(x509_sm2_ca_new(pub, "x", 10, &out), ECERT_E_ARG);
    sm2_key_free(pub);
    assert_int_equal(x509_sm2_app_new(ca, ca_len, f->ca_key, &APP, f->app_key, 0, &out),
                     ECERT_E_ARG);
    assert_int_equal(out.len, 0);

    /* An SM2 key cannot be read out of a P-256 certificate. */
    struct buf tls = BUF_INIT(PEM_CAP), tls_key = BUF_INIT(PEM_CAP);
    assert_int_equal(x509_tls_ca_new("t", 10, &tls, &tls_key), ECERT_OK);
    assert_int_equal(x509_sm2_public_key((char *)tls.data, tls.len, &pub), ECERT_E_MALFORMED);
    buf_release(&tls), buf_release_secret(&tls_key), buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_chain),
        cmocka_unit_test(test_tls_refusals),
        cmocka_unit_test_setup_teardown(test_sm2_parse_back, sm2_setup, sm2_teardown),
        cmocka_unit_test_setup_teardown(test_sm2_verify, sm2_setup, sm2_teardown),
        cmocka_unit_test_setup_teardown(test_sm2_tampered, sm2_setup, sm2_teardown),
        cmocka_unit_test_setup_teardown(test_sm2_user_id, sm2_setup, sm2_teardown),
        cmocka_unit_test_setup_teardown(test_sm2_refusals, sm2_setup, sm2_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
