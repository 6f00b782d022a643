/*
 * envelope.c — request and response envelopes (SPEC §3.1–3.2).
 *
 * Parsing loads one jansson object and reads it in two passes: presence, JSON
 * types and lengths of every field first, values (characters, ranges) second,
 * so that a body with several problems gets the code SPEC §4.1 puts first. Strings are
 * copied into the caller's arena and the jansson tree is dropped at once.
 *
 * Writing does not go through jansson: every field we emit is either from a
 * small safe alphabet (appId, nonce, hex/base64 ciphertext and signature,
 * digits) or escaped here (msg, detail), which spares a copy of a 16 MiB
 * encryptData into a JSON tree and another out of it.
 */
#include "envelope/envelope.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "common/codec.h"
#include "common/error.h"
#include "crypto/random.h"

/* Largest decimal text of an int64 plus the three separators of a signed
 * string: the signed string is the fields plus this. */
#define SIGNED_STRING_EXTRA 48

/* ======================================================================== */
/* Field rules                                                              */

static bool is_alnum_ascii(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

ecert_status envelope_check_app_id(const char *s, size_t n)
{
    if (n > ENVELOPE_MAX_APP_ID)
        return err_set(ECERT_E_TOO_LONG, "field 'appId': %zu chars, at most %d", n,
                       ENVELOPE_MAX_APP_ID);
    size_t i = 0;
    const size_t plen = sizeof ENVELOPE_NODE_PREFIX - 1;
    if (n >= plen && memcmp(s, ENVELOPE_NODE_PREFIX, plen) == 0)
        i = plen;
    if (i == n)
        return err_set(ECERT_E_MALFORMED, "field 'appId': empty id");
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alnum_ascii(c) && c != '_' && c != '-')
            return err_set(ECERT_E_MALFORMED,
                           "field 'appId': character %zu is not one of [0-9A-Za-z_-]", i + 1);
    }
    return ECERT_OK;
}

ecert_status envelope_check_nonce(const char *s, size_t n)
{
    if (n > ENVELOPE_MAX_NONCE)
        return err_set(ECERT_E_TOO_LONG, "field 'nonce': %zu chars, at most %d", n,
                       ENVELOPE_MAX_NONCE);
    if (n < ENVELOPE_MIN_NONCE)
        return err_set(ECERT_E_MALFORMED, "field 'nonce': %zu chars, at least %d", n,
                       ENVELOPE_MIN_NONCE);
    for (size_t i = 0; i < n; i++)
        if (!is_alnum_ascii((unsigned char)s[i]))
            return err_set(ECERT_E_MALFORMED,
                           "field 'nonce': character %zu is not one of [0-9A-Za-z]", i + 1);
    return ECERT_OK;
}

ecert_status envelope_check_time(int64_t ts_ms, int64_t now_ms, int64_t window_ms)
{
    /* Why unsigned: both values may be anything a peer sent, and ts - now in
     * int64 overflows for far-apart values; the true distance always fits in
     * uint64 and modular subtraction yields it. */
    uint64_t dist =
        ts_ms >= now_ms ? (uint64_t)ts_ms - (uint64_t)now_ms : (uint64_t)now_ms - (uint64_t)ts_ms;
    if (window_ms < 0 || dist > (uint64_t)window_ms)
        return err_set(ECERT_E_TIMESTAMP,
                       "timestamp is %s the receiver's clock by more than %" PRId64 " ms",
                       ts_ms >= now_ms ? "ahead of" : "behind", window_ms);
    return ECERT_OK;
}

int64_t envelope_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ======================================================================== */
/* JSON reading                                                             */

/* Code points in valid UTF-8 (jansson has validated it): every byte that is
 * not a continuation byte starts one. */
