/*
 * node.c — the request pipeline shared by every role, the node's lifecycle,
 * GET endpoints (healthz, metrics, directory), logging and node-to-node calls.
 */
#include "node/node.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/secure.h"
#include "envelope/envelope.h"
#include "http/client.h"
#include "node/directory.h"
#include "crypto/x509_verify.h"
#include "node/holdercode.h"

/* ---- small helpers ------------------------------------------------------- */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ecert_status read_file(const char *path, size_t max, struct buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(ECERT_E_IO, "cannot open %s: %s", path, strerror(errno));
    char chunk[8192];
    size_t n;
    ecert_status st = ECERT_OK;
    buf_init(out, max);
    while (!st && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        st = buf_append(out, chunk, n);
    if (!st && ferror(f))
        st = err_set(ECERT_E_IO, "read error on %s", path);
    fclose(f);
    if (!st && !out->data)
        st = buf_reserve(out, 0);
    if (st)
        buf_release(out);
    return st;
}

void node_log(struct node *n, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    pthread_mutex_lock(&n->log_mu);
    fprintf(n->log ? n->log : stderr, "ts=%s.%03ldZ node=%s %s\n", when, ts.tv_nsec / 1000000,
            n->cfg.id, line);
    fflush(n->log ? n->log : stderr);
    pthread_mutex_unlock(&n->log_mu);
}

/* ---- responses ------------------------------------------------------------*/

/* Writes an error or success envelope. Errors are signed by the node (its key
 * is always known) so that a caller can tell a node's refusal from a forgery. */
static void respond(struct node *n, struct http_response *resp, int code, const char *detail,
                    const char *nonce, struct call *c)
{
    int64_t now = envelope_now_ms();
    ecert_status st;
    buf_reset(&resp->body);
    if (code == 0) {
        st = envelope_response_build(0, "success", NULL, nonce, now, n->key, c->caller_pub,
                                     c->result.data, c->result.len, ECERT_CIPHER_HEX, &resp->body);
        atomic_fetch_add(&n->metrics.sm2_encrypt, 1);
        atomic_fetch_add(&n->metrics.sm2_sign, 1);
        if (st) {
            node_log(n, "event=respond_failed detail=\"%s\"", err_detail());
            code = ECERT_E_INTERNAL;
            detail = NULL;
            buf_reset(&resp->body);
        } else {
            resp->status = 200;
            return;
        }
    }
    /* Internal details never leave the node (SPEC §5: 5000 never leaks). */
    if (ecert_status_wire((ecert_status)code) == 5000)
        detail = NULL;
    int wire = ecert_status_wire((ecert_status)code);
    st = envelope_response_build(wire, NULL, detail, nonce, now, n->key, NULL, NULL, 0,
                                 ECERT_CIPHER_HEX, &resp->body);
    atomic_fetch_add(&n->metrics.sm2_sign, 1);
    resp->status = ecert_status_http((ecert_status)wire);
    if (st) {
        buf_reset(&resp->body);
        buf_printf(&resp->body, "{\"code\":5000,\"msg\":\"internal error\"}");
        resp->status = 500;
    }
}

/* ---- caller identification ------------------------------------------------*/

static const struct endpoint *find_endpoint(struct node *n, const char *name)
{
    size_t cnt = 0;
    const struct endpoint *eps = NULL;
    if (n->cfg.role == ROLE_PROVINCE)
        eps = province_endpoints(&cnt);
    else if (n->cfg.role == ROLE_TRUST)
        eps = trust_endpoints(&cnt);
    else if (n->cfg.role == ROLE_HUB)
        eps = hub_endpoints(&cnt);
    for (size_t i = 0; i < cnt; i++)
        if (strcmp(eps[i].name, name) == 0)
            return &eps[i];
    return NULL;
}

/* Applies what the other processes on this store learned about apps
 * (store_app_invalidate below): at most once a second, by one request thread
 * at a time (the others go on with the cache as it is). Seqs are dense on
 * both backends, so a jump past the next one means rows were purged before
 * this process read them: then every entry is fetched again. */
#define APP_INVAL_CHECK_MS 1000
#define APP_INVAL_PAGE 256

static void app_invalidations_sync(struct node *n, struct arena *a, int64_t now)
{
    if (pthread_mutex_trylock(&n->inval_mu) != 0)
        return;
    if (now - n->inval_checked_ms >= APP_INVAL_CHECK_MS || now < n->inval_checked_ms) {
        n->inval_checked_ms = now;
        for (;;) {
            struct app_invalidation *list = NULL;
            size_t k = 0;
            if (store_app_invalidations(n->store, a, n->inval_seq, APP_INVAL_PAGE, &list, &k) !=
                ECERT_OK) {
                node_log(n, "event=app_invalidations_failed detail=\"%s\"", err_detail());
                err_clear();
                break;
            }
            if (k && list[0].seq != n->inval_seq + 1)
                appcache_expire_all(&n->apps);
            for (size_t i = 0; i < k; i++)
                if (appcache_learn(&n->apps, list[i].app_id, list[i].status))
                    node_log(n, "event=app_invalidated app=%s status=%d seq=%" PRId64,
                             list[i].app_id, list[i].status, list[i].seq);
            if (k)
                n->inval_seq = list[k - 1].seq;
            if (k < APP_INVAL_PAGE)
                break;
        }
    }
    pthread_mutex_unlock(&n->inval_mu);
}

/* Tells the other processes on this store that an app's state changed:
 * when the trust node's answer differs from what this cache knew (fresh or
 * expired), or, for an app this process had not seen, when it is disabled
 * (another process may still hold it as active). A store failure is logged,
 * not returned: the lookup itself succeeded. */
static void app_changed(struct node *n, const char *app_id, int prev, int status, int64_t now)
{
    if (prev == status || (prev == APPCACHE_NONE && status != APP_DISABLED))
        return;
    if (store_app_invalidate(n->store, app_id, status, now) != ECERT_OK) {
        node_log(n, "event=app_invalidate_failed app=%s detail=\"%s\"", app_id, err_detail());
        err_clear();
        return;
    }
    node_log(n, "event=app_changed app=%s status=%d", app_id, status);
}

/* An app's public key and state: the trust node reads its own store; a
 * province asks the trust node (cached for app_cache_s, and dropped sooner
 * when another process of the province learned of a change). */
static ecert_status lookup_app(struct node *n, struct arena *a, const char *app_id, int64_t now,
                               struct sm2_key **pub)
{
    int status = -1;
    *pub = NULL;
    if (n->cfg.role == ROLE_TRUST) {
        struct app app;
        ecert_status st = store_app_get(n->store, a, app_id, &app);
        if (st == ECERT_E_NOT_FOUND)
            return err_set(ECERT_E_APP, "app '%s' is not registered", app_id);
        if (st)
            return st;
        if (app.status != APP_ACTIVE || !app.public_key[0])
            return err_set(ECERT_E_APP, "app '%s' is %s", app_id,
                           app.status == APP_DISABLED ? "disabled" : "not registered yet");
        return sm2_key_parse_public(app.public_key, strlen(app.public_key), pub);
    }
    app_invalidations_sync(n, a, now);
    if (!appcache_get(&n->apps, app_id, now, pub, &status)) {
        const struct directory_node *tn = directory_find(node_directory(n), "YRD-TRUST");
        const char *url = n->cfg.trust_url[0] ? n->cfg.trust_url : (tn ? tn->url : NULL);
        if (!url || !n->trust_pub)
            return err_set(ECERT_E_INTERNAL, "no trust node configured for app lookups");
        json_t *q = json_pack("{s:s}", "appId", app_id);
        char *qs = q ? json_dumps(q, JSON_COMPACT) : NULL;
        json_decref(q);
        if (!qs)
            return err_set(ECERT_E_NOMEM, "out of memory");
        int code = 0;
        struct buf res = BUF_INIT(65536);
        ecert_status st =
            node_call(n, url, n->trust_pub, "trust/app/lookup", qs, 5000, &code, &res);
        free(qs);
        if (st) {
            buf_release(&res);
            node_log(n, "event=app_lookup_failed app=%s detail=\"%s\"", app_id, err_detail());
            return err_set(ECERT_E_UNREACHABLE, "the trust node could not be asked about the app");
        }
        if (code == ECERT_E_APP) {
            status = -1;
        } else if (code != 0) {
            buf_release(&res);
            return err_set(ECERT_E_UNREACHABLE, "the trust node answered %d to an app lookup",
                           code);
        } else {
            json_t *r = json_loadb((char *)res.data, res.len, 0, NULL);
            const char *pk = json_string_value(json_object_get(r, "publicKey"));
            json_t *sv = json_object_get(r, "status");
            status = json_is_integer(sv) ? (int)json_integer_value(sv) : -1;
            if (pk && pk[0] && sm2_key_parse_public(pk, strlen(pk), pub) != ECERT_OK)
                status = -1;
            json_decref(r);
        }
        buf_release(&res);
        int prev = APPCACHE_NONE;
        appcache_put(&n->apps, app_id, *pub, status, now, &prev);
        app_changed(n, app_id, prev, status, now);
    }
    if (status != APP_ACTIVE || !*pub) {
        sm2_key_free(*pub);
        *pub = NULL;
        return err_set(ECERT_E_APP, "app '%s' is unknown or disabled", app_id);
    }
    return ECERT_OK;
}

static ecert_status lookup_node(struct node *n, const char *id, struct sm2_key **pub)
{
    const struct directory_node *dn = directory_find(node_directory(n), id);
    if (!dn)
        return err_set(ECERT_E_APP, "node '%s' is not in the directory", id);
    *pub = sm2_key_ref(dn->pub);
    return ECERT_OK;
}

/* ---- rate limits (docs/limits.md) -----------------------------------------*/

/* Spends one call of the budget `scope`:`who` (limit per [limits]
 * rate_window_s). ECERT_E_RATE when it is spent, with the seconds until the
 * window ends in *retry_s. A store that fails to lease lets the call go on:
 * the limiter is not what keeps data safe, and the steps after it that need
 * the store (the replay window, usage records) fail closed anyway. */
/* Keys ("app:" + appId, "ipn:" + address) always fit: never cut, never
 * shared by two callers. */
_Static_assert(ENVELOPE_MAX_APP_ID + 4 <= STORE_RATE_KEY_MAX, "rate-limit key too short");

static ecert_status rate_check(struct node *n, const char *scope, const char *who, uint32_t limit,
                               int64_t now_ms, unsigned *retry_s)
{
    if (limit == 0)
        return ECERT_OK;
    char key[STORE_RATE_KEY_MAX + 1];
    snprintf(key, sizeof key, "%s:%s", scope, who);
    bool allowed = false, first = false;
    int64_t retry_ms = 0;
    ecert_status st = ratelimit_take(&n->rate, key, limit, n->cfg.rate_chunk,
                                     (int64_t)n->cfg.rate_window_s * 1000, now_ms, &allowed,
                                     &retry_ms, &first);
    if (st) {
        atomic_fetch_add(&n->metrics.rate_errors, 1);
        node_log(n, "event=rate_lease_failed scope=%s detail=\"%s\"", scope, err_detail());
        err_clear();
        return ECERT_OK;
    }
    if (allowed)
        return ECERT_OK;
    *retry_s = (unsigned)((retry_ms + 999) / 1000);
    if (*retry_s == 0)
        *retry_s = 1;
    if (first)
        node_log(n, "event=rate_limited scope=%s key=%s limit=%u window_s=%u retry_s=%u", scope,
                 who, limit, n->cfg.rate_window_s, *retry_s);
    atomic_fetch_add(strcmp(scope, "app") == 0 ? &n->metrics.rate_refused_app
                                               : &n->metrics.rate_refused_ip,
                     1);
    return err_set(ECERT_E_RATE, "rate limit: at most %u calls per %u s %s; retry in %u s",
                   limit, n->cfg.rate_window_s,
                   strcmp(scope, "app") == 0 ? "for this app" : "from this address", *retry_s);
}

/* A request that claims a node's identity skips the per-address budget of
 * apps (node traffic must not eat it, nor be refused by it), but a claim
 * whose signature fails is charged to the address ("ipn:<address>"): once
 * an address has sent rate_per_ip of them in a window, its node claims are
 * refused before any signature work. */
static ecert_status node_claim_check(struct node *n, const char *ip, int64_t now_ms,
                                     unsigned *retry_s)
{
    if (n->cfg.rate_per_ip == 0)
        return ECERT_OK;
    char key[STORE_RATE_KEY_MAX + 1];
    snprintf(key, sizeof key, "ipn:%s", ip);
    int64_t retry_ms = 0;
    bool first = false;
    if (!ratelimit_spent(&n->rate, key, now_ms, &retry_ms, &first))
        return ECERT_OK;
    *retry_s = (unsigned)((retry_ms + 999) / 1000);
    if (*retry_s == 0)
        *retry_s = 1;
    if (first)
        node_log(n, "event=rate_limited scope=ipn key=%s limit=%u window_s=%u retry_s=%u", ip,
                 n->cfg.rate_per_ip, n->cfg.rate_window_s, *retry_s);
    atomic_fetch_add(&n->metrics.rate_refused_ip, 1);
    return err_set(ECERT_E_RATE, "rate limit: too many failed node signatures from this "
                                 "address; retry in %u s",
                   *retry_s);
}

/* Charges a failed node signature to its address. The call is answered
 * 2002 whatever the budget says; the refusals come with the next claims. */
static void node_claim_failed(struct node *n, const char *ip, int64_t now_ms)
{
    if (n->cfg.rate_per_ip == 0)
        return;
    char detail[512];
    snprintf(detail, sizeof detail, "%s", err_detail()); /* the signature failure's */
    char key[STORE_RATE_KEY_MAX + 1];
    snprintf(key, sizeof key, "ipn:%s", ip);
    bool allowed = false, first = false;
    int64_t retry_ms = 0;
    if (ratelimit_take(&n->rate, key, n->cfg.rate_per_ip, n->cfg.rate_chunk,
                       (int64_t)n->cfg.rate_window_s * 1000, now_ms, &allowed, &retry_ms,
                       &first) != ECERT_OK)
        atomic_fetch_add(&n->metrics.rate_errors, 1);
    err_set(ECERT_OK, "%s", detail);
}

/* ---- the POST pipeline ----------------------------------------------------*/

static void handle_post(struct node *n, const struct http_request *req, struct http_response *resp,
                        const char **endpoint_out, const char **app_out, int *code_out)
{
    struct call c;
    memset(&c, 0, sizeof c);
    c.node = n;
    c.arena = req->arena;
    c.now_ms = envelope_now_ms();
    buf_init(&c.result, 64u << 20);
    struct envelope_request env;
    struct buf business = BUF_INIT(ENVELOPE_MAX_BODY);
    const char *nonce = NULL;
    unsigned retry_s = 0; /* Retry-After of a 5003 */
    ecert_status st;
    const char *ep_name = req->path + strlen("/api/v1/");
    const struct endpoint *ep = find_endpoint(n, ep_name);
    *endpoint_out = ep ? ep->name : "other";
    if (!ep) {
        st = err_set(ECERT_E_MALFORMED, "no endpoint %s on a %s node", req->path,
                     config_role_name(n->cfg.role));
        respond(n, resp, st, err_detail(), NULL, &c);
        resp->status = 404;
        *code_out = st;
        goto done;
    }
    c.endpoint = ep->name;
    /* 1. envelope shape */
    st = envelope_request_parse(req->arena, (const char *)req->body, req->body_len, &env);
    if (st)
        goto fail;
    nonce = env.nonce;
    c.app_id = env.app_id;
    *app_out = env.app_id;
    /* 2. who is calling */
    bool from_node = strncmp(env.app_id, ENVELOPE_NODE_PREFIX, strlen(ENVELOPE_NODE_PREFIX)) == 0;
    if ((ep->flags & EP_NODE_ONLY) && !from_node) {
        st = err_set(ECERT_E_APP, "%s is for nodes only", ep->name);
        goto fail;
    }
    /* 3. per-address limit: before any signature work, which is what a
     * flood would cost. Node claims are exempt but pay for failed
     * signatures (node_claim_check). */
    const char *ip = req->remote_ip && req->remote_ip[0] ? req->remote_ip : "unknown";
    st = from_node ? node_claim_check(n, ip, c.now_ms, &retry_s)
                   : rate_check(n, "ip", ip, n->cfg.rate_per_ip, c.now_ms, &retry_s);
    if (st)
        goto fail;
    if (from_node) {
        c.node_caller = env.app_id + strlen(ENVELOPE_NODE_PREFIX);
        st = lookup_node(n, c.node_caller, &c.caller_pub);
    } else if (ep->flags & EP_SELF_KEYED) {
        st = ECERT_OK; /* 表8: the key arrives in the business data */
    } else {
        st = lookup_app(n, req->arena, env.app_id, c.now_ms, &c.caller_pub);
    }
    if (st)
        goto fail;
    /* 3. time window (before any expensive work) */
    st = envelope_check_time(env.timestamp, c.now_ms, (int64_t)n->cfg.timestamp_window_s * 1000);
    if (st)
        goto fail;
    if (!(ep->flags & EP_SELF_KEYED)) {
        /* 4. signature, 5. replay, 6. decryption */
        atomic_fetch_add(&n->metrics.sm2_verify, 1);
        if ((st = envelope_request_verify(&env, c.caller_pub))) {
            if (from_node)
                node_claim_failed(n, ip, c.now_ms);
            goto fail;
        }
        if ((st = store_nonce_use(n->store, env.app_id, env.nonce, c.now_ms,
                                  (int64_t)n->cfg.timestamp_window_s * 2000)))
            goto fail;
        /* Per-app limit once the signature has proven the app and the nonce
         * is fresh: forged or replayed requests cannot spend an app's
         * budget. Node callers are not counted (an app is counted once, at
         * the node it calls; forwarded and fanned-out calls are not). */
        if (!from_node &&
            (st = rate_check(n, "app", env.app_id, n->cfg.rate_per_app, c.now_ms, &retry_s)))
            goto fail;
        atomic_fetch_add(&n->metrics.sm2_decrypt, 1);
        if ((st = envelope_request_decrypt(&env, n->key, &business, &c.business)))
            goto fail;
    } else {
        /* Decrypt first, then verify with the key the business data names;
         * the handler binds that key only if the signature proves it. */
        atomic_fetch_add(&n->metrics.sm2_decrypt, 1);
        if ((st = envelope_request_decrypt(&env, n->key, &business, &c.business)))
            goto fail;
        const char *pk = json_string_value(json_object_get(c.business, "publicKey"));
        if (!pk) {
            st = err_set(ECERT_E_MISSING, "required field 'publicKey' is missing");
            goto fail;
        }
        if ((st = sm2_key_parse_public(pk, strlen(pk), &c.caller_pub)))
            goto fail;
        atomic_fetch_add(&n->metrics.sm2_verify, 1);
        if ((st = envelope_request_verify(&env, c.caller_pub)))
            goto fail;
        if ((st = store_nonce_use(n->store, env.app_id, env.nonce, c.now_ms,
                                  (int64_t)n->cfg.timestamp_window_s * 2000)))
            goto fail;
    }
    /* A province forwarding an app's request names the app and itself
     * (SPEC §3.4); the owner records and checks on their behalf. */
    if (c.node_caller) {
        c.requester_app = json_string_value(json_object_get(c.business, "requesterApp"));
        c.requester_node = json_string_value(json_object_get(c.business, "requesterNode"));
        if (!c.requester_node)
            c.requester_node = c.node_caller;
    }
    /* 7. the endpoint */
    err_clear();
    st = ep->fn(&c);
    if (st)
        goto fail;
    respond(n, resp, 0, NULL, nonce, &c);
    *code_out = 0;
    goto done;
fail:
    if (ecert_status_wire(st) == 5000)
        node_log(n, "event=internal_error path=%s detail=\"%s\"", req->path, err_detail());
    respond(n, resp, st, err_detail(), nonce, &c);
    *code_out = ecert_status_wire(st);
    if (*code_out == ECERT_E_RATE)
        resp->retry_after_s = retry_s;
    /* SPEC §5 pairs 1003 with two statuses: 413 when the body is over its
     * limit, 400 when a field inside an acceptable body is over its own. */
    if (*code_out == ECERT_E_TOO_LONG && resp->status == 413 &&
        req->body_len <= ENVELOPE_MAX_BODY)
        resp->status = 400;
done:
    json_decref(c.business);
    sm2_key_free(c.caller_pub);
    buf_release_secret(&business);
    buf_release_secret(&c.result);
}

/* ---- peers ----------------------------------------------------------------*/

struct directory *node_directory(struct node *n)
{
    return atomic_load(&n->directory);
}

size_t peer_slot(struct node *n, const char *id)
{
    /* Reads race only with the one-time claim of a free slot, which writes
     * id before any counter; a reader that misses it claims under the lock. */
    for (size_t i = 0; i < PEER_MAX; i++)
        if (strcmp(n->peers[i].id, id) == 0)
            return i;
    size_t slot = PEER_MAX;
    pthread_mutex_lock(&n->peer_mu);
    for (size_t i = 0; i < PEER_MAX && slot == PEER_MAX; i++)
        if (strcmp(n->peers[i].id, id) == 0)
            slot = i;
    for (size_t i = 0; i < PEER_MAX && slot == PEER_MAX; i++)
        if (!n->peers[i].id[0] && strlen(id) < sizeof n->peers[i].id) {
            memcpy(n->peers[i].id, id, strlen(id) + 1);
            slot = i;
        }
    pthread_mutex_unlock(&n->peer_mu);
    return slot;
}

bool peer_allow(struct node *n, size_t idx, int64_t now_ms)
{
    if (idx >= PEER_MAX)
        return false;
    struct peer_health *p = &n->peers[idx];
    long long until = atomic_load(&p->open_until_ms);
    if (until == 0 || now_ms >= until) {
        /* Closed, or half-open: let this call through as the trial, and
         * push the window so that concurrent callers still fail fast. */
        if (until != 0)
            atomic_store(&p->open_until_ms, now_ms + PEER_COOLDOWN_MS);
        return true;
    }
    return false;
}

void peer_report(struct node *n, size_t idx, bool ok, double ms)
{
    if (idx >= PEER_MAX)
        return;
    struct peer_health *p = &n->peers[idx];
    atomic_fetch_add(&p->calls, 1);
    atomic_store(&p->last_ms_x1000, (long long)(ms * 1000));
    if (ok) {
        atomic_store(&p->failures, 0);
        atomic_store(&p->open_until_ms, 0);
        return;
    }
    atomic_fetch_add(&p->errors, 1);
    if (atomic_fetch_add(&p->failures, 1) + 1 >= PEER_BREAK_AFTER)
        atomic_store(&p->open_until_ms, envelope_now_ms() + PEER_COOLDOWN_MS);
}

static void render_peers(struct node *n, struct buf *out)
{
    buf_printf(out, "# HELP ecert_peer_up 1 when the circuit to the peer is closed.\n"
                    "# TYPE ecert_peer_up gauge\n");
    int64_t now = envelope_now_ms();
    for (size_t i = 0; i < PEER_MAX; i++) {
        struct peer_health *p = &n->peers[i];
        if (!p->id[0] || !atomic_load(&p->calls))
            continue;
        const char *id = p->id;
        long long until = atomic_load(&p->open_until_ms);
        buf_printf(out,
                   "ecert_peer_up{node=\"%s\",peer=\"%s\"} %d\n"
                   "ecert_peer_consecutive_failures{node=\"%s\",peer=\"%s\"} %d\n"
                   "ecert_peer_last_latency_seconds{node=\"%s\",peer=\"%s\"} %.6f\n"
                   "ecert_peer_calls_total{node=\"%s\",peer=\"%s\"} %llu\n"
                   "ecert_peer_errors_total{node=\"%s\",peer=\"%s\"} %llu\n",
                   n->cfg.id, id, until == 0 || now >= until, n->cfg.id, id,
                   atomic_load(&p->failures), n->cfg.id, id,
                   (double)atomic_load(&p->last_ms_x1000) / 1e6, n->cfg.id, id,
                   (unsigned long long)atomic_load(&p->calls), n->cfg.id, id,
                   (unsigned long long)atomic_load(&p->errors));
    }
    buf_printf(out,
               "# HELP ecert_fallback_total Hub calls replaced by direct province calls.\n"
               "# TYPE ecert_fallback_total counter\n"
               "ecert_fallback_total{node=\"%s\"} %llu\n",
               n->cfg.id, (unsigned long long)atomic_load(&n->fallbacks));
    struct directory *d = node_directory(n);
    if (d)
        buf_printf(out,
                   "# HELP ecert_directory_version Version of the signed directory in force.\n"
                   "# TYPE ecert_directory_version gauge\n"
                   "ecert_directory_version{node=\"%s\"} %lld\n",
                   n->cfg.id, (long long)d->version);
}

static void handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct node *n = ctx;
    double t0 = mono_s();
    const char *metric_path = "other";
    const char *app = "-";
    int code = 0;
    resp->status = 200;
    if (strcmp(req->method, "GET") == 0) {
        if (strcmp(req->path, "/healthz") == 0) {
            metric_path = "healthz";
            buf_printf(&resp->body, "{\"status\":\"ok\",\"node\":\"%s\",\"role\":\"%s\"}",
                       n->cfg.id, config_role_name(n->cfg.role));
        } else if (strcmp(req->path, "/metrics") == 0) {
            metric_path = "metrics";
            resp->content_type = "text/plain; version=0.0.4";
            atomic_store(&n->metrics.rate_leases, atomic_load(&n->rate.leases));
            metrics_render(&n->metrics, n->cfg.id, &resp->body);
            render_peers(n, &resp->body);
        } else if (strcmp(req->path, "/api/v1/directory") == 0 && node_directory(n)) {
            metric_path = "directory";
            buf_append_str(&resp->body, node_directory(n)->doc);
        } else {
            resp->status = 404;
            code = 404;
            buf_printf(&resp->body, "{\"code\":1004,\"msg\":\"no such resource\"}");
        }
    } else if (strncmp(req->path, "/api/v1/", 8) == 0) {
        handle_post(n, req, resp, &metric_path, &app, &code);
    } else {
        resp->status = 404;
        code = 404;
        buf_printf(&resp->body, "{\"code\":1004,\"msg\":\"no such resource\"}");
    }
    double dt = mono_s() - t0;
    metrics_observe(&n->metrics, metric_path, code, dt);
    /* The app id is an identifier of a system, not of a person: it may be
     * logged. Holder codes and names never are. */
    if (strcmp(metric_path, "healthz") != 0 && strcmp(metric_path, "metrics") != 0)
        node_log(n, "method=%s path=%s app=%s code=%d status=%d ms=%.2f", req->method, req->path,
                 app, code, resp->status, dt * 1000);
}

