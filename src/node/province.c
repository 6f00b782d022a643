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
#include "node/fields.h"
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
    r.app_id = u->c->app_id;
    r.requester_node = u->c->node_caller ? u->c->node_caller : u->c->node->cfg.id;
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
    if (kind == ANSWER_FILE && n > 0 && valid == 0) {
        json_decref(list);
        return record(&u, err_set(ECERT_E_STATE, "none of the holder's %zu matching "
                                                 "certificates is valid",
                                  n));
    }
    /* step 6, then the answer */
    if ((st = record(&u, ECERT_OK))) {
        json_decref(list);
        return st;
    }
    return put_result(c, json_pack("{s:I,s:o}", "total", (json_int_t)json_array_size(list),
                                   "dataList", list));
}

/* 表2, 表4: one certificate by its identifier. */
static ecert_status by_id(struct call *c, enum answer kind)
{
    struct usage u = {.c = c};
    const char *id, *tok;
    ecert_status st;
    if ((st = fields_str(c->business, "CertificateID", true, FIELD_MAX, &id)))
        return st;
    if ((st = ids_cert_parse(id, strlen(id), NULL)))
        return err_wrap(st, "CertificateID");
    if ((st = fields_str(c->business, "trustedToken", c->node->cfg.require_token_for_id,
                         TOKEN_MAX_LEN, &tok)) ||
        (st = fields_purpose(c->business, &u.p)))
        return st;
    u.cert_id = id;
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
            list, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "time", when,
                            "CertificateID", r->cert_id, "interface", r->interface, "appId",
                            r->app_id, "requesterNode", r->requester_node, "UseFor", r->use_for,
                            "itemCode", r->item_code, "itemName", r->item_name, "itemOrg",
                            r->item_org, "operator", r->operator_name, "bizNum", r->biz_num,
                            "result", r->result));
    }
    return put_result(c, json_pack("{s:I,s:o}", "total", (json_int_t)n, "dataList", list));
}

static const struct endpoint endpoints[] = {
    {"cert/search", ROLE_PROVINCE, ep_search, 0},
    {"cert/file/by-id", ROLE_PROVINCE, ep_file_by_id, 0},
    {"cert/file/by-holder", ROLE_PROVINCE, ep_file_by_holder, 0},
    {"cert/info/by-id", ROLE_PROVINCE, ep_info_by_id, 0},
    {"cert/info/by-holder", ROLE_PROVINCE, ep_info_by_holder, 0},
    {"records/by-holder", ROLE_PROVINCE, ep_records, 0},
};

const struct endpoint *province_endpoints(size_t *n)
{
    *n = sizeof endpoints / sizeof endpoints[0];
    return endpoints;
}
