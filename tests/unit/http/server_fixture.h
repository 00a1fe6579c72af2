/* tests/unit/http/server_fixture.h: an HTTP server on its own loop in a thread, with a small route
 * table (health, echo, slow and streamed answers, AI and admin routes), for tests that talk to it
 * only through loopback sockets. Included by the http server test files. */
#ifndef AG_TEST_SERVER_FIXTURE_H
#define AG_TEST_SERVER_FIXTURE_H

#include "ag_test.h"

#include "core/buf.h"
#include "core/mem.h"
#include "http/auth.h"
#include "http/cors.h"
#include "http/guard.h"
#include "http/router.h"
#include "http/server.h"
#include "http/ws.h"
#include "loopwait.h"
#include "rawhttp.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#pragma GCC diagnostic ignored "-Wunused-function"

struct fixture {
    uv_loop_t loop;
    uv_thread_t thread;
    uv_sem_t ready;
    uv_async_t stop;
    struct ag_router *router;
    struct ag_http_server *srv;
    struct ag_cors *cors;
    struct ag_host_policy *hosts;
    const char *cors_origin; /* the one CORS origin ("*" when NULL) */
    bool loopback_hosts;     /* apply the loopback Host rule (with "app.internal" listed) */
    struct ag_auth_policy policy;
    struct ag_http_limits lim;
    int port;
    uint64_t grace_ms;
    atomic_int aborted;
    atomic_int completed;
    /* fx_counts: the server's counters, read on its own thread and handed over under probe_mu */
    uv_async_t probe;
    uv_mutex_t probe_mu;
    uv_cond_t probe_cv;
    bool probed;
    size_t connections, active;
    uint64_t body_copied;
};

/* ------------------------------------------------------------------ handlers */

static void h_health(struct ag_http_req *req, void *ud)
{
    static const char body[] = "{\"status\":\"ok\"}";
    ag_http_respond_json(req, 200, body, sizeof(body) - 1);
}

static void h_echo(struct ag_http_req *req, void *ud)
{
    char n[32];
    snprintf(n, sizeof(n), "%zu", req->body.len);
    ag_http_add_header(req, "x-body-len", ag_str_c(n));
    ag_http_respond(req, 200, "text/plain", req->body.data ? req->body.data : "", req->body.len);
}

struct timed {
    uv_timer_t t;
    struct ag_http_req *req;
    struct fixture *fx;
    int left;
    int ms;
};

static void timed_closed(uv_handle_t *h)
{
    free(h->data);
}

static void timed_abort(struct ag_http_req *req, void *ud)
{
    struct timed *t = ud;
    atomic_fetch_add(&t->fx->aborted, 1);
    uv_timer_stop(&t->t);
    uv_close((uv_handle_t *)&t->t, timed_closed);
}

static void slow_fire(uv_timer_t *tm)
{
    struct timed *t = tm->data;
    char body[64];
    int n = snprintf(body, sizeof(body), "slow %d", t->ms);
    t->req->on_abort = NULL;
    ag_http_respond(t->req, 200, "text/plain", body, (size_t)n);
    atomic_fetch_add(&t->fx->completed, 1);
    uv_close((uv_handle_t *)&t->t, timed_closed);
}

static int query_int(struct ag_http_req *req, const char *name, int def)
{
    struct ag_str v = ag_http_req_query(req, name);
    uint64_t x;
    return v.p && ag_str_to_u64(v, 100000, &x) == 0 ? (int)x : def;
}

static void h_slow(struct ag_http_req *req, void *ud)
{
    struct fixture *fx = ud;
    struct timed *t = AG_NEW(struct timed);
    t->fx = fx;
    t->req = req;
    t->ms = query_int(req, "ms", 50);
    t->t.data = t;
    uv_timer_init(&fx->loop, &t->t);
    req->on_abort = timed_abort;
    req->cb_ud = t;
    uv_timer_start(&t->t, slow_fire, (uint64_t)t->ms, 0);
}

static void stream_fire(uv_timer_t *tm)
{
    struct timed *t = tm->data;
    char line[32];
    int n = snprintf(line, sizeof(line), "chunk %d\n", 5 - t->left);
    ag_http_stream_write(t->req, line, (size_t)n);
    if (--t->left == 0) {
        t->req->on_abort = NULL;
        ag_http_stream_end(t->req);
        atomic_fetch_add(&t->fx->completed, 1);
        uv_timer_stop(&t->t);
        uv_close((uv_handle_t *)&t->t, timed_closed);
    }
}

static void h_stream(struct ag_http_req *req, void *ud)
{
    struct fixture *fx = ud;
    struct timed *t = AG_NEW(struct timed);
    t->fx = fx;
    t->req = req;
    t->left = 5;
    t->ms = query_int(req, "ms", 20);
    t->t.data = t;
    uv_timer_init(&fx->loop, &t->t);
    req->on_abort = timed_abort;
    req->cb_ud = t;
    ag_http_stream_begin(req, 200, "text/event-stream");
    uv_timer_start(&t->t, stream_fire, (uint64_t)t->ms, (uint64_t)t->ms);
}

