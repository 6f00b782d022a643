/*
 * sm2_sig.c — the encodings of an SM2 signature (r, s).
 *
 * Out: minimal DER SEQUENCE { INTEGER r, INTEGER s } or raw r||s.
 * In: whatever peers actually send (SPEC §3.1): DER with non-minimal INTEGERs
 * (extra leading zeros) or "negative" ones (a missing 00 sign byte), raw
 * 64-byte r||s, each as bytes, base64 or hex.
 */
#include <string.h>

#include "common/codec.h"
#include "common/der.h"
#include "common/error.h"
#include "crypto/sm2.h"

size_t sm2_sig_to_der(const uint8_t rs[SM2_SIG_LEN], uint8_t der[SM2_SIG_DER_MAX])
{
    size_t body = der_uint_size(rs, 32) + der_uint_size(rs + 32, 32);
    size_t off = 0;
    /* Cannot fail: 72 bytes hold the largest case (2 + 2 * 35). */
    der_put_header(der, SM2_SIG_DER_MAX, &off, DER_SEQUENCE, body);
    der_put_uint(der, SM2_SIG_DER_MAX, &off, rs, 32);
    der_put_uint(der, SM2_SIG_DER_MAX, &off, rs + 32, 32);
    return off;
}

ecert_status sm2_sig_from_der(const uint8_t *p, size_t len, uint8_t rs[SM2_SIG_LEN])
{
    struct der in = {p, len}, seq, ir, is;
    ecert_status st = der_expect(&in, DER_SEQUENCE, &seq);
    if (!st && !der_empty(&in))
        st = err_set(ECERT_E_MALFORMED, "DER: %zu bytes after the signature", in.len);
    if (!st)
        st = der_expect(&seq, DER_INTEGER, &ir);
    if (!st)
        st = der_expect(&seq, DER_INTEGER, &is);
    if (!st && !der_empty(&seq))
        st = err_set(ECERT_E_MALFORMED, "DER: extra data inside the signature");
    if (!st)
        st = der_integer_fixed(&ir, rs, 32);
    if (!st)
        st = der_integer_fixed(&is, rs + 32, 32);
    return st ? err_wrap(st, "signature") : ECERT_OK;
}

ecert_status sm2_sig_decode_bytes(const uint8_t *p, size_t len, uint8_t rs[SM2_SIG_LEN])
{
    /* A DER signature is at most 72 bytes here (non-minimal INTEGERs add a
     * few); raw is exactly 64. DER is tried first: a raw r||s that happens to
     * parse as a complete DER SEQUENCE of two INTEGERs is not a practical
     * concern (its first bytes would have to be 30 3e 02 ...). */
    if (len >= 8 && len <= 80 && p[0] == DER_SEQUENCE && sm2_sig_from_der(p, len, rs) == ECERT_OK)
        return ECERT_OK;
    if (len == SM2_SIG_LEN) {
        memcpy(rs, p, SM2_SIG_LEN);
        return ECERT_OK;
    }
    if (len >= 2 && p[0] == DER_SEQUENCE)
        return sm2_sig_from_der(p, len, rs); /* for its error detail */
    return err_set(ECERT_E_MALFORMED,
                   "signature: %zu bytes is neither DER nor 64-byte raw r||s", len);
}

ecert_status sm2_sig_decode_text(const char *text, size_t len, uint8_t rs[SM2_SIG_LEN])
{
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    while (len && (text[0] == ' ' || text[0] == '\n' || text[0] == '\r'))
        text++, len--;
    if (len == 0)
        return err_set(ECERT_E_MALFORMED, "signature: empty");
    if (len > 256)
        return err_set(ECERT_E_TOO_LONG, "signature: %zu characters (at most 256)", len);
    uint8_t bytes[192];
    size_t n = 0;
    /* Hex first: base64 text of these lengths almost never consists of hex
     * digits only, and if it did, the hex reading failing falls through. */
    if (is_hex(text, len) && hex_decode(text, len, bytes, sizeof bytes, &n) == ECERT_OK &&
        sm2_sig_decode_bytes(bytes, n, rs) == ECERT_OK)
        return ECERT_OK;
    if (base64_decode(text, len, bytes, sizeof bytes, &n, 0) == ECERT_OK &&
        sm2_sig_decode_bytes(bytes, n, rs) == ECERT_OK)
        return ECERT_OK;
    return err_set(ECERT_E_MALFORMED,
                   "signature: not base64 or hex of a DER or raw r||s signature");
}
