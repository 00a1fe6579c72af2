/* core/arena.h: the per-request bump allocator. Everything one request parses or builds (header
 * slices, JSON documents' copies, canonical structs, frames) comes from its arena and is released
 * in one call when the request ends. An arena has a byte cap; going over fails with NULL and the
 * caller turns that into a clean 413/502. */
#ifndef AG_CORE_ARENA_H
#define AG_CORE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include "core/str.h"

struct ag_arena_chunk;

struct ag_arena {
    struct ag_arena_chunk *_head; /* newest chunk first */
    size_t _chunk_size;           /* default size of a new chunk */
    size_t _used;                 /* bytes handed out or reserved by chunks */
    size_t cap;                   /* hard limit on _used; 0 = unlimited */
};

/** Prepares an empty arena; chunk_size is the usual chunk, its header included (e.g. 8 KiB; a power
 * of two from AG_BLOCK_SMALL_MIN is reused through the block cache), cap the hard limit. */
void ag_arena_init(struct ag_arena *a, size_t chunk_size, size_t cap);

/** Frees every chunk; the arena can be used again afterwards. */
void ag_arena_dispose(struct ag_arena *a);

/** Returns n bytes aligned to 16, owned by the arena, or NULL when the cap would be exceeded. */
void *ag_arena_alloc(struct ag_arena *a, size_t n);

/** As ag_arena_alloc, zeroed. */
void *ag_arena_calloc(struct ag_arena *a, size_t n);

/** Copies a slice into the arena with a trailing NUL; NULL on cap. */
char *ag_arena_strndup(struct ag_arena *a, const char *s, size_t n);

/** Copies a slice into the arena; returns the copy as a slice (p NULL on cap). */
struct ag_str ag_arena_str(struct ag_arena *a, struct ag_str s);

/** prefix followed by s, NUL-terminated, in the arena (no printf); NULL on cap. */
char *ag_arena_cat(struct ag_arena *a, const char *prefix, struct ag_str s);

/** printf into the arena; NULL on cap or format error. */
char *ag_arena_printf(struct ag_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Bytes currently taken from the heap by this arena. */
size_t ag_arena_used(const struct ag_arena *a);

#endif
