/*
 * province.c — the province role: the five certificate interfaces of the
 * standard (表1–表5) over the node's own library, and the holder's usage
 * records. Every call enforces SPEC §4.1 in order:
 *
 *   1. envelope and app (node.c)   2. fields (1002/1003/1004)
 *   3. scene (3005/3006)           4. token (3002/3003/3004/3007)
 *   5. certificate state (4002)    6. one usage record for every call that
 *                                     reached step 3, allowed or refused.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codes/ids.h"
#include "common/codec.h"
#include "common/error.h"
#include "common/secure.h"
#include "node/fields.h"
#include "crypto/random.h"
#include "envelope/envelope.h"
#include "docs/verify.h"
#include "node/federation.h"
#include "node/holdercode.h"
#include "node/qr.h"
#include "node/node.h"
#include "token/token.h"

/* ---- usage records --------------------------------------------------------*/

struct usage {
    struct call *c;
    struct purpose p;
    const char *cert_id;
    const char *holder_code;
};

/* Appends the record of this call. A call that cannot be recorded is not
 * served (SPEC §4.1: nothing is served without a record), so a failure here
 * turns the answer into 5000. */
static ecert_status record(struct usage *u, ecert_status result)
{
    struct usage_record r;
    memset(&r, 0, sizeof r);
    r.time_ms = u->c->now_ms;
    r.cert_id = u->cert_id ? u->cert_id : "";
    r.holder_code = u->holder_code ? u->holder_code : "";
    r.interface = u->c->endpoint;
    r.app_id = u->c->requester_app ? u->c->requester_app : u->c->app_id;
    r.requester_node = u->c->requester_node ? u->c->requester_node : u->c->node->cfg.id;
    r.use_for = u->p.use_for;
    r.item_code = u->p.item_code;
    r.item_name = u->p.item_name;
    r.item_org = u->p.item_org;
    r.operator_name = u->p.operator_name;
    r.biz_num = u->p.biz_num;
    r.result = ecert_status_wire(result);
    char saved[512];
    snprintf(saved, sizeof saved, "%s", err_detail());
    ecert_status st = store_record_append(u->c->node->store, &r);
    if (st) {
        node_log(u->c->node, "event=record_failed detail=\"%s\"", err_detail());
        return err_set(ECERT_E_INTERNAL, "usage record could not be written");
    }
    /* Keep the refusal's own detail for the response. */
    err_set(result, "%s", saved);
    return result;
}

/* ---- JSON of certificates (SPEC §4) ---------------------------------------*/

static json_t *summary_json(const struct cert *c)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
                     "CertificateID", c->id, "CertificateType", c->type, "CertificateTypeCode",
                     c->type_code, "CertificateNumber", c->number, "CertificateHolder", c->holder,
                     "CertificateHolderCode", c->holder_code, "CertificateHolderTypeCode",
                     c->holder_type_code, "CertificateIssuingAuthority", c->issuer,
                     "CertificateIssuingAuthorityCode", c->issuer_code, "CertificateIssuedDate",
                     c->issued_date, "CertificateValidFrom", c->valid_from, "CertificateValidTo",
                     c->valid_to ? c->valid_to : "", "CertificateStatus", c->status,
                     "CertificateAreaCode", c->area_code);
}

static json_t *info_json(const struct cert *c)
{
    json_t *o = summary_json(c);
    json_t *surface = c->surface_json ? json_loads(c->surface_json, 0, NULL) : NULL;
    if (!surface)
        surface = json_object();
    json_object_set_new(o, "SurfaceData", surface);
    json_object_set_new(o, "fileFormat", json_string(c->file_format ? c->file_format : ""));
    json_object_set_new(o, "fileSM3", json_string(c->file_sm3 ? c->file_sm3 : ""));
    return o;
}

static json_t *file_json(const struct cert *c)
{
    size_t n = BASE64_ENCODED_LEN(c->file_len);
    char *b64 = malloc(n + 1);
    if (!b64)
        return NULL;
    base64_encode(c->file ? c->file : (const uint8_t *)"", c->file_len, b64, 0);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "CertificateID", c->id, "fileFormat",
                          c->file_format ? c->file_format : "", "fileName",
                          c->file_name ? c->file_name : "", "fileSM3",
                          c->file_sm3 ? c->file_sm3 : "", "fileEntity", b64);
    free(b64);
    return o;
}