/* ---- node-to-node calls ---------------------------------------------------*/

/* One HTTPS client per thread: libcurl handles are not shareable, and a
 * pool thread keeps its connections to peers alive between requests. */
static pthread_key_t client_key;
static pthread_once_t client_once = PTHREAD_ONCE_INIT;

static void client_destroy(void *p)
{
    http_client_free(p);
}

static void client_key_init(void)
{
    pthread_key_create(&client_key, client_destroy);
}

static ecert_status thread_client(struct node *n, struct http_client **out)
{
    pthread_once(&client_once, client_key_init);
    struct http_client *c = pthread_getspecific(client_key);
    if (!c) {
        ecert_status st = http_client_new(n->cfg.tls_ca[0] ? n->cfg.tls_ca : NULL, &c);
        if (st)
            return st;
        pthread_setspecific(client_key, c);
    }
    *out = c;
    return ECERT_OK;
}

/* Per thread, one client per peer: a fan-out runs its transfers at once,
 * so each needs its own handle, and keeping it keeps the peer's connection. */
struct peer_pool {
    struct http_client *c[PEER_MAX];
};
static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void pool_destroy(void *p)
{
    struct peer_pool *pool = p;
    for (size_t i = 0; i < PEER_MAX; i++)
        http_client_free(pool->c[i]);
    free(pool);
}

