/*
 * ofd_verify.c — the signatures of an OFD package, judged one by one
 * (see ofd_verify.h; the policy is in docs/ofd.md).
 *
 * For each signature listed in each document's Signatures.xml:
 *   1. integrity: every <Reference> digest (CheckMethod SM3, by name or OID)
 *      matches the file it names, and the signature's own data hash (SES) or
 *      signed digest (SignedData) matches SM3(Signature.xml); Seal.esl, when
 *      named, is the seal inside the signature;
 *   2. signature: SES_Signature v4/v5 over DER(TBS_Sign) or the GM/T 0031 v1
 *      layout, plus the seal maker's signature over the seal; GB/T 35275
 *      SignedData with or without signed attributes; or a bare SM2 value,
 *      checked against the caller's extra certificates;
 *   3. trust: the signer's (and seal maker's) chain to the caller's anchors.
 * A package with GM/T 0099 integrity protection (OFDEntries.xml) has that
 * signature checked as well.
 *
 * One allowance, after the corpus README: a signature may list
 * Signatures.xml among its references, and every later signature rewrites
 * that file; its digest may then differ without that being tampering, as
 * long as a later signature exists (which must verify in its own right).
 */
#include "docs/ofd_verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/arena.h"
#include "common/codec.h"
#include "common/error.h"
#include "crypto/sm2.h"
#include "crypto/sm3.h"
#include "crypto/x509_verify.h"
#include "docs/ses.h"
#include "docs/xml.h"
#include "docs/zipread.h"

#define OFD_ARENA_MAX (32u << 20)
#define OFD_PATH_MAX ZIPREAD_MAX_NAME
#define OFD_MAX_REFS 20000
#define OFD_MAX_DOCS 16
#define OFD_TEXT_MAX 4096 /* an attribute or text value we read */

struct ofd_ctx {
    struct zipread *z;
    struct arena a;
    const struct verify_options *opts;
    struct verify_result *res;
    struct x509_store *found; /* certificates met in the package: a chain pool */
};

/* What one signature's checks share. */
struct sig_job {
    struct verify_signature *rec;
    const char *sigs_path;  /* its Signatures.xml */
    const char *sig_path;   /* its Signature.xml */
    const char *sig_dir;
    bool later_exists;      /* a signature follows in Signatures.xml */
    const uint8_t *tbs;     /* bytes of Signature.xml */
    size_t tbs_len;
    const char *seal_path;  /* Seal.esl when named, else NULL */
    int64_t when;           /* signing time (Unix), 0 when unknown */
    enum verify_trust signer_trust, maker_trust;
    bool has_maker;
};

/* ---- paths ---------------------------------------------------------------------- */

static ecert_status push_segments(char *out, size_t cap, size_t *o, const char *src)
{
    const char *p = src;
    while (*p) {
        while (*p == '/' || *p == '\\')
            p++;
        if (!*p)
            break;
        const char *seg = p;
        while (*p && *p != '/' && *p != '\\')
            p++;
        size_t n = (size_t)(p - seg);
        if (n == 1 && seg[0] == '.')
            continue;
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (*o == 0)
                return err_set(ECERT_E_MALFORMED, "location leaves the package");
            while (*o > 0 && out[*o - 1] != '/')
                (*o)--;
            if (*o > 0)
                (*o)--; /* the separator */
            continue;
        }
        if (*o + 1 + n + 1 > cap)
            return err_set(ECERT_E_TOO_LONG, "location over %zu bytes", cap - 1);
        if (*o)
            out[(*o)++] = '/';
        memcpy(out + *o, seg, n);
        *o += n;
    }
    return ECERT_OK;
}

ecert_status ofd_resolve(const char *base, const char *loc, char *out, size_t cap)
{
    if (!loc || !*loc)
        return err_set(ECERT_E_MALFORMED, "empty location");
    if (cap < 2)
        return err_set(ECERT_E_ARG, "ofd_resolve: no room");
    size_t o = 0;
    ecert_status st;
    if (loc[0] != '/' && loc[0] != '\\' && base && *base && (st = push_segments(out, cap, &o, base)))
        return st;
    if ((st = push_segments(out, cap, &o, loc)))
        return st;
    if (o == 0)
        return err_set(ECERT_E_MALFORMED, "location names the package root");
    out[o] = 0;
    return ECERT_OK;
}

static char *dir_of(struct arena *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    return arena_strndup(a, path, slash ? (size_t)(slash - path) : 0);
}

/* Finds the file `loc` names from directory `base`. Producers write relative
 * locations meaning "from the root" as well as "from here"; the second
 * reading is tried only when the first names no file. */
static const char *locate(struct ofd_ctx *c, const char *base, const char *loc)
{
    char path[OFD_PATH_MAX + 1];
    size_t idx;
    if (ofd_resolve(base, loc, path, sizeof path) == ECERT_OK && zipread_find(c->z, path, &idx))
        return arena_strdup(&c->a, path);
    if (loc[0] != '/' && loc[0] != '\\' && base && *base &&
        ofd_resolve("", loc, path, sizeof path) == ECERT_OK && zipread_find(c->z, path, &idx))
        return arena_strdup(&c->a, path);
    err_clear();
    return NULL;
}

