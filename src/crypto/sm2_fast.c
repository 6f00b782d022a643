/*
 * sm2_fast.c — the fast SM2 engine: points, scalar multiplication, and the
 * signing / verification / encryption cores on sm2p256v1.
 *
 * Secrets are the private scalar d (and (1+d)^-1), the ephemeral k of signing
 * and encryption, and every point derived from them before it is published.
 * Every routine that touches them is constant time: the scalar is recoded in
 * fixed-width signed windows whose digits only steer mask-based selections;
 * table entries are fetched by reading the whole table; there is no branch or
 * memory index that depends on a secret. docs/sm2-fast.md gives the argument
 * step by step. Verification works on public data only and is variable time.
 *
 * Points are Jacobian (X, Y, Z) ~ (X/Z^2, Y/Z^3) in Montgomery form; Z = 0 is
 * the point at infinity. Formulas are those of the Explicit-Formulas Database
 * for a = -3: dbl-2001-b (3M+5S), madd-2007-bl (7M+4S), add-2007-bl (11M+5S).
 */
#include "crypto/sm2_fast.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/error.h"
#include "common/secure.h"
#include "crypto/random.h"
#include "crypto/sm2_field.h"
#include "crypto/sm2_x8.h"

#if SM2_FAST_AVAILABLE

#if defined(__x86_64__)
#include <cpuid.h>
#endif

/* ---- points and tables ----------------------------------------------------*/

struct jac {
    uint64_t x[4], y[4], z[4];
};

struct aff {
    uint64_t x[4], y[4];
};

/* G in Montgomery form. */
static const struct aff SM2_G = {
    {0x61328990f418029eULL, 0x3e7981eddca6c050ULL, 0xd6a1ed99ac24c3c3ULL, 0x91167a5ee1c13b05ULL},
    {0xc1354e593c2d0dddULL, 0xc1f5e5788d3295faULL, 0x8d4cfb066e2a48f8ULL, 0x63cd65d481d735bdULL},
};

/* Fixed-base comb: window i holds j·2^(7i)·P for j = 1..64, affine. k·P is
 * then the sum of 37 table points chosen by k's signed digits, with no
 * doubling at all. 37·64 entries of 64 bytes: 148 KiB per table. */
#define COMB_W 7
#define COMB_SIZE (1 << (COMB_W - 1))
#define COMB_WINDOWS ((256 + COMB_W) / COMB_W) /* 37: 7·37 = 259 >= 257 */

struct comb {
    struct aff t[COMB_WINDOWS][COMB_SIZE];
};

/* Variable base: 5-bit signed windows over a table of 1P..16P. */
#define VAR_W 5
#define VAR_SIZE (1 << (VAR_W - 1))
#define VAR_WINDOWS ((256 + VAR_W) / VAR_W) /* 52: 5·52 = 260 >= 257 */

/* What each backend provides (sm2_fast_impl.h). */
struct sm2_backend {
    const char *name;
    int (*comb_build)(struct comb *c, const struct aff *base);
    void (*comb_mul_ct)(struct jac *r, const struct comb *c, const uint64_t k[4]);
    void (*var_mul_ct)(struct jac *r, const uint64_t k[4], const struct aff *p);
    void (*double_mul_vt)(struct jac *acc, const uint64_t s[4], const uint64_t t[4],
                          const struct aff *p, const struct comb *tab, const struct comb *g);
    int (*jac_to_bytes)(const struct jac *a, uint8_t out[64]);
    int (*jac_pair_to_bytes)(const struct jac *a, const struct jac *b, uint8_t oa[64],
                             uint8_t ob[64]);
    void (*jac_x_plain)(uint64_t x[4], const struct jac *a);
    int (*jac_x_equals)(const struct jac *acc, const uint64_t x[4]);
    int (*aff_from_bytes)(struct aff *r, const uint8_t xy[64]);
    void (*fp_inv_fermat)(uint64_t r[4], const uint64_t a[4]);
    void (*fp_mul)(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]);
    void (*fp_sqr)(uint64_t r[4], const uint64_t a[4]);
    void (*fp_add)(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]);
    void (*fp_sub)(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]);
};

/* ---- helpers shared by the backends (no field multiplication) -------------*/

/* r = mask ? a : b */
SM2_INLINE void jac_select(struct jac *r, const struct jac *a, const struct jac *b, uint64_t mask)
{
    sm2_select4(r->x, a->x, b->x, mask);
    sm2_select4(r->y, a->y, b->y, mask);
    sm2_select4(r->z, a->z, b->z, mask);
}

