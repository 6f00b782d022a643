/*
 * store.h — the one storage interface of a node. Backends: SQLite (embedded
 * default, WAL) and PostgreSQL (libpq; several processes may share one
 * database); callers never see which (store.c dispatches, docs/store.md).
 *
 * Rules every backend keeps:
 *   - prepared statements only (no SQL text built from data);
 *   - every write that must not be half-done is one transaction;
 *   - results that carry strings are allocated in the caller's arena, so a
 *     request frees everything at once;
 *   - the store is safe to call from many threads (a pool of connections).
 * Errors: ECERT_E_NOT_FOUND for a missing row where the caller asked for one,
 * ECERT_E_REPLAY for a nonce seen before, ECERT_E_INTERNAL for the database
 * failing (the detail names the operation, never data values).
 */
#ifndef ECERT_STORE_STORE_H
#define ECERT_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/arena.h"
#include "common/buf.h"

struct store;

struct store_config {
    const char *driver;   /* "sqlite" (NULL or "" too) or "postgres" */
    const char *path;     /* SQLite file */
    unsigned pool_size;   /* connections; 0 = 4 */
    const char *dsn;      /* PostgreSQL: libpq connection string or URI */
};

/* Opens (creating the file if needed) and applies pending migrations.
 * SQLite: `path` must name a file (WAL needs one; ":memory:" is refused);
 * a new file is created with mode 0600. PostgreSQL: `dsn` names the database
 * (the tables live in the first schema of its search_path, created when
 * missing); the server must be reachable. A database whose schema is newer
 * than this build is refused. */
ecert_status store_open(const struct store_config *cfg, struct store **out);
void store_close(struct store *s);
/* Schema version after migrations. */
int store_schema_version(struct store *s);

/* ---- catalog (证照目录) and scenes (用证场景) ---------------------------- */

struct catalog_entry {
    const char *type_code;  /* 21 chars */
    const char *name;       /* 证照类型名称, e.g. 营业执照 */
    bool yrd_shared;        /* on the YRD mutual-recognition list */
};
ecert_status store_catalog_put(struct store *s, const struct catalog_entry *e);
ecert_status store_catalog_get(struct store *s, struct arena *a, const char *type_code,
                               struct catalog_entry *out);
/* Type code by 证照类型名称 (ECERT_E_NOT_FOUND when unknown). */
ecert_status store_catalog_find_name(struct store *s, struct arena *a, const char *name,
                                     const char **type_code);

struct scene {
    const char *item_code;
    const char *item_name;
    const char **types;  /* allowed type codes */
    size_t ntypes;
};
/* Replaces the scene (and its type list) in one transaction. */
ecert_status store_scene_put(struct store *s, const struct scene *sc);
/* Deletes every scene whose code is not among `codes` (a newly published
 * scene list replaces the old one). */
ecert_status store_scene_retain(struct store *s, const char *const *codes, size_t n);
/* ECERT_E_NOT_FOUND when the scene is not published. */
ecert_status store_scene_get(struct store *s, struct arena *a, const char *item_code,
                             struct scene *out);

/* ---- certificates -------------------------------------------------------- */

struct cert {
    const char *id;                 /* CertificateID */
    const char *type;               /* CertificateType (name) */
    const char *type_code;          /* CertificateTypeCode */
    const char *number;             /* CertificateNumber (照面编号) */
    const char *holder;             /* CertificateHolder */
    const char *holder_code;        /* CertificateHolderCode */
    const char *holder_type_code;   /* 111, 001, ... */
    const char *issuer;             /* CertificateIssuingAuthority */
    const char *issuer_code;        /* CertificateIssuingAuthorityCode (USCC) */
    const char *issued_date;        /* YYYY-MM-DD */
    const char *valid_from;
    const char *valid_to;           /* "" = long-term */
    const char *status;             /* valid | revoked | expired | suspended */
    const char *area_code;          /* 6-digit region */
    const char *surface_json;       /* SurfaceData object, as JSON text */
    const char *file_format;        /* OFD | PDF */
    const char *file_name;
    const uint8_t *file;            /* may be NULL in listings */
    size_t file_len;
    const char *file_sm3;           /* 64 hex */
};

