/* admin/api_accounts.c: the account routes — list and get (stored fields merged with the pool's
 * runtime state: cooldowns, in-flight, last error), add by refresh token and import (through the
 * pool's onboarding: refresh, userinfo, project, quota), export, enable/disable, forbid/unforbid,
 * label, delete, refresh quota, and the current (fixed) account; API-key accounts of other
 * providers (pool/provider_accounts.h): add, re-read the endpoint's model list, and their kind,
 * masked key, base URL, models and health in every answer. Store work runs on a worker; after a
 * change the pool reloads at once. */
#include "admin/admin_internal.h"
#include "admin/api_config.h"
#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/url.h"
#include "http/server.h"
#include "pool/onboard.h"
#include "pool/pool.h"
#include "pool/provider_accounts.h"
#include "pool/provider_health.h"
#include "store/account_json.h"
#include "store/accounts.h"
#include "store/provider.h"

#include <stdlib.h>
#include <string.h>

/* ---- rendering ---- */

/* The kind of an account and, for API-key accounts, the masked key, the base URL in use and the
 * models it serves (null: any of the provider's). */
static void write_provider(struct ag_buf *b, const struct ag_account *x)
{
    const struct ag_provider_info *pi = ag_provider_info(ag_provider_of(x->provider));
    ag_jsonw_str(b, "provider", pi->name);
    if (!ag_account_is_provider(x))
        return;
    char masked[64];
    ag_provider_mask_key(x->api_key, masked, sizeof(masked));
    ag_jsonw_str(b, "api_key_masked", masked);
    ag_jsonw_str(b, "base_url", x->base_url ? x->base_url : pi->base_url);
    if (!x->models || !x->models[0]) {
        ag_jsonw_raw(b, "models", NULL);
        return;
    }
    ag_jsonw_open(b, "models", '[');
    struct ag_str rest = ag_str_c(x->models);
    while (rest.len) {
        ptrdiff_t comma = ag_str_find(rest, ',');
        struct ag_str id = comma < 0 ? rest : ag_str_make(rest.p, (size_t)comma);
        rest = comma < 0 ? AG_STR_NULL : ag_str_make(rest.p + comma + 1, rest.len - comma - 1);
        if (id.len)
            ag_jsonw_strn(b, NULL, id);
    }
    ag_jsonw_close(b, ']');
}

/* runtime.health of an API-key account the pool holds (see pool/provider_health.h). */
static void write_health(struct ag_admin *a, struct ag_buf *b, const struct ag_account *x)
{
    struct ag_pool_health_state h;
    if (!a->pool || !ag_pool_provider_health(a->pool, x->id, &h))
        return;
    ag_jsonw_open(b, "health", '{');
    ag_jsonw_str(b, "state", ag_pool_health_name(h.health));
    ag_jsonw_int(b, "checked_ms", h.checked_ms);
    ag_jsonw_int(b, "since_ms", h.since_ms);
    ag_jsonw_int(b, "status", h.status);
    ag_jsonw_int(b, "failures", h.failures);
    ag_jsonw_str(b, "error", h.error[0] ? h.error : NULL);
    ag_jsonw_close(b, '}');
}

