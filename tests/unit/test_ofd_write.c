/*
 * ecert's own sealed OFD files: a province root, its seal hierarchy
 * (seal_pki_new), ofd_issue, and docs_verify against the root. Files ecert
 * issues verify and are trusted; each tamper is caught and named for what it
 * is: a changed page or face field (tampered), a swapped seal picture
 * (tampered, or an invalid signature when the signed copy is changed too), a
 * replaced certificate (invalid signature), a file re-sealed with another
 * hierarchy's keys (signature good, chain untrusted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/buf.h"
#include "crypto/sm2.h"
#include "crypto/x509_issue.h"
#include "crypto/x509_verify.h"
#include "docs/ofd_seal.h"
#include "docs/ofd_verify.h"
#include "docs/ofd_write.h"
#include "docs/ses.h"
#include "docs/verify.h"
#include "docs/xml.h"
#include "docs/zipread.h"
#include "docs/zipwrite.h"

/* Issuing time: a minute after the hierarchy is made (its certificates are
 * valid from five minutes before they were made). */
static int64_t SIGN_TIME;
static char SIGN_TIME_ISO[32];

struct province {
    struct sm2_key *root_key;
    struct buf root;        /* DER */
    struct x509_store *anchors;
    struct seal_pki pki;
    struct seal_identity id;
};

static struct province sh, rogue;

static const struct ofd_field FIELDS[] = {
    {"类型", "有限责任公司"},
    {"性别", "男"}, /* one character: no DeltaX */
    {"法定代表人", "张三"},
    {"注册资本", "壹仟万元整"},
    {"经营范围", "软件开发；信息技术咨询服务；数据处理和存储支持服务；"
                 "电子证照相关系统的设计、开发与运营（依法须经批准的项目除外）"},
};

static struct ofd_face face(void)
{
    struct ofd_face f = {
        .title = "营业执照",
        .identifier = "1.2.156.3005.2.11100000000013338W.91310000MA1K4XYZ0B.0001.3",
        .number = "91310000MA1K4XYZ0B",
        .holder = "上海示例科技有限公司",
        .holder_code = "91310000MA1K4XYZ0B",
        .issuer = "上海市市场监督管理局",
        .issued_date = "2025-12-30",
        .valid_from = "2025-12-30",
        .valid_to = NULL,
        .fields = FIELDS,
        .nfields = sizeof FIELDS / sizeof FIELDS[0],
        .sign_time = SIGN_TIME,
    };
    return f;
}

static void province_new(struct province *p, const char *name, const char *authority)
{
    memset(p, 0, sizeof *p);
    buf_init(&p->root, 64u << 10);
    assert_int_equal(sm2_key_generate(&p->root_key), ECERT_OK);
    struct x509_subject root = {.c = "CN", .o = name, .cn = "电子证照根证书"};
    assert_int_equal(x509_sm2_issue(NULL, 0, p->root_key, &root, p->root_key, X509_ISSUE_CA, 0,
                                    3650, &p->root),
                     ECERT_OK);
    assert_int_equal(x509_store_new(&p->anchors), ECERT_OK);
    assert_int_equal(x509_store_add_der(p->anchors, p->root.data, p->root.len), ECERT_OK);
    assert_int_equal(seal_pki_new(p->root.data, p->root.len, p->root_key, name, authority,
                                  "310000-SEAL-0001", 3650, &p->pki),
                     ECERT_OK);
    seal_pki_identity(&p->pki, &p->id);
}

static void province_free(struct province *p)
{
    seal_pki_free(&p->pki);
    x509_store_free(p->anchors);
    buf_release(&p->root);
    sm2_key_free(p->root_key);
}

static int setup(void **state)
{
    (void)state;
    SIGN_TIME = (int64_t)time(NULL) + 60;
    time_t tt = (time_t)SIGN_TIME;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(SIGN_TIME_ISO, sizeof SIGN_TIME_ISO, "%Y-%m-%dT%H:%M:%SZ", &tm);
    province_new(&sh, "上海市", "上海市市场监督管理局");
    /* Another hierarchy, with the very same names: what a forger would make. */
    province_new(&rogue, "上海市", "上海市市场监督管理局");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    province_free(&sh);
    province_free(&rogue);
    return 0;
}

