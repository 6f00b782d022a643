/*
 * x509_verify.c — certificates from signed files, and chains to anchors
 * (see x509_verify.h).
 *
 * Everything OpenSSL caches lazily on an X509 (extension flags, key
 * identifiers) is computed once when the certificate is parsed, so that a
 * parsed certificate is never written to again and can be read by many
 * threads at once.
 */
#include "crypto/x509_verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/der.h"
#include "common/error.h"

#define STORE_PEM_MAX (4u << 20) /* a PEM bundle of anchors */

struct x509_cert {
    X509 *x;
    uint8_t *der;
    size_t len;
    int64_t not_before, not_after; /* INT64_MAX / INT64_MIN when unreadable */
    bool is_ca;
    enum x509_key_kind kind;
};

struct x509_store {
    struct x509_cert **certs;
    size_t n, cap;
};

/* ---- parsing ----------------------------------------------------------------*/

static int64_t asn1_time_unix(const ASN1_TIME *t, int64_t fallback)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm)) {
        ERR_clear_error();
        return fallback;
    }
    return (int64_t)timegm(&tm);
}

static bool pkey_is_sm2(EVP_PKEY *pk)
{
    char group[32];
    if (!pk)
        return false;
    if (EVP_PKEY_is_a(pk, "SM2"))
        return true;
    bool sm2 =
        EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL) &&
        strcmp(group, "SM2") == 0;
    ERR_clear_error();
    return sm2;
}

static enum x509_key_kind key_kind(X509 *x)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    enum x509_key_kind k = X509_KEY_OTHER;
    if (!pk)
        k = X509_KEY_OTHER;
    else if (pkey_is_sm2(pk))
        k = X509_KEY_SM2;
    else if (EVP_PKEY_is_a(pk, "EC"))
        k = X509_KEY_EC;
    else if (EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_is_a(pk, "RSA-PSS"))
        k = X509_KEY_RSA;
    ERR_clear_error();
    return k;
}

ecert_status x509_cert_from_der(const uint8_t *der, size_t len, struct x509_cert **out)
{
    if (!der || !out)
        return err_set(ECERT_E_ARG, "x509_cert_from_der: NULL argument");
    *out = NULL;
    if (len == 0)
        return err_set(ECERT_E_MALFORMED, "certificate: empty");
    if (len > X509_CERT_DER_MAX)
        return err_set(ECERT_E_TOO_LONG, "certificate: %zu bytes, limit %u", len,
                       X509_CERT_DER_MAX);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x || p != der + len) {
        X509_free(x);
        ERR_clear_error();
        return err_set(ECERT_E_MALFORMED, "certificate: not one DER X.509 certificate");
    }
    struct x509_cert *c = calloc(1, sizeof *c);
    uint8_t *copy = malloc(len);
    if (!c || !copy) {
        free(c);
        free(copy);
        X509_free(x);
        return err_set(ECERT_E_NOMEM, "out of memory");
    }
    memcpy(copy, der, len);
    c->x = x;
    c->der = copy;
    c->len = len;
    /* X509_check_purpose(-1) fills OpenSSL's extension cache now, while the
     * certificate is still private to this thread. */
    X509_check_purpose(x, -1, 0);
    c->is_ca = X509_check_ca(x) != 0;
    c->not_before = asn1_time_unix(X509_get0_notBefore(x), INT64_MAX);
    c->not_after = asn1_time_unix(X509_get0_notAfter(x), INT64_MIN);
    c->kind = key_kind(x);
    ERR_clear_error();
    *out = c;
    return ECERT_OK;
}

void x509_cert_free(struct x509_cert *c)
{
    if (!c)
        return;
    X509_free(c->x);
    free(c->der);
    free(c);
}

const uint8_t *x509_cert_der(const struct x509_cert *c, size_t *len)
{
    *len = c->len;
    return c->der;
}

/* ---- reading ----------------------------------------------------------------*/

/* Cuts at a UTF-8 character boundary so that a long name stays valid text. */
static void copy_utf8(char *out, size_t cap, const char *s, size_t n)
{
    if (cap == 0)
        return;
    if (n > cap - 1) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
    out[n] = 0;
}

