/*
 * End to end, trust side: the trust node (可信访问服务平台) and a province as
 * real processes. App registration (表8) from `ecert trust app allocate` to a
 * certificate that chains to the app CA and an app that can then work;
 * refusals of wrong secrets and unknown apps (3008); disabling and enabling
 * an app, seen at once by the trust node and within app_cache_s by a
 * province (3001); person tokens (表9) for authType 1 and 2 and the
 * refusals of authType 3, missing, undecryptable and invalid ID numbers; a
 * clean SIGTERM shutdown.
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

#include "codes/ids.h"
#include "common/codec.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "token/token.h"
#include "util_fed.h"

#define JS "YRD-JS"
#define TRUST "YRD-TRUST"
#define JS_APP_CACHE_S 2
/* A province must see an app's new state within app_cache_s; a second of
 * slack per request in flight and for slow (sanitizer) builds. */
#define APP_STATE_WAIT_MS (JS_APP_CACHE_S * 1000 + 4000)

static struct fed *F;
static struct sm2_key *js_app_key;

/* A holder of the sample data with a valid certificate in JS, and a scene
 * that allows its type. */
static const char *holder_code;
static const char *holder_scene;

static const char *js_app_id(void)
{
    return json_string_value(json_object_get(fed_app(F, JS), "appId"));
}

static char *dump(json_t *o)
{
    assert_non_null(o);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_non_null(s);
    return s;
}

/* A raw envelope call; the answer must carry `want` with SPEC §5's HTTP
 * status. Returns the result for code 0. Consumes `biz`. */
static json_t *expect_raw(const char *node, const char *endpoint, const char *app_id,
                          const struct sm2_key *key, char *biz, int want)
{
    struct fed_raw_req rq = {
        .node = node, .endpoint = endpoint, .app_id = app_id, .sign_key = key, .business = biz};
    struct fed_reply r;
    assert_int_equal(fed_raw(F, &rq, &r), 0);
    free(biz);
    if (r.code != want || r.http != fed_spec_http(want))
        print_message("%s %s: want %d/HTTP %d, got %d/HTTP %d (%s)\n", node, endpoint, want,
                      fed_spec_http(want), r.code, r.http, r.msg);
    assert_int_equal(r.code, want);
    assert_int_equal(r.http, fed_spec_http(want));
    assert_true(r.is_signed);
    if (want == 0)
        assert_non_null(r.result);
    return r.result;
}

/* idNo as the SDK sends it: SM2-encrypted to `to` (canonical hex). */
static char *encrypt_to(const struct sm2_key *to, const char *text)
{
    struct buf ct = BUF_INIT(4096);
    assert_int_equal(sm2_encrypt_text(to, (const uint8_t *)text, strlen(text), ECERT_CIPHER_HEX,
                                      &ct),
                     ECERT_OK);
    char *s = strdup((const char *)ct.data);
    buf_release(&ct);
    assert_non_null(s);
    return s;
}

static char *person_biz(const char *auth, const char *id_type, const char *id_no_ct,
                        const char *permission)
{
    static unsigned seq;
    char txn[32];
    snprintf(txn, sizeof txn, "E2E-TRUST-%04u", ++seq);
    json_t *o = json_pack("{s:s,s:s,s:s}", "transactionId", txn, "authType", auth, "name", "张伟");
    if (id_type)
        json_object_set_new(o, "idType", json_string(id_type));
    if (id_no_ct)
        json_object_set_new(o, "idNo", json_string(id_no_ct));
    if (permission)
        json_object_set_new(o, "permission", json_string(permission));
    return dump(o);
}

static char *search_biz(const char *token, const char *biz)
{
    ecert_purpose p;
    fed_purpose(&p, holder_scene, biz);
    return dump(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "trustedToken", token, "UseFor",
                          p.use_for, "itemName", p.item_name, "itemCode", p.item_code, "itemOrg",
                          p.item_org, "operator", p.operator_name, "bizNum", p.biz_num));
}

/* ---- a new app, from allocation to registration -------------------------------- */

struct new_app {
    char id[32];
    char secret[64];
    char corp_code[IDS_CODE_LEN + 1];
    struct sm2_key *key;
    char priv[65];
    char pub[131];
};

static uint32_t rnd32(void *ctx)
{
    (void)ctx;
    uint32_t v = 0;
    assert_int_equal(random_bytes(&v, sizeof v), ECERT_OK);
    return v;
}

