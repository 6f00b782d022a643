/*
 * trust.c — the trust role (可信访问服务平台): app registration (表8),
 * trusted tokens for natural persons (表9), token revocation, and the lookups
 * provinces make (app keys and states, revoked token ids).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes/ids.h"
#include "common/error.h"
#include "common/secure.h"
#include "crypto/pwhash.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "node/directory.h"
#include "node/fields.h"
#include "node/holdercode.h"
#include "node/node.h"
#include "envelope/envelope.h"
#include "token/token.h"

#define APP_CERT_DAYS 825

static ecert_status put_json(struct call *c, json_t *o)
{
    if (!o)
        return err_set(ECERT_E_NOMEM, "out of memory");
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return err_set(ECERT_E_NOMEM, "out of memory");
    ecert_status st = buf_append_str(&c->result, text);
    free(text);
    return st;
}

static ecert_status load_text(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(ECERT_E_IO, "cannot open %s", path);
    struct buf b = BUF_INIT(1 << 20);
    char chunk[4096];
    size_t n;
    ecert_status st = ECERT_OK;
    while (!st && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        st = buf_append(&b, chunk, n);
    fclose(f);
    if (!st)
        st = buf_detach(&b, out, NULL);
    buf_release_secret(&b);
    return st;
}

ecert_status trust_start(struct node *n)
{
    if (!n->cfg.ca_cert[0] || !n->cfg.ca_key[0])
        return err_set(ECERT_E_MALFORMED, "a trust node needs [trust] ca_cert and ca_key");
    char *key = NULL;
    ecert_status st = load_text(n->cfg.ca_cert, &n->ca_cert_pem);
    if (!st)
        st = load_text(n->cfg.ca_key, &key);
    if (!st)
        st = sm2_key_parse_private(key, strlen(key), &n->ca_key);
    if (key) {
        secure_wipe(key, strlen(key));
        free(key);
    }
    return st ? err_wrap(st, "trust CA") : ECERT_OK;
}

/* ---- 表8 可信应用注册 -------------------------------------------------------
 * The operator allocated appID/appSecret (`ecert trust app allocate`); the
 * app proves possession of its new SM2 key by signing this very envelope with
 * it (node.c verified that signature with the publicKey of the business data
 * before calling us). Unknown app ids and wrong secrets get the same answer
 * (3008) so that ids cannot be probed. */
static ecert_status ep_register(struct call *c)
{
    const char *app_id, *secret, *corp_name, *corp_code, *pub;
    ecert_status st;
    if ((st = fields_str(c->business, "appID", true, 64, &app_id)) ||
        (st = fields_str(c->business, "appSecret", true, 256, &secret)) ||
        (st = fields_str(c->business, "corpName", true, 128, &corp_name)) ||
        (st = fields_str(c->business, "corpCode", true, 18, &corp_code)) ||
        (st = fields_str(c->business, "publicKey", true, 130, &pub)))
        return st;
    if (strcmp(app_id, c->app_id) != 0)
        return err_set(ECERT_E_SECRET, "appID differs from the envelope's appId");
    if ((st = ids_uscc_check(corp_code, strlen(corp_code))))
        return err_wrap(st, "corpCode");
    struct app app;
    st = store_app_get(c->node->store, c->arena, app_id, &app);
    if (st == ECERT_E_NOT_FOUND)
        return err_set(ECERT_E_SECRET, "registration refused: unknown app or wrong secret");
    if (st)
        return st;
    if (app.status == APP_DISABLED)
        return err_set(ECERT_E_APP, "app '%s' is disabled", app_id);
    st = pwhash_check(secret, strlen(secret), app.secret_hash);
    if (st == ECERT_E_SECRET)
        return err_set(ECERT_E_SECRET, "registration refused: unknown app or wrong secret");
    if (st)
        return st;
    if (strcmp(app.corp_code, corp_code) != 0)
        return err_set(ECERT_E_SECRET, "corpCode differs from the one the app was allocated for");
    /* The key was parsed and its signature checked by the pipeline. */
    char pubhex[131];
    sm2_key_public_hex(c->caller_pub, pubhex);
    struct buf cert = BUF_INIT(1 << 16);
    struct x509_app_subject subj = {.app_id = app_id, .corp_name = corp_name,
                                    .corp_code = corp_code};
    if ((st = x509_sm2_app_new(c->node->ca_cert_pem, strlen(c->node->ca_cert_pem),
                               c->node->ca_key, &subj, c->caller_pub, APP_CERT_DAYS, &cert))) {
        buf_release(&cert);
        return st;
    }
    app.public_key = pubhex;
    app.certificate = (const char *)cert.data;
    app.corp_name = corp_name;
    app.status = APP_ACTIVE;
    app.updated_ms = c->now_ms;
    st = store_app_put(c->node->store, &app);
    if (!st)
        st = put_json(c, json_pack("{s:i,s:s,s:s}", "code", 0, "msg", "registered",
                                   "appCertificate", (const char *)cert.data));
    node_log(c->node, "event=app_registered app=%s", app_id);
    buf_release(&cert);
    return st;
}

