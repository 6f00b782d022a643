/*
 * The OFD verifier against the real-world corpus (tests/data/corpus/ofd, a
 * copy of the shared corpus with its MANIFEST.json): every file gets its
 * expected verdict, and every signature the manifest describes matches in
 * id, signer, seal name, integrity and signature. Also: trust with the
 * corpus' one known certificate, OFD location resolution, and hostile
 * containers (ZIP names, limits, XML declarations, broken signature files).
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
#include "crypto/x509_verify.h"
#include "docs/ofd_verify.h"
#include "docs/verify.h"
#include "docs/zipread.h"
#include "docs/zipwrite.h"
#include "util.h"

#define CORPUS "corpus/ofd/"
#define USER_CERT CORPUS "ses/ofdrw_USER_cert.pem"

static struct x509_store *load_store(const char *rel)
{
    size_t len;
    uint8_t *data = util_read_file(rel, &len);
    struct x509_store *s = NULL;
    assert_int_equal(x509_store_new(&s), ECERT_OK);
    assert_int_equal(x509_store_add(s, data, len), ECERT_OK);
    free(data);
    return s;
}

static ecert_status verify_file(const char *rel, const struct verify_options *opts,
                                struct verify_result *res)
{
    size_t len;
    uint8_t *data = util_read_file(rel, &len);
    ecert_status st = docs_verify(data, len, DOC_FORMAT_AUTO, opts, res);
    free(data);
    return st;
}

/* The manifest's subject strings leave out some attributes (ST, L, email);
 * the CN identifies the signer well enough. */
static void check_signer(const char *manifest_subject, const char *got)
{
    const char *cn = strstr(manifest_subject, "CN=");
    if (!cn)
        return;
    if (!strstr(got, cn)) {
        fprintf(stderr, "signer: want %s in %s\n", cn, got);
        fail();
    }
}

static void check_signatures(const json_t *entry, const struct verify_result *res)
{
    const json_t *sigs = json_object_get(json_object_get(entry, "checks"), "signatures");
    if (json_array_size(sigs) == 0)
        return; /* unsigned, or not described (integrity protection) */
    bool policy = json_object_get(entry, "policy_note") != NULL;
    assert_int_equal(json_array_size(sigs), res->nsig);
    for (size_t i = 0; i < res->nsig; i++) {
        const json_t *m = json_array_get(sigs, i);
        const struct verify_signature *s = &res->sigs[i];
        assert_string_equal(util_str(m, "id"), s->id);
        const char *subject = json_string_value(json_object_get(m, "signer_subject"));
        if (subject)
            check_signer(subject, s->signer);
        const char *seal = json_string_value(json_object_get(m, "seal_name"));
        if (seal)
            assert_string_equal(seal, s->seal_name);
        const json_t *mismatch = json_object_get(m, "ref_digest_mismatch");
        const json_t *hash_ok = json_object_get(m, "dataHash_ok");
        bool integrity = !(json_array_size(mismatch) > 0) && !json_is_false(hash_ok);
        /* The one policy case: Signatures.xml rewritten by a later seal. */
        if (policy)
            integrity = true;
        const json_t *sm2_ok = json_object_get(m, "sm2_signature_valid");
        const json_t *maker_ok = json_object_get(m, "seal_maker_signature_valid");
        bool signature = !json_is_false(sm2_ok) && !json_is_false(maker_ok);
        if (integrity != s->integrity || signature != s->signature)
            fprintf(stderr, "signature %s: integrity %d/%d signature %d/%d (%s)\n", s->id,
                    integrity, s->integrity, signature, s->signature, s->reason);
        assert_int_equal(integrity, s->integrity);
        assert_int_equal(signature, s->signature);
        assert_int_equal(s->trust, VERIFY_TRUST_NONE); /* no anchors given */
    }
}

