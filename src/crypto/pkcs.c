/*
 * pkcs.c — digests and signature checks for CMS SignerInfos (see pkcs.h).
 */
#include "crypto/pkcs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/der.h"
#include "common/error.h"
#include "crypto/sm2.h"
#include "crypto/sm3.h"

/* An EdDSA message is verified in one piece (pure EdDSA has no streaming
 * form); the signed attributes it covers in practice are a few hundred bytes. */
#define EDDSA_MESSAGE_MAX (64u << 20)

/* ---- digests ---------------------------------------------------------------*/

static const struct {
    const char *oid;
    enum pkcs_hash h;
} hash_oids[] = {
    /* digest algorithms */
    {"1.3.14.3.2.26", PKCS_HASH_SHA1},
    {"2.16.840.1.101.3.4.2.4", PKCS_HASH_SHA224},
    {"2.16.840.1.101.3.4.2.1", PKCS_HASH_SHA256},
    {"2.16.840.1.101.3.4.2.2", PKCS_HASH_SHA384},
    {"2.16.840.1.101.3.4.2.3", PKCS_HASH_SHA512},
    {"2.16.840.1.101.3.4.2.12", PKCS_HASH_SHAKE256},
    {"2.16.840.1.101.3.4.2.18", PKCS_HASH_SHAKE256}, /* id-shake256-len */
    {"1.2.156.10197.1.401", PKCS_HASH_SM3},
    {"1.2.156.10197.1.401.1", PKCS_HASH_SM3},
    /* signature algorithms naming their hash */
    {"1.2.840.113549.1.1.5", PKCS_HASH_SHA1},
    {"1.2.840.113549.1.1.14", PKCS_HASH_SHA224},
    {"1.2.840.113549.1.1.11", PKCS_HASH_SHA256},
    {"1.2.840.113549.1.1.12", PKCS_HASH_SHA384},
    {"1.2.840.113549.1.1.13", PKCS_HASH_SHA512},
    {"1.2.840.10045.4.1", PKCS_HASH_SHA1},
    {"1.2.840.10045.4.3.1", PKCS_HASH_SHA224},
    {"1.2.840.10045.4.3.2", PKCS_HASH_SHA256},
    {"1.2.840.10045.4.3.3", PKCS_HASH_SHA384},
    {"1.2.840.10045.4.3.4", PKCS_HASH_SHA512},
    {"1.2.156.10197.1.501", PKCS_HASH_SM3},
};

enum pkcs_hash pkcs_hash_from_oid(const char *dotted)
{
    for (size_t i = 0; dotted && i < sizeof hash_oids / sizeof hash_oids[0]; i++)
        if (strcmp(hash_oids[i].oid, dotted) == 0)
            return hash_oids[i].h;
    return PKCS_HASH_UNKNOWN;
}

const char *pkcs_hash_name(enum pkcs_hash h)
{
    switch (h) {
    case PKCS_HASH_SHA1:
        return "SHA-1";
    case PKCS_HASH_SHA224:
        return "SHA-224";
    case PKCS_HASH_SHA256:
        return "SHA-256";
    case PKCS_HASH_SHA384:
        return "SHA-384";
    case PKCS_HASH_SHA512:
        return "SHA-512";
    case PKCS_HASH_SM3:
        return "SM3";
    case PKCS_HASH_SHAKE256:
        return "SHAKE256";
    default:
        return "unknown";
    }
}

size_t pkcs_hash_len(enum pkcs_hash h)
{
    switch (h) {
    case PKCS_HASH_SHA1:
        return 20;
    case PKCS_HASH_SHA224:
        return 28;
    case PKCS_HASH_SHA256:
    case PKCS_HASH_SM3:
        return 32;
    case PKCS_HASH_SHA384:
        return 48;
    case PKCS_HASH_SHA512:
    case PKCS_HASH_SHAKE256:
        return 64;
    default:
        return 0;
    }
}

static const EVP_MD *evp_md(enum pkcs_hash h)
{
    switch (h) {
    case PKCS_HASH_SHA1:
        return EVP_sha1();
    case PKCS_HASH_SHA224:
        return EVP_sha224();
    case PKCS_HASH_SHA256:
        return EVP_sha256();
    case PKCS_HASH_SHA384:
        return EVP_sha384();
    case PKCS_HASH_SHA512:
        return EVP_sha512();
    case PKCS_HASH_SM3:
        return EVP_sm3();
    case PKCS_HASH_SHAKE256:
        return EVP_shake256();
    default:
        return NULL;
    }
}

