/* desktop/engine.c: the in-process gateway on its own thread (see engine.h). The GTK side talks to
 * it only through this file: start, a stop request carried by a uv_async handle, and the join. */
#include "desktop/engine.h"

#include "cli/gateway.h"
#include "config/config.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct ag_desk_engine {
    uv_loop_t loop;
    uv_async_t stop;
    uv_thread_t thread;
    struct ag_gateway *gw;
    int port;
    char token[AG_SESSION_TOKEN_SIZE];
    int64_t token_expires_ms;
};

static void stopped(void *ud)
{
    struct ag_desk_engine *e = ud;
    uv_close((uv_handle_t *)&e->stop, NULL);
}

static void on_stop(uv_async_t *h)
{
    struct ag_desk_engine *e = h->data;
    ag_gateway_set_event_cb(e->gw, NULL, NULL);
    ag_gateway_shutdown(e->gw, stopped, e);
}

static void run(void *arg)
{
    struct ag_desk_engine *e = arg;
    uv_run(&e->loop, UV_RUN_DEFAULT);
}

struct ag_desk_engine *ag_desk_engine_start(struct ag_config *cfg, int64_t session_ttl_ms,
                                            ag_desk_event_cb cb, void *ud, struct ag_buf *errmsg)
{
    struct ag_desk_engine *e = AG_NEW(struct ag_desk_engine);
    if (uv_loop_init(&e->loop)) {
        ag_buf_printf(errmsg, "cannot create an event loop");
        free(e);
        return NULL;
    }
    e->gw = ag_gateway_new(&e->loop, cfg, errmsg);
    if (!e->gw)
        goto fail;
    e->port = ag_gateway_port(e->gw);
    /* The loop does not run yet: the session table may be touched from this thread. */
    if (ag_gateway_admin_session(e->gw, session_ttl_ms, e->token, &e->token_expires_ms)) {
        ag_buf_printf(errmsg, "no randomness for the window's session token");
        goto fail_running;
    }
    ag_gateway_set_event_cb(e->gw, cb, ud);
    uv_async_init(&e->loop, &e->stop, on_stop);
    e->stop.data = e;
    if (uv_thread_create(&e->thread, run, e)) {
        ag_buf_printf(errmsg, "cannot start the gateway's thread");
        on_stop(&e->stop);
        uv_run(&e->loop, UV_RUN_DEFAULT);
        goto fail_stopped;
    }
    return e;

fail_running:
    ag_gateway_shutdown(e->gw, NULL, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
fail_stopped:
    ag_gateway_free(e->gw);
fail:
    uv_loop_close(&e->loop);
    free(e);
    return NULL;
}

int ag_desk_engine_port(const struct ag_desk_engine *e)
{
    return e->port;
}

const char *ag_desk_engine_token(const struct ag_desk_engine *e, int64_t *expires_ms)
{
    if (expires_ms)
        *expires_ms = e->token_expires_ms;
    return e->token;
}

void ag_desk_engine_stop(struct ag_desk_engine *e)
{
    if (!e)
        return;
    uv_async_send(&e->stop);
    uv_thread_join(&e->thread);
    ag_gateway_free(e->gw);
    if (uv_loop_close(&e->loop))
        ag_log_warn("desktop: the gateway's loop still had handles after the stop");
    explicit_bzero(e->token, sizeof(e->token));
    free(e);
}
