#include "common/flatjson.h"

#include <stdint.h>
#include <string.h>

/* Members of a nested object (their keys are checked for duplicates); a
 * bigger object is left to the full parser. */
#define NESTED_MAX 64

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* The length of the well-formed UTF-8 sequence (RFC 3629: no overlong
 * form, no surrogate, nothing past U+10FFFF) starting at p, which holds a
 * byte >= 0x80; 0 when there is none. The same rule as jansson's. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong below U+0800 */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong below U+10000 */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else {
        return 0;
    }
    if ((size_t)(end - p) < need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return need;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Nonzero when a byte of x is a control character, '"', '\\' or >= 0x80
 * (the classic bit tricks: (x - 0x01..) & ~x & 0x80.. has a bit set when a
 * byte of x is zero, with 0x20.. when one is below 0x20; a borrow can only
 * add bits above a byte that is itself a hit, so "any bit" is exact). */
static uint64_t special8(uint64_t x)
{
    uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
    uint64_t ctl = (x - ONES * 0x20) & ~x, quote = (q - ONES) & ~q, bsl = (b - ONES) & ~b;
    return (ctl | quote | bsl | x) & HIGHS;
}

/* p at a '"': the string's bytes into *v, *vlen; returns the byte after its
 * closing quote, or NULL when it is not a plain string (an escape, a control
 * character, invalid UTF-8, no end). Plain ASCII goes 8 bytes at a time. */
static const char *string(const char *p, const char *end, const char **v, size_t *vlen)
{
    const char *start = ++p;
    for (;;) {
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            if (special8(x))
                break;
            p += 8;
        }
        if (p >= end)
            return NULL;
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *v = start;
            *vlen = (size_t)(p - start);
            return p + 1;
        }
        if (c < 0x20 || c == '\\')
            return NULL;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t k = utf8_seq((const unsigned char *)p, (const unsigned char *)end);
        if (!k)
            return NULL;
        p += k;
    }
}

/* p at a '{': the members into m[0..*count); a nested object (values that
 * are strings only) is allowed when !nested. Returns the byte after the
 * closing '}', or NULL. */
static const char *object(const char *p, const char *end, bool nested, struct flatjson_member *m,
                          size_t cap, size_t *count)
{
    size_t k = 0;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        *count = 0;
        return p + 1;
    }
    for (;;) {
        if (p >= end || *p != '"' || k == cap)
            return NULL;
        struct flatjson_member *e = &m[k];
        if (!(p = string(p, end, &e->key, &e->klen)))
            return NULL;
        /* jansson with JSON_REJECT_DUPLICATES refuses a repeated key */
        for (size_t i = 0; i < k; i++)
            if (m[i].klen == e->klen && memcmp(m[i].key, e->key, e->klen) == 0)
                return NULL;
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            return NULL;
        p = skip_ws(p + 1, end);
        if (p >= end)
            return NULL;
        if (*p == '"') {
            if (!(p = string(p, end, &e->val, &e->vlen)))
                return NULL;
            e->object = false;
        } else if (*p == '{' && !nested) {
            struct flatjson_member inner[NESTED_MAX];
            size_t ni = 0;
            const char *q = object(p, end, true, inner, NESTED_MAX, &ni);
            if (!q)
                return NULL;
            e->val = p;
            e->vlen = (size_t)(q - p);
            e->object = true;
            p = q;
        } else {
            return NULL;
        }
        k++;
        p = skip_ws(p, end);
        if (p >= end)
            return NULL;
        if (*p == '}') {
            *count = k;
            return p + 1;
        }
        if (*p != ',')
            return NULL;
        p = skip_ws(p + 1, end);
    }
}

int flatjson_parse(const char *s, size_t n, struct flatjson_member *m, size_t cap)
{
    const char *end = s + n;
    const char *p = skip_ws(s, end);
    size_t count = 0;
    if (cap > (size_t)INT32_MAX || p >= end || *p != '{')
        return -1;
    p = object(p, end, false, m, cap, &count);
    if (!p || skip_ws(p, end) != end)
        return -1;
    return (int)count;
}

size_t flatjson_compact(const char *obj, size_t len, char *out)
{
    /* In the subset a string holds no '"' and no escape: a quote always
     * opens or closes one. */
    size_t o = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = obj[i];
        if (c == '"')
            in_str = !in_str;
        else if (!in_str && (c == ' ' || c == '\t' || c == '\n' || c == '\r'))
            continue;
        out[o++] = c;
    }
    out[o] = 0;
    return o;
}
