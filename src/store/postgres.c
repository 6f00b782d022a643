/*
 * postgres.c — the PostgreSQL store backend (libpq), for a province that runs
 * several stateless ecertd processes against one database and keeps 10^7 to
 * 10^8 certificates.
 *
 * Shape (docs/store.md, "PostgreSQL backend"):
 *   - a pool of connections like the SQLite backend's (mutex + condvar free
 *     list); each connection prepares each statement once, on first use
 *     (PQprepare), and keeps it until the connection is replaced;
 *   - every exchange with the server is asynchronous with a deadline (poll on
 *     the socket), so a stalled server or network makes a call fail, never
 *     hang; the server also enforces statement_timeout;
 *   - a connection that died while idle (the server restarted) is noticed
 *     before it is used (its socket turned readable) and replaced; a failed
 *     connect makes calls fail fast for a short back-off instead of each one
 *     waiting for a connect timeout; calls that change nothing, or change
 *     nothing more when repeated, are retried once on a fresh connection when
 *     the connection broke under them;
 *   - the usage-record chain is appended under a row lock (SELECT ... FOR
 *     UPDATE on the one row of usage_chain_lock), so appends from any number
 *     of processes form one chain; within a process appends are grouped (one
 *     transaction and one commit for many records), as in the SQLite backend;
 *     a commit whose answer was lost is resolved by looking for the record;
 *   - certificate batches travel by binary COPY into a temporary table and are
 *     merged with one INSERT ... ON CONFLICT, in one transaction.
 *
 * Errors follow store.h: a database failure is ECERT_E_INTERNAL; when the
 * server cannot be reached the detail starts "store: database unavailable".
 * Details carry the server's primary message only (never its DETAIL line,
 * which may quote values).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "common/error.h"
#include "store/backend.h"
#include "store/store.h"

#define POOL_DEFAULT 4
#define POOL_MAX 256
#define SEARCH_LIMIT_DEFAULT 1000
#define SEARCH_LIMIT_MAX 10000
#define TYPE_CODES_MAX 1024
#define NONCE_PURGE_EVERY 256
#define REVOKE_PURGE_EVERY 64
/* App invalidations: kept an hour, purged every 64 additions. */
#define APP_INVAL_KEEP_MS 3600000
#define APP_INVAL_PURGE_EVERY 64
#define APP_INVAL_LIST_MAX 1000
#define REVOKE_KEEP_S 3600
#define RATE_PURGE_EVERY 256
/* Client-side bound on one exchange (send, execute, receive). The server's
 * statement_timeout (set per session below) is shorter, so a slow statement is
 * normally cancelled by the server and the connection survives; the client
 * deadline catches a server or network that stopped answering at all. */
#define EXCHANGE_DEADLINE_MS 20000
/* After a failed connect, calls fail at once for this long rather than each
 * trying (and, for an unreachable host, waiting) again. */
#define RECONNECT_BACKOFF_MS 250
/* Batches at least this large go by COPY; smaller ones row by row. */
#define COPY_MIN_BATCH 16
/* Records read per round trip while verifying the chain. */
#define VERIFY_PAGE 1000
#define PARAMS_MAX 24
/* Serialises migrations of every ecert schema in one database ("ecert"). */
#define MIGRATION_LOCK_SQL "SELECT pg_advisory_xact_lock(435459580532)"
/* Session settings of every connection (constant text, no data). */
#define SESSION_SQL                                                                                \
    "SET statement_timeout = 15000; SET lock_timeout = 12000; "                                    \
    "SET idle_in_transaction_session_timeout = 60000"

/* ---- migrations ----------------------------------------------------------
 * The same versions as the SQLite backend's (migration i takes the schema from
 * version i to i + 1; the tables of version N are the same on both), written
 * for PostgreSQL: bigint times, boolean flags, bytea files, COLLATE "C" on the
 * keys so that comparisons and ORDER BY are byte order as in SQLite and index
 * lookups skip locale rules. Append only: a change is a new entry, here and in
 * sqlite.c (tests/unit/test_store.c checks both report the same version). */