static void allocate_app(struct new_app *a)
{
    memset(a, 0, sizeof *a);
    assert_int_equal(ids_uscc_generate("91", "320506", rnd32, NULL, a->corp_code), ECERT_OK);
    char ini[FED_PATH], out[1024];
    fed_path(F, ini, sizeof ini, "YRD-TRUST/node.ini");
    int rc = fed_cli(F, out, sizeof out, "trust", "app", "allocate", "--config", ini,
                     "--corp-name", "苏州端到端测试科技有限公司", "--corp-code", a->corp_code,
                     "--province", JS, NULL);
    assert_int_equal(rc, 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    const char *id = json_string_value(json_object_get(j, "appId"));
    const char *secret = json_string_value(json_object_get(j, "appSecret"));
    assert_non_null(id);
    assert_non_null(secret);
    assert_true(strlen(id) < sizeof a->id && strlen(secret) < sizeof a->secret);
    snprintf(a->id, sizeof a->id, "%s", id);
    snprintf(a->secret, sizeof a->secret, "%s", secret);
    json_decref(j);
    a->key = fed_new_key();
    assert_non_null(a->key);
    uint8_t d[32];
    assert_int_equal(sm2_key_private_bytes(a->key, d), ECERT_OK);
    hex_encode(d, 32, a->priv);
    sm2_key_public_hex(a->key, a->pub);
}

static char *register_biz(const struct new_app *a, const char *app_id, const char *secret)
{
    return dump(json_pack("{s:s,s:s,s:s,s:s,s:s}", "appID", app_id, "appSecret", secret,
                          "corpName", "苏州端到端测试科技有限公司", "corpCode", a->corp_code,
                          "publicKey", a->pub));
}

/* Registers through the SDK (表8) and checks the app certificate. */
static void register_app(struct new_app *a)
{
    ecert_client *c = fed_client(F, TRUST, a->id, a->priv);
    assert_non_null(c);
    int code = -1;
    char *res = NULL, *msg = NULL;
    assert_int_equal(ecert_trust_register(c, a->secret, "苏州端到端测试科技有限公司",
                                          a->corp_code, &code, &res, &msg),
                     ECERT_OK);
    if (code != 0)
        print_message("register: %d %s\n", code, msg ? msg : "");
    assert_int_equal(code, 0);
    json_t *j = json_loads(res, 0, NULL);
    ecert_free(res);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "code")), 0);
    const char *pem = json_string_value(json_object_get(j, "appCertificate"));
    assert_non_null(pem);
    assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
    char ca_path[FED_PATH];
    fed_path(F, ca_path, sizeof ca_path, "YRD-TRUST/app-ca.pem");
    FILE *fp = fopen(ca_path, "rb");
    assert_non_null(fp);
    char ca[X509_PEM_MAX];
    size_t n = fread(ca, 1, sizeof ca - 1, fp);
    fclose(fp);
    ca[n] = 0;
    ecert_status st = x509_sm2_verify(pem, strlen(pem), ca, n, 0);
    if (st)
        print_message("app certificate: %s\n", ecert_last_error());
    assert_int_equal(st, ECERT_OK);
    struct x509_info info;
    assert_int_equal(x509_info(pem, strlen(pem), &info), ECERT_OK);
    assert_string_equal(info.subject_cn, a->id);
    assert_string_equal(info.subject_org_id, a->corp_code);
    assert_string_equal(info.public_key_hex, a->pub);
    assert_false(info.is_ca);
    /* It chains to the trust node's app CA and to no other SM2 CA. */
    struct sm2_key *other = fed_new_key();
    struct buf other_ca = BUF_INIT(X509_PEM_MAX);
    assert_int_equal(x509_sm2_ca_new(other, "YRD-TRUST app CA", 30, &other_ca), ECERT_OK);
    assert_int_not_equal(x509_sm2_verify(pem, strlen(pem), (const char *)other_ca.data,
                                         other_ca.len, 0),
                         ECERT_OK);
    buf_release(&other_ca);
    sm2_key_free(other);
    json_decref(j);
}

static void free_app(struct new_app *a)
{
    sm2_key_free(a->key);
    a->key = NULL;
}

/* Polls JS with cert/search as `a` until the answer is `want`; the
 * milliseconds it took, or -1 past APP_STATE_WAIT_MS. */
static int64_t poll_js(ecert_client *c, const char *tok, int want)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        char *biz = search_biz(tok, "POLL");
        int code = -1;
        char *res = NULL, *msg = NULL;
        ecert_status st = ecert_client_call(c, "cert/search", biz, &code, &res, &msg);
        free(biz);
        ecert_free(res);
        ecert_free(msg);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        int64_t ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (st == ECERT_OK && code == want)
            return ms;
        if (ms > APP_STATE_WAIT_MS)
            return -1;
        fed_sleep_ms(200);
    }
}

