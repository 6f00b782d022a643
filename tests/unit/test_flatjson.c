/*
 * flatjson (src/common/flatjson.h), the import's JSON shortcut: it takes the
 * import's own lines, refuses every text outside its subset (escapes,
 * numbers, arrays, deeper nesting, bad UTF-8, duplicate keys, syntax
 * errors), and on 300,000 mutants of real lines never accepts what jansson
 * refuses nor reads members differently (the property fuzz_flatjson holds).
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

#include "../../bench/certgen.h"
#include "common/flatjson.h"

#define MEMBERS 64

/* The property: flatjson accepting means jansson accepts with the same
 * members. Returns flatjson's verdict (member count or -1). */
static int agree(const char *s, size_t n)
{
    struct flatjson_member m[MEMBERS];
    int k = flatjson_parse(s, n, m, MEMBERS);
    if (k < 0)
        return k;
    json_error_t jerr;
    json_t *root = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root))
        fail_msg("flatjson accepted what jansson refuses (%s): %.*s", jerr.text, (int)n, s);
    assert_int_equal(json_object_size(root), (size_t)k);
    for (int i = 0; i < k; i++) {
        char key[4096];
        assert_true(m[i].klen < sizeof key);
        memcpy(key, m[i].key, m[i].klen);
        key[m[i].klen] = 0;
        json_t *v = json_object_get(root, key);
        assert_non_null(v);
        if (!m[i].object) {
            assert_true(json_is_string(v));
            assert_int_equal(json_string_length(v), m[i].vlen);
            assert_memory_equal(json_string_value(v), m[i].val, m[i].vlen);
        } else {
            assert_true(json_is_object(v));
            char *dump = json_dumps(v, JSON_COMPACT);
            char *mine = malloc(m[i].vlen + 1);
            assert_non_null(dump);
            assert_non_null(mine);
            size_t len = flatjson_compact(m[i].val, m[i].vlen, mine);
            assert_int_equal(strlen(dump), len);
            assert_memory_equal(dump, mine, len);
            free(mine);
            free(dump);
        }
    }
    json_decref(root);
    return k;
}

static int parse_str(const char *s)
{
    return agree(s, strlen(s));
}

static void test_import_lines(void **state)
{
    (void)state;
    struct buf line = BUF_INIT(1 << 20);
    static char scratch[4096];
    for (uint64_t k = 0; k < 200; k++) {
        buf_reset(&line);
        assert_int_equal(certgen_line(k, 1024, scratch, &line), ECERT_OK);
        size_t n = line.len;
        while (n && (line.data[n - 1] == '\n' || line.data[n - 1] == '\r'))
            n--;
        /* the generator's lines are all in the subset */
        assert_true(agree((const char *)line.data, n) >= 17);
    }
    buf_release(&line);
    /* whitespace between tokens, a nested object, empty strings and objects */
    assert_int_equal(parse_str(" {\t\"a\" :\"b\" ,\r\n\"o\": { \"x\" : \"y\" ,\"z\":\"\"},\"e\":{ } } "),
                     3);
    assert_int_equal(parse_str("{}"), 0);
    assert_int_equal(parse_str("{\"中文\":\"证照\\u0041\"}"), -1);
    assert_int_equal(parse_str("{\"k\":\"\x7f/\xe4\xb8\xad\xf0\x9f\x98\x80\"}"), 1);
}

