#include "crypto/random.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/error.h"
#include "common/secure.h"

ecert_status random_bytes(void *out, size_t n)
{
    if (n > (size_t)INT32_MAX)
        return err_set(ECERT_E_ARG, "random: request too large");
    /* RAND_priv_bytes: a DRBG instance separate from the public one, so that
     * nonces we publish never share a stream with key material. */
    if (RAND_priv_bytes(out, (int)n) != 1)
        return err_set(ECERT_E_CRYPTO, "random: the DRBG failed");
    return ECERT_OK;
}

ecert_status random_token(char *out, size_t n)
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    size_t i = 0;
    while (i < n) {
        uint8_t r[64];
        ecert_status st = random_bytes(r, sizeof r);
        if (st)
            return st;
        /* Rejection sampling keeps every character equally likely:
         * 252 = 7 * 36 is the largest multiple of 36 below 256. */
        for (size_t k = 0; k < sizeof r && i < n; k++)
            if (r[k] < 252)
                out[i++] = alphabet[r[k] % 36];
    }
    out[n] = 0;
    return ECERT_OK;
}

/* ---- small secrets from a per-thread block ---------------------------------
 *
 * A signature needs 32 fresh private bytes; each RAND_priv_bytes call costs
 * about a microsecond of locking, parameter lookups and fork checks inside
 * OpenSSL — several per cent of a fast-engine signature. So each thread draws
 * RANDOM_BLOCK bytes at once and serves small requests from them, wiping
 * every byte as it is handed out (bytes never handed out were never used, so
 * they reveal nothing if found later in freed thread storage).
 *
 * After fork() the child holds a copy of the parent's block: serving from
 * it would give parent and child the same k — two signatures with one k
 * reveal the private key. A pthread_atfork child handler bumps a generation
 * counter; a block drawn under an older generation is thrown away. */
#define RANDOM_BLOCK 1024

struct random_block {
    uint8_t bytes[RANDOM_BLOCK];
    size_t used; /* bytes[0..used) are spent (and wiped) */
    unsigned long gen;
};

static _Thread_local struct random_block rnd_block = {.used = RANDOM_BLOCK};
static atomic_ulong rnd_gen = 1;
static pthread_once_t rnd_once = PTHREAD_ONCE_INIT;

static void rnd_after_fork(void)
{
    atomic_fetch_add(&rnd_gen, 1);
}

static void rnd_init(void)
{
    pthread_atfork(NULL, NULL, rnd_after_fork);
}

unsigned long random_fork_generation(void)
{
    pthread_once(&rnd_once, rnd_init);
    return atomic_load(&rnd_gen);
}

ecert_status random_bytes_small(void *out, size_t n)
{
    if (n > RANDOM_BLOCK / 16)
        return random_bytes(out, n);
    struct random_block *b = &rnd_block;
    unsigned long gen = random_fork_generation();
    if (b->gen != gen || RANDOM_BLOCK - b->used < n) {
        secure_wipe(b->bytes, sizeof b->bytes);
        b->used = RANDOM_BLOCK;
        ecert_status st = random_bytes(b->bytes, sizeof b->bytes);
        if (st)
            return st;
        b->used = 0;
        b->gen = gen;
    }
    memcpy(out, b->bytes + b->used, n);
    secure_wipe(b->bytes + b->used, n);
    b->used += n;
    return ECERT_OK;
}
