/*
 * hub.c — the hub role (长三角电子证照融合服务): hub/forward carries a
 * province's inner envelopes to their targets in parallel, each with a
 * deadline, and returns each target's answer envelope or a per-target error.
 * The inner envelopes are encrypted between the two provinces: the hub reads
 * only the routing fields ({"path","to","envelopes","deadlineMs"}).
 *
 * A circuit breaker per target makes a dead province cost one fast failure
 * instead of a deadline per call (node.c: peer_allow / peer_report).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "envelope/envelope.h"
#include "http/client.h"
#include "node/directory.h"
#include "node/fields.h"
#include "node/node.h"

#define HUB_MAX_TARGETS 8
#define HUB_DEADLINE_MAX_MS 60000

/* The endpoints a hub may carry: the provinces' own. */
static bool forwardable(const char *path)
{
    size_t n = 0;
    const struct endpoint *eps = province_endpoints(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(eps[i].name, path) == 0)
            return true;
    return false;
}

static ecert_status ep_forward(struct call *c)
{
    struct node *n = c->node;
    const char *path;
    ecert_status st = fields_str(c->business, "path", true, 64, &path);
    if (st)
        return st;
    if (!forwardable(path))
        return err_set(ECERT_E_MALFORMED, "path '%.64s' is not a province endpoint", path);
    json_t *to = json_object_get(c->business, "to");
    json_t *envs = json_object_get(c->business, "envelopes");
    if (!json_is_array(to) || !json_is_object(envs))
        return err_set(ECERT_E_MISSING, "'to' (array) and 'envelopes' (object) are required");
    size_t nt = json_array_size(to);
    if (nt == 0 || nt > HUB_MAX_TARGETS)
        return err_set(ECERT_E_MALFORMED, "'to' must name 1 to %d provinces", HUB_MAX_TARGETS);
    long deadline = (long)n->cfg.peer_timeout_ms;
    json_t *dl = json_object_get(c->business, "deadlineMs");
    if (json_is_integer(dl)) {
        json_int_t v = json_integer_value(dl);
        if (v < 1 || v > HUB_DEADLINE_MAX_MS)
            return err_set(ECERT_E_MALFORMED, "deadlineMs must be 1..%d", HUB_DEADLINE_MAX_MS);
        deadline = (long)v;
    }
    struct directory *dir = node_directory(n);
    struct http_parallel req[HUB_MAX_TARGETS];
    struct buf resp[HUB_MAX_TARGETS];
    char *bodies[HUB_MAX_TARGETS] = {0};
    char urls[HUB_MAX_TARGETS][512];
    const char *ids[HUB_MAX_TARGETS];
    size_t idx[HUB_MAX_TARGETS], nreq = 0, map[HUB_MAX_TARGETS];
    json_t *responses = json_object(), *errors = json_object();
    int64_t now = envelope_now_ms();
    for (size_t i = 0; i < nt; i++) {
        buf_init(&resp[i], 64u << 20);
        ids[i] = json_string_value(json_array_get(to, i));
        const struct directory_node *d = ids[i] ? directory_find(dir, ids[i]) : NULL;
        json_t *env = ids[i] ? json_object_get(envs, ids[i]) : NULL;
        const char *why = NULL;
        int code = ECERT_E_UNREACHABLE;
        if (!d || strcmp(d->role, "province") != 0)
            why = "not a province of the directory", code = ECERT_E_MALFORMED;
        else if (!json_is_object(env))
            why = "no envelope for this target", code = ECERT_E_MISSING;
        else if (json_object_get(responses, ids[i]) || json_object_get(errors, ids[i]))
            why = "named twice", code = ECERT_E_MALFORMED;
        if (!why) {
            idx[i] = peer_slot(n, d->id);
            if (!peer_allow(n, idx[i], now))
                why = "circuit open after repeated failures";
        }
        if (why) {
            if (ids[i])
                json_object_set_new(errors, ids[i], json_pack("{s:i,s:s}", "code", code, "msg",
                                                              why));
            continue;
        }
        struct http_client *hc = peer_client(n, idx[i]);
        bodies[i] = json_dumps(env, JSON_COMPACT);
        if (!hc || !bodies[i]) {
            json_object_set_new(errors, ids[i], json_pack("{s:i,s:s}", "code",
                                                          ECERT_E_UNREACHABLE, "msg",
                                                          "no client for the target"));
            continue;
        }
        snprintf(urls[i], sizeof urls[i], "%s/api/v1/%s", d->url, path);
        req[nreq] = (struct http_parallel){.client = hc,
                                           .url = urls[i],
                                           .body = bodies[i],
                                           .len = strlen(bodies[i]),
                                           .timeout_ms = deadline,
                                           .resp = &resp[i]};
        map[nreq++] = i;
    }
    if (nreq)
        http_client_post_parallel(req, nreq);
    for (size_t k = 0; k < nreq; k++) {
        size_t i = map[k];
        double ms = (double)(envelope_now_ms() - now);
        json_t *answer = NULL;
        if (!req[k].st)
            answer = json_loadb((const char *)resp[i].data, resp[i].len, 0, NULL);
        if (!req[k].st && json_is_object(answer) && json_is_integer(json_object_get(answer, "code"))) {
            json_object_set_new(responses, ids[i], answer);
            peer_report(n, idx[i], true, ms);
            continue;
        }
        json_decref(answer);
        int code = req[k].st == ECERT_E_TIMEOUT ? ECERT_E_TIMEOUT : ECERT_E_UNREACHABLE;
        const char *why = req[k].st ? req[k].detail : "the answer is not an envelope";
        node_log(n, "event=forward_failed peer=%s code=%d detail=\"%s\"", ids[i], code, why);
        json_object_set_new(errors, ids[i], json_pack("{s:i,s:s}", "code", code, "msg", why));
        peer_report(n, idx[i], false, ms);
    }
    for (size_t i = 0; i < nt; i++) {
        free(bodies[i]);
        buf_release(&resp[i]);
    }
    json_t *out = json_pack("{s:o,s:o}", "responses", responses, "errors", errors);
    char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    if (!text)
        return err_set(ECERT_E_NOMEM, "out of memory");
    st = buf_append_str(&c->result, text);
    free(text);
    return st;
}

static const struct endpoint endpoints[] = {
    {"hub/forward", ROLE_HUB, ep_forward, EP_NODE_ONLY},
};

const struct endpoint *hub_endpoints(size_t *n)
{
    *n = sizeof endpoints / sizeof endpoints[0];
    return endpoints;
}
