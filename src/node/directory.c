#include "node/directory.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/codec.h"
#include "common/error.h"

ecert_status directory_sign(const char *payload, size_t len, const struct sm2_key *trust_key,
                            struct buf *out)
{
    uint8_t rs[SM2_SIG_LEN], der[SM2_SIG_DER_MAX];
    ecert_status st = sm2_sign(trust_key, NULL, 0, payload, len, rs);
    if (st)
        return st;
    size_t dl = sm2_sig_to_der(rs, der);
    char sig[BASE64_ENCODED_LEN(SM2_SIG_DER_MAX) + 1];
    base64_encode(der, dl, sig, 0);
    json_t *doc = json_pack("{s:s%,s:s}", "payload", payload, len, "signature", sig);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return err_set(ECERT_E_NOMEM, "directory: cannot serialise");
    st = buf_append_str(out, text);
    free(text);
    return st;
}

static ecert_status copy_field(json_t *o, const char *key, char *dst, size_t cap, bool required)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s) {
        if (!required) {
            dst[0] = 0;
            return ECERT_OK;
        }
        return err_set(ECERT_E_MALFORMED, "directory: node without '%s'", key);
    }
    size_t n = strlen(s);
    if (n >= cap)
        return err_set(ECERT_E_MALFORMED, "directory: '%s' too long", key);
    memcpy(dst, s, n + 1);
    return ECERT_OK;
}

/* "catalog": [{"typeCode","name","yrdShared"}], "scenes": [{"itemCode",
 * "itemName","types":[...]}] — optional; both or neither. */
static ecert_status parse_lists(json_t *pl, struct directory *d)
{
    json_t *cat = json_object_get(pl, "catalog"), *sc = json_object_get(pl, "scenes");
    if (!cat && !sc)
        return ECERT_OK;
    if (!json_is_array(cat) || !json_is_array(sc))
        return err_set(ECERT_E_JSON, "directory: catalog and scenes must both be arrays");
    if (json_array_size(cat) > DIRECTORY_MAX_TYPES || json_array_size(sc) > DIRECTORY_MAX_SCENES)
        return err_set(ECERT_E_TOO_LONG, "directory: lists too long");
    d->types = calloc(json_array_size(cat) + 1, sizeof *d->types);
    d->scenes = calloc(json_array_size(sc) + 1, sizeof *d->scenes);
    if (!d->types || !d->scenes)
        return err_set(ECERT_E_NOMEM, "out of memory");
    size_t i;
    json_t *it;
    ecert_status st;
    json_array_foreach(cat, i, it) {
        struct directory_type *t = &d->types[d->ntypes];
        if ((st = copy_field(it, "typeCode", t->code, sizeof t->code, true)) ||
            (st = copy_field(it, "name", t->name, sizeof t->name, true)))
            return st;
        if (strlen(t->code) != 21)
            return err_set(ECERT_E_MALFORMED, "directory: type code of %zu characters",
                           strlen(t->code));
        t->shared = json_is_true(json_object_get(it, "yrdShared"));
        d->ntypes++;
    }
    json_array_foreach(sc, i, it) {
        struct directory_scene *e = &d->scenes[d->nscenes];
        json_t *types = json_object_get(it, "types");
        if ((st = copy_field(it, "itemCode", e->item_code, sizeof e->item_code, true)) ||
            (st = copy_field(it, "itemName", e->item_name, sizeof e->item_name, true)))
            return st;
        if (!json_is_array(types) || json_array_size(types) > 16)
            return err_set(ECERT_E_MALFORMED, "directory: scene %s: types must be an array of "
                                              "at most 16",
                           e->item_code);
        size_t k;
        json_t *tc;
        json_array_foreach(types, k, tc) {
            const char *v = json_string_value(tc);
            if (!v || strlen(v) != 21)
                return err_set(ECERT_E_MALFORMED, "directory: scene %s: bad type code",
                               e->item_code);
            memcpy(e->types[e->ntypes++], v, 22);
        }
        d->nscenes++;
    }
    d->has_lists = true;
    return ECERT_OK;
}

