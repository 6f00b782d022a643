/*
 * test_store.c — the store interface (src/store/store.h): migrations, every
 * table's round trip, search filters, the replay window, token revocation,
 * holder codes, rate-limit leases (store_rate_take and the node's local
 * leases over it, two handles standing for two processes), transactions, and
 * the usage-record chain under concurrent
 * appends and after tampering (done behind the store's back with plain SQL,
 * as an attacker with file access would).
 *
 * The same tests run against both backends: SQLite by default, PostgreSQL
 * when ECERT_TEST_STORE=postgres (CTest's pg/test_store), on the server whose
 * DSN scripts/pg.sh wrote to $ECERT_TEST_PG_DIR/dsn; each test then works in
 * a schema of its own, dropped afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/error.h"
#include "crypto/sm3.h"
#include "node/ratelimit.h"
#include "store/store.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

struct fixture {
    char dir[64];
    char path[128];
    bool pg;             /* the backend under test is PostgreSQL */
    char schema[64];     /* pg: this test's schema */
    char dsn[2048];      /* pg: the server's DSN with the schema as search_path */
    struct store *s;
    struct arena a;
};

static bool testing_pg(void)
{
    const char *v = getenv("ECERT_TEST_STORE");
    return v && strcmp(v, "postgres") == 0;
}

/* The server's DSN (key=value form) from $ECERT_TEST_PG_DIR/dsn. */
static void pg_base_dsn(char *out, size_t cap)
{
    const char *dir = getenv("ECERT_TEST_PG_DIR");
    if (!dir)
        fail_msg("ECERT_TEST_STORE=postgres needs ECERT_TEST_PG_DIR (scripts/pg.sh start)");
    char path[512];
    snprintf(path, sizeof path, "%s/dsn", dir);
    FILE *fp = fopen(path, "r");
    if (!fp)
        fail_msg("cannot read %s", path);
    if (!fgets(out, (int)cap, fp))
        out[0] = 0;
    fclose(fp);
    out[strcspn(out, "\r\n")] = 0;
}

/* How the fixture's store is opened (pool connections). */
static struct store_config fixture_config(const struct fixture *f, unsigned pool)
{
    struct store_config cfg = {"sqlite", f->path, pool, NULL};
    if (f->pg) {
        cfg.driver = "postgres";
        cfg.dsn = f->dsn;
    }
    return cfg;
}

static void no_notices(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static PGconn *pg_connect(const char *dsn)
{
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, no_notices, NULL);
    return c;
}

