/*
 * test_token.c — trusted tokens (src/token/token.c, SPEC §6).
 *
 * Tokens with arbitrary claims are built here by hand (base64url, SM2 sign,
 * DER), so that every claim rule is reached behind a valid signature: the
 * verifier checks the signature before it looks at the claims.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/codec.h"
#include "common/error.h"
#include "crypto/sm2.h"
#include "token/token.h"

/* The fixed trust key of these tests and of tests/fuzz/fuzz_token.c. */
#define TRUST_D "582d577528a6276f024012a3547cae55478f6972768f55b81fb94c93778dbbf2"
#define TRUST_PUB                                                                                  \
    "0422b1007f22c3b0a3e8ae1a7369457612612bb6120bac28af4abfb2f736bdd90c8624807d46daf794448007b8"   \
    "08761e2d833a593171fa208854b80d677be72dcd"

/* GB 11643 and GB 32100 examples (valid check characters). */
#define CITIZEN "11010519491231002X"
#define USCC "91350100M000100Y43"
#define TYPE_A "11100000000013338W032"
#define TYPE_B "11100000000013338W011"
#define NOW 1764345600

static struct sm2_key *trust_key, *trust_pub, *other_key;

static int setup(void **state)
{
    (void)state;
    if (sm2_key_parse_private(TRUST_D, strlen(TRUST_D), &trust_key) != ECERT_OK ||
        sm2_key_parse_public(TRUST_PUB, strlen(TRUST_PUB), &trust_pub) != ECERT_OK ||
        sm2_key_generate(&other_key) != ECERT_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sm2_key_free(trust_key);
    sm2_key_free(trust_pub);
    sm2_key_free(other_key);
    return 0;
}

static void base_claims(struct token_claims *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->iss, sizeof c->iss, "YRD-TRUST");
    snprintf(c->sub, sizeof c->sub, CITIZEN);
    snprintf(c->sty, sizeof c->sty, "111");
    snprintf(c->name, sizeof c->name, "\xe5\xbc\xa0\xe4\xb8\x89"); /* 张三 */
    c->aty = 1;
    snprintf(c->app, sizeof c->app, "A3100001");
    snprintf(c->perm[0], sizeof c->perm[0], TYPE_A);
    c->nperm = 1;
    c->iat = NOW;
    c->exp = NOW + 600;
    snprintf(c->jti, sizeof c->jti, "jti0123456789abcdef");
}

/* The claims of base_claims as a jansson object (tests edit it). */
static json_t *base_json(void)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:[s],s:I,s:I,s:s}", "iss", "YRD-TRUST", "sub",
                          CITIZEN, "sty", "111", "name", "\xe5\xbc\xa0\xe4\xb8\x89", "aty", 1,
                          "app", "A3100001", "perm", TYPE_A, "iat", (json_int_t)NOW, "exp",
                          (json_int_t)(NOW + 600), "jti", "jti0123456789abcdef");
    assert_non_null(o);
    return o;
}

/* v1.<b64url(json)>.<b64url(DER sig by key)>, as a malloc'd string. */
static char *sign_text(const char *json, size_t len, const struct sm2_key *key)
{
    size_t cap = 3 + BASE64_ENCODED_LEN(len) + 1 + BASE64_ENCODED_LEN(SM2_SIG_DER_MAX) + 1;
    char *t = malloc(cap);
    assert_non_null(t);
    memcpy(t, "v1.", 3);
    size_t n = 3 + base64_encode((const uint8_t *)json, len, t + 3, BASE64_URL | BASE64_NOPAD);
    uint8_t rs[SM2_SIG_LEN], der[SM2_SIG_DER_MAX];
    assert_int_equal(sm2_sign(key, NULL, 0, t, n, rs), ECERT_OK);
    size_t dl = sm2_sig_to_der(rs, der);
    t[n++] = '.';
    n += base64_encode(der, dl, t + n, BASE64_URL | BASE64_NOPAD);
    t[n] = '\0';
    return t;
}

