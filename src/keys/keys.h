/* keys/keys.h: user keys at run time — the gateway's table of keys for people and apps (loaded
 * from store/user_keys.h and reloaded when the store's change counter moves) and the limiter that
 * enforces their limits.
 *
 * Two steps per request, both on the loop thread:
 *  - admission (http/): ag_keys_admit() tells whether the secret a request shows is a user key and
 *    whether that key may come in at all: unknown, active, expired / disabled / revoked (401), or
 *    from an address outside its CIDRs (403);
 *  - limits (relay/, once the model is known): ag_keys_begin() checks the model patterns (403),
 *    the rate limits and the concurrency (429 with a Retry-After) and the daily / monthly token
 *    budgets (429), and reserves the request's token estimate; ag_keys_settle() replaces the
 *    reservation by the real usage when the request is recorded.
 *
 * Rate limits are token buckets: rpm holds up to rpm requests and refills rpm per minute evenly;
 * tpm holds up to tpm tokens and refills the same way. A request is admitted when the request
 * bucket holds one request and the token bucket holds its estimate (or is full, for an estimate
 * above tpm); it takes them at once, and settlement gives back or takes the difference between
 * estimate and real usage (the token bucket may go below zero: the next requests wait for it).
 *
 * Budgets count input + output tokens per UTC day and UTC month. A request is admitted only when
 * used + reserved + its estimate fits the budget, so requests in flight can overshoot it only by
 * what they use beyond their estimates. Crossing 80 % and 100 % of a budget calls on_budget once
 * per period.
 *
 * All counters are in this process's memory (usage is seeded from the store when a key is loaded).
 * With ag_keys_set_share, several gateways count together through Redis (state/keyshare.h): each
 * tells the others what it takes and holds, adds what they tell it, and may refuse limited keys
 * while Redis is away. Nothing here blocks except ag_keys_reload / ag_keys_poll, which read the
 * store (short synchronous reads). */
#ifndef AG_KEYS_KEYS_H
#define AG_KEYS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/user_keys.h"

struct ag_store;
struct ag_keyshare;
struct ag_keys;
struct ag_keys_entry;

/** Called when a key's usage crosses 80 or 100 percent of a budget; period is "daily" or
 * "monthly". Runs on the loop thread inside ag_keys_settle; it must not call back into keys. */
typedef void (*ag_keys_budget_cb)(void *ctx, const char *key_name, const char *period, int percent);

/** Settings. Every field may be zero. */
struct ag_keys_config {
    void (*on_budget)(void *ctx, const char *key_name, const char *period, int percent);
    void *on_budget_ctx;
    /* The clock: unix milliseconds (UTC). NULL = the wall clock. Tests move it by hand. */
    int64_t (*now_ms)(void *clock_ctx);
    void *clock_ctx;
};

/** Creates an empty table. cfg may be NULL; it is copied. */
struct ag_keys *ag_keys_new(const struct ag_keys_config *cfg);

/** Frees the table. Settle every open ticket first. NULL is a no-op. */
void ag_keys_free(struct ag_keys *ks);

/** Replaces the on_budget callback (the gateway wires alerts after creating the table). */
void ag_keys_set_budget_cb(struct ag_keys *ks, ag_keys_budget_cb cb, void *ctx);

/**
 * Replaces the key definitions by the n keys at defs (copied). A key whose name was loaded before
 * keeps its counters (in flight, buckets, usage); a new one starts with the usage given by
 * usage_day / usage_month (arrays of n, may be NULL for zeros: tokens used so far in the current
 * UTC day and month); a key no longer listed is dropped (its open tickets still settle).
 * Entries beyond AG_KEYS_MAX are ignored (logged).
 */
void ag_keys_set(struct ag_keys *ks, const struct ag_user_key *defs, size_t n,
                 const int64_t *usage_day, const int64_t *usage_month);

/** Most keys a table holds. */
#define AG_KEYS_MAX 10000

/** Loads every key from the store (ag_keys_set with the store's usage for new keys). 0 or AG_EDB.
 */
int ag_keys_reload(struct ag_keys *ks, struct ag_store *s);

/** Reloads when the store's user_keys_version moved since the last load. 1 reloaded, 0 not,
 * AG_EDB. */
int ag_keys_poll(struct ag_keys *ks, struct ag_store *s);

/**
 * Lets the table keep itself current: ag_keys_admit then checks the store's change counter at
 * most once a second (one short read on the caller's thread) and reloads when it moved, so keys
 * made or changed by the CLI apply within a second. s is borrowed (NULL detaches).
 */
void ag_keys_attach_store(struct ag_keys *ks, struct ag_store *s);

/**
 * Shares the limits with the other instances through sh (borrowed; NULL stops sharing): the
 * concurrency and the budgets count the others' leases (requests in flight and their
 * reservations), the rate buckets and the budgets take what the others used, a key loaded while
 * Redis is up starts from Redis's current windows, and a key with any limit is refused (503)
 * while ag_keyshare_refuses(sh). Detach before closing sh.
 */
void ag_keys_set_share(struct ag_keys *ks, struct ag_keyshare *sh);

/** Number of keys loaded. */
size_t ag_keys_count(const struct ag_keys *ks);

/** What admission decides about the secret a request shows. */
enum ag_keys_verdict {
    AG_KEYS_NOT_A_KEY = 0, /* not a user key: the usual auth check decides */
    AG_KEYS_OK,            /* an active user key, from an allowed address */
    AG_KEYS_EXPIRED,       /* 401 */
    AG_KEYS_DISABLED,      /* 401 */
    AG_KEYS_REVOKED,       /* 401 */
    AG_KEYS_IP_REFUSED,    /* 403: the address is outside the key's CIDRs */
};