static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE catalog ("
    "  type_code  text COLLATE \"C\" PRIMARY KEY,"
    "  name       text COLLATE \"C\" NOT NULL,"
    "  yrd_shared boolean NOT NULL DEFAULT false"
    ");"
    "CREATE INDEX catalog_name ON catalog (name);"

    "CREATE TABLE scenes ("
    "  item_code text COLLATE \"C\" PRIMARY KEY,"
    "  item_name text NOT NULL"
    ");"
    "CREATE TABLE scene_types ("
    "  item_code text COLLATE \"C\" NOT NULL REFERENCES scenes (item_code) ON DELETE CASCADE,"
    "  type_code text COLLATE \"C\" NOT NULL,"
    "  PRIMARY KEY (item_code, type_code)"
    ");"

    /* file last and stored EXTERNAL: OFD and PDF files are compressed already,
     * so TOAST keeps them out of line without trying to compress them again,
     * and a metadata read never touches them. */
    "CREATE TABLE certs ("
    "  id               text COLLATE \"C\" PRIMARY KEY,"
    "  type             text NOT NULL,"
    "  type_code        text COLLATE \"C\" NOT NULL,"
    "  number           text NOT NULL,"
    "  holder           text NOT NULL,"
    "  holder_code      text COLLATE \"C\" NOT NULL,"
    "  holder_type_code text NOT NULL,"
    "  issuer           text NOT NULL,"
    "  issuer_code      text NOT NULL,"
    "  issued_date      text COLLATE \"C\" NOT NULL,"
    "  valid_from       text NOT NULL,"
    "  valid_to         text NOT NULL,"
    "  status           text NOT NULL"
    "                   CHECK (status IN ('valid', 'revoked', 'expired', 'suspended')),"
    "  area_code        text NOT NULL,"
    "  surface_json     text NOT NULL DEFAULT '{}',"
    "  file_format      text NOT NULL,"
    "  file_name        text NOT NULL,"
    "  file_sm3         text NOT NULL,"
    "  updated_ms       bigint NOT NULL,"
    "  file             bytea"
    ");"
    "ALTER TABLE certs ALTER COLUMN file SET STORAGE EXTERNAL;"
    "CREATE INDEX certs_holder ON certs (holder_code, type_code);"

    "CREATE TABLE apps ("
    "  app_id      text COLLATE \"C\" PRIMARY KEY,"
    "  secret_hash text NOT NULL,"
    "  corp_name   text NOT NULL,"
    "  corp_code   text NOT NULL,"
    "  public_key  text NOT NULL DEFAULT '',"
    "  certificate text NOT NULL DEFAULT '',"
    "  province    text NOT NULL DEFAULT '',"
    "  status      integer NOT NULL,"
    "  updated_ms  bigint NOT NULL"
    ");"

    "CREATE TABLE nonces ("
    "  app_id text COLLATE \"C\" NOT NULL,"
    "  nonce  text COLLATE \"C\" NOT NULL,"
    "  ts     bigint NOT NULL,"
    "  PRIMARY KEY (app_id, nonce)"
    ");"
    "CREATE INDEX nonces_ts ON nonces (ts);"

    "CREATE TABLE revoked_tokens ("
    "  jti text COLLATE \"C\" PRIMARY KEY,"
    "  exp bigint NOT NULL"
    ");"
    "CREATE INDEX revoked_tokens_exp ON revoked_tokens (exp);"

    "CREATE TABLE usage_records ("
    "  seq            bigint PRIMARY KEY,"
    "  time_ms        bigint NOT NULL,"
    "  cert_id        text NOT NULL,"
    "  holder_code    text COLLATE \"C\" NOT NULL,"
    "  interface      text NOT NULL,"
    "  app_id         text NOT NULL,"
    "  requester_node text NOT NULL,"
    "  use_for        text NOT NULL,"
    "  item_code      text NOT NULL,"
    "  item_name      text NOT NULL,"
    "  item_org       text NOT NULL,"
    "  operator       text NOT NULL,"
    "  biz_num        text NOT NULL,"
    "  result         integer NOT NULL,"
    "  prev           text NOT NULL,"
    "  hash           text NOT NULL"
    ");"
    "CREATE INDEX usage_records_holder ON usage_records (holder_code, time_ms);"
    /* One row, locked FOR UPDATE by every append: the chain's writers, in any
     * process, take turns on it (see record_batch). */
    "CREATE TABLE usage_chain_lock (id integer PRIMARY KEY CHECK (id = 1));"
    "INSERT INTO usage_chain_lock (id) VALUES (1);",
    /* 2: holder codes (single use) and published-list versions */
    "CREATE TABLE holder_codes ("
    "  cid  text COLLATE \"C\" PRIMARY KEY,"
    "  exp  bigint NOT NULL,"
    "  used integer NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX holder_codes_exp ON holder_codes (exp);"
    "CREATE TABLE meta ("
    "  key   text COLLATE \"C\" PRIMARY KEY,"
    "  value text NOT NULL"
    ");",
    /* 3: rate-limit windows (store_rate_take) */
    "CREATE TABLE rate_counters ("
    "  key      text COLLATE \"C\" PRIMARY KEY,"
    "  reset_ms bigint NOT NULL,"
    "  used     bigint NOT NULL,"
    "  granted  bigint NOT NULL"
    ");"
    "CREATE INDEX rate_counters_reset ON rate_counters (reset_ms);",
    /* 4: app-state changes for the other processes on this database. The
     * seq comes from a counter row updated in the inserting statement: its
     * row lock, held to the commit, makes inserts commit in seq order, so a
     * reader never sees seq S + 1 before S (a sequence would allow that). */
    "CREATE TABLE app_invalidation_seq ("
    "  id  integer PRIMARY KEY CHECK (id = 1),"
    "  seq bigint NOT NULL"
    ");"
    "INSERT INTO app_invalidation_seq (id, seq) VALUES (1, 0);"
    "CREATE TABLE app_invalidations ("
    "  seq     bigint PRIMARY KEY,"
    "  app_id  text COLLATE \"C\" NOT NULL,"
    "  status  integer NOT NULL,"
    "  time_ms bigint NOT NULL"
    ");"
    "CREATE INDEX app_invalidations_time ON app_invalidations (time_ms);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- statements ---------------------------------------------------------- */

#define CERT_COLS                                                                                  \
    "id, type, type_code, number, holder, holder_code, holder_type_code, issuer, issuer_code, "   \
    "issued_date, valid_from, valid_to, status, area_code, surface_json, file_format, "           \
    "file_name, file_sm3"
#define CERT_NCOLS 18

#define CERT_UPSERT_SET                                                                            \
    "ON CONFLICT (id) DO UPDATE SET type = EXCLUDED.type, type_code = EXCLUDED.type_code, "       \
    "number = EXCLUDED.number, holder = EXCLUDED.holder, holder_code = EXCLUDED.holder_code, "    \
    "holder_type_code = EXCLUDED.holder_type_code, issuer = EXCLUDED.issuer, "                    \
    "issuer_code = EXCLUDED.issuer_code, issued_date = EXCLUDED.issued_date, "                    \
    "valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to, "                            \
    "status = EXCLUDED.status, area_code = EXCLUDED.area_code, "                                  \
    "surface_json = EXCLUDED.surface_json, file_format = EXCLUDED.file_format, "                  \
    "file_name = EXCLUDED.file_name, file_sm3 = EXCLUDED.file_sm3, "                              \
    "updated_ms = EXCLUDED.updated_ms, file = EXCLUDED.file"

#define RECORD_COLS                                                                                \
    "seq, time_ms, cert_id, holder_code, interface, app_id, requester_node, use_for, "            \
    "item_code, item_name, item_org, operator, biz_num, result, prev, hash"

enum stmt_id {
    P_VERSION_GET,
    P_VERSION_ADD,
    P_CATALOG_PUT,
    P_CATALOG_GET,
    P_CATALOG_FIND,
    P_SCENE_PUT,
    P_SCENE_CLEAR_TYPES,
    P_SCENE_ADD_TYPES,
    P_SCENE_GET,
    P_SCENE_RETAIN,
    P_CERT_PUT,
    P_CERT_GET,
    P_CERT_GET_FILE,
    P_CERT_SEARCH,
    P_CERT_COUNT,
    P_CERT_MERGE,
    P_APP_PUT,
    P_APP_GET,
    P_NONCE_USE,
    P_NONCE_PURGE,
    P_TOKEN_REVOKE,
    P_TOKEN_PURGE,
    P_TOKEN_GET,
    P_TOKEN_LIST,
    P_RECORD_LOCK,
    P_RECORD_LAST,
    P_RECORD_ADD,
    P_RECORD_AT,
    P_RECORD_LIST,
    P_RECORD_PAGE,
    P_CODE_ADD,
    P_CODE_USE,
    P_CODE_PURGE,
    P_META_GET,
    P_META_PUT,
    P_RATE_TAKE,
    P_RATE_PURGE,
    P_APP_INVAL_ADD,
    P_APP_INVAL_PURGE,
    P_APP_INVAL_LIST,
    STMT_COUNT
};

/* Parameter types are inferred by the server from each statement; where the
 * context does not fix one (an optional filter tested with IS NULL), the SQL
 * casts it. */
static const char *const stmt_sql[STMT_COUNT] = {
    [P_VERSION_GET] = "SELECT coalesce(max(version), 0)::int4 FROM schema_version",
    [P_VERSION_ADD] = "INSERT INTO schema_version (version, applied_ms) VALUES ($1, $2)",
    [P_CATALOG_PUT] = "INSERT INTO catalog (type_code, name, yrd_shared) VALUES ($1, $2, $3) "
                      "ON CONFLICT (type_code) DO UPDATE SET name = EXCLUDED.name, "
                      "yrd_shared = EXCLUDED.yrd_shared",
    [P_CATALOG_GET] = "SELECT name, yrd_shared FROM catalog WHERE type_code = $1",
    [P_CATALOG_FIND] = "SELECT type_code FROM catalog WHERE name = $1 ORDER BY type_code LIMIT 1",
    [P_SCENE_PUT] = "INSERT INTO scenes (item_code, item_name) VALUES ($1, $2) "
                    "ON CONFLICT (item_code) DO UPDATE SET item_name = EXCLUDED.item_name",
    [P_SCENE_CLEAR_TYPES] = "DELETE FROM scene_types WHERE item_code = $1",
    /* The type list travels as one JSON array parameter, as in SQLite. */
    [P_SCENE_ADD_TYPES] = "INSERT INTO scene_types (item_code, type_code) "
                          "SELECT $1::text, t FROM jsonb_array_elements_text($2::jsonb) AS t "
                          "ON CONFLICT DO NOTHING",
    /* Name and types in one statement: one snapshot, one round trip. */
    [P_SCENE_GET] = "SELECT s.item_name, t.type_code FROM scenes s "
                    "LEFT JOIN scene_types t ON t.item_code = s.item_code "
                    "WHERE s.item_code = $1 ORDER BY t.type_code",
    [P_SCENE_RETAIN] = "DELETE FROM scenes WHERE item_code NOT IN "
                       "(SELECT jsonb_array_elements_text($1::jsonb))",
    [P_CERT_PUT] = "INSERT INTO certs (" CERT_COLS ", updated_ms, file) VALUES ($1, $2, $3, $4, "
                   "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) "
                   CERT_UPSERT_SET,
    [P_CERT_GET] = "SELECT " CERT_COLS " FROM certs WHERE id = $1",
    [P_CERT_GET_FILE] = "SELECT " CERT_COLS ", file FROM certs WHERE id = $1",
    /* holder_code is a plain equality, so certs_holder is used; the optional
     * filters only sift one holder's few rows. */
    [P_CERT_SEARCH] = "SELECT " CERT_COLS " FROM certs WHERE holder_code = $1 "
                      "AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR number = $3) "
                      "AND ($4::jsonb IS NULL OR type_code IN "
                      "(SELECT jsonb_array_elements_text($4::jsonb))) "
                      "ORDER BY issued_date DESC, id DESC LIMIT $5",
    [P_CERT_COUNT] = "SELECT count(*) FROM certs",
    /* A COPYed batch into the table: the last line of an id wins, as when the
     * rows are upserted one after the other. */
    [P_CERT_MERGE] = "INSERT INTO certs (" CERT_COLS ", updated_ms, file) "
                     "SELECT DISTINCT ON (id) " CERT_COLS ", $1::bigint, file FROM certs_in "
                     "ORDER BY id, ord DESC " CERT_UPSERT_SET,
    [P_APP_PUT] = "INSERT INTO apps (app_id, secret_hash, corp_name, corp_code, public_key, "
                  "certificate, province, status, updated_ms) "
                  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                  "ON CONFLICT (app_id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, "
                  "corp_name = EXCLUDED.corp_name, corp_code = EXCLUDED.corp_code, "
                  "public_key = EXCLUDED.public_key, certificate = EXCLUDED.certificate, "
                  "province = EXCLUDED.province, status = EXCLUDED.status, "
                  "updated_ms = EXCLUDED.updated_ms",
    [P_APP_GET] = "SELECT app_id, secret_hash, corp_name, corp_code, public_key, certificate, "
                  "province, status, updated_ms FROM apps WHERE app_id = $1",
    /* One statement decides replay, atomically across processes: a new pair
     * inserts; a pair whose time left the window is refreshed; otherwise no
     * row changes (a concurrent insert of the same pair waits for the first
     * and then takes the update path), and 0 rows means replay. */
    [P_NONCE_USE] = "INSERT INTO nonces (app_id, nonce, ts) VALUES ($1, $2, $3) "
                    "ON CONFLICT (app_id, nonce) DO UPDATE SET ts = EXCLUDED.ts "
                    "WHERE nonces.ts < $4",
    [P_NONCE_PURGE] = "DELETE FROM nonces WHERE ts < $1",
    [P_TOKEN_REVOKE] = "INSERT INTO revoked_tokens (jti, exp) VALUES ($1, $2) "
                       "ON CONFLICT (jti) DO UPDATE SET "
                       "exp = greatest(revoked_tokens.exp, EXCLUDED.exp)",
    [P_TOKEN_PURGE] = "DELETE FROM revoked_tokens WHERE exp < $1",
    [P_TOKEN_GET] = "SELECT 1 FROM revoked_tokens WHERE jti = $1",
    [P_TOKEN_LIST] = "SELECT jti FROM revoked_tokens WHERE exp >= $1 ORDER BY jti",
    [P_RECORD_LOCK] = "SELECT id FROM usage_chain_lock WHERE id = 1 FOR UPDATE",
    [P_RECORD_LAST] = "SELECT seq, hash FROM usage_records ORDER BY seq DESC LIMIT 1",
    [P_RECORD_ADD] = "INSERT INTO usage_records (" RECORD_COLS ") VALUES ($1, $2, $3, $4, $5, "
                     "$6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    [P_RECORD_AT] = "SELECT hash FROM usage_records WHERE seq = $1",
    [P_RECORD_LIST] = "SELECT " RECORD_COLS " FROM usage_records WHERE holder_code = $1 "
                      "AND time_ms >= $2 AND time_ms <= $3 ORDER BY time_ms DESC, seq DESC "
                      "LIMIT $4",
    [P_RECORD_PAGE] = "SELECT " RECORD_COLS " FROM usage_records WHERE seq > $1 ORDER BY seq "
                      "LIMIT $2",
    [P_CODE_ADD] = "INSERT INTO holder_codes (cid, exp) VALUES ($1, $2)",
    /* Concurrent uses of one code: the second waits for the first's row
     * version, re-checks the WHERE on it and changes nothing. */
    [P_CODE_USE] = "UPDATE holder_codes SET used = used + 1 "
                   "WHERE cid = $1 AND exp > $2 AND (used = 0 OR $3::int4 = 0)",
    [P_CODE_PURGE] = "DELETE FROM holder_codes WHERE exp < $1",
    [P_APP_INVAL_ADD] =
        "WITH s AS (UPDATE app_invalidation_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq) "
        "INSERT INTO app_invalidations (seq, app_id, status, time_ms) "
        "SELECT seq, $1::text, $2::integer, $3::bigint FROM s",
    [P_APP_INVAL_PURGE] = "DELETE FROM app_invalidations WHERE time_ms < $1",
    [P_APP_INVAL_LIST] = "SELECT seq, app_id, status FROM app_invalidations WHERE seq > $1 "
                         "ORDER BY seq LIMIT $2",
    [P_META_GET] = "SELECT value FROM meta WHERE key = $1",
    [P_META_PUT] = "INSERT INTO meta (key, value) VALUES ($1, $2) "
                   "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
    /* As in SQLite ($1 key, $2 now, $3 window, $4 want, $5 limit). Two
     * processes taking at once: the second waits on the first's row lock,
     * then computes its grant from the row the first left. */
    [P_RATE_TAKE] = "INSERT INTO rate_counters (key, reset_ms, used, granted) "
                    "VALUES ($1, $2::bigint + $3::bigint, least($4::bigint, $5::bigint), "
                    "least($4::bigint, $5::bigint)) "
                    "ON CONFLICT (key) DO UPDATE SET "
                    "granted = CASE WHEN rate_counters.reset_ms > $2::bigint "
                    "THEN greatest(0, least($4::bigint, $5::bigint - rate_counters.used)) "
                    "ELSE least($4::bigint, $5::bigint) END, "
                    "used = CASE WHEN rate_counters.reset_ms > $2::bigint "
                    "THEN rate_counters.used + "
                    "greatest(0, least($4::bigint, $5::bigint - rate_counters.used)) "
                    "ELSE least($4::bigint, $5::bigint) END, "
                    "reset_ms = CASE WHEN rate_counters.reset_ms > $2::bigint "
                    "THEN rate_counters.reset_ms ELSE $2::bigint + $3::bigint END "
                    "RETURNING granted, reset_ms, used",
    [P_RATE_PURGE] = "DELETE FROM rate_counters WHERE reset_ms <= $1",
};

/* The temporary table a connection COPYs certificate batches into (created
 * once per connection, emptied by every commit), and the COPY itself. */
#define STAGE_SQL                                                                                  \
    "CREATE TEMP TABLE IF NOT EXISTS certs_in (ord int4 NOT NULL, id text COLLATE \"C\", "        \
    "type text, type_code text, number text, holder text, holder_code text, "                     \
    "holder_type_code text, issuer text, issuer_code text, issued_date text, valid_from text, "   \
    "valid_to text, status text, area_code text, surface_json text, file_format text, "           \
    "file_name text, file_sm3 text, file bytea) ON COMMIT DELETE ROWS"
#define COPY_SQL "COPY certs_in (ord, " CERT_COLS ", file) FROM STDIN (FORMAT binary)"

/* ---- the store ----------------------------------------------------------- */

struct pconn {
    PGconn *pg;               /* NULL until connected, and after a failure */
    bool prepared[STMT_COUNT];
    bool staged;              /* certs_in exists on this connection */
    bool lost;                /* the last exchange failed with the connection */
    struct pconn *next_free;
};

struct append_req;

struct pg_store {
    struct store base; /* first member: the dispatch header (store/backend.h) */
    char *dsn;
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    struct pconn *conns;
    unsigned nconns;
    struct pconn *free_list;
    /* group commit of usage records (see pg_record_append) */
    pthread_mutex_t rec_mu;
    pthread_cond_t rec_cv;
    struct append_req *rec_head, **rec_tail;
    bool rec_leader;
    atomic_uint nonce_calls;
    atomic_uint revoke_calls;
    atomic_uint rate_calls;
    atomic_uint inval_calls;
    _Atomic int64_t down_until; /* monotonic ms: no connect attempt before */
    int schema_version;
};

static struct pg_store *pgs(struct store *s)
{
    return (struct pg_store *)s;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- errors -------------------------------------------------------------- */

/* The first line of a libpq message, without the trailing newline. */
static void first_line(const char *msg, char *out, size_t cap)
{
    if (!msg)
        msg = "";
    size_t n = strcspn(msg, "\r\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, msg, n);
    out[n] = 0;
}

/* Drops the connection; the next call on this slot connects afresh. */
static void conn_drop(struct pconn *c)
{
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
    memset(c->prepared, 0, sizeof c->prepared);
    c->staged = false;
}

/* SQLSTATEs that mean the session is gone: class 08 (connection exception),
 * 57P01-57P03 (administrator shutdown, crash shutdown, cannot connect now). */
static bool state_is_lost(const char *state)
{
    return state && (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
                     strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0);
}

static ecert_status lost(struct pconn *c, const char *what, const char *msg)
{
    char line[256];
    first_line(msg, line, sizeof line);
    conn_drop(c);
    c->lost = true;
    return err_set(ECERT_E_INTERNAL, "store: database unavailable (%s): %s", what,
                   line[0] ? line : "connection lost");
}

/* A failed result (or none, when the connection failed): a constraint
 * violation or refused value is bad data (ECERT_E_MALFORMED); a lost session
 * drops the connection; anything else is ECERT_E_INTERNAL. */
static ecert_status result_err(struct pconn *c, const PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg)
        msg = c->pg ? PQerrorMessage(c->pg) : "connection lost";
    if (state_is_lost(state) || !c->pg || PQstatus(c->pg) != CONNECTION_OK)
        return lost(c, what, msg);
    char line[256];
    first_line(msg, line, sizeof line);
    ecert_status st = ECERT_E_INTERNAL;
    if (state && (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0))
        st = ECERT_E_MALFORMED;
    return err_set(st, "store: %s: %s", what, line);
}

static ecert_status arena_err(void)
{
    /* arena_alloc has set the detail (cap reached or out of memory). */
    return ECERT_E_NOMEM;
}

/* ---- exchanges with a deadline ------------------------------------------- */

/* Waits for `events` on the connection's socket; false on timeout or error. */
static bool sock_wait(struct pconn *c, short events, int64_t deadline, short *revents)
{
    struct pollfd p = {PQsocket(c->pg), events, 0};
    if (p.fd < 0)
        return false;
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return false;
        int r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (r > 0) {
            *revents = p.revents;
            return true;
        }
        if (r < 0 && errno != EINTR)
            return false;
    }
}

/* Sends what libpq has queued. In non-blocking mode PQflush returns 1 while
 * data is left; the server may be waiting for us to read, so input is
 * consumed while waiting (as libpq's documentation asks). */
static ecert_status flush_out(struct pconn *c, int64_t deadline, const char *what)
{
    for (;;) {
        int f = PQflush(c->pg);
        if (f == 0)
            return ECERT_OK;
        if (f < 0)
            return lost(c, what, PQerrorMessage(c->pg));
        short rev = 0;
        if (!sock_wait(c, POLLOUT | POLLIN, deadline, &rev))
            return lost(c, what, "no answer from the database server in time");
        if ((rev & POLLIN) && !PQconsumeInput(c->pg))
            return lost(c, what, PQerrorMessage(c->pg));
    }
}

static bool result_failed(const PGresult *r)
{
    ExecStatusType t = PQresultStatus(r);
    return t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK && t != PGRES_COPY_IN &&
           t != PGRES_EMPTY_QUERY;
}

/* Collects the results of what was sent: the first failure, or else the
 * last result; stops early at COPY IN (the caller then sends the data).
 * *out is NULL only when the command produced no result at all. */
static ecert_status collect(struct pconn *c, int64_t deadline, const char *what, PGresult **out)
{
    PGresult *keep = NULL;
    *out = NULL;
    for (;;) {
        while (PQisBusy(c->pg)) {
            short rev = 0;
            if (!sock_wait(c, POLLIN, deadline, &rev)) {
                PQclear(keep);
                return lost(c, what, "no answer from the database server in time");
            }
            if (!PQconsumeInput(c->pg)) {
                PQclear(keep);
                return lost(c, what, PQerrorMessage(c->pg));
            }
        }
        PGresult *r = PQgetResult(c->pg);
        if (!r)
            break;
        if (PQresultStatus(r) == PGRES_COPY_IN) {
            PQclear(keep);
            *out = r;
            return ECERT_OK;
        }
        if (keep && result_failed(keep)) {
            PQclear(r);
        } else {
            PQclear(keep);
            keep = r;
        }
    }
    if (keep && result_failed(keep)) {
        ecert_status st = result_err(c, keep, what);
        PQclear(keep);
        return st;
    }
    if (!keep && PQstatus(c->pg) != CONNECTION_OK)
        return lost(c, what, PQerrorMessage(c->pg));
    *out = keep;
    return ECERT_OK;
}

/* Runs constant SQL text (transaction control, session settings); no data is
 * ever part of it. */
static ecert_status simple(struct pconn *c, const char *sql, const char *what)
{
    if (!c->pg)
        return lost(c, what, "not connected");
    int64_t deadline = mono_ms() + EXCHANGE_DEADLINE_MS;
    if (!PQsendQuery(c->pg, sql))
        return result_err(c, NULL, what);
    PGresult *r = NULL;
    ecert_status st = flush_out(c, deadline, what);
    if (!st)
        st = collect(c, deadline, what, &r);
    PQclear(r);
    return st;
}

/* Parameters of one statement: text, except files (binary bytea). */
struct params {
    int n;
    const char *v[PARAMS_MAX];
    int len[PARAMS_MAX];
    int fmt[PARAMS_MAX];
    char num[PARAMS_MAX][24];
};

static void p_text(struct params *p, const char *v)
{
    p->v[p->n] = v ? v : "";
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

/* NULL or "" binds SQL NULL (an absent optional filter). */
static void p_opt(struct params *p, const char *v)
{
    p->v[p->n] = v && v[0] ? v : NULL;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

static void p_int(struct params *p, int64_t v)
{
    snprintf(p->num[p->n], sizeof p->num[p->n], "%" PRId64, v);
    p_text(p, p->num[p->n]);
}

static void p_bool(struct params *p, bool v)
{
    p_text(p, v ? "true" : "false");
}

static void p_blob(struct params *p, const void *d, size_t n)
{
    p->v[p->n] = d;
    p->len[p->n] = (int)n;
    p->fmt[p->n] = d ? 1 : 0;
    p->n++;
}

static const char *stmt_name(enum stmt_id id, char buf[16])
{
    snprintf(buf, 16, "ecert_%d", (int)id);
    return buf;
}

/* Runs prepared statement `id` (prepared on this connection on first use);
 * results in binary format. *out (may be NULL: result dropped) is the caller's
 * to PQclear. */
static ecert_status exec_stmt(struct pconn *c, enum stmt_id id, const struct params *p,
                              PGresult **out, const char *what)
{
    char name[16];
    PGresult *r = NULL;
    if (out)
        *out = NULL;
    if (!c->pg)
        return lost(c, what, "not connected");
    int64_t deadline = mono_ms() + EXCHANGE_DEADLINE_MS;
    ecert_status st = ECERT_OK;
    if (!c->prepared[id]) {
        if (!PQsendPrepare(c->pg, stmt_name(id, name), stmt_sql[id], 0, NULL))
            return result_err(c, NULL, what);
        st = flush_out(c, deadline, what);
        if (!st)
            st = collect(c, deadline, what, &r);
        PQclear(r);
        r = NULL;
        if (st)
            return st;
        c->prepared[id] = true;
    }
    int n = p ? p->n : 0;
    if (!PQsendQueryPrepared(c->pg, stmt_name(id, name), n, p ? p->v : NULL, p ? p->len : NULL,
                             p ? p->fmt : NULL, 1))
        return result_err(c, NULL, what);
    st = flush_out(c, deadline, what);
    if (!st)
        st = collect(c, deadline, what, &r);
    if (!st && !r)
        st = err_set(ECERT_E_INTERNAL, "store: %s: no result", what);
    if (st || !out)
        PQclear(r);
    else
        *out = r;
    return st;
}

/* Rows changed by a command (INSERT/UPDATE/DELETE). */
static long changed(const PGresult *r)
{
    const char *t = PQcmdTuples((PGresult *)r);
    return t && t[0] ? strtol(t, NULL, 10) : 0;
}

/* ---- reading binary results ---------------------------------------------- */

/* Column as a NUL-terminated copy in the arena ("" for NULL). */
static const char *col_text(const PGresult *r, int row, int col, struct arena *a)
{
    if (PQgetisnull(r, row, col))
        return arena_strndup(a, "", 0);
    return arena_strndup(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

/* An integer column in binary format (int2, int4 or int8, big-endian). */
static int64_t col_int(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    int n = PQgetlength(r, row, col);
    if (n <= 0 || n > 8)
        return 0;
    uint64_t v = (p[0] & 0x80) ? ~(uint64_t)0 : 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

static bool col_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetlength(r, row, col) == 1 &&
           PQgetvalue(r, row, col)[0] != 0;
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

/* ---- connections and the pool ------------------------------------------- */

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "relation already exists, skipping" and the like */
}

/* Connects a pool slot. Defaults come before the DSN so the operator's DSN
 * can override them; client_encoding comes after it (always UTF-8). */
static ecert_status conn_connect(struct pg_store *s, struct pconn *c)
{
    int64_t now = mono_ms();
    if (now < atomic_load(&s->down_until))
        return err_set(ECERT_E_INTERNAL,
                       "store: database unavailable (connect): the last attempt failed, "
                       "retrying shortly");
    static const char *const kw[] = {"connect_timeout", "keepalives_idle", "keepalives_interval",
                                     "keepalives_count", "application_name", "dbname",
                                     "client_encoding", NULL};
    const char *val[] = {"3", "10", "3", "3", "ecert", s->dsn, "UTF8", NULL};
    PGconn *pg = PQconnectdbParams(kw, val, 1);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        char line[256];
        first_line(pg ? PQerrorMessage(pg) : "out of memory", line, sizeof line);
        PQfinish(pg);
        atomic_store(&s->down_until, mono_ms() + RECONNECT_BACKOFF_MS);
        return err_set(ECERT_E_INTERNAL, "store: database unavailable (connect): %s", line);
    }
    PQsetNoticeProcessor(pg, quiet_notices, NULL);
    if (PQsetnonblocking(pg, 1) != 0) {
        PQfinish(pg);
        return err_set(ECERT_E_INTERNAL, "store: cannot make the connection non-blocking");
    }
    conn_drop(c);
    c->pg = pg;
    c->lost = false;
    ecert_status st = simple(c, SESSION_SQL, "session settings");
    if (st)
        conn_drop(c);
    return st;
}

/* Before a call: a connection whose socket turned readable while idle has
 * been closed by the server (a restart sends "terminating connection" and
 * closes), so it is replaced before anything is sent on it. */
static ecert_status conn_ready(struct pg_store *s, struct pconn *c)
{
    c->lost = false;
    if (c->pg) {
        struct pollfd p = {PQsocket(c->pg), POLLIN, 0};
        if (p.fd < 0 || PQstatus(c->pg) != CONNECTION_OK) {
            conn_drop(c);
        } else if (poll(&p, 1, 0) > 0) {
            if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK ||
                (p.revents & (POLLHUP | POLLERR)))
                conn_drop(c);
            PGnotify *nt;
            while (c->pg && (nt = PQnotifies(c->pg)))
                PQfreemem(nt);
        }
    }
    if (!c->pg)
        return conn_connect(s, c);
    return ECERT_OK;
}

static struct pconn *conn_take(struct pg_store *s)
{
    pthread_mutex_lock(&s->pool_mu);
    while (!s->free_list)
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    struct pconn *c = s->free_list;
    s->free_list = c->next_free;
    pthread_mutex_unlock(&s->pool_mu);
    return c;
}

/* A connection goes back clean whatever its user did: outside any
 * transaction, or dropped. */
static void conn_give(struct pg_store *s, struct pconn *c)
{
    if (c->pg) {
        PGTransactionStatusType t = PQtransactionStatus(c->pg);
        if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR) {
            char detail[512];
            snprintf(detail, sizeof detail, "%s", err_detail());
            if (simple(c, "ROLLBACK", "rollback") != ECERT_OK)
                conn_drop(c);
            err_set(ECERT_OK, "%s", detail);
        } else if (t != PQTRANS_IDLE) {
            conn_drop(c);
        }
    }
    pthread_mutex_lock(&s->pool_mu);
    c->next_free = s->free_list;
    s->free_list = c;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

/* One statement on a pooled connection. `retry`: the statement changes
 * nothing, or nothing more when repeated, so when the connection broke under
 * it, it runs once more on a fresh connection. The result (may be NULL: not
 * wanted) no longer needs the connection. */
static ecert_status run1(struct pg_store *s, enum stmt_id id, const struct params *p, bool retry,
                         PGresult **out, const char *what)
{
    struct pconn *c = conn_take(s);
    ecert_status st;
    for (int attempt = 0;; attempt++) {
        st = conn_ready(s, c);
        if (!st)
            st = exec_stmt(c, id, p, out, what);
        if (!st || !c->lost || !retry || attempt > 0)
            break;
    }
    conn_give(s, c);
    return st;
}

/* A multi-statement operation on a pooled connection, retried like run1. */
typedef ecert_status (*op_fn)(struct pconn *c, void *arg);

static ecert_status run_op(struct pg_store *s, op_fn fn, void *arg, bool retry)
{
    struct pconn *c = conn_take(s);
    ecert_status st;
    for (int attempt = 0;; attempt++) {
        st = conn_ready(s, c);
        if (!st)
            st = fn(c, arg);
        if (st && c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
            char detail[512];
            snprintf(detail, sizeof detail, "%s", err_detail());
            if (simple(c, "ROLLBACK", "rollback") != ECERT_OK)
                conn_drop(c);
            err_set(ECERT_OK, "%s", detail);
        }
        if (!st || !c->lost || !retry || attempt > 0)
            break;
    }
    conn_give(s, c);
    return st;
}

/* ---- open, migrate, close ------------------------------------------------ */

/* The tables go to the first schema of the DSN's search_path (a federation
 * puts each node in its own schema with options=-csearch_path=NAME). When that
 * schema does not exist yet it is created. DDL takes no parameters, so the
 * name is checked to be a plain lower-case identifier before it is quoted
 * into the statement: the one SQL text here built from a value. */
static ecert_status ensure_schema(struct pconn *c)
{
    int64_t deadline = mono_ms() + EXCHANGE_DEADLINE_MS;
    PGresult *r = NULL;
    ecert_status st = ECERT_OK;
    if (!PQsendQuery(c->pg, "SELECT current_schema() IS NULL, "
                            "btrim(split_part(current_setting('search_path'), ',', 1))"))
        return result_err(c, NULL, "schema");
    st = flush_out(c, deadline, "schema");
    if (!st)
        st = collect(c, deadline, "schema", &r);
    if (st)
        return st;
    bool missing = r && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    char name[64] = "";
    if (missing) {
        const char *v = PQgetvalue(r, 0, 1);
        size_t n = strlen(v);
        if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
            v++;
            n -= 2;
        }
        bool ok = n > 0 && n < sizeof name && (islower((unsigned char)v[0]) || v[0] == '_');
        for (size_t i = 0; ok && i < n; i++)
            ok = islower((unsigned char)v[i]) || isdigit((unsigned char)v[i]) || v[i] == '_';
        if (ok) {
            memcpy(name, v, n);
            name[n] = 0;
        } else {
            st = err_set(ECERT_E_ARG, "store: the DSN's search_path names no usable schema "
                                      "(want lower-case letters, digits and _)");
        }
    }
    PQclear(r);
    if (st || !missing)
        return st;
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS \"%s\"", name);
    return simple(c, sql, "create schema");
}

/* Applies at most one migration in one transaction, under an advisory lock
 * so that processes opening a new database at once apply each migration
 * exactly once. *done when the schema is current. */
static ecert_status migrate_step(struct pconn *c, int *version, bool *done)
{
    PGresult *r = NULL;
    ecert_status st = simple(c, "BEGIN", "begin");
    if (!st)
        st = simple(c, MIGRATION_LOCK_SQL, "migration lock");
    if (!st)
        st = ensure_schema(c);
    if (!st)
        st = simple(c,
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    " version integer PRIMARY KEY, applied_ms bigint NOT NULL)",
                    "schema_version table");
    if (!st)
        st = exec_stmt(c, P_VERSION_GET, NULL, &r, "schema version");
    if (!st) {
        *version = PQntuples(r) == 1 ? (int)col_int(r, 0, 0) : 0;
        PQclear(r);
    }
    if (!st && *version > SCHEMA_VERSION)
        st = err_set(ECERT_E_INTERNAL,
                     "store: database schema version %d is newer than this build (%d)", *version,
                     SCHEMA_VERSION);
    if (!st && *version == SCHEMA_VERSION) {
        *done = true;
        return simple(c, "COMMIT", "commit");
    }
    if (!st) {
        st = simple(c, migrations[*version], "migration");
        if (st)
            err_wrap(st, *version == 0 ? "creating the schema" : "migrating");
    }
    if (!st) {
        struct params p = {0};
        p_int(&p, *version + 1);
        p_int(&p, now_ms());
        st = exec_stmt(c, P_VERSION_ADD, &p, NULL, "schema version");
    }
    if (!st)
        st = simple(c, "COMMIT", "commit");
    if (st)
        return st; /* the caller rolls back */
    (*version)++;
    return ECERT_OK;
}

static ecert_status migrate(struct pconn *c, int *version)
{
    bool done = false;
    ecert_status st = ECERT_OK;
    while (!st && !done) {
        st = migrate_step(c, version, &done);
        if (st && c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
            char detail[512];
            snprintf(detail, sizeof detail, "%s", err_detail());
            (void)simple(c, "ROLLBACK", "rollback");
            err_set(ECERT_OK, "%s", detail);
        }
    }
    return st;
}

static void pg_close(struct store *base);

static ecert_status pg_open(const struct store_config *cfg, struct store **out)
{
    if (!cfg || !out)
        return err_set(ECERT_E_ARG, "store_open: NULL argument");
    *out = NULL;
    if (!cfg->dsn || !cfg->dsn[0])
        return err_set(ECERT_E_ARG, "store: the postgres driver needs a dsn ([store] dsn)");
    if (strlen(cfg->dsn) > 4096)
        return err_set(ECERT_E_ARG, "store: dsn longer than 4096 bytes");
    unsigned n = cfg->pool_size ? cfg->pool_size : POOL_DEFAULT;
    if (n > POOL_MAX)
        return err_set(ECERT_E_ARG, "store: pool size %u exceeds %d", n, POOL_MAX);
    if (!PQisthreadsafe())
        return err_set(ECERT_E_INTERNAL, "store: libpq was built without thread support");

    struct pg_store *s = calloc(1, sizeof *s);
    struct pconn *conns = calloc(n, sizeof *conns);
    char *dsn = strdup(cfg->dsn);
    if (!s || !conns || !dsn) {
        free(s);
        free(conns);
        free(dsn);
        return err_set(ECERT_E_NOMEM, "out of memory");
    }
    s->base.be = &store_backend_postgres;
    s->dsn = dsn;
    s->conns = conns;
    s->nconns = n;
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    pthread_mutex_init(&s->rec_mu, NULL);
    pthread_cond_init(&s->rec_cv, NULL);
    s->rec_tail = &s->rec_head;
    atomic_init(&s->nonce_calls, 0);
    atomic_init(&s->rate_calls, 0);
    atomic_init(&s->revoke_calls, 0);
    atomic_init(&s->inval_calls, 0);
    atomic_init(&s->down_until, 0);

    /* The first connection migrates; the others connect on first use. */
    ecert_status st = conn_connect(s, &conns[0]);
    if (!st)
        st = migrate(&conns[0], &s->schema_version);
    if (st) {
        pg_close(&s->base);
        return st;
    }
    for (unsigned i = 0; i < n; i++) {
        conns[i].next_free = s->free_list;
        s->free_list = &conns[i];
    }
    *out = &s->base;
    return ECERT_OK;
}

static void pg_close(struct store *base)
{
    struct pg_store *s = pgs(base);
    if (!s)
        return;
    for (unsigned i = 0; i < s->nconns; i++)
        conn_drop(&s->conns[i]);
    free(s->conns);
    free(s->dsn);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    pthread_mutex_destroy(&s->rec_mu);
    pthread_cond_destroy(&s->rec_cv);
    free(s);
}

static int pg_schema_version(struct store *base)
{
    struct pg_store *s = pgs(base);
    return s ? s->schema_version : 0;
}

/* ---- catalog ------------------------------------------------------------- */

static ecert_status pg_catalog_put(struct store *base, const struct catalog_entry *e)
{
    struct pg_store *s = pgs(base);
    if (!e || !e->type_code || !e->type_code[0] || !e->name)
        return err_set(ECERT_E_ARG, "store_catalog_put: type_code and name are required");
    struct params p = {0};
    p_text(&p, e->type_code);
    p_text(&p, e->name);
    p_bool(&p, e->yrd_shared);
    return run1(s, P_CATALOG_PUT, &p, true, NULL, "catalog put");
}

static ecert_status pg_catalog_get(struct store *base, struct arena *a, const char *type_code,
                                   struct catalog_entry *out)
{
    struct pg_store *s = pgs(base);
    if (!a || !type_code || !out)
        return err_set(ECERT_E_ARG, "store_catalog_get: NULL argument");
    struct params p = {0};
    p_text(&p, type_code);
    PGresult *r = NULL;
    ecert_status st = run1(s, P_CATALOG_GET, &p, true, &r, "catalog get");
    if (st)
        return st;
    if (PQntuples(r) == 0) {
        st = err_set(ECERT_E_NOT_FOUND, "catalog: no such certificate type");
    } else {
        out->type_code = arena_strdup(a, type_code);
        out->name = col_text(r, 0, 0, a);
        out->yrd_shared = col_bool(r, 0, 1);
        if (!out->type_code || !out->name)
            st = arena_err();
    }
    PQclear(r);
    return st;
}

static ecert_status pg_catalog_find_name(struct store *base, struct arena *a, const char *name,
                                         const char **type_code)
{
    struct pg_store *s = pgs(base);
    if (!a || !name || !type_code)
        return err_set(ECERT_E_ARG, "store_catalog_find_name: NULL argument");
    struct params p = {0};
    p_text(&p, name);
    PGresult *r = NULL;
    ecert_status st = run1(s, P_CATALOG_FIND, &p, true, &r, "catalog find");
    if (st)
        return st;
    if (PQntuples(r) == 0)
        st = err_set(ECERT_E_NOT_FOUND, "catalog: no certificate type of that name");
    else if (!(*type_code = col_text(r, 0, 0, a)))
        st = arena_err();
    PQclear(r);
    return st;
}

/* ---- scenes -------------------------------------------------------------- */

/* A list of strings as one JSON array text (bound as one jsonb parameter). */
static ecert_status json_list(const char *const *items, size_t n, const char *what, char **out)
{
    json_t *arr = json_array();
    if (!arr)
        return err_set(ECERT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!items[i] || json_array_append_new(arr, json_string(items[i])) != 0) {
            json_decref(arr);
            return err_set(ECERT_E_ARG, "%s: item %zu is not a UTF-8 string", what, i);
        }
    }
    *out = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return *out ? ECERT_OK : err_set(ECERT_E_NOMEM, "out of memory");
}