static void write_account(struct ag_admin *a, struct ag_buf *b, const struct ag_account *x,
                          const struct ag_pool_snapshot *snap)
{
    const struct ag_pool_account_state *st = NULL;
    for (size_t i = 0; snap && i < snap->len; i++) {
        if (strcmp(snap->items[i].id, x->id) == 0)
            st = &snap->items[i];
    }
    const char *fixed = a->cfg->scheduling.fixed_account;
    ag_jsonw_open(b, NULL, '{');
    ag_jsonw_str(b, "id", x->id);
    ag_jsonw_str(b, "email", x->email);
    ag_jsonw_str(b, "name", x->name);
    ag_jsonw_str(b, "label", x->label);
    ag_jsonw_str(b, "tier", ag_tier_name(x->tier));
    ag_jsonw_bool(b, "current",
                  fixed[0] && (strcmp(fixed, x->id) == 0 || strcasecmp(fixed, x->email) == 0));
    ag_jsonw_bool(b, "disabled", x->disabled);
    ag_jsonw_str(b, "disabled_reason", x->disabled_reason);
    ag_jsonw_int(b, "disabled_at", x->disabled_at);
    ag_jsonw_bool(b, "forbidden", x->forbidden);
    ag_jsonw_str(b, "forbidden_reason", x->forbidden_reason);
    ag_jsonw_int(b, "forbidden_until", x->forbidden_until);
    ag_jsonw_str(b, "validation_url", x->validation_url);
    char proxy[2048];
    ag_url_mask_userinfo(x->proxy_url, proxy, sizeof(proxy)); /* its password is a secret */
    ag_jsonw_str(b, "proxy_url", x->proxy_url ? proxy : NULL);
    ag_jsonw_bool(b, "has_project", x->project_id && x->project_id[0]);
    ag_jsonw_raw(b, "quota", x->quota_json);
    ag_jsonw_int(b, "quota_updated_at", x->quota_updated_at);
    ag_jsonw_raw(b, "quota_windows", x->quota_windows);
    ag_jsonw_str(b, "oauth_client", x->oauth_client);
    ag_jsonw_int(b, "created_at", x->created_at);
    ag_jsonw_int(b, "last_used_at", x->last_used_at);
    ag_jsonw_int(b, "sort_order", x->sort_order);
    write_provider(b, x);
    ag_jsonw_open(b, "runtime", '{');
    if (st) {
        ag_jsonw_int(b, "inflight", st->inflight);
        ag_jsonw_int(b, "inflight_elsewhere", st->inflight_elsewhere);
        ag_jsonw_bool(b, "refreshing", st->refreshing);
        ag_jsonw_int(b, "token_expiry", st->token_expiry);
        ag_jsonw_str(b, "last_error", st->last_error);
        ag_jsonw_int(b, "last_error_ms", st->last_error_ms);
        ag_jsonw_open(b, "cooldowns", '[');
        for (size_t k = 0; k < st->ncooldowns; k++) {
            ag_jsonw_open(b, NULL, '{');
            ag_jsonw_str(b, "group", st->cooldowns[k].group);
            ag_jsonw_int(b, "until_ms", st->cooldowns[k].until_ms);
            ag_jsonw_int(b, "strikes", st->cooldowns[k].strikes);
            ag_jsonw_bool(b, "probing", st->cooldowns[k].probing);
            ag_jsonw_close(b, '}');
        }
        ag_jsonw_close(b, ']');
    }
    write_health(a, b, x);
    ag_jsonw_close(b, '}');
    ag_jsonw_close(b, '}');
}

static void list_free(void *p)
{
    ag_account_list_dispose(p);
    free(p);
}

/* Loop side of every account job: reload the pool when something changed, then answer with the
 * accounts in j->arg (one object when i1 says so). */
static void acct_done(struct adm_job *j)
{
    struct ag_admin *a = j->a;
    struct ag_account_list *l = j->arg;
    if (j->i2 && a->pool)
        ag_pool_reload(a->pool); /* changed: the pool sees it now, not at the next poll */
    if (j->rc) {
        adm_error_rc(j->req, j->rc, j->err);
        return;
    }
    struct ag_pool_snapshot snap = {0};
    if (a->pool)
        ag_pool_snapshot(a->pool, &snap);
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    if (j->i1) {
        if (l->len)
            write_account(a, &b, &l->items[0], &snap);
        else
            ag_buf_append_c(&b, "{\"ok\":true}");
    } else {
        ag_jsonw_open(&b, NULL, '{');
        ag_jsonw_open(&b, "accounts", '[');
        for (size_t i = 0; i < l->len; i++)
            write_account(a, &b, &l->items[i], &snap);
        ag_jsonw_close(&b, ']');
        ag_jsonw_str(&b, "fixed_account", a->cfg->scheduling.fixed_account);
        ag_jsonw_close(&b, '}');
    }
    adm_json(j->req, j->status, &b);
    ag_buf_dispose(&b);
    ag_pool_snapshot_dispose(&snap);
}