static char *sign_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(s);
    char *t = sign_text(s, strlen(s), trust_key);
    free(s);
    return t;
}

static ecert_status verify_str(const char *t, int64_t now, struct token_claims *out)
{
    return token_verify(t, strlen(t), trust_pub, now, out);
}

static char *issue(const struct token_claims *c)
{
    struct buf b = BUF_INIT(TOKEN_MAX_LEN);
    assert_int_equal(token_issue(c, trust_key, &b), ECERT_OK);
    char *s = NULL;
    assert_int_equal(buf_detach(&b, &s, NULL), ECERT_OK);
    return s;
}

/* ------------------------------------------------------------------------ */

static void test_round_trip(void **state)
{
    (void)state;
    struct token_claims c, v;
    base_claims(&c);
    snprintf(c.perm[1], sizeof c.perm[1], TYPE_B);
    c.nperm = 2;
    char *t = issue(&c);

    assert_int_equal(verify_str(t, NOW, &v), ECERT_OK);
    assert_memory_equal(&c, &v, sizeof c);

    /* The claims part is the compact JSON with the members in fixed order. */
    const char *d1 = strchr(t, '.'), *d2 = strchr(d1 + 1, '.');
    assert_non_null(d2);
    assert_null(strchr(d2 + 1, '.'));
    uint8_t json[1024];
    size_t jl = 0;
    assert_int_equal(
        base64_decode(d1 + 1, (size_t)(d2 - d1 - 1), json, sizeof json, &jl, BASE64_URL), ECERT_OK);
    const char want[] = "{\"iss\":\"YRD-TRUST\",\"sub\":\"" CITIZEN "\",\"sty\":\"111\","
                        "\"name\":\"\xe5\xbc\xa0\xe4\xb8\x89\",\"aty\":1,\"app\":\"A3100001\","
                        "\"perm\":[\"" TYPE_A "\",\"" TYPE_B "\"],\"iat\":1764345600,"
                        "\"exp\":1764346200,\"jti\":\"jti0123456789abcdef\"}";
    assert_int_equal(jl, sizeof want - 1);
    assert_memory_equal(json, want, jl);
    /* No padding, URL alphabet only. */
    assert_null(strpbrk(t, "=+/ \n"));

    /* A USCC holder, empty perm and name, authType 3. */
    base_claims(&c);
    snprintf(c.sub, sizeof c.sub, USCC);
    snprintf(c.sty, sizeof c.sty, "001");
    memset(c.name, 0, sizeof c.name);
    memset(c.perm, 0, sizeof c.perm);
    c.nperm = 0;
    c.aty = 3;
    char *t2 = issue(&c);
    assert_int_equal(verify_str(t2, NOW + 599, &v), ECERT_OK);
    assert_memory_equal(&c, &v, sizeof c);
    /* out may be NULL. */
    assert_int_equal(verify_str(t2, NOW, NULL), ECERT_OK);
    free(t);
    free(t2);
}

static void test_issue_fills_iss_and_jti(void **state)
{
    (void)state;
    struct token_claims c, v1, v2;
    base_claims(&c);
    c.iss[0] = '\0';
    c.jti[0] = '\0';
    char *a = issue(&c), *b = issue(&c);
    assert_int_equal(verify_str(a, NOW, &v1), ECERT_OK);
    assert_int_equal(verify_str(b, NOW, &v2), ECERT_OK);
    assert_string_equal(v1.iss, "YRD-TRUST");
    assert_int_equal(strlen(v1.jti), 32);
    assert_int_equal(strspn(v1.jti, "0123456789abcdefghijklmnopqrstuvwxyz"), 32);
    assert_string_not_equal(v1.jti, v2.jti);
    free(a);
    free(b);
}

