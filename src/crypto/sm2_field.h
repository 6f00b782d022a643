/*
 * sm2_field.h — constant-time arithmetic modulo the SM2 prime
 *   p = 2^256 - 2^224 - 2^96 + 2^64 - 1
 * and modulo the group order n, for the fast SM2 engine (sm2_fast.c).
 *
 * Elements are four 64-bit limbs, least significant first, always fully
 * reduced (< p or < n). Field elements are kept in Montgomery form
 * (a·2^256 mod p) so that a product costs one 256×256-bit multiplication and
 * a reduction that, because p ≡ -1 (mod 2^64), needs no multiplication at all
 * (see fp_mul). Scalars mod n use a generic Montgomery multiplication; they are
 * few per operation.
 *
 * Constant time: no function here branches on, or indexes memory by, the
 * value of an operand. Carries are computed with 128-bit additions and turned
 * into all-ones/all-zero masks; selections are mask blends. The only
 * data-dependent machine instructions are MUL (constant latency on x86-64 and
 * AArch64) and ADD/SUB/AND/OR/XOR/shifts by constants.
 *
 * The header is included only by the fast engine's source files: everything
 * is static inline so that the point formulas compile into straight-line code.
 * It needs a 128-bit integer type (gcc and clang on 64-bit targets); without
 * one SM2_FAST_AVAILABLE is 0 and the engine falls back to OpenSSL.
 */
#ifndef ECERT_CRYPTO_SM2_FIELD_H
#define ECERT_CRYPTO_SM2_FIELD_H

#include <stdint.h>

#if defined(__SIZEOF_INT128__)
#define SM2_FAST_AVAILABLE 1
#else
#define SM2_FAST_AVAILABLE 0
#endif

#if SM2_FAST_AVAILABLE

typedef unsigned __int128 sm2_u128;

#if defined(__GNUC__) || defined(__clang__)
#define SM2_INLINE static inline __attribute__((always_inline))
#else
#define SM2_INLINE static inline
#endif

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

/* ---- limb helpers ---------------------------------------------------------*/

/* out = a + b + c_in; returns the carry-out (0 or 1). On x86-64 this is one
 * ADC (compilers keep chains of them in the carry flag). */
SM2_INLINE unsigned char sm2_addc(unsigned char c, uint64_t a, uint64_t b, uint64_t *out)
{
#if defined(__x86_64__)
    unsigned long long o;
    c = _addcarry_u64(c, a, b, &o);
    *out = o;
    return c;
#else
    sm2_u128 s = (sm2_u128)a + b + c;
    *out = (uint64_t)s;
    return (unsigned char)(s >> 64);
#endif
}

/* out = a - b - b_in; returns the borrow-out (0 or 1). */
SM2_INLINE unsigned char sm2_subb(unsigned char b_in, uint64_t a, uint64_t b, uint64_t *out)
{
#if defined(__x86_64__)
    unsigned long long o;
    b_in = _subborrow_u64(b_in, a, b, &o);
    *out = o;
    return b_in;
#else
    sm2_u128 d = (sm2_u128)a - b - b_in;
    *out = (uint64_t)d;
    return (unsigned char)((d >> 64) & 1);
#endif
}

/* The older helpers (carry through a pointer), for code off the hot path. */
static inline uint64_t sm2_adc(uint64_t a, uint64_t b, uint64_t *c)
{
    uint64_t o;
    *c = sm2_addc((unsigned char)*c, a, b, &o);
    return o;
}

static inline uint64_t sm2_sbb(uint64_t a, uint64_t b, uint64_t *borrow)
{
    uint64_t o;
    *borrow = sm2_subb((unsigned char)*borrow, a, b, &o);
    return o;
}

/* Hides a value from the optimiser, so that mask arithmetic is not turned
 * back into a comparison and a branch. */
static inline uint64_t sm2_barrier(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    __asm__("" : "+r"(x));
#endif
    return x;
}

/* All ones when x == 0, else 0. */
static inline uint64_t sm2_mask_zero64(uint64_t x)
{
    /* (x | -x) has its top bit set exactly when x != 0. */
    return sm2_barrier(((x | (0 - x)) >> 63) - 1);
}

/* All ones when a == b, else 0. */
static inline uint64_t sm2_mask_eq(uint64_t a, uint64_t b)
{
    return sm2_mask_zero64(a ^ b);
}

/* r = mask ? a : b (mask all ones or all zeros) */
static inline void sm2_select4(uint64_t r[4], const uint64_t a[4], const uint64_t b[4],
                               uint64_t mask_a)
{
    r[0] = (a[0] & mask_a) | (b[0] & ~mask_a);
    r[1] = (a[1] & mask_a) | (b[1] & ~mask_a);
    r[2] = (a[2] & mask_a) | (b[2] & ~mask_a);
    r[3] = (a[3] & mask_a) | (b[3] & ~mask_a);
}

static inline void sm2_copy4(uint64_t r[4], const uint64_t a[4])
{
    r[0] = a[0], r[1] = a[1], r[2] = a[2], r[3] = a[3];
}

/* All ones when the 256-bit value is zero. */
static inline uint64_t sm2_is_zero4(const uint64_t a[4])
{
    return sm2_mask_zero64(a[0] | a[1] | a[2] | a[3]);
}

/* All ones when a == b. */
static inline uint64_t sm2_equal4(const uint64_t a[4], const uint64_t b[4])
{
    return sm2_mask_zero64((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]));
}

/* Big-endian 32 bytes <-> limbs. */
static inline void sm2_from_be(uint64_t r[4], const uint8_t b[32])
{
    for (int i = 0; i < 4; i++) {
        const uint8_t *q = b + 8 * (3 - i);
        r[i] = (uint64_t)q[0] << 56 | (uint64_t)q[1] << 48 | (uint64_t)q[2] << 40 |
               (uint64_t)q[3] << 32 | (uint64_t)q[4] << 24 | (uint64_t)q[5] << 16 |
               (uint64_t)q[6] << 8 | (uint64_t)q[7];
    }
}

static inline void sm2_to_be(uint8_t b[32], const uint64_t a[4])
{
    for (int i = 0; i < 4; i++) {
        uint8_t *q = b + 8 * (3 - i);
        for (int j = 0; j < 8; j++)
            q[j] = (uint8_t)(a[i] >> (56 - 8 * j));
    }
}

