/* pool/pool.h: the account pool of a running gateway. It owns the in-memory view of every account
 * (loaded from the store, reloaded when the store's change counter moves), the runtime state the
 * store does not keep (cooldowns per account x quota group, in-flight counts, last errors), token
 * refresh and project-id lookup (single-flight per account, pool/tokens.c), and account selection
 * through a scheduler strategy (pool/sched.h).
 *
 * Threading: every function here runs on the loop thread given to ag_pool_new; nothing is
 * thread-safe. The pool reads and writes its struct ag_store synchronously on that thread, but only
 * for rare events (reload after a change, storing refreshed tokens, disabling or forbidding an
 * account); per-request last-used touches go through the writer thread.
 *
 * A request's life, as the relay sees it:
 *   1. w = ag_pool_acquire(pool, &want, cb, ud): the callback runs later, once, with a lease or an
 *      error. The callback is ALWAYS deferred (never inside ag_pool_acquire), even when no refresh
 *      is needed, so callers never see re-entrancy.
 *   2. send the upstream request with lease->access_token, lease->project_id, lease->proxy_url;
 *   3. ag_pool_report(pool, lease->account_id, &outcome) for the attempt (success or failure);
 *   4. ag_pool_release(pool, lease) when done with that account (the in-flight count drops);
 *   5. on a retryable failure, acquire again with the failed account in want.exclude.
 * A client that goes away before the callback calls ag_pool_acquire_cancel(w).
 */
#ifndef AG_POOL_POOL_H
#define AG_POOL_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/failure.h"
#include "store/accounts.h"
#include "store/provider.h"

struct ag_config;
struct ag_errclass;
struct ag_forward;
struct ag_store;
struct ag_upstream_client;
struct ag_writer;

struct ag_pool;
struct ag_pool_wait;

/* ---- policy constants (documented behaviour; candidates for config keys later) ---- */

/** A token is refreshed when now >= expiry - this many seconds. */
#define AG_POOL_REFRESH_SKEW_S 90
/** Cooldown steps (ms) for a 429 / 5xx without an upstream delay: 5 s, 10 s, 20 s, 40 s, then
 * 60 s for every further consecutive failure (never the 30-minute lockouts of Antigravity Manager).
 */
#define AG_POOL_COOLDOWN_BASE_MS 5000
#define AG_POOL_COOLDOWN_MAX_MS  60000
/** Margin added to an upstream retry delay before the account is tried again. */
#define AG_POOL_DELAY_MARGIN_MS 500
/** Account-wide cooldown after a transport failure (connect, TLS, proxy, reset). */
#define AG_POOL_TRANSPORT_COOLDOWN_MS 5000
/** How long a 403 VALIDATION_REQUIRED blocks an account (stored as forbidden_until). */
#define AG_POOL_VALIDATION_BLOCK_S 600
/** When every candidate is cooling down and the soonest cooldown ends within this, the acquisition
 * waits for it instead of failing at once. */
#define AG_POOL_SHORT_WAIT_MS 2000
/** Request-level rejection: a 429 on an account that reported a success
 * within this window, with no other unconfirmed 429 since, is "suspect": no cooldown. A second
 * 429 on it before a success confirms an account limit (then it cools down as usual). A retry
 * whose excluded accounts include scheduling.reject_request_after suspects (each within this
 * window) is denied with AG_POOL_DENY_REQUEST_REJECTED: the request is answered, not rotated. */
#define AG_POOL_REQUEST_WINDOW_MS 30000
/** A quota refresh after a quota error is not repeated for the same account within this. */
#define AG_POOL_QUOTA_DEBOUNCE_MS 60000
/** Quota refreshes in flight at once. */
#define AG_POOL_QUOTA_PARALLEL 2
/** Longest quota-group / model name kept (including NUL); longer names are cut. */
#define AG_POOL_GROUP_MAX 128

/** What the caller wants an account for. Everything is borrowed for the ag_pool_acquire call only
 * (the pool copies what it keeps). */
