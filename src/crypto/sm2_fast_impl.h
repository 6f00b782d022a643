/*
 * sm2_fast_impl.h — the point arithmetic of the fast SM2 engine, written
 * once and compiled once per backend by sm2_fast.c, which defines before
 * including it:
 *
 *   BK(name)   the backend's name for a function (name_generic, name_x64)
 *   BK_ATTR    function attributes (the x64 backend: target("avx2,bmi2,adx"))
 *   FP_MUL, FP_SQR   the field product and square (sm2_field.h)
 *   FP_ADD, FP_SUB   the field sum and difference (sm2_field.h)
 *   BK_VEC     bytes per vector register for table scans (16 or 32)
 *
 * Everything here is static; sm2_fast.c reaches it through struct
 * sm2_backend. Not a general-purpose header: it needs the types and helpers
 * defined in sm2_fast.c above the include.
 */

/* ---- field helpers on top of FP_MUL / FP_SQR -------------------------------*/

BK_ATTR static void BK(fp_sqr_n)(uint64_t r[4], const uint64_t a[4], int n)
{
    FP_SQR(r, a);
    for (int i = 1; i < n; i++)
        FP_SQR(r, r);
}

BK_ATTR static inline void BK(fp_to_mont)(uint64_t r[4], const uint64_t a[4])
{
    FP_MUL(r, a, SM2_FP_R2);
}

BK_ATTR static inline void BK(fp_from_mont)(uint64_t r[4], const uint64_t a[4])
{
    static const uint64_t one[4] = {1, 0, 0, 0};
    FP_MUL(r, a, one);
}

/* r = a^(p-2) = a^-1 (Montgomery in and out; 0 maps to 0). Fermat with a
 * fixed addition chain for
 *   p - 2 = FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 00000000 FFFFFFFF FFFFFFFD
 * (256 squarings, 15 multiplications); xK = a^(2^K - 1). The engine inverts
 * with fp_inv_divsteps (faster); this one is the reference it is tested
 * against. */
BK_ATTR static void BK(fp_inv_fermat)(uint64_t r[4], const uint64_t a[4])
{
    uint64_t x2[4], x3[4], x6[4], x12[4], x24[4], x30[4], x31[4], x32[4], t[4];
    FP_SQR(t, a);
    FP_MUL(x2, t, a);
    FP_SQR(t, x2);
    FP_MUL(x3, t, a);
    BK(fp_sqr_n)(t, x3, 3);
    FP_MUL(x6, t, x3);
    BK(fp_sqr_n)(t, x6, 6);
    FP_MUL(x12, t, x6);
    BK(fp_sqr_n)(t, x12, 12);
    FP_MUL(x24, t, x12);
    BK(fp_sqr_n)(t, x24, 6);
    FP_MUL(x30, t, x6);
    FP_SQR(t, x30);
    FP_MUL(x31, t, a);
    FP_SQR(t, x31);
    FP_MUL(x32, t, a);
    FP_SQR(t, x31);               /* 31 ones, one zero */
    for (int i = 0; i < 4; i++) { /* 128 ones */
        BK(fp_sqr_n)(t, t, 32);
        FP_MUL(t, t, x32);
    }
    BK(fp_sqr_n)(t, t, 64); /* 32 zeros, 32 ones */
    FP_MUL(t, t, x32);
    BK(fp_sqr_n)(t, t, 30); /* FFFFFFFD: 30 ones, 0, 1 */
    FP_MUL(t, t, x30);
    BK(fp_sqr_n)(t, t, 2);
    FP_MUL(r, t, a);
}

/* ---- point formulas ---------------------------------------------------------*/

/* r = 2a for a = -3 (the dbl-2001-b values, arranged as in OpenSSL's
 * nistz256 doubling):
 *   M = 3(X - Z^2)(X + Z^2),  S = 4XY^2 = X·(2Y)^2,
 *   X3 = M^2 - 2S,  Y3 = M(S - X3) - 8Y^4 (= (2Y)^4 / 2),  Z3 = (2Y)·Z.
 * 4M + 4S and 10 additions (a halving among them) instead of 3M + 5S and
 * 15: additions are about a fifth of a doubling's instructions. Infinity
 * (Z = 0) stays infinity. r may alias a. */
