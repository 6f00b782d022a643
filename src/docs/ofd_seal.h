/*
 * ofd_seal.h — electronic seals and seal signatures (GB/T 38540-2020,
 * version 4) as ecert makes them for its certificate files.
 *
 * Roles (GB/T 38540 §5): the seal maker (制章人) makes the seal — SESeal:
 * seal information, picture, the certificates of those who may use it, and
 * the maker's SM2 signature over DER(SES_SealInfo); the issuing authority
 * (签章人), one of those holders, seals a document — SES_Signature: the seal,
 * the time, dataHash = SM3(Signature.xml), and its SM2 signature over
 * DER(TBS_Sign). Both certificates chain to the province's SM2 root.
 *
 * A seal is long-lived: it is made once per authority (seal_pki_new makes a
 * province's whole set) and stored as Seal.esl bytes; every document sealed
 * afterwards carries a copy.
 */
#ifndef ECERT_DOCS_OFD_SEAL_H
#define ECERT_DOCS_OFD_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/buf.h"
#include "crypto/sm2.h"

#define SEAL_MAX_HOLDERS 8
#define SEAL_PICTURE_MAX (512u << 10)

struct seal_spec {
    const char *vendor_id; /* SES_Header.Vid, 1-64 printable ASCII ("ECERT") */
    const char *seal_id;   /* esID, 1-64 printable ASCII */
    const char *name;      /* seal name, 1-255 bytes of UTF-8 */
    long type;             /* seal type (1 = official seal, 2 = special-purpose seal...) */
    int64_t created;       /* Unix seconds; 0 = now */
    int64_t valid_from;    /* 0 = created */
    int64_t valid_to;      /* required, after valid_from */
    const uint8_t *picture; /* PNG; NULL = seal_picture_png(256) */
    size_t picture_len;
    unsigned width_mm, height_mm; /* printed size; 0 = 40 mm */
    /* DER certificates of the holders (at least one: the authority). */
    const uint8_t *holders[SEAL_MAX_HOLDERS];
    size_t holder_lens[SEAL_MAX_HOLDERS];
    size_t nholders;
};

/* Makes a SESeal (v4) signed by the seal maker; appends its DER (the bytes
 * of a Seal.esl file) to `esl`. */
ecert_status ses_seal_make(const struct seal_spec *spec, const struct sm2_key *maker_key,
                           const uint8_t *maker_cert, size_t maker_cert_len, struct buf *esl);

/* Signs `data` (the bytes of Signature.xml) with the seal: SES_Signature v4
 * with dataHash = SM3(data), timeInfo = `when` (0 = now), propertyInfo =
 * `property_info` (the Signature.xml location), signed over DER(TBS_Sign)
 * by the authority's key. The seal must be a v4 SESeal that lists
 * `signer_cert` among its holders. Appends the DER to `out`. */
ecert_status ses_sign(const uint8_t *esl, size_t esl_len, const struct sm2_key *signer_key,
                      const uint8_t *signer_cert, size_t signer_cert_len, const uint8_t *data,
                      size_t data_len, const char *property_info, int64_t when, struct buf *out);

/* A seal picture: a red ring around a five-pointed star on a transparent
 * background, `px` pixels square (64-1024), as a 1-bit palette PNG,
 * compressed with our own small DEFLATE encoder (fixed Huffman codes, runs
 * and row repeats): about 2 KB for 256 pixels. */
ecert_status seal_picture_png(unsigned px, struct buf *png);
/* Its bitmap as PNG scanlines (a filter-type byte, 0, then px/8 bytes of
 * 1-bit pixels per row, 1 = ink), appended to `raw`: what the PNG's IDAT
 * compresses. */
ecert_status seal_picture_bitmap(unsigned px, struct buf *raw);

/* What sealing a document takes (borrowed pointers). */
struct seal_identity {
    const struct sm2_key *signer_key;   /* the issuing authority's private key */
    const uint8_t *signer_cert;         /* its certificate, DER */
    size_t signer_cert_len;
    const uint8_t *seal;                /* Seal.esl: a SESeal v4 listing signer_cert */
    size_t seal_len;
};

/* A province's seal hierarchy, made under its SM2 root: a seal maker key
 * and certificate, an issuing authority key and certificate, and the
 * authority's seal. Everything here is owned; seal_pki_free releases it. */
struct seal_pki {
    struct sm2_key *maker_key;
    struct buf maker_cert;  /* DER */
    struct sm2_key *signer_key;
    struct buf signer_cert; /* DER */
    struct buf seal;        /* Seal.esl */
};

/* `root_der`/`root_key`: the province's SM2 root certificate (DER) and key.
 * `province`: e.g. "上海市"; `authority`: the issuing authority's name, e.g.
 * "上海市大数据中心"; `seal_id`: the seal's esID (printable ASCII); the seal
 * name is "<authority>电子证照专用章". Certificates and seal are valid for
 * `days` days from now. */
ecert_status seal_pki_new(const uint8_t *root_der, size_t root_len, const struct sm2_key *root_key,
                          const char *province, const char *authority, const char *seal_id,
                          unsigned days, struct seal_pki *out);
void seal_pki_free(struct seal_pki *p);
/* A seal_identity view of a seal_pki. */
void seal_pki_identity(const struct seal_pki *p, struct seal_identity *id);

#endif