/* a < m (constant time; 1 or 0). */
static inline int sm2_lt4(const uint64_t a[4], const uint64_t m[4])
{
    uint64_t t;
    unsigned char b = 0;
    b = sm2_subb(b, a[0], m[0], &t);
    b = sm2_subb(b, a[1], m[1], &t);
    b = sm2_subb(b, a[2], m[2], &t);
    b = sm2_subb(b, a[3], m[3], &t);
    return b;
}

/* ---- the field mod p --------------------------------------------------------*/

#define SM2_P0 0xffffffffffffffffULL
#define SM2_P1 0xffffffff00000000ULL
#define SM2_P2 0xffffffffffffffffULL
#define SM2_P3 0xfffffffeffffffffULL
static const uint64_t SM2_P[4] = {SM2_P0, SM2_P1, SM2_P2, SM2_P3};
/* 2^256 mod p (1 in Montgomery form) and 2^512 mod p (to enter it). */
static const uint64_t SM2_FP_ONE[4] = {0x0000000000000001ULL, 0x00000000ffffffffULL,
                                       0x0000000000000000ULL, 0x0000000100000000ULL};
static const uint64_t SM2_FP_R2[4] = {0x0000000200000003ULL, 0x00000002ffffffffULL,
                                      0x0000000100000001ULL, 0x0000000400000002ULL};
/* b·2^256 mod p (the curve's b in Montgomery form). */
static const uint64_t SM2_FP_B[4] = {0x90d230632bc0dd42ULL, 0x71cf379ae9b537abULL,
                                     0x527981505ea51c3cULL, 0x240fe188ba20e2c8ULL};

/* r = (c:s) mod p for a 257-bit value (c = carry bit) below 2p: subtract p
 * and keep the difference unless it borrowed without the carry. */
SM2_INLINE void fp_reduce_once(uint64_t r[4], uint64_t c, uint64_t s0, uint64_t s1, uint64_t s2,
                               uint64_t s3)
{
    uint64_t d0, d1, d2, d3;
    unsigned char b = 0;
    b = sm2_subb(b, s0, SM2_P0, &d0);
    b = sm2_subb(b, s1, SM2_P1, &d1);
    b = sm2_subb(b, s2, SM2_P2, &d2);
    b = sm2_subb(b, s3, SM2_P3, &d3);
    uint64_t keep = sm2_barrier((0 - (uint64_t)b) & ~(0 - c));
    r[0] = (s0 & keep) | (d0 & ~keep);
    r[1] = (s1 & keep) | (d1 & ~keep);
    r[2] = (s2 & keep) | (d2 & ~keep);
    r[3] = (s3 & keep) | (d3 & ~keep);
}

/* r = a + b mod p */
SM2_INLINE void fp_add(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    uint64_t s0, s1, s2, s3;
    unsigned char c = 0;
    c = sm2_addc(c, a[0], b[0], &s0);
    c = sm2_addc(c, a[1], b[1], &s1);
    c = sm2_addc(c, a[2], b[2], &s2);
    c = sm2_addc(c, a[3], b[3], &s3);
    fp_reduce_once(r, c, s0, s1, s2, s3);
}

/* r = a - b mod p */
SM2_INLINE void fp_sub(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    uint64_t d0, d1, d2, d3;
    unsigned char br = 0, c = 0;
    br = sm2_subb(br, a[0], b[0], &d0);
    br = sm2_subb(br, a[1], b[1], &d1);
    br = sm2_subb(br, a[2], b[2], &d2);
    br = sm2_subb(br, a[3], b[3], &d3);
    uint64_t m = sm2_barrier(0 - (uint64_t)br); /* add p back when a < b */
    c = sm2_addc(c, d0, SM2_P0 & m, &r[0]);
    c = sm2_addc(c, d1, SM2_P1 & m, &r[1]);
    c = sm2_addc(c, d2, SM2_P2 & m, &r[2]);
    (void)sm2_addc(c, d3, SM2_P3 & m, &r[3]);
}

/* r = a / 2 mod p: a, plus p when a is odd (masked), shifted right by one
 * bit with the carry of that sum as the new top bit. */
SM2_INLINE void fp_half(uint64_t r[4], const uint64_t a[4])
{
    uint64_t m = sm2_barrier(0 - (a[0] & 1)), t0, t1, t2, t3;
    unsigned char c = 0;
    c = sm2_addc(c, a[0], SM2_P0 & m, &t0);
    c = sm2_addc(c, a[1], SM2_P1 & m, &t1);
    c = sm2_addc(c, a[2], SM2_P2 & m, &t2);
    c = sm2_addc(c, a[3], SM2_P3 & m, &t3);
    r[0] = (t0 >> 1) | (t1 << 63);
    r[1] = (t1 >> 1) | (t2 << 63);
    r[2] = (t2 >> 1) | (t3 << 63);
    r[3] = (t3 >> 1) | ((uint64_t)c << 63);
}

/* r = -a mod p (0 stays 0) */
static inline void fp_neg(uint64_t r[4], const uint64_t a[4])
{
    uint64_t d0, d1, d2, d3, nz = ~sm2_is_zero4(a);
    unsigned char br = 0;
    br = sm2_subb(br, SM2_P0, a[0], &d0);
    br = sm2_subb(br, SM2_P1, a[1], &d1);
    br = sm2_subb(br, SM2_P2, a[2], &d2);
    (void)sm2_subb(br, SM2_P3, a[3], &d3);
    r[0] = d0 & nz, r[1] = d1 & nz, r[2] = d2 & nz, r[3] = d3 & nz;
}

/* One Montgomery reduction step for p, where m = the limb being cleared:
 * because p ≡ -1 (mod 2^64) the multiplier is m itself, and
 *   (t + m·p) / 2^64 = t_hi + m·(2^192 - 2^160 - 2^32 + 1)
 *                    = t_hi + [m, 0, 0, m] - [m<<32, m>>32, m<<32, m>>32]
 * (limbs of 64 bits). With t < 2^256 the result is < 2^256, so the 256-bit
 * add and subtract may simply wrap. */
#define FP_REDC_STEP(r0, r1, r2, r3)                                                               \
    do {                                                                                           \
        uint64_t m_ = r0, lo_ = m_ << 32, hi_ = m_ >> 32, s0_, s1_, s2_, s3_;                      \
        unsigned char c_ = 0, b_ = 0;                                                              \
        c_ = sm2_addc(c_, r1, m_, &s0_);                                                           \
        c_ = sm2_addc(c_, r2, 0, &s1_);                                                            \
        c_ = sm2_addc(c_, r3, 0, &s2_);                                                            \
        s3_ = m_ + c_;                                                                             \
        b_ = sm2_subb(b_, s0_, lo_, &r0);                                                          \
        b_ = sm2_subb(b_, s1_, hi_, &r1);                                                          \
        b_ = sm2_subb(b_, s2_, lo_, &r2);                                                          \
        (void)sm2_subb(b_, s3_, hi_, &r3);                                                         \
    } while (0)

