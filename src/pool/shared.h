/* pool/shared.h: the pool's side of the state shared with other instances (state/state.h).
 * What this pool decides it publishes: a cooldown of account x group (with its reason) as soon as
 * it is set, a sticky-session binding whenever a session is bound, an account's record when the
 * pool (re)loads it new or changed, its requests in flight per account when they change (renewed
 * every second while non-zero). What other instances publish it applies: their cooldowns (the
 * later end wins, so no instance sends to an account another saw limited), their bindings, and
 * their accounts (stored in this instance's store, then reloaded: an account added through one
 * instance serves on all of them within a second), and their requests in flight per account
 * (added to this pool's own where scheduling.max_concurrency_per_account and "least busy"
 * apply; forgotten 3 s after the last renewal). Accounts are named by their e-mail, because
 * ids differ between instances with their own data directories.
 *
 * Account records carry their refresh token or API key over the Redis connection (not stored in
 * Redis): docs/deploy.md says to keep Redis on a private network. Loop thread only. */
#ifndef AG_POOL_SHARED_H
#define AG_POOL_SHARED_H

struct ag_pool;
struct ag_state;

/**
 * Connects the pool to st (borrowed; it must outlive the pool or be detached with NULL first):
 * sets st's handlers. NULL detaches (nothing is published from then on).
 */
void ag_pool_set_state(struct ag_pool *p, struct ag_state *st);

#endif