static size_t utf8_chars(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

/* Parses `body` as one JSON object. jansson checks UTF-8, refuses NUL in
 * strings (no JSON_ALLOW_NUL) and, with the flag, duplicate keys: a body
 * with two "nonce" members must not mean one thing to us and another to the
 * signer. The parser's message names a position and a token of the envelope,
 * which holds no secret (encryptData is ciphertext). */
static ecert_status load_object(const char *body, size_t len, const char *what, json_t **out)
{
    *out = NULL;
    if (len > ENVELOPE_MAX_BODY)
        return err_set(ECERT_E_TOO_LONG, "%s: body of %zu bytes, at most %u", what, len,
                       ENVELOPE_MAX_BODY);
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return err_set(ECERT_E_JSON, "%s: invalid JSON at line %d column %d: %s", what, jerr.line,
                       jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return err_set(ECERT_E_JSON, "%s: not a JSON object", what);
    }
    *out = root;
    return ECERT_OK;
}

/* How a string field is read. */
enum field_need {
    FIELD_REQUIRED, /* absent, null or "" -> 1002 */
    FIELD_OPTIONAL, /* absent, null or "" -> *s = NULL */
};

/* Reads string member `name`: presence (null and "" count as absent: a peer
 * that writes "signature": null has not signed), type (1001) and length in
 * characters (1003; max_chars 0 = no field limit, the body limit applies).
 * The value is copied into the arena. */
static ecert_status get_string(struct arena *a, json_t *obj, const char *name, enum field_need need,
                               size_t max_chars, const char **s, size_t *n)
{
    *s = NULL;
    *n = 0;
    json_t *v = json_object_get(obj, name);
    if (v && !json_is_null(v) && !json_is_string(v))
        return err_set(ECERT_E_JSON, "field '%s' is not a string", name);
    size_t len = v && json_is_string(v) ? json_string_length(v) : 0;
    if (len == 0) {
        if (need == FIELD_REQUIRED)
            return err_set(ECERT_E_MISSING, "field '%s' missing", name);
        return ECERT_OK;
    }
    const char *text = json_string_value(v);
    if (max_chars && len > max_chars && utf8_chars(text, len) > max_chars)
        return err_set(ECERT_E_TOO_LONG, "field '%s': longer than %zu chars", name, max_chars);
    /* The arena says why it failed only in the detail; its cap is the
     * request's memory limit (1003), anything else is memory (9001). */
    bool over_cap = len >= a->max || a->used > a->max - len - 1;
    char *copy = arena_strndup(a, text, len);
    if (!copy)
        return err_wrap(over_cap ? ECERT_E_TOO_LONG : ECERT_E_NOMEM, name);
    *s = copy;
    *n = len;
    return ECERT_OK;
}

/* Reads integer member `name` (1002 absent or null, 1001 not an integer:
 * 1.5, "123" and 1e3 are all refused, since the signed string carries the
 * decimal text and there must be only one). */
static ecert_status get_int(json_t *obj, const char *name, bool required, bool *present,
                            json_int_t *out)
{
    *present = false;
    *out = 0;
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v)) {
        if (required)
            return err_set(ECERT_E_MISSING, "field '%s' missing", name);
        return ECERT_OK;
    }
    if (!json_is_integer(v))
        return err_set(ECERT_E_JSON, "field '%s' is not an integer", name);
    *present = true;
    *out = json_integer_value(v);
    return ECERT_OK;
}

ecert_status envelope_check_business(const char *json, size_t len, json_t **parsed)
{
    if (parsed)
        *parsed = NULL;
    /* jansson's message is not used: it would quote the business data
     * (personal data); the detail carries the position and the kind only. */
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        enum json_error_code jc = json_error_code(&jerr);
        return err_set(ECERT_E_JSON, "business data: %s at line %d column %d",
                       jc == json_error_duplicate_key    ? "duplicate key"
                       : jc == json_error_invalid_utf8   ? "invalid UTF-8"
                       : jc == json_error_null_character ? "NUL character"
                                                         : "invalid JSON",
                       jerr.line, jerr.column);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return err_set(ECERT_E_JSON, "business data: not a JSON object");
    }
    if (parsed)
        *parsed = root;
    else
        json_decref(root);
    return ECERT_OK;
}

/* Decrypts an encryptData text into `business` and checks the plaintext. */
static ecert_status open_business(const struct sm2_key *key, const char *text, size_t len,
                                  struct buf *business, json_t **parsed)
{
    if (parsed)
        *parsed = NULL;
    size_t start = business->len;
    ecert_status st = sm2_decrypt(key, (const uint8_t *)text, len, 0, business);
    if (st && st != ECERT_E_NOMEM)
        st = err_wrap(ECERT_E_DECRYPT, "encryptData");
    if (!st)
        st = envelope_check_business((const char *)business->data + start, business->len - start,
                                     parsed);
    if (st)
        buf_release_secret(business);
    return st;
}