/* r = (t0..t3 + 2^256·(t4..t7)) / 2^256 mod p, for t < p·2^256. */
SM2_INLINE void fp_redc(uint64_t r[4], uint64_t t0, uint64_t t1, uint64_t t2, uint64_t t3,
                        uint64_t t4, uint64_t t5, uint64_t t6, uint64_t t7)
{
    FP_REDC_STEP(t0, t1, t2, t3);
    FP_REDC_STEP(t0, t1, t2, t3);
    FP_REDC_STEP(t0, t1, t2, t3);
    FP_REDC_STEP(t0, t1, t2, t3);
    /* now t0..t3 <= p; add the high half (< p), subtract p once if needed */
    uint64_t s0, s1, s2, s3;
    unsigned char c = 0;
    c = sm2_addc(c, t0, t4, &s0);
    c = sm2_addc(c, t1, t5, &s1);
    c = sm2_addc(c, t2, t6, &s2);
    c = sm2_addc(c, t3, t7, &s3);
    fp_reduce_once(r, c, s0, s1, s2, s3);
}

/* One row of the schoolbook product: (x0..x3, x4) += ai·(b0..b3). */
#define FP_MUL_ROW(ai, x0, x1, x2, x3, x4)                                                         \
    do {                                                                                           \
        sm2_u128 u_;                                                                               \
        uint64_t c_;                                                                               \
        u_ = (sm2_u128)(ai)*b0 + x0;                                                               \
        x0 = (uint64_t)u_, c_ = (uint64_t)(u_ >> 64);                                              \
        u_ = (sm2_u128)(ai)*b1 + x1 + c_;                                                          \
        x1 = (uint64_t)u_, c_ = (uint64_t)(u_ >> 64);                                              \
        u_ = (sm2_u128)(ai)*b2 + x2 + c_;                                                          \
        x2 = (uint64_t)u_, c_ = (uint64_t)(u_ >> 64);                                              \
        u_ = (sm2_u128)(ai)*b3 + x3 + c_;                                                          \
        x3 = (uint64_t)u_, x4 = (uint64_t)(u_ >> 64);                                              \
    } while (0)

/* r = a·b·2^-256 mod p (Montgomery product). r may alias a or b. */
SM2_INLINE void fp_mul(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    uint64_t b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4, t5, t6, t7;
    FP_MUL_ROW(a[0], t0, t1, t2, t3, t4);
    FP_MUL_ROW(a[1], t1, t2, t3, t4, t5);
    FP_MUL_ROW(a[2], t2, t3, t4, t5, t6);
    FP_MUL_ROW(a[3], t3, t4, t5, t6, t7);
    fp_redc(r, t0, t1, t2, t3, t4, t5, t6, t7);
}

/* r = a^2·2^-256 mod p: six cross products doubled, plus four squares. */
SM2_INLINE void fp_sqr(uint64_t r[4], const uint64_t a[4])
{
    uint64_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    uint64_t t0, t1, t2, t3, t4, t5, t6, t7, c;
    sm2_u128 u;
    u = (sm2_u128)a0 * a1;
    t1 = (uint64_t)u, c = (uint64_t)(u >> 64);
    u = (sm2_u128)a0 * a2 + c;
    t2 = (uint64_t)u, c = (uint64_t)(u >> 64);
    u = (sm2_u128)a0 * a3 + c;
    t3 = (uint64_t)u, t4 = (uint64_t)(u >> 64);
    u = (sm2_u128)a1 * a2 + t3;
    t3 = (uint64_t)u, c = (uint64_t)(u >> 64);
    u = (sm2_u128)a1 * a3 + t4 + c;
    t4 = (uint64_t)u, t5 = (uint64_t)(u >> 64);
    u = (sm2_u128)a2 * a3 + t5;
    t5 = (uint64_t)u, t6 = (uint64_t)(u >> 64);
    /* doubled */
    t7 = t6 >> 63;
    t6 = (t6 << 1) | (t5 >> 63);
    t5 = (t5 << 1) | (t4 >> 63);
    t4 = (t4 << 1) | (t3 >> 63);
    t3 = (t3 << 1) | (t2 >> 63);
    t2 = (t2 << 1) | (t1 >> 63);
    t1 = t1 << 1;
    /* plus the squares a_i^2 */
    uint64_t q0, q1, q2, q3, q4, q5, q6, q7;
    u = (sm2_u128)a0 * a0;
    q0 = (uint64_t)u, q1 = (uint64_t)(u >> 64);
    u = (sm2_u128)a1 * a1;
    q2 = (uint64_t)u, q3 = (uint64_t)(u >> 64);
    u = (sm2_u128)a2 * a2;
    q4 = (uint64_t)u, q5 = (uint64_t)(u >> 64);
    u = (sm2_u128)a3 * a3;
    q6 = (uint64_t)u, q7 = (uint64_t)(u >> 64);
    unsigned char cc = 0;
    t0 = q0;
    cc = sm2_addc(cc, t1, q1, &t1);
    cc = sm2_addc(cc, t2, q2, &t2);
    cc = sm2_addc(cc, t3, q3, &t3);
    cc = sm2_addc(cc, t4, q4, &t4);
    cc = sm2_addc(cc, t5, q5, &t5);
    cc = sm2_addc(cc, t6, q6, &t6);
    (void)sm2_addc(cc, t7, q7, &t7);
    fp_redc(r, t0, t1, t2, t3, t4, t5, t6, t7);
}

/* ---- x86-64: MULX/ADCX/ADOX versions --------------------------------------*/

/* The same Montgomery product and square in inline assembly for x86-64 CPUs
 * with BMI2 and ADX (Broadwell and later): the 512-bit product in two
 * interleaved carry chains (ADCX on CF, ADOX on OF), then the four reduction
 * steps of fp_redc and the final conditional subtraction with CMOV. Same
 * results as fp_mul/fp_sqr, bit for bit (the tests compare them); only
 * called after a CPUID check (sm2_fast.c selects the backend once). The
 * instruction stream does not depend on the operands. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SM2_FIELD_X64 1

/* 2^32 - 1 and 2^32, the multipliers of a reduction step. */
static const uint64_t SM2_X64_KU = 0xffffffffULL, SM2_X64_K32 = 0x100000000ULL;
/* Limbs 1 and 3 of p, which do not fit an instruction's 32-bit immediate
 * (limbs 0 and 2 are -1, which do): memory operands of the final subtractions. */
