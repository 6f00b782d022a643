/*
 * cmd_trust.c — operator commands of the trust node:
 *   ecert trust app allocate --config FILE --corp-name NAME --corp-code USCC [--province ID]
 * prints {"appId":"…","appSecret":"…"}: the credentials an organisation's app
 * then presents to 表8 (trust/app/register) with its SM2 public key. The
 * secret is shown once; the store keeps only its scrypt hash.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/secure.h"
#include "envelope/envelope.h"
#include "node/config.h"
#include "node/node.h"
#include "store/store.h"

static const char usage_trust[] =
    "usage: ecert trust app allocate --config FILE --corp-name NAME --corp-code USCC\n"
    "                                [--province NODE-ID]\n"
    "       ecert trust app disable --config FILE --app APPID\n"
    "       ecert trust app enable --config FILE --app APPID\n"
    "\n"
    "allocate  allocates an appID and appSecret in the trust node's store (the node's\n"
    "          node.ini names it) and prints {\"appId\":\"…\",\"appSecret\":\"…\"}.\n"
    "          The secret is shown once.\n"
    "disable   refuses the app everywhere: at once at the trust node, and at the\n"
    "          provinces when their cached copy expires ([limits] app_cache_s, 60 s;\n"
    "          a province's other processes follow the first within a second).\n"
    "enable    lifts a disable (the app keeps its registered key).\n";

int cmd_trust(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage_trust, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "app") != 0)
        return cli_usage_error("trust: unknown subcommand '%s' (try --help)", argv[1]);
    if (argc < 3 || cli_is_help(argv[2])) {
        fputs(usage_trust, argc < 3 ? stderr : stdout);
        return argc < 3 ? EXIT_USAGE : EXIT_OK;
    }
    bool allocate = strcmp(argv[2], "allocate") == 0;
    bool disable = strcmp(argv[2], "disable") == 0;
    if (!allocate && !disable && strcmp(argv[2], "enable") != 0)
        return cli_usage_error("trust app: unknown subcommand '%s' (try --help)", argv[2]);
    struct cli_opt opts[] = {{"--config", true, NULL},   {"--corp-name", true, NULL},
                             {"--corp-code", true, NULL}, {"--province", true, NULL},
                             {"--app", true, NULL},       {"--help", false, NULL}};
    size_t nopts = sizeof opts / sizeof opts[0];
    int next = cli_parse_opts(argc, argv, 3, opts, nopts);
    if (next < 0)
        return EXIT_USAGE;
    if (cli_opt(opts, nopts, "--help")) {
        fputs(usage_trust, stdout);
        return EXIT_OK;
    }
    if (next < argc)
        return cli_usage_error("trust app %s: unexpected argument '%s'", argv[2], argv[next]);
    const char *config = cli_opt(opts, nopts, "--config");
    const char *name = cli_opt(opts, nopts, "--corp-name");
    const char *code = cli_opt(opts, nopts, "--corp-code");
    const char *app_arg = cli_opt(opts, nopts, "--app");
    if (allocate && (!config || !name || !code))
        return cli_usage_error("trust app allocate: --config, --corp-name and --corp-code are "
                               "required");
    if (!allocate && (!config || !app_arg))
        return cli_usage_error("trust app %s: --config and --app are required", argv[2]);
    struct node_config cfg;
    ecert_status st = config_load(config, &cfg);
    if (st)
        return cli_fail("config", st);
    if (cfg.role != ROLE_TRUST)
        return cli_usage_error("trust app allocate: %s is a %s node, not the trust node", config,
                               config_role_name(cfg.role));
    struct store *store = NULL;
    struct store_config sc = {cfg.store_driver, cfg.store_path, 1, cfg.store_dsn};
    if ((st = store_open(&sc, &store)))
        return cli_fail("store", st);
    if (!allocate) {
        struct arena a;
        struct app app;
        arena_init(&a, 1 << 20);
        st = store_app_get(store, &a, app_arg, &app);
        if (!st) {
            /* Enabling an app that never registered returns it to "allocated". */
            app.status = disable ? APP_DISABLED : (app.public_key[0] ? APP_ACTIVE : APP_ALLOCATED);
            app.updated_ms = envelope_now_ms();
            st = store_app_put(store, &app);
        }
        arena_release(&a);
        store_close(store);
        if (st)
            return cli_fail(disable ? "trust app disable" : "trust app enable", st);
        printf("app %s %s\n", app_arg, disable ? "disabled" : "enabled");
        return EXIT_OK;
    }
    char app_id[TRUST_APP_ID_LEN + 1], secret[TRUST_SECRET_LEN + 1];
    st = trust_app_allocate(store, name, code, cli_opt(opts, nopts, "--province"), app_id, secret);
    store_close(store);
    if (st)
        return cli_fail("trust app allocate", st);
    printf("{\"appId\":\"%s\",\"appSecret\":\"%s\"}\n", app_id, secret);
    secure_wipe(secret, sizeof secret);
    return EXIT_OK;
}