SM2_INLINE void jac_from_aff(struct jac *r, const struct aff *a)
{
    sm2_copy4(r->x, a->x);
    sm2_copy4(r->y, a->y);
    sm2_copy4(r->z, SM2_FP_ONE);
}

/* y := neg ? -y : y */
SM2_INLINE void fp_cneg(uint64_t y[4], uint64_t neg)
{
    uint64_t ny[4];
    fp_neg(ny, y);
    sm2_select4(y, ny, y, neg);
}

/* Booth (signed) window i of width w of a 256-bit scalar k (k[4] = 0):
 * digit = k's bits [wi, wi+w) + bit wi-1 - 2^w·bit(wi+w-1), in
 * [-2^(w-1), 2^(w-1)], returned as magnitude and sign mask. Window positions
 * are public; the arithmetic on the bits is branch-free. Summed over enough
 * windows (w·count >= 257) the digits give back k exactly. */
static inline void booth(const uint64_t k[5], int w, int i, uint64_t *mag, uint64_t *neg)
{
    int pos = w * i - 1;
    uint64_t mask = (1ULL << (w + 1)) - 1, x;
    if (pos < 0) {
        x = (k[0] << 1) & mask;
    } else {
        int li = pos / 64, sh = pos % 64;
        x = k[li] >> sh;
        if (sh + w + 1 > 64)
            x |= k[li + 1] << (64 - sh);
        x &= mask;
    }
    uint64_t s = x >> w, val = (x + 1) >> 1, m = 0 - s;
    *mag = (val & ~m) | (((1ULL << w) - val) & m);
    *neg = m;
}

/* Width-5 NAF of a public 256-bit scalar: odd digits in [-15, 15]. */
static int wnaf5(const uint64_t k4[4], int8_t naf[258])
{
    uint64_t k[5] = {k4[0], k4[1], k4[2], k4[3], 0};
    int len = 0;
    memset(naf, 0, 258);
    for (int i = 0; i < 258; i++) {
        if (!(k[0] | k[1] | k[2] | k[3] | k[4]))
            break;
        int d = 0;
        if (k[0] & 1) {
            d = (int)(k[0] & 31);
            if (d >= 16)
                d -= 32;
            /* k -= d */
            uint64_t c = 0;
            if (d > 0) {
                k[0] = sm2_sbb(k[0], (uint64_t)d, &c);
                for (int l = 1; l < 5; l++)
                    k[l] = sm2_sbb(k[l], 0, &c);
            } else {
                k[0] = sm2_adc(k[0], (uint64_t)-d, &c);
                for (int l = 1; l < 5; l++)
                    k[l] = sm2_adc(k[l], 0, &c);
            }
        }
        naf[i] = (int8_t)d;
        len = i + 1;
        for (int l = 0; l < 4; l++)
            k[l] = (k[l] >> 1) | (k[l + 1] << 63);
        k[4] >>= 1;
    }
    return len;
}

/* ---- backends --------------------------------------------------------------*/

#define BK(name) name##_generic
#define BK_NAME "generic"
#define BK_ATTR
#define BK_VEC 16
#define FP_MUL fp_mul
#define FP_SQR fp_sqr
#define FP_ADD fp_add
#define FP_SUB fp_sub
#include "crypto/sm2_fast_impl.h"
#undef BK
#undef BK_NAME
#undef BK_ATTR
#undef BK_VEC
#undef FP_MUL
#undef FP_SQR
#undef FP_ADD
#undef FP_SUB

#if SM2_FIELD_X64
#define BK(name) name##_x64
#define BK_NAME "x64"
#define BK_ATTR __attribute__((target("avx2,bmi2,adx")))
#define BK_VEC 32
#define FP_MUL fp_mul_x64
#define FP_SQR fp_sqr_x64
#define FP_ADD fp_add_x64
#define FP_SUB fp_sub_x64
#include "crypto/sm2_fast_impl.h"
#undef BK
#undef BK_NAME
#undef BK_ATTR
#undef BK_VEC
#undef FP_MUL
#undef FP_SQR
#undef FP_ADD
#undef FP_SUB
#endif

/* The x64 backend needs BMI2 (MULX), ADX (ADCX/ADOX) and AVX2 (scans). */
static bool cpu_has_x64(void)
{
#if SM2_FIELD_X64
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    bool bmi2 = (b >> 8) & 1, adx = (b >> 19) & 1;
    __builtin_cpu_init();
    return bmi2 && adx && __builtin_cpu_supports("avx2") != 0;
#else
    return false;
#endif
}

/* ... and AVX-512F for the x64-avx512 variant (its table scans). The
 * compiler's check includes the OS's saving of the ZMM state. */
