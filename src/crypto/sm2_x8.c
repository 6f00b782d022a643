/*
 * sm2_x8.c — eight k·G side by side on AVX-512 IFMA (see sm2_x8.h).
 *
 * Field elements. Lane i of an 8-lane element holds one value mod p as five
 * 52-bit limbs, limb j in its own register (struct fe8), in Montgomery form
 * with R = 2^260 (a·2^260 mod p). Values are kept loosely reduced: below
 * 2^259, limbs normalised to [0, 2^52) after every operation (IFMA reads only
 * the low 52 bits of its multiplicands).
 *
 * Product (fe8_mul): operand-scanning Montgomery multiplication, five rounds
 * of "add a_i·b, add m·p, shift one limb" with m = t0 mod 2^52 — p ≡ -1 mod
 * 2^52 makes -p^-1 mod 2^52 = 1. With a, b < 2^259 the result
 * (a·b + M·p)/2^260 is below 2^258 + p < 2^259 without a final subtraction:
 * R = 2^260 leaves the headroom. A limb accumulates at most 20 52-bit terms,
 * below 2^57: no lane overflows.
 *
 * Difference (fe8_sub; the mixed addition needs no sum) adds 16p limb-wise,
 * written with borrowed limbs so that no limb goes negative, folds the bits
 * at and above 2^256 back with 2^256 ≡ 2^224 + 2^96 - 2^64 + 1 (mod p), and
 * normalises: results below 2^257.
 *
 * Points. Jacobian with the same formulas as the scalar engine's mixed
 * addition (8M + 3S); the comb is the scalar engine's (37 windows of 7-bit
 * signed digits over a table of 1..64 times 2^(7i)·G, affine), stored limb
 * by limb: for each row and coordinate limb, the 64 entries' values are
 * contiguous (eight registers). A lane's entry is picked by VPERMT2Q (a
 * register permutation by the lane's index, constant latency) from each
 * half of 16 and two mask blends on index bits 4 and 5: every entry of the
 * row is read for every fetch, whatever the digits.
 *
 * Exceptional additions. For k in [1, n-1] no addition meets a = ±b: the
 * partial sum S before window i is at most 0.504·2^(7i) in magnitude and the
 * added multiple at least 2^(7i) (i < 36); in the top window a = b needs
 * S - d·2^252 = -n, so d = 16 and k = 2^257 - n > n (docs/sm2-fast.md). So
 * the additions need no doubling fallback; lanes whose digits so far are all
 * zero are tracked by mask, as in the scalar comb.
 */
#include "crypto/sm2_x8.h"

#include <stdlib.h>
#include <string.h>

#include "common/secure.h"
#include "crypto/sm2_field.h"

#if SM2_FAST_AVAILABLE && SM2_FIELD_X64
#include <cpuid.h>
#include <immintrin.h>

#define X8_ATTR __attribute__((target("avx512f,avx512ifma,bmi2,adx")))
#define X8_INLINE X8_ATTR static inline __attribute__((always_inline))

#define X8_ROWS 37
#define X8_SIZE 64
#define X8_W 7
#define M52 0xfffffffffffffULL

typedef __m512i v8;

struct fe8 {
    v8 l[5];
};
struct jac8 {
    struct fe8 x, y, z;
};
struct aff8 {
    struct fe8 x, y;
};

/* row, coordinate limb (x0..x4, y0..y4), entry 0..63 */
struct sm2_x8_table {
    uint64_t t[X8_ROWS][10][X8_SIZE];
};

/* p in radix 2^52 */
static const uint64_t X8_P[5] = {0xfffffffffffffULL, 0xff00000000fffULL, 0xfffffffffffffULL,
                                 0xfffffffffffffULL, 0xfffffffeffffULL};
/* 16p with limbs 0..3 raised by 2^53 and limbs 1..4 lowered by 2 (the same
 * value): a - b + this has no negative limb for normalised b < 2^259. */
