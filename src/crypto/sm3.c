#include "crypto/sm3.h"

#include <pthread.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/error.h"

struct sm3 {
    EVP_MD_CTX *ctx;
};

/* The SM3 implementation is fetched once: EVP_MD_fetch takes a lock and walks
 * the provider tables, which costs more than hashing a short message. */
static EVP_MD *sm3_md;
static pthread_once_t sm3_once = PTHREAD_ONCE_INIT;

static void sm3_fetch(void)
{
    sm3_md = EVP_MD_fetch(NULL, "SM3", NULL);
}

static const EVP_MD *sm3_evp(void)
{
    pthread_once(&sm3_once, sm3_fetch);
    return sm3_md;
}

ecert_status sm3_new(struct sm3 **out)
{
    const EVP_MD *md = sm3_evp();
    if (!md)
        return err_set(ECERT_E_CRYPTO, "SM3 is not available in this OpenSSL");
    struct sm3 *h = malloc(sizeof *h);
    if (!h)
        return err_set(ECERT_E_NOMEM, "out of memory");
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
        EVP_MD_CTX_free(h->ctx);
        free(h);
        return err_set(ECERT_E_CRYPTO, "SM3 init failed");
    }
    *out = h;
    return ECERT_OK;
}

ecert_status sm3_update(struct sm3 *h, const void *p, size_t n)
{
    if (n && EVP_DigestUpdate(h->ctx, p, n) != 1)
        return err_set(ECERT_E_CRYPTO, "SM3 update failed");
    return ECERT_OK;
}

ecert_status sm3_final(struct sm3 *h, uint8_t out[SM3_LEN])
{
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(h->ctx, out, &len) != 1 || len != SM3_LEN)
        return err_set(ECERT_E_CRYPTO, "SM3 final failed");
    return ECERT_OK;
}

ecert_status sm3_reset(struct sm3 *h)
{
    if (EVP_DigestInit_ex(h->ctx, sm3_evp(), NULL) != 1)
        return err_set(ECERT_E_CRYPTO, "SM3 init failed");
    return ECERT_OK;
}

ecert_status sm3_copy(struct sm3 *dst, const struct sm3 *src)
{
    if (EVP_MD_CTX_copy_ex(dst->ctx, src->ctx) != 1)
        return err_set(ECERT_E_CRYPTO, "SM3 copy failed");
    return ECERT_OK;
}

void sm3_free(struct sm3 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

ecert_status sm3_digest(const void *p, size_t n, uint8_t out[SM3_LEN])
{
    const EVP_MD *md = sm3_evp();
    if (!md)
        return err_set(ECERT_E_CRYPTO, "SM3 is not available in this OpenSSL");
    unsigned int len = 0;
    if (EVP_Digest(p, n, out, &len, md, NULL) != 1 || len != SM3_LEN)
        return err_set(ECERT_E_CRYPTO, "SM3 failed");
    return ECERT_OK;
}

ecert_status hmac_sm3(const uint8_t *key, size_t keylen, const void *p, size_t n,
                      uint8_t out[SM3_LEN])
{
    const EVP_MD *md = sm3_evp();
    unsigned int len = 0;
    if (!md || keylen > INT32_MAX || !HMAC(md, key, (int)keylen, p, n, out, &len) ||
        len != SM3_LEN)
        return err_set(ECERT_E_CRYPTO, "HMAC-SM3 failed");
    return ECERT_OK;
}
