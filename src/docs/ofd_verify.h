/*
 * ofd_verify.h — verifying the signatures of an OFD package (GB/T 33190 §18,
 * GB/T 38540, GM/T 0031, GB/T 35275, GM/T 0099 integrity protection).
 *
 * Usually reached through docs_verify (verify.h); the policy is described in
 * docs/ofd.md.
 */
#ifndef ECERT_DOCS_OFD_VERIFY_H
#define ECERT_DOCS_OFD_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "docs/verify.h"

/* Same contract as docs_verify, for an OFD package. `out` must be zeroed. */
ecert_status ofd_verify(const uint8_t *file, size_t len, const struct verify_options *opts,
                        struct verify_result *out);

/* Resolves an OFD location (ST_Loc) against the directory `base` of the file
 * that names it ("" = package root): absolute when it starts with '/', else
 * relative; "." and ".." segments are applied ('..' past the root is an
 * error). The result has no leading '/'. */
ecert_status ofd_resolve(const char *base, const char *loc, char *out, size_t cap);

#endif
