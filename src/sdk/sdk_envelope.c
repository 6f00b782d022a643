/*
 * sdk_envelope.c — the client side of one call, for integrators (ecert.h):
 * seal a request envelope, open the response envelope. A thin layer over
 * src/envelope: it supplies the clock, the canonical ciphertext format and the
 * memory limits, and turns internal buffers into malloc'd strings that the
 * caller releases with ecert_free().
 */
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "envelope/envelope.h"
#include "sdk/sdk.h"

/* Everything a response parse copies is a substring of a body of at most
 * ENVELOPE_MAX_BODY bytes; the slack covers the arena's alignment padding. */
#define SDK_RESPONSE_ARENA (ENVELOPE_MAX_BODY + 4096)

ECERT_API ecert_status ecert_envelope_seal_request(const char *app_id, const ecert_key *app_key,
                                                   const ecert_key *node_pub,
                                                   const char *business_json, size_t len,
                                                   char **envelope_out, char nonce_out[65])
{
    if (envelope_out)
        *envelope_out = NULL;
    if (nonce_out)
        nonce_out[0] = 0;
    if (!app_id || !app_key || !node_pub || !business_json || !envelope_out || !nonce_out)
        return err_set(ECERT_E_ARG, "ecert_envelope_seal_request: missing argument");
    if (!sm2_key_has_private(app_key->k))
        return err_set(ECERT_E_ARG, "ecert_envelope_seal_request: the app key has no private part");
    /* Checked here rather than left to the node: the integrator learns of a
     * malformed body at once, with a position, instead of as a 1001 from far
     * away. */
    ecert_status st = envelope_check_business(business_json, len, NULL);
    if (st)
        return st;

    struct buf out = BUF_INIT(ENVELOPE_MAX_BODY);
    st = envelope_request_build(app_id, app_key->k, node_pub->k, business_json, len,
                                envelope_now_ms(), NULL, ECERT_CIPHER_HEX, &out, nonce_out);
    if (!st)
        st = buf_detach(&out, envelope_out, NULL);
    buf_release(&out);
    return st;
}

/* "msg" or "msg: detail", malloc'd. */
static ecert_status message_text(const struct envelope_response *resp, char **out)
{
    /* Two fields of at most ENVELOPE_MAX_MSG characters of up to 4 bytes. */
    struct buf b = BUF_INIT(2 * 4 * ENVELOPE_MAX_MSG + 8);
    ecert_status st = buf_append_str(&b, resp->msg);
    if (!st && resp->detail) {
        st = buf_append_str(&b, resp->msg[0] ? ": " : "");
        if (!st)
            st = buf_append_str(&b, resp->detail);
    }
    if (!st)
        st = buf_detach(&b, out, NULL);
    buf_release(&b);
    return st;
}

ECERT_API ecert_status ecert_envelope_open_response(const char *response, size_t len,
                                                    const ecert_key *node_pub,
                                                    const ecert_key *app_key,
                                                    const char *expected_nonce, int *code,
                                                    char **business_out, char **msg_out)
{
    if (business_out)
        *business_out = NULL;
    if (msg_out)
        *msg_out = NULL;
    /* -1 is never a response code: a caller that tests only *code cannot
     * take a failed open for success. */
    if (code)
        *code = -1;
    if (!response || !node_pub || !app_key || !expected_nonce || !code)
        return err_set(ECERT_E_ARG, "ecert_envelope_open_response: missing argument");

    struct arena a;
    arena_init(&a, SDK_RESPONSE_ARENA);
    struct buf business = BUF_INIT(ENVELOPE_MAX_BODY);
    struct envelope_response resp;
    ecert_status st = envelope_response_open(&a, response, len, node_pub->k, app_key->k,
                                             expected_nonce, &resp, &business);
    if (st)
        goto done;
    if (resp.code == 0 && business_out)
        st = buf_detach(&business, business_out, NULL);
    else if (resp.code != 0 && msg_out)
        st = message_text(&resp, msg_out);
    if (!st)
        *code = resp.code;
done:
    buf_release_secret(&business);
    arena_release(&a);
    return st;
}
