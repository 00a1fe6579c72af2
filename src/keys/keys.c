/* keys/keys.c: the table of user keys and the limiter (see keys.h for the rules). Each key is a
 * heap entry with a reference count: the table holds one reference, each open ticket another, so
 * a reload that drops a key never leaves a request pointing at freed memory. */
#include "keys/keys.h"

#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "core/time.h"
#include "state/keyshare.h"
#include "store/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_PER_MIN INT64_C(60000)

/* A token bucket in scaled units: one request (or token) is MS_PER_MIN units, the bucket refills
 * `rate` units per millisecond (= rate per minute) up to rate * MS_PER_MIN. Integer arithmetic,
 * exact. */
struct bucket {
    int64_t level;   /* units; may go below zero after a settlement that charges more */
    int64_t last_ms; /* clock at the last refill */
    bool init;
};

struct ag_keys_entry {
    int refs;
    bool live; /* still in the table */
    struct ag_user_key def;
    unsigned char digest[AG_SHA256_SIZE];

    struct bucket rpm, tpm;
    int64_t in_flight;
    int64_t reserved;         /* tokens reserved by requests in flight */
    int64_t remote_in_flight; /* the same at the other instances (state/keyshare.h) */
    int64_t remote_reserved;
    int64_t day_start, month_start; /* periods the counters below belong to */
    int64_t day_used, month_used;   /* settled tokens */
    int day_alerted, month_alerted; /* highest percent reported in the period (0, 80, 100) */
    uint64_t n_requests, n_refused, n_tokens;
    uint64_t n_shared; /* usage messages applied from other instances */
};

struct ag_keys {
    struct ag_keys_config cfg;
    struct ag_keys_entry **e;
    size_t n;
    uint64_t version;
    bool loaded;
    struct ag_store *store;    /* for ag_keys_admit's change check; NULL = none */
    int64_t polled_ms;         /* clock at the last check */
    struct ag_keyshare *share; /* limits shared with other instances; NULL = none */
};

static int64_t now_ms(const struct ag_keys *ks)
{
    return ks->cfg.now_ms ? ks->cfg.now_ms(ks->cfg.clock_ctx) : ag_wall_ms();
}

static void entry_unref(struct ag_keys_entry *e)
{
    if (e && --e->refs == 0)
        free(e);
}

static void share_load(struct ag_keys *ks, struct ag_keys_entry *e);

struct ag_keys *ag_keys_new(const struct ag_keys_config *cfg)
{
    struct ag_keys *ks = AG_NEW(struct ag_keys);
    if (cfg)
        ks->cfg = *cfg;
    return ks;
}

void ag_keys_free(struct ag_keys *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++) {
        ks->e[i]->live = false;
        entry_unref(ks->e[i]);
    }
    free(ks->e);
    free(ks);
}

void ag_keys_set_budget_cb(struct ag_keys *ks, ag_keys_budget_cb cb, void *ctx)
{
    ks->cfg.on_budget = cb;
    ks->cfg.on_budget_ctx = ctx;
}

size_t ag_keys_count(const struct ag_keys *ks)
{
    return ks ? ks->n : 0;
}

static void digest_of(const char *hex, unsigned char out[AG_SHA256_SIZE])
{
    memset(out, 0, AG_SHA256_SIZE);
    for (size_t i = 0; i < AG_SHA256_SIZE && hex[2 * i] && hex[2 * i + 1]; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + k];
            v = v * 16 + (c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
        }
        out[i] = (unsigned char)v;
    }
}

/* The percent of budget reached by used, for alerts: 0, 80 or 100. */
static int level_of(int64_t used, int64_t budget)
{
    if (budget <= 0)
        return 0;
    if (used >= budget)
        return 100;
    if (used * 10 >= budget * 8)
        return 80;
    return 0;
}