BK_ATTR static void BK(jac_dbl)(struct jac *r, const struct jac *a)
{
    uint64_t s[4], zz[4], m[4], t[4], y4[4], z3[4], x3[4];
    FP_ADD(s, a->y, a->y); /* 2Y */
    FP_SQR(zz, a->z);
    FP_MUL(z3, s, a->z);
    FP_SQR(s, s); /* 4Y^2 */
    FP_ADD(m, a->x, zz);
    FP_SUB(zz, a->x, zz);
    FP_SQR(y4, s);
    fp_half(y4, y4); /* 8Y^4 */
    FP_MUL(m, m, zz);
    FP_ADD(t, m, m);
    FP_ADD(m, t, m);      /* M */
    FP_MUL(s, s, a->x);   /* S */
    FP_ADD(t, s, s);      /* 2S */
    FP_SQR(x3, m);
    FP_SUB(x3, x3, t);
    FP_SUB(s, s, x3);
    FP_MUL(s, s, m);
    FP_SUB(r->y, s, y4);
    sm2_copy4(r->x, x3);
    sm2_copy4(r->z, z3);
}

/* The common end of both additions, from H, R = S2 - S1, U1, S1 and Z3:
 * X3 = R^2 - H^3 - 2·U1·H^2, Y3 = R(U1·H^2 - X3) - S1·H^3. U1 and S1 may be
 * coordinates of r's own point: both are read before r is written. */
BK_ATTR static inline __attribute__((always_inline)) void
BK(jac_add_finish)(struct jac *r, const uint64_t h[4], const uint64_t rr[4], const uint64_t u1[4],
                   const uint64_t s1[4], const uint64_t z3[4])
{
    uint64_t hh[4], hhh[4], v[4], t[4], x3[4];
    FP_SQR(hh, h);
    FP_MUL(hhh, hh, h);
    FP_MUL(v, u1, hh);   /* U1·H^2 */
    FP_MUL(t, s1, hhh);  /* S1·H^3 */
    FP_SQR(x3, rr);
    FP_SUB(x3, x3, hhh);
    FP_SUB(x3, x3, v);
    FP_SUB(x3, x3, v);
    FP_SUB(v, v, x3);
    FP_MUL(v, v, rr);
    FP_SUB(r->y, v, t);
    sm2_copy4(r->x, x3);
    sm2_copy4(r->z, z3);
}

/* r = a + b with b affine: U2 = X2·Z1^2, S2 = Y2·Z1^3, H = U2 - X1,
 * R = S2 - Y1, X3 = R^2 - H^3 - 2·X1·H^2, Y3 = R(X1·H^2 - X3) - Y1·H^3,
 * Z3 = Z1·H. 8M + 3S and 7 additions: one squaring more expensive than
 * madd-2007-bl's 7M + 4S, but half its additions, which cost more here.
 * Valid when a != ±b and neither is infinity (callers handle those); *same
 * gets all ones when a == b (H = 0 and R = 0), the one case where the result
 * (computed as infinity) must be replaced by 2a. r may alias a. */
BK_ATTR static void BK(jac_madd)(struct jac *r, const struct jac *a, const struct aff *b,
                                 uint64_t *same)
{
    uint64_t zz[4], u2[4], s2[4], h[4], rr[4], z3[4];
    FP_SQR(zz, a->z);
    FP_MUL(u2, b->x, zz);
    FP_MUL(s2, a->z, zz);
    FP_MUL(s2, s2, b->y);
    FP_SUB(h, u2, a->x);
    FP_SUB(rr, s2, a->y);
    *same = sm2_is_zero4(h) & sm2_is_zero4(rr);
    FP_MUL(z3, h, a->z);
    BK(jac_add_finish)(r, h, rr, a->x, a->y, z3);
}

/* r = a + b, both Jacobian: U1 = X1·Z2^2, U2 = X2·Z1^2, S1 = Y1·Z2^3,
 * S2 = Y2·Z1^3, H = U2 - U1, R = S2 - S1, then as jac_madd with Z3 =
 * Z1·Z2·H: 12M + 4S and 7 additions (add-2007-bl: 11M + 5S and 13).
 * Conventions as jac_madd. */
