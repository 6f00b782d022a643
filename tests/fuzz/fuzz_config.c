/*
 * fuzz_config — node.ini parsing (config_parse) on arbitrary bytes.
 *
 * Properties, each violation an abort():
 *   - the status is OK or ECERT_E_MALFORMED; a failure leaves the output
 *     all zero and a detail that starts with the file name;
 *   - an accepted configuration obeys every documented rule, checked here
 *     independently of config.c: node id YRD-[A-Z]+, role, region (6 digits,
 *     present for provinces), an IPv4 listen address and port, https URLs,
 *     the trust key's shape, number ranges, per-IP <= total connections,
 *     every string terminated inside its field, every path absolute (joined
 *     to the base directory) or empty, role requirements;
 *   - parsing is deterministic: the same input gives the same result twice.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "node/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE "/srv/ecert"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_config: property violated: %s\n", what);
    abort();
}

static size_t field_len(const char *s, size_t size, const char *what)
{
    const char *z = memchr(s, 0, size);
    if (!z)
        fail(what);
    return (size_t)(z - s);
}

#define LEN(c, f) field_len((c)->f, sizeof(c)->f, #f " not terminated")

static void check_path(const char *p, size_t size, const char *what)
{
    size_t n = field_len(p, size, what);
    if (n > 0 && p[0] != '/')
        fail(what);
}

static void check_config(const struct node_config *c)
{
    size_t n = LEN(c, id);
    if (n < 5 || memcmp(c->id, "YRD-", 4) != 0)
        fail("accepted id without YRD-");
    for (size_t i = 4; i < n; i++)
        if (c->id[i] < 'A' || c->id[i] > 'Z')
            fail("accepted id with a character outside A-Z");
    if (c->role != ROLE_PROVINCE && c->role != ROLE_HUB && c->role != ROLE_TRUST)
        fail("accepted role outside the enum");
    n = LEN(c, region);
    if (n != 0 && n != 6)
        fail("accepted region not 6 digits");
    for (size_t i = 0; i < n; i++)
        if (c->region[i] < '0' || c->region[i] > '9')
            fail("accepted region with a non-digit");
    if (c->role == ROLE_PROVINCE && n == 0)
        fail("accepted province without region");

    struct in_addr a;
    LEN(c, listen_ip);
    if (inet_pton(AF_INET, c->listen_ip, &a) != 1 || c->listen_port == 0)
        fail("accepted listen address is not IPv4:1-65535");
    n = LEN(c, public_url);
    if (n < 9 || memcmp(c->public_url, "https://", 8) != 0 || c->public_url[n - 1] == '/')
        fail("accepted public_url is not https://host without a trailing /");
    n = LEN(c, trust_url);
    if (n != 0 && (n < 9 || memcmp(c->trust_url, "https://", 8) != 0))
        fail("accepted trust_url is not https://");
    n = LEN(c, trust_public_key);
    if (n != 0 && (n != 130 || memcmp(c->trust_public_key, "04", 2) != 0))
        fail("accepted trust_public_key is not 04 + 128 hex");
    if (strcmp(c->store_driver, "sqlite") != 0 && strcmp(c->store_driver, "postgres") != 0)
        fail("accepted store driver is not sqlite or postgres");
    if (strcmp(c->store_driver, "postgres") == 0 && !c->store_dsn[0])
        fail("accepted postgres without a dsn");

    check_path(c->private_key, sizeof c->private_key, "private_key not absolute");
    check_path(c->log_file, sizeof c->log_file, "log_file not absolute");
    check_path(c->tls_cert, sizeof c->tls_cert, "tls_cert not absolute");
    check_path(c->tls_key, sizeof c->tls_key, "tls_key not absolute");
    check_path(c->tls_ca, sizeof c->tls_ca, "tls_ca not absolute");
    check_path(c->store_path, sizeof c->store_path, "store_path not absolute");
    check_path(c->directory_file, sizeof c->directory_file, "directory_file not absolute");
    check_path(c->ca_cert, sizeof c->ca_cert, "ca_cert not absolute");
    check_path(c->ca_key, sizeof c->ca_key, "ca_key not absolute");
    if (!c->private_key[0] || !c->tls_cert[0] || !c->tls_key[0] || !c->store_path[0])
        fail("accepted without a required path");
    if (strcmp(c->base_dir, BASE) != 0)
        fail("base_dir changed");

    if (c->store_pool < 1 || c->store_pool > 256)
        fail("store_pool out of range");
    if (c->max_body < 4096 || c->max_body > (1u << 30))
        fail("max_body out of range");
    if (c->threads > 1024)
        fail("threads out of range");
    if (c->max_connections < 1 || c->max_connections > 65536)
        fail("max_connections out of range");
    if (c->per_ip_connections < 1 || c->per_ip_connections > c->max_connections)
        fail("per_ip_connections out of range");
    if (c->idle_timeout_s < 1 || c->idle_timeout_s > 3600)
        fail("idle_timeout_s out of range");
    if (c->timestamp_window_s < 1 || c->timestamp_window_s > 3600)
        fail("timestamp_window_s out of range");
    if (c->app_cache_s > 86400)
        fail("app_cache_s out of range");
    if (c->token_lifetime_s < 30 || c->token_lifetime_s > 86400)
        fail("token_lifetime_s out of range");
    if (c->directory_refresh_s < 1 || c->directory_refresh_s > 86400)
        fail("directory_refresh_s out of range");
    if (c->hub_timeout_ms < 1 || c->hub_timeout_ms > 600000)
        fail("hub_timeout_ms out of range");
    if (c->peer_timeout_ms < 1 || c->peer_timeout_ms > 600000)
        fail("peer_timeout_ms out of range");
    if (c->code_lifetime_s < 10 || c->code_lifetime_s > 86400)
        fail("code_lifetime_s out of range");

    if (c->role == ROLE_PROVINCE &&
        (!c->trust_public_key[0] || (!c->trust_url[0] && !c->directory_file[0])))
        fail("accepted province without a way to YRD-TRUST");
    if (c->role == ROLE_TRUST && (!c->ca_cert[0] || !c->ca_key[0]))
        fail("accepted trust node without its CA");
    if (c->role != ROLE_TRUST && c->directory_file[0] && !c->trust_public_key[0])
        fail("accepted a directory without the key to verify it");
}

static int is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    /* An exact-size copy, so reads past the end are caught. */
    char *text = malloc(size ? size : 1);
    if (!text)
        abort();
    if (size)
        memcpy(text, data, size);

    static struct node_config c, again;
    ecert_status st = config_parse(text, size, "fuzz.ini", BASE, &c);
    if (st == ECERT_OK) {
        check_config(&c);
    } else {
        if (st != ECERT_E_MALFORMED)
            fail("config_parse returned a status other than OK or 1004");
        if (!is_zero(&c, sizeof c))
            fail("a refused configuration left data behind");
        if (strncmp(err_detail(), "fuzz.ini:", 9) != 0)
            fail("the error detail does not start with the file name");
    }
    ecert_status st2 = config_parse(text, size, "fuzz.ini", BASE, &again);
    if (st2 != st || memcmp(&c, &again, sizeof c) != 0)
        fail("parsing the same text twice differs");
    free(text);
    return 0;
}
