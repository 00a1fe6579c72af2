/* relay/response_store.c: stored responses in a core/lru table, whose insertion order gives
 * eviction and expiry (see response_store.h). */
#include "relay/response_store.h"

#include "core/err.h"
#include "core/hash.h"
#include "core/lru.h"
#include "core/mem.h"
#include "core/rand.h"

#include <stdlib.h>
#include <string.h>

#define NBUCKETS 1024

struct entry {
    struct ag_lru_node node; /* key: the id (the entry's own copy); bytes: id and JSON */
    int64_t expires_ms;
    bool bound; /* owner holds the SHA-256 of the storing caller's credential */
    unsigned char owner[AG_SHA256_SIZE];
    size_t len;
    char *json;
};

struct ag_response_store {
    struct ag_lru lru;
    size_t max_entries, max_bytes;
    int64_t ttl_ms;
};

struct ag_response_store *ag_response_store_new(size_t max_entries, size_t max_bytes,
                                                int64_t ttl_ms)
{
    struct ag_response_store *s = AG_NEW(struct ag_response_store);
    s->max_entries = max_entries ? max_entries : 1000;
    s->max_bytes = max_bytes ? max_bytes : 64u * 1024 * 1024;
    s->ttl_ms = ttl_ms > 0 ? ttl_ms : 3600 * 1000;
    ag_lru_init(&s->lru, NBUCKETS);
    return s;
}

static struct entry *entry_of(struct ag_lru_node *n)
{
    return n ? AG_LRU_ENTRY(n, struct entry, node) : NULL;
}

static struct entry *find(struct ag_response_store *s, struct ag_str id)
{
    return entry_of(ag_lru_find(&s->lru, id));
}

static void unlink_entry(struct ag_response_store *s, struct entry *e)
{
    ag_lru_remove(&s->lru, &e->node);
    free((char *)e->node.key.p);
    free(e->json);
    free(e);
}

void ag_response_store_free(struct ag_response_store *s)
{
    if (!s)
        return;
    while (s->lru.oldest)
        unlink_entry(s, entry_of(s->lru.oldest));
    ag_lru_dispose(&s->lru);
    free(s);
}

/* Whether a caller with owner (NULL = none) may see e; compared in constant time. */
static bool visible(const struct entry *e, const unsigned char *owner)
{
    if (!e->bound)
        return true;
    return owner && ag_secret_eq((const char *)e->owner, AG_SHA256_SIZE, (const char *)owner,
                                 AG_SHA256_SIZE);
}

int ag_response_store_put(struct ag_response_store *s, struct ag_str id, const unsigned char *owner,
                          struct ag_str json, int64_t now_ms)
{
    if (json.len + id.len > s->max_bytes)
        return AG_ETOOBIG;
    struct entry *e = find(s, id);
    if (e)
        unlink_entry(s, e);
    /* Make room: expired entries and then the oldest ones. */
    struct entry *o;
    while ((o = entry_of(s->lru.oldest)) &&
           (s->lru.count + 1 > s->max_entries || s->lru.bytes + json.len + id.len > s->max_bytes ||
            o->expires_ms <= now_ms))
        unlink_entry(s, o);
    e = AG_NEW(struct entry);
    e->node.key = ag_str_make(ag_str_dup(id), id.len);
    e->node.bytes = id.len + json.len;
    e->json = ag_str_dup(json);
    e->len = json.len;
    e->expires_ms = now_ms + s->ttl_ms;
    if (owner) {
        e->bound = true;
        memcpy(e->owner, owner, AG_SHA256_SIZE);
    }
    ag_lru_push(&s->lru, &e->node);
    return 0;
}

struct ag_str ag_response_store_get(struct ag_response_store *s, struct ag_str id,
                                    const unsigned char *owner, int64_t now_ms)
{
    struct entry *e = find(s, id);
    if (!e)
        return AG_STR_NULL;
    if (e->expires_ms <= now_ms) {
        unlink_entry(s, e);
        return AG_STR_NULL;
    }
    if (!visible(e, owner))
        return AG_STR_NULL;
    return ag_str_make(e->json, e->len);
}

bool ag_response_store_delete(struct ag_response_store *s, struct ag_str id,
                              const unsigned char *owner, int64_t now_ms)
{
    struct entry *e = find(s, id);
    if (!e || !visible(e, owner))
        return false;
    bool live = e->expires_ms > now_ms;
    unlink_entry(s, e);
    return live;
}

size_t ag_response_store_count(const struct ag_response_store *s)
{
    return s->lru.count;
}

size_t ag_response_store_bytes(const struct ag_response_store *s)
{
    return s->lru.bytes;
}