/* ======================================================================== */
/* Signatures                                                               */

/* Signs `msg` (SM2-SM3, default user ID) and appends base64 of the DER
 * signature to `out`. */
static ecert_status sign_base64(const struct sm2_key *key, const struct buf *msg, struct buf *out)
{
    uint8_t rs[SM2_SIG_LEN];
    uint8_t der[SM2_SIG_DER_MAX];
    char text[BASE64_ENCODED_LEN(SM2_SIG_DER_MAX) + 1];
    ecert_status st =
        sm2_sign(key, (const uint8_t *)SM2_DEFAULT_ID, SM2_DEFAULT_ID_LEN, msg->data, msg->len, rs);
    if (st)
        return st;
    size_t dlen = sm2_sig_to_der(rs, der);
    size_t tlen = base64_encode(der, dlen, text, 0);
    return buf_append(out, text, tlen);
}

/* 2002 for a signature that does not decode or does not verify; other
 * failures (memory, the crypto library) pass through as they are. */
static ecert_status verify_text(const struct sm2_key *key, const struct buf *msg, const char *sig,
                                size_t sig_len)
{
    uint8_t rs[SM2_SIG_LEN];
    if (sm2_sig_decode_text(sig, sig_len, rs) != ECERT_OK)
        return err_set(ECERT_E_SIGNATURE, "field 'signature' does not decode as an SM2 signature");
    ecert_status st = sm2_verify(key, (const uint8_t *)SM2_DEFAULT_ID, SM2_DEFAULT_ID_LEN,
                                 msg->data, msg->len, rs);
    if (st == ECERT_E_SIGNATURE)
        return err_set(ECERT_E_SIGNATURE, "signature does not verify with the signer's key");
    return st;
}

/* ======================================================================== */
/* Writing                                                                  */

/* Length of the valid UTF-8 sequence at p[0..n), or 0 when it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_seq_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Appends `s` as a JSON string literal of at most max_chars characters.
 * Why it repairs rather than refuses: msg and detail come from error
 * details, which vsnprintf may have cut inside a UTF-8 sequence, and an
 * error response must always be sendable. Invalid bytes become U+FFFD. */
static ecert_status put_json_string(struct buf *b, const char *s, size_t max_chars)
{
    static const char hexd[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)s;
    size_t n = strlen(s);
    ecert_status st = buf_append_byte(b, '"');
    for (size_t i = 0, chars = 0; !st && i < n && chars < max_chars; chars++) {
        size_t k = utf8_seq_len(p + i, n - i);
        if (k == 0) {
            st = buf_append(b, "\xEF\xBF\xBD", 3);
            i++;
        } else if (k > 1) {
            st = buf_append(b, p + i, k);
            i += k;
        } else if (p[i] == '"' || p[i] == '\\') {
            char esc[2] = {'\\', (char)p[i]};
            st = buf_append(b, esc, 2);
            i++;
        } else if (p[i] < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hexd[p[i] >> 4], hexd[p[i] & 15]};
            st = buf_append(b, esc, 6);
            i++;
        } else {
            st = buf_append_byte(b, p[i]);
            i++;
        }
    }
    return st ? st : buf_append_byte(b, '"');
}

/* Appends "name":"value" for a value known to need no escaping. */
static ecert_status put_plain_member(struct buf *b, const char *name, const char *v, size_t n)
{
    ecert_status st = buf_printf(b, ",\"%s\":\"", name);
    if (!st)
        st = buf_append(b, v, n);
    if (!st)
        st = buf_append_byte(b, '"');
    return st;
}

/* ======================================================================== */
/* Request                                                                  */

static ecert_status request_signed_string(const char *app_id, size_t app_id_len, int64_t ts,
                                          const char *nonce, size_t nonce_len, const char *enc,
                                          size_t enc_len, struct buf *out)
{
    ecert_status st = buf_reserve(out, app_id_len + nonce_len + enc_len + SIGNED_STRING_EXTRA);
    if (!st)
        st = buf_append(out, app_id, app_id_len);
    if (!st)
        st = buf_printf(out, "\n%" PRId64 "\n", ts);
    if (!st)
        st = buf_append(out, nonce, nonce_len);
    if (!st)
        st = buf_append_byte(out, '\n');
    if (!st)
        st = buf_append(out, enc, enc_len);
    return st;
}

