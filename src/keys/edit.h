/* keys/edit.h: what the CLI (`aigate keys ...`) and the admin API (/api/keys) share to change
 * user keys: one vocabulary of settable fields with their validation, the create / update /
 * state / rotate operations on the store, and the JSON form of a key with its usage. */
#ifndef AG_KEYS_EDIT_H
#define AG_KEYS_EDIT_H

#include <stddef.h>
#include <stdint.h>
#include <yyjson.h>

#include "store/user_keys.h"

struct ag_store;

/**
 * Sets one field of k from its text form. field is one of "models" (comma-separated glob
 * patterns, "" = every model), "expires" (see ag_keys_parse_expiry; "never" clears it), "rpm",
 * "tpm", "daily_tokens", "monthly_tokens", "max_concurrency" (whole numbers 0..10^12, 0 = no
 * limit), "ips" (comma-separated CIDRs, "" = any address) and "note". A dash in field counts as
 * an underscore ("daily-tokens"). Returns 0, or AG_ENOTFOUND for an unknown field and AG_EINVAL
 * for a bad value, with a sentence in err.
 */
int ag_keys_field_set(struct ag_user_key *k, const char *field, const char *value, int64_t now_s,
                      char *err, size_t errcap);

/**
 * Creates key k (name and fields set by the caller; state active) with a new secret written into
 * secret (cap >= 36, shown to the user once; only its hash is stored). 0, AG_EEXIST (the name is
 * taken), AG_EINVAL (bad name), AG_EIO, AG_EDB; err gets a sentence.
 */
int ag_keys_create(struct ag_store *s, struct ag_user_key *k, int64_t now_s, char *secret,
                   size_t cap, char *err, size_t errcap);

/**
 * Gives the key named name a new secret (written into secret, cap >= 36); the old one stops
 * working at once (within a second for a running gateway). A revoked key cannot be rotated.
 * 0, AG_ENOTFOUND, AG_ESTATE (revoked), AG_EIO, AG_EDB; err gets a sentence.
 */
int ag_keys_rotate(struct ag_store *s, const char *name, int64_t now_s, char *secret, size_t cap,
                   char *err, size_t errcap);

/**
 * Sets the state of the key named name: "enable" (active), "disable" or "revoke". A revoked key
 * stays revoked. 0, AG_ENOTFOUND, AG_ESTATE, AG_EINVAL (unknown action), AG_EDB; err gets a
 * sentence.
 */
int ag_keys_set_state(struct ag_store *s, const char *name, const char *action, int64_t now_s,
                      char *err, size_t errcap);

/**
 * Builds the JSON object of a key (never its hash): name, state, models, ips, note, expires_at,
 * expired, rpm, tpm, daily_tokens, monthly_tokens, max_concurrency, created_at, updated_at,
 * last_used_at, and usage {today: {requests, tokens}, month: {...}} read from the store as of
 * now_s. Returns the object, owned by d.
 */
yyjson_mut_val *ag_keys_to_json(yyjson_mut_doc *d, struct ag_store *s, const struct ag_user_key *k,
                                int64_t now_s);

#endif
