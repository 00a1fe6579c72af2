/* pool/login.c: the OAuth authorization-code flow (see login.h) — a fixed table of pending logins
 * keyed by state; completion chains the code exchange into onboarding. */
#include "pool/login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rand.h"
#include "core/str.h"
#include "core/time.h"
#include "core/url.h"
#include "http/server.h"
#include "upstream/oauth.h"

const char ag_login_scopes[] = "openid https://www.googleapis.com/auth/cloud-platform "
                               "https://www.googleapis.com/auth/userinfo.email "
                               "https://www.googleapis.com/auth/userinfo.profile "
                               "https://www.googleapis.com/auth/cclog "
                               "https://www.googleapis.com/auth/experimentsandconfigs";

struct flow {
    char state[AG_LOGIN_STATE_SIZE]; /* "" = free slot */
    char *redirect;
    struct ag_config *cfg;
    size_t client; /* index into cfg->oauth.clients */
    int64_t expires_ms;
    struct ag_oauth_op *op;
    struct ag_onboard *ob;
    ag_login_cb cb;
    void *ud;
    struct ag_login *login;
};

struct ag_login {
    struct ag_upstream_client *client;
    struct ag_store *store;
    struct flow flows[AG_LOGIN_MAX];
};

struct ag_login *ag_login_new(struct ag_upstream_client *client, struct ag_store *store)
{
    struct ag_login *l = AG_NEW(struct ag_login);
    l->client = client;
    l->store = store;
    for (size_t i = 0; i < AG_LOGIN_MAX; i++)
        l->flows[i].login = l;
    return l;
}

static bool busy(const struct flow *f)
{
    return f->op || f->ob;
}

/* Forgets a login (no callback). */
static void flow_clear(struct flow *f)
{
    struct ag_login *l = f->login;
    if (f->op)
        ag_oauth_cancel(f->op);
    if (f->ob)
        ag_onboard_cancel(f->ob);
    free(f->redirect);
    ag_config_unref(f->cfg);
    memset(f, 0, sizeof(*f));
    f->login = l;
}

void ag_login_free(struct ag_login *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < AG_LOGIN_MAX; i++)
        flow_clear(&l->flows[i]);
    free(l);
}

int ag_login_start(struct ag_login *l, struct ag_config *cfg, const char *redirect_uri, char **url,
                   char *state_out)
{
    struct flow *f = NULL;
    int64_t now = ag_wall_ms();
    struct ag_buf b;
    if (!l || !cfg || !redirect_uri || !*redirect_uri || cfg->oauth.clients.n == 0)
        return AG_EINVAL;
    /* A free slot, else an expired one, else the oldest idle one. */
    for (size_t i = 0; i < AG_LOGIN_MAX; i++) {
        struct flow *x = &l->flows[i];
        if (busy(x))
            continue;
        if (!x->state[0] || x->expires_ms < now) {
            f = x;
            break;
        }
        if (!f || x->expires_ms < f->expires_ms)
            f = x;
    }
    if (!f)
        return AG_ESTATE;
    flow_clear(f);
    if (ag_random_hex(f->state, sizeof(f->state), 16) != 0) {
        f->state[0] = '\0';
        return AG_EIO;
    }
    f->redirect = ag_strdup(redirect_uri);
    f->cfg = ag_config_ref(cfg);
    f->client = 0;
    f->expires_ms = now + AG_LOGIN_TTL_MS;

    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_buf_printf(&b, "%s%s", cfg->oauth.auth_url, strchr(cfg->oauth.auth_url, '?') ? "&" : "?");
    ag_buf_append_c(&b, "client_id=");
    ag_oauth_form_escape(&b, cfg->oauth.clients.v[0].client_id);
    ag_buf_append_c(&b, "&redirect_uri=");
    ag_oauth_form_escape(&b, redirect_uri);
    ag_buf_append_c(&b, "&response_type=code&scope=");
    ag_oauth_form_escape(&b, ag_login_scopes);
    ag_buf_printf(&b, "&access_type=offline&prompt=consent&include_granted_scopes=true&state=%s",
                  f->state);
    *url = ag_strdup(b.data);
    ag_buf_dispose(&b);
    ag_strlcpy(state_out, f->state, AG_LOGIN_STATE_SIZE);
    return 0;
}

