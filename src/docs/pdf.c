/*
 * pdf.c — PDF signature extraction and verification (see pdf.h, docs/pdf.md).
 *
 * Layout of this file:
 *   1. zlib inflate (object and cross-reference streams are Flate-compressed)
 *   2. lexer and object parser
 *   3. the document: cross-reference sections, revisions, object lookup
 *   4. signature discovery (AcroForm fields -> signature dictionaries)
 *   5. what incremental updates after a signature changed
 *   6. CMS verification and the verdict
 */
#include "docs/pdf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "crypto/pkcs.h"
#include "crypto/x509_verify.h"
#include "docs/cms.h"

#define ARENA_MAX (256u << 20)     /* parsed values of one document */
#define TOKEN_BUDGET 20000000u     /* tokens read per document, all passes */
#define CONTAINER_MAX 1000000u     /* items in one array or dictionary */
#define OBJSTM_MAX_OBJECTS 100000u /* objects in one object stream */
#define FIELD_MAX_NODES 10000u     /* AcroForm field tree nodes visited */
#define FIELD_MAX_DEPTH 16
#define LOAD_MAX_DEPTH 8           /* nested object loads (/Length, object streams) */
#define CHANGES_MAX 4096u          /* changed objects examined after one signature */
#define REFSCAN_MAX 64u            /* reference scans of a whole revision, per document */
#define TEXT_MAX 4096u             /* decoded text strings (/Reason, /T, ...) */
#define CONTENTS_MAX (1u << 20)    /* decoded /Contents */
#define COMPARE_MAX 4096u          /* items compared pairwise (arrays, dictionaries) */
#define LEX_BUDGET (512u << 20)    /* bytes scanned by the lexer, all passes */
#define COMPARE_BUDGET 20000000u   /* value comparisons per document */

/* =========================================================================
 * 1. inflate (RFC 1950/1951), written for this file: bounded output, every
 *    read checked. Only used on object and cross-reference streams.
 * ========================================================================= */

struct inflater {
    const uint8_t *in;
    size_t inlen, inpos;
    uint32_t bits;
    int nbits;
    uint8_t *out;
    size_t outlen, outcap, outmax;
};

struct huffman {
    uint16_t count[16];
    uint16_t symbol[320];
};

static int inf_bits(struct inflater *s, int need, uint32_t *v)
{
    while (s->nbits < need) {
        if (s->inpos >= s->inlen)
            return -1;
        s->bits |= (uint32_t)s->in[s->inpos++] << s->nbits;
        s->nbits += 8;
    }
    *v = need ? s->bits & ((1u << need) - 1) : 0;
    s->bits >>= need;
    s->nbits -= need;
    return 0;
}

static int inf_put(struct inflater *s, uint8_t c)
{
    if (s->outlen == s->outcap) {
        if (s->outcap >= s->outmax)
            return -2;
        size_t ncap = s->outcap ? s->outcap * 2 : 4096;
        if (ncap > s->outmax)
            ncap = s->outmax;
        uint8_t *p = realloc(s->out, ncap);
        if (!p)
            return -3;
        s->out = p;
        s->outcap = ncap;
    }
    s->out[s->outlen++] = c;
    return 0;
}

/* Canonical Huffman code from code lengths. Over-subscribed sets are refused;
 * incomplete ones are allowed (a code never assigned fails when decoded). */
static int huff_build(struct huffman *h, const uint8_t *lengths, int n)
{
    uint16_t offs[16];
    memset(h->count, 0, sizeof h->count);
    for (int i = 0; i < n; i++)
        h->count[lengths[i]]++;
    if (h->count[0] == n)
        return 0;
    int left = 1;
    for (int len = 1; len < 16; len++) {
        left <<= 1;
        left -= h->count[len];
        if (left < 0)
            return -1;
    }
    offs[1] = 0;
    for (int len = 1; len < 15; len++)
        offs[len + 1] = offs[len] + h->count[len];
    for (int i = 0; i < n; i++)
        if (lengths[i])
            h->symbol[offs[lengths[i]]++] = (uint16_t)i;
    return 0;
}

static int huff_decode(struct inflater *s, const struct huffman *h)
{
    int code = 0, first = 0, index = 0;
    for (int len = 1; len < 16; len++) {
        uint32_t b;
        if (inf_bits(s, 1, &b))
            return -1;
        code |= (int)b;
        int count = h->count[len];
        if (code - first < count)
            return h->symbol[index + (code - first)];
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
    }
    return -1;
}

static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static int inf_codes(struct inflater *s, const struct huffman *lit, const struct huffman *dist)
{
    for (;;) {
        int sym = huff_decode(s, lit);
        if (sym < 0)
            return -1;
        if (sym < 256) {
            int r = inf_put(s, (uint8_t)sym);
            if (r)
                return r;
            continue;
        }
        if (sym == 256)
            return 0;
        sym -= 257;
        if (sym >= 29)
            return -1;
        uint32_t e;
        if (inf_bits(s, len_extra[sym], &e))
            return -1;
        size_t len = len_base[sym] + e;
        int ds = huff_decode(s, dist);
        if (ds < 0 || ds >= 30)
            return -1;
        if (inf_bits(s, dist_extra[ds], &e))
            return -1;
        size_t d = dist_base[ds] + e;
        if (d > s->outlen)
            return -1;
        for (size_t i = 0; i < len; i++) {
            int r = inf_put(s, s->out[s->outlen - d]);
            if (r)
                return r;
        }
    }
}

/* The fixed code of RFC 1951 3.2.6, built per call (small, and no shared
 * state between threads). */
static int inf_fixed(struct inflater *s)
{
    struct huffman l, d;
    uint8_t lengths[320];
    int i = 0;
    for (; i < 144; i++)
        lengths[i] = 8;
    for (; i < 256; i++)
        lengths[i] = 9;
    for (; i < 280; i++)
        lengths[i] = 7;
    for (; i < 288; i++)
        lengths[i] = 8;
    huff_build(&l, lengths, 288);
    for (i = 0; i < 30; i++)
        lengths[i] = 5;
    huff_build(&d, lengths, 30);
    return inf_codes(s, &l, &d);
}

static int inf_dynamic(struct inflater *s)
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    uint32_t nlen, ndist, ncode, v;
    if (inf_bits(s, 5, &nlen) || inf_bits(s, 5, &ndist) || inf_bits(s, 4, &ncode))
        return -1;
    nlen += 257;
    ndist += 1;
    ncode += 4;
    if (nlen > 286 || ndist > 30)
        return -1;
    uint8_t lengths[320];
    memset(lengths, 0, sizeof lengths);
    for (uint32_t i = 0; i < ncode; i++) {
        if (inf_bits(s, 3, &v))
            return -1;
        lengths[order[i]] = (uint8_t)v;
    }
    struct huffman lencode, lit, dist;
    if (huff_build(&lencode, lengths, 19))
        return -1;
    uint32_t idx = 0;
    while (idx < nlen + ndist) {
        int sym = huff_decode(s, &lencode);
        if (sym < 0)
            return -1;
        if (sym < 16) {
            lengths[idx++] = (uint8_t)sym;
            continue;
        }
        uint8_t val = 0;
        uint32_t rep;
        if (sym == 16) {
            if (idx == 0)
                return -1;
            val = lengths[idx - 1];
            if (inf_bits(s, 2, &rep))
                return -1;
            rep += 3;
        } else if (sym == 17) {
            if (inf_bits(s, 3, &rep))
                return -1;
            rep += 3;
        } else {
            if (inf_bits(s, 7, &rep))
                return -1;
            rep += 11;
        }
        if (idx + rep > nlen + ndist)
            return -1;
        while (rep--)
            lengths[idx++] = val;
    }
    if (lengths[256] == 0)
        return -1; /* no end-of-block code */
    if (huff_build(&lit, lengths, (int)nlen) || huff_build(&dist, lengths + nlen, (int)ndist))
        return -1;
    return inf_codes(s, &lit, &dist);
}

/* zlib stream -> malloc'd bytes. */
static ecert_status zinflate(const uint8_t *in, size_t inlen, size_t outmax, uint8_t **out,
                             size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (inlen < 2 || (in[0] & 0x0F) != 8 || (in[0] >> 4) > 7 || ((in[0] << 8) | in[1]) % 31 != 0 ||
        (in[1] & 0x20))
        return err_set(ECERT_E_MALFORMED, "PDF: FlateDecode stream without a zlib header");
    struct inflater s = {in, inlen, 2, 0, 0, NULL, 0, 0, outmax};
    int r = 0;
    uint32_t last, type;
    do {
        if (inf_bits(&s, 1, &last) || inf_bits(&s, 2, &type)) {
            r = -1;
            break;
        }
        if (type == 0) {
            /* stored block: byte-aligned LEN, NLEN */
            s.bits = 0;
            s.nbits = 0;
            if (s.inlen - s.inpos < 4) {
                r = -1;
                break;
            }
            unsigned len = s.in[s.inpos] | s.in[s.inpos + 1] << 8;
            unsigned nlen = s.in[s.inpos + 2] | s.in[s.inpos + 3] << 8;
            s.inpos += 4;
            if (len != (~nlen & 0xFFFF) || s.inlen - s.inpos < len) {
                r = -1;
                break;
            }
            for (unsigned i = 0; i < len && !r; i++)
                r = inf_put(&s, s.in[s.inpos + i]);
            s.inpos += len;
        } else if (type == 1) {
            r = inf_fixed(&s);
        } else if (type == 2) {
            r = inf_dynamic(&s);
        } else {
            r = -1;
        }
    } while (!r && !last);
    if (r) {
        free(s.out);
        if (r == -2)
            return err_set(ECERT_E_TOO_LONG, "PDF: a stream inflates past %zu bytes", outmax);
        if (r == -3)
            return err_set(ECERT_E_NOMEM, "out of memory");
        return err_set(ECERT_E_MALFORMED, "PDF: corrupt FlateDecode data");
    }
    /* Adler-32 when present (some producers cut it off; the data decoded). */
    size_t apos = s.inpos;
    if (s.inlen - apos >= 4) {
        uint32_t a = 1, b = 0;
        for (size_t i = 0; i < s.outlen; i++) {
            a = (a + s.out[i]) % 65521;
            b = (b + a) % 65521;
        }
        uint32_t want = (uint32_t)s.in[apos] << 24 | (uint32_t)s.in[apos + 1] << 16 |
                        (uint32_t)s.in[apos + 2] << 8 | s.in[apos + 3];
        if (want != (b << 16 | a)) {
            free(s.out);
            return err_set(ECERT_E_MALFORMED, "PDF: FlateDecode checksum mismatch");
        }
    }
    if (!s.out) {
        s.out = malloc(1);
        if (!s.out)
            return err_set(ECERT_E_NOMEM, "out of memory");
    }
    *out = s.out;
    *outlen = s.outlen;
    return ECERT_OK;
}

/* PNG row filters (/Predictor 10-15), in place: rows of 1 + rowlen bytes in,
 * rows of rowlen bytes out. */
static ecert_status png_unpredict(uint8_t *data, size_t len, size_t rowlen, size_t bpp,
                                  size_t *outlen)
{
    if (rowlen == 0 || len % (rowlen + 1) != 0)
        return err_set(ECERT_E_MALFORMED, "PDF: predictor rows do not fit the data");
    size_t rows = len / (rowlen + 1);
    uint8_t *prev = NULL;
    for (size_t r = 0; r < rows; r++) {
        uint8_t f = data[r * (rowlen + 1)];
        /* Rows move left by r+1 bytes as filter bytes drop out. memmove
         * keeps it in place; the previous row is already decoded. */
        uint8_t *row = data + r * rowlen;
        memmove(row, data + r * (rowlen + 1) + 1, rowlen);
        for (size_t i = 0; i < rowlen; i++) {
            unsigned a = i >= bpp ? row[i - bpp] : 0;
            unsigned b = prev ? prev[i] : 0;
            unsigned c = (prev && i >= bpp) ? prev[i - bpp] : 0;
            switch (f) {
            case 0:
                break;
            case 1:
                row[i] = (uint8_t)(row[i] + a);
                break;
            case 2:
                row[i] = (uint8_t)(row[i] + b);
                break;
            case 3:
                row[i] = (uint8_t)(row[i] + ((a + b) >> 1));
                break;
            case 4: {
                int p = (int)a + (int)b - (int)c;
                int pa = abs(p - (int)a), pb = abs(p - (int)b), pc = abs(p - (int)c);
                unsigned pr = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
                row[i] = (uint8_t)(row[i] + pr);
                break;
            }
            default:
                return err_set(ECERT_E_MALFORMED, "PDF: PNG filter type %u", f);
            }
        }
        prev = row;
    }
    *outlen = rows * rowlen;
    return ECERT_OK;
}

/* =========================================================================
 * 2. lexer and objects
 * ========================================================================= */

enum pv_type { PV_NULL = 1, PV_BOOL, PV_INT, PV_REAL, PV_NAME, PV_STR, PV_ARRAY, PV_DICT, PV_REF };

/* A parsed PDF value. Names, strings and numbers keep their source bytes
 * (decoded on demand); `start`/`end` locate the value in its source buffer
 * (the file, or a decompressed object stream when `in_file` is false). */
struct pv {
    uint8_t t;
    bool hex;               /* PV_STR: <...> rather than (...) */
    bool in_file;
    bool is_stream;         /* a dictionary followed by stream data */
    uint32_t n;             /* array: items; dict: key/value pairs */
    struct pv *items;       /* dict: key at 2i, value at 2i+1 */
    const uint8_t *raw;     /* name without '/', string without delimiters, number */
    size_t rawlen;
    int64_t i;              /* PV_INT, PV_BOOL; PV_REF: object number */
    uint32_t gen;           /* PV_REF */
    size_t start, end;
    const uint8_t *stream;  /* stream data (raw, still encoded) */
    size_t stream_len;
};

enum tok { T_EOF, T_INT, T_REAL, T_NAME, T_STR, T_HEX, T_AOPEN, T_ACLOSE, T_DOPEN, T_DCLOSE, T_KW };

struct token {
    enum tok t;
    size_t start, end; /* the whole token */
    int64_t i;
};

struct lex {
    const uint8_t *d;
    size_t end, pos;
};

struct pdoc;
static ecert_status budget_token(struct pdoc *doc);
static ecert_status budget_bytes(struct pdoc *doc, size_t n);

static bool is_ws(uint8_t c)
{
    return c == 0 || c == 9 || c == 10 || c == 12 || c == 13 || c == 32;
}