static const uint64_t SM2_X64_P1 = SM2_P1, SM2_X64_P3 = SM2_P3;

/* The asm reads a[] and b[] through their pointers. Normally that is told to
 * the compiler with "m" operands; sanitizer builds (frame pointer, fewer free
 * registers) say "memory" instead, so that the operands fit. */
#if defined(__SANITIZE_ADDRESS__)
#define SM2_ASM_SAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SM2_ASM_SAN 1
#endif
#endif
/* The constants of SM2_X64_REDC_STEP, as memory operands of every asm. */
#define SM2_ASM_IN_K                                                                               \
    [ku] "m"(SM2_X64_KU), [k32] "m"(SM2_X64_K32), [p1] "m"(SM2_X64_P1), [p3] "m"(SM2_X64_P3)
/* The pointers are in-out operands (copies): once the product is formed the
 * asm reuses one of their registers as a temporary of the reduction. */
#define SM2_ASM_INOUT_A(pa) , [a] "+r"(pa)
#define SM2_ASM_INOUT_AB(pa, pb) , [a] "+r"(pa), [b] "+r"(pb)
#ifdef SM2_ASM_SAN
#define SM2_ASM_IN_A(a) SM2_ASM_IN_K
#define SM2_ASM_IN_AB(a, b) SM2_ASM_IN_K
#define SM2_ASM_CLOBBER "rdx", "cc", "memory"
#else
#define SM2_ASM_IN_A(a) "m"(*(const uint64_t(*)[4])a), SM2_ASM_IN_K
#define SM2_ASM_IN_AB(a, b)                                                                        \
    "m"(*(const uint64_t(*)[4])a), "m"(*(const uint64_t(*)[4])b), SM2_ASM_IN_K
#define SM2_ASM_CLOBBER "rdx", "cc"
#endif

/* One Montgomery reduction step on the window (d0, d1, d2, d3), leaving the
 * result in (d1, d2, d3, d0). With m = d0 (p ≡ -1 mod 2^64):
 *   (D + m·p) / 2^64 = [d1, d2, d3, m] - [u, m·2^32]
 * where u = (2^32 - 1)·m and m·2^32 are two-limb products, both formed by
 * MULX from constants in memory (no shifts and copies), so a step is one
 * four-limb borrow chain. The result is below 2^256 (D < 2^256), so the
 * chain never borrows out. X is a free register; rdx is scratch. */
#define SM2_X64_REDC_STEP(d0, d1, d2, d3, X)                                                       \
    "movq %[" #d0 "], %%rdx\n\t"                                                                   \
    "mulxq %[ku], %[" #X "], %[T1]\n\t"                                                           \
    "mulxq %[k32], %[T0], %%rdx\n\t"                                                              \
    "subq %[" #X "], %[" #d1 "]\n\t"                                                               \
    "sbbq %[T1], %[" #d2 "]\n\t"                                                                  \
    "sbbq %[T0], %[" #d3 "]\n\t"                                                                  \
    "sbbq %%rdx, %[" #d0 "]\n\t"


SM2_INLINE void fp_mul_x64(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    uint64_t t0, t1, t2, t3, t4, t5, t6, t7, T0, T1;
    const uint64_t *pa = a, *pb = b; /* pb is scratch once the product is done */
    __asm__("movq 0(%[b]), %%rdx\n\t"
            "mulxq 0(%[a]), %[t0], %[t1]\n\t"
            "mulxq 8(%[a]), %[T0], %[t2]\n\t"
            "addq %[T0], %[t1]\n\t"
            "mulxq 16(%[a]), %[T0], %[t3]\n\t"
            "adcq %[T0], %[t2]\n\t"
            "mulxq 24(%[a]), %[T0], %[t4]\n\t"
            "adcq %[T0], %[t3]\n\t"
            "adcq $0, %[t4]\n\t"
            "movq 8(%[b]), %%rdx\n\t"
            "xorl %k[T0], %k[T0]\n\t"
            "mulxq 0(%[a]), %[T0], %[T1]\n\t"
            "adcxq %[T0], %[t1]\n\t"
            "adoxq %[T1], %[t2]\n\t"
            "mulxq 8(%[a]), %[T0], %[T1]\n\t"
            "adcxq %[T0], %[t2]\n\t"
            "adoxq %[T1], %[t3]\n\t"
            "mulxq 16(%[a]), %[T0], %[T1]\n\t"
            "adcxq %[T0], %[t3]\n\t"
            "adoxq %[T1], %[t4]\n\t"
            "mulxq 24(%[a]), %[T0], %[t5]\n\t"
            "adcxq %[T0], %[t4]\n\t"
            "movl $0, %k[T0]\n\t"
            "adoxq %[T0], %[t5]\n\t"
            "adcxq %[T0], %[t5]\n\t"
            "movq 16(%[b]), %%rdx\n\t"
            "xorl %k[T0], %k[T0]\n\t"
            "mulxq 0(%[a]), %[T0], %[T1]\n\t"
            "adcxq %[T0], %[t2]\n\t"
            "adoxq %[T1], %[t3]\n\t"
            "mulxq 8(%[a]), %[T0], %[T1]\n\t"
            "adcxq %[T0], %[t3]\n\t"
            "adoxq %[T1], %[t4]\n\t"
            "mulxq 16(%[a]), %[T0], %[T1]\n\t"
            "adcxq %[T0], %[t4]\n\t"
            "adoxq %[T1], %[t5]\n\t"
            "mulxq 24(%[a]), %[T0], %[t6]\n\t"
            "adcxq %[T0], %[t5]\n\t"
            "movl $0, %k[T0]\n\t"
            "adoxq %[T0], %[t6]\n\t"
            "adcxq %[T0], %[t6]\n\t"
            "movq 24(%[b]), %%rdx\n\t"
            "xorl %k[T0], %k[T0]\n\t"
            "mulxq 0(%[a]), %[T0], %[T1]\n\t"
            "adcxq %[T0], %[t3]\n\t"
            "adoxq %[T1], %[t4]\n\t"
            "mulxq 8(%[a]), %[T0], %[T1]\n\t"
            "adcxq %[T0], %[t4]\n\t"
            "adoxq %[T1], %[t5]\n\t"
            "mulxq 16(%[a]), %[T0], %[T1]\n\t"
            "adcxq %[T0], %[t5]\n\t"
            "adoxq %[T1], %[t6]\n\t"
            "mulxq 24(%[a]), %[T0], %[t7]\n\t"
            "adcxq %[T0], %[t6]\n\t"
            "movl $0, %k[T0]\n\t"
            "adoxq %[T0], %[t7]\n\t"
            "adcxq %[T0], %[t7]\n\t"
            SM2_X64_REDC_STEP(t0, t1, t2, t3, b)
            SM2_X64_REDC_STEP(t1, t2, t3, t0, b)
            SM2_X64_REDC_STEP(t2, t3, t0, t1, b)
            SM2_X64_REDC_STEP(t3, t0, t1, t2, b)
            "xorl %k[T0], %k[T0]\n\t"
            "addq %[t4], %[t0]\n\t"
            "adcq %[t5], %[t1]\n\t"
            "adcq %[t6], %[t2]\n\t"
            "adcq %[t7], %[t3]\n\t"
            "adcq $0, %[T0]\n\t"
            "movq %[t0], %[t4]\n\t"
            "subq $-1, %[t4]\n\t"
            "movq %[t1], %[t5]\n\t"
            "sbbq %[p1], %[t5]\n\t"
            "movq %[t2], %[t6]\n\t"
            "sbbq $-1, %[t6]\n\t"
            "movq %[t3], %[t7]\n\t"
            "sbbq %[p3], %[t7]\n\t"
            "sbbq $0, %[T0]\n\t"
            "cmovaeq %[t4], %[t0]\n\t"
            "cmovaeq %[t5], %[t1]\n\t"
            "cmovaeq %[t6], %[t2]\n\t"
            "cmovaeq %[t7], %[t3]\n\t"
            : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
              [t5] "=&r"(t5), [t6] "=&r"(t6), [t7] "=&r"(t7), [T0] "=&r"(T0), [T1] "=&r"(T1)
              SM2_ASM_INOUT_AB(pa, pb)
            : SM2_ASM_IN_AB(a, b)
            : SM2_ASM_CLOBBER);
    r[0] = t0, r[1] = t1, r[2] = t2, r[3] = t3;
}

