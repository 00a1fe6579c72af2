/* pool/pool_internal.h: the pool's private structures, shared by pool.c (accounts, waits,
 * leases, lifecycle), select.c (dispatch: candidates, sticky sessions, waiting, denials),
 * health.c (reports, cooldowns, snapshot), tokens.c (refresh and project lookup flights) and
 * quota.c (quota refresh). Nothing outside src/pool/ includes this. */
#ifndef AG_POOL_POOL_INTERNAL_H
#define AG_POOL_POOL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "pool/pool.h"
#include "pool/sched.h"
#include "pool/sticky.h"
#include "store/accounts.h"

struct pool_flight;
struct pool_qjob;

/** Quota of one group of an account, from its stored quota_json. */
struct pool_quota {
    char group[AG_POOL_GROUP_MAX];
    double remaining; /* max over the group's models */
    int64_t reset_at; /* earliest reset among them, unix s; 0 = unknown */
};

/** Most models remembered as answering 404 on one account. */
#define AG_POOL_GONE_MAX 64

/** A model an account lists (fetchAvailableModels, through its stored quota_json), with the
 * limits it reported; 0 = not reported. */
struct pool_model {
    char id[AG_POOL_GROUP_MAX];
    uint32_t max_output_tokens;
    uint32_t thinking_budget;
};

/** A retired model id that a model an account lists replaces ("replaces" in its quota_json). */
struct pool_replace {
    char *from, *to;
};

/** Quota groups of model ids already classified (ag_models_quota_group is a pure function of the
 * id, and the accounts list the same few models). */
#define AG_POOL_GROUP_MEMO 32

/** One cooldown entry of an account: group "" = the whole account. */
struct pool_cd {
    char group[AG_POOL_GROUP_MAX];
    int64_t until_ms;
    unsigned strikes;
    bool probing; /* after a default (no upstream delay) cooldown: one request at a time */
};

/** An account in memory: the stored record plus runtime state kept across reloads. */
struct pool_acct {
    struct ag_pool *pool;
    struct ag_account rec; /* owned copy of the stored row */
    size_t order;          /* position in the list */
    bool kept;             /* ag_pool_reload: still in the store (false between reloads) */
    enum ag_provider kind; /* AG_PROVIDER_GOOGLE: Cloud Code (OAuth); else an API-key account */
    /* runtime */
    unsigned inflight;
    unsigned remote_inflight; /* at other instances, as they announce it (shared.c) */
    bool force_refresh;       /* a 401 said the access token is bad */
    struct pool_cd *cds;
    size_t ncds;
    char *last_error;
    int64_t last_error_ms;
    int64_t last_used_ms;
    uint64_t refreshes;
    uint64_t last_use;          /* pool->use_seq at this account's last lease */
    struct pool_flight *flight; /* refresh / project lookup in progress, or NULL */
    /* quota (quota.c) */
    bool quota_parsed;        /* quota and models below are read from rec (on first use: only
                                 through pool_quota_for, pool_acct_model, pool_acct_nmodels) */
    struct pool_quota *quota; /* parsed from rec.quota_json */
    size_t nquota;
    bool quota_due;                /* refresh it at the next quota tick */
    bool quota_after_flight;       /* a quota refresh waits for the token flight */
    int64_t quota_next_ms;         /* no automatic refresh before this (debounce, failures) */
    struct pool_qjob *qjob;        /* quota refresh in progress, or NULL */
    struct pool_model *models;     /* the models it lists, parsed from rec.quota_json (an
                                      API-key account: from rec.models) */
    size_t nmodels;                /* 0 = list unknown (never fetched, or empty) */
    uint64_t models_sig;           /* a hash of the models' ids in order (set with them) */
    struct pool_replace *replaces; /* the retired ids its models replace, in stored order */
    size_t nreplaces;
    char (*gone)[AG_POOL_GROUP_MAX]; /* models that answered 404 here: skipped until the next
                                        quota refresh */
    size_t ngone;
    /* request-level rejection rule (health.c) */
    int64_t last_ok_ms; /* last success reported */
    int64_t suspect_ms; /* a 429 not yet counted against the account (0 = none) */
};

