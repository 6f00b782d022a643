/*
 * sdk_client.c — the SDK's calls to a node: one envelope round trip over
 * HTTPS, and a typed function per endpoint of SPEC §4 that builds the
 * standard's business fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/secure.h"
#include "envelope/envelope.h"
#include "http/client.h"
#include "sdk/sdk.h"

struct ecert_client {
    char *base_url;
    char *app_id;
    const ecert_key *app_key;
    const ecert_key *node_pub;
    struct http_client *http;
    long timeout_ms;
    unsigned retry_after_s; /* of the last call's 5003 answer */
};

ECERT_API ecert_status ecert_client_new(const char *base_url, const char *ca_file,
                                        const char *app_id, const ecert_key *app_key,
                                        const ecert_key *node_pub, ecert_client **out)
{
    if (!base_url || !app_id || !app_key || !node_pub || !out)
        return err_set(ECERT_E_ARG, "ecert_client_new: NULL argument");
    if (!ecert_key_has_private(app_key))
        return err_set(ECERT_E_ARG, "ecert_client_new: the app key must be a private key");
    ecert_status st = envelope_check_app_id(app_id, strlen(app_id));
    if (st)
        return st;
    ecert_client *c = calloc(1, sizeof *c);
    if (!c)
        return err_set(ECERT_E_NOMEM, "out of memory");
    c->base_url = strdup(base_url);
    c->app_id = strdup(app_id);
    c->app_key = app_key;
    c->node_pub = node_pub;
    c->timeout_ms = 30000;
    if (!c->base_url || !c->app_id) {
        ecert_client_free(c);
        return err_set(ECERT_E_NOMEM, "out of memory");
    }
    /* Strip trailing slashes so "<base>/api/v1/..." is well formed. */
    size_t n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
        c->base_url[--n] = 0;
    if ((st = http_client_new(ca_file, &c->http))) {
        ecert_client_free(c);
        return st;
    }
    *out = c;
    return ECERT_OK;
}

ECERT_API void ecert_client_free(ecert_client *c)
{
    if (!c)
        return;
    http_client_free(c->http);
    free(c->base_url);
    free(c->app_id);
    free(c);
}

ECERT_API unsigned ecert_client_retry_after(const ecert_client *c)
{
    return c ? c->retry_after_s : 0;
}

ECERT_API void ecert_client_set_timeout(ecert_client *c, long timeout_ms)
{
    if (c && timeout_ms > 0)
        c->timeout_ms = timeout_ms;
}

static ecert_status set_text(char **out, const char *s)
{
    if (!out)
        return ECERT_OK;
    *out = strdup(s ? s : "");
    return *out ? ECERT_OK : err_set(ECERT_E_NOMEM, "out of memory");
}

ECERT_API ecert_status ecert_client_call(ecert_client *c, const char *endpoint,
                                         const char *business_json, int *code, char **result_out,
                                         char **msg_out)
{
    if (!c || !endpoint || !business_json || !code)
        return err_set(ECERT_E_ARG, "ecert_client_call: NULL argument");
    if (result_out)
        *result_out = NULL;
    if (msg_out)
        *msg_out = NULL;
    c->retry_after_s = 0;
    char url[1024];
    if ((size_t)snprintf(url, sizeof url, "%s/api/v1/%s", c->base_url, endpoint) >= sizeof url)
        return err_set(ECERT_E_TOO_LONG, "URL too long");
    struct buf req = BUF_INIT(ENVELOPE_MAX_BODY), resp = BUF_INIT(64u << 20);
    struct buf business = BUF_INIT(64u << 20);
    char nonce[ENVELOPE_MAX_NONCE + 1];
    int status = 0;
    struct arena a;
    arena_init(&a, 64u << 20);
    ecert_status st = envelope_request_build(c->app_id, c->app_key->k, c->node_pub->k,
                                             business_json, strlen(business_json),
                                             envelope_now_ms(), NULL, ECERT_CIPHER_HEX, &req,
                                             nonce);
    if (!st)
        st = http_client_post(c->http, url, (const char *)req.data, req.len, c->timeout_ms,
                              &status, &resp);
    struct envelope_response r;
    if (!st)
        st = envelope_response_open(&a, (const char *)resp.data, resp.len, c->node_pub->k,
                                    c->app_key->k, nonce, &r, &business);
    if (!st) {
        *code = r.code;
        /* A node over a rate limit says when to come back (docs/limits.md);
         * a node that sent none still asks for a pause. */
        if (r.code == ECERT_E_RATE) {
            c->retry_after_s = http_client_retry_after(c->http);
            if (c->retry_after_s == 0)
                c->retry_after_s = 1;
        }
        if (r.code == 0) {
            st = set_text(result_out, (const char *)business.data);
        } else if (msg_out) {
            char m[1200];
            if (r.detail && r.detail[0])
                snprintf(m, sizeof m, "%s: %s", r.msg, r.detail);
            else
                snprintf(m, sizeof m, "%s", r.msg);
            st = set_text(msg_out, m);
        }
    }
    arena_release(&a);
    buf_release(&req);
    buf_release(&resp);
    buf_release_secret(&business);
    return st;
}