static bool is_delim(uint8_t c)
{
    return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' || c == '{' ||
           c == '}' || c == '/' || c == '%';
}

static void skip_ws(struct lex *l)
{
    while (l->pos < l->end) {
        uint8_t c = l->d[l->pos];
        if (is_ws(c)) {
            l->pos++;
        } else if (c == '%') {
            while (l->pos < l->end && l->d[l->pos] != '\n' && l->d[l->pos] != '\r')
                l->pos++;
        } else {
            break;
        }
    }
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static ecert_status next_token(struct pdoc *doc, struct lex *l, struct token *tk)
{
    ecert_status st = budget_token(doc);
    if (st)
        return st;
    skip_ws(l);
    tk->start = l->pos;
    tk->i = 0;
    if (l->pos >= l->end) {
        tk->t = T_EOF;
        tk->end = l->pos;
        return ECERT_OK;
    }
    const uint8_t *d = l->d;
    uint8_t c = d[l->pos];
    if (c == '[' || c == ']') {
        tk->t = c == '[' ? T_AOPEN : T_ACLOSE;
        l->pos++;
    } else if (c == '<' && l->pos + 1 < l->end && d[l->pos + 1] == '<') {
        tk->t = T_DOPEN;
        l->pos += 2;
    } else if (c == '>') {
        if (l->pos + 1 >= l->end || d[l->pos + 1] != '>')
            return err_set(ECERT_E_MALFORMED, "PDF: stray '>' at %zu", l->pos);
        tk->t = T_DCLOSE;
        l->pos += 2;
    } else if (c == '<') {
        l->pos++;
        while (l->pos < l->end && d[l->pos] != '>') {
            if (hexval(d[l->pos]) < 0 && !is_ws(d[l->pos]))
                return err_set(ECERT_E_MALFORMED, "PDF: bad hex string at %zu", tk->start);
            l->pos++;
        }
        if (l->pos >= l->end)
            return err_set(ECERT_E_MALFORMED, "PDF: unterminated hex string at %zu", tk->start);
        l->pos++;
        tk->t = T_HEX;
    } else if (c == '(') {
        size_t depth = 1;
        l->pos++;
        while (l->pos < l->end && depth) {
            uint8_t x = d[l->pos++];
            if (x == '\\')
                l->pos++;
            else if (x == '(')
                depth++;
            else if (x == ')')
                depth--;
        }
        if (depth || l->pos > l->end)
            return err_set(ECERT_E_MALFORMED, "PDF: unterminated string at %zu", tk->start);
        tk->t = T_STR;
    } else if (c == '/') {
        l->pos++;
        while (l->pos < l->end && !is_ws(d[l->pos]) && !is_delim(d[l->pos]))
            l->pos++;
        tk->t = T_NAME;
    } else if (c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9')) {
        size_t p = l->pos;
        bool neg = false, dot = false;
        size_t ndig = 0;
        int64_t v = 0;
        if (d[p] == '+' || d[p] == '-')
            neg = d[p++] == '-';
        for (; p < l->end; p++) {
            if (d[p] >= '0' && d[p] <= '9') {
                if (!dot && ndig < 18)
                    v = v * 10 + (d[p] - '0');
                ndig++;
            } else if (d[p] == '.' && !dot) {
                dot = true;
            } else {
                break;
            }
        }
        if (ndig == 0)
            return err_set(ECERT_E_MALFORMED, "PDF: bad number at %zu", tk->start);
        if (p < l->end && !is_ws(d[p]) && !is_delim(d[p]))
            return err_set(ECERT_E_MALFORMED, "PDF: bad number at %zu", tk->start);
        l->pos = p;
        /* Integers of more than 18 digits are not object numbers, offsets
         * or lengths anyone writes: kept as reals (raw text only). */
        tk->t = (dot || ndig > 18) ? T_REAL : T_INT;
        tk->i = neg ? -v : v;
    } else if (c == '{' || c == '}' || c == ')') {
        return err_set(ECERT_E_MALFORMED, "PDF: unexpected '%c' at %zu", c, l->pos);
    } else {
        while (l->pos < l->end && !is_ws(d[l->pos]) && !is_delim(d[l->pos]))
            l->pos++;
        tk->t = T_KW;
    }
    tk->end = l->pos;
    return budget_bytes(doc, tk->end - tk->start);
}

static bool tok_is(const struct lex *l, const struct token *tk, const char *kw)
{
    size_t n = strlen(kw);
    return tk->t == T_KW && tk->end - tk->start == n && memcmp(l->d + tk->start, kw, n) == 0;
}

/* ---- names and strings -------------------------------------------------------*/

/* Decodes a name's #xx escapes into out[cap] (NUL-terminated); false when it
 * does not fit or is malformed. */
static bool name_decode(const struct pv *v, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < v->rawlen; i++) {
        uint8_t c = v->raw[i];
        if (c == '#') {
            if (i + 2 >= v->rawlen)
                return false;
            int h = hexval(v->raw[i + 1]), lo = hexval(v->raw[i + 2]);
            if (h < 0 || lo < 0)
                return false;
            c = (uint8_t)(h << 4 | lo);
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return false;
        out[o++] = (char)c;
    }
    out[o] = 0;
    return true;
}

static bool name_is(const struct pv *v, const char *name)
{
    if (!v || v->t != PV_NAME)
        return false;
    size_t n = strlen(name);
    if (v->rawlen == n && memcmp(v->raw, name, n) == 0)
        return true;
    if (!memchr(v->raw, '#', v->rawlen))
        return false;
    char tmp[128];
    return name_decode(v, tmp, sizeof tmp) && strcmp(tmp, name) == 0;
}

/* A string's bytes (escapes of literal strings and hex digits decoded),
 * appended to `out`. */
static ecert_status str_decode(const struct pv *v, struct buf *out)
{
    const uint8_t *p = v->raw;
    size_t n = v->rawlen;
    ecert_status st = ECERT_OK;
    if (v->hex) {
        int hi = -1;
        for (size_t i = 0; i < n && !st; i++) {
            int h = hexval(p[i]);
            if (h < 0)
                continue;
            if (hi < 0) {
                hi = h;
            } else {
                st = buf_append_byte(out, (uint8_t)(hi << 4 | h));
                hi = -1;
            }
        }
        if (!st && hi >= 0) /* odd count: the last digit is followed by 0 */
            st = buf_append_byte(out, (uint8_t)(hi << 4));
        return st;
    }
    for (size_t i = 0; i < n && !st; i++) {
        uint8_t c = p[i];
        if (c == '\r') {
            /* an end of line in a literal string reads as \n */
            if (i + 1 < n && p[i + 1] == '\n')
                i++;
            st = buf_append_byte(out, '\n');
            continue;
        }
        if (c != '\\') {
            st = buf_append_byte(out, c);
            continue;
        }
        if (++i >= n)
            break;
        c = p[i];
        switch (c) {
        case 'n':
            st = buf_append_byte(out, '\n');
            break;
        case 'r':
            st = buf_append_byte(out, '\r');
            break;
        case 't':
            st = buf_append_byte(out, '\t');
            break;
        case 'b':
            st = buf_append_byte(out, '\b');
            break;
        case 'f':
            st = buf_append_byte(out, '\f');
            break;
        case '\r':
            if (i + 1 < n && p[i + 1] == '\n')
                i++;
            break; /* line continuation */
        case '\n':
            break;
        default:
            if (c >= '0' && c <= '7') {
                unsigned o = (unsigned)(c - '0');
                for (int k = 0; k < 2 && i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '7'; k++)
                    o = o * 8 + (unsigned)(p[++i] - '0');
                st = buf_append_byte(out, (uint8_t)o);
            } else {
                st = buf_append_byte(out, c); /* \( \) \\ and unknown escapes */
            }
        }
    }
    return st;
}

/* PDFDocEncoding bytes 0x80-0x9F that differ from Latin-1 (ISO 32000 D.2);
 * 0 = undefined. */
static const uint16_t pdfdoc_high[32] = {
    0x2022, 0x2020, 0x2021, 0x2026, 0x2014, 0x2013, 0x0192, 0x2044, 0x2039, 0x203A, 0x2212,
    0x2030, 0x201E, 0x201C, 0x201D, 0x2018, 0x2019, 0x201A, 0x2122, 0xFB01, 0xFB02, 0x0141,
    0x0152, 0x0160, 0x0178, 0x017D, 0x0131, 0x0142, 0x0153, 0x0161, 0x017E, 0};

static ecert_status put_utf8(struct buf *b, uint32_t cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80)
        u[0] = (uint8_t)cp, n = 1;
    else if (cp < 0x800)
        u[0] = (uint8_t)(0xC0 | cp >> 6), u[1] = (uint8_t)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        u[0] = (uint8_t)(0xE0 | cp >> 12), u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)),
        u[2] = (uint8_t)(0x80 | (cp & 0x3F)), n = 3;
    else
        u[0] = (uint8_t)(0xF0 | cp >> 18), u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F)),
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (uint8_t)(0x80 | (cp & 0x3F)), n = 4;
    return buf_append(b, u, n);
}

/* A PDF text string (UTF-16BE with BOM, UTF-8 with BOM, or PDFDocEncoding)
 * as UTF-8 in out[cap], cut and cleaned by verify_copy_text. */
static void text_string(const struct pv *v, char *out, size_t cap)
{
    out[0] = 0;
    if (!v || v->t != PV_STR)
        return;
    struct buf raw = BUF_INIT(TEXT_MAX), u = BUF_INIT(TEXT_MAX * 2);
    /* Past TEXT_MAX the string is cut: it is only shown. */
    (void)str_decode(v, &raw);
    if (raw.len == 0)
        goto done;
    const uint8_t *p = raw.data;
    size_t n = raw.len;
    if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF) {
        for (size_t i = 2; i + 1 < n; i += 2) {
            uint32_t cp = (uint32_t)p[i] << 8 | p[i + 1];
            if (cp >= 0xD800 && cp < 0xDC00 && i + 3 < n) {
                uint32_t lo = (uint32_t)p[i + 2] << 8 | p[i + 3];
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 2;
                }
            }
            if (cp >= 0xD800 && cp < 0xE000)
                cp = '?';
            if (put_utf8(&u, cp))
                break;
        }
    } else if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        buf_append(&u, p + 3, n - 3);
    } else {
        for (size_t i = 0; i < n; i++) {
            uint32_t cp = p[i];
            if (cp >= 0x80 && cp < 0xA0)
                cp = pdfdoc_high[cp - 0x80] ? pdfdoc_high[cp - 0x80] : '?';
            else if (cp == 0xAD)
                cp = '?';
            if (put_utf8(&u, cp))
                break;
        }
    }
    if (u.data)
        verify_copy_text(out, cap, (const char *)u.data, u.len);
done:
    buf_release(&raw);
    buf_release(&u);
}

/* =========================================================================
 * 3. the document
 * ========================================================================= */

struct objstm {
    uint8_t *data;
    size_t len, first;
    uint32_t n;
    uint32_t *nums;
    size_t *offs;
};

/* One cross-reference entry, with the value read through it cached. */
struct xent {
    uint32_t num;
    uint8_t type;           /* 0 free, 1 at an offset, 2 in an object stream */
    uint64_t f2;            /* offset, or the object stream's number */
    uint32_t f3;            /* generation, or the index in the object stream */
    bool busy;              /* being loaded: a reference back to it is a cycle */
    struct pv *val;
    const struct xent *via; /* the object stream entry `val` was read through */
    struct objstm *ostm;    /* decoded, when this object is an object stream */
};

struct xsec {
    size_t offset;
    struct xent *e;         /* sorted by num, unique */
    size_t n;
    struct pv *trailer;
    bool has_prev;
    size_t prev_off;
    int prev;               /* section index of /Prev, -1 when none or not loaded */
    int xrefstm;            /* hybrid file: the /XRefStm section, -1 */
};

struct eofmark {
    size_t end;             /* just after "%%EOF" */
    size_t xref;            /* its startxref value */
};

struct pdoc {
    const uint8_t *d;
    size_t len;
    struct arena ar;
    struct xsec secs[PDF_MAX_SECTIONS];
    size_t nsecs;
    size_t nentries;
    size_t tokens;
    size_t lexed;           /* bytes scanned: overlapping objects cannot multiply work */
    size_t compares;
    size_t inflated;
    int depth;              /* nested loads */
    size_t refscans;
    struct eofmark *eofs;
    size_t neofs;
    int final;              /* section index of the latest revision */
};

static ecert_status budget_token(struct pdoc *doc)
{
    if (++doc->tokens > TOKEN_BUDGET)
        return err_set(ECERT_E_TOO_LONG, "PDF: over %u tokens", TOKEN_BUDGET);
    return ECERT_OK;
}

/* Long tokens (strings, comments) and stream searches count by their bytes:
 * cross-reference entries may all point at one huge object. */
static ecert_status budget_bytes(struct pdoc *doc, size_t n)
{
    if (n > LEX_BUDGET - doc->lexed)
        return err_set(ECERT_E_TOO_LONG, "PDF: over %u bytes scanned", LEX_BUDGET);
    doc->lexed += n;
    return ECERT_OK;
}

static ecert_status parse_value(struct pdoc *doc, struct lex *l, bool in_file, int depth,
                                struct pv *out);

/* Items of an array or dictionary: collected in a heap vector, then moved
 * into the arena once their number is known. */
static ecert_status parse_container(struct pdoc *doc, struct lex *l, bool in_file, int depth,
                                    bool dict, struct pv *out)
{
    struct pv *vec = NULL;
    size_t n = 0, cap = 0;
    ecert_status st = ECERT_OK;
    for (;;) {
        size_t save = l->pos;
        struct token tk;
        if ((st = next_token(doc, l, &tk)))
            goto done;
        if (tk.t == (dict ? T_DCLOSE : T_ACLOSE))
            break;
        if (tk.t == T_EOF || tk.t == (dict ? T_ACLOSE : T_DCLOSE)) {
            st = err_set(ECERT_E_MALFORMED, "PDF: unterminated %s at %zu",
                         dict ? "dictionary" : "array", out->start);
            goto done;
        }
        if (dict && (n % 2 == 0) && tk.t != T_NAME) {
            st = err_set(ECERT_E_MALFORMED, "PDF: dictionary key is not a name at %zu", tk.start);
            goto done;
        }
        l->pos = save;
        if (n == cap) {
            if (cap >= CONTAINER_MAX) {
                st = err_set(ECERT_E_TOO_LONG, "PDF: container over %u items", CONTAINER_MAX);
                goto done;
            }
            size_t ncap = cap ? cap * 2 : 8;
            struct pv *p = realloc(vec, ncap * sizeof *p);
            if (!p) {
                st = err_set(ECERT_E_NOMEM, "out of memory");
                goto done;
            }
            vec = p;
            cap = ncap;
        }
        if ((st = parse_value(doc, l, in_file, depth + 1, &vec[n])))
            goto done;
        n++;
    }
    if (dict && n % 2) {
        st = err_set(ECERT_E_MALFORMED, "PDF: dictionary key without a value at %zu", out->start);
        goto done;
    }
    out->t = dict ? PV_DICT : PV_ARRAY;
    out->n = (uint32_t)(dict ? n / 2 : n);
    if (n) {
        out->items = arena_alloc(&doc->ar, n * sizeof *vec);
        if (!out->items) {
            st = err_set(ECERT_E_TOO_LONG, "PDF: parsed objects over the memory cap");
            goto done;
        }
        memcpy(out->items, vec, n * sizeof *vec);
    }
done:
    free(vec);
    return st;
}