struct scene_put_op {
    const struct scene *sc;
    const char *types;
};

static ecert_status scene_put_tx(struct pconn *c, void *arg)
{
    struct scene_put_op *op = arg;
    struct params p = {0};
    ecert_status st = simple(c, "BEGIN", "begin");
    if (!st) {
        p_text(&p, op->sc->item_code);
        p_text(&p, op->sc->item_name);
        st = exec_stmt(c, P_SCENE_PUT, &p, NULL, "scene put");
    }
    if (!st) {
        p.n = 0;
        p_text(&p, op->sc->item_code);
        st = exec_stmt(c, P_SCENE_CLEAR_TYPES, &p, NULL, "scene put");
    }
    if (!st) {
        p.n = 0;
        p_text(&p, op->sc->item_code);
        p_text(&p, op->types);
        st = exec_stmt(c, P_SCENE_ADD_TYPES, &p, NULL, "scene put");
    }
    if (!st)
        st = simple(c, "COMMIT", "commit");
    return st;
}

static ecert_status pg_scene_put(struct store *base, const struct scene *sc)
{
    struct pg_store *s = pgs(base);
    if (!sc || !sc->item_code || !sc->item_code[0] || !sc->item_name ||
        (sc->ntypes && !sc->types))
        return err_set(ECERT_E_ARG, "store_scene_put: item_code and item_name are required");
    for (size_t i = 0; i < sc->ntypes; i++)
        if (!sc->types[i] || !sc->types[i][0])
            return err_set(ECERT_E_ARG, "store_scene_put: empty type code");
    char *types = NULL;
    ecert_status st = json_list(sc->types, sc->ntypes, "scene put", &types);
    if (st)
        return st;
    struct scene_put_op op = {sc, types};
    st = run_op(s, scene_put_tx, &op, true);
    free(types);
    return st;
}