static void test_corpus_verdicts(void **state)
{
    (void)state;
    json_t *manifest = util_load_json(CORPUS "MANIFEST.json");
    json_t *entries = json_object_get(manifest, "entries");
    struct x509_store *user = load_store(USER_CERT);
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(entries); i++) {
        const json_t *e = json_array_get(entries, i);
        if (strcmp(util_str(e, "kind"), "ofd") != 0)
            continue;
        char rel[512];
        snprintf(rel, sizeof rel, CORPUS "%s", util_str(e, "path_here"));
        const char *expected = util_str(e, "expected");
        bool needs_cert = strstr(expected, "ofdrw_USER_cert.pem") != NULL;
        struct verify_options opts = {.extra_certs = needs_cert ? user : NULL};
        struct verify_result res;
        ecert_status st = verify_file(rel, &opts, &res);
        printf("%-78s %-8s -> result %d %s\n", util_str(e, "dest"),
               strncmp(expected, "VALID", 5) == 0 ? "VALID" : expected, res.result,
               res.reason);
        assert_int_equal(st, ECERT_OK);
        if (strncmp(expected, "VALID", 5) == 0) {
            assert_int_equal(res.result, 1);
            assert_string_equal(res.reason, "");
        } else if (strcmp(expected, "UNSIGNED") == 0) {
            assert_int_equal(res.result, 0);
            assert_string_equal(res.reason, "unsigned");
            assert_int_equal(res.nsig, 0);
        } else {
            assert_string_equal(expected, "INVALID");
            assert_int_equal(res.result, 0);
            assert_true(strncmp(res.reason, "tampered", 8) == 0 ||
                        strncmp(res.reason, "invalid signature", 17) == 0);
        }
        check_signatures(e, &res);
        verify_result_free(&res);
        if (needs_cert) {
            /* Without the certificate the same file cannot verify. */
            assert_int_equal(verify_file(rel, NULL, &res), ECERT_OK);
            assert_int_equal(res.result, 0);
            assert_non_null(strstr(res.reason, "certificate"));
            verify_result_free(&res);
        }
        n++;
    }
    assert_int_equal(n, 25);
    x509_store_free(user);
    json_decref(manifest);
}

/* Specific findings, beyond the verdicts. */
static void test_corpus_details(void **state)
{
    (void)state;
    struct verify_result res;
    /* The tampered invoice names the changed file. */
    assert_int_equal(verify_file(CORPUS "signed-invalid/ofdrw_invoice-sample_TAMPERED.ofd", NULL,
                                 &res),
                     ECERT_OK);
    assert_non_null(strstr(res.reason, "/Doc_0/Document.xml"));
    assert_true(res.sigs[0].signature);
    assert_false(res.sigs[0].integrity);
    /* TBS_Sign.timeInfo, not the XML's SignatureDateTime. */
    assert_string_equal(res.sigs[0].signing_time, "2020-10-10T07:11:20Z");
    verify_result_free(&res);
    /* The later seal's rewrite of Signatures.xml is noted, not failed. */
    assert_int_equal(
        verify_file(CORPUS "signed-valid/ofdrw_h_ofdrw-sign_2seals_sig1-covers-Signatures.xml.ofd",
                    NULL, &res),
        ECERT_OK);
    assert_int_equal(res.nsig, 2);
    assert_non_null(strstr(res.sigs[0].note, "later signature"));
    verify_result_free(&res);
    /* GB/T 35275 with signed attributes: the signing time comes from them. */
    assert_int_equal(
        verify_file(CORPUS
                    "signed-valid/ofdrw_testPathClip_e-licence_mining-permit_gbt35275_2sig.ofd",
                    NULL, &res),
        ECERT_OK);
    assert_string_equal(res.sigs[0].format, "GB/T 35275 SignedData");
    assert_string_equal(res.sigs[0].type, "Sign");
    assert_int_equal(res.result, 1);
    verify_result_free(&res);
    /* GM/T 0031 v1: parsed, reported, refused. */
    assert_int_equal(verify_file(CORPUS "signed-invalid/ofdrw_n_iOFD_v1_NONSTANDARD.ofd", NULL,
                                 &res),
                     ECERT_OK);
    assert_string_equal(res.sigs[0].format, "SES_Signature v1 (GM/T 0031)");
    assert_string_equal(res.sigs[0].seal_name, "某某省人力资源和社会测试章");
    verify_result_free(&res);
    /* JSON verdict. */
    assert_int_equal(verify_file(CORPUS "signed-valid/ofdrw_999_KingGrid_v4.ofd", NULL, &res),
                     ECERT_OK);
    struct buf js = BUF_INIT(1 << 20);
    assert_int_equal(verify_result_json(&res, &js), ECERT_OK);
    json_error_t jerr;
    json_t *j = json_loads((const char *)js.data, 0, &jerr);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "result")), 1);
    const json_t *s0 = json_array_get(json_object_get(j, "signatures"), 0);
    assert_true(json_is_true(json_object_get(s0, "integrity")));
    assert_string_equal(json_string_value(json_object_get(s0, "trust")), "none");
    json_decref(j);
    buf_release(&js);
    verify_result_free(&res);
}