static void pool_key_init(void)
{
    pthread_key_create(&pool_key, pool_destroy);
}

struct http_client *peer_client(struct node *n, size_t idx)
{
    if (idx >= PEER_MAX)
        return NULL;
    pthread_once(&pool_once, pool_key_init);
    struct peer_pool *pool = pthread_getspecific(pool_key);
    if (!pool) {
        pool = calloc(1, sizeof *pool);
        if (!pool)
            return NULL;
        pthread_setspecific(pool_key, pool);
    }
    if (!pool->c[idx] &&
        http_client_new(n->cfg.tls_ca[0] ? n->cfg.tls_ca : NULL, &pool->c[idx]) != ECERT_OK)
        return NULL;
    return pool->c[idx];
}

ecert_status node_call(struct node *n, const char *base_url, const struct sm2_key *peer_pub,
                       const char *endpoint, const char *business, long timeout_ms, int *code,
                       struct buf *result)
{
    struct http_client *client;
    ecert_status st = thread_client(n, &client);
    if (st)
        return st;
    char app_id[64];
    snprintf(app_id, sizeof app_id, "%s%s", ENVELOPE_NODE_PREFIX, n->cfg.id);
    char url[512];
    snprintf(url, sizeof url, "%s/api/v1/%s", base_url, endpoint);
    struct buf req = BUF_INIT(ENVELOPE_MAX_BODY), resp = BUF_INIT(64u << 20);
    char nonce[ENVELOPE_MAX_NONCE + 1];
    int status = 0;
    st = envelope_request_build(app_id, n->key, peer_pub, business, strlen(business),
                                envelope_now_ms(), NULL, ECERT_CIPHER_HEX, &req, nonce);
    if (!st)
        st = http_client_post(client, url, (const char *)req.data, req.len, timeout_ms, &status,
                              &resp);
    if (!st) {
        struct arena a;
        struct envelope_response r;
        arena_init(&a, 1u << 20);
        st = envelope_response_open(&a, (const char *)resp.data, resp.len, peer_pub, n->key,
                                    nonce, &r, result);
        if (!st)
            *code = r.code;
        arena_release(&a);
    }
    buf_release(&req);
    buf_release(&resp);
    return st;
}

