/*
 * util_fed.h — the end-to-end harness: a local federation made by
 * `ecert federation init` in a temporary directory, real ecertd processes
 * started from it, and the clients a test needs to talk to them.
 *
 * Lifecycle (one federation per test executable):
 *
 *   fed_start()        mkdtemp, federation init on a free port range, node.ini
 *                      edits, start the requested nodes, wait for /healthz
 *   ... tests ...      SDK clients (fed_client), raw envelopes (fed_raw),
 *                      the CLI (fed_cli), tokens (fed_token)
 *   fed_stop_all()     SIGTERM to every node; 0 only when each exits 0 in 10 s
 *   fed_finish()       stops what is left, removes the directory unless the
 *                      run failed (then prints where the logs are)
 *
 * With ECERT_E2E_PG_DSN set, the federation keeps its stores in that
 * PostgreSQL database instead of SQLite files (federation init --store
 * postgres, one schema per node; see tests/e2e/test_pg_federation.c).
 *
 * Node logs go to DIR/logs/<node id>.log, the CLI's stderr to DIR/logs/cli.log.
 * Daemons inherit ASAN_OPTIONS with detect_leaks=1 added, so a sanitizer
 * report or a leak at shutdown makes the daemon exit non-zero, which fails
 * the run.
 */
#ifndef ECERT_TESTS_E2E_UTIL_FED_H
#define ECERT_TESTS_E2E_UTIL_FED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ecert/ecert.h>
#include <jansson.h>

#include "common/buf.h"
#include "crypto/sm2.h"

#define FED_PATH 1024
#define FED_MAX_NODES 8
#define FED_MAX_CLIENTS 64
#define FED_MAX_KEYS 64
#define FED_TOKEN_MAX 4096

struct fed_node {
    char id[16];
    char url[64];
    char ini[FED_PATH];
    char log[FED_PATH];
    struct sm2_key *pub;     /* from federation.json */
    ecert_key *epub;         /* the same key for the SDK */
    pid_t pid;               /* 0 when not running */
    int exit_status;         /* after a stop: 0 = clean exit */
};

struct fed {
    char dir[FED_PATH];
    char ca[FED_PATH];
    int base_port;
    json_t *json;                 /* federation.json */
    struct fed_node nodes[FED_MAX_NODES];
    size_t nnodes;
    struct sm2_key *trust_key;    /* YRD-TRUST's private key (to mint tokens) */
    struct http_client *http;     /* raw requests */
    ecert_client *clients[FED_MAX_CLIENTS];
    size_t nclients;
    ecert_key *keys[FED_MAX_KEYS];
    size_t nkeys;
    bool failed;                  /* keep the directory */
};

/* A node.ini edit applied before the nodes start: in `section` of `node`'s
 * node.ini, set `key` (replacing the line or adding it). */
struct fed_ini_set {
    const char *node;
    const char *section;
    const char *key;
    const char *value;
};

/* Makes and starts a federation running the nodes `ids` (NULL-terminated;
 * NULL = every node of federation.json).
 * Retries on another port range when a node cannot start (a clash with a
 * parallel test). NULL on failure, with the reason on stderr. */
struct fed *fed_start(const char *const *ids, const struct fed_ini_set *sets, size_t nsets);
/* SIGTERM to one node; 0 when it exited 0 within 10 s (else SIGKILL, -1). */
int fed_stop_node(struct fed *f, const char *id);
/* Stops every running node; the number of nodes that did not exit cleanly. */
int fed_stop_all(struct fed *f);
/* Stops what runs, frees everything, removes the directory unless `failed`
 * (or a node failed to stop); returns the number of unclean node exits. */
int fed_finish(struct fed *f, bool failed);

const struct fed_node *fed_node(const struct fed *f, const char *id);
/* federation.json's demo app of province `id` (appId, privateKey, …). */
const json_t *fed_app(const struct fed *f, const char *province);
/* An SDK client of node `node_id` calling as `app_id` with the private key
 * `priv_hex`; owned by the federation (freed by fed_finish). */
ecert_client *fed_client(struct fed *f, const char *node_id, const char *app_id,
                         const char *priv_hex);
/* The same for a federation.json demo app of province `app_province`. */
ecert_client *fed_app_client(struct fed *f, const char *node_id, const char *app_province);

/* 表9 through the SDK (authType 2, permission may be NULL): the node's code,
 * and the token in `tok` when it is 0. */
int fed_token(ecert_client *trust, const char *holder_code, const char *permission,
              char tok[FED_TOKEN_MAX]);
/* A standard purpose for scene `item_code`; `biz` tags the call (bizNum), so
 * that its usage record can be found again. */
void fed_purpose(ecert_purpose *p, const char *item_code, const char *biz);

/* ---- raw requests -----------------------------------------------------------*/

struct fed_raw_req {
    const char *node;               /* target node id */
    const char *endpoint;           /* "cert/search" */
    const char *app_id;             /* envelope appId */
    const struct sm2_key *sign_key; /* signs the envelope */
    const struct sm2_key *app_key;  /* opens the answer (NULL = sign_key) */
    const struct sm2_key *enc_to;   /* encryptData recipient (NULL = the node) */
    int64_t ts_offset_ms;           /* added to the current time */
    const char *business;           /* business JSON */
};

struct fed_reply {
    int http;              /* HTTP status */
    int code;              /* the response's "code" (-1 when absent) */
    bool is_signed;        /* a signature that verified with the node key */
    json_t *result;        /* decrypted business JSON for code 0, else NULL */
    char msg[1200];        /* msg: detail */
};

/* Builds the envelope into `out` (cap ENVELOPE_MAX_BODY); nonce_out may be NULL. */
int fed_envelope(struct fed *f, const struct fed_raw_req *rq, struct buf *out, char *nonce_out);
/* POSTs `body` to node + path ("/api/v1/..."); opens the answer when it is an
 * envelope (verifying the node's signature and the nonce echo when
 * `nonce` is given). 0 when an HTTP answer arrived. */
int fed_post(struct fed *f, const char *node, const char *path, const void *body, size_t len,
             const struct sm2_key *app_key, const char *nonce, struct fed_reply *out);
/* fed_envelope + fed_post. */
int fed_raw(struct fed *f, const struct fed_raw_req *rq, struct fed_reply *out);
void fed_reply_release(struct fed_reply *r);
/* GET node + path: HTTP status and body (cap 1 MiB) in `out`. */
int fed_get(struct fed *f, const char *node, const char *path, int *http, struct buf *out);

/* The HTTP status SPEC §5 pairs with a code, from the table in the SPEC
 * (written out here, not taken from the library under test). */
int fed_spec_http(int code);

/* ---- the CLI ------------------------------------------------------------------*/

/* Runs ECERT_BIN with the NULL-terminated arguments; stdout goes to `out`
 * (NUL-terminated, cut at cap), stderr to DIR/logs/cli.log. The exit status,
 * or -1 when it did not exit normally. */
int fed_cli(struct fed *f, char *out, size_t cap, ...) __attribute__((sentinel));

/* ---- small things ---------------------------------------------------------------*/

/* A fresh SM2 key pair (owned by the caller). */
struct sm2_key *fed_new_key(void);
/* Sleeps `ms` milliseconds. */
void fed_sleep_ms(unsigned ms);
/* Path of a file in the federation directory. */
void fed_path(const struct fed *f, char *out, size_t cap, const char *rel);

#endif