struct ag_pool_want {
    const char *group; /* quota group (route/models.h ag_models_quota_group);
                          NULL/"" = model, or no group */
    const char *model; /* upstream model id; NULL/"" = unknown */
    /* Per-account model choice: the ids that may serve the request, in preference order (the
     * routed id first, then its family's alternatives). Each account gets the first one it lists
     * that has not answered 404 there; an account whose model list is known and lists none of
     * them is skipped, unless no account lists any of them (then the upstream decides). NULL/0 =
     * model only. */
    const char *const *models;
    size_t nmodels;
    const char *session_key;    /* sticky-session key; NULL/"" = none (API-key wants ignore it) */
    const char *const *exclude; /* account ids already tried for this request */
    size_t nexclude;
    /* Which accounts may serve (routing.rules targets, config/routing.h). NULL/"" = the Google
     * (Cloud Code) accounts, as always; a kind name of store/provider.h ("google" included) = the
     * accounts of that kind; AG_POOL_ANY_PROVIDER = any API-key account whose models list names
     * one of the wanted models. */
    const char *provider;
    /* Only the account with this label (of any kind; provider is then not looked at). NULL/"" =
     * any label. */
    const char *label;
};

/** ag_pool_want.provider for "any API-key account that lists the model". */
#define AG_POOL_ANY_PROVIDER "*"

/**
 * An account handed to one request. Owned by the pool; valid from the acquire callback until
 * ag_pool_release(pool, lease), even if the account is removed or reloaded meanwhile (the strings
 * are the lease's own copies). Every string is non-NULL ("" when unset). Contains the access
 * token: never log it.
 */
struct ag_lease {
    char account_id[AG_ACCOUNT_ID_SIZE];
    const char *email;
    const char *access_token; /* valid for at least AG_POOL_REFRESH_SKEW_S more seconds */
    const char *project_id;   /* a real Cloud Code project (never an invented fallback) */
    const char *proxy_url;    /* the account's proxy, else config upstream.proxy_url; "" = direct */
    enum ag_tier tier;
    const char *group; /* the group the lease was acquired for ("" when none) */
    const char *model; /* the model id chosen for this account (see ag_pool_want.models); ""
                          when the want named none */
    uint32_t max_output_tokens; /* that model's limits as this account reported them; 0 = */
    uint32_t thinking_budget;   /* not reported (use the built-in table) */
    /* API-key accounts (store/provider.h); kind is AG_PROVIDER_GOOGLE and the strings "" for
     * Cloud Code accounts. api_key is a secret: never log it. */
    enum ag_provider kind;
    const char *api_key;
    const char *base_url; /* the admin's base URL; "" = the kind's default */
    const char *label;    /* the account's label; "" when none */
};

/** Why an acquisition failed; valid during the callback only. */
enum ag_pool_denial_kind {
    AG_POOL_DENY_NONE = 0,
    AG_POOL_DENY_NO_ACCOUNTS,    /* no account configured at all */
    AG_POOL_DENY_ALL_DISABLED,   /* every account is disabled or forbidden */
    AG_POOL_DENY_ALL_EXCLUDED,   /* every usable account is in want.exclude */
    AG_POOL_DENY_COOLING,        /* every remaining account cools down for this group; see until */
    AG_POOL_DENY_REFRESH_FAILED, /* the candidates' token refresh or project lookup failed */
    AG_POOL_DENY_CANCELED,       /* the pool is closing */
    AG_POOL_DENY_REQUEST_REJECTED, /* the request itself was refused (429) by accounts that
                                      keep serving others: answer its last error, stop rotating */
    AG_POOL_DENY_BUSY,             /* every candidate is at its concurrency limit, and stayed
                                      so for scheduling.max_wait_s */
    AG_POOL_DENY_NO_MODEL,         /* no usable account offers the model (none lists it, or it
                                      answered 404 on each): the client gets a 404 */
};

struct ag_pool_denial {
    enum ag_pool_denial_kind kind;
    int64_t until_ms;    /* COOLING: unix ms when the first account becomes usable again */
    const char *message; /* one sentence for the client's 503 ("all 3 accounts are cooling down
                            for claude until 2025-01-01T10:00:05Z"); never contains secrets */
};

