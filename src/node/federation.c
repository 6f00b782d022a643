/*
 * federation.c — one province calling others, through the hub or directly.
 */
#include "node/federation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "envelope/envelope.h"
#include "http/client.h"

const struct directory_node *fed_province_of_region(struct node *n, const char *region)
{
    struct directory *dir = node_directory(n);
    if (!dir || !region || strlen(region) < 2)
        return NULL;
    for (size_t i = 0; i < dir->n; i++) {
        const struct directory_node *d = &dir->nodes[i];
        if (strcmp(d->role, "province") == 0 && strncmp(d->region, region, 2) == 0)
            return d;
    }
    return NULL;
}

static const struct directory_node *find_hub(struct node *n)
{
    struct directory *dir = node_directory(n);
    if (!dir)
        return NULL;
    for (size_t i = 0; i < dir->n; i++)
        if (strcmp(dir->nodes[i].role, "hub") == 0)
            return &dir->nodes[i];
    return NULL;
}

void fed_target_release(struct fed_target *t, size_t nt)
{
    for (size_t i = 0; i < nt; i++)
        buf_release_secret(&t[i].result);
}

/* Opens a target's response envelope (signed by the target, encrypted to us). */
static void open_answer(struct node *n, struct fed_target *t, const char *nonce, const char *body,
                        size_t len)
{
    struct arena a;
    struct envelope_response r;
    arena_init(&a, 1u << 20);
    buf_reset(&t->result);
    atomic_fetch_add(&n->metrics.sm2_verify, 1);
    ecert_status st =
        envelope_response_open(&a, body, len, t->node->pub, n->key, nonce, &r, &t->result);
    if (!st && !r.signature)
        st = err_set(ECERT_E_SIGNATURE, "unsigned answer");
    if (st) {
        /* Garbage or a bad signature: the province did not answer usably. */
        t->st = ECERT_E_UNREACHABLE;
        snprintf(t->detail, sizeof t->detail, "%s: bad answer: %s", t->node->id, err_detail());
        node_log(n, "event=bad_answer peer=%s detail=\"%s\"", t->node->id, err_detail());
    } else {
        t->st = ECERT_OK;
        t->code = r.code;
        if (r.code != 0)
            snprintf(t->detail, sizeof t->detail, "%s%s%s", r.msg ? r.msg : "",
                     r.detail ? ": " : "", r.detail ? r.detail : "");
        if (r.code == 0)
            atomic_fetch_add(&n->metrics.sm2_decrypt, 1);
    }
    arena_release(&a);
}

/* Builds one inner envelope per target (fresh nonces). */
static ecert_status build_inner(struct node *n, const char *business, struct fed_target *t,
                                size_t nt, struct buf *env, char (*nonce)[ENVELOPE_MAX_NONCE + 1])
{
    char app_id[64];
    snprintf(app_id, sizeof app_id, "%s%s", ENVELOPE_NODE_PREFIX, n->cfg.id);
    int64_t now = envelope_now_ms();
    for (size_t i = 0; i < nt; i++) {
        buf_reset(&env[i]);
        atomic_fetch_add(&n->metrics.sm2_encrypt, 1);
        atomic_fetch_add(&n->metrics.sm2_sign, 1);
        ecert_status st = envelope_request_build(app_id, n->key, t[i].node->pub, business,
                                                 strlen(business), now, NULL, ECERT_CIPHER_HEX,
                                                 &env[i], nonce[i]);
        if (st)
            return st;
    }
    return ECERT_OK;
}

static ecert_status via_hub(struct node *n, const struct directory_node *hub, const char *endpoint,
                            const char *business, struct fed_target *t, size_t nt)
{
    struct buf env[FED_MAX_TARGETS];
    char nonce[FED_MAX_TARGETS][ENVELOPE_MAX_NONCE + 1];
    for (size_t i = 0; i < nt; i++)
        buf_init(&env[i], ENVELOPE_MAX_BODY);
    ecert_status st = build_inner(n, business, t, nt, env, nonce);
    json_t *to = json_array(), *envs = json_object();
    for (size_t i = 0; !st && i < nt; i++) {
        json_t *e = json_loadb((const char *)env[i].data, env[i].len, 0, NULL);
        json_array_append_new(to, json_string(t[i].node->id));
        json_object_set_new(envs, t[i].node->id, e ? e : json_null());
    }
    json_t *outer = json_pack("{s:s,s:o,s:o,s:I}", "path", endpoint, "to", to, "envelopes", envs,
                              "deadlineMs", (json_int_t)n->cfg.peer_timeout_ms);
    char *text = outer ? json_dumps(outer, JSON_COMPACT) : NULL;
    json_decref(outer);
    for (size_t i = 0; i < nt; i++)
        buf_release(&env[i]);
    if (!st && !text)
        st = err_set(ECERT_E_NOMEM, "out of memory");
    int code = 0;
    struct buf res = BUF_INIT(64u << 20);
    size_t hidx = peer_slot(n, hub->id);
    int64_t t0 = envelope_now_ms();
    if (!st)
        st = node_call(n, hub->url, hub->pub, "hub/forward", text, (long)n->cfg.hub_timeout_ms,
                       &code, &res);
    free(text);
    peer_report(n, hidx, !st && code == 0, (double)(envelope_now_ms() - t0));
    if (!st && code != 0)
        st = err_set(ECERT_E_UNREACHABLE, "the hub answered %d", code);
    json_t *r = st ? NULL : json_loadb((const char *)res.data, res.len, 0, NULL);
    buf_release(&res);
    if (!st && !r)
        st = err_set(ECERT_E_UNREACHABLE, "the hub's answer is not JSON");
    if (st) {
        json_decref(r);
        return st;
    }
    json_t *resp = json_object_get(r, "responses"), *errs = json_object_get(r, "errors");
    for (size_t i = 0; i < nt; i++) {
        json_t *e = json_object_get(resp, t[i].node->id);
        json_t *er = json_object_get(errs, t[i].node->id);
        if (e) {
            char *etext = json_dumps(e, JSON_COMPACT);
            if (etext) {
                open_answer(n, &t[i], nonce[i], etext, strlen(etext));
                free(etext);
            } else {
                t[i].st = ECERT_E_NOMEM;
            }
        } else {
            json_t *ec = json_object_get(er, "code");
            t[i].st = json_integer_value(ec) == ECERT_E_TIMEOUT ? ECERT_E_TIMEOUT
                                                                : ECERT_E_UNREACHABLE;
            snprintf(t[i].detail, sizeof t[i].detail, "%s: %s", t[i].node->id,
                     er ? json_string_value(json_object_get(er, "msg")) : "no answer via the hub");
        }
    }
    json_decref(r);
    return ECERT_OK;
}

