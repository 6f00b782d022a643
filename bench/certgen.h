/*
 * certgen.h — deterministic synthetic certificates in the `ecert cert import`
 * format (docs/store.md), for bench_scale and the import fault tests.
 *
 * Certificate k (0-based) belongs to holder k / CERTGEN_PER_HOLDER, whose
 * 公民身份号码 is built from the holder index (region, birth date, sequence,
 * check digit), so every holder code is distinct and valid for up to ~70
 * million holders. Its CertificateID carries k as the serial (unique), its
 * number is "N<k>", and its file is `file_bytes` pseudo-random bytes seeded by
 * k (incompressible, like real OFD/PDF files). Everything validates the way
 * the importer checks it. Header-only (static functions): each user compiles
 * its own copy.
 */
#ifndef ECERT_BENCH_CERTGEN_H
#define ECERT_BENCH_CERTGEN_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "codes/ids.h"
#include "common/buf.h"
#include "common/codec.h"

#define CERTGEN_PER_HOLDER 3
#define CERTGEN_FILE_MAX (1u << 20)
#define CERTGEN_ISSUER "113100000096364432"

static const struct {
    const char *code, *name;
} certgen_types[CERTGEN_PER_HOLDER] = {
    {"11100000000013338W032", "结婚证"},
    {"11100000000013338W011", "不动产权证书"},
    {"11100000000013338W021", "机动车驾驶证"},
};

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void certgen_civil(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400) + (*m <= 2);
}

/* The 公民身份号码 of holder h: one of four regions, a birth date from
 * 1950-01-01 on (18,000 days), a sequence 001-999, the check digit. */
static void certgen_holder(uint64_t h, char out[IDS_CODE_LEN + 1])
{
    static const char *const regions[] = {"310104", "320102", "330106", "340104"};
    unsigned seq = 1 + (unsigned)(h % 999);
    uint64_t day = (h / 999) % 18000;
    const char *region = regions[(h / (999 * 18000)) % 4];
    int y;
    unsigned m, d;
    certgen_civil(-7305 + (int64_t)day, &y, &m, &d); /* -7305: 1950-01-01 */
    snprintf(out, IDS_CODE_LEN + 1, "%s%04d%02u%02u%03u", region, y, m, d, seq);
    out[17] = ids_citizen_check_char(out, 17);
    out[18] = 0;
}

static void certgen_id(uint64_t k, char *out, size_t cap)
{
    struct cert_id id;
    memset(&id, 0, sizeof id);
    memcpy(id.type_code, certgen_types[k % CERTGEN_PER_HOLDER].code, IDS_TYPE_CODE_LEN + 1);
    memcpy(id.issuer, CERTGEN_ISSUER, IDS_CODE_LEN + 1);
    snprintf(id.serial, sizeof id.serial, "%012" PRIu64, k);
    memcpy(id.version, "001", 4);
    if (ids_cert_format(&id, out, cap, NULL) != ECERT_OK)
        out[0] = 0;
}

/* The file of certificate k (xorshift64 seeded by k). */
static void certgen_file(uint64_t k, uint8_t *out, size_t n)
{
    uint64_t x = k * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out[i] = (uint8_t)(x >> 24);
    }
}

/* Appends certificate k as one JSON line (with its '\n'); `scratch` must hold
 * BASE64_ENCODED_LEN(file_bytes) + 1 + file_bytes bytes. */
static ecert_status certgen_line(uint64_t k, size_t file_bytes, char *scratch, struct buf *out)
{
    char id[IDS_CERT_MAX_LEN + 1], holder[IDS_CODE_LEN + 1];
    certgen_id(k, id, sizeof id);
    certgen_holder(k / CERTGEN_PER_HOLDER, holder);
    uint8_t *file = (uint8_t *)scratch;
    char *b64 = scratch + file_bytes;
    certgen_file(k, file, file_bytes);
    base64_encode(file, file_bytes, b64, 0);
    int y;
    unsigned m, d;
    certgen_civil(14600 + (int64_t)(k % 3000), &y, &m, &d); /* from 2009-12-22 */
    char issued[16];
    snprintf(issued, sizeof issued, "%04d-%02u-%02u", y, m, d);
    return buf_printf(
        out,
        "{\"CertificateID\":\"%s\",\"CertificateType\":\"%s\",\"CertificateTypeCode\":\"%s\","
        "\"CertificateNumber\":\"N%" PRIu64 "\",\"CertificateHolder\":\"持证人%" PRIu64 "\","
        "\"CertificateHolderCode\":\"%s\",\"CertificateHolderTypeCode\":\"111\","
        "\"CertificateIssuingAuthority\":\"上海市徐汇区民政局\","
        "\"CertificateIssuingAuthorityCode\":\"%s\",\"CertificateIssuedDate\":\"%s\","
        "\"CertificateValidFrom\":\"%s\",\"CertificateValidTo\":\"\","
        "\"CertificateStatus\":\"valid\",\"CertificateAreaCode\":\"%.6s\","
        "\"SurfaceData\":{\"持证人\":\"持证人%" PRIu64 "\",\"证照编号\":\"N%" PRIu64 "\","
        "\"颁发日期\":\"%s\"},\"fileFormat\":\"OFD\",\"fileName\":\"%" PRIu64 ".ofd\","
        "\"fileEntity\":\"%s\"}\n",
        id, certgen_types[k % CERTGEN_PER_HOLDER].name, certgen_types[k % CERTGEN_PER_HOLDER].code,
        k, k / CERTGEN_PER_HOLDER, holder, CERTGEN_ISSUER, issued, issued, holder,
        k / CERTGEN_PER_HOLDER, k, issued, k, b64);
}

#endif
