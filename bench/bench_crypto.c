/*
 * bench_crypto — SM2 sign, verify, encrypt, decrypt (512-byte message) and
 * SM3 throughput (64, 544, 1728 bytes and 1 MiB) through ecert's public API,
 * measured side by side with raw OpenSSL EVP calls doing the same job in the
 * same run.
 *
 * The two sides alternate in short slices (A B A B ...) so that noise from a
 * shared, 2-core machine falls on both alike; the figure that matters is the
 * ratio, not the absolute rate. The ecert side runs on the process's SM2
 * engine (the fast one by default; --engine openssl to compare ecert's
 * OpenSSL engine with raw EVP). `ecert bench crypto --engine both` compares
 * the two engines with each other.
 *
 *   bench_crypto [--engine fast|openssl] [--seconds S] [--json]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include <ecert/ecert.h>

#include "sdk/sdk.h"

#define MSG_LEN 512
#define SM3_BUF (1 << 20)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_crypto: %s failed: %s\n", what, ecert_last_error());
    exit(1);
}

/* ---- shared state -------------------------------------------------------- */

static ecert_key *key;   /* ecert handle */
static EVP_PKEY *pkey;   /* the same key for the raw OpenSSL side */
static unsigned char msg[MSG_LEN];
static unsigned char *big;
static char *sig_b64;
static unsigned char sig_der[80];
static size_t sig_der_len;
static char *ct_hex;
static unsigned char ct_der[MSG_LEN + 200];
static size_t ct_der_len;
static const char *UID = "1234567812345678";

/* ---- one operation each -------------------------------------------------- */

static void ecert_sign(void)
{
    char *s = NULL;
    if (ecert_sm2_sign(key, NULL, msg, MSG_LEN, 0, &s))
        die("ecert_sm2_sign");
    ecert_free(s);
}

static void ossl_sign(void)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    unsigned char der[80];
    size_t dl = sizeof der;
    if (!md || !pctx || EVP_PKEY_CTX_set1_id(pctx, UID, 16) != 1)
        die("EVP sign setup");
    EVP_MD_CTX_set_pkey_ctx(md, pctx);
    if (EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, pkey) != 1 ||
        EVP_DigestSign(md, der, &dl, msg, MSG_LEN) != 1)
        die("EVP_DigestSign");
    EVP_MD_CTX_free(md);
    EVP_PKEY_CTX_free(pctx);
}

static void ecert_verify(void)
{
    if (ecert_sm2_verify(key, NULL, msg, MSG_LEN, sig_b64, strlen(sig_b64)))
        die("ecert_sm2_verify");
}

static void ossl_verify(void)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!md || !pctx || EVP_PKEY_CTX_set1_id(pctx, UID, 16) != 1)
        die("EVP verify setup");
    EVP_MD_CTX_set_pkey_ctx(md, pctx);
    if (EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, pkey) != 1 ||
        EVP_DigestVerify(md, sig_der, sig_der_len, msg, MSG_LEN) != 1)
        die("EVP_DigestVerify");
    EVP_MD_CTX_free(md);
    EVP_PKEY_CTX_free(pctx);
}

static void ecert_encrypt(void)
{
    char *out = NULL;
    size_t n;
    if (ecert_sm2_encrypt(key, msg, MSG_LEN, ECERT_CIPHER_HEX, &out, &n))
        die("ecert_sm2_encrypt");
    ecert_free(out);
}

static void ossl_encrypt(void)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    unsigned char out[MSG_LEN + 200];
    size_t n = sizeof out;
    if (!ctx || EVP_PKEY_encrypt_init(ctx) != 1 ||
        EVP_PKEY_encrypt(ctx, out, &n, msg, MSG_LEN) != 1)
        die("EVP_PKEY_encrypt");
    EVP_PKEY_CTX_free(ctx);
}

static void ecert_decrypt(void)
{
    unsigned char *out = NULL;
    size_t n;
    if (ecert_sm2_decrypt(key, ct_hex, strlen(ct_hex), &out, &n) || n != MSG_LEN)
        die("ecert_sm2_decrypt");
    ecert_free(out);
}

