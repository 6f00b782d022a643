/*
 * sm4.h — SM4 (GB/T 32907) block cipher modes.
 *
 * ECB single blocks, CBC with PKCS#7 padding and CTR come from OpenSSL.
 * GCM is ours (OpenSSL 3.0 has no SM4-GCM): GHASH over SM4 per NIST SP
 * 800-38D, checked against RFC 8998 A.1.
 */
#ifndef ECERT_CRYPTO_SM4_H
#define ECERT_CRYPTO_SM4_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#define SM4_KEY_LEN 16
#define SM4_BLOCK 16
#define SM4_GCM_TAG 16

/* One block, encrypt (enc=1) or decrypt (enc=0). */
ecert_status sm4_ecb_block(const uint8_t key[SM4_KEY_LEN], const uint8_t in[SM4_BLOCK],
                           uint8_t out[SM4_BLOCK], int enc);
/* CBC with PKCS#7 padding; out must hold len + 16 bytes when encrypting and
 * len bytes when decrypting. A wrong key or tampered data fails with
 * ECERT_E_DECRYPT (padding) — use an HMAC or GCM where integrity matters. */
ecert_status sm4_cbc_encrypt(const uint8_t key[SM4_KEY_LEN], const uint8_t iv[SM4_BLOCK],
                             const uint8_t *in, size_t len, uint8_t *out, size_t *outlen);
ecert_status sm4_cbc_decrypt(const uint8_t key[SM4_KEY_LEN], const uint8_t iv[SM4_BLOCK],
                             const uint8_t *in, size_t len, uint8_t *out, size_t *outlen);
/* CTR (128-bit big-endian counter); encryption and decryption are the same. */
ecert_status sm4_ctr(const uint8_t key[SM4_KEY_LEN], const uint8_t iv[SM4_BLOCK],
                     const uint8_t *in, size_t len, uint8_t *out);
/* GCM with a 12-byte nonce and a 16-byte tag. open() fails with
 * ECERT_E_DECRYPT when the tag does not match, writing nothing useful. */
ecert_status sm4_gcm_seal(const uint8_t key[SM4_KEY_LEN], const uint8_t nonce[12],
                          const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
                          uint8_t *out, uint8_t tag[SM4_GCM_TAG]);
ecert_status sm4_gcm_open(const uint8_t key[SM4_KEY_LEN], const uint8_t nonce[12],
                          const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
                          const uint8_t tag[SM4_GCM_TAG], uint8_t *out);

#endif
