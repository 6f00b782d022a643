/*
 * The common module: codecs (RFC 4648 vectors and strictness), bounded
 * buffers, the arena's cap, the DER reader, constant-time compare, statuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/der.h"
#include "common/error.h"
#include "common/secure.h"

static void test_base64_rfc4648(void **state)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                      "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char out[32];
        size_t n = base64_encode((const uint8_t *)plain[i], strlen(plain[i]), out, 0);
        assert_int_equal(n, strlen(enc[i]));
        assert_string_equal(out, enc[i]);
        if (i == 0)
            continue; /* the decoder refuses empty text */
        uint8_t back[32];
        size_t bl = 0;
        assert_int_equal(base64_decode(enc[i], strlen(enc[i]), back, sizeof back, &bl, 0),
                         ECERT_OK);
        assert_int_equal(bl, strlen(plain[i]));
        assert_memory_equal(back, plain[i], bl);
        /* Without padding too. */
        size_t nl = strlen(enc[i]);
        while (enc[i][nl - 1] == '=')
            nl--;
        assert_int_equal(base64_decode(enc[i], nl, back, sizeof back, &bl, 0), ECERT_OK);
        assert_int_equal(bl, strlen(plain[i]));
    }
}

static void test_base64_strict(void **state)
{
    uint8_t out[64];
    size_t n;
    assert_int_equal(base64_decode("Zg=", 3, out, sizeof out, &n, 0), ECERT_E_MALFORMED);
    assert_int_equal(base64_decode("Zh==", 4, out, sizeof out, &n, 0), ECERT_E_MALFORMED);
    assert_int_equal(base64_decode("Z", 1, out, sizeof out, &n, 0), ECERT_E_MALFORMED);
    assert_int_equal(base64_decode("Zm9v!", 5, out, sizeof out, &n, 0), ECERT_E_MALFORMED);
    assert_int_equal(base64_decode("Zg==Zg==", 8, out, sizeof out, &n, 0), ECERT_E_MALFORMED);
    assert_int_equal(base64_decode("Zm9v\nYmFy", 9, out, sizeof out, &n, 0), ECERT_E_MALFORMED);
    assert_int_equal(base64_decode("Zm9v\nYmFy", 9, out, sizeof out, &n, BASE64_SKIP_WS),
                     ECERT_OK);
    assert_int_equal(n, 6);
    /* URL alphabet. */
    const uint8_t bytes[] = {0xfb, 0xff};
    char text[8];
    base64_encode(bytes, 2, text, BASE64_URL | BASE64_NOPAD);
    assert_string_equal(text, "-_8");
    assert_int_equal(base64_decode(text, 3, out, sizeof out, &n, BASE64_URL), ECERT_OK);
    assert_memory_equal(out, bytes, 2);
    assert_int_equal(base64_decode("-_8", 3, out, sizeof out, &n, 0), ECERT_E_MALFORMED);
    assert_int_equal(base64_decode("+/8", 3, out, sizeof out, &n, BASE64_URL),
                     ECERT_E_MALFORMED);
    /* The output cap holds. */
    assert_int_equal(base64_decode("Zm9vYmFy", 8, out, 5, &n, 0), ECERT_E_TOO_LONG);
}

/* Errors and their positions when the fast whole-group path has been
 * running: the first offending character is reported wherever it is. */
