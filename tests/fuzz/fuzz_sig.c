/*
 * fuzz_sig — SM2 signature decoders (the envelope's `signature` field, SPEC
 * §3.1: DER with lenient INTEGERs, raw r||s, each as bytes, base64 or hex).
 *
 * The input goes to sm2_sig_decode_bytes, sm2_sig_decode_text and
 * sm2_sig_from_der. For every accepted signature:
 *   - sm2_sig_to_der gives a minimal DER of at most SM2_SIG_DER_MAX bytes that
 *     sm2_sig_from_der reads back to the same r||s, and re-encoding that is
 *     byte-identical (the canonical round trip);
 *   - sm2_verify against a fixed public key and message returns ECERT_OK or
 *     ECERT_E_SIGNATURE, nothing else.
 * The key and message are those of the GB/T 32918.5 Annex A example, so that
 * the seeds built from its signature reach the "valid" path too.
 * A property violation calls abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sm2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Text signatures are short; anything longer only costs time. */
#define MAX_INPUT 4096

static const char pub_hex[] =
    "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
    "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";
static const char msg[] = "message digest";

static struct sm2_key *key;

static _Noreturn void fail(const char *what)
{
    fprintf(stderr, "fuzz_sig: property violated: %s\n", what);
    abort();
}

static void setup(void)
{
    if (!key && sm2_key_parse_public(pub_hex, sizeof pub_hex - 1, &key) != ECERT_OK)
        fail("cannot load the fuzz key");
}

/* Minimal DER: SEQUENCE { INTEGER r, INTEGER s } with short-form lengths and
 * INTEGERs without redundant leading bytes, non-negative. */
static void check_minimal_integer(const uint8_t *p, size_t avail, size_t *used)
{
    if (avail < 3 || p[0] != 0x02 || p[1] == 0 || p[1] > 33 || (size_t)p[1] + 2 > avail)
        fail("sm2_sig_to_der: INTEGER header");
    size_t n = p[1];
    const uint8_t *v = p + 2;
    if (v[0] & 0x80)
        fail("sm2_sig_to_der: negative INTEGER");
    if (n > 1 && v[0] == 0 && !(v[1] & 0x80))
        fail("sm2_sig_to_der: non-minimal INTEGER");
    *used = n + 2;
}

static void check_accepted(const uint8_t rs[SM2_SIG_LEN], const uint8_t *prev, int nprev)
{
    uint8_t der[SM2_SIG_DER_MAX], der2[SM2_SIG_DER_MAX], rs2[SM2_SIG_LEN];
    size_t n = sm2_sig_to_der(rs, der);
    if (n < 8 || n > SM2_SIG_DER_MAX)
        fail("sm2_sig_to_der length");
    if (der[0] != 0x30 || der[1] != n - 2)
        fail("sm2_sig_to_der: SEQUENCE header");
    size_t a, b;
    check_minimal_integer(der + 2, n - 2, &a);
    check_minimal_integer(der + 2 + a, n - 2 - a, &b);
    if (2 + a + b != n)
        fail("sm2_sig_to_der: trailing bytes");

    if (sm2_sig_from_der(der, n, rs2) != ECERT_OK)
        fail("sm2_sig_from_der refused sm2_sig_to_der output");
    if (memcmp(rs, rs2, SM2_SIG_LEN) != 0)
        fail("DER round trip changed r||s");
    if (sm2_sig_to_der(rs2, der2) != n || memcmp(der, der2, n) != 0)
        fail("DER re-encoding is not stable");

    /* Verification is a scalar multiplication: once per distinct r||s. */
    for (int i = 0; i < nprev; i++)
        if (memcmp(prev + (size_t)i * SM2_SIG_LEN, rs, SM2_SIG_LEN) == 0)
            return;
    ecert_status st = sm2_verify(key, NULL, 0, msg, sizeof msg - 1, rs);
    if (st != ECERT_OK && st != ECERT_E_SIGNATURE)
        fail("sm2_verify returned a status other than OK or ECERT_E_SIGNATURE");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    setup();

    /* An exact-size copy as text, so reads past the end are caught. */
    char *text = malloc(size ? size : 1);
    if (!text)
        abort();
    if (size)
        memcpy(text, data, size);

    uint8_t seen[3 * SM2_SIG_LEN] = {0};
    int nseen = 0;
    uint8_t rs[SM2_SIG_LEN];

    if (sm2_sig_decode_bytes(data, size, rs) == ECERT_OK) {
        check_accepted(rs, seen, nseen);
        memcpy(seen + (size_t)nseen++ * SM2_SIG_LEN, rs, SM2_SIG_LEN);
    }
    if (sm2_sig_decode_text(text, size, rs) == ECERT_OK) {
        check_accepted(rs, seen, nseen);
        memcpy(seen + (size_t)nseen++ * SM2_SIG_LEN, rs, SM2_SIG_LEN);
    }
    if (sm2_sig_from_der(data, size, rs) == ECERT_OK) {
        check_accepted(rs, seen, nseen);
        /* DER is one of the forms decode_bytes accepts; unless the input is
         * also a plausible raw r||s (64 bytes), it must agree. */
        uint8_t rs3[SM2_SIG_LEN];
        if (size != SM2_SIG_LEN &&
            (sm2_sig_decode_bytes(data, size, rs3) != ECERT_OK ||
             memcmp(rs, rs3, SM2_SIG_LEN) != 0))
            fail("sm2_sig_decode_bytes disagrees with sm2_sig_from_der");
    }
    free(text);
    return 0;
}
