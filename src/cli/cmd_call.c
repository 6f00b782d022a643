/*
 * cmd_call.c — `ecert call URL PATH --app APPID --key KEY --node-pub KEY
 * [--ca PEM] [JSON]`: one envelope round trip through the SDK, the business
 * JSON of the answer on stdout (SPEC §8). The reference client: everything an
 * integrator's system does for one call, and nothing more.
 *
 * Exit status: 0 when the node answered code 0; 1 when it answered another
 * code (printed as {"code":…,"msg":…} on stdout, so scripts can read it);
 * 2 for usage errors, unreachable nodes and answers that fail verification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/secure.h"
#include "sdk/sdk.h"

#include <jansson.h>

static const char usage_call[] =
    "usage: ecert call URL PATH --app APPID --key KEY --node-pub KEY [--ca PEM] [--timeout MS]\n"
    "                  [JSON]\n"
    "\n"
    "Sends JSON (the business data; read from stdin when absent) to URL/api/v1/PATH in an\n"
    "envelope signed with KEY (the app's private key) and encrypted to --node-pub, then\n"
    "verifies, decrypts and prints the answer's business JSON.\n"
    "\n"
    "  URL          the node, e.g. https://127.0.0.1:8442\n"
    "  PATH         the endpoint, e.g. cert/search (a leading /api/v1/ is accepted)\n"
    "  --app        the appId (or node:<id> for node-to-node calls)\n"
    "  --key        the app's private key: hex, PEM, or @FILE (safer than the command line)\n"
    "  --node-pub   the node's public key: 04+128 hex, PEM, or @FILE\n"
    "  --ca         CA bundle to trust for the node's TLS certificate\n"
    "  --timeout    milliseconds for the whole call (default 30000)\n"
    "\n"
    "exit status: 0 code 0, 1 another code (JSON on stdout), 2 usage or transport error\n";

int cmd_call(int argc, char **argv)
{
    if (argc >= 2 && cli_is_help(argv[1])) {
        fputs(usage_call, stdout);
        return EXIT_OK;
    }
    struct cli_opt opts[] = {{"--app", true, NULL},  {"--key", true, NULL},
                             {"--node-pub", true, NULL}, {"--ca", true, NULL},
                             {"--timeout", true, NULL}, {"--help", false, NULL}};
    size_t nopts = sizeof opts / sizeof opts[0];
    /* Options may come before or after URL and PATH. */
    const char *pos[3] = {NULL, NULL, NULL};
    size_t npos = 0;
    int i = 1;
    while (i < argc) {
        int next = cli_parse_opts(argc, argv, i, opts, nopts);
        if (next < 0)
            return EXIT_USAGE;
        if (cli_opt(opts, nopts, "--help")) {
            fputs(usage_call, stdout);
            return EXIT_OK;
        }
        if (next >= argc)
            break;
        if (npos == 3)
            return cli_usage_error("call: too many arguments (try --help)");
        pos[npos++] = argv[next];
        i = next + 1;
    }
    if (npos < 2)
        return cli_usage_error("call: URL and PATH are required (try --help)");
    const char *app = cli_opt(opts, nopts, "--app");
    if (!app)
        return cli_usage_error("call: missing --app (try --help)");
    long timeout = 30000;
    const char *tv = cli_opt(opts, nopts, "--timeout");
    if (tv) {
        char *end;
        timeout = strtol(tv, &end, 10);
        if (*end || timeout <= 0 || timeout > 3600000)
            return cli_usage_error("call: --timeout wants milliseconds in 1..3600000");
    }
    const char *path = pos[1];
    if (strncmp(path, "/api/v1/", 8) == 0)
        path += 8;
    else if (path[0] == '/')
        path++;

    struct sm2_key *key = NULL, *node_pub = NULL;
    bool key_stdin = false;
    int rc = cli_load_key("--key", (char *)cli_opt(opts, nopts, "--key"), true, &key, &key_stdin);
    if (rc == EXIT_OK)
        rc = cli_load_key("--node-pub", (char *)cli_opt(opts, nopts, "--node-pub"), false,
                          &node_pub, &key_stdin);
    if (rc != EXIT_OK) {
        sm2_key_free(key);
        return rc;
    }
    struct buf body = BUF_INIT(16u << 20);
    ecert_status st = ECERT_OK;
    if (pos[2]) {
        st = buf_append_str(&body, pos[2]);
    } else if (key_stdin) {
        st = err_set(ECERT_E_MALFORMED, "JSON must be an argument when a key is read from stdin");
    } else {
        st = cli_read_input(NULL, 16u << 20, &body);
    }
    if (st) {
        sm2_key_free(key);
        sm2_key_free(node_pub);
        buf_release_secret(&body);
        return cli_fail("call", st);
    }
    ecert_key app_key = {key}, peer = {node_pub};
    ecert_client *client = NULL;
    int code = -1;
    char *result = NULL, *msg = NULL;
    st = ecert_client_new(pos[0], cli_opt(opts, nopts, "--ca"), app, &app_key, &peer, &client);
    if (!st) {
        ecert_client_set_timeout(client, timeout);
        st = ecert_client_call(client, path, (const char *)body.data, &code, &result, &msg);
    }
    unsigned retry_after = ecert_client_retry_after(client);
    ecert_client_free(client);
    sm2_key_free(key);
    sm2_key_free(node_pub);
    buf_release_secret(&body);
    if (st)
        return cli_fail("call", st);
    if (code == 0) {
        fputs(result, stdout);
        fputc('\n', stdout);
        secure_wipe(result, strlen(result));
        free(result);
        return EXIT_OK;
    }
    json_t *o = json_pack("{s:i,s:s}", "code", code, "msg", msg ? msg : "");
    if (o && retry_after > 0) /* 5003: when to try again, in seconds */
        json_object_set_new(o, "retryAfter", json_integer(retry_after));
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    printf("%s\n", text ? text : "{}");
    fprintf(stderr, "ecert: call: the node answered %d: %s\n", code, msg ? msg : "");
    free(text);
    json_decref(o);
    free(msg);
    return EXIT_NEGATIVE;
}