/* ---- typed calls ----------------------------------------------------------*/

static void put_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static void put_purpose(json_t *o, const ecert_purpose *p)
{
    if (!p)
        return;
    put_str(o, "UseFor", p->use_for);
    put_str(o, "itemName", p->item_name);
    put_str(o, "itemCode", p->item_code);
    put_str(o, "itemOrg", p->item_org);
    put_str(o, "operator", p->operator_name);
    put_str(o, "bizNum", p->biz_num);
}

/* Serialises `o` (consumed) and makes the call. */
static ecert_status call_json(ecert_client *c, const char *endpoint, json_t *o, int *code,
                              char **result_out, char **msg_out)
{
    if (!o)
        return err_set(ECERT_E_NOMEM, "out of memory");
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return err_set(ECERT_E_NOMEM, "out of memory");
    ecert_status st = ecert_client_call(c, endpoint, text, code, result_out, msg_out);
    secure_wipe(text, strlen(text));
    free(text);
    return st;
}

static ecert_status holder_call(ecert_client *c, const char *endpoint, const char *token,
                                const char *type, const char *number, const ecert_purpose *p,
                                int *code, char **result_out, char **msg_out)
{
    json_t *o = json_object();
    put_str(o, "trustedToken", token);
    put_str(o, "CertificateType", type);
    put_str(o, "CertificateNumber", number);
    put_purpose(o, p);
    return call_json(c, endpoint, o, code, result_out, msg_out);
}

ECERT_API ecert_status ecert_cert_search(ecert_client *c, const char *trusted_token,
                                         const char *type, const char *number,
                                         const ecert_purpose *p, int *code, char **result_out,
                                         char **msg_out)
{
    return holder_call(c, "cert/search", trusted_token, type, number, p, code, result_out,
                       msg_out);
}

ECERT_API ecert_status ecert_cert_info_by_holder(ecert_client *c, const char *trusted_token,
                                                 const char *type, const char *number,
                                                 const ecert_purpose *p, int *code,
                                                 char **result_out, char **msg_out)
{
    return holder_call(c, "cert/info/by-holder", trusted_token, type, number, p, code,
                       result_out, msg_out);
}

ECERT_API ecert_status ecert_cert_file_by_holder(ecert_client *c, const char *trusted_token,
                                                 const char *type, const char *number,
                                                 const ecert_purpose *p, int *code,
                                                 char **result_out, char **msg_out)
{
    return holder_call(c, "cert/file/by-holder", trusted_token, type, number, p, code,
                       result_out, msg_out);
}

static ecert_status id_call(ecert_client *c, const char *endpoint, const char *id,
                            const char *token, const ecert_purpose *p, int *code,
                            char **result_out, char **msg_out)
{
    json_t *o = json_object();
    put_str(o, "CertificateID", id);
    put_str(o, "trustedToken", token);
    put_purpose(o, p);
    return call_json(c, endpoint, o, code, result_out, msg_out);
}