/* Trust: the corpus' one known certificate as an anchor (a leaf may be
 * trusted directly), and an unrelated anchor. */
static void test_corpus_trust(void **state)
{
    (void)state;
    struct x509_store *user = load_store(USER_CERT);
    const char *raw = CORPUS "signed-valid/ofdrw_DigitalSign_raw-sm2.ofd";
    struct verify_options opts = {.anchors = user, .extra_certs = user, .require_trust = true};
    struct verify_result res;
    assert_int_equal(verify_file(raw, &opts, &res), ECERT_OK);
    assert_int_equal(res.result, 1);
    assert_int_equal(res.sigs[0].trust, VERIFY_TRUST_TRUSTED);
    verify_result_free(&res);

    /* With an empty anchor set nothing is trusted: signature and integrity
     * stay good, and the verdict says "untrusted" only when trust is
     * required. */
    struct x509_store *none = NULL;
    assert_int_equal(x509_store_new(&none), ECERT_OK);
    opts.anchors = none; /* empty: nothing is trusted */
    assert_int_equal(verify_file(raw, &opts, &res), ECERT_OK);
    assert_int_equal(res.result, 0);
    assert_int_equal(res.sigs[0].trust, VERIFY_TRUST_NONE);
    assert_true(res.sigs[0].integrity && res.sigs[0].signature);
    assert_int_equal(strncmp(res.reason, "untrusted", 9), 0);
    verify_result_free(&res);
    opts.require_trust = false;
    assert_int_equal(verify_file(raw, &opts, &res), ECERT_OK);
    assert_int_equal(res.result, 1);
    verify_result_free(&res);
    x509_store_free(none);
    x509_store_free(user);
}

static void test_resolve(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(ofd_resolve("Doc_0/Signs", "Sign_0/Signature.xml", out, sizeof out),
                     ECERT_OK);
    assert_string_equal(out, "Doc_0/Signs/Sign_0/Signature.xml");
    assert_int_equal(ofd_resolve("Doc_0/Signs", "/Doc_0/Document.xml", out, sizeof out),
                     ECERT_OK);
    assert_string_equal(out, "Doc_0/Document.xml");
    assert_int_equal(ofd_resolve("Doc_0/Pages/Page_0", "../../Res/a.png", out, sizeof out),
                     ECERT_OK);
    assert_string_equal(out, "Doc_0/Res/a.png");
    assert_int_equal(ofd_resolve("", "./OFD.xml", out, sizeof out), ECERT_OK);
    assert_string_equal(out, "OFD.xml");
    assert_int_equal(ofd_resolve("", "Doc_0\\Signs\\x", out, sizeof out), ECERT_OK);
    assert_string_equal(out, "Doc_0/Signs/x");
    assert_int_equal(ofd_resolve("Doc_0", "../../etc/passwd", out, sizeof out),
                     ECERT_E_MALFORMED);
    assert_int_equal(ofd_resolve("Doc_0", "/", out, sizeof out), ECERT_E_MALFORMED);
    assert_int_equal(ofd_resolve("Doc_0", "", out, sizeof out), ECERT_E_MALFORMED);
    assert_int_equal(ofd_resolve("Doc_0", "a/b/c/d", out, 8), ECERT_E_TOO_LONG);
}

/* ---- hostile containers ---------------------------------------------------- */

