#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Per thread: the daemon serves requests on a pool of threads, each of which
 * must see only its own last failure. */
static _Thread_local char err_buf[512];

ecert_status err_set(ecert_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    va_end(ap);
    return st;
}

ecert_status err_wrap(ecert_status st, const char *what)
{
    char tmp[sizeof err_buf];
    const char *cur = err_buf[0] ? err_buf : ecert_strerror(st);
    size_t wl = strnlen(what, 128);
    /* Built by hand: "what: current detail", truncated to the buffer. */
    size_t n = 0;
    memcpy(tmp, what, wl);
    n = wl;
    memcpy(tmp + n, ": ", 2);
    n += 2;
    size_t cl = strnlen(cur, sizeof tmp - 1 - n);
    memcpy(tmp + n, cur, cl);
    tmp[n + cl] = 0;
    memcpy(err_buf, tmp, sizeof err_buf);
    return st;
}

const char *err_detail(void)
{
    return err_buf;
}

void err_clear(void)
{
    err_buf[0] = '\0';
}

/* ---- public status API --------------------------------------------------- */

struct status_info {
    ecert_status st;
    int http;
    const char *name;
    const char *msg;
};

static const struct status_info status_table[] = {
    {ECERT_OK, 200, "ECERT_OK", "success"},
    {ECERT_E_JSON, 400, "ECERT_E_JSON", "body is not valid JSON or not an envelope"},
    {ECERT_E_MISSING, 400, "ECERT_E_MISSING", "required field missing"},
    {ECERT_E_TOO_LONG, 413, "ECERT_E_TOO_LONG", "field or body too long"},
    {ECERT_E_MALFORMED, 400, "ECERT_E_MALFORMED", "malformed identifier, code or value"},
    {ECERT_E_DECRYPT, 400, "ECERT_E_DECRYPT", "cannot decrypt encryptData"},
    {ECERT_E_SIGNATURE, 401, "ECERT_E_SIGNATURE", "signature invalid"},
    {ECERT_E_TIMESTAMP, 401, "ECERT_E_TIMESTAMP", "timestamp outside window"},
    {ECERT_E_REPLAY, 409, "ECERT_E_REPLAY", "nonce replayed"},
    {ECERT_E_APP, 403, "ECERT_E_APP", "app unknown or disabled"},
    {ECERT_E_TOKEN, 401, "ECERT_E_TOKEN", "trusted token invalid or revoked"},
    {ECERT_E_TOKEN_EXPIRED, 401, "ECERT_E_TOKEN_EXPIRED", "trusted token expired"},
    {ECERT_E_HOLDER, 403, "ECERT_E_HOLDER", "token holder does not match the certificate holder"},
    {ECERT_E_SCENE, 403, "ECERT_E_SCENE", "itemCode is not a published scene"},
    {ECERT_E_SCENE_TYPE, 403, "ECERT_E_SCENE_TYPE", "scene does not allow this certificate type"},
    {ECERT_E_PERMISSION, 403, "ECERT_E_PERMISSION",
     "token permission does not cover this certificate type"},
    {ECERT_E_SECRET, 401, "ECERT_E_SECRET", "app secret wrong or registration refused"},
    {ECERT_E_NOT_FOUND, 404, "ECERT_E_NOT_FOUND", "no such certificate"},
    {ECERT_E_STATE, 409, "ECERT_E_STATE", "certificate not in a usable state"},
    {ECERT_E_CODE_USED, 410, "ECERT_E_CODE_USED", "holder code expired or already used"},
    {ECERT_E_INTERNAL, 500, "ECERT_E_INTERNAL", "internal error"},
    {ECERT_E_UNREACHABLE, 502, "ECERT_E_UNREACHABLE", "a province could not be reached"},
    {ECERT_E_TIMEOUT, 504, "ECERT_E_TIMEOUT", "a province did not answer in time"},
    {ECERT_E_RATE, 429, "ECERT_E_RATE", "rate limit"},
    {ECERT_E_NOMEM, 500, "ECERT_E_NOMEM", "out of memory"},
    {ECERT_E_IO, 500, "ECERT_E_IO", "input/output error"},
    {ECERT_E_ARG, 500, "ECERT_E_ARG", "invalid argument"},
    {ECERT_E_CRYPTO, 500, "ECERT_E_CRYPTO", "cryptographic library failure"},
};

static const struct status_info *status_find(ecert_status st)
{
    for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
        if (status_table[i].st == st)
            return &status_table[i];
    return NULL;
}

const char *ecert_status_name(ecert_status st)
{
    const struct status_info *i = status_find(st);
    return i ? i->name : "ECERT_E_UNKNOWN";
}

const char *ecert_strerror(ecert_status st)
{
    const struct status_info *i = status_find(st);
    return i ? i->msg : "unknown status";
}

int ecert_status_http(ecert_status st)
{
    const struct status_info *i = status_find(st);
    return i ? i->http : 500;
}

int ecert_status_wire(ecert_status st)
{
    return ((int)st >= 9000 || !status_find(st)) ? 5000 : (int)st;
}

const char *ecert_last_error(void)
{
    return err_buf;
}