/** Which accounts a wait looks at (ag_pool_want.provider / label). */
enum pool_filter {
    F_GOOGLE = 0, /* Cloud Code accounts (the default) */
    F_KIND,       /* the accounts of one kind */
    F_ANY_KEY,    /* any API-key account that lists a wanted model */
    F_LABEL,      /* the account with one label */
};

enum pool_wait_state {
    W_READY,  /* to be dispatched at the next kick */
    W_PINNED, /* waiting for acct's flight; then granted that account */
    W_SLEEP,  /* waiting for a cooldown to end (until wake_ms) or a lease to be released */
};

struct ag_pool_wait {
    struct ag_pool *pool;
    struct ag_pool_wait *prev, *next;
    enum pool_wait_state state;
    uint64_t seq;
    ag_pool_acquire_cb cb;
    void *ud;
    char group[AG_POOL_GROUP_MAX];
    char model[AG_POOL_GROUP_MAX];
    char (*models)[AG_POOL_GROUP_MAX]; /* want.models: candidate ids in preference order */
    size_t nmodels;
    char *session;
    enum pool_filter filter;
    enum ag_provider kind; /* F_KIND */
    char label[128];       /* F_LABEL */
    char **skip; /* excluded by the caller, then accounts whose refresh failed for this wait */
    size_t nskip, nexclude;
    struct pool_acct *acct; /* W_PINNED */
    int64_t wake_ms;        /* W_SLEEP */
    int64_t arrived_ms;     /* when the acquisition started */
    bool slept;             /* slept once for a short cooldown: the next time it is denied */
    bool on_release;        /* W_SLEEP also ends when any lease is released */
    bool in_kick;           /* dispatched during the current kick */
    bool listed;            /* some usable account lists one of the candidate models */
    int last_err;           /* last refresh/project failure for this wait */
    char last_msg[256];
};

struct ag_pool {
    uv_loop_t *loop;
    struct ag_upstream_client *client;
    struct ag_store *store;
    struct ag_writer *writer;
    struct ag_config *cfg;
    const struct ag_sched_strategy *sched;
    void *sched_state;
    struct ag_sticky *sessions;
    int64_t (*now_fn)(void *ud);
    void *now_ud;
    uint64_t (*rand_fn)(void *ud);
    void *rand_ud;
    uint64_t use_seq;       /* counts leases; gives each account's last_use */
    struct ag_forward *fwd; /* retired model ids: built-in table + the accounts' deprecatedModelIds
                               (rebuilt when fwd_stale) */
    bool fwd_stale;
    struct {
        char id[AG_POOL_GROUP_MAX], group[AG_POOL_GROUP_MAX];
    } group_memo[AG_POOL_GROUP_MEMO]; /* quota.c: model id -> quota group, filled as met */
    size_t ngroup_memo;
    size_t nqjobs; /* quota refreshes in flight */

    struct pool_acct **accts;
    size_t naccts;
    uint64_t change_since;

    struct ag_pool_wait *waits, *waits_tail; /* every pending wait, in arrival order */
    size_t nwaits;
    uint64_t wait_seq;

    struct pool_lease *leases;

    ag_pool_event_cb event_cb; /* may be NULL */
    void *event_ud;

    uv_timer_t reload_timer, kick_timer, sleep_timer, quota_timer;
    uv_timer_t phealth_timer;     /* provider_health.c */
    struct pool_phealth *phealth; /* API-key accounts' health checks (provider_health.c) */
    struct pool_shared *shared;   /* state shared with other instances (shared.c); NULL = none */
    int open_handles;
    bool closing;
    void (*close_done)(void *ud);
    void *close_ud;
};

/** Tells the event callback, if any (see ag_pool_event_cb). */
void pool_event(struct ag_pool *p, enum ag_pool_event ev, const char *subject, const char *message);

