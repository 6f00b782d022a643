/*
 * test_envelope.c — request and response envelopes (SPEC §3.1–3.2) and the
 * SDK calls over them.
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

#include "common/arena.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/error.h"
#include "crypto/sm2.h"
#include "envelope/envelope.h"
#include "sdk/sdk.h"

/* ------------------------------------------------------------------------ */
/* Fixtures                                                                  */

/* Hand-picked keys for the pinned envelopes below (never used elsewhere). */
#define APP_D "6b1c6f8e2a3d4c5b9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f"
#define APP_PUB                                                                                    \
    "0409cf9719d100c4625a6df1808e508a1816371bd3c6694d4c2e1d40c0d2fbef1ffd802fe6709bf0723b8baa7f2a" \
    "69e64166105fcf36b2950f84a0d80bc18d827f"
#define NODE_D "2f7d3c9a1b8e4f60a5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d5e7f901"
#define NODE_PUB                                                                                   \
    "048db9300e56b8ee3558eb907c8c4e452c6a88d0c13825f783a0646148098b74b22dea7495d12c03e17f878f31f0" \
    "dc5242493b25c878304920b777a12552928732"

/* Built once by envelope_request_build with the keys above (appId A3100001,
 * timestamp 1764345600123, nonce c9a1f0e27b4d4e8f) and checked with npm
 * sm-crypto (doVerifySignature der+hash, doDecrypt cipherMode 1). */
#define PINNED_ENC                                                                                 \
    "8a119e36e40b82d82dff645d5f99c9b16f67b4dea99c378736032fa737f1ae27710c411902f6487eab79b27c75ef" \
    "705b5b948c22ee305430d55b963d8d89797ac3b7a3f627e43fc82b453abc03cffc84fc947adc6176f569197a6ce1" \
    "d3bdb8dd45b9c32e5a03fccbf7364489fbdf35918745787e84b295a978fa1cdffb669a35423cacca0aab71a6fdb8" \
    "ffcecbabc18a773c75585347521f14a81df6338e1a884057400be310762172218ef5121545ec2e8c326654cb9c91" \
    "f84d14ee8f03f5acbf0611353730d0e19d26d2921aeb11846cc85c1f225ecef12e5f5a2e48c2231a3f9dd7"
#define PINNED_SIG                                                                                 \
    "MEYCIQDUeX1Y+6aWk4Fz0/19U5l2lQcJfC2bS/T4t0iV3mxnOgIhAJM1X6SAUIJCP7Sto5jrcqW1v+ziGREsfIh9sSg7" \
    "Z7cM"
static const char pinned_request[] =
    "{\"appId\":\"A3100001\",\"timestamp\":1764345600123,\"nonce\":\"c9a1f0e27b4d4e8f\","
    "\"encryptData\":\"" PINNED_ENC "\",\"signature\":\"" PINNED_SIG "\"}";
static const char pinned_business[] =
    "{\"CertificateID\":\"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F\","
    "\"UseFor\":\"\xe5\x8a\x9e\xe4\xba\x8b\",\"bizNum\":\"B20251128001\"}";

/* Built by npm sm-crypto (doEncrypt cipherMode 1 to NODE_PUB, doSignature
 * hash:true with its default user ID, raw r||s hex) as an outside client. */
static const char smcrypto_request[] =
    "{\"appId\":\"node:YRD-JS\",\"timestamp\":1764345600999,\"nonce\":\"AbCdEf0123456789xyz\","
    "\"encryptData\":\"dbfa8e766f7f5439f73da70659c42d8ef36cf82a9302d01f8135ef6988494c7b371ff2aca6"
    "678c8813b91e23130e7a6f60f086c5d06f385abad389958eff8be0d369dee2b93769e7d61693d4a879cfc6101145"
    "58747ceab0d67f9ec1d86964f4014cb4441b244b141b0bf9f64d0080c063\",\"signature\":\"40bead2cd4786d9"
    "2ec0ea35587e86c0cf46d55150ff0e40497e270640370fffa2cd450b14eca95a9ba08d29d088a111762735b83c3be"
    "c15cb150e1c8307417bc\"}";

#define NOW 1764345600123LL
#define BUSINESS                                                                                   \
    "{\"CertificateType\":\"\xe5\xb1\x85\xe6\xb0\x91\xe8\xba\xab\xe4\xbb\xbd\",\"UseFor\":\"t\"}"

static struct sm2_key *app, *node, *other;
static struct arena g_arena;

static int group_setup(void **state)
{
    if (sm2_key_generate(&app) || sm2_key_generate(&node) || sm2_key_generate(&other))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    sm2_key_free(app);
    sm2_key_free(node);
    sm2_key_free(other);
    return 0;
}

static int setup(void **state)
{
    arena_init(&g_arena, 64u << 20);
    err_clear();
    return 0;
}

