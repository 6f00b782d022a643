/*
 * x509_issue.h — issuing SM2 certificates with a chosen subject, for the
 * seal hierarchy of certificate files (GB/T 38540): per province, a seal
 * maker and issuing authorities under the province's SM2 root.
 *
 * Certificates are signed SM2-with-SM3 with the user ID 1234567812345678 and
 * produced as DER (what SES structures embed); x509_der_to_pem converts for
 * storage. Subject fields are UTF-8, at most X509_ISSUE_FIELD_MAX characters.
 */
#ifndef ECERT_CRYPTO_X509_ISSUE_H
#define ECERT_CRYPTO_X509_ISSUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/buf.h"
#include "crypto/sm2.h"

#define X509_ISSUE_FIELD_MAX 64
#define X509_ISSUE_DAYS_MAX 36500u

struct x509_subject {
    const char *c;  /* countryName, e.g. "CN" (NULL = absent) */
    const char *o;  /* organizationName */
    const char *ou; /* organizationalUnitName */
    const char *cn; /* commonName (required) */
};

enum x509_issue_role {
    X509_ISSUE_CA,     /* CA:TRUE, keyCertSign + cRLSign */
    X509_ISSUE_SIGNER, /* CA:FALSE, digitalSignature + nonRepudiation */
};

/* Issues a certificate for `pub` with `subject`, signed by `ca_key`, valid
 * from `not_before` (Unix seconds; 0 = now minus five minutes) for `days`
 * days. `ca_der` is the issuer's certificate (DER); NULL makes a self-signed
 * certificate (then `pub` must be `ca_key`'s public key). Appends DER to
 * `der_out`. ECERT_E_MALFORMED for a subject field out of bounds or a CA key
 * that does not belong to the CA certificate. */
ecert_status x509_sm2_issue(const uint8_t *ca_der, size_t ca_len, const struct sm2_key *ca_key,
                            const struct x509_subject *subject, const struct sm2_key *pub,
                            enum x509_issue_role role, int64_t not_before, unsigned days,
                            struct buf *der_out);

/* PEM "CERTIFICATE" text of a DER certificate, appended to `pem`. */
ecert_status x509_der_to_pem(const uint8_t *der, size_t len, struct buf *pem);
/* The DER of the first certificate of a PEM text, appended to `der`. */
ecert_status x509_pem_to_der(const char *pem, size_t len, struct buf *der);

#endif
