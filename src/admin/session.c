/* admin/session.c: fixed-size tables of sessions and of failed logins (see session.h). */
#include "admin/session.h"

#include "core/err.h"
#include "core/mem.h"
#include "core/rand.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SESSIONS 64
#define MAX_IPS      256
#define WINDOW_MS    60000
#define MAX_FAILS    64 /* failure times kept per address */

struct session {
    char token[AG_SESSION_TOKEN_SIZE];
    int64_t created_ms, expires_ms;
};

struct fails {
    char ip[48];
    int64_t at[MAX_FAILS]; /* ring of failure times */
    unsigned n, head;
    int64_t last_ms;
};

struct ag_sessions {
    struct session s[MAX_SESSIONS];
    struct fails f[MAX_IPS];
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

static struct fails *fails_for(struct ag_sessions *s, const char *ip, bool create)
{
    struct fails *oldest = &s->f[0];
    for (size_t i = 0; i < MAX_IPS; i++) {
        if (s->f[i].ip[0] && strcmp(s->f[i].ip, ip) == 0)
            return &s->f[i];
        if (s->f[i].last_ms < oldest->last_ms)
            oldest = &s->f[i];
    }
    if (!create)
        return NULL;
    memset(oldest, 0, sizeof(*oldest));
    ag_strlcpy(oldest->ip, ip, sizeof(oldest->ip));
    return oldest;
}

/* Failures of f within the minute before now; *first gets the oldest of them. */
static unsigned recent(const struct fails *f, int64_t now_ms, int64_t *first)
{
    unsigned n = 0;
    *first = now_ms;
    for (unsigned i = 0; i < f->n; i++) {
        int64_t t = f->at[i];
        if (t > now_ms - WINDOW_MS) {
            n++;
            if (t < *first)
                *first = t;
        }
    }
    return n;
}

bool ag_sessions_login_allowed(struct ag_sessions *s, const char *ip, int64_t now_ms,
                               int64_t max_failures, int64_t *retry_after_s)
{
    struct fails *f = fails_for(s, ip, false);
    int64_t first;
    if (!f || (int64_t)recent(f, now_ms, &first) < max_failures)
        return true;
    if (retry_after_s)
        *retry_after_s = (first + WINDOW_MS - now_ms + 999) / 1000;
    return false;
}

void ag_sessions_login_failed(struct ag_sessions *s, const char *ip, int64_t now_ms)
{
    struct fails *f = fails_for(s, ip, true);
    f->at[f->head] = now_ms;
    f->head = (f->head + 1) % MAX_FAILS;
    if (f->n < MAX_FAILS)
        f->n++;
    f->last_ms = now_ms;
}
