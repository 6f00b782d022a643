/*
 * ofd_seal.c — making SESeal and SES_Signature (GB/T 38540 v4), a seal
 * picture, and a province's seal hierarchy (see ofd_seal.h).
 *
 * DER is built inside out: each constructed value is assembled in its own
 * buffer and wrapped with its header. All integers here are small and
 * non-negative; times are GeneralizedTime in UTC ("YYYYMMDDHHMMSSZ").
 */
#include "docs/ofd_seal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/der.h"
#include "common/error.h"
#include "crypto/sm3.h"
#include "crypto/x509_issue.h"
#include "crypto/x509_verify.h"
#include "docs/ses.h"

#define DER_IA5 0x16
#define DER_GENTIME 0x18
#define SES_BUF_MAX (4u << 20)

static const uint8_t OID_SM2_SM3_DER[] = {0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x83, 0x75};

/* ---- DER writing ------------------------------------------------------------------ */

static ecert_status put_tlv(struct buf *out, uint8_t tag, const void *p, size_t n)
{
    uint8_t hdr[8];
    size_t off = 0;
    ecert_status st = der_put_header(hdr, sizeof hdr, &off, tag, n);
    if (!st)
        st = buf_append(out, hdr, off);
    if (!st && n)
        st = buf_append(out, p, n);
    return st;
}

static ecert_status put_wrap(struct buf *out, uint8_t tag, const struct buf *inner)
{
    return put_tlv(out, tag, inner->data, inner->len);
}

static ecert_status put_int(struct buf *out, unsigned long v)
{
    uint8_t mag[sizeof v];
    for (size_t i = 0; i < sizeof v; i++)
        mag[i] = (uint8_t)(v >> (8 * (sizeof v - 1 - i)));
    uint8_t tmp[16];
    size_t off = 0;
    ecert_status st = der_put_uint(tmp, sizeof tmp, &off, mag, sizeof mag);
    return st ? st : buf_append(out, tmp, off);
}

static ecert_status put_str(struct buf *out, uint8_t tag, const char *s)
{
    return put_tlv(out, tag, s, strlen(s));
}

/* BIT STRING with no unused bits. */
static ecert_status put_bits(struct buf *out, const uint8_t *p, size_t n)
{
    uint8_t hdr[8];
    size_t off = 0;
    ecert_status st = der_put_header(hdr, sizeof hdr, &off, DER_BIT_STRING, n + 1);
    if (!st)
        st = buf_append(out, hdr, off);
    if (!st)
        st = buf_append_byte(out, 0);
    if (!st)
        st = buf_append(out, p, n);
    return st;
}

static ecert_status put_time(struct buf *out, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char s[32];
    if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 1950)
        return err_set(ECERT_E_ARG, "time out of range");
    snprintf(s, sizeof s, "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return put_tlv(out, DER_GENTIME, s, strlen(s));
}

static bool ascii_ok(const char *s, size_t max)
{
    size_t n = s ? strnlen(s, max + 1) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7E)
            return false;
    return true;
}

/* ---- seals ------------------------------------------------------------------------ */

