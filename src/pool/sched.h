/* pool/sched.h: scheduler strategies and the pure rules they share. The pool filters its accounts
 * down to the usable candidates for one acquisition (enabled, not forbidden, not excluded, not
 * cooling down for the group, then ag_sched_admit: quota left, not protected, under the
 * concurrency limit), sorts them with ag_sched_compare, handles the fixed account and sticky
 * sessions (pool/sticky.h), and asks the active strategy to pick one.
 *
 * A strategy is a const struct of function pointers with its own opaque state: one row per
 * scheduling.mode (balance, cache_first, performance_first). Everything random or time-dependent
 * comes through struct ag_sched_ctx, so tests inject a clock and a random source.
 *
 * Threading: loop thread only, like the pool. */
#ifndef AG_POOL_SCHED_H
#define AG_POOL_SCHED_H

#include <stdbool.h>
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
    unsigned inflight; /* leases outstanding on this account */
    double remaining;  /* quota fraction left for the group (0..1), -1 = unknown */
    int64_t reset_at;  /* unix s of the group's quota reset, 0 = unknown */
    uint64_t last_use; /* pool-wide sequence number of this account's last lease, 0 = never */
    void *ref;         /* the pool's own pointer; strategies do not touch it */
};

/** What the acquisition is for; borrowed for the pick call. */
struct ag_sched_ctx {
    const char *group;       /* "" when none */
    const char *model;       /* "" when unknown */
    const char *session_key; /* "" when none */
    int64_t now_ms;
    const struct ag_config *cfg;
    uint64_t (*rand)(void *ud); /* random source; NULL = the process's (core/rand.h) */
    void *rand_ud;
};

/** Why an otherwise usable account is not a candidate (ag_sched_admit). */
enum ag_sched_admission {
    AG_SCHED_ADMIT = 0,
    AG_SCHED_NO_QUOTA,  /* remaining 0 for the group and the reset is still ahead */
    AG_SCHED_PROTECTED, /* remaining under quota.protection_threshold percent */
    AG_SCHED_BUSY,      /* inflight at scheduling.max_concurrency_per_account */
};

/**
 * Decides whether c may serve the acquisition of ctx. For NO_QUOTA and PROTECTED, *until_ms (may
 * be NULL) gets the quota reset in unix ms (0 when unknown). A reset that already passed makes
 * the stored fraction stale: the account is admitted (its quota is refreshed meanwhile).
 */
enum ag_sched_admission ag_sched_admit(const struct ag_sched_cand *c,
                                       const struct ag_sched_ctx *ctx, int64_t *until_ms);

/**
 * The candidate order every strategy starts from: higher tier first; then more quota left for
 * the group, in 10-point bands (accounts within a band are equals, so load spreads; unknown
 * quota after known); then the earlier quota reset, in 10-minute bands (unknown last). Returns
 * <0 when a goes first, >0 when b does, 0 for equals. A total preorder (transitive).
 */
int ag_sched_compare(const struct ag_sched_cand *a, const struct ag_sched_cand *b);

/** Sorts c[0..n) by ag_sched_compare, stable (equals keep pool order). */
void ag_sched_sort(struct ag_sched_cand *c, size_t n);

/** A random number from ctx's source. */
uint64_t ag_sched_random(const struct ag_sched_ctx *ctx);

struct ag_sched_strategy {
    const char *name;
    bool sticky;      /* sessions are bound to the account that served them (pool/sticky.h) */
    bool wait_sticky; /* a bound account that cools down (or is busy) is waited for, up to
                         scheduling.max_wait_s, rather than left */
    /** Creates the strategy's state (NULL when it keeps none); pick and forget receive it. */
    void *(*create)(void);
    /** Frees the state; NULL-safe. */
    void (*destroy)(void *state);
    /**
     * Picks one of n >= 1 candidates, sorted by ag_sched_compare: returns its index in [0, n)
     * and sets *why to a static phrase for the selection log line.
     */
    size_t (*pick)(void *state, const struct ag_sched_ctx *ctx, const struct ag_sched_cand *c,
                   size_t n, const char **why);
    /** The pool forgets an account (removed); strategies holding its id drop it. May be NULL. */
    void (*forget)(void *state, const char *account_id);
};

/** Sticky sessions; otherwise the best band, least busy, least recently used (spreads load). */
extern const struct ag_sched_strategy ag_sched_balance;
/** As balance, but a session waits for its account's cooldown rather than moving. */
extern const struct ag_sched_strategy ag_sched_cache_first;
/** No stickiness: power of two choices over the best five candidates (least busy wins). */
extern const struct ag_sched_strategy ag_sched_performance_first;

/** The strategy for a config snapshot (scheduling.mode). Never NULL. */
const struct ag_sched_strategy *ag_sched_for_config(const struct ag_config *cfg);

#endif
