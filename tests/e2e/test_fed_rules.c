/*
 * End to end, the federation's rules (SPEC §4.1, §6): all six nodes as real
 * ecertd processes.
 *
 *   - holder codes (亮码, 表7): issued by the holder's app at YRD-JS, verified
 *     by a window in another province — the holder, the federation-wide
 *     certificate list and an authType 3 token for the window; the URL form;
 *     trust/token/person with authType 3; reuse (4003), tampering (2002 or
 *     1004, and the code survives the forgeries), unknown or non-province
 *     issuers (1004), expiry (4003) both of a code left to age past
 *     code_lifetime_s = 10 and of a re-signed copy of a live code; a
 *     province down (partial list, `unavailable`), the issuer down (5001 at
 *     once, and the code is not spent);
 *   - the owner applies SPEC §4.1 itself: by-id requests that Jiangsu passes
 *     on unjudged are refused by Shanghai (3005, 3006, 3004, 3007, 3003) and
 *     recorded there with the app and the requesting province; node-to-node
 *     requests sent straight to Shanghai as node:YRD-JS with a scene, type or
 *     token Shanghai refuses get Shanghai's signed refusal;
 *   - published lists: `ecert directory publish` reaches every node within
 *     refresh_s = 1 and every province applies it (fan-out and owner); a
 *     badly signed or older document is refused — by the trust node reading
 *     its file and by every node fetching from a trust node impersonator —
 *     and the last good one stays in force; a newer genuine one is applied.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "common/codec.h"
#include "crypto/random.h"
#include "node/directory.h"
#include "node/holdercode.h"
#include "token/token.h"
#include "util_fed2.h"

#define HUB "YRD-HUB"
#define SH "YRD-SH"
#define JS "YRD-JS"
#define ZJ "YRD-ZJ"
#define AH "YRD-AH"
#define TRUST "YRD-TRUST"
#define ALL "E2E-ALL-0001"
#define NEW_SCENE "E2E-NEW-0001"

#define CODE_LIFETIME_S 10
#define REFRESH_S 1
/* A published change reaches the trust node within refresh_s and every other
 * node within another refresh_s; the rest is slack for slow builds. */
#define PUBLISH_WAIT_MS (2 * REFRESH_S * 1000 + 4000)

static struct fed *F;
static struct fed2_holder P, Q;        /* two persons, one certificate per province each */
static char tok_p[FED_TOKEN_MAX];      /* P's token, issued to the JS app (the holder's app) */
static char tok_q[FED_TOKEN_MAX];
static char tok_name[192];             /* the holder name P's token carries */
static const char *const provinces[] = {SH, JS, ZJ, AH};
static ecert_client *app[4];           /* each province's app at its own province */
static ecert_client *trust_ah;         /* AH's app at the trust node */
static struct sm2_key *app_key[4];     /* the same apps' keys, for raw envelopes */
static struct sm2_key *js_node_key;    /* YRD-JS's own key: node-to-node requests */
static char aging_code[HOLDER_CODE_MAX + 1]; /* issued at start, verified once expired */
static int64_t aging_issued_ms;
static struct fed2_fake *fake;         /* a trust node impersonator, while it runs */
static char *good_doc;                 /* the directory the trust node should restart with */

static int prov(const char *id)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(provinces[i], id) == 0)
            return i;
    fail_msg("no province %s", id);
    return -1;
}

static const char *app_id(const char *province)
{
    return json_string_value(json_object_get(fed_app(F, province), "appId"));
}

static char *dump(json_t *o)
{
    assert_non_null(o);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_non_null(s);
    return s;
}

static json_t *purpose_json(const char *scene, const char *biz)
{
    ecert_purpose p;
    fed_purpose(&p, scene, biz);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "UseFor", p.use_for, "itemName", p.item_name,
                     "itemCode", p.item_code, "itemOrg", p.item_org, "operator", p.operator_name,
                     "bizNum", p.biz_num);
}

/* ---- holder codes ------------------------------------------------------------------------- */

/* ecert_code_issue by the holder's app (JS) with P's token; the code in
 * `out`, the whole answer in *result when asked. */
static void issue_code(char out[HOLDER_CODE_MAX + 1], json_t **result)
{
    int code = -1;
    char *res = NULL, *msg = NULL;
    assert_int_equal(ecert_code_issue(app[prov(JS)], tok_p, &code, &res, &msg), ECERT_OK);
    if (code != 0)
        print_message("code/issue: %d %s\n", code, msg ? msg : "");
    ecert_free(msg);
    assert_int_equal(code, 0);
    json_t *r = json_loads(res, 0, NULL);
    ecert_free(res);
    const char *qr = json_string_value(json_object_get(r, "qrcode"));
    assert_non_null(qr);
    assert_true(strlen(qr) <= HOLDER_CODE_MAX);
    snprintf(out, HOLDER_CODE_MAX + 1, "%s", qr);
    if (result)
        *result = r;
    else
        json_decref(r);
}

/* code/verify at `province` with that province's app, as a raw envelope so
 * that the HTTP status is checked against SPEC §5 too. The result for 0. */