/* ---- 表8 -------------------------------------------------------------------------- */

static void test_register_app(void **state)
{
    (void)state;
    struct new_app a;
    allocate_app(&a);
    assert_int_equal(strlen(a.id), 10);
    assert_int_equal(a.id[0], 'A');
    assert_int_equal(strlen(a.secret), 32);
    /* Allocated but not registered: it cannot call anything yet. */
    json_decref(expect_raw(TRUST, "trust/token/person", a.id, a.key,
                           person_biz("2", "1", "x", NULL), 3001));
    /* A wrong secret, an appID that differs from the envelope's, an unknown
     * appID: all the same refusal, so that ids cannot be probed. */
    json_decref(expect_raw(TRUST, "trust/app/register", a.id, a.key,
                           register_biz(&a, a.id, "0123456789abcdefghijklmnopqrstuv"), 3008));
    json_decref(expect_raw(TRUST, "trust/app/register", a.id, a.key,
                           register_biz(&a, js_app_id(), a.secret), 3008));
    json_decref(expect_raw(TRUST, "trust/app/register", "A000000000", a.key,
                           register_biz(&a, "A000000000", a.secret), 3008));
    /* The envelope must be signed by the key being registered. */
    struct sm2_key *other = fed_new_key();
    json_decref(expect_raw(TRUST, "trust/app/register", a.id, other,
                           register_biz(&a, a.id, a.secret), 2002));
    sm2_key_free(other);

    register_app(&a);

    /* Registered: the app gets tokens and calls its province. */
    ecert_client *trust = fed_client(F, TRUST, a.id, a.priv);
    char tok[FED_TOKEN_MAX];
    assert_int_equal(fed_token(trust, holder_code, NULL, tok), 0);
    struct token_claims tc;
    assert_int_equal(token_verify(tok, strlen(tok), fed_node(F, TRUST)->pub, time(NULL), &tc),
                     ECERT_OK);
    assert_string_equal(tc.app, a.id);
    ecert_client *js = fed_client(F, JS, a.id, a.priv);
    ecert_purpose p;
    fed_purpose(&p, holder_scene, "REG-1");
    int code = -1;
    char *res = NULL, *msg = NULL;
    assert_int_equal(ecert_cert_search(js, tok, NULL, NULL, &p, &code, &res, &msg), ECERT_OK);
    if (code != 0)
        print_message("search by the new app: %d %s\n", code, msg ? msg : "");
    assert_int_equal(code, 0);
    json_t *j = json_loads(res, 0, NULL);
    assert_true(json_integer_value(json_object_get(j, "total")) >= 1);
    json_decref(j);
    ecert_free(res);
    free_app(&a);
}

/* ---- disable / enable --------------------------------------------------------------- */

static void test_disable_enable(void **state)
{
    (void)state;
    struct new_app a;
    allocate_app(&a);
    register_app(&a);
    ecert_client *trust = fed_client(F, TRUST, a.id, a.priv);
    ecert_client *js = fed_client(F, JS, a.id, a.priv);
    char tok[FED_TOKEN_MAX];
    assert_int_equal(fed_token(trust, holder_code, NULL, tok), 0);
    /* JS knows the app (and caches its state). */
    assert_true(poll_js(js, tok, 0) >= 0);

    char ini[FED_PATH], out[512];
    fed_path(F, ini, sizeof ini, "YRD-TRUST/node.ini");
    assert_int_equal(fed_cli(F, out, sizeof out, "trust", "app", "disable", "--config", ini,
                             "--app", a.id, NULL),
                     0);
    /* The trust node refuses it at once... */
    char *ct = encrypt_to(fed_node(F, TRUST)->pub, holder_code);
    json_decref(expect_raw(TRUST, "trust/token/person", a.id, a.key,
                           person_biz("2", "1", ct, NULL), 3001));
    /* ... and cannot be talked round by registering again. */
    json_decref(expect_raw(TRUST, "trust/app/register", a.id, a.key,
                           register_biz(&a, a.id, a.secret), 3001));
    /* A province within its app cache lifetime. */
    int64_t ms = poll_js(js, tok, 3001);
    if (ms < 0)
        print_message("YRD-JS still served the disabled app after %d ms\n", APP_STATE_WAIT_MS);
    assert_true(ms >= 0);
    print_message("YRD-JS refused the disabled app after %lld ms\n", (long long)ms);
    json_decref(expect_raw(JS, "cert/search", a.id, a.key, search_biz(tok, "DIS-1"), 3001));

    assert_int_equal(fed_cli(F, out, sizeof out, "trust", "app", "enable", "--config", ini,
                             "--app", a.id, NULL),
                     0);
    json_decref(expect_raw(TRUST, "trust/token/person", a.id, a.key,
                           person_biz("2", "1", ct, NULL), 0));
    ms = poll_js(js, tok, 0);
    if (ms < 0)
        print_message("YRD-JS still refused the enabled app after %d ms\n", APP_STATE_WAIT_MS);
    assert_true(ms >= 0);
    free(ct);
    free_app(&a);
}

