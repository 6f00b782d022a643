/*
 * qr.h — a holder code as a QR image (PNG) for 亮码 on a phone screen.
 */
#ifndef ECERT_NODE_QR_H
#define ECERT_NODE_QR_H

#include <stddef.h>

#include <ecert/ecert.h>

#include "common/buf.h"

/* QR (error correction M, byte mode) of `text`, `scale` pixels per module,
 * with the 4-module quiet zone, as a grayscale PNG appended to `out`. */
ecert_status qr_png(const char *text, unsigned scale, struct buf *out);

#endif
