/*
 * sm2.c — SM2 curves, keys and signatures on OpenSSL 3.0.
 *
 * Signatures on the production curve go through EVP (OpenSSL's vetted,
 * constant-time signing) with a digest e = SM3(Z || M) that we compute
 * ourselves: Z depends only on the key and the user ID, so it is computed once
 * per key for the default ID, and the user ID is always explicit (OpenSSL
 * 3.0's default is empty, which no Chinese peer uses).
 *
 * Curves other than sm2p256v1 (the GM/T 0003 example curve of the test
 * vectors) have no EVP key; their signatures use the primitive path below,
 * which is also what sm2_sign_digest_with_k uses for known-answer tests on
 * the OpenSSL engine.
 *
 * With the fast engine selected (the default, see sm2_engine_set), keys on
 * sm2p256v1 carry the engine's own form of the key, and signing, verification
 * and public-key derivation go through sm2_fast.c instead; everything around
 * them (Z, e, encodings, checks) is shared.
 */
#include "crypto/sm2.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "common/codec.h"
#include "common/error.h"
#include "common/secure.h"
#include "crypto/random.h"
#include "crypto/sm2_internal.h"
#include "crypto/sm3.h"

/* ---- engines --------------------------------------------------------------*/

static atomic_int engine;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

/* The initial engine: fast when built in, unless ECERT_SM2_ENGINE says
 * otherwise (a way to run any binary, e.g. the whole test suite, on the
 * reference engine without a config file). */
static void engine_init(void)
{
    enum sm2_engine e = sm2_fast_available() ? SM2_ENGINE_FAST : SM2_ENGINE_OPENSSL;
    const char *env = getenv("ECERT_SM2_ENGINE");
    enum sm2_engine want;
    if (env && *env && sm2_engine_from_name(env, &want) == ECERT_OK &&
        (want == SM2_ENGINE_OPENSSL || sm2_fast_available()))
        e = want;
    atomic_store(&engine, (int)e);
}

ecert_status sm2_engine_set(enum sm2_engine e)
{
    pthread_once(&engine_once, engine_init);
    if (e != SM2_ENGINE_OPENSSL && e != SM2_ENGINE_FAST)
        return err_set(ECERT_E_ARG, "unknown SM2 engine %d", (int)e);
    if (e == SM2_ENGINE_FAST && !sm2_fast_available())
        return err_set(ECERT_E_ARG, "the fast SM2 engine is not built in (no 128-bit integers)");
    atomic_store(&engine, (int)e);
    return ECERT_OK;
}

enum sm2_engine sm2_engine_get(void)
{
    pthread_once(&engine_once, engine_init);
    return (enum sm2_engine)atomic_load_explicit(&engine, memory_order_relaxed);
}

ecert_status sm2_engine_from_name(const char *name, enum sm2_engine *out)
{
    if (strcmp(name, "fast") == 0)
        *out = SM2_ENGINE_FAST;
    else if (strcmp(name, "openssl") == 0)
        *out = SM2_ENGINE_OPENSSL;
    else
        return err_set(ECERT_E_ARG, "unknown SM2 engine '%.32s' (fast|openssl)", name);
    return ECERT_OK;
}

const char *sm2_engine_name(enum sm2_engine e)
{
    return e == SM2_ENGINE_FAST ? "fast" : "openssl";
}

bool sm2_key_use_fast(const struct sm2_key *k)
{
    return k->fpub && sm2_engine_get() == SM2_ENGINE_FAST;
}

/* ---- curves ---------------------------------------------------------------*/

static struct sm2_curve default_curve;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static int default_ok;