static ecert_status put_result(struct call *c, json_t *result)
{
    if (!result)
        return err_set(ECERT_E_NOMEM, "out of memory");
    char *text = json_dumps(result, JSON_COMPACT);
    json_decref(result);
    if (!text)
        return err_set(ECERT_E_NOMEM, "out of memory");
    ecert_status st = buf_append_str(&c->result, text);
    free(text);
    return st;
}

/* ---- the steps of §4.1 ----------------------------------------------------*/

/* Step 4: the token is the trust node's, current and not revoked. */
static ecert_status check_token(struct call *c, const char *tok, struct token_claims *claims)
{
    if (!c->node->trust_pub)
        return err_set(ECERT_E_INTERNAL, "no trust key configured");
    ecert_status st = token_verify(tok, strlen(tok), c->node->trust_pub, c->now_ms / 1000, claims);
    if (st)
        return st;
    bool revoked = false;
    if ((st = store_token_is_revoked(c->node->store, claims->jti, &revoked)))
        return st;
    if (revoked)
        return err_set(ECERT_E_TOKEN, "trusted token has been revoked");
    return ECERT_OK;
}

static bool scene_has(const struct scene *sc, const char *type_code)
{
    for (size_t i = 0; i < sc->ntypes; i++)
        if (strcmp(sc->types[i], type_code) == 0)
            return true;
    return false;
}

/* CertificateType is the type's name (证照类型名称); a 21-character type code
 * is accepted as well. Unknown names are malformed enumerated values (1004). */
static ecert_status resolve_type(struct call *c, const char *type, const char **type_code)
{
    struct catalog_entry e;
    if (strlen(type) == IDS_TYPE_CODE_LEN &&
        store_catalog_get(c->node->store, c->arena, type, &e) == ECERT_OK) {
        *type_code = e.type_code;
        return ECERT_OK;
    }
    ecert_status st = store_catalog_find_name(c->node->store, c->arena, type, type_code);
    if (st == ECERT_E_NOT_FOUND)
        return err_set(ECERT_E_MALFORMED, "CertificateType '%.64s' is not in the catalog", type);
    return st;
}

/* ---- the federation: other provinces ---------------------------------------*/

/* The business data a province forwards: the app's, plus who asked
 * (SPEC §3.4: requesterApp, requesterNode). */
static char *forward_business(struct call *c)
{
    json_t *b = json_deep_copy(c->business);
    if (!b)
        return NULL;
    json_object_set_new(b, "requesterApp", json_string(c->app_id));
    json_object_set_new(b, "requesterNode", json_string(c->node->cfg.id));
    char *text = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    return text;
}

/* Holder queries: every other province of the directory is asked the same
 * question and the answers are merged into `list`. Provinces that did not
 * answer usably are listed in "unavailable" (SPEC §5: partial, not failed);
 * a province that answered with a refusal is listed in "refused" with its
 * code (its lists and rules are its own). Only an app's request fans out: a
 * request from a node is answered from the local library alone, so that
 * nothing loops. */