ECERT_API ecert_status ecert_cert_info_by_id(ecert_client *c, const char *certificate_id,
                                             const char *trusted_token, const ecert_purpose *p,
                                             int *code, char **result_out, char **msg_out)
{
    return id_call(c, "cert/info/by-id", certificate_id, trusted_token, p, code, result_out,
                   msg_out);
}

ECERT_API ecert_status ecert_cert_file_by_id(ecert_client *c, const char *certificate_id,
                                             const char *trusted_token, const ecert_purpose *p,
                                             int *code, char **result_out, char **msg_out)
{
    return id_call(c, "cert/file/by-id", certificate_id, trusted_token, p, code, result_out,
                   msg_out);
}

ECERT_API ecert_status ecert_records_by_holder(ecert_client *c, const char *trusted_token,
                                               int64_t from_ms, int64_t to_ms, int *code,
                                               char **result_out, char **msg_out)
{
    json_t *o = json_object();
    put_str(o, "trustedToken", trusted_token);
    if (from_ms)
        json_object_set_new(o, "from", json_integer(from_ms));
    if (to_ms)
        json_object_set_new(o, "to", json_integer(to_ms));
    return call_json(c, "records/by-holder", o, code, result_out, msg_out);
}

ECERT_API ecert_status ecert_code_issue(ecert_client *c, const char *trusted_token, int *code,
                                        char **result_out, char **msg_out)
{
    json_t *o = json_object();
    put_str(o, "trustedToken", trusted_token);
    return call_json(c, "code/issue", o, code, result_out, msg_out);
}

ECERT_API ecert_status ecert_code_verify(ecert_client *c, const char *qrcode,
                                         const ecert_purpose *p, int *code, char **result_out,
                                         char **msg_out)
{
    json_t *o = json_object();
    put_str(o, "qrcode", qrcode);
    put_purpose(o, p);
    return call_json(c, "code/verify", o, code, result_out, msg_out);
}

ECERT_API ecert_status ecert_trust_register(ecert_client *c, const char *app_secret,
                                            const char *corp_name, const char *corp_code,
                                            int *code, char **result_out, char **msg_out)
{
    if (!c)
        return err_set(ECERT_E_ARG, "ecert_trust_register: NULL client");
    char pub[131];
    ecert_key_public_hex(c->app_key, pub);
    json_t *o = json_object();
    put_str(o, "appID", c->app_id);
    put_str(o, "appSecret", app_secret);
    put_str(o, "corpName", corp_name);
    put_str(o, "corpCode", corp_code);
    put_str(o, "publicKey", pub);
    return call_json(c, "trust/app/register", o, code, result_out, msg_out);
}

ECERT_API ecert_status ecert_trust_token_person(ecert_client *c, const char *transaction_id,
                                                int auth_type, const char *name,
                                                const char *id_no, const char *permission,
                                                int *code, char **result_out, char **msg_out)
{
    if (!c)
        return err_set(ECERT_E_ARG, "ecert_trust_token_person: NULL client");
    json_t *o = json_object();
    char at[16];
    snprintf(at, sizeof at, "%d", auth_type);
    put_str(o, "transactionId", transaction_id);
    put_str(o, "authType", at);
    put_str(o, "name", name);
    if (id_no) {
        /* 表9: "SDK会使用平台证书加密该字段" — idNo goes encrypted to the
         * trust node's key, inside the (also encrypted) business data. */
        struct buf ct = BUF_INIT(4096);
        ecert_status st = sm2_encrypt_text(c->node_pub->k, (const uint8_t *)id_no, strlen(id_no),
                                           ECERT_CIPHER_HEX, &ct);
        if (st) {
            json_decref(o);
            buf_release(&ct);
            return st;
        }
        put_str(o, "idType", "1");
        put_str(o, "idNo", (const char *)ct.data);
        buf_release(&ct);
    }
    put_str(o, "permission", permission);
    return call_json(c, "trust/token/person", o, code, result_out, msg_out);
}
