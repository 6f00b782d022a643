#include "common/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/secure.h"

struct arena_block {
    struct arena_block *next;
    size_t size;
    size_t off;
    max_align_t data[]; /* aligned storage */
};

#define ARENA_BLOCK 8192u

void arena_init(struct arena *a, size_t max)
{
    a->head = NULL;
    a->used = 0;
    a->max = max;
}

void *arena_alloc(struct arena *a, size_t n)
{
    const size_t align = _Alignof(max_align_t);
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - align) {
        err_set(ECERT_E_TOO_LONG, "arena: allocation too large");
        return NULL;
    }
    n = (n + align - 1) & ~(align - 1);
    if (n > a->max || a->used > a->max - n) {
        err_set(ECERT_E_TOO_LONG, "request memory exceeds its limit of %zu bytes", a->max);
        return NULL;
    }
    struct arena_block *b = a->head;
    if (!b || b->size - b->off < n) {
        size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof *b + size);
        if (!b) {
            err_set(ECERT_E_NOMEM, "out of memory");
            return NULL;
        }
        b->size = size;
        b->off = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->off;
    b->off += n;
    a->used += n;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

void arena_release(struct arena *a)
{
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        secure_wipe(b->data, b->off);
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}