static ecert_status fan_out(struct call *c, json_t *list, json_t *result)
{
    struct node *n = c->node;
    struct directory *dir = node_directory(n);
    if (c->node_caller || !dir)
        return ECERT_OK;
    struct fed_target t[FED_MAX_TARGETS];
    size_t nt = 0;
    for (size_t i = 0; i < dir->n && nt < FED_MAX_TARGETS; i++) {
        const struct directory_node *d = &dir->nodes[i];
        if (strcmp(d->role, "province") == 0 && strcmp(d->id, n->cfg.id) != 0)
            t[nt++].node = d;
    }
    if (nt == 0)
        return ECERT_OK;
    char *business = forward_business(c);
    if (!business)
        return err_set(ECERT_E_NOMEM, "out of memory");
    bool hub = false;
    ecert_status st = fed_call(n, c->endpoint, business, t, nt, &hub);
    free(business);
    if (st)
        return st;
    json_t *unavailable = json_array(), *refused = json_array();
    for (size_t i = 0; i < nt; i++) {
        if (t[i].st) {
            json_array_append_new(unavailable, json_string(t[i].node->id));
            node_log(n, "event=unavailable peer=%s detail=\"%s\"", t[i].node->id, t[i].detail);
            continue;
        }
        if (t[i].code == ECERT_E_NOT_FOUND)
            continue;
        if (t[i].code == ECERT_E_STATE) {
            /* The holder has certificates there, none usable: no files, and
             * no refusal either — the merged answer decides (by_holder). */
            json_object_set_new(result, "_unusable", json_true());
            continue;
        }
        if (t[i].code != 0) {
            json_array_append_new(refused, json_pack("{s:s,s:i}", "node", t[i].node->id, "code",
                                                     t[i].code));
            continue;
        }
        json_t *r = json_loadb((const char *)t[i].result.data, t[i].result.len, 0, NULL);
        size_t k;
        json_t *item;
        json_array_foreach(json_object_get(r, "dataList"), k, item)
            json_array_append(list, item);
        json_decref(r);
    }
    fed_target_release(t, nt);
    json_object_set_new(result, "unavailable", unavailable);
    if (json_array_size(refused))
        json_object_set_new(result, "refused", refused);
    else
        json_decref(refused);
    return ECERT_OK;
}

/* By id: a certificate whose issuer lies in another province's region is
 * that province's to serve — it applies SPEC §4.1 itself and keeps the
 * record. Its answer (or refusal) is passed on. */
static ecert_status forward_by_id(struct call *c, const struct directory_node *owner)
{
    struct fed_target t;
    t.node = owner;
    char *business = forward_business(c);
    if (!business)
        return err_set(ECERT_E_NOMEM, "out of memory");
    bool hub = false;
    ecert_status st = fed_call(c->node, c->endpoint, business, &t, 1, &hub);
    free(business);
    if (!st && t.st)
        st = err_set(t.st, "%s did not answer: %s", owner->id, t.detail);
    else if (!st && t.code != 0)
        st = err_set((ecert_status)t.code, "%s", t.detail);
    else if (!st)
        st = buf_append(&c->result, t.result.data, t.result.len);
    fed_target_release(&t, 1);
    return st;
}

/* The answer of a holder query: this province's `list` (consumed) merged
 * with the other provinces' (fan_out), as {"total","dataList","unavailable"}. */
static ecert_status answer_merged(struct call *c, json_t *list)
{
    json_t *result = json_object();
    ecert_status st = fan_out(c, list, result);
    if (st) {
        json_decref(list);
        json_decref(result);
        return st;
    }
    json_object_del(result, "_unusable");
    json_object_set_new(result, "total", json_integer((json_int_t)json_array_size(list)));
    json_object_set_new(result, "dataList", list);
    return put_result(c, result);
}

enum answer { ANSWER_SUMMARY, ANSWER_INFO, ANSWER_FILE };