static ecert_status pg_scene_retain(struct store *base, const char *const *codes, size_t n)
{
    struct pg_store *s = pgs(base);
    if (!codes && n)
        return err_set(ECERT_E_ARG, "store_scene_retain: NULL argument");
    char *list = NULL;
    ecert_status st = json_list(codes, n, "scene retain", &list);
    if (st)
        return st;
    struct params p = {0};
    p_text(&p, list);
    st = run1(s, P_SCENE_RETAIN, &p, true, NULL, "scene retain");
    free(list);
    return st;
}

static ecert_status pg_scene_get(struct store *base, struct arena *a, const char *item_code,
                                 struct scene *out)
{
    struct pg_store *s = pgs(base);
    if (!a || !item_code || !out)
        return err_set(ECERT_E_ARG, "store_scene_get: NULL argument");
    memset(out, 0, sizeof *out);
    struct params p = {0};
    p_text(&p, item_code);
    PGresult *r = NULL;
    ecert_status st = run1(s, P_SCENE_GET, &p, true, &r, "scene get");
    if (st)
        return st;
    int rows = PQntuples(r);
    if (rows == 0) {
        PQclear(r);
        return err_set(ECERT_E_NOT_FOUND, "scene: itemCode is not a published scene");
    }
    out->item_code = arena_strdup(a, item_code);
    out->item_name = col_text(r, 0, 0, a);
    if (!out->item_code || !out->item_name)
        st = arena_err();
    const char **types = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; !st && i < rows; i++) {
        if (PQgetisnull(r, i, 1))
            continue; /* the LEFT JOIN's row of a scene without types */
        st = arena_grow(a, (void **)&types, &cap, n + 1, sizeof *types);
        if (!st && !(types[n++] = col_text(r, i, 1, a)))
            st = arena_err();
    }
    PQclear(r);
    out->types = types;
    out->ntypes = n;
    return st;
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

