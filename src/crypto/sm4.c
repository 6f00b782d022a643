#include "crypto/sm4.h"

#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/error.h"
#include "common/secure.h"

/* One-shot OpenSSL cipher run: init, update, final. */
static ecert_status sm4_run(const char *name, int enc, int pad, const uint8_t *key,
                            const uint8_t *iv, const uint8_t *in, size_t len, uint8_t *out,
                            size_t *outlen)
{
    if (len > INT_MAX - SM4_BLOCK)
        return err_set(ECERT_E_TOO_LONG, "SM4: input too large");
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    ecert_status st = ECERT_OK;
    int n1 = 0, n2 = 0;
    if (!c || !ctx || EVP_CipherInit_ex(ctx, c, NULL, key, iv, enc) != 1) {
        st = err_set(ECERT_E_CRYPTO, "SM4 (%s) is not available", name);
        goto done;
    }
    EVP_CIPHER_CTX_set_padding(ctx, pad);
    if (EVP_CipherUpdate(ctx, out, &n1, in, (int)len) != 1) {
        st = err_set(ECERT_E_CRYPTO, "SM4 (%s) failed", name);
        goto done;
    }
    if (EVP_CipherFinal_ex(ctx, out + n1, &n2) != 1) {
        /* Only a decryption can fail here: bad padding or partial block. */
        st = err_set(ECERT_E_DECRYPT, "SM4 (%s): bad padding or length", name);
        goto done;
    }
    if (outlen)
        *outlen = (size_t)n1 + (size_t)n2;
done:
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return st;
}

ecert_status sm4_ecb_block(const uint8_t key[SM4_KEY_LEN], const uint8_t in[SM4_BLOCK],
                           uint8_t out[SM4_BLOCK], int enc)
{
    return sm4_run("SM4-ECB", enc, 0, key, NULL, in, SM4_BLOCK, out, NULL);
}

ecert_status sm4_cbc_encrypt(const uint8_t key[SM4_KEY_LEN], const uint8_t iv[SM4_BLOCK],
                             const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
    return sm4_run("SM4-CBC", 1, 1, key, iv, in, len, out, outlen);
}

ecert_status sm4_cbc_decrypt(const uint8_t key[SM4_KEY_LEN], const uint8_t iv[SM4_BLOCK],
                             const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
    if (len == 0 || len % SM4_BLOCK)
        return err_set(ECERT_E_DECRYPT, "SM4-CBC: length %zu is not a positive multiple of 16",
                       len);
    return sm4_run("SM4-CBC", 0, 1, key, iv, in, len, out, outlen);
}

ecert_status sm4_ctr(const uint8_t key[SM4_KEY_LEN], const uint8_t iv[SM4_BLOCK],
                     const uint8_t *in, size_t len, uint8_t *out)
{
    return sm4_run("SM4-CTR", 1, 0, key, iv, in, len, out, NULL);
}

/* ---- GCM ------------------------------------------------------------------
 * OpenSSL 3.0 has no SM4-GCM, so the mode is built here from SM4 blocks
 * (NIST SP 800-38D). GHASH multiplies bit by bit with masks instead of tables:
 * slower, but without secret-dependent memory access (H is key material).
 * Holder codes and other short secrets are what it protects. */

struct gcm {
    EVP_CIPHER_CTX *ecb;
    uint8_t h[16];
    uint8_t y[16]; /* GHASH accumulator */
};

static void gf128_mul(uint8_t x[16], const uint8_t h[16])
{
    uint64_t zh = 0, zl = 0;
    uint64_t vh = 0, vl = 0;
    for (int i = 0; i < 8; i++) {
        vh = vh << 8 | h[i];
        vl = vl << 8 | h[8 + i];
    }
    for (int i = 0; i < 128; i++) {
        uint64_t bit = (uint64_t)((x[i >> 3] >> (7 - (i & 7))) & 1);
        uint64_t m = (uint64_t)0 - bit;
        zh ^= vh & m;
        zl ^= vl & m;
        uint64_t lsb = (uint64_t)0 - (vl & 1);
        vl = (vl >> 1) | (vh << 63);
        vh = (vh >> 1) ^ (0xE100000000000000ULL & lsb);
    }
    for (int i = 0; i < 8; i++) {
        x[i] = (uint8_t)(zh >> (56 - 8 * i));
        x[8 + i] = (uint8_t)(zl >> (56 - 8 * i));
    }
}

static void ghash_update(struct gcm *g, const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t k = n < 16 ? n : 16;
        for (size_t i = 0; i < k; i++)
            g->y[i] ^= p[i];
        gf128_mul(g->y, g->h);
        p += k;
        n -= k;
    }
}

static ecert_status gcm_block(struct gcm *g, const uint8_t in[16], uint8_t out[16])
{
    int n = 0;
    if (EVP_EncryptUpdate(g->ecb, out, &n, in, 16) != 1 || n != 16)
        return err_set(ECERT_E_CRYPTO, "SM4 block failed");
    return ECERT_OK;
}