/* 表1, 表3, 表5: the holder's certificates, as the scene and token allow. */
static ecert_status by_holder(struct call *c, enum answer kind)
{
    struct usage u = {.c = c};
    const char *tok, *type, *number, *type_code = NULL;
    ecert_status st;
    /* step 2 */
    if ((st = fields_str(c->business, "trustedToken", true, TOKEN_MAX_LEN, &tok)) ||
        (st = fields_str(c->business, "CertificateType", false, FIELD_MAX, &type)) ||
        (st = fields_str(c->business, "CertificateNumber", false, FIELD_MAX, &number)) ||
        (st = fields_purpose(c->business, &u.p)))
        return st;
    if (type && (st = resolve_type(c, type, &type_code)))
        return st;
    /* step 3 */
    struct scene sc;
    st = store_scene_get(c->node->store, c->arena, u.p.item_code, &sc);
    if (st == ECERT_E_NOT_FOUND)
        return record(&u, err_set(ECERT_E_SCENE, "itemCode '%.64s' is not a published scene",
                                  u.p.item_code));
    if (st)
        return st;
    if (type_code && !scene_has(&sc, type_code))
        return record(&u, err_set(ECERT_E_SCENE_TYPE, "scene %.64s does not allow type %s",
                                  u.p.item_code, type_code));
    /* step 4 */
    struct token_claims claims;
    if ((st = check_token(c, tok, &claims)))
        return record(&u, st);
    u.holder_code = arena_strdup(c->arena, claims.sub);
    if (type_code && !token_permits(&claims, type_code))
        return record(&u, err_set(ECERT_E_PERMISSION,
                                  "token permission does not cover type %s", type_code));
    /* The types this call may see: the one asked for, or every type of the
     * scene that the token permits. */
    const char **types = arena_alloc(c->arena, (sc.ntypes + 1) * sizeof *types);
    size_t ntypes = 0;
    if (!types)
        return ECERT_E_NOMEM;
    if (type_code) {
        types[ntypes++] = type_code;
    } else {
        for (size_t i = 0; i < sc.ntypes; i++)
            if (token_permits(&claims, sc.types[i]))
                types[ntypes++] = sc.types[i];
    }
    struct cert *certs = NULL;
    size_t n = 0;
    if (ntypes > 0) {
        struct cert_query q = {.holder_code = claims.sub,
                               .number = number,
                               .type_codes = types,
                               .ntype_codes = ntypes,
                               .limit = 1000};
        if ((st = store_cert_search(c->node->store, c->arena, &q, &certs, &n)))
            return st;
    }
    json_t *list = json_array();
    size_t valid = 0;
    for (size_t i = 0; i < n; i++) {
        if (kind == ANSWER_SUMMARY) {
            json_array_append_new(list, summary_json(&certs[i]));
        } else if (kind == ANSWER_INFO) {
            struct cert full;
            if ((st = store_cert_get(c->node->store, c->arena, certs[i].id, false, &full)))
                break;
            json_array_append_new(list, info_json(&full));
        } else {
            /* step 5: only usable certificates hand out their files */
            if (strcmp(certs[i].status, "valid") != 0)
                continue;
            struct cert full;
            if ((st = store_cert_get(c->node->store, c->arena, certs[i].id, true, &full)))
                break;
            json_array_append_new(list, file_json(&full));
            valid++;
        }
    }
    if (st) {
        json_decref(list);
        return st;
    }
    /* Files by holder where this province has matching certificates but
     * none usable (step 5): refused here (and recorded so), but an app's
     * query still gets the usable files of the other provinces; 4002 only
     * when nothing usable is found anywhere. */
    bool unusable = kind == ANSWER_FILE && n > 0 && valid == 0;
    if (unusable && c->node_caller) {
        json_decref(list);
        return record(&u, err_set(ECERT_E_STATE, "none of the holder's %zu matching "
                                                 "certificates is valid",
                                  n));
    }
    /* step 6, then the answer */
    if ((st = unusable ? record(&u, ECERT_E_STATE) : record(&u, ECERT_OK)) &&
        st != ECERT_E_STATE) {
        json_decref(list);
        return st;
    }
    if (kind != ANSWER_FILE)
        return answer_merged(c, list);
    json_t *result = json_object();
    if ((st = fan_out(c, list, result))) {
        json_decref(list);
        json_decref(result);
        return st;
    }
    bool unusable_elsewhere = json_is_true(json_object_get(result, "_unusable"));
    json_object_del(result, "_unusable");
    if (json_array_size(list) == 0 && (unusable || unusable_elsewhere)) {
        json_decref(list);
        json_decref(result);
        return err_set(ECERT_E_STATE, "none of the holder's matching certificates is valid");
    }
    json_object_set_new(result, "total", json_integer((json_int_t)json_array_size(list)));
    json_object_set_new(result, "dataList", list);
    return put_result(c, result);
}

