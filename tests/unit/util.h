/*
 * util.h — helpers shared by the unit tests: test data loading and hex.
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

#endif
