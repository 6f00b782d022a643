/*
 * appcache.h — a province's cache of app keys and states fetched from
 * YRD-TRUST. Entries expire after `ttl_ms`, so a disabled app is refused at
 * most that long after the trust node disables it (SPEC: within a minute);
 * sooner when another process of the province learns of the change first
 * (appcache_learn, from the store's app invalidations; docs/node.md).
 * Fixed capacity; when full, the stalest entry is replaced.
 */
#ifndef ECERT_NODE_APPCACHE_H
#define ECERT_NODE_APPCACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "crypto/sm2.h"

struct appcache_entry {
    char app_id[65];
    struct sm2_key *pub; /* NULL when the app is unknown or has no key yet */
    int status;          /* enum app_status, or -1 for unknown */
    int64_t fetched_ms;
    bool stale;          /* to be fetched again; status kept to compare with */
};

struct appcache {
    pthread_mutex_t mu;
    struct appcache_entry *e;
    size_t cap, n;
    int64_t ttl_ms;
};

ecert_status appcache_init(struct appcache *c, size_t cap, int64_t ttl_ms);
void appcache_release(struct appcache *c);
/* true when a fresh entry exists: *pub gets a new reference (or NULL). */
bool appcache_get(struct appcache *c, const char *app_id, int64_t now_ms, struct sm2_key **pub,
                  int *status);
/* No entry for the app (appcache_put's *prev). */
#define APPCACHE_NONE (-2)

/* Stores (replacing) an entry; takes its own reference on pub. *prev (when
 * not NULL): the status the cache knew before, fresh or not, or
 * APPCACHE_NONE. */
void appcache_put(struct appcache *c, const char *app_id, struct sm2_key *pub, int status,
                  int64_t now_ms, int *prev);
/* Another process learned that the app's status is now `status`: when this
 * cache holds a different one, the entry is marked to be fetched again (and
 * takes `status`, so the fetch is not taken for a new change). Returns true
 * when an entry was so marked. */
bool appcache_learn(struct appcache *c, const char *app_id, int status);
/* Marks every entry to be fetched again (changes were missed). */
void appcache_expire_all(struct appcache *c);

#endif