static int teardown(void **state)
{
    arena_release(&g_arena);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static char *build_request_fmt(ecert_cipher_format fmt, const char *business, char nonce[65])
{
    struct buf out = BUF_INIT(ENVELOPE_MAX_BODY);
    char n[65];
    assert_int_equal(envelope_request_build("A3100001", app, node, business, strlen(business), NOW,
                                            NULL, fmt, &out, nonce ? nonce : n),
                     ECERT_OK);
    char *s;
    assert_int_equal(buf_detach(&out, &s, NULL), ECERT_OK);
    return s;
}

static char *build_request(void)
{
    return build_request_fmt(ECERT_CIPHER_HEX, BUSINESS, NULL);
}

/* The JSON text with member `key` replaced by `v` (or removed when v is
 * NULL); the reference to v is stolen. */
static char *mutate(const char *json, const char *key, json_t *v)
{
    json_t *root = json_loads(json, 0, NULL);
    assert_non_null(root);
    if (v)
        json_object_set_new(root, key, v);
    else
        json_object_del(root, key);
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    assert_non_null(s);
    return s;
}

static ecert_status parse_req(const char *json, struct envelope_request *r)
{
    return envelope_request_parse(&g_arena, json, strlen(json), r);
}

static ecert_status parse_resp(const char *json, struct envelope_response *r)
{
    return envelope_response_parse(&g_arena, json, strlen(json), r);
}

static void assert_detail_has(const char *what)
{
    if (!strstr(err_detail(), what))
        fail_msg("detail '%s' does not contain '%s'", err_detail(), what);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

/* A request member set to a string of n copies of c; returns the status. */
static ecert_status parse_with_string(const char *json, const char *key, char c, size_t n)
{
    char *v = repeat(c, n);
    char *m = mutate(json, key, json_string(v));
    struct envelope_request r;
    ecert_status st = parse_req(m, &r);
    free(m);
    free(v);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Request                                                                   */

static void test_request_round_trip(void **state)
{
    char nonce[65];
    char *json = build_request_fmt(ECERT_CIPHER_HEX, BUSINESS, nonce);
    struct envelope_request r;
    assert_int_equal(parse_req(json, &r), ECERT_OK);
    assert_string_equal(r.app_id, "A3100001");
    assert_int_equal(r.timestamp, NOW);
    assert_string_equal(r.nonce, nonce);
    assert_int_equal(strlen(nonce), ENVELOPE_NONCE_LEN);
    for (size_t i = 0; i < ENVELOPE_NONCE_LEN; i++)
        assert_non_null(strchr("0123456789abcdefghijklmnopqrstuvwxyz", nonce[i]));
    /* canonical: lowercase hex of C1||C3||C2 without 04 */
    assert_int_equal(r.encrypt_data_len, 2 * (64 + 32 + strlen(BUSINESS)));
    assert_true(is_hex(r.encrypt_data, r.encrypt_data_len));
    for (size_t i = 0; i < r.encrypt_data_len; i++)
        assert_false(r.encrypt_data[i] >= 'A' && r.encrypt_data[i] <= 'F');

    assert_int_equal(envelope_request_verify(&r, app), ECERT_OK);
    assert_int_equal(envelope_check_time(r.timestamp, NOW + 1000, ENVELOPE_WINDOW_MS), ECERT_OK);
    struct buf biz = BUF_INIT(ENVELOPE_MAX_BODY);
    json_t *obj;
    assert_int_equal(envelope_request_decrypt(&r, node, &biz, &obj), ECERT_OK);
    assert_string_equal((char *)biz.data, BUSINESS);
    assert_non_null(obj);
    assert_string_equal(json_string_value(json_object_get(obj, "UseFor")), "t");
    json_decref(obj);
    buf_release_secret(&biz);
    free(json);
}

static void test_request_given_nonce(void **state)
{
    struct buf out = BUF_INIT(ENVELOPE_MAX_BODY);
    char nonce[65];
    const char *given = "ABCdef0123456789ABCdef0123456789ABCdef0123456789ABCdef0123456789";
    assert_int_equal(envelope_request_build("node:YRD-SH", app, node, "{}", 2, NOW, given,
                                            ECERT_CIPHER_HEX, &out, nonce),
                     ECERT_OK);
    assert_string_equal(nonce, given);
    struct envelope_request r;
    assert_int_equal(parse_req((char *)out.data, &r), ECERT_OK);
    assert_string_equal(r.nonce, given);
    assert_string_equal(r.app_id, "node:YRD-SH");
    assert_int_equal(envelope_request_verify(&r, app), ECERT_OK);

    /* refused before anything is written */
    size_t len = out.len;
    assert_int_equal(envelope_request_build("A1", app, node, "{}", 2, NOW, "short",
                                            ECERT_CIPHER_HEX, &out, nonce),
                     ECERT_E_MALFORMED);
    assert_int_equal(envelope_request_build("A1", app, node, "{}", 2, NOW, "0123456789abcdef-",
                                            ECERT_CIPHER_HEX, &out, nonce),
                     ECERT_E_MALFORMED);
    char *longn = repeat('a', 65);
    assert_int_equal(
        envelope_request_build("A1", app, node, "{}", 2, NOW, longn, ECERT_CIPHER_HEX, &out, nonce),
        ECERT_E_TOO_LONG);
    free(longn);
    assert_int_equal(envelope_request_build("bad id", app, node, "{}", 2, NOW, NULL,
                                            ECERT_CIPHER_HEX, &out, nonce),
                     ECERT_E_MALFORMED);
    /* a public-only sender key cannot sign */
    struct sm2_key *pub;
    assert_int_equal(sm2_key_parse_public(APP_PUB, strlen(APP_PUB), &pub), ECERT_OK);
    assert_int_equal(
        envelope_request_build("A1", pub, node, "{}", 2, NOW, NULL, ECERT_CIPHER_HEX, &out, nonce),
        ECERT_E_ARG);
    sm2_key_free(pub);
    assert_int_equal(out.len, len);
    buf_release(&out);
}

static void test_request_missing_fields(void **state)
{
    static const char *fields[] = {"appId", "timestamp", "nonce", "encryptData", "signature"};
    char *json = build_request();
    for (size_t i = 0; i < 5; i++) {
        char quoted[32];
        snprintf(quoted, sizeof quoted, "'%s'", fields[i]);
        struct envelope_request r;
        /* absent, null, and (for strings) empty all mean missing */
        json_t *variants[3] = {NULL, json_null(), json_string("")};
        size_t nv = strcmp(fields[i], "timestamp") == 0 ? 2 : 3;
        for (size_t k = 0; k < nv; k++) {
            char *m = mutate(json, fields[i], variants[k]);
            err_clear();
            assert_int_equal(parse_req(m, &r), ECERT_E_MISSING);
            assert_detail_has(quoted);
            free(m);
        }
        if (nv == 2)
            json_decref(variants[2]);
    }
    free(json);
}

static void test_request_wrong_types(void **state)
{
    char *json = build_request();
    struct {
        const char *key;
        json_t *v;
        ecert_status want;
    } cases[] = {
        {"appId", json_integer(3100001), ECERT_E_JSON},
        {"timestamp", json_string("1764345600123"), ECERT_E_JSON},
        {"timestamp", json_real(1764345600123.0), ECERT_E_JSON},
        {"timestamp", json_true(), ECERT_E_JSON},
        {"nonce", json_integer(12345678901234567), ECERT_E_JSON},
        {"encryptData", json_object(), ECERT_E_JSON},
        {"signature", json_array(), ECERT_E_JSON},
        {"timestamp", json_integer(-1), ECERT_E_MALFORMED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *m = mutate(json, cases[i].key, cases[i].v);
        struct envelope_request r;
        err_clear();
        assert_int_equal(parse_req(m, &r), cases[i].want);
        assert_detail_has(cases[i].key);
        free(m);
    }
    /* not an envelope at all */
    static const char *bodies[] = {"",      " ", "[]",  "null",     "42",
                                   "\"x\"", "{", "{}}", "nonsense", "{\"appId\":\"A1\"}garbage"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct envelope_request r;
        ecert_status st = parse_req(bodies[i], &r);
        assert_int_equal(st, ECERT_E_JSON);
    }
    struct envelope_request r;
    assert_int_equal(parse_req("{}", &r), ECERT_E_MISSING);
    /* a NUL inside the body or inside a string is refused */
    static const char nul_body[] = "{\"appId\":\"A\0\"}";
    assert_int_equal(envelope_request_parse(&g_arena, nul_body, sizeof nul_body - 1, &r),
                     ECERT_E_JSON);
    char *m = mutate(json, "appId", json_stringn("A\0B", 3));
    assert_int_equal(parse_req(m, &r), ECERT_E_JSON);
    free(m);
    /* unknown members are ignored */
    m = mutate(json, "extra", json_string("x"));
    assert_int_equal(parse_req(m, &r), ECERT_OK);
    assert_int_equal(envelope_request_verify(&r, app), ECERT_OK);
    free(m);
    free(json);
}

static void test_request_duplicate_keys(void **state)
{
    char *json = build_request();
    static const char *dups[] = {"\"nonce\":\"0123456789abcdefXYZ\",", "\"appId\":\"A3100001\",",
                                 "\"timestamp\":1,", "\"unknown\":1,\"unknown\":2,"};
    for (size_t i = 0; i < sizeof dups / sizeof dups[0]; i++) {
        size_t n = strlen(json) + strlen(dups[i]) + 1;
        char *m = malloc(n);
        assert_non_null(m);
        snprintf(m, n, "{%s%s", dups[i], json + 1);
        struct envelope_request r;
        assert_int_equal(parse_req(m, &r), ECERT_E_JSON);
        assert_detail_has("duplicate");
        free(m);
    }
    free(json);
}

static void test_request_limits(void **state)
{
    char *json = build_request();
    /* boundaries: at the limit accepted, one past refused */
    assert_int_equal(parse_with_string(json, "appId", 'A', 64), ECERT_OK);
    assert_int_equal(parse_with_string(json, "appId", 'A', 65), ECERT_E_TOO_LONG);
    assert_detail_has("'appId'");
    assert_int_equal(parse_with_string(json, "nonce", 'n', 64), ECERT_OK);
    assert_int_equal(parse_with_string(json, "nonce", 'n', 65), ECERT_E_TOO_LONG);
    assert_detail_has("'nonce'");
    assert_int_equal(parse_with_string(json, "nonce", 'n', 16), ECERT_OK);
    assert_int_equal(parse_with_string(json, "nonce", 'n', 15), ECERT_E_MALFORMED);
    assert_int_equal(parse_with_string(json, "signature", 'S', 512), ECERT_OK);
    assert_int_equal(parse_with_string(json, "signature", 'S', 513), ECERT_E_TOO_LONG);
    assert_detail_has("'signature'");
    /* a 513-char signature is refused by the limit, not by the decoder */
    free(json);

    /* body: 16 MiB + 1 is refused before parsing */
    size_t big = ENVELOPE_MAX_BODY + 1;
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, ' ', big);
    struct envelope_request r;
    assert_int_equal(envelope_request_parse(&g_arena, body, big, &r), ECERT_E_TOO_LONG);
    struct envelope_response resp;
    assert_int_equal(envelope_response_parse(&g_arena, body, big, &resp), ECERT_E_TOO_LONG);
    free(body);

    /* a request bigger than the receiver accepts is not built */
    size_t blen = ENVELOPE_MAX_BODY / 2;
    char *biz = malloc(blen);
    assert_non_null(biz);
    memset(biz, ' ', blen);
    biz[0] = '{';
    biz[blen - 1] = '}';
    struct buf out = BUF_INIT(ENVELOPE_MAX_BODY);
    char nonce[65];
    assert_int_equal(envelope_request_build("A1", app, node, biz, blen, NOW, NULL, ECERT_CIPHER_HEX,
                                            &out, nonce),
                     ECERT_E_TOO_LONG);
    assert_int_equal(out.len, 0);
    buf_release(&out);
    free(biz);

    /* the arena's cap bounds what a parse may copy */
    json = build_request();
    struct arena small;
    arena_init(&small, 64);
    assert_int_equal(envelope_request_parse(&small, json, strlen(json), &r), ECERT_E_TOO_LONG);
    arena_release(&small);
    free(json);
}

static void test_request_bad_characters(void **state)
{
    char *json = build_request();
    struct {
        const char *key, *value;
        ecert_status want;
    } cases[] = {
        {"nonce", "0123456789abcde-", ECERT_E_MALFORMED},
        {"nonce", "0123456789abcdef\n", ECERT_E_MALFORMED},
        {"nonce", "0123456789abcd\xc3\xa9", ECERT_E_MALFORMED},
        {"nonce", "0123456789 abcdef", ECERT_E_MALFORMED},
        {"appId", "A 3100001", ECERT_E_MALFORMED},
        {"appId", "A3100001\n", ECERT_E_MALFORMED},
        {"appId", "A.3100001", ECERT_E_MALFORMED},
        {"appId", "node:", ECERT_E_MALFORMED},
        {"appId", "node:YRD:SH", ECERT_E_MALFORMED},
        {"appId", "\xe5\x8a\x9e", ECERT_E_MALFORMED},
        {"appId", "node:YRD-SH", ECERT_OK},
        {"appId", "a_b-C9", ECERT_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *m = mutate(json, cases[i].key, json_string(cases[i].value));
        struct envelope_request r;
        err_clear();
        assert_int_equal(parse_req(m, &r), cases[i].want);
        if (cases[i].want)
            assert_detail_has(cases[i].key);
        free(m);
    }
    free(json);
}

/* Every signed field, changed after signing, breaks the signature. */
static void test_request_tampered(void **state)
{
    char *json = build_request();
    struct envelope_request r;
    assert_int_equal(parse_req(json, &r), ECERT_OK);
    char *enc = strdup(r.encrypt_data);
    assert_non_null(enc);
    enc[10] = enc[10] == '0' ? '1' : '0';
    struct {
        const char *key;
        json_t *v;
    } changes[] = {
        {"encryptData", json_string(enc)},
        {"appId", json_string("A3100002")},
        {"timestamp", json_integer(NOW + 1)},
        {"nonce", json_string("0000000000000000")},
    };
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        char *m = mutate(json, changes[i].key, changes[i].v);
        assert_int_equal(parse_req(m, &r), ECERT_OK);
        assert_int_equal(envelope_request_verify(&r, app), ECERT_E_SIGNATURE);
        free(m);
    }
    free(enc);
    /* the signature of another key, and signatures that do not decode */
    assert_int_equal(parse_req(json, &r), ECERT_OK);
    assert_int_equal(envelope_request_verify(&r, other), ECERT_E_SIGNATURE);
    static const char *bad_sigs[] = {"!!!!", "MEQ=", "00", "AAAA", "not base64 at all"};
    for (size_t i = 0; i < sizeof bad_sigs / sizeof bad_sigs[0]; i++) {
        char *m = mutate(json, "signature", json_string(bad_sigs[i]));
        assert_int_equal(parse_req(m, &r), ECERT_OK);
        assert_int_equal(envelope_request_verify(&r, app), ECERT_E_SIGNATURE);
        free(m);
    }
    free(json);
}

static void test_request_decrypt_failures(void **state)
{
    char *json = build_request();
    struct envelope_request r;
    assert_int_equal(parse_req(json, &r), ECERT_OK);
    struct buf biz = BUF_INIT(ENVELOPE_MAX_BODY);
    json_t *obj = (json_t *)1;
    /* a key that is not the receiver's */
    assert_int_equal(envelope_request_decrypt(&r, other, &biz, &obj), ECERT_E_DECRYPT);
    assert_null(obj);
    assert_int_equal(biz.len, 0);
    /* not a ciphertext */
    r.encrypt_data = "00112233";
    r.encrypt_data_len = 8;
    assert_int_equal(envelope_request_decrypt(&r, node, &biz, NULL), ECERT_E_DECRYPT);
    buf_release_secret(&biz);
    free(json);

    /* decrypts, but the plaintext is no business JSON object */
    static const char *not_objects[] = {
        "[1,2]", "{", "\"x\"", "{\"a\":1,\"a\":2}", "{\"a\":\"\xff\"}", "{\"a\":\"\\u0000\"}", ""};
    for (size_t i = 0; i < sizeof not_objects / sizeof not_objects[0]; i++) {
        struct buf out = BUF_INIT(ENVELOPE_MAX_BODY);
        char nonce[65];
        assert_int_equal(envelope_request_build("A1", app, node, not_objects[i],
                                                strlen(not_objects[i]), NOW, NULL, ECERT_CIPHER_HEX,
                                                &out, nonce),
                         ECERT_OK);
        assert_int_equal(parse_req((char *)out.data, &r), ECERT_OK);
        assert_int_equal(envelope_request_decrypt(&r, node, &biz, NULL), ECERT_E_JSON);
        assert_int_equal(biz.len, 0);
        /* the detail never quotes the plaintext */
        assert_null(strstr(err_detail(), "\"a\""));
        buf_release(&out);
    }
    buf_release_secret(&biz);
}

static void test_time_window(void **state)
{
    const int64_t now = NOW;
    assert_int_equal(envelope_check_time(now, now, ENVELOPE_WINDOW_MS), ECERT_OK);
    assert_int_equal(envelope_check_time(now + 299000, now, ENVELOPE_WINDOW_MS), ECERT_OK);
    assert_int_equal(envelope_check_time(now - 299000, now, ENVELOPE_WINDOW_MS), ECERT_OK);
    assert_int_equal(envelope_check_time(now + 300000, now, ENVELOPE_WINDOW_MS), ECERT_OK);
    assert_int_equal(envelope_check_time(now - 300000, now, ENVELOPE_WINDOW_MS), ECERT_OK);
    assert_int_equal(envelope_check_time(now + 301000, now, ENVELOPE_WINDOW_MS), ECERT_E_TIMESTAMP);
    assert_int_equal(envelope_check_time(now - 301000, now, ENVELOPE_WINDOW_MS), ECERT_E_TIMESTAMP);
    assert_int_equal(envelope_check_time(now + 300001, now, ENVELOPE_WINDOW_MS), ECERT_E_TIMESTAMP);
    /* extremes: no overflow */
    assert_int_equal(envelope_check_time(INT64_MAX, now, ENVELOPE_WINDOW_MS), ECERT_E_TIMESTAMP);
    assert_int_equal(envelope_check_time(0, now, ENVELOPE_WINDOW_MS), ECERT_E_TIMESTAMP);
    assert_int_equal(envelope_check_time(INT64_MIN, INT64_MAX, ENVELOPE_WINDOW_MS),
                     ECERT_E_TIMESTAMP);
    assert_int_equal(envelope_check_time(INT64_MAX, INT64_MIN, INT64_MAX), ECERT_E_TIMESTAMP);
    assert_int_equal(envelope_check_time(now, now, -1), ECERT_E_TIMESTAMP);
    /* the clock is sane */
    assert_true(envelope_now_ms() > NOW - 365LL * 86400 * 1000);
}

/* Raw r||s and hex DER (also non-minimal/"negative" INTEGERs) verify too. */
static void test_signature_encodings(void **state)
{
    char *json = build_request();
    struct envelope_request r;
    assert_int_equal(parse_req(json, &r), ECERT_OK);
    uint8_t der[SM2_SIG_DER_MAX], rs[SM2_SIG_LEN];
    size_t dlen;
    assert_int_equal(base64_decode(r.signature, r.signature_len, der, sizeof der, &dlen, 0),
                     ECERT_OK);
    assert_int_equal(sm2_sig_from_der(der, dlen, rs), ECERT_OK);

    char text[4 * SM2_SIG_DER_MAX + 8];
    uint8_t fixed[2 + 2 * (2 + 32)];
    /* SEQUENCE { INTEGER r (32 bytes, unpadded), INTEGER s (32 bytes) }: a
     * leading zero byte makes it non-minimal, a high bit makes it negative */
    fixed[0] = 0x30, fixed[1] = 68;
    fixed[2] = 0x02, fixed[3] = 32;
    memcpy(fixed + 4, rs, 32);
    fixed[36] = 0x02, fixed[37] = 32;
    memcpy(fixed + 38, rs + 32, 32);

    struct {
        const uint8_t *p;
        size_t n;
        int how; /* 0 hex lower, 1 hex upper, 2 base64 */
    } forms[] = {
        {rs, sizeof rs, 0}, {rs, sizeof rs, 1}, {rs, sizeof rs, 2},
        {der, dlen, 0},     {der, dlen, 1},     {fixed, sizeof fixed, 2},
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        if (forms[i].how == 2) {
            base64_encode(forms[i].p, forms[i].n, text, 0);
        } else {
            hex_encode(forms[i].p, forms[i].n, text);
            for (char *c = text; forms[i].how == 1 && *c; c++)
                if (*c >= 'a' && *c <= 'f')
                    *c = (char)(*c - 'a' + 'A');
        }
        char *m = mutate(json, "signature", json_string(text));
        assert_int_equal(parse_req(m, &r), ECERT_OK);
        assert_int_equal(envelope_request_verify(&r, app), ECERT_OK);
        free(m);
    }
    free(json);
}

static void test_cipher_formats(void **state)
{
    ecert_cipher_format fmts[] = {ECERT_CIPHER_HEX, ECERT_CIPHER_HEX04, ECERT_CIPHER_BASE64,
                                  ECERT_CIPHER_DER};
    for (size_t i = 0; i < 4; i++) {
        char *json = build_request_fmt(fmts[i], BUSINESS, NULL);
        struct envelope_request r;
        assert_int_equal(parse_req(json, &r), ECERT_OK);
        if (fmts[i] == ECERT_CIPHER_HEX04) {
            assert_int_equal(r.encrypt_data_len, 2 * (65 + 32 + strlen(BUSINESS)));
            assert_memory_equal(r.encrypt_data, "04", 2);
        }
        assert_int_equal(envelope_request_verify(&r, app), ECERT_OK);
        struct buf biz = BUF_INIT(ENVELOPE_MAX_BODY);
        assert_int_equal(envelope_request_decrypt(&r, node, &biz, NULL), ECERT_OK);
        assert_string_equal((char *)biz.data, BUSINESS);
        buf_release_secret(&biz);
        free(json);
    }
}

/* The wire format, pinned: a committed envelope still parses, its signed
 * string is byte for byte SPEC §3.1's, and it verifies and decrypts. */
static void test_pinned_request(void **state)
{
    struct sm2_key *app_fixed, *node_fixed, *app_pub;
    assert_int_equal(sm2_key_parse_private(APP_D, 64, &app_fixed), ECERT_OK);
    assert_int_equal(sm2_key_parse_private(NODE_D, 64, &node_fixed), ECERT_OK);
    assert_int_equal(sm2_key_parse_public(APP_PUB, strlen(APP_PUB), &app_pub), ECERT_OK);
    char hex[131];
    sm2_key_public_hex(app_fixed, hex);
    assert_string_equal(hex, APP_PUB);
    sm2_key_public_hex(node_fixed, hex);
    assert_string_equal(hex, NODE_PUB);

    struct envelope_request r;
    assert_int_equal(parse_req(pinned_request, &r), ECERT_OK);
    struct buf tbs = BUF_INIT(1 << 16);
    assert_int_equal(envelope_request_signed_string(&r, &tbs), ECERT_OK);
    static const char want[] = "A3100001\n1764345600123\nc9a1f0e27b4d4e8f\n" PINNED_ENC;
    assert_int_equal(tbs.len, sizeof want - 1);
    assert_memory_equal(tbs.data, want, sizeof want - 1);
    buf_release(&tbs);

    assert_int_equal(envelope_request_verify(&r, app_pub), ECERT_OK);
    assert_int_equal(envelope_request_verify(&r, node_fixed), ECERT_E_SIGNATURE);
    struct buf biz = BUF_INIT(ENVELOPE_MAX_BODY);
    assert_int_equal(envelope_request_decrypt(&r, node_fixed, &biz, NULL), ECERT_OK);
    assert_string_equal((char *)biz.data, pinned_business);
    buf_release_secret(&biz);

    /* an envelope made by npm sm-crypto: raw r||s hex, default user ID */
    assert_int_equal(parse_req(smcrypto_request, &r), ECERT_OK);
    assert_int_equal(envelope_request_verify(&r, app_pub), ECERT_OK);
    assert_int_equal(envelope_request_decrypt(&r, node_fixed, &biz, NULL), ECERT_OK);
    assert_string_equal((char *)biz.data, "{\"UseFor\":\"test\"}");
    buf_release_secret(&biz);

    /* what the builder writes: exactly the five members, in SPEC order */
    struct buf out = BUF_INIT(ENVELOPE_MAX_BODY);
    char nonce[65];
    assert_int_equal(envelope_request_build("A3100001", app_fixed, node_fixed, pinned_business,
                                            strlen(pinned_business), 1764345600123LL,
                                            "c9a1f0e27b4d4e8f", ECERT_CIPHER_HEX, &out, nonce),
                     ECERT_OK);
    const char *prefix = "{\"appId\":\"A3100001\",\"timestamp\":1764345600123,\"nonce\":"
                         "\"c9a1f0e27b4d4e8f\",\"encryptData\":\"";
    assert_memory_equal(out.data, prefix, strlen(prefix));
    json_t *root = json_loads((char *)out.data, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(root);
    assert_int_equal(json_object_size(root), 5);
    json_decref(root);
    buf_release(&out);

    sm2_key_free(app_fixed);
    sm2_key_free(node_fixed);
    sm2_key_free(app_pub);
}

/* ------------------------------------------------------------------------ */
/* Response                                                                  */

#define RNONCE "c9a1f0e27b4d4e8fAAAA"
#define RBIZ "{\"total\":0,\"dataList\":[]}"

static char *build_response(int code, const char *detail, const struct sm2_key *signer)
{
    struct buf out = BUF_INIT(ENVELOPE_MAX_BODY);
    assert_int_equal(envelope_response_build(code, NULL, detail, RNONCE, NOW + 333, signer, app,
                                             RBIZ, strlen(RBIZ), ECERT_CIPHER_HEX, &out),
                     ECERT_OK);
    char *s;
    assert_int_equal(buf_detach(&out, &s, NULL), ECERT_OK);
    return s;
}

static ecert_status open_resp(const char *json, const char *nonce, const struct sm2_key *caller,
                              struct envelope_response *r, struct buf *biz)
{
    return envelope_response_open(&g_arena, json, strlen(json), node, caller, nonce, r, biz);
}

static void test_response_round_trip(void **state)
{
    char *json = build_response(0, NULL, node);
    struct envelope_response r;
    struct buf biz = BUF_INIT(ENVELOPE_MAX_BODY);
    assert_int_equal(open_resp(json, RNONCE, app, &r, &biz), ECERT_OK);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.msg, "success");
    assert_string_equal(r.nonce, RNONCE);
    assert_int_equal(r.timestamp, NOW + 333);
    assert_null(r.detail);
    assert_string_equal((char *)biz.data, RBIZ);
    buf_release_secret(&biz);

    /* the signed string of SPEC §3.2 */
    struct buf tbs = BUF_INIT(1 << 16);
    assert_int_equal(envelope_response_signed_string(&r, &tbs), ECERT_OK);
    char want[4096];
    snprintf(want, sizeof want, "0\n" RNONCE "\n%lld\n%s", NOW + 333, r.encrypt_data);
    assert_string_equal((char *)tbs.data, want);
    buf_release(&tbs);

    /* step by step, and the parsed business object */
    assert_int_equal(envelope_response_verify(&r, node), ECERT_OK);
    assert_int_equal(envelope_response_verify(&r, app), ECERT_E_SIGNATURE);
    json_t *obj;
    assert_int_equal(envelope_response_decrypt(&r, app, &biz, &obj), ECERT_OK);
    assert_int_equal(json_integer_value(json_object_get(obj, "total")), 0);
    json_decref(obj);
    buf_release_secret(&biz);
    /* decrypting with the wrong key */
    assert_int_equal(open_resp(json, RNONCE, other, &r, &biz), ECERT_E_DECRYPT);
    assert_int_equal(biz.len, 0);
    free(json);
}

static void test_response_nonce_mismatch(void **state)
{
    char *json = build_response(0, NULL, node);
    struct envelope_response r;
    struct buf biz = BUF_INIT(ENVELOPE_MAX_BODY);
    err_clear();
    assert_int_equal(open_resp(json, "c9a1f0e27b4d4e8fBBBB", app, &r, &biz), ECERT_E_SIGNATURE);
    assert_detail_has("nonce mismatch");
    assert_int_equal(biz.len, 0);
    /* a prefix of the nonce is no echo either */
    assert_int_equal(open_resp(json, "c9a1f0e27b4d4e8fAAA", app, &r, &biz), ECERT_E_SIGNATURE);
    free(json);
    /* a signed error with the echo: fine; with another nonce: refused */
    json = build_response(3001, NULL, node);
    assert_int_equal(open_resp(json, RNONCE, app, &r, &biz), ECERT_OK);
    assert_int_equal(r.code, 3001);
    assert_int_equal(open_resp(json, "c9a1f0e27b4d4e8fBBBB", app, &r, &biz), ECERT_E_SIGNATURE);
    free(json);
    buf_release_secret(&biz);
}

static void test_response_error_signed(void **state)
{
    char *json = build_response(3001, "app 'A3100001' is disabled", node);
    json_t *root = json_loads(json, 0, NULL);
    assert_non_null(root);
    assert_null(json_object_get(root, "encryptData"));
    assert_true(json_is_integer(json_object_get(root, "code")));
    assert_string_equal(json_string_value(json_object_get(root, "msg")), "app unknown or disabled");
    assert_string_equal(json_string_value(json_object_get(root, "detail")),
                        "app 'A3100001' is disabled");
    assert_non_null(json_object_get(root, "signature"));
    json_decref(root);

    struct envelope_response r;
    assert_int_equal(parse_resp(json, &r), ECERT_OK);
    assert_int_equal(r.code, 3001);
    assert_null(r.encrypt_data);
    struct buf tbs = BUF_INIT(1 << 16);
    assert_int_equal(envelope_response_signed_string(&r, &tbs), ECERT_OK);
    char want[128];
    snprintf(want, sizeof want, "3001\n" RNONCE "\n%lld\n", NOW + 333);
    assert_string_equal((char *)tbs.data, want);
    buf_release(&tbs);
    assert_int_equal(envelope_response_verify(&r, node), ECERT_OK);
    /* the code is signed: changing it breaks the signature */
    char *m = mutate(json, "code", json_integer(4001));
    assert_int_equal(parse_resp(m, &r), ECERT_OK);
    assert_int_equal(envelope_response_verify(&r, node), ECERT_E_SIGNATURE);
    free(m);
    m = mutate(json, "timestamp", json_integer(NOW));
    assert_int_equal(parse_resp(m, &r), ECERT_OK);
    assert_int_equal(envelope_response_verify(&r, node), ECERT_E_SIGNATURE);
    free(m);
    free(json);

    /* a signed error without a nonce (the request's was unusable) */
    struct buf out = BUF_INIT(ENVELOPE_MAX_BODY);
    assert_int_equal(envelope_response_build(1004, NULL, "field 'nonce'", NULL, NOW, node, NULL,
                                             NULL, 0, ECERT_CIPHER_HEX, &out),
                     ECERT_OK);
    struct buf biz = BUF_INIT(ENVELOPE_MAX_BODY);
    assert_int_equal(open_resp((char *)out.data, RNONCE, app, &r, &biz), ECERT_OK);
    assert_int_equal(r.code, 1004);
    assert_null(r.nonce);
    buf_release(&out);
    buf_release_secret(&biz);
}

static void test_response_error_unsigned(void **state)
{
    char *json = build_response(1001, "request: invalid JSON", NULL);
    struct envelope_response r;
    struct buf biz = BUF_INIT(ENVELOPE_MAX_BODY);
    assert_int_equal(open_resp(json, RNONCE, app, &r, &biz), ECERT_OK);
    assert_int_equal(r.code, 1001);
    assert_null(r.signature);
    assert_int_equal(envelope_response_verify(&r, node), ECERT_E_SIGNATURE);
    free(json);
    /* as bare as a foreign node may send it */
    assert_int_equal(open_resp("{\"code\":5003,\"msg\":\"\"}", RNONCE, app, &r, &biz), ECERT_OK);
    assert_int_equal(r.code, 5003);
    assert_string_equal(r.msg, "");
    assert_int_equal(r.has_timestamp, 0);
    /* an unsigned success is refused */
    json = build_response(0, NULL, node);
    char *m = mutate(json, "signature", NULL);
    err_clear();
    assert_int_equal(open_resp(m, RNONCE, app, &r, &biz), ECERT_E_SIGNATURE);
    assert_detail_has("not signed");
    free(m);
    /* a success signed by someone else */
    struct buf out = BUF_INIT(ENVELOPE_MAX_BODY);
    assert_int_equal(envelope_response_build(0, NULL, NULL, RNONCE, NOW, other, app, RBIZ,
                                             strlen(RBIZ), ECERT_CIPHER_HEX, &out),
                     ECERT_OK);
    assert_int_equal(open_resp((char *)out.data, RNONCE, app, &r, &biz), ECERT_E_SIGNATURE);
    buf_release(&out);
    /* tampered encryptData */
    assert_int_equal(parse_resp(json, &r), ECERT_OK);
    char *enc = strdup(r.encrypt_data);
    assert_non_null(enc);
    enc[0] = enc[0] == 'a' ? 'b' : 'a';
    m = mutate(json, "encryptData", json_string(enc));
    assert_int_equal(open_resp(m, RNONCE, app, &r, &biz), ECERT_E_SIGNATURE);
    free(m);
    free(enc);
    free(json);
    buf_release_secret(&biz);
}

static void test_response_shape(void **state)
{
    char *ok = build_response(0, NULL, node);
    char *err = build_response(3001, NULL, node);
    struct {
        const char *base;
        const char *key;
        json_t *v; /* NULL: remove */
        ecert_status want;
    } cases[] = {
        {ok, "code", NULL, ECERT_E_MISSING},
        {ok, "msg", NULL, ECERT_E_MISSING},
        {ok, "nonce", NULL, ECERT_E_MISSING},
        {ok, "timestamp", NULL, ECERT_E_MISSING},
        {ok, "encryptData", NULL, ECERT_E_MISSING},
        {err, "timestamp", NULL, ECERT_E_MISSING}, /* signed: the time is signed */
        {err, "encryptData", json_string("00"), ECERT_E_JSON},
        {ok, "code", json_string("0"), ECERT_E_JSON},
        {ok, "code", json_real(0.0), ECERT_E_JSON},
        {err, "code", json_integer(42), ECERT_E_MALFORMED},
        {err, "code", json_integer(-1), ECERT_E_MALFORMED},
        {err, "code", json_integer(10000), ECERT_E_MALFORMED},
        {ok, "code", json_integer(42), ECERT_E_JSON}, /* shape first: encryptData in an error */
        {ok, "msg", json_integer(1), ECERT_E_JSON},
        {ok, "detail", json_true(), ECERT_E_JSON},
        {ok, "nonce", json_string("short"), ECERT_E_MALFORMED},
        {ok, "timestamp", json_integer(-5), ECERT_E_MALFORMED},
        {ok, "signature", json_integer(5), ECERT_E_JSON},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *m = mutate(cases[i].base, cases[i].key, cases[i].v);
        struct envelope_response r;
        err_clear();
        ecert_status st = parse_resp(m, &r);
        if (st != cases[i].want)
            fail_msg("case %zu (%s): got %d want %d (%s)", i, cases[i].key, st, cases[i].want,
                     err_detail());
        assert_detail_has(cases[i].key);
        free(m);
    }
    /* msg and detail are bounded in characters, not bytes */
    char big[512 * 3 + 1];
    for (size_t i = 0; i < 512; i++)
        memcpy(big + 3 * i, "\xe5\x8a\x9e", 3);
    big[512 * 3] = 0;
    struct envelope_response r;
    char *m = mutate(err, "detail", json_string(big));
    assert_int_equal(parse_resp(m, &r), ECERT_OK);
    free(m);
    char *longer = malloc(sizeof big + 1);
    assert_non_null(longer);
    snprintf(longer, sizeof big + 1, "%sx", big);
    m = mutate(err, "msg", json_string(longer));
    assert_int_equal(parse_resp(m, &r), ECERT_E_TOO_LONG);
    free(m);
    free(longer);
    free(ok);
    free(err);
}

static void test_response_build_repairs_text(void **state)
{
    /* a detail cut inside a UTF-8 sequence, with quotes and control
     * characters, still gives valid JSON */
    const char *detail = "bad \"x\"\n\t\\ \x01 \xe5\x8a";
    struct buf out = BUF_INIT(ENVELOPE_MAX_BODY);
    assert_int_equal(envelope_response_build(1004, "m\xff", detail, NULL, NOW, NULL, NULL, NULL, 0,
                                             ECERT_CIPHER_HEX, &out),
                     ECERT_OK);
    json_t *root = json_loads((char *)out.data, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "detail")),
                        "bad \"x\"\n\t\\ \x01 \xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_object_get(root, "msg")), "m\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_object_get(root, "nonce")), "");
    assert_null(json_object_get(root, "signature"));
    json_decref(root);
    /* cut to ENVELOPE_MAX_MSG characters */
    char *longd = repeat('d', 2000);
    buf_reset(&out);
    assert_int_equal(envelope_response_build(5000, NULL, longd, NULL, NOW, NULL, NULL, NULL, 0,
                                             ECERT_CIPHER_HEX, &out),
                     ECERT_OK);
    root = json_loads((char *)out.data, 0, NULL);
    assert_int_equal(json_string_length(json_object_get(root, "detail")), ENVELOPE_MAX_MSG);
    json_decref(root);
    free(longd);
    /* misuse */
    size_t len = out.len;
    assert_int_equal(envelope_response_build(0, NULL, NULL, RNONCE, NOW, NULL, app, "{}", 2,
                                             ECERT_CIPHER_HEX, &out),
                     ECERT_E_ARG);
    assert_int_equal(envelope_response_build(0, NULL, NULL, NULL, NOW, node, app, "{}", 2,
                                             ECERT_CIPHER_HEX, &out),
                     ECERT_E_ARG);
    assert_int_equal(envelope_response_build(42, NULL, NULL, RNONCE, NOW, node, app, NULL, 0,
                                             ECERT_CIPHER_HEX, &out),
                     ECERT_E_ARG);
    assert_int_equal(envelope_response_build(3001, NULL, NULL, "bad-nonce!", NOW, node, NULL, NULL,
                                             0, ECERT_CIPHER_HEX, &out),
                     ECERT_E_ARG);
    assert_int_equal(out.len, len);
    buf_release(&out);
}

