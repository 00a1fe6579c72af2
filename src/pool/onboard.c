/* pool/onboard.c: the add-an-account flow (see onboard.h) as a small state machine; each step
 * starts the next one from the previous step's completion callback. */
#include "pool/onboard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "core/time.h"
#include "pool/codeassist.h"
#include "store/accounts.h"
#include "upstream/cloudcode.h"
#include "upstream/oauth.h"

struct ag_onboard {
    struct ag_upstream_client *client;
    struct ag_store *store;
    struct ag_config *cfg;
    ag_onboard_cb cb;
    void *ud;
    char *refresh_token, *label;
    char *acct_proxy; /* the account's own proxy (stored), or NULL */
    char *proxy;      /* used for the calls: acct_proxy, else the global one, else NULL */
    size_t next_client;
    int last_err;
    char msg[512], warning[512];
    /* learned along the way */
    char *access_token, *new_refresh_token, *client_name;
    int64_t expiry;
    char *email, *name, *project, *tier_text, *quota;
    char *windows; /* retrieveUserQuotaSummary as stored (ag_codeassist_parse_summary), or NULL */
    enum ag_tier tier;
    size_t nmodels;
    bool models_bare; /* fetchAvailableModels was asked again with {} after a 403 */
    struct ag_buf body;
    struct ag_oauth_op *op;
    struct ag_cloudcode_call *call;
    struct ag_cloudcode_target target;
};