static const char OFD_XML[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\" "
    "Version=\"1.0\" DocType=\"OFD\"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>"
    "<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>";

static void build(const struct zipwrite_entry *e, size_t n, struct buf *out)
{
    buf_init(out, 1u << 26);
    assert_int_equal(zip_build(e, n, 0, out), ECERT_OK);
}

static ecert_status verify_entries(const struct zipwrite_entry *e, size_t n,
                                   struct verify_result *res)
{
    struct buf zip;
    build(e, n, &zip);
    ecert_status st = docs_verify(zip.data, zip.len, DOC_FORMAT_OFD, NULL, res);
    buf_release(&zip);
    return st;
}

#define E(name, text) {name, (const uint8_t *)(text), sizeof(text) - 1, false}

static void test_hostile_containers(void **state)
{
    (void)state;
    struct verify_result res;
    /* Not a ZIP at all, and truncated ZIPs. */
    static const uint8_t junk[] = "PK\3\4 this is not really a zip file, just its magic.";
    assert_int_equal(docs_verify(junk, sizeof junk, DOC_FORMAT_AUTO, NULL, &res),
                     ECERT_E_MALFORMED);
    assert_int_equal(res.result, 0);
    assert_int_equal(strncmp(res.reason, "malformed", 9), 0);
    verify_result_free(&res);
    assert_int_equal(docs_verify((const uint8_t *)"%PDF-1.7", 8, DOC_FORMAT_AUTO, NULL, &res),
                     ECERT_E_MALFORMED);
    verify_result_free(&res);

    struct zipwrite_entry ok[] = {E("OFD.xml", OFD_XML), E("Doc_0/Document.xml", "<a/>")};
    struct buf zip;
    build(ok, 2, &zip);
    for (size_t cut = 0; cut < zip.len; cut += 7) {
        ecert_status st = docs_verify(zip.data, cut, DOC_FORMAT_OFD, NULL, &res);
        assert_true(st == ECERT_E_MALFORMED || st == ECERT_OK);
        assert_int_equal(res.result, 0);
        verify_result_free(&res);
    }
    /* Signatures named but missing: not verified, not "unsigned". */
    assert_int_equal(docs_verify(zip.data, zip.len, DOC_FORMAT_OFD, NULL, &res), ECERT_OK);
    assert_int_equal(res.result, 0);
    assert_int_equal(res.nsig, 1);
    verify_result_free(&res);
    buf_release(&zip);

    /* No OFD.xml. */
    struct zipwrite_entry no_ofd[] = {E("Doc_0/Document.xml", "<a/>")};
    assert_int_equal(verify_entries(no_ofd, 1, &res), ECERT_E_MALFORMED);
    verify_result_free(&res);

    /* Two names for one entry ("/OFD.xml" and "OFD.xml"): refused. */
    struct zipwrite_entry dup[] = {E("OFD.xml", OFD_XML), E("/OFD.xml", "<x/>")};
    assert_int_equal(verify_entries(dup, 2, &res), ECERT_E_MALFORMED);
    assert_non_null(strstr(res.reason, "two entries"));
    verify_result_free(&res);

    /* A ".." entry name. */
    struct zipwrite_entry dots[] = {E("OFD.xml", OFD_XML), E("Doc_0/../../evil", "x")};
    assert_int_equal(verify_entries(dots, 2, &res), ECERT_E_MALFORMED);
    verify_result_free(&res);

    /* XML with a DTD (entity expansion) and an external entity. */
    static const char lol[] =
        "<?xml version=\"1.0\"?><!DOCTYPE OFD [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
        "\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><OFD><DocBody><Signatures>&b;</Signatures>"
        "</DocBody></OFD>";
    struct zipwrite_entry dtd[] = {E("OFD.xml", lol)};
    assert_int_equal(verify_entries(dtd, 1, &res), ECERT_E_MALFORMED);
    assert_non_null(strstr(res.reason, "DTD"));
    verify_result_free(&res);
    static const char xxe[] = "<?xml version=\"1.0\"?><!DOCTYPE r SYSTEM \"http://127.0.0.1:1/x\">"
                              "<OFD/>";
    struct zipwrite_entry ext[] = {E("OFD.xml", xxe)};
    assert_int_equal(verify_entries(ext, 1, &res), ECERT_E_MALFORMED);
    verify_result_free(&res);
    /* UTF-16 (the declaration scan must not be bypassed). */
    static const char utf16[] = "\xff\xfe<\0O\0F\0D\0/\0>\0";
    struct zipwrite_entry u16[] = {E("OFD.xml", utf16)};
    assert_int_equal(verify_entries(u16, 1, &res), ECERT_E_MALFORMED);
    verify_result_free(&res);

    /* Deep nesting. */
    struct buf deep = BUF_INIT(1 << 20);
    assert_int_equal(buf_append_str(&deep, "<OFD>"), ECERT_OK);
    for (int i = 0; i < 200; i++)
        assert_int_equal(buf_append_str(&deep, "<a>"), ECERT_OK);
    for (int i = 0; i < 200; i++)
        assert_int_equal(buf_append_str(&deep, "</a>"), ECERT_OK);
    assert_int_equal(buf_append_str(&deep, "</OFD>"), ECERT_OK);
    struct zipwrite_entry dp[] = {{"OFD.xml", deep.data, deep.len, false}};
    assert_int_equal(verify_entries(dp, 1, &res), ECERT_E_TOO_LONG);
    verify_result_free(&res);
    buf_release(&deep);

    /* A zip bomb: 20 MiB of zeros deflate to ~20 KiB. */
    size_t big = 20u << 20;
    uint8_t *zeros = calloc(1, big);
    assert_non_null(zeros);
    static const char sigs[] =
        "<Signatures><Signature ID=\"1\" BaseLoc=\"Sign_0/Signature.xml\"/></Signatures>";
    static const char sig[] =
        "<Signature><SignedInfo><References CheckMethod=\"SM3\"><Reference FileRef=\"/bomb\">"
        "<CheckValue>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</CheckValue></Reference>"
        "</References></SignedInfo><SignedValue>SignedValue.dat</SignedValue></Signature>";
    struct zipwrite_entry bomb[] = {E("OFD.xml", OFD_XML),
                                    E("Doc_0/Signs/Signatures.xml", sigs),
                                    E("Doc_0/Signs/Sign_0/Signature.xml", sig),
                                    E("Doc_0/Signs/Sign_0/SignedValue.dat", "x"),
                                    {"bomb", zeros, big, false}};
    assert_int_equal(verify_entries(bomb, 5, &res), ECERT_OK);
    assert_int_equal(res.result, 0);
    assert_non_null(strstr(res.sigs[0].reason, "bomb"));
    verify_result_free(&res);
    free(zeros);
}

/* Direct zipread limits and lookups. */
static void test_zipread(void **state)
{
    (void)state;
    struct zipwrite_entry e[] = {E("OFD.xml", OFD_XML), E("Doc_0/", ""),
                                 E("Doc_0\\Pages\\Page_0\\Content.xml", "<Page/>")};
    struct buf zip;
    build(e, 3, &zip);
    struct zipread *z = NULL;
    assert_int_equal(zipread_open(zip.data, zip.len, &z), ECERT_OK);
    assert_int_equal(zipread_count(z), 3);
    size_t i;
    assert_true(zipread_find(z, "/Doc_0/Pages/Page_0/Content.xml", &i));
    assert_true(zipread_find(z, "Doc_0/./Pages/Page_0/Content.xml", &i));
    assert_false(zipread_find(z, "Doc_0", &i)); /* a directory, not a file */
    assert_false(zipread_find(z, "doc_0/Pages/Page_0/Content.xml", &i));
    const uint8_t *d;
    size_t n;
    assert_int_equal(zipread_get(z, "OFD.xml", &d, &n), ECERT_OK);
    assert_int_equal(n, sizeof OFD_XML - 1);
    assert_int_equal(zipread_get(z, "nope", &d, &n), ECERT_E_NOT_FOUND);
    zipread_close(z);
    buf_release(&zip);
    uint8_t tiny[10] = {0};
    assert_int_equal(zipread_open(tiny, sizeof tiny, &z), ECERT_E_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_verdicts),  cmocka_unit_test(test_corpus_details),
        cmocka_unit_test(test_corpus_trust),     cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_hostile_containers), cmocka_unit_test(test_zipread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
