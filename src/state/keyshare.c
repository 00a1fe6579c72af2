/* state/keyshare.c: per-key leases and usage shared through Redis (see keyshare.h). */
#include "state/keyshare.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rand.h"
#include "core/str.h"
#include "core/time.h"
#include "state/redis.h"

#define MSG_CAP    4096
#define KEY_CAP    600
#define MINUTE_MS  INT64_C(60000)
#define MINUTE_TTL "120000" /* a minute's windows outlive the minute after it */

struct lease {
    char instance[AG_STATE_INSTANCE_MAX];
    char key[AG_STATE_NAME_MAX];
    int64_t count, reserved;
    uint64_t seen_ms; /* loop time of the last renewal */
};

/* Budget tokens settled while Redis was down, for when it is back. */
struct pending {
    char key[AG_STATE_NAME_MAX];
    int64_t day_start, day_used;
    int64_t month_start, month_used;
};

struct ag_keyshare {
    uv_loop_t *loop;
    struct ag_state_url url;
    char prefix[64];
    char channel[80];
    char instance[AG_STATE_INSTANCE_MAX];
    bool fail_closed;
    struct ag_redis *cmd, *sub;
    uv_timer_t tick;
    bool subscribed, up, ever_up, warned;
    struct lease *leases; /* AG_KEYSHARE_LEASES_MAX, allocated on the first */
    size_t nleases;
    struct pending *pend; /* AG_KEYSHARE_PENDING_MAX, allocated on the first */
    size_t npend;
    struct ag_keyshare_handlers h;
    void *hud;
    struct ag_keyshare_stats stats;
    int closing;
    void (*done)(void *ud);
    void *done_ud;
};

/* ---- other instances' leases ---- */

static void lease_sum(struct ag_keyshare *sh, const char *key)
{
    int64_t n = 0, res = 0;
    for (size_t i = 0; i < sh->nleases; i++) {
        if (strcmp(sh->leases[i].key, key) == 0) {
            n += sh->leases[i].count;
            res += sh->leases[i].reserved;
        }
    }
    if (sh->h.flight)
        sh->h.flight(sh->hud, key, n, res);
}

static void lease_apply(struct ag_keyshare *sh, const struct ag_state_keymsg *m)
{
    size_t i = 0;
    while (i < sh->nleases && (strcmp(sh->leases[i].instance, m->instance) != 0 ||
                               strcmp(sh->leases[i].key, m->key) != 0))
        i++;
    if (m->in_flight == 0) {
        if (i == sh->nleases)
            return; /* nothing known: nothing changes */
        sh->leases[i] = sh->leases[--sh->nleases];
    } else {
        if (i == sh->nleases) {
            if (sh->nleases >= AG_KEYSHARE_LEASES_MAX)
                return;
            if (!sh->leases)
                sh->leases = ag_calloc(AG_KEYSHARE_LEASES_MAX, sizeof(*sh->leases));
            sh->nleases++;
            ag_strlcpy(sh->leases[i].instance, m->instance, sizeof(sh->leases[i].instance));
            ag_strlcpy(sh->leases[i].key, m->key, sizeof(sh->leases[i].key));
        }
        sh->leases[i].count = m->in_flight;
        sh->leases[i].reserved = m->reserved;
        sh->leases[i].seen_ms = uv_now(sh->loop);
    }
    lease_sum(sh, m->key);
}

static void on_tick(uv_timer_t *t)
{
    struct ag_keyshare *sh = t->data;
    uint64_t now = uv_now(sh->loop);
    for (size_t i = 0; i < sh->nleases;) {
        if (now - sh->leases[i].seen_ms > AG_KEYSHARE_LEASE_TTL_MS) {
            char key[AG_STATE_NAME_MAX];
            ag_strlcpy(key, sh->leases[i].key, sizeof(key));
            ag_log_info("keys: a lease on key %s at instance %s expired (not renewed for %d ms)",
                        key, sh->leases[i].instance, AG_KEYSHARE_LEASE_TTL_MS);
            sh->leases[i] = sh->leases[--sh->nleases];
            lease_sum(sh, key);
        } else {
            i++;
        }
    }
    if (sh->h.tick)
        sh->h.tick(sh->hud);
}

/* ---- windows in Redis ---- */