static ecert_status seal_info(const struct seal_spec *spec, struct buf *out)
{
    struct buf hdr = BUF_INIT(SES_BUF_MAX), prop = BUF_INIT(SES_BUF_MAX),
               list = BUF_INIT(SES_BUF_MAX), pic = BUF_INIT(SES_BUF_MAX),
               info = BUF_INIT(SES_BUF_MAX), png = BUF_INIT(SEAL_PICTURE_MAX);
    ecert_status st = ECERT_OK;
    const uint8_t *picture = spec->picture;
    size_t picture_len = spec->picture_len;
    if (!picture) {
        if ((st = seal_picture_png(256, &png)))
            goto done;
        picture = png.data;
        picture_len = png.len;
    }
    int64_t created = spec->created ? spec->created : (int64_t)time(NULL);
    int64_t from = spec->valid_from ? spec->valid_from : created;
    unsigned w = spec->width_mm ? spec->width_mm : 40, h = spec->height_mm ? spec->height_mm : 40;
    for (size_t i = 0; i < spec->nholders && !st; i++)
        st = put_tlv(&list, DER_OCTET_STRING, spec->holders[i], spec->holder_lens[i]);
    if (st || (st = put_str(&hdr, DER_IA5, "ES")) || (st = put_int(&hdr, 4)) ||
        (st = put_str(&hdr, DER_IA5, spec->vendor_id)) ||
        (st = put_int(&prop, (unsigned long)spec->type)) ||
        (st = put_str(&prop, DER_UTF8STRING, spec->name)) || (st = put_int(&prop, 1)) ||
        (st = put_wrap(&prop, DER_SEQUENCE, &list)) || (st = put_time(&prop, created)) ||
        (st = put_time(&prop, from)) || (st = put_time(&prop, spec->valid_to)) ||
        (st = put_str(&pic, DER_IA5, "PNG")) ||
        (st = put_tlv(&pic, DER_OCTET_STRING, picture, picture_len)) ||
        (st = put_int(&pic, w)) || (st = put_int(&pic, h)) ||
        (st = put_wrap(&info, DER_SEQUENCE, &hdr)) ||
        (st = put_str(&info, DER_IA5, spec->seal_id)) ||
        (st = put_wrap(&info, DER_SEQUENCE, &prop)) || (st = put_wrap(&info, DER_SEQUENCE, &pic)))
        goto done;
    st = put_wrap(out, DER_SEQUENCE, &info);
done:
    buf_release(&hdr);
    buf_release(&prop);
    buf_release(&list);
    buf_release(&pic);
    buf_release(&info);
    buf_release(&png);
    return st;
}

/* The key must be the one the certificate certifies, or what it signs will
 * never verify. */
static ecert_status key_matches(const struct sm2_key *key, const uint8_t *cert, size_t len,
                                const char *what)
{
    struct x509_cert *c = NULL;
    struct sm2_key *pub = NULL;
    ecert_status st = x509_cert_from_der(cert, len, &c);
    if (!st)
        st = x509_cert_sm2_key(c, &pub);
    if (!st && memcmp(sm2_key_public_xy(pub), sm2_key_public_xy(key), SM2_POINT_LEN) != 0)
        st = err_set(ECERT_E_ARG, "%s: the key does not belong to the certificate", what);
    else if (st)
        st = err_wrap(st, what);
    sm2_key_free(pub);
    x509_cert_free(c);
    return st;
}

static ecert_status sign_der(const struct sm2_key *key, const uint8_t *msg, size_t len,
                             struct buf *out)
{
    uint8_t rs[SM2_SIG_LEN], der[SM2_SIG_DER_MAX];
    ecert_status st = sm2_sign(key, NULL, 0, msg, len, rs);
    if (st)
        return st;
    size_t n = sm2_sig_to_der(rs, der);
    return put_bits(out, der, n);
}

