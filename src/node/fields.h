/*
 * fields.h — reading the business JSON of a request (SPEC §3.1, §4, §5).
 *
 * Field names are the standard's (mixed case: CertificateType, UseFor,
 * trustedToken, itemCode ...); lowerCamel spellings (certificateType, useFor)
 * are accepted as aliases, the standard's name winning when both are given.
 * Every string is at most FIELD_MAX characters (SPEC §5: 512) unless the
 * caller says otherwise.
 */
#ifndef ECERT_NODE_FIELDS_H
#define ECERT_NODE_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

#include <ecert/ecert.h>
#include <jansson.h>

#define FIELD_MAX 512

/* *out is NULL when an optional field is absent (or empty). Errors: 1002
 * missing/empty required field, 1003 longer than max characters, 1004 not a
 * string. The detail names the field. */
ecert_status fields_str(const json_t *obj, const char *name, bool required, size_t max,
                        const char **out);

/* The purpose fields every sharing call carries (表1–表7). */
struct purpose {
    const char *use_for, *item_name, *item_code, *item_org, *operator_name, *biz_num;
};
ecert_status fields_purpose(const json_t *obj, struct purpose *p);

/* Validates a whole request business object for an endpoint ("cert/search",
 * "cert/info/by-id", ...) as the province would, without any lookup: fields
 * present, lengths, identifier syntax. Used by the handlers and fuzzed. */
ecert_status fields_validate(const char *endpoint, const json_t *obj);

#endif
