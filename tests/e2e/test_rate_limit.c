/*
 * End to end: rate limits (docs/limits.md) on a real federation, with the
 * stores in SQLite files, or in PostgreSQL when ECERT_TEST_PG_DIR names a
 * server of scripts/pg.sh (CTest's pg/e2e_rate_limit).
 *
 *   - per app, across two ecertd processes of YRD-JS sharing one database:
 *     the calls accepted by both add up to at most the limit (and to no less
 *     than the limit minus the documented lease loss), the rest are 5003 /
 *     HTTP 429 signed by the node with a Retry-After the SDK reports;
 *     forged and replayed requests spend nothing; refused calls leave no
 *     usage record and are counted in /metrics and logged;
 *   - per address at YRD-SH: exactly the limit of direct app calls, while the
 *     nodes calling it (hub forwards, fan-outs from YRD-ZJ) are never
 *     throttled, before or after the address budget is spent; forged node
 *     claims are charged to the address and, once over, refused before any
 *     signature is verified.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope/envelope.h"
#include "util_fed.h"
#include "util_fed2.h"

#define SH "YRD-SH"
#define JS "YRD-JS"
#define ZJ "YRD-ZJ"
#define TRUST "YRD-TRUST"
#define ALL "E2E-ALL-0001"

/* YRD-JS: 30 calls of one app per hour, leased 4 at a time by each of its
 * two processes, so that both lease several times and meet at the end. */
#define APP_LIMIT 30
#define APP_CHUNK 4
#define PROCESSES 2
/* YRD-SH: 6 calls per hour from one address (counted exactly: chunk 1). */
#define IP_LIMIT 6
#define WINDOW_S 3600

static struct fed *F;
static struct fed2_twin twin;         /* the second YRD-JS process */
static struct fed2_holder P;          /* a person with a certificate in each province */
static struct sm2_key *js_app_key;

static const char *app_id(const char *province)
{
    return json_string_value(json_object_get(fed_app(F, province), "appId"));
}

/* The number of usage records in `id`'s store (`ecert records verify`). */
static long records(const char *id)
{
    char out[256];
    assert_int_equal(
        fed_cli(F, out, sizeof out, "records", "verify", "--config", fed_node(F, id)->ini, NULL),
        0);
    assert_non_null(strstr(out, "chain intact"));
    return strtol(out, NULL, 10);
}

/* A by-id envelope of the JS demo app for its own certificate, signed with
 * `key` (the app's, or a forger's). */
static void js_envelope(const struct sm2_key *key, const char *biz, struct buf *env,
                        char nonce[ENVELOPE_MAX_NONCE + 1])
{
    const struct fed2_cert *c = fed2_cert_in(&P, JS);
    assert_non_null(c);
    ecert_purpose p;
    fed_purpose(&p, ALL, biz);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "CertificateID", c->id, "UseFor",
                          p.use_for, "itemName", p.item_name, "itemCode", p.item_code, "itemOrg",
                          p.item_org, "operator", p.operator_name, "bizNum", p.biz_num);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_non_null(text);
    struct fed_raw_req rq = {.node = JS,
                             .endpoint = "cert/info/by-id",
                             .app_id = app_id(JS),
                             .sign_key = key,
                             .app_key = js_app_key,
                             .business = text};
    assert_int_equal(fed_envelope(F, &rq, env, nonce), 0);
    free(text);
}

/* POSTs to the first JS process, or to the twin; the whole reply. */
static void js_post(bool to_twin, const struct buf *env, const char *nonce, struct fed_reply *r)
{
    char saved[64];
    if (to_twin)
        fed2_swap_url(F, JS, twin.url, saved);
    int rc = fed_post(F, JS, "/api/v1/cert/info/by-id", env->data, env->len, js_app_key, nonce, r);
    if (to_twin)
        fed2_swap_url(F, JS, saved, saved);
    assert_int_equal(rc, 0);
}

static double js_metric(bool of_twin, const char *name, const char *labels)
{
    char saved[64];
    if (of_twin)
        fed2_swap_url(F, JS, twin.url, saved);
    double v = fed2_metric(F, JS, name, labels);
    if (of_twin)
        fed2_swap_url(F, JS, saved, saved);
    return v;
}

/* A refusal by a rate limit, as SPEC §5 and docs/limits.md describe it. */
static void expect_rate_refusal(const struct fed_reply *r)
{
    assert_int_equal(r->code, 5003);
    assert_int_equal(r->http, 429);
    assert_int_equal(fed_spec_http(5003), 429);
    assert_true(r->is_signed);
    assert_non_null(strstr(r->msg, "rate limit"));
}

