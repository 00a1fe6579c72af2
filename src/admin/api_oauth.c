/* admin/api_oauth.c: adding an account through Google's OAuth login in the browser, on top of the
 * pool's login module (pool/login.h: authorization URL, state, code exchange, onboarding — the
 * same code `aigate accounts login` uses).
 *   POST /api/accounts/oauth/start     → {url, state, redirect_uri, expires_at_ms}
 *   GET  /auth/callback?code&state     → an HTML page (public: the browser comes back without our
 *                                        secret; the state is the proof, single-use)
 *   POST /api/accounts/oauth/complete  {"state"?, "code"} or {"url": pasted redirect URL}
 *                                      → {email, created} — for a code pasted into the UI
 * Unlike Antigravity Manager, the state is always checked: a callback for a login nobody started is
 * refused. */
#include "admin/admin_internal.h"
#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/server.h"
#include "pool/login.h"
#include "pool/onboard.h"
#include "pool/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGIN_TTL_MS (10 * 60 * 1000)

/* A completion in flight, tied to the request waiting for its outcome. */
struct pending {
    struct ag_admin *a;
    struct ag_http_req *req; /* NULL once the client went away */
    char state[AG_LOGIN_STATE_SIZE];
    bool html; /* answer with the callback page rather than JSON */
};

static struct ag_login *login_of(struct ag_admin *a)
{
    if (!a->login && a->client && a->store)
        a->login = ag_login_new(a->client, a->store);
    return a->login;
}

static void h_start(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    char redirect[128], state[AG_LOGIN_STATE_SIZE];
    char *url = NULL;
    struct ag_login *l = login_of(a);
    snprintf(redirect, sizeof(redirect), "http://127.0.0.1:%d/auth/callback",
             a->server ? ag_http_server_port(a->server) : (int)a->cfg->server.port);
    int rc = l ? ag_login_start(l, a->cfg, redirect, &url, state) : AG_ESTATE;
    if (rc == AG_EINVAL) {
        adm_error(req, 400, "invalid_request", "oauth.clients",
                  "no OAuth client configured (oauth.clients or AIGATE_OAUTH_CLIENT_ID)");
        return;
    }
    if (rc == AG_ESTATE) {
        adm_error(req, 409, "conflict", NULL, "too many OAuth logins are completing");
        return;
    }
    if (rc) {
        adm_error_rc(req, rc, "cannot start the OAuth login");
        return;
    }
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_jsonw_open(&b, NULL, '{');
    ag_jsonw_str(&b, "url", url);
    ag_jsonw_str(&b, "state", state);
    ag_jsonw_str(&b, "redirect_uri", redirect);
    ag_jsonw_int(&b, "expires_at_ms", adm_now_ms() + LOGIN_TTL_MS);
    ag_jsonw_close(&b, '}');
    adm_json(req, 200, &b);
    ag_buf_dispose(&b);
    free(url);
}

static void pending_abort(struct ag_http_req *req, void *ud)
{
    struct pending *p = ud;
    /* The client left: stop the completion (its callback will not run) and forget it. */
    if (p->a->login)
        ag_login_cancel(p->a->login, p->state);
    free(p);
}

static void on_completed(const struct ag_login_result *res, void *ud)
{
    struct pending *p = ud;
    struct ag_http_req *req = p->req;
    char msg[512];
    if (!res->err && p->a->pool)
        ag_pool_reload(p->a->pool);
    if (!res->err)
        ag_log_info("admin: account %s added through OAuth login", res->account->email);
    if (req) {
        req->on_abort = NULL;
        if (p->html) {
            if (res->err) {
                snprintf(msg, sizeof(msg), "The account could not be added: %s", res->message);
                ag_login_page_respond(req, 502, "Login failed", msg);
            } else {
                snprintf(msg, sizeof(msg), "%s was %s. You can close this window.",
                         res->account->email, res->account->created ? "added" : "updated");
                ag_login_page_respond(req, 200, "Account added", msg);
            }
        } else if (res->err) {
            adm_error(req, 502, "upstream_error", "code", "the account could not be added: %s",
                      res->message);
        } else {
            struct ag_buf b;
            ag_buf_init(&b, AG_BUF_CAP_SHORT);
            ag_jsonw_open(&b, NULL, '{');
            ag_jsonw_str(&b, "email", res->account->email);
            ag_jsonw_bool(&b, "created", res->account->created);
            ag_jsonw_close(&b, '}');
            adm_json(req, 200, &b);
            ag_buf_dispose(&b);
        }
    }
    free(p);
}

