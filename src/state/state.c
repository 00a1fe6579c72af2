/* state/state.c: publishing local changes to Redis and applying the others' (see state.h). */
#include "state/state.h"

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
#include "state/stores.h"

/** Largest message (an account record with its tokens fits many times over). */
#define MSG_CAP (256 * 1024)
/** Keys loaded per resync at most, and asked for per SCAN step. */
#define LOAD_MAX  50000
#define SCAN_STEP "200"

struct ag_state {
    uv_loop_t *loop;
    struct ag_state_url url;
    char prefix[64];
    char channel[80];
    char instance[AG_STATE_INSTANCE_MAX];
    struct ag_redis *cmd, *sub;
    uv_timer_t tick; /* every second: the handlers' tick */
    bool subscribed;
    bool up;           /* both connections up and subscribed */
    bool ever_up;      /* for the first warning's wording */
    bool warned;       /* this outage was logged */
    uint64_t load_gen; /* a resync's SCAN stops when a newer one starts */
    size_t loaded;
    struct ag_state_handlers h;
    void *hud;
    struct ag_state_stats stats;
    int closing; /* connections still closing */
    void (*done)(void *ud);
    void *done_ud;
    void *stores; /* state/stores.c's listeners */
};

static void dispatch(struct ag_state *st, const char *data, size_t len, bool from_key)
{
    struct ag_state_msg m;
    if (ag_state_msg_decode(data, len, &m) != 0) {
        ag_log_debug("state: ignoring a malformed message (%zu bytes)", len);
        return;
    }
    if (strcmp(m.instance, st->instance) == 0 && !from_key)
        goto out; /* our own, back from the channel */
    st->stats.received++;
    switch (m.kind) {
    case AG_STATE_MSG_COOLDOWN:
        if (st->h.cooldown)
            st->h.cooldown(st->hud, &m);
        break;
    case AG_STATE_MSG_STICKY:
        if (st->h.sticky)
            st->h.sticky(st->hud, &m);
        break;
    case AG_STATE_MSG_ACCOUNT:
        if (st->h.account)
            st->h.account(st->hud, &m);
        break;
    case AG_STATE_MSG_SYNC:
        if (st->h.sync)
            st->h.sync(st->hud);
        break;
    case AG_STATE_MSG_INFLIGHT:
        if (st->h.inflight)
            st->h.inflight(st->hud, &m);
        break;
    }
out:
    ag_state_msg_dispose(&m);
}

/* ---- loading the keys after a (re)connect ---- */

struct load_step {
    struct ag_state *st;
    uint64_t gen;
};

static void scan_from(struct ag_state *st, const char *cursor, uint64_t gen);

static void on_get(struct ag_redis *r, redisReply *reply, void *ud)
{
    struct load_step *s = ud;
    if (reply && reply->type == REDIS_REPLY_STRING && s->gen == s->st->load_gen)
        dispatch(s->st, reply->str, reply->len, true);
    free(s);
}

static void on_scan(struct ag_redis *r, redisReply *reply, void *ud)
{
    struct load_step *s = ud;
    struct ag_state *st = s->st;
    uint64_t gen = s->gen;
    free(s);
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || gen != st->load_gen)
        return;
    redisReply *cur = reply->element[0], *keys = reply->element[1];
    if (cur->type != REDIS_REPLY_STRING || keys->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i < keys->elements && st->loaded < LOAD_MAX; i++) {
        redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING || ag_state_stores_key(st, k->str, k->len))
            continue;
        struct load_step *g = AG_NEW(struct load_step);
        g->st = st;
        g->gen = gen;
        const char *argv[2] = {"GET", k->str};
        size_t lens[2] = {3, k->len};
        if (ag_redis_command(st->cmd, on_get, g, 2, argv, lens) != 0) {
            free(g);
            return;
        }
        st->loaded++;
    }
    if (strcmp(cur->str, "0") != 0 && st->loaded < LOAD_MAX)
        scan_from(st, cur->str, gen);
    else if (st->loaded >= LOAD_MAX)
        ag_log_warn("state: loaded the first %d shared keys only", LOAD_MAX);
}

