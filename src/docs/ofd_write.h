/*
 * ofd_write.h — the certificate original (电子证照原件) as a one-page OFD
 * (GB/T 33190-2016), sealed per GB/T 38540 (SPEC §7).
 *
 * The page shows the face data — title, number, holder, issuing authority,
 * dates, the face fields (照面信息) and the certificate identifier — in the
 * standard fonts 宋体 (SimSun) and 黑体 (SimHei), referenced by name (every
 * OFD reader in China has them; nothing is embedded). The same data is
 * repeated as DocInfo CustomData for machines.
 *
 * ofd_issue seals the page: Doc_0/Signs/Signatures.xml lists one Type="Seal"
 * signature whose Signature.xml references, with SM3 (CheckMethod
 * 1.2.156.10197.1.401), every file of the package except Signatures.xml
 * (which later signatures rewrite) and the signature's own Signature.xml and
 * SignedValue.dat; Seal.esl is a copy of the authority's seal and
 * SignedValue.dat the SES_Signature v4 over Signature.xml (ofd_seal.h). A
 * stamp annotation places the seal picture on the page.
 */
#ifndef ECERT_DOCS_OFD_WRITE_H
#define ECERT_DOCS_OFD_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/buf.h"
#include "docs/ofd_seal.h"

#define OFD_FACE_MAX_FIELDS 32
#define OFD_FACE_TEXT_MAX 512 /* bytes of one value */

struct ofd_field {
    const char *name;  /* "法定代表人" */
    const char *value; /* UTF-8 */
};

/* Face data (SPEC §4 Summary + SurfaceData). Strings are UTF-8 without
 * control characters; NULL or "" leaves a line out (title, identifier,
 * holder and issuer are required). */
struct ofd_face {
    const char *title;        /* certificate type name, e.g. "营业执照" */
    const char *identifier;   /* CertificateID */
    const char *number;       /* CertificateNumber */
    const char *holder;       /* CertificateHolder */
    const char *holder_code;  /* CertificateHolderCode */
    const char *issuer;       /* CertificateIssuingAuthority */
    const char *issued_date;  /* YYYY-MM-DD */
    const char *valid_from;   /* YYYY-MM-DD */
    const char *valid_to;     /* YYYY-MM-DD; NULL or "" = long-term (长期) */
    const struct ofd_field *fields;
    size_t nfields;           /* at most OFD_FACE_MAX_FIELDS */
    int64_t sign_time;        /* Unix seconds of issuing/sealing; 0 = now */
};

/* Appends a sealed OFD package to `out`. ECERT_E_MALFORMED for face text
 * that is not UTF-8 or has control characters, ECERT_E_TOO_LONG when the
 * face data does not fit one page or a value is over OFD_FACE_TEXT_MAX;
 * errors of ses_sign (a seal that does not list the signer, a key that does
 * not match its certificate) are passed on. */
ecert_status ofd_issue(const struct ofd_face *face, const struct seal_identity *id,
                       struct buf *out);

/* The same package without Signatures.xml and signature: for previews. */
ecert_status ofd_write_unsigned(const struct ofd_face *face, struct buf *out);

#endif
