/*
 * ecert — the command-line tool: crypto and identifier toolbox, reference
 * client, and (in later versions) operator tool for ecertd.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_store.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"sm3", cmd_sm3, "SM3 digest of a file or stdin"},
    {"sm2", cmd_sm2, "SM2 keys, encryption and signatures (keygen|encrypt|decrypt|sign|verify)"},
    {"bench", cmd_bench, "SM2 throughput per engine, openssl vs fast (crypto)"},
    {"id", cmd_id, "check certificate identifiers, 公民身份号码 and 统一社会信用代码"},
    {"call", cmd_call, "one envelope round trip to a node (the reference client)"},
    {"trust", cmd_trust, "trust node operations (app allocate)"},
    {"federation", cmd_federation, "a local federation on loopback (init|run)"},
    {"directory", cmd_directory, "the signed directory and its published lists (show|publish)"},
    {"db", cmd_db, "create or migrate the node database (init)"},
    {"catalog", cmd_catalog, "load the certificate catalog into the store (import)"},
    {"scene", cmd_scene, "load the scene list into the store (import)"},
    {"cert", cmd_cert, "load certificates from JSON Lines into the store (import)"},
    {"records", cmd_records, "check the usage-record hash chain (verify)"},
    {"verify-file", cmd_verify, "verify the signatures of a signed OFD or PDF file"},
};

static void usage(FILE *f)
{
    fprintf(f, "ecert %s — Yangtze River Delta e-certificate sharing (长三角电子证照共享)\n\n"
               "usage: ecert COMMAND [ARGS]   (ecert COMMAND --help for details)\n\n"
               "commands:\n",
            ECERT_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nexit status: 0 success, 1 negative verdict, 2 usage or input error\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ecert %s\n", ECERT_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    return cli_usage_error("unknown command '%s' (try ecert --help)", argv[1]);
}
