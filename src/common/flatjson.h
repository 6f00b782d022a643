/*
 * flatjson.h — a fast reader for one narrow subset of JSON: an object whose
 * member values are strings, or objects whose member values are strings,
 * with no escape sequences anywhere. That is what a certificate import line
 * (docs/store.md) nearly always is, and a general parser (jansson) spends
 * most of an import's time building and freeing its tree.
 *
 * It is a shortcut, never a judge: it answers "this text is in the subset,
 * here are its members" only for text that a strict RFC 8259 parser
 * (jansson, with duplicate keys refused) accepts with exactly those members
 * and values; for anything else — an escape, a number, an array, invalid
 * UTF-8, a duplicate key, a syntax error — it answers "not in the subset"
 * and the caller parses the text in full. tests/fuzz/fuzz_flatjson.c holds
 * it to that against jansson.
 */
#ifndef ECERT_COMMON_FLATJSON_H
#define ECERT_COMMON_FLATJSON_H

#include <stdbool.h>
#include <stddef.h>

struct flatjson_member {
    const char *key; /* the key's bytes (between its quotes) */
    size_t klen;
    const char *val; /* a string: its bytes; an object: its text from '{' to '}' */
    size_t vlen;
    bool object;
};

/* Reads s[0..n) (surrounding JSON whitespace allowed) as one object of the
 * subset; fills m[0..k) in text order and returns k, or returns -1 when
 * the text is not in the subset or has more than cap members. Keys are
 * unique at each level. Reads nothing past s + n; writes nothing but m. */
int flatjson_parse(const char *s, size_t n, struct flatjson_member *m, size_t cap);

/* The compact form of an object value returned by flatjson_parse (`obj`,
 * `len`): its text without the whitespace between tokens, which is what
 * jansson's json_dumps(JSON_COMPACT) writes for it. `out` must hold len + 1
 * bytes; returns the length written (NUL-terminated). */
size_t flatjson_compact(const char *obj, size_t len, char *out);

#endif
