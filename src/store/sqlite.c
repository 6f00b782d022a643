/*
 * sqlite.c — the embedded store backend (SQLite 3, WAL), one of the two
 * behind the dispatch layer (store.c, store/backend.h).
 *
 * Shape:
 *   - a pool of connections (mutex + condvar free list): a thread takes one
 *     connection for one store call, so readers never wait for each other;
 *   - per connection, every statement is prepared once on first use and kept
 *     (sqlite3_reset + sqlite3_clear_bindings after each use);
 *   - every write in this process runs under one write mutex. SQLite allows
 *     one writer at a time anyway; taking the lock in-process first means our
 *     own threads queue on a condvar instead of spinning through SQLite's busy
 *     handler (which sleeps in growing steps). Other processes (an operator's
 *     `ecert cert import` while ecertd runs) are covered by busy_timeout;
 *   - multi-statement writes are one BEGIN IMMEDIATE transaction, which takes
 *     the write lock up front, so a transaction never fails half-way with
 *     SQLITE_BUSY on lock upgrade;
 *   - schema changes are an ordered array of migrations, each applied in its
 *     own transaction together with its row in schema_version.
 *
 * Durability: synchronous=NORMAL for the connection (in WAL mode a process
 * crash loses nothing; an OS crash or power cut may lose the last commits of
 * catalog, certificate, app, nonce and token writes, which the operator or the
 * next request redoes). Usage-record appends switch their connection to
 * synchronous=FULL around the transaction: a record is on disk before the call
 * it records is answered (SPEC §4.1 rule 6).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "common/error.h"
#include "store/backend.h"
#include "store/store.h"

#define POOL_DEFAULT 4
#define POOL_MAX 256
#define BUSY_TIMEOUT_MS 10000
#define SEARCH_LIMIT_DEFAULT 1000
#define SEARCH_LIMIT_MAX 10000
#define TYPE_CODES_MAX 1024
/* Purge expired nonces once per this many nonce_use calls. */
#define NONCE_PURGE_EVERY 256
/* Purge revocations of long-expired tokens once per this many revocations. */
#define REVOKE_PURGE_EVERY 64
/* App invalidations: kept an hour, purged every 64 additions. */
#define APP_INVAL_KEEP_MS 3600000
#define APP_INVAL_PURGE_EVERY 64
#define APP_INVAL_LIST_MAX 1000
#define REVOKE_KEEP_S 3600
/* Drop the counters of ended rate-limit windows once per this many takes. */
#define RATE_PURGE_EVERY 256

/* ---- migrations ----------------------------------------------------------
 * Append only: a released migration is never edited, a change is a new entry.
 * Index i holds the script that takes the schema from version i to i + 1.
 * The column order of certs keeps `file` last, so that reading the metadata of
 * a row never touches the overflow pages that hold the file. */
