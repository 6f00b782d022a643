#include "common/png.h"

#include <pthread.h>
#include <string.h>

#include "common/error.h"

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Appends one chunk: length, type, data, CRC over type and data. */
static ecert_status chunk(struct buf *out, const char *type, const uint8_t *data, size_t n)
{
    uint8_t hdr[8];
    be32(hdr, (uint32_t)n);
    memcpy(hdr + 4, type, 4);
    ecert_status st = buf_append(out, hdr, 8);
    if (!st && n)
        st = buf_append(out, data, n);
    uint32_t crc = crc32_update(0xFFFFFFFFu, (const uint8_t *)type, 4);
    crc = crc32_update(crc, data, n) ^ 0xFFFFFFFFu;
    uint8_t c[4];
    be32(c, crc);
    if (!st)
        st = buf_append(out, c, 4);
    return st;
}

ecert_status png_write_gray(const uint8_t *pixels, uint32_t width, uint32_t height,
                            struct buf *out)
{
    pthread_once(&crc_once, crc_init);
    if (width == 0 || height == 0 || width > 4096 || height > 4096)
        return err_set(ECERT_E_ARG, "png: image size out of range");
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    uint8_t ihdr[13];
    be32(ihdr, width);
    be32(ihdr + 4, height);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 0;  /* grayscale */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering (we use filter 0 on each row) */
    ihdr[12] = 0; /* no interlace */
    /* Raw scanlines: a filter byte (0) then the row. */
    size_t raw_len = (size_t)height * (width + 1);
    struct buf z = BUF_INIT(raw_len + raw_len / 65535 * 5 + 64);
    uint8_t zh[2] = {0x78, 0x01};
    ecert_status st = buf_append(&z, zh, 2);
    uint32_t a = 1, b = 0; /* Adler-32 */
    size_t done = 0, row = 0, col = 0;
    while (!st && done < raw_len) {
        size_t n = raw_len - done > 65535 ? 65535 : raw_len - done;
        uint8_t bh[5] = {(uint8_t)(done + n == raw_len), (uint8_t)n, (uint8_t)(n >> 8),
                         (uint8_t)~n, (uint8_t)(~n >> 8)};
        st = buf_append(&z, bh, 5);
        for (size_t i = 0; !st && i < n; i++) {
            uint8_t v = col == 0 ? 0 : pixels[row * width + col - 1];
            if (++col == width + 1) {
                col = 0;
                row++;
            }
            a = (a + v) % 65521;
            b = (b + a) % 65521;
            st = buf_append_byte(&z, v);
        }
        done += n;
    }
    uint8_t ad[4];
    be32(ad, b << 16 | a);
    if (!st)
        st = buf_append(&z, ad, 4);
    if (!st)
        st = buf_append(out, sig, 8);
    if (!st)
        st = chunk(out, "IHDR", ihdr, sizeof ihdr);
    if (!st)
        st = chunk(out, "IDAT", z.data, z.len);
    if (!st)
        st = chunk(out, "IEND", NULL, 0);
    buf_release(&z);
    return st;
}
