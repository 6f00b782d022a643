/*
 * ids.c — certificate identifiers (GB/T 36904), 公民身份号码 (GB 11643) and
 * 统一社会信用代码 (GB 32100): check characters, validation, parsing,
 * formatting and generation of sample data. See ids.h and docs/codes.md.
 *
 * Nothing here allocates; every input is read through (pointer, length) and
 * never past its length.
 */
#include "codes/ids.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/error.h"

/* ===================================================================== */
/* Alphabets and character helpers                                        */

static const char alnum36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/* GB 32100 leaves out I, O, S, V and Z (confusable with 1, 0, 5, U and 2). */
static const char uscc_abc[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_lower(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}

/* Value in 0-9A-Z (0..35), or -1. */
static int val36(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return -1;
}

/* Value in the GB 32100 alphabet (0..30), or -1. */
static int val_uscc(unsigned char c)
{
    if (c == 0)
        return -1; /* strchr would find the terminator */
    const char *p = strchr(uscc_abc, c);
    return p ? (int)(p - uscc_abc) : -1;
}

/* A character for an error detail: 'A' when printable ASCII, else its byte
 * value, so that control bytes and UTF-8 never garble the one-line detail. */
struct shown {
    char s[16];
};

static struct shown show(unsigned char c)
{
    struct shown r;
    if (c >= 0x20 && c < 0x7f)
        snprintf(r.s, sizeof r.s, "'%c'", c);
    else
        snprintf(r.s, sizeof r.s, "byte 0x%02X", c);
    return r;
}

static ecert_status too_long(size_t len)
{
    return err_set(ECERT_E_TOO_LONG, "%zu bytes, the limit for an identifier is %d", len,
                   IDS_MAX_LEN);
}

/* Detail for a character outside 0-9A-Z in `what` at 1-based `pos`. */
static ecert_status bad_alnum(const char *what, size_t pos, unsigned char c)
{
    if (is_lower(c))
        return err_set(ECERT_E_MALFORMED,
                       "%s character %zu is lowercase %s; identifiers use 0-9 A-Z", what, pos,
                       show(c).s);
    return err_set(ECERT_E_MALFORMED, "%s character %zu is %s, expected 0-9 or A-Z", what, pos,
                   show(c).s);
}

static ecert_status bad_digit(const char *what, size_t pos, unsigned char c)
{
    return err_set(ECERT_E_MALFORMED, "%s character %zu is %s, expected a digit", what, pos,
                   show(c).s);
}

/* ===================================================================== */
/* Check characters                                                       */

/* ISO/IEC 7064 hybrid system MOD 37,36: P starts at M = 36; for each
 * character S = (P + value) mod 36 (0 counts as 36), P = 2S mod 37. The check
 * character a makes (P + a) mod 36 = 1. It detects every single substitution
 * (and most, not all, adjacent transpositions). */
char ids_mod37_36(const char *s, size_t len)
{
    unsigned p = 36;
    for (size_t i = 0; i < len; i++) {
        int v = val36((unsigned char)s[i]);
        if (v < 0)
            return 0;
        unsigned t = (p + (unsigned)v) % 36;
        if (t == 0)
            t = 36;
        p = (t * 2) % 37; /* 1..36: 37 is prime, so never 0 */
    }
    return alnum36[(37 - p) % 36];
}

char ids_citizen_check_char(const char *s, size_t len)
{
    static const unsigned char w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    if (len != 17)
        return 0;
    unsigned sum = 0;
    for (size_t i = 0; i < 17; i++) {
        if (!is_digit((unsigned char)s[i]))
            return 0;
        sum += (unsigned)(s[i] - '0') * w[i];
    }
    return "10X98765432"[sum % 11];
}

char ids_uscc_check_char(const char *s, size_t len)
{
    static const unsigned char w[17] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                        29, 25, 13, 8,  24, 10, 30, 28};
    if (len != 17)
        return 0;
    unsigned sum = 0;
    for (size_t i = 0; i < 17; i++) {
        int v = val_uscc((unsigned char)s[i]);
        if (v < 0)
            return 0;
        sum += (unsigned)v * w[i];
    }
    return uscc_abc[(31 - sum % 31) % 31];
}

