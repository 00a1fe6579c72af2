/* upstream/oauth.h: Google OAuth 2.0 calls over the upstream client: the refresh_token grant, the
 * authorization_code grant (both form-encoded POSTs to the token URL) and the userinfo GET. Each
 * call is asynchronous and reports once through its callback. Deciding when to refresh, making
 * concurrent refreshes of one account share a call, and storing tokens belong to pool/. */
#ifndef AG_UPSTREAM_OAUTH_H
#define AG_UPSTREAM_OAUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "upstream/client.h"

struct ag_oauth_op;

/** Endpoints and client identity; strings borrowed until the callback. */
struct ag_oauth_cfg {
    const char *token_url;    /* https://oauth2.googleapis.com/token (AIGATE_OAUTH_TOKEN_URL) */
    const char *userinfo_url; /* https://www.googleapis.com/oauth2/v2/userinfo */
    const char *client_id;
    const char *client_secret; /* may be NULL */
    const char *user_agent;    /* may be NULL */
    const char *proxy;         /* may be NULL */
    uint32_t timeout_ms;       /* total per call; 0 = 60 s */
};

/**
 * The outcome; every string is valid during the callback only and is "" when absent (never NULL).
 * err: 0 on success; AG_EAUTH when the server refused (HTTP 4xx, see error, invalid_grant);
 * AG_EUPSTREAM for other HTTP failures (5xx); AG_EPARSE for an unreadable 2xx body; AG_ETIMEDOUT
 * or AG_EIO for transport failures (see fail).
 */
struct ag_oauth_result {
    int err;
    int status;
    enum ag_upstream_fail fail;
    bool invalid_grant; /* the refresh token / code is revoked, expired or already used */
    const char *error;  /* OAuth "error" code, e.g. "invalid_grant", "invalid_client" */
    const char *error_description;
    const char *message; /* one human-readable line about a failure */
    /* token calls */
    const char *access_token;
    int64_t expires_in; /* seconds; 0 when absent */
    const char *refresh_token;
    const char *id_token;
    const char *token_type;
    const char *scope;
    /* userinfo */
    const char *email;
    const char *name;
    const char *picture;
};

typedef void (*ag_oauth_cb)(struct ag_oauth_op *op, const struct ag_oauth_result *res, void *ud);

/**
 * Starts a refresh_token grant. Returns the operation (freed by this module after the callback
 * returns) or NULL with *err (AG_EINVAL for a missing URL/client id/token, or the client's error).
 */
struct ag_oauth_op *ag_oauth_refresh(struct ag_upstream_client *client,
                                     const struct ag_oauth_cfg *cfg, const char *refresh_token,
                                     ag_oauth_cb cb, void *ud, int *err);

/** Starts an authorization_code grant (code from the redirect, the same redirect_uri). */
struct ag_oauth_op *ag_oauth_exchange_code(struct ag_upstream_client *client,
                                           const struct ag_oauth_cfg *cfg, const char *code,
                                           const char *redirect_uri, ag_oauth_cb cb, void *ud,
                                           int *err);

/** Starts a userinfo GET with the access token (result: email, name, picture). */
struct ag_oauth_op *ag_oauth_userinfo(struct ag_upstream_client *client,
                                      const struct ag_oauth_cfg *cfg, const char *access_token,
                                      ag_oauth_cb cb, void *ud, int *err);

/** Cancels an operation; its callback will not run. A no-op inside its own callback. */
void ag_oauth_cancel(struct ag_oauth_op *op);

/** Appends s form-urlencoded (application/x-www-form-urlencoded) to out; 0 or AG_ETOOBIG. */
int ag_oauth_form_escape(struct ag_buf *out, const char *s);

#endif
