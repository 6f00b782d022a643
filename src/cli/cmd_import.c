/*
 * cmd_import.c — operator commands that load a node's data and check its
 * usage records (SPEC §8 conventions; formats in docs/store.md):
 *
 *   ecert catalog import (--config FILE | --db PATH) CATALOG.json
 *   ecert scene import   (--config FILE | --db PATH) SCENES.json
 *   ecert cert import    (--config FILE | --db PATH) [--batch N] CERTS.jsonl
 *   ecert records verify (--config FILE | --db PATH)
 *
 * Imports keep the good entries and report each bad one on stderr as
 * "line N: reason" (certificates) or "entry N: reason" (catalog, scenes),
 * then print "imported N, rejected M" on stdout. Exit 0 when everything was
 * imported, 1 when something was rejected, 2 for usage, I/O or database
 * errors. Re-running an import is harmless: rows are replaced by their key.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cmd_store.h"
#include "codes/ids.h"
#include "common/arena.h"
#include "common/codec.h"
#include "common/flatjson.h"
#include "common/error.h"
#include "crypto/sm3.h"

/* Longest text field (SPEC §5: 512 characters; CJK text is 3 bytes each). */
#define FIELD_MAX 1536
#define FILE_NAME_MAX 255
#define SURFACE_MAX (1u << 20)
#define SCENE_TYPES_MAX 1024
/* A JSONL line, and a file named by filePath, are capped at CLI_MAX_INPUT. */
#define LINE_MAX_BYTES CLI_MAX_INPUT
#define BATCH_DEFAULT 1000
#define PATH_BYTES 4096
#define BATCH_MAX 10000
/* A batch is also flushed when its input text, or its decoded data, reaches
 * this size, so a batch of large files does not hold gigabytes (several
 * batches are in flight, see the pipeline below). The arena's cap leaves room
 * for one more maximal line on top. */
#define BATCH_FLUSH_BYTES (8u << 20)
#define BATCH_ARENA_MAX (BATCH_FLUSH_BYTES + 3 * (size_t)CLI_MAX_INPUT)
#define BATCH_TEXT_MAX (BATCH_FLUSH_BYTES + (size_t)CLI_MAX_INPUT + 16)
/* The rejection messages of one batch (each is a line of a few hundred
 * bytes at most); past this, further ones are counted but not printed. */
#define BATCH_REJECTS_MAX (8u << 20)
#define JOBS_MAX 64
/* Top-level members the flatjson shortcut takes (more: jansson parses). */
#define FLAT_MEMBERS 64

/* ---- arguments ----------------------------------------------------------- */

struct import_args {
    const char *config;
    const char *db;
    const char *batch;
    const char *jobs;
    const char *file;
};

/* Parses `ecert WORD SUB [options] [FILE]`; help anywhere before "--"
 * prints `usage` and yields EXIT_OK through *rc. Returns false when the
 * command should stop with *rc. */
static bool parse_args(int argc, char **argv, const char *what, bool want_file, bool with_batch,
                       void (*usage)(FILE *), struct import_args *out, int *rc)
{
    memset(out, 0, sizeof *out);
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (cli_is_help(argv[i])) {
            usage(stdout);
            *rc = EXIT_OK;
            return false;
        }
    struct cli_opt opts[] = {{"--config", true, NULL},
                             {"--db", true, NULL},
                             {"--batch", true, NULL},
                             {"--jobs", true, NULL}};
    size_t nopts = with_batch ? 4 : 2;
    int pos = cli_parse_opts(argc, argv, 2, opts, nopts);
    *rc = EXIT_USAGE;
    if (pos < 0)
        return false;
    out->config = cli_opt(opts, nopts, "--config");
    out->db = cli_opt(opts, nopts, "--db");
    out->batch = with_batch ? cli_opt(opts, nopts, "--batch") : NULL;
    out->jobs = with_batch ? cli_opt(opts, nopts, "--jobs") : NULL;
    if (want_file) {
        if (pos >= argc) {
            cli_usage_error("%s: missing input file (try --help)", what);
            return false;
        }
        out->file = argv[pos++];
    }
    if (pos < argc) {
        cli_usage_error("%s: unexpected argument '%s'", what, argv[pos]);
        return false;
    }
    *rc = EXIT_OK;
    return true;
}

/* ---- value checks -------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

/* 证照类型代码: 18 characters [0-9A-Z] (the defining body's USCC) and 3 digits,
 * the same rule the certificate identifier applies to its type part. */
static bool is_type_code(const char *s)
{
    if (strnlen(s, IDS_TYPE_CODE_LEN + 1) != IDS_TYPE_CODE_LEN)
        return false;
    for (size_t i = 0; i < 18; i++)
        if (!is_digit(s[i]) && !(s[i] >= 'A' && s[i] <= 'Z'))
            return false;
    return all_digits(s + 18, 3);
}

/* YYYY-MM-DD, a real calendar date, years 1900-9999 ("9999-12-31" is a
 * common long-term end date). */
static bool is_date(const char *s)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strnlen(s, 11) != 10 || s[4] != '-' || s[7] != '-' || !all_digits(s, 4) ||
        !all_digits(s + 5, 2) || !all_digits(s + 8, 2))
        return false;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1900 || m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int max = mdays[m - 1] + (m == 2 && leap ? 1 : 0);
    return d <= max;
}

static bool is_cert_status(const char *s)
{
    return strcmp(s, "valid") == 0 || strcmp(s, "revoked") == 0 || strcmp(s, "expired") == 0 ||
           strcmp(s, "suspended") == 0;
}

