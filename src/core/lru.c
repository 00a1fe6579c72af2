/* core/lru.c: the hash chains and the oldest-to-newest list of a cache (see lru.h). */
#include "core/lru.h"

#include <assert.h>
#include <stdlib.h>

#include "core/hash.h"
#include "core/mem.h"

static struct ag_lru_node **bucket(const struct ag_lru *l, struct ag_str key)
{
    return &l->_buckets[ag_hash_fnv1a(key.p, key.len) % l->_nbuckets];
}

/* The chains are allocated by the first push: a cache that stays empty (most of them, in a
 * gateway that has served nothing yet) costs no memory. */
void ag_lru_init(struct ag_lru *l, size_t nbuckets)
{
    assert(nbuckets > 0);
    *l = (struct ag_lru){0};
    l->_nbuckets = nbuckets;
}

void ag_lru_dispose(struct ag_lru *l)
{
    free(l->_buckets);
    *l = (struct ag_lru){0};
}

struct ag_lru_node *ag_lru_find(const struct ag_lru *l, struct ag_str key)
{
    if (!l->_buckets)
        return NULL;
    for (struct ag_lru_node *n = *bucket(l, key); n; n = n->_chain)
        if (ag_str_eq(n->key, key))
            return n;
    return NULL;
}

void ag_lru_push(struct ag_lru *l, struct ag_lru_node *n)
{
    assert(!ag_lru_find(l, n->key));
    if (!l->_buckets)
        l->_buckets = ag_calloc(l->_nbuckets, sizeof(struct ag_lru_node *));
    struct ag_lru_node **b = bucket(l, n->key);
    n->_chain = *b;
    *b = n;
    n->_older = l->newest;
    n->_newer = NULL;
    if (l->newest)
        l->newest->_newer = n;
    else
        l->oldest = n;
    l->newest = n;
    l->count++;
    l->bytes += n->bytes;
}

void ag_lru_remove(struct ag_lru *l, struct ag_lru_node *n)
{
    struct ag_lru_node **pp = bucket(l, n->key);
    while (*pp && *pp != n)
        pp = &(*pp)->_chain;
    assert(*pp == n);
    if (*pp)
        *pp = n->_chain;
    if (n->_older)
        n->_older->_newer = n->_newer;
    else
        l->oldest = n->_newer;
    if (n->_newer)
        n->_newer->_older = n->_older;
    else
        l->newest = n->_older;
    n->_chain = n->_older = n->_newer = NULL;
    l->count--;
    l->bytes -= n->bytes;
}