static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE catalog ("
    "  type_code  TEXT PRIMARY KEY NOT NULL,"
    "  name       TEXT NOT NULL,"
    "  yrd_shared INTEGER NOT NULL DEFAULT 0 CHECK (yrd_shared IN (0, 1))"
    ");"
    "CREATE INDEX catalog_name ON catalog(name);"

    "CREATE TABLE scenes ("
    "  item_code TEXT PRIMARY KEY NOT NULL,"
    "  item_name TEXT NOT NULL"
    ");"
    "CREATE TABLE scene_types ("
    "  item_code TEXT NOT NULL REFERENCES scenes(item_code) ON DELETE CASCADE,"
    "  type_code TEXT NOT NULL,"
    "  PRIMARY KEY (item_code, type_code)"
    ") WITHOUT ROWID;"

    "CREATE TABLE certs ("
    "  id               TEXT PRIMARY KEY NOT NULL,"
    "  type             TEXT NOT NULL,"
    "  type_code        TEXT NOT NULL,"
    "  number           TEXT NOT NULL,"
    "  holder           TEXT NOT NULL,"
    "  holder_code      TEXT NOT NULL,"
    "  holder_type_code TEXT NOT NULL,"
    "  issuer           TEXT NOT NULL,"
    "  issuer_code      TEXT NOT NULL,"
    "  issued_date      TEXT NOT NULL,"
    "  valid_from       TEXT NOT NULL,"
    "  valid_to         TEXT NOT NULL,"
    "  status           TEXT NOT NULL"
    "                   CHECK (status IN ('valid', 'revoked', 'expired', 'suspended')),"
    "  area_code        TEXT NOT NULL,"
    "  surface_json     TEXT NOT NULL DEFAULT '{}',"
    "  file_format      TEXT NOT NULL,"
    "  file_name        TEXT NOT NULL,"
    "  file_sm3         TEXT NOT NULL,"
    "  updated_ms       INTEGER NOT NULL,"
    "  file             BLOB"
    ");"
    "CREATE INDEX certs_holder ON certs(holder_code, type_code);"

    "CREATE TABLE apps ("
    "  app_id      TEXT PRIMARY KEY NOT NULL,"
    "  secret_hash TEXT NOT NULL,"
    "  corp_name   TEXT NOT NULL,"
    "  corp_code   TEXT NOT NULL,"
    "  public_key  TEXT NOT NULL DEFAULT '',"
    "  certificate TEXT NOT NULL DEFAULT '',"
    "  province    TEXT NOT NULL DEFAULT '',"
    "  status      INTEGER NOT NULL,"
    "  updated_ms  INTEGER NOT NULL"
    ");"

    "CREATE TABLE nonces ("
    "  app_id TEXT NOT NULL,"
    "  nonce  TEXT NOT NULL,"
    "  ts     INTEGER NOT NULL,"
    "  PRIMARY KEY (app_id, nonce)"
    ") WITHOUT ROWID;"
    "CREATE INDEX nonces_ts ON nonces(ts);"

    "CREATE TABLE revoked_tokens ("
    "  jti TEXT PRIMARY KEY NOT NULL,"
    "  exp INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX revoked_tokens_exp ON revoked_tokens(exp);"

    "CREATE TABLE usage_records ("
    "  seq            INTEGER PRIMARY KEY,"
    "  time_ms        INTEGER NOT NULL,"
    "  cert_id        TEXT NOT NULL,"
    "  holder_code    TEXT NOT NULL,"
    "  interface      TEXT NOT NULL,"
    "  app_id         TEXT NOT NULL,"
    "  requester_node TEXT NOT NULL,"
    "  use_for        TEXT NOT NULL,"
    "  item_code      TEXT NOT NULL,"
    "  item_name      TEXT NOT NULL,"
    "  item_org       TEXT NOT NULL,"
    "  operator       TEXT NOT NULL,"
    "  biz_num        TEXT NOT NULL,"
    "  result         INTEGER NOT NULL,"
    "  prev           TEXT NOT NULL,"
    "  hash           TEXT NOT NULL"
    ");"
    "CREATE INDEX usage_records_holder ON usage_records(holder_code, time_ms);",
    /* 2: holder codes (single use) and published-list versions */
    "CREATE TABLE holder_codes ("
    "  cid  TEXT PRIMARY KEY NOT NULL,"
    "  exp  INTEGER NOT NULL,"
    "  used INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX holder_codes_exp ON holder_codes(exp);"
    "CREATE TABLE meta ("
    "  key   TEXT PRIMARY KEY NOT NULL,"
    "  value TEXT NOT NULL"
    ");",
    /* 3: rate-limit windows (store_rate_take) */
    "CREATE TABLE rate_counters ("
    "  key      TEXT PRIMARY KEY NOT NULL,"
    "  reset_ms INTEGER NOT NULL,"
    "  used     INTEGER NOT NULL,"
    "  granted  INTEGER NOT NULL"
    ");"
    "CREATE INDEX rate_counters_reset ON rate_counters(reset_ms);",
    /* 4: app-state changes for the other processes on this store.
     * AUTOINCREMENT: a seq is never reused, even after the purge empties
     * the table (readers remember the last seq they saw). */
    "CREATE TABLE app_invalidations ("
    "  seq     INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  app_id  TEXT NOT NULL,"
    "  status  INTEGER NOT NULL,"
    "  time_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX app_invalidations_time ON app_invalidations(time_ms);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- statements ---------------------------------------------------------- */

#define CERT_COLS                                                                                  \
    "id, type, type_code, number, holder, holder_code, holder_type_code, issuer, issuer_code, "   \
    "issued_date, valid_from, valid_to, status, area_code, surface_json, file_format, "           \
    "file_name, file_sm3"
#define CERT_NCOLS 18

#define RECORD_COLS                                                                                \
    "seq, time_ms, cert_id, holder_code, interface, app_id, requester_node, use_for, "            \
    "item_code, item_name, item_org, operator, biz_num, result, prev, hash"

enum stmt_id {
    S_BEGIN_WRITE,
    S_BEGIN_READ,
    S_COMMIT,
    S_ROLLBACK,
    S_SYNC_FULL,
    S_SYNC_NORMAL,
    S_VERSION_GET,
    S_VERSION_ADD,
    S_CATALOG_PUT,
    S_CATALOG_GET,
    S_CATALOG_FIND,
    S_SCENE_PUT,
    S_SCENE_CLEAR_TYPES,
    S_SCENE_ADD_TYPE,
    S_SCENE_GET,
    S_SCENE_GET_TYPES,
    S_CERT_PUT,
    S_CERT_GET,
    S_CERT_GET_FILE,
    S_CERT_SEARCH,
    S_CERT_COUNT,
    S_APP_PUT,
    S_APP_GET,
    S_NONCE_USE,
    S_NONCE_PURGE,
    S_TOKEN_REVOKE,
    S_TOKEN_PURGE,
    S_TOKEN_GET,
    S_TOKEN_LIST,
    S_RECORD_LAST,
    S_RECORD_ADD,
    S_RECORD_LIST,
    S_RECORD_ALL,
    S_CODE_ADD,
    S_CODE_USE,
    S_CODE_PURGE,
    S_META_GET,
    S_META_PUT,
    S_SCENE_RETAIN,
    S_RATE_TAKE,
    S_RATE_PURGE,
    S_APP_INVAL_ADD,
    S_APP_INVAL_PURGE,
    S_APP_INVAL_LIST,
    STMT_COUNT
};

static const char *const stmt_sql[STMT_COUNT] = {
    [S_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [S_BEGIN_READ] = "BEGIN",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SYNC_FULL] = "PRAGMA synchronous = FULL",
    [S_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
    [S_VERSION_GET] = "SELECT coalesce(max(version), 0) FROM schema_version",
    [S_VERSION_ADD] = "INSERT INTO schema_version (version, applied_ms) VALUES (?1, ?2)",
    [S_CATALOG_PUT] = "INSERT INTO catalog (type_code, name, yrd_shared) VALUES (?1, ?2, ?3) "
                      "ON CONFLICT (type_code) DO UPDATE SET name = excluded.name, "
                      "yrd_shared = excluded.yrd_shared",
    [S_CATALOG_GET] = "SELECT name, yrd_shared FROM catalog WHERE type_code = ?1",
    [S_CATALOG_FIND] = "SELECT type_code FROM catalog WHERE name = ?1 ORDER BY type_code LIMIT 1",
    [S_SCENE_PUT] = "INSERT INTO scenes (item_code, item_name) VALUES (?1, ?2) "
                    "ON CONFLICT (item_code) DO UPDATE SET item_name = excluded.item_name",
    [S_SCENE_CLEAR_TYPES] = "DELETE FROM scene_types WHERE item_code = ?1",
    [S_SCENE_ADD_TYPE] = "INSERT OR IGNORE INTO scene_types (item_code, type_code) VALUES (?1, ?2)",
    [S_SCENE_GET] = "SELECT item_name FROM scenes WHERE item_code = ?1",
    [S_SCENE_GET_TYPES] = "SELECT type_code FROM scene_types WHERE item_code = ?1 "
                          "ORDER BY type_code",
    [S_CERT_PUT] =
        "INSERT INTO certs (" CERT_COLS ", updated_ms, file) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
        "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20) "
        "ON CONFLICT (id) DO UPDATE SET type = excluded.type, type_code = excluded.type_code, "
        "number = excluded.number, holder = excluded.holder, holder_code = excluded.holder_code, "
        "holder_type_code = excluded.holder_type_code, issuer = excluded.issuer, "
        "issuer_code = excluded.issuer_code, issued_date = excluded.issued_date, "
        "valid_from = excluded.valid_from, valid_to = excluded.valid_to, "
        "status = excluded.status, area_code = excluded.area_code, "
        "surface_json = excluded.surface_json, file_format = excluded.file_format, "
        "file_name = excluded.file_name, file_sm3 = excluded.file_sm3, "
        "updated_ms = excluded.updated_ms, file = excluded.file",
    [S_CERT_GET] = "SELECT " CERT_COLS " FROM certs WHERE id = ?1",
    [S_CERT_GET_FILE] = "SELECT " CERT_COLS ", file FROM certs WHERE id = ?1",
    /* Optional filters are NULL-able parameters rather than SQL assembled per
     * query; holder_code is a plain equality, so certs_holder is used and the
     * rest only filters one holder's few rows. The type-code restriction is a
     * JSON array bound as one parameter and expanded by json_each. */
    [S_CERT_SEARCH] = "SELECT " CERT_COLS " FROM certs WHERE holder_code = ?1 "
                      "AND (?2 IS NULL OR type = ?2) AND (?3 IS NULL OR number = ?3) "
                      "AND (?4 IS NULL OR type_code IN (SELECT value FROM json_each(?4))) "
                      "ORDER BY issued_date DESC, id DESC LIMIT ?5",
    [S_CERT_COUNT] = "SELECT count(*) FROM certs",
    [S_APP_PUT] = "INSERT INTO apps (app_id, secret_hash, corp_name, corp_code, public_key, "
                  "certificate, province, status, updated_ms) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                  "ON CONFLICT (app_id) DO UPDATE SET secret_hash = excluded.secret_hash, "
                  "corp_name = excluded.corp_name, corp_code = excluded.corp_code, "
                  "public_key = excluded.public_key, certificate = excluded.certificate, "
                  "province = excluded.province, status = excluded.status, "
                  "updated_ms = excluded.updated_ms",
    [S_APP_GET] = "SELECT app_id, secret_hash, corp_name, corp_code, public_key, certificate, "
                  "province, status, updated_ms FROM apps WHERE app_id = ?1",
    /* One statement decides replay: a new pair inserts; a pair whose stored
     * time has left the window (ts < ?4) is refreshed; otherwise nothing
     * changes, and sqlite3_changes() == 0 means the nonce is a replay. */
    [S_NONCE_USE] = "INSERT INTO nonces (app_id, nonce, ts) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (app_id, nonce) DO UPDATE SET ts = excluded.ts "
                    "WHERE nonces.ts < ?4",
    [S_NONCE_PURGE] = "DELETE FROM nonces WHERE ts < ?1",
    [S_TOKEN_REVOKE] = "INSERT INTO revoked_tokens (jti, exp) VALUES (?1, ?2) "
                       "ON CONFLICT (jti) DO UPDATE SET exp = max(exp, excluded.exp)",
    [S_TOKEN_PURGE] = "DELETE FROM revoked_tokens WHERE exp < ?1",
    [S_CODE_ADD] = "INSERT INTO holder_codes (cid, exp) VALUES (?1, ?2)",
    /* One statement decides: a code is usable while unexpired and, when single
     * use is on (?3 = 1), not used before. */
    [S_CODE_USE] = "UPDATE holder_codes SET used = used + 1 "
                   "WHERE cid = ?1 AND exp > ?2 AND (used = 0 OR ?3 = 0)",
    [S_CODE_PURGE] = "DELETE FROM holder_codes WHERE exp < ?1",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    /* The list of codes to keep travels as one JSON array parameter. */
    [S_SCENE_RETAIN] = "DELETE FROM scenes WHERE item_code NOT IN "
                       "(SELECT value FROM json_each(?1))",
    [S_META_PUT] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [S_APP_INVAL_ADD] =
        "INSERT INTO app_invalidations (app_id, status, time_ms) VALUES (?1, ?2, ?3)",
    [S_APP_INVAL_PURGE] = "DELETE FROM app_invalidations WHERE time_ms < ?1",
    [S_APP_INVAL_LIST] = "SELECT seq, app_id, status FROM app_invalidations WHERE seq > ?1 "
                         "ORDER BY seq LIMIT ?2",
    [S_TOKEN_GET] = "SELECT 1 FROM revoked_tokens WHERE jti = ?1",
    [S_TOKEN_LIST] = "SELECT jti FROM revoked_tokens WHERE exp >= ?1 ORDER BY jti",
    [S_RECORD_LAST] = "SELECT seq, hash FROM usage_records ORDER BY seq DESC LIMIT 1",
    [S_RECORD_ADD] = "INSERT INTO usage_records (" RECORD_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, "
                     "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    [S_RECORD_LIST] = "SELECT " RECORD_COLS " FROM usage_records WHERE holder_code = ?1 "
                      "AND time_ms >= ?2 AND time_ms <= ?3 ORDER BY time_ms DESC, seq DESC "
                      "LIMIT ?4",
    [S_RECORD_ALL] = "SELECT " RECORD_COLS " FROM usage_records ORDER BY seq",
    /* One statement leases budget (?1 key, ?2 now, ?3 window, ?4 want,
     * ?5 limit): inside the window (reset_ms > now) the grant is what is
     * left, up to `want`; a window that has ended starts again at now. SET
     * expressions all read the row as it was, so `granted` and `used` agree. */
    [S_RATE_TAKE] = "INSERT INTO rate_counters (key, reset_ms, used, granted) "
                    "VALUES (?1, ?2 + ?3, min(?4, ?5), min(?4, ?5)) "
                    "ON CONFLICT (key) DO UPDATE SET "
                    "granted = CASE WHEN reset_ms > ?2 THEN max(0, min(?4, ?5 - used)) "
                    "ELSE min(?4, ?5) END, "
                    "used = CASE WHEN reset_ms > ?2 THEN used + max(0, min(?4, ?5 - used)) "
                    "ELSE min(?4, ?5) END, "
                    "reset_ms = CASE WHEN reset_ms > ?2 THEN reset_ms ELSE ?2 + ?3 END "
                    "RETURNING granted, reset_ms, used",
    [S_RATE_PURGE] = "DELETE FROM rate_counters WHERE reset_ms <= ?1",
};

/* ---- the store ----------------------------------------------------------- */

struct conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[STMT_COUNT];
    struct conn *next_free;
};

struct append_req;

struct sqlite_store {
    struct store base; /* first member: the dispatch header (store/backend.h) */
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    struct conn *conns;
    unsigned nconns;
    struct conn *free_list;
    pthread_mutex_t write_mu;
    /* group commit of usage records (see store_record_append) */
    pthread_mutex_t rec_mu;
    pthread_cond_t rec_cv;
    struct append_req *rec_head, **rec_tail;
    bool rec_leader;
    atomic_uint nonce_calls;
    atomic_uint revoke_calls;
    atomic_uint rate_calls;
    atomic_uint inval_calls;
    int schema_version;
};

/* The dispatch layer hands us our own object back (base is its first member). */
static struct sqlite_store *lite(struct store *s)
{
    return (struct sqlite_store *)s;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A database failure: the detail names the operation and SQLite's message
 * (which names constraints and columns, never bound values). A constraint
 * violation is bad data, not a failing database. */
static ecert_status db_err(sqlite3 *db, int rc, const char *what)
{
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    ecert_status st = (rc & 0xff) == SQLITE_CONSTRAINT ? ECERT_E_MALFORMED : ECERT_E_INTERNAL;
    return err_set(st, "store: %s: %s", what, msg);
}

static ecert_status arena_err(void)
{
    /* arena_alloc has set the detail (cap reached or out of memory). */
    return ECERT_E_NOMEM;
}

/* ---- connections --------------------------------------------------------- */

static ecert_status conn_exec(sqlite3 *db, const char *sql, const char *what)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        ecert_status st = err_set((rc & 0xff) == SQLITE_CONSTRAINT ? ECERT_E_MALFORMED
                                                                   : ECERT_E_INTERNAL,
                                  "store: %s: %s", what, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return st;
    }
    return ECERT_OK;
}

static int journal_mode_cb(void *ctx, int ncol, char **vals, char **names)
{
    char *mode = ctx;
    if (ncol >= 1 && vals[0]) {
        size_t n = strnlen(vals[0], 15);
        memcpy(mode, vals[0], n);
        mode[n] = 0;
    }
    return 0;
}

static void conn_close(struct conn *c)
{
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(c->stmt[i]);
    memset(c->stmt, 0, sizeof c->stmt);
    sqlite3_close(c->db);
    c->db = NULL;
}

static ecert_status conn_open(struct conn *c, const char *path, bool first)
{
    memset(c, 0, sizeof *c);
    /* NOMUTEX: a connection is used by one thread at a time (the pool makes
     * sure), so SQLite's per-connection mutex would only cost. */
    int rc = sqlite3_open_v2(path, &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ecert_status st = db_err(c->db, rc, "open");
        sqlite3_close(c->db);
        c->db = NULL;
        return st;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    /* Defensive: no writable_schema tricks, no double-quoted string literals. */
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
    ecert_status st = ECERT_OK;
    if (first) {
        /* journal_mode is a property of the file; the first connection sets it. */
        char mode[16] = "";
        char *msg = NULL;
        rc = sqlite3_exec(c->db, "PRAGMA journal_mode = WAL", journal_mode_cb, mode, &msg);
        if (rc != SQLITE_OK)
            st = err_set(ECERT_E_INTERNAL, "store: journal mode: %s",
                         msg ? msg : sqlite3_errstr(rc));
        else if (strcmp(mode, "wal") != 0)
            st = err_set(ECERT_E_INTERNAL, "store: WAL journal mode unavailable (got '%s')",
                         mode);
        sqlite3_free(msg);
    }
    if (!st)
        st = conn_exec(c->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;", "pragmas");
    if (st)
        conn_close(c);
    return st;
}

/* The cached statement `id` of a connection, prepared on first use. */
static ecert_status stmt_get(struct conn *c, enum stmt_id id, sqlite3_stmt **out)
{
    if (!c->stmt[id]) {
        int rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &c->stmt[id], NULL);
        if (rc != SQLITE_OK) {
            c->stmt[id] = NULL;
            return db_err(c->db, rc, "prepare");
        }
    }
    *out = c->stmt[id];
    return ECERT_OK;
}

/* Ready for the next use: no row cursor, no bound values kept alive. */
static void stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows; resets it either way. */
static ecert_status stmt_run(struct conn *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    ecert_status res = ECERT_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        res = db_err(c->db, rc, what);
    stmt_done(st);
    return res;
}

static ecert_status run_simple(struct conn *c, enum stmt_id id, const char *what)
{
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, id, &st);
    if (!res)
        res = stmt_run(c, st, what);
    return res;
}

static ecert_status tx_begin(struct conn *c)
{
    return run_simple(c, S_BEGIN_WRITE, "begin");
}

static ecert_status tx_begin_read(struct conn *c)
{
    return run_simple(c, S_BEGIN_READ, "begin");
}

static ecert_status tx_commit(struct conn *c)
{
    return run_simple(c, S_COMMIT, "commit");
}

/* Runs a housekeeping statement whose failure must not replace the detail
 * of the error being reported (rollback, resetting a pragma). */
static void run_quiet(struct conn *c, enum stmt_id id)
{
    char detail[512];
    size_t n = strnlen(err_detail(), sizeof detail - 1);
    memcpy(detail, err_detail(), n);
    detail[n] = 0;
    (void)run_simple(c, id, "cleanup");
    err_set(ECERT_OK, "%s", detail);
}

static void tx_rollback(struct conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        run_quiet(c, S_ROLLBACK);
}

/* ---- binding ------------------------------------------------------------- */

/* Binds parameters in order, remembering the first failure, so a statement
 * with twenty parameters is bound in twenty plain lines. Strings are bound
 * SQLITE_STATIC: they live until the statement is stepped and reset. */
struct binder {
    sqlite3_stmt *st;
    int idx;
    int rc;
};

static void bind_text(struct binder *b, const char *v)
{
    b->idx++;
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_text(b->st, b->idx, v ? v : "", -1, SQLITE_STATIC);
}

/* NULL or "" binds SQL NULL (an absent optional filter). */
static void bind_opt_text(struct binder *b, const char *v)
{
    b->idx++;
    if (b->rc == SQLITE_OK)
        b->rc = (v && v[0]) ? sqlite3_bind_text(b->st, b->idx, v, -1, SQLITE_STATIC)
                            : sqlite3_bind_null(b->st, b->idx);
}

static void bind_int(struct binder *b, int64_t v)
{
    b->idx++;
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_int64(b->st, b->idx, v);
}

static void bind_blob(struct binder *b, const void *p, size_t n)
{
    b->idx++;
    if (b->rc != SQLITE_OK)
        return;
    if (!p)
        b->rc = sqlite3_bind_null(b->st, b->idx);
    else
        b->rc = sqlite3_bind_blob64(b->st, b->idx, p, n, SQLITE_STATIC);
}

static ecert_status bind_check(struct conn *c, struct binder *b, const char *what)
{
    if (b->rc == SQLITE_OK)
        return ECERT_OK;
    ecert_status st = db_err(c->db, b->rc, what);
    stmt_done(b->st);
    return st;
}

/* ---- reading ------------------------------------------------------------- */

/* Column i as a NUL-terminated copy in the arena ("" for NULL). */
static const char *col_text(sqlite3_stmt *st, int i, struct arena *a)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, i) : 0;
    return arena_strndup(a, t ? (const char *)t : "", n);
}