ecert_status pkcs_digest(enum pkcs_hash h, const struct pkcs_chunk *msg, size_t nchunks,
                         uint8_t out[PKCS_DIGEST_MAX], size_t *len)
{
    /* SM3 is ours (sm3.h): no EVP context to allocate, and faster. */
    if (h == PKCS_HASH_SM3) {
        struct sm3_ctx c;
        sm3_ctx_init(&c);
        for (size_t i = 0; i < nchunks; i++)
            sm3_ctx_update(&c, msg[i].p, msg[i].n);
        sm3_ctx_final(&c, out);
        *len = SM3_LEN;
        return ECERT_OK;
    }
    const EVP_MD *md = evp_md(h);
    if (!md)
        return err_set(ECERT_E_MALFORMED, "digest algorithm not supported");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ecert_status st = ECERT_OK;
    if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL)) {
        st = err_set(ECERT_E_CRYPTO, "digest: cannot start %s", pkcs_hash_name(h));
        goto done;
    }
    for (size_t i = 0; i < nchunks; i++) {
        if (msg[i].n && !EVP_DigestUpdate(ctx, msg[i].p, msg[i].n)) {
            st = err_set(ECERT_E_CRYPTO, "digest: update failed");
            goto done;
        }
    }
    unsigned int n = 0;
    size_t want = pkcs_hash_len(h);
    /* SHAKE256 is an XOF: RFC 8419 fixes its output at 512 bits. */
    int ok = h == PKCS_HASH_SHAKE256 ? EVP_DigestFinalXOF(ctx, out, want)
                                     : EVP_DigestFinal_ex(ctx, out, &n);
    if (!ok || (h != PKCS_HASH_SHAKE256 && n != want)) {
        st = err_set(ECERT_E_CRYPTO, "digest: final failed");
        goto done;
    }
    *len = want;
done:
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return st;
}

/* ---- keys -------------------------------------------------------------------*/

/* The SubjectPublicKeyInfo TLV of a DER certificate, located with the DER
 * reader (cheaper than a whole d2i_X509 for every signature checked). */
static bool cert_spki(const uint8_t *cert, size_t len, struct der *spki)
{
    struct der r = {cert, len}, c, tbs, skip;
    uint8_t tag;
    if (der_expect(&r, DER_SEQUENCE, &c) || der_expect(&c, DER_SEQUENCE, &tbs))
        return false;
    if (!der_empty(&tbs) && tbs.p[0] == 0xA0 && der_next(&tbs, &tag, &skip))
        return false;
    /* serialNumber, signature, issuer, validity, subject */
    static const uint8_t fields[] = {DER_INTEGER, DER_SEQUENCE, DER_SEQUENCE, DER_SEQUENCE,
                                     DER_SEQUENCE};
    for (size_t i = 0; i < sizeof fields; i++)
        if (der_expect(&tbs, fields[i], &skip))
            return false;
    const uint8_t *start = tbs.p;
    if (der_expect(&tbs, DER_SEQUENCE, &skip))
        return false;
    spki->p = start;
    spki->len = (size_t)(tbs.p - start);
    return true;
}

static EVP_PKEY *cert_public_key(const uint8_t *cert, size_t len)
{
    struct der spki;
    if (!cert_spki(cert, len, &spki))
        return NULL;
    const unsigned char *p = spki.p;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spki.len);
    ERR_clear_error();
    return pk;
}

/* The point of an SM2 key (id-ecPublicKey on sm2p256v1, or the SM2 OID as
 * the key algorithm), read straight from the SubjectPublicKeyInfo: decoding
 * it through OpenSSL costs more than the SM2 verification itself. */