static void issue(const struct ofd_face *f, const struct seal_identity *id, struct buf *out)
{
    buf_init(out, 16u << 20);
    assert_int_equal(ofd_issue(f, id, out), ECERT_OK);
}

static void verify(const struct buf *file, const struct x509_store *anchors, bool require,
                   struct verify_result *res)
{
    struct verify_options o = {.anchors = anchors, .require_trust = require};
    assert_int_equal(docs_verify(file->data, file->len, DOC_FORMAT_AUTO, &o, res), ECERT_OK);
}

/* Rebuilds the package with entry `name` replaced by data[0..len). */
static void replace_entry(const struct buf *in, const char *name, const uint8_t *data,
                          size_t len, struct buf *out)
{
    struct zipread *z = NULL;
    assert_int_equal(zipread_open(in->data, in->len, &z), ECERT_OK);
    size_t n = zipread_count(z);
    struct zipwrite_entry *e = calloc(n, sizeof *e);
    assert_non_null(e);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        e[i].name = zipread_name(z, i);
        if (strcmp(e[i].name, name) == 0) {
            e[i].data = data;
            e[i].len = len;
            found = true;
        } else {
            assert_int_equal(zipread_read(z, i, &e[i].data, &e[i].len), ECERT_OK);
        }
    }
    assert_true(found);
    buf_init(out, 16u << 20);
    assert_int_equal(zip_build(e, n, 0, out), ECERT_OK);
    free(e);
    zipread_close(z);
}

/* A copy of entry `name`. */
static uint8_t *entry(const struct buf *pkg, const char *name, size_t *len)
{
    struct zipread *z = NULL;
    const uint8_t *d;
    assert_int_equal(zipread_open(pkg->data, pkg->len, &z), ECERT_OK);
    assert_int_equal(zipread_get(z, name, &d, len), ECERT_OK);
    uint8_t *copy = malloc(*len + 1);
    assert_non_null(copy);
    memcpy(copy, d, *len);
    copy[*len] = 0;
    zipread_close(z);
    return copy;
}