/* ------------------------------------------------------------------------ */
/* SDK                                                                       */

static void test_sdk_round_trip(void **state)
{
    /* Handles made here rather than by ecert_key_*(): this tests the
     * envelope calls, not the key constructors. */
    struct sm2_key *node_pub_k;
    char hex[131];
    sm2_key_public_hex(node, hex);
    assert_int_equal(sm2_key_parse_public(hex, 130, &node_pub_k), ECERT_OK);
    ecert_key app_h = {app}, node_h = {node}, node_pub_h = {node_pub_k};
    ecert_key *app_key = &app_h, *node_key = &node_h, *node_pub = &node_pub_h;

    char *env = NULL, nonce[65];
    assert_int_equal(ecert_envelope_seal_request("A3100001", app_key, node_pub, BUSINESS,
                                                 strlen(BUSINESS), &env, nonce),
                     ECERT_OK);
    assert_int_equal(strlen(nonce), ENVELOPE_NONCE_LEN);

    /* the node's side */
    struct envelope_request req;
    assert_int_equal(parse_req(env, &req), ECERT_OK);
    assert_string_equal(req.nonce, nonce);
    assert_int_equal(envelope_request_verify(&req, app_key->k), ECERT_OK);
    assert_int_equal(envelope_check_time(req.timestamp, envelope_now_ms(), ENVELOPE_WINDOW_MS),
                     ECERT_OK);
    struct buf biz = BUF_INIT(ENVELOPE_MAX_BODY);
    assert_int_equal(envelope_request_decrypt(&req, node_key->k, &biz, NULL), ECERT_OK);
    assert_string_equal((char *)biz.data, BUSINESS);
    buf_release_secret(&biz);

    struct buf out = BUF_INIT(ENVELOPE_MAX_BODY);
    assert_int_equal(envelope_response_build(0, NULL, NULL, req.nonce, envelope_now_ms(),
                                             node_key->k, app_key->k, RBIZ, strlen(RBIZ),
                                             ECERT_CIPHER_HEX, &out),
                     ECERT_OK);
    int code = 7;
    char *business = NULL, *msg = (char *)1;
    assert_int_equal(ecert_envelope_open_response((char *)out.data, out.len, node_pub, app_key,
                                                  nonce, &code, &business, &msg),
                     ECERT_OK);
    assert_int_equal(code, 0);
    assert_string_equal(business, RBIZ);
    assert_null(msg);
    ecert_free(business);

    /* an error response: the message and the detail */
    buf_reset(&out);
    assert_int_equal(envelope_response_build(3001, NULL, "app disabled", req.nonce,
                                             envelope_now_ms(), node_key->k, NULL, NULL, 0,
                                             ECERT_CIPHER_HEX, &out),
                     ECERT_OK);
    assert_int_equal(ecert_envelope_open_response((char *)out.data, out.len, node_pub, app_key,
                                                  nonce, &code, &business, &msg),
                     ECERT_OK);
    assert_int_equal(code, 3001);
    assert_null(business);
    assert_string_equal(msg, "app unknown or disabled: app disabled");
    ecert_free(msg);
    /* out-pointers may be NULL */
    assert_int_equal(ecert_envelope_open_response((char *)out.data, out.len, node_pub, app_key,
                                                  nonce, &code, NULL, NULL),
                     ECERT_OK);
    /* a failed open never leaves a code that reads as success */
    assert_int_equal(ecert_envelope_open_response((char *)out.data, out.len, node_pub, app_key,
                                                  "0000000000000000", &code, &business, &msg),
                     ECERT_E_SIGNATURE);
    assert_int_equal(code, -1);
    assert_null(business);
    assert_null(msg);
    assert_non_null(strstr(ecert_last_error(), "nonce mismatch"));
    buf_release(&out);
    ecert_free(env);

    /* the integrator's business JSON is checked before sealing */
    env = (char *)1;
    assert_int_equal(
        ecert_envelope_seal_request("A3100001", app_key, node_pub, "{\"a\":", 5, &env, nonce),
        ECERT_E_JSON);
    assert_null(env);
    assert_int_equal(
        ecert_envelope_seal_request("A3100001", node_pub, node_pub, "{}", 2, &env, nonce),
        ECERT_E_ARG);
    assert_int_equal(ecert_envelope_seal_request(NULL, app_key, node_pub, "{}", 2, &env, nonce),
                     ECERT_E_ARG);
    sm2_key_free(node_pub_k);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_request_round_trip),
        T(test_request_given_nonce),
        T(test_request_missing_fields),
        T(test_request_wrong_types),
        T(test_request_duplicate_keys),
        T(test_request_limits),
        T(test_request_bad_characters),
        T(test_request_tampered),
        T(test_request_decrypt_failures),
        T(test_time_window),
        T(test_signature_encodings),
        T(test_cipher_formats),
        T(test_pinned_request),
        T(test_response_round_trip),
        T(test_response_nonce_mismatch),
        T(test_response_error_signed),
        T(test_response_error_unsigned),
        T(test_response_shape),
        T(test_response_build_repairs_text),
        T(test_sdk_round_trip),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