/* Insert or replace by id, in one transaction (idempotent re-imports). */
ecert_status store_cert_put(struct store *s, const struct cert *c);
/* Many at once in one transaction; *failed receives the index of the first
 * certificate that could not be stored (then nothing of the batch is kept),
 * or n when the commit itself failed or the batch was stored. */
ecert_status store_cert_put_batch(struct store *s, const struct cert *certs, size_t n,
                                  size_t *failed);
/* with_file: load the file bytes too. */
ecert_status store_cert_get(struct store *s, struct arena *a, const char *id, bool with_file,
                            struct cert *out);

struct cert_query {
    const char *holder_code;        /* required */
    const char *type;               /* CertificateType name, optional */
    const char *number;             /* CertificateNumber, optional */
    /* NULL or "" type/number: not filtered. type_codes NULL: any type;
     * non-NULL: only these (ntype_codes == 0 then matches nothing, so an
     * empty scene list fails closed). */
    const char *const *type_codes;  /* restrict to these types (scene), optional */
    size_t ntype_codes;
    size_t limit;                   /* 0 = 1000 */
};
/* Certificates of a holder, newest first; files are not loaded (file NULL). */
ecert_status store_cert_search(struct store *s, struct arena *a, const struct cert_query *q,
                               struct cert **out, size_t *n);
ecert_status store_cert_count(struct store *s, uint64_t *n);

/* ---- apps (可信应用) ------------------------------------------------------- */

enum app_status { APP_ALLOCATED = 0, APP_ACTIVE = 1, APP_DISABLED = 2 };

struct app {
    const char *app_id;
    const char *secret_hash;   /* salted slow hash, "scrypt$..." (see trust) */
    const char *corp_name;
    const char *corp_code;
    const char *public_key;    /* 04 + 128 hex; "" until registered */
    const char *certificate;   /* PEM app certificate; "" until registered */
    const char *province;      /* node id the app calls, may be "" */
    int status;                /* enum app_status */
    int64_t updated_ms;
};
ecert_status store_app_put(struct store *s, const struct app *app);
ecert_status store_app_get(struct store *s, struct arena *a, const char *app_id, struct app *out);

/* App-state changes one process learned (from the trust node), for the
 * other processes on the same store to drop what they cached (docs/node.md,
 * "App keys and revocations at a province"). seq increases by one per
 * change, in commit order, on both backends: a reader that saw up to seq S
 * never later finds a change below S appear. Rows are kept an hour. */
struct app_invalidation {
    int64_t seq;
    const char *app_id;
    int status; /* the state learned (enum app_status, -1 unknown) */
};
ecert_status store_app_invalidate(struct store *s, const char *app_id, int status,
                                  int64_t now_ms);
/* The changes with seq > after, oldest first, at most max (1-1000). */
ecert_status store_app_invalidations(struct store *s, struct arena *a, int64_t after, size_t max,
                                     struct app_invalidation **out, size_t *n);

/* ---- replay window ------------------------------------------------------- */

/* Records (app_id, nonce). ECERT_E_REPLAY when the pair was seen with a
 * timestamp inside the window; rows older than now - window are purged
 * (every few hundred calls, not on each). The stored time is now_ms: a caller
 * that accepts request timestamps within ±W should pass window_ms = 2W, so a
 * nonce is remembered for as long as its request could still be accepted. */
ecert_status store_nonce_use(struct store *s, const char *app_id, const char *nonce,
                             int64_t now_ms, int64_t window_ms);

/* ---- rate-limit leases (docs/limits.md) ----------------------------------- */

/* Leases up to `want` units of the budget of `key` (at most
 * STORE_RATE_KEY_MAX bytes), which allows `limit` units per window of
 * `window_ms`. A window opens at the first take after the previous one ended
 * (reset_ms <= now_ms) and ends at now_ms + window_ms. Atomic across every
 * process sharing the database: *granted = min(want, limit - used), 0 once
 * the budget is spent, so the grants of one window never add up to more than
 * `limit`. *reset_ms is the end of the window the grant belongs to; *spent
 * (may be NULL) tells whether nothing is left of the window's budget after
 * this grant. Counters of ended windows are purged every few hundred calls. */
