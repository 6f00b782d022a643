#include "node/fields.h"

#include <string.h>

#include "codes/ids.h"
#include "common/error.h"

/* Counts UTF-8 characters (the limits are in characters, like the standard's
 * field lengths), treating each byte that is not a continuation byte as one. */
static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

ecert_status fields_str(const json_t *obj, const char *name, bool required, size_t max,
                        const char **out)
{
    *out = NULL;
    const json_t *v = json_object_get(obj, name);
    if (!v && name[0] >= 'A' && name[0] <= 'Z') {
        char alias[64];
        size_t n = strlen(name);
        if (n < sizeof alias) {
            memcpy(alias, name, n + 1);
            alias[0] = (char)(alias[0] - 'A' + 'a');
            v = json_object_get(obj, alias);
        }
    }
    if (!v || json_is_null(v)) {
        if (required)
            return err_set(ECERT_E_MISSING, "required field '%s' is missing", name);
        return ECERT_OK;
    }
    if (!json_is_string(v))
        return err_set(ECERT_E_MALFORMED, "field '%s' must be a string", name);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0) {
        if (required)
            return err_set(ECERT_E_MISSING, "required field '%s' is empty", name);
        return ECERT_OK;
    }
    if (utf8_chars(s, len) > max)
        return err_set(ECERT_E_TOO_LONG, "field '%s' is longer than %zu characters", name, max);
    *out = s;
    return ECERT_OK;
}

ecert_status fields_purpose(const json_t *obj, struct purpose *p)
{
    ecert_status st;
    if ((st = fields_str(obj, "UseFor", true, FIELD_MAX, &p->use_for)) ||
        (st = fields_str(obj, "itemName", true, FIELD_MAX, &p->item_name)) ||
        (st = fields_str(obj, "itemCode", true, FIELD_MAX, &p->item_code)) ||
        (st = fields_str(obj, "itemOrg", true, FIELD_MAX, &p->item_org)) ||
        (st = fields_str(obj, "operator", true, FIELD_MAX, &p->operator_name)) ||
        (st = fields_str(obj, "bizNum", true, FIELD_MAX, &p->biz_num)))
        return st;
    return ECERT_OK;
}

ecert_status fields_validate(const char *endpoint, const json_t *obj)
{
    if (!json_is_object(obj))
        return err_set(ECERT_E_JSON, "business data is not a JSON object");
    const char *s;
    struct purpose p;
    ecert_status st;
    bool by_id = strcmp(endpoint, "cert/info/by-id") == 0 || strcmp(endpoint, "cert/file/by-id") == 0;
    bool by_holder = strcmp(endpoint, "cert/search") == 0 ||
                     strcmp(endpoint, "cert/info/by-holder") == 0 ||
                     strcmp(endpoint, "cert/file/by-holder") == 0;
    if (by_id) {
        if ((st = fields_str(obj, "CertificateID", true, FIELD_MAX, &s)))
            return st;
        struct cert_id id;
        if ((st = ids_cert_parse(s, strlen(s), &id)))
            return err_wrap(st, "CertificateID");
        if ((st = fields_str(obj, "trustedToken", false, 4096, &s)))
            return st;
        return fields_purpose(obj, &p);
    }
    if (by_holder) {
        if ((st = fields_str(obj, "trustedToken", true, 4096, &s)) ||
            (st = fields_str(obj, "CertificateType", false, FIELD_MAX, &s)) ||
            (st = fields_str(obj, "CertificateNumber", false, FIELD_MAX, &s)))
            return st;
        return fields_purpose(obj, &p);
    }
    if (strcmp(endpoint, "records/by-holder") == 0)
        return fields_str(obj, "trustedToken", true, 4096, &s);
    return ECERT_OK;
}
