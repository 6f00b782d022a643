/*
 * der.h — a bounded reader for ASN.1 DER/BER-ish TLVs (X.690).
 *
 * Not a general ASN.1 library: it walks one level at a time over a byte range
 * it never leaves, supports single-byte tags and definite lengths up to 4
 * length octets, and leaves leniency decisions (non-minimal INTEGERs, long
 * length forms) to the caller. Nesting is bounded by the callers, which read
 * fixed structures.
 */
#ifndef ECERT_COMMON_DER_H
#define ECERT_COMMON_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#define DER_INTEGER 0x02
#define DER_BIT_STRING 0x03
#define DER_OCTET_STRING 0x04
#define DER_NULL 0x05
#define DER_OID 0x06
#define DER_UTF8STRING 0x0C
#define DER_SEQUENCE 0x30
#define DER_SET 0x31

struct der {
    const uint8_t *p;
    size_t len;
};

/* Reads the next TLV: its tag and a reader over its contents; advances `r`. */
ecert_status der_next(struct der *r, uint8_t *tag, struct der *content);
/* Reads the next TLV and requires `tag`. */
ecert_status der_expect(struct der *r, uint8_t tag, struct der *content);
static inline bool der_empty(const struct der *r)
{
    return r->len == 0;
}
/* An INTEGER's contents as an unsigned big-endian magnitude of at most `width`
 * bytes, left-padded into out[width]. Lenient on purpose (SPEC §3.1): leading
 * zero bytes (non-minimal) and a set top bit (a "negative" INTEGER written by
 * producers that forgot the sign byte) are both read as the magnitude. */
ecert_status der_integer_fixed(const struct der *content, uint8_t *out, size_t width);

/* Walks every TLV of p[len] (every TLV must parse, to the end): ECERT_OK, or
 * ECERT_E_MALFORMED when constructed TLVs nest deeper than max_depth or a TLV
 * is malformed, ECERT_E_TOO_LONG past DER_MAX_ELEMENTS TLVs. Parsers of
 * untrusted ASN.1 call it first so that their own descent is bounded. */
#define DER_MAX_ELEMENTS 200000u
ecert_status der_check_nesting(const uint8_t *p, size_t len, int max_depth);

/* An OBJECT IDENTIFIER's contents as dotted text ("1.2.156.10197.1.401");
 * false when malformed (empty, over 64 bytes, a non-minimal or truncated
 * arc, an arc over 2^57) or longer than cap-1 characters. */
bool der_oid_text(const struct der *oid, char *out, size_t cap);
/* The OID's dotted text is `dotted`. */
bool der_oid_is(const struct der *oid, const char *dotted);

/* Writers: append to out[cap] at *off. */
size_t der_len_size(size_t len);
ecert_status der_put_header(uint8_t *out, size_t cap, size_t *off, uint8_t tag, size_t len);
/* Minimal DER INTEGER of an unsigned big-endian magnitude. */
ecert_status der_put_uint(uint8_t *out, size_t cap, size_t *off, const uint8_t *mag, size_t n);
size_t der_uint_size(const uint8_t *mag, size_t n);

#endif
