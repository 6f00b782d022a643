/*
 * ses.c — SES_Signature / SESeal (GB/T 38540, GM/T 0031) and GB/T 35275
 * SignedData, located field by field in DER (see ses.h).
 *
 * Layouts, as the standards and the files in the wild have them:
 *
 *   SES_Signature v4 ::= SEQUENCE { toSign TBS_Sign, cert OCTET STRING,
 *       signatureAlgorithm OID, signature BIT STRING, timeStamp [0] OPTIONAL }
 *   TBS_Sign v4 ::= SEQUENCE { version INTEGER, eseal SESeal,
 *       timeInfo GeneralizedTime, dataHash BIT STRING, propertyInfo IA5String,
 *       extDatas [0] OPTIONAL }
 *   SES_Signature v1 ::= SEQUENCE { toSign TBS_Sign, signature BIT STRING }
 *   TBS_Sign v1 ::= SEQUENCE { version INTEGER, eseal SESeal,
 *       timeInfo BIT STRING (text), dataHash BIT STRING, propertyInfo IA5String,
 *       cert OCTET STRING, signatureAlgorithm OID, ... }
 *
 *   SESeal v4 ::= SEQUENCE { eSealInfo SES_SealInfo, cert OCTET STRING,
 *       signAlgID OID, signedValue BIT STRING, ... }
 *   SESeal v1 ::= SEQUENCE { eSealInfo SES_SealInfo,
 *       signInfo SEQUENCE { cert OCTET STRING, signatureAlgorithm OID, signData BIT STRING } }
 *   SES_SealInfo ::= SEQUENCE { header SEQUENCE { ID IA5String, version INTEGER,
 *       Vid IA5String }, esID IA5String, property SES_ESPropertyInfo,
 *       picture SEQUENCE { type IA5String, data OCTET STRING, width INTEGER,
 *       height INTEGER }, extDatas OPTIONAL }
 *   SES_ESPropertyInfo v4 ::= SEQUENCE { type INTEGER, name UTF8String,
 *       certListType INTEGER, certList SEQUENCE OF ..., createDate, validStart,
 *       validEnd GeneralizedTime }
 *   SES_ESPropertyInfo v1: the same without certListType, dates as UTCTime.
 *
 * Where producers disagree on a string type (BIT STRING vs OCTET STRING for a
 * hash or a signature, UTCTime vs GeneralizedTime) either is accepted: the
 * value is what is checked later, not its wrapping.
 */
#include "docs/ses.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"

#define DER_IA5STRING 0x16
#define DER_PRINTABLE 0x13
#define DER_UTCTIME 0x17
#define DER_GENTIME 0x18
#define DER_CTX0_C 0xA0 /* [0] constructed */
#define DER_CTX1_C 0xA1
#define DER_CTX0_P 0x80 /* [0] primitive */

static ecert_status bad(const char *what)
{
    return err_set(ECERT_E_MALFORMED, "%s", what);
}

/* ---- generic ------------------------------------------------------------------ */

ecert_status ses_check_nesting(const uint8_t *p, size_t len, int max_depth)
{
    if (len > SES_MAX_INPUT)
        return err_set(ECERT_E_TOO_LONG, "ASN.1: %zu bytes, limit %u", len, SES_MAX_INPUT);
    return der_check_nesting(p, len, max_depth);
}

/* Reads the next TLV, returning both its contents and the whole TLV. */
static ecert_status next_tlv(struct der *r, uint8_t *tag, struct der *content, struct der *tlv)
{
    const uint8_t *start = r->p;
    ecert_status st = der_next(r, tag, content);
    if (st)
        return st;
    if (tlv) {
        tlv->p = start;
        tlv->len = (size_t)(r->p - start);
    }
    return ECERT_OK;
}

static ecert_status expect_tlv(struct der *r, uint8_t want, struct der *content, struct der *tlv,
                               const char *what)
{
    uint8_t tag;
    if (next_tlv(r, &tag, content, tlv) || tag != want)
        return err_set(ECERT_E_MALFORMED, "%s: missing or wrong type", what);
    return ECERT_OK;
}

