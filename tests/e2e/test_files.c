/*
 * End to end, certificate files (issue 5): a window downloads a holder's
 * certificate files through cert/file/by-id — a sealed OFD from one province
 * and an SM2-signed PDF from another, across the federation — and has them
 * verified through cert/verify-file (表6): genuine files verify with a trusted
 * chain; a changed byte, another file's bytes under the wrong format, and an
 * unsigned document do not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/codec.h"
#include "crypto/sm3.h"
#include "util_fed.h"

static struct fed *F;
static int failed;

/* A holder's certificate of the given format ("OFD"/"PDF"), valid. */
static const json_t *find_cert(const char *format, const char **holder_code)
{
    size_t i, k;
    json_t *h, *c;
    json_array_foreach(json_object_get(F->json, "holders"), i, h) {
        json_array_foreach(json_object_get(h, "certificates"), k, c) {
            const char *type = json_string_value(json_object_get(c, "typeCode"));
            bool pdf = strcmp(type + 18, "006") == 0; /* sample food permits are PDFs */
            if (strcmp(json_string_value(json_object_get(c, "status")), "valid") == 0 &&
                pdf == (strcmp(format, "PDF") == 0)) {
                *holder_code = json_string_value(json_object_get(h, "code"));
                return c;
            }
        }
    }
    return NULL;
}

static const char *scene_for(const char *type_code)
{
    size_t i, k;
    json_t *s, *t;
    json_array_foreach(json_object_get(F->json, "scenes"), i, s) {
        json_array_foreach(json_object_get(s, "types"), k, t) {
            if (strcmp(json_string_value(t), type_code) == 0)
                return json_string_value(json_object_get(s, "itemCode"));
        }
    }
    return NULL;
}

/* Downloads through YRD-JS (the owner may be another province). */
static json_t *download(const json_t *cert, const char *holder, ecert_client *js,
                        ecert_client *trust)
{
    /* Tokens are for natural persons (表9); by-id calls without a token are
     * allowed (policy require_token_for_id off), which is how a window reads
     * a company's licence. */
    char tok[FED_TOKEN_MAX];
    bool person = strlen(holder) == 18 && holder[0] >= '1' && holder[0] <= '8' &&
                  fed_token(trust, holder, NULL, tok) == 0;
    ecert_purpose p;
    fed_purpose(&p, scene_for(json_string_value(json_object_get(cert, "typeCode"))), "FILE1");
    int code = -1;
    char *res = NULL, *msg = NULL;
    assert_int_equal(ecert_cert_file_by_id(js, json_string_value(json_object_get(cert, "id")),
                                           person ? tok : NULL, &p, &code, &res, &msg),
                     ECERT_OK);
    if (code != 0)
        fail_msg("file/by-id answered %d: %s", code, msg ? msg : "");
    json_t *r = json_loads(res, 0, NULL);
    ecert_free(res);
    assert_non_null(r);
    json_t *item = json_incref(json_array_get(json_object_get(r, "dataList"), 0));
    json_decref(r);
    assert_non_null(item);
    return item;
}

/* cert/verify-file on `b64` as `format`: the verdict JSON. */
static json_t *verify(ecert_client *js, const char *b64, const char *format, const char *scene)
{
    json_t *q = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "fileEntity", b64, "fileFormat",
                          format, "UseFor", "核验", "itemName", "核验", "itemCode", scene, "itemOrg",
                          "苏州市政务服务中心", "operator", "王五", "bizNum", "FILE2");
    char *qs = json_dumps(q, JSON_COMPACT);
    json_decref(q);
    int code = -1;
    char *res = NULL, *msg = NULL;
    assert_int_equal(ecert_client_call(js, "cert/verify-file", qs, &code, &res, &msg), ECERT_OK);
    free(qs);
    if (code != 0)
        fail_msg("verify-file answered %d: %s", code, msg ? msg : "");
    json_t *r = json_loads(res, 0, NULL);
    ecert_free(res);
    assert_non_null(r);
    return r;
}

