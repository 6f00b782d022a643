/*
 * zipwrite.c — ZIP packages in memory on libzip (see zipwrite.h).
 *
 * libzip writes an archive into its source when the archive is closed; the
 * source is kept alive across zip_close (zip_source_keep) and read back.
 */
#include "docs/zipwrite.h"

#include <string.h>

#include <zip.h>

#include "common/error.h"

#define ZIP_DEFAULT_MTIME ((time_t)1577836800) /* 2020-01-01T00:00:00Z */

static ecert_status read_back(zip_source_t *src, struct buf *out)
{
    zip_stat_t sb;
    zip_stat_init(&sb);
    if (zip_source_stat(src, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE))
        return err_set(ECERT_E_INTERNAL, "ZIP: cannot size the written archive");
    if (zip_source_open(src) != 0)
        return err_set(ECERT_E_INTERNAL, "ZIP: cannot read the written archive");
    ecert_status st = buf_reserve(out, (size_t)sb.size);
    size_t got = 0;
    while (!st && got < sb.size) {
        zip_int64_t r = zip_source_read(src, out->data + out->len + got, sb.size - got);
        if (r <= 0) {
            st = err_set(ECERT_E_INTERNAL, "ZIP: short read of the written archive");
            break;
        }
        got += (size_t)r;
    }
    zip_source_close(src);
    if (!st) {
        out->len += got;
        out->data[out->len] = 0;
    }
    return st;
}

ecert_status zip_build(const struct zipwrite_entry *entries, size_t n, time_t mtime,
                       struct buf *out)
{
    if ((!entries && n) || !out)
        return err_set(ECERT_E_ARG, "zip_build: NULL argument");
    if (mtime == 0)
        mtime = ZIP_DEFAULT_MTIME;
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_TRUNCATE, &ze) : NULL;
    ecert_status st = ECERT_OK;
    if (!za) {
        zip_source_free(src);
        zip_error_fini(&ze);
        return err_set(ECERT_E_NOMEM, "ZIP: cannot start an archive");
    }
    zip_source_keep(src);
    for (size_t i = 0; i < n && !st; i++) {
        const struct zipwrite_entry *e = &entries[i];
        if (!e->name || !e->name[0] || (!e->data && e->len)) {
            st = err_set(ECERT_E_MALFORMED, "ZIP: entry %zu has no name or data", i);
            break;
        }
        zip_source_t *s = zip_source_buffer(za, e->data ? e->data : (const void *)"", e->len, 0);
        zip_int64_t idx = s ? zip_file_add(za, e->name, s, ZIP_FL_ENC_UTF_8) : -1;
        if (idx < 0) {
            zip_source_free(s);
            st = err_set(ECERT_E_MALFORMED, "ZIP: cannot add %.200s: %s", e->name,
                         zip_strerror(za));
            break;
        }
        if (zip_set_file_compression(za, (zip_uint64_t)idx,
                                     e->store ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 9) != 0 ||
            zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0) != 0)
            st = err_set(ECERT_E_INTERNAL, "ZIP: %.200s: %s", e->name, zip_strerror(za));
    }
    if (st) {
        zip_discard(za);
    } else if (zip_close(za) != 0) {
        st = err_set(ECERT_E_INTERNAL, "ZIP: cannot write the archive: %s", zip_strerror(za));
        zip_discard(za);
    } else {
        st = read_back(src, out);
    }
    zip_source_free(src);
    zip_error_fini(&ze);
    return st;
}
