/* pool/shared.c: publishing the pool's cooldowns, sticky sessions and accounts, and applying
 * those of other instances (see shared.h). The hooks pool_shared_* are called by health.c (a
 * cooldown was set), select.c (a session was bound) and pool.c (accounts reloaded, pool freed). */
#include "pool/shared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yyjson.h>

#include "config/config.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "pool/pool_internal.h"
#include "state/state.h"
#include "store/accounts.h"

/** Accounts whose fingerprint is remembered at most (more are published on every reload). */
#define FP_MAX 4096

struct fp {
    char email[AG_STATE_NAME_MAX];
    uint64_t hash;
};

/** Remote in-flight entries kept at most (instance x account), and how long one lives without a
 * renewal (an instance renews its non-zero counts every second; a crashed one stops). */
#define REMOTE_MAX    2048
#define REMOTE_TTL_MS 3000

struct remote_if {
    char instance[AG_STATE_INSTANCE_MAX];
    char email[AG_STATE_NAME_MAX];
    unsigned count;
    uint64_t seen_ms; /* loop time of the last message */
};

struct pool_shared {
    struct ag_state *st;
    struct remote_if *rif; /* requests in flight at other instances */
    size_t nrif;
    struct fp *fps; /* last record published or applied, per e-mail */
    size_t nfps;
};

static void lower_copy(char *dst, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < cap; i++)
        dst[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    dst[i] = '\0';
}

static struct pool_acct *find_by_email(const struct ag_pool *p, const char *email)
{
    for (size_t i = 0; i < p->naccts; i++) {
        if (p->accts[i]->rec.email && strcasecmp(p->accts[i]->rec.email, email) == 0)
            return p->accts[i];
    }
    return NULL;
}

/* ---- cooldowns ---- */

void pool_shared_cooled(struct ag_pool *p, const struct pool_acct *a, const struct pool_cd *cd,
                        const char *reason)
{
    struct ag_state_msg m = {.kind = AG_STATE_MSG_COOLDOWN};
    if (!p->shared || !a->rec.email)
        return;
    lower_copy(m.account, sizeof(m.account), a->rec.email);
    ag_strlcpy(m.group, cd->group, sizeof(m.group));
    m.until_ms = cd->until_ms;
    m.strikes = cd->strikes;
    m.probing = cd->probing;
    ag_strlcpy(m.reason, reason ? reason : "", sizeof(m.reason));
    ag_state_publish(p->shared->st, &m, NULL);
}

static void on_cooldown(void *ud, const struct ag_state_msg *m)
{
    struct ag_pool *p = ud;
    struct pool_acct *a = find_by_email(p, m->account);
    if (!a || m->until_ms <= pool_now_ms(p))
        return;
    struct pool_cd *cd = pool_cd_find(a, m->group, true);
    if (m->until_ms <= cd->until_ms)
        return;
    cd->until_ms = m->until_ms;
    cd->probing = m->probing;
    if (m->strikes > cd->strikes)
        cd->strikes = m->strikes;
    ag_log_info("pool: %s cools down for %s for %lld ms, as another instance saw: %s", a->rec.email,
                m->group[0] ? m->group : "all", (long long)(m->until_ms - pool_now_ms(p)),
                m->reason[0] ? m->reason : "(no reason given)");
}

/* ---- sticky sessions ---- */

static void publish_bound(struct ag_pool *p, const char *session, const struct pool_acct *a,
                          int64_t until_ms)
{
    struct ag_state_msg m = {.kind = AG_STATE_MSG_STICKY};
    if (!p->shared || !a->rec.email || !session || !session[0])
        return;
    ag_strlcpy(m.session, session, sizeof(m.session));
    lower_copy(m.account, sizeof(m.account), a->rec.email);
    m.until_ms = until_ms;
    ag_state_publish(p->shared->st, &m, NULL);
}

void pool_shared_bound(struct ag_pool *p, const char *session, const struct pool_acct *a,
                       int64_t now_ms)
{
    if (p->shared && p->sched->sticky && p->cfg->scheduling.sticky_ttl_s > 0)
        publish_bound(p, session, a, now_ms + p->cfg->scheduling.sticky_ttl_s * 1000);
}