static bool cert_sm2_point(const uint8_t *cert, size_t len, uint8_t xy[SM2_POINT_LEN])
{
    /* DER contents of the OIDs id-ecPublicKey and sm2p256v1 */
    static const uint8_t ec_oid[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
    static const uint8_t sm2_oid[] = {0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d};
    struct der spki, s, alg, oid, param, bits;
    if (!cert_spki(cert, len, &spki))
        return false;
    if (der_expect(&spki, DER_SEQUENCE, &s) || der_expect(&s, DER_SEQUENCE, &alg) ||
        der_expect(&alg, DER_OID, &oid) || der_expect(&s, DER_BIT_STRING, &bits) ||
        !der_empty(&s))
        return false;
    bool is_sm2 = oid.len == sizeof sm2_oid && memcmp(oid.p, sm2_oid, sizeof sm2_oid) == 0;
    if (!is_sm2 && oid.len == sizeof ec_oid && memcmp(oid.p, ec_oid, sizeof ec_oid) == 0 &&
        !der_expect(&alg, DER_OID, &param))
        is_sm2 = param.len == sizeof sm2_oid && memcmp(param.p, sm2_oid, sizeof sm2_oid) == 0;
    /* BIT STRING: no unused bits, then an uncompressed point 04 || x || y */
    if (!is_sm2 || bits.len != 2 + SM2_POINT_LEN || bits.p[0] != 0 || bits.p[1] != 0x04)
        return false;
    memcpy(xy, bits.p + 2, SM2_POINT_LEN);
    return true;
}

static bool pkey_is_sm2(EVP_PKEY *pk)
{
    char group[32];
    if (EVP_PKEY_is_a(pk, "SM2"))
        return true;
    bool sm2 = EVP_PKEY_is_a(pk, "EC") &&
               EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                              sizeof group, NULL) &&
               strcmp(group, "SM2") == 0;
    ERR_clear_error();
    return sm2;
}

static ecert_status fail(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ecert_status fail(char *why, size_t cap, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (why && cap)
        snprintf(why, cap, "%s", tmp);
    ERR_clear_error();
    return err_set(ECERT_E_SIGNATURE, "%s", tmp);
}

/* ---- algorithm identifiers ------------------------------------------------------*/

/* Hash named by an AlgorithmIdentifier TLV (PSS parameters, MGF1). */
static enum pkcs_hash alg_hash(struct der *alg)
{
    struct der seq, oid;
    char t[64];
    if (der_expect(alg, DER_SEQUENCE, &seq) || der_expect(&seq, DER_OID, &oid) ||
        !der_oid_text(&oid, t, sizeof t))
        return PKCS_HASH_UNKNOWN;
    return pkcs_hash_from_oid(t);
}

struct pss_params {
    enum pkcs_hash hash, mgf1_hash;
    long salt;
};

/* RSASSA-PSS-params (RFC 4055): every field has a default (SHA-1, MGF1 with
 * SHA-1, salt 20, trailer 1). */
static bool pss_params(struct der params, struct pss_params *out)
{
    out->hash = PKCS_HASH_SHA1;
    out->mgf1_hash = PKCS_HASH_SHA1;
    out->salt = 20;
    struct der seq, c;
    uint8_t tag;
    if (der_empty(&params))
        return true;
    if (der_expect(&params, DER_SEQUENCE, &seq) || !der_empty(&params))
        return false;
    while (!der_empty(&seq)) {
        if (der_next(&seq, &tag, &c))
            return false;
        if (tag == 0xA0) {
            out->hash = alg_hash(&c);
        } else if (tag == 0xA1) {
            struct der mgf, oid;
            char t[64];
            if (der_expect(&c, DER_SEQUENCE, &mgf) || der_expect(&mgf, DER_OID, &oid) ||
                !der_oid_text(&oid, t, sizeof t) || strcmp(t, "1.2.840.113549.1.1.8") != 0)
                return false; /* only MGF1 exists */
            out->mgf1_hash = alg_hash(&mgf);
        } else if (tag == 0xA2) {
            struct der in;
            if (der_expect(&c, DER_INTEGER, &in) || in.len == 0 || in.len > 2 || (in.p[0] & 0x80))
                return false;
            out->salt = in.len == 1 ? in.p[0] : (in.p[0] << 8 | in.p[1]);
        } else if (tag == 0xA3) {
            struct der in;
            if (der_expect(&c, DER_INTEGER, &in) || in.len != 1 || in.p[0] != 1)
                return false;
        } else {
            return false;
        }
    }
    return out->hash != PKCS_HASH_UNKNOWN && out->mgf1_hash != PKCS_HASH_UNKNOWN;
}

enum sig_kind { SIG_UNKNOWN, SIG_RSA, SIG_RSA_PSS, SIG_ECDSA, SIG_SM2, SIG_ED25519, SIG_ED448 };

static enum sig_kind sig_kind_of(const char *oid)
{
    static const struct {
        const char *oid;
        enum sig_kind k;
    } t[] = {
        {"1.2.840.113549.1.1.1", SIG_RSA},   {"1.2.840.113549.1.1.5", SIG_RSA},
        {"1.2.840.113549.1.1.11", SIG_RSA},  {"1.2.840.113549.1.1.12", SIG_RSA},
        {"1.2.840.113549.1.1.13", SIG_RSA},  {"1.2.840.113549.1.1.14", SIG_RSA},
        {"1.2.840.113549.1.1.10", SIG_RSA_PSS},
        {"1.2.840.10045.2.1", SIG_ECDSA}, /* id-ecPublicKey, as some signers write */
        {"1.2.840.10045.4.1", SIG_ECDSA},    {"1.2.840.10045.4.3.1", SIG_ECDSA},
        {"1.2.840.10045.4.3.2", SIG_ECDSA},  {"1.2.840.10045.4.3.3", SIG_ECDSA},
        {"1.2.840.10045.4.3.4", SIG_ECDSA},
        {"1.2.156.10197.1.501", SIG_SM2},    {"1.2.156.10197.1.301.1", SIG_SM2},
        {"1.2.156.10197.1.301", SIG_SM2},
        {"1.3.101.112", SIG_ED25519},        {"1.3.101.113", SIG_ED448},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].oid, oid) == 0)
            return t[i].k;
    return SIG_UNKNOWN;
}