/* Fills the byte copies of a, b, G used in Z, and n/n-1 for range checks. */
static int curve_finish(struct sm2_curve *c)
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new(), *x = BN_new(), *y = BN_new();
    int ok = ctx && p && a && b && x && y && EC_GROUP_get_curve(c->group, p, a, b, ctx) &&
             EC_POINT_get_affine_coordinates(c->group, EC_GROUP_get0_generator(c->group), x, y,
                                             ctx) &&
             BN_bn2binpad(a, c->a, 32) == 32 && BN_bn2binpad(b, c->b, 32) == 32 &&
             BN_bn2binpad(x, c->gx, 32) == 32 && BN_bn2binpad(y, c->gy, 32) == 32;
    if (ok) {
        c->n = BN_dup(EC_GROUP_get0_order(c->group));
        c->n_minus_1 = BN_dup(c->n);
        ok = c->n && c->n_minus_1 && BN_sub_word(c->n_minus_1, 1) &&
             BN_num_bytes(c->n) <= SM2_SCALAR_LEN;
    }
    BN_free(p), BN_free(a), BN_free(b), BN_free(x), BN_free(y);
    BN_CTX_free(ctx);
    return ok;
}

static void default_init(void)
{
    default_curve.group = EC_GROUP_new_by_curve_name(NID_sm2);
    default_curve.is_default = 1;
    default_ok = default_curve.group && curve_finish(&default_curve);
}

const struct sm2_curve *sm2_curve_default(void)
{
    pthread_once(&default_once, default_init);
    return default_ok ? &default_curve : NULL;
}

ecert_status sm2_curve_new(const char *p, const char *a, const char *b, const char *n,
                           const char *gx, const char *gy, struct sm2_curve **out)
{
    BIGNUM *bp = NULL, *ba = NULL, *bb = NULL, *bn = NULL, *bx = NULL, *by = NULL;
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT *g = NULL;
    struct sm2_curve *c = calloc(1, sizeof *c);
    ecert_status st = ECERT_OK;
    if (!c || !ctx || !BN_hex2bn(&bp, p) || !BN_hex2bn(&ba, a) || !BN_hex2bn(&bb, b) ||
        !BN_hex2bn(&bn, n) || !BN_hex2bn(&bx, gx) || !BN_hex2bn(&by, gy)) {
        st = err_set(ECERT_E_MALFORMED, "curve: bad hex parameter");
        goto done;
    }
    c->group = EC_GROUP_new_curve_GFp(bp, ba, bb, ctx);
    g = c->group ? EC_POINT_new(c->group) : NULL;
    if (!g || !EC_POINT_set_affine_coordinates(c->group, g, bx, by, ctx) ||
        !EC_GROUP_set_generator(c->group, g, bn, BN_value_one()) || !curve_finish(c)) {
        st = err_set(ECERT_E_MALFORMED, "curve: inconsistent parameters");
        goto done;
    }
    *out = c;
    c = NULL;
done:
    sm2_curve_free(c);
    EC_POINT_free(g);
    BN_free(bp), BN_free(ba), BN_free(bb), BN_free(bn), BN_free(bx), BN_free(by);
    BN_CTX_free(ctx);
    return st;
}

void sm2_curve_free(struct sm2_curve *c)
{
    if (!c || c->is_default)
        return;
    EC_GROUP_free(c->group);
    BN_free(c->n);
    BN_free(c->n_minus_1);
    free(c);
}

/* ---- keys -----------------------------------------------------------------*/

static struct sm2_key *key_alloc(const struct sm2_curve *curve)
{
    struct sm2_key *k = calloc(1, sizeof *k);
    if (!k) {
        err_set(ECERT_E_NOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&k->refs, 1);
    k->curve = curve;
    return k;
}

/* Builds the EVP_PKEY for a production-curve key from its raw parts. */
static ecert_status key_build_evp(struct sm2_key *k)
{
    uint8_t pub[1 + SM2_POINT_LEN];
    pub[0] = 0x04;
    memcpy(pub + 1, k->xy, SM2_POINT_LEN);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
    ecert_status st = ECERT_OK;
    if (!bld || !pctx ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_sm2, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub) ||
        (k->d && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, k->d)) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) || EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, &k->pkey, k->d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                          params) != 1)
        st = err_set(ECERT_E_CRYPTO, "SM2: cannot build the OpenSSL key");
    OSSL_PARAM_free(params); /* frees (and for secure params, clears) */
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(pctx);
    return st;
}

/* Common tail of key construction: the public point is set; derive the
 * cached parts (xy bytes, Z for the default ID, EVP key). */