/* The same checks as the SQLite backend: what the store indexes or
 * enumerates; the importer validates identifiers and dates. */
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
    if (c->file_len > INT32_MAX)
        return err_set(ECERT_E_TOO_LONG, "certificate: file larger than 2 GiB");
    return ECERT_OK;
}

/* The 18 text columns of a certificate, in CERT_COLS order. */
static void cert_texts(const struct cert *ce, const char *v[CERT_NCOLS])
{
    const char *t[CERT_NCOLS] = {
        ce->id,          ce->type,        ce->type_code,   ce->number,
        ce->holder,      ce->holder_code, ce->holder_type_code, ce->issuer,
        ce->issuer_code, ce->issued_date, ce->valid_from,  ce->valid_to,
        ce->status,      ce->area_code,   ce->surface_json ? ce->surface_json : "{}",
        ce->file_format, ce->file_name,   ce->file_sm3,
    };
    for (int i = 0; i < CERT_NCOLS; i++)
        v[i] = t[i] ? t[i] : "";
}

static ecert_status cert_write(struct pconn *c, const struct cert *ce, int64_t updated)
{
    const char *v[CERT_NCOLS];
    cert_texts(ce, v);
    struct params p = {0};
    for (int i = 0; i < CERT_NCOLS; i++)
        p_text(&p, v[i]);
    p_int(&p, updated);
    p_blob(&p, ce->file, ce->file_len);
    return exec_stmt(c, P_CERT_PUT, &p, NULL, "certificate put");
}

struct cert_put_op {
    const struct cert *c;
};

static ecert_status cert_put_1(struct pconn *c, void *arg)
{
    struct cert_put_op *op = arg;
    return cert_write(c, op->c, now_ms());
}

static ecert_status pg_cert_put(struct store *base, const struct cert *c)
{
    struct pg_store *s = pgs(base);
    if (!c)
        return err_set(ECERT_E_ARG, "store_cert_put: NULL argument");
    ecert_status st = cert_check(c);
    if (st)
        return st;
    struct cert_put_op op = {c};
    return run_op(s, cert_put_1, &op, true);
}

/* ---- binary COPY --------------------------------------------------------- */

static void be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Hands bytes to libpq's COPY buffer; in non-blocking mode it may refuse
 * (0) until the socket drains. */
static ecert_status copy_put(struct pconn *c, const void *data, size_t len, int64_t deadline)
{
    while (len > 0) {
        int chunk = len > (1u << 20) ? (1 << 20) : (int)len;
        int rc = PQputCopyData(c->pg, data, chunk);
        if (rc < 0)
            return lost(c, "copy", PQerrorMessage(c->pg));
        if (rc == 0) {
            ecert_status st = flush_out(c, deadline, "copy");
            if (st)
                return st;
            short rev = 0;
            if (!sock_wait(c, POLLOUT, deadline, &rev))
                return lost(c, "copy", "no answer from the database server in time");
            continue;
        }
        data = (const uint8_t *)data + chunk;
        len -= (size_t)chunk;
    }
    return ECERT_OK;
}

/* One row of the binary COPY format: field count, then each field as a
 * 32-bit length (-1: NULL) and its bytes. Text in binary format is its UTF-8
 * bytes; ord is an int4. */
static ecert_status copy_row(struct pconn *c, int ord, const struct cert *ce, int64_t deadline)
{
    const char *v[CERT_NCOLS];
    cert_texts(ce, v);
    uint8_t head[2 + 4 + 4], len[4];
    be16(head, 1 + CERT_NCOLS + 1);
    be32(head + 2, 4);
    be32(head + 6, (uint32_t)ord);
    ecert_status st = copy_put(c, head, sizeof head, deadline);
    for (int i = 0; !st && i < CERT_NCOLS; i++) {
        size_t n = strlen(v[i]);
        be32(len, (uint32_t)n);
        st = copy_put(c, len, 4, deadline);
        if (!st)
            st = copy_put(c, v[i], n, deadline);
    }
    if (!st) {
        be32(len, ce->file ? (uint32_t)ce->file_len : UINT32_MAX);
        st = copy_put(c, len, 4, deadline);
    }
    if (!st && ce->file)
        st = copy_put(c, ce->file, ce->file_len, deadline);
    return st;
}