/* Grows an arena-held array to hold at least need elements (doubling). */
static ecert_status arena_grow(struct arena *a, void **arr, size_t *cap, size_t need,
                               size_t elem)
{
    if (need <= *cap)
        return ECERT_OK;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    void *p = arena_alloc(a, ncap * elem);
    if (!p)
        return arena_err();
    if (*arr && *cap)
        memcpy(p, *arr, *cap * elem);
    *arr = p;
    *cap = ncap;
    return ECERT_OK;
}

/* ---- pool ---------------------------------------------------------------- */

static struct conn *conn_take(struct sqlite_store *s)
{
    pthread_mutex_lock(&s->pool_mu);
    while (!s->free_list)
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    struct conn *c = s->free_list;
    s->free_list = c->next_free;
    pthread_mutex_unlock(&s->pool_mu);
    return c;
}

static void conn_give(struct sqlite_store *s, struct conn *c)
{
    /* A connection goes back clean, whatever path its user took. */
    tx_rollback(c);
    pthread_mutex_lock(&s->pool_mu);
    c->next_free = s->free_list;
    s->free_list = c;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

static void write_lock(struct sqlite_store *s)
{
    pthread_mutex_lock(&s->write_mu);
}

static void write_unlock(struct sqlite_store *s)
{
    pthread_mutex_unlock(&s->write_mu);
}

/* ---- open, migrate, close ------------------------------------------------ */

/* Reads the version and applies at most one migration, in one transaction:
 * concurrent openers (two processes starting at once) serialise on BEGIN
 * IMMEDIATE and the second sees the first's work. *done when up to date. */
static ecert_status migrate_step(struct conn *c, int *version, bool *done)
{
    ecert_status st = tx_begin(c);
    if (st)
        return st;
    sqlite3_stmt *q = NULL;
    st = stmt_get(c, S_VERSION_GET, &q);
    if (!st) {
        int rc = sqlite3_step(q);
        if (rc == SQLITE_ROW)
            *version = sqlite3_column_int(q, 0);
        else
            st = db_err(c->db, rc, "schema version");
        stmt_done(q);
    }
    if (!st && *version > SCHEMA_VERSION)
        st = err_set(ECERT_E_INTERNAL,
                     "store: database schema version %d is newer than this build (%d)", *version,
                     SCHEMA_VERSION);
    if (!st && *version == SCHEMA_VERSION) {
        *done = true;
        st = tx_commit(c);
        if (st)
            tx_rollback(c);
        return st;
    }
    if (!st) {
        st = conn_exec(c->db, migrations[*version], "migration");
        if (st)
            err_wrap(st, *version == 0 ? "creating the schema" : "migrating");
    }
    if (!st) {
        sqlite3_stmt *ins = NULL;
        st = stmt_get(c, S_VERSION_ADD, &ins);
        if (!st) {
            struct binder b = {ins, 0, SQLITE_OK};
            bind_int(&b, *version + 1);
            bind_int(&b, now_ms());
            st = bind_check(c, &b, "schema version");
            if (!st)
                st = stmt_run(c, ins, "schema version");
        }
    }
    if (!st)
        st = tx_commit(c);
    if (st) {
        tx_rollback(c);
        return st;
    }
    (*version)++;
    return ECERT_OK;
}

static ecert_status migrate(struct conn *c, int *version)
{
    ecert_status st = conn_exec(c->db,
                                "CREATE TABLE IF NOT EXISTS schema_version ("
                                " version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)",
                                "schema_version table");
    bool done = false;
    while (!st && !done)
        st = migrate_step(c, version, &done);
    return st;
}

/* A new database file is created private (0600): it holds personal data and
 * app secret hashes. SQLite gives the -wal and -shm files the same mode. */
static ecert_status precreate(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(ECERT_E_IO, "store: cannot open %s: %s", path, strerror(errno));
    close(fd);
    return ECERT_OK;
}

static void sqlite_close(struct store *base);

static ecert_status sqlite_open(const struct store_config *cfg, struct store **out)
{
    if (!cfg || !out || !cfg->path || !cfg->path[0])
        return err_set(ECERT_E_ARG, "store_open: no database path");
    *out = NULL;
    if (cfg->driver && cfg->driver[0] && strcmp(cfg->driver, "sqlite") != 0)
        return err_set(ECERT_E_ARG, "store: driver '%.32s' is not built in (sqlite only)",
                       cfg->driver);
    if (strcmp(cfg->path, ":memory:") == 0 || strncmp(cfg->path, "file:", 5) == 0)
        return err_set(ECERT_E_ARG, "store: the SQLite store needs a file path");
    if (!sqlite3_threadsafe())
        return err_set(ECERT_E_INTERNAL, "store: SQLite was built without thread support");
    unsigned n = cfg->pool_size ? cfg->pool_size : POOL_DEFAULT;
    if (n > POOL_MAX)
        return err_set(ECERT_E_ARG, "store: pool size %u exceeds %d", n, POOL_MAX);

    ecert_status st = precreate(cfg->path);
    if (st)
        return st;
    struct sqlite_store *s = calloc(1, sizeof *s);
    struct conn *conns = calloc(n, sizeof *conns);
    if (!s || !conns) {
        free(s);
        free(conns);
        return err_set(ECERT_E_NOMEM, "out of memory");
    }
    s->base.be = &store_backend_sqlite;
    s->conns = conns;
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    pthread_mutex_init(&s->write_mu, NULL);
    pthread_mutex_init(&s->rec_mu, NULL);
    pthread_cond_init(&s->rec_cv, NULL);
    s->rec_tail = &s->rec_head;
    atomic_init(&s->nonce_calls, 0);
    atomic_init(&s->rate_calls, 0);
    atomic_init(&s->revoke_calls, 0);
    atomic_init(&s->inval_calls, 0);

    st = conn_open(&conns[0], cfg->path, true);
    if (!st)
        s->nconns = 1;
    if (!st)
        st = migrate(&conns[0], &s->schema_version);
    for (unsigned i = 1; !st && i < n; i++) {
        st = conn_open(&conns[i], cfg->path, false);
        if (!st)
            s->nconns++;
    }
    if (st) {
        sqlite_close(&s->base);
        return st;
    }
    for (unsigned i = 0; i < s->nconns; i++) {
        conns[i].next_free = s->free_list;
        s->free_list = &conns[i];
    }
    *out = &s->base;
    return ECERT_OK;
}

static void sqlite_close(struct store *base)
{
    struct sqlite_store *s = lite(base);
    if (!s)
        return;
    /* Let the query planner keep its statistics (cheap, bounded by SQLite). */
    if (s->nconns > 0 && s->conns[0].db)
        (void)sqlite3_exec(s->conns[0].db, "PRAGMA optimize", NULL, NULL, NULL);
    for (unsigned i = 0; i < s->nconns; i++)
        conn_close(&s->conns[i]);
    free(s->conns);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    pthread_mutex_destroy(&s->write_mu);
    pthread_mutex_destroy(&s->rec_mu);
    pthread_cond_destroy(&s->rec_cv);
    free(s);
}

static int sqlite_schema_version(struct store *base)
{
    struct sqlite_store *s = lite(base);
    return s ? s->schema_version : 0;
}

/* ---- catalog ------------------------------------------------------------- */

static ecert_status sqlite_catalog_put(struct store *base, const struct catalog_entry *e)
{
    struct sqlite_store *s = lite(base);
    if (!s || !e || !e->type_code || !e->type_code[0] || !e->name)
        return err_set(ECERT_E_ARG, "store_catalog_put: type_code and name are required");
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    write_lock(s);
    ecert_status res = stmt_get(c, S_CATALOG_PUT, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, e->type_code);
        bind_text(&b, e->name);
        bind_int(&b, e->yrd_shared ? 1 : 0);
        res = bind_check(c, &b, "catalog put");
        if (!res)
            res = stmt_run(c, st, "catalog put");
    }
    write_unlock(s);
    conn_give(s, c);
    return res;
}