/* A file name, not a path: no separators, no control characters. */
static bool is_file_name(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
            return false;
    return s[0] != 0 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* obj[name] as a string of at most max bytes (empty only when allowed).
 * On failure writes the reason into why. */
static bool get_str(const json_t *obj, const char *name, size_t max, bool allow_empty,
                    const char **out, char *why, size_t cap)
{
    const json_t *v = json_object_get(obj, name);
    if (!v) {
        snprintf(why, cap, "%s: missing", name);
        return false;
    }
    if (!json_is_string(v)) {
        snprintf(why, cap, "%s: must be a string", name);
        return false;
    }
    size_t n = json_string_length(v);
    if (n > max) {
        snprintf(why, cap, "%s: %zu bytes, limit %zu", name, n, max);
        return false;
    }
    if (n == 0 && !allow_empty) {
        snprintf(why, cap, "%s: empty", name);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* Loads a JSON file whose entries are a top-level array, or the array
 * `member` of a top-level object (so federation.json can be given as is). */
static json_t *load_list(const char *what, const char *path, const char *member, int *rc)
{
    struct buf in;
    ecert_status st = cli_read_input(path, CLI_MAX_INPUT, &in);
    if (st) {
        *rc = cli_fail(what, st);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)in.data, in.len, JSON_REJECT_DUPLICATES, &jerr);
    buf_release(&in);
    if (!root) {
        *rc = cli_usage_error("%s: %s: invalid JSON at line %d, column %d: %s", what, path,
                              jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    json_t *list = root;
    if (json_is_object(root))
        list = json_object_get(root, member);
    if (!json_is_array(list)) {
        json_decref(root);
        *rc = cli_usage_error("%s: %s: expected a JSON array or an object with a \"%s\" array",
                              what, path, member);
        return NULL;
    }
    json_incref(list);
    json_decref(root);
    return list;
}

/* A store failure that is about the database rather than the data ends the
 * import; a data failure only rejects its entry. */
static bool store_failed_hard(ecert_status st)
{
    return st == ECERT_E_INTERNAL || st == ECERT_E_NOMEM || st == ECERT_E_IO;
}

static int import_verdict(uint64_t imported, uint64_t rejected)
{
    printf("imported %" PRIu64 ", rejected %" PRIu64 "\n", imported, rejected);
    return rejected ? EXIT_NEGATIVE : EXIT_OK;
}

/* ---- ecert catalog import ------------------------------------------------ */

static void catalog_usage(FILE *f)
{
    fputs("usage: ecert catalog import (--config FILE | --db PATH) CATALOG.json\n"
          "\n"
          "Loads the certificate catalog (证照目录) into the node's store: a JSON array\n"
          "of {\"typeCode\": \"<21 chars>\", \"name\": \"营业执照\", \"yrdShared\": true},\n"
          "or an object with such a \"catalog\" array. yrdShared (on the YRD\n"
          "mutual-recognition list) defaults to false. Entries replace those with the\n"
          "same typeCode; bad entries are reported as \"entry N: reason\" and skipped.\n"
          "Prints \"imported N, rejected M\".\n"
          "\n" CLI_STORE_OPTIONS_HELP "\n"
          "exit status: 0 all imported, 1 some rejected, 2 usage, input or database error\n",
          f);
}

static bool catalog_entry_parse(const json_t *o, struct catalog_entry *e, char *why, size_t cap)
{
    if (!json_is_object(o)) {
        snprintf(why, cap, "not a JSON object");
        return false;
    }
    if (!get_str(o, "typeCode", IDS_TYPE_CODE_LEN, false, &e->type_code, why, cap) ||
        !get_str(o, "name", FIELD_MAX, false, &e->name, why, cap))
        return false;
    if (!is_type_code(e->type_code)) {
        snprintf(why, cap, "typeCode: expected 18 characters [0-9A-Z] and 3 digits");
        return false;
    }
    const json_t *y = json_object_get(o, "yrdShared");
    if (y && !json_is_boolean(y)) {
        snprintf(why, cap, "yrdShared: must be true or false");
        return false;
    }
    e->yrd_shared = y && json_is_true(y);
    return true;
}

static int catalog_import(int argc, char **argv)
{
    struct import_args args;
    int rc;
    if (!parse_args(argc, argv, "catalog import", true, false, catalog_usage, &args, &rc))
        return rc;
    json_t *list = load_list("catalog import", args.file, "catalog", &rc);
    if (!list)
        return rc;
    struct store *s = NULL;
    rc = cli_store_open("catalog import", args.config, args.db, &s);
    if (rc) {
        json_decref(list);
        return rc;
    }
    uint64_t imported = 0, rejected = 0;
    char why[256];
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) {
        struct catalog_entry e;
        if (!catalog_entry_parse(o, &e, why, sizeof why)) {
            fprintf(stderr, "entry %zu: %s\n", i + 1, why);
            rejected++;
            continue;
        }
        ecert_status st = store_catalog_put(s, &e);
        if (store_failed_hard(st)) {
            rc = cli_fail("catalog import", st);
            break;
        }
        if (st) {
            fprintf(stderr, "entry %zu: %s\n", i + 1, err_detail());
            rejected++;
        } else {
            imported++;
        }
    }
    store_close(s);
    json_decref(list);
    if (rc) {
        printf("imported %" PRIu64 ", rejected %" PRIu64 "\n", imported, rejected);
        return rc;
    }
    return import_verdict(imported, rejected);
}

int cmd_catalog(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("catalog: missing subcommand (try ecert catalog --help)");
    if (cli_is_help(argv[1])) {
        catalog_usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "import") == 0)
        return catalog_import(argc, argv);
    return cli_usage_error("catalog: unknown subcommand '%s' (try ecert catalog --help)",
                           argv[1]);
}

/* ---- ecert scene import -------------------------------------------------- */

static void scene_usage(FILE *f)
{
    fputs("usage: ecert scene import (--config FILE | --db PATH) SCENES.json\n"
          "\n"
          "Loads the scene list (用证场景, 用证清单): a JSON array of\n"
          "{\"itemCode\": \"…\", \"itemName\": \"…\", \"types\": [\"<type code>\", …]}, or an\n"
          "object with such a \"scenes\" array (federation.json is accepted as is).\n"
          "Each scene replaces the one with the same itemCode, its type list included.\n"
          "Bad entries are reported as \"entry N: reason\" and skipped. Prints\n"
          "\"imported N, rejected M\".\n"
          "\n" CLI_STORE_OPTIONS_HELP "\n"
          "exit status: 0 all imported, 1 some rejected, 2 usage, input or database error\n",
          f);
}

/* Fills sc; sc->types is malloc'd (caller frees) and points into `o`. */
static bool scene_parse(const json_t *o, struct scene *sc, char *why, size_t cap)
{
    memset(sc, 0, sizeof *sc);
    if (!json_is_object(o)) {
        snprintf(why, cap, "not a JSON object");
        return false;
    }
    if (!get_str(o, "itemCode", FIELD_MAX, false, &sc->item_code, why, cap) ||
        !get_str(o, "itemName", FIELD_MAX, false, &sc->item_name, why, cap))
        return false;
    for (const unsigned char *p = (const unsigned char *)sc->item_code; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            snprintf(why, cap, "itemCode: control character");
            return false;
        }
    const json_t *types = json_object_get(o, "types");
    if (!json_is_array(types)) {
        snprintf(why, cap, "types: %s", types ? "must be an array of type codes" : "missing");
        return false;
    }
    size_t n = json_array_size(types);
    if (n > SCENE_TYPES_MAX) {
        snprintf(why, cap, "types: %zu entries, limit %d", n, SCENE_TYPES_MAX);
        return false;
    }
    const char **list = calloc(n ? n : 1, sizeof *list);
    if (!list) {
        snprintf(why, cap, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_array_get(types, i);
        if (!json_is_string(t) || !is_type_code(json_string_value(t))) {
            snprintf(why, cap, "types[%zu]: not a type code (18 characters [0-9A-Z] and 3 digits)",
                     i);
            free(list);
            return false;
        }
        list[i] = json_string_value(t);
    }
    sc->types = list;
    sc->ntypes = n;
    return true;
}

static int scene_import(int argc, char **argv)
{
    struct import_args args;
    int rc;
    if (!parse_args(argc, argv, "scene import", true, false, scene_usage, &args, &rc))
        return rc;
    json_t *list = load_list("scene import", args.file, "scenes", &rc);
    if (!list)
        return rc;
    struct store *s = NULL;
    rc = cli_store_open("scene import", args.config, args.db, &s);
    if (rc) {
        json_decref(list);
        return rc;
    }
    uint64_t imported = 0, rejected = 0;
    char why[256];
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) {
        struct scene sc;
        if (!scene_parse(o, &sc, why, sizeof why)) {
            fprintf(stderr, "entry %zu: %s\n", i + 1, why);
            rejected++;
            continue;
        }
        ecert_status st = store_scene_put(s, &sc);
        free((void *)sc.types);
        if (store_failed_hard(st)) {
            rc = cli_fail("scene import", st);
            break;
        }
        if (st) {
            fprintf(stderr, "entry %zu: %s\n", i + 1, err_detail());
            rejected++;
        } else {
            imported++;
        }
    }
    store_close(s);
    json_decref(list);
    if (rc) {
        printf("imported %" PRIu64 ", rejected %" PRIu64 "\n", imported, rejected);
        return rc;
    }
    return import_verdict(imported, rejected);
}

int cmd_scene(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("scene: missing subcommand (try ecert scene --help)");
    if (cli_is_help(argv[1])) {
        scene_usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "import") == 0)
        return scene_import(argc, argv);
    return cli_usage_error("scene: unknown subcommand '%s' (try ecert scene --help)", argv[1]);
}

/* ---- ecert cert import --------------------------------------------------- */

static void cert_usage(FILE *f)
{
    fputs("usage: ecert cert import (--config FILE | --db PATH) [--batch N] [--jobs N]\n"
          "                         CERTS.jsonl\n"
          "\n"
          "Loads certificates, one JSON object per line (JSON Lines), with the SPEC §4\n"
          "Summary fields (CertificateID, CertificateType, CertificateTypeCode,\n"
          "CertificateNumber, CertificateHolder, CertificateHolderCode,\n"
          "CertificateHolderTypeCode, CertificateIssuingAuthority,\n"
          "CertificateIssuingAuthorityCode, CertificateIssuedDate, CertificateValidFrom,\n"
          "CertificateValidTo, CertificateStatus, CertificateAreaCode), plus SurfaceData\n"
          "(object), fileFormat (OFD|PDF), fileName, and fileEntity (base64) or filePath\n"
          "(relative to CERTS.jsonl). fileSM3 is computed (and, when given, checked).\n"
          "Identifiers, holder codes (111, 001), dates and status are validated; a bad\n"
          "line is reported as \"line N: reason\" and the others are imported. Rows are\n"
          "replaced by CertificateID, so a re-run is harmless. CERTS.jsonl '-' is stdin.\n"
          "Prints \"imported N, rejected M\" (a progress line on stderr when a terminal).\n"
          "\n" CLI_STORE_OPTIONS_HELP
          "  --batch N       certificates per transaction (1-10000, default 1000)\n"
          "  --jobs N        threads that parse and check lines (1-64, default: the\n"
          "                  number of processors)\n"
          "\n"
          "exit status: 0 all imported, 1 some rejected, 2 usage, input or database error\n",
          f);
}

/* The string fields of a line, in the order they are checked. */
struct cert_field {
    const char *name;
    size_t off; /* offset of the const char * in struct cert */
    size_t max;
    bool allow_empty;
};

static const struct cert_field cert_fields[] = {
    {"CertificateID", offsetof(struct cert, id), IDS_MAX_LEN, false},
    {"CertificateType", offsetof(struct cert, type), FIELD_MAX, false},
    {"CertificateTypeCode", offsetof(struct cert, type_code), IDS_TYPE_CODE_LEN, false},
    {"CertificateNumber", offsetof(struct cert, number), FIELD_MAX, false},
    {"CertificateHolder", offsetof(struct cert, holder), FIELD_MAX, false},
    {"CertificateHolderCode", offsetof(struct cert, holder_code), IDS_MAX_LEN, false},
    {"CertificateHolderTypeCode", offsetof(struct cert, holder_type_code), 3, false},
    {"CertificateIssuingAuthority", offsetof(struct cert, issuer), FIELD_MAX, false},
    {"CertificateIssuingAuthorityCode", offsetof(struct cert, issuer_code), IDS_MAX_LEN, false},
    {"CertificateIssuedDate", offsetof(struct cert, issued_date), 10, false},
    {"CertificateValidFrom", offsetof(struct cert, valid_from), 10, false},
    {"CertificateValidTo", offsetof(struct cert, valid_to), 10, true},
    {"CertificateStatus", offsetof(struct cert, status), 16, false},
    {"CertificateAreaCode", offsetof(struct cert, area_code), IDS_REGION_LEN, false},
    {"fileFormat", offsetof(struct cert, file_format), 3, false},
    {"fileName", offsetof(struct cert, file_name), FILE_NAME_MAX, false},
};
#define CERT_NFIELDS (sizeof cert_fields / sizeof cert_fields[0])

static const char **cert_slot(struct cert *c, size_t i)
{
    return (const char **)((char *)c + cert_fields[i].off);
}

/* Certificates are imported by a pipeline. The main thread reads lines
 * into batches; worker threads parse and check whole batches (JSON, the
 * identifiers, base64, SM3: nearly all of the CPU time of an import); the
 * main thread stores the batches in input order, each in one transaction
 * (store_cert_put_batch), and prints each batch's rejections in line order.
 * Parsing so uses every processor while the database writes, and the output
 * is the same as a single thread's. Two batches per worker, and two more,
 * are in flight: while the main thread waits for the database to take one
 * batch, every worker still has one to parse (with one per worker, a worker
 * would idle whenever a write took as long as a parse: half the speed into
 * PostgreSQL). Each batch is bounded as described above. */

struct batch {
    struct buf text;          /* the lines' bytes, each NUL-terminated */
    size_t *off, *len;        /* line i: text.data + off[i], len[i] bytes */
    unsigned long *lineno;
    bool *too_long;           /* line i was over the cap (no text kept) */
    size_t nlines;
    size_t start, stop;       /* parse [start, ...); stop < nlines: resume there */
    struct cert *certs;       /* the good lines, parsed */
    unsigned long *cert_lines;
    size_t n;
    struct arena arena;
    struct buf rejects;       /* "line N: reason\n" for the bad lines */
    uint64_t nrejects;
    bool parsed;
    /* the line being parsed: its fileEntity value cut out of the JSON text
     * (NULL: the JSON's own value; see find_file_entity) */
    const char *fe_raw;
    size_t fe_raw_len;
    struct buf cut;           /* that line without the value */
};

struct cert_import {
    struct store *s;
    char dir[PATH_BYTES]; /* the JSONL file's directory, for filePath */
    size_t batch_max;
    uint64_t imported, rejected;
    /* the pipeline */
    struct batch *slots;
    size_t nslots;
    pthread_t *workers;
    size_t nworkers;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    size_t *queue; /* slot indices waiting for a worker, FIFO */
    size_t qhead, qlen;
    bool quit;
    /* progress (terminal only) */
    bool tty;
    bool progress_shown;
    uint64_t total_bytes, done_bytes;
    unsigned long lineno;
    struct timespec last_progress;
};

static void progress_clear(struct cert_import *im)
{
    if (im->progress_shown) {
        fputs("\r\033[K", stderr);
        im->progress_shown = false;
    }
}

/* A one-line bar on a terminal, redrawn at most five times a second. */
static void progress(struct cert_import *im, bool force)
{
    if (!im->tty)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)(now.tv_sec - im->last_progress.tv_sec) * 1000 +
                 (now.tv_nsec - im->last_progress.tv_nsec) / 1000000;
    if (!force && ms < 200)
        return;
    im->last_progress = now;
    char bar[31];
    unsigned pct = 0;
    if (im->total_bytes) {
        uint64_t done = im->done_bytes < im->total_bytes ? im->done_bytes : im->total_bytes;
        pct = (unsigned)(done * 100 / im->total_bytes);
    }
    size_t fill = im->total_bytes ? pct * (sizeof bar - 1) / 100 : 0;
    memset(bar, '#', fill);
    memset(bar + fill, '.', sizeof bar - 1 - fill);
    bar[sizeof bar - 1] = 0;
    if (im->total_bytes)
        fprintf(stderr, "\r\033[Kcert import [%s] %3u%%  line %lu, imported %" PRIu64
                        ", rejected %" PRIu64,
                bar, pct, im->lineno, im->imported, im->rejected);
    else
        fprintf(stderr, "\r\033[Kcert import: line %lu, imported %" PRIu64 ", rejected %" PRIu64,
                im->lineno, im->imported, im->rejected);
    fflush(stderr);
    im->progress_shown = true;
}

