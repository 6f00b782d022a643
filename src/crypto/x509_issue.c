/*
 * x509_issue.c — SM2 certificates with a chosen subject (see x509_issue.h).
 *
 * The SM2 user ID: an SM2 signature hashes Z(ID, key) in front of the
 * message, and OpenSSL 3.0 defaults to an empty ID. The ID is therefore set
 * on the signing context explicitly (EVP_PKEY_CTX_set1_id before
 * EVP_DigestSignInit), so that every verifier using 1234567812345678 — ours
 * in x509_verify.c included — accepts the certificate.
 */
#include "crypto/x509_issue.h"

#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/error.h"
#include "crypto/random.h"

#define SKEW_S 300

static ecert_status ossl(ecert_status st, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return reason ? err_set(st, "%s: %s", what, reason) : err_set(st, "%s", what);
}

/* 1..max UTF-8 characters, no control characters. */
static bool field_ok(const char *s, size_t max_chars)
{
    if (!s || !*s)
        return false;
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7F)
            return false;
        if ((*p & 0xC0) != 0x80)
            chars++;
    }
    return chars <= max_chars;
}

static ecert_status name_add(X509_NAME *n, int nid, const char *v)
{
    if (!v)
        return ECERT_OK;
    if (!field_ok(v, X509_ISSUE_FIELD_MAX))
        return err_set(ECERT_E_MALFORMED, "certificate subject %s: want 1-%d characters",
                       OBJ_nid2sn(nid), X509_ISSUE_FIELD_MAX);
    int type = nid == NID_countryName ? MBSTRING_ASC : MBSTRING_UTF8;
    if (!X509_NAME_add_entry_by_NID(n, nid, type, (const unsigned char *)v, -1, -1, 0))
        return ossl(ECERT_E_MALFORMED, "certificate subject");
    return ECERT_OK;
}

static ecert_status add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    bool ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok ? ECERT_OK : ossl(ECERT_E_CRYPTO, "certificate extension");
}

static ecert_status set_serial(X509 *x)
{
    uint8_t r[16];
    ecert_status st = random_bytes(r, sizeof r);
    if (st)
        return st;
    r[0] &= 0x7F; /* positive */
    r[0] |= 0x40; /* and 16 octets long */
    BIGNUM *bn = BN_bin2bn(r, sizeof r, NULL);
    bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? ECERT_OK : ossl(ECERT_E_CRYPTO, "certificate serial");
}

static ecert_status sign_sm2(X509 *x, const struct sm2_key *key)
{
    EVP_PKEY *pk = sm2_key_evp(key);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = pk ? EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL) : NULL;
    bool ok = mctx && pctx && EVP_PKEY_CTX_set1_id(pctx, SM2_DEFAULT_ID, SM2_DEFAULT_ID_LEN) > 0;
    if (ok) {
        EVP_MD_CTX_set_pkey_ctx(mctx, pctx); /* borrowed: freed after mctx */
        ok = EVP_DigestSignInit(mctx, NULL, EVP_sm3(), NULL, pk) > 0 && X509_sign_ctx(x, mctx) > 0;
    }
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_CTX_free(pctx);
    return ok ? ECERT_OK : ossl(ECERT_E_CRYPTO, "SM2 certificate signature");
}

static bool same_point(EVP_PKEY *pk, const struct sm2_key *key)
{
    BIGNUM *x = NULL, *y = NULL;
    uint8_t xy[SM2_POINT_LEN];
    bool ok = pk && EVP_PKEY_get_bn_param(pk, "qx", &x) && EVP_PKEY_get_bn_param(pk, "qy", &y) &&
              BN_bn2binpad(x, xy, 32) == 32 && BN_bn2binpad(y, xy + 32, 32) == 32 &&
              memcmp(xy, sm2_key_public_xy(key), sizeof xy) == 0;
    BN_free(x);
    BN_free(y);
    ERR_clear_error();
    return ok;
}

