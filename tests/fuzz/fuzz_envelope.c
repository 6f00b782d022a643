/*
 * fuzz_envelope — the request and response envelopes (SPEC §3.1–3.2), the
 * first parser every POST body meets.
 *
 * The same bytes go through both sides:
 *   - request: envelope_request_parse, then (whatever verify says, so that
 *     mutated ciphertexts still reach the decoders) verify, the time check
 *     and decrypt;
 *   - response: envelope_response_parse + verify + decrypt step by step, and
 *     envelope_response_open as a client runs it.
 * The keys are fixed (the pinned keys of tests/unit/test_envelope.c), so the
 * committed seeds, which are real envelopes between them, reach the valid
 * paths. Properties checked on every accepted input (abort() on violation):
 *   - a parsed request satisfies every field rule it was checked against;
 *   - its signed string is exactly appId \n timestamp \n nonce \n encryptData;
 *   - verify answers ECERT_OK or ECERT_E_SIGNATURE, decrypt ECERT_OK,
 *     ECERT_E_DECRYPT or ECERT_E_JSON, and a failed decrypt leaves nothing;
 *   - a parsed response has a valid code, encryptData exactly when code is 0,
 *     and a nonce when code is 0.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "envelope/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define APP_D "6b1c6f8e2a3d4c5b9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f"
#define NODE_D "2f7d3c9a1b8e4f60a5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d5e7f901"
#define SEED_NONCE "c9a1f0e27b4d4e8f"
#define SEED_NOW 1764345600123LL

static struct sm2_key *app, *node;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_envelope: property violated: %s\n", what);
    abort();
}

static void setup(void)
{
    if (app)
        return;
    if (sm2_key_parse_private(APP_D, 64, &app) != ECERT_OK ||
        sm2_key_parse_private(NODE_D, 64, &node) != ECERT_OK)
        fail("cannot load the fuzz keys");
}

static void check_decrypt(ecert_status st, struct buf *biz, json_t *obj)
{
    if (st == ECERT_OK) {
        if (!json_is_object(obj))
            fail("decrypt: OK without an object");
    } else {
        if (st != ECERT_E_DECRYPT && st != ECERT_E_JSON && st != ECERT_E_NOMEM)
            fail("decrypt: unexpected status");
        if (biz->len != 0 || obj)
            fail("decrypt: failure left data behind");
    }
    json_decref(obj);
    buf_release_secret(biz);
}

static void check_verify(ecert_status st)
{
    if (st != ECERT_OK && st != ECERT_E_SIGNATURE && st != ECERT_E_NOMEM)
        fail("verify: unexpected status");
}

static void request_side(struct arena *a, const char *body, size_t len)
{
    struct envelope_request r;
    if (envelope_request_parse(a, body, len, &r) != ECERT_OK)
        return;
    if (strlen(r.app_id) != r.app_id_len || strlen(r.nonce) != r.nonce_len ||
        strlen(r.signature) != r.signature_len || r.signature_len > ENVELOPE_MAX_SIGNATURE ||
        r.encrypt_data_len == 0 || r.timestamp < 0)
        fail("request: parsed fields");
    if (envelope_check_app_id(r.app_id, r.app_id_len) != ECERT_OK ||
        envelope_check_nonce(r.nonce, r.nonce_len) != ECERT_OK)
        fail("request: field rules");

    struct buf tbs = BUF_INIT(ENVELOPE_MAX_BODY + 256);
    if (envelope_request_signed_string(&r, &tbs) != ECERT_OK)
        fail("request: signed string");
    char ts[24];
    int tn = snprintf(ts, sizeof ts, "%" PRId64, r.timestamp);
    size_t want = r.app_id_len + (size_t)tn + r.nonce_len + r.encrypt_data_len + 3;
    const char *p = (const char *)tbs.data;
    if (tbs.len != want || memcmp(p, r.app_id, r.app_id_len) != 0 || p[r.app_id_len] != '\n' ||
        memcmp(p + r.app_id_len + 1, ts, (size_t)tn) != 0 ||
        memcmp(p + tbs.len - r.encrypt_data_len, r.encrypt_data, r.encrypt_data_len) != 0)
        fail("request: signed string layout");
    buf_release(&tbs);

    check_verify(envelope_request_verify(&r, app));
    ecert_status st = envelope_check_time(r.timestamp, SEED_NOW, ENVELOPE_WINDOW_MS);
    if (st != ECERT_OK && st != ECERT_E_TIMESTAMP)
        fail("request: time check");
    struct buf biz = BUF_INIT(ENVELOPE_MAX_BODY);
    json_t *obj = NULL;
    /* Two statements: argument evaluation order is unspecified, and `obj`
     * must be read after the call has set it. */
    st = envelope_request_decrypt(&r, node, &biz, &obj);
    check_decrypt(st, &biz, obj);
}

static void response_side(struct arena *a, const char *body, size_t len)
{
    struct envelope_response r;
    if (envelope_response_parse(a, body, len, &r) == ECERT_OK) {
        if (!(r.code == 0 || (r.code >= ENVELOPE_CODE_MIN && r.code <= ENVELOPE_CODE_MAX)) ||
            !r.msg || (r.code == 0) != (r.encrypt_data != NULL) || (r.code == 0 && !r.nonce) ||
            ((r.code == 0 || r.signature) && !r.has_timestamp))
            fail("response: parsed fields");
        if (r.signature)
            check_verify(envelope_response_verify(&r, node));
        else if (envelope_response_verify(&r, node) != ECERT_E_SIGNATURE)
            fail("response: unsigned but verified");
        if (r.code == 0) {
            struct buf biz = BUF_INIT(ENVELOPE_MAX_BODY);
            json_t *obj = NULL;
            ecert_status st = envelope_response_decrypt(&r, app, &biz, &obj);
            check_decrypt(st, &biz, obj);
        }
    }

    struct buf biz = BUF_INIT(ENVELOPE_MAX_BODY);
    ecert_status st = envelope_response_open(a, body, len, node, app, SEED_NONCE, &r, &biz);
    if (st == ECERT_OK && r.code == 0 && !r.signature)
        fail("open: accepted an unsigned success");
    if (st != ECERT_OK && biz.len != 0)
        fail("open: failure left data behind");
    buf_release_secret(&biz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    struct arena a;
    arena_init(&a, ENVELOPE_MAX_BODY + 4096);
    request_side(&a, (const char *)data, size);
    response_side(&a, (const char *)data, size);
    arena_release(&a);
    return 0;
}
