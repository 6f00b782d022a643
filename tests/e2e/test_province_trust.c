/*
 * End to end, province side: a local federation (trust node and the four
 * provinces as real ecertd processes) driven through the SDK and through raw
 * envelopes. Every certificate interface of a holder (表1–表5) and the
 * holder's usage records; each SPEC §5 code a province or the pipeline
 * produces, with the HTTP status SPEC §5 pairs with it; the usage-record
 * chain before and after tampering; /healthz, /metrics, unknown paths; and a
 * clean SIGTERM shutdown of every node.
 *
 * The province answers from its own library (forwarding through the hub is
 * not part of this release), so each call goes to the province that holds
 * the certificate, with that province's demo app.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "codes/ids.h"
#include "common/codec.h"
#include "envelope/envelope.h"
#include "token/token.h"
#include "util_fed.h"

#define JS "YRD-JS"
#define SH "YRD-SH"
#define TRUST "YRD-TRUST"
/* The JS province refreshes app states every 2 s and pulls revocations every
 * second (app_cache_s / 2), so that the revocation test is quick. */
#define JS_APP_CACHE_S 2
#define REVOKE_WAIT_MS 10000

static struct fed *F;

/* ---- the sample data this run uses ------------------------------------------ */

struct pick {
    const char *holder;    /* holder code */
    const char *id;        /* CertificateID */
    const char *type_code;
    const char *type;      /* 证照类型名称 */
    const char *number;
    const char *province;
    const char *status;
    const char *scene_ok;  /* a scene that allows the type */
    const char *scene_no;  /* a scene that does not */
};

static struct pick H;      /* a person with a valid certificate in JS */
static struct pick H_SH;   /* the same person's certificate in SH */
static struct pick B;      /* another person with a valid certificate in JS */
static struct pick REV;    /* a revoked certificate (any province) */
static struct pick SUS;    /* a suspended certificate (any province) */

static struct sm2_key *app_keys[4]; /* demo apps' private keys: SH JS ZJ AH */
static const char *const provinces[4] = {"YRD-SH", "YRD-JS", "YRD-ZJ", "YRD-AH"};

static const char *scene_for(const char *type_code, bool allowing)
{
    size_t i, k;
    json_t *s, *t;
    json_array_foreach(json_object_get(F->json, "scenes"), i, s) {
        bool has = false;
        json_array_foreach(json_object_get(s, "types"), k, t)
            has = has || strcmp(json_string_value(t), type_code) == 0;
        if (has == allowing)
            return json_string_value(json_object_get(s, "itemCode"));
    }
    return NULL;
}

/* The first certificate in `province` with `status` whose holder is a person
 * (type 111) other than `not_holder`, and (when `holder` is given) of that
 * holder; its type must be in some scene and out of some other. */
static bool find_cert(const char *province, const char *status, const char *holder,
                      const char *not_holder, struct pick *out)
{
    size_t i, k;
    json_t *h, *c;
    json_array_foreach(json_object_get(F->json, "holders"), i, h) {
        const char *code = json_string_value(json_object_get(h, "code"));
        if (strcmp(json_string_value(json_object_get(h, "type")), "111") != 0 ||
            (holder && strcmp(code, holder) != 0) || (not_holder && strcmp(code, not_holder) == 0))
            continue;
        json_array_foreach(json_object_get(h, "certificates"), k, c) {
            const char *prov = json_string_value(json_object_get(c, "province"));
            const char *st = json_string_value(json_object_get(c, "status"));
            const char *tc = json_string_value(json_object_get(c, "typeCode"));
            if ((province && strcmp(prov, province) != 0) || strcmp(st, status) != 0 ||
                !scene_for(tc, true) || !scene_for(tc, false))
                continue;
            out->holder = code;
            out->id = json_string_value(json_object_get(c, "id"));
            out->type_code = tc;
            out->type = json_string_value(json_object_get(c, "type"));
            out->number = json_string_value(json_object_get(c, "number"));
            out->province = prov;
            out->status = st;
            out->scene_ok = scene_for(tc, true);
            out->scene_no = scene_for(tc, false);
            return true;
        }
    }
    return false;
}

static int prov_index(const char *id)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(provinces[i], id) == 0)
            return i;
    return -1;
}

static const char *app_id_of(const char *province)
{
    return json_string_value(json_object_get(fed_app(F, province), "appId"));
}

static const struct sm2_key *app_key_of(const char *province)
{
    return app_keys[prov_index(province)];
}

/* ---- what the run produced, for the /metrics check ----------------------------- */

struct seen {
    char node[16];
    char path[40];
    int code;
};
static struct seen seen[256];
static size_t nseen;

static void note(const char *node, const char *path, int code)
{
    for (size_t i = 0; i < nseen; i++)
        if (strcmp(seen[i].node, node) == 0 && strcmp(seen[i].path, path) == 0 &&
            seen[i].code == code)
            return;
    if (nseen == sizeof seen / sizeof seen[0])
        return;
    snprintf(seen[nseen].node, sizeof seen[nseen].node, "%s", node);
    snprintf(seen[nseen].path, sizeof seen[nseen].path, "%s", path);
    seen[nseen].code = code;
    nseen++;
}

/* ---- calls ----------------------------------------------------------------------- */

static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_non_null(s);
    return s;
}

