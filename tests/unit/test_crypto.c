/*
 * Crypto module behaviour beyond the vectors: key parsing and formatting,
 * lenient signature decoding, encryption round trips in every format, and
 * differential checks against OpenSSL's own SM2 (EVP) in both directions.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/codec.h"
#include "common/secure.h"
#include "crypto/random.h"
#include "crypto/sm2.h"
#include "crypto/sm3.h"
#include "util.h"

/* GB/T 32918.5 Annex A key */
static const char *D_HEX = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
static const char *P_HEX = "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
                           "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";
/* n of sm2p256v1 */
static const char *N_HEX = "fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123";

static struct sm2_key *priv_of(const char *hex)
{
    struct sm2_key *k = NULL;
    assert_int_equal(sm2_key_parse_private(hex, strlen(hex), &k), ECERT_OK);
    return k;
}

static ecert_status parse_priv(const char *hex)
{
    struct sm2_key *k = NULL;
    ecert_status st = sm2_key_parse_private(hex, strlen(hex), &k);
    sm2_key_free(k);
    return st;
}

static ecert_status parse_pub(const char *hex)
{
    struct sm2_key *k = NULL;
    ecert_status st = sm2_key_parse_public(hex, strlen(hex), &k);
    sm2_key_free(k);
    return st;
}

