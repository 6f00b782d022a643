/*
 * cmd_sm2.c — `ecert sm2 keygen|encrypt|decrypt|sign|verify` (SPEC §8).
 *
 * A thin layer over crypto/sm2.h: it turns options, files and stdin into
 * calls, and every failure into one line on stderr and exit status 2
 * (SPEC §8). The only negative verdict is an invalid signature (exit 1).
 *
 * Keys: `--key`/`--pub` take the key text itself (hex or PEM, as the
 * contract says) or `@PATH`, a file holding hex, PEM or the JSON printed by
 * `ecert sm2 keygen` (`@-` = stdin). The file form is the safe one for private
 * keys: a command line is visible to every user through ps and /proc.
 */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/error.h"
#include "common/secure.h"
#include "crypto/sm2.h"

/* Signature files: base64/hex of DER or raw, possibly line-wrapped. */
#define SIG_FILE_MAX (4u << 10)
/* Largest ciphertext text for SM2_MAX_PLAINTEXT: hex is the widest form. */
#define CIPHER_TEXT_MAX (2u * (SM2_MAX_PLAINTEXT + SM2_CIPHER_OVERHEAD) + 16u)

/* ======================================================================== */
/* Usage                                                                    */

static const char usage_sm2[] =
    "usage: ecert sm2 SUBCOMMAND [OPTIONS] [FILE]\n"
    "\n"
    "SM2 (GB/T 32918) keys, public-key encryption and signatures.\n"
    "\n"
    "subcommands:\n"
    "  keygen    new key pair as JSON {\"privateKey\",\"publicKey\"}\n"
    "  encrypt   --pub KEY [--format hex|hex04|base64|der] [FILE]\n"
    "  decrypt   --key KEY [FILE]\n"
    "  sign      --key KEY [--id UID] [--raw] [FILE]\n"
    "  verify    --pub KEY --sig SIG [--id UID] [FILE]\n"
    "\n"
    "FILE absent or '-' means stdin. KEY is hex (private: 64 digits; public:\n"
    "130 digits starting 04, or 128), PEM, or @PATH to read it from a file\n"
    "(hex, PEM or the JSON of `ecert sm2 keygen`; @- = stdin). Prefer @PATH for\n"
    "private keys: command lines are visible to other users (ps).\n"
    "\n"
    "exit status: 0 success, 1 invalid signature (verify), 2 usage or input error\n"
    "(ecert sm2 SUBCOMMAND --help for details)\n";

static const char usage_keygen[] =
    "usage: ecert sm2 keygen\n"
    "\n"
    "Generates an SM2 key pair on sm2p256v1 and prints one line of JSON:\n"
    "  {\"privateKey\":\"<64 hex>\",\"publicKey\":\"04<128 hex>\"}\n"
    "The output is usable directly as a key file: --key @FILE, --pub @FILE.\n"
    "Create it with a private umask: (umask 077; ecert sm2 keygen > me.json)\n";

static const char usage_encrypt[] =
    "usage: ecert sm2 encrypt --pub KEY [--format FORMAT] [FILE]\n"
    "\n"
    "Encrypts FILE (or stdin) to the public key (GB/T 32918.4, C1||C3||C2, SM3)\n"
    "and prints the ciphertext and a newline. FORMAT (SPEC §3.3):\n"
    "  hex      lowercase hex without the leading 04 (default; sm-crypto mode 1)\n"
    "  hex04    lowercase hex with the leading 04\n"
    "  base64   base64 of 04||C1||C3||C2\n"
    "  der      base64 of the GM/T 0009 SM2Cipher DER\n"
    "\n"
    "options:\n"
    "  --pub KEY      130/128 hex digits, PEM, or @PATH\n"
    "  --format NAME  output form (above)\n";

static const char usage_decrypt[] =
    "usage: ecert sm2 decrypt --key KEY [FILE]\n"
    "\n"
    "Decrypts a ciphertext from FILE (or stdin) and writes the plaintext bytes\n"
    "exactly (no newline is added). Every SPEC §3.3 form is accepted: hex of\n"
    "any case, base64, base64 of the hex, with or without 04, GM/T 0009 DER (as\n"
    "base64, hex or binary), the legacy C1||C2||C3 order, and raw binary.\n"
    "Whitespace in a text ciphertext (a trailing newline, line wrapping) is\n"
    "ignored.\n"
    "\n"
    "options:\n"
    "  --key KEY   private key: 64 hex digits, PEM, or @PATH (preferred)\n";

