/* pool/health.c: what the pool learns from the relay's reports — cooldowns per account x quota
 * group, forced refreshes after a 401, forbidden marks after a 403, quota refreshes after a
 * quota error, request-level 429s — and the read-outs of that state (snapshot, clearing
 * cooldowns).
 *
 * A 404 NOT_FOUND means the account does not serve that model id: the account x model pair is
 * remembered (select.c offers the account other ids, or skips it) until its next quota refresh.
 *
 * Cooldown policy: when the upstream names a delay
 * it is trusted, plus AG_POOL_DELAY_MARGIN_MS (a used-up daily quota really is hours), up to
 * scheduling.max_cooldown_s. Without a delay the cooldown is short and grows with consecutive
 * failures (5, 10, 20, 40, then 60 s), and when it ends the account is "probing": it takes one
 * request at a time until a success clears the streak. A success for a group clears that group's
 * cooldown and the account-wide one. scheduling.circuit_breaker = false turns cooldowns off.
 *
 * Request-level 429s: a 429 on an
 * account that served a success within the window, and had no unconfirmed 429 since, cools
 * nothing; it is remembered as "suspect". A second 429 before a success is the account's limit
 * after all and cools it as usual; a success clears the suspicion. select.c answers a retry
 * whose tried accounts hold enough suspects instead of rotating it further. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "config/config.h"
#include "core/str.h"
#include "pool/pool_internal.h"
#include "store/writer.h"
#include "upstream/cloudcode.h"
#include "upstream/errclass.h"

void ag_pool_outcome_from_errclass(const struct ag_errclass *ec, const char *group,
                                   const char *model, struct ag_pool_outcome *o)
{
    memset(o, 0, sizeof(*o));
    o->group = group;
    o->model = model;
    o->status = ec->status;
    o->retry_delay_ms = ec->retry_delay_ms > 0 ? ec->retry_delay_ms : 0;
    o->reason = ec->reason[0] ? ec->reason : NULL;
    o->message = ec->message[0] ? ec->message : NULL;
    o->kind = ag_failure_of(ec->kind)->pool;
    /* errclass sets a 429's limit and a 5xx's overloaded only for those kinds */
    o->quota_exhausted = ec->quota_exhausted;
    o->model_capacity = ec->limit == AG_LIMIT_MODEL_CAPACITY || ec->overloaded;
    if (o->kind == AG_POOL_FORBIDDEN) {
        o->validation_required = ec->validation_required;
        o->validation_url = ec->validation_url[0] ? ec->validation_url : NULL;
    }
}

/* A default cooldown step for the n-th consecutive failure (n >= 1). */
static int64_t step_ms(unsigned n)
{
    int64_t ms = AG_POOL_COOLDOWN_BASE_MS;
    for (unsigned i = 1; i < n && ms < AG_POOL_COOLDOWN_MAX_MS; i++)
        ms *= 2;
    return ms < AG_POOL_COOLDOWN_MAX_MS ? ms : AG_POOL_COOLDOWN_MAX_MS;
}

int64_t ag_pool_cooldown_ms(const struct ag_pool_outcome *o, unsigned strikes, int64_t now_ms,
                            int64_t quota_reset_s, int64_t cap_ms, bool *probing)
{
    int64_t ms;
    bool probe = false;
    if (o->retry_delay_ms > 0) {
        ms = o->retry_delay_ms + AG_POOL_DELAY_MARGIN_MS;
    } else if (o->kind == AG_POOL_RATE_LIMITED && o->quota_exhausted &&
               quota_reset_s * 1000 > now_ms) {
        ms = quota_reset_s * 1000 - now_ms + AG_POOL_DELAY_MARGIN_MS;
    } else if (o->model_capacity) {
        /* Saturated for everyone: moving on helps a little, locking the account does not. */
        ms = AG_POOL_COOLDOWN_BASE_MS / 2;
    } else {
        ms = step_ms(strikes + 1);
        probe = true;
    }
    if (cap_ms > 0 && ms > cap_ms)
        ms = cap_ms;
    if (probing)
        *probing = probe;
    return ms > 0 ? ms : 1;
}

static void cool(struct ag_pool *p, struct pool_acct *a, const char *key,
                 const struct ag_pool_outcome *o, int64_t now)
{
    struct pool_cd *cd = pool_cd_find(a, key, true);
    double remaining;
    int64_t reset_at, ms;
    bool probing;
    pool_quota_for(a, o->group, o->model, &remaining, &reset_at);
    ms = ag_pool_cooldown_ms(o, cd->strikes, now, reset_at,
                             p->cfg->scheduling.max_cooldown_s * 1000, &probing);
    if (probing)
        cd->strikes++;
    cd->probing = probing;
    if (now + ms > cd->until_ms)
        cd->until_ms = now + ms;
    ag_log_debug("pool: %s cools down for %s: %lld ms%s", a->rec.email, key[0] ? key : "all",
                 (long long)ms, probing ? " (then one trial request)" : "");
    char why[160];
    snprintf(why, sizeof(why), "HTTP %d%s%s", o->status, o->reason ? " " : "",
             o->reason ? o->reason : "");
    pool_shared_cooled(p, a, cd, why); /* the other instances stay off it too */
}

