/*
 * zipread.h — a read-only view of a ZIP package held in memory (an OFD
 * container, GB/T 33190 §7.1), on libzip, with hard limits for hostile input.
 *
 * Limits: archive size, entry count, each entry's declared and actual size,
 * the sum of declared sizes, and the compression ratio of each entry read
 * (zip bombs). Entry names are normalised once: backslashes become slashes,
 * leading slashes and "." segments go, and an archive with a ".." segment,
 * a control character or two entries of the same normalised name is refused
 * (the verifier and a viewer must never disagree about which bytes a name
 * means). Only stored and deflated, unencrypted entries can be read.
 *
 * Entry contents are read on demand and kept until zipread_close.
 */
#ifndef ECERT_DOCS_ZIPREAD_H
#define ECERT_DOCS_ZIPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#define ZIPREAD_MAX_ARCHIVE (64u << 20) /* bytes of the package */
#define ZIPREAD_MAX_ENTRIES 4096u
#define ZIPREAD_MAX_ENTRY (32u << 20)   /* uncompressed bytes of one entry */
#define ZIPREAD_MAX_TOTAL (256u << 20)  /* sum of declared uncompressed sizes */
#define ZIPREAD_MAX_READ (96u << 20)    /* sum of the entries actually read */
#define ZIPREAD_MAX_RATIO 200u          /* uncompressed / compressed, ... */
#define ZIPREAD_RATIO_FROM (64u << 10)  /* ... for entries larger than this */
#define ZIPREAD_MAX_NAME 1024u          /* bytes of an entry name */

struct zipread;

/* Opens the package in data[0..len) (not copied: it must outlive the
 * handle). ECERT_E_MALFORMED when it is not a ZIP archive or breaks a naming
 * rule, ECERT_E_TOO_LONG when it is over a limit. */
ecert_status zipread_open(const uint8_t *data, size_t len, struct zipread **out);
void zipread_close(struct zipread *z);

size_t zipread_count(const struct zipread *z);
/* The normalised name of entry i ("Doc_0/Signs/Signatures.xml"; directories
 * end with '/'). */
const char *zipread_name(const struct zipread *z, size_t i);
bool zipread_is_dir(const struct zipread *z, size_t i);

/* Normalises `path` as entry names are (a leading '/' is optional) into
 * out[cap]. ECERT_E_MALFORMED for "..", control characters or empty paths. */
ecert_status zipread_normalize(const char *path, char *out, size_t cap);

/* The index of the file (not directory) entry named `path` (normalised
 * here); false when there is none. */
bool zipread_find(const struct zipread *z, const char *path, size_t *index);

/* The contents of entry i, read and checked (CRC, size, ratio) on first use;
 * the bytes belong to the handle. */
ecert_status zipread_read(struct zipread *z, size_t i, const uint8_t **data, size_t *len);
/* zipread_find + zipread_read; ECERT_E_NOT_FOUND when there is no such file. */
ecert_status zipread_get(struct zipread *z, const char *path, const uint8_t **data, size_t *len);

#endif
