/*
 * The SES / GB/T 35275 ASN.1 parsers (src/docs/ses.c) on real seals and
 * signature values from the corpus (ofdrw's GM/T 0031 v1, GB/T 38540 v4 and
 * "v5" seals), their signatures checked with the project's SM2, and on
 * hostile bytes: every truncation, byte flips, deep nesting, long lengths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/der.h"
#include "crypto/sm2.h"
#include "crypto/x509_verify.h"
#include "docs/ses.h"
#include "docs/zipread.h"
#include "util.h"

#define SES_DIR "corpus/ofd/ses/"

static bool der_eq(const struct der *d, const char *s)
{
    return d->len == strlen(s) && memcmp(d->p, s, d->len) == 0;
}

static ecert_status sm2_check(const struct der *cert_der, const uint8_t *msg, size_t len,
                              const struct der *sig)
{
    struct x509_cert *c = NULL;
    struct sm2_key *k = NULL;
    uint8_t rs[SM2_SIG_LEN];
    assert_int_equal(x509_cert_from_der(cert_der->p, cert_der->len, &c), ECERT_OK);
    assert_int_equal(x509_cert_sm2_key(c, &k), ECERT_OK);
    assert_int_equal(sm2_sig_decode_bytes(sig->p, sig->len, rs), ECERT_OK);
    ecert_status st = sm2_verify(k, NULL, 0, msg, len, rs);
    sm2_key_free(k);
    x509_cert_free(c);
    return st;
}

/* The seal maker's signature: over DER(SES_SealInfo) in GB/T 38540, over
 * SEQUENCE { sealInfo, cert, signatureAlgorithm } in GM/T 0031. */
static ecert_status maker_check(const struct ses_seal *s)
{
    if (!s->v1_layout)
        return sm2_check(&s->maker_cert, s->seal_info.p, s->seal_info.len, &s->signed_value);
    size_t body = s->seal_info.len + s->cert_tlv.len + s->alg_tlv.len, off = 0;
    size_t total = 1 + der_len_size(body) + body;
    uint8_t *tbs = malloc(total);
    assert_non_null(tbs);
    assert_int_equal(der_put_header(tbs, total, &off, DER_SEQUENCE, body), ECERT_OK);
    memcpy(tbs + off, s->seal_info.p, s->seal_info.len);
    memcpy(tbs + off + s->seal_info.len, s->cert_tlv.p, s->cert_tlv.len);
    memcpy(tbs + off + s->seal_info.len + s->cert_tlv.len, s->alg_tlv.p, s->alg_tlv.len);
    ecert_status st = sm2_check(&s->maker_cert, tbs, total, &s->signed_value);
    free(tbs);
    return st;
}

static void test_seals(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int version;
        bool v1;
        const char *name;
    } cases[] = {
        {"ofdrw-gm_UserV1.esl", 1, true, "OFDRW测试用印章"},
        {"ofdrw-gm_UserV4.esl", 4, false, "OFD R&W 测试用印章"},
        {"ofdrw-gm_UserV5.esl", 5, false, "OFD R&W V5测试用印章"},
        {"ofdrw-gm_UserV5_ts.esl", 5, false, "OFD R&W V5测试用印章"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, SES_DIR "%s", cases[i].file);
        size_t len;
        uint8_t *p = util_read_file(rel, &len);
        struct ses_seal s;
        assert_int_equal(ses_parse_seal(p, len, &s), ECERT_OK);
        assert_int_equal(s.version, cases[i].version);
        assert_int_equal(s.v1_layout, cases[i].v1);
        assert_true(der_eq(&s.name, cases[i].name));
        assert_true(der_eq(&s.header_id, "ES"));
        assert_true(der_eq(&s.pic_type, "PNG"));
        assert_int_equal(s.pic_width, 40);
        assert_int_equal(s.pic_height, 40);
        assert_true(s.pic_data.len > 8 && memcmp(s.pic_data.p, "\x89PNG", 4) == 0);
        assert_int_equal(s.whole.len, len);
        assert_true(der_oid_is(&s.sign_alg, OID_SM2_SM3));
        struct der cert, dt, dg;
        assert_int_equal(ses_seal_cert_at(&s, 0, &cert, &dt, &dg), ECERT_OK);
        assert_true(cert.len > 100);
        assert_int_equal(ses_seal_cert_at(&s, 1, &cert, &dt, &dg), ECERT_E_NOT_FOUND);
        assert_int_equal(maker_check(&s), ECERT_OK);
        free(p);
    }
}