static void scan_from(struct ag_state *st, const char *cursor, uint64_t gen)
{
    char match[80];
    snprintf(match, sizeof(match), "%s*", st->prefix);
    struct load_step *s = AG_NEW(struct load_step);
    s->st = st;
    s->gen = gen;
    const char *argv[6] = {"SCAN", cursor, "MATCH", match, "COUNT", SCAN_STEP};
    if (ag_redis_command(st->cmd, on_scan, s, 6, argv, NULL) != 0)
        free(s);
}

/* ---- up and down ---- */

static void update(struct ag_state *st, const char *why)
{
    bool up = ag_redis_up(st->cmd) && ag_redis_up(st->sub) && st->subscribed;
    if (!up) {
        if (st->up) {
            st->up = false;
            st->stats.outages++;
        }
        if (!st->warned && why) { /* once per outage, the first start included */
            ag_log_warn("state: Redis at %s:%d %s (%s); requests go on with this instance's "
                        "local state until it is back",
                        st->url.host, st->url.port,
                        st->ever_up ? "is unreachable" : "cannot be reached", why);
            st->warned = true;
        }
        return;
    }
    if (st->up)
        return;
    st->up = true;
    if (st->ever_up || st->warned)
        ag_log_info("state: Redis at %s:%d is reachable again: shared state re-synchronized",
                    st->url.host, st->url.port);
    else
        ag_log_info("state: sharing state through Redis at %s:%d (db %d) as instance %s",
                    st->url.host, st->url.port, st->url.db, st->instance);
    st->ever_up = true;
    st->warned = false;
    /* Converge: ours out, theirs in, and the accounts of the others. */
    if (st->h.resync)
        st->h.resync(st->hud);
    st->load_gen++;
    st->loaded = 0;
    scan_from(st, "0", st->load_gen);
    struct ag_state_msg m = {.kind = AG_STATE_MSG_SYNC};
    ag_state_publish(st, &m, NULL);
}

static void on_message(struct ag_redis *r, redisReply *reply, void *ud)
{
    struct ag_state *st = ud;
    if (st->closing)
        return;
    if (!reply) {
        st->subscribed = false;
        update(st, "subscription lost");
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(reply->element[0]->str, "subscribe") == 0) {
        st->subscribed = true;
        update(st, NULL);
    } else if (strcmp(reply->element[0]->str, "message") == 0 &&
               reply->element[2]->type == REDIS_REPLY_STRING) {
        if (ag_state_stores_dispatch(st, reply->element[2]->str, reply->element[2]->len))
            return;
        dispatch(st, reply->element[2]->str, reply->element[2]->len, false);
    }
}

static void on_conn_state(struct ag_redis *r, bool up, const char *why, void *ud)
{
    struct ag_state *st = ud;
    if (r == st->sub) {
        st->subscribed = false;
        if (up) {
            const char *argv[2] = {"SUBSCRIBE", st->channel};
            if (ag_redis_command(st->sub, on_message, st, 2, argv, NULL) != 0)
                ag_redis_reset(st->sub, "cannot subscribe");
        }
    } else if (!up) {
        /* The command side noticed first (a stopped server sends no reset): the subscription
         * is as dead, and a fresh one resynchronizes everything once both are back. */
        ag_redis_reset(st->sub, why ? why : "command connection lost");
    }
    update(st, why);
}

static void on_tick(uv_timer_t *t)
{
    struct ag_state *st = t->data;
    if (st->h.tick)
        st->h.tick(st->hud);
}

int ag_state_new(uv_loop_t *loop, const char *url, const char *prefix, struct ag_state **out,
                 char *why, size_t cap)
{
    struct ag_state_url u;
    int rc = ag_state_url_parse(url, &u, why, cap);
    *out = NULL;
    if (rc)
        return rc;
    struct ag_state *st = AG_NEW(struct ag_state);
    st->loop = loop;
    st->url = u;
    ag_strlcpy(st->prefix, prefix && prefix[0] ? prefix : "aigate:", sizeof(st->prefix));
    snprintf(st->channel, sizeof(st->channel), "%sevents", st->prefix);
    if (ag_random_hex(st->instance, sizeof(st->instance), 8) != 0)
        snprintf(st->instance, sizeof(st->instance), "%llx", (unsigned long long)ag_now_us());
    uv_timer_init(loop, &st->tick);
    st->tick.data = st;
    uv_timer_start(&st->tick, on_tick, 1000, 1000);
    st->cmd = ag_redis_new(loop, &u, "command", true, on_conn_state, st);
    st->sub = ag_redis_new(loop, &u, "subscriber", false, on_conn_state, st);
    *out = st;
    return 0;
}

