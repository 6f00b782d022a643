/*
 * End to end, the federation's routing (SPEC §1, §3.4, §5): all six nodes
 * as real ecertd processes, a window app of Jiangsu talking only to YRD-JS
 * through the SDK.
 *
 *   - a holder's certificates of all four provinces in one search, and a
 *     Shanghai / Anhui certificate by id, through the hub (the hub's log and
 *     /metrics show the forward; the owners keep the usage records); the
 *     files of a holder's valid certificates across the region;
 *   - the hub hanging, then stopped: the point-to-point fallback answers, is
 *     logged and counted, the circuit to the hub opens, and the hub rejoins;
 *   - a province stopped: a partial answer naming it in `unavailable`, within
 *     the deadline, through the hub and point to point; by id, 5001;
 *   - a province impersonated by a server with its TLS identity that answers
 *     garbage, a stranger's signature, a stale nonce or no signature: treated
 *     as unavailable and logged, and its forged certificate never merged;
 *   - a province that accepts connections and never answers: every call
 *     ends within the deadlines, the nodes keep serving meanwhile, and after
 *     three failures the hub's circuit fails the province fast;
 *   - a stopped province started again rejoins by itself (after the circuit
 *     breaker's cool-down) without restarting any other node.
 *
 * Deadlines are lowered in node.ini so that nothing waits for the 10 s
 * default: hub_timeout_ms = 3000, peer_timeout_ms = 2000.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "crypto/sm3.h"
#include "http/client.h"
#include "util_fed2.h"

#define HUB "YRD-HUB"
#define SH "YRD-SH"
#define JS "YRD-JS"
#define ZJ "YRD-ZJ"
#define AH "YRD-AH"
#define TRUST "YRD-TRUST"
#define ALL "E2E-ALL-0001"

#define HUB_TIMEOUT_MS 3000
#define PEER_TIMEOUT_MS 2000
/* Scheduling, TLS handshakes and sanitizer builds: what a deadline may be
 * overrun by before the test calls it a hang. */
#define SLACK_MS 1500
/* Whatever the path, an app's call is bounded by the hub's deadline plus one
 * direct attempt (SPEC §1). */
#define CALL_BOUND_MS (HUB_TIMEOUT_MS + PEER_TIMEOUT_MS + SLACK_MS)
/* node.h: PEER_BREAK_AFTER failures open a circuit for PEER_COOLDOWN_MS. */
#define BREAK_AFTER 3
#define COOLDOWN_MS 5000
/* An answer that did not wait for any deadline. */
#define FAST_MS 1000

static struct fed *F;
static struct fed2_holder P;        /* a person with one certificate per province */
static char tok[FED_TOKEN_MAX];     /* P's token, issued to the JS window app */
static ecert_client *js;            /* the JS window app at YRD-JS */
static struct sm2_key *js_app_key;  /* the same app's key, for raw envelopes */
static const char *const provinces[] = {SH, JS, ZJ, AH};

/* Left running by a test that failed half way; the next setup removes them. */
static struct fed2_hole *hole;
static struct fed2_fake *fake;

static const char *js_app_id(void)
{
    return json_string_value(json_object_get(fed_app(F, JS), "appId"));
}

/* ---- checks of a merged answer ----------------------------------------------------- */

/* Every certificate of P outside `missing` (NULL = none) is in the list,
 * from its own province (area code of that province's region, owner region
 * in the identifier), and nothing else is. */
static void expect_certs(const json_t *list, const char *missing)
{
    size_t want = 0;
    for (size_t i = 0; i < P.ncerts; i++) {
        const struct fed2_cert *c = &P.certs[i];
        const json_t *item = fed2_find_id(list, c->id);
        if (missing && strcmp(c->province, missing) == 0) {
            assert_null(item);
            continue;
        }
        if (!item)
            print_message("%s's certificate %s is not in the answer\n", c->province, c->id);
        assert_non_null(item);
        want++;
        const char *area = json_string_value(json_object_get(item, "CertificateAreaCode"));
        assert_non_null(area);
        assert_memory_equal(area, fed2_region(F, c->province), 2);
        assert_string_equal(json_string_value(json_object_get(item, "CertificateHolderCode")),
                            P.code);
        assert_string_equal(json_string_value(json_object_get(item, "CertificateTypeCode")),
                            c->type_code);
    }
    assert_null(fed2_find_id(list, FED2_FORGED_ID));
    assert_int_equal(json_array_size(list), want);
}

/* A search answer with all four provinces. */
static void expect_full(const struct fed2_answer *a)
{
    if (a->code != 0)
        print_message("search: %d %s\n", a->code, a->msg);
    assert_int_equal(a->code, 0);
    const json_t *list = json_object_get(a->result, "dataList");
    expect_certs(list, NULL);
    assert_int_equal(json_integer_value(json_object_get(a->result, "total")),
                     json_array_size(list));
    const json_t *un = json_object_get(a->result, "unavailable");
    assert_true(json_is_array(un));
    if (json_array_size(un))
        print_message("unavailable: %s\n", json_string_value(json_array_get(un, 0)));
    assert_int_equal(json_array_size(un), 0);
}