/* Business JSON of a holder call (表1/表3/表5); NULL members are left out. */
static void put(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static void put_purpose(json_t *o, const char *item_code, const char *biz)
{
    ecert_purpose p;
    fed_purpose(&p, item_code, biz);
    put(o, "UseFor", p.use_for);
    put(o, "itemName", p.item_name);
    put(o, "itemCode", p.item_code);
    put(o, "itemOrg", p.item_org);
    put(o, "operator", p.operator_name);
    put(o, "bizNum", p.biz_num);
}

static char *holder_biz(const char *token, const char *type, const char *number,
                        const char *item_code, const char *biz)
{
    json_t *o = json_object();
    put(o, "trustedToken", token);
    put(o, "CertificateType", type);
    put(o, "CertificateNumber", number);
    put_purpose(o, item_code, biz);
    return dump(o);
}

/* Business JSON of a by-id call (表2/表4). */
static char *id_biz(const char *id, const char *token, const char *item_code, const char *biz)
{
    json_t *o = json_object();
    put(o, "CertificateID", id);
    put(o, "trustedToken", token);
    put_purpose(o, item_code, biz);
    return dump(o);
}

/* A raw envelope call from `province`'s demo app to `node`; the answer must be
 * signed by the node and carry `want` with SPEC §5's HTTP status. Returns the
 * business result for code 0 (caller decrefs), else NULL. Consumes `biz`. */
static json_t *expect_raw(const char *node, const char *app_province, const char *endpoint,
                          char *biz, int want)
{
    struct fed_raw_req rq = {.node = node,
                             .endpoint = endpoint,
                             .app_id = app_id_of(app_province),
                             .sign_key = app_key_of(app_province),
                             .business = biz};
    struct fed_reply r;
    assert_int_equal(fed_raw(F, &rq, &r), 0);
    if (r.code != want || r.http != fed_spec_http(want))
        print_message("%s %s: want %d/HTTP %d, got %d/HTTP %d (%s)\n", node, endpoint, want,
                      fed_spec_http(want), r.code, r.http, r.msg);
    free(biz);
    assert_int_equal(r.code, want);
    assert_int_equal(r.http, fed_spec_http(want));
    assert_true(r.is_signed);
    note(node, endpoint, want);
    if (want == 0)
        assert_non_null(r.result);
    return r.result;
}

/* The same through the SDK (ecert_client_call): the node's verdict, and the
 * parsed result for code 0. */
static json_t *expect_sdk(ecert_client *c, const char *node, const char *endpoint, char *biz,
                          int want)
{
    int code = -1;
    char *res = NULL, *msg = NULL;
    ecert_status st = ecert_client_call(c, endpoint, biz, &code, &res, &msg);
    free(biz);
    if (st != ECERT_OK)
        print_message("%s %s: %s\n", node, endpoint, ecert_last_error());
    assert_int_equal(st, ECERT_OK);
    if (code != want)
        print_message("%s %s: want %d, got %d (%s)\n", node, endpoint, want, code,
                      msg ? msg : "");
    assert_int_equal(code, want);
    note(node, endpoint, want);
    json_t *j = NULL;
    if (want == 0) {
        j = json_loads(res, 0, NULL);
        assert_non_null(j);
    }
    ecert_free(res);
    ecert_free(msg);
    return j;
}

static ecert_client *trust_client(const char *app_province)
{
    ecert_client *c = fed_app_client(F, TRUST, app_province);
    assert_non_null(c);
    return c;
}

static void get_token(const char *app_province, const char *holder, const char *perm,
                      char tok[FED_TOKEN_MAX])
{
    assert_int_equal(fed_token(trust_client(app_province), holder, perm, tok), 0);
    assert_true(strncmp(tok, "v1.", 3) == 0);
}

static size_t total_of(const json_t *res)
{
    json_t *t = json_object_get(res, "total");
    assert_true(json_is_integer(t));
    assert_int_equal((size_t)json_integer_value(t), json_array_size(json_object_get(res, "dataList")));
    return (size_t)json_integer_value(t);
}

static const char *field(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    if (!v)
        print_message("field %s missing\n", k);
    assert_non_null(v);
    return v;
}

static bool scene_allows(const char *scene, const char *type_code)
{
    size_t i, k;
    json_t *s, *t;
    json_array_foreach(json_object_get(F->json, "scenes"), i, s) {
        if (strcmp(json_string_value(json_object_get(s, "itemCode")), scene) != 0)
            continue;
        json_array_foreach(json_object_get(s, "types"), k, t)
            if (strcmp(json_string_value(t), type_code) == 0)
                return true;
    }
    return false;
}

/* The holder's certificates (federation.json) that a holder query may return:
 * of a type the scene allows, of `type_code` and `perm` when given, valid
 * ones only for files, in `province` only when given. */
static size_t expected_ids(const char *holder, const char *scene, const char *type_code,
                           const char *perm, bool valid_only, const char *province,
                           const char *out[], size_t cap)
{
    size_t n = 0, i, k;
    json_t *h, *c;
    json_array_foreach(json_object_get(F->json, "holders"), i, h) {
        if (strcmp(json_string_value(json_object_get(h, "code")), holder) != 0)
            continue;
        json_array_foreach(json_object_get(h, "certificates"), k, c) {
            const char *tc = json_string_value(json_object_get(c, "typeCode"));
            if (!scene_allows(scene, tc) || (type_code && strcmp(tc, type_code) != 0) ||
                (perm && strcmp(tc, perm) != 0) ||
                (valid_only &&
                 strcmp(json_string_value(json_object_get(c, "status")), "valid") != 0) ||
                (province &&
                 strcmp(json_string_value(json_object_get(c, "province")), province) != 0))
                continue;
            if (n < cap)
                out[n++] = json_string_value(json_object_get(c, "id"));
        }
    }
    return n;
}

static bool in_list(const char *id, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], id) == 0)
            return true;
    return false;
}

static size_t total_of(const json_t *res);

/* Checks a holder query's answer against the sample data. A province fans a
 * holder query out to the federation (SPEC §1) where that is built, and
 * answers from its own library where it is not. Either way every item is one
 * of the holder's certificates the query may return, none appears twice, and
 * every one that the asked province holds is there; an answer that lists the
 * unavailable provinces (a fan-out) must list none, and then holds all of
 * them. Returns the number of items. */
static size_t check_holder_answer(const json_t *res, const char *province, const char *holder,
                                  const char *scene, const char *type_code, const char *perm,
                                  bool valid_only)
{
    const char *all[32], *local[32], *got[64];
    size_t nall = expected_ids(holder, scene, type_code, perm, valid_only, NULL, all, 32);
    size_t nlocal = expected_ids(holder, scene, type_code, perm, valid_only, province, local, 32);
    size_t n = total_of(res), i;
    json_t *item;
    assert_true(n <= 64);
    json_array_foreach(json_object_get(res, "dataList"), i, item) {
        const char *id = json_string_value(json_object_get(item, "CertificateID"));
        assert_non_null(id);
        if (!in_list(id, all, nall))
            print_message("%s answered %s, not one of the holder's certificates for %s\n",
                          province, id, scene);
        assert_true(in_list(id, all, nall));
        assert_false(in_list(id, got, i));
        const char *hc = json_string_value(json_object_get(item, "CertificateHolderCode"));
        if (hc)
            assert_string_equal(hc, holder);
        got[i] = id;
    }
    for (size_t k = 0; k < nlocal; k++) {
        if (!in_list(local[k], got, n))
            print_message("%s left out its own %s\n", province, local[k]);
        assert_true(in_list(local[k], got, n));
    }
    json_t *unavailable = json_object_get(res, "unavailable");
    if (unavailable) {
        assert_true(json_is_array(unavailable));
        assert_int_equal(json_array_size(unavailable), 0);
        assert_int_equal(n, nall);
    }
    return n;
}

/* The item for certificate `id` in an answer's dataList. */
static const json_t *item_for(const json_t *res, const char *id)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(res, "dataList"), i, item)
        if (strcmp(json_string_value(json_object_get(item, "CertificateID")), id) == 0)
            return item;
    print_message("%s is not in the answer\n", id);
    fail();
    return NULL;
}

/* SM3 with OpenSSL's own implementation, so that the check does not rest on
 * the code under test. */
static void sm3_hex_openssl(const uint8_t *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    const EVP_MD *sm3 = EVP_get_digestbyname("SM3");
    assert_non_null(sm3);
    assert_int_equal(EVP_Digest(p, n, md, &len, sm3, NULL), 1);
    assert_int_equal(len, 32);
    hex_encode(md, 32, out);
}

/* fileEntity decodes to the bytes that fileSM3 names, and is what
 * fileFormat says: an OFD (a ZIP package) or a PDF. */
static void check_file(const json_t *file, const char *id)
{
    assert_string_equal(field(file, "CertificateID"), id);
    const char *b64 = field(file, "fileEntity");
    const char *sm3 = field(file, "fileSM3");
    const char *fmt = field(file, "fileFormat");
    assert_true(strcmp(fmt, "OFD") == 0 || strcmp(fmt, "PDF") == 0);
    assert_true(strlen(field(file, "fileName")) > 0);
    size_t cap = strlen(b64), n = 0;
    uint8_t *bytes = malloc(cap + 1);
    assert_non_null(bytes);
    assert_int_equal(base64_decode(b64, strlen(b64), bytes, cap, &n, 0), ECERT_OK);
    assert_true(n > 100);
    if (strcmp(fmt, "PDF") == 0)
        assert_memory_equal(bytes, "%PDF-", 5);
    else
        assert_memory_equal(bytes, "PK\x03\x04", 4);
    char hex[65];
    sm3_hex_openssl(bytes, n, hex);
    assert_string_equal(hex, sm3);
    free(bytes);
}

