/*
 * token.c — trusted tokens (可信令牌, SPEC §6).
 *
 *   v1.<base64url(claims JSON)>.<base64url(DER SM2-SM3 signature)>
 *
 * Verification runs in three stages, cheapest first, and never lets the JSON
 * parser see bytes that YRD-TRUST did not sign:
 *   1. shape: length, the "v1." prefix, exactly three parts, strict unpadded
 *      base64url, a canonical (minimal) DER signature;
 *   2. the SM2 signature over the ASCII bytes "v1.<claims part>";
 *   3. the claims: a JSON object with exactly the ten members, each of the
 *      right type and within its field, then the clock.
 * Every failure is ECERT_E_TOKEN (3002) except expiry (3003), which is only
 * reported for a genuine token: a forger learns nothing about time.
 * Decisions and their reasons: docs/token.md.
 */
#include "token/token.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codes/ids.h"
#include "common/codec.h"
#include "common/error.h"
#include "crypto/random.h"
#include "envelope/envelope.h"

#define TOKEN_PREFIX "v1."
#define TOKEN_PREFIX_LEN 3
#define TOKEN_ISSUER "YRD-TRUST"
/* Length of a generated jti: 32 of [0-9a-z] is 165 bits, never repeated. */
#define TOKEN_JTI_GEN_LEN 32
/* Claims JSON decoded from a token no longer than TOKEN_MAX_LEN. */
#define TOKEN_CLAIMS_MAX BASE64_DECODED_MAX(TOKEN_MAX_LEN)
#define TYPE_CODE_LEN 21

/* ======================================================================== */
/* Claim rules (shared by issue and verify, so that whatever we issue       */
/* verifies and whatever verifies we could have issued)                     */

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_upper_alnum(unsigned char c)
{
    return is_digit(c) || (c >= 'A' && c <= 'Z');
}

static bool is_jti_char(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/* A 证照类型代码: 18 characters of the defining body's USCC and 3 digits. The
 * USCC check character is not enforced (as in ids.h: type codes in the wild
 * carry prefixes that are not valid USCCs). */
static bool is_type_code(const char *s, size_t n)
{
    if (n != TYPE_CODE_LEN)
        return false;
    for (size_t i = 0; i < 18; i++)
        if (!is_upper_alnum((unsigned char)s[i]))
            return false;
    for (size_t i = 18; i < TYPE_CODE_LEN; i++)
        if (!is_digit((unsigned char)s[i]))
            return false;
    return true;
}

/* Checks a NUL-terminated field: no NUL inside its array, so that every
 * later strlen stays within the field even for a caller's bad struct. */
static bool field_ok(const char *s, size_t size, size_t *len)
{
    const char *end = memchr(s, 0, size);
    if (!end)
        return false;
    *len = (size_t)(end - s);
    return true;
}

/* Validates every claim; `st` is the status to fail with (ECERT_E_TOKEN when
 * verifying, ECERT_E_MALFORMED when issuing). */
static ecert_status claims_check(const struct token_claims *c, ecert_status st)
{
    size_t n;
    if (!field_ok(c->iss, sizeof c->iss, &n) || strcmp(c->iss, TOKEN_ISSUER) != 0)
        return err_set(st, "claim 'iss' is not \"" TOKEN_ISSUER "\"");

    size_t sty_len, sub_len;
    if (!field_ok(c->sty, sizeof c->sty, &sty_len) || sty_len != 3 ||
        !is_digit((unsigned char)c->sty[0]) || !is_digit((unsigned char)c->sty[1]) ||
        !is_digit((unsigned char)c->sty[2]))
        return err_set(st, "claim 'sty' is not a 3-digit holder code type");
    if (!field_ok(c->sub, sizeof c->sub, &sub_len) || sub_len == 0)
        return err_set(st, "claim 'sub' is empty");
    if (ids_holder_check(c->sty, sty_len, c->sub, sub_len) != ECERT_OK)
        return err_wrap(st, "claim 'sub'");

    if (!field_ok(c->name, sizeof c->name, &n))
        return err_set(st, "claim 'name' is too long");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)c->name[i];
        if (ch < 0x20 || ch == 0x7f)
            return err_set(st, "claim 'name' has a control character at byte %zu", i + 1);
    }

    if (c->aty < 1 || c->aty > 3)
        return err_set(st, "claim 'aty' is %d, not 1, 2 or 3", c->aty);

    if (!field_ok(c->app, sizeof c->app, &n) || n == 0)
        return err_set(st, "claim 'app' is empty or too long");
    if (envelope_check_app_id(c->app, n) != ECERT_OK)
        return err_wrap(st, "claim 'app'");

    if (c->nperm > TOKEN_MAX_PERM)
        return err_set(st, "claim 'perm' has %zu entries, at most %d", c->nperm, TOKEN_MAX_PERM);
    for (size_t i = 0; i < c->nperm; i++)
        if (!field_ok(c->perm[i], sizeof c->perm[i], &n) || !is_type_code(c->perm[i], n))
            return err_set(st, "claim 'perm' entry %zu is not a 21-character type code", i + 1);

    if (c->iat <= 0 || c->exp <= 0)
        return err_set(st, "claims 'iat' and 'exp' must be positive");
    if (c->iat > c->exp)
        return err_set(st, "claim 'iat' is after 'exp'");

    if (!field_ok(c->jti, sizeof c->jti, &n) || n == 0)
        return err_set(st, "claim 'jti' is empty or too long");
    for (size_t i = 0; i < n; i++)
        if (!is_jti_char((unsigned char)c->jti[i]))
            return err_set(st, "claim 'jti' character %zu is not one of [0-9A-Za-z_-]", i + 1);
    return ECERT_OK;
}