static struct adm_job *acct_job(struct ag_http_req *req, void *ud, adm_work_fn work, bool one,
                                bool changes)
{
    struct adm_job *j = adm_job_new(adm_of(ud), req, work, acct_done);
    j->arg = ag_calloc(1, sizeof(struct ag_account_list));
    j->free_arg = list_free;
    j->i1 = one;
    j->i2 = changes;
    if (req->nparams)
        ag_strlcpy(j->s1, adm_param(req, 0), sizeof(j->s1));
    return j;
}

/* Reads the account j->s1 into the list (404 text when missing). */
static int read_one(struct ag_store *db, struct adm_job *j)
{
    struct ag_account_list *l = j->arg;
    l->items = ag_calloc(1, sizeof(struct ag_account));
    int rc = ag_store_account_get(db, j->s1, &l->items[0]);
    if (rc == AG_ENOTFOUND)
        snprintf(j->err, sizeof(j->err), "no account %.200s", j->s1);
    else if (!rc)
        l->len = 1;
    return rc;
}

static int list_work(struct ag_store *db, struct adm_job *j)
{
    return ag_store_account_list(db, j->arg);
}

static void h_list(struct ag_http_req *req, void *ud)
{
    adm_job_start(acct_job(req, ud, list_work, false, false));
}

static void h_get(struct ag_http_req *req, void *ud)
{
    adm_job_start(acct_job(req, ud, read_one, true, false));
}

/* ---- simple mutations: the work function applies, then reads the account back ---- */

static int mutate(struct ag_store *db, struct adm_job *j, int rc)
{
    if (rc == AG_ENOTFOUND)
        snprintf(j->err, sizeof(j->err), "no account %.200s", j->s1);
    if (rc == AG_EINVAL && !j->err[0])
        snprintf(j->err, sizeof(j->err), "invalid value");
    return rc ? rc : read_one(db, j);
}

static int enable_work(struct ag_store *db, struct adm_job *j)
{
    return mutate(db, j, ag_store_account_set_disabled(db, j->s1, false, NULL));
}

static int disable_work(struct ag_store *db, struct adm_job *j)
{
    const char *reason = j->out.len ? j->out.data : "disabled by the administrator";
    int rc = ag_store_account_set_disabled(db, j->s1, true, reason);
    ag_buf_reset(&j->out);
    return mutate(db, j, rc);
}

static int forbid_work(struct ag_store *db, struct adm_job *j)
{
    const char *reason = j->out.len ? j->out.data : "forbidden by the administrator";
    int rc = ag_store_account_set_forbidden(db, j->s1, true, reason, j->i2 > 1 ? j->i2 : 0, NULL);
    ag_buf_reset(&j->out);
    return mutate(db, j, rc);
}

static int unforbid_work(struct ag_store *db, struct adm_job *j)
{
    return mutate(db, j, ag_store_account_set_forbidden(db, j->s1, false, NULL, 0, NULL));
}

static int label_work(struct ag_store *db, struct adm_job *j)
{
    int rc = ag_store_account_set_label(db, j->s1, j->out.data);
    ag_buf_reset(&j->out);
    if (rc == AG_EINVAL)
        snprintf(j->err, sizeof(j->err), "label: at most 64 bytes");
    return mutate(db, j, rc);
}

static int delete_work(struct ag_store *db, struct adm_job *j)
{
    int rc = ag_store_account_delete(db, j->s1);
    if (rc == AG_ENOTFOUND)
        snprintf(j->err, sizeof(j->err), "no account %.200s", j->s1);
    return rc;
}