/* ---- 表9 ----------------------------------------------------------------------------- */

static void check_token(const json_t *res, int auth)
{
    assert_int_equal(json_integer_value(json_object_get(res, "code")), 0);
    assert_int_equal(json_integer_value(json_object_get(res, "expiresIn")), 600);
    const char *tok = json_string_value(json_object_get(res, "trustedToken"));
    assert_non_null(tok);
    struct token_claims tc;
    int64_t now = time(NULL);
    assert_int_equal(token_verify(tok, strlen(tok), fed_node(F, TRUST)->pub, now, &tc), ECERT_OK);
    assert_string_equal(tc.iss, "YRD-TRUST");
    assert_string_equal(tc.sub, holder_code);
    assert_string_equal(tc.sty, "111");
    assert_string_equal(tc.app, js_app_id());
    assert_int_equal(tc.aty, auth);
    assert_int_equal(tc.exp - tc.iat, 600);
    assert_true(tc.iat <= now + 5 && tc.iat >= now - 60);
    assert_true(strlen(tc.jti) > 0);
    /* Signed by the trust key, and by no other. */
    assert_int_equal(token_verify(tok, strlen(tok), fed_node(F, JS)->pub, now, NULL),
                     ECERT_E_TOKEN);
}

static void test_person_tokens(void **state)
{
    (void)state;
    const struct sm2_key *trust_pub = fed_node(F, TRUST)->pub;
    /* authType 1 (生物识别) and 2 (读取身份证件). */
    char *ct = encrypt_to(trust_pub, holder_code);
    json_t *j = expect_raw(TRUST, "trust/token/person", js_app_id(), js_app_key,
                           person_biz("1", "1", ct, NULL), 0);
    check_token(j, 1);
    json_decref(j);
    j = expect_raw(TRUST, "trust/token/person", js_app_id(), js_app_key,
                   person_biz("2", "1", ct, NULL), 0);
    check_token(j, 2);
    json_decref(j);
    /* The typed SDK call makes the same request. */
    ecert_client *c = fed_app_client(F, TRUST, JS);
    int code = -1;
    char *res = NULL, *msg = NULL;
    assert_int_equal(ecert_trust_token_person(c, "E2E-SDK-1", 2, "张伟", holder_code, NULL, &code,
                                              &res, &msg),
                     ECERT_OK);
    assert_int_equal(code, 0);
    j = json_loads(res, 0, NULL);
    ecert_free(res);
    check_token(j, 2);
    json_decref(j);

    /* authType 3 (扫描二维码) needs a holder code, and a well-formed one; an
     * unknown authType is malformed. */
    json_decref(expect_raw(TRUST, "trust/token/person", js_app_id(), js_app_key,
                           person_biz("3", NULL, NULL, NULL), 1002));
    char *code3 = person_biz("3", NULL, NULL, NULL);
    json_t *o = json_loads(code3, 0, NULL);
    free(code3);
    json_object_set_new(o, "qrCode", json_string("YRDC1.YRD-JS.not-a-code.AAAA"));
    json_decref(expect_raw(TRUST, "trust/token/person", js_app_id(), js_app_key, dump(o), 1004));
    json_decref(expect_raw(TRUST, "trust/token/person", js_app_id(), js_app_key,
                           person_biz("7", "1", ct, NULL), 1004));
    /* No idNo. */
    json_decref(expect_raw(TRUST, "trust/token/person", js_app_id(), js_app_key,
                           person_biz("2", "1", NULL, NULL), 1002));
    free(ct);
    /* idNo encrypted to another key (the province's), or not encrypted. */
    ct = encrypt_to(fed_node(F, JS)->pub, holder_code);
    json_decref(expect_raw(TRUST, "trust/token/person", js_app_id(), js_app_key,
                           person_biz("2", "1", ct, NULL), 2001));
    free(ct);
    json_decref(expect_raw(TRUST, "trust/token/person", js_app_id(), js_app_key,
                           person_biz("2", "1", holder_code, NULL), 2001));
    /* A number whose check digit is wrong, properly encrypted. */
    char bad[IDS_CODE_LEN + 1];
    snprintf(bad, sizeof bad, "%s", holder_code);
    bad[17] = bad[17] == '1' ? '2' : '1';
    assert_int_not_equal(ids_citizen_check(bad, 18), ECERT_OK);
    ct = encrypt_to(trust_pub, bad);
    json_decref(expect_raw(TRUST, "trust/token/person", js_app_id(), js_app_key,
                           person_biz("2", "1", ct, NULL), 1004));
    free(ct);
    ct = encrypt_to(trust_pub, "not a number");
    json_decref(expect_raw(TRUST, "trust/token/person", js_app_id(), js_app_key,
                           person_biz("1", "1", ct, NULL), 1004));
    free(ct);
}

