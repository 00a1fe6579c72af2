/* core/blocks.c: the per-thread cache of heap blocks (see blocks.h). Each size class is a singly
 * linked list threaded through the free blocks themselves. */
#include "core/blocks.h"

#include "core/mem.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* Classes: AG_BLOCK_SMALL_MIN << octave, times 4/4, 5/4, 6/4, 7/4; the last class is
 * AG_BLOCK_MAX. The classes below AG_BLOCK_MIN are the small ones, each with its own budget. */
#define OCTAVES 14
#define NCLASS  (OCTAVES * 4 + 1)
#define NSMALL  24

_Static_assert(((size_t)AG_BLOCK_SMALL_MIN << OCTAVES) == AG_BLOCK_MAX,
               "classes end at AG_BLOCK_MAX");
_Static_assert(((size_t)AG_BLOCK_SMALL_MIN << (NSMALL / 4)) == AG_BLOCK_MIN,
               "the small classes end below AG_BLOCK_MIN");

struct free_block {
    struct free_block *next;
};

struct cache {
    struct free_block *head[NCLASS];
    size_t small_bytes[NSMALL]; /* bytes kept in each small class */
    size_t bytes;
    uint64_t activity; /* ag_block_idle_tick: the counter at the last tick, and the quiet ticks */
    unsigned quiet;
    int registered; /* the thread-exit destructor knows this cache */
};

static _Thread_local struct cache tcache;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static size_t class_size(unsigned i)
{
    return ((size_t)AG_BLOCK_SMALL_MIN << (i / 4)) / 4 * (4 + i % 4);
}

/* The octave of n: the class index of its largest power-of-two class not above n, over 4. */
static unsigned octave(size_t n)
{
    return (unsigned)(63 - __builtin_clzl(n / AG_BLOCK_SMALL_MIN));
}

/* The smallest class holding n bytes; n is within [AG_BLOCK_SMALL_MIN, AG_BLOCK_MAX]. */
static unsigned class_up(size_t n)
{
    unsigned i = octave(n) * 4;
    while (class_size(i) < n)
        i++;
    return i;
}

/* The largest class not above size; size is at least AG_BLOCK_SMALL_MIN. */
static unsigned class_down(size_t size)
{
    unsigned i = octave(size) * 4 + 3;
    if (i >= NCLASS)
        i = NCLASS - 1;
    while (class_size(i) > size)
        i--;
    return i;
}

static void trim(struct cache *c)
{
    for (unsigned i = 0; i < NCLASS; i++) {
        while (c->head[i]) {
            struct free_block *b = c->head[i];
            c->head[i] = b->next;
            free(b);
        }
    }
    for (unsigned i = 0; i < NSMALL; i++)
        c->small_bytes[i] = 0;
    c->bytes = 0;
}

static void on_thread_exit(void *p)
{
    trim(p);
}

static void make_key(void)
{
    pthread_key_create(&exit_key, on_thread_exit);
}

void *ag_block_get(size_t n, size_t *size)
{
    if (n < AG_BLOCK_SMALL_MIN || n > AG_BLOCK_MAX) {
        *size = n;
        return ag_malloc(n ? n : 1);
    }
    unsigned i = class_up(n);
    *size = class_size(i);
    struct free_block *b = tcache.head[i];
    if (b) {
        tcache.head[i] = b->next;
        tcache.bytes -= *size;
        if (i < NSMALL)
            tcache.small_bytes[i] -= *size;
        return b;
    }
    return ag_malloc(*size);
}

void ag_block_put(void *p, size_t size)
{
    if (!p)
        return;
    if (size < AG_BLOCK_SMALL_MIN || size > AG_BLOCK_MAX) {
        free(p);
        return;
    }
    unsigned i = class_down(size);
    size_t cs = class_size(i);
    if (tcache.bytes + cs > AG_BLOCK_CACHE_MAX ||
        (i < NSMALL && tcache.small_bytes[i] + cs > AG_BLOCK_SMALL_KEEP)) {
        free(p);
        return;
    }
    if (!tcache.registered) {
        pthread_once(&exit_once, make_key);
        pthread_setspecific(exit_key, &tcache);
        tcache.registered = 1;
    }
    struct free_block *b = p;
    b->next = tcache.head[i];
    tcache.head[i] = b;
    tcache.bytes += cs;
    if (i < NSMALL)
        tcache.small_bytes[i] += cs;
}

bool ag_block_idle_tick(uint64_t activity)
{
    if (activity != tcache.activity) {
        tcache.activity = activity;
        tcache.quiet = 0;
        return false;
    }
    if (++tcache.quiet < AG_BLOCK_IDLE_TICKS || tcache.bytes == 0)
        return false;
    trim(&tcache);
    return true;
}

void ag_block_trim(void)
{
    trim(&tcache);
}

size_t ag_block_cached(void)
{
    return tcache.bytes;
}
