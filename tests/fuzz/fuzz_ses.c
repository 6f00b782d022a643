/*
 * fuzz_ses — the SES / GB/T 35275 ASN.1 parsers (src/docs/ses.c) on
 * arbitrary bytes: ses_parse_signature, ses_parse_seal (also on the seal of
 * an accepted signature), ses_parse_signed_data, ses_check_nesting,
 * ses_seal_cert_at and der_oid_text.
 *
 * Properties:
 *   - the parsers return ECERT_OK, ECERT_E_MALFORMED or ECERT_E_TOO_LONG;
 *   - every field of an accepted structure lies inside the input (a parser
 *     never points outside what it was given) and the whole TLVs it reports
 *     (TBS_Sign, SESeal, SES_SealInfo, signed attributes) are well-formed DER
 *     covering exactly their span;
 *   - an accepted input nests no deeper than SES_MAX_DEPTH;
 *   - the seal inside an accepted SES_Signature parses on its own to the
 *     same fields;
 *   - der_oid_text on any accepted OID yields dotted text that der_oid_is
 *     accepts back;
 *   - every certificate the structures carry goes through x509_cert_from_der
 *     (the project's own DER certificate reader, src/crypto/x509_verify.c):
 *     it fails cleanly or yields a certificate whose DER is the input, whose
 *     names print as NUL-terminated text, and whose SM2 key (when it has
 *     one) can be taken; checking it against itself as issuer returns only
 *     ECERT_OK or ECERT_E_SIGNATURE.
 * A property violation calls abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/x509_verify.h"
#include "docs/ses.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (64 * 1024)

static const uint8_t *lo, *hi;

static _Noreturn void fail(const char *what)
{
    fprintf(stderr, "fuzz_ses: property violated: %s\n", what);
    abort();
}

static void inside(const struct der *d, const char *what)
{
    if (d->len == 0)
        return;
    if (!d->p || d->p < lo || d->p > hi || d->len > (size_t)(hi - d->p))
        fail(what);
}

/* A whole TLV: one DER element exactly covering the span. */
static void whole_tlv(const struct der *d, const char *what)
{
    inside(d, what);
    struct der r = *d, c;
    uint8_t tag;
    if (der_next(&r, &tag, &c) != ECERT_OK || !der_empty(&r))
        fail(what);
}

static void check_oid(const struct der *oid)
{
    char text[128];
    inside(oid, "OID outside the input");
    if (der_oid_text(oid, text, sizeof text) && !der_oid_is(oid, text))
        fail("der_oid_is refuses the text of der_oid_text");
}

static void check_seal(const struct ses_seal *s)
{
    whole_tlv(&s->whole, "SESeal TLV");
    whole_tlv(&s->seal_info, "SES_SealInfo TLV");
    whole_tlv(&s->cert_tlv, "seal cert TLV");
    whole_tlv(&s->alg_tlv, "seal alg TLV");
    const struct der *fields[] = {&s->header_id, &s->vid,        &s->es_id,       &s->name,
                                  &s->cert_list, &s->create_date, &s->valid_start, &s->valid_end,
                                  &s->pic_type,  &s->pic_data,   &s->maker_cert,  &s->sign_alg,
                                  &s->signed_value};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        inside(fields[i], "seal field outside the input");
    if (s->version < 1 || s->version > 5 || (s->cert_list_type != 1 && s->cert_list_type != 2))
        fail("seal version or list type out of range");
    check_oid(&s->sign_alg);
    for (size_t i = 0; i < 64; i++) {
        struct der cert, dt, dg;
        ecert_status st = ses_seal_cert_at(s, i, &cert, &dt, &dg);
        if (st == ECERT_E_NOT_FOUND)
            break;
        if (st != ECERT_OK && st != ECERT_E_MALFORMED)
            fail("ses_seal_cert_at: unexpected status");
        if (st != ECERT_OK)
            break;
        inside(&cert, "seal certificate outside the input");
        inside(&dt, "digest type outside the input");
        inside(&dg, "digest outside the input");
    }
}