/* COPYs the batch into certs_in and merges it into certs (inside the
 * caller's transaction). */
static ecert_status batch_copy(struct pconn *c, const struct cert *certs, size_t n, int64_t t)
{
    ecert_status st;
    int64_t deadline = mono_ms() + EXCHANGE_DEADLINE_MS;
    PGresult *r = NULL;
    if (!PQsendQuery(c->pg, COPY_SQL))
        return result_err(c, NULL, "copy");
    st = flush_out(c, deadline, "copy");
    if (!st)
        st = collect(c, deadline, "copy", &r);
    if (!st && (!r || PQresultStatus(r) != PGRES_COPY_IN))
        st = err_set(ECERT_E_INTERNAL, "store: copy: the server did not start the copy");
    PQclear(r);
    r = NULL;
    if (st)
        return st;
    static const uint8_t header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
    st = copy_put(c, header, sizeof header, deadline);
    for (size_t i = 0; !st && i < n; i++)
        st = copy_row(c, (int)i, &certs[i], deadline);
    if (!st) {
        uint8_t trailer[2];
        be16(trailer, 0xffff);
        st = copy_put(c, trailer, sizeof trailer, deadline);
    }
    if (st)
        return st; /* the connection is dropped: the server discards the copy */
    if (PQputCopyEnd(c->pg, NULL) < 0)
        return lost(c, "copy", PQerrorMessage(c->pg));
    st = flush_out(c, deadline, "copy");
    if (!st)
        st = collect(c, deadline, "copy", &r);
    PQclear(r);
    if (st)
        return st;
    struct params p = {0};
    p_int(&p, t);
    return exec_stmt(c, P_CERT_MERGE, &p, NULL, "certificate batch");
}

struct batch_op {
    const struct cert *certs;
    size_t n;
    size_t failed;
};

/* The batch in one transaction. Large batches go by COPY; when the merge is
 * refused (a row the database will not take), the batch is replayed row by
 * row in a new transaction to name the row for *failed (and rolled back).
 * The staging table is created outside the transaction, so that a rolled
 * back batch does not take it along. */
static ecert_status batch_tx(struct pconn *c, void *arg)
{
    struct batch_op *op = arg;
    int64_t t = now_ms();
    op->failed = op->n;
    bool by_copy = op->n >= COPY_MIN_BATCH;
    ecert_status st = ECERT_OK;
    if (by_copy && !c->staged) {
        st = simple(c, STAGE_SQL, "staging table");
        c->staged = st == ECERT_OK;
    }
    if (!st)
        st = simple(c, "BEGIN", "begin");
    if (!st && by_copy)
        st = batch_copy(c, op->certs, op->n, t);
    if (by_copy && st && !c->lost) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", err_detail());
        ecert_status first = st;
        st = simple(c, "ROLLBACK", "rollback");
        if (!st)
            st = simple(c, "BEGIN", "begin");
        for (size_t i = 0; !st && i < op->n; i++)
            if ((st = cert_write(c, &op->certs[i], t)))
                op->failed = i;
        if (st)
            return st; /* run_op rolls back */
        /* Every row went in one by one: keep them, but say the merge failed
         * if the commit does too. */
        st = simple(c, "COMMIT", "commit");
        if (st) {
            err_set(first, "%s", detail);
            return first;
        }
        return ECERT_OK;
    }
    for (size_t i = 0; !st && !by_copy && i < op->n; i++)
        if ((st = cert_write(c, &op->certs[i], t)))
            op->failed = i;
    if (!st)
        st = simple(c, "COMMIT", "commit");
    return st;
}

static ecert_status pg_cert_put_batch(struct store *base, const struct cert *certs, size_t n,
                                      size_t *failed)
{
    struct pg_store *s = pgs(base);
    if ((n && !certs) || !failed)
        return err_set(ECERT_E_ARG, "store_cert_put_batch: NULL argument");
    *failed = n;
    if (n > INT32_MAX)
        return err_set(ECERT_E_TOO_LONG, "store_cert_put_batch: too many certificates");
    for (size_t i = 0; i < n; i++) {
        ecert_status st = cert_check(&certs[i]);
        if (st) {
            *failed = i;
            return st;
        }
    }
    if (n == 0)
        return ECERT_OK;
    struct batch_op op = {certs, n, n};
    /* Upserts: replaying a batch that did not commit is harmless. */
    ecert_status st = run_op(s, batch_tx, &op, true);
    *failed = st ? op.failed : n;
    return st;
}

/* Columns 0..17 in CERT_COLS order; with_file reads column 18 too. */
static ecert_status cert_read_row(const PGresult *r, int row, struct arena *a, bool with_file,
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
        if (!(*f[i] = col_text(r, row, i, a)))
            return arena_err();
    if (with_file && !PQgetisnull(r, row, CERT_NCOLS)) {
        size_t n = (size_t)PQgetlength(r, row, CERT_NCOLS);
        uint8_t *copy = arena_alloc(a, n ? n : 1);
        if (!copy)
            return arena_err();
        if (n)
            memcpy(copy, PQgetvalue(r, row, CERT_NCOLS), n);
        out->file = copy;
        out->file_len = n;
    }
    return ECERT_OK;
}

static ecert_status pg_cert_get(struct store *base, struct arena *a, const char *id,
                                bool with_file, struct cert *out)
{
    struct pg_store *s = pgs(base);
    if (!a || !id || !out)
        return err_set(ECERT_E_ARG, "store_cert_get: NULL argument");
    struct params p = {0};
    p_text(&p, id);
    PGresult *r = NULL;
    ecert_status st = run1(s, with_file ? P_CERT_GET_FILE : P_CERT_GET, &p, true, &r,
                           "certificate get");
    if (st)
        return st;
    if (PQntuples(r) == 0)
        st = err_set(ECERT_E_NOT_FOUND, "no such certificate");
    else
        st = cert_read_row(r, 0, a, with_file, out);
    PQclear(r);
    return st;
}

static ecert_status pg_cert_search(struct store *base, struct arena *a,
                                   const struct cert_query *q, struct cert **out, size_t *n)
{
    struct pg_store *s = pgs(base);
    if (!a || !q || !out || !n || !q->holder_code || !q->holder_code[0])
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
    ecert_status st = ECERT_OK;
    if (q->type_codes)
        st = json_list(q->type_codes, q->ntype_codes, "certificate search", &codes);
    if (st)
        return st;
    struct params p = {0};
    p_text(&p, q->holder_code);
    p_opt(&p, q->type);
    p_opt(&p, q->number);
    p_opt(&p, codes);
    p_int(&p, (int64_t)limit);
    PGresult *r = NULL;
    st = run1(s, P_CERT_SEARCH, &p, true, &r, "certificate search");
    free(codes);
    if (st)
        return st;
    int rows = PQntuples(r);
    struct cert *list = rows ? arena_alloc(a, (size_t)rows * sizeof *list) : NULL;
    if (rows && !list)
        st = arena_err();
    for (int i = 0; !st && i < rows; i++)
        st = cert_read_row(r, i, a, false, &list[i]);
    PQclear(r);
    if (!st) {
        *out = list;
        *n = (size_t)rows;
    }
    return st;
}

static ecert_status pg_cert_count(struct store *base, uint64_t *n)
{
    struct pg_store *s = pgs(base);
    if (!n)
        return err_set(ECERT_E_ARG, "store_cert_count: NULL argument");
    PGresult *r = NULL;
    ecert_status st = run1(s, P_CERT_COUNT, NULL, true, &r, "certificate count");
    if (st)
        return st;
    *n = PQntuples(r) == 1 ? (uint64_t)col_int(r, 0, 0) : 0;
    PQclear(r);
    return ECERT_OK;
}

/* ---- apps ---------------------------------------------------------------- */

static ecert_status pg_app_put(struct store *base, const struct app *app)
{
    struct pg_store *s = pgs(base);
    if (!app || !app->app_id || !app->app_id[0])
        return err_set(ECERT_E_ARG, "store_app_put: app_id is required");
    if (app->status < APP_ALLOCATED || app->status > APP_DISABLED)
        return err_set(ECERT_E_MALFORMED, "app: unknown status %d", app->status);
    struct params p = {0};
    p_text(&p, app->app_id);
    p_text(&p, app->secret_hash);
    p_text(&p, app->corp_name);
    p_text(&p, app->corp_code);
    p_text(&p, app->public_key);
    p_text(&p, app->certificate);
    p_text(&p, app->province);
    p_int(&p, app->status);
    p_int(&p, app->updated_ms ? app->updated_ms : now_ms());
    return run1(s, P_APP_PUT, &p, true, NULL, "app put");
}

static ecert_status pg_app_get(struct store *base, struct arena *a, const char *app_id,
                               struct app *out)
{
    struct pg_store *s = pgs(base);
    if (!a || !app_id || !out)
        return err_set(ECERT_E_ARG, "store_app_get: NULL argument");
    struct params p = {0};
    p_text(&p, app_id);
    PGresult *r = NULL;
    ecert_status st = run1(s, P_APP_GET, &p, true, &r, "app get");
    if (st)
        return st;
    if (PQntuples(r) == 0) {
        st = err_set(ECERT_E_NOT_FOUND, "app: no such app");
    } else {
        const char **f[] = {&out->app_id,    &out->secret_hash, &out->corp_name,
                            &out->corp_code, &out->public_key,  &out->certificate,
                            &out->province};
        memset(out, 0, sizeof *out);
        for (int i = 0; !st && i < (int)(sizeof f / sizeof f[0]); i++)
            if (!(*f[i] = col_text(r, 0, i, a)))
                st = arena_err();
        out->status = (int)col_int(r, 0, 7);
        out->updated_ms = col_int(r, 0, 8);
    }
    PQclear(r);
    return st;
}

/* ---- replay window ------------------------------------------------------- */

/* Not retried after a broken connection: had the first attempt reached the
 * server, a second would see its own nonce and call it a replay. */
static ecert_status pg_nonce_use(struct store *base, const char *app_id, const char *nonce,
                                 int64_t now, int64_t window_ms)
{
    struct pg_store *s = pgs(base);
    if (!app_id || !nonce || !nonce[0] || window_ms <= 0)
        return err_set(ECERT_E_ARG, "store_nonce_use: app_id, nonce and a window are required");
    int64_t cutoff = now - window_ms;
    bool purge = atomic_fetch_add(&s->nonce_calls, 1) % NONCE_PURGE_EVERY == 0;
    struct params p = {0};
    p_text(&p, app_id);
    p_text(&p, nonce);
    p_int(&p, now);
    p_int(&p, cutoff);
    PGresult *r = NULL;
    ecert_status st = run1(s, P_NONCE_USE, &p, false, &r, "nonce");
    if (!st) {
        if (changed(r) == 0)
            st = err_set(ECERT_E_REPLAY, "nonce already used within the window");
        PQclear(r);
    }
    /* Purging is housekeeping: its failure must not fail the request. */
    if (purge && (st == ECERT_OK || st == ECERT_E_REPLAY)) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", err_detail());
        struct params q = {0};
        p_int(&q, cutoff);
        (void)run1(s, P_NONCE_PURGE, &q, false, NULL, "nonce purge");
        err_set(ECERT_OK, "%s", detail);
    }
    return st;
}

