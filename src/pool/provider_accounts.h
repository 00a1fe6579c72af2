/* pool/provider_accounts.h: adding an API-key account of another provider (store/provider.h) and
 * re-reading the models it serves, for the CLI (`aigate accounts add --provider ...`,
 * `aigate accounts refresh-models`, import) and the admin API (POST /api/accounts/provider,
 * POST /api/accounts/{id}/refresh-models).
 *
 * The account's name in lists and statistics (its email column) is "<kind>:<label>" when a label
 * is given, else "<kind>:<host>:<8 hex digits of the key's SHA-256>", so the same key added twice
 * updates one account and the key itself never shows. An openai / openai-compatible account
 * without a models list asks the endpoint's own GET <base>/models (with the account's key and
 * proxy, at most AG_PROVIDER_MODELS_TIMEOUT_MS and AG_PROVIDER_MODELS_BODY_MAX bytes) and stores
 * the ids it lists.
 *
 * Threading: synchronous. A model list is read on a private loop and upstream client, so these
 * may run on any thread that owns its store connection (the CLI's main thread, an admin worker),
 * never on the gateway's loop thread. Messages never contain the key. */
#ifndef AG_POOL_PROVIDER_ACCOUNTS_H
#define AG_POOL_PROVIDER_ACCOUNTS_H

#include <stddef.h>

#include "store/accounts.h"

struct ag_store;

/** Longest wait for an endpoint's model list. */
#define AG_PROVIDER_MODELS_TIMEOUT_MS 15000
/** Largest model list answer read. */
#define AG_PROVIDER_MODELS_BODY_MAX (4u << 20)
/** Longest stored models list (comma-separated ids); an endpoint's longer list is cut there. */
#define AG_PROVIDER_MODELS_MAX (64u * 1024)

/** What to store; every string is borrowed, NULL or "" = not given. */
struct ag_provider_put {
    const char *kind;     /* "gemini", "anthropic", "openai", "openai-compatible" (required) */
    const char *api_key;  /* required */
    const char *base_url; /* the kind's default when not given (openai-compatible needs one) */
    const char *models;   /* "a,b,c"; not given: the endpoint's list (kinds that list them) */
    const char *label;
    const char *proxy;
    const char *name; /* the account's name; not given: made from the kind, label or host and key */
};

/**
 * Checks in and stores the account (insert, or update of the one with the same name). On success
 * id_out (AG_ACCOUNT_ID_SIZE bytes, may be NULL) gets its id. Writes one line for the user to msg
 * (cap bytes): what was stored, or why not. Returns 0, AG_EINVAL (bad argument), AG_EUPSTREAM /
 * AG_EPARSE (the endpoint's model list: no answer, not 200, not a list, or an empty one) or a
 * store error.
 */
int ag_provider_account_put(struct ag_store *store, const struct ag_provider_put *in, char *id_out,
                            char *msg, size_t cap);

/**
 * Reads the endpoint's model list of the API-key account id again and stores it. msg as above
 * ("models of NAME: a,b,c"). Returns 0, AG_ENOTFOUND (no such account), AG_EINVAL (not an API-key
 * account, or a kind whose models are not listed by its API), AG_EUPSTREAM / AG_EPARSE (the list),
 * or a store error; on failure the stored list is kept.
 */
int ag_provider_account_refresh_models(struct ag_store *store, const char *id, char *msg,
                                       size_t cap);

#endif
