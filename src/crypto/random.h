/*
 * random.h — the CSPRNG (OpenSSL's DRBG) for keys, nonces and secrets.
 */
#ifndef ECERT_CRYPTO_RANDOM_H
#define ECERT_CRYPTO_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

ecert_status random_bytes(void *out, size_t n);
/* The same DRBG for requests of up to 64 bytes (ephemeral SM2 scalars),
 * served from a per-thread block drawn 1 KiB at a time: one DRBG call per
 * 32 signatures. Every byte is wiped as it is handed out; a block drawn
 * before a fork() is never served after it. */
ecert_status random_bytes_small(void *out, size_t n);
/* A number that changes in the child at every fork(): per-thread caches of
 * secrets (the fast engine's presigned k) compare it with the value they
 * were filled under and refill when it differs. */
unsigned long random_fork_generation(void);
/* n random characters of [0-9a-z] plus a NUL (nonces, ids): out holds n+1. */
ecert_status random_token(char *out, size_t n);

#endif