BK_ATTR static void BK(jac_add)(struct jac *r, const struct jac *a, const struct jac *b,
                                uint64_t *same)
{
    uint64_t z1z1[4], z2z2[4], u1[4], u2[4], s1[4], s2[4], h[4], rr[4], z3[4];
    FP_SQR(z1z1, a->z);
    FP_SQR(z2z2, b->z);
    FP_MUL(u1, a->x, z2z2);
    FP_MUL(u2, b->x, z1z1);
    FP_MUL(s1, b->z, z2z2);
    FP_MUL(s1, s1, a->y);
    FP_MUL(s2, a->z, z1z1);
    FP_MUL(s2, s2, b->y);
    FP_SUB(h, u2, u1);
    FP_SUB(rr, s2, s1);
    *same = sm2_is_zero4(h) & sm2_is_zero4(rr);
    FP_MUL(z3, a->z, b->z);
    FP_MUL(z3, z3, h);
    BK(jac_add_finish)(r, h, rr, u1, s1, z3);
}

/* Affine x||y (big-endian, out of Montgomery form) of a point; 0 for the
 * point at infinity. Constant time apart from that final verdict. */
BK_ATTR static int BK(jac_to_bytes)(const struct jac *a, uint8_t out[64])
{
    uint64_t zi[4], zi2[4], x[4], y[4];
    fp_inv_divsteps(zi, a->z);
    FP_SQR(zi2, zi);
    FP_MUL(x, a->x, zi2);
    FP_MUL(zi, zi, zi2);
    FP_MUL(y, a->y, zi);
    BK(fp_from_mont)(x, x);
    BK(fp_from_mont)(y, y);
    sm2_to_be(out, x);
    sm2_to_be(out + 32, y);
    uint64_t inf = sm2_is_zero4(a->z);
    secure_wipe(x, sizeof x);
    secure_wipe(y, sizeof y);
    secure_wipe(zi, sizeof zi);
    return !(inf & 1);
}

/* Both points to bytes with one inversion: 1/Za = Zb/(Za·Zb) and so on.
 * 0 when either is infinity. */
BK_ATTR static int BK(jac_pair_to_bytes)(const struct jac *a, const struct jac *b, uint8_t oa[64],
                                         uint8_t ob[64])
{
    uint64_t zz[4], inv[4], zi[2][4], t[4], x[4], y[4];
    FP_MUL(zz, a->z, b->z);
    fp_inv_divsteps(inv, zz);
    FP_MUL(zi[0], inv, b->z);
    FP_MUL(zi[1], inv, a->z);
    const struct jac *pts[2] = {a, b};
    uint8_t *outs[2] = {oa, ob};
    for (int i = 0; i < 2; i++) {
        FP_SQR(t, zi[i]);
        FP_MUL(x, pts[i]->x, t);
        FP_MUL(t, t, zi[i]);
        FP_MUL(y, pts[i]->y, t);
        BK(fp_from_mont)(x, x);
        BK(fp_from_mont)(y, y);
        sm2_to_be(outs[i], x);
        sm2_to_be(outs[i] + 32, y);
    }
    int ok = !(sm2_is_zero4(zz) & 1);
    secure_wipe(x, sizeof x);
    secure_wipe(y, sizeof y);
    secure_wipe(t, sizeof t);
    secure_wipe(zi, sizeof zi);
    return ok;
}

/* Plain (non-Montgomery) affine x of a point. */
BK_ATTR static void BK(jac_x_plain)(uint64_t x[4], const struct jac *a)
{
    uint64_t zi[4];
    fp_inv_divsteps(zi, a->z);
    FP_SQR(zi, zi);
    FP_MUL(x, a->x, zi);
    BK(fp_from_mont)(x, x);
    secure_wipe(zi, sizeof zi);
}

/* Batch normalisation of n Jacobian points (none at infinity) to affine with
 * one inversion (Montgomery's trick). Public data only (table building). */
BK_ATTR static void BK(jac_to_aff_batch)(struct aff *out, const struct jac *in, size_t n,
                                         uint64_t (*acc)[4])
{
    sm2_copy4(acc[0], in[0].z);
    for (size_t i = 1; i < n; i++)
        FP_MUL(acc[i], acc[i - 1], in[i].z);
    uint64_t inv[4], zi[4], zi2[4];
    fp_inv_divsteps(inv, acc[n - 1]);
    for (size_t i = n; i-- > 0;) {
        if (i > 0) {
            FP_MUL(zi, inv, acc[i - 1]);
            FP_MUL(inv, inv, in[i].z);
        } else {
            sm2_copy4(zi, inv);
        }
        FP_SQR(zi2, zi);
        FP_MUL(out[i].x, in[i].x, zi2);
        FP_MUL(zi2, zi2, zi);
        FP_MUL(out[i].y, in[i].y, zi2);
    }
}