static void test_refusals(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "[]",
        "\"a\"",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":\"b\",}",
        "{\"a\":\"b\"",
        "{\"a\":\"b\"}x",
        "{\"a\":\"b\"}{}",
        "{\"a\":\"b\\\"\"}",                    /* an escape */
        "{\"a\\u0062\":\"c\"}",                  /* an escaped key */
        "{\"a\":1}",                             /* a number */
        "{\"a\":true}",
        "{\"a\":null}",
        "{\"a\":[\"b\"]}",
        "{\"a\":{\"b\":{\"c\":\"d\"}}}",         /* deeper than one level */
        "{\"a\":{\"b\":1}}",
        "{\"a\":\"b\",\"a\":\"b\"}",             /* duplicate keys */
        "{\"o\":{\"k\":\"1\",\"k\":\"2\"}}",
        "{\"a\":\"\x01\"}",                      /* a control character */
        "{\"a\":\"\tb\"}",
        "{\"a\":\"\xc0\x80\"}",                  /* overlong */
        "{\"a\":\"\xe0\x80\x80\"}",
        "{\"a\":\"\xf0\x80\x80\x80\"}",
        "{\"a\":\"\xed\xa0\x80\"}",              /* a surrogate */
        "{\"a\":\"\xf4\x90\x80\x80\"}",          /* past U+10FFFF */
        "{\"a\":\"\xf5\x80\x80\x80\"}",
        "{\"a\":\"\x80\"}",                      /* a lone continuation byte */
        "{\"a\":\"\xe4\xb8\"}",                  /* a truncated sequence */
        "{\"a\":\"\xe4\xb8",
        "\xef\xbb\xbf{}",                        /* a byte order mark */
        "{'a':'b'}",
        "{\"a\" \"b\"}",
        "{\"a\":\"b\" \"c\":\"d\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parse_str(bad[i]) >= 0)
            fail_msg("accepted bad text %zu: %s", i, bad[i]);
    /* a NUL byte, inside a string and outside */
    assert_int_equal(agree("{\"a\":\"b\0\"}", 9), -1);
    assert_int_equal(agree("{\"a\":\"b\"}\0", 10), -1);
    /* more members than the caller has room for */
    struct flatjson_member m[2];
    assert_int_equal(flatjson_parse("{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}", 25, m, 2), -1);
    assert_int_equal(flatjson_parse("{\"a\":\"1\",\"b\":\"2\"}", 17, m, 2), 2);
}

/* Mutants of real lines, cut short to keep the run quick: bytes replaced,
 * inserted or deleted, drawn mostly from JSON's own punctuation and from
 * UTF-8's lead and continuation bytes. Every verdict must agree. */
static void test_mutants(void **state)
{
    (void)state;
    static const unsigned char pool[] = "\"\\{}:, \t\r\n[]0aZ=\x01\x1f\x7f\x80\xbf\xc0\xc2"
                                        "\xdf\xe0\xe4\xed\xef\xf0\xf4\xf5\xff";
    struct buf line = BUF_INIT(1 << 20);
    static char scratch[64];
    char text[1024];
    uint64_t x = 0x2545f4914f6cdd1dull;
    unsigned accepted = 0, total = 0;
    for (uint64_t k = 0; k < 30; k++) {
        buf_reset(&line);
        assert_int_equal(certgen_line(k, 16, scratch, &line), ECERT_OK);
        size_t base = line.len - 1; /* without the '\n' */
        assert_true(base < sizeof text - 16);
        for (unsigned t = 0; t < 10000; t++) {
            memcpy(text, line.data, base);
            size_t n = base;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            unsigned edits = 1 + (unsigned)(x % 3);
            for (unsigned e = 0; e < edits; e++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                size_t at = (size_t)((x >> 8) % n);
                unsigned char c = pool[(x >> 32) % (sizeof pool - 1)];
                switch ((x >> 40) % 3) {
                case 0:
                    text[at] = (char)c;
                    break;
                case 1:
                    memmove(text + at + 1, text + at, n - at);
                    text[at] = (char)c;
                    n++;
                    break;
                default:
                    memmove(text + at, text + at + 1, n - at - 1);
                    n--;
                    break;
                }
            }
            total++;
            if (agree(text, n) >= 0)
                accepted++;
        }
    }
    buf_release(&line);
    /* mutants of both kinds were seen: some still in the subset, most not */
    assert_true(accepted > total / 50 && accepted < total / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_lines),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_mutants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
