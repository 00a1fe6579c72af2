/* pool/tokens.c: making an account usable — refreshing its access token and finding its Cloud
 * Code project — as one "flight" per account. However many acquisitions wait for the account,
 * there is at most one flight, so 100 concurrent requests with an expired token cause exactly one
 * refresh call; every waiter gets the flight's result (pool.c's pool_flight_done).
 *
 * Refresh: when the token is missing, forced stale by a 401, or within AG_POOL_REFRESH_SKEW_S of
 * expiry, the refresh_token grant is tried with each client of oauth.clients in order, the
 * account's own oauth_client first. An invalid_grant answer disables the account in the store
 * with the reason (the usual cure is a new refresh token, which re-enables it). Transport and 5xx
 * failures leave the account alone; the pool moves on to another account for this request.
 *
 * Project: the stored one, else loadCodeAssist (the result is stored, so it is looked up once).
 * An answer without a project is a failure with a clear message: no project id is invented.
 *
 * Several instances (state.redis_url): before refreshing, a flight claims the account's refresh
 * lock in Redis (state/stores.h ag_state_claim). The instance that gets it refreshes and
 * publishes the new token; the others poll every SHARED_POLL_MS and take that token when it
 * appears, for at most SHARED_WAIT_MS (then, or when Redis fails, they refresh on their own, as
 * a single instance does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "pool/codeassist.h"
#include "pool/pool_internal.h"
#include "state/state.h"
#include "state/stores.h"
#include "store/accounts.h"
#include "upstream/cloudcode.h"
#include "upstream/oauth.h"

#define MAX_CLIENTS 16
/** The refresh lock's lifetime, the longest wait for another instance's token, and the pace of
 * the polls meanwhile. */
#define SHARED_LOCK_MS 15000
#define SHARED_WAIT_MS 15000
#define SHARED_POLL_MS 100

struct flight_poll;

struct pool_flight {
    struct pool_acct *acct;
    struct ag_config *cfg; /* referenced for the flight: oauth and cloudcode strings borrow it */
    char *refresh_token;
    char *access_token; /* the token the project lookup uses */
    int64_t expiry;
    char *proxy;
    size_t clients[MAX_CLIENTS]; /* indexes into cfg->oauth.clients, in trial order */
    size_t nclients, next_client;
    bool invalid_grant; /* some client answered invalid_grant */
    int last_err;
    char msg[256];
    struct ag_oauth_op *op;
    struct ag_cloudcode_call *call;
    struct ag_cloudcode_target target;
    struct ag_state_op *claim;     /* the refresh lock's claim in flight */
    struct flight_poll *poll;      /* the wait before the next claim */
    bool locked;                   /* this instance holds the refresh lock */
    uint64_t wait_until;           /* loop time when waiting for another instance ends */
    char email[AG_STATE_NAME_MAX]; /* the lock's name: the e-mail in lower case */
};

/* A timer of its own: a flight is freed at once, a timer only after its close callback. */
struct flight_poll {
    uv_timer_t t;
    struct pool_flight *f; /* NULL once the flight is gone */
};

static void poll_closed(uv_handle_t *h)
{
    free(h->data);
}

static void poll_stop(struct pool_flight *f)
{
    if (!f->poll)
        return;
    f->poll->f = NULL;
    uv_close((uv_handle_t *)&f->poll->t, poll_closed);
    f->poll = NULL;
}

/* Ends what a flight holds in Redis: the claim, the poll, the lock. */
static void shared_end(struct pool_flight *f)
{
    ag_state_op_cancel(f->claim);
    f->claim = NULL;
    poll_stop(f);
    if (f->locked)
        ag_state_unlock(pool_shared_state(f->acct->pool), "rl", f->email);
    f->locked = false;
}

static void flight_free(struct pool_flight *f)
{
    ag_config_unref(f->cfg);
    free(f->refresh_token);
    free(f->access_token);
    free(f->proxy);
    free(f);
}

/* Ends the flight: detaches it, then reports to the pool (which may start another flight). */
static void finish(struct pool_flight *f, int err, const char *msg)
{
    struct pool_acct *a = f->acct;
    char m[256];
    shared_end(f);
    ag_strlcpy(m, msg ? msg : "", sizeof(m));
    a->flight = NULL;
    flight_free(f);
    pool_flight_done(a, err, m);
}