static void test_private_key_forms(void **state)
{
    struct sm2_key *k = priv_of(D_HEX);
    char pub[131];
    sm2_key_public_hex(k, pub);
    assert_string_equal(pub, P_HEX);
    sm2_key_free(k);

    char buf[128];
    snprintf(buf, sizeof buf, "00%s", D_HEX);
    assert_int_equal(parse_priv(buf), ECERT_OK);
    snprintf(buf, sizeof buf, "01%s", D_HEX);
    assert_int_equal(parse_priv(buf), ECERT_E_MALFORMED);
    snprintf(buf, sizeof buf, "  %s\n", D_HEX); /* surrounding whitespace */
    assert_int_equal(parse_priv(buf), ECERT_OK);
    snprintf(buf, sizeof buf, "%s", D_HEX);
    for (char *p = buf; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p -= 32;
    assert_int_equal(parse_priv(buf), ECERT_OK); /* uppercase */
    assert_int_equal(parse_priv(D_HEX + 1), ECERT_E_MALFORMED); /* 63 digits */
    assert_int_equal(parse_priv(""), ECERT_E_MALFORMED);
    snprintf(buf, sizeof buf, "%s", D_HEX);
    buf[10] = 'g';
    assert_int_equal(parse_priv(buf), ECERT_E_MALFORMED);
    assert_non_null(strstr(ecert_last_error(), "position 11"));
    /* Out of range: 0, n-1, n, 2^256-1. */
    assert_int_equal(parse_priv("0000000000000000000000000000000000000000000000000000000000000000"),
                     ECERT_E_MALFORMED);
    assert_int_equal(parse_priv(N_HEX), ECERT_E_MALFORMED);
    snprintf(buf, sizeof buf, "%s", N_HEX);
    buf[63] = '2'; /* n - 1 */
    assert_int_equal(parse_priv(buf), ECERT_E_MALFORMED);
    buf[63] = '1'; /* n - 2: the largest allowed */
    assert_int_equal(parse_priv(buf), ECERT_OK);
    assert_int_equal(parse_priv("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
                     ECERT_E_MALFORMED);
    char big[20000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(parse_priv(big), ECERT_E_TOO_LONG);
}

static void test_public_key_forms(void **state)
{
    assert_int_equal(parse_pub(P_HEX), ECERT_OK);
    assert_int_equal(parse_pub(P_HEX + 2), ECERT_OK); /* 128 without 04 */
    char buf[140];
    snprintf(buf, sizeof buf, "%s", P_HEX);
    buf[1] = '3'; /* compressed prefix with a full point: refused */
    assert_int_equal(parse_pub(buf), ECERT_E_MALFORMED);
    snprintf(buf, sizeof buf, "%s", P_HEX);
    buf[129] = buf[129] == '0' ? '1' : '0'; /* y changed: not on the curve */
    assert_int_equal(parse_pub(buf), ECERT_E_MALFORMED);
    assert_int_equal(parse_pub("04"), ECERT_E_MALFORMED);
    /* All zero (not a curve point). */
    memset(buf, '0', 128);
    buf[128] = 0;
    assert_int_equal(parse_pub(buf), ECERT_E_MALFORMED);
}

static void test_pem_round_trip(void **state)
{
    struct sm2_key *k = NULL, *k2 = NULL, *p2 = NULL;
    assert_int_equal(sm2_key_generate(&k), ECERT_OK);
    struct buf pem = BUF_INIT(16384), pub = BUF_INIT(16384);
    assert_int_equal(sm2_key_private_pem(k, &pem), ECERT_OK);
    assert_non_null(strstr((char *)pem.data, "-----BEGIN PRIVATE KEY-----"));
    assert_int_equal(sm2_key_public_pem(k, &pub), ECERT_OK);
    assert_non_null(strstr((char *)pub.data, "-----BEGIN PUBLIC KEY-----"));
    assert_int_equal(sm2_key_parse_private((char *)pem.data, pem.len, &k2), ECERT_OK);
    assert_int_equal(sm2_key_parse_public((char *)pub.data, pub.len, &p2), ECERT_OK);
    assert_memory_equal(sm2_key_public_xy(k), sm2_key_public_xy(k2), 64);
    assert_memory_equal(sm2_key_public_xy(k), sm2_key_public_xy(p2), 64);
    uint8_t d1[32], d2[32];
    assert_int_equal(sm2_key_private_bytes(k, d1), ECERT_OK);
    assert_int_equal(sm2_key_private_bytes(k2, d2), ECERT_OK);
    assert_memory_equal(d1, d2, 32);
    /* A public key cannot be exported as a private one. */
    assert_int_equal(sm2_key_private_bytes(p2, d2), ECERT_E_ARG);
    /* Public PEM where a private key is expected, and garbage PEM. */
    struct sm2_key *bad = NULL;
    assert_int_equal(sm2_key_parse_private((char *)pub.data, pub.len, &bad), ECERT_E_MALFORMED);
    const char *junk = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    assert_int_equal(sm2_key_parse_private(junk, strlen(junk), &bad), ECERT_E_MALFORMED);
    buf_release_secret(&pem);
    buf_release(&pub);
    sm2_key_free(k), sm2_key_free(k2), sm2_key_free(p2);

    /* A P-256 key in PEM is not an SM2 key. */
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(p256);
    BIO *bio = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PUBKEY(bio, p256));
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    assert_int_equal(sm2_key_parse_public(data, (size_t)n, &bad), ECERT_E_MALFORMED);
    assert_non_null(strstr(ecert_last_error(), "SM2"));
    BIO_free(bio);
    EVP_PKEY_free(p256);
}

/* Builds a DER signature with INTEGERs written the way sloppy producers do. */
static size_t der_sloppy(const uint8_t rs[64], int extra_zeros, int drop_pad, uint8_t *out)
{
    uint8_t ints[2][40];
    size_t lens[2];
    for (int i = 0; i < 2; i++) {
        const uint8_t *v = rs + 32 * i;
        size_t n = 0;
        for (int z = 0; z < extra_zeros; z++)
            ints[i][n++] = 0;
        if ((v[0] & 0x80) && !drop_pad && !extra_zeros)
            ints[i][n++] = 0;
        memcpy(ints[i] + n, v, 32);
        lens[i] = n + 32;
    }
    size_t off = 0;
    out[off++] = 0x30;
    out[off++] = (uint8_t)(4 + lens[0] + lens[1]);
    for (int i = 0; i < 2; i++) {
        out[off++] = 0x02;
        out[off++] = (uint8_t)lens[i];
        memcpy(out + off, ints[i], lens[i]);
        off += lens[i];
    }
    return off;
}

static void test_signature_leniency(void **state)
{
    struct sm2_key *k = priv_of(D_HEX);
    const char *msg = "ecert";
    uint8_t rs[64], got[64];
    /* Find a signature whose r has its top bit set (half of them do). */
    do
        assert_int_equal(sm2_sign(k, NULL, 0, msg, 5, rs), ECERT_OK);
    while (!(rs[0] & 0x80));

    uint8_t der[100];
    size_t n = der_sloppy(rs, 0, 1, der); /* "negative" INTEGERs */
    assert_int_equal(sm2_sig_decode_bytes(der, n, got), ECERT_OK);
    assert_memory_equal(got, rs, 64);
    assert_int_equal(sm2_verify(k, NULL, 0, msg, 5, got), ECERT_OK);
    n = der_sloppy(rs, 2, 0, der); /* non-minimal: extra leading zeros */
    assert_int_equal(sm2_sig_decode_bytes(der, n, got), ECERT_OK);
    assert_memory_equal(got, rs, 64);

    /* Text forms: base64 DER, hex DER (either case), hex raw, base64 raw. */
    uint8_t cder[SM2_SIG_DER_MAX + 1]; /* + 1: the trailing-byte case below */
    size_t cl = sm2_sig_to_der(rs, cder);
    char text[200];
    base64_encode(cder, cl, text, 0);
    assert_int_equal(sm2_sig_decode_text(text, strlen(text), got), ECERT_OK);
    hex_encode(cder, cl, text);
    assert_int_equal(sm2_sig_decode_text(text, strlen(text), got), ECERT_OK);
    hex_encode(rs, 64, text);
    assert_int_equal(sm2_sig_decode_text(text, strlen(text), got), ECERT_OK);
    assert_memory_equal(got, rs, 64);
    base64_encode(rs, 64, text, 0);
    assert_int_equal(sm2_sig_decode_text(text, strlen(text), got), ECERT_OK);
    assert_memory_equal(got, rs, 64);

    /* Malformed: trailing bytes, a third INTEGER, 33-byte magnitude, junk. */
    cder[cl] = 0;
    assert_int_equal(sm2_sig_decode_bytes(cder, cl + 1, got), ECERT_E_MALFORMED);
    assert_int_equal(sm2_sig_decode_text("not a signature", 15, got), ECERT_E_MALFORMED);
    assert_int_equal(sm2_sig_decode_text("", 0, got), ECERT_E_MALFORMED);
    uint8_t wide[80] = {0x30, 0x46, 0x02, 0x21, 0x01};
    wide[37] = 0x02, wide[38] = 0x21;
    assert_int_equal(sm2_sig_decode_bytes(wide, 72, got), ECERT_E_MALFORMED);

    /* Range: r = 0, s = 0, r = n are invalid signatures, not errors. */
    uint8_t bad[64];
    memset(bad, 0, 64);
    bad[63] = 1;
    assert_int_equal(sm2_verify(k, NULL, 0, msg, 5, bad), ECERT_E_SIGNATURE);
    size_t nl;
    uint8_t nbytes[32];
    assert_int_equal(hex_decode(N_HEX, 64, nbytes, 32, &nl), ECERT_OK);
    memcpy(bad, nbytes, 32);
    memcpy(bad + 32, rs + 32, 32);
    assert_int_equal(sm2_verify(k, NULL, 0, msg, 5, bad), ECERT_E_SIGNATURE);

    /* The user ID is part of the signature. */
    assert_int_equal(sm2_sign(k, (const uint8_t *)"alice", 5, msg, 5, rs), ECERT_OK);
    assert_int_equal(sm2_verify(k, (const uint8_t *)"alice", 5, msg, 5, rs), ECERT_OK);
    assert_int_equal(sm2_verify(k, NULL, 0, msg, 5, rs), ECERT_E_SIGNATURE);
    assert_int_equal(sm2_verify(k, (const uint8_t *)"", 0, msg, 5, rs), ECERT_E_SIGNATURE);
    sm2_key_free(k);
}

static void test_encrypt_round_trips(void **state)
{
    struct sm2_key *k = NULL, *other = NULL;
    assert_int_equal(sm2_key_generate(&k), ECERT_OK);
    assert_int_equal(sm2_key_generate(&other), ECERT_OK);
    uint8_t msg[1500];
    assert_int_equal(random_bytes(msg, sizeof msg), ECERT_OK);
    static const size_t lens[] = {0, 1, 31, 32, 33, 64, 255, 1500};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t len = lens[li];
        for (int f = ECERT_CIPHER_HEX; f <= ECERT_CIPHER_DER; f++) {
            struct buf text = BUF_INIT(1 << 20), plain = BUF_INIT(1 << 20);
            assert_int_equal(sm2_encrypt_text(k, msg, len, (ecert_cipher_format)f, &text),
                             ECERT_OK);
            if (f == ECERT_CIPHER_HEX)
                assert_int_equal(text.len, 2 * (96 + len));
            if (f == ECERT_CIPHER_HEX04)
                assert_memory_equal(text.data, "04", 2);
            assert_int_equal(sm2_decrypt(k, text.data, text.len, 0, &plain), ECERT_OK);
            assert_int_equal(plain.len, len);
            assert_memory_equal(plain.data, msg, len);
            /* Another key cannot decrypt it. */
            buf_reset(&plain);
            assert_int_equal(sm2_decrypt(other, text.data, text.len, 0, &plain),
                             ECERT_E_DECRYPT);
            buf_release(&text);
            buf_release(&plain);
        }
    }
    /* Every single-byte change in a raw ciphertext is detected. */
    struct buf raw = BUF_INIT(1 << 20), plain = BUF_INIT(1 << 20);
    assert_int_equal(sm2_encrypt(k, msg, 40, &raw), ECERT_OK);
    for (size_t i = 1; i < raw.len; i += 7) {
        raw.data[i] ^= 0x01;
        buf_reset(&plain);
        assert_int_equal(sm2_decrypt(k, raw.data, raw.len, 0, &plain), ECERT_E_DECRYPT);
        raw.data[i] ^= 0x01;
    }
    /* Truncations are refused, never read past the end. */
    for (size_t cut = 0; cut < raw.len; cut += 13) {
        buf_reset(&plain);
        assert_int_equal(sm2_decrypt(k, raw.data, cut, 0, &plain), ECERT_E_DECRYPT);
    }
    buf_release(&raw);
    buf_release(&plain);
    sm2_key_free(k);
    sm2_key_free(other);
}

/* The production curve rebuilt from its parameters has no EVP key, so its
 * operations take the primitive path: signatures cross between the two. */
static void test_differential_evp_vs_primitive(void **state)
{
    struct sm2_curve *c = NULL;
    assert_int_equal(
        sm2_curve_new("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF",
                      "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC",
                      "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93",
                      "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123",
                      "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
                      "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0", &c),
        ECERT_OK);
    for (int i = 0; i < 40; i++) {
        struct sm2_key *evp = NULL, *prim = NULL;
        assert_int_equal(sm2_key_generate(&evp), ECERT_OK);
        uint8_t d[32];
        assert_int_equal(sm2_key_private_bytes(evp, d), ECERT_OK);
        assert_int_equal(sm2_key_from_private(c, d, &prim), ECERT_OK);
        assert_null(sm2_key_evp(prim));
        assert_non_null(sm2_key_evp(evp));
        assert_memory_equal(sm2_key_public_xy(evp), sm2_key_public_xy(prim), 64);
        uint8_t msg[64], sig[64];
        assert_int_equal(random_bytes(msg, sizeof msg), ECERT_OK);
        size_t ml = (size_t)(msg[0] % 64);
        assert_int_equal(sm2_sign(evp, NULL, 0, msg, ml, sig), ECERT_OK);
        assert_int_equal(sm2_verify(prim, NULL, 0, msg, ml, sig), ECERT_OK);
        assert_int_equal(sm2_sign(prim, NULL, 0, msg, ml, sig), ECERT_OK);
        assert_int_equal(sm2_verify(evp, NULL, 0, msg, ml, sig), ECERT_OK);
        sig[10] ^= 4;
        assert_int_equal(sm2_verify(evp, NULL, 0, msg, ml, sig), ECERT_E_SIGNATURE);
        assert_int_equal(sm2_verify(prim, NULL, 0, msg, ml, sig), ECERT_E_SIGNATURE);
        secure_wipe(d, sizeof d);
        sm2_key_free(evp);
        sm2_key_free(prim);
    }
    sm2_curve_free(c);
}

/* OpenSSL's own SM2 encryption (EVP, GM/T 0009 DER out) and ours agree in
 * both directions: the strongest check that layout and KDF are right. The
 * lengths cross the KDF's 32-byte blocks and its 16-block (512-byte) batches
 * (sm3_x16.h), with random lengths up to 1200 bytes besides. */
static void test_differential_openssl_encryption(void **state)
{
    static const size_t fixed[] = {1, 31, 32, 33, 63, 64, 65, 480, 511, 512, 513, 543, 544, 545,
                                   1023, 1024, 1025, 1200};
    struct sm2_key *k = priv_of(D_HEX);
    EVP_PKEY *pk = sm2_key_evp(k);
    size_t nfixed = sizeof fixed / sizeof fixed[0];
    enum { MAXLEN = 1200, CTMAX = MAXLEN + 200 };
    for (size_t i = 0; i < nfixed + 30; i++) {
        uint8_t msg[MAXLEN];
        assert_int_equal(random_bytes(msg, sizeof msg), ECERT_OK);
        size_t ml = i < nfixed ? fixed[i] : 1 + ((size_t)msg[0] << 8 | msg[1]) % MAXLEN;
        /* OpenSSL encrypts, we decrypt. */
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
        assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
        uint8_t der[CTMAX];
        size_t dl = sizeof der;
        assert_int_equal(EVP_PKEY_encrypt(ctx, der, &dl, msg, ml), 1);
        EVP_PKEY_CTX_free(ctx);
        struct buf plain = BUF_INIT(4096);
        assert_int_equal(sm2_decrypt(k, der, dl, SM2_DECRYPT_STRICT_ORDER, &plain), ECERT_OK);
        assert_int_equal(plain.len, ml);
        assert_memory_equal(plain.data, msg, ml);
        buf_release(&plain);
        /* We encrypt (DER form), OpenSSL decrypts. */
        struct buf text = BUF_INIT(4096);
        assert_int_equal(sm2_encrypt_text(k, msg, ml, ECERT_CIPHER_DER, &text), ECERT_OK);
        uint8_t bin[CTMAX], out[CTMAX];
        size_t bl = 0, ol = sizeof out;
        assert_int_equal(base64_decode((char *)text.data, text.len, bin, sizeof bin, &bl, 0),
                         ECERT_OK);
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
        assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
        assert_int_equal(EVP_PKEY_decrypt(ctx, out, &ol, bin, bl), 1);
        EVP_PKEY_CTX_free(ctx);
        assert_int_equal(ol, ml);
        assert_memory_equal(out, msg, ml);
        buf_release(&text);
    }
    sm2_key_free(k);
}

static void test_openssl_digestsign_interop(void **state)
{
    /* A signature made with OpenSSL's EVP_DigestSign and the explicit ID
     * verifies here, and vice versa. */
    struct sm2_key *k = priv_of(D_HEX);
    EVP_PKEY *pk = sm2_key_evp(k);
    const char *msg = "长三角电子证照共享";
    for (int i = 0; i < 5; i++) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
        assert_int_equal(EVP_PKEY_CTX_set1_id(pctx, SM2_DEFAULT_ID, SM2_DEFAULT_ID_LEN), 1);
        EVP_MD_CTX_set_pkey_ctx(md, pctx);
        assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, pk), 1);
        uint8_t der[80];
        size_t dl = sizeof der;
        assert_int_equal(EVP_DigestSign(md, der, &dl, (const uint8_t *)msg, strlen(msg)), 1);
        EVP_MD_CTX_free(md);
        EVP_PKEY_CTX_free(pctx);
        uint8_t rs[64];
        assert_int_equal(sm2_sig_decode_bytes(der, dl, rs), ECERT_OK);
        assert_int_equal(sm2_verify(k, NULL, 0, msg, strlen(msg), rs), ECERT_OK);

        assert_int_equal(sm2_sign(k, NULL, 0, msg, strlen(msg), rs), ECERT_OK);
        dl = sm2_sig_to_der(rs, der);
        md = EVP_MD_CTX_new();
        pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
        assert_int_equal(EVP_PKEY_CTX_set1_id(pctx, SM2_DEFAULT_ID, SM2_DEFAULT_ID_LEN), 1);
        EVP_MD_CTX_set_pkey_ctx(md, pctx);
        assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, pk), 1);
        assert_int_equal(EVP_DigestVerify(md, der, dl, (const uint8_t *)msg, strlen(msg)), 1);
        EVP_MD_CTX_free(md);
        EVP_PKEY_CTX_free(pctx);
    }
    sm2_key_free(k);
}

