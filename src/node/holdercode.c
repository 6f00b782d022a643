#include "node/holdercode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/codec.h"
#include "common/error.h"
#include "common/secure.h"
#include "crypto/random.h"
#include "crypto/sm3.h"
#include "crypto/sm4.h"

#define PAYLOAD_MAX 768

ecert_status holder_code_key(const struct sm2_key *node_key, uint8_t key[HOLDER_CODE_KEY_LEN])
{
    uint8_t d[SM2_SCALAR_LEN], mac[SM3_LEN];
    static const char label[] = "ecert holder code key v1";
    ecert_status st = sm2_key_private_bytes(node_key, d);
    if (!st)
        st = hmac_sm3(d, sizeof d, label, sizeof label - 1, mac);
    if (!st)
        memcpy(key, mac, HOLDER_CODE_KEY_LEN);
    secure_wipe(d, sizeof d);
    secure_wipe(mac, sizeof mac);
    return st;
}

/* The associated data binds the ciphertext to its code's public fields. */
static int make_aad(const char *node, const char *cid, int64_t exp, char *out, size_t cap)
{
    return snprintf(out, cap, HOLDER_CODE_PREFIX ".%s.%s.%lld", node, cid, (long long)exp);
}

ecert_status holder_code_issue(const struct holder_code *c, const uint8_t key[HOLDER_CODE_KEY_LEN],
                               const struct sm2_key *node_key, struct buf *out)
{
    json_t *holder = json_pack("{s:s,s:s,s:s}", "sub", c->sub, "sty", c->sty, "name", c->name);
    char *pt = holder ? json_dumps(holder, JSON_COMPACT) : NULL;
    json_decref(holder);
    if (!pt)
        return err_set(ECERT_E_NOMEM, "out of memory");
    size_t ptlen = strlen(pt);
    uint8_t blob[12 + 512 + SM4_GCM_TAG];
    char aad[160];
    ecert_status st = ECERT_OK;
    if (ptlen > 512)
        st = err_set(ECERT_E_TOO_LONG, "holder data too long for a code");
    int al = make_aad(c->node, c->cid, c->exp, aad, sizeof aad);
    if (!st)
        st = random_bytes(blob, 12);
    if (!st)
        st = sm4_gcm_seal(key, blob, (const uint8_t *)aad, (size_t)al, (const uint8_t *)pt, ptlen,
                          blob + 12, blob + 12 + ptlen);
    secure_wipe(pt, ptlen);
    free(pt);
    if (st)
        return st;
    char ct[BASE64_ENCODED_LEN(sizeof blob) + 1];
    base64_encode(blob, 12 + ptlen + SM4_GCM_TAG, ct, BASE64_URL | BASE64_NOPAD);
    json_t *payload = json_pack("{s:i,s:s,s:I,s:s}", "v", 1, "cid", c->cid, "exp",
                                (json_int_t)c->exp, "ct", ct);
    char *ptext = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(payload);
    if (!ptext)
        return err_set(ECERT_E_NOMEM, "out of memory");
    char p64[BASE64_ENCODED_LEN(PAYLOAD_MAX) + 1];
    size_t pl = strlen(ptext);
    if (pl > PAYLOAD_MAX) {
        free(ptext);
        return err_set(ECERT_E_TOO_LONG, "holder code payload too long");
    }
    base64_encode((const uint8_t *)ptext, pl, p64, BASE64_URL | BASE64_NOPAD);
    free(ptext);
    size_t start = out->len;
    st = buf_printf(out, HOLDER_CODE_PREFIX ".%s.%s", c->node, p64);
    uint8_t rs[SM2_SIG_LEN], der[SM2_SIG_DER_MAX];
    if (!st)
        st = sm2_sign(node_key, NULL, 0, out->data + start, out->len - start, rs);
    if (!st) {
        size_t dl = sm2_sig_to_der(rs, der);
        char s64[BASE64_ENCODED_LEN(SM2_SIG_DER_MAX) + 1];
        base64_encode(der, dl, s64, BASE64_URL | BASE64_NOPAD);
        st = buf_printf(out, ".%s", s64);
    }
    return st;
}