static ecert_status key_finish(struct sm2_key *k)
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *x = BN_new(), *y = BN_new();
    ecert_status st = ECERT_OK;
    if (!ctx || !x || !y ||
        !EC_POINT_get_affine_coordinates(k->curve->group, k->pub, x, y, ctx) ||
        BN_bn2binpad(x, k->xy, 32) != 32 || BN_bn2binpad(y, k->xy + 32, 32) != 32)
        st = err_set(ECERT_E_CRYPTO, "SM2: cannot read the public point");
    BN_free(x), BN_free(y);
    BN_CTX_free(ctx);
    if (!st)
        st = sm2_z_compute(k, (const uint8_t *)SM2_DEFAULT_ID, SM2_DEFAULT_ID_LEN, k->z_default);
    if (!st && k->curve->is_default)
        st = key_build_evp(k);
    /* Both engines' forms exist for every production-curve key, so the
     * engine can be switched while keys exist (tests compare them). */
    if (!st && k->curve->is_default && sm2_fast_available())
        st = sm2_fast_pub_new(k->xy, &k->fpub);
    return st;
}

ecert_status sm2_key_from_private(const struct sm2_curve *curve, const uint8_t d[SM2_SCALAR_LEN],
                                  struct sm2_key **out)
{
    if (!curve && !(curve = sm2_curve_default()))
        return err_set(ECERT_E_CRYPTO, "SM2 curve unavailable");
    struct sm2_key *k = key_alloc(curve);
    if (!k)
        return ECERT_E_NOMEM;
    ecert_status st = ECERT_OK;
    BN_CTX *ctx = BN_CTX_new();
    /* The private scalar lives in OpenSSL's secure heap when one is set up and
     * is flagged constant-time so BN code takes its constant-time paths. */
    k->d = BN_secure_new();
    if (!ctx || !k->d || !BN_bin2bn(d, SM2_SCALAR_LEN, k->d)) {
        st = err_set(ECERT_E_NOMEM, "out of memory");
        goto done;
    }
    BN_set_flags(k->d, BN_FLG_CONSTTIME);
    /* d must be in [1, n-2]: signing divides by 1+d. */
    if (BN_is_zero(k->d) || BN_cmp(k->d, curve->n_minus_1) >= 0) {
        st = err_set(ECERT_E_MALFORMED, "private key out of range [1, n-2]");
        goto done;
    }
    if (curve->is_default && sm2_fast_available()) {
        /* The fast engine's scalars ((1+d)^-1 etc.) and, when it is the
         * selected engine, the public point d·G (constant time). */
        uint8_t xy[SM2_POINT_LEN];
        bool fast = sm2_engine_get() == SM2_ENGINE_FAST;
        if ((st = sm2_fast_priv_new(d, &k->fpriv, fast ? xy : NULL)))
            goto done;
        if (fast) {
            st = sm2_point_from_xy(curve, xy, &k->pub);
            if (st) {
                st = err_set(ECERT_E_CRYPTO, "SM2: cannot derive the public key");
                goto done;
            }
        }
    }
    if (!k->pub) {
        k->pub = EC_POINT_new(curve->group);
        if (!k->pub || !EC_POINT_mul(curve->group, k->pub, k->d, NULL, NULL, ctx)) {
            st = err_set(ECERT_E_CRYPTO, "SM2: cannot derive the public key");
            goto done;
        }
    }
    k->has_private = true;
    st = key_finish(k);
done:
    BN_CTX_free(ctx);
    if (st) {
        sm2_key_free(k);
        return st;
    }
    *out = k;
    return ECERT_OK;
}

ecert_status sm2_key_from_public(const struct sm2_curve *curve, const uint8_t xy[SM2_POINT_LEN],
                                 struct sm2_key **out)
{
    if (!curve && !(curve = sm2_curve_default()))
        return err_set(ECERT_E_CRYPTO, "SM2 curve unavailable");
    struct sm2_key *k = key_alloc(curve);
    if (!k)
        return ECERT_E_NOMEM;
    ecert_status st = sm2_point_from_xy(curve, xy, &k->pub);
    if (!st)
        st = key_finish(k);
    if (st) {
        sm2_key_free(k);
        /* err_wrap, not err_set with err_detail(): the detail buffer cannot
         * be both the format argument and the destination. */
        return st == ECERT_E_DECRYPT ? err_wrap(ECERT_E_MALFORMED, "public key") : st;
    }
    *out = k;
    return ECERT_OK;
}