static const uint64_t X8_P16B[5] = {
    0xffffffffffff0ULL + (1ULL << 53), 0xf00000000ffffULL + (1ULL << 53) - 2,
    0xfffffffffffffULL + (1ULL << 53) - 2, 0xfffffffffffffULL + (1ULL << 53) - 2,
    0xfffffffefffffULL - 2};
/* 2^260 mod p: 1 in Montgomery form */
static const uint64_t X8_ONE[5] = {0x10, 0xffffffff0000ULL, 0, 0, 0x100000};

/* AVX-512F and IFMA (the compiler's check includes the OS's saving of the
 * ZMM state) and BMI2 and ADX for the scalar arithmetic after the lanes
 * (CPUID leaf 7: clang's builtin does not know "adx"). */
bool sm2_x8_available(void)
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    bool bmi2 = (b >> 8) & 1, adx = (b >> 19) & 1;
    __builtin_cpu_init();
    return bmi2 && adx && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512ifma");
}

/* ---- field -------------------------------------------------------------------*/

X8_INLINE v8 bc(uint64_t x)
{
    return _mm512_set1_epi64((long long)x);
}

/* Carries up (arithmetic shifts: a limb may be negative after a fold). */
X8_INLINE void fe8_norm(struct fe8 *r)
{
    const v8 m = bc(M52);
    for (int j = 0; j < 4; j++) {
        r->l[j + 1] = _mm512_add_epi64(r->l[j + 1], _mm512_srai_epi64(r->l[j], 52));
        r->l[j] = _mm512_and_si512(r->l[j], m);
    }
}

/* Folds bits 256 and up of limb 4 with 2^256 ≡ 2^224 + 2^96 - 2^64 + 1, then
 * normalises. Input limbs non-negative, limb 4 below 2^58. */
X8_INLINE void fe8_fold(struct fe8 *r)
{
    v8 hi = _mm512_srli_epi64(r->l[4], 48);
    r->l[4] = _mm512_and_si512(r->l[4], bc((1ULL << 48) - 1));
    r->l[0] = _mm512_add_epi64(r->l[0], hi);
    r->l[1] = _mm512_add_epi64(r->l[1],
                               _mm512_sub_epi64(_mm512_slli_epi64(hi, 44), _mm512_slli_epi64(hi, 12)));
    r->l[4] = _mm512_add_epi64(r->l[4], _mm512_slli_epi64(hi, 16));
    fe8_norm(r);
}

X8_INLINE void fe8_sub(struct fe8 *r, const struct fe8 *a, const struct fe8 *b)
{
    for (int j = 0; j < 5; j++)
        r->l[j] = _mm512_add_epi64(_mm512_sub_epi64(a->l[j], b->l[j]), bc(X8_P16B[j]));
    fe8_fold(r);
}

