/* admin/api_oauth.c: adding an account through Google's OAuth login in the browser.
 * POST /api/accounts/oauth/start answers the authorization URL (oauth.auth_url, the first
 * oauth.clients entry, the scopes Antigravity asks for, offline access, a random state) with the
 * redirect http://127.0.0.1:<port>/auth/callback; GET /auth/callback (public: the browser comes
 * back without our secret) checks the state, exchanges the code, and onboards the account with
 * the refresh token through the pool's onboarding, then shows a small HTML page. Unlike the
 * reference, the state is checked: a callback for a login nobody started is refused. */
#include "admin/admin_internal.h"
#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/rand.h"
#include "http/server.h"
#include "pool/onboard.h"
#include "pool/pool.h"
#include "upstream/oauth.h"

#include <stdio.h>
#include <string.h>

#define FLOW_TTL_MS (10 * 60 * 1000)

static const char *const scopes[] = {
    "openid",
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
    "https://www.googleapis.com/auth/cclog",
    "https://www.googleapis.com/auth/experimentsandconfigs",
};

static void h_start(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    const struct ag_config *c = a->cfg;
    if (c->oauth.clients.n == 0) {
        adm_error(req, 400, "invalid_request", "oauth.clients",
                  "no OAuth client configured (oauth.clients or AIGATE_OAUTH_CLIENT_ID)");
        return;
    }
    int64_t now = adm_now_ms();
    struct adm_flow *f = &a->flows[0];
    for (size_t i = 0; i < ADM_MAX_FLOWS; i++) {
        struct adm_flow *x = &a->flows[i];
        if (!x->state[0] || (x->expires_ms < now && !x->ob && !x->op)) {
            f = x;
            break;
        }
        if (x->expires_ms < f->expires_ms && !x->ob && !x->op)
            f = x;
    }
    if (f->ob || f->op) {
        adm_error(req, 409, "conflict", NULL, "too many OAuth logins in progress");
        return;
    }
    memset(f, 0, sizeof(*f));
    if (ag_random_hex(f->state, sizeof(f->state), 16)) {
        adm_error(req, 500, "server_error", NULL, "no randomness for the OAuth state");
        return;
    }
    f->a = a;
    f->expires_ms = now + FLOW_TTL_MS;
    snprintf(f->redirect, sizeof(f->redirect), "http://127.0.0.1:%d/auth/callback",
             a->server ? ag_http_server_port(a->server) : (int)c->server.port);

    struct ag_buf url, scope, b;
    ag_buf_init(&url, 0);
    ag_buf_init(&scope, 0);
    ag_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
        ag_buf_printf(&scope, "%s%s", i ? " " : "", scopes[i]);
    ag_buf_printf(&url, "%s%s", c->oauth.auth_url, strchr(c->oauth.auth_url, '?') ? "&" : "?");
    ag_buf_append_c(&url, "client_id=");
    ag_oauth_form_escape(&url, c->oauth.clients.v[0].client_id);
    ag_buf_append_c(&url, "&redirect_uri=");
    ag_oauth_form_escape(&url, f->redirect);
    ag_buf_append_c(&url, "&response_type=code&scope=");
    ag_oauth_form_escape(&url, scope.data);
    ag_buf_printf(&url, "&access_type=offline&prompt=consent&include_granted_scopes=true&state=%s",
                  f->state);
    jw_open(&b, NULL, '{');
    jw_str(&b, "url", url.data);
    jw_str(&b, "state", f->state);
    jw_str(&b, "redirect_uri", f->redirect);
    jw_int(&b, "expires_at_ms", f->expires_ms);
    jw_close(&b, '}');
    adm_json(req, 200, &b);
    ag_buf_dispose(&url);
    ag_buf_dispose(&scope);
    ag_buf_dispose(&b);
}

static void page(struct ag_http_req *req, int status, const char *title, const char *text)
{
    struct ag_buf b;
    ag_buf_init(&b, 0);
    ag_buf_append_c(&b, "<!doctype html><meta charset=utf-8><title>aigate</title>"
                        "<body style=\"font-family:sans-serif;margin:3em\"><h1>");
    ag_buf_append_c(&b, title);
    ag_buf_append_c(&b, "</h1><p>");
    for (const char *p = text; *p; p++) {
        if (*p == '<')
            ag_buf_append_c(&b, "&lt;");
        else if (*p == '&')
            ag_buf_append_c(&b, "&amp;");
        else
            ag_buf_append(&b, p, 1);
    }
    ag_buf_append_c(&b, "</p><script>try{window.opener&&window.opener.postMessage("
                        "{type:'aigate-oauth',ok:");
    ag_buf_append_c(&b, status == 200 ? "true" : "false");
    ag_buf_append_c(&b, "},'*')}catch(e){}</script></body>");
    ag_http_respond(req, status, "text/html; charset=utf-8", b.data, b.len);
    ag_buf_dispose(&b);
}