ecert_status directory_parse(const char *doc, size_t len, const struct sm2_key *trust_pub,
                             struct directory **out)
{
    if (len > DIRECTORY_MAX_BYTES)
        return err_set(ECERT_E_TOO_LONG, "directory larger than %u bytes", DIRECTORY_MAX_BYTES);
    json_error_t jerr;
    json_t *root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *pl = NULL;
    struct directory *d = NULL;
    ecert_status st = ECERT_OK;
    const char *payload = json_string_value(json_object_get(root, "payload"));
    const char *sig = json_string_value(json_object_get(root, "signature"));
    if (!root || !payload || !sig) {
        st = err_set(ECERT_E_JSON, "directory: not a signed directory document");
        goto done;
    }
    size_t plen = json_string_length(json_object_get(root, "payload"));
    uint8_t rs[SM2_SIG_LEN];
    if (sm2_sig_decode_text(sig, strlen(sig), rs) != ECERT_OK ||
        sm2_verify(trust_pub, NULL, 0, payload, plen, rs) != ECERT_OK) {
        st = err_set(ECERT_E_SIGNATURE, "directory: signature does not verify with the trust key");
        goto done;
    }
    pl = json_loadb(payload, plen, JSON_REJECT_DUPLICATES, &jerr);
    json_t *nodes = json_object_get(pl, "nodes");
    if (!pl || !json_is_integer(json_object_get(pl, "version")) || !json_is_array(nodes)) {
        st = err_set(ECERT_E_JSON, "directory: payload lacks version or nodes");
        goto done;
    }
    if (json_array_size(nodes) > DIRECTORY_MAX_NODES) {
        st = err_set(ECERT_E_TOO_LONG, "directory: more than %d nodes", DIRECTORY_MAX_NODES);
        goto done;
    }
    d = calloc(1, sizeof *d);
    if (!d) {
        st = err_set(ECERT_E_NOMEM, "out of memory");
        goto done;
    }
    d->version = json_integer_value(json_object_get(pl, "version"));
    d->issued_ms = json_integer_value(json_object_get(pl, "issued"));
    size_t i;
    json_t *nd;
    json_array_foreach(nodes, i, nd) {
        struct directory_node *dn = &d->nodes[d->n];
        char pub[140];
        if ((st = copy_field(nd, "id", dn->id, sizeof dn->id, true)) ||
            (st = copy_field(nd, "role", dn->role, sizeof dn->role, true)) ||
            (st = copy_field(nd, "region", dn->region, sizeof dn->region, false)) ||
            (st = copy_field(nd, "url", dn->url, sizeof dn->url, true)) ||
            (st = copy_field(nd, "publicKey", pub, sizeof pub, true)))
            goto done;
        if ((st = sm2_key_parse_public(pub, strlen(pub), &dn->pub))) {
            err_wrap(st, "directory");
            goto done;
        }
        d->n++;
    }
    if ((st = parse_lists(pl, d)))
        goto done;
    d->doc = malloc(len + 1);
    if (!d->doc) {
        st = err_set(ECERT_E_NOMEM, "out of memory");
        goto done;
    }
    memcpy(d->doc, doc, len);
    d->doc[len] = 0;
    *out = d;
    d = NULL;
done:
    directory_free(d);
    json_decref(pl);
    json_decref(root);
    return st;
}

const struct directory_node *directory_find(const struct directory *d, const char *id)
{
    if (!d)
        return NULL;
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->nodes[i].id, id) == 0)
            return &d->nodes[i];
    return NULL;
}

void directory_free(struct directory *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        sm2_key_free(d->nodes[i].pub);
    free(d->types);
    free(d->scenes);
    free(d->doc);
    free(d);
}