ecert_status holder_code_peek(const char *text, size_t len, struct holder_code *out,
                              const char **code_out, size_t *code_len)
{
    memset(out, 0, sizeof *out);
    if (len > HOLDER_CODE_MAX + 256)
        return err_set(ECERT_E_TOO_LONG, "holder code too long");
    /* URL form: https://host/c/<code> (a query or fragment after it is cut). */
    if (len > 8 && (strncmp(text, "https://", 8) == 0 || strncmp(text, "http://", 7) == 0)) {
        const char *c = memmem(text, len, "/c/", 3);
        if (!c)
            return err_set(ECERT_E_MALFORMED, "holder code URL has no /c/<code> part");
        len -= (size_t)(c + 3 - text);
        text = c + 3;
        for (size_t i = 0; i < len; i++)
            if (text[i] == '?' || text[i] == '#') {
                len = i;
                break;
            }
    }
    if (len > HOLDER_CODE_MAX)
        return err_set(ECERT_E_TOO_LONG, "holder code too long");
    const char *part[4];
    size_t plen[4], np = 0;
    const size_t prefix = sizeof HOLDER_CODE_PREFIX; /* "YRDC1." */
    if (len <= prefix || memcmp(text, HOLDER_CODE_PREFIX ".", prefix) != 0)
        return err_set(ECERT_E_MALFORMED, "not a holder code (no %s prefix)", HOLDER_CODE_PREFIX);
    const char *p = text + prefix, *end = text + len;
    while (p <= end && np < 4) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        part[np] = p;
        plen[np] = dot ? (size_t)(dot - p) : (size_t)(end - p);
        np++;
        if (!dot)
            break;
        p = dot + 1;
    }
    if (np != 3 || plen[0] == 0 || plen[0] >= sizeof out->node || plen[1] == 0 || plen[2] == 0)
        return err_set(ECERT_E_MALFORMED, "holder code must be %s.<node>.<payload>.<signature>",
                       HOLDER_CODE_PREFIX);
    for (size_t i = 0; i < plen[0]; i++) {
        char ch = part[0][i];
        if (!((ch >= 'A' && ch <= 'Z') || ch == '-'))
            return err_set(ECERT_E_MALFORMED, "holder code: bad node id");
    }
    memcpy(out->node, part[0], plen[0]);
    uint8_t pj[PAYLOAD_MAX];
    size_t pjl = 0;
    if (base64_decode(part[1], plen[1], pj, sizeof pj, &pjl, BASE64_URL) != ECERT_OK)
        return err_set(ECERT_E_MALFORMED, "holder code: payload is not base64url");
    json_t *o = json_loadb((const char *)pj, pjl, JSON_REJECT_DUPLICATES, NULL);
    const char *cid = json_string_value(json_object_get(o, "cid"));
    json_t *exp = json_object_get(o, "exp");
    if (!o || !cid || strlen(cid) >= sizeof out->cid || !json_is_integer(exp) ||
        json_integer_value(json_object_get(o, "v")) != 1 ||
        !json_is_string(json_object_get(o, "ct"))) {
        json_decref(o);
        return err_set(ECERT_E_MALFORMED, "holder code: malformed payload");
    }
    memcpy(out->cid, cid, strlen(cid) + 1);
    out->exp = json_integer_value(exp);
    json_decref(o);
    *code_out = text;
    *code_len = len;
    return ECERT_OK;
}

ecert_status holder_code_open(const char *text, size_t len, const uint8_t key[HOLDER_CODE_KEY_LEN],
                              const struct sm2_key *node_key, int64_t now_s,
                              struct holder_code *out)
{
    const char *code;
    size_t clen;
    ecert_status st = holder_code_peek(text, len, out, &code, &clen);
    if (st)
        return st;
    const char *lastdot = NULL;
    for (size_t i = clen; i > 0; i--)
        if (code[i - 1] == '.') {
            lastdot = code + i - 1;
            break;
        }
    size_t signed_len = (size_t)(lastdot - code);
    uint8_t der[SM2_SIG_DER_MAX + 8], rs[SM2_SIG_LEN];
    size_t dl = 0;
    if (base64_decode(lastdot + 1, clen - signed_len - 1, der, sizeof der, &dl, BASE64_URL) ||
        sm2_sig_decode_bytes(der, dl, rs) ||
        sm2_verify(node_key, NULL, 0, code, signed_len, rs) != ECERT_OK)
        return err_set(ECERT_E_SIGNATURE, "holder code signature does not verify");
    if (now_s >= out->exp)
        return err_set(ECERT_E_CODE_USED, "holder code expired");
    /* Second pass over the payload, now trusted, for the ciphertext. */
    const char *p = code + sizeof HOLDER_CODE_PREFIX + strlen(out->node) + 1;
    size_t pl = (size_t)(lastdot - p);
    uint8_t pj[PAYLOAD_MAX];
    size_t pjl = 0;
    if (base64_decode(p, pl, pj, sizeof pj, &pjl, BASE64_URL))
        return err_set(ECERT_E_MALFORMED, "holder code: payload is not base64url");
    json_t *o = json_loadb((const char *)pj, pjl, 0, NULL);
    const char *ct = json_string_value(json_object_get(o, "ct"));
    uint8_t blob[12 + 512 + SM4_GCM_TAG], plain[512];
    size_t bl = 0;
    st = ECERT_OK;
    if (!ct || base64_decode(ct, strlen(ct), blob, sizeof blob, &bl, BASE64_URL) ||
        bl < 12 + SM4_GCM_TAG)
        st = err_set(ECERT_E_MALFORMED, "holder code: bad ciphertext");
    json_decref(o);
    if (st)
        return st;
    char aad[160];
    int al = make_aad(out->node, out->cid, out->exp, aad, sizeof aad);
    size_t ptl = bl - 12 - SM4_GCM_TAG;
    if (sm4_gcm_open(key, blob, (const uint8_t *)aad, (size_t)al, blob + 12, ptl, blob + 12 + ptl,
                     plain) != ECERT_OK)
        return err_set(ECERT_E_MALFORMED, "holder code does not open with this node's key");
    json_t *h = json_loadb((const char *)plain, ptl, 0, NULL);
    secure_wipe(plain, sizeof plain);
    const char *sub = json_string_value(json_object_get(h, "sub"));
    const char *sty = json_string_value(json_object_get(h, "sty"));
    const char *name = json_string_value(json_object_get(h, "name"));
    if (!sub || !sty || !name || strlen(sub) >= sizeof out->sub ||
        strlen(sty) >= sizeof out->sty || strlen(name) >= sizeof out->name) {
        json_decref(h);
        return err_set(ECERT_E_MALFORMED, "holder code: bad holder data");
    }
    snprintf(out->sub, sizeof out->sub, "%s", sub);
    snprintf(out->sty, sizeof out->sty, "%s", sty);
    snprintf(out->name, sizeof out->name, "%s", name);
    json_decref(h);
    return ECERT_OK;
}