/* Starts the completion of state with code for req; answers req itself on every path. */
static void complete(struct ag_admin *a, struct ag_http_req *req, const char *state,
                     const char *code, bool html)
{
    struct ag_login *l = login_of(a);
    struct pending *p = AG_NEW(struct pending);
    p->a = a;
    p->req = req;
    p->html = html;
    ag_strlcpy(p->state, state, sizeof(p->state));
    req->on_abort = pending_abort;
    req->cb_ud = p;
    int rc = l ? ag_login_complete(l, state, code, on_completed, p) : AG_ENOTFOUND;
    if (!rc)
        return;
    req->on_abort = NULL;
    free(p);
    const char *why = rc == AG_ENOTFOUND
                          ? "This login was not started here or has expired; start it again."
                      : rc == AG_ESTATE ? "This login is already being completed."
                                        : "The code could not be exchanged.";
    if (html)
        ag_login_page_respond(req, 400, "Login failed", why);
    else
        adm_error(req, rc == AG_ESTATE ? 409 : 400, "invalid_request", "state", "%s", why);
}

static void h_callback(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    char state[64] = "", code[1024] = "", error[128] = "";
    adm_query(req, "state", state, sizeof(state));
    adm_query(req, "code", code, sizeof(code));
    adm_query(req, "error", error, sizeof(error));
    if (!state[0]) {
        ag_login_page_respond(req, 400, "Login failed", "The callback carries no state.");
        return;
    }
    if (error[0] || !code[0]) {
        if (a->login)
            ag_login_cancel(a->login, state);
        ag_login_page_respond(req, 400, "Login failed",
                              error[0] ? error : "The callback carries no code.");
        return;
    }
    complete(a, req, state, code, true);
}

static void h_complete(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    yyjson_val *body = adm_body(req, false);
    const char *state = NULL, *code = NULL, *url = NULL;
    if (!body || !adm_get_str(req, body, "state", false, &state) ||
        !adm_get_str(req, body, "code", false, &code) ||
        !adm_get_str(req, body, "url", false, &url))
        return;
    char c[1024] = "", s[64] = "";
    const char *pasted = url ? url : code;
    if (!pasted || ag_login_parse_pasted(pasted, c, sizeof(c), s, sizeof(s))) {
        adm_error(req, 400, "invalid_request", url ? "url" : "code",
                  "give the code, or the whole address the browser was sent back to");
        return;
    }
    if (!s[0] && state)
        ag_strlcpy(s, state, sizeof(s));
    if (!s[0]) {
        adm_error(req, 400, "invalid_request", "state", "the login's state is required");
        return;
    }
    complete(a, req, s, c, false);
}

void adm_oauth_cancel_all(struct ag_admin *a)
{
    /* Freeing the registry cancels completions in flight without callbacks; their requests end
     * when the server closes them, and on_abort (pending_abort) frees what they held. */
    ag_login_free(a->login);
    a->login = NULL;
}

const struct adm_route_def adm_oauth_routes[] = {
    {"POST", "/api/accounts/oauth/start", h_start, false},
    {"POST", "/api/accounts/oauth/complete", h_complete, false},
    {"GET", "/auth/callback", h_callback, true},
    {NULL, NULL, NULL, false},
};