static json_t *verify_code(const char *province, const char *code, const char *biz, int want)
{
    json_t *o = purpose_json(ALL, biz);
    json_object_set_new(o, "qrcode", json_string(code));
    char *business = dump(o);
    struct fed_raw_req rq = {.node = province,
                             .endpoint = "code/verify",
                             .app_id = app_id(province),
                             .sign_key = app_key[prov(province)],
                             .business = business};
    struct fed_reply r;
    assert_int_equal(fed_raw(F, &rq, &r), 0);
    free(business);
    if (r.code != want)
        print_message("code/verify at %s: want %d, got %d (%s)\n", province, want, r.code, r.msg);
    assert_int_equal(r.code, want);
    assert_int_equal(r.http, fed_spec_http(want));
    assert_true(r.is_signed);
    return r.result;
}

/* The token the trust node issued for a scanned code: authType 3, P, and
 * the app that scanned it. */
static void expect_code_token(const char *token, const char *scanning_app)
{
    struct token_claims c;
    assert_non_null(token);
    assert_int_equal(token_verify(token, strlen(token), fed_node(F, TRUST)->pub, time(NULL), &c),
                     ECERT_OK);
    assert_int_equal(c.aty, 3);
    assert_string_equal(c.sub, P.code);
    assert_string_equal(c.sty, "111");
    assert_string_equal(c.app, scanning_app);
}

static void test_code_across_provinces(void **state)
{
    (void)state;
    char code[HOLDER_CODE_MAX + 1];
    json_t *issued = NULL;
    issue_code(code, &issued);
    /* The code names its issuer; the URL is the issuer's public URL; the QR
     * image is a PNG; the lifetime is the configured one. */
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%s.%s.", HOLDER_CODE_PREFIX, JS);
    assert_memory_equal(code, prefix, strlen(prefix));
    assert_int_equal(json_integer_value(json_object_get(issued, "expiresIn")), CODE_LIFETIME_S);
    char url[HOLDER_CODE_MAX + 128];
    snprintf(url, sizeof url, "%s/c/%s", fed_node(F, JS)->url, code);
    assert_string_equal(json_string_value(json_object_get(issued, "url")), url);
    const char *png64 = json_string_value(json_object_get(issued, "png"));
    assert_non_null(png64);
    size_t n = 0, cap = strlen(png64);
    uint8_t *png = malloc(cap + 1);
    assert_non_null(png);
    assert_int_equal(base64_decode(png64, cap, png, cap + 1, &n, 0), ECERT_OK);
    assert_true(n > 100);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    free(png);
    json_decref(issued);

    /* A window in Zhejiang scans it (ecert_code_verify, as an outside
     * client would). */
    long js_mark = fed2_log_mark(F, JS);
    ecert_purpose p;
    fed_purpose(&p, ALL, "E2E-C-VERIFY");
    int rc = -1;
    char *res = NULL, *msg = NULL;
    assert_int_equal(ecert_code_verify(app[prov(ZJ)], code, &p, &rc, &res, &msg), ECERT_OK);
    if (rc != 0)
        print_message("code/verify: %d %s\n", rc, msg ? msg : "");
    ecert_free(msg);
    assert_int_equal(rc, 0);
    json_t *r = json_loads(res, 0, NULL);
    ecert_free(res);
    assert_non_null(r);
    const json_t *ui = json_object_get(r, "userinfo");
    assert_string_equal(json_string_value(json_object_get(ui, "idNo")), P.code);
    assert_string_equal(json_string_value(json_object_get(ui, "name")), tok_name);
    assert_string_equal(json_string_value(json_object_get(ui, "idType")), "111");
    /* The holder's certificates of all four provinces. */
    const json_t *list = json_object_get(r, "certificatelist");
    assert_int_equal(json_array_size(list), P.ncerts);
    for (size_t i = 0; i < P.ncerts; i++) {
        const json_t *item = fed2_find_id(list, P.certs[i].id);
        assert_non_null(item);
        assert_memory_equal(json_string_value(json_object_get(item, "CertificateAreaCode")),
                            fed2_region(F, P.certs[i].province), 2);
    }
    assert_true(json_array_size(json_object_get(r, "unavailable")) == 0);
    /* The token is the window's, for P, authType 3 — and it works there. */
    const char *t = json_string_value(json_object_get(r, "trustedToken"));
    expect_code_token(t, app_id(ZJ));
    struct fed2_answer a;
    fed2_by_id(app[prov(ZJ)], true, fed2_cert_in(&P, SH)->id, t, ALL, "E2E-C-USE-TOKEN", &a);
    assert_int_equal(a.code, 0);
    fed2_answer_release(&a);
    json_decref(r);
    /* The issuer, asked by the trust node, opened it. */
    assert_int_equal(fed2_log_count(F, JS, js_mark, "path=/api/v1/code/resolve",
                                    "app=node:YRD-TRUST code=0"),
                     1);

    /* Single use: scanned again in Anhui, the issuer refuses it. */
    js_mark = fed2_log_mark(F, JS);
    assert_null(verify_code(AH, code, "E2E-C-REUSE", 4003));
    assert_int_equal(fed2_log_count(F, JS, js_mark, "path=/api/v1/code/resolve", "code=4003"), 1);
}

