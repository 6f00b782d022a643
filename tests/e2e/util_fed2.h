/*
 * util_fed2.h — what the federation tests (test_fed_*.c) add to the e2e
 * harness of util_fed.h: starting a federation with an extra published scene
 * list, stopping and restarting single nodes, reading a node's log and
 * /metrics, and impostors that take a node's port:
 *
 *   a black hole     a plain TCP listener that accepts and never writes
 *                    (a province that hangs);
 *   an impostor      an HTTPS server with the node's own TLS identity that
 *                    answers garbage, an envelope signed by the wrong key, a
 *                    genuine-looking envelope with a stale nonce, an unsigned
 *                    envelope — or, in place of the trust node, serves a
 *                    given directory document.
 *
 * Everything here works on the struct fed of util_fed.h and leaves the
 * harness's bookkeeping (pids, exit statuses) consistent, so fed_finish()
 * still stops every node it started and reports unclean exits.
 */
#ifndef ECERT_TESTS_E2E_UTIL_FED2_H
#define ECERT_TESTS_E2E_UTIL_FED2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util_fed.h"

/* Monotonic milliseconds, for measuring deadlines. */
int64_t fed2_now_ms(void);

/* fed_start() for every node, except that when `all_scene` is not NULL a
 * scene of that itemCode allowing every certificate type of the sample data
 * is first published with `ecert directory publish` (on top of
 * federation.json's scenes), so that every node starts with it and one call
 * can see all of a holder's certificates. NULL on failure (reason on stderr). */
struct fed *fed2_start(const struct fed_ini_set *sets, size_t nsets, const char *all_scene);

/* Starts node `id` (stopped before) and waits for its /healthz; 0 when it
 * answers within 30 s. */
int fed2_start_node(struct fed *f, const char *id);
/* Starts every node that is not running (after a test that failed half way). */
int fed2_start_missing(struct fed *f);
/* true when `id`'s process runs. */
bool fed2_running(const struct fed *f, const char *id);

/* Another ecertd process of node `id` sharing its store (as behind a load
 * balancer): a copy of its node.ini beside it, node-<name>.ini (relative
 * paths stay valid), that listens on another free port, logging to
 * DIR/logs/<id>-<name>.log, with app_cache_s replaced when it is not 0.
 * The harness does not know it: stop it with fed2_twin_stop. */
struct fed2_twin {
    pid_t pid;
    char url[64];
    char log[FED_PATH + 32];
};
/* 0 when the twin answers /healthz within 30 s. */
int fed2_twin_start(struct fed *f, const char *id, const char *name, unsigned app_cache_s,
                    struct fed2_twin *out);
/* SIGTERM; 0 when it exits 0 within 10 s (else SIGKILL, -1). 0 for a twin
 * that is not running. */
int fed2_twin_stop(struct fed2_twin *t);
/* Points node `id`'s entry at `url` (the harness' calls by node id then go
 * there); `saved` (64 bytes) receives the previous URL, to put back with
 * fed2_swap_url(f, id, saved, saved). */
void fed2_swap_url(struct fed *f, const char *id, const char *url, char saved[64]);

/* The private key of node `id` (DIR/<id>/node.key); the caller frees it. */
struct sm2_key *fed2_node_key(const struct fed *f, const char *id);
/* The port of node `id` (from its URL); -1 when unknown. */
int fed2_port(const struct fed *f, const char *id);

/* ---- logs and metrics ------------------------------------------------------- */

/* The current size of `id`'s log: lines after this mark are "new". */
long fed2_log_mark(const struct fed *f, const char *id);
/* Number of lines of `id`'s log after `mark` that contain `a` and (when not
 * NULL) `b`. */
int fed2_log_count(const struct fed *f, const char *id, long mark, const char *a, const char *b);
/* Polls fed2_log_count until it is at least 1, for up to `wait_ms`. */
bool fed2_log_wait(const struct fed *f, const char *id, long mark, const char *a, const char *b,
                   unsigned wait_ms);

/* Sum of the samples of metric `name` on `id`'s /metrics whose label set
 * contains `labels` (e.g. "peer=\"YRD-SH\"", or NULL for any); 0 when there
 * is none, -1 when /metrics cannot be read. */
double fed2_metric(struct fed *f, const char *id, const char *name, const char *labels);

/* ---- impostors on a node's port -------------------------------------------------- */

