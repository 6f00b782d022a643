/*
 * pdf_sign.h — the PDF original of a certificate (SPEC §7): a generated
 * one-page PDF showing the face data, signed with a /ByteRange signature
 * (CMS SignedData, SubFilter adbe.pkcs7.detached).
 *
 * Two algorithms:
 *   - SM2-SM3 with the GM/T OIDs (signature 1.2.156.10197.1.501, digest
 *     1.2.156.10197.1.401; the key's curve 1.2.156.10197.1.301 is in the
 *     certificate), user ID 1234567812345678 — what SPEC §7 asks for;
 *   - ECDSA P-256 with SHA-256, which generic PDF verifiers (poppler's
 *     pdfsig, Acrobat) accept.
 * The signed attributes are contentType, signingTime and messageDigest; the
 * certificates given are embedded (signer first, then any chain).
 *
 * Text is drawn with the standard Chinese font STSong-Light (Adobe-GB1,
 * UniGB-UCS2-H), which PDF readers supply, so the file embeds no font.
 */
#ifndef ECERT_DOCS_PDF_SIGN_H
#define ECERT_DOCS_PDF_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/buf.h"

#define PDF_FACE_MAX_FIELDS 64
#define PDF_FACE_TEXT_MAX 512 /* bytes of one title, label or value (UTF-8) */

struct pdf_face_field {
    const char *label; /* "证照名称" */
    const char *value; /* "营业执照" */
};

/* What the page shows: a title, then "label: value" lines (long values wrap). */
struct pdf_face {
    const char *title;
    const struct pdf_face_field *fields;
    size_t nfields;
};

enum pdf_sign_alg {
    PDF_SIGN_SM2_SM3 = 0,
    PDF_SIGN_ECDSA_P256,
};

struct pdf_signer {
    enum pdf_sign_alg alg;
    /* PEM: the signer certificate first, then optionally its chain. */
    const char *cert_pem;
    size_t cert_len;
    /* The signer's private key: for SM2 any form sm2_key_parse_private reads
     * (PEM or 64 hex digits), for ECDSA an unencrypted P-256 PEM key. It must
     * belong to the certificate. */
    const char *key_pem;
    size_t key_len;
    const char *reason;     /* /Reason, optional */
    const char *location;   /* /Location, optional */
    int64_t signing_time;   /* Unix seconds; 0 = now */
};

/* Generates and signs the PDF; appends it to `out`. ECERT_E_MALFORMED for a
 * face text that is not UTF-8 or over its limits, a certificate or key that
 * cannot be read, or a key that does not belong to the certificate. */
ecert_status pdf_sign(const struct pdf_face *face, const struct pdf_signer *signer,
                      struct buf *out);

#endif
