/*
 * sm2.h — SM2 (GB/T 32918): keys, signatures, public-key encryption and every
 * wire encoding of them that the Chinese government ecosystem produces.
 *
 * Two engines run the elliptic-curve arithmetic (sm2_engine_set): ecert's own
 * constant-time engine for sm2p256v1 (sm2_fast.c) and OpenSSL 3.0 — EVP for
 * signatures, the EC_GROUP/EC_POINT primitives for encryption. The layout
 * (C1||C3||C2), the KDF and the C3 check are ours either way, so the legacy
 * order costs no second scalar multiplication. Keys are parsed once and are
 * immutable, reference counted and shareable across threads; they cache what
 * every operation needs (the public point, Z for the default user ID, the
 * fast engine's form of the key and, once a key is used often, its table).
 */
#ifndef ECERT_CRYPTO_SM2_H
#define ECERT_CRYPTO_SM2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/buf.h"

#define SM2_DEFAULT_ID "1234567812345678"
#define SM2_DEFAULT_ID_LEN 16
#define SM2_MAX_ID_LEN 8191  /* ENTL is a 16-bit count of bits */
#define SM2_SCALAR_LEN 32
#define SM2_POINT_LEN 64     /* x||y, without 04 */
#define SM2_SIG_LEN 64       /* r||s */
#define SM2_SIG_DER_MAX 72
#define SM2_C3_LEN 32
/* Ciphertexts: 04 + x + y + C3 + C2. */
#define SM2_CIPHER_OVERHEAD (1 + SM2_POINT_LEN + SM2_C3_LEN)
/* Largest plaintext accepted for encryption / produced by decryption. */
#define SM2_MAX_PLAINTEXT (32u << 20)

/* ---- engines --------------------------------------------------------------*/

/* Which implementation runs the scalar multiplications of sign, verify,
 * encrypt, decrypt and public-key derivation on sm2p256v1 (explicit curves
 * always use OpenSSL's BN/EC primitives). `fast` is ecert's own constant-time
 * engine (docs/sm2-fast.md); `openssl` is OpenSSL 3.0, kept as the reference
 * the fast engine is tested against. Both produce the same bytes for the same
 * inputs (and the same k). */
enum sm2_engine {
    SM2_ENGINE_OPENSSL = 0,
    SM2_ENGINE_FAST = 1,
};
/* Process-wide; meant to be set once at start (the node config's
 * crypto_engine), before keys are used from several threads. The initial
 * value is `fast` where it is built, unless the environment variable
 * ECERT_SM2_ENGINE=openssl|fast says otherwise. ECERT_E_ARG when the fast
 * engine is not built in (no 128-bit integers on this target). */
ecert_status sm2_engine_set(enum sm2_engine e);
enum sm2_engine sm2_engine_get(void);
/* "openssl" | "fast" */
ecert_status sm2_engine_from_name(const char *name, enum sm2_engine *out);
const char *sm2_engine_name(enum sm2_engine e);

/* ---- curves ---------------------------------------------------------------*/

/* Curve parameters. The production curve is sm2p256v1; other curves exist only
 * so that the GM/T 0003 example-curve vectors can run through the same code. */
struct sm2_curve;
const struct sm2_curve *sm2_curve_default(void);
/* Hex parameters, as printed in the standards (any case). */
ecert_status sm2_curve_new(const char *p, const char *a, const char *b, const char *n,
                           const char *gx, const char *gy, struct sm2_curve **out);
void sm2_curve_free(struct sm2_curve *c);

/* ---- keys ---------------------------------------------------------------- */

struct sm2_key;

ecert_status sm2_key_generate(struct sm2_key **out);
/* curve NULL = sm2p256v1. d must be in [1, n-2]. */
ecert_status sm2_key_from_private(const struct sm2_curve *curve, const uint8_t d[SM2_SCALAR_LEN],
                                  struct sm2_key **out);
/* The point must be on the curve and not the identity. */
ecert_status sm2_key_from_public(const struct sm2_curve *curve, const uint8_t xy[SM2_POINT_LEN],
                                 struct sm2_key **out);
/* 64 hex (or 66 with a leading 00), or PEM (PKCS#8 / EC PRIVATE KEY). */
ecert_status sm2_key_parse_private(const char *text, size_t len, struct sm2_key **out);
/* 130 hex starting 04, 128 hex, or PEM SubjectPublicKeyInfo. */
ecert_status sm2_key_parse_public(const char *text, size_t len, struct sm2_key **out);