static ecert_status parse_value(struct pdoc *doc, struct lex *l, bool in_file, int depth,
                                struct pv *out)
{
    if (depth > PDF_MAX_DEPTH)
        return err_set(ECERT_E_MALFORMED, "PDF: objects nested deeper than %d", PDF_MAX_DEPTH);
    memset(out, 0, sizeof *out);
    out->in_file = in_file;
    struct token tk;
    ecert_status st = next_token(doc, l, &tk);
    if (st)
        return st;
    out->start = tk.start;
    switch (tk.t) {
    case T_INT: {
        out->t = PV_INT;
        out->i = tk.i;
        out->raw = l->d + tk.start;
        out->rawlen = tk.end - tk.start;
        /* "num gen R" is a reference: look two tokens ahead. */
        if (tk.i >= 0 && tk.i <= UINT32_MAX) {
            size_t save = l->pos;
            struct token g, r;
            if ((st = next_token(doc, l, &g)))
                return st;
            if (g.t == T_INT && g.i >= 0 && g.i <= 65535) {
                if ((st = next_token(doc, l, &r)))
                    return st;
                if (tok_is(l, &r, "R")) {
                    out->t = PV_REF;
                    out->gen = (uint32_t)g.i;
                    out->end = r.end;
                    return ECERT_OK;
                }
            }
            l->pos = save;
        }
        break;
    }
    case T_REAL:
        out->t = PV_REAL;
        out->raw = l->d + tk.start;
        out->rawlen = tk.end - tk.start;
        break;
    case T_NAME:
        out->t = PV_NAME;
        out->raw = l->d + tk.start + 1;
        out->rawlen = tk.end - tk.start - 1;
        break;
    case T_STR:
    case T_HEX:
        out->t = PV_STR;
        out->hex = tk.t == T_HEX;
        out->raw = l->d + tk.start + 1;
        out->rawlen = tk.end - tk.start - 2;
        break;
    case T_AOPEN:
        if ((st = parse_container(doc, l, in_file, depth, false, out)))
            return st;
        break;
    case T_DOPEN:
        if ((st = parse_container(doc, l, in_file, depth, true, out)))
            return st;
        break;
    case T_KW:
        if (tok_is(l, &tk, "true") || tok_is(l, &tk, "false")) {
            out->t = PV_BOOL;
            out->i = tok_is(l, &tk, "true");
        } else if (tok_is(l, &tk, "null")) {
            out->t = PV_NULL;
        } else {
            return err_set(ECERT_E_MALFORMED, "PDF: unexpected keyword at %zu", tk.start);
        }
        break;
    default:
        return err_set(ECERT_E_MALFORMED, "PDF: unexpected token at %zu", tk.start);
    }
    out->end = l->pos;
    return ECERT_OK;
}

/* ---- dictionary access ------------------------------------------------------*/

static const struct pv *dict_get(const struct pv *d, const char *key)
{
    if (!d || d->t != PV_DICT)
        return NULL;
    for (uint32_t i = 0; i < d->n; i++)
        if (name_is(&d->items[2 * i], key))
            return &d->items[2 * i + 1];
    return NULL;
}

static size_t dict_count(const struct pv *d, const char *key)
{
    size_t c = 0;
    for (uint32_t i = 0; d && d->t == PV_DICT && i < d->n; i++)
        c += name_is(&d->items[2 * i], key);
    return c;
}

static bool get_int(const struct pv *v, int64_t *out)
{
    if (!v || v->t != PV_INT)
        return false;
    *out = v->i;
    return true;
}

/* ---- cross-reference lookup and object loading --------------------------------*/

static ecert_status get_object(struct pdoc *doc, int rev, uint32_t num, const struct pv **out);

static struct xent *sec_find(const struct xsec *s, uint32_t num)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->e[mid].num < num)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < s->n && s->e[lo].num == num) ? &s->e[lo] : NULL;
}

/* The entry for `num` in revision `rev` (a section index): the newest
 * section of its /Prev chain that has one. NULL when none does. */
static struct xent *lookup(const struct pdoc *doc, int rev, uint32_t num)
{
    for (size_t steps = 0; rev >= 0 && steps <= PDF_MAX_SECTIONS; steps++) {
        const struct xsec *s = &doc->secs[rev];
        struct xent *e = sec_find(s, num);
        if (!e && s->xrefstm >= 0)
            e = sec_find(&doc->secs[s->xrefstm], num);
        if (e)
            return e;
        rev = s->prev;
    }
    return NULL;
}

/* Where the stream data of a dictionary that ends at `pos` starts, and how
 * long it is. /Length is trusted when "endstream" follows it; otherwise the
 * data runs to the next "endstream" (as PDF readers do). */
static ecert_status stream_extent(struct pdoc *doc, int rev, const struct pv *dict, size_t pos,
                                  size_t *start, size_t *len)
{
    const uint8_t *d = doc->d;
    if (pos < doc->len && d[pos] == '\r')
        pos++;
    if (pos < doc->len && d[pos] == '\n')
        pos++;
    *start = pos;
    int64_t n = -1;
    const struct pv *lv = dict_get(dict, "Length");
    if (lv && lv->t == PV_INT) {
        n = lv->i;
    } else if (lv && lv->t == PV_REF && rev >= 0) {
        const struct pv *r = NULL;
        if (get_object(doc, rev, (uint32_t)lv->i, &r) == ECERT_OK && r && r->t == PV_INT)
            n = r->i;
        err_clear();
    }
    if (n >= 0 && (uint64_t)n <= doc->len - pos) {
        size_t e = pos + (size_t)n;
        while (e < doc->len && is_ws(d[e]) && e - (pos + (size_t)n) < 4)
            e++;
        if (doc->len - e >= 9 && memcmp(d + e, "endstream", 9) == 0) {
            *len = (size_t)n;
            return ECERT_OK;
        }
    }
    const uint8_t *es = memmem(d + pos, doc->len - pos, "endstream", 9);
    if (!es) {
        ecert_status bst = budget_bytes(doc, doc->len - pos);
        return bst ? bst : err_set(ECERT_E_MALFORMED, "PDF: stream at %zu without endstream", pos);
    }
    size_t e = (size_t)(es - d);
    ecert_status st = budget_bytes(doc, e - pos);
    if (st)
        return st;
    if (e > pos && d[e - 1] == '\n')
        e--;
    if (e > pos && d[e - 1] == '\r')
        e--;
    *len = e - pos;
    return ECERT_OK;
}

/* "num gen obj value [stream]" at a file offset. */
static ecert_status parse_indirect(struct pdoc *doc, int rev, size_t off, int64_t want,
                                   struct pv **out)
{
    if (off >= doc->len)
        return err_set(ECERT_E_MALFORMED, "PDF: object offset %zu past the end", off);
    struct lex l = {doc->d, doc->len, off};
    struct token a, b, c;
    ecert_status st;
    if ((st = next_token(doc, &l, &a)) || (st = next_token(doc, &l, &b)) ||
        (st = next_token(doc, &l, &c)))
        return st;
    if (a.t != T_INT || b.t != T_INT || !tok_is(&l, &c, "obj") || (want >= 0 && a.i != want))
        return err_set(ECERT_E_MALFORMED, "PDF: no object %lld at offset %zu", (long long)want,
                       off);
    struct pv *v = arena_alloc(&doc->ar, sizeof *v);
    if (!v)
        return err_set(ECERT_E_TOO_LONG, "PDF: parsed objects over the memory cap");
    if ((st = parse_value(doc, &l, true, 0, v)))
        return st;
    size_t save = l.pos;
    struct token k;
    if ((st = next_token(doc, &l, &k)))
        return st;
    if (tok_is(&l, &k, "stream")) {
        if (v->t != PV_DICT)
            return err_set(ECERT_E_MALFORMED, "PDF: stream without a dictionary at %zu", off);
        size_t start = 0, len = 0;
        if ((st = stream_extent(doc, rev, v, k.end, &start, &len)))
            return st;
        v->is_stream = true;
        v->stream = doc->d + start;
        v->stream_len = len;
    } else {
        l.pos = save;
    }
    *out = v;
    return ECERT_OK;
}

/* The decoded data of a stream: Flate with PNG predictors, or no filter.
 * *owned is set when *data must be freed. */
static ecert_status stream_decode(struct pdoc *doc, const struct pv *v, const uint8_t **data,
                                  size_t *len, uint8_t **owned)
{
    *owned = NULL;
    const struct pv *f = dict_get(v, "Filter");
    const struct pv *parms = dict_get(v, "DecodeParms");
    if (f && f->t == PV_ARRAY) {
        if (f->n == 0) {
            f = NULL;
        } else if (f->n == 1) {
            f = &f->items[0];
            if (parms && parms->t == PV_ARRAY)
                parms = parms->n ? &parms->items[0] : NULL;
        } else {
            return err_set(ECERT_E_MALFORMED, "PDF: chained stream filters are not supported");
        }
    }
    if (!f) {
        *data = v->stream;
        *len = v->stream_len;
        return ECERT_OK;
    }
    if (!name_is(f, "FlateDecode"))
        return err_set(ECERT_E_MALFORMED, "PDF: stream filter not supported here");
    size_t room = PDF_MAX_INFLATE - doc->inflated;
    uint8_t *out;
    size_t n;
    ecert_status st = zinflate(v->stream, v->stream_len, room, &out, &n);
    if (st)
        return st;
    doc->inflated += n;
    int64_t pred = 1, colors = 1, bpc = 8, columns = 1;
    if (parms && parms->t == PV_DICT) {
        get_int(dict_get(parms, "Predictor"), &pred);
        get_int(dict_get(parms, "Colors"), &colors);
        get_int(dict_get(parms, "BitsPerComponent"), &bpc);
        get_int(dict_get(parms, "Columns"), &columns);
    }
    if (pred >= 10) {
        if (colors < 1 || colors > 32 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 &&
                                          bpc != 16) || columns < 1 || columns > 1000000) {
            free(out);
            return err_set(ECERT_E_MALFORMED, "PDF: bad predictor parameters");
        }
        size_t bits = (size_t)(colors * bpc);
        size_t bpp = bits / 8 ? bits / 8 : 1;
        size_t rowlen = ((size_t)columns * bits + 7) / 8;
        if ((st = png_unpredict(out, n, rowlen, bpp, &n))) {
            free(out);
            return st;
        }
    } else if (pred != 1) {
        free(out);
        return err_set(ECERT_E_MALFORMED, "PDF: predictor %lld not supported", (long long)pred);
    }
    *data = out;
    *len = n;
    *owned = out;
    return ECERT_OK;
}

static ecert_status load_objstm(struct pdoc *doc, struct xent *c, const struct pv *v)
{
    if (!v->is_stream || !name_is(dict_get(v, "Type"), "ObjStm"))
        return err_set(ECERT_E_MALFORMED, "PDF: object %u is not an object stream", c->num);
    int64_t n, first;
    if (!get_int(dict_get(v, "N"), &n) || !get_int(dict_get(v, "First"), &first) || n < 0 ||
        n > OBJSTM_MAX_OBJECTS || first < 0)
        return err_set(ECERT_E_MALFORMED, "PDF: object stream %u: bad /N or /First", c->num);
    const uint8_t *data;
    size_t len;
    uint8_t *owned;
    ecert_status st = stream_decode(doc, v, &data, &len, &owned);
    if (st)
        return st;
    struct objstm *o = calloc(1, sizeof *o);
    if (!o) {
        free(owned);
        return err_set(ECERT_E_NOMEM, "out of memory");
    }
    if (!owned) {
        owned = malloc(len ? len : 1);
        if (!owned) {
            free(o);
            return err_set(ECERT_E_NOMEM, "out of memory");
        }
        memcpy(owned, data, len);
    }
    o->data = owned;
    o->len = len;
    o->first = (size_t)first;
    o->n = (uint32_t)n;
    o->nums = calloc((size_t)n + 1, sizeof *o->nums);
    o->offs = calloc((size_t)n + 1, sizeof *o->offs);
    c->ostm = o; /* owned by the entry from here on (freed with the document) */
    if (!o->nums || !o->offs)
        return err_set(ECERT_E_NOMEM, "out of memory");
    if (o->first > len)
        return err_set(ECERT_E_MALFORMED, "PDF: object stream %u: /First past the data", c->num);
    struct lex l = {o->data, o->first, 0};
    for (uint32_t i = 0; i < o->n; i++) {
        struct token a, b;
        if ((st = next_token(doc, &l, &a)) || (st = next_token(doc, &l, &b)))
            return st;
        if (a.t != T_INT || b.t != T_INT || a.i < 0 || a.i > UINT32_MAX || b.i < 0 ||
            (uint64_t)b.i > len - o->first)
            return err_set(ECERT_E_MALFORMED, "PDF: object stream %u: bad header", c->num);
        o->nums[i] = (uint32_t)a.i;
        o->offs[i] = o->first + (size_t)b.i;
    }
    return ECERT_OK;
}