static void ossl_decrypt(void)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    unsigned char out[MSG_LEN + 200];
    size_t n = sizeof out;
    if (!ctx || EVP_PKEY_decrypt_init(ctx) != 1 ||
        EVP_PKEY_decrypt(ctx, out, &n, ct_der, ct_der_len) != 1 || n != MSG_LEN)
        die("EVP_PKEY_decrypt");
    EVP_PKEY_CTX_free(ctx);
}

static void ecert_sm3_1m(void)
{
    unsigned char d[32];
    if (ecert_sm3(big, SM3_BUF, d))
        die("ecert_sm3");
}

static void ossl_sm3_1m(void)
{
    unsigned char d[32];
    unsigned int n;
    if (EVP_Digest(big, SM3_BUF, d, &n, EVP_sm3(), NULL) != 1)
        die("EVP_Digest");
}

/* Short messages: 64 B (one block plus padding), 544 B (e = SM3(Z||M) of a
 * 512-byte message), 1728 B. Each call hashes SHORT_BATCH messages so that
 * the clock read between calls is not part of the figure. The EVP side uses
 * an EVP_MD fetched once, the cheapest way through EVP (what ecert's SM3 did
 * before it had its own). */
#define SHORT_BATCH 16
static EVP_MD *sm3_md;

static void ecert_sm3_n(size_t len)
{
    unsigned char d[32];
    for (int i = 0; i < SHORT_BATCH; i++)
        if (ecert_sm3(big + i, len, d))
            die("ecert_sm3");
}

static void ossl_sm3_n(size_t len)
{
    unsigned char d[32];
    unsigned int n;
    for (int i = 0; i < SHORT_BATCH; i++)
        if (EVP_Digest(big + i, len, d, &n, sm3_md, NULL) != 1)
            die("EVP_Digest");
}

static void ecert_sm3_64(void)
{
    ecert_sm3_n(64);
}
static void ossl_sm3_64(void)
{
    ossl_sm3_n(64);
}
static void ecert_sm3_544(void)
{
    ecert_sm3_n(544);
}
static void ossl_sm3_544(void)
{
    ossl_sm3_n(544);
}
static void ecert_sm3_1728(void)
{
    ecert_sm3_n(1728);
}
static void ossl_sm3_1728(void)
{
    ossl_sm3_n(1728);
}

/* ---- measurement --------------------------------------------------------- */

struct pair {
    const char *name;
    const char *unit; /* "op/s" or "MB/s" */
    double scale;     /* units per operation */
    void (*ecert)(void);
    void (*ossl)(void);
    double ecert_rate, ossl_rate;
};

/* Runs fn repeatedly for about `slice` seconds; returns (ops, elapsed). */
static void run_slice(void (*fn)(void), double slice, double *ops, double *elapsed)
{
    double t0 = now_s(), t;
    long n = 0;
    do {
        fn();
        n++;
        t = now_s();
    } while (t - t0 < slice);
    *ops += (double)n;
    *elapsed += t - t0;
}

static void measure(struct pair *p, double seconds)
{
    const int slices = 8;
    double slice = seconds / (2.0 * slices);
    double eo = 0, et = 0, oo = 0, ot = 0;
    p->ecert(); /* warm-up: fetches, caches */
    p->ossl();
    for (int i = 0; i < slices; i++) {
        if (i % 2 == 0) {
            run_slice(p->ecert, slice, &eo, &et);
            run_slice(p->ossl, slice, &oo, &ot);
        } else {
            run_slice(p->ossl, slice, &oo, &ot);
            run_slice(p->ecert, slice, &eo, &et);
        }
    }
    p->ecert_rate = eo * p->scale / et;
    p->ossl_rate = oo * p->scale / ot;
}

