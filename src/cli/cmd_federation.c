/*
 * cmd_federation.c — `ecert federation init DIR [--base-port N]` and
 * `ecert federation run DIR` (SPEC §8): a complete local federation on
 * loopback — the trust node and the four provinces, a development PKI, SQLite
 * stores with the shared catalog, the scene list, a registered demo app per
 * province and sample holders — and running all of it in the foreground.
 *
 * Layout of DIR:
 *   federation.json          the SPEC §8 summary (nodes, apps, scenes, holders)
 *   ca.pem                   the TLS CA every node's certificate chains to
 *   pki/ca-key.pem           its key (development only)
 *   directory.json           the directory, signed by YRD-TRUST
 *   apps/<appId>.json        each demo app's key pair (use as --key @FILE)
 *   <node>/node.ini          per node: config, node.key, tls.pem, tls.key,
 *                            store.db (and, for the trust node, app-ca.*)
 *
 * With --store postgres the stores live in one PostgreSQL database instead:
 * one schema per node (yrd_sh, yrd_trust, ...; with --pg-schema-prefix P,
 * P + that), named by each node.ini's dsn through libpq's options
 * (-csearch_path=SCHEMA); the store creates the schema when it opens.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/federation.h"
#include "codes/ids.h"
#include "common/codec.h"
#include "common/error.h"
#include "common/secure.h"
#include "crypto/sm2.h"
#include "crypto/x509.h"
#include "crypto/x509_issue.h"
#include "docs/ofd_seal.h"
#include "envelope/envelope.h"
#include "http/client.h"
#include "node/directory.h"
#include "node/node.h"
#include "store/store.h"

#define FED_PATH_MAX 4096
#define DEFAULT_BASE_PORT 8440

static const char usage_federation[] =
    "usage: ecert federation init DIR [--base-port N]\n"
    "                             [--store postgres --pg-dsn DSN [--pg-schema-prefix P]]\n"
    "       ecert federation run DIR\n"
    "\n"
    "init  writes a complete local federation into DIR: the hub, the trust node and\n"
    "      the four provinces on 127.0.0.1 (ports: HUB N, SH N+1, JS N+2, ZJ N+3, AH N+4,\n"
    "      TRUST N+5;\n"
    "      default N = 8440), a development PKI chained to DIR/ca.pem, SQLite stores with\n"
    "      the shared catalog, the scene list, sample holders and certificates, and one\n"
    "      registered demo app per province. DIR must not hold a federation already.\n"
    "      --store postgres: the stores go to the PostgreSQL database DSN (a libpq\n"
    "      connection string or postgresql:// URI), one schema per node (P + yrd_sh,\n"
    "      P + yrd_trust, ...; P is [a-z0-9_], default empty).\n"
    "run   starts every node of DIR (ecertd) in the foreground and prints how to call\n"
    "      them; Ctrl-C (SIGINT) or SIGTERM stops them all.\n";

struct fed_node {
    const char *id;
    const char *role;
    const char *region;
    int port_offset;
    const struct sample_province *prov;
    struct sm2_key *key;
    char url[64];
    int port;
};

/* Where the stores go: SQLite files (dsn NULL), or schemas of one PostgreSQL
 * database. */
struct fed_store {
    const char *dsn;
    const char *prefix;
};

/* The node's DSN: the federation's, with the node's schema first in the
 * search_path (libpq's options parameter, in the DSN's own syntax). */
