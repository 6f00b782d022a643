/*
 * test_codes.c — identifiers and check characters (src/codes/ids.c).
 *
 * Real data: the three certificate identifiers of SPEC §2, and 统一社会信用代码
 * found in the signed OFD/PDF samples of the shared corpus. Every other example
 * is either computed here or checked against a hand computation noted beside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "codes/ids.h"
#include "common/error.h"

static const char *const real_ids[] = {
    "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
};

/* Issuers of the identifiers above, the defining body of their type codes
 * (国务院办公厅), and codes from the shared corpus's signed OFD/PDF files. */
static const char *const real_usccs[] = {
    "11220000013544541J", "11430000006122244L", "11330105002500287C", "11100000000013338W",
    "12100000000018032A", "11100000MB03271699", "11370000MB2852565A", "11370306MB2867521U",
    "115300000151003540", "91110108339805094M", "91110108690017781B", "91320115MA202UKD7X",
    "913202133140424571", "91320404MA22FHG7XX", "91330106MA7GAL1299", "91460300MAA92DJN95",
    "92330781MA2EDMFU50",
};

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* xorshift32: deterministic tests, and a generator callback. */
static uint32_t xorshift(void *ctx)
{
    uint32_t *s = ctx;
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

static void assert_detail_has(const char *needle)
{
    if (!strstr(err_detail(), needle))
        fail_msg("detail \"%s\" lacks \"%s\"", err_detail(), needle);
}

/* Parses with exactly `len` bytes in a heap-free, unterminated copy. */
static ecert_status parse_exact(const char *s, size_t len, struct cert_id *out)
{
    char buf[300];
    assert_true(len <= sizeof buf);
    memcpy(buf, s, len);
    if (len < sizeof buf)
        buf[len] = '#'; /* not a terminator: the parser must stop at len */
    return ids_cert_parse(buf, len, out);
}

/* ===================================================================== */
/* Certificate identifiers                                                */

static void test_mod37_36_real(void **state)
{
    (void)state;
    /* The algorithm against the three real identifiers, before anything else. */
    assert_int_equal(ids_mod37_36("11100000000013338W03211220000013544541J2430599001", 49), 'F');
    assert_int_equal(ids_mod37_36("11100000000013338W01111430000006122244L20230000403001", 53),
                     'U');
    assert_int_equal(ids_mod37_36("11100000000013338W00911330105002500287C2025052201002", 52), '0');
    assert_int_equal(ids_mod37_36("1a", 2), 0);
    assert_int_equal(ids_mod37_36("1.", 2), 0);
}

static void test_cert_real(void **state)
{
    (void)state;
    static const char *const issuers[] = {"11220000013544541J", "11430000006122244L",
                                          "11330105002500287C"};
    static const char *const serials[] = {"2430599", "20230000403", "2025052201"};
    static const char *const regions[] = {"220000", "430000", "330105"};
    static const char *const provinces[] = {NULL, NULL, "330000"};
    for (size_t i = 0; i < N_ELEM(real_ids); i++) {
        struct cert_id id;
        assert_int_equal(parse_exact(real_ids[i], strlen(real_ids[i]), &id), ECERT_OK);
        assert_string_equal(id.issuer, issuers[i]);
        assert_string_equal(id.serial, serials[i]);
        assert_int_equal(strncmp(id.type_code, "11100000000013338W0", 19), 0);
        assert_int_equal(id.check, real_ids[i][strlen(real_ids[i]) - 1]);
        char region[7];
        ids_cert_region(&id, region);
        assert_string_equal(region, regions[i]);
        const char *prov = ids_region_province(region, 6);
        if (provinces[i])
            assert_string_equal(prov, provinces[i]);
        else
            assert_null(prov);

        char out[IDS_CERT_MAX_LEN + 1];
        size_t n = 0;
        assert_int_equal(ids_cert_format(&id, out, sizeof out, &n), ECERT_OK);
        assert_int_equal(n, strlen(real_ids[i]));
        assert_string_equal(out, real_ids[i]);

        unsigned kinds = 99;
        assert_int_equal(ids_classify(real_ids[i], strlen(real_ids[i]), &kinds), ECERT_OK);
        assert_int_equal(kinds, IDS_KIND_CERT);
    }
}

/* Every single-character change anywhere in a real identifier is refused
 * with 1004: in the root, a dot, a part (MOD 37,36 or a part rule) or the
 * check character itself. */
static void test_cert_one_char_changed(void **state)
{
    (void)state;
    static const char repl[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZaxz.- #";
    for (size_t i = 0; i < N_ELEM(real_ids); i++) {
        size_t len = strlen(real_ids[i]);
        char s[128];
        for (size_t pos = 0; pos < len; pos++) {
            for (size_t r = 0; r < sizeof repl - 1; r++) {
                if (repl[r] == real_ids[i][pos])
                    continue;
                memcpy(s, real_ids[i], len);
                s[pos] = repl[r];
                ecert_status st = parse_exact(s, len, NULL);
                if (st != ECERT_E_MALFORMED)
                    fail_msg("id %zu, position %zu -> '%c': status %d", i, pos, repl[r], st);
                unsigned kinds = 99;
                assert_int_equal(ids_classify(s, len, &kinds), ECERT_E_MALFORMED);
                assert_int_equal(kinds, 0);
            }
        }
    }
}

static void test_cert_wrong_check(void **state)
{
    (void)state;
    const char *s = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.J";
    assert_int_equal(ids_cert_parse(s, strlen(s), NULL), ECERT_E_MALFORMED);
    assert_detail_has("check character is 'J', expected 'F'");
    s = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.f";
    assert_int_equal(ids_cert_parse(s, strlen(s), NULL), ECERT_E_MALFORMED);
    assert_detail_has("lowercase");
    /* A changed issuer character is reported by the issuer's own check. */
    s = "1.2.156.3005.2.11100000000013338W032.11220000013544542J.2430599.001.F";
    assert_int_equal(ids_cert_parse(s, strlen(s), NULL), ECERT_E_MALFORMED);
    assert_detail_has("issuer code");
}

/* Builds an identifier from parts with a correct check character, so that a
 * test exercises exactly one rule. */
static void build_id(char *out, size_t cap, const char *type, const char *issuer,
                     const char *serial, const char *version)
{
    char body[200];
    snprintf(body, sizeof body, "%s%s%s%s", type, issuer, serial, version);
    char c = ids_mod37_36(body, strlen(body));
    snprintf(out, cap, "1.2.156.3005.2.%s.%s.%s.%s.%c", type, issuer, serial, version, c ? c : '0');
}

static void expect_malformed(const char *s, const char *needle)
{
    struct cert_id id;
    memset(&id, 0x55, sizeof id);
    ecert_status st = parse_exact(s, strlen(s), &id);
    if (st != ECERT_E_MALFORMED)
        fail_msg("\"%s\": status %d, expected 1004", s, st);
    assert_detail_has(needle);
    assert_int_equal(id.type_code[0], 0); /* out is zeroed on failure */
    assert_int_equal(id.check, 0);
}

static void test_cert_lengths(void **state)
{
    (void)state;
    const char *iss = "11220000013544541J";
    char s[256];
    build_id(s, sizeof s, "11100000000013338W03", iss, "2430599", "001");
    expect_malformed(s, "type code is 20 characters, expected 21");
    build_id(s, sizeof s, "11100000000013338W0321", iss, "2430599", "001");
    expect_malformed(s, "type code is 22 characters");
    build_id(s, sizeof s, "11100000000013338WA32", iss, "2430599", "001");
    expect_malformed(s, "type code character 19");
    build_id(s, sizeof s, "11100000000013338W032", "1122000001354454J", "2430599", "001");
    expect_malformed(s, "issuer code: 17 characters, expected 18");
    build_id(s, sizeof s, "11100000000013338W032", iss, "", "001");
    expect_malformed(s, "serial is empty");
    build_id(s, sizeof s, "11100000000013338W032", iss, "123456789012345678901234567890123", "001");
    expect_malformed(s, "serial is 33 characters, limit 32");
    build_id(s, sizeof s, "11100000000013338W032", iss, "24305-99", "001");
    expect_malformed(s, "serial character 6 is '-'");
    build_id(s, sizeof s, "11100000000013338W032", iss, "2430599", "01");
    expect_malformed(s, "version is 2 characters");
    build_id(s, sizeof s, "11100000000013338W032", iss, "2430599", "0001");
    expect_malformed(s, "version is 4 characters");
    build_id(s, sizeof s, "11100000000013338W032", iss, "2430599", "00A");
    expect_malformed(s, "version character 3 is 'A', expected a digit");
    expect_malformed("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.FF",
                     "check part is 2 characters");
    expect_malformed("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.",
                     "check part is 0 characters");

    /* 32-character serial: the longest valid one, and it round-trips. */
    build_id(s, sizeof s, "11100000000013338W032", iss, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "001");
    assert_int_equal(strlen(s), IDS_CERT_MAX_LEN);
    assert_int_equal(ids_cert_parse(s, strlen(s), NULL), ECERT_OK);
    /* 1-character serial. */
    build_id(s, sizeof s, "11100000000013338W032", iss, "7", "001");
    assert_int_equal(ids_cert_parse(s, strlen(s), NULL), ECERT_OK);
}

static void test_cert_lowercase(void **state)
{
    (void)state;
    char s[128];
    build_id(s, sizeof s, "11100000000013338w032", "11220000013544541J", "2430599", "001");
    expect_malformed(s, "type code character 18 is lowercase 'w'");
    /* The whole identifier in lowercase. */
    const char *real = real_ids[0];
    size_t n = strlen(real);
    for (size_t i = 0; i < n; i++)
        s[i] = (real[i] >= 'A' && real[i] <= 'Z') ? (char)(real[i] - 'A' + 'a') : real[i];
    s[n] = 0;
    expect_malformed(s, "lowercase");
    build_id(s, sizeof s, "11100000000013338W032", "11220000013544541j", "2430599", "001");
    expect_malformed(s, "issuer code: character 18 is lowercase 'j'");
    build_id(s, sizeof s, "11100000000013338W032", "11220000013544541J", "243a599", "001");
    expect_malformed(s, "serial character 4 is lowercase 'a'");
}

static void test_cert_dots_and_root(void **state)
{
    (void)state;
    expect_malformed("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F.",
                     "extra '.' at character 70");
    expect_malformed("1.2.156.3005.2.11100000000013338W032..11220000013544541J.2430599.001.F",
                     "extra '.'");
    expect_malformed("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001F",
                     "4 parts after the root, expected 5");
    expect_malformed(".1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
                     "root");
    expect_malformed("1.2.156.3005.3.11100000000013338W032.11220000013544541J.2430599.001.F",
                     "root");
    expect_malformed("1.2.156.3005.2", "root");
    expect_malformed("1.2.156.3005.2.", "1 parts after the root");
    expect_malformed(" 1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
                     "root");
    expect_malformed("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F ",
                     "check part is 2 characters");
}

static void test_cert_empty_and_long(void **state)
{
    (void)state;
    assert_int_equal(ids_cert_parse("", 0, NULL), ECERT_E_MALFORMED);
    assert_detail_has("empty");
    char big[200];
    memset(big, 'A', sizeof big);
    assert_int_equal(ids_cert_parse(big, 129, NULL), ECERT_E_TOO_LONG);
    assert_int_equal(ids_cert_parse(big, sizeof big, NULL), ECERT_E_TOO_LONG);
    assert_int_equal(ids_cert_parse(big, 128, NULL), ECERT_E_MALFORMED);
    assert_int_equal(ids_classify(big, 129, NULL), ECERT_E_TOO_LONG);
    assert_int_equal(ids_citizen_check(big, 129), ECERT_E_TOO_LONG);
    assert_int_equal(ids_uscc_check(big, 129), ECERT_E_TOO_LONG);
    /* A valid identifier followed by 60 more bytes of a longer string: only
     * the first len bytes count, and a NUL inside is just a bad character. */
    char s[200];
    size_t n = strlen(real_ids[0]);
    memcpy(s, real_ids[0], n);
    memset(s + n, '9', sizeof s - n);
    assert_int_equal(ids_cert_parse(s, n, NULL), ECERT_OK);
    s[20] = 0;
    assert_int_equal(ids_cert_parse(s, n, NULL), ECERT_E_MALFORMED);
    assert_detail_has("byte 0x00");
}

static void test_cert_format_errors(void **state)
{
    (void)state;
    struct cert_id id;
    assert_int_equal(ids_cert_parse(real_ids[1], strlen(real_ids[1]), &id), ECERT_OK);
    char out[IDS_CERT_MAX_LEN + 1];
    size_t need = strlen(real_ids[1]) + 1;
    assert_int_equal(ids_cert_format(&id, out, need - 1, NULL), ECERT_E_ARG);
    assert_int_equal(ids_cert_format(&id, out, need, NULL), ECERT_OK);
    assert_string_equal(out, real_ids[1]);
    /* The check member is ignored: format computes it. */
    id.check = '?';
    assert_int_equal(ids_cert_format(&id, out, sizeof out, NULL), ECERT_OK);
    assert_string_equal(out, real_ids[1]);
    /* A field without its terminator is refused, not read past. */
    struct cert_id bad = id;
    memset(bad.version, '1', sizeof bad.version);
    assert_int_equal(ids_cert_format(&bad, out, sizeof out, NULL), ECERT_E_MALFORMED);
    bad = id;
    bad.issuer[17] = 'X';
    assert_int_equal(ids_cert_format(&bad, out, sizeof out, NULL), ECERT_E_MALFORMED);
    assert_detail_has("issuer code: check character is 'X', expected 'L'");
}

/* ===================================================================== */
/* MOD 37,36 properties                                                   */

static void random_body(uint32_t *rng, char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s[i] = alnum[xorshift(rng) % 36];
}

static void test_mod37_36_properties(void **state)
{
    (void)state;
    uint32_t rng = 0x2545F491u;
    size_t substitutions = 0;
    for (int round = 0; round < 10000; round++) {
        /* Bodies of the lengths identifiers have: 21 + 18 + 1..32 + 3. */
        size_t n = 43 + xorshift(&rng) % 32;
        char s[80];
        random_body(&rng, s, n);
        char c = ids_mod37_36(s, n);
        assert_true(c != 0 && strchr(alnum, c) != NULL);
        /* Hybrid-system definition: appending the check character leaves the
         * running S value at 1. Recomputed independently here. */
        unsigned p = 36;
        for (size_t i = 0; i <= n; i++) {
            char ch = i < n ? s[i] : c;
            unsigned v = (unsigned)(strchr(alnum, ch) - alnum);
            unsigned t = (p + v) % 36;
            if (i == n) {
                assert_int_equal(t, 1);
                break;
            }
            p = ((t ? t : 36) * 2) % 37;
        }
        /* Every single-character substitution changes the check character:
         * 35 x n substitutions per body, about 20 million in all (~10 s;
         * the price of proving the property on every body). */
        for (size_t pos = 0; pos < n; pos++) {
            char orig = s[pos];
            for (int k = 0; k < 36; k++) {
                if (alnum[k] == orig)
                    continue;
                s[pos] = alnum[k];
                if (ids_mod37_36(s, n) == c)
                    fail_msg("substitution at %zu to '%c' undetected", pos, alnum[k]);
                substitutions++;
            }
            s[pos] = orig;
        }
    }
    assert_true(substitutions > 10000u * 43 * 35);
}

/* Random valid identifiers: format computes the check, parse accepts it,
 * and every substitution in the check-covered body is refused. */
static void test_cert_generate_roundtrip(void **state)
{
    (void)state;
    uint32_t rng = 12345;
    for (int round = 0; round < 10000; round++) {
        struct cert_id id;
        memset(&id, 0, sizeof id);
        random_body(&rng, id.type_code, 18);
        for (int i = 18; i < 21; i++)
            id.type_code[i] = (char)('0' + xorshift(&rng) % 10);
        char region[7];
        snprintf(region, sizeof region, "%06u", (unsigned)(xorshift(&rng) % 1000000));
        assert_int_equal(ids_uscc_generate("11", region, xorshift, &rng, id.issuer), ECERT_OK);
        snprintf(id.version, sizeof id.version, "%03u", (unsigned)(xorshift(&rng) % 1000));
        size_t serial_len = 1 + xorshift(&rng) % 32;
        if (round % 2) {
            assert_int_equal(ids_cert_generate(&id, serial_len, xorshift, &rng), ECERT_OK);
        } else {
            random_body(&rng, id.serial, serial_len);
            id.serial[serial_len] = 0;
        }
        char out[IDS_CERT_MAX_LEN + 1];
        size_t n;
        assert_int_equal(ids_cert_format(&id, out, sizeof out, &n), ECERT_OK);
        struct cert_id back;
        assert_int_equal(parse_exact(out, n, &back), ECERT_OK);
        assert_string_equal(back.type_code, id.type_code);
        assert_string_equal(back.issuer, id.issuer);
        assert_string_equal(back.serial, id.serial);
        assert_string_equal(back.version, id.version);
        assert_int_equal(back.check, out[n - 1]);
        if (round % 2)
            assert_int_equal(id.check, out[n - 1]);
        /* One random substitution in the serial. */
        size_t pos = n - 7 - (xorshift(&rng) % serial_len); /* "<serial>.vvv.c" */
        char orig = out[pos];
        out[pos] = alnum[(strchr(alnum, orig) - alnum + 1 + xorshift(&rng) % 35) % 36];
        assert_int_equal(parse_exact(out, n, NULL), ECERT_E_MALFORMED);
    }
}

/* ===================================================================== */
/* 公民身份号码                                                             */

/* 17 digits + its computed check digit. */
static void with_check(char out[19], const char *s17)
{
    memcpy(out, s17, 17);
    out[17] = ids_citizen_check_char(s17, 17);
    out[18] = 0;
}

static void test_citizen(void **state)
{
    (void)state;
    /* The GB 11643-1999 example: sum 167, 167 mod 11 = 2 -> 'X'. */
    assert_int_equal(ids_citizen_check_char("11010519491231002", 17), 'X');
    assert_int_equal(ids_citizen_check("11010519491231002X", 18), ECERT_OK);
    /* Shanghai 1990-03-07, sequence 126: sum 206, mod 11 = 8 -> '4'. */
    assert_int_equal(ids_citizen_check_char("31010419900307126", 17), '4');
    assert_int_equal(ids_citizen_check("310104199003071264", 18), ECERT_OK);

    unsigned kinds = 0;
    assert_int_equal(ids_classify("11010519491231002X", 18, &kinds), ECERT_OK);
    assert_int_equal(kinds, IDS_KIND_CITIZEN);

    /* Wrong check digits. */
    assert_int_equal(ids_citizen_check("310104199003071265", 18), ECERT_E_MALFORMED);
    assert_detail_has("check character is '5', expected '4'");
    assert_detail_has("公民身份号码");
    assert_int_equal(ids_citizen_check("110105194912310020", 18), ECERT_E_MALFORMED);
    assert_detail_has("expected 'X'");
    assert_int_equal(ids_citizen_check("31010419900307126X", 18), ECERT_E_MALFORMED);

    /* Lowercase x: refused by the strict check, canonicalised by normalize. */
    assert_int_equal(ids_citizen_check("11010519491231002x", 18), ECERT_E_MALFORMED);
    assert_detail_has("lowercase 'x'");
    char norm[19];
    assert_int_equal(ids_citizen_normalize("11010519491231002x", 18, norm), ECERT_OK);
    assert_string_equal(norm, "11010519491231002X");
    assert_int_equal(ids_citizen_normalize("310104199003071264", 18, norm), ECERT_OK);
    assert_string_equal(norm, "310104199003071264");
    assert_int_equal(ids_citizen_normalize("31010419900307126x", 18, norm), ECERT_E_MALFORMED);
    assert_string_equal(norm, "");

    /* Shape. */
    assert_int_equal(ids_citizen_check("31010419900307126", 17), ECERT_E_MALFORMED);
    assert_detail_has("17 characters, expected 18");
    assert_int_equal(ids_citizen_check("3101041990030712644", 19), ECERT_E_MALFORMED);
    assert_int_equal(ids_citizen_check("3101041990A3071264", 18), ECERT_E_MALFORMED);
    assert_detail_has("公民身份号码: character 11 is 'A', expected a digit");
    assert_int_equal(ids_citizen_check("", 0), ECERT_E_MALFORMED);

    /* Region: first digit 1-8. */
    char s[19];
    with_check(s, "01010419900307123");
    assert_int_equal(ids_citizen_check(s, 18), ECERT_E_MALFORMED);
    assert_detail_has("region code starts with '0'");
    with_check(s, "91010419900307123");
    assert_int_equal(ids_citizen_check(s, 18), ECERT_E_MALFORMED);
    with_check(s, "81000019900307123");
    assert_int_equal(ids_citizen_check(s, 18), ECERT_OK);
}

static void test_citizen_dates(void **state)
{
    (void)state;
    const uint32_t today = 20240615;
    char s[19];
    struct {
        const char *s17;
        ecert_status want;
        const char *detail;
    } cases[] = {
        {"31010419990229123", ECERT_E_MALFORMED, "29 February of a non-leap year"},
        {"31010420000229123", ECERT_OK, NULL},                /* 2000: divisible by 400 */
        {"31010419000229123", ECERT_E_MALFORMED, "non-leap"}, /* 1900: by 100 only */
        {"31010419960229123", ECERT_OK, NULL},
        {"31010419901301123", ECERT_E_MALFORMED, "birth month 13 does not exist"},
        {"31010419900001123", ECERT_E_MALFORMED, "birth month 00"},
        {"31010419900100123", ECERT_E_MALFORMED, "birth day 00 does not exist in month 01"},
        {"31010419900431123", ECERT_E_MALFORMED, "birth day 31 does not exist in month 04"},
        {"31010419901231123", ECERT_OK, NULL},
        {"31010418991231123", ECERT_E_MALFORMED, "before 1900"},
        {"31010419000101123", ECERT_OK, NULL},
        {"31010420240615123", ECERT_OK, NULL}, /* born today */
        {"31010420240616123", ECERT_E_MALFORMED, "in the future"},
        {"31010430000101123", ECERT_E_MALFORMED, "in the future"},
    };
    for (size_t i = 0; i < N_ELEM(cases); i++) {
        with_check(s, cases[i].s17);
        ecert_status st = ids_citizen_check_on(s, 18, today);
        if (st != cases[i].want)
            fail_msg("%s: status %d, detail %s", cases[i].s17, st, err_detail());
        if (cases[i].detail)
            assert_detail_has(cases[i].detail);
    }
    /* The GB 11643 standard's own example is born in 1880: well-formed, but
     * before the 1900 floor, so refused. */
    assert_int_equal(ids_citizen_check_char("44052418800101001", 17), '4');
    assert_int_equal(ids_citizen_check("440524188001010014", 18), ECERT_E_MALFORMED);
    /* The real clock: tomorrow's date a century from now is in the future. */
    with_check(s, "31010421240101123");
    assert_int_equal(ids_citizen_check(s, 18), ECERT_E_MALFORMED);
    assert_true(ids_today() >= 20240101 && ids_today() < 21000101);
}

static void test_citizen_generate(void **state)
{
    (void)state;
    uint32_t rng = 777;
    char out[19];
    static const char *const regions[] = {"310104", "320102", "330106", "340104", "110105"};
    static const char *const births[] = {"19900307", "20000229", "19000101", "19491231"};
    for (int i = 0; i < 2000; i++) {
        const char *r = regions[i % N_ELEM(regions)], *b = births[i % N_ELEM(births)];
        assert_int_equal(ids_citizen_generate(r, b, xorshift, &rng, out), ECERT_OK);
        assert_int_equal(strlen(out), 18);
        assert_memory_equal(out, r, 6);
        assert_memory_equal(out + 6, b, 8);
        assert_false(memcmp(out + 14, "000", 3) == 0);
        assert_int_equal(ids_citizen_check(out, 18), ECERT_OK);
        unsigned kinds = 0;
        assert_int_equal(ids_classify(out, 18, &kinds), ECERT_OK);
        assert_true(kinds & IDS_KIND_CITIZEN);
    }
    assert_int_equal(ids_citizen_generate("010104", "19900307", xorshift, &rng, out),
                     ECERT_E_MALFORMED);
    assert_string_equal(out, "");
    assert_int_equal(ids_citizen_generate("31010", "19900307", xorshift, &rng, out),
                     ECERT_E_MALFORMED);
    assert_int_equal(ids_citizen_generate("310104", "19990229", xorshift, &rng, out),
                     ECERT_E_MALFORMED);
    assert_int_equal(ids_citizen_generate("310104", "1990030", xorshift, &rng, out),
                     ECERT_E_MALFORMED);
    assert_int_equal(ids_citizen_generate("310104", "19900307", NULL, NULL, out), ECERT_E_ARG);
}

/* ===================================================================== */
/* 统一社会信用代码                                                         */

static void test_uscc_real(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEM(real_usccs); i++) {
        const char *s = real_usccs[i];
        if (ids_uscc_check(s, 18) != ECERT_OK)
            fail_msg("%s: %s", s, err_detail());
        assert_int_equal(ids_uscc_check_char(s, 17), s[17]);
        /* Every real code also carries a valid 组织机构代码 (not enforced). */
        if (ids_orgcode_check(s + 8, 9) != ECERT_OK)
            fail_msg("%s: %s", s, err_detail());
    }
    /* GB 32100 weights by hand for the first issuer: 11220000013544541 ->
     * sum 571, 571 mod 31 = 13, 31 - 13 = 18 -> 'J'. */
    assert_int_equal(ids_uscc_check_char("11220000013544541", 17), 'J');
    /* An often-quoted "example" that is not valid: its check is '7'. */
    assert_int_equal(ids_uscc_check("91310000MA1FL8LQ4A", 18), ECERT_E_MALFORMED);
    assert_detail_has("check character is 'A', expected '7'");
    assert_int_equal(ids_uscc_check("91310000MA1FL8LQ47", 18), ECERT_OK);
}

static void test_uscc_rules(void **state)
{
    (void)state;
    assert_int_equal(ids_uscc_check("11220000013544541K", 18), ECERT_E_MALFORMED);
    assert_detail_has("统一社会信用代码: check character is 'K', expected 'J'");
    assert_int_equal(ids_uscc_check("1122000001354454J", 17), ECERT_E_MALFORMED);
    assert_detail_has("17 characters, expected 18");
    assert_int_equal(ids_uscc_check("11220000013544541j", 18), ECERT_E_MALFORMED);
    assert_detail_has("lowercase 'j'");
    static const char excluded[] = "IOSVZ";
    for (int i = 0; i < 5; i++) {
        char s[19] = "91310000MA1FL8LQ47";
        s[9] = excluded[i];
        assert_int_equal(ids_uscc_check(s, 18), ECERT_E_MALFORMED);
        assert_detail_has("does not use");
    }
    /* A letter in the region code, even with a correct check character. */
    char s[19] = "9131A000MA1FL8LQ4";
    s[17] = ids_uscc_check_char(s, 17);
    s[18] = 0;
    assert_int_equal(ids_uscc_check(s, 18), ECERT_E_MALFORMED);
    assert_detail_has("region code (characters 3-8): character 5 is 'A'");
    assert_int_equal(ids_uscc_check("91310000MA1FL8LQ4-", 18), ECERT_E_MALFORMED);
    assert_detail_has("character 18 is '-'");
    assert_int_equal(ids_uscc_check("91310000MA1FL8LQ4\x80", 18), ECERT_E_MALFORMED);
    assert_detail_has("byte 0x80");

    /* Every single substitution of a real code is caught. */
    static const char abc[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    for (size_t i = 0; i < N_ELEM(real_usccs); i++) {
        for (size_t pos = 0; pos < 18; pos++) {
            for (size_t k = 0; k < sizeof abc - 1; k++) {
                char t[19];
                memcpy(t, real_usccs[i], 19);
                if (t[pos] == abc[k])
                    continue;
                t[pos] = abc[k];
                assert_int_equal(ids_uscc_check(t, 18), ECERT_E_MALFORMED);
            }
        }
    }

    /* 组织机构代码 alone. */
    assert_int_equal(ids_orgcode_check("013544541", 9), ECERT_OK);
    assert_int_equal(ids_orgcode_check("013544542", 9), ECERT_E_MALFORMED);
    assert_detail_has("expected '1'");
    assert_int_equal(ids_orgcode_check("01354454", 8), ECERT_E_MALFORMED);
    assert_int_equal(ids_orgcode_check("0135445a1", 9), ECERT_E_MALFORMED);
    /* Weighted sums by hand: 2 -> 11 - 2 = '9'; 12 -> 11 - 1 = 10 -> 'X';
     * 0 -> 11 -> '0'. */
    assert_int_equal(ids_orgcode_check_char("00000001", 8), '9');
    assert_int_equal(ids_orgcode_check_char("00000006", 8), 'X');
    assert_int_equal(ids_orgcode_check_char("00000000", 8), '0');
    assert_int_equal(ids_orgcode_check("00000006X", 9), ECERT_OK);
    assert_int_equal(ids_orgcode_check_char("0000000a", 8), 0);
}

static void test_uscc_generate(void **state)
{
    (void)state;
    uint32_t rng = 99;
    char out[19];
    for (int i = 0; i < 5000; i++) {
        const char *prefix = (i % 3 == 0) ? NULL : (i % 3 == 1) ? "12" : "Y1";
        assert_int_equal(ids_uscc_generate(prefix, "320102", xorshift, &rng, out), ECERT_OK);
        assert_int_equal(strlen(out), 18);
        assert_memory_equal(out, prefix ? prefix : "91", 2);
        assert_memory_equal(out + 2, "320102", 6);
        assert_int_equal(ids_uscc_check(out, 18), ECERT_OK);
        assert_int_equal(ids_orgcode_check(out + 8, 9), ECERT_OK);
        assert_int_equal(ids_holder_check("001", 3, out, 18), ECERT_OK);
    }
    assert_int_equal(ids_uscc_generate("9I", "320102", xorshift, &rng, out), ECERT_E_MALFORMED);
    assert_int_equal(ids_uscc_generate("9", "320102", xorshift, &rng, out), ECERT_E_MALFORMED);
    assert_int_equal(ids_uscc_generate(NULL, "32010A", xorshift, &rng, out), ECERT_E_MALFORMED);
    assert_int_equal(ids_uscc_generate(NULL, "3201020", xorshift, &rng, out), ECERT_E_MALFORMED);
    assert_int_equal(ids_uscc_generate(NULL, "320102", NULL, NULL, out), ECERT_E_ARG);
}

/* A source stuck at one value must not hang the generators. */
static uint32_t stuck(void *ctx)
{
    (void)ctx;
    return UINT32_MAX;
}

static void test_generate_stuck_source(void **state)
{
    (void)state;
    char out[19];
    assert_int_equal(ids_uscc_generate(NULL, "310000", stuck, NULL, out), ECERT_OK);
    assert_int_equal(ids_citizen_generate("310000", "19900101", stuck, NULL, out), ECERT_OK);
}

/* ===================================================================== */
/* Regions, classification, holder codes                                  */

static void test_region_province(void **state)
{
    (void)state;
    assert_string_equal(ids_region_province("310000", 6), "310000");
    assert_string_equal(ids_region_province("310115", 6), "310000");
    assert_string_equal(ids_region_province("320102", 6), "320000");
    assert_string_equal(ids_region_province("330105", 6), "330000");
    assert_string_equal(ids_region_province("341100", 6), "340000");
    assert_null(ids_region_province("350000", 6));
    assert_null(ids_region_province("300000", 6));
    assert_null(ids_region_province("220000", 6));
    assert_null(ids_region_province("110000", 6));
    assert_null(ids_region_province("31000", 5));
    assert_null(ids_region_province("3100000", 7));
    assert_null(ids_region_province("31000A", 6));
    assert_null(ids_region_province(NULL, 6));
    /* Only the first 6 bytes are read. */
    assert_string_equal(ids_region_province("3401009999", 6), "340000");
}

static void test_classify(void **state)
{
    (void)state;
    unsigned kinds = 0;
    assert_int_equal(ids_classify("11220000013544541J", 18, &kinds), ECERT_OK);
    assert_int_equal(kinds, IDS_KIND_USCC);
    assert_string_equal(ids_kind_name(kinds), "统一社会信用代码");
    assert_string_equal(ids_kind_name(IDS_KIND_CERT), "certificate identifier");
    assert_string_equal(ids_kind_name(IDS_KIND_CITIZEN | IDS_KIND_USCC), "公民身份号码");
    assert_string_equal(ids_kind_name(0), "unknown");

    /* An all-digit string valid as both kinds: search a run of sequence
     * codes for one whose two check characters coincide (about 1 in 31). */
    char s[19];
    bool found = false;
    for (unsigned seq = 0; seq < 1000 && !found; seq++) {
        snprintf(s, sizeof s, "31010419900307%03u", seq);
        char c = ids_citizen_check_char(s, 17);
        if (c != 'X' && c == ids_uscc_check_char(s, 17)) {
            s[17] = c;
            s[18] = 0;
            found = true;
        }
    }
    assert_true(found);
    assert_int_equal(ids_classify(s, 18, &kinds), ECERT_OK);
    assert_int_equal(kinds, IDS_KIND_CITIZEN | IDS_KIND_USCC);

    /* None: the reason names the kinds it resembles. */
    assert_int_equal(ids_classify("310104199003071265", 18, &kinds), ECERT_E_MALFORMED);
    assert_int_equal(kinds, 0);
    assert_detail_has("not a 公民身份号码 (check character is '5', expected '4')");
    assert_int_equal(ids_classify("91310000MA1FL8LQ4A", 18, &kinds), ECERT_E_MALFORMED);
    assert_detail_has("not a 统一社会信用代码 (check character is 'A', expected '7')");
    assert_int_equal(ids_classify("hello", 5, &kinds), ECERT_E_MALFORMED);
    assert_detail_has("5 characters");
    assert_int_equal(ids_classify("", 0, &kinds), ECERT_E_MALFORMED);
    assert_detail_has("empty");
    assert_int_equal(ids_classify("1.2.3", 5, &kinds), ECERT_E_MALFORMED);
    assert_detail_has("root");
    assert_int_equal(ids_classify(real_ids[0], strlen(real_ids[0]) - 1, &kinds), ECERT_E_MALFORMED);
    assert_detail_has("check part is 0 characters");
}

static void test_holder_check(void **state)
{
    (void)state;
    assert_int_equal(ids_holder_check("111", 3, "11010519491231002X", 18), ECERT_OK);
    assert_int_equal(ids_holder_check("111", 3, "11010519491231002x", 18), ECERT_E_MALFORMED);
    assert_int_equal(ids_holder_check("001", 3, "11220000013544541J", 18), ECERT_OK);
    assert_int_equal(ids_holder_check("001", 3, "11010519491231002X", 18), ECERT_E_MALFORMED);
    assert_int_equal(ids_holder_check("414", 3, "E12345678", 9), ECERT_OK);
    assert_int_equal(ids_holder_check("414", 3, "南字第123号", strlen("南字第123号")), ECERT_OK);
    assert_int_equal(ids_holder_check("414", 3, "", 0), ECERT_E_MALFORMED);
    assert_int_equal(ids_holder_check("414", 3, "E1\n", 3), ECERT_E_MALFORMED);
    assert_int_equal(ids_holder_check("41", 2, "E1", 2), ECERT_E_MALFORMED);
    assert_int_equal(ids_holder_check("4a4", 3, "E1", 2), ECERT_E_MALFORMED);
    char big[200];
    memset(big, 'A', sizeof big);
    assert_int_equal(ids_holder_check("414", 3, big, 129), ECERT_E_TOO_LONG);
    assert_int_equal(ids_holder_check("414", 3, big, 128), ECERT_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mod37_36_real),
        cmocka_unit_test(test_cert_real),
        cmocka_unit_test(test_cert_one_char_changed),
        cmocka_unit_test(test_cert_wrong_check),
        cmocka_unit_test(test_cert_lengths),
        cmocka_unit_test(test_cert_lowercase),
        cmocka_unit_test(test_cert_dots_and_root),
        cmocka_unit_test(test_cert_empty_and_long),
        cmocka_unit_test(test_cert_format_errors),
        cmocka_unit_test(test_mod37_36_properties),
        cmocka_unit_test(test_cert_generate_roundtrip),
        cmocka_unit_test(test_citizen),
        cmocka_unit_test(test_citizen_dates),
        cmocka_unit_test(test_citizen_generate),
        cmocka_unit_test(test_uscc_real),
        cmocka_unit_test(test_uscc_rules),
        cmocka_unit_test(test_uscc_generate),
        cmocka_unit_test(test_generate_stuck_source),
        cmocka_unit_test(test_region_province),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_holder_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