static const char usage_sign[] =
    "usage: ecert sm2 sign --key KEY [--id UID] [--raw] [FILE]\n"
    "\n"
    "Signs the exact bytes of FILE (or stdin) with SM2-SM3 and prints the\n"
    "signature and a newline: base64 of DER by default, 128 hex digits r||s\n"
    "with --raw.\n"
    "\n"
    "options:\n"
    "  --key KEY   private key: 64 hex digits, PEM, or @PATH (preferred)\n"
    "  --id UID    signer's user ID (default 1234567812345678; '' = empty ID)\n"
    "  --raw       print hex r||s instead of base64 DER\n";

static const char usage_verify[] =
    "usage: ecert sm2 verify --pub KEY --sig SIG [--id UID] [FILE]\n"
    "\n"
    "Verifies an SM2-SM3 signature over the exact bytes of FILE (or stdin).\n"
    "Prints \"valid\" and exits 0, or prints \"invalid\" and exits 1. A SIG\n"
    "that cannot be decoded at all is an input error (exit 2).\n"
    "\n"
    "options:\n"
    "  --pub KEY   130/128 hex digits, PEM, or @PATH\n"
    "  --sig SIG   base64 or hex of DER (lenient INTEGERs) or of raw r||s,\n"
    "              or @PATH to a file holding that text or binary DER/r||s\n"
    "  --id UID    signer's user ID (default 1234567812345678; '' = empty ID)\n";

/* ======================================================================== */
/* Small helpers                                                            */

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}


/* Removes every ASCII whitespace byte in place (hex and base64 carry none
 * that matters; `base64`/`xxd -p` wrap lines). Returns the new length. */
static size_t squeeze_space(uint8_t *p, size_t n)
{
    size_t w = 0;
    for (size_t r = 0; r < n; r++)
        if (!is_space(p[r]))
            p[w++] = p[r];
    if (w < n)
        p[w] = 0;
    return w;
}

/* Why: a ciphertext arrives as text (hex/base64) or as raw binary. Only text
 * may be cleaned of whitespace; in binary a 0x0a byte is data. A binary
 * ciphertext carries 32 random bytes of C3, so the chance that all of it is
 * printable ASCII is below 1e-13. */
static bool looks_like_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 0x20 && p[i] < 0x7f) || is_space(p[i])))
            return false;
    return true;
}

static int write_out(const void *p, size_t n)
{
    if ((n && fwrite(p, 1, n, stdout) != n) || fflush(stdout) != 0)
        return cli_usage_error("cannot write to stdout: %s", strerror(errno));
    return EXIT_OK;
}

/* Prints `text` and a newline. */
static int write_line(const char *text)
{
    size_t n = strlen(text);
    if (fwrite(text, 1, n, stdout) != n || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
        return cli_usage_error("cannot write to stdout: %s", strerror(errno));
    return EXIT_OK;
}

/* `--help`/`-h` anywhere before "--" asks for this level's usage. */
static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (cli_is_help(argv[i]))
            return true;
    return false;
}

/* Parses options and at most one positional FILE. Returns EXIT_OK and sets
 * *path (NULL = stdin), or an exit status after printing the error. */
static int parse_args(const char *sub, int argc, char **argv, struct cli_opt *opts, size_t nopts,
                      bool takes_file, const char **path)
{
    int pos = cli_parse_opts(argc, argv, 1, opts, nopts);
    if (pos < 0)
        return EXIT_USAGE;
    int rest = argc - pos;
    if (rest > (takes_file ? 1 : 0))
        return cli_usage_error("sm2 %s: unexpected argument '%s' (try ecert sm2 %s --help)", sub,
                               argv[pos + (takes_file ? 1 : 0)], sub);
    *path = rest ? argv[pos] : NULL;
    if (*path && strcmp(*path, "-") == 0)
        *path = NULL;
    return EXIT_OK;
}

