/*
 * zipread.c — bounded ZIP reading on libzip (see zipread.h).
 */
#include "docs/zipread.h"

#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "common/error.h"

struct entry {
    char *name;       /* normalised */
    bool dir;
    zip_uint64_t zindex; /* libzip's index */
    zip_uint64_t size, csize;
    zip_uint16_t method;
    bool encrypted;
    uint8_t *data;    /* once read */
    size_t len;
};

struct zipread {
    zip_t *za;
    struct entry *e;
    size_t n;
    size_t *sorted;   /* indices of e[] by name, for lookups */
    size_t read_total;
};

ecert_status zipread_normalize(const char *path, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = path;
    if (cap == 0)
        return err_set(ECERT_E_ARG, "zipread_normalize: no room");
    while (*p) {
        while (*p == '/' || *p == '\\')
            p++;
        if (!*p)
            break;
        const char *seg = p;
        while (*p && *p != '/' && *p != '\\') {
            if ((unsigned char)*p < 0x20 || *p == 0x7F)
                return err_set(ECERT_E_MALFORMED, "path: control character");
            p++;
        }
        size_t n = (size_t)(p - seg);
        if (n == 1 && seg[0] == '.')
            continue;
        if (n == 2 && seg[0] == '.' && seg[1] == '.')
            return err_set(ECERT_E_MALFORMED, "path: '..' segment");
        if (o + (o ? 1 : 0) + n + 1 > cap)
            return err_set(ECERT_E_TOO_LONG, "path: over %zu bytes", cap - 1);
        if (o)
            out[o++] = '/';
        memcpy(out + o, seg, n);
        o += n;
    }
    if (o == 0)
        return err_set(ECERT_E_MALFORMED, "path: empty");
    out[o] = 0;
    return ECERT_OK;
}

/* glibc's qsort_r: the comparison gets the entry table. */
static int cmp_names(const void *a, const void *b, void *ctx)
{
    const struct entry *e = ctx;
    return strcmp(e[*(const size_t *)a].name, e[*(const size_t *)b].name);
}

static ecert_status zip_fail(zip_error_t *ze, const char *what)
{
    int code = zip_error_code_zip(ze);
    ecert_status st = err_set(code == ZIP_ER_MEMORY ? ECERT_E_NOMEM : ECERT_E_MALFORMED,
                              "%s: %s", what, zip_error_strerror(ze));
    return st;
}

void zipread_close(struct zipread *z)
{
    if (!z)
        return;
    for (size_t i = 0; i < z->n; i++) {
        free(z->e[i].name);
        free(z->e[i].data);
    }
    free(z->e);
    free(z->sorted);
    if (z->za)
        zip_discard(z->za);
    free(z);
}

static ecert_status load_entry(struct zipread *z, zip_uint64_t zi, struct entry *e,
                               uint64_t *total)
{
    zip_stat_t sb;
    zip_stat_init(&sb);
    if (zip_stat_index(z->za, zi, ZIP_FL_ENC_RAW, &sb) != 0)
        return err_set(ECERT_E_MALFORMED, "ZIP: entry %llu: %s", (unsigned long long)zi,
                       zip_strerror(z->za));
    const zip_uint64_t need = ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE |
                              ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD;
    if ((sb.valid & need) != need || !sb.name)
        return err_set(ECERT_E_MALFORMED, "ZIP: entry %llu: incomplete directory record",
                       (unsigned long long)zi);
    size_t nl = strnlen(sb.name, ZIPREAD_MAX_NAME + 1);
    if (nl == 0 || nl > ZIPREAD_MAX_NAME)
        return err_set(ECERT_E_MALFORMED, "ZIP: entry %llu: name empty or over %u bytes",
                       (unsigned long long)zi, ZIPREAD_MAX_NAME);
    if (sb.size > ZIPREAD_MAX_ENTRY)
        return err_set(ECERT_E_TOO_LONG, "ZIP: entry of %llu bytes, limit %u",
                       (unsigned long long)sb.size, ZIPREAD_MAX_ENTRY);
    *total += sb.size;
    if (*total > ZIPREAD_MAX_TOTAL)
        return err_set(ECERT_E_TOO_LONG, "ZIP: entries total over %u bytes",
                       ZIPREAD_MAX_TOTAL);
    char norm[ZIPREAD_MAX_NAME + 2];
    bool dir = sb.name[nl - 1] == '/' || sb.name[nl - 1] == '\\';
    ecert_status st = zipread_normalize(sb.name, norm, sizeof norm - 1);
    if (st)
        return err_wrap(st, "ZIP entry name");
    if (dir && sb.size != 0)
        return err_set(ECERT_E_MALFORMED, "ZIP: directory entry with contents");
    size_t len = strlen(norm);
    e->name = malloc(len + 2);
    if (!e->name)
        return err_set(ECERT_E_NOMEM, "out of memory");
    memcpy(e->name, norm, len);
    if (dir)
        e->name[len++] = '/';
    e->name[len] = 0;
    e->dir = dir;
    e->zindex = zi;
    e->size = sb.size;
    e->csize = sb.comp_size;
    e->method = sb.comp_method;
    e->encrypted = sb.encryption_method != ZIP_EM_NONE;
    return ECERT_OK;
}

