/* pool/provider_health.c: the API-key accounts' model lists for listings and their scheduled
 * health checks (see provider_health.h). One table entry per API-key account, kept by id across
 * pool reloads; one 1 s timer looks for due checks while providers.health_check_interval_s is set.
 */
#include "pool/provider_health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "pool/pool_internal.h"
#include "upstream/client.h"
#include "upstream/provider.h"

#define TICK_MS 1000
/* A check's answer is a model list; anything longer is not read further (the status decides). */
#define CHECK_BODY_MAX (256u * 1024)

struct entry {
    char id[AG_ACCOUNT_ID_SIZE];
    struct ag_pool_health_state st;
    int64_t next_ms;             /* the next check is due at (pool clock) */
    int64_t cd_until;            /* the until_ms of the cooldown a failed check set; 0 = none */
    struct ag_upstream_req *req; /* check in flight, or NULL */
    struct pool_phealth *owner;
    bool seen; /* still an API-key account after the last sweep */
};

struct pool_phealth {
    struct ag_pool *pool;
    struct entry **v;
    size_t n;
    int64_t interval_ms; /* as last seen in the config; 0 = off */
};

const char *ag_pool_health_name(enum ag_pool_health h)
{
    switch (h) {
    case AG_POOL_HEALTH_OK:
        return "healthy";
    case AG_POOL_HEALTH_DOWN:
        return "unhealthy";
    default:
        return "unchecked";
    }
}

static struct entry *entry_find(struct pool_phealth *h, const char *id, bool create)
{
    for (size_t i = 0; h && i < h->n; i++) {
        if (strcmp(h->v[i]->id, id) == 0)
            return h->v[i];
    }
    if (!h || !create)
        return NULL;
    struct entry *e = AG_NEW(struct entry);
    ag_strlcpy(e->id, id, sizeof(e->id));
    e->owner = h;
    h->v = ag_realloc(h->v, (h->n + 1) * sizeof(struct entry *));
    h->v[h->n++] = e;
    return e;
}

/* The path of the kind's model list, relative to the account's base URL. */
static const char *check_path(enum ag_provider kind)
{
    switch (kind) {
    case AG_PROVIDER_ANTHROPIC:
        return "/v1/models";
    case AG_PROVIDER_GEMINI:
        return "/v1beta/models";
    default:
        return "/models"; /* OpenAI's base URL ends in /v1 */
    }
}

/* The account-wide cooldown that keeps requests away from an unhealthy account until the next
 * check; a cooldown something else set for longer is left alone. */
static void cool(struct pool_acct *a, struct entry *e, int64_t until)
{
    struct pool_cd *cd = pool_cd_find(a, "", true);
    if (cd->until_ms > until)
        return;
    cd->until_ms = until;
    cd->probing = false;
    e->cd_until = until;
}

static void uncool(struct pool_acct *a, struct entry *e)
{
    struct pool_cd *cd = a ? pool_cd_find(a, "", false) : NULL;
    if (cd && e->cd_until && cd->until_ms == e->cd_until)
        pool_cd_remove(a, "");
    e->cd_until = 0;
}