ecert_status envelope_request_signed_string(const struct envelope_request *req, struct buf *out)
{
    return request_signed_string(req->app_id, req->app_id_len, req->timestamp, req->nonce,
                                 req->nonce_len, req->encrypt_data, req->encrypt_data_len, out);
}

ecert_status envelope_request_build(const char *app_id, const struct sm2_key *sender_key,
                                    const struct sm2_key *receiver_pub, const void *business,
                                    size_t len, int64_t now_ms, const char *nonce,
                                    ecert_cipher_format fmt, struct buf *out_json,
                                    char nonce_out[ENVELOPE_MAX_NONCE + 1])
{
    if (!app_id || !sender_key || !receiver_pub || (!business && len) || !out_json || !nonce_out)
        return err_set(ECERT_E_ARG, "envelope_request_build: missing argument");
    if (!sm2_key_has_private(sender_key))
        return err_set(ECERT_E_ARG, "envelope_request_build: the sender key has no private part");
    if (now_ms < 0)
        return err_set(ECERT_E_ARG, "envelope_request_build: negative timestamp");
    size_t app_id_len = strlen(app_id);
    ecert_status st = envelope_check_app_id(app_id, app_id_len);
    if (st)
        return st;

    char n_buf[ENVELOPE_MAX_NONCE + 1];
    size_t nonce_len;
    if (nonce) {
        nonce_len = strnlen(nonce, ENVELOPE_MAX_NONCE + 1);
        if ((st = envelope_check_nonce(nonce, nonce_len)) != ECERT_OK)
            return st;
        memcpy(n_buf, nonce, nonce_len);
        n_buf[nonce_len] = 0;
    } else {
        nonce_len = ENVELOPE_NONCE_LEN;
        if ((st = random_token(n_buf, nonce_len)) != ECERT_OK)
            return st;
    }

    struct buf enc = BUF_INIT(ENVELOPE_MAX_BODY);
    struct buf tbs = BUF_INIT(ENVELOPE_MAX_BODY + SIGNED_STRING_EXTRA + ENVELOPE_MAX_APP_ID +
                              ENVELOPE_MAX_NONCE);
    struct buf sig = BUF_INIT(ENVELOPE_MAX_SIGNATURE);
    size_t start = out_json->len;

    st = sm2_encrypt_text(receiver_pub, business, len, fmt, &enc);
    if (st) {
        err_wrap(st, "encrypting the business data");
        goto done;
    }
    st = request_signed_string(app_id, app_id_len, now_ms, n_buf, nonce_len, (const char *)enc.data,
                               enc.len, &tbs);
    if (!st)
        st = sign_base64(sender_key, &tbs, &sig);
    if (!st)
        st = buf_append_str(out_json, "{\"appId\":\"");
    if (!st)
        st = buf_append(out_json, app_id, app_id_len);
    if (!st)
        st = buf_printf(out_json, "\",\"timestamp\":%" PRId64, now_ms);
    if (!st)
        st = put_plain_member(out_json, "nonce", n_buf, nonce_len);
    if (!st)
        st = put_plain_member(out_json, "encryptData", (const char *)enc.data, enc.len);
    if (!st)
        st = put_plain_member(out_json, "signature", (const char *)sig.data, sig.len);
    if (!st)
        st = buf_append_byte(out_json, '}');
done:
    if (st) {
        out_json->len = start;
        if (out_json->data)
            out_json->data[start] = 0;
    } else {
        memcpy(nonce_out, n_buf, nonce_len + 1);
    }
    buf_release(&enc);
    buf_release(&tbs);
    buf_release(&sig);
    return st;
}

ecert_status envelope_request_parse(struct arena *a, const char *body, size_t len,
                                    struct envelope_request *out)
{
    memset(out, 0, sizeof *out);
    if (!a || (!body && len))
        return err_set(ECERT_E_ARG, "envelope_request_parse: missing argument");
    json_t *root;
    ecert_status st = load_object(body, len, "request", &root);
    if (st)
        return st;