ecert_status sm2_key_generate(struct sm2_key **out)
{
    const struct sm2_curve *c = sm2_curve_default();
    if (!c)
        return err_set(ECERT_E_CRYPTO, "SM2 curve unavailable");
    uint8_t d[SM2_SCALAR_LEN];
    ecert_status st;
    /* Rejection sampling: uniform in [1, n-2] (n is close to 2^256, so a
     * retry is rare). */
    for (int tries = 0; tries < 64; tries++) {
        st = random_bytes(d, sizeof d);
        if (st)
            break;
        st = sm2_key_from_private(c, d, out);
        if (st != ECERT_E_MALFORMED)
            break;
    }
    secure_wipe(d, sizeof d);
    return st;
}

/* Encrypted PEM keys are refused, never prompted for: without this callback
 * OpenSSL asks for a pass phrase on the terminal and a daemon or a test hangs. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static bool looks_like_pem(const char *text, size_t len)
{
    return len >= 10 && memmem(text, len, "-----BEGIN", 10) != NULL;
}

/* Trims ASCII whitespace at both ends. */
static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t' || **s == '\r' || **s == '\n'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r' ||
                  (*s)[*n - 1] == '\n'))
        (*n)--;
}

#define KEY_TEXT_MAX 16384

/* An EVP key read from PEM must be on the SM2 curve. */
static ecert_status pem_group_check(EVP_PKEY *pk)
{
    char group[64] = "";
    if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       NULL) != 1 ||
        strcmp(group, SN_sm2) != 0)
        return err_set(ECERT_E_MALFORMED, "PEM key is not on the SM2 curve (group '%s')", group);
    return ECERT_OK;
}

ecert_status sm2_key_parse_private(const char *text, size_t len, struct sm2_key **out)
{
    if (len > KEY_TEXT_MAX)
        return err_set(ECERT_E_TOO_LONG, "private key text exceeds %d bytes", KEY_TEXT_MAX);
    trim(&text, &len);
    uint8_t d[SM2_SCALAR_LEN + 1];
    ecert_status st;
    if (looks_like_pem(text, len)) {
        BIO *bio = BIO_new_mem_buf(text, (int)len);
        EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
        BIO_free(bio);
        if (!pk)
            return err_set(ECERT_E_MALFORMED, "private key: unreadable PEM");
        BIGNUM *bn = NULL;
        st = pem_group_check(pk);
        if (!st && (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &bn) != 1 ||
                    BN_bn2binpad(bn, d, SM2_SCALAR_LEN) != SM2_SCALAR_LEN))
            st = err_set(ECERT_E_MALFORMED, "private key: PEM holds no usable private scalar");
        BN_clear_free(bn);
        EVP_PKEY_free(pk);
        if (!st)
            st = sm2_key_from_private(NULL, d, out);
        secure_wipe(d, sizeof d);
        return st;
    }
    if (len != 64 && len != 66)
        return err_set(ECERT_E_MALFORMED,
                       "private key: %zu characters, expected 64 hex digits (or 66 with 00) or PEM",
                       len);
    size_t n = 0;
    st = hex_decode(text, len, d, sizeof d, &n);
    if (st)
        return err_wrap(st, "private key");
    if (n == 33 && d[0] != 0) {
        secure_wipe(d, sizeof d);
        return err_set(ECERT_E_MALFORMED, "private key: 66 hex digits must start with 00");
    }
    st = sm2_key_from_private(NULL, n == 33 ? d + 1 : d, out);
    secure_wipe(d, sizeof d);
    if (st == ECERT_E_MALFORMED)
        return err_wrap(st, "private key");
    return st;
}