/* ======================================================================== */
/* Keys                                                                     */

/* --id: NULL (default ID) when absent; bounded by the 16-bit ENTL. */
static int load_uid(const char *value, const uint8_t **id, size_t *idlen)
{
    *id = NULL;
    *idlen = 0;
    if (!value)
        return EXIT_OK;
    size_t n = strlen(value);
    if (n > SM2_MAX_ID_LEN)
        return cli_usage_error("--id: %zu bytes, at most %d allowed", n, SM2_MAX_ID_LEN);
    *id = (const uint8_t *)value;
    *idlen = n;
    return EXIT_OK;
}

/* Reads the message/ciphertext input. "input" errors become exit 2. */
static int read_input(const char *sub, const char *path, size_t max, bool key_from_stdin,
                      struct buf *in)
{
    if (key_from_stdin && !path)
        return cli_usage_error("sm2 %s: stdin is taken by @-, so give the input as FILE", sub);
    err_clear();
    ecert_status st = cli_read_input(path, max, in);
    if (st) {
        char what[64];
        snprintf(what, sizeof what, "sm2 %s", sub);
        return cli_fail(what, st);
    }
    return EXIT_OK;
}

/* ======================================================================== */
/* Subcommands                                                              */

static int sm2_keygen(int argc, char **argv)
{
    const char *path;
    int rc = parse_args("keygen", argc, argv, NULL, 0, false, &path);
    if (rc)
        return rc;
    err_clear();
    struct sm2_key *k = NULL;
    ecert_status st = sm2_key_generate(&k);
    if (st)
        return cli_fail("sm2 keygen", st);

    uint8_t d[SM2_SCALAR_LEN];
    char dhex[2 * SM2_SCALAR_LEN + 1];
    char pub[131];
    st = sm2_key_private_bytes(k, d);
    if (!st) {
        hex_encode(d, sizeof d, dhex);
        sm2_key_public_hex(k, pub);
    }
    sm2_key_free(k);
    secure_wipe(d, sizeof d);
    if (st) {
        secure_wipe(dhex, sizeof dhex);
        return cli_fail("sm2 keygen", st);
    }
    int n = printf("{\"privateKey\":\"%s\",\"publicKey\":\"%s\"}\n", dhex, pub);
    secure_wipe(dhex, sizeof dhex);
    if (n < 0 || fflush(stdout) != 0)
        return cli_usage_error("cannot write to stdout: %s", strerror(errno));
    return EXIT_OK;
}

static int sm2_encrypt_cmd(int argc, char **argv)
{
    struct cli_opt opts[] = {{"--pub", true, NULL}, {"--format", true, NULL}};
    const size_t nopts = sizeof opts / sizeof opts[0];
    const char *path;
    int rc = parse_args("encrypt", argc, argv, opts, nopts, true, &path);
    if (rc)
        return rc;

    ecert_cipher_format fmt = ECERT_CIPHER_HEX;
    const char *fname = cli_opt(opts, nopts, "--format");
    if (fname && sm2_cipher_format_from_name(fname, &fmt) != ECERT_OK)
        return cli_usage_error("--format: unknown format '%s' (hex, hex04, base64 or der)", fname);

    bool key_stdin = false;
    struct sm2_key *pub = NULL;
    rc = cli_load_key("--pub", (char *)cli_opt(opts, nopts, "--pub"), false, &pub, &key_stdin);
    if (rc)
        return rc;

    /* The plaintext limit of the crypto layer is below the CLI's input cap:
     * enforce it while reading so the message names the real limit. */
    size_t max = SM2_MAX_PLAINTEXT < CLI_MAX_INPUT ? SM2_MAX_PLAINTEXT : CLI_MAX_INPUT;
    struct buf in;
    rc = read_input("encrypt", path, max, key_stdin, &in);
    if (rc) {
        sm2_key_free(pub);
        return rc;
    }
    struct buf out;
    buf_init(&out, CIPHER_TEXT_MAX);
    err_clear();
    ecert_status st = sm2_encrypt_text(pub, in.data, in.len, fmt, &out);
    buf_release_secret(&in);
    sm2_key_free(pub);
    if (st) {
        buf_release(&out);
        return cli_fail("sm2 encrypt", st);
    }
    rc = write_line((const char *)out.data);
    buf_release(&out);
    return rc;
}