/**
 * Acquisition result, called exactly once per successful ag_pool_acquire (unless canceled), on
 * the loop, never inside ag_pool_acquire itself.
 *   err 0: lease is valid until ag_pool_release; denial is NULL.
 *   err AG_ENOTFOUND: no usable account (none configured, all disabled/forbidden/excluded, all
 *     cooling down); the relay answers 503 with denial->message. lease is NULL.
 *   err AG_EAUTH: the candidate accounts' refresh (or project lookup) failed; accounts that
 *     answered invalid_grant are disabled already. The relay may try again or answer 503.
 *   err AG_ECANCELED: the pool is closing.
 */
typedef void (*ag_pool_acquire_cb)(int err, const struct ag_lease *lease,
                                   const struct ag_pool_denial *denial, void *ud);

/* What happened to one attempt on an account: enum ag_pool_outcome_kind (core/failure.h, where
 * each upstream failure kind names its outcome). */

/** An attempt's outcome; everything borrowed for the ag_pool_report call. */
struct ag_pool_outcome {
    enum ag_pool_outcome_kind kind;
    const char *group;          /* quota group of the attempt (as in want); NULL/"" = the model
                                   is the key; both empty = the whole account */
    const char *model;          /* upstream model (messages); may be NULL */
    int status;                 /* HTTP status, 0 for transport failures */
    int64_t retry_delay_ms;     /* upstream's hint; <= 0 = none (short default cooldown steps) */
    bool quota_exhausted;       /* 429 says the quota is used up (long delay trusted as given) */
    bool model_capacity;        /* 429 for model capacity: everyone's problem, tiny cooldown */
    bool validation_required;   /* 403 VALIDATION_REQUIRED: timed block */
    const char *reason;         /* upstream reason ("QUOTA_EXHAUSTED"); may be NULL */
    const char *validation_url; /* 403; may be NULL */
    const char *message;        /* upstream message, for last_error; may be NULL */
    uint64_t tokens_in, tokens_out; /* success: tokens used (informational) */
};

/**
 * Fills o from an upstream classification (upstream/errclass.h). group/model are borrowed into o
 * as given; ec must outlive o's use (reason, message, validation_url point into it).
 */
void ag_pool_outcome_from_errclass(const struct ag_errclass *ec, const char *group,
                                   const char *model, struct ag_pool_outcome *o);

/**
 * Creates a pool on loop and loads the accounts from store (synchronously). client, store and
 * writer are borrowed and must outlive the pool; writer may be NULL (no last-used touches). cfg is
 * referenced (ag_config_ref) and released at ag_pool_free. Starts the 1 s timer that polls
 * ag_store_accounts_changed and reloads. Returns NULL on allocation or timer failure.
 */
struct ag_pool *ag_pool_new(uv_loop_t *loop, struct ag_upstream_client *client,
                            struct ag_store *store, struct ag_writer *writer,
                            struct ag_config *cfg);

/** Account and pool events an observer outside the pool may act on (the gateway's alerts). */
enum ag_pool_event {
    AG_POOL_EVENT_ACCOUNT_DISABLED = 1, /* the pool disabled an account (refresh token refused) */
    AG_POOL_EVENT_NEEDS_VALIDATION,     /* an account answered 403 VALIDATION_REQUIRED */
    AG_POOL_EVENT_ALL_LIMITED, /* a request found every usable account cooling down or out of
                                  quota for its quota group (or model) */
};

/**
 * An event: subject is the account's e-mail (or, for ALL_LIMITED, the quota group or model; ""
 * for the whole account), message one line. Both are borrowed for the call. Runs on the loop
 * thread and must not call back into the pool.
 */
typedef void (*ag_pool_event_cb)(enum ag_pool_event ev, const char *subject, const char *message,
                                 void *ud);

/** Sets the event callback (NULL: none). */
void ag_pool_set_event_cb(struct ag_pool *p, ag_pool_event_cb cb, void *ud);

/** Swaps in a new config snapshot (referenced; the old one is released). Takes effect for the
 * next selection (scheduling.*, upstream.*, oauth.*). */
void ag_pool_set_config(struct ag_pool *p, struct ag_config *cfg);

/**
 * Re-reads every account from the store now. Accounts still present keep their runtime state
 * (cooldowns, in-flight count, last error, a refresh in progress); removed ones are dropped (their
 * outstanding leases stay valid). Returns 0 or AG_EDB (the old view is kept).
 */
