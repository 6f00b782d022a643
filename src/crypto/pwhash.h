/*
 * pwhash.h — slow, salted hashes for app secrets (表8 appSecret), so that a
 * copy of the trust node's database does not reveal any secret.
 *
 * Format: "scrypt$<N>$<r>$<p>$<base64 salt>$<base64 hash>" (N=2^15, r=8, p=1,
 * 16-byte salt, 32-byte hash): parameters travel with the hash so they can be
 * raised later without invalidating stored secrets.
 */
#ifndef ECERT_CRYPTO_PWHASH_H
#define ECERT_CRYPTO_PWHASH_H

#include <stddef.h>

#include <ecert/ecert.h>

#define PWHASH_MAX 160

ecert_status pwhash_make(const char *secret, size_t len, char out[PWHASH_MAX]);
/* ECERT_OK when `secret` matches `stored`, ECERT_E_SECRET when not (compared in
 * constant time), ECERT_E_MALFORMED when `stored` is not a hash of ours. */
ecert_status pwhash_check(const char *secret, size_t len, const char *stored);

#endif
