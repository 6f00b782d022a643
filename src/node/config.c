/*
 * config.c — node.ini: read with inih, validated here, every key strictly.
 *
 * inih does the INI lexing; this file feeds it one physical line at a time
 * through its stream interface (ini_parse_stream), which gives us what inih
 * alone does not:
 *   - exact line numbers for every message ("FILE:LINE: reason") without
 *     depending on how the system's libinih was compiled (INI_HANDLER_LINENO);
 *   - input from memory with an explicit length (fuzzing), NUL bytes refused;
 *   - over-long lines refused instead of being split in two by inih's fixed
 *     line buffer (which would turn the tail of a path into a new "line");
 *   - leading whitespace stripped, so that an indented line is an ordinary
 *     line and never inih's multi-line continuation of the previous value;
 *   - section headers checked here: known names only, nothing after ']'.
 * The key handler then checks each value against its rule and the finishing
 * pass applies defaults, role requirements and relative-path resolution.
 * Nothing here touches the file system beyond reading the file itself, so a
 * configuration is judged the same way in tests, fuzzing and production.
 * Rules, defaults and ranges: docs/config.md.
 */
#include "node/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "common/error.h"
#include "crypto/sm2.h"

/* A node.ini is a page of text; anything larger is not one. */
#define CONFIG_MAX_TEXT (64 * 1024)

/* ======================================================================== */
/* The keys                                                                 */

enum key_kind {
    K_NODE_ID, /* YRD-[A-Z]+ */
    K_ROLE,    /* province | hub | trust */
    K_REGION,  /* 6 digits */
    K_PATH,    /* file name, resolved against the file's directory */
    K_LISTEN,  /* IPv4:port */
    K_URL,     /* https://host[:port][/path], no trailing '/' */
    K_DRIVER,  /* sqlite | postgres */
    K_ENGINE,  /* fast | openssl */
    K_DSN,     /* libpq connection string, stored as written */
    K_PUBKEY,  /* 04 + 128 hex, a point on the curve */
    K_UNSIGNED,
    K_SIZE,
    K_BOOL,
};

struct key_def {
    const char *section;
    const char *name;
    enum key_kind kind;
    size_t off;                  /* offsetof(struct node_config, field) */
    size_t size;                 /* sizeof the field */
    unsigned long long min, max; /* numbers */
};

/* clang-format off */
#define FIELD(f) offsetof(struct node_config, f), sizeof(((struct node_config *)0)->f)
#define STR(sec, key, kind, f) {sec, key, kind, FIELD(f), 0, 0}
#define NUM(sec, key, kind, f, lo, hi) {sec, key, kind, FIELD(f), lo, hi}
/* clang-format on */

/* Indexes into keys[], for the finishing pass. */
enum key_index {
    KI_ID,
    KI_ROLE,
    KI_REGION,
    KI_PRIVATE_KEY,
    KI_LISTEN,
    KI_PUBLIC_URL,
    KI_LOG_FILE,
    KI_TLS_CERT,
    KI_TLS_KEY,
    KI_TLS_CA,
    KI_STORE_DRIVER,
    KI_STORE_PATH,
    KI_STORE_POOL,
    KI_DIR_FILE,
    KI_TRUST_URL,
    KI_TRUST_PUB,
    KI_MAX_BODY,
    KI_THREADS,
    KI_HANDLER_THREADS,
    KI_MAX_CONN,
    KI_PER_IP,
    KI_IDLE,
    KI_TS_WINDOW,
    KI_APP_CACHE,
    KI_REQUIRE_TOKEN,
    KI_TOKEN_LIFETIME,
    KI_CA_CERT,
    KI_CA_KEY,
    KI_HUB_TIMEOUT,
    KI_PEER_TIMEOUT,
    KI_CODE_LIFETIME,
    KI_CODE_SINGLE_USE,
    KI_DIR_REFRESH,
    KI_STORE_DSN,
    KI_VERIFY_ANCHORS,
    KI_CRYPTO_ENGINE,
    KI_RATE_WINDOW,
    KI_RATE_PER_APP,
    KI_RATE_PER_IP,
    KI_RATE_CHUNK,
    KI_COUNT
};

