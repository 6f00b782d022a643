/*
 * appcache.h — a province's cache of app keys and states fetched from
 * YRD-TRUST. Entries expire after `ttl_ms`, so a disabled app is refused at
 * most that long after the trust node disables it (SPEC: within a minute).
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
/* Stores (replacing) an entry; takes its own reference on pub. */
void appcache_put(struct appcache *c, const char *app_id, struct sm2_key *pub, int status,
                  int64_t now_ms);

#endif
