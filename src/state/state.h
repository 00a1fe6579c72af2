/* state/state.h: state shared by several gateway instances through Redis (state.redis_url).
 *
 * Each instance keeps its own copy of everything (the pool's cooldowns and sticky sessions stay
 * where they are) and this module only carries changes: what an instance decides locally it
 * publishes (a key with an expiry, for instances that connect later, and a message on the change
 * channel, for the ones connected now), and what others publish arrives through the handlers.
 * When Redis is unreachable nothing waits for it: publications are dropped, requests go on with
 * the local copy, a warning is logged once per outage; when it is back the instance publishes its
 * local state again, loads the keys it missed and asks the others for their accounts, so the
 * copies converge. Key names and the message format: state/keyspace.h.
 *
 * Two connections (state/redis.h): one for commands, one subscribed to the change channel.
 * Loop thread only. */
#ifndef AG_STATE_STATE_H
#define AG_STATE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "state/keyspace.h"

struct ag_state;
struct ag_redis;

/** What other instances publish; every callback borrows m for the call. Any may be NULL. */
struct ag_state_handlers {
    void (*cooldown)(void *ud, const struct ag_state_msg *m);
    void (*sticky)(void *ud, const struct ag_state_msg *m);
    void (*account)(void *ud, const struct ag_state_msg *m);
    /** Redis is reachable (again; also the first time): publish the whole local state. */
    void (*resync)(void *ud);
    /** Another instance (re)connected and asks for the accounts: publish them. */
    void (*sync)(void *ud);
    /** Requests in flight on an account at another instance (m->count, 0 = none now). */
    void (*inflight)(void *ud, const struct ag_state_msg *m);
    /** Every second, whether Redis is up or not: renew what must be renewed, expire what was
     * not renewed. */
    void (*tick)(void *ud);
};

/**
 * Creates the shared state for url (state.redis_url) with key prefix (state.key_prefix) and
 * starts connecting; never blocks. Returns 0 and *out, or AG_EINVAL with why (cap bytes) when the
 * URL is not usable (see ag_state_url_parse).
 */
int ag_state_new(uv_loop_t *loop, const char *url, const char *prefix, struct ag_state **out,
                 char *why, size_t cap);

/** Sets the handlers (copied) and their ud. */
void ag_state_set_handlers(struct ag_state *st, const struct ag_state_handlers *h, void *ud);

/** True while both connections are up and subscribed. NULL: false. */
bool ag_state_up(const struct ag_state *st);

/** This instance's random id (as in its messages). */
const char *ag_state_instance(const struct ag_state *st);

/**
 * Publishes m (its instance is set here): cooldown and sticky messages are also stored under
 * their key until m->until_ms (nothing happens when that has passed); account messages carry
 * rec_json (a JSON object) and are only published. Dropped while Redis is down (the next resync
 * publishes the state anew). NULL st is a no-op.
 */
void ag_state_publish(struct ag_state *st, struct ag_state_msg *m, const char *rec_json);

/** Counters for tests and the log: publications sent, dropped while down, messages applied. */
struct ag_state_stats {
    uint64_t published, dropped, received, outages;
};

/** Copies the counters. */
void ag_state_get_stats(const struct ag_state *st, struct ag_state_stats *out);

/** The command connection, the key prefix and the change channel (for state/stores.c). */
struct ag_redis *ag_state_redis(const struct ag_state *st);
uv_loop_t *ag_state_loop(const struct ag_state *st);
const char *ag_state_prefix(const struct ag_state *st);
const char *ag_state_channel(const struct ag_state *st);

/** The slot where state/stores.c keeps its listeners (freed by ag_state_close). */
void **ag_state_stores_slot(struct ag_state *st);

/** Closes both connections; done(ud) runs once they are (the loop must run). NULL: done at once. */
void ag_state_close(struct ag_state *st, void (*done)(void *ud), void *ud);

#endif