static void check_file(const char *format)
{
    const char *holder = NULL;
    const json_t *cert = find_cert(format, &holder);
    assert_non_null(cert);
    ecert_client *js = fed_app_client(F, "YRD-JS", "YRD-JS");
    ecert_client *trust = fed_app_client(F, "YRD-TRUST", "YRD-JS");
    json_t *item = download(cert, holder, js, trust);
    assert_string_equal(json_string_value(json_object_get(item, "fileFormat")), format);
    const char *b64 = json_string_value(json_object_get(item, "fileEntity"));
    const char *scene = scene_for(json_string_value(json_object_get(cert, "typeCode")));

    /* The bytes are the ones whose SM3 the answer states. */
    size_t n = strlen(b64), len = 0;
    uint8_t *file = malloc(BASE64_DECODED_MAX(n));
    assert_int_equal(base64_decode(b64, n, file, BASE64_DECODED_MAX(n), &len, 0), ECERT_OK);
    uint8_t d[SM3_LEN];
    char hex[2 * SM3_LEN + 1];
    sm3_digest(file, len, d);
    hex_encode(d, SM3_LEN, hex);
    assert_string_equal(hex, json_string_value(json_object_get(item, "fileSM3")));

    /* Genuine: result 1, every signature good, the chain trusted. */
    json_t *v = verify(js, b64, format, scene);
    assert_int_equal(json_integer_value(json_object_get(v, "result")), 1);
    json_t *sig = json_array_get(json_object_get(v, "signatures"), 0);
    assert_non_null(sig);
    assert_true(json_is_true(json_object_get(sig, "integrity")));
    assert_true(json_is_true(json_object_get(sig, "signature")));
    assert_string_equal(json_string_value(json_object_get(sig, "trust")), "trusted");
    json_decref(v);

    /* One byte of signed content changed: not verified. For the PDF, a byte
     * early in the file (inside the first /ByteRange, before /Contents: the
     * hex digits of /Contents itself are not signed, and a letter's case
     * there is no change at all); for the OFD, the middle of the package. */
    size_t at = strcmp(format, "PDF") == 0 ? 120 : len / 2;
    assert_true(at < len);
    file[at] ^= 0x01;
    char *bad = malloc(BASE64_ENCODED_LEN(len) + 1);
    base64_encode(file, len, bad, 0);
    v = verify(js, bad, format, scene);
    assert_int_equal(json_integer_value(json_object_get(v, "result")), 0);
    json_decref(v);
    free(bad);
    free(file);
    json_decref(item);
}

static void test_ofd_download_and_verify(void **state)
{
    check_file("OFD");
}

static void test_pdf_download_and_verify(void **state)
{
    check_file("PDF");
}

static void test_not_a_signed_file(void **state)
{
    ecert_client *js = fed_app_client(F, "YRD-JS", "YRD-JS");
    const char *scene = json_string_value(
        json_object_get(json_array_get(json_object_get(F->json, "scenes"), 0), "itemCode"));
    /* A PDF with no signature, and bytes that are no PDF at all. */
    static const char plain_pdf[] = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << "
                                    "/Root 1 0 R >>\n%%EOF\n";
    char b64[256];
    base64_encode((const uint8_t *)plain_pdf, sizeof plain_pdf - 1, b64, 0);
    json_t *v = verify(js, b64, "PDF", scene);
    assert_int_equal(json_integer_value(json_object_get(v, "result")), 0);
    json_decref(v);
    v = verify(js, "aGVsbG8=", "OFD", scene);
    assert_int_equal(json_integer_value(json_object_get(v, "result")), 0);
    json_decref(v);
}

static int setup(void **state)
{
    static const char *const ids[] = {"YRD-TRUST", "YRD-HUB", "YRD-SH", "YRD-JS", "YRD-ZJ",
                                      "YRD-AH", NULL};
    F = fed_start(ids, NULL, 0);
    return F ? 0 : -1;
}

static int teardown(void **state)
{
    return fed_finish(F, failed != 0) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ofd_download_and_verify),
        cmocka_unit_test(test_pdf_download_and_verify),
        cmocka_unit_test(test_not_a_signed_file),
    };
    failed = cmocka_run_group_tests(tests, setup, teardown);
    return failed;
}