char ids_orgcode_check_char(const char *s, size_t len)
{
    static const unsigned char w[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    if (len != 8)
        return 0;
    unsigned sum = 0;
    for (size_t i = 0; i < 8; i++) {
        int v = val36((unsigned char)s[i]);
        if (v < 0)
            return 0;
        sum += (unsigned)v * w[i];
    }
    unsigned c = 11 - sum % 11; /* 1..11 */
    return c == 10 ? 'X' : c == 11 ? '0' : (char)('0' + c);
}

/* ===================================================================== */
/* Dates                                                                  */

static bool is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned char d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

static unsigned digits_value(const char *s, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

uint32_t ids_today(void)
{
    /* China has one time zone and no daylight saving: its date is the UTC
     * date of now + 8 h, whatever the host's TZ says. */
    time_t t = time(NULL) + 8 * 3600;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return 99991231; /* no clock: do not reject real people */
    return (uint32_t)(tm.tm_year + 1900) * 10000u + (uint32_t)(tm.tm_mon + 1) * 100u +
           (uint32_t)tm.tm_mday;
}

/* An 8-digit YYYYMMDD birth date (digits already checked): a calendar date
 * between 1900-01-01 and `today`. The year is not echoed (personal data). */
static ecert_status check_birth(const char *d, uint32_t today)
{
    unsigned y = digits_value(d, 4), m = digits_value(d + 4, 2), day = digits_value(d + 6, 2);
    if (y < 1900)
        return err_set(ECERT_E_MALFORMED, "birth year is before 1900");
    if (m < 1 || m > 12)
        return err_set(ECERT_E_MALFORMED, "birth month %02u does not exist", m);
    if (day < 1 || day > days_in_month(y, m)) {
        if (m == 2 && day == 29)
            return err_set(ECERT_E_MALFORMED, "birth date is 29 February of a non-leap year");
        return err_set(ECERT_E_MALFORMED, "birth day %02u does not exist in month %02u", day, m);
    }
    if ((uint32_t)(y * 10000 + m * 100 + day) > today)
        return err_set(ECERT_E_MALFORMED, "birth date is in the future");
    return ECERT_OK;
}

/* ===================================================================== */
/* 公民身份号码                                                             */

/* The validation proper, with a bare detail (callers add what it was). */
static ecert_status citizen_validate(const char *s, size_t len, uint32_t today, bool lower_x)
{
    if (len > IDS_MAX_LEN)
        return too_long(len);
    if (len != IDS_CODE_LEN)
        return err_set(ECERT_E_MALFORMED, "%zu characters, expected 18", len);
    for (size_t i = 0; i < 17; i++)
        if (!is_digit((unsigned char)s[i]))
            return err_set(ECERT_E_MALFORMED, "character %zu is %s, expected a digit", i + 1,
                           show((unsigned char)s[i]).s);
    /* Region codes (GB/T 2260) start 1-8: 1 north ... 6 north-west, 7
     * Taiwan, 8 Hong Kong/Macao/Taiwan residence permits. 9 is the
     * foreigner's permanent residence card, another holder type. */
    if (s[0] < '1' || s[0] > '8')
        return err_set(ECERT_E_MALFORMED, "region code starts with '%c', expected 1-8", s[0]);
    ecert_status st = check_birth(s + 6, today);
    if (st)
        return st;
    char want = ids_citizen_check_char(s, 17);
    unsigned char c = (unsigned char)s[17];
    if (c == 'x' && want == 'X') {
        if (lower_x)
            return ECERT_OK;
        return err_set(ECERT_E_MALFORMED,
                       "check character is lowercase 'x'; GB 11643 writes it as 'X'");
    }
    if (c != (unsigned char)want)
        return err_set(ECERT_E_MALFORMED, "check character is %s, expected '%c'", show(c).s, want);
    return ECERT_OK;
}

ecert_status ids_citizen_check_on(const char *s, size_t len, uint32_t today)
{
    ecert_status st = citizen_validate(s, len, today, false);
    return st ? err_wrap(st, "公民身份号码") : ECERT_OK;
}

ecert_status ids_citizen_check(const char *s, size_t len)
{
    return ids_citizen_check_on(s, len, ids_today());
}

ecert_status ids_citizen_normalize(const char *s, size_t len, char out[IDS_CODE_LEN + 1])
{
    ecert_status st = citizen_validate(s, len, ids_today(), true);
    if (st) {
        out[0] = 0;
        return err_wrap(st, "公民身份号码");
    }
    memcpy(out, s, IDS_CODE_LEN);
    if (out[17] == 'x')
        out[17] = 'X';
    out[IDS_CODE_LEN] = 0;
    return ECERT_OK;
}

/* ===================================================================== */
/* 统一社会信用代码                                                         */

static ecert_status uscc_validate(const char *s, size_t len)
{
    if (len > IDS_MAX_LEN)
        return too_long(len);
    if (len != IDS_CODE_LEN)
        return err_set(ECERT_E_MALFORMED, "%zu characters, expected 18", len);
    for (size_t i = 0; i < IDS_CODE_LEN; i++) {
        unsigned char c = (unsigned char)s[i];
        if (val_uscc(c) >= 0)
            continue;
        if (is_lower(c))
            return err_set(ECERT_E_MALFORMED, "character %zu is lowercase %s; codes are uppercase",
                           i + 1, show(c).s);
        if (c == 'I' || c == 'O' || c == 'S' || c == 'V' || c == 'Z')
            return err_set(ECERT_E_MALFORMED,
                           "character %zu is %s, which GB 32100 does not use (no I O S V Z)", i + 1,
                           show(c).s);
        return err_set(ECERT_E_MALFORMED, "character %zu is %s, not in the GB 32100 alphabet",
                       i + 1, show(c).s);
    }
    for (size_t i = 2; i < 8; i++)
        if (!is_digit((unsigned char)s[i]))
            return bad_digit("region code (characters 3-8):", i + 1, (unsigned char)s[i]);
    char want = ids_uscc_check_char(s, 17);
    if (s[17] != want)
        return err_set(ECERT_E_MALFORMED, "check character is %s, expected '%c'",
                       show((unsigned char)s[17]).s, want);
    return ECERT_OK;
}

ecert_status ids_uscc_check(const char *s, size_t len)
{
    ecert_status st = uscc_validate(s, len);
    return st ? err_wrap(st, "统一社会信用代码") : ECERT_OK;
}

ecert_status ids_orgcode_check(const char *s, size_t len)
{
    if (len > IDS_MAX_LEN)
        return too_long(len);
    if (len != IDS_ORGCODE_LEN)
        return err_set(ECERT_E_MALFORMED, "组织机构代码: %zu characters, expected 9", len);
    for (size_t i = 0; i < 8; i++)
        if (val36((unsigned char)s[i]) < 0)
            return bad_alnum("组织机构代码", i + 1, (unsigned char)s[i]);
    char want = ids_orgcode_check_char(s, 8);
    if (s[8] != want)
        return err_set(ECERT_E_MALFORMED, "组织机构代码: check character is %s, expected '%c'",
                       show((unsigned char)s[8]).s, want);
    return ECERT_OK;
}

/* ===================================================================== */
/* Regions                                                                */

const char *ids_region_province(const char *region, size_t len)
{
    if (!region || len != IDS_REGION_LEN)
        return NULL;
    for (size_t i = 0; i < IDS_REGION_LEN; i++)
        if (!is_digit((unsigned char)region[i]))
            return NULL;
    if (region[0] != '3')
        return NULL;
    switch (region[1]) {
    case '1':
        return "310000";
    case '2':
        return "320000";
    case '3':
        return "330000";
    case '4':
        return "340000";
    default:
        return NULL;
    }
}

void ids_cert_region(const struct cert_id *id, char region[IDS_REGION_LEN + 1])
{
    memcpy(region, id->issuer + 2, IDS_REGION_LEN);
    region[IDS_REGION_LEN] = 0;
}

/* ===================================================================== */
/* Certificate identifier                                                 */

/* One part of an identifier, as a slice of the input. */
struct part {
    const char *p;
    size_t n;
};

enum { P_TYPE, P_ISSUER, P_SERIAL, P_VERSION, P_COUNT };

/* Checks the four parts that the check character covers. The issuer must be
 * a valid USCC: real identifiers all carry one, and the owning province is
 * read from it. The type code's USCC prefix is only checked for its
 * alphabet: a wrong check character there would reject a whole certificate
 * type, and the MOD 37,36 character already catches typing errors. */
static ecert_status check_parts(const struct part *pt)
{
    const struct part *t = &pt[P_TYPE];
    if (t->n != IDS_TYPE_CODE_LEN)
        return err_set(ECERT_E_MALFORMED, "type code is %zu characters, expected 21", t->n);
    for (size_t i = 0; i < 18; i++)
        if (val36((unsigned char)t->p[i]) < 0)
            return bad_alnum("type code", i + 1, (unsigned char)t->p[i]);
    for (size_t i = 18; i < IDS_TYPE_CODE_LEN; i++)
        if (!is_digit((unsigned char)t->p[i]))
            return bad_digit("type code", i + 1, (unsigned char)t->p[i]);

    ecert_status st = uscc_validate(pt[P_ISSUER].p, pt[P_ISSUER].n);
    if (st)
        return err_wrap(st, "issuer code");

    const struct part *s = &pt[P_SERIAL];
    if (s->n == 0)
        return err_set(ECERT_E_MALFORMED, "serial is empty");
    if (s->n > IDS_SERIAL_MAX)
        return err_set(ECERT_E_MALFORMED, "serial is %zu characters, limit 32", s->n);
    for (size_t i = 0; i < s->n; i++)
        if (val36((unsigned char)s->p[i]) < 0)
            return bad_alnum("serial", i + 1, (unsigned char)s->p[i]);

    const struct part *v = &pt[P_VERSION];
    if (v->n != IDS_VERSION_LEN)
        return err_set(ECERT_E_MALFORMED, "version is %zu characters, expected 3 digits", v->n);
    for (size_t i = 0; i < IDS_VERSION_LEN; i++)
        if (!is_digit((unsigned char)v->p[i]))
            return bad_digit("version", i + 1, (unsigned char)v->p[i]);
    return ECERT_OK;
}

/* MOD 37,36 over type ‖ issuer ‖ serial ‖ version (valid parts). */
static char parts_check_char(const struct part *pt)
{
    char body[IDS_TYPE_CODE_LEN + IDS_CODE_LEN + IDS_SERIAL_MAX + IDS_VERSION_LEN];
    size_t n = 0;
    for (int i = 0; i < P_COUNT; i++) {
        memcpy(body + n, pt[i].p, pt[i].n);
        n += pt[i].n;
    }
    return ids_mod37_36(body, n);
}

static void copy_part(char *dst, const struct part *p)
{
    memcpy(dst, p->p, p->n);
    dst[p->n] = 0;
}

ecert_status ids_cert_parse(const char *s, size_t len, struct cert_id *out)
{
    static const char root[] = IDS_CERT_ROOT ".";
    if (out)
        memset(out, 0, sizeof *out);
    if (len > IDS_MAX_LEN)
        return too_long(len);
    if (len == 0)
        return err_set(ECERT_E_MALFORMED, "certificate identifier is empty");
    if (len < sizeof root - 1 || memcmp(s, root, sizeof root - 1) != 0)
        return err_set(ECERT_E_MALFORMED,
                       "certificate identifier does not start with the root " IDS_CERT_ROOT ".");

    /* Split what follows the root at every '.': exactly five parts. */
    struct part pt[P_COUNT + 1];
    size_t np = 0, start = sizeof root - 1;
    for (size_t i = start; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        if (np == P_COUNT + 1)
            return err_set(ECERT_E_MALFORMED,
                           "certificate identifier has an extra '.' at character %zu "
                           "(expected 5 parts after the root)",
                           start);
        pt[np].p = s + start;
        pt[np].n = i - start;
        np++;
        start = i + 1;
    }
    if (np != P_COUNT + 1)
        return err_set(ECERT_E_MALFORMED,
                       "certificate identifier has %zu parts after the root, expected 5 "
                       "(type code, issuer, serial, version, check)",
                       np);

    ecert_status st = check_parts(pt);
    if (st)
        return st;
    const struct part *c = &pt[P_COUNT];
    if (c->n != 1)
        return err_set(ECERT_E_MALFORMED, "check part is %zu characters, expected 1", c->n);
    if (val36((unsigned char)c->p[0]) < 0)
        return bad_alnum("check", 1, (unsigned char)c->p[0]);
    char want = parts_check_char(pt);
    if (c->p[0] != want)
        return err_set(ECERT_E_MALFORMED, "check character is %s, expected '%c'",
                       show((unsigned char)c->p[0]).s, want);

    if (out) {
        copy_part(out->type_code, &pt[P_TYPE]);
        copy_part(out->issuer, &pt[P_ISSUER]);
        copy_part(out->serial, &pt[P_SERIAL]);
        copy_part(out->version, &pt[P_VERSION]);
        out->check = want;
    }
    return ECERT_OK;
}

/* The parts of a struct cert_id as slices; a field without its NUL is
 * reported as over-long rather than read past. */
static void struct_parts(const struct cert_id *id, struct part *pt)
{
    pt[P_TYPE] = (struct part){id->type_code, strnlen(id->type_code, sizeof id->type_code)};
    pt[P_ISSUER] = (struct part){id->issuer, strnlen(id->issuer, sizeof id->issuer)};
    pt[P_SERIAL] = (struct part){id->serial, strnlen(id->serial, sizeof id->serial)};
    pt[P_VERSION] = (struct part){id->version, strnlen(id->version, sizeof id->version)};
}

ecert_status ids_cert_format(const struct cert_id *id, char *out, size_t cap, size_t *out_len)
{
    if (!id || !out)
        return err_set(ECERT_E_ARG, "ids_cert_format: NULL argument");
    struct part pt[P_COUNT];
    struct_parts(id, pt);
    ecert_status st = check_parts(pt);
    if (st)
        return st;
    size_t need = IDS_CERT_ROOT_LEN + pt[P_TYPE].n + pt[P_ISSUER].n + pt[P_SERIAL].n +
                  pt[P_VERSION].n + 5 /* dots */ + 1 /* check */;
    if (cap < need + 1)
        return err_set(ECERT_E_ARG, "output holds %zu bytes, the identifier needs %zu", cap,
                       need + 1);
    size_t n = IDS_CERT_ROOT_LEN;
    memcpy(out, IDS_CERT_ROOT, n);
    for (int i = 0; i < P_COUNT; i++) {
        out[n++] = '.';
        memcpy(out + n, pt[i].p, pt[i].n);
        n += pt[i].n;
    }
    out[n++] = '.';
    out[n++] = parts_check_char(pt);
    out[n] = 0;
    if (out_len)
        *out_len = n;
    return ECERT_OK;
}

/* ===================================================================== */
/* Generation (sample data)                                               */

/* Uniform in [0, n): rejection sampling removes the modulo bias; the bound
 * on attempts keeps a broken source (say, always 0xFFFFFFFF) from looping
 * forever, at the price of a slight bias in that pathological case. */
static unsigned rnd_below(ids_rand_fn rnd, void *ctx, unsigned n)
{
    uint32_t limit = (UINT32_MAX / n) * n;
    uint32_t r = rnd(ctx);
    for (int tries = 0; r >= limit && tries < 64; tries++)
        r = rnd(ctx);
    return r % n;
}

ecert_status ids_cert_generate(struct cert_id *id, size_t serial_len, ids_rand_fn rnd, void *ctx)
{
    if (!id || !rnd)
        return err_set(ECERT_E_ARG, "ids_cert_generate: NULL argument");
    if (serial_len < 1 || serial_len > IDS_SERIAL_MAX)
        return err_set(ECERT_E_ARG, "serial length %zu, expected 1-32", serial_len);
    /* Digits only: the serials seen in real identifiers are numbers. */
    for (size_t i = 0; i < serial_len; i++)
        id->serial[i] = (char)('0' + rnd_below(rnd, ctx, 10));
    id->serial[serial_len] = 0;
    struct part pt[P_COUNT];
    struct_parts(id, pt);
    ecert_status st = check_parts(pt);
    if (st)
        return st;
    id->check = parts_check_char(pt);
    return ECERT_OK;
}

/* A NUL-terminated argument of exactly `n` digits (generator inputs). */
static bool digits_arg(const char *s, size_t n)
{
    if (!s || strnlen(s, n + 1) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit((unsigned char)s[i]))
            return false;
    return true;
}

ecert_status ids_citizen_generate(const char *region, const char *birth, ids_rand_fn rnd, void *ctx,
                                  char out[IDS_CODE_LEN + 1])
{
    out[0] = 0;
    if (!rnd)
        return err_set(ECERT_E_ARG, "ids_citizen_generate: no random source");
    if (!digits_arg(region, IDS_REGION_LEN) || region[0] < '1' || region[0] > '8')
        return err_set(ECERT_E_MALFORMED, "region code must be 6 digits starting 1-8");
    if (!digits_arg(birth, 8))
        return err_set(ECERT_E_MALFORMED, "birth date must be 8 digits YYYYMMDD");
    uint32_t today = ids_today();
    ecert_status st = check_birth(birth, today);
    if (st)
        return st;
    char s[IDS_CODE_LEN + 1];
    memcpy(s, region, 6);
    memcpy(s + 6, birth, 8);
    /* Sequence codes run 001-999; odd for men, even for women. */
    unsigned seq = 1 + rnd_below(rnd, ctx, 999);
    s[14] = (char)('0' + seq / 100);
    s[15] = (char)('0' + seq / 10 % 10);
    s[16] = (char)('0' + seq % 10);
    s[17] = ids_citizen_check_char(s, 17);
    s[18] = 0;
    st = citizen_validate(s, IDS_CODE_LEN, today, false);
    if (st)
        return err_set(ECERT_E_INTERNAL, "generated 公民身份号码 does not validate");
    memcpy(out, s, sizeof s);
    return ECERT_OK;
}

ecert_status ids_uscc_generate(const char *prefix, const char *region, ids_rand_fn rnd, void *ctx,
                               char out[IDS_CODE_LEN + 1])
{
    out[0] = 0;
    if (!rnd)
        return err_set(ECERT_E_ARG, "ids_uscc_generate: no random source");
    if (!prefix)
        prefix = "91";
    if (strnlen(prefix, 3) != 2 || val_uscc((unsigned char)prefix[0]) < 0 ||
        val_uscc((unsigned char)prefix[1]) < 0)
        return err_set(ECERT_E_MALFORMED, "prefix must be 2 characters of the GB 32100 alphabet");
    if (!digits_arg(region, IDS_REGION_LEN))
        return err_set(ECERT_E_MALFORMED, "region code must be 6 digits");
    char s[IDS_CODE_LEN + 1];
    memcpy(s, prefix, 2);
    memcpy(s + 2, region, 6);
    /* The 组织机构代码 looks like real ones: "MA" + 6 characters for
     * enterprises (as market regulators assign since 2015), 8 digits for
     * other bodies; it gets a valid GB 11714 check, so the result also passes
     * validators stricter than ours. */
    size_t i = 8;
    if (prefix[0] == '9') {
        s[i++] = 'M';
        s[i++] = 'A';
    }
    for (; i < 16; i++)
        s[i] = prefix[0] == '9' ? uscc_abc[rnd_below(rnd, ctx, sizeof uscc_abc - 1)]
                                : (char)('0' + rnd_below(rnd, ctx, 10));
    s[16] = ids_orgcode_check_char(s + 8, 8);
    s[17] = ids_uscc_check_char(s, 17);
    s[18] = 0;
    if (uscc_validate(s, IDS_CODE_LEN) != ECERT_OK)
        return err_set(ECERT_E_INTERNAL, "generated 统一社会信用代码 does not validate");
    memcpy(out, s, sizeof s);
    return ECERT_OK;
}

/* ===================================================================== */
/* Classification                                                         */

const char *ids_kind_name(unsigned kind)
{
    if (kind & IDS_KIND_CERT)
        return "certificate identifier";
    if (kind & IDS_KIND_CITIZEN)
        return "公民身份号码";
    if (kind & IDS_KIND_USCC)
        return "统一社会信用代码";
    return "unknown";
}

/* Which one-line reason to give for an 18-character string that is neither
 * code: both reasons, the more likely kind first. */
static ecert_status explain_18(const char *s, ecert_status st_c, const char *d_citizen,
                               ecert_status st_u, const char *d_uscc)
{
    bool digits = true;
    for (size_t i = 0; i < 17; i++)
        digits = digits && is_digit((unsigned char)s[i]);
    ecert_status st = digits ? st_c : st_u;
    if (digits)
        return err_set(st, "not a 公民身份号码 (%s) nor a 统一社会信用代码 (%s)", d_citizen,
                       d_uscc);
    return err_set(st, "not a 统一社会信用代码 (%s) nor a 公民身份号码 (%s)", d_uscc, d_citizen);
}

ecert_status ids_classify(const char *s, size_t len, unsigned *kinds)
{
    unsigned k = 0;
    if (kinds)
        *kinds = 0;
    if (len > IDS_MAX_LEN)
        return too_long(len);
    if (len == 0)
        return err_set(ECERT_E_MALFORMED, "empty identifier");

    ecert_status st;
    /* A dot can only be a certificate identifier: report its own reason. */
    if (memchr(s, '.', len)) {
        st = ids_cert_parse(s, len, NULL);
        if (st)
            return st;
        k = IDS_KIND_CERT;
    } else if (len == IDS_CODE_LEN) {
        char d_citizen[200], d_uscc[200];
        ecert_status st_c = citizen_validate(s, len, ids_today(), false);
        snprintf(d_citizen, sizeof d_citizen, "%s", err_detail());
        ecert_status st_u = uscc_validate(s, len);
        snprintf(d_uscc, sizeof d_uscc, "%s", err_detail());
        if (st_c == ECERT_OK)
            k |= IDS_KIND_CITIZEN;
        if (st_u == ECERT_OK)
            k |= IDS_KIND_USCC;
        if (!k)
            return explain_18(s, st_c, d_citizen, st_u, d_uscc);
    } else {
        return err_set(ECERT_E_MALFORMED,
                       "%zu characters without '.': not a certificate identifier "
                       "(" IDS_CERT_ROOT ".…), and not an 18-character "
                       "公民身份号码 or 统一社会信用代码",
                       len);
    }
    err_clear();
    if (kinds)
        *kinds = k;
    return ECERT_OK;
}

ecert_status ids_holder_check(const char *type, size_t type_len, const char *code, size_t code_len)
{
    if (type_len != 3 || !is_digit((unsigned char)type[0]) || !is_digit((unsigned char)type[1]) ||
        !is_digit((unsigned char)type[2]))
        return err_set(ECERT_E_MALFORMED, "holder code type must be 3 digits (GB/T 36903)");
    if (memcmp(type, "111", 3) == 0)
        return ids_citizen_check(code, code_len);
    if (memcmp(type, "001", 3) == 0)
        return ids_uscc_check(code, code_len);
    /* Other holder types (passports, 军官证 numbers with Chinese text, ...)
     * are stored as given: only bounded and free of control bytes. */
    if (code_len > IDS_MAX_LEN)
        return too_long(code_len);
    if (code_len == 0)
        return err_set(ECERT_E_MALFORMED, "holder code is empty");
    for (size_t i = 0; i < code_len; i++) {
        unsigned char c = (unsigned char)code[i];
        if (c < 0x20 || c == 0x7f)
            return err_set(ECERT_E_MALFORMED, "holder code character %zu is a control byte 0x%02X",
                           i + 1, c);
    }
    return ECERT_OK;
}