/* A line the database refused (main thread: printed at once). */
static void reject_now(struct cert_import *im, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reject_now(struct cert_import *im, unsigned long line, const char *fmt, ...)
{
    va_list ap;
    progress_clear(im);
    fprintf(stderr, "line %lu: ", line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    im->rejected++;
}

/* A bad line found by a worker: kept with its batch, printed in order. */
static void batch_reject(struct batch *b, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void batch_reject(struct batch *b, unsigned long line, const char *fmt, ...)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg, "line %lu: ", line);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof msg)
        vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    b->nrejects++;
    if (buf_append_str(&b->rejects, msg) != ECERT_OK ||
        buf_append_byte(&b->rejects, '\n') != ECERT_OK)
        err_clear(); /* the count stays right; only the message is dropped */
}

/* Checks the values of the string fields (present and within length). */
static bool cert_values_ok(const struct cert *c, char *why, size_t cap)
{
    struct cert_id cid;
    if (ids_cert_parse(c->id, strlen(c->id), &cid) != ECERT_OK) {
        snprintf(why, cap, "CertificateID: %s", err_detail());
        return false;
    }
    if (strcmp(c->type_code, cid.type_code) != 0) {
        snprintf(why, cap, "CertificateTypeCode: differs from the type code in CertificateID");
        return false;
    }
    size_t htl = strlen(c->holder_type_code);
    if (htl != 3 || !all_digits(c->holder_type_code, 3)) {
        snprintf(why, cap, "CertificateHolderTypeCode: expected 3 digits (111, 001, ...)");
        return false;
    }
    if (ids_holder_check(c->holder_type_code, htl, c->holder_code, strlen(c->holder_code)) !=
        ECERT_OK) {
        snprintf(why, cap, "CertificateHolderCode: %s", err_detail());
        return false;
    }
    if (ids_uscc_check(c->issuer_code, strlen(c->issuer_code)) != ECERT_OK) {
        snprintf(why, cap, "CertificateIssuingAuthorityCode: %s", err_detail());
        return false;
    }
    if (strcmp(c->issuer_code, cid.issuer) != 0) {
        snprintf(why, cap, "CertificateIssuingAuthorityCode: differs from the issuer in "
                           "CertificateID");
        return false;
    }
    const struct {
        const char *name, *v;
        bool empty_ok;
    } dates[] = {{"CertificateIssuedDate", c->issued_date, false},
                 {"CertificateValidFrom", c->valid_from, false},
                 {"CertificateValidTo", c->valid_to, true}};
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        if (dates[i].empty_ok && !dates[i].v[0])
            continue;
        if (!is_date(dates[i].v)) {
            snprintf(why, cap, "%s: expected a date YYYY-MM-DD%s", dates[i].name,
                     dates[i].empty_ok ? " (or \"\" for long-term)" : "");
            return false;
        }
    }
    if (c->valid_to[0] && strcmp(c->valid_to, c->valid_from) < 0) {
        snprintf(why, cap, "CertificateValidTo: before CertificateValidFrom");
        return false;
    }
    if (!is_cert_status(c->status)) {
        snprintf(why, cap, "CertificateStatus: expected valid, revoked, expired or suspended");
        return false;
    }
    if (strlen(c->area_code) != IDS_REGION_LEN || !all_digits(c->area_code, IDS_REGION_LEN)) {
        snprintf(why, cap, "CertificateAreaCode: expected 6 digits");
        return false;
    }
    if (strcmp(c->file_format, "OFD") != 0 && strcmp(c->file_format, "PDF") != 0) {
        snprintf(why, cap, "fileFormat: expected OFD or PDF");
        return false;
    }
    if (!is_file_name(c->file_name)) {
        snprintf(why, cap, "fileName: a file name without '/', '\\' or control characters");
        return false;
    }
    return true;
}

