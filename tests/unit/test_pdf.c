/*
 * PDF originals: ecert's own signed PDFs (SM2-SM3 and ECDSA P-256, made with
 * the development PKI) verify, are trusted under their CA, and each tamper
 * is caught: a changed covered byte, an appended tail, an appended update
 * that changes the page, a replaced certificate, and a file re-signed by a
 * key of another CA (reported as untrusted, not as tampered). The ECDSA
 * variant is checked by poppler's pdfsig as well. Also the extractor on
 * hand-made files (cross-reference streams, object streams, loops).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "crypto/sm2.h"
#include "crypto/x509.h"
#include "crypto/x509_verify.h"
#include "docs/pdf.h"
#include "docs/pdf_sign.h"
#include "docs/verify.h"

/* ---- a signer per algorithm, and a second CA for "untrusted" ----------------*/

struct pki {
    struct buf ca, cert, key;
};

static void pki_release(struct pki *p)
{
    buf_release(&p->ca);
    buf_release(&p->cert);
    buf_release(&p->key);
}

static void sm2_pki(struct pki *p, const char *app_id)
{
    *p = (struct pki){BUF_INIT(1 << 16), BUF_INIT(1 << 16), BUF_INIT(1 << 16)};
    struct sm2_key *ca = NULL, *app = NULL;
    assert_int_equal(sm2_key_generate(&ca), ECERT_OK);
    assert_int_equal(sm2_key_generate(&app), ECERT_OK);
    assert_int_equal(x509_sm2_ca_new(ca, "YRD-SH Test Root", 3650, &p->ca), ECERT_OK);
    struct x509_app_subject subj = {app_id, "上海市测试证照签发机构", "91310000MA1FL00000"};
    assert_int_equal(x509_sm2_app_new((const char *)p->ca.data, p->ca.len, ca, &subj, app, 3650,
                                      &p->cert),
                     ECERT_OK);
    assert_int_equal(sm2_key_private_pem(app, &p->key), ECERT_OK);
    sm2_key_free(ca);
    sm2_key_free(app);
}

static void p256_pki(struct pki *p)
{
    *p = (struct pki){BUF_INIT(1 << 16), BUF_INIT(1 << 16), BUF_INIT(1 << 16)};
    struct buf cakey = BUF_INIT(1 << 16);
    static const char *const dns[] = {"ecert.example", NULL};
    assert_int_equal(x509_tls_ca_new("ecert PDF Test CA", 3650, &p->ca, &cakey), ECERT_OK);
    assert_int_equal(x509_tls_server_new((const char *)p->ca.data, p->ca.len,
                                         (const char *)cakey.data, cakey.len, "ecert PDF signer",
                                         dns, NULL, 3650, &p->cert, &p->key),
                     ECERT_OK);
    buf_release(&cakey);
}

static const struct pdf_face_field fields[] = {
    {"证照名称", "营业执照"},
    {"证照编号", "31000000000000000X"},
    {"持证主体", "上海示例科技有限公司"},
    {"统一社会信用代码", "91310000MA1FL00000"},
    {"发证机关", "上海市市场监督管理局"},
    {"颁证日期", "2024-01-02"},
    {"有效期", "2024-01-02 至 长期"},
    {"经营范围", "技术开发、技术咨询、技术服务；软件开发；信息系统集成服务；数据处理服务；"
                 "这一行足够长，需要折行显示在页面上。"},
};
static const struct pdf_face face = {"营业执照 (Business Licence)", fields,
                                     sizeof fields / sizeof fields[0]};

static void sign(const struct pki *p, enum pdf_sign_alg alg, struct buf *out)
{
    struct pdf_signer s = {alg, (const char *)p->cert.data, p->cert.len, (const char *)p->key.data,
                           p->key.len, "电子证照原件", "上海", 0};
    *out = (struct buf)BUF_INIT(8u << 20);
    assert_int_equal(pdf_sign(&face, &s, out), ECERT_OK);
}

static struct x509_store *store_of(const struct buf *pem)
{
    struct x509_store *s = NULL;
    assert_int_equal(x509_store_new(&s), ECERT_OK);
    assert_int_equal(x509_store_add_pem(s, (const char *)pem->data, pem->len), ECERT_OK);
    return s;
}

static int verify(const uint8_t *d, size_t n, const struct x509_store *anchors, bool require,
                  struct verify_result *r)
{
    struct verify_options o = {.anchors = anchors, .require_trust = require};
    memset(r, 0, sizeof *r);
    ecert_status st = pdf_verify(d, n, &o, r);
    if (st)
        fprintf(stderr, "pdf_verify: %d %s\n", st, r->reason);
    return r->result;
}