static ecert_status sqlite_catalog_get(struct store *base, struct arena *a, const char *type_code,
                                       struct catalog_entry *out)
{
    struct sqlite_store *s = lite(base);
    if (!s || !a || !type_code || !out)
        return err_set(ECERT_E_ARG, "store_catalog_get: NULL argument");
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, S_CATALOG_GET, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, type_code);
        res = bind_check(c, &b, "catalog get");
    }
    if (!res) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            out->type_code = arena_strdup(a, type_code);
            out->name = col_text(st, 0, a);
            out->yrd_shared = sqlite3_column_int(st, 1) != 0;
            if (!out->type_code || !out->name)
                res = arena_err();
        } else if (rc == SQLITE_DONE) {
            res = err_set(ECERT_E_NOT_FOUND, "catalog: no such certificate type");
        } else {
            res = db_err(c->db, rc, "catalog get");
        }
        stmt_done(st);
    }
    conn_give(s, c);
    return res;
}

static ecert_status sqlite_catalog_find_name(struct store *base, struct arena *a, const char *name,
                                             const char **type_code)
{
    struct sqlite_store *s = lite(base);
    if (!s || !a || !name || !type_code)
        return err_set(ECERT_E_ARG, "store_catalog_find_name: NULL argument");
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, S_CATALOG_FIND, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, name);
        res = bind_check(c, &b, "catalog find");
    }
    if (!res) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *type_code = col_text(st, 0, a);
            if (!*type_code)
                res = arena_err();
        } else if (rc == SQLITE_DONE) {
            res = err_set(ECERT_E_NOT_FOUND, "catalog: no certificate type of that name");
        } else {
            res = db_err(c->db, rc, "catalog find");
        }
        stmt_done(st);
    }
    conn_give(s, c);
    return res;
}

/* ---- scenes -------------------------------------------------------------- */

static ecert_status scene_write(struct conn *c, const struct scene *sc)
{
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, S_SCENE_PUT, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, sc->item_code);
        bind_text(&b, sc->item_name);
        res = bind_check(c, &b, "scene put");
        if (!res)
            res = stmt_run(c, st, "scene put");
    }
    if (!res)
        res = stmt_get(c, S_SCENE_CLEAR_TYPES, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, sc->item_code);
        res = bind_check(c, &b, "scene put");
        if (!res)
            res = stmt_run(c, st, "scene put");
    }
    if (!res)
        res = stmt_get(c, S_SCENE_ADD_TYPE, &st);
    for (size_t i = 0; !res && i < sc->ntypes; i++) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, sc->item_code);
        bind_text(&b, sc->types[i]);
        res = bind_check(c, &b, "scene put");
        if (!res)
            res = stmt_run(c, st, "scene put");
    }
    return res;
}

static ecert_status sqlite_scene_put(struct store *base, const struct scene *sc)
{
    struct sqlite_store *s = lite(base);
    if (!s || !sc || !sc->item_code || !sc->item_code[0] || !sc->item_name ||
        (sc->ntypes && !sc->types))
        return err_set(ECERT_E_ARG, "store_scene_put: item_code and item_name are required");
    for (size_t i = 0; i < sc->ntypes; i++)
        if (!sc->types[i] || !sc->types[i][0])
            return err_set(ECERT_E_ARG, "store_scene_put: empty type code");
    struct conn *c = conn_take(s);
    write_lock(s);
    ecert_status res = tx_begin(c);
    if (!res)
        res = scene_write(c, sc);
    if (!res)
        res = tx_commit(c);
    if (res)
        tx_rollback(c);
    write_unlock(s);
    conn_give(s, c);
    return res;
}

static ecert_status scene_read(struct conn *c, struct arena *a, const char *item_code,
                               struct scene *out)
{
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, S_SCENE_GET, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, item_code);
        res = bind_check(c, &b, "scene get");
    }
    if (res)
        return res;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->item_code = arena_strdup(a, item_code);
        out->item_name = col_text(st, 0, a);
        if (!out->item_code || !out->item_name)
            res = arena_err();
    } else if (rc == SQLITE_DONE) {
        res = err_set(ECERT_E_NOT_FOUND, "scene: itemCode is not a published scene");
    } else {
        res = db_err(c->db, rc, "scene get");
    }
    stmt_done(st);
    if (res)
        return res;

    res = stmt_get(c, S_SCENE_GET_TYPES, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, item_code);
        res = bind_check(c, &b, "scene get");
    }
    if (res)
        return res;
    const char **types = NULL;
    size_t n = 0, cap = 0;
    while (!res && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        res = arena_grow(a, (void **)&types, &cap, n + 1, sizeof *types);
        if (!res && !(types[n++] = col_text(st, 0, a)))
            res = arena_err();
    }
    if (!res && rc != SQLITE_DONE)
        res = db_err(c->db, rc, "scene get");
    stmt_done(st);
    out->types = types;
    out->ntypes = n;
    return res;
}

