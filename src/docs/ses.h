/*
 * ses.h — the ASN.1 of Chinese electronic seals and signatures, read from
 * hostile bytes with the bounded DER reader of common/der.h:
 *
 *   - SES_Signature and SESeal, GB/T 38540-2020 (version 4; the "version 5"
 *     layout some producers write is the same with optional time stamps) and
 *     GM/T 0031-2014 (version 1);
 *   - GB/T 35275 (and PKCS#7/CMS) SignedData, with or without signed
 *     attributes, with or without encapsulated content.
 *
 * The parsers only locate fields: every `struct der` below points into the
 * caller's buffer, which must outlive the parsed structure. Before any field
 * is read the whole input is walked once with a nesting bound (SES_MAX_DEPTH),
 * and every count is capped. Checking signatures is the verifier's job.
 */
#ifndef ECERT_DOCS_SES_H
#define ECERT_DOCS_SES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/der.h"

#define SES_MAX_DEPTH 32    /* nested constructed TLVs */
#define SES_MAX_INPUT (16u << 20)
#define SES_MAX_CERTS 16
#define SES_MAX_SIGNERS 4

/* Dotted OIDs used by the verifiers. */
#define OID_SM2_SM3 "1.2.156.10197.1.501"    /* SM2 signature with SM3 */
#define OID_SM2_SIGN "1.2.156.10197.1.301.1" /* SM2-1 signature */
#define OID_SM2 "1.2.156.10197.1.301"
#define OID_SM3 "1.2.156.10197.1.401"
#define OID_GM_DATA "1.2.156.10197.6.1.4.2.1"
#define OID_GM_SIGNED_DATA "1.2.156.10197.6.1.4.2.2"
#define OID_PKCS7_DATA "1.2.840.113549.1.7.1"
#define OID_PKCS7_SIGNED_DATA "1.2.840.113549.1.7.2"
#define OID_CONTENT_TYPE "1.2.840.113549.1.9.3"
#define OID_MESSAGE_DIGEST "1.2.840.113549.1.9.4"
#define OID_SIGNING_TIME "1.2.840.113549.1.9.5"

/* The whole input is a sequence of TLVs nested at most max_depth deep.
 * ECERT_E_MALFORMED otherwise. */
ecert_status ses_check_nesting(const uint8_t *p, size_t len, int max_depth);

/* ---- seals ----------------------------------------------------------------- */

struct ses_seal {
    int version;             /* SES_Header version: 1 (GM/T 0031), 4, 5 */
    bool v1_layout;          /* SESeal { sealInfo, SES_SignInfo } (GM/T 0031) */
    struct der whole;        /* the SESeal TLV (Seal.esl holds these bytes) */
    struct der seal_info;    /* SES_SealInfo TLV: what the seal maker signed (v4) */
    struct der cert_tlv;     /* maker certificate OCTET STRING TLV (v1 TBS) */
    struct der alg_tlv;      /* signature algorithm OID TLV (v1 TBS) */
    struct der header_id;    /* "ES" */
    struct der vid;          /* vendor id */
    struct der es_id;        /* seal identifier */
    long type;               /* seal type */
    struct der name;         /* seal name, UTF8String contents */
    int cert_list_type;      /* 1 = certificates, 2 = certificate digests */
    struct der cert_list;    /* SEQUENCE OF contents */
    uint8_t time_tag;        /* tag of the dates: GeneralizedTime or UTCTime */
    struct der create_date, valid_start, valid_end;
    struct der pic_type;     /* "PNG", "GIF", "OFD", ... */
    struct der pic_data;
    long pic_width, pic_height;
    struct der maker_cert;   /* DER certificate of the seal maker */
    struct der sign_alg;     /* OID contents */
    struct der signed_value; /* signature bytes (BIT STRING without unused-bits octet) */
};

/* Parses one SESeal TLV (all of p[0..len)). */
ecert_status ses_parse_seal(const uint8_t *p, size_t len, struct ses_seal *out);

/* The i-th entry of the seal's certificate list: a DER certificate when
 * cert_list_type is 1, or (digest type text, digest value) when 2.
 * ECERT_E_NOT_FOUND past the end. */
ecert_status ses_seal_cert_at(const struct ses_seal *s, size_t i, struct der *cert,
                              struct der *digest_type, struct der *digest);

/* ---- signatures ------------------------------------------------------------- */

struct ses_signature {
    int version;             /* TBS_Sign version: 1, 4, 5 */
    bool v1_layout;          /* GM/T 0031: cert and algorithm inside TBS_Sign */
    struct der tbs;          /* TBS_Sign TLV: what the signer signed */
    struct ses_seal seal;
    uint8_t time_tag;        /* GeneralizedTime, UTCTime or BIT STRING (v1 text) */
    struct der time;         /* its contents (BIT STRING: without the unused-bits octet) */
    struct der data_hash;    /* digest of Signature.xml */
    struct der property_info; /* the Signature.xml path */
    struct der cert;         /* signer certificate DER */
    struct der sig_alg;      /* OID contents */
    struct der signature;    /* signature bytes */
};

/* Parses one SES_Signature (v1, v4 or v5) that is all of p[0..len). */
ecert_status ses_parse_signature(const uint8_t *p, size_t len, struct ses_signature *out);

/* ---- GB/T 35275 / PKCS#7 SignedData ------------------------------------------ */

struct ses_signer {
    struct der issuer;        /* Name TLV of IssuerAndSerialNumber, or empty */
    struct der serial;        /* its INTEGER contents */
    struct der ski;           /* [0] SubjectKeyIdentifier contents, or empty */
    struct der digest_alg;    /* OID contents */
    bool has_signed_attrs;
    struct der signed_attrs;  /* the [0] IMPLICIT TLV; signed as a SET (tag 0x31) */
    bool has_message_digest;
    struct der message_digest; /* OCTET STRING contents */
    bool has_content_type;
    struct der content_type;  /* OID contents of the contentType attribute */
    uint8_t signing_time_tag; /* 0 when absent */
    struct der signing_time;
    struct der sig_alg;       /* OID contents */
    struct der signature;     /* OCTET STRING contents */
};

struct ses_signed_data {
    bool gm;                  /* outer type is the GB/T 35275 OID (else PKCS#7) */
    struct der content_type;  /* encapsulated content type, OID contents */
    bool has_content;
    struct der content;       /* encapsulated content octets */
    size_t ncerts;
    struct der certs[SES_MAX_CERTS]; /* certificate TLVs */
    size_t nsigners;
    struct ses_signer signers[SES_MAX_SIGNERS];
};

/* Parses a ContentInfo holding SignedData that is all of p[0..len). */
ecert_status ses_parse_signed_data(const uint8_t *p, size_t len, struct ses_signed_data *out);

#endif