SM2_INLINE void fp_sqr_x64(uint64_t r[4], const uint64_t a[4])
{
    uint64_t t0, t1, t2, t3, t4, t5, t6, t7, T0, T1;
    const uint64_t *pa = a; /* scratch once the product is done */
    __asm__("movq 0(%[a]), %%rdx\n\t"
            "mulxq 8(%[a]), %[t1], %[t2]\n\t"
            "mulxq 16(%[a]), %[T0], %[t3]\n\t"
            "addq %[T0], %[t2]\n\t"
            "mulxq 24(%[a]), %[T0], %[t4]\n\t"
            "adcq %[T0], %[t3]\n\t"
            "adcq $0, %[t4]\n\t"
            "movq 8(%[a]), %%rdx\n\t"
            "mulxq 16(%[a]), %[T0], %[T1]\n\t"
            "mulxq 24(%[a]), %[t0], %[t5]\n\t"
            "addq %[T0], %[t3]\n\t"
            "adcq %[T1], %[t4]\n\t"
            "adcq $0, %[t5]\n\t"
            "addq %[t0], %[t4]\n\t"
            "adcq $0, %[t5]\n\t"
            "movq 16(%[a]), %%rdx\n\t"
            "mulxq 24(%[a]), %[T0], %[t6]\n\t"
            "addq %[T0], %[t5]\n\t"
            "adcq $0, %[t6]\n\t"
            "xorl %k[t7], %k[t7]\n\t"
            "addq %[t1], %[t1]\n\t"
            "adcq %[t2], %[t2]\n\t"
            "adcq %[t3], %[t3]\n\t"
            "adcq %[t4], %[t4]\n\t"
            "adcq %[t5], %[t5]\n\t"
            "adcq %[t6], %[t6]\n\t"
            "adcq $0, %[t7]\n\t"
            "movq 0(%[a]), %%rdx\n\t"
            "mulxq %%rdx, %[t0], %[T1]\n\t"
            "movq 8(%[a]), %%rdx\n\t"
            "mulxq %%rdx, %[T0], %%rdx\n\t"
            "addq %[T1], %[t1]\n\t"
            "adcq %[T0], %[t2]\n\t"
            "adcq %%rdx, %[t3]\n\t"
            "movq 16(%[a]), %%rdx\n\t"
            "mulxq %%rdx, %[T0], %[T1]\n\t"
            "adcq %[T0], %[t4]\n\t"
            "adcq %[T1], %[t5]\n\t"
            "movq 24(%[a]), %%rdx\n\t"
            "mulxq %%rdx, %[T0], %[T1]\n\t"
            "adcq %[T0], %[t6]\n\t"
            "adcq %[T1], %[t7]\n\t"
            SM2_X64_REDC_STEP(t0, t1, t2, t3, a)
            SM2_X64_REDC_STEP(t1, t2, t3, t0, a)
            SM2_X64_REDC_STEP(t2, t3, t0, t1, a)
            SM2_X64_REDC_STEP(t3, t0, t1, t2, a)
            "xorl %k[T0], %k[T0]\n\t"
            "addq %[t4], %[t0]\n\t"
            "adcq %[t5], %[t1]\n\t"
            "adcq %[t6], %[t2]\n\t"
            "adcq %[t7], %[t3]\n\t"
            "adcq $0, %[T0]\n\t"
            "movq %[t0], %[t4]\n\t"
            "subq $-1, %[t4]\n\t"
            "movq %[t1], %[t5]\n\t"
            "sbbq %[p1], %[t5]\n\t"
            "movq %[t2], %[t6]\n\t"
            "sbbq $-1, %[t6]\n\t"
            "movq %[t3], %[t7]\n\t"
            "sbbq %[p3], %[t7]\n\t"
            "sbbq $0, %[T0]\n\t"
            "cmovaeq %[t4], %[t0]\n\t"
            "cmovaeq %[t5], %[t1]\n\t"
            "cmovaeq %[t6], %[t2]\n\t"
            "cmovaeq %[t7], %[t3]\n\t"
            : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
              [t5] "=&r"(t5), [t6] "=&r"(t6), [t7] "=&r"(t7), [T0] "=&r"(T0), [T1] "=&r"(T1)
              SM2_ASM_INOUT_A(pa)
            : SM2_ASM_IN_A(a)
            : SM2_ASM_CLOBBER);
    r[0] = t0, r[1] = t1, r[2] = t2, r[3] = t3;
}