static ecert_status node_dsn(const struct fed_store *fs, const char *node_id, char *out,
                             size_t cap)
{
    char schema[64];
    size_t n = (size_t)snprintf(schema, sizeof schema, "%s%s", fs->prefix, node_id);
    if (n >= sizeof schema)
        return err_set(ECERT_E_TOO_LONG, "schema name too long");
    for (char *p = schema; *p; p++)
        *p = *p == '-' ? '_' : (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
    bool uri =
        strncmp(fs->dsn, "postgresql://", 13) == 0 || strncmp(fs->dsn, "postgres://", 11) == 0;
    if (uri)
        n = (size_t)snprintf(out, cap, "%s%soptions=-csearch_path%%3D%s", fs->dsn,
                             strchr(fs->dsn, '?') ? "&" : "?", schema);
    else
        n = (size_t)snprintf(out, cap, "%s options='-csearch_path=%s'", fs->dsn, schema);
    if (n >= cap)
        return err_set(ECERT_E_TOO_LONG, "--pg-dsn too long");
    return ECERT_OK;
}

static ecert_status open_node_store(const char *dir, const char *node_id,
                                    const struct fed_store *fs, struct store **s)
{
    char path[FED_PATH_MAX], dsn[FED_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/store.db", dir, node_id);
    struct store_config sc = {"sqlite", path, 1, NULL};
    if (fs->dsn) {
        ecert_status st = node_dsn(fs, node_id, dsn, sizeof dsn);
        if (st)
            return st;
        sc.driver = "postgres";
        sc.dsn = dsn;
    }
    return store_open(&sc, s);
}

/* ---- files ----------------------------------------------------------------*/

static ecert_status mkdirs(const char *path)
{
    char tmp[FED_PATH_MAX];
    if (strlen(path) >= sizeof tmp)
        return err_set(ECERT_E_TOO_LONG, "path too long");
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return err_set(ECERT_E_IO, "cannot create %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return err_set(ECERT_E_IO, "cannot create %s: %s", tmp, strerror(errno));
    return ECERT_OK;
}

/* Writes a file whole (0600 for secrets), through a temporary name and a
 * rename, so that an interrupted init never leaves half a key behind. */
static ecert_status write_file(const char *dir, const char *name, const void *data, size_t len,
                               int secret)
{
    char path[FED_PATH_MAX], tmp[FED_PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, secret ? 0600 : 0644);
    if (fd < 0)
        return err_set(ECERT_E_IO, "cannot write %s: %s", path, strerror(errno));
    const uint8_t *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return err_set(ECERT_E_IO, "cannot write %s: %s", path, strerror(errno));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return err_set(ECERT_E_IO, "cannot write %s: %s", path, strerror(errno));
    }
    return ECERT_OK;
}

static ecert_status write_json(const char *dir, const char *name, json_t *o, int secret)
{
    char *text = json_dumps(o, JSON_INDENT(2));
    if (!text)
        return err_set(ECERT_E_NOMEM, "out of memory");
    size_t n = strlen(text);
    ecert_status st = write_file(dir, name, text, n, secret);
    secure_wipe(text, n);
    free(text);
    return st;
}

/* ---- init -----------------------------------------------------------------*/

static ecert_status write_node_ini(const char *dir, const struct fed_node *nd,
                                   const char *trust_pub, const char *trust_url,
                                   const struct fed_store *fs)
{
    struct buf ini = BUF_INIT(1 << 16);
    char store[FED_PATH_MAX + 64] = "driver = sqlite\npath = store.db\n";
    if (fs->dsn) {
        char dsn[FED_PATH_MAX];
        ecert_status dst = node_dsn(fs, nd->id, dsn, sizeof dsn);
        if (dst)
            return dst;
        snprintf(store, sizeof store, "driver = postgres\ndsn = %s\n", dsn);
    }
    ecert_status st = buf_printf(&ini,
                                 "# ecertd configuration of %s (written by ecert federation init)\n"
                                 "[node]\n"
                                 "id = %s\n"
                                 "role = %s\n",
                                 nd->id, nd->id, nd->role);
    if (!st && nd->region)
        st = buf_printf(&ini, "region = %s\n", nd->region);
    if (!st)
        st = buf_printf(&ini,
                        "private_key = node.key\n"
                        "listen = 127.0.0.1:%d\n"
                        "public_url = %s\n"
                        "\n[tls]\ncert = tls.pem\nkey = tls.key\nca = ../ca.pem\n"
                        "\n[store]\n%s"
                        "\n[directory]\nfile = ../directory.json\n"
                        "trust_url = %s\ntrust_public_key = %s\n"
                        "\n[limits]\ntimestamp_window_s = 300\napp_cache_s = 60\n",
                        nd->port, nd->url, store,
                        trust_url, trust_pub);
    if (!st && strcmp(nd->role, "province") == 0)
        st = buf_append_str(&ini, "\n[verify]\nanchors = ../seal-roots.pem\n");
    if (!st && strcmp(nd->role, "trust") == 0)
        st = buf_append_str(&ini, "\n[trust]\ntoken_lifetime_s = 600\n"
                                  "ca_cert = app-ca.pem\nca_key = app-ca.key\n");
    char sub[FED_PATH_MAX];
    snprintf(sub, sizeof sub, "%s/%s", dir, nd->id);
    if (!st)
        st = write_file(sub, "node.ini", ini.data, ini.len, 0);
    buf_release(&ini);
    return st;
}

/* A province's seal hierarchy for the sample files: root (written as
 * <node>/seal-root.pem and appended to `roots`), seal maker, issuing authority
 * and its seal. */
static ecert_status make_sealer(const char *dir, const struct sample_province *prov,
                                struct seal_pki *pki, struct buf *signer_pem, char key_hex[65],
                                struct sample_sealer *out, struct buf *roots)
{
    struct sm2_key *root_key = NULL;
    struct buf root_pem = BUF_INIT(X509_PEM_MAX), root_der = BUF_INIT(X509_PEM_MAX);
    char cn[128], authority[128], seal_id[32], sub[FED_PATH_MAX];
    snprintf(cn, sizeof cn, "%s电子证照根CA", prov->name);
    snprintf(authority, sizeof authority, "%s数据局", prov->name);
    snprintf(seal_id, sizeof seal_id, "%s-SEAL-0001", prov->id);
    snprintf(sub, sizeof sub, "%s/%s", dir, prov->id);
    ecert_status st = sm2_key_generate(&root_key);
    if (!st)
        st = x509_sm2_ca_new(root_key, cn, 3650, &root_pem);
    if (!st)
        st = x509_pem_to_der((const char *)root_pem.data, root_pem.len, &root_der);
    if (!st)
        st = seal_pki_new(root_der.data, root_der.len, root_key, prov->name, authority, seal_id,
                          3650, pki);
    if (!st)
        st = write_file(sub, "seal-root.pem", root_pem.data, root_pem.len, 0);
    if (!st)
        st = buf_append(roots, root_pem.data, root_pem.len);
    if (!st)
        st = x509_der_to_pem(pki->signer_cert.data, pki->signer_cert.len, signer_pem);
    uint8_t d[32];
    if (!st && !(st = sm2_key_private_bytes(pki->signer_key, d)))
        hex_encode(d, 32, key_hex);
    secure_wipe(d, sizeof d);
    if (!st) {
        seal_pki_identity(pki, &out->id);
        out->cert_pem = (const char *)signer_pem->data;
        out->key_hex = key_hex;
    }
    sm2_key_free(root_key);
    buf_release(&root_pem);
    buf_release(&root_der);
    return st;
}

/* Converts one generated certificate (import format) into the store. */
static ecert_status put_cert(struct store *s, json_t *c)
{
    const char *b64 = json_string_value(json_object_get(c, "fileEntity"));
    size_t cap = BASE64_DECODED_MAX(strlen(b64)), n = 0;
    uint8_t *file = malloc(cap ? cap : 1);
    if (!file)
        return err_set(ECERT_E_NOMEM, "out of memory");
    ecert_status st = base64_decode(b64, strlen(b64), file, cap, &n, 0);
    char *surface = json_dumps(json_object_get(c, "SurfaceData"), JSON_COMPACT);
#define F(k) json_string_value(json_object_get(c, k))
    struct cert rec = {
        .id = F("CertificateID"),
        .type = F("CertificateType"),
        .type_code = F("CertificateTypeCode"),
        .number = F("CertificateNumber"),
        .holder = F("CertificateHolder"),
        .holder_code = F("CertificateHolderCode"),
        .holder_type_code = F("CertificateHolderTypeCode"),
        .issuer = F("CertificateIssuingAuthority"),
        .issuer_code = F("CertificateIssuingAuthorityCode"),
        .issued_date = F("CertificateIssuedDate"),
        .valid_from = F("CertificateValidFrom"),
        .valid_to = F("CertificateValidTo"),
        .status = F("CertificateStatus"),
        .area_code = F("CertificateAreaCode"),
        .surface_json = surface,
        .file_format = F("fileFormat"),
        .file_name = F("fileName"),
        .file = file,
        .file_len = n,
        .file_sm3 = F("fileSM3"),
    };
#undef F
    if (!st && !surface)
        st = err_set(ECERT_E_NOMEM, "out of memory");
    if (!st)
        st = store_cert_put(s, &rec);
    free(surface);
    free(file);
    return st;
}

static ecert_status init_province_store(const char *dir, const struct fed_node *nd, json_t *certs,
                                        const struct fed_store *fs)
{
    struct store *s = NULL;
    /* The catalog and the scene list arrive with the signed directory, which
     * the province applies when it starts (node.c: apply_lists). */
    ecert_status st = open_node_store(dir, nd->id, fs, &s);
    size_t i;
    json_t *c;
    json_array_foreach(certs, i, c) {
        if (st)
            break;
        if (strcmp(json_string_value(json_object_get(c, "province")), nd->id) == 0)
            st = put_cert(s, c);
    }
    store_close(s);
    return st;
}

/* A demo app per province, allocated and registered as an operator and the
 * app itself would (表8), directly in the trust store. */
static ecert_status init_apps(const char *dir, struct fed_node *trust, const char *app_ca_pem,
                              const struct sm2_key *app_ca_key, json_t *apps,
                              const struct fed_store *fs)
{
    char appdir[FED_PATH_MAX];
    snprintf(appdir, sizeof appdir, "%s/apps", dir);
    struct store *s = NULL;
    ecert_status st = mkdirs(appdir);
    if (!st)
        st = open_node_store(dir, trust->id, fs, &s);
    for (int p = 0; !st && p < 4; p++) {
        const struct sample_province *prov = &sample_provinces[p];
        char corp_name[128], corp_code[IDS_CODE_LEN + 1];
        snprintf(corp_name, sizeof corp_name, "%s政务服务中心", prov->name);
        /* Public institutions' USCCs start with 12. */
        if ((st = ids_uscc_generate("12", prov->district, sample_rnd32, NULL, corp_code)))
            break;
        char app_id[TRUST_APP_ID_LEN + 1], secret[TRUST_SECRET_LEN + 1];
        if ((st = trust_app_allocate(s, corp_name, corp_code, prov->id, app_id, secret)))
            break;
        struct sm2_key *key = NULL;
        struct buf cert = BUF_INIT(X509_PEM_MAX);
        struct x509_app_subject subj = {app_id, corp_name, corp_code};
        st = sm2_key_generate(&key);
        if (!st)
            st = x509_sm2_app_new(app_ca_pem, strlen(app_ca_pem), app_ca_key, &subj, key, 825,
                                  &cert);
        struct arena a;
        arena_init(&a, 1 << 20);
        struct app app;
        if (!st)
            st = store_app_get(s, &a, app_id, &app);
        char pub[131], priv[65];
        uint8_t d[32];
        if (!st) {
            sm2_key_public_hex(key, pub);
            sm2_key_private_bytes(key, d);
            hex_encode(d, 32, priv);
            secure_wipe(d, sizeof d);
            app.public_key = pub;
            app.certificate = (const char *)cert.data;
            app.status = APP_ACTIVE;
            st = store_app_put(s, &app);
        }
        if (!st) {
            json_t *kf = json_pack("{s:s,s:s,s:s}", "appId", app_id, "privateKey", priv,
                                   "publicKey", pub);
            char name[64];
            snprintf(name, sizeof name, "%s.json", app_id);
            st = write_json(appdir, name, kf, 1);
            json_decref(kf);
            json_array_append_new(
                apps, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "appId", app_id,
                                "appSecret", secret, "privateKey", priv, "publicKey", pub,
                                "province", prov->id, "corpName", corp_name, "corpCode",
                                corp_code, "registered", 1));
        }
        secure_wipe(priv, sizeof priv);
        secure_wipe(secret, sizeof secret);
        arena_release(&a);
        buf_release(&cert);
        sm2_key_free(key);
    }
    store_close(s);
    (void)trust;
    return st;
}

static int federation_init(int argc, char **argv)
{
    struct cli_opt opts[] = {{"--base-port", true, NULL},
                             {"--help", false, NULL},
                             {"--store", true, NULL},
                             {"--pg-dsn", true, NULL},
                             {"--pg-schema-prefix", true, NULL}};
    size_t nopts = sizeof opts / sizeof opts[0];
    const char *dir = NULL;
    int i = 1;
    while (i < argc) {
        int next = cli_parse_opts(argc, argv, i, opts, nopts);
        if (next < 0)
            return EXIT_USAGE;
        if (cli_opt(opts, nopts, "--help")) {
            fputs(usage_federation, stdout);
            return EXIT_OK;
        }
        if (next >= argc)
            break;
        if (dir)
            return cli_usage_error("federation init: unexpected argument '%s'", argv[next]);
        dir = argv[next];
        i = next + 1;
    }
    if (!dir)
        return cli_usage_error("federation init: DIR is required (try --help)");
    long base = DEFAULT_BASE_PORT;
    const char *bp = cli_opt(opts, nopts, "--base-port");
    if (bp) {
        char *end;
        base = strtol(bp, &end, 10);
        if (*end || base < 1024 || base > 65535 - 5)
            return cli_usage_error("federation init: --base-port wants 1024..65530");
    }
    const char *store_kind = cli_opt(opts, nopts, "--store");
    struct fed_store fs = {cli_opt(opts, nopts, "--pg-dsn"),
                           cli_opt(opts, nopts, "--pg-schema-prefix")};
    if (store_kind && strcmp(store_kind, "sqlite") != 0 && strcmp(store_kind, "postgres") != 0)
        return cli_usage_error("federation init: --store wants sqlite or postgres");
    bool pg = store_kind && strcmp(store_kind, "postgres") == 0;
    if (pg != (fs.dsn != NULL))
        return cli_usage_error("federation init: --store postgres and --pg-dsn go together");
    if (fs.prefix && !pg)
        return cli_usage_error("federation init: --pg-schema-prefix needs --store postgres");
    if (!fs.prefix)
        fs.prefix = "";
    /* The DSN is written into each node.ini: one line, and a prefix that
     * makes a plain lower-case schema name. */
    for (const char *p = fs.dsn; p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return cli_usage_error("federation init: --pg-dsn holds control characters");
    size_t plen = strlen(fs.prefix);
    if (plen > 32 || strspn(fs.prefix, "abcdefghijklmnopqrstuvwxyz0123456789_") != plen)
        return cli_usage_error("federation init: --pg-schema-prefix wants up to 32 of a-z 0-9 _");
    char probe[FED_PATH_MAX];
    snprintf(probe, sizeof probe, "%s/federation.json", dir);
    if (access(probe, F_OK) == 0)
        return cli_usage_error("federation init: %s already holds a federation", dir);

    struct fed_node nodes[] = {
        {"YRD-HUB", "hub", NULL, 0, NULL, NULL, "", 0},
        {"YRD-SH", "province", "310000", 1, &sample_provinces[0], NULL, "", 0},
        {"YRD-JS", "province", "320000", 2, &sample_provinces[1], NULL, "", 0},
        {"YRD-ZJ", "province", "330000", 3, &sample_provinces[2], NULL, "", 0},
        {"YRD-AH", "province", "340000", 4, &sample_provinces[3], NULL, "", 0},
        {"YRD-TRUST", "trust", NULL, 5, NULL, NULL, "", 0},
    };
    const size_t nn = sizeof nodes / sizeof nodes[0];
    struct fed_node *trust = &nodes[nn - 1];
    struct buf ca = BUF_INIT(X509_PEM_MAX), ca_key = BUF_INIT(X509_PEM_MAX);
    struct buf app_ca = BUF_INIT(X509_PEM_MAX);
    struct sm2_key *app_ca_key = NULL;
    json_t *certs = NULL, *holders = NULL, *apps = json_array(), *fed = NULL;
    char pki[FED_PATH_MAX];
    snprintf(pki, sizeof pki, "%s/pki", dir);
    ecert_status st = mkdirs(pki);
    if (!st)
        st = x509_tls_ca_new("ecert local federation CA", 3650, &ca, &ca_key);
    if (!st)
        st = write_file(dir, "ca.pem", ca.data, ca.len, 0);
    if (!st)
        st = write_file(pki, "ca-key.pem", ca_key.data, ca_key.len, 1);
    for (size_t k = 0; !st && k < nn; k++) {
        struct fed_node *nd = &nodes[k];
        nd->port = (int)base + nd->port_offset;
        snprintf(nd->url, sizeof nd->url, "https://127.0.0.1:%d", nd->port);
        char sub[FED_PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", dir, nd->id);
        struct buf cert = BUF_INIT(X509_PEM_MAX), key = BUF_INIT(X509_PEM_MAX);
        const char *dns[] = {"localhost", NULL}, *ips[] = {"127.0.0.1", NULL};
        char hex[65];
        uint8_t d[32];
        if (!(st = mkdirs(sub)) && !(st = sm2_key_generate(&nd->key)) &&
            !(st = sm2_key_private_bytes(nd->key, d))) {
            hex_encode(d, 32, hex);
            hex[64] = '\n';
            st = write_file(sub, "node.key", hex, 65, 1);
            secure_wipe(d, sizeof d);
            secure_wipe(hex, sizeof hex);
        }
        if (!st)
            st = x509_tls_server_new((char *)ca.data, ca.len, (char *)ca_key.data, ca_key.len,
                                     nd->id, dns, ips, 825, &cert, &key);
        if (!st)
            st = write_file(sub, "tls.pem", cert.data, cert.len, 0);
        if (!st)
            st = write_file(sub, "tls.key", key.data, key.len, 1);
        buf_release(&cert);
        buf_release_secret(&key);
    }
    /* The trust node's SM2 CA for app certificates (表8). */
    char trust_dir[FED_PATH_MAX];
    snprintf(trust_dir, sizeof trust_dir, "%s/%s", dir, trust->id);
    if (!st)
        st = sm2_key_generate(&app_ca_key);
    if (!st)
        st = x509_sm2_ca_new(app_ca_key, "YRD-TRUST app CA", 3650, &app_ca);
    if (!st)
        st = write_file(trust_dir, "app-ca.pem", app_ca.data, app_ca.len, 0);
    if (!st) {
        uint8_t d[32];
        char hex[65];
        sm2_key_private_bytes(app_ca_key, d);
        hex_encode(d, 32, hex);
        hex[64] = '\n';
        st = write_file(trust_dir, "app-ca.key", hex, 65, 1);
        secure_wipe(d, sizeof d);
        secure_wipe(hex, sizeof hex);
    }
    /* The directory, signed by the trust key. */
    char trust_pub[131];
    sm2_key_public_hex(trust->key, trust_pub);
    json_t *dnodes = json_array(), *fnodes = json_array();
    for (size_t k = 0; k < nn; k++) {
        char pub[131];
        sm2_key_public_hex(nodes[k].key ? nodes[k].key : trust->key, pub);
        json_array_append_new(dnodes, json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", nodes[k].id,
                                                "role", nodes[k].role, "region",
                                                nodes[k].region ? nodes[k].region : "", "url",
                                                nodes[k].url, "publicKey", pub));
        char cfg[96];
        snprintf(cfg, sizeof cfg, "%s/node.ini", nodes[k].id);
        json_t *fn = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", nodes[k].id, "role", nodes[k].role,
                               "url", nodes[k].url, "publicKey", pub, "config", cfg);
        if (nodes[k].region)
            json_object_set_new(fn, "region", json_string(nodes[k].region));
        json_array_append_new(fnodes, fn);
    }
    json_t *catalog = json_array(), *dscenes = json_array();
    for (size_t k = 0; k < sample_ntypes; k++)
        json_array_append_new(catalog, json_pack("{s:s,s:s,s:b}", "typeCode", sample_types[k].code,
                                                 "name", sample_types[k].name, "yrdShared", 1));
    for (size_t k = 0; k < sample_nscenes; k++) {
        json_t *types = json_array();
        for (size_t t = 0; t < sample_scenes[k].ntypes; t++)
            json_array_append_new(types, json_string(sample_scenes[k].types[t]));
        json_array_append_new(dscenes, json_pack("{s:s,s:s,s:o}", "itemCode",
                                                 sample_scenes[k].item_code, "itemName",
                                                 sample_scenes[k].item_name, "types", types));
    }
    json_t *payload = json_pack("{s:i,s:I,s:o,s:o,s:o}", "version", 1, "issued",
                                (json_int_t)envelope_now_ms(), "nodes", dnodes, "catalog",
                                catalog, "scenes", dscenes);
    char *ptext = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(payload);
    struct buf dir_doc = BUF_INIT(DIRECTORY_MAX_BYTES);
    if (!st && !ptext)
        st = err_set(ECERT_E_NOMEM, "out of memory");
    if (!st)
        st = directory_sign(ptext, strlen(ptext), trust->key, &dir_doc);
    free(ptext);
    if (!st)
        st = write_file(dir, "directory.json", dir_doc.data, dir_doc.len, 0);
    buf_release(&dir_doc);
    for (size_t k = 0; !st && k < nn; k++)
        st = write_node_ini(dir, &nodes[k], trust_pub, trust->url, &fs);
    /* Seals: per province an SM2 root, a seal maker and an issuing authority
     * with its seal (GB/T 38540); DIR/seal-roots.pem is what every province
     * trusts when it verifies a certificate file (表6). */
    struct seal_pki seals[4];
    struct sample_sealer sealers[4];
    struct buf signer_pem[4], roots = BUF_INIT(1 << 20);
    char signer_key[4][65];
    memset(seals, 0, sizeof seals);
    for (int p = 0; p < 4; p++)
        buf_init(&signer_pem[p], X509_PEM_MAX);
    for (int p = 0; !st && p < 4; p++)
        st = make_sealer(dir, &sample_provinces[p], &seals[p], &signer_pem[p], signer_key[p],
                         &sealers[p], &roots);
    if (!st)
        st = write_file(dir, "seal-roots.pem", roots.data, roots.len, 0);
    /* Stores: sample certificates in the provinces, demo apps at the trust. */
    if (!st)
        st = sample_holders(sealers, &certs, &holders);
    for (int p = 0; p < 4; p++) {
        seal_pki_free(&seals[p]);
        buf_release(&signer_pem[p]);
        secure_wipe(signer_key[p], sizeof signer_key[p]);
    }
    buf_release(&roots);
    for (size_t k = 0; !st && k < nn; k++)
        if (nodes[k].prov)
            st = init_province_store(dir, &nodes[k], certs, &fs);
    if (!st)
        st = init_apps(dir, trust, (const char *)app_ca.data, app_ca_key, apps, &fs);
    if (!st) {
        json_t *scenes = json_array();
        for (size_t k = 0; k < sample_nscenes; k++) {
            json_t *types = json_array();
            for (size_t t = 0; t < sample_scenes[k].ntypes; t++)
                json_array_append_new(types, json_string(sample_scenes[k].types[t]));
            json_array_append_new(scenes, json_pack("{s:s,s:s,s:o}", "itemCode",
                                                    sample_scenes[k].item_code, "itemName",
                                                    sample_scenes[k].item_name, "types", types));
        }
        fed = json_pack("{s:s,s:o,s:O,s:o,s:O}", "ca", "ca.pem", "nodes", fnodes, "apps", apps,
                        "scenes", scenes, "holders", holders);
        fnodes = NULL;
        st = fed ? write_json(dir, "federation.json", fed, 1) : err_set(ECERT_E_NOMEM, "oom");
    }
    json_decref(fnodes);
    json_decref(fed);
    json_decref(apps);
    json_decref(certs);
    json_decref(holders);
    for (size_t k = 0; k < nn; k++)
        sm2_key_free(nodes[k].key);
    sm2_key_free(app_ca_key);
    buf_release(&ca);
    buf_release_secret(&ca_key);
    buf_release(&app_ca);
    if (st)
        return cli_fail("federation init", st);
    printf("federation written to %s: YRD-HUB, 4 provinces and YRD-TRUST on ports %ld-%ld; "
           "start it with: ecert federation run %s\n",
           dir, base, base + 5, dir);
    return EXIT_OK;
}

/* ---- run ------------------------------------------------------------------*/

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

/* ecertd next to this ecert binary, else $ECERTD, else PATH. */
static void find_ecertd(char *out, size_t cap)
{
    const char *env = getenv("ECERTD");
    if (env && env[0]) {
        snprintf(out, cap, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        size_t dl = slash ? (size_t)(slash - self) : 0;
        if (slash && dl + sizeof "/ecertd" <= cap) {
            memcpy(out, self, dl);
            memcpy(out + dl, "/ecertd", sizeof "/ecertd");
            if (access(out, X_OK) == 0)
                return;
        }
    }
    snprintf(out, cap, "ecertd");
}

static bool healthy(struct http_client *hc, const char *url)
{
    char u[256];
    snprintf(u, sizeof u, "%s/healthz", url);
    struct buf b = BUF_INIT(4096);
    int status = 0;
    ecert_status st = http_client_get(hc, u, 1000, &status, &b);
    buf_release(&b);
    return st == ECERT_OK && status == 200;
}

static const char *node_field(json_t *fed, const char *id, const char *field)
{
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(fed, "nodes"), i, n) {
        if (strcmp(json_string_value(json_object_get(n, "id")), id) == 0)
            return json_string_value(json_object_get(n, field));
    }
    return "";
}

static const char *app_of(json_t *fed, const char *province)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(fed, "apps"), i, a) {
        if (strcmp(json_string_value(json_object_get(a, "province")), province) == 0)
            return json_string_value(json_object_get(a, "appId"));
    }
    return "";
}

