/*
 * test_store_pg.c — the fault tests of the store (docs/store.md, "PostgreSQL
 * backend"), run by CTest with a PostgreSQL server from scripts/pg.sh:
 *
 *   - two processes on one database (as two ecertd of one province): appends
 *     from both form one intact chain, a nonce is accepted by exactly one of
 *     them, a single-use holder code is used once, migrations run once;
 *   - the server stopped (fast shutdown) and killed (immediate shutdown)
 *     under load, on a private server: calls fail fast with
 *     "database unavailable", work again by themselves once the server is
 *     back, and every append that succeeded is in the chain exactly once;
 *   - `ecert cert import` killed with SIGKILL half-way and run again, on both
 *     backends: only whole batches were kept, and the re-run completes
 *     without duplicates;
 *   - the importer's fast path for fileEntity (the base64 cut out of the
 *     line before JSON parsing) gives every line the verdict the plain parse
 *     gives it: escaped, duplicated, nested and misplaced fileEntity values.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <pthread.h>

#include "../../bench/certgen.h"
#include "common/arena.h"
#include "common/error.h"
#include "crypto/sm3.h"
#include "store/store.h"

#define DSN_MAX 2048

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !v[0])
        fail_msg("%s is not set (run through ctest: scripts/pg.sh provides the server)", name);
    return v;
}

static void read_dsn(const char *state, char *out, size_t cap)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/dsn", state);
    FILE *fp = fopen(path, "r");
    if (!fp)
        fail_msg("cannot read %s", path);
    if (!fgets(out, (int)cap, fp))
        out[0] = 0;
    fclose(fp);
    out[strcspn(out, "\r\n")] = 0;
}

/* The shared server's DSN with `schema` as the search_path. */
static void schema_dsn(const char *base, const char *schema, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s options='-csearch_path=%s'", base, schema);
    if (n < 0 || (size_t)n >= cap)
        fail_msg("DSN too long");
}

static void no_notices(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static PGresult *raw(const char *dsn, const char *sql)
{
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, no_notices, NULL);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQfinish(c);
    return r;
}

static int64_t raw_int(const char *dsn, const char *sql)
{
    PGresult *r = raw(dsn, sql);
    int64_t v = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    return v;
}

static void drop_schema(const char *dsn, const char *schema)
{
    char sql[128];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
    PQclear(raw(dsn, sql));
}

