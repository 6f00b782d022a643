/*
 * x509.h — the development PKI: the certificates a local federation needs,
 * made and read with OpenSSL 3.0 (the crypto module is the only one that
 * includes it).
 *
 * Two separate hierarchies, for two separate jobs (docs/pki.md):
 *
 *   - TLS: an ECDSA P-256 CA and server certificates issued by it. The server
 *     side of TLS is GnuTLS (under libmicrohttpd), which cannot use SM2
 *     certificates, so transport security stays on P-256.
 *   - SM2: an SM2 CA (SM2-with-SM3, OID 1.2.156.10197.1.501) that issues the
 *     app certificates of SPEC 表8. The business data is protected by SM2
 *     inside the envelope, not by TLS.
 *
 * Every SM2 signature made or checked here uses the user ID (distinguishing
 * ID) "1234567812345678" explicitly: OpenSSL 3.0 defaults to an empty ID,
 * which no Chinese peer uses.
 *
 * Output is PEM text appended to a struct buf (the buffer is not reset);
 * private keys are PKCS#8 "PRIVATE KEY" without a passphrase. Input PEM text
 * is (text, len), at most X509_PEM_MAX bytes, and need not be NUL-terminated.
 */
#ifndef ECERT_CRYPTO_X509_H
#define ECERT_CRYPTO_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/buf.h"
#include "crypto/sm2.h"

#define X509_PEM_MAX (64u * 1024) /* one certificate or key, as PEM text */
#define X509_DAYS_MAX 36500u      /* validity: 1 .. 100 years */
#define X509_NAME_FIELD_MAX 64    /* X.520 upper bound of CN and O, characters */

/* ---- TLS (ECDSA P-256, SHA-256) ------------------------------------------ */

/* A self-signed CA: fresh P-256 key, subject CN=cn, basicConstraints CA:TRUE
 * (critical), keyUsage keyCertSign+cRLSign, valid `days` days from now (less
 * five minutes, for clock skew). */
ecert_status x509_tls_ca_new(const char *cn, unsigned days, struct buf *cert_pem,
                             struct buf *key_pem);

/* A TLS server certificate issued by the CA: fresh P-256 key, subject CN=cn
 * (NULL = the first DNS name, else the first IP), subjectAltName from the
 * NULL-terminated lists `dns` ("localhost") and `ips` ("127.0.0.1", "::1"),
 * extendedKeyUsage serverAuth, keyUsage digitalSignature, CA:FALSE. At least
 * one name is required. ECERT_E_MALFORMED for a bad name or address, or when
 * the CA key does not belong to the CA certificate. */
ecert_status x509_tls_server_new(const char *ca_cert_pem, size_t ca_cert_len,
                                 const char *ca_key_pem, size_t ca_key_len, const char *cn,
                                 const char *const *dns, const char *const *ips, unsigned days,
                                 struct buf *cert_pem, struct buf *key_pem);

/* Checks a TLS certificate (the first of a PEM chain) and its PEM private key
 * before a server loads them: both parse and the key belongs to the
 * certificate. ECERT_E_MALFORMED (detail says which) otherwise. Lets the
 * server report a bad file clearly (GnuTLS only says it failed, and leaks on
 * some of its error paths). */
ecert_status x509_tls_check_pair(const char *cert_pem, size_t cert_len, const char *key_pem,
                                 size_t key_len);

/* ---- SM2 (SM2-with-SM3, user ID 1234567812345678) ------------------------ */

/* A self-signed SM2 CA for `ca_key` (which must hold its private part):
 * subject C=CN, CN=cn, CA:TRUE, keyCertSign+cRLSign, `days` days. */
ecert_status x509_sm2_ca_new(const struct sm2_key *ca_key, const char *cn, unsigned days,
                             struct buf *cert_pem);

/* The subject of an app certificate (SPEC 表8). */
struct x509_app_subject {
    const char *app_id;    /* -> CN, 1-64 printable ASCII */
    const char *corp_name; /* -> O, 1-64 UTF-8 characters */
    const char *corp_code; /* -> organizationIdentifier (2.5.4.97), 1-64 of [0-9A-Za-z-] */
};

/* An app certificate: `subject`, the app's SM2 public key `app_pub`, issued by
 * the SM2 CA (its certificate and private key), random 128-bit serial,
 * CA:FALSE, keyUsage digitalSignature+keyEncipherment+dataEncipherment,
 * valid `days` days. ECERT_E_MALFORMED for a subject field out of its limits
 * or a CA key that does not match the CA certificate. */
ecert_status x509_sm2_app_new(const char *ca_cert_pem, size_t ca_cert_len,
                              const struct sm2_key *ca_key, const struct x509_app_subject *subject,
                              const struct sm2_key *app_pub, unsigned days, struct buf *cert_pem);

/* Checks that `cert` was issued by the SM2 CA `ca`: SM2-with-SM3 signature
 * valid under the CA key with the user ID 1234567812345678, issuer name equal
 * to the CA's subject (and key identifiers equal when both are present), the
 * CA certificate is a CA, and both are valid at `at` (Unix seconds; 0 = now).
 * ECERT_OK, or ECERT_E_SIGNATURE (detail says which check failed), or
 * ECERT_E_MALFORMED when a PEM text is not a certificate. */
ecert_status x509_sm2_verify(const char *cert_pem, size_t cert_len, const char *ca_pem,
                             size_t ca_len, int64_t at);

/* ---- reading certificates ------------------------------------------------ */

struct x509_info {
    char subject_cn[4 * X509_NAME_FIELD_MAX + 1]; /* UTF-8, "" if absent */
    char subject_o[4 * X509_NAME_FIELD_MAX + 1];
    char subject_org_id[4 * X509_NAME_FIELD_MAX + 1]; /* organizationIdentifier */
    char issuer_cn[4 * X509_NAME_FIELD_MAX + 1];
    char serial_hex[2 * 20 + 1]; /* lowercase, RFC 5280 caps serials at 20 octets */
    char key_type[32];           /* "SM2", "prime256v1", "RSA", ... */
    char sig_alg[48];            /* "SM2-with-SM3", "ecdsa-with-SHA256", ... */
    char public_key_hex[131];    /* "04" + x + y for 256-bit EC keys (SM2, P-256), else "" */
    int64_t not_before;          /* Unix seconds */
    int64_t not_after;
    bool is_ca;
};

/* Parses one PEM certificate. ECERT_E_MALFORMED when it is not one, or when a
 * name field is over its X.520 bound. */
ecert_status x509_info(const char *pem, size_t len, struct x509_info *out);

/* The SM2 public key of an SM2 certificate, as a key handle (sm2_key_free). */
ecert_status x509_sm2_public_key(const char *pem, size_t len, struct sm2_key **out);

#endif