/* The walkthrough a newcomer can paste: a window in Jiangsu serves a person
 * whose certificates were issued in all four provinces. */
static void print_walkthrough(const char *dir, json_t *fed)
{
    size_t i;
    json_t *n;
    printf("\nnodes:\n");
    json_array_foreach(json_object_get(fed, "nodes"), i, n)
        printf("  %-10s %-9s %s\n", json_string_value(json_object_get(n, "id")),
               json_string_value(json_object_get(n, "role")),
               json_string_value(json_object_get(n, "url")));
    printf("\ndemo apps (keys in %s/apps/<appId>.json):\n", dir);
    json_array_foreach(json_object_get(fed, "apps"), i, n)
        printf("  %-12s %-8s %s\n", json_string_value(json_object_get(n, "appId")),
               json_string_value(json_object_get(n, "province")),
               json_string_value(json_object_get(n, "corpName")));
    /* A person with a valid Shanghai certificate, and the scene that allows
     * the most of their types. */
    json_t *person = NULL;
    const char *sh_id = "", *sh_type = "";
    json_array_foreach(json_object_get(fed, "holders"), i, n) {
        size_t k;
        json_t *c;
        if (person || strcmp(json_string_value(json_object_get(n, "type")), "111") != 0)
            continue;
        json_array_foreach(json_object_get(n, "certificates"), k, c) {
            if (!person &&
                strcmp(json_string_value(json_object_get(c, "province")), "YRD-SH") == 0 &&
                strcmp(json_string_value(json_object_get(c, "status")), "valid") == 0) {
                person = n;
                sh_id = json_string_value(json_object_get(c, "id"));
                sh_type = json_string_value(json_object_get(c, "typeCode"));
            }
        }
    }
    if (!person)
        return;
    const char *sh_scene = "", *wide_scene = "";
    size_t best = 0;
    for (size_t s = 0; s < sample_nscenes; s++) {
        for (size_t t = 0; t < sample_scenes[s].ntypes; t++)
            if (!sh_scene[0] && strcmp(sample_scenes[s].types[t], sh_type) == 0)
                sh_scene = sample_scenes[s].item_code;
        if (sample_scenes[s].ntypes > best) {
            best = sample_scenes[s].ntypes;
            wide_scene = sample_scenes[s].item_code;
        }
    }
    const char *trust_pub = node_field(fed, "YRD-TRUST", "publicKey");
    const char *js_app = app_of(fed, "YRD-JS"), *zj_app = app_of(fed, "YRD-ZJ");
    printf("\nwalkthrough — a window in Jiangsu serves %s (paste line by line; ecert is on PATH\n"
           "under make run; P holds the purpose fields every sharing call carries):\n\n",
           json_string_value(json_object_get(person, "name")));
    printf("  D=%s; CA=\"--ca $D/ca.pem\"\n", dir);
    printf("  P='\"UseFor\":\"业务办理\",\"itemName\":\"业务办理\",\"itemOrg\":\"苏州市政务服务中心\","
           "\"operator\":\"王五\",\"bizNum\":\"B0001\"'\n");
    printf("  JS=\"%s --app %s --key @$D/apps/%s.json --node-pub %s $CA\"\n",
           node_field(fed, "YRD-JS", "url"), js_app, js_app, node_field(fed, "YRD-JS", "publicKey"));
    printf("  ZJ=\"%s --app %s --key @$D/apps/%s.json --node-pub %s $CA\"\n",
           node_field(fed, "YRD-ZJ", "url"), zj_app, zj_app, node_field(fed, "YRD-ZJ", "publicKey"));
    printf("\n  # 1. a trusted token: the window read the ID card (authType 2); idNo goes\n"
           "  #    SM2-encrypted to the trust node\n");
    printf("  E=$(printf %%s %s | ecert sm2 encrypt --pub %s)\n",
           json_string_value(json_object_get(person, "code")), trust_pub);
    printf("  T=$(ecert call %s trust/token/person --app %s --key @$D/apps/%s.json --node-pub %s "
           "$CA \\\n     '{\"transactionId\":\"T1\",\"authType\":\"2\",\"name\":\"%s\",\"idType\":\"1\","
           "\"idNo\":\"'$E'\"}'"
           " | sed 's/.*\"trustedToken\":\"\\([^\"]*\\)\".*/\\1/')\n",
           node_field(fed, "YRD-TRUST", "url"), js_app, js_app, trust_pub,
           json_string_value(json_object_get(person, "name")));
    printf("\n  # 2. search the whole region from Jiangsu (the hub fans out to the four provinces)\n");
    printf("  ecert call $JS cert/search '{\"trustedToken\":\"'$T'\",\"itemCode\":\"%s\",'\"$P\"'}'\n",
           wide_scene);
    printf("\n  # 3. download a certificate issued in Shanghai, from Jiangsu\n");
    printf("  ecert call $JS cert/file/by-id '{\"CertificateID\":\"%s\",\"trustedToken\":\"'$T'\","
           "\"itemCode\":\"%s\",'\"$P\"'}'\n",
           sh_id, sh_scene);
    printf("\n  # 4. the holder shows a code (亮码) from their app in Jiangsu; a window in Zhejiang "
           "scans it\n");
    printf("  C=$(ecert call $JS code/issue '{\"trustedToken\":\"'$T'\"}' | "
           "sed 's/.*\"qrcode\":\"\\([^\"]*\\)\".*/\\1/')\n");
    printf("  ecert call $ZJ code/verify '{\"qrcode\":\"'$C'\",\"itemCode\":\"%s\",'\"$P\"'}'\n\n",
           wide_scene);
    fflush(stdout);
}