static void test_code_url_and_trust(void **state)
{
    (void)state;
    /* The URL form (as 随申码), scanned in Shanghai. */
    char code[HOLDER_CODE_MAX + 1];
    json_t *issued = NULL;
    issue_code(code, &issued);
    char url[HOLDER_CODE_MAX + 160];
    snprintf(url, sizeof url, "%s", json_string_value(json_object_get(issued, "url")));
    json_decref(issued);
    json_t *r = verify_code(SH, url, "E2E-C-URL", 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "userinfo"), "idNo")),
                        P.code);
    assert_int_equal(json_array_size(json_object_get(r, "certificatelist")), P.ncerts);
    json_decref(r);

    /* 表9 authType 3 straight at the trust node, by Anhui's app. */
    issue_code(code, NULL);
    char *biz = dump(json_pack("{s:s,s:s,s:s}", "transactionId", "E2E-C-TRUST-3", "authType", "3",
                               "qrCode", code));
    struct fed2_answer a;
    fed2_call(trust_ah, "trust/token/person", biz, &a);
    free(biz);
    assert_int_equal(a.code, 0);
    expect_code_token(json_string_value(json_object_get(a.result, "trustedToken")), app_id(AH));
    fed2_answer_release(&a);
}

/* `code` with the character at `at` replaced by another base64url one. */
static void flip(char *code, size_t at)
{
    code[at] = code[at] == 'A' ? 'B' : 'A';
}

static void test_code_tampered_and_unknown(void **state)
{
    (void)state;
    char code[HOLDER_CODE_MAX + 1], bad[HOLDER_CODE_MAX + 64];
    issue_code(code, NULL);
    const char *payload = code + strlen(HOLDER_CODE_PREFIX) + 1 + strlen(JS) + 1;
    const char *sig = strrchr(code, '.') + 1;
    size_t pay_at = (size_t)(payload - code), sig_at = (size_t)(sig - code);

    /* A character of the payload, of the signature; the last character. */
    const size_t spots[] = {pay_at + 10, pay_at + (size_t)(sig - payload) / 2, sig_at + 5,
                            strlen(code) - 1};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        snprintf(bad, sizeof bad, "%s", code);
        flip(bad, spots[i]);
        char biz[32];
        snprintf(biz, sizeof biz, "E2E-C-TAMPER-%zu", i);
        json_t *o = purpose_json(ALL, biz);
        json_object_set_new(o, "qrcode", json_string(bad));
        char *business = dump(o);
        struct fed2_answer a;
        fed2_call(app[prov(ZJ)], "code/verify", business, &a);
        free(business);
        if (a.code != 2002 && a.code != 1004)
            print_message("tampered at %zu: %d %s\n", spots[i], a.code, a.msg);
        assert_true(a.code == 2002 || a.code == 1004);
        assert_null(a.result);
    }
    /* Moved to another (real) province: that province's key does not sign it. */
    snprintf(bad, sizeof bad, "%s.%s.%s", HOLDER_CODE_PREFIX, SH, payload);
    assert_null(verify_code(ZJ, bad, "E2E-C-MOVED", 2002));
    /* Cut: no signature part. */
    snprintf(bad, sizeof bad, "%.*s", (int)(sig_at - 1), code);
    assert_null(verify_code(ZJ, bad, "E2E-C-CUT", 1004));
    /* None of the forgeries used up the genuine code. */
    json_decref(verify_code(ZJ, code, "E2E-C-AFTER-TAMPER", 0));

    /* Unknown issuers: a node that does not exist, a node that is not a
     * province; and things that are not codes at all. */
    snprintf(bad, sizeof bad, "%s.YRD-XX.%s", HOLDER_CODE_PREFIX, payload);
    assert_null(verify_code(ZJ, bad, "E2E-C-UNKNOWN", 1004));
    snprintf(bad, sizeof bad, "%s.%s.%s", HOLDER_CODE_PREFIX, HUB, payload);
    assert_null(verify_code(ZJ, bad, "E2E-C-HUB", 1004));
    assert_null(verify_code(ZJ, "hello, window", "E2E-C-NOCODE", 1004));
    snprintf(bad, sizeof bad, "%s/x/%s", fed_node(F, JS)->url, code);
    assert_null(verify_code(ZJ, bad, "E2E-C-BADURL", 1004));
}

static void test_code_degraded(void **state)
{
    (void)state;
    char code[HOLDER_CODE_MAX + 1];
    issue_code(code, NULL);

    /* A province other than the issuer down: the code still verifies, the
     * list is partial and says so. */
    assert_int_equal(fed_stop_node(F, AH), 0);
    json_t *r = verify_code(ZJ, code, "E2E-C-AH-DOWN", 0);
    const json_t *list = json_object_get(r, "certificatelist");
    assert_int_equal(json_array_size(list), P.ncerts - 1);
    assert_null(fed2_find_id(list, fed2_cert_in(&P, AH)->id));
    const json_t *un = json_object_get(r, "unavailable");
    assert_int_equal(json_array_size(un), 1);
    assert_string_equal(json_string_value(json_array_get(un, 0)), AH);
    json_decref(r);
    assert_int_equal(fed2_start_node(F, AH), 0);

    /* The issuer down: nobody else can open its codes — 5001, at once —
     * and the code is not spent: once the issuer is back, it verifies. */
    issue_code(code, NULL);
    assert_int_equal(fed_stop_node(F, JS), 0);
    int64_t t0 = fed2_now_ms();
    assert_null(verify_code(ZJ, code, "E2E-C-ISSUER-DOWN", 5001));
    assert_true(fed2_now_ms() - t0 < 2000);
    assert_int_equal(fed2_start_node(F, JS), 0);
    json_decref(verify_code(ZJ, code, "E2E-C-ISSUER-BACK", 0));
}