static bool cpu_has_x64_avx512(void)
{
#if SM2_FIELD_X64
    __builtin_cpu_init();
    return cpu_has_x64() && __builtin_cpu_supports("avx512f") != 0;
#else
    return false;
#endif
}

static _Atomic(const struct sm2_backend *) backend;

/* The G table and the backend, chosen once: the x64 backend where the CPU
 * has it, unless ECERT_SM2_FAST_BACKEND=generic. */
static struct comb *g_comb;
static struct sm2_x8_table *g_x8;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void g_init(void)
{
    const struct sm2_backend *bk = &backend_generic;
    const char *env = getenv("ECERT_SM2_FAST_BACKEND");
#if SM2_FIELD_X64
    if (cpu_has_x64() && !(env && strcmp(env, "generic") == 0))
        bk = &backend_x64;
    if (cpu_has_x64_avx512() && !(env && (strcmp(env, "generic") == 0 || strcmp(env, "x64") == 0)))
        bk = &backend_z_x64;
#else
    (void)env;
#endif
    atomic_store(&backend, bk);
    struct comb *c = aligned_alloc(64, sizeof *c);
    if (c && !bk->comb_build(c, &SM2_G)) {
        free(c);
        c = NULL;
    }
    g_comb = c;
    /* the eight-lane k·G for signing, where the CPU has AVX-512 IFMA */
    if (c && sm2_x8_available())
        g_x8 = sm2_x8_table_new((const uint64_t(*)[8])c->t, COMB_WINDOWS, COMB_SIZE);
}

static const struct comb *g_table(void)
{
    pthread_once(&g_once, g_init);
    return g_comb;
}

static const struct sm2_backend *bk(void)
{
    pthread_once(&g_once, g_init);
    return atomic_load_explicit(&backend, memory_order_relaxed);
}

const char *sm2_fast_backend(void)
{
    return bk()->name;
}

int sm2_fast_set_backend(const char *name)
{
    pthread_once(&g_once, g_init);
    if (strcmp(name, "generic") == 0) {
        atomic_store(&backend, &backend_generic);
        return 0;
    }
#if SM2_FIELD_X64
    if (strcmp(name, "x64") == 0 && cpu_has_x64()) {
        atomic_store(&backend, &backend_x64);
        return 0;
    }
    if (strcmp(name, "x64-avx512") == 0 && cpu_has_x64_avx512()) {
        atomic_store(&backend, &backend_z_x64);
        return 0;
    }
#endif
    return -1;
}

/* ---- per-key state --------------------------------------------------------*/

/* A per-key comb table, shared by the threads using the key. refs counts
 * the LRU list's reference (while the table is attached to its key) plus
 * one per operation using it; the last release frees it, so a table that
 * is evicted or whose key is freed while another thread computes with it
 * stays alive until that thread is done. */
struct key_table {
    struct comb c; /* first: 64-byte aligned */
    atomic_uint refs;
    struct key_table *prev, *next; /* LRU list, most recent first (lru_mu) */
    struct sm2_fast_pub *owner;    /* NULL once detached (lru_mu) */
};

struct sm2_fast_pub {
    struct aff p;
    struct key_table *table; /* written under lru_mu; read atomically */
    unsigned uses;           /* uses without a table (lru_mu) */
    bool building;           /* one thread builds at a time (lru_mu) */
};

struct sm2_fast_priv {
    uint64_t d[4];    /* plain */
    uint64_t dm[4];   /* d·R mod n */
    uint64_t dinv[4]; /* (1+d)^-1·R mod n */
};

/* The process-wide bounded LRU of per-key tables. One mutex guards the list,
 * the counters and every key's table/uses/building fields; it is held for a
 * few pointer updates per operation (an operation takes 20-300 µs), never
 * while a table is built or freed. */
static pthread_mutex_t lru_mu = PTHREAD_MUTEX_INITIALIZER;
static struct key_table *lru_head, *lru_tail;
static size_t tables_max = 128, tables_live;
static unsigned tables_threshold = 16;

static void table_release(struct key_table *t)
{
    if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        free(t);
}

static void lru_unlink(struct key_table *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        lru_head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        lru_tail = t->prev;
    t->prev = t->next = NULL;
}

static void lru_push_front(struct key_table *t)
{
    t->prev = NULL;
    t->next = lru_head;
    if (lru_head)
        lru_head->prev = t;
    lru_head = t;
    if (!lru_tail)
        lru_tail = t;
}

