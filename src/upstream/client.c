/* upstream/client.c: libcurl multi on the libuv loop (see client.h for the contract); one
 * transfer's life is in transfer.c.
 *
 * Rules this file lives by (libuv + curl): no curl_multi_* call from inside a curl callback, so
 * operations requested from on_head/on_data (cancel, pause, resume, start) are queued and run right
 * after libcurl returns; on CURL_POLL_REMOVE the uv_poll is stopped and closed; at shutdown the
 * easy handles are removed and curl_multi_cleanup() closes the remaining sockets through the same
 * REMOVE path. Our own per-request timer (transfer.c) enforces the first-byte, idle and total
 * timeouts; curl enforces the connect timeout (its timer is driven by ours, so it is the loop's
 * timer too). */
#include "upstream/client.h"
#include "upstream/client_internal.h"

#include "upstream/curl_api.h"
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/mem.h"

#define MAX_DEFERRED_ROUNDS 64

struct sock {
    uv_poll_t poll;
    curl_socket_t fd;
    int events; /* UV_READABLE/UV_WRITABLE the poll handle is started with (0 = stopped) */
    struct ag_upstream_client *c;
};

static void drive(struct ag_upstream_client *c, curl_socket_t s, int flags);

/* ---- handle bookkeeping ---- */

void ag_upstream_client_handle_closed(struct ag_upstream_client *c)
{
    assert(c->open_handles > 0);
    if (--c->open_handles == 0 && c->closing) {
        void (*done)(void *) = c->close_done;
        void *ud = c->close_ud;
        free(c->ca_file);
        free(c);
        if (done)
            done(ud);
    }
}

static void sock_closed(uv_handle_t *h)
{
    struct sock *k = h->data;
    struct ag_upstream_client *c = k->c;
    free(k);
    ag_upstream_client_handle_closed(c);
}

static void client_timer_closed(uv_handle_t *h)
{
    ag_upstream_client_handle_closed(h->data);
}

/* ---- libcurl's socket and timer callbacks ---- */

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sock *k = h->data;
    int flags = 0;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    drive(k->c, k->fd, flags);
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *sockp)
{
    struct ag_upstream_client *c = ud;
    struct sock *k = sockp;
    int events = 0;
    (void)e;

    if (what == CURL_POLL_REMOVE) {
        if (k) {
            /* uv_close stops the poll itself (one EPOLL_CTL_DEL); a uv_poll_stop before it
             * would issue a second DEL that fails with ENOENT. */
            if (!c->closing)
                curl_multi_assign(c->multi, s, NULL);
            uv_close((uv_handle_t *)&k->poll, sock_closed);
        }
        return 0;
    }
    if (!k) {
        k = AG_NEW(struct sock);
        k->fd = s;
        k->c = c;
        if (uv_poll_init_socket(c->loop, &k->poll, s) != 0) {
            free(k);
            return -1;
        }
        k->poll.data = k;
        c->open_handles++;
        curl_multi_assign(c->multi, s, k);
    }
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    /* libuv re-registers the descriptor on every uv_poll_start (an EPOLL_CTL_DEL at once, an ADD
     * on the next loop turn), and curl repeats unchanged wishes: only act on a change. */
    if (events != k->events) {
        k->events = events;
        uv_poll_start(&k->poll, events, on_poll);
    }
    return 0;
}