static const struct key_def keys[KI_COUNT] = {
    [KI_ID] = STR("node", "id", K_NODE_ID, id),
    [KI_ROLE] = STR("node", "role", K_ROLE, role),
    [KI_REGION] = STR("node", "region", K_REGION, region),
    [KI_PRIVATE_KEY] = STR("node", "private_key", K_PATH, private_key),
    [KI_LISTEN] = STR("node", "listen", K_LISTEN, listen_ip),
    [KI_PUBLIC_URL] = STR("node", "public_url", K_URL, public_url),
    [KI_LOG_FILE] = STR("node", "log_file", K_PATH, log_file),
    [KI_TLS_CERT] = STR("tls", "cert", K_PATH, tls_cert),
    [KI_TLS_KEY] = STR("tls", "key", K_PATH, tls_key),
    [KI_TLS_CA] = STR("tls", "ca", K_PATH, tls_ca),
    [KI_STORE_DRIVER] = STR("store", "driver", K_DRIVER, store_driver),
    [KI_STORE_PATH] = STR("store", "path", K_PATH, store_path),
    [KI_STORE_POOL] = NUM("store", "pool", K_UNSIGNED, store_pool, 1, 256),
    [KI_STORE_DSN] = STR("store", "dsn", K_DSN, store_dsn),
    [KI_DIR_FILE] = STR("directory", "file", K_PATH, directory_file),
    [KI_TRUST_URL] = STR("directory", "trust_url", K_URL, trust_url),
    [KI_TRUST_PUB] = STR("directory", "trust_public_key", K_PUBKEY, trust_public_key),
    [KI_MAX_BODY] = NUM("limits", "max_body", K_SIZE, max_body, 4096, 1024ull << 20),
    [KI_THREADS] = NUM("limits", "threads", K_UNSIGNED, threads, 0, 1024),
    [KI_HANDLER_THREADS] =
        NUM("limits", "handler_threads", K_UNSIGNED, handler_threads, 1, 1024),
    [KI_MAX_CONN] = NUM("limits", "max_connections", K_UNSIGNED, max_connections, 1, 65536),
    [KI_PER_IP] = NUM("limits", "per_ip_connections", K_UNSIGNED, per_ip_connections, 1, 65536),
    [KI_IDLE] = NUM("limits", "idle_timeout_s", K_UNSIGNED, idle_timeout_s, 1, 3600),
    [KI_TS_WINDOW] = NUM("limits", "timestamp_window_s", K_UNSIGNED, timestamp_window_s, 1, 3600),
    [KI_APP_CACHE] = NUM("limits", "app_cache_s", K_UNSIGNED, app_cache_s, 0, 86400),
    [KI_REQUIRE_TOKEN] = STR("policy", "require_token_for_id", K_BOOL, require_token_for_id),
    [KI_TOKEN_LIFETIME] = NUM("trust", "token_lifetime_s", K_UNSIGNED, token_lifetime_s, 30, 86400),
    [KI_CA_CERT] = STR("trust", "ca_cert", K_PATH, ca_cert),
    [KI_CA_KEY] = STR("trust", "ca_key", K_PATH, ca_key),
    [KI_HUB_TIMEOUT] = NUM("federation", "hub_timeout_ms", K_UNSIGNED, hub_timeout_ms, 1, 600000),
    [KI_PEER_TIMEOUT] =
        NUM("federation", "peer_timeout_ms", K_UNSIGNED, peer_timeout_ms, 1, 600000),
    [KI_CODE_LIFETIME] =
        NUM("federation", "code_lifetime_s", K_UNSIGNED, code_lifetime_s, 10, 86400),
    [KI_CODE_SINGLE_USE] = STR("federation", "code_single_use", K_BOOL, code_single_use),
    [KI_DIR_REFRESH] = NUM("directory", "refresh_s", K_UNSIGNED, directory_refresh_s, 1, 86400),
    [KI_VERIFY_ANCHORS] = STR("verify", "anchors", K_PATH, verify_anchors),
    [KI_CRYPTO_ENGINE] = STR("node", "crypto_engine", K_ENGINE, crypto_engine),
    [KI_RATE_WINDOW] = NUM("limits", "rate_window_s", K_UNSIGNED, rate_window_s, 1, 86400),
    [KI_RATE_PER_APP] =
        NUM("limits", "rate_per_app", K_UNSIGNED, rate_per_app, 0, 1000000000),
    [KI_RATE_PER_IP] = NUM("limits", "rate_per_ip", K_UNSIGNED, rate_per_ip, 0, 1000000000),
    [KI_RATE_CHUNK] = NUM("limits", "rate_chunk", K_UNSIGNED, rate_chunk, 0, 10000),
};

