/*
 * The CMS SignedData reader (docs/cms.c) and the signature checks behind it
 * (crypto/pkcs.c): the SignedData of the corpus PDFs read with their known
 * shapes (signed attributes or none, issuer+serial or SKI, encapsulated
 * content, a time-stamp token), hostile encodings refused (truncations,
 * trailing bytes, deep nesting, BER indefinite lengths, duplicate
 * messageDigest), times and OIDs, and algorithm/key mismatches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "crypto/pkcs.h"
#include "docs/cms.h"
#include "docs/pdf.h"
#include "util.h"

/* The SignedData (without its zero padding) of signature `idx` of a corpus
 * PDF; caller frees. */
static uint8_t *cms_of(const char *rel, size_t idx, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "corpus/pdf/%s", rel);
    size_t n;
    uint8_t *pdf = util_read_file(path, &n);
    struct pdf_sig_list l;
    assert_int_equal(pdf_extract(pdf, n, &l), ECERT_OK);
    assert_true(idx < l.n);
    assert_int_equal(cms_tlv_length(l.sigs[idx].contents, l.sigs[idx].contents_len, len), ECERT_OK);
    uint8_t *out = malloc(*len);
    memcpy(out, l.sigs[idx].contents, *len);
    pdf_sig_list_free(&l);
    free(pdf);
    return out;
}

static void test_corpus_shapes(void **state)
{
    (void)state;
    struct cms_signed_data *c = malloc(sizeof *c);
    size_t len;
    uint8_t *d;

    d = cms_of("signed-valid/nodesignpdf_signed.pdf", 0, &len);
    assert_int_equal(cms_parse(d, len, c), ECERT_OK);
    assert_int_equal(c->nsigners, 1);
    assert_false(c->has_econtent);
    assert_true(der_oid_is(&c->econtent_type, CMS_OID_DATA));
    assert_true(c->ncerts >= 1);
    assert_false(c->signers[0].sid_is_ski);
    assert_true(c->signers[0].has_signed_attrs);
    assert_true(c->signers[0].has_message_digest);
    assert_int_equal(c->signers[0].message_digest.len, 32);
    assert_true(c->signers[0].has_content_type);
    assert_int_equal(c->signers[0].signing_time_tag, 0x17);
    /* the whole input, and nothing else, is one SignedData */
    assert_int_equal(cms_parse(d, len - 1, c), ECERT_E_MALFORMED);
    free(d);

    d = cms_of("signed-valid/pyhanko_sig-no-signed-attrs.pdf", 0, &len);
    assert_int_equal(cms_parse(d, len, c), ECERT_OK);
    assert_false(c->signers[0].has_signed_attrs);
    assert_false(c->signers[0].has_message_digest);
    free(d);

    d = cms_of("signed-valid/pyhanko_sig-with-ski-sid.pdf", 0, &len);
    assert_int_equal(cms_parse(d, len, c), ECERT_OK);
    assert_true(c->signers[0].sid_is_ski);
    assert_int_equal(c->signers[0].sid_ski.len, 20);
    assert_int_equal(c->signers[0].version, 3);
    free(d);

    d = cms_of("signed-invalid/pyhanko_pdf-sig-with-econtent.pdf", 0, &len);
    assert_int_equal(cms_parse(d, len, c), ECERT_OK);
    assert_true(c->has_econtent);
    assert_int_equal(c->econtent.len, 0);
    free(d);

    /* the document time stamp: TSTInfo with an imprint of the covered bytes */
    d = cms_of("signed-valid/pyhanko_pades-lta-dss-indirect-arrs-test.pdf", 1, &len);
    assert_int_equal(cms_parse(d, len, c), ECERT_OK);
    assert_true(der_oid_is(&c->econtent_type, CMS_OID_TST_INFO));
    struct cms_tst_info tst;
    assert_int_equal(cms_parse_tst_info(c->econtent.p, c->econtent.len, &tst), ECERT_OK);
    assert_int_equal(tst.imprint.len, 32);
    assert_true(der_oid_is(&tst.imprint_alg, "2.16.840.1.101.3.4.2.1"));
    char t[32];
    assert_int_equal(cms_time(0x18, &tst.gen_time, t, NULL), ECERT_OK);
    assert_string_equal(t, "2020-11-01T00:00:00Z");
    free(d);

    /* every truncation of a real SignedData is refused, none crashes */
    d = cms_of("signed-valid/pyhanko_sig-with-ski-sid.pdf", 0, &len);
    for (size_t n = 0; n < len; n++)
        assert_int_not_equal(cms_parse(d, n, c), ECERT_OK);
    free(d);
    free(c);
}

