/* core/blocks.c: the per-thread cache of large heap blocks (see blocks.h). Each size class is a
 * singly linked list threaded through the free blocks themselves. */
#include "core/blocks.h"

#include "core/mem.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

/* Classes: AG_BLOCK_MIN << octave, times 4/4, 5/4, 6/4, 7/4; the last class is AG_BLOCK_MAX. */
#define OCTAVES 8
#define NCLASS  (OCTAVES * 4 + 1)

_Static_assert(((size_t)AG_BLOCK_MIN << OCTAVES) == AG_BLOCK_MAX, "classes end at AG_BLOCK_MAX");

struct free_block {
    struct free_block *next;
};

/* The small sizes: AG_BLOCK_SMALL_MIN << i for i below NSMALL, up to AG_BLOCK_MIN / 2. */
#define NSMALL 6
_Static_assert((AG_BLOCK_SMALL_MIN << NSMALL) == AG_BLOCK_MIN,
               "small sizes end below AG_BLOCK_MIN");

struct cache {
    struct free_block *head[NCLASS];
    struct free_block *small[NSMALL];
    size_t small_bytes[NSMALL];
    size_t bytes;
    int registered; /* the thread-exit destructor knows this cache */
};

static _Thread_local struct cache tcache;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static size_t class_size(unsigned i)
{
    return ((size_t)AG_BLOCK_MIN << (i / 4)) / 4 * (4 + i % 4);
}

/* The smallest class holding n bytes; n is within [AG_BLOCK_MIN, AG_BLOCK_MAX]. */
static unsigned class_up(size_t n)
{
    unsigned i = 0;
    while (class_size(i) < n)
        i++;
    return i;
}

/* The largest class not above size; size is at least AG_BLOCK_MIN. */
static unsigned class_down(size_t size)
{
    unsigned i = NCLASS - 1;
    while (class_size(i) > size)
        i--;
    return i;
}

static void trim(struct cache *c);

static void on_thread_exit(void *p)
{
    trim(p);
}

static void make_key(void)
{
    pthread_key_create(&exit_key, on_thread_exit);
}

/* The small size of exactly n bytes, or -1 when n is not one. */
static int small_exact(size_t n)
{
    if (n < AG_BLOCK_SMALL_MIN || n >= AG_BLOCK_MIN || (n & (n - 1)) != 0)
        return -1;
    return __builtin_ctzl(n / AG_BLOCK_SMALL_MIN);
}

/* The largest small size a block of size bytes (below AG_BLOCK_MIN) serves, or -1: none. */
static int small_floor(size_t size)
{
    if (size < AG_BLOCK_SMALL_MIN)
        return -1;
    return 63 - __builtin_clzl(size / AG_BLOCK_SMALL_MIN);
}

static void free_list(struct free_block **head)
{
    while (*head) {
        struct free_block *b = *head;
        *head = b->next;
        free(b);
    }
}

static void trim(struct cache *c)
{
    for (unsigned i = 0; i < NCLASS; i++)
        free_list(&c->head[i]);
    for (unsigned i = 0; i < NSMALL; i++) {
        free_list(&c->small[i]);
        c->small_bytes[i] = 0;
    }
    c->bytes = 0;
}

/* Keeps b in list *head, whose class is cs bytes, when the budgets allow; false: not kept. */
static bool keep(struct free_block **head, void *p, size_t cs)
{
    if (tcache.bytes + cs > AG_BLOCK_CACHE_MAX)
        return false;
    if (!tcache.registered) {
        pthread_once(&exit_once, make_key);
        pthread_setspecific(exit_key, &tcache);
        tcache.registered = 1;
    }
    struct free_block *b = p;
    b->next = *head;
    *head = b;
    tcache.bytes += cs;
    return true;
}

void *ag_block_get(size_t n, size_t *size)
{
    if (n < AG_BLOCK_MIN || n > AG_BLOCK_MAX) {
        *size = n;
        int k = small_exact(n);
        struct free_block *b = k >= 0 ? tcache.small[k] : NULL;
        if (b) {
            tcache.small[k] = b->next;
            tcache.small_bytes[k] -= n;
            tcache.bytes -= n;
            return b;
        }
        return ag_malloc(n ? n : 1);
    }
    unsigned i = class_up(n);
    *size = class_size(i);
    struct free_block *b = tcache.head[i];
    if (b) {
        tcache.head[i] = b->next;
        tcache.bytes -= *size;
        return b;
    }
    return ag_malloc(*size);
}

void ag_block_put(void *p, size_t size)
{
    if (!p)
        return;
    if (size > AG_BLOCK_MAX) {
        free(p);
        return;
    }
    if (size < AG_BLOCK_MIN) {
        int k = small_floor(size);
        size_t cs = AG_BLOCK_SMALL_MIN << (k >= 0 ? k : 0);
        if (k >= 0 && tcache.small_bytes[k] + cs <= AG_BLOCK_SMALL_KEEP &&
            keep(&tcache.small[k], p, cs))
            tcache.small_bytes[k] += cs;
        else
            free(p);
        return;
    }
    unsigned i = class_down(size);
    if (!keep(&tcache.head[i], p, class_size(i)))
        free(p);
}

void ag_block_trim(void)
{
    trim(&tcache);
}

size_t ag_block_cached(void)
{
    return tcache.bytes;
}