ecert_status ses_seal_make(const struct seal_spec *spec, const struct sm2_key *maker_key,
                           const uint8_t *maker_cert, size_t maker_cert_len, struct buf *esl)
{
    if (!spec || !maker_key || !maker_cert || !esl)
        return err_set(ECERT_E_ARG, "ses_seal_make: NULL argument");
    if (!ascii_ok(spec->vendor_id, 64) || !ascii_ok(spec->seal_id, 64))
        return err_set(ECERT_E_MALFORMED, "seal: vendor and seal ids want 1-64 printable ASCII");
    size_t nl = spec->name ? strnlen(spec->name, 256) : 0;
    if (nl == 0 || nl > 255)
        return err_set(ECERT_E_MALFORMED, "seal: name wants 1-255 bytes");
    if (spec->nholders == 0 || spec->nholders > SEAL_MAX_HOLDERS)
        return err_set(ECERT_E_ARG, "seal: 1-%d holder certificates", SEAL_MAX_HOLDERS);
    if (spec->picture && (spec->picture_len == 0 || spec->picture_len > SEAL_PICTURE_MAX))
        return err_set(ECERT_E_TOO_LONG, "seal: picture of %zu bytes, limit %u",
                       spec->picture_len, SEAL_PICTURE_MAX);
    if (spec->type < 0 || spec->type > 0xFFFF)
        return err_set(ECERT_E_ARG, "seal: type out of range");
    int64_t created = spec->created ? spec->created : (int64_t)time(NULL);
    if (spec->valid_to <= (spec->valid_from ? spec->valid_from : created))
        return err_set(ECERT_E_ARG, "seal: validity ends before it starts");
    ecert_status st = key_matches(maker_key, maker_cert, maker_cert_len, "seal maker");
    if (st)
        return st;
    struct buf info = BUF_INIT(SES_BUF_MAX), body = BUF_INIT(SES_BUF_MAX);
    size_t len0 = esl->len;
    if ((st = seal_info(spec, &info)) || (st = buf_append(&body, info.data, info.len)) ||
        (st = put_tlv(&body, DER_OCTET_STRING, maker_cert, maker_cert_len)) ||
        (st = put_tlv(&body, DER_OID, OID_SM2_SM3_DER, sizeof OID_SM2_SM3_DER)) ||
        (st = sign_der(maker_key, info.data, info.len, &body)) ||
        (st = put_wrap(esl, DER_SEQUENCE, &body)))
        esl->len = len0;
    buf_release(&info);
    buf_release(&body);
    return st;
}

/* The signer must be one of the seal's holders (GB/T 38540 §7.2). */
static ecert_status holder_check(const struct ses_seal *seal, const uint8_t *cert, size_t len)
{
    for (size_t i = 0; i < SEAL_MAX_HOLDERS * 32; i++) {
        struct der c, t, d;
        if (ses_seal_cert_at(seal, i, &c, &t, &d) != ECERT_OK)
            break;
        if (c.len == len && memcmp(c.p, cert, len) == 0)
            return ECERT_OK;
    }
    err_clear();
    return err_set(ECERT_E_ARG, "the signer's certificate is not a holder of the seal");
}

ecert_status ses_sign(const uint8_t *esl, size_t esl_len, const struct sm2_key *signer_key,
                      const uint8_t *signer_cert, size_t signer_cert_len, const uint8_t *data,
                      size_t data_len, const char *property_info, int64_t when, struct buf *out)
{
    if (!esl || !signer_key || !signer_cert || (!data && data_len) || !out)
        return err_set(ECERT_E_ARG, "ses_sign: NULL argument");
    if (!ascii_ok(property_info, 1024))
        return err_set(ECERT_E_MALFORMED, "ses_sign: propertyInfo wants printable ASCII");
    struct ses_seal seal;
    ecert_status st = ses_parse_seal(esl, esl_len, &seal);
    if (st)
        return err_wrap(st, "seal");
    if (seal.v1_layout || seal.version != 4)
        return err_set(ECERT_E_ARG, "ses_sign: the seal is not a GB/T 38540 v4 seal");
    if ((st = holder_check(&seal, signer_cert, signer_cert_len)) ||
        (st = key_matches(signer_key, signer_cert, signer_cert_len, "signer")))
        return st;
    uint8_t h[SM3_LEN];
    if ((st = sm3_digest(data, data_len, h)))
        return st;
    struct buf tbs_body = BUF_INIT(SES_BUF_MAX), tbs = BUF_INIT(SES_BUF_MAX),
               body = BUF_INIT(SES_BUF_MAX);
    size_t len0 = out->len;
    if ((st = put_int(&tbs_body, 4)) || (st = buf_append(&tbs_body, esl, esl_len)) ||
        (st = put_time(&tbs_body, when ? when : (int64_t)time(NULL))) ||
        (st = put_bits(&tbs_body, h, sizeof h)) ||
        (st = put_str(&tbs_body, DER_IA5, property_info)) ||
        (st = put_wrap(&tbs, DER_SEQUENCE, &tbs_body)) ||
        (st = buf_append(&body, tbs.data, tbs.len)) ||
        (st = put_tlv(&body, DER_OCTET_STRING, signer_cert, signer_cert_len)) ||
        (st = put_tlv(&body, DER_OID, OID_SM2_SM3_DER, sizeof OID_SM2_SM3_DER)) ||
        (st = sign_der(signer_key, tbs.data, tbs.len, &body)) ||
        (st = put_wrap(out, DER_SEQUENCE, &body)))
        out->len = len0;
    buf_release(&tbs_body);
    buf_release(&tbs);
    buf_release(&body);
    return st;
}

