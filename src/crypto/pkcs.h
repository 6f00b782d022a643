/*
 * pkcs.h — the public-key operations of CMS signatures in signed files:
 * digests by OID, verifying a SignerInfo's signature with the signer
 * certificate's key (RSA PKCS#1 v1.5 and PSS, ECDSA, Ed25519/Ed448 through
 * OpenSSL; SM2 through the project's code with the user ID
 * 1234567812345678, which OpenSSL 3.0's CMS cannot do), and ECDSA P-256
 * signing for the PDF signer.
 *
 * Only src/crypto includes OpenSSL; callers pass DER and bytes.
 */
#ifndef ECERT_CRYPTO_PKCS_H
#define ECERT_CRYPTO_PKCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#define PKCS_DIGEST_MAX 64

enum pkcs_hash {
    PKCS_HASH_UNKNOWN = 0,
    PKCS_HASH_SHA1,
    PKCS_HASH_SHA224,
    PKCS_HASH_SHA256,
    PKCS_HASH_SHA384,
    PKCS_HASH_SHA512,
    PKCS_HASH_SM3,
    PKCS_HASH_SHAKE256, /* id-shake256 (RFC 8419, Ed448): 64-byte output */
};

/* By dotted OID (digest algorithms; also the hash of sha*WithRSA / ecdsa-with-*
 * and SM2-with-SM3 signature OIDs). PKCS_HASH_UNKNOWN otherwise. */
enum pkcs_hash pkcs_hash_from_oid(const char *dotted);
/* "SHA-256", "SM3", ... */
const char *pkcs_hash_name(enum pkcs_hash h);
size_t pkcs_hash_len(enum pkcs_hash h);

/* A message given as pieces (a PDF's signed byte ranges). */
struct pkcs_chunk {
    const uint8_t *p;
    size_t n;
};

/* Digest of the concatenated chunks; out holds PKCS_DIGEST_MAX bytes. */
ecert_status pkcs_digest(enum pkcs_hash h, const struct pkcs_chunk *msg, size_t nchunks,
                         uint8_t out[PKCS_DIGEST_MAX], size_t *len);

/* Verifies `sig` over the message (the chunks) with the public key of the DER
 * certificate `cert`:
 *   - sig_alg is the SignerInfo's signatureAlgorithm (whole AlgorithmIdentifier
 *     TLV, parameters included: RSASSA-PSS needs them);
 *   - digest is the SignerInfo's digestAlgorithm.
 * The algorithm must fit the key (an RSA OID with an EC key fails), and the
 * digest must be one the algorithm allows (RFC 8419: Ed25519 with SHA-512,
 * Ed448 with SHAKE256; SM2 with SM3). ECERT_OK when valid; ECERT_E_SIGNATURE
 * when not, with the reason in why[]; ECERT_E_MALFORMED for a certificate or
 * key that cannot be read. */
ecert_status pkcs_verify(const uint8_t *cert, size_t cert_len, const uint8_t *sig_alg,
                         size_t sig_alg_len, enum pkcs_hash digest, const struct pkcs_chunk *msg,
                         size_t nchunks, const uint8_t *sig, size_t sig_len, char *why,
                         size_t whycap);

/* ECDSA P-256 with SHA-256 over msg[0..len): a DER signature of at most
 * PKCS_ECDSA_SIG_MAX bytes. key_pem is a PEM private key (PKCS#8 or
 * "EC PRIVATE KEY") on prime256v1. */
#define PKCS_ECDSA_SIG_MAX 80
ecert_status pkcs_ecdsa_p256_sign(const char *key_pem, size_t key_len, const uint8_t *msg,
                                  size_t len, uint8_t sig[PKCS_ECDSA_SIG_MAX], size_t *sig_len);

/* true when the PEM private key belongs to the DER certificate. */
bool pkcs_key_matches_cert(const char *key_pem, size_t key_len, const uint8_t *cert,
                           size_t cert_len);

#endif