/* ---- the directory and the published lists ---------------------------------*/

/* A province applies the catalog and scene list that come with the directory
 * to its store, once per version (SPEC §4.1 step 3: published, signed and
 * versioned by the trust node, applied by every province). */
static ecert_status apply_lists(struct node *n, struct directory *d)
{
    if (!d->has_lists)
        return ECERT_OK;
    struct arena a;
    arena_init(&a, 1 << 16);
    const char *have = NULL;
    ecert_status st = store_meta_get(n->store, &a, "lists_version", &have);
    long long applied = 0;
    if (!st && have)
        applied = strtoll(have, NULL, 10);
    arena_release(&a);
    if (st && st != ECERT_E_NOT_FOUND)
        return st;
    if (applied >= d->version)
        return ECERT_OK;
    st = ECERT_OK;
    for (size_t i = 0; !st && i < d->ntypes; i++) {
        struct catalog_entry e = {d->types[i].code, d->types[i].name, d->types[i].shared};
        st = store_catalog_put(n->store, &e);
    }
    for (size_t i = 0; !st && i < d->nscenes; i++) {
        const char *types[16];
        for (size_t k = 0; k < d->scenes[i].ntypes; k++)
            types[k] = d->scenes[i].types[k];
        struct scene sc = {d->scenes[i].item_code, d->scenes[i].item_name, types,
                           d->scenes[i].ntypes};
        st = store_scene_put(n->store, &sc);
    }
    if (!st) {
        const char **codes = calloc(d->nscenes + 1, sizeof *codes);
        for (size_t i = 0; codes && i < d->nscenes; i++)
            codes[i] = d->scenes[i].item_code;
        st = codes ? store_scene_retain(n->store, codes, d->nscenes)
                   : err_set(ECERT_E_NOMEM, "out of memory");
        free(codes);
    }
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)d->version);
    if (!st)
        st = store_meta_put(n->store, "lists_version", v);
    if (!st)
        node_log(n, "event=lists_applied version=%lld types=%zu scenes=%zu",
                 (long long)d->version, d->ntypes, d->nscenes);
    return st;
}