static void check_summary(const json_t *s, const struct pick *c)
{
    static const char *const keys[] = {
        "CertificateID",           "CertificateType",
        "CertificateTypeCode",     "CertificateNumber",
        "CertificateHolder",       "CertificateHolderCode",
        "CertificateHolderTypeCode", "CertificateIssuingAuthority",
        "CertificateIssuingAuthorityCode", "CertificateIssuedDate",
        "CertificateValidFrom",    "CertificateValidTo",
        "CertificateStatus",       "CertificateAreaCode",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        field(s, keys[i]);
    assert_string_equal(field(s, "CertificateID"), c->id);
    assert_string_equal(field(s, "CertificateTypeCode"), c->type_code);
    assert_string_equal(field(s, "CertificateType"), c->type);
    assert_string_equal(field(s, "CertificateNumber"), c->number);
    assert_string_equal(field(s, "CertificateHolderCode"), c->holder);
    assert_string_equal(field(s, "CertificateHolderTypeCode"), "111");
    assert_string_equal(field(s, "CertificateStatus"), c->status);
}

static void check_info(const json_t *s, const struct pick *c)
{
    check_summary(s, c);
    json_t *surface = json_object_get(s, "SurfaceData");
    assert_true(json_is_object(surface));
    assert_true(json_object_size(surface) > 0);
    assert_string_equal(json_string_value(json_object_get(surface, "证照编号")), c->number);
    /* Originals are sealed OFDs, or SM2-signed PDFs (sample food permits). */
    const char *fmt = field(s, "fileFormat");
    assert_true(strcmp(fmt, "OFD") == 0 || strcmp(fmt, "PDF") == 0);
    const char *sm3 = field(s, "fileSM3");
    assert_int_equal(strlen(sm3), 64);
    assert_true(is_hex(sm3, 64));
}

/* ---- the stores, read directly ------------------------------------------------------ */

static sqlite3 *open_store(const char *province)
{
    char path[FED_PATH + 32];
    char rel[64];
    snprintf(rel, sizeof rel, "%s/store.db", province);
    fed_path(F, path, sizeof path, rel);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    return db;
}

static int64_t count_records(sqlite3 *db, const char *biz, int result)
{
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM usage_records WHERE biz_num = ?1 "
                                        "AND result = ?2",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(q, 1, biz, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, result);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

/* ---- 0: health, metrics, unknown paths --------------------------------------------- */

static void test_health_and_unknown_paths(void **state)
{
    (void)state;
    for (size_t i = 0; i < F->nnodes; i++) {
        struct buf b = BUF_INIT(1 << 20);
        int http = 0;
        assert_int_equal(fed_get(F, F->nodes[i].id, "/healthz", &http, &b), 0);
        assert_int_equal(http, 200);
        json_t *j = json_loads((char *)b.data, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
        assert_string_equal(json_string_value(json_object_get(j, "node")), F->nodes[i].id);
        json_decref(j);
        buf_release(&b);
    }
    struct buf b = BUF_INIT(1 << 20);
    int http = 0;
    assert_int_equal(fed_get(F, JS, "/no/such/thing", &http, &b), 0);
    assert_int_equal(http, 404);
    note(JS, "other", 404);
    buf_reset(&b);
    assert_int_equal(fed_get(F, JS, "/api/v1/cert/searchx", &http, &b), 0);
    assert_int_equal(http, 404);
    note(JS, "other", 404);
    buf_release(&b);
    /* A well-formed envelope to an endpoint that does not exist. */
    struct fed_raw_req rq = {.node = JS,
                             .endpoint = "cert/no-such-interface",
                             .app_id = app_id_of(JS),
                             .sign_key = app_key_of(JS),
                             .business = "{}"};
    struct fed_reply r;
    assert_int_equal(fed_raw(F, &rq, &r), 0);
    assert_int_equal(r.http, 404);
    /* A trust endpoint on a province is unknown there too. */
    rq.endpoint = "trust/token/person";
    assert_int_equal(fed_raw(F, &rq, &r), 0);
    assert_int_equal(r.http, 404);
}

/* ---- the certificate interfaces of one holder ------------------------------------- */

static void test_certificate_interfaces(void **state)
{
    (void)state;
    ecert_client *js = fed_app_client(F, JS, JS);
    assert_non_null(js);
    char tok[FED_TOKEN_MAX];
    get_token(JS, H.holder, NULL, tok);
    ecert_purpose p;
    int code = -1;
    char *res = NULL, *msg = NULL;

    /* 表1 through the typed SDK call: the scene's types only. */
    fed_purpose(&p, H.scene_ok, "IF-1");
    assert_int_equal(ecert_cert_search(js, tok, NULL, NULL, &p, &code, &res, &msg), ECERT_OK);
    assert_int_equal(code, 0);
    json_t *j = json_loads(res, 0, NULL);
    ecert_free(res);
    assert_non_null(j);
    assert_true(check_holder_answer(j, JS, H.holder, H.scene_ok, NULL, NULL, false) >= 1);
    check_summary(item_for(j, H.id), &H);
    json_decref(j);
    note(JS, "cert/search", 0);

    /* A scene that does not allow the type: this certificate is left out,
     * although the holder has it here. */
    j = expect_sdk(js, JS, "cert/search", holder_biz(tok, NULL, NULL, H.scene_no, "IF-2"), 0);
    check_holder_answer(j, JS, H.holder, H.scene_no, NULL, NULL, false);
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(j, "dataList"), i, item)
        assert_string_not_equal(field(item, "CertificateID"), H.id);
    json_decref(j);
    /* CertificateType by name, by type code; CertificateNumber right and wrong. */
    j = expect_sdk(js, JS, "cert/search", holder_biz(tok, H.type, NULL, H.scene_ok, "IF-3"), 0);
    assert_int_equal(check_holder_answer(j, JS, H.holder, H.scene_ok, H.type_code, NULL, false),
                     1);
    json_decref(j);
    j = expect_sdk(js, JS, "cert/search", holder_biz(tok, H.type_code, NULL, H.scene_ok, "IF-4"),
                   0);
    assert_int_equal(check_holder_answer(j, JS, H.holder, H.scene_ok, H.type_code, NULL, false),
                     1);
    json_decref(j);
    j = expect_sdk(js, JS, "cert/search", holder_biz(tok, H.type, H.number, H.scene_ok, "IF-5"), 0);
    assert_int_equal(total_of(j), 1);
    check_summary(item_for(j, H.id), &H);
    json_decref(j);
    j = expect_sdk(js, JS, "cert/search", holder_biz(tok, NULL, "NO-SUCH-NUMBER-1", H.scene_ok,
                                                      "IF-6"), 0);
    assert_int_equal(total_of(j), 0);
    json_decref(j);

    /* 表5 照面信息 by holder. */
    fed_purpose(&p, H.scene_ok, "IF-7");
    assert_int_equal(ecert_cert_info_by_holder(js, tok, NULL, NULL, &p, &code, &res, &msg),
                     ECERT_OK);
    assert_int_equal(code, 0);
    j = json_loads(res, 0, NULL);
    ecert_free(res);
    assert_non_null(j);
    check_holder_answer(j, JS, H.holder, H.scene_ok, NULL, NULL, false);
    check_info(item_for(j, H.id), &H);
    json_decref(j);
    note(JS, "cert/info/by-holder", 0);

    /* 表3 文件 by holder. */
    fed_purpose(&p, H.scene_ok, "IF-8");
    assert_int_equal(ecert_cert_file_by_holder(js, tok, H.type, NULL, &p, &code, &res, &msg),
                     ECERT_OK);
    assert_int_equal(code, 0);
    j = json_loads(res, 0, NULL);
    ecert_free(res);
    assert_non_null(j);
    assert_int_equal(check_holder_answer(j, JS, H.holder, H.scene_ok, H.type_code, NULL, true),
                     1);
    check_file(item_for(j, H.id), H.id);
    json_decref(j);
    note(JS, "cert/file/by-holder", 0);

    /* 表4 and 表2 by CertificateID, with the holder's token and without one
     * (allowed: require_token_for_id is off in the sample federation). */
    fed_purpose(&p, H.scene_ok, "IF-9");
    assert_int_equal(ecert_cert_info_by_id(js, H.id, tok, &p, &code, &res, &msg), ECERT_OK);
    assert_int_equal(code, 0);
    j = json_loads(res, 0, NULL);
    ecert_free(res);
    assert_int_equal(total_of(j), 1);
    check_info(json_array_get(json_object_get(j, "dataList"), 0), &H);
    json_decref(j);
    note(JS, "cert/info/by-id", 0);
    j = expect_sdk(js, JS, "cert/info/by-id", id_biz(H.id, NULL, H.scene_ok, "IF-10"), 0);
    assert_int_equal(total_of(j), 1);
    json_decref(j);

    fed_purpose(&p, H.scene_ok, "IF-11");
    assert_int_equal(ecert_cert_file_by_id(js, H.id, tok, &p, &code, &res, &msg), ECERT_OK);
    assert_int_equal(code, 0);
    j = json_loads(res, 0, NULL);
    ecert_free(res);
    assert_int_equal(total_of(j), 1);
    check_file(json_array_get(json_object_get(j, "dataList"), 0), H.id);
    json_decref(j);
    note(JS, "cert/file/by-id", 0);
    j = expect_raw(JS, JS, "cert/file/by-id", id_biz(H.id, NULL, H.scene_ok, "IF-12"), 0);
    check_file(json_array_get(json_object_get(j, "dataList"), 0), H.id);
    json_decref(j);

    /* The same holder's certificate in another province, from that
     * province's app with a token of its own. */
    ecert_client *sh = fed_app_client(F, SH, SH);
    assert_non_null(sh);
    char tok_sh[FED_TOKEN_MAX];
    get_token(SH, H.holder, NULL, tok_sh);
    j = expect_sdk(sh, SH, "cert/search", holder_biz(tok_sh, NULL, NULL, H_SH.scene_ok, "IF-13"),
                   0);
    check_holder_answer(j, SH, H.holder, H_SH.scene_ok, NULL, NULL, false);
    check_summary(item_for(j, H_SH.id), &H_SH);
    json_decref(j);
    j = expect_sdk(sh, SH, "cert/info/by-id", id_biz(H_SH.id, tok_sh, H_SH.scene_ok, "IF-14"), 0);
    check_info(json_array_get(json_object_get(j, "dataList"), 0), &H_SH);
    json_decref(j);

    /* 应用记录: every call above is listed, with its purpose and outcome. */
    assert_int_equal(ecert_records_by_holder(js, tok, 0, 0, &code, &res, &msg), ECERT_OK);
    assert_int_equal(code, 0);
    note(JS, "records/by-holder", 0);
    j = json_loads(res, 0, NULL);
    ecert_free(res);
    total_of(j);
    static const struct {
        const char *biz, *iface;
        bool by_id, other_scene;
    } want[] = {
        {"IF-1", "cert/search", false, false},         {"IF-2", "cert/search", false, true},
        {"IF-5", "cert/search", false, false},         {"IF-6", "cert/search", false, false},
        {"IF-7", "cert/info/by-holder", false, false}, {"IF-8", "cert/file/by-holder", false, false},
        {"IF-9", "cert/info/by-id", true, false},      {"IF-10", "cert/info/by-id", true, false},
        {"IF-11", "cert/file/by-id", true, false},     {"IF-12", "cert/file/by-id", true, false},
    };
    /* A holder query that a province fans out is recorded by every province
     * it reached (each keeps the records of its own library), and records
     * fan out too: such a call may be listed once per province. A by-id call
     * is recorded once, by the province that holds the certificate. */
    sqlite3 *db = open_store(JS);
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        size_t k, found = 0;
        json_t *r;
        json_array_foreach(json_object_get(j, "dataList"), k, r) {
            if (strcmp(field(r, "bizNum"), want[w].biz) != 0)
                continue;
            found++;
            assert_string_equal(field(r, "interface"), want[w].iface);
            assert_int_equal(json_integer_value(json_object_get(r, "result")), 0);
            assert_string_equal(field(r, "appId"), app_id_of(JS));
            assert_string_equal(field(r, "requesterNode"), JS);
            assert_string_equal(field(r, "itemCode"),
                                want[w].other_scene ? H.scene_no : H.scene_ok);
            assert_string_equal(field(r, "UseFor"), "业务办理");
            assert_string_equal(field(r, "operator"), "王五");
            assert_true(strlen(field(r, "time")) >= 19);
            if (want[w].by_id)
                assert_string_equal(field(r, "CertificateID"), H.id);
        }
        if (found < 1 || found > (want[w].by_id ? 1 : 4))
            print_message("records: %s found %zu times\n", want[w].biz, found);
        assert_true(found >= 1);
        assert_true(found <= (want[w].by_id ? 1u : 4u));
        /* JS itself wrote exactly one. */
        assert_int_equal(count_records(db, want[w].biz, 0), 1);
    }
    sqlite3_close(db);
    json_decref(j);
    ecert_free(msg);
}

/* ---- 1xxx: request shape ----------------------------------------------------------- */

static void test_1001_not_json(void **state)
{
    (void)state;
    struct fed_reply r;
    static const char garbage[] = "this is { not JSON";
    assert_int_equal(fed_post(F, JS, "/api/v1/cert/search", garbage, sizeof garbage - 1, NULL,
                              NULL, &r),
                     0);
    assert_int_equal(r.code, 1001);
    assert_int_equal(r.http, fed_spec_http(1001));
    note(JS, "cert/search", 1001);
    /* JSON, but not an envelope (an array). */
    static const char array[] = "[1,2,3]";
    assert_int_equal(fed_post(F, JS, "/api/v1/cert/search", array, sizeof array - 1, NULL, NULL,
                              &r),
                     0);
    assert_int_equal(r.code, 1001);
    assert_int_equal(r.http, 400);
    /* A valid envelope whose business data is not a JSON object. */
    json_decref(expect_raw(JS, JS, "cert/search", strdup("[\"not\",\"an\",\"object\"]"), 1001));
    json_decref(expect_raw(JS, JS, "cert/info/by-id", strdup("{\"CertificateID\": "), 1001));
}

static void test_1002_missing_field(void **state)
{
    (void)state;
    char tok[FED_TOKEN_MAX];
    get_token(JS, H.holder, NULL, tok);
    /* No itemCode: the SDK leaves NULL members out. */
    ecert_client *js = fed_app_client(F, JS, JS);
    ecert_purpose p;
    fed_purpose(&p, NULL, "C1002-1");
    int code = -1;
    char *res = NULL, *msg = NULL;
    assert_int_equal(ecert_cert_search(js, tok, NULL, NULL, &p, &code, &res, &msg), ECERT_OK);
    assert_int_equal(code, 1002);
    assert_non_null(strstr(msg, "itemCode"));
    ecert_free(msg);
    note(JS, "cert/search", 1002);
    json_decref(expect_raw(JS, JS, "cert/search", holder_biz(tok, NULL, NULL, NULL, "C1002-2"),
                           1002));
    /* No token on a holder call; no CertificateID on a by-id call. */
    json_decref(expect_raw(JS, JS, "cert/info/by-holder",
                           holder_biz(NULL, NULL, NULL, H.scene_ok, "C1002-3"), 1002));
    json_decref(expect_raw(JS, JS, "cert/file/by-id", id_biz(NULL, NULL, H.scene_ok, "C1002-4"),
                           1002));
}

static void test_1003_too_long(void **state)
{
    (void)state;
    char tok[FED_TOKEN_MAX];
    get_token(JS, H.holder, NULL, tok);
    /* The limit is 512 characters (not bytes): 512 CJK characters pass, 513
     * ASCII ones do not. */
    char name[512 * 3 + 1];
    for (size_t i = 0; i < 512; i++)
        memcpy(name + 3 * i, "测", 3);
    name[512 * 3] = 0;
    char *base = holder_biz(tok, NULL, NULL, H.scene_ok, "C1003-1");
    json_t *o = json_loads(base, 0, NULL);
    free(base);
    assert_non_null(o);
    json_object_set_new(o, "itemName", json_string(name));
    json_decref(expect_raw(JS, JS, "cert/search", dump(o), 0));

    char longer[514];
    memset(longer, 'n', 513);
    longer[513] = 0;
    base = holder_biz(tok, NULL, NULL, H.scene_ok, "C1003-2");
    o = json_loads(base, 0, NULL);
    free(base);
    json_object_set_new(o, "itemName", json_string(longer));
    json_decref(expect_raw(JS, JS, "cert/search", dump(o), 1003));

    /* The body limit (16 MiB): one byte over is refused with 413 before any
     * parsing; exactly at the limit the body is read (and is not JSON). */
    size_t limit = 16u << 20;
    char *big = malloc(limit + 1);
    assert_non_null(big);
    memset(big, ' ', limit + 1);
    big[0] = '{';
    struct fed_reply r;
    assert_int_equal(fed_post(F, JS, "/api/v1/cert/search", big, limit + 1, NULL, NULL, &r), 0);
    assert_int_equal(r.http, 413);
    assert_int_equal(r.code, 1003);
    assert_int_equal(fed_post(F, JS, "/api/v1/cert/search", big, limit, NULL, NULL, &r), 0);
    assert_int_equal(r.http, 400);
    assert_int_equal(r.code, 1001);
    free(big);
}

static void test_1004_malformed_identifier(void **state)
{
    (void)state;
    /* The right identifier with a wrong check character. */
    char bad[IDS_CERT_MAX_LEN + 1];
    snprintf(bad, sizeof bad, "%s", H.id);
    size_t n = strlen(bad);
    bad[n - 1] = bad[n - 1] == '0' ? '1' : '0';
    assert_int_not_equal(ids_cert_parse(bad, n, NULL), ECERT_OK);
    json_decref(expect_raw(JS, JS, "cert/info/by-id", id_biz(bad, NULL, H.scene_ok, "C1004-1"),
                           1004));
    json_decref(expect_raw(JS, JS, "cert/file/by-id", id_biz(bad, NULL, H.scene_ok, "C1004-2"),
                           1004));
    /* An unknown CertificateType name is a malformed enumerated value. */
    char tok[FED_TOKEN_MAX];
    get_token(JS, H.holder, NULL, tok);
    json_decref(expect_raw(JS, JS, "cert/search",
                           holder_biz(tok, "不存在的证照类型", NULL, H.scene_ok, "C1004-3"), 1004));
}

/* ---- 2xxx: envelope cryptography ----------------------------------------------------- */

static void test_2001_wrong_recipient(void **state)
{
    (void)state;
    /* Correctly signed by the app, but encrypted to the trust node's key. */
    char *biz = id_biz(H.id, NULL, H.scene_ok, "C2001");
    struct fed_raw_req rq = {.node = JS,
                             .endpoint = "cert/info/by-id",
                             .app_id = app_id_of(JS),
                             .sign_key = app_key_of(JS),
                             .enc_to = fed_node(F, TRUST)->pub,
                             .business = biz};
    struct fed_reply r;
    assert_int_equal(fed_raw(F, &rq, &r), 0);
    free(biz);
    assert_int_equal(r.code, 2001);
    assert_int_equal(r.http, fed_spec_http(2001));
    assert_true(r.is_signed);
    note(JS, "cert/info/by-id", 2001);
}

static void test_2002_bad_signature(void **state)
{
    (void)state;
    struct sm2_key *other = fed_new_key();
    assert_non_null(other);
    char *biz = id_biz(H.id, NULL, H.scene_ok, "C2002");
    struct fed_raw_req rq = {.node = JS,
                             .endpoint = "cert/info/by-id",
                             .app_id = app_id_of(JS),
                             .sign_key = other,
                             .business = biz};
    struct fed_reply r;
    assert_int_equal(fed_raw(F, &rq, &r), 0);
    assert_int_equal(r.code, 2002);
    assert_int_equal(r.http, fed_spec_http(2002));
    note(JS, "cert/info/by-id", 2002);
    /* The right key, but the envelope changed after signing. */
    struct buf env = BUF_INIT(ENVELOPE_MAX_BODY);
    rq.sign_key = app_key_of(JS);
    char nonce[ENVELOPE_MAX_NONCE + 1];
    assert_int_equal(fed_envelope(F, &rq, &env, nonce), 0);
    json_t *e = json_loadb((char *)env.data, env.len, 0, NULL);
    json_object_set_new(e, "timestamp",
                        json_integer(json_integer_value(json_object_get(e, "timestamp")) + 1));
    char *text = dump(e);
    assert_int_equal(fed_post(F, JS, "/api/v1/cert/info/by-id", text, strlen(text),
                              app_key_of(JS), nonce, &r),
                     0);
    assert_int_equal(r.code, 2002);
    assert_int_equal(r.http, 401);
    free(text);
    buf_release(&env);
    free(biz);
    sm2_key_free(other);
}

static void test_2003_stale_timestamp(void **state)
{
    (void)state;
    const int64_t offsets[] = {-301000, 301000};
    for (size_t i = 0; i < 2; i++) {
        char *biz = id_biz(H.id, NULL, H.scene_ok, "C2003");
        struct fed_raw_req rq = {.node = JS,
                                 .endpoint = "cert/info/by-id",
                                 .app_id = app_id_of(JS),
                                 .sign_key = app_key_of(JS),
                                 .ts_offset_ms = offsets[i],
                                 .business = biz};
        struct fed_reply r;
        assert_int_equal(fed_raw(F, &rq, &r), 0);
        free(biz);
        assert_int_equal(r.code, 2003);
        assert_int_equal(r.http, fed_spec_http(2003));
        assert_true(r.is_signed);
        note(JS, "cert/info/by-id", 2003);
    }
    /* Inside the window (290 s late) the same call is served. */
    char *biz = id_biz(H.id, NULL, H.scene_ok, "C2003-ok");
    struct fed_raw_req rq = {.node = JS,
                             .endpoint = "cert/info/by-id",
                             .app_id = app_id_of(JS),
                             .sign_key = app_key_of(JS),
                             .ts_offset_ms = -290000,
                             .business = biz};
    struct fed_reply r;
    assert_int_equal(fed_raw(F, &rq, &r), 0);
    free(biz);
    assert_int_equal(r.code, 0);
    fed_reply_release(&r);
}

static void test_2004_replay(void **state)
{
    (void)state;
    char *biz = id_biz(H.id, NULL, H.scene_ok, "C2004");
    struct fed_raw_req rq = {.node = JS,
                             .endpoint = "cert/info/by-id",
                             .app_id = app_id_of(JS),
                             .sign_key = app_key_of(JS),
                             .business = biz};
    struct buf env = BUF_INIT(ENVELOPE_MAX_BODY);
    char nonce[ENVELOPE_MAX_NONCE + 1];
    assert_int_equal(fed_envelope(F, &rq, &env, nonce), 0);
    struct fed_reply r;
    assert_int_equal(fed_post(F, JS, "/api/v1/cert/info/by-id", env.data, env.len,
                              app_key_of(JS), nonce, &r),
                     0);
    assert_int_equal(r.code, 0);
    fed_reply_release(&r);
    assert_int_equal(fed_post(F, JS, "/api/v1/cert/info/by-id", env.data, env.len,
                              app_key_of(JS), nonce, &r),
                     0);
    assert_int_equal(r.code, 2004);
    assert_int_equal(r.http, fed_spec_http(2004));
    assert_true(r.is_signed);
    note(JS, "cert/info/by-id", 2004);
    buf_release(&env);
    free(biz);
}

/* ---- 3xxx: authorisation ------------------------------------------------------------- */

static void test_3001_unknown_app(void **state)
{
    (void)state;
    struct sm2_key *k = fed_new_key();
    char *biz = id_biz(H.id, NULL, H.scene_ok, "C3001");
    struct fed_raw_req rq = {.node = JS,
                             .endpoint = "cert/info/by-id",
                             .app_id = "A000000001",
                             .sign_key = k,
                             .business = biz};
    struct fed_reply r;
    assert_int_equal(fed_raw(F, &rq, &r), 0);
    assert_int_equal(r.code, 3001);
    assert_int_equal(r.http, fed_spec_http(3001));
    note(JS, "cert/info/by-id", 3001);
    /* A known app's id with a key that is not the app's is a forgery (2002),
     * not an unknown app. */
    rq.app_id = app_id_of(JS);
    assert_int_equal(fed_raw(F, &rq, &r), 0);
    assert_int_equal(r.code, 2002);
    free(biz);
    sm2_key_free(k);
}

/* Polls a search until it answers `want` (or the time is up); the elapsed
 * milliseconds, or -1. */
static int64_t poll_search(ecert_client *c, const char *tok, int want, int64_t limit_ms)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        char *biz = holder_biz(tok, NULL, NULL, H.scene_ok, "C3002-poll");
        int code = -1;
        char *res = NULL, *msg = NULL;
        ecert_status st = ecert_client_call(c, "cert/search", biz, &code, &res, &msg);
        free(biz);
        ecert_free(res);
        ecert_free(msg);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        int64_t ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (st == ECERT_OK && code == want)
            return ms;
        if (ms > limit_ms)
            return -1;
        fed_sleep_ms(200);
    }
}