static void on_sticky(void *ud, const struct ag_state_msg *m)
{
    struct ag_pool *p = ud;
    struct pool_acct *a = find_by_email(p, m->account);
    int64_t now = pool_now_ms(p);
    if (!a || m->until_ms <= now || !p->sched->sticky)
        return;
    const char *was = ag_sticky_get(p->sessions, m->session, now);
    bool news = !was || strcmp(was, a->rec.id) != 0;
    ag_sticky_bind(p->sessions, m->session, a->rec.id, now, m->until_ms - now);
    if (news)
        ag_log_debug("pool: a conversation sticks to %s, as another instance saw", a->rec.email);
}

/* ---- accounts ---- */

static uint64_t mix(uint64_t h, const char *s)
{
    h = ag_hash_fnv1a_add(h, s ? s : "", s ? strlen(s) + 1 : 1);
    return h;
}

/* What makes an account's credentials "changed" for the others: the fields the store's upsert
 * takes. */
static uint64_t creds_fingerprint(const struct ag_account *a)
{
    char email[AG_STATE_NAME_MAX];
    lower_copy(email, sizeof(email), a->email);
    uint64_t h = ag_hash_fnv1a(email, strlen(email));
    h = mix(h, a->refresh_token);
    h = mix(h, a->provider);
    h = mix(h, a->api_key);
    h = mix(h, a->base_url);
    h = mix(h, a->models);
    return h;
}

/* What makes an account "changed" for the others: its credentials and whether it is disabled
 * (by the administrator, or after an invalid_grant). */
static uint64_t fingerprint(const struct ag_account *a)
{
    return mix(creds_fingerprint(a), a->disabled ? "disabled" : "enabled");
}

static struct fp *fp_find(struct pool_shared *s, const char *email, bool create)
{
    char e[AG_STATE_NAME_MAX];
    lower_copy(e, sizeof(e), email);
    for (size_t i = 0; i < s->nfps; i++)
        if (strcmp(s->fps[i].email, e) == 0)
            return &s->fps[i];
    if (!create || s->nfps >= FP_MAX)
        return NULL;
    if (!s->fps)
        s->fps = ag_calloc(FP_MAX, sizeof(*s->fps));
    struct fp *f = &s->fps[s->nfps++];
    ag_strlcpy(f->email, e, sizeof(f->email));
    f->hash = 0;
    return f;
}

static void add_str(yyjson_mut_doc *d, yyjson_mut_val *o, const char *k, const char *v)
{
    if (v)
        yyjson_mut_obj_add_strcpy(d, o, k, v);
}

static void publish_account(struct ag_pool *p, const struct ag_account *a)
{
    struct ag_state_msg m = {.kind = AG_STATE_MSG_ACCOUNT};
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_doc_set_root(d, o);
    add_str(d, o, "email", a->email);
    add_str(d, o, "refresh_token", a->refresh_token);
    add_str(d, o, "name", a->name);
    add_str(d, o, "access_token", a->access_token);
    yyjson_mut_obj_add_int(d, o, "token_expiry", a->token_expiry);
    add_str(d, o, "project_id", a->project_id);
    add_str(d, o, "oauth_client", a->oauth_client);
    add_str(d, o, "label", a->label);
    add_str(d, o, "proxy_url", a->proxy_url);
    add_str(d, o, "provider", a->provider);
    add_str(d, o, "api_key", a->api_key);
    add_str(d, o, "base_url", a->base_url);
    add_str(d, o, "models", a->models);
    yyjson_mut_obj_add_bool(d, o, "disabled", a->disabled);
    add_str(d, o, "disabled_reason", a->disabled_reason);
    char *json = yyjson_mut_write(d, 0, NULL);
    yyjson_mut_doc_free(d);
    if (json)
        ag_state_publish(p->shared->st, &m, json);
    free(json);
}

/* Called at the end of every reload: publishes the accounts that are new or changed here. */
void pool_shared_reloaded(struct ag_pool *p)
{
    if (!p->shared || !ag_state_up(p->shared->st))
        return;
    for (size_t i = 0; i < p->naccts; i++) {
        const struct ag_account *a = &p->accts[i]->rec;
        if (!a->email)
            continue;
        uint64_t h = fingerprint(a);
        struct fp *f = fp_find(p->shared, a->email, true);
        if (f && f->hash == h)
            continue;
        if (f)
            f->hash = h;
        publish_account(p, a);
    }
}

static char *get_dup(yyjson_val *o, const char *k)
{
    yyjson_val *v = yyjson_obj_get(o, k);
    return yyjson_is_str(v) ? ag_strdup(yyjson_get_str(v)) : NULL;
}

/* Makes the stored account of in's address disabled or enabled as in says (an upsert with new
 * credentials may just have enabled it). */
