/*
 * verify.c — the verdict structure and the format dispatch (see verify.h).
 */
#include "docs/verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/error.h"
#include "docs/ofd_verify.h"
#include "docs/pdf.h"

#define VERIFY_MAX_SIGS 64

ecert_status doc_format_from_name(const char *name, enum doc_format *out)
{
    if (name && strcasecmp(name, "OFD") == 0)
        *out = DOC_FORMAT_OFD;
    else if (name && strcasecmp(name, "PDF") == 0)
        *out = DOC_FORMAT_PDF;
    else
        return err_set(ECERT_E_MALFORMED, "fileFormat: want OFD or PDF");
    return ECERT_OK;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one
 * (overlong forms, surrogates and values past U+10FFFF are not valid). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

void verify_copy_text(char *out, size_t cap, const char *s, size_t n)
{
    if (cap == 0)
        return;
    size_t o = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; s && i < n && u[i];) {
        size_t l = utf8_seq(u + i, n - i);
        if (l == 0) {
            /* Not UTF-8 (a GBK name, say): shown as '?', never passed on. */
            if (o + 1 >= cap)
                break;
            out[o++] = '?';
            i++;
            continue;
        }
        if (o + l >= cap)
            break;
        if (l == 1)
            out[o++] = (u[i] < 0x20 || u[i] == 0x7F) ? ' ' : (char)u[i];
        else
            memcpy(out + o, u + i, l), o += l;
        i += l;
    }
    out[o] = 0;
}

struct verify_signature *verify_result_add(struct verify_result *r)
{
    if (r->nsig >= VERIFY_MAX_SIGS) {
        err_set(ECERT_E_TOO_LONG, "over %d signatures", VERIFY_MAX_SIGS);
        return NULL;
    }
    struct verify_signature *p = realloc(r->sigs, (r->nsig + 1) * sizeof *p);
    if (!p) {
        err_set(ECERT_E_NOMEM, "out of memory");
        return NULL;
    }
    r->sigs = p;
    memset(&p[r->nsig], 0, sizeof p[r->nsig]);
    return &p[r->nsig++];
}

void verify_set_reason(struct verify_result *r, const char *reason)
{
    if (!r->reason[0])
        verify_copy_text(r->reason, sizeof r->reason, reason, strlen(reason));
}

void verify_sig_fail(struct verify_signature *s, const char *fmt, ...)
{
    if (s->reason[0])
        return;
    char tmp[VERIFY_TEXT * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    verify_copy_text(s->reason, sizeof s->reason, tmp, strlen(tmp));
}

void verify_result_free(struct verify_result *r)
{
    if (!r)
        return;
    free(r->sigs);
    r->sigs = NULL;
    r->nsig = 0;
}

static enum doc_format sniff(const uint8_t *p, size_t len)
{
    if (len >= 4 && memcmp(p, "PK\3\4", 4) == 0)
        return DOC_FORMAT_OFD;
    /* A PDF header may follow up to 1024 bytes of junk (ISO 32000 7.5.2). */
    size_t lim = len < 1024 ? len : 1024;
    if (lim >= 5 && memmem(p, lim, "%PDF-", 5))
        return DOC_FORMAT_PDF;
    return DOC_FORMAT_AUTO;
}

ecert_status docs_verify(const uint8_t *file, size_t len, enum doc_format format,
                         const struct verify_options *opts, struct verify_result *out)
{
    if (!out)
        return err_set(ECERT_E_ARG, "docs_verify: NULL result");
    memset(out, 0, sizeof *out);
    if (!file && len) {
        verify_set_reason(out, "error");
        return err_set(ECERT_E_ARG, "docs_verify: NULL file");
    }
    static const struct verify_options defaults = {0};
    if (!opts)
        opts = &defaults;
    if (format == DOC_FORMAT_AUTO)
        format = sniff(file, len);
    ecert_status st;
    switch (format) {
    case DOC_FORMAT_OFD:
        st = ofd_verify(file, len, opts, out);
        break;
    case DOC_FORMAT_PDF:
        st = pdf_verify(file, len, opts, out);
        break;
    default:
        st = err_set(ECERT_E_MALFORMED, "neither an OFD (ZIP) nor a PDF file");
        break;
    }
    if (st) {
        out->result = 0;
        if (!out->reason[0]) {
            char tmp[VERIFY_TEXT];
            if (st == ECERT_E_MALFORMED || st == ECERT_E_TOO_LONG)
                snprintf(tmp, sizeof tmp, "malformed: %s", err_detail());
            else
                snprintf(tmp, sizeof tmp, "error: %s", err_detail());
            verify_set_reason(out, tmp);
        }
    }
    return st;
}

static const char *trust_name(enum verify_trust t)
{
    switch (t) {
    case VERIFY_TRUST_TRUSTED:
        return "trusted";
    case VERIFY_TRUST_UNTRUSTED:
        return "untrusted";
    default:
        return "none";
    }
}

ecert_status verify_result_json(const struct verify_result *r, struct buf *out)
{
    json_t *sigs = json_array();
    json_t *root = json_object();
    ecert_status st = ECERT_OK;
    if (!sigs || !root) {
        st = err_set(ECERT_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < r->nsig; i++) {
        const struct verify_signature *s = &r->sigs[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:s, s:s, "
                              "s:s}",
                              "id", s->id, "type", s->type, "format", s->format, "signer",
                              s->signer, "issuer", s->issuer, "sealName", s->seal_name,
                              "signingTime", s->signing_time, "integrity", s->integrity,
                              "signature", s->signature, "trusted",
                              s->trust == VERIFY_TRUST_TRUSTED, "trust", trust_name(s->trust),
                              "reason", s->reason, "note", s->note, "signReason",
                              s->sign_reason);
        if (!o || json_array_append_new(sigs, o) != 0) {
            st = err_set(ECERT_E_NOMEM, "verdict JSON: cannot build (invalid UTF-8?)");
            goto done;
        }
    }
    if (json_object_set_new(root, "result", json_integer(r->result)) ||
        json_object_set_new(root, "reason", json_string(r->reason)) ||
        json_object_set(root, "signatures", sigs)) {
        st = err_set(ECERT_E_NOMEM, "verdict JSON: cannot build");
        goto done;
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text) {
        st = err_set(ECERT_E_NOMEM, "verdict JSON: cannot serialise");
        goto done;
    }
    st = buf_append_str(out, text);
    free(text);
done:
    json_decref(sigs);
    json_decref(root);
    return st;
}
