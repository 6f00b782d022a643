/*
 * bench_ofd — sealed OFD verification throughput next to the SM2 verify
 * rate of the same run (issue 5: verifying a file should cost little more
 * than its signature checks), and issuing throughput.
 *
 *   bench_ofd [--seconds S]
 *
 * The file is ecert's own one-page original (ofd_issue) under a fresh
 * province hierarchy (seal_pki_new); verification is measured without
 * anchors and with the province root as anchor (trust required), as the
 * node does. The measurements alternate in two rounds, so machine load
 * weighs on all of them alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/sm2.h"
#include "crypto/x509_issue.h"
#include "crypto/x509_verify.h"
#include "docs/ofd_seal.h"
#include "docs/ofd_write.h"
#include "docs/verify.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_ofd: %s failed: %s\n", what, err_detail());
    exit(1);
}

static const struct ofd_field FIELDS[] = {
    {"类型", "有限责任公司"},
    {"法定代表人", "张三"},
    {"注册资本", "壹仟万元整"},
    {"经营范围", "软件开发；信息技术咨询服务；数据处理和存储支持服务"},
};

static double rate_verify(const struct buf *file, const struct verify_options *o, double secs)
{
    long n = 0;
    double t0 = now_s(), t;
    do {
        struct verify_result r;
        if (docs_verify(file->data, file->len, DOC_FORMAT_OFD, o, &r) || r.result != 1)
            die("docs_verify");
        verify_result_free(&r);
        n++;
    } while ((t = now_s() - t0) < secs);
    return n / t;
}

int main(int argc, char **argv)
{
    double secs = 2.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            secs = strtod(argv[++i], NULL);
        else {
            fprintf(stderr, "usage: bench_ofd [--seconds S]\n");
            return 2;
        }
    }
    if (!(secs > 0 && secs < 3600)) {
        fprintf(stderr, "bench_ofd: --seconds out of range\n");
        return 2;
    }
    struct sm2_key *root_key = NULL;
    struct buf root = BUF_INIT(1 << 16);
    struct x509_subject rs = {.c = "CN", .o = "上海市", .cn = "上海市电子证照根证书"};
    struct seal_pki pki;
    struct seal_identity id;
    struct x509_store *anchors = NULL;
    if (sm2_key_generate(&root_key) ||
        x509_sm2_issue(NULL, 0, root_key, &rs, root_key, X509_ISSUE_CA, 0, 3650, &root))
        die("root certificate");
    if (seal_pki_new(root.data, root.len, root_key, "上海市", "上海市市场监督管理局",
                     "310000-BENCH", 3650, &pki))
        die("seal_pki_new");
    seal_pki_identity(&pki, &id);
    if (x509_store_new(&anchors) || x509_store_add_der(anchors, root.data, root.len))
        die("anchors");
    struct ofd_face face = {
        .title = "营业执照",
        .identifier = "1.2.156.3005.2.11100000000013338W.91310000MA1K4XYZ0B.0001.3",
        .number = "91310000MA1K4XYZ0B",
        .holder = "上海示例科技有限公司",
        .holder_code = "91310000MA1K4XYZ0B",
        .issuer = "上海市市场监督管理局",
        .issued_date = "2025-12-30",
        .valid_from = "2025-12-30",
        .fields = FIELDS,
        .nfields = sizeof FIELDS / sizeof FIELDS[0],
    };
    struct buf file = BUF_INIT(16u << 20);
    if (ofd_issue(&face, &id, &file))
        die("ofd_issue");
    uint8_t msg[32] = {1}, sig[SM2_SIG_LEN];
    if (sm2_sign(pki.signer_key, NULL, 0, msg, sizeof msg, sig))
        die("sm2_sign");
    struct verify_options plain = {0};
    struct verify_options trusted = {.anchors = anchors, .require_trust = true};
    printf("bench_ofd: one-page sealed OFD of %zu bytes, SM2 engine %s, %.1f s per measure\n",
           file.len, sm2_engine_name(sm2_engine_get()), secs);
    for (int round = 1; round <= 2; round++) {
        long n = 0;
        double t0 = now_s(), t;
        do {
            if (sm2_verify(pki.signer_key, NULL, 0, msg, sizeof msg, sig))
                die("sm2_verify");
            n++;
        } while ((t = now_s() - t0) < secs);
        double sm2 = n / t;
        double v_plain = rate_verify(&file, &plain, secs);
        double v_trust = rate_verify(&file, &trusted, secs);
        n = 0;
        t0 = now_s();
        do {
            struct buf out = BUF_INIT(16u << 20);
            if (ofd_issue(&face, &id, &out))
                die("ofd_issue");
            buf_release(&out);
            n++;
        } while ((t = now_s() - t0) < secs);
        double issue = n / t;
        printf("round %d: SM2 verify %8.0f/s | OFD verify, no anchors %7.1f files/s (%.1f SM2 "
               "verifies each) | with the root as anchor %7.1f files/s (%.1f) | OFD issue "
               "%6.1f files/s\n",
               round, sm2, v_plain, sm2 / v_plain, v_trust, sm2 / v_trust, issue);
    }
    buf_release(&file);
    x509_store_free(anchors);
    seal_pki_free(&pki);
    buf_release(&root);
    sm2_key_free(root_key);
    return 0;
}