static void test_base64_positions(void **state)
{
    char text[256];
    uint8_t out[256];
    size_t n = 0;
    memset(text, 'A', 120);
    text[100] = '!';
    assert_int_equal(base64_decode(text, 120, out, sizeof out, &n, 0), ECERT_E_MALFORMED);
    assert_string_equal(err_detail(), "base64: invalid character at position 101");
    text[100] = '\n';
    assert_int_equal(base64_decode(text, 120, out, sizeof out, &n, 0), ECERT_E_MALFORMED);
    assert_string_equal(err_detail(), "base64: invalid character at position 101");
    /* whitespace inside a group is skipped with SKIP_WS: 119, 118, 117
     * symbols left */
    assert_int_equal(base64_decode(text, 120, out, sizeof out, &n, BASE64_SKIP_WS), ECERT_OK);
    assert_int_equal(n, 29 * 3 + 2);
    text[101] = ' ';
    assert_int_equal(base64_decode(text, 120, out, sizeof out, &n, BASE64_SKIP_WS), ECERT_OK);
    assert_int_equal(n, 29 * 3 + 1);
    text[102] = '\t';
    assert_int_equal(base64_decode(text, 120, out, sizeof out, &n, BASE64_SKIP_WS),
                     ECERT_E_MALFORMED);
    assert_string_equal(err_detail(), "base64: truncated final group");
    /* padding in the middle */
    memset(text, 'A', 120);
    text[62] = text[63] = '=';
    assert_int_equal(base64_decode(text, 120, out, sizeof out, &n, 0), ECERT_E_MALFORMED);
    assert_string_equal(err_detail(), "base64: data after padding at position 65");
    text[64] = '=';
    assert_int_equal(base64_decode(text, 120, out, sizeof out, &n, 0), ECERT_E_MALFORMED);
    assert_string_equal(err_detail(), "base64: too much padding at position 65");
    /* the URL alphabet's symbols are junk to the standard one, and back */
    memset(text, 'A', 120);
    text[77] = '-';
    assert_int_equal(base64_decode(text, 120, out, sizeof out, &n, 0), ECERT_E_MALFORMED);
    assert_string_equal(err_detail(), "base64: invalid character at position 78");
    assert_int_equal(base64_decode(text, 120, out, sizeof out, &n, BASE64_URL), ECERT_OK);
    text[77] = '/';
    assert_int_equal(base64_decode(text, 120, out, sizeof out, &n, BASE64_URL),
                     ECERT_E_MALFORMED);
    assert_string_equal(err_detail(), "base64: invalid character at position 78");
    /* every byte outside the alphabet, in the middle of a long text */
    for (int c = 0; c < 256; c++) {
        memset(text, 'Q', 64);
        text[33] = (char)c;
        ecert_status st = base64_decode(text, 64, out, sizeof out, &n, 0);
        bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                     (c >= '0' && c <= '9') || c == '+' || c == '/';
        assert_int_equal(st, alpha ? ECERT_OK : ECERT_E_MALFORMED);
    }
    /* the cap: exactly enough, one byte short, and a bad character in the
     * group after a full buffer (reported as what it is, as before) */
    memcpy(text, "Zm9vYmFyZm9v", 12);
    assert_int_equal(base64_decode(text, 12, out, 9, &n, 0), ECERT_OK);
    assert_int_equal(n, 9);
    assert_int_equal(base64_decode(text, 12, out, 8, &n, 0), ECERT_E_TOO_LONG);
    assert_string_equal(err_detail(), "base64: decoded data exceeds 8 bytes");
    text[11] = '!';
    assert_int_equal(base64_decode(text, 12, out, 6, &n, 0), ECERT_E_MALFORMED);
    assert_string_equal(err_detail(), "base64: invalid character at position 12");
    /* non-zero trailing bits after a long run */
    memset(text, 'A', 66);
    text[65] = 'B';
    assert_int_equal(base64_decode(text, 66, out, sizeof out, &n, 0), ECERT_E_MALFORMED);
    assert_string_equal(err_detail(), "base64: non-zero trailing bits");
}

/* The decoder as first written, one character at a time: the reference the
 * table-driven one must agree with, verdict, detail and bytes. */