/* ---- hand-made encodings ------------------------------------------------------*/

static void tlv(struct buf *out, uint8_t tag, const struct buf *content)
{
    uint8_t h[8];
    size_t off = 0;
    assert_int_equal(der_put_header(h, sizeof h, &off, tag, content ? content->len : 0),
                     ECERT_OK);
    buf_append(out, h, off);
    if (content && content->len)
        buf_append(out, content->data, content->len);
}

static void raw(struct buf *out, const char *hex)
{
    size_t n;
    uint8_t *b = util_unhex(hex, &n);
    buf_append(out, b, n);
    free(b);
}

/* A SignedData whose SignerInfo carries `attrs` (hex of the attributes). */
static void signed_data(struct buf *out, const char *attrs_hex)
{
    struct buf a = BUF_INIT(1 << 16), si = BUF_INIT(1 << 16), sis = BUF_INIT(1 << 16),
               sd = BUF_INIT(1 << 16), sdseq = BUF_INIT(1 << 16), expl = BUF_INIT(1 << 16),
               ci = BUF_INIT(1 << 16);
    raw(&a, attrs_hex);
    raw(&si, "020101"                    /* version 1 */
             "3005" "3000" "020101"      /* issuer (empty Name), serial 1 */
             "300b0609608648016503040201"); /* sha256 */
    tlv(&si, 0xA0, &a);
    raw(&si, "300b06092a864886f70d010101" "040100"); /* rsaEncryption, signature */
    tlv(&sis, 0x30, &si);
    raw(&sd, "020101" "3100" "300b06092a864886f70d010701");
    tlv(&sd, 0x31, &sis);
    tlv(&sdseq, 0x30, &sd);
    tlv(&expl, 0xA0, &sdseq);
    raw(&ci, "06092a864886f70d010702");
    buf_append(&ci, expl.data, expl.len);
    tlv(out, 0x30, &ci);
    buf_release(&a);
    buf_release(&si);
    buf_release(&sis);
    buf_release(&sd);
    buf_release(&sdseq);
    buf_release(&expl);
    buf_release(&ci);
}

#define MD_ATTR "302f06092a864886f70d01090431220420" \
                "0000000000000000000000000000000000000000000000000000000000000000"

static void test_hostile(void **state)
{
    (void)state;
    struct cms_signed_data *c = malloc(sizeof *c);
    struct buf b = BUF_INIT(1 << 16);

    signed_data(&b, MD_ATTR);
    assert_int_equal(cms_parse(b.data, b.len, c), ECERT_OK);
    assert_true(c->signers[0].has_message_digest);

    /* two messageDigest attributes */
    buf_reset(&b);
    signed_data(&b, MD_ATTR MD_ATTR);
    assert_int_equal(cms_parse(b.data, b.len, c), ECERT_E_MALFORMED);

    /* a messageDigest with two values */
    buf_reset(&b);
    signed_data(&b, "305106092a864886f70d0109043144"
                    "0420" "0000000000000000000000000000000000000000000000000000000000000000"
                    "0420" "0000000000000000000000000000000000000000000000000000000000000000");
    assert_int_equal(cms_parse(b.data, b.len, c), ECERT_E_MALFORMED);

    /* trailing bytes after the ContentInfo */
    buf_reset(&b);
    signed_data(&b, MD_ATTR);
    buf_append_byte(&b, 0);
    assert_int_equal(cms_parse(b.data, b.len, c), ECERT_E_MALFORMED);

    /* BER indefinite length */
    static const uint8_t ber[] = {0x30, 0x80, 0x06, 0x00, 0x00, 0x00};
    assert_int_equal(cms_parse(ber, sizeof ber, c), ECERT_E_MALFORMED);

    /* nesting past the bound: 60 SEQUENCEs */
    uint8_t deep[120];
    for (int i = 0; i < 60; i++) {
        deep[2 * i] = 0x30;
        deep[2 * i + 1] = (uint8_t)(2 * (59 - i));
    }
    assert_int_equal(der_check_nesting(deep, sizeof deep, CMS_MAX_DEPTH), ECERT_E_MALFORMED);
    assert_int_equal(cms_parse(deep, sizeof deep, c), ECERT_E_MALFORMED);
    assert_int_equal(der_check_nesting(deep, sizeof deep, 64), ECERT_OK);

    /* not SignedData */
    static const uint8_t data_ci[] = {0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                      0x0d, 0x01, 0x07, 0x01};
    assert_int_equal(cms_parse(data_ci, sizeof data_ci, c), ECERT_E_MALFORMED);
    assert_int_equal(cms_parse(NULL, 0, c), ECERT_E_MALFORMED);
    buf_release(&b);
    free(c);
}