static void h_ok(struct ag_http_req *req, void *ud)
{
    ag_http_respond_json(req, 200, "{\"ok\":true}", 11);
}

static void h_param(struct ag_http_req *req, void *ud)
{
    struct ag_str model, action;
    char out[256];
    ag_router_split_action(req->params[0], &model, &action);
    int n =
        snprintf(out, sizeof(out), "%.*s|%.*s", (int)model.len, model.p, (int)action.len, action.p);
    ag_http_respond(req, 200, "text/plain", out, (size_t)n);
}

/* A WebSocket route (its messages): "stream" answers with server-sent events (two data events
 * and a keep-alive comment between them), "fail" with an error, "slow" after 300 ms, anything
 * else is echoed. Over plain HTTP the route answers 426. */
static void h_socket(struct ag_http_req *req, void *ud)
{
    struct ag_str m = ag_buf_str(&req->body);
    struct ag_buf b;
    ag_buf_init(&b, 0);
    if (!ag_http_req_is_websocket(req)) {
        ag_errfmt_openai.write(&b, 426, "upgrade_required", "WebSocket only");
        ag_http_respond_json(req, 426, b.data, b.len);
        ag_buf_dispose(&b);
        return;
    }
    if (ag_str_eq_c(m, "stream")) {
        static const char ev[] = "event: one\ndata: {\"n\":1}\n\n: ping\n\nevent: two\ndata: "
                                 "{\"n\":2}\n\n";
        ag_http_stream_begin(req, 200, "text/event-stream");
        ag_http_stream_write(req, ev, 20); /* an event split across writes */
        ag_http_stream_write(req, ev + 20, sizeof(ev) - 21);
        ag_http_stream_end(req);
    } else if (ag_str_eq_c(m, "fail")) {
        ag_errfmt_openai.write(&b, 400, "invalid_request_error", "failed");
        ag_http_respond_json(req, 400, b.data, b.len);
    } else if (ag_str_eq_c(m, "slow")) {
        h_slow(req, ud);
    } else {
        ag_http_respond(req, 200, "application/json", m.p ? m.p : "", m.len);
    }
    ag_buf_dispose(&b);
}

/* ------------------------------------------------------------------ fixture */

static void on_stop_closed(uv_handle_t *h)
{
}

static void shutdown_done(void *ud)
{
    struct fixture *fx = ud;
    uv_close((uv_handle_t *)&fx->stop, on_stop_closed);
    uv_close((uv_handle_t *)&fx->probe, on_stop_closed);
}

static void on_probe(uv_async_t *a)
{
    struct fixture *fx = a->data;
    uv_mutex_lock(&fx->probe_mu);
    fx->connections = ag_http_server_connections(fx->srv);
    fx->active = ag_http_server_active_requests(fx->srv);
    fx->body_copied = ag_http_server_body_copied(fx->srv);
    fx->probed = true;
    uv_cond_signal(&fx->probe_cv);
    uv_mutex_unlock(&fx->probe_mu);
}

static void on_stop(uv_async_t *a)
{
    struct fixture *fx = a->data;
    ag_http_server_shutdown(fx->srv, fx->grace_ms, shutdown_done, fx);
}