/* r = a·b / 2^260 mod p (loosely). r may alias a or b. */
X8_INLINE void fe8_mul(struct fe8 *r, const struct fe8 *a, const struct fe8 *b)
{
    const v8 z = _mm512_setzero_si512(), m52 = bc(M52);
    v8 t0 = z, t1 = z, t2 = z, t3 = z, t4 = z, t5;
    const v8 b0 = b->l[0], b1 = b->l[1], b2 = b->l[2], b3 = b->l[3], b4 = b->l[4];
    const v8 p0 = bc(X8_P[0]), p1 = bc(X8_P[1]), p4 = bc(X8_P[4]);
    for (int i = 0; i < 5; i++) {
        v8 ai = a->l[i];
        t5 = z;
        t0 = _mm512_madd52lo_epu64(t0, ai, b0);
        t1 = _mm512_madd52lo_epu64(t1, ai, b1);
        t2 = _mm512_madd52lo_epu64(t2, ai, b2);
        t3 = _mm512_madd52lo_epu64(t3, ai, b3);
        t4 = _mm512_madd52lo_epu64(t4, ai, b4);
        t1 = _mm512_madd52hi_epu64(t1, ai, b0);
        t2 = _mm512_madd52hi_epu64(t2, ai, b1);
        t3 = _mm512_madd52hi_epu64(t3, ai, b2);
        t4 = _mm512_madd52hi_epu64(t4, ai, b3);
        t5 = _mm512_madd52hi_epu64(t5, ai, b4);
        v8 m = _mm512_and_si512(t0, m52);
        /* p's limbs 0, 2 and 3 are all 2^52 - 1 */
        t0 = _mm512_madd52lo_epu64(t0, m, p0);
        t1 = _mm512_madd52lo_epu64(t1, m, p1);
        t2 = _mm512_madd52lo_epu64(t2, m, p0);
        t3 = _mm512_madd52lo_epu64(t3, m, p0);
        t4 = _mm512_madd52lo_epu64(t4, m, p4);
        t1 = _mm512_madd52hi_epu64(t1, m, p0);
        t2 = _mm512_madd52hi_epu64(t2, m, p1);
        t3 = _mm512_madd52hi_epu64(t3, m, p0);
        t4 = _mm512_madd52hi_epu64(t4, m, p0);
        t5 = _mm512_madd52hi_epu64(t5, m, p4);
        /* t0 is now a multiple of 2^52: shift the window down one limb */
        t0 = _mm512_add_epi64(t1, _mm512_srli_epi64(t0, 52));
        t1 = t2, t2 = t3, t3 = t4, t4 = t5;
    }
    r->l[0] = t0, r->l[1] = t1, r->l[2] = t2, r->l[3] = t3, r->l[4] = t4;
    fe8_norm(r);
}

X8_INLINE void fe8_sqr(struct fe8 *r, const struct fe8 *a)
{
    fe8_mul(r, a, a);
}

X8_INLINE void fe8_blend(struct fe8 *r, __mmask8 m, const struct fe8 *a, const struct fe8 *b)
{
    for (int j = 0; j < 5; j++)
        r->l[j] = _mm512_mask_blend_epi64(m, a->l[j], b->l[j]); /* m ? b : a */
}

X8_INLINE void fe8_const(struct fe8 *r, const uint64_t c[5])
{
    for (int j = 0; j < 5; j++)
        r->l[j] = bc(c[j]);
}

/* ---- points --------------------------------------------------------------------*/

/* r = a + b, b affine: the scalar engine's jac_madd (8M + 3S). Valid when
 * a != ±b and neither is infinity. r may alias a. */
X8_ATTR static void jac8_madd(struct jac8 *r, const struct jac8 *a, const struct aff8 *b)
{
    struct fe8 zz, u2, s2, h, rr, z3, hh, hhh, v, t, x3;
    fe8_sqr(&zz, &a->z);
    fe8_mul(&u2, &b->x, &zz);
    fe8_mul(&s2, &a->z, &zz);
    fe8_mul(&s2, &s2, &b->y);
    fe8_sub(&h, &u2, &a->x);
    fe8_sub(&rr, &s2, &a->y);
    fe8_mul(&z3, &h, &a->z);
    fe8_sqr(&hh, &h);
    fe8_mul(&hhh, &hh, &h);
    fe8_mul(&v, &a->x, &hh);  /* X1·H^2 */
    fe8_mul(&t, &a->y, &hhh); /* Y1·H^3 */
    fe8_sqr(&x3, &rr);
    fe8_sub(&x3, &x3, &hhh);
    fe8_sub(&x3, &x3, &v);
    fe8_sub(&x3, &x3, &v);
    fe8_sub(&v, &v, &x3);
    fe8_mul(&v, &v, &rr);
    fe8_sub(&r->y, &v, &t);
    r->x = x3;
    r->z = z3;
}

/* Window i's signed 7-bit digit of each lane's scalar (the scalar engine's
 * booth(), lane-wise): the table index |digit| - 1 (0 for digit 0), the
 * lanes whose digit is negative and those whose digit is 0. */