static void test_3002_bad_and_revoked_token(void **state)
{
    (void)state;
    json_decref(expect_raw(JS, JS, "cert/search",
                           holder_biz("garbage-token", NULL, NULL, H.scene_ok, "C3002-1"), 3002));
    json_decref(expect_raw(JS, JS, "cert/search",
                           holder_biz("v1.e30.AAAA", NULL, NULL, H.scene_ok, "C3002-2"), 3002));
    /* A well-formed token signed by a key that is not the trust node's. */
    struct sm2_key *k = fed_new_key();
    struct token_claims tc;
    memset(&tc, 0, sizeof tc);
    snprintf(tc.iss, sizeof tc.iss, "YRD-TRUST");
    snprintf(tc.sub, sizeof tc.sub, "%s", H.holder);
    snprintf(tc.sty, sizeof tc.sty, "111");
    snprintf(tc.name, sizeof tc.name, "x");
    tc.aty = 2;
    snprintf(tc.app, sizeof tc.app, "%s", app_id_of(JS));
    tc.iat = time(NULL) - 10;
    tc.exp = tc.iat + 600;
    struct buf forged = BUF_INIT(TOKEN_MAX_LEN);
    assert_int_equal(token_issue(&tc, k, &forged), ECERT_OK);
    json_decref(expect_raw(JS, JS, "cert/info/by-id",
                           id_biz(H.id, (char *)forged.data, H.scene_ok, "C3002-3"), 3002));
    buf_release(&forged);
    sm2_key_free(k);

    /* Revocation: the token works, its app revokes it at the trust node, and
     * the province refuses it once it has pulled the revocation list. */
    ecert_client *js = fed_app_client(F, JS, JS);
    char tok[FED_TOKEN_MAX];
    get_token(JS, H.holder, NULL, tok);
    json_decref(expect_sdk(js, JS, "cert/search", holder_biz(tok, NULL, NULL, H.scene_ok,
                                                             "C3002-4"), 0));
    json_t *o = json_pack("{s:s}", "trustedToken", tok);
    /* Only the app the token was issued to may revoke it. */
    json_decref(expect_raw(TRUST, SH, "trust/token/revoke", dump(json_deep_copy(o)), 3002));
    json_t *rv = expect_raw(TRUST, JS, "trust/token/revoke", dump(o), 0);
    assert_true(json_is_true(json_object_get(rv, "revoked")));
    json_decref(rv);
    int64_t ms = poll_search(js, tok, 3002, REVOKE_WAIT_MS);
    if (ms < 0)
        print_message("the revoked token was still accepted after %d ms\n", REVOKE_WAIT_MS);
    assert_true(ms >= 0);
    print_message("revocation reached YRD-JS after %lld ms\n", (long long)ms);
    json_decref(expect_raw(JS, JS, "cert/info/by-id", id_biz(H.id, tok, H.scene_ok, "C3002-5"),
                           3002));
    note(JS, "cert/search", 3002);
}