/* scripts/pg.sh VERB STATE; 0 on success. */
static int pg_sh(const char *verb, const char *state)
{
    const char *sh = env_or_fail("ECERT_PG_SH");
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execlp("bash", "bash", sh, verb, state, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static struct usage_record record_for(const char *biz)
{
    struct usage_record r = {
        .time_ms = 1764345600000,
        .cert_id = "C-1",
        .holder_code = "310104198506128045",
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
    return r;
}

/* ---- two processes, one database ------------------------------------------ */

#define PROCS 2
#define PROC_THREADS 4
#define PROC_APPENDS 150
#define NONCES 300
#define CODES 100

struct proc_worker {
    struct store *s;
    int proc, thread;
    int failures;
};

static void *proc_append(void *arg)
{
    struct proc_worker *w = arg;
    for (int i = 0; i < PROC_APPENDS; i++) {
        char biz[48];
        snprintf(biz, sizeof biz, "P%d-T%d-%03d", w->proc, w->thread, i);
        struct usage_record r = record_for(biz);
        if (store_record_append(w->s, &r) != ECERT_OK)
            w->failures++;
    }
    return NULL;
}

/* One "ecertd" of the province: its own store handle and pool. It opens
 * the store at once (racing the others to migrate the new schema), waits for
 * the go byte on `go`, works, and reports "nonces_ok codes_ok failures" on
 * `fd`. */
static int run_proc(const char *dsn, int proc, int go, int fd)
{
    struct store *s = NULL;
    struct store_config cfg = {"postgres", NULL, 4, dsn};
    if (store_open(&cfg, &s) != ECERT_OK) {
        fprintf(stderr, "proc %d: open: %s\n", proc, err_detail());
        return 1;
    }
    char b;
    if (read(go, &b, 1) != 1) {
        store_close(s);
        return 1;
    }
    pthread_t th[PROC_THREADS];
    struct proc_worker w[PROC_THREADS];
    for (int t = 0; t < PROC_THREADS; t++) {
        w[t] = (struct proc_worker){s, proc, t, 0};
        pthread_create(&th[t], NULL, proc_append, &w[t]);
    }
    int nonces_ok = 0, codes_ok = 0, failures = 0;
    int64_t now = (int64_t)time(NULL) * 1000;
    for (int i = 0; i < NONCES; i++) {
        char nonce[32];
        snprintf(nonce, sizeof nonce, "nonce-%04d", i);
        ecert_status st = store_nonce_use(s, "A3100001", nonce, now, 600000);
        if (st == ECERT_OK)
            nonces_ok++;
        else if (st != ECERT_E_REPLAY)
            failures++;
    }
    for (int i = 0; i < CODES; i++) {
        char cid[32];
        snprintf(cid, sizeof cid, "code-%03d", i);
        ecert_status st = store_code_use(s, cid, now / 1000, true);
        if (st == ECERT_OK)
            codes_ok++;
        else if (st != ECERT_E_CODE_USED)
            failures++;
    }
    for (int t = 0; t < PROC_THREADS; t++) {
        pthread_join(th[t], NULL);
        failures += w[t].failures;
    }
    store_close(s);
    char line[64];
    int n = snprintf(line, sizeof line, "%d %d %d\n", nonces_ok, codes_ok, failures);
    return write(fd, line, (size_t)n) == n ? 0 : 1;
}

static void test_two_processes(void **state)
{
    (void)state;
    char base[DSN_MAX], dsn[DSN_MAX], schema[64];
    read_dsn(env_or_fail("ECERT_TEST_PG_DIR"), base, sizeof base);
    snprintf(schema, sizeof schema, "twoproc_%ld", (long)getpid());
    schema_dsn(base, schema, dsn, sizeof dsn);
    drop_schema(base, schema);

    int fds[PROCS][2];
    pid_t pids[PROCS];
    /* Three processes open the new schema at once (migrations must run
     * exactly once); the two workers then wait for the go byte, sent once
     * this one has added the codes. */
    int go[2];
    assert_int_equal(pipe(go), 0);
    for (int p = 0; p < PROCS; p++) {
        assert_int_equal(pipe(fds[p]), 0);
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            close(fds[p][0]);
            close(go[1]);
            _exit(run_proc(dsn, p, go[0], fds[p][1]));
        }
        close(fds[p][1]);
    }
    close(go[0]);
    /* The schema and the codes, before the processes start. */
    struct store *s = NULL;
    struct store_config cfg = {"postgres", NULL, 2, dsn};
    assert_int_equal(store_open(&cfg, &s), ECERT_OK);
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < CODES; i++) {
        char cid[32];
        snprintf(cid, sizeof cid, "code-%03d", i);
        assert_int_equal(store_code_add(s, cid, now + 600), ECERT_OK);
    }
    assert_int_equal(write(go[1], "gg", PROCS), PROCS);
    close(go[1]);

    int nonces_ok = 0, codes_ok = 0, failures = 0;
    for (int p = 0; p < PROCS; p++) {
        char line[64] = "";
        ssize_t n = read(fds[p][0], line, sizeof line - 1);
        close(fds[p][0]);
        int status = 0;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_true(n > 0);
        int a = 0, b = 0, c = 0;
        assert_int_equal(sscanf(line, "%d %d %d", &a, &b, &c), 3);
        nonces_ok += a;
        codes_ok += b;
        failures += c;
    }
    assert_int_equal(failures, 0);
    /* Every nonce accepted once across both processes; every code used once. */
    assert_int_equal(nonces_ok, NONCES);
    assert_int_equal(codes_ok, CODES);

    uint64_t count = 0;
    int64_t bad = -1;
    assert_int_equal(store_record_verify(s, &count, &bad), ECERT_OK);
    assert_int_equal(count, PROCS * PROC_THREADS * PROC_APPENDS);
    store_close(s);
    assert_int_equal(raw_int(dsn, "SELECT count(DISTINCT biz_num) FROM usage_records"),
                     PROCS * PROC_THREADS * PROC_APPENDS);
    assert_int_equal(raw_int(dsn, "SELECT count(*) FROM schema_version"),
                     raw_int(dsn, "SELECT max(version) FROM schema_version"));
    drop_schema(base, schema);
}

/* ---- the server stopped and killed under load -------------------------- */

#define LOAD_THREADS 4
#define LOAD_MAX 200000

struct load {
    struct store *s;
    atomic_bool stop;
    atomic_long ok, failed;
    atomic_long max_fail_ms;  /* slowest failing call */
    atomic_long last_ok_ms;   /* monotonic time of the last success */
    /* per appended biz number: 1 ok, 2 failed */
    _Atomic unsigned char outcome[LOAD_THREADS][LOAD_MAX];
};

struct load_arg {
    struct load *l;
    int thread;
};

static void *load_worker(void *arg)
{
    struct load_arg *la = arg;
    struct load *l = la->l;
    struct arena a;
    arena_init(&a, 1 << 20);
    for (int i = 0; i < LOAD_MAX && !atomic_load(&l->stop); i++) {
        char biz[32], nonce[48];
        snprintf(biz, sizeof biz, "L%d-%06d", la->thread, i);
        snprintf(nonce, sizeof nonce, "ln-%d-%d", la->thread, i);
        int64_t t0 = mono_ms();
        struct usage_record r = record_for(biz);
        ecert_status st = store_nonce_use(l->s, "A1", nonce, (int64_t)time(NULL) * 1000, 600000);
        struct cert c;
        if (st == ECERT_OK)
            st = store_cert_get(l->s, &a, "R-1", false, &c);
        bool appended = false;
        if (st == ECERT_OK) {
            appended = true;
            st = store_record_append(l->s, &r);
        }
        int64_t took = mono_ms() - t0;
        if (st == ECERT_OK) {
            atomic_fetch_add(&l->ok, 1);
            atomic_store(&l->last_ok_ms, (long)mono_ms());
        } else {
            if (!strstr(err_detail(), "database unavailable") && st != ECERT_E_INTERNAL)
                fprintf(stderr, "unexpected failure %d: %s\n", st, err_detail());
            atomic_fetch_add(&l->failed, 1);
            long prev = atomic_load(&l->max_fail_ms);
            while (took > prev && !atomic_compare_exchange_weak(&l->max_fail_ms, &prev, took))
                ;
            sleep_ms(5);
        }
        if (appended)
            atomic_store(&l->outcome[la->thread][i], st == ECERT_OK ? 1 : 2);
        arena_release(&a);
        arena_init(&a, 1 << 20);
    }
    arena_release(&a);
    return NULL;
}

/* Waits until a call succeeds after `since` (monotonic ms); false after 20 s. */
static bool wait_recovered(struct load *l, int64_t since)
{
    for (int i = 0; i < 400; i++) {
        if (atomic_load(&l->last_ok_ms) > since)
            return true;
        sleep_ms(50);
    }
    return false;
}

/* One outage: `verb` (stop or kill) the server during load, check calls
 * fail while it is down, start it, check they succeed again. */
static void outage(struct load *l, const char *verb, const char *state)
{
    sleep_ms(600);
    long failed0 = atomic_load(&l->failed);
    assert_int_equal(pg_sh(verb, state), 0);
    int64_t down = mono_ms();
    sleep_ms(1000);
    assert_true(atomic_load(&l->failed) > failed0);
    /* Down means every call fails: no success after the server went away. */
    assert_true(atomic_load(&l->last_ok_ms) <= down + 200);
    assert_int_equal(pg_sh("start", state), 0);
    int64_t up = mono_ms();
    assert_true(wait_recovered(l, up));
    fprintf(stderr, "  %s: recovered %" PRId64 " ms after the start returned\n", verb,
            atomic_load(&l->last_ok_ms) - up);
}

static void test_restart_under_load(void **state)
{
    (void)state;
    char st_dir[] = "/tmp/ecert-pgt-XXXXXX";
    assert_non_null(mkdtemp(st_dir));
    char pstate[128], base[DSN_MAX], dsn[DSN_MAX];
    snprintf(pstate, sizeof pstate, "%s/pg", st_dir);
    assert_int_equal(pg_sh("start", pstate), 0);
    read_dsn(pstate, base, sizeof base);
    schema_dsn(base, "restart", dsn, sizeof dsn);

    struct load *l = calloc(1, sizeof *l);
    assert_non_null(l);
    struct store_config cfg = {"postgres", NULL, 4, dsn};
    assert_int_equal(store_open(&cfg, &l->s), ECERT_OK);
    struct cert c = {.id = "R-1", .type = "结婚证", .type_code = "11100000000013338W032",
                     .number = "N", .holder = "H", .holder_code = "310104198506128045",
                     .holder_type_code = "111", .issuer = "I", .issuer_code = CERTGEN_ISSUER,
                     .issued_date = "2020-01-01", .valid_from = "2020-01-01", .valid_to = "",
                     .status = "valid", .area_code = "310104", .surface_json = "{}",
                     .file_format = "OFD", .file_name = "a.ofd", .file_sm3 = "00"};
    assert_int_equal(store_cert_put(l->s, &c), ECERT_OK);

    pthread_t th[LOAD_THREADS];
    struct load_arg la[LOAD_THREADS];
    for (int t = 0; t < LOAD_THREADS; t++) {
        la[t] = (struct load_arg){l, t};
        assert_int_equal(pthread_create(&th[t], NULL, load_worker, &la[t]), 0);
    }
    outage(l, "stop", pstate); /* fast shutdown: sessions are told and closed */
    outage(l, "kill", pstate); /* immediate shutdown: a crash, then recovery */
    sleep_ms(500);
    atomic_store(&l->stop, true);
    for (int t = 0; t < LOAD_THREADS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);

    fprintf(stderr, "  %ld calls succeeded, %ld failed; slowest failure %ld ms\n",
            atomic_load(&l->ok), atomic_load(&l->failed), atomic_load(&l->max_fail_ms));
    /* Failing fast: no call waited for a timeout. */
    assert_true(atomic_load(&l->max_fail_ms) < 3000);

    /* The chain is intact; every append that succeeded is there once, and
     * no append is there twice (one that failed may be there: its commit
     * may have happened just before the connection went). */
    uint64_t count = 0;
    int64_t bad = -1;
    assert_int_equal(store_record_verify(l->s, &count, &bad), ECERT_OK);
    PGresult *r = raw(dsn, "SELECT biz_num, count(*) FROM usage_records GROUP BY biz_num");
    long ok = 0, in_doubt = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        assert_string_equal(PQgetvalue(r, i, 1), "1");
        int t = 0, k = 0;
        assert_int_equal(sscanf(PQgetvalue(r, i, 0), "L%d-%d", &t, &k), 2);
        unsigned char o = atomic_load(&l->outcome[t][k]);
        assert_true(o == 1 || o == 2);
        if (o == 2)
            in_doubt++;
    }
    assert_int_equal((uint64_t)PQntuples(r), count);
    PQclear(r);
    for (int t = 0; t < LOAD_THREADS; t++)
        for (int k = 0; k < LOAD_MAX; k++)
            ok += atomic_load(&l->outcome[t][k]) == 1;
    assert_int_equal((long)count, ok + in_doubt);
    fprintf(stderr, "  %" PRIu64 " records, %ld of them from calls reported failed\n", count,
            in_doubt);
    store_close(l->s);
    free(l);
    assert_int_equal(pg_sh("destroy", pstate), 0);
    rmdir(st_dir);
}

