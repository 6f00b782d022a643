#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/secure.h"

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

ecert_status buf_reserve(struct buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return err_set(ECERT_E_TOO_LONG, "data exceeds the limit of %zu bytes", b->max);
    size_t need = b->len + extra + 1; /* +1: the terminating NUL */
    if (need <= b->cap)
        return ECERT_OK;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    uint8_t *p = realloc(b->data, ncap);
    if (!p)
        return err_set(ECERT_E_NOMEM, "out of memory (%zu bytes)", ncap);
    b->data = p;
    b->cap = ncap;
    return ECERT_OK;
}

ecert_status buf_append(struct buf *b, const void *p, size_t n)
{
    ecert_status st = buf_reserve(b, n);
    if (st)
        return st;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return ECERT_OK;
}

ecert_status buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

ecert_status buf_append_byte(struct buf *b, uint8_t c)
{
    return buf_append(b, &c, 1);
}

ecert_status buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return err_set(ECERT_E_INTERNAL, "format error");
    ecert_status st = buf_reserve(b, (size_t)n);
    if (st)
        return st;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ECERT_OK;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

void buf_release(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_release_secret(struct buf *b)
{
    if (b->data)
        secure_wipe(b->data, b->cap);
    buf_release(b);
}

ecert_status buf_detach(struct buf *b, char **out, size_t *len)
{
    if (!b->data) {
        ecert_status st = buf_reserve(b, 0);
        if (st)
            return st;
        b->data[0] = 0;
    }
    *out = (char *)b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return ECERT_OK;
}
