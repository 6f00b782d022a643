/*
 * error.h — the one status type (ecert_status, from the public header) and the
 * thread-local detail line that goes with a failure.
 *
 * Pattern (as git's error()): a failing function records a detail and returns
 * the status in one expression:
 *     return err_set(ECERT_E_MALFORMED, "public key: %zu hex digits, want 128 or 130", n);
 * The detail never contains a secret: callers pass lengths and positions,
 * not values.
 */
#ifndef ECERT_COMMON_ERROR_H
#define ECERT_COMMON_ERROR_H

#include <ecert/ecert.h>

ecert_status err_set(ecert_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current detail with "what: " (keeps the status). */
ecert_status err_wrap(ecert_status st, const char *what);
const char *err_detail(void);
void err_clear(void);

#endif
