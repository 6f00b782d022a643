/*
 * ratelimit.h — request budgets per key ("app:<appId>", "ip:<address>"),
 * held in the shared store so that they hold across every ecertd process of
 * one province (docs/limits.md).
 *
 * Leases: a process does not ask the store on every request. It takes a
 * chunk of the window's budget at once (store_rate_take: grant =
 * min(chunk, limit - used), atomic in the database), spends it locally, and
 * takes another chunk when it runs out. Grants never add up to more than the
 * limit, so no process can let more calls through than the window allows;
 * what a process leased and did not spend before the window ended is lost,
 * which only refuses early (at most (processes - 1) x (chunk - 1) calls per
 * key and window). Chunk 1 makes the count exact, at one database write per
 * request.
 *
 * The local table has a fixed number of slots (one key each, chosen by a
 * seeded hash); a key that lands on a busy slot evicts it, losing at most its
 * unspent lease. A slot remembers when the store said the window's budget is
 * all handed out, so that once its lease is used up a key is refused with no
 * database write until its window ends.
 */
#ifndef ECERT_NODE_RATELIMIT_H
#define ECERT_NODE_RATELIMIT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "store/store.h"

#define RATELIMIT_STRIPES 64

struct ratelimit_slot {
    char key[STORE_RATE_KEY_MAX + 1]; /* "" = free */
    uint32_t left;                    /* leased and not spent yet */
    bool spent;                       /* the store has nothing left for this window */
    bool refused;                     /* this process refused a call in this window */
    int64_t reset_ms;                 /* end of the window the lease belongs to */
};

struct ratelimit {
    struct store *store;
    struct ratelimit_slot *slots;
    size_t nslots;
    uint64_t seed;
    pthread_mutex_t mu[RATELIMIT_STRIPES]; /* slot i is guarded by mu[i % STRIPES] */
    atomic_ullong leases;                  /* store_rate_take calls */
};

/* `nslots` local slots (0 = 4096) over the store `s` (borrowed). */
ecert_status ratelimit_init(struct ratelimit *rl, struct store *s, size_t nslots);
void ratelimit_release(struct ratelimit *rl);

/* The chunk a process leases at once for `limit` calls per window when the
 * operator did not choose one: about 1% of the limit, between 1 and 64, so
 * that limits up to 199 are counted exactly. */
uint32_t ratelimit_auto_chunk(uint32_t limit);

/* Spends one call of `key`'s budget: `limit` calls per `window_ms`, leased
 * `chunk` at a time (chunk 0 = ratelimit_auto_chunk). *allowed says whether
 * the call may go on; when it may not, *retry_ms is how long until the window
 * ends (at least 1). *first_refusal is set when this is the first refusal of
 * the key's window in this process (for logging once). limit 0 = no limit.
 * A store failure is returned as it is (the caller decides what it means);
 * *allowed is then false. */
ecert_status ratelimit_take(struct ratelimit *rl, const char *key, uint32_t limit, uint32_t chunk,
                            int64_t window_ms, int64_t now_ms, bool *allowed, int64_t *retry_ms,
                            bool *first_refusal);

/* true when this process already knows that `key` has nothing left in its
 * window: no lease in hand and the store's budget all handed out (no store
 * call). The caller then refuses: *retry_ms and *first_refusal as above. */
bool ratelimit_spent(struct ratelimit *rl, const char *key, int64_t now_ms, int64_t *retry_ms,
                     bool *first_refusal);

#endif
