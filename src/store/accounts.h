/* store/accounts.h: the accounts table. struct ag_account is a plain record (the pool layer
 * copies what it needs when it loads); the ag_store_account_* functions read and write rows
 * through a struct ag_store.
 *
 * Threading: these run synchronously on the store's connection. The gateway's loop thread calls
 * the readers only at startup and on reload (after ag_store_accounts_changed says so); the CLI
 * and the admin API's worker call the writers. Per-request last-used updates go through
 * ag_writer_touch_account (store/writer.h), never through here.
 *
 * Times are unix seconds. Every writer returns 0, AG_ENOTFOUND when no account has that id,
 * AG_EINVAL for bad arguments, AG_EDB for SQLite failures. */
#ifndef AG_STORE_ACCOUNTS_H
#define AG_STORE_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ag_store;

/** Subscription tier, in the scheduler's preference order (ultra best). */
enum ag_tier {
    AG_TIER_UNKNOWN = 0,
    AG_TIER_FREE = 1,
    AG_TIER_PRO = 2,
    AG_TIER_ULTRA = 3,
};

/** "ultra" / "pro" / "free" / "unknown"; never NULL. */
const char *ag_tier_name(enum ag_tier t);

/**
 * Classifies free tier text the way upstream reports it ("g1-ultra-tier", "Google AI Pro",
 * "free-tier (Restricted)"): case-insensitive substring tests, ultra first, then pro, then free.
 * NULL or anything else is AG_TIER_UNKNOWN.
 */
enum ag_tier ag_tier_from_text(const char *s);

/** Length of an account id: a UUID v4 in canonical text form (36) plus the NUL. */
#define AG_ACCOUNT_ID_SIZE 37

/**
 * One account row. Every string is malloc'd and owned by the record (NULL = not set);
 * ag_account_dispose frees them. Contains secrets (refresh and access tokens): never log it.
 */
struct ag_account {
    char *id;            /* stable text id (UUID v4), assigned on insert */
    char *email;         /* unique, compared case-insensitively */
    char *name;          /* display name from userinfo */
    char *refresh_token; /* never NULL in a stored row */
    char *access_token;
    int64_t token_expiry; /* unix s when access_token expires; 0 = unknown */
    char *project_id;     /* Cloud Code project */
    enum ag_tier tier;
    char *quota_json; /* {"<model>": {"remaining": 0..1, "reset_at": unix s}, ...}; NULL = never
                         fetched (see ag_quota_json_check in store/account_json.h) */
    int64_t quota_updated_at;
    char *quota_windows; /* the upstream's quota windows as JSON (ag_codeassist_parse_summary in
                            pool/codeassist.h); NULL = not reported */
    bool disabled;       /* excluded from the pool (invalid_grant, or the user) */
    char *disabled_reason;
    int64_t disabled_at;
    bool forbidden; /* upstream said 403; forbidden_until 0 = until cleared */
    char *forbidden_reason;
    int64_t forbidden_until;
    char *validation_url; /* where the user can unblock the account, from a 403 */
    char *proxy_url;      /* per-account upstream proxy; NULL = global setting */
    char *label;          /* user tag */
    char *oauth_client;   /* name of the OAuth client that issued the refresh token */
    int64_t created_at;
    int64_t last_used_at;
    int64_t sort_order; /* list order, ascending */
    /* Provider accounts (store/provider.h); for OAuth accounts provider is "google" and the
     * other three are NULL. */
    char *provider; /* kind name: "google", "gemini", "anthropic", "openai", "openai-compatible" */
    char *api_key;  /* the provider's API key: a secret like refresh_token, never logged */
    char *base_url; /* admin-set base URL; NULL = the kind's default */
    char *models;   /* comma-separated model ids the account serves; NULL = the kind's own */
};

/** A list of records from ag_store_account_list; items are owned by the list. */
struct ag_account_list {
    struct ag_account *items;
    size_t len;
};

/** Frees the strings of a record and zeroes it. NULL is a no-op. */
void ag_account_dispose(struct ag_account *a);

/** Disposes every record and the array; the list is empty afterwards. NULL is a no-op. */
void ag_account_list_dispose(struct ag_account_list *l);

/**
 * Inserts an account, or updates the one with the same email (case-insensitive). Reads from in:
 * email and refresh_token (required), and name, access_token, token_expiry, project_id,
 * oauth_client (on update a NULL / 0 keeps the stored value); on insert also label and proxy_url.
 * Other fields are ignored. As with Antigravity Manager, an update that changes a token re-enables
 * a disabled account (a new token is the usual cure for invalid_grant) and clears its reason;
 * last_used_at becomes now. A new account gets a fresh UUID and goes to the end of the order.
 *
 * in is borrowed. On success the id is written to id_out (AG_ACCOUNT_ID_SIZE bytes, may be NULL)
 * and *created (may be NULL) tells insert from update.
 */
