/*
 * sm3.h — SM3 (GB/T 32905) and HMAC-SM3, on OpenSSL's implementation.
 */
#ifndef ECERT_CRYPTO_SM3_H
#define ECERT_CRYPTO_SM3_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#define SM3_LEN 32

/* Streaming hash; the context can be copied (sm3_copy) to reuse a common
 * prefix, which the SM2 KDF and Z computation use. */
struct sm3;
ecert_status sm3_new(struct sm3 **out);
ecert_status sm3_update(struct sm3 *h, const void *p, size_t n);
ecert_status sm3_final(struct sm3 *h, uint8_t out[SM3_LEN]);
/* Re-initialise for a new message. */
ecert_status sm3_reset(struct sm3 *h);
/* dst takes src's state (both must exist). */
ecert_status sm3_copy(struct sm3 *dst, const struct sm3 *src);
void sm3_free(struct sm3 *h);

ecert_status sm3_digest(const void *p, size_t n, uint8_t out[SM3_LEN]);
ecert_status hmac_sm3(const uint8_t *key, size_t keylen, const void *p, size_t n,
                      uint8_t out[SM3_LEN]);

#endif