static void name_text(const X509_NAME *name, char *out, size_t cap)
{
    if (cap)
        out[0] = 0;
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return;
    /* Certificate order (C first), "C=CN, O=x", UTF-8 kept as is; control
     * characters and RFC 2253 specials escaped. */
    unsigned long flags = XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | ASN1_STRFLGS_UTF8_CONVERT |
                          ASN1_STRFLGS_ESC_CTRL | ASN1_STRFLGS_ESC_2253;
    if (X509_NAME_print_ex(bio, name, 0, flags) >= 0) {
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        if (n > 0)
            copy_utf8(out, cap, data, (size_t)n);
    }
    BIO_free(bio);
    ERR_clear_error();
}

void x509_cert_subject(const struct x509_cert *c, char *out, size_t cap)
{
    name_text(X509_get_subject_name(c->x), out, cap);
}

void x509_cert_issuer(const struct x509_cert *c, char *out, size_t cap)
{
    name_text(X509_get_issuer_name(c->x), out, cap);
}

void x509_cert_subject_cn(const struct x509_cert *c, char *out, size_t cap)
{
    if (cap)
        out[0] = 0;
    const X509_NAME *n = X509_get_subject_name(c->x);
    int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
    if (i < 0)
        return;
    unsigned char *u = NULL;
    int len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
    if (len > 0)
        copy_utf8(out, cap, (const char *)u, (size_t)len);
    OPENSSL_free(u);
    ERR_clear_error();
}

ecert_status x509_cert_validity(const struct x509_cert *c, int64_t *not_before,
                                int64_t *not_after)
{
    *not_before = c->not_before;
    *not_after = c->not_after;
    if (c->not_before == INT64_MAX || c->not_after == INT64_MIN)
        return err_set(ECERT_E_MALFORMED, "certificate: unreadable validity dates");
    return ECERT_OK;
}

enum x509_key_kind x509_cert_key_kind(const struct x509_cert *c)
{
    return c->kind;
}

bool x509_cert_is_ca(const struct x509_cert *c)
{
    return c->is_ca;
}

ecert_status x509_cert_sm2_key(const struct x509_cert *c, struct sm2_key **out)
{
    *out = NULL;
    if (c->kind != X509_KEY_SM2)
        return err_set(ECERT_E_MALFORMED, "certificate: key is not an SM2 key");
    EVP_PKEY *pk = X509_get0_pubkey(c->x);
    BIGNUM *x = NULL, *y = NULL;
    uint8_t xy[SM2_POINT_LEN];
    bool ok = pk && EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) &&
              EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y) &&
              BN_bn2binpad(x, xy, 32) == 32 && BN_bn2binpad(y, xy + 32, 32) == 32;
    BN_free(x);
    BN_free(y);
    ERR_clear_error();
    if (!ok)
        return err_set(ECERT_E_MALFORMED, "certificate: unreadable SM2 public key");
    return sm2_key_from_public(NULL, xy, out);
}

static void strip_leading_zeros(const uint8_t **p, size_t *n)
{
    while (*n > 1 && (*p)[0] == 0) {
        (*p)++;
        (*n)--;
    }
}

bool x509_cert_has_issuer_serial(const struct x509_cert *c, const uint8_t *name_der,
                                 size_t name_len, const uint8_t *serial, size_t serial_len)
{
    const ASN1_INTEGER *sn = X509_get0_serialNumber(c->x);
    const uint8_t *a = ASN1_STRING_get0_data(sn);
    size_t an = (size_t)ASN1_STRING_length(sn);
    const uint8_t *b = serial;
    size_t bn = serial_len;
    if (!a || !b || bn == 0)
        return false;
    strip_leading_zeros(&a, &an);
    strip_leading_zeros(&b, &bn);
    if (an != bn || memcmp(a, b, an) != 0)
        return false;
    const unsigned char *p = name_der;
    X509_NAME *name = d2i_X509_NAME(NULL, &p, (long)name_len);
    bool same = name && X509_NAME_cmp(name, X509_get_issuer_name(c->x)) == 0;
    X509_NAME_free(name);
    ERR_clear_error();
    return same;
}

bool x509_cert_has_ski(const struct x509_cert *c, const uint8_t *ski, size_t len)
{
    const ASN1_OCTET_STRING *s = X509_get0_subject_key_id(c->x);
    return s && (size_t)ASN1_STRING_length(s) == len &&
           memcmp(ASN1_STRING_get0_data(s), ski, len) == 0;
}

bool x509_cert_equal(const struct x509_cert *a, const struct x509_cert *b)
{
    return a->len == b->len && memcmp(a->der, b->der, a->len) == 0;
}

