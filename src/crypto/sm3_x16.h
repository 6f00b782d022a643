/*
 * sm3_x16.h — sixteen SM3 hashes at once, for the SM2 key derivation.
 *
 * The SM2 KDF (GB/T 32918.4 §5.4.3) hashes x2||y2||ct for ct = 1, 2, ...:
 * the same 64-byte prefix (one compressed block) and a 4-byte counter, so
 * each 32 bytes of key stream costs one more SM3 compression of a block that
 * differs between counters only in its first word. Those compressions are
 * independent; with AVX-512 sixteen of them run side by side, one per 32-bit
 * lane (a 512-byte message's whole key stream in one pass).
 */
#ifndef ECERT_CRYPTO_SM3_X16_H
#define ECERT_CRYPTO_SM3_X16_H

#include <stdbool.h>
#include <stdint.h>

/* true when this build and CPU can run sm3_kdf16 (x86-64 with AVX-512F). */
bool sm3_kdf16_available(void);

/* out[32i..32i+32) = SM3(P || be32(ct0 + i)) for i = 0..15 (mod 2^32),
 * where P is a 64-byte prefix and state the SM3 chaining value after
 * compressing it (struct sm3_ctx.h once 64 bytes went in). Only when
 * sm3_kdf16_available(). Its temporaries are wiped; out holds secrets. */
void sm3_kdf16(const uint32_t state[8], uint32_t ct0, uint8_t out[16 * 32]);

#endif
