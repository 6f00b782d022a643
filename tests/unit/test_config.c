/*
 * test_config.c — node.ini parsing and validation (src/node/config.c).
 *
 * The examples of docs/config.md are parsed here as they are written, so the
 * documentation cannot drift from the parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "node/config.h"
#include "util.h"

#define TRUST_PUB                                                                                  \
    "0422b1007f22c3b0a3e8ae1a7369457612612bb6120bac28af4abfb2f736bdd90c8624807d46daf794448007b8"   \
    "08761e2d833a593171fa208854b80d677be72dcd"

#define BASE "/etc/ecert"

static ecert_status parse(const char *text, struct node_config *c)
{
    return config_parse(text, strlen(text), "t.ini", BASE, c);
}

/* A hub configuration; lines 1 [node], 2 id, 3 role, 4 private_key,
 * 5 listen, 6 [tls], 7 cert, 8 key, then `tail` from line 9. */
static const char *hub(const char *id, const char *role, const char *listen, const char *tail)
{
    static char text[8192];
    snprintf(text, sizeof text,
             "[node]\nid = %s\nrole = %s\nprivate_key = node.key\nlisten = %s\n"
             "[tls]\ncert = tls/c.pem\nkey = tls/k.pem\n%s",
             id, role, listen, tail);
    return text;
}

static const char *hub_tail(const char *tail)
{
    return hub("YRD-HUB", "hub", "127.0.0.1:8440", tail);
}

/* Parsing `text` fails with 1004, a detail containing `want`, and a zeroed
 * output. */
static void expect_error_at(const char *text, size_t len, const char *want, int line)
{
    struct node_config c;
    memset(&c, 0x5a, sizeof c);
    ecert_status st = config_parse(text, len, "t.ini", BASE, &c);
    if (st != ECERT_E_MALFORMED)
        fail_msg("status %d for:\n%s\n(detail: %s)", st, text, err_detail());
    if (!strstr(err_detail(), want))
        fail_msg("detail '%s' lacks '%s'", err_detail(), want);
    if (line) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "t.ini:%d: ", line);
        if (strncmp(err_detail(), prefix, strlen(prefix)) != 0)
            fail_msg("detail '%s' does not start with '%s'", err_detail(), prefix);
    }
    static const struct node_config zero;
    assert_memory_equal(&c, &zero, sizeof c);
}

static void expect_error(const char *text, const char *want, int line)
{
    expect_error_at(text, strlen(text), want, line);
}

static void expect_ok(const char *text, struct node_config *c)
{
    ecert_status st = parse(text, c);
    if (st != ECERT_OK)
        fail_msg("status %d for:\n%s\n(detail: %s)", st, text, err_detail());
}

/* ------------------------------------------------------------------------ */

/* The ```ini blocks of docs/config.md, each parsed; the first is checked
 * field by field. */
static void test_doc_examples(void **state)
{
    (void)state;
    size_t len;
    char *doc = (char *)util_read_file("../../docs/config.md", &len);
    const char *p = doc;
    int blocks = 0;
    while ((p = strstr(p, "```ini\n")) != NULL) {
        p += 7;
        const char *end = strstr(p, "```");
        assert_non_null(end);
        struct node_config c;
        ecert_status st = config_parse(p, (size_t)(end - p), "config.md", "/srv/ecert/YRD-JS", &c);
        if (st != ECERT_OK)
            fail_msg("docs/config.md block %d: %s", blocks + 1, err_detail());
        if (blocks == 0) {
            assert_string_equal(c.id, "YRD-JS");
            assert_int_equal(c.role, ROLE_PROVINCE);
            assert_string_equal(c.region, "320000");
            assert_string_equal(c.private_key, "/srv/ecert/YRD-JS/node.key");
            assert_string_equal(c.listen_ip, "127.0.0.1");
            assert_int_equal(c.listen_port, 8442);
            assert_string_equal(c.public_url, "https://127.0.0.1:8442");
            assert_string_equal(c.log_file, "/srv/ecert/YRD-JS/logs/ecertd.log");
            assert_string_equal(c.tls_cert, "/srv/ecert/YRD-JS/tls/server.pem");
            assert_string_equal(c.tls_key, "/srv/ecert/YRD-JS/tls/server.key");
            assert_string_equal(c.tls_ca, "/srv/ecert/YRD-JS/../ca.pem");
            assert_string_equal(c.store_driver, "sqlite");
            assert_string_equal(c.store_path, "/srv/ecert/YRD-JS/data/ecert.db");
            assert_int_equal(c.store_pool, 4);
            assert_string_equal(c.directory_file, "/srv/ecert/YRD-JS/../directory.json");
            assert_string_equal(c.trust_url, "https://127.0.0.1:8445");
            assert_string_equal(c.trust_public_key, TRUST_PUB);
            assert_int_equal(c.max_body, 16u << 20);
            assert_int_equal(c.threads, 0);
            assert_int_equal(c.max_connections, 1024);
            assert_int_equal(c.per_ip_connections, 128);
            assert_int_equal(c.idle_timeout_s, 30);
            assert_int_equal(c.timestamp_window_s, 300);
            assert_int_equal(c.app_cache_s, 60);
            assert_false(c.require_token_for_id);
            assert_int_equal(c.token_lifetime_s, 600);
            assert_int_equal(c.directory_refresh_s, 60);
            assert_int_equal(c.hub_timeout_ms, 10000);
            assert_int_equal(c.peer_timeout_ms, 8000);
            assert_int_equal(c.code_lifetime_s, 60);
            assert_true(c.code_single_use);
            assert_string_equal(c.base_dir, "/srv/ecert/YRD-JS");
        } else if (blocks == 1) {
            assert_int_equal(c.role, ROLE_HUB);
        } else if (blocks == 2) {
            assert_int_equal(c.role, ROLE_TRUST);
            assert_string_equal(c.public_url, "https://trust.example.gov.cn:8445");
            assert_string_equal(c.ca_key, "/srv/ecert/YRD-JS/ca/trust-ca.key");
        }
        blocks++;
        p = end + 3;
    }
    assert_int_equal(blocks, 3);
    free(doc);
}