/* A partial answer: `missing` alone is unavailable, the others answered. */
static void expect_partial(const struct fed2_answer *a, const char *missing)
{
    if (a->code != 0)
        print_message("search: %d %s\n", a->code, a->msg);
    assert_int_equal(a->code, 0);
    expect_certs(json_object_get(a->result, "dataList"), missing);
    const json_t *un = json_object_get(a->result, "unavailable");
    assert_true(json_is_array(un));
    assert_int_equal(json_array_size(un), 1);
    assert_string_equal(json_string_value(json_array_get(un, 0)), missing);
    assert_null(json_object_get(a->result, "refused"));
}

static void search(const char *biz, struct fed2_answer *a)
{
    fed2_search(js, tok, NULL, ALL, biz, a);
}

static double metric(const char *node, const char *name, const char *labels)
{
    double v = fed2_metric(F, node, name, labels);
    assert_true(v >= 0);
    return v;
}

static double fallbacks(void)
{
    return metric(JS, "ecert_fallback_total", NULL);
}

static double hub_forwards(void)
{
    return metric(HUB, "ecert_requests_total", "path=\"hub/forward\",code=\"0\"");
}

static double hub_calls_to(const char *peer)
{
    char label[48];
    snprintf(label, sizeof label, "peer=\"%s\"", peer);
    return metric(HUB, "ecert_peer_calls_total", label);
}

static double peer_up(const char *node, const char *peer)
{
    char label[48];
    snprintf(label, sizeof label, "peer=\"%s\"", peer);
    return metric(node, "ecert_peer_up", label);
}

/* ---- per-test setup: the whole federation up, routes healthy -------------------------- */

/* Starts what a failed test left stopped and waits until a search from JS
 * goes through the hub to all four provinces (a circuit a previous test
 * opened closes after its cool-down). */
static int settle(void **state)
{
    (void)state;
    fed2_hole_stop(hole);
    hole = NULL;
    fed2_fake_stop(fake);
    fake = NULL;
    if (fed2_start_missing(F) != 0)
        return -1;
    int64_t until = fed2_now_ms() + COOLDOWN_MS + 2 * CALL_BOUND_MS;
    while (fed2_now_ms() < until) {
        double fb = fed2_metric(F, JS, "ecert_fallback_total", NULL);
        struct fed2_answer a;
        search("E2E-SETTLE", &a);
        bool ok = a.code == 0 &&
                  json_array_size(json_object_get(a.result, "unavailable")) == 0 &&
                  json_array_size(json_object_get(a.result, "dataList")) == P.ncerts &&
                  fed2_metric(F, JS, "ecert_fallback_total", NULL) == fb;
        fed2_answer_release(&a);
        if (ok)
            return 0;
        fed_sleep_ms(250);
    }
    fprintf(stderr, "e2e: the federation did not settle\n");
    return -1;
}

/* ---- through the hub ----------------------------------------------------------------- */