/* Detaches t from the list and its key (lru_mu held); the caller drops the
 * list's reference with table_release after unlocking. The key starts
 * counting uses afresh: it gets a table again after `threshold` more uses. */
static void lru_detach(struct key_table *t)
{
    lru_unlink(t);
    if (t->owner) {
        __atomic_store_n(&t->owner->table, NULL, __ATOMIC_RELEASE);
        t->owner->uses = 0;
        t->owner = NULL;
    }
    tables_live--;
}

/* Detaches least recently used tables until at most `keep` remain (lru_mu
 * held); returns them chained through ->next, to be released unlocked. */
static struct key_table *lru_trim(size_t keep)
{
    struct key_table *out = NULL;
    while (tables_live > keep && lru_tail) {
        struct key_table *v = lru_tail;
        lru_detach(v);
        v->next = out;
        out = v;
    }
    return out;
}

static void release_chain(struct key_table *t)
{
    while (t) {
        struct key_table *n = t->next;
        table_release(t);
        t = n;
    }
}

size_t sm2_fast_set_key_tables(size_t max, unsigned threshold)
{
    pthread_mutex_lock(&lru_mu);
    size_t old = tables_max;
    tables_max = max;
    tables_threshold = threshold ? threshold : 1;
    struct key_table *gone = lru_trim(max);
    pthread_mutex_unlock(&lru_mu);
    release_chain(gone);
    return old;
}

size_t sm2_fast_key_tables_live(void)
{
    pthread_mutex_lock(&lru_mu);
    size_t n = tables_live;
    pthread_mutex_unlock(&lru_mu);
    return n;
}

bool sm2_fast_pub_has_table(const struct sm2_fast_pub *p)
{
    return p && __atomic_load_n(&p->table, __ATOMIC_ACQUIRE) != NULL;
}

/* The key's table with a reference taken (give it back with table_release),
 * or NULL. A use moves the table to the front of the LRU. A key without a
 * table counts its uses; the use that reaches the threshold builds one
 * (outside the lock; other threads meanwhile go without), evicting the least
 * recently used tables when `max` are alive. */
static struct key_table *pub_table_acquire(struct sm2_fast_pub *p)
{
    pthread_mutex_lock(&lru_mu);
    struct key_table *t = p->table;
    if (t) {
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
        if (lru_head != t) {
            lru_unlink(t);
            lru_push_front(t);
        }
        pthread_mutex_unlock(&lru_mu);
        return t;
    }
    bool build = tables_max > 0 && !p->building && ++p->uses >= tables_threshold;
    if (build)
        p->building = true;
    pthread_mutex_unlock(&lru_mu);
    if (!build)
        return NULL;
    /* aligned_alloc wants a multiple of the alignment */
    t = aligned_alloc(64, (sizeof *t + 63) & ~(size_t)63);
    if (t && !bk()->comb_build(&t->c, &p->p)) {
        free(t);
        t = NULL;
    }
    struct key_table *gone = NULL;
    pthread_mutex_lock(&lru_mu);
    p->building = false;
    if (t && tables_max > 0) {
        gone = lru_trim(tables_max - 1);
        atomic_init(&t->refs, 2); /* the list's and the caller's */
        t->owner = p;
        lru_push_front(t);
        tables_live++;
        __atomic_store_n(&p->table, t, __ATOMIC_RELEASE);
    } else if (t) { /* tables were switched off meanwhile */
        atomic_init(&t->refs, 1);
    } else {
        p->uses = 0; /* out of memory: try again later */
    }
    pthread_mutex_unlock(&lru_mu);
    release_chain(gone);
    return t;
}

ecert_status sm2_fast_pub_new(const uint8_t xy[64], struct sm2_fast_pub **out)
{
    struct aff a;
    if (!bk()->aff_from_bytes(&a, xy))
        return err_set(ECERT_E_MALFORMED, "point not on the curve");
    struct sm2_fast_pub *p = calloc(1, sizeof *p);
    if (!p)
        return err_set(ECERT_E_NOMEM, "out of memory");
    p->p = a;
    *out = p;
    return ECERT_OK;
}

void sm2_fast_pub_free(struct sm2_fast_pub *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&lru_mu);
    struct key_table *t = p->table;
    if (t)
        lru_detach(t);
    pthread_mutex_unlock(&lru_mu);
    table_release(t);
    free(p);
}