static const char *const sections[] = {"node",   "tls",    "store", "directory",
                                       "limits", "policy", "trust", "federation",
                                       "verify"};
#define NSECTIONS (sizeof sections / sizeof sections[0])

/* ======================================================================== */
/* Parse state                                                              */

struct parse {
    const char *text;
    size_t len, pos;
    unsigned line;    /* the physical line inih is working on */
    const char *name; /* for messages */
    struct node_config *cfg;
    unsigned key_line[KI_COUNT];      /* 0 = not set */
    unsigned section_line[NSECTIONS]; /* 0 = not seen */
    ecert_status st;                  /* first failure; parsing stops there */
};

/* Records the first failure as "NAME:LINE: reason" (line 0: "NAME: reason"). */
__attribute__((format(printf, 3, 4))) static void fail(struct parse *p, unsigned line,
                                                       const char *fmt, ...)
{
    if (p->st != ECERT_OK)
        return;
    char reason[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (line)
        p->st = err_set(ECERT_E_MALFORMED, "%s:%u: %s", p->name, line, reason);
    else
        p->st = err_set(ECERT_E_MALFORMED, "%s: %s", p->name, reason);
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* ======================================================================== */
/* Line reader (inih's stream interface)                                    */

/* Checks a "[name]" line; s points at '[' and ends before the newline. */
static void check_section_line(struct parse *p, const char *s, size_t n)
{
    const char *close = memchr(s, ']', n);
    if (!close) {
        fail(p, p->line, "section header without ']'");
        return;
    }
    size_t nl = (size_t)(close - s) - 1;
    const char *tail = close + 1, *end = s + n;
    while (tail < end && is_space((unsigned char)*tail))
        tail++;
    if (tail < end && *tail != ';' && *tail != '#') {
        fail(p, p->line, "text after the section header");
        return;
    }
    for (size_t i = 0; i < NSECTIONS; i++)
        if (strlen(sections[i]) == nl && memcmp(sections[i], s + 1, nl) == 0) {
            if (p->section_line[i]) {
                fail(p, p->line, "section [%s] appears twice (first on line %u)", sections[i],
                     p->section_line[i]);
                return;
            }
            p->section_line[i] = p->line;
            return;
        }
    fail(p, p->line, "unknown section [%.*s]", (int)(nl > 40 ? 40 : nl), s + 1);
}

/* Whether a line holds '=' or ':' before any inline comment (a ';' after
 * whitespace), the way inih finds a key's end. A blank line needs none. */
static bool has_separator(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_space((unsigned char)s[i]))
        i++;
    if (i == n)
        return true;
    for (; i < n; i++) {
        if (s[i] == '=' || s[i] == ':')
            return true;
        if (s[i] == ';' && i > 0 && is_space((unsigned char)s[i - 1]))
            return false;
    }
    return false;
}

/* Hands inih the next physical line, or NULL at the end or after a failure
 * (which ends the parse: the first error is the one reported). */
static char *read_line(char *str, int num, void *stream)
{
    struct parse *p = stream;
    if (p->st != ECERT_OK || p->pos >= p->len)
        return NULL;
    if (num < 3) {
        fail(p, p->line + 1, "the INI parser's line buffer is too small");
        return NULL;
    }
    const char *s = p->text + p->pos;
    size_t avail = p->len - p->pos;
    const char *nl = memchr(s, '\n', avail);
    size_t n = nl ? (size_t)(nl - s) : avail; /* without the newline */
    p->pos += nl ? n + 1 : n;
    p->line++;

    /* A UTF-8 byte order mark, as Windows editors write it. */
    if (p->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        n -= 3;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0') {
            fail(p, p->line, "NUL byte at column %zu", i + 1);
            return NULL;
        }
        if ((c < 0x20 && c != '\t' && !(c == '\r' && i + 1 == n)) || c == 0x7f) {
            fail(p, p->line, "control character 0x%02X at column %zu", c, i + 1);
            return NULL;
        }
    }
    while (n > 0 && is_space((unsigned char)*s)) {
        s++;
        n--;
    }
    /* inih's buffer holds num - 1 characters: the line, '\n' and NUL must
     * fit, or inih would split the line. */
    if (n + 2 > (size_t)num) {
        fail(p, p->line, "line longer than %d characters", num - 2);
        return NULL;
    }
    if (n > 0 && s[0] == '[') {
        check_section_line(p, s, n);
        if (p->st != ECERT_OK)
            return NULL;
    } else if (n > 0 && s[0] != ';' && s[0] != '#' && !has_separator(s, n)) {
        /* inih would flag this line but read on; refusing it here keeps
         * the first problem the one reported. */
        fail(p, p->line, "expected 'key = value', '[section]' or a comment");
        return NULL;
    }
    memcpy(str, s, n);
    str[n] = '\n';
    str[n + 1] = '\0';
    return str;
}