static void test_issue_refuses_bad_claims(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(TOKEN_MAX_LEN);
    assert_int_equal(buf_append_str(&b, "keep"), ECERT_OK);
    struct token_claims c;

    base_claims(&c);
    c.aty = 4;
    assert_int_equal(token_issue(&c, trust_key, &b), ECERT_E_MALFORMED);
    base_claims(&c);
    c.sub[17] = '0'; /* wrong check digit */
    assert_int_equal(token_issue(&c, trust_key, &b), ECERT_E_MALFORMED);
    base_claims(&c);
    c.exp = c.iat - 1;
    assert_int_equal(token_issue(&c, trust_key, &b), ECERT_E_MALFORMED);
    base_claims(&c);
    snprintf(c.iss, sizeof c.iss, "YRD-SH");
    assert_int_equal(token_issue(&c, trust_key, &b), ECERT_E_MALFORMED);
    base_claims(&c);
    c.nperm = TOKEN_MAX_PERM + 1;
    assert_int_equal(token_issue(&c, trust_key, &b), ECERT_E_MALFORMED);
    base_claims(&c);
    snprintf(c.perm[0], sizeof c.perm[0], "short");
    assert_int_equal(token_issue(&c, trust_key, &b), ECERT_E_MALFORMED);
    base_claims(&c);
    snprintf(c.name, sizeof c.name, "\xff\xfe"); /* not UTF-8 */
    assert_int_equal(token_issue(&c, trust_key, &b), ECERT_E_MALFORMED);
    base_claims(&c);
    memset(c.app, 'A', sizeof c.app); /* no NUL inside the field */
    assert_int_equal(token_issue(&c, trust_key, &b), ECERT_E_MALFORMED);

    /* A public key cannot sign; NULLs are misuse. */
    base_claims(&c);
    assert_int_equal(token_issue(&c, trust_pub, &b), ECERT_E_ARG);
    assert_int_equal(token_issue(NULL, trust_key, &b), ECERT_E_ARG);
    /* Too small an output buffer: left as it was. */
    struct buf small = BUF_INIT(16);
    assert_int_equal(token_issue(&c, trust_key, &small), ECERT_E_TOO_LONG);
    assert_int_equal(small.len, 0);

    assert_int_equal(b.len, 4);
    buf_release(&b);
    buf_release(&small);
}

/* Every claim absent in turn. */
static void test_claim_missing(void **state)
{
    (void)state;
    static const char *const names[] = {"iss", "sub",  "sty", "name", "aty",
                                        "app", "perm", "iat", "exp",  "jti"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *o = base_json();
        assert_int_equal(json_object_del(o, names[i]), 0);
        char *t = sign_json(o);
        struct token_claims v;
        memset(&v, 0x5a, sizeof v);
        assert_int_equal(verify_str(t, NOW, &v), ECERT_E_TOKEN);
        assert_non_null(strstr(err_detail(), names[i]));
        /* Nothing half-filled is handed back. */
        struct token_claims zero;
        memset(&zero, 0, sizeof zero);
        assert_memory_equal(&v, &zero, sizeof v);
        free(t);
        json_decref(o);
    }
}

