/*
 * envelope.h — the request and response envelopes of every POST (SPEC §3.1–3.2).
 *
 * A request is {appId, timestamp, nonce, encryptData, signature}: the business
 * JSON SM2-encrypted to the receiving node and the envelope signed by the
 * caller. A response is {code, msg, nonce, timestamp, encryptData?, signature?,
 * detail?}: the result encrypted back to the caller and signed by the node.
 *
 * The module is split into the steps a node takes, so that it can stop at the
 * first failure with the right code: parse (shape only: 1001–1004), verify
 * (2002), check the time (2003), then decrypt (2001). The replay check (2004)
 * belongs to the node, which owns the nonce store; the parsed request exposes
 * appId and nonce for it. The client side (build a request, open a response)
 * is here too, for the SDK and for node-to-node calls.
 *
 * See docs/envelope.md for the wire format, the limits and every error code.
 */
#ifndef ECERT_ENVELOPE_ENVELOPE_H
#define ECERT_ENVELOPE_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>
#include <jansson.h>

#include "common/arena.h"
#include "common/buf.h"
#include "crypto/sm2.h"

/* ---- limits (SPEC §3, §5) ------------------------------------------------ */

#define ENVELOPE_MAX_BODY (16u << 20)   /* whole body, bytes (1003) */
#define ENVELOPE_MAX_APP_ID 64          /* appId, chars (1003) */
#define ENVELOPE_MIN_NONCE 16           /* nonce, chars (1004 below) */
#define ENVELOPE_MAX_NONCE 64           /* nonce, chars (1003 above) */
#define ENVELOPE_MAX_SIGNATURE 512      /* signature text, chars (1003) */
#define ENVELOPE_MAX_MSG 512            /* response msg and detail, characters (1003) */
#define ENVELOPE_WINDOW_MS (300 * 1000) /* timestamp window, either side (2003) */
#define ENVELOPE_NONCE_LEN 32           /* length of a generated nonce */
#define ENVELOPE_NODE_PREFIX "node:"    /* appId of a node calling a node */
/* A response code is 0 or a four-digit SPEC §5 code. */
#define ENVELOPE_CODE_MIN 1000
#define ENVELOPE_CODE_MAX 9999

/* ---- parsed envelopes ----------------------------------------------------- */

/* Strings are NUL-terminated copies in the arena given to the parser; the
 * lengths are there so that nothing has to call strlen on 16 MiB again. */
struct envelope_request {
    const char *app_id;
    size_t app_id_len;
    int64_t timestamp; /* ms since the epoch */
    const char *nonce;
    size_t nonce_len;
    const char *encrypt_data;
    size_t encrypt_data_len;
    const char *signature;
    size_t signature_len;
};

struct envelope_response {
    int code;           /* 0 or 1000..9999 */
    const char *msg;    /* always present ("" allowed) */
    const char *detail; /* NULL when absent */
    const char *nonce;  /* NULL when absent or "" (errors only: signed as "") */
    size_t nonce_len;
    int64_t timestamp; /* valid when has_timestamp */
    int has_timestamp;
    const char *encrypt_data; /* NULL unless code is 0 */
    size_t encrypt_data_len;
    const char *signature; /* NULL when the response is unsigned */
    size_t signature_len;
};

/* ---- field rules (also for callers that build envelopes by other means) ---- */

/* appId: 1..64 chars of [0-9A-Za-z_-], or "node:" followed by such chars.
 * 1003 when too long, 1004 otherwise. */
ecert_status envelope_check_app_id(const char *s, size_t n);
/* nonce: 16..64 chars of [0-9A-Za-z]. 1003 when too long, 1004 otherwise. */
ecert_status envelope_check_nonce(const char *s, size_t n);
/* 2003 when ts_ms is more than window_ms away from now_ms (either side);
 * exactly window_ms away is still accepted. Overflow-safe for any inputs. */
ecert_status envelope_check_time(int64_t ts_ms, int64_t now_ms, int64_t window_ms);
/* Business data (the plaintext inside encryptData) must be one JSON object:
 * UTF-8, no NUL, no duplicate keys. 1001 otherwise; the detail gives the
 * position, never the content. `parsed` (may be NULL) receives the object. */
ecert_status envelope_check_business(const char *json, size_t len, json_t **parsed);
/* Wall-clock time in ms since the epoch. */
int64_t envelope_now_ms(void);

/* ---- request -------------------------------------------------------------- */

/* Builds a request envelope: encrypts `business` (len bytes, the caller's JSON)
 * to `receiver_pub` in `fmt` (ECERT_CIPHER_HEX is canonical), takes `nonce`
 * (validated) or generates ENVELOPE_NONCE_LEN chars of [0-9a-z], signs with
 * `sender_key` and appends the JSON text to `out_json` (whose cap bounds the
 * envelope). nonce_out receives the nonce, which the response must echo.
 * On failure out_json is left as it was. */
