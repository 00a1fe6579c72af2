/* pool/pool.c: the account pool (see pool.h): accounts loaded from the store and reloaded on
 * change, pending acquisitions and when they run, leases, and the pool's lifecycle. Dispatching
 * one acquisition is select.c's; reports and cooldowns health.c's; token refresh and project
 * lookup tokens.c's; quota refresh quota.c's; the strategies sched.c's.
 *
 * Dispatch never runs inside ag_pool_acquire: every state change that could satisfy a wait
 * (a new wait, a finished flight, a reload, a sleeper's timer) marks it ready and arms a 0 ms
 * "kick" timer, whose callback dispatches the ready waits. User callbacks therefore always run
 * from a loop callback of the pool, and may call back into the pool freely. */
#include "pool/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config/config.h"
#include "core/blocks.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "core/time.h"
#include "pool/pool_internal.h"
#include "route/forward.h"
#include "store/store.h"
#include "store/writer.h"
#include "upstream/cloudcode.h"
#include "upstream/errclass.h"

struct pool_lease {
    struct ag_lease pub; /* first: the public pointer is the lease's */
    struct pool_lease *prev, *next;
    char strs[]; /* the public strings, one after another in this allocation */
};

static void on_sleep(uv_timer_t *t);
static void filter_of(const char *provider, const char *label, struct ag_pool_wait *w);

int64_t pool_now_ms(const struct ag_pool *p)
{
    return p->now_fn ? p->now_fn(p->now_ud) : ag_wall_ms();
}

bool pool_acct_ready(const struct pool_acct *a, int64_t now_ms)
{
    if (a->kind != AG_PROVIDER_GOOGLE)
        return a->rec.api_key && a->rec.api_key[0]; /* a key needs no refresh */
    return !a->force_refresh && a->rec.access_token && a->rec.access_token[0] &&
           now_ms / 1000 < a->rec.token_expiry - AG_POOL_REFRESH_SKEW_S &&
           ag_cloudcode_project_usable(a->rec.project_id);
}

void pool_acct_set_error(struct pool_acct *a, const char *msg)
{
    free(a->last_error);
    a->last_error = ag_strdup(msg);
    a->last_error_ms = pool_now_ms(a->pool);
}

struct pool_acct *pool_find_acct(const struct ag_pool *p, const char *id)
{
    for (size_t i = 0; id && i < p->naccts; i++) {
        if (strcmp(p->accts[i]->rec.id, id) == 0)
            return p->accts[i];
    }
    return NULL;
}

static void acct_free(struct pool_acct *a)
{
    pool_tokens_cancel(a);
    pool_quota_cancel(a);
    pool_quota_stale(a);
    free(a->gone);
    ag_account_dispose(&a->rec);
    free(a->cds);
    free(a->last_error);
    free(a);
}

/* ---- waits ---- */

static void wait_unlink(struct ag_pool_wait *w)
{
    struct ag_pool *p = w->pool;
    if (w->prev)
        w->prev->next = w->next;
    else
        p->waits = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        p->waits_tail = w->prev;
    w->prev = w->next = NULL;
    p->nwaits--;
}

static void wait_free(struct ag_pool_wait *w)
{
    for (size_t i = 0; i < w->nskip; i++)
        free(w->skip[i]);
    free(w->skip);
    free(w->models);
    free(w->session);
    free(w);
}

void pool_wait_skip(struct ag_pool_wait *w, const char *id)
{
    w->skip = ag_realloc(w->skip, (w->nskip + 1) * sizeof(*w->skip));
    w->skip[w->nskip++] = ag_strdup(id);
}

bool pool_wait_skips(const struct ag_pool_wait *w, const char *id)
{
    for (size_t i = 0; i < w->nskip; i++) {
        if (strcmp(w->skip[i], id) == 0)
            return true;
    }
    return false;
}

/* The cooldown key of a wait or report: the quota group, else the model, else "" (account). */
const char *pool_cd_key(const char *group, const char *model)
{
    if (group && *group)
        return group;
    return model ? model : "";
}

/* ---- cooldowns ---- */

