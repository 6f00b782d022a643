/*
 * Fuzz target: holder codes (YRDC1.<node>.<payload>.<signature>, and their
 * URL form) as a verifying province and an issuer see them: holder_code_peek
 * on anything, holder_code_open with a fixed node key. Properties: a code that
 * opens names this node and is unexpired; a code issued here always opens.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/holdercode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sm2_key *key;
static uint8_t code_key[HOLDER_CODE_KEY_LEN];

static void setup(void)
{
    static const char d[] = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
    if (sm2_key_parse_private(d, sizeof d - 1, &key) || holder_code_key(key, code_key))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!key)
        setup();
    if (size > 4096)
        return 0;
    struct holder_code hc;
    const char *code;
    size_t clen;
    ecert_status st = holder_code_peek((const char *)data, size, &hc, &code, &clen);
    if (st == ECERT_OK && (code < (const char *)data || code + clen > (const char *)data + size))
        abort();
    st = holder_code_open((const char *)data, size, code_key, key, 1700000000, &hc);
    if (st == ECERT_OK && (strcmp(hc.node, "YRD-SH") != 0 || hc.exp <= 1700000000))
        abort();
    /* Round trip: a code built from the input's bytes opens again. */
    if (size >= 4 && size <= 40) {
        struct holder_code in;
        memset(&in, 0, sizeof in);
        snprintf(in.node, sizeof in.node, "YRD-SH");
        snprintf(in.cid, sizeof in.cid, "c%02x%02x", data[0], data[1]);
        in.exp = 1700000600;
        memcpy(in.sub, data, size < sizeof in.sub - 1 ? size : sizeof in.sub - 1);
        for (size_t i = 0; in.sub[i]; i++)
            if ((unsigned char)in.sub[i] < 0x20 || (unsigned char)in.sub[i] >= 0x7f)
                in.sub[i] = 'x'; /* holder codes are printable ASCII */
        snprintf(in.sty, sizeof in.sty, "111");
        struct buf out = BUF_INIT(HOLDER_CODE_MAX);
        struct holder_code back;
        if (holder_code_issue(&in, code_key, key, &out) ||
            holder_code_open((const char *)out.data, out.len, code_key, key, 1700000000, &back) ||
            strcmp(back.sub, in.sub) != 0 || strcmp(back.cid, in.cid) != 0)
            abort();
        buf_release(&out);
    }
    return 0;
}