X8_INLINE void x8_digits(const v8 k[5], int i, v8 *idx, __mmask8 *neg, __mmask8 *zero)
{
    int pos = X8_W * i - 1;
    v8 x;
    if (pos < 0) {
        x = _mm512_slli_epi64(k[0], 1);
    } else {
        int li = pos / 64, sh = pos % 64;
        x = _mm512_srli_epi64(k[li], (unsigned)sh);
        if (sh + X8_W + 1 > 64)
            x = _mm512_or_si512(x, _mm512_slli_epi64(k[li + 1], (unsigned)(64 - sh)));
    }
    x = _mm512_and_si512(x, bc((1u << (X8_W + 1)) - 1));
    __mmask8 s = _mm512_test_epi64_mask(x, bc(1u << X8_W));
    v8 val = _mm512_srli_epi64(_mm512_add_epi64(x, bc(1)), 1);
    v8 mag = _mm512_mask_sub_epi64(val, s, bc(1u << X8_W), val);
    *neg = s;
    *zero = _mm512_cmpeq_epi64_mask(mag, _mm512_setzero_si512());
    *idx = _mm512_sub_epi64(_mm512_max_epu64(mag, bc(1)), bc(1));
}

/* One limb of the lanes' entries: all 64 values of row limb t are loaded;
 * VPERMT2Q picks by index bits 0-3 within each 16, the blends by bits 4, 5. */
X8_INLINE v8 x8_pick(const uint64_t *t, v8 idx, __mmask8 b4, __mmask8 b5)
{
    v8 a = _mm512_permutex2var_epi64(_mm512_load_si512((const void *)t), idx,
                                     _mm512_load_si512((const void *)(t + 8)));
    v8 b = _mm512_permutex2var_epi64(_mm512_load_si512((const void *)(t + 16)), idx,
                                     _mm512_load_si512((const void *)(t + 24)));
    v8 c = _mm512_permutex2var_epi64(_mm512_load_si512((const void *)(t + 32)), idx,
                                     _mm512_load_si512((const void *)(t + 40)));
    v8 d = _mm512_permutex2var_epi64(_mm512_load_si512((const void *)(t + 48)), idx,
                                     _mm512_load_si512((const void *)(t + 56)));
    v8 ab = _mm512_mask_blend_epi64(b4, a, b), cd = _mm512_mask_blend_epi64(b4, c, d);
    return _mm512_mask_blend_epi64(b5, ab, cd);
}

X8_INLINE void x8_fetch(struct aff8 *q, const struct sm2_x8_table *t, int row, v8 idx)
{
    __mmask8 b4 = _mm512_test_epi64_mask(idx, bc(16)), b5 = _mm512_test_epi64_mask(idx, bc(32));
    for (int j = 0; j < 5; j++) {
        q->x.l[j] = x8_pick(t->t[row][j], idx, b4, b5);
        q->y.l[j] = x8_pick(t->t[row][5 + j], idx, b4, b5);
    }
}

/* r = k·G per lane (Jacobian, Z = 0 for k = 0). */
X8_ATTR static void x8_comb(struct jac8 *r, const struct sm2_x8_table *t, const v8 k[5])
{
    struct jac8 acc, sum;
    struct aff8 q;
    static const uint64_t zeros[5] = {0, 0, 0, 0, 0};
    struct fe8 one, ny, z0;
    v8 idx;
    __mmask8 neg, zero, inf;
    fe8_const(&one, X8_ONE);
    fe8_const(&z0, zeros);
    /* window 0 starts the sum; a lane whose digits are all zero so far
     * keeps a real point with inf set (its sums are computed, then
     * discarded) */
    x8_digits(k, 0, &idx, &neg, &zero);
    x8_fetch(&q, t, 0, idx);
    fe8_sub(&ny, &z0, &q.y);
    fe8_blend(&q.y, neg, &q.y, &ny);
    acc.x = q.x, acc.y = q.y, acc.z = one;
    inf = zero;
    for (int i = 1; i < X8_ROWS; i++) {
        x8_digits(k, i, &idx, &neg, &zero);
        x8_fetch(&q, t, i, idx);
        fe8_sub(&ny, &z0, &q.y);
        fe8_blend(&q.y, neg, &q.y, &ny);
        jac8_madd(&sum, &acc, &q);
        /* sum = q where acc is empty; acc kept where the digit is 0 */
        fe8_blend(&sum.x, inf, &sum.x, &q.x);
        fe8_blend(&sum.y, inf, &sum.y, &q.y);
        fe8_blend(&sum.z, inf, &sum.z, &one);
        fe8_blend(&acc.x, zero, &sum.x, &acc.x);
        fe8_blend(&acc.y, zero, &sum.y, &acc.y);
        fe8_blend(&acc.z, zero, &sum.z, &acc.z);
        inf &= zero;
    }
    fe8_blend(&acc.z, inf, &acc.z, &z0);
    *r = acc;
    secure_wipe(&sum, sizeof sum);
    secure_wipe(&q, sizeof q);
    secure_wipe(&ny, sizeof ny);
}