static struct flow *find(struct ag_login *l, const char *state)
{
    size_t n = state ? strlen(state) : 0;
    for (size_t i = 0; n && i < AG_LOGIN_MAX; i++) {
        struct flow *f = &l->flows[i];
        if (f->state[0] && strlen(f->state) == n && ag_secret_eq(f->state, n, state, n))
            return f;
    }
    return NULL;
}

/* Ends a completion: the callback, then the slot is free (a state is good once). */
static void finish(struct flow *f, int err, const char *message,
                   const struct ag_onboard_result *acct)
{
    struct ag_login_result r = {.err = err, .message = message ? message : "", .account = acct};
    ag_login_cb cb = f->cb;
    void *ud = f->ud;
    f->op = NULL;
    f->ob = NULL;
    flow_clear(f);
    cb(&r, ud);
}

static void on_onboarded(const struct ag_onboard_result *res, void *ud)
{
    struct flow *f = ud;
    char msg[640];
    f->ob = NULL;
    if (res->err) {
        snprintf(msg, sizeof(msg), "the account could not be added (%s): %s", res->stage,
                 res->message);
        finish(f, res->err, msg, NULL);
        return;
    }
    ag_log_info("login: account %s %s through OAuth login", res->email,
                res->created ? "added" : "updated");
    finish(f, 0, "", res);
}

static void on_exchanged(struct ag_oauth_op *op, const struct ag_oauth_result *res, void *ud)
{
    struct flow *f = ud;
    char msg[512];
    int err = 0;
    (void)op;
    f->op = NULL;
    if (res->err) {
        snprintf(msg, sizeof(msg), "the authorization code was refused: %s", res->message);
        finish(f, res->err, msg, NULL);
        return;
    }
    if (!res->refresh_token[0]) {
        finish(f, AG_EAUTH,
               "Google answered without a refresh token; remove aigate's access in your Google "
               "account settings and log in again",
               NULL);
        return;
    }
    struct ag_onboard_req req = {.refresh_token = res->refresh_token};
    f->ob =
        ag_onboard_start(f->login->client, f->login->store, f->cfg, &req, on_onboarded, f, &err);
    if (!f->ob) {
        snprintf(msg, sizeof(msg), "cannot start onboarding: %s", ag_strerror(err));
        finish(f, err ? err : AG_EINVAL, msg, NULL);
    }
}

int ag_login_complete(struct ag_login *l, const char *state, const char *code, ag_login_cb cb,
                      void *ud)
{
    struct flow *f = l && cb ? find(l, state) : NULL;
    int err = 0;
    if (!f)
        return AG_ENOTFOUND;
    if (busy(f))
        return AG_ESTATE;
    if (f->expires_ms < ag_wall_ms()) {
        flow_clear(f);
        return AG_ENOTFOUND;
    }
    if (!code || !*code)
        return AG_EINVAL;
    const struct ag_config *c = f->cfg;
    const struct ag_config_oauth_client *cl = &c->oauth.clients.v[f->client];
    struct ag_oauth_cfg oc = {
        .token_url = c->oauth.token_url,
        .userinfo_url = c->oauth.userinfo_url,
        .client_id = cl->client_id,
        .client_secret = cl->client_secret[0] ? cl->client_secret : NULL,
        .user_agent = c->upstream.user_agent[0] ? c->upstream.user_agent : NULL,
        .proxy = c->upstream.proxy_url[0] ? c->upstream.proxy_url : NULL,
        .timeout_ms = 60000,
    };
    f->cb = cb;
    f->ud = ud;
    f->op = ag_oauth_exchange_code(l->client, &oc, code, f->redirect, on_exchanged, f, &err);
    if (!f->op) {
        f->cb = NULL;
        return err ? err : AG_EINVAL;
    }
    return 0;
}