/* ---- the picture ------------------------------------------------------------------ */

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

static ecert_status png_chunk(struct buf *out, const char type[4], const uint8_t *data,
                              size_t n)
{
    uint8_t hdr[8], crc[4];
    be32(hdr, (uint32_t)n);
    memcpy(hdr + 4, type, 4);
    uint32_t c = crc32_update(0, (const uint8_t *)type, 4);
    c = crc32_update(c, data, n);
    be32(crc, c);
    ecert_status st = buf_append(out, hdr, sizeof hdr);
    if (!st && n)
        st = buf_append(out, data, n);
    if (!st)
        st = buf_append(out, crc, sizeof crc);
    return st;
}

/* A small DEFLATE (RFC 1951) encoder, enough for a two-colour picture: one
 * block with the fixed Huffman codes, matches only at distance 1 (runs) and
 * at the distance of one image row (a row like the one above). A 256-pixel
 * seal shrinks from 8.4 KB to well under 1 KB — which matters, because the
 * picture is hashed three times per verification (reference, seal maker's
 * signature, signer's signature). */
struct bits {
    struct buf *out;
    uint32_t acc;
    unsigned n;
    ecert_status st;
};

static void bits_put(struct bits *b, uint32_t v, unsigned n)
{
    b->acc |= v << b->n;
    b->n += n;
    while (b->n >= 8 && !b->st) {
        b->st = buf_append_byte(b->out, (uint8_t)b->acc);
        b->acc >>= 8;
        b->n -= 8;
    }
}

/* Huffman codes are sent most significant bit first. */
static void put_code(struct bits *b, uint32_t code, unsigned n)
{
    uint32_t r = 0;
    for (unsigned i = 0; i < n; i++)
        r |= ((code >> i) & 1u) << (n - 1 - i);
    bits_put(b, r, n);
}

static void put_symbol(struct bits *b, unsigned sym)
{
    if (sym < 144)
        put_code(b, 0x30 + sym, 8);
    else if (sym < 256)
        put_code(b, 0x190 + sym - 144, 9);
    else if (sym < 280)
        put_code(b, sym - 256, 7);
    else
        put_code(b, 0xC0 + sym - 280, 8);
}

