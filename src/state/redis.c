/* state/redis.c: one Redis connection on the loop, with reconnects (see redis.h). */
#include "state/redis.h"

#include <hiredis.h>
#include <async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CONNECT_MAX_MS 3000 /* connect + AUTH + SELECT */
#define PING_EVERY_MS  1000
#define PING_MAX_MS    3000

enum rstate { R_WAITING, R_RESOLVING, R_CONNECTING, R_HELLO, R_UP, R_CLOSING };

struct ag_redis {
    uv_loop_t *loop;
    struct ag_state_url url;
    char name[16];
    bool heartbeat;
    ag_redis_state_cb on_state;
    void *ud;
    enum rstate st;
    redisAsyncContext *ac;
    uv_getaddrinfo_t gai;
    bool gai_busy;
    uv_timer_t timer;      /* backoff, connect deadline */
    uv_timer_t ping_timer; /* heartbeat */
    int64_t backoff_ms;
    uint64_t ping_sent_ms; /* 0 = no PING outstanding */
    size_t pending;
    int handles;  /* open libuv handles and requests; freed at 0 while closing */
    int reported; /* last state told to on_state: -1 none yet, 0 down, 1 up */
    void (*done)(void *ud);
    void *done_ud;
};

/* ---- the libuv glue for hiredis ---- */

struct rpoll {
    uv_poll_t h;
    struct ag_redis *r;
    redisAsyncContext *ac; /* NULL once hiredis cleaned up */
    int events;
};

static void maybe_free(struct ag_redis *r);

static void rp_closed(uv_handle_t *h)
{
    struct rpoll *p = h->data;
    struct ag_redis *r = p->r;
    free(p);
    r->handles--;
    maybe_free(r);
}

static void rp_cb(uv_poll_t *h, int status, int events)
{
    struct rpoll *p = h->data;
    if (!p->ac)
        return;
    if (status < 0) {
        /* libuv stopped the handle: the socket failed (refused, reset). hiredis reads the error
         * (a pending connect checks SO_ERROR) and fails the connection. */
        redisAsyncContext *ac = p->ac;
        if (ac->c.flags & REDIS_CONNECTED)
            redisAsyncHandleRead(ac);
        else
            redisAsyncHandleWrite(ac);
        if (p->ac && p->events)
            uv_poll_start(&p->h, p->events, rp_cb);
        return;
    }
    if (events & UV_READABLE)
        redisAsyncHandleRead(p->ac);
    if (p->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(p->ac);
}

static void rp_add_read(void *d)
{
    struct rpoll *p = d;
    p->events |= UV_READABLE;
    uv_poll_start(&p->h, p->events, rp_cb);
}

static void rp_del_read(void *d)
{
    struct rpoll *p = d;
    p->events &= ~UV_READABLE;
    if (p->events)
        uv_poll_start(&p->h, p->events, rp_cb);
    else
        uv_poll_stop(&p->h);
}

static void rp_add_write(void *d)
{
    struct rpoll *p = d;
    p->events |= UV_WRITABLE;
    uv_poll_start(&p->h, p->events, rp_cb);
}

static void rp_del_write(void *d)
{
    struct rpoll *p = d;
    p->events &= ~UV_WRITABLE;
    if (p->events)
        uv_poll_start(&p->h, p->events, rp_cb);
    else
        uv_poll_stop(&p->h);
}

/* hiredis frees the context: stop watching its socket before hiredis closes it. */
static void rp_cleanup(void *d)
{
    struct rpoll *p = d;
    p->ac = NULL;
    uv_close((uv_handle_t *)&p->h, rp_closed);
}

static int rp_attach(struct ag_redis *r, redisAsyncContext *ac)
{
    struct rpoll *p = AG_NEW(struct rpoll);
    if (uv_poll_init(r->loop, &p->h, ac->c.fd) != 0) {
        free(p);
        return AG_EIO;
    }
    p->r = r;
    p->ac = ac;
    p->h.data = p;
    r->handles++;
    ac->ev.data = p;
    ac->ev.addRead = rp_add_read;
    ac->ev.delRead = rp_del_read;
    ac->ev.addWrite = rp_add_write;
    ac->ev.delWrite = rp_del_write;
    ac->ev.cleanup = rp_cleanup;
    return 0;
}

/* ---- connection life ---- */

static void start(struct ag_redis *r);

static void set_up(struct ag_redis *r, bool up, const char *why)
{
    if (r->st == R_CLOSING || (int)up == r->reported)
        return;
    r->reported = up;
    if (r->on_state)
        r->on_state(r, up, why, r->ud);
}

static void on_backoff(uv_timer_t *t)
{
    struct ag_redis *r = t->data;
    if (r->st == R_WAITING)
        start(r);
    else if (r->st == R_RESOLVING || r->st == R_CONNECTING || r->st == R_HELLO)
        ag_redis_reset(r, "connection attempt timed out");
}

/* Goes to WAITING (the context, if any, is already gone or being freed) and arms the retry. */
static void wait_retry(struct ag_redis *r, const char *why)
{
    if (r->st == R_CLOSING)
        return;
    r->st = R_WAITING;
    r->ping_sent_ms = 0;
    uv_timer_stop(&r->ping_timer);
    set_up(r, false, why);
    ag_log_debug("state: redis %s connection: %s; retrying in %lld ms", r->name, why,
                 (long long)r->backoff_ms);
    uv_timer_start(&r->timer, on_backoff, (uint64_t)r->backoff_ms, 0);
    r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct ag_redis *r = ac->data;
    if (r->ac != ac)
        return;
    r->ac = NULL;
    wait_retry(r, ac->errstr[0] ? ac->errstr : "connection closed");
}

static void on_hello(struct ag_redis *r, struct redisReply *reply, void *ud)
{
    bool last = ud != NULL;
    if (r->st != R_HELLO)
        return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        char why[256];
        snprintf(why, sizeof(why), "%s refused: %s", last ? "SELECT" : "AUTH",
                 reply ? reply->str : "no answer");
        ag_redis_reset(r, why);
        return;
    }
    if (!last)
        return;
    r->st = R_UP;
    r->backoff_ms = BACKOFF_MIN_MS;
    uv_timer_stop(&r->timer);
    if (r->heartbeat)
        uv_timer_start(&r->ping_timer, r->ping_timer.timer_cb, PING_EVERY_MS, PING_EVERY_MS);
    set_up(r, true, NULL);
}

