#include "crypto/pwhash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "common/codec.h"
#include "common/error.h"
#include "common/secure.h"
#include "crypto/random.h"

#define SALT_LEN 16
#define HASH_LEN 32
#define MAX_SECRET 1024

static ecert_status scrypt(const char *secret, size_t len, const uint8_t *salt, size_t saltlen,
                           uint64_t n, uint32_t r, uint32_t p, uint8_t out[HASH_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)secret, len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_end(),
    };
    ecert_status st = ECERT_OK;
    if (!ctx || EVP_KDF_derive(ctx, out, HASH_LEN, params) != 1)
        st = err_set(ECERT_E_CRYPTO, "scrypt failed");
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return st;
}

ecert_status pwhash_make(const char *secret, size_t len, char out[PWHASH_MAX])
{
    if (len > MAX_SECRET)
        return err_set(ECERT_E_TOO_LONG, "secret longer than %d bytes", MAX_SECRET);
    uint8_t salt[SALT_LEN], hash[HASH_LEN];
    ecert_status st = random_bytes(salt, sizeof salt);
    if (!st)
        st = scrypt(secret, len, salt, sizeof salt, 1u << 15, 8, 1, hash);
    if (!st) {
        char s64[BASE64_ENCODED_LEN(SALT_LEN) + 1], h64[BASE64_ENCODED_LEN(HASH_LEN) + 1];
        base64_encode(salt, sizeof salt, s64, BASE64_NOPAD);
        base64_encode(hash, sizeof hash, h64, BASE64_NOPAD);
        snprintf(out, PWHASH_MAX, "scrypt$%u$%u$%u$%s$%s", 1u << 15, 8u, 1u, s64, h64);
    }
    secure_wipe(hash, sizeof hash);
    return st;
}

/* Strict unsigned decimal in [1, max]. */
static int parse_u(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 10)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v == 0 || v > max)
        return 0;
    *out = v;
    return 1;
}

ecert_status pwhash_check(const char *secret, size_t len, const char *stored)
{
    if (len > MAX_SECRET)
        return err_set(ECERT_E_SECRET, "secret too long");
    const char *f[6];
    size_t fl[6], nf = 0;
    const char *p = stored;
    while (nf < 6) {
        const char *d = strchr(p, '$');
        f[nf] = p;
        fl[nf] = d ? (size_t)(d - p) : strlen(p);
        nf++;
        if (!d)
            break;
        p = d + 1;
    }
    uint64_t n, r, pp;
    uint8_t salt[64], want[64], got[HASH_LEN];
    size_t sl = 0, wl = 0;
    if (nf != 6 || fl[0] != 6 || memcmp(f[0], "scrypt", 6) != 0 ||
        !parse_u(f[1], fl[1], 1u << 20, &n) || (n & (n - 1)) != 0 || !parse_u(f[2], fl[2], 32, &r) ||
        !parse_u(f[3], fl[3], 16, &pp) ||
        base64_decode(f[4], fl[4], salt, sizeof salt, &sl, 0) != ECERT_OK ||
        base64_decode(f[5], fl[5], want, sizeof want, &wl, 0) != ECERT_OK || wl != HASH_LEN)
        return err_set(ECERT_E_MALFORMED, "stored secret hash is not in the scrypt format");
    ecert_status st = scrypt(secret, len, salt, sl, n, (uint32_t)r, (uint32_t)pp, got);
    if (!st && !secure_equal(got, want, HASH_LEN))
        st = err_set(ECERT_E_SECRET, "app secret does not match");
    secure_wipe(got, sizeof got);
    return st;
}