/* A small non-negative INTEGER (versions, types, sizes). */
static ecert_status small_int(struct der *r, long *out, const char *what)
{
    struct der c;
    if (expect_tlv(r, DER_INTEGER, &c, NULL, what))
        return ECERT_E_MALFORMED;
    if (c.len == 0 || c.len > 4 || (c.p[0] & 0x80))
        return err_set(ECERT_E_MALFORMED, "%s: INTEGER out of range", what);
    long v = 0;
    for (size_t i = 0; i < c.len; i++)
        v = (v << 8) | c.p[i];
    *out = v;
    return ECERT_OK;
}

/* BIT STRING (without its unused-bits octet, which must be 0) or OCTET STRING. */
static ecert_status octets(struct der *r, struct der *out, const char *what)
{
    uint8_t tag;
    struct der c;
    if (next_tlv(r, &tag, &c, NULL))
        return err_set(ECERT_E_MALFORMED, "%s: missing", what);
    if (tag == DER_OCTET_STRING) {
        *out = c;
        return ECERT_OK;
    }
    if (tag == DER_BIT_STRING && c.len >= 1 && c.p[0] == 0) {
        out->p = c.p + 1;
        out->len = c.len - 1;
        return ECERT_OK;
    }
    return err_set(ECERT_E_MALFORMED, "%s: not a BIT STRING or OCTET STRING", what);
}

static bool is_time_tag(uint8_t t)
{
    return t == DER_UTCTIME || t == DER_GENTIME;
}

/* ---- seals ---------------------------------------------------------------------- */

static ecert_status parse_header(struct der *info, struct ses_seal *s)
{
    struct der h;
    long version;
    if (expect_tlv(info, DER_SEQUENCE, &h, NULL, "SES_Header") ||
        expect_tlv(&h, DER_IA5STRING, &s->header_id, NULL, "SES_Header.ID") ||
        small_int(&h, &version, "SES_Header.version") ||
        expect_tlv(&h, DER_IA5STRING, &s->vid, NULL, "SES_Header.Vid"))
        return ECERT_E_MALFORMED;
    if (s->header_id.len != 2 || memcmp(s->header_id.p, "ES", 2) != 0)
        return bad("SES_Header.ID is not \"ES\"");
    if (version < 1 || version > 5)
        return err_set(ECERT_E_MALFORMED, "SES_Header.version %ld unknown", version);
    s->version = (int)version;
    return ECERT_OK;
}

static ecert_status parse_property(struct der *info, struct ses_seal *s)
{
    struct der prop;
    if (expect_tlv(info, DER_SEQUENCE, &prop, NULL, "SES_ESPropertyInfo") ||
        small_int(&prop, &s->type, "SES_ESPropertyInfo.type") ||
        expect_tlv(&prop, DER_UTF8STRING, &s->name, NULL, "SES_ESPropertyInfo.name"))
        return ECERT_E_MALFORMED;
    /* v4 has certListType (INTEGER) before the list; v1 goes straight to it. */
    if (prop.len > 0 && prop.p[0] == DER_INTEGER) {
        long t;
        if (small_int(&prop, &t, "SES_ESPropertyInfo.certListType"))
            return ECERT_E_MALFORMED;
        if (t != 1 && t != 2)
            return err_set(ECERT_E_MALFORMED, "certListType %ld unknown", t);
        s->cert_list_type = (int)t;
    } else {
        s->cert_list_type = 1;
    }
    if (expect_tlv(&prop, DER_SEQUENCE, &s->cert_list, NULL, "SES_ESPropertyInfo.certList"))
        return ECERT_E_MALFORMED;
    struct der *dates[3] = {&s->create_date, &s->valid_start, &s->valid_end};
    for (int i = 0; i < 3; i++) {
        uint8_t tag;
        if (next_tlv(&prop, &tag, dates[i], NULL) || !is_time_tag(tag))
            return bad("SES_ESPropertyInfo: dates missing or not times");
        s->time_tag = tag;
    }
    return ECERT_OK;
}