/* The payload part of a code, decoded: {"v","cid","exp","ct"}. */
static json_t *code_payload(const char *code)
{
    const char *p = code + strlen(HOLDER_CODE_PREFIX) + 1;
    p = strchr(p, '.') + 1;
    const char *end = strchr(p, '.');
    uint8_t raw[1024];
    size_t n = 0;
    assert_int_equal(base64_decode(p, (size_t)(end - p), raw, sizeof raw, &n, BASE64_URL),
                     ECERT_OK);
    json_t *j = json_loadb((const char *)raw, n, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_code_expiry(void **state)
{
    (void)state;
    /* A live, unused code re-signed by its issuer's key with an expiry in
     * the past: refused as expired; the live one itself still works. */
    char code[HOLDER_CODE_MAX + 1];
    issue_code(code, NULL);
    json_t *pl = code_payload(code);
    struct holder_code hc;
    memset(&hc, 0, sizeof hc);
    snprintf(hc.node, sizeof hc.node, "%s", JS);
    snprintf(hc.cid, sizeof hc.cid, "%s", json_string_value(json_object_get(pl, "cid")));
    hc.exp = (int64_t)time(NULL) - 1;
    snprintf(hc.sub, sizeof hc.sub, "%s", P.code);
    snprintf(hc.sty, sizeof hc.sty, "111");
    snprintf(hc.name, sizeof hc.name, "%s", P.name);
    assert_true(json_integer_value(json_object_get(pl, "exp")) > hc.exp);
    json_decref(pl);
    uint8_t key[HOLDER_CODE_KEY_LEN];
    assert_int_equal(holder_code_key(js_node_key, key), ECERT_OK);
    struct buf old = BUF_INIT(HOLDER_CODE_MAX);
    assert_int_equal(holder_code_issue(&hc, key, js_node_key, &old), ECERT_OK);
    assert_null(verify_code(ZJ, (const char *)old.data, "E2E-C-EXPIRED-COPY", 4003));
    buf_release(&old);
    json_decref(verify_code(ZJ, code, "E2E-C-LIVE", 0));

    /* The code issued when the run started, left to age past
     * code_lifetime_s: refused. */
    int64_t due = aging_issued_ms + CODE_LIFETIME_S * 1000 + 1500;
    if (fed2_now_ms() < due)
        fed_sleep_ms((unsigned)(due - fed2_now_ms()));
    assert_null(verify_code(SH, aging_code, "E2E-C-AGED", 4003));
}

/* ---- the owner applies SPEC §4.1 itself ------------------------------------------------------ */

/* A token for P minted with `key` (the trust key or a stranger's), with
 * the given lifetime around now and permission. */
static void mint(const struct sm2_key *key, int64_t iat_off, int64_t exp_off, const char *perm,
                 struct buf *out)
{
    struct token_claims tc;
    memset(&tc, 0, sizeof tc);
    snprintf(tc.sub, sizeof tc.sub, "%s", P.code);
    snprintf(tc.sty, sizeof tc.sty, "111");
    snprintf(tc.name, sizeof tc.name, "%s", P.name);
    tc.aty = 2;
    snprintf(tc.app, sizeof tc.app, "%s", app_id(JS));
    if (perm) {
        snprintf(tc.perm[0], sizeof tc.perm[0], "%s", perm);
        tc.nperm = 1;
    }
    tc.iat = (int64_t)time(NULL) + iat_off;
    tc.exp = (int64_t)time(NULL) + exp_off;
    buf_reset(out);
    assert_int_equal(token_issue(&tc, key, out), ECERT_OK);
}

/* A request straight to `node` as node:YRD-JS (signed with YRD-JS's key, as
 * YRD-JS forwards), naming the JS app as the requester. */
static json_t *as_js_node(const char *node, const char *endpoint, json_t *business, int want)
{
    json_object_set_new(business, "requesterApp", json_string(app_id(JS)));
    json_object_set_new(business, "requesterNode", json_string(JS));
    char *text = dump(business);
    struct fed_raw_req rq = {.node = node,
                             .endpoint = endpoint,
                             .app_id = "node:" JS,
                             .sign_key = js_node_key,
                             .business = text};
    struct fed_reply r;
    assert_int_equal(fed_raw(F, &rq, &r), 0);
    free(text);
    if (r.code != want)
        print_message("%s at %s as node:YRD-JS: want %d, got %d (%s)\n", endpoint, node, want,
                      r.code, r.msg);
    assert_int_equal(r.code, want);
    assert_int_equal(r.http, fed_spec_http(want));
    /* Signed by `node` itself (fed_raw verifies with its key): the refusal
     * is the owner's. */
    assert_true(r.is_signed);
    return r.result;
}

/* The owner's store holds exactly one record of call `biz`, with `result`,
 * made on behalf of the JS app and YRD-JS (read from its SQLite file: a
 * refusal before the certificate is read, 3005, names no holder, so
 * records/by-holder could not show it). */
static void expect_owner_record(const char *owner, const char *biz, int result)
{
    char rel[64], path[FED_PATH];
    snprintf(rel, sizeof rel, "%s/store.db", owner);
    fed_path(F, path, sizeof path, rel);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT result, app_id, requester_node FROM usage_records "
                                        "WHERE biz_num = ?1",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(q, 1, biz, -1, SQLITE_STATIC);
    int rows = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        rows++;
        assert_int_equal(sqlite3_column_int(q, 0), result);
        assert_string_equal((const char *)sqlite3_column_text(q, 1), app_id(JS));
        assert_string_equal((const char *)sqlite3_column_text(q, 2), JS);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    if (rows != 1)
        print_message("%s keeps %d records of %s\n", owner, rows, biz);
    assert_int_equal(rows, 1);
}

static void test_owner_enforces_rules(void **state)
{
    (void)state;
    const struct fed2_cert *sh = fed2_cert_in(&P, SH);
    const char *scene_no = fed2_scene_for(F, sh->type_code, false);
    const char *other_type = NULL;
    for (size_t i = 0; i < P.ncerts && !other_type; i++)
        if (strcmp(P.certs[i].type_code, sh->type_code) != 0)
            other_type = P.certs[i].type_code;
    assert_non_null(scene_no);
    assert_non_null(other_type);
    struct buf expired = BUF_INIT(TOKEN_MAX_LEN), narrow = BUF_INIT(TOKEN_MAX_LEN),
               forged = BUF_INIT(TOKEN_MAX_LEN);
    mint(F->trust_key, -1200, -600, NULL, &expired);
    mint(F->trust_key, -10, 600, other_type, &narrow);
    struct sm2_key *stranger = fed_new_key();
    assert_non_null(stranger);
    mint(stranger, -10, 600, NULL, &forged);
    sm2_key_free(stranger);

    /* 1. Through Jiangsu (the SDK): a by-id request for a Shanghai
     * certificate is passed on; Shanghai judges it and keeps the record. */
    const struct {
        const char *biz, *scene, *token;
        int want;
    } via_js[] = {
        {"E2E-O-JS-3005", "E2E-NO-SUCH-SCENE", tok_p, 3005},
        {"E2E-O-JS-3006", scene_no, tok_p, 3006},
        {"E2E-O-JS-3004", ALL, tok_q, 3004},
        {"E2E-O-JS-3007", ALL, (const char *)narrow.data, 3007},
        {"E2E-O-JS-3003", ALL, (const char *)expired.data, 3003},
        {"E2E-O-JS-OK", ALL, tok_p, 0},
    };
    for (size_t i = 0; i < sizeof via_js / sizeof via_js[0]; i++) {
        long sh_mark = fed2_log_mark(F, SH);
        struct fed2_answer a;
        fed2_by_id(app[prov(JS)], true, sh->id, via_js[i].token, via_js[i].scene, via_js[i].biz,
                   &a);
        if (a.code != via_js[i].want)
            print_message("%s: want %d, got %d (%s)\n", via_js[i].biz, via_js[i].want, a.code,
                          a.msg);
        assert_int_equal(a.code, via_js[i].want);
        fed2_answer_release(&a);
        char code[32];
        snprintf(code, sizeof code, "code=%d ", via_js[i].want);
        assert_int_equal(fed2_log_count(F, SH, sh_mark,
                                        "path=/api/v1/cert/file/by-id app=node:YRD-JS", code),
                         1);
        expect_owner_record(SH, via_js[i].biz, via_js[i].want);
    }

    /* 2. Straight to Shanghai as node:YRD-JS, with what Jiangsu would have
     * refused itself: Shanghai refuses too, signs the refusal, records it. */
    json_t *r;
    const struct {
        const char *endpoint, *biz, *scene, *token, *type;
        int want;
    } direct[] = {
        {"cert/search", "E2E-O-SH-3005", "E2E-NO-SUCH-SCENE", tok_p, NULL, 3005},
        {"cert/search", "E2E-O-SH-3006", scene_no, tok_p, sh->type, 3006},
        {"cert/search", "E2E-O-SH-3002", ALL, (const char *)forged.data, NULL, 3002},
        {"cert/search", "E2E-O-SH-3003", ALL, (const char *)expired.data, NULL, 3003},
        {"cert/search", "E2E-O-SH-3007", ALL, (const char *)narrow.data, sh->type, 3007},
        {"cert/info/by-id", "E2E-O-SH-3004", ALL, tok_q, NULL, 3004},
        {"cert/search", "E2E-O-SH-OK", ALL, tok_p, NULL, 0},
    };
    for (size_t i = 0; i < sizeof direct / sizeof direct[0]; i++) {
        json_t *b = purpose_json(direct[i].scene, direct[i].biz);
        json_object_set_new(b, "trustedToken", json_string(direct[i].token));
        if (direct[i].type)
            json_object_set_new(b, "CertificateType", json_string(direct[i].type));
        if (strcmp(direct[i].endpoint, "cert/info/by-id") == 0)
            json_object_set_new(b, "CertificateID", json_string(sh->id));
        r = as_js_node(SH, direct[i].endpoint, b, direct[i].want);
        if (direct[i].want == 0) {
            /* A node's question is answered from Shanghai's library alone. */
            const json_t *list = json_object_get(r, "dataList");
            assert_int_equal(json_array_size(list), 1);
            assert_non_null(fed2_find_id(list, sh->id));
            assert_null(json_object_get(r, "unavailable"));
        }
        json_decref(r);
        expect_owner_record(SH, direct[i].biz, direct[i].want);
    }

    /* 3. A node cannot speak for another: signed by YRD-JS's key but
     * claiming to be YRD-ZJ, the request is refused (2002). */
    char *text = dump(json_pack("{s:s,s:s}", "trustedToken", tok_p, "requesterNode", ZJ));
    struct fed_raw_req rq = {.node = SH,
                             .endpoint = "cert/search",
                             .app_id = "node:" ZJ,
                             .sign_key = js_node_key,
                             .business = text};
    struct fed_reply rep;
    assert_int_equal(fed_raw(F, &rq, &rep), 0);
    free(text);
    assert_int_equal(rep.code, 2002);
    fed_reply_release(&rep);
    buf_release(&expired);
    buf_release(&narrow);
    buf_release(&forged);
}

/* ---- published lists ------------------------------------------------------------------------- */

/* The trust node's directory document and its payload. */
static char *trust_doc(json_t **payload)
{
    struct buf b = BUF_INIT(1u << 20);
    int http = 0;
    assert_int_equal(fed_get(F, TRUST, "/api/v1/directory", &http, &b), 0);
    assert_int_equal(http, 200);
    char *doc = strndup((const char *)b.data, b.len);
    buf_release(&b);
    assert_non_null(doc);
    if (payload) {
        json_t *outer = json_loads(doc, 0, NULL);
        *payload = json_loads(json_string_value(json_object_get(outer, "payload")), 0, NULL);
        json_decref(outer);
        assert_non_null(*payload);
    }
    return doc;
}

/* `payload` with `version`, signed by `key`: a directory document. */
static char *sign_doc(json_t *payload, long long version, const struct sm2_key *key)
{
    json_object_set_new(payload, "version", json_integer(version));
    char *text = json_dumps(payload, JSON_COMPACT);
    assert_non_null(text);
    struct buf out = BUF_INIT(DIRECTORY_MAX_BYTES);
    assert_int_equal(directory_sign(text, strlen(text), key, &out), ECERT_OK);
    free(text);
    char *doc = strndup((const char *)out.data, out.len);
    buf_release(&out);
    assert_non_null(doc);
    return doc;
}

/* In `payload`'s scenes: the scene `item` allows `type` or not. */
static void scene_allow(json_t *payload, const char *item, const char *type, bool allow)
{
    size_t i, k;
    json_t *s, *t;
    json_array_foreach(json_object_get(payload, "scenes"), i, s) {
        if (strcmp(json_string_value(json_object_get(s, "itemCode")), item) != 0)
            continue;
        json_t *types = json_object_get(s, "types");
        for (k = json_array_size(types); k > 0; k--) {
            t = json_array_get(types, k - 1);
            if (strcmp(json_string_value(t), type) == 0)
                json_array_remove(types, k - 1);
        }
        if (allow)
            json_array_append_new(types, json_string(type));
        return;
    }
    fail_msg("no scene %s", item);
}

static void wait_version(const char *node, long long version)
{
    int64_t until = fed2_now_ms() + PUBLISH_WAIT_MS;
    double v = -1;
    while ((v = fed2_metric(F, node, "ecert_directory_version", NULL)) != (double)version &&
           fed2_now_ms() < until)
        fed_sleep_ms(100);
    if (v != (double)version)
        print_message("%s has directory version %.0f, not %lld\n", node, v, version);
    assert_true(v == (double)version);
}

/* What each province does with P's certificate `t` under the lists in force:
 * `t_in_s0` says whether scene `s0` allows its type. */
static void expect_lists(const struct fed2_cert *t, const char *s0, bool t_in_s0, const char *tag)
{
    for (int i = 0; i < 4; i++) {
        char biz[64];
        struct fed2_answer a;
        /* The new scene, at every province: the fan-out finds P's one
         * certificate of its type, wherever it lives. */
        snprintf(biz, sizeof biz, "E2E-L-%s-NEW-%d", tag, i);
        fed2_search(app[i], tok_p, NULL, NEW_SCENE, biz, &a);
        if (a.code != 0)
            print_message("%s: search in %s: %d %s\n", provinces[i], NEW_SCENE, a.code, a.msg);
        assert_int_equal(a.code, 0);
        const json_t *list = json_object_get(a.result, "dataList");
        assert_int_equal(json_array_size(list), 1);
        assert_non_null(fed2_find_id(list, t->id));
        assert_int_equal(json_array_size(json_object_get(a.result, "unavailable")), 0);
        fed2_answer_release(&a);
        /* By id under s0: the owner's verdict, asked from every province. */
        snprintf(biz, sizeof biz, "E2E-L-%s-S0-%d", tag, i);
        fed2_by_id(app[i], false, t->id, tok_p, s0, biz, &a);
        if (a.code != (t_in_s0 ? 0 : 3006))
            print_message("%s: %s by id in %s: %d %s\n", provinces[i], t->id, s0, a.code, a.msg);
        assert_int_equal(a.code, t_in_s0 ? 0 : 3006);
        fed2_answer_release(&a);
    }
}

static const char *const all_nodes[] = {HUB, SH, JS, ZJ, AH, TRUST};

static void test_published_lists(void **state)
{
    (void)state;
    /* A type of P's and a scene that allows it among others. */
    const struct fed2_cert *t = NULL;
    const char *s0 = NULL;
    for (size_t i = 0; i < P.ncerts && !s0; i++) {
        t = &P.certs[i];
        s0 = fed2_scene_for(F, t->type_code, true);
    }
    assert_non_null(s0);

    json_t *payload = NULL;
    char *doc0 = trust_doc(&payload);
    long long v0 = json_integer_value(json_object_get(payload, "version"));
    char dir_file[FED_PATH];
    fed_path(F, dir_file, sizeof dir_file, "directory.json");

    /* 1. Publish: s0 no longer allows t; a new scene allows only t. */
    scene_allow(payload, s0, t->type_code, false);
    json_array_append_new(json_object_get(payload, "scenes"),
                          json_pack("{s:s,s:s,s:[s]}", "itemCode", NEW_SCENE, "itemName",
                                    "端到端测试:新发布场景", "types", t->type_code));
    char scenes[FED_PATH], out[512];
    fed_path(F, scenes, sizeof scenes, "e2e-scenes-v1.json");
    assert_int_equal(json_dump_file(json_object_get(payload, "scenes"), scenes, 0), 0);
    long marks[4];
    for (int i = 0; i < 4; i++)
        marks[i] = fed2_log_mark(F, provinces[i]);
    int64_t t0 = fed2_now_ms();
    assert_int_equal(fed_cli(F, out, sizeof out, "directory", "publish", "--config",
                             fed_node(F, TRUST)->ini, "--scenes", scenes, NULL),
                     0);
    char want[96];
    snprintf(want, sizeof want, "directory version %lld published", v0 + 1);
    assert_non_null(strstr(out, want));
    for (size_t i = 0; i < 6; i++)
        wait_version(all_nodes[i], v0 + 1);
    snprintf(want, sizeof want, "version=%lld ", v0 + 1);
    for (int i = 0; i < 4; i++)
        assert_true(fed2_log_wait(F, provinces[i], marks[i], "event=lists_applied", want,
                                  PUBLISH_WAIT_MS));
    print_message("version %lld in force everywhere %lld ms after publishing\n", v0 + 1,
                  (long long)(fed2_now_ms() - t0));
    expect_lists(t, s0, false, "V1");
    json_t *p1 = NULL;
    char *doc1 = trust_doc(&p1);
    free(good_doc);
    good_doc = strdup(doc1);

    /* 2. The trust node's file replaced by a newer document that is not
     * signed by the trust key, then by the older one: the trust node
     * refuses both and keeps serving the last good one. */
    json_t *p_bad = json_deep_copy(p1);
    scene_allow(p_bad, s0, t->type_code, true);
    struct sm2_key *stranger = fed_new_key();
    assert_non_null(stranger);
    char *bad = sign_doc(p_bad, v0 + 5, stranger);
    long tmark = fed2_log_mark(F, TRUST);
    assert_int_equal(fed2_spill(dir_file, bad), 0);
    assert_true(fed2_log_wait(F, TRUST, tmark, "event=directory_refused from=file", "signature",
                              PUBLISH_WAIT_MS));
    tmark = fed2_log_mark(F, TRUST);
    assert_int_equal(fed2_spill(dir_file, doc0), 0);
    assert_true(fed2_log_wait(F, TRUST, tmark, "event=directory_refused from=file", "older",
                              PUBLISH_WAIT_MS));
    char *served = trust_doc(NULL);
    assert_string_equal(served, doc1);
    free(served);
    for (size_t i = 0; i < 6; i++)
        wait_version(all_nodes[i], v0 + 1);
    assert_int_equal(fed2_spill(dir_file, doc1), 0);

    /* 3. Every node checks for itself: a trust node impersonator (with the
     * trust node's TLS identity) serves the badly signed document, then the
     * older genuine one: each node refuses both, the lists stay. */
    assert_int_equal(fed_stop_node(F, TRUST), 0);
    fake = fed2_fake_start(F, TRUST, FAKE_DIRECTORY);
    assert_non_null(fake);
    const char *fetchers[] = {HUB, SH, JS, ZJ, AH};
    long fm[5];
    for (int i = 0; i < 5; i++)
        fm[i] = fed2_log_mark(F, fetchers[i]);
    fed2_fake_set_doc(fake, bad);
    for (int i = 0; i < 5; i++)
        assert_true(fed2_log_wait(F, fetchers[i], fm[i], "event=directory_refused from=trust",
                                  "signature", PUBLISH_WAIT_MS));
    for (int i = 0; i < 5; i++)
        fm[i] = fed2_log_mark(F, fetchers[i]);
    fed2_fake_set_doc(fake, doc0);
    for (int i = 0; i < 5; i++)
        assert_true(fed2_log_wait(F, fetchers[i], fm[i], "event=directory_refused from=trust",
                                  "older", PUBLISH_WAIT_MS));
    for (int i = 0; i < 5; i++)
        wait_version(fetchers[i], v0 + 1);
    assert_true(fed2_fake_hits(fake) >= 10);
    expect_lists(t, s0, false, "V1-KEPT");

    /* 4. A newer genuine document from the same source is applied: the
     * refusals were about the documents, not about where they came from. */
    json_t *p2 = json_deep_copy(p1);
    scene_allow(p2, s0, t->type_code, true);
    char *doc2 = sign_doc(p2, v0 + 2, F->trust_key);
    free(good_doc);
    good_doc = strdup(doc2);
    for (int i = 0; i < 4; i++)
        marks[i] = fed2_log_mark(F, provinces[i]);
    fed2_fake_set_doc(fake, doc2);
    for (int i = 0; i < 5; i++)
        wait_version(fetchers[i], v0 + 2);
    snprintf(want, sizeof want, "version=%lld ", v0 + 2);
    for (int i = 0; i < 4; i++)
        assert_true(fed2_log_wait(F, provinces[i], marks[i], "event=lists_applied", want,
                                  PUBLISH_WAIT_MS));
    fed2_fake_stop(fake);
    fake = NULL;
    assert_int_equal(fed2_spill(dir_file, doc2), 0);
    assert_int_equal(fed2_start_node(F, TRUST), 0);
    wait_version(TRUST, v0 + 2);
    expect_lists(t, s0, true, "V2");

    sm2_key_free(stranger);
    json_decref(payload);
    json_decref(p1);
    json_decref(p_bad);
    json_decref(p2);
    free(doc0);
    free(doc1);
    free(doc2);
    free(bad);
}

/* ---- main ------------------------------------------------------------------------------------ */

/* After a test that failed half way: the trust node back, impostor gone. */
static int restore(void **state)
{
    (void)state;
    fed2_fake_stop(fake);
    fake = NULL;
    if (!fed2_running(F, TRUST) && good_doc) {
        char dir_file[FED_PATH];
        fed_path(F, dir_file, sizeof dir_file, "directory.json");
        if (fed2_spill(dir_file, good_doc) != 0)
            return -1;
    }
    return fed2_start_missing(F) == 0 ? 0 : -1;
}

static int prepare(void)
{
    if (fed2_pick_person(F, 0, &P) != 0 || fed2_pick_person(F, 1, &Q) != 0)
        return -1;
    for (int i = 0; i < 4; i++) {
        const char *hex =
            json_string_value(json_object_get(fed_app(F, provinces[i]), "privateKey"));
        app[i] = fed_app_client(F, provinces[i], provinces[i]);
        if (!app[i] || !hex || sm2_key_parse_private(hex, strlen(hex), &app_key[i]) != ECERT_OK)
            return -1;
    }
    ecert_client *trust_js = fed_app_client(F, TRUST, JS);
    trust_ah = fed_app_client(F, TRUST, AH);
    js_node_key = fed2_node_key(F, JS);
    if (!trust_js || !trust_ah || !js_node_key || fed_token(trust_js, P.code, NULL, tok_p) != 0 ||
        fed_token(trust_js, Q.code, NULL, tok_q) != 0)
        return -1;
    struct token_claims c;
    if (token_verify(tok_p, strlen(tok_p), fed_node(F, TRUST)->pub, time(NULL), &c) != ECERT_OK)
        return -1;
    snprintf(tok_name, sizeof tok_name, "%s", c.name);
    /* The code that the last test finds expired. */
    int code = -1;
    char *res = NULL, *msg = NULL;
    aging_issued_ms = fed2_now_ms();
    if (ecert_code_issue(app[prov(JS)], tok_p, &code, &res, &msg) == ECERT_OK && code == 0) {
        json_t *r = json_loads(res, 0, NULL);
        const char *qr = json_string_value(json_object_get(r, "qrcode"));
        if (qr && strlen(qr) < sizeof aging_code)
            snprintf(aging_code, sizeof aging_code, "%s", qr);
        json_decref(r);
    }
    ecert_free(res);
    ecert_free(msg);
    return aging_code[0] ? 0 : -1;
}

int main(void)
{
    char lifetime[16], refresh[16];
    snprintf(lifetime, sizeof lifetime, "%d", CODE_LIFETIME_S);
    snprintf(refresh, sizeof refresh, "%d", REFRESH_S);
    struct fed_ini_set sets[24];
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        sets[n++] = (struct fed_ini_set){provinces[i], "federation", "code_lifetime_s", lifetime};
        sets[n++] = (struct fed_ini_set){provinces[i], "federation", "hub_timeout_ms", "3000"};
        sets[n++] = (struct fed_ini_set){provinces[i], "federation", "peer_timeout_ms", "2000"};
    }
    for (size_t i = 0; i < 6; i++)
        sets[n++] = (struct fed_ini_set){all_nodes[i], "directory", "refresh_s", refresh};
    sets[n++] = (struct fed_ini_set){TRUST, "federation", "peer_timeout_ms", "2000"};
    F = fed2_start(sets, n, ALL);
    if (!F)
        return 1;
    if (prepare() != 0) {
        fprintf(stderr, "e2e: cannot prepare the federation rules tests\n");
        fed_finish(F, true);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_code_across_provinces, restore),
        cmocka_unit_test_setup(test_code_url_and_trust, restore),
        cmocka_unit_test_setup(test_code_tampered_and_unknown, restore),
        cmocka_unit_test_setup(test_code_degraded, restore),
        cmocka_unit_test_setup(test_owner_enforces_rules, restore),
        cmocka_unit_test_setup(test_published_lists, restore),
        /* Last: by now the code issued at the start has expired. */
        cmocka_unit_test_setup(test_code_expiry, restore),
    };
    const char *filter = getenv("ECERT_E2E_FILTER");
    if (filter && filter[0])
        cmocka_set_test_filter(filter);
    int64_t t0 = fed2_now_ms();
    int failed = cmocka_run_group_tests_name("e2e federation rules", tests, NULL, NULL);
    fed2_fake_stop(fake);
    int unclean = fed_finish(F, failed != 0);
    free(good_doc);
    for (int i = 0; i < 4; i++)
        sm2_key_free(app_key[i]);
    sm2_key_free(js_node_key);
    fprintf(stderr, "e2e federation rules: %lld ms\n", (long long)(fed2_now_ms() - t0));
    return failed || unclean ? 1 : 0;
}
