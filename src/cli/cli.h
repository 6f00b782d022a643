/*
 * cli.h — what every `ecert` subcommand shares: exit codes (SPEC §8), input
 * reading with a size cap, one-line errors, and a small option parser.
 */
#ifndef ECERT_CLI_CLI_H
#define ECERT_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/buf.h"

/* SPEC §8: 0 success, 1 negative verdict, 2 usage or input error. */
enum { EXIT_OK = 0, EXIT_NEGATIVE = 1, EXIT_USAGE = 2 };

/* Largest input a command reads from a file or stdin. */
#define CLI_MAX_INPUT (64u << 20)

/* Reads FILE (or stdin when path is NULL or "-") into `out`, at most `max`
 * bytes; a larger input is an error, not a truncation. */
ecert_status cli_read_input(const char *path, size_t max, struct buf *out);
/* Prints "ecert: <what>: <detail>" on stderr and returns EXIT_USAGE. */
int cli_fail(const char *what, ecert_status st);
/* Prints "ecert: <message>" on stderr and returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* true for -h / --help */
bool cli_is_help(const char *arg);

/* Options: a table of long names; each takes a value or is a flag. Parsing
 * stops at the first non-option; "--" ends options. */
struct cli_opt {
    const char *name;  /* "--pub" */
    bool has_value;
    const char *value; /* set when seen (flags get "1") */
};
/* Returns the index of the first positional argument, or -1 after printing an
 * error (unknown option, missing value, repeated option). Accepts "--name=value". */
int cli_parse_opts(int argc, char **argv, int first, struct cli_opt *opts, size_t nopts);
const char *cli_opt(const struct cli_opt *opts, size_t nopts, const char *name);

/* Narrows [*p, *p+*n) to exclude leading and trailing ASCII whitespace. */
void cli_trim(const uint8_t **p, size_t *n);
struct sm2_key;
/* Parses a --key (private) or --pub (public) value: the key text (hex or
 * PEM) or @PATH (hex, PEM or keygen JSON; @- = stdin, then *from_stdin is
 * set). Inline private keys are wiped from argv. Returns EXIT_OK, or
 * EXIT_USAGE after printing "ecert: <opt>: <reason>". */
int cli_load_key(const char *opt, char *value, bool private_key, struct sm2_key **out,
                 bool *from_stdin);

/* Subcommands: argv[0] is the command word ("sm2", "id", ...). */
int cmd_sm3(int argc, char **argv);
int cmd_sm2(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_id(int argc, char **argv);
int cmd_call(int argc, char **argv);
int cmd_trust(int argc, char **argv);
int cmd_federation(int argc, char **argv);
int cmd_directory(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