/* Reads the value an entry points to, in revision `rev`. */
static ecert_status load_entry(struct pdoc *doc, int rev, struct xent *e, const struct pv **out)
{
    *out = NULL;
    if (e->type == 0)
        return ECERT_OK;
    if (e->busy)
        return err_set(ECERT_E_MALFORMED, "PDF: object %u refers to itself while loading", e->num);
    if (doc->depth >= LOAD_MAX_DEPTH)
        return err_set(ECERT_E_MALFORMED, "PDF: object loads nested too deep");
    struct xent *via = NULL;
    if (e->type == 2) {
        if (e->f2 > UINT32_MAX || e->f2 == e->num)
            return err_set(ECERT_E_MALFORMED, "PDF: object %u: bad object stream", e->num);
        via = lookup(doc, rev, (uint32_t)e->f2);
        if (!via || via->type != 1)
            return err_set(ECERT_E_MALFORMED, "PDF: object stream %llu of object %u not found",
                           (unsigned long long)e->f2, e->num);
    }
    if (e->val && e->via == via) {
        *out = e->val;
        return ECERT_OK;
    }
    ecert_status st = ECERT_OK;
    e->busy = true;
    doc->depth++;
    struct pv *v = NULL;
    if (e->type == 1) {
        if (e->f2 >= doc->len)
            st = err_set(ECERT_E_MALFORMED, "PDF: object %u offset past the end", e->num);
        else
            st = parse_indirect(doc, rev, (size_t)e->f2, e->num, &v);
    } else {
        const struct pv *cv = NULL;
        if (!via->ostm) {
            st = load_entry(doc, rev, via, &cv);
            if (!st && !cv)
                st = err_set(ECERT_E_MALFORMED, "PDF: object stream %u is free", via->num);
            if (!st)
                st = load_objstm(doc, via, cv);
        }
        const struct objstm *o = via->ostm;
        if (!st && (e->f3 >= o->n || o->nums[e->f3] != e->num))
            st = err_set(ECERT_E_MALFORMED, "PDF: object %u not at its place in stream %u",
                         e->num, via->num);
        if (!st) {
            size_t end = e->f3 + 1 < o->n && o->offs[e->f3 + 1] > o->offs[e->f3]
                             ? o->offs[e->f3 + 1]
                             : o->len;
            struct lex l = {o->data, end, o->offs[e->f3]};
            v = arena_alloc(&doc->ar, sizeof *v);
            if (!v)
                st = err_set(ECERT_E_TOO_LONG, "PDF: parsed objects over the memory cap");
            else
                st = parse_value(doc, &l, false, 0, v);
        }
    }
    doc->depth--;
    e->busy = false;
    if (st)
        return st;
    e->val = v;
    e->via = via;
    *out = v;
    return ECERT_OK;
}

static ecert_status get_object(struct pdoc *doc, int rev, uint32_t num, const struct pv **out)
{
    *out = NULL;
    struct xent *e = lookup(doc, rev, num);
    if (!e)
        return ECERT_OK;
    return load_entry(doc, rev, e, out);
}

/* Follows a reference (one level); a direct value is returned as is. A
 * missing object reads as NULL (PDF's null). */
static ecert_status resolve(struct pdoc *doc, int rev, const struct pv *v, const struct pv **out)
{
    *out = v;
    if (v && v->t == PV_REF)
        return get_object(doc, rev, (uint32_t)v->i, out);
    return ECERT_OK;
}

/* ---- cross-reference sections -----------------------------------------------------*/

static int cmp_xent(const void *a, const void *b)
{
    const struct xent *x = a, *y = b;
    if (x->num != y->num)
        return x->num < y->num ? -1 : 1;
    /* equal numbers: keep file order (the first one written wins) */
    return x < y ? -1 : x > y;
}

/* Sorts and drops duplicate numbers (the first of each is kept). */
static void sec_finish(struct xsec *s)
{
    if (s->n == 0)
        return;
    qsort(s->e, s->n, sizeof *s->e, cmp_xent);
    size_t o = 1;
    for (size_t i = 1; i < s->n; i++)
        if (s->e[i].num != s->e[o - 1].num)
            s->e[o++] = s->e[i];
    s->n = o;
}

static ecert_status sec_push(struct pdoc *doc, struct xsec *s, size_t *cap, uint32_t num,
                             uint8_t type, uint64_t f2, uint32_t f3)
{
    if (doc->nentries >= PDF_MAX_OBJECTS)
        return err_set(ECERT_E_TOO_LONG, "PDF: over %u cross-reference entries", PDF_MAX_OBJECTS);
    if (s->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct xent *p = realloc(s->e, ncap * sizeof *p);
        if (!p)
            return err_set(ECERT_E_NOMEM, "out of memory");
        s->e = p;
        *cap = ncap;
    }
    memset(&s->e[s->n], 0, sizeof s->e[s->n]);
    s->e[s->n].num = num;
    s->e[s->n].type = type;
    s->e[s->n].f2 = f2;
    s->e[s->n].f3 = f3;
    s->n++;
    doc->nentries++;
    return ECERT_OK;
}

static ecert_status parse_xref_table(struct pdoc *doc, struct lex *l, struct xsec *s)
{
    size_t cap = 0;
    ecert_status st;
    for (;;) {
        struct token a, b;
        if ((st = next_token(doc, l, &a)))
            return st;
        if (tok_is(l, &a, "trailer"))
            break;
        if ((st = next_token(doc, l, &b)))
            return st;
        if (a.t != T_INT || b.t != T_INT || a.i < 0 || b.i < 0 || a.i > UINT32_MAX ||
            b.i > PDF_MAX_OBJECTS || a.i + b.i > (int64_t)UINT32_MAX + 1)
            return err_set(ECERT_E_MALFORMED, "PDF: bad cross-reference subsection at %zu",
                           a.start);
        for (int64_t i = 0; i < b.i; i++) {
            struct token off, gen, kind;
            if ((st = next_token(doc, l, &off)) || (st = next_token(doc, l, &gen)) ||
                (st = next_token(doc, l, &kind)))
                return st;
            bool used = tok_is(l, &kind, "n");
            if (off.t != T_INT || gen.t != T_INT || off.i < 0 || gen.i < 0 || gen.i > 65535 ||
                (!used && !tok_is(l, &kind, "f")))
                return err_set(ECERT_E_MALFORMED, "PDF: bad cross-reference entry at %zu",
                               off.start);
            if ((st = sec_push(doc, s, &cap, (uint32_t)(a.i + i), used ? 1 : 0, (uint64_t)off.i,
                               (uint32_t)gen.i)))
                return st;
        }
    }
    s->trailer = arena_alloc(&doc->ar, sizeof *s->trailer);
    if (!s->trailer)
        return err_set(ECERT_E_TOO_LONG, "PDF: parsed objects over the memory cap");
    if ((st = parse_value(doc, l, true, 0, s->trailer)))
        return st;
    if (s->trailer->t != PV_DICT)
        return err_set(ECERT_E_MALFORMED, "PDF: trailer is not a dictionary");
    return ECERT_OK;
}

static uint64_t be_field(const uint8_t *p, int64_t w)
{
    uint64_t v = 0;
    for (int64_t i = 0; i < w; i++)
        v = v << 8 | p[i];
    return v;
}

static ecert_status parse_xref_stream(struct pdoc *doc, size_t off, struct xsec *s)
{
    struct pv *v;
    /* rev -1: a cross-reference stream's /Length must be direct (ISO 32000
     * 7.5.8.2); otherwise the data runs to "endstream". */
    ecert_status st = parse_indirect(doc, -1, off, -1, &v);
    if (st)
        return st;
    if (!v->is_stream || !name_is(dict_get(v, "Type"), "XRef"))
        return err_set(ECERT_E_MALFORMED, "PDF: no cross-reference at offset %zu", off);
    s->trailer = v;
    const struct pv *w = dict_get(v, "W");
    int64_t W[3], size;
    if (!w || w->t != PV_ARRAY || w->n != 3 || !get_int(dict_get(v, "Size"), &size) || size < 0 ||
        size > (int64_t)UINT32_MAX)
        return err_set(ECERT_E_MALFORMED, "PDF: cross-reference stream: bad /W or /Size");
    for (int i = 0; i < 3; i++)
        if (!get_int(&w->items[i], &W[i]) || W[i] < 0 || W[i] > 8)
            return err_set(ECERT_E_MALFORMED, "PDF: cross-reference stream: bad /W");
    size_t row = (size_t)(W[0] + W[1] + W[2]);
    if (row == 0)
        return err_set(ECERT_E_MALFORMED, "PDF: cross-reference stream: empty /W");
    const uint8_t *data;
    size_t len;
    uint8_t *owned;
    if ((st = stream_decode(doc, v, &data, &len, &owned)))
        return st;
    const struct pv *index = dict_get(v, "Index");
    int64_t def[2] = {0, size};
    size_t nranges = 1, cap = 0, pos = 0;
    if (index) {
        if (index->t != PV_ARRAY || index->n % 2 || index->n == 0) {
            free(owned);
            return err_set(ECERT_E_MALFORMED, "PDF: cross-reference stream: bad /Index");
        }
        nranges = index->n / 2;
    }
    for (size_t r = 0; r < nranges && !st; r++) {
        int64_t first = def[0], count = def[1];
        if (index && (!get_int(&index->items[2 * r], &first) ||
                      !get_int(&index->items[2 * r + 1], &count))) {
            st = err_set(ECERT_E_MALFORMED, "PDF: cross-reference stream: bad /Index");
            break;
        }
        if (first < 0 || count < 0 || first + count > (int64_t)UINT32_MAX + 1 ||
            (uint64_t)count > (len - pos) / row) {
            st = err_set(ECERT_E_MALFORMED, "PDF: cross-reference stream: /Index past the data");
            break;
        }
        for (int64_t i = 0; i < count && !st; i++, pos += row) {
            const uint8_t *p = data + pos;
            uint64_t type = W[0] ? be_field(p, W[0]) : 1;
            uint64_t f2 = be_field(p + W[0], W[1]);
            uint64_t f3 = be_field(p + W[0] + W[1], W[2]);
            if (type > 2)
                continue; /* unknown types read as null (ISO 32000 7.5.8.3) */
            if (f3 > UINT32_MAX) {
                st = err_set(ECERT_E_MALFORMED, "PDF: cross-reference stream: bad entry");
                break;
            }
            st = sec_push(doc, s, &cap, (uint32_t)(first + i), (uint8_t)type, f2, (uint32_t)f3);
        }
    }
    free(owned);
    return st;
}

static int find_section(const struct pdoc *doc, size_t off)
{
    for (size_t i = 0; i < doc->nsecs; i++)
        if (doc->secs[i].offset == off)
            return (int)i;
    return -1;
}

/* Loads the one section at `off` (its /Prev is not followed here). */
static ecert_status load_section(struct pdoc *doc, size_t off, bool allow_hybrid, int *out)
{
    int found = find_section(doc, off);
    if (found >= 0) {
        *out = found;
        return ECERT_OK;
    }
    if (doc->nsecs >= PDF_MAX_SECTIONS)
        return err_set(ECERT_E_TOO_LONG, "PDF: over %d cross-reference sections",
                       PDF_MAX_SECTIONS);
    if (off >= doc->len)
        return err_set(ECERT_E_MALFORMED, "PDF: startxref %zu past the end", off);
    struct xsec *s = &doc->secs[doc->nsecs];
    memset(s, 0, sizeof *s);
    s->offset = off;
    s->prev = -1;
    s->xrefstm = -1;
    doc->nsecs++;
    /* Some writers point startxref at the whitespace before "xref". */
    struct lex l = {doc->d, doc->len, off};
    skip_ws(&l);
    struct token tk;
    size_t save = l.pos;
    ecert_status st = next_token(doc, &l, &tk);
    if (st)
        return st;
    if (tok_is(&l, &tk, "xref")) {
        st = parse_xref_table(doc, &l, s);
    } else if (tk.t == T_INT) {
        st = parse_xref_stream(doc, save, s);
    } else {
        st = err_set(ECERT_E_MALFORMED, "PDF: no cross-reference at offset %zu", off);
    }
    if (st)
        return st;
    sec_finish(s);
    int64_t prev;
    if (get_int(dict_get(s->trailer, "Prev"), &prev)) {
        if (prev < 0 || (uint64_t)prev >= doc->len)
            return err_set(ECERT_E_MALFORMED, "PDF: /Prev %lld out of the file", (long long)prev);
        s->has_prev = true;
        s->prev_off = (size_t)prev;
    }
    int64_t xs;
    int me = (int)(s - doc->secs);
    if (allow_hybrid && get_int(dict_get(s->trailer, "XRefStm"), &xs)) {
        int idx;
        if (xs < 0 || (uint64_t)xs >= doc->len)
            return err_set(ECERT_E_MALFORMED, "PDF: /XRefStm out of the file");
        if ((st = load_section(doc, (size_t)xs, false, &idx)))
            return st;
        doc->secs[me].xrefstm = idx;
    }
    *out = me;
    return ECERT_OK;
}

/* Loads the section at `off` and its whole /Prev chain; *out = the newest. */
static ecert_status load_chain(struct pdoc *doc, size_t off, int *out)
{
    int cur;
    ecert_status st = load_section(doc, off, true, &cur);
    if (st)
        return st;
    *out = cur;
    for (size_t steps = 0; doc->secs[cur].has_prev; steps++) {
        if (steps > PDF_MAX_SECTIONS)
            return err_set(ECERT_E_MALFORMED, "PDF: /Prev chain loops");
        if (doc->secs[cur].prev >= 0) {
            cur = doc->secs[cur].prev;
            continue;
        }
        int p;
        if ((st = load_section(doc, doc->secs[cur].prev_off, true, &p)))
            return st;
        if (p == cur)
            return err_set(ECERT_E_MALFORMED, "PDF: /Prev points to itself");
        doc->secs[cur].prev = p;
        cur = p;
    }
    /* A chain that comes back to a section already on it would loop. */
    size_t n = 0;
    for (int s = *out; s >= 0; s = doc->secs[s].prev)
        if (++n > doc->nsecs)
            return err_set(ECERT_E_MALFORMED, "PDF: /Prev chain loops");
    return ECERT_OK;
}

/* Every "startxref N %%EOF": the ends of the file's revisions. */
static ecert_status find_eofs(struct pdoc *doc)
{
    size_t cap = 0;
    const uint8_t *d = doc->d;
    for (size_t pos = 0; pos + 5 <= doc->len;) {
        const uint8_t *p = memmem(d + pos, doc->len - pos, "%%EOF", 5);
        if (!p)
            break;
        size_t at = (size_t)(p - d);
        pos = at + 5;
        /* "startxref" EOL digits EOL "%%EOF", within a few dozen bytes */
        size_t from = at > 64 ? at - 64 : 0;
        const uint8_t *sx = NULL;
        for (const uint8_t *q = d + from; (q = memmem(q, (size_t)(d + at - q), "startxref", 9));
             q++)
            sx = q;
        if (!sx)
            continue;
        struct lex l = {d, at, (size_t)(sx - d) + 9};
        struct token tk;
        ecert_status st = next_token(doc, &l, &tk);
        if (st)
            return st;
        if (tk.t != T_INT || tk.i < 0)
            continue;
        if (doc->neofs == cap) {
            if (cap >= 4096)
                return err_set(ECERT_E_TOO_LONG, "PDF: too many %%%%EOF markers");
            size_t ncap = cap ? cap * 2 : 8;
            struct eofmark *m = realloc(doc->eofs, ncap * sizeof *m);
            if (!m)
                return err_set(ECERT_E_NOMEM, "out of memory");
            doc->eofs = m;
            cap = ncap;
        }
        doc->eofs[doc->neofs].end = pos;
        doc->eofs[doc->neofs].xref = (size_t)tk.i;
        doc->neofs++;
    }
    return ECERT_OK;
}