#define STORE_RATE_KEY_MAX 128
ecert_status store_rate_take(struct store *s, const char *key, int64_t now_ms, int64_t window_ms,
                             uint32_t limit, uint32_t want, uint32_t *granted, int64_t *reset_ms,
                             bool *spent);

/* ---- token revocation ---------------------------------------------------- */

ecert_status store_token_revoke(struct store *s, const char *jti, int64_t exp_s);
ecert_status store_token_is_revoked(struct store *s, const char *jti, bool *revoked);
/* Revoked ids whose tokens have not expired yet (for provinces to pull). */
ecert_status store_token_revoked_list(struct store *s, struct arena *a, int64_t now_s,
                                      const char ***jtis, size_t *n);

/* ---- usage records (tamper-evident, SPEC §6) ----------------------------- */

struct usage_record {
    int64_t seq;               /* assigned by the store */
    int64_t time_ms;
    const char *cert_id;       /* "" for holder-level calls */
    const char *holder_code;   /* whose certificate (for records/by-holder) */
    const char *interface;     /* e.g. "cert/search" */
    const char *app_id;
    const char *requester_node;
    const char *use_for, *item_code, *item_name, *item_org, *operator_name, *biz_num;
    int result;                /* the response code */
    const char *prev;          /* 64 hex, filled by the store */
    const char *hash;          /* 64 hex, filled by the store */
};
/* Appends one record: prev = hash of the last record (64 zeros for the first),
 * hash = SM3(prev || canonical(record)). Serialised so the chain stays single.
 * On success r->seq is set and r->prev / r->hash point to thread-local
 * buffers, valid until the calling thread's next store_record_append.
 * String fields may be NULL (stored as ""); each is at most
 * USAGE_RECORD_FIELD_MAX bytes. The commit is durable (fsync) before this
 * returns, even where other tables trade that for speed. */
ecert_status store_record_append(struct store *s, struct usage_record *r);
/* A holder's records with from_ms <= time_ms <= to_ms (to_ms <= 0: no upper
 * bound), newest first; limit 0 = 1000. */
ecert_status store_record_list(struct store *s, struct arena *a, const char *holder_code,
                               int64_t from_ms, int64_t to_ms, size_t limit,
                               struct usage_record **out, size_t *n);
/* Walks the whole chain; on a break, *bad_seq is the first bad record
 * (ECERT_E_SIGNATURE), otherwise ECERT_OK with *count records checked. */
ecert_status store_record_verify(struct store *s, uint64_t *count, int64_t *bad_seq);
/* canonical(record): the bytes hashed (documented in docs/store.md),
 * appended to `out`. */
#define USAGE_RECORD_FIELD_MAX 4096
#define USAGE_RECORD_HASH_HEX 64
ecert_status usage_record_canonical(const struct usage_record *r, struct buf *out);
/* SM3(prev_hex || canonical(r)) as 64 lowercase hex digits, NUL-terminated;
 * prev_hex is the previous record's 64-hex hash. Backend-independent. */
ecert_status usage_record_hash(const char *prev_hex, const struct usage_record *r,
                               char out[USAGE_RECORD_HASH_HEX + 1]);

/* ---- holder codes (亮码, SPEC §6) ----------------------------------------- */

ecert_status store_code_add(struct store *s, const char *cid, int64_t exp_s);
/* Marks one use: ECERT_E_CODE_USED (4003) when the code is expired, unknown,
 * or (single_use) used before. Concurrent uses of one code: exactly one wins. */
ecert_status store_code_use(struct store *s, const char *cid, int64_t now_s, bool single_use);

/* ---- small key/value settings (published-list versions) -------------------- */

ecert_status store_meta_get(struct store *s, struct arena *a, const char *key, const char **value);
ecert_status store_meta_put(struct store *s, const char *key, const char *value);

#endif