/* ======================================================================== */
/* Claims JSON                                                              */

enum claim_id { C_ISS, C_SUB, C_STY, C_NAME, C_ATY, C_APP, C_PERM, C_IAT, C_EXP, C_JTI, C_COUNT };

/* The members in the order they are written. */
static const char *const claim_names[C_COUNT] = {"iss", "sub",  "sty", "name", "aty",
                                                 "app", "perm", "iat", "exp",  "jti"};

static int claim_lookup(const char *key)
{
    for (int i = 0; i < C_COUNT; i++)
        if (strcmp(key, claim_names[i]) == 0)
            return i;
    return -1;
}

/* Copies a JSON string into a fixed field; a value that does not fit is an
 * error, never truncated. */
static ecert_status copy_string(json_t *v, const char *name, char *dst, size_t size)
{
    if (!json_is_string(v))
        return err_set(ECERT_E_TOKEN, "claim '%s' is not a string", name);
    size_t n = json_string_length(v);
    if (n >= size)
        return err_set(ECERT_E_TOKEN, "claim '%s' is %zu bytes, at most %zu", name, n, size - 1);
    memcpy(dst, json_string_value(v), n);
    dst[n] = '\0';
    return ECERT_OK;
}

static ecert_status read_member(struct token_claims *c, int id, json_t *v)
{
    const char *name = claim_names[id];
    switch (id) {
    case C_ISS:
        return copy_string(v, name, c->iss, sizeof c->iss);
    case C_SUB:
        return copy_string(v, name, c->sub, sizeof c->sub);
    case C_STY:
        return copy_string(v, name, c->sty, sizeof c->sty);
    case C_NAME:
        return copy_string(v, name, c->name, sizeof c->name);
    case C_APP:
        return copy_string(v, name, c->app, sizeof c->app);
    case C_JTI:
        return copy_string(v, name, c->jti, sizeof c->jti);
    case C_ATY: {
        if (!json_is_integer(v))
            return err_set(ECERT_E_TOKEN, "claim 'aty' is not an integer");
        json_int_t a = json_integer_value(v);
        if (a < 1 || a > 3)
            return err_set(ECERT_E_TOKEN, "claim 'aty' is not 1, 2 or 3");
        c->aty = (int)a;
        return ECERT_OK;
    }
    case C_IAT:
    case C_EXP:
        if (!json_is_integer(v))
            return err_set(ECERT_E_TOKEN, "claim '%s' is not an integer", name);
        if (id == C_IAT)
            c->iat = (int64_t)json_integer_value(v);
        else
            c->exp = (int64_t)json_integer_value(v);
        return ECERT_OK;
    case C_PERM: {
        if (!json_is_array(v))
            return err_set(ECERT_E_TOKEN, "claim 'perm' is not an array");
        size_t n = json_array_size(v);
        if (n > TOKEN_MAX_PERM)
            return err_set(ECERT_E_TOKEN, "claim 'perm' has %zu entries, at most %d", n,
                           TOKEN_MAX_PERM);
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(v, i);
            if (!json_is_string(e) || json_string_length(e) != TYPE_CODE_LEN)
                return err_set(ECERT_E_TOKEN, "claim 'perm' entry %zu is not a 21-character string",
                               i + 1);
            memcpy(c->perm[i], json_string_value(e), TYPE_CODE_LEN);
            c->perm[i][TYPE_CODE_LEN] = '\0';
        }
        c->nperm = n;
        return ECERT_OK;
    }
    }
    return err_set(ECERT_E_INTERNAL, "token: unknown claim index");
}

