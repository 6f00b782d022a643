/*
 * pdf_sign.c — generating and signing the PDF original (see pdf_sign.h).
 *
 * The file is written in one pass with a fixed-size /Contents slot (zeros)
 * and a fixed-width /ByteRange; then the ranges are filled in, the covered
 * bytes digested, the CMS built and its hex written into the slot. Nothing
 * after the slot moves, so the cross-reference offsets stay right.
 */
#include "docs/pdf_sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/der.h"
#include "common/error.h"
#include "crypto/pkcs.h"
#include "crypto/random.h"
#include "crypto/sm2.h"
#include "crypto/x509_verify.h"
#include "docs/cms.h"

#define PDF_OUT_MAX (4u << 20)
#define CMS_OUT_MAX (256u * 1024)
#define LINE_EM 36          /* line width in em (full-width characters) */
#define MAX_LINES 120

/* Object numbers of the generated file. */
enum {
    OBJ_CATALOG = 1,
    OBJ_PAGES,
    OBJ_PAGE,
    OBJ_FONT,
    OBJ_CIDFONT,
    OBJ_FONTDESC,
    OBJ_CONTENT,
    OBJ_ACROFORM,
    OBJ_FIELD,
    OBJ_SIG,
    OBJ_INFO,
    OBJ_COUNT
};

/* ---- text ----------------------------------------------------------------------*/

/* Next code point of UTF-8 text; -1 when malformed. */
static long utf8_next(const unsigned char **p, const unsigned char *end)
{
    const unsigned char *s = *p;
    unsigned c = s[0];
    size_t len;
    long cp;
    if (c < 0x80)
        len = 1, cp = c;
    else if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
    else
        return -1;
    if ((size_t)(end - s) < len)
        return -1;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return -1;
    *p = s + len;
    return cp;
}

static ecert_status check_text(const char *s, const char *what)
{
    if (!s)
        return err_set(ECERT_E_MALFORMED, "PDF face: %s missing", what);
    size_t n = strlen(s);
    if (n > PDF_FACE_TEXT_MAX)
        return err_set(ECERT_E_MALFORMED, "PDF face: %s over %u bytes", what, PDF_FACE_TEXT_MAX);
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end)
        if (utf8_next(&p, end) < 0)
            return err_set(ECERT_E_MALFORMED, "PDF face: %s is not UTF-8", what);
    return ECERT_OK;
}

/* Lines of text shown with the UCS-2 font: "<hex> Tj T*" per line, wrapped
 * at LINE_EM (ASCII counts half). Characters outside the BMP and controls
 * are drawn as '?'. */
static ecert_status put_lines(struct buf *b, const char *text, size_t *lines)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + strlen(text);
    ecert_status st = buf_append_str(b, "<");
    unsigned width2 = 0; /* in half-em */
    while (!st && p < end) {
        long cp = utf8_next(&p, end);
        if (cp < 0x20 || cp > 0xFFFF || (cp >= 0x7F && cp < 0xA0))
            cp = '?';
        unsigned w = cp < 0x80 ? 1 : 2;
        if (width2 + w > 2 * LINE_EM) {
            if (++*lines > MAX_LINES)
                return err_set(ECERT_E_MALFORMED, "PDF face: too much text for one page");
            st = buf_append_str(b, "> Tj T*\n<");
            width2 = 0;
        }
        width2 += w;
        if (!st)
            st = buf_printf(b, "%04lX", (unsigned long)cp);
    }
    if (!st)
        st = buf_append_str(b, "> Tj T*\n");
    if (!st && ++*lines > MAX_LINES)
        return err_set(ECERT_E_MALFORMED, "PDF face: too much text for one page");
    return st;
}