/* Point from public bytes: coordinates < p and y^2 = x^3 - 3x + b. */
BK_ATTR static int BK(aff_from_bytes)(struct aff *r, const uint8_t xy[64])
{
    uint64_t x[4], y[4], lhs[4], rhs[4], t[4];
    sm2_from_be(x, xy);
    sm2_from_be(y, xy + 32);
    if (!sm2_lt4(x, SM2_P) || !sm2_lt4(y, SM2_P))
        return 0;
    BK(fp_to_mont)(x, x);
    BK(fp_to_mont)(y, y);
    FP_SQR(lhs, y);
    FP_SQR(rhs, x);
    FP_MUL(rhs, rhs, x);
    FP_ADD(t, x, x);
    FP_ADD(t, t, x);
    FP_SUB(rhs, rhs, t);
    FP_ADD(rhs, rhs, SM2_FP_B);
    if (!(sm2_equal4(lhs, rhs) & 1))
        return 0;
    sm2_copy4(r->x, x);
    sm2_copy4(r->y, y);
    return 1;
}

/* Verification's last step: does the affine x of acc (not infinity) equal x
 * (plain, < p)? Checked as X = x·Z^2, without an inversion. */
BK_ATTR static int BK(jac_x_equals)(const struct jac *acc, const uint64_t x[4])
{
    uint64_t xm[4], zz[4];
    BK(fp_to_mont)(xm, x);
    FP_SQR(zz, acc->z);
    FP_MUL(xm, xm, zz);
    return (int)(sm2_equal4(xm, acc->x) & 1);
}

/* ---- comb tables ------------------------------------------------------------*/

BK_ATTR static int BK(comb_build)(struct comb *c, const struct aff *base)
{
    struct jac *row = malloc(COMB_SIZE * sizeof *row);
    uint64_t(*acc)[4] = malloc(COMB_SIZE * sizeof *acc);
    if (!row || !acc) {
        free(row);
        free(acc);
        return 0;
    }
    struct aff b = *base;
    for (int i = 0; i < COMB_WINDOWS; i++) {
        uint64_t same;
        jac_from_aff(&row[0], &b);
        BK(jac_dbl)(&row[1], &row[0]);
        for (int j = 2; j < COMB_SIZE; j++)
            BK(jac_madd)(&row[j], &row[j - 1], &b, &same); /* (j+1)b, j+1 > 2 */
        BK(jac_to_aff_batch)(c->t[i], row, COMB_SIZE, acc);
        /* next base: 2^7·b = 2·(64·b) */
        struct jac nb;
        jac_from_aff(&nb, &c->t[i][COMB_SIZE - 1]);
        BK(jac_dbl)(&nb, &nb);
        BK(jac_to_aff_batch)(&b, &nb, 1, acc);
    }
    free(row);
    free(acc);
    return 1;
}

/* Constant-time fetch of entry idx (1..COMB_SIZE) of a row, or (0, 0) for
 * idx = 0: every entry is read and blended in under a mask, BK_VEC bytes at
 * a time. */
#if BK_VEC == 32
typedef uint64_t BK(vec) __attribute__((vector_size(32)));

BK_ATTR static void BK(comb_fetch)(struct aff *r, const struct aff *row, uint64_t idx)
{
    BK(vec) a0 = {0, 0, 0, 0}, a1 = {0, 0, 0, 0};
    for (uint64_t j = 0; j < COMB_SIZE; j++) {
        uint64_t m = sm2_mask_eq(j + 1, idx);
        BK(vec) vm = {m, m, m, m}, e0, e1;
        memcpy(&e0, row[j].x, 32);
        memcpy(&e1, row[j].y, 32);
        a0 |= e0 & vm;
        a1 |= e1 & vm;
    }
    memcpy(r->x, &a0, 32);
    memcpy(r->y, &a1, 32);
}

/* The same with AVX-512: an affine entry is exactly one 64-byte register.
 * Every entry is loaded; a lane-wise compare of the wanted index with the
 * running one gives an all-or-nothing mask register and a masked move
 * (a register blend, whose timing does not depend on the mask) keeps the
 * match. Only called when the CPU has AVX-512F (backend "x64-avx512"). */