static void test_3003_expired_token(void **state)
{
    (void)state;
    struct token_claims tc;
    memset(&tc, 0, sizeof tc);
    snprintf(tc.iss, sizeof tc.iss, "YRD-TRUST");
    snprintf(tc.sub, sizeof tc.sub, "%s", H.holder);
    snprintf(tc.sty, sizeof tc.sty, "111");
    snprintf(tc.name, sizeof tc.name, "x");
    tc.aty = 2;
    snprintf(tc.app, sizeof tc.app, "%s", app_id_of(JS));
    tc.iat = time(NULL) - 1200;
    tc.exp = tc.iat + 600;
    struct buf tok = BUF_INIT(TOKEN_MAX_LEN);
    assert_int_equal(token_issue(&tc, F->trust_key, &tok), ECERT_OK);
    json_decref(expect_raw(JS, JS, "cert/search",
                           holder_biz((char *)tok.data, NULL, NULL, H.scene_ok, "C3003-1"), 3003));
    json_decref(expect_raw(JS, JS, "cert/file/by-id",
                           id_biz(H.id, (char *)tok.data, H.scene_ok, "C3003-2"), 3003));
    /* The same claims, still current, pass: the expiry is what failed. */
    tc.iat = time(NULL) - 10;
    tc.exp = tc.iat + 600;
    tc.jti[0] = 0;
    buf_reset(&tok);
    assert_int_equal(token_issue(&tc, F->trust_key, &tok), ECERT_OK);
    json_decref(expect_raw(JS, JS, "cert/info/by-id",
                           id_biz(H.id, (char *)tok.data, H.scene_ok, "C3003-3"), 0));
    buf_release(&tok);
}