/* ---- per app, two processes, one database -------------------------------------- */

static void test_app_limit_across_processes(void **state)
{
    (void)state;
    long records0 = records(JS);
    double refused0 = js_metric(false, "ecert_rate_limited_total", "scope=\"app\"") +
                      js_metric(true, "ecert_rate_limited_total", "scope=\"app\"");
    long mark = fed2_log_mark(F, JS);
    /* Forged requests (another key under the app's id) spend nothing. */
    struct sm2_key *forger = fed_new_key();
    for (int i = 0; i < 2 * APP_LIMIT; i++) {
        struct buf env = BUF_INIT(ENVELOPE_MAX_BODY);
        char nonce[ENVELOPE_MAX_NONCE + 1];
        char biz[32];
        snprintf(biz, sizeof biz, "E2E-RL-FORGED-%d", i);
        js_envelope(forger, biz, &env, nonce);
        struct fed_reply r;
        js_post(i % 2 == 1, &env, NULL, &r);
        assert_int_equal(r.code, 2002);
        fed_reply_release(&r);
        buf_release(&env);
    }
    sm2_key_free(forger);
    /* A replay spends nothing either: answered once, a replay at the other
     * process. */
    int accepted = 0, refused = 0;
    {
        struct buf env = BUF_INIT(ENVELOPE_MAX_BODY);
        char nonce[ENVELOPE_MAX_NONCE + 1];
        js_envelope(js_app_key, "E2E-RL-ONCE", &env, nonce);
        struct fed_reply r;
        js_post(false, &env, nonce, &r);
        assert_int_equal(r.code, 0);
        fed_reply_release(&r);
        accepted++;
        for (int i = 0; i < 3; i++) {
            js_post(true, &env, nonce, &r);
            assert_int_equal(r.code, 2004);
            fed_reply_release(&r);
        }
        buf_release(&env);
    }
    /* The app through the SDK at both processes, in an uneven mix. */
    const char *hex = json_string_value(json_object_get(fed_app(F, JS), "privateKey"));
    ecert_client *a = fed_client(F, JS, app_id(JS), hex);
    char saved[64];
    fed2_swap_url(F, JS, twin.url, saved);
    ecert_client *b = fed_client(F, JS, app_id(JS), hex);
    fed2_swap_url(F, JS, saved, saved);
    assert_non_null(a);
    assert_non_null(b);
    const struct fed2_cert *c = fed2_cert_in(&P, JS);
    for (int i = 0; i < 3 * APP_LIMIT; i++) {
        char biz[32];
        snprintf(biz, sizeof biz, "E2E-RL-%d", i);
        bool to_b = i % 5 == 1 || i % 5 == 3 || i % 7 == 0;
        ecert_client *cl = to_b ? b : a;
        struct fed2_answer ans;
        fed2_by_id(cl, false, c->id, NULL, ALL, biz, &ans);
        if (ans.code == 0) {
            accepted++;
            assert_int_equal(ecert_client_retry_after(cl), 0);
        } else {
            if (ans.code != 5003)
                print_message("call %d: %d %s\n", i, ans.code, ans.msg);
            assert_int_equal(ans.code, 5003);
            refused++;
            unsigned ra = ecert_client_retry_after(cl);
            assert_true(ra >= 1 && ra <= WINDOW_S);
        }
        fed2_answer_release(&ans);
    }
    /* The raw answer at both processes: 5003, HTTP 429, signed by the node. */
    for (int k = 0; k < 2; k++) {
        struct buf env = BUF_INIT(ENVELOPE_MAX_BODY);
        char nonce[ENVELOPE_MAX_NONCE + 1];
        js_envelope(js_app_key, k ? "E2E-RL-RAW-B" : "E2E-RL-RAW-A", &env, nonce);
        struct fed_reply r;
        js_post(k == 1, &env, nonce, &r);
        expect_rate_refusal(&r);
        fed_reply_release(&r);
        buf_release(&env);
        refused++;
    }
    print_message("per-app limit %d over %d processes (chunk %d): %d accepted, %d refused\n",
                  APP_LIMIT, PROCESSES, APP_CHUNK, accepted, refused);
    /* Never over the limit; below it by at most what the other process had
     * leased and not spent (docs/limits.md). */
    assert_true(accepted <= APP_LIMIT);
    assert_true(accepted >= APP_LIMIT - (PROCESSES - 1) * (APP_CHUNK - 1));
    assert_int_equal(accepted + refused, 3 * APP_LIMIT + 1 + 2);
    /* Every refusal counted once, by the process that answered it. */
    double refused1 = js_metric(false, "ecert_rate_limited_total", "scope=\"app\"") +
                      js_metric(true, "ecert_rate_limited_total", "scope=\"app\"");
    assert_true(refused1 - refused0 == (double)refused);
    assert_true(js_metric(false, "ecert_rate_leases_total", NULL) >= 1);
    assert_true(js_metric(true, "ecert_rate_leases_total", NULL) >= 1);
    assert_true(js_metric(false, "ecert_requests_total", "code=\"5003\"") >= 1);
    /* Logged once per window and process, naming the app, not the caller's data. */
    assert_int_equal(fed2_log_count(F, JS, mark, "event=rate_limited", "scope=app"), 1);
    assert_true(fed2_log_count(F, JS, mark, "event=rate_limited", app_id(JS)) == 1);
    /* Refused calls leave no usage record; every accepted one left one. */
    assert_int_equal(records(JS) - records0, accepted);
}