ecert_status sm2_key_parse_public(const char *text, size_t len, struct sm2_key **out)
{
    if (len > KEY_TEXT_MAX)
        return err_set(ECERT_E_TOO_LONG, "public key text exceeds %d bytes", KEY_TEXT_MAX);
    trim(&text, &len);
    uint8_t pt[1 + SM2_POINT_LEN];
    ecert_status st;
    if (looks_like_pem(text, len)) {
        BIO *bio = BIO_new_mem_buf(text, (int)len);
        EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL) : NULL;
        BIO_free(bio);
        if (!pk)
            return err_set(ECERT_E_MALFORMED, "public key: unreadable PEM");
        uint8_t oct[133];
        size_t olen = 0;
        st = pem_group_check(pk);
        if (!st && EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, oct, sizeof oct,
                                                   &olen) != 1)
            st = err_set(ECERT_E_MALFORMED, "public key: PEM holds no point");
        EVP_PKEY_free(pk);
        if (st)
            return st;
        /* Points may be stored compressed; let OpenSSL expand them. */
        const struct sm2_curve *c = sm2_curve_default();
        EC_POINT *p = c ? EC_POINT_new(c->group) : NULL;
        if (!p || !EC_POINT_oct2point(c->group, p, oct, olen, NULL) ||
            EC_POINT_point2oct(c->group, p, POINT_CONVERSION_UNCOMPRESSED, pt, sizeof pt, NULL) !=
                sizeof pt)
            st = err_set(ECERT_E_MALFORMED, "public key: PEM point not on the curve");
        EC_POINT_free(p);
        return st ? st : sm2_key_from_public(NULL, pt + 1, out);
    }
    size_t n = 0;
    if (len != 128 && len != 130)
        return err_set(ECERT_E_MALFORMED,
                       "public key: %zu characters, expected 130 hex digits starting 04, 128, "
                       "or PEM",
                       len);
    st = hex_decode(text, len, pt, sizeof pt, &n);
    if (st)
        return err_wrap(st, "public key");
    if (n == 65 && pt[0] != 0x04)
        return err_set(ECERT_E_MALFORMED,
                       "public key: 130 hex digits must start with 04 (uncompressed point)");
    return sm2_key_from_public(NULL, n == 65 ? pt + 1 : pt, out);
}

struct sm2_key *sm2_key_ref(struct sm2_key *k)
{
    if (k)
        atomic_fetch_add(&k->refs, 1);
    return k;
}

void sm2_key_free(struct sm2_key *k)
{
    if (!k || atomic_fetch_sub(&k->refs, 1) != 1)
        return;
    BN_clear_free(k->d);
    EC_POINT_free(k->pub);
    EVP_PKEY_free(k->pkey);
    sm2_fast_pub_free(k->fpub);
    sm2_fast_priv_free(k->fpriv);
    secure_wipe(k, sizeof *k);
    free(k);
}

bool sm2_key_has_private(const struct sm2_key *k)
{
    return k && k->has_private;
}

const uint8_t *sm2_key_public_xy(const struct sm2_key *k)
{
    return k->xy;
}

void sm2_key_public_hex(const struct sm2_key *k, char out[131])
{
    out[0] = '0';
    out[1] = '4';
    hex_encode(k->xy, SM2_POINT_LEN, out + 2);
}

ecert_status sm2_key_private_bytes(const struct sm2_key *k, uint8_t d[SM2_SCALAR_LEN])
{
    if (!k->has_private)
        return err_set(ECERT_E_ARG, "key has no private part");
    if (BN_bn2binpad(k->d, d, SM2_SCALAR_LEN) != SM2_SCALAR_LEN)
        return err_set(ECERT_E_CRYPTO, "cannot export the private key");
    return ECERT_OK;
}

void *sm2_key_evp(const struct sm2_key *k)
{
    return k->pkey;
}

static ecert_status pem_out(const struct sm2_key *k, int private, struct buf *out)
{
    if (!k->pkey)
        return err_set(ECERT_E_ARG, "PEM is only defined for keys on sm2p256v1");
    if (private && !k->has_private)
        return err_set(ECERT_E_ARG, "key has no private part");
    BIO *bio = BIO_new(BIO_s_secmem());
    if (!bio)
        return err_set(ECERT_E_NOMEM, "out of memory");
    int ok = private ? PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL)
                     : PEM_write_bio_PUBKEY(bio, k->pkey);
    ecert_status st = ECERT_OK;
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (!ok || n <= 0)
        st = err_set(ECERT_E_CRYPTO, "cannot write PEM");
    else
        st = buf_append(out, data, (size_t)n);
    BIO_free(bio); /* secure-memory BIO: cleared on free */
    return st;
}