ecert_status sm2_fast_priv_new(const uint8_t d[32], struct sm2_fast_priv **out, uint8_t xy[64])
{
    const struct comb *g = g_table();
    if (!g)
        return err_set(ECERT_E_NOMEM, "out of memory");
    struct sm2_fast_priv *p = OPENSSL_secure_zalloc(sizeof *p);
    if (!p)
        return err_set(ECERT_E_NOMEM, "out of memory");
    uint64_t t[4];
    sm2_from_be(p->d, d);
    fn_to_mont(p->dm, p->d);
    /* (1 + d)^-1 in Montgomery form: 1 + d in Montgomery is dm + R mod n */
    fn_add(t, p->dm, SM2_FN_ONE);
    fn_inv(p->dinv, t);
    secure_wipe(t, sizeof t);
    int ok = 1;
    if (xy) {
        struct jac q;
        bk()->comb_mul_ct(&q, g, p->d);
        ok = bk()->jac_to_bytes(&q, xy);
        secure_wipe(&q, sizeof q);
    }
    if (!ok) {
        sm2_fast_priv_free(p);
        return err_set(ECERT_E_MALFORMED, "private key out of range");
    }
    *out = p;
    return ECERT_OK;
}

void sm2_fast_priv_free(struct sm2_fast_priv *p)
{
    if (p)
        OPENSSL_secure_clear_free(p, sizeof *p);
}

/* ---- operations ----------------------------------------------------------- */

ecert_status sm2_fast_random_scalar(uint8_t k[32])
{
    uint64_t v[4];
    for (int tries = 0; tries < 64; tries++) {
        ecert_status st = random_bytes_small(k, 32);
        if (st)
            return st;
        sm2_from_be(v, k);
        /* rejection sampling: the verdict on a discarded candidate reveals
         * nothing about the accepted one */
        int ok = sm2_lt4(v, SM2_N) && !(sm2_is_zero4(v) & 1);
        secure_wipe(v, sizeof v);
        if (ok)
            return ECERT_OK;
    }
    return err_set(ECERT_E_CRYPTO, "random: no scalar in range");
}

/* ---- presigning: k·G eight at a time ------------------------------------------
 *
 * Neither k nor k·G depends on the key or the message. Where the CPU has
 * AVX-512 IFMA (backend x64-avx512), each thread computes k·G for eight
 * random k at once (sm2_x8.c) and signs from that pool: the eight cost less
 * than three scalar multiplications, and one inversion serves all eight.
 * The pool is per thread and never shared; an entry is wiped as it is
 * taken. After fork() the child holds a copy of the pool, and one k in two
 * signatures reveals the private key: a pool filled under an older fork
 * generation is thrown away. */
struct presign_pool {
    uint64_t k[SM2_X8_LANES][4];
    uint8_t xy[SM2_X8_LANES][64];
    int used; /* entries [0, used) are spent (and wiped) */
    unsigned long gen;
};

static _Thread_local struct presign_pool presign = {.used = SM2_X8_LANES};

static bool presign_on(void)
{
#if SM2_FIELD_X64
    return g_x8 && bk() == &backend_z_x64;
#else
    return false;
#endif
}

/* The next k (limbs, in [1, n-1]) and the plain affine x of k·G. */
static ecert_status presign_take(uint64_t k[4], uint64_t x1[4])
{
    struct presign_pool *p = &presign;
    unsigned long gen = random_fork_generation();
    if (p->gen != gen || p->used == SM2_X8_LANES) {
        secure_wipe(p, sizeof *p);
        p->used = SM2_X8_LANES;
        uint8_t kb[32];
        ecert_status st = ECERT_OK;
        for (int i = 0; i < SM2_X8_LANES && !st; i++)
            if (!(st = sm2_fast_random_scalar(kb)))
                sm2_from_be(p->k[i], kb);
        secure_wipe(kb, sizeof kb);
        if (!st && !sm2_x8_mul_base(g_x8, (const uint64_t(*)[4])p->k, p->xy))
            st = err_set(ECERT_E_CRYPTO, "SM2 signing: k·G failed");
        if (st) {
            secure_wipe(p, sizeof *p);
            p->used = SM2_X8_LANES;
            return st;
        }
        p->used = 0;
        p->gen = gen;
    }
    sm2_copy4(k, p->k[p->used]);
    sm2_from_be(x1, p->xy[p->used]);
    secure_wipe(p->k[p->used], sizeof p->k[0]);
    secure_wipe(p->xy[p->used], sizeof p->xy[0]);
    p->used++;
    return ECERT_OK;
}