__attribute__((target("avx2,bmi2,adx,avx512f"))) static void
BK(comb_fetch_z)(struct aff *r, const struct aff *row, uint64_t idx)
{
    __m512i acc = _mm512_setzero_si512(), want = _mm512_set1_epi64((long long)idx);
    __m512i cur = _mm512_set1_epi64(1), one = _mm512_set1_epi64(1);
    for (int j = 0; j < COMB_SIZE; j++) {
        __m512i e = _mm512_loadu_si512((const void *)&row[j]);
        /* keep the load a plain full load: without this the compiler
         * folds it into a merge-masked load, which touches memory only
         * under the (secret) mask */
        __asm__("" : "+v"(e));
        __mmask8 m = _mm512_cmpeq_epi64_mask(cur, want);
        acc = _mm512_mask_mov_epi64(acc, m, e);
        cur = _mm512_add_epi64(cur, one);
    }
    _mm512_storeu_si512((void *)r, acc);
}
#else
typedef uint64_t BK(vec) __attribute__((vector_size(16)));

BK_ATTR static void BK(comb_fetch)(struct aff *r, const struct aff *row, uint64_t idx)
{
    BK(vec) a0 = {0, 0}, a1 = {0, 0}, a2 = {0, 0}, a3 = {0, 0};
    for (uint64_t j = 0; j < COMB_SIZE; j++) {
        uint64_t m = sm2_mask_eq(j + 1, idx);
        BK(vec) vm = {m, m}, e0, e1, e2, e3;
        memcpy(&e0, row[j].x, 16);
        memcpy(&e1, row[j].x + 2, 16);
        memcpy(&e2, row[j].y, 16);
        memcpy(&e3, row[j].y + 2, 16);
        a0 |= e0 & vm, a1 |= e1 & vm, a2 |= e2 & vm, a3 |= e3 & vm;
    }
    memcpy(r->x, &a0, 16), memcpy(r->x + 2, &a1, 16);
    memcpy(r->y, &a2, 16), memcpy(r->y + 2, &a3, 16);
}
#endif

/* r = k·P for the table of P, constant time in k (k < n; see sm2-fast.md
 * for why no addition meets an exceptional case; the last one still guards
 * against a = b at the cost of one doubling). `fetch` is a constant at each
 * (inlined) use: the table scan of the backend. */
BK_ATTR static inline __attribute__((always_inline)) void
BK(comb_mul_ct_with)(struct jac *r, const struct comb *c, const uint64_t k4[4],
                     void (*fetch)(struct aff *, const struct aff *, uint64_t))
{
    uint64_t k[5] = {k4[0], k4[1], k4[2], k4[3], 0};
    struct jac acc, sum, one;
    struct aff q;
    uint64_t acc_inf = ~(uint64_t)0;
    /* the point at infinity is Z = 0; X, Y hold G's (non-zero) coordinates
     * so that no operand is all-zero while the accumulator is empty */
    jac_from_aff(&acc, &SM2_G);
    memset(acc.z, 0, sizeof acc.z);
    for (int i = 0; i < COMB_WINDOWS; i++) {
        uint64_t mag, neg, same;
        booth(k, COMB_W, i, &mag, &neg);
        /* digit 0 still fetches and adds a real entry (the first), whose sum
         * is then discarded: the arithmetic never sees all-zero operands
         * that a zero digit would otherwise feed it */
        uint64_t zero = sm2_mask_zero64(mag);
        fetch(&q, c->t[i], (mag & ~zero) | (1 & zero));
        fp_cneg(q.y, neg);
        BK(jac_madd)(&sum, &acc, &q, &same);
        if (i == COMB_WINDOWS - 1) {
            struct jac d;
            BK(jac_dbl)(&d, &acc);
            jac_select(&sum, &d, &sum, same & ~acc_inf);
        }
        jac_from_aff(&one, &q);
        jac_select(&sum, &one, &sum, acc_inf); /* acc = O: sum = q */
        jac_select(&acc, &acc, &sum, zero);    /* digit 0: keep acc */
        acc_inf &= zero;
    }
    uint64_t zr[4] = {0, 0, 0, 0}; /* k = 0: make Z = 0 explicit */
    sm2_select4(acc.z, zr, acc.z, acc_inf);
    *r = acc;
    secure_wipe(k, sizeof k);
    secure_wipe(&q, sizeof q);
    secure_wipe(&sum, sizeof sum);
    secure_wipe(&one, sizeof one);
}

