/*
 * The common module: codecs (RFC 4648 vectors and strictness), bounded
 * buffers, the arena's cap, the DER reader, constant-time compare, statuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
        cmocka_unit_test(test_hex),            cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_arena),          cmocka_unit_test(test_der_reader),
        cmocka_unit_test(test_secure_equal),   cmocka_unit_test(test_status_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