static void check_cert(const struct der *d)
{
    if (d->len == 0)
        return;
    inside(d, "certificate outside the input");
    struct x509_cert *c = NULL;
    ecert_status st = x509_cert_from_der(d->p, d->len, &c);
    if (st != ECERT_OK) {
        if (c)
            fail("failed certificate parse returned a certificate");
        if (st != ECERT_E_MALFORMED && st != ECERT_E_TOO_LONG && st != ECERT_E_NOMEM)
            fail("x509_cert_from_der: unexpected status");
        return;
    }
    size_t len;
    const uint8_t *der = x509_cert_der(c, &len);
    if (len != d->len || memcmp(der, d->p, len) != 0)
        fail("certificate DER differs from its input");
    char text[300];
    x509_cert_subject(c, text, sizeof text);
    if (!memchr(text, 0, sizeof text))
        fail("subject not terminated");
    x509_cert_issuer(c, text, sizeof text);
    x509_cert_subject_cn(c, text, sizeof text);
    int64_t nb, na;
    (void)x509_cert_validity(c, &nb, &na);
    if (x509_cert_key_kind(c) == X509_KEY_SM2) {
        struct sm2_key *k = NULL;
        if (x509_cert_sm2_key(c, &k) != ECERT_OK || !k)
            fail("SM2 certificate without its key");
        sm2_key_free(k);
    }
    st = x509_cert_check_issued_by(c, c);
    if (st != ECERT_OK && st != ECERT_E_SIGNATURE)
        fail("x509_cert_check_issued_by: unexpected status");
    x509_cert_free(c);
}

static bool allowed(ecert_status st)
{
    return st == ECERT_OK || st == ECERT_E_MALFORMED || st == ECERT_E_TOO_LONG;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    lo = data;
    hi = data + size;
    ecert_status nest = ses_check_nesting(data, size, SES_MAX_DEPTH);
    if (!allowed(nest))
        fail("ses_check_nesting: unexpected status");

    struct ses_signature s;
    ecert_status st = ses_parse_signature(data, size, &s);
    if (!allowed(st))
        fail("ses_parse_signature: unexpected status");
    if (st == ECERT_OK) {
        if (nest != ECERT_OK)
            fail("signature accepted beyond the nesting bound");
        whole_tlv(&s.tbs, "TBS_Sign TLV");
        inside(&s.time, "time");
        inside(&s.data_hash, "dataHash");
        inside(&s.property_info, "propertyInfo");
        inside(&s.cert, "cert");
        inside(&s.signature, "signature");
        check_oid(&s.sig_alg);
        check_seal(&s.seal);
        check_cert(&s.cert);
        check_cert(&s.seal.maker_cert);
        struct ses_seal alone;
        if (ses_parse_seal(s.seal.whole.p, s.seal.whole.len, &alone) != ECERT_OK)
            fail("the seal of an accepted signature does not parse alone");
        if (alone.seal_info.p != s.seal.seal_info.p || alone.name.len != s.seal.name.len ||
            alone.version != s.seal.version || alone.v1_layout != s.seal.v1_layout)
            fail("the seal parses differently alone");
    }

    struct ses_seal seal;
    st = ses_parse_seal(data, size, &seal);
    if (!allowed(st))
        fail("ses_parse_seal: unexpected status");
    if (st == ECERT_OK) {
        if (nest != ECERT_OK)
            fail("seal accepted beyond the nesting bound");
        if (seal.whole.len != size)
            fail("seal does not cover the input");
        check_seal(&seal);
        check_cert(&seal.maker_cert);
    }

    struct ses_signed_data sd;
    st = ses_parse_signed_data(data, size, &sd);
    if (!allowed(st))
        fail("ses_parse_signed_data: unexpected status");
    if (st == ECERT_OK) {
        if (nest != ECERT_OK)
            fail("SignedData accepted beyond the nesting bound");
        if (sd.ncerts > SES_MAX_CERTS || sd.nsigners == 0 || sd.nsigners > SES_MAX_SIGNERS)
            fail("SignedData counts out of range");
        check_oid(&sd.content_type);
        inside(&sd.content, "content");
        for (size_t i = 0; i < sd.ncerts; i++) {
            whole_tlv(&sd.certs[i], "certificate TLV");
            check_cert(&sd.certs[i]);
        }
        for (size_t i = 0; i < sd.nsigners; i++) {
            const struct ses_signer *si = &sd.signers[i];
            if (si->issuer.len)
                whole_tlv(&si->issuer, "issuer TLV");
            if (si->has_signed_attrs) {
                whole_tlv(&si->signed_attrs, "signed attributes TLV");
                if (si->signed_attrs.p[0] != 0xA0)
                    fail("signed attributes not [0]");
            }
            inside(&si->serial, "serial");
            inside(&si->ski, "ski");
            inside(&si->message_digest, "messageDigest");
            inside(&si->signing_time, "signingTime");
            inside(&si->signature, "signature");
            check_oid(&si->digest_alg);
            check_oid(&si->sig_alg);
            check_oid(&si->content_type);
        }
    }
    return 0;
}