/* Inputs and clobbers of fp_add_x64 / fp_sub_x64 (a and b read through
 * their pointers, as in the products above). */
#ifdef SM2_ASM_SAN
#define SM2_ASM_SUM_TAIL(a, b)                                                                     \
    : [a] "r"(a), [b] "r"(b), [p1] "m"(SM2_X64_P1), [p3] "m"(SM2_X64_P3) : "cc", "memory"
#else
#define SM2_ASM_SUM_TAIL(a, b)                                                                     \
    : [a] "r"(a), [b] "r"(b), [p1] "m"(SM2_X64_P1), [p3] "m"(SM2_X64_P3),                          \
      "m"(*(const uint64_t(*)[4])a), "m"(*(const uint64_t(*)[4])b) : "cc"
#endif

/* r = a + b mod p in one carry chain: the sum (with its carry) minus p,
 * keeping the sum by CMOV when that borrows. The C version (fp_add) costs
 * about twice the instructions: compilers spill the carry to a byte
 * register and blend with masks. */
SM2_INLINE void fp_add_x64(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    uint64_t t0, t1, t2, t3, u0, u1, u2, u3, c;
    __asm__("movq 0(%[a]), %[t0]\n\t"
            "movq 8(%[a]), %[t1]\n\t"
            "movq 16(%[a]), %[t2]\n\t"
            "movq 24(%[a]), %[t3]\n\t"
            "xorl %k[c], %k[c]\n\t"
            "addq 0(%[b]), %[t0]\n\t"
            "adcq 8(%[b]), %[t1]\n\t"
            "adcq 16(%[b]), %[t2]\n\t"
            "adcq 24(%[b]), %[t3]\n\t"
            "adcq $0, %[c]\n\t"
            "movq %[t0], %[u0]\n\t"
            "subq $-1, %[u0]\n\t"
            "movq %[t1], %[u1]\n\t"
            "sbbq %[p1], %[u1]\n\t"
            "movq %[t2], %[u2]\n\t"
            "sbbq $-1, %[u2]\n\t"
            "movq %[t3], %[u3]\n\t"
            "sbbq %[p3], %[u3]\n\t"
            "sbbq $0, %[c]\n\t" /* borrow: the sum was below p, keep it */
            "cmovaeq %[u0], %[t0]\n\t"
            "cmovaeq %[u1], %[t1]\n\t"
            "cmovaeq %[u2], %[t2]\n\t"
            "cmovaeq %[u3], %[t3]\n\t"
            : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [u0] "=&r"(u0),
              [u1] "=&r"(u1), [u2] "=&r"(u2), [u3] "=&r"(u3), [c] "=&r"(c)
            SM2_ASM_SUM_TAIL(a, b));
    r[0] = t0, r[1] = t1, r[2] = t2, r[3] = t3;
}

/* r = a - b mod p: the difference, plus p masked by its borrow. */
SM2_INLINE void fp_sub_x64(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    uint64_t t0, t1, t2, t3, m, u1, u3;
    __asm__("movq 0(%[a]), %[t0]\n\t"
            "movq 8(%[a]), %[t1]\n\t"
            "movq 16(%[a]), %[t2]\n\t"
            "movq 24(%[a]), %[t3]\n\t"
            "subq 0(%[b]), %[t0]\n\t"
            "sbbq 8(%[b]), %[t1]\n\t"
            "sbbq 16(%[b]), %[t2]\n\t"
            "sbbq 24(%[b]), %[t3]\n\t"
            "sbbq %[m], %[m]\n\t" /* all ones when a < b */
            "movq %[m], %[u1]\n\t"
            "andq %[p1], %[u1]\n\t"
            "movq %[m], %[u3]\n\t"
            "andq %[p3], %[u3]\n\t"
            "addq %[m], %[t0]\n\t"
            "adcq %[u1], %[t1]\n\t"
            "adcq %[m], %[t2]\n\t"
            "adcq %[u3], %[t3]\n\t"
            : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [m] "=&r"(m),
              [u1] "=&r"(u1), [u3] "=&r"(u3)
            SM2_ASM_SUM_TAIL(a, b));
    r[0] = t0, r[1] = t1, r[2] = t2, r[3] = t3;
}
#else
#define SM2_FIELD_X64 0
#endif

/* ---- constant-time inversion by divsteps ------------------------------------*/

/* r = a^-1 mod p for a in Montgomery form (result in Montgomery form; 0 maps
 * to 0), in constant time, by Bernstein and Yang's "divstep" recurrence
 * ("Fast constant-time gcd computation and modular inversion", TCHES 2019)
 * in its half-delta variant ("hddivstep", Wuille's safegcd-bounds):
 *
 *   hddivstep(δ, f, g) = (2 - δ, g, (g - f)/2)          if δ > 0 and g odd
 *                        (2 + δ, f, (g + (g mod 2)·f)/2) otherwise
 *
 * started from δ = 1, f = p (odd), g = a. (This is the original divstep with
 * δ doubled and started at 1/2.) For 0 <= g <= f < 2^256, 590 steps bring g
 * to 0 — a bound computed by convex-hull analysis and checked in Coq
 * (github.com/sipa/safegcd-bounds; the original divstep needs 741 by the
 * paper's Theorem 11.2) — leaving f = ±gcd(p, a) = ±1. Alongside, d and e
 * track f ≡ d·a·c, g ≡ e·a·c (mod p) for a constant c, so at the end
 * a^-1·c ≡ ±d. Steps after g = 0 change nothing but δ.
 *
 * The work runs in 10 batches of 62 divsteps (620 >= 590): each batch makes
 * its decisions on the low 64 bits of f and g only, collecting them in a 2×2
 * matrix of 64-bit integers (entries at most 2^62 in size), which is then
 * applied to the full f, g (an exact division by 2^62) and to d, e (a
 * division by 2^62 mod p: since p ≡ -1 (mod 2^62), adding (t mod 2^62)·p
 * makes t divisible). Every decision is a mask; the number of steps is fixed.
 * Big numbers are five signed 62-bit limbs (least significant first; limbs
 * 0..3 in [0, 2^62), limb 4 signed), combined with 128-bit arithmetic; right
 * shifts of negative signed values are arithmetic (gcc and clang guarantee
 * it). fp_inv (Fermat) is the reference the tests compare against. */
#define SM2_M62 0x3fffffffffffffffULL

