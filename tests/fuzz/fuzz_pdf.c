/*
 * fuzz_pdf — the PDF signature extractor and verifier (docs/pdf.c) on
 * arbitrary bytes: lexer, cross-reference tables and streams, inflate, PNG
 * predictors, object streams, the field walk, the change analysis and the
 * CMS path behind it.
 *
 * Properties, each violation an abort():
 *   - pdf_extract and pdf_verify return OK, ECERT_E_MALFORMED or
 *     ECERT_E_TOO_LONG (or NOMEM), nothing else;
 *   - every signature found has its /Contents span inside the input, and a
 *     decoded /Contents no longer than half that span;
 *   - a verdict is 0 or 1; result 1 only with at least one signature and
 *     every signature intact and verified; every string is NUL-terminated;
 *   - both calls agree on the number of signatures.
 * The seeds are signed PDFs (ecert's own, SM2 and ECDSA; pyHanko's coverage
 * anomalies) and small hand-made files with compressed cross-reference and
 * object streams, so that the signature paths are reached.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs/pdf.h"
#include "docs/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Large inputs only slow the search down; the seeds are under 16 KiB. */
#define MAX_INPUT (64u * 1024)

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_pdf: property violated: %s\n", what);
    abort();
}

static void check_str(const char *s, size_t cap, const char *what)
{
    if (!memchr(s, 0, cap))
        fail(what);
}

static bool status_ok(ecert_status st)
{
    return st == ECERT_OK || st == ECERT_E_MALFORMED || st == ECERT_E_TOO_LONG ||
           st == ECERT_E_NOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    struct pdf_sig_list l;
    ecert_status st = pdf_extract(data, size, &l);
    if (!status_ok(st))
        fail("pdf_extract status");
    if (st && (l.n || l.sigs))
        fail("pdf_extract failed but returned signatures");
    for (size_t i = 0; i < l.n; i++) {
        const struct pdf_sig *s = &l.sigs[i];
        if (s->contents_end && (s->contents_start >= s->contents_end || s->contents_end > size))
            fail("/Contents span outside the input");
        if (s->contents_len && s->contents_len > (s->contents_end - s->contents_start) / 2 + 1)
            fail("/Contents decoded longer than its span");
        check_str(s->field, sizeof s->field, "field");
        check_str(s->sub_filter, sizeof s->sub_filter, "sub_filter");
        check_str(s->reason, sizeof s->reason, "reason");
        check_str(s->problem, sizeof s->problem, "problem");
    }

    struct verify_result r;
    memset(&r, 0, sizeof r);
    ecert_status vst = pdf_verify(data, size, NULL, &r);
    if (!status_ok(vst))
        fail("pdf_verify status");
    if (r.result != 0 && r.result != 1)
        fail("result not 0/1");
    if (r.result == 1 && (vst || r.nsig == 0))
        fail("result 1 without a signature");
    for (size_t i = 0; i < r.nsig; i++) {
        const struct verify_signature *v = &r.sigs[i];
        if (r.result == 1 && (!v->integrity || !v->signature))
            fail("result 1 with a failed signature");
        check_str(v->id, sizeof v->id, "id");
        check_str(v->format, sizeof v->format, "format");
        check_str(v->signer, sizeof v->signer, "signer");
        check_str(v->reason, sizeof v->reason, "reason");
        check_str(v->note, sizeof v->note, "note");
        check_str(v->signing_time, sizeof v->signing_time, "signing time");
    }
    check_str(r.reason, sizeof r.reason, "verdict reason");
    if (st == ECERT_OK && vst == ECERT_OK && r.nsig != l.n)
        fail("extract and verify disagree on the signatures");
    verify_result_free(&r);
    pdf_sig_list_free(&l);
    return 0;
}