static void test_unknown_app_at_trust(void **state)
{
    (void)state;
    struct sm2_key *k = fed_new_key();
    char *ct = encrypt_to(fed_node(F, TRUST)->pub, holder_code);
    json_decref(expect_raw(TRUST, "trust/token/person", "A000000002", k,
                           person_biz("2", "1", ct, NULL), 3001));
    /* Node-only lookups refuse apps. */
    json_decref(expect_raw(TRUST, "trust/app/lookup", js_app_id(), js_app_key,
                           dump(json_pack("{s:s}", "appId", js_app_id())), 3001));
    free(ct);
    sm2_key_free(k);
}

static void test_clean_shutdown(void **state)
{
    (void)state;
    for (size_t i = 0; i < F->nnodes; i++)
        if (strcmp(F->nodes[i].id, TRUST) != 0)
            assert_int_equal(fed_stop_node(F, F->nodes[i].id), 0);
    assert_int_equal(fed_stop_node(F, TRUST), 0);
}

/* ---- main ---------------------------------------------------------------------------- */

static int pick_data(void)
{
    size_t i, k;
    json_t *h, *c;
    json_array_foreach(json_object_get(F->json, "holders"), i, h) {
        if (strcmp(json_string_value(json_object_get(h, "type")), "111") != 0)
            continue;
        json_array_foreach(json_object_get(h, "certificates"), k, c) {
            if (holder_code ||
                strcmp(json_string_value(json_object_get(c, "province")), JS) != 0 ||
                strcmp(json_string_value(json_object_get(c, "status")), "valid") != 0)
                continue;
            const char *tc = json_string_value(json_object_get(c, "typeCode"));
            size_t s, t;
            json_t *sc, *ty;
            json_array_foreach(json_object_get(F->json, "scenes"), s, sc)
                json_array_foreach(json_object_get(sc, "types"), t, ty)
                    if (!holder_code && strcmp(json_string_value(ty), tc) == 0) {
                        holder_code = json_string_value(json_object_get(h, "code"));
                        holder_scene = json_string_value(json_object_get(sc, "itemCode"));
                    }
        }
    }
    const char *hex = json_string_value(json_object_get(fed_app(F, JS), "privateKey"));
    if (!holder_code || !hex || sm2_key_parse_private(hex, strlen(hex), &js_app_key) != ECERT_OK) {
        fprintf(stderr, "e2e: the sample federation lacks what this test needs\n");
        return -1;
    }
    return 0;
}

int main(void)
{
    char cache[16];
    snprintf(cache, sizeof cache, "%d", JS_APP_CACHE_S);
    const struct fed_ini_set sets[] = {{JS, "limits", "app_cache_s", cache}};
    F = fed_start(NULL, sets, 1);
    if (!F)
        return 1;
    if (pick_data() != 0) {
        fed_finish(F, true);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_app),
        cmocka_unit_test(test_disable_enable),
        cmocka_unit_test(test_person_tokens),
        cmocka_unit_test(test_unknown_app_at_trust),
        cmocka_unit_test(test_clean_shutdown),
    };
    /* ECERT_E2E_FILTER=pattern runs the matching tests only (cmocka's
     * wildcards: * and ?); the federation is started either way. */
    const char *filter = getenv("ECERT_E2E_FILTER");
    if (filter && filter[0])
        cmocka_set_test_filter(filter);
    int failed = cmocka_run_group_tests_name("e2e trust node", tests, NULL, NULL);
    int unclean = fed_finish(F, failed != 0);
    sm2_key_free(js_app_key);
    return failed || unclean ? 1 : 0;
}