ecert_status zipread_open(const uint8_t *data, size_t len, struct zipread **out)
{
    if (!data || !out)
        return err_set(ECERT_E_ARG, "zipread_open: NULL argument");
    *out = NULL;
    if (len > ZIPREAD_MAX_ARCHIVE)
        return err_set(ECERT_E_TOO_LONG, "package of %zu bytes, limit %u", len,
                       ZIPREAD_MAX_ARCHIVE);
    if (len < 22)
        return err_set(ECERT_E_MALFORMED, "not a ZIP package (%zu bytes)", len);
    struct zipread *z = calloc(1, sizeof *z);
    if (!z)
        return err_set(ECERT_E_NOMEM, "out of memory");
    zip_error_t ze;
    zip_error_init(&ze);
    ecert_status st = ECERT_OK;
    zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
    if (!src) {
        st = zip_fail(&ze, "ZIP");
        goto fail;
    }
    z->za = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (!z->za) {
        zip_source_free(src);
        st = zip_fail(&ze, "not a ZIP package");
        goto fail;
    }
    zip_int64_t n = zip_get_num_entries(z->za, 0);
    if (n < 0) {
        st = err_set(ECERT_E_MALFORMED, "ZIP: unreadable directory");
        goto fail;
    }
    if ((uint64_t)n > ZIPREAD_MAX_ENTRIES) {
        st = err_set(ECERT_E_TOO_LONG, "ZIP: %lld entries, limit %u", (long long)n,
                     ZIPREAD_MAX_ENTRIES);
        goto fail;
    }
    z->e = calloc((size_t)n + 1, sizeof *z->e);
    z->sorted = calloc((size_t)n + 1, sizeof *z->sorted);
    if (!z->e || !z->sorted) {
        st = err_set(ECERT_E_NOMEM, "out of memory");
        goto fail;
    }
    uint64_t total = 0;
    for (zip_uint64_t i = 0; i < (zip_uint64_t)n; i++) {
        st = load_entry(z, i, &z->e[z->n], &total);
        if (st)
            goto fail;
        z->sorted[z->n] = z->n;
        z->n++;
    }
    qsort_r(z->sorted, z->n, sizeof *z->sorted, cmp_names, z->e);
    for (size_t i = 1; i < z->n; i++)
        if (strcmp(z->e[z->sorted[i - 1]].name, z->e[z->sorted[i]].name) == 0) {
            st = err_set(ECERT_E_MALFORMED, "ZIP: two entries named \"%.200s\"",
                         z->e[z->sorted[i]].name);
            goto fail;
        }
    zip_error_fini(&ze);
    *out = z;
    return ECERT_OK;
fail:
    zip_error_fini(&ze);
    zipread_close(z);
    return st;
}

size_t zipread_count(const struct zipread *z)
{
    return z ? z->n : 0;
}