    /* Pass 1: presence, types, lengths (1002/1001/1003). */
    json_int_t ts = 0;
    bool has_ts;
    st = get_string(a, root, "appId", FIELD_REQUIRED, ENVELOPE_MAX_APP_ID, &out->app_id,
                    &out->app_id_len);
    if (!st)
        st = get_int(root, "timestamp", true, &has_ts, &ts);
    if (!st)
        st = get_string(a, root, "nonce", FIELD_REQUIRED, ENVELOPE_MAX_NONCE, &out->nonce,
                        &out->nonce_len);
    if (!st)
        st = get_string(a, root, "encryptData", FIELD_REQUIRED, 0, &out->encrypt_data,
                        &out->encrypt_data_len);
    if (!st)
        st = get_string(a, root, "signature", FIELD_REQUIRED, ENVELOPE_MAX_SIGNATURE,
                        &out->signature, &out->signature_len);
    json_decref(root);
    if (st)
        return st;

    /* Pass 2: values (1004). */
    if ((st = envelope_check_app_id(out->app_id, out->app_id_len)) != ECERT_OK)
        return st;
    if (ts < 0)
        return err_set(ECERT_E_MALFORMED, "field 'timestamp' is negative");
    out->timestamp = (int64_t)ts;
    return envelope_check_nonce(out->nonce, out->nonce_len);
}

ecert_status envelope_request_verify(const struct envelope_request *req,
                                     const struct sm2_key *sender_pub)
{
    if (!req || !sender_pub || !req->app_id || !req->nonce || !req->encrypt_data || !req->signature)
        return err_set(ECERT_E_ARG, "envelope_request_verify: missing argument");
    struct buf tbs =
        BUF_INIT(req->app_id_len + req->nonce_len + req->encrypt_data_len + SIGNED_STRING_EXTRA);
    ecert_status st = envelope_request_signed_string(req, &tbs);
    if (!st)
        st = verify_text(sender_pub, &tbs, req->signature, req->signature_len);
    buf_release(&tbs);
    return st;
}

ecert_status envelope_request_decrypt(const struct envelope_request *req,
                                      const struct sm2_key *receiver_key, struct buf *business,
                                      json_t **parsed)
{
    if (parsed)
        *parsed = NULL;
    if (!req || !receiver_key || !business || !req->encrypt_data)
        return err_set(ECERT_E_ARG, "envelope_request_decrypt: missing argument");
    return open_business(receiver_key, req->encrypt_data, req->encrypt_data_len, business, parsed);
}

/* ======================================================================== */
/* Response                                                                 */

static bool code_valid(json_int_t code)
{
    return code == 0 || (code >= ENVELOPE_CODE_MIN && code <= ENVELOPE_CODE_MAX);
}

static ecert_status response_signed_string(int code, const char *nonce, size_t nonce_len,
                                           int64_t ts, const char *enc, size_t enc_len,
                                           struct buf *out)
{
    ecert_status st = buf_reserve(out, nonce_len + enc_len + SIGNED_STRING_EXTRA);
    if (!st)
        st = buf_printf(out, "%d\n", code);
    if (!st)
        st = buf_append(out, nonce, nonce_len);
    if (!st)
        st = buf_printf(out, "\n%" PRId64 "\n", ts);
    if (!st)
        st = buf_append(out, enc, enc_len);
    return st;
}

ecert_status envelope_response_signed_string(const struct envelope_response *resp, struct buf *out)
{
    /* Error responses sign an empty encryptData (SPEC §3.2). */
    bool with_data = resp->code == 0 && resp->encrypt_data;
    return response_signed_string(resp->code, resp->nonce ? resp->nonce : "", resp->nonce_len,
                                  resp->timestamp, with_data ? resp->encrypt_data : "",
                                  with_data ? resp->encrypt_data_len : 0, out);
}

ecert_status envelope_response_build(int code, const char *msg, const char *detail,
                                     const char *nonce, int64_t now_ms,
                                     const struct sm2_key *signer, const struct sm2_key *caller_pub,
                                     const void *business, size_t len, ecert_cipher_format fmt,
                                     struct buf *out)
{
    if (!out || !code_valid(code) || now_ms < 0)
        return err_set(ECERT_E_ARG, "envelope_response_build: bad code, time or output");
    if (code == 0 && (!signer || !caller_pub || (!business && len)))
        return err_set(ECERT_E_ARG,
                       "envelope_response_build: a success response needs signer, caller key "
                       "and business data");
    if (signer && !sm2_key_has_private(signer))
        return err_set(ECERT_E_ARG, "envelope_response_build: the signer key has no private part");
    size_t nonce_len = nonce ? strnlen(nonce, ENVELOPE_MAX_NONCE + 1) : 0;
    if (nonce_len == 0 && code == 0)
        return err_set(ECERT_E_ARG, "envelope_response_build: a success response needs the nonce");
    ecert_status st;
    if (nonce_len && (st = envelope_check_nonce(nonce, nonce_len)) != ECERT_OK)
        return err_set(ECERT_E_ARG, "envelope_response_build: the nonce to echo is not valid");
    if (!msg)
        msg = ecert_strerror((ecert_status)code);