static void on_load(struct ag_cloudcode_call *call, const struct ag_cloudcode_result *res, void *ud)
{
    struct pool_flight *f = ud;
    struct pool_acct *a = f->acct;
    struct ag_pool *p = a->pool;
    char *project = NULL, msg[256];
    enum ag_tier tier;
    int err = 0;
    (void)call;

    f->call = NULL;
    if (res->err) {
        snprintf(msg, sizeof(msg), "loadCodeAssist failed for %s: %s", a->rec.email, res->message);
        err = res->err;
        goto out;
    }
    if (res->status == 401) {
        a->force_refresh = true;
        snprintf(msg, sizeof(msg), "loadCodeAssist refused the token of %s (HTTP 401)",
                 a->rec.email);
        err = AG_EAUTH;
        goto out;
    }
    if (res->status < 200 || res->status >= 300) {
        snprintf(msg, sizeof(msg), "loadCodeAssist failed for %s: HTTP %d", a->rec.email,
                 res->status);
        err = AG_EUPSTREAM;
        goto out;
    }
    if (ag_codeassist_parse_load(res->body.p, res->body.len, &project, &tier, NULL) != 0 ||
        !project || !ag_cloudcode_project_usable(project)) {
        snprintf(msg, sizeof(msg),
                 "loadCodeAssist named no Cloud Code project for %s; the account cannot be used "
                 "until it has one",
                 a->rec.email);
        err = AG_EUPSTREAM;
        goto out;
    }
    err = ag_store_account_update_tokens(p->store, a->rec.id, f->access_token, f->expiry, NULL,
                                         project);
    if (err && err != AG_ENOTFOUND)
        ag_log_warn("pool: cannot store the project of %s: %s", a->rec.email, ag_strerror(err));
    err = 0;
    free(a->rec.project_id);
    a->rec.project_id = project;
    project = NULL;
    if (tier != AG_TIER_UNKNOWN)
        a->rec.tier = tier;
    msg[0] = '\0';
out:
    free(project);
    finish(f, err, msg);
}

/* Continues after the token is good: project lookup, or done. */
static void after_token(struct pool_flight *f)
{
    struct pool_acct *a = f->acct;
    struct ag_cloudcode_call_spec spec = {0};
    char msg[256];
    int err = 0;

    if (a->rec.project_id && ag_cloudcode_project_usable(a->rec.project_id)) {
        finish(f, 0, NULL);
        return;
    }
    ag_codeassist_target(f->cfg, f->proxy, &f->target);
    spec.target = &f->target;
    spec.method = "loadCodeAssist";
    spec.access_token = f->access_token;
    spec.body = ag_codeassist_load_body;
    spec.body_len = strlen(ag_codeassist_load_body);
    spec.max_body = 1024 * 1024;
    spec.on_done = on_load;
    spec.ud = f;
    f->call = ag_cloudcode_call_start(a->pool->client, &spec, &err);
    if (!f->call) {
        snprintf(msg, sizeof(msg), "cannot start loadCodeAssist for %s: %s", a->rec.email,
                 ag_strerror(err));
        finish(f, err ? err : AG_EINVAL, msg);
    }
}

static void try_refresh(struct pool_flight *f);

static void on_refresh(struct ag_oauth_op *op, const struct ag_oauth_result *res, void *ud)
{
    struct pool_flight *f = ud;
    struct pool_acct *a = f->acct;
    struct ag_pool *p = a->pool;
    const struct ag_config_oauth_client *cl =
        &f->cfg->oauth.clients.v[f->clients[f->next_client - 1]];
    int64_t now_s = pool_now_ms(p) / 1000;
    (void)op;

    f->op = NULL;
    if (res->err == 0 && res->access_token[0]) {
        int64_t exp = now_s + (res->expires_in > 0 ? res->expires_in : 3600);
        const char *rt = res->refresh_token[0] ? res->refresh_token : NULL;
        int rc =
            ag_store_account_update_tokens(p->store, a->rec.id, res->access_token, exp, rt, NULL);
        if (rc && rc != AG_ENOTFOUND)
            ag_log_warn("pool: cannot store refreshed tokens of %s: %s", a->rec.email,
                        ag_strerror(rc));
        free(a->rec.access_token);
        a->rec.access_token = ag_strdup(res->access_token);
        a->rec.token_expiry = exp;
        if (rt) {
            free(a->rec.refresh_token);
            a->rec.refresh_token = ag_strdup(rt);
        }
        a->force_refresh = false;
        f->access_token = ag_strdup(res->access_token);
        f->expiry = exp;
        ag_log_debug("pool: refreshed the token of %s with client %s", a->rec.email, cl->name);
        if (f->locked) /* the instances waiting for it take it */
            pool_shared_token_put(p, a, res->access_token, exp, rt);
        after_token(f);
        return;
    }
    f->last_err = res->err ? res->err : AG_EPARSE;
    snprintf(f->msg, sizeof(f->msg), "token refresh for %s failed (client %s): %s", a->rec.email,
             cl->name, res->err ? res->message : "no access_token in the answer");
    if (res->invalid_grant)
        f->invalid_grant = true;
    /* Another client may have issued the token; a refused grant is worth a try elsewhere, a
     * server or network failure is not. */
    if (res->err == AG_EAUTH && f->next_client < f->nclients) {
        try_refresh(f);
        return;
    }
    if (f->invalid_grant) {
        char reason[512];
        snprintf(reason, sizeof(reason), "invalid_grant: %s",
                 res->error_description[0] ? res->error_description : res->message);
        int rc = ag_store_account_set_disabled(p->store, a->rec.id, true, reason);
        if (rc && rc != AG_ENOTFOUND)
            ag_log_warn("pool: cannot disable %s: %s", a->rec.email, ag_strerror(rc));
        a->rec.disabled = true;
        free(a->rec.disabled_reason);
        a->rec.disabled_reason = ag_strdup(reason);
        ag_log_warn("pool: account %s disabled: %s", a->rec.email, reason);
        pool_event(p, AG_POOL_EVENT_ACCOUNT_DISABLED, a->rec.email, reason);
        f->last_err = AG_EAUTH;
    }
    finish(f, f->last_err, f->msg);
}