static void h_enable(struct ag_http_req *req, void *ud)
{
    adm_job_start(acct_job(req, ud, enable_work, true, true));
}

/* Optional {"reason": "..."}; the reason travels in j->out until the worker uses it. */
static void with_reason(struct ag_http_req *req, void *ud, adm_work_fn work, bool until)
{
    yyjson_val *body = adm_body(req, true);
    const char *reason = NULL;
    int64_t until_s = 0;
    if (!body || !adm_get_str(req, body, "reason", false, &reason))
        return;
    if (until) {
        yyjson_val *u = yyjson_obj_get(body, "until_s");
        if (u && !(yyjson_is_int(u) && yyjson_get_sint(u) >= 0)) {
            adm_error(req, 400, "invalid_request", "until_s",
                      "\"until_s\" must be a unix time in seconds (0: until cleared)");
            return;
        }
        until_s = u ? yyjson_get_sint(u) : 0;
    }
    if (reason && strlen(reason) > 500) {
        adm_error(req, 400, "invalid_request", "reason", "\"reason\" is at most 500 bytes");
        return;
    }
    struct adm_job *j = acct_job(req, ud, work, true, true);
    if (reason)
        ag_buf_append_c(&j->out, reason);
    if (until)
        j->i2 = until_s > 1 ? until_s : 1; /* i2 also says "changed" (non-zero) */
    adm_job_start(j);
}

static void h_disable(struct ag_http_req *req, void *ud)
{
    with_reason(req, ud, disable_work, false);
}

static void h_forbid(struct ag_http_req *req, void *ud)
{
    with_reason(req, ud, forbid_work, true);
}

static void h_unforbid(struct ag_http_req *req, void *ud)
{
    adm_job_start(acct_job(req, ud, unforbid_work, true, true));
}

static void h_label(struct ag_http_req *req, void *ud)
{
    yyjson_val *body = adm_body(req, false);
    const char *label = NULL;
    if (!body || !adm_get_str(req, body, "label", false, &label))
        return;
    if (!yyjson_obj_get(body, "label")) {
        adm_error(req, 400, "invalid_request", "label", "\"label\" is required (null clears)");
        return;
    }
    if (label && strlen(label) > 64) {
        adm_error(req, 400, "invalid_request", "label", "\"label\" is at most 64 bytes");
        return;
    }
    struct adm_job *j = acct_job(req, ud, label_work, true, true);
    ag_buf_append_c(&j->out, label ? label : "");
    adm_job_start(j);
}

static void h_delete(struct ag_http_req *req, void *ud)
{
    struct adm_job *j = acct_job(req, ud, delete_work, true, true);
    adm_job_start(j);
}

/* ---- export ---- */

static int export_work(struct ag_store *db, struct adm_job *j)
{
    struct ag_account_list all = {0};
    int rc = ag_store_account_list(db, &all);
    if (rc)
        return rc;
    char **ids = j->arg;
    struct ag_account *sel = ag_calloc(all.len ? all.len : 1, sizeof(*sel));
    size_t n = 0;
    for (size_t i = 0; i < all.len; i++) {
        bool want = !ids;
        for (size_t k = 0; ids && ids[k]; k++)
            want = want || strcmp(ids[k], all.items[i].id) == 0 ||
                   strcasecmp(ids[k], all.items[i].email) == 0;
        if (want)
            sel[n++] = all.items[i];
    }
    for (size_t k = 0; ids && ids[k] && !rc; k++) {
        bool found = false;
        for (size_t i = 0; i < all.len; i++)
            found = found || strcmp(ids[k], all.items[i].id) == 0 ||
                    strcasecmp(ids[k], all.items[i].email) == 0;
        if (!found) {
            snprintf(j->err, sizeof(j->err), "no account %s", ids[k]);
            rc = AG_ENOTFOUND;
        }
    }
    char *json = NULL;
    size_t len = 0;
    if (!rc && !(rc = ag_account_export_json(sel, n, &json, &len))) {
        ag_buf_append_c(&j->out, "{\"accounts\":");
        ag_buf_append(&j->out, json, len);
        ag_buf_append_c(&j->out, "}");
    }
    free(json);
    free(sel);
    ag_account_list_dispose(&all);
    return rc;
}

