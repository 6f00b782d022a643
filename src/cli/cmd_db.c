/*
 * cmd_db.c — `ecert db init`: create or migrate a node's database, and the
 * store lookup every operator command shares (--config FILE or --db PATH).
 *
 *   ecert db init (--config FILE | --db PATH)   prints "schema version N"
 *
 * --config reads node.ini with config_load(), the same validating reader
 * ecertd uses, so the store an operator loads is the one the daemon opens
 * ([store] driver, path relative to the file, pool, dsn). --db names an
 * SQLite file, or a PostgreSQL database by its URI (postgresql://...),
 * directly, for tools and tests that have no node.ini.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_store.h"
#include "common/error.h"
#include "node/config.h"

/* An operator command makes one store call at a time. */
#define CLI_POOL 2

int cli_store_open(const char *what, const char *config, const char *db, struct store **out)
{
    if (config && db)
        return cli_usage_error("%s: give --config or --db, not both", what);
    if (!config && !db)
        return cli_usage_error("%s: --config FILE or --db PATH is required", what);
    struct store_config cfg = {"sqlite", db, CLI_POOL, NULL};
    if (db && (strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0)) {
        cfg.driver = "postgres";
        cfg.dsn = db;
    }
    struct node_config *nc = NULL;
    if (config) {
        /* struct node_config is a few KiB of paths: not for the stack. */
        nc = calloc(1, sizeof *nc);
        if (!nc)
            return cli_usage_error("%s: out of memory", what);
        ecert_status st = config_load(config, nc);
        if (st) {
            free(nc);
            return cli_fail(what, st);
        }
        cfg.driver = nc->store_driver;
        cfg.path = nc->store_path;
        cfg.dsn = nc->store_dsn;
    }
    ecert_status st = store_open(&cfg, out);
    free(nc);
    if (st)
        return cli_fail(what, st);
    return EXIT_OK;
}

/* ---- ecert db ------------------------------------------------------------ */

static void db_usage(FILE *f)
{
    fputs("usage: ecert db init (--config FILE | --db PATH)\n"
          "\n"
          "init: creates the node's database if it does not exist, applies pending\n"
          "  schema migrations (each in one transaction; a no-op when up to date) and\n"
          "  prints \"schema version N\".\n"
          "\n" CLI_STORE_OPTIONS_HELP "\n"
          "exit status: 0 success, 2 usage error or database failure\n",
          f);
}

static int db_init(int argc, char **argv)
{
    struct cli_opt opts[] = {{"--config", true, NULL}, {"--db", true, NULL}};
    const size_t nopts = sizeof opts / sizeof opts[0];
    for (int i = 2; i < argc; i++)
        if (cli_is_help(argv[i])) {
            db_usage(stdout);
            return EXIT_OK;
        }
    int pos = cli_parse_opts(argc, argv, 2, opts, nopts);
    if (pos < 0)
        return EXIT_USAGE;
    if (pos < argc)
        return cli_usage_error("db init: unexpected argument '%s'", argv[pos]);
    struct store *s = NULL;
    int rc = cli_store_open("db init", cli_opt(opts, nopts, "--config"),
                            cli_opt(opts, nopts, "--db"), &s);
    if (rc)
        return rc;
    printf("schema version %d\n", store_schema_version(s));
    store_close(s);
    return EXIT_OK;
}

int cmd_db(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("db: missing subcommand (try ecert db --help)");
    if (cli_is_help(argv[1])) {
        db_usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "init") == 0)
        return db_init(argc, argv);
    return cli_usage_error("db: unknown subcommand '%s' (try ecert db --help)", argv[1]);
}