BK_ATTR static void BK(comb_mul_ct)(struct jac *r, const struct comb *c, const uint64_t k4[4])
{
    BK(comb_mul_ct_with)(r, c, k4, BK(comb_fetch));
}

#if BK_VEC == 32
__attribute__((target("avx2,bmi2,adx,avx512f"))) static void
BK(comb_mul_ct_z)(struct jac *r, const struct comb *c, const uint64_t k4[4])
{
    BK(comb_mul_ct_with)(r, c, k4, BK(comb_fetch_z));
}
#endif

/* ---- variable-time additions (public points only) ---------------------------*/

BK_ATTR static void BK(jac_add_aff_vt)(struct jac *acc, const struct aff *q)
{
    if (sm2_is_zero4(acc->z) & 1) {
        jac_from_aff(acc, q);
        return;
    }
    uint64_t same;
    struct jac r;
    BK(jac_madd)(&r, acc, q, &same);
    if (same & 1)
        BK(jac_dbl)(&r, acc);
    *acc = r;
}

BK_ATTR static void BK(jac_add_vt)(struct jac *acc, const struct jac *q)
{
    if (sm2_is_zero4(q->z) & 1)
        return;
    if (sm2_is_zero4(acc->z) & 1) {
        *acc = *q;
        return;
    }
    uint64_t same;
    struct jac r;
    BK(jac_add)(&r, acc, q, &same);
    if (same & 1)
        BK(jac_dbl)(&r, acc);
    *acc = r;
}

/* Variable-time acc += k·P with the table of P (public k: verification). */
BK_ATTR static void BK(comb_mul_add_vt)(struct jac *acc, const struct comb *c, const uint64_t k4[4])
{
    uint64_t k[5] = {k4[0], k4[1], k4[2], k4[3], 0};
    for (int i = 0; i < COMB_WINDOWS; i++) {
        uint64_t mag, neg;
        booth(k, COMB_W, i, &mag, &neg);
        if (!mag)
            continue;
        struct aff q = c->t[i][mag - 1];
        if (neg)
            fp_neg(q.y, q.y);
        BK(jac_add_aff_vt)(acc, &q);
    }
}

/* ---- variable-base multiplication (constant time) ---------------------------*/

BK_ATTR static void BK(var_fetch)(struct jac *r, const struct jac *t, uint64_t idx)
{
    memset(r, 0, sizeof *r);
    for (uint64_t j = 0; j < VAR_SIZE; j++) {
        uint64_t m = sm2_mask_eq(j + 1, idx);
        for (int l = 0; l < 4; l++) {
            r->x[l] |= t[j].x[l] & m;
            r->y[l] |= t[j].y[l] & m;
            r->z[l] |= t[j].z[l] & m;
        }
    }
}

/* r = k·P, k < n, P a valid point (not infinity), constant time in k: fixed
 * 5-bit signed windows from the top, five doublings and one addition of a
 * masked table entry per window. Only the very last addition can meet P = Q
 * (k = n - 6 gives -3P + -3P); it is guarded by a doubling and a select. */
BK_ATTR static void BK(var_mul_ct)(struct jac *r, const uint64_t k4[4], const struct aff *p)
{
    uint64_t k[5] = {k4[0], k4[1], k4[2], k4[3], 0};
    struct jac t[VAR_SIZE], acc, q, sum;
    uint64_t same;
    jac_from_aff(&t[0], p);
    BK(jac_dbl)(&t[1], &t[0]);
    for (int j = 2; j < VAR_SIZE; j++) {
        if (j % 2)
            BK(jac_dbl)(&t[j], &t[(j - 1) / 2]); /* (j+1)P = 2·((j+1)/2)P */
        else
            BK(jac_madd)(&t[j], &t[j - 1], p, &same); /* (j+1)P = jP + P, j >= 2 */
    }
    uint64_t mag, neg, acc_inf, zr[4] = {0, 0, 0, 0};
    booth(k, VAR_W, VAR_WINDOWS - 1, &mag, &neg);
    /* a zero top digit still fetches P and marks infinity by Z = 0 alone
     * (doubling keeps Z = 0), so no operand is all-zero */
    acc_inf = sm2_mask_zero64(mag);
    BK(var_fetch)(&acc, t, (mag & ~acc_inf) | (1 & acc_inf));
    fp_cneg(acc.y, neg);
    sm2_select4(acc.z, zr, acc.z, acc_inf);
    for (int i = VAR_WINDOWS - 2; i >= 0; i--) {
        for (int d = 0; d < VAR_W; d++)
            BK(jac_dbl)(&acc, &acc);
        booth(k, VAR_W, i, &mag, &neg);
        uint64_t zero = sm2_mask_zero64(mag); /* as in comb_mul_ct */
        BK(var_fetch)(&q, t, (mag & ~zero) | (1 & zero));
        fp_cneg(q.y, neg);
        BK(jac_add)(&sum, &acc, &q, &same);
        if (i == 0) {
            struct jac d;
            BK(jac_dbl)(&d, &acc);
            jac_select(&sum, &d, &sum, same & ~acc_inf);
        }
        jac_select(&sum, &q, &sum, acc_inf);
        jac_select(&acc, &acc, &sum, zero);
        acc_inf &= zero;
    }
    sm2_select4(acc.z, zr, acc.z, acc_inf);
    *r = acc;
    secure_wipe(k, sizeof k);
    secure_wipe(t, sizeof t);
    secure_wipe(&q, sizeof q);
    secure_wipe(&sum, sizeof sum);
}