/* 表2, 表4: one certificate by its identifier. */
static ecert_status by_id(struct call *c, enum answer kind)
{
    struct usage u = {.c = c};
    const char *id, *tok;
    ecert_status st;
    if ((st = fields_str(c->business, "CertificateID", true, FIELD_MAX, &id)))
        return st;
    struct cert_id parsed;
    if ((st = ids_cert_parse(id, strlen(id), &parsed)))
        return err_wrap(st, "CertificateID");
    if ((st = fields_str(c->business, "trustedToken", c->node->cfg.require_token_for_id,
                         TOKEN_MAX_LEN, &tok)) ||
        (st = fields_purpose(c->business, &u.p)))
        return st;
    u.cert_id = id;
    /* Owner: the province of the issuer's region (SPEC §1). */
    char region[IDS_REGION_LEN + 1];
    ids_cert_region(&parsed, region);
    const struct directory_node *owner = fed_province_of_region(c->node, region);
    if (owner && strcmp(owner->id, c->node->cfg.id) != 0 && !c->node_caller)
        return forward_by_id(c, owner);
    struct scene sc;
    st = store_scene_get(c->node->store, c->arena, u.p.item_code, &sc);
    if (st == ECERT_E_NOT_FOUND)
        return record(&u, err_set(ECERT_E_SCENE, "itemCode '%.64s' is not a published scene",
                                  u.p.item_code));
    if (st)
        return st;
    struct cert cert;
    st = store_cert_get(c->node->store, c->arena, id, kind == ANSWER_FILE, &cert);
    if (st == ECERT_E_NOT_FOUND)
        return record(&u, err_set(ECERT_E_NOT_FOUND, "no certificate %s", id));
    if (st)
        return st;
    u.holder_code = cert.holder_code;
    if (!scene_has(&sc, cert.type_code))
        return record(&u, err_set(ECERT_E_SCENE_TYPE, "scene %.64s does not allow type %s",
                                  u.p.item_code, cert.type_code));
    if (tok) {
        struct token_claims claims;
        if ((st = check_token(c, tok, &claims)))
            return record(&u, st);
        if (strcmp(claims.sub, cert.holder_code) != 0)
            return record(&u, err_set(ECERT_E_HOLDER,
                                      "the token's holder is not the certificate's holder"));
        if (!token_permits(&claims, cert.type_code))
            return record(&u, err_set(ECERT_E_PERMISSION,
                                      "token permission does not cover type %s", cert.type_code));
    }
    if (kind == ANSWER_FILE && strcmp(cert.status, "valid") != 0)
        return record(&u, err_set(ECERT_E_STATE, "certificate is %s: its file is not handed out",
                                  cert.status));
    if ((st = record(&u, ECERT_OK)))
        return st;
    json_t *item = kind == ANSWER_FILE ? file_json(&cert) : info_json(&cert);
    if (!item)
        return err_set(ECERT_E_NOMEM, "out of memory");
    return put_result(c, json_pack("{s:i,s:[o]}", "total", 1, "dataList", item));
}

static ecert_status ep_search(struct call *c)
{
    return by_holder(c, ANSWER_SUMMARY);
}

static ecert_status ep_info_by_holder(struct call *c)
{
    return by_holder(c, ANSWER_INFO);
}

static ecert_status ep_file_by_holder(struct call *c)
{
    return by_holder(c, ANSWER_FILE);
}

static ecert_status ep_info_by_id(struct call *c)
{
    return by_id(c, ANSWER_INFO);
}

static ecert_status ep_file_by_id(struct call *c)
{
    return by_id(c, ANSWER_FILE);
}

/* from/to: milliseconds, or a date "YYYY-MM-DD" (China time, start of day). */
static ecert_status time_field(const json_t *obj, const char *name, int64_t dflt, int64_t *out)
{
    const json_t *v = json_object_get(obj, name);
    *out = dflt;
    if (!v || json_is_null(v))
        return ECERT_OK;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return ECERT_OK;
    }
    const char *s = json_string_value(v);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || strlen(s) != 10 || !strptime(s, "%Y-%m-%d", &tm))
        return err_set(ECERT_E_MALFORMED, "'%s' must be milliseconds or YYYY-MM-DD", name);
    *out = ((int64_t)timegm(&tm) - 8 * 3600) * 1000;
    return ECERT_OK;
}

static void iso_time(int64_t ms, char out[40])
{
    time_t t = (time_t)(ms / 1000) + 8 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%03d+08:00", base, (int)(ms % 1000));
}