ecert_status sm2_fast_sign(const struct sm2_fast_priv *d, const uint8_t e[32],
                           const uint8_t *k_fixed, uint8_t sig[64])
{
    const struct comb *g = g_table();
    if (!g)
        return err_set(ECERT_E_NOMEM, "out of memory");
    uint64_t ev[4], k[4], x1[4], r[4], s[4], t[4];
    uint8_t kb[32];
    struct jac q;
    ecert_status st = ECERT_OK;
    bool pooled = !k_fixed && presign_on(); /* k and x1 from the presign pool */
    sm2_from_be(ev, e);
    fn_reduce(ev, ev);
    for (int tries = 0;; tries++) {
        if (tries == 64) {
            st = err_set(ECERT_E_CRYPTO, "SM2 signing: no usable k");
            break;
        }
        if (k_fixed) {
            sm2_from_be(k, k_fixed);
            fn_reduce(k, k);
        } else if (pooled) {
            if ((st = presign_take(k, x1)))
                break;
        } else {
            if ((st = sm2_fast_random_scalar(kb)))
                break;
            sm2_from_be(k, kb);
        }
        /* (x1, y1) = kG;  r = (e + x1) mod n */
        if (!pooled) {
            bk()->comb_mul_ct(&q, g, k);
            bk()->jac_x_plain(x1, &q);
        }
        fn_reduce(x1, x1); /* x1 < p < 2n */
        fn_add(r, ev, x1);
        /* reject r = 0 and r + k = n (probability ~2^-255 for a random k:
         * branching on these verdicts leaks nothing about a used k) */
        fn_add(t, r, k);
        int bad = (int)((sm2_is_zero4(r) | sm2_is_zero4(t) | sm2_is_zero4(k)) & 1);
        if (!bad) {
            /* s = (1 + d)^-1 (k - r·d) mod n */
            fn_mul(t, r, d->dm); /* r·d (Montgomery product with d·R) */
            fn_sub(t, k, t);
            fn_mul(s, t, d->dinv);
            bad = (int)(sm2_is_zero4(s) & 1);
        }
        if (!bad) {
            sm2_to_be(sig, r);
            sm2_to_be(sig + 32, s);
            break;
        }
        if (k_fixed) {
            st = err_set(ECERT_E_ARG, "SM2: the given k yields a degenerate signature");
            break;
        }
    }
    secure_wipe(k, sizeof k);
    secure_wipe(kb, sizeof kb);
    secure_wipe(t, sizeof t);
    secure_wipe(&q, sizeof q);
    return st;
}

ecert_status sm2_fast_verify(struct sm2_fast_pub *p, const uint8_t e[32], const uint8_t sig[64])
{
    const struct comb *g = g_table();
    if (!g)
        return err_set(ECERT_E_NOMEM, "out of memory");
    const struct sm2_backend *b = bk();
    uint64_t r[4], s[4], t[4], ev[4], x[4];
    sm2_from_be(r, sig);
    sm2_from_be(s, sig + 32);
    if ((sm2_is_zero4(r) & 1) || (sm2_is_zero4(s) & 1) || !sm2_lt4(r, SM2_N) || !sm2_lt4(s, SM2_N))
        return err_set(ECERT_E_SIGNATURE, "signature: r or s out of range");
    fn_add(t, r, s);
    if (sm2_is_zero4(t) & 1)
        return err_set(ECERT_E_SIGNATURE, "signature: r + s = n");
    struct jac acc;
    struct key_table *tab = pub_table_acquire(p);
    b->double_mul_vt(&acc, s, t, &p->p, tab ? &tab->c : NULL, g);
    table_release(tab);
    if (sm2_is_zero4(acc.z) & 1)
        return err_set(ECERT_E_SIGNATURE, "signature does not verify");
    /* r = (e + x1) mod n  <=>  x1 ∈ {r - e, r - e + n} (the latter only when
     * below p), checked as X = x·Z^2 without an inversion */
    sm2_from_be(ev, e);
    fn_reduce(ev, ev);
    fn_sub(x, r, ev);
    if (b->jac_x_equals(&acc, x))
        return ECERT_OK;
    uint64_t c = 0;
    for (int i = 0; i < 4; i++)
        x[i] = sm2_adc(x[i], SM2_N[i], &c);
    if (!c && sm2_lt4(x, SM2_P) && b->jac_x_equals(&acc, x))
        return ECERT_OK;
    return err_set(ECERT_E_SIGNATURE, "signature does not verify");
}