static void server_thread(void *arg)
{
    struct fixture *fx = arg;
    uv_loop_init(&fx->loop);
    uv_async_init(&fx->loop, &fx->stop, on_stop);
    fx->stop.data = fx;
    uv_async_init(&fx->loop, &fx->probe, on_probe);
    fx->probe.data = fx;
    fx->router = ag_router_new();
    const struct ag_route routes[] = {
        {"GET", "/healthz", h_health, fx, AG_ACCESS_HEALTH, &ag_errfmt_plain},
        {"POST", "/echo", h_echo, fx, AG_ACCESS_PUBLIC, &ag_errfmt_plain},
        {"GET", "/slow", h_slow, fx, AG_ACCESS_PUBLIC, &ag_errfmt_plain},
        {"GET", "/stream", h_stream, fx, AG_ACCESS_PUBLIC, &ag_errfmt_plain},
        {"POST", "/v1/chat/completions", h_ok, fx, AG_ACCESS_PROXY, &ag_errfmt_openai},
        {"POST", "/v1/messages", h_ok, fx, AG_ACCESS_PROXY, &ag_errfmt_anthropic},
        {"POST", "/v1beta/models/:model", h_param, fx, AG_ACCESS_PROXY, &ag_errfmt_gemini},
        {"GET", "/api/status", h_ok, fx, AG_ACCESS_ADMIN, &ag_errfmt_plain},
        {"POST", "/upload", h_echo, fx, AG_ACCESS_PROXY, &ag_errfmt_openai, true},
        {"GET", "/socket", h_socket, fx, AG_ACCESS_PROXY, &ag_errfmt_openai, .websocket = true},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        ag_router_add(fx->router, &routes[i]);
    fx->srv = ag_http_server_new(&fx->loop, fx->router, &fx->lim);
    const char *origins[] = {fx->cors_origin ? fx->cors_origin : "*"};
    fx->cors = ag_cors_new(origins, 1);
    ag_http_server_set_cors(fx->srv, fx->cors);
    if (fx->loopback_hosts) {
        const char *extra[] = {"app.internal"};
        fx->hosts = ag_host_policy_new(true, extra, 1);
        ag_http_server_set_hosts(fx->srv, fx->hosts);
    }
    ag_http_server_set_auth(fx->srv, &fx->policy);
    int rc = ag_http_server_listen(fx->srv, "127.0.0.1", 0);
    fx->port = rc == 0 ? ag_http_server_port(fx->srv) : -1;
    uv_sem_post(&fx->ready);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    ag_http_server_free(fx->srv);
    ag_router_free(fx->router);
    ag_cors_free(fx->cors);
    ag_host_policy_free(fx->hosts);
    uv_loop_close(&fx->loop);
}

static struct fixture *fx_start_with(const struct ag_http_limits *lim,
                                     const struct ag_auth_policy *pol, bool loopback_hosts,
                                     const char *cors_origin)
{
    struct fixture *fx = AG_NEW(struct fixture);
    if (lim)
        fx->lim = *lim;
    if (pol)
        fx->policy = *pol;
    fx->loopback_hosts = loopback_hosts;
    fx->cors_origin = cors_origin;
    fx->grace_ms = 2000;
    uv_mutex_init(&fx->probe_mu);
    uv_cond_init(&fx->probe_cv);
    uv_sem_init(&fx->ready, 0);
    uv_thread_create(&fx->thread, server_thread, fx);
    uv_sem_wait(&fx->ready);
    assert_true(fx->port > 0);
    return fx;
}

static struct fixture *fx_start(const struct ag_http_limits *lim, const struct ag_auth_policy *pol)
{
    return fx_start_with(lim, pol, false, NULL);
}

static void fx_stop(struct fixture *fx)
{
    uv_async_send(&fx->stop);
    uv_thread_join(&fx->thread);
    uv_sem_destroy(&fx->ready);
    uv_cond_destroy(&fx->probe_cv);
    uv_mutex_destroy(&fx->probe_mu);
    free(fx);
}

/* The server's open connections and requests in progress, read on the server's thread (it is
 * not thread-safe); false when it did not answer within 5 s. */
static bool fx_counts(struct fixture *fx, size_t *connections, size_t *active)
{
    bool ok = true;
    uv_mutex_lock(&fx->probe_mu);
    fx->probed = false;
    uv_async_send(&fx->probe);
    while (ok && !fx->probed)
        ok = uv_cond_timedwait(&fx->probe_cv, &fx->probe_mu, 5000000000ull) == 0;
    *connections = fx->connections;
    *active = fx->active;
    uv_mutex_unlock(&fx->probe_mu);
    return ok;
}

/* Request-body bytes the server has copied out of its read buffers so far (read on its thread);
 * UINT64_MAX when it did not answer within 5 s. */
static uint64_t fx_body_copied(struct fixture *fx)
{
    size_t c, a;
    uint64_t n;
    bool ok = fx_counts(fx, &c, &a);
    uv_mutex_lock(&fx->probe_mu);
    n = fx->body_copied;
    uv_mutex_unlock(&fx->probe_mu);
    return ok ? n : UINT64_MAX;
}

struct fx_want {
    struct fixture *fx;
    long connections, active; /* -1: any */
};

static bool fx_counts_are(void *ud)
{
    struct fx_want *w = ud;
    size_t c, a;
    return fx_counts(w->fx, &c, &a) && (w->connections < 0 || (size_t)w->connections == c) &&
           (w->active < 0 || (size_t)w->active == a);
}

/* Waits (up to 5 s) until the server has this many connections and requests in progress (-1:
 * either); false when it never did. */
static bool fx_wait_counts(struct fixture *fx, long connections, long active)
{
    struct fx_want w = {fx, connections, active};
    return ag_test_wait_for(fx_counts_are, &w, 5000);
}

struct fx_count_want {
    atomic_int *counter;
    int want;
};

static bool count_reached(void *ud)
{
    struct fx_count_want *w = ud;
    return atomic_load(w->counter) >= w->want;
}

/* Waits (up to timeout_ms) until *counter reaches want; returns whether it did. */
static bool fx_wait_atomic(atomic_int *counter, int want, int timeout_ms)
{
    struct fx_count_want w = {counter, want};
    return ag_test_wait_for(count_reached, &w, timeout_ms);
}

static int setup(void **state)
{
    *state = fx_start(NULL, NULL);
    return 0;
}

static int teardown(void **state)
{
    fx_stop(*state);
    return 0;
}

#endif
