/* pool/sticky.c: the sticky-session table (see sticky.h): a chained hash table of
 * key -> account id with a sliding expiry, bounded by evicting the binding closest to expiry. */
#include "pool/sticky.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/mem.h"
#include "core/str.h"
#include "store/accounts.h"

#define NBUCKETS 4096

struct binding {
    struct binding *next;
    char *key;
    char account[AG_ACCOUNT_ID_SIZE];
    int64_t expires_ms;
};

struct ag_sticky {
    struct binding *buckets[NBUCKETS];
    size_t len, cap;
};

static size_t hash(const char *k)
{
    return (size_t)(ag_hash_fnv1a(k, strlen(k)) % NBUCKETS);
}

struct ag_sticky *ag_sticky_new(size_t cap)
{
    struct ag_sticky *s = AG_NEW(struct ag_sticky);
    s->cap = cap ? cap : 65536;
    return s;
}

static void unlink_free(struct ag_sticky *s, struct binding **pp)
{
    struct binding *b = *pp;
    *pp = b->next;
    free(b->key);
    free(b);
    s->len--;
}

void ag_sticky_free(struct ag_sticky *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < NBUCKETS; i++) {
        while (s->buckets[i])
            unlink_free(s, &s->buckets[i]);
    }
    free(s);
}

static struct binding **find(struct ag_sticky *s, const char *key)
{
    struct binding **pp = &s->buckets[hash(key)];
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

const char *ag_sticky_get(struct ag_sticky *s, const char *key, int64_t now_ms)
{
    struct binding **pp;
    if (!s || !key || !*key)
        return NULL;
    pp = find(s, key);
    if (!*pp)
        return NULL;
    if ((*pp)->expires_ms <= now_ms) {
        unlink_free(s, pp);
        return NULL;
    }
    return (*pp)->account;
}

/* Drops expired bindings; when none expired, the one closest to expiry. */
static void make_room(struct ag_sticky *s, int64_t now_ms)
{
    struct binding **oldest = NULL;
    bool freed = false;
    for (size_t i = 0; i < NBUCKETS; i++) {
        struct binding **pp = &s->buckets[i];
        while (*pp) {
            if ((*pp)->expires_ms <= now_ms) {
                unlink_free(s, pp);
                freed = true;
                continue;
            }
            if (!oldest || (*pp)->expires_ms < (*oldest)->expires_ms)
                oldest = pp;
            pp = &(*pp)->next;
        }
    }
    /* oldest may point into a chain that was changed after it was taken: find it again. */
    if (!freed && oldest) {
        char *key = ag_strdup((*oldest)->key);
        struct binding **pp = find(s, key);
        if (*pp)
            unlink_free(s, pp);
        free(key);
    }
}

void ag_sticky_bind(struct ag_sticky *s, const char *key, const char *account_id, int64_t now_ms,
                    int64_t ttl_ms)
{
    struct binding **pp, *b;
    if (!s || !key || !*key || !account_id)
        return;
    pp = find(s, key);
    if (ttl_ms <= 0) {
        if (*pp)
            unlink_free(s, pp);
        return;
    }
    if (!*pp) {
        if (s->len >= s->cap) {
            make_room(s, now_ms);
            pp = find(s, key);
        }
        b = AG_NEW(struct binding);
        b->key = ag_strdup(key);
        b->next = NULL;
        *pp = b;
        s->len++;
    }
    b = *pp;
    ag_strlcpy(b->account, account_id, sizeof(b->account));
    b->expires_ms = now_ms + ttl_ms;
}

void ag_sticky_unbind(struct ag_sticky *s, const char *key)
{
    struct binding **pp;
    if (!s || !key || !*key)
        return;
    pp = find(s, key);
    if (*pp)
        unlink_free(s, pp);
}

void ag_sticky_forget_account(struct ag_sticky *s, const char *account_id)
{
    if (!s || !account_id)
        return;
    for (size_t i = 0; i < NBUCKETS; i++) {
        struct binding **pp = &s->buckets[i];
        while (*pp) {
            if (strcmp((*pp)->account, account_id) == 0)
                unlink_free(s, pp);
            else
                pp = &(*pp)->next;
        }
    }
}

size_t ag_sticky_count(struct ag_sticky *s, int64_t now_ms)
{
    if (!s)
        return 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        struct binding **pp = &s->buckets[i];
        while (*pp) {
            if ((*pp)->expires_ms <= now_ms)
                unlink_free(s, pp);
            else
                pp = &(*pp)->next;
        }
    }
    return s->len;
}

size_t ag_sticky_clear(struct ag_sticky *s)
{
    size_t n = s ? s->len : 0;
    for (size_t i = 0; s && i < NBUCKETS; i++) {
        while (s->buckets[i])
            unlink_free(s, &s->buckets[i]);
    }
    return n;
}

void ag_sticky_foreach(struct ag_sticky *s, int64_t now_ms,
                       void (*fn)(void *ud, const char *key, const char *account_id,
                                  int64_t expires_ms),
                       void *ud)
{
    for (size_t i = 0; i < NBUCKETS; i++) {
        for (const struct binding *b = s->buckets[i]; b; b = b->next) {
            if (b->expires_ms > now_ms)
                fn(ud, b->key, b->account, b->expires_ms);
        }
    }
}