static void doc_free(struct pdoc *doc)
{
    for (size_t i = 0; i < doc->nsecs; i++) {
        struct xsec *s = &doc->secs[i];
        for (size_t j = 0; j < s->n; j++) {
            struct objstm *o = s->e[j].ostm;
            if (o) {
                free(o->data);
                free(o->nums);
                free(o->offs);
                free(o);
            }
        }
        free(s->e);
    }
    free(doc->eofs);
    arena_release(&doc->ar);
}

static ecert_status doc_open(struct pdoc *doc, const uint8_t *file, size_t len)
{
    memset(doc, 0, sizeof *doc);
    doc->d = file;
    doc->len = len;
    doc->final = -1;
    arena_init(&doc->ar, ARENA_MAX);
    if (len > PDF_MAX_FILE)
        return err_set(ECERT_E_TOO_LONG, "PDF: %zu bytes, at most %u", len, PDF_MAX_FILE);
    size_t lim = len < 1024 ? len : 1024;
    if (lim < 5 || !memmem(file, lim, "%PDF-", 5))
        return err_set(ECERT_E_MALFORMED, "not a PDF (no %%PDF- header)");
    ecert_status st = find_eofs(doc);
    if (st)
        return st;
    /* The latest revision: the last %%EOF whose cross-reference loads. */
    for (size_t i = doc->neofs; i-- > 0;) {
        int idx;
        st = load_chain(doc, doc->eofs[i].xref, &idx);
        if (!st) {
            doc->final = idx;
            return ECERT_OK;
        }
        /* a linearized file's first %%EOF has "startxref 0": not an error */
        if (i == 0)
            return st;
    }
    return err_set(ECERT_E_MALFORMED, "PDF: no startxref / %%%%EOF");
}

/* =========================================================================
 * 4. signature discovery
 * ========================================================================= */

/* A set of object numbers (open addressing); visited fields, scan results. */
struct numset {
    uint32_t *v; /* stores num + 1; 0 = empty */
    size_t cap, n;
};

static ecert_status numset_add(struct numset *s, uint32_t num, bool *added)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        uint32_t *nv = calloc(ncap, sizeof *nv);
        if (!nv)
            return err_set(ECERT_E_NOMEM, "out of memory");
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->v[i])
                continue;
            size_t h = (s->v[i] * 2654435761u) & (ncap - 1);
            while (nv[h])
                h = (h + 1) & (ncap - 1);
            nv[h] = s->v[i];
        }
        free(s->v);
        s->v = nv;
        s->cap = ncap;
    }
    uint32_t key = num + 1;
    size_t h = (key * 2654435761u) & (s->cap - 1);
    while (s->v[h]) {
        if (s->v[h] == key) {
            if (added)
                *added = false;
            return ECERT_OK;
        }
        h = (h + 1) & (s->cap - 1);
    }
    s->v[h] = key;
    s->n++;
    if (added)
        *added = true;
    return ECERT_OK;
}

static bool numset_has(const struct numset *s, uint32_t num)
{
    if (!s->cap || num == UINT32_MAX)
        return false;
    uint32_t key = num + 1;
    size_t h = (key * 2654435761u) & (s->cap - 1);
    while (s->v[h]) {
        if (s->v[h] == key)
            return true;
        h = (h + 1) & (s->cap - 1);
    }
    return false;
}

/* "D:YYYYMMDDHHmmSSOHH'mm'" (parts after the year optional) -> ISO UTC. */
static void pdf_date(const struct pv *v, char out[32])
{
    out[0] = 0;
    if (!v || v->t != PV_STR)
        return;
    struct buf b = BUF_INIT(64);
    (void)str_decode(v, &b);
    const char *s = b.data ? (const char *)b.data : "";
    size_t n = b.len, i = 0;
    if (n >= 2 && s[0] == 'D' && s[1] == ':')
        i = 2;
    char gt[32];
    static const char defaults[] = "0101000000";
    size_t g = 0, digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 14)
        gt[g++] = s[i++], digits++;
    if (digits < 4 || digits % 2) {
        buf_release(&b);
        return;
    }
    for (size_t k = digits - 4; k < 10; k++)
        gt[g++] = defaults[k];
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        gt[g++] = s[i++];
        size_t od = 0;
        while (i < n && od < 4) {
            if (s[i] >= '0' && s[i] <= '9')
                gt[g++] = s[i], od++;
            else if (s[i] != '\'')
                break;
            i++;
        }
        while (od < 4)
            gt[g++] = '0', od++;
    } else {
        gt[g++] = 'Z';
    }
    struct der t = {(const uint8_t *)gt, g};
    if (cms_time(0x18, &t, out, NULL))
        out[0] = 0;
    err_clear();
    buf_release(&b);
}

static void name_text(const struct pv *v, char *out, size_t cap)
{
    char tmp[256];
    out[0] = 0;
    if (v && v->t == PV_NAME && name_decode(v, tmp, sizeof tmp))
        verify_copy_text(out, cap, tmp, strlen(tmp));
}

/* Fills a pdf_sig from a signature dictionary. Problems that make the
 * signature unusable are recorded in s->problem, not returned. */
static ecert_status read_sig_dict(struct pdoc *doc, int rev, const struct pv *d, struct pdf_sig *s)
{
    ecert_status st;
    name_text(dict_get(d, "Type"), s->type, sizeof s->type);
    name_text(dict_get(d, "SubFilter"), s->sub_filter, sizeof s->sub_filter);
    pdf_date(dict_get(d, "M"), s->m);
    text_string(dict_get(d, "Reason"), s->reason, sizeof s->reason);
    text_string(dict_get(d, "Name"), s->name, sizeof s->name);
    text_string(dict_get(d, "Location"), s->location, sizeof s->location);

    /* Two /ByteRange or /Contents keys would let readers disagree on which
     * bytes are signed. */
    if (dict_count(d, "ByteRange") > 1 || dict_count(d, "Contents") > 1) {
        snprintf(s->problem, sizeof s->problem, "duplicate /ByteRange or /Contents");
        return ECERT_OK;
    }
    const struct pv *br = NULL;
    if ((st = resolve(doc, rev, dict_get(d, "ByteRange"), &br)))
        return st;
    if (br && br->t == PV_ARRAY && br->n == 4) {
        s->byte_range_ok = true;
        for (int i = 0; i < 4; i++) {
            if (br->items[i].t != PV_INT || br->items[i].i < 0)
                s->byte_range_ok = false;
            else
                s->byte_range[i] = (uint64_t)br->items[i].i;
        }
    }
    bool placeholder = false;
    for (uint32_t i = 0; br && br->t == PV_ARRAY && i < br->n; i++)
        placeholder |= br->items[i].t == PV_NAME;
    const struct pv *c = dict_get(d, "Contents");
    if (!c || c->t != PV_STR || !c->in_file) {
        snprintf(s->problem, sizeof s->problem,
                 "/Contents is not a string written directly in the file");
        return ECERT_OK;
    }
    s->contents_start = c->start;
    s->contents_end = c->end;
    struct buf b = BUF_INIT(CONTENTS_MAX);
    st = str_decode(c, &b);
    if (st == ECERT_E_TOO_LONG) {
        buf_release(&b);
        snprintf(s->problem, sizeof s->problem, "/Contents over %u bytes", CONTENTS_MAX);
        err_clear();
        return ECERT_OK;
    }
    if (st) {
        buf_release(&b);
        return st;
    }
    bool zero = true;
    for (size_t i = 0; i < b.len && zero; i++)
        zero = b.data[i] == 0;
    if (b.len) {
        size_t len;
        if ((st = buf_detach(&b, (char **)&s->contents, &len)))
            return st;
        s->contents_len = len;
    }
    buf_release(&b);
    if (zero || placeholder) {
        snprintf(s->problem, sizeof s->problem,
                 "never signed: %s", zero ? "/Contents is an all-zero placeholder"
                                          : "/ByteRange is an unfilled placeholder");
        return ECERT_OK;
    }
    if (!s->byte_range_ok) {
        snprintf(s->problem, sizeof s->problem, "/ByteRange is not four non-negative integers");
        return ECERT_OK;
    }
    /* DocMDP: /Reference [<< /TransformMethod /DocMDP /TransformParams << /P n >> >>] */
    const struct pv *refs = NULL;
    if ((st = resolve(doc, rev, dict_get(d, "Reference"), &refs)))
        return st;
    for (uint32_t i = 0; refs && refs->t == PV_ARRAY && i < refs->n && i < 16; i++) {
        const struct pv *r = NULL, *tp = NULL;
        if ((st = resolve(doc, rev, &refs->items[i], &r)))
            return st;
        if (!name_is(dict_get(r, "TransformMethod"), "DocMDP"))
            continue;
        if ((st = resolve(doc, rev, dict_get(r, "TransformParams"), &tp)))
            return st;
        int64_t p = 2;
        get_int(dict_get(tp, "P"), &p);
        s->docmdp = (p >= 1 && p <= 3) ? (int)p : 2;
    }
    return ECERT_OK;
}

struct walk {
    struct pdoc *doc;
    int rev;
    struct numset seen;      /* field objects visited */
    struct numset sigobjs;   /* signature dictionaries found */
    size_t nodes;
    struct pdf_sig_list *out;
    size_t cap;
};

static ecert_status add_sig(struct walk *w, const struct pv *field, const char *fname,
                            const struct pv *vref)
{
    const struct pv *d = NULL;
    ecert_status st = resolve(w->doc, w->rev, vref, &d);
    if (st)
        return st;
    if (!d || d->t != PV_DICT)
        return ECERT_OK; /* /V of a signature field must be a dictionary; ignore others */
    if (vref->t == PV_REF) {
        bool added;
        if ((st = numset_add(&w->sigobjs, (uint32_t)vref->i, &added)))
            return st;
        if (!added)
            return ECERT_OK; /* two widgets of one signature */
    }
    if (w->out->n >= PDF_MAX_SIGNATURES)
        return err_set(ECERT_E_TOO_LONG, "PDF: over %d signatures", PDF_MAX_SIGNATURES);
    if (w->out->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 4;
        struct pdf_sig *p = realloc(w->out->sigs, ncap * sizeof *p);
        if (!p)
            return err_set(ECERT_E_NOMEM, "out of memory");
        w->out->sigs = p;
        w->cap = ncap;
    }
    struct pdf_sig *s = &w->out->sigs[w->out->n++];
    memset(s, 0, sizeof *s);
    s->obj = vref->t == PV_REF ? (uint32_t)vref->i : 0;
    verify_copy_text(s->field, sizeof s->field, fname, strlen(fname));
    (void)field;
    return read_sig_dict(w->doc, w->rev, d, s);
}

static ecert_status walk_fields(struct walk *w, const struct pv *kids, int depth, bool sig_parent,
                                const char *parent_name)
{
    if (depth > FIELD_MAX_DEPTH)
        return err_set(ECERT_E_MALFORMED, "PDF: form fields nested deeper than %d",
                       FIELD_MAX_DEPTH);
    const struct pv *arr = NULL;
    ecert_status st = resolve(w->doc, w->rev, kids, &arr);
    if (st)
        return st;
    if (!arr || arr->t != PV_ARRAY)
        return ECERT_OK;
    for (uint32_t i = 0; i < arr->n; i++) {
        const struct pv *ref = &arr->items[i], *f = NULL;
        if (ref->t == PV_REF) {
            bool added;
            if ((st = numset_add(&w->seen, (uint32_t)ref->i, &added)))
                return st;
            if (!added)
                continue; /* a field listed twice, or a cycle */
        }
        if (++w->nodes > FIELD_MAX_NODES)
            return err_set(ECERT_E_TOO_LONG, "PDF: over %u form fields", FIELD_MAX_NODES);
        if ((st = resolve(w->doc, w->rev, ref, &f)))
            return st;
        if (!f || f->t != PV_DICT)
            continue;
        const struct pv *ft = dict_get(f, "FT");
        bool is_sig = ft ? name_is(ft, "Sig") : sig_parent;
        char name[64];
        text_string(dict_get(f, "T"), name, sizeof name);
        if (!name[0])
            snprintf(name, sizeof name, "%s", parent_name);
        const struct pv *v = dict_get(f, "V");
        if (is_sig && v && v->t != PV_NULL)
            if ((st = add_sig(w, f, name, v)))
                return st;
        const struct pv *k = dict_get(f, "Kids");
        if (k && (st = walk_fields(w, k, depth + 1, is_sig, name)))
            return st;
    }
    return ECERT_OK;
}

static ecert_status catalog_of(struct pdoc *doc, int rev, const struct pv **out)
{
    const struct pv *root = dict_get(doc->secs[rev].trailer, "Root"), *cat = NULL;
    if (!root || root->t != PV_REF)
        return err_set(ECERT_E_MALFORMED, "PDF: trailer without /Root");
    ecert_status st = resolve(doc, rev, root, &cat);
    if (st)
        return st;
    if (!cat || cat->t != PV_DICT)
        return err_set(ECERT_E_MALFORMED, "PDF: /Root is not a dictionary");
    *out = cat;
    return ECERT_OK;
}

static int cmp_sig(const void *a, const void *b)
{
    const struct pdf_sig *x = a, *y = b;
    uint64_t ex = x->byte_range_ok ? x->byte_range[2] + x->byte_range[3] : x->contents_end;
    uint64_t ey = y->byte_range_ok ? y->byte_range[2] + y->byte_range[3] : y->contents_end;
    return ex < ey ? -1 : ex > ey;
}

static ecert_status find_sigs(struct pdoc *doc, int rev, struct pdf_sig_list *out)
{
    struct walk w = {.doc = doc, .rev = rev, .out = out};
    const struct pv *cat = NULL, *form = NULL;
    ecert_status st = catalog_of(doc, rev, &cat);
    if (!st)
        st = resolve(doc, rev, dict_get(cat, "AcroForm"), &form);
    if (!st && form && form->t == PV_DICT) {
        const struct pv *fields = dict_get(form, "Fields");
        if (fields)
            st = walk_fields(&w, fields, 0, false, "");
    }
    free(w.seen.v);
    free(w.sigobjs.v);
    if (!st && out->n > 1)
        qsort(out->sigs, out->n, sizeof *out->sigs, cmp_sig);
    return st;
}

