/*
 * cmd_directory.c — publishing the signed directory and its lists:
 *
 *   ecert directory show --config TRUST_INI
 *   ecert directory publish --config TRUST_INI [--catalog FILE] [--scenes FILE]
 *
 * `publish` replaces the shared catalog (共享互认清单) and/or the scene list
 * (用证清单) in the trust node's directory, raises its version, signs it with
 * the trust key and writes it in place (atomically). The trust node re-reads
 * the file and every other node fetches it within [directory] refresh_s, so an
 * operator publishes a change once and every province applies it (the
 * standard: "定期更新发布"). Older versions are refused by the nodes.
 *
 * FILE formats: catalog — [{"typeCode","name","yrdShared"}]; scenes —
 * [{"itemCode","itemName","types":[…]}] or a federation.json (its "scenes").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/error.h"
#include "envelope/envelope.h"
#include "node/config.h"
#include "node/directory.h"

static const char usage_directory[] =
    "usage: ecert directory show --config TRUST_INI\n"
    "       ecert directory publish --config TRUST_INI [--catalog FILE] [--scenes FILE]\n"
    "\n"
    "show     prints the version and contents of the trust node's signed directory\n"
    "publish  replaces the catalog and/or the scene list, raises the version, signs\n"
    "         with the trust key and writes the directory file; nodes apply it within\n"
    "         [directory] refresh_s (60 s)\n";

static ecert_status load(const char *path, size_t max, struct buf *out)
{
    return cli_read_input(path, max, out);
}

/* Writes through a temporary file and a rename: nodes reading the file
 * concurrently see the old or the new document, never half of one. */
static ecert_status write_atomic(const char *path, const char *text, size_t len)
{
    char tmp[CONFIG_PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(ECERT_E_IO, "cannot write %s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return err_set(ECERT_E_IO, "cannot write %s", tmp);
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return err_set(ECERT_E_IO, "cannot replace %s: %s", path, strerror(errno));
    }
    return ECERT_OK;
}

static json_t *load_list(const char *path, const char *member)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        err_set(ECERT_E_JSON, "%s: %s (line %d)", path, jerr.text, jerr.line);
        return NULL;
    }
    if (json_is_object(j) && json_is_array(json_object_get(j, member))) {
        json_t *a = json_incref(json_object_get(j, member));
        json_decref(j);
        return a;
    }
    if (!json_is_array(j)) {
        json_decref(j);
        err_set(ECERT_E_JSON, "%s: expected an array (or an object with \"%s\")", path, member);
        return NULL;
    }
    return j;
}

int cmd_directory(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage_directory, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    bool publish = strcmp(argv[1], "publish") == 0;
    if (!publish && strcmp(argv[1], "show") != 0)
        return cli_usage_error("directory: unknown subcommand '%s' (try --help)", argv[1]);
    struct cli_opt opts[] = {{"--config", true, NULL},
                             {"--catalog", true, NULL},
                             {"--scenes", true, NULL},
                             {"--help", false, NULL}};
    size_t nopts = sizeof opts / sizeof opts[0];
    int next = cli_parse_opts(argc, argv, 2, opts, nopts);
    if (next < 0)
        return EXIT_USAGE;
    if (cli_opt(opts, nopts, "--help")) {
        fputs(usage_directory, stdout);
        return EXIT_OK;
    }
    if (next < argc)
        return cli_usage_error("directory: unexpected argument '%s'", argv[next]);
    const char *config = cli_opt(opts, nopts, "--config");
    if (!config)
        return cli_usage_error("directory: --config (the trust node's node.ini) is required");
    struct node_config cfg;
    ecert_status st = config_load(config, &cfg);
    if (st)
        return cli_fail("config", st);
    if (cfg.role != ROLE_TRUST || !cfg.directory_file[0])
        return cli_usage_error("directory: %s must be the trust node's configuration with a "
                               "[directory] file",
                               config);
    struct buf keytext = BUF_INIT(0), doc = BUF_INIT(0);
    struct sm2_key *key = NULL;
    struct directory *cur = NULL;
    json_t *payload = NULL;
    char *ptext = NULL;
    int rc = EXIT_USAGE;
    if ((st = load(cfg.private_key, 16384, &keytext)) ||
        (st = sm2_key_parse_private((char *)keytext.data, keytext.len, &key)) ||
        (st = load(cfg.directory_file, DIRECTORY_MAX_BYTES, &doc)) ||
        (st = directory_parse((char *)doc.data, doc.len, key, &cur))) {
        cli_fail("directory", st);
        goto done;
    }
    json_t *outer = json_loadb((char *)doc.data, doc.len, 0, NULL);
    const char *pl = json_string_value(json_object_get(outer, "payload"));
    payload = pl ? json_loads(pl, 0, NULL) : NULL;
    json_decref(outer);
    if (!payload) {
        cli_usage_error("directory: cannot read the payload");
        goto done;
    }
    if (!publish) {
        printf("version %lld, %zu nodes, %zu certificate types, %zu scenes\n",
               (long long)cur->version, cur->n, cur->ntypes, cur->nscenes);
        for (size_t i = 0; i < cur->n; i++)
            printf("  %-10s %-9s %s\n", cur->nodes[i].id, cur->nodes[i].role, cur->nodes[i].url);
        rc = EXIT_OK;
        goto done;
    }
    const char *cat = cli_opt(opts, nopts, "--catalog"), *sc = cli_opt(opts, nopts, "--scenes");
    if (!cat && !sc) {
        cli_usage_error("directory publish: give --catalog and/or --scenes");
        goto done;
    }
    if (cat) {
        json_t *a = load_list(cat, "catalog");
        if (!a) {
            cli_fail("directory publish", ECERT_E_JSON);
            goto done;
        }
        json_object_set_new(payload, "catalog", a);
    }
    if (sc) {
        json_t *a = load_list(sc, "scenes");
        if (!a) {
            cli_fail("directory publish", ECERT_E_JSON);
            goto done;
        }
        json_object_set_new(payload, "scenes", a);
    }
    if (!json_object_get(payload, "catalog") || !json_object_get(payload, "scenes")) {
        cli_usage_error("directory publish: the directory must carry both lists; give the "
                        "missing one too");
        goto done;
    }
    json_object_set_new(payload, "version", json_integer(cur->version + 1));
    json_object_set_new(payload, "issued", json_integer(envelope_now_ms()));
    ptext = json_dumps(payload, JSON_COMPACT);
    struct buf signed_doc = BUF_INIT(DIRECTORY_MAX_BYTES);
    struct directory *check = NULL;
    /* Sign, then parse our own output: what nodes will accept is checked
     * before the file is replaced. */
    if (!ptext || (st = directory_sign(ptext, strlen(ptext), key, &signed_doc)) ||
        (st = directory_parse((char *)signed_doc.data, signed_doc.len, key, &check)) ||
        (st = write_atomic(cfg.directory_file, (char *)signed_doc.data, signed_doc.len))) {
        cli_fail("directory publish", ptext ? st : ECERT_E_NOMEM);
    } else {
        printf("directory version %lld published: %zu certificate types, %zu scenes\n",
               (long long)check->version, check->ntypes, check->nscenes);
        rc = EXIT_OK;
    }
    directory_free(check);
    buf_release(&signed_doc);
done:
    free(ptext);
    json_decref(payload);
    directory_free(cur);
    sm2_key_free(key);
    buf_release_secret(&keytext);
    buf_release(&doc);
    return rc;
}