int ag_pool_reload(struct ag_pool *p);

/**
 * Starts an acquisition. want is copied. Returns the wait handle (valid until its callback starts
 * or ag_pool_acquire_cancel), or NULL when the pool is closing or want is invalid (then no
 * callback runs).
 */
struct ag_pool_wait *ag_pool_acquire(struct ag_pool *p, const struct ag_pool_want *want,
                                     ag_pool_acquire_cb cb, void *ud);

/** Cancels a pending acquisition: its callback will not run. Do not call it from or after the
 * callback (the handle is gone by then). A refresh it started keeps going for other waiters. */
void ag_pool_acquire_cancel(struct ag_pool_wait *w);

/** Ends a lease: drops the account's in-flight count and frees the lease. NULL is a no-op. */
void ag_pool_release(struct ag_pool *p, const struct ag_lease *lease);

/**
 * Reports an attempt on account_id (the lease's id). Success clears that group's cooldown and
 * failure streak and queues a last-used touch; 429/5xx set a cooldown for account x group (the
 * upstream's delay plus AG_POOL_DELAY_MARGIN_MS when given, else the short steps); 401 forces a
 * refresh before the next use; 403 marks the account forbidden in the store (for
 * AG_POOL_VALIDATION_BLOCK_S when validation is required, else until cleared); transport errors
 * cool the whole account for AG_POOL_TRANSPORT_COOLDOWN_MS. Unknown ids are ignored.
 */
void ag_pool_report(struct ag_pool *p, const char *account_id, const struct ag_pool_outcome *o);

/**
 * Calls cb once per model id that an enabled account has stored quota for (the ids upstream
 * reported in fetchAvailableModels), in the order first listed; an id comes once (past 384
 * distinct ids, it may come again). For model lists: reads each account's parsed list.
 */
void ag_pool_foreach_quota_model(struct ag_pool *p,
                                 void (*cb)(void *ud, const char *model, size_t len), void *ud);

/**
 * The retired-model forwarding rules in force (route/forward.h): the built-in table plus every
 * account's fetchAvailableModels deprecatedModelIds. Owned by the pool; valid until the next
 * call into the pool (use it at once, on the loop thread). Never NULL.
 */
const struct ag_forward *ag_pool_forward(struct ag_pool *p);

/**
 * Requests in flight on the accounts a want with this provider / label would look at (the same
 * meaning as in struct ag_pool_want; both NULL = Cloud Code accounts): the load routing.rules'
 * least-busy strategy compares.
 */
uint32_t ag_pool_busy(struct ag_pool *p, const char *provider, const char *label);

/**
 * True when an enabled API-key account lists model (exactly) in its models: a model without a
 * routing.rules rule then goes to such accounts (want.provider AG_POOL_ANY_PROVIDER).
 */
bool ag_pool_provider_lists(struct ag_pool *p, const char *model);

/** Forgets every sticky-session binding (sessions pick an account afresh); returns how many. */
size_t ag_pool_clear_sessions(struct ag_pool *p);

/** Clears runtime cooldowns of one account (id), or of all accounts when account_id is NULL.
 * Returns 0 or AG_ENOTFOUND. */
int ag_pool_clear_cooldowns(struct ag_pool *p, const char *account_id);

/**
 * Refreshes the quota (loadCodeAssist for the tier, then fetchAvailableModels) of one account, or
 * of every enabled account when account_id is NULL, now, in the background; the result is stored
 * (quota_json, tier, quota_updated_at) and used by the next selection. Without this call the pool
 * refreshes each account every quota.refresh_interval_s, and an account soon after a quota error.
 * Returns 0 or AG_ENOTFOUND.
 */
int ag_pool_refresh_quota(struct ag_pool *p, const char *account_id);