static uint8_t *replace_bytes(const uint8_t *p, size_t n, const char *from, const char *to)
{
    size_t fl = strlen(from);
    assert_int_equal(fl, strlen(to));
    uint8_t *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, p, n);
    uint8_t *at = memmem(copy, n, from, fl);
    assert_non_null(at);
    memcpy(at, to, fl);
    return copy;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_pki(void **state)
{
    (void)state;
    struct x509_cert *maker = NULL, *signer = NULL;
    assert_int_equal(x509_cert_from_der(sh.pki.maker_cert.data, sh.pki.maker_cert.len, &maker),
                     ECERT_OK);
    assert_int_equal(x509_cert_from_der(sh.pki.signer_cert.data, sh.pki.signer_cert.len, &signer),
                     ECERT_OK);
    char why[256];
    assert_int_equal(x509_chain_verify(maker, NULL, 0, sh.anchors, SIGN_TIME, why, sizeof why),
                     ECERT_OK);
    assert_int_equal(x509_chain_verify(signer, NULL, 0, sh.anchors, SIGN_TIME, why, sizeof why),
                     ECERT_OK);
    /* Not under the other root, and not before the certificates existed. */
    assert_int_equal(x509_chain_verify(signer, NULL, 0, rogue.anchors, SIGN_TIME, why, sizeof why),
                     ECERT_E_SIGNATURE);
    assert_int_equal(x509_chain_verify(signer, NULL, 0, sh.anchors, 1000000000, why, sizeof why),
                     ECERT_E_SIGNATURE);
    assert_non_null(strstr(why, "not valid"));
    char cn[256];
    x509_cert_subject_cn(signer, cn, sizeof cn);
    assert_string_equal(cn, "上海市市场监督管理局");
    assert_int_equal(x509_cert_key_kind(signer), X509_KEY_SM2);
    assert_false(x509_cert_is_ca(signer));
    x509_cert_free(maker);
    x509_cert_free(signer);

    /* The seal: v4, the authority as holder, signed by the maker. */
    struct ses_seal seal;
    assert_int_equal(ses_parse_seal(sh.pki.seal.data, sh.pki.seal.len, &seal), ECERT_OK);
    assert_int_equal(seal.version, 4);
    assert_false(seal.v1_layout);
    assert_int_equal(seal.name.len, strlen("上海市市场监督管理局电子证照专用章"));
    assert_int_equal(memcmp(seal.name.p, "上海市市场监督管理局电子证照专用章", seal.name.len), 0);
    struct der c, t, d;
    assert_int_equal(ses_seal_cert_at(&seal, 0, &c, &t, &d), ECERT_OK);
    assert_int_equal(c.len, sh.pki.signer_cert.len);
    assert_int_equal(memcmp(c.p, sh.pki.signer_cert.data, c.len), 0);
    assert_int_equal(seal.pic_width, 40);
    assert_true(seal.pic_data.len > 100 && memcmp(seal.pic_data.p, "\x89PNG\r\n\x1a\n", 8) == 0);

    /* PEM round trip of a DER certificate. */
    struct buf pem = BUF_INIT(64u << 10), der = BUF_INIT(64u << 10);
    assert_int_equal(x509_der_to_pem(sh.root.data, sh.root.len, &pem), ECERT_OK);
    assert_int_equal(x509_pem_to_der((const char *)pem.data, pem.len, &der), ECERT_OK);
    assert_int_equal(der.len, sh.root.len);
    assert_int_equal(memcmp(der.data, sh.root.data, der.len), 0);
    buf_release(&pem);
    buf_release(&der);
}

static void test_issue_verifies(void **state)
{
    (void)state;
    struct ofd_face f = face();
    struct buf ofd;
    issue(&f, &sh.id, &ofd);
    struct verify_result res;
    verify(&ofd, sh.anchors, true, &res);
    if (!res.result)
        fprintf(stderr, "verdict: %s\n", res.reason);
    assert_int_equal(res.result, 1);
    assert_int_equal(res.nsig, 1);
    const struct verify_signature *s = &res.sigs[0];
    assert_true(s->integrity && s->signature);
    assert_int_equal(s->trust, VERIFY_TRUST_TRUSTED);
    assert_string_equal(s->format, "SES_Signature v4 (GB/T 38540)");
    assert_string_equal(s->type, "Seal");
    assert_string_equal(s->seal_name, "上海市市场监督管理局电子证照专用章");
    assert_string_equal(s->signing_time, SIGN_TIME_ISO);
    assert_non_null(strstr(s->signer, "CN=上海市市场监督管理局"));
    verify_result_free(&res);

    /* Every file is referenced but Signatures.xml and the signature's own. */
    size_t len;
    uint8_t *sig = entry(&ofd, "Doc_0/Signs/Sign_0/Signature.xml", &len);
    struct zipread *z = NULL;
    assert_int_equal(zipread_open(ofd.data, ofd.len, &z), ECERT_OK);
    for (size_t i = 0; i < zipread_count(z); i++) {
        const char *name = zipread_name(z, i);
        char ref[300];
        snprintf(ref, sizeof ref, "FileRef=\"/%s\"", name);
        bool own = strcmp(name, "Doc_0/Signs/Signatures.xml") == 0 ||
                   strcmp(name, "Doc_0/Signs/Sign_0/Signature.xml") == 0 ||
                   strcmp(name, "Doc_0/Signs/Sign_0/SignedValue.dat") == 0;
        assert_int_equal(memmem(sig, len, ref, strlen(ref)) != NULL, !own);
    }
    zipread_close(z);
    free(sig);

    /* The JSON verdict of an own file. */
    verify(&ofd, sh.anchors, true, &res);
    struct buf js = BUF_INIT(1 << 20);
    assert_int_equal(verify_result_json(&res, &js), ECERT_OK);
    assert_non_null(strstr((const char *)js.data, "\"trusted\":true"));
    buf_release(&js);
    verify_result_free(&res);
    buf_release(&ofd);
}