/* ---- issuance checks ----------------------------------------------------------*/

/* SM2-with-SM3 over the TBSCertificate exactly as encoded in the certificate:
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }. */
static ecert_status sm2_cert_signature(const struct x509_cert *c, const struct x509_cert *issuer)
{
    struct der r = {c->der, c->len}, cert, tbs_content, alg, bits;
    const uint8_t *tbs_start;
    ecert_status st = der_expect(&r, DER_SEQUENCE, &cert);
    if (st)
        return err_set(ECERT_E_SIGNATURE, "certificate: unreadable structure");
    tbs_start = cert.p;
    if (der_expect(&cert, DER_SEQUENCE, &tbs_content) || der_expect(&cert, DER_SEQUENCE, &alg) ||
        der_expect(&cert, DER_BIT_STRING, &bits) || bits.len < 2 || bits.p[0] != 0)
        return err_set(ECERT_E_SIGNATURE, "certificate: unreadable structure");
    size_t tbs_len = (size_t)(tbs_content.p + tbs_content.len - tbs_start);
    uint8_t rs[SM2_SIG_LEN];
    if (sm2_sig_decode_bytes(bits.p + 1, bits.len - 1, rs))
        return err_set(ECERT_E_SIGNATURE, "certificate: unreadable SM2 signature value");
    struct sm2_key *key = NULL;
    if (x509_cert_sm2_key(issuer, &key))
        return err_set(ECERT_E_SIGNATURE, "issuer certificate: key is not an SM2 key");
    st = sm2_verify(key, NULL, 0, tbs_start, tbs_len, rs);
    sm2_key_free(key);
    if (st)
        return err_set(ECERT_E_SIGNATURE, "certificate: SM2 signature does not verify under "
                                          "the issuer's key");
    return ECERT_OK;
}

ecert_status x509_cert_check_issued_by(const struct x509_cert *c, const struct x509_cert *issuer)
{
    if (X509_NAME_cmp(X509_get_issuer_name(c->x), X509_get_subject_name(issuer->x)) != 0)
        return err_set(ECERT_E_SIGNATURE, "certificate: issuer name differs");
    const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(c->x);
    const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(issuer->x);
    if (akid && skid && ASN1_OCTET_STRING_cmp(akid, skid) != 0)
        return err_set(ECERT_E_SIGNATURE, "certificate: issuer key identifier differs");
    if (X509_get_signature_nid(c->x) == NID_SM2_with_SM3)
        return sm2_cert_signature(c, issuer);
    EVP_PKEY *pk = X509_get0_pubkey(issuer->x);
    int r = pk ? X509_verify(c->x, pk) : -1;
    ERR_clear_error();
    if (r != 1)
        return err_set(ECERT_E_SIGNATURE, "certificate: signature does not verify under the "
                                          "issuer's key");
    return ECERT_OK;
}

/* ---- stores -------------------------------------------------------------------*/

ecert_status x509_store_new(struct x509_store **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? ECERT_OK : err_set(ECERT_E_NOMEM, "out of memory");
}

void x509_store_free(struct x509_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        x509_cert_free(s->certs[i]);
    free(s->certs);
    free(s);
}

static ecert_status store_push(struct x509_store *s, struct x509_cert *c)
{
    if (s->n >= X509_STORE_MAX) {
        x509_cert_free(c);
        return err_set(ECERT_E_TOO_LONG, "certificate store: more than %u certificates",
                       X509_STORE_MAX);
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct x509_cert **p = realloc(s->certs, cap * sizeof *p);
        if (!p) {
            x509_cert_free(c);
            return err_set(ECERT_E_NOMEM, "out of memory");
        }
        s->certs = p;
        s->cap = cap;
    }
    s->certs[s->n++] = c;
    return ECERT_OK;
}

ecert_status x509_store_add_der(struct x509_store *s, const uint8_t *der, size_t len)
{
    struct x509_cert *c = NULL;
    ecert_status st = x509_cert_from_der(der, len, &c);
    return st ? st : store_push(s, c);
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;
}