static ecert_status sqlite_scene_get(struct store *base, struct arena *a, const char *item_code,
                                     struct scene *out)
{
    struct sqlite_store *s = lite(base);
    if (!s || !a || !item_code || !out)
        return err_set(ECERT_E_ARG, "store_scene_get: NULL argument");
    memset(out, 0, sizeof *out);
    struct conn *c = conn_take(s);
    /* One read transaction: the name and the type list from the same
     * snapshot, even while a scene_put replaces them. */
    ecert_status res = tx_begin_read(c);
    if (!res)
        res = scene_read(c, a, item_code, out);
    if (!res)
        res = tx_commit(c);
    if (res)
        tx_rollback(c);
    conn_give(s, c);
    return res;
}

/* ---- certificates -------------------------------------------------------- */

static bool cert_status_ok(const char *v)
{
    static const char *const ok[] = {"valid", "revoked", "expired", "suspended"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(v, ok[i]) == 0)
            return true;
    return false;
}

/* The store checks what it indexes or enumerates; the importer and the
 * issuing code validate identifiers and dates before they get here. */
static ecert_status cert_check(const struct cert *c)
{
    if (!c->id || !c->id[0])
        return err_set(ECERT_E_MISSING, "certificate: id is required");
    if (!c->type_code || !c->type_code[0])
        return err_set(ECERT_E_MISSING, "certificate: type code is required");
    if (!c->holder_code || !c->holder_code[0])
        return err_set(ECERT_E_MISSING, "certificate: holder code is required");
    if (!c->status || !cert_status_ok(c->status))
        return err_set(ECERT_E_MALFORMED,
                       "certificate: status must be valid, revoked, expired or suspended");
    if (c->file_len && !c->file)
        return err_set(ECERT_E_ARG, "certificate: file_len without file");
    return ECERT_OK;
}

static ecert_status cert_write(struct conn *c, const struct cert *ce, int64_t updated)
{
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, S_CERT_PUT, &st);
    if (res)
        return res;
    struct binder b = {st, 0, SQLITE_OK};
    bind_text(&b, ce->id);
    bind_text(&b, ce->type);
    bind_text(&b, ce->type_code);
    bind_text(&b, ce->number);
    bind_text(&b, ce->holder);
    bind_text(&b, ce->holder_code);
    bind_text(&b, ce->holder_type_code);
    bind_text(&b, ce->issuer);
    bind_text(&b, ce->issuer_code);
    bind_text(&b, ce->issued_date);
    bind_text(&b, ce->valid_from);
    bind_text(&b, ce->valid_to);
    bind_text(&b, ce->status);
    bind_text(&b, ce->area_code);
    bind_text(&b, ce->surface_json ? ce->surface_json : "{}");
    bind_text(&b, ce->file_format);
    bind_text(&b, ce->file_name);
    bind_text(&b, ce->file_sm3);
    bind_int(&b, updated);
    bind_blob(&b, ce->file, ce->file_len);
    res = bind_check(c, &b, "certificate put");
    if (!res)
        res = stmt_run(c, st, "certificate put");
    return res;
}

static ecert_status sqlite_cert_put(struct store *base, const struct cert *c)
{
    struct sqlite_store *s = lite(base);
    if (!s || !c)
        return err_set(ECERT_E_ARG, "store_cert_put: NULL argument");
    ecert_status res = cert_check(c);
    if (res)
        return res;
    struct conn *cn = conn_take(s);
    write_lock(s);
    res = cert_write(cn, c, now_ms());
    write_unlock(s);
    conn_give(s, cn);
    return res;
}

static ecert_status sqlite_cert_put_batch(struct store *base, const struct cert *certs, size_t n,
                                          size_t *failed)
{
    struct sqlite_store *s = lite(base);
    if (!s || (n && !certs) || !failed)
        return err_set(ECERT_E_ARG, "store_cert_put_batch: NULL argument");
    *failed = n;
    for (size_t i = 0; i < n; i++) {
        ecert_status res = cert_check(&certs[i]);
        if (res) {
            *failed = i;
            return res;
        }
    }
    if (n == 0)
        return ECERT_OK;
    struct conn *cn = conn_take(s);
    write_lock(s);
    int64_t t = now_ms();
    ecert_status res = tx_begin(cn);
    for (size_t i = 0; !res && i < n; i++) {
        res = cert_write(cn, &certs[i], t);
        if (res)
            *failed = i;
    }
    if (!res)
        res = tx_commit(cn);
    if (res)
        tx_rollback(cn);
    write_unlock(s);
    conn_give(s, cn);
    return res;
}

/* Columns 0..17 in CERT_COLS order; with_file reads column 18 too. */
static ecert_status cert_read_row(sqlite3_stmt *st, struct arena *a, bool with_file,
                                  struct cert *out)
{
    const char **f[CERT_NCOLS] = {
        &out->id,          &out->type,        &out->type_code,   &out->number,
        &out->holder,      &out->holder_code, &out->holder_type_code, &out->issuer,
        &out->issuer_code, &out->issued_date, &out->valid_from,  &out->valid_to,
        &out->status,      &out->area_code,   &out->surface_json, &out->file_format,
        &out->file_name,   &out->file_sm3,
    };
    memset(out, 0, sizeof *out);
    for (int i = 0; i < CERT_NCOLS; i++)
        if (!(*f[i] = col_text(st, i, a)))
            return arena_err();
    if (with_file && sqlite3_column_type(st, CERT_NCOLS) != SQLITE_NULL) {
        const void *p = sqlite3_column_blob(st, CERT_NCOLS);
        size_t n = (size_t)sqlite3_column_bytes(st, CERT_NCOLS);
        uint8_t *copy = arena_alloc(a, n);
        if (!copy)
            return arena_err();
        if (n)
            memcpy(copy, p, n);
        out->file = copy;
        out->file_len = n;
    }
    return ECERT_OK;
}

static ecert_status sqlite_cert_get(struct store *base, struct arena *a, const char *id,
                                    bool with_file, struct cert *out)
{
    struct sqlite_store *s = lite(base);
    if (!s || !a || !id || !out)
        return err_set(ECERT_E_ARG, "store_cert_get: NULL argument");
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, with_file ? S_CERT_GET_FILE : S_CERT_GET, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, id);
        res = bind_check(c, &b, "certificate get");
    }
    if (!res) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            res = cert_read_row(st, a, with_file, out);
        else if (rc == SQLITE_DONE)
            res = err_set(ECERT_E_NOT_FOUND, "no such certificate");
        else
            res = db_err(c->db, rc, "certificate get");
        stmt_done(st);
    }
    conn_give(s, c);
    return res;
}

/* The scene's type codes as one JSON array text (for json_each). */
static ecert_status type_codes_json(const char *const *codes, size_t n, char **out)
{
    json_t *arr = json_array();
    if (!arr)
        return err_set(ECERT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!codes[i] || json_array_append_new(arr, json_string(codes[i])) != 0) {
            json_decref(arr);
            return err_set(ECERT_E_ARG, "certificate search: type code %zu is not a string", i);
        }
    }
    *out = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return *out ? ECERT_OK : err_set(ECERT_E_NOMEM, "out of memory");
}

static ecert_status sqlite_cert_search(struct store *base, struct arena *a,
                                       const struct cert_query *q, struct cert **out, size_t *n)
{
    struct sqlite_store *s = lite(base);
    if (!s || !a || !q || !out || !n || !q->holder_code || !q->holder_code[0])
        return err_set(ECERT_E_ARG, "store_cert_search: holder code is required");
    *out = NULL;
    *n = 0;
    if (q->type_codes && q->ntype_codes == 0)
        return ECERT_OK; /* restricted to no type at all */
    if (q->ntype_codes > TYPE_CODES_MAX)
        return err_set(ECERT_E_TOO_LONG, "certificate search: more than %d type codes",
                       TYPE_CODES_MAX);
    size_t limit = q->limit ? q->limit : SEARCH_LIMIT_DEFAULT;
    if (limit > SEARCH_LIMIT_MAX)
        limit = SEARCH_LIMIT_MAX;
    char *codes = NULL;
    ecert_status res = ECERT_OK;
    if (q->type_codes)
        res = type_codes_json(q->type_codes, q->ntype_codes, &codes);
    if (res)
        return res;

    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    res = stmt_get(c, S_CERT_SEARCH, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, q->holder_code);
        bind_opt_text(&b, q->type);
        bind_opt_text(&b, q->number);
        bind_opt_text(&b, codes);
        bind_int(&b, (int64_t)limit);
        res = bind_check(c, &b, "certificate search");
    }
    if (!res) {
        struct cert *rows = NULL;
        size_t count = 0, cap = 0;
        int rc;
        while (!res && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            res = arena_grow(a, (void **)&rows, &cap, count + 1, sizeof *rows);
            if (!res)
                res = cert_read_row(st, a, false, &rows[count]);
            if (!res)
                count++;
        }
        if (!res && rc != SQLITE_DONE)
            res = db_err(c->db, rc, "certificate search");
        stmt_done(st);
        if (!res) {
            *out = rows;
            *n = count;
        }
    }
    conn_give(s, c);
    free(codes);
    return res;
}

static ecert_status sqlite_cert_count(struct store *base, uint64_t *n)
{
    struct sqlite_store *s = lite(base);
    if (!s || !n)
        return err_set(ECERT_E_ARG, "store_cert_count: NULL argument");
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, S_CERT_COUNT, &st);
    if (!res) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *n = (uint64_t)sqlite3_column_int64(st, 0);
        else
            res = db_err(c->db, rc, "certificate count");
        stmt_done(st);
    }
    conn_give(s, c);
    return res;
}

/* ---- apps ---------------------------------------------------------------- */

