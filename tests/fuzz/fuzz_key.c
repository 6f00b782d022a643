/*
 * fuzz_key — SM2 key parsers (configuration files, the trust directory, CLI
 * arguments): sm2_key_parse_private and sm2_key_parse_public on arbitrary
 * text (hex or PEM, SPEC §3.3 "Keys").
 *
 * For every accepted key the exports must parse back to the same key:
 *   private: private bytes -> 64 hex -> parse -> same d and same public point;
 *            private PEM -> parse -> same d;
 *   public:  public hex -> parse -> same point; public PEM -> parse -> same
 *            point (also for the public half of a private key).
 * A private parse yields a key with a private part, a public parse one
 * without. A property violation calls abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/codec.h"
#include "common/secure.h"
#include "crypto/sm2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A PEM key is a few hundred bytes; parsing goes through OpenSSL's decoders
 * and derives the public point, so bound the work per input. */
#define MAX_INPUT 8192
#define PEM_MAX 4096

static _Noreturn void fail(const char *what)
{
    fprintf(stderr, "fuzz_key: property violated: %s\n", what);
    abort();
}

static void same_public(const struct sm2_key *a, const struct sm2_key *b, const char *what)
{
    if (memcmp(sm2_key_public_xy(a), sm2_key_public_xy(b), SM2_POINT_LEN) != 0) {
        fprintf(stderr, "fuzz_key: %s\n", what);
        fail("re-parsed key has another public point");
    }
}

static void check_public_exports(const struct sm2_key *k)
{
    char hex[131];
    struct sm2_key *k2 = NULL;
    sm2_key_public_hex(k, hex);
    if (strlen(hex) != 130 || hex[0] != '0' || hex[1] != '4')
        fail("sm2_key_public_hex is not 04 + 128 hex");
    if (sm2_key_parse_public(hex, 130, &k2) != ECERT_OK)
        fail("sm2_key_parse_public refused sm2_key_public_hex output");
    same_public(k, k2, "public hex");
    if (sm2_key_has_private(k2))
        fail("public parse produced a private key");
    sm2_key_free(k2);

    struct buf pem = BUF_INIT(PEM_MAX);
    k2 = NULL;
    if (sm2_key_public_pem(k, &pem) != ECERT_OK)
        fail("sm2_key_public_pem failed");
    if (sm2_key_parse_public((const char *)pem.data, pem.len, &k2) != ECERT_OK)
        fail("sm2_key_parse_public refused sm2_key_public_pem output");
    same_public(k, k2, "public PEM");
    sm2_key_free(k2);
    buf_release(&pem);
}

static void check_private(const struct sm2_key *k)
{
    if (!sm2_key_has_private(k))
        fail("private parse produced a public-only key");

    uint8_t d[SM2_SCALAR_LEN], d2[SM2_SCALAR_LEN];
    char hex[2 * SM2_SCALAR_LEN + 1];
    struct sm2_key *k2 = NULL;
    if (sm2_key_private_bytes(k, d) != ECERT_OK)
        fail("sm2_key_private_bytes failed");
    hex_encode(d, sizeof d, hex);
    if (sm2_key_parse_private(hex, 2 * SM2_SCALAR_LEN, &k2) != ECERT_OK)
        fail("sm2_key_parse_private refused its own private bytes");
    if (sm2_key_private_bytes(k2, d2) != ECERT_OK || memcmp(d, d2, sizeof d) != 0)
        fail("private hex round trip changed d");
    same_public(k, k2, "private hex");
    sm2_key_free(k2);

    struct buf pem = BUF_INIT(PEM_MAX);
    k2 = NULL;
    if (sm2_key_private_pem(k, &pem) != ECERT_OK)
        fail("sm2_key_private_pem failed");
    if (sm2_key_parse_private((const char *)pem.data, pem.len, &k2) != ECERT_OK)
        fail("sm2_key_parse_private refused sm2_key_private_pem output");
    if (sm2_key_private_bytes(k2, d2) != ECERT_OK || memcmp(d, d2, sizeof d) != 0)
        fail("private PEM round trip changed d");
    same_public(k, k2, "private PEM");
    sm2_key_free(k2);
    buf_release_secret(&pem);

    secure_wipe(d, sizeof d);
    secure_wipe(d2, sizeof d2);
    secure_wipe(hex, sizeof hex);
    check_public_exports(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    /* An exact-size copy as text, so reads past the end are caught. */
    char *text = malloc(size ? size : 1);
    if (!text)
        abort();
    if (size)
        memcpy(text, data, size);

    struct sm2_key *k = NULL;
    if (sm2_key_parse_private(text, size, &k) == ECERT_OK) {
        check_private(k);
        sm2_key_free(k);
    } else if (k) {
        fail("failed sm2_key_parse_private set *out");
    }

    k = NULL;
    if (sm2_key_parse_public(text, size, &k) == ECERT_OK) {
        if (sm2_key_has_private(k))
            fail("sm2_key_parse_public produced a private key");
        check_public_exports(k);
        sm2_key_free(k);
    } else if (k) {
        fail("failed sm2_key_parse_public set *out");
    }
    free(text);
    return 0;
}