/* Every claim with a value of the wrong JSON type or outside its rule. */
static void test_claim_wrong(void **state)
{
    (void)state;
    struct {
        const char *name;
        json_t *value;
    } cases[] = {
        {"iss", json_integer(1)},
        {"iss", json_string("YRD-SH")},
        {"iss", json_string("")},
        {"sub", json_null()},
        {"sub", json_string("")},
        {"sub", json_string("110105194912310021")}, /* wrong check digit */
        {"sub", json_string(USCC)},                 /* a USCC under sty 111 */
        {"sub", json_string("1234567890123456789012345678901234567890123456789012345678901234X")},
        {"sty", json_integer(111)},
        {"sty", json_string("11")},
        {"sty", json_string("1111")},
        {"sty", json_string("abc")},
        {"name", json_integer(0)},
        {"name", json_string("a\x01"
                             "b")},
        {"name", json_string("a\nb")},
        {"aty", json_string("1")},
        {"aty", json_real(1.0)},
        {"aty", json_integer(0)},
        {"aty", json_integer(4)},
        {"aty", json_integer(-1)},
        {"aty", json_true()},
        {"app", json_array()},
        {"app", json_string("")},
        {"app", json_string("A31 0001")},
        {"app", json_string("A3100001/x")},
        {"perm", json_string(TYPE_A)},
        {"perm", json_object()},
        {"perm", json_pack("[i]", 1)},
        {"perm", json_pack("[s]", "11100000000013338W03")},   /* 20 chars */
        {"perm", json_pack("[s]", "11100000000013338W0321")}, /* 22 chars */
        {"perm", json_pack("[s]", "11100000000013338w032")},  /* lowercase */
        {"perm", json_pack("[s]", "11100000000013338W03X")},  /* not 3 digits */
        {"iat", json_string("1764345600")},
        {"iat", json_real(1764345600.0)},
        {"iat", json_integer(0)},
        {"iat", json_integer(-5)},
        {"iat", json_integer(NOW + 601)}, /* after exp */
        {"exp", json_null()},
        {"exp", json_integer(NOW - 1)},
        {"jti", json_integer(7)},
        {"jti", json_string("")},
        {"jti", json_string("has space")},
        {"jti", json_string("0123456789012345678901234567890123456789")}, /* 40 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_non_null(cases[i].value);
        json_t *o = base_json();
        assert_int_equal(json_object_set_new(o, cases[i].name, cases[i].value), 0);
        char *t = sign_json(o);
        ecert_status st = verify_str(t, NOW - 1, NULL);
        if (st != ECERT_E_TOKEN)
            fail_msg("case %zu (%s): status %d, detail %s", i, cases[i].name, st, err_detail());
        free(t);
        json_decref(o);
    }

    /* 32 permissions are fine, 33 are not; a 191-byte name is fine, 192 not. */
    json_t *o = base_json(), *perm = json_array();
    for (int i = 0; i < TOKEN_MAX_PERM; i++)
        json_array_append_new(perm, json_string(TYPE_A));
    json_object_set_new(o, "perm", perm);
    char *t = sign_json(o);
    struct token_claims v;
    assert_int_equal(verify_str(t, NOW, &v), ECERT_OK);
    assert_int_equal(v.nperm, TOKEN_MAX_PERM);
    free(t);
    json_array_append_new(perm, json_string(TYPE_A));
    t = sign_json(o);
    assert_int_equal(verify_str(t, NOW, NULL), ECERT_E_TOKEN);
    free(t);
    json_decref(o);

    char name[193];
    memset(name, 'n', sizeof name);
    name[191] = '\0';
    o = base_json();
    json_object_set_new(o, "name", json_string(name));
    t = sign_json(o);
    assert_int_equal(verify_str(t, NOW, NULL), ECERT_OK);
    free(t);
    name[191] = 'n';
    name[192] = '\0';
    json_object_set_new(o, "name", json_string(name));
    t = sign_json(o);
    assert_int_equal(verify_str(t, NOW, NULL), ECERT_E_TOKEN);
    free(t);
    json_decref(o);

    /* Another holder code type is accepted with any printable code. */
    o = base_json();
    json_object_set_new(o, "sty", json_string("414"));
    json_object_set_new(o, "sub", json_string("E12345678"));
    t = sign_json(o);
    assert_int_equal(verify_str(t, NOW, &v), ECERT_OK);
    assert_string_equal(v.sub, "E12345678");
    free(t);
    json_decref(o);
}

/* Signed texts that are not a claims object. */
static void test_claims_not_an_object(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "[]",
        "\"v1\"",
        "1",
        "null",
        "",
        "{",
        "{}",
        /* unknown member */
        "{\"iss\":\"YRD-TRUST\",\"sub\":\"" CITIZEN "\",\"sty\":\"111\",\"name\":\"\",\"aty\":1,"
        "\"app\":\"A1\",\"perm\":[],\"iat\":1764345600,\"exp\":1764346200,\"jti\":\"j\","
        "\"aud\":\"x\"}",
        /* duplicate member */
        "{\"iss\":\"YRD-TRUST\",\"sub\":\"" CITIZEN "\",\"sty\":\"111\",\"name\":\"\",\"aty\":1,"
        "\"app\":\"A1\",\"perm\":[],\"iat\":1764345600,\"exp\":1764346200,\"jti\":\"j\","
        "\"sub\":\"" CITIZEN "\"}",
        /* trailing data after the object */
        "{\"iss\":\"YRD-TRUST\",\"sub\":\"" CITIZEN "\",\"sty\":\"111\",\"name\":\"\",\"aty\":1,"
        "\"app\":\"A1\",\"perm\":[],\"iat\":1764345600,\"exp\":1764346200,\"jti\":\"j\"} {}",
        /* integer overflow */
        "{\"iss\":\"YRD-TRUST\",\"sub\":\"" CITIZEN "\",\"sty\":\"111\",\"name\":\"\",\"aty\":1,"
        "\"app\":\"A1\",\"perm\":[],\"iat\":1764345600,\"exp\":99999999999999999999,\"jti\":\"j\"}",
        /* NUL inside a string */
        "{\"iss\":\"YRD-TRUST\",\"sub\":\"" CITIZEN "\",\"sty\":\"111\",\"name\":\"a\\u0000b\","
        "\"aty\":1,\"app\":\"A1\",\"perm\":[],\"iat\":1764345600,\"exp\":1764346200,\"jti\":\"j\"}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char *t = sign_text(texts[i], strlen(texts[i]), trust_key);
        /* "" signs as an empty claims part, which is a shape error. */
        ecert_status st = verify_str(t, NOW, NULL);
        if (st != ECERT_E_TOKEN)
            fail_msg("text %zu: status %d", i, st);
        free(t);
        struct token_claims v;
        assert_int_equal(token_claims_parse(texts[i], strlen(texts[i]), &v), ECERT_E_TOKEN);
    }
    /* The same member set, minimal and valid, is accepted by both. */
    const char ok[] = "{\"jti\":\"j\",\"iss\":\"YRD-TRUST\",\"sub\":\"" CITIZEN "\",\"sty\":"
                      "\"111\",\"name\":\"\",\"aty\":2,\"app\":\"node:YRD-JS\",\"perm\":[],"
                      "\"iat\":1764345600,\"exp\":1764346200}";
    struct token_claims v;
    assert_int_equal(token_claims_parse(ok, sizeof ok - 1, &v), ECERT_OK);
    assert_int_equal(v.aty, 2);
    char *t = sign_text(ok, sizeof ok - 1, trust_key);
    assert_int_equal(verify_str(t, NOW, NULL), ECERT_OK);
    free(t);
}