/**
 * The cooldown policy, as a pure function (health.c uses it for every report): how long (ms)
 * account x group is cooled after outcome o, given the strikes before it (consecutive failures
 * without an upstream delay), the group's stored quota reset (unix s, 0 = unknown) and cap_ms.
 *   - an upstream delay (RetryInfo.retryDelay, quotaResetDelay, Retry-After, error.retry_after,
 *     "retry after"/"reset after" wording; upstream/errclass.h) is trusted: delay +
 *     AG_POOL_DELAY_MARGIN_MS;
 *   - a quota-exhausted 429 without a delay waits for the stored quota reset when it is ahead;
 *   - model capacity (everyone's problem): AG_POOL_COOLDOWN_BASE_MS / 2;
 *   - anything else (rate limit without a delay, 5xx): the short steps 5, 10, 20, 40, 60 s by
 *     strike (strikes + 1 is this failure), and *probing is set: when the cooldown ends the
 *     account takes one trial request at a time until a success;
 * always capped at cap_ms and at least 1 ms. probing may be NULL.
 */
int64_t ag_pool_cooldown_ms(const struct ag_pool_outcome *o, unsigned strikes, int64_t now_ms,
                            int64_t quota_reset_s, int64_t cap_ms, bool *probing);

/* ---- introspection (tests, admin API) ---- */

/** One cooldown of an account. */
struct ag_pool_cooldown {
    char group[AG_POOL_GROUP_MAX]; /* "" = the whole account */
    int64_t until_ms;              /* unix ms */
    unsigned strikes;              /* consecutive failures without upstream delay */
    bool probing;                  /* cooldown over; one trial request at a time until success */
};

/** An account with its runtime state; strings owned by the snapshot. */
struct ag_pool_account_state {
    char id[AG_ACCOUNT_ID_SIZE];
    char *email;
    enum ag_tier tier;
    bool disabled;
    char *disabled_reason; /* NULL when none */
    bool forbidden;
    char *forbidden_reason;
    int64_t forbidden_until; /* unix s, 0 = until cleared */
    bool has_project;
    int64_t token_expiry;               /* unix s */
    bool refreshing;                    /* a refresh or project lookup is in flight */
    unsigned inflight;                  /* leases not yet released */
    unsigned inflight_elsewhere;        /* at the other instances, as they announced it */
    uint64_t refreshes;                 /* refresh calls started since the pool began */
    char *last_error;                   /* last failure message, NULL when none */
    int64_t last_error_ms;              /* unix ms */
    int64_t last_used_ms;               /* unix ms of the last lease (0 = not in this process) */
    struct ag_pool_cooldown *cooldowns; /* active or probing ones */
    size_t ncooldowns;
    int64_t quota_updated_at; /* unix s of the stored quota, 0 = never fetched */
    bool quota_refreshing;    /* a quota refresh is in flight */
    bool suspect;             /* a request-level 429 is pending confirmation */
};

struct ag_pool_snapshot {
    struct ag_pool_account_state *items; /* in pool (sort) order */
    size_t len;
    size_t waiting;   /* acquisitions pending */
    size_t sessions;  /* sticky-session bindings alive */
    const char *mode; /* the active strategy's name (static) */
};

/** Copies the current state into *out (caller disposes). Returns 0 or AG_ENOMEM. */
int ag_pool_snapshot(struct ag_pool *p, struct ag_pool_snapshot *out);

/** Frees a snapshot. NULL is a no-op. */
void ag_pool_snapshot_dispose(struct ag_pool_snapshot *s);

/**
 * Replaces the clock (unix ms) used for cooldowns, token expiry and validation blocks; NULL
 * restores the wall clock. For tests that must see a cooldown expire without sleeping.
 */
void ag_pool_set_clock(struct ag_pool *p, int64_t (*now_ms)(void *ud), void *ud);

/** Replaces the random source of performance_first; NULL restores the process's. For tests. */
void ag_pool_set_random(struct ag_pool *p, uint64_t (*rand)(void *ud), void *ud);

/**
 * Starts closing: the reload timer stops, refreshes in flight are canceled, pending acquisitions
 * get their callback with AG_ECANCELED (from the loop, after this returns), and once every libuv
 * handle is closed done(ud) runs. Leases still held remain valid until ag_pool_release or
 * ag_pool_free. Call once; the loop must keep running until done.
 */
void ag_pool_close(struct ag_pool *p, void (*done)(void *ud), void *ud);

/** Frees a closed pool (after done ran) and any leases still held. NULL is a no-op. */
void ag_pool_free(struct ag_pool *p);

#endif