ecert_status sm2_key_private_pem(const struct sm2_key *k, struct buf *out)
{
    return pem_out(k, 1, out);
}

ecert_status sm2_key_public_pem(const struct sm2_key *k, struct buf *out)
{
    return pem_out(k, 0, out);
}

/* ---- points ---------------------------------------------------------------*/

ecert_status sm2_point_from_xy(const struct sm2_curve *c, const uint8_t xy[SM2_POINT_LEN],
                               EC_POINT **out)
{
    uint8_t oct[1 + SM2_POINT_LEN];
    oct[0] = 0x04;
    memcpy(oct + 1, xy, SM2_POINT_LEN);
    EC_POINT *p = EC_POINT_new(c->group);
    if (!p)
        return err_set(ECERT_E_NOMEM, "out of memory");
    /* oct2point checks that the point is on the curve; the identity has no
     * uncompressed encoding, so it cannot come through here. */
    if (!EC_POINT_oct2point(c->group, p, oct, sizeof oct, NULL)) {
        EC_POINT_free(p);
        return err_set(ECERT_E_DECRYPT, "point not on the curve");
    }
    *out = p;
    return ECERT_OK;
}

/* ---- signatures -----------------------------------------------------------*/

ecert_status sm2_z_compute(const struct sm2_key *k, const uint8_t *id, size_t idlen,
                           uint8_t z[32])
{
    if (idlen > SM2_MAX_ID_LEN)
        return err_set(ECERT_E_TOO_LONG, "SM2 user ID of %zu bytes (at most %d)", idlen,
                       SM2_MAX_ID_LEN);
    uint8_t entl[2] = {(uint8_t)((idlen * 8) >> 8), (uint8_t)(idlen * 8)};
    uint8_t buf[2 + 6 * 32];
    const struct sm2_curve *c = k->curve;
    memcpy(buf, c->a, 32);
    memcpy(buf + 32, c->b, 32);
    memcpy(buf + 64, c->gx, 32);
    memcpy(buf + 96, c->gy, 32);
    memcpy(buf + 128, k->xy, 64);
    struct sm3_ctx h;
    sm3_ctx_init(&h);
    sm3_ctx_update(&h, entl, 2);
    sm3_ctx_update(&h, id, idlen);
    sm3_ctx_update(&h, buf, 192);
    sm3_ctx_final(&h, z);
    return ECERT_OK;
}

ecert_status sm2_z(const struct sm2_key *k, const uint8_t *id, size_t idlen, uint8_t z[32])
{
    if (!id || (idlen == SM2_DEFAULT_ID_LEN && memcmp(id, SM2_DEFAULT_ID, idlen) == 0)) {
        memcpy(z, k->z_default, 32);
        return ECERT_OK;
    }
    return sm2_z_compute(k, id, idlen, z);
}

ecert_status sm2_digest(const struct sm2_key *k, const uint8_t *id, size_t idlen, const void *msg,
                        size_t len, uint8_t e[32])
{
    uint8_t z[32];
    ecert_status st = sm2_z(k, id, idlen, z);
    if (st)
        return st;
    struct sm3_ctx h;
    sm3_ctx_init(&h);
    sm3_ctx_update(&h, z, 32);
    sm3_ctx_update(&h, msg, len);
    sm3_ctx_final(&h, e);
    return ECERT_OK;
}

/* The primitive signing equations (GB/T 32918.2 §6.1), for curves without
 * an EVP key and for known-answer tests. */
