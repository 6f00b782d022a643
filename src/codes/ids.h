/*
 * ids.h — identifiers and their check characters (SPEC §2):
 *
 *   - 电子证照标识, the certificate identifier of GB/T 36904
 *       1.2.156.3005.2.<type code 21>.<issuer USCC 18>.<serial 1-32>.<version 3>.<check>
 *     check character: ISO/IEC 7064 MOD 37,36 over type‖issuer‖serial‖version;
 *   - 公民身份号码 (GB 11643-1999, holder type 111): 17 digits + MOD 11-2 check;
 *   - 统一社会信用代码 (GB 32100-2015, holder type 001): 17 chars + MOD 31 check.
 *
 * Every validating function takes (s, len) and never reads past len, so it can
 * be handed untrusted bytes that are not NUL-terminated. Input longer than
 * IDS_MAX_LEN fails with ECERT_E_TOO_LONG; anything else that is not a valid
 * code fails with ECERT_E_MALFORMED (1004), with a one-line detail saying what
 * and where (err_detail()). Details give positions and expected characters,
 * never a whole 公民身份号码 (personal data).
 *
 * Decisions (see docs/codes.md): input is case-sensitive (uppercase only); the
 * issuer inside a certificate identifier must be a valid USCC; the type code's
 * USCC prefix and the 组织机构代码 embedded in a USCC are not enforced.
 */
#ifndef ECERT_CODES_IDS_H
#define ECERT_CODES_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

/* Longest input any function here looks at; more is ECERT_E_TOO_LONG. */
#define IDS_MAX_LEN 128

#define IDS_CERT_ROOT "1.2.156.3005.2"
#define IDS_CERT_ROOT_LEN 14
#define IDS_TYPE_CODE_LEN 21 /* USCC of the defining body + 3 digits */
#define IDS_CODE_LEN 18      /* USCC and 公民身份号码 */
#define IDS_SERIAL_MAX 32
#define IDS_VERSION_LEN 3
#define IDS_ORGCODE_LEN 9 /* 组织机构代码 (GB 11714): 8 chars + check */
#define IDS_REGION_LEN 6
/* Longest valid certificate identifier (94), without the NUL. */
#define IDS_CERT_MAX_LEN                                                                           \
    (IDS_CERT_ROOT_LEN + 1 + IDS_TYPE_CODE_LEN + 1 + IDS_CODE_LEN + 1 + IDS_SERIAL_MAX + 1 +       \
     IDS_VERSION_LEN + 1 + 1)

/* A certificate identifier split into its parts; each part NUL-terminated. */
struct cert_id {
    char type_code[IDS_TYPE_CODE_LEN + 1]; /* 证照类型代码 */
    char issuer[IDS_CODE_LEN + 1];         /* 颁发机构 统一社会信用代码 */
    char serial[IDS_SERIAL_MAX + 1];       /* 证照编号 (1-32 of [0-9A-Z]) */
    char version[IDS_VERSION_LEN + 1];     /* 版本号, 3 digits */
    char check;                            /* MOD 37,36 check character */
};

/* Random source for the generators: any uniformly distributed 32-bit value.
 * The module itself needs no crypto; callers pass a CSPRNG or, in tests, a
 * seeded PRNG. */
typedef uint32_t (*ids_rand_fn)(void *ctx);

/* ---- check characters ---------------------------------------------------
 * Each returns the check character for `s`, or 0 when `len` is wrong or a
 * character is outside the algorithm's alphabet. */

/* ISO/IEC 7064 MOD 37,36 (hybrid, M = 36) over any number of [0-9A-Z]. */
char ids_mod37_36(const char *s, size_t len);
/* GB 11643 MOD 11-2 over the 17 leading digits: '0'-'9' or 'X'. */
char ids_citizen_check_char(const char *s, size_t len);
/* GB 32100 MOD 31 over the 17 leading characters. */
char ids_uscc_check_char(const char *s, size_t len);
/* GB 11714 MOD 11 over the 8 leading characters: '0'-'9' or 'X'. */
char ids_orgcode_check_char(const char *s, size_t len);

/* ---- certificate identifier (GB/T 36904) -------------------------------- */

/* Parses and fully validates; `out` may be NULL (validation only). On
 * failure `out` is zeroed. */