static void test_defaults(void **state)
{
    (void)state;
    struct node_config c;
    expect_ok(hub_tail(""), &c);
    assert_string_equal(c.id, "YRD-HUB");
    assert_int_equal(c.role, ROLE_HUB);
    assert_string_equal(c.region, "");
    assert_string_equal(c.public_url, "https://127.0.0.1:8440");
    assert_string_equal(c.log_file, "");
    assert_string_equal(c.tls_ca, "");
    assert_string_equal(c.store_driver, "sqlite");
    assert_string_equal(c.store_path, BASE "/ecert.db");
    assert_int_equal(c.store_pool, 4);
    assert_string_equal(c.directory_file, "");
    assert_string_equal(c.trust_url, "");
    assert_string_equal(c.trust_public_key, "");
    assert_int_equal(c.max_body, 16777216);
    assert_int_equal(c.threads, 0);
    assert_int_equal(c.max_connections, 1024);
    assert_int_equal(c.per_ip_connections, 128);
    assert_int_equal(c.idle_timeout_s, 30);
    assert_int_equal(c.timestamp_window_s, 300);
    assert_int_equal(c.app_cache_s, 60);
    assert_false(c.require_token_for_id);
    assert_int_equal(c.token_lifetime_s, 600);
    assert_string_equal(c.ca_cert, "");
    assert_int_equal(c.directory_refresh_s, 60);
    assert_int_equal(c.hub_timeout_ms, 10000);
    assert_int_equal(c.peer_timeout_ms, 8000);
    assert_int_equal(c.code_lifetime_s, 60);
    assert_true(c.code_single_use);
    assert_string_equal(c.base_dir, BASE);
}

static void test_every_limit(void **state)
{
    (void)state;
    struct node_config c;
    expect_ok(hub_tail("[limits]\nmax_body = 4096\nthreads = 1024\nmax_connections = 65536\n"
                       "per_ip_connections = 65536\nidle_timeout_s = 3600\n"
                       "timestamp_window_s = 1\napp_cache_s = 0\n"
                       "[store]\npool = 256\n[trust]\ntoken_lifetime_s = 86400\n"
                       "[policy]\nrequire_token_for_id = yes\n"),
              &c);
    assert_int_equal(c.max_body, 4096);
    assert_int_equal(c.threads, 1024);
    assert_int_equal(c.max_connections, 65536);
    assert_int_equal(c.per_ip_connections, 65536);
    assert_int_equal(c.idle_timeout_s, 3600);
    assert_int_equal(c.timestamp_window_s, 1);
    assert_int_equal(c.app_cache_s, 0);
    assert_int_equal(c.store_pool, 256);
    assert_int_equal(c.token_lifetime_s, 86400);
    assert_true(c.require_token_for_id);
    expect_ok(hub_tail("[limits]\nmax_body = 1073741824\nmax_connections = 1\n"
                       "per_ip_connections = 1\n"),
              &c);
    assert_int_equal(c.max_body, 1073741824);
    expect_ok(hub_tail("[federation]\nhub_timeout_ms = 600000\npeer_timeout_ms = 1\n"
                       "code_lifetime_s = 10\ncode_single_use = no\n"
                       "[directory]\nrefresh_s = 86400\n"),
              &c);
    assert_int_equal(c.hub_timeout_ms, 600000);
    assert_int_equal(c.peer_timeout_ms, 1);
    assert_int_equal(c.code_lifetime_s, 10);
    assert_false(c.code_single_use);
    assert_int_equal(c.directory_refresh_s, 86400);
}