void pdf_sig_list_free(struct pdf_sig_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->sigs[i].contents);
    free(l->sigs);
    l->sigs = NULL;
    l->n = 0;
}

ecert_status pdf_extract(const uint8_t *file, size_t len, struct pdf_sig_list *out)
{
    if (!out || (!file && len))
        return err_set(ECERT_E_ARG, "pdf_extract: NULL argument");
    memset(out, 0, sizeof *out);
    struct pdoc doc;
    ecert_status st = doc_open(&doc, file, len);
    if (!st)
        st = find_sigs(&doc, doc.final, out);
    doc_free(&doc);
    if (st)
        pdf_sig_list_free(out);
    return st;
}

/* =========================================================================
 * 5. what changed after a signature
 *
 * A signature covers one revision. Later incremental updates may add
 * signatures and validation data, but must not change what was signed. The
 * rules (a subset of what PDF readers accept as "form filling and signing",
 * documented in docs/pdf.md):
 *   - new object numbers are free to add: they matter only through changed
 *     objects that refer to them, and those are checked;
 *   - cross-reference and object streams, the document information
 *     dictionary and the XMP metadata stream may change;
 *   - the catalog may change only /AcroForm, /DSS, /Extensions, /Metadata;
 *   - the AcroForm may gain fields, all of them signature fields;
 *   - a page may gain annotations, all of them signature widgets;
 *   - a signature field without a value may get one (/V, /AP, /MK);
 *   - an appearance stream may be replaced only if, in the signed revision,
 *     only signature fields being signed now referred to it;
 *   - the DSS (validation data) and what it refers to may change.
 * After the last signature only cross-reference data and the DSS may change.
 * ========================================================================= */

static bool pv_equal(struct pdoc *doc, const struct pv *a, const struct pv *b, int depth);

static bool str_equal(const struct pv *a, const struct pv *b)
{
    if (a->hex == b->hex && a->rawlen == b->rawlen && memcmp(a->raw, b->raw, a->rawlen) == 0)
        return true;
    struct buf x = BUF_INIT(CONTENTS_MAX), y = BUF_INIT(CONTENTS_MAX);
    bool eq = !str_decode(a, &x) && !str_decode(b, &y) && x.len == y.len &&
              (x.len == 0 || memcmp(x.data, y.data, x.len) == 0);
    err_clear();
    buf_release(&x);
    buf_release(&y);
    return eq;
}

static bool pv_equal(struct pdoc *doc, const struct pv *a, const struct pv *b, int depth)
{
    if (!a || !b)
        return a == b;
    /* Bounded work: past the budget values count as different, and the
     * change rules then refuse. */
    if (a->t != b->t || depth > PDF_MAX_DEPTH || ++doc->compares > COMPARE_BUDGET)
        return false;
    if (a->t == PV_STR && (doc->compares += a->rawlen / 64) > COMPARE_BUDGET)
        return false;
    switch (a->t) {
    case PV_NULL:
        return true;
    case PV_BOOL:
    case PV_INT:
        return a->i == b->i;
    case PV_REAL:
        return a->rawlen == b->rawlen && memcmp(a->raw, b->raw, a->rawlen) == 0;
    case PV_NAME: {
        char x[256], y[256];
        return name_decode(a, x, sizeof x) && name_decode(b, y, sizeof y) && strcmp(x, y) == 0;
    }
    case PV_STR:
        return str_equal(a, b);
    case PV_REF:
        return a->i == b->i && a->gen == b->gen;
    case PV_ARRAY:
        if (a->n != b->n)
            return false;
        for (uint32_t i = 0; i < a->n; i++)
            if (!pv_equal(doc, &a->items[i], &b->items[i], depth + 1))
                return false;
        return true;
    case PV_DICT:
        /* Keys are matched by lookup (quadratic): huge dictionaries count as
         * changed, which the rules then refuse. */
        if (a->n != b->n || a->is_stream != b->is_stream || a->n > COMPARE_MAX)
            return false;
        if (a->is_stream && (a->stream_len != b->stream_len ||
                             memcmp(a->stream, b->stream, a->stream_len) != 0))
            return false;
        for (uint32_t i = 0; i < a->n; i++) {
            char key[256];
            if (!name_decode(&a->items[2 * i], key, sizeof key))
                return false;
            /* The stream length may be written differently for the same
             * bytes (compared above). */
            if (a->is_stream && strcmp(key, "Length") == 0)
                continue;
            if (!pv_equal(doc, &a->items[2 * i + 1], dict_get(b, key), depth + 1))
                return false;
        }
        return true;
    default:
        return false;
    }
}

struct diff {
    struct pdoc *doc;
    int old, new;
    bool dss_only;
    uint32_t root, info, acroform, dss;  /* old revision's objects, UINT32_MAX if none */
    struct numset dss_set;               /* objects reachable from the DSS */
    char *why;
    size_t whycap;
};

static bool disallow(struct diff *df, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool disallow(struct diff *df, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(df->why, df->whycap, fmt, ap);
    va_end(ap);
    return false;
}

static uint32_t ref_num(const struct pv *v)
{
    return v && v->t == PV_REF ? (uint32_t)v->i : UINT32_MAX;
}

/* Collects the objects reachable from the DSS (a few levels: DSS -> arrays
 * and VRI -> per-signature dictionaries -> arrays -> streams). */
static ecert_status dss_collect(struct diff *df, int rev, const struct pv *v, int depth)
{
    if (!v || depth > 5)
        return ECERT_OK;
    ecert_status st;
    if (v->t == PV_REF) {
        bool added;
        if ((st = numset_add(&df->dss_set, (uint32_t)v->i, &added)) || !added)
            return st;
        if (df->dss_set.n > 100000)
            return err_set(ECERT_E_TOO_LONG, "PDF: DSS too large");
        const struct pv *r = NULL;
        if ((st = get_object(df->doc, rev, (uint32_t)v->i, &r)))
            return st;
        return dss_collect(df, rev, r, depth + 1);
    }
    if (v->t == PV_ARRAY || v->t == PV_DICT) {
        uint32_t n = v->t == PV_DICT ? v->n * 2 : v->n;
        for (uint32_t i = 0; i < n; i++)
            if ((st = dss_collect(df, rev, &v->items[i], depth + 1)))
                return st;
    }
    return ECERT_OK;
}

/* True when a field or widget dictionary belongs to a signature field. */
static bool is_sig_field(struct pdoc *doc, int rev, const struct pv *f)
{
    for (int i = 0; f && f->t == PV_DICT && i < FIELD_MAX_DEPTH; i++) {
        const struct pv *ft = dict_get(f, "FT");
        if (ft)
            return name_is(ft, "Sig");
        const struct pv *parent = dict_get(f, "Parent"), *p = NULL;
        if (!parent || resolve(doc, rev, parent, &p)) {
            err_clear();
            return false;
        }
        f = p;
    }
    return false;
}

static bool is_sig_widget(struct pdoc *doc, int rev, const struct pv *a)
{
    const struct pv *d = NULL;
    if (resolve(doc, rev, a, &d)) {
        err_clear();
        return false;
    }
    return d && d->t == PV_DICT && is_sig_field(doc, rev, d);
}

/* Every item of `old` is in `new`; the items added pass `added_ok`. */
static bool superset(struct diff *df, const struct pv *oldv, const struct pv *newv,
                     const char *what)
{
    const struct pv *a = NULL, *b = NULL;
    if (resolve(df->doc, df->old, oldv, &a) || resolve(df->doc, df->new, newv, &b)) {
        err_clear();
        return disallow(df, "%s unreadable", what);
    }
    if (!b || b->t != PV_ARRAY)
        return (a && a->t == PV_ARRAY && a->n) ? disallow(df, "%s removed", what) : true;
    if (b->n > COMPARE_MAX || (a && a->t == PV_ARRAY && a->n > COMPARE_MAX))
        return disallow(df, "%s too long to compare", what);
    for (uint32_t i = 0; a && a->t == PV_ARRAY && i < a->n; i++) {
        bool found = false;
        for (uint32_t j = 0; j < b->n && !found; j++)
            found = pv_equal(df->doc, &a->items[i], &b->items[j], 0);
        if (!found)
            return disallow(df, "%s lost an entry", what);
    }
    for (uint32_t j = 0; j < b->n; j++) {
        bool found = false;
        for (uint32_t i = 0; a && a->t == PV_ARRAY && i < a->n && !found; i++)
            found = pv_equal(df->doc, &a->items[i], &b->items[j], 0);
        if (!found && !is_sig_widget(df->doc, df->new, &b->items[j]))
            return disallow(df, "%s gained an entry that is not a signature field", what);
    }
    return true;
}

/* Keys of two dictionaries are equal except those in `free_keys`. */
static bool same_except(struct diff *df, const struct pv *a, const struct pv *b,
                        const char *const *free_keys, const char *what)
{
    const struct pv *x = a, *y = b;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < x->n; i++) {
            char key[256];
            if (!name_decode(&x->items[2 * i], key, sizeof key))
                return disallow(df, "%s: bad key", what);
            bool skip = false;
            for (size_t k = 0; free_keys[k] && !skip; k++)
                skip = strcmp(free_keys[k], key) == 0;
            if (skip)
                continue;
            if (!pv_equal(df->doc, &x->items[2 * i + 1], dict_get(y, key), 0))
                return disallow(df, "%s: /%s changed", what, key);
        }
        x = b;
        y = a;
    }
    return true;
}

static bool acroform_ok(struct diff *df, const struct pv *oldv, const struct pv *newv)
{
    const struct pv *a = NULL, *b = NULL;
    if (resolve(df->doc, df->old, oldv, &a) || resolve(df->doc, df->new, newv, &b)) {
        err_clear();
        return disallow(df, "AcroForm unreadable");
    }
    if (!b || b->t != PV_DICT)
        return disallow(df, "AcroForm removed");
    static const char *const free_keys[] = {"Fields", "SigFlags", "DR", "DA", "NeedAppearances",
                                            NULL};
    if (a && a->t == PV_DICT && !same_except(df, a, b, free_keys, "AcroForm"))
        return false;
    return superset(df, a ? dict_get(a, "Fields") : NULL, dict_get(b, "Fields"),
                    "AcroForm /Fields");
}

static bool catalog_ok(struct diff *df, const struct pv *a, const struct pv *b)
{
    static const char *const free_all[] = {"AcroForm", "DSS", "Extensions", "Metadata", NULL};
    static const char *const free_dss[] = {"DSS", "Extensions", NULL};
    if (a->t != PV_DICT || b->t != PV_DICT)
        return disallow(df, "catalog is not a dictionary");
    if (!same_except(df, a, b, df->dss_only ? free_dss : free_all, "catalog"))
        return false;
    const struct pv *fa = dict_get(a, "AcroForm"), *fb = dict_get(b, "AcroForm");
    if (!df->dss_only && !pv_equal(df->doc, fa, fb, 0) && !acroform_ok(df, fa, fb))
        return false;
    return true;
}

struct referrer {
    uint32_t num;           /* 0 for the trailer */
    const struct pv *obj;
    char key[32];           /* top-level key that holds the reference */
};

struct refscan {
    uint32_t target;
    struct referrer *out;
    size_t cap, n;
};

static void scan_value(struct refscan *rs, uint32_t num, const struct pv *obj, const struct pv *v,
                       const char *key, int depth)
{
    if (!v || depth > PDF_MAX_DEPTH)
        return;
    if (v->t == PV_REF && (uint32_t)v->i == rs->target) {
        if (rs->n < rs->cap) {
            struct referrer *r = &rs->out[rs->n];
            r->num = num;
            r->obj = obj;
            snprintf(r->key, sizeof r->key, "%s", key);
        }
        rs->n++;
        return;
    }
    if (v->t == PV_ARRAY)
        for (uint32_t i = 0; i < v->n; i++)
            scan_value(rs, num, obj, &v->items[i], key, depth + 1);
    if (v->t == PV_DICT) {
        for (uint32_t i = 0; i < v->n; i++) {
            char k[32];
            if (depth == 0 && !name_decode(&v->items[2 * i], k, sizeof k))
                snprintf(k, sizeof k, "?");
            scan_value(rs, num, obj, &v->items[2 * i + 1], depth == 0 ? k : key, depth + 1);
        }
    }
}

/* Every object of revision `rev` that refers to `target` (at most `cap`
 * recorded, *n counts all). Reads the whole revision: bounded per document
 * by REFSCAN_MAX. */
static ecert_status find_referrers(struct pdoc *doc, int rev, uint32_t target,
                                   struct referrer *out, size_t cap, size_t *n)
{
    if (++doc->refscans > REFSCAN_MAX)
        return err_set(ECERT_E_TOO_LONG, "PDF: too many changed objects to analyse");
    struct refscan rs = {target, out, cap, 0};
    scan_value(&rs, 0, doc->secs[rev].trailer, doc->secs[rev].trailer, "", 1);
    for (int s = rev; s >= 0; s = doc->secs[s].prev) {
        const struct xsec *sec = &doc->secs[s];
        for (int part = 0; part < 2; part++) {
            const struct xsec *x = part == 0 ? sec : (sec->xrefstm >= 0 ? &doc->secs[sec->xrefstm]
                                                                        : NULL);
            for (size_t i = 0; x && i < x->n; i++) {
                struct xent *e = &x->e[i];
                if (e->type == 0 || lookup(doc, rev, e->num) != e)
                    continue;
                const struct pv *v = NULL;
                ecert_status st = load_entry(doc, rev, e, &v);
                if (st)
                    return st;
                scan_value(&rs, e->num, v, v, "", 0);
            }
        }
    }
    *n = rs.n;
    return ECERT_OK;
}

/* An appearance stream replaced after signing: allowed when, in the signed
 * revision, only signature fields that are being signed now referred to it
 * (pyHanko's "sneaky" file hangs the same stream from the catalog). */
