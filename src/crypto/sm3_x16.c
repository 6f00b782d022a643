#include "crypto/sm3_x16.h"

#include "common/secure.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define X16_ATTR __attribute__((target("avx512f")))

bool sm3_kdf16_available(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
}

/* The GB/T 32905 functions on sixteen lanes. VPTERNLOGD computes any
 * function of three inputs: 0x96 is x ^ y ^ z, 0xE8 the majority
 * (x&y | x&z | y&z), 0xCA the choice (x&y | ~x&z). */
#define XOR3(x, y, z) _mm512_ternarylogic_epi32((x), (y), (z), 0x96)
#define MAJ(x, y, z) _mm512_ternarylogic_epi32((x), (y), (z), 0xE8)
#define CHOOSE(x, y, z) _mm512_ternarylogic_epi32((x), (y), (z), 0xCA)
#define ROL(x, n) _mm512_rol_epi32((x), (n))
#define ADD(x, y) _mm512_add_epi32((x), (y))

X16_ATTR static inline __m512i p0(__m512i x)
{
    return XOR3(x, ROL(x, 9), ROL(x, 17));
}

X16_ATTR static inline __m512i p1(__m512i x)
{
    return XOR3(x, ROL(x, 15), ROL(x, 23));
}

static uint32_t rotl32(uint32_t x, unsigned n)
{
    n &= 31;
    return n ? (x << n) | (x >> (32 - n)) : x;
}

/* One round j of the compression, on registers a..h (renamed by the caller
 * through the argument order instead of moving values). */
#define ROUND(j, FF, GG, a, b, c, d, e, f, g, h)                                                  \
    do {                                                                                           \
        __m512i a12 = ROL(a, 12);                                                                  \
        __m512i ss1 = ROL(ADD(ADD(a12, e), _mm512_set1_epi32((int)tj[j])), 7);                     \
        __m512i ss2 = _mm512_xor_si512(ss1, a12);                                                  \
        __m512i tt1 = ADD(ADD(FF(a, b, c), d), ADD(ss2, _mm512_xor_si512(w[j], w[(j) + 4])));      \
        __m512i tt2 = ADD(ADD(GG(e, f, g), h), ADD(ss1, w[j]));                                    \
        b = ROL(b, 9);                                                                             \
        f = ROL(f, 19);                                                                            \
        d = tt1;                                                                                   \
        h = p0(tt2);                                                                               \
    } while (0)

X16_ATTR void sm3_kdf16(const uint32_t state[8], uint32_t ct0, uint8_t out[16 * 32])
{
    /* T_j <<< (j mod 32), the round constants */
    uint32_t tj[64];
    for (unsigned j = 0; j < 64; j++)
        tj[j] = rotl32(j < 16 ? 0x79cc4519u : 0x7a879d8au, j);

    /* The last block of P || ct: ct, the 0x80 end marker, zeros, and the
     * message length in bits (68 bytes = 544 bits); then the expansion. */
    __m512i w[68];
    w[0] = ADD(_mm512_set1_epi32((int)ct0),
               _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    w[1] = _mm512_set1_epi32((int)0x80000000u);
    for (int j = 2; j < 15; j++)
        w[j] = _mm512_setzero_si512();
    w[15] = _mm512_set1_epi32(544);
    for (int j = 16; j < 68; j++)
        w[j] = XOR3(p1(XOR3(w[j - 16], w[j - 9], ROL(w[j - 3], 15))), ROL(w[j - 13], 7), w[j - 6]);

    __m512i a = _mm512_set1_epi32((int)state[0]), b = _mm512_set1_epi32((int)state[1]),
            c = _mm512_set1_epi32((int)state[2]), d = _mm512_set1_epi32((int)state[3]),
            e = _mm512_set1_epi32((int)state[4]), f = _mm512_set1_epi32((int)state[5]),
            g = _mm512_set1_epi32((int)state[6]), h = _mm512_set1_epi32((int)state[7]);
    /* Each round's result lands in the register that the next round reads
 * as its `a` (and `e`): four rounds bring the names back. */
#define FOUR_ROUNDS(j, FF, GG)                                                                     \
    ROUND((j) + 0, FF, GG, a, b, c, d, e, f, g, h);                                                \
    ROUND((j) + 1, FF, GG, d, a, b, c, h, e, f, g);                                                \
    ROUND((j) + 2, FF, GG, c, d, a, b, g, h, e, f);                                                \
    ROUND((j) + 3, FF, GG, b, c, d, a, f, g, h, e)
    for (int j = 0; j < 16; j += 4) {
        FOUR_ROUNDS(j, XOR3, XOR3);
    }
    for (int j = 16; j < 64; j += 4) {
        FOUR_ROUNDS(j, MAJ, CHOOSE);
    }
#undef FOUR_ROUNDS

    /* V' = ABCDEFGH ^ V, then each lane's eight words big-endian */
    uint32_t v[8][16];
    __m512i r[8] = {a, b, c, d, e, f, g, h};
    for (int i = 0; i < 8; i++)
        _mm512_storeu_si512((void *)v[i],
                            _mm512_xor_si512(r[i], _mm512_set1_epi32((int)state[i])));
    for (int l = 0; l < 16; l++)
        for (int i = 0; i < 8; i++) {
            uint32_t x = v[i][l];
            out[32 * l + 4 * i] = (uint8_t)(x >> 24);
            out[32 * l + 4 * i + 1] = (uint8_t)(x >> 16);
            out[32 * l + 4 * i + 2] = (uint8_t)(x >> 8);
            out[32 * l + 4 * i + 3] = (uint8_t)x;
        }
    secure_wipe(w, sizeof w);
    secure_wipe(v, sizeof v);
    secure_wipe(r, sizeof r);
}

#else

bool sm3_kdf16_available(void)
{
    return false;
}

void sm3_kdf16(const uint32_t state[8], uint32_t ct0, uint8_t out[16 * 32])
{
    (void)state, (void)ct0, (void)out;
}

#endif