/* A 429 right after the account served a request may be this request's problem rather than the
 * account's limit (see request_rejected in select.c): true when it should not count against the
 * account (yet). */
static bool suspect_429(struct ag_pool *p, struct pool_acct *a, const struct ag_pool_outcome *o,
                        int64_t now)
{
    if (p->cfg->scheduling.reject_request_after <= 0 || o->quota_exhausted)
        return false;
    if (a->suspect_ms || !a->last_ok_ms || now - a->last_ok_ms > AG_POOL_REQUEST_WINDOW_MS) {
        a->suspect_ms = 0; /* a second 429 in a row: the account's own limit */
        return false;
    }
    a->suspect_ms = now;
    ag_log_info("pool: 429 on %s, which served a request %lld ms ago: treated as this request's "
                "problem, the account is not cooled down",
                a->rec.email, (long long)(now - a->last_ok_ms));
    return true;
}

static void forbid(struct ag_pool *p, struct pool_acct *a, const struct ag_pool_outcome *o,
                   int64_t now)
{
    char reason[512];
    int64_t until = o->validation_required ? now / 1000 + AG_POOL_VALIDATION_BLOCK_S : 0;
    const char *why = o->reason ? o->reason : o->message ? o->message : "forbidden";
    snprintf(reason, sizeof(reason), "%s (HTTP %d)%s%s",
             o->validation_required ? "VALIDATION_REQUIRED" : why, o->status ? o->status : 403,
             o->message && o->validation_required ? ": " : "",
             o->message && o->validation_required ? o->message : "");
    int rc =
        ag_store_account_set_forbidden(p->store, a->rec.id, true, reason, until, o->validation_url);
    if (rc && rc != AG_ENOTFOUND)
        ag_log_warn("pool: cannot mark %s forbidden: %s", a->rec.email, ag_strerror(rc));
    a->rec.forbidden = true;
    a->rec.forbidden_until = until;
    free(a->rec.forbidden_reason);
    a->rec.forbidden_reason = ag_strdup(reason);
    free(a->rec.validation_url);
    a->rec.validation_url = o->validation_url ? ag_strdup(o->validation_url) : NULL;
    ag_log_warn("pool: account %s forbidden%s: %s", a->rec.email, until ? " for 10 minutes" : "",
                reason);
    if (o->validation_required) {
        char m[1024];
        snprintf(m, sizeof(m), "%s%s%s", reason, o->validation_url ? "; validate at " : "",
                 o->validation_url ? o->validation_url : "");
        pool_event(p, AG_POOL_EVENT_NEEDS_VALIDATION, a->rec.email, m);
    }
}

void ag_pool_report(struct ag_pool *p, const char *account_id, const struct ag_pool_outcome *o)
{
    struct pool_acct *a = p && o ? pool_find_acct(p, account_id) : NULL;
    int64_t now;
    const char *key;
    char msg[512];

    if (!a)
        return;
    now = pool_now_ms(p);
    key = pool_cd_key(o->group, o->model);
    if (o->kind != AG_POOL_OK) {
        snprintf(msg, sizeof(msg), "%s%d%s%s: %s", o->status ? "HTTP " : "transport ", o->status,
                 key[0] ? " for " : "", key, o->message ? o->message : "(no message)");
        pool_acct_set_error(a, msg);
    }
    switch (o->kind) {
    case AG_POOL_OK:
        a->last_ok_ms = now;
        a->suspect_ms = 0;
        /* A success means the account works again: its last error is history, not a state. */
        free(a->last_error);
        a->last_error = NULL;
        a->last_error_ms = 0;
        pool_cd_remove(a, key);
        pool_cd_remove(a, "");
        if (a->rec.forbidden && a->rec.forbidden_until > 0 &&
            now / 1000 >= a->rec.forbidden_until) {
            /* A timed block that ran out, confirmed by a success: clear it for good. */
            if (ag_store_account_set_forbidden(p->store, a->rec.id, false, NULL, 0, NULL) == 0)
                a->rec.forbidden = false;
        }
        if (p->writer)
            ag_writer_touch_account(p->writer, a->rec.id, now / 1000);
        break;
    case AG_POOL_RATE_LIMITED:
        if (o->quota_exhausted)
            pool_quota_due(a, false); /* learn the reset time and the other groups' state */
        if (suspect_429(p, a, o, now))
            break;
        if (p->cfg->scheduling.circuit_breaker)
            cool(p, a, key, o, now);
        break;
    case AG_POOL_SERVER_ERROR:
        if (p->cfg->scheduling.circuit_breaker)
            cool(p, a, key, o, now);
        break;
    case AG_POOL_UNAUTHORIZED:
        if (a->kind == AG_PROVIDER_GOOGLE) {
            a->force_refresh = true;
            break;
        }
        /* An API key has nothing to refresh: a refused key stays refused until the admin
         * gives a new one (which clears the mark), like a 403. */
        forbid(p, a, o, now);
        ag_sticky_forget_account(p->sessions, a->rec.id);
        break;
    case AG_POOL_FORBIDDEN:
        forbid(p, a, o, now);
        ag_sticky_forget_account(p->sessions, a->rec.id);
        break;
    case AG_POOL_TRANSPORT: {
        if (!p->cfg->scheduling.circuit_breaker)
            break;
        struct pool_cd *cd = pool_cd_find(a, "", true);
        if (now + AG_POOL_TRANSPORT_COOLDOWN_MS > cd->until_ms)
            cd->until_ms = now + AG_POOL_TRANSPORT_COOLDOWN_MS;
        break;
    }
    case AG_POOL_MODEL_GONE:
        pool_acct_model_gone_add(a, o->model);
        if (p->waits)
            pool_kick(p);
        break;
    case AG_POOL_REQUEST_ERROR:
        break;
    }
}

