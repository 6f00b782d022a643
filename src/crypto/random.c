#include "crypto/random.h"

#include <openssl/rand.h>

#include "common/error.h"

ecert_status random_bytes(void *out, size_t n)
{
    if (n > (size_t)INT32_MAX)
        return err_set(ECERT_E_ARG, "random: request too large");
    /* RAND_priv_bytes: a DRBG instance separate from the public one, so that
     * nonces we publish never share a stream with key material. */
    if (RAND_priv_bytes(out, (int)n) != 1)
        return err_set(ECERT_E_CRYPTO, "random: the DRBG failed");
    return ECERT_OK;
}

ecert_status random_token(char *out, size_t n)
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    size_t i = 0;
    while (i < n) {
        uint8_t r[64];
        ecert_status st = random_bytes(r, sizeof r);
        if (st)
            return st;
        /* Rejection sampling keeps every character equally likely:
         * 252 = 7 * 36 is the largest multiple of 36 below 256. */
        for (size_t k = 0; k < sizeof r && i < n; k++)
            if (r[k] < 252)
                out[i++] = alphabet[r[k] % 36];
    }
    out[n] = 0;
    return ECERT_OK;
}