static ecert_status gcm_init(struct gcm *g, const uint8_t key[SM4_KEY_LEN])
{
    memset(g, 0, sizeof *g);
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "SM4-ECB", NULL);
    g->ecb = EVP_CIPHER_CTX_new();
    ecert_status st = ECERT_OK;
    if (!c || !g->ecb || EVP_EncryptInit_ex(g->ecb, c, NULL, key, NULL) != 1)
        st = err_set(ECERT_E_CRYPTO, "SM4 is not available");
    else
        EVP_CIPHER_CTX_set_padding(g->ecb, 0);
    EVP_CIPHER_free(c);
    static const uint8_t zero[16];
    if (!st)
        st = gcm_block(g, zero, g->h);
    return st;
}

static void gcm_release(struct gcm *g)
{
    EVP_CIPHER_CTX_free(g->ecb);
    secure_wipe(g, sizeof *g);
}

/* CTR with the 32-bit increment of GCM, starting at inc32(J0). */
static ecert_status gcm_ctr(struct gcm *g, const uint8_t j0[16], const uint8_t *in, size_t len,
                            uint8_t *out)
{
    uint8_t ctr[16], ks[16];
    memcpy(ctr, j0, 16);
    uint32_t c = (uint32_t)ctr[12] << 24 | (uint32_t)ctr[13] << 16 | (uint32_t)ctr[14] << 8 | ctr[15];
    for (size_t off = 0; off < len; off += 16) {
        c++;
        ctr[12] = (uint8_t)(c >> 24);
        ctr[13] = (uint8_t)(c >> 16);
        ctr[14] = (uint8_t)(c >> 8);
        ctr[15] = (uint8_t)c;
        ecert_status st = gcm_block(g, ctr, ks);
        if (st)
            return st;
        size_t k = len - off < 16 ? len - off : 16;
        for (size_t i = 0; i < k; i++)
            out[off + i] = in[off + i] ^ ks[i];
    }
    secure_wipe(ks, sizeof ks);
    return ECERT_OK;
}

static ecert_status gcm_tag(struct gcm *g, const uint8_t j0[16], const uint8_t *aad,
                            size_t aadlen, const uint8_t *ct, size_t len, uint8_t tag[16])
{
    uint8_t lens[16];
    uint64_t abits = (uint64_t)aadlen * 8, cbits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) {
        lens[i] = (uint8_t)(abits >> (56 - 8 * i));
        lens[8 + i] = (uint8_t)(cbits >> (56 - 8 * i));
    }
    memset(g->y, 0, 16);
    ghash_update(g, aad, aadlen);
    ghash_update(g, ct, len);
    ghash_update(g, lens, 16);
    uint8_t ek[16];
    ecert_status st = gcm_block(g, j0, ek);
    for (int i = 0; i < 16; i++)
        tag[i] = g->y[i] ^ ek[i];
    return st;
}

/* Plaintexts of GCM are limited to 2^32 - 2 blocks by the 32-bit counter. */
#define GCM_MAX ((size_t)0xFFFFFFFE * 16)

ecert_status sm4_gcm_seal(const uint8_t key[SM4_KEY_LEN], const uint8_t nonce[12],
                          const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
                          uint8_t *out, uint8_t tag[SM4_GCM_TAG])
{
    if (len > GCM_MAX)
        return err_set(ECERT_E_TOO_LONG, "SM4-GCM: input too large");
    struct gcm g;
    uint8_t j0[16];
    memcpy(j0, nonce, 12);
    j0[12] = j0[13] = j0[14] = 0;
    j0[15] = 1;
    ecert_status st = gcm_init(&g, key);
    if (!st)
        st = gcm_ctr(&g, j0, in, len, out);
    if (!st)
        st = gcm_tag(&g, j0, aad, aadlen, out, len, tag);
    gcm_release(&g);
    return st;
}

ecert_status sm4_gcm_open(const uint8_t key[SM4_KEY_LEN], const uint8_t nonce[12],
                          const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
                          const uint8_t tag[SM4_GCM_TAG], uint8_t *out)
{
    if (len > GCM_MAX)
        return err_set(ECERT_E_TOO_LONG, "SM4-GCM: input too large");
    struct gcm g;
    uint8_t j0[16], want[16];
    memcpy(j0, nonce, 12);
    j0[12] = j0[13] = j0[14] = 0;
    j0[15] = 1;
    ecert_status st = gcm_init(&g, key);
    if (!st)
        st = gcm_tag(&g, j0, aad, aadlen, in, len, want);
    if (!st && !secure_equal(want, tag, 16))
        st = err_set(ECERT_E_DECRYPT, "SM4-GCM: authentication tag mismatch");
    if (!st)
        st = gcm_ctr(&g, j0, in, len, out);
    gcm_release(&g);
    return st;
}