/* ---- rate-limit leases ---------------------------------------------------- */

/* Retried after a broken connection: had the first attempt committed, the
 * retry takes a second lease, which strands budget (fewer calls accepted)
 * but never lets more through. */
static ecert_status pg_rate_take(struct store *base, const char *key, int64_t now,
                                 int64_t window_ms, uint32_t limit, uint32_t want,
                                 uint32_t *granted, int64_t *reset_ms, bool *spent)
{
    struct pg_store *s = pgs(base);
    if (!granted || !reset_ms)
        return err_set(ECERT_E_ARG, "store_rate_take: NULL argument");
    *granted = 0;
    *reset_ms = 0;
    if (spent)
        *spent = false;
    if (!key || !key[0] || strlen(key) > STORE_RATE_KEY_MAX || window_ms <= 0 || limit == 0 ||
        want == 0)
        return err_set(ECERT_E_ARG, "store_rate_take: key, window, limit and want are required");
    bool purge = atomic_fetch_add(&s->rate_calls, 1) % RATE_PURGE_EVERY == RATE_PURGE_EVERY - 1;
    struct params p = {0};
    p_text(&p, key);
    p_int(&p, now);
    p_int(&p, window_ms);
    p_int(&p, want);
    p_int(&p, limit);
    PGresult *r = NULL;
    ecert_status st = run1(s, P_RATE_TAKE, &p, true, &r, "rate take");
    if (st)
        return st;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return err_set(ECERT_E_INTERNAL, "store: rate take: no row returned");
    }
    int64_t g = col_int(r, 0, 0);
    *granted = g < 0 ? 0 : g > (int64_t)want ? want : (uint32_t)g;
    *reset_ms = col_int(r, 0, 1);
    if (spent)
        *spent = col_int(r, 0, 2) >= (int64_t)limit;
    PQclear(r);
    if (purge) {
        struct params q = {0};
        p_int(&q, now);
        (void)run1(s, P_RATE_PURGE, &q, false, NULL, "rate purge");
        err_clear();
    }
    return ECERT_OK;
}

/* ---- token revocation ---------------------------------------------------- */

static ecert_status pg_token_revoke(struct store *base, const char *jti, int64_t exp_s)
{
    struct pg_store *s = pgs(base);
    if (!jti || !jti[0])
        return err_set(ECERT_E_ARG, "store_token_revoke: jti is required");
    bool purge = atomic_fetch_add(&s->revoke_calls, 1) % REVOKE_PURGE_EVERY ==
                 REVOKE_PURGE_EVERY - 1;
    struct params p = {0};
    p_text(&p, jti);
    p_int(&p, exp_s);
    ecert_status st = run1(s, P_TOKEN_REVOKE, &p, true, NULL, "token revoke");
    /* A revocation matters only while its token could still be presented. */
    if (!st && purge) {
        struct params q = {0};
        p_int(&q, (int64_t)time(NULL) - REVOKE_KEEP_S);
        (void)run1(s, P_TOKEN_PURGE, &q, false, NULL, "token purge");
        err_clear();
    }
    return st;
}

static ecert_status pg_token_is_revoked(struct store *base, const char *jti, bool *revoked)
{
    struct pg_store *s = pgs(base);
    if (!jti || !revoked)
        return err_set(ECERT_E_ARG, "store_token_is_revoked: NULL argument");
    struct params p = {0};
    p_text(&p, jti);
    PGresult *r = NULL;
    ecert_status st = run1(s, P_TOKEN_GET, &p, true, &r, "token check");
    if (st)
        return st;
    *revoked = PQntuples(r) > 0;
    PQclear(r);
    return ECERT_OK;
}

static ecert_status pg_token_revoked_list(struct store *base, struct arena *a, int64_t now_s,
                                          const char ***jtis, size_t *n)
{
    struct pg_store *s = pgs(base);
    if (!a || !jtis || !n)
        return err_set(ECERT_E_ARG, "store_token_revoked_list: NULL argument");
    *jtis = NULL;
    *n = 0;
    struct params p = {0};
    p_int(&p, now_s);
    PGresult *r = NULL;
    ecert_status st = run1(s, P_TOKEN_LIST, &p, true, &r, "token list");
    if (st)
        return st;
    int rows = PQntuples(r);
    const char **list = rows ? arena_alloc(a, (size_t)rows * sizeof *list) : NULL;
    if (rows && !list)
        st = arena_err();
    for (int i = 0; !st && i < rows; i++)
        if (!(list[i] = col_text(r, i, 0, a)))
            st = arena_err();
    PQclear(r);
    if (!st) {
        *jtis = list;
        *n = (size_t)rows;
    }
    return st;
}

/* ---- usage records ------------------------------------------------------- */