static const int64_t SM2_P62[5] = {0x3fffffffffffffffLL, 0x3ffffffc00000003LL, 0x3fffffffffffffffLL,
                                   0x3fffffbfffffffffLL, 0xffLL};

static inline void sm2_to62(int64_t r[5], const uint64_t a[4])
{
    r[0] = (int64_t)(a[0] & SM2_M62);
    r[1] = (int64_t)(((a[0] >> 62) | (a[1] << 2)) & SM2_M62);
    r[2] = (int64_t)(((a[1] >> 60) | (a[2] << 4)) & SM2_M62);
    r[3] = (int64_t)(((a[2] >> 58) | (a[3] << 6)) & SM2_M62);
    r[4] = (int64_t)(a[3] >> 56);
}

static inline void sm2_from62(uint64_t r[4], const int64_t a[5])
{
    uint64_t a0 = (uint64_t)a[0], a1 = (uint64_t)a[1], a2 = (uint64_t)a[2], a3 = (uint64_t)a[3],
             a4 = (uint64_t)a[4];
    r[0] = a0 | (a1 << 62);
    r[1] = (a1 >> 2) | (a2 << 60);
    r[2] = (a2 >> 4) | (a3 << 58);
    r[3] = (a3 >> 6) | (a4 << 56);
}

/* 62 hddivsteps on the low words of f and g; returns the transition matrix
 * (u v; q r) with 2^62·(f', g') = (u·f + v·g, q·f + r·g). δ (always odd
 * here) is carried as ζ = -(δ + 1)/2, so ζ starts at -1, ζ < 0 exactly when
 * δ > 0, and δ := 2 - δ / 2 + δ become ζ := -ζ - 2 / ζ - 1. A swapping step
 * is written without a swap: g := g - f, then f := f + g (= the old g). */
static inline void sm2_divsteps62(int64_t *zeta, uint64_t f, uint64_t g, int64_t t[4])
{
    uint64_t u = 1, v = 0, q = 0, r = 1, z = (uint64_t)*zeta;
    for (int i = 0; i < 62; i++) {
        uint64_t c1 = sm2_barrier((uint64_t)((int64_t)z >> 63)); /* δ > 0 */
        uint64_t c2 = 0 - (g & 1);                               /* g odd */
        /* g odd: g += f, or g -= f when δ > 0 (with its row) */
        uint64_t x = (f ^ c1) - c1, y = (u ^ c1) - c1, w = (v ^ c1) - c1;
        g += x & c2, q += y & c2, r += w & c2;
        /* swap case (δ > 0 and g odd): f takes the old g; ζ := -ζ - 2 */
        c1 &= c2;
        z = (z ^ c1) - 1;
        f += g & c1, u += q & c1, v += r & c1;
        /* halve g (double the f row instead) */
        g >>= 1, u <<= 1, v <<= 1;
    }
    *zeta = (int64_t)z;
    t[0] = (int64_t)u, t[1] = (int64_t)v, t[2] = (int64_t)q, t[3] = (int64_t)r;
}

/* (f, g) := (u·f + v·g, q·f + r·g) / 2^62 (exact). */
static inline void sm2_update_fg(int64_t f[5], int64_t g[5], const int64_t t[4])
{
    typedef __int128 i128;
    i128 cf = (i128)t[0] * f[0] + (i128)t[1] * g[0];
    i128 cg = (i128)t[2] * f[0] + (i128)t[3] * g[0];
    cf >>= 62, cg >>= 62;
    for (int k = 1; k < 5; k++) {
        cf += (i128)t[0] * f[k] + (i128)t[1] * g[k];
        cg += (i128)t[2] * f[k] + (i128)t[3] * g[k];
        f[k - 1] = (int64_t)((uint64_t)cf & SM2_M62);
        g[k - 1] = (int64_t)((uint64_t)cg & SM2_M62);
        cf >>= 62, cg >>= 62;
    }
    f[4] = (int64_t)cf, g[4] = (int64_t)cg;
}

/* x := x - p when x >= p (x in (-p, 2p) -> (-p, p)). */
static inline void sm2_csub62(int64_t x[5])
{
    int64_t y[5];
    __int128 c = 0;
    for (int k = 0; k < 5; k++) {
        c += (__int128)x[k] - SM2_P62[k];
        y[k] = k < 4 ? (int64_t)((uint64_t)c & SM2_M62) : (int64_t)c;
        c >>= 62;
    }
    uint64_t keep = sm2_barrier((uint64_t)(y[4] >> 63)); /* x - p < 0: keep x */
    for (int k = 0; k < 5; k++)
        x[k] = (int64_t)(((uint64_t)x[k] & keep) | ((uint64_t)y[k] & ~keep));
}

/* (d, e) := (u·d + v·e, q·d + r·e) / 2^62 mod p, kept in (-p, p). */
static inline void sm2_update_de(int64_t d[5], int64_t e[5], const int64_t t[4])
{
    typedef __int128 i128;
    i128 cd = (i128)t[0] * d[0] + (i128)t[1] * e[0];
    i128 ce = (i128)t[2] * d[0] + (i128)t[3] * e[0];
    /* p ≡ -1 (mod 2^62): adding (c mod 2^62)·p clears the low 62 bits */
    int64_t md = (int64_t)((uint64_t)cd & SM2_M62), me = (int64_t)((uint64_t)ce & SM2_M62);
    cd += (i128)md * SM2_P62[0], ce += (i128)me * SM2_P62[0];
    cd >>= 62, ce >>= 62;
    for (int k = 1; k < 5; k++) {
        cd += (i128)t[0] * d[k] + (i128)t[1] * e[k] + (i128)md * SM2_P62[k];
        ce += (i128)t[2] * d[k] + (i128)t[3] * e[k] + (i128)me * SM2_P62[k];
        d[k - 1] = (int64_t)((uint64_t)cd & SM2_M62);
        e[k - 1] = (int64_t)((uint64_t)ce & SM2_M62);
        cd >>= 62, ce >>= 62;
    }
    d[4] = (int64_t)cd, e[4] = (int64_t)ce;
    sm2_csub62(d);
    sm2_csub62(e);
}