/* Claims changed after signing; a signature by another key. */
static void test_tampered_and_foreign(void **state)
{
    (void)state;
    struct token_claims c;
    base_claims(&c);
    char *t = issue(&c);
    const char *d2 = strrchr(t, '.');

    /* Re-encode other (valid) claims in front of the original signature. */
    json_t *o = base_json();
    json_object_set_new(o, "exp", json_integer(NOW + 86400));
    char *json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t jl = strlen(json);
    char *forged = malloc(3 + BASE64_ENCODED_LEN(jl) + strlen(d2) + 1);
    assert_non_null(forged);
    memcpy(forged, "v1.", 3);
    size_t n = 3 + base64_encode((const uint8_t *)json, jl, forged + 3, BASE64_URL | BASE64_NOPAD);
    memcpy(forged + n, d2, strlen(d2) + 1);
    assert_int_equal(verify_str(forged, NOW, NULL), ECERT_E_TOKEN);
    assert_non_null(strstr(err_detail(), "signature"));
    free(forged);
    free(json);

    /* One character of the claims part flipped (still base64url). */
    char *m = strdup(t);
    m[10] = m[10] == 'A' ? 'B' : 'A';
    assert_int_equal(verify_str(m, NOW, NULL), ECERT_E_TOKEN);
    free(m);

    /* The same claims signed by another key. */
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *f = sign_text(s, strlen(s), other_key);
    assert_int_equal(verify_str(f, NOW, NULL), ECERT_E_TOKEN);
    /* ... and with the other key as the trust key, our token fails. */
    assert_int_equal(token_verify(t, strlen(t), other_key, NOW, NULL), ECERT_E_TOKEN);
    free(f);
    free(s);
    json_decref(o);
    free(t);
}