    struct buf enc = BUF_INIT(ENVELOPE_MAX_BODY);
    struct buf tbs = BUF_INIT(ENVELOPE_MAX_BODY + SIGNED_STRING_EXTRA + ENVELOPE_MAX_NONCE);
    struct buf sig = BUF_INIT(ENVELOPE_MAX_SIGNATURE);
    size_t start = out->len;

    st = ECERT_OK;
    if (code == 0 && (st = sm2_encrypt_text(caller_pub, business, len, fmt, &enc)) != ECERT_OK) {
        err_wrap(st, "encrypting the business result");
        goto done;
    }
    if (signer) {
        st = response_signed_string(code, nonce ? nonce : "", nonce_len, now_ms,
                                    enc.data ? (const char *)enc.data : "", enc.len, &tbs);
        if (!st)
            st = sign_base64(signer, &tbs, &sig);
    }
    if (!st)
        st = buf_printf(out, "{\"code\":%d,\"msg\":", code);
    if (!st)
        st = put_json_string(out, msg, ENVELOPE_MAX_MSG);
    if (!st)
        st = put_plain_member(out, "nonce", nonce ? nonce : "", nonce_len);
    if (!st)
        st = buf_printf(out, ",\"timestamp\":%" PRId64, now_ms);
    if (!st && code == 0)
        st = put_plain_member(out, "encryptData", (const char *)enc.data, enc.len);
    if (!st && signer)
        st = put_plain_member(out, "signature", (const char *)sig.data, sig.len);
    if (!st && detail && detail[0]) {
        st = buf_append_str(out, ",\"detail\":");
        if (!st)
            st = put_json_string(out, detail, ENVELOPE_MAX_MSG);
    }
    if (!st)
        st = buf_append_byte(out, '}');
done:
    if (st) {
        out->len = start;
        if (out->data)
            out->data[start] = 0;
    }
    buf_release(&enc);
    buf_release(&tbs);
    buf_release(&sig);
    return st;
}

ecert_status envelope_response_parse(struct arena *a, const char *body, size_t len,
                                     struct envelope_response *out)
{
    memset(out, 0, sizeof *out);
    if (!a || (!body && len))
        return err_set(ECERT_E_ARG, "envelope_response_parse: missing argument");
    json_t *root;
    ecert_status st = load_object(body, len, "response", &root);
    if (st)
        return st;

    json_int_t code = 0, ts = 0;
    bool has_code, has_ts;
    size_t msg_len, detail_len;
    st = get_int(root, "code", true, &has_code, &code);
    if (st)
        goto out;
    /* Out of range is reported in the value pass below; until then the
     * code only says which members are required, and any non-zero one
     * means "an error". */
    out->code = code == 0 ? 0 : code_valid(code) ? (int)code : ENVELOPE_CODE_MAX;
    /* msg is required but may be empty: a peer may have nothing to say. */
    json_t *m = json_object_get(root, "msg");
    if (!m || json_is_null(m)) {
        st = err_set(ECERT_E_MISSING, "field 'msg' missing");
        goto out;
    }
    st = get_string(a, root, "msg", FIELD_OPTIONAL, ENVELOPE_MAX_MSG, &out->msg, &msg_len);
    if (st)
        goto out;
    if (!out->msg)
        out->msg = "";
    st = get_string(a, root, "detail", FIELD_OPTIONAL, ENVELOPE_MAX_MSG, &out->detail, &detail_len);
    if (st)
        goto out;
    st = get_string(a, root, "signature", FIELD_OPTIONAL, ENVELOPE_MAX_SIGNATURE, &out->signature,
                    &out->signature_len);
    if (st)
        goto out;