/* INCRBY name by delta and PEXPIRE it (ttl_ms as text); false when not sent. */
static bool incr(struct ag_keyshare *sh, const char *name, int64_t delta, const char *ttl_ms)
{
    char d[24];
    snprintf(d, sizeof(d), "%lld", (long long)delta);
    const char *a1[3] = {"INCRBY", name, d};
    const char *a2[3] = {"PEXPIRE", name, ttl_ms};
    if (ag_redis_command(sh->cmd, NULL, NULL, 3, a1, NULL) != 0)
        return false;
    (void)ag_redis_command(sh->cmd, NULL, NULL, 3, a2, NULL);
    return true;
}

/* Adds used to a period window (w 'd' or 'm', its start in unix s, the period's length at most
 * len_s); false when not sent (true when there is nothing to send). */
static bool incr_period(struct ag_keyshare *sh, const char *key, char w, int64_t start,
                        int64_t len_s, int64_t used)
{
    char name[KEY_CAP], ttl[24];
    if (used == 0 || start <= 0)
        return true;
    int64_t left_ms = (start + len_s + 3600 - ag_wall_ms() / 1000) * 1000;
    if (left_ms <= 0)
        return true; /* a period long gone */
    if (!ag_state_key_window(name, sizeof(name), sh->prefix, key, w, start))
        return true; /* too long to share */
    snprintf(ttl, sizeof(ttl), "%lld", (long long)left_ms);
    return incr(sh, name, used, ttl);
}

static void pend_add(struct ag_keyshare *sh, const char *key, int64_t ds, int64_t du, int64_t ms,
                     int64_t mu)
{
    struct pending *p = NULL;
    for (size_t i = 0; i < sh->npend && !p; i++)
        if (strcmp(sh->pend[i].key, key) == 0)
            p = &sh->pend[i];
    if (!p) {
        if (sh->npend >= AG_KEYSHARE_PENDING_MAX) {
            if (sh->stats.lost++ == 0)
                ag_log_warn("keys: more than %d keys used their budgets while Redis was away; "
                            "the others' usage reaches Redis only through their instances",
                            AG_KEYSHARE_PENDING_MAX);
            return;
        }
        if (!sh->pend)
            sh->pend = ag_calloc(AG_KEYSHARE_PENDING_MAX, sizeof(*sh->pend));
        p = &sh->pend[sh->npend++];
        ag_strlcpy(p->key, key, sizeof(p->key));
    }
    /* a newer period replaces the older one: the old one no longer limits anything */
    if (ds != p->day_start) {
        p->day_start = ds;
        p->day_used = 0;
    }
    if (ms != p->month_start) {
        p->month_start = ms;
        p->month_used = 0;
    }
    p->day_used += du;
    p->month_used += mu;
}

static void pend_flush(struct ag_keyshare *sh)
{
    size_t kept = 0;
    for (size_t i = 0; i < sh->npend; i++) {
        struct pending *p = &sh->pend[i];
        bool d = incr_period(sh, p->key, 'd', p->day_start, 86400, p->day_used);
        bool m = incr_period(sh, p->key, 'm', p->month_start, 31 * 86400, p->month_used);
        if (d)
            p->day_used = 0;
        if (m)
            p->month_used = 0;
        if (!d || !m)
            sh->pend[kept++] = *p;
    }
    sh->npend = kept;
}

void ag_keyshare_publish(struct ag_keyshare *sh, struct ag_state_keymsg *m, unsigned windows)
{
    struct ag_buf b;
    if (!sh)
        return;
    ag_strlcpy(m->instance, sh->instance, sizeof(m->instance));
    int64_t du = (windows & AG_KEYSHARE_DAY) ? m->used : 0;
    int64_t mu = (windows & AG_KEYSHARE_MONTH) ? m->used : 0;
    if (!sh->up) {
        if (du || mu)
            pend_add(sh, m->key, m->day_start, du, m->month_start, mu);
        sh->stats.dropped++;
        return;
    }
    int64_t minute = ag_wall_ms() / MINUTE_MS;
    char name[KEY_CAP];
    if ((windows & AG_KEYSHARE_RPM) && m->requests &&
        ag_state_key_window(name, sizeof(name), sh->prefix, m->key, 'r', minute))
        (void)incr(sh, name, m->requests, MINUTE_TTL);
    if ((windows & AG_KEYSHARE_TPM) && m->tokens &&
        ag_state_key_window(name, sizeof(name), sh->prefix, m->key, 't', minute))
        (void)incr(sh, name, m->tokens, MINUTE_TTL);
    bool d_ok = incr_period(sh, m->key, 'd', m->day_start, 86400, du);
    bool m_ok = incr_period(sh, m->key, 'm', m->month_start, 31 * 86400, mu);
    if (!d_ok || !m_ok)
        pend_add(sh, m->key, m->day_start, d_ok ? 0 : du, m->month_start, m_ok ? 0 : mu);
    ag_buf_init(&b, MSG_CAP);
    if (ag_state_keymsg_encode(m, &b) != 0)
        goto dropped;
    const char *argv[3] = {"PUBLISH", sh->channel, b.data};
    size_t lens[3] = {7, strlen(sh->channel), b.len};
    if (ag_redis_command(sh->cmd, NULL, NULL, 3, argv, lens) != 0)
        goto dropped;
    sh->stats.published++;
    ag_buf_dispose(&b);
    return;
dropped:
    sh->stats.dropped++;
    ag_buf_dispose(&b);
}