/* ---- cert import killed and re-run -------------------------------------- */

#define IMPORT_CERTS 20000
#define IMPORT_BATCH 250
#define IMPORT_FILE 200

static pid_t spawn_import(const char *db, const char *file)
{
    const char *bin = env_or_fail("ECERT_BIN");
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(127);
        execl(bin, bin, "cert", "import", "--db", db, "--batch", "250", file, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void import_kill_rerun(const char *db, const struct store_config *cfg)
{
    char path[] = "/tmp/ecert-import-XXXXXX.jsonl";
    int fd = mkstemps(path, 6);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    struct buf line = BUF_INIT(1 << 20);
    static char scratch[IMPORT_FILE * 3];
    for (uint64_t k = 0; k < IMPORT_CERTS; k++) {
        buf_reset(&line);
        assert_int_equal(certgen_line(k, IMPORT_FILE, scratch, &line), ECERT_OK);
        assert_int_equal(fwrite(line.data, 1, line.len, fp), line.len);
    }
    buf_release(&line);
    assert_int_equal(fclose(fp), 0);

    struct store *s = NULL;
    assert_int_equal(store_open(cfg, &s), ECERT_OK);
    pid_t pid = spawn_import(db, path);
    assert_true(pid > 0);
    /* Kill it once a few batches are in, well before the end. */
    uint64_t n = 0;
    for (int i = 0; i < 3000 && n < 3 * IMPORT_BATCH; i++) {
        sleep_ms(2);
        assert_int_equal(store_cert_count(s, &n), ECERT_OK);
    }
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(store_cert_count(s, &n), ECERT_OK);
    fprintf(stderr, "  killed with %" PRIu64 " certificates stored\n", n);
    assert_true(n >= 3 * IMPORT_BATCH && n < IMPORT_CERTS);
    /* A batch is one transaction: whole batches only. */
    assert_int_equal(n % IMPORT_BATCH, 0);

    pid = spawn_import(db, path);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(store_cert_count(s, &n), ECERT_OK);
    assert_int_equal(n, IMPORT_CERTS);
    /* Each certificate whole: its fields and its file, whose SM3 matches. */
    struct arena a;
    arena_init(&a, 1 << 20);
    for (uint64_t k = 0; k < IMPORT_CERTS; k += 97) {
        char id[IDS_CERT_MAX_LEN + 1], num[32], holder[IDS_CODE_LEN + 1], hex[65];
        uint8_t md[SM3_LEN], want[IMPORT_FILE];
        certgen_id(k, id, sizeof id);
        certgen_holder(k / CERTGEN_PER_HOLDER, holder);
        certgen_file(k, want, sizeof want);
        snprintf(num, sizeof num, "N%" PRIu64, k);
        struct cert c;
        assert_int_equal(store_cert_get(s, &a, id, true, &c), ECERT_OK);
        assert_string_equal(c.number, num);
        assert_string_equal(c.holder_code, holder);
        assert_int_equal(c.file_len, IMPORT_FILE);
        assert_memory_equal(c.file, want, IMPORT_FILE);
        sm3_digest(c.file, c.file_len, md);
        hex_encode(md, sizeof md, hex);
        assert_string_equal(c.file_sm3, hex);
        arena_release(&a);
        arena_init(&a, 1 << 20);
    }
    arena_release(&a);
    store_close(s);
    unlink(path);
}

static void test_import_kill_sqlite(void **state)
{
    (void)state;
    char dir[] = "/tmp/ecert-importdb-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[128], p[160];
    snprintf(db, sizeof db, "%s/node.db", dir);
    struct store_config cfg = {"sqlite", db, 2, NULL};
    import_kill_rerun(db, &cfg);
    unlink(db);
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
    rmdir(dir);
}

static void test_import_kill_pg(void **state)
{
    (void)state;
    char base[DSN_MAX], dsn[DSN_MAX], uri[DSN_MAX], schema[64];
    read_dsn(env_or_fail("ECERT_TEST_PG_DIR"), base, sizeof base);
    snprintf(schema, sizeof schema, "import_%ld", (long)getpid());
    schema_dsn(base, schema, dsn, sizeof dsn);
    drop_schema(base, schema);
    /* The CLI takes a URI with --db: the same server, user and database. */
    char host[512] = "", user[64] = "", dbname[64] = "";
    int port = 0;
    assert_int_equal(sscanf(base, "host=%511s port=%d user=%63s dbname=%63s", host, &port, user,
                            dbname),
                     4);
    snprintf(uri, sizeof uri, "postgresql://%s@/%s?host=%s&port=%d&options=-csearch_path%%3D%s",
             user, dbname, host, port, schema);
    struct store_config cfg = {"postgres", NULL, 2, dsn};
    import_kill_rerun(uri, &cfg);
    drop_schema(base, schema);
}

/* ---- the importer's fileEntity fast path --------------------------------- */

/* Runs `ecert cert import` on `text` (a JSONL file) into a new SQLite file;
 * stores stdout's first line in out and returns the exit status. */
static int import_text(const char *text, char *out, size_t cap)
{
    char dir[] = "/tmp/ecert-fast-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char jsonl[128], db[128], res[128], p[160];
    snprintf(jsonl, sizeof jsonl, "%s/in.jsonl", dir);
    snprintf(db, sizeof db, "%s/node.db", dir);
    snprintf(res, sizeof res, "%s/out.txt", dir);
    FILE *fp = fopen(jsonl, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    const char *bin = env_or_fail("ECERT_BIN");
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(res, "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(127);
        execl(bin, bin, "cert", "import", "--db", db, jsonl, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    fp = fopen(res, "r");
    assert_non_null(fp);
    if (!fgets(out, (int)cap, fp))
        out[0] = 0;
    fclose(fp);
    out[strcspn(out, "\n")] = 0;
    const char *files[] = {jsonl, db, res};
    for (size_t i = 0; i < 3; i++)
        unlink(files[i]);
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
    rmdir(dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Certificate 7 as a line whose `"fileEntity":"<base64>"` member is replaced
 * by `member` (NULL: kept). */
static void line_with(const char *member, char *out, size_t cap)
{
    struct buf line = BUF_INIT(1 << 16);
    static char scratch[1024];
    assert_int_equal(certgen_line(7, 64, scratch, &line), ECERT_OK);
    char *text = (char *)line.data;
    char *fe = strstr(text, ",\"fileEntity\":\"");
    assert_non_null(fe);
    if (member) {
        *fe = 0;
        snprintf(out, cap, "%s,%s}\n", text, member);
    } else {
        snprintf(out, cap, "%s", text);
    }
    buf_release(&line);
}

static void test_import_file_entity_paths(void **state)
{
    (void)state;
    char good[4096], line[8192], out[128];
    line_with(NULL, good, sizeof good);
    char b64[128];
    const char *v = strstr(good, "\"fileEntity\":\"") + 14;
    snprintf(b64, sizeof b64, "%.*s", (int)(strchr(v, '"') - v), v);
    assert_int_equal(import_text(good, out, sizeof out), 0);
    assert_string_equal(out, "imported 1, rejected 0");

    struct {
        const char *what;
        char member[512];
        int status;
    } cases[] = {
        /* base64 broken over lines (escapes): the plain parse, accepted */
        {"escaped", "", 0},
        /* a second fileEntity: duplicate keys are refused */
        {"duplicate", "", 1},
        /* the file only inside SurfaceData, an empty one at the top: refused */
        {"nested", "", 1},
        /* "fileEntity" as a value, not a key: no file at all, refused */
        {"as value", "", 1},
        /* spaces around the colon: still found, accepted */
        {"spaced", "", 0},
        /* invalid base64: refused either way */
        {"bad base64", "\"fileEntity\":\"!!!!\"", 1},
    };
    snprintf(cases[0].member, sizeof cases[0].member, "\"fileEntity\":\"%.40s\\n%s\"", b64,
             b64 + 40);
    snprintf(cases[1].member, sizeof cases[1].member,
             "\"fileEntity\":\"%s\",\"fileEntity\":\"%s\"", b64, b64);
    snprintf(cases[2].member, sizeof cases[2].member,
             "\"X\":{\"fileEntity\":\"%s\"},\"fileEntity\":\"\"", b64);
    snprintf(cases[3].member, sizeof cases[3].member, "\"note\":\"fileEntity\"");
    snprintf(cases[4].member, sizeof cases[4].member, "\"fileEntity\" :  \"%s\"", b64);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        line_with(cases[i].member, line, sizeof line);
        int st = import_text(line, out, sizeof out);
        if (st != cases[i].status)
            fail_msg("%s: exit %d, want %d (%s)", cases[i].what, st, cases[i].status, out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_processes),
        cmocka_unit_test(test_restart_under_load),
        cmocka_unit_test(test_import_kill_sqlite),
        cmocka_unit_test(test_import_kill_pg),
        cmocka_unit_test(test_import_file_entity_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
