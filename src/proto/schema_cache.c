/* proto/schema_cache.c: the converted tool schemas (see schema_cache.h). */
#include "proto/schema_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define SCHEMA_CACHE_SETS      64
#define SCHEMA_CACHE_WAYS      4
#define SCHEMA_CACHE_ENTRY_MAX (64u * 1024)
#define SCHEMA_CACHE_BYTES     (2u * 1024 * 1024)

struct entry {
    uint64_t hash;
    uint64_t used; /* the table's clock at the last hit or put; 0 = empty */
    char *mem;     /* the key, then the value */
    size_t klen, vlen;
};

struct table {
    struct entry e[SCHEMA_CACHE_SETS][SCHEMA_CACHE_WAYS];
    uint64_t clock;
    size_t bytes;
    int registered; /* the thread-exit destructor knows this table */
};

static _Thread_local struct table tab;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void clear(struct table *t)
{
    for (size_t s = 0; s < SCHEMA_CACHE_SETS; s++) {
        for (size_t w = 0; w < SCHEMA_CACHE_WAYS; w++) {
            free(t->e[s][w].mem);
            memset(&t->e[s][w], 0, sizeof(t->e[s][w]));
        }
    }
    t->bytes = 0;
}

static void on_thread_exit(void *p)
{
    clear(p);
}

static void make_key(void)
{
    pthread_key_create(&exit_key, on_thread_exit);
}

/* A hash of the text eight bytes at a time (a schema is a kilobyte or so, looked up per tool per
 * request); entries are compared in full, so collisions cost a miss, nothing more. */
static uint64_t text_hash(struct ag_str s)
{
    const char *p = s.p;
    size_t n = s.len;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

static struct entry *find(struct ag_str key, uint64_t hash)
{
    struct entry *set = tab.e[hash % SCHEMA_CACHE_SETS];
    for (size_t w = 0; w < SCHEMA_CACHE_WAYS; w++) {
        struct entry *e = &set[w];
        if (e->used && e->hash == hash && e->klen == key.len && memcmp(e->mem, key.p, key.len) == 0)
            return e;
    }
    return NULL;
}

struct ag_str ag_schema_cache_get(struct ag_str key)
{
    if (!key.len)
        return AG_STR_NULL;
    struct entry *e = find(key, text_hash(key));
    if (!e)
        return AG_STR_NULL;
    e->used = ++tab.clock;
    return ag_str_make(e->mem + e->klen, e->vlen);
}

void ag_schema_cache_put(struct ag_str key, struct ag_str value)
{
    size_t size = key.len + value.len;
    if (!key.len || !value.len || size > SCHEMA_CACHE_ENTRY_MAX)
        return;
    uint64_t hash = text_hash(key);
    if (find(key, hash))
        return;
    struct entry *set = tab.e[hash % SCHEMA_CACHE_SETS], *victim = &set[0];
    for (size_t w = 1; w < SCHEMA_CACHE_WAYS; w++) {
        if (set[w].used < victim->used)
            victim = &set[w];
    }
    size_t freed = victim->used ? victim->klen + victim->vlen : 0;
    if (tab.bytes - freed + size > SCHEMA_CACHE_BYTES)
        return;
    if (!tab.registered) {
        pthread_once(&exit_once, make_key);
        pthread_setspecific(exit_key, &tab);
        tab.registered = 1;
    }
    free(victim->mem);
    victim->mem = ag_malloc(size);
    memcpy(victim->mem, key.p, key.len);
    memcpy(victim->mem + key.len, value.p, value.len);
    victim->klen = key.len;
    victim->vlen = value.len;
    victim->hash = hash;
    victim->used = ++tab.clock;
    tab.bytes = tab.bytes - freed + size;
}

void ag_schema_cache_clear(void)
{
    clear(&tab);
}