/* A PDF text string as UTF-16BE hex with BOM: <FEFF...>. */
static ecert_status put_text_string(struct buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    ecert_status st = buf_append_str(b, "<FEFF");
    while (!st && p < end) {
        long cp = utf8_next(&p, end);
        if (cp < 0)
            return err_set(ECERT_E_MALFORMED, "PDF: text is not UTF-8");
        if (cp >= 0x10000) {
            cp -= 0x10000;
            st = buf_printf(b, "%04lX%04lX", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
        } else {
            st = buf_printf(b, "%04lX", (unsigned long)cp);
        }
    }
    return st ? st : buf_append_str(b, ">");
}

static ecert_status content_stream(const struct pdf_face *face, struct buf *c)
{
    size_t lines = 0;
    ecert_status st = buf_append_str(c, "BT\n/F1 20 Tf\n26 TL\n72 770 Td\n");
    if (!st)
        st = put_lines(c, face->title, &lines);
    if (!st)
        st = buf_append_str(c, "/F1 12 Tf\n18 TL\n0 -12 Td\n");
    for (size_t i = 0; !st && i < face->nfields; i++) {
        char line[2 * PDF_FACE_TEXT_MAX + 8];
        snprintf(line, sizeof line, "%s: %s", face->fields[i].label, face->fields[i].value);
        st = put_lines(c, line, &lines);
    }
    if (!st)
        st = buf_append_str(c, "ET\n");
    return st;
}

/* ---- DER building -------------------------------------------------------------------*/

static ecert_status der_tlv(struct buf *out, uint8_t tag, const void *content, size_t len)
{
    uint8_t h[8];
    size_t off = 0;
    ecert_status st = der_put_header(h, sizeof h, &off, tag, len);
    if (!st)
        st = buf_append(out, h, off);
    if (!st && len)
        st = buf_append(out, content, len);
    return st;
}

/* Wraps the bytes of `inner` in a TLV appended to `out`; releases inner. */
static ecert_status der_wrap(struct buf *out, uint8_t tag, struct buf *inner)
{
    ecert_status st = der_tlv(out, tag, inner->data, inner->len);
    buf_release(inner);
    return st;
}

/* Encodes a dotted OID's contents. */
static ecert_status oid_contents(const char *dotted, uint8_t *out, size_t cap, size_t *len)
{
    unsigned long arcs[24];
    size_t n = 0;
    const char *p = dotted;
    while (*p && n < 24) {
        unsigned long v = 0;
        if (*p < '0' || *p > '9')
            return err_set(ECERT_E_ARG, "bad OID");
        while (*p >= '0' && *p <= '9')
            v = v * 10 + (unsigned long)(*p++ - '0');
        arcs[n++] = v;
        if (*p == '.')
            p++;
    }
    if (n < 2)
        return err_set(ECERT_E_ARG, "bad OID");
    size_t o = 0;
    for (size_t i = 1; i < n; i++) {
        unsigned long v = i == 1 ? arcs[0] * 40 + arcs[1] : arcs[i];
        uint8_t tmp[10];
        size_t t = 0;
        do {
            tmp[t++] = (uint8_t)(v & 0x7F);
            v >>= 7;
        } while (v);
        if (o + t > cap)
            return err_set(ECERT_E_ARG, "OID too long");
        while (t--)
            out[o++] = (uint8_t)(tmp[t] | (t ? 0x80 : 0));
    }
    *len = o;
    return ECERT_OK;
}

static ecert_status der_oid(struct buf *out, const char *dotted)
{
    uint8_t c[32];
    size_t n = 0;
    ecert_status st = oid_contents(dotted, c, sizeof c, &n);
    return st ? st : der_tlv(out, DER_OID, c, n);
}

/* AlgorithmIdentifier without parameters. */
static ecert_status der_alg(struct buf *out, const char *dotted)
{
    struct buf in = BUF_INIT(64);
    ecert_status st = der_oid(&in, dotted);
    if (st) {
        buf_release(&in);
        return st;
    }
    return der_wrap(out, DER_SEQUENCE, &in);
}

/* Attribute ::= SEQUENCE { type OID, values SET { value } } */
static ecert_status der_attr(struct buf *out, const char *type, const struct buf *value)
{
    struct buf a = BUF_INIT(1024), set = BUF_INIT(1024);
    ecert_status st = der_oid(&a, type);
    if (!st)
        st = der_tlv(&set, DER_SET, value->data, value->len);
    if (!st)
        st = buf_append(&a, set.data, set.len);
    buf_release(&set);
    if (st) {
        buf_release(&a);
        return st;
    }
    return der_wrap(out, DER_SEQUENCE, &a);
}

static int cmp_der(const void *a, const void *b)
{
    const struct buf *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->data, y->data, n);
    return c ? c : (x->len < y->len ? -1 : x->len > y->len);
}