static void test_numbers(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "abc",
        "-1",
        "+5",
        "5x",
        "0x10",
        "1e3",
        "4 096",
        "",
        "99999999999999999999999",
        "18446744073709551616",
        "1.5",
        "4096 # bytes",
    };
    char tail[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(tail, sizeof tail, "[limits]\nmax_body = %s\n", bad[i]);
        expect_error(hub_tail(tail), "[limits] max_body: want a decimal number from 4096 to", 10);
    }
    /* Ranges, each bound plus or minus one. */
    expect_error(hub_tail("[limits]\nmax_body = 4095\n"), "max_body", 10);
    expect_error(hub_tail("[limits]\nmax_body = 1073741825\n"), "max_body", 10);
    expect_error(hub_tail("[limits]\nthreads = 1025\n"), "from 0 to 1024", 10);
    expect_error(hub_tail("[limits]\nmax_connections = 0\n"), "max_connections", 10);
    expect_error(hub_tail("[limits]\nmax_connections = 65537\n"), "max_connections", 10);
    expect_error(hub_tail("[limits]\nidle_timeout_s = 0\n"), "idle_timeout_s", 10);
    expect_error(hub_tail("[limits]\ntimestamp_window_s = 3601\n"), "timestamp_window_s", 10);
    expect_error(hub_tail("[limits]\napp_cache_s = 86401\n"), "app_cache_s", 10);
    expect_error(hub_tail("[store]\npool = 0\n"), "[store] pool", 10);
    expect_error(hub_tail("[trust]\ntoken_lifetime_s = 29\n"), "token_lifetime_s", 10);
    expect_error(hub_tail("[federation]\nhub_timeout_ms = 0\n"), "hub_timeout_ms", 10);
    expect_error(hub_tail("[federation]\npeer_timeout_ms = 600001\n"), "peer_timeout_ms", 10);
    expect_error(hub_tail("[federation]\ncode_lifetime_s = 9\n"), "code_lifetime_s", 10);
    expect_error(hub_tail("[federation]\ncode_single_use = maybe\n"), "code_single_use", 10);
    expect_error(hub_tail("[directory]\nrefresh_s = 0\n"), "[directory] refresh_s", 10);
    /* Leading zeros are still decimal. */
    struct node_config c;
    expect_ok(hub_tail("[limits]\nthreads = 010\n"), &c);
    assert_int_equal(c.threads, 10);
    /* per-IP above the total. */
    expect_error(hub_tail("[limits]\nmax_connections = 10\nper_ip_connections = 11\n"),
                 "per_ip_connections (11) is above max_connections (10)", 11);
    expect_error(hub_tail("[limits]\nmax_connections = 100\n"),
                 "per_ip_connections (128) is above max_connections (100)", 10);
}

static void test_booleans(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool value;
    } ok[] = {{"true", true},   {"yes", true}, {"1", true},
              {"false", false}, {"no", false}, {"0", false}};
    char tail[128];
    struct node_config c;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(tail, sizeof tail, "[policy]\nrequire_token_for_id = %s\n", ok[i].text);
        expect_ok(hub_tail(tail), &c);
        assert_int_equal(c.require_token_for_id, ok[i].value);
    }
    static const char *const bad[] = {"on", "off", "TRUE", "y", "2", "", "truee"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(tail, sizeof tail, "[policy]\nrequire_token_for_id = %s\n", bad[i]);
        expect_error(hub_tail(tail), "want true, false, yes, no, 1 or 0", 10);
    }
}

