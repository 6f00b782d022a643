/*
 * sm2_x8.h — eight fixed-base multiplications k·G at once, on AVX-512 IFMA.
 *
 * A signature's cost is almost all one k·G, and k does not depend on the
 * message or the key: the fast engine computes k·G for eight random k at a
 * time into a per-thread pool (sm2_fast.c) and signs from it. Eight
 * independent multiplications fill the eight 64-bit lanes of an AVX-512
 * register, each field element as five 52-bit limbs multiplied by
 * VPMADD52LUQ/HUQ: no carry chains, which are what bound the scalar code
 * (docs/sm2-fast.md). Constant time in all eight scalars.
 *
 * Internal to the fast engine; sm2_fast.c decides when to use it.
 */
#ifndef ECERT_CRYPTO_SM2_X8_H
#define ECERT_CRYPTO_SM2_X8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SM2_X8_LANES 8

struct sm2_x8_table;

/* The CPU has AVX-512F and AVX-512 IFMA (and the build can use them). */
bool sm2_x8_available(void);

/* The fixed-base table in the 8-lane layout, from the fast engine's comb
 * for G: rows·size affine entries, each x[4] then y[4] in Montgomery form
 * (a·2^256 mod p), entry j of row i being (j+1)·2^(7i)·G. rows must be 37
 * and size 64. NULL when out of memory or unavailable. */
struct sm2_x8_table *sm2_x8_table_new(const uint64_t (*entries)[8], size_t rows, size_t size);
void sm2_x8_table_free(struct sm2_x8_table *t);

/* out[i] = affine x||y (big-endian) of k[i]·G, k[i] as four 64-bit limbs
 * (least significant first) in [1, n-1]. Constant time in the scalars.
 * Returns 1, or 0 when some k[i] is outside [1, n-1] (no output then). */
int sm2_x8_mul_base(const struct sm2_x8_table *t, const uint64_t k[SM2_X8_LANES][4],
                    uint8_t out[SM2_X8_LANES][64]);

#endif
