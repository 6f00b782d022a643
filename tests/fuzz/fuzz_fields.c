/*
 * Fuzz target: the province's request field validator (fields_validate) on
 * arbitrary business JSON, for every endpoint. The first input byte picks the
 * endpoint. Properties: only the documented codes come back (0, 1001-1004),
 * and a field reported present satisfies its length limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "node/fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const endpoints[] = {
    "cert/search",         "cert/info/by-id",     "cert/file/by-id", "cert/info/by-holder",
    "cert/file/by-holder", "records/by-holder",   "code/verify",     "unknown/endpoint",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    const char *ep = endpoints[data[0] % (sizeof endpoints / sizeof endpoints[0])];
    json_t *obj = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
    if (!obj)
        return 0;
    ecert_status st = fields_validate(ep, obj);
    if (st != ECERT_OK && st != ECERT_E_JSON && st != ECERT_E_MISSING && st != ECERT_E_TOO_LONG &&
        st != ECERT_E_MALFORMED)
        abort();
    const char *v = NULL;
    st = fields_str(obj, "UseFor", false, FIELD_MAX, &v);
    if (st == ECERT_OK && v && strlen(v) == 0)
        abort(); /* an empty optional field is reported absent */
    struct purpose p;
    if (json_is_object(obj) && fields_purpose(obj, &p) == ECERT_OK &&
        (!p.use_for || !p.item_code || !p.biz_num))
        abort();
    json_decref(obj);
    return 0;
}