/* ---- verification ------------------------------------------------------------------*/

static ecert_status verify_sm2(const uint8_t xy[SM2_POINT_LEN], const struct pkcs_chunk *msg,
                               size_t nchunks, const uint8_t *sig, size_t sig_len, char *why,
                               size_t whycap)
{
    uint8_t rs[SM2_SIG_LEN], z[32], e[PKCS_DIGEST_MAX];
    struct sm2_key *key = NULL;
    ecert_status st = sm2_key_from_public(NULL, xy, &key);
    if (st)
        return fail(why, whycap, "SM2 public key invalid");
    if (sm2_sig_decode_bytes(sig, sig_len, rs)) {
        sm2_key_free(key);
        return fail(why, whycap, "SM2 signature value malformed");
    }
    /* e = SM3(Z || M) with the GM/T 0009 default user ID. */
    st = sm2_z(key, (const uint8_t *)SM2_DEFAULT_ID, SM2_DEFAULT_ID_LEN, z);
    struct pkcs_chunk parts[9];
    size_t n = 0;
    if (!st && nchunks + 1 > sizeof parts / sizeof parts[0])
        st = err_set(ECERT_E_ARG, "too many message pieces");
    if (!st) {
        parts[n++] = (struct pkcs_chunk){z, sizeof z};
        for (size_t i = 0; i < nchunks; i++)
            parts[n++] = msg[i];
        size_t elen;
        st = pkcs_digest(PKCS_HASH_SM3, parts, n, e, &elen);
    }
    if (!st) {
        st = sm2_verify_digest(key, e, rs);
        if (st == ECERT_E_SIGNATURE)
            st = fail(why, whycap, "SM2 signature does not verify");
    }
    sm2_key_free(key);
    return st;
}

static ecert_status verify_eddsa(EVP_PKEY *pk, const struct pkcs_chunk *msg, size_t nchunks,
                                 const uint8_t *sig, size_t sig_len, char *why, size_t whycap)
{
    size_t total = 0;
    for (size_t i = 0; i < nchunks; i++) {
        if (msg[i].n > EDDSA_MESSAGE_MAX - total)
            return fail(why, whycap, "EdDSA message too long");
        total += msg[i].n;
    }
    uint8_t *buf = malloc(total ? total : 1);
    if (!buf)
        return err_set(ECERT_E_NOMEM, "out of memory");
    size_t off = 0;
    for (size_t i = 0; i < nchunks; i++) {
        if (msg[i].n)
            memcpy(buf + off, msg[i].p, msg[i].n);
        off += msg[i].n;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ecert_status st;
    if (!ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) != 1)
        st = fail(why, whycap, "EdDSA: cannot start verification");
    else if (EVP_DigestVerify(ctx, sig, sig_len, buf, total) != 1)
        st = fail(why, whycap, "EdDSA signature does not verify");
    else
        st = ECERT_OK;
    EVP_MD_CTX_free(ctx);
    free(buf);
    ERR_clear_error();
    return st;
}