const char *zipread_name(const struct zipread *z, size_t i)
{
    return i < z->n ? z->e[i].name : NULL;
}

bool zipread_is_dir(const struct zipread *z, size_t i)
{
    return i < z->n && z->e[i].dir;
}

bool zipread_find(const struct zipread *z, const char *path, size_t *index)
{
    char norm[ZIPREAD_MAX_NAME + 1];
    if (!z || !path || zipread_normalize(path, norm, sizeof norm) != ECERT_OK) {
        err_clear();
        return false;
    }
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(z->e[z->sorted[mid]].name, norm);
        if (c == 0) {
            if (z->e[z->sorted[mid]].dir)
                return false;
            *index = z->sorted[mid];
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

ecert_status zipread_read(struct zipread *z, size_t i, const uint8_t **data, size_t *len)
{
    if (!z || i >= z->n)
        return err_set(ECERT_E_ARG, "zipread_read: no entry %zu", i);
    struct entry *e = &z->e[i];
    if (e->data) {
        *data = e->data;
        *len = e->len;
        return ECERT_OK;
    }
    if (e->dir)
        return err_set(ECERT_E_MALFORMED, "ZIP: %.200s is a directory", e->name);
    if (e->encrypted)
        return err_set(ECERT_E_MALFORMED, "ZIP: %.200s is encrypted", e->name);
    if (e->method != ZIP_CM_STORE && e->method != ZIP_CM_DEFLATE)
        return err_set(ECERT_E_MALFORMED, "ZIP: %.200s uses compression method %u", e->name,
                       (unsigned)e->method);
    if (e->method == ZIP_CM_STORE && e->csize != e->size)
        return err_set(ECERT_E_MALFORMED, "ZIP: %.200s: stored sizes differ", e->name);
    /* A bomb announces itself by its ratio before a byte is inflated. */
    if (e->size > ZIPREAD_RATIO_FROM && e->size / ZIPREAD_MAX_RATIO > e->csize)
        return err_set(ECERT_E_TOO_LONG, "ZIP: %.200s: compression ratio over %u", e->name,
                       ZIPREAD_MAX_RATIO);
    if (z->read_total + e->size > ZIPREAD_MAX_READ)
        return err_set(ECERT_E_TOO_LONG, "ZIP: entries read total over %u bytes",
                       ZIPREAD_MAX_READ);
    zip_file_t *f = zip_fopen_index(z->za, e->zindex, 0);
    if (!f)
        return err_set(ECERT_E_MALFORMED, "ZIP: %.200s: %s", e->name, zip_strerror(z->za));
    size_t size = (size_t)e->size;
    uint8_t *buf = malloc(size + 1);
    if (!buf) {
        zip_fclose(f);
        return err_set(ECERT_E_NOMEM, "out of memory");
    }
    size_t got = 0;
    ecert_status st = ECERT_OK;
    /* One byte more than announced is asked for: an entry that inflates past
     * its declared size is refused rather than cut. */
    while (got < size + 1) {
        zip_int64_t r = zip_fread(f, buf + got, size + 1 - got);
        if (r < 0) {
            st = err_set(ECERT_E_MALFORMED, "ZIP: %.200s: %s", e->name,
                         zip_file_strerror(f));
            break;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    if (!st && got != size)
        st = err_set(ECERT_E_MALFORMED, "ZIP: %.200s: %zu bytes where %zu were declared",
                     e->name, got, size);
    if (zip_fclose(f) != 0 && !st)
        st = err_set(ECERT_E_MALFORMED, "ZIP: %.200s: damaged entry", e->name);
    if (st) {
        free(buf);
        return st;
    }
    buf[size] = 0;
    e->data = buf;
    e->len = size;
    z->read_total += size;
    *data = e->data;
    *len = e->len;
    return ECERT_OK;
}

ecert_status zipread_get(struct zipread *z, const char *path, const uint8_t **data, size_t *len)
{
    size_t i;
    if (!zipread_find(z, path, &i))
        return err_set(ECERT_E_NOT_FOUND, "no file %.200s in the package", path);
    return zipread_read(z, i, data, len);
}