struct pool_cd *pool_cd_find(struct pool_acct *a, const char *group, bool create)
{
    for (size_t i = 0; i < a->ncds; i++) {
        if (strcmp(a->cds[i].group, group) == 0)
            return &a->cds[i];
    }
    if (!create)
        return NULL;
    a->cds = ag_realloc(a->cds, (a->ncds + 1) * sizeof(*a->cds));
    struct pool_cd *cd = &a->cds[a->ncds++];
    memset(cd, 0, sizeof(*cd));
    ag_strlcpy(cd->group, group, sizeof(cd->group));
    return cd;
}

void pool_cd_remove(struct pool_acct *a, const char *group)
{
    for (size_t i = 0; i < a->ncds; i++) {
        if (strcmp(a->cds[i].group, group) == 0) {
            a->cds[i] = a->cds[--a->ncds];
            return;
        }
    }
}

/* ---- leases ---- */

/* Copies s (NULL reads as "") to *at and moves *at past it. */
static const char *lease_str(char **at, const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *d = memcpy(*at, s ? s : "", n);
    *at += n;
    return d;
}

static struct pool_lease *lease_new(struct ag_pool *p, struct pool_acct *a, const char *group,
                                    const char *model)
{
    const struct pool_model *m = pool_acct_model(a, model);
    const char *proxy =
        a->rec.proxy_url && a->rec.proxy_url[0] ? a->rec.proxy_url : p->cfg->upstream.proxy_url;
    const char *api_key = a->kind != AG_PROVIDER_GOOGLE ? a->rec.api_key : "";
    const char *strs[] = {a->rec.email, a->rec.access_token, a->rec.project_id, proxy, group, model,
                          api_key,      a->rec.base_url,     a->rec.label};
    size_t bytes = 0;
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        bytes += strlen(strs[i] ? strs[i] : "") + 1;
    struct pool_lease *l = ag_calloc(1, sizeof(*l) + bytes); /* one allocation per lease */
    char *at = l->strs;
    ag_strlcpy(l->pub.account_id, a->rec.id, sizeof(l->pub.account_id));
    l->pub.email = lease_str(&at, strs[0]);
    l->pub.access_token = lease_str(&at, strs[1]);
    l->pub.project_id = lease_str(&at, strs[2]);
    l->pub.proxy_url = lease_str(&at, strs[3]);
    l->pub.group = lease_str(&at, strs[4]);
    l->pub.model = lease_str(&at, strs[5]);
    l->pub.api_key = lease_str(&at, strs[6]);
    l->pub.base_url = lease_str(&at, strs[7]);
    l->pub.label = lease_str(&at, strs[8]);
    l->pub.max_output_tokens = m ? m->max_output_tokens : 0;
    l->pub.thinking_budget = m ? m->thinking_budget : 0;
    l->pub.tier = a->rec.tier;
    l->pub.kind = a->kind;
    l->next = p->leases;
    if (p->leases)
        p->leases->prev = l;
    p->leases = l;
    a->inflight++;
    pool_shared_inflight(p, a);
    a->last_used_ms = pool_now_ms(p);
    a->last_use = ++p->use_seq;
    return l;
}

static void lease_free(struct pool_lease *l)
{
    free(l);
}

void ag_pool_release(struct ag_pool *p, const struct ag_lease *lease)
{
    struct pool_lease *l = (struct pool_lease *)lease; /* pub is its first member */
    struct pool_acct *a;
    if (!p || !l)
        return;
    if ((a = pool_find_acct(p, l->pub.account_id)) && a->inflight > 0) {
        bool kick = a->ncds != 0; /* a probing account may take its next trial request */
        a->inflight--;
        pool_shared_inflight(p, a);
        for (struct ag_pool_wait *w = p->waits; w; w = w->next) {
            if (w->state == W_SLEEP && w->on_release) {
                w->state = W_READY; /* a slot is free: busy waits try again */
                kick = true;
            }
        }
        if (kick && p->waits)
            pool_kick(p);
    }
    if (l->prev)
        l->prev->next = l->next;
    else
        p->leases = l->next;
    if (l->next)
        l->next->prev = l->prev;
    lease_free(l);
}

/* ---- dispatch ---- */