static void direct(struct node *n, const char *endpoint, const char *business,
                   struct fed_target *t, size_t nt)
{
    struct buf env[FED_MAX_TARGETS], resp[FED_MAX_TARGETS];
    char nonce[FED_MAX_TARGETS][ENVELOPE_MAX_NONCE + 1];
    char url[FED_MAX_TARGETS][512];
    struct http_parallel req[FED_MAX_TARGETS];
    size_t nreq = 0, map[FED_MAX_TARGETS];
    for (size_t i = 0; i < nt; i++) {
        buf_init(&env[i], ENVELOPE_MAX_BODY);
        buf_init(&resp[i], 64u << 20);
    }
    ecert_status st = build_inner(n, business, t, nt, env, nonce);
    int64_t now = envelope_now_ms();
    for (size_t i = 0; i < nt; i++) {
        size_t idx = peer_slot(n, t[i].node->id);
        if (st) {
            t[i].st = st;
            continue;
        }
        if (!peer_allow(n, idx, now)) {
            t[i].st = ECERT_E_UNREACHABLE;
            snprintf(t[i].detail, sizeof t[i].detail, "%s: circuit open after repeated failures",
                     t[i].node->id);
            continue;
        }
        struct http_client *hc = peer_client(n, idx);
        if (!hc) {
            t[i].st = ECERT_E_UNREACHABLE;
            continue;
        }
        snprintf(url[i], sizeof url[i], "%s/api/v1/%s", t[i].node->url, endpoint);
        memset(&req[nreq], 0, sizeof req[nreq]);
        req[nreq] = (struct http_parallel){.client = hc,
                                           .url = url[i],
                                           .body = (const char *)env[i].data,
                                           .len = env[i].len,
                                           .timeout_ms = (long)n->cfg.peer_timeout_ms,
                                           .resp = &resp[i]};
        map[nreq++] = i;
    }
    if (nreq)
        http_client_post_parallel(req, nreq);
    for (size_t k = 0; k < nreq; k++) {
        struct fed_target *tt = &t[map[k]];
        size_t idx = peer_slot(n, tt->node->id);
        if (req[k].st) {
            tt->st = req[k].st == ECERT_E_TIMEOUT ? ECERT_E_TIMEOUT : ECERT_E_UNREACHABLE;
            snprintf(tt->detail, sizeof tt->detail, "%s: %s", tt->node->id, req[k].detail);
            peer_report(n, idx, false, (double)n->cfg.peer_timeout_ms);
            continue;
        }
        open_answer(n, tt, nonce[map[k]], (const char *)resp[map[k]].data, resp[map[k]].len);
        peer_report(n, idx, tt->st == ECERT_OK, (double)(envelope_now_ms() - now));
    }
    for (size_t i = 0; i < nt; i++) {
        buf_release(&env[i]);
        buf_release(&resp[i]);
    }
}

ecert_status fed_call(struct node *n, const char *endpoint, const char *business,
                      struct fed_target *t, size_t nt, bool *via_hub_out)
{
    if (nt > FED_MAX_TARGETS)
        return err_set(ECERT_E_ARG, "too many targets");
    for (size_t i = 0; i < nt; i++) {
        t[i].st = ECERT_E_UNREACHABLE;
        t[i].code = 0;
        t[i].detail[0] = 0;
        buf_init(&t[i].result, 64u << 20);
    }
    *via_hub_out = false;
    const struct directory_node *hub = find_hub(n);
    if (hub && nt > 0) {
        size_t hidx = peer_slot(n, hub->id);
        ecert_status st = peer_allow(n, hidx, envelope_now_ms())
                              ? via_hub(n, hub, endpoint, business, t, nt)
                              : err_set(ECERT_E_UNREACHABLE, "hub circuit open");
        if (!st) {
            *via_hub_out = true;
            return ECERT_OK;
        }
        /* SPEC §1: the hub erred or exceeded hub_timeout_ms — go direct. */
        atomic_fetch_add(&n->fallbacks, 1);
        node_log(n, "event=fallback endpoint=%s reason=\"%s\"", endpoint, err_detail());
    }
    direct(n, endpoint, business, t, nt);
    return ECERT_OK;
}