static inline void fp_inv_divsteps(uint64_t r[4], const uint64_t a[4])
{
    /* e starts at 2^512 mod p (plain): the result is then 2^512·(aR)^-1 =
     * a^-1·R, the Montgomery form of a^-1. */
    int64_t f[5], g[5], d[5] = {0, 0, 0, 0, 0},
                        e[5] = {0x200000003LL, 0xbfffffffcLL, 0x1000000010LL, 0x10000000080LL, 0};
    int64_t zeta = -1, t[4]; /* δ = 1 */
    for (int k = 0; k < 5; k++)
        f[k] = SM2_P62[k];
    sm2_to62(g, a);
    for (int i = 0; i < 10; i++) {
        sm2_divsteps62(&zeta, (uint64_t)f[0] | ((uint64_t)f[1] << 62),
                       (uint64_t)g[0] | ((uint64_t)g[1] << 62), t);
        sm2_update_fg(f, g, t);
        sm2_update_de(d, e, t);
    }
    /* f = ±1: negate d when f < 0, then bring it into [0, p) */
    uint64_t neg = sm2_barrier((uint64_t)(f[4] >> 63));
    __int128 c = 0;
    for (int k = 0; k < 5; k++) {
        c += (__int128)(int64_t)(((uint64_t)d[k] ^ neg) - neg);
        d[k] = k < 4 ? (int64_t)((uint64_t)c & SM2_M62) : (int64_t)c;
        c >>= 62;
    }
    /* d in (-p, p): add p when negative */
    uint64_t add = sm2_barrier((uint64_t)(d[4] >> 63));
    c = 0;
    for (int k = 0; k < 5; k++) {
        c += (__int128)d[k] + (int64_t)((uint64_t)SM2_P62[k] & add);
        d[k] = k < 4 ? (int64_t)((uint64_t)c & SM2_M62) : (int64_t)c;
        c >>= 62;
    }
    sm2_from62(r, d);
}

/* ---- scalars mod n ----------------------------------------------------------*/

static const uint64_t SM2_N[4] = {0x53bbf40939d54123ULL, 0x7203df6b21c6052bULL,
                                  0xffffffffffffffffULL, 0xfffffffeffffffffULL};
/* -n^-1 mod 2^64, 2^256 mod n, 2^512 mod n */
#define SM2_N0 0x327f9e8872350975ULL
static const uint64_t SM2_FN_ONE[4] = {0xac440bf6c62abeddULL, 0x8dfc2094de39fad4ULL,
                                       0x0000000000000000ULL, 0x0000000100000000ULL};
static const uint64_t SM2_FN_R2[4] = {0x901192af7c114f20ULL, 0x3464504ade6fa2faULL,
                                      0x620fc84c3affe0d4ULL, 0x1eb5e412a22b3d3bULL};

/* r = a mod n for any 256-bit a (n > 2^255, so one subtraction suffices). */
static inline void fn_reduce(uint64_t r[4], const uint64_t a[4])
{
    uint64_t d[4];
    unsigned char b = 0;
    b = sm2_subb(b, a[0], SM2_N[0], &d[0]);
    b = sm2_subb(b, a[1], SM2_N[1], &d[1]);
    b = sm2_subb(b, a[2], SM2_N[2], &d[2]);
    b = sm2_subb(b, a[3], SM2_N[3], &d[3]);
    sm2_select4(r, a, d, sm2_barrier(0 - (uint64_t)b));
}

static inline void fn_add(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    uint64_t s[4], d[4];
    unsigned char c = 0, br = 0;
    for (int i = 0; i < 4; i++)
        c = sm2_addc(c, a[i], b[i], &s[i]);
    for (int i = 0; i < 4; i++)
        br = sm2_subb(br, s[i], SM2_N[i], &d[i]);
    uint64_t keep = sm2_barrier((0 - (uint64_t)br) & ~(0 - (uint64_t)c));
    sm2_select4(r, s, d, keep);
}

static inline void fn_sub(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    uint64_t d[4];
    unsigned char br = 0, c = 0;
    for (int i = 0; i < 4; i++)
        br = sm2_subb(br, a[i], b[i], &d[i]);
    uint64_t m = sm2_barrier(0 - (uint64_t)br);
    for (int i = 0; i < 4; i++)
        c = sm2_addc(c, d[i], SM2_N[i] & m, &r[i]);
}

/* r = a·b·2^-256 mod n (CIOS Montgomery multiplication). */
static inline void fn_mul(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    uint64_t t[6] = {0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        uint64_t c = 0;
        sm2_u128 u;
        for (int j = 0; j < 4; j++) {
            u = (sm2_u128)a[i] * b[j] + t[j] + c;
            t[j] = (uint64_t)u, c = (uint64_t)(u >> 64);
        }
        u = (sm2_u128)t[4] + c;
        t[4] = (uint64_t)u, t[5] = (uint64_t)(u >> 64);
        uint64_t m = t[0] * SM2_N0;
        u = (sm2_u128)m * SM2_N[0] + t[0];
        c = (uint64_t)(u >> 64);
        for (int j = 1; j < 4; j++) {
            u = (sm2_u128)m * SM2_N[j] + t[j] + c;
            t[j - 1] = (uint64_t)u, c = (uint64_t)(u >> 64);
        }
        u = (sm2_u128)t[4] + c;
        t[3] = (uint64_t)u;
        t[4] = t[5] + (uint64_t)(u >> 64);
    }
    /* t < 2n: subtract n once if t >= n */
    uint64_t br = 0, d[4];
    for (int i = 0; i < 4; i++)
        d[i] = sm2_sbb(t[i], SM2_N[i], &br);
    uint64_t keep = (0 - br) & ~(0 - t[4]);
    sm2_select4(r, t, d, keep);
}

static inline void fn_to_mont(uint64_t r[4], const uint64_t a[4])
{
    fn_mul(r, a, SM2_FN_R2);
}

static inline void fn_from_mont(uint64_t r[4], const uint64_t a[4])
{
    static const uint64_t one[4] = {1, 0, 0, 0};
    fn_mul(r, a, one);
}

/* r = a^(n-2) = a^-1 mod n, Montgomery in and out. The exponent is public, so
 * square-and-multiply may follow its bits; nothing depends on a. */
static inline void fn_inv(uint64_t r[4], const uint64_t a[4])
{
    static const uint64_t e[4] = {0x53bbf40939d54121ULL, 0x7203df6b21c6052bULL,
                                  0xffffffffffffffffULL, 0xfffffffeffffffffULL};
    uint64_t t[4];
    sm2_copy4(t, SM2_FN_ONE);
    for (int i = 255; i >= 0; i--) {
        fn_mul(t, t, t);
        if ((e[i / 64] >> (i % 64)) & 1)
            fn_mul(t, t, a);
    }
    sm2_copy4(r, t);
}

#endif /* SM2_FAST_AVAILABLE */
#endif