static void test_node_id_role_region(void **state)
{
    (void)state;
    static const char *const bad_ids[] = {"YRD-sh",
                                          "XYZ-SH",
                                          "YRD-",
                                          "YRD-S1",
                                          "YRD_SH",
                                          "yrd-SH",
                                          "YRD-ABCDEFGHIJKLMNOPQRSTUVWXYZAB",
                                          ""};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
        expect_error(hub(bad_ids[i], "hub", "127.0.0.1:1", ""), "[node] id: want YRD-", 2);
    struct node_config c;
    /* 31 characters fit id[32]. */
    expect_ok(hub("YRD-ABCDEFGHIJKLMNOPQRSTUVWXYZA", "hub", "127.0.0.1:1", ""), &c);
    assert_int_equal(strlen(c.id), 31);

    static const char *const bad_roles[] = {"Province", "node", "", "hub;x", "trust,hub"};
    for (size_t i = 0; i < sizeof bad_roles / sizeof bad_roles[0]; i++)
        expect_error(hub("YRD-HUB", bad_roles[i], "127.0.0.1:1", ""), "want province, hub or trust",
                     3);
    /* "hub ; comment" is the value "hub". */
    expect_ok(hub("YRD-HUB", "hub ; the hub", "127.0.0.1:1", ""), &c);
    assert_int_equal(c.role, ROLE_HUB);

    static const char *const bad_regions[] = {"31000", "3100000", "31000a", "", "310 00"};
    char tail[64];
    for (size_t i = 0; i < sizeof bad_regions / sizeof bad_regions[0]; i++) {
        snprintf(tail, sizeof tail, "[node]\nregion = %s\n", bad_regions[i]);
        /* [node] twice is itself an error; put region in the first one. */
        char text[512];
        snprintf(text, sizeof text,
                 "[node]\nregion = %s\nid = YRD-HUB\nrole = hub\nprivate_key = k\n"
                 "listen = 127.0.0.1:1\n[tls]\ncert = c\nkey = k\n",
                 bad_regions[i]);
        expect_error(text, "[node] region: want 6 digits", 2);
    }
    /* A region on the hub is accepted (and unused). */
    expect_ok("[node]\nregion = 310000\nid = YRD-HUB\nrole = hub\nprivate_key = k\n"
              "listen = 127.0.0.1:1\n[tls]\ncert = c\nkey = k\n",
              &c);
    assert_string_equal(c.region, "310000");
}

static void test_listen(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "127.0.0.1",    "127.0.0.1:0",  ":8080",         "127.0.0.1:65536",
        "localhost:80", "::1:80",       "[::1]:80",      "1.2.3:80",
        "01.2.3.4:80",  "1.2.3.4:8o",   "1.2.3.4:-1",    "1.2.3.4:+80",
        "1.2.3.4:",     "256.0.0.1:80", "1.2.3.4:80:80", "1.2.3.4 :80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(hub("YRD-HUB", "hub", bad[i], ""), "[node] listen: want IPv4:PORT", 5);
    struct node_config c;
    expect_ok(hub("YRD-HUB", "hub", "10.1.2.3:65535", ""), &c);
    assert_string_equal(c.listen_ip, "10.1.2.3");
    assert_int_equal(c.listen_port, 65535);
    assert_string_equal(c.public_url, "https://10.1.2.3:65535");
    expect_ok(hub("YRD-HUB", "hub", "1.2.3.4:1", ""), &c);
    assert_int_equal(c.listen_port, 1);
    /* The wildcard address needs an explicit public_url. */
    expect_error(hub("YRD-HUB", "hub", "0.0.0.0:8440", ""),
                 "t.ini: missing [node] public_url (required when listening on 0.0.0.0)", 0);
}

static void test_urls(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "http://127.0.0.1:8440",
        "https://",
        "https://:80",
        "https://h:0",
        "https://h:65536",
        "https://h:",
        "https://h/",
        "https://h/a b",
        "ftp://h",
        "https://h\\x",
        "https://h_x",
        "HTTPS://h",
        "https://[zz]:1",
        "https://h:80x",
        "https://[]",
        "//h",
    };
    char text[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text,
                 "[node]\npublic_url = %s\nid = YRD-HUB\nrole = hub\nprivate_key = k\n"
                 "listen = 127.0.0.1:1\n[tls]\ncert = c\nkey = k\n",
                 bad[i]);
        expect_error(text, "[node] public_url: ", 2);
        snprintf(text, sizeof text, "[directory]\ntrust_url = %s\n", bad[i]);
        expect_error(hub_tail(text), "[directory] trust_url: ", 10);
    }
    static const char *const good[] = {"https://h", "https://trust.example.gov.cn:8445",
                                       "https://127.0.0.1:8441/yrd/sh", "https://[::1]:8445",
                                       "https://a-b.c"};
    struct node_config c;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(text, sizeof text, "[directory]\ntrust_url = %s\n", good[i]);
        expect_ok(hub_tail(text), &c);
        assert_string_equal(c.trust_url, good[i]);
    }
}

static void test_public_key(void **state)
{
    (void)state;
    char text[512];
    static const char *const bad[] = {
        /* without 04 (128 digits) */
        "22b1007f22c3b0a3e8ae1a7369457612612bb6120bac28af4abfb2f736bdd90c8624807d46daf794448007b8"
        "08761e2d833a593171fa208854b80d677be72dcd",
        /* 03 instead of 04 */
        "0322b1007f22c3b0a3e8ae1a7369457612612bb6120bac28af4abfb2f736bdd90c8624807d46daf794448007b8"
        "08761e2d833a593171fa208854b80d677be72dcd",
        /* last digit changed: not on the curve */
        "0422b1007f22c3b0a3e8ae1a7369457612612bb6120bac28af4abfb2f736bdd90c8624807d46daf794448007b8"
        "08761e2d833a593171fa208854b80d677be72dce",
        /* a non-hex digit */
        "0422b1007f22c3b0a3e8ae1a7369457612612bb6120bac28af4abfb2f736bdd90c8624807d46daf794448007b8"
        "08761e2d833a593171fa208854b80d677be72dcg",
        "04",
        "zz",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "[directory]\ntrust_public_key = %s\n", bad[i]);
        expect_error(hub_tail(text), "[directory] trust_public_key: want 04 and 128 hex", 10);
    }
    /* Uppercase hex is a valid spelling of the same key. */
    char upper[131];
    snprintf(upper, sizeof upper, "%s", TRUST_PUB);
    for (char *q = upper; *q; q++)
        if (*q >= 'a' && *q <= 'f')
            *q = (char)(*q - 'a' + 'A');
    snprintf(text, sizeof text, "[directory]\ntrust_public_key = %s\n", upper);
    struct node_config c;
    expect_ok(hub_tail(text), &c);
    assert_string_equal(c.trust_public_key, upper);
}