/* Moves the day and month counters to the periods containing now (a new period starts at 0). */
static void roll(struct ag_keys_entry *e, int64_t now_s)
{
    int64_t d = ag_keys_day_start(now_s);
    if (d != e->day_start) {
        e->day_start = d;
        e->day_used = 0;
        e->day_alerted = 0;
    }
    int64_t m = ag_keys_month_start(now_s);
    if (m != e->month_start) {
        e->month_start = m;
        e->month_used = 0;
        e->month_alerted = 0;
    }
}

void ag_keys_set(struct ag_keys *ks, const struct ag_user_key *defs, size_t n,
                 const int64_t *usage_day, const int64_t *usage_month)
{
    if (n > AG_KEYS_MAX) {
        ag_log_warn("keys: %zu keys in the store; only the first %d are used", n, AG_KEYS_MAX);
        n = AG_KEYS_MAX;
    }
    int64_t now_s = now_ms(ks) / 1000;
    struct ag_keys_entry **next = ag_calloc(n ? n : 1, sizeof(struct ag_keys_entry *));
    for (size_t i = 0; i < n; i++) {
        struct ag_keys_entry *e = NULL;
        bool fresh = false;
        for (size_t j = 0; j < ks->n; j++) {
            if (ks->e[j] && strcmp(ks->e[j]->def.name, defs[i].name) == 0) {
                e = ks->e[j];
                ks->e[j] = NULL; /* moved */
                break;
            }
        }
        if (!e) {
            fresh = true;
            e = AG_NEW(struct ag_keys_entry);
            e->refs = 1;
            e->day_start = ag_keys_day_start(now_s);
            e->month_start = ag_keys_month_start(now_s);
            e->day_used = usage_day ? usage_day[i] : 0;
            e->month_used = usage_month ? usage_month[i] : 0;
            /* A budget already crossed before this load was reported then (or is old news). */
            e->day_alerted = level_of(e->day_used, defs[i].daily_tokens);
            e->month_alerted = level_of(e->month_used, defs[i].monthly_tokens);
        } else if (e->def.rpm != defs[i].rpm || e->def.tpm != defs[i].tpm) {
            e->rpm.init = e->tpm.init = false; /* new limits start with a full bucket */
        }
        e->def = defs[i];
        e->live = true;
        if (fresh)
            share_load(ks, e);
        digest_of(e->def.hash, e->digest);
        next[i] = e;
    }
    for (size_t j = 0; j < ks->n; j++) {
        if (ks->e[j]) {
            ks->e[j]->live = false;
            entry_unref(ks->e[j]);
        }
    }
    free(ks->e);
    ks->e = next;
    ks->n = n;
}

int ag_keys_reload(struct ag_keys *ks, struct ag_store *s)
{
    struct ag_user_key *defs = NULL;
    size_t n = 0;
    uint64_t ver = 0;
    int ret = ag_store_user_keys_version(s, &ver);
    if (!ret)
        ret = ag_store_user_key_list(s, &defs, &n);
    if (ret)
        return ret;
    int64_t *day = ag_calloc(n ? n : 1, sizeof(*day));
    int64_t *month = ag_calloc(n ? n : 1, sizeof(*month));
    int64_t now_s = now_ms(ks) / 1000;
    for (size_t i = 0; i < n; i++) {
        bool known = false;
        for (size_t j = 0; j < ks->n && !known; j++)
            known = strcmp(ks->e[j]->def.name, defs[i].name) == 0;
        if (known)
            continue; /* its counters in memory are newer than the store's */
        struct ag_user_key_usage u;
        if (ag_store_key_usage_since(s, defs[i].name, ag_keys_day_start(now_s), &u) == 0)
            day[i] = u.tokens;
        if (ag_store_key_usage_since(s, defs[i].name, ag_keys_month_start(now_s), &u) == 0)
            month[i] = u.tokens;
    }
    ag_keys_set(ks, defs, n, day, month);
    ks->version = ver;
    ks->loaded = true;
    free(day);
    free(month);
    free(defs);
    return 0;
}

