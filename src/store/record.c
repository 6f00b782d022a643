/*
 * record.c — the canonical bytes of a usage record and its chain hash
 * (SPEC §6), shared by every store backend so that a chain written by one
 * backend verifies under another.
 *
 * canonical(record) is a sequence of netstrings ("<decimal length>:<bytes>,"),
 * one per field in a fixed order, led by a format tag:
 *
 *     tag "ecert-urec-v1", seq, time_ms, cert_id, holder_code, interface,
 *     app_id, requester_node, use_for, item_code, item_name, item_org,
 *     operator, biz_num, result
 *
 * Integers are written in decimal (a leading '-' when negative, no leading
 * zeros); NULL strings are written as empty ones. Because every field carries
 * its own length, no value can be confused with a field boundary, whatever
 * bytes it holds. hash = SM3(prev || canonical), where prev is the 64
 * lowercase hex characters of the previous record's hash (64 '0' for the
 * first record). See docs/store.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/codec.h"
#include "common/error.h"
#include "crypto/sm3.h"
#include "store/store.h"

#define RECORD_TAG "ecert-urec-v1"

static ecert_status put_field(struct buf *out, const char *v, size_t n)
{
    ecert_status st = buf_printf(out, "%zu:", n);
    if (!st)
        st = buf_append(out, v, n);
    if (!st)
        st = buf_append_byte(out, ',');
    return st;
}

static ecert_status put_str(struct buf *out, const char *v)
{
    if (!v)
        v = "";
    size_t n = strnlen(v, USAGE_RECORD_FIELD_MAX + 1);
    if (n > USAGE_RECORD_FIELD_MAX)
        return err_set(ECERT_E_TOO_LONG, "usage record: a field is longer than %d bytes",
                       USAGE_RECORD_FIELD_MAX);
    return put_field(out, v, n);
}

static ecert_status put_int(struct buf *out, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return err_set(ECERT_E_INTERNAL, "usage record: integer formatting failed");
    return put_field(out, tmp, (size_t)n);
}

ecert_status usage_record_canonical(const struct usage_record *r, struct buf *out)
{
    if (!r || !out)
        return err_set(ECERT_E_ARG, "usage_record_canonical: NULL argument");
    const char *fields[] = {r->cert_id,   r->holder_code, r->interface,     r->app_id,
                            r->requester_node, r->use_for, r->item_code, r->item_name,
                            r->item_org,  r->operator_name, r->biz_num};
    ecert_status st = put_field(out, RECORD_TAG, sizeof RECORD_TAG - 1);
    if (!st)
        st = put_int(out, r->seq);
    if (!st)
        st = put_int(out, r->time_ms);
    for (size_t i = 0; !st && i < sizeof fields / sizeof fields[0]; i++)
        st = put_str(out, fields[i]);
    if (!st)
        st = put_int(out, r->result);
    return st;
}

ecert_status usage_record_hash(const char *prev_hex, const struct usage_record *r,
                               char out[USAGE_RECORD_HASH_HEX + 1])
{
    if (!prev_hex || strnlen(prev_hex, USAGE_RECORD_HASH_HEX + 1) != USAGE_RECORD_HASH_HEX)
        return err_set(ECERT_E_MALFORMED, "usage record: prev is not %d hex characters",
                       USAGE_RECORD_HASH_HEX);
    /* Fields are capped, so the canonical form of a valid record fits. */
    struct buf canon = BUF_INIT(16 * (USAGE_RECORD_FIELD_MAX + 16));
    ecert_status st = buf_append(&canon, prev_hex, USAGE_RECORD_HASH_HEX);
    if (!st)
        st = usage_record_canonical(r, &canon);
    uint8_t md[SM3_LEN];
    if (!st)
        st = sm3_digest(canon.data, canon.len, md);
    buf_release(&canon);
    if (st)
        return st;
    hex_encode(md, sizeof md, out);
    return ECERT_OK;
}
