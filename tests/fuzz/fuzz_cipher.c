/*
 * fuzz_cipher — SM2 ciphertext decoding and decryption (sm2_decrypt), the
 * parser every envelope's encryptData goes through (SPEC §3.3).
 *
 * 1. The input, as is, is decrypted with a fixed private key, with flags 0 and
 *    with SM2_DECRYPT_STRICT_ORDER. Each call must return ECERT_OK with a
 *    plaintext or ECERT_E_DECRYPT with nothing appended (no unauthenticated
 *    plaintext may leak out of a failed decryption); a strict-order success
 *    must be a default success with the same plaintext.
 * 2. Short inputs (<= 64 bytes) are also used as a message: it is encrypted to
 *    the same key, encoded in every ecert_cipher_format, and each text (plus
 *    one extra accepted form: uppercase hex, base64 of the hex, or the legacy
 *    C1||C2||C3 order) must decrypt to the message again.
 *
 * The key is that of the GB/T 32918.5 Annex C example (tests/data/vectors/
 * sm2.json), so that the vectors' ciphertexts decrypt and the seeds reach the
 * whole decoder, including the x1-starting-with-04 case. The ephemeral k is
 * derived from the input, so that a failing input reproduces exactly.
 * A property violation calls abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/codec.h"
#include "crypto/sm2.h"
#include "crypto/sm3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Largest input decrypted (a KDF and hash over it per attempt) and largest
 * message for the encrypt round trip (a scalar multiplication per format). */
#define MAX_INPUT 8192
#define MAX_ROUNDTRIP 64
#define TEXT_MAX 4096

static const char key_hex[] = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";

static struct sm2_key *key;

static _Noreturn void fail(const char *what)
{
    fprintf(stderr, "fuzz_cipher: property violated: %s\n", what);
    abort();
}

/* Once per process; the key is immutable and lives until exit. */
static void setup(void)
{
    if (!key && sm2_key_parse_private(key_hex, sizeof key_hex - 1, &key) != ECERT_OK)
        fail("cannot load the fuzz key");
}

static ecert_status decrypt(const uint8_t *in, size_t len, int flags, struct buf *plain)
{
    ecert_status st = sm2_decrypt(key, in, len, flags, plain);
    if (st != ECERT_OK && st != ECERT_E_DECRYPT)
        fail("sm2_decrypt returned a status other than OK or ECERT_E_DECRYPT");
    if (st != ECERT_OK && plain->len != 0)
        fail("failed sm2_decrypt appended plaintext");
    if (st == ECERT_OK && plain->len >= len)
        fail("plaintext not shorter than the ciphertext");
    return st;
}

/* ---- 1. arbitrary input ------------------------------------------------- */

static void check_arbitrary(const uint8_t *data, size_t size)
{
    struct buf any = BUF_INIT(SM2_MAX_PLAINTEXT);
    struct buf strict = BUF_INIT(SM2_MAX_PLAINTEXT);
    ecert_status st_any = decrypt(data, size, 0, &any);
    ecert_status st_strict = decrypt(data, size, SM2_DECRYPT_STRICT_ORDER, &strict);

    /* The default tries C1||C3||C2 first, so it agrees with strict mode. */
    if (st_strict == ECERT_OK &&
        (st_any != ECERT_OK || any.len != strict.len ||
         (any.len && memcmp(any.data, strict.data, any.len) != 0)))
        fail("strict-order success but default decrypt differs");
    buf_release_secret(&strict);
    buf_release_secret(&any);
}

/* ---- 2. round trip ---------------------------------------------------------- */

static void expect_plain(const void *ct, size_t ctlen, int flags, const uint8_t *msg, size_t len,
                         const char *what)
{
    struct buf plain = BUF_INIT(SM2_MAX_PLAINTEXT);
    if (decrypt(ct, ctlen, flags, &plain) != ECERT_OK) {
        fprintf(stderr, "fuzz_cipher: %s does not decrypt\n", what);
        fail("round trip");
    }
    if (plain.len != len || (len && memcmp(plain.data, msg, len) != 0)) {
        fprintf(stderr, "fuzz_cipher: %s decrypts to another message\n", what);
        fail("round trip");
    }
    buf_release_secret(&plain);
}

/* The text each format must produce, checked beyond "it decrypts". */
static void check_encoding(const struct buf *raw, ecert_cipher_format fmt, const struct buf *text)
{
    char *hex = malloc(2 * raw->len + 1);
    if (!hex)
        abort();
    hex_encode(raw->data, raw->len, hex);
    switch (fmt) {
    case ECERT_CIPHER_HEX:
        if (text->len != 2 * raw->len - 2 || memcmp(text->data, hex + 2, text->len) != 0)
            fail("ECERT_CIPHER_HEX is not lowercase hex without 04");
        break;
    case ECERT_CIPHER_HEX04:
        if (text->len != 2 * raw->len || memcmp(text->data, hex, text->len) != 0)
            fail("ECERT_CIPHER_HEX04 is not lowercase hex with 04");
        break;
    case ECERT_CIPHER_BASE64: {
        uint8_t dec[SM2_CIPHER_OVERHEAD + MAX_ROUNDTRIP];
        size_t dn = 0;
        if (base64_decode((const char *)text->data, text->len, dec, sizeof dec, &dn, 0) !=
                ECERT_OK ||
            dn != raw->len || memcmp(dec, raw->data, dn) != 0)
            fail("ECERT_CIPHER_BASE64 is not base64 of the raw ciphertext");
        break;
    }
    case ECERT_CIPHER_DER: {
        uint8_t dec[SM2_CIPHER_OVERHEAD + MAX_ROUNDTRIP + 32];
        size_t dn = 0;
        if (base64_decode((const char *)text->data, text->len, dec, sizeof dec, &dn, 0) !=
                ECERT_OK ||
            dn < 2 || dec[0] != 0x30)
            fail("ECERT_CIPHER_DER is not base64 of a DER SEQUENCE");
        break;
    }
    }
    free(hex);
}

