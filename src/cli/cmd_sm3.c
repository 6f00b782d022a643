/*
 * cmd_sm3.c — `ecert sm3 [FILE]`: the SM3 (GB/T 32905) digest of a file or of
 * stdin, as lowercase hex followed by a newline (SPEC §8).
 *
 * The input is hashed as it streams in, so there is no size cap here: a
 * digest of a multi-gigabyte OFD archive costs 64 KiB of memory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/codec.h"
#include "common/error.h"
#include "crypto/sm3.h"

static void sm3_usage(FILE *f)
{
    fputs("usage: ecert sm3 [FILE]\n"
          "\n"
          "Prints the SM3 digest (GB/T 32905) of FILE, or of stdin when FILE is\n"
          "absent or '-', as 64 lowercase hex digits and a newline.\n"
          "\n"
          "exit status: 0 success, 2 usage or input error\n",
          f);
}

/* Feeds the whole stream to `h`; reports open/read failures with the path. */
static ecert_status sm3_stream(struct sm3 *h, const char *path)
{
    FILE *f = stdin;
    const char *name = "stdin";
    if (path && strcmp(path, "-") != 0) {
        f = fopen(path, "rb");
        if (!f)
            return err_set(ECERT_E_IO, "cannot open %s: %s", path, strerror(errno));
        name = path;
    }
    ecert_status st = ECERT_OK;
    static unsigned char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        st = sm3_update(h, chunk, n);
        if (st)
            break;
    }
    if (!st && ferror(f))
        st = err_set(ECERT_E_IO, "read error on %s: %s", name, strerror(errno));
    if (f != stdin)
        fclose(f);
    return st;
}

int cmd_sm3(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (cli_is_help(argv[i])) {
            sm3_usage(stdout);
            return EXIT_OK;
        }
    }
    int pos = cli_parse_opts(argc, argv, 1, NULL, 0);
    if (pos < 0)
        return EXIT_USAGE;
    if (argc - pos > 1)
        return cli_usage_error("sm3: too many arguments (one FILE at most; try --help)");
    const char *path = pos < argc ? argv[pos] : NULL;

    err_clear();
    struct sm3 *h = NULL;
    ecert_status st = sm3_new(&h);
    if (st)
        return cli_fail("sm3", st);
    st = sm3_stream(h, path);
    uint8_t md[SM3_LEN];
    if (!st)
        st = sm3_final(h, md);
    sm3_free(h);
    if (st)
        return cli_fail("sm3", st);

    char hex[2 * SM3_LEN + 1];
    hex_encode(md, sizeof md, hex);
    printf("%s\n", hex);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_usage_error("sm3: cannot write to stdout: %s", strerror(errno));
    return EXIT_OK;
}