/* ---- 表9 申领自然人可信访问令牌 -------------------------------------------- */

static ecert_status str_or_int(const json_t *obj, const char *name, bool required, char *out,
                               size_t cap)
{
    const json_t *v = json_object_get(obj, name);
    out[0] = 0;
    if (json_is_integer(v)) {
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
        return ECERT_OK;
    }
    const char *s;
    ecert_status st = fields_str(obj, name, required, cap - 1, &s);
    if (!st && s)
        snprintf(out, cap, "%s", s);
    return st;
}

/* permission: an array of type codes, or one string of codes separated by
 * commas (the standard only says 字符串). */
static ecert_status parse_permission(const json_t *obj, struct token_claims *tc)
{
    const json_t *v = json_object_get(obj, "permission");
    if (!v || json_is_null(v))
        return ECERT_OK;
    char buf[TOKEN_MAX_PERM * 23];
    const char *items[TOKEN_MAX_PERM + 1];
    size_t n = 0;
    if (json_is_array(v)) {
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it) {
            if (!json_is_string(it) || n == TOKEN_MAX_PERM)
                return err_set(ECERT_E_MALFORMED, "permission: at most %d type codes (strings)",
                               TOKEN_MAX_PERM);
            items[n++] = json_string_value(it);
        }
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strlen(s) >= sizeof buf)
            return err_set(ECERT_E_TOO_LONG, "permission too long");
        memcpy(buf, s, strlen(s) + 1);
        for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
             tok = strtok_r(NULL, ", ", &save)) {
            if (n == TOKEN_MAX_PERM)
                return err_set(ECERT_E_MALFORMED, "permission: at most %d type codes",
                               TOKEN_MAX_PERM);
            items[n++] = tok;
        }
    } else {
        return err_set(ECERT_E_MALFORMED, "permission must be an array or a string");
    }
    for (size_t i = 0; i < n; i++) {
        if (strlen(items[i]) != IDS_TYPE_CODE_LEN)
            return err_set(ECERT_E_MALFORMED, "permission: '%.32s' is not a 21-character type code",
                           items[i]);
        memcpy(tc->perm[i], items[i], IDS_TYPE_CODE_LEN + 1);
    }
    tc->nperm = n;
    return ECERT_OK;
}

/* Issues a token for `tc` (iss, iat, exp, jti filled here) and answers. */
static ecert_status answer_token(struct call *c, struct token_claims *tc)
{
    snprintf(tc->iss, sizeof tc->iss, "YRD-TRUST");
    tc->iat = c->now_ms / 1000;
    tc->exp = tc->iat + c->node->cfg.token_lifetime_s;
    ecert_status st = random_token(tc->jti, 32);
    if (st)
        return st;
    struct buf tok = BUF_INIT(TOKEN_MAX_LEN);
    atomic_fetch_add(&c->node->metrics.sm2_sign, 1);
    st = token_issue(tc, c->node->key, &tok);
    if (!st)
        st = put_json(c, json_pack("{s:i,s:s,s:s,s:i}", "code", 0, "msg", "success",
                                   "trustedToken", (const char *)tok.data, "expiresIn",
                                   (int)c->node->cfg.token_lifetime_s));
    buf_release(&tok);
    return st;
}

/* authType 3 (扫描二维码): the holder code goes to the node that issued it,
 * which alone can open it (and marks it used); the token then names that
 * holder. The token is issued to the app that scanned the code — when a
 * province forwards a code/verify, the app it names (requesterApp). */