/* One line's members as cert_line needs them, read either by the flatjson
 * shortcut or by jansson (line_view_*); cert_line judges them the same way
 * whichever filled them. */
enum vkind { V_ABSENT, V_STRING, V_OBJECT, V_OTHER };

struct vval {
    enum vkind kind;
    const char *s; /* V_STRING: the value, NUL-terminated unless raw */
    size_t len;
};

/* The members cert_line reads: the string fields, then these. */
enum { VX_SURFACE = CERT_NFIELDS, VX_FE, VX_FP, VX_FS, VX_N };
static const char *const vx_names[VX_N - CERT_NFIELDS] = {"SurfaceData", "fileEntity",
                                                          "filePath", "fileSM3"};

struct line_view {
    bool is_object;
    struct vval v[VX_N];
    /* SurfaceData when it is an object: its jansson value, or its text
     * within the line (flatjson), to be written compactly */
    const json_t *surface_json;
    const char *surface_text;
    size_t surface_len;
};

static const char *vx_name(size_t i)
{
    return i < CERT_NFIELDS ? cert_fields[i].name : vx_names[i - CERT_NFIELDS];
}

/* From jansson's object (or non-object); fe_raw: the fileEntity value cut
 * out of the text (find_file_entity), which then replaces the empty one. */
static void line_view_json(const json_t *o, const char *fe_raw, size_t fe_raw_len,
                           struct line_view *lv)
{
    memset(lv, 0, sizeof *lv);
    lv->is_object = json_is_object(o);
    if (!lv->is_object)
        return;
    for (size_t i = 0; i < VX_N; i++) {
        const json_t *j = json_object_get(o, vx_name(i));
        struct vval *v = &lv->v[i];
        if (!j) {
            v->kind = V_ABSENT;
        } else if (json_is_string(j)) {
            v->kind = V_STRING;
            v->s = json_string_value(j);
            v->len = json_string_length(j);
        } else {
            v->kind = json_is_object(j) ? V_OBJECT : V_OTHER;
        }
        if (i == VX_SURFACE && v->kind == V_OBJECT)
            lv->surface_json = j;
    }
    if (fe_raw && lv->v[VX_FE].kind == V_STRING) {
        lv->v[VX_FE].s = fe_raw;
        lv->v[VX_FE].len = fe_raw_len;
    }
}