int main(int argc, char **argv)
{
    double seconds = 2.0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end || seconds <= 0 || seconds > 3600) {
                fprintf(stderr, "bench_crypto: --seconds wants a number in (0, 3600]\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc) {
            enum sm2_engine e;
            if (sm2_engine_from_name(argv[++i], &e) || sm2_engine_set(e)) {
                fprintf(stderr, "bench_crypto: --engine wants fast or openssl\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_crypto [--engine fast|openssl] [--seconds S] [--json]\n");
            return 2;
        }
    }

    if (ecert_key_generate(&key))
        die("ecert_key_generate");
    pkey = sm2_key_evp(key->k);
    for (int i = 0; i < MSG_LEN; i++)
        msg[i] = (unsigned char)(i * 7);
    big = malloc(SM3_BUF);
    if (!big)
        return 1;
    memset(big, 0x5a, SM3_BUF);
    sm3_md = EVP_MD_fetch(NULL, "SM3", NULL);
    if (!sm3_md)
        die("EVP_MD_fetch SM3");

    /* Inputs for the verify/decrypt sides, each in its native form. */
    if (ecert_sm2_sign(key, NULL, msg, MSG_LEN, 0, &sig_b64))
        die("sign");
    {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        EVP_PKEY_CTX_set1_id(pctx, UID, 16);
        EVP_MD_CTX_set_pkey_ctx(md, pctx);
        sig_der_len = sizeof sig_der;
        if (EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, pkey) != 1 ||
            EVP_DigestSign(md, sig_der, &sig_der_len, msg, MSG_LEN) != 1)
            die("EVP sign");
        EVP_MD_CTX_free(md);
        EVP_PKEY_CTX_free(pctx);
    }
    size_t n;
    if (ecert_sm2_encrypt(key, msg, MSG_LEN, ECERT_CIPHER_HEX, &ct_hex, &n))
        die("encrypt");
    {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        ct_der_len = sizeof ct_der;
        if (EVP_PKEY_encrypt_init(ctx) != 1 ||
            EVP_PKEY_encrypt(ctx, ct_der, &ct_der_len, msg, MSG_LEN) != 1)
            die("EVP encrypt");
        EVP_PKEY_CTX_free(ctx);
    }

    struct pair pairs[] = {
        {"sm2_sign", "op/s", 1, ecert_sign, ossl_sign, 0, 0},
        {"sm2_verify", "op/s", 1, ecert_verify, ossl_verify, 0, 0},
        {"sm2_encrypt_512B", "op/s", 1, ecert_encrypt, ossl_encrypt, 0, 0},
        {"sm2_decrypt_512B", "op/s", 1, ecert_decrypt, ossl_decrypt, 0, 0},
        {"sm3_64B", "MB/s", SHORT_BATCH * 64 / 1e6, ecert_sm3_64, ossl_sm3_64, 0, 0},
        {"sm3_544B", "MB/s", SHORT_BATCH * 544 / 1e6, ecert_sm3_544, ossl_sm3_544, 0, 0},
        {"sm3_1728B", "MB/s", SHORT_BATCH * 1728 / 1e6, ecert_sm3_1728, ossl_sm3_1728, 0, 0},
        {"sm3", "MB/s", (double)SM3_BUF / 1e6, ecert_sm3_1m, ossl_sm3_1m, 0, 0},
    };
    size_t np = sizeof pairs / sizeof pairs[0];
    if (!json)
        printf("%-18s %14s %14s %8s   (%.1f s per operation, alternating slices; ecert engine: "
               "%s)\n",
               "operation", "ecert API", "raw OpenSSL", "ratio", seconds,
               sm2_engine_name(sm2_engine_get()));
    for (size_t i = 0; i < np; i++) {
        measure(&pairs[i], seconds);
        if (!json)
            printf("%-18s %9.0f %-4s %9.0f %-4s %7.3f   (%+.1f%% vs OpenSSL)\n", pairs[i].name,
                   pairs[i].ecert_rate, pairs[i].unit, pairs[i].ossl_rate, pairs[i].unit,
                   pairs[i].ecert_rate / pairs[i].ossl_rate,
                   100.0 * (pairs[i].ecert_rate / pairs[i].ossl_rate - 1.0));
        fflush(stdout);
    }
    if (json) {
        printf("{\"seconds\":%.2f,\"engine\":\"%s\",\"results\":[", seconds,
               sm2_engine_name(sm2_engine_get()));
        for (size_t i = 0; i < np; i++)
            printf("%s{\"op\":\"%s\",\"unit\":\"%s\",\"ecert\":%.1f,\"openssl\":%.1f,"
                   "\"ratio\":%.4f}",
                   i ? "," : "", pairs[i].name, pairs[i].unit, pairs[i].ecert_rate,
                   pairs[i].ossl_rate, pairs[i].ecert_rate / pairs[i].ossl_rate);
        printf("]}\n");
    }
    ecert_free(sig_b64);
    ecert_free(ct_hex);
    free(big);
    EVP_MD_free(sm3_md);
    ecert_key_free(key);
    return 0;
}
