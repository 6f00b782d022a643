/*
 * cms.c — CMS / PKCS#7 SignedData reader (see cms.h).
 */
#include "docs/cms.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"

#define TAG_CTX0_CONS 0xA0
#define TAG_CTX1_CONS 0xA1
#define TAG_CTX0_PRIM 0x80
#define TAG_UTCTIME 0x17
#define TAG_GENTIME 0x18

/* ---- helpers ----------------------------------------------------------------*/

ecert_status cms_tlv_length(const uint8_t *p, size_t len, size_t *out)
{
    struct der r = {p, len}, c;
    uint8_t tag;
    ecert_status st = der_next(&r, &tag, &c);
    if (st)
        return st;
    *out = len - r.len;
    return ECERT_OK;
}

static ecert_status small_int(const struct der *c, int *out)
{
    if (c->len == 0 || c->len > 1 || c->p[0] > 0x7F)
        return err_set(ECERT_E_MALFORMED, "CMS: version is not a small INTEGER");
    *out = c->p[0];
    return ECERT_OK;
}

/* Reads an AlgorithmIdentifier TLV: its whole bytes and its OID contents. */
static ecert_status alg_id(struct der *r, struct der *whole, struct der *oid, const char *what)
{
    const uint8_t *start = r->p;
    struct der seq;
    ecert_status st = der_expect(r, DER_SEQUENCE, &seq);
    if (st)
        return err_wrap(st, what);
    if (whole) {
        whole->p = start;
        whole->len = (size_t)(r->p - start);
    }
    st = der_expect(&seq, DER_OID, oid);
    if (st)
        return err_wrap(st, what);
    return ECERT_OK;
}

/* ---- times --------------------------------------------------------------------*/