static void test_signed_values(void **state)
{
    (void)state;
    const char *files[] = {"ofdrw-gm_SignedValueV4.dat", "ofdrw-gm_SignedValueV5.dat"};
    for (int i = 0; i < 2; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, SES_DIR "%s", files[i]);
        size_t len;
        uint8_t *p = util_read_file(rel, &len);
        struct ses_signature s;
        assert_int_equal(ses_parse_signature(p, len, &s), ECERT_OK);
        assert_int_equal(s.version, 4 + i);
        assert_false(s.v1_layout);
        assert_int_equal(s.data_hash.len, 32);
        assert_true(der_eq(&s.property_info, "/Doc_0/Signs/Sign_0/Signature.xml"));
        assert_int_equal(s.time_tag, 0x18);
        assert_true(der_oid_is(&s.sig_alg, OID_SM2_SM3));
        /* The signer's signature over DER(TBS_Sign) and the maker's. */
        assert_int_equal(sm2_check(&s.cert, s.tbs.p, s.tbs.len, &s.signature), ECERT_OK);
        assert_int_equal(maker_check(&s.seal), ECERT_OK);
        /* One changed byte in TBS_Sign: the signature fails. */
        uint8_t *copy = malloc(len);
        assert_non_null(copy);
        memcpy(copy, p, len);
        size_t at = (size_t)(s.data_hash.p - p);
        copy[at] ^= 1;
        struct ses_signature s2;
        assert_int_equal(ses_parse_signature(copy, len, &s2), ECERT_OK);
        assert_int_equal(sm2_check(&s2.cert, s2.tbs.p, s2.tbs.len, &s2.signature),
                         ECERT_E_SIGNATURE);
        free(copy);
        /* Not a seal, not SignedData. */
        struct ses_seal seal;
        struct ses_signed_data sd;
        assert_int_not_equal(ses_parse_seal(p, len, &seal), ECERT_OK);
        assert_int_not_equal(ses_parse_signed_data(p, len, &sd), ECERT_OK);
        free(p);
    }
}

