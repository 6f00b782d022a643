/*
 * fuzz_flatjson — the import's JSON shortcut (src/common/flatjson.h) against
 * jansson.
 *
 * Property: whenever flatjson_parse accepts a text, jansson (with duplicate
 * keys refused, as the importer parses) accepts it too, as an object with
 * exactly those members: a string member has the same bytes, an object
 * member dumps (JSON_COMPACT) to what flatjson_compact writes. The shortcut
 * may refuse whatever it likes; it may never disagree. A violation calls
 * abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/flatjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (64 * 1024)
#define MEMBERS 64

static _Noreturn void fail(const char *what)
{
    fprintf(stderr, "fuzz_flatjson: property violated: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    /* an exact-size copy, so that a read past the end is caught */
    char *s = malloc(size ? size : 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    struct flatjson_member m[MEMBERS];
    int k = flatjson_parse(s, size, m, MEMBERS);
    if (k < 0) {
        free(s);
        return 0;
    }
    json_t *root = json_loadb(s, size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(root))
        fail("accepted a text jansson refuses, or not an object");
    if (json_object_size(root) != (size_t)k)
        fail("member count");
    for (int i = 0; i < k; i++) {
        char key[MAX_INPUT + 1];
        if (memchr(m[i].key, 0, m[i].klen))
            fail("NUL in a key");
        memcpy(key, m[i].key, m[i].klen);
        key[m[i].klen] = 0;
        json_t *v = json_object_get(root, key);
        if (!v)
            fail("member missing in jansson's object");
        if (!m[i].object) {
            if (!json_is_string(v) || json_string_length(v) != m[i].vlen ||
                memcmp(json_string_value(v), m[i].val, m[i].vlen) != 0)
                fail("string value differs");
        } else {
            if (!json_is_object(v))
                fail("object member is not an object");
            char *dump = json_dumps(v, JSON_COMPACT);
            char *mine = malloc(m[i].vlen + 1);
            if (!dump || !mine)
                abort();
            size_t n = flatjson_compact(m[i].val, m[i].vlen, mine);
            if (strlen(dump) != n || memcmp(dump, mine, n) != 0)
                fail("compact form differs from json_dumps");
            free(mine);
            free(dump);
        }
    }
    json_decref(root);
    free(s);
    return 0;
}