/* ---- per address, and node peers -------------------------------------------------- */

/* A search by the ZJ window app at YRD-ZJ: fans out to SH, JS and AH (via
 * the hub); every province must answer. */
static void zj_search_full(ecert_client *zj, const char *tok, const char *biz)
{
    struct fed2_answer a;
    fed2_search(zj, tok, NULL, ALL, biz, &a);
    if (a.code != 0)
        print_message("search at ZJ: %d %s\n", a.code, a.msg);
    assert_int_equal(a.code, 0);
    const json_t *un = json_object_get(a.result, "unavailable");
    if (json_array_size(un))
        print_message("unavailable: %s\n", json_string_value(json_array_get(un, 0)));
    assert_int_equal(json_array_size(un), 0);
    const json_t *list = json_object_get(a.result, "dataList");
    for (size_t i = 0; i < P.ncerts; i++)
        assert_non_null(fed2_find_id(list, P.certs[i].id));
    fed2_answer_release(&a);
}

static void test_ip_limit_and_node_peers(void **state)
{
    (void)state;
    ecert_client *trust = fed_app_client(F, TRUST, ZJ);
    ecert_client *zj = fed_app_client(F, ZJ, ZJ);
    ecert_client *sh = fed_app_client(F, SH, SH);
    assert_non_null(trust);
    assert_non_null(zj);
    assert_non_null(sh);
    char tok[FED_TOKEN_MAX];
    assert_int_equal(fed_token(trust, P.code, NULL, tok), 0);
    long mark = fed2_log_mark(F, SH);
    /* More fan-outs than SH's and the hub's address budgets: node calls
     * are not counted against them. */
    for (int i = 0; i < 2 * IP_LIMIT; i++) {
        char biz[32];
        snprintf(biz, sizeof biz, "E2E-RL-FAN-%d", i);
        zj_search_full(zj, tok, biz);
    }
    /* The SH window app at SH, from the same address as every node here:
     * exactly IP_LIMIT calls, then 5003. */
    char sh_tok[FED_TOKEN_MAX];
    ecert_client *trust_sh = fed_app_client(F, TRUST, SH);
    assert_int_equal(fed_token(trust_sh, P.code, NULL, sh_tok), 0);
    const struct fed2_cert *shc = fed2_cert_in(&P, SH);
    assert_non_null(shc);
    int accepted = 0;
    for (int i = 0; i < IP_LIMIT + 4; i++) {
        char biz[32];
        snprintf(biz, sizeof biz, "E2E-RL-IP-%d", i);
        struct fed2_answer a;
        fed2_by_id(sh, false, shc->id, sh_tok, ALL, biz, &a);
        if (i < IP_LIMIT) {
            if (a.code != 0)
                print_message("call %d at SH: %d %s\n", i, a.code, a.msg);
            assert_int_equal(a.code, 0);
            accepted++;
        } else {
            assert_int_equal(a.code, 5003);
            assert_non_null(strstr(a.msg, "from this address"));
            unsigned ra = ecert_client_retry_after(sh);
            assert_true(ra >= 1 && ra <= WINDOW_S);
        }
        fed2_answer_release(&a);
    }
    assert_int_equal(accepted, IP_LIMIT);
    assert_true(fed2_metric(F, SH, "ecert_rate_limited_total", "scope=\"ip\"") == 4);
    /* The address budget is spent; the nodes still get through to SH. */
    for (int i = 0; i < 3; i++) {
        char biz[32];
        snprintf(biz, sizeof biz, "E2E-RL-FAN-AFTER-%d", i);
        zj_search_full(zj, tok, biz);
    }
    /* Node claims that fail their signature are charged to the address:
     * IP_LIMIT of them are verified (2002), then they are refused before
     * verification (5003, no SM2 verification spent). */
    struct sm2_key *forger = fed_new_key();
    struct fed_raw_req rq = {.node = SH,
                             .endpoint = "cert/info/by-id",
                             .app_id = "node:" JS,
                             .sign_key = forger,
                             .business = "{}"};
    for (int i = 0; i < IP_LIMIT; i++) {
        struct fed_reply r;
        assert_int_equal(fed_raw(F, &rq, &r), 0);
        assert_int_equal(r.code, 2002);
        fed_reply_release(&r);
    }
    double verify0 = fed2_metric(F, SH, "ecert_crypto_operations_total", "op=\"sm2_verify\"");
    struct fed_reply r;
    assert_int_equal(fed_raw(F, &rq, &r), 0);
    assert_int_equal(r.code, 5003);
    assert_int_equal(r.http, 429);
    assert_true(r.is_signed);
    fed_reply_release(&r);
    assert_true(fed2_metric(F, SH, "ecert_crypto_operations_total", "op=\"sm2_verify\"") ==
                verify0);
    /* Counted with the address refusals (the four of the SH app and this
     * one), and logged once. */
    assert_true(fed2_metric(F, SH, "ecert_rate_limited_total", "scope=\"ip\"") == 4 + 1);
    assert_int_equal(fed2_log_count(F, SH, mark, "event=rate_limited", "scope=ipn"), 1);
    assert_int_equal(fed2_log_count(F, SH, mark, "event=rate_limited", "scope=ip "), 1);
    sm2_key_free(forger);
}