static int sm2_decrypt_cmd(int argc, char **argv)
{
    struct cli_opt opts[] = {{"--key", true, NULL}};
    const size_t nopts = sizeof opts / sizeof opts[0];
    const char *path;
    int rc = parse_args("decrypt", argc, argv, opts, nopts, true, &path);
    if (rc)
        return rc;

    bool key_stdin = false;
    struct sm2_key *key = NULL;
    rc = cli_load_key("--key", (char *)cli_opt(opts, nopts, "--key"), true, &key, &key_stdin);
    if (rc)
        return rc;

    struct buf in;
    rc = read_input("decrypt", path, CLI_MAX_INPUT, key_stdin, &in);
    if (rc) {
        sm2_key_free(key);
        return rc;
    }
    size_t n = in.len;
    if (looks_like_text(in.data, n))
        n = squeeze_space(in.data, n);
    if (n == 0) {
        buf_release(&in);
        sm2_key_free(key);
        return cli_usage_error("sm2 decrypt: empty input (expected a ciphertext)");
    }

    struct buf plain;
    buf_init(&plain, SM2_MAX_PLAINTEXT);
    err_clear();
    ecert_status st = sm2_decrypt(key, in.data, n, 0, &plain);
    buf_release(&in);
    sm2_key_free(key);
    if (st) {
        buf_release_secret(&plain);
        return cli_fail("sm2 decrypt", st);
    }
    rc = write_out(plain.data, plain.len);
    buf_release_secret(&plain);
    return rc;
}

static int sm2_sign_cmd(int argc, char **argv)
{
    struct cli_opt opts[] = {{"--key", true, NULL}, {"--id", true, NULL}, {"--raw", false, NULL}};
    const size_t nopts = sizeof opts / sizeof opts[0];
    const char *path;
    int rc = parse_args("sign", argc, argv, opts, nopts, true, &path);
    if (rc)
        return rc;

    const uint8_t *id;
    size_t idlen;
    rc = load_uid(cli_opt(opts, nopts, "--id"), &id, &idlen);
    if (rc)
        return rc;
    bool key_stdin = false;
    struct sm2_key *key = NULL;
    rc = cli_load_key("--key", (char *)cli_opt(opts, nopts, "--key"), true, &key, &key_stdin);
    if (rc)
        return rc;

    struct buf in;
    rc = read_input("sign", path, CLI_MAX_INPUT, key_stdin, &in);
    if (rc) {
        sm2_key_free(key);
        return rc;
    }
    uint8_t rs[SM2_SIG_LEN];
    err_clear();
    ecert_status st = sm2_sign(key, id, idlen, in.data, in.len, rs);
    buf_release(&in);
    sm2_key_free(key);
    if (st)
        return cli_fail("sm2 sign", st);

    if (cli_opt(opts, nopts, "--raw")) {
        char hex[2 * SM2_SIG_LEN + 1];
        hex_encode(rs, sizeof rs, hex);
        return write_line(hex);
    }
    uint8_t der[SM2_SIG_DER_MAX];
    size_t dlen = sm2_sig_to_der(rs, der);
    if (dlen == 0 || dlen > sizeof der)
        return cli_usage_error("sm2 sign: cannot encode the signature as DER");
    char b64[BASE64_ENCODED_LEN(SM2_SIG_DER_MAX) + 1];
    base64_encode(der, dlen, b64, 0);
    return write_line(b64);
}

/* --sig: the text itself, or @PATH holding text (possibly wrapped) or the
 * binary DER / raw r||s that other tools write. */