int ag_store_account_upsert(struct ag_store *s, const struct ag_account *in, char *id_out,
                            bool *created);

/**
 * Inserts a provider account (store/provider.h), or updates the one with the same email. Reads
 * from in: provider (a kind other than "google"), api_key (required), email (the account's name
 * in lists and statistics, required: the CLI makes one from the kind, the host and a hash of the
 * key), base_url, models, label, proxy_url. The refresh_token column holds "" for these rows. On
 * update the key, base URL, models, label and proxy are replaced and a disabled account is
 * enabled again when the key changed. in is borrowed; id_out and created as for upsert.
 */
int ag_store_account_put_provider(struct ag_store *s, const struct ag_account *in, char *id_out,
                                  bool *created);

/** Replaces the models list of an account (NULL or "" clears it). */
int ag_store_account_set_models(struct ag_store *s, const char *id, const char *models);

/** True when a is a provider (API-key) account rather than a Google OAuth account. */
bool ag_account_is_provider(const struct ag_account *a);

/** Reads one account by id into *out (caller disposes); AG_ENOTFOUND if none. */
int ag_store_account_get(struct ag_store *s, const char *id, struct ag_account *out);

/** Reads one account by email (case-insensitive) into *out (caller disposes); AG_ENOTFOUND. */
int ag_store_account_get_by_email(struct ag_store *s, const char *email, struct ag_account *out);

/** Reads every account in sort order (then creation time) into *out (caller disposes). */
int ag_store_account_list(struct ag_store *s, struct ag_account_list *out);

/** Counts accounts. */
int ag_store_account_count(struct ag_store *s, int64_t *out);

/**
 * Disables or enables an account. Disabling stores reason (may be NULL) and the time; enabling
 * clears both.
 */
int ag_store_account_set_disabled(struct ag_store *s, const char *id, bool disabled,
                                  const char *reason);

/**
 * Marks an account forbidden (403) with reason, an optional end time (until, unix s; 0 = until
 * cleared) and the upstream's validation URL (may be NULL); or clears all four.
 */
int ag_store_account_set_forbidden(struct ag_store *s, const char *id, bool forbidden,
                                   const char *reason, int64_t until, const char *validation_url);

/** Sets the user label; NULL or "" clears it. Labels are at most 64 bytes (else AG_EINVAL). */
int ag_store_account_set_label(struct ag_store *s, const char *id, const char *label);

/** Sets the per-account proxy URL; NULL or "" clears it. */
int ag_store_account_set_proxy(struct ag_store *s, const char *id, const char *proxy_url);

/**
 * Stores tokens after a refresh: access_token and its expiry always; refresh_token and project_id
 * only when non-NULL (Google may or may not rotate the refresh token).
 */
int ag_store_account_update_tokens(struct ag_store *s, const char *id, const char *access_token,
                                   int64_t token_expiry, const char *refresh_token,
                                   const char *project_id);

/**
 * Stores a quota fetch: quota_json (must pass ag_quota_json_check, else AG_EINVAL; borrowed),
 * updated_at, and the tier, except that AG_TIER_UNKNOWN keeps the stored tier (a fetch that did
 * not report one must not erase it).
 */
int ag_store_account_set_quota(struct ag_store *s, const char *id, const char *quota_json,
                               enum ag_tier tier, int64_t updated_at);

/**
 * Stores the quota windows the upstream reported for the account (JSON written by
 * ag_codeassist_parse_summary; borrowed), or clears them (NULL). 0, AG_ENOTFOUND or AG_EDB.
 */
int ag_store_account_set_quota_windows(struct ag_store *s, const char *id, const char *windows);

/**
 * Moves last_used_at forward to when_s (never backwards). Synchronous: for the CLI and tests;
 * the gateway uses ag_writer_touch_account. Does not bump the change counter.
 */
int ag_store_account_touch(struct ag_store *s, const char *id, int64_t when_s);

/**
 * Reorders: the given ids first in the given order (unknown ids ignored), then the others in
 * their previous order. One transaction.
 */
int ag_store_account_reorder(struct ag_store *s, const char *const *ids, size_t n);

/** Deletes an account; AG_ENOTFOUND if none. */
int ag_store_account_delete(struct ag_store *s, const char *id);

#endif
