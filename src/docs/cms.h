/*
 * cms.h — a strict, bounded reader of CMS / PKCS#7 SignedData (RFC 5652,
 * GB/T 35275) as found in PDF signatures (/Contents), on common/der.h.
 *
 * It only locates fields: every `struct der` points into the caller's buffer,
 * which must outlive the parsed structure. Before any field is read the whole
 * input is walked once with a nesting bound (CMS_MAX_DEPTH); counts are
 * capped. DER only (definite lengths): BER indefinite lengths are refused.
 * Checking digests and signatures is the verifier's job (docs/pdf.c).
 */
#ifndef ECERT_DOCS_CMS_H
#define ECERT_DOCS_CMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/der.h"

#define CMS_MAX_DEPTH 48          /* nested constructed TLVs (time stamps in attributes nest deep) */
#define CMS_MAX_INPUT (1u << 20)  /* one SignedData */
#define CMS_MAX_CERTIFICATES 32
#define CMS_MAX_SIGNER_INFOS 8
#define CMS_MAX_ATTRIBUTES 32     /* per attribute set */

struct cms_signer_info {
    int version;                /* 1 (issuer+serial) or 3 (SKI) */
    bool sid_is_ski;
    struct der sid_issuer;      /* Name TLV of IssuerAndSerialNumber */
    struct der sid_serial;      /* its INTEGER contents */
    struct der sid_ski;         /* [0] SubjectKeyIdentifier contents */
    struct der digest_alg;      /* OID contents */
    bool has_signed_attrs;
    struct der signed_attrs;    /* the whole [0] IMPLICIT TLV (signed as a SET: tag 0x31) */
    bool has_content_type;
    struct der content_type;    /* contentType attribute, OID contents */
    bool has_message_digest;
    struct der message_digest;  /* messageDigest attribute, OCTET STRING contents */
    uint8_t signing_time_tag;   /* 0x17 UTCTime, 0x18 GeneralizedTime, 0 when absent */
    struct der signing_time;    /* its contents */
    struct der sig_alg;         /* signatureAlgorithm: whole AlgorithmIdentifier TLV */
    struct der sig_alg_oid;     /* its OID contents */
    struct der signature;       /* OCTET STRING contents */
    bool has_unsigned_attrs;
    struct der unsigned_attrs;  /* the [1] TLV contents */
};

struct cms_signed_data {
    bool gm_oids;               /* outer type is the GB/T 35275 OID (else PKCS#7) */
    int version;
    struct der econtent_type;   /* encapsulated content type, OID contents */
    bool has_econtent;          /* eContent present (even when empty) */
    struct der econtent;        /* its OCTET STRING contents */
    size_t ncerts;
    struct der certs[CMS_MAX_CERTIFICATES]; /* Certificate TLVs (other choices skipped) */
    size_t nsigners;
    struct cms_signer_info signers[CMS_MAX_SIGNER_INFOS];
};

/* Parses a ContentInfo holding SignedData that is exactly p[0..len).
 * ECERT_E_MALFORMED (detail says where) or ECERT_E_TOO_LONG. */
ecert_status cms_parse(const uint8_t *p, size_t len, struct cms_signed_data *out);

/* Length of the one DER TLV at the start of p[0..len) (header included), for
 * callers that hold it in a zero-padded slot such as a PDF /Contents.
 * ECERT_E_MALFORMED when there is no complete TLV. */
ecert_status cms_tlv_length(const uint8_t *p, size_t len, size_t *out);

/* UTCTime / GeneralizedTime contents to "YYYY-MM-DDTHH:MM:SSZ" and Unix
 * seconds. Only the Z (UTC) forms RFC 5280 allows, plus GeneralizedTime
 * fractions and +hhmm offsets that some time stamp authorities write. */
ecert_status cms_time(uint8_t tag, const struct der *t, char out[32], int64_t *unix_time);

/* RFC 3161 TSTInfo (the eContent of a time-stamp token). */
struct cms_tst_info {
    struct der policy;          /* OID contents */
    struct der imprint_alg;     /* messageImprint hashAlgorithm OID contents */
    struct der imprint;         /* hashedMessage contents */
    struct der gen_time;        /* GeneralizedTime contents */
};
ecert_status cms_parse_tst_info(const uint8_t *p, size_t len, struct cms_tst_info *out);

/* Dotted OIDs the PDF verifier and signer use. */
#define CMS_OID_DATA "1.2.840.113549.1.7.1"
#define CMS_OID_SIGNED_DATA "1.2.840.113549.1.7.2"
#define CMS_OID_GM_DATA "1.2.156.10197.6.1.4.2.1"
#define CMS_OID_GM_SIGNED_DATA "1.2.156.10197.6.1.4.2.2"
#define CMS_OID_TST_INFO "1.2.840.113549.1.9.16.1.4"
#define CMS_OID_CONTENT_TYPE "1.2.840.113549.1.9.3"
#define CMS_OID_MESSAGE_DIGEST "1.2.840.113549.1.9.4"
#define CMS_OID_SIGNING_TIME "1.2.840.113549.1.9.5"

#endif