/* From flatjson's members of `text`, whose string values are then
 * NUL-terminated in place (each over its closing quote: the text is not
 * parsed again). */
static void line_view_flat(char *text, const struct flatjson_member *m, size_t k,
                           struct line_view *lv)
{
    memset(lv, 0, sizeof *lv);
    lv->is_object = true;
    for (size_t j = 0; j < k; j++) {
        for (size_t i = 0; i < VX_N; i++) {
            const char *name = vx_name(i);
            if (strlen(name) != m[j].klen || memcmp(name, m[j].key, m[j].klen) != 0)
                continue;
            struct vval *v = &lv->v[i];
            if (m[j].object) {
                v->kind = V_OBJECT;
                if (i == VX_SURFACE) {
                    lv->surface_text = m[j].val;
                    lv->surface_len = m[j].vlen;
                }
            } else {
                v->kind = V_STRING;
                v->s = m[j].val;
                v->len = m[j].vlen;
            }
            break;
        }
    }
    for (size_t j = 0; j < k; j++)
        if (!m[j].object)
            text[m[j].val + m[j].vlen - text] = 0;
}

/* v as a string of at most max bytes (empty only when allowed). On failure
 * writes the reason into why. */
static bool view_str(const struct line_view *lv, size_t i, size_t max, bool allow_empty,
                     const char **out, char *why, size_t cap)
{
    const struct vval *v = &lv->v[i];
    const char *name = vx_name(i);
    if (v->kind == V_ABSENT) {
        snprintf(why, cap, "%s: missing", name);
        return false;
    }
    if (v->kind != V_STRING) {
        snprintf(why, cap, "%s: must be a string", name);
        return false;
    }
    if (v->len > max) {
        snprintf(why, cap, "%s: %zu bytes, limit %zu", name, v->len, max);
        return false;
    }
    if (v->len == 0 && !allow_empty) {
        snprintf(why, cap, "%s: empty", name);
        return false;
    }
    *out = v->s;
    return true;
}

/* The file's bytes into the arena: fileEntity decoded, or filePath read
 * (relative to the JSONL file's directory). */
static bool cert_file_load(struct batch *b, const char *dir, const struct vval *fe,
                           const struct vval *fp, struct cert *c, char *why, size_t cap)
{
    if (fe->kind != V_ABSENT) {
        size_t max = BASE64_DECODED_MAX(fe->len);
        uint8_t *out = arena_alloc(&b->arena, max ? max : 1);
        size_t n = 0;
        if (!out) {
            snprintf(why, cap, "fileEntity: %s", err_detail());
            return false;
        }
        if (base64_decode(fe->s, fe->len, out, max, &n, BASE64_SKIP_WS) != ECERT_OK) {
            snprintf(why, cap, "fileEntity: %s", err_detail());
            return false;
        }
        c->file = out;
        c->file_len = n;
    } else {
        const char *rel = fp->s;
        char path[PATH_BYTES];
        int n = rel[0] == '/' ? snprintf(path, sizeof path, "%s", rel)
                              : snprintf(path, sizeof path, "%s/%s", dir, rel);
        if (n < 0 || (size_t)n >= sizeof path) {
            snprintf(why, cap, "filePath: path too long");
            return false;
        }
        struct buf in;
        if (cli_read_input(path, CLI_MAX_INPUT, &in) != ECERT_OK) {
            snprintf(why, cap, "filePath: %s", err_detail());
            return false;
        }
        uint8_t *copy = arena_alloc(&b->arena, in.len ? in.len : 1);
        if (copy && in.len)
            memcpy(copy, in.data, in.len);
        c->file = copy;
        c->file_len = in.len;
        buf_release(&in);
        if (!copy) {
            snprintf(why, cap, "filePath: %s", err_detail());
            return false;
        }
    }
    if (c->file_len == 0) {
        snprintf(why, cap, "%s: the file is empty",
                 fe->kind != V_ABSENT ? "fileEntity" : "filePath");
        return false;
    }
    return true;
}

/* SurfaceData written compactly into the arena, or NULL (why says why). */
static char *surface_compact(struct batch *b, const struct line_view *lv, char *why, size_t cap)
{
    char *out;
    size_t slen;
    if (lv->surface_text) {
        /* at most its text's length: the compact form only drops spaces */
        out = arena_alloc(&b->arena, lv->surface_len + 1);
        if (!out) {
            snprintf(why, cap, "%s", err_detail());
            return NULL;
        }
        slen = flatjson_compact(lv->surface_text, lv->surface_len, out);
    } else {
        char *dump = json_dumps(lv->surface_json, JSON_COMPACT);
        if (!dump) {
            snprintf(why, cap, "SurfaceData: cannot be serialised");
            return NULL;
        }
        slen = strlen(dump);
        out = slen > SURFACE_MAX ? NULL : arena_strndup(&b->arena, dump, slen);
        free(dump);
        if (!out && slen <= SURFACE_MAX) {
            snprintf(why, cap, "%s", err_detail());
            return NULL;
        }
    }
    if (slen > SURFACE_MAX) {
        snprintf(why, cap, "SurfaceData: %zu bytes, limit %u", slen, SURFACE_MAX);
        return NULL;
    }
    return out;
}

/* Validates one line's members; a good line joins the batch (its strings
 * copied into the batch arena), a bad one is reported. */