/* ---- double multiplication for verification (variable time) ----------------*/

/* acc = s·G + t·P; tab = the key's comb table or NULL. */
BK_ATTR static void BK(double_mul_vt)(struct jac *acc, const uint64_t s[4], const uint64_t t[4],
                                      const struct aff *p, const struct comb *tab,
                                      const struct comb *g)
{
    memset(acc, 0, sizeof *acc);
    if (tab) {
        BK(comb_mul_add_vt)(acc, tab, t);
    } else {
        struct jac odd[8], p2; /* P, 3P, ..., 15P */
        uint64_t same;
        jac_from_aff(&odd[0], p);
        BK(jac_dbl)(&p2, &odd[0]);
        for (int i = 1; i < 8; i++)
            BK(jac_add)(&odd[i], &odd[i - 1], &p2, &same);
        int8_t naf[258];
        int len = wnaf5(t, naf);
        for (int i = len - 1; i >= 0; i--) {
            if (!(sm2_is_zero4(acc->z) & 1))
                BK(jac_dbl)(acc, acc);
            int d = naf[i];
            if (d > 0) {
                BK(jac_add_vt)(acc, &odd[d / 2]);
            } else if (d < 0) {
                struct jac q = odd[-d / 2];
                fp_neg(q.y, q.y);
                BK(jac_add_vt)(acc, &q);
            }
        }
    }
    BK(comb_mul_add_vt)(acc, g, s);
}

/* Out-of-line field operations, for the field-level tests. */
BK_ATTR static void BK(fp_mul_fn)(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    FP_MUL(r, a, b);
}

BK_ATTR static void BK(fp_sqr_fn)(uint64_t r[4], const uint64_t a[4])
{
    FP_SQR(r, a);
}

BK_ATTR static void BK(fp_add_fn)(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    FP_ADD(r, a, b);
}

BK_ATTR static void BK(fp_sub_fn)(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    FP_SUB(r, a, b);
}

/* One backend's entry points; `comb` is its constant-time comb k·G/k·P. */
#define BK_TABLE(nm, comb)                                                                         \
    {                                                                                              \
        .name = nm, .comb_build = BK(comb_build), .comb_mul_ct = comb,                             \
        .var_mul_ct = BK(var_mul_ct), .double_mul_vt = BK(double_mul_vt),                          \
        .jac_to_bytes = BK(jac_to_bytes), .jac_pair_to_bytes = BK(jac_pair_to_bytes),              \
        .jac_x_plain = BK(jac_x_plain), .jac_x_equals = BK(jac_x_equals),                          \
        .aff_from_bytes = BK(aff_from_bytes), .fp_inv_fermat = BK(fp_inv_fermat),                 \
        .fp_mul = BK(fp_mul_fn), .fp_sqr = BK(fp_sqr_fn), .fp_add = BK(fp_add_fn),                 \
        .fp_sub = BK(fp_sub_fn),                                                                   \
    }

static const struct sm2_backend BK(backend) = BK_TABLE(BK_NAME, BK(comb_mul_ct));

#if BK_VEC == 32
/* The same backend with AVX-512 scans of the comb tables. */
static const struct sm2_backend BK(backend_z) = BK_TABLE(BK_NAME "-avx512", BK(comb_mul_ct_z));
#endif
#undef BK_TABLE