static void test_package_shape(void **state)
{
    (void)state;
    struct ofd_face f = face();
    struct buf ofd;
    issue(&f, &sh.id, &ofd);
    static const char *const parts[] = {"OFD.xml", "Doc_0/Document.xml", "Doc_0/PublicRes.xml",
                                        "Doc_0/Pages/Page_0/Content.xml",
                                        "Doc_0/Signs/Signatures.xml",
                                        "Doc_0/Signs/Sign_0/Signature.xml"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t len;
        uint8_t *x = entry(&ofd, parts[i], &len);
        xmlDocPtr doc = NULL;
        assert_int_equal(xml_parse(x, len, parts[i], &doc), ECERT_OK);
        xml_free(doc);
        free(x);
    }
    size_t len;
    uint8_t *content = entry(&ofd, "Doc_0/Pages/Page_0/Content.xml", &len);
    static const char *const shown[] = {"营业执照", "上海示例科技有限公司", "91310000MA1K4XYZ0B",
                                        "上海市市场监督管理局", "2025-12-30 至 长期", "张三",
                                        "法定代表人：", "证照标识："};
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
        assert_non_null(memmem(content, len, shown[i], strlen(shown[i])));
    free(content);
    uint8_t *doc = entry(&ofd, "OFD.xml", &len);
    assert_non_null(memmem(doc, len, "<ofd:CustomData Name=\"CertificateID\">", 37));
    free(doc);
    uint8_t *res = entry(&ofd, "Doc_0/PublicRes.xml", &len);
    assert_non_null(memmem(res, len, "FontName=\"宋体\"", strlen("FontName=\"宋体\"")));
    free(res);
    /* Seal.esl is the authority's seal, byte for byte. */
    uint8_t *esl = entry(&ofd, "Doc_0/Signs/Sign_0/Seal.esl", &len);
    assert_int_equal(len, sh.pki.seal.len);
    assert_int_equal(memcmp(esl, sh.pki.seal.data, len), 0);
    free(esl);
    buf_release(&ofd);

    /* Unsigned preview. */
    struct buf pre = BUF_INIT(16u << 20);
    assert_int_equal(ofd_write_unsigned(&f, &pre), ECERT_OK);
    struct verify_result r;
    verify(&pre, sh.anchors, true, &r);
    assert_int_equal(r.result, 0);
    assert_string_equal(r.reason, "unsigned");
    verify_result_free(&r);
    buf_release(&pre);
}