static ecert_status sqlite_app_put(struct store *base, const struct app *app)
{
    struct sqlite_store *s = lite(base);
    if (!s || !app || !app->app_id || !app->app_id[0])
        return err_set(ECERT_E_ARG, "store_app_put: app_id is required");
    if (app->status < APP_ALLOCATED || app->status > APP_DISABLED)
        return err_set(ECERT_E_MALFORMED, "app: unknown status %d", app->status);
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    write_lock(s);
    ecert_status res = stmt_get(c, S_APP_PUT, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, app->app_id);
        bind_text(&b, app->secret_hash);
        bind_text(&b, app->corp_name);
        bind_text(&b, app->corp_code);
        bind_text(&b, app->public_key);
        bind_text(&b, app->certificate);
        bind_text(&b, app->province);
        bind_int(&b, app->status);
        bind_int(&b, app->updated_ms ? app->updated_ms : now_ms());
        res = bind_check(c, &b, "app put");
        if (!res)
            res = stmt_run(c, st, "app put");
    }
    write_unlock(s);
    conn_give(s, c);
    return res;
}

static ecert_status sqlite_app_get(struct store *base, struct arena *a, const char *app_id,
                                   struct app *out)
{
    struct sqlite_store *s = lite(base);
    if (!s || !a || !app_id || !out)
        return err_set(ECERT_E_ARG, "store_app_get: NULL argument");
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, S_APP_GET, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, app_id);
        res = bind_check(c, &b, "app get");
    }
    if (!res) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const char **f[] = {&out->app_id,     &out->secret_hash, &out->corp_name,
                                &out->corp_code,  &out->public_key,  &out->certificate,
                                &out->province};
            memset(out, 0, sizeof *out);
            for (int i = 0; !res && i < (int)(sizeof f / sizeof f[0]); i++)
                if (!(*f[i] = col_text(st, i, a)))
                    res = arena_err();
            out->status = sqlite3_column_int(st, 7);
            out->updated_ms = sqlite3_column_int64(st, 8);
        } else if (rc == SQLITE_DONE) {
            res = err_set(ECERT_E_NOT_FOUND, "app: no such app");
        } else {
            res = db_err(c->db, rc, "app get");
        }
        stmt_done(st);
    }
    conn_give(s, c);
    return res;
}

/* ---- replay window ------------------------------------------------------- */

static ecert_status sqlite_nonce_use(struct store *base, const char *app_id, const char *nonce,
                                     int64_t now, int64_t window_ms)
{
    struct sqlite_store *s = lite(base);
    if (!s || !app_id || !nonce || !nonce[0] || window_ms <= 0)
        return err_set(ECERT_E_ARG, "store_nonce_use: app_id, nonce and a window are required");
    int64_t cutoff = now - window_ms;
    bool purge = atomic_fetch_add(&s->nonce_calls, 1) % NONCE_PURGE_EVERY == 0;
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    write_lock(s);
    ecert_status res = stmt_get(c, S_NONCE_USE, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, app_id);
        bind_text(&b, nonce);
        bind_int(&b, now);
        bind_int(&b, cutoff);
        res = bind_check(c, &b, "nonce");
        if (!res)
            res = stmt_run(c, st, "nonce");
        if (!res && sqlite3_changes(c->db) == 0)
            res = err_set(ECERT_E_REPLAY, "nonce already used within the window");
    }
    /* Purging is housekeeping: its failure must not fail the request. */
    if (purge && (res == ECERT_OK || res == ECERT_E_REPLAY) &&
        stmt_get(c, S_NONCE_PURGE, &st) == ECERT_OK) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_int(&b, cutoff);
        if (bind_check(c, &b, "nonce purge") == ECERT_OK)
            (void)sqlite3_step(st);
        stmt_done(st);
    }
    write_unlock(s);
    conn_give(s, c);
    return res;
}

/* ---- rate-limit leases ---------------------------------------------------- */

static ecert_status sqlite_rate_take(struct store *base, const char *key, int64_t now,
                                     int64_t window_ms, uint32_t limit, uint32_t want,
                                     uint32_t *granted, int64_t *reset_ms, bool *spent)
{
    struct sqlite_store *s = lite(base);
    if (!s || !granted || !reset_ms)
        return err_set(ECERT_E_ARG, "store_rate_take: NULL argument");
    if (!key || !key[0] || strlen(key) > STORE_RATE_KEY_MAX || window_ms <= 0 || limit == 0 ||
        want == 0)
        return err_set(ECERT_E_ARG, "store_rate_take: key, window, limit and want are required");
    *granted = 0;
    *reset_ms = 0;
    if (spent)
        *spent = false;
    bool purge = atomic_fetch_add(&s->rate_calls, 1) % RATE_PURGE_EVERY == RATE_PURGE_EVERY - 1;
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    write_lock(s);
    ecert_status res = stmt_get(c, S_RATE_TAKE, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, key);
        bind_int(&b, now);
        bind_int(&b, window_ms);
        bind_int(&b, want);
        bind_int(&b, limit);
        res = bind_check(c, &b, "rate take");
    }
    if (!res) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            int64_t g = sqlite3_column_int64(st, 0);
            *granted = g < 0 ? 0 : g > (int64_t)want ? want : (uint32_t)g;
            *reset_ms = sqlite3_column_int64(st, 1);
            if (spent)
                *spent = sqlite3_column_int64(st, 2) >= (int64_t)limit;
            rc = sqlite3_step(st); /* runs the statement to its end */
        }
        if (rc != SQLITE_DONE)
            res = db_err(c->db, rc, "rate take");
        stmt_done(st);
    }
    /* Counters of ended windows are housekeeping: errors are ignored. */
    if (!res && purge && stmt_get(c, S_RATE_PURGE, &st) == ECERT_OK) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_int(&b, now);
        if (bind_check(c, &b, "rate purge") == ECERT_OK)
            (void)sqlite3_step(st);
        stmt_done(st);
    }
    write_unlock(s);
    conn_give(s, c);
    if (res) {
        *granted = 0;
        *reset_ms = 0;
        if (spent)
            *spent = false;
    }
    return res;
}

/* ---- token revocation ---------------------------------------------------- */

static ecert_status sqlite_token_revoke(struct store *base, const char *jti, int64_t exp_s)
{
    struct sqlite_store *s = lite(base);
    if (!s || !jti || !jti[0])
        return err_set(ECERT_E_ARG, "store_token_revoke: jti is required");
    bool purge = atomic_fetch_add(&s->revoke_calls, 1) % REVOKE_PURGE_EVERY ==
                 REVOKE_PURGE_EVERY - 1;
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    write_lock(s);
    ecert_status res = stmt_get(c, S_TOKEN_REVOKE, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, jti);
        bind_int(&b, exp_s);
        res = bind_check(c, &b, "token revoke");
        if (!res)
            res = stmt_run(c, st, "token revoke");
    }
    /* A revocation matters only while its token could still be presented;
     * an hour past expiry, it is dropped (housekeeping, errors ignored). */
    if (!res && purge && stmt_get(c, S_TOKEN_PURGE, &st) == ECERT_OK) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_int(&b, (int64_t)time(NULL) - REVOKE_KEEP_S);
        if (bind_check(c, &b, "token purge") == ECERT_OK)
            (void)sqlite3_step(st);
        stmt_done(st);
    }
    write_unlock(s);
    conn_give(s, c);
    return res;
}

static ecert_status sqlite_token_is_revoked(struct store *base, const char *jti, bool *revoked)
{
    struct sqlite_store *s = lite(base);
    if (!s || !jti || !revoked)
        return err_set(ECERT_E_ARG, "store_token_is_revoked: NULL argument");
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, S_TOKEN_GET, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, jti);
        res = bind_check(c, &b, "token check");
    }
    if (!res) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            *revoked = rc == SQLITE_ROW;
        else
            res = db_err(c->db, rc, "token check");
        stmt_done(st);
    }
    conn_give(s, c);
    return res;
}

static ecert_status sqlite_token_revoked_list(struct store *base, struct arena *a, int64_t now_s,
                                              const char ***jtis, size_t *n)
{
    struct sqlite_store *s = lite(base);
    if (!s || !a || !jtis || !n)
        return err_set(ECERT_E_ARG, "store_token_revoked_list: NULL argument");
    *jtis = NULL;
    *n = 0;
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, S_TOKEN_LIST, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_int(&b, now_s);
        res = bind_check(c, &b, "token list");
    }
    if (!res) {
        const char **list = NULL;
        size_t count = 0, cap = 0;
        int rc;
        while (!res && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            res = arena_grow(a, (void **)&list, &cap, count + 1, sizeof *list);
            if (!res && !(list[count++] = col_text(st, 0, a)))
                res = arena_err();
        }
        if (!res && rc != SQLITE_DONE)
            res = db_err(c->db, rc, "token list");
        stmt_done(st);
        if (!res) {
            *jtis = list;
            *n = count;
        }
    }
    conn_give(s, c);
    return res;
}

/* ---- usage records ------------------------------------------------------- */

static const char zero_hash[USAGE_RECORD_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* r->prev / r->hash point here after an append (see store.h). */
static _Thread_local char tl_prev[USAGE_RECORD_HASH_HEX + 1];
static _Thread_local char tl_hash[USAGE_RECORD_HASH_HEX + 1];

/* Inside the write transaction: the last record's seq and hash. */
static ecert_status record_last(struct conn *c, int64_t *seq, char prev[USAGE_RECORD_HASH_HEX + 1])
{
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, S_RECORD_LAST, &st);
    if (res)
        return res;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *h = sqlite3_column_text(st, 1);
        *seq = sqlite3_column_int64(st, 0);
        if (!h || (size_t)sqlite3_column_bytes(st, 1) != USAGE_RECORD_HASH_HEX)
            res = err_set(ECERT_E_SIGNATURE, "usage records: the last record's hash is damaged");
        else
            memcpy(prev, h, USAGE_RECORD_HASH_HEX + 1);
    } else if (rc == SQLITE_DONE) {
        *seq = 0;
        memcpy(prev, zero_hash, sizeof zero_hash);
    } else {
        res = db_err(c->db, rc, "usage record");
    }
    stmt_done(st);
    return res;
}

