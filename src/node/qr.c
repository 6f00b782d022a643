#include "node/qr.h"

#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "common/error.h"
#include "common/png.h"

#define QUIET 4

ecert_status qr_png(const char *text, unsigned scale, struct buf *out)
{
    if (scale == 0 || scale > 16)
        return err_set(ECERT_E_ARG, "qr: scale out of range");
    QRcode *q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (!q)
        return err_set(ECERT_E_TOO_LONG, "qr: text does not fit in a QR code");
    uint32_t side = (uint32_t)(q->width + 2 * QUIET) * scale;
    uint8_t *px = malloc((size_t)side * side);
    ecert_status st = ECERT_OK;
    if (!px) {
        QRcode_free(q);
        return err_set(ECERT_E_NOMEM, "out of memory");
    }
    memset(px, 255, (size_t)side * side);
    for (int y = 0; y < q->width; y++)
        for (int x = 0; x < q->width; x++) {
            if (!(q->data[y * q->width + x] & 1))
                continue; /* bit 0: dark module */
            for (unsigned dy = 0; dy < scale; dy++)
                memset(px + ((size_t)(y + QUIET) * scale + dy) * side + (size_t)(x + QUIET) * scale,
                       0, scale);
        }
    st = png_write_gray(px, side, side, out);
    free(px);
    QRcode_free(q);
    return st;
}
