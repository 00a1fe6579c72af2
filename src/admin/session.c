/* admin/session.c: a fixed-size table of login sessions by token hash (see session.h). */
#include "admin/session.h"

#include "core/err.h"
#include "core/hash.h"
#include "core/mem.h"
#include "core/rand.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(AG_SESSION_HASH_SIZE == AG_SHA256_SIZE, "a session hash is a SHA-256 digest");

struct session {
    bool used;
    unsigned char hash[AG_SESSION_HASH_SIZE];
    int64_t created_ms, expires_ms;
};

struct ag_sessions {
    struct session s[AG_SESSIONS_MAX];
};

struct ag_sessions *ag_sessions_new(void)
{
    return AG_NEW(struct ag_sessions);
}

void ag_sessions_free(struct ag_sessions *s)
{
    free(s);
}

/* A free or expired slot, else the oldest session's. */
static struct session *free_slot(struct ag_sessions *s, int64_t now_ms)
{
    struct session *slot = &s->s[0];
    for (size_t i = 0; i < AG_SESSIONS_MAX; i++) {
        struct session *c = &s->s[i];
        if (!c->used || c->expires_ms <= now_ms)
            return c;
        if (c->created_ms < slot->created_ms)
            slot = c;
    }
    return slot;
}

int ag_sessions_create(struct ag_sessions *s, int64_t now_ms, int64_t ttl_ms, char *token,
                       struct ag_session_row *row)
{
    char hex[49];
    if (ag_random_hex(hex, sizeof(hex), 24))
        return AG_EIO;
    struct session *slot = free_slot(s, now_ms);
    memcpy(token, "ags_", sizeof("ags_"));
    memcpy(token + 4, hex, 49);
    slot->used = true;
    ag_sha256(token, AG_SESSION_TOKEN_SIZE - 1, slot->hash);
    slot->created_ms = now_ms;
    slot->expires_ms = now_ms + ttl_ms;
    if (row) {
        memcpy(row->hash, slot->hash, sizeof(row->hash));
        row->created_ms = slot->created_ms;
        row->expires_ms = slot->expires_ms;
    }
    return 0;
}

void ag_sessions_restore(struct ag_sessions *s, const struct ag_session_row *row, int64_t now_ms)
{
    if (row->expires_ms <= now_ms)
        return;
    struct session *slot = free_slot(s, now_ms);
    slot->used = true;
    memcpy(slot->hash, row->hash, sizeof(slot->hash));
    slot->created_ms = row->created_ms;
    slot->expires_ms = row->expires_ms;
}

static struct session *lookup(struct ag_sessions *s, struct ag_str token)
{
    struct session *hit = NULL;
    unsigned char h[AG_SHA256_SIZE];
    if (token.len != AG_SESSION_TOKEN_SIZE - 1)
        return NULL;
    ag_sha256(token.p, token.len, h);
    for (size_t i = 0; i < AG_SESSIONS_MAX; i++) {
        struct session *c = &s->s[i];
        /* Every slot is compared, in constant time, so timing says nothing about the token. */
        if (c->used &&
            ag_secret_eq((const char *)c->hash, sizeof(c->hash), (const char *)h, sizeof(h)))
            hit = c;
    }
    return hit;
}

bool ag_sessions_valid(struct ag_sessions *s, struct ag_str token, int64_t now_ms)
{
    struct session *c = lookup(s, token);
    return c && c->expires_ms > now_ms;
}

bool ag_sessions_revoke(struct ag_sessions *s, struct ag_str token,
                        unsigned char hash[AG_SESSION_HASH_SIZE])
{
    struct session *c = lookup(s, token);
    if (!c)
        return false;
    if (hash)
        memcpy(hash, c->hash, AG_SESSION_HASH_SIZE);
    memset(c, 0, sizeof(*c));
    return true;
}

void ag_sessions_clear(struct ag_sessions *s)
{
    memset(s->s, 0, sizeof(s->s));
}