static void on_client_timer(uv_timer_t *t)
{
    drive(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static int on_multi_timer(CURLM *m, long timeout_ms, void *ud)
{
    struct ag_upstream_client *c = ud;
    (void)m;

    if (c->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_client_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- client ---- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int ag_upstream_global_init(void)
{
    pthread_once(&global_once, global_init);
    return global_rc == CURLE_OK ? 0 : AG_EIO;
}

/* libcurl (and with it OpenSSL: its configuration, providers and random generators, megabytes
 * of the process's memory) is initialised by the first transfer, not at start: a gateway whose
 * accounts need no refresh yet stays small until it is first used. */
static int ensure_multi(struct ag_upstream_client *c)
{
    if (c->multi)
        return 0;
    if (c->closing)
        return AG_ESTATE;
    if (ag_upstream_global_init() != 0)
        return AG_EIO;
    c->multi = curl_multi_init();
    if (!c->multi)
        return AG_ENOMEM;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_multi_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, c->max_idle);
    if (c->opts.max_host_connections > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, c->opts.max_host_connections);
    if (c->opts.max_total_connections > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, c->opts.max_total_connections);
    return 0;
}

struct ag_upstream_client *ag_upstream_client_new(uv_loop_t *loop,
                                                  const struct ag_upstream_client_opts *opts)
{
    struct ag_upstream_client *c = AG_NEW(struct ag_upstream_client);
    c->loop = loop;
    if (opts)
        c->opts = *opts;
    c->ca_file = ag_strdup(c->opts.ca_file);
    c->opts.ca_file = c->ca_file;
    c->max_idle = MAX_IDLE_CONNS_MIN;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 1;
    return c;
}

size_t ag_upstream_client_active(const struct ag_upstream_client *c)
{
    return c->active;
}

/* ---- the client's lists ---- */

void ag_upstream_client_link(struct ag_upstream_client *c, struct ag_upstream_req *r)
{
    r->next = c->all;
    if (c->all)
        c->all->prev = r;
    c->all = r;
    c->active++;
    /* Keep room in the connection cache for every transfer of the busiest moment so far. Not from
     * inside a curl callback; the next start outside one catches up. */
    if (!c->in_curl && (long)c->active * 2 > c->max_idle && c->max_idle < MAX_IDLE_CONNS_MAX) {
        c->max_idle =
            (long)c->active * 2 < MAX_IDLE_CONNS_MAX ? (long)c->active * 2 : MAX_IDLE_CONNS_MAX;
        if (c->multi)
            curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, c->max_idle);
    }
}

void ag_upstream_client_unlink(struct ag_upstream_req *r)
{
    struct ag_upstream_client *c = r->c;

    if (r->prev)
        r->prev->next = r->next;
    else if (c->all == r)
        c->all = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    if (r->in_pending) {
        struct ag_upstream_req **pp = &c->pending;
        while (*pp && *pp != r)
            pp = &(*pp)->next_pending;
        if (*pp)
            *pp = r->next_pending;
        r->in_pending = false;
    }
    c->active--;
}

void ag_upstream_client_run_pending(struct ag_upstream_client *c)
{
    for (int round = 0; c->pending && round < MAX_DEFERRED_ROUNDS * 1024; round++) {
        struct ag_upstream_req *r = c->pending;
        unsigned ops = r->ops;

        c->pending = r->next_pending;
        r->in_pending = false;
        r->ops = 0;
        if ((ops & OP_CANCEL) || r->canceled) {
            ag_upstream_req_finish(r, AG_ECANCELED, AG_UPSTREAM_FAIL_CANCELED, NULL);
            continue;
        }
        if (r->native) {
            if (ops & OP_START)
                ag_h1_begin(r);
            if ((ops & OP_RESUME) && !r->paused)
                ag_h1_resume(r);
            continue;
        }
        if (ops & OP_START) {
            CURLMcode mc = curl_multi_add_handle(c->multi, r->easy);
            if (mc != CURLM_OK) {
                ag_upstream_req_finish(r, AG_EIO, AG_UPSTREAM_FAIL_OTHER, curl_multi_strerror(mc));
                continue;
            }
            r->added = true;
        }
        if ((ops & OP_PAUSE) && r->paused && !r->curl_paused) {
            curl_easy_pause(r->easy, CURLPAUSE_RECV);
            r->curl_paused = true;
        }
        if ((ops & OP_RESUME) && !r->paused && r->curl_paused) {
            r->curl_paused = false;
            c->in_curl++;
            curl_easy_pause(r->easy, CURLPAUSE_CONT);
            c->in_curl--;
        }
    }
}

void ag_upstream_client_defer(struct ag_upstream_req *r, unsigned op)
{
    r->ops |= op;
    if (!r->in_pending) {
        struct ag_upstream_req **pp = &r->c->pending;
        while (*pp)
            pp = &(*pp)->next_pending;
        *pp = r;
        r->next_pending = NULL;
        r->in_pending = true;
    }
}

/* ---- driving libcurl ---- */

static void read_done(struct ag_upstream_client *c)
{
    CURLMsg *msg;
    int left;

    while (c->multi && (msg = curl_multi_info_read(c->multi, &left))) {
        struct ag_upstream_req *r = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r)
            ag_upstream_req_transfer_done(r, msg->data.result);
    }
}

static void drive(struct ag_upstream_client *c, curl_socket_t s, int flags)
{
    int running;

    if (c->closing)
        return;
    c->in_curl++;
    curl_multi_socket_action(c->multi, s, flags, &running);
    c->in_curl--;
    read_done(c);
    ag_upstream_client_run_pending(c);
    read_done(c);
}

CURL *ag_upstream_client_get_easy(struct ag_upstream_client *c)
{
    if (ensure_multi(c) != 0)
        return NULL;
    return c->nspare ? c->spare[--c->nspare] : curl_easy_init();
}

void ag_upstream_client_put_easy(struct ag_upstream_client *c, CURL *e)
{
    if (c->closing || c->nspare == SPARE_EASY) {
        curl_easy_cleanup(e);
        return;
    }
    curl_easy_reset(e);
    c->spare[c->nspare++] = e;
}

void ag_upstream_client_close(struct ag_upstream_client *c, void (*done)(void *ud), void *ud)
{
    c->close_done = done;
    c->close_ud = ud;
    assert(c->in_curl == 0);
    c->closing = true; /* from here on, no new request starts and no socket is driven */
    while (c->all)
        ag_upstream_req_finish(c->all, AG_ECANCELED, AG_UPSTREAM_FAIL_CANCELED, "client closed");
    c->pending = NULL;
    ag_h1_client_close(c);
    while (c->nspare)
        curl_easy_cleanup(c->spare[--c->nspare]);
    if (c->multi)
        curl_multi_cleanup(c->multi); /* closes pooled sockets via CURL_POLL_REMOVE */
    c->multi = NULL;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, client_timer_closed);
}