static void test_expiry_and_clock(void **state)
{
    (void)state;
    struct token_claims c, v;
    base_claims(&c);
    char *t = issue(&c);
    assert_int_equal(verify_str(t, c.exp - 1, &v), ECERT_OK);
    assert_int_equal(verify_str(t, c.exp, &v), ECERT_E_TOKEN_EXPIRED);
    assert_int_equal(verify_str(t, c.exp + 100000, &v), ECERT_E_TOKEN_EXPIRED);
    assert_int_equal(verify_str(t, INT64_MAX, &v), ECERT_E_TOKEN_EXPIRED);
    /* iat up to 300 s ahead of our clock is accepted, more is not. */
    assert_int_equal(verify_str(t, c.iat - TOKEN_MAX_SKEW_S, &v), ECERT_OK);
    assert_int_equal(verify_str(t, c.iat - TOKEN_MAX_SKEW_S - 1, &v), ECERT_E_TOKEN);
    assert_int_equal(verify_str(t, INT64_MIN, &v), ECERT_E_TOKEN);

    /* An expired token with a bad signature is invalid, not expired: a
     * forger learns nothing about time. */
    char *m = strdup(t);
    char *last = m + strlen(m) - 2;
    *last = *last == 'A' ? 'B' : 'A';
    ecert_status st = verify_str(m, c.exp + 10, NULL);
    assert_int_equal(st, ECERT_E_TOKEN);
    free(m);

    /* A token valid for zero seconds (iat == exp) is expired at once. */
    c.exp = c.iat;
    char *z = issue(&c);
    assert_int_equal(verify_str(z, c.iat, NULL), ECERT_E_TOKEN_EXPIRED);
    assert_int_equal(verify_str(z, c.iat - 1, NULL), ECERT_OK);
    free(z);
    free(t);
}

static void test_permits(void **state)
{
    (void)state;
    struct token_claims c;
    base_claims(&c);
    c.nperm = 0;
    assert_true(token_permits(&c, TYPE_A));
    assert_true(token_permits(&c, NULL));
    c.nperm = 1; /* TYPE_A */
    assert_true(token_permits(&c, TYPE_A));
    assert_false(token_permits(&c, TYPE_B));
    assert_false(token_permits(&c, NULL));
    assert_false(token_permits(&c, ""));
    assert_false(token_permits(&c, TYPE_A "0"));
    assert_false(token_permits(&c, "11100000000013338W03"));
    snprintf(c.perm[1], sizeof c.perm[1], TYPE_B);
    c.nperm = 2;
    assert_true(token_permits(&c, TYPE_B));
    assert_false(token_permits(NULL, TYPE_A));
}

/* Replaces part `which` (0 prefix, 1 claims, 2 signature) of token t. */
static char *with_part(const char *t, int which, const char *part)
{
    const char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
    struct buf b = BUF_INIT(1 << 16);
    if (which == 0)
        buf_append_str(&b, part);
    else
        buf_append(&b, t, (size_t)(d1 - t));
    buf_append_byte(&b, '.');
    if (which == 1)
        buf_append_str(&b, part);
    else
        buf_append(&b, d1 + 1, (size_t)(d2 - d1 - 1));
    buf_append_byte(&b, '.');
    buf_append_str(&b, which == 2 ? part : d2 + 1);
    char *s = NULL;
    assert_int_equal(buf_detach(&b, &s, NULL), ECERT_OK);
    return s;
}

