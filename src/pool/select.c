/* pool/select.c: dispatching one acquisition — which accounts are candidates, the fixed account,
 * sticky sessions and cache_first waiting, the strategy's pick, the token flight of the chosen
 * account, and the answer when nothing is usable (sleep briefly, or deny with the reason).
 *
 * The order of decisions for one wait:
 *   1. the request-level rejection rule (pool.h AG_POOL_REQUEST_WINDOW_MS);
 *   2. every account is classified: disabled/forbidden, skipped (excluded by the caller or its
 *      refresh failed for this wait), cooling for the key, out of quota or protected for the
 *      group, busy (concurrency limit), or a candidate;
 *   3. cache_first: a session bound to an account that cools down (or is busy) waits for it, up
 *      to scheduling.max_wait_s from the acquisition's start, instead of moving;
 *   4. the fixed account when it is a candidate; else the session's bound account when it is a
 *      candidate; else the strategy's pick over the sorted candidates (the session is then bound
 *      to it);
 *   5. no candidate: wait for a release (busy), sleep once for a cooldown ending within
 *      AG_POOL_SHORT_WAIT_MS, or deny.
 * Each selection writes one debug log line with its reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "pool/pool_internal.h"

bool pool_acct_cooling(const struct pool_acct *a, const char *key, int64_t now_ms, int64_t *until)
{
    bool cooling = false;
    *until = 0;
    for (size_t i = 0; i < a->ncds; i++) {
        const struct pool_cd *cd = &a->cds[i];
        if (cd->group[0] && strcmp(cd->group, key) != 0)
            continue;
        if (cd->until_ms > now_ms) {
            if (!cooling || cd->until_ms > *until)
                *until = cd->until_ms;
            cooling = true;
        } else if (cd->probing && a->inflight + a->remote_inflight > 0 && !cooling) {
            /* half-open: one trial request at a time, here or at another instance sharing state
             * (its requests in flight on the account arrive as remote_inflight) */
            cooling = true;
            *until = 0;
        }
    }
    return cooling;
}

bool pool_is_fixed(const struct ag_pool *p, const struct pool_acct *a)
{
    const char *fx = p->cfg->scheduling.fixed_account;
    return fx[0] &&
           (strcmp(fx, a->rec.id) == 0 || (a->rec.email && strcasecmp(fx, a->rec.email) == 0));
}

enum use {
    USE_OTHER,
    USE_OK,
    USE_DISABLED,
    USE_SKIPPED,
    USE_NO_MODEL,
    USE_COOLING,
    USE_QUOTA,
    USE_BUSY
};

const char *pool_wait_model(const struct ag_pool_wait *w, const struct pool_acct *a)
{
    if (w->nmodels == 0)
        return "";
    for (size_t i = 0; i < w->nmodels; i++) {
        if (pool_acct_model_gone(a, w->models[i]))
            continue;
        if (w->filter == F_ANY_KEY
                ? pool_acct_model(a, w->models[i]) != NULL
                : !w->listed || pool_acct_nmodels(a) == 0 || pool_acct_model(a, w->models[i]))
            return w->models[i];
    }
    return NULL;
}

/* Whether any usable account lists one of w's candidate models. */
static bool any_listed(const struct ag_pool *p, const struct ag_pool_wait *w)
{
    for (size_t i = 0; i < p->naccts; i++) {
        const struct pool_acct *a = p->accts[i];
        if (a->rec.disabled || !pool_wait_matches(w, a))
            continue;
        for (size_t j = 0; j < w->nmodels; j++) {
            if (pool_acct_model(a, w->models[j]))
                return true;
        }
    }
    return false;
}

/* Classifies a for w; fills *c (for USE_OK and the admission checks) and *until (the end of a
 * blocking cooldown or quota reset, unix ms; 0 = unknown). */
static enum use classify(const struct pool_acct *a, const struct ag_pool_wait *w,
                         const struct ag_sched_ctx *ctx, struct ag_sched_cand *c, int64_t *until)
{
    *until = 0;
    if (!pool_wait_matches(w, a))
        return USE_OTHER; /* another kind of account, or another label: not counted */
    if (a->rec.disabled)
        return USE_DISABLED;
    if (a->rec.forbidden &&
        !(a->rec.forbidden_until > 0 && ctx->now_ms / 1000 >= a->rec.forbidden_until))
        return USE_DISABLED;
    if (pool_wait_skips(w, a->rec.id))
        return USE_SKIPPED;
    if (!pool_wait_model(w, a))
        return USE_NO_MODEL;
    if (pool_acct_cooling(a, pool_cd_key(w->group, w->model), ctx->now_ms, until))
        return USE_COOLING;
    *c = (struct ag_sched_cand){
        .id = a->rec.id,
        .email = a->rec.email ? a->rec.email : "",
        .order = a->order,
        .tier = a->rec.tier,
        .inflight = a->inflight + a->remote_inflight, /* over every instance */
        .last_use = a->last_use,
        .ref = (void *)a, /* the pool's account: const here only because classifying reads it */
    };
    pool_quota_for(a, w->group, w->model, &c->remaining, &c->reset_at);
    switch (ag_sched_admit(c, ctx, until)) {
    case AG_SCHED_NO_QUOTA:
    case AG_SCHED_PROTECTED:
        return USE_QUOTA;
    case AG_SCHED_BUSY:
        return USE_BUSY;
    case AG_SCHED_ADMIT:
        break;
    }
    return USE_OK;
}