static void cert_line(struct batch *b, const char *dir, unsigned long line,
                      const struct line_view *lv)
{
    char why[400];
    struct cert c;
    memset(&c, 0, sizeof c);
    if (!lv->is_object) {
        batch_reject(b, line, "not a JSON object");
        return;
    }
    for (size_t i = 0; i < CERT_NFIELDS; i++)
        if (!view_str(lv, i, cert_fields[i].max, cert_fields[i].allow_empty, cert_slot(&c, i),
                      why, sizeof why)) {
            batch_reject(b, line, "%s", why);
            return;
        }
    if (!cert_values_ok(&c, why, sizeof why)) {
        batch_reject(b, line, "%s", why);
        return;
    }
    const struct vval *sd = &lv->v[VX_SURFACE];
    if (sd->kind != V_OBJECT) {
        batch_reject(b, line, "SurfaceData: %s",
                     sd->kind != V_ABSENT ? "must be a JSON object" : "missing");
        return;
    }
    const struct vval *fe = &lv->v[VX_FE], *fp = &lv->v[VX_FP], *fs = &lv->v[VX_FS];
    if (fe->kind != V_ABSENT && fp->kind != V_ABSENT) {
        batch_reject(b, line, "give fileEntity or filePath, not both");
        return;
    }
    if (fe->kind == V_ABSENT && fp->kind == V_ABSENT) {
        batch_reject(b, line, "fileEntity or filePath: missing");
        return;
    }
    const struct vval *fv = fe->kind != V_ABSENT ? fe : fp;
    if (fv->kind != V_STRING || fv->len == 0) {
        batch_reject(b, line, "%s: must be a non-empty string",
                     fe->kind != V_ABSENT ? "fileEntity" : "filePath");
        return;
    }
    if (fp->kind != V_ABSENT && fp->len >= PATH_BYTES) {
        batch_reject(b, line, "filePath: path too long");
        return;
    }
    if (fs->kind != V_ABSENT &&
        (fs->kind != V_STRING || fs->len != 2 * SM3_LEN || !is_hex(fs->s, 2 * SM3_LEN))) {
        batch_reject(b, line, "fileSM3: expected 64 hex digits");
        return;
    }

    /* Everything is well formed: copy into the batch arena. */
    for (size_t i = 0; i < CERT_NFIELDS; i++) {
        const char **slot = cert_slot(&c, i);
        if (!(*slot = arena_strdup(&b->arena, *slot))) {
            batch_reject(b, line, "%s", err_detail());
            return;
        }
    }
    if (!(c.surface_json = surface_compact(b, lv, why, sizeof why))) {
        batch_reject(b, line, "%s", why);
        return;
    }
    if (!cert_file_load(b, dir, fe, fp, &c, why, sizeof why)) {
        batch_reject(b, line, "%s", why);
        return;
    }
    uint8_t md[SM3_LEN];
    char hex[2 * SM3_LEN + 1];
    if (sm3_digest(c.file, c.file_len, md) != ECERT_OK) {
        batch_reject(b, line, "fileSM3: %s", err_detail());
        return;
    }
    hex_encode(md, sizeof md, hex);
    if (fs->kind != V_ABSENT && strcasecmp(hex, fs->s) != 0) {
        batch_reject(b, line, "fileSM3: does not match the file");
        return;
    }
    if (!(c.file_sm3 = arena_strdup(&b->arena, hex))) {
        batch_reject(b, line, "%s", err_detail());
        return;
    }
    b->certs[b->n] = c;
    b->cert_lines[b->n] = line;
    b->n++;
}

/* Stores a parsed batch in one transaction; when that fails, each
 * certificate on its own, so one row the database refuses does not cost the
 * others. The batch's rejections are printed first (their lines come
 * before or among its stored ones). Returns false when the database itself
 * fails (the import stops). */
static bool batch_write(struct cert_import *im, struct batch *b)
{
    if (b->nrejects) {
        progress_clear(im);
        fwrite(b->rejects.data, 1, b->rejects.len, stderr);
        im->rejected += b->nrejects;
    }
    bool ok = true;
    if (b->n) {
        size_t failed = 0;
        ecert_status st = store_cert_put_batch(im->s, b->certs, b->n, &failed);
        if (!st) {
            im->imported += b->n;
        } else {
            for (size_t i = 0; i < b->n; i++) {
                st = store_cert_put(im->s, &b->certs[i]);
                if (!st) {
                    im->imported++;
                } else if (store_failed_hard(st)) {
                    progress_clear(im);
                    cli_fail("cert import", st);
                    ok = false;
                    break;
                } else {
                    reject_now(im, b->cert_lines[i], "%s", err_detail());
                }
            }
        }
    }
    progress(im, true);
    return ok;
}

/* Streams lines of at most LINE_MAX_BYTES; longer ones are skipped whole. */
struct line_reader {
    FILE *f;
    size_t pos, len;
    bool eof;
    uint64_t consumed;
    struct buf line;
    char chunk[65536];
};

/* 1: a line in r->line (without its '\n'); 0: end of input; -1: read error.
 * *too_long: the line was longer than the cap and its bytes were dropped. */
static int line_next(struct line_reader *r, bool *too_long)
{
    buf_reset(&r->line);
    *too_long = false;
    bool any = false;
    for (;;) {
        if (r->pos == r->len) {
            if (r->eof)
                return any ? 1 : 0;
            r->pos = 0;
            r->len = fread(r->chunk, 1, sizeof r->chunk, r->f);
            if (r->len == 0) {
                if (ferror(r->f))
                    return -1;
                r->eof = true;
                continue;
            }
            r->consumed += r->len;
        }
        any = true;
        const char *start = r->chunk + r->pos;
        size_t avail = r->len - r->pos;
        const char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        if (!*too_long && buf_append(&r->line, start, take) != ECERT_OK) {
            *too_long = true;
            buf_release(&r->line); /* give the memory back while skipping */
        }
        r->pos += take + (nl ? 1 : 0);
        if (nl)
            return 1;
    }
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* ---- the pipeline ---------------------------------------------------------- */

static void batch_release(struct batch *b)
{
    buf_release(&b->text);
    buf_release(&b->cut);
    buf_release(&b->rejects);
    arena_release(&b->arena);
    free(b->off);
    free(b->len);
    free(b->lineno);
    free(b->too_long);
    free(b->certs);
    free(b->cert_lines);
}

static bool batch_init(struct batch *b, size_t batch_max)
{
    memset(b, 0, sizeof *b);
    buf_init(&b->text, BATCH_TEXT_MAX);
    buf_init(&b->cut, LINE_MAX_BYTES);
    buf_init(&b->rejects, BATCH_REJECTS_MAX);
    arena_init(&b->arena, BATCH_ARENA_MAX);
    b->off = calloc(batch_max, sizeof *b->off);
    b->len = calloc(batch_max, sizeof *b->len);
    b->lineno = calloc(batch_max, sizeof *b->lineno);
    b->too_long = calloc(batch_max, sizeof *b->too_long);
    b->certs = calloc(batch_max, sizeof *b->certs);
    b->cert_lines = calloc(batch_max, sizeof *b->cert_lines);
    return b->off && b->len && b->lineno && b->too_long && b->certs && b->cert_lines;
}

/* Forgets a batch's parse results (before a batch is parsed, or parsed on
 * from where it stopped). */
static void batch_clear_results(struct batch *b)
{
    b->n = 0;
    b->nrejects = 0;
    b->parsed = false;
    buf_reset(&b->rejects);
    arena_release(&b->arena);
    arena_init(&b->arena, BATCH_ARENA_MAX);
}

/* The span of the top-level "fileEntity" string value in a raw line, when
 * it is plain printable ASCII without escapes (base64 always is). Jansson
 * scans strings a character at a time: a file's base64 is most of a line and
 * was most of an import's time. So the line is parsed with that value cut out
 * and the value is decoded straight from the line. This is only a hint: the
 * cut line must still parse, and hold an empty fileEntity at the top level
 * (the one cut), or else the line is parsed whole as written; every line
 * therefore gets the same verdict either way. */
static bool find_file_entity(const char *s, size_t n, size_t *vstart, size_t *vend)
{
    static const char key[] = "\"fileEntity\"";
    const size_t klen = sizeof key - 1;
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == '"') {
            if (depth == 1 && n - i > klen && memcmp(s + i, key, klen) == 0) {
                size_t j = i + klen;
                while (j < n && (s[j] == ' ' || s[j] == '\t'))
                    j++;
                if (j < n && s[j] == ':') { /* the key, not a value */
                    for (j++; j < n && (s[j] == ' ' || s[j] == '\t'); j++)
                        ;
                    if (j >= n || s[j] != '"')
                        return false;
                    size_t k = j + 1;
                    for (; k < n && s[k] != '"'; k++)
                        if (s[k] == '\\' || (unsigned char)s[k] < 0x20 ||
                            (unsigned char)s[k] > 0x7e)
                            return false;
                    if (k >= n || k == j + 1)
                        return false;
                    *vstart = j + 1;
                    *vend = k;
                    return true;
                }
            }
            in_str = true;
        }
    }
    return false;
}

