/*
 * store.c — the dispatch layer: store_open picks the backend named by
 * cfg->driver ("sqlite", the default, or "postgres") and every other store_*
 * call forwards through that backend's table (store/backend.h).
 *
 * Only a NULL handle is checked here; each backend checks its own arguments,
 * so a call behaves the same whichever way it arrives.
 */
#include <string.h>

#include "common/error.h"
#include "store/backend.h"
#include "store/store.h"

static const struct store_backend *backend_for(const char *driver)
{
    if (!driver || !driver[0] || strcmp(driver, "sqlite") == 0)
        return &store_backend_sqlite;
    if (strcmp(driver, "postgres") == 0)
        return &store_backend_postgres;
    return NULL;
}

ecert_status store_open(const struct store_config *cfg, struct store **out)
{
    if (!cfg || !out)
        return err_set(ECERT_E_ARG, "store_open: NULL argument");
    *out = NULL;
    const struct store_backend *be = backend_for(cfg->driver);
    if (!be)
        return err_set(ECERT_E_ARG, "store: unknown driver '%.32s' (sqlite or postgres)",
                       cfg->driver);
    return be->open(cfg, out);
}

void store_close(struct store *s)
{
    if (s)
        s->be->close(s);
}

int store_schema_version(struct store *s)
{
    return s ? s->be->schema_version(s) : 0;
}

/* Every forwarding function starts with this: a NULL handle is API misuse. */
#define NEED_STORE(fn)                                                                             \
    do {                                                                                           \
        if (!s)                                                                                    \
            return err_set(ECERT_E_ARG, fn ": NULL store");                                       \
    } while (0)

/* ---- catalog and scenes ---------------------------------------------------- */

ecert_status store_catalog_put(struct store *s, const struct catalog_entry *e)
{
    NEED_STORE("store_catalog_put");
    return s->be->catalog_put(s, e);
}

ecert_status store_catalog_get(struct store *s, struct arena *a, const char *type_code,
                               struct catalog_entry *out)
{
    NEED_STORE("store_catalog_get");
    return s->be->catalog_get(s, a, type_code, out);
}

ecert_status store_catalog_find_name(struct store *s, struct arena *a, const char *name,
                                     const char **type_code)
{
    NEED_STORE("store_catalog_find_name");
    return s->be->catalog_find_name(s, a, name, type_code);
}

ecert_status store_scene_put(struct store *s, const struct scene *sc)
{
    NEED_STORE("store_scene_put");
    return s->be->scene_put(s, sc);
}

ecert_status store_scene_retain(struct store *s, const char *const *codes, size_t n)
{
    NEED_STORE("store_scene_retain");
    return s->be->scene_retain(s, codes, n);
}

ecert_status store_scene_get(struct store *s, struct arena *a, const char *item_code,
                             struct scene *out)
{
    NEED_STORE("store_scene_get");
    return s->be->scene_get(s, a, item_code, out);
}

/* ---- certificates ------------------------------------------------------------ */

ecert_status store_cert_put(struct store *s, const struct cert *c)
{
    NEED_STORE("store_cert_put");
    return s->be->cert_put(s, c);
}

ecert_status store_cert_put_batch(struct store *s, const struct cert *certs, size_t n,
                                  size_t *failed)
{
    NEED_STORE("store_cert_put_batch");
    return s->be->cert_put_batch(s, certs, n, failed);
}

ecert_status store_cert_get(struct store *s, struct arena *a, const char *id, bool with_file,
                            struct cert *out)
{
    NEED_STORE("store_cert_get");
    return s->be->cert_get(s, a, id, with_file, out);
}

ecert_status store_cert_search(struct store *s, struct arena *a, const struct cert_query *q,
                               struct cert **out, size_t *n)
{
    NEED_STORE("store_cert_search");
    return s->be->cert_search(s, a, q, out, n);
}

