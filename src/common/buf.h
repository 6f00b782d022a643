/*
 * buf.h — a growable byte buffer that knows its maximum (as curl's dynbuf).
 *
 * Every buffer is given a hard cap at init; an append past it fails with
 * ECERT_E_TOO_LONG instead of growing without bound on hostile input. The
 * data is always NUL-terminated (one spare byte beyond len) so text can be
 * handed to C string functions without another copy.
 */
#ifndef ECERT_COMMON_BUF_H
#define ECERT_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

struct buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max;
};

#define BUF_INIT(maxbytes) {NULL, 0, 0, (maxbytes)}

void buf_init(struct buf *b, size_t max);
ecert_status buf_reserve(struct buf *b, size_t extra);
ecert_status buf_append(struct buf *b, const void *p, size_t n);
ecert_status buf_append_str(struct buf *b, const char *s);
ecert_status buf_append_byte(struct buf *b, uint8_t c);
ecert_status buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
/* Frees the storage. */
void buf_release(struct buf *b);
/* Wipes then frees: for buffers that held plaintext or key material. */
void buf_release_secret(struct buf *b);
/* Hands the storage to the caller (who frees it with free()); the buffer is
 * left empty. Never NULL on success: an empty buffer yields "". */
ecert_status buf_detach(struct buf *b, char **out, size_t *len);

#endif