static ecert_status parse_picture(struct der *info, struct ses_seal *s)
{
    struct der pic;
    if (expect_tlv(info, DER_SEQUENCE, &pic, NULL, "SES_ESPictrueInfo") ||
        expect_tlv(&pic, DER_IA5STRING, &s->pic_type, NULL, "SES_ESPictrueInfo.type") ||
        expect_tlv(&pic, DER_OCTET_STRING, &s->pic_data, NULL, "SES_ESPictrueInfo.data") ||
        small_int(&pic, &s->pic_width, "SES_ESPictrueInfo.width") ||
        small_int(&pic, &s->pic_height, "SES_ESPictrueInfo.height"))
        return ECERT_E_MALFORMED;
    return ECERT_OK;
}

static ecert_status parse_seal(struct der *r, struct ses_seal *s)
{
    memset(s, 0, sizeof *s);
    struct der seal, info;
    if (expect_tlv(r, DER_SEQUENCE, &seal, &s->whole, "SESeal") ||
        expect_tlv(&seal, DER_SEQUENCE, &info, &s->seal_info, "SES_SealInfo"))
        return ECERT_E_MALFORMED;
    if (parse_header(&info, s) ||
        expect_tlv(&info, DER_IA5STRING, &s->es_id, NULL, "SES_SealInfo.esID") ||
        parse_property(&info, s) || parse_picture(&info, s))
        return ECERT_E_MALFORMED;
    /* extDatas and later additions of SES_SealInfo are signed but not read. */
    struct der rest = seal, sign_info;
    if (!der_empty(&rest) && rest.p[0] == DER_SEQUENCE) {
        /* GM/T 0031: SES_SignInfo { cert, signatureAlgorithm, signData } */
        s->v1_layout = true;
        if (expect_tlv(&rest, DER_SEQUENCE, &sign_info, NULL, "SES_SignInfo"))
            return ECERT_E_MALFORMED;
        rest = sign_info;
    }
    if (expect_tlv(&rest, DER_OCTET_STRING, &s->maker_cert, &s->cert_tlv, "SESeal.cert") ||
        expect_tlv(&rest, DER_OID, &s->sign_alg, &s->alg_tlv, "SESeal.signAlgID") ||
        octets(&rest, &s->signed_value, "SESeal.signedValue"))
        return ECERT_E_MALFORMED;
    return ECERT_OK;
}

ecert_status ses_parse_seal(const uint8_t *p, size_t len, struct ses_seal *out)
{
    if (!p || !out)
        return err_set(ECERT_E_ARG, "ses_parse_seal: NULL argument");
    ecert_status st = ses_check_nesting(p, len, SES_MAX_DEPTH);
    if (st)
        return st;
    struct der r = {p, len};
    if ((st = parse_seal(&r, out)))
        return st;
    if (!der_empty(&r))
        return bad("SESeal: trailing bytes");
    return ECERT_OK;
}

ecert_status ses_seal_cert_at(const struct ses_seal *s, size_t i, struct der *cert,
                              struct der *digest_type, struct der *digest)
{
    struct der r = s->cert_list;
    for (size_t k = 0;; k++) {
        if (der_empty(&r))
            return err_set(ECERT_E_NOT_FOUND, "seal certificate list: no entry %zu", i);
        uint8_t tag;
        struct der c;
        if (der_next(&r, &tag, &c))
            return ECERT_E_MALFORMED;
        if (k != i)
            continue;
        memset(cert, 0, sizeof *cert);
        memset(digest_type, 0, sizeof *digest_type);
        memset(digest, 0, sizeof *digest);
        if (s->cert_list_type == 1) {
            if (tag != DER_OCTET_STRING)
                return bad("seal certificate list: entry is not an OCTET STRING");
            *cert = c;
            return ECERT_OK;
        }
        /* CertDigestObj ::= SEQUENCE { type PrintableString, value OCTET STRING } */
        uint8_t t2;
        if (tag != DER_SEQUENCE || der_next(&c, &t2, digest_type) ||
            (t2 != DER_PRINTABLE && t2 != DER_IA5STRING && t2 != DER_UTF8STRING) ||
            expect_tlv(&c, DER_OCTET_STRING, digest, NULL, "CertDigestObj.value"))
            return bad("seal certificate digest list: malformed entry");
        return ECERT_OK;
    }
}

