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

static int b64val(unsigned char c, int flags)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (flags & BASE64_URL) {
        if (c == '-')
            return 62;
        if (c == '_')
            return 63;
    } else {
        if (c == '+')
            return 62;
        if (c == '/')
            return 63;
    }
    return -1;
}

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

ecert_status base64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen,
                           int flags)
{
    uint32_t acc = 0;
    size_t nsym = 0, o = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((flags & BASE64_SKIP_WS) && is_ws(c))
            continue;
        if (c == '=') {
            pad++;
            if (pad > 2)
                return err_set(ECERT_E_MALFORMED, "base64: too much padding at position %zu",
                               i + 1);
            continue;
        }
        if (pad)
            return err_set(ECERT_E_MALFORMED, "base64: data after padding at position %zu",
                           i + 1);
        int v = b64val(c, flags);
        if (v < 0)
            return err_set(ECERT_E_MALFORMED, "base64: invalid character at position %zu", i + 1);
        acc = acc << 6 | (uint32_t)v;
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