    /* A success response carries the echoed nonce and the time; a signed
     * error needs the time for its signed string and may have an empty nonce
     * (the request's was unusable); an unsigned error may be as bare as
     * {code, msg}. */
    st = get_string(a, root, "nonce", out->code == 0 ? FIELD_REQUIRED : FIELD_OPTIONAL,
                    ENVELOPE_MAX_NONCE, &out->nonce, &out->nonce_len);
    if (!st)
        st = get_int(root, "timestamp", out->code == 0 || out->signature, &has_ts, &ts);
    if (st)
        goto out;
    out->has_timestamp = has_ts;
    out->timestamp = (int64_t)ts;
    st = get_string(a, root, "encryptData", out->code == 0 ? FIELD_REQUIRED : FIELD_OPTIONAL, 0,
                    &out->encrypt_data, &out->encrypt_data_len);
    if (!st && out->code != 0 && out->encrypt_data)
        st = err_set(ECERT_E_JSON, "field 'encryptData' in an error response (code %d)", out->code);
    if (st)
        goto out;

    if (!code_valid(code))
        st = err_set(ECERT_E_MALFORMED, "field 'code': %lld is not 0 or a code %d..%d",
                     (long long)code, ENVELOPE_CODE_MIN, ENVELOPE_CODE_MAX);
    else if (ts < 0)
        st = err_set(ECERT_E_MALFORMED, "field 'timestamp' is negative");
    else if (out->nonce)
        st = envelope_check_nonce(out->nonce, out->nonce_len);
out:
    json_decref(root);
    return st;
}

ecert_status envelope_response_verify(const struct envelope_response *resp,
                                      const struct sm2_key *node_pub)
{
    if (!resp || !node_pub)
        return err_set(ECERT_E_ARG, "envelope_response_verify: missing argument");
    if (!resp->signature)
        return err_set(ECERT_E_SIGNATURE, "response is not signed");
    if (!resp->has_timestamp)
        return err_set(ECERT_E_ARG, "envelope_response_verify: response without timestamp");
    struct buf tbs = BUF_INIT(resp->nonce_len + resp->encrypt_data_len + SIGNED_STRING_EXTRA);
    ecert_status st = envelope_response_signed_string(resp, &tbs);
    if (!st)
        st = verify_text(node_pub, &tbs, resp->signature, resp->signature_len);
    buf_release(&tbs);
    return st;
}

ecert_status envelope_response_decrypt(const struct envelope_response *resp,
                                       const struct sm2_key *caller_key, struct buf *business,
                                       json_t **parsed)
{
    if (parsed)
        *parsed = NULL;
    if (!resp || !caller_key || !business || resp->code != 0 || !resp->encrypt_data)
        return err_set(ECERT_E_ARG, "envelope_response_decrypt: not a success response");
    return open_business(caller_key, resp->encrypt_data, resp->encrypt_data_len, business, parsed);
}

ecert_status envelope_response_open(struct arena *a, const char *body, size_t len,
                                    const struct sm2_key *node_pub,
                                    const struct sm2_key *caller_key, const char *expected_nonce,
                                    struct envelope_response *out, struct buf *business)
{
    if (!a || !node_pub || !caller_key || !expected_nonce || !expected_nonce[0] || !out ||
        !business) {
        if (out)
            memset(out, 0, sizeof *out);
        return err_set(ECERT_E_ARG, "envelope_response_open: missing argument");
    }
    ecert_status st = envelope_response_parse(a, body, len, out);
    if (st)
        return st;
    if (!out->signature) {
        if (out->code == 0)
            return err_set(ECERT_E_SIGNATURE, "success response is not signed");
        return ECERT_OK;
    }
    if ((st = envelope_response_verify(out, node_pub)) != ECERT_OK)
        return st;
    /* Why the echo matters: the signature proves the node wrote this
     * response, the nonce proves it answers this request and is not an older
     * response replayed. A signed error may carry an empty nonce when the
     * request's own nonce was unusable; it is then only an error. */
    size_t exp_len = strlen(expected_nonce);
    bool echoed =
        out->nonce && out->nonce_len == exp_len && memcmp(out->nonce, expected_nonce, exp_len) == 0;
    if (!echoed && !(out->code != 0 && out->nonce_len == 0))
        return err_set(ECERT_E_SIGNATURE,
                       "nonce mismatch: the response does not answer this request");
    if (out->code != 0)
        return ECERT_OK;
    return envelope_response_decrypt(out, caller_key, business, NULL);
}