static void try_refresh(struct pool_flight *f)
{
    struct pool_acct *a = f->acct;
    const struct ag_config_oauth_client *cl =
        &f->cfg->oauth.clients.v[f->clients[f->next_client++]];
    struct ag_oauth_cfg oc = {
        .token_url = f->cfg->oauth.token_url,
        .userinfo_url = f->cfg->oauth.userinfo_url,
        .client_id = cl->client_id,
        .client_secret = cl->client_secret[0] ? cl->client_secret : NULL,
        .user_agent = f->cfg->upstream.user_agent[0] ? f->cfg->upstream.user_agent : NULL,
        .proxy = f->proxy,
        .timeout_ms = 60000,
    };
    int err = 0;

    a->refreshes++;
    f->op = ag_oauth_refresh(a->pool->client, &oc, f->refresh_token, on_refresh, f, &err);
    if (!f->op) {
        snprintf(f->msg, sizeof(f->msg), "cannot start a token refresh for %s: %s", a->rec.email,
                 ag_strerror(err));
        finish(f, err ? err : AG_EINVAL, f->msg);
    }
}

/* ---- one refresh for all instances ---- */

static void claim_next(struct pool_flight *f);

/* Another instance's token: stored and used as if this instance had refreshed. */
static bool take_token(struct pool_flight *f, const char *data, size_t len)
{
    struct pool_acct *a = f->acct;
    struct ag_pool *p = a->pool;
    char *at = NULL, *rt = NULL;
    int64_t exp = 0;
    if (pool_shared_token_parse(data, len, &at, &exp, &rt) != 0 ||
        exp - AG_POOL_REFRESH_SKEW_S <= pool_now_ms(p) / 1000) {
        free(at);
        free(rt);
        return false;
    }
    int rc = ag_store_account_update_tokens(p->store, a->rec.id, at, exp, rt, NULL);
    if (rc && rc != AG_ENOTFOUND)
        ag_log_warn("pool: cannot store the tokens of %s: %s", a->rec.email, ag_strerror(rc));
    free(a->rec.access_token);
    a->rec.access_token = ag_strdup(at);
    a->rec.token_expiry = exp;
    if (rt) {
        free(a->rec.refresh_token);
        a->rec.refresh_token = rt;
        rt = NULL;
    }
    a->force_refresh = false;
    free(f->access_token);
    f->access_token = at;
    f->expiry = exp;
    ag_log_info("pool: %s uses the token another instance refreshed", a->rec.email);
    after_token(f);
    return true;
}

static void on_poll(uv_timer_t *t)
{
    struct flight_poll *pl = t->data;
    struct pool_flight *f = pl->f;
    if (!f)
        return;
    poll_stop(f);
    claim_next(f);
}