/* The issuer Name TLV and serial INTEGER contents of a DER certificate. */
static ecert_status cert_issuer_serial(const uint8_t *cert, size_t len, struct der *issuer,
                                      struct der *serial)
{
    struct der r = {cert, len}, c, tbs, skip;
    uint8_t tag;
    ecert_status st = der_expect(&r, DER_SEQUENCE, &c);
    if (!st)
        st = der_expect(&c, DER_SEQUENCE, &tbs);
    if (!st && !der_empty(&tbs) && tbs.p[0] == 0xA0)
        st = der_next(&tbs, &tag, &skip);
    if (!st)
        st = der_expect(&tbs, DER_INTEGER, serial);
    if (!st)
        st = der_expect(&tbs, DER_SEQUENCE, &skip);
    const uint8_t *start = tbs.p;
    if (!st)
        st = der_expect(&tbs, DER_SEQUENCE, &skip);
    if (st)
        return err_wrap(ECERT_E_MALFORMED, "signer certificate");
    issuer->p = start;
    issuer->len = (size_t)(tbs.p - start);
    return ECERT_OK;
}

struct signing {
    const struct pdf_signer *signer;
    const struct x509_store *certs; /* signer first */
    struct sm2_key *sm2;             /* PDF_SIGN_SM2_SM3 */
    time_t when;
};

/* The SignedData over the covered bytes' digest `md`. */
static ecert_status build_cms(const struct signing *sg, const uint8_t *md, size_t mdlen,
                              struct buf *out)
{
    bool sm2 = sg->signer->alg == PDF_SIGN_SM2_SM3;
    const char *digest_oid = sm2 ? "1.2.156.10197.1.401" : "2.16.840.1.101.3.4.2.1";
    const char *sig_oid = sm2 ? "1.2.156.10197.1.501" : "1.2.840.10045.4.3.2";
    struct buf attrs[3] = {BUF_INIT(256), BUF_INIT(256), BUF_INIT(256)};
    struct buf v = BUF_INIT(256), set = BUF_INIT(1024), si = BUF_INIT(4096),
               tmp = BUF_INIT(CMS_OUT_MAX), sd = BUF_INIT(CMS_OUT_MAX),
               certs = BUF_INIT(CMS_OUT_MAX);
    ecert_status st;

