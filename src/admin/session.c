/* admin/session.c: a fixed-size table of login sessions (see session.h). */
#include "admin/session.h"

#include "core/err.h"
#include "core/mem.h"
#include "core/rand.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SESSIONS 64

struct session {
    char token[AG_SESSION_TOKEN_SIZE];
    int64_t created_ms, expires_ms;
};

struct ag_sessions {
    struct session s[MAX_SESSIONS];
};

struct ag_sessions *ag_sessions_new(void)
{
    return AG_NEW(struct ag_sessions);
}

void ag_sessions_free(struct ag_sessions *s)
{
    free(s);
}

int ag_sessions_create(struct ag_sessions *s, int64_t now_ms, int64_t ttl_ms, char *token)
{
    struct session *slot = &s->s[0];
    for (size_t i = 0; i < MAX_SESSIONS; i++) {
        struct session *c = &s->s[i];
        if (!c->token[0] || c->expires_ms <= now_ms) {
            slot = c;
            break;
        }
        if (c->created_ms < slot->created_ms)
            slot = c;
    }
    char hex[49];
    if (ag_random_hex(hex, sizeof(hex), 24))
        return AG_EIO;
    memcpy(slot->token, "ags_", 4);
    memcpy(slot->token + 4, hex, 49);
    slot->created_ms = now_ms;
    slot->expires_ms = now_ms + ttl_ms;
    memcpy(token, slot->token, AG_SESSION_TOKEN_SIZE);
    return 0;
}

static struct session *lookup(struct ag_sessions *s, struct ag_str token)
{
    struct session *hit = NULL;
    if (token.len != AG_SESSION_TOKEN_SIZE - 1)
        return NULL;
    for (size_t i = 0; i < MAX_SESSIONS; i++) {
        struct session *c = &s->s[i];
        /* Every slot is compared, in constant time, so timing says nothing about the token. */
        if (c->token[0] && ag_secret_eq(c->token, AG_SESSION_TOKEN_SIZE - 1, token.p, token.len))
            hit = c;
    }
    return hit;
}

bool ag_sessions_valid(struct ag_sessions *s, struct ag_str token, int64_t now_ms)
{
    struct session *c = lookup(s, token);
    return c && c->expires_ms > now_ms;
}

bool ag_sessions_revoke(struct ag_sessions *s, struct ag_str token)
{
    struct session *c = lookup(s, token);
    if (!c)
        return false;
    memset(c, 0, sizeof(*c));
    return true;
}

void ag_sessions_clear(struct ag_sessions *s)
{
    memset(s->s, 0, sizeof(s->s));
}