static void apply_disabled(struct ag_pool *p, const struct ag_account *in)
{
    struct ag_account now = {0};
    if (ag_store_account_get_by_email(p->store, in->email, &now) != 0)
        return;
    if (now.disabled != in->disabled) {
        const char *why = in->disabled_reason && in->disabled_reason[0]
                              ? in->disabled_reason
                              : "disabled at another instance";
        int rc = ag_store_account_set_disabled(p->store, now.id, in->disabled,
                                               in->disabled ? why : NULL);
        if (rc)
            ag_log_warn("pool: cannot %s account %s as another instance did: %s",
                        in->disabled ? "disable" : "enable", in->email, ag_strerror(rc));
    }
    ag_account_dispose(&now);
}

static void on_account(void *ud, const struct ag_state_msg *m)
{
    struct ag_pool *p = ud;
    struct ag_account in = {0}, have = {0};
    bool have_ok = false;
    int rc;

    in.email = get_dup(m->rec, "email");
    in.refresh_token = get_dup(m->rec, "refresh_token");
    in.name = get_dup(m->rec, "name");
    in.access_token = get_dup(m->rec, "access_token");
    in.token_expiry = yyjson_get_sint(yyjson_obj_get(m->rec, "token_expiry"));
    in.project_id = get_dup(m->rec, "project_id");
    in.oauth_client = get_dup(m->rec, "oauth_client");
    in.label = get_dup(m->rec, "label");
    in.proxy_url = get_dup(m->rec, "proxy_url");
    in.provider = get_dup(m->rec, "provider");
    in.api_key = get_dup(m->rec, "api_key");
    in.base_url = get_dup(m->rec, "base_url");
    in.models = get_dup(m->rec, "models");
    in.disabled = yyjson_get_bool(yyjson_obj_get(m->rec, "disabled"));
    in.disabled_reason = get_dup(m->rec, "disabled_reason");
    if (!in.email || !in.email[0])
        goto out;
    uint64_t h = fingerprint(&in);
    have_ok = ag_store_account_get_by_email(p->store, in.email, &have) == 0;
    struct fp *f = fp_find(p->shared, in.email, true);
    if (f)
        f->hash = h; /* what the others have: not published back */
    if (have_ok && fingerprint(&have) == h)
        goto out;
    if (!have_ok || creds_fingerprint(&have) != creds_fingerprint(&in)) {
        rc = ag_account_is_provider(&in) ? ag_store_account_put_provider(p->store, &in, NULL, NULL)
                                         : ag_store_account_upsert(p->store, &in, NULL, NULL);
        if (rc) {
            ag_log_warn("pool: cannot store account %s shared by another instance: %s", in.email,
                        ag_strerror(rc));
            goto out;
        }
    }
    apply_disabled(p, &in);
    ag_log_info("pool: account %s %s, as shared by another instance", in.email,
                !have_ok                       ? "added"
                : have.disabled == in.disabled ? "updated"
                : in.disabled                  ? "disabled"
                                               : "enabled");
    ag_pool_reload(p);
out:
    if (have_ok)
        ag_account_dispose(&have);
    ag_account_dispose(&in);
}

/* ---- requests in flight ---- */

void pool_shared_inflight(struct ag_pool *p, const struct pool_acct *a)
{
    struct ag_state_msg m = {.kind = AG_STATE_MSG_INFLIGHT};
    if (!p->shared || !a->rec.email)
        return;
    lower_copy(m.account, sizeof(m.account), a->rec.email);
    m.count = a->inflight;
    ag_state_publish(p->shared->st, &m, NULL);
}

/* Sums the other instances' counts for email into its account; fewer than before wakes the
 * acquisitions that wait for a free slot, as a local release does. */
static void recount(struct ag_pool *p, const char *email)
{
    struct pool_acct *a = find_by_email(p, email);
    unsigned sum = 0;
    bool kick = false;
    if (!a)
        return;
    for (size_t i = 0; i < p->shared->nrif; i++)
        if (strcmp(p->shared->rif[i].email, email) == 0)
            sum += p->shared->rif[i].count;
    if (sum < a->remote_inflight) {
        for (struct ag_pool_wait *w = p->waits; w; w = w->next) {
            if (w->state == W_SLEEP && w->on_release) {
                w->state = W_READY;
                kick = true;
            }
        }
    }
    a->remote_inflight = sum;
    if (kick)
        pool_kick(p);
}