int ag_keys_poll(struct ag_keys *ks, struct ag_store *s)
{
    uint64_t ver;
    if (ag_store_user_keys_version(s, &ver))
        return AG_EDB;
    if (ks->loaded && ver == ks->version)
        return 0;
    int rc = ag_keys_reload(ks, s);
    return rc ? rc : 1;
}

void ag_keys_attach_store(struct ag_keys *ks, struct ag_store *s)
{
    ks->store = s;
    ks->polled_ms = 0;
}

/* The change check of ag_keys_attach_store, at most once a second (or after the clock went
 * back). */
static void maybe_poll(struct ag_keys *ks)
{
    if (!ks->store)
        return;
    int64_t now = now_ms(ks);
    if (ks->polled_ms && now - ks->polled_ms < 1000 && now >= ks->polled_ms)
        return;
    ks->polled_ms = now;
    if (ag_keys_poll(ks, ks->store) < 0)
        ag_log_warn("keys: cannot read the user keys from the store; the loaded ones stay");
}

static struct ag_keys_entry *find_secret(struct ag_keys *ks, const char *secret, size_t len)
{
    if (!ks || !ks->n || !secret || len == 0)
        return NULL;
    unsigned char d[AG_SHA256_SIZE];
    ag_sha256(secret, len, d);
    for (size_t i = 0; i < ks->n; i++)
        if (memcmp(ks->e[i]->digest, d, AG_SHA256_SIZE) == 0)
            return ks->e[i];
    return NULL;
}

static enum ag_keys_verdict verdict_of(const struct ag_keys_entry *e, int64_t now_s,
                                       const char *client_ip)
{
    if (e->def.state == AG_USER_KEY_REVOKED)
        return AG_KEYS_REVOKED;
    if (e->def.state == AG_USER_KEY_DISABLED)
        return AG_KEYS_DISABLED;
    if (e->def.expires_at > 0 && now_s >= e->def.expires_at)
        return AG_KEYS_EXPIRED;
    if (client_ip && !ag_keys_ip_allowed(e->def.cidrs, client_ip))
        return AG_KEYS_IP_REFUSED;
    return AG_KEYS_OK;
}

enum ag_keys_verdict ag_keys_admit(struct ag_keys *ks, const char *secret, size_t len,
                                   const char *client_ip, const char **name)
{
    if (ks)
        maybe_poll(ks);
    struct ag_keys_entry *e = find_secret(ks, secret, len);
    if (!e)
        return AG_KEYS_NOT_A_KEY;
    if (name)
        *name = e->def.name;
    enum ag_keys_verdict v = verdict_of(e, now_ms(ks) / 1000, client_ip ? client_ip : "");
    if (v != AG_KEYS_OK)
        e->n_refused++;
    return v;
}

const char *ag_keys_verdict_message(enum ag_keys_verdict v)
{
    switch (v) {
    case AG_KEYS_EXPIRED:
        return "This API key has expired";
    case AG_KEYS_DISABLED:
        return "This API key is disabled";
    case AG_KEYS_REVOKED:
        return "This API key has been revoked";
    case AG_KEYS_IP_REFUSED:
        return "This API key may not be used from this address";
    case AG_KEYS_NOT_A_KEY:
    case AG_KEYS_OK:
        break;
    }
    return "Invalid API key";
}

/* Refills b for a limit of rate per minute up to now; a new bucket starts full. */
static void refill(struct bucket *b, int64_t rate, int64_t now)
{
    int64_t cap = rate * MS_PER_MIN;
    if (!b->init) {
        b->level = cap;
        b->last_ms = now;
        b->init = true;
        return;
    }
    int64_t dt = now - b->last_ms;
    if (dt > 0) {
        /* dt * rate cannot overflow once capped at a minute's worth. */
        int64_t add = (dt > MS_PER_MIN ? MS_PER_MIN : dt) * rate;
        b->level = b->level + add > cap ? cap : b->level + add;
        b->last_ms = now;
    }
}