    /* signed attributes: contentType, signingTime, messageDigest */
    /* signingTime: UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5652 11.3) */
    char utc[32];
    struct tm tm;
    gmtime_r(&sg->when, &tm);
    int year = tm.tm_year + 1900;
    bool short_form = year >= 1950 && year < 2050;
    if (year < 0 || year > 9999) {
        st = err_set(ECERT_E_MALFORMED, "PDF signer: signing time out of range");
        goto done;
    }
    snprintf(utc, sizeof utc, short_form ? "%02d%02d%02d%02d%02d%02dZ" : "%04d%02d%02d%02d%02d%02dZ",
             short_form ? year % 100 : year, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    if ((st = der_oid(&v, CMS_OID_DATA)) || (st = der_attr(&attrs[0], CMS_OID_CONTENT_TYPE, &v)))
        goto done;
    buf_reset(&v);
    if ((st = der_tlv(&v, short_form ? 0x17 : 0x18, utc, strlen(utc))) ||
        (st = der_attr(&attrs[1], CMS_OID_SIGNING_TIME, &v)))
        goto done;
    buf_reset(&v);
    if ((st = der_tlv(&v, DER_OCTET_STRING, md, mdlen)) ||
        (st = der_attr(&attrs[2], CMS_OID_MESSAGE_DIGEST, &v)))
        goto done;
    /* DER orders the elements of a SET OF by their encodings. */
    qsort(attrs, 3, sizeof attrs[0], cmp_der);
    for (int i = 0; i < 3; i++)
        if ((st = buf_append(&tmp, attrs[i].data, attrs[i].len)))
            goto done;
    if ((st = der_tlv(&set, DER_SET, tmp.data, tmp.len)))
        goto done;
    buf_reset(&tmp);

    /* the signature over DER(SET OF Attribute) */
    uint8_t sig[SM2_SIG_DER_MAX > PKCS_ECDSA_SIG_MAX ? SM2_SIG_DER_MAX : PKCS_ECDSA_SIG_MAX];
    size_t siglen;
    if (sm2) {
        uint8_t rs[SM2_SIG_LEN];
        if ((st = sm2_sign(sg->sm2, (const uint8_t *)SM2_DEFAULT_ID, SM2_DEFAULT_ID_LEN, set.data,
                           set.len, rs)))
            goto done;
        siglen = sm2_sig_to_der(rs, sig);
    } else if ((st = pkcs_ecdsa_p256_sign(sg->signer->key_pem, sg->signer->key_len, set.data,
                                          set.len, sig, &siglen))) {
        goto done;
    }

    /* SignerInfo */
    size_t clen;
    const uint8_t *cder = x509_cert_der(x509_store_get(sg->certs, 0), &clen);
    struct der issuer = {0}, serial = {0};
    if ((st = cert_issuer_serial(cder, clen, &issuer, &serial)))
        goto done;
    static const uint8_t one[] = {0x02, 0x01, 0x01};
    if ((st = buf_append(&si, one, sizeof one)) ||
        (st = buf_append(&tmp, issuer.p, issuer.len)) ||
        (st = der_tlv(&tmp, DER_INTEGER, serial.p, serial.len)) ||
        (st = der_tlv(&si, DER_SEQUENCE, tmp.data, tmp.len)) || (st = der_alg(&si, digest_oid)))
        goto done;
    buf_reset(&tmp);
    set.data[0] = 0xA0; /* [0] IMPLICIT in the SignerInfo */
    if ((st = buf_append(&si, set.data, set.len)) || (st = der_alg(&si, sig_oid)) ||
        (st = der_tlv(&si, DER_OCTET_STRING, sig, siglen)))
        goto done;

    /* SignedData */
    if ((st = buf_append(&sd, one, sizeof one)) || (st = der_alg(&tmp, digest_oid)) ||
        (st = der_tlv(&sd, DER_SET, tmp.data, tmp.len)))
        goto done;
    buf_reset(&tmp);
    if ((st = der_oid(&tmp, CMS_OID_DATA)) || (st = der_tlv(&sd, DER_SEQUENCE, tmp.data, tmp.len)))
        goto done;
    buf_reset(&tmp);
    for (size_t i = 0; i < x509_store_count(sg->certs); i++) {
        const uint8_t *d = x509_cert_der(x509_store_get(sg->certs, i), &clen);
        if ((st = buf_append(&certs, d, clen)))
            goto done;
    }
    if ((st = der_tlv(&sd, 0xA0, certs.data, certs.len)) ||
        (st = der_tlv(&tmp, DER_SEQUENCE, si.data, si.len)) ||
        (st = der_tlv(&sd, DER_SET, tmp.data, tmp.len)))
        goto done;
    buf_reset(&tmp);

    /* ContentInfo */
    struct buf inner = BUF_INIT(CMS_OUT_MAX), ci = BUF_INIT(CMS_OUT_MAX);
    if ((st = der_tlv(&inner, DER_SEQUENCE, sd.data, sd.len)) ||
        (st = der_oid(&ci, CMS_OID_SIGNED_DATA)) || (st = der_wrap(&ci, 0xA0, &inner)) ||
        (st = der_tlv(out, DER_SEQUENCE, ci.data, ci.len))) {
        buf_release(&inner);
        buf_release(&ci);
        goto done;
    }
    buf_release(&ci);
done:
    for (int i = 0; i < 3; i++)
        buf_release(&attrs[i]);
    buf_release(&v);
    buf_release(&set);
    buf_release(&si);
    buf_release(&tmp);
    buf_release(&sd);
    buf_release(&certs);
    return st;
}

/* ---- the file ---------------------------------------------------------------------------*/

static ecert_status begin_obj(struct buf *b, size_t *offs, int num)
{
    offs[num] = b->len;
    return buf_printf(b, "%d 0 obj\n", num);
}

static ecert_status load_signer(const struct pdf_signer *s, struct signing *sg,
                                struct x509_store **certs)
{
    ecert_status st = x509_store_new(certs);
    if (st)
        return st;
    if (!s->cert_pem || (st = x509_store_add_pem(*certs, s->cert_pem, s->cert_len)))
        return err_set(ECERT_E_MALFORMED, "PDF signer: certificate PEM unreadable");
    const struct x509_cert *leaf = x509_store_get(*certs, 0);
    size_t clen;
    const uint8_t *cder = x509_cert_der(leaf, &clen);
    sg->certs = *certs;
    if (s->alg == PDF_SIGN_SM2_SM3) {
        struct sm2_key *pub = NULL;
        if (!s->key_pem || sm2_key_parse_private(s->key_pem, s->key_len, &sg->sm2))
            return err_set(ECERT_E_MALFORMED, "PDF signer: SM2 private key unreadable");
        if (x509_cert_sm2_key(leaf, &pub))
            return err_set(ECERT_E_MALFORMED, "PDF signer: the certificate key is not SM2");
        bool same = memcmp(sm2_key_public_xy(pub), sm2_key_public_xy(sg->sm2), SM2_POINT_LEN) == 0;
        sm2_key_free(pub);
        if (!same)
            return err_set(ECERT_E_MALFORMED, "PDF signer: the key does not belong to the "
                                              "certificate");
    } else if (s->alg == PDF_SIGN_ECDSA_P256) {
        if (!s->key_pem || !pkcs_key_matches_cert(s->key_pem, s->key_len, cder, clen))
            return err_set(ECERT_E_MALFORMED, "PDF signer: the key is unreadable or does not "
                                              "belong to the certificate");
    } else {
        return err_set(ECERT_E_ARG, "PDF signer: unknown algorithm");
    }
    return ECERT_OK;
}

ecert_status pdf_sign(const struct pdf_face *face, const struct pdf_signer *signer,
                      struct buf *out)
{
    if (!face || !signer || !out)
        return err_set(ECERT_E_ARG, "pdf_sign: NULL argument");
    ecert_status st = check_text(face->title, "title");
    if (face->nfields > PDF_FACE_MAX_FIELDS)
        return err_set(ECERT_E_MALFORMED, "PDF face: over %d fields", PDF_FACE_MAX_FIELDS);
    for (size_t i = 0; !st && i < face->nfields; i++) {
        st = check_text(face->fields[i].label, "label");
        if (!st)
            st = check_text(face->fields[i].value, "value");
    }
    if (!st && signer->reason)
        st = check_text(signer->reason, "reason");
    if (!st && signer->location)
        st = check_text(signer->location, "location");
    if (st)
        return st;