ecert_status token_claims_parse(const char *json, size_t len, struct token_claims *out)
{
    if (!json || !out)
        return err_set(ECERT_E_ARG, "token_claims_parse: NULL argument");
    memset(out, 0, sizeof *out);
    if (len > TOKEN_CLAIMS_MAX)
        return err_set(ECERT_E_TOKEN, "claims: %zu bytes, at most %d", len, TOKEN_CLAIMS_MAX);

    /* Duplicate members are refused: two "sub" members must not mean one
     * holder to us and another to a different JSON reader. */
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return err_set(ECERT_E_TOKEN, "claims are not valid JSON (column %d): %s", jerr.column,
                       jerr.text);
    ecert_status st = ECERT_OK;
    if (!json_is_object(root)) {
        st = err_set(ECERT_E_TOKEN, "claims are not a JSON object");
        goto done;
    }

    /* Unknown members are refused: the only issuer is our trust node, and a
     * claim this verifier does not understand (a future audience or scope)
     * must not be silently dropped. A new claim means a new version prefix. */
    bool seen[C_COUNT] = {false};
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        int id = claim_lookup(key);
        if (id < 0) {
            st = err_set(ECERT_E_TOKEN, "unknown claim (%zu-byte name)", strlen(key));
            goto done;
        }
        seen[id] = true;
        st = read_member(out, id, v);
        if (st != ECERT_OK)
            goto done;
    }
    for (int i = 0; i < C_COUNT; i++)
        if (!seen[i]) {
            st = err_set(ECERT_E_TOKEN, "claim '%s' is missing", claim_names[i]);
            goto done;
        }
    st = claims_check(out, ECERT_E_TOKEN);

done:
    json_decref(root);
    if (st != ECERT_OK)
        memset(out, 0, sizeof *out);
    return st;
}

/* Builds the compact claims JSON, members in the fixed order. jansson keeps
 * insertion order and escapes what JSON requires; it refuses invalid UTF-8. */
static ecert_status claims_json(const struct token_claims *c, char **out)
{
    *out = NULL;
    json_t *root = json_object();
    json_t *perm = json_array();
    if (!root || !perm) {
        json_decref(root);
        json_decref(perm);
        return err_set(ECERT_E_NOMEM, "token: out of memory");
    }
    for (size_t i = 0; i < c->nperm; i++)
        if (json_array_append_new(perm, json_string(c->perm[i])) != 0) {
            json_decref(perm);
            json_decref(root);
            return err_set(ECERT_E_NOMEM, "token: out of memory");
        }
    json_t *name = json_string(c->name);
    if (!name) {
        json_decref(perm);
        json_decref(root);
        return err_set(ECERT_E_MALFORMED, "claim 'name' is not valid UTF-8");
    }
    int bad = 0;
    bad |= json_object_set_new(root, "iss", json_string(c->iss));
    bad |= json_object_set_new(root, "sub", json_string(c->sub));
    bad |= json_object_set_new(root, "sty", json_string(c->sty));
    bad |= json_object_set_new(root, "name", name);
    bad |= json_object_set_new(root, "aty", json_integer(c->aty));
    bad |= json_object_set_new(root, "app", json_string(c->app));
    bad |= json_object_set_new(root, "perm", perm);
    bad |= json_object_set_new(root, "iat", json_integer((json_int_t)c->iat));
    bad |= json_object_set_new(root, "exp", json_integer((json_int_t)c->exp));
    bad |= json_object_set_new(root, "jti", json_string(c->jti));
    char *text = bad ? NULL : json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        return err_set(ECERT_E_NOMEM, "token: cannot build the claims JSON");
    *out = text;
    return ECERT_OK;
}

