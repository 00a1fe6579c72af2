/* core/lru.h: a bounded cache's bookkeeping. Entries the caller owns, found by a byte-string key
 * through a chained hash table, and kept on one list from oldest to newest for eviction and
 * expiry, with a count and a byte total the caller bounds. The node is embedded in the caller's
 * entry (recover the entry with AG_LRU_ENTRY); the table never allocates or frees entries. The
 * order is the order of insertion: a caller that wants least-recently-used order removes and
 * pushes an entry again when it is used. */
#ifndef AG_CORE_LRU_H
#define AG_CORE_LRU_H

#include <stddef.h>

#include "core/str.h"

/** The part of an entry the table uses. The caller sets key and bytes before ag_lru_push. */
struct ag_lru_node {
    struct ag_str key; /* borrowed from the entry; must stay valid while it is in the table */
    size_t bytes;      /* what the entry counts toward ag_lru.bytes */
    struct ag_lru_node *_chain, *_older, *_newer;
};

struct ag_lru {
    struct ag_lru_node *oldest, *newest; /* read-only for callers */
    size_t count;                        /* entries in the table */
    size_t bytes;                        /* sum of their nodes' bytes */
    struct ag_lru_node **_buckets;
    size_t _nbuckets;
};

/** The entry of type type whose member member is the node n. */
#define AG_LRU_ENTRY(n, type, member) ((type *)((char *)(n)-offsetof(type, member)))

/**
 * Prepares an empty table with nbuckets hash chains (> 0). The chains are allocated by the first
 * ag_lru_push (which aborts on OOM).
 */
void ag_lru_init(struct ag_lru *l, size_t nbuckets);

/**
 * Frees the table's own storage. The entries still in it are the caller's: remove and free them
 * first (walk from oldest).
 */
void ag_lru_dispose(struct ag_lru *l);

/** The node with key, or NULL. */
struct ag_lru_node *ag_lru_find(const struct ag_lru *l, struct ag_str key);

/** Adds n as the newest entry. Its key must not be in the table already (remove the old one). */
void ag_lru_push(struct ag_lru *l, struct ag_lru_node *n);

/** Takes n (which is in the table) out of it; the caller frees the entry afterwards. */
void ag_lru_remove(struct ag_lru *l, struct ag_lru_node *n);

#endif
