/* state/keyshare.h: the per-key limits of user keys shared by several gateway instances through
 * Redis (state.redis_url), beside the account state of state/state.h.
 *
 * Every instance keeps enforcing its keys with its own counters (keys/keys.h) and never waits for
 * Redis before a request goes on; this module only carries what each instance takes, so the
 * others count it too:
 *  - leases: each instance announces, per key, its requests in flight and the tokens they
 *    reserve when they change, and renews them every second while requests run; a lease not
 *    renewed for 3 s (a crashed or cut-off instance) is dropped, so its requests stop counting;
 *  - usage: the requests and tokens a request takes from the rate buckets and the tokens it
 *    settles in the daily and monthly budgets, published at once (the others apply them within
 *    a second, normally within milliseconds) and added to windowed counters in Redis (INCRBY with
 *    an expiry), from which an instance that starts or reconnects loads the current minute, day
 *    and month.
 * Budget tokens settled while Redis is down are added to its counters when it is back (at most
 * AG_KEYSHARE_PENDING_MAX keys' worth; more is logged and counted as lost).
 *
 * Its own two connections (state/redis.h): one for commands, one subscribed to <prefix>keys. Key
 * names and the message format: state/keyspace.h. Loop thread only. */
#ifndef AG_STATE_KEYSHARE_H
#define AG_STATE_KEYSHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "state/keyspace.h"

struct ag_keyshare;

/** Leases of other instances remembered at most (instance x key); more are ignored. */
#define AG_KEYSHARE_LEASES_MAX 4096
/** A lease not renewed for this long is dropped. */
#define AG_KEYSHARE_LEASE_TTL_MS 3000
/** Keys whose budget tokens settled during an outage are kept for Redis at most. */
#define AG_KEYSHARE_PENDING_MAX 4096

/** What ag_keyshare_load found in Redis for one key. */
struct ag_keyshare_windows {
    int64_t req_cur, req_prev; /* requests begun this minute, and the minute before */
    int64_t tok_cur, tok_prev; /* tokens taken this minute, and the minute before */
    int64_t ms_into_minute;    /* how far this minute had gone when asked (0..59999) */
    int64_t day, month;        /* tokens settled in the periods asked for */
    int64_t day_start, month_start;
};

/** What arrives from the others; ud is the one given to ag_keyshare_set_handlers. Any may be
 * NULL. */
struct ag_keyshare_handlers {
    /** Another instance took m->requests / m->tokens and settled m->used (m borrowed). */
    void (*usage)(void *ud, const struct ag_state_keymsg *m);
    /** The other instances' leases on key now add up to in_flight requests reserving reserved
     * tokens (0, 0: none). */
    void (*flight)(void *ud, const char *key, int64_t in_flight, int64_t reserved);
    /** The answer of ag_keyshare_load for key (w borrowed). */
    void (*loaded)(void *ud, const char *key, const struct ag_keyshare_windows *w);
    /** Redis is reachable (again; also the first time): load the limited keys and publish the
     * leases. */
    void (*resync)(void *ud);
    /** Every second, whether Redis is up or not: renew the leases of keys in use. */
    void (*tick)(void *ud);
};

/**
 * Creates the sharing for url (state.redis_url) and prefix (state.key_prefix) and starts
 * connecting; never blocks. fail_closed (state.on_redis_down = closed) makes ag_keyshare_refuses
 * true while Redis is out of reach. Returns 0 and *out, or AG_EINVAL with why (cap bytes).
 */
int ag_keyshare_new(uv_loop_t *loop, const char *url, const char *prefix, bool fail_closed,
                    struct ag_keyshare **out, char *why, size_t cap);

/** Sets the handlers (copied) and their ud. */
void ag_keyshare_set_handlers(struct ag_keyshare *sh, const struct ag_keyshare_handlers *h,
                              void *ud);

/** True while both connections are up and subscribed. NULL: false. */
bool ag_keyshare_up(const struct ag_keyshare *sh);

/** True when limited keys must be refused now: fail_closed and Redis out of reach (also before
 * the first connection). NULL: false. */
bool ag_keyshare_refuses(const struct ag_keyshare *sh);

/** Which Redis windows ag_keyshare_publish adds m's numbers to. */
enum {
    AG_KEYSHARE_RPM = 1,   /* requests to the minute's r window */
    AG_KEYSHARE_TPM = 2,   /* tokens to the minute's t window */
    AG_KEYSHARE_DAY = 4,   /* used to the d window of m->day_start */
    AG_KEYSHARE_MONTH = 8, /* used to the m window of m->month_start */
};

/**
 * Publishes this instance's change of a key (its instance is set here): adds the numbers to the
 * windows named by the bits of windows, and sends m on the channel. While Redis is down the
 * message is dropped (leases are renewed anyway) and budget tokens wait for it. NULL sh: no-op.
 */
void ag_keyshare_publish(struct ag_keyshare *sh, struct ag_state_keymsg *m, unsigned windows);

/** Asks Redis for key's current windows (day_start, month_start: the periods, unix s); the
 * loaded handler gets them later. Nothing while Redis is down. */
void ag_keyshare_load(struct ag_keyshare *sh, const char *key, int64_t day_start,
                      int64_t month_start);

/** Counters for tests and the log. */
struct ag_keyshare_stats {
    uint64_t published, dropped, received, loads, lost;
};

/** Copies the counters. */
void ag_keyshare_get_stats(const struct ag_keyshare *sh, struct ag_keyshare_stats *out);

/** Closes both connections; done(ud) runs once they are (the loop must run). NULL: done at once.
 */
void ag_keyshare_close(struct ag_keyshare *sh, void (*done)(void *ud), void *ud);

#endif