static void test_3004_other_holder(void **state)
{
    (void)state;
    char tok[FED_TOKEN_MAX];
    get_token(JS, H.holder, NULL, tok);
    json_decref(expect_raw(JS, JS, "cert/info/by-id", id_biz(B.id, tok, B.scene_ok, "C3004-1"),
                           3004));
    json_decref(expect_raw(JS, JS, "cert/file/by-id", id_biz(B.id, tok, B.scene_ok, "C3004-2"),
                           3004));
}

static void test_3005_unpublished_scene(void **state)
{
    (void)state;
    char tok[FED_TOKEN_MAX];
    get_token(JS, H.holder, NULL, tok);
    json_decref(expect_raw(JS, JS, "cert/search",
                           holder_biz(tok, NULL, NULL, "YRD-NOSUCH-0001", "C3005-1"), 3005));
    json_decref(expect_raw(JS, JS, "cert/info/by-id",
                           id_biz(H.id, tok, "YRD-NOSUCH-0001", "C3005-2"), 3005));
    json_decref(expect_raw(JS, JS, "cert/file/by-holder",
                           holder_biz(tok, NULL, NULL, "YRD-NOSUCH-0001", "C3005-3"), 3005));
}

static void test_3006_scene_type(void **state)
{
    (void)state;
    char tok[FED_TOKEN_MAX];
    get_token(JS, H.holder, NULL, tok);
    json_decref(expect_raw(JS, JS, "cert/info/by-id", id_biz(H.id, tok, H.scene_no, "C3006-1"),
                           3006));
    json_decref(expect_raw(JS, JS, "cert/file/by-id", id_biz(H.id, NULL, H.scene_no, "C3006-2"),
                           3006));
    json_decref(expect_raw(JS, JS, "cert/search",
                           holder_biz(tok, H.type, NULL, H.scene_no, "C3006-3"), 3006));
}

