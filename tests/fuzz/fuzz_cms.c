/*
 * fuzz_cms — the CMS SignedData reader (docs/cms.c) on arbitrary bytes, with
 * the TSTInfo and time readers behind it.
 *
 * Properties, each violation an abort():
 *   - cms_parse returns OK, ECERT_E_MALFORMED or ECERT_E_TOO_LONG;
 *   - on OK: at least one signer; every field points inside the input;
 *     counts within their caps; signed attributes start with the [0] tag;
 *     a messageDigest is present whenever the parser says so;
 *   - cms_time of an accepted signing time prints exactly 20 characters
 *     "YYYY-MM-DDTHH:MM:SSZ";
 *   - der_oid_text never writes past its buffer (checked by ASan) and its
 *     text re-reads as the same OID.
 * Seeds: the SignedData of every corpus PDF (RSA, ECDSA, Ed448, time stamps,
 * SKI identifiers, no signed attributes) and ecert's own SM2 and ECDSA ones.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs/cms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_cms: property violated: %s\n", what);
    abort();
}

static const uint8_t *lo, *hi;

static void inside(const struct der *d, const char *what)
{
    if (d->len == 0)
        return;
    if (d->p < lo || d->p > hi || d->len > (size_t)(hi - d->p))
        fail(what);
}

static void check_oid(const struct der *oid)
{
    char text[96];
    if (!der_oid_text(oid, text, sizeof text))
        return;
    if (!der_oid_is(oid, text))
        fail("OID text does not read back");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cms_signed_data *c = malloc(sizeof *c);
    if (!c)
        return 0;
    lo = data;
    hi = data + size;
    ecert_status st = cms_parse(data, size, c);
    if (st != ECERT_OK && st != ECERT_E_MALFORMED && st != ECERT_E_TOO_LONG)
        fail("cms_parse status");
    if (st == ECERT_OK) {
        if (c->nsigners == 0 || c->nsigners > CMS_MAX_SIGNER_INFOS ||
            c->ncerts > CMS_MAX_CERTIFICATES)
            fail("counts");
        inside(&c->econtent_type, "eContentType");
        inside(&c->econtent, "eContent");
        check_oid(&c->econtent_type);
        for (size_t i = 0; i < c->ncerts; i++)
            inside(&c->certs[i], "certificate");
        for (size_t i = 0; i < c->nsigners; i++) {
            const struct cms_signer_info *s = &c->signers[i];
            inside(&s->sid_issuer, "sid issuer");
            inside(&s->sid_serial, "sid serial");
            inside(&s->sid_ski, "sid ski");
            inside(&s->digest_alg, "digest alg");
            inside(&s->signed_attrs, "signed attrs");
            inside(&s->message_digest, "message digest");
            inside(&s->signing_time, "signing time");
            inside(&s->sig_alg, "sig alg");
            inside(&s->signature, "signature");
            inside(&s->unsigned_attrs, "unsigned attrs");
            check_oid(&s->digest_alg);
            check_oid(&s->sig_alg_oid);
            if (s->has_signed_attrs && (s->signed_attrs.len == 0 || s->signed_attrs.p[0] != 0xA0))
                fail("signed attributes tag");
            if (s->has_message_digest && !s->has_signed_attrs)
                fail("messageDigest outside signed attributes");
            if (s->signing_time_tag) {
                char t[32];
                int64_t u;
                if (cms_time(s->signing_time_tag, &s->signing_time, t, &u) == ECERT_OK &&
                    strlen(t) != 20)
                    fail("time text");
            }
        }
        if (c->has_econtent) {
            struct cms_tst_info tst;
            if (cms_parse_tst_info(c->econtent.p, c->econtent.len, &tst) == ECERT_OK) {
                inside(&tst.imprint, "imprint");
                inside(&tst.gen_time, "genTime");
                char t[32];
                int64_t u;
                if (cms_time(0x18, &tst.gen_time, t, &u) == ECERT_OK && strlen(t) != 20)
                    fail("genTime text");
            }
        }
    }
    /* The time reader alone, on the raw input as a GeneralizedTime. */
    struct der t = {data, size < 64 ? size : 64};
    char txt[32];
    if (cms_time(0x18, &t, txt, NULL) == ECERT_OK && strlen(txt) != 20)
        fail("time text (raw)");
    free(c);
    return 0;
}