ecert_status x509_store_add_pem(struct x509_store *s, const char *pem, size_t len)
{
    if (!s || !pem)
        return err_set(ECERT_E_ARG, "x509_store_add_pem: NULL argument");
    if (len > STORE_PEM_MAX)
        return err_set(ECERT_E_TOO_LONG, "PEM certificates: %zu bytes, limit %u", len,
                       STORE_PEM_MAX);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        return err_set(ECERT_E_NOMEM, "out of memory");
    ecert_status st = ECERT_OK;
    size_t added = 0;
    X509 *x;
    while (!st && (x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
        unsigned char *der = NULL;
        int n = i2d_X509(x, &der);
        X509_free(x);
        if (n <= 0) {
            st = err_set(ECERT_E_MALFORMED, "PEM certificate: cannot re-encode");
            break;
        }
        st = x509_store_add_der(s, der, (size_t)n);
        OPENSSL_free(der);
        if (!st)
            added++;
    }
    ERR_clear_error();
    BIO_free(bio);
    if (!st && added == 0)
        st = err_set(ECERT_E_MALFORMED, "no PEM certificate found");
    return st;
}

ecert_status x509_store_add(struct x509_store *s, const uint8_t *data, size_t len)
{
    static const char begin[] = "-----BEGIN";
    if (len >= sizeof begin - 1 && memmem(data, len, begin, sizeof begin - 1))
        return x509_store_add_pem(s, (const char *)data, len);
    return x509_store_add_der(s, data, len);
}

size_t x509_store_count(const struct x509_store *s)
{
    return s ? s->n : 0;
}

const struct x509_cert *x509_store_get(const struct x509_store *s, size_t i)
{
    return s && i < s->n ? s->certs[i] : NULL;
}

/* ---- chains -------------------------------------------------------------------*/

static ecert_status chain_fail(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ecert_status chain_fail(char *why, size_t cap, const char *fmt, ...)
{
    char tmp[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    copy_utf8(why, cap, tmp, strlen(tmp));
    return err_set(ECERT_E_SIGNATURE, "%s", tmp);
}

static bool in_store(const struct x509_store *s, const struct x509_cert *c)
{
    for (size_t i = 0; i < x509_store_count(s); i++)
        if (x509_cert_equal(s->certs[i], c))
            return true;
    return false;
}

static bool valid_at(const struct x509_cert *c, int64_t at)
{
    return c->not_before <= at && at <= c->not_after;
}

ecert_status x509_chain_verify(const struct x509_cert *leaf,
                               const struct x509_store *const *pools, size_t npools,
                               const struct x509_store *anchors, int64_t at, char *why,
                               size_t whycap)
{
    if (whycap)
        why[0] = 0;
    if (!leaf)
        return err_set(ECERT_E_ARG, "x509_chain_verify: NULL certificate");
    if (x509_store_count(anchors) == 0)
        return chain_fail(why, whycap, "%s", "no trust anchors configured");
    char dn[300];
    const struct x509_cert *path[X509_CHAIN_MAX];
    const struct x509_cert *cur = leaf;
    for (size_t depth = 0; depth < X509_CHAIN_MAX; depth++) {
        path[depth] = cur;
        x509_cert_subject(cur, dn, sizeof dn);
        if (!valid_at(cur, at))
            return chain_fail(why, whycap, "certificate %s is not valid at the signing time",
                              dn);
        if (in_store(anchors, cur))
            return ECERT_OK;
        for (size_t i = 0; i < anchors->n; i++) {
            const struct x509_cert *a = anchors->certs[i];
            if (a->is_ca && x509_cert_check_issued_by(cur, a) == ECERT_OK) {
                if (!valid_at(a, at)) {
                    x509_cert_subject(a, dn, sizeof dn);
                    return chain_fail(why, whycap,
                                      "trust anchor %s is not valid at the signing time", dn);
                }
                err_clear();
                return ECERT_OK;
            }
        }
        const struct x509_cert *next = NULL;
        for (size_t p = 0; p < npools && !next; p++) {
            const struct x509_store *s = pools[p];
            for (size_t i = 0; i < x509_store_count(s) && !next; i++) {
                const struct x509_cert *c = s->certs[i];
                bool seen = false;
                for (size_t k = 0; k <= depth; k++)
                    seen = seen || x509_cert_equal(path[k], c);
                if (!seen && c->is_ca && x509_cert_check_issued_by(cur, c) == ECERT_OK)
                    next = c;
            }
        }
        if (!next) {
            x509_cert_issuer(cur, dn, sizeof dn);
            return chain_fail(why, whycap, "no trusted issuer found for %s", dn);
        }
        cur = next;
    }
    return chain_fail(why, whycap, "%s", "certificate chain longer than 8");
}
