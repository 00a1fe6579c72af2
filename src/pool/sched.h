/* pool/sched.h: scheduler strategies. The pool filters its accounts down to the usable
 * candidates for one acquisition (enabled, not forbidden, not excluded, not cooling down for the
 * group, fixed-account handling done) and asks the active strategy to pick one. A strategy is a
 * const struct of function pointers with its own opaque state; adding balance / cache_first /
 * performance_first means adding a table here, not touching the pool.
 *
 * Threading: loop thread only, like the pool. */
#ifndef AG_POOL_SCHED_H
#define AG_POOL_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "store/accounts.h"

struct ag_config;

/** One usable account as a strategy sees it; borrowed for the pick call. */
struct ag_sched_cand {
    const char *id;
    const char *email;
    size_t order; /* position in the pool's full list (stable across picks) */
    enum ag_tier tier;
    unsigned inflight;    /* leases outstanding on this account */
    double remaining;     /* quota fraction left for the group (0..1), -1 = unknown */
    int64_t reset_at;     /* unix s of the group's quota reset, 0 = unknown */
    int64_t last_used_ms; /* unix ms of this account's last lease, 0 = never (this process) */
};

/** What the acquisition is for; borrowed for the pick call. */
struct ag_sched_ctx {
    const char *group;       /* "" when none */
    const char *model;       /* "" when unknown */
    const char *session_key; /* "" when none */
    int64_t now_ms;
    const struct ag_config *cfg;
};

struct ag_sched_strategy {
    const char *name;
    /** Creates the strategy's state (NULL when it keeps none); pick and forget receive it. */
    void *(*create)(void);
    /** Frees the state; NULL-safe. */
    void (*destroy)(void *state);
    /** Picks one of n >= 1 candidates: returns its index in [0, n). */
    size_t (*pick)(void *state, const struct ag_sched_ctx *ctx, const struct ag_sched_cand *c,
                   size_t n);
    /** The pool forgets an account (removed); strategies holding its id drop it. May be NULL. */
    void (*forget)(void *state, const char *account_id);
};

/** Round robin over the candidates in pool order: the one after the last pick, wrapping. */
extern const struct ag_sched_strategy ag_sched_round_robin;

/** The strategy for a config snapshot (today always round robin; scheduling.mode chooses the
 * others once they exist). Never NULL. */
const struct ag_sched_strategy *ag_sched_for_config(const struct ag_config *cfg);

#endif
