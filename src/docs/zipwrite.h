/*
 * zipwrite.h — building a ZIP package in memory (an OFD container), on libzip.
 *
 * Entries are written in the order given, with UTF-8 names, a fixed
 * modification time (so that the same input gives the same bytes), and
 * either stored or deflated.
 */
#ifndef ECERT_DOCS_ZIPWRITE_H
#define ECERT_DOCS_ZIPWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <ecert/ecert.h>

#include "common/buf.h"

struct zipwrite_entry {
    const char *name;     /* "Doc_0/Document.xml" */
    const uint8_t *data;  /* borrowed until zip_build returns */
    size_t len;
    bool store;           /* true: no compression (already compressed data) */
};

/* Appends the archive to `out`. `mtime` is every entry's modification time
 * (0 = 2020-01-01T00:00:00Z). ECERT_E_MALFORMED for an empty or repeated
 * name. */
ecert_status zip_build(const struct zipwrite_entry *entries, size_t n, time_t mtime,
                       struct buf *out);

#endif