static void on_check(struct ag_upstream_req *r, const struct ag_upstream_result *res, void *ud)
{
    struct entry *e = ud;
    struct ag_pool *p = e->owner->pool;
    struct pool_acct *a = pool_find_acct(p, e->id);
    int64_t now = pool_now_ms(p);
    bool ok = res->status == 429 || (res->status >= 200 && res->status < 300);
    enum ag_pool_health was = e->st.health;

    e->req = NULL;
    e->st.checked_ms = now;
    e->st.status = res->status;
    if (ok) {
        e->st.failures = 0;
        e->st.error[0] = '\0';
        e->st.health = AG_POOL_HEALTH_OK;
        uncool(a, e);
    } else {
        e->st.failures++;
        if (res->status)
            snprintf(e->st.error, sizeof(e->st.error), "GET %.200s answered %d",
                     ag_upstream_req_url(r), res->status);
        else
            snprintf(e->st.error, sizeof(e->st.error), "GET %.160s failed: %.80s",
                     ag_upstream_req_url(r), res->message ? res->message : "no answer");
        e->st.health = AG_POOL_HEALTH_DOWN;
        if (a) {
            cool(a, e, e->next_ms + AG_POOL_HEALTH_TIMEOUT_MS);
            pool_acct_set_error(a, e->st.error);
        }
    }
    if (was != e->st.health) {
        e->st.since_ms = now;
        if (e->st.health == AG_POOL_HEALTH_DOWN)
            ag_log_warn("pool: account %s is unhealthy: %s", a ? a->rec.email : e->id, e->st.error);
        else if (was == AG_POOL_HEALTH_DOWN)
            ag_log_info("pool: account %s is healthy again", a ? a->rec.email : e->id);
    }
    if (ok && was == AG_POOL_HEALTH_DOWN && p->waits)
        pool_kick(p); /* waits may use it again */
}

static void check_start(struct ag_pool *p, struct pool_acct *a, struct entry *e, int64_t now)
{
    struct ag_provider_call call;
    enum ag_provider kind = ag_provider_of(a->rec.provider);
    int err = 0;

    e->next_ms = now + e->owner->interval_ms;
    if (!p->client)
        return;
    int rc =
        ag_provider_call_prepare(kind, a->rec.base_url, a->rec.api_key, check_path(kind), &call);
    if (rc) {
        e->st.health = AG_POOL_HEALTH_DOWN;
        e->st.checked_ms = now;
        snprintf(e->st.error, sizeof(e->st.error), "cannot check the account: %s", ag_strerror(rc));
        return;
    }
    uint32_t timeout =
        (uint32_t)(e->owner->interval_ms < AG_POOL_HEALTH_TIMEOUT_MS ? e->owner->interval_ms
                                                                     : AG_POOL_HEALTH_TIMEOUT_MS);
    struct ag_upstream_req_spec spec = {
        .method = "GET",
        .url = call.url,
        .headers = call.headers,
        .nheaders = call.nheaders,
        .proxy = a->rec.proxy_url,
        .timeouts = {.connect_ms = timeout, .total_ms = timeout},
        .max_body = CHECK_BODY_MAX,
        .on_done = on_check,
        .ud = e,
    };
    e->req = ag_upstream_req_start(p->client, &spec, &err);
    if (!e->req)
        ag_log_debug("pool: health check of %s not started: %s", a->rec.email, ag_strerror(err));
}

static void entry_free(struct entry *e)
{
    if (e->req)
        ag_upstream_req_cancel(e->req);
    free(e);
}

static void on_tick(uv_timer_t *t)
{
    struct ag_pool *p = t->data;
    struct pool_phealth *h = p->phealth;
    int64_t now = pool_now_ms(p);
    int64_t interval = p->cfg->providers.health_check_interval_s * 1000;

    if (p->closing)
        return;
    if (interval != h->interval_ms) {
        h->interval_ms = interval;
        for (size_t i = 0; i < h->n; i++)
            h->v[i]->next_ms = 0; /* the new interval starts with a check now */
    }
    for (size_t i = 0; i < h->n; i++)
        h->v[i]->seen = false;
    for (size_t i = 0; i < p->naccts; i++) {
        struct pool_acct *a = p->accts[i];
        if (!ag_account_is_provider(&a->rec))
            continue;
        struct entry *e = entry_find(h, a->rec.id, true);
        e->seen = true;
        if (!interval || a->rec.disabled) {
            if (e->st.health != AG_POOL_HEALTH_UNCHECKED) {
                uncool(a, e);
                memset(&e->st, 0, sizeof(e->st));
            }
            continue;
        }
        if (!e->req && now >= e->next_ms)
            check_start(p, a, e, now);
    }
    /* Accounts gone from the pool (deleted, or no longer API-key ones) leave the table. */
    size_t kept = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (h->v[i]->seen)
            h->v[kept++] = h->v[i];
        else
            entry_free(h->v[i]);
    }
    h->n = kept;
}

