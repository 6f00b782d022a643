/*
 * ecertd — one node of the federation (province, hub or trust), in the
 * foreground. The role comes from the configuration file. SIGTERM or SIGINT
 * stop it cleanly: the server stops accepting, in-flight requests finish,
 * the store is closed.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <ecert/ecert.h>

#include "common/error.h"
#include "crypto/sm2.h"
#include "node/config.h"
#include "node/node.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ecertd --config FILE        run one node in the foreground\n"
               "       ecertd --check-config FILE  validate the configuration and exit\n"
               "       ecertd --version\n");
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    int check_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("ecertd %s\n", ECERT_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "--check-config") == 0) &&
                   i + 1 < argc && !config) {
            check_only = strcmp(argv[i], "--check-config") == 0;
            config = argv[++i];
        } else {
            fprintf(stderr, "ecertd: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!config) {
        usage(stderr);
        return 2;
    }
    struct node_config cfg;
    ecert_status st = config_load(config, &cfg);
    if (st) {
        fprintf(stderr, "ecertd: %s\n", err_detail());
        return 2;
    }
    /* The SM2 engine is process-wide and set before any key exists. */
    if (cfg.crypto_engine[0]) {
        enum sm2_engine e;
        if (sm2_engine_from_name(cfg.crypto_engine, &e) || sm2_engine_set(e)) {
            fprintf(stderr, "ecertd: crypto_engine %s: %s\n", cfg.crypto_engine, err_detail());
            return 2;
        }
    }
    if (check_only) {
        printf("%s: %s %s, listen %s:%u\n", config, config_role_name(cfg.role), cfg.id,
               cfg.listen_ip, cfg.listen_port);
        return 0;
    }
    /* Signals are taken synchronously by this thread (sigwait), so that no
     * handler runs in the middle of a request on a pool thread. The mask is
     * set before any thread starts and inherited by all of them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct node *n = NULL;
    st = node_start(&cfg, &n);
    if (st) {
        fprintf(stderr, "ecertd: %s: %s\n", cfg.id, err_detail());
        return 1;
    }
    int sig = 0;
    sigwait(&set, &sig);
    node_log(n, "event=stopping signal=%d", sig);
    node_stop(n);
    return 0;
}
