/* store/user_keys.h: the user_keys table (keys for people and apps, with their limits) and the
 * hourly usage per key (key_usage_hourly).
 *
 * A key's secret is never stored: only the lowercase hex SHA-256 of it. Keys are written by the
 * CLI (`aigate keys ...`) and by the admin API, synchronously on the caller's connection; every
 * change but a last-used touch bumps the user_keys_version counter, which the gateway polls to
 * reload its table (keys/keys.h). Usage is incremented by the writer thread
 * (ag_writer_record, for records that carry a key name) and read back here: the day's and the
 * month's totals (UTC) are sums over the hourly rows. */
#ifndef AG_STORE_USER_KEYS_H
#define AG_STORE_USER_KEYS_H

#include <stddef.h>
#include <stdint.h>

struct ag_store;

/** Longest key name in bytes; names are [A-Za-z0-9._-], 1..AG_USER_KEY_NAME_MAX. */
#define AG_USER_KEY_NAME_MAX 64
/** Longest comma-separated model pattern list / CIDR list / note, in bytes. */
#define AG_USER_KEY_LIST_MAX 1024
#define AG_USER_KEY_NOTE_MAX 512
/** Hex digits of a key hash (SHA-256). */
#define AG_USER_KEY_HASH_HEX 64

/** A key's state; only an active key is admitted. */
enum ag_user_key_state {
    AG_USER_KEY_ACTIVE = 0,
    AG_USER_KEY_DISABLED = 1, /* can be enabled again */
    AG_USER_KEY_REVOKED = 2,  /* for good */
};

/** One key as stored. Limits of 0 mean "no limit"; expires_at 0 means "never". */
struct ag_user_key {
    int64_t id;
    char name[AG_USER_KEY_NAME_MAX + 1];
    char hash[AG_USER_KEY_HASH_HEX + 1];
    char models[AG_USER_KEY_LIST_MAX]; /* comma-separated patterns ('*' wildcards); "" = any */
    int64_t expires_at;                /* unix s */
    int64_t rpm;                       /* requests per minute */
    int64_t tpm;                       /* tokens per minute */
    int64_t daily_tokens;              /* tokens per UTC day */
    int64_t monthly_tokens;            /* tokens per UTC month */
    int64_t max_concurrency;           /* requests in flight at once */
    char cidrs[AG_USER_KEY_LIST_MAX];  /* comma-separated CIDRs; "" = any address */
    char note[AG_USER_KEY_NOTE_MAX];
    enum ag_user_key_state state;
    int64_t created_at, updated_at, last_used_at; /* unix s; last_used_at 0 = never */
};

/** Requests and tokens of a key over a period. tokens = input + output. */
struct ag_user_key_usage {
    int64_t requests;
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t tokens;
};

/** One hourly usage increment; key_name is borrowed. */
struct ag_key_usage_delta {
    int64_t ts_s; /* the row is the UTC hour containing it */
    const char *key_name;
    int64_t requests;
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t cached_tokens;
    int64_t errors;
};

/** "active" | "disabled" | "revoked". */
const char *ag_user_key_state_name(enum ag_user_key_state st);

/** Parses a state name; 0 or AG_EINVAL. */
int ag_user_key_state_parse(const char *s, enum ag_user_key_state *out);

/** True when name is 1..AG_USER_KEY_NAME_MAX bytes of [A-Za-z0-9._-]. */
int ag_user_key_name_valid(const char *name);

/**
 * Inserts k (its id, created_at and last_used_at are ignored: created_at = updated_at = now_s).
 * 0, AG_EEXIST when the name or the hash is taken, AG_EINVAL for a bad name or hash, AG_EDB.
 */
int ag_store_user_key_insert(struct ag_store *s, const struct ag_user_key *k, int64_t now_s);

/**
 * Rewrites the key named k->name: every column but id, name, created_at and last_used_at;
 * updated_at = now_s. 0, AG_ENOTFOUND, AG_EEXIST (hash taken by another key), AG_EDB.
 */
int ag_store_user_key_update(struct ag_store *s, const struct ag_user_key *k, int64_t now_s);

/** Deletes the key named name (its usage rows stay). 0, AG_ENOTFOUND or AG_EDB. */
int ag_store_user_key_delete(struct ag_store *s, const char *name);

/** Reads the key named name into *out. 0, AG_ENOTFOUND or AG_EDB. */
int ag_store_user_key_get(struct ag_store *s, const char *name, struct ag_user_key *out);

/**
 * Reads every key, by name, into a new array (*out, free() it; NULL when there are none) of *n
 * entries. 0 or AG_EDB.
 */
int ag_store_user_key_list(struct ag_store *s, struct ag_user_key **out, size_t *n);

/** Reads the user_keys_version counter (see the file comment). 0 or AG_EDB. */
int ag_store_user_keys_version(struct ag_store *s, uint64_t *out);

/**
 * Sums the usage of key name over hours starting at or after since_s (unix s) into *out (zeros
 * when nothing was recorded). 0 or AG_EDB.
 */
int ag_store_key_usage_since(struct ag_store *s, const char *name, int64_t since_s,
                             struct ag_user_key_usage *out);

/** Adds d synchronously (for the CLI and tests; the gateway goes through the writer). 0 or AG_EDB.
 */
int ag_store_key_usage_add(struct ag_store *s, const struct ag_key_usage_delta *d);

/** One row of ag_store_key_usage_query: a key's totals in one bucket (hour or day). */
struct ag_key_usage_row {
    int64_t bucket_s; /* unix s of the bucket's start */
    const char *key_name;
    int64_t requests, input_tokens, output_tokens, cached_tokens, errors;
};

/** Receives one row; the strings live during the call only. */
typedef void (*ag_key_usage_row_cb)(const struct ag_key_usage_row *row, void *ud);

/**
 * Calls cb for each (bucket, key) with usage in [from_s, to_s), in time order; bucket_s is 3600
 * (hours) or 86400 (days that start at midnight tz_offset_s seconds east of UTC). 0 or AG_EDB.
 */
int ag_store_key_usage_query(struct ag_store *s, int64_t from_s, int64_t to_s, int64_t bucket_s,
                             int64_t tz_offset_s, ag_key_usage_row_cb cb, void *ud);

#endif
