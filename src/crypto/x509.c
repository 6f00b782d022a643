/*
 * x509.c — the development PKI on OpenSSL 3.0: a P-256 hierarchy for TLS and
 * an SM2 hierarchy for app certificates (see x509.h and docs/pki.md).
 *
 * The one subtle part is the SM2 user ID. An SM2 signature hashes
 * Z = SM3(ENTL || ID || curve || public key) in front of the message, so the
 * signer and the verifier must agree on ID. GM/T 0009 says "1234567812345678";
 * OpenSSL 3.0 uses an empty ID unless told otherwise (4.0 changed its default).
 * We therefore never rely on a default:
 *   - signing: the ID is set on the EVP_PKEY_CTX of an EVP_MD_CTX, which
 *     X509_sign_ctx then uses;
 *   - verifying: the ID is attached to the certificate with
 *     X509_set0_distinguishing_id, which X509_verify passes to the verifier.
 */
#include "crypto/x509.h"

#include <stdio.h>
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

#include "common/codec.h"
#include "common/error.h"
#include "crypto/random.h"

/* notBefore is set this far in the past so that a peer whose clock is a
 * little behind does not see a brand-new certificate as "not yet valid". */
#define CLOCK_SKEW_S 300

/* ---- OpenSSL plumbing ---------------------------------------------------- */

/* Records `what` plus OpenSSL's last reason, and empties OpenSSL's queue so
 * that a stale error never shows up in a later, unrelated failure. */
static ecert_status ossl_fail(ecert_status st, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    if (reason)
        return err_set(st, "%s: %s", what, reason);
    return err_set(st, "%s", what);
}

/* Never prompt on a terminal for a passphrase: keys here are unencrypted. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;
}

static ecert_status pem_bio(const char *pem, size_t len, const char *what, BIO **out)
{
    if (!pem || len == 0)
        return err_set(ECERT_E_MALFORMED, "%s: empty", what);
    if (len > X509_PEM_MAX)
        return err_set(ECERT_E_TOO_LONG, "%s: %zu bytes, limit %u", what, len, X509_PEM_MAX);
    *out = BIO_new_mem_buf(pem, (int)len);
    if (!*out)
        return err_set(ECERT_E_NOMEM, "out of memory");
    return ECERT_OK;
}

static ecert_status cert_parse(const char *pem, size_t len, const char *what, X509 **out)
{
    BIO *bio = NULL;
    ecert_status st = pem_bio(pem, len, what, &bio);
    if (st)
        return st;
    *out = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (!*out) {
        ERR_clear_error();
        return err_set(ECERT_E_MALFORMED, "%s: not a PEM certificate", what);
    }
    return ECERT_OK;
}

static ecert_status key_parse(const char *pem, size_t len, const char *what, EVP_PKEY **out)
{
    BIO *bio = NULL;
    ecert_status st = pem_bio(pem, len, what, &bio);
    if (st)
        return st;
    *out = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (!*out) {
        ERR_clear_error();
        return err_set(ECERT_E_MALFORMED, "%s: not an unencrypted PEM private key", what);
    }
    return ECERT_OK;
}

static ecert_status bio_append(BIO *bio, struct buf *out)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n <= 0)
        return err_set(ECERT_E_CRYPTO, "cannot write PEM");
    return buf_append(out, data, (size_t)n);
}

static ecert_status cert_pem_out(X509 *x, struct buf *out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return err_set(ECERT_E_NOMEM, "out of memory");
    ecert_status st = PEM_write_bio_X509(bio, x) ? bio_append(bio, out)
                                                 : ossl_fail(ECERT_E_CRYPTO, "cannot write PEM");
    BIO_free(bio);
    return st;
}

/* PKCS#8 "PRIVATE KEY", through a secure-memory BIO that is wiped on free. */
static ecert_status key_pem_out(EVP_PKEY *k, struct buf *out)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    if (!bio)
        return err_set(ECERT_E_NOMEM, "out of memory");
    ecert_status st = PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL)
                          ? bio_append(bio, out)
                          : ossl_fail(ECERT_E_CRYPTO, "cannot write PEM");
    BIO_free(bio);
    return st;
}