/* Installs a newer directory: older or equal versions and documents whose
 * signature fails are refused, and the last good one stays in force. */
static void directory_install(struct node *n, const char *doc, size_t len, const char *from)
{
    struct directory *d = NULL;
    ecert_status st = directory_parse(doc, len, n->trust_pub, &d);
    struct directory *cur = node_directory(n);
    if (st) {
        node_log(n, "event=directory_refused from=%s detail=\"%s\"", from, err_detail());
        return;
    }
    if (cur && d->version <= cur->version) {
        if (d->version < cur->version)
            node_log(n, "event=directory_refused from=%s detail=\"version %lld is older than "
                        "%lld\"",
                     from, (long long)d->version, (long long)cur->version);
        directory_free(d);
        return;
    }
    pthread_mutex_lock(&n->dir_mu);
    if (n->nretired == sizeof n->retired / sizeof n->retired[0]) {
        pthread_mutex_unlock(&n->dir_mu);
        node_log(n, "event=directory_refused from=%s detail=\"too many versions since start; "
                    "restart the node\"",
                 from);
        directory_free(d);
        return;
    }
    if (cur)
        n->retired[n->nretired++] = cur;
    atomic_store(&n->directory, d);
    pthread_mutex_unlock(&n->dir_mu);
    node_log(n, "event=directory_installed version=%lld from=%s", (long long)d->version, from);
    if (n->cfg.role == ROLE_PROVINCE && apply_lists(n, d) != ECERT_OK)
        node_log(n, "event=lists_failed detail=\"%s\"", err_detail());
}

