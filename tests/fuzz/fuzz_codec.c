/*
 * fuzz_codec — hex and base64 codecs (src/common/codec.h).
 *
 * The input is used twice:
 *   1. as text for every decoder (hex; base64 with each combination of URL,
 *      NOPAD and SKIP_WS): an accepted text must be the canonical encoding of
 *      what it decoded to (the decoders are strict, so each byte string has
 *      exactly one accepted text, modulo case for hex and padding/whitespace
 *      for base64), and a one-byte-too-small output buffer must be refused;
 *   2. as bytes for every encoder: decoding the encoding gives the bytes back.
 * Output buffers are heap blocks of the exact size allowed, so that ASan sees
 * any write past `cap`. A property violation calls abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Linear work only, but keep single runs fast. */
#define MAX_INPUT (64 * 1024)

static _Noreturn void fail(const char *what)
{
    fprintf(stderr, "fuzz_codec: property violated: %s\n", what);
    abort();
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ---- decoders on arbitrary text ----------------------------------------- */

static void check_hex_decode(const char *s, size_t n)
{
    size_t cap = n / 2;
    uint8_t *out = xmalloc(cap);
    size_t outlen = (size_t)-1;
    ecert_status st = hex_decode(s, n, out, cap, &outlen);

    /* is_hex is the cheap pre-check callers use to pick a decoder: it must
     * agree with the decoder (it additionally refuses the empty string). */
    if (is_hex(s, n) != (st == ECERT_OK && n > 0))
        fail("is_hex disagrees with hex_decode");
    if (st != ECERT_OK) {
        free(out);
        return;
    }
    if (outlen != n / 2)
        fail("hex_decode length");

    char *enc = xmalloc(2 * outlen + 1);
    hex_encode(out, outlen, enc);
    for (size_t i = 0; i < n; i++)
        if (enc[i] != lower(s[i]))
            fail("hex round trip (lowercase re-encode != lowercased input)");
    if (enc[n] != '\0')
        fail("hex_encode termination");
    free(enc);

    /* A buffer one byte short must be refused, not overrun. */
    if (outlen > 0) {
        uint8_t *small = xmalloc(outlen - 1);
        if (hex_decode(s, n, small, outlen - 1, NULL) != ECERT_E_TOO_LONG)
            fail("hex_decode accepted a too-small buffer");
        free(small);
    }
    free(out);
}

static void check_base64_decode(const char *s, size_t n, int flags)
{
    size_t cap = BASE64_DECODED_MAX(n);
    uint8_t *out = xmalloc(cap);
    size_t outlen = (size_t)-1;
    if (base64_decode(s, n, out, cap, &outlen, flags) != ECERT_OK) {
        free(out);
        return;
    }
    if (outlen == 0 || outlen > cap)
        fail("base64_decode length");

    /* The input with whitespace removed (only skipped when asked to). */
    char *t = xmalloc(n);
    size_t tn = 0;
    for (size_t i = 0; i < n; i++) {
        if ((flags & BASE64_SKIP_WS) && is_ws(s[i]))
            continue;
        t[tn++] = s[i];
    }

    /* Strict decoder: the text is exactly the padded or the unpadded
     * encoding in the alphabet chosen by BASE64_URL. */
    int abc = flags & BASE64_URL;
    char *padded = xmalloc(BASE64_ENCODED_LEN(outlen) + 1);
    char *bare = xmalloc(BASE64_ENCODED_LEN(outlen) + 1);
    size_t pn = base64_encode(out, outlen, padded, abc);
    size_t bn = base64_encode(out, outlen, bare, abc | BASE64_NOPAD);
    if (pn != BASE64_ENCODED_LEN(outlen) || strlen(padded) != pn || strlen(bare) != bn)
        fail("base64_encode length");
    if (!((tn == pn && memcmp(t, padded, pn) == 0) || (tn == bn && memcmp(t, bare, bn) == 0)))
        fail("base64 round trip (decoded text is not the canonical encoding)");

    uint8_t *small = xmalloc(outlen - 1);
    if (base64_decode(s, n, small, outlen - 1, NULL, flags) != ECERT_E_TOO_LONG)
        fail("base64_decode accepted a too-small buffer");

    free(small);
    free(bare);
    free(padded);
    free(t);
    free(out);
}

/* ---- encoders on arbitrary bytes ------------------------------------------ */

static void check_hex_encode(const uint8_t *p, size_t n)
{
    char *enc = xmalloc(2 * n + 1);
    hex_encode(p, n, enc);
    if (strlen(enc) != 2 * n)
        fail("hex_encode length");
    uint8_t *dec = xmalloc(n);
    size_t dn = (size_t)-1;
    if (hex_decode(enc, 2 * n, dec, n, &dn) != ECERT_OK || dn != n || memcmp(dec, p, n) != 0)
        fail("hex encode/decode round trip");
    free(dec);
    free(enc);
}

/* Inserts CRLF every 76 characters, as MIME does. */
static char *mime_wrap(const char *s, size_t n, size_t *outn)
{
    char *w = xmalloc(n + 2 * (n / 76) + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && i % 76 == 0) {
            w[o++] = '\r';
            w[o++] = '\n';
        }
        w[o++] = s[i];
    }
    *outn = o;
    return w;
}

static void check_base64_encode(const uint8_t *p, size_t n, int flags)
{
    char *enc = xmalloc(BASE64_ENCODED_LEN(n) + 1);
    size_t en = base64_encode(p, n, enc, flags);
    if (en != strlen(enc) || en > BASE64_ENCODED_LEN(n))
        fail("base64_encode length");
    if (!(flags & BASE64_NOPAD) && en != BASE64_ENCODED_LEN(n))
        fail("base64_encode padded length");
    if ((flags & BASE64_NOPAD) && memchr(enc, '=', en))
        fail("base64_encode padded despite NOPAD");

    /* Empty input encodes to "", which the decoder refuses by design. */
    if (n == 0) {
        free(enc);
        return;
    }
    int dflags = flags & BASE64_URL;
    uint8_t *dec = xmalloc(n);
    size_t dn = (size_t)-1;
    if (base64_decode(enc, en, dec, n, &dn, dflags) != ECERT_OK || dn != n ||
        memcmp(dec, p, n) != 0)
        fail("base64 encode/decode round trip");

    size_t wn;
    char *wrapped = mime_wrap(enc, en, &wn);
    dn = (size_t)-1;
    if (base64_decode(wrapped, wn, dec, n, &dn, dflags | BASE64_SKIP_WS) != ECERT_OK ||
        dn != n || memcmp(dec, p, n) != 0)
        fail("base64 encode/decode round trip with line breaks");
    free(wrapped);
    free(dec);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    /* An exact-size copy as text, so reads past the end are caught. */
    char *s = xmalloc(size);
    if (size)
        memcpy(s, data, size);

    check_hex_decode(s, size);
    for (int flags = 0; flags < 8; flags++)
        check_base64_decode(s, size, flags);

    check_hex_encode(data, size);
    for (int flags = 0; flags < 4; flags++)
        check_base64_encode(data, size, flags);

    free(s);
    return 0;
}