/**
 * Looks the secret up (by its SHA-256) and checks state, expiry and the address (client_ip as
 * text, IPv4 or IPv6; IPv4-mapped IPv6 counts as IPv4). ks NULL answers AG_KEYS_NOT_A_KEY. When
 * name is not NULL it gets the key's name (borrowed until the next reload) for a known key.
 */
enum ag_keys_verdict ag_keys_admit(struct ag_keys *ks, const char *secret, size_t len,
                                   const char *client_ip, const char **name);

/** A sentence for a refusing verdict ("This API key has expired"). */
const char *ag_keys_verdict_message(enum ag_keys_verdict v);

/** One request's hold on a key between ag_keys_begin and ag_keys_settle. Zero it before use. */
struct ag_keys_ticket {
    struct ag_keys_entry *_entry;        /* NULL = no user key (nothing to settle) */
    int64_t _estimate;                   /* tokens reserved */
    char name[AG_USER_KEY_NAME_MAX + 1]; /* the key's name ("" = not a user key), also after a
                                            refusal, for the request log */
};

/** Why ag_keys_begin refused. */
struct ag_keys_refusal {
    int status;            /* 401, 403, 429, or 503 (limits not shareable now) */
    const char *kind;      /* "invalid_api_key", "model_not_allowed", "rate_limited",
                              "budget_exceeded", "limits_unavailable" */
    int64_t retry_after_s; /* > 0: send as Retry-After */
    char message[256];
};

/**
 * Checks a request by the user key secret (not a user key: returns 0 with t->_entry NULL, nothing
 * to do) for model and estimate (tokens, >= 0), and on success takes the request: one request of
 * the rpm bucket, the estimate from the tpm bucket and the budgets, one unit of concurrency.
 * Returns 0, or AG_EAUTH (the key stopped being valid since admission, 401), AG_EINVAL (model
 * outside the patterns, 403) or AG_ETOOBIG (a limit, 429; or 503 while limits shared through
 * Redis cannot be checked, see ag_keys_set_share) with r filled; nothing is taken then.
 */
int ag_keys_begin(struct ag_keys *ks, const char *secret, size_t len, const char *model,
                  int64_t estimate, struct ag_keys_ticket *t, struct ag_keys_refusal *r);

/**
 * Ends a request begun with ag_keys_begin: frees its concurrency unit and replaces its
 * reservation by the real usage (input + output tokens, 0 for a failed request). Safe on a ticket
 * without an entry and called twice (the second call does nothing).
 */
void ag_keys_settle(struct ag_keys *ks, struct ag_keys_ticket *t, int64_t input_tokens,
                    int64_t output_tokens);

/** A tokens estimate for a request whose body has body_len bytes and asks for at most
 * max_output tokens (<= 0: unknown): a quarter of the body plus the output, the output counted as
 * AG_KEYS_OUTPUT_DEFAULT when unknown and at most AG_KEYS_OUTPUT_CAP. */
int64_t ag_keys_estimate(size_t body_len, int64_t max_output);
#define AG_KEYS_OUTPUT_DEFAULT 1024
#define AG_KEYS_OUTPUT_CAP     4096

/** A key's run-time numbers (ag_keys_stats). */
struct ag_keys_stat {
    const char *name;         /* borrowed until the next reload */
    int64_t in_flight;        /* requests begun and not settled */
    int64_t reserved;         /* tokens reserved by them */
    int64_t day_tokens;       /* settled tokens this UTC day */
    int64_t month_tokens;     /* settled tokens this UTC month */
    uint64_t requests;        /* requests begun since start */
    uint64_t refused;         /* requests refused by admission or the limits since start */
    uint64_t tokens;          /* settled tokens since start */
    int64_t shared_in_flight; /* requests in flight at the other instances (shared state) */
    uint64_t shared_updates;  /* usage updates applied from the other instances since start */
};

/** Calls fn for each loaded key, in load order. */
void ag_keys_stats(struct ag_keys *ks, void (*fn)(const struct ag_keys_stat *st, void *ud),
                   void *ud);

/** Reads one key's numbers by name; 0 or AG_ENOTFOUND. */
int ag_keys_stat_get(struct ag_keys *ks, const char *name, struct ag_keys_stat *out);

/* ---- helpers shared with the CLI and the admin API ---- */

/** True when model matches one of the comma-separated glob patterns ("" matches every model). */
bool ag_keys_model_allowed(const char *patterns, const char *model);

/** Checks a comma-separated CIDR list ("" is valid); 0 or AG_EINVAL with the bad item in err. */
int ag_keys_cidrs_check(const char *list, char *err, size_t errcap);

/** True when ip (text) is inside one of the comma-separated CIDRs ("" allows every address). */
bool ag_keys_ip_allowed(const char *cidrs, const char *ip);

/** Start (unix s) of the UTC day and of the UTC month containing now_s. */
int64_t ag_keys_day_start(int64_t now_s);
int64_t ag_keys_month_start(int64_t now_s);

/**
 * Makes a new key secret ("sk-" + 32 hex digits from the CSPRNG) into secret (cap >= 36) and the
 * hex SHA-256 of it into hash (cap >= 65). 0 or AG_EIO.
 */
int ag_keys_generate(char *secret, size_t cap, char *hash, size_t hashcap);

/** Writes the lowercase hex SHA-256 of the len bytes at secret into hash (cap >= 65). */
void ag_keys_hash_hex(const char *secret, size_t len, char *hash, size_t hashcap);

/**
 * Parses an expiry: an RFC 3339 date or date-time ("2026-12-31", "2026-12-31T18:00:00Z"), or a
 * duration from now_s ("30d", "12h", "90m", "3600s"); "never" or "" is 0. 0 or AG_EINVAL.
 */
int ag_keys_parse_expiry(const char *s, int64_t now_s, int64_t *out);

#endif
