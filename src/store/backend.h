/*
 * backend.h — what a store backend gives the dispatch layer (store.c).
 * Callers never include this: store.h is the interface.
 *
 * A backend's handle starts with `struct store` (its first member), so the
 * pointer store_open hands out is the backend's own object: store.c reads
 * `s->be` and calls through the table, with no second allocation and no
 * lookup. Each backend casts back to its own type (valid because the header
 * is the first member).
 *
 * Adding a store call: declare it in store.h, add its slot here, a forwarding
 * function in store.c, and an implementation in every backend (sqlite.c,
 * postgres.c); tests/unit/test_store.c runs against both.
 */
#ifndef ECERT_STORE_BACKEND_H
#define ECERT_STORE_BACKEND_H

#include "store/store.h"

struct store_backend;

struct store {
    const struct store_backend *be;
};

struct store_backend {
    const char *name;
    ecert_status (*open)(const struct store_config *cfg, struct store **out);
    void (*close)(struct store *s);
    int (*schema_version)(struct store *s);

    ecert_status (*catalog_put)(struct store *s, const struct catalog_entry *e);
    ecert_status (*catalog_get)(struct store *s, struct arena *a, const char *type_code,
                                struct catalog_entry *out);
    ecert_status (*catalog_find_name)(struct store *s, struct arena *a, const char *name,
                                      const char **type_code);
    ecert_status (*scene_put)(struct store *s, const struct scene *sc);
    ecert_status (*scene_retain)(struct store *s, const char *const *codes, size_t n);
    ecert_status (*scene_get)(struct store *s, struct arena *a, const char *item_code,
                              struct scene *out);

    ecert_status (*cert_put)(struct store *s, const struct cert *c);
    ecert_status (*cert_put_batch)(struct store *s, const struct cert *certs, size_t n,
                                   size_t *failed);
    ecert_status (*cert_get)(struct store *s, struct arena *a, const char *id, bool with_file,
                             struct cert *out);
    ecert_status (*cert_search)(struct store *s, struct arena *a, const struct cert_query *q,
                                struct cert **out, size_t *n);
    ecert_status (*cert_count)(struct store *s, uint64_t *n);

    ecert_status (*app_put)(struct store *s, const struct app *app);
    ecert_status (*app_get)(struct store *s, struct arena *a, const char *app_id,
                            struct app *out);

    ecert_status (*nonce_use)(struct store *s, const char *app_id, const char *nonce,
                              int64_t now_ms, int64_t window_ms);
    ecert_status (*rate_take)(struct store *s, const char *key, int64_t now_ms,
                              int64_t window_ms, uint32_t limit, uint32_t want,
                              uint32_t *granted, int64_t *reset_ms, bool *spent);

    ecert_status (*token_revoke)(struct store *s, const char *jti, int64_t exp_s);
    ecert_status (*token_is_revoked)(struct store *s, const char *jti, bool *revoked);
    ecert_status (*token_revoked_list)(struct store *s, struct arena *a, int64_t now_s,
                                       const char ***jtis, size_t *n);

    ecert_status (*record_append)(struct store *s, struct usage_record *r);
    ecert_status (*record_list)(struct store *s, struct arena *a, const char *holder_code,
                                int64_t from_ms, int64_t to_ms, size_t limit,
                                struct usage_record **out, size_t *n);
    ecert_status (*record_verify)(struct store *s, uint64_t *count, int64_t *bad_seq);

    ecert_status (*code_add)(struct store *s, const char *cid, int64_t exp_s);
    ecert_status (*code_use)(struct store *s, const char *cid, int64_t now_s, bool single_use);

    ecert_status (*meta_get)(struct store *s, struct arena *a, const char *key,
                             const char **value);
    ecert_status (*meta_put)(struct store *s, const char *key, const char *value);

    ecert_status (*app_invalidate)(struct store *s, const char *app_id, int status,
                                   int64_t now_ms);
    ecert_status (*app_invalidations)(struct store *s, struct arena *a, int64_t after,
                                      size_t max, struct app_invalidation **out, size_t *n);
};

extern const struct store_backend store_backend_sqlite;
extern const struct store_backend store_backend_postgres;

#endif