static bool appearance_ok(struct diff *df, uint32_t num)
{
    struct referrer refs[16];
    size_t n = 0;
    if (find_referrers(df->doc, df->old, num, refs, 16, &n)) {
        err_clear();
        return disallow(df, "object %u changed (cannot analyse its uses)", num);
    }
    if (n == 0 || n > 16)
        return disallow(df, "object %u changed", num);
    for (size_t i = 0; i < n; i++) {
        const struct referrer *r = &refs[i];
        if (r->num == 0 || strcmp(r->key, "AP") != 0 || !is_sig_field(df->doc, df->old, r->obj))
            return disallow(df, "object %u changed, and it is used outside a signature field "
                            "(object %u /%s)", num, r->num, r->key);
        const struct pv *now = NULL;
        if (get_object(df->doc, df->new, r->num, &now)) {
            err_clear();
            return disallow(df, "object %u unreadable", r->num);
        }
        if (dict_get(r->obj, "V") || !now || !dict_get(now, "V"))
            return disallow(df, "appearance %u of a field not being signed changed", num);
    }
    return true;
}

/* An indirect /Annots array that gained signature widgets. */
static bool annots_array_ok(struct diff *df, uint32_t num, const struct pv *a, const struct pv *b)
{
    struct referrer refs[16];
    size_t n = 0;
    if (find_referrers(df->doc, df->old, num, refs, 16, &n)) {
        err_clear();
        return disallow(df, "object %u changed (cannot analyse its uses)", num);
    }
    if (n == 0 || n > 16)
        return disallow(df, "array %u changed", num);
    for (size_t i = 0; i < n; i++)
        if (strcmp(refs[i].key, "Annots") != 0 ||
            !name_is(dict_get(refs[i].obj, "Type"), "Page"))
            return disallow(df, "array %u changed, and it is not a page's /Annots", num);
    return superset(df, a, b, "page /Annots");
}

static bool change_ok(struct diff *df, uint32_t num, const struct pv *a, const struct pv *b)
{
    const struct pv *type = dict_get(a, "Type");
    if (a->is_stream && (name_is(type, "XRef") || name_is(type, "ObjStm")))
        return true;
    if (numset_has(&df->dss_set, num) || num == df->dss)
        return true;
    if (num == df->root)
        return catalog_ok(df, a, b);
    if (df->dss_only)
        return disallow(df, "object %u changed after the last signature", num);
    if (num == df->info)
        return true;
    if (name_is(type, "Metadata") && a->is_stream)
        return true;
    if (num == df->acroform)
        return acroform_ok(df, a, b);
    if (a->t == PV_DICT && b->t == PV_DICT && name_is(type, "Page")) {
        static const char *const free_keys[] = {"Annots", NULL};
        return same_except(df, a, b, free_keys, "page") &&
               superset(df, dict_get(a, "Annots"), dict_get(b, "Annots"), "page /Annots");
    }
    if (a->t == PV_DICT && b->t == PV_DICT && !a->is_stream && is_sig_field(df->doc, df->old, a)) {
        static const char *const free_keys[] = {"V", "AP", "MK", NULL};
        if (dict_get(a, "V"))
            return disallow(df, "signature field %u already had a value and changed", num);
        return same_except(df, a, b, free_keys, "signature field");
    }
    if (a->t == PV_ARRAY && b->t == PV_ARRAY)
        return annots_array_ok(df, num, a, b);
    if (a->is_stream)
        return appearance_ok(df, num);
    return disallow(df, "object %u changed", num);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Is what changed from revision `old` to revision `new` allowed? *ok and
 * why[] answer; the status is for errors that stop the analysis. */
static ecert_status check_changes(struct pdoc *doc, int old, int new, bool dss_only, char *why,
                                  size_t whycap, bool *ok)
{
    struct diff df = {.doc = doc, .old = old, .new = new, .dss_only = dss_only, .why = why,
                      .whycap = whycap};
    why[0] = 0;
    *ok = false;
    /* The later revision must extend the signed one. */
    size_t steps = 0;
    int s = new;
    while (s >= 0 && s != old && steps++ <= PDF_MAX_SECTIONS)
        s = doc->secs[s].prev;
    if (s != old) {
        disallow(&df, "a later revision does not extend the signed one");
        return ECERT_OK;
    }
    const struct pv *to = doc->secs[old].trailer, *tn = doc->secs[new].trailer;
    df.root = ref_num(dict_get(to, "Root"));
    df.info = ref_num(dict_get(to, "Info"));
    if (df.root != ref_num(dict_get(tn, "Root"))) {
        disallow(&df, "the document catalog was replaced");
        return ECERT_OK;
    }
    const struct pv *cat = NULL;
    ecert_status st = catalog_of(doc, old, &cat);
    if (st)
        return st;
    df.acroform = ref_num(dict_get(cat, "AcroForm"));
    df.dss = ref_num(dict_get(cat, "DSS"));
    if ((st = dss_collect(&df, old, dict_get(cat, "DSS"), 0)))
        goto done;

    /* Candidates: every number with an entry in the update sections, and
     * every object of the old revision kept in an object stream that was
     * replaced (its entry did not change, its container did). */
    uint32_t *nums = NULL;
    size_t n = 0, cap = 0;
    for (int u = new; u != old && !st; u = doc->secs[u].prev) {
        for (int part = 0; part < 2 && !st; part++) {
            const struct xsec *x = part == 0 ? &doc->secs[u]
                                             : (doc->secs[u].xrefstm >= 0
                                                    ? &doc->secs[doc->secs[u].xrefstm]
                                                    : NULL);
            for (size_t i = 0; x && i < x->n; i++) {
                if (n == cap) {
                    size_t ncap = cap ? cap * 2 : 64;
                    uint32_t *p = realloc(nums, ncap * sizeof *p);
                    if (!p) {
                        st = err_set(ECERT_E_NOMEM, "out of memory");
                        break;
                    }
                    nums = p;
                    cap = ncap;
                }
                nums[n++] = x->e[i].num;
            }
        }
    }
    for (int o = old; o >= 0 && !st; o = doc->secs[o].prev) {
        const struct xsec *x = &doc->secs[o];
        for (size_t i = 0; i < x->n && !st; i++) {
            const struct xent *e = &x->e[i];
            if (e->type != 2 || e->f2 > UINT32_MAX ||
                lookup(doc, old, (uint32_t)e->f2) == lookup(doc, new, (uint32_t)e->f2))
                continue;
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                uint32_t *p = realloc(nums, ncap * sizeof *p);
                if (!p) {
                    st = err_set(ECERT_E_NOMEM, "out of memory");
                    break;
                }
                nums = p;
                cap = ncap;
            }
            nums[n++] = e->num;
        }
    }
    if (st) {
        free(nums);
        goto done;
    }
    if (n > 1)
        qsort(nums, n, sizeof *nums, cmp_u32);
    bool good = true;
    size_t changed = 0;
    for (size_t i = 0; i < n && good; i++) {
        uint32_t num = nums[i];
        if (num == 0 || (i && nums[i - 1] == num))
            continue;
        struct xent *eo = lookup(doc, old, num), *en = lookup(doc, new, num);
        if (!eo || eo->type == 0)
            continue; /* a new object */
        if (!en || en->type == 0) {
            /* Writers may free an old cross-reference or object stream. */
            const struct pv *gone = NULL;
            if ((st = load_entry(doc, old, eo, &gone)))
                break;
            const struct pv *gt = dict_get(gone, "Type");
            if (gone && gone->is_stream && (name_is(gt, "XRef") || name_is(gt, "ObjStm")))
                continue;
            good = disallow(&df, "object %u was deleted", num);
            break;
        }
        if (eo == en && (eo->type != 2 || lookup(doc, old, (uint32_t)eo->f2) ==
                                              lookup(doc, new, (uint32_t)eo->f2)))
            continue;
        const struct pv *a = NULL, *b = NULL;
        if ((st = load_entry(doc, old, eo, &a)) || (st = load_entry(doc, new, en, &b)))
            break;
        if (!a || !b || pv_equal(doc, a, b, 0))
            continue;
        if (++changed > CHANGES_MAX) {
            good = disallow(&df, "over %u objects changed", CHANGES_MAX);
            break;
        }
        good = change_ok(&df, num, a, b);
    }
    free(nums);
    if (!st)
        *ok = good;
done:
    free(df.dss_set.v);
    return st;
}

/* =========================================================================
 * 6. verification
 * ========================================================================= */

static const char *sig_alg_label(const struct der *oid)
{
    static const struct {
        const char *oid, *label;
    } t[] = {
        {"1.2.156.10197.1.501", "SM2-SM3"},
        {"1.2.156.10197.1.301.1", "SM2-SM3"},
        {"1.2.156.10197.1.301", "SM2-SM3"},
        {"1.2.840.113549.1.1.1", "RSA"},
        {"1.2.840.113549.1.1.5", "RSA"},
        {"1.2.840.113549.1.1.11", "RSA"},
        {"1.2.840.113549.1.1.12", "RSA"},
        {"1.2.840.113549.1.1.13", "RSA"},
        {"1.2.840.113549.1.1.14", "RSA"},
        {"1.2.840.113549.1.1.10", "RSA-PSS"},
        {"1.2.840.10045.2.1", "ECDSA"},
        {"1.2.840.10045.4.1", "ECDSA"},
        {"1.2.840.10045.4.3.1", "ECDSA"},
        {"1.2.840.10045.4.3.2", "ECDSA"},
        {"1.2.840.10045.4.3.3", "ECDSA"},
        {"1.2.840.10045.4.3.4", "ECDSA"},
        {"1.3.101.112", "Ed25519"},
        {"1.3.101.113", "Ed448"},
    };
    char text[96];
    if (!der_oid_text(oid, text, sizeof text))
        return "unknown";
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].oid, text) == 0)
            return t[i].label;
    return "unknown";
}

enum sub_kind { SUB_UNKNOWN, SUB_DETACHED, SUB_SHA1, SUB_RFC3161 };

static enum sub_kind sub_kind(const char *sf)
{
    if (strcmp(sf, "adbe.pkcs7.detached") == 0 || strcmp(sf, "ETSI.CAdES.detached") == 0)
        return SUB_DETACHED;
    if (strcmp(sf, "adbe.pkcs7.sha1") == 0)
        return SUB_SHA1;
    if (strcmp(sf, "ETSI.RFC3161") == 0)
        return SUB_RFC3161;
    return SUB_UNKNOWN;
}

struct sigctx {
    const struct verify_options *opts;
    const struct pdf_sig *s;
    struct pkcs_chunk ranges[2];
    struct verify_signature *vs;
    int64_t signing_time;   /* Unix seconds, 0 when unknown */
    bool judged;            /* the covered bytes were compared with what was signed */
};