static void ob_free(struct ag_onboard *ob)
{
    ag_config_unref(ob->cfg);
    free(ob->refresh_token);
    free(ob->label);
    free(ob->proxy);
    free(ob->acct_proxy);
    free(ob->access_token);
    free(ob->new_refresh_token);
    free(ob->client_name);
    free(ob->email);
    free(ob->name);
    free(ob->project);
    free(ob->tier_text);
    free(ob->quota);
    free(ob->windows);
    ag_buf_dispose(&ob->body);
    free(ob);
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

static void finish(struct ag_onboard *ob, int err, const char *stage, const char *id, bool created)
{
    struct ag_onboard_result r = {
        .err = err,
        .stage = stage,
        .message = err ? ob->msg : "",
        .created = created,
        .email = nz(ob->email),
        .name = nz(ob->name),
        .project_id = nz(ob->project),
        .tier = ob->tier,
        .tier_text = nz(ob->tier_text),
        .nmodels = ob->quota ? ob->nmodels : 0,
        .warning = ob->warning,
    };
    ag_strlcpy(r.id, nz(id), sizeof(r.id));
    ob->cb(&r, ob->ud);
    ob_free(ob);
}

static void store_account(struct ag_onboard *ob)
{
    struct ag_account in = {0};
    char id[AG_ACCOUNT_ID_SIZE] = "";
    bool created = false;
    int rc;

    in.email = ob->email;
    in.name = ob->name;
    in.refresh_token = ob->new_refresh_token ? ob->new_refresh_token : ob->refresh_token;
    in.access_token = ob->access_token;
    in.token_expiry = ob->expiry;
    in.project_id = ob->project;
    in.oauth_client = ob->client_name;
    in.label = ob->label;
    in.proxy_url = ob->acct_proxy;
    rc = ag_store_account_upsert(ob->store, &in, id, &created);
    if (rc) {
        snprintf(ob->msg, sizeof(ob->msg), "cannot store %s: %s", ob->email, ag_strerror(rc));
        finish(ob, rc, "store", NULL, false);
        return;
    }
    if (ob->quota) {
        rc = ag_store_account_set_quota(ob->store, id, ob->quota, ob->tier, ag_wall_s());
        if (rc)
            snprintf(ob->warning, sizeof(ob->warning), "quota not stored: %s", ag_strerror(rc));
    }
    if (ob->windows)
        ag_store_account_set_quota_windows(ob->store, id, ob->windows); /* best effort */
    finish(ob, 0, "done", id, created);
}

static void warn(struct ag_onboard *ob, const char *what, const struct ag_cloudcode_result *res)
{
    size_t n = strlen(ob->warning);
    if (res->err)
        snprintf(ob->warning + n, sizeof(ob->warning) - n, "%s%s failed: %s", n ? "; " : "", what,
                 res->message);
    else
        snprintf(ob->warning + n, sizeof(ob->warning) - n, "%s%s failed: HTTP %d", n ? "; " : "",
                 what, res->status);
}

static void start_call(struct ag_onboard *ob, const char *method, const char *body, size_t len,
                       ag_cloudcode_done_cb done);

static void on_summary(struct ag_cloudcode_call *call, const struct ag_cloudcode_result *res,
                       void *ud);

static void on_models(struct ag_cloudcode_call *call, const struct ag_cloudcode_result *res,
                      void *ud)
{
    struct ag_onboard *ob = ud;
    (void)call;
    ob->call = NULL;
    if (!res->err && res->status == 403 && !ob->models_bare && ob->project && *ob->project) {
        /* As Antigravity: a 403 to the account's project is asked again without one. */
        ob->models_bare = true;
        ag_buf_reset(&ob->body);
        if (ag_codeassist_models_body(NULL, &ob->body) == 0) {
            start_call(ob, "fetchAvailableModels", ob->body.data, ob->body.len, on_models);
            return;
        }
    }
    if (res->err || res->status < 200 || res->status >= 300)
        warn(ob, "fetchAvailableModels", res);
    else if (ag_codeassist_parse_models(res->body.p, res->body.len, &ob->quota, &ob->nmodels))
        warn(ob, "reading fetchAvailableModels", res);
    if (ob->quota) {
        /* the quota windows, best effort: no answer leaves them out without a warning */
        start_call(ob, "retrieveUserQuotaSummary", ob->body.data, ob->body.len, on_summary);
        return;
    }
    store_account(ob);
}

static void on_summary(struct ag_cloudcode_call *call, const struct ag_cloudcode_result *res,
                       void *ud)
{
    struct ag_onboard *ob = ud;
    (void)call;
    ob->call = NULL;
    if (!res->err && res->status >= 200 && res->status < 300)
        ag_codeassist_parse_summary(res->body.p, res->body.len, &ob->windows);
    store_account(ob);
}

static void start_call(struct ag_onboard *ob, const char *method, const char *body, size_t len,
                       ag_cloudcode_done_cb done)
{
    struct ag_cloudcode_call_spec spec = {
        .target = &ob->target,
        .method = method,
        .access_token = ob->access_token,
        .project = NULL, /* account calls send no x-goog-user-project (as Antigravity does) */
        .body = body,
        .body_len = len,
        .max_body = 4 * 1024 * 1024,
        .on_done = done,
        .ud = ob,
    };
    int err = 0;
    ob->call = ag_cloudcode_call_start(ob->client, &spec, &err);
    if (!ob->call) {
        size_t n = strlen(ob->warning);
        snprintf(ob->warning + n, sizeof(ob->warning) - n, "%s%s not started: %s", n ? "; " : "",
                 method, ag_strerror(err));
        store_account(ob);
    }
}

static void fetch_models(struct ag_onboard *ob)
{
    ag_buf_reset(&ob->body);
    if (ag_codeassist_models_body(ob->project, &ob->body) < 0) {
        store_account(ob);
        return;
    }
    start_call(ob, "fetchAvailableModels", ob->body.data, ob->body.len, on_models);
}

static void on_load(struct ag_cloudcode_call *call, const struct ag_cloudcode_result *res, void *ud)
{
    struct ag_onboard *ob = ud;
    (void)call;
    ob->call = NULL;
    if (res->err || res->status < 200 || res->status >= 300) {
        warn(ob, "loadCodeAssist", res);
    } else {
        ag_codeassist_parse_load(res->body.p, res->body.len, &ob->project, &ob->tier,
                                 &ob->tier_text);
        if (!ob->project) {
            size_t n = strlen(ob->warning);
            snprintf(ob->warning + n, sizeof(ob->warning) - n, "%sloadCodeAssist named no project",
                     n ? "; " : "");
        }
    }
    fetch_models(ob);
}

static void on_userinfo(struct ag_oauth_op *op, const struct ag_oauth_result *res, void *ud)
{
    struct ag_onboard *ob = ud;
    (void)op;
    ob->op = NULL;
    if (res->err || !res->email[0]) {
        snprintf(ob->msg, sizeof(ob->msg), "userinfo failed: %s",
                 res->err ? res->message : "no email in the answer");
        finish(ob, res->err ? res->err : AG_EPARSE, "userinfo", NULL, false);
        return;
    }
    ob->email = ag_strdup(res->email);
    ob->name = res->name[0] ? ag_strdup(res->name) : NULL;
    start_call(ob, "loadCodeAssist", ag_codeassist_load_body, strlen(ag_codeassist_load_body),
               on_load);
}

static void oauth_cfg(const struct ag_onboard *ob, const struct ag_config_oauth_client *cl,
                      struct ag_oauth_cfg *oc)
{
    memset(oc, 0, sizeof(*oc));
    oc->token_url = ob->cfg->oauth.token_url;
    oc->userinfo_url = ob->cfg->oauth.userinfo_url;
    oc->client_id = cl ? cl->client_id : "";
    oc->client_secret = cl && cl->client_secret[0] ? cl->client_secret : NULL;
    oc->user_agent = ob->cfg->upstream.user_agent[0] ? ob->cfg->upstream.user_agent : NULL;
    oc->proxy = ob->proxy;
    oc->timeout_ms = 60000;
}

static int try_refresh(struct ag_onboard *ob);

static void on_refresh(struct ag_oauth_op *op, const struct ag_oauth_result *res, void *ud)
{
    struct ag_onboard *ob = ud;
    const struct ag_config_oauth_client *cl = &ob->cfg->oauth.clients.v[ob->next_client - 1];
    struct ag_oauth_cfg oc;
    int err = 0;
    (void)op;

    ob->op = NULL;
    if (res->err || !res->access_token[0]) {
        ob->last_err = res->err ? res->err : AG_EPARSE;
        snprintf(ob->msg, sizeof(ob->msg), "the refresh token was refused: %s",
                 res->err ? res->message : "no access_token in the answer");
        if (res->err == AG_EAUTH && ob->next_client < ob->cfg->oauth.clients.n &&
            try_refresh(ob) == 0)
            return;
        finish(ob, ob->last_err, "refresh", NULL, false);
        return;
    }
    ob->access_token = ag_strdup(res->access_token);
    ob->expiry = ag_wall_s() + (res->expires_in > 0 ? res->expires_in : 3600);
    if (res->refresh_token[0])
        ob->new_refresh_token = ag_strdup(res->refresh_token);
    ob->client_name = ag_strdup(cl->name);
    oauth_cfg(ob, cl, &oc);
    ob->op = ag_oauth_userinfo(ob->client, &oc, ob->access_token, on_userinfo, ob, &err);
    if (!ob->op) {
        snprintf(ob->msg, sizeof(ob->msg), "cannot start userinfo: %s", ag_strerror(err));
        finish(ob, err ? err : AG_EINVAL, "userinfo", NULL, false);
    }
}

static int try_refresh(struct ag_onboard *ob)
{
    const struct ag_config_oauth_client *cl = &ob->cfg->oauth.clients.v[ob->next_client++];
    struct ag_oauth_cfg oc;
    int err = 0;
    oauth_cfg(ob, cl, &oc);
    ob->op = ag_oauth_refresh(ob->client, &oc, ob->refresh_token, on_refresh, ob, &err);
    if (!ob->op) {
        snprintf(ob->msg, sizeof(ob->msg), "cannot start a token refresh: %s", ag_strerror(err));
        return err ? err : AG_EINVAL;
    }
    return 0;
}

struct ag_onboard *ag_onboard_start(struct ag_upstream_client *client, struct ag_store *store,
                                    struct ag_config *cfg, const struct ag_onboard_req *req,
                                    ag_onboard_cb cb, void *ud, int *err)
{
    struct ag_onboard *ob;
    struct ag_str rt = ag_str_trim(ag_str_c(req ? req->refresh_token : NULL));
    int rc;

    if (!client || !store || !cfg || !cb || !rt.len || cfg->oauth.clients.n == 0) {
        if (err)
            *err = AG_EINVAL;
        return NULL;
    }
    ob = AG_NEW(struct ag_onboard);
    ob->client = client;
    ob->store = store;
    ob->cfg = ag_config_ref(cfg);
    ob->cb = cb;
    ob->ud = ud;
    ob->refresh_token = ag_str_dup(rt);
    ob->label = req->label && *req->label ? ag_strdup(req->label) : NULL;
    ob->acct_proxy = req->proxy_url && *req->proxy_url ? ag_strdup(req->proxy_url) : NULL;
    ob->proxy = ob->acct_proxy               ? ag_strdup(ob->acct_proxy)
                : cfg->upstream.proxy_url[0] ? ag_strdup(cfg->upstream.proxy_url)
                                             : NULL;
    ag_buf_init(&ob->body, 64 * 1024);
    ag_codeassist_target(cfg, ob->proxy, &ob->target);
    if ((rc = try_refresh(ob)) != 0) {
        if (err)
            *err = rc;
        ob_free(ob);
        return NULL;
    }
    return ob;
}

void ag_onboard_cancel(struct ag_onboard *ob)
{
    if (!ob)
        return;
    if (ob->op)
        ag_oauth_cancel(ob->op);
    if (ob->call)
        ag_cloudcode_call_cancel(ob->call);
    ob_free(ob);
}