/* Parses one line: with its file's base64 cut out when find_file_entity
 * finds it (b->fe_raw then points at it), else as written. */
static json_t *line_parse(struct batch *b, const char *text, size_t len, json_error_t *jerr)
{
    size_t vs, ve;
    b->fe_raw = NULL;
    b->fe_raw_len = 0;
    if (find_file_entity(text, len, &vs, &ve)) {
        buf_reset(&b->cut);
        json_t *o = NULL;
        if (buf_append(&b->cut, text, vs) == ECERT_OK &&
            buf_append(&b->cut, text + ve, len - ve) == ECERT_OK)
            o = json_loadb((const char *)b->cut.data, b->cut.len, JSON_REJECT_DUPLICATES, jerr);
        const json_t *fe = json_object_get(o, "fileEntity");
        if (json_is_string(fe) && json_string_length(fe) == 0) {
            b->fe_raw = text + vs;
            b->fe_raw_len = ve - vs;
            return o;
        }
        json_decref(o);
    }
    return json_loadb(text, len, JSON_REJECT_DUPLICATES, jerr);
}

/* Worker side: parses lines from b->start until the end, or until the
 * decoded data reaches BATCH_FLUSH_BYTES (b->stop says where to go on). */
static void batch_parse(const char *dir, struct batch *b)
{
    struct flatjson_member members[FLAT_MEMBERS];
    size_t i;
    for (i = b->start; i < b->nlines; i++) {
        if (b->arena.used >= BATCH_FLUSH_BYTES)
            break;
        if (b->too_long[i]) {
            batch_reject(b, b->lineno[i], "longer than %u bytes", (unsigned)LINE_MAX_BYTES);
            continue;
        }
        char *text = (char *)b->text.data + b->off[i];
        struct line_view lv;
        /* The shortcut first (nearly every line); anything outside its
         * subset goes to jansson, and either way cert_line decides. */
        int k = flatjson_parse(text, b->len[i], members, FLAT_MEMBERS);
        if (k >= 0) {
            line_view_flat(text, members, (size_t)k, &lv);
            cert_line(b, dir, b->lineno[i], &lv);
            continue;
        }
        json_error_t jerr;
        json_t *o = line_parse(b, text, b->len[i], &jerr);
        if (!o) {
            batch_reject(b, b->lineno[i], "invalid JSON at column %d: %s", jerr.column,
                         jerr.text);
        } else {
            line_view_json(o, b->fe_raw, b->fe_raw_len, &lv);
            cert_line(b, dir, b->lineno[i], &lv);
            json_decref(o);
        }
    }
    b->stop = i;
}

static void *worker_main(void *arg)
{
    struct cert_import *im = arg;
    pthread_mutex_lock(&im->mu);
    for (;;) {
        while (!im->quit && im->qlen == 0)
            pthread_cond_wait(&im->work_cv, &im->mu);
        if (im->quit)
            break;
        struct batch *b = &im->slots[im->queue[im->qhead]];
        im->qhead = (im->qhead + 1) % im->nslots;
        im->qlen--;
        pthread_mutex_unlock(&im->mu);
        batch_parse(im->dir, b);
        pthread_mutex_lock(&im->mu);
        b->parsed = true;
        pthread_cond_broadcast(&im->done_cv);
    }
    pthread_mutex_unlock(&im->mu);
    return NULL;
}

static void submit(struct cert_import *im, size_t slot)
{
    batch_clear_results(&im->slots[slot]);
    pthread_mutex_lock(&im->mu);
    im->queue[(im->qhead + im->qlen) % im->nslots] = slot;
    im->qlen++;
    pthread_cond_signal(&im->work_cv);
    pthread_mutex_unlock(&im->mu);
}

static void wait_parsed(struct cert_import *im, struct batch *b)
{
    pthread_mutex_lock(&im->mu);
    while (!b->parsed)
        pthread_cond_wait(&im->done_cv, &im->mu);
    pthread_mutex_unlock(&im->mu);
}

/* Main side: reads lines into an empty batch until it holds batch_max
 * lines or BATCH_FLUSH_BYTES of text. 1: more may follow; 0: end of input;
 * -1: read error. Blank lines are counted and skipped here. */
static int batch_fill(struct cert_import *im, struct line_reader *r, struct batch *b)
{
    b->nlines = 0;
    b->start = 0;
    buf_reset(&b->text);
    while (b->nlines < im->batch_max && b->text.len < BATCH_FLUSH_BYTES) {
        bool too_long;
        int got = line_next(r, &too_long);
        if (got <= 0)
            return got;
        unsigned long line = ++im->lineno;
        im->done_bytes = r->consumed;
        size_t k = b->nlines;
        b->lineno[k] = line;
        b->too_long[k] = too_long;
        b->off[k] = b->text.len;
        b->len[k] = 0;
        if (!too_long) {
            char *text = (char *)r->line.data;
            size_t len = r->line.len;
            if (len && text[len - 1] == '\r')
                len--;
            if (!text || blank(text, len))
                continue;
            /* text.max leaves room for one maximal line past the threshold */
            if (buf_append(&b->text, text, len) != ECERT_OK ||
                buf_append_byte(&b->text, 0) != ECERT_OK)
                return -1;
            b->len[k] = len;
        }
        b->nlines++;
        progress(im, false);
    }
    return 1;
}

static void pipeline_stop(struct cert_import *im)
{
    pthread_mutex_lock(&im->mu);
    im->quit = true;
    pthread_cond_broadcast(&im->work_cv);
    pthread_mutex_unlock(&im->mu);
    for (size_t i = 0; i < im->nworkers; i++)
        pthread_join(im->workers[i], NULL);
    im->nworkers = 0;
}

/* Reads, parses (workers) and stores (here, in order) every line; returns
 * the exit status. Up to nslots batches are in flight: filled and queued,
 * or being parsed, or waiting to be stored. */
