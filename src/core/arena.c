/* core/arena.c: chunked bump allocator (see arena.h). Large requests get a chunk of their own so
 * one big body does not waste the rest of a normal chunk. Chunks come from and go back to the
 * thread's block cache (core/blocks.h): one of AG_BLOCK_MIN bytes or more, so a large request's
 * arena reuses the previous one's memory instead of faulting fresh pages in, and a regular chunk
 * (its header included, the chunk size given to ag_arena_init: a power of two), so a small
 * request's chunks skip malloc. */
#include "core/arena.h"

#include "core/blocks.h"
#include "core/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ag_arena_chunk {
    struct ag_arena_chunk *next;
    size_t size; /* usable bytes in data */
    size_t off;  /* next free offset */
    _Alignas(16) unsigned char data[];
};

void ag_arena_init(struct ag_arena *a, size_t chunk_size, size_t cap)
{
    memset(a, 0, sizeof(*a));
    a->_chunk_size = chunk_size ? chunk_size : 8192;
    a->cap = cap;
}

void ag_arena_dispose(struct ag_arena *a)
{
    struct ag_arena_chunk *c = a->_head;
    while (c) {
        struct ag_arena_chunk *next = c->next;
        ag_block_put(c, sizeof(*c) + c->size);
        c = next;
    }
    a->_head = NULL;
    a->_used = 0;
}

void *ag_arena_alloc(struct ag_arena *a, size_t n)
{
    struct ag_arena_chunk *c = a->_head;
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    if (c && c->size - c->off >= need) {
        void *p = c->data + c->off;
        c->off += need;
        return p;
    }
    /* A regular chunk, header included, is _chunk_size bytes: a power of two the block cache
     * keeps. */
    size_t regular = a->_chunk_size > 2 * sizeof(*c) ? a->_chunk_size - sizeof(*c) : a->_chunk_size;
    size_t size = need > a->_chunk_size / 4 || need > regular ? need : regular;
    if (a->cap && (a->_used + size > a->cap || size > a->cap))
        return NULL;
    size_t got;
    struct ag_arena_chunk *nc = ag_block_get(sizeof(*nc) + size, &got);
    nc->size = got - sizeof(*nc); /* a cached block may be larger than asked for: usable */
    nc->off = need;
    a->_used += size;
    if (size == need && c) {
        /* A dedicated chunk goes behind the current one so its free space stays in use. */
        nc->next = c->next;
        c->next = nc;
    } else {
        nc->next = c;
        a->_head = nc;
    }
    return nc->data;
}

void *ag_arena_calloc(struct ag_arena *a, size_t n)
{
    void *p = ag_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *ag_arena_strndup(struct ag_arena *a, const char *s, size_t n)
{
    char *d = ag_arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

struct ag_str ag_arena_str(struct ag_arena *a, struct ag_str s)
{
    char *d = ag_arena_strndup(a, s.p, s.len);
    return d ? ag_str_make(d, s.len) : AG_STR_NULL;
}

char *ag_arena_cat(struct ag_arena *a, const char *prefix, struct ag_str s)
{
    size_t n = strlen(prefix);
    char *d = ag_arena_alloc(a, n + s.len + 1);
    if (!d)
        return NULL;
    memcpy(d, prefix, n);
    if (s.len)
        memcpy(d + n, s.p, s.len);
    d[n + s.len] = '\0';
    return d;
}

char *ag_arena_printf(struct ag_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *d = ag_arena_alloc(a, (size_t)n + 1);
    if (!d)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

size_t ag_arena_used(const struct ag_arena *a)
{
    return a->_used;
}