static void strv_free(void *p)
{
    char **v = p;
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void h_export(struct ag_http_req *req, void *ud)
{
    yyjson_val *body = adm_body(req, true);
    if (!body)
        return;
    yyjson_val *ids = yyjson_obj_get(body, "ids");
    char **v = NULL;
    if (ids) {
        if (!yyjson_is_arr(ids)) {
            adm_error(req, 400, "invalid_request", "ids", "\"ids\" must be an array of ids");
            return;
        }
        v = ag_calloc(yyjson_arr_size(ids) + 1, sizeof(char *));
        size_t i, max, n = 0;
        yyjson_val *x;
        yyjson_arr_foreach(ids, i, max, x)
        {
            if (!yyjson_is_str(x)) {
                strv_free(v);
                adm_error(req, 400, "invalid_request", "ids", "\"ids\" must contain strings");
                return;
            }
            v[n++] = ag_strdup(yyjson_get_str(x));
        }
    }
    struct adm_job *j = adm_job_new(adm_of(ud), req, export_work, NULL);
    j->arg = v;
    j->free_arg = strv_free;
    adm_job_start(j);
}

/* ---- onboarding: add, import, refresh quota ---- */

struct adm_onboard_op {
    struct adm_onboard_op *next;
    struct ag_admin *a;
    struct ag_http_req *req;
    struct ag_onboard *ob;
    struct ag_account_import imp; /* import: entries, walked one at a time */
    size_t next_entry;
    bool import, quota;
    struct ag_buf out;
    size_t ok, failed;
};

static void op_unlink(struct adm_onboard_op *op)
{
    for (struct adm_onboard_op **p = &op->a->onboards; *p; p = &(*p)->next) {
        if (*p == op) {
            *p = op->next;
            break;
        }
    }
    ag_account_import_dispose(&op->imp);
    ag_buf_dispose(&op->out);
    free(op);
}

static void op_abort(struct ag_http_req *req, void *ud)
{
    struct adm_onboard_op *op = ud;
    op->req = NULL; /* keep going: the account is still worth adding */
}

static void write_result(struct ag_buf *b, const struct ag_onboard_result *r)
{
    ag_jsonw_open(b, NULL, '{');
    ag_jsonw_bool(b, "ok", r->err == 0);
    if (r->err) {
        ag_jsonw_str(b, "stage", r->stage);
        ag_jsonw_str(b, "error", r->message);
    } else {
        ag_jsonw_str(b, "id", r->id);
        ag_jsonw_str(b, "email", r->email);
        ag_jsonw_bool(b, "created", r->created);
        ag_jsonw_str(b, "tier", ag_tier_name(r->tier));
        ag_jsonw_int(b, "models", (int64_t)r->nmodels);
        ag_jsonw_str(b, "warning", r->warning[0] ? r->warning : NULL);
    }
    ag_jsonw_close(b, '}');
}

static void op_next(struct adm_onboard_op *op);

static void on_onboarded(const struct ag_onboard_result *r, void *ud)
{
    struct adm_onboard_op *op = ud;
    op->ob = NULL;
    if (r->err)
        op->failed++;
    else
        op->ok++;
    if (op->a->pool && !r->err)
        ag_pool_reload(op->a->pool);
    if (op->import) {
        write_result(&op->out, r);
        op_next(op);
        return;
    }
    if (op->req) {
        op->req->on_abort = NULL;
        if (r->err == AG_EAUTH)
            adm_error(op->req, 400, "invalid_request", "refresh_token",
                      "the OAuth server refused the refresh token: %s", r->message);
        else if (r->err)
            adm_error_rc(op->req, r->err, r->message);
        else {
            write_result(&op->out, r);
            adm_json(op->req, op->quota ? 200 : (r->created ? 201 : 200), &op->out);
        }
    }
    op_unlink(op);
}

static int op_start(struct adm_onboard_op *op, const char *rt, const char *label, const char *proxy)
{
    struct ag_onboard_req oreq = {.refresh_token = rt, .label = label, .proxy_url = proxy};
    int err = 0;
    op->ob =
        ag_onboard_start(op->a->client, op->a->store, op->a->cfg, &oreq, on_onboarded, op, &err);
    return op->ob ? 0 : (err ? err : AG_EINVAL);
}

static void op_next(struct adm_onboard_op *op)
{
    while (op->next_entry < op->imp.len && !op->a->closing) {
        const struct ag_import_entry *e = &op->imp.entries[op->next_entry++];
        /* API-key accounts have no refresh token to onboard: the CLI imports them */
        const char *why = e->error ? e->error
                          : e->api_key
                              ? "an API-key account: import it with `aigate accounts import`"
                              : NULL;
        if (why) {
            ag_jsonw_open(&op->out, NULL, '{');
            ag_jsonw_bool(&op->out, "ok", false);
            ag_jsonw_int(&op->out, "index", (int64_t)e->index);
            ag_jsonw_str(&op->out, "error", why);
            ag_jsonw_close(&op->out, '}');
            op->failed++;
            continue;
        }
        if (op_start(op, e->refresh_token, e->label, e->proxy_url) == 0)
            return;
        op->failed++;
    }
    if (op->req) {
        op->req->on_abort = NULL;
        struct ag_buf b;
        ag_buf_init(&b, AG_BUF_CAP_DOC);
        ag_buf_printf(&b, "{\"imported\":%zu,\"failed\":%zu,\"results\":[%.*s]}", op->ok,
                      op->failed, (int)op->out.len, op->out.data ? op->out.data : "");
        adm_json(op->req, 200, &b);
        ag_buf_dispose(&b);
    }
    op_unlink(op);
}

static struct adm_onboard_op *op_new(struct ag_admin *a, struct ag_http_req *req)
{
    struct adm_onboard_op *op = AG_NEW(struct adm_onboard_op);
    op->a = a;
    op->req = req;
    ag_buf_init(&op->out, AG_BUF_CAP_DOC);
    op->next = a->onboards;
    a->onboards = op;
    req->on_abort = op_abort;
    req->cb_ud = op;
    return op;
}

static void h_add(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    yyjson_val *body = adm_body(req, false);
    const char *rt = NULL, *label = NULL, *proxy = NULL;
    if (!body || !adm_get_str(req, body, "refresh_token", true, &rt) ||
        !adm_get_str(req, body, "label", false, &label) ||
        !adm_get_str(req, body, "proxy_url", false, &proxy))
        return;
    if (!rt[0]) {
        adm_error(req, 400, "invalid_request", "refresh_token", "\"refresh_token\" is empty");
        return;
    }
    if (label && strlen(label) > 64) {
        adm_error(req, 400, "invalid_request", "label", "\"label\" is at most 64 bytes");
        return;
    }
    struct adm_onboard_op *op = op_new(a, req);
    int rc = op_start(op, rt, label, proxy);
    if (rc) {
        req->on_abort = NULL;
        adm_error(req, rc == AG_EINVAL ? 400 : 503, "invalid_request",
                  rc == AG_EINVAL ? "oauth.clients" : NULL, "cannot start onboarding: %s",
                  rc == AG_EINVAL ? "no OAuth client configured (oauth.clients)" : ag_strerror(rc));
        op_unlink(op);
    }
}

static void h_import(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    struct ag_account_import imp = {0};
    if (ag_account_import_parse(req->body.data ? req->body.data : "", req->body.len, &imp)) {
        adm_error(req, 400, "invalid_request", "body", "not an account import file: %s", imp.error);
        ag_account_import_dispose(&imp);
        return;
    }
    if (imp.len > 500) {
        ag_account_import_dispose(&imp);
        adm_error(req, 400, "invalid_request", "accounts", "at most 500 accounts per import");
        return;
    }
    struct adm_onboard_op *op = op_new(a, req);
    op->imp = imp;
    op->import = true;
    op_next(op);
}

/* Refreshing quota re-runs the onboarding with the stored refresh token: refresh, project,
 * tier and per-model quota are fetched and stored again. */
static int token_work(struct ag_store *db, struct adm_job *j)
{
    struct ag_account x = {0};
    int rc = ag_store_account_get(db, j->s1, &x);
    if (rc == AG_ENOTFOUND)
        snprintf(j->err, sizeof(j->err), "no account %.200s", j->s1);
    if (!rc && ag_account_is_provider(&x)) {
        snprintf(j->err, sizeof(j->err), "an API-key account has no quota to refresh");
        rc = AG_EINVAL;
    }
    if (!rc)
        ag_buf_append_c(&j->out, x.refresh_token);
    ag_account_dispose(&x);
    return rc;
}

static void token_done(struct adm_job *j)
{
    if (j->rc) {
        adm_error_rc(j->req, j->rc, j->err);
        return;
    }
    struct adm_onboard_op *op = op_new(j->a, j->req);
    op->quota = true;
    int rc = op_start(op, j->out.data, NULL, NULL);
    if (rc) {
        j->req->on_abort = NULL;
        adm_error_rc(j->req, rc, "cannot start the quota refresh");
        op_unlink(op);
    }
}

static void h_refresh_quota(struct ag_http_req *req, void *ud)
{
    struct adm_job *j = adm_job_new(adm_of(ud), req, token_work, token_done);
    ag_strlcpy(j->s1, adm_param(req, 0), sizeof(j->s1));
    adm_job_start(j);
}

/* ---- API-key accounts: add, refresh the model list ---- */

/* A provider add's fields, copied for the worker; list first, for acct_done. */
struct provider_arg {
    struct ag_account_list list;
    char *v[6]; /* kind, api_key, base_url, models, label, proxy_url */
};

static void provider_arg_free(void *p)
{
    struct provider_arg *pa = p;
    ag_account_list_dispose(&pa->list);
    for (size_t i = 0; i < 6; i++)
        free(pa->v[i]);
    free(pa);
}

static int provider_add_work(struct ag_store *db, struct adm_job *j)
{
    struct provider_arg *pa = j->arg;
    struct ag_provider_put in = {.kind = pa->v[0],
                                 .api_key = pa->v[1],
                                 .base_url = pa->v[2],
                                 .models = pa->v[3],
                                 .label = pa->v[4],
                                 .proxy = pa->v[5]};
    int rc = ag_provider_account_put(db, &in, j->s1, j->err, sizeof(j->err));
    return rc ? rc : read_one(db, j);
}

static void h_provider_add(struct ag_http_req *req, void *ud)
{
    static const char *const keys[6] = {"provider", "api_key", "base_url",
                                        "models",   "label",   "proxy_url"};
    yyjson_val *body = adm_body(req, false);
    const char *v[6] = {NULL};
    if (!body)
        return;
    for (size_t i = 0; i < 6; i++) {
        if (!adm_get_str(req, body, keys[i], i < 2, &v[i]))
            return;
    }
    struct adm_job *j = acct_job(req, ud, provider_add_work, true, true);
    ag_account_list_dispose(j->arg);
    free(j->arg);
    struct provider_arg *pa = AG_NEW(struct provider_arg);
    for (size_t i = 0; i < 6; i++)
        pa->v[i] = v[i] ? ag_strdup(v[i]) : NULL;
    j->arg = pa;
    j->free_arg = provider_arg_free;
    adm_job_start(j);
}

static int models_work(struct ag_store *db, struct adm_job *j)
{
    int rc = ag_provider_account_refresh_models(db, j->s1, j->err, sizeof(j->err));
    return rc ? rc : read_one(db, j);
}

static void h_refresh_models(struct ag_http_req *req, void *ud)
{
    adm_job_start(acct_job(req, ud, models_work, true, true));
}

void adm_accounts_cancel_all(struct ag_admin *a)
{
    while (a->onboards) {
        struct adm_onboard_op *op = a->onboards;
        if (op->ob)
            ag_onboard_cancel(op->ob);
        if (op->req) {
            op->req->on_abort = NULL;
            adm_error(op->req, 503, "unavailable", NULL, "shutting down");
        }
        op_unlink(op);
    }
}

/* ---- current (fixed) account ---- */

static int exists_work(struct ag_store *db, struct adm_job *j)
{
    struct ag_account x = {0};
    int rc = ag_store_account_get(db, j->s1, &x);
    if (rc == AG_ENOTFOUND)
        rc = ag_store_account_get_by_email(db, j->s1, &x);
    if (rc == AG_ENOTFOUND)
        snprintf(j->err, sizeof(j->err), "no account %.200s", j->s1);
    if (!rc)
        ag_strlcpy(j->s1, x.id, sizeof(j->s1));
    ag_account_dispose(&x);
    return rc;
}

static void set_fixed(struct ag_admin *a, struct ag_http_req *req, const char *id)
{
    struct adm_changes *c = ag_calloc(1, sizeof(*c));
    struct ag_buf why;
    ag_buf_init(&why, 1024);
    adm_changes_add(c, "scheduling.fixed_account", id, &why);
    ag_buf_dispose(&why);
    adm_changes_start(a, req, c);
}

static void exists_done(struct adm_job *j)
{
    if (j->rc) {
        if (j->rc == AG_ENOTFOUND)
            adm_error(j->req, 404, "not_found", "account_id", "%s", j->err);
        else
            adm_error_rc(j->req, j->rc, j->err);
        return;
    }
    set_fixed(j->a, j->req, j->s1);
}

static void h_current(struct ag_http_req *req, void *ud)
{
    yyjson_val *body = adm_body(req, false);
    const char *id = NULL;
    if (!body || !adm_get_str(req, body, "account_id", false, &id))
        return;
    if (!yyjson_obj_get(body, "account_id")) {
        adm_error(req, 400, "invalid_request", "account_id",
                  "\"account_id\" is required (null: let the scheduler choose)");
        return;
    }
    if (!id || !id[0]) {
        set_fixed(adm_of(ud), req, "");
        return;
    }
    struct adm_job *j = adm_job_new(adm_of(ud), req, exists_work, exists_done);
    ag_strlcpy(j->s1, id, sizeof(j->s1));
    adm_job_start(j);
}

const struct adm_route_def adm_accounts_routes[] = {
    {"GET", "/api/accounts", h_list, false},
    {"POST", "/api/accounts", h_add, false},
    {"POST", "/api/accounts/import", h_import, false},
    {"POST", "/api/accounts/export", h_export, false},
    {"POST", "/api/accounts/current", h_current, false},
    {"GET", "/api/accounts/:id", h_get, false},
    {"DELETE", "/api/accounts/:id", h_delete, false},
    {"POST", "/api/accounts/:id/enable", h_enable, false},
    {"POST", "/api/accounts/:id/disable", h_disable, false},
    {"POST", "/api/accounts/:id/forbid", h_forbid, false},
    {"POST", "/api/accounts/:id/unforbid", h_unforbid, false},
    {"PUT", "/api/accounts/:id/label", h_label, false},
    {"POST", "/api/accounts/:id/refresh-quota", h_refresh_quota, false},
    {"POST", "/api/accounts/provider", h_provider_add, false},
    {"POST", "/api/accounts/:id/refresh-models", h_refresh_models, false},
    {NULL, NULL, NULL, false},
};