static void test_signed_data(void **state)
{
    (void)state;
    /* Real ones, from inside two corpus packages: GM/T 0099 integrity
     * protection (no signed attributes, the digest as content) and a
     * GB/T 35275 Type="Sign" value (signed attributes, detached). */
    static const struct {
        const char *ofd, *entry;
        bool attrs, content;
    } real[] = {
        {"corpus/ofd/signed-valid/ofdrw_hello-integrity_OFDEntries.ofd", "signedvalue.dat", false,
         true},
        {"corpus/ofd/signed-valid/ofdrw_testPathClip_e-licence_mining-permit_gbt35275_2sig.ofd",
         "Doc_0/Signs/Sign_0/SignedValue.dat", true, false},
    };
    for (size_t r = 0; r < 2; r++) {
        size_t len;
        uint8_t *pkg = util_read_file(real[r].ofd, &len);
        struct zipread *z = NULL;
        const uint8_t *sv;
        size_t svlen;
        assert_int_equal(zipread_open(pkg, len, &z), ECERT_OK);
        assert_int_equal(zipread_get(z, real[r].entry, &sv, &svlen), ECERT_OK);
        struct ses_signed_data sd;
        assert_int_equal(ses_parse_signed_data(sv, svlen, &sd), ECERT_OK);
        assert_true(sd.gm);
        assert_int_equal(sd.has_content, real[r].content);
        assert_int_equal(sd.ncerts, 1);
        assert_int_equal(sd.nsigners, 1);
        const struct ses_signer *si = &sd.signers[0];
        assert_int_equal(si->has_signed_attrs, real[r].attrs);
        assert_true(der_oid_is(&si->digest_alg, OID_SM3));
        struct x509_cert *cert = NULL;
        assert_int_equal(x509_cert_from_der(sd.certs[0].p, sd.certs[0].len, &cert), ECERT_OK);
        assert_true(x509_cert_has_issuer_serial(cert, si->issuer.p, si->issuer.len, si->serial.p,
                                                si->serial.len));
        x509_cert_free(cert);
        struct der cert_der = sd.certs[0];
        if (real[r].attrs) {
            uint8_t *set = malloc(si->signed_attrs.len);
            assert_non_null(set);
            memcpy(set, si->signed_attrs.p, si->signed_attrs.len);
            set[0] = DER_SET;
            assert_int_equal(sm2_check(&cert_der, set, si->signed_attrs.len, &si->signature),
                             ECERT_OK);
            free(set);
            assert_true(si->has_message_digest);
            assert_int_equal(si->signing_time_tag, 0x17);
        } else {
            assert_int_equal(sd.content.len, 32);
            assert_int_equal(sm2_check(&cert_der, sd.content.p, sd.content.len, &si->signature),
                             ECERT_OK);
        }
        zipread_close(z);
        free(pkg);
    }
    size_t vlen;
    uint8_t *v4 = util_read_file(SES_DIR "ofdrw-gm_SignedValueV4.dat", &vlen);
    struct ses_signed_data notsd;
    assert_int_not_equal(ses_parse_signed_data(v4, vlen, &notsd), ECERT_OK);
    free(v4);

    /* A small SignedData built here: GM OIDs, one certificate-less signer
     * identified by issuer and serial, signed attributes with messageDigest
     * and signingTime, encapsulated content. */
    static const uint8_t sm3_oid[] = {0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x83, 0x11};
    static const uint8_t gm_sd[] = {0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x06, 0x01, 0x04, 0x02, 0x02};
    static const uint8_t gm_data[] = {0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x06, 0x01, 0x04, 0x02, 0x01};
    static const uint8_t sm2_oid[] = {0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x83, 0x75};
    static const uint8_t md_oid[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04};
    static const uint8_t st_oid[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x05};
    uint8_t b[1024];
    size_t o = 0;
    /* Built inside out in a scratch area, each piece appended to `b`. */
    uint8_t digest_alg[32], attrs[256], signer[512], sd_body[900], tmp[1024];
    size_t n_da = 0, n_at = 0, n_si = 0, n_sd = 0, t = 0;
#define PUT(buf, off, tag, ptr, len)                                                         \
    do {                                                                                     \
        assert_int_equal(der_put_header(buf, sizeof buf, &off, tag, len), ECERT_OK);         \
        memcpy(buf + off, ptr, len);                                                         \
        off += len;                                                                          \
    } while (0)
    PUT(tmp, t, DER_OID, sm3_oid, sizeof sm3_oid);
    PUT(digest_alg, n_da, DER_SEQUENCE, tmp, t);
    /* attributes */
    uint8_t a1[128], a2[64], v[64];
    size_t n1 = 0, n2 = 0, nv = 0;
    uint8_t md[32];
    memset(md, 0xAB, sizeof md);
    t = 0;
    PUT(tmp, t, DER_OID, md_oid, sizeof md_oid);
    PUT(v, nv, DER_OCTET_STRING, md, sizeof md);
    PUT(tmp, t, DER_SET, v, nv);
    PUT(a1, n1, DER_SEQUENCE, tmp, t);
    t = 0, nv = 0;
    PUT(tmp, t, DER_OID, st_oid, sizeof st_oid);
    PUT(v, nv, 0x17, "220719085059Z", 13);
    PUT(tmp, t, DER_SET, v, nv);
    PUT(a2, n2, DER_SEQUENCE, tmp, t);
    memcpy(tmp, a1, n1);
    memcpy(tmp + n1, a2, n2);
    PUT(attrs, n_at, 0xA0, tmp, n1 + n2);
    /* signer info */
    t = 0;
    static const uint8_t one = 1;
    uint8_t name[16], ias[64];
    size_t nn = 0, ni = 0;
    PUT(name, nn, DER_SEQUENCE, "", 0);
    uint8_t serial[] = {0x12, 0x34};
    memcpy(tmp, name, nn);
    size_t u = nn;
    PUT(tmp, u, DER_INTEGER, serial, sizeof serial);
    PUT(ias, ni, DER_SEQUENCE, tmp, u);
    t = 0;
    PUT(tmp, t, DER_INTEGER, &one, 1);
    memcpy(tmp + t, ias, ni), t += ni;
    memcpy(tmp + t, digest_alg, n_da), t += n_da;
    memcpy(tmp + t, attrs, n_at), t += n_at;
    uint8_t salg[16];
    size_t ns = 0, nso = 0;
    uint8_t so[16];
    PUT(so, nso, DER_OID, sm2_oid, sizeof sm2_oid);
    PUT(salg, ns, DER_SEQUENCE, so, nso);
    memcpy(tmp + t, salg, ns), t += ns;
    uint8_t sig[64];
    memset(sig, 0x11, sizeof sig);
    PUT(tmp, t, DER_OCTET_STRING, sig, sizeof sig);
    PUT(signer, n_si, DER_SEQUENCE, tmp, t);
    /* SignedData */
    t = 0;
    PUT(tmp, t, DER_INTEGER, &one, 1);
    PUT(tmp, t, DER_SET, digest_alg, n_da);
    uint8_t enc[128], encw[64];
    size_t ne = 0, nw = 0;
    uint8_t inner[80];
    size_t nin = 0;
    PUT(inner, nin, DER_OCTET_STRING, md, sizeof md);
    PUT(encw, nw, 0xA0, inner, nin);
    uint8_t et[96];
    size_t net = 0;
    PUT(et, net, DER_OID, gm_data, sizeof gm_data);
    memcpy(et + net, encw, nw), net += nw;
    PUT(enc, ne, DER_SEQUENCE, et, net);
    memcpy(tmp + t, enc, ne), t += ne;
    PUT(tmp, t, DER_SET, signer, n_si);
    PUT(sd_body, n_sd, DER_SEQUENCE, tmp, t);
    t = 0;
    PUT(tmp, t, DER_OID, gm_sd, sizeof gm_sd);
    PUT(tmp, t, 0xA0, sd_body, n_sd);
    PUT(b, o, DER_SEQUENCE, tmp, t);
#undef PUT

    struct ses_signed_data sd2;
    assert_int_equal(ses_parse_signed_data(b, o, &sd2), ECERT_OK);
    assert_true(sd2.gm);
    assert_true(sd2.has_content);
    assert_int_equal(sd2.content.len, 32);
    assert_int_equal(sd2.nsigners, 1);
    const struct ses_signer *si = &sd2.signers[0];
    assert_true(si->has_signed_attrs);
    assert_true(si->has_message_digest);
    assert_int_equal(memcmp(si->message_digest.p, md, 32), 0);
    assert_int_equal(si->signing_time_tag, 0x17);
    assert_true(der_oid_is(&si->digest_alg, OID_SM3));
    assert_true(der_oid_is(&si->sig_alg, OID_SM2_SM3));
    assert_int_equal(si->signature.len, 64);
    assert_int_equal(si->signed_attrs.p[0], 0xA0);
    assert_int_equal(si->serial.len, 2);
    /* Every truncation is refused cleanly. */
    for (size_t cut = 0; cut < o; cut++)
        assert_int_not_equal(ses_parse_signed_data(b, cut, &sd2), ECERT_OK);
}