static bool digits(const uint8_t *p, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

ecert_status cms_time(uint8_t tag, const struct der *t, char out[32], int64_t *unix_time)
{
    const uint8_t *p = t->p;
    size_t n = t->len, i = 0;
    int Y, M, D, h, m, s = 0;
    if (tag == TAG_UTCTIME) {
        int yy;
        if (n < 11 || !digits(p, 2, &yy))
            return err_set(ECERT_E_MALFORMED, "UTCTime: malformed");
        Y = yy < 50 ? 2000 + yy : 1900 + yy;
        i = 2;
    } else if (tag == TAG_GENTIME) {
        if (n < 13 || !digits(p, 4, &Y))
            return err_set(ECERT_E_MALFORMED, "GeneralizedTime: malformed");
        i = 4;
    } else {
        return err_set(ECERT_E_MALFORMED, "time: tag 0x%02x", tag);
    }
    if (!digits(p + i, 2, &M) || !digits(p + i + 2, 2, &D) || !digits(p + i + 4, 2, &h) ||
        !digits(p + i + 6, 2, &m))
        return err_set(ECERT_E_MALFORMED, "time: malformed");
    i += 8;
    if (i + 2 <= n && p[i] >= '0' && p[i] <= '9') {
        if (!digits(p + i, 2, &s))
            return err_set(ECERT_E_MALFORMED, "time: malformed seconds");
        i += 2;
    }
    /* Fractions of a second (GeneralizedTime only) are dropped. */
    if (tag == TAG_GENTIME && i < n && (p[i] == '.' || p[i] == ',')) {
        i++;
        size_t f = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9' && f < 12)
            i++, f++;
        if (f == 0)
            return err_set(ECERT_E_MALFORMED, "time: empty fraction");
    }
    int64_t offset = 0;
    if (i + 1 == n && p[i] == 'Z') {
        i++;
    } else if (i + 5 == n && (p[i] == '+' || p[i] == '-')) {
        int oh, om;
        if (!digits(p + i + 1, 2, &oh) || !digits(p + i + 3, 2, &om) || oh > 23 || om > 59)
            return err_set(ECERT_E_MALFORMED, "time: malformed offset");
        offset = (p[i] == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
        i += 5;
    } else {
        return err_set(ECERT_E_MALFORMED, "time: not UTC (no Z)");
    }
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || s > 60)
        return err_set(ECERT_E_MALFORMED, "time: field out of range");
    int64_t u = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + s - offset;
    if (unix_time)
        *unix_time = u;
    if (out) {
        /* Printed in UTC after the offset is applied. */
        int64_t days = u >= 0 ? u / 86400 : (u - 86399) / 86400;
        int64_t sec = u - days * 86400;
        /* civil_from_days */
        int64_t z = days + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t y = yoe + era * 400;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int64_t d = doy - (153 * mp + 2) / 5 + 1;
        int64_t mo = mp < 10 ? mp + 3 : mp - 9;
        y += mo <= 2;
        if (y < 0 || y > 9999)
            return err_set(ECERT_E_MALFORMED, "time: year out of range");
        char tmp[128];
        int w = snprintf(tmp, sizeof tmp, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
                         (long long)y, (long long)mo, (long long)d, (long long)(sec / 3600),
                         (long long)(sec / 60 % 60), (long long)(sec % 60));
        if (w != 20)
            return err_set(ECERT_E_MALFORMED, "time: out of range");
        memcpy(out, tmp, 21);
    }
    return ECERT_OK;
}

/* ---- attributes -----------------------------------------------------------------*/

/* The single value of an attribute whose SET must hold exactly one. */
static ecert_status single_value(struct der values, uint8_t *tag, struct der *v, const char *what)
{
    ecert_status st = der_next(&values, tag, v);
    if (st)
        return err_wrap(st, what);
    if (!der_empty(&values))
        return err_set(ECERT_E_MALFORMED, "CMS: %s attribute with more than one value", what);
    return ECERT_OK;
}

static ecert_status signed_attributes(struct der attrs, struct cms_signer_info *si)
{
    size_t count = 0;
    while (!der_empty(&attrs)) {
        struct der attr, type, values, v;
        uint8_t tag;
        ecert_status st = der_expect(&attrs, DER_SEQUENCE, &attr);
        if (st)
            return err_wrap(st, "CMS signed attribute");
        if (++count > CMS_MAX_ATTRIBUTES)
            return err_set(ECERT_E_TOO_LONG, "CMS: over %d signed attributes", CMS_MAX_ATTRIBUTES);
        if ((st = der_expect(&attr, DER_OID, &type)) || (st = der_expect(&attr, DER_SET, &values)))
            return err_wrap(st, "CMS signed attribute");
        if (!der_empty(&attr))
            return err_set(ECERT_E_MALFORMED, "CMS: trailing bytes in an attribute");
        if (der_oid_is(&type, CMS_OID_MESSAGE_DIGEST)) {
            /* Two messageDigest attributes would let a verifier and a signer
             * disagree on which one counts (RFC 5652 §11.2: exactly one). */
            if (si->has_message_digest)
                return err_set(ECERT_E_MALFORMED, "CMS: two messageDigest attributes");
            if ((st = single_value(values, &tag, &v, "messageDigest")))
                return st;
            if (tag != DER_OCTET_STRING)
                return err_set(ECERT_E_MALFORMED, "CMS: messageDigest is not an OCTET STRING");
            si->has_message_digest = true;
            si->message_digest = v;
        } else if (der_oid_is(&type, CMS_OID_CONTENT_TYPE)) {
            if (si->has_content_type)
                return err_set(ECERT_E_MALFORMED, "CMS: two contentType attributes");
            if ((st = single_value(values, &tag, &v, "contentType")))
                return st;
            if (tag != DER_OID)
                return err_set(ECERT_E_MALFORMED, "CMS: contentType is not an OID");
            si->has_content_type = true;
            si->content_type = v;
        } else if (der_oid_is(&type, CMS_OID_SIGNING_TIME)) {
            if (si->signing_time_tag)
                return err_set(ECERT_E_MALFORMED, "CMS: two signingTime attributes");
            if ((st = single_value(values, &tag, &v, "signingTime")))
                return st;
            if (tag != TAG_UTCTIME && tag != TAG_GENTIME)
                return err_set(ECERT_E_MALFORMED, "CMS: signingTime is not a time");
            si->signing_time_tag = tag;
            si->signing_time = v;
        }
    }
    return ECERT_OK;
}

/* ---- SignerInfo ----------------------------------------------------------------*/

static ecert_status signer_info(struct der r, struct cms_signer_info *si)
{
    struct der c;
    uint8_t tag;
    ecert_status st = der_expect(&r, DER_INTEGER, &c);
    if (st || (st = small_int(&c, &si->version)))
        return err_wrap(st, "CMS SignerInfo version");
    if ((st = der_next(&r, &tag, &c)))
        return err_wrap(st, "CMS SignerInfo sid");
    if (tag == DER_SEQUENCE) {
        /* IssuerAndSerialNumber: the issuer Name TLV is kept whole because
         * it is compared byte for byte with the certificate's. */
        const uint8_t *start = c.p;
        struct der name, serial;
        if ((st = der_expect(&c, DER_SEQUENCE, &name)))
            return err_wrap(st, "CMS sid issuer");
        si->sid_issuer.p = start;
        si->sid_issuer.len = (size_t)(c.p - start);
        if ((st = der_expect(&c, DER_INTEGER, &serial)))
            return err_wrap(st, "CMS sid serial");
        if (serial.len == 0 || !der_empty(&c))
            return err_set(ECERT_E_MALFORMED, "CMS: malformed IssuerAndSerialNumber");
        si->sid_serial = serial;
    } else if (tag == TAG_CTX0_PRIM) {
        if (c.len == 0)
            return err_set(ECERT_E_MALFORMED, "CMS: empty subjectKeyIdentifier");
        si->sid_is_ski = true;
        si->sid_ski = c;
    } else {
        return err_set(ECERT_E_MALFORMED, "CMS: SignerIdentifier with tag 0x%02x", tag);
    }
    if ((st = alg_id(&r, NULL, &si->digest_alg, "CMS digestAlgorithm")))
        return st;
    if (!der_empty(&r) && r.p[0] == TAG_CTX0_CONS) {
        const uint8_t *start = r.p;
        if ((st = der_next(&r, &tag, &c)))
            return err_wrap(st, "CMS signedAttrs");
        si->has_signed_attrs = true;
        si->signed_attrs.p = start;
        si->signed_attrs.len = (size_t)(r.p - start);
        if ((st = signed_attributes(c, si)))
            return st;
    }
    if ((st = alg_id(&r, &si->sig_alg, &si->sig_alg_oid, "CMS signatureAlgorithm")))
        return st;
    if ((st = der_expect(&r, DER_OCTET_STRING, &si->signature)))
        return err_wrap(st, "CMS signature");
    if (!der_empty(&r) && r.p[0] == TAG_CTX1_CONS) {
        if ((st = der_next(&r, &tag, &c)))
            return err_wrap(st, "CMS unsignedAttrs");
        si->has_unsigned_attrs = true;
        si->unsigned_attrs = c;
    }
    if (!der_empty(&r))
        return err_set(ECERT_E_MALFORMED, "CMS: trailing bytes in a SignerInfo");
    return ECERT_OK;
}

/* ---- SignedData -----------------------------------------------------------------*/

ecert_status cms_parse(const uint8_t *p, size_t len, struct cms_signed_data *out)
{
    memset(out, 0, sizeof *out);
    if (!p || len == 0)
        return err_set(ECERT_E_MALFORMED, "CMS: empty");
    if (len > CMS_MAX_INPUT)
        return err_set(ECERT_E_TOO_LONG, "CMS: %zu bytes, at most %u", len, CMS_MAX_INPUT);
    ecert_status st = der_check_nesting(p, len, CMS_MAX_DEPTH);
    if (st)
        return st;
    struct der all = {p, len}, ci, type, expl, sd, c;
    uint8_t tag;
    if ((st = der_expect(&all, DER_SEQUENCE, &ci)))
        return err_wrap(st, "CMS ContentInfo");
    if (!der_empty(&all))
        return err_set(ECERT_E_MALFORMED, "CMS: trailing bytes after ContentInfo");
    if ((st = der_expect(&ci, DER_OID, &type)))
        return err_wrap(st, "CMS contentType");
    if (der_oid_is(&type, CMS_OID_GM_SIGNED_DATA))
        out->gm_oids = true;
    else if (!der_oid_is(&type, CMS_OID_SIGNED_DATA))
        return err_set(ECERT_E_MALFORMED, "CMS: content type is not SignedData");
    if ((st = der_expect(&ci, TAG_CTX0_CONS, &expl)))
        return err_wrap(st, "CMS content");
    if (!der_empty(&ci))
        return err_set(ECERT_E_MALFORMED, "CMS: trailing bytes in ContentInfo");
    if ((st = der_expect(&expl, DER_SEQUENCE, &sd)))
        return err_wrap(st, "CMS SignedData");
    if (!der_empty(&expl))
        return err_set(ECERT_E_MALFORMED, "CMS: trailing bytes after SignedData");

    if ((st = der_expect(&sd, DER_INTEGER, &c)) || (st = small_int(&c, &out->version)))
        return err_wrap(st, "CMS SignedData version");
    struct der algs;
    if ((st = der_expect(&sd, DER_SET, &algs)))
        return err_wrap(st, "CMS digestAlgorithms");
    for (size_t n = 0; !der_empty(&algs); n++) {
        struct der oid;
        if (n >= CMS_MAX_ATTRIBUTES)
            return err_set(ECERT_E_TOO_LONG, "CMS: too many digestAlgorithms");
        if ((st = alg_id(&algs, NULL, &oid, "CMS digestAlgorithms")))
            return st;
    }

    struct der eci;
    if ((st = der_expect(&sd, DER_SEQUENCE, &eci)))
        return err_wrap(st, "CMS encapContentInfo");
    if ((st = der_expect(&eci, DER_OID, &out->econtent_type)))
        return err_wrap(st, "CMS eContentType");
    if (!der_empty(&eci)) {
        struct der ex;
        if ((st = der_expect(&eci, TAG_CTX0_CONS, &ex)))
            return err_wrap(st, "CMS eContent");
        /* Present, even when empty: a detached PDF signature must carry
         * none at all, and that is for the verifier to judge. */
        out->has_econtent = true;
        if ((st = der_expect(&ex, DER_OCTET_STRING, &out->econtent)))
            return err_wrap(st, "CMS eContent (constructed OCTET STRINGs are not DER)");
        if (!der_empty(&ex) || !der_empty(&eci))
            return err_set(ECERT_E_MALFORMED, "CMS: trailing bytes in encapContentInfo");
    }

    if (!der_empty(&sd) && sd.p[0] == TAG_CTX0_CONS) {
        struct der certs;
        if ((st = der_next(&sd, &tag, &certs)))
            return err_wrap(st, "CMS certificates");
        while (!der_empty(&certs)) {
            const uint8_t *start = certs.p;
            if ((st = der_next(&certs, &tag, &c)))
                return err_wrap(st, "CMS certificate");
            if (tag != DER_SEQUENCE)
                continue; /* attribute/other certificate formats: not used */
            if (out->ncerts >= CMS_MAX_CERTIFICATES)
                return err_set(ECERT_E_TOO_LONG, "CMS: over %d certificates",
                               CMS_MAX_CERTIFICATES);
            out->certs[out->ncerts].p = start;
            out->certs[out->ncerts].len = (size_t)(certs.p - start);
            out->ncerts++;
        }
    }
    if (!der_empty(&sd) && sd.p[0] == TAG_CTX1_CONS) {
        if ((st = der_next(&sd, &tag, &c))) /* CRLs: not used here */
            return err_wrap(st, "CMS crls");
    }
    struct der sis;
    if ((st = der_expect(&sd, DER_SET, &sis)))
        return err_wrap(st, "CMS signerInfos");
    if (!der_empty(&sd))
        return err_set(ECERT_E_MALFORMED, "CMS: trailing bytes in SignedData");
    while (!der_empty(&sis)) {
        if (out->nsigners >= CMS_MAX_SIGNER_INFOS)
            return err_set(ECERT_E_TOO_LONG, "CMS: over %d signers", CMS_MAX_SIGNER_INFOS);
        if ((st = der_expect(&sis, DER_SEQUENCE, &c)))
            return err_wrap(st, "CMS SignerInfo");
        if ((st = signer_info(c, &out->signers[out->nsigners])))
            return st;
        out->nsigners++;
    }
    if (out->nsigners == 0)
        return err_set(ECERT_E_MALFORMED, "CMS: no SignerInfo");
    return ECERT_OK;
}

/* ---- RFC 3161 TSTInfo -----------------------------------------------------------*/

ecert_status cms_parse_tst_info(const uint8_t *p, size_t len, struct cms_tst_info *out)
{
    memset(out, 0, sizeof *out);
    ecert_status st = der_check_nesting(p, len, CMS_MAX_DEPTH);
    if (st)
        return st;
    struct der all = {p, len}, tst, c, mi, oid;
    if ((st = der_expect(&all, DER_SEQUENCE, &tst)))
        return err_wrap(st, "TSTInfo");
    if (!der_empty(&all))
        return err_set(ECERT_E_MALFORMED, "TSTInfo: trailing bytes");
    int version = 0;
    if ((st = der_expect(&tst, DER_INTEGER, &c)) || (st = small_int(&c, &version)))
        return err_wrap(st, "TSTInfo version");
    if (version != 1)
        return err_set(ECERT_E_MALFORMED, "TSTInfo: version %d", version);
    if ((st = der_expect(&tst, DER_OID, &out->policy)))
        return err_wrap(st, "TSTInfo policy");
    if ((st = der_expect(&tst, DER_SEQUENCE, &mi)))
        return err_wrap(st, "TSTInfo messageImprint");
    if ((st = alg_id(&mi, NULL, &oid, "TSTInfo hashAlgorithm")))
        return st;
    out->imprint_alg = oid;
    if ((st = der_expect(&mi, DER_OCTET_STRING, &out->imprint)))
        return err_wrap(st, "TSTInfo hashedMessage");
    if (!der_empty(&mi))
        return err_set(ECERT_E_MALFORMED, "TSTInfo: trailing bytes in messageImprint");
    if ((st = der_expect(&tst, DER_INTEGER, &c)))
        return err_wrap(st, "TSTInfo serialNumber");
    if ((st = der_expect(&tst, TAG_GENTIME, &out->gen_time)))
        return err_wrap(st, "TSTInfo genTime");
    return ECERT_OK;
}