static const uint16_t LEN_BASE[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t LEN_EXTRA[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t DIST_BASE[30] = {1,    2,    3,    4,    5,    7,     9,     13,
                                       17,   25,   33,   49,   65,   97,    129,   193,
                                       257,  385,  513,  769,  1025, 1537,  2049,  3073,
                                       4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t DIST_EXTRA[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static void put_match(struct bits *b, unsigned len, unsigned dist)
{
    unsigned i = 28;
    while (LEN_BASE[i] > len)
        i--;
    put_symbol(b, 257 + i);
    bits_put(b, len - LEN_BASE[i], LEN_EXTRA[i]);
    unsigned d = 29;
    while (DIST_BASE[d] > dist)
        d--;
    put_code(b, d, 5);
    bits_put(b, dist - DIST_BASE[d], DIST_EXTRA[d]);
}

static size_t match_len(const uint8_t *p, size_t i, size_t n, size_t dist)
{
    size_t l = 0;
    while (i + l < n && l < 258 && p[i + l] == p[i + l - dist])
        l++;
    return l;
}

/* zlib stream (RFC 1950) of p[0..n), rows of `row` bytes. */
static ecert_status zlib_compress(const uint8_t *p, size_t n, size_t row, struct buf *out)
{
    struct bits b = {.out = out};
    bits_put(&b, 0x78, 8); /* CMF: deflate, 32 KiB window */
    bits_put(&b, 0x01, 8); /* FLG: no dictionary, check bits */
    bits_put(&b, 1, 1);    /* BFINAL */
    bits_put(&b, 1, 2);    /* BTYPE = fixed Huffman */
    for (size_t i = 0; i < n && !b.st;) {
        size_t best = 0, dist = 0;
        if (i >= 1 && (best = match_len(p, i, n, 1)) >= 3)
            dist = 1;
        size_t l;
        if (i >= row && row <= 32768 && (l = match_len(p, i, n, row)) > best)
            best = l, dist = row;
        if (best >= 3) {
            put_match(&b, (unsigned)best, (unsigned)dist);
            i += best;
        } else {
            put_symbol(&b, p[i]);
            i++;
        }
    }
    put_symbol(&b, 256); /* end of block */
    if (b.n)
        bits_put(&b, 0, 8 - b.n);
    uint32_t a = 1, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + p[i]) % 65521;
        s2 = (s2 + a) % 65521;
    }
    uint8_t adler[4];
    be32(adler, (s2 << 16) | a);
    if (!b.st)
        b.st = buf_append(out, adler, 4);
    return b.st;
}

/* Unit vectors of the star's ten vertices, from the top, clockwise on
 * screen (y grows downwards): outer points every 72°, inner ones between. */
static const double STAR[10][2] = {
    {0.0, -1.0},        {0.5877853, -0.8090170}, {0.9510565, -0.3090170},
    {0.9510565, 0.3090170}, {0.5877853, 0.8090170}, {0.0, 1.0},
    {-0.5877853, 0.8090170}, {-0.9510565, 0.3090170}, {-0.9510565, -0.3090170},
    {-0.5877853, -0.8090170},
};

static bool in_star(double x, double y, double r_out)
{
    double vx[10], vy[10];
    for (int i = 0; i < 10; i++) {
        double r = (i % 2) ? r_out * 0.382 : r_out;
        vx[i] = STAR[i][0] * r;
        vy[i] = STAR[i][1] * r;
    }
    bool in = false;
    for (int i = 0, j = 9; i < 10; j = i++)
        if ((vy[i] > y) != (vy[j] > y) &&
            x < (vx[j] - vx[i]) * (y - vy[i]) / (vy[j] - vy[i]) + vx[i])
            in = !in;
    return in;
}

ecert_status seal_picture_bitmap(unsigned px, struct buf *raw)
{
    if (px < 64 || px > 1024)
        return err_set(ECERT_E_ARG, "seal picture: %u pixels, want 64-1024", px);
    size_t row = 1 + (px + 7) / 8, raw_len = row * px, len0 = raw->len;
    ecert_status st = buf_reserve(raw, raw_len);
    if (st)
        return st;
    uint8_t *p = raw->data + len0;
    memset(p, 0, raw_len); /* filter type 0 for every row, background 0 */
    double c = px / 2.0, r_out = px * 0.48, r_in = px * 0.42, r_star = px * 0.24;
    for (unsigned y = 0; y < px; y++)
        for (unsigned x = 0; x < px; x++) {
            double dx = x + 0.5 - c, dy = y + 0.5 - c, d2 = dx * dx + dy * dy;
            bool ink = (d2 <= r_out * r_out && d2 >= r_in * r_in) || in_star(dx, dy, r_star);
            if (ink)
                p[y * row + 1 + x / 8] |= (uint8_t)(0x80 >> (x % 8));
        }
    raw->len += raw_len;
    return ECERT_OK;
}

ecert_status seal_picture_png(unsigned px, struct buf *png)
{
    struct buf raw = BUF_INIT(1u << 20), z = BUF_INIT(1u << 20);
    ecert_status st = seal_picture_bitmap(px, &raw);
    if (st)
        return st;
    st = zlib_compress(raw.data, raw.len, 1 + (px + 7) / 8, &z);
    uint8_t ihdr[13];
    be32(ihdr, px);
    be32(ihdr + 4, px);
    ihdr[8] = 1; /* bit depth */
    ihdr[9] = 3; /* palette */
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    static const uint8_t plte[6] = {0xFF, 0xFF, 0xFF, 0xD7, 0x1A, 0x1A};
    static const uint8_t trns[1] = {0x00};
    size_t len0 = png->len;
    if (st || (st = buf_append(png, sig, sizeof sig)) ||
        (st = png_chunk(png, "IHDR", ihdr, sizeof ihdr)) ||
        (st = png_chunk(png, "PLTE", plte, sizeof plte)) ||
        (st = png_chunk(png, "tRNS", trns, sizeof trns)) ||
        (st = png_chunk(png, "IDAT", z.data, z.len)) || (st = png_chunk(png, "IEND", NULL, 0)))
        png->len = len0;
    buf_release(&raw);
    buf_release(&z);
    return st;
}

/* ---- a province's hierarchy --------------------------------------------------------- */

void seal_pki_free(struct seal_pki *p)
{
    if (!p)
        return;
    sm2_key_free(p->maker_key);
    sm2_key_free(p->signer_key);
    buf_release(&p->maker_cert);
    buf_release(&p->signer_cert);
    buf_release(&p->seal);
    memset(p, 0, sizeof *p);
}

void seal_pki_identity(const struct seal_pki *p, struct seal_identity *id)
{
    id->signer_key = p->signer_key;
    id->signer_cert = p->signer_cert.data;
    id->signer_cert_len = p->signer_cert.len;
    id->seal = p->seal.data;
    id->seal_len = p->seal.len;
}

static ecert_status joined(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s%s", a, b);
    if (n < 0 || (size_t)n >= cap)
        return err_set(ECERT_E_TOO_LONG, "name \"%.40s...\" too long", a);
    return ECERT_OK;
}

ecert_status seal_pki_new(const uint8_t *root_der, size_t root_len, const struct sm2_key *root_key,
                          const char *province, const char *authority, const char *seal_id,
                          unsigned days, struct seal_pki *out)
{
    if (!root_der || !root_key || !province || !authority || !seal_id || !out)
        return err_set(ECERT_E_ARG, "seal_pki_new: NULL argument");
    memset(out, 0, sizeof *out);
    buf_init(&out->maker_cert, 64u << 10);
    buf_init(&out->signer_cert, 64u << 10);
    buf_init(&out->seal, SES_BUF_MAX);
    char maker_cn[256], seal_name[256];
    ecert_status st;
    if ((st = joined(maker_cn, sizeof maker_cn, province, "电子印章制作系统")) ||
        (st = joined(seal_name, sizeof seal_name, authority, "电子证照专用章")))
        goto fail;
    int64_t now = (int64_t)time(NULL);
    struct x509_subject maker = {.c = "CN", .o = province, .ou = "电子印章制作", .cn = maker_cn};
    struct x509_subject signer = {.c = "CN", .o = authority, .ou = "电子证照签发", .cn = authority};
    if ((st = sm2_key_generate(&out->maker_key)) || (st = sm2_key_generate(&out->signer_key)) ||
        (st = x509_sm2_issue(root_der, root_len, root_key, &maker, out->maker_key,
                             X509_ISSUE_SIGNER, 0, days, &out->maker_cert)) ||
        (st = x509_sm2_issue(root_der, root_len, root_key, &signer, out->signer_key,
                             X509_ISSUE_SIGNER, 0, days, &out->signer_cert)))
        goto fail;
    struct seal_spec spec = {
        .vendor_id = "ECERT",
        .seal_id = seal_id,
        .name = seal_name,
        .type = 2, /* a special-purpose seal (专用章) */
        .created = now,
        .valid_from = now - 300,
        .valid_to = now + (int64_t)days * 86400,
        .holders = {out->signer_cert.data},
        .holder_lens = {out->signer_cert.len},
        .nholders = 1,
    };
    if ((st = ses_seal_make(&spec, out->maker_key, out->maker_cert.data, out->maker_cert.len,
                            &out->seal)))
        goto fail;
    return ECERT_OK;
fail:
    seal_pki_free(out);
    return st;
}