/* Undoes a partial append, so that a failing call leaves its outputs as they
 * were (a certificate without its key is worse than nothing). */
static void buf_truncate(struct buf *b, size_t len)
{
    if (b->len > len)
        b->len = len;
    if (b->data)
        b->data[b->len] = 0;
}

/* ---- checks on caller input ---------------------------------------------- */

static bool printable_ascii(const char *s, size_t max)
{
    size_t n = s ? strnlen(s, max + 1) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

/* Well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF), no control characters, 1..max characters. */
static bool utf8_text(const char *s, size_t max_chars)
{
    if (!s)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0;
    while (*p) {
        unsigned c = *p, cp, need;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            p++;
            chars++;
            if (chars > max_chars)
                return false;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, cp = c & 0x07;
        else
            return false;
        for (unsigned i = 1; i <= need; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false; /* also stops at the NUL */
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        p += need + 1;
        if (++chars > max_chars)
            return false;
    }
    return chars > 0;
}

static bool code_text(const char *s, size_t max)
{
    size_t n = s ? strnlen(s, max + 1) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              c == '-'))
            return false;
    }
    return true;
}

/* A DNS name for a certificate: labels of [A-Za-z0-9-] (not starting or
 * ending with '-'), 1..63 each, 253 in all; "*." allowed as the first label. */
static bool dns_name_ok(const char *s)
{
    size_t n = s ? strnlen(s, 254) : 0;
    if (n == 0 || n > 253)
        return false;
    size_t i = 0;
    if (n > 2 && s[0] == '*' && s[1] == '.')
        i = 2;
    size_t label = 0;
    for (; i <= n; i++) {
        char c = i < n ? s[i] : '.';
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (!alnum && !(c == '-' && label > 0))
            return false;
        if (++label > 63)
            return false;
    }
    return true;
}

/* ---- building certificates ----------------------------------------------- */

static ecert_status check_days(unsigned days)
{
    if (days == 0 || days > X509_DAYS_MAX)
        return err_set(ECERT_E_ARG, "validity of %u days, want 1-%u", days, X509_DAYS_MAX);
    return ECERT_OK;
}

/* A random positive 128-bit serial (RFC 5280: at most 20 octets, unique per
 * CA; random serials need no state shared between CA processes). */
static ecert_status set_serial(X509 *x)
{
    uint8_t r[16];
    ecert_status st = random_bytes(r, sizeof r);
    if (st)
        return st;
    BIGNUM *bn = BN_bin2bn(r, sizeof r, NULL);
    if (bn && BN_is_zero(bn))
        BN_one(bn);
    bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? ECERT_OK : ossl_fail(ECERT_E_CRYPTO, "certificate serial");
}

/* Version 3, serial, validity, subject and issuer names, public key. */
static ecert_status cert_skeleton(X509 *x, const X509_NAME *subject, const X509_NAME *issuer,
                                  EVP_PKEY *pub, unsigned days)
{
    ecert_status st = set_serial(x);
    if (st)
        return st;
    if (!X509_set_version(x, X509_VERSION_3) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -CLOCK_SKEW_S) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) ||
        !X509_set_subject_name(x, subject) || !X509_set_issuer_name(x, issuer) ||
        !X509_set_pubkey(x, pub))
        return ossl_fail(ECERT_E_CRYPTO, "certificate fields");
    return ECERT_OK;
}

/* One extension from its OpenSSL configuration text ("critical,CA:TRUE"):
 * only fixed strings of ours are passed here, never caller input. */
static ecert_status add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!e || !X509_add_ext(x, e, -1)) {
        X509_EXTENSION_free(e);
        return ossl_fail(ECERT_E_CRYPTO, "certificate extension");
    }
    X509_EXTENSION_free(e);
    return ECERT_OK;
}

