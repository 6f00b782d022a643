/*
 * x509_verify.c — certificates from signed files, and chains to anchors
 * (see x509_verify.h).
 *
 * Parsing: OpenSSL 3.0 decodes a certificate's public key through its
 * provider machinery, which costs several hundred microseconds — more than
 * the SM2 signature the certificate is needed for. Certificates with an SM2
 * key signed SM2-with-SM3 (all of those in sealed OFD files) are therefore
 * read here with the bounded DER reader: the fields the verifiers use, the
 * names as OpenSSL X509_NAMEs (cheap, and compared canonically), the key as
 * an sm2_key made once. Any other certificate (RSA, ECDSA, compressed or
 * unusual keys) is also handed to d2i_X509, and OpenSSL checks its
 * signatures.
 *
 * Everything is computed when the certificate is parsed (OpenSSL's lazy
 * extension cache included), so a parsed certificate is never written to
 * again (but for its atomic reference count) and can be read by many threads
 * at once. That allows a small process-wide cache: the same few certificates
 * (a province's seal maker and authorities) sign most files a node sees, and
 * a cached certificate keeps its SM2 key — whose engine builds a per-key
 * table for keys in frequent use — instead of making a fresh one per file.
 */
#include "crypto/x509_verify.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
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

#define TAG_BOOLEAN 0x01
#define TAG_UTCTIME 0x17
#define TAG_GENTIME 0x18
#define TAG_CTX0 0xA0
#define TAG_CTX3 0xA3
#define TAG_CTX0_PRIM 0x80

/* DER contents of the OIDs read here. */
static const uint8_t OID_EC_PUBKEY[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};
static const uint8_t OID_SM2_CURVE[] = {0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D};
static const uint8_t OID_SM2_SM3_SIG[] = {0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x83, 0x75};
static const uint8_t OID_RSA[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01};
static const uint8_t OID_RSA_PSS[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A};
static const uint8_t OID_BASIC_CONSTRAINTS[] = {0x55, 0x1D, 0x13};
static const uint8_t OID_KEY_USAGE[] = {0x55, 0x1D, 0x0F};
static const uint8_t OID_SKI[] = {0x55, 0x1D, 0x0E};
static const uint8_t OID_AKI[] = {0x55, 0x1D, 0x23};

struct x509_cert {
    atomic_uint refs;
    uint8_t *der;
    size_t len;
    X509 *x;                 /* only when OpenSSL must check or read it (see above) */
    X509_NAME *subject, *issuer;
    struct der tbs;          /* TBSCertificate TLV, inside der */
    struct der serial;       /* INTEGER contents */
    struct der sig_alg;      /* signatureAlgorithm OID contents */
    struct der sig;          /* signatureValue without the unused-bits octet */
    struct der ski;          /* subjectKeyIdentifier contents, or empty */
    struct der aki;          /* authorityKeyIdentifier keyIdentifier, or empty */
    int64_t not_before, not_after; /* INT64_MAX / INT64_MIN when unreadable */
    bool is_ca;
    enum x509_key_kind kind;
    struct sm2_key *sm2;     /* the public key, for SM2 certificates */
};

struct x509_store {
    struct x509_cert **certs;
    size_t n, cap;
};

/* ---- parsing ----------------------------------------------------------------*/

static bool oid_eq(const struct der *d, const uint8_t *oid, size_t n)
{
    return d->len == n && memcmp(d->p, oid, n) == 0;
}

static ecert_status bad_cert(const char *what)
{
    return err_set(ECERT_E_MALFORMED, "certificate: %s", what);
}

static int digits(const uint8_t *p, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280 4.1.2.5). */
static int64_t cert_time(uint8_t tag, const struct der *t, int64_t fallback)
{
    const uint8_t *p = t->p;
    int y;
    if (tag == TAG_UTCTIME && t->len == 13 && p[12] == 'Z') {
        y = digits(p, 2);
        if (y < 0)
            return fallback;
        y += y >= 50 ? 1900 : 2000;
        p += 2;
    } else if (tag == TAG_GENTIME && t->len == 15 && p[14] == 'Z') {
        y = digits(p, 4);
        p += 4;
    } else {
        return fallback;
    }
    int mo = digits(p, 2), d = digits(p + 2, 2), h = digits(p + 4, 2), mi = digits(p + 6, 2),
        se = digits(p + 8, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        se < 0 || se > 60)
        return fallback;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = se};
    return (int64_t)timegm(&tm);
}