/* ---- signatures --------------------------------------------------------------- */

static ecert_status parse_tbs(struct der *outer, struct ses_signature *s)
{
    struct der tbs;
    long version;
    if (expect_tlv(outer, DER_SEQUENCE, &tbs, &s->tbs, "TBS_Sign") ||
        small_int(&tbs, &version, "TBS_Sign.version"))
        return ECERT_E_MALFORMED;
    if (version < 1 || version > 5)
        return err_set(ECERT_E_MALFORMED, "TBS_Sign.version %ld unknown", version);
    s->version = (int)version;
    if (parse_seal(&tbs, &s->seal))
        return err_wrap(ECERT_E_MALFORMED, "TBS_Sign.eseal");
    uint8_t tag;
    struct der t;
    if (next_tlv(&tbs, &tag, &t, NULL))
        return bad("TBS_Sign.timeInfo: missing");
    if (tag == DER_BIT_STRING) {
        if (t.len < 1 || t.p[0] != 0)
            return bad("TBS_Sign.timeInfo: bad BIT STRING");
        t.p++, t.len--;
    } else if (!is_time_tag(tag)) {
        return bad("TBS_Sign.timeInfo: not a time");
    }
    s->time_tag = tag;
    s->time = t;
    if (octets(&tbs, &s->data_hash, "TBS_Sign.dataHash") ||
        expect_tlv(&tbs, DER_IA5STRING, &s->property_info, NULL, "TBS_Sign.propertyInfo"))
        return ECERT_E_MALFORMED;
    if (s->v1_layout &&
        (expect_tlv(&tbs, DER_OCTET_STRING, &s->cert, NULL, "TBS_Sign.cert") ||
         expect_tlv(&tbs, DER_OID, &s->sig_alg, NULL, "TBS_Sign.signatureAlgorithm")))
        return ECERT_E_MALFORMED;
    /* extDatas (optional) is covered by the signature but not read. */
    return ECERT_OK;
}

ecert_status ses_parse_signature(const uint8_t *p, size_t len, struct ses_signature *out)
{
    if (!p || !out)
        return err_set(ECERT_E_ARG, "ses_parse_signature: NULL argument");
    memset(out, 0, sizeof *out);
    ecert_status st = ses_check_nesting(p, len, SES_MAX_DEPTH);
    if (st)
        return st;
    struct der r = {p, len}, sig;
    if (expect_tlv(&r, DER_SEQUENCE, &sig, NULL, "SES_Signature"))
        return ECERT_E_MALFORMED;
    if (!der_empty(&r))
        return bad("SES_Signature: trailing bytes");
    /* The layout shows after TBS_Sign: v4 goes on with the signer's
     * certificate (OCTET STRING), v1 with the signature (BIT STRING). */
    struct der probe = sig;
    uint8_t tag;
    struct der skip;
    if (next_tlv(&probe, &tag, &skip, NULL) || tag != DER_SEQUENCE || der_empty(&probe))
        return bad("SES_Signature: no TBS_Sign");
    out->v1_layout = probe.p[0] == DER_BIT_STRING;
    if ((st = parse_tbs(&sig, out)))
        return st;
    if (out->v1_layout) {
        if (out->version != 1 && out->version != 2 && out->version != 3)
            return bad("SES_Signature: GM/T 0031 layout with a later version");
        if (octets(&sig, &out->signature, "SES_Signature.signature"))
            return ECERT_E_MALFORMED;
    } else {
        if (out->version < 4)
            return bad("SES_Signature: GB/T 38540 layout with version below 4");
        if (expect_tlv(&sig, DER_OCTET_STRING, &out->cert, NULL, "SES_Signature.cert") ||
            expect_tlv(&sig, DER_OID, &out->sig_alg, NULL, "SES_Signature.signatureAlgorithm") ||
            octets(&sig, &out->signature, "SES_Signature.signature"))
            return ECERT_E_MALFORMED;
    }
    /* An optional [0] time stamp may follow; nothing else may. */
    if (!der_empty(&sig)) {
        if (next_tlv(&sig, &tag, &skip, NULL) || (tag != DER_CTX0_C && tag != DER_CTX0_P &&
                                                  tag != DER_BIT_STRING))
            return bad("SES_Signature: unexpected trailing field");
        if (!der_empty(&sig))
            return bad("SES_Signature: trailing fields");
    }
    return ECERT_OK;
}

