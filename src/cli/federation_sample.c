/*
 * federation_sample.c — the sample data of a local federation: the shared
 * catalog (共享互认清单), the scene list (用证清单), and holders whose
 * certificates are spread over the four provinces, each with valid
 * identifiers (GB 11643, GB 32100, GB/T 36904) issued by authorities of the
 * right region.
 *
 * Type codes are demo codes under the defining body of the real example
 * identifiers (11100000000013338W): the national catalogue's codes are not
 * public data we can ship. Certificate files are real originals: OFDs sealed
 * per GB/T 38540 (SES_Signature v4) and, for food permits, PDFs signed with
 * SM2-SM3 CMS, each with the issuing province's seal hierarchy.
 */
#include "cli/federation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codes/ids.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/error.h"
#include "crypto/random.h"
#include "crypto/sm3.h"
#include "docs/ofd_write.h"
#include "docs/pdf_sign.h"

#define TYPE_BODY "11100000000013338W"

const struct sample_type sample_types[] = {
    {TYPE_BODY "001", "居民身份证", "111", "公安局"},
    {TYPE_BODY "002", "营业执照", "001", "市场监督管理局"},
    {TYPE_BODY "003", "机动车驾驶证", "111", "公安局交通警察总队"},
    {TYPE_BODY "004", "结婚证", "111", "民政局"},
    {TYPE_BODY "005", "不动产权证书", "111", "规划和自然资源局"},
    {TYPE_BODY "006", "食品经营许可证", "001", "市场监督管理局"},
};
const size_t sample_ntypes = sizeof sample_types / sizeof sample_types[0];

const struct sample_scene sample_scenes[] = {
    {"YRD-QYKB-0001", "企业开办", {TYPE_BODY "002", TYPE_BODY "001"}, 2},
    {"YRD-BDCDJ-0001", "不动产登记", {TYPE_BODY "005", TYPE_BODY "001", TYPE_BODY "004"}, 3},
    {"YRD-JSZHL-0001", "机动车驾驶证换领", {TYPE_BODY "003", TYPE_BODY "001"}, 2},
    {"YRD-SPJY-0001", "食品经营许可", {TYPE_BODY "006", TYPE_BODY "002"}, 2},
    {"YRD-HJQY-0001", "户籍迁移", {TYPE_BODY "001", TYPE_BODY "004"}, 2},
};
const size_t sample_nscenes = sizeof sample_scenes / sizeof sample_scenes[0];

const struct sample_province sample_provinces[] = {
    {"YRD-SH", "上海市", "310000", "310101"},
    {"YRD-JS", "江苏省", "320000", "320506"},
    {"YRD-ZJ", "浙江省", "330000", "330106"},
    {"YRD-AH", "安徽省", "340000", "340104"},
};

uint32_t sample_rnd32(void *ctx)
{
    (void)ctx;
    uint32_t v = 0;
    random_bytes(&v, sizeof v);
    return v;
}

static void digits(char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (char)('0' + sample_rnd32(NULL) % 10);
    out[n] = 0;
}

static const char *const person_names[] = {"张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆",
                                           "赵磊", "周敏"};
static const char *const company_names[] = {"上海浦江数据科技有限公司", "苏州金鸡湖食品有限公司",
                                            "杭州西溪软件股份有限公司", "合肥巢湖新材料有限公司"};

/* Birth dates of the sample persons (adults, valid calendar dates). */
static const char *const births[] = {"19850314", "19900722", "19780105", "19951130",
                                     "19880229", "19921009", "19810617", "19990401"};

static ecert_status authority_code(const struct sample_province *p, const struct sample_type *t,
                                   char out[IDS_CODE_LEN + 1])
{
    /* Government organs' USCCs start with 11; the region is the province's
     * capital district so that the issuer code names the right province. */
    (void)t;
    return ids_uscc_generate("11", p->district, sample_rnd32, NULL, out);
}

/* Builds one certificate and appends it as a JSON object to `list`. */
/* The certificate file (电子证照原件): a sealed OFD, or for some types a PDF
 * signed with SM2-SM3, made with the issuing province's seal. */