struct sm2_key *sm2_key_ref(struct sm2_key *k);
void sm2_key_free(struct sm2_key *k);
bool sm2_key_has_private(const struct sm2_key *k);
const uint8_t *sm2_key_public_xy(const struct sm2_key *k);
/* "04" + 128 lowercase hex. */
void sm2_key_public_hex(const struct sm2_key *k, char out[131]);
ecert_status sm2_key_private_bytes(const struct sm2_key *k, uint8_t d[SM2_SCALAR_LEN]);
ecert_status sm2_key_private_pem(const struct sm2_key *k, struct buf *out);
ecert_status sm2_key_public_pem(const struct sm2_key *k, struct buf *out);
/* The OpenSSL EVP_PKEY (production curve only; NULL otherwise). Borrowed. */
void *sm2_key_evp(const struct sm2_key *k);

/* ---- signatures ---------------------------------------------------------- */

/* Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA). id NULL = default. */
ecert_status sm2_z(const struct sm2_key *k, const uint8_t *id, size_t idlen, uint8_t z[32]);
/* e = SM3(Z || M). */
ecert_status sm2_digest(const struct sm2_key *k, const uint8_t *id, size_t idlen, const void *msg,
                        size_t len, uint8_t e[32]);
ecert_status sm2_sign(const struct sm2_key *k, const uint8_t *id, size_t idlen, const void *msg,
                      size_t len, uint8_t sig[SM2_SIG_LEN]);
ecert_status sm2_sign_digest(const struct sm2_key *k, const uint8_t e[32], uint8_t sig[SM2_SIG_LEN]);
/* ECERT_OK when valid, ECERT_E_SIGNATURE when not. */
ecert_status sm2_verify(const struct sm2_key *k, const uint8_t *id, size_t idlen, const void *msg,
                        size_t len, const uint8_t sig[SM2_SIG_LEN]);
ecert_status sm2_verify_digest(const struct sm2_key *k, const uint8_t e[32],
                               const uint8_t sig[SM2_SIG_LEN]);
/* Known-answer tests only: a chosen k. A reused or predictable k reveals the
 * private key, so nothing outside tests calls this. */
ecert_status sm2_sign_digest_with_k(const struct sm2_key *k, const uint8_t e[32],
                                    const uint8_t kk[SM2_SCALAR_LEN], uint8_t sig[SM2_SIG_LEN]);

/* Encodings. DER output is minimal; DER input is lenient (der_integer_fixed). */
size_t sm2_sig_to_der(const uint8_t rs[SM2_SIG_LEN], uint8_t der[SM2_SIG_DER_MAX]);
ecert_status sm2_sig_from_der(const uint8_t *der, size_t len, uint8_t rs[SM2_SIG_LEN]);
/* Binary DER or raw 64-byte r||s. */
ecert_status sm2_sig_decode_bytes(const uint8_t *p, size_t len, uint8_t rs[SM2_SIG_LEN]);
/* Text: base64 or hex of DER or of raw r||s. */
ecert_status sm2_sig_decode_text(const char *text, size_t len, uint8_t rs[SM2_SIG_LEN]);

/* ---- encryption ---------------------------------------------------------- */

/* "hex", "hex04", "base64", "der". */
ecert_status sm2_cipher_format_from_name(const char *name, ecert_cipher_format *out);
const char *sm2_cipher_format_name(ecert_cipher_format f);

/* Appends 04||x1||y1||C3||C2 to `raw`. */
ecert_status sm2_encrypt(const struct sm2_key *pub, const uint8_t *msg, size_t len,
                         struct buf *raw);
/* Known-answer tests only (see sm2_sign_digest_with_k). */
ecert_status sm2_encrypt_with_k(const struct sm2_key *pub, const uint8_t *msg, size_t len,
                                const uint8_t kk[SM2_SCALAR_LEN], struct buf *raw);
/* Re-encodes a raw ciphertext (as from sm2_encrypt) as text in `fmt`. */
ecert_status sm2_cipher_encode(const uint8_t *raw, size_t len, ecert_cipher_format fmt,
                               struct buf *text);
/* sm2_encrypt + sm2_cipher_encode. */
ecert_status sm2_encrypt_text(const struct sm2_key *pub, const uint8_t *msg, size_t len,
                              ecert_cipher_format fmt, struct buf *text);

enum sm2_decrypt_flags {
    /* Accept only C1||C3||C2 (no fallback to the legacy C1||C2||C3 order). */
    SM2_DECRYPT_STRICT_ORDER = 1,
};
/* Decrypts `in` given in any SPEC §3.3 form: binary (raw with or without 04,
 * DER) or text (hex of any case, base64, base64 of hex, each of raw or DER).
 * Appends the plaintext to `plain` (use buf_release_secret on it).
 * ECERT_E_DECRYPT for anything that is not a ciphertext for this key. */
ecert_status sm2_decrypt(const struct sm2_key *k, const uint8_t *in, size_t len, int flags,
                         struct buf *plain);

#endif