ecert_status sm2_fast_encrypt_points(struct sm2_fast_pub *p, const uint8_t kb[32], uint8_t c1[64],
                                     uint8_t x2y2[64])
{
    const struct comb *g = g_table();
    if (!g)
        return err_set(ECERT_E_NOMEM, "out of memory");
    uint64_t k[4];
    sm2_from_be(k, kb);
    fn_reduce(k, k);
    if (sm2_is_zero4(k) & 1)
        return err_set(ECERT_E_ARG, "SM2: k = 0 mod n");
    struct jac a, b;
    bk()->comb_mul_ct(&a, g, k);
    struct key_table *tab = pub_table_acquire(p);
    if (tab)
        bk()->comb_mul_ct(&b, &tab->c, k);
    else
        bk()->var_mul_ct(&b, k, &p->p);
    table_release(tab);
    int ok = bk()->jac_pair_to_bytes(&a, &b, c1, x2y2);
    secure_wipe(k, sizeof k);
    secure_wipe(&a, sizeof a);
    secure_wipe(&b, sizeof b);
    /* k < n and P of order n: neither point can be infinity */
    return ok ? ECERT_OK : err_set(ECERT_E_CRYPTO, "SM2: point at infinity");
}

ecert_status sm2_fast_decrypt_point(const struct sm2_fast_priv *d, const uint8_t c1[64],
                                    uint8_t x2y2[64])
{
    struct aff p;
    if (!bk()->aff_from_bytes(&p, c1))
        return ECERT_E_DECRYPT;
    struct jac s;
    bk()->var_mul_ct(&s, d->d, &p);
    int ok = bk()->jac_to_bytes(&s, x2y2);
    secure_wipe(&s, sizeof s);
    /* d in [1, n-2] and C1 of order n: S is never infinity (h = 1) */
    return ok ? ECERT_OK : err_set(ECERT_E_CRYPTO, "SM2: point at infinity");
}

/* ---- test hooks ------------------------------------------------------------*/

bool sm2_fast_available(void)
{
    return true;
}

int sm2_fast_point_valid(const uint8_t xy[64])
{
    struct aff a;
    return bk()->aff_from_bytes(&a, xy);
}

int sm2_fast_mul_base(const uint8_t kb[32], uint8_t out[64])
{
    const struct comb *g = g_table();
    uint64_t k[4];
    struct jac q;
    sm2_from_be(k, kb);
    fn_reduce(k, k);
    bk()->comb_mul_ct(&q, g, k);
    return bk()->jac_to_bytes(&q, out);
}

int sm2_fast_mul_base_x8(const uint8_t kb[SM2_X8_LANES][32], uint8_t out[SM2_X8_LANES][64])
{
    pthread_once(&g_once, g_init);
    if (!g_x8)
        return -1;
    uint64_t k[SM2_X8_LANES][4];
    for (int i = 0; i < SM2_X8_LANES; i++)
        sm2_from_be(k[i], kb[i]);
    int ok = sm2_x8_mul_base(g_x8, (const uint64_t(*)[4])k, out);
    secure_wipe(k, sizeof k);
    return ok;
}

int sm2_fast_mul_point(const uint8_t kb[32], const uint8_t pb[64], uint8_t out[64])
{
    struct aff p;
    uint64_t k[4];
    struct jac q;
    if (!bk()->aff_from_bytes(&p, pb))
        return 0;
    sm2_from_be(k, kb);
    fn_reduce(k, k);
    bk()->var_mul_ct(&q, k, &p);
    return bk()->jac_to_bytes(&q, out);
}

int sm2_fast_mul_point_table(const uint8_t kb[32], const uint8_t pb[64], uint8_t out[64])
{
    struct aff p;
    uint64_t k[4];
    struct jac q;
    if (!bk()->aff_from_bytes(&p, pb))
        return 0;
    struct comb *c = aligned_alloc(64, sizeof *c);
    if (!c || !bk()->comb_build(c, &p)) {
        free(c);
        return 0;
    }
    sm2_from_be(k, kb);
    fn_reduce(k, k);
    bk()->comb_mul_ct(&q, c, k);
    free(c);
    return bk()->jac_to_bytes(&q, out);
}

int sm2_fast_mul_double(const uint8_t sb[32], const uint8_t tb[32], const uint8_t pb[64],
                        uint8_t out[64])
{
    struct aff p;
    uint64_t s[4], t[4];
    struct jac q;
    if (!bk()->aff_from_bytes(&p, pb))
        return 0;
    sm2_from_be(s, sb);
    sm2_from_be(t, tb);
    fn_reduce(s, s);
    fn_reduce(t, t);
    bk()->double_mul_vt(&q, s, t, &p, NULL, g_table());
    return bk()->jac_to_bytes(&q, out);
}

/* Field operations on plain big-endian values < p, through the backend:
 * '*' product, 's' square, 'i' inverse (divsteps), 'f' inverse (Fermat),
 * '+' sum, '-' difference, 'h' half of a. -1 for an input >= p or an unknown
 * op. */