/* ======================================================================== */
/* Issue                                                                    */

ecert_status token_issue(const struct token_claims *c, const struct sm2_key *trust_key,
                         struct buf *out)
{
    if (!c || !trust_key || !out)
        return err_set(ECERT_E_ARG, "token_issue: NULL argument");
    if (!sm2_key_has_private(trust_key))
        return err_set(ECERT_E_ARG, "token_issue: the trust key has no private part");

    /* A local copy: iss and jti may be filled in. */
    struct token_claims cl = *c;
    if (cl.iss[0] == '\0')
        memcpy(cl.iss, TOKEN_ISSUER, sizeof TOKEN_ISSUER);
    if (cl.jti[0] == '\0') {
        ecert_status rs = random_token(cl.jti, TOKEN_JTI_GEN_LEN);
        if (rs != ECERT_OK)
            return rs;
    }
    ecert_status st = claims_check(&cl, ECERT_E_MALFORMED);
    if (st != ECERT_OK)
        return err_wrap(st, "token_issue");

    char *json = NULL;
    st = claims_json(&cl, &json);
    if (st != ECERT_OK)
        return st;

    size_t jlen = strlen(json);
    size_t clen = BASE64_ENCODED_LEN(jlen);
    /* "v1." + claims + "." + signature; the whole must fit a verifier. */
    size_t cap = TOKEN_PREFIX_LEN + clen + 1 + BASE64_ENCODED_LEN(SM2_SIG_DER_MAX) + 1;
    char *tok = malloc(cap);
    if (!tok) {
        free(json);
        return err_set(ECERT_E_NOMEM, "token: out of memory");
    }
    memcpy(tok, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
    size_t n = TOKEN_PREFIX_LEN;
    n += base64_encode((const uint8_t *)json, jlen, tok + n, BASE64_URL | BASE64_NOPAD);
    free(json);

    uint8_t rs[SM2_SIG_LEN], der[SM2_SIG_DER_MAX];
    st = sm2_sign(trust_key, NULL, 0, tok, n, rs);
    if (st != ECERT_OK) {
        free(tok);
        return st;
    }
    size_t dlen = sm2_sig_to_der(rs, der);
    tok[n++] = '.';
    n += base64_encode(der, dlen, tok + n, BASE64_URL | BASE64_NOPAD);

    if (n > TOKEN_MAX_LEN) {
        free(tok);
        return err_set(ECERT_E_TOO_LONG, "token_issue: token of %zu bytes, at most %d", n,
                       TOKEN_MAX_LEN);
    }
    size_t before = out->len;
    st = buf_append(out, tok, n);
    free(tok);
    if (st != ECERT_OK)
        out->len = before;
    return st;
}

/* ======================================================================== */
/* Verify                                                                   */

static bool is_b64url_char(unsigned char c)
{
    return is_jti_char(c); /* the same alphabet: [0-9A-Za-z_-] */
}

/* Strict unpadded base64url: only the 64 URL-safe symbols (no '=', no
 * whitespace), and the decoder's canonical-trailing-bits rule. */
static ecert_status decode_part(const char *s, size_t n, const char *what, uint8_t *out, size_t cap,
                                size_t *outlen)
{
    if (n == 0)
        return err_set(ECERT_E_TOKEN, "trusted token: empty %s part", what);
    for (size_t i = 0; i < n; i++)
        if (!is_b64url_char((unsigned char)s[i]))
            return err_set(ECERT_E_TOKEN,
                           "trusted token: %s part character %zu is not unpadded base64url", what,
                           i + 1);
    if (base64_decode(s, n, out, cap, outlen, BASE64_URL) != ECERT_OK)
        return err_wrap(ECERT_E_TOKEN, what);
    return ECERT_OK;
}

ecert_status token_verify(const char *tok, size_t len, const struct sm2_key *trust_pub,
                          int64_t now_s, struct token_claims *out)
{
    struct token_claims local;
    struct token_claims *c = out ? out : &local;
    memset(c, 0, sizeof *c);
    if (!tok || !trust_pub)
        return err_set(ECERT_E_ARG, "token_verify: NULL argument");

    /* ---- 1. shape ---- */
    if (len > TOKEN_MAX_LEN)
        return err_set(ECERT_E_TOKEN, "trusted token: %zu bytes, at most %d", len, TOKEN_MAX_LEN);
    if (len < TOKEN_PREFIX_LEN || memcmp(tok, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
        return err_set(ECERT_E_TOKEN, "trusted token: does not start with \"v1.\"");
    const char *claims = tok + TOKEN_PREFIX_LEN;
    const char *dot = memchr(claims, '.', len - TOKEN_PREFIX_LEN);
    if (!dot)
        return err_set(ECERT_E_TOKEN, "trusted token: 2 parts, want 3");
    size_t claims_len = (size_t)(dot - claims);
    const char *sig = dot + 1;
    size_t sig_len = len - (size_t)(sig - tok);
    if (memchr(sig, '.', sig_len))
        return err_set(ECERT_E_TOKEN, "trusted token: more than 3 parts");

    uint8_t der[SM2_SIG_DER_MAX], der2[SM2_SIG_DER_MAX], rs[SM2_SIG_LEN];
    size_t der_len = 0;
    ecert_status st = decode_part(sig, sig_len, "signature", der, sizeof der, &der_len);
    if (st != ECERT_OK)
        return st;
    /* Only the minimal DER that token_issue writes: one token string per
     * signature, so no two spellings of the same token circulate. */
    if (sm2_sig_from_der(der, der_len, rs) != ECERT_OK || sm2_sig_to_der(rs, der2) != der_len ||
        memcmp(der, der2, der_len) != 0)
        return err_set(ECERT_E_TOKEN,
                       "trusted token: signature is not a minimal DER SM2 signature");

    uint8_t *json = malloc(TOKEN_CLAIMS_MAX);
    if (!json)
        return err_set(ECERT_E_NOMEM, "token: out of memory");
    size_t json_len = 0;
    st = decode_part(claims, claims_len, "claims", json, TOKEN_CLAIMS_MAX, &json_len);
    if (st != ECERT_OK)
        goto done;

    /* ---- 2. signature over "v1.<claims part>" ---- */
    st = sm2_verify(trust_pub, NULL, 0, tok, (size_t)(dot - tok), rs);
    if (st == ECERT_E_SIGNATURE) {
        st = err_set(ECERT_E_TOKEN, "trusted token: signature is not by " TOKEN_ISSUER);
        goto done;
    }
    if (st != ECERT_OK)
        goto done;

    /* ---- 3. claims, then the clock ---- */
    st = token_claims_parse((const char *)json, json_len, c);
    if (st != ECERT_OK) {
        err_wrap(st, "trusted token");
        goto done;
    }
    /* Overflow-safe: both are any int64 (now_s from the caller, iat >= 1). */
    if (c->iat > now_s && (uint64_t)c->iat - (uint64_t)now_s > TOKEN_MAX_SKEW_S) {
        st = err_set(ECERT_E_TOKEN, "trusted token: issued more than %d s in the future",
                     TOKEN_MAX_SKEW_S);
        goto done;
    }
    if (now_s >= c->exp) {
        st = err_set(ECERT_E_TOKEN_EXPIRED, "trusted token: expired");
        goto done;
    }

done:
    free(json);
    if (st != ECERT_OK)
        memset(c, 0, sizeof *c);
    return st;
}

int token_permits(const struct token_claims *c, const char *type_code)
{
    if (!c)
        return 0;
    if (c->nperm == 0)
        return 1;
    if (!type_code)
        return 0;
    size_t n = strnlen(type_code, TYPE_CODE_LEN + 1);
    if (n != TYPE_CODE_LEN)
        return 0;
    for (size_t i = 0; i < c->nperm && i < TOKEN_MAX_PERM; i++)
        if (memcmp(c->perm[i], type_code, TYPE_CODE_LEN + 1) == 0)
            return 1;
    return 0;
}