void pool_phealth_start(struct ag_pool *p)
{
    p->phealth = AG_NEW(struct pool_phealth);
    p->phealth->pool = p;
    uv_timer_init(p->loop, &p->phealth_timer);
    p->phealth_timer.data = p;
    p->open_handles++;
    uv_timer_start(&p->phealth_timer, on_tick, TICK_MS, TICK_MS);
}

void pool_phealth_close(struct ag_pool *p, uv_close_cb done)
{
    struct pool_phealth *h = p->phealth;
    for (size_t i = 0; h && i < h->n; i++) {
        if (h->v[i]->req) {
            ag_upstream_req_cancel(h->v[i]->req);
            h->v[i]->req = NULL;
        }
    }
    uv_close((uv_handle_t *)&p->phealth_timer, done);
}

void pool_phealth_free(struct ag_pool *p)
{
    struct pool_phealth *h = p->phealth;
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        entry_free(h->v[i]);
    free(h->v);
    free(h);
    p->phealth = NULL;
}

bool ag_pool_provider_health(struct ag_pool *p, const char *id, struct ag_pool_health_state *out)
{
    memset(out, 0, sizeof(*out));
    struct pool_acct *a = p && id ? pool_find_acct(p, id) : NULL;
    if (!a || !ag_account_is_provider(&a->rec))
        return false;
    struct entry *e = entry_find(p->phealth, id, false);
    if (e)
        *out = e->st;
    return true;
}

void ag_pool_foreach_provider(struct ag_pool *p,
                              void (*cb)(void *ud, const struct ag_pool_provider_view *v), void *ud)
{
    for (size_t i = 0; p && i < p->naccts; i++) {
        const struct pool_acct *a = p->accts[i];
        if (!ag_account_is_provider(&a->rec))
            continue;
        const struct entry *e = entry_find(p->phealth, a->rec.id, false);
        struct ag_pool_provider_view v = {
            .id = a->rec.id,
            .email = a->rec.email,
            .label = a->rec.label,
            .kind = ag_provider_of(a->rec.provider),
            .models = a->rec.models,
            .disabled = a->rec.disabled,
            .health = e ? e->st.health : AG_POOL_HEALTH_UNCHECKED,
        };
        cb(ud, &v);
    }
}

static void add_account_models(void *ud, const struct ag_pool_provider_view *v)
{
    struct ag_model_list *l = ud;
    if (v->disabled)
        return;
    struct ag_str rest = ag_str_c(v->models ? v->models : "");
    while (rest.len) {
        ptrdiff_t comma = ag_str_find(rest, ',');
        struct ag_str id = ag_str_trim(comma < 0 ? rest : ag_str_make(rest.p, (size_t)comma));
        rest = comma < 0 ? AG_STR_NULL : ag_str_make(rest.p + comma + 1, rest.len - comma - 1);
        (void)ag_model_list_add_owned(l, id, ag_provider_info(v->kind)->name); /* bad: skipped */
    }
}

static const char *label_kind(void *ud, const char *label)
{
    struct ag_pool *p = ud;
    for (size_t i = 0; p && i < p->naccts; i++) {
        const struct ag_account *r = &p->accts[i]->rec;
        if (ag_account_is_provider(r) && !r->disabled && r->label && strcmp(r->label, label) == 0)
            return ag_provider_info(ag_provider_of(r->provider))->name;
    }
    return NULL;
}

void ag_pool_add_models(struct ag_pool *p, struct ag_model_list *l,
                        const struct ag_config_routing_rules *rules)
{
    if (p)
        ag_pool_foreach_provider(p, add_account_models, l);
    ag_model_list_add_rules(l, rules, label_kind, p);
}
