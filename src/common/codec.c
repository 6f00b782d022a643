#include "common/codec.h"

#include "common/error.h"

static const char hexdig[] = "0123456789abcdef";

void hex_encode(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[in[i] >> 4];
        out[2 * i + 1] = hexdig[in[i] & 15];
    }
    out[2 * n] = 0;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool is_hex(const char *s, size_t n)
{
    if (n == 0 || n % 2)
        return false;
    for (size_t i = 0; i < n; i++)
        if (hexval((unsigned char)s[i]) < 0)
            return false;
    return true;
}

ecert_status hex_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
    if (n % 2)
        return err_set(ECERT_E_MALFORMED, "hex: odd number of digits (%zu)", n);
    if (n / 2 > cap)
        return err_set(ECERT_E_TOO_LONG, "hex: %zu bytes, limit %zu", n / 2, cap);
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            return err_set(ECERT_E_MALFORMED, "hex: invalid character at position %zu",
                           hi < 0 ? i + 1 : i + 2);
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    if (outlen)
        *outlen = n / 2;
    return ECERT_OK;
}

static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t base64_encode(const uint8_t *in, size_t n, char *out, int flags)
{
    const char *abc = (flags & BASE64_URL) ? b64url : b64std;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = abc[(v >> 6) & 63];
        out[o++] = abc[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        if (!(flags & BASE64_NOPAD)) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = abc[(v >> 6) & 63];
        if (!(flags & BASE64_NOPAD))
            out[o++] = '=';
    }
    out[o] = 0;
    return o;
}

/* Each byte's 6-bit value in the standard and the URL alphabet; 0x80 for
 * every other byte (padding, whitespace and junk, which the decoder's
 * careful path below sorts out). The two alphabets differ only in the
 * symbols for 62 and 63 ('+' and '/' against '-' and '_'), so one table body
 * serves both, with the entries of '+', '-', '/' and '_' as parameters. */
#define B64DEC_TABLE(plus, minus, slash, under)                                                    \
    {                                                                                              \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, plus, 0x80, minus, 0x80, slash,                                          \
        0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b,                                            \
        0x3c, 0x3d, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,                                            \
        0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,                                            \
        0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,                                            \
        0x17, 0x18, 0x19, 0x80, 0x80, 0x80, 0x80, under,                                           \
        0x80, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,                                            \
        0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,                                            \
        0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30,                                            \
        0x31, 0x32, 0x33, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,                                            \
    }
static const uint8_t b64dec_std[256] = B64DEC_TABLE(0x3e, 0x80, 0x3f, 0x80);
static const uint8_t b64dec_url[256] = B64DEC_TABLE(0x80, 0x3e, 0x80, 0x3f);
#undef B64DEC_TABLE

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

ecert_status base64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen,
                           int flags)
{
    const uint8_t *val = (flags & BASE64_URL) ? b64dec_url : b64dec_std;
    const unsigned char *u = (const unsigned char *)s;
    uint32_t acc = 0;
    size_t nsym = 0, o = 0, pad = 0, i = 0;
    while (i < n) {
        /* Fast path: at a group boundary, before any padding, whole groups
         * of four alphabet symbols that fit in `out` decode with four table
         * lookups. Anything else (whitespace, '=', a bad byte, a short or
         * full buffer) leaves it for the careful path, one character at a
         * time, so errors and their positions are the same as without it. */
        if (nsym % 4 == 0 && !pad) {
            while (n - i >= 4 && cap - o >= 3) {
                uint32_t a = val[u[i]], b = val[u[i + 1]], c = val[u[i + 2]], d = val[u[i + 3]];
                if ((a | b | c | d) & 0x80)
                    break;
                uint32_t v = a << 18 | b << 12 | c << 6 | d;
                out[o] = (uint8_t)(v >> 16);
                out[o + 1] = (uint8_t)(v >> 8);
                out[o + 2] = (uint8_t)v;
                o += 3;
                i += 4;
                nsym += 4;
            }
            if (i == n)
                break;
        }
        unsigned char c = u[i++];
        if ((flags & BASE64_SKIP_WS) && is_ws(c))
            continue;
        if (c == '=') {
            pad++;
            if (pad > 2)
                return err_set(ECERT_E_MALFORMED, "base64: too much padding at position %zu", i);
            continue;
        }
        if (pad)
            return err_set(ECERT_E_MALFORMED, "base64: data after padding at position %zu", i);
        uint32_t v = val[c];
        if (v & 0x80)
            return err_set(ECERT_E_MALFORMED, "base64: invalid character at position %zu", i);
        acc = acc << 6 | v;
        nsym++;
        if (nsym % 4 == 0) {
            if (o + 3 > cap)
                return err_set(ECERT_E_TOO_LONG, "base64: decoded data exceeds %zu bytes", cap);
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    size_t rem = nsym % 4;
    if (rem == 1)
        return err_set(ECERT_E_MALFORMED, "base64: truncated final group");
    if (pad && rem + pad != 4)
        return err_set(ECERT_E_MALFORMED, "base64: wrong padding");
    if (rem == 2) {
        if (acc & 0xF)
            return err_set(ECERT_E_MALFORMED, "base64: non-zero trailing bits");
        if (o + 1 > cap)
            return err_set(ECERT_E_TOO_LONG, "base64: decoded data exceeds %zu bytes", cap);
        out[o++] = (uint8_t)(acc >> 4);
    } else if (rem == 3) {
        if (acc & 0x3)
            return err_set(ECERT_E_MALFORMED, "base64: non-zero trailing bits");
        if (o + 2 > cap)
            return err_set(ECERT_E_TOO_LONG, "base64: decoded data exceeds %zu bytes", cap);
        out[o++] = (uint8_t)(acc >> 10);
        out[o++] = (uint8_t)(acc >> 2);
    }
    if (nsym == 0)
        return err_set(ECERT_E_MALFORMED, "base64: empty");
    if (outlen)
        *outlen = o;
    return ECERT_OK;
}
