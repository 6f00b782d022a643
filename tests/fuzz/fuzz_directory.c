/*
 * Fuzz target: the signed directory document (directory_parse) against a
 * fixed trust key, and the payload parser behind it (reached by signing the
 * input with that key, since a fuzzer cannot forge signatures). Properties:
 * a parsed directory respects its limits; nothing else than the documented
 * codes comes back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/directory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sm2_key *key;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!key) {
        static const char d[] = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
        if (sm2_key_parse_private(d, sizeof d - 1, &key))
            abort();
    }
    if (size > 1 << 16)
        return 0;
    struct directory *dir = NULL;
    ecert_status st = directory_parse((const char *)data, size, key, &dir);
    directory_free(dir);
    /* The payload path: sign the input as a payload and parse the result. */
    struct buf doc = BUF_INIT(DIRECTORY_MAX_BYTES * 2);
    char *payload = malloc(size + 1);
    if (!payload)
        return 0;
    memcpy(payload, data, size);
    payload[size] = 0;
    dir = NULL;
    if (strlen(payload) == size && directory_sign(payload, size, key, &doc) == ECERT_OK) {
        st = directory_parse((const char *)doc.data, doc.len, key, &dir);
        if (st == ECERT_OK && (dir->n > DIRECTORY_MAX_NODES || dir->ntypes > DIRECTORY_MAX_TYPES ||
                               dir->nscenes > DIRECTORY_MAX_SCENES || !dir->doc))
            abort();
        for (size_t i = 0; st == ECERT_OK && i < dir->nscenes; i++)
            if (dir->scenes[i].ntypes > 16)
                abort();
        directory_free(dir);
    }
    free(payload);
    buf_release(&doc);
    return 0;
}
