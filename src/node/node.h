/*
 * node.h — one running node (province, hub or trust): configuration, keys,
 * store, HTTPS server, and the request pipeline every POST goes through:
 *
 *   parse envelope (1001-1004) → per-address limit (5003) → identify caller
 *   (3001) → timestamp window (2003) → verify signature (2002) → nonce replay
 *   (2004) → per-app limit (5003) → decrypt (2001) → endpoint handler →
 *   encrypt the result to the caller and sign.
 *
 * Role handlers (province.c, trust.c) see only `struct call`.
 */
#ifndef ECERT_NODE_NODE_H
#define ECERT_NODE_NODE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "common/arena.h"
#include "common/buf.h"
#include "crypto/sm2.h"
#include "http/server.h"
#include "node/appcache.h"
#include "node/config.h"
#include "node/metrics.h"
#include "node/ratelimit.h"
#include "store/store.h"

struct directory;
struct http_client;
struct x509_store;

/* What a node knows of each peer of its directory (index = position in the
 * directory): a circuit breaker and the figures /metrics shows. */
struct peer_health {
    char id[32];                  /* the peer's node id; "" = free slot */
    atomic_int failures;          /* consecutive */
    atomic_llong open_until_ms;   /* circuit open (fail fast) until then */
    atomic_llong last_ms_x1000;   /* last latency, microseconds */
    atomic_ullong calls, errors;
};
#define PEER_MAX 64
#define PEER_BREAK_AFTER 3        /* consecutive failures that open the circuit */
#define PEER_COOLDOWN_MS 5000     /* how long it stays open before a trial call */

struct node {
    struct node_config cfg;
    struct sm2_key *key;          /* this node's key pair */
    struct sm2_key *trust_pub;    /* YRD-TRUST's public key (provinces) */
    struct store *store;
    struct http_server *server;
    struct metrics metrics;
    struct appcache apps;         /* provinces: app keys fetched from trust */
    struct ratelimit rate;        /* per-app and per-address budgets (docs/limits.md) */
    /* app invalidations from the other processes on this store: the last
     * seq applied and when the store was last asked (inval_mu) */
    pthread_mutex_t inval_mu;
    int64_t inval_seq;
    int64_t inval_checked_ms;
    /* The signed directory in force (node_directory()): swapped whole when a
     * newer version arrives; replaced ones stay allocated until node_stop,
     * so a request that loaded the pointer never sees it freed. */
    _Atomic(struct directory *) directory;
    struct directory *retired[64];
    size_t nretired;
    pthread_mutex_t dir_mu;
    /* trust role: the SM2 CA that issues app certificates */
    char *ca_cert_pem;
    struct sm2_key *ca_key;
    /* background work (provinces pull token revocations) */
    pthread_t bg;
    bool bg_running;
    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cv;
    bool stopping;
    FILE *log;
    pthread_mutex_t log_mu;
    struct peer_health peers[PEER_MAX];
    pthread_mutex_t peer_mu;      /* claiming a slot for a new peer id */
    atomic_ullong fallbacks;      /* hub calls replaced by direct ones */
    uint8_t code_key[16];         /* holder codes: SM4 key (holdercode.h) */
    struct x509_store *anchors;   /* roots trusted for certificate files, or NULL */
};

/* One request being served. */
struct call {
    struct node *node;
    struct arena *arena;
    const char *endpoint;        /* path after /api/v1/, e.g. "cert/search" */
    const char *app_id;          /* the caller (an app, or node:<id>) */
    const char *node_caller;     /* the calling node's id, or NULL for apps */
    struct sm2_key *caller_pub;  /* borrowed reference, for the response */
    json_t *business;            /* the decrypted business JSON object */
    int64_t now_ms;
    struct buf result;           /* business JSON of a successful answer */
    const char *requester_app;   /* node calls: the app the request came from */
    const char *requester_node;  /* node calls: the province it came through */
};

typedef ecert_status (*endpoint_fn)(struct call *c);

struct endpoint {
    const char *name;            /* "cert/search" */
    enum node_role role;
    endpoint_fn fn;
    int flags;
};
enum endpoint_flags {
    EP_NODE_ONLY = 1,            /* only node:<id> callers */
    EP_SELF_KEYED = 2,           /* the caller's key is inside the business (表8) */
};

/* Loads keys, opens the store, starts serving. */
ecert_status node_start(const struct node_config *cfg, struct node **out);
void node_stop(struct node *n);

/* Logging: one logfmt line, never a secret or an identity number. */
void node_log(struct node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Endpoint tables of the roles. */
const struct endpoint *province_endpoints(size_t *n);
const struct endpoint *trust_endpoints(size_t *n);
const struct endpoint *hub_endpoints(size_t *n);
ecert_status province_start(struct node *n);
void province_stop(struct node *n);
ecert_status trust_start(struct node *n);

/* Operator: allocates an appID and appSecret for an organisation (the step
 * before the app calls 表8). The secret is stored only as a slow hash. */
#define TRUST_APP_ID_LEN 10
#define TRUST_SECRET_LEN 32
ecert_status trust_app_allocate(struct store *s, const char *corp_name, const char *corp_code,
                                const char *province, char app_id[TRUST_APP_ID_LEN + 1],
                                char secret[TRUST_SECRET_LEN + 1]);

/* Peers (slot from peer_slot): may a call go out now (circuit
 * closed or due for a trial), record its outcome, and this thread's HTTPS
 * client for the peer (connections stay open between calls). */
struct directory *node_directory(struct node *n);
/* The health slot of peer `id` (claimed on first use); PEER_MAX when full. */
size_t peer_slot(struct node *n, const char *id);
bool peer_allow(struct node *n, size_t idx, int64_t now_ms);
void peer_report(struct node *n, size_t idx, bool ok, double ms);
struct http_client *peer_client(struct node *n, size_t idx);

/* A node-to-node call: builds the envelope (appId node:<self>), posts it to
 * `url` + "/api/v1/" + endpoint, checks the response signature with
 * `peer_pub` and returns the response code and business JSON. */
ecert_status node_call(struct node *n, const char *base_url, const struct sm2_key *peer_pub,
                       const char *endpoint, const char *business, long timeout_ms, int *code,
                       struct buf *result);

#endif
