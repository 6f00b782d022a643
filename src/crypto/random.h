/*
 * random.h — the CSPRNG (OpenSSL's DRBG) for keys, nonces and secrets.
 */
#ifndef ECERT_CRYPTO_RANDOM_H
#define ECERT_CRYPTO_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

ecert_status random_bytes(void *out, size_t n);
/* n random characters of [0-9a-z] plus a NUL (nonces, ids): out holds n+1. */
ecert_status random_token(char *out, size_t n);

#endif
