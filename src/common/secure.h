/*
 * secure.h — handling of secrets outside the crypto module: wiping memory the
 * compiler may not optimise away, and comparing secrets in constant time.
 */
#ifndef ECERT_COMMON_SECURE_H
#define ECERT_COMMON_SECURE_H

#include <stdbool.h>
#include <stddef.h>

void secure_wipe(void *p, size_t n);
/* true when equal. Time depends only on n, never on the contents. */
bool secure_equal(const void *a, const void *b, size_t n);

#endif
