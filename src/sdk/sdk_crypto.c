/*
 * sdk_crypto.c — the public key, SM2 and SM3 calls of the SDK, over the
 * internal crypto module.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/codec.h"
#include "common/error.h"
#include "common/secure.h"
#include "crypto/sm3.h"
#include "sdk/sdk.h"

ECERT_API void ecert_free(void *p)
{
    free(p);
}

ECERT_API ecert_status ecert_sm3(const void *data, size_t len, unsigned char out[ECERT_SM3_LEN])
{
    if (!data && len)
        return err_set(ECERT_E_ARG, "ecert_sm3: NULL data");
    return sm3_digest(data ? data : "", len, out);
}

static ecert_status wrap_key(ecert_status st, struct sm2_key *k, ecert_key **out)
{
    if (st)
        return st;
    ecert_key *h = malloc(sizeof *h);
    if (!h) {
        sm2_key_free(k);
        return err_set(ECERT_E_NOMEM, "out of memory");
    }
    h->k = k;
    *out = h;
    return ECERT_OK;
}

ECERT_API ecert_status ecert_key_generate(ecert_key **out)
{
    if (!out)
        return err_set(ECERT_E_ARG, "ecert_key_generate: NULL out");
    struct sm2_key *k = NULL;
    ecert_status st = sm2_key_generate(&k); /* before wrap_key reads k */
    return wrap_key(st, k, out);
}

ECERT_API ecert_status ecert_key_parse_private(const char *text, size_t len, ecert_key **out)
{
    if (!text || !out)
        return err_set(ECERT_E_ARG, "ecert_key_parse_private: NULL argument");
    struct sm2_key *k = NULL;
    ecert_status st = sm2_key_parse_private(text, len, &k); /* before wrap_key reads k */
    return wrap_key(st, k, out);
}

ECERT_API ecert_status ecert_key_parse_public(const char *text, size_t len, ecert_key **out)
{
    if (!text || !out)
        return err_set(ECERT_E_ARG, "ecert_key_parse_public: NULL argument");
    struct sm2_key *k = NULL;
    ecert_status st = sm2_key_parse_public(text, len, &k); /* before wrap_key reads k */
    return wrap_key(st, k, out);
}

ECERT_API void ecert_key_public_hex(const ecert_key *key, char out[131])
{
    sm2_key_public_hex(key->k, out);
}

ECERT_API ecert_status ecert_key_private_hex(const ecert_key *key, char out[65])
{
    uint8_t d[SM2_SCALAR_LEN];
    ecert_status st = sm2_key_private_bytes(key->k, d);
    if (!st)
        hex_encode(d, sizeof d, out);
    secure_wipe(d, sizeof d);
    return st;
}

ECERT_API int ecert_key_has_private(const ecert_key *key)
{
    return key && sm2_key_has_private(key->k);
}

ECERT_API void ecert_key_free(ecert_key *key)
{
    if (!key)
        return;
    sm2_key_free(key->k);
    free(key);
}

static size_t uid_len(const char *uid)
{
    return uid ? strlen(uid) : 0;
}

ECERT_API ecert_status ecert_sm2_sign(const ecert_key *key, const char *uid, const void *msg,
                                      size_t len, int raw, char **sig_out)
{
    if (!key || (!msg && len) || !sig_out)
        return err_set(ECERT_E_ARG, "ecert_sm2_sign: NULL argument");
    uint8_t rs[SM2_SIG_LEN];
    ecert_status st = sm2_sign(key->k, (const uint8_t *)uid, uid_len(uid), msg ? msg : "", len, rs);
    if (st)
        return st;
    char *out;
    if (raw) {
        out = malloc(2 * SM2_SIG_LEN + 1);
        if (out)
            hex_encode(rs, SM2_SIG_LEN, out);
    } else {
        uint8_t der[SM2_SIG_DER_MAX];
        size_t n = sm2_sig_to_der(rs, der);
        out = malloc(BASE64_ENCODED_LEN(n) + 1);
        if (out)
            base64_encode(der, n, out, 0);
    }
    if (!out)
        return err_set(ECERT_E_NOMEM, "out of memory");
    *sig_out = out;
    return ECERT_OK;
}

ECERT_API ecert_status ecert_sm2_verify(const ecert_key *key, const char *uid, const void *msg,
                                        size_t len, const char *sig, size_t sig_len)
{
    if (!key || (!msg && len) || !sig)
        return err_set(ECERT_E_ARG, "ecert_sm2_verify: NULL argument");
    uint8_t rs[SM2_SIG_LEN];
    ecert_status st = sm2_sig_decode_text(sig, sig_len, rs);
    if (st)
        return st;
    return sm2_verify(key->k, (const uint8_t *)uid, uid_len(uid), msg ? msg : "", len, rs);
}

ECERT_API ecert_status ecert_sm2_encrypt(const ecert_key *pub, const void *msg, size_t len,
                                         ecert_cipher_format fmt, char **out, size_t *out_len)
{
    if (!pub || (!msg && len) || !out)
        return err_set(ECERT_E_ARG, "ecert_sm2_encrypt: NULL argument");
    struct buf text = BUF_INIT(4 * ((size_t)SM2_MAX_PLAINTEXT + SM2_CIPHER_OVERHEAD));
    ecert_status st = sm2_encrypt_text(pub->k, msg ? msg : (const void *)"", len, fmt, &text);
    if (!st)
        st = buf_detach(&text, out, out_len);
    buf_release(&text);
    return st;
}

ECERT_API ecert_status ecert_sm2_decrypt(const ecert_key *key, const char *in, size_t in_len,
                                         unsigned char **out, size_t *out_len)
{
    if (!key || !in || !out)
        return err_set(ECERT_E_ARG, "ecert_sm2_decrypt: NULL argument");
    struct buf plain = BUF_INIT(SM2_MAX_PLAINTEXT);
    ecert_status st = sm2_decrypt(key->k, (const uint8_t *)in, in_len, 0, &plain);
    if (!st)
        st = buf_detach(&plain, (char **)out, out_len);
    buf_release_secret(&plain);
    return st;
}