static ecert_status seal_file(const struct sample_sealer *sl, bool as_pdf,
                              const struct sample_type *t, const char *idtext, const char *number,
                              const char *holder, const char *holder_code, const char *issuer,
                              const char *issued, const char *valid_to, struct buf *out)
{
    if (as_pdf) {
        const struct pdf_face_field f[] = {
            {"证照名称", t->name}, {"证照标识", idtext},   {"证照编号", number},
            {"持证主体", holder},  {"持证主体代码", holder_code}, {"颁发机构", issuer},
            {"颁发日期", issued},  {"有效期至", valid_to[0] ? valid_to : "长期"},
        };
        struct pdf_face face = {t->name, f, sizeof f / sizeof f[0]};
        struct pdf_signer signer = {.alg = PDF_SIGN_SM2_SM3,
                                    .cert_pem = sl->cert_pem,
                                    .cert_len = strlen(sl->cert_pem),
                                    .key_pem = sl->key_hex,
                                    .key_len = strlen(sl->key_hex),
                                    .reason = "电子证照原件"};
        return pdf_sign(&face, &signer, out);
    }
    struct ofd_face face = {.title = t->name,
                            .identifier = idtext,
                            .number = number,
                            .holder = holder,
                            .holder_code = holder_code,
                            .issuer = issuer,
                            .issued_date = issued,
                            .valid_from = issued,
                            .valid_to = valid_to};
    return ofd_issue(&face, &sl->id, out);
}

static ecert_status make_cert(const struct sample_sealer *sealers, const struct sample_type *t,
                              const struct sample_province *p, const char *holder,
                              const char *holder_code, const char *number, const char *status,
                              const char *issued, const char *valid_to, json_t *list,
                              json_t *hcerts)
{
    struct cert_id id;
    memset(&id, 0, sizeof id);
    memcpy(id.type_code, t->code, IDS_TYPE_CODE_LEN + 1);
    memcpy(id.version, "001", 4);
    ecert_status st = authority_code(p, t, id.issuer);
    if (!st)
        st = ids_cert_generate(&id, 10, sample_rnd32, NULL);
    char idtext[IDS_CERT_MAX_LEN + 1];
    if (!st)
        st = ids_cert_format(&id, idtext, sizeof idtext, NULL);
    if (st)
        return st;
    char issuer[128];
    snprintf(issuer, sizeof issuer, "%s%s", p->name, t->authority);
    /* Food permits go out as signed PDFs, everything else as sealed OFDs:
     * the federation then serves and verifies both kinds of original. */
    bool as_pdf = strcmp(t->code + 18, "006") == 0;
    struct buf pdf = BUF_INIT(4u << 20);
    if ((st = seal_file(&sealers[p - sample_provinces], as_pdf, t, idtext, number, holder,
                        holder_code, issuer, issued, valid_to, &pdf))) {
        buf_release(&pdf);
        return st;
    }
    uint8_t digest[SM3_LEN];
    char sm3hex[2 * SM3_LEN + 1];
    sm3_digest(pdf.data, pdf.len, digest);
    hex_encode(digest, SM3_LEN, sm3hex);
    char *b64 = malloc(BASE64_ENCODED_LEN(pdf.len) + 1);
    if (!b64) {
        buf_release(&pdf);
        return err_set(ECERT_E_NOMEM, "out of memory");
    }
    base64_encode(pdf.data, pdf.len, b64, 0);
    char fname[160];
    snprintf(fname, sizeof fname, "%s.%s", idtext, as_pdf ? "pdf" : "ofd");
    json_t *surface = json_pack("{s:s,s:s,s:s,s:s,s:s}", "持证主体", holder, "证照编号", number,
                                "颁发机构", issuer, "颁发日期", issued, "有效期至",
                                valid_to[0] ? valid_to : "长期");
    json_t *c = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:s}",
        "CertificateID", idtext, "CertificateType", t->name, "CertificateTypeCode", t->code,
        "CertificateNumber", number, "CertificateHolder", holder, "CertificateHolderCode",
        holder_code, "CertificateHolderTypeCode", t->holder_type, "CertificateIssuingAuthority",
        issuer, "CertificateIssuingAuthorityCode", id.issuer, "CertificateIssuedDate", issued,
        "CertificateValidFrom", issued, "CertificateValidTo", valid_to, "CertificateStatus",
        status, "CertificateAreaCode", p->district, "SurfaceData", surface, "fileFormat", as_pdf ? "PDF" : "OFD",
        "fileName", fname, "fileSM3", sm3hex, "fileEntity", b64);
    free(b64);
    buf_release(&pdf);
    if (!c)
        return err_set(ECERT_E_NOMEM, "out of memory");
    json_object_set_new(c, "province", json_string(p->id));
    json_array_append_new(list, c);
    json_array_append_new(hcerts, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", idtext,
                                            "province", p->id, "typeCode", t->code, "type",
                                            t->name, "number", number, "status", status));
    return ECERT_OK;
}

