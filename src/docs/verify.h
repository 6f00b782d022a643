/*
 * verify.h — the verdict on a signed certificate file (SPEC §4 表6, §7),
 * shared by the OFD and PDF verifiers, and the entry point that picks one.
 *
 * A verdict is `result` (1 only when every signature verifies and covers
 * what it must), a top-level reason, and one detail record per signature.
 * Integrity (the signed bytes are the file's bytes), the signature itself and
 * the trust in the signer's chain are reported separately, so that a file
 * re-signed by an unknown key reads "untrusted", not "tampered".
 *
 * Every string in a verdict is UTF-8, NUL-terminated and bounded (longer
 * values from a file are cut at a character boundary).
 */
#ifndef ECERT_DOCS_VERIFY_H
#define ECERT_DOCS_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/buf.h"

struct x509_store;

enum doc_format {
    DOC_FORMAT_AUTO = 0, /* by the first bytes: "PK\3\4" OFD, "%PDF-" PDF */
    DOC_FORMAT_OFD,
    DOC_FORMAT_PDF,
};

/* "OFD" / "PDF" (any case) -> format; ECERT_E_MALFORMED otherwise. */
ecert_status doc_format_from_name(const char *name, enum doc_format *out);

struct verify_options {
    /* Trust anchors (self-signed roots or any certificate the caller trusts).
     * NULL or empty: no chain is trusted, and each signature says so. */
    const struct x509_store *anchors;
    /* Extra certificates: intermediates for chain building, and the signer
     * certificates of signatures that carry none (raw SM2 `Type="Sign"`
     * values). NULL = none. */
    const struct x509_store *extra_certs;
    /* When set, an untrusted chain also makes `result` 0 (reason
     * "untrusted"). Integrity and signature are judged the same either way. */
    bool require_trust;
    /* Unix seconds at which certificate validity is judged for chains; 0 =
     * the signing time the signature states, or now when it states none. */
    int64_t at;
};

enum verify_trust {
    VERIFY_TRUST_NONE = 0,  /* no anchors configured */
    VERIFY_TRUST_UNTRUSTED, /* anchors configured, no valid path to one */
    VERIFY_TRUST_TRUSTED,   /* a valid path to an anchor */
};

#define VERIFY_TEXT 256     /* names, reasons */
#define VERIFY_DN 512       /* distinguished names */

struct verify_signature {
    char id[64];            /* the signature's ID in the file ("1", "s001", ...) */
    char type[16];          /* "Seal", "Sign", "Integrity", "CMS" */
    char format[96];        /* e.g. "SES_Signature v4 (GB/T 38540)" */
    char signer[VERIFY_DN]; /* signer certificate subject, "C=CN, O=..., CN=..." */
    char issuer[VERIFY_DN]; /* its issuer */
    char seal_name[VERIFY_TEXT]; /* the seal's name (SES), else "" */
    char signing_time[32];  /* "YYYY-MM-DDTHH:MM:SSZ" when known, else "" */
    bool integrity;         /* every covered byte is as signed */
    bool signature;         /* the signature (and the seal maker's) verifies */
    enum verify_trust trust;
    char reason[VERIFY_TEXT]; /* first failure, "" when this signature is good */
    char note[VERIFY_TEXT];   /* tolerated oddity worth reporting, else "" */
    char sign_reason[VERIFY_TEXT]; /* the reason the signer stated (PDF /Reason), else "" */
};

struct verify_result {
    int result;              /* 1 or 0 */
    char reason[VERIFY_TEXT]; /* "" when result is 1; "unsigned", "tampered", ... */
    size_t nsig;
    struct verify_signature *sigs; /* nsig records (owned; verify_result_free) */
};

/* Verifies a signed OFD or PDF held in memory.
 *
 * Returns ECERT_OK with a verdict in `out` whenever the file could be
 * examined, whatever the verdict. When it could not (not an OFD/PDF, over a
 * hard limit, broken container) the status is ECERT_E_MALFORMED or
 * ECERT_E_TOO_LONG and `out` still holds result 0 with the reason; other
 * statuses (ECERT_E_NOMEM, ECERT_E_ARG) leave result 0 and reason "error".
 * Always call verify_result_free on `out`. Thread-safe. */
ecert_status docs_verify(const uint8_t *file, size_t len, enum doc_format format,
                         const struct verify_options *opts, struct verify_result *out);

void verify_result_free(struct verify_result *r);

/* The SPEC §4 表6 verdict as JSON text appended to `out`:
 * {"result":1,"reason":"","signatures":[{"id":…,"type":…,"format":…,
 *  "signer":…,"issuer":…,"sealName":…,"signingTime":…,"integrity":true,
 *  "signature":true,"trusted":false,"trust":"none|untrusted|trusted",
 *  "reason":…,"note":…}]} */
ecert_status verify_result_json(const struct verify_result *r, struct buf *out);

/* ---- for the verifiers ---------------------------------------------------- */

/* Appends a zeroed signature record; NULL when out of memory. */
struct verify_signature *verify_result_add(struct verify_result *r);
/* Copies at most cap-1 bytes of s[0..n) into out, cut at a UTF-8 character
 * boundary, with control characters replaced by spaces. */
void verify_copy_text(char *out, size_t cap, const char *s, size_t n);
/* Sets r->reason when it is still empty. */
void verify_set_reason(struct verify_result *r, const char *reason);
/* Sets the signature's reason when it has none yet (printf-style). */
void verify_sig_fail(struct verify_signature *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