static void test_unknown_and_duplicate(void **state)
{
    (void)state;
    expect_error(hub_tail("[limits]\nmax_bodyy = 1\n"), "unknown key 'max_bodyy' in [limits]", 10);
    expect_error(hub_tail("[limits]\nthreads = 1\nthreads = 2\n"),
                 "duplicate key [limits] threads (first on line 10)", 11);
    expect_error(hub_tail("[limits]\nthreads = 1\nTHREADS = 2\n"), "unknown key 'THREADS'", 11);
    expect_error(hub_tail("[nodes]\n"), "unknown section [nodes]", 9);
    expect_error(hub_tail("[Node]\nid = YRD-X\n"), "unknown section [Node]", 9);
    expect_error(hub_tail("[]\n"), "unknown section []", 9);
    /* An unknown section is refused even when empty. */
    expect_error(hub_tail("[extra]\n; nothing here\n"), "unknown section [extra]", 9);
    expect_error(hub_tail("[node]\n"), "section [node] appears twice (first on line 1)", 9);
    expect_error(hub_tail("[limits] threads = 1\n"), "text after the section header", 9);
    expect_error(hub_tail("[limits\n"), "section header without ']'", 9);
    expect_error("id = YRD-HUB\n[node]\n", "key 'id' before any [section]", 1);
    expect_error(hub_tail("[limits]\njust words\n"),
                 "expected 'key = value', '[section]' or a comment", 10);
    expect_error(hub_tail("[limits]\n= 5\n"), "unknown key '' in [limits]", 10);
    /* A key of the wrong section. */
    expect_error(hub_tail("[limits]\ncert = x\n"), "unknown key 'cert' in [limits]", 10);
    /* Values are not quoted. */
    expect_error(hub_tail("[store]\npath = \"my db\"\n"), "without quotes", 10);
    expect_error(hub_tail("[store]\npath = 'x'\n"), "without quotes", 10);
    expect_error(hub_tail("[store]\ndriver = mysql\n"), "[store] driver: want sqlite or postgres",
                 10);
    /* PostgreSQL needs its DSN, kept as written (libpq parses it). */
    expect_error(hub_tail("[store]\ndriver = postgres\n"), "missing [store] dsn", 0);
    expect_error(hub_tail("[store]\ndriver = postgres\ndsn = a\tb\n"), "[store] dsn", 11);
    struct node_config c;
    expect_ok(hub_tail("[store]\ndriver = postgres\n"
                       "dsn = host=/run/pg dbname=ecert options='-csearch_path=yrd_hub'\n"),
              &c);
    assert_string_equal(c.store_driver, "postgres");
    assert_string_equal(c.store_dsn, "host=/run/pg dbname=ecert options='-csearch_path=yrd_hub'");
    /* A section header with a trailing comment is fine. */
    expect_ok(hub_tail("[limits] ; tuning\nthreads = 2\n[policy] # policy\n"), &c);
    assert_int_equal(c.threads, 2);
}