/* ---- own files ---------------------------------------------------------------*/

static void check_own(enum pdf_sign_alg alg)
{
    struct pki p;
    if (alg == PDF_SIGN_SM2_SM3)
        sm2_pki(&p, "ecert-test-app");
    else
        p256_pki(&p);
    struct buf pdf;
    sign(&p, alg, &pdf);
    struct x509_store *anchors = store_of(&p.ca);
    struct verify_result r;
    assert_int_equal(verify(pdf.data, pdf.len, anchors, true, &r), 1);
    assert_int_equal(r.nsig, 1);
    assert_true(r.sigs[0].integrity);
    assert_true(r.sigs[0].signature);
    assert_int_equal(r.sigs[0].trust, VERIFY_TRUST_TRUSTED);
    assert_non_null(strstr(r.sigs[0].format, alg == PDF_SIGN_SM2_SM3 ? "SM2-SM3 with SM3"
                                                                     : "ECDSA with SHA-256"));
    assert_string_equal(r.sigs[0].sign_reason, "电子证照原件");
    assert_true(r.sigs[0].signing_time[0]);
    verify_result_free(&r);
    /* no anchors: valid, trust "none" */
    assert_int_equal(verify(pdf.data, pdf.len, NULL, false, &r), 1);
    assert_int_equal(r.sigs[0].trust, VERIFY_TRUST_NONE);
    verify_result_free(&r);

    /* extractor: one signature covering the whole file */
    struct pdf_sig_list l;
    assert_int_equal(pdf_extract(pdf.data, pdf.len, &l), ECERT_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.sigs[0].sub_filter, "adbe.pkcs7.detached");
    assert_int_equal(l.sigs[0].byte_range[2] + l.sigs[0].byte_range[3], pdf.len);
    pdf_sig_list_free(&l);

    /* tamper 1: a covered byte (a glyph code in the page's text) */
    uint8_t *copy = malloc(pdf.len + 256);
    memcpy(copy, pdf.data, pdf.len);
    uint8_t *tj = memmem(copy, pdf.len, "> Tj", 4);
    assert_non_null(tj);
    tj[-1] = tj[-1] == '1' ? '2' : '1';
    assert_int_equal(verify(copy, pdf.len, anchors, false, &r), 0);
    assert_false(r.sigs[0].integrity);
    assert_string_equal(r.reason, "tampered");
    verify_result_free(&r);

    /* tamper 2: an uncovered tail */
    memcpy(copy, pdf.data, pdf.len);
    memcpy(copy + pdf.len, "% appended\n", 11);
    assert_int_equal(verify(copy, pdf.len + 11, anchors, false, &r), 0);
    assert_string_equal(r.reason, "tampered");
    verify_result_free(&r);

    /* tamper 3: an incremental update that replaces the page contents */
    struct buf upd = BUF_INIT(16u << 20);
    assert_int_equal(buf_append(&upd, pdf.data, pdf.len), ECERT_OK);
    size_t obj_at = upd.len;
    assert_int_equal(buf_append_str(&upd, "7 0 obj\n<< /Length 25 >>\nstream\n"
                                          "BT /F1 20 Tf (FORGED) Tj ET\nendstream\nendobj\n"),
                     ECERT_OK);
    size_t xref_at = upd.len;
    const uint8_t *sx = memmem(pdf.data, pdf.len, "startxref\n", 10);
    assert_non_null(sx);
    long prev = strtol((const char *)sx + 10, NULL, 10);
    assert_int_equal(buf_printf(&upd,
                                "xref\n0 1\n0000000000 65535 f\r\n7 1\n%010zu 00000 n\r\n"
                                "trailer\n<< /Size 12 /Root 1 0 R /Prev %ld >>\nstartxref\n%zu\n"
                                "%%%%EOF\n",
                                obj_at, prev, xref_at),
                     ECERT_OK);
    assert_int_equal(verify(upd.data, upd.len, anchors, false, &r), 0);
    assert_string_equal(r.reason, "tampered");
    assert_non_null(strstr(r.sigs[0].reason, "does not cover the whole file"));
    verify_result_free(&r);
    buf_release(&upd);

    /* tamper 4: re-signed by a key of another CA: untrusted, not tampered */
    struct pki other;
    if (alg == PDF_SIGN_SM2_SM3)
        sm2_pki(&other, "ecert-test-app");
    else
        p256_pki(&other);
    struct buf resigned;
    sign(&other, alg, &resigned);
    assert_int_equal(verify(resigned.data, resigned.len, anchors, false, &r), 1);
    assert_true(r.sigs[0].integrity);
    assert_true(r.sigs[0].signature);
    assert_int_equal(r.sigs[0].trust, VERIFY_TRUST_UNTRUSTED);
    verify_result_free(&r);
    assert_int_equal(verify(resigned.data, resigned.len, anchors, true, &r), 0);
    assert_string_equal(r.reason, "untrusted");
    verify_result_free(&r);

    /* tamper 5: the embedded certificate replaced by another one, as long:
     * the signer named in the SignerInfo is then not in the file. Serials are
     * random, so the first certificate of the same size is used. */
    struct buf hex_a = BUF_INIT(1 << 17), hex_b = BUF_INIT(1 << 17);
    struct x509_store *sa = store_of(&p.cert);
    size_t la;
    const uint8_t *da = x509_cert_der(x509_store_get(sa, 0), &la);
    for (size_t i = 0; i < la; i++)
        buf_printf(&hex_a, "%02X", da[i]);
    bool replaced = false;
    for (int tries = 0; tries < 40 && !replaced; tries++) {
        struct pki q;
        if (alg == PDF_SIGN_SM2_SM3)
            sm2_pki(&q, "ecert-test-app");
        else
            p256_pki(&q);
        struct x509_store *sb = store_of(&q.cert);
        size_t lb;
        const uint8_t *db = x509_cert_der(x509_store_get(sb, 0), &lb);
        if (lb == la) {
            buf_reset(&hex_b);
            for (size_t i = 0; i < lb; i++)
                buf_printf(&hex_b, "%02X", db[i]);
            memcpy(copy, pdf.data, pdf.len);
            uint8_t *at = memmem(copy, pdf.len, hex_a.data, hex_a.len);
            assert_non_null(at);
            memcpy(at, hex_b.data, hex_b.len);
            replaced = true;
        }
        x509_store_free(sb);
        pki_release(&q);
    }
    assert_true(replaced);
    assert_int_equal(verify(copy, pdf.len, anchors, false, &r), 0);
    assert_false(r.sigs[0].signature);
    verify_result_free(&r);

    x509_store_free(sa);
    buf_release(&hex_a);
    buf_release(&hex_b);
    buf_release(&resigned);
    pki_release(&other);
    free(copy);
    x509_store_free(anchors);
    buf_release(&pdf);
    pki_release(&p);
}

