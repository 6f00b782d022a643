/*
 * ofd_write.c — a one-page certificate OFD, sealed (see ofd_write.h).
 *
 * Coordinates are in hundredths of a millimetre and printed by hand, so the
 * output does not depend on the process' locale (a "," decimal separator
 * would make invalid OFD). Text is laid out with a fixed advance per
 * character — a full em for CJK, half for ASCII — given explicitly as
 * DeltaX, so that every reader places glyphs the same way.
 */
#include "docs/ofd_write.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/codec.h"
#include "common/error.h"
#include "crypto/sm3.h"
#include "docs/zipwrite.h"

#define NS "xmlns:ofd=\"http://www.ofdspec.org/2016\""
#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define PART_MAX (1u << 20)

/* Page geometry, in 1/100 mm (A4). */
#define PAGE_W 21000
#define PAGE_H 29700
#define MARGIN 1500
#define LABEL_X 2600
#define VALUE_X 6200
#define VALUE_RIGHT 18600
#define BODY_SIZE 450
#define LINE_H 900
#define BODY_TOP 6000
#define BODY_BOTTOM 24000
#define SEAL_MM 40

#define FONT_SONG 2
#define FONT_HEI 3
#define LAYER_ID 4
#define FIRST_OBJECT 5

static const char SIGNATURES_PATH[] = "Doc_0/Signs/Signatures.xml";
static const char SIGNATURE_PATH[] = "Doc_0/Signs/Sign_0/Signature.xml";
static const char SEAL_PATH[] = "Doc_0/Signs/Sign_0/Seal.esl";
static const char SIGNED_VALUE_PATH[] = "Doc_0/Signs/Sign_0/SignedValue.dat";

/* ---- text ------------------------------------------------------------------------ */

/* Code points of a UTF-8 string, checked: no control characters, no
 * characters XML 1.0 forbids. Returns the count, or -1. */