/* The trust node re-reads its own file (where an operator publishes); the
 * other nodes fetch the trust node's copy. */
static void directory_refresh(struct node *n, const char *trust_url)
{
    struct buf doc = BUF_INIT(DIRECTORY_MAX_BYTES);
    if (n->cfg.role == ROLE_TRUST) {
        if (n->cfg.directory_file[0] &&
            read_file(n->cfg.directory_file, DIRECTORY_MAX_BYTES, &doc) == ECERT_OK)
            directory_install(n, (const char *)doc.data, doc.len, "file");
        buf_release(&doc);
        return;
    }
    if (!trust_url || !n->trust_pub)
        return;
    struct http_client *c = NULL;
    int status = 0;
    char url[512];
    snprintf(url, sizeof url, "%s/api/v1/directory", trust_url);
    if (thread_client(n, &c) == ECERT_OK &&
        http_client_get(c, url, 5000, &status, &doc) == ECERT_OK && status == 200)
        directory_install(n, (const char *)doc.data, doc.len, "trust");
    buf_release(&doc);
}

/* ---- background: pull token revocations (provinces) ----------------------- */

static void *background(void *arg)
{
    struct node *n = arg;
    int64_t last_dir = envelope_now_ms();
    pthread_mutex_lock(&n->bg_mu);
    while (!n->stopping) {
        pthread_mutex_unlock(&n->bg_mu);
        const struct directory_node *tn = directory_find(node_directory(n), "YRD-TRUST");
        const char *url = n->cfg.trust_url[0] ? n->cfg.trust_url : (tn ? tn->url : NULL);
        int64_t now = envelope_now_ms();
        if (now - last_dir >= (int64_t)n->cfg.directory_refresh_s * 1000) {
            last_dir = now;
            directory_refresh(n, url);
        }
        if (n->cfg.role == ROLE_PROVINCE && url && n->trust_pub) {
            int code = 0;
            struct buf res = BUF_INIT(16u << 20);
            if (node_call(n, url, n->trust_pub, "trust/token/revoked", "{}", 5000, &code, &res) ==
                    ECERT_OK &&
                code == 0) {
                json_t *r = json_loadb((char *)res.data, res.len, 0, NULL);
                json_t *list = json_object_get(r, "revoked");
                size_t i;
                json_t *it;
                json_array_foreach(list, i, it) {
                    const char *jti = json_string_value(json_object_get(it, "jti"));
                    json_t *exp = json_object_get(it, "exp");
                    if (jti && json_is_integer(exp))
                        store_token_revoke(n->store, jti, json_integer_value(exp));
                }
                json_decref(r);
            }
            buf_release(&res);
        }
        pthread_mutex_lock(&n->bg_mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        /* Revocations propagate as fast as app states do: half the app
         * cache lifetime, between 1 and 30 seconds. */
        long every = (long)n->cfg.app_cache_s / 2;
        every = every < 1 ? 1 : every > 30 ? 30 : every;
        if ((long)n->cfg.directory_refresh_s < every)
            every = (long)n->cfg.directory_refresh_s;
        until.tv_sec += every;
        while (!n->stopping &&
               pthread_cond_timedwait(&n->bg_cv, &n->bg_mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&n->bg_mu);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------*/

ecert_status node_start(const struct node_config *cfg, struct node **out)
{
    struct node *n = calloc(1, sizeof *n);
    if (!n)
        return err_set(ECERT_E_NOMEM, "out of memory");
    n->cfg = *cfg;
    pthread_mutex_init(&n->log_mu, NULL);
    pthread_mutex_init(&n->bg_mu, NULL);
    pthread_mutex_init(&n->inval_mu, NULL);
    pthread_mutex_init(&n->dir_mu, NULL);
    pthread_mutex_init(&n->peer_mu, NULL);
    pthread_cond_init(&n->bg_cv, NULL);
    metrics_init(&n->metrics);
    struct buf keytext = BUF_INIT(0), cert = BUF_INIT(0), key = BUF_INIT(0), dir = BUF_INIT(0);
    ecert_status st;
    if (cfg->log_file[0]) {
        n->log = fopen(cfg->log_file, "a");
        if (!n->log) {
            st = err_set(ECERT_E_IO, "cannot open log file %s", cfg->log_file);
            goto fail;
        }
    }
    if ((st = read_file(cfg->private_key, 16384, &keytext)) ||
        (st = sm2_key_parse_private((char *)keytext.data, keytext.len, &n->key))) {
        err_wrap(st, "node key");
        goto fail;
    }
    if (cfg->trust_public_key[0] &&
        (st = sm2_key_parse_public(cfg->trust_public_key, strlen(cfg->trust_public_key),
                                   &n->trust_pub))) {
        err_wrap(st, "trust_public_key");
        goto fail;
    }
    if (cfg->role == ROLE_TRUST && !n->trust_pub)
        n->trust_pub = sm2_key_ref(n->key);
    if (cfg->role == ROLE_PROVINCE && (st = holder_code_key(n->key, n->code_key)))
        goto fail;
    if (cfg->verify_anchors[0]) {
        struct buf pem = BUF_INIT(0);
        if ((st = read_file(cfg->verify_anchors, 4u << 20, &pem)) ||
            (st = x509_store_new(&n->anchors)) ||
            (st = x509_store_add_pem(n->anchors, (const char *)pem.data, pem.len))) {
            buf_release(&pem);
            err_wrap(st, "[verify] anchors");
            goto fail;
        }
        buf_release(&pem);
    }
    if (cfg->directory_file[0]) {
        if ((st = read_file(cfg->directory_file, DIRECTORY_MAX_BYTES, &dir)))
            goto fail;
        if (!n->trust_pub) {
            st = err_set(ECERT_E_MALFORMED, "a directory needs [directory] trust_public_key");
            goto fail;
        }
        struct directory *d = NULL;
        if ((st = directory_parse((char *)dir.data, dir.len, n->trust_pub, &d))) {
            err_wrap(st, cfg->directory_file);
            goto fail;
        }
        atomic_store(&n->directory, d);
    }
    struct store_config sc = {cfg->store_driver, cfg->store_path, cfg->store_pool,
                              cfg->store_dsn};
    if ((st = store_open(&sc, &n->store)))
        goto fail;
    if ((st = appcache_init(&n->apps, 4096, (int64_t)cfg->app_cache_s * 1000)))
        goto fail;
    if ((st = ratelimit_init(&n->rate, n->store, 0)))
        goto fail;
    /* A province applies the published lists of the directory it starts with
     * (only when they are newer than what its store already holds). */
    if (node_directory(n) && cfg->role == ROLE_PROVINCE &&
        (st = apply_lists(n, node_directory(n))))
        goto fail;
    if (cfg->role == ROLE_TRUST && (st = trust_start(n)))
        goto fail;
    if ((st = read_file(cfg->tls_cert, 1 << 20, &cert)) ||
        (st = read_file(cfg->tls_key, 1 << 20, &key)))
        goto fail;
    struct http_server_config hc = {
        .bind_ip = cfg->listen_ip,
        .port = cfg->listen_port,
        .tls_cert_pem = (char *)cert.data,
        .tls_key_pem = (char *)key.data,
        .threads = cfg->threads,
        .handler_threads = cfg->handler_threads,
        .max_connections = cfg->max_connections,
        .per_ip_connections = cfg->per_ip_connections,
        .max_body = cfg->max_body,
        .idle_timeout_s = cfg->idle_timeout_s,
    };
    if ((st = http_server_start(&hc, handle, n, &n->server)))
        goto fail;
    if ((cfg->role == ROLE_PROVINCE && n->trust_pub) || cfg->directory_file[0]) {
        if (pthread_create(&n->bg, NULL, background, n) == 0)
            n->bg_running = true;
    }
    buf_release_secret(&keytext);
    buf_release(&cert);
    buf_release_secret(&key);
    buf_release(&dir); /* parsed into n->directory; the text is not kept */
    node_log(n, "event=started role=%s listen=%s:%u", config_role_name(cfg->role), cfg->listen_ip,
             cfg->listen_port);
    *out = n;
    return ECERT_OK;
fail:
    buf_release_secret(&keytext);
    buf_release(&cert);
    buf_release_secret(&key);
    buf_release(&dir);
    node_stop(n);
    return st;
}

void node_stop(struct node *n)
{
    if (!n)
        return;
    if (n->bg_running) {
        pthread_mutex_lock(&n->bg_mu);
        n->stopping = true;
        pthread_cond_broadcast(&n->bg_cv);
        pthread_mutex_unlock(&n->bg_mu);
        pthread_join(n->bg, NULL);
    }
    if (n->server) {
        http_server_stop(n->server);
        node_log(n, "event=stopped");
    }
    store_close(n->store);
    appcache_release(&n->apps);
    ratelimit_release(&n->rate);
    directory_free(atomic_load(&n->directory));
    for (size_t i = 0; i < n->nretired; i++)
        directory_free(n->retired[i]);
    pthread_mutex_destroy(&n->dir_mu);
    pthread_mutex_destroy(&n->peer_mu);
    free(n->ca_cert_pem);
    sm2_key_free(n->ca_key);
    sm2_key_free(n->key);
    sm2_key_free(n->trust_pub);
    secure_wipe(n->code_key, sizeof n->code_key);
    x509_store_free(n->anchors);
    metrics_release(&n->metrics);
    if (n->log)
        fclose(n->log);
    pthread_mutex_destroy(&n->log_mu);
    pthread_mutex_destroy(&n->bg_mu);
    pthread_mutex_destroy(&n->inval_mu);
    pthread_cond_destroy(&n->bg_cv);
    free(n);
}