/* subjectAltName, built as GENERAL_NAMEs so that no caller text goes through
 * OpenSSL's configuration syntax (where a ',' would start another name). */
static ecert_status add_san(X509 *x, const char *const *dns, const char *const *ips)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    if (!gens)
        return err_set(ECERT_E_NOMEM, "out of memory");
    ecert_status st = ECERT_OK;
    for (size_t i = 0; dns && dns[i] && !st; i++) {
        if (!dns_name_ok(dns[i])) {
            st = err_set(ECERT_E_MALFORMED, "DNS name %zu is not a host name", i + 1);
            break;
        }
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        if (!g || !s || !ASN1_STRING_set(s, dns[i], (int)strlen(dns[i]))) {
            GENERAL_NAME_free(g);
            ASN1_IA5STRING_free(s);
            st = err_set(ECERT_E_NOMEM, "out of memory");
            break;
        }
        GENERAL_NAME_set0_value(g, GEN_DNS, s);
        if (!sk_GENERAL_NAME_push(gens, g)) {
            GENERAL_NAME_free(g);
            st = err_set(ECERT_E_NOMEM, "out of memory");
        }
    }
    for (size_t i = 0; ips && ips[i] && !st; i++) {
        /* a2i_IPADDRESS takes IPv4 dotted quads and IPv6 text. */
        ASN1_OCTET_STRING *ip = strnlen(ips[i], 64) < 64 ? a2i_IPADDRESS(ips[i]) : NULL;
        if (!ip) {
            ERR_clear_error();
            st = err_set(ECERT_E_MALFORMED, "IP address %zu is not an IPv4 or IPv6 address", i + 1);
            break;
        }
        GENERAL_NAME *g = GENERAL_NAME_new();
        if (!g) {
            ASN1_OCTET_STRING_free(ip);
            st = err_set(ECERT_E_NOMEM, "out of memory");
            break;
        }
        GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
        if (!sk_GENERAL_NAME_push(gens, g)) {
            GENERAL_NAME_free(g);
            st = err_set(ECERT_E_NOMEM, "out of memory");
        }
    }
    if (!st && sk_GENERAL_NAME_num(gens) == 0)
        st = err_set(ECERT_E_ARG, "a TLS server certificate needs at least one DNS name or IP");
    if (!st && !X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT))
        st = ossl_fail(ECERT_E_CRYPTO, "subjectAltName");
    GENERAL_NAMES_free(gens);
    return st;
}

static ecert_status name_add(X509_NAME *n, int nid, const char *value)
{
    if (!X509_NAME_add_entry_by_NID(n, nid, MBSTRING_UTF8, (const unsigned char *)value, -1, -1, 0))
        return ossl_fail(ECERT_E_MALFORMED, "certificate name");
    return ECERT_OK;
}

/* Signs with SM2-with-SM3 and the explicit user ID (see the file comment).
 * EVP_PKEY_CTX_set1_id on a context that is not yet initialised is cached by
 * OpenSSL 3.0 and applied when EVP_DigestSignInit starts the operation. */
static ecert_status sm2_sign_cert(X509 *x, const struct sm2_key *key)
{
    EVP_PKEY *pk = sm2_key_evp(key);
    if (!pk || !sm2_key_has_private(key))
        return err_set(ECERT_E_ARG, "SM2 CA key: need a private key on sm2p256v1");
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    bool ok = mctx && pctx && EVP_PKEY_CTX_set1_id(pctx, SM2_DEFAULT_ID, SM2_DEFAULT_ID_LEN) > 0;
    if (ok) {
        /* The MD context borrows pctx (it is freed below, after mctx). */
        EVP_MD_CTX_set_pkey_ctx(mctx, pctx);
        ok = EVP_DigestSignInit(mctx, NULL, EVP_sm3(), NULL, pk) > 0 && X509_sign_ctx(x, mctx) > 0;
    }
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_CTX_free(pctx);
    return ok ? ECERT_OK : ossl_fail(ECERT_E_CRYPTO, "SM2 certificate signature");
}