static long utf8_count(const char *s, size_t n, long *ascii)
{
    const unsigned char *u = (const unsigned char *)s;
    long count = 0;
    *ascii = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len;
        if (u[i] < 0x80)
            cp = u[i], len = 1;
        else if (u[i] >= 0xC2 && u[i] <= 0xDF)
            cp = u[i] & 0x1F, len = 2;
        else if (u[i] >= 0xE0 && u[i] <= 0xEF)
            cp = u[i] & 0x0F, len = 3;
        else if (u[i] >= 0xF0 && u[i] <= 0xF4)
            cp = u[i] & 0x07, len = 4;
        else
            return -1;
        if (i + len > n)
            return -1;
        for (size_t k = 1; k < len; k++) {
            if ((u[i + k] & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (u[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || cp < 0x20 || cp == 0x7F ||
            cp == 0xFFFE || cp == 0xFFFF)
            return -1;
        if (cp < 0x80)
            (*ascii)++;
        count++;
        i += len;
    }
    return count;
}

static ecert_status check_text(const char *what, const char *s)
{
    if (!s)
        return ECERT_OK;
    size_t n = strnlen(s, OFD_FACE_TEXT_MAX + 1);
    long ascii;
    if (n > OFD_FACE_TEXT_MAX)
        return err_set(ECERT_E_TOO_LONG, "%s: over %d bytes", what, OFD_FACE_TEXT_MAX);
    if (utf8_count(s, n, &ascii) < 0)
        return err_set(ECERT_E_MALFORMED, "%s: not UTF-8 text without control characters",
                       what);
    return ECERT_OK;
}

static bool present(const char *s)
{
    return s && *s;
}

static ecert_status xml_escaped_n(struct buf *b, const char *s, size_t n)
{
    ecert_status st = ECERT_OK;
    for (const char *p = s; p < s + n && *p && !st; p++) {
        switch (*p) {
        case '&':
            st = buf_append_str(b, "&amp;");
            break;
        case '<':
            st = buf_append_str(b, "&lt;");
            break;
        case '>':
            st = buf_append_str(b, "&gt;");
            break;
        case '"':
            st = buf_append_str(b, "&quot;");
            break;
        case '\'':
            st = buf_append_str(b, "&apos;");
            break;
        default:
            st = buf_append_byte(b, (uint8_t)*p);
        }
    }
    return st;
}

static ecert_status xml_escaped(struct buf *b, const char *s)
{
    return xml_escaped_n(b, s, strlen(s));
}

/* A length in 1/100 mm as OFD text: "12.5", "40", "0.75". */
static ecert_status put_mm(struct buf *b, long v)
{
    if (v < 0)
        return err_set(ECERT_E_INTERNAL, "negative coordinate");
    long whole = v / 100, frac = v % 100;
    if (frac == 0)
        return buf_printf(b, "%ld", whole);
    if (frac % 10 == 0)
        return buf_printf(b, "%ld.%ld", whole, frac / 10);
    return buf_printf(b, "%ld.%02ld", whole, frac);
}

/* ---- the page ---------------------------------------------------------------------- */

struct page {
    struct buf xml;    /* <ofd:Layer> contents */
    long next_id;
    long y;            /* top of the next body line */
};

static long advance(uint32_t first_byte, long size)
{
    return first_byte < 0x80 ? size / 2 : size;
}

/* Width of s[0..n) and the byte length of the longest prefix that fits in
 * `room` (all of it when it fits). */
static long measure(const char *s, size_t n, long size, long room, size_t *fit)
{
    long w = 0;
    *fit = n;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        long a = advance(c, size);
        if (w + a > room && *fit == n)
            *fit = i;
        w += a;
        i += len;
    }
    return w;
}

/* One TextObject with its text at (x, y) = top-left, in font `font`. */
static ecert_status text_object(struct page *pg, long x, long y, int font, long size,
                                const char *s, size_t n)
{
    size_t fit;
    long w = measure(s, n, size, 1L << 30, &fit);
    struct buf *b = &pg->xml;
    ecert_status st = buf_printf(b, "<ofd:TextObject ID=\"%ld\" Boundary=\"", pg->next_id++);
    if (!st && !(st = put_mm(b, x)) && !(st = buf_append_byte(b, ' ')) && !(st = put_mm(b, y)) &&
        !(st = buf_append_byte(b, ' ')) && !(st = put_mm(b, w + size / 10)) &&
        !(st = buf_append_byte(b, ' ')))
        st = put_mm(b, size * 12 / 10);
    if (!st)
        st = buf_printf(b, "\" Font=\"%d\" Size=\"", font);
    if (!st)
        st = put_mm(b, size);
    if (!st)
        st = buf_append_str(b, "\"><ofd:FillColor Value=\"0 0 0\"/><ofd:TextCode X=\"0\" Y=\"");
    if (!st)
        st = put_mm(b, size);
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    if (!st)
        st = buf_append_str(b, chars > 1 ? "\" DeltaX=\"" : "\"");
    /* One advance between each pair of consecutive characters; a run of
     * equal advances is written "g COUNT VALUE" (GB/T 33190 §11.3). */
    bool first = true;
    long run_value = -1, run = 0;
    for (size_t i = 0; i <= n && !st;) {
        long a = -1;
        if (i < n) {
            unsigned char c = (unsigned char)s[i];
            size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
            i += len;
            if (i < n)
                a = advance(c, size);
        } else {
            i++;
        }
        if (a == run_value && a >= 0) {
            run++;
            continue;
        }
        if (run > 0) {
            if (!first)
                st = buf_append_byte(b, ' ');
            first = false;
            if (!st && run > 2)
                st = buf_printf(b, "g %ld ", run);
            for (long k = 0; !st && k < (run > 2 ? 1 : run); k++) {
                if (k)
                    st = buf_append_byte(b, ' ');
                if (!st)
                    st = put_mm(b, run_value);
            }
        }
        run_value = a;
        run = a >= 0 ? 1 : 0;
    }
    if (!st)
        st = buf_append_str(b, chars > 1 ? "\">" : ">");
    if (!st)
        st = xml_escaped_n(b, s, n);
    if (!st)
        st = buf_append_str(b, "</ofd:TextCode></ofd:TextObject>");
    return st;
}

/* "label：value", the value wrapped over as many lines as it needs. */
static ecert_status body_line(struct page *pg, const char *label, const char *value)
{
    if (!present(value))
        return ECERT_OK;
    char lab[160];
    int ln = snprintf(lab, sizeof lab, "%s：", label);
    if (ln < 0 || (size_t)ln >= sizeof lab)
        return err_set(ECERT_E_TOO_LONG, "face field name \"%.40s\" too long", label);
    if (pg->y + LINE_H > BODY_BOTTOM)
        return err_set(ECERT_E_TOO_LONG, "the face data does not fit one page");
    ecert_status st = text_object(pg, LABEL_X, pg->y, FONT_HEI, BODY_SIZE, lab, (size_t)ln);
    size_t all;
    /* A long field name pushes its value to the next line. */
    if (!st && LABEL_X + measure(lab, (size_t)ln, BODY_SIZE, 1L << 30, &all) > VALUE_X - 200)
        pg->y += LINE_H;
    size_t n = strlen(value);
    const char *p = value;
    while (!st && n > 0) {
        if (pg->y + LINE_H > BODY_BOTTOM)
            return err_set(ECERT_E_TOO_LONG, "the face data does not fit one page");
        size_t fit;
        measure(p, n, BODY_SIZE, VALUE_RIGHT - VALUE_X, &fit);
        if (fit == 0)
            fit = n; /* one character wider than the column: cannot happen at this size */
        st = text_object(pg, VALUE_X, pg->y, FONT_SONG, BODY_SIZE, p, fit);
        p += fit;
        n -= fit;
        pg->y += LINE_H;
    }
    return st;
}

static ecert_status check_face(const struct ofd_face *f)
{
    if (!f || !present(f->title) || !present(f->identifier) || !present(f->holder) ||
        !present(f->issuer))
        return err_set(ECERT_E_MISSING, "face data: title, identifier, holder and issuer "
                                        "are required");
    if (f->nfields > OFD_FACE_MAX_FIELDS || (f->nfields && !f->fields))
        return err_set(ECERT_E_TOO_LONG, "face data: over %d fields", OFD_FACE_MAX_FIELDS);
    const char *vals[] = {f->title,       f->identifier, f->number,     f->holder,
                          f->holder_code, f->issuer,     f->issued_date, f->valid_from,
                          f->valid_to};
    ecert_status st = ECERT_OK;
    for (size_t i = 0; i < sizeof vals / sizeof vals[0] && !st; i++)
        st = check_text("face data", vals[i]);
    for (size_t i = 0; i < f->nfields && !st; i++) {
        if (!present(f->fields[i].name) || strlen(f->fields[i].name) > 120)
            return err_set(ECERT_E_MALFORMED, "face field %zu: name missing or too long", i);
        if (!(st = check_text("face field name", f->fields[i].name)))
            st = check_text("face field value", f->fields[i].value);
    }
    return st;
}

static ecert_status validity_text(const struct ofd_face *f, char *out, size_t cap)
{
    out[0] = 0;
    if (!present(f->valid_from) && !present(f->valid_to))
        return ECERT_OK;
    int n = snprintf(out, cap, "%s 至 %s", present(f->valid_from) ? f->valid_from : "",
                 present(f->valid_to) ? f->valid_to : "长期");
    return n < 0 || (size_t)n >= cap ? err_set(ECERT_E_TOO_LONG, "validity text too long")
                                     : ECERT_OK;
}

static ecert_status page_content(const struct ofd_face *f, struct page *pg, struct buf *out)
{
    char validity[2 * OFD_FACE_TEXT_MAX + 16];
    ecert_status st = validity_text(f, validity, sizeof validity);
    if (st)
        return st;
    /* The frame: two rectangles, 0.8 and 0.3 mm, dark red. */
    st = buf_printf(&pg->xml,
                    "<ofd:PathObject ID=\"%ld\" Boundary=\"0 0 210 297\" LineWidth=\"0.8\">"
                    "<ofd:StrokeColor Value=\"160 20 20\"/><ofd:AbbreviatedData>M 15 15 L 195 15 "
                    "L 195 282 L 15 282 C</ofd:AbbreviatedData></ofd:PathObject>"
                    "<ofd:PathObject ID=\"%ld\" Boundary=\"0 0 210 297\" LineWidth=\"0.3\">"
                    "<ofd:StrokeColor Value=\"160 20 20\"/><ofd:AbbreviatedData>M 17 17 L 193 17 "
                    "L 193 280 L 17 280 C</ofd:AbbreviatedData></ofd:PathObject>",
                    pg->next_id, pg->next_id + 1);
    pg->next_id += 2;
    /* The title, centred. */
    long tsize = 900;
    size_t tlen = strlen(f->title), fit;
    long tw = measure(f->title, tlen, tsize, 1L << 30, &fit);
    while (tw > PAGE_W - 2 * MARGIN - 1000 && tsize > 400) {
        tsize -= 50;
        tw = measure(f->title, tlen, tsize, 1L << 30, &fit);
    }
    if (tw > PAGE_W - 2 * MARGIN - 1000)
        return err_set(ECERT_E_TOO_LONG, "the title does not fit the page");
    if (!st)
        st = text_object(pg, (PAGE_W - tw) / 2, 3000, FONT_HEI, tsize, f->title, tlen);
    pg->y = BODY_TOP;
    if (!st && !(st = body_line(pg, "证照编号", f->number)) &&
        !(st = body_line(pg, "持证主体", f->holder)) &&
        !(st = body_line(pg, "主体代码", f->holder_code)))
        for (size_t i = 0; i < f->nfields && !st; i++)
            st = body_line(pg, f->fields[i].name, f->fields[i].value);
    if (!st && !(st = body_line(pg, "有效期限", validity)) &&
        !(st = body_line(pg, "发证机构", f->issuer)))
        st = body_line(pg, "发证日期", f->issued_date);
    /* The identifier, small, at the foot of the page. */
    char ident[OFD_FACE_TEXT_MAX + 32];
    int n = snprintf(ident, sizeof ident, "证照标识：%s", f->identifier);
    if (!st && (n < 0 || (size_t)n >= sizeof ident))
        st = err_set(ECERT_E_TOO_LONG, "identifier too long");
    if (!st)
        st = text_object(pg, LABEL_X, 27000, FONT_SONG, 300, ident, (size_t)n);
    if (!st)
        st = buf_printf(out,
                        XML_DECL "<ofd:Page " NS "><ofd:Content><ofd:Layer ID=\"%d\">", LAYER_ID);
    if (!st)
        st = buf_append(out, pg->xml.data, pg->xml.len);
    if (!st)
        st = buf_append_str(out, "</ofd:Layer></ofd:Content></ofd:Page>");
    return st;
}

/* ---- the package -------------------------------------------------------------------- */

struct package {
    struct buf ofd, document, public_res, content, signatures, signature, signed_value;
    long stamp_id;
    char when[20];     /* YYYYMMDDHHMMSSZ */
    char date[11];     /* YYYY-MM-DD */
};

static void package_init(struct package *p)
{
    memset(p, 0, sizeof *p);
    struct buf *all[] = {&p->ofd,        &p->document,  &p->public_res,  &p->content,
                         &p->signatures, &p->signature, &p->signed_value};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        buf_init(all[i], PART_MAX);
}

static void package_release(struct package *p)
{
    struct buf *all[] = {&p->ofd,        &p->document,  &p->public_res,  &p->content,
                         &p->signatures, &p->signature, &p->signed_value};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        buf_release(all[i]);
}

static ecert_status custom(struct buf *b, const char *name, const char *value)
{
    if (!present(value))
        return ECERT_OK;
    ecert_status st = buf_append_str(b, "<ofd:CustomData Name=\"");
    if (!st)
        st = xml_escaped(b, name);
    if (!st)
        st = buf_append_str(b, "\">");
    if (!st)
        st = xml_escaped(b, value);
    if (!st)
        st = buf_append_str(b, "</ofd:CustomData>");
    return st;
}

static ecert_status ofd_xml(const struct ofd_face *f, const struct package *p, bool signed_doc,
                            struct buf *b)
{
    /* DocID: 32 hex digits derived from the identifier and the time, so
     * that the same certificate issued twice gets two documents. */
    uint8_t h[SM3_LEN];
    char id_hex[2 * SM3_LEN + 1];
    struct buf seed = BUF_INIT(2048);
    ecert_status st = buf_printf(&seed, "%s|%s", f->identifier, p->when);
    if (!st)
        st = sm3_digest(seed.data, seed.len, h);
    buf_release(&seed);
    if (st)
        return st;
    hex_encode(h, 16, id_hex);
    st = buf_printf(b,
                    XML_DECL "<ofd:OFD " NS " Version=\"1.0\" DocType=\"OFD\"><ofd:DocBody>"
                             "<ofd:DocInfo><ofd:DocID>%s</ofd:DocID><ofd:Title>",
                    id_hex);
    if (!st)
        st = xml_escaped(b, f->title);
    if (!st)
        st = buf_append_str(b, "</ofd:Title><ofd:Author>");
    if (!st)
        st = xml_escaped(b, f->issuer);
    if (!st)
        st = buf_printf(b,
                        "</ofd:Author><ofd:CreationDate>%s</ofd:CreationDate>"
                        "<ofd:Creator>ecert</ofd:Creator><ofd:CreatorVersion>%s"
                        "</ofd:CreatorVersion><ofd:CustomDatas>",
                        p->date, ECERT_VERSION);
    if (!st && !(st = custom(b, "CertificateID", f->identifier)) &&
        !(st = custom(b, "CertificateType", f->title)) &&
        !(st = custom(b, "CertificateNumber", f->number)) &&
        !(st = custom(b, "CertificateHolder", f->holder)) &&
        !(st = custom(b, "CertificateHolderCode", f->holder_code)) &&
        !(st = custom(b, "CertificateIssuingAuthority", f->issuer)) &&
        !(st = custom(b, "CertificateIssuedDate", f->issued_date)) &&
        !(st = custom(b, "CertificateValidFrom", f->valid_from)) &&
        !(st = custom(b, "CertificateValidTo", f->valid_to)))
        st = buf_append_str(b, "</ofd:CustomDatas></ofd:DocInfo>"
                               "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>");
    if (!st && signed_doc)
        st = buf_printf(b, "<ofd:Signatures>/%s</ofd:Signatures>", SIGNATURES_PATH);
    if (!st)
        st = buf_append_str(b, "</ofd:DocBody></ofd:OFD>");
    return st;
}

static void times(int64_t t, struct package *p)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char tmp[96];
    if (!gmtime_r(&tt, &tm))
        memset(&tm, 0, sizeof tm);
    snprintf(tmp, sizeof tmp, "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(p->when, sizeof p->when, "%.15s", tmp);
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    snprintf(p->date, sizeof p->date, "%.10s", tmp);
}

static ecert_status build_document(const struct ofd_face *f, struct package *p, bool signed_doc)
{
    struct page pg = {.next_id = FIRST_OBJECT};
    buf_init(&pg.xml, PART_MAX);
    ecert_status st = page_content(f, &pg, &p->content);
    buf_release(&pg.xml);
    if (st)
        return st;
    p->stamp_id = pg.next_id;
    long max_id = signed_doc ? p->stamp_id : pg.next_id - 1;
    if ((st = ofd_xml(f, p, signed_doc, &p->ofd)) ||
        (st = buf_printf(&p->document,
                         XML_DECL "<ofd:Document " NS "><ofd:CommonData>"
                                  "<ofd:MaxUnitID>%ld</ofd:MaxUnitID><ofd:PageArea>"
                                  "<ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox>"
                                  "<ofd:ApplicationBox>0 0 210 297</ofd:ApplicationBox>"
                                  "</ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>"
                                  "</ofd:CommonData><ofd:Pages><ofd:Page ID=\"1\" "
                                  "BaseLoc=\"Pages/Page_0/Content.xml\"/></ofd:Pages>"
                                  "</ofd:Document>",
                         max_id)) ||
        (st = buf_printf(&p->public_res,
                         XML_DECL "<ofd:Res " NS " BaseLoc=\"Res\"><ofd:Fonts>"
                                  "<ofd:Font ID=\"%d\" FontName=\"宋体\" FamilyName=\"宋体\"/>"
                                  "<ofd:Font ID=\"%d\" FontName=\"黑体\" FamilyName=\"黑体\"/>"
                                  "</ofd:Fonts></ofd:Res>",
                         FONT_SONG, FONT_HEI)))
        return st;
    return ECERT_OK;
}

static ecert_status reference(struct buf *b, const char *path, const uint8_t *data, size_t len)
{
    uint8_t h[SM3_LEN];
    char b64[BASE64_ENCODED_LEN(SM3_LEN) + 1];
    ecert_status st = sm3_digest(data, len, h);
    if (st)
        return st;
    base64_encode(h, sizeof h, b64, 0);
    return buf_printf(b, "<ofd:Reference FileRef=\"/%s\"><ofd:CheckValue>%s</ofd:CheckValue>"
                         "</ofd:Reference>",
                      path, b64);
}

static ecert_status signature_xml(struct package *p, const struct seal_identity *id)
{
    struct buf *b = &p->signature;
    ecert_status st = buf_printf(
        b,
        XML_DECL "<ofd:Signature " NS "><ofd:SignedInfo><ofd:Provider ProviderName=\"ecert\" "
                 "Version=\"%s\" Company=\"ecert\"/><ofd:SignatureMethod>1.2.156.10197.1.501"
                 "</ofd:SignatureMethod><ofd:SignatureDateTime>%s</ofd:SignatureDateTime>"
                 "<ofd:References CheckMethod=\"1.2.156.10197.1.401\">",
        ECERT_VERSION, p->when);
    if (!st && !(st = reference(b, "OFD.xml", p->ofd.data, p->ofd.len)) &&
        !(st = reference(b, "Doc_0/Document.xml", p->document.data, p->document.len)) &&
        !(st = reference(b, "Doc_0/PublicRes.xml", p->public_res.data, p->public_res.len)) &&
        !(st = reference(b, "Doc_0/Pages/Page_0/Content.xml", p->content.data, p->content.len)) &&
        !(st = reference(b, SEAL_PATH, id->seal, id->seal_len)))
        st = buf_printf(b,
                        "</ofd:References><ofd:StampAnnot ID=\"%ld\" PageRef=\"1\" "
                        "Boundary=\"128 200 %d %d\"/><ofd:Seal><ofd:BaseLoc>/%s</ofd:BaseLoc>"
                        "</ofd:Seal></ofd:SignedInfo><ofd:SignedValue>/%s</ofd:SignedValue>"
                        "</ofd:Signature>",
                        p->stamp_id, SEAL_MM, SEAL_MM, SEAL_PATH, SIGNED_VALUE_PATH);
    return st;
}

static ecert_status zip_package(const struct package *p, const struct seal_identity *id,
                                int64_t when, struct buf *out)
{
    struct zipwrite_entry e[8] = {
        {"OFD.xml", p->ofd.data, p->ofd.len, false},
        {"Doc_0/Document.xml", p->document.data, p->document.len, false},
        {"Doc_0/PublicRes.xml", p->public_res.data, p->public_res.len, false},
        {"Doc_0/Pages/Page_0/Content.xml", p->content.data, p->content.len, false},
    };
    size_t n = 4;
    if (id) {
        e[n++] = (struct zipwrite_entry){SIGNATURES_PATH, p->signatures.data, p->signatures.len,
                                         false};
        e[n++] = (struct zipwrite_entry){SIGNATURE_PATH, p->signature.data, p->signature.len,
                                         false};
        e[n++] = (struct zipwrite_entry){SEAL_PATH, id->seal, id->seal_len, true};
        e[n++] = (struct zipwrite_entry){SIGNED_VALUE_PATH, p->signed_value.data,
                                         p->signed_value.len, true};
    }
    return zip_build(e, n, (time_t)when, out);
}

static ecert_status write_package(const struct ofd_face *face, const struct seal_identity *id,
                                  struct buf *out)
{
    ecert_status st = check_face(face);
    if (st)
        return st;
    if (id && (!id->signer_key || !id->signer_cert || !id->seal))
        return err_set(ECERT_E_ARG, "ofd_issue: incomplete seal identity");
    int64_t when = face->sign_time ? face->sign_time : (int64_t)time(NULL);
    struct package p;
    package_init(&p);
    times(when, &p);
    bool signed_doc = id != NULL;
    size_t len0 = out->len;
    if ((st = build_document(face, &p, signed_doc)))
        goto done;
    if (signed_doc &&
        ((st = buf_printf(&p.signatures,
                          XML_DECL "<ofd:Signatures " NS "><ofd:MaxSignId>1</ofd:MaxSignId>"
                                   "<ofd:Signature ID=\"1\" Type=\"Seal\" BaseLoc=\"/%s\"/>"
                                   "</ofd:Signatures>",
                          SIGNATURE_PATH)) ||
         (st = signature_xml(&p, id)) ||
         (st = ses_sign(id->seal, id->seal_len, id->signer_key, id->signer_cert,
                        id->signer_cert_len, p.signature.data, p.signature.len,
                        "/Doc_0/Signs/Sign_0/Signature.xml", when, &p.signed_value))))
        goto done;
    st = zip_package(&p, id, when, out);
done:
    if (st)
        out->len = len0;
    package_release(&p);
    return st;
}

ecert_status ofd_issue(const struct ofd_face *face, const struct seal_identity *id,
                       struct buf *out)
{
    if (!id || !out)
        return err_set(ECERT_E_ARG, "ofd_issue: NULL argument");
    return write_package(face, id, out);
}

ecert_status ofd_write_unsigned(const struct ofd_face *face, struct buf *out)
{
    if (!out)
        return err_set(ECERT_E_ARG, "ofd_write_unsigned: NULL argument");
    return write_package(face, NULL, out);
}
