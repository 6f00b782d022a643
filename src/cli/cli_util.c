#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

ecert_status cli_read_input(const char *path, size_t max, struct buf *out)
{
    FILE *f = stdin;
    if (path && strcmp(path, "-") != 0) {
        f = fopen(path, "rb");
        if (!f)
            return err_set(ECERT_E_IO, "cannot open %s: %s", path, strerror(errno));
    }
    buf_init(out, max);
    ecert_status st = ECERT_OK;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        st = buf_append(out, chunk, n);
        if (st) {
            st = err_set(ECERT_E_TOO_LONG, "input exceeds the limit of %zu bytes", max);
            break;
        }
    }
    if (!st && ferror(f))
        st = err_set(ECERT_E_IO, "read error on %s", path ? path : "stdin");
    if (f != stdin)
        fclose(f);
    if (!st && !out->data)
        st = buf_reserve(out, 0); /* empty input: still a valid, NUL-terminated buffer */
    if (st)
        buf_release(out);
    return st;
}

int cli_fail(const char *what, ecert_status st)
{
    const char *d = err_detail();
    /* Local conditions (>= 9000) have no wire code of their own worth showing. */
    if ((int)st >= 9000)
        fprintf(stderr, "ecert: %s: %s (%s)\n", what, d[0] ? d : ecert_strerror(st),
                ecert_status_name(st));
    else
        fprintf(stderr, "ecert: %s: %s (%d %s)\n", what, d[0] ? d : ecert_strerror(st),
                ecert_status_wire(st), ecert_status_name(st));
    return EXIT_USAGE;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("ecert: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

bool cli_is_help(const char *arg)
{
    return arg && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0);
}

int cli_parse_opts(int argc, char **argv, int first, struct cli_opt *opts, size_t nopts)
{
    int i = first;
    while (i < argc) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return i + 1;
        if (a[0] != '-' || a[1] != '-' || a[2] == 0) {
            if (a[0] == '-' && a[1] != 0) {
                cli_usage_error("unknown option '%s' (try --help)", a);
                return -1;
            }
            return i;
        }
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        struct cli_opt *o = NULL;
        for (size_t k = 0; k < nopts; k++)
            if (strlen(opts[k].name) == nl && strncmp(opts[k].name, a, nl) == 0)
                o = &opts[k];
        if (!o) {
            cli_usage_error("unknown option '%.*s' (try --help)", (int)nl, a);
            return -1;
        }
        if (o->value) {
            cli_usage_error("option %s given twice", o->name);
            return -1;
        }
        if (o->has_value) {
            if (eq) {
                o->value = eq + 1;
            } else {
                if (i + 1 >= argc) {
                    cli_usage_error("option %s needs a value", o->name);
                    return -1;
                }
                o->value = argv[++i];
            }
        } else {
            if (eq) {
                cli_usage_error("option %s takes no value", o->name);
                return -1;
            }
            o->value = "1";
        }
        i++;
    }
    return i;
}

const char *cli_opt(const struct cli_opt *opts, size_t nopts, const char *name)
{
    for (size_t k = 0; k < nopts; k++)
        if (strcmp(opts[k].name, name) == 0)
            return opts[k].value;
    return NULL;
}