static ecert_status ec_xy(EVP_PKEY *pk, uint8_t xy[64])
{
    BIGNUM *x = NULL, *y = NULL;
    bool ok = pk && EVP_PKEY_get_bits(pk) == 256 &&
              EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) &&
              EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y) &&
              BN_bn2binpad(x, xy, 32) == 32 && BN_bn2binpad(y, xy + 32, 32) == 32;
    BN_free(x);
    BN_free(y);
    if (!ok) {
        ERR_clear_error();
        return err_set(ECERT_E_MALFORMED, "not a 256-bit elliptic-curve public key");
    }
    return ECERT_OK;
}

static bool is_sm2_key(EVP_PKEY *pk)
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

/* ---- TLS (P-256) --------------------------------------------------------- */

static ecert_status p256_key(EVP_PKEY **out)
{
    *out = EVP_EC_gen("P-256");
    return *out ? ECERT_OK : ossl_fail(ECERT_E_CRYPTO, "P-256 key generation");
}

ecert_status x509_tls_ca_new(const char *cn, unsigned days, struct buf *cert_pem,
                             struct buf *key_pem)
{
    if (!cn || !cert_pem || !key_pem)
        return err_set(ECERT_E_ARG, "x509_tls_ca_new: NULL argument");
    ecert_status st = check_days(days);
    if (st)
        return st;
    if (!utf8_text(cn, X509_NAME_FIELD_MAX))
        return err_set(ECERT_E_MALFORMED, "CA name: want 1-%d UTF-8 characters",
                       X509_NAME_FIELD_MAX);
    size_t cert_len0 = cert_pem->len, key_len0 = key_pem->len;
    EVP_PKEY *key = NULL;
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (!x || !name) {
        st = err_set(ECERT_E_NOMEM, "out of memory");
        goto done;
    }
    if ((st = p256_key(&key)) || (st = name_add(name, NID_commonName, cn)) ||
        (st = cert_skeleton(x, name, name, key, days)) ||
        (st = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE")) ||
        (st = add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign")) ||
        (st = add_ext(x, x, NID_subject_key_identifier, "hash")))
        goto done;
    if (!X509_sign(x, key, EVP_sha256())) {
        st = ossl_fail(ECERT_E_CRYPTO, "CA certificate signature");
        goto done;
    }
    if (!(st = cert_pem_out(x, cert_pem)))
        st = key_pem_out(key, key_pem);
done:
    if (st) {
        buf_truncate(cert_pem, cert_len0);
        buf_truncate(key_pem, key_len0);
    }
    X509_NAME_free(name);
    X509_free(x);
    EVP_PKEY_free(key);
    return st;
}

ecert_status x509_tls_server_new(const char *ca_cert_pem, size_t ca_cert_len,
                                 const char *ca_key_pem, size_t ca_key_len, const char *cn,
                                 const char *const *dns, const char *const *ips, unsigned days,
                                 struct buf *cert_pem, struct buf *key_pem)
{
    if (!cert_pem || !key_pem)
        return err_set(ECERT_E_ARG, "x509_tls_server_new: NULL argument");
    ecert_status st = check_days(days);
    if (st)
        return st;
    if (!cn)
        cn = dns && dns[0] ? dns[0] : ips && ips[0] ? ips[0] : NULL;
    if (!cn)
        return err_set(ECERT_E_ARG, "a TLS server certificate needs at least one DNS name or IP");
    if (!utf8_text(cn, X509_NAME_FIELD_MAX))
        return err_set(ECERT_E_MALFORMED, "server name: want 1-%d UTF-8 characters",
                       X509_NAME_FIELD_MAX);
    size_t cert_len0 = cert_pem->len, key_len0 = key_pem->len;
    X509 *ca = NULL, *x = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    X509_NAME *name = NULL;
    if ((st = cert_parse(ca_cert_pem, ca_cert_len, "CA certificate", &ca)) ||
        (st = key_parse(ca_key_pem, ca_key_len, "CA key", &ca_key)))
        goto done;
    if (X509_check_private_key(ca, ca_key) != 1) {
        ERR_clear_error();
        st = err_set(ECERT_E_MALFORMED, "the CA key does not belong to the CA certificate");
        goto done;
    }
    x = X509_new();
    name = X509_NAME_new();
    if (!x || !name) {
        st = err_set(ECERT_E_NOMEM, "out of memory");
        goto done;
    }
    if ((st = p256_key(&key)) || (st = name_add(name, NID_commonName, cn)) ||
        (st = cert_skeleton(x, name, X509_get_subject_name(ca), key, days)) ||
        (st = add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE")) ||
        (st = add_ext(x, ca, NID_key_usage, "critical,digitalSignature")) ||
        (st = add_ext(x, ca, NID_ext_key_usage, "serverAuth")) || (st = add_san(x, dns, ips)) ||
        (st = add_ext(x, ca, NID_subject_key_identifier, "hash")) ||
        (st = add_ext(x, ca, NID_authority_key_identifier, "keyid:always")))
        goto done;
    if (!X509_sign(x, ca_key, EVP_sha256())) {
        st = ossl_fail(ECERT_E_CRYPTO, "server certificate signature");
        goto done;
    }
    if (!(st = cert_pem_out(x, cert_pem)))
        st = key_pem_out(key, key_pem);
done:
    if (st) {
        buf_truncate(cert_pem, cert_len0);
        buf_truncate(key_pem, key_len0);
    }
    X509_NAME_free(name);
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return st;
}

ecert_status x509_tls_check_pair(const char *cert_pem, size_t cert_len, const char *key_pem,
                                 size_t key_len)
{
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    ecert_status st;
    if (!(st = cert_parse(cert_pem, cert_len, "TLS certificate", &x)) &&
        !(st = key_parse(key_pem, key_len, "TLS key", &k)) && X509_check_private_key(x, k) != 1)
        st = err_set(ECERT_E_MALFORMED, "the TLS key does not belong to the TLS certificate");
    ERR_clear_error();
    X509_free(x);
    EVP_PKEY_free(k);
    return st;
}

/* ---- SM2 ------------------------------------------------------------------ */

ecert_status x509_sm2_ca_new(const struct sm2_key *ca_key, const char *cn, unsigned days,
                             struct buf *cert_pem)
{
    if (!ca_key || !cn || !cert_pem)
        return err_set(ECERT_E_ARG, "x509_sm2_ca_new: NULL argument");
    if (!sm2_key_evp(ca_key) || !sm2_key_has_private(ca_key))
        return err_set(ECERT_E_ARG, "SM2 CA key: need a private key on sm2p256v1");
    ecert_status st = check_days(days);
    if (st)
        return st;
    if (!utf8_text(cn, X509_NAME_FIELD_MAX))
        return err_set(ECERT_E_MALFORMED, "CA name: want 1-%d UTF-8 characters",
                       X509_NAME_FIELD_MAX);
    size_t len0 = cert_pem->len;
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (!x || !name) {
        st = err_set(ECERT_E_NOMEM, "out of memory");
        goto done;
    }
    if ((st = name_add(name, NID_countryName, "CN")) || (st = name_add(name, NID_commonName, cn)) ||
        (st = cert_skeleton(x, name, name, sm2_key_evp(ca_key), days)) ||
        (st = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE")) ||
        (st = add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign")) ||
        (st = add_ext(x, x, NID_subject_key_identifier, "hash")) || (st = sm2_sign_cert(x, ca_key)))
        goto done;
    st = cert_pem_out(x, cert_pem);
done:
    if (st)
        buf_truncate(cert_pem, len0);
    X509_NAME_free(name);
    X509_free(x);
    return st;
}

ecert_status x509_sm2_app_new(const char *ca_cert_pem, size_t ca_cert_len,
                              const struct sm2_key *ca_key, const struct x509_app_subject *subject,
                              const struct sm2_key *app_pub, unsigned days, struct buf *cert_pem)
{
    if (!ca_key || !subject || !app_pub || !cert_pem)
        return err_set(ECERT_E_ARG, "x509_sm2_app_new: NULL argument");
    if (!sm2_key_evp(app_pub))
        return err_set(ECERT_E_ARG, "app key: need a key on sm2p256v1");
    ecert_status st = check_days(days);
    if (st)
        return st;
    if (!printable_ascii(subject->app_id, X509_NAME_FIELD_MAX))
        return err_set(ECERT_E_MALFORMED, "appId: want 1-%d printable ASCII characters",
                       X509_NAME_FIELD_MAX);
    if (!utf8_text(subject->corp_name, X509_NAME_FIELD_MAX))
        return err_set(ECERT_E_MALFORMED, "corpName: want 1-%d UTF-8 characters",
                       X509_NAME_FIELD_MAX);
    if (!code_text(subject->corp_code, X509_NAME_FIELD_MAX))
        return err_set(ECERT_E_MALFORMED, "corpCode: want 1-%d of [0-9A-Za-z-]",
                       X509_NAME_FIELD_MAX);
    size_t len0 = cert_pem->len;
    X509 *ca = NULL, *x = NULL;
    X509_NAME *name = NULL;
    uint8_t ca_xy[64];
    if ((st = cert_parse(ca_cert_pem, ca_cert_len, "SM2 CA certificate", &ca)))
        goto done;
    /* The key must be the one the CA certificate certifies, or every
     * certificate issued here would fail verification. */
    if (ec_xy(X509_get0_pubkey(ca), ca_xy) ||
        memcmp(ca_xy, sm2_key_public_xy(ca_key), sizeof ca_xy) != 0) {
        st = err_set(ECERT_E_MALFORMED, "the SM2 CA key does not belong to the CA certificate");
        goto done;
    }
    x = X509_new();
    name = X509_NAME_new();
    if (!x || !name) {
        st = err_set(ECERT_E_NOMEM, "out of memory");
        goto done;
    }
    if ((st = name_add(name, NID_countryName, "CN")) ||
        (st = name_add(name, NID_organizationName, subject->corp_name)) ||
        (st = name_add(name, NID_organizationIdentifier, subject->corp_code)) ||
        (st = name_add(name, NID_commonName, subject->app_id)) ||
        (st = cert_skeleton(x, name, X509_get_subject_name(ca), sm2_key_evp(app_pub), days)) ||
        (st = add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE")) ||
        (st = add_ext(x, ca, NID_key_usage,
                      "critical,digitalSignature,keyEncipherment,dataEncipherment")) ||
        (st = add_ext(x, ca, NID_subject_key_identifier, "hash")) ||
        (st = add_ext(x, ca, NID_authority_key_identifier, "keyid:always")) ||
        (st = sm2_sign_cert(x, ca_key)))
        goto done;
    st = cert_pem_out(x, cert_pem);
done:
    if (st)
        buf_truncate(cert_pem, len0);
    X509_NAME_free(name);
    X509_free(x);
    X509_free(ca);
    return st;
}

/* -1 before `at`, 1 after, 0 when the time cannot be compared. */
static int time_cmp(const ASN1_TIME *t, time_t at)
{
    int r = X509_cmp_time(t, &at);
    ERR_clear_error();
    return r;
}

static ecert_status check_validity(X509 *x, time_t at, const char *what)
{
    int nb = time_cmp(X509_get0_notBefore(x), at);
    int na = time_cmp(X509_get0_notAfter(x), at);
    if (nb == 0 || na == 0)
        return err_set(ECERT_E_MALFORMED, "%s: unreadable validity dates", what);
    if (nb > 0)
        return err_set(ECERT_E_SIGNATURE, "%s: not yet valid", what);
    if (na < 0)
        return err_set(ECERT_E_SIGNATURE, "%s: expired", what);
    return ECERT_OK;
}

ecert_status x509_sm2_verify(const char *cert_pem, size_t cert_len, const char *ca_pem,
                             size_t ca_len, int64_t at)
{
    X509 *cert = NULL, *ca = NULL;
    ASN1_OCTET_STRING *id = NULL;
    ecert_status st;
    if ((st = cert_parse(cert_pem, cert_len, "certificate", &cert)) ||
        (st = cert_parse(ca_pem, ca_len, "CA certificate", &ca)))
        goto done;
    if (X509_get_signature_nid(cert) != NID_SM2_with_SM3) {
        st = err_set(ECERT_E_SIGNATURE, "certificate: signature algorithm is not SM2-with-SM3");
        goto done;
    }
    EVP_PKEY *ca_pub = X509_get0_pubkey(ca);
    if (!is_sm2_key(ca_pub)) {
        st = err_set(ECERT_E_SIGNATURE, "CA certificate: key is not an SM2 key");
        goto done;
    }
    /* X509_check_ca: 1 = basicConstraints CA:TRUE (v1 roots and keyUsage-only
     * CAs are not accepted here). */
    if (X509_check_ca(ca) != 1 || !(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN)) {
        st = err_set(ECERT_E_SIGNATURE, "CA certificate: not a CA");
        goto done;
    }
    if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(ca)) != 0) {
        st = err_set(ECERT_E_SIGNATURE, "certificate: issuer is not this CA (names differ)");
        goto done;
    }
    const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(cert);
    const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(ca);
    if (akid && skid && ASN1_OCTET_STRING_cmp(akid, skid) != 0) {
        st = err_set(ECERT_E_SIGNATURE, "certificate: issuer is not this CA (key ids differ)");
        goto done;
    }
    id = ASN1_OCTET_STRING_new();
    if (!id ||
        !ASN1_OCTET_STRING_set(id, (const unsigned char *)SM2_DEFAULT_ID, SM2_DEFAULT_ID_LEN)) {
        st = err_set(ECERT_E_NOMEM, "out of memory");
        goto done;
    }
    X509_set0_distinguishing_id(cert, id); /* the certificate owns it now */
    id = NULL;
    int r = X509_verify(cert, ca_pub);
    ERR_clear_error();
    if (r != 1) {
        st = err_set(ECERT_E_SIGNATURE,
                     "certificate: SM2 signature does not verify under the CA key");
        goto done;
    }
    time_t when = at ? (time_t)at : time(NULL);
    if ((st = check_validity(cert, when, "certificate")) ||
        (st = check_validity(ca, when, "CA certificate")))
        goto done;
done:
    ASN1_OCTET_STRING_free(id);
    X509_free(cert);
    X509_free(ca);
    return st;
}

/* ---- reading ---------------------------------------------------------------*/

static ecert_status name_field(const X509_NAME *n, int nid, char *out, size_t cap)
{
    out[0] = 0;
    int i = X509_NAME_get_index_by_NID(n, nid, -1);
    if (i < 0)
        return ECERT_OK;
    const ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
    unsigned char *u = NULL;
    int len = ASN1_STRING_to_UTF8(&u, d);
    if (len < 0 || (size_t)len >= cap || memchr(u, 0, (size_t)len)) {
        OPENSSL_free(u);
        ERR_clear_error();
        return err_set(ECERT_E_MALFORMED, "certificate name: %s unreadable or over %zu bytes",
                       OBJ_nid2sn(nid), cap - 1);
    }
    memcpy(out, u, (size_t)len);
    out[len] = 0;
    OPENSSL_free(u);
    return ECERT_OK;
}

static ecert_status time_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm)) {
        ERR_clear_error();
        return err_set(ECERT_E_MALFORMED, "certificate: unreadable validity date");
    }
    *out = (int64_t)timegm(&tm);
    return ECERT_OK;
}

static ecert_status serial_hex(X509 *x, char *out, size_t cap)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    uint8_t bytes[20];
    int n = bn ? BN_num_bytes(bn) : -1;
    ecert_status st = ECERT_OK;
    if (n < 0 || (size_t)n > sizeof bytes || 2 * (size_t)n + 1 > cap)
        st = err_set(ECERT_E_MALFORMED, "certificate: serial number over 20 octets");
    else {
        BN_bn2bin(bn, bytes);
        hex_encode(bytes, (size_t)n, out);
    }
    BN_free(bn);
    ERR_clear_error();
    return st;
}