static void test_random_token(void **state)
{
    char a[33], b[33];
    assert_int_equal(random_token(a, 32), ECERT_OK);
    assert_int_equal(random_token(b, 32), ECERT_OK);
    assert_int_equal(strlen(a), 32);
    assert_string_not_equal(a, b);
    for (int i = 0; i < 32; i++)
        assert_non_null(strchr("0123456789abcdefghijklmnopqrstuvwxyz", a[i]));
}

/* The per-thread block of random_bytes_small: consecutive draws differ, a
 * thread has its own block, and a forked child never serves what the parent
 * drew before the fork (two signatures with one k reveal the key). */
static void *draw_in_thread(void *arg)
{
    return (void *)(intptr_t)random_bytes_small(arg, 32);
}

static int draw_in_child(void *arg, uint8_t *out)
{
    (void)arg;
    return random_bytes_small(out, 32) == ECERT_OK ? 0 : -1;
}

static void test_random_small(void **state)
{
    uint8_t a[32], b[32], c[32], in_child[32];
    assert_int_equal(random_bytes_small(a, 32), ECERT_OK); /* the block now holds more */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, draw_in_thread, c), 0);
    void *ret;
    assert_int_equal(pthread_join(th, &ret), 0);
    assert_int_equal((intptr_t)ret, ECERT_OK);
    assert_int_equal(util_in_child(draw_in_child, NULL, in_child, 32), 0);
    assert_int_equal(random_bytes_small(b, 32), ECERT_OK);
    assert_memory_not_equal(a, b, 32);
    assert_memory_not_equal(a, c, 32);
    assert_memory_not_equal(b, c, 32);
    assert_memory_not_equal(b, in_child, 32);
    /* more than one block's worth, and larger requests go straight through */
    uint8_t prev[32];
    memcpy(prev, b, 32);
    for (int i = 0; i < 100; i++) {
        uint8_t k[32];
        assert_int_equal(random_bytes_small(k, 32), ECERT_OK);
        assert_memory_not_equal(k, prev, 32);
        memcpy(prev, k, 32);
    }
    uint8_t big[200];
    memset(big, 0, sizeof big);
    assert_int_equal(random_bytes_small(big, sizeof big), ECERT_OK);
    assert_memory_not_equal(big, big + 100, 100);
}

static void test_key_refcount(void **state)
{
    struct sm2_key *k = priv_of(D_HEX);
    assert_ptr_equal(sm2_key_ref(k), k);
    sm2_key_free(k);
    /* Still usable after one release: the reference count was 2. */
    uint8_t rs[64];
    assert_int_equal(sm2_sign(k, NULL, 0, "x", 1, rs), ECERT_OK);
    sm2_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_private_key_forms),
        cmocka_unit_test(test_public_key_forms),
        cmocka_unit_test(test_pem_round_trip),
        cmocka_unit_test(test_signature_leniency),
        cmocka_unit_test(test_encrypt_round_trips),
        cmocka_unit_test(test_differential_evp_vs_primitive),
        cmocka_unit_test(test_differential_openssl_encryption),
        cmocka_unit_test(test_openssl_digestsign_interop),
        cmocka_unit_test(test_random_token),
        cmocka_unit_test(test_random_small),
        cmocka_unit_test(test_key_refcount),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