static void test_times_and_oids(void **state)
{
    (void)state;
    char t[32];
    int64_t u;
    struct der d;
#define TIME(tag, s, want)                                                   \
    do {                                                                     \
        d = (struct der){(const uint8_t *)(s), strlen(s)};                   \
        assert_int_equal(cms_time(tag, &d, t, &u), ECERT_OK);                \
        assert_string_equal(t, want);                                        \
    } while (0)
    TIME(0x17, "491231235959Z", "2049-12-31T23:59:59Z");
    TIME(0x17, "500101000000Z", "1950-01-01T00:00:00Z");
    TIME(0x18, "20200101083000.123+0800", "2020-01-01T00:30:00Z");
    TIME(0x18, "20240229120000Z", "2024-02-29T12:00:00Z");
    assert_int_equal(u, 1709208000);
    static const char *const bad[] = {"2020", "20201301000000Z", "20200101000000", "2020010100000aZ",
                                      "20200101000000.Z", "20200101000000+2500"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = (struct der){(const uint8_t *)bad[i], strlen(bad[i])};
        assert_int_equal(cms_time(0x18, &d, t, &u), ECERT_E_MALFORMED);
    }

    char o[96];
    static const uint8_t sd[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
    d = (struct der){sd, sizeof sd};
    assert_true(der_oid_text(&d, o, sizeof o));
    assert_string_equal(o, "1.2.840.113549.1.7.2");
    static const uint8_t sm2sm3[] = {0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75};
    d = (struct der){sm2sm3, sizeof sm2sm3};
    assert_true(der_oid_is(&d, "1.2.156.10197.1.501"));
    static const uint8_t nonmin[] = {0x2a, 0x80, 0x01};
    d = (struct der){nonmin, sizeof nonmin};
    assert_false(der_oid_text(&d, o, sizeof o));
    static const uint8_t trunc[] = {0x2a, 0x86};
    d = (struct der){trunc, sizeof trunc};
    assert_false(der_oid_text(&d, o, sizeof o));
    d = (struct der){sd, sizeof sd};
    assert_false(der_oid_text(&d, o, 8)); /* does not fit */
}

/* pkcs_verify refuses an algorithm that does not fit the key, and a digest the
 * algorithm does not allow. */
static void test_pkcs_mismatch(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = cms_of("signed-valid/nodesignpdf_signed.pdf", 0, &len);
    struct cms_signed_data *c = malloc(sizeof *c);
    assert_int_equal(cms_parse(d, len, c), ECERT_OK);
    const struct der *cert = &c->certs[0];
    struct pkcs_chunk m = {(const uint8_t *)"x", 1};
    char why[256];
    static const uint8_t sm2alg[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x81, 0x1c,
                                     0xcf, 0x55, 0x01, 0x83, 0x75};
    assert_int_equal(pkcs_verify(cert->p, cert->len, sm2alg, sizeof sm2alg, PKCS_HASH_SM3, &m, 1,
                                 (const uint8_t *)"sig", 3, why, sizeof why),
                     ECERT_E_SIGNATURE);
    assert_non_null(strstr(why, "not SM2"));
    static const uint8_t ed25519[] = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};
    assert_int_equal(pkcs_verify(cert->p, cert->len, ed25519, sizeof ed25519, PKCS_HASH_SHA512, &m,
                                 1, (const uint8_t *)"sig", 3, why, sizeof why),
                     ECERT_E_SIGNATURE);
    static const uint8_t rsa[] = {0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                  0xf7, 0x0d, 0x01, 0x01, 0x01};
    assert_int_equal(pkcs_verify(cert->p, cert->len, rsa, sizeof rsa, PKCS_HASH_SHA256, &m, 1,
                                 (const uint8_t *)"sig", 3, why, sizeof why),
                     ECERT_E_SIGNATURE);
    assert_non_null(strstr(why, "does not verify"));
    assert_int_equal(pkcs_hash_from_oid("1.2.156.10197.1.401"), PKCS_HASH_SM3);
    assert_int_equal(pkcs_hash_from_oid("1.2.3"), PKCS_HASH_UNKNOWN);
    free(c);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_shapes),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_times_and_oids),
        cmocka_unit_test(test_pkcs_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