struct load_req {
    struct ag_keyshare *sh;
    struct ag_keyshare_windows w;
    char key[AG_STATE_NAME_MAX];
};

static int64_t reply_int(const redisReply *r)
{
    int64_t v = 0;
    if (r && r->type == REDIS_REPLY_STRING &&
        ag_str_to_i64(ag_str_make(r->str, r->len), -INT64_C(1000000000000000),
                      INT64_C(1000000000000000), &v) == 0)
        return v;
    if (r && r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    return 0;
}

static void on_loaded(struct ag_redis *r, redisReply *reply, void *ud)
{
    struct load_req *q = ud;
    struct ag_keyshare *sh = q->sh;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 6 && !sh->closing) {
        q->w.req_cur = reply_int(reply->element[0]);
        q->w.req_prev = reply_int(reply->element[1]);
        q->w.tok_cur = reply_int(reply->element[2]);
        q->w.tok_prev = reply_int(reply->element[3]);
        q->w.day = reply_int(reply->element[4]);
        q->w.month = reply_int(reply->element[5]);
        if (sh->h.loaded)
            sh->h.loaded(sh->hud, q->key, &q->w);
    }
    free(q);
}

void ag_keyshare_load(struct ag_keyshare *sh, const char *key, int64_t day_start,
                      int64_t month_start)
{
    char names[6][KEY_CAP];
    if (!sh || !sh->up)
        return;
    int64_t now = ag_wall_ms(), minute = now / MINUTE_MS;
    if (!ag_state_key_window(names[0], KEY_CAP, sh->prefix, key, 'r', minute) ||
        !ag_state_key_window(names[1], KEY_CAP, sh->prefix, key, 'r', minute - 1) ||
        !ag_state_key_window(names[2], KEY_CAP, sh->prefix, key, 't', minute) ||
        !ag_state_key_window(names[3], KEY_CAP, sh->prefix, key, 't', minute - 1) ||
        !ag_state_key_window(names[4], KEY_CAP, sh->prefix, key, 'd', day_start) ||
        !ag_state_key_window(names[5], KEY_CAP, sh->prefix, key, 'm', month_start))
        return;
    struct load_req *q = AG_NEW(struct load_req);
    q->sh = sh;
    ag_strlcpy(q->key, key, sizeof(q->key));
    q->w.ms_into_minute = now % MINUTE_MS;
    q->w.day_start = day_start;
    q->w.month_start = month_start;
    const char *argv[7] = {"MGET", names[0], names[1], names[2], names[3], names[4], names[5]};
    if (ag_redis_command(sh->cmd, on_loaded, q, 7, argv, NULL) != 0) {
        free(q);
        return;
    }
    sh->stats.loads++;
}

/* ---- messages, up and down ---- */

static void update(struct ag_keyshare *sh, const char *why)
{
    bool up = ag_redis_up(sh->cmd) && ag_redis_up(sh->sub) && sh->subscribed;
    if (!up) {
        sh->up = false;
        if (!sh->warned && why) {
            ag_log_warn("keys: per-key limits cannot be shared while Redis at %s:%d is away (%s); "
                        "%s",
                        sh->url.host, sh->url.port, why,
                        sh->fail_closed ? "requests with limited keys are refused until it is back "
                                          "(state.on_redis_down = closed)"
                                        : "each instance enforces them on its own counts until it "
                                          "is back (state.on_redis_down = open)");
            sh->warned = true;
        }
        return;
    }
    if (sh->up)
        return;
    sh->up = true;
    ag_log_info("keys: sharing per-key limits through Redis at %s:%d as instance %s%s",
                sh->url.host, sh->url.port, sh->instance, sh->ever_up ? " (again)" : "");
    sh->ever_up = true;
    sh->warned = false;
    pend_flush(sh);
    if (sh->h.resync)
        sh->h.resync(sh->hud);
}

