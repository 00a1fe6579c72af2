/* pool/login.h: adding an account through Google's OAuth authorization-code flow, shared by
 * `aigate accounts login` (a loopback listener of its own) and the running server's
 * /auth/callback (admin API).
 *
 *   ag_login_start(): a new login — the authorization URL (oauth.auth_url with the first
 *     oauth.clients entry, the scopes Antigravity asks for, offline access, consent prompt, and a
 *     random state) for a redirect URI chosen by the caller; the login is kept for
 *     AG_LOGIN_TTL_MS under its state;
 *   ag_login_complete(state, code): the code is exchanged at oauth.token_url with the same
 *     client and redirect URI, and the refresh token goes through onboarding (pool/onboard.h:
 *     userinfo, loadCodeAssist, fetchAvailableModels, upsert by email). A state is good for one
 *     completion; an unknown or expired state is refused (Antigravity Manager never checked it).
 *
 * Threading: the loop thread of the upstream client. */
#ifndef AG_POOL_LOGIN_H
#define AG_POOL_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "pool/onboard.h"

struct ag_http_req;

struct ag_config;
struct ag_store;
struct ag_upstream_client;
struct ag_login;

/** How long a started login waits for its completion. */
#define AG_LOGIN_TTL_MS (10 * 60 * 1000)
/** Logins pending at once; a start beyond replaces the oldest idle one. */
#define AG_LOGIN_MAX 16
/** Size of a state (32 hex digits and the NUL). */
#define AG_LOGIN_STATE_SIZE 33

/** The OAuth scopes, space-separated. */
extern const char ag_login_scopes[];

/** A registry of logins on client's loop; client and store are borrowed and must outlive it. */
struct ag_login *ag_login_new(struct ag_upstream_client *client, struct ag_store *store);

/** Cancels every login (no callbacks) and frees the registry. NULL is a no-op. */
void ag_login_free(struct ag_login *l);

/**
 * Starts a login redirecting to redirect_uri (copied). cfg is referenced until the login ends.
 * *url gets the authorization URL (malloc'd, the caller frees), state_out (AG_LOGIN_STATE_SIZE
 * bytes) the state. Returns 0, AG_EINVAL (no OAuth client configured, or no redirect URI),
 * AG_ESTATE (AG_LOGIN_MAX logins are completing), or AG_EIO (no randomness).
 */
int ag_login_start(struct ag_login *l, struct ag_config *cfg, const char *redirect_uri, char **url,
                   char *state_out);

/** The outcome of a completion; valid during the callback only. */
struct ag_login_result {
    int err;             /* 0, or AG_EAUTH (code refused, no refresh token), onboarding errors */
    const char *message; /* one line about a failure, "" on success; never contains tokens */
    const struct ag_onboard_result *account; /* the onboarded account; NULL when err */
};

typedef void (*ag_login_cb)(const struct ag_login_result *res, void *ud);

/**
 * Completes the login of state with code (both borrowed). The callback runs once, later, on the
 * loop. Returns 0, AG_ENOTFOUND (no such login, or expired; no callback), AG_ESTATE (already
 * completing), or an error starting the exchange (no callback).
 */
int ag_login_complete(struct ag_login *l, const char *state, const char *code, ag_login_cb cb,
                      void *ud);

/** Cancels a completion in flight: its callback will not run; the login is dropped. */
void ag_login_cancel(struct ag_login *l, const char *state);

/**
 * Reads what a user pasted: a bare code, or the redirect URL (or just its query) carrying code=
 * and state= (percent-decoded). state gets "" when there was none. Returns 0, or AG_EINVAL when
 * no code is found (or it does not fit).
 */
int ag_login_parse_pasted(const char *text, char *code, size_t code_cap, char *state,
                          size_t state_cap);

/**
 * Finds name=value in an URL query (without '?', up to a '#' fragment), percent-decoded into out
 * (ag_url_query_get); false if absent or too long for out.
 */
bool ag_login_query_value(const char *query, size_t len, const char *name, char *out, size_t cap);

/**
 * Appends the page the browser shows after the OAuth redirect: title and text (both HTML-escaped)
 * and a script telling the window that opened it (the web UI) whether the login succeeded (ok).
 * Returns 0 or AG_ETOOBIG.
 */
int ag_login_page_html(struct ag_buf *out, bool ok, const char *title, const char *text);

/**
 * Answers the OAuth callback request req with that page (status 200 means success); the one
 * callback page of the web UI's login and of `aigate accounts login`.
 */
void ag_login_page_respond(struct ag_http_req *req, int status, const char *title,
                           const char *text);

#endif