ecert_status ids_cert_parse(const char *s, size_t len, struct cert_id *out);
/* Validates the parts of `id` and writes the identifier, NUL-terminated, with
 * the check character computed from the parts (id->check is not read).
 * `cap` must be at least IDS_CERT_MAX_LEN + 1 to fit every identifier;
 * `out_len` may be NULL. */
ecert_status ids_cert_format(const struct cert_id *id, char *out, size_t cap, size_t *out_len);
/* Fills id->serial with `serial_len` (1-32) random digits and id->check;
 * type_code, issuer and version must be set and valid. */
ecert_status ids_cert_generate(struct cert_id *id, size_t serial_len, ids_rand_fn rnd, void *ctx);
/* The issuer's region code (USCC characters 3-8), NUL-terminated. */
void ids_cert_region(const struct cert_id *id, char region[IDS_REGION_LEN + 1]);

/* Province of a 6-digit region code, by its first two digits: "310000",
 * "320000", "330000" or "340000"; NULL when the code is malformed or lies
 * outside the Yangtze River Delta ("none"). */
const char *ids_region_province(const char *region, size_t len);

/* ---- 公民身份号码 (GB 11643, holder type 111) ----------------------------- */

/* Validates: 17 digits, region first digit 1-8, birth date a real calendar
 * date from 1900-01-01 to today (China time, UTC+8), check digit. An
 * uppercase 'X' only; see ids_citizen_normalize for user input. */
ecert_status ids_citizen_check(const char *s, size_t len);
/* As ids_citizen_check, with "today" given as YYYYMMDD (tests, generation). */
ecert_status ids_citizen_check_on(const char *s, size_t len, uint32_t today);
/* For input typed by people: accepts a lowercase 'x' check character, then
 * validates and writes the canonical (uppercase) form to `out`. */
ecert_status ids_citizen_normalize(const char *s, size_t len, char out[IDS_CODE_LEN + 1]);
/* A valid number for `region` (6 digits, first 1-8) and `birth` (YYYYMMDD,
 * a valid birth date), NUL-terminated strings, with a random sequence code. */
ecert_status ids_citizen_generate(const char *region, const char *birth, ids_rand_fn rnd, void *ctx,
                                  char out[IDS_CODE_LEN + 1]);
/* Today's date in China (UTC+8) as YYYYMMDD. */
uint32_t ids_today(void);

/* ---- 统一社会信用代码 (GB 32100, holder type 001) ------------------------- */

/* Validates: 18 chars of 0-9 A-H J-N P-R T U W-Y, region code (3-8) digits,
 * check character. The embedded 组织机构代码 is not checked (see
 * ids_orgcode_check). */
ecert_status ids_uscc_check(const char *s, size_t len);
/* Validates a 9-character 组织机构代码 (GB 11714), e.g. USCC characters 9-17. */
ecert_status ids_orgcode_check(const char *s, size_t len);
/* A valid code: `prefix` (2 chars: registration authority + organisation
 * type; NULL means "91", an enterprise), `region` (6 digits), a random
 * 组织机构代码 with a valid GB 11714 check, and the check character. */
ecert_status ids_uscc_generate(const char *prefix, const char *region, ids_rand_fn rnd, void *ctx,
                               char out[IDS_CODE_LEN + 1]);

/* ---- what is this string? ----------------------------------------------- */

enum ids_kind {
    IDS_KIND_CERT = 1u,    /* certificate identifier */
    IDS_KIND_CITIZEN = 2u, /* 公民身份号码 (111) */
    IDS_KIND_USCC = 4u,    /* 统一社会信用代码 (001) */
};

/* Sets *kinds to the OR of every kind `s` is valid as (an all-digit 18-char
 * string can be both a 公民身份号码 and a USCC) and returns ECERT_OK; when it
 * is none, *kinds = 0 and the detail says why it fails as the kind(s) it
 * resembles. */
ecert_status ids_classify(const char *s, size_t len, unsigned *kinds);
/* "certificate identifier", "公民身份号码", "统一社会信用代码" (lowest bit set). */
const char *ids_kind_name(unsigned kind);

/* A holder code for its holder code type (GB/T 36903): "111" and "001" are
 * validated; any other 3-digit type accepts 1-128 printable ASCII bytes. */
ecert_status ids_holder_check(const char *type, size_t type_len, const char *code, size_t code_len);

#endif