ecert_status envelope_request_build(const char *app_id, const struct sm2_key *sender_key,
                                    const struct sm2_key *receiver_pub, const void *business,
                                    size_t len, int64_t now_ms, const char *nonce,
                                    ecert_cipher_format fmt, struct buf *out_json,
                                    char nonce_out[ENVELOPE_MAX_NONCE + 1]);

/* Shape check only: body size (1003), JSON object without duplicate keys
 * (1001), every field present and non-empty (1002, the detail names the
 * field), JSON types (1001), lengths (1003), appId/nonce characters and a
 * non-negative timestamp (1004). Unknown fields are ignored. Nothing is
 * verified or decrypted. The strings are copied into `a`; `out` is zeroed
 * first and meaningless on failure. */
ecert_status envelope_request_parse(struct arena *a, const char *body, size_t len,
                                    struct envelope_request *out);

/* The exact bytes the signature covers: appId "\n" timestamp "\n" nonce "\n"
 * encryptData (appended to `out`). */
ecert_status envelope_request_signed_string(const struct envelope_request *req, struct buf *out);

/* ECERT_OK or 2002 (also when the signature text does not decode).
 * SM2-SM3 with the user ID 1234567812345678. */
ecert_status envelope_request_verify(const struct envelope_request *req,
                                     const struct sm2_key *sender_pub);

/* Decrypts encryptData (any SPEC §3.3 form) with `receiver_key` and appends
 * the plaintext to `business` (release it with buf_release_secret). 2001 when
 * it does not decrypt; 1001 when the plaintext is not a JSON object (UTF-8,
 * no duplicate keys). When `parsed` is not NULL it receives that object (the
 * caller json_decref()s it), so the business JSON is parsed only once. On
 * failure `business` is wiped and emptied and *parsed is NULL. */
ecert_status envelope_request_decrypt(const struct envelope_request *req,
                                      const struct sm2_key *receiver_key, struct buf *business,
                                      json_t **parsed);

/* ---- response ------------------------------------------------------------- */

/* Builds a response envelope and appends its JSON text to `out`.
 *   code 0: `business` is encrypted to `caller_pub` in `fmt` and the response
 *           is signed; signer, caller_pub and business are required.
 *   code != 0: no encryptData; signed when `signer` is not NULL (the caller
 *           was identified), unsigned otherwise; business is ignored.
 * msg NULL means ecert_strerror(code). msg and detail are cut to
 * ENVELOPE_MAX_MSG characters and invalid UTF-8 in them is replaced, so that
 * an error response can always be built from an error detail. `nonce` is the
 * request's nonce (validated), or NULL / "" when it was not known or not
 * valid (errors only). */
ecert_status envelope_response_build(int code, const char *msg, const char *detail,
                                     const char *nonce, int64_t now_ms,
                                     const struct sm2_key *signer, const struct sm2_key *caller_pub,
                                     const void *business, size_t len, ecert_cipher_format fmt,
                                     struct buf *out);

/* Shape check of a response: body size (1003), JSON object (1001), `code`
 * an integer 0 or 1000..9999 (1001 type / 1004 range) and `msg` a string,
 * possibly empty (1002 when missing). `nonce` is required when code is 0,
 * `timestamp` when code is 0 or the response is signed (1002). `encryptData`
 * is required when code is 0 (1002) and refused otherwise (1001). Lengths and
 * characters as for requests; msg and detail at most ENVELOPE_MAX_MSG
 * characters (1003). */
ecert_status envelope_response_parse(struct arena *a, const char *body, size_t len,
                                     struct envelope_response *out);

/* code "\n" nonce "\n" timestamp "\n" encryptData (empty when code != 0). */
ecert_status envelope_response_signed_string(const struct envelope_response *resp, struct buf *out);

/* ECERT_OK or 2002 (unsigned, undecodable or invalid signature). */
ecert_status envelope_response_verify(const struct envelope_response *resp,
                                      const struct sm2_key *node_pub);

/* As envelope_request_decrypt, for a code-0 response (ECERT_E_ARG otherwise). */
ecert_status envelope_response_decrypt(const struct envelope_response *resp,
                                       const struct sm2_key *caller_key, struct buf *business,
                                       json_t **parsed);

/* The client's whole check of a response to the request that used
 * `expected_nonce`: parse; when signed, verify (2002) and require the nonce
 * echo (2002, detail "nonce mismatch"; a signed error may instead carry no
 * nonce, when the request's was unusable); an unsigned code-0 response is refused
 * (2002); for code 0 decrypt into `business` (2001 / 1001).
 *
 * ECERT_OK means the envelope is acceptable; the node's own verdict is then
 * out->code. An unsigned error response is returned as is (out->signature ==
 * NULL): it cannot be authenticated, and a node that could not identify the
 * caller has nothing to sign with. */
ecert_status envelope_response_open(struct arena *a, const char *body, size_t len,
                                    const struct sm2_key *node_pub,
                                    const struct sm2_key *caller_key, const char *expected_nonce,
                                    struct envelope_response *out, struct buf *business);

#endif