static void test_3007_permission(void **state)
{
    (void)state;
    /* A token whose permission is some other type code of the catalog. */
    const char *other = NULL;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(F->json, "scenes"), i, s) {
        size_t k;
        json_t *t;
        json_array_foreach(json_object_get(s, "types"), k, t)
            if (!other && strcmp(json_string_value(t), H.type_code) != 0)
                other = json_string_value(t);
    }
    assert_non_null(other);
    char tok[FED_TOKEN_MAX];
    get_token(JS, H.holder, other, tok);
    json_decref(expect_raw(JS, JS, "cert/info/by-id", id_biz(H.id, tok, H.scene_ok, "C3007-1"),
                           3007));
    json_decref(expect_raw(JS, JS, "cert/file/by-id", id_biz(H.id, tok, H.scene_ok, "C3007-2"),
                           3007));
    json_decref(expect_raw(JS, JS, "cert/search",
                           holder_biz(tok, H.type, NULL, H.scene_ok, "C3007-3"), 3007));
    /* Without a CertificateType, the type the token does not cover is left
     * out rather than refused. */
    json_t *j = expect_raw(JS, JS, "cert/search", holder_biz(tok, NULL, NULL, H.scene_ok,
                                                             "C3007-4"), 0);
    check_holder_answer(j, JS, H.holder, H.scene_ok, NULL, other, false);
    json_array_foreach(json_object_get(j, "dataList"), i, s)
        assert_string_equal(field(s, "CertificateTypeCode"), other);
    json_decref(j);
    /* A token permitting exactly this type is served. */
    get_token(JS, H.holder, H.type_code, tok);
    j = expect_raw(JS, JS, "cert/info/by-id", id_biz(H.id, tok, H.scene_ok, "C3007-5"), 0);
    assert_int_equal(total_of(j), 1);
    json_decref(j);
}

/* ---- 4xxx: certificates --------------------------------------------------------------- */

static void test_4001_unknown_certificate(void **state)
{
    (void)state;
    struct cert_id id;
    assert_int_equal(ids_cert_parse(H.id, strlen(H.id), &id), ECERT_OK);
    snprintf(id.serial, sizeof id.serial, "%s", "99999999999999999999");
    char other[IDS_CERT_MAX_LEN + 1];
    assert_int_equal(ids_cert_format(&id, other, sizeof other, NULL), ECERT_OK);
    assert_int_equal(ids_cert_parse(other, strlen(other), NULL), ECERT_OK);
    assert_string_not_equal(other, H.id);
    json_decref(expect_raw(JS, JS, "cert/info/by-id", id_biz(other, NULL, H.scene_ok, "C4001-1"),
                           4001));
    json_decref(expect_raw(JS, JS, "cert/file/by-id", id_biz(other, NULL, H.scene_ok, "C4001-2"),
                           4001));
}

/* A revoked or suspended certificate: its metadata still answers, with its
 * status; its file is refused, by id and by holder. */
static void check_unusable(const struct pick *c, const char *tag)
{
    char biz[32];
    char tok[FED_TOKEN_MAX];
    get_token(c->province, c->holder, NULL, tok);
    snprintf(biz, sizeof biz, "C4002-%s-1", tag);
    json_t *j = expect_raw(c->province, c->province, "cert/info/by-id",
                           id_biz(c->id, tok, c->scene_ok, biz), 0);
    assert_int_equal(total_of(j), 1);
    check_info(json_array_get(json_object_get(j, "dataList"), 0), c);
    json_decref(j);
    snprintf(biz, sizeof biz, "C4002-%s-2", tag);
    j = expect_raw(c->province, c->province, "cert/search",
                   holder_biz(tok, c->type, NULL, c->scene_ok, biz), 0);
    assert_int_equal(total_of(j), 1);
    assert_string_equal(field(json_array_get(json_object_get(j, "dataList"), 0),
                              "CertificateStatus"),
                        c->status);
    json_decref(j);
    snprintf(biz, sizeof biz, "C4002-%s-3", tag);
    json_decref(expect_raw(c->province, c->province, "cert/file/by-id",
                           id_biz(c->id, tok, c->scene_ok, biz), 4002));
    snprintf(biz, sizeof biz, "C4002-%s-4", tag);
    json_decref(expect_raw(c->province, c->province, "cert/file/by-id",
                           id_biz(c->id, NULL, c->scene_ok, biz), 4002));
    snprintf(biz, sizeof biz, "C4002-%s-5", tag);
    json_decref(expect_raw(c->province, c->province, "cert/file/by-holder",
                           holder_biz(tok, c->type, NULL, c->scene_ok, biz), 4002));
}

static void test_4002_unusable_state(void **state)
{
    (void)state;
    assert_string_equal(REV.status, "revoked");
    assert_string_equal(SUS.status, "suspended");
    check_unusable(&REV, "R");
    check_unusable(&SUS, "S");
}

/* ---- usage records ------------------------------------------------------------------- */

/* Refused calls that reached the scene check are recorded like served ones,
 * and the holder sees those made on their certificates. */
static void test_records_of_refusals(void **state)
{
    (void)state;
    const struct pick *c = &SUS; /* a holder with a certificate that cannot be downloaded */
    const char *prov = c->province;
    char tok[FED_TOKEN_MAX], other_tok[FED_TOKEN_MAX];
    get_token(prov, c->holder, NULL, tok);
    /* someone else's token, to be refused with 3004 */
    get_token(prov, strcmp(H.holder, c->holder) != 0 ? H.holder : B.holder, NULL, other_tok);
    json_decref(expect_raw(prov, prov, "cert/info/by-id", id_biz(c->id, NULL, c->scene_no, "REC-3006"),
                           3006));
    json_decref(expect_raw(prov, prov, "cert/info/by-id",
                           id_biz(c->id, other_tok, c->scene_ok, "REC-3004"), 3004));
    json_decref(expect_raw(prov, prov, "cert/file/by-id", id_biz(c->id, tok, c->scene_ok, "REC-4002"),
                           4002));
    json_decref(expect_raw(prov, prov, "cert/info/by-id", id_biz(c->id, tok, c->scene_ok, "REC-0"),
                           0));
    json_decref(expect_raw(prov, prov, "cert/info/by-id",
                           id_biz(c->id, tok, "YRD-NOSUCH-0002", "REC-3005"), 3005));

    json_t *j = expect_raw(prov, prov, "records/by-holder",
                           dump(json_pack("{s:s}", "trustedToken", tok)), 0);
    static const struct {
        const char *biz;
        int result;
        const char *iface;
    } want[] = {{"REC-3006", 3006, "cert/info/by-id"},
                {"REC-3004", 3004, "cert/info/by-id"},
                {"REC-4002", 4002, "cert/file/by-id"},
                {"REC-0", 0, "cert/info/by-id"}};
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        size_t i, found = 0;
        json_t *r;
        json_array_foreach(json_object_get(j, "dataList"), i, r) {
            if (strcmp(field(r, "bizNum"), want[w].biz) != 0)
                continue;
            found++;
            assert_int_equal(json_integer_value(json_object_get(r, "result")), want[w].result);
            assert_string_equal(field(r, "interface"), want[w].iface);
            assert_string_equal(field(r, "CertificateID"), c->id);
        }
        if (found != 1)
            print_message("records/by-holder: %s found %zu times\n", want[w].biz, found);
        assert_int_equal(found, 1);
    }
    json_decref(j);
    /* Every one of them is in the store, the unpublished scene's too. */
    sqlite3 *db = open_store(prov);
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++)
        assert_int_equal(count_records(db, want[w].biz, want[w].result), 1);
    assert_int_equal(count_records(db, "REC-3005", 3005), 1);
    sqlite3_close(db);
    /* And at JS, the refusals of the code tests above. */
    db = open_store(JS);
    assert_int_equal(count_records(db, "C3004-1", 3004), 1);
    assert_int_equal(count_records(db, "C3006-1", 3006), 1);
    assert_int_equal(count_records(db, "C3007-1", 3007), 1);
    assert_int_equal(count_records(db, "C3005-1", 3005), 1);
    assert_int_equal(count_records(db, "C4001-1", 4001), 1);
    assert_int_equal(count_records(db, "C3003-1", 3003), 1);
    sqlite3_close(db);
}