/** Current time of the pool's clock, unix ms. */
int64_t pool_now_ms(const struct ag_pool *p);

/** True when w may look at a at all (its kind or label filter). */
bool pool_wait_matches(const struct ag_pool_wait *w, const struct pool_acct *a);

/** True when a's access token is usable now (present, not forced stale, not within
 * AG_POOL_REFRESH_SKEW_S of expiry) and a project id is known. */
bool pool_acct_ready(const struct pool_acct *a, int64_t now_ms);

/** The account with that id, or NULL. */
struct pool_acct *pool_find_acct(const struct ag_pool *p, const char *id);

/** Arms the 0 ms timer that dispatches ready waits (no-op while closing). */
void pool_kick(struct ag_pool *p);

/** Cooldown key of a want or report: the quota group, else the model, else "" (account). */
const char *pool_cd_key(const char *group, const char *model);

/** Finds a's cooldown entry for group; creates a zeroed one when create is set. */
struct pool_cd *pool_cd_find(struct pool_acct *a, const char *group, bool create);

/** Removes a's cooldown entry for group, if any. */
void pool_cd_remove(struct pool_acct *a, const char *group);

/** Records a failure message on a (copied). */
void pool_acct_set_error(struct pool_acct *a, const char *msg);

/** The state of a's cooldowns for a wait's key: true when one blocks now; *until its end. */
bool pool_acct_cooling(const struct pool_acct *a, const char *key, int64_t now_ms, int64_t *until);

/**
 * The model a would serve w with: the first of w's candidates that has not answered 404 on a
 * and that a lists — or any not-404 one when a's list is unknown or when no account lists any
 * candidate (w->listed false). NULL when none; "" when w names no model.
 */
const char *pool_wait_model(const struct ag_pool_wait *w, const struct pool_acct *a);

/** Grants w the account a (a lease; the wait is freed; the user callback runs). */
void pool_grant(struct ag_pool_wait *w, struct pool_acct *a);

/** Answers w with an error (the wait is freed; the user callback runs). */
void pool_deny(struct ag_pool_wait *w, int err, enum ag_pool_denial_kind kind, int64_t until,
               const char *msg);

/** True when a is the configured fixed account. */
bool pool_is_fixed(const struct ag_pool *p, const struct pool_acct *a);

/** True when w excluded a or a's refresh failed for w. */
bool pool_wait_skips(const struct ag_pool_wait *w, const char *id);

/** Adds id to w's skip list. */
void pool_wait_skip(struct ag_pool_wait *w, const char *id);

/** (Re)arms the sleep timer for the earliest sleeping wait. */
void pool_arm_sleep(struct ag_pool *p);

/* ---- select.c ---- */

/** Runs one ready wait until it is granted, pinned to a flight, asleep or denied. */
void pool_dispatch(struct ag_pool_wait *w);

/* ---- quota.c ---- */

/**
 * Forgets a's parsed quota, model list and replaced ids after a->rec changed: they are read again
 * from a->rec.quota_json (and a->rec.models for an API-key account) when next needed, so loading
 * many accounts parses none of them. Marks the retired-model table stale.
 */
void pool_quota_stale(struct pool_acct *a);

/** The model a lists with that id, or NULL (parses a's quota first if needed). */
const struct pool_model *pool_acct_model(const struct pool_acct *a, const char *id);

/** How many models a lists: 0 = list unknown (parses a's quota first if needed). */
size_t pool_acct_nmodels(const struct pool_acct *a);

/** True when id answered 404 on a since its last quota refresh. */
bool pool_acct_model_gone(const struct pool_acct *a, const char *id);

/** Remembers that id answered 404 on a (until its next quota refresh). */
void pool_acct_model_gone_add(struct pool_acct *a, const char *id);

/** a's quota for the group (or model) key: *remaining -1 / *reset_at 0 when unknown (parses
 * a's quota first if needed). */
void pool_quota_for(const struct pool_acct *a, const char *group, const char *model,
                    double *remaining, int64_t *reset_at);

