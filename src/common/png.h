/*
 * png.h — a minimal PNG writer for 8-bit grayscale images (QR codes).
 * The image data is stored in uncompressed deflate blocks: QR images are
 * small, and a writer without a compressor has nothing to get wrong.
 */
#ifndef ECERT_COMMON_PNG_H
#define ECERT_COMMON_PNG_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/buf.h"

/* pixels: height rows of width bytes (0 = black, 255 = white). */
ecert_status png_write_gray(const uint8_t *pixels, uint32_t width, uint32_t height,
                            struct buf *out);

#endif