static void test_sm2_own(void **state)
{
    (void)state;
    check_own(PDF_SIGN_SM2_SM3);
}

static void test_p256_own(void **state)
{
    (void)state;
    check_own(PDF_SIGN_ECDSA_P256);
}

static void test_sign_refuses(void **state)
{
    (void)state;
    struct pki p, q;
    sm2_pki(&p, "a");
    sm2_pki(&q, "b");
    struct buf out = BUF_INIT(8u << 20);
    /* a key that is not the certificate's */
    struct pdf_signer s = {PDF_SIGN_SM2_SM3, (const char *)p.cert.data, p.cert.len,
                           (const char *)q.key.data, q.key.len, NULL, NULL, 0};
    assert_int_equal(pdf_sign(&face, &s, &out), ECERT_E_MALFORMED);
    /* an SM2 key for the ECDSA option */
    s.key_pem = (const char *)p.key.data;
    s.key_len = p.key.len;
    s.alg = PDF_SIGN_ECDSA_P256;
    assert_int_equal(pdf_sign(&face, &s, &out), ECERT_E_MALFORMED);
    /* text that is not UTF-8 */
    s.alg = PDF_SIGN_SM2_SM3;
    struct pdf_face bad = {"\xff\xfe", NULL, 0};
    assert_int_equal(pdf_sign(&bad, &s, &out), ECERT_E_MALFORMED);
    assert_int_equal(out.len, 0);
    buf_release(&out);
    pki_release(&p);
    pki_release(&q);
}

/* ---- pdfsig (poppler) accepts the ECDSA variant ------------------------------*/