int sm2_fast_field_op(char op, const uint8_t a[32], const uint8_t b[32], uint8_t out[32])
{
    const struct sm2_backend *be = bk();
    uint64_t x[4], y[4], r[4];
    sm2_from_be(x, a);
    sm2_from_be(y, b);
    if (!sm2_lt4(x, SM2_P) || !sm2_lt4(y, SM2_P))
        return -1;
    be->fp_mul(x, x, SM2_FP_R2);
    be->fp_mul(y, y, SM2_FP_R2);
    switch (op) {
    case '*':
        be->fp_mul(r, x, y);
        break;
    case 's':
        be->fp_sqr(r, x);
        break;
    case 'i':
        fp_inv_divsteps(r, x);
        break;
    case 'f':
        be->fp_inv_fermat(r, x);
        break;
    case '+':
        be->fp_add(r, x, y);
        break;
    case '-':
        be->fp_sub(r, x, y);
        break;
    case 'h':
        fp_half(r, x);
        break;
    default:
        return -1;
    }
    static const uint64_t one[4] = {1, 0, 0, 0};
    be->fp_mul(r, r, one);
    sm2_to_be(out, r);
    return 0;
}

#else /* !SM2_FAST_AVAILABLE: every entry point reports the engine missing */

bool sm2_fast_available(void)
{
    return false;
}
/* (stubs below keep the callers linkable; sm2_engine_set refuses FAST) */
ecert_status sm2_fast_pub_new(const uint8_t xy[64], struct sm2_fast_pub **out)
{
    *out = NULL;
    return err_set(ECERT_E_CRYPTO, "fast SM2 engine not built");
}
void sm2_fast_pub_free(struct sm2_fast_pub *p)
{
}
ecert_status sm2_fast_priv_new(const uint8_t d[32], struct sm2_fast_priv **out, uint8_t xy[64])
{
    *out = NULL;
    return err_set(ECERT_E_CRYPTO, "fast SM2 engine not built");
}
void sm2_fast_priv_free(struct sm2_fast_priv *p)
{
}
size_t sm2_fast_set_key_tables(size_t max, unsigned threshold)
{
    return 0;
}
size_t sm2_fast_key_tables_live(void)
{
    return 0;
}
bool sm2_fast_pub_has_table(const struct sm2_fast_pub *p)
{
    return false;
}
ecert_status sm2_fast_random_scalar(uint8_t k[32])
{
    return err_set(ECERT_E_CRYPTO, "fast SM2 engine not built");
}
ecert_status sm2_fast_sign(const struct sm2_fast_priv *d, const uint8_t e[32],
                           const uint8_t *k_fixed, uint8_t sig[64])
{
    return err_set(ECERT_E_CRYPTO, "fast SM2 engine not built");
}
ecert_status sm2_fast_verify(struct sm2_fast_pub *p, const uint8_t e[32], const uint8_t sig[64])
{
    return err_set(ECERT_E_CRYPTO, "fast SM2 engine not built");
}
ecert_status sm2_fast_encrypt_points(struct sm2_fast_pub *p, const uint8_t k[32], uint8_t c1[64],
                                     uint8_t x2y2[64])
{
    return err_set(ECERT_E_CRYPTO, "fast SM2 engine not built");
}
ecert_status sm2_fast_decrypt_point(const struct sm2_fast_priv *d, const uint8_t c1[64],
                                    uint8_t x2y2[64])
{
    return err_set(ECERT_E_CRYPTO, "fast SM2 engine not built");
}
int sm2_fast_point_valid(const uint8_t xy[64])
{
    return 0;
}
int sm2_fast_mul_base(const uint8_t k[32], uint8_t out[64])
{
    return 0;
}
int sm2_fast_mul_base_x8(const uint8_t k[8][32], uint8_t out[8][64])
{
    (void)k, (void)out;
    return -1;
}

int sm2_fast_mul_point(const uint8_t k[32], const uint8_t p[64], uint8_t out[64])
{
    return 0;
}
int sm2_fast_mul_double(const uint8_t s[32], const uint8_t t[32], const uint8_t p[64],
                        uint8_t out[64])
{
    return 0;
}
int sm2_fast_mul_point_table(const uint8_t k[32], const uint8_t p[64], uint8_t out[64])
{
    return 0;
}
const char *sm2_fast_backend(void)
{
    return "none";
}
int sm2_fast_set_backend(const char *name)
{
    return -1;
}
int sm2_fast_field_op(char op, const uint8_t a[32], const uint8_t b[32], uint8_t out[32])
{
    return -1;
}

#endif