static void test_search_through_hub(void **state)
{
    (void)state;
    long hub_mark = fed2_log_mark(F, HUB);
    long marks[4];
    for (int i = 0; i < 4; i++)
        marks[i] = fed2_log_mark(F, provinces[i]);
    double fwd = hub_forwards(), fb = fallbacks();
    double calls[4];
    for (int i = 0; i < 4; i++)
        calls[i] = hub_calls_to(provinces[i]);

    struct fed2_answer a;
    search("E2E-R-HUB-SEARCH", &a);
    expect_full(&a);
    fed2_answer_release(&a);

    /* One forward at the hub, one inner call per other province, none to
     * the asking province itself, and no fallback. */
    assert_int_equal((long)(hub_forwards() - fwd), 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal((long)(hub_calls_to(provinces[i]) - calls[i]),
                         strcmp(provinces[i], JS) == 0 ? 0 : 1);
    assert_true(fallbacks() == fb);
    assert_int_equal(fed2_log_count(F, HUB, hub_mark, "path=/api/v1/hub/forward",
                                    "app=node:YRD-JS code=0"),
                     1);
    /* Each other province answered the question as asked by YRD-JS. */
    for (int i = 0; i < 4; i++)
        if (strcmp(provinces[i], JS) != 0)
            assert_int_equal(fed2_log_count(F, provinces[i], marks[i], "path=/api/v1/cert/search",
                                            "app=node:YRD-JS code=0"),
                             1);

    /* Every province kept one usage record of the call, naming the app and
     * the requesting province (SPEC §3.4, §4.1 step 6). */
    char biz[FED_TOKEN_MAX + 32];
    snprintf(biz, sizeof biz, "{\"trustedToken\":\"%s\"}", tok);
    fed2_call(js, "records/by-holder", biz, &a);
    assert_int_equal(a.code, 0);
    size_t i, n = 0;
    json_t *r;
    bool kept[4] = {false, false, false, false};
    json_array_foreach(json_object_get(a.result, "dataList"), i, r) {
        const char *b = json_string_value(json_object_get(r, "bizNum"));
        if (!b || strcmp(b, "E2E-R-HUB-SEARCH") != 0)
            continue;
        n++;
        assert_string_equal(json_string_value(json_object_get(r, "interface")), "cert/search");
        assert_string_equal(json_string_value(json_object_get(r, "appId")), js_app_id());
        assert_string_equal(json_string_value(json_object_get(r, "requesterNode")), JS);
        assert_int_equal(json_integer_value(json_object_get(r, "result")), 0);
        const char *by = json_string_value(json_object_get(r, "keptBy"));
        assert_non_null(by);
        for (int k = 0; k < 4; k++)
            if (strcmp(by, provinces[k]) == 0) {
                assert_false(kept[k]);
                kept[k] = true;
            }
    }
    assert_int_equal(n, 4);
    for (int k = 0; k < 4; k++)
        assert_true(kept[k]);
    fed2_answer_release(&a);
}

/* A file's SM3 matches the fileSM3 it came with. */
static void expect_file(const json_t *item, const char *id)
{
    assert_string_equal(json_string_value(json_object_get(item, "CertificateID")), id);
    const char *b64 = json_string_value(json_object_get(item, "fileEntity"));
    const char *sm3hex = json_string_value(json_object_get(item, "fileSM3"));
    assert_non_null(b64);
    assert_non_null(sm3hex);
    size_t len = strlen(b64), n = 0;
    uint8_t *file = malloc(len + 1);
    assert_non_null(file);
    assert_int_equal(base64_decode(b64, len, file, len + 1, &n, 0), ECERT_OK);
    assert_true(n > 100);
    uint8_t d[SM3_LEN];
    assert_int_equal(sm3_digest(file, n, d), ECERT_OK);
    char hex[2 * SM3_LEN + 1];
    hex_encode(d, sizeof d, hex);
    assert_string_equal(hex, sm3hex);
    free(file);
}

static void test_by_id_through_hub(void **state)
{
    (void)state;
    const struct fed2_cert *sh = fed2_cert_in(&P, SH), *ah = fed2_cert_in(&P, AH),
                           *jsc = fed2_cert_in(&P, JS);
    long sh_mark = fed2_log_mark(F, SH);
    double fwd = hub_forwards(), to_sh = hub_calls_to(SH), to_ah = hub_calls_to(AH),
           to_zj = hub_calls_to(ZJ);

    /* A Shanghai certificate's file, downloaded from Jiangsu. */
    struct fed2_answer a;
    fed2_by_id(js, true, sh->id, tok, ALL, "E2E-R-HUB-FILE", &a);
    if (a.code != 0)
        print_message("file/by-id: %d %s\n", a.code, a.msg);
    assert_int_equal(a.code, 0);
    assert_int_equal(json_integer_value(json_object_get(a.result, "total")), 1);
    expect_file(json_array_get(json_object_get(a.result, "dataList"), 0), sh->id);
    fed2_answer_release(&a);
    /* Only the owner was asked. */
    assert_int_equal((long)(hub_forwards() - fwd), 1);
    assert_int_equal((long)(hub_calls_to(SH) - to_sh), 1);
    assert_true(hub_calls_to(ZJ) == to_zj && hub_calls_to(AH) == to_ah);
    assert_int_equal(fed2_log_count(F, SH, sh_mark, "path=/api/v1/cert/file/by-id",
                                    "app=node:YRD-JS code=0"),
                     1);

    /* An Anhui certificate's information, without a token. */
    fed2_by_id(js, false, ah->id, NULL, ALL, "E2E-R-HUB-INFO", &a);
    assert_int_equal(a.code, 0);
    const json_t *info = json_array_get(json_object_get(a.result, "dataList"), 0);
    assert_string_equal(json_string_value(json_object_get(info, "CertificateID")), ah->id);
    assert_memory_equal(json_string_value(json_object_get(info, "CertificateAreaCode")),
                        fed2_region(F, AH), 2);
    assert_string_equal(json_string_value(json_object_get(info, "CertificateHolderCode")), P.code);
    assert_true(json_is_object(json_object_get(info, "SurfaceData")));
    fed2_answer_release(&a);
    assert_int_equal((long)(hub_calls_to(AH) - to_ah), 1);

    /* Jiangsu's own certificate is answered from its own library. */
    fwd = hub_forwards();
    fed2_by_id(js, true, jsc->id, tok, ALL, "E2E-R-LOCAL-FILE", &a);
    assert_int_equal(a.code, 0);
    expect_file(json_array_get(json_object_get(a.result, "dataList"), 0), jsc->id);
    fed2_answer_release(&a);
    assert_true(hub_forwards() == fwd);
}

/* A person of the sample data with a certificate that is not valid in one
 * province (`*bad_in`) and valid ones elsewhere. */
static bool pick_mixed(struct fed2_holder *h, const char **bad_in)
{
    size_t i, k;
    json_t *hj, *c;
    json_array_foreach(json_object_get(F->json, "holders"), i, hj) {
        memset(h, 0, sizeof *h);
        h->code = json_string_value(json_object_get(hj, "code"));
        h->type = json_string_value(json_object_get(hj, "type"));
        *bad_in = NULL;
        if (!h->code || !h->type || strcmp(h->type, "111") != 0)
            continue; /* a person: fed_token asks for an ID card number */
        size_t bad = 0;
        json_array_foreach(json_object_get(hj, "certificates"), k, c) {
            if (h->ncerts == FED2_MAX_CERTS)
                break;
            struct fed2_cert *fc = &h->certs[h->ncerts++];
            fc->id = json_string_value(json_object_get(c, "id"));
            fc->province = json_string_value(json_object_get(c, "province"));
            fc->status = json_string_value(json_object_get(c, "status"));
            if (fc->status && strcmp(fc->status, "valid") != 0) {
                bad++;
                *bad_in = fc->province;
            }
        }
        if (bad == 1 && h->ncerts > 1)
            return true;
    }
    return false;
}

/* file/by-holder at `province`: the files of every valid certificate of `h`
 * across the federation, and none of the others. */
static void expect_files_of(const char *province, const struct fed2_holder *h, const char *biz,
                            char tok_h[FED_TOKEN_MAX])
{
    ecert_client *c = fed_app_client(F, province, province);
    assert_non_null(c);
    ecert_purpose p;
    fed_purpose(&p, ALL, biz);
    int code = -1;
    char *res = NULL, *msg = NULL;
    assert_int_equal(ecert_cert_file_by_holder(c, tok_h, NULL, NULL, &p, &code, &res, &msg),
                     ECERT_OK);
    if (code != 0)
        print_message("file/by-holder at %s: %d %s\n", province, code, msg ? msg : "");
    ecert_free(msg);
    assert_int_equal(code, 0);
    json_t *r = json_loads(res, 0, NULL);
    ecert_free(res);
    const json_t *list = json_object_get(r, "dataList");
    size_t valid = 0;
    for (size_t i = 0; i < h->ncerts; i++) {
        const json_t *item = fed2_find_id(list, h->certs[i].id);
        if (strcmp(h->certs[i].status, "valid") != 0) {
            assert_null(item);
            continue;
        }
        assert_non_null(item);
        expect_file(item, h->certs[i].id);
        valid++;
    }
    assert_int_equal(json_array_size(list), valid);
    json_decref(r);
}

static void test_files_by_holder_across_provinces(void **state)
{
    (void)state;
    struct fed2_holder h;
    const char *bad_in = NULL;
    assert_true(pick_mixed(&h, &bad_in));
    char tok_h[FED_TOKEN_MAX];
    ecert_client *trust = fed_app_client(F, TRUST, JS);
    assert_non_null(trust);
    assert_int_equal(fed_token(trust, h.code, NULL, tok_h), 0);
    /* Asked where the holder's certificate is valid: every valid file of
     * the region, the unusable one left out. */
    const char *good_in = NULL;
    for (size_t i = 0; i < h.ncerts && !good_in; i++)
        if (strcmp(h.certs[i].province, bad_in) != 0)
            good_in = h.certs[i].province;
    expect_files_of(good_in, &h, "E2E-R-FILES-GOOD", tok_h);
    /* Asked where the holder's only certificate is not usable, the answer
     * is the same: that province refuses its own file (4002, recorded) but
     * still gathers the usable files of the others. */
    expect_files_of(bad_in, &h, "E2E-R-FILES-BAD", tok_h);
}

/* ---- the hub hanging, then gone ---------------------------------------------------------- */

static void test_hub_down_fallback(void **state)
{
    (void)state;
    const struct fed2_cert *sh = fed2_cert_in(&P, SH);
    assert_int_equal(fed_stop_node(F, HUB), 0);
    double fb = fallbacks();
    long mark = fed2_log_mark(F, JS);

    /* A hub that accepts and never answers: the province waits
     * hub_timeout_ms (the standard's 10-second rule, lowered), then asks the
     * provinces directly. */
    hole = fed2_hole_start(fed2_port(F, HUB));
    assert_non_null(hole);
    struct fed2_answer a;
    search("E2E-R-FB-HANG", &a);
    expect_full(&a);
    print_message("search with a hanging hub: %lld ms\n", (long long)a.ms);
    assert_true(a.ms >= HUB_TIMEOUT_MS - 100);
    assert_true(a.ms < HUB_TIMEOUT_MS + PEER_TIMEOUT_MS + SLACK_MS);
    fed2_answer_release(&a);
    assert_true(fed2_hole_accepted(hole) >= 1);
    assert_true(fallbacks() == fb + 1);
    assert_int_equal(fed2_log_count(F, JS, mark, "event=fallback", "endpoint=cert/search"), 1);
    fed2_hole_stop(hole);
    hole = NULL;

    /* No hub at all: the refused connection sends the province direct at
     * once, for by-id as for search. */
    fed2_by_id(js, true, sh->id, tok, ALL, "E2E-R-FB-FILE", &a);
    assert_int_equal(a.code, 0);
    expect_file(json_array_get(json_object_get(a.result, "dataList"), 0), sh->id);
    assert_true(a.ms < FAST_MS);
    fed2_answer_release(&a);
    search("E2E-R-FB-GONE", &a);
    expect_full(&a);
    assert_true(a.ms < FAST_MS);
    fed2_answer_release(&a);
    assert_true(fallbacks() == fb + 3);
    assert_int_equal(fed2_log_count(F, JS, mark, "event=fallback", NULL), 3);

    /* Three failures opened JS's circuit to the hub: the hub is not even
     * tried, and the answers still come (fallback counted each time). */
    assert_true(peer_up(JS, HUB) == 0);
    search("E2E-R-FB-OPEN", &a);
    expect_full(&a);
    assert_true(a.ms < FAST_MS);
    fed2_answer_release(&a);
    assert_true(fallbacks() == fb + 4);
    assert_int_equal(fed2_log_count(F, JS, mark, "event=fallback", "circuit open"), 1);

    /* The hub comes back; after the cool-down JS routes through it again,
     * without a restart of JS. */
    assert_int_equal(fed2_start_node(F, HUB), 0);
    int64_t t0 = fed2_now_ms();
    double fwd = hub_forwards();
    bool back = false;
    while (!back && fed2_now_ms() - t0 < COOLDOWN_MS + 3000) {
        search("E2E-R-FB-BACK", &a);
        assert_int_equal(a.code, 0);
        fed2_answer_release(&a);
        back = hub_forwards() > fwd;
        if (!back)
            fed_sleep_ms(200);
    }
    assert_true(back);
    assert_true(peer_up(JS, HUB) == 1);
}

/* ---- a province stopped ------------------------------------------------------------------ */

/* A by-id of `id` as a raw envelope through JS: the code and HTTP status. */
static void raw_by_id(const char *id, const char *biz, int *code, int *http, char *msg,
                      size_t cap, int64_t *ms)
{
    char business[1024];
    ecert_purpose p;
    fed_purpose(&p, ALL, biz);
    snprintf(business, sizeof business,
             "{\"CertificateID\":\"%s\",\"UseFor\":\"%s\",\"itemName\":\"%s\",\"itemCode\":\"%s\","
             "\"itemOrg\":\"%s\",\"operator\":\"%s\",\"bizNum\":\"%s\"}",
             id, p.use_for, p.item_name, p.item_code, p.item_org, p.operator_name, p.biz_num);
    struct fed_raw_req rq = {.node = JS,
                             .endpoint = "cert/info/by-id",
                             .app_id = js_app_id(),
                             .sign_key = js_app_key,
                             .business = business};
    struct fed_reply r;
    int64_t t0 = fed2_now_ms();
    assert_int_equal(fed_raw(F, &rq, &r), 0);
    *ms = fed2_now_ms() - t0;
    assert_true(r.is_signed);
    *code = r.code;
    *http = r.http;
    snprintf(msg, cap, "%s", r.msg);
    fed_reply_release(&r);
}

static void test_province_stopped(void **state)
{
    (void)state;
    assert_int_equal(fed_stop_node(F, AH), 0);
    long js_mark = fed2_log_mark(F, JS), hub_mark = fed2_log_mark(F, HUB);

    /* Through the hub: partial, at once (the refused connection needs no
     * deadline), and logged at both. */
    struct fed2_answer a;
    search("E2E-R-AH-DOWN", &a);
    expect_partial(&a, AH);
    assert_true(a.ms < FAST_MS);
    fed2_answer_release(&a);
    assert_int_equal(fed2_log_count(F, JS, js_mark, "event=unavailable", "peer=YRD-AH"), 1);
    assert_int_equal(fed2_log_count(F, HUB, hub_mark, "event=forward_failed", "peer=YRD-AH"), 1);

    /* By id, the owner's absence is the answer: 5001 naming it. */
    int code, http;
    char msg[1200];
    int64_t ms;
    raw_by_id(fed2_cert_in(&P, AH)->id, "E2E-R-AH-BYID", &code, &http, msg, sizeof msg, &ms);
    assert_int_equal(code, 5001);
    assert_int_equal(http, fed_spec_http(5001));
    assert_non_null(strstr(msg, AH));
    assert_true(ms < CALL_BOUND_MS);

    /* Point to point (no hub): the same partial answer, and the fallback. */
    assert_int_equal(fed_stop_node(F, HUB), 0);
    double fb = fallbacks();
    js_mark = fed2_log_mark(F, JS);
    search("E2E-R-AH-DOWN-P2P", &a);
    expect_partial(&a, AH);
    assert_true(a.ms < FAST_MS);
    fed2_answer_release(&a);
    assert_true(fallbacks() == fb + 1);
    assert_int_equal(fed2_log_count(F, JS, js_mark, "event=unavailable", "peer=YRD-AH"), 1);
    assert_int_equal(fed2_start_node(F, HUB), 0);
    assert_int_equal(fed2_start_node(F, AH), 0);
}

/* ---- impostors: garbage, a stranger's signature, a stale nonce, no signature ----------- */

static void impostor_round(enum fed2_fake_mode mode, const char *biz, const char *event)
{
    fake = fed2_fake_start(F, ZJ, mode);
    assert_non_null(fake);
    long js_mark = fed2_log_mark(F, JS);
    struct fed2_answer a;
    search(biz, &a);
    /* Unavailable, and what it sent is not merged (expect_certs checks
     * that the forged certificate is absent). */
    expect_partial(&a, ZJ);
    assert_true(a.ms < CALL_BOUND_MS);
    fed2_answer_release(&a);
    assert_true(fed2_fake_hits(fake) >= 1);
    if (fed2_log_count(F, JS, js_mark, event, "peer=YRD-ZJ") < 1)
        print_message("no '%s peer=YRD-ZJ' in YRD-JS's log for %s\n", event, biz);
    assert_true(fed2_log_count(F, JS, js_mark, event, "peer=YRD-ZJ") >= 1);
    assert_true(fed2_log_count(F, JS, js_mark, "event=unavailable", "peer=YRD-ZJ") >= 1);
    fed2_fake_stop(fake);
    fake = NULL;
}

static void test_province_impostors(void **state)
{
    (void)state;
    assert_int_equal(fed_stop_node(F, ZJ), 0);

    /* Garbage: the hub itself refuses to carry it (not an envelope). */
    long hub_mark = fed2_log_mark(F, HUB);
    impostor_round(FAKE_GARBAGE, "E2E-R-ZJ-GARBAGE", "event=unavailable");
    assert_int_equal(fed2_log_count(F, HUB, hub_mark, "event=forward_failed", "peer=YRD-ZJ"), 1);
    /* Envelopes that look right but are not ZJ's answer to this request: the
     * hub carries them (it cannot tell), the requesting province refuses. */
    impostor_round(FAKE_WRONG_KEY, "E2E-R-ZJ-WRONGKEY", "event=bad_answer");
    impostor_round(FAKE_STALE, "E2E-R-ZJ-STALE", "event=bad_answer");
    impostor_round(FAKE_UNSIGNED, "E2E-R-ZJ-UNSIGNED", "event=bad_answer");

    /* By id, a forged answer is not passed on as the certificate: 5001. */
    fake = fed2_fake_start(F, ZJ, FAKE_WRONG_KEY);
    assert_non_null(fake);
    int code, http;
    char msg[1200];
    int64_t ms;
    raw_by_id(fed2_cert_in(&P, ZJ)->id, "E2E-R-ZJ-BYID", &code, &http, msg, sizeof msg, &ms);
    assert_int_equal(code, 5001);
    assert_int_equal(http, fed_spec_http(5001));
    assert_non_null(strstr(msg, ZJ));
    fed2_fake_stop(fake);
    fake = NULL;

    /* Point to point, the requesting province checks the same way. */
    assert_int_equal(fed_stop_node(F, HUB), 0);
    impostor_round(FAKE_WRONG_KEY, "E2E-R-ZJ-WRONGKEY-P2P", "event=bad_answer");
    assert_int_equal(fed2_start_node(F, HUB), 0);
    assert_int_equal(fed2_start_node(F, ZJ), 0);
}

/* ---- a province that never answers -------------------------------------------------------- */

struct bg_search {
    ecert_client *c;
    struct fed2_answer a;
};

static void *bg_search_run(void *arg)
{
    struct bg_search *b = arg;
    fed2_search(b->c, tok, NULL, ALL, "E2E-R-ZJ-HANG-BG", &b->a);
    return NULL;
}

/* How long /healthz of `node` takes through `hc` (NULL: a new connection). */
static int64_t healthz_ms(const char *node, struct http_client *hc)
{
    struct http_client *own = NULL;
    if (!hc) {
        assert_int_equal(http_client_new(F->ca, &own), ECERT_OK);
        hc = own;
    }
    char url[128];
    snprintf(url, sizeof url, "%s/healthz", fed_node(F, node)->url);
    struct buf body = BUF_INIT(4096);
    int http = 0;
    int64_t t0 = fed2_now_ms();
    ecert_status st = http_client_get(hc, url, CALL_BOUND_MS, &http, &body);
    int64_t ms = fed2_now_ms() - t0;
    buf_release(&body);
    http_client_free(own);
    assert_int_equal(st, ECERT_OK);
    assert_int_equal(http, 200);
    return ms;
}

/* Kept-alive connections to a node, opened before a hold-up: the server's
 * pool spreads them over its threads. */
#define KEPT 6

static void test_province_hangs(void **state)
{
    (void)state;
    assert_int_equal(fed_stop_node(F, ZJ), 0);
    hole = fed2_hole_start(fed2_port(F, ZJ));
    assert_non_null(hole);
    long hub_mark = fed2_log_mark(F, HUB);

    /* 1. By id: the hub's per-target deadline answers 5002 (HTTP 504). */
    int code, http;
    char msg[1200];
    int64_t ms;
    raw_by_id(fed2_cert_in(&P, ZJ)->id, "E2E-R-ZJ-HANG-BYID", &code, &http, msg, sizeof msg, &ms);
    print_message("by id from a hanging province: %d in %lld ms\n", code, (long long)ms);
    assert_int_equal(code, 5002);
    assert_int_equal(http, fed_spec_http(5002));
    assert_true(ms >= PEER_TIMEOUT_MS - 100 && ms < CALL_BOUND_MS);

    /* 2. A search held up by the hanging province does not hold up the
     * nodes: JS and the hub answer others meanwhile. */
    struct http_client *kept[KEPT];
    for (int i = 0; i < KEPT; i++) {
        assert_int_equal(http_client_new(F->ca, &kept[i]), ECERT_OK);
        healthz_ms(JS, kept[i]);
    }
    struct bg_search bg = {.c = fed_app_client(F, JS, JS)};
    assert_non_null(bg.c);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bg_search_run, &bg), 0);
    fed_sleep_ms(PEER_TIMEOUT_MS / 4);
    int64_t fresh_js = healthz_ms(JS, NULL), fresh_hub = healthz_ms(HUB, NULL), worst = 0;
    for (int i = 0; i < KEPT; i++) {
        int64_t ms_i = healthz_ms(JS, kept[i]);
        worst = ms_i > worst ? ms_i : worst;
        http_client_free(kept[i]);
    }
    pthread_join(th, NULL);
    print_message("/healthz during the hold-up: JS %lld ms, hub %lld ms (new connections); "
                  "JS %lld ms at worst on %d kept-alive connections\n",
                  (long long)fresh_js, (long long)fresh_hub, (long long)worst, KEPT);
    /* New and kept-alive connections alike are served at once: the held-up
     * call holds only its handler thread, not an I/O thread (docs/http.md). */
    assert_true(fresh_js < FAST_MS && fresh_hub < FAST_MS);
    assert_true(worst < FAST_MS);
    expect_partial(&bg.a, ZJ);
    assert_true(bg.a.ms >= PEER_TIMEOUT_MS - 100 && bg.a.ms < CALL_BOUND_MS);
    fed2_answer_release(&bg.a);

    /* 3. The third failure opens the hub's circuit to ZJ... */
    struct fed2_answer a;
    search("E2E-R-ZJ-HANG-3", &a);
    expect_partial(&a, ZJ);
    assert_true(a.ms >= PEER_TIMEOUT_MS - 100 && a.ms < CALL_BOUND_MS);
    fed2_answer_release(&a);
    assert_int_equal(fed2_log_count(F, HUB, hub_mark, "event=forward_failed",
                                    "peer=YRD-ZJ code=5002"),
                     BREAK_AFTER);
    assert_true(peer_up(HUB, ZJ) == 0);
    /* ...so that a dead province costs one fast failure, not a deadline. */
    unsigned accepted = fed2_hole_accepted(hole);
    search("E2E-R-ZJ-HANG-OPEN", &a);
    expect_partial(&a, ZJ);
    assert_true(a.ms < FAST_MS);
    fed2_answer_release(&a);
    assert_int_equal(fed2_hole_accepted(hole), accepted);

    /* 4. Point to point, the requesting province's own deadline holds. */
    assert_int_equal(fed_stop_node(F, HUB), 0);
    search("E2E-R-ZJ-HANG-P2P", &a);
    expect_partial(&a, ZJ);
    print_message("search, no hub, hanging province: %lld ms\n", (long long)a.ms);
    assert_true(a.ms >= PEER_TIMEOUT_MS - 100 && a.ms < PEER_TIMEOUT_MS + SLACK_MS);
    fed2_answer_release(&a);
    assert_true(fed2_hole_accepted(hole) > accepted);

    fed2_hole_stop(hole);
    hole = NULL;
    assert_int_equal(fed2_start_node(F, HUB), 0);
    assert_int_equal(fed2_start_node(F, ZJ), 0);
}