/* RSA (PKCS#1 v1.5 or PSS) and ECDSA over a digest of the message. */
static ecert_status verify_digest(EVP_PKEY *pk, enum sig_kind kind, enum pkcs_hash h,
                                  const struct pss_params *pss, const struct pkcs_chunk *msg,
                                  size_t nchunks, const uint8_t *sig, size_t sig_len, char *why,
                                  size_t whycap)
{
    uint8_t dgst[PKCS_DIGEST_MAX];
    size_t dlen;
    ecert_status st = pkcs_digest(h, msg, nchunks, dgst, &dlen);
    if (st)
        return fail(why, whycap, "digest %s not supported for this signature", pkcs_hash_name(h));
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    if (!ctx || EVP_PKEY_verify_init(ctx) != 1 || EVP_PKEY_CTX_set_signature_md(ctx, evp_md(h)) != 1) {
        EVP_PKEY_CTX_free(ctx);
        return fail(why, whycap, "cannot set up %s verification", kind == SIG_ECDSA ? "ECDSA" : "RSA");
    }
    if (kind == SIG_RSA && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) {
        EVP_PKEY_CTX_free(ctx);
        return fail(why, whycap, "cannot set RSA padding");
    }
    if (kind == SIG_RSA_PSS &&
        (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)pss->salt) != 1 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, evp_md(pss->mgf1_hash)) != 1)) {
        EVP_PKEY_CTX_free(ctx);
        return fail(why, whycap, "cannot set RSA-PSS parameters");
    }
    int ok = EVP_PKEY_verify(ctx, sig, sig_len, dgst, dlen);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (ok != 1)
        return fail(why, whycap, "%s signature does not verify",
                    kind == SIG_ECDSA ? "ECDSA" : kind == SIG_RSA_PSS ? "RSA-PSS" : "RSA");
    return ECERT_OK;
}