static void test_escaping_and_limits(void **state)
{
    (void)state;
    struct ofd_face f = face();
    struct ofd_field odd[] = {{"备注 <&>\"'", "a < b && c > \"d\" 'e'"}};
    f.fields = odd;
    f.nfields = 1;
    f.holder = "A&B <公司>";
    struct buf ofd;
    issue(&f, &sh.id, &ofd);
    struct verify_result res;
    verify(&ofd, sh.anchors, true, &res);
    assert_int_equal(res.result, 1);
    verify_result_free(&res);
    buf_release(&ofd);

    struct buf out = BUF_INIT(16u << 20);
    f = face();
    f.holder = "bad \x01 control";
    assert_int_equal(ofd_issue(&f, &sh.id, &out), ECERT_E_MALFORMED);
    f.holder = "bad \xC3\x28 utf8";
    assert_int_equal(ofd_issue(&f, &sh.id, &out), ECERT_E_MALFORMED);
    f = face();
    f.issuer = NULL;
    assert_int_equal(ofd_issue(&f, &sh.id, &out), ECERT_E_MISSING);
    /* More lines than a page holds. */
    struct ofd_field many[OFD_FACE_MAX_FIELDS];
    for (size_t i = 0; i < OFD_FACE_MAX_FIELDS; i++)
        many[i] = (struct ofd_field){"字段", "一二三四五六七八九十一二三四五六七八九十一二三四五六"};
    f = face();
    f.fields = many;
    f.nfields = OFD_FACE_MAX_FIELDS;
    assert_int_equal(ofd_issue(&f, &sh.id, &out), ECERT_E_TOO_LONG);
    assert_int_equal(out.len, 0);
    /* A seal that does not list the signer. */
    struct seal_identity wrong = sh.id;
    wrong.seal = rogue.pki.seal.data;
    wrong.seal_len = rogue.pki.seal.len;
    f = face();
    assert_int_equal(ofd_issue(&f, &wrong, &out), ECERT_E_ARG);
    /* A key that does not match the certificate. */
    wrong = sh.id;
    wrong.signer_key = rogue.pki.signer_key;
    assert_int_equal(ofd_issue(&f, &wrong, &out), ECERT_E_ARG);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

static void expect_tampered(const struct buf *file, const char *what)
{
    struct verify_result res;
    verify(file, sh.anchors, true, &res);
    assert_int_equal(res.result, 0);
    assert_int_equal(strncmp(res.reason, "tampered", 8), 0);
    assert_false(res.sigs[0].integrity);
    if (what && !strstr(res.reason, what)) {
        fprintf(stderr, "reason \"%s\" does not name %s\n", res.reason, what);
        fail();
    }
    verify_result_free(&res);
}

static void test_tamper_page_and_face(void **state)
{
    (void)state;
    struct ofd_face f = face();
    struct buf ofd, other, bad;
    issue(&f, &sh.id, &ofd);
    /* A changed page: another certificate's page in this package. */
    f.holder = "上海另一家科技有限公司";
    issue(&f, &sh.id, &other);
    size_t len;
    uint8_t *page = entry(&other, "Doc_0/Pages/Page_0/Content.xml", &len);
    replace_entry(&ofd, "Doc_0/Pages/Page_0/Content.xml", page, len, &bad);
    expect_tampered(&bad, "Content.xml");
    buf_release(&bad);
    free(page);
    buf_release(&other);

    /* One face field changed in place (same length). */
    uint8_t *content = entry(&ofd, "Doc_0/Pages/Page_0/Content.xml", &len);
    uint8_t *changed = replace_bytes(content, len, "张三", "李四");
    replace_entry(&ofd, "Doc_0/Pages/Page_0/Content.xml", changed, len, &bad);
    expect_tampered(&bad, "Content.xml");
    buf_release(&bad);
    free(changed);
    free(content);
    /* The machine-readable copy in OFD.xml changed. */
    uint8_t *doc = entry(&ofd, "OFD.xml", &len);
    changed = replace_bytes(doc, len, "91310000MA1K4XYZ0B<", "91310000MA1K4XYZ0C<");
    replace_entry(&ofd, "OFD.xml", changed, len, &bad);
    expect_tampered(&bad, "OFD.xml");
    buf_release(&bad);
    free(changed);
    free(doc);
    /* Signature.xml changed (a reference dropped): dataHash catches it. */
    uint8_t *sig = entry(&ofd, "Doc_0/Signs/Sign_0/Signature.xml", &len);
    changed = replace_bytes(sig, len, "FileRef=\"/OFD.xml\"", "FileRef=\"/OFD.xmm\"");
    replace_entry(&ofd, "Doc_0/Signs/Sign_0/Signature.xml", changed, len, &bad);
    expect_tampered(&bad, NULL);
    buf_release(&bad);
    free(changed);
    free(sig);
    buf_release(&ofd);
}

static void test_tamper_seal_picture(void **state)
{
    (void)state;
    struct ofd_face f = face();
    struct buf ofd, bad, bad2;
    issue(&f, &sh.id, &ofd);
    size_t esl_len, sv_len;
    uint8_t *esl = entry(&ofd, "Doc_0/Signs/Sign_0/Seal.esl", &esl_len);
    uint8_t *sv = entry(&ofd, "Doc_0/Signs/Sign_0/SignedValue.dat", &sv_len);
    struct ses_seal seal;
    assert_int_equal(ses_parse_seal(esl, esl_len, &seal), ECERT_OK);
    /* Another picture of the same size: some of its pixels inverted. */
    size_t pic_off = (size_t)(seal.pic_data.p - esl);
    size_t pic_len = seal.pic_data.len;
    uint8_t *swapped = malloc(esl_len);
    assert_non_null(swapped);
    memcpy(swapped, esl, esl_len);
    for (size_t i = pic_len / 2; i < pic_len / 2 + 64; i++)
        swapped[pic_off + i] ^= 0xFF;
    /* (1) Seal.esl alone: its digest and its match with the signed seal fail. */
    replace_entry(&ofd, "Doc_0/Signs/Sign_0/Seal.esl", swapped, esl_len, &bad);
    expect_tampered(&bad, "Seal.esl");
    /* (2) The seal inside SignedValue.dat swapped as well: the signatures
     * over it fail too. */
    uint8_t *at = memmem(sv, sv_len, esl, esl_len);
    assert_non_null(at);
    memcpy(at, swapped, esl_len);
    replace_entry(&bad, "Doc_0/Signs/Sign_0/SignedValue.dat", sv, sv_len, &bad2);
    struct verify_result res;
    verify(&bad2, sh.anchors, true, &res);
    assert_int_equal(res.result, 0);
    assert_false(res.sigs[0].integrity);
    assert_false(res.sigs[0].signature);
    verify_result_free(&res);
    buf_release(&bad);
    buf_release(&bad2);
    /* (3) Another authority's genuine seal in place of Seal.esl. */
    replace_entry(&ofd, "Doc_0/Signs/Sign_0/Seal.esl", rogue.pki.seal.data, rogue.pki.seal.len,
                  &bad);
    expect_tampered(&bad, "Seal.esl");
    buf_release(&bad);
    free(swapped);
    free(esl);
    free(sv);
    buf_release(&ofd);
}

static void test_tamper_certificate(void **state)
{
    (void)state;
    struct ofd_face f = face();
    struct buf ofd, bad;
    issue(&f, &sh.id, &ofd);
    size_t sv_len;
    uint8_t *sv = entry(&ofd, "Doc_0/Signs/Sign_0/SignedValue.dat", &sv_len);
    struct ses_signature s;
    assert_int_equal(ses_parse_signature(sv, sv_len, &s), ECERT_OK);
    /* A certificate for another key with the same subject, from the same
     * root, of the same length. DER signatures vary by a byte or two; a
     * rare original length (an r or s with a zero top byte: 1 in 256) needs
     * hundreds of tries, so the bound is high (64 tries failed now and then;
     * 4096 fail about once in 3,000 runs for the rarest length, and a try
     * costs well under a millisecond). */
    struct sm2_key *k = NULL;
    struct buf cert = BUF_INIT(64u << 10);
    struct x509_subject subj = {.c = "CN", .o = "上海市市场监督管理局", .ou = "电子证照签发",
                                .cn = "上海市市场监督管理局"};
    for (int tries = 0; tries < 4096 && cert.len != s.cert.len; tries++) {
        buf_reset(&cert);
        sm2_key_free(k);
        assert_int_equal(sm2_key_generate(&k), ECERT_OK);
        assert_int_equal(x509_sm2_issue(sh.root.data, sh.root.len, sh.root_key, &subj, k,
                                        X509_ISSUE_SIGNER, 0, 3650, &cert),
                         ECERT_OK);
    }
    assert_int_equal(cert.len, s.cert.len);
    memcpy((uint8_t *)s.cert.p, cert.data, cert.len);
    replace_entry(&ofd, "Doc_0/Signs/Sign_0/SignedValue.dat", sv, sv_len, &bad);
    struct verify_result res;
    verify(&bad, sh.anchors, true, &res);
    assert_int_equal(res.result, 0);
    assert_true(res.sigs[0].integrity);
    assert_false(res.sigs[0].signature);
    assert_int_equal(strncmp(res.reason, "invalid signature", 17), 0);
    /* The replacement chains to the right root: only the signature says no. */
    assert_int_equal(res.sigs[0].trust, VERIFY_TRUST_TRUSTED);
    verify_result_free(&res);
    buf_release(&bad);
    buf_release(&cert);
    sm2_key_free(k);
    free(sv);
    buf_release(&ofd);
}

static void test_resigned_untrusted(void **state)
{
    (void)state;
    /* A forged certificate, sealed with a hierarchy made by the forger. */
    struct ofd_face f = face();
    f.holder = "伪造科技有限公司";
    struct buf forged;
    issue(&f, &rogue.id, &forged);
    struct verify_result res;
    verify(&forged, sh.anchors, true, &res);
    assert_int_equal(res.result, 0);
    assert_int_equal(strncmp(res.reason, "untrusted", 9), 0);
    assert_true(res.sigs[0].integrity);
    assert_true(res.sigs[0].signature);
    assert_int_equal(res.sigs[0].trust, VERIFY_TRUST_UNTRUSTED);
    verify_result_free(&res);
    /* Without required trust: a sound file of an untrusted signer. */
    verify(&forged, sh.anchors, false, &res);
    assert_int_equal(res.result, 1);
    assert_int_equal(res.sigs[0].trust, VERIFY_TRUST_UNTRUSTED);
    assert_non_null(strstr(res.sigs[0].note, "not trusted"));
    verify_result_free(&res);
    /* Trusted by the forger's own root, of course. */
    verify(&forged, rogue.anchors, true, &res);
    assert_int_equal(res.result, 1);
    verify_result_free(&res);
    buf_release(&forged);
}

static void le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
    le16(p, v & 0xFFFF), le16(p + 2, v >> 16);
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = ~0u;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* The PNG's IDAT is a zlib stream made by our own DEFLATE encoder. libzip
 * inflates it here — a one-entry ZIP built by hand around the raw DEFLATE
 * data, declaring the CRC-32 and size of the bitmap it must inflate to — so
 * a wrong bit anywhere fails the read. The bitmap itself: filter bytes 0,
 * ink at the centre (the star) and on the ring, none in the corners. */
static void test_seal_picture(void **state)
{
    (void)state;
    const unsigned px = 256;
    const size_t row = 1 + px / 8;
    struct buf png = BUF_INIT(1u << 20), raw = BUF_INIT(1u << 20);
    assert_int_equal(seal_picture_png(px, &png), ECERT_OK);
    assert_int_equal(seal_picture_bitmap(px, &raw), ECERT_OK);
    assert_int_equal(raw.len, row * px);
    assert_int_equal(memcmp(png.data, "\x89PNG\r\n\x1a\n", 8), 0);
    assert_int_equal(memcmp(png.data + 12, "IHDR", 4), 0);
    assert_int_equal(png.data[24], 1); /* bit depth */
    assert_int_equal(png.data[25], 3); /* palette */
    assert_true(png.len < 4096);       /* compressed, not stored */
    /* The chunks and their CRCs; IDAT. */
    const uint8_t *idat = NULL;
    size_t idat_len = 0, off = 8;
    while (off + 12 <= png.len) {
        uint32_t n = (uint32_t)png.data[off] << 24 | (uint32_t)png.data[off + 1] << 16 |
                     (uint32_t)png.data[off + 2] << 8 | png.data[off + 3];
        assert_true(off + 12 + n <= png.len);
        uint32_t crc = (uint32_t)png.data[off + 8 + n] << 24 |
                       (uint32_t)png.data[off + 9 + n] << 16 |
                       (uint32_t)png.data[off + 10 + n] << 8 | png.data[off + 11 + n];
        assert_int_equal(crc32_of(png.data + off + 4, n + 4), crc);
        if (memcmp(png.data + off + 4, "IDAT", 4) == 0) {
            idat = png.data + off + 8;
            idat_len = n;
        }
        off += 12 + n;
    }
    assert_int_equal(off, png.len);
    assert_non_null(idat);
    assert_true(idat_len > 6);
    assert_int_equal(((unsigned)idat[0] << 8 | idat[1]) % 31, 0); /* zlib header check */
    /* Adler-32 of the bitmap closes the zlib stream. */
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < raw.len; i++) {
        a = (a + raw.data[i]) % 65521;
        b = (b + a) % 65521;
    }
    const uint8_t *ad = idat + idat_len - 4;
    assert_int_equal((uint32_t)ad[0] << 24 | (uint32_t)ad[1] << 16 | (uint32_t)ad[2] << 8 | ad[3],
                     (b << 16) | a);

    /* A ZIP around the raw DEFLATE data (without zlib's 2-byte header and
     * 4-byte trailer). */
    const uint8_t *deflate = idat + 2;
    size_t dlen = idat_len - 6;
    uint32_t crc = crc32_of(raw.data, raw.len);
    struct buf zip = BUF_INIT(1u << 20);
    uint8_t lh[31] = {0x50, 0x4B, 0x03, 0x04, 20, 0, 0, 0, 8, 0};
    le16(lh + 12, 0x21);
    le32(lh + 14, crc);
    le32(lh + 18, (uint32_t)dlen);
    le32(lh + 22, (uint32_t)raw.len);
    le16(lh + 26, 1);
    lh[30] = 'p';
    uint8_t cd[47] = {0x50, 0x4B, 0x01, 0x02, 20, 0, 20, 0, 0, 0, 8, 0};
    le16(cd + 14, 0x21);
    le32(cd + 16, crc);
    le32(cd + 20, (uint32_t)dlen);
    le32(cd + 24, (uint32_t)raw.len);
    le16(cd + 28, 1);
    cd[46] = 'p';
    uint8_t eocd[22] = {0x50, 0x4B, 0x05, 0x06};
    le16(eocd + 8, 1);
    le16(eocd + 10, 1);
    le32(eocd + 12, sizeof cd);
    le32(eocd + 16, (uint32_t)(sizeof lh + dlen));
    assert_int_equal(buf_append(&zip, lh, sizeof lh), ECERT_OK);
    assert_int_equal(buf_append(&zip, deflate, dlen), ECERT_OK);
    assert_int_equal(buf_append(&zip, cd, sizeof cd), ECERT_OK);
    assert_int_equal(buf_append(&zip, eocd, sizeof eocd), ECERT_OK);
    struct zipread *z = NULL;
    const uint8_t *got;
    size_t got_len;
    assert_int_equal(zipread_open(zip.data, zip.len, &z), ECERT_OK);
    assert_int_equal(zipread_get(z, "p", &got, &got_len), ECERT_OK);
    assert_int_equal(got_len, raw.len);
    assert_int_equal(memcmp(got, raw.data, raw.len), 0);
    zipread_close(z);

    /* The drawing. */
    for (unsigned y = 0; y < px; y++)
        assert_int_equal(raw.data[y * row], 0);
#define INK(x, y) ((raw.data[(size_t)(y) * row + 1 + (x) / 8] >> (7 - (x) % 8)) & 1)
    assert_true(INK(px / 2, px / 2));          /* the star's centre */
    assert_true(INK(px / 2, px / 2 - px / 5)); /* its top point */
    assert_true(INK(px / 2, px * 5 / 100));    /* the ring, at the top */
    assert_false(INK(0, 0));
    assert_false(INK(px - 1, px - 1));
    assert_false(INK(px / 2, px / 2 + px / 5 + 2)); /* between the star's lower points */
#undef INK
    buf_release(&zip);
    buf_release(&raw);
    assert_int_equal(seal_picture_png(8, &png), ECERT_E_ARG);
    buf_release(&png);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pki),
        cmocka_unit_test(test_issue_verifies),
        cmocka_unit_test(test_package_shape),
        cmocka_unit_test(test_escaping_and_limits),
        cmocka_unit_test(test_tamper_page_and_face),
        cmocka_unit_test(test_tamper_seal_picture),
        cmocka_unit_test(test_tamper_certificate),
        cmocka_unit_test(test_resigned_untrusted),
        cmocka_unit_test(test_seal_picture),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