static void test_pdfsig(void **state)
{
    (void)state;
    if (system("command -v pdfsig >/dev/null 2>&1") != 0) {
        /* scripts/install-deps.sh installs poppler-utils: in CI it must be there */
        if (getenv("CI"))
            fail_msg("pdfsig (poppler-utils) is not installed");
        skip();
    }
    struct pki p;
    p256_pki(&p);
    struct buf pdf;
    sign(&p, PDF_SIGN_ECDSA_P256, &pdf);
    char dir[] = "/tmp/ecert-pdfsig-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], cmd[600], ca[256];
    snprintf(path, sizeof path, "%s/own-ecdsa.pdf", dir);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(pdf.data, 1, pdf.len, f), pdf.len);
    fclose(f);
    snprintf(cmd, sizeof cmd, "pdfsig %s 2>&1", path);
    FILE *pp = popen(cmd, "r");
    assert_non_null(pp);
    char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, pp);
    out[n] = 0;
    pclose(pp);
    printf("%s", out);
    assert_non_null(strstr(out, "Signature Validation: Signature is Valid."));
    assert_non_null(strstr(out, "Total document signed"));
    assert_non_null(strstr(out, "adbe.pkcs7.detached"));
    unlink(path);
    rmdir(dir);
    buf_release(&pdf);
    pki_release(&p);
}

/* ---- the extractor on hand-made files --------------------------------------*/

static void test_unsigned_and_malformed(void **state)
{
    (void)state;
    static const char unsigned_pdf[] =
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        "2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        "xref\n0 3\n0000000000 65535 f\r\n0000000009 00000 n\r\n0000000058 00000 n\r\n"
        "trailer << /Size 3 /Root 1 0 R >>\nstartxref\n110\n%%EOF\n";
    struct verify_result r;
    memset(&r, 0, sizeof r);
    assert_int_equal(pdf_verify((const uint8_t *)unsigned_pdf, strlen(unsigned_pdf), NULL, &r),
                     ECERT_OK);
    assert_int_equal(r.result, 0);
    assert_string_equal(r.reason, "unsigned");
    verify_result_free(&r);

    memset(&r, 0, sizeof r);
    assert_int_equal(pdf_verify((const uint8_t *)"hello", 5, NULL, &r), ECERT_E_MALFORMED);
    assert_int_equal(r.result, 0);
    assert_non_null(strstr(r.reason, "malformed"));
    verify_result_free(&r);

    /* a /Prev chain that loops back on itself */
    static const char loop[] =
        "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
        "xref\n0 2\n0000000000 65535 f\r\n0000000009 00000 n\r\n"
        "trailer << /Size 2 /Root 1 0 R /Prev 45 >>\nstartxref\n45\n%%EOF\n";
    memset(&r, 0, sizeof r);
    assert_int_equal(pdf_verify((const uint8_t *)loop, strlen(loop), NULL, &r),
                     ECERT_E_MALFORMED);
    verify_result_free(&r);
}

/* A cross-reference stream (PNG Up predictor) and an object stream, as
 * Acrobat writes them, with the catalog compressed. */
static void test_xref_stream(void **state)
{
    (void)state;
    /* object stream 3 holds object 1 (catalog) and 2 (pages), uncompressed */
    static const char objs[] = "1 0 2 40 "
                               "<< /Type /Catalog /Pages 2 0 R >>      "
                               " << /Type /Pages /Kids [] /Count 0 >>";
    struct buf f = BUF_INIT(1 << 16);
    buf_append_str(&f, "%PDF-1.7\n");
    size_t o3 = f.len;
    buf_printf(&f, "3 0 obj << /Type /ObjStm /N 2 /First 9 /Length %zu >>\nstream\n%s\nendstream\n"
                   "endobj\n",
               strlen(objs), objs);
    size_t o4 = f.len;
    /* rows: type(1) field2(2) field3(1); entries 0..4, stored unfiltered */
    uint8_t rows[5][4] = {{0, 0, 0, 0}, {2, 0, 3, 0}, {2, 0, 3, 1},
                          {1, (uint8_t)(o3 >> 8), (uint8_t)o3, 0},
                          {1, (uint8_t)(o4 >> 8), (uint8_t)o4, 0}};
    buf_printf(&f, "4 0 obj << /Type /XRef /Size 5 /W [1 2 1] /Root 1 0 R /Length 20 >>\n"
                   "stream\n");
    buf_append(&f, rows, sizeof rows);
    buf_printf(&f, "\nendstream\nendobj\nstartxref\n%zu\n%%%%EOF\n", o4);
    struct verify_result r;
    memset(&r, 0, sizeof r);
    assert_int_equal(pdf_verify(f.data, f.len, NULL, &r), ECERT_OK);
    assert_string_equal(r.reason, "unsigned");
    verify_result_free(&r);
    buf_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sm2_own),
        cmocka_unit_test(test_p256_own),
        cmocka_unit_test(test_sign_refuses),
        cmocka_unit_test(test_pdfsig),
        cmocka_unit_test(test_unsigned_and_malformed),
        cmocka_unit_test(test_xref_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