static void format_time(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        ag_strlcpy(out, "?", cap);
}

static void sleep_until(struct ag_pool_wait *w, int64_t wake_ms, bool on_release)
{
    w->state = W_SLEEP;
    w->wake_ms = wake_ms;
    w->on_release = on_release;
    pool_arm_sleep(w->pool);
}

struct tally {
    size_t nmatch; /* accounts the wait looks at (its kind or label) */
    size_t ndis, nskip, nmodel, ncool, nquota, nbusy;
    int64_t first_until; /* earliest end of a cooldown or quota reset, unix ms */
};

/* No candidate for w: wait for a release or a short cooldown, or answer why not. */
static void no_candidate(struct ag_pool_wait *w, const struct tally *t, int64_t now)
{
    struct ag_pool *p = w->pool;
    const struct ag_config *cfg = p->cfg;
    char msg[512], when[32];
    const char *key = pool_cd_key(w->group, w->model);
    int64_t deadline = w->arrived_ms + cfg->scheduling.max_wait_s * 1000;
    size_t nlimited = t->ncool + t->nquota;

    if (t->nbusy && now < deadline) {
        sleep_until(w, deadline, true);
        return;
    }
    if (nlimited && t->first_until && t->first_until - now <= AG_POOL_SHORT_WAIT_MS && !w->slept) {
        w->slept = true;
        sleep_until(w, t->first_until, false);
        return;
    }
    if (t->nmatch == 0 && w->filter != F_GOOGLE) {
        if (w->filter == F_LABEL)
            snprintf(msg, sizeof(msg), "no account has the label %s", w->label);
        else if (w->filter == F_KIND)
            snprintf(msg, sizeof(msg),
                     "no %s account configured (add one with `aigate accounts add --provider %s "
                     "--api-key ...`)",
                     ag_provider_info(w->kind)->name, ag_provider_info(w->kind)->name);
        else
            snprintf(msg, sizeof(msg), "no API-key account configured");
        pool_deny(w, AG_ENOTFOUND, AG_POOL_DENY_NO_ACCOUNTS, 0, msg);
    } else if (t->nmatch == 0) {
        pool_deny(w, AG_ENOTFOUND, AG_POOL_DENY_NO_ACCOUNTS, 0,
                  "no accounts configured (add one with `aigate accounts login` or `aigate "
                  "accounts add --refresh-token ...`)");
    } else if (t->nbusy) {
        snprintf(msg, sizeof(msg),
                 "all %zu usable accounts are at their concurrency limit (%lld requests each) "
                 "and none was released within %lld s",
                 t->nbusy, (long long)cfg->scheduling.max_concurrency_per_account,
                 (long long)cfg->scheduling.max_wait_s);
        pool_deny(w, AG_ENOTFOUND, AG_POOL_DENY_BUSY, 0, msg);
    } else if (nlimited) {
        format_time(t->first_until ? t->first_until : now, when, sizeof(when));
        snprintf(msg, sizeof(msg), "all %zu usable accounts are %s%s%s until %s", nlimited,
                 t->nquota == 0  ? "cooling down"
                 : t->ncool == 0 ? "out of quota (or under quota protection)"
                                 : "cooling down or out of quota",
                 key[0] ? " for " : "", key, when);
        pool_deny(w, AG_ENOTFOUND, AG_POOL_DENY_COOLING, t->first_until, msg);
    } else if (t->nmodel) {
        snprintf(msg, sizeof(msg),
                 "no account offers the model %s (%zu account%s list%s other models or answered "
                 "404 for it)",
                 w->nmodels ? w->models[0] : w->model, t->nmodel, t->nmodel == 1 ? "" : "s",
                 t->nmodel == 1 ? "s" : "");
        pool_deny(w, AG_ENOTFOUND, AG_POOL_DENY_NO_MODEL, 0, msg);
    } else if (t->nskip && w->nskip > w->nexclude) {
        snprintf(msg, sizeof(msg), "no account could be made ready: %s", w->last_msg);
        pool_deny(w, AG_EAUTH, AG_POOL_DENY_REFRESH_FAILED, 0, msg);
    } else if (t->nskip) {
        snprintf(msg, sizeof(msg), "every usable account (%zu) was already tried for this request",
                 t->nskip);
        pool_deny(w, AG_ENOTFOUND, AG_POOL_DENY_ALL_EXCLUDED, 0, msg);
    } else {
        snprintf(msg, sizeof(msg), "all %zu accounts are disabled or forbidden", t->ndis);
        pool_deny(w, AG_ENOTFOUND, AG_POOL_DENY_ALL_DISABLED, 0, msg);
    }
}