static int cert_import_stream(struct cert_import *im, struct line_reader *r, const char *name)
{
    size_t next_fill = 0, next_write = 0, inflight = 0;
    int got = 1;
    for (;;) {
        while (got == 1 && inflight < im->nslots) {
            struct batch *b = &im->slots[next_fill % im->nslots];
            got = batch_fill(im, r, b);
            if (got < 0)
                break;
            if (b->nlines == 0)
                continue; /* nothing read: end of input (got 0), or all blank */
            submit(im, next_fill % im->nslots);
            next_fill++;
            inflight++;
        }
        if (got < 0) {
            progress_clear(im);
            cli_usage_error("cert import: read error on %s: %s", name,
                            errno ? strerror(errno) : "line buffer");
            return EXIT_USAGE;
        }
        if (inflight == 0)
            return EXIT_OK;
        size_t slot = next_write % im->nslots;
        struct batch *b = &im->slots[slot];
        wait_parsed(im, b);
        if (!batch_write(im, b))
            return EXIT_USAGE;
        if (b->stop < b->nlines) {
            /* the decoded data filled the batch: store what was parsed, then
             * parse on from there before any later batch is stored */
            b->start = b->stop;
            submit(im, slot);
            continue;
        }
        next_write++;
        inflight--;
    }
}

/* Online processors, for --jobs' default. */
static size_t processors(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > JOBS_MAX ? JOBS_MAX : (size_t)n;
}

static int cert_import(int argc, char **argv)
{
    struct import_args args;
    int rc;
    if (!parse_args(argc, argv, "cert import", true, true, cert_usage, &args, &rc))
        return rc;
    size_t batch = BATCH_DEFAULT, jobs = processors();
    if (args.batch) {
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(args.batch, &end, 10);
        if (errno || end == args.batch || *end || args.batch[0] == '-' || v < 1 ||
            v > BATCH_MAX)
            return cli_usage_error("cert import: --batch must be 1 to %d", BATCH_MAX);
        batch = v;
    }
    if (args.jobs) {
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(args.jobs, &end, 10);
        if (errno || end == args.jobs || *end || args.jobs[0] == '-' || v < 1 || v > JOBS_MAX)
            return cli_usage_error("cert import: --jobs must be 1 to %d", JOBS_MAX);
        jobs = v;
    }
    bool from_stdin = strcmp(args.file, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(args.file, "rb");
    if (!f)
        return cli_usage_error("cert import: cannot open %s: %s", args.file, strerror(errno));

    struct cert_import *im = calloc(1, sizeof *im);
    struct line_reader *r = calloc(1, sizeof *r);
    bool ok = im && r;
    if (ok) {
        im->batch_max = batch;
        im->nslots = 2 * jobs + 2;
        im->slots = calloc(im->nslots, sizeof *im->slots);
        im->queue = calloc(im->nslots, sizeof *im->queue);
        im->workers = calloc(jobs, sizeof *im->workers);
        ok = im->slots && im->queue && im->workers;
    }
    size_t ready = 0;
    while (ok && ready < im->nslots) {
        ok = batch_init(&im->slots[ready], batch);
        ready++; /* released below even when half made */
    }
    if (ok) {
        pthread_mutex_init(&im->mu, NULL);
        pthread_cond_init(&im->work_cv, NULL);
        pthread_cond_init(&im->done_cv, NULL);
    }
    /* filePath is relative to the JSONL file (to the working directory for
     * stdin); "./" keeps a path such as "-" from meaning stdin. */
    const char *slash = from_stdin ? NULL : strrchr(args.file, '/');
    if (ok && slash)
        snprintf(im->dir, sizeof im->dir, "%.*s", (int)(slash - args.file), args.file);
    else if (ok)
        snprintf(im->dir, sizeof im->dir, ".");
    if (ok && slash == args.file)
        snprintf(im->dir, sizeof im->dir, "/");
    rc = ok ? EXIT_OK : cli_usage_error("cert import: out of memory");
    if (!rc) {
        im->tty = isatty(STDERR_FILENO) == 1;
        struct stat sb;
        if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode))
            im->total_bytes = (uint64_t)sb.st_size;
        r->f = f;
        buf_init(&r->line, LINE_MAX_BYTES);
        rc = cli_store_open("cert import", args.config, args.db, &im->s);
    }
    if (!rc) {
        for (size_t i = 0; i < jobs && !rc; i++) {
            if (pthread_create(&im->workers[i], NULL, worker_main, im) != 0)
                rc = cli_usage_error("cert import: cannot start a thread");
            else
                im->nworkers++;
        }
        if (!rc)
            rc = cert_import_stream(im, r, from_stdin ? "stdin" : args.file);
        pipeline_stop(im);
        progress_clear(im);
        printf("imported %" PRIu64 ", rejected %" PRIu64 "\n", im->imported, im->rejected);
        if (!rc && im->rejected)
            rc = EXIT_NEGATIVE;
        store_close(im->s);
    }
    if (ok) {
        pthread_mutex_destroy(&im->mu);
        pthread_cond_destroy(&im->work_cv);
        pthread_cond_destroy(&im->done_cv);
    }
    if (r)
        buf_release(&r->line);
    if (!from_stdin)
        fclose(f);
    if (im) {
        for (size_t i = 0; i < ready; i++)
            batch_release(&im->slots[i]);
        free(im->slots);
        free(im->queue);
        free(im->workers);
    }
    free(im);
    free(r);
    return rc;
}

int cmd_cert(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("cert: missing subcommand (try ecert cert --help)");
    if (cli_is_help(argv[1])) {
        cert_usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "import") == 0)
        return cert_import(argc, argv);
    return cli_usage_error("cert: unknown subcommand '%s' (try ecert cert --help)", argv[1]);
}

/* ---- ecert records verify ------------------------------------------------ */

static void records_usage(FILE *f)
{
    fputs("usage: ecert records verify (--config FILE | --db PATH)\n"
          "\n"
          "Walks the whole usage-record chain (SPEC §6) and recomputes every\n"
          "hash = SM3(prev || canonical record). Intact: prints \"N records, chain\n"
          "intact\". Broken: prints \"chain broken at seq S\" on stdout and the reason\n"
          "on stderr. (The record format is in docs/store.md.)\n"
          "\n" CLI_STORE_OPTIONS_HELP "\n"
          "exit status: 0 intact, 1 broken, 2 usage error or database failure\n",
          f);
}

static int records_verify(int argc, char **argv)
{
    struct import_args args;
    int rc;
    if (!parse_args(argc, argv, "records verify", false, false, records_usage, &args, &rc))
        return rc;
    struct store *s = NULL;
    rc = cli_store_open("records verify", args.config, args.db, &s);
    if (rc)
        return rc;
    uint64_t count = 0;
    int64_t bad = 0;
    ecert_status st = store_record_verify(s, &count, &bad);
    store_close(s);
    if (st == ECERT_E_SIGNATURE) {
        printf("chain broken at seq %" PRId64 " (%" PRIu64 " records intact before it)\n", bad,
               count);
        fprintf(stderr, "ecert: records verify: %s\n", err_detail());
        return EXIT_NEGATIVE;
    }
    if (st)
        return cli_fail("records verify", st);
    printf("%" PRIu64 " records, chain intact\n", count);
    return EXIT_OK;
}

int cmd_records(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("records: missing subcommand (try ecert records --help)");
    if (cli_is_help(argv[1])) {
        records_usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "verify") == 0)
        return records_verify(argc, argv);
    return cli_usage_error("records: unknown subcommand '%s' (try ecert records --help)",
                           argv[1]);
}