ecert_status sample_holders(const struct sample_sealer sealers[4], json_t **certs_out,
                            json_t **holders_out)
{
    json_t *certs = json_array(), *holders = json_array();
    ecert_status st = ECERT_OK;
    /* Persons: the ID card from the home province, the other certificates
     * from the three others, so that only the whole federation knows all. */
    for (size_t i = 0; !st && i < sizeof person_names / sizeof person_names[0]; i++) {
        const struct sample_province *home = &sample_provinces[i % 4];
        char code[IDS_CODE_LEN + 1];
        if ((st = ids_citizen_generate(home->district, births[i], sample_rnd32, NULL, code)))
            break;
        json_t *hc = json_array();
        char num[32];
        st = make_cert(sealers, &sample_types[0], home, person_names[i], code, code, "valid", "2021-03-01",
                       "2041-03-01", certs, hc);
        digits(num, 12);
        if (!st)
            st = make_cert(sealers, &sample_types[2], &sample_provinces[(i + 1) % 4], person_names[i], code,
                           num, "valid", "2020-06-15", "2030-06-15", certs, hc);
        snprintf(num, sizeof num, "J%s", "");
        digits(num + 1, 14);
        if (!st)
            st = make_cert(sealers, &sample_types[3], &sample_provinces[(i + 2) % 4], person_names[i], code,
                           num, i == 5 ? "revoked" : "valid", "2018-05-20", "", certs, hc);
        char deed[48];
        snprintf(deed, sizeof deed, "%s不动产权第", sample_provinces[(i + 3) % 4].name);
        digits(num, 7);
        strncat(deed, num, sizeof deed - strlen(deed) - 1);
        if (!st)
            st = make_cert(sealers, &sample_types[4], &sample_provinces[(i + 3) % 4], person_names[i], code,
                           deed, i == 6 ? "suspended" : "valid", "2019-11-11", "", certs, hc);
        json_array_append_new(holders, json_pack("{s:s,s:s,s:s,s:o}", "code", code, "type", "111",
                                                 "name", person_names[i], "certificates", hc));
    }
    for (size_t j = 0; !st && j < sizeof company_names / sizeof company_names[0]; j++) {
        const struct sample_province *home = &sample_provinces[j % 4];
        char code[IDS_CODE_LEN + 1];
        if ((st = ids_uscc_generate("91", home->district, sample_rnd32, NULL, code)))
            break;
        json_t *hc = json_array();
        st = make_cert(sealers, &sample_types[1], home, company_names[j], code, code, "valid", "2016-08-08",
                       "", certs, hc);
        char num[32] = "JY";
        digits(num + 2, 14);
        if (!st)
            st = make_cert(sealers, &sample_types[5], &sample_provinces[(j + 1) % 4], company_names[j],
                           code, num, "valid", "2022-01-10", "2027-01-09", certs, hc);
        json_array_append_new(holders, json_pack("{s:s,s:s,s:s,s:o}", "code", code, "type", "001",
                                                 "name", company_names[j], "certificates", hc));
    }
    if (st) {
        json_decref(certs);
        json_decref(holders);
        return st;
    }
    *certs_out = certs;
    *holders_out = holders;
    return ECERT_OK;
}