/* ---- conversions ---------------------------------------------------------------*/

/* Lane values out of Montgomery form (a product by 1: below p + 1), then
 * as 64-bit limbs fully reduced. */
X8_ATTR static void fe8_to_plain(uint64_t out[SM2_X8_LANES][4], const struct fe8 *a)
{
    static const uint64_t one_plain[5] = {1, 0, 0, 0, 0};
    struct fe8 u, o;
    fe8_const(&o, one_plain);
    fe8_mul(&u, a, &o);
    uint64_t l[5][SM2_X8_LANES];
    for (int j = 0; j < 5; j++)
        _mm512_storeu_si512((void *)l[j], u.l[j]);
    for (int i = 0; i < SM2_X8_LANES; i++) {
        uint64_t w[4] = {l[0][i] | l[1][i] << 52, l[1][i] >> 12 | l[2][i] << 40,
                         l[2][i] >> 24 | l[3][i] << 28, l[3][i] >> 36 | l[4][i] << 16};
        fp_reduce_once(out[i], 0, w[0], w[1], w[2], w[3]);
        secure_wipe(w, sizeof w);
    }
    secure_wipe(l, sizeof l);
    secure_wipe(&u, sizeof u);
}

/* k·G for eight valid scalars: the comb on eight lanes, then the eight
 * points to affine with one inversion (Montgomery's trick) in the scalar
 * engine's arithmetic (Montgomery form 2^256). */
X8_ATTR static int x8_mul_base(const struct sm2_x8_table *t, const uint64_t k[SM2_X8_LANES][4],
                               uint8_t out[SM2_X8_LANES][64])
{
    static const uint64_t one[4] = {1, 0, 0, 0};
    uint64_t lanes[4][SM2_X8_LANES];
    v8 kv[5];
    for (int j = 0; j < 4; j++) {
        for (int i = 0; i < SM2_X8_LANES; i++)
            lanes[j][i] = k[i][j];
        kv[j] = _mm512_loadu_si512((const void *)lanes[j]);
    }
    kv[4] = _mm512_setzero_si512();
    struct jac8 p;
    x8_comb(&p, t, kv);
    uint64_t x[SM2_X8_LANES][4], y[SM2_X8_LANES][4], z[SM2_X8_LANES][4];
    uint64_t acc[SM2_X8_LANES][4], inv[4], zi[4], zi2[4];
    fe8_to_plain(x, &p.x);
    fe8_to_plain(y, &p.y);
    fe8_to_plain(z, &p.z);
    for (int i = 0; i < SM2_X8_LANES; i++) {
        fp_mul_x64(x[i], x[i], SM2_FP_R2);
        fp_mul_x64(y[i], y[i], SM2_FP_R2);
        fp_mul_x64(z[i], z[i], SM2_FP_R2);
    }
    sm2_copy4(acc[0], z[0]);
    for (int i = 1; i < SM2_X8_LANES; i++)
        fp_mul_x64(acc[i], acc[i - 1], z[i]);
    int ok = !(sm2_is_zero4(acc[SM2_X8_LANES - 1]) & 1); /* no lane at infinity */
    fp_inv_divsteps(inv, acc[SM2_X8_LANES - 1]);
    for (int i = SM2_X8_LANES - 1; i >= 0; i--) {
        if (i > 0) {
            fp_mul_x64(zi, inv, acc[i - 1]);
            fp_mul_x64(inv, inv, z[i]);
        } else {
            sm2_copy4(zi, inv);
        }
        fp_sqr_x64(zi2, zi);
        fp_mul_x64(x[i], x[i], zi2);
        fp_mul_x64(zi2, zi2, zi);
        fp_mul_x64(y[i], y[i], zi2);
        fp_mul_x64(x[i], x[i], one);
        fp_mul_x64(y[i], y[i], one);
        sm2_to_be(out[i], x[i]);
        sm2_to_be(out[i] + 32, y[i]);
    }
    secure_wipe(lanes, sizeof lanes);
    secure_wipe(kv, sizeof kv);
    secure_wipe(&p, sizeof p);
    secure_wipe(x, sizeof x);
    secure_wipe(y, sizeof y);
    secure_wipe(z, sizeof z);
    secure_wipe(acc, sizeof acc);
    secure_wipe(inv, sizeof inv);
    secure_wipe(zi, sizeof zi);
    secure_wipe(zi2, sizeof zi2);
    return ok;
}

