/*
 * fuzz_token — trusted tokens (SPEC §6): token_verify and token_claims_parse
 * on arbitrary bytes.
 *
 * The same input is tried both as a whole token and as a claims JSON text
 * (the verifier never parses claims before the signature holds, so the
 * claims parser would be unreachable through forged tokens alone).
 * Properties, each violation an abort():
 *   - token_verify returns OK, ECERT_E_TOKEN or ECERT_E_TOKEN_EXPIRED;
 *   - OK: the claims satisfy every rule (issuer, holder code for its type,
 *     aty, perm, iat <= exp, the clock) and every string ends inside its
 *     field; failure: the output is all zero;
 *   - EXPIRED is only reported for a genuine token: the same token verifies
 *     at exp - 1;
 *   - accepted claims JSON is exactly what token_issue can write: issued with
 *     the fixed trust key, the token verifies back to identical claims.
 * The trust key is the fixed one of tests/unit/test_token.c, so that the
 * seeds (tokens signed with it) reach the success paths.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes/ids.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/error.h"
#include "crypto/sm2.h"
#include "token/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TRUST_D "582d577528a6276f024012a3547cae55478f6972768f55b81fb94c93778dbbf2"
/* The clock of the fuzz run: the seeds are valid at this instant. */
#define NOW 1764345600

static struct sm2_key *trust_key, *trust_pub;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_token: property violated: %s\n", what);
    abort();
}

static void setup(void)
{
    if (trust_key)
        return;
    char pub[131];
    if (sm2_key_parse_private(TRUST_D, strlen(TRUST_D), &trust_key) != ECERT_OK)
        fail("cannot load the fuzz key");
    sm2_key_public_hex(trust_key, pub);
    if (sm2_key_parse_public(pub, 130, &trust_pub) != ECERT_OK)
        fail("cannot load the fuzz public key");
}