void ag_state_set_handlers(struct ag_state *st, const struct ag_state_handlers *h, void *ud)
{
    st->h = *h;
    st->hud = ud;
}

bool ag_state_up(const struct ag_state *st)
{
    return st && st->up;
}

const char *ag_state_instance(const struct ag_state *st)
{
    return st->instance;
}

void ag_state_publish(struct ag_state *st, struct ag_state_msg *m, const char *rec_json)
{
    struct ag_buf b;
    char key[600];
    int64_t ttl = 0;

    if (!st)
        return;
    ag_strlcpy(m->instance, st->instance, sizeof(m->instance));
    if (m->kind == AG_STATE_MSG_COOLDOWN || m->kind == AG_STATE_MSG_STICKY) {
        ttl = m->until_ms - ag_wall_ms();
        if (ttl <= 0)
            return;
        size_t n = m->kind == AG_STATE_MSG_COOLDOWN
                       ? ag_state_key(key, sizeof(key), st->prefix, "cd", m->account, m->group)
                       : ag_state_key(key, sizeof(key), st->prefix, "st", m->session, NULL);
        if (!n)
            return; /* names too long to share: this one stays local */
    }
    if (!st->up) {
        st->stats.dropped++;
        return;
    }
    ag_buf_init(&b, MSG_CAP);
    if (ag_state_msg_encode(m, rec_json, &b) != 0) {
        ag_log_debug("state: a message did not fit in %d bytes; not shared", MSG_CAP);
        goto out;
    }
    if (ttl > 0) {
        char px[24];
        snprintf(px, sizeof(px), "%lld", (long long)ttl);
        const char *argv[5] = {"SET", key, b.data, "PX", px};
        size_t lens[5] = {3, strlen(key), b.len, 2, strlen(px)};
        if (ag_redis_command(st->cmd, NULL, NULL, 5, argv, lens) != 0)
            goto dropped;
    }
    const char *pargv[3] = {"PUBLISH", st->channel, b.data};
    size_t plens[3] = {7, strlen(st->channel), b.len};
    if (ag_redis_command(st->cmd, NULL, NULL, 3, pargv, plens) != 0)
        goto dropped;
    st->stats.published++;
    goto out;
dropped:
    st->stats.dropped++;
out:
    ag_buf_dispose(&b);
}

void ag_state_get_stats(const struct ag_state *st, struct ag_state_stats *out)
{
    *out = st->stats;
}

struct ag_redis *ag_state_redis(const struct ag_state *st)
{
    return st->cmd;
}

uv_loop_t *ag_state_loop(const struct ag_state *st)
{
    return st->loop;
}

const char *ag_state_prefix(const struct ag_state *st)
{
    return st->prefix;
}

const char *ag_state_channel(const struct ag_state *st)
{
    return st->channel;
}

void **ag_state_stores_slot(struct ag_state *st)
{
    return &st->stores;
}

static void conn_closed(void *ud)
{
    struct ag_state *st = ud;
    if (--st->closing > 0)
        return;
    void (*done)(void *) = st->done;
    void *dud = st->done_ud;
    ag_state_stores_free(st);
    free(st);
    if (done)
        done(dud);
}

static void tick_closed(uv_handle_t *h)
{
    conn_closed(h->data);
}

void ag_state_close(struct ag_state *st, void (*done)(void *ud), void *ud)
{
    if (!st) {
        if (done)
            done(ud);
        return;
    }
    st->done = done;
    st->done_ud = ud;
    st->closing = 3;
    st->h = (struct ag_state_handlers){0};
    st->load_gen++;
    struct ag_redis *c = st->cmd, *s = st->sub;
    ag_redis_close(c, conn_closed, st);
    ag_redis_close(s, conn_closed, st);
    uv_close((uv_handle_t *)&st->tick, tick_closed);
}