static X509_NAME *name_of(const struct der *tlv)
{
    const unsigned char *p = tlv->p;
    X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)tlv->len);
    if (n && p != tlv->p + tlv->len) {
        X509_NAME_free(n);
        n = NULL;
    }
    ERR_clear_error();
    return n;
}

/* The extensions the verifiers need: basicConstraints, keyUsage, the key
 * identifiers. Unknown extensions are skipped (criticality is not enforced:
 * these certificates identify signers, they do not authorise TLS). */
static ecert_status read_extensions(struct der exts, struct x509_cert *c, bool *bc_seen,
                                    bool *bc_ca, bool *ku_seen, bool *ku_cert_sign)
{
    struct der list;
    if (der_expect(&exts, DER_SEQUENCE, &list) || !der_empty(&exts))
        return bad_cert("extensions");
    while (!der_empty(&list)) {
        struct der ext, oid, value;
        uint8_t tag;
        if (der_expect(&list, DER_SEQUENCE, &ext) || der_expect(&ext, DER_OID, &oid))
            return bad_cert("extension");
        if (!der_empty(&ext) && ext.p[0] == TAG_BOOLEAN && der_next(&ext, &tag, &value))
            return bad_cert("extension criticality");
        if (der_expect(&ext, DER_OCTET_STRING, &value))
            return bad_cert("extension value");
        struct der v = value, inner;
        if (oid_eq(&oid, OID_BASIC_CONSTRAINTS, sizeof OID_BASIC_CONSTRAINTS)) {
            *bc_seen = true;
            if (der_expect(&v, DER_SEQUENCE, &inner))
                return bad_cert("basicConstraints");
            *bc_ca = !der_empty(&inner) && inner.p[0] == TAG_BOOLEAN && inner.len >= 3 &&
                     inner.p[1] == 1 && inner.p[2] != 0;
        } else if (oid_eq(&oid, OID_KEY_USAGE, sizeof OID_KEY_USAGE)) {
            *ku_seen = true;
            if (der_expect(&v, DER_BIT_STRING, &inner) || inner.len < 1)
                return bad_cert("keyUsage");
            *ku_cert_sign = inner.len >= 2 && (inner.p[1] & 0x04);
        } else if (oid_eq(&oid, OID_SKI, sizeof OID_SKI)) {
            if (der_expect(&v, DER_OCTET_STRING, &c->ski))
                return bad_cert("subjectKeyIdentifier");
        } else if (oid_eq(&oid, OID_AKI, sizeof OID_AKI)) {
            if (der_expect(&v, DER_SEQUENCE, &inner))
                return bad_cert("authorityKeyIdentifier");
            if (!der_empty(&inner) && inner.p[0] == TAG_CTX0_PRIM &&
                der_next(&inner, &tag, &c->aki))
                return bad_cert("authorityKeyIdentifier");
        }
    }
    return ECERT_OK;
}

/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue },
 * read field by field; *ec_point gets the uncompressed SM2 point when the key
 * is one. */