/* A 429 that account after account gives one request while they keep serving other requests is
 * about the request, not the accounts: rotating on would only cool the whole pool down. True
 * (and the request is answered with its 429) once scheduling.reject_request_after such accounts
 * refused it. */
static bool request_rejected(struct ag_pool_wait *w, int64_t now)
{
    struct ag_pool *p = w->pool;
    int64_t need = p->cfg->scheduling.reject_request_after;
    size_t n = 0;
    char msg[256];
    if (need <= 0 || (int64_t)w->nexclude < need)
        return false;
    for (size_t i = 0; i < w->nexclude; i++) {
        struct pool_acct *a = pool_find_acct(p, w->skip[i]);
        if (a && a->suspect_ms && now - a->suspect_ms <= AG_POOL_REQUEST_WINDOW_MS)
            n++;
    }
    if ((int64_t)n < need)
        return false;
    snprintf(msg, sizeof(msg),
             "the request was refused (429) by %zu accounts that keep serving other requests: "
             "the request is the problem, not the accounts; not rotated further",
             n);
    ag_log_info("pool: %s", msg);
    pool_deny(w, AG_ENOTFOUND, AG_POOL_DENY_REQUEST_REJECTED, 0, msg);
    return true;
}

/* Grants a and binds w's session to it; logs the reason. */
static void take(struct ag_pool_wait *w, struct pool_acct *a, const char *why, size_t ncands)
{
    struct ag_pool *p = w->pool;
    int64_t now = pool_now_ms(p);
    const char *key = pool_cd_key(w->group, w->model);
    if (w->session && p->sched->sticky)
        ag_sticky_bind(p->sessions, w->session, a->rec.id, now,
                       p->cfg->scheduling.sticky_ttl_s * 1000);
    if (w->session)
        pool_shared_bound(p, w->session, a, now); /* the other instances keep it there too */
    ag_log_debug("pool: %s%s%s -> %s (%s; %s; %zu candidates, %zu tried before)",
                 key[0] ? key : "(any model)", w->session ? " session " : "",
                 w->session ? w->session : "", a->rec.email ? a->rec.email : a->rec.id, why,
                 p->sched->name, ncands, w->nexclude);
    pool_grant(w, a);
}

/* One look over the accounts for a wait: the candidates, the fixed account among them, the
 * session's bound account with what it is, and the counts a denial reports. */
struct look {
    struct tally t;
    struct pool_acct *fixed, *bound;
    enum use bound_use;
    int64_t bound_until;
    size_t n; /* candidates in the caller's array */
};

static void look_over(struct ag_pool_wait *w, const struct ag_sched_ctx *ctx,
                      struct ag_sched_cand *cands, struct look *l)
{
    struct ag_pool *p = w->pool;
    struct ag_sched_cand c;
    int64_t until;
    const char *bound_id = NULL;

    *l = (struct look){.bound_use = USE_DISABLED};
    if (w->session && p->sched->sticky && p->cfg->scheduling.sticky_ttl_s > 0)
        bound_id = ag_sticky_get(p->sessions, w->session, ctx->now_ms);
    for (size_t i = 0; i < p->naccts; i++) {
        struct pool_acct *x = p->accts[i];
        enum use u = classify(x, w, ctx, &c, &until);
        if (bound_id && strcmp(bound_id, x->rec.id) == 0) {
            l->bound = x;
            l->bound_use = u;
            l->bound_until = until;
        }
        if (u != USE_OTHER)
            l->t.nmatch++;
        switch (u) {
        case USE_OTHER:
            continue;
        case USE_DISABLED:
            l->t.ndis++;
            continue;
        case USE_SKIPPED:
            l->t.nskip++;
            continue;
        case USE_NO_MODEL:
            l->t.nmodel++;
            continue;
        case USE_COOLING:
        case USE_QUOTA:
            if (u == USE_COOLING)
                l->t.ncool++;
            else
                l->t.nquota++;
            if (until && (!l->t.first_until || until < l->t.first_until))
                l->t.first_until = until;
            continue;
        case USE_BUSY:
            l->t.nbusy++;
            continue;
        case USE_OK:
            break;
        }
        if (w->filter == F_GOOGLE && pool_is_fixed(p, x))
            l->fixed = x;
        cands[l->n++] = c;
    }
}

