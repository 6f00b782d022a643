#include "common/secure.h"

#include <string.h>

void secure_wipe(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}

bool secure_equal(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= (unsigned char)(x[i] ^ y[i]);
    return acc == 0;
}
