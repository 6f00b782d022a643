/*
 * cmd_store.h — the operator commands that load data into a node's store
 * (cmd_db.c, cmd_import.c), and how they find the store.
 */
#ifndef ECERT_CLI_CMD_STORE_H
#define ECERT_CLI_CMD_STORE_H

#include "store/store.h"

/* Subcommands (argv[0] is the command word). */
int cmd_db(int argc, char **argv);
int cmd_catalog(int argc, char **argv);
int cmd_scene(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_records(int argc, char **argv);

/* Opens the store named by `config` (node.ini: its [store] section) or by
 * `db` (an SQLite file path or a postgresql:// URI); exactly one of them must
 * be given. `what` prefixes error messages ("cert import"). Returns EXIT_OK,
 * or EXIT_USAGE after printing one line on stderr. */
int cli_store_open(const char *what, const char *config, const char *db, struct store **out);

/* Help text shared by the commands for --config / --db. */
#define CLI_STORE_OPTIONS_HELP                                                                     \
    "  --config FILE   the node's node.ini; its [store] section names the database\n"              \
    "  --db PATH       the SQLite database file itself, or a PostgreSQL URI\n"                     \
    "                  (postgresql://...), instead of --config\n"

#endif
