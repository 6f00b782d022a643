#include "common/der.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"

ecert_status der_next(struct der *r, uint8_t *tag, struct der *content)
{
    if (r->len < 2)
        return err_set(ECERT_E_MALFORMED, "DER: truncated header");
    uint8_t t = r->p[0];
    if ((t & 0x1F) == 0x1F)
        return err_set(ECERT_E_MALFORMED, "DER: multi-byte tags are not supported");
    size_t pos = 1, len;
    uint8_t l0 = r->p[pos++];
    if (l0 < 0x80) {
        len = l0;
    } else {
        size_t nl = l0 & 0x7F;
        if (nl == 0)
            return err_set(ECERT_E_MALFORMED, "DER: indefinite length");
        if (nl > 4)
            return err_set(ECERT_E_MALFORMED, "DER: length of %zu octets", nl);
        if (r->len - pos < nl)
            return err_set(ECERT_E_MALFORMED, "DER: truncated length");
        len = 0;
        for (size_t i = 0; i < nl; i++)
            len = len << 8 | r->p[pos++];
    }
    if (len > r->len - pos)
        return err_set(ECERT_E_MALFORMED, "DER: content of %zu bytes exceeds the %zu available",
                       len, r->len - pos);
    *tag = t;
    content->p = r->p + pos;
    content->len = len;
    r->p += pos + len;
    r->len -= pos + len;
    return ECERT_OK;
}

ecert_status der_expect(struct der *r, uint8_t tag, struct der *content)
{
    uint8_t t = 0;
    ecert_status st = der_next(r, &t, content);
    if (st)
        return st;
    if (t != tag)
        return err_set(ECERT_E_MALFORMED, "DER: tag 0x%02x where 0x%02x was expected", t, tag);
    return ECERT_OK;
}

ecert_status der_integer_fixed(const struct der *c, uint8_t *out, size_t width)
{
    const uint8_t *p = c->p;
    size_t n = c->len;
    if (n == 0)
        return err_set(ECERT_E_MALFORMED, "DER: empty INTEGER");
    while (n > 0 && p[0] == 0) {
        p++;
        n--;
    }
    if (n > width)
        return err_set(ECERT_E_MALFORMED, "DER: INTEGER of %zu bytes, at most %zu expected", n,
                       width);
    memset(out, 0, width - n);
    memcpy(out + width - n, p, n);
    return ECERT_OK;
}

size_t der_len_size(size_t len)
{
    if (len < 0x80)
        return 1;
    size_t n = 1;
    for (size_t l = len; l; l >>= 8)
        n++;
    return n;
}

ecert_status der_put_header(uint8_t *out, size_t cap, size_t *off, uint8_t tag, size_t len)
{
    size_t ls = der_len_size(len);
    if (*off + 1 + ls > cap)
        return err_set(ECERT_E_TOO_LONG, "DER: output buffer too small");
    out[(*off)++] = tag;
    if (ls == 1) {
        out[(*off)++] = (uint8_t)len;
    } else {
        out[(*off)++] = (uint8_t)(0x80 | (ls - 1));
        for (size_t i = ls - 1; i > 0; i--)
            out[(*off)++] = (uint8_t)(len >> (8 * (i - 1)));
    }
    return ECERT_OK;
}

static void strip_zeros(const uint8_t **mag, size_t *n)
{
    while (*n > 1 && (*mag)[0] == 0) {
        (*mag)++;
        (*n)--;
    }
}

size_t der_uint_size(const uint8_t *mag, size_t n)
{
    strip_zeros(&mag, &n);
    size_t body = n == 0 ? 1 : n + ((mag[0] & 0x80) ? 1 : 0);
    return 1 + der_len_size(body) + body;
}

ecert_status der_put_uint(uint8_t *out, size_t cap, size_t *off, const uint8_t *mag, size_t n)
{
    strip_zeros(&mag, &n);
    int pad = (n == 0) || (mag[0] & 0x80);
    size_t body = n + (size_t)pad;
    if (n == 0)
        body = 1, pad = 1;
    ecert_status st = der_put_header(out, cap, off, DER_INTEGER, body);
    if (st)
        return st;
    if (*off + body > cap)
        return err_set(ECERT_E_TOO_LONG, "DER: output buffer too small");
    if (pad)
        out[(*off)++] = 0;
    if (n)
        memcpy(out + *off, mag, n), *off += n;
    return ECERT_OK;
}

bool der_oid_text(const struct der *oid, char *out, size_t cap)
{
    if (!oid || oid->len == 0 || oid->len > 64 || cap == 0)
        return false;
    size_t o = 0;
    uint64_t v = 0;
    bool first = true;
    for (size_t i = 0; i < oid->len; i++) {
        uint8_t b = oid->p[i];
        if (v == 0 && b == 0x80)
            return false; /* a leading 0x80 is a non-minimal arc (X.690 8.19.2) */
        if (v > (UINT64_MAX >> 7))
            return false;
        v = (v << 7) | (b & 0x7F);
        if (b & 0x80) {
            if (i + 1 == oid->len)
                return false; /* truncated arc */
            continue;
        }
        int n;
        if (first) {
            /* The first subidentifier packs the first two arcs: 40·a + b. */
            uint64_t a = v < 40 ? 0 : v < 80 ? 1 : 2;
            n = snprintf(out + o, cap - o, "%llu.%llu", (unsigned long long)a,
                         (unsigned long long)(v - a * 40));
            first = false;
        } else {
            n = snprintf(out + o, cap - o, ".%llu", (unsigned long long)v);
        }
        if (n < 0 || (size_t)n >= cap - o)
            return false;
        o += (size_t)n;
        v = 0;
    }
    return true;
}

bool der_oid_is(const struct der *oid, const char *dotted)
{
    char text[96];
    return der_oid_text(oid, text, sizeof text) && strcmp(text, dotted) == 0;
}

/* Recursion over constructed TLVs. The element budget bounds the work of a
 * wide, flat input made of empty TLVs, which depth alone does not. */
static ecert_status nesting(struct der r, int depth, int max_depth, size_t *budget)
{
    while (!der_empty(&r)) {
        uint8_t tag;
        struct der c;
        ecert_status st = der_next(&r, &tag, &c);
        if (st)
            return st;
        if (*budget == 0)
            return err_set(ECERT_E_TOO_LONG, "ASN.1: more than %u elements", DER_MAX_ELEMENTS);
        (*budget)--;
        if (tag & 0x20) {
            if (depth + 1 > max_depth)
                return err_set(ECERT_E_MALFORMED, "ASN.1: nested deeper than %d", max_depth);
            if ((st = nesting(c, depth + 1, max_depth, budget)))
                return st;
        }
    }
    return ECERT_OK;
}

ecert_status der_check_nesting(const uint8_t *p, size_t len, int max_depth)
{
    struct der r = {p, len};
    size_t budget = DER_MAX_ELEMENTS;
    return nesting(r, 0, max_depth, &budget);
}