static bool der_equal(const struct der *a, const struct der *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static bool oid_is_data(const struct der *oid)
{
    return der_oid_is(oid, CMS_OID_DATA) || der_oid_is(oid, CMS_OID_GM_DATA);
}

/* Chain of the signer certificate to the configured anchors. */
static void judge_trust(struct sigctx *cx, const struct x509_cert *leaf,
                        const struct x509_store *cms_certs)
{
    const struct verify_options *o = cx->opts;
    if (!o->anchors || x509_store_count(o->anchors) == 0) {
        cx->vs->trust = VERIFY_TRUST_NONE;
        return;
    }
    const struct x509_store *pools[2] = {cms_certs, o->extra_certs};
    int64_t at = o->at ? o->at : cx->signing_time ? cx->signing_time : (int64_t)time(NULL);
    char why[VERIFY_TEXT - 16];
    if (x509_chain_verify(leaf, pools, 2, o->anchors, at, why, sizeof why) == ECERT_OK) {
        cx->vs->trust = VERIFY_TRUST_TRUSTED;
    } else {
        cx->vs->trust = VERIFY_TRUST_UNTRUSTED;
        if (!cx->vs->note[0])
            snprintf(cx->vs->note, sizeof cx->vs->note, "untrusted: %s", why);
    }
    err_clear();
}

/* The CMS part of one signature: sets vs->integrity (the messageDigest, or
 * the time stamp's imprint, matches the covered bytes) and vs->signature. */
static ecert_status verify_cms(struct sigctx *cx)
{
    const struct pdf_sig *s = cx->s;
    struct verify_signature *vs = cx->vs;
    enum sub_kind kind = sub_kind(s->sub_filter);
    if (kind == SUB_UNKNOWN) {
        verify_sig_fail(vs, "SubFilter /%s is not supported", s->sub_filter[0] ? s->sub_filter
                                                                             : "(none)");
        return ECERT_OK;
    }
    size_t tlv;
    if (cms_tlv_length(s->contents, s->contents_len, &tlv)) {
        err_clear();
        verify_sig_fail(vs, "/Contents is not DER");
        return ECERT_OK;
    }
    for (size_t i = tlv; i < s->contents_len; i++) {
        if (s->contents[i]) {
            verify_sig_fail(vs, "bytes other than padding after the CMS in /Contents");
            return ECERT_OK;
        }
    }
    struct cms_signed_data *cms = malloc(sizeof *cms);
    if (!cms)
        return err_set(ECERT_E_NOMEM, "out of memory");
    struct x509_store *certs = NULL;
    uint8_t *set = NULL;
    ecert_status st = ECERT_OK;
    if (cms_parse(s->contents, tlv, cms)) {
        verify_sig_fail(vs, "%s", err_detail());
        err_clear();
        goto done;
    }
    if (cms->nsigners != 1) {
        verify_sig_fail(vs, "CMS with %zu SignerInfos (a PDF signature has one)", cms->nsigners);
        goto done;
    }
    const struct cms_signer_info *si = &cms->signers[0];
    char oidt[96] = "";
    der_oid_text(&si->digest_alg, oidt, sizeof oidt);
    enum pkcs_hash h = pkcs_hash_from_oid(oidt);
    snprintf(vs->format, sizeof vs->format, "PDF %s, %s with %s", s->sub_filter,
             sig_alg_label(&si->sig_alg_oid), pkcs_hash_name(h));
    if (h == PKCS_HASH_UNKNOWN) {
        verify_sig_fail(vs, "digest algorithm %s not supported", oidt[0] ? oidt : "?");
        goto done;
    }

    /* What the SignerInfo signs ("content"), per SubFilter. */
    struct pkcs_chunk content[2];
    size_t ncontent = 2;
    uint8_t doc_digest[PKCS_DIGEST_MAX];
    size_t dlen;
    int64_t tst_time = 0;
    char tst_text[32] = "";
    if (kind == SUB_DETACHED) {
        /* A detached signature signs the covered bytes; encapsulated content
         * would be a second, unchecked message (pyHanko refuses it too). */
        if (cms->has_econtent) {
            verify_sig_fail(vs, "detached signature carries encapsulated content");
            goto done;
        }
        if (!oid_is_data(&cms->econtent_type)) {
            verify_sig_fail(vs, "detached signature with a content type other than data");
            goto done;
        }
        content[0] = cx->ranges[0];
        content[1] = cx->ranges[1];
    } else {
        if (!cms->has_econtent) {
            verify_sig_fail(vs, "%s without encapsulated content", s->sub_filter);
            goto done;
        }
        content[0] = (struct pkcs_chunk){cms->econtent.p, cms->econtent.len};
        ncontent = 1;
        if (kind == SUB_SHA1) {
            if ((st = pkcs_digest(PKCS_HASH_SHA1, cx->ranges, 2, doc_digest, &dlen)))
                goto done;
            vs->integrity = cms->econtent.len == dlen &&
                            memcmp(cms->econtent.p, doc_digest, dlen) == 0;
            cx->judged = true;
            if (!vs->integrity)
                verify_sig_fail(vs, "tampered: the signed SHA-1 differs from the covered bytes");
        } else {
            struct cms_tst_info tst;
            char ia[96] = "";
            if (!der_oid_is(&cms->econtent_type, CMS_OID_TST_INFO) ||
                cms_parse_tst_info(cms->econtent.p, cms->econtent.len, &tst)) {
                err_clear();
                verify_sig_fail(vs, "document time stamp without a valid TSTInfo");
                goto done;
            }
            der_oid_text(&tst.imprint_alg, ia, sizeof ia);
            enum pkcs_hash ih = pkcs_hash_from_oid(ia);
            if (ih == PKCS_HASH_UNKNOWN) {
                verify_sig_fail(vs, "time stamp imprint algorithm %s not supported", ia);
                goto done;
            }
            if ((st = pkcs_digest(ih, cx->ranges, 2, doc_digest, &dlen)))
                goto done;
            vs->integrity = tst.imprint.len == dlen &&
                            memcmp(tst.imprint.p, doc_digest, dlen) == 0;
            cx->judged = true;
            if (!vs->integrity)
                verify_sig_fail(vs, "tampered: the time stamp imprint differs from the "
                                    "covered bytes");
            if (cms_time(0x18, &tst.gen_time, tst_text, &tst_time))
                err_clear(), tst_time = 0, tst_text[0] = 0;
            snprintf(vs->format, sizeof vs->format, "PDF ETSI.RFC3161 document time stamp, %s "
                     "with %s", sig_alg_label(&si->sig_alg_oid), pkcs_hash_name(h));
        }
    }

    /* The signer certificate: in the CMS, else among the configured extras. */
    if ((st = x509_store_new(&certs)))
        goto done;
    for (size_t i = 0; i < cms->ncerts; i++)
        if (x509_store_add_der(certs, cms->certs[i].p, cms->certs[i].len))
            err_clear(); /* an unreadable extra certificate is ignored */
    const struct x509_cert *leaf = NULL;
    for (int pool = 0; pool < 2 && !leaf; pool++) {
        const struct x509_store *p = pool == 0 ? certs : cx->opts->extra_certs;
        for (size_t i = 0; p && i < x509_store_count(p) && !leaf; i++) {
            const struct x509_cert *c = x509_store_get(p, i);
            if (si->sid_is_ski ? x509_cert_has_ski(c, si->sid_ski.p, si->sid_ski.len)
                               : x509_cert_has_issuer_serial(c, si->sid_issuer.p,
                                                             si->sid_issuer.len, si->sid_serial.p,
                                                             si->sid_serial.len))
                leaf = c;
        }
    }
    if (!leaf) {
        verify_sig_fail(vs, "signer certificate not found");
        goto done;
    }
    x509_cert_subject(leaf, vs->signer, sizeof vs->signer);
    x509_cert_issuer(leaf, vs->issuer, sizeof vs->issuer);

    /* Signing time: the signed attribute, else the time stamp, else /M. */
    char when[32] = "";
    if (si->signing_time_tag && !cms_time(si->signing_time_tag, &si->signing_time, when,
                                          &cx->signing_time)) {
        snprintf(vs->signing_time, sizeof vs->signing_time, "%s", when);
    } else {
        err_clear();
        if (tst_text[0]) {
            snprintf(vs->signing_time, sizeof vs->signing_time, "%s", tst_text);
            cx->signing_time = tst_time;
        } else if (s->m[0]) {
            snprintf(vs->signing_time, sizeof vs->signing_time, "%s", s->m);
        }
    }

    size_t siglen = si->signature.len;
    char why[VERIFY_TEXT];
    if (si->has_signed_attrs) {
        uint8_t md[PKCS_DIGEST_MAX];
        size_t mdlen;
        if (!si->has_message_digest || !si->has_content_type) {
            verify_sig_fail(vs, "signed attributes without messageDigest or contentType");
            goto done;
        }
        if (!der_equal(&si->content_type, &cms->econtent_type)) {
            verify_sig_fail(vs, "contentType attribute differs from the encapsulated type");
            goto done;
        }
        if ((st = pkcs_digest(h, content, ncontent, md, &mdlen)))
            goto done;
        bool match = si->message_digest.len == mdlen &&
                     memcmp(si->message_digest.p, md, mdlen) == 0;
        cx->judged = true;
        if (kind == SUB_DETACHED)
            vs->integrity = match;
        if (!match) {
            vs->integrity = false;
            verify_sig_fail(vs, kind == SUB_DETACHED
                                    ? "tampered: the covered bytes differ from the signed digest"
                                    : "tampered: messageDigest does not match the content");
        }
        /* The signature is over DER(SET OF Attribute): the [0] tag as 0x31. */
        set = malloc(si->signed_attrs.len);
        if (!set) {
            st = err_set(ECERT_E_NOMEM, "out of memory");
            goto done;
        }
        memcpy(set, si->signed_attrs.p, si->signed_attrs.len);
        set[0] = DER_SET;
        struct pkcs_chunk m = {set, si->signed_attrs.len};
        size_t clen;
        const uint8_t *cder = x509_cert_der(leaf, &clen);
        st = pkcs_verify(cder, clen, si->sig_alg.p, si->sig_alg.len, h, &m, 1, si->signature.p,
                         siglen, why, sizeof why);
    } else {
        size_t clen;
        const uint8_t *cder = x509_cert_der(leaf, &clen);
        st = pkcs_verify(cder, clen, si->sig_alg.p, si->sig_alg.len, h, content, ncontent,
                         si->signature.p, siglen, why, sizeof why);
        /* Without signed attributes the signature is the only check of the
         * covered bytes: a changed byte and a bad signature look the same. */
        if (kind == SUB_DETACHED) {
            vs->integrity = st == ECERT_OK;
            cx->judged = true;
        }
    }
    if (st == ECERT_OK) {
        vs->signature = true;
    } else if (st == ECERT_E_SIGNATURE || st == ECERT_E_MALFORMED) {
        verify_sig_fail(vs, "%s", why[0] ? why : err_detail());
        err_clear();
        st = ECERT_OK;
    } else {
        goto done;
    }
    judge_trust(cx, leaf, certs);
done:
    free(set);
    x509_store_free(certs);
    free(cms);
    return st;
}

/* The revision whose %%EOF ends at `end` (up to two end-of-line bytes may
 * follow it). -1 when `end` is not the end of a revision. */
static ecert_status revision_at(struct pdoc *doc, uint64_t end, int *rev)
{
    *rev = -1;
    for (size_t i = doc->neofs; i-- > 0;) {
        size_t e = doc->eofs[i].end;
        if (e > end || end - e > 2)
            continue;
        bool eol = true;
        for (size_t k = e; k < end && eol; k++)
            eol = doc->d[k] == '\r' || doc->d[k] == '\n';
        if (!eol)
            continue;
        return load_chain(doc, doc->eofs[i].xref, rev);
    }
    return ECERT_OK;
}

static void sig_record_base(struct verify_signature *vs, const struct pdf_sig *s, size_t idx)
{
    if (s->field[0])
        verify_copy_text(vs->id, sizeof vs->id, s->field, strlen(s->field));
    else
        snprintf(vs->id, sizeof vs->id, "sig%zu", idx + 1);
    snprintf(vs->type, sizeof vs->type, "%s",
             strcmp(s->type, "DocTimeStamp") == 0 ? "DocTimeStamp" : "CMS");
    snprintf(vs->format, sizeof vs->format, "PDF %s", s->sub_filter[0] ? s->sub_filter : "?");
    snprintf(vs->signing_time, sizeof vs->signing_time, "%s", s->m);
    snprintf(vs->sign_reason, sizeof vs->sign_reason, "%s", s->reason);
}

/* Coverage and later changes of signature `idx` (of list->n, in signed-end
 * order). Sets vs->reason and returns false when something is wrong. */
static ecert_status check_coverage(struct pdoc *doc, const struct pdf_sig_list *list, size_t idx,
                                   struct verify_signature *vs, bool *ok)
{
    const struct pdf_sig *s = &list->sigs[idx];
    const uint64_t *br = s->byte_range;
    bool last = idx + 1 == list->n;
    *ok = false;
    if (br[0] != 0) {
        verify_sig_fail(vs, "/ByteRange does not start at 0");
        return ECERT_OK;
    }
    if (br[1] != s->contents_start || br[2] != s->contents_end) {
        verify_sig_fail(vs, "/ByteRange gap is not exactly the /Contents string "
                            "(covered %llu-%llu, /Contents at %zu-%zu)",
                        (unsigned long long)br[1], (unsigned long long)br[2], s->contents_start,
                        s->contents_end);
        return ECERT_OK;
    }
    if (br[3] > doc->len || br[2] > doc->len - br[3]) {
        verify_sig_fail(vs, "/ByteRange runs past the end of the file");
        return ECERT_OK;
    }
    uint64_t end = br[2] + br[3];
    if (end == doc->len) {
        *ok = true;
        return ECERT_OK;
    }
    int rev;
    ecert_status st = revision_at(doc, end, &rev);
    if (st)
        return st;
    if (rev < 0) {
        verify_sig_fail(vs, "tampered: the signed range ends inside a revision; %llu bytes "
                            "after it are not covered",
                        (unsigned long long)(doc->len - end));
        return ECERT_OK;
    }
    /* The file must end with the latest revision. */
    if (doc->neofs == 0 || doc->eofs[doc->neofs - 1].end + 2 < doc->len ||
        find_section(doc, doc->eofs[doc->neofs - 1].xref) != doc->final) {
        verify_sig_fail(vs, "tampered: the file does not end with a complete revision");
        return ECERT_OK;
    }
    bool dss_only = last || s->docmdp == 1;
    char why[VERIFY_TEXT];
    bool allowed;
    if ((st = check_changes(doc, rev, doc->final, dss_only, why, sizeof why, &allowed)))
        return st;
    if (!allowed) {
        if (last)
            verify_sig_fail(vs, "tampered: does not cover the whole file (%s)", why);
        else if (s->docmdp == 1)
            verify_sig_fail(vs, "tampered: modified after a certification that allows no "
                                "changes (%s)", why);
        else
            verify_sig_fail(vs, "tampered: modified after signing (%s)", why);
        return ECERT_OK;
    }
    if (last)
        snprintf(vs->note, sizeof vs->note,
                 "a later update adds validation data (DSS) only");
    *ok = true;
    return ECERT_OK;
}

ecert_status pdf_verify(const uint8_t *file, size_t len, const struct verify_options *opts,
                        struct verify_result *out)
{
    if (!out || (!file && len))
        return err_set(ECERT_E_ARG, "pdf_verify: NULL argument");
    static const struct verify_options defaults = {0};
    if (!opts)
        opts = &defaults;
    out->result = 0;
    struct pdoc doc;
    struct pdf_sig_list list = {0};
    ecert_status st = doc_open(&doc, file, len);
    if (!st)
        st = find_sigs(&doc, doc.final, &list);
    if (st) {
        char tmp[VERIFY_TEXT];
        snprintf(tmp, sizeof tmp, "%s: %s",
                 (st == ECERT_E_MALFORMED || st == ECERT_E_TOO_LONG) ? "malformed" : "error",
                 err_detail());
        verify_set_reason(out, tmp);
        goto done;
    }
    if (list.n == 0) {
        verify_set_reason(out, "unsigned");
        goto done;
    }
    bool all = true, tampered = false, invalid = false, untrusted = false;
    for (size_t i = 0; i < list.n; i++) {
        const struct pdf_sig *s = &list.sigs[i];
        struct verify_signature *vs = verify_result_add(out);
        if (!vs) {
            st = ECERT_E_NOMEM;
            verify_set_reason(out, "error");
            goto done;
        }
        sig_record_base(vs, s, i);
        if (s->problem[0]) {
            verify_sig_fail(vs, "%s", s->problem);
            invalid = true;
            all = false;
            continue;
        }
        bool covered;
        if ((st = check_coverage(&doc, &list, i, vs, &covered)))
            goto fail;
        struct sigctx cx = {.opts = opts, .s = s, .vs = vs};
        cx.ranges[0] = (struct pkcs_chunk){file, (size_t)s->byte_range[1]};
        cx.ranges[1] = (struct pkcs_chunk){file + s->byte_range[2], (size_t)s->byte_range[3]};
        const uint64_t *br = s->byte_range;
        if (covered || (br[0] == 0 && br[1] <= len && br[2] <= len && br[3] <= len - br[2])) {
            if ((st = verify_cms(&cx)))
                goto fail;
        }
        if (!covered)
            vs->integrity = false;
        bool trusted = vs->trust == VERIFY_TRUST_TRUSTED;
        /* Tampered: bytes not covered, or covered bytes that differ from
         * what was signed. A signature that could not be checked at all
         * (unsupported or non-conforming) is invalid, not tampered. */
        if (!covered || (cx.judged && !vs->integrity))
            tampered = true;
        else if (!vs->integrity || !vs->signature)
            invalid = true;
        else if (opts->require_trust && !trusted)
            untrusted = true;
        if (!vs->integrity || !vs->signature || (opts->require_trust && !trusted)) {
            all = false;
            if (!vs->reason[0])
                verify_sig_fail(vs, "%s", (!covered || (cx.judged && !vs->integrity))
                                              ? "tampered"
                                          : (!vs->integrity || !vs->signature) ? "invalid signature"
                                                                               : "untrusted");
        }
    }
    out->result = all ? 1 : 0;
    if (!all)
        verify_set_reason(out, tampered ? "tampered" : invalid ? "invalid signature"
                                       : untrusted ? "untrusted" : "invalid");
    goto done;
fail:
    out->result = 0;
    {
        char tmp[VERIFY_TEXT];
        snprintf(tmp, sizeof tmp, "%s: %s",
                 (st == ECERT_E_MALFORMED || st == ECERT_E_TOO_LONG) ? "malformed" : "error",
                 err_detail());
        verify_set_reason(out, tmp);
    }
done:
    pdf_sig_list_free(&list);
    doc_free(&doc);
    return st;
}