/* ======================================================================== */
/* Values                                                                   */

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Strict decimal: digits only (no sign, space, hex or suffix), in range. */
static bool parse_number(const char *v, unsigned long long min, unsigned long long max,
                         unsigned long long *out)
{
    size_t n = strlen(v);
    if (!all_digits(v, n) || n > 20)
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno != 0 || !end || *end != '\0' || x < min || x > max)
        return false;
    *out = x;
    return true;
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool valid_node_id(const char *v, size_t n)
{
    if (n < 5 || memcmp(v, "YRD-", 4) != 0)
        return false;
    for (size_t i = 4; i < n; i++)
        if (v[i] < 'A' || v[i] > 'Z')
            return false;
    return true;
}

/* "IPv4:port", dotted quad as inet_pton reads it (no leading zeros). */
static bool parse_listen(const char *v, char *ip, size_t ipsize, uint16_t *port)
{
    const char *colon = strrchr(v, ':');
    if (!colon)
        return false;
    size_t iplen = (size_t)(colon - v);
    if (iplen == 0 || iplen >= ipsize || iplen >= INET_ADDRSTRLEN)
        return false;
    char tmp[INET_ADDRSTRLEN];
    memcpy(tmp, v, iplen);
    tmp[iplen] = '\0';
    struct in_addr a;
    if (inet_pton(AF_INET, tmp, &a) != 1)
        return false;
    unsigned long long p;
    if (!parse_number(colon + 1, 1, 65535, &p))
        return false;
    memcpy(ip, tmp, iplen + 1);
    *port = (uint16_t)p;
    return true;
}

/* https:// + a host of [0-9A-Za-z.-] (or a bracketed IPv6), an optional
 * :port, an optional path of visible ASCII; no trailing '/', because the
 * node appends "/api/v1/..." to it. */
