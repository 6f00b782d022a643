/*
 * ratelimit.c — leased request budgets (ratelimit.h, docs/limits.md).
 */
#include "node/ratelimit.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "crypto/random.h"

#define SLOTS_DEFAULT 4096
#define CHUNK_MAX 64

ecert_status ratelimit_init(struct ratelimit *rl, struct store *s, size_t nslots)
{
    memset(rl, 0, sizeof *rl);
    rl->store = s;
    rl->nslots = nslots ? nslots : SLOTS_DEFAULT;
    rl->slots = calloc(rl->nslots, sizeof *rl->slots);
    if (!rl->slots)
        return err_set(ECERT_E_NOMEM, "out of memory");
    /* A per-process seed: which keys share a slot cannot be planned from
     * outside (a clash only costs an extra lease, but needs not be easy). */
    ecert_status st = random_bytes(&rl->seed, sizeof rl->seed);
    if (st) {
        free(rl->slots);
        rl->slots = NULL;
        return st;
    }
    for (size_t i = 0; i < RATELIMIT_STRIPES; i++)
        pthread_mutex_init(&rl->mu[i], NULL);
    atomic_init(&rl->leases, 0);
    return ECERT_OK;
}

void ratelimit_release(struct ratelimit *rl)
{
    if (!rl || !rl->slots)
        return;
    for (size_t i = 0; i < RATELIMIT_STRIPES; i++)
        pthread_mutex_destroy(&rl->mu[i]);
    free(rl->slots);
    rl->slots = NULL;
}

uint32_t ratelimit_auto_chunk(uint32_t limit)
{
    uint32_t c = limit / 100;
    return c < 1 ? 1 : c > CHUNK_MAX ? CHUNK_MAX : c;
}

/* FNV-1a over the key from a seeded basis, then a final mix (splitmix64)
 * so that the low bits used for the slot depend on every byte. */
static size_t slot_of(const struct ratelimit *rl, const char *key)
{
    uint64_t h = 14695981039346656037ull ^ rl->seed;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return (size_t)(h % rl->nslots);
}

static int64_t retry_of(int64_t reset_ms, int64_t now_ms)
{
    return reset_ms > now_ms ? reset_ms - now_ms : 1;
}

bool ratelimit_spent(struct ratelimit *rl, const char *key, int64_t now_ms, int64_t *retry_ms,
                     bool *first_refusal)
{
    if (first_refusal)
        *first_refusal = false;
    if (!rl || !rl->slots || !key || strlen(key) > STORE_RATE_KEY_MAX)
        return false;
    size_t i = slot_of(rl, key);
    pthread_mutex_t *mu = &rl->mu[i % RATELIMIT_STRIPES];
    struct ratelimit_slot *sl = &rl->slots[i];
    pthread_mutex_lock(mu);
    bool spent =
        sl->spent && sl->left == 0 && sl->reset_ms > now_ms && strcmp(sl->key, key) == 0;
    if (spent) {
        if (retry_ms)
            *retry_ms = retry_of(sl->reset_ms, now_ms);
        if (first_refusal)
            *first_refusal = !sl->refused;
        sl->refused = true;
    }
    pthread_mutex_unlock(mu);
    return spent;
}

ecert_status ratelimit_take(struct ratelimit *rl, const char *key, uint32_t limit, uint32_t chunk,
                            int64_t window_ms, int64_t now_ms, bool *allowed, int64_t *retry_ms,
                            bool *first_refusal)
{
    if (!rl || !rl->slots || !key || !allowed || !retry_ms || !first_refusal)
        return err_set(ECERT_E_ARG, "ratelimit_take: NULL argument");
    *allowed = false;
    *retry_ms = 0;
    *first_refusal = false;
    if (limit == 0) {
        *allowed = true;
        return ECERT_OK;
    }
    size_t klen = strlen(key);
    if (klen == 0 || klen > STORE_RATE_KEY_MAX || window_ms <= 0)
        return err_set(ECERT_E_ARG, "ratelimit_take: bad key or window");
    if (chunk == 0)
        chunk = ratelimit_auto_chunk(limit);
    if (chunk > limit)
        chunk = limit;
    size_t i = slot_of(rl, key);
    pthread_mutex_t *mu = &rl->mu[i % RATELIMIT_STRIPES];
    struct ratelimit_slot *sl = &rl->slots[i];

    /* The common case: spend from the lease in hand, no store call. */
    pthread_mutex_lock(mu);
    if (sl->reset_ms > now_ms && strcmp(sl->key, key) == 0) {
        if (sl->left > 0) {
            sl->left--;
            *allowed = true;
        } else if (sl->spent) {
            *retry_ms = retry_of(sl->reset_ms, now_ms);
            *first_refusal = !sl->refused;
            sl->refused = true;
        }
    }
    bool decided = *allowed || *retry_ms;
    pthread_mutex_unlock(mu);
    if (decided)
        return ECERT_OK;

    /* No lease left: take a chunk from the store, without holding the lock
     * over the round trip. Threads that get here together each take their
     * own chunk; whatever they do not spend stays in the slot. */
    uint32_t granted = 0;
    int64_t reset = 0;
    bool store_spent = false;
    atomic_fetch_add(&rl->leases, 1);
    ecert_status st = store_rate_take(rl->store, key, now_ms, window_ms, limit, chunk, &granted,
                                      &reset, &store_spent);
    if (st)
        return st;
    pthread_mutex_lock(mu);
    bool same = strcmp(sl->key, key) == 0 && sl->reset_ms == reset;
    if (!same) {
        /* Another key's slot, or an ended window: replaced (an unspent lease
         * of the evicted key is lost, which only refuses early). */
        memcpy(sl->key, key, klen + 1);
        sl->left = 0;
        sl->spent = false;
        sl->refused = false;
        sl->reset_ms = reset;
    }
    sl->spent = sl->spent || store_spent || granted == 0;
    if (granted > 0) {
        sl->left += granted - 1;
        *allowed = true;
    } else {
        *first_refusal = !sl->refused;
        sl->refused = true;
        *retry_ms = retry_of(reset, now_ms);
    }
    pthread_mutex_unlock(mu);
    return ECERT_OK;
}