static ecert_status token_by_code(struct call *c, const char *txn)
{
    (void)txn;
    const char *code;
    ecert_status st = fields_str(c->business, "qrCode", true, HOLDER_CODE_MAX + 256, &code);
    if (st)
        return st;
    struct holder_code peek;
    const char *bare;
    size_t bare_len;
    if ((st = holder_code_peek(code, strlen(code), &peek, &bare, &bare_len)))
        return st;
    const struct directory_node *issuer = directory_find(node_directory(c->node), peek.node);
    if (!issuer || strcmp(issuer->role, "province") != 0)
        return err_set(ECERT_E_MALFORMED, "holder code of unknown node %s", peek.node);
    json_t *q = json_pack("{s:s%}", "qrcode", bare, bare_len);
    char *qs = q ? json_dumps(q, JSON_COMPACT) : NULL;
    json_decref(q);
    if (!qs)
        return err_set(ECERT_E_NOMEM, "out of memory");
    int code_rc = 0;
    struct buf res = BUF_INIT(1u << 16);
    st = node_call(c->node, issuer->url, issuer->pub, "code/resolve", qs,
                   (long)c->node->cfg.peer_timeout_ms, &code_rc, &res);
    free(qs);
    if (st) {
        buf_release(&res);
        return err_set(ECERT_E_UNREACHABLE, "%s, the code's issuer, could not be reached",
                       issuer->id);
    }
    if (code_rc != 0) {
        buf_release(&res);
        return err_set((ecert_status)code_rc, "%s refused the holder code", issuer->id);
    }
    json_t *h = json_loadb((const char *)res.data, res.len, 0, NULL);
    buf_release_secret(&res);
    const char *sub = json_string_value(json_object_get(h, "sub"));
    const char *sty = json_string_value(json_object_get(h, "sty"));
    const char *name = json_string_value(json_object_get(h, "name"));
    struct token_claims tc;
    memset(&tc, 0, sizeof tc);
    if (!sub || !sty || !name) {
        json_decref(h);
        return err_set(ECERT_E_INTERNAL, "the issuer's answer lacks the holder");
    }
    snprintf(tc.sub, sizeof tc.sub, "%s", sub);
    snprintf(tc.sty, sizeof tc.sty, "%s", sty);
    snprintf(tc.name, sizeof tc.name, "%s", name);
    json_decref(h);
    tc.aty = 3;
    snprintf(tc.app, sizeof tc.app, "%s", c->requester_app ? c->requester_app : c->app_id);
    st = answer_token(c, &tc);
    secure_wipe(&tc, sizeof tc);
    return st;
}

static ecert_status ep_token_person(struct call *c)
{
    char auth[8], idtype[8];
    const char *txn, *name, *idno_ct;
    ecert_status st;
    if ((st = fields_str(c->business, "transactionId", true, 64, &txn)) ||
        (st = str_or_int(c->business, "authType", true, auth, sizeof auth)) ||
        (st = fields_str(c->business, "name", false, 64, &name)) ||
        (st = str_or_int(c->business, "idType", false, idtype, sizeof idtype)) ||
        (st = fields_str(c->business, "idNo", false, 1024, &idno_ct)))
        return st;
    if (strcmp(auth, "3") == 0)
        return token_by_code(c, txn);
    if (strcmp(auth, "1") != 0 && strcmp(auth, "2") != 0)
        return err_set(ECERT_E_MALFORMED, "authType must be 1 (生物识别), 2 (读取身份证件) or 3");
    /* 表9: idType {1: 身份证} — the holder code type 111 — is required for 1
     * and 2; the GB/T 36903 code "111" itself is accepted too. */
    if (!idtype[0])
        return err_set(ECERT_E_MISSING, "idType is required for authType 1 and 2");
    if (strcmp(idtype, "1") != 0 && strcmp(idtype, "111") != 0)
        return err_set(ECERT_E_MALFORMED, "idType must be 1 (身份证)");
    if (!idno_ct)
        return err_set(ECERT_E_MISSING, "idNo is required for authType 1 and 2");
    /* idNo travels SM2-encrypted to the trust key, as the standard's SDK
     * does, inside the already encrypted business data. */
    struct buf idno = BUF_INIT(256);
    atomic_fetch_add(&c->node->metrics.sm2_decrypt, 1);
    st = sm2_decrypt(c->node->key, (const uint8_t *)idno_ct, strlen(idno_ct), 0, &idno);
    if (st) {
        buf_release_secret(&idno);
        return err_set(ECERT_E_DECRYPT, "idNo is not SM2-encrypted to the trust key");
    }
    char canon[IDS_CODE_LEN + 1];
    st = ids_citizen_normalize((const char *)idno.data, idno.len, canon);
    buf_release_secret(&idno);
    if (st)
        return err_wrap(st, "idNo");
    struct token_claims tc;
    memset(&tc, 0, sizeof tc);
    snprintf(tc.sub, sizeof tc.sub, "%s", canon);
    snprintf(tc.sty, sizeof tc.sty, "111");
    snprintf(tc.name, sizeof tc.name, "%s", name ? name : "");
    tc.aty = auth[0] - '0';
    snprintf(tc.app, sizeof tc.app, "%s", c->app_id);
    if ((st = parse_permission(c->business, &tc)))
        return st;
    st = answer_token(c, &tc);
    secure_wipe(canon, sizeof canon);
    secure_wipe(&tc, sizeof tc);
    return st;
}

/* Revocation: the app a token was issued to may revoke it (a holder logs out,
 * a window session ends). Provinces pull the list. */