static int federation_run(int argc, char **argv)
{
    if (argc >= 2 && cli_is_help(argv[1])) {
        fputs(usage_federation, stdout);
        return EXIT_OK;
    }
    if (argc != 2)
        return cli_usage_error("federation run: DIR is required (try --help)");
    const char *dir = argv[1];
    char path[FED_PATH_MAX];
    snprintf(path, sizeof path, "%s/federation.json", dir);
    json_error_t jerr;
    json_t *fed = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    json_t *nodes = json_object_get(fed, "nodes");
    if (!fed || !json_is_array(nodes))
        return cli_usage_error("federation run: %s is not a federation (%s)", path,
                               fed ? "no nodes" : jerr.text);
    char ecertd[PATH_MAX];
    find_ecertd(ecertd, sizeof ecertd);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    size_t nn = json_array_size(nodes);
    pid_t pids[16] = {0};
    if (nn > 16)
        nn = 16;
    for (size_t i = 0; i < nn; i++) {
        const char *cfg = json_string_value(json_object_get(json_array_get(nodes, i), "config"));
        char cpath[FED_PATH_MAX];
        snprintf(cpath, sizeof cpath, "%s/%s", dir, cfg ? cfg : "");
        pid_t pid = fork();
        if (pid == 0) {
            execl(ecertd, ecertd, "--config", cpath, (char *)NULL);
            execlp("ecertd", "ecertd", "--config", cpath, (char *)NULL);
            fprintf(stderr, "ecert: cannot run %s: %s\n", ecertd, strerror(errno));
            _exit(127);
        }
        pids[i] = pid;
    }
    /* Wait until every node answers /healthz (or 20 s pass). */
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    struct http_client *hc = NULL;
    int up = 0;
    if (http_client_new(path, &hc) == ECERT_OK) {
        for (int t = 0; t < 200 && !got_signal; t++) {
            up = 0;
            for (size_t i = 0; i < nn; i++)
                up += healthy(hc, json_string_value(
                                      json_object_get(json_array_get(nodes, i), "url")));
            if ((size_t)up == nn)
                break;
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        http_client_free(hc);
    }
    if ((size_t)up == nn)
        print_walkthrough(dir, fed);
    else if (!got_signal)
        fprintf(stderr, "ecert: federation run: only %d of %zu nodes answer /healthz\n", up, nn);
    printf("federation running (%zu nodes); Ctrl-C stops it\n", nn);
    fflush(stdout);
    size_t alive = nn;
    while (alive > 0) {
        if (got_signal) {
            for (size_t i = 0; i < nn; i++)
                if (pids[i] > 0)
                    kill(pids[i], SIGTERM);
            got_signal = 0;
        }
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (size_t i = 0; i < nn; i++)
            if (pids[i] == pid) {
                pids[i] = 0;
                alive--;
                const char *id =
                    json_string_value(json_object_get(json_array_get(nodes, i), "id"));
                if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                    fprintf(stderr, "ecert: node %s stopped (status %d)\n", id,
                            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            }
    }
    json_decref(fed);
    return EXIT_OK;
}

int cmd_federation(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage_federation, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "init") == 0)
        return federation_init(argc - 1, argv + 1);
    if (strcmp(argv[1], "run") == 0)
        return federation_run(argc - 1, argv + 1);
    return cli_usage_error("federation: unknown subcommand '%s' (try --help)", argv[1]);
}