static const char *check_url(const char *v)
{
    static const char scheme[] = "https://";
    size_t n = strlen(v);
    if (n < sizeof scheme || memcmp(v, scheme, sizeof scheme - 1) != 0)
        return "must start with https:// and name a host";
    const char *h = v + sizeof scheme - 1;
    size_t hl = 0;
    if (*h == '[') {
        const char *close = strchr(h, ']');
        if (!close || close == h + 1)
            return "bad [IPv6] host";
        for (const char *q = h + 1; q < close; q++)
            if (!(*q == ':' || *q == '.' || (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                  (*q >= 'A' && *q <= 'F')))
                return "bad [IPv6] host";
        hl = (size_t)(close - h) + 1;
    } else {
        while (h[hl] && ((h[hl] >= '0' && h[hl] <= '9') || (h[hl] >= 'a' && h[hl] <= 'z') ||
                         (h[hl] >= 'A' && h[hl] <= 'Z') || h[hl] == '.' || h[hl] == '-'))
            hl++;
        if (hl == 0)
            return "must start with https:// and name a host";
    }
    const char *r = h + hl;
    if (*r == ':') {
        size_t pl = 1;
        while (r[pl] >= '0' && r[pl] <= '9')
            pl++;
        char port[8];
        if (pl == 1 || pl - 1 >= sizeof port)
            return "bad port";
        memcpy(port, r + 1, pl - 1);
        port[pl - 1] = '\0';
        unsigned long long x;
        if (!parse_number(port, 1, 65535, &x))
            return "bad port";
        r += pl;
    }
    if (*r && *r != '/')
        return "bad host or port";
    for (const char *q = r; *q; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f || *q == '"' || *q == '\\')
            return "the path holds a space, quote, backslash or non-ASCII byte";
    if (v[n - 1] == '/')
        return "must not end with '/'";
    return NULL;
}

static bool check_pubkey(const char *v)
{
    size_t n = strlen(v);
    if (n != 130 || v[0] != '0' || v[1] != '4')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    /* On the curve and not the identity: a typo in a trust anchor must fail
     * here, not as "every token is invalid" later. */
    struct sm2_key *k = NULL;
    if (sm2_key_parse_public(v, n, &k) != ECERT_OK)
        return false;
    sm2_key_free(k);
    return true;
}

/* Copies a string value into its field: too long is an error, never cut. */
static bool put_string(struct parse *p, const struct key_def *d, const char *v)
{
    size_t n = strlen(v);
    if (n >= d->size) {
        fail(p, p->line, "[%s] %s: value of %zu bytes, at most %zu", d->section, d->name, n,
             d->size - 1);
        return false;
    }
    memcpy((char *)p->cfg + d->off, v, n + 1);
    return true;
}

/* Checks `v` against the rule of key `d` and stores it. */
static bool set_value(struct parse *p, const struct key_def *d, const char *v)
{
    struct node_config *cfg = p->cfg;
    size_t n = strlen(v);
    unsigned long long x;
    bool b;

    if (n >= 2 && ((v[0] == '"' && v[n - 1] == '"') || (v[0] == '\'' && v[n - 1] == '\''))) {
        fail(p, p->line, "[%s] %s: values are written without quotes", d->section, d->name);
        return false;
    }
    switch (d->kind) {
    case K_NODE_ID:
        if (!valid_node_id(v, n) || n >= d->size) {
            fail(p, p->line, "[node] id: want YRD- and capital letters (at most %zu chars)",
                 d->size - 1);
            return false;
        }
        return put_string(p, d, v);
    case K_ROLE:
        if (strcmp(v, "province") == 0)
            cfg->role = ROLE_PROVINCE;
        else if (strcmp(v, "hub") == 0)
            cfg->role = ROLE_HUB;
        else if (strcmp(v, "trust") == 0)
            cfg->role = ROLE_TRUST;
        else {
            fail(p, p->line, "[node] role: want province, hub or trust");
            return false;
        }
        return true;
    case K_REGION:
        if (n != 6 || !all_digits(v, n)) {
            fail(p, p->line, "[node] region: want 6 digits (e.g. 310000)");
            return false;
        }
        return put_string(p, d, v);
    case K_LISTEN:
        if (!parse_listen(v, cfg->listen_ip, sizeof cfg->listen_ip, &cfg->listen_port)) {
            fail(p, p->line, "[node] listen: want IPv4:PORT (e.g. 127.0.0.1:8441, port 1-65535)");
            return false;
        }
        return true;
    case K_URL: {
        if (n == 0)
            return true; /* unset */
        const char *why = check_url(v);
        if (why) {
            fail(p, p->line, "[%s] %s: %s", d->section, d->name, why);
            return false;
        }
        return put_string(p, d, v);
    }
    case K_DRIVER:
        if (strcmp(v, "sqlite") != 0 && strcmp(v, "postgres") != 0) {
            fail(p, p->line, "[store] driver: want sqlite or postgres");
            return false;
        }
        return put_string(p, d, v);
    case K_ENGINE:
        if (strcmp(v, "fast") != 0 && strcmp(v, "openssl") != 0) {
            fail(p, p->line, "[node] crypto_engine: want fast or openssl");
            return false;
        }
        return put_string(p, d, v);
    case K_DSN:
        /* libpq parses it when the store opens; here only its shape. */
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
                fail(p, p->line, "[store] dsn: control characters");
                return false;
            }
        if (n == 0) {
            fail(p, p->line, "[store] dsn: empty");
            return false;
        }
        return put_string(p, d, v);
    case K_PUBKEY:
        if (n == 0)
            return true; /* unset */
        if (!check_pubkey(v)) {
            fail(p, p->line, "[%s] %s: want 04 and 128 hex digits of a point on the SM2 curve",
                 d->section, d->name);
            return false;
        }
        return put_string(p, d, v);
    case K_PATH:
        /* Stored as written; resolved against base_dir when parsing ends. */
        return put_string(p, d, v);
    case K_UNSIGNED:
    case K_SIZE:
        if (!parse_number(v, d->min, d->max, &x)) {
            fail(p, p->line, "[%s] %s: want a decimal number from %llu to %llu", d->section,
                 d->name, d->min, d->max);
            return false;
        }
        if (d->kind == K_SIZE) {
            size_t sz = (size_t)x;
            memcpy((char *)cfg + d->off, &sz, sizeof sz);
        } else {
            unsigned u = (unsigned)x;
            memcpy((char *)cfg + d->off, &u, sizeof u);
        }
        return true;
    case K_BOOL:
        if (!parse_bool(v, &b)) {
            fail(p, p->line, "[%s] %s: want true, false, yes, no, 1 or 0", d->section, d->name);
            return false;
        }
        memcpy((char *)cfg + d->off, &b, sizeof b);
        return true;
    }
    fail(p, p->line, "internal: unknown key kind");
    return false;
}

