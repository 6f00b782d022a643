/*
 * sm3_kdf16 (sixteen SM3 hashes of prefix || counter at once) against the
 * one-at-a-time SM3 of sm3.c, for random prefixes and counters, including
 * counters that wrap past 2^32 - 1 within a batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/codec.h"
#include "crypto/random.h"
#include "crypto/sm3.h"
#include "crypto/sm3_x16.h"

static void check_batch(const uint8_t prefix[64], uint32_t ct0)
{
    struct sm3_ctx c;
    sm3_ctx_init(&c);
    sm3_ctx_update(&c, prefix, 64);
    uint8_t got[16 * 32];
    sm3_kdf16(c.h, ct0, got);
    for (uint32_t i = 0; i < 16; i++) {
        uint32_t ct = ct0 + i;
        uint8_t msg[68], want[32];
        memcpy(msg, prefix, 64);
        msg[64] = (uint8_t)(ct >> 24), msg[65] = (uint8_t)(ct >> 16);
        msg[66] = (uint8_t)(ct >> 8), msg[67] = (uint8_t)ct;
        assert_int_equal(sm3_digest(msg, sizeof msg, want), ECERT_OK);
        if (memcmp(got + 32 * i, want, 32) != 0) {
            char hp[129];
            hex_encode(prefix, 64, hp);
            fail_msg("lane %u (ct %u) differs for prefix %s", i, ct, hp);
        }
    }
}

static void test_kdf16(void **state)
{
    (void)state;
    if (!sm3_kdf16_available())
        skip(); /* no AVX-512F on this CPU: the KDF uses sm3.c alone */
    static const uint32_t cts[] = {0, 1, 17, 0x7ffffff8u, 0xfffffff0u, 0xfffffff8u, 0xffffffffu};
    uint8_t prefix[64];
    memset(prefix, 0, sizeof prefix);
    for (size_t i = 0; i < sizeof cts / sizeof cts[0]; i++)
        check_batch(prefix, cts[i]);
    memset(prefix, 0xff, sizeof prefix);
    check_batch(prefix, 1);
    for (int n = 0; n < 3000; n++) {
        uint32_t ct;
        assert_int_equal(random_bytes(prefix, sizeof prefix), ECERT_OK);
        assert_int_equal(random_bytes(&ct, sizeof ct), ECERT_OK);
        check_batch(prefix, n % 3 ? ct % 4096 : ct);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kdf16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