static void on_message(struct ag_redis *r, redisReply *reply, void *ud)
{
    struct ag_keyshare *sh = ud;
    struct ag_state_keymsg m;
    if (sh->closing)
        return;
    if (!reply) {
        sh->subscribed = false;
        update(sh, "subscription lost");
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(reply->element[0]->str, "subscribe") == 0) {
        sh->subscribed = true;
        update(sh, NULL);
        return;
    }
    if (strcmp(reply->element[0]->str, "message") != 0 ||
        reply->element[2]->type != REDIS_REPLY_STRING)
        return;
    if (ag_state_keymsg_decode(reply->element[2]->str, reply->element[2]->len, &m) != 0) {
        ag_log_debug("keys: ignoring a malformed shared message (%zu bytes)",
                     (size_t)reply->element[2]->len);
        return;
    }
    if (strcmp(m.instance, sh->instance) == 0)
        return; /* our own, back from the channel */
    sh->stats.received++;
    if (sh->h.usage && (m.requests || m.tokens || m.used))
        sh->h.usage(sh->hud, &m);
    lease_apply(sh, &m);
}

static void on_conn_state(struct ag_redis *r, bool up, const char *why, void *ud)
{
    struct ag_keyshare *sh = ud;
    if (r == sh->sub) {
        sh->subscribed = false;
        if (up) {
            const char *argv[2] = {"SUBSCRIBE", sh->channel};
            if (ag_redis_command(sh->sub, on_message, sh, 2, argv, NULL) != 0)
                ag_redis_reset(sh->sub, "cannot subscribe");
        }
    } else if (!up) {
        ag_redis_reset(sh->sub, why ? why : "command connection lost");
    }
    update(sh, why);
}

int ag_keyshare_new(uv_loop_t *loop, const char *url, const char *prefix, bool fail_closed,
                    struct ag_keyshare **out, char *why, size_t cap)
{
    struct ag_state_url u;
    int rc = ag_state_url_parse(url, &u, why, cap);
    *out = NULL;
    if (rc)
        return rc;
    struct ag_keyshare *sh = AG_NEW(struct ag_keyshare);
    sh->loop = loop;
    sh->url = u;
    sh->fail_closed = fail_closed;
    ag_strlcpy(sh->prefix, prefix && prefix[0] ? prefix : "aigate:", sizeof(sh->prefix));
    snprintf(sh->channel, sizeof(sh->channel), "%skeys", sh->prefix);
    if (ag_random_hex(sh->instance, sizeof(sh->instance), 8) != 0)
        snprintf(sh->instance, sizeof(sh->instance), "%llx", (unsigned long long)ag_now_us());
    uv_timer_init(loop, &sh->tick);
    sh->tick.data = sh;
    uv_timer_start(&sh->tick, on_tick, 1000, 1000);
    sh->cmd = ag_redis_new(loop, &u, "keys command", true, on_conn_state, sh);
    sh->sub = ag_redis_new(loop, &u, "keys subscriber", false, on_conn_state, sh);
    *out = sh;
    return 0;
}

void ag_keyshare_set_handlers(struct ag_keyshare *sh, const struct ag_keyshare_handlers *h,
                              void *ud)
{
    sh->h = *h;
    sh->hud = ud;
}

bool ag_keyshare_up(const struct ag_keyshare *sh)
{
    return sh && sh->up;
}

bool ag_keyshare_refuses(const struct ag_keyshare *sh)
{
    return sh && sh->fail_closed && !sh->up;
}

void ag_keyshare_get_stats(const struct ag_keyshare *sh, struct ag_keyshare_stats *out)
{
    *out = sh->stats;
}

static void conn_closed(void *ud)
{
    struct ag_keyshare *sh = ud;
    if (--sh->closing > 0)
        return;
    void (*done)(void *) = sh->done;
    void *dud = sh->done_ud;
    free(sh->leases);
    free(sh->pend);
    free(sh);
    if (done)
        done(dud);
}

static void tick_closed(uv_handle_t *h)
{
    conn_closed(h->data);
}

void ag_keyshare_close(struct ag_keyshare *sh, void (*done)(void *ud), void *ud)
{
    if (!sh) {
        if (done)
            done(ud);
        return;
    }
    sh->done = done;
    sh->done_ud = ud;
    sh->closing = 3;
    sh->h = (struct ag_keyshare_handlers){0};
    ag_redis_close(sh->cmd, conn_closed, sh);
    ag_redis_close(sh->sub, conn_closed, sh);
    uv_close((uv_handle_t *)&sh->tick, tick_closed);
}