static void check_roundtrip(const uint8_t *msg, size_t len)
{
    /* k = SM3(tag || msg): deterministic, so a crash replays exactly. */
    uint8_t kk[SM2_SCALAR_LEN];
    struct sm3 *h = NULL;
    if (sm3_new(&h) != ECERT_OK || sm3_update(h, "fuzz_cipher k", 13) != ECERT_OK ||
        sm3_update(h, msg, len) != ECERT_OK || sm3_final(h, kk) != ECERT_OK)
        fail("sm3");
    sm3_free(h);

    struct buf raw = BUF_INIT(SM2_CIPHER_OVERHEAD + MAX_ROUNDTRIP);
    ecert_status st = sm2_encrypt_with_k(key, msg, len, kk, &raw);
    if (st != ECERT_OK) {
        /* A k outside [1, n-1] (probability ~2^-32) may be refused. */
        buf_reset(&raw);
        st = sm2_encrypt(key, msg, len, &raw);
    }
    if (st != ECERT_OK) {
        if (len == 0) /* an empty message may be refused */
            return;
        fail("sm2_encrypt failed on a short message");
    }
    if (raw.len != SM2_CIPHER_OVERHEAD + len || raw.data[0] != 0x04)
        fail("sm2_encrypt output is not 04||x||y||C3||C2");

    static const ecert_cipher_format fmts[] = {ECERT_CIPHER_HEX, ECERT_CIPHER_HEX04,
                                               ECERT_CIPHER_BASE64, ECERT_CIPHER_DER};
    struct buf text = BUF_INIT(TEXT_MAX);
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        buf_reset(&text);
        if (sm2_cipher_encode(raw.data, raw.len, fmts[i], &text) != ECERT_OK)
            fail("sm2_cipher_encode failed");
        check_encoding(&raw, fmts[i], &text);
        expect_plain(text.data, text.len, 0, msg, len, sm2_cipher_format_name(fmts[i]));
    }

    /* One more accepted form per input, chosen by its length, to keep the
     * run rate up (each decryption is a scalar multiplication). */
    uint8_t alt[2 * (SM2_CIPHER_OVERHEAD + MAX_ROUNDTRIP) + 1];
    char b64[BASE64_ENCODED_LEN(sizeof alt) + 1];
    switch (len % 4) {
    case 0: /* the canonical form in strict mode */
        expect_plain(raw.data, raw.len, SM2_DECRYPT_STRICT_ORDER, msg, len, "raw (strict)");
        break;
    case 1: /* uppercase hex with 04 */
        hex_encode(raw.data, raw.len, (char *)alt);
        for (size_t i = 0; i < 2 * raw.len; i++)
            if (alt[i] >= 'a' && alt[i] <= 'f')
                alt[i] = (uint8_t)(alt[i] - 'a' + 'A');
        expect_plain(alt, 2 * raw.len, 0, msg, len, "uppercase hex");
        break;
    case 2: { /* base64 of the canonical hex text (no 04) */
        hex_encode(raw.data + 1, raw.len - 1, (char *)alt);
        size_t n = base64_encode(alt, 2 * (raw.len - 1), b64, 0);
        expect_plain(b64, n, 0, msg, len, "base64 of hex");
        break;
    }
    case 3: { /* legacy C1||C2||C3: accepted by default, refused in strict mode */
        memcpy(alt, raw.data, 1 + SM2_POINT_LEN);
        memcpy(alt + 1 + SM2_POINT_LEN, raw.data + SM2_CIPHER_OVERHEAD, len);
        memcpy(alt + 1 + SM2_POINT_LEN + len, raw.data + 1 + SM2_POINT_LEN, SM2_C3_LEN);
        expect_plain(alt, raw.len, 0, msg, len, "legacy C1||C2||C3");
        struct buf plain = BUF_INIT(SM2_MAX_PLAINTEXT);
        if (decrypt(alt, raw.len, SM2_DECRYPT_STRICT_ORDER, &plain) == ECERT_OK)
            fail("strict order accepted a C1||C2||C3 ciphertext");
        buf_release_secret(&plain);
        break;
    }
    }
    buf_release(&text);
    buf_release(&raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    setup();
    check_arbitrary(data, size);
    if (size <= MAX_ROUNDTRIP)
        check_roundtrip(data, size);
    return 0;
}
