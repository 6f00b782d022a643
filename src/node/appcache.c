#include "node/appcache.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

ecert_status appcache_init(struct appcache *c, size_t cap, int64_t ttl_ms)
{
    memset(c, 0, sizeof *c);
    c->e = calloc(cap, sizeof *c->e);
    if (!c->e)
        return err_set(ECERT_E_NOMEM, "out of memory");
    c->cap = cap;
    c->ttl_ms = ttl_ms;
    pthread_mutex_init(&c->mu, NULL);
    return ECERT_OK;
}

void appcache_release(struct appcache *c)
{
    if (!c->e)
        return;
    for (size_t i = 0; i < c->n; i++)
        sm2_key_free(c->e[i].pub);
    free(c->e);
    c->e = NULL;
    pthread_mutex_destroy(&c->mu);
}

/* Linear scan: the cache holds the apps of one province (hundreds), and a
 * scan of that is far below the cost of the SM2 operations of a request. */
static struct appcache_entry *find(struct appcache *c, const char *app_id)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].app_id, app_id) == 0)
            return &c->e[i];
    return NULL;
}

bool appcache_get(struct appcache *c, const char *app_id, int64_t now_ms, struct sm2_key **pub,
                  int *status)
{
    bool hit = false;
    pthread_mutex_lock(&c->mu);
    struct appcache_entry *e = find(c, app_id);
    if (e && !e->stale && now_ms - e->fetched_ms < c->ttl_ms && now_ms >= e->fetched_ms) {
        *pub = sm2_key_ref(e->pub);
        *status = e->status;
        hit = true;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void appcache_put(struct appcache *c, const char *app_id, struct sm2_key *pub, int status,
                  int64_t now_ms, int *prev)
{
    if (prev)
        *prev = APPCACHE_NONE;
    if (strlen(app_id) >= sizeof c->e[0].app_id)
        return;
    pthread_mutex_lock(&c->mu);
    struct appcache_entry *e = find(c, app_id);
    if (e && prev)
        *prev = e->status;
    if (!e) {
        if (c->n < c->cap) {
            e = &c->e[c->n++];
        } else {
            e = &c->e[0];
            for (size_t i = 1; i < c->n; i++)
                if (c->e[i].fetched_ms < e->fetched_ms)
                    e = &c->e[i];
        }
        sm2_key_free(e->pub);
        memset(e, 0, sizeof *e);
        memcpy(e->app_id, app_id, strlen(app_id) + 1);
    } else {
        sm2_key_free(e->pub);
    }
    e->pub = sm2_key_ref(pub);
    e->status = status;
    e->fetched_ms = now_ms;
    e->stale = false;
    pthread_mutex_unlock(&c->mu);
}

bool appcache_learn(struct appcache *c, const char *app_id, int status)
{
    bool marked = false;
    pthread_mutex_lock(&c->mu);
    struct appcache_entry *e = find(c, app_id);
    if (e && e->status != status) {
        e->status = status;
        e->stale = true;
        marked = true;
    }
    pthread_mutex_unlock(&c->mu);
    return marked;
}

void appcache_expire_all(struct appcache *c)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++)
        c->e[i].stale = true;
    pthread_mutex_unlock(&c->mu);
}