/* Accepts TCP connections on 127.0.0.1:`port` and never writes. NULL when the
 * port cannot be bound. */
struct fed2_hole;
struct fed2_hole *fed2_hole_start(int port);
/* Connections accepted so far. */
unsigned fed2_hole_accepted(struct fed2_hole *h);
/* Closes the listener and every accepted connection. NULL is allowed. */
void fed2_hole_stop(struct fed2_hole *h);

enum fed2_fake_mode {
    FAKE_GARBAGE,   /* HTTP 200 with a body that is not JSON */
    FAKE_WRONG_KEY, /* a well-formed success envelope signed by a stranger's key */
    FAKE_STALE,     /* signed by the node's real key, but echoing another nonce */
    FAKE_UNSIGNED,  /* a success envelope without a signature */
    FAKE_DIRECTORY, /* GET /api/v1/directory answers a given document */
};

/* The forged certificate that FAKE_WRONG_KEY/STALE/UNSIGNED answers carry in
 * their dataList: it must never appear in a merged result. */
#define FED2_FORGED_ID "1.2.156.3005.2.11100000000013338W001.11330106000000000X.FORGED.001.0"

/* An HTTPS server on node `id`'s port with `id`'s TLS certificate and key
 * (the node must be stopped). Success envelopes are encrypted to the calling
 * node (appId node:<id>), so that only their signature or nonce betrays
 * them. NULL on failure. */
struct fed2_fake;
struct fed2_fake *fed2_fake_start(struct fed *f, const char *id, enum fed2_fake_mode mode);
/* FAKE_DIRECTORY: the document to serve from now on (copied). */
void fed2_fake_set_doc(struct fed2_fake *k, const char *doc);
/* Requests answered so far. */
unsigned fed2_fake_hits(struct fed2_fake *k);
void fed2_fake_stop(struct fed2_fake *k);

/* ---- the sample data ------------------------------------------------------------- */

struct fed2_cert {
    const char *id, *province, *type_code, *type, *number, *status;
};

#define FED2_MAX_CERTS 8

struct fed2_holder {
    const char *code, *type, *name;
    struct fed2_cert certs[FED2_MAX_CERTS];
    size_t ncerts;
};

/* The `skip`+1-th person (holder type 111) of federation.json whose
 * certificates are all valid and lie in four different provinces. 0 when
 * found. The strings belong to f->json. */
int fed2_pick_person(const struct fed *f, size_t skip, struct fed2_holder *out);
/* The holder's certificate in `province`; NULL when there is none. */
const struct fed2_cert *fed2_cert_in(const struct fed2_holder *h, const char *province);
/* The region code of node `id` ("320000"), "" for a node without one. */
const char *fed2_region(const struct fed *f, const char *id);
/* The item of a dataList/certificatelist array whose CertificateID is `id`. */
const json_t *fed2_find_id(const json_t *list, const char *id);
/* A scene of federation.json that allows `type_code` (allowing = true) or
 * does not; NULL when there is none. */
const char *fed2_scene_for(const struct fed *f, const char *type_code, bool allowing);

/* ---- calls through the SDK ------------------------------------------------------- */

/* The answer of one SDK call: the node's code (-1 when no signed answer
 * arrived), the business JSON for code 0, "msg: detail" otherwise. */
struct fed2_answer {
    int code;
    json_t *result;
    char msg[600];
    int64_t ms; /* how long the call took */
};
void fed2_answer_release(struct fed2_answer *a);

/* 表1 cert/search with the standard purpose for `scene`, tagged `biz`. */
void fed2_search(ecert_client *c, const char *token, const char *type, const char *scene,
                 const char *biz, struct fed2_answer *out);
/* 表2 (file) or 表4 (info) by CertificateID; `token` may be NULL. */
void fed2_by_id(ecert_client *c, bool file, const char *id, const char *token, const char *scene,
                const char *biz, struct fed2_answer *out);
/* Any endpoint with a business JSON text. */
void fed2_call(ecert_client *c, const char *endpoint, const char *business,
               struct fed2_answer *out);

/* ---- small things ------------------------------------------------------------------ */

/* Reads a whole (small) file; malloc'd, NUL-terminated; NULL on failure. */
char *fed2_slurp(const char *path);
/* Writes `text` to `path` through a temporary file and a rename. 0 on success. */
int fed2_spill(const char *path, const char *text);

#endif