/* ---- small helpers -------------------------------------------------------------- */

static void set_text(char *out, size_t cap, const char *s)
{
    verify_copy_text(out, cap, s ? s : "", s ? strlen(s) : 0);
}

static void set_bytes(char *out, size_t cap, const struct der *d)
{
    verify_copy_text(out, cap, (const char *)d->p, d->len);
}

static void sig_note(struct verify_signature *s, const char *note)
{
    if (!s->note[0])
        set_text(s->note, sizeof s->note, note);
}

static void vfail(struct verify_signature *s, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void vfail(struct verify_signature *s, const char *fmt, va_list ap)
{
    char tmp[VERIFY_TEXT];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    verify_sig_fail(s, "%s", tmp);
}

static void fail_integrity(struct verify_signature *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail_integrity(struct verify_signature *s, const char *fmt, ...)
{
    va_list ap;
    s->integrity = false;
    va_start(ap, fmt);
    vfail(s, fmt, ap);
    va_end(ap);
}

static void fail_signature(struct verify_signature *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail_signature(struct verify_signature *s, const char *fmt, ...)
{
    va_list ap;
    s->signature = false;
    va_start(ap, fmt);
    vfail(s, fmt, ap);
    va_end(ap);
}

/* Dates in the forms found in signatures: GeneralizedTime, UTCTime, and
 * text such as "2020-04-22 16:22:44" or "2020-01-25T07:31:56.377Z". The
 * result is ISO 8601; *unix_out gets Unix seconds (a time without a zone is
 * taken as UTC). false when no date can be read. */
static bool parse_time(const uint8_t *p, size_t n, bool utc_time, char out[32], int64_t *unix_out)
{
    char d[16];
    size_t nd = 0;
    bool zulu = false;
    for (size_t i = 0; i < n && i < 64; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            if (nd < 14)
                d[nd++] = (char)p[i];
        } else if (p[i] == 'Z') {
            zulu = true;
        } else if (p[i] == '.' && nd >= 12) {
            /* fractions of a second: skipped, a zone may follow */
            while (i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '9')
                i++;
        }
    }
    int v[6];
    size_t need = utc_time ? 12 : 14;
    if (nd < need)
        return false;
    size_t k = 0;
    if (utc_time) {
        int yy = (d[0] - '0') * 10 + (d[1] - '0');
        v[0] = yy >= 50 ? 1900 + yy : 2000 + yy;
        k = 2;
    } else {
        v[0] = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
        k = 4;
    }
    for (int f = 1; f < 6; f++, k += 2)
        v[f] = (d[k] - '0') * 10 + (d[k + 1] - '0');
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
        return false;
    char tmp[80];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d%s", v[0], v[1], v[2], v[3], v[4],
             v[5], zulu || utc_time ? "Z" : "");
    verify_copy_text(out, 32, tmp, strlen(tmp));
    struct tm tm = {0};
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    *unix_out = (int64_t)timegm(&tm);
    return true;
}

static void take_time(struct sig_job *j, const uint8_t *p, size_t n, bool utc_time)
{
    char iso[32];
    int64_t t;
    if (parse_time(p, n, utc_time, iso, &t)) {
        set_text(j->rec->signing_time, sizeof j->rec->signing_time, iso);
        j->when = t;
    }
}

static bool sm2_alg(const struct der *oid)
{
    return der_oid_is(oid, OID_SM2_SM3) || der_oid_is(oid, OID_SM2_SIGN) ||
           der_oid_is(oid, OID_SM2);
}

/* SM2 (user ID 1234567812345678) signature `sig` (DER, lenient DER or raw
 * r||s) over msg by the key of `cert`. */
static ecert_status sm2_check(const struct x509_cert *cert, const uint8_t *msg, size_t len,
                              const struct der *sig)
{
    uint8_t rs[SM2_SIG_LEN];
    struct sm2_key *key = NULL;
    ecert_status st;
    if ((st = sm2_sig_decode_bytes(sig->p, sig->len, rs)) || (st = x509_cert_sm2_key(cert, &key)))
        return st;
    st = sm2_verify(key, NULL, 0, msg, len, rs);
    sm2_key_free(key);
    return st;
}

static bool have_anchors(const struct ofd_ctx *c)
{
    return x509_store_count(c->opts->anchors) > 0;
}

static bool known_cert(const struct ofd_ctx *c, const struct x509_cert *cert)
{
    for (size_t i = 0; i < x509_store_count(c->found); i++)
        if (x509_cert_equal(x509_store_get(c->found, i), cert))
            return true;
    return false;
}

/* Certificates met in the package serve as issuers for later chains; they
 * are kept only when chains are built at all. Takes `cert`. */
static void keep_cert(struct ofd_ctx *c, struct x509_cert *cert)
{
    if (!have_anchors(c) || known_cert(c, cert)) {
        x509_cert_free(cert);
        return;
    }
    if (x509_store_take(c->found, cert))
        err_clear(); /* a full pool only shortens chains that could be built */
}

/* The same for a certificate owned elsewhere (a copy is kept). */
static void remember_cert(struct ofd_ctx *c, const struct x509_cert *cert)
{
    size_t len;
    const uint8_t *der = x509_cert_der(cert, &len);
    if (!have_anchors(c) || known_cert(c, cert))
        return;
    if (x509_store_add_der(c->found, der, len))
        err_clear();
}

/* Trust in `leaf`: a path to an anchor, issuers from the signature's own
 * certificates, the package, or the caller's extra certificates. */
static enum verify_trust judge_trust(struct ofd_ctx *c, struct sig_job *j,
                                     const struct x509_cert *leaf, const struct x509_store *local,
                                     const char *role)
{
    if (x509_store_count(c->opts->anchors) == 0)
        return VERIFY_TRUST_NONE;
    int64_t at = c->opts->at ? c->opts->at : j->when ? j->when : (int64_t)time(NULL);
    const struct x509_store *pools[3] = {local, c->found, c->opts->extra_certs};
    char why[VERIFY_TEXT];
    if (x509_chain_verify(leaf, pools, 3, c->opts->anchors, at, why, sizeof why) == ECERT_OK)
        return VERIFY_TRUST_TRUSTED;
    err_clear();
    char note[VERIFY_TEXT + 32];
    snprintf(note, sizeof note, "%s not trusted: %s", role, why);
    sig_note(j->rec, note);
    return VERIFY_TRUST_UNTRUSTED;
}

/* ---- references ----------------------------------------------------------------- */

static bool decode_digest(const char *text, uint8_t out[SM3_LEN])
{
    uint8_t buf[64];
    size_t n = 0, len = strlen(text);
    if (base64_decode(text, len, buf, sizeof buf, &n, BASE64_SKIP_WS) == ECERT_OK && n == SM3_LEN) {
        memcpy(out, buf, SM3_LEN);
        return true;
    }
    /* A few producers write hex. */
    if (len == 2 * SM3_LEN && hex_decode(text, len, buf, sizeof buf, &n) == ECERT_OK &&
        n == SM3_LEN) {
        memcpy(out, buf, SM3_LEN);
        return true;
    }
    err_clear();
    return false;
}

static void check_references(struct ofd_ctx *c, struct sig_job *j, xmlNodePtr signed_info)
{
    struct verify_signature *rec = j->rec;
    xmlNodePtr refs = xml_child(signed_info, "References");
    if (!refs) {
        fail_integrity(rec, "%s", "no References: the signature covers no file");
        return;
    }
    const char *method = xml_attr(&c->a, refs, "CheckMethod", 128);
    if (!method) {
        sig_note(rec, "no CheckMethod: SM3 assumed");
    } else if (strcasecmp(method, "SM3") != 0 && strcmp(method, OID_SM3) != 0) {
        fail_integrity(rec, "unsupported CheckMethod %s", method);
        return;
    }
    size_t count = 0, bad = 0;
    for (xmlNodePtr ref = xml_child(refs, "Reference"); ref; ref = xml_next(ref, "Reference")) {
        if (++count > OFD_MAX_REFS) {
            fail_integrity(rec, "%s", "too many References");
            return;
        }
        const char *loc = xml_attr(&c->a, ref, "FileRef", OFD_PATH_MAX);
        const char *cv = xml_text(&c->a, xml_child(ref, "CheckValue"), 256);
        uint8_t want[SM3_LEN], got[SM3_LEN];
        if (!loc || !cv || !decode_digest(cv, want)) {
            bad++;
            fail_integrity(rec, "%s", "a Reference without a FileRef or a 32-byte CheckValue");
            continue;
        }
        const char *path = locate(c, j->sig_dir, loc);
        const uint8_t *data;
        size_t len;
        if (!path) {
            bad++;
            fail_integrity(rec, "referenced file %.200s is missing", loc);
            continue;
        }
        if (zipread_get(c->z, path, &data, &len) || sm3_digest(data, len, got)) {
            bad++;
            fail_integrity(rec, "referenced file %.200s cannot be read", loc);
            err_clear();
            continue;
        }
        if (memcmp(want, got, SM3_LEN) == 0)
            continue;
        if (j->sigs_path && strcmp(path, j->sigs_path) == 0 && j->later_exists) {
            sig_note(rec, "Signatures.xml changed since this signature: a later signature "
                          "rewrote it (allowed)");
            continue;
        }
        bad++;
        char msg[OFD_PATH_MAX + 64];
        snprintf(msg, sizeof msg, "/%s differs from its signed digest", path);
        fail_integrity(rec, "%s", msg);
    }
    if (count == 0)
        fail_integrity(rec, "%s", "no Reference: the signature covers no file");
    if (bad > 1) {
        char note[64];
        snprintf(note, sizeof note, "%zu references fail", bad);
        sig_note(rec, note);
    }
}

/* ---- SES (GB/T 38540, GM/T 0031) -------------------------------------------------- */

static void check_seal_maker(struct ofd_ctx *c, struct sig_job *j, const struct ses_seal *seal)
{
    struct verify_signature *rec = j->rec;
    struct x509_cert *maker = NULL;
    j->has_maker = true;
    if (x509_cert_from_der(seal->maker_cert.p, seal->maker_cert.len, &maker)) {
        err_clear();
        fail_signature(rec, "%s", "the seal maker's certificate is unreadable");
        j->maker_trust = VERIFY_TRUST_UNTRUSTED;
        return;
    }
    const uint8_t *msg = seal->seal_info.p;
    size_t len = seal->seal_info.len;
    if (seal->v1_layout) {
        /* GM/T 0031: the maker signs SEQUENCE { sealInfo, cert, signatureAlgorithm }. */
        size_t body = seal->seal_info.len + seal->cert_tlv.len + seal->alg_tlv.len;
        size_t hl = 1 + der_len_size(body), off = 0;
        uint8_t *tbs = arena_alloc(&c->a, hl + body);
        if (!tbs || der_put_header(tbs, hl + body, &off, DER_SEQUENCE, body)) {
            err_clear();
            fail_signature(rec, "%s", "out of memory");
            keep_cert(c, maker);
            return;
        }
        memcpy(tbs + off, seal->seal_info.p, seal->seal_info.len);
        off += seal->seal_info.len;
        memcpy(tbs + off, seal->cert_tlv.p, seal->cert_tlv.len);
        off += seal->cert_tlv.len;
        memcpy(tbs + off, seal->alg_tlv.p, seal->alg_tlv.len);
        msg = tbs;
        len = hl + body;
    }
    if (!sm2_alg(&seal->sign_alg))
        fail_signature(rec, "%s", "the seal maker's signature algorithm is not SM2");
    else if (sm2_check(maker, msg, len, &seal->signed_value)) {
        err_clear();
        fail_signature(rec, "%s", "the seal maker's signature does not verify");
    }
    j->maker_trust = judge_trust(c, j, maker, NULL, "seal maker");
    keep_cert(c, maker);
}

/* GB/T 38540 §7: the signer must hold the seal — its certificate is in the
 * seal's certificate list (type 1) or its SM3 digest is (type 2). */
static bool signer_holds_seal(const struct ses_seal *seal, const struct x509_cert *signer,
                              bool *unknown)
{
    size_t len;
    const uint8_t *der = x509_cert_der(signer, &len);
    uint8_t h[SM3_LEN];
    bool have_h = false;
    *unknown = false;
    for (size_t i = 0; i < 256; i++) {
        struct der cert, dtype, digest;
        ecert_status st = ses_seal_cert_at(seal, i, &cert, &dtype, &digest);
        if (st) {
            err_clear();
            break;
        }
        if (seal->cert_list_type == 1) {
            if (cert.len == len && memcmp(cert.p, der, len) == 0)
                return true;
            continue;
        }
        if (!have_h) {
            if (sm3_digest(der, len, h))
                return false;
            have_h = true;
        }
        if (digest.len == SM3_LEN && memcmp(digest.p, h, SM3_LEN) == 0)
            return true;
        if (digest.len != SM3_LEN)
            *unknown = true; /* another digest algorithm */
    }
    return false;
}

static void verify_ses(struct ofd_ctx *c, struct sig_job *j, const struct ses_signature *s)
{
    struct verify_signature *rec = j->rec;
    char fmt[96];
    if (s->v1_layout)
        snprintf(fmt, sizeof fmt, "SES_Signature v%d (GM/T 0031)", s->version);
    else
        snprintf(fmt, sizeof fmt, "SES_Signature v%d (GB/T 38540)", s->version);
    set_text(rec->format, sizeof rec->format, fmt);
    set_bytes(rec->seal_name, sizeof rec->seal_name, &s->seal.name);
    take_time(j, s->time.p, s->time.len, s->time_tag == 0x17);

    uint8_t h[SM3_LEN];
    if (sm3_digest(j->tbs, j->tbs_len, h) || s->data_hash.len != SM3_LEN ||
        memcmp(h, s->data_hash.p, SM3_LEN) != 0)
        fail_integrity(rec, "%s", "dataHash is not SM3(Signature.xml): Signature.xml changed");

    if (j->seal_path) {
        const uint8_t *esl;
        size_t esl_len;
        if (zipread_get(c->z, j->seal_path, &esl, &esl_len)) {
            err_clear();
            fail_integrity(rec, "%s", "the seal file named by the signature is missing");
        } else if (esl_len != s->seal.whole.len || memcmp(esl, s->seal.whole.p, esl_len) != 0) {
            fail_integrity(rec, "%s", "Seal.esl differs from the seal inside the signature");
        }
    }

    struct x509_cert *signer = NULL;
    if (x509_cert_from_der(s->cert.p, s->cert.len, &signer)) {
        err_clear();
        fail_signature(rec, "%s", "the signer's certificate is unreadable");
        check_seal_maker(c, j, &s->seal);
        return;
    }
    x509_cert_subject(signer, rec->signer, sizeof rec->signer);
    x509_cert_issuer(signer, rec->issuer, sizeof rec->issuer);
    if (!sm2_alg(&s->sig_alg))
        fail_signature(rec, "%s", "the signature algorithm is not SM2");
    else if (sm2_check(signer, s->tbs.p, s->tbs.len, &s->signature)) {
        err_clear();
        fail_signature(rec, "%s", "the signature over TBS_Sign does not verify");
    }
    check_seal_maker(c, j, &s->seal);
    bool unknown = false;
    if (!signer_holds_seal(&s->seal, signer, &unknown)) {
        if (unknown)
            sig_note(rec, "the seal lists its holders by a digest other than SM3");
        else
            fail_signature(rec, "%s", "the signer's certificate is not a holder of the seal");
    }
    j->signer_trust = judge_trust(c, j, signer, NULL, "signer");
    keep_cert(c, signer);
}

/* ---- GB/T 35275 SignedData ------------------------------------------------------ */

static void verify_cms(struct ofd_ctx *c, struct sig_job *j, const struct ses_signed_data *sd,
                       const char *what)
{
    struct verify_signature *rec = j->rec;
    set_text(rec->format, sizeof rec->format,
             sd->gm ? "GB/T 35275 SignedData" : "PKCS#7 SignedData");
    uint8_t h[SM3_LEN];
    if (sm3_digest(j->tbs, j->tbs_len, h)) {
        err_clear();
        fail_signature(rec, "%s", "SM3 failed");
        return;
    }
    if (sd->has_content) {
        /* The encapsulated content is SM3(file), or (a known variant) its
         * base64, or the file itself. */
        uint8_t b64[64];
        size_t bn = 0;
        bool same = (sd->content.len == SM3_LEN && memcmp(sd->content.p, h, SM3_LEN) == 0) ||
                    (sd->content.len == j->tbs_len &&
                     memcmp(sd->content.p, j->tbs, j->tbs_len) == 0) ||
                    (sd->content.len < 64 &&
                     base64_decode((const char *)sd->content.p, sd->content.len, b64, sizeof b64,
                                   &bn, 0) == ECERT_OK &&
                     bn == SM3_LEN && memcmp(b64, h, SM3_LEN) == 0);
        err_clear();
        if (!same)
            fail_integrity(rec, "the signed content is not SM3(%s): the file changed", what);
    }
    struct x509_store *local = NULL;
    if (x509_store_new(&local)) {
        err_clear();
        fail_signature(rec, "%s", "out of memory");
        return;
    }
    for (size_t i = 0; i < sd->ncerts; i++)
        if (x509_store_add_der(local, sd->certs[i].p, sd->certs[i].len))
            err_clear();
    enum verify_trust trust = VERIFY_TRUST_TRUSTED;
    for (size_t i = 0; i < sd->nsigners; i++) {
        const struct ses_signer *si = &sd->signers[i];
        const struct x509_cert *cert = NULL;
        const struct x509_store *stores[2] = {local, c->opts->extra_certs};
        for (size_t s = 0; s < 2 && !cert; s++)
            for (size_t k = 0; k < x509_store_count(stores[s]) && !cert; k++) {
                const struct x509_cert *cand = x509_store_get(stores[s], k);
                if (si->ski.len ? x509_cert_has_ski(cand, si->ski.p, si->ski.len)
                                : x509_cert_has_issuer_serial(cand, si->issuer.p, si->issuer.len,
                                                              si->serial.p, si->serial.len))
                    cert = cand;
            }
        if (!cert) {
            fail_signature(rec, "%s", "the signer's certificate is not in the SignedData");
            trust = VERIFY_TRUST_UNTRUSTED;
            continue;
        }
        remember_cert(c, cert);
        if (i == 0) {
            x509_cert_subject(cert, rec->signer, sizeof rec->signer);
            x509_cert_issuer(cert, rec->issuer, sizeof rec->issuer);
        }
        if (si->signing_time_tag)
            take_time(j, si->signing_time.p, si->signing_time.len, si->signing_time_tag == 0x17);
        if (!der_oid_is(&si->digest_alg, OID_SM3)) {
            fail_signature(rec, "%s", "the digest algorithm is not SM3");
            continue;
        }
        const uint8_t *msg;
        size_t len;
        if (si->has_signed_attrs) {
            if (!si->has_message_digest || si->message_digest.len != SM3_LEN ||
                memcmp(si->message_digest.p, h, SM3_LEN) != 0)
                fail_integrity(rec, "the signed messageDigest is not SM3(%s): the file changed",
                               what);
            /* Signed attributes are signed as a SET OF, not as [0] IMPLICIT. */
            uint8_t *attrs = arena_alloc(&c->a, si->signed_attrs.len);
            if (!attrs) {
                err_clear();
                fail_signature(rec, "%s", "out of memory");
                continue;
            }
            memcpy(attrs, si->signed_attrs.p, si->signed_attrs.len);
            attrs[0] = 0x31;
            msg = attrs;
            len = si->signed_attrs.len;
        } else if (sd->has_content) {
            msg = sd->content.p;
            len = sd->content.len;
        } else {
            msg = j->tbs;
            len = j->tbs_len;
        }
        if (!sm2_alg(&si->sig_alg) && !der_oid_is(&si->sig_alg, "1.2.840.10045.2.1")) {
            fail_signature(rec, "%s", "the signature algorithm is not SM2");
            continue;
        }
        if (sm2_check(cert, msg, len, &si->signature)) {
            err_clear();
            fail_signature(rec, "%s", "the SignedData signature does not verify");
        }
        enum verify_trust t = judge_trust(c, j, cert, local, "signer");
        if (t < trust)
            trust = t;
    }
    j->signer_trust = trust;
    x509_store_free(local);
}

/* ---- bare SM2 values ---------------------------------------------------------------- */

static void verify_raw(struct ofd_ctx *c, struct sig_job *j, const uint8_t *sv, size_t svlen)
{
    struct verify_signature *rec = j->rec;
    set_text(rec->format, sizeof rec->format, "SM2 signature value (no certificate)");
    struct der sig = {sv, svlen};
    size_t n = x509_store_count(c->opts->extra_certs);
    for (size_t i = 0; i < n; i++) {
        const struct x509_cert *cert = x509_store_get(c->opts->extra_certs, i);
        if (x509_cert_key_kind(cert) != X509_KEY_SM2)
            continue;
        if (sm2_check(cert, j->tbs, j->tbs_len, &sig) == ECERT_OK) {
            x509_cert_subject(cert, rec->signer, sizeof rec->signer);
            x509_cert_issuer(cert, rec->issuer, sizeof rec->issuer);
            j->signer_trust = judge_trust(c, j, cert, NULL, "signer");
            return;
        }
        err_clear();
    }
    j->signer_trust = x509_store_count(c->opts->anchors) ? VERIFY_TRUST_UNTRUSTED
                                                         : VERIFY_TRUST_NONE;
    fail_signature(rec, "%s",
                   n ? "the bare SM2 signature verifies under none of the supplied certificates"
                     : "a bare SM2 signature without a certificate: supply the signer's "
                       "certificate");
}

/* ---- one signature ---------------------------------------------------------------- */

static void verify_signed_value(struct ofd_ctx *c, struct sig_job *j, const uint8_t *sv,
                                size_t len)
{
    struct ses_signature ses;
    struct ses_signed_data sd;
    uint8_t rs[SM2_SIG_LEN];
    if (ses_parse_signature(sv, len, &ses) == ECERT_OK) {
        verify_ses(c, j, &ses);
        return;
    }
    char ses_err[160];
    snprintf(ses_err, sizeof ses_err, "%s", err_detail());
    if (ses_parse_signed_data(sv, len, &sd) == ECERT_OK) {
        verify_cms(c, j, &sd, "Signature.xml");
        return;
    }
    if (sm2_sig_decode_bytes(sv, len, rs) == ECERT_OK) {
        verify_raw(c, j, sv, len);
        return;
    }
    err_clear();
    set_text(j->rec->format, sizeof j->rec->format, "unknown");
    fail_signature(j->rec, "SignedValue is neither SES_Signature, SignedData nor an SM2 "
                           "signature (%s)", ses_err);
}

static void verify_one(struct ofd_ctx *c, const char *sigs_path, xmlNodePtr entry,
                       bool later_exists)
{
    struct verify_signature *rec = verify_result_add(c->res);
    if (!rec) {
        verify_set_reason(c->res, "malformed: too many signatures");
        err_clear();
        return;
    }
    rec->integrity = true;
    rec->signature = true;
    struct sig_job j = {.rec = rec, .sigs_path = sigs_path, .later_exists = later_exists};
    set_text(rec->id, sizeof rec->id, xml_attr(&c->a, entry, "ID", 256));
    const char *type = xml_attr(&c->a, entry, "Type", 64);
    set_text(rec->type, sizeof rec->type, type ? type : "Seal");

    const char *base_loc = xml_attr(&c->a, entry, "BaseLoc", OFD_PATH_MAX);
    const char *sigs_dir = dir_of(&c->a, sigs_path);
    j.sig_path = base_loc && sigs_dir ? locate(c, sigs_dir, base_loc) : NULL;
    if (!j.sig_path) {
        rec->integrity = rec->signature = false;
        verify_sig_fail(rec, "its Signature.xml (%.200s) is missing", base_loc ? base_loc : "");
        return;
    }
    j.sig_dir = dir_of(&c->a, j.sig_path);
    xmlDocPtr doc = NULL;
    if (zipread_get(c->z, j.sig_path, &j.tbs, &j.tbs_len) ||
        xml_parse(j.tbs, j.tbs_len, "Signature.xml", &doc)) {
        rec->integrity = rec->signature = false;
        verify_sig_fail(rec, "Signature.xml unreadable: %s", err_detail());
        err_clear();
        return;
    }
    xmlNodePtr root = xml_root(doc, "Signature");
    xmlNodePtr si = xml_child(root, "SignedInfo");
    const char *sv_loc = xml_text(&c->a, xml_child(root, "SignedValue"), OFD_PATH_MAX);
    if (!si || !sv_loc) {
        rec->integrity = rec->signature = false;
        verify_sig_fail(rec, "%s", "Signature.xml has no SignedInfo or SignedValue");
        xml_free(doc);
        return;
    }
    const char *when = xml_text(&c->a, xml_child(si, "SignatureDateTime"), 64);
    if (when)
        take_time(&j, (const uint8_t *)when, strlen(when), false);
    const char *seal_loc = xml_text(&c->a, xml_child(xml_child(si, "Seal"), "BaseLoc"),
                                    OFD_PATH_MAX);
    if (seal_loc) {
        j.seal_path = locate(c, j.sig_dir, seal_loc);
        if (!j.seal_path)
            j.seal_path = arena_strdup(&c->a, "(missing)");
    }
    check_references(c, &j, si);

    const char *sv_path = locate(c, j.sig_dir, sv_loc);
    const uint8_t *sv;
    size_t sv_len;
    if (!sv_path || zipread_get(c->z, sv_path, &sv, &sv_len)) {
        err_clear();
        fail_signature(rec, "its SignedValue (%.200s) is missing or unreadable", sv_loc);
    } else {
        verify_signed_value(c, &j, sv, sv_len);
    }
    xml_free(doc);

    rec->trust = j.signer_trust;
    if (j.has_maker && j.maker_trust < rec->trust)
        rec->trust = j.maker_trust;
}

/* ---- GM/T 0099 integrity protection ---------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void verify_entries(struct ofd_ctx *c, const uint8_t *xml, size_t xml_len)
{
    struct verify_signature *rec = verify_result_add(c->res);
    if (!rec) {
        err_clear();
        return;
    }
    rec->integrity = rec->signature = true;
    set_text(rec->type, sizeof rec->type, "Integrity");
    set_text(rec->format, sizeof rec->format,
             "OFD integrity protection (GM/T 0099), GB/T 35275 SignedData");
    set_text(rec->note, sizeof rec->note,
             "integrity protection signs the list of files (no file may be added or removed)");
    struct sig_job j = {.rec = rec, .tbs = xml, .tbs_len = xml_len};
    xmlDocPtr doc = NULL;
    if (xml_parse(xml, xml_len, "OFDEntries.xml", &doc)) {
        rec->integrity = rec->signature = false;
        verify_sig_fail(rec, "OFDEntries.xml unreadable: %s", err_detail());
        err_clear();
        return;
    }
    xmlNodePtr root = xml_root(doc, NULL);
    set_text(rec->id, sizeof rec->id, xml_attr(&c->a, root, "ID", 256));
    const char *sv_loc = xml_text(&c->a, xml_child(root, "SignedValueLoc"), OFD_PATH_MAX);
    const char *sv_path = sv_loc ? locate(c, "", sv_loc) : NULL;
    size_t nz = zipread_count(c->z), nl = 0;
    const char **listed = arena_alloc(&c->a, (nz + 1) * sizeof *listed);
    if (!listed) {
        err_clear();
        fail_signature(rec, "%s", "out of memory");
        xml_free(doc);
        return;
    }
    xmlNodePtr list = xml_child(root, "FileList");
    for (xmlNodePtr f = xml_child(list, "File"); f; f = xml_next(f, "File")) {
        const char *loc = xml_attr(&c->a, f, "FileLoc", OFD_PATH_MAX);
        char path[OFD_PATH_MAX + 1];
        size_t idx;
        if (!loc || ofd_resolve("", loc, path, sizeof path)) {
            err_clear();
            fail_integrity(rec, "%s", "a FileList entry without a valid FileLoc");
            continue;
        }
        if (!zipread_find(c->z, path, &idx)) {
            fail_integrity(rec, "listed file /%.200s is missing", path);
            continue;
        }
        if (nl < nz)
            listed[nl++] = arena_strdup(&c->a, path);
    }
    qsort(listed, nl, sizeof *listed, cmp_str);
    for (size_t i = 0; i < nz; i++) {
        const char *name = zipread_name(c->z, i);
        if (zipread_is_dir(c->z, i) || strcmp(name, "OFDEntries.xml") == 0 ||
            (sv_path && strcmp(name, sv_path) == 0))
            continue;
        if (!bsearch(&name, listed, nl, sizeof *listed, cmp_str))
            fail_integrity(rec, "file /%.200s is not in OFDEntries.xml (added)", name);
    }
    const uint8_t *sv;
    size_t sv_len;
    struct ses_signed_data sd;
    if (!sv_path || zipread_get(c->z, sv_path, &sv, &sv_len)) {
        err_clear();
        fail_signature(rec, "%s", "the integrity signature value is missing");
    } else if (ses_parse_signed_data(sv, sv_len, &sd)) {
        fail_signature(rec, "the integrity signature value is not SignedData (%s)",
                       err_detail());
        err_clear();
    } else {
        verify_cms(c, &j, &sd, "OFDEntries.xml");
        set_text(rec->format, sizeof rec->format,
                 "OFD integrity protection (GM/T 0099), GB/T 35275 SignedData");
    }
    rec->trust = j.signer_trust;
    xml_free(doc);
}

/* ---- the package ------------------------------------------------------------------ */

static void verify_signatures_file(struct ofd_ctx *c, const char *sigs_path)
{
    const uint8_t *data;
    size_t len;
    xmlDocPtr doc = NULL;
    if (zipread_get(c->z, sigs_path, &data, &len) ||
        xml_parse(data, len, "Signatures.xml", &doc)) {
        struct verify_signature *rec = verify_result_add(c->res);
        if (rec) {
            set_text(rec->id, sizeof rec->id, "?");
            verify_sig_fail(rec, "Signatures.xml unreadable: %s", err_detail());
        }
        err_clear();
        return;
    }
    xmlNodePtr root = xml_root(doc, "Signatures");
    for (xmlNodePtr s = xml_child(root, "Signature"); s; s = xml_next(s, "Signature"))
        verify_one(c, sigs_path, s, xml_next(s, "Signature") != NULL);
    xml_free(doc);
}

static void finish(struct ofd_ctx *c)
{
    struct verify_result *r = c->res;
    if (r->nsig == 0) {
        r->result = 0;
        verify_set_reason(r, "unsigned");
        return;
    }
    char msg[VERIFY_TEXT + 96];
    for (size_t i = 0; i < r->nsig; i++)
        if (!r->sigs[i].integrity) {
            snprintf(msg, sizeof msg, "tampered: signature %s: %s", r->sigs[i].id,
                     r->sigs[i].reason);
            verify_set_reason(r, msg);
        }
    for (size_t i = 0; i < r->nsig; i++)
        if (!r->sigs[i].signature) {
            snprintf(msg, sizeof msg, "invalid signature: signature %s: %s", r->sigs[i].id,
                     r->sigs[i].reason);
            verify_set_reason(r, msg);
        }
    if (c->opts->require_trust)
        for (size_t i = 0; i < r->nsig; i++)
            if (r->sigs[i].trust != VERIFY_TRUST_TRUSTED) {
                if (!r->sigs[i].reason[0])
                    verify_sig_fail(&r->sigs[i], "untrusted: %s",
                                    r->sigs[i].note[0] ? r->sigs[i].note
                                                       : "no trust anchors configured");
                snprintf(msg, sizeof msg, "untrusted: signature %s: %s", r->sigs[i].id,
                         r->sigs[i].reason);
                verify_set_reason(r, msg);
            }
    r->result = r->reason[0] ? 0 : 1;
}

ecert_status ofd_verify(const uint8_t *file, size_t len, const struct verify_options *opts,
                        struct verify_result *out)
{
    struct ofd_ctx c = {.opts = opts, .res = out};
    arena_init(&c.a, OFD_ARENA_MAX);
    ecert_status st = zipread_open(file, len, &c.z);
    if (st)
        goto done;
    if ((st = x509_store_new(&c.found)))
        goto done;
    const uint8_t *ofd_xml;
    size_t ofd_len;
    xmlDocPtr doc = NULL;
    if ((st = zipread_get(c.z, "OFD.xml", &ofd_xml, &ofd_len))) {
        st = err_set(ECERT_E_MALFORMED, "not an OFD package: no OFD.xml");
        goto done;
    }
    if ((st = xml_parse(ofd_xml, ofd_len, "OFD.xml", &doc)))
        goto done;
    xmlNodePtr root = xml_root(doc, "OFD");
    if (!root) {
        xml_free(doc);
        st = err_set(ECERT_E_MALFORMED, "OFD.xml: root element is not OFD");
        goto done;
    }
    /* Each DocBody may name its own Signatures.xml. */
    const char *sigs[OFD_MAX_DOCS];
    size_t nsigs = 0, ndocs = 0;
    for (xmlNodePtr body = xml_child(root, "DocBody"); body; body = xml_next(body, "DocBody")) {
        if (++ndocs > OFD_MAX_DOCS) {
            xml_free(doc);
            st = err_set(ECERT_E_TOO_LONG, "OFD.xml: over %d documents", OFD_MAX_DOCS);
            goto done;
        }
        const char *loc = xml_text(&c.a, xml_child(body, "Signatures"), OFD_PATH_MAX);
        if (!loc)
            continue;
        char path[OFD_PATH_MAX + 1];
        if (ofd_resolve("", loc, path, sizeof path)) {
            xml_free(doc);
            goto done_malformed;
        }
        bool dup = false;
        for (size_t i = 0; i < nsigs; i++)
            dup = dup || strcmp(sigs[i], path) == 0;
        if (!dup && !(sigs[nsigs++] = arena_strdup(&c.a, path))) {
            xml_free(doc);
            st = ECERT_E_NOMEM;
            goto done;
        }
    }
    xml_free(doc);

    const uint8_t *entries;
    size_t entries_len;
    if (zipread_get(c.z, "OFDEntries.xml", &entries, &entries_len) == ECERT_OK)
        verify_entries(&c, entries, entries_len);
    err_clear();
    for (size_t i = 0; i < nsigs; i++)
        verify_signatures_file(&c, sigs[i]);
    finish(&c);
    st = ECERT_OK;
    goto done;
done_malformed:
    st = err_wrap(ECERT_E_MALFORMED, "OFD.xml: Signatures location");
done:
    if (st) {
        out->result = 0;
        char tmp[VERIFY_TEXT];
        snprintf(tmp, sizeof tmp, "%s: %s",
                 st == ECERT_E_MALFORMED || st == ECERT_E_TOO_LONG ? "malformed" : "error",
                 err_detail());
        verify_set_reason(out, tmp);
    }
    x509_store_free(c.found);
    zipread_close(c.z);
    arena_release(&c.a);
    return st;
}