/* cache_first: a session whose account cools down (or is busy) waits for it, up to
 * scheduling.max_wait_s from the acquisition's start. True when w now sleeps. */
static bool session_waits(struct ag_pool_wait *w, const struct look *l, int64_t now)
{
    struct ag_pool *p = w->pool;
    if (!l->bound || !p->sched->wait_sticky || l->fixed)
        return false;
    int64_t deadline = w->arrived_ms + p->cfg->scheduling.max_wait_s * 1000;
    if (l->bound_use == USE_COOLING && l->bound_until > now && l->bound_until <= deadline) {
        ag_log_debug("pool: session %s waits %lld ms for its account %s (cache_first)", w->session,
                     (long long)(l->bound_until - now), l->bound->rec.email);
        sleep_until(w, l->bound_until, false);
        return true;
    }
    if (l->bound_use == USE_BUSY && now < deadline) {
        sleep_until(w, deadline, true);
        return true;
    }
    return false;
}

/* The fixed account, else the session's bound account when usable, else the strategy's pick over
 * the sorted candidates (l->n > 0); *why says which. */
static struct pool_acct *choose(struct ag_pool_wait *w, const struct ag_sched_ctx *ctx,
                                struct ag_sched_cand *cands, const struct look *l, const char **why)
{
    struct ag_pool *p = w->pool;
    if (l->fixed) {
        *why = "fixed account";
        return l->fixed;
    }
    if (l->bound && l->bound_use == USE_OK) {
        *why = "sticky session";
        return l->bound;
    }
    ag_sched_sort(cands, l->n);
    size_t pick = p->sched->pick(p->sched_state, ctx, cands, l->n, why);
    struct pool_acct *a = cands[pick < l->n ? pick : 0].ref;
    if (l->bound)
        *why = l->bound_use == USE_COOLING ? "session moved: its account cools down"
               : l->bound_use == USE_QUOTA ? "session moved: its account is out of quota"
               : l->bound_use == USE_BUSY  ? "session moved: its account is busy"
                                           : "session moved: its account is unusable";
    return a;
}

/* a needs a token first: pins w to it and starts the flight. True when w is settled (the flight
 * runs, or already ended); false when it could not start and a is skipped: look again. */
static bool start_flight(struct ag_pool_wait *w, struct pool_acct *a)
{
    char msg[256];
    /* Pin first: a flight may end synchronously (a call that cannot start). */
    w->state = W_PINNED;
    w->acct = a;
    msg[0] = '\0';
    int rc = pool_tokens_start(a, msg, sizeof(msg));
    if (rc == 0)
        return true;
    if (w->state != W_PINNED || w->acct != a)
        return true; /* already handled by pool_flight_done */
    w->state = W_READY;
    w->acct = NULL;
    pool_acct_set_error(a, msg);
    w->last_err = rc;
    ag_strlcpy(w->last_msg, msg, sizeof(w->last_msg));
    pool_wait_skip(w, a->rec.id);
    return false;
}

void pool_dispatch(struct ag_pool_wait *w)
{
    struct ag_pool *p = w->pool;
    int64_t now = pool_now_ms(p), until;
    struct ag_sched_cand *cands = NULL, c;
    struct ag_sched_ctx ctx = {
        .group = w->group,
        .model = w->model,
        .session_key = w->session ? w->session : "",
        .now_ms = now,
        .cfg = p->cfg,
        .rand = p->rand_fn,
        .rand_ud = p->rand_ud,
    };

    if (request_rejected(w, now))
        return;
    w->listed = any_listed(p, w);
    if (w->acct) { /* back from a successful flight */
        struct pool_acct *a = w->acct;
        w->acct = NULL;
        if (classify(a, w, &ctx, &c, &until) == USE_OK && pool_acct_ready(a, now)) {
            take(w, a, "ready after its token refresh", 1);
            return;
        }
    }
    cands = ag_calloc(p->naccts ? p->naccts : 1, sizeof(*cands));
    for (;;) {
        struct look l;
        const char *why = NULL;
        look_over(w, &ctx, cands, &l);
        if (session_waits(w, &l, now))
            break;
        if (l.n == 0) {
            no_candidate(w, &l.t, now);
            break;
        }
        struct pool_acct *a = choose(w, &ctx, cands, &l, &why);
        if (pool_acct_ready(a, now)) {
            take(w, a, why, l.n);
            break;
        }
        if (start_flight(w, a))
            break;
    }
    free(cands);
}