static void test_required(void **state)
{
    (void)state;
    static const struct {
        const char *drop; /* line prefix removed from the hub config */
        const char *want;
    } cases[] = {
        {"id = ", "t.ini: missing [node] id"},
        {"role = ", "t.ini: missing [node] role"},
        {"private_key = ", "t.ini: missing [node] private_key"},
        {"listen = ", "t.ini: missing [node] listen"},
        {"cert = ", "t.ini: missing [tls] cert"},
        {"key = ", "t.ini: missing [tls] key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *full = hub_tail("");
        char text[1024];
        size_t n = 0;
        for (const char *line = full; *line;) {
            const char *nl = strchr(line, '\n');
            size_t ll = (size_t)(nl - line) + 1;
            if (strncmp(line, cases[i].drop, strlen(cases[i].drop)) != 0) {
                memcpy(text + n, line, ll);
                n += ll;
            }
            line += ll;
        }
        text[n] = '\0';
        expect_error(text, cases[i].want, 0);
        assert_string_equal(err_detail(), cases[i].want);
    }
    /* An optional key written empty means "not set". */
    struct node_config c;
    expect_ok(hub_tail("[trust]\nca_cert =\n[directory]\ntrust_url =\n"), &c);
    assert_string_equal(c.ca_cert, "");
    assert_string_equal(c.trust_url, "");
    /* A required key written empty is reported at its line. */
    char text[512];
    snprintf(text, sizeof text,
             "[node]\nid = YRD-HUB\nrole = hub\nprivate_key =\nlisten = 127.0.0.1:1\n"
             "[tls]\ncert = c\nkey = k\n");
    expect_error(text, "t.ini:4: [node] private_key is empty", 4);
    expect_error("", "t.ini: missing [node] role", 0);
    expect_error("; only a comment\n", "t.ini: missing [node] role", 0);
}

static void test_role_requirements(void **state)
{
    (void)state;
    char text[1024];
    struct node_config c;
    const char *prov_head = "[node]\nid = YRD-SH\nrole = province\nprivate_key = k\n"
                            "listen = 127.0.0.1:8441\n[tls]\ncert = c\nkey = k\n";
    snprintf(text, sizeof text, "%s[directory]\ntrust_public_key = " TRUST_PUB "\n", prov_head);
    expect_error(text, "t.ini: missing [node] region (required for role province)", 0);

    snprintf(text, sizeof text, "%sregion = 310000\n", prov_head);
    /* region after [tls] belongs to [tls]: unknown key. */
    expect_error(text, "unknown key 'region' in [tls]", 9);

    const char *prov = "[node]\nid = YRD-SH\nrole = province\nregion = 310000\nprivate_key = k\n"
                       "listen = 127.0.0.1:8441\n[tls]\ncert = c\nkey = k\n";
    expect_error(prov, "t.ini: missing [directory] trust_public_key (required for role province)",
                 0);
    snprintf(text, sizeof text, "%s[directory]\ntrust_public_key = " TRUST_PUB "\n", prov);
    expect_error(text, "t.ini: missing [directory] trust_url or file", 0);
    snprintf(text, sizeof text,
             "%s[directory]\ntrust_public_key = " TRUST_PUB "\ntrust_url = https://t:1\n", prov);
    expect_ok(text, &c);
    assert_int_equal(c.role, ROLE_PROVINCE);
    snprintf(text, sizeof text, "%s[directory]\ntrust_public_key = " TRUST_PUB "\nfile = d.json\n",
             prov);
    expect_ok(text, &c);
    assert_string_equal(c.directory_file, BASE "/d.json");

    /* A hub that loads a directory needs the key that signed it. */
    expect_error(hub_tail("[directory]\nfile = d.json\n"),
                 "t.ini: missing [directory] trust_public_key (needed to verify [directory] file)",
                 0);
    /* ... and an empty key is reported where it was written. */
    expect_error(hub_tail("[directory]\nfile = d.json\ntrust_public_key =\n"),
                 "t.ini:11: [directory] trust_public_key is empty", 11);

    const char *trust = "[node]\nid = YRD-TRUST\nrole = trust\nprivate_key = k\n"
                        "listen = 127.0.0.1:8445\n[tls]\ncert = c\nkey = k\n";
    expect_error(trust, "t.ini: missing [trust] ca_cert (required for role trust)", 0);
    snprintf(text, sizeof text, "%s[trust]\nca_cert = ca.pem\n", trust);
    expect_error(text, "t.ini: missing [trust] ca_key (required for role trust)", 0);
    snprintf(text, sizeof text, "%s[trust]\nca_cert = ca.pem\nca_key = /abs/ca.key\n", trust);
    expect_ok(text, &c);
    assert_string_equal(c.ca_cert, BASE "/ca.pem");
    assert_string_equal(c.ca_key, "/abs/ca.key");
    /* The trust node reads a directory with its own key. */
    snprintf(text, sizeof text, "%s[trust]\nca_cert = a\nca_key = b\n[directory]\nfile = d\n",
             trust);
    expect_ok(text, &c);
}

static void test_paths(void **state)
{
    (void)state;
    struct node_config c;
    const char *text = hub_tail("[store]\npath = /var/lib/ecert/hub.db\n");
    expect_ok(text, &c);
    assert_string_equal(c.private_key, BASE "/node.key");
    assert_string_equal(c.tls_cert, BASE "/tls/c.pem");
    assert_string_equal(c.store_path, "/var/lib/ecert/hub.db");

    /* base "/" does not double the slash; "" keeps paths relative. */
    assert_int_equal(config_parse(text, strlen(text), "t.ini", "/", &c), ECERT_OK);
    assert_string_equal(c.private_key, "/node.key");
    assert_int_equal(config_parse(text, strlen(text), "t.ini", NULL, &c), ECERT_OK);
    assert_string_equal(c.private_key, "node.key");
    assert_string_equal(c.store_path, "/var/lib/ecert/hub.db");
    assert_string_equal(c.base_dir, "");

    /* A path that no longer fits once joined to a long base is an error. */
    char base[CONFIG_PATH_MAX];
    memset(base, 'd', sizeof base);
    base[0] = '/';
    base[CONFIG_PATH_MAX - 10] = '\0'; /* 1014 chars: + "/node.key" = 1023 fits */
    assert_int_equal(config_parse(text, strlen(text), "t.ini", base, &c), ECERT_E_MALFORMED);
    /* ... but "/tls/c.pem" (line 7) does not. */
    assert_non_null(strstr(err_detail(), "t.ini:7: [tls] cert: path longer than 1023"));
    base[CONFIG_PATH_MAX - 10] = 'd';
    base[CONFIG_PATH_MAX - 9] = '\0'; /* 1015: "/node.key" makes 1024 */
    assert_int_equal(config_parse(text, strlen(text), "t.ini", base, &c), ECERT_E_MALFORMED);
    assert_non_null(strstr(err_detail(), "t.ini:4: [node] private_key: path longer than 1023"));
    /* A base that does not fit base_dir at all. */
    char huge[CONFIG_PATH_MAX + 2];
    memset(huge, 'd', sizeof huge);
    huge[CONFIG_PATH_MAX] = '\0';
    assert_int_equal(config_parse(text, strlen(text), "t.ini", huge, &c), ECERT_E_MALFORMED);

    /* The longest joined path that fits: exactly 1023 bytes. */
    base[0] = '/';
    memset(base + 1, 'b', 1013);
    base[1014] = '\0';
    const char *t2 = "[node]\nid = YRD-HUB\nrole = hub\nprivate_key = node.key\n"
                     "listen = 127.0.0.1:1\n[tls]\ncert = /c\nkey = /k\n[store]\npath = /d\n";
    assert_int_equal(config_parse(t2, strlen(t2), "t.ini", base, &c), ECERT_OK);
    assert_int_equal(strlen(c.private_key), CONFIG_PATH_MAX - 1);
}

static void test_lexical(void **state)
{
    (void)state;
    struct node_config c;
    /* CRLF, a BOM, comments of both kinds, indentation, "key: value". */
    const char *text = "\xEF\xBB\xBF; comment\r\n# another\r\n[node]\r\n  id = YRD-HUB\r\n"
                       "\trole: hub\r\nprivate_key = node.key ; inline\r\n"
                       "listen = 127.0.0.1:8440\r\n\r\n[tls]\r\ncert = c\r\nkey = k";
    expect_ok(text, &c);
    assert_string_equal(c.id, "YRD-HUB");
    assert_int_equal(c.role, ROLE_HUB);
    assert_string_equal(c.private_key, BASE "/node.key");
    assert_string_equal(c.tls_key, BASE "/k");
    /* ';' without whitespace before it is part of the value. */
    expect_ok(hub_tail("[store]\npath = a;b\n"), &c);
    assert_string_equal(c.store_path, BASE "/a;b");

    /* An indented line is not a continuation of the previous value. */
    expect_error(hub_tail("[store]\npath = a\n  more\n"),
                 "expected 'key = value', '[section]' or a comment", 11);
    /* The first problem is the one reported, even when inih would read on. */
    expect_error(hub_tail("[store]\npath = a\n  more\n[x] y\n"), "expected 'key = value'", 11);
    expect_error(hub_tail("[store]\nwords ; path = a\n"), "expected 'key = value'", 10);
    /* Control characters and NUL bytes. */
    expect_error(hub_tail("[store]\npath = a\x01"
                          "b\n"),
                 "control character 0x01 at column 9", 10);
    expect_error(hub_tail("[store]\npath = a\rb\n"), "control character 0x0D", 10);
    expect_error(hub_tail("[store]\npath = a\x7f\n"), "control character 0x7F", 10);
    const char nul[] = "[node]\nid = YRD-HUB\0x\n";
    expect_error_at(nul, sizeof nul - 1, "t.ini:2: NUL byte at column 13", 2);
    /* A BOM is only skipped at the very start. */
    expect_error(hub_tail("\xEF\xBB\xBF[limits]\n"),
                 "expected 'key = value', '[section]' or a comment", 9);

    /* Line length: 198 characters are fine, 199 are not (whatever the
     * indentation, which is dropped first). */
    char tail[512];
    char val[256];
    memset(val, 'p', sizeof val);
    size_t room = 198 - strlen("path = ");
    val[room] = '\0';
    snprintf(tail, sizeof tail, "[store]\npath = %s\n", val);
    expect_ok(hub_tail(tail), &c);
    assert_int_equal(strlen(c.store_path), strlen(BASE) + 1 + room);
    snprintf(tail, sizeof tail, "[store]\n    path = %s\n", val);
    expect_ok(hub_tail(tail), &c);
    val[room] = 'p';
    val[room + 1] = '\0';
    snprintf(tail, sizeof tail, "[store]\npath = %s\n", val);
    expect_error(hub_tail(tail), "line longer than 198 characters", 10);
    /* ... and a long line is never read as two (its tail as a new key). */
    memset(val, ' ', 200);
    memcpy(val + 200, "threads = 5", 12);
    snprintf(tail, sizeof tail, "[limits]\nmax_body = 4096%s\n", val);
    expect_error(hub_tail(tail), "line longer than", 10);

    /* Text over 64 KiB is refused before parsing. */
    size_t big = 64 * 1024 + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, '\n', big);
    struct node_config z;
    assert_int_equal(config_parse(huge, big, "t.ini", BASE, &z), ECERT_E_MALFORMED);
    assert_non_null(strstr(err_detail(), "at most 65536"));
    free(huge);
}