void pool_grant(struct ag_pool_wait *w, struct pool_acct *a)
{
    struct ag_pool *p = w->pool;
    struct pool_lease *l = lease_new(p, a, w->group[0] ? w->group : "", pool_wait_model(w, a));
    ag_pool_acquire_cb cb = w->cb;
    void *ud = w->ud;
    wait_unlink(w);
    wait_free(w);
    cb(0, &l->pub, NULL, ud);
}

void ag_pool_set_event_cb(struct ag_pool *p, ag_pool_event_cb cb, void *ud)
{
    p->event_cb = cb;
    p->event_ud = ud;
}

void pool_event(struct ag_pool *p, enum ag_pool_event ev, const char *subject, const char *message)
{
    if (p->event_cb)
        p->event_cb(ev, subject ? subject : "", message ? message : "", p->event_ud);
}

void pool_deny(struct ag_pool_wait *w, int err, enum ag_pool_denial_kind kind, int64_t until,
               const char *msg)
{
    struct ag_pool_denial d = {.kind = kind, .until_ms = until, .message = msg};
    if (kind == AG_POOL_DENY_COOLING)
        pool_event(w->pool, AG_POOL_EVENT_ALL_LIMITED, pool_cd_key(w->group, w->model), msg);
    ag_pool_acquire_cb cb = w->cb;
    void *ud = w->ud;
    wait_unlink(w);
    wait_free(w);
    cb(err, NULL, &d, ud);
}

/* Sleepers wake at their time; the timer is re-armed for the next one (at most 1 s ahead, so a
 * test clock that jumps is noticed). */
void pool_arm_sleep(struct ag_pool *p)
{
    int64_t now = pool_now_ms(p), first = 0;
    for (struct ag_pool_wait *w = p->waits; w; w = w->next) {
        if (w->state == W_SLEEP && (!first || w->wake_ms < first))
            first = w->wake_ms;
    }
    if (!first || p->closing)
        return;
    uint64_t delay = first > now ? (uint64_t)(first - now) : 0;
    if (delay > 1000)
        delay = 1000;
    uv_timer_start(&p->sleep_timer, on_sleep, delay, 0);
}

static void on_kick(uv_timer_t *t)
{
    struct ag_pool *p = t->data;
    uint64_t limit = p->wait_seq;
    for (;;) {
        struct ag_pool_wait *w = p->waits;
        while (w && !(w->state == W_READY && w->seq <= limit && !w->in_kick))
            w = w->next;
        if (!w || p->closing)
            break;
        w->in_kick = true;
        pool_dispatch(w); /* may free w, call user callbacks, add waits */
    }
    for (struct ag_pool_wait *w = p->waits; w; w = w->next)
        w->in_kick = false;
}

void pool_kick(struct ag_pool *p)
{
    if (!p->closing)
        uv_timer_start(&p->kick_timer, on_kick, 0, 0);
}

static void on_sleep(uv_timer_t *t)
{
    struct ag_pool *p = t->data;
    int64_t now = pool_now_ms(p);
    bool woke = false;
    for (struct ag_pool_wait *w = p->waits; w; w = w->next) {
        if (w->state == W_SLEEP && w->wake_ms <= now + 2) {
            w->state = W_READY;
            woke = true;
        }
    }
    if (woke)
        pool_kick(p);
    pool_arm_sleep(p);
}

void pool_flight_done(struct pool_acct *a, int err, const char *msg)
{
    struct ag_pool *p = a->pool;
    if (err)
        pool_acct_set_error(a, msg);
    pool_quota_flight_done(a, err);
    for (struct ag_pool_wait *w = p->waits; w; w = w->next) {
        if (w->state != W_PINNED || w->acct != a)
            continue;
        w->state = W_READY;
        if (err) {
            w->acct = NULL;
            w->last_err = err;
            ag_strlcpy(w->last_msg, msg, sizeof(w->last_msg));
            pool_wait_skip(w, a->rec.id);
        }
    }
    pool_kick(p);
}