static void test_records_chain(void **state)
{
    (void)state;
    char ini[FED_PATH], out[4096];
    fed_path(F, ini, sizeof ini, "YRD-JS/node.ini");
    int rc = fed_cli(F, out, sizeof out, "records", "verify", "--config", ini, NULL);
    if (rc != 0)
        print_message("records verify: %s\n", out);
    assert_int_equal(rc, 0);
    unsigned long long before = strtoull(out, NULL, 10);
    assert_true(before >= 20);
    assert_non_null(strstr(out, "intact"));

    /* Change one field of one record in the middle of the chain. */
    sqlite3 *db = open_store(JS);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT seq FROM usage_records ORDER BY seq "
                                        "LIMIT 1 OFFSET 5",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t seq = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE usage_records SET operator = '李四' WHERE seq = %lld",
             (long long)seq);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);

    rc = fed_cli(F, out, sizeof out, "records", "verify", "--config", ini, NULL);
    assert_int_equal(rc, 1);
    char needle[48];
    snprintf(needle, sizeof needle, "seq %lld", (long long)seq);
    if (!strstr(out, needle))
        print_message("records verify does not name %s: %s\n", needle, out);
    assert_non_null(strstr(out, needle));
    /* Another province's chain is untouched. */
    fed_path(F, ini, sizeof ini, "YRD-SH/node.ini");
    assert_int_equal(fed_cli(F, out, sizeof out, "records", "verify", "--config", ini, NULL), 0);
}

/* ---- metrics --------------------------------------------------------------------------- */

static void test_metrics(void **state)
{
    (void)state;
    assert_true(nseen > 20);
    const char *nodes[] = {JS, SH, TRUST, REV.province, SUS.province};
    for (size_t n = 0; n < sizeof nodes / sizeof nodes[0]; n++) {
        struct buf b = BUF_INIT(1 << 20);
        int http = 0;
        assert_int_equal(fed_get(F, nodes[n], "/metrics", &http, &b), 0);
        assert_int_equal(http, 200);
        const char *text = (const char *)b.data;
        assert_non_null(strstr(text, "# TYPE ecert_requests_total counter"));
        for (size_t i = 0; i < nseen; i++) {
            if (strcmp(seen[i].node, nodes[n]) != 0)
                continue;
            char line[256];
            int len = snprintf(line, sizeof line,
                               "ecert_requests_total{node=\"%s\",path=\"%s\",code=\"%d\"} ",
                               seen[i].node, seen[i].path, seen[i].code);
            assert_true(len > 0 && (size_t)len < sizeof line);
            const char *at = strstr(text, line);
            if (!at)
                print_message("/metrics of %s lacks %s\n", nodes[n], line);
            assert_non_null(at);
            assert_true(strtoull(at + strlen(line), NULL, 10) >= 1);
        }
        buf_release(&b);
    }
    /* Every code of SPEC §5 that the province pipeline produced above. */
    static const int codes[] = {0,    1001, 1002, 1003, 1004, 2001, 2002, 2003, 2004,
                                3001, 3002, 3003, 3004, 3005, 3006, 3007, 4001};
    for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++) {
        bool found = false;
        for (size_t i = 0; i < nseen; i++)
            found = found || (strcmp(seen[i].node, JS) == 0 && seen[i].code == codes[c]);
        if (!found)
            print_message("no call at YRD-JS produced %d\n", codes[c]);
        assert_true(found);
    }
}

/* ---- shutdown ---------------------------------------------------------------------------- */

static void test_clean_shutdown(void **state)
{
    (void)state;
    /* Provinces first (they call the others), the trust node last. */
    for (size_t i = 0; i < F->nnodes; i++)
        if (strcmp(F->nodes[i].id, TRUST) != 0)
            assert_int_equal(fed_stop_node(F, F->nodes[i].id), 0);
    assert_int_equal(fed_stop_node(F, TRUST), 0);
}

/* ---- main ---------------------------------------------------------------------------------- */

static int pick_data(void)
{
    if (!find_cert(JS, "valid", NULL, NULL, &H) ||
        !find_cert(SH, "valid", H.holder, NULL, &H_SH) ||
        !find_cert(JS, "valid", NULL, H.holder, &B) || !find_cert(NULL, "revoked", NULL, NULL, &REV) ||
        !find_cert(NULL, "suspended", NULL, NULL, &SUS)) {
        fprintf(stderr, "e2e: the sample federation lacks the certificates this test needs\n");
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        const char *hex = json_string_value(json_object_get(fed_app(F, provinces[i]), "privateKey"));
        if (!hex || sm2_key_parse_private(hex, strlen(hex), &app_keys[i]) != ECERT_OK)
            return -1;
    }
    return 0;
}

int main(void)
{
    char cache[16];
    snprintf(cache, sizeof cache, "%d", JS_APP_CACHE_S);
    const struct fed_ini_set sets[] = {{JS, "limits", "app_cache_s", cache}};
    F = fed_start(NULL, sets, 1);
    if (!F)
        return 1;
    if (pick_data() != 0) {
        fed_finish(F, true);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_unknown_paths),
        cmocka_unit_test(test_certificate_interfaces),
        cmocka_unit_test(test_1001_not_json),
        cmocka_unit_test(test_1002_missing_field),
        cmocka_unit_test(test_1003_too_long),
        cmocka_unit_test(test_1004_malformed_identifier),
        cmocka_unit_test(test_2001_wrong_recipient),
        cmocka_unit_test(test_2002_bad_signature),
        cmocka_unit_test(test_2003_stale_timestamp),
        cmocka_unit_test(test_2004_replay),
        cmocka_unit_test(test_3001_unknown_app),
        cmocka_unit_test(test_3002_bad_and_revoked_token),
        cmocka_unit_test(test_3003_expired_token),
        cmocka_unit_test(test_3004_other_holder),
        cmocka_unit_test(test_3005_unpublished_scene),
        cmocka_unit_test(test_3006_scene_type),
        cmocka_unit_test(test_3007_permission),
        cmocka_unit_test(test_4001_unknown_certificate),
        cmocka_unit_test(test_4002_unusable_state),
        cmocka_unit_test(test_records_of_refusals),
        cmocka_unit_test(test_records_chain),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_clean_shutdown),
    };
    /* ECERT_E2E_FILTER=pattern runs the matching tests only (cmocka's
     * wildcards: * and ?); the federation is started either way. */
    const char *filter = getenv("ECERT_E2E_FILTER");
    if (filter && filter[0])
        cmocka_set_test_filter(filter);
    int failed = cmocka_run_group_tests_name("e2e province and trust", tests, NULL, NULL);
    int unclean = fed_finish(F, failed != 0);
    for (int i = 0; i < 4; i++)
        sm2_key_free(app_keys[i]);
    return failed || unclean ? 1 : 0;
}