static const char zero_hash[USAGE_RECORD_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* r->prev / r->hash point here after an append (see store.h). */
static _Thread_local char tl_prev[USAGE_RECORD_HASH_HEX + 1];
static _Thread_local char tl_hash[USAGE_RECORD_HASH_HEX + 1];

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

static ecert_status record_insert(struct pconn *c, const struct usage_record *r,
                                  const char *prev, const char *hash)
{
    struct params p = {0};
    p_int(&p, r->seq);
    p_int(&p, r->time_ms);
    p_text(&p, r->cert_id);
    p_text(&p, r->holder_code);
    p_text(&p, r->interface);
    p_text(&p, r->app_id);
    p_text(&p, r->requester_node);
    p_text(&p, r->use_for);
    p_text(&p, r->item_code);
    p_text(&p, r->item_name);
    p_text(&p, r->item_org);
    p_text(&p, r->operator_name);
    p_text(&p, r->biz_num);
    p_int(&p, r->result);
    p_text(&p, prev);
    p_text(&p, hash);
    return exec_stmt(c, P_RECORD_ADD, &p, NULL, "usage record");
}

/* Appends a queue of records in one transaction. The row lock on
 * usage_chain_lock makes every appender, in this process or another, wait
 * for the one before it to commit; read-committed then shows the next one the
 * committed last record (each statement takes a new snapshot). Commit is
 * synchronous whatever the server's default: the record is on disk before
 * the call it records is answered. *sent_commit: COMMIT went out, so a lost
 * connection leaves the outcome unknown. */
static ecert_status record_batch(struct pconn *c, struct append_req *batch, bool *sent_commit)
{
    char prev[USAGE_RECORD_HASH_HEX + 1];
    PGresult *r = NULL;
    *sent_commit = false;
    ecert_status st = simple(c, "BEGIN; SET LOCAL synchronous_commit = on", "begin");
    if (!st)
        st = exec_stmt(c, P_RECORD_LOCK, NULL, NULL, "usage record lock");
    if (!st)
        st = exec_stmt(c, P_RECORD_LAST, NULL, &r, "usage record");
    int64_t last = 0;
    if (!st) {
        if (PQntuples(r) == 0) {
            memcpy(prev, zero_hash, sizeof zero_hash);
        } else if (PQgetlength(r, 0, 1) != USAGE_RECORD_HASH_HEX) {
            st = err_set(ECERT_E_SIGNATURE, "usage records: the last record's hash is damaged");
        } else {
            last = col_int(r, 0, 0);
            memcpy(prev, PQgetvalue(r, 0, 1), USAGE_RECORD_HASH_HEX);
            prev[USAGE_RECORD_HASH_HEX] = 0;
        }
        PQclear(r);
    }
    for (struct append_req *q = batch; !st && q; q = q->next) {
        q->rec.seq = ++last;
        memcpy(q->prev, prev, sizeof prev);
        st = usage_record_hash(prev, &q->rec, q->hash);
        if (!st)
            st = record_insert(c, &q->rec, q->prev, q->hash);
        memcpy(prev, q->hash, sizeof prev);
    }
    if (!st) {
        *sent_commit = true;
        st = simple(c, "COMMIT", "commit");
    }
    return st;
}

/* After a COMMIT whose answer was lost: the batch's last record is at its
 * seq with its hash exactly when the commit happened. */
static ecert_status record_committed(struct pconn *c, const struct append_req *last,
                                     bool *yes)
{
    struct params p = {0};
    p_int(&p, last->rec.seq);
    PGresult *r = NULL;
    ecert_status st = exec_stmt(c, P_RECORD_AT, &p, &r, "usage record check");
    if (st)
        return st;
    *yes = PQntuples(r) == 1 && PQgetlength(r, 0, 0) == USAGE_RECORD_HASH_HEX &&
           memcmp(PQgetvalue(r, 0, 0), last->hash, USAGE_RECORD_HASH_HEX) == 0;
    PQclear(r);
    return ECERT_OK;
}

/* Writes a batch, once more on a fresh connection when the connection broke:
 * before COMMIT nothing was kept, so the batch is simply redone; after it,
 * the records are looked for first, so none is written twice. */
static void record_commit_batch(struct pg_store *s, struct append_req *batch)
{
    const struct append_req *tail = batch;
    while (tail->next)
        tail = tail->next;
    struct pconn *c = conn_take(s);
    ecert_status st = ECERT_OK;
    for (int attempt = 0;; attempt++) {
        bool sent_commit = false;
        st = conn_ready(s, c);
        if (!st)
            st = record_batch(c, batch, &sent_commit);
        if (st && c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
            char detail[512];
            snprintf(detail, sizeof detail, "%s", err_detail());
            if (simple(c, "ROLLBACK", "rollback") != ECERT_OK)
                conn_drop(c);
            err_set(ECERT_OK, "%s", detail);
        }
        if (!st || !c->lost || attempt > 0)
            break;
        if (sent_commit) {
            char detail[512];
            snprintf(detail, sizeof detail, "%s", err_detail());
            bool yes = false;
            if (conn_ready(s, c) == ECERT_OK && record_committed(c, tail, &yes) == ECERT_OK) {
                if (yes) {
                    st = ECERT_OK;
                    break;
                }
                continue; /* not committed: redo it */
            }
            st = err_set(ECERT_E_INTERNAL, "%s (the records' outcome is unknown)", detail);
            break;
        }
    }
    conn_give(s, c);
    for (struct append_req *q = batch; q; q = q->next) {
        q->st = st;
        if (st) {
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

/* Group commit, as in the SQLite backend: callers queue their records;
 * whichever finds no commit in progress becomes the leader, takes the whole
 * queue and appends it in one transaction, while the others wait for their
 * record's outcome. Each caller returns only once its own record is
 * committed, and the chain order is the queue order. */
static ecert_status pg_record_append(struct store *base, struct usage_record *r)
{
    struct pg_store *s = pgs(base);
    if (!r)
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

/* A text column: copied into the arena, or (no arena) the result's own
 * NUL-terminated bytes, valid until PQclear. */
static const char *col_str(const PGresult *r, int row, int col, struct arena *a)
{
    if (a)
        return col_text(r, row, col, a);
    return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

/* One row in RECORD_COLS order (strings as col_str). */
static ecert_status record_read_row(const PGresult *res, int row, struct arena *a,
                                    struct usage_record *r)
{
    const char **f[] = {&r->cert_id,  &r->holder_code, &r->interface,     &r->app_id,
                        &r->requester_node, &r->use_for, &r->item_code, &r->item_name,
                        &r->item_org, &r->operator_name, &r->biz_num};
    memset(r, 0, sizeof *r);
    r->seq = col_int(res, row, 0);
    r->time_ms = col_int(res, row, 1);
    for (int i = 0; i < (int)(sizeof f / sizeof f[0]); i++)
        if (!(*f[i] = col_str(res, row, 2 + i, a)))
            return arena_err();
    r->result = (int)col_int(res, row, 13);
    r->prev = col_str(res, row, 14, a);
    r->hash = col_str(res, row, 15, a);
    if (!r->prev || !r->hash)
        return arena_err();
    return ECERT_OK;
}

static ecert_status pg_record_list(struct store *base, struct arena *a, const char *holder_code,
                                   int64_t from_ms, int64_t to_ms, size_t limit,
                                   struct usage_record **out, size_t *n)
{
    struct pg_store *s = pgs(base);
    if (!a || !holder_code || !out || !n)
        return err_set(ECERT_E_ARG, "store_record_list: NULL argument");
    *out = NULL;
    *n = 0;
    if (limit == 0)
        limit = SEARCH_LIMIT_DEFAULT;
    if (limit > SEARCH_LIMIT_MAX)
        limit = SEARCH_LIMIT_MAX;
    struct params p = {0};
    p_text(&p, holder_code);
    p_int(&p, from_ms);
    p_int(&p, to_ms > 0 ? to_ms : INT64_MAX);
    p_int(&p, (int64_t)limit);
    PGresult *r = NULL;
    ecert_status st = run1(s, P_RECORD_LIST, &p, true, &r, "usage record list");
    if (st)
        return st;
    int rows = PQntuples(r);
    struct usage_record *list = rows ? arena_alloc(a, (size_t)rows * sizeof *list) : NULL;
    if (rows && !list)
        st = arena_err();
    for (int i = 0; !st && i < rows; i++)
        st = record_read_row(r, i, a, &list[i]);
    PQclear(r);
    if (!st) {
        *out = list;
        *n = (size_t)rows;
    }
    return st;
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

struct verify_op {
    uint64_t count;
    int64_t bad_seq;
};

/* One repeatable-read transaction (a consistent snapshot while appends go
 * on), read in pages by seq (an index range each): memory stays bounded by a
 * page whatever the chain's length; rows are checked in the result itself. */
static ecert_status verify_tx(struct pconn *c, void *arg)
{
    struct verify_op *op = arg;
    op->count = 0;
    op->bad_seq = 0;
    ecert_status st =
        simple(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin");
    char prev[USAGE_RECORD_HASH_HEX + 1];
    memcpy(prev, zero_hash, sizeof zero_hash);
    int64_t want = 1, after = 0;
    while (!st) {
        struct params p = {0};
        p_int(&p, after);
        p_int(&p, VERIFY_PAGE);
        PGresult *r = NULL;
        st = exec_stmt(c, P_RECORD_PAGE, &p, &r, "usage record verify");
        if (st)
            break;
        int rows = PQntuples(r);
        for (int i = 0; !st && i < rows; i++) {
            struct usage_record rec;
            st = record_read_row(r, i, NULL, &rec);
            if (!st)
                st = record_check(&rec, want, prev);
            if (st == ECERT_E_SIGNATURE) {
                op->bad_seq = rec.seq;
            } else if (!st) {
                memcpy(prev, rec.hash, sizeof prev); /* equals the recomputed hash: 64 hex */
                want = rec.seq + 1;
                after = rec.seq;
                op->count++;
            }
        }
        PQclear(r);
        if (!st && rows < VERIFY_PAGE)
            break;
    }
    if (!st)
        st = simple(c, "COMMIT", "commit");
    return st;
}

static ecert_status pg_record_verify(struct store *base, uint64_t *count, int64_t *bad_seq)
{
    struct pg_store *s = pgs(base);
    if (!count || !bad_seq)
        return err_set(ECERT_E_ARG, "store_record_verify: NULL argument");
    struct verify_op op = {0, 0};
    ecert_status st = run_op(s, verify_tx, &op, true);
    *count = op.count;
    *bad_seq = op.bad_seq;
    return st;
}

/* ---- holder codes -------------------------------------------------------- */

static ecert_status pg_code_add(struct store *base, const char *cid, int64_t exp_s)
{
    struct pg_store *s = pgs(base);
    if (!cid || !cid[0])
        return err_set(ECERT_E_ARG, "store_code_add: cid is required");
    struct params p = {0};
    p_text(&p, cid);
    p_int(&p, exp_s);
    ecert_status st = run1(s, P_CODE_ADD, &p, false, NULL, "code add");
    /* Codes live a minute: drop those expired an hour ago (housekeeping). */
    if (!st) {
        struct params q = {0};
        p_int(&q, (int64_t)time(NULL) - 3600);
        (void)run1(s, P_CODE_PURGE, &q, false, NULL, "code purge");
        err_clear();
    }
    return st;
}

/* Not retried after a broken connection: a use that reached the server
 * counts, and a second attempt would report the code used. */
static ecert_status pg_code_use(struct store *base, const char *cid, int64_t now_s,
                                bool single_use)
{
    struct pg_store *s = pgs(base);
    if (!cid)
        return err_set(ECERT_E_ARG, "store_code_use: cid is required");
    struct params p = {0};
    p_text(&p, cid);
    p_int(&p, now_s);
    p_int(&p, single_use ? 1 : 0);
    PGresult *r = NULL;
    ecert_status st = run1(s, P_CODE_USE, &p, false, &r, "code use");
    if (st)
        return st;
    if (changed(r) == 0)
        st = err_set(ECERT_E_CODE_USED, "holder code expired, already used or unknown");
    PQclear(r);
    return st;
}

/* ---- meta ------------------------------------------------------------------*/

static ecert_status pg_meta_get(struct store *base, struct arena *a, const char *key,
                                const char **value)
{
    struct pg_store *s = pgs(base);
    if (!a || !key || !value)
        return err_set(ECERT_E_ARG, "store_meta_get: NULL argument");
    *value = NULL;
    struct params p = {0};
    p_text(&p, key);
    PGresult *r = NULL;
    ecert_status st = run1(s, P_META_GET, &p, true, &r, "meta get");
    if (st)
        return st;
    if (PQntuples(r) == 0)
        st = err_set(ECERT_E_NOT_FOUND, "no meta value '%.64s'", key);
    else if (!(*value = col_text(r, 0, 0, a)))
        st = arena_err();
    PQclear(r);
    return st;
}

static ecert_status pg_meta_put(struct store *base, const char *key, const char *value)
{
    struct pg_store *s = pgs(base);
    if (!key || !value)
        return err_set(ECERT_E_ARG, "store_meta_put: NULL argument");
    struct params p = {0};
    p_text(&p, key);
    p_text(&p, value);
    return run1(s, P_META_PUT, &p, true, NULL, "meta put");
}

/* ---- app invalidations ------------------------------------------------------*/

static ecert_status pg_app_invalidate(struct store *base, const char *app_id, int status,
                                      int64_t now_ms)
{
    struct pg_store *s = pgs(base);
    if (!app_id || !app_id[0])
        return err_set(ECERT_E_ARG, "store_app_invalidate: app_id is required");
    bool purge = atomic_fetch_add(&s->inval_calls, 1) % APP_INVAL_PURGE_EVERY ==
                 APP_INVAL_PURGE_EVERY - 1;
    struct params p = {0};
    p_text(&p, app_id);
    p_int(&p, status);
    p_int(&p, now_ms);
    /* repeatable: a second row for one change only makes readers drop an
     * entry twice */
    ecert_status st = run1(s, P_APP_INVAL_ADD, &p, true, NULL, "app invalidate");
    if (!st && purge) {
        struct params q = {0};
        p_int(&q, now_ms - APP_INVAL_KEEP_MS);
        (void)run1(s, P_APP_INVAL_PURGE, &q, false, NULL, "app invalidation purge");
        err_clear();
    }
    return st;
}

static ecert_status pg_app_invalidations(struct store *base, struct arena *a, int64_t after,
                                         size_t max, struct app_invalidation **out, size_t *n)
{
    struct pg_store *s = pgs(base);
    if (!a || !out || !n || max == 0 || max > APP_INVAL_LIST_MAX)
        return err_set(ECERT_E_ARG, "store_app_invalidations: bad argument");
    *out = NULL;
    *n = 0;
    struct params p = {0};
    p_int(&p, after);
    p_int(&p, (int64_t)max);
    PGresult *r = NULL;
    ecert_status st = run1(s, P_APP_INVAL_LIST, &p, true, &r, "app invalidations");
    if (st)
        return st;
    int rows = PQntuples(r);
    struct app_invalidation *list = rows ? arena_alloc(a, (size_t)rows * sizeof *list) : NULL;
    if (rows && !list)
        st = arena_err();
    for (int i = 0; !st && i < rows; i++) {
        list[i].seq = col_int(r, i, 0);
        list[i].status = (int)col_int(r, i, 2);
        if (!(list[i].app_id = col_text(r, i, 1, a)))
            st = arena_err();
    }
    PQclear(r);
    if (!st) {
        *out = list;
        *n = (size_t)rows;
    }
    return st;
}

/* ---- the backend table (store/backend.h) --------------------------------- */

const struct store_backend store_backend_postgres = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .catalog_put = pg_catalog_put,
    .catalog_get = pg_catalog_get,
    .catalog_find_name = pg_catalog_find_name,
    .scene_put = pg_scene_put,
    .scene_retain = pg_scene_retain,
    .scene_get = pg_scene_get,
    .cert_put = pg_cert_put,
    .cert_put_batch = pg_cert_put_batch,
    .cert_get = pg_cert_get,
    .cert_search = pg_cert_search,
    .cert_count = pg_cert_count,
    .app_put = pg_app_put,
    .app_get = pg_app_get,
    .nonce_use = pg_nonce_use,
    .rate_take = pg_rate_take,
    .token_revoke = pg_token_revoke,
    .token_is_revoked = pg_token_is_revoked,
    .token_revoked_list = pg_token_revoked_list,
    .record_append = pg_record_append,
    .record_list = pg_record_list,
    .record_verify = pg_record_verify,
    .code_add = pg_code_add,
    .code_use = pg_code_use,
    .meta_get = pg_meta_get,
    .meta_put = pg_meta_put,
    .app_invalidate = pg_app_invalidate,
    .app_invalidations = pg_app_invalidations,
};
