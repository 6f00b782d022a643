/*
 * End to end on PostgreSQL: the local federation with every node's store in
 * one PostgreSQL server (federation init --store postgres; one schema per
 * node), on a private server this test starts and stops (scripts/pg.sh).
 *
 *   - the sharing calls work and record, and the chain verifies;
 *   - a second ecertd for YRD-JS on the same database (as behind a load
 *     balancer): an envelope answered by one process is a replay at the
 *     other; both append to one intact chain under concurrent load;
 *   - an app disabled at the trust node: once one JS process learns it (a
 *     third process, whose app cache lasts a second), the others refuse it
 *     (3001) within seconds though their own cache would hold it for an
 *     hour (app invalidations in the store), and likewise when it is
 *     enabled again;
 *   - the server stopped and started under load: calls fail fast with 5000
 *     while it is down, the nodes recover by themselves, and every call that
 *     was answered has exactly one usage record;
 *   - every node, and the second JS process, shut down cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "envelope/envelope.h"
#include "http/client.h"
#include "util_fed.h"
#include "util_fed2.h"

#define JS "YRD-JS"
#define PATH "/api/v1/cert/info/by-id"

static struct fed *F;
static char pg_state[256];  /* scripts/pg.sh state of the private server */
static char pg_dsn[1024];   /* its DSN */
static char js_dsn[2048];   /* YRD-JS's [store] dsn, from its node.ini */
static struct sm2_key *js_app_key;
static const char *js_app_id;
static const char *cert_id;  /* a valid certificate kept by JS */
static const char *scene;    /* a scene that allows its type */
static struct fed2_twin js_b; /* the second JS process */
static struct fed2_twin js_c; /* the third (test_pg_app_disable_...) */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pg_sh(const char *verb)
{
    const char *sh = getenv("ECERT_PG_SH");
    if (!sh)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execlp("bash", "bash", sh, verb, pg_state, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the data and the second JS process ----------------------------------- */

static int pick_data(void)
{
    js_app_id = json_string_value(json_object_get(fed_app(F, JS), "appId"));
    const char *hex = json_string_value(json_object_get(fed_app(F, JS), "privateKey"));
    if (!js_app_id || !hex || sm2_key_parse_private(hex, strlen(hex), &js_app_key) != ECERT_OK)
        return -1;
    size_t i, k, m, t;
    json_t *h, *c, *s, *ty;
    json_array_foreach(json_object_get(F->json, "holders"), i, h) {
        json_array_foreach(json_object_get(h, "certificates"), k, c) {
            if (strcmp(json_string_value(json_object_get(c, "province")), JS) != 0 ||
                strcmp(json_string_value(json_object_get(c, "status")), "valid") != 0)
                continue;
            const char *tc = json_string_value(json_object_get(c, "typeCode"));
            json_array_foreach(json_object_get(F->json, "scenes"), m, s) {
                json_array_foreach(json_object_get(s, "types"), t, ty) {
                    if (strcmp(json_string_value(ty), tc) == 0) {
                        cert_id = json_string_value(json_object_get(c, "id"));
                        scene = json_string_value(json_object_get(s, "itemCode"));
                        return 0;
                    }
                }
            }
        }
    }
    return -1;
}

/* The second JS process: its app cache lasts an hour, so that only another
 * process can make it drop an app early (test_pg_app_disable_across_...). */
static int start_js_b(void)
{
    return fed2_twin_start(F, JS, "b", 3600, &js_b);
}

/* ---- calls ------------------------------------------------------------------------ */

/* A by-id call from the JS demo app, tagged `biz`, as an envelope. */
static void envelope_for(const char *biz, struct buf *env, char nonce[ENVELOPE_MAX_NONCE + 1])
{
    char business[1024];
    ecert_purpose p;
    fed_purpose(&p, scene, biz);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "CertificateID", cert_id, "UseFor",
                          p.use_for, "itemName", p.item_name, "itemCode", p.item_code, "itemOrg",
                          p.item_org, "operator", p.operator_name, "bizNum", p.biz_num);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_non_null(text);
    snprintf(business, sizeof business, "%s", text);
    free(text);
    struct fed_raw_req rq = {.node = JS,
                             .endpoint = "cert/info/by-id",
                             .app_id = js_app_id,
                             .sign_key = js_app_key,
                             .business = business};
    assert_int_equal(fed_envelope(F, &rq, env, nonce), 0);
}

/* POSTs an envelope to JS (process A, url NULL) or to another JS process
 * at `url`; the answer's code, or -1 when no HTTP answer came. fed_post
 * reads the URL from the node entry, so for another process the entry
 * points at it for the call (the same key and certificate: it is the same
 * node). Main thread only (the harness' HTTP client is for one thread). */
static int post_at(const char *url, const struct buf *env, const char *nonce)
{
    struct fed_reply r;
    int rc;
    if (url) {
        size_t i = 0;
        while (strcmp(F->nodes[i].id, JS) != 0)
            i++;
        char saved[sizeof F->nodes[i].url];
        memcpy(saved, F->nodes[i].url, sizeof saved);
        snprintf(F->nodes[i].url, sizeof F->nodes[i].url, "%s", url);
        rc = fed_post(F, JS, PATH, env->data, env->len, js_app_key, nonce, &r);
        memcpy(F->nodes[i].url, saved, sizeof saved);
    } else {
        rc = fed_post(F, JS, PATH, env->data, env->len, js_app_key, nonce, &r);
    }
    int code = rc == 0 ? r.code : -1;
    if (rc == 0)
        fed_reply_release(&r);
    return code;
}

static int post(bool to_b, const struct buf *env, const char *nonce)
{
    return post_at(to_b ? js_b.url : NULL, env, nonce);
}

static int call_at(const char *url, const char *biz)
{
    struct buf env = BUF_INIT(ENVELOPE_MAX_BODY);
    char nonce[ENVELOPE_MAX_NONCE + 1];
    envelope_for(biz, &env, nonce);
    int code = post_at(url, &env, nonce);
    buf_release(&env);
    return code;
}

static int call(bool to_b, const char *biz)
{
    return call_at(to_b ? js_b.url : NULL, biz);
}

/* The SDK clients of one load thread (an HTTP client is for one thread):
 * the JS demo app calling process A and process B. */
struct callers {
    ecert_key *key;
    ecert_client *a, *b;
};

static int callers_new(struct callers *c)
{
    memset(c, 0, sizeof *c);
    const struct fed_node *js = fed_node(F, JS);
    const char *hex = json_string_value(json_object_get(fed_app(F, JS), "privateKey"));
    if (ecert_key_parse_private(hex, strlen(hex), &c->key) != ECERT_OK ||
        ecert_client_new(js->url, F->ca, js_app_id, c->key, js->epub, &c->a) != ECERT_OK ||
        ecert_client_new(js_b.url, F->ca, js_app_id, c->key, js->epub, &c->b) != ECERT_OK)
        return -1;
    return 0;
}

static void callers_free(struct callers *c)
{
    ecert_client_free(c->a);
    ecert_client_free(c->b);
    ecert_key_free(c->key);
}

/* A by-id call through the SDK; the answer's code, -1 without one. */
static int sdk_call(ecert_client *c, const char *biz)
{
    ecert_purpose p;
    fed_purpose(&p, scene, biz);
    int code = -1;
    char *res = NULL, *msg = NULL;
    ecert_status st = ecert_cert_info_by_id(c, cert_id, NULL, &p, &code, &res, &msg);
    ecert_free(res);
    ecert_free(msg);
    return st == ECERT_OK ? code : -1;
}

/* ---- YRD-JS's records, straight from its schema -------------------------------- */

/* YRD-JS's [store] dsn line, as federation init wrote it. */
static int read_js_dsn(void)
{
    FILE *fp = fopen(fed_node(F, JS)->ini, "r");
    char line[2048];
    int rc = -1;
    while (fp && fgets(line, sizeof line, fp))
        if (strncmp(line, "dsn = ", 6) == 0) {
            line[strcspn(line, "\r\n")] = 0;
            size_t n = strlen(line + 6);
            if (n < sizeof js_dsn) {
                memcpy(js_dsn, line + 6, n + 1);
                rc = 0;
            }
        }
    if (fp)
        fclose(fp);
    return rc;
}

static PGresult *js_query(const char *sql)
{
    PGconn *c = PQconnectdb(js_dsn);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQfinish(c);
    return r;
}

/* Records per bizNum: every `want` one exactly once, none twice. */
static void check_records(const char *const *want, size_t nwant)
{
    PGresult *r = js_query("SELECT biz_num, count(*) FROM usage_records GROUP BY biz_num");
    for (int i = 0; i < PQntuples(r); i++)
        if (strcmp(PQgetvalue(r, i, 1), "1") != 0)
            fail_msg("bizNum %s has %s records", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
    for (size_t k = 0; k < nwant; k++) {
        bool found = false;
        for (int i = 0; i < PQntuples(r) && !found; i++)
            found = strcmp(PQgetvalue(r, i, 0), want[k]) == 0;
        if (!found)
            fail_msg("an answered call (bizNum %s) has no record", want[k]);
    }
    PQclear(r);
}

static void check_chain(void)
{
    const struct fed_node *js = fed_node(F, JS);
    char out[256];
    assert_int_equal(fed_cli(F, out, sizeof out, "records", "verify", "--config", js->ini, NULL),
                     0);
    assert_non_null(strstr(out, "chain intact"));
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_pg_calls_and_records(void **state)
{
    (void)state;
    assert_int_equal(call(false, "PG-A-1"), 0);
    assert_int_equal(call(true, "PG-B-1"), 0);
    const char *want[] = {"PG-A-1", "PG-B-1"};
    check_records(want, 2);
    check_chain();
}

static void test_pg_replay_across_processes(void **state)
{
    (void)state;
    for (int first_b = 0; first_b < 2; first_b++) {
        struct buf env = BUF_INIT(ENVELOPE_MAX_BODY);
        char nonce[ENVELOPE_MAX_NONCE + 1];
        envelope_for(first_b ? "PG-RP-2" : "PG-RP-1", &env, nonce);
        assert_int_equal(post(first_b, &env, nonce), 0);
        assert_int_equal(post(!first_b, &env, nonce), 2004);
        buf_release(&env);
    }
}

/* Concurrent callers on both processes, optionally through an outage. */
#define LOAD_THREADS 4
#define LOAD_MAX 4000

struct load {
    atomic_bool stop;
    atomic_long ok, failed, max_fail_ms;
    atomic_long last_ok_ms;
    char biz[LOAD_THREADS][LOAD_MAX][24];
    bool answered[LOAD_THREADS][LOAD_MAX];
    int n[LOAD_THREADS];
    int round;
};

struct load_arg {
    struct load *l;
    int t;
};

static void *load_worker(void *arg)
{
    struct load_arg *a = arg;
    struct load *l = a->l;
    struct callers cs;
    if (callers_new(&cs) != 0) {
        fprintf(stderr, "  cannot make the SDK clients: %s\n", ecert_last_error());
        callers_free(&cs);
        atomic_fetch_add(&l->failed, 1000000);
        return NULL;
    }
    for (int i = 0; i < LOAD_MAX && !atomic_load(&l->stop); i++) {
        snprintf(l->biz[a->t][i], sizeof l->biz[a->t][i], "L%d-%d-%d", l->round, a->t, i);
        int64_t t0 = mono_ms();
        int code = sdk_call((a->t + i) % 2 == 1 ? cs.b : cs.a, l->biz[a->t][i]);
        int64_t took = mono_ms() - t0;
        l->n[a->t] = i + 1;
        if (code == 0) {
            l->answered[a->t][i] = true;
            atomic_fetch_add(&l->ok, 1);
            atomic_store(&l->last_ok_ms, (long)mono_ms());
        } else {
            if (code != 5000)
                fprintf(stderr, "  call answered %d\n", code);
            atomic_fetch_add(&l->failed, 1);
            long prev = atomic_load(&l->max_fail_ms);
            while (took > prev && !atomic_compare_exchange_weak(&l->max_fail_ms, &prev, took))
                ;
            fed_sleep_ms(20);
        }
    }
    callers_free(&cs);
    return NULL;
}

static void run_load(struct load *l, bool outage)
{
    pthread_t th[LOAD_THREADS];
    struct load_arg args[LOAD_THREADS];
    for (int t = 0; t < LOAD_THREADS; t++) {
        args[t] = (struct load_arg){l, t};
        assert_int_equal(pthread_create(&th[t], NULL, load_worker, &args[t]), 0);
    }
    fed_sleep_ms(1500);
    if (outage) {
        long failed0 = atomic_load(&l->failed);
        assert_int_equal(pg_sh("stop"), 0);
        int64_t down = mono_ms();
        fed_sleep_ms(1500);
        /* Down: calls are refused (5000), none is answered. */
        assert_true(atomic_load(&l->failed) > failed0);
        assert_true(atomic_load(&l->last_ok_ms) <= down + 200);
        assert_int_equal(pg_sh("start"), 0);
        int64_t up = mono_ms();
        bool back = false;
        for (int i = 0; i < 300 && !back; i++) {
            back = atomic_load(&l->last_ok_ms) > up;
            fed_sleep_ms(50);
        }
        assert_true(back);
        fprintf(stderr, "  answering again %" PRId64 " ms after the server was back\n",
                atomic_load(&l->last_ok_ms) - up);
        fed_sleep_ms(1000);
    }
    atomic_store(&l->stop, true);
    for (int t = 0; t < LOAD_THREADS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    fprintf(stderr, "  %ld calls answered, %ld refused, slowest refusal %ld ms\n",
            atomic_load(&l->ok), atomic_load(&l->failed), atomic_load(&l->max_fail_ms));
    assert_true(atomic_load(&l->ok) > 0);
    /* Refusals are fast, not timeouts. */
    assert_true(atomic_load(&l->max_fail_ms) < 3000);
    const char **want = calloc(LOAD_THREADS * LOAD_MAX, sizeof *want);
    assert_non_null(want);
    size_t nwant = 0;
    for (int t = 0; t < LOAD_THREADS; t++)
        for (int i = 0; i < l->n[t]; i++)
            if (l->answered[t][i])
                want[nwant++] = l->biz[t][i];
    check_records(want, nwant);
    free(want);
    check_chain();
}

static void test_pg_two_processes_under_load(void **state)
{
    (void)state;
    struct load *l = calloc(1, sizeof *l);
    assert_non_null(l);
    l->round = 1;
    run_load(l, false);
    free(l);
}

static void test_pg_restart_under_load(void **state)
{
    (void)state;
    struct load *l = calloc(1, sizeof *l);
    assert_non_null(l);
    l->round = 2;
    run_load(l, true);
    free(l);
}

/* Calls the JS process at `url` (NULL: A) until it answers `want`, for at
 * most `deadline_ms` (a functional bound, far from any timing claim); the
 * last code seen. */
static int call_until(const char *url, int want, int64_t deadline_ms, const char *tag)
{
    int64_t until = mono_ms() + deadline_ms;
    int code = -1;
    for (int i = 0;; i++) {
        char biz[64];
        snprintf(biz, sizeof biz, "%s-%d", tag, i);
        code = call_at(url, biz);
        if (code == want || mono_ms() >= until)
            return code;
        fed_sleep_ms(200);
    }
}

/* Process B caches apps for an hour; process C for a second. An app
 * disabled at the trust node: C learns it from the trust node as soon as its
 * entry expires, records it in the store, and B, which would otherwise
 * serve the app for the rest of the hour, refuses it (3001) too once it has
 * read the store (at most once a second). Enabling it again travels the same
 * way. The deadlines are generous; without the store's invalidations B
 * would not refuse for an hour. */
static void test_pg_app_disable_across_processes(void **state)
{
    (void)state;
    char out[256];
    const struct fed_node *trust = fed_node(F, "YRD-TRUST");
    assert_int_equal(fed2_twin_start(F, JS, "c", 1, &js_c), 0);
    assert_int_equal(call_at(js_b.url, "PG-AD-B"), 0);
    assert_int_equal(call_at(js_c.url, "PG-AD-C"), 0);
    assert_int_equal(fed_cli(F, out, sizeof out, "trust", "app", "disable", "--config",
                             trust->ini, "--app", js_app_id, NULL),
                     0);
    assert_int_equal(call_until(js_c.url, 3001, 20000, "PG-AD-C-OFF"), 3001);
    assert_int_equal(call_until(js_b.url, 3001, 20000, "PG-AD-B-OFF"), 3001);
    assert_int_equal(fed_cli(F, out, sizeof out, "trust", "app", "enable", "--config",
                             trust->ini, "--app", js_app_id, NULL),
                     0);
    assert_int_equal(call_until(js_c.url, 0, 20000, "PG-AD-C-ON"), 0);
    assert_int_equal(call_until(js_b.url, 0, 20000, "PG-AD-B-ON"), 0);
    /* A (an app cache of 60 s) serves the app again too, before the end */
    assert_int_equal(call_until(NULL, 0, 90000, "PG-AD-A-ON"), 0);
    assert_int_equal(fed2_twin_stop(&js_c), 0);
}

static void test_pg_clean_shutdown(void **state)
{
    (void)state;
    assert_int_equal(fed2_twin_stop(&js_b), 0);
    assert_int_equal(fed_stop_all(F), 0);
}

int main(void)
{
    const char *pgdir = getenv("ECERT_TEST_PG_DIR");
    char tmpl[] = "/tmp/ecert-e2epg-XXXXXX";
    if (!pgdir || !getenv("ECERT_PG_SH") || !mkdtemp(tmpl)) {
        fprintf(stderr, "e2e: run through ctest (ECERT_PG_SH and ECERT_TEST_PG_DIR)\n");
        return 1;
    }
    /* A private server: this test stops and starts it. */
    snprintf(pg_state, sizeof pg_state, "%s/pg", tmpl);
    if (pg_sh("start") != 0) {
        fprintf(stderr, "e2e: cannot start PostgreSQL (scripts/pg.sh)\n");
        return 1;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/dsn", pg_state);
    FILE *fp = fopen(path, "r");
    if (!fp || !fgets(pg_dsn, sizeof pg_dsn, fp)) {
        if (fp)
            fclose(fp);
        pg_sh("destroy");
        return 1;
    }
    fclose(fp);
    pg_dsn[strcspn(pg_dsn, "\r\n")] = 0;
    setenv("ECERT_E2E_PG_DSN", pg_dsn, 1);
    F = fed_start(NULL, NULL, 0);
    int failed = 1;
    if (F && pick_data() == 0 && read_js_dsn() == 0 && start_js_b() == 0) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pg_calls_and_records),
            cmocka_unit_test(test_pg_replay_across_processes),
            cmocka_unit_test(test_pg_two_processes_under_load),
            cmocka_unit_test(test_pg_restart_under_load),
            cmocka_unit_test(test_pg_app_disable_across_processes),
            cmocka_unit_test(test_pg_clean_shutdown),
        };
        failed = cmocka_run_group_tests_name("e2e on PostgreSQL", tests, NULL, NULL);
    } else {
        fprintf(stderr, "e2e: the federation on PostgreSQL did not start\n");
    }
    if (fed2_twin_stop(&js_b) != 0)
        failed = 1;
    /* after a failed test the third process may still run */
    if (fed2_twin_stop(&js_c) != 0)
        failed = 1;
    int unclean = F ? fed_finish(F, failed != 0) : 1;
    sm2_key_free(js_app_key);
    pg_sh("destroy");
    rmdir(tmpl);
    return failed || unclean ? 1 : 0;
}