/* 应用记录: the records of uses of the holder's certificates kept here. */
static ecert_status ep_records(struct call *c)
{
    const char *tok;
    int64_t from, to;
    ecert_status st;
    if ((st = fields_str(c->business, "trustedToken", true, TOKEN_MAX_LEN, &tok)) ||
        (st = time_field(c->business, "from", 0, &from)) ||
        (st = time_field(c->business, "to", INT64_MAX, &to)))
        return st;
    struct token_claims claims;
    if ((st = check_token(c, tok, &claims)))
        return st;
    struct usage_record *recs = NULL;
    size_t n = 0;
    if ((st = store_record_list(c->node->store, c->arena, claims.sub, from, to, 1000, &recs, &n)))
        return st;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        struct usage_record *r = &recs[i];
        char when[40];
        iso_time(r->time_ms, when);
        json_array_append_new(
            list, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "time", when,
                            "CertificateID", r->cert_id, "interface", r->interface, "appId",
                            r->app_id, "requesterNode", r->requester_node, "UseFor", r->use_for,
                            "itemCode", r->item_code, "itemName", r->item_name, "itemOrg",
                            r->item_org, "operator", r->operator_name, "bizNum", r->biz_num,
                            "result", r->result, "keptBy", c->node->cfg.id));
    }
    return answer_merged(c, list);
}

/* ---- 表6: verifying a certificate file ----------------------------------------*/

/* Largest file accepted for verification: the body limit (16 MiB) holds its
 * base64, so about 12 MiB of file. */
#define VERIFY_FILE_MAX (12u << 20)

/* cert/verify-file: the file itself is the input (no certificate lookup), so
 * the scene check is on the scene alone; the call is recorded like every
 * other. Every province can verify any file: verification needs only the
 * file and the trust anchors. */
static ecert_status ep_verify_file(struct call *c)
{
    struct usage u = {.c = c};
    const char *entity, *format;
    ecert_status st;
    if ((st = fields_str(c->business, "fileEntity", true, (size_t)VERIFY_FILE_MAX * 4 / 3 + 4,
                         &entity)) ||
        (st = fields_str(c->business, "fileFormat", true, 8, &format)) ||
        (st = fields_purpose(c->business, &u.p)))
        return st;
    enum doc_format fmt;
    if ((st = doc_format_from_name(format, &fmt)))
        return st;
    size_t elen = strlen(entity), flen = 0;
    uint8_t *file = arena_alloc(c->arena, BASE64_DECODED_MAX(elen) + 1);
    if (!file)
        return ECERT_E_TOO_LONG;
    if ((st = base64_decode(entity, elen, file, BASE64_DECODED_MAX(elen), &flen, BASE64_SKIP_WS)))
        return err_wrap(st, "fileEntity");
    struct scene sc;
    st = store_scene_get(c->node->store, c->arena, u.p.item_code, &sc);
    if (st == ECERT_E_NOT_FOUND)
        return record(&u, err_set(ECERT_E_SCENE, "itemCode '%.64s' is not a published scene",
                                  u.p.item_code));
    if (st)
        return st;
    struct verify_options opts = {.anchors = c->node->anchors};
    struct verify_result vr = {0};
    st = docs_verify(file, flen, fmt, &opts, &vr);
    /* A file that cannot be read as its format is a negative verdict, not an
     * error of the call: the answer says why. */
    if (st && st != ECERT_E_INTERNAL && st != ECERT_E_NOMEM) {
        verify_result_free(&vr);
        memset(&vr, 0, sizeof vr);
        char why[VERIFY_TEXT];
        snprintf(why, sizeof why, "unreadable %s: %s", format, err_detail());
        verify_set_reason(&vr, why);
        st = ECERT_OK;
    }
    if (st) {
        verify_result_free(&vr);
        return st;
    }
    if ((st = record(&u, ECERT_OK))) {
        verify_result_free(&vr);
        return st;
    }
    st = verify_result_json(&vr, &c->result);
    verify_result_free(&vr);
    return st;
}

/* ---- holder codes (亮码, SPEC §6; 表7) ----------------------------------------*/

/* code/issue: the holder's app, holding the holder's token, gets a short-lived
 * code (and its QR image) that a window anywhere in the region can scan. */
