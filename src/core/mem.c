/* core/mem.c: aborting allocation wrappers (see mem.h). */
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>

static void die(size_t n, const char *file, int line)
{
    fprintf(stderr, "aigate: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
    abort();
}

void *ag_malloc_at(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die(n, file, line);
    return p;
}

void *ag_calloc_at(size_t n, size_t size, const char *file, int line)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die(n * size, file, line);
    return p;
}

void *ag_realloc_at(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die(n, file, line);
    return q;
}
