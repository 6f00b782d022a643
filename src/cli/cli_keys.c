/*
 * cli_keys.c — reading SM2 keys given on the command line: the key text itself
 * (hex or PEM) or "@PATH", a file holding hex, PEM or the JSON printed by
 * `ecert sm2 keygen` ("@-" = stdin). Shared by every command that takes
 * --key/--pub.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/secure.h"
#include "crypto/sm2.h"

/* A key file is a few hundred bytes (PEM); anything far larger is a mistake. */
#define KEY_FILE_MAX (64u << 10)

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void cli_trim(const uint8_t **p, size_t *n)
{
    while (*n && is_space((*p)[0])) {
        (*p)++;
        (*n)--;
    }
    while (*n && is_space((*p)[*n - 1]))
        (*n)--;
}

/* jansson copies the strings it parses, and a keygen JSON file holds a
 * private key: these allocators remember each block's size so that jansson's
 * copies are wiped when freed, as our own buffers are. */
#define JSON_HDR alignof(max_align_t)
_Static_assert(JSON_HDR >= sizeof(size_t), "the size header must fit before the block");

static void *wiping_malloc(size_t n)
{
    if (n > SIZE_MAX - JSON_HDR)
        return NULL;
    unsigned char *p = malloc(n + JSON_HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    return p + JSON_HDR;
}

static void wiping_free(void *q)
{
    if (!q)
        return;
    unsigned char *p = (unsigned char *)q - JSON_HDR;
    size_t n;
    memcpy(&n, p, sizeof n);
    secure_wipe(p, n + JSON_HDR);
    free(p);
}

/* Replaces the JSON object in `text` by the string value of `field`. */
static ecert_status key_from_json(struct buf *text, const char *field)
{
    json_malloc_t old_malloc;
    json_free_t old_free;
    json_get_alloc_funcs(&old_malloc, &old_free);
    json_set_alloc_funcs(wiping_malloc, wiping_free);

    ecert_status st = ECERT_OK;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)text->data, text->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        /* jerr.text may quote the input: report only the position. */
        st = err_set(ECERT_E_MALFORMED, "key file: invalid JSON at line %d column %d", jerr.line,
                     jerr.column);
    } else {
        const char *v = json_string_value(json_object_get(root, field));
        if (!v) {
            st = err_set(ECERT_E_MALFORMED, "key file: no \"%s\" string in the JSON object", field);
        } else {
            struct buf val;
            buf_init(&val, KEY_FILE_MAX);
            st = buf_append_str(&val, v);
            if (!st) {
                buf_release_secret(text);
                *text = val;
            } else {
                buf_release_secret(&val);
            }
        }
        json_decref(root);
    }
    json_set_alloc_funcs(old_malloc, old_free);
    return st;
}

/* Loads the text of a --key/--pub value into `text` (a secret buffer):
 * either the argument itself or, for "@PATH", the file's contents. */
static ecert_status key_text(const char *value, bool private_key, struct buf *text,
                             bool *from_stdin)
{
    buf_init(text, KEY_FILE_MAX);
    if (value[0] != '@')
        return buf_append_str(text, value);

    const char *path = value + 1;
    if (!path[0])
        return err_set(ECERT_E_MALFORMED, "'@' needs a file name (@PATH, or @- for stdin)");
    if (strcmp(path, "-") == 0)
        *from_stdin = true;
    ecert_status st = cli_read_input(path, KEY_FILE_MAX, text);
    if (st)
        return st;
    const uint8_t *p = text->data;
    size_t n = text->len;
    cli_trim(&p, &n);
    if (n == 0) {
        buf_release_secret(text);
        return err_set(ECERT_E_MALFORMED, "key file %s is empty", path);
    }
    if (p[0] == '{') {
        st = key_from_json(text, private_key ? "privateKey" : "publicKey");
        if (st)
            buf_release_secret(text);
    }
    return st;
}

/* Parses a --key (private) or --pub (public) value. Returns EXIT_OK, or
 * EXIT_USAGE after printing "ecert: --key: <reason>". */
int cli_load_key(const char *opt, char *value, bool private_key, struct sm2_key **out,
                    bool *from_stdin)
{
    if (!value)
        return cli_usage_error("missing %s (try --help)", opt);
    err_clear();
    struct buf text;
    ecert_status st = key_text(value, private_key, &text, from_stdin);
    if (!st) {
        const uint8_t *p = text.data;
        size_t n = text.len;
        cli_trim(&p, &n);
        /* Hex must be exact, but a PEM block keeps its final newline. */
        if (n >= 5 && memcmp(p, "-----", 5) == 0)
            n = text.len - (size_t)(p - text.data);
        if (n == 0)
            st = err_set(ECERT_E_MALFORMED, "empty key");
        else if (private_key)
            st = sm2_key_parse_private((const char *)p, n, out);
        else
            st = sm2_key_parse_public((const char *)p, n, out);
        buf_release_secret(&text);
    }
    /* The copy in argv is what ps shows; clearing it shortens the window in
     * which another user can read a private key given inline. */
    if (private_key && value[0] != '@')
        secure_wipe(value, strlen(value));
    if (st)
        return cli_fail(opt, st);
    return EXIT_OK;
}