    struct signing sg = {.signer = signer};
    struct x509_store *certs = NULL;
    struct buf b = BUF_INIT(PDF_OUT_MAX), c = BUF_INIT(PDF_OUT_MAX), cms = BUF_INIT(CMS_OUT_MAX);
    size_t offs[OBJ_COUNT] = {0};
    if ((st = load_signer(signer, &sg, &certs)))
        goto done;
    sg.when = signer->signing_time ? (time_t)signer->signing_time : time(NULL);

    /* The /Contents slot: the certificates, plus room for the rest of the
     * SignedData (algorithms, attributes, a signature of at most 80 bytes). */
    size_t slot = 2048;
    for (size_t i = 0; i < x509_store_count(certs); i++) {
        size_t clen;
        x509_cert_der(x509_store_get(certs, i), &clen);
        slot += clen;
    }
    if (slot > CMS_OUT_MAX) {
        st = err_set(ECERT_E_TOO_LONG, "PDF signer: certificates too large");
        goto done;
    }
    char cn[256];
    x509_cert_subject_cn(x509_store_get(certs, 0), cn, sizeof cn);
    if ((st = content_stream(face, &c)))
        goto done;

    struct tm tm;
    gmtime_r(&sg.when, &tm);
    char mdate[32];
    strftime(mdate, sizeof mdate, "D:%Y%m%d%H%M%SZ", &tm);
    uint8_t id[16];
    if ((st = random_bytes(id, sizeof id)))
        goto done;