static ecert_status record_insert(struct conn *c, const struct usage_record *r, const char *prev,
                                  const char *hash)
{
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, S_RECORD_ADD, &st);
    if (res)
        return res;
    struct binder b = {st, 0, SQLITE_OK};
    bind_int(&b, r->seq);
    bind_int(&b, r->time_ms);
    bind_text(&b, r->cert_id);
    bind_text(&b, r->holder_code);
    bind_text(&b, r->interface);
    bind_text(&b, r->app_id);
    bind_text(&b, r->requester_node);
    bind_text(&b, r->use_for);
    bind_text(&b, r->item_code);
    bind_text(&b, r->item_name);
    bind_text(&b, r->item_org);
    bind_text(&b, r->operator_name);
    bind_text(&b, r->biz_num);
    bind_int(&b, r->result);
    bind_text(&b, prev);
    bind_text(&b, hash);
    res = bind_check(c, &b, "usage record");
    if (!res)
        res = stmt_run(c, st, "usage record");
    return res;
}

/* One caller's record waiting to be appended (lives on its stack). */
struct append_req {
    struct usage_record rec;
    char prev[USAGE_RECORD_HASH_HEX + 1];
    char hash[USAGE_RECORD_HASH_HEX + 1];
    ecert_status st;
    char detail[256]; /* the error detail, which is thread-local to the leader */
    bool done;
    struct append_req *next;
};

/* Appends a queue of records in one transaction: read the last hash, chain
 * each record to the one before, insert, commit (one fsync for all). */
static void record_commit_batch(struct sqlite_store *s, struct append_req *batch)
{
    char prev[USAGE_RECORD_HASH_HEX + 1];
    struct conn *c = conn_take(s);
    write_lock(s);
    ecert_status res = run_simple(c, S_SYNC_FULL, "usage record");
    if (!res)
        res = tx_begin(c);
    int64_t last = 0;
    if (!res)
        res = record_last(c, &last, prev);
    for (struct append_req *q = batch; !res && q; q = q->next) {
        q->rec.seq = ++last;
        memcpy(q->prev, prev, sizeof prev);
        res = usage_record_hash(prev, &q->rec, q->hash);
        if (!res)
            res = record_insert(c, &q->rec, q->prev, q->hash);
        memcpy(prev, q->hash, sizeof prev);
    }
    if (!res)
        res = tx_commit(c);
    if (res)
        tx_rollback(c);
    /* Back to the connection's default; a failure here only leaves this
     * connection slower (FULL), so it is not reported. */
    run_quiet(c, S_SYNC_NORMAL);
    write_unlock(s);
    conn_give(s, c);
    for (struct append_req *q = batch; q; q = q->next) {
        q->st = res;
        if (res) {
            size_t n = strnlen(err_detail(), sizeof q->detail - 1);
            memcpy(q->detail, err_detail(), n);
            q->detail[n] = 0;
        }
    }
}

static bool record_fields_ok(const struct usage_record *r)
{
    const char *f[] = {r->cert_id,   r->holder_code, r->interface, r->app_id,
                       r->requester_node, r->use_for, r->item_code, r->item_name,
                       r->item_org,  r->operator_name, r->biz_num};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i] && strnlen(f[i], USAGE_RECORD_FIELD_MAX + 1) > USAGE_RECORD_FIELD_MAX)
            return false;
    return true;
}

/* Group commit. A durable append costs one fsync (synchronous=FULL), several
 * milliseconds on common disks: one transaction per record would cap a node
 * at a few hundred calls per second, below its SM2 budget. So callers queue
 * their records; whichever caller finds no commit in progress becomes the
 * leader, takes the whole queue and appends it in one transaction, while the
 * others wait on a condvar for their record's outcome. Each caller still
 * returns only once its own record is on disk, and the chain order is the
 * queue order. */
static ecert_status sqlite_record_append(struct store *base, struct usage_record *r)
{
    struct sqlite_store *s = lite(base);
    if (!s || !r)
        return err_set(ECERT_E_ARG, "store_record_append: NULL argument");
    if (!record_fields_ok(r))
        return err_set(ECERT_E_TOO_LONG, "usage record: a field is longer than %d bytes",
                       USAGE_RECORD_FIELD_MAX);
    struct append_req req;
    memset(&req, 0, sizeof req);
    req.rec = *r;
    pthread_mutex_lock(&s->rec_mu);
    *s->rec_tail = &req;
    s->rec_tail = &req.next;
    while (!req.done) {
        if (s->rec_leader) {
            pthread_cond_wait(&s->rec_cv, &s->rec_mu);
            continue;
        }
        /* Our record is in the queue: a finished leader would have marked it
         * done, so the batch we take contains it. */
        s->rec_leader = true;
        struct append_req *batch = s->rec_head;
        s->rec_head = NULL;
        s->rec_tail = &s->rec_head;
        pthread_mutex_unlock(&s->rec_mu);
        record_commit_batch(s, batch);
        pthread_mutex_lock(&s->rec_mu);
        for (struct append_req *q = batch, *next; q; q = next) {
            next = q->next; /* q may return to its caller once done is set */
            q->done = true;
        }
        s->rec_leader = false;
        pthread_cond_broadcast(&s->rec_cv);
    }
    pthread_mutex_unlock(&s->rec_mu);
    if (req.st)
        return err_set(req.st, "%s", req.detail);
    memcpy(tl_prev, req.prev, sizeof req.prev);
    memcpy(tl_hash, req.hash, sizeof req.hash);
    r->seq = req.rec.seq;
    r->prev = tl_prev;
    r->hash = tl_hash;
    return ECERT_OK;
}

/* One row in RECORD_COLS order; strings point into the statement (valid
 * until the next step) unless an arena is given. */
static ecert_status record_read_row(sqlite3_stmt *st, struct arena *a, struct usage_record *r)
{
    const char **f[] = {&r->cert_id,  &r->holder_code, &r->interface,     &r->app_id,
                        &r->requester_node, &r->use_for, &r->item_code, &r->item_name,
                        &r->item_org, &r->operator_name, &r->biz_num};
    memset(r, 0, sizeof *r);
    r->seq = sqlite3_column_int64(st, 0);
    r->time_ms = sqlite3_column_int64(st, 1);
    for (int i = 0; i < (int)(sizeof f / sizeof f[0]); i++) {
        if (a) {
            if (!(*f[i] = col_text(st, 2 + i, a)))
                return arena_err();
        } else {
            const unsigned char *t = sqlite3_column_text(st, 2 + i);
            *f[i] = t ? (const char *)t : "";
        }
    }
    r->result = sqlite3_column_int(st, 13);
    if (a) {
        r->prev = col_text(st, 14, a);
        r->hash = col_text(st, 15, a);
        if (!r->prev || !r->hash)
            return arena_err();
    } else {
        const unsigned char *p = sqlite3_column_text(st, 14), *h = sqlite3_column_text(st, 15);
        r->prev = p ? (const char *)p : "";
        r->hash = h ? (const char *)h : "";
    }
    return ECERT_OK;
}

static ecert_status sqlite_record_list(struct store *base, struct arena *a, const char *holder_code,
                                       int64_t from_ms, int64_t to_ms, size_t limit,
                                       struct usage_record **out, size_t *n)
{
    struct sqlite_store *s = lite(base);
    if (!s || !a || !holder_code || !out || !n)
        return err_set(ECERT_E_ARG, "store_record_list: NULL argument");
    *out = NULL;
    *n = 0;
    if (limit == 0)
        limit = SEARCH_LIMIT_DEFAULT;
    if (limit > SEARCH_LIMIT_MAX)
        limit = SEARCH_LIMIT_MAX;
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, S_RECORD_LIST, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, holder_code);
        bind_int(&b, from_ms);
        bind_int(&b, to_ms > 0 ? to_ms : INT64_MAX);
        bind_int(&b, (int64_t)limit);
        res = bind_check(c, &b, "usage record list");
    }
    if (!res) {
        struct usage_record *rows = NULL;
        size_t count = 0, cap = 0;
        int rc;
        while (!res && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            res = arena_grow(a, (void **)&rows, &cap, count + 1, sizeof *rows);
            if (!res)
                res = record_read_row(st, a, &rows[count]);
            if (!res)
                count++;
        }
        if (!res && rc != SQLITE_DONE)
            res = db_err(c->db, rc, "usage record list");
        stmt_done(st);
        if (!res) {
            *out = rows;
            *n = count;
        }
    }
    conn_give(s, c);
    return res;
}

/* Checks one record against its predecessor. */
static ecert_status record_check(const struct usage_record *r, int64_t want_seq,
                                 const char *want_prev)
{
    char hash[USAGE_RECORD_HASH_HEX + 1];
    if (r->seq != want_seq)
        return err_set(ECERT_E_SIGNATURE, "record %" PRId64 ": expected seq %" PRId64
                                          " (a record is missing)",
                       r->seq, want_seq);
    if (strcmp(r->prev, want_prev) != 0)
        return err_set(ECERT_E_SIGNATURE,
                       "record %" PRId64 ": prev does not match the previous record's hash",
                       r->seq);
    ecert_status st = usage_record_hash(r->prev, r, hash);
    if (st == ECERT_E_TOO_LONG || st == ECERT_E_MALFORMED)
        return err_set(ECERT_E_SIGNATURE, "record %" PRId64 ": %s", r->seq, err_detail());
    if (st)
        return st;
    if (strcmp(hash, r->hash) != 0)
        return err_set(ECERT_E_SIGNATURE,
                       "record %" PRId64 ": hash does not match the record's contents", r->seq);
    return ECERT_OK;
}

