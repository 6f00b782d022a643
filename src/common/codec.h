/*
 * codec.h — hex and base64 (standard and URL-safe), strict by default.
 *
 * Decoders take untrusted text: they never read past `len`, never write past
 * `cap`, and report the first offending position in the error detail.
 */
#ifndef ECERT_COMMON_CODEC_H
#define ECERT_COMMON_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

/* Lowercase hex; `out` must hold 2*n+1 bytes (NUL-terminated). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Hex of either case, even length. Writes n/2 bytes. */
ecert_status hex_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen);
/* true when s[0..n) is a non-empty even-length string of hex digits. */
bool is_hex(const char *s, size_t n);

#define BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)
#define BASE64_DECODED_MAX(n) ((((n) + 3) / 4) * 3)

enum base64_flags {
    BASE64_URL = 1,       /* alphabet - _ instead of + / */
    BASE64_NOPAD = 2,     /* encode: no '=' padding */
    BASE64_SKIP_WS = 4,   /* decode: skip spaces, tabs, CR, LF (MIME line breaks) */
};

/* `out` must hold BASE64_ENCODED_LEN(n)+1 bytes; returns the text length. */
size_t base64_encode(const uint8_t *in, size_t n, char *out, int flags);
/* Decoding accepts text with or without padding (but never a lone 5th-bit
 * group, n % 4 == 1), rejects characters outside the alphabet and non-zero
 * trailing bits, so that each byte string has exactly one accepted text. */
ecert_status base64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen,
                           int flags);

#endif