    /* Binary comment: marks the file as binary for transfer programs. */
    st = buf_append_str(&b, "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
    if (!st && !(st = begin_obj(&b, offs, OBJ_CATALOG)))
        st = buf_printf(&b, "<< /Type /Catalog /Pages %d 0 R /AcroForm %d 0 R >>\nendobj\n",
                        OBJ_PAGES, OBJ_ACROFORM);
    if (!st && !(st = begin_obj(&b, offs, OBJ_PAGES)))
        st = buf_printf(&b, "<< /Type /Pages /Kids [%d 0 R] /Count 1 >>\nendobj\n", OBJ_PAGE);
    if (!st && !(st = begin_obj(&b, offs, OBJ_PAGE)))
        st = buf_printf(&b,
                        "<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842]\n"
                        "   /Resources << /Font << /F1 %d 0 R >> >>\n"
                        "   /Contents %d 0 R /Annots [%d 0 R] >>\nendobj\n",
                        OBJ_PAGES, OBJ_FONT, OBJ_CONTENT, OBJ_FIELD);
    if (!st && !(st = begin_obj(&b, offs, OBJ_FONT)))
        st = buf_printf(&b,
                        "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light\n"
                        "   /Encoding /UniGB-UCS2-H /DescendantFonts [%d 0 R] >>\nendobj\n",
                        OBJ_CIDFONT);
    if (!st && !(st = begin_obj(&b, offs, OBJ_CIDFONT)))
        st = buf_printf(&b,
                        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light\n"
                        "   /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >>\n"
                        "   /FontDescriptor %d 0 R /DW 1000 /W [1 95 500] >>\nendobj\n",
                        OBJ_FONTDESC);
    if (!st && !(st = begin_obj(&b, offs, OBJ_FONTDESC)))
        st = buf_append_str(&b, "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6\n"
                                "   /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880\n"
                                "   /Descent -120 /CapHeight 880 /StemV 93 >>\nendobj\n");
    if (!st && !(st = begin_obj(&b, offs, OBJ_CONTENT)))
        st = buf_printf(&b, "<< /Length %zu >>\nstream\n", c.len);
    if (!st)
        st = buf_append(&b, c.data, c.len);
    if (!st)
        st = buf_append_str(&b, "\nendstream\nendobj\n");
    if (!st && !(st = begin_obj(&b, offs, OBJ_ACROFORM)))
        st = buf_printf(&b, "<< /Fields [%d 0 R] /SigFlags 3 >>\nendobj\n", OBJ_FIELD);
    if (!st && !(st = begin_obj(&b, offs, OBJ_FIELD)))
        st = buf_printf(&b,
                        "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1)\n"
                        "   /Rect [0 0 0 0] /F 132 /P %d 0 R /V %d 0 R >>\nendobj\n",
                        OBJ_PAGE, OBJ_SIG);
    if (!st && !(st = begin_obj(&b, offs, OBJ_INFO)))
        st = buf_printf(&b, "<< /Producer (ecert) /CreationDate (%s) /Title ", mdate);
    if (!st)
        st = put_text_string(&b, face->title);
    if (!st)
        st = buf_append_str(&b, " >>\nendobj\n");

    /* The signature dictionary, its slot and the fixed-width /ByteRange. */
    size_t br_at = 0, cstart = 0, cend = 0;
    if (!st && !(st = begin_obj(&b, offs, OBJ_SIG)))
        st = buf_printf(&b, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached"
                            "\n   /M (%s) /Name ",
                        mdate);
    if (!st)
        st = put_text_string(&b, cn);
    if (!st && signer->reason) {
        st = buf_append_str(&b, " /Reason ");
        if (!st)
            st = put_text_string(&b, signer->reason);
    }
    if (!st && signer->location) {
        st = buf_append_str(&b, " /Location ");
        if (!st)
            st = put_text_string(&b, signer->location);
    }
    if (!st)
        st = buf_append_str(&b, "\n   /ByteRange [");
    br_at = b.len;
    if (!st)
        st = buf_append_str(&b, "0000000000 0000000000 0000000000 0000000000]\n   /Contents ");
    cstart = b.len;
    if (!st)
        st = buf_append_byte(&b, '<');
    for (size_t i = 0; !st && i < 2 * slot; i++)
        st = buf_append_byte(&b, '0');
    if (!st)
        st = buf_append_byte(&b, '>');
    cend = b.len;
    if (!st)
        st = buf_append_str(&b, " >>\nendobj\n");

    /* Cross-reference table: entries of exactly 20 bytes. */
    size_t xref = b.len;
    if (!st)
        st = buf_printf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", OBJ_COUNT);
    for (int i = 1; !st && i < OBJ_COUNT; i++)
        st = buf_printf(&b, "%010zu 00000 n\r\n", offs[i]);
    if (!st) {
        st = buf_printf(&b, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<", OBJ_COUNT,
                        OBJ_CATALOG, OBJ_INFO);
        for (int k = 0; !st && k < 2; k++) {
            for (size_t i = 0; !st && i < sizeof id; i++)
                st = buf_printf(&b, "%02X", id[i]);
            if (!st)
                st = buf_append_str(&b, k == 0 ? "> <" : ">] >>\n");
        }
    }
    if (!st)
        st = buf_printf(&b, "startxref\n%zu\n%%%%EOF\n", xref);
    if (st)
        goto done;

    /* Fill in the ranges, digest what they cover, sign, write the CMS. */
    char br[48];
    size_t tail = b.len - cend;
    int n = snprintf(br, sizeof br, "%010d %010zu %010zu %010zu", 0, cstart, cend, tail);
    if (n != 43) {
        st = err_set(ECERT_E_TOO_LONG, "PDF: file too large for the /ByteRange field");
        goto done;
    }
    memcpy(b.data + br_at, br, 43);
    struct pkcs_chunk ranges[2] = {{b.data, cstart}, {b.data + cend, tail}};
    uint8_t md[PKCS_DIGEST_MAX];
    size_t mdlen;
    if ((st = pkcs_digest(signer->alg == PDF_SIGN_SM2_SM3 ? PKCS_HASH_SM3 : PKCS_HASH_SHA256,
                          ranges, 2, md, &mdlen)) ||
        (st = build_cms(&sg, md, mdlen, &cms)))
        goto done;
    if (cms.len > slot) {
        st = err_set(ECERT_E_INTERNAL, "PDF: the CMS outgrew its slot");
        goto done;
    }
    static const char hexd[] = "0123456789ABCDEF";
    for (size_t i = 0; i < cms.len; i++) {
        b.data[cstart + 1 + 2 * i] = (uint8_t)hexd[cms.data[i] >> 4];
        b.data[cstart + 2 + 2 * i] = (uint8_t)hexd[cms.data[i] & 15];
    }
    st = buf_append(out, b.data, b.len);
done:
    buf_release(&b);
    buf_release(&c);
    buf_release(&cms);
    sm2_key_free(sg.sm2);
    x509_store_free(certs);
    return st;
}