ecert_status pkcs_verify(const uint8_t *cert, size_t cert_len, const uint8_t *sig_alg,
                         size_t sig_alg_len, enum pkcs_hash digest, const struct pkcs_chunk *msg,
                         size_t nchunks, const uint8_t *sig, size_t sig_len, char *why,
                         size_t whycap)
{
    if (why && whycap)
        why[0] = 0;
    if (!cert || !sig_alg || (!msg && nchunks) || !sig)
        return err_set(ECERT_E_ARG, "pkcs_verify: NULL argument");
    struct der alg = {sig_alg, sig_alg_len}, seq, oid;
    char oidt[64];
    if (der_expect(&alg, DER_SEQUENCE, &seq) || der_expect(&seq, DER_OID, &oid) ||
        !der_oid_text(&oid, oidt, sizeof oidt))
        return fail(why, whycap, "signature algorithm malformed");
    enum sig_kind kind = sig_kind_of(oidt);
    if (kind == SIG_UNKNOWN)
        return fail(why, whycap, "signature algorithm %s not supported", oidt);
    if (digest == PKCS_HASH_UNKNOWN)
        return fail(why, whycap, "digest algorithm not supported");
    /* SM2 keys are taken from the certificate directly; others via OpenSSL. */
    uint8_t xy[SM2_POINT_LEN];
    bool sm2key = cert_sm2_point(cert, cert_len, xy);
    if (sm2key && (kind == SIG_SM2 || (kind == SIG_ECDSA && digest == PKCS_HASH_SM3)))
        return verify_sm2(xy, msg, nchunks, sig, sig_len, why, whycap);
    EVP_PKEY *pk = cert_public_key(cert, cert_len);
    if (!pk)
        return err_set(ECERT_E_MALFORMED, "signer certificate: public key unreadable");
    ecert_status st;
    sm2key = sm2key || pkey_is_sm2(pk);
    struct pss_params pss = {0};
    switch (kind) {
    case SIG_SM2:
        if (!sm2key)
            st = fail(why, whycap, "SM2 signature but the certificate key is not SM2");
        else if (digest != PKCS_HASH_SM3)
            st = fail(why, whycap, "SM2 signature with %s (SM3 required)", pkcs_hash_name(digest));
        else
            st = fail(why, whycap, "SM2 public key unreadable");
        break;
    case SIG_ECDSA:
        /* Some Chinese signers label SM2 signatures with the generic EC OIDs
         * (with SM3 they were handled above). */
        if (!EVP_PKEY_is_a(pk, "EC") || sm2key)
            st = fail(why, whycap, "ECDSA signature but the certificate key is not EC");
        else
            st = verify_digest(pk, kind, digest, NULL, msg, nchunks, sig, sig_len, why, whycap);
        break;
    case SIG_RSA:
    case SIG_RSA_PSS:
        if (!EVP_PKEY_is_a(pk, "RSA") && !EVP_PKEY_is_a(pk, "RSA-PSS")) {
            st = fail(why, whycap, "RSA signature but the certificate key is not RSA");
            break;
        }
        if (kind == SIG_RSA_PSS) {
            struct der params = seq;
            if (!pss_params(params, &pss)) {
                st = fail(why, whycap, "RSA-PSS parameters malformed or unsupported");
                break;
            }
            if (pss.hash != digest) {
                st = fail(why, whycap, "RSA-PSS hash %s differs from the digest algorithm %s",
                          pkcs_hash_name(pss.hash), pkcs_hash_name(digest));
                break;
            }
        }
        st = verify_digest(pk, kind, digest, &pss, msg, nchunks, sig, sig_len, why, whycap);
        break;
    case SIG_ED25519:
    case SIG_ED448: {
        /* RFC 8419 §3: the digest that fills messageDigest is fixed per curve. */
        enum pkcs_hash need = kind == SIG_ED25519 ? PKCS_HASH_SHA512 : PKCS_HASH_SHAKE256;
        const char *name = kind == SIG_ED25519 ? "ED25519" : "ED448";
        if (!EVP_PKEY_is_a(pk, name))
            st = fail(why, whycap, "%s signature but the certificate key is not %s", name, name);
        else if (digest != need)
            st = fail(why, whycap, "%s with %s is not allowed (RFC 8419 requires %s)", name,
                      pkcs_hash_name(digest), pkcs_hash_name(need));
        else
            st = verify_eddsa(pk, msg, nchunks, sig, sig_len, why, whycap);
        break;
    }
    default:
        st = fail(why, whycap, "signature algorithm %s not supported", oidt);
        break;
    }
    EVP_PKEY_free(pk);
    ERR_clear_error();
    return st;
}

/* ---- signing ---------------------------------------------------------------------*/

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static EVP_PKEY *load_private(const char *pem, size_t len)
{
    if (!pem || len == 0 || len > (1u << 20))
        return NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    return pk;
}

ecert_status pkcs_ecdsa_p256_sign(const char *key_pem, size_t key_len, const uint8_t *msg,
                                  size_t len, uint8_t sig[PKCS_ECDSA_SIG_MAX], size_t *sig_len)
{
    EVP_PKEY *pk = load_private(key_pem, key_len);
    if (!pk)
        return err_set(ECERT_E_MALFORMED, "ECDSA key: not an unencrypted PEM private key");
    char group[32] = "";
    if (!EVP_PKEY_is_a(pk, "EC") ||
        !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        NULL) ||
        strcmp(group, "prime256v1") != 0) {
        EVP_PKEY_free(pk);
        ERR_clear_error();
        return err_set(ECERT_E_MALFORMED, "ECDSA key: not a P-256 key");
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n = PKCS_ECDSA_SIG_MAX;
    ecert_status st = ECERT_OK;
    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk) != 1 ||
        EVP_DigestSign(ctx, sig, &n, msg, len) != 1)
        st = err_set(ECERT_E_CRYPTO, "ECDSA signing failed");
    else
        *sig_len = n;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    ERR_clear_error();
    return st;
}

bool pkcs_key_matches_cert(const char *key_pem, size_t key_len, const uint8_t *cert,
                           size_t cert_len)
{
    EVP_PKEY *priv = load_private(key_pem, key_len);
    EVP_PKEY *pub = cert_public_key(cert, cert_len);
    bool ok = priv && pub && EVP_PKEY_eq(priv, pub) == 1;
    EVP_PKEY_free(priv);
    EVP_PKEY_free(pub);
    ERR_clear_error();
    return ok;
}