/* inih's callback: one "name = value" of a section. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct parse *p = user;
    if (p->st != ECERT_OK)
        return 0;
    if (!value) {
        fail(p, p->line, "expected 'key = value'");
        return 0;
    }
    if (section[0] == '\0') {
        fail(p, p->line, "key '%.40s' before any [section]", name);
        return 0;
    }
    for (size_t i = 0; i < KI_COUNT; i++) {
        const struct key_def *d = &keys[i];
        if (strcmp(d->section, section) != 0 || strcmp(d->name, name) != 0)
            continue;
        if (p->key_line[i]) {
            fail(p, p->line, "duplicate key [%s] %s (first on line %u)", section, name,
                 p->key_line[i]);
            return 0;
        }
        p->key_line[i] = p->line;
        return set_value(p, d, value) ? 1 : 0;
    }
    fail(p, p->line, "unknown key '%.40s' in [%s]", name, section);
    return 0;
}

/* ======================================================================== */
/* Finishing: requirements, defaults, paths                                 */

static bool key_set(const struct parse *p, enum key_index k)
{
    const struct key_def *d = &keys[k];
    if (!p->key_line[k])
        return false;
    /* String fields written empty count as not set. */
    if (d->kind == K_PATH || d->kind == K_URL || d->kind == K_PUBKEY)
        return ((const char *)p->cfg + d->off)[0] != '\0';
    return true;
}

static void require(struct parse *p, enum key_index k, const char *why)
{
    if (p->st != ECERT_OK || key_set(p, k))
        return;
    const struct key_def *d = &keys[k];
    if (p->key_line[k])
        fail(p, p->key_line[k], "[%s] %s is empty%s", d->section, d->name, why);
    else
        fail(p, 0, "missing [%s] %s%s", d->section, d->name, why);
}

