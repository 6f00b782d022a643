/*
 * sm2_internal.h — what the SM2 source files share and nobody else sees: the
 * layout of curves and keys (OpenSSL types, and the fast engine's state).
 */
#ifndef ECERT_CRYPTO_SM2_INTERNAL_H
#define ECERT_CRYPTO_SM2_INTERNAL_H

#include <stdatomic.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "crypto/sm2.h"
#include "crypto/sm2_fast.h"

struct sm2_curve {
    EC_GROUP *group;
    BIGNUM *n;
    BIGNUM *n_minus_1;
    uint8_t a[32], b[32], gx[32], gy[32]; /* for Z */
    int is_default;
};

struct sm2_key {
    atomic_int refs;
    const struct sm2_curve *curve;
    EVP_PKEY *pkey;  /* production curve only */
    BIGNUM *d;       /* NULL for public keys; secure heap, constant-time flag */
    EC_POINT *pub;
    uint8_t xy[SM2_POINT_LEN];
    uint8_t z_default[32]; /* Z for the default user ID */
    bool has_private;
    /* The fast engine's form of the key (production curve only): the public
     * point with its lazily built table, and the private scalars. */
    struct sm2_fast_pub *fpub;
    struct sm2_fast_priv *fpriv;
};

/* The engine for operations on this key: fast only on the production curve
 * and when the fast engine is selected. */
bool sm2_key_use_fast(const struct sm2_key *k);

/* Point from x||y; ECERT_E_DECRYPT when not on the curve. */
ecert_status sm2_point_from_xy(const struct sm2_curve *c, const uint8_t xy[SM2_POINT_LEN],
                               EC_POINT **out);
ecert_status sm2_z_compute(const struct sm2_key *k, const uint8_t *id, size_t idlen,
                           uint8_t z[32]);

#endif
