/*
 * fuzz_sm3 — ecert's own SM3 and HMAC-SM3 (src/crypto/sm3.c) against
 * OpenSSL's on every input.
 *
 * Layout: byte 0 = number of update split points s (low 4 bits), byte 1 =
 * HMAC key length (the key is that many leading bytes of the message, or the
 * whole message when shorter), then s little-endian 16-bit piece lengths, then
 * the message. The message is hashed with one update, with the pieces
 * (cycled; a zero-length piece is an empty update), and by a context copied
 * after the first piece that then takes the rest; each digest and
 * hmac_sm3 must equal EVP_Digest / HMAC with EVP_sm3(). Anything else calls
 * abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto/sm3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SM3_FUZZ_MAX (64 * 1024)

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_sm3: property violated: %s\n", what);
    abort();
}

static void check(const uint8_t got[SM3_LEN], const uint8_t want[SM3_LEN], const char *what)
{
    if (memcmp(got, want, SM3_LEN) != 0)
        fail(what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > SM3_FUZZ_MAX)
        return 0;
    size_t nsplit = data[0] & 15, keylen = data[1];
    data += 2;
    size -= 2;
    uint16_t split[16];
    if (size < 2 * nsplit)
        return 0;
    for (size_t i = 0; i < nsplit; i++)
        split[i] = (uint16_t)(data[2 * i] | data[2 * i + 1] << 8);
    const uint8_t *m = data + 2 * nsplit;
    size_t n = size - 2 * nsplit;
    if (keylen > n)
        keylen = n;

    uint8_t want[SM3_LEN], got[SM3_LEN];
    unsigned int len = 0;
    if (EVP_Digest(m, n, want, &len, EVP_sm3(), NULL) != 1 || len != SM3_LEN)
        fail("EVP_Digest failed");

    if (sm3_digest(m, n, got) != ECERT_OK)
        fail("sm3_digest failed");
    check(got, want, "sm3_digest differs from EVP");

    /* In pieces; after the first piece a copy takes over the rest in one
     * update, the original in the remaining pieces. */
    struct sm3_ctx c, copy;
    sm3_ctx_init(&c);
    size_t off = 0, i = 0, copied_at = SIZE_MAX;
    while (off < n) {
        size_t k = nsplit ? split[i++ % nsplit] % (n - off + 1) : n - off;
        if (nsplit && i > 64 * nsplit && k == 0)
            k = n - off; /* only empty pieces left: finish */
        sm3_ctx_update(&c, m + off, k);
        off += k;
        if (copied_at == SIZE_MAX) {
            copy = c;
            copied_at = off;
        }
    }
    if (copied_at == SIZE_MAX) {
        copy = c;
        copied_at = n;
    }
    sm3_ctx_update(&copy, m + copied_at, n - copied_at);
    sm3_ctx_final(&c, got);
    check(got, want, "split updates differ from EVP");
    sm3_ctx_final(&copy, got);
    check(got, want, "copied context differs from EVP");

    uint8_t mac_want[SM3_LEN];
    if (!HMAC(EVP_sm3(), m, (int)keylen, m, n, mac_want, &len) || len != SM3_LEN)
        fail("HMAC failed");
    if (hmac_sm3(m, keylen, m, n, got) != ECERT_OK)
        fail("hmac_sm3 failed");
    check(got, mac_want, "hmac_sm3 differs from HMAC");
    return 0;
}
