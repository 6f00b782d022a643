/*
 * cmd_verify.c — `ecert verify-file FILE [--json] [--trust PEM]... [--cert PEM]...`:
 * the SPEC §7 verdict on a signed OFD (or PDF) file.
 *
 * Exit status (SPEC §8): 0 only when the verdict's result is 1; 1 for any
 * negative verdict, including a file that is not a well-formed signed
 * document; 2 for usage errors and unreadable files or certificates.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "crypto/x509_verify.h"
#include "docs/verify.h"

static void verify_usage(FILE *f)
{
    fputs("usage: ecert verify-file FILE [--json] [--trust PEM]... [--cert PEM]...\n"
          "                         [--format OFD|PDF]\n"
          "\n"
          "Verifies every signature of a signed OFD (GB/T 33190 / GB/T 38540 seals,\n"
          "GB/T 35275 signatures) or PDF file and prints the verdict (SPEC §7).\n"
          "\n"
          "  --json          the verdict as JSON: {\"result\":1|0,\"reason\":...,\"signatures\":[...]}\n"
          "  --trust PEM     trust anchors (a PEM file with one or more certificates);\n"
          "                  when given, an untrusted signer makes the result 0\n"
          "  --cert PEM      extra certificates: intermediates, and the signer's certificate\n"
          "                  for signatures that carry none (bare SM2 values)\n"
          "  --format F      OFD or PDF (default: by the file's first bytes)\n"
          "\n"
          "exit status: 0 verified (result 1), 1 not verified, 2 usage or input error\n",
          f);
}

static int load_store(const char *opt, const char *path, struct x509_store *s)
{
    struct buf b;
    ecert_status st = cli_read_input(path, 4u << 20, &b);
    if (st)
        return cli_fail(opt, st);
    st = x509_store_add(s, b.data, b.len);
    buf_release(&b);
    if (st) {
        char what[256];
        snprintf(what, sizeof what, "%s %s", opt, path);
        return cli_fail(what, st);
    }
    return EXIT_OK;
}

static const char *trust_text(enum verify_trust t)
{
    return t == VERIFY_TRUST_TRUSTED ? "trusted" : t == VERIFY_TRUST_UNTRUSTED ? "untrusted"
                                                                              : "not checked";
}

static void print_text(const struct verify_result *r)
{
    printf("result: %d (%s)\n", r->result, r->result ? "verified" : r->reason);
    for (size_t i = 0; i < r->nsig; i++) {
        const struct verify_signature *s = &r->sigs[i];
        printf("signature %s [%s] %s\n", s->id[0] ? s->id : "-", s->type, s->format);
        if (s->signer[0])
            printf("  signer:    %s\n", s->signer);
        if (s->issuer[0])
            printf("  issuer:    %s\n", s->issuer);
        if (s->seal_name[0])
            printf("  seal:      %s\n", s->seal_name);
        if (s->signing_time[0])
            printf("  time:      %s\n", s->signing_time);
        printf("  integrity: %s, signature: %s, chain: %s\n", s->integrity ? "ok" : "FAILED",
               s->signature ? "ok" : "FAILED", trust_text(s->trust));
        if (s->reason[0])
            printf("  reason:    %s\n", s->reason);
        if (s->note[0])
            printf("  note:      %s\n", s->note);
    }
}

int cmd_verify(int argc, char **argv)
{
    const char *file = NULL, *format_name = NULL;
    bool json = false;
    int rc = EXIT_USAGE;
    struct x509_store *anchors = NULL, *extra = NULL;
    struct verify_result res = {0};
    struct buf in = BUF_INIT(0);
    if (x509_store_new(&anchors) || x509_store_new(&extra)) {
        rc = cli_fail("verify-file", ECERT_E_NOMEM);
        goto done;
    }
    /* Hand-parsed: --trust and --cert may be repeated. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            verify_usage(stdout);
            rc = EXIT_OK;
            goto done;
        }
        if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--trust") == 0 || strcmp(a, "--cert") == 0 ||
                   strcmp(a, "--format") == 0) {
            if (i + 1 >= argc) {
                rc = cli_usage_error("%s needs a value (try --help)", a);
                goto done;
            }
            const char *v = argv[++i];
            if (strcmp(a, "--format") == 0)
                format_name = v;
            else if ((rc = load_store(a, v, a[2] == 't' ? anchors : extra)) != EXIT_OK)
                goto done;
            rc = EXIT_USAGE;
        } else if (a[0] == '-' && a[1] != 0) {
            rc = cli_usage_error("unknown option '%s' (try --help)", a);
            goto done;
        } else if (file) {
            rc = cli_usage_error("one FILE only (try --help)");
            goto done;
        } else {
            file = a;
        }
    }
    if (!file) {
        verify_usage(stderr);
        goto done;
    }
    enum doc_format format = DOC_FORMAT_AUTO;
    if (format_name && doc_format_from_name(format_name, &format)) {
        rc = cli_usage_error("--format: want OFD or PDF");
        goto done;
    }
    ecert_status st = cli_read_input(file, CLI_MAX_INPUT, &in);
    if (st) {
        rc = cli_fail(file, st);
        goto done;
    }
    struct verify_options opts = {
        .anchors = anchors,
        .extra_certs = extra,
        .require_trust = x509_store_count(anchors) > 0,
    };
    st = docs_verify(in.data, in.len, format, &opts, &res);
    if (st && st != ECERT_E_MALFORMED && st != ECERT_E_TOO_LONG) {
        rc = cli_fail(file, st);
        goto done;
    }
    if (json) {
        struct buf out = BUF_INIT(16u << 20);
        if ((st = verify_result_json(&res, &out))) {
            rc = cli_fail("verdict", st);
            goto done;
        }
        printf("%s\n", (const char *)out.data);
        buf_release(&out);
    } else {
        print_text(&res);
    }
    if (!res.result)
        fprintf(stderr, "ecert: %s: not verified: %s\n", file, res.reason);
    rc = res.result ? EXIT_OK : EXIT_NEGATIVE;
done:
    verify_result_free(&res);
    buf_release(&in);
    x509_store_free(anchors);
    x509_store_free(extra);
    return rc;
}
