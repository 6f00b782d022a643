/*
 * pdf.h — PDF signatures: a strict, bounded extractor of signature
 * dictionaries and their verification (SPEC §4 表6, §7; docs/pdf.md).
 *
 * The extractor reads only what locating signatures needs: the cross-reference
 * data of every revision (tables and streams, incremental updates, object
 * streams), the catalog, the AcroForm field tree and the signature
 * dictionaries (/ByteRange, /Contents, /SubFilter, /M, /Reason, /Name, ...).
 * Page content is never interpreted. Hard caps bound the file size, the
 * objects, the nesting and the decompressed bytes.
 *
 * The verifier checks, for every signature: the /ByteRange coverage (two
 * ranges from 0, the gap exactly the /Contents string, the signed end at a
 * revision boundary), the CMS SignedData (our own parser, cms.h): the
 * messageDigest against the covered bytes, the signature (SM2-SM3, RSA,
 * ECDSA, EdDSA), the chain to the configured anchors; and that what later
 * incremental updates changed is only what signing, form signature fields
 * and validation data (DSS) may change. The last signature must cover the
 * whole file, except for a final update that only adds validation data.
 */
#ifndef ECERT_DOCS_PDF_H
#define ECERT_DOCS_PDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "docs/verify.h"

#define PDF_MAX_FILE (64u << 20)     /* bytes of one PDF */
#define PDF_MAX_OBJECTS 500000u      /* cross-reference entries, all revisions */
#define PDF_MAX_SECTIONS 64          /* cross-reference sections (revisions) */
#define PDF_MAX_DEPTH 32             /* nested arrays/dictionaries */
#define PDF_MAX_SIGNATURES 32
#define PDF_MAX_INFLATE (32u << 20)  /* decompressed bytes, whole document */

/* One signature dictionary as found in the file. Strings are UTF-8, cut. */
struct pdf_sig {
    uint32_t obj;              /* object number of the signature dictionary */
    char field[64];            /* the field's /T */
    char type[16];             /* /Type: "Sig", "DocTimeStamp", or "" */
    char sub_filter[64];       /* "adbe.pkcs7.detached", ... */
    bool byte_range_ok;        /* exactly four non-negative integers */
    uint64_t byte_range[4];
    size_t contents_start;     /* offset of '<' of /Contents in the file */
    size_t contents_end;       /* offset just after its '>' */
    uint8_t *contents;         /* decoded /Contents (malloc'd) */
    size_t contents_len;
    char m[32];                /* /M as "YYYY-MM-DDTHH:MM:SSZ", "" if absent/bad */
    char reason[VERIFY_TEXT];
    char name[VERIFY_TEXT];
    char location[VERIFY_TEXT];
    int docmdp;                /* DocMDP /P of a certification signature, 0 if none */
    char problem[VERIFY_TEXT]; /* why the dictionary itself is unusable, "" if fine */
};

struct pdf_sig_list {
    size_t n;
    struct pdf_sig *sigs;      /* ordered by signed end (byte_range[2]+[3]) */
};

/* Finds every signature of the file's latest revision. ECERT_OK with n = 0
 * for an unsigned PDF; ECERT_E_MALFORMED / ECERT_E_TOO_LONG when the file is
 * not a PDF this extractor can read within its limits. */
ecert_status pdf_extract(const uint8_t *file, size_t len, struct pdf_sig_list *out);
void pdf_sig_list_free(struct pdf_sig_list *l);

/* Same contract as docs_verify (verify.h), for a PDF. `out` must be zeroed. */
ecert_status pdf_verify(const uint8_t *file, size_t len, const struct verify_options *opts,
                        struct verify_result *out);

#endif