/* ---- SignedData ------------------------------------------------------------------ */

static ecert_status parse_attrs(struct der attrs, struct ses_signer *s)
{
    size_t n = 0;
    while (!der_empty(&attrs)) {
        struct der attr, oid, values, v;
        uint8_t tag;
        if (++n > 64)
            return bad("SignerInfo: over 64 signed attributes");
        if (expect_tlv(&attrs, DER_SEQUENCE, &attr, NULL, "Attribute") ||
            expect_tlv(&attr, DER_OID, &oid, NULL, "Attribute.type") ||
            expect_tlv(&attr, DER_SET, &values, NULL, "Attribute.values"))
            return ECERT_E_MALFORMED;
        if (der_oid_is(&oid, OID_MESSAGE_DIGEST)) {
            if (s->has_message_digest)
                return bad("SignerInfo: two messageDigest attributes");
            if (expect_tlv(&values, DER_OCTET_STRING, &s->message_digest, NULL,
                           "messageDigest") ||
                !der_empty(&values))
                return bad("messageDigest: not one OCTET STRING");
            s->has_message_digest = true;
        } else if (der_oid_is(&oid, OID_SIGNING_TIME)) {
            if (next_tlv(&values, &tag, &v, NULL) || !is_time_tag(tag))
                return bad("signingTime: not a time");
            s->signing_time_tag = tag;
            s->signing_time = v;
        } else if (der_oid_is(&oid, OID_CONTENT_TYPE)) {
            if (expect_tlv(&values, DER_OID, &s->content_type, NULL, "contentType"))
                return ECERT_E_MALFORMED;
            s->has_content_type = true;
        }
    }
    return ECERT_OK;
}

static ecert_status alg_oid(struct der *r, struct der *oid, const char *what)
{
    struct der alg;
    if (expect_tlv(r, DER_SEQUENCE, &alg, NULL, what) ||
        expect_tlv(&alg, DER_OID, oid, NULL, what))
        return ECERT_E_MALFORMED;
    return ECERT_OK; /* parameters (NULL or absent) ignored */
}

static ecert_status parse_signer(struct der *set, struct ses_signer *s)
{
    struct der si, sid, tlv;
    long version;
    uint8_t tag;
    memset(s, 0, sizeof *s);
    if (expect_tlv(set, DER_SEQUENCE, &si, NULL, "SignerInfo") ||
        small_int(&si, &version, "SignerInfo.version") ||
        next_tlv(&si, &tag, &sid, NULL))
        return ECERT_E_MALFORMED;
    if (tag == DER_SEQUENCE) {
        struct der name_c;
        if (expect_tlv(&sid, DER_SEQUENCE, &name_c, &s->issuer, "issuerAndSerialNumber.issuer") ||
            expect_tlv(&sid, DER_INTEGER, &s->serial, NULL, "issuerAndSerialNumber.serial"))
            return ECERT_E_MALFORMED;
    } else if (tag == DER_CTX0_P) {
        s->ski = sid;
    } else {
        return bad("SignerInfo: unknown signer identifier");
    }
    if (alg_oid(&si, &s->digest_alg, "SignerInfo.digestAlgorithm"))
        return ECERT_E_MALFORMED;
    if (!der_empty(&si) && si.p[0] == DER_CTX0_C) {
        struct der attrs;
        if (next_tlv(&si, &tag, &attrs, &tlv))
            return ECERT_E_MALFORMED;
        s->has_signed_attrs = true;
        s->signed_attrs = tlv;
        if (parse_attrs(attrs, s))
            return ECERT_E_MALFORMED;
    }
    if (alg_oid(&si, &s->sig_alg, "SignerInfo.signatureAlgorithm") ||
        expect_tlv(&si, DER_OCTET_STRING, &s->signature, NULL, "SignerInfo.signature"))
        return ECERT_E_MALFORMED;
    return ECERT_OK; /* unsignedAttrs [1] ignored */
}