ecert_status x509_info(const char *pem, size_t len, struct x509_info *out)
{
    if (!out)
        return err_set(ECERT_E_ARG, "x509_info: NULL argument");
    memset(out, 0, sizeof *out);
    X509 *x = NULL;
    ecert_status st = cert_parse(pem, len, "certificate", &x);
    if (st)
        return st;
    const X509_NAME *subj = X509_get_subject_name(x);
    if ((st = name_field(subj, NID_commonName, out->subject_cn, sizeof out->subject_cn)) ||
        (st = name_field(subj, NID_organizationName, out->subject_o, sizeof out->subject_o)) ||
        (st = name_field(subj, NID_organizationIdentifier, out->subject_org_id,
                         sizeof out->subject_org_id)) ||
        (st = name_field(X509_get_issuer_name(x), NID_commonName, out->issuer_cn,
                         sizeof out->issuer_cn)) ||
        (st = serial_hex(x, out->serial_hex, sizeof out->serial_hex)) ||
        (st = time_unix(X509_get0_notBefore(x), &out->not_before)) ||
        (st = time_unix(X509_get0_notAfter(x), &out->not_after)))
        goto done;
    const char *sig = OBJ_nid2ln(X509_get_signature_nid(x));
    snprintf(out->sig_alg, sizeof out->sig_alg, "%s", sig ? sig : "unknown");
    EVP_PKEY *pk = X509_get0_pubkey(x);
    if (!pk) {
        st = err_set(ECERT_E_MALFORMED, "certificate: unreadable public key");
        goto done;
    }
    char group[32];
    if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL))
        snprintf(out->key_type, sizeof out->key_type, "%s", group);
    else {
        const char *t = EVP_PKEY_get0_type_name(pk);
        snprintf(out->key_type, sizeof out->key_type, "%s", t ? t : "unknown");
    }
    uint8_t xy[64];
    if (ec_xy(pk, xy) == ECERT_OK) {
        out->public_key_hex[0] = '0';
        out->public_key_hex[1] = '4';
        hex_encode(xy, sizeof xy, out->public_key_hex + 2);
    }
    out->is_ca = X509_check_ca(x) == 1;
    st = ECERT_OK;
done:
    ERR_clear_error();
    X509_free(x);
    if (st)
        memset(out, 0, sizeof *out);
    return st;
}

ecert_status x509_sm2_public_key(const char *pem, size_t len, struct sm2_key **out)
{
    if (!out)
        return err_set(ECERT_E_ARG, "x509_sm2_public_key: NULL argument");
    X509 *x = NULL;
    ecert_status st = cert_parse(pem, len, "certificate", &x);
    if (st)
        return st;
    uint8_t xy[64];
    EVP_PKEY *pk = X509_get0_pubkey(x);
    if (!is_sm2_key(pk))
        st = err_set(ECERT_E_MALFORMED, "certificate: key is not an SM2 key");
    else if (!(st = ec_xy(pk, xy)))
        st = sm2_key_from_public(NULL, xy, out);
    X509_free(x);
    return st;
}