static ecert_status read_cert(struct x509_cert *c, const uint8_t **point)
{
    struct der r = {c->der, c->len}, cert, tbs, f, alg, bits, v;
    uint8_t tag;
    long version = 0;
    *point = NULL;
    if (der_expect(&r, DER_SEQUENCE, &cert) || !der_empty(&r))
        return bad_cert("not one DER SEQUENCE");
    const uint8_t *tbs_start = cert.p;
    if (der_expect(&cert, DER_SEQUENCE, &tbs))
        return bad_cert("tbsCertificate");
    c->tbs.p = tbs_start;
    c->tbs.len = (size_t)(tbs.p + tbs.len - tbs_start);
    if (der_expect(&cert, DER_SEQUENCE, &alg) || der_expect(&alg, DER_OID, &c->sig_alg) ||
        der_expect(&cert, DER_BIT_STRING, &bits) || bits.len < 1 || bits.p[0] != 0 ||
        !der_empty(&cert))
        return bad_cert("signature");
    c->sig.p = bits.p + 1;
    c->sig.len = bits.len - 1;
    if (!der_empty(&tbs) && tbs.p[0] == TAG_CTX0) {
        if (der_next(&tbs, &tag, &f) || der_expect(&f, DER_INTEGER, &v) || v.len != 1)
            return bad_cert("version");
        version = v.p[0];
    }
    struct der name, validity, t1, t2, spki, spki_alg, key_oid, key_bits;
    uint8_t tag1, tag2;
    if (der_expect(&tbs, DER_INTEGER, &c->serial) || c->serial.len == 0 ||
        der_expect(&tbs, DER_SEQUENCE, &f))
        return bad_cert("serial or signature algorithm");
    const uint8_t *issuer_start = tbs.p;
    if (der_expect(&tbs, DER_SEQUENCE, &name))
        return bad_cert("issuer");
    struct der issuer_tlv = {issuer_start, (size_t)(name.p + name.len - issuer_start)};
    if (der_expect(&tbs, DER_SEQUENCE, &validity) || der_next(&validity, &tag1, &t1) ||
        der_next(&validity, &tag2, &t2))
        return bad_cert("validity");
    c->not_before = cert_time(tag1, &t1, INT64_MAX);
    c->not_after = cert_time(tag2, &t2, INT64_MIN);
    const uint8_t *subject_start = tbs.p;
    if (der_expect(&tbs, DER_SEQUENCE, &name))
        return bad_cert("subject");
    struct der subject_tlv = {subject_start, (size_t)(name.p + name.len - subject_start)};
    if (der_expect(&tbs, DER_SEQUENCE, &spki) || der_expect(&spki, DER_SEQUENCE, &spki_alg) ||
        der_expect(&spki_alg, DER_OID, &key_oid) || der_expect(&spki, DER_BIT_STRING, &key_bits) ||
        key_bits.len < 1 || key_bits.p[0] != 0)
        return bad_cert("subjectPublicKeyInfo");
    bool bc_seen = false, bc_ca = false, ku_seen = false, ku_cert_sign = false, exts = false;
    while (!der_empty(&tbs)) {
        if (der_next(&tbs, &tag, &f))
            return bad_cert("trailing fields");
        if (tag == TAG_CTX3) {
            exts = true;
            ecert_status st = read_extensions(f, c, &bc_seen, &bc_ca, &ku_seen, &ku_cert_sign);
            if (st)
                return st;
        }
    }
    if (!(c->issuer = name_of(&issuer_tlv)) || !(c->subject = name_of(&subject_tlv)))
        return bad_cert("unreadable name");
    /* As OpenSSL's X509_check_ca: keyUsage without keyCertSign rules a CA
     * out; then basicConstraints decides; a v1 self-issued certificate (an
     * old root) or keyCertSign alone make a CA. */
    bool self_issued = X509_NAME_cmp(c->issuer, c->subject) == 0;
    if (ku_seen && !ku_cert_sign)
        c->is_ca = false;
    else if (bc_seen)
        c->is_ca = bc_ca;
    else
        c->is_ca = (version == 0 && !exts && self_issued) || (ku_seen && ku_cert_sign);
    /* The key. */
    struct der params = {0};
    uint8_t ptag = 0;
    if (!der_empty(&spki_alg) && der_next(&spki_alg, &ptag, &params))
        return bad_cert("key parameters");
    if (oid_eq(&key_oid, OID_EC_PUBKEY, sizeof OID_EC_PUBKEY) ||
        oid_eq(&key_oid, OID_SM2_CURVE, sizeof OID_SM2_CURVE)) {
        bool sm2 = oid_eq(&key_oid, OID_SM2_CURVE, sizeof OID_SM2_CURVE) ||
                   (ptag == DER_OID && oid_eq(&params, OID_SM2_CURVE, sizeof OID_SM2_CURVE));
        c->kind = sm2 ? X509_KEY_SM2 : X509_KEY_EC;
        if (sm2 && key_bits.len == 2 + SM2_POINT_LEN && key_bits.p[1] == 0x04)
            *point = key_bits.p + 2;
    } else if (oid_eq(&key_oid, OID_RSA, sizeof OID_RSA) ||
               oid_eq(&key_oid, OID_RSA_PSS, sizeof OID_RSA_PSS)) {
        c->kind = X509_KEY_RSA;
    } else {
        c->kind = X509_KEY_OTHER;
    }
    return ECERT_OK;
}