static void on_claim(void *ud, enum ag_state_claim c, const char *data, size_t len)
{
    struct pool_flight *f = ud;
    f->claim = NULL;
    if (c == AG_STATE_CLAIM_VALUE && take_token(f, data, len))
        return;
    if (c == AG_STATE_CLAIM_LOCKED) {
        f->locked = true;
        try_refresh(f);
        return;
    }
    if (c != AG_STATE_CLAIM_FAILED && uv_now(f->acct->pool->loop) < f->wait_until) {
        f->poll = AG_NEW(struct flight_poll);
        f->poll->f = f;
        uv_timer_init(f->acct->pool->loop, &f->poll->t);
        f->poll->t.data = f->poll;
        uv_timer_start(&f->poll->t, on_poll, SHARED_POLL_MS, 0);
        return;
    }
    if (c != AG_STATE_CLAIM_FAILED)
        ag_log_warn("pool: no token from the instance refreshing %s after %d s; refreshing here",
                    f->acct->rec.email, SHARED_WAIT_MS / 1000);
    try_refresh(f);
}

/* One claim: the token another instance published (not the one this instance holds: a 401
 * refused it), else the lock. */
static void claim_next(struct pool_flight *f)
{
    struct pool_acct *a = f->acct;
    struct ag_state *st = pool_shared_state(a->pool);
    f->claim =
        ag_state_claim(st, "rl", "tk", f->email, a->force_refresh ? a->rec.access_token : NULL,
                       SHARED_LOCK_MS, SHARED_LOCK_MS, on_claim, f);
    if (!f->claim)
        try_refresh(f); /* Redis went away meanwhile */
}

/* Starts the claim when the pool shares state and Redis is up; false: refresh here at once. */
static bool claim_start(struct pool_flight *f)
{
    struct pool_acct *a = f->acct;
    struct ag_state *st = pool_shared_state(a->pool);
    if (!st || !ag_state_up(st) || !a->rec.email || !a->rec.email[0])
        return false;
    size_t i = 0;
    for (; a->rec.email[i] && i + 1 < sizeof(f->email); i++) {
        char ch = a->rec.email[i];
        f->email[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    f->email[i] = '\0';
    f->wait_until = uv_now(a->pool->loop) + SHARED_WAIT_MS;
    claim_next(f);
    return true;
}

/* Trial order of the OAuth clients: the account's own first, then the others as configured. */
static void order_clients(struct pool_flight *f, const char *own)
{
    const struct ag_config_oauth_clients *cs = &f->cfg->oauth.clients;
    size_t own_idx = cs->n;
    for (size_t i = 0; own && *own && i < cs->n; i++) {
        if (strcmp(cs->v[i].name, own) == 0)
            own_idx = i;
    }
    if (own_idx < cs->n)
        f->clients[f->nclients++] = own_idx;
    for (size_t i = 0; i < cs->n && f->nclients < MAX_CLIENTS; i++) {
        if (i != own_idx)
            f->clients[f->nclients++] = i;
    }
}

int pool_tokens_start(struct pool_acct *a, char *msg, size_t cap)
{
    struct ag_pool *p = a->pool;
    struct pool_flight *f;
    bool need_refresh;
    int64_t now_s = pool_now_ms(p) / 1000;

    if (a->flight)
        return 0;
    need_refresh = a->force_refresh || !a->rec.access_token || !a->rec.access_token[0] ||
                   now_s >= a->rec.token_expiry - AG_POOL_REFRESH_SKEW_S;
    if (need_refresh && (!a->rec.refresh_token || !a->rec.refresh_token[0])) {
        snprintf(msg, cap, "account %s has no refresh token", a->rec.email);
        return AG_EAUTH;
    }
    if (need_refresh && p->cfg->oauth.clients.n == 0) {
        snprintf(msg, cap, "no OAuth client is configured (oauth.clients) to refresh %s",
                 a->rec.email);
        return AG_EINVAL;
    }
    f = AG_NEW(struct pool_flight);
    f->acct = a;
    f->cfg = ag_config_ref(p->cfg);
    f->refresh_token = ag_strdup(a->rec.refresh_token);
    f->proxy = ag_strdup(a->rec.proxy_url && a->rec.proxy_url[0] ? a->rec.proxy_url
                         : p->cfg->upstream.proxy_url[0]         ? p->cfg->upstream.proxy_url
                                                                 : NULL);
    a->flight = f;
    if (!need_refresh) {
        f->access_token = ag_strdup(a->rec.access_token);
        f->expiry = a->rec.token_expiry;
        after_token(f);
        return 0;
    }
    order_clients(f, a->rec.oauth_client);
    if (!claim_start(f))
        try_refresh(f);
    return 0;
}

void pool_tokens_cancel(struct pool_acct *a)
{
    struct pool_flight *f = a->flight;
    if (!f)
        return;
    if (f->op)
        ag_oauth_cancel(f->op);
    if (f->call)
        ag_cloudcode_call_cancel(f->call);
    shared_end(f);
    a->flight = NULL;
    flight_free(f);
}
