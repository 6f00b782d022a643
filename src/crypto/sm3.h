/*
 * sm3.h — SM3 (GB/T 32905-2016) and HMAC-SM3 (RFC 2104), written here.
 *
 * Two interfaces over one implementation:
 *  - struct sm3_ctx: plain memory, for the stack. init/update/final cannot
 *    fail and allocate nothing; a context is copied by struct assignment
 *    (the SM2 KDF hashes x2||y2 once and copies that state per counter).
 *    sm3_ctx_final wipes the context: call sm3_ctx_init before reusing it.
 *  - struct sm3: the same context on the heap, for callers that keep an
 *    opaque handle (streaming a file). sm3_final wipes and re-initialises it.
 * Contexts that hashed secrets are wiped by final; a context abandoned
 * before final must be wiped by its owner (secure_wipe).
 */
#ifndef ECERT_CRYPTO_SM3_H
#define ECERT_CRYPTO_SM3_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#define SM3_LEN 32
#define SM3_BLOCK 64

struct sm3_ctx {
    uint32_t h[8];
    uint64_t nbytes; /* message bytes absorbed so far */
    uint8_t buf[SM3_BLOCK];
    size_t nbuf; /* bytes waiting in buf, always < SM3_BLOCK */
};

void sm3_ctx_init(struct sm3_ctx *c);
void sm3_ctx_update(struct sm3_ctx *c, const void *p, size_t n);
void sm3_ctx_final(struct sm3_ctx *c, uint8_t out[SM3_LEN]);

/* Streaming hash on the heap; the context can be copied (sm3_copy) to reuse
 * a common prefix. */
struct sm3;
ecert_status sm3_new(struct sm3 **out);
ecert_status sm3_update(struct sm3 *h, const void *p, size_t n);
ecert_status sm3_final(struct sm3 *h, uint8_t out[SM3_LEN]);
/* Re-initialise for a new message. */
ecert_status sm3_reset(struct sm3 *h);
/* dst takes src's state (both must exist). */
ecert_status sm3_copy(struct sm3 *dst, const struct sm3 *src);
/* Wipes and frees; NULL is allowed. */
void sm3_free(struct sm3 *h);

/* The compression function is chosen once per process: "bmi2" (x86-64 with
 * BMI2, the rotations as RORX) or "generic" (portable C; same code, compiled
 * for the baseline). sm3_impl_set switches it (tests run both); it fails
 * when the CPU lacks the one named. */
ecert_status sm3_impl_set(const char *name);
const char *sm3_impl_name(void);

/* One-shot forms; they cannot fail and return ECERT_OK, kept as
 * ecert_status so that callers stay uniform. */
ecert_status sm3_digest(const void *p, size_t n, uint8_t out[SM3_LEN]);
ecert_status hmac_sm3(const uint8_t *key, size_t keylen, const void *p, size_t n,
                      uint8_t out[SM3_LEN]);

#endif