int main(void)
{
    /* PostgreSQL: the DSN of the server CTest's pg fixture started. */
    const char *pgdir = getenv("ECERT_TEST_PG_DIR");
    if (pgdir && pgdir[0]) {
        char path[1024], dsn[1024];
        snprintf(path, sizeof path, "%s/dsn", pgdir);
        char *text = fed2_slurp(path);
        if (!text) {
            fprintf(stderr, "e2e: cannot read %s\n", path);
            return 1;
        }
        snprintf(dsn, sizeof dsn, "%.*s", (int)strcspn(text, "\r\n"), text);
        free(text);
        setenv("ECERT_E2E_PG_DSN", dsn, 1);
    }
    char app_limit[16], app_chunk[16], ip_limit[16], window[16];
    snprintf(app_limit, sizeof app_limit, "%d", APP_LIMIT);
    snprintf(app_chunk, sizeof app_chunk, "%d", APP_CHUNK);
    snprintf(ip_limit, sizeof ip_limit, "%d", IP_LIMIT);
    snprintf(window, sizeof window, "%d", WINDOW_S);
    const struct fed_ini_set sets[] = {
        {JS, "limits", "rate_per_app", app_limit},
        {JS, "limits", "rate_chunk", app_chunk},
        {JS, "limits", "rate_per_ip", "0"},
        {JS, "limits", "rate_window_s", window},
        {SH, "limits", "rate_per_ip", ip_limit},
        {SH, "limits", "rate_window_s", window},
        /* Nodes only call these: any address budget would do. */
        {"YRD-HUB", "limits", "rate_per_ip", "2"},
        {"YRD-AH", "limits", "rate_per_ip", "2"},
    };
    F = fed2_start(sets, sizeof sets / sizeof sets[0], ALL);
    if (!F)
        return 1;
    const char *hex = json_string_value(json_object_get(fed_app(F, JS), "privateKey"));
    if (fed2_pick_person(F, 0, &P) != 0 || !hex ||
        sm2_key_parse_private(hex, strlen(hex), &js_app_key) != ECERT_OK ||
        fed2_twin_start(F, JS, "twin", 0, &twin) != 0) {
        fprintf(stderr, "e2e: cannot prepare the rate-limit tests\n");
        fed2_twin_stop(&twin);
        sm2_key_free(js_app_key);
        fed_finish(F, true);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_app_limit_across_processes),
        cmocka_unit_test(test_ip_limit_and_node_peers),
    };
    int failed = cmocka_run_group_tests_name(
        getenv("ECERT_E2E_PG_DSN") ? "e2e rate limits (PostgreSQL)" : "e2e rate limits (SQLite)",
        tests, NULL, NULL);
    if (fed2_twin_stop(&twin) != 0) {
        fprintf(stderr, "e2e: the second YRD-JS did not stop cleanly (see %s)\n", twin.log);
        failed = 1;
    }
    if (fed_stop_all(F) != 0)
        failed = 1;
    int unclean = fed_finish(F, failed != 0);
    sm2_key_free(js_app_key);
    return failed || unclean ? 1 : 0;
}