static void test_shape(void **state)
{
    (void)state;
    struct token_claims c;
    base_claims(&c);
    char *t = issue(&c);
    size_t len = strlen(t);
    const char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
    char claims[2048], sig[128];
    snprintf(claims, sizeof claims, "%.*s", (int)(d2 - d1 - 1), d1 + 1);
    snprintf(sig, sizeof sig, "%s", d2 + 1);
    assert_int_equal(verify_str(t, NOW, NULL), ECERT_OK);

    struct buf b = BUF_INIT(1 << 16);
    char tmp[4096];
    const char *bad[16];
    char *owned[16];
    size_t nb = 0, no = 0;

    /* Prefix variants. */
    owned[no++] = with_part(t, 0, "v2");
    owned[no++] = with_part(t, 0, "V1");
    owned[no++] = with_part(t, 0, "");
    owned[no++] = with_part(t, 0, "v1 ");
    /* Padding on either part (the decoder alone would accept it). */
    snprintf(tmp, sizeof tmp, "%s=", claims);
    owned[no++] = with_part(t, 1, tmp);
    snprintf(tmp, sizeof tmp, "%s==", sig);
    owned[no++] = with_part(t, 2, tmp);
    /* Standard-alphabet characters, whitespace, empty parts. */
    snprintf(tmp, sizeof tmp, "%s", claims);
    tmp[5] = '+';
    owned[no++] = with_part(t, 1, tmp);
    owned[no++] = with_part(t, 1, "");
    owned[no++] = with_part(t, 2, "");
    snprintf(tmp, sizeof tmp, " %s", sig);
    owned[no++] = with_part(t, 2, tmp);
    for (size_t i = 0; i < no; i++)
        bad[nb++] = owned[i];

    for (size_t i = 0; i < nb; i++) {
        ecert_status st = verify_str(bad[i], NOW, NULL);
        if (st != ECERT_E_TOKEN)
            fail_msg("variant %zu: status %d", i, st);
    }

    /* Extra dots, missing parts, trailing newline, NUL inside. */
    snprintf(tmp, sizeof tmp, "%s.", t);
    assert_int_equal(verify_str(tmp, NOW, NULL), ECERT_E_TOKEN);
    snprintf(tmp, sizeof tmp, "%s.%s", t, sig);
    assert_int_equal(verify_str(tmp, NOW, NULL), ECERT_E_TOKEN);
    snprintf(tmp, sizeof tmp, "v1.%s", claims);
    assert_int_equal(verify_str(tmp, NOW, NULL), ECERT_E_TOKEN);
    snprintf(tmp, sizeof tmp, "%s\n", t);
    assert_int_equal(verify_str(tmp, NOW, NULL), ECERT_E_TOKEN);
    assert_int_equal(token_verify(t, len + 1, trust_pub, NOW, NULL), ECERT_E_TOKEN);
    assert_int_equal(token_verify(t, len - 1, trust_pub, NOW, NULL), ECERT_E_TOKEN);
    assert_int_equal(token_verify(t, 0, trust_pub, NOW, NULL), ECERT_E_TOKEN);
    assert_int_equal(token_verify("v1", 2, trust_pub, NOW, NULL), ECERT_E_TOKEN);
    assert_int_equal(token_verify("v1..", 4, trust_pub, NOW, NULL), ECERT_E_TOKEN);
    assert_int_equal(token_verify(NULL, 0, trust_pub, NOW, NULL), ECERT_E_ARG);
    assert_int_equal(token_verify(t, len, NULL, NOW, NULL), ECERT_E_ARG);

    /* The signature as raw r||s, and as non-minimal DER (an extra 00 before
     * r): valid signatures, but not the one spelling we issue. */
    uint8_t der[SM2_SIG_DER_MAX + 2], rs[SM2_SIG_LEN];
    size_t dl = 0;
    assert_int_equal(base64_decode(sig, strlen(sig), der, sizeof der, &dl, BASE64_URL), ECERT_OK);
    assert_int_equal(sm2_sig_from_der(der, dl, rs), ECERT_OK);
    base64_encode(rs, SM2_SIG_LEN, tmp, BASE64_URL | BASE64_NOPAD);
    char *raw = with_part(t, 2, tmp);
    assert_int_equal(verify_str(raw, NOW, NULL), ECERT_E_TOKEN);
    free(raw);
    uint8_t nm[SM2_SIG_DER_MAX + 2];
    size_t rl = der[3];
    nm[0] = 0x30;
    nm[1] = (uint8_t)(der[1] + 1);
    nm[2] = 0x02;
    nm[3] = (uint8_t)(rl + 1);
    nm[4] = 0x00;
    memcpy(nm + 5, der + 4, dl - 4);
    assert_int_equal(sm2_sig_from_der(nm, dl + 1, rs), ECERT_OK); /* lenient reader */
    base64_encode(nm, dl + 1, tmp, BASE64_URL | BASE64_NOPAD);
    char *nonmin = with_part(t, 2, tmp);
    assert_int_equal(verify_str(nonmin, NOW, NULL), ECERT_E_TOKEN);
    free(nonmin);

    /* Over-long: TOKEN_MAX_LEN + 1 bytes, refused before any decoding. */
    buf_reset(&b);
    buf_append_str(&b, "v1.");
    while (b.len < TOKEN_MAX_LEN - 2)
        buf_append_byte(&b, 'A');
    buf_append_str(&b, ".AA");
    assert_int_equal(b.len, TOKEN_MAX_LEN + 1);
    assert_int_equal(token_verify((char *)b.data, b.len, trust_pub, NOW, NULL), ECERT_E_TOKEN);
    assert_non_null(strstr(err_detail(), "4096"));

    for (size_t i = 0; i < no; i++)
        free(owned[i]);
    buf_release(&b);
    free(t);
}