static void test_overlong_values(void **state)
{
    (void)state;
    /* Every string field: a value one byte over its size is an error, never
     * truncated. Fields larger than a line are bounded by the line limit. */
    char tail[512], val[200];
    memset(val, 'A', sizeof val);
    val[32] = '\0';
    char text[512];
    snprintf(text, sizeof text, "[node]\nid = YRD-%s\n", val);
    expect_error(text, "[node] id: want YRD- and capital letters (at most 31 chars)", 2);

    memset(val, 'h', sizeof val);
    memcpy(val, "https://", 8);
    val[180] = '\0';
    snprintf(tail, sizeof tail, "[directory]\ntrust_url = %s\n", val);
    struct node_config c;
    expect_ok(hub_tail(tail), &c);
    assert_int_equal(strlen(c.trust_url), 180);
}

static void test_config_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/ecert-test-config-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], sub[256];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/sub/node.ini", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(hub_tail(""), f);
    fclose(f);

    struct node_config c;
    assert_int_equal(config_load(path, &c), ECERT_OK);
    /* /tmp may itself be a symlink: compare against realpath of the dir. */
    char real[4096], want[4200];
    assert_non_null(realpath(sub, real));
    snprintf(want, sizeof want, "%s/node.key", real);
    assert_string_equal(c.private_key, want);
    assert_string_equal(c.base_dir, real);

    /* A path with "..": the base is still the resolved directory. */
    char dotted[512];
    snprintf(dotted, sizeof dotted, "%s/sub/../sub/node.ini", dir);
    assert_int_equal(config_load(dotted, &c), ECERT_OK);
    assert_string_equal(c.base_dir, real);

    /* An error names the file as given. */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(hub_tail("[limits]\nthreads = many\n"), f);
    fclose(f);
    assert_int_equal(config_load(path, &c), ECERT_E_MALFORMED);
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s:10: [limits] threads", path);
    assert_non_null(strstr(err_detail(), prefix));

    /* Too large a file. */
    f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 70 * 1024; i++)
        fputc('\n', f);
    fclose(f);
    assert_int_equal(config_load(path, &c), ECERT_E_MALFORMED);

    /* Missing file, a directory, NULLs. */
    snprintf(path, sizeof path, "%s/none.ini", dir);
    assert_int_equal(config_load(path, &c), ECERT_E_IO);
    assert_int_equal(config_load(dir, &c), ECERT_E_IO);
    assert_int_equal(config_load(NULL, &c), ECERT_E_ARG);
    assert_int_equal(config_parse("x", 1, "t", NULL, NULL), ECERT_E_ARG);
    assert_int_equal(config_parse(NULL, 1, "t", NULL, &c), ECERT_E_ARG);

    snprintf(path, sizeof path, "%s/sub/node.ini", dir);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

static void test_role_name(void **state)
{
    (void)state;
    assert_string_equal(config_role_name(ROLE_PROVINCE), "province");
    assert_string_equal(config_role_name(ROLE_HUB), "hub");
    assert_string_equal(config_role_name(ROLE_TRUST), "trust");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_examples),    cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_limit),     cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_booleans),        cmocka_unit_test(test_node_id_role_region),
        cmocka_unit_test(test_listen),          cmocka_unit_test(test_urls),
        cmocka_unit_test(test_public_key),      cmocka_unit_test(test_unknown_and_duplicate),
        cmocka_unit_test(test_required),        cmocka_unit_test(test_role_requirements),
        cmocka_unit_test(test_paths),           cmocka_unit_test(test_lexical),
        cmocka_unit_test(test_overlong_values), cmocka_unit_test(test_config_load),
        cmocka_unit_test(test_role_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