ecert_status ses_parse_signed_data(const uint8_t *p, size_t len, struct ses_signed_data *out)
{
    if (!p || !out)
        return err_set(ECERT_E_ARG, "ses_parse_signed_data: NULL argument");
    memset(out, 0, sizeof *out);
    ecert_status st = ses_check_nesting(p, len, SES_MAX_DEPTH);
    if (st)
        return st;
    struct der r = {p, len}, ci, type, wrap, sd, digest_algs, enc, enc_type;
    long version;
    uint8_t tag;
    if (expect_tlv(&r, DER_SEQUENCE, &ci, NULL, "ContentInfo") ||
        expect_tlv(&ci, DER_OID, &type, NULL, "ContentInfo.contentType"))
        return ECERT_E_MALFORMED;
    if (!der_empty(&r))
        return bad("ContentInfo: trailing bytes");
    if (der_oid_is(&type, OID_GM_SIGNED_DATA))
        out->gm = true;
    else if (!der_oid_is(&type, OID_PKCS7_SIGNED_DATA))
        return bad("ContentInfo: not SignedData");
    if (expect_tlv(&ci, DER_CTX0_C, &wrap, NULL, "ContentInfo.content") ||
        expect_tlv(&wrap, DER_SEQUENCE, &sd, NULL, "SignedData") ||
        small_int(&sd, &version, "SignedData.version") ||
        expect_tlv(&sd, DER_SET, &digest_algs, NULL, "SignedData.digestAlgorithms") ||
        expect_tlv(&sd, DER_SEQUENCE, &enc, NULL, "SignedData.contentInfo") ||
        expect_tlv(&enc, DER_OID, &enc_type, NULL, "SignedData.contentInfo.contentType"))
        return ECERT_E_MALFORMED;
    out->content_type = enc_type;
    if (!der_empty(&enc)) {
        struct der ew;
        if (expect_tlv(&enc, DER_CTX0_C, &ew, NULL, "SignedData.contentInfo.content") ||
            expect_tlv(&ew, DER_OCTET_STRING, &out->content, NULL,
                       "SignedData.contentInfo.content"))
            return ECERT_E_MALFORMED;
        out->has_content = true;
    }
    if (!der_empty(&sd) && sd.p[0] == DER_CTX0_C) {
        struct der certs, c, tlv;
        if (next_tlv(&sd, &tag, &certs, NULL))
            return ECERT_E_MALFORMED;
        while (!der_empty(&certs)) {
            if (next_tlv(&certs, &tag, &c, &tlv))
                return ECERT_E_MALFORMED;
            if (tag != DER_SEQUENCE)
                continue; /* attribute certificates and the like */
            if (out->ncerts == SES_MAX_CERTS)
                return err_set(ECERT_E_TOO_LONG, "SignedData: over %d certificates",
                               SES_MAX_CERTS);
            out->certs[out->ncerts++] = tlv;
        }
    }
    if (!der_empty(&sd) && sd.p[0] == DER_CTX1_C) {
        struct der crls;
        if (next_tlv(&sd, &tag, &crls, NULL))
            return ECERT_E_MALFORMED;
    }
    struct der signers;
    if (expect_tlv(&sd, DER_SET, &signers, NULL, "SignedData.signerInfos"))
        return ECERT_E_MALFORMED;
    while (!der_empty(&signers)) {
        if (out->nsigners == SES_MAX_SIGNERS)
            return err_set(ECERT_E_TOO_LONG, "SignedData: over %d signers", SES_MAX_SIGNERS);
        if ((st = parse_signer(&signers, &out->signers[out->nsigners])))
            return err_wrap(st, "SignerInfo");
        out->nsigners++;
    }
    if (out->nsigners == 0)
        return bad("SignedData: no SignerInfo");
    return ECERT_OK;
}