/* A token of exactly TOKEN_MAX_LEN bytes is within the limit, one more is not. */
static void test_longest_token(void **state)
{
    (void)state;
    /* Pad the JSON text with spaces (outside strings, so the claims stay the
     * same). The token is 4 + ceil(4L/3) + S characters for L bytes of JSON
     * and a signature of S characters (94, 95 or 96: the DER length depends
     * on r and s), so JSON of 2997, 2998 and 2999 bytes, each signed afresh,
     * soon give 4096 and 4097. */
    const char head[] = "{\"iss\":\"YRD-TRUST\",\"sub\":\"" CITIZEN "\",\"sty\":\"111\",\"name\":"
                        "\"\",\"aty\":1,\"app\":\"A1\",\"perm\":[],\"iat\":1764345600,"
                        "\"exp\":1764346200,\"jti\":\"j\"";
    char json[3000];
    int hit_max = 0, hit_over = 0;
    for (int attempt = 0; attempt < 600 && !(hit_max && hit_over); attempt++) {
        size_t jl = 2997 + (size_t)(attempt % 3);
        size_t pad = jl - sizeof head; /* head without its NUL, then '}' */
        memcpy(json, head, sizeof head - 1);
        memset(json + sizeof head - 1, ' ', pad);
        json[jl - 1] = '}';
        char *t = sign_text(json, jl, trust_key);
        size_t tl = strlen(t);
        if (tl == TOKEN_MAX_LEN) {
            assert_int_equal(token_verify(t, tl, trust_pub, NOW, NULL), ECERT_OK);
            hit_max = 1;
        } else if (tl == TOKEN_MAX_LEN + 1) {
            assert_int_equal(token_verify(t, tl, trust_pub, NOW, NULL), ECERT_E_TOKEN);
            hit_over = 1;
        }
        free(t);
    }
    assert_true(hit_max);
    assert_true(hit_over);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_issue_fills_iss_and_jti),
        cmocka_unit_test(test_issue_refuses_bad_claims),
        cmocka_unit_test(test_claim_missing),
        cmocka_unit_test(test_claim_wrong),
        cmocka_unit_test(test_claims_not_an_object),
        cmocka_unit_test(test_tampered_and_foreign),
        cmocka_unit_test(test_expiry_and_clock),
        cmocka_unit_test(test_permits),
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_longest_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