/* Makes a relative path absolute-ish: base_dir "/" path, bounded. */
static void resolve_path(struct parse *p, enum key_index k, const char *base_dir)
{
    const struct key_def *d = &keys[k];
    char *f = (char *)p->cfg + d->off;
    if (p->st != ECERT_OK || f[0] == '\0' || f[0] == '/' || base_dir[0] == '\0')
        return;
    size_t bl = strlen(base_dir), fl = strlen(f);
    bool slash = base_dir[bl - 1] != '/';
    if (bl + slash + fl >= d->size) {
        fail(p, p->key_line[k],
             "[%s] %s: path longer than %zu bytes once joined to the file's directory", d->section,
             d->name, d->size - 1);
        return;
    }
    memmove(f + bl + slash, f, fl + 1);
    memcpy(f, base_dir, bl);
    if (slash)
        f[bl] = '/';
}

static void set_default_string(struct parse *p, enum key_index k, const char *v)
{
    const struct key_def *d = &keys[k];
    char *f = (char *)p->cfg + d->off;
    if (f[0] == '\0')
        snprintf(f, d->size, "%s", v);
}

static void finish(struct parse *p, const char *base_dir)
{
    struct node_config *c = p->cfg;

    require(p, KI_ROLE, "");
    require(p, KI_ID, "");
    require(p, KI_PRIVATE_KEY, "");
    require(p, KI_LISTEN, "");
    require(p, KI_TLS_CERT, "");
    require(p, KI_TLS_KEY, "");
    if (strcmp(c->store_driver, "postgres") == 0)
        require(p, KI_STORE_DSN, " (required with [store] driver = postgres)");
    if (c->role == ROLE_PROVINCE) {
        /* A province verifies trusted tokens (the trust key) and fetches app
         * keys from YRD-TRUST (trust_url, or the directory's entry for it). */
        require(p, KI_REGION, " (required for role province)");
        require(p, KI_TRUST_PUB, " (required for role province)");
        if (p->st == ECERT_OK && !key_set(p, KI_TRUST_URL) && !key_set(p, KI_DIR_FILE))
            fail(p, 0, "missing [directory] trust_url or file (a province must reach YRD-TRUST)");
    }
    if (c->role == ROLE_TRUST) {
        require(p, KI_CA_CERT, " (required for role trust)");
        require(p, KI_CA_KEY, " (required for role trust)");
    }
    /* The directory is signed by YRD-TRUST: other roles need its key to
     * read it (the trust node uses its own). */
    if (c->role != ROLE_TRUST && key_set(p, KI_DIR_FILE))
        require(p, KI_TRUST_PUB, " (needed to verify [directory] file)");
    if (p->st != ECERT_OK)
        return;

    /* A wildcard address is where we listen, not where peers find us. */
    if (!key_set(p, KI_PUBLIC_URL)) {
        if (strcmp(c->listen_ip, "0.0.0.0") == 0) {
            fail(p, 0, "missing [node] public_url (required when listening on 0.0.0.0)");
            return;
        }
        snprintf(c->public_url, sizeof c->public_url, "https://%s:%u", c->listen_ip,
                 (unsigned)c->listen_port);
    }
    if (c->per_ip_connections > c->max_connections) {
        unsigned line = p->key_line[KI_PER_IP] ? p->key_line[KI_PER_IP] : p->key_line[KI_MAX_CONN];
        fail(p, line, "[limits] per_ip_connections (%u) is above max_connections (%u)",
             c->per_ip_connections, c->max_connections);
        return;
    }

    set_default_string(p, KI_STORE_DRIVER, "sqlite");
    set_default_string(p, KI_STORE_PATH, "ecert.db");
    for (size_t k = 0; k < KI_COUNT; k++)
        if (keys[k].kind == K_PATH)
            resolve_path(p, (enum key_index)k, base_dir);
}

