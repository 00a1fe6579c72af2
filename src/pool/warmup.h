/* pool/warmup.h: which account x quota group a warm-up may start, by the pool's knowledge — the
 * account's state, its cooldowns and its stored quota. A warm-up is one tiny request that makes
 * the upstream start a quota window (the 5-hour windows of Cloud Code) at a time the user chose;
 * it only makes sense where the window has not started, that is where the group's quota is full.
 * The rule is Antigravity Manager's: only a model at 100 % remaining is pinged, never a disabled,
 * forbidden or cooling-down account. Sending is the relay's (relay/warmup.h).
 *
 * Threading: the pool's loop thread, like everything in pool.h. */
#ifndef AG_POOL_WARMUP_H
#define AG_POOL_WARMUP_H

#include <stdbool.h>
#include <stdint.h>

#include "pool/pool.h"

/** A group's quota counts as full (its window not started) from this remaining fraction up. */
#define AG_POOL_WARM_FULL 0.999

/** Why an account x group may or may not be warmed up. */
enum ag_pool_warm_verdict {
    AG_POOL_WARM_GO = 0,         /* enabled, not cooling, the group's quota is full */
    AG_POOL_WARM_UNKNOWN,        /* no such account */
    AG_POOL_WARM_DISABLED,       /* disabled by the user or by invalid_grant */
    AG_POOL_WARM_FORBIDDEN,      /* the upstream answered 403 (until cleared or it ends) */
    AG_POOL_WARM_COOLING,        /* a cooldown blocks the group (or the whole account) */
    AG_POOL_WARM_QUOTA_UNKNOWN,  /* quota never fetched */
    AG_POOL_WARM_NO_MODEL,       /* the account lists no model of the group */
    AG_POOL_WARM_QUOTA_NOT_FULL, /* some quota is used: the window is already counting down */
};

/** Short stable name of a verdict ("go", "disabled", "cooling", "quota_not_full", ...). */
const char *ag_pool_warm_verdict_name(enum ag_pool_warm_verdict v);

/** What ag_pool_warm_check decided, with the model to send. */
struct ag_pool_warm {
    enum ag_pool_warm_verdict verdict;
    char model[AG_POOL_GROUP_MAX]; /* GO: the model id to ping (listed by the account, at full
                                      quota, not known to answer 404 there); else "" */
    double remaining;              /* the group's best remaining fraction; -1 = unknown */
    int64_t cooling_until_ms;      /* COOLING: when it ends (0 = half-open probe in flight) */
};

/**
 * Decides whether account_id may be warmed up for quota group (a name of
 * route/models.h ag_models_quota_group) now, and with which model: among the account's listed
 * models of that group at full quota, preferred (may be NULL) when it is one of them, else the
 * first without "-thinking", else the first. Fills *out. Pure reading: nothing changes.
 */
void ag_pool_warm_check(struct ag_pool *p, const char *account_id, const char *group,
                        const char *preferred, struct ag_pool_warm *out);

#endif