static size_t field_len(const char *s, size_t size, const char *what)
{
    const char *z = memchr(s, 0, size);
    if (!z)
        fail(what);
    return (size_t)(z - s);
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Every rule of an accepted claim set, checked independently of token.c. */
static void check_claims(const struct token_claims *c)
{
    if (strcmp(c->iss, "YRD-TRUST") != 0)
        fail("accepted iss is not YRD-TRUST");
    size_t sty = field_len(c->sty, sizeof c->sty, "sty not terminated");
    size_t sub = field_len(c->sub, sizeof c->sub, "sub not terminated");
    if (sty != 3 || !all_digits(c->sty, 3))
        fail("accepted sty is not 3 digits");
    if (sub == 0 || ids_holder_check(c->sty, sty, c->sub, sub) != ECERT_OK)
        fail("accepted sub is not a valid holder code for sty");
    size_t name = field_len(c->name, sizeof c->name, "name not terminated");
    for (size_t i = 0; i < name; i++)
        if ((unsigned char)c->name[i] < 0x20 || c->name[i] == 0x7f)
            fail("accepted name has a control character");
    if (c->aty < 1 || c->aty > 3)
        fail("accepted aty outside 1..3");
    if (field_len(c->app, sizeof c->app, "app not terminated") == 0)
        fail("accepted app is empty");
    if (c->nperm > TOKEN_MAX_PERM)
        fail("accepted nperm over TOKEN_MAX_PERM");
    for (size_t i = 0; i < c->nperm; i++) {
        if (field_len(c->perm[i], sizeof c->perm[i], "perm not terminated") != 21)
            fail("accepted perm entry is not 21 characters");
        if (!all_digits(c->perm[i] + 18, 3))
            fail("accepted perm entry does not end in 3 digits");
        if (!token_permits(c, c->perm[i]))
            fail("token_permits refuses a listed type");
    }
    if (c->nperm == 0 && !token_permits(c, "11100000000013338W032"))
        fail("empty perm does not permit every type");
    if (c->iat <= 0 || c->iat > c->exp)
        fail("accepted iat/exp out of order");
    size_t jti = field_len(c->jti, sizeof c->jti, "jti not terminated");
    if (jti == 0)
        fail("accepted jti is empty");
}

static int is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* The exp of the claims part of a token (0 when it does not parse). */
static int64_t claims_exp(const uint8_t *data, size_t size)
{
    const uint8_t *d1 = memchr(data, '.', size);
    const uint8_t *d2 = d1 ? memchr(d1 + 1, '.', size - (size_t)(d1 + 1 - data)) : NULL;
    if (!d2)
        return 0;
    size_t n = (size_t)(d2 - d1 - 1), out = 0;
    uint8_t *json = malloc(n + 1);
    if (!json)
        abort();
    struct token_claims c;
    int64_t exp = 0;
    if (base64_decode((const char *)d1 + 1, n, json, n + 1, &out, BASE64_URL) == ECERT_OK &&
        token_claims_parse((const char *)json, out, &c) == ECERT_OK)
        exp = c.exp;
    free(json);
    return exp;
}

static void fuzz_verify(const char *text, size_t size)
{
    struct token_claims c;
    ecert_status st = token_verify(text, size, trust_pub, NOW, &c);
    if (st == ECERT_OK) {
        check_claims(&c);
        if (NOW >= c.exp)
            fail("an expired token was accepted");
        if (c.iat > NOW + TOKEN_MAX_SKEW_S)
            fail("a token from the future was accepted");
        /* Verifying twice gives the same claims (no hidden state). */
        struct token_claims again;
        if (token_verify(text, size, trust_pub, NOW, &again) != ECERT_OK ||
            memcmp(&c, &again, sizeof c) != 0)
            fail("a second verify differs");
        return;
    }
    if (st != ECERT_E_TOKEN && st != ECERT_E_TOKEN_EXPIRED)
        fail("token_verify returned a status other than OK, 3002 or 3003");
    if (!is_zero(&c, sizeof c))
        fail("a refused token left claims behind");
    if (st == ECERT_E_TOKEN_EXPIRED) {
        int64_t exp = claims_exp((const uint8_t *)text, size);
        if (exp <= 0)
            fail("EXPIRED for a token whose claims do not parse");
        if (token_verify(text, size, trust_pub, exp - 1, NULL) != ECERT_OK)
            fail("EXPIRED for a token that does not verify before its expiry");
    }
}

static void fuzz_claims(const char *text, size_t size)
{
    struct token_claims c;
    ecert_status st = token_claims_parse(text, size, &c);
    if (st != ECERT_OK) {
        if (st != ECERT_E_TOKEN)
            fail("token_claims_parse returned a status other than OK or 3002");
        if (!is_zero(&c, sizeof c))
            fail("refused claims left data behind");
        return;
    }
    check_claims(&c);
    /* What the parser accepts, the issuer writes and the verifier reads back. */
    struct buf tok = BUF_INIT(TOKEN_MAX_LEN);
    st = token_issue(&c, trust_key, &tok);
    if (st != ECERT_OK)
        fail("token_issue refused accepted claims");
    struct token_claims v;
    /* At iat - 1: inside the skew allowance and before exp even when
     * exp == iat. */
    if (token_verify((const char *)tok.data, tok.len, trust_pub, c.iat - 1, &v) != ECERT_OK)
        fail("an issued token does not verify");
    if (memcmp(&c, &v, sizeof c) != 0)
        fail("issue and verify changed the claims");
    buf_release(&tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > TOKEN_MAX_LEN + 64)
        return 0;
    setup();
    /* An exact-size copy, so reads past the end are caught. */
    char *text = malloc(size ? size : 1);
    if (!text)
        abort();
    if (size)
        memcpy(text, data, size);
    fuzz_verify(text, size);
    fuzz_claims(text, size);
    free(text);
    return 0;
}