static void set_defaults(struct node_config *c)
{
    c->store_pool = 4;
    c->max_body = 16u << 20;
    c->threads = 0;
    c->handler_threads = 32;
    c->max_connections = 1024;
    c->per_ip_connections = 128;
    c->idle_timeout_s = 30;
    c->timestamp_window_s = 300;
    c->app_cache_s = 60;
    /* An app averages at most 100 calls a second over a minute; one address
     * (a NAT of several apps, or a busy app server) twice that. */
    c->rate_window_s = 60;
    c->rate_per_app = 6000;
    c->rate_per_ip = 12000;
    c->rate_chunk = 0;
    c->require_token_for_id = false;
    c->token_lifetime_s = 600;
    c->hub_timeout_ms = 10000; /* the standard's 10-second rule */
    c->peer_timeout_ms = 8000;
    c->code_lifetime_s = 60;
    c->code_single_use = true;
    c->directory_refresh_s = 60;
}

/* ======================================================================== */
/* Entry points                                                             */

ecert_status config_parse(const char *text, size_t len, const char *name, const char *base_dir,
                          struct node_config *out)
{
    if (!out || (!text && len))
        return err_set(ECERT_E_ARG, "config_parse: NULL argument");
    memset(out, 0, sizeof *out);
    if (!name)
        name = "<config>";
    if (!base_dir)
        base_dir = "";
    if (len > CONFIG_MAX_TEXT)
        return err_set(ECERT_E_MALFORMED, "%s: %zu bytes, at most %d", name, len, CONFIG_MAX_TEXT);
    size_t bl = strlen(base_dir);
    if (bl >= sizeof out->base_dir)
        return err_set(ECERT_E_MALFORMED, "%s: directory name longer than %zu bytes", name,
                       sizeof out->base_dir - 1);
    memcpy(out->base_dir, base_dir, bl + 1);
    set_defaults(out);

    struct parse *p = calloc(1, sizeof *p);
    if (!p) {
        memset(out, 0, sizeof *out);
        return err_set(ECERT_E_NOMEM, "config: out of memory");
    }
    p->text = text ? text : "";
    p->len = len;
    p->name = name;
    p->cfg = out;

    int rc = ini_parse_stream(read_line, p, on_key, p);
    if (p->st == ECERT_OK && rc > 0)
        fail(p, (unsigned)rc, "expected 'key = value', '[section]' or a comment");
    else if (p->st == ECERT_OK && rc < 0)
        p->st = err_set(ECERT_E_NOMEM, "%s: the INI parser failed (%d)", name, rc);
    if (p->st == ECERT_OK)
        finish(p, out->base_dir);

    ecert_status st = p->st;
    free(p);
    if (st != ECERT_OK)
        memset(out, 0, sizeof *out);
    return st;
}

/* The directory part of `path`, made absolute with realpath, so that paths
 * in the file still name the same files after the daemon changes directory. */
static ecert_status base_dir_of(const char *path, char *out, size_t cap)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        memcpy(dir, ".", 2);
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir)
            return err_set(ECERT_E_MALFORMED, "%s: path too long", path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    char real[PATH_MAX];
    if (!realpath(dir, real))
        return err_set(ECERT_E_IO, "%s: cannot resolve its directory: %s", path, strerror(errno));
    size_t rl = strlen(real);
    if (rl >= cap)
        return err_set(ECERT_E_MALFORMED, "%s: directory name longer than %zu bytes", path,
                       cap - 1);
    memcpy(out, real, rl + 1);
    return ECERT_OK;
}

ecert_status config_load(const char *path, struct node_config *out)
{
    if (!path || !out)
        return err_set(ECERT_E_ARG, "config_load: NULL argument");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(ECERT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return err_set(ECERT_E_IO, "%s: not a regular file", path);
    }
    /* One byte more than the limit, so that "too large" is detected. */
    char *text = malloc(CONFIG_MAX_TEXT + 1);
    if (!text) {
        fclose(f);
        return err_set(ECERT_E_NOMEM, "config: out of memory");
    }
    size_t len = fread(text, 1, CONFIG_MAX_TEXT + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        return err_set(ECERT_E_IO, "%s: read error", path);
    }
    char base[CONFIG_PATH_MAX];
    ecert_status st = base_dir_of(path, base, sizeof base);
    if (st == ECERT_OK)
        st = config_parse(text, len, path, base, out);
    free(text);
    return st;
}
