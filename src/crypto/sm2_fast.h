/*
 * sm2_fast.h — the fast SM2 engine on sm2p256v1: 64-bit limb field arithmetic
 * (sm2_field.h), Jacobian points with a = -3 formulas, a precomputed table for
 * G, per-key tables for hot public keys, constant-time scalar multiplication
 * for everything that involves a secret. See docs/sm2-fast.md.
 *
 * Only sm2.c and sm2_cipher.c call this (plus tests, fuzzers and the bench);
 * everyone else goes through sm2.h, where sm2_engine_set() picks between
 * this engine and OpenSSL. All byte strings are big-endian, points are x||y.
 */
#ifndef ECERT_CRYPTO_SM2_FAST_H
#define ECERT_CRYPTO_SM2_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

/* false when this build has no fast engine (no 128-bit integers). */
bool sm2_fast_available(void);

/* ---- per-key state ---------------------------------------------------------*/

/* The public point in the engine's own form, plus a lazily built precomputed
 * table once the key has been used often enough (see sm2_fast_set_key_tables).
 * Shared across threads; its table goes with the key or on eviction. */
struct sm2_fast_pub;
/* The private scalar d, d in Montgomery form mod n and (1+d)^-1 mod n.
 * Allocated in OpenSSL's secure heap (when one is configured), wiped on free. */
struct sm2_fast_priv;

/* ECERT_E_MALFORMED when xy is not a point of the curve. */
ecert_status sm2_fast_pub_new(const uint8_t xy[64], struct sm2_fast_pub **out);
void sm2_fast_pub_free(struct sm2_fast_pub *p);
/* d must be in [1, n-2] (checked by the caller). When xy is not NULL, also
 * derives the public point d·G into it (constant time). */
ecert_status sm2_fast_priv_new(const uint8_t d[32], struct sm2_fast_priv **out, uint8_t xy[64]);
void sm2_fast_priv_free(struct sm2_fast_priv *p);

/* Per-key tables: a key's table is built (about 1 ms, ~150 KB) on its
 * `threshold`-th use for verification or encryption. At most `max` tables
 * exist in the process, as a least-recently-used cache: building one more
 * evicts the table used longest ago (its key then counts `threshold` uses
 * afresh before it gets a table again). A table in use by another thread
 * is freed only when that thread is done with it. max = 0 disables them
 * (and frees the idle ones); lowering max evicts down to it. Defaults:
 * threshold 16, max 128. Returns the previous max. */
size_t sm2_fast_set_key_tables(size_t max, unsigned threshold);
/* Number of per-key tables alive now (tests, bench). */
size_t sm2_fast_key_tables_live(void);
bool sm2_fast_pub_has_table(const struct sm2_fast_pub *p);

/* ---- operations ---------------------------------------------------------- */

/* Uniform k in [1, n-1] from the private DRBG. */
ecert_status sm2_fast_random_scalar(uint8_t k[32]);

/* GB/T 32918.2 signing of digest e. k_fixed NULL = random k; otherwise that k
 * (reduced mod n; known-answer tests only) and ECERT_E_ARG when it yields a
 * degenerate signature. */
ecert_status sm2_fast_sign(const struct sm2_fast_priv *d, const uint8_t e[32],
                           const uint8_t *k_fixed, uint8_t sig[64]);
/* ECERT_OK or ECERT_E_SIGNATURE (variable time: everything is public). */
ecert_status sm2_fast_verify(struct sm2_fast_pub *p, const uint8_t e[32], const uint8_t sig[64]);
/* C1 = k·G and (x2, y2) = k·P for encryption, constant time in k. k is
 * reduced mod n; ECERT_E_ARG when it is 0 mod n. */
ecert_status sm2_fast_encrypt_points(struct sm2_fast_pub *p, const uint8_t k[32], uint8_t c1[64],
                                     uint8_t x2y2[64]);
/* (x2, y2) = d·C1, constant time in d. ECERT_E_DECRYPT (no error text set)
 * when C1 is not a point of the curve. */
ecert_status sm2_fast_decrypt_point(const struct sm2_fast_priv *d, const uint8_t c1[64],
                                    uint8_t x2y2[64]);

/* ---- primitives exposed for differential tests and fuzzing ----------------*/

/* 1 when x||y is a point of the curve (coordinates < p, on the curve). */
int sm2_fast_point_valid(const uint8_t xy[64]);
/* k·G (constant time). Returns 0 when the result is the point at infinity. */
int sm2_fast_mul_base(const uint8_t k[32], uint8_t out[64]);
/* k·G for eight scalars at once on AVX-512 IFMA (sm2_x8.c; constant time),
 * each k in [1, n-1]: 1, 0 when some k is outside that range, -1 when the
 * CPU lacks AVX-512 IFMA. */
int sm2_fast_mul_base_x8(const uint8_t k[8][32], uint8_t out[8][64]);
/* k·P (constant time, P must be valid). 0 for infinity. */
int sm2_fast_mul_point(const uint8_t k[32], const uint8_t p[64], uint8_t out[64]);
/* s·G + t·P (variable time, P must be valid). 0 for infinity. */
int sm2_fast_mul_double(const uint8_t s[32], const uint8_t t[32], const uint8_t p[64],
                        uint8_t out[64]);
/* k·P through a per-key table built for P (constant time; tests). */
int sm2_fast_mul_point_table(const uint8_t k[32], const uint8_t p[64], uint8_t out[64]);
/* Field operations mod p on plain values (tests): '*', 's' (square), 'i'
 * (inverse by divsteps), 'f' (inverse by Fermat), '+', '-', 'h' (a / 2). -1
 * when an input is >= p. */
int sm2_fast_field_op(char op, const uint8_t a[32], const uint8_t b[32], uint8_t out[32]);

/* The arithmetic backend: "x64" (MULX/ADX multiplication, AVX2 table scans;
 * chosen when the CPU has them) or "generic" (portable C). The environment
 * variable ECERT_SM2_FAST_BACKEND=generic forces the portable one; tests
 * switch with sm2_fast_set_backend (0, or -1 when unavailable). Both give
 * identical results. */
const char *sm2_fast_backend(void);
int sm2_fast_set_backend(const char *name);

#endif