static ecert_status sqlite_record_verify(struct store *base, uint64_t *count, int64_t *bad_seq)
{
    struct sqlite_store *s = lite(base);
    if (!s || !count || !bad_seq)
        return err_set(ECERT_E_ARG, "store_record_verify: NULL argument");
    *count = 0;
    *bad_seq = 0;
    struct conn *c = conn_take(s);
    /* One read transaction: a consistent snapshot while appends go on (WAL
     * readers do not block the writer). Memory stays constant: each row is
     * checked and dropped. */
    ecert_status res = tx_begin_read(c);
    sqlite3_stmt *st = NULL;
    if (!res)
        res = stmt_get(c, S_RECORD_ALL, &st);
    if (!res) {
        char prev[USAGE_RECORD_HASH_HEX + 1];
        memcpy(prev, zero_hash, sizeof zero_hash);
        int64_t want = 1;
        int rc;
        while (!res && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            struct usage_record r;
            record_read_row(st, NULL, &r);
            res = record_check(&r, want, prev);
            if (res == ECERT_E_SIGNATURE) {
                *bad_seq = r.seq;
                break;
            }
            if (!res) {
                /* r.hash equals the recomputed hash: exactly 64 hex. */
                memcpy(prev, r.hash, sizeof prev);
                want = r.seq + 1;
                (*count)++;
            }
        }
        if (!res && rc != SQLITE_DONE)
            res = db_err(c->db, rc, "usage record verify");
        stmt_done(st);
    }
    if (!res)
        res = tx_commit(c);
    else
        tx_rollback(c);
    conn_give(s, c);
    return res;
}

/* ---- holder codes -------------------------------------------------------- */

static ecert_status sqlite_code_add(struct store *base, const char *cid, int64_t exp_s)
{
    struct sqlite_store *s = lite(base);
    if (!s || !cid || !cid[0])
        return err_set(ECERT_E_ARG, "store_code_add: cid is required");
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    write_lock(s);
    ecert_status res = stmt_get(c, S_CODE_ADD, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, cid);
        bind_int(&b, exp_s);
        res = bind_check(c, &b, "code add");
        if (!res)
            res = stmt_run(c, st, "code add");
    }
    /* Codes live a minute: drop those expired an hour ago (housekeeping). */
    if (!res && stmt_get(c, S_CODE_PURGE, &st) == ECERT_OK) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_int(&b, (int64_t)time(NULL) - 3600);
        if (bind_check(c, &b, "code purge") == ECERT_OK)
            (void)sqlite3_step(st);
        stmt_done(st);
    }
    write_unlock(s);
    conn_give(s, c);
    return res;
}

static ecert_status sqlite_code_use(struct store *base, const char *cid, int64_t now_s,
                                    bool single_use)
{
    struct sqlite_store *s = lite(base);
    if (!s || !cid)
        return err_set(ECERT_E_ARG, "store_code_use: cid is required");
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    write_lock(s);
    ecert_status res = stmt_get(c, S_CODE_USE, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, cid);
        bind_int(&b, now_s);
        bind_int(&b, single_use ? 1 : 0);
        res = bind_check(c, &b, "code use");
        if (!res)
            res = stmt_run(c, st, "code use");
        if (!res && sqlite3_changes(c->db) == 0)
            res = err_set(ECERT_E_CODE_USED, "holder code expired, already used or unknown");
    }
    write_unlock(s);
    conn_give(s, c);
    return res;
}

/* ---- meta ------------------------------------------------------------------*/

static ecert_status sqlite_meta_get(struct store *base, struct arena *a, const char *key,
                                    const char **value)
{
    struct sqlite_store *s = lite(base);
    if (!s || !a || !key || !value)
        return err_set(ECERT_E_ARG, "store_meta_get: NULL argument");
    *value = NULL;
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, S_META_GET, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, key);
        res = bind_check(c, &b, "meta get");
    }
    if (!res) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const char *v = (const char *)sqlite3_column_text(st, 0);
            *value = arena_strdup(a, v ? v : "");
            if (!*value)
                res = ECERT_E_TOO_LONG;
        } else if (rc == SQLITE_DONE) {
            res = err_set(ECERT_E_NOT_FOUND, "no meta value '%s'", key);
        } else {
            res = db_err(c->db, rc, "meta get");
        }
    }
    if (st)
        stmt_done(st);
    conn_give(s, c);
    return res;
}

static ecert_status sqlite_meta_put(struct store *base, const char *key, const char *value)
{
    struct sqlite_store *s = lite(base);
    if (!s || !key || !value)
        return err_set(ECERT_E_ARG, "store_meta_put: NULL argument");
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    write_lock(s);
    ecert_status res = stmt_get(c, S_META_PUT, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, key);
        bind_text(&b, value);
        res = bind_check(c, &b, "meta put");
        if (!res)
            res = stmt_run(c, st, "meta put");
    }
    write_unlock(s);
    conn_give(s, c);
    return res;
}

static ecert_status sqlite_app_invalidate(struct store *base, const char *app_id, int status,
                                          int64_t now_ms)
{
    struct sqlite_store *s = lite(base);
    if (!s || !app_id || !app_id[0])
        return err_set(ECERT_E_ARG, "store_app_invalidate: app_id is required");
    bool purge = atomic_fetch_add(&s->inval_calls, 1) % APP_INVAL_PURGE_EVERY ==
                 APP_INVAL_PURGE_EVERY - 1;
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    write_lock(s);
    ecert_status res = stmt_get(c, S_APP_INVAL_ADD, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, app_id);
        bind_int(&b, status);
        bind_int(&b, now_ms);
        res = bind_check(c, &b, "app invalidate");
        if (!res)
            res = stmt_run(c, st, "app invalidate");
    }
    /* housekeeping, errors ignored: a reader that missed purged rows sees
     * the gap in seq and drops its whole cache */
    if (!res && purge && stmt_get(c, S_APP_INVAL_PURGE, &st) == ECERT_OK) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_int(&b, now_ms - APP_INVAL_KEEP_MS);
        if (bind_check(c, &b, "app invalidation purge") == ECERT_OK)
            (void)sqlite3_step(st);
        stmt_done(st);
    }
    write_unlock(s);
    conn_give(s, c);
    return res;
}

static ecert_status sqlite_app_invalidations(struct store *base, struct arena *a, int64_t after,
                                             size_t max, struct app_invalidation **out,
                                             size_t *n)
{
    struct sqlite_store *s = lite(base);
    if (!s || !a || !out || !n || max == 0 || max > APP_INVAL_LIST_MAX)
        return err_set(ECERT_E_ARG, "store_app_invalidations: bad argument");
    *out = NULL;
    *n = 0;
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    ecert_status res = stmt_get(c, S_APP_INVAL_LIST, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_int(&b, after);
        bind_int(&b, (int64_t)max);
        res = bind_check(c, &b, "app invalidations");
    }
    if (!res) {
        struct app_invalidation *list = NULL;
        size_t count = 0, cap = 0;
        int rc;
        while (!res && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            res = arena_grow(a, (void **)&list, &cap, count + 1, sizeof *list);
            if (res)
                break;
            list[count].seq = sqlite3_column_int64(st, 0);
            list[count].status = sqlite3_column_int(st, 2);
            if (!(list[count++].app_id = col_text(st, 1, a)))
                res = arena_err();
        }
        if (!res && rc != SQLITE_DONE)
            res = db_err(c->db, rc, "app invalidations");
        stmt_done(st);
        if (!res) {
            *out = list;
            *n = count;
        }
    }
    conn_give(s, c);
    return res;
}

static ecert_status sqlite_scene_retain(struct store *base, const char *const *codes, size_t n)
{
    struct sqlite_store *s = lite(base);
    if (!s || (!codes && n))
        return err_set(ECERT_E_ARG, "store_scene_retain: NULL argument");
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(codes[i]));
    char *list = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    if (!list)
        return err_set(ECERT_E_NOMEM, "out of memory");
    struct conn *c = conn_take(s);
    sqlite3_stmt *st = NULL;
    write_lock(s);
    ecert_status res = stmt_get(c, S_SCENE_RETAIN, &st);
    if (!res) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, list);
        res = bind_check(c, &b, "scene retain");
        if (!res)
            res = stmt_run(c, st, "scene retain");
    }
    write_unlock(s);
    conn_give(s, c);
    free(list);
    return res;
}

/* ---- the backend table (store/backend.h) --------------------------------- */

const struct store_backend store_backend_sqlite = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .schema_version = sqlite_schema_version,
    .catalog_put = sqlite_catalog_put,
    .catalog_get = sqlite_catalog_get,
    .catalog_find_name = sqlite_catalog_find_name,
    .scene_put = sqlite_scene_put,
    .scene_get = sqlite_scene_get,
    .cert_put = sqlite_cert_put,
    .cert_put_batch = sqlite_cert_put_batch,
    .cert_get = sqlite_cert_get,
    .cert_search = sqlite_cert_search,
    .cert_count = sqlite_cert_count,
    .app_put = sqlite_app_put,
    .app_get = sqlite_app_get,
    .nonce_use = sqlite_nonce_use,
    .rate_take = sqlite_rate_take,
    .token_revoke = sqlite_token_revoke,
    .token_is_revoked = sqlite_token_is_revoked,
    .token_revoked_list = sqlite_token_revoked_list,
    .record_append = sqlite_record_append,
    .record_list = sqlite_record_list,
    .record_verify = sqlite_record_verify,
    .code_add = sqlite_code_add,
    .code_use = sqlite_code_use,
    .meta_get = sqlite_meta_get,
    .meta_put = sqlite_meta_put,
    .app_invalidate = sqlite_app_invalidate,
    .app_invalidations = sqlite_app_invalidations,
    .scene_retain = sqlite_scene_retain,
};