static ecert_status ep_code_issue(struct call *c)
{
    const char *tok;
    ecert_status st = fields_str(c->business, "trustedToken", true, TOKEN_MAX_LEN, &tok);
    if (st)
        return st;
    struct token_claims claims;
    if ((st = check_token(c, tok, &claims)))
        return st;
    struct holder_code hc;
    memset(&hc, 0, sizeof hc);
    snprintf(hc.node, sizeof hc.node, "%s", c->node->cfg.id);
    if ((st = random_token(hc.cid, 24)))
        return st;
    hc.exp = c->now_ms / 1000 + c->node->cfg.code_lifetime_s;
    snprintf(hc.sub, sizeof hc.sub, "%s", claims.sub);
    snprintf(hc.sty, sizeof hc.sty, "%s", claims.sty);
    snprintf(hc.name, sizeof hc.name, "%s", claims.name);
    struct buf code = BUF_INIT(HOLDER_CODE_MAX), png = BUF_INIT(1u << 20);
    atomic_fetch_add(&c->node->metrics.sm2_sign, 1);
    st = holder_code_issue(&hc, c->node->code_key, c->node->key, &code);
    if (!st)
        st = store_code_add(c->node->store, hc.cid, hc.exp);
    if (!st)
        st = qr_png((const char *)code.data, 4, &png);
    char *png64 = st ? NULL : malloc(BASE64_ENCODED_LEN(png.len) + 1);
    if (!st && !png64)
        st = err_set(ECERT_E_NOMEM, "out of memory");
    if (!st) {
        base64_encode(png.data, png.len, png64, 0);
        char url[HOLDER_CODE_MAX + 300];
        snprintf(url, sizeof url, "%s/c/%s", c->node->cfg.public_url, (const char *)code.data);
        st = put_result(c, json_pack("{s:s,s:s,s:i,s:s}", "qrcode", (const char *)code.data,
                                     "url", url, "expiresIn", (int)c->node->cfg.code_lifetime_s,
                                     "png", png64));
    }
    free(png64);
    buf_release(&code);
    buf_release(&png);
    secure_wipe(&hc, sizeof hc);
    return st;
}

/* code/resolve (nodes only): the issuer opens its own code — signature,
 * expiry, single use — and names the holder. The trust node calls it before
 * issuing an authType 3 token. */
static ecert_status ep_code_resolve(struct call *c)
{
    const char *code;
    ecert_status st = fields_str(c->business, "qrcode", true, HOLDER_CODE_MAX + 256, &code);
    if (st)
        return st;
    struct holder_code hc;
    atomic_fetch_add(&c->node->metrics.sm2_verify, 1);
    st = holder_code_open(code, strlen(code), c->node->code_key, c->node->key, c->now_ms / 1000,
                          &hc);
    if (!st && strcmp(hc.node, c->node->cfg.id) != 0)
        st = err_set(ECERT_E_MALFORMED, "holder code of %s, not of this node", hc.node);
    if (!st)
        st = store_code_use(c->node->store, hc.cid, c->now_ms / 1000, c->node->cfg.code_single_use);
    if (!st)
        st = put_result(c, json_pack("{s:s,s:s,s:s,s:I}", "sub", hc.sub, "sty", hc.sty, "name",
                                     hc.name, "exp", (json_int_t)hc.exp));
    secure_wipe(&hc, sizeof hc);
    return st;
}

/* 表7 code/verify, at any province: the code goes (through the trust node) to
 * its issuer; the trust node issues an authType 3 token for the holder; with
 * it this province searches the whole federation for the scene's types. */
