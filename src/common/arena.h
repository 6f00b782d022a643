/*
 * arena.h — a per-request memory pool (as h2o's mem pool): many small
 * allocations, one release. Error paths cannot leak what an arena owns.
 * Every arena has a hard cap so one request cannot take the process' memory.
 */
#ifndef ECERT_COMMON_ARENA_H
#define ECERT_COMMON_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
    struct arena_block *head;
    size_t used;  /* bytes handed out, all blocks */
    size_t max;   /* cap on `used` */
};

void arena_init(struct arena *a, size_t max);
/* NULL when the cap or memory is exhausted (the error detail says which). */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* Frees every block (wiping them: requests carry plaintext business data). */
void arena_release(struct arena *a);

#endif