static ecert_status sign_primitive(const struct sm2_key *k, const uint8_t e[32],
                                   const uint8_t *kk_fixed, uint8_t sig[SM2_SIG_LEN])
{
    const struct sm2_curve *c = k->curve;
    BN_CTX *ctx = BN_CTX_secure_new();
    EC_POINT *kg = EC_POINT_new(c->group);
    BIGNUM *kk = NULL, *x1 = NULL, *r = NULL, *s = NULL, *t = NULL, *be = NULL;
    ecert_status st = ECERT_OK;
    if (!ctx || !kg)
        return err_set(ECERT_E_NOMEM, "out of memory");
    BN_CTX_start(ctx);
    kk = BN_CTX_get(ctx), x1 = BN_CTX_get(ctx), r = BN_CTX_get(ctx);
    s = BN_CTX_get(ctx), t = BN_CTX_get(ctx), be = BN_CTX_get(ctx);
    if (!be || !BN_bin2bn(e, 32, be)) {
        st = err_set(ECERT_E_NOMEM, "out of memory");
        goto done;
    }
    BN_set_flags(kk, BN_FLG_CONSTTIME);
    for (int tries = 0; tries < 64; tries++) {
        if (kk_fixed) {
            if (!BN_bin2bn(kk_fixed, SM2_SCALAR_LEN, kk))
                goto fail;
        } else if (!BN_priv_rand_range(kk, c->n)) {
            goto fail;
        }
        if (BN_is_zero(kk)) {
            if (kk_fixed)
                goto bad_k;
            continue;
        }
        /* r = (e + x1) mod n */
        if (!EC_POINT_mul(c->group, kg, kk, NULL, NULL, ctx) ||
            !EC_POINT_get_affine_coordinates(c->group, kg, x1, NULL, ctx) ||
            !BN_mod_add(r, be, x1, c->n, ctx))
            goto fail;
        /* reject r = 0 and r + k = n */
        if (!BN_add(t, r, kk))
            goto fail;
        if (BN_is_zero(r) || BN_cmp(t, c->n) == 0) {
            if (kk_fixed)
                goto bad_k;
            continue;
        }
        /* s = (1 + d)^-1 * (k - r*d) mod n */
        if (!BN_mod_mul(t, r, k->d, c->n, ctx) || !BN_mod_sub(s, kk, t, c->n, ctx) ||
            !BN_copy(t, k->d) || !BN_add_word(t, 1) || !BN_mod_inverse(t, t, c->n, ctx) ||
            !BN_mod_mul(s, s, t, c->n, ctx))
            goto fail;
        if (BN_is_zero(s)) {
            if (kk_fixed)
                goto bad_k;
            continue;
        }
        if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32)
            goto fail;
        goto done;
    }
fail:
    st = err_set(ECERT_E_CRYPTO, "SM2 signing failed");
    goto done;
bad_k:
    st = err_set(ECERT_E_ARG, "SM2: the given k yields a degenerate signature");
done:
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    EC_POINT_free(kg);
    return st;
}

ecert_status sm2_sign_digest_with_k(const struct sm2_key *k, const uint8_t e[32],
                                    const uint8_t kk[SM2_SCALAR_LEN], uint8_t sig[SM2_SIG_LEN])
{
    if (!k->has_private)
        return err_set(ECERT_E_ARG, "signing needs a private key");
    if (k->fpriv && sm2_key_use_fast(k))
        return sm2_fast_sign(k->fpriv, e, kk, sig);
    return sign_primitive(k, e, kk, sig);
}

ecert_status sm2_sign_digest(const struct sm2_key *k, const uint8_t e[32], uint8_t sig[SM2_SIG_LEN])
{
    if (!k->has_private)
        return err_set(ECERT_E_ARG, "signing needs a private key");
    if (k->fpriv && sm2_key_use_fast(k))
        return sm2_fast_sign(k->fpriv, e, NULL, sig);
    if (!k->pkey)
        return sign_primitive(k, e, NULL, sig);
    /* OpenSSL's SM2 signature provider signs its input as the digest e when
     * no digest is configured on the context. */
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    uint8_t der[SM2_SIG_DER_MAX + 8];
    size_t derlen = sizeof der;
    ecert_status st = ECERT_OK;
    if (!pctx || EVP_PKEY_sign_init(pctx) != 1 || EVP_PKEY_sign(pctx, der, &derlen, e, 32) != 1)
        st = err_set(ECERT_E_CRYPTO, "SM2 signing failed");
    EVP_PKEY_CTX_free(pctx);
    if (!st)
        st = sm2_sig_from_der(der, derlen, sig);
    return st;
}

