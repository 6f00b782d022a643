/*
 * bench_pdf — signed PDF verification throughput next to the SM2 verify rate
 * of the same run (issue 5: verifying a file should cost little more than its
 * signature check).
 *
 *   bench_pdf [--seconds S]
 *
 * Files are ecert's own one-page originals (pdf_sign), SM2-SM3 and ECDSA
 * P-256, made with fresh development CAs; verification includes the chain to
 * the CA (trust anchors configured), as the node does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/sm2.h"
#include "crypto/x509.h"
#include "crypto/x509_verify.h"
#include "docs/pdf.h"
#include "docs/pdf_sign.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_pdf: %s failed: %s\n", what, err_detail());
    exit(1);
}

struct signer {
    struct buf ca, cert, key;
};

static void make_signer(enum pdf_sign_alg alg, struct signer *s, struct sm2_key **sm2_out)
{
    *s = (struct signer){BUF_INIT(1 << 16), BUF_INIT(1 << 16), BUF_INIT(1 << 16)};
    if (alg == PDF_SIGN_SM2_SM3) {
        struct sm2_key *ca = NULL, *app = NULL;
        if (sm2_key_generate(&ca) || sm2_key_generate(&app))
            die("sm2_key_generate");
        struct x509_app_subject subj = {"bench-app", "长三角电子证照测试机构", "91310000MA1FL00000"};
        if (x509_sm2_ca_new(ca, "bench SM2 root", 3650, &s->ca) ||
            x509_sm2_app_new((const char *)s->ca.data, s->ca.len, ca, &subj, app, 3650, &s->cert) ||
            sm2_key_private_pem(app, &s->key))
            die("SM2 certificates");
        sm2_key_free(ca);
        *sm2_out = app;
    } else {
        struct buf cakey = BUF_INIT(1 << 16);
        static const char *const dns[] = {"bench.example", NULL};
        if (x509_tls_ca_new("bench P-256 CA", 3650, &s->ca, &cakey) ||
            x509_tls_server_new((const char *)s->ca.data, s->ca.len, (const char *)cakey.data,
                                cakey.len, "bench signer", dns, NULL, 3650, &s->cert, &s->key))
            die("P-256 certificates");
        buf_release(&cakey);
    }
}

static double rate_pdf(const struct buf *pdf, const struct verify_options *o, double seconds)
{
    size_t n = 0;
    double t0 = now_s(), t;
    do {
        struct verify_result r;
        memset(&r, 0, sizeof r);
        if (pdf_verify(pdf->data, pdf->len, o, &r) || r.result != 1)
            die("pdf_verify");
        verify_result_free(&r);
        n++;
        t = now_s();
    } while (t - t0 < seconds);
    return (double)n / (t - t0);
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
            if (!(seconds > 0 && seconds <= 3600)) {
                fprintf(stderr, "bench_pdf: --seconds wants a number in (0, 3600]\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_pdf [--seconds S]\n");
            return 2;
        }
    }
    static const struct pdf_face_field fields[] = {
        {"证照名称", "营业执照"},           {"证照编号", "31000000000000000X"},
        {"持证主体", "上海示例科技有限公司"}, {"发证机关", "上海市市场监督管理局"},
        {"颁证日期", "2024-01-02"},         {"有效期", "2024-01-02 至 长期"},
    };
    struct pdf_face face = {"营业执照", fields, sizeof fields / sizeof fields[0]};

    struct sm2_key *sm2 = NULL, *unused = NULL;
    struct signer s2, sp;
    make_signer(PDF_SIGN_SM2_SM3, &s2, &sm2);
    make_signer(PDF_SIGN_ECDSA_P256, &sp, &unused);
    struct buf pdf2 = BUF_INIT(8u << 20), pdfp = BUF_INIT(8u << 20);
    struct pdf_signer a = {PDF_SIGN_SM2_SM3, (const char *)s2.cert.data, s2.cert.len,
                           (const char *)s2.key.data, s2.key.len, "bench", NULL, 0};
    struct pdf_signer b = {PDF_SIGN_ECDSA_P256, (const char *)sp.cert.data, sp.cert.len,
                           (const char *)sp.key.data, sp.key.len, "bench", NULL, 0};
    if (pdf_sign(&face, &a, &pdf2) || pdf_sign(&face, &b, &pdfp))
        die("pdf_sign");
    struct x509_store *anchors2 = NULL, *anchorsp = NULL;
    if (x509_store_new(&anchors2) || x509_store_new(&anchorsp) ||
        x509_store_add_pem(anchors2, (const char *)s2.ca.data, s2.ca.len) ||
        x509_store_add_pem(anchorsp, (const char *)sp.ca.data, sp.ca.len))
        die("anchors");
    struct verify_options o2 = {.anchors = anchors2, .require_trust = true};
    struct verify_options op = {.anchors = anchorsp, .require_trust = true};

    /* The SM2 verify rate of this run: one signature over a short message. */
    uint8_t sig[SM2_SIG_LEN];
    static const char msg[] = "bench message for SM2 verification";
    if (sm2_sign(sm2, NULL, 0, msg, sizeof msg - 1, sig))
        die("sm2_sign");
    size_t n = 0;
    double t0 = now_s(), t;
    do {
        if (sm2_verify(sm2, NULL, 0, msg, sizeof msg - 1, sig))
            die("sm2_verify");
        n++;
        t = now_s();
    } while (t - t0 < seconds);
    double sm2_rate = (double)n / (t - t0);
    double r2 = rate_pdf(&pdf2, &o2, seconds);
    struct verify_options none = {0};
    double r2n = rate_pdf(&pdf2, &none, seconds);
    double rp = rate_pdf(&pdfp, &op, seconds);

    printf("%-40s %12s\n", "operation", "per second");
    printf("%-40s %12.0f\n", "SM2 verify (one signature)", sm2_rate);
    printf("%-40s %12.0f   (%.2f SM2 verifies' time; %zu bytes, chain checked)\n",
           "PDF verify, SM2-SM3 signed (own)", r2, sm2_rate / r2, pdf2.len);
    printf("%-40s %12.0f   (%.2f SM2 verifies' time; no anchors, no chain)\n",
           "PDF verify, SM2-SM3 signed, no chain", r2n, sm2_rate / r2n);
    printf("%-40s %12.0f   (%zu bytes, chain checked)\n", "PDF verify, ECDSA P-256 signed (own)",
           rp, pdfp.len);

    x509_store_free(anchors2);
    x509_store_free(anchorsp);
    buf_release(&pdf2);
    buf_release(&pdfp);
    sm2_key_free(sm2);
    buf_release(&s2.ca), buf_release(&s2.cert), buf_release(&s2.key);
    buf_release(&sp.ca), buf_release(&sp.cert), buf_release(&sp.key);
    return 0;
}
