/*
 * x509_verify.h — reading certificates found inside signed files, and
 * building their chains to configurable trust anchors.
 *
 * Certificates come from hostile input (SES seals, CMS SignedData), as DER.
 * A `struct x509_cert` is parsed once and immutable afterwards (reference
 * counted: x509_cert_free drops one reference), so certificates in a trust
 * store can be shared by every verifying thread. The last 64 distinct
 * certificates parsed are kept in a process-wide cache, so the few that sign
 * most files are parsed once, and their SM2 keys stay warm.
 *
 * SM2-with-SM3 signatures on certificates are checked with the project's SM2
 * code over the TBSCertificate bytes as they appear in the certificate, with
 * the user ID 1234567812345678 (GM/T 0009), never OpenSSL 3.0's empty
 * default. RSA and ECDSA certificate signatures go through OpenSSL.
 */
#ifndef ECERT_CRYPTO_X509_VERIFY_H
#define ECERT_CRYPTO_X509_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "crypto/sm2.h"

#define X509_CERT_DER_MAX (64u * 1024) /* one certificate */
#define X509_CHAIN_MAX 8               /* certificates in a path, leaf included */
#define X509_STORE_MAX 256             /* certificates in one store */

struct x509_cert;

enum x509_key_kind {
    X509_KEY_OTHER = 0,
    X509_KEY_SM2,   /* id-ecPublicKey (or SM2 OID) on sm2p256v1 */
    X509_KEY_EC,    /* another elliptic curve (P-256, ...) */
    X509_KEY_RSA,
};

/* One DER certificate; trailing bytes after it are refused. */
ecert_status x509_cert_from_der(const uint8_t *der, size_t len, struct x509_cert **out);
void x509_cert_free(struct x509_cert *c);

/* The DER bytes the certificate was parsed from (borrowed). */
const uint8_t *x509_cert_der(const struct x509_cert *c, size_t *len);
/* "C=CN, O=..., CN=..." in certificate order, UTF-8; cut to cap-1 bytes. */
void x509_cert_subject(const struct x509_cert *c, char *out, size_t cap);
void x509_cert_issuer(const struct x509_cert *c, char *out, size_t cap);
/* The subject's CN (UTF-8), "" if absent; cut to cap-1 bytes. */
void x509_cert_subject_cn(const struct x509_cert *c, char *out, size_t cap);
ecert_status x509_cert_validity(const struct x509_cert *c, int64_t *not_before,
                                int64_t *not_after);
enum x509_key_kind x509_cert_key_kind(const struct x509_cert *c);
bool x509_cert_is_ca(const struct x509_cert *c);
/* The SM2 public key (sm2_key_free); ECERT_E_MALFORMED for another key type. */
ecert_status x509_cert_sm2_key(const struct x509_cert *c, struct sm2_key **out);

/* true when the certificate's issuer Name (DER, as in a CMS
 * IssuerAndSerialNumber) and serial (INTEGER contents) are these. */
bool x509_cert_has_issuer_serial(const struct x509_cert *c, const uint8_t *name_der,
                                 size_t name_len, const uint8_t *serial, size_t serial_len);
/* true when the subjectKeyIdentifier extension is `ski`. */
bool x509_cert_has_ski(const struct x509_cert *c, const uint8_t *ski, size_t len);
/* true when both hold the same DER. */
bool x509_cert_equal(const struct x509_cert *a, const struct x509_cert *b);

/* Checks that `c` names `issuer` as its issuer and that its signature
 * verifies under the issuer's key. ECERT_OK or ECERT_E_SIGNATURE. */
ecert_status x509_cert_check_issued_by(const struct x509_cert *c,
                                       const struct x509_cert *issuer);

/* ---- stores ---------------------------------------------------------------- */

/* A set of certificates (trust anchors, or a pool of intermediates). Built
 * once, then read-only: safe to share between threads. */
struct x509_store;

ecert_status x509_store_new(struct x509_store **out);
void x509_store_free(struct x509_store *s);
ecert_status x509_store_add_der(struct x509_store *s, const uint8_t *der, size_t len);
/* Every "CERTIFICATE" block of a PEM text (at least one). */
ecert_status x509_store_add_pem(struct x509_store *s, const char *pem, size_t len);
/* Moves a parsed certificate into the store (which frees it from then on,
 * also when this fails). */
ecert_status x509_store_take(struct x509_store *s, struct x509_cert *c);
/* A PEM text or one DER certificate, whichever `data` is. */
ecert_status x509_store_add(struct x509_store *s, const uint8_t *data, size_t len);
size_t x509_store_count(const struct x509_store *s);
const struct x509_cert *x509_store_get(const struct x509_store *s, size_t i);

/* Builds a path from `leaf` to a certificate of `anchors`, issuers taken from
 * the `npools` stores of `pools` (entries may be NULL) or from `anchors`, at
 * most X509_CHAIN_MAX long. Every
 * certificate on the path must be valid at `at` (Unix seconds), every issuer
 * must be a CA, every signature must verify. A leaf that is itself an anchor
 * is trusted. ECERT_OK when trusted; otherwise ECERT_E_SIGNATURE with the
 * reason in why[] (and in the error detail). */
ecert_status x509_chain_verify(const struct x509_cert *leaf,
                               const struct x509_store *const *pools, size_t npools,
                               const struct x509_store *anchors, int64_t at, char *why,
                               size_t whycap);

#endif