static void flow_abort(struct ag_http_req *req, void *ud)
{
    struct adm_flow *f = ud;
    f->req = NULL;
}

static void flow_end(struct adm_flow *f, int status, const char *title, const char *text)
{
    if (f->req) {
        f->req->on_abort = NULL;
        page(f->req, status, title, text);
    }
    memset(f, 0, sizeof(*f)); /* a state is good for one callback */
}

static void on_onboarded(const struct ag_onboard_result *r, void *ud)
{
    struct adm_flow *f = ud;
    char msg[512];
    f->ob = NULL;
    if (r->err) {
        snprintf(msg, sizeof(msg), "The account could not be added (%s): %s", r->stage, r->message);
        flow_end(f, 502, "Login failed", msg);
        return;
    }
    if (f->a->pool)
        ag_pool_reload(f->a->pool);
    ag_log_info("admin: account %s added through OAuth login", r->email);
    snprintf(msg, sizeof(msg), "%s was %s. You can close this window.", r->email,
             r->created ? "added" : "updated");
    flow_end(f, 200, "Account added", msg);
}

static void on_exchanged(struct ag_oauth_op *op, const struct ag_oauth_result *res, void *ud)
{
    struct adm_flow *f = ud;
    f->op = NULL;
    if (res->err || !res->refresh_token[0]) {
        flow_end(f, 502, "Login failed",
                 res->err ? res->message
                          : "Google answered without a refresh token; remove aigate's access "
                            "in your Google account settings and try again");
        return;
    }
    struct ag_onboard_req oreq = {.refresh_token = res->refresh_token};
    int err = 0;
    f->ob = ag_onboard_start(f->a->client, f->a->store, f->a->cfg, &oreq, on_onboarded, f, &err);
    if (!f->ob)
        flow_end(f, 500, "Login failed", ag_strerror(err));
}

static void h_callback(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    char state[64] = "", code[1024] = "", error[128] = "";
    adm_query(req, "state", state, sizeof(state));
    adm_query(req, "code", code, sizeof(code));
    adm_query(req, "error", error, sizeof(error));
    struct adm_flow *f = NULL;
    int64_t now = adm_now_ms();
    for (size_t i = 0; state[0] && i < ADM_MAX_FLOWS; i++) {
        struct adm_flow *x = &a->flows[i];
        if (x->state[0] && strlen(x->state) == strlen(state) &&
            ag_secret_eq(x->state, strlen(x->state), state, strlen(state)) && !x->op && !x->ob)
            f = x;
    }
    if (!f || f->expires_ms < now) {
        page(req, 400, "Login failed",
             "This login was not started here or has expired; start it again from aigate.");
        return;
    }
    if (error[0] || !code[0]) {
        f->req = req;
        flow_end(f, 400, "Login failed", error[0] ? error : "the callback carries no code");
        return;
    }
    const struct ag_config *c = a->cfg;
    struct ag_oauth_cfg oc = {
        .token_url = c->oauth.token_url,
        .userinfo_url = c->oauth.userinfo_url,
        .client_id = c->oauth.clients.v[0].client_id,
        .client_secret = c->oauth.clients.v[0].client_secret,
        .user_agent = c->upstream.user_agent,
        .proxy = c->upstream.proxy_url[0] ? c->upstream.proxy_url : NULL,
    };
    int err = 0;
    f->req = req;
    req->on_abort = flow_abort;
    req->cb_ud = f;
    f->op = ag_oauth_exchange_code(a->client, &oc, code, f->redirect, on_exchanged, f, &err);
    if (!f->op)
        flow_end(f, 500, "Login failed", ag_strerror(err));
}

void adm_oauth_cancel_all(struct ag_admin *a)
{
    for (size_t i = 0; i < ADM_MAX_FLOWS; i++) {
        struct adm_flow *f = &a->flows[i];
        if (f->op)
            ag_oauth_cancel(f->op);
        if (f->ob)
            ag_onboard_cancel(f->ob);
        if (f->state[0])
            flow_end(f, 503, "Login failed", "aigate is shutting down");
    }
}

const struct adm_route_def adm_oauth_routes[] = {
    {"POST", "/api/accounts/oauth/start", h_start, false},
    {"GET", "/auth/callback", h_callback, true},
    {NULL, NULL, NULL, false},
};