static ecert_status ref_base64_decode(const char *s, size_t n, uint8_t *out, size_t cap,
                                      size_t *outlen, int flags, char *detail, size_t dcap)
{
    const char *abc = (flags & BASE64_URL)
                          ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    size_t nsym = 0, o = 0, pad = 0;
#define REF_FAIL(st, ...)                                                                         \
    do {                                                                                          \
        snprintf(detail, dcap, __VA_ARGS__);                                                      \
        return st;                                                                                \
    } while (0)
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if ((flags & BASE64_SKIP_WS) && (c == ' ' || c == '\t' || c == '\r' || c == '\n'))
            continue;
        if (c == '=') {
            if (++pad > 2)
                REF_FAIL(ECERT_E_MALFORMED, "base64: too much padding at position %zu", i + 1);
            continue;
        }
        if (pad)
            REF_FAIL(ECERT_E_MALFORMED, "base64: data after padding at position %zu", i + 1);
        const char *p = c ? strchr(abc, c) : NULL;
        if (!p)
            REF_FAIL(ECERT_E_MALFORMED, "base64: invalid character at position %zu", i + 1);
        acc = acc << 6 | (uint32_t)(p - abc);
        if (++nsym % 4 == 0) {
            if (o + 3 > cap)
                REF_FAIL(ECERT_E_TOO_LONG, "base64: decoded data exceeds %zu bytes", cap);
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    size_t rem = nsym % 4;
    if (rem == 1)
        REF_FAIL(ECERT_E_MALFORMED, "base64: truncated final group");
    if (pad && rem + pad != 4)
        REF_FAIL(ECERT_E_MALFORMED, "base64: wrong padding");
    if (rem == 2 || rem == 3) {
        if (acc & (rem == 2 ? 0xF : 0x3))
            REF_FAIL(ECERT_E_MALFORMED, "base64: non-zero trailing bits");
        if (o + rem - 1 > cap)
            REF_FAIL(ECERT_E_TOO_LONG, "base64: decoded data exceeds %zu bytes", cap);
        if (rem == 2) {
            out[o++] = (uint8_t)(acc >> 4);
        } else {
            out[o++] = (uint8_t)(acc >> 10);
            out[o++] = (uint8_t)(acc >> 2);
        }
    }
    if (nsym == 0)
        REF_FAIL(ECERT_E_MALFORMED, "base64: empty");
#undef REF_FAIL
    *outlen = o;
    return ECERT_OK;
}

/* 200,000 random texts (mostly alphabet symbols, with padding, whitespace,
 * the other alphabet's symbols and junk sprinkled in; random caps, every
 * flag): the decoder agrees with the reference on every one. */
static void test_base64_reference(void **state)
{
    static const char mix[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                              "+/-_= \t\r\n!\x80\xff";
    uint64_t x = 0x9e3779b97f4a7c15ull;
    char text[160], detail[128];
    uint8_t out[160], ref[160];
    unsigned ok = 0;
    for (unsigned k = 0; k < 200000; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = (size_t)(x % sizeof text);
        unsigned junk = (unsigned)(x >> 8) % 4; /* how often a non-symbol appears: 0 = never */
        int flags = (int)(x >> 16) & 7;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bool odd = junk && (x >> 20) % (64u >> junk) == 0;
            text[i] = odd ? mix[62 + (x >> 32) % (sizeof mix - 63)] : mix[(x >> 32) % 64];
            if (!odd && text[i] == '+' && (flags & BASE64_URL))
                text[i] = '-';
            if (!odd && text[i] == '/' && (flags & BASE64_URL))
                text[i] = '_';
        }
        /* sometimes a correctly padded ending */
        if (n >= 2 && (x >> 40) % 3 == 0)
            text[n - 1] = '=';
        if (n >= 3 && (x >> 40) % 9 == 0)
            text[n - 2] = '=';
        size_t cap = (x >> 44) % 4 == 0 ? (size_t)((x >> 48) % sizeof out) : sizeof out;
        size_t got = 0, want = 0;
        memset(out, 0, sizeof out);
        memset(ref, 0, sizeof ref);
        detail[0] = 0;
        ecert_status st = base64_decode(text, n, out, cap, &got, flags);
        ecert_status rst = ref_base64_decode(text, n, ref, cap, &want, flags, detail,
                                             sizeof detail);
        assert_int_equal(st, rst);
        if (st) {
            assert_string_equal(err_detail(), detail);
        } else {
            ok++;
            assert_int_equal(got, want);
            assert_memory_equal(out, ref, got);
        }
    }
    assert_true(ok > 10000); /* accepted texts are in the sample too (16,086 of them) */
}

static void test_hex(void **state)
{
    uint8_t out[8];
    size_t n;
    char text[17];
    const uint8_t b[] = {0x00, 0xab, 0xCD, 0xff};
    hex_encode(b, 4, text);
    assert_string_equal(text, "00abcdff");
    assert_int_equal(hex_decode("00ABcdFF", 8, out, sizeof out, &n), ECERT_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(out, b, 4);
    assert_int_equal(hex_decode("abc", 3, out, sizeof out, &n), ECERT_E_MALFORMED);
    assert_int_equal(hex_decode("zz", 2, out, sizeof out, &n), ECERT_E_MALFORMED);
    assert_non_null(strstr(ecert_last_error(), "position 1"));
    assert_int_equal(hex_decode("001122334455667788", 18, out, sizeof out, &n), ECERT_E_TOO_LONG);
    assert_true(is_hex("aB09", 4));
    assert_false(is_hex("", 0));
    assert_false(is_hex("abc", 3));
    assert_false(is_hex("ag", 2));
}

static void test_buf_cap(void **state)
{
    struct buf b = BUF_INIT(10);
    assert_int_equal(buf_append(&b, "12345", 5), ECERT_OK);
    assert_int_equal(buf_append(&b, "12345", 5), ECERT_OK);
    assert_int_equal(b.len, 10);
    assert_string_equal((char *)b.data, "1234512345");
    assert_int_equal(buf_append(&b, "x", 1), ECERT_E_TOO_LONG);
    assert_int_equal(b.len, 10);
    buf_reset(&b);
    assert_int_equal(buf_printf(&b, "%d-%s", 42, "ab"), ECERT_OK);
    assert_string_equal((char *)b.data, "42-ab");
    assert_int_equal(buf_printf(&b, "%s", "too long text"), ECERT_E_TOO_LONG);
    char *s;
    size_t n;
    assert_int_equal(buf_detach(&b, &s, &n), ECERT_OK);
    assert_int_equal(n, 5);
    assert_null(b.data);
    free(s);
    struct buf e = BUF_INIT(4);
    assert_int_equal(buf_detach(&e, &s, &n), ECERT_OK);
    assert_string_equal(s, "");
    free(s);
    buf_release_secret(&b);
}

static void test_arena(void **state)
{
    struct arena a;
    arena_init(&a, 100000);
    for (int i = 0; i < 1000; i++) {
        char *p = arena_strdup(&a, "hello");
        assert_non_null(p);
        assert_string_equal(p, "hello");
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
    }
    assert_non_null(arena_alloc(&a, 20000)); /* larger than a block */
    assert_null(arena_alloc(&a, 200000));    /* over the cap */
    assert_int_equal(strncmp(ecert_last_error(), "request memory", 14), 0);
    arena_release(&a);
    assert_null(a.head);
}

static void test_der_reader(void **state)
{
    /* SEQUENCE { INTEGER 5, OCTET STRING "ab" } with a long-form length. */
    const uint8_t ok[] = {0x30, 0x81, 0x07, 0x02, 0x01, 0x05, 0x04, 0x02, 'a', 'b'};
    struct der r = {ok, sizeof ok}, seq, i, o;
    assert_int_equal(der_expect(&r, DER_SEQUENCE, &seq), ECERT_OK);
    assert_true(der_empty(&r));
    assert_int_equal(der_expect(&seq, DER_INTEGER, &i), ECERT_OK);
    uint8_t v[4];
    assert_int_equal(der_integer_fixed(&i, v, 4), ECERT_OK);
    assert_int_equal(v[3], 5);
    assert_int_equal(der_expect(&seq, DER_INTEGER, &o), ECERT_E_MALFORMED); /* it is 0x04 */
    /* Lengths past the end, indefinite and oversized lengths. */
    const uint8_t past[] = {0x30, 0x05, 0x02, 0x01};
    r = (struct der){past, sizeof past};
    assert_int_equal(der_expect(&r, DER_SEQUENCE, &seq), ECERT_E_MALFORMED);
    const uint8_t indef[] = {0x30, 0x80, 0x00, 0x00};
    r = (struct der){indef, sizeof indef};
    assert_int_equal(der_expect(&r, DER_SEQUENCE, &seq), ECERT_E_MALFORMED);
    const uint8_t huge[] = {0x30, 0x85, 1, 0, 0, 0, 0};
    r = (struct der){huge, sizeof huge};
    assert_int_equal(der_expect(&r, DER_SEQUENCE, &seq), ECERT_E_MALFORMED);
    /* INTEGER wider than allowed after stripping zeros. */
    const uint8_t wide[] = {0x02, 0x03, 0x00, 0x01, 0x02};
    r = (struct der){wide, sizeof wide};
    assert_int_equal(der_expect(&r, DER_INTEGER, &i), ECERT_OK);
    assert_int_equal(der_integer_fixed(&i, v, 2), ECERT_OK);
    assert_int_equal(der_integer_fixed(&i, v, 1), ECERT_E_MALFORMED);
    /* Minimal INTEGER output: sign byte only when needed, zero as 02 01 00. */
    uint8_t out[16];
    size_t off = 0;
    const uint8_t m1[] = {0x00, 0x00, 0x80};
    assert_int_equal(der_put_uint(out, sizeof out, &off, m1, 3), ECERT_OK);
    assert_int_equal(off, 4);
    assert_memory_equal(out, "\x02\x02\x00\x80", 4);
    off = 0;
    const uint8_t zero[] = {0, 0};
    assert_int_equal(der_put_uint(out, sizeof out, &off, zero, 2), ECERT_OK);
    assert_memory_equal(out, "\x02\x01\x00", 3);
    assert_int_equal(der_uint_size(m1, 3), 4);
}

static void test_secure_equal(void **state)
{
    assert_true(secure_equal("abc", "abc", 3));
    assert_false(secure_equal("abc", "abd", 3));
    assert_true(secure_equal("", "", 0));
}

static void test_status_table(void **state)
{
    assert_int_equal(ecert_status_http(ECERT_OK), 200);
    assert_int_equal(ecert_status_http(ECERT_E_REPLAY), 409);
    assert_int_equal(ecert_status_http(ECERT_E_CODE_USED), 410);
    assert_int_equal(ecert_status_wire(ECERT_E_NOMEM), 5000);
    assert_int_equal(ecert_status_wire(ECERT_E_DECRYPT), 2001);
    assert_string_equal(ecert_status_name(ECERT_E_MALFORMED), "ECERT_E_MALFORMED");
    assert_string_equal(ecert_status_name((ecert_status)1234), "ECERT_E_UNKNOWN");
    err_set(ECERT_E_MISSING, "field '%s'", "nonce");
    assert_int_equal(err_wrap(ECERT_E_MISSING, "request"), ECERT_E_MISSING);
    assert_string_equal(ecert_last_error(), "request: field 'nonce'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648), cmocka_unit_test(test_base64_strict),
        cmocka_unit_test(test_base64_positions), cmocka_unit_test(test_base64_reference),
        cmocka_unit_test(test_hex),            cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_arena),          cmocka_unit_test(test_der_reader),
        cmocka_unit_test(test_secure_equal),   cmocka_unit_test(test_status_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