struct sm2_x8_table *sm2_x8_table_new(const uint64_t (*entries)[8], size_t rows, size_t size)
{
    if (rows != X8_ROWS || size != X8_SIZE || !sm2_x8_available())
        return NULL;
    struct sm2_x8_table *t = aligned_alloc(64, sizeof *t);
    if (!t)
        return NULL;
    /* Montgomery 2^256 to 2^260: a product (by the 2^256 engine's rule)
     * with 16·2^256 mod p */
    static const uint64_t sixteen[4] = {16, 0, 0, 0};
    uint64_t c16[4];
    fp_mul(c16, sixteen, SM2_FP_R2);
    for (size_t r = 0; r < rows; r++)
        for (size_t e = 0; e < size; e++)
            for (int c = 0; c < 2; c++) {
                uint64_t v[4];
                fp_mul(v, entries[r * size + e] + 4 * c, c16);
                uint64_t limb[5] = {v[0] & M52, (v[0] >> 52 | v[1] << 12) & M52,
                                    (v[1] >> 40 | v[2] << 24) & M52,
                                    (v[2] >> 28 | v[3] << 36) & M52, v[3] >> 16};
                for (int j = 0; j < 5; j++)
                    t->t[r][5 * c + j][e] = limb[j];
            }
    return t;
}

void sm2_x8_table_free(struct sm2_x8_table *t)
{
    free(t);
}

int sm2_x8_mul_base(const struct sm2_x8_table *t, const uint64_t k[SM2_X8_LANES][4],
                    uint8_t out[SM2_X8_LANES][64])
{
    /* the range check's verdict is public (callers pass valid scalars) */
    uint64_t bad = 0;
    for (int i = 0; i < SM2_X8_LANES; i++)
        bad |= sm2_is_zero4(k[i]) | (0 - (uint64_t)!sm2_lt4(k[i], SM2_N));
    if (bad & 1)
        return 0;
    return x8_mul_base(t, k, out);
}
#else

bool sm2_x8_available(void)
{
    return false;
}

struct sm2_x8_table *sm2_x8_table_new(const uint64_t (*entries)[8], size_t rows, size_t size)
{
    (void)entries, (void)rows, (void)size;
    return NULL;
}

void sm2_x8_table_free(struct sm2_x8_table *t)
{
    (void)t;
}

int sm2_x8_mul_base(const struct sm2_x8_table *t, const uint64_t k[SM2_X8_LANES][4],
                    uint8_t out[SM2_X8_LANES][64])
{
    (void)t, (void)k, (void)out;
    return 0;
}
#endif