static int load_sig(char *value, uint8_t rs[SM2_SIG_LEN], bool *from_stdin)
{
    if (!value)
        return cli_usage_error("missing --sig (try --help)");
    err_clear();
    ecert_status st;
    if (value[0] != '@') {
        struct buf t;
        buf_init(&t, SIG_FILE_MAX);
        st = buf_append_str(&t, value);
        if (!st) {
            size_t n = squeeze_space(t.data, t.len);
            st = n ? sm2_sig_decode_text((const char *)t.data, n, rs)
                   : err_set(ECERT_E_MALFORMED, "empty signature");
        }
        buf_release(&t);
        return st ? cli_fail("--sig", st) : EXIT_OK;
    }

    const char *path = value + 1;
    if (!path[0])
        return cli_usage_error("--sig: '@' needs a file name (@PATH, or @- for stdin)");
    if (strcmp(path, "-") == 0)
        *from_stdin = true;
    struct buf f;
    st = cli_read_input(path, SIG_FILE_MAX, &f);
    if (st)
        return cli_fail("--sig", st);
    if (looks_like_text(f.data, f.len)) {
        size_t n = squeeze_space(f.data, f.len);
        st = n ? sm2_sig_decode_text((const char *)f.data, n, rs)
               : err_set(ECERT_E_MALFORMED, "signature file %s is empty", path);
    } else {
        st = sm2_sig_decode_bytes(f.data, f.len, rs);
    }
    buf_release(&f);
    return st ? cli_fail("--sig", st) : EXIT_OK;
}

static int sm2_verify_cmd(int argc, char **argv)
{
    struct cli_opt opts[] = {{"--pub", true, NULL}, {"--sig", true, NULL}, {"--id", true, NULL}};
    const size_t nopts = sizeof opts / sizeof opts[0];
    const char *path;
    int rc = parse_args("verify", argc, argv, opts, nopts, true, &path);
    if (rc)
        return rc;

    const uint8_t *id;
    size_t idlen;
    rc = load_uid(cli_opt(opts, nopts, "--id"), &id, &idlen);
    if (rc)
        return rc;
    const char *pubv = cli_opt(opts, nopts, "--pub"), *sigv = cli_opt(opts, nopts, "--sig");
    if (pubv && sigv && strcmp(pubv, "@-") == 0 && strcmp(sigv, "@-") == 0)
        return cli_usage_error("sm2 verify: --pub and --sig cannot both be read from stdin");
    bool key_stdin = false, sig_stdin = false;
    uint8_t rs[SM2_SIG_LEN];
    rc = load_sig((char *)sigv, rs, &sig_stdin);
    if (rc)
        return rc;
    struct sm2_key *pub = NULL;
    rc = cli_load_key("--pub", (char *)pubv, false, &pub, &key_stdin);
    if (rc)
        return rc;

    struct buf in;
    rc = read_input("verify", path, CLI_MAX_INPUT, key_stdin || sig_stdin, &in);
    if (rc) {
        sm2_key_free(pub);
        return rc;
    }
    err_clear();
    ecert_status st = sm2_verify(pub, id, idlen, in.data, in.len, rs);
    buf_release(&in);
    sm2_key_free(pub);
    if (st == ECERT_E_SIGNATURE) {
        rc = write_line("invalid");
        if (rc)
            return rc;
        fputs("ecert: sm2 verify: signature invalid for this key, user ID and message\n", stderr);
        return EXIT_NEGATIVE;
    }
    if (st)
        return cli_fail("sm2 verify", st);
    return write_line("valid");
}

/* ======================================================================== */
/* Dispatch                                                                 */

struct sm2_sub {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
};

static const struct sm2_sub subs[] = {
    {"keygen", sm2_keygen, usage_keygen},        {"encrypt", sm2_encrypt_cmd, usage_encrypt},
    {"decrypt", sm2_decrypt_cmd, usage_decrypt}, {"sign", sm2_sign_cmd, usage_sign},
    {"verify", sm2_verify_cmd, usage_verify},
};

int cmd_sm2(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("sm2: missing subcommand: keygen, encrypt, decrypt, sign or verify "
                               "(try ecert sm2 --help)");
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        fputs(usage_sm2, stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(argv[1], subs[i].name) != 0)
            continue;
        if (wants_help(argc - 1, argv + 1)) {
            fputs(subs[i].usage, stdout);
            return EXIT_OK;
        }
        return subs[i].run(argc - 1, argv + 1);
    }
    return cli_usage_error("sm2: unknown subcommand '%s' (try ecert sm2 --help)", argv[1]);
}