static void on_inflight(void *ud, const struct ag_state_msg *m)
{
    struct ag_pool *p = ud;
    struct pool_shared *s = p->shared;
    size_t i = 0;
    while (i < s->nrif && (strcmp(s->rif[i].instance, m->instance) != 0 ||
                           strcmp(s->rif[i].email, m->account) != 0))
        i++;
    if (m->count == 0) {
        if (i < s->nrif)
            s->rif[i] = s->rif[--s->nrif];
    } else {
        if (i == s->nrif) {
            if (s->nrif >= REMOTE_MAX)
                return;
            if (!s->rif)
                s->rif = ag_calloc(REMOTE_MAX, sizeof(*s->rif));
            s->nrif++;
            ag_strlcpy(s->rif[i].instance, m->instance, sizeof(s->rif[i].instance));
            ag_strlcpy(s->rif[i].email, m->account, sizeof(s->rif[i].email));
        }
        s->rif[i].count = m->count;
        s->rif[i].seen_ms = uv_now(p->loop);
    }
    recount(p, m->account);
}

/* Every second: renew our counts, forget the others' that were not renewed. */
static void on_tick(void *ud)
{
    struct ag_pool *p = ud;
    struct pool_shared *s = p->shared;
    uint64_t now = uv_now(p->loop);
    for (size_t i = 0; i < p->naccts; i++)
        if (p->accts[i]->inflight > 0)
            pool_shared_inflight(p, p->accts[i]);
    for (size_t i = 0; i < s->nrif;) {
        if (now - s->rif[i].seen_ms > REMOTE_TTL_MS) {
            char email[AG_STATE_NAME_MAX];
            ag_strlcpy(email, s->rif[i].email, sizeof(email));
            s->rif[i] = s->rif[--s->nrif];
            recount(p, email);
        } else {
            i++;
        }
    }
}

/* ---- (re)connects ---- */

static void bound_cb(void *ud, const char *key, const char *account_id, int64_t expires_ms)
{
    struct ag_pool *p = ud;
    struct pool_acct *a = pool_find_acct(p, account_id);
    if (a)
        publish_bound(p, key, a, expires_ms);
}

static void on_resync(void *ud)
{
    struct ag_pool *p = ud;
    int64_t now = pool_now_ms(p);
    for (size_t i = 0; i < p->naccts; i++) {
        struct pool_acct *a = p->accts[i];
        for (size_t j = 0; j < a->ncds; j++)
            if (a->cds[j].until_ms > now)
                pool_shared_cooled(p, a, &a->cds[j], a->last_error);
    }
    ag_sticky_foreach(p->sessions, now, bound_cb, p);
    p->shared->nfps = 0; /* every account goes out again */
    pool_shared_reloaded(p);
}

static void on_sync(void *ud)
{
    struct ag_pool *p = ud;
    p->shared->nfps = 0;
    pool_shared_reloaded(p);
}

struct ag_state *pool_shared_state(const struct ag_pool *p)
{
    return p->shared ? p->shared->st : NULL;
}

void pool_shared_forget(struct ag_pool *p, const char *email)
{
    struct pool_shared *s = p->shared;
    for (size_t i = 0; s && i < s->nfps; i++) {
        if (strcmp(s->fps[i].email, email) == 0) {
            s->fps[i] = s->fps[--s->nfps];
            return;
        }
    }
}

void ag_pool_set_state(struct ag_pool *p, struct ag_state *st)
{
    if (!st) {
        for (size_t i = 0; i < p->naccts; i++)
            p->accts[i]->remote_inflight = 0;
        pool_shared_free(p);
        return;
    }
    if (!p->shared)
        p->shared = AG_NEW(struct pool_shared);
    p->shared->st = st;
    struct ag_state_handlers h = {.cooldown = on_cooldown,
                                  .sticky = on_sticky,
                                  .account = on_account,
                                  .resync = on_resync,
                                  .sync = on_sync,
                                  .inflight = on_inflight,
                                  .tick = on_tick};
    ag_state_set_handlers(st, &h, p);
    pool_shared_listen(p, st, true);
}

void pool_shared_free(struct ag_pool *p)
{
    if (!p->shared)
        return;
    struct ag_state_handlers none = {0};
    if (p->shared->st)
        ag_state_set_handlers(p->shared->st, &none, NULL);
    pool_shared_listen(p, p->shared->st, false);
    free(p->shared->fps);
    free(p->shared->rif);
    free(p->shared);
    p->shared = NULL;
}