static void test_hostile(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = util_read_file(SES_DIR "ofdrw-gm_SignedValueV4.dat", &len);
    struct ses_signature s;
    struct ses_seal seal;
    /* Every truncation (a sample of them: every 13th) and every byte flip in
     * the structural part must fail cleanly or parse to in-bounds fields. */
    for (size_t cut = 0; cut < len; cut += 13)
        assert_int_not_equal(ses_parse_signature(p, cut, &s), ECERT_OK);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    for (size_t i = 0; i < 120; i++) {
        memcpy(copy, p, len);
        copy[i] ^= 0x5A;
        if (ses_parse_signature(copy, len, &s) == ECERT_OK) {
            assert_true(s.tbs.p >= copy && s.tbs.p + s.tbs.len <= copy + len);
            assert_true(s.cert.p >= copy && s.cert.p + s.cert.len <= copy + len);
        }
    }
    free(copy);
    free(p);
    /* Nesting deeper than the bound. */
    uint8_t deep[2 * 40];
    for (int i = 0; i < 40; i++) {
        deep[2 * i] = 0x30;
        deep[2 * i + 1] = (uint8_t)(2 * (39 - i));
    }
    assert_int_equal(ses_check_nesting(deep, sizeof deep, SES_MAX_DEPTH), ECERT_E_MALFORMED);
    assert_int_equal(ses_check_nesting(deep + 2 * 10, sizeof deep - 20, SES_MAX_DEPTH),
                     ECERT_OK);
    assert_int_equal(ses_parse_seal(deep, sizeof deep, &seal), ECERT_E_MALFORMED);
    /* A length past the end, and a five-octet length. */
    static const uint8_t past[] = {0x30, 0x84, 0x7F, 0xFF, 0xFF, 0xFF, 0x00};
    assert_int_equal(ses_parse_signature(past, sizeof past, &s), ECERT_E_MALFORMED);
    static const uint8_t five[] = {0x30, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(ses_parse_signature(five, sizeof five, &s), ECERT_E_MALFORMED);
    static const uint8_t indefinite[] = {0x30, 0x80, 0x00, 0x00};
    assert_int_equal(ses_parse_signature(indefinite, sizeof indefinite, &s), ECERT_E_MALFORMED);
}

static void test_oids(void **state)
{
    (void)state;
    char text[64];
    static const uint8_t sm3[] = {0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x83, 0x11};
    struct der d = {sm3, sizeof sm3};
    assert_true(der_oid_text(&d, text, sizeof text));
    assert_string_equal(text, "1.2.156.10197.1.401");
    assert_true(der_oid_is(&d, OID_SM3));
    assert_false(der_oid_is(&d, OID_SM2_SM3));
    static const uint8_t joint[] = {0x88, 0x37, 0x03}; /* 2.999.3 */
    d = (struct der){joint, sizeof joint};
    assert_true(der_oid_text(&d, text, sizeof text));
    assert_string_equal(text, "2.999.3");
    static const uint8_t trunc[] = {0x2A, 0x81};
    d = (struct der){trunc, sizeof trunc};
    assert_false(der_oid_text(&d, text, sizeof text));
    static const uint8_t nonmin[] = {0x2A, 0x80, 0x01};
    d = (struct der){nonmin, sizeof nonmin};
    assert_false(der_oid_text(&d, text, sizeof text));
    d = (struct der){sm3, sizeof sm3};
    assert_false(der_oid_text(&d, text, 8)); /* no room */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seals),   cmocka_unit_test(test_signed_values),
        cmocka_unit_test(test_signed_data), cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_oids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