/* OpenSSL's view, for certificates the fast path does not cover. */
static ecert_status with_openssl(struct x509_cert *c)
{
    const unsigned char *p = c->der;
    c->x = d2i_X509(NULL, &p, (long)c->len);
    if (!c->x || p != c->der + c->len) {
        ERR_clear_error();
        return err_set(ECERT_E_MALFORMED, "certificate: not one DER X.509 certificate");
    }
    /* Fills OpenSSL's extension cache now, while the certificate is still
     * private to this thread. */
    X509_check_purpose(c->x, -1, 0);
    c->is_ca = X509_check_ca(c->x) != 0;
    ERR_clear_error();
    return ECERT_OK;
}

static ecert_status sm2_from_openssl(X509 *x, struct sm2_key **out)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    BIGNUM *bx = NULL, *by = NULL;
    uint8_t xy[SM2_POINT_LEN];
    bool ok = pk && EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &bx) &&
              EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &by) &&
              BN_bn2binpad(bx, xy, 32) == 32 && BN_bn2binpad(by, xy + 32, 32) == 32;
    BN_free(bx);
    BN_free(by);
    ERR_clear_error();
    if (!ok)
        return err_set(ECERT_E_MALFORMED, "certificate: unreadable SM2 public key");
    return sm2_key_from_public(NULL, xy, out);
}

/* ---- the cache -------------------------------------------------------------------*/

#define CERT_CACHE_SLOTS 64

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint64_t hash;
    struct x509_cert *cert;
} cache[CERT_CACHE_SLOTS];
static size_t cache_next;

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

static struct x509_cert *cache_get(const uint8_t *der, size_t len, uint64_t h)
{
    struct x509_cert *found = NULL;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < CERT_CACHE_SLOTS && !found; i++) {
        struct x509_cert *c = cache[i].cert;
        if (c && cache[i].hash == h && c->len == len && memcmp(c->der, der, len) == 0) {
            atomic_fetch_add(&c->refs, 1);
            found = c;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return found;
}

/* Round-robin replacement: a flood of one-off certificates costs the cache
 * its content, never memory. */
static void cache_put(struct x509_cert *c, uint64_t h)
{
    struct x509_cert *evicted = NULL;
    pthread_mutex_lock(&cache_lock);
    bool present = false;
    for (size_t i = 0; i < CERT_CACHE_SLOTS && !present; i++)
        present = cache[i].cert && cache[i].hash == h && cache[i].cert->len == c->len &&
                  memcmp(cache[i].cert->der, c->der, c->len) == 0;
    if (!present) {
        evicted = cache[cache_next].cert;
        atomic_fetch_add(&c->refs, 1);
        cache[cache_next].cert = c;
        cache[cache_next].hash = h;
        cache_next = (cache_next + 1) % CERT_CACHE_SLOTS;
    }
    pthread_mutex_unlock(&cache_lock);
    x509_cert_free(evicted);
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
    uint64_t h = fnv1a(der, len);
    if ((*out = cache_get(der, len, h)))
        return ECERT_OK;
    struct x509_cert *c = calloc(1, sizeof *c);
    uint8_t *copy = malloc(len);
    if (!c || !copy) {
        free(c);
        free(copy);
        return err_set(ECERT_E_NOMEM, "out of memory");
    }
    atomic_init(&c->refs, 1);
    memcpy(copy, der, len);
    c->der = copy;
    c->len = len;
    const uint8_t *point = NULL;
    ecert_status st = read_cert(c, &point);
    bool fast = !st && c->kind == X509_KEY_SM2 && point &&
                oid_eq(&c->sig_alg, OID_SM2_SM3_SIG, sizeof OID_SM2_SM3_SIG);
    if (!st && !fast)
        st = with_openssl(c);
    if (!st && c->kind == X509_KEY_SM2)
        st = point ? sm2_key_from_public(NULL, point, &c->sm2) : sm2_from_openssl(c->x, &c->sm2);
    if (st) {
        x509_cert_free(c);
        return st == ECERT_E_NOMEM ? st : err_set(ECERT_E_MALFORMED, "%s", err_detail());
    }
    cache_put(c, h);
    *out = c;
    return ECERT_OK;
}

void x509_cert_free(struct x509_cert *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    X509_free(c->x);
    X509_NAME_free(c->subject);
    X509_NAME_free(c->issuer);
    sm2_key_free(c->sm2);
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
    name_text(c->subject, out, cap);
}

void x509_cert_issuer(const struct x509_cert *c, char *out, size_t cap)
{
    name_text(c->issuer, out, cap);
}

void x509_cert_subject_cn(const struct x509_cert *c, char *out, size_t cap)
{
    if (cap)
        out[0] = 0;
    int i = X509_NAME_get_index_by_NID(c->subject, NID_commonName, -1);
    if (i < 0)
        return;
    unsigned char *u = NULL;
    int len =
        ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(c->subject, i)));
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
    if (c->kind != X509_KEY_SM2 || !c->sm2)
        return err_set(ECERT_E_MALFORMED, "certificate: key is not an SM2 key");
    *out = sm2_key_ref(c->sm2);
    return ECERT_OK;
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
    const uint8_t *a = c->serial.p, *b = serial;
    size_t an = c->serial.len, bn = serial_len;
    if (!b || bn == 0)
        return false;
    strip_leading_zeros(&a, &an);
    strip_leading_zeros(&b, &bn);
    if (an != bn || memcmp(a, b, an) != 0)
        return false;
    struct der tlv = {name_der, name_len};
    X509_NAME *name = name_of(&tlv);
    bool same = name && X509_NAME_cmp(name, c->issuer) == 0;
    X509_NAME_free(name);
    return same;
}