struct ag_pool_wait *ag_pool_acquire(struct ag_pool *p, const struct ag_pool_want *want,
                                     ag_pool_acquire_cb cb, void *ud)
{
    struct ag_pool_wait *w;
    enum ag_provider kind;
    if (!p || !want || !cb || p->closing)
        return NULL;
    if (want->provider && *want->provider && strcmp(want->provider, AG_POOL_ANY_PROVIDER) != 0 &&
        !ag_provider_parse(want->provider, &kind))
        return NULL; /* a kind this build does not know */
    w = AG_NEW(struct ag_pool_wait);
    w->pool = p;
    w->cb = cb;
    w->ud = ud;
    w->seq = ++p->wait_seq;
    w->arrived_ms = pool_now_ms(p);
    ag_strlcpy(w->group, want->group ? want->group : "", sizeof(w->group));
    ag_strlcpy(w->model, want->model ? want->model : "", sizeof(w->model));
    if (want->nmodels) {
        w->models = ag_calloc(want->nmodels, sizeof(*w->models));
        for (size_t i = 0; i < want->nmodels; i++) {
            if (want->models[i] && *want->models[i])
                ag_strlcpy(w->models[w->nmodels++], want->models[i], sizeof(w->models[0]));
        }
    } else if (w->model[0]) {
        w->models = ag_calloc(1, sizeof(*w->models));
        ag_strlcpy(w->models[w->nmodels++], w->model, sizeof(w->models[0]));
    }
    filter_of(want->provider, want->label, w);
    /* Sessions stay with Cloud Code: an API-key account keeps no conversation state to stick to,
     * and binding a session to one would move it off its Cloud Code account. */
    if (want->session_key && *want->session_key && w->filter == F_GOOGLE)
        w->session = ag_strdup(want->session_key);
    for (size_t i = 0; i < want->nexclude; i++) {
        if (want->exclude[i])
            pool_wait_skip(w, want->exclude[i]);
    }
    w->nexclude = w->nskip;
    w->prev = p->waits_tail; /* arrival order */
    if (p->waits_tail)
        p->waits_tail->next = w;
    else
        p->waits = w;
    p->waits_tail = w;
    p->nwaits++;
    pool_kick(p);
    return w;
}

void ag_pool_acquire_cancel(struct ag_pool_wait *w)
{
    if (!w)
        return;
    wait_unlink(w);
    wait_free(w);
}

/* ---- accounts ---- */

bool pool_wait_matches(const struct ag_pool_wait *w, const struct pool_acct *a)
{
    switch (w->filter) {
    case F_LABEL:
        return a->rec.label && strcmp(a->rec.label, w->label) == 0;
    case F_KIND:
        return a->kind == w->kind;
    case F_ANY_KEY:
        return a->kind != AG_PROVIDER_GOOGLE;
    case F_GOOGLE:
    default:
        return a->kind == AG_PROVIDER_GOOGLE;
    }
}

/* The accounts a want of provider / label looks at, as a wait (the pool's own rule). */
static void filter_of(const char *provider, const char *label, struct ag_pool_wait *w)
{
    w->filter = F_GOOGLE;
    if (label && *label) {
        w->filter = F_LABEL;
        ag_strlcpy(w->label, label, sizeof(w->label));
    } else if (provider && strcmp(provider, AG_POOL_ANY_PROVIDER) == 0) {
        w->filter = F_ANY_KEY;
    } else if (provider && *provider && ag_provider_parse(provider, &w->kind) &&
               w->kind != AG_PROVIDER_GOOGLE) {
        w->filter = F_KIND;
    }
}

uint32_t ag_pool_busy(struct ag_pool *p, const char *provider, const char *label)
{
    struct ag_pool_wait w = {0};
    uint32_t n = 0;
    filter_of(provider, label, &w);
    for (size_t i = 0; p && i < p->naccts; i++) {
        if (pool_wait_matches(&w, p->accts[i]))
            n += p->accts[i]->inflight;
    }
    return n;
}

bool ag_pool_provider_lists(struct ag_pool *p, const char *model)
{
    for (size_t i = 0; p && model && *model && i < p->naccts; i++) {
        const struct pool_acct *a = p->accts[i];
        if (a->kind != AG_PROVIDER_GOOGLE && !a->rec.disabled && pool_acct_model(a, model))
            return true;
    }
    return false;
}

