/*
 * The PDF verifier against the real-world corpus (tests/data/corpus/pdf, a
 * copy of the shared corpus with its MANIFEST.json): every file is the one
 * the manifest names (sha256), gets its expected verdict, and has as many
 * signature records as /ByteRange entries. Prints the verdict table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/pkcs.h"
#include "docs/pdf.h"
#include "docs/verify.h"
#include "util.h"

static void test_corpus(void **state)
{
    (void)state;
    json_t *m = util_load_json("corpus/pdf/MANIFEST.json");
    json_t *entries = json_object_get(m, "entries");
    assert_true(json_is_array(entries));
    assert_true(json_array_size(entries) >= 18);
    size_t i;
    json_t *e;
    int failures = 0;
    printf("%-62s %-15s %s\n", "file", "expected", "got");
    json_array_foreach(entries, i, e) {
        const char *rel = util_str(e, "path_here");
        const char *expected = util_str(e, "expected");
        char path[512];
        snprintf(path, sizeof path, "corpus/pdf/%s", rel);
        size_t len;
        uint8_t *data = util_read_file(path, &len);

        /* the file is the one the manifest describes */
        uint8_t dg[PKCS_DIGEST_MAX];
        size_t dlen;
        struct pkcs_chunk c = {data, len};
        assert_int_equal(pkcs_digest(PKCS_HASH_SHA256, &c, 1, dg, &dlen), ECERT_OK);
        char hex[2 * PKCS_DIGEST_MAX + 1];
        for (size_t k = 0; k < dlen; k++)
            snprintf(hex + 2 * k, 3, "%02x", dg[k]);
        assert_string_equal(hex, util_str(e, "sha256"));

        struct verify_result r = {0};
        ecert_status st = pdf_verify(data, len, NULL, &r);
        bool ok;
        if (strcmp(expected, "VALID") == 0)
            ok = st == ECERT_OK && r.result == 1 && r.reason[0] == 0;
        else if (strcmp(expected, "UNSIGNED") == 0)
            ok = st == ECERT_OK && r.result == 0 && strcmp(r.reason, "unsigned") == 0;
        else
            ok = r.result == 0 && strcmp(r.reason, "unsigned") != 0 && r.reason[0];
        /* one record per /ByteRange the independent checker counted */
        json_t *checks = json_object_get(e, "checks");
        json_int_t nbr = json_integer_value(json_object_get(checks, "byterange_count"));
        if ((size_t)nbr != r.nsig)
            ok = false;
        for (size_t k = 0; strcmp(expected, "VALID") == 0 && k < r.nsig; k++)
            if (!r.sigs[k].integrity || !r.sigs[k].signature || !r.sigs[k].signer[0])
                ok = false;
        char got[VERIFY_TEXT + 32];
        snprintf(got, sizeof got, "result %d%s%s", r.result, r.reason[0] ? ", " : "", r.reason);
        printf("%-62s %-15s %s%s\n", rel, expected, got, ok ? "" : "   <-- WRONG");
        for (size_t k = 0; k < r.nsig; k++)
            printf("    sig %s: %s; integrity %d signature %d%s%s\n", r.sigs[k].id,
                   r.sigs[k].format, r.sigs[k].integrity, r.sigs[k].signature,
                   r.sigs[k].reason[0] ? "; " : "", r.sigs[k].reason);
        failures += !ok;
        verify_result_free(&r);
        free(data);
    }
    json_decref(m);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