/* Seconds until b holds need units at rate per minute (at least 1). */
static int64_t wait_s(const struct bucket *b, int64_t need, int64_t rate)
{
    int64_t missing = need - b->level;
    if (missing <= 0 || rate <= 0)
        return 1;
    int64_t ms = (missing + rate - 1) / rate;
    int64_t s = (ms + 999) / 1000;
    return s > 0 ? s : 1;
}

static int refuse(struct ag_keys_entry *e, struct ag_keys_refusal *r, int status, const char *kind,
                  int64_t retry, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int refuse(struct ag_keys_entry *e, struct ag_keys_refusal *r, int status, const char *kind,
                  int64_t retry, const char *fmt, ...)
{
    va_list ap;
    e->n_refused++;
    r->status = status;
    r->kind = kind;
    r->retry_after_s = retry;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    return status == 401 ? AG_EAUTH : status == 403 ? AG_EINVAL : AG_ETOOBIG;
}

/* Seconds from now_s to the start of the next UTC day / month. */
static int64_t to_next_day(int64_t now_s)
{
    return ag_keys_day_start(now_s) + 86400 - now_s;
}

static int64_t to_next_month(int64_t now_s)
{
    return ag_keys_month_start(ag_keys_month_start(now_s) + 32 * 86400) - now_s;
}

/* ---- limits shared with other instances (state/keyshare.h) ---- */

/* A key with any limit the instances must enforce together. */
static bool limited(const struct ag_user_key *k)
{
    return k->rpm > 0 || k->tpm > 0 || k->daily_tokens > 0 || k->monthly_tokens > 0 ||
           k->max_concurrency > 0;
}

/* Tells the others what e just took (requests, tokens from the rate buckets, used tokens
 * settled) and its lease now. */
static void share_publish(struct ag_keys *ks, struct ag_keys_entry *e, int64_t requests,
                          int64_t tokens, int64_t used)
{
    const struct ag_user_key *k = &e->def;
    if (!ks->share || !limited(k))
        return;
    struct ag_state_keymsg m = {.in_flight = e->in_flight,
                                .reserved = e->reserved > 0 ? e->reserved : 0,
                                .requests = requests,
                                .tokens = tokens,
                                .used = used,
                                .day_start = e->day_start,
                                .month_start = e->month_start};
    ag_strlcpy(m.key, k->name, sizeof(m.key));
    unsigned w = (k->rpm > 0 ? AG_KEYSHARE_RPM : 0) | (k->tpm > 0 ? AG_KEYSHARE_TPM : 0) |
                 (k->daily_tokens > 0 ? AG_KEYSHARE_DAY : 0) |
                 (k->monthly_tokens > 0 ? AG_KEYSHARE_MONTH : 0);
    ag_keyshare_publish(ks->share, &m, w);
}

static void share_load(struct ag_keys *ks, struct ag_keys_entry *e)
{
    if (!ks->share || !limited(&e->def) || !ag_keyshare_up(ks->share))
        return;
    int64_t now_s = now_ms(ks) / 1000;
    roll(e, now_s);
    ag_keyshare_load(ks->share, e->def.name, e->day_start, e->month_start);
}

static struct ag_keys_entry *find_name(struct ag_keys *ks, const char *name)
{
    for (size_t i = 0; i < ks->n; i++)
        if (strcmp(ks->e[i]->def.name, name) == 0)
            return ks->e[i];
    return NULL;
}

/* Takes n units from b (rate per minute) as a local request would; never above the cap. */
static void bucket_take(struct bucket *b, int64_t rate, int64_t now, int64_t units)
{
    refill(b, rate, now);
    b->level -= units;
    if (b->level > rate * MS_PER_MIN)
        b->level = rate * MS_PER_MIN;
}

static void on_share_usage(void *ud, const struct ag_state_keymsg *m)
{
    struct ag_keys *ks = ud;
    struct ag_keys_entry *e = find_name(ks, m->key);
    if (!e)
        return;
    int64_t now = now_ms(ks);
    e->n_shared++;
    if (e->def.rpm > 0 && m->requests > 0)
        bucket_take(&e->rpm, e->def.rpm, now, m->requests * MS_PER_MIN);
    if (e->def.tpm > 0 && m->tokens != 0)
        bucket_take(&e->tpm, e->def.tpm, now, m->tokens * MS_PER_MIN);
    if (m->used > 0) {
        roll(e, now / 1000);
        if (m->day_start == e->day_start)
            e->day_used += m->used;
        if (m->month_start == e->month_start)
            e->month_used += m->used;
    }
}

static void on_share_flight(void *ud, const char *key, int64_t in_flight, int64_t reserved)
{
    struct ag_keys *ks = ud;
    struct ag_keys_entry *e = find_name(ks, key);
    if (!e)
        return;
    e->remote_in_flight = in_flight;
    e->remote_reserved = reserved;
}

/* What Redis counted in the current windows, from every instance including this one: the
 * counters keep the larger of theirs and Redis's (never both, so nothing counts twice). */
static void on_share_loaded(void *ud, const char *key, const struct ag_keyshare_windows *w)
{
    struct ag_keys *ks = ud;
    struct ag_keys_entry *e = find_name(ks, key);
    if (!e)
        return;
    int64_t now = now_ms(ks);
    /* The last 60 s: this minute and the part of the one before that is still in them. */
    int64_t left = MS_PER_MIN - w->ms_into_minute;
    if (e->def.rpm > 0) {
        int64_t n = w->req_cur * MS_PER_MIN + w->req_prev * left;
        int64_t cap = e->def.rpm * MS_PER_MIN;
        refill(&e->rpm, e->def.rpm, now);
        if (e->rpm.level > cap - n)
            e->rpm.level = cap - n;
    }
    if (e->def.tpm > 0) {
        int64_t cur = w->tok_cur > 0 ? w->tok_cur : 0, prev = w->tok_prev > 0 ? w->tok_prev : 0;
        int64_t n = cur * MS_PER_MIN + prev * left;
        int64_t cap = e->def.tpm * MS_PER_MIN;
        refill(&e->tpm, e->def.tpm, now);
        if (e->tpm.level > cap - n)
            e->tpm.level = cap - n;
    }
    roll(e, now / 1000);
    if (w->day_start == e->day_start && w->day > e->day_used)
        e->day_used = w->day;
    if (w->month_start == e->month_start && w->month > e->month_used)
        e->month_used = w->month;
}

static void on_share_resync(void *ud)
{
    struct ag_keys *ks = ud;
    for (size_t i = 0; i < ks->n; i++) {
        share_load(ks, ks->e[i]);
        if (ks->e[i]->in_flight > 0)
            share_publish(ks, ks->e[i], 0, 0, 0);
    }
}

/* Every second: renew the leases of the keys in use here. */
static void on_share_tick(void *ud)
{
    struct ag_keys *ks = ud;
    for (size_t i = 0; i < ks->n; i++)
        if (ks->e[i]->in_flight > 0)
            share_publish(ks, ks->e[i], 0, 0, 0);
}

void ag_keys_set_share(struct ag_keys *ks, struct ag_keyshare *sh)
{
    if (ks->share) {
        struct ag_keyshare_handlers none = {0};
        ag_keyshare_set_handlers(ks->share, &none, NULL);
        for (size_t i = 0; i < ks->n; i++)
            ks->e[i]->remote_in_flight = ks->e[i]->remote_reserved = 0;
    }
    ks->share = sh;
    if (!sh)
        return;
    struct ag_keyshare_handlers h = {.usage = on_share_usage,
                                     .flight = on_share_flight,
                                     .loaded = on_share_loaded,
                                     .resync = on_share_resync,
                                     .tick = on_share_tick};
    ag_keyshare_set_handlers(sh, &h, ks);
    if (ag_keyshare_up(sh))
        on_share_resync(ks);
}

int ag_keys_begin(struct ag_keys *ks, const char *secret, size_t len, const char *model,
                  int64_t estimate, struct ag_keys_ticket *t, struct ag_keys_refusal *r)
{
    memset(t, 0, sizeof(*t));
    memset(r, 0, sizeof(*r));
    struct ag_keys_entry *e = find_secret(ks, secret, len);
    if (!e)
        return 0;
    snprintf(t->name, sizeof(t->name), "%s", e->def.name); /* refused requests are named too */
    int64_t now = now_ms(ks), now_s = now / 1000;
    const struct ag_user_key *k = &e->def;
    if (estimate < 0)
        estimate = 0;
    enum ag_keys_verdict v = verdict_of(e, now_s, NULL);
    if (v != AG_KEYS_OK)
        return refuse(e, r, 401, "invalid_api_key", 0, "%s", ag_keys_verdict_message(v));
    if (!ag_keys_model_allowed(k->models, model))
        return refuse(e, r, 403, "model_not_allowed", 0,
                      "The model \"%.80s\" is not allowed for this API key (allowed: %.120s)",
                      model ? model : "", k->models);
    if (limited(k) && ag_keyshare_refuses(ks->share))
        return refuse(e, r, 503, "limits_unavailable", 5,
                      "This API key's limits are shared with the other gateway instances through "
                      "Redis, which cannot be reached; requests with limited keys are refused "
                      "until it is back (state.on_redis_down is \"closed\")");
    if (k->max_concurrency > 0 && e->in_flight + e->remote_in_flight >= k->max_concurrency)
        return refuse(e, r, 429, "rate_limited", 1,
                      "This API key already has %lld requests in flight (its limit); retry when "
                      "one finishes",
                      (long long)e->in_flight + (long long)e->remote_in_flight);
    if (k->rpm > 0) {
        refill(&e->rpm, k->rpm, now);
        if (e->rpm.level < MS_PER_MIN)
            return refuse(e, r, 429, "rate_limited", wait_s(&e->rpm, MS_PER_MIN, k->rpm),
                          "This API key is over its limit of %lld requests per minute",
                          (long long)k->rpm);
    }
    int64_t tpm_need = 0;
    if (k->tpm > 0) {
        refill(&e->tpm, k->tpm, now);
        tpm_need = (estimate < k->tpm ? estimate : k->tpm) * MS_PER_MIN;
        if (e->tpm.level < tpm_need || e->tpm.level <= 0)
            return refuse(
                e, r, 429, "rate_limited", wait_s(&e->tpm, tpm_need > 0 ? tpm_need : 1, k->tpm),
                "This API key is over its limit of %lld tokens per minute", (long long)k->tpm);
    }
    roll(e, now_s);
    int64_t reserved = e->reserved + e->remote_reserved;
    if (k->daily_tokens > 0 && e->day_used + reserved + estimate > k->daily_tokens)
        return refuse(e, r, 429, "budget_exceeded", to_next_day(now_s),
                      "This API key has used its daily budget of %lld tokens (%lld used, %lld "
                      "reserved by requests in flight, this request needs about %lld); it resets "
                      "at 00:00 UTC",
                      (long long)k->daily_tokens, (long long)e->day_used, (long long)reserved,
                      (long long)estimate);
    if (k->monthly_tokens > 0 && e->month_used + reserved + estimate > k->monthly_tokens)
        return refuse(e, r, 429, "budget_exceeded", to_next_month(now_s),
                      "This API key has used its monthly budget of %lld tokens (%lld used, %lld "
                      "reserved by requests in flight, this request needs about %lld); it resets "
                      "on the 1st at 00:00 UTC",
                      (long long)k->monthly_tokens, (long long)e->month_used, (long long)reserved,
                      (long long)estimate);
    if (k->rpm > 0)
        e->rpm.level -= MS_PER_MIN;
    if (k->tpm > 0)
        e->tpm.level -= estimate * MS_PER_MIN;
    e->in_flight++;
    e->reserved += estimate;
    e->n_requests++;
    e->refs++;
    t->_entry = e;
    t->_estimate = estimate;
    share_publish(ks, e, 1, estimate, 0);
    return 0;
}

static void alert(struct ag_keys *ks, struct ag_keys_entry *e, const char *period, int64_t used,
                  int64_t budget, int *alerted)
{
    int lvl = level_of(used, budget);
    if (lvl <= *alerted)
        return;
    /* Crossing straight past 80 % reports both steps, in order. */
    if (lvl == 100 && *alerted < 80 && ks->cfg.on_budget)
        ks->cfg.on_budget(ks->cfg.on_budget_ctx, e->def.name, period, 80);
    *alerted = lvl;
    if (ks->cfg.on_budget)
        ks->cfg.on_budget(ks->cfg.on_budget_ctx, e->def.name, period, lvl);
}

void ag_keys_settle(struct ag_keys *ks, struct ag_keys_ticket *t, int64_t input_tokens,
                    int64_t output_tokens)
{
    struct ag_keys_entry *e = t->_entry;
    if (!e)
        return;
    t->_entry = NULL;
    int64_t used = (input_tokens > 0 ? input_tokens : 0) + (output_tokens > 0 ? output_tokens : 0);
    int64_t now = now_ms(ks);
    e->in_flight--;
    e->reserved -= t->_estimate;
    e->n_tokens += (uint64_t)used;
    if (e->def.tpm > 0 && e->tpm.init) {
        refill(&e->tpm, e->def.tpm, now);
        int64_t cap = e->def.tpm * MS_PER_MIN;
        e->tpm.level += (t->_estimate - used) * MS_PER_MIN;
        if (e->tpm.level > cap)
            e->tpm.level = cap;
    }
    roll(e, now / 1000);
    e->day_used += used;
    e->month_used += used;
    share_publish(ks, e, 0, used - t->_estimate, used);
    if (e->live) {
        alert(ks, e, "daily", e->day_used, e->def.daily_tokens, &e->day_alerted);
        alert(ks, e, "monthly", e->month_used, e->def.monthly_tokens, &e->month_alerted);
    }
    entry_unref(e);
}

int64_t ag_keys_estimate(size_t body_len, int64_t max_output)
{
    int64_t out = max_output > 0 ? max_output : AG_KEYS_OUTPUT_DEFAULT;
    if (out > AG_KEYS_OUTPUT_CAP)
        out = AG_KEYS_OUTPUT_CAP;
    return (int64_t)(body_len / 4) + out;
}

static void stat_of(struct ag_keys *ks, struct ag_keys_entry *e, struct ag_keys_stat *st)
{
    roll(e, now_ms(ks) / 1000);
    *st = (struct ag_keys_stat){
        .name = e->def.name,
        .in_flight = e->in_flight,
        .reserved = e->reserved,
        .day_tokens = e->day_used,
        .month_tokens = e->month_used,
        .requests = e->n_requests,
        .refused = e->n_refused,
        .tokens = e->n_tokens,
        .shared_in_flight = e->remote_in_flight,
        .shared_updates = e->n_shared,
    };
}

void ag_keys_stats(struct ag_keys *ks, void (*fn)(const struct ag_keys_stat *st, void *ud),
                   void *ud)
{
    for (size_t i = 0; ks && i < ks->n; i++) {
        struct ag_keys_stat st;
        stat_of(ks, ks->e[i], &st);
        fn(&st, ud);
    }
}

int ag_keys_stat_get(struct ag_keys *ks, const char *name, struct ag_keys_stat *out)
{
    for (size_t i = 0; ks && i < ks->n; i++) {
        if (strcmp(ks->e[i]->def.name, name) == 0) {
            stat_of(ks, ks->e[i], out);
            return 0;
        }
    }
    return AG_ENOTFOUND;
}
