/* relay/response_store.c: a chained hash table with an insertion-ordered list for eviction (see
 * response_store.h). */
#include "relay/response_store.h"

#include "core/err.h"
#include "core/hash.h"
#include "core/mem.h"
#include "core/rand.h"

#include <stdlib.h>
#include <string.h>

#define NBUCKETS 1024

struct entry {
    struct entry *hnext;         /* bucket chain */
    struct entry *older, *newer; /* eviction order */
    int64_t expires_ms;
    bool bound; /* owner holds the SHA-256 of the storing caller's credential */
    unsigned char owner[AG_SHA256_SIZE];
    size_t idlen, len;
    char *id;
    char *json;
};

struct ag_response_store {
    struct entry *buckets[NBUCKETS];
    struct entry *oldest, *newest;
    size_t count, bytes;
    size_t max_entries, max_bytes;
    int64_t ttl_ms;
};

static size_t hash(struct ag_str id)
{
    return (size_t)(ag_hash_fnv1a(id.p, id.len) % NBUCKETS);
}

struct ag_response_store *ag_response_store_new(size_t max_entries, size_t max_bytes,
                                                int64_t ttl_ms)
{
    struct ag_response_store *s = AG_NEW(struct ag_response_store);
    s->max_entries = max_entries ? max_entries : 1000;
    s->max_bytes = max_bytes ? max_bytes : 64u * 1024 * 1024;
    s->ttl_ms = ttl_ms > 0 ? ttl_ms : 3600 * 1000;
    return s;
}

static struct entry **find(struct ag_response_store *s, struct ag_str id)
{
    struct entry **pp = &s->buckets[hash(id)];
    while (*pp && !((*pp)->idlen == id.len && memcmp((*pp)->id, id.p, id.len) == 0))
        pp = &(*pp)->hnext;
    return pp;
}

static void unlink_entry(struct ag_response_store *s, struct entry **pp)
{
    struct entry *e = *pp;
    *pp = e->hnext;
    if (e->older)
        e->older->newer = e->newer;
    else
        s->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        s->newest = e->older;
    s->count--;
    s->bytes -= e->len + e->idlen;
    free(e->id);
    free(e->json);
    free(e);
}

void ag_response_store_free(struct ag_response_store *s)
{
    if (!s)
        return;
    while (s->oldest) {
        struct ag_str id = ag_str_make(s->oldest->id, s->oldest->idlen);
        unlink_entry(s, find(s, id));
    }
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
    struct entry **pp = find(s, id);
    if (*pp)
        unlink_entry(s, pp);
    /* Make room: expired entries and then the oldest ones. */
    while (s->oldest &&
           (s->count + 1 > s->max_entries || s->bytes + json.len + id.len > s->max_bytes ||
            s->oldest->expires_ms <= now_ms)) {
        struct ag_str oid = ag_str_make(s->oldest->id, s->oldest->idlen);
        unlink_entry(s, find(s, oid));
    }
    struct entry *e = AG_NEW(struct entry);
    e->id = ag_str_dup(id);
    e->idlen = id.len;
    e->json = ag_str_dup(json);
    e->len = json.len;
    e->expires_ms = now_ms + s->ttl_ms;
    if (owner) {
        e->bound = true;
        memcpy(e->owner, owner, AG_SHA256_SIZE);
    }
    pp = find(s, id);
    e->hnext = *pp;
    *pp = e;
    e->older = s->newest;
    if (s->newest)
        s->newest->newer = e;
    else
        s->oldest = e;
    s->newest = e;
    s->count++;
    s->bytes += e->len + e->idlen;
    return 0;
}

struct ag_str ag_response_store_get(struct ag_response_store *s, struct ag_str id,
                                    const unsigned char *owner, int64_t now_ms)
{
    struct entry **pp = find(s, id);
    if (!*pp)
        return AG_STR_NULL;
    if ((*pp)->expires_ms <= now_ms) {
        unlink_entry(s, pp);
        return AG_STR_NULL;
    }
    if (!visible(*pp, owner))
        return AG_STR_NULL;
    return ag_str_make((*pp)->json, (*pp)->len);
}

bool ag_response_store_delete(struct ag_response_store *s, struct ag_str id,
                              const unsigned char *owner, int64_t now_ms)
{
    struct entry **pp = find(s, id);
    if (!*pp || !visible(*pp, owner))
        return false;
    bool live = (*pp)->expires_ms > now_ms;
    unlink_entry(s, pp);
    return live;
}

size_t ag_response_store_count(const struct ag_response_store *s)
{
    return s->count;
}

size_t ag_response_store_bytes(const struct ag_response_store *s)
{
    return s->bytes;
}
