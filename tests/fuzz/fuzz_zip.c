/*
 * fuzz_zip — the OFD package reader and verifier on arbitrary bytes
 * (src/docs/zipread.c, src/docs/ofd_verify.c, and through them the XML and
 * SES parsers on whatever the package holds).
 *
 * Properties:
 *   - zipread: every entry name is normalised (no leading '/', no '.' or
 *     '..' segment, no backslash, no control character), names are unique,
 *     zipread_find finds each file entry under its own name, and a read entry
 *     is no longer than ZIPREAD_MAX_ENTRY;
 *   - docs_verify returns ECERT_OK, ECERT_E_MALFORMED or ECERT_E_TOO_LONG,
 *     always with result 0 or 1; result 1 only when there is at least one
 *     signature and each has integrity and signature true; result 0 always
 *     carries a reason; every string of the verdict is NUL-terminated inside
 *     its field; the JSON verdict can be built.
 * The bare-SM2 signer of the corpus (ofdrw's USER certificate) is supplied as
 * an extra certificate so that the seed made from it reaches the valid path.
 * A property violation calls abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "crypto/x509_verify.h"
#include "docs/verify.h"
#include "docs/zipread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Packages can be big; the interesting structure is in the first KiB. */
#define MAX_INPUT (256 * 1024)

/* tests/data/corpus/ofd/ses/ofdrw_USER_cert.pem */
static const char user_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICDDCCAbGgAwIBAgIGAXGdLatgMAoGCCqBHM9VAYN1MHUxCzAJBgNVBAYTAkNO\n"
    "MRAwDgYDVQQKDAdPRkQgUiZXMREwDwYDVQQIDAhaaGVqaWFuZzERMA8GA1UEBwwI\n"
    "SGFuZ3pob3UxLjAsBgNVBAMMJU9GRCBSZWFkZXIgYW5kIFdyaXRlclJPT1QgQ2Vy\n"
    "dGlmaWNhdGUwHhcNMjAwNDIxMTQzOTA4WhcNMjIwNDIxMTQzOTA4WjBgMQswCQYD\n"
    "VQQGEwJDTjEQMA4GA1UECgwHT0ZEIFImVzERMA8GA1UECAwIWmhlamlhbmcxETAP\n"
    "BgNVBAcMCEhhbmd6aG91MRkwFwYDVQQDDBBUZXN0IENlcnRpZmljYXRlMFkwEwYH\n"
    "KoZIzj0CAQYIKoEcz1UBgi0DQgAEDNFkk9yFIlSdQJED6tLWZmw65LzG87QsSIWZ\n"
    "t8iekxOcTvYjO9qEstfid2Z78cb1egttMhxkVCz0bDWaRn6KHqNCMEAwCwYDVR0P\n"
    "BAQDAgLEMBMGA1UdJQQMMAoGCCsGAQUFBwMCMAkGA1UdEwQCMAAwEQYJYIZIAYb4\n"
    "QgEBBAQDAgeAMAoGCCqBHM9VAYN1A0kAMEYCIQCoFDb2gG2KVkjx0zo3hARCKmUn\n"
    "XYeiG5JsiWw8oP+7kAIhANMZos2JgB0uD/MuaM64xwLy7hImziPPfECYWerTwHMa\n"
    "-----END CERTIFICATE-----\n";

static struct x509_store *extra;

static _Noreturn void fail(const char *what)
{
    fprintf(stderr, "fuzz_zip: property violated: %s\n", what);
    abort();
}

static void setup(void)
{
    if (extra)
        return;
    if (x509_store_new(&extra) ||
        x509_store_add_pem(extra, user_pem, sizeof user_pem - 1) != ECERT_OK)
        fail("cannot load the fuzz certificate");
}

static void check_string(const char *s, size_t cap, const char *what)
{
    if (!memchr(s, 0, cap))
        fail(what);
}

static void check_names(const uint8_t *data, size_t size)
{
    struct zipread *z = NULL;
    if (zipread_open(data, size, &z) != ECERT_OK) {
        if (z)
            fail("zipread_open failed but returned a handle");
        return;
    }
    size_t n = zipread_count(z);
    if (n > ZIPREAD_MAX_ENTRIES)
        fail("more entries than the limit");
    for (size_t i = 0; i < n; i++) {
        const char *name = zipread_name(z, i);
        size_t len = strlen(name);
        if (len == 0 || name[0] == '/' || strchr(name, '\\') || strstr(name, "//"))
            fail("entry name not normalised");
        if (strncmp(name, "./", 2) == 0 || strstr(name, "/./") || strncmp(name, "../", 3) == 0 ||
            strstr(name, "/../") || strcmp(name, "..") == 0 || strcmp(name, ".") == 0)
            fail("entry name keeps a dot segment");
        for (size_t k = 0; k < len; k++)
            if ((unsigned char)name[k] < 0x20)
                fail("control character in an entry name");
        for (size_t j = 0; j < i; j++)
            if (strcmp(name, zipread_name(z, j)) == 0)
                fail("two entries with one name");
        if (zipread_is_dir(z, i))
            continue;
        size_t found;
        if (!zipread_find(z, name, &found) || found != i)
            fail("zipread_find does not find an entry by its name");
        const uint8_t *p;
        size_t plen;
        if (zipread_read(z, i, &p, &plen) == ECERT_OK && plen > ZIPREAD_MAX_ENTRY)
            fail("entry over the size limit was read");
    }
    zipread_close(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    setup();
    check_names(data, size);

    struct verify_options opts = {.extra_certs = extra};
    struct verify_result res;
    ecert_status st = docs_verify(data, size, DOC_FORMAT_OFD, &opts, &res);
    if (st != ECERT_OK && st != ECERT_E_MALFORMED && st != ECERT_E_TOO_LONG)
        fail("docs_verify: unexpected status");
    if (res.result != 0 && res.result != 1)
        fail("result neither 0 nor 1");
    if (st != ECERT_OK && res.result != 0)
        fail("a failed verification with result 1");
    check_string(res.reason, sizeof res.reason, "reason not terminated");
    if (res.result == 0 && !res.reason[0])
        fail("result 0 without a reason");
    if (res.result == 1 && (res.nsig == 0 || res.reason[0]))
        fail("result 1 without signatures or with a reason");
    for (size_t i = 0; i < res.nsig; i++) {
        const struct verify_signature *s = &res.sigs[i];
        if (res.result == 1 && (!s->integrity || !s->signature))
            fail("result 1 with a failed signature");
        if ((!s->integrity || !s->signature) && !s->reason[0])
            fail("failed signature without a reason");
        check_string(s->id, sizeof s->id, "id");
        check_string(s->type, sizeof s->type, "type");
        check_string(s->format, sizeof s->format, "format");
        check_string(s->signer, sizeof s->signer, "signer");
        check_string(s->issuer, sizeof s->issuer, "issuer");
        check_string(s->seal_name, sizeof s->seal_name, "seal name");
        check_string(s->signing_time, sizeof s->signing_time, "signing time");
        check_string(s->reason, sizeof s->reason, "reason");
        check_string(s->note, sizeof s->note, "note");
    }
    struct buf js = BUF_INIT(1u << 20);
    if (verify_result_json(&res, &js) != ECERT_OK)
        fail("verdict JSON cannot be built");
    buf_release(&js);
    verify_result_free(&res);
    return 0;
}
