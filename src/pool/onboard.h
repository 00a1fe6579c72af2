/* pool/onboard.h: adding an account from a refresh token, asynchronously on a loop: refresh the
 * token (oauth.clients in order) -> userinfo (email, name) -> loadCodeAssist (project, tier) ->
 * fetchAvailableModels (quota per model) -> upsert by email in the store (+ quota). Used by the
 * CLI (`aigate accounts add` / `import` / `refresh`, on its own loop and upstream client), by the
 * admin API's account add, import and quota refresh on the gateway's loop, and by the OAuth login
 * flow (pool/login.h) once it has a refresh token.
 *
 * A token the OAuth server refuses, or a userinfo failure, fails the onboarding and stores
 * nothing. A failed project or quota lookup does not: the account is stored without them (the
 * pool looks the project up again on first use) and the result carries a warning.
 *
 * Threading: the loop thread of client. The store is written synchronously from the callback
 * that finishes the flow (rare and short). */
#ifndef AG_POOL_ONBOARD_H
#define AG_POOL_ONBOARD_H

#include <stdbool.h>
#include <stddef.h>

#include "store/accounts.h"

struct ag_config;
struct ag_store;
struct ag_upstream_client;
struct ag_onboard;

/** What to add; strings borrowed for the ag_onboard_start call only (copied). */
struct ag_onboard_req {
    const char *refresh_token; /* required */
    const char *label;         /* stored on insert; may be NULL */
    const char *proxy_url;     /* per-account proxy, stored on insert and used for these calls */
};

/** How it went; strings valid during the callback only, "" when absent (never NULL). */
struct ag_onboard_result {
    int err;             /* 0; AG_EAUTH (token refused, e.g. invalid_grant); AG_EUPSTREAM /
                            AG_EIO / AG_ETIMEDOUT (OAuth server unreachable or failing); AG_EPARSE;
                            AG_EDB (store) */
    const char *stage;   /* where it ended: "refresh", "userinfo", "store", or "done" */
    const char *message; /* one line about a failure; never contains tokens */
    char id[AG_ACCOUNT_ID_SIZE];
    bool created; /* a new account (else an existing one with that email was updated) */
    const char *email, *name, *project_id;
    enum ag_tier tier;
    const char *tier_text; /* as upstream named it ("g1-pro-tier") */
    size_t nmodels;        /* models with quota stored */
    const char *warning;   /* a non-fatal problem (project or quota lookup failed) */
};

typedef void (*ag_onboard_cb)(const struct ag_onboard_result *res, void *ud);

/**
 * Starts onboarding. client, store and cfg are borrowed (cfg is referenced) until the callback.
 * The callback runs once, later, on the loop (never inside this call). Returns the operation, or
 * NULL with *err (AG_EINVAL: no refresh token or no OAuth client configured; AG_ESTATE: the
 * client is closing) and no callback.
 */
struct ag_onboard *ag_onboard_start(struct ag_upstream_client *client, struct ag_store *store,
                                    struct ag_config *cfg, const struct ag_onboard_req *req,
                                    ag_onboard_cb cb, void *ud, int *err);

/** Cancels: no callback runs and nothing more is stored. Not from inside the callback. */
void ag_onboard_cancel(struct ag_onboard *ob);

#endif