/* Sends a command in any state with a live context (the hello sequence runs before UP). */
static int send_raw(struct ag_redis *r, ag_redis_reply_cb cb, void *ud, int argc, const char **argv,
                    const size_t *argvlen);

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct ag_redis *r = ac->data;
    char db[16];
    if (r->ac != ac)
        return;
    if (status != REDIS_OK) {
        r->ac = NULL; /* hiredis frees it after this callback */
        wait_retry(r, ac->errstr[0] ? ac->errstr : "connect failed");
        return;
    }
    r->st = R_HELLO;
    if (r->url.password[0]) {
        const char *argv[3] = {"AUTH", r->url.user[0] ? r->url.user : r->url.password,
                               r->url.password};
        send_raw(r, on_hello, NULL, r->url.user[0] ? 3 : 2, argv, NULL);
    }
    snprintf(db, sizeof(db), "%d", r->url.db);
    const char *sel[2] = {"SELECT", db};
    send_raw(r, on_hello, r, 2, sel, NULL);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct ag_redis *r = req->data;
    char ip[64] = "";
    r->gai_busy = false;
    r->handles--;
    if (r->st == R_CLOSING) {
        uv_freeaddrinfo(res);
        maybe_free(r);
        return;
    }
    if (r->st != R_RESOLVING) { /* reset meanwhile; the next attempt starts on its own */
        uv_freeaddrinfo(res);
        return;
    }
    if (status == 0 && res) {
        if (res->ai_family == AF_INET6)
            uv_ip6_name((const struct sockaddr_in6 *)res->ai_addr, ip, sizeof(ip));
        else
            uv_ip4_name((const struct sockaddr_in *)res->ai_addr, ip, sizeof(ip));
    }
    uv_freeaddrinfo(res);
    if (!ip[0]) {
        char why[300];
        snprintf(why, sizeof(why), "cannot resolve %s: %s", r->url.host,
                 status ? uv_strerror(status) : "no address");
        wait_retry(r, why);
        return;
    }
    redisAsyncContext *ac = redisAsyncConnect(ip, r->url.port);
    if (!ac || ac->err) {
        char why[300];
        snprintf(why, sizeof(why), "connect: %s", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        wait_retry(r, why);
        return;
    }
    if (rp_attach(r, ac) != 0) {
        redisAsyncFree(ac);
        wait_retry(r, "cannot watch the socket");
        return;
    }
    ac->data = r;
    r->ac = ac;
    r->st = R_CONNECTING;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

static void start(struct ag_redis *r)
{
    struct addrinfo hints;
    if (r->gai_busy) { /* the last lookup has not come back yet */
        uv_timer_start(&r->timer, on_backoff, BACKOFF_MIN_MS, 0);
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    r->st = R_RESOLVING;
    uv_timer_start(&r->timer, on_backoff, CONNECT_MAX_MS, 0); /* the attempt's deadline */
    char port[8];
    snprintf(port, sizeof(port), "%d", r->url.port);
    r->gai.data = r;
    if (uv_getaddrinfo(r->loop, &r->gai, on_resolved, r->url.host, port, &hints) != 0) {
        wait_retry(r, "cannot start the name lookup");
        return;
    }
    r->gai_busy = true;
    r->handles++;
}

static void on_pong(struct ag_redis *r, struct redisReply *reply, void *ud)
{
    if (reply)
        r->ping_sent_ms = 0;
}

static void on_ping_timer(uv_timer_t *t)
{
    struct ag_redis *r = t->data;
    if (r->st != R_UP)
        return;
    uint64_t now = uv_now(r->loop);
    if (r->ping_sent_ms) {
        if (now - r->ping_sent_ms > PING_MAX_MS)
            ag_redis_reset(r, "no answer to PING within 3 s");
        return;
    }
    const char *argv[1] = {"PING"};
    if (send_raw(r, on_pong, NULL, 1, argv, NULL) == 0)
        r->ping_sent_ms = now ? now : 1;
}

struct ag_redis *ag_redis_new(uv_loop_t *loop, const struct ag_state_url *url, const char *name,
                              bool heartbeat, ag_redis_state_cb on_state, void *ud)
{
    struct ag_redis *r = AG_NEW(struct ag_redis);
    r->loop = loop;
    r->url = *url;
    ag_strlcpy(r->name, name, sizeof(r->name));
    r->heartbeat = heartbeat;
    r->on_state = on_state;
    r->ud = ud;
    r->backoff_ms = BACKOFF_MIN_MS;
    r->reported = -1;
    uv_timer_init(loop, &r->timer);
    uv_timer_init(loop, &r->ping_timer);
    r->timer.data = r->ping_timer.data = r;
    r->ping_timer.timer_cb = on_ping_timer; /* started with this callback once UP */
    r->handles = 2;
    start(r);
    return r;
}

bool ag_redis_up(const struct ag_redis *r)
{
    return r && r->st == R_UP;
}

struct cmd {
    struct ag_redis *r;
    ag_redis_reply_cb cb;
    void *ud;
    bool sub; /* SUBSCRIBE: runs for every message */
};

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct cmd *c = privdata;
    struct ag_redis *r = c->r;
    if (!c->sub || !reply)
        r->pending--;
    if (c->cb)
        c->cb(r, reply, c->ud);
    if (!c->sub || !reply)
        free(c);
}

static int send_raw(struct ag_redis *r, ag_redis_reply_cb cb, void *ud, int argc, const char **argv,
                    const size_t *argvlen)
{
    if (!r->ac)
        return AG_ECLOSED;
    if (r->pending >= AG_REDIS_MAX_PENDING)
        return AG_ETOOBIG;
    struct cmd *c = AG_NEW(struct cmd);
    c->r = r;
    c->cb = cb;
    c->ud = ud;
    c->sub = argc > 0 && strcasecmp(argv[0], "SUBSCRIBE") == 0;
    if (redisAsyncCommandArgv(r->ac, on_reply, c, argc, argv, argvlen) != REDIS_OK) {
        free(c);
        return AG_ECLOSED;
    }
    r->pending++;
    return 0;
}

void ag_redis_flush(struct ag_redis *r)
{
    int done = 0;
    /* the context's own write: on an error it only sets c->err, which the next poll callback
     * turns into the disconnect (hiredis's async write would free the context here) */
    if (r && r->ac && r->st == R_UP)
        (void)redisBufferWrite(&r->ac->c, &done);
}

int ag_redis_command(struct ag_redis *r, ag_redis_reply_cb cb, void *ud, int argc,
                     const char **argv, const size_t *argvlen)
{
    if (!r || r->st != R_UP)
        return AG_ECLOSED;
    return send_raw(r, cb, ud, argc, argv, argvlen);
}

void ag_redis_reset(struct ag_redis *r, const char *why)
{
    char msg[300];
    if (r->st == R_CLOSING || r->st == R_WAITING)
        return;
    ag_strlcpy(msg, why, sizeof(msg));
    bool resolving = r->st == R_RESOLVING;
    r->st = R_WAITING; /* replies failed by the free below see a connection going away */
    if (r->ac) {
        redisAsyncContext *ac = r->ac;
        r->ac = NULL;       /* on_disconnect (if hiredis calls it) sees a stranger */
        redisAsyncFree(ac); /* pending callbacks run with NULL */
    }
    /* the lookup's callback comes later and finds WAITING: it does not connect then */
    if (resolving && r->gai_busy)
        uv_cancel((uv_req_t *)&r->gai);
    wait_retry(r, msg);
}

static void timer_closed(uv_handle_t *h)
{
    struct ag_redis *r = h->data;
    r->handles--;
    maybe_free(r);
}

static void maybe_free(struct ag_redis *r)
{
    if (r->st != R_CLOSING || r->handles > 0)
        return;
    void (*done)(void *) = r->done;
    void *ud = r->done_ud;
    free(r);
    if (done)
        done(ud);
}

void ag_redis_close(struct ag_redis *r, void (*done)(void *ud), void *ud)
{
    if (!r)
        return;
    r->st = R_CLOSING;
    r->done = done;
    r->done_ud = ud;
    r->handles++; /* held while closing below */
    if (r->ac) {
        redisAsyncContext *ac = r->ac;
        r->ac = NULL;
        redisAsyncFree(ac);
    }
    if (r->gai_busy)
        uv_cancel((uv_req_t *)&r->gai);
    uv_close((uv_handle_t *)&r->timer, timer_closed);
    uv_close((uv_handle_t *)&r->ping_timer, timer_closed);
    r->handles--;
    maybe_free(r);
}