/** Starts the quota timer (first tick soon, then every 30 s). */
void pool_quota_start(struct ag_pool *p);

/** Marks a for a quota refresh at the next tick, which runs now; debounced unless force. */
void pool_quota_due(struct pool_acct *a, bool force);

/** a's token flight ended (err 0: ready): a quota refresh waiting for it goes on. */
void pool_quota_flight_done(struct pool_acct *a, int err);

/** Cancels a's quota refresh, if any. */
void pool_quota_cancel(struct pool_acct *a);

/* ---- provider_health.c ---- */

/** Creates the health-check table and starts its timer (one more open handle). */
void pool_phealth_start(struct ag_pool *p);

/** Cancels checks in flight and closes the timer; done is the pool's handle-closed callback. */
void pool_phealth_close(struct ag_pool *p, uv_close_cb done);

/** Frees the table (after close). */
void pool_phealth_free(struct ag_pool *p);

/* ---- tokens.c ---- */

/**
 * Starts a flight for a (refresh if needed, then project lookup if needed) unless one is running.
 * Its end calls pool_flight_done. Returns 0, or an error when nothing could be started (then
 * pool_flight_done is not called and *msg explains; msg cap 256).
 */
int pool_tokens_start(struct pool_acct *a, char *msg, size_t cap);

/** Cancels a's flight (no pool_flight_done). */
void pool_tokens_cancel(struct pool_acct *a);

/**
 * Called by tokens.c when a's flight ends: err 0 (a is ready), or AG_EAUTH / AG_EUPSTREAM /
 * transport errors with msg. a->flight is NULL already. a may have been disabled meanwhile.
 */
void pool_flight_done(struct pool_acct *a, int err, const char *msg);

/* ---- shared.c ---- */

struct ag_state;

/** Publishes a's cooldown cd (just set here) with its reason to the other instances. */
void pool_shared_cooled(struct ag_pool *p, const struct pool_acct *a, const struct pool_cd *cd,
                        const char *reason);

/** Publishes that session was bound to a at now_ms (for scheduling.sticky_ttl_s; nothing when
 * the strategy is not sticky or the TTL is 0). */
void pool_shared_bound(struct ag_pool *p, const char *session, const struct pool_acct *a,
                       int64_t now_ms);

/** Publishes a's requests in flight here (after each change). */
void pool_shared_inflight(struct ag_pool *p, const struct pool_acct *a);

/** After a reload: publishes the accounts that are new or changed in this instance's store. */
void pool_shared_reloaded(struct ag_pool *p);

/** Detaches from the shared state and frees what shared.c keeps (touches no account: ag_pool_free
 * calls it after freeing them). */
void pool_shared_free(struct ag_pool *p);

/** The shared state, or NULL when there is none. */
struct ag_state *pool_shared_state(const struct ag_pool *p);

/** Forgets what was last published or applied for email (lower case): a later record of it is
 * news again. */
void pool_shared_forget(struct ag_pool *p, const char *email);

/* ---- shared_stores.c ---- */

/** Refreshed tokens kept in Redis at most (one per account). */
#define AG_POOL_SHARED_TOKENS_MAX 100000

/** A reload dropped a: unless an account in kept (nkept) has its address, tells the other
 * instances to remove theirs. */
void pool_shared_removed(struct ag_pool *p, const struct pool_acct *a,
                         struct pool_acct *const *kept, size_t nkept);

/** Starts (on) or stops listening to the other instances' account removals on st. */
void pool_shared_listen(struct ag_pool *p, struct ag_state *st, bool on);

/** Publishes a's refreshed token (never logged) in Redis until it is due for a refresh. */
void pool_shared_token_put(struct ag_pool *p, const struct pool_acct *a, const char *access_token,
                           int64_t expiry_s, const char *refresh_token);

/** Reads a published token: 0 and the strings (the caller frees them; *refresh_token may be
 * NULL), or AG_EPARSE. */
int pool_shared_token_parse(const char *data, size_t len, char **access_token, int64_t *expiry_s,
                            char **refresh_token);

#endif