bool x509_cert_has_ski(const struct x509_cert *c, const uint8_t *ski, size_t len)
{
    return c->ski.len == len && len > 0 && memcmp(c->ski.p, ski, len) == 0;
}

bool x509_cert_equal(const struct x509_cert *a, const struct x509_cert *b)
{
    return a->len == b->len && memcmp(a->der, b->der, a->len) == 0;
}

/* ---- issuance checks ----------------------------------------------------------*/

ecert_status x509_cert_check_issued_by(const struct x509_cert *c, const struct x509_cert *issuer)
{
    if (X509_NAME_cmp(c->issuer, issuer->subject) != 0)
        return err_set(ECERT_E_SIGNATURE, "certificate: issuer name differs");
    if (c->aki.len && issuer->ski.len &&
        (c->aki.len != issuer->ski.len || memcmp(c->aki.p, issuer->ski.p, c->aki.len) != 0))
        return err_set(ECERT_E_SIGNATURE, "certificate: issuer key identifier differs");
    if (oid_eq(&c->sig_alg, OID_SM2_SM3_SIG, sizeof OID_SM2_SM3_SIG)) {
        /* SM2-with-SM3 over the TBSCertificate as encoded, user ID
         * 1234567812345678. */
        uint8_t rs[SM2_SIG_LEN];
        if (!issuer->sm2)
            return err_set(ECERT_E_SIGNATURE, "issuer certificate: key is not an SM2 key");
        if (sm2_sig_decode_bytes(c->sig.p, c->sig.len, rs))
            return err_set(ECERT_E_SIGNATURE, "certificate: unreadable SM2 signature value");
        if (sm2_verify(issuer->sm2, NULL, 0, c->tbs.p, c->tbs.len, rs))
            return err_set(ECERT_E_SIGNATURE, "certificate: SM2 signature does not verify under "
                                              "the issuer's key");
        return ECERT_OK;
    }
    EVP_PKEY *pk = issuer->x ? X509_get0_pubkey(issuer->x) : NULL;
    int r = pk && c->x ? X509_verify(c->x, pk) : -1;
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

ecert_status x509_store_take(struct x509_store *s, struct x509_cert *c)
{
    if (!s || !c) {
        x509_cert_free(c);
        return err_set(ECERT_E_ARG, "x509_store_take: NULL argument");
    }
    return store_push(s, c);
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