static ecert_status ep_code_verify(struct call *c)
{
    const char *code;
    struct purpose p;
    ecert_status st;
    if ((st = fields_str(c->business, "qrcode", true, HOLDER_CODE_MAX + 256, &code)) ||
        (st = fields_purpose(c->business, &p)))
        return st;
    struct holder_code peek;
    const char *bare;
    size_t bare_len;
    if ((st = holder_code_peek(code, strlen(code), &peek, &bare, &bare_len)))
        return st;
    if (!directory_find(node_directory(c->node), peek.node))
        return err_set(ECERT_E_MALFORMED, "holder code of unknown node %s", peek.node);
    if (!c->node->trust_pub || !c->node->cfg.trust_url[0])
        return err_set(ECERT_E_INTERNAL, "no trust node configured");
    char txn[33];
    if ((st = random_token(txn, 32)))
        return st;
    json_t *q = json_pack("{s:s,s:s,s:s%,s:s,s:s}", "transactionId", txn, "authType", "3",
                          "qrCode", bare, bare_len, "requesterApp", c->app_id, "requesterNode",
                          c->node->cfg.id);
    char *qs = q ? json_dumps(q, JSON_COMPACT) : NULL;
    json_decref(q);
    if (!qs)
        return err_set(ECERT_E_NOMEM, "out of memory");
    int code_rc = 0;
    struct buf res = BUF_INIT(1u << 20);
    st = node_call(c->node, c->node->cfg.trust_url, c->node->trust_pub, "trust/token/person", qs,
                   (long)c->node->cfg.hub_timeout_ms, &code_rc, &res);
    free(qs);
    if (st) {
        buf_release(&res);
        return err_set(ECERT_E_UNREACHABLE, "the trust node could not be reached");
    }
    if (code_rc != 0) {
        buf_release(&res);
        if (code_rc == ECERT_E_UNREACHABLE || code_rc == ECERT_E_TIMEOUT)
            return err_set((ecert_status)code_rc, "%s, the code's issuer, did not answer",
                           peek.node);
        return err_set((ecert_status)code_rc, "the holder code was refused");
    }
    json_t *tr = json_loadb((const char *)res.data, res.len, 0, NULL);
    buf_release_secret(&res);
    const char *tok = json_string_value(json_object_get(tr, "trustedToken"));
    struct token_claims claims;
    if (!tok || (st = check_token(c, tok, &claims))) {
        json_decref(tr);
        return tok ? st : err_set(ECERT_E_INTERNAL, "the trust node returned no token");
    }
    /* The search itself: the same rules and records as cert/search. */
    json_t *search = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "trustedToken", tok, "UseFor",
                               p.use_for, "itemName", p.item_name, "itemCode", p.item_code,
                               "itemOrg", p.item_org, "operator", p.operator_name, "bizNum",
                               p.biz_num);
    json_t *saved = c->business;
    const char *saved_ep = c->endpoint;
    c->business = search;
    c->endpoint = "cert/search";
    st = ep_search(c);
    c->business = saved;
    c->endpoint = saved_ep;
    json_decref(search);
    json_t *found = st ? NULL : json_loadb((const char *)c->result.data, c->result.len, 0, NULL);
    buf_reset(&c->result);
    if (!st) {
        json_t *list = json_object_get(found, "dataList");
        json_t *out = json_pack("{s:{s:s,s:s,s:s},s:o,s:s}", "userinfo", "name", claims.name,
                                "idType", claims.sty, "idNo", claims.sub, "certificatelist",
                                list ? json_incref(list) : json_array(), "trustedToken", tok);
        json_t *un = json_object_get(found, "unavailable");
        if (out && json_array_size(un))
            json_object_set(out, "unavailable", un);
        st = put_result(c, out);
    }
    json_decref(found);
    json_decref(tr);
    return st;
}

static const struct endpoint endpoints[] = {
    {"cert/search", ROLE_PROVINCE, ep_search, 0},
    {"cert/file/by-id", ROLE_PROVINCE, ep_file_by_id, 0},
    {"cert/file/by-holder", ROLE_PROVINCE, ep_file_by_holder, 0},
    {"cert/info/by-id", ROLE_PROVINCE, ep_info_by_id, 0},
    {"cert/info/by-holder", ROLE_PROVINCE, ep_info_by_holder, 0},
    {"records/by-holder", ROLE_PROVINCE, ep_records, 0},
    {"cert/verify-file", ROLE_PROVINCE, ep_verify_file, 0},
    {"code/issue", ROLE_PROVINCE, ep_code_issue, 0},
    {"code/verify", ROLE_PROVINCE, ep_code_verify, 0},
    {"code/resolve", ROLE_PROVINCE, ep_code_resolve, EP_NODE_ONLY},
};

const struct endpoint *province_endpoints(size_t *n)
{
    *n = sizeof endpoints / sizeof endpoints[0];
    return endpoints;
}