void ag_login_cancel(struct ag_login *l, const char *state)
{
    struct flow *f = l ? find(l, state) : NULL;
    if (f)
        flow_clear(f);
}

bool ag_login_query_value(const char *query, size_t len, const char *name, char *out, size_t cap)
{
    /* A pasted redirect URL may carry a fragment: the query ends before it. */
    const char *hash = memchr(query, '#', len);
    struct ag_str q = ag_str_make(query, hash ? (size_t)(hash - query) : len);
    return ag_url_query_get(q, name, out, cap);
}

int ag_login_parse_pasted(const char *text, char *code, size_t code_cap, char *state,
                          size_t state_cap)
{
    struct ag_str t = ag_str_trim(ag_str_c(text));
    char buf[4096];
    const char *q;
    if (!t.len || t.len >= sizeof(buf))
        return AG_EINVAL;
    memcpy(buf, t.p, t.len);
    buf[t.len] = '\0';
    state[0] = '\0';
    q = strchr(buf, '?');
    if (q || strstr(buf, "code=")) {
        q = q ? q + 1 : buf;
        if (!ag_login_query_value(q, strlen(q), "code", code, code_cap) || !code[0])
            return AG_EINVAL;
        if (!ag_login_query_value(q, strlen(q), "state", state, state_cap))
            state[0] = '\0';
        return 0;
    }
    if (strpbrk(buf, " \t\r\n"))
        return AG_EINVAL; /* not one code */
    if (t.len >= code_cap)
        return AG_EINVAL;
    ag_strlcpy(code, buf, code_cap);
    return 0;
}

/* ---- the callback page ---- */

/* title and text are short messages; escaping grows them at most 6x */
#define PAGE_MAX (16 * 1024)

static int html_escaped(struct ag_buf *out, const char *s)
{
    int rc = 0;
    for (const char *p = s; *p && !rc; p++) {
        switch (*p) {
        case '<':
            rc = ag_buf_append_c(out, "&lt;");
            break;
        case '>':
            rc = ag_buf_append_c(out, "&gt;");
            break;
        case '&':
            rc = ag_buf_append_c(out, "&amp;");
            break;
        case '"':
            rc = ag_buf_append_c(out, "&quot;");
            break;
        default:
            rc = ag_buf_append(out, p, 1);
        }
    }
    return rc;
}

int ag_login_page_html(struct ag_buf *out, bool ok, const char *title, const char *text)
{
    int rc;
    if ((rc = ag_buf_append_c(out, "<!doctype html><meta charset=utf-8><title>aigate</title>"
                                   "<body style=\"font-family:sans-serif;margin:3em\"><h1>")) ||
        (rc = html_escaped(out, title)) || (rc = ag_buf_append_c(out, "</h1><p>")) ||
        (rc = html_escaped(out, text)))
        return rc;
    /* the web UI opened this window and waits for the outcome; the CLI's browser tab has no
     * opener and just shows the text */
    return ag_buf_printf(out,
                         "</p><script>try{window.opener&&window.opener.postMessage("
                         "{type:'aigate-oauth',ok:%s},'*')}catch(e){}</script></body>",
                         ok ? "true" : "false");
}

void ag_login_page_respond(struct ag_http_req *req, int status, const char *title, const char *text)
{
    struct ag_buf b;
    ag_buf_init(&b, PAGE_MAX);
    if (ag_login_page_html(&b, status == 200, title, text) == 0)
        ag_http_respond(req, status, "text/html; charset=utf-8", b.data, b.len);
    else
        ag_http_respond(req, 500, "text/plain; charset=utf-8", "page too large\n", 15);
    ag_buf_dispose(&b);
}