static bool same_str(const char *x, const char *y)
{
    return x == y || (x && y && strcmp(x, y) == 0);
}

int ag_pool_reload(struct ag_pool *p)
{
    struct ag_account_list l = {0};
    struct pool_acct **next;
    int rc = ag_store_account_list(p->store, &l);
    if (rc) {
        ag_log_warn("pool: cannot read the accounts: %s", ag_strerror(rc));
        return rc;
    }
    next = ag_calloc(l.len ? l.len : 1, sizeof(struct pool_acct *));
    for (size_t i = 0, hint = 0; i < l.len; i++) {
        /* The list comes in the same order as the last one: look where the previous account was
         * found first (a search of every account per row would be quadratic). */
        struct pool_acct *a = NULL;
        if (hint < p->naccts && strcmp(p->accts[hint]->rec.id, l.items[i].id) == 0)
            a = p->accts[hint++];
        for (size_t j = 0; !a && j < p->naccts; j++) {
            if (strcmp(p->accts[j]->rec.id, l.items[i].id) == 0) {
                a = p->accts[j];
                hint = j + 1;
            }
        }
        bool same_quota = false;
        if (a) {
            bool same_token = a->rec.access_token && l.items[i].access_token &&
                              strcmp(a->rec.access_token, l.items[i].access_token) == 0;
            if (!same_token)
                a->force_refresh = false; /* someone stored a new token */
            /* What the parsed quota is read from (pool_quota_stale) is unchanged: keep it. */
            same_quota = a->quota_parsed && same_str(a->rec.quota_json, l.items[i].quota_json) &&
                         same_str(a->rec.models, l.items[i].models) &&
                         ag_provider_of(l.items[i].provider) == a->kind;
            ag_account_dispose(&a->rec);
        } else {
            a = AG_NEW(struct pool_acct);
            a->pool = p;
        }
        a->rec = l.items[i]; /* moves the strings */
        memset(&l.items[i], 0, sizeof(l.items[i]));
        a->order = i;
        a->kind = ag_provider_of(a->rec.provider);
        if (!same_quota)
            pool_quota_stale(a); /* parsed when the scheduler first looks at it */
        if (a->rec.disabled || a->rec.forbidden)
            ag_sticky_forget_account(p->sessions, a->rec.id);
        a->kept = true;
        next[i] = a;
    }
    /* Accounts gone from the store: waits pinned on them dispatch again. */
    for (size_t i = 0; i < p->naccts; i++) {
        struct pool_acct *a = p->accts[i];
        if (a->kept)
            continue;
        for (struct ag_pool_wait *w = p->waits; w; w = w->next) {
            if (w->acct == a) {
                w->acct = NULL;
                w->state = W_READY;
            }
        }
        if (p->sched->forget)
            p->sched->forget(p->sched_state, a->rec.id);
        ag_sticky_forget_account(p->sessions, a->rec.id);
        pool_shared_removed(p, a, next, l.len);
        acct_free(a);
    }
    for (size_t i = 0; i < l.len; i++)
        next[i]->kept = false;
    free(p->accts);
    p->accts = next;
    p->naccts = l.len;
    p->fwd_stale = true; /* accounts came, went, or were disabled or enabled */
    ag_account_list_dispose(&l);
    pool_shared_reloaded(p); /* new or changed accounts reach the other instances */
    if (p->waits)
        pool_kick(p);
    return 0;
}

static void on_reload_timer(uv_timer_t *t)
{
    struct ag_pool *p = t->data;
    /* The loop thread's once-a-second housekeeping: leases granted are its requests, and the
     * large blocks a burst of them left cached go back once they stop (core/blocks.h). */
    ag_block_idle_tick(p->use_seq);
    int rc = ag_store_accounts_changed(p->store, &p->change_since);
    if (rc == 1)
        ag_pool_reload(p);
    else if (rc < 0)
        ag_log_debug("pool: change check failed: %s", ag_strerror(rc));
}