ecert_status sm2_sign(const struct sm2_key *k, const uint8_t *id, size_t idlen, const void *msg,
                      size_t len, uint8_t sig[SM2_SIG_LEN])
{
    uint8_t e[32];
    ecert_status st = sm2_digest(k, id, idlen, msg, len, e);
    return st ? st : sm2_sign_digest(k, e, sig);
}

/* GB/T 32918.2 §7.1, for curves without an EVP key. */
static ecert_status verify_primitive(const struct sm2_key *k, const uint8_t e[32],
                                     const uint8_t sig[SM2_SIG_LEN])
{
    const struct sm2_curve *c = k->curve;
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT *pt = EC_POINT_new(c->group);
    ecert_status st = ECERT_E_SIGNATURE;
    if (!ctx || !pt) {
        st = err_set(ECERT_E_NOMEM, "out of memory");
        goto out;
    }
    BN_CTX_start(ctx);
    BIGNUM *r = BN_CTX_get(ctx), *s = BN_CTX_get(ctx), *t = BN_CTX_get(ctx);
    BIGNUM *x1 = BN_CTX_get(ctx), *be = BN_CTX_get(ctx), *rr = BN_CTX_get(ctx);
    if (!rr || !BN_bin2bn(sig, 32, r) || !BN_bin2bn(sig + 32, 32, s) || !BN_bin2bn(e, 32, be)) {
        st = err_set(ECERT_E_NOMEM, "out of memory");
        goto done;
    }
    if (BN_is_zero(r) || BN_is_zero(s) || BN_cmp(r, c->n) >= 0 || BN_cmp(s, c->n) >= 0) {
        err_set(ECERT_E_SIGNATURE, "signature: r or s out of range");
        goto done;
    }
    if (!BN_mod_add(t, r, s, c->n, ctx))
        goto done;
    if (BN_is_zero(t)) {
        err_set(ECERT_E_SIGNATURE, "signature: r + s = n");
        goto done;
    }
    if (!EC_POINT_mul(c->group, pt, s, k->pub, t, ctx) ||
        !EC_POINT_get_affine_coordinates(c->group, pt, x1, NULL, ctx) ||
        !BN_mod_add(rr, be, x1, c->n, ctx))
        goto done;
    if (BN_cmp(rr, r) == 0)
        st = ECERT_OK;
    else
        err_set(ECERT_E_SIGNATURE, "signature does not verify");
done:
    BN_CTX_end(ctx);
out:
    BN_CTX_free(ctx);
    EC_POINT_free(pt);
    return st;
}

ecert_status sm2_verify_digest(const struct sm2_key *k, const uint8_t e[32],
                               const uint8_t sig[SM2_SIG_LEN])
{
    if (sm2_key_use_fast(k))
        return sm2_fast_verify(k->fpub, e, sig);
    if (!k->pkey)
        return verify_primitive(k, e, sig);
    uint8_t der[SM2_SIG_DER_MAX];
    size_t derlen = sm2_sig_to_der(sig, der);
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    if (!pctx || EVP_PKEY_verify_init(pctx) != 1) {
        EVP_PKEY_CTX_free(pctx);
        return err_set(ECERT_E_CRYPTO, "SM2 verification unavailable");
    }
    int rc = EVP_PKEY_verify(pctx, der, derlen, e, 32);
    EVP_PKEY_CTX_free(pctx);
    if (rc == 1)
        return ECERT_OK;
    return err_set(ECERT_E_SIGNATURE, "signature does not verify");
}

ecert_status sm2_verify(const struct sm2_key *k, const uint8_t *id, size_t idlen, const void *msg,
                        size_t len, const uint8_t sig[SM2_SIG_LEN])
{
    uint8_t e[32];
    ecert_status st = sm2_digest(k, id, idlen, msg, len, e);
    return st ? st : sm2_verify_digest(k, e, sig);
}