static void remove_db(const char *path)
{
    char p[160];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/ecert-store-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/node.db", f->dir);
    f->pg = testing_pg();
    if (f->pg) {
        static int seq;
        char base[1024];
        pg_base_dsn(base, sizeof base);
        snprintf(f->schema, sizeof f->schema, "t_%ld_%d", (long)getpid(), ++seq);
        snprintf(f->dsn, sizeof f->dsn, "%s options='-csearch_path=%s'", base, f->schema);
    }
    struct store_config cfg = fixture_config(f, 4);
    assert_int_equal(store_open(&cfg, &f->s), ECERT_OK);
    arena_init(&f->a, 64u << 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    arena_release(&f->a);
    if (f->pg) {
        PGconn *c = pg_connect(f->dsn);
        char sql[128];
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", f->schema);
        PQclear(PQexec(c, sql));
        PQfinish(c);
    }
    remove_db(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Plain SQL on the database, outside the store. */
static void raw_exec(const struct fixture *f, const char *sql)
{
    if (f->pg) {
        PGconn *c = pg_connect(f->dsn);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
            fail_msg("raw SQL failed: %s", PQresultErrorMessage(r));
        PQclear(r);
        PQfinish(c);
        return;
    }
    const char *path = f->path;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("raw SQL failed: %s", msg ? msg : "?");
    sqlite3_close(db);
}

static int64_t raw_int(const struct fixture *f, const char *sql)
{
    if (f->pg) {
        PGconn *c = pg_connect(f->dsn);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            fail_msg("raw SQL failed: %s", PQresultErrorMessage(r));
        int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        PQfinish(c);
        return v;
    }
    const char *path = f->path;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* ---- open and migrations ------------------------------------------------- */

static void test_open_migrate_twice(void **state)
{
    struct fixture *f = *state;
    int v = store_schema_version(f->s);
    assert_true(v >= 1);
    /* A second handle on the same file while the first is open, then a
     * re-open after closing: both find the schema current and change nothing. */
    struct store_config cfg = fixture_config(f, 2);
    if (!f->pg)
        cfg.driver = NULL; /* the default driver is SQLite */
    struct store *s2 = NULL;
    assert_int_equal(store_open(&cfg, &s2), ECERT_OK);
    assert_int_equal(store_schema_version(s2), v);
    store_close(s2);
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(store_open(&cfg, &f->s), ECERT_OK);
    assert_int_equal(store_schema_version(f->s), v);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM schema_version"), v);
    if (f->pg) {
        /* Both backends are at the same schema version (their migrations
         * are kept in step). */
        struct store_config lite = {"sqlite", f->path, 1, NULL};
        struct store *sl = NULL;
        assert_int_equal(store_open(&lite, &sl), ECERT_OK);
        assert_int_equal(store_schema_version(sl), v);
        store_close(sl);
        return;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_open_refusals(void **state)
{
    struct fixture *f = *state;
    struct store *s = NULL;
    struct store_config pg = {"postgres", f->path, 1, NULL}; /* no dsn */
    assert_int_equal(store_open(&pg, &s), ECERT_E_ARG);
    struct store_config unknown = {"mysql", f->path, 1, NULL};
    assert_int_equal(store_open(&unknown, &s), ECERT_E_ARG);
    if (f->pg) {
        /* A server that is not there: a clear failure, at once. */
        struct store_config gone = {"postgres", NULL, 1,
                                    "host=/nonexistent/ecert-sock port=5432 dbname=x"};
        assert_int_equal(store_open(&gone, &s), ECERT_E_INTERNAL);
        assert_non_null(strstr(err_detail(), "database unavailable"));
        assert_null(s);
        raw_exec(f, "INSERT INTO schema_version (version, applied_ms) VALUES (999, 0)");
        struct store_config cfg = fixture_config(f, 1);
        assert_int_equal(store_open(&cfg, &s), ECERT_E_INTERNAL);
        assert_non_null(strstr(err_detail(), "newer"));
        assert_null(s);
        return;
    }
    struct store_config mem = {"sqlite", ":memory:", 1, NULL};
    assert_int_equal(store_open(&mem, &s), ECERT_E_ARG);
    struct store_config none = {"sqlite", "", 1, NULL};
    assert_int_equal(store_open(&none, &s), ECERT_E_ARG);
    char missing[200];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.db", f->dir);
    struct store_config nodir = {"sqlite", missing, 1, NULL};
    assert_int_equal(store_open(&nodir, &s), ECERT_E_IO);
    assert_null(s);

    /* A database written by a newer build is refused, not downgraded. */
    raw_exec(f, "INSERT INTO schema_version (version, applied_ms) VALUES (999, 0)");
    struct store_config cfg = {"sqlite", f->path, 1, NULL};
    assert_int_equal(store_open(&cfg, &s), ECERT_E_INTERNAL);
    assert_non_null(strstr(err_detail(), "newer"));
    assert_null(s);
}

/* ---- catalog and scenes -------------------------------------------------- */

static void test_catalog(void **state)
{
    struct fixture *f = *state;
    struct catalog_entry e = {"11100000000013338W001", "营业执照", true};
    assert_int_equal(store_catalog_put(f->s, &e), ECERT_OK);
    struct catalog_entry e2 = {"11100000000013338W032", "结婚证", false};
    assert_int_equal(store_catalog_put(f->s, &e2), ECERT_OK);

    struct catalog_entry got;
    assert_int_equal(store_catalog_get(f->s, &f->a, "11100000000013338W001", &got), ECERT_OK);
    assert_string_equal(got.type_code, "11100000000013338W001");
    assert_string_equal(got.name, "营业执照");
    assert_true(got.yrd_shared);
    assert_int_equal(store_catalog_get(f->s, &f->a, "11100000000013338W032", &got), ECERT_OK);
    assert_false(got.yrd_shared);

    /* Upsert by type code. */
    struct catalog_entry e3 = {"11100000000013338W032", "结婚证(新)", true};
    assert_int_equal(store_catalog_put(f->s, &e3), ECERT_OK);
    assert_int_equal(store_catalog_get(f->s, &f->a, "11100000000013338W032", &got), ECERT_OK);
    assert_string_equal(got.name, "结婚证(新)");
    assert_true(got.yrd_shared);

    const char *code = NULL;
    assert_int_equal(store_catalog_find_name(f->s, &f->a, "营业执照", &code), ECERT_OK);
    assert_string_equal(code, "11100000000013338W001");
    assert_int_equal(store_catalog_find_name(f->s, &f->a, "结婚证", &code), ECERT_E_NOT_FOUND);
    assert_int_equal(store_catalog_get(f->s, &f->a, "11100000000013338W999", &got),
                     ECERT_E_NOT_FOUND);
    struct catalog_entry bad = {NULL, "x", false};
    assert_int_equal(store_catalog_put(f->s, &bad), ECERT_E_ARG);
}

static void test_scenes(void **state)
{
    struct fixture *f = *state;
    const char *types[] = {"11100000000013338W032", "11100000000013338W001",
                           "11100000000013338W001"}; /* duplicate: kept once */
    struct scene sc = {"310000-0001", "企业开办", types, N_ELEM(types)};
    assert_int_equal(store_scene_put(f->s, &sc), ECERT_OK);
    struct scene got;
    assert_int_equal(store_scene_get(f->s, &f->a, "310000-0001", &got), ECERT_OK);
    assert_string_equal(got.item_code, "310000-0001");
    assert_string_equal(got.item_name, "企业开办");
    assert_int_equal(got.ntypes, 2);
    assert_string_equal(got.types[0], "11100000000013338W001");
    assert_string_equal(got.types[1], "11100000000013338W032");

    /* Replacing a scene replaces its type list too. */
    const char *one[] = {"11100000000013338W011"};
    struct scene sc2 = {"310000-0001", "企业开办(变更)", one, 1};
    assert_int_equal(store_scene_put(f->s, &sc2), ECERT_OK);
    assert_int_equal(store_scene_get(f->s, &f->a, "310000-0001", &got), ECERT_OK);
    assert_string_equal(got.item_name, "企业开办(变更)");
    assert_int_equal(got.ntypes, 1);
    assert_string_equal(got.types[0], "11100000000013338W011");

    struct scene empty = {"310000-0002", "无证照", NULL, 0};
    assert_int_equal(store_scene_put(f->s, &empty), ECERT_OK);
    assert_int_equal(store_scene_get(f->s, &f->a, "310000-0002", &got), ECERT_OK);
    assert_int_equal(got.ntypes, 0);

    assert_int_equal(store_scene_get(f->s, &f->a, "nope", &got), ECERT_E_NOT_FOUND);
}

/* ---- certificates -------------------------------------------------------- */

static const uint8_t sample_file[] = {'%', 'P', 'D', 'F', 0, 1, 2, 0xff, 0xfe, '\n'};

static struct cert make_cert(const char *id, const char *type, const char *type_code,
                             const char *number, const char *holder_code, const char *issued,
                             const char *status)
{
    struct cert c = {
        .id = id,
        .type = type,
        .type_code = type_code,
        .number = number,
        .holder = "李四",
        .holder_code = holder_code,
        .holder_type_code = "111",
        .issuer = "上海市徐汇区民政局",
        .issuer_code = "113100000096364432",
        .issued_date = issued,
        .valid_from = issued,
        .valid_to = "",
        .status = status,
        .area_code = "310104",
        .surface_json = "{\"持证人\":\"李四\"}",
        .file_format = "PDF",
        .file_name = "证照.pdf",
        .file = sample_file,
        .file_len = sizeof sample_file,
        .file_sm3 = "1111111111111111111111111111111111111111111111111111111111111111",
    };
    return c;
}

#define HOLDER "310104198506128045"
#define T_LIC "11100000000013338W001"
#define T_MAR "11100000000013338W032"
#define T_EST "11100000000013338W011"

static void assert_cert_equal(const struct cert *a, const struct cert *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->type, b->type);
    assert_string_equal(a->type_code, b->type_code);
    assert_string_equal(a->number, b->number);
    assert_string_equal(a->holder, b->holder);
    assert_string_equal(a->holder_code, b->holder_code);
    assert_string_equal(a->holder_type_code, b->holder_type_code);
    assert_string_equal(a->issuer, b->issuer);
    assert_string_equal(a->issuer_code, b->issuer_code);
    assert_string_equal(a->issued_date, b->issued_date);
    assert_string_equal(a->valid_from, b->valid_from);
    assert_string_equal(a->valid_to, b->valid_to);
    assert_string_equal(a->status, b->status);
    assert_string_equal(a->area_code, b->area_code);
    assert_string_equal(a->surface_json, b->surface_json);
    assert_string_equal(a->file_format, b->file_format);
    assert_string_equal(a->file_name, b->file_name);
    assert_string_equal(a->file_sm3, b->file_sm3);
}

static void test_cert_roundtrip(void **state)
{
    struct fixture *f = *state;
    struct cert c = make_cert("ID-1", "结婚证", T_MAR, "J-001", HOLDER, "2015-05-20", "valid");
    c.valid_to = "2035-05-19";
    assert_int_equal(store_cert_put(f->s, &c), ECERT_OK);

    struct cert got;
    assert_int_equal(store_cert_get(f->s, &f->a, "ID-1", true, &got), ECERT_OK);
    assert_cert_equal(&got, &c);
    assert_int_equal(got.file_len, sizeof sample_file);
    assert_memory_equal(got.file, sample_file, sizeof sample_file);

    assert_int_equal(store_cert_get(f->s, &f->a, "ID-1", false, &got), ECERT_OK);
    assert_cert_equal(&got, &c);
    assert_null(got.file);
    assert_int_equal(got.file_len, 0);

    /* Re-import: replaced by id, not duplicated. */
    c.status = "revoked";
    c.file = NULL;
    c.file_len = 0;
    assert_int_equal(store_cert_put(f->s, &c), ECERT_OK);
    assert_int_equal(store_cert_get(f->s, &f->a, "ID-1", true, &got), ECERT_OK);
    assert_string_equal(got.status, "revoked");
    assert_null(got.file);
    uint64_t n = 0;
    assert_int_equal(store_cert_count(f->s, &n), ECERT_OK);
    assert_int_equal(n, 1);

    assert_int_equal(store_cert_get(f->s, &f->a, "ID-404", false, &got), ECERT_E_NOT_FOUND);
    c.status = "active";
    assert_int_equal(store_cert_put(f->s, &c), ECERT_E_MALFORMED);
    c.status = "valid";
    c.holder_code = NULL;
    assert_int_equal(store_cert_put(f->s, &c), ECERT_E_MISSING);
}

static void test_cert_search(void **state)
{
    struct fixture *f = *state;
    struct cert certs[] = {
        make_cert("A", "营业执照", T_LIC, "N-A", HOLDER, "2019-01-01", "valid"),
        make_cert("B", "结婚证", T_MAR, "N-B", HOLDER, "2021-06-01", "revoked"),
        make_cert("C", "不动产权证书", T_EST, "N-C", HOLDER, "2020-03-01", "valid"),
        make_cert("D", "不动产权证书", T_EST, "N-D", HOLDER, "2022-12-31", "expired"),
        make_cert("E", "结婚证", T_MAR, "N-E", "320102199211033931", "2023-01-01", "valid"),
    };
    size_t failed = 99;
    assert_int_equal(store_cert_put_batch(f->s, certs, N_ELEM(certs), &failed), ECERT_OK);
    assert_int_equal(failed, N_ELEM(certs));

    struct cert *res = NULL;
    size_t n = 0;
    struct cert_query q = {.holder_code = HOLDER};
    assert_int_equal(store_cert_search(f->s, &f->a, &q, &res, &n), ECERT_OK);
    assert_int_equal(n, 4);
    /* newest first, files not loaded, every field there */
    assert_string_equal(res[0].id, "D");
    assert_string_equal(res[1].id, "B");
    assert_string_equal(res[2].id, "C");
    assert_string_equal(res[3].id, "A");
    for (size_t i = 0; i < n; i++)
        assert_null(res[i].file);
    assert_cert_equal(&res[1], &certs[1]);

    q.type = "不动产权证书";
    assert_int_equal(store_cert_search(f->s, &f->a, &q, &res, &n), ECERT_OK);
    assert_int_equal(n, 2);
    q.number = "N-C";
    assert_int_equal(store_cert_search(f->s, &f->a, &q, &res, &n), ECERT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(res[0].id, "C");

    /* The scene's type restriction, bound as data. */
    const char *scene[] = {T_LIC, T_MAR};
    struct cert_query qs = {.holder_code = HOLDER, .type_codes = scene, .ntype_codes = 2};
    assert_int_equal(store_cert_search(f->s, &f->a, &qs, &res, &n), ECERT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(res[0].id, "B");
    assert_string_equal(res[1].id, "A");
    qs.type = "不动产权证书"; /* a type the scene does not allow */
    assert_int_equal(store_cert_search(f->s, &f->a, &qs, &res, &n), ECERT_OK);
    assert_int_equal(n, 0);
    const char *hostile[] = {"x') OR 1=1 --", "\"]"};
    struct cert_query qh = {.holder_code = HOLDER, .type_codes = hostile, .ntype_codes = 2};
    assert_int_equal(store_cert_search(f->s, &f->a, &qh, &res, &n), ECERT_OK);
    assert_int_equal(n, 0);
    /* non-NULL but empty: fails closed */
    struct cert_query qe = {.holder_code = HOLDER, .type_codes = scene, .ntype_codes = 0};
    assert_int_equal(store_cert_search(f->s, &f->a, &qe, &res, &n), ECERT_OK);
    assert_int_equal(n, 0);
    /* "" filters count as absent; limit */
    struct cert_query ql = {.holder_code = HOLDER, .type = "", .number = "", .limit = 3};
    assert_int_equal(store_cert_search(f->s, &f->a, &ql, &res, &n), ECERT_OK);
    assert_int_equal(n, 3);

    struct cert_query qo = {.holder_code = "000000000000000000"};
    assert_int_equal(store_cert_search(f->s, &f->a, &qo, &res, &n), ECERT_OK);
    assert_int_equal(n, 0);
    struct cert_query qn = {.holder_code = NULL};
    assert_int_equal(store_cert_search(f->s, &f->a, &qn, &res, &n), ECERT_E_ARG);
}

static void test_cert_batch_atomic(void **state)
{
    struct fixture *f = *state;
    struct cert keep = make_cert("K", "结婚证", T_MAR, "N-K", HOLDER, "2010-01-01", "valid");
    assert_int_equal(store_cert_put(f->s, &keep), ECERT_OK);

    /* Refused before any SQL: an invalid status in the middle. */
    struct cert b1[] = {
        make_cert("X1", "结婚证", T_MAR, "N-1", HOLDER, "2020-01-01", "valid"),
        make_cert("X2", "结婚证", T_MAR, "N-2", HOLDER, "2020-01-02", "bogus"),
        make_cert("X3", "结婚证", T_MAR, "N-3", HOLDER, "2020-01-03", "valid"),
    };
    size_t failed = 0;
    assert_int_equal(store_cert_put_batch(f->s, b1, 3, &failed), ECERT_E_MALFORMED);
    assert_int_equal(failed, 1);

    /* Refused by the database half-way (a trigger stands in for any SQL
     * failure): the rows already written in the transaction are rolled back. */
    if (f->pg)
        raw_exec(f, "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$BEGIN RAISE EXCEPTION 'refused'; END$$;"
                    "CREATE TRIGGER refuse BEFORE INSERT ON certs FOR EACH ROW "
                    "WHEN (NEW.number = 'FAIL') EXECUTE FUNCTION refuse();");
    else
        raw_exec(f, "CREATE TRIGGER refuse BEFORE INSERT ON certs WHEN NEW.number = 'FAIL' "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END;");
    struct cert b2[] = {
        make_cert("Y1", "结婚证", T_MAR, "N-1", HOLDER, "2020-01-01", "valid"),
        make_cert("Y2", "结婚证", T_MAR, "N-2", HOLDER, "2020-01-02", "valid"),
        make_cert("Y3", "结婚证", T_MAR, "FAIL", HOLDER, "2020-01-03", "valid"),
        make_cert("Y4", "结婚证", T_MAR, "N-4", HOLDER, "2020-01-04", "valid"),
    };
    assert_int_not_equal(store_cert_put_batch(f->s, b2, 4, &failed), ECERT_OK);
    assert_int_equal(failed, 2);

    uint64_t n = 0;
    assert_int_equal(store_cert_count(f->s, &n), ECERT_OK);
    assert_int_equal(n, 1);
    struct cert got;
    assert_int_equal(store_cert_get(f->s, &f->a, "X1", false, &got), ECERT_E_NOT_FOUND);
    assert_int_equal(store_cert_get(f->s, &f->a, "Y1", false, &got), ECERT_E_NOT_FOUND);
    assert_int_equal(store_cert_get(f->s, &f->a, "K", false, &got), ECERT_OK);

    /* The store stays usable after the rollback. */
    assert_int_equal(store_cert_put_batch(f->s, b2, 2, &failed), ECERT_OK);
    assert_int_equal(store_cert_count(f->s, &n), ECERT_OK);
    assert_int_equal(n, 3);
}

/* ---- apps, nonces, tokens ------------------------------------------------ */

static void test_apps(void **state)
{
    struct fixture *f = *state;
    struct app app = {
        .app_id = "A3100001",
        .secret_hash = "scrypt$16384$8$1$c2FsdA$aGFzaA",
        .corp_name = "上海示例科技有限公司",
        .corp_code = "91310115MA2RH8NM6B",
        .public_key = "",
        .certificate = "",
        .province = "YRD-SH",
        .status = APP_ALLOCATED,
        .updated_ms = 1764345600123,
    };
    assert_int_equal(store_app_put(f->s, &app), ECERT_OK);
    struct app got;
    assert_int_equal(store_app_get(f->s, &f->a, "A3100001", &got), ECERT_OK);
    assert_string_equal(got.app_id, app.app_id);
    assert_string_equal(got.secret_hash, app.secret_hash);
    assert_string_equal(got.corp_name, app.corp_name);
    assert_string_equal(got.corp_code, app.corp_code);
    assert_string_equal(got.public_key, "");
    assert_string_equal(got.certificate, "");
    assert_string_equal(got.province, "YRD-SH");
    assert_int_equal(got.status, APP_ALLOCATED);
    assert_int_equal(got.updated_ms, 1764345600123);

    app.public_key = "04abcdef";
    app.certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    app.status = APP_ACTIVE;
    app.updated_ms = 1764345700000;
    assert_int_equal(store_app_put(f->s, &app), ECERT_OK);
    assert_int_equal(store_app_get(f->s, &f->a, "A3100001", &got), ECERT_OK);
    assert_string_equal(got.public_key, "04abcdef");
    assert_string_equal(got.certificate, app.certificate);
    assert_int_equal(got.status, APP_ACTIVE);
    assert_int_equal(got.updated_ms, 1764345700000);

    assert_int_equal(store_app_get(f->s, &f->a, "A0000000", &got), ECERT_E_NOT_FOUND);
    app.status = 7;
    assert_int_equal(store_app_put(f->s, &app), ECERT_E_MALFORMED);
}

static void test_nonces(void **state)
{
    struct fixture *f = *state;
    const int64_t w = 600000, t0 = 1764345600000;
    assert_int_equal(store_nonce_use(f->s, "A1", "c9a1f0e27b4d4e8f", t0, w), ECERT_OK);
    assert_int_equal(store_nonce_use(f->s, "A1", "c9a1f0e27b4d4e8f", t0 + 1000, w),
                     ECERT_E_REPLAY);
    assert_int_equal(store_nonce_use(f->s, "A1", "c9a1f0e27b4d4e8f", t0 + w, w), ECERT_E_REPLAY);
    /* another app may use the same nonce */
    assert_int_equal(store_nonce_use(f->s, "A2", "c9a1f0e27b4d4e8f", t0 + 1000, w), ECERT_OK);
    /* once outside the window the pair is fresh again, then remembered anew */
    assert_int_equal(store_nonce_use(f->s, "A1", "c9a1f0e27b4d4e8f", t0 + w + 1, w), ECERT_OK);
    assert_int_equal(store_nonce_use(f->s, "A1", "c9a1f0e27b4d4e8f", t0 + w + 2, w),
                     ECERT_E_REPLAY);

    /* Purging runs every few hundred calls and drops only expired rows. */
    char nonce[32];
    for (int i = 0; i < 600; i++) {
        snprintf(nonce, sizeof nonce, "n%08d", i);
        assert_int_equal(store_nonce_use(f->s, "A3", nonce, t0 + 2 * w + (int64_t)i * 10000, w),
                         ECERT_OK);
    }
    int64_t rows = raw_int(f, "SELECT count(*) FROM nonces");
    assert_true(rows < 600);
    int64_t oldest = raw_int(f, "SELECT min(ts) FROM nonces");
    /* the last purge ran at call 512 (counting from 0): everything older than
     * its cutoff is gone */
    assert_true(oldest >= t0 + 2 * w + 505 * 10000 - w);
    assert_int_equal(store_nonce_use(f->s, "A3", "n00000599", t0 + 2 * w + 5990000, w),
                     ECERT_E_REPLAY);
    assert_int_equal(store_nonce_use(f->s, "A3", "", t0, w), ECERT_E_ARG);
}

static void test_tokens(void **state)
{
    struct fixture *f = *state;
    const int64_t now = 1764345600;
    assert_int_equal(store_token_revoke(f->s, "jti-live", now + 600), ECERT_OK);
    assert_int_equal(store_token_revoke(f->s, "jti-old", now - 10), ECERT_OK);
    /* revoking again never shortens the entry */
    assert_int_equal(store_token_revoke(f->s, "jti-live", now + 5), ECERT_OK);
    bool r = false;
    assert_int_equal(store_token_is_revoked(f->s, "jti-live", &r), ECERT_OK);
    assert_true(r);
    assert_int_equal(store_token_is_revoked(f->s, "jti-old", &r), ECERT_OK);
    assert_true(r);
    assert_int_equal(store_token_is_revoked(f->s, "jti-none", &r), ECERT_OK);
    assert_false(r);
    const char **list = NULL;
    size_t n = 0;
    assert_int_equal(store_token_revoked_list(f->s, &f->a, now, &list, &n), ECERT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0], "jti-live");
    assert_int_equal(store_token_revoked_list(f->s, &f->a, now + 100, &list, &n), ECERT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_token_revoked_list(f->s, &f->a, now + 601, &list, &n), ECERT_OK);
    assert_int_equal(n, 0);
}

/* ---- usage records ------------------------------------------------------- */

/* The documented canonical form (docs/store.md), byte for byte. */
static void test_record_canonical(void **state)
{
    (void)state;
    struct usage_record r = {
        .seq = 1,
        .time_ms = 1764345600123,
        .cert_id = "C",
        .holder_code = "H",
        .interface = "cert/search",
        .app_id = "A3100001",
        .requester_node = NULL,
        .use_for = "办事",
        .item_code = "I",
        .item_name = "N",
        .item_org = "O",
        .operator_name = "op",
        .biz_num = "B1",
        .result = -5,
    };
    static const char want[] = "13:ecert-urec-v1,1:1,13:1764345600123,1:C,1:H,11:cert/search,"
                               "8:A3100001,0:,6:办事,1:I,1:N,1:O,2:op,2:B1,2:-5,";
    struct buf b = BUF_INIT(1 << 16);
    assert_int_equal(usage_record_canonical(&r, &b), ECERT_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);

    /* hash = SM3(prev hex || canonical) */
    static const char zeros[] =
        "0000000000000000000000000000000000000000000000000000000000000000";
    struct buf m = BUF_INIT(1 << 16);
    assert_int_equal(buf_append_str(&m, zeros), ECERT_OK);
    assert_int_equal(buf_append(&m, b.data, b.len), ECERT_OK);
    uint8_t md[SM3_LEN];
    char hex[65], got[65];
    assert_int_equal(sm3_digest(m.data, m.len, md), ECERT_OK);
    hex_encode(md, sizeof md, hex);
    assert_int_equal(usage_record_hash(zeros, &r, got), ECERT_OK);
    assert_string_equal(got, hex);
    /* the worked example of docs/store.md */
    assert_string_equal(got, "960f3f8a15082a717aa73f4c161bec4ad27d395dd7d4455669c76a71885a1718");
    buf_release(&b);
    buf_release(&m);

    /* Field boundaries cannot be shifted: "ab"+"c" and "a"+"bc" differ. */
    struct usage_record x = r, y = r;
    x.item_code = "ab";
    x.item_name = "c";
    y.item_code = "a";
    y.item_name = "bc";
    char hx[65], hy[65];
    assert_int_equal(usage_record_hash(zeros, &x, hx), ECERT_OK);
    assert_int_equal(usage_record_hash(zeros, &y, hy), ECERT_OK);
    assert_string_not_equal(hx, hy);
    assert_int_equal(usage_record_hash("abc", &x, hx), ECERT_E_MALFORMED);
}

static void test_record_append_list(void **state)
{
    struct fixture *f = *state;
    struct usage_record r = {
        .time_ms = 1000,
        .cert_id = "ID-1",
        .holder_code = HOLDER,
        .interface = "cert/file/by-id",
        .app_id = "A3100001",
        .requester_node = "YRD-JS",
        .use_for = "企业开办",
        .item_code = "310000-0001",
        .item_name = "企业开办",
        .item_org = "徐汇区行政服务中心",
        .operator_name = "窗口01",
        .biz_num = "BIZ-1",
        .result = 0,
    };
    assert_int_equal(store_record_append(f->s, &r), ECERT_OK);
    assert_int_equal(r.seq, 1);
    assert_string_equal(r.prev,
                        "0000000000000000000000000000000000000000000000000000000000000000");
    char first[65];
    memcpy(first, r.hash, sizeof first);
    r.time_ms = 2000;
    r.result = 4002;
    r.cert_id = NULL; /* stored as "" */
    assert_int_equal(store_record_append(f->s, &r), ECERT_OK);
    assert_int_equal(r.seq, 2);
    assert_string_equal(r.prev, first);
    struct usage_record other = r;
    other.holder_code = "320102199211033931";
    other.time_ms = 1500;
    assert_int_equal(store_record_append(f->s, &other), ECERT_OK);

    struct usage_record *list = NULL;
    size_t n = 0;
    assert_int_equal(store_record_list(f->s, &f->a, HOLDER, 0, 0, 0, &list, &n), ECERT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].seq, 2); /* newest first */
    assert_string_equal(list[0].cert_id, "");
    assert_int_equal(list[0].result, 4002);
    assert_int_equal(list[1].seq, 1);
    assert_int_equal(list[1].time_ms, 1000);
    assert_string_equal(list[1].cert_id, "ID-1");
    assert_string_equal(list[1].interface, "cert/file/by-id");
    assert_string_equal(list[1].app_id, "A3100001");
    assert_string_equal(list[1].requester_node, "YRD-JS");
    assert_string_equal(list[1].use_for, "企业开办");
    assert_string_equal(list[1].item_code, "310000-0001");
    assert_string_equal(list[1].item_name, "企业开办");
    assert_string_equal(list[1].item_org, "徐汇区行政服务中心");
    assert_string_equal(list[1].operator_name, "窗口01");
    assert_string_equal(list[1].biz_num, "BIZ-1");
    assert_string_equal(list[1].hash, first);
    assert_int_equal(store_record_list(f->s, &f->a, HOLDER, 1500, 0, 0, &list, &n), ECERT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_record_list(f->s, &f->a, HOLDER, 0, 1999, 0, &list, &n), ECERT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].seq, 1);
    assert_int_equal(store_record_list(f->s, &f->a, HOLDER, 0, 0, 1, &list, &n), ECERT_OK);
    assert_int_equal(n, 1);

    /* An over-long field is refused and appends nothing. */
    char *big = malloc(USAGE_RECORD_FIELD_MAX + 2);
    assert_non_null(big);
    memset(big, 'x', USAGE_RECORD_FIELD_MAX + 1);
    big[USAGE_RECORD_FIELD_MAX + 1] = 0;
    r.item_name = big;
    assert_int_equal(store_record_append(f->s, &r), ECERT_E_TOO_LONG);
    free(big);
    uint64_t count = 0;
    int64_t bad = -1;
    assert_int_equal(store_record_verify(f->s, &count, &bad), ECERT_OK);
    assert_int_equal(count, 3);
}

#define THREADS 4
#define PER_THREAD 200

struct appender {
    struct store *s;
    int id;
    int failures;
};

static void *append_many(void *arg)
{
    struct appender *ap = arg;
    char biz[32];
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(biz, sizeof biz, "T%d-%03d", ap->id, i);
        struct usage_record r = {
            .time_ms = 1764345600000 + i,
            .cert_id = "1.2.156.3005.2.11100000000013338W032.113100000096364432.39234568.001.B",
            .holder_code = ap->id % 2 ? HOLDER : "320102199211033931",
            .interface = "cert/info/by-id",
            .app_id = "A3100001",
            .requester_node = "",
            .use_for = "核验",
            .item_code = "310000-0001",
            .item_name = "企业开办",
            .item_org = "窗口",
            .operator_name = "op",
            .biz_num = biz,
            .result = 0,
        };
        if (store_record_append(ap->s, &r) != ECERT_OK || r.seq <= 0 || !r.hash ||
            strlen(r.hash) != 64)
            ap->failures++;
    }
    return NULL;
}

/* A careful forger: recomputes record 345's hash after changing it. */
static void forge_rehash_345(const struct fixture *f)
{
    static const char cols[] = "SELECT seq, time_ms, cert_id, holder_code, interface, "
                               "app_id, requester_node, use_for, item_code, item_name, "
                               "item_org, operator, biz_num, result, prev "
                               "FROM usage_records WHERE seq = 345";
    if (f->pg) {
        PGconn *c = pg_connect(f->dsn);
        PGresult *q = PQexec(c, cols);
        assert_int_equal(PQresultStatus(q), PGRES_TUPLES_OK);
        assert_int_equal(PQntuples(q), 1);
        struct usage_record r = {
            .seq = strtoll(PQgetvalue(q, 0, 0), NULL, 10),
            .time_ms = strtoll(PQgetvalue(q, 0, 1), NULL, 10),
            .cert_id = PQgetvalue(q, 0, 2),
            .holder_code = PQgetvalue(q, 0, 3),
            .interface = PQgetvalue(q, 0, 4),
            .app_id = PQgetvalue(q, 0, 5),
            .requester_node = PQgetvalue(q, 0, 6),
            .use_for = PQgetvalue(q, 0, 7),
            .item_code = PQgetvalue(q, 0, 8),
            .item_name = PQgetvalue(q, 0, 9),
            .item_org = PQgetvalue(q, 0, 10),
            .operator_name = PQgetvalue(q, 0, 11),
            .biz_num = PQgetvalue(q, 0, 12),
            .result = atoi(PQgetvalue(q, 0, 13)),
        };
        char hash[65];
        assert_int_equal(usage_record_hash(PQgetvalue(q, 0, 14), &r, hash), ECERT_OK);
        PQclear(q);
        const char *v[1] = {hash};
        PGresult *u = PQexecParams(c, "UPDATE usage_records SET hash = $1 WHERE seq = 345", 1,
                                   NULL, v, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(u), PGRES_COMMAND_OK);
        PQclear(u);
        PQfinish(c);
        return;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, cols, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    struct usage_record r = {
        .seq = sqlite3_column_int64(st, 0),
        .time_ms = sqlite3_column_int64(st, 1),
        .cert_id = (const char *)sqlite3_column_text(st, 2),
        .holder_code = (const char *)sqlite3_column_text(st, 3),
        .interface = (const char *)sqlite3_column_text(st, 4),
        .app_id = (const char *)sqlite3_column_text(st, 5),
        .requester_node = (const char *)sqlite3_column_text(st, 6),
        .use_for = (const char *)sqlite3_column_text(st, 7),
        .item_code = (const char *)sqlite3_column_text(st, 8),
        .item_name = (const char *)sqlite3_column_text(st, 9),
        .item_org = (const char *)sqlite3_column_text(st, 10),
        .operator_name = (const char *)sqlite3_column_text(st, 11),
        .biz_num = (const char *)sqlite3_column_text(st, 12),
        .result = sqlite3_column_int(st, 13),
    };
    char hash[65];
    assert_int_equal(usage_record_hash((const char *)sqlite3_column_text(st, 14), &r, hash),
                     ECERT_OK);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE usage_records SET hash = ?1 WHERE seq = 345",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_record_chain_threads(void **state)
{
    struct fixture *f = *state;
    pthread_t th[THREADS];
    struct appender ap[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ap[i] = (struct appender){f->s, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, append_many, &ap[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(ap[i].failures, 0);
    }
    uint64_t count = 0;
    int64_t bad = -1;
    assert_int_equal(store_record_verify(f->s, &count, &bad), ECERT_OK);
    assert_int_equal(count, THREADS * PER_THREAD);
    assert_int_equal(raw_int(f, "SELECT max(seq) FROM usage_records"), THREADS * PER_THREAD);

    /* Change one field behind the store's back: that record is reported. */
    raw_exec(f, "UPDATE usage_records SET item_name = '企业开办 ' WHERE seq = 345");
    assert_int_equal(store_record_verify(f->s, &count, &bad), ECERT_E_SIGNATURE);
    assert_int_equal(bad, 345);
    assert_int_equal(count, 344);
    assert_non_null(strstr(err_detail(), "345"));

    /* Recompute that record's hash too (a careful forger): the next record's
     * prev no longer matches, so the break moves to 346. */
    forge_rehash_345(f);
    assert_int_equal(store_record_verify(f->s, &count, &bad), ECERT_E_SIGNATURE);
    assert_int_equal(bad, 346);

    /* A deleted record is found too (the seq gap, first). */
    raw_exec(f, "DELETE FROM usage_records WHERE seq BETWEEN 2 AND 345");
    assert_int_equal(store_record_verify(f->s, &count, &bad), ECERT_E_SIGNATURE);
    assert_int_equal(bad, 346);
    assert_int_equal(count, 1);
    assert_non_null(strstr(err_detail(), "missing"));
}

/* Appending continues the chain across a close and re-open. */
static void test_record_reopen(void **state)
{
    struct fixture *f = *state;
    struct usage_record r = {.time_ms = 1, .holder_code = HOLDER, .interface = "cert/search"};
    assert_int_equal(store_record_append(f->s, &r), ECERT_OK);
    store_close(f->s);
    struct store_config cfg = fixture_config(f, 1);
    assert_int_equal(store_open(&cfg, &f->s), ECERT_OK);
    assert_int_equal(store_record_append(f->s, &r), ECERT_OK);
    assert_int_equal(r.seq, 2);
    uint64_t count = 0;
    int64_t bad = -1;
    assert_int_equal(store_record_verify(f->s, &count, &bad), ECERT_OK);
    assert_int_equal(count, 2);
}

/* Many threads on a small pool: callers wait for a free connection. */
struct reader {
    struct store *s;
    int failures;
};

static void *read_many(void *arg)
{
    struct reader *rd = arg;
    struct arena a;
    arena_init(&a, 1 << 20);
    for (int i = 0; i < 200; i++) {
        struct cert c;
        if (store_cert_get(rd->s, &a, "P1", i % 2 == 0, &c) != ECERT_OK ||
            strcmp(c.status, "valid") != 0)
            rd->failures++;
        if (store_nonce_use(rd->s, "A", "fixed-nonce", 1000 + i, 1) == ECERT_E_INTERNAL)
            rd->failures++;
    }
    arena_release(&a);
    return NULL;
}

static void test_pool_contention(void **state)
{
    struct fixture *f = *state;
    struct cert c = make_cert("P1", "结婚证", T_MAR, "N-P", HOLDER, "2020-01-01", "valid");
    assert_int_equal(store_cert_put(f->s, &c), ECERT_OK);
    pthread_t th[8];
    struct reader rd[8];
    for (int i = 0; i < 8; i++) {
        rd[i] = (struct reader){f->s, 0};
        assert_int_equal(pthread_create(&th[i], NULL, read_many, &rd[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(rd[i].failures, 0);
    }
}

/* ---- holder codes, settings, scene lists, large batches ------------------ */

static void test_codes(void **state)
{
    struct fixture *f = *state;
    /* the real clock: adding a code drops those expired an hour ago */
    const int64_t now = (int64_t)time(NULL);
    assert_int_equal(store_code_add(f->s, "cid-1", now + 60), ECERT_OK);
    assert_int_equal(store_code_add(f->s, "cid-2", now + 60), ECERT_OK);
    /* a code is added once */
    assert_int_not_equal(store_code_add(f->s, "cid-1", now + 60), ECERT_OK);
    assert_int_equal(store_code_add(f->s, "", now), ECERT_E_ARG);
    /* single use: the first use wins */
    assert_int_equal(store_code_use(f->s, "cid-1", now, true), ECERT_OK);
    assert_int_equal(store_code_use(f->s, "cid-1", now, true), ECERT_E_CODE_USED);
    /* reusable codes until they expire */
    assert_int_equal(store_code_use(f->s, "cid-2", now, false), ECERT_OK);
    assert_int_equal(store_code_use(f->s, "cid-2", now + 1, false), ECERT_OK);
    assert_int_equal(store_code_use(f->s, "cid-2", now + 60, false), ECERT_E_CODE_USED);
    assert_int_equal(store_code_use(f->s, "cid-none", now, true), ECERT_E_CODE_USED);
}

static void test_meta(void **state)
{
    struct fixture *f = *state;
    const char *v = NULL;
    assert_int_equal(store_meta_get(f->s, &f->a, "lists_version", &v), ECERT_E_NOT_FOUND);
    assert_int_equal(store_meta_put(f->s, "lists_version", "3"), ECERT_OK);
    assert_int_equal(store_meta_get(f->s, &f->a, "lists_version", &v), ECERT_OK);
    assert_string_equal(v, "3");
    assert_int_equal(store_meta_put(f->s, "lists_version", "12"), ECERT_OK);
    assert_int_equal(store_meta_get(f->s, &f->a, "lists_version", &v), ECERT_OK);
    assert_string_equal(v, "12");
}

/* ---- app invalidations ----------------------------------------------------- */

struct inval_writer {
    struct store *s;
    const char *app;
    int failures;
};

static void *inval_many(void *arg)
{
    struct inval_writer *w = arg;
    for (int i = 0; i < 50; i++)
        if (store_app_invalidate(w->s, w->app, APP_DISABLED, 1764345600000 + i) != ECERT_OK)
            w->failures++;
    return NULL;
}

static void test_app_invalidations(void **state)
{
    struct fixture *f = *state;
    struct app_invalidation *list = NULL;
    size_t n = 9;
    int64_t now = 1764345600000;
    assert_int_equal(store_app_invalidations(f->s, &f->a, 0, 100, &list, &n), ECERT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_app_invalidate(f->s, "A3100001", APP_DISABLED, now), ECERT_OK);
    assert_int_equal(store_app_invalidate(f->s, "A3200002", -1, now), ECERT_OK);
    assert_int_equal(store_app_invalidate(f->s, "A3100001", APP_ACTIVE, now + 1), ECERT_OK);
    assert_int_equal(store_app_invalidations(f->s, &f->a, 0, 100, &list, &n), ECERT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(list[0].seq, 1);
    assert_string_equal(list[0].app_id, "A3100001");
    assert_int_equal(list[0].status, APP_DISABLED);
    assert_int_equal(list[1].seq, 2);
    assert_int_equal(list[1].status, -1);
    assert_int_equal(list[2].seq, 3);
    assert_int_equal(list[2].status, APP_ACTIVE);
    /* after a seq, and at most max */
    assert_int_equal(store_app_invalidations(f->s, &f->a, 2, 100, &list, &n), ECERT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].seq, 3);
    assert_int_equal(store_app_invalidations(f->s, &f->a, 0, 2, &list, &n), ECERT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[1].seq, 2);
    assert_int_equal(store_app_invalidations(f->s, &f->a, 0, 0, &list, &n), ECERT_E_ARG);
    assert_int_equal(store_app_invalidate(f->s, "", APP_ACTIVE, now), ECERT_E_ARG);

    /* a second handle (another process's pool) and threads on both: every
     * seq once, none skipped */
    struct store_config cfg = fixture_config(f, 2);
    struct store *other = NULL;
    assert_int_equal(store_open(&cfg, &other), ECERT_OK);
    pthread_t th[4];
    struct inval_writer w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct inval_writer){i % 2 ? other : f->s, i % 2 ? "A3200002" : "A3100001", 0};
        assert_int_equal(pthread_create(&th[i], NULL, inval_many, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(store_app_invalidations(other, &f->a, 3, 1000, &list, &n), ECERT_OK);
    assert_int_equal(n, 200);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(list[i].seq, (int64_t)(4 + i));
    store_close(other);

    /* rows older than an hour go at a purge (every 64 additions); seq goes
     * on from where it was, so a reader sees the gap */
    raw_exec(f, "UPDATE app_invalidations SET time_ms = 0");
    for (int i = 0; i < 64; i++)
        assert_int_equal(store_app_invalidate(f->s, "A3100001", APP_ACTIVE, now), ECERT_OK);
    assert_int_equal(store_app_invalidations(f->s, &f->a, 0, 1000, &list, &n), ECERT_OK);
    assert_int_equal(n, 64);
    assert_int_equal(list[0].seq, 204); /* 1..203 purged */
    assert_int_equal(list[n - 1].seq, 267);
}

static void test_scene_retain(void **state)
{
    struct fixture *f = *state;
    const char *types[] = {T_LIC};
    const char *codes[] = {"310000-0001", "310000-0002", "310000-0003"};
    for (size_t i = 0; i < N_ELEM(codes); i++) {
        struct scene sc = {codes[i], "场景", types, 1};
        assert_int_equal(store_scene_put(f->s, &sc), ECERT_OK);
    }
    const char *keep[] = {"310000-0002", "not-there"};
    assert_int_equal(store_scene_retain(f->s, keep, N_ELEM(keep)), ECERT_OK);
    struct scene got;
    assert_int_equal(store_scene_get(f->s, &f->a, "310000-0001", &got), ECERT_E_NOT_FOUND);
    assert_int_equal(store_scene_get(f->s, &f->a, "310000-0002", &got), ECERT_OK);
    assert_int_equal(got.ntypes, 1);
    assert_int_equal(store_scene_get(f->s, &f->a, "310000-0003", &got), ECERT_E_NOT_FOUND);
    /* an empty list keeps nothing */
    assert_int_equal(store_scene_retain(f->s, NULL, 0), ECERT_OK);
    assert_int_equal(store_scene_get(f->s, &f->a, "310000-0002", &got), ECERT_E_NOT_FOUND);
}

/* A batch big enough for PostgreSQL's COPY path: every field and the file
 * round-trip, an id given twice keeps its last line, a refused row keeps
 * nothing of the batch and is named, and a re-run replaces. */
static void test_cert_batch_large(void **state)
{
    struct fixture *f = *state;
    enum { N = 300 };
    static char ids[N][32], nums[N][32];
    static uint8_t files[N][64];
    struct cert *certs = calloc(N, sizeof *certs);
    assert_non_null(certs);
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "L-%04d", i % 290); /* ids 0..9 twice */
        snprintf(nums[i], sizeof nums[i], "N-%04d", i);
        for (size_t k = 0; k < sizeof files[i]; k++)
            files[i][k] = (uint8_t)(i * 7 + k);
        certs[i] = make_cert(ids[i], "结婚证", T_MAR, nums[i], HOLDER, "2020-01-01", "valid");
        certs[i].surface_json = "{\"持证人\":\"李四\",\"备注\":\"tab\\t\\\\ \\n\"}";
        certs[i].file = files[i];
        certs[i].file_len = (size_t)(i % 3 == 0 ? 0 : sizeof files[i]);
        if (i % 3 == 0)
            certs[i].file = NULL;
    }
    size_t failed = 0;
    assert_int_equal(store_cert_put_batch(f->s, certs, N, &failed), ECERT_OK);
    assert_int_equal(failed, N);
    uint64_t n = 0;
    assert_int_equal(store_cert_count(f->s, &n), ECERT_OK);
    assert_int_equal(n, 290);
    struct cert got;
    assert_int_equal(store_cert_get(f->s, &f->a, "L-0005", true, &got), ECERT_OK);
    assert_string_equal(got.number, "N-0295"); /* the later line */
    assert_cert_equal(&got, &certs[295]);
    assert_int_equal(got.file_len, sizeof files[295]);
    assert_memory_equal(got.file, files[295], sizeof files[295]);
    assert_int_equal(store_cert_get(f->s, &f->a, "L-0150", true, &got), ECERT_OK);
    assert_null(got.file); /* 150 % 3 == 0: no file */

    /* A refused row in the middle: nothing of the batch is kept. */
    certs[200].number = "N-changed";
    certs[210].status = "bogus";
    assert_int_equal(store_cert_put_batch(f->s, certs, N, &failed), ECERT_E_MALFORMED);
    assert_int_equal(failed, 210);
    certs[210].status = "valid";
    if (f->pg)
        raw_exec(f, "ALTER TABLE certs ADD CONSTRAINT no_x CHECK (number <> 'N-X')");
    else
        raw_exec(f, "CREATE TRIGGER no_x BEFORE INSERT ON certs WHEN NEW.number = 'N-X' "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END;");
    certs[220].number = "N-X";
    assert_int_not_equal(store_cert_put_batch(f->s, certs, N, &failed), ECERT_OK);
    assert_int_equal(failed, 220);
    assert_int_equal(store_cert_get(f->s, &f->a, "L-0200", false, &got), ECERT_OK);
    assert_string_equal(got.number, "N-0200");
    certs[220].number = nums[220];
    assert_int_equal(store_cert_put_batch(f->s, certs, N, &failed), ECERT_OK);
    assert_int_equal(store_cert_get(f->s, &f->a, "L-0200", false, &got), ECERT_OK);
    assert_string_equal(got.number, "N-changed");
    assert_int_equal(store_cert_count(f->s, &n), ECERT_OK);
    assert_int_equal(n, 290);
    free(certs);
}

/* ---- rate-limit leases (store_rate_take and node/ratelimit.c) ------------- */

static uint32_t take(struct store *s, const char *key, int64_t now, int64_t w, uint32_t limit,
                     uint32_t want, int64_t *reset)
{
    uint32_t g = 99;
    int64_t r = 0;
    assert_int_equal(store_rate_take(s, key, now, w, limit, want, &g, &r, NULL), ECERT_OK);
    if (reset)
        *reset = r;
    return g;
}

static void test_rate_take(void **state)
{
    struct fixture *f = *state;
    const int64_t w = 60000, t0 = 1764345600000;
    int64_t reset = 0, r = 0;
    uint32_t g = 0;
    /* A budget of 10 leased 4 at a time: 4, 4, 2, then nothing. */
    assert_int_equal(take(f->s, "app:A1", t0, w, 10, 4, &reset), 4);
    assert_true(reset == t0 + w);
    assert_int_equal(take(f->s, "app:A1", t0 + 10, w, 10, 4, &reset), 4);
    assert_true(reset == t0 + w); /* the window opened at the first take */
    /* The grant that hands out the rest says so. */
    bool spent = false;
    assert_int_equal(store_rate_take(f->s, "app:A1", t0 + 20, w, 10, 4, &g, &r, &spent), ECERT_OK);
    assert_int_equal(g, 2);
    assert_true(spent);
    assert_int_equal(store_rate_take(f->s, "app:A1", t0 + 30, w, 10, 4, &g, &r, &spent), ECERT_OK);
    assert_int_equal(g, 0);
    assert_true(spent);
    assert_int_equal(take(f->s, "app:A1", t0 + w - 1, w, 10, 1, NULL), 0);
    /* Other keys have their own budgets. */
    assert_int_equal(store_rate_take(f->s, "app:A2", t0 + 30, w, 10, 4, &g, &r, &spent), ECERT_OK);
    assert_int_equal(g, 4);
    assert_false(spent);
    assert_int_equal(take(f->s, "ip:127.0.0.1", t0 + 30, w, 3, 4, NULL), 3);
    /* The window ends: a new one opens at that take. */
    assert_int_equal(take(f->s, "app:A1", t0 + w, w, 10, 4, &reset), 4);
    assert_true(reset == t0 + 2 * w);
    /* A lowered limit below what was used grants nothing (never negative). */
    assert_int_equal(take(f->s, "app:A1", t0 + w + 1, w, 2, 4, NULL), 0);
    assert_int_equal(raw_int(f, "SELECT used FROM rate_counters WHERE key = 'app:A1'"), 4);
    /* Arguments. */
    char longkey[STORE_RATE_KEY_MAX + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = 0;
    assert_int_equal(store_rate_take(f->s, "", t0, w, 10, 1, &g, &r, NULL), ECERT_E_ARG);
    assert_int_equal(store_rate_take(f->s, longkey, t0, w, 10, 1, &g, &r, NULL), ECERT_E_ARG);
    assert_int_equal(store_rate_take(f->s, "k", t0, 0, 10, 1, &g, &r, NULL), ECERT_E_ARG);
    assert_int_equal(store_rate_take(f->s, "k", t0, w, 0, 1, &g, &r, NULL), ECERT_E_ARG);
    assert_int_equal(store_rate_take(f->s, "k", t0, w, 10, 0, &g, &r, NULL), ECERT_E_ARG);
    assert_int_equal(store_rate_take(f->s, "k", t0, w, 10, 1, NULL, &r, NULL), ECERT_E_ARG);
    /* Counters of ended windows are purged every few hundred takes. */
    int64_t later = t0 + 10 * w;
    for (int i = 0; i < 300; i++)
        (void)take(f->s, "app:busy", later + i, w, 1000000, 1, NULL);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM rate_counters WHERE key = 'app:A2'"), 0);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM rate_counters WHERE key = 'app:busy'"), 1);
}

/* Two processes' worth of takers on one database: several threads on each of
 * two store handles, each with its own local leases. */
struct rate_worker {
    struct ratelimit *rl;
    int64_t now;
    int calls;
    int allowed;
    ecert_status st;
};

#define RATE_LIMIT 50
#define RATE_CHUNK 4
#define RATE_WINDOW 3600000

static void *rate_worker_run(void *arg)
{
    struct rate_worker *w = arg;
    for (int i = 0; i < w->calls; i++) {
        bool ok = false, first = false;
        int64_t retry = 0;
        ecert_status st = ratelimit_take(w->rl, "app:shared", RATE_LIMIT, RATE_CHUNK, RATE_WINDOW,
                                         w->now, &ok, &retry, &first);
        if (st) {
            w->st = st;
            return NULL;
        }
        if (ok)
            w->allowed++;
        else if (retry <= 0 || retry > RATE_WINDOW)
            w->st = ECERT_E_INTERNAL;
    }
    return NULL;
}

/* Takes until refused; the number allowed. */
static int rate_drain(struct ratelimit *rl, const char *key, uint32_t limit, uint32_t chunk,
                      int64_t now)
{
    int n = 0;
    for (;;) {
        bool ok = false, first = false;
        int64_t retry = 0;
        assert_int_equal(ratelimit_take(rl, key, limit, chunk, RATE_WINDOW, now, &ok, &retry,
                                        &first),
                         ECERT_OK);
        if (!ok) {
            assert_true(retry > 0);
            return n;
        }
        n++;
        assert_true(n <= (int)limit);
    }
}

static void test_rate_leases_two_processes(void **state)
{
    struct fixture *f = *state;
    const int64_t t0 = 1764345600000;
    struct store_config cfg = fixture_config(f, 4);
    struct store *s2 = NULL;
    assert_int_equal(store_open(&cfg, &s2), ECERT_OK);
    struct ratelimit a, b;
    assert_int_equal(ratelimit_init(&a, f->s, 0), ECERT_OK);
    assert_int_equal(ratelimit_init(&b, s2, 0), ECERT_OK);
    struct rate_worker w[6];
    pthread_t th[6];
    for (int i = 0; i < 6; i++) {
        w[i] = (struct rate_worker){i % 2 ? &b : &a, t0, 30, 0, ECERT_OK};
        assert_int_equal(pthread_create(&th[i], NULL, rate_worker_run, &w[i]), 0);
    }
    int allowed = 0;
    for (int i = 0; i < 6; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].st, ECERT_OK);
        allowed += w[i].allowed;
    }
    /* Never more than the limit; and once both processes have spent what
     * they hold, exactly the limit (no grant is lost or counted twice). */
    assert_true(allowed <= RATE_LIMIT);
    allowed += rate_drain(&a, "app:shared", RATE_LIMIT, RATE_CHUNK, t0);
    allowed += rate_drain(&b, "app:shared", RATE_LIMIT, RATE_CHUNK, t0);
    assert_int_equal(allowed, RATE_LIMIT);
    assert_int_equal(raw_int(f, "SELECT used FROM rate_counters WHERE key = 'app:shared'"),
                     RATE_LIMIT);
    /* A refused key is remembered: no store call until its window ends. */
    unsigned long long leases = atomic_load(&a.leases);
    int64_t retry = 0;
    bool first = true;
    assert_true(ratelimit_spent(&a, "app:shared", t0 + 5, &retry, &first));
    assert_false(first); /* rate_drain saw the first refusal */
    assert_true(retry == RATE_WINDOW - 5);
    assert_int_equal(rate_drain(&a, "app:shared", RATE_LIMIT, RATE_CHUNK, t0 + 5), 0);
    assert_int_equal(atomic_load(&a.leases), leases);
    assert_false(ratelimit_spent(&a, "app:other", t0, &retry, NULL));
    /* The window ends: a new budget, in both processes. */
    assert_false(ratelimit_spent(&a, "app:shared", t0 + RATE_WINDOW, &retry, NULL));
    assert_int_equal(rate_drain(&a, "app:shared", RATE_LIMIT, RATE_CHUNK, t0 + RATE_WINDOW) +
                         rate_drain(&b, "app:shared", RATE_LIMIT, RATE_CHUNK, t0 + RATE_WINDOW),
                     RATE_LIMIT);
    ratelimit_release(&a);
    ratelimit_release(&b);
    store_close(s2);
}

static void test_rate_leases_local(void **state)
{
    struct fixture *f = *state;
    const int64_t t0 = 1764345600000;
    struct ratelimit rl;
    assert_int_equal(ratelimit_init(&rl, f->s, 0), ECERT_OK);
    bool ok = false, first = false;
    int64_t retry = 0;
    /* Limit 0: no limit, no store call. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ratelimit_take(&rl, "ip:x", 0, 0, RATE_WINDOW, t0, &ok, &retry, &first),
                         ECERT_OK);
        assert_true(ok);
    }
    assert_int_equal(atomic_load(&rl.leases), 0);
    /* One lease serves a chunk of calls: 30 calls in chunks of 10. */
    for (int i = 0; i < 30; i++) {
        assert_int_equal(
            ratelimit_take(&rl, "app:bulk", 1000, 10, RATE_WINDOW, t0, &ok, &retry, &first),
            ECERT_OK);
        assert_true(ok);
    }
    assert_int_equal(atomic_load(&rl.leases), 3);
    assert_int_equal(raw_int(f, "SELECT used FROM rate_counters WHERE key = 'app:bulk'"), 30);
    /* The first refusal of a window is flagged once; the lease that handed
     * out the last of the budget said so, so refusals cost no store call. */
    unsigned long long before = atomic_load(&rl.leases);
    assert_int_equal(rate_drain(&rl, "app:small", 3, 0, t0), 3);
    assert_int_equal(atomic_load(&rl.leases) - before, 3);
    assert_int_equal(ratelimit_take(&rl, "app:small", 3, 0, RATE_WINDOW, t0, &ok, &retry, &first),
                     ECERT_OK);
    assert_false(ok);
    assert_false(first);
    /* Automatic chunks: exact below 200, about 1% above, at most 64. */
    assert_int_equal(ratelimit_auto_chunk(1), 1);
    assert_int_equal(ratelimit_auto_chunk(199), 1);
    assert_int_equal(ratelimit_auto_chunk(6000), 60);
    assert_int_equal(ratelimit_auto_chunk(1000000), 64);
    ratelimit_release(&rl);

    /* One local slot: two keys evict each other, losing at most their
     * unspent lease, never letting more through. */
    assert_int_equal(ratelimit_init(&rl, f->s, 1), ECERT_OK);
    int na = 0, nb = 0;
    for (int i = 0; i < 40; i++) {
        assert_int_equal(
            ratelimit_take(&rl, "app:EA", 20, 5, RATE_WINDOW, t0, &ok, &retry, &first), ECERT_OK);
        na += ok;
        assert_int_equal(
            ratelimit_take(&rl, "app:EB", 20, 5, RATE_WINDOW, t0, &ok, &retry, &first), ECERT_OK);
        nb += ok;
    }
    assert_true(na >= 4 && na <= 20);
    assert_true(nb >= 4 && nb <= 20);
    assert_int_equal(raw_int(f, "SELECT used FROM rate_counters WHERE key = 'app:EA'"), 20);
    ratelimit_release(&rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_migrate_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catalog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scenes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_batch_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test(test_record_canonical),
        cmocka_unit_test_setup_teardown(test_record_append_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_chain_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_contention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_app_invalidations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scene_retain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_batch_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_take, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_leases_two_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_leases_local, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