/* ---- a province restarted ------------------------------------------------------------------- */

static void test_province_rejoins(void **state)
{
    (void)state;
    pid_t pids[FED_MAX_NODES];
    for (size_t i = 0; i < F->nnodes; i++)
        pids[i] = F->nodes[i].pid;
    assert_int_equal(fed_stop_node(F, SH), 0);

    /* Enough failures to open the hub's circuit to SH. */
    struct fed2_answer a;
    for (int i = 0; i < BREAK_AFTER; i++) {
        search("E2E-R-SH-DOWN", &a);
        expect_partial(&a, SH);
        fed2_answer_release(&a);
    }
    assert_true(peer_up(HUB, SH) == 0);

    /* Started again, alone: within the cool-down (plus a trial call) SH
     * answers again; until then answers stay partial and fast. */
    assert_int_equal(fed2_start_node(F, SH), 0);
    int64_t t0 = fed2_now_ms();
    bool back = false;
    int partial = 0;
    while (!back && fed2_now_ms() - t0 < COOLDOWN_MS + 3000) {
        search("E2E-R-SH-BACK", &a);
        assert_int_equal(a.code, 0);
        back = json_array_size(json_object_get(a.result, "unavailable")) == 0;
        if (back) {
            expect_full(&a);
        } else {
            expect_partial(&a, SH);
            assert_true(a.ms < FAST_MS);
            partial++;
        }
        fed2_answer_release(&a);
        if (!back)
            fed_sleep_ms(200);
    }
    print_message("SH rejoined %lld ms after its start (%d partial answers meanwhile)\n",
                  (long long)(fed2_now_ms() - t0), partial);
    assert_true(back);
    assert_true(peer_up(HUB, SH) == 1);
    fed2_by_id(js, true, fed2_cert_in(&P, SH)->id, tok, ALL, "E2E-R-SH-BACK-FILE", &a);
    assert_int_equal(a.code, 0);
    fed2_answer_release(&a);

    /* Nobody else was restarted. */
    for (size_t i = 0; i < F->nnodes; i++)
        if (strcmp(F->nodes[i].id, SH) != 0)
            assert_int_equal(F->nodes[i].pid, pids[i]);
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(void)
{
    char hub_ms[16], peer_ms[16];
    snprintf(hub_ms, sizeof hub_ms, "%d", HUB_TIMEOUT_MS);
    snprintf(peer_ms, sizeof peer_ms, "%d", PEER_TIMEOUT_MS);
    struct fed_ini_set sets[16];
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        sets[n++] = (struct fed_ini_set){provinces[i], "federation", "hub_timeout_ms", hub_ms};
        sets[n++] = (struct fed_ini_set){provinces[i], "federation", "peer_timeout_ms", peer_ms};
    }
    sets[n++] = (struct fed_ini_set){HUB, "federation", "peer_timeout_ms", peer_ms};
    F = fed2_start(sets, n, ALL);
    if (!F)
        return 1;
    const char *hex = json_string_value(json_object_get(fed_app(F, JS), "privateKey"));
    js = fed_app_client(F, JS, JS);
    ecert_client *trust = fed_app_client(F, TRUST, JS);
    if (fed2_pick_person(F, 0, &P) != 0 || !js || !trust || !hex ||
        sm2_key_parse_private(hex, strlen(hex), &js_app_key) != ECERT_OK ||
        fed_token(trust, P.code, NULL, tok) != 0) {
        fprintf(stderr, "e2e: cannot prepare the federation routing tests\n");
        fed_finish(F, true);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_search_through_hub, settle),
        cmocka_unit_test_setup(test_by_id_through_hub, settle),
        cmocka_unit_test_setup(test_files_by_holder_across_provinces, settle),
        cmocka_unit_test_setup(test_hub_down_fallback, settle),
        cmocka_unit_test_setup(test_province_stopped, settle),
        cmocka_unit_test_setup(test_province_impostors, settle),
        cmocka_unit_test_setup(test_province_hangs, settle),
        cmocka_unit_test_setup(test_province_rejoins, settle),
    };
    /* ECERT_E2E_FILTER=pattern runs the matching tests only. */
    const char *filter = getenv("ECERT_E2E_FILTER");
    if (filter && filter[0])
        cmocka_set_test_filter(filter);
    int64_t t0 = fed2_now_ms();
    int failed = cmocka_run_group_tests_name("e2e federation routing", tests, NULL, NULL);
    fed2_hole_stop(hole);
    fed2_fake_stop(fake);
    /* Every node, restarted or not, must still stop cleanly. */
    int unclean = fed_finish(F, failed != 0);
    sm2_key_free(js_app_key);
    fprintf(stderr, "e2e federation routing: %lld ms\n", (long long)(fed2_now_ms() - t0));
    return failed || unclean ? 1 : 0;
}