ecert_status store_cert_count(struct store *s, uint64_t *n)
{
    NEED_STORE("store_cert_count");
    return s->be->cert_count(s, n);
}

/* ---- apps, replay window, token revocation ----------------------------------- */

ecert_status store_app_put(struct store *s, const struct app *app)
{
    NEED_STORE("store_app_put");
    return s->be->app_put(s, app);
}

ecert_status store_app_get(struct store *s, struct arena *a, const char *app_id, struct app *out)
{
    NEED_STORE("store_app_get");
    return s->be->app_get(s, a, app_id, out);
}

ecert_status store_nonce_use(struct store *s, const char *app_id, const char *nonce,
                             int64_t now_ms, int64_t window_ms)
{
    NEED_STORE("store_nonce_use");
    return s->be->nonce_use(s, app_id, nonce, now_ms, window_ms);
}

ecert_status store_rate_take(struct store *s, const char *key, int64_t now_ms, int64_t window_ms,
                             uint32_t limit, uint32_t want, uint32_t *granted, int64_t *reset_ms,
                             bool *spent)
{
    NEED_STORE("store_rate_take");
    return s->be->rate_take(s, key, now_ms, window_ms, limit, want, granted, reset_ms, spent);
}

ecert_status store_token_revoke(struct store *s, const char *jti, int64_t exp_s)
{
    NEED_STORE("store_token_revoke");
    return s->be->token_revoke(s, jti, exp_s);
}

ecert_status store_token_is_revoked(struct store *s, const char *jti, bool *revoked)
{
    NEED_STORE("store_token_is_revoked");
    return s->be->token_is_revoked(s, jti, revoked);
}

ecert_status store_token_revoked_list(struct store *s, struct arena *a, int64_t now_s,
                                      const char ***jtis, size_t *n)
{
    NEED_STORE("store_token_revoked_list");
    return s->be->token_revoked_list(s, a, now_s, jtis, n);
}

/* ---- usage records --------------------------------------------------------------- */

ecert_status store_record_append(struct store *s, struct usage_record *r)
{
    NEED_STORE("store_record_append");
    return s->be->record_append(s, r);
}

ecert_status store_record_list(struct store *s, struct arena *a, const char *holder_code,
                               int64_t from_ms, int64_t to_ms, size_t limit,
                               struct usage_record **out, size_t *n)
{
    NEED_STORE("store_record_list");
    return s->be->record_list(s, a, holder_code, from_ms, to_ms, limit, out, n);
}

ecert_status store_record_verify(struct store *s, uint64_t *count, int64_t *bad_seq)
{
    NEED_STORE("store_record_verify");
    return s->be->record_verify(s, count, bad_seq);
}

/* ---- holder codes and settings ------------------------------------------------------ */

ecert_status store_code_add(struct store *s, const char *cid, int64_t exp_s)
{
    NEED_STORE("store_code_add");
    return s->be->code_add(s, cid, exp_s);
}

ecert_status store_code_use(struct store *s, const char *cid, int64_t now_s, bool single_use)
{
    NEED_STORE("store_code_use");
    return s->be->code_use(s, cid, now_s, single_use);
}

ecert_status store_meta_get(struct store *s, struct arena *a, const char *key, const char **value)
{
    NEED_STORE("store_meta_get");
    return s->be->meta_get(s, a, key, value);
}

ecert_status store_meta_put(struct store *s, const char *key, const char *value)
{
    NEED_STORE("store_meta_put");
    return s->be->meta_put(s, key, value);
}

ecert_status store_app_invalidate(struct store *s, const char *app_id, int status, int64_t now_ms)
{
    NEED_STORE("store_app_invalidate");
    return s->be->app_invalidate(s, app_id, status, now_ms);
}

ecert_status store_app_invalidations(struct store *s, struct arena *a, int64_t after, size_t max,
                                     struct app_invalidation **out, size_t *n)
{
    NEED_STORE("store_app_invalidations");
    return s->be->app_invalidations(s, a, after, max, out, n);
}