static ecert_status ep_token_revoke(struct call *c)
{
    const char *tok;
    ecert_status st = fields_str(c->business, "trustedToken", true, TOKEN_MAX_LEN, &tok);
    if (st)
        return st;
    struct token_claims tc;
    st = token_verify(tok, strlen(tok), c->node->key, c->now_ms / 1000, &tc);
    if (st == ECERT_E_TOKEN_EXPIRED)
        return put_json(c, json_pack("{s:b}", "revoked", 1)); /* nothing left to revoke */
    if (st)
        return st;
    if (strcmp(tc.app, c->app_id) != 0)
        return err_set(ECERT_E_TOKEN, "only the app the token was issued to may revoke it");
    if ((st = store_token_revoke(c->node->store, tc.jti, tc.exp)))
        return st;
    return put_json(c, json_pack("{s:b,s:s}", "revoked", 1, "jti", tc.jti));
}

static ecert_status ep_token_revoked(struct call *c)
{
    const char **jtis = NULL;
    size_t n = 0;
    ecert_status st =
        store_token_revoked_list(c->node->store, c->arena, c->now_ms / 1000, &jtis, &n);
    if (st)
        return st;
    json_t *list = json_array();
    /* The expiry is not in the list API: a province keeps each id for the
     * longest token lifetime, after which the token is dead anyway. */
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s,s:I}", "jti", jtis[i], "exp",
                                              (json_int_t)(c->now_ms / 1000 +
                                                           c->node->cfg.token_lifetime_s)));
    return put_json(c, json_pack("{s:o}", "revoked", list));
}

static ecert_status ep_app_lookup(struct call *c)
{
    const char *app_id;
    ecert_status st = fields_str(c->business, "appId", true, 64, &app_id);
    if (st)
        return st;
    struct app app;
    st = store_app_get(c->node->store, c->arena, app_id, &app);
    if (st == ECERT_E_NOT_FOUND)
        return err_set(ECERT_E_APP, "app '%s' is not registered", app_id);
    if (st)
        return st;
    return put_json(c, json_pack("{s:s,s:i,s:s,s:s}", "appId", app.app_id, "status", app.status,
                                 "publicKey", app.public_key ? app.public_key : "", "province",
                                 app.province ? app.province : ""));
}

static const struct endpoint endpoints[] = {
    {"trust/app/register", ROLE_TRUST, ep_register, EP_SELF_KEYED},
    {"trust/token/person", ROLE_TRUST, ep_token_person, 0},
    {"trust/token/revoke", ROLE_TRUST, ep_token_revoke, 0},
    {"trust/token/revoked", ROLE_TRUST, ep_token_revoked, EP_NODE_ONLY},
    {"trust/app/lookup", ROLE_TRUST, ep_app_lookup, EP_NODE_ONLY},
};

const struct endpoint *trust_endpoints(size_t *n)
{
    *n = sizeof endpoints / sizeof endpoints[0];
    return endpoints;
}

/* ---- operator side --------------------------------------------------------*/

ecert_status trust_app_allocate(struct store *s, const char *corp_name, const char *corp_code,
                                const char *province, char app_id[TRUST_APP_ID_LEN + 1],
                                char secret[TRUST_SECRET_LEN + 1])
{
    ecert_status st;
    if ((st = ids_uscc_check(corp_code, strlen(corp_code))))
        return err_wrap(st, "corp code");
    size_t nl = strlen(corp_name);
    if (nl == 0 || nl > 256)
        return err_set(ECERT_E_MALFORMED, "corp name must be 1-256 bytes");
    /* appId: "A" + 9 random digits; secret: 32 characters of [0-9a-z]
     * (about 165 bits). Retry on the (unlikely) clash with an existing id. */
    for (int tries = 0; tries < 16; tries++) {
        uint8_t r[16];
        if ((st = random_bytes(r, sizeof r)))
            return st;
        app_id[0] = 'A';
        for (int i = 0; i < TRUST_APP_ID_LEN - 1; i++)
            app_id[1 + i] = (char)('0' + r[i] % 10);
        app_id[TRUST_APP_ID_LEN] = 0;
        struct arena a;
        struct app existing;
        arena_init(&a, 1 << 16);
        st = store_app_get(s, &a, app_id, &existing);
        arena_release(&a);
        if (st == ECERT_E_NOT_FOUND)
            break;
        if (st)
            return st;
    }
    if (st != ECERT_E_NOT_FOUND)
        return err_set(ECERT_E_INTERNAL, "could not find a free app id");
    char hash[PWHASH_MAX];
    if ((st = random_token(secret, TRUST_SECRET_LEN)) ||
        (st = pwhash_make(secret, TRUST_SECRET_LEN, hash)))
        return st;
    struct app app = {.app_id = app_id,
                      .secret_hash = hash,
                      .corp_name = corp_name,
                      .corp_code = corp_code,
                      .public_key = "",
                      .certificate = "",
                      .province = province ? province : "",
                      .status = APP_ALLOCATED,
                      .updated_ms = envelope_now_ms()};
    return store_app_put(s, &app);
}