ecert_status x509_sm2_issue(const uint8_t *ca_der, size_t ca_len, const struct sm2_key *ca_key,
                            const struct x509_subject *subject, const struct sm2_key *pub,
                            enum x509_issue_role role, int64_t not_before, unsigned days,
                            struct buf *der_out)
{
    if (!ca_key || !subject || !pub || !der_out)
        return err_set(ECERT_E_ARG, "x509_sm2_issue: NULL argument");
    if (!sm2_key_has_private(ca_key) || !sm2_key_evp(ca_key) || !sm2_key_evp(pub))
        return err_set(ECERT_E_ARG, "x509_sm2_issue: need SM2 keys, the CA's with its private part");
    if (days == 0 || days > X509_ISSUE_DAYS_MAX)
        return err_set(ECERT_E_ARG, "validity of %u days, want 1-%u", days, X509_ISSUE_DAYS_MAX);
    if (!subject->cn)
        return err_set(ECERT_E_MALFORMED, "certificate subject: CN required");
    X509 *ca = NULL, *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    ecert_status st = ECERT_OK;
    if (!x || !name) {
        st = err_set(ECERT_E_NOMEM, "out of memory");
        goto done;
    }
    if (ca_der) {
        const unsigned char *p = ca_der;
        ca = d2i_X509(NULL, &p, (long)ca_len);
        if (!ca || p != ca_der + ca_len) {
            st = err_set(ECERT_E_MALFORMED, "CA certificate: not one DER certificate");
            goto done;
        }
        if (!same_point(X509_get0_pubkey(ca), ca_key)) {
            st = err_set(ECERT_E_MALFORMED, "the CA key does not belong to the CA certificate");
            goto done;
        }
    } else if (memcmp(sm2_key_public_xy(pub), sm2_key_public_xy(ca_key), SM2_POINT_LEN) != 0) {
        st = err_set(ECERT_E_ARG, "a self-signed certificate must certify the signing key");
        goto done;
    }
    if ((st = name_add(name, NID_countryName, subject->c)) ||
        (st = name_add(name, NID_organizationName, subject->o)) ||
        (st = name_add(name, NID_organizationalUnitName, subject->ou)) ||
        (st = name_add(name, NID_commonName, subject->cn)) || (st = set_serial(x)))
        goto done;
    time_t nb = not_before ? (time_t)not_before : time(NULL) - SKEW_S;
    if (!X509_set_version(x, X509_VERSION_3) || !X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, &nb) ||
        !X509_set_subject_name(x, name) ||
        !X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : name) ||
        !X509_set_pubkey(x, sm2_key_evp(pub))) {
        st = ossl(ECERT_E_CRYPTO, "certificate fields");
        goto done;
    }
    X509 *issuer = ca ? ca : x;
    bool is_ca = role == X509_ISSUE_CA;
    if ((st = add_ext(x, issuer, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE")) ||
        (st = add_ext(x, issuer, NID_key_usage,
                      is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,nonRepudiation")) ||
        (st = add_ext(x, issuer, NID_subject_key_identifier, "hash")) ||
        (ca && (st = add_ext(x, issuer, NID_authority_key_identifier, "keyid:always"))) ||
        (st = sign_sm2(x, ca_key)))
        goto done;
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0) {
        st = ossl(ECERT_E_CRYPTO, "certificate encoding");
        goto done;
    }
    st = buf_append(der_out, der, (size_t)n);
    OPENSSL_free(der);
done:
    ERR_clear_error();
    X509_NAME_free(name);
    X509_free(x);
    X509_free(ca);
    return st;
}

ecert_status x509_der_to_pem(const uint8_t *der, size_t len, struct buf *pem)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    BIO *bio = BIO_new(BIO_s_mem());
    ecert_status st = ECERT_OK;
    char *data = NULL;
    long n;
    if (!x || p != der + len)
        st = err_set(ECERT_E_MALFORMED, "not one DER certificate");
    else if (!bio || !PEM_write_bio_X509(bio, x) || (n = BIO_get_mem_data(bio, &data)) <= 0)
        st = ossl(ECERT_E_CRYPTO, "cannot write PEM");
    else
        st = buf_append(pem, data, (size_t)n);
    ERR_clear_error();
    BIO_free(bio);
    X509_free(x);
    return st;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;
}

ecert_status x509_pem_to_der(const char *pem, size_t len, struct buf *der)
{
    if (len > (1u << 20))
        return err_set(ECERT_E_TOO_LONG, "PEM certificate: %zu bytes", len);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, no_passphrase, NULL) : NULL;
    unsigned char *d = NULL;
    int n = x ? i2d_X509(x, &d) : -1;
    ecert_status st = n > 0 ? buf_append(der, d, (size_t)n)
                            : err_set(ECERT_E_MALFORMED, "not a PEM certificate");
    OPENSSL_free(d);
    X509_free(x);
    BIO_free(bio);
    ERR_clear_error();
    return st;
}