int ag_pool_clear_cooldowns(struct ag_pool *p, const char *account_id)
{
    struct pool_acct *a = NULL;
    if (account_id && !(a = pool_find_acct(p, account_id)))
        return AG_ENOTFOUND;
    for (size_t i = 0; i < p->naccts; i++) {
        if (a && p->accts[i] != a)
            continue;
        free(p->accts[i]->cds);
        p->accts[i]->cds = NULL;
        p->accts[i]->ncds = 0;
    }
    if (p->waits)
        pool_kick(p);
    return 0;
}

int ag_pool_snapshot(struct ag_pool *p, struct ag_pool_snapshot *out)
{
    int64_t now = pool_now_ms(p);
    memset(out, 0, sizeof(*out));
    out->items = ag_calloc(p->naccts ? p->naccts : 1, sizeof(*out->items));
    out->len = p->naccts;
    out->waiting = p->nwaits;
    out->sessions = ag_sticky_count(p->sessions, now);
    out->mode = p->sched->name;
    for (size_t i = 0; i < p->naccts; i++) {
        const struct pool_acct *a = p->accts[i];
        struct ag_pool_account_state *s = &out->items[i];
        ag_strlcpy(s->id, a->rec.id, sizeof(s->id));
        s->email = ag_strdup(a->rec.email ? a->rec.email : "");
        s->tier = a->rec.tier;
        s->disabled = a->rec.disabled;
        s->disabled_reason = ag_strdup(a->rec.disabled_reason);
        s->forbidden = a->rec.forbidden;
        s->forbidden_reason = ag_strdup(a->rec.forbidden_reason);
        s->forbidden_until = a->rec.forbidden_until;
        s->has_project = ag_cloudcode_project_usable(a->rec.project_id);
        s->token_expiry = a->rec.token_expiry;
        s->refreshing = a->flight != NULL;
        s->inflight = a->inflight;
        s->inflight_elsewhere = a->remote_inflight;
        s->refreshes = a->refreshes;
        s->last_error = ag_strdup(a->last_error);
        s->last_error_ms = a->last_error_ms;
        s->last_used_ms = a->last_used_ms;
        s->quota_updated_at = a->rec.quota_updated_at;
        s->quota_refreshing = a->qjob != NULL;
        s->suspect = a->suspect_ms && now - a->suspect_ms <= AG_POOL_REQUEST_WINDOW_MS;
        s->cooldowns = ag_calloc(a->ncds ? a->ncds : 1, sizeof(*s->cooldowns));
        for (size_t j = 0; j < a->ncds; j++) {
            const struct pool_cd *cd = &a->cds[j];
            if (cd->until_ms <= now && !cd->probing)
                continue;
            struct ag_pool_cooldown *c = &s->cooldowns[s->ncooldowns++];
            ag_strlcpy(c->group, cd->group, sizeof(c->group));
            c->until_ms = cd->until_ms;
            c->strikes = cd->strikes;
            c->probing = cd->probing && cd->until_ms <= now;
        }
    }
    return 0;
}

void ag_pool_snapshot_dispose(struct ag_pool_snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->len; i++) {
        struct ag_pool_account_state *a = &s->items[i];
        free(a->email);
        free(a->disabled_reason);
        free(a->forbidden_reason);
        free(a->last_error);
        free(a->cooldowns);
    }
    free(s->items);
    memset(s, 0, sizeof(*s));
}
