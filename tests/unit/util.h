/*
 * util.h — helpers shared by the unit tests: test data loading and hex,
 * sanitizer detection, the SM2 curve's constants.
 */
#ifndef ECERT_TESTS_UTIL_H
#define ECERT_TESTS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Loads $ECERT_TEST_DATA/<rel> (tests/data in the source tree) as JSON;
 * aborts the test run when missing, so a vector file cannot silently vanish. */
json_t *util_load_json(const char *rel);
/* Reads a whole file under $ECERT_TEST_DATA; *len set; caller frees. */
uint8_t *util_read_file(const char *rel, size_t *len);
/* Decodes hex into a malloc'd buffer (aborts on bad hex). */
uint8_t *util_unhex(const char *hex, size_t *len);
/* json_string_value of obj[key], aborting when absent. */
const char *util_str(const json_t *obj, const char *key);

/* 1 in AddressSanitizer builds (gcc or clang), where tests cut their counts
 * and skip timing measurements. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* n scaled by the percentage in environment variable `env` (default and
 * non-positive values: 100), at least `min`: test counts and time budgets
 * a user can shrink or grow (ECERT_SM2_FAST_SCALE, ECERT_SM2_TIMING_SCALE). */
int util_scaled(const char *env, long n, int min);

/* Forks; the child runs fn(arg, out) and sends the n bytes it wrote to
 * out back through a pipe. 0 when the child succeeded (fn returned 0) and
 * all n bytes arrived; -1 otherwise. Used to check that per-process secrets
 * (random blocks, presigned k) are not inherited across fork(). */
int util_in_child(int (*fn)(void *arg, uint8_t *out), void *arg, uint8_t *out, size_t n);

/* sm2p256v1's order n and prime p, big-endian. */
extern const uint8_t util_sm2_n[32];
extern const uint8_t util_sm2_p[32];

#endif