struct ag_pool *ag_pool_new(uv_loop_t *loop, struct ag_upstream_client *client,
                            struct ag_store *store, struct ag_writer *writer, struct ag_config *cfg)
{
    struct ag_pool *p;
    if (!loop || !store || !cfg)
        return NULL;
    p = AG_NEW(struct ag_pool);
    p->loop = loop;
    p->client = client;
    p->store = store;
    p->writer = writer;
    p->cfg = ag_config_ref(cfg);
    p->sched = ag_sched_for_config(cfg);
    p->sched_state = p->sched->create ? p->sched->create() : NULL;
    p->sessions = ag_sticky_new(0);
    uv_timer_init(loop, &p->reload_timer);
    uv_timer_init(loop, &p->kick_timer);
    uv_timer_init(loop, &p->sleep_timer);
    uv_timer_init(loop, &p->quota_timer);
    p->reload_timer.data = p->kick_timer.data = p->sleep_timer.data = p->quota_timer.data = p;
    p->open_handles = 4;
    if (ag_store_accounts_changed(store, &p->change_since) < 0)
        ag_log_warn("pool: cannot read the account change counter");
    ag_pool_reload(p);
    uv_timer_start(&p->reload_timer, on_reload_timer, 1000, 1000);
    pool_quota_start(p);
    pool_phealth_start(p);
    ag_log_debug("pool: %zu accounts, scheduling mode %s", p->naccts, p->sched->name);
    return p;
}

void ag_pool_set_config(struct ag_pool *p, struct ag_config *cfg)
{
    const struct ag_sched_strategy *s;
    if (!p || !cfg || cfg == p->cfg)
        return;
    ag_config_ref(cfg);
    ag_config_unref(p->cfg);
    p->cfg = cfg;
    s = ag_sched_for_config(cfg);
    if (s != p->sched) {
        if (p->sched->destroy)
            p->sched->destroy(p->sched_state);
        p->sched = s;
        p->sched_state = s->create ? s->create() : NULL;
    }
    if (p->waits)
        pool_kick(p);
}

void ag_pool_set_clock(struct ag_pool *p, int64_t (*now_ms)(void *ud), void *ud)
{
    p->now_fn = now_ms;
    p->now_ud = ud;
}

void ag_pool_set_random(struct ag_pool *p, uint64_t (*rand)(void *ud), void *ud)
{
    p->rand_fn = rand;
    p->rand_ud = ud;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct ag_pool *p = h->data;
    if (--p->open_handles > 0)
        return;
    /* Every handle is closed: answer the waits still pending, then tell the owner. */
    while (p->waits)
        pool_deny(p->waits, AG_ECANCELED, AG_POOL_DENY_CANCELED, 0, "the gateway is shutting down");
    if (p->close_done)
        p->close_done(p->close_ud);
}

void ag_pool_close(struct ag_pool *p, void (*done)(void *ud), void *ud)
{
    if (!p || p->closing)
        return;
    p->closing = true;
    p->close_done = done;
    p->close_ud = ud;
    for (size_t i = 0; i < p->naccts; i++) {
        pool_tokens_cancel(p->accts[i]);
        pool_quota_cancel(p->accts[i]);
    }
    pool_phealth_close(p, on_handle_closed);
    uv_close((uv_handle_t *)&p->quota_timer, on_handle_closed);
    uv_close((uv_handle_t *)&p->reload_timer, on_handle_closed);
    uv_close((uv_handle_t *)&p->kick_timer, on_handle_closed);
    uv_close((uv_handle_t *)&p->sleep_timer, on_handle_closed);
}

void ag_pool_free(struct ag_pool *p)
{
    if (!p)
        return;
    while (p->waits) {
        struct ag_pool_wait *w = p->waits;
        wait_unlink(w);
        wait_free(w);
    }
    for (size_t i = 0; i < p->naccts; i++)
        acct_free(p->accts[i]);
    free(p->accts);
    while (p->leases) {
        struct pool_lease *l = p->leases;
        p->leases = l->next;
        lease_free(l);
    }
    if (p->sched->destroy)
        p->sched->destroy(p->sched_state);
    pool_phealth_free(p);
    pool_shared_free(p);
    ag_sticky_free(p->sessions);
    ag_forward_free(p->fwd);
    ag_config_unref(p->cfg);
    free(p);
}

size_t ag_pool_clear_sessions(struct ag_pool *p)
{
    return ag_sticky_clear(p->sessions);
}
