/*
 * fuzz_ids.c — arbitrary bytes into every identifier parser (src/codes/ids.c).
 *
 * Besides memory errors it checks properties, abort()ing on a violation:
 *   - a certificate identifier that parses formats back to the same bytes,
 *     and its parts re-parse to the same struct;
 *   - ids_classify agrees with the individual validators;
 *   - a valid 公民身份号码 normalises to itself;
 *   - statuses are only OK, 1003 (over 128 bytes) or 1004;
 *   - with the input as their random source, the generators' output is valid.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codes/ids.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond)
{
    if (!cond)
        abort();
}

static void status_ok(ecert_status st, size_t size)
{
    if (size > IDS_MAX_LEN)
        require(st == ECERT_E_TOO_LONG);
    else
        require(st == ECERT_OK || st == ECERT_E_MALFORMED);
}

/* The input's bytes as the generators' random source (cycled). */
struct byte_src {
    const uint8_t *p;
    size_t n, i;
};

static uint32_t from_bytes(void *ctx)
{
    struct byte_src *b = ctx;
    uint32_t v = 0;
    for (int k = 0; k < 4 && b->n; k++)
        v = v << 8 | b->p[b->i++ % b->n];
    return v;
}

/* Generators: whatever the random source and the (NUL-terminated) region
 * and birth arguments, the result is valid or the call fails with 1004. */
static void fuzz_generators(const uint8_t *data, size_t size)
{
    struct byte_src src = {data, size, 0};
    char arg[9] = {0};
    memcpy(arg, data, size < 8 ? size : 8);
    char out[IDS_CODE_LEN + 1];

    ecert_status st = ids_uscc_generate(NULL, arg, from_bytes, &src, out);
    require(st == ECERT_OK || st == ECERT_E_MALFORMED);
    if (st == ECERT_OK)
        require(ids_uscc_check(out, strlen(out)) == ECERT_OK);
    require(ids_uscc_generate("12", "310000", from_bytes, &src, out) == ECERT_OK);
    require(ids_uscc_check(out, strlen(out)) == ECERT_OK);
    require(ids_orgcode_check(out + 8, IDS_ORGCODE_LEN) == ECERT_OK);

    st = ids_citizen_generate("310104", arg, from_bytes, &src, out);
    require(st == ECERT_OK || st == ECERT_E_MALFORMED);
    if (st == ECERT_OK)
        require(ids_citizen_check(out, strlen(out)) == ECERT_OK);
    require(ids_citizen_generate("320102", "20000229", from_bytes, &src, out) == ECERT_OK);
    require(ids_citizen_check(out, strlen(out)) == ECERT_OK);

    struct cert_id id;
    memset(&id, 0, sizeof id);
    memcpy(id.type_code, "11100000000013338W001", IDS_TYPE_CODE_LEN);
    memcpy(id.issuer, "11330105002500287C", IDS_CODE_LEN);
    memcpy(id.version, "002", IDS_VERSION_LEN);
    require(ids_cert_generate(&id, 1 + size % IDS_SERIAL_MAX, from_bytes, &src) == ECERT_OK);
    char text[IDS_CERT_MAX_LEN + 1];
    size_t n;
    require(ids_cert_format(&id, text, sizeof text, &n) == ECERT_OK);
    struct cert_id back;
    require(ids_cert_parse(text, n, &back) == ECERT_OK && memcmp(&back, &id, sizeof id) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;

    struct cert_id id;
    ecert_status st_cert = ids_cert_parse(s, size, &id);
    status_ok(st_cert, size);
    if (st_cert == ECERT_OK) {
        char out[IDS_CERT_MAX_LEN + 1];
        size_t n = 0;
        require(ids_cert_format(&id, out, sizeof out, &n) == ECERT_OK);
        require(n == size && memcmp(out, s, n) == 0 && out[n] == 0);
        require(id.check == s[size - 1]);
        struct cert_id again;
        require(ids_cert_parse(out, n, &again) == ECERT_OK);
        require(memcmp(&again, &id, sizeof id) == 0);
        char region[IDS_REGION_LEN + 1];
        ids_cert_region(&id, region);
        (void)ids_region_province(region, IDS_REGION_LEN);
    }

    ecert_status st_cit = ids_citizen_check(s, size);
    status_ok(st_cit, size);
    char norm[IDS_CODE_LEN + 1];
    ecert_status st_norm = ids_citizen_normalize(s, size, norm);
    status_ok(st_norm, size);
    if (st_cit == ECERT_OK)
        require(st_norm == ECERT_OK && memcmp(norm, s, IDS_CODE_LEN) == 0);
    if (st_norm == ECERT_OK)
        require(ids_citizen_check(norm, IDS_CODE_LEN) == ECERT_OK);

    ecert_status st_uscc = ids_uscc_check(s, size);
    status_ok(st_uscc, size);
    status_ok(ids_orgcode_check(s, size), size);

    unsigned kinds = 0;
    ecert_status st = ids_classify(s, size, &kinds);
    status_ok(st, size);
    require((st == ECERT_OK) == (kinds != 0));
    require(!!(kinds & IDS_KIND_CERT) == (st_cert == ECERT_OK));
    require(!!(kinds & IDS_KIND_CITIZEN) == (st_cit == ECERT_OK));
    require(!!(kinds & IDS_KIND_USCC) == (st_uscc == ECERT_OK));

    if (size <= IDS_MAX_LEN) {
        char c = ids_mod37_36(s, size);
        require(c == 0 || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'));
    }
    (void)ids_citizen_check_char(s, size);
    (void)ids_uscc_check_char(s, size);
    (void)ids_orgcode_check_char(s, size);
    (void)ids_region_province(s, size);

    /* Holder codes: the first 3 bytes as the type, the rest as the code. */
    if (size >= 3) {
        ecert_status sh = ids_holder_check(s, 3, s + 3, size - 3);
        require(sh == ECERT_OK || sh == ECERT_E_MALFORMED || sh == ECERT_E_TOO_LONG);
    }
    fuzz_generators(data, size);
    return 0;
}
