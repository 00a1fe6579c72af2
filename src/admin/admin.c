/* admin/admin.c: the admin layer's object and its wiring: the route table, the proxy gate and the
 * record hook (monitor + metrics + live events). What the api_*.c files share is in answer.c
 * (JSON answers), request.c (reading requests) and jobs.c (worker jobs); the admin check and login
 * sessions are api_auth.c, /metrics is api_metrics.c. */
#include "admin/admin.h"

#include "admin/admin_internal.h"
#include "pool/login.h"
#include "admin/metrics.h"
#include "admin/monitor.h"
#include "admin/session.h"
#include "config/config.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rand.h"
#include "core/time.h"
#include "core/url.h"
#include "http/auth.h"
#include "http/errfmt.h"
#include "http/server.h"
#include "pool/pool.h"
#include "proto/json.h"
#include "relay/record.h"
#include "relay/relay.h"
#include "store/monitor_query.h"
#include "store/store.h"
#include "store/writer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PING_MS 15000

int64_t adm_now_ms(void)
{
    return ag_wall_ms();
}

/* ---- routes ---- */

struct ag_admin *adm_of(void *ud)
{
    return ((struct adm_route *)ud)->a;
}

/* ---- the record hook and the gate ---- */

static void on_entry(const struct ag_monitor_entry *e, void *ud)
{
    struct ag_admin *a = ud;
    if (!a->subs)
        return;
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    adm_write_entry(&b, &e->rec, e->request_id, false);
    adm_events_publish(a, "request", &b);
    ag_buf_dispose(&b);
}

void ag_admin_on_record(const struct ag_relay_record *rec, void *ud)
{
    struct ag_admin *a = ud;
    ag_monitor_record(a->monitor, rec);
    ag_metrics_observe(a->metrics, rec);
}

bool ag_admin_gate(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = ud;
    if (a->proxy_running || !req->route || req->route->access != AG_ACCESS_PROXY)
        return true;
    const struct ag_errfmt *f = req->route->errfmt ? req->route->errfmt : &ag_errfmt_plain;
    struct ag_buf b;
    ag_buf_init(&b, 4096);
    f->write(&b, 503, "overloaded_error",
             "the proxy service is stopped; an administrator can start it with POST "
             "/api/proxy/start");
    ag_http_respond(req, 503, f->content_type, b.data, b.len);
    ag_buf_dispose(&b);
    return false;
}

/* ---- lifecycle ---- */

static const struct adm_route_def core_routes[] = {
    {"GET", "/metrics", adm_metrics_handler, true},
    {NULL, NULL, NULL, false},
};

static int add_table(struct ag_admin *a, struct ag_router *router, const struct adm_route_def *defs)
{
    for (size_t i = 0; defs[i].method; i++) {
        if (a->nroutes == ADM_MAX_ROUTES)
            return AG_ETOOBIG;
        struct adm_route *rt = &a->routes[a->nroutes++];
        rt->a = a;
        rt->handler = defs[i].handler;
        rt->open = defs[i].open;
        /* The server checks admin routes when their headers arrive, before any body is read:
         * the admin secret, or a session token through adm_session_check. Rows marked open (login,
         * /metrics) check for themselves. */
        struct ag_route r = {defs[i].method,
                             defs[i].pattern,
                             defs[i].handler,
                             rt,
                             defs[i].open ? AG_ACCESS_PUBLIC : AG_ACCESS_ADMIN,
                             &ag_errfmt_plain};
        int rc = ag_router_add(router, &r);
        if (rc)
            return rc;
    }
    return 0;
}

int ag_admin_add_routes(struct ag_admin *a, struct ag_router *router)
{
    const struct adm_route_def *tables[] = {
        adm_auth_routes,   core_routes,     adm_accounts_routes, adm_config_routes,
        adm_proxy_routes,  adm_logs_routes, adm_stats_routes,    adm_oauth_routes,
        adm_warmup_routes, adm_keys_routes, adm_alerts_routes,   adm_security_routes,
        adm_clients_routes};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        int rc = add_table(a, router, tables[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static void on_ping(uv_timer_t *t)
{
    struct ag_admin *a = t->data;
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_buf_printf(&b, "{\"ts_ms\":%lld}", (long long)adm_now_ms());
    adm_events_publish(a, "ping", &b);
    ag_buf_dispose(&b);
}

struct ag_admin *ag_admin_new(const struct ag_admin_deps *d)
{
    struct ag_admin *a = AG_NEW(struct ag_admin);
    a->loop = d->loop;
    a->cfg = ag_config_ref(d->cfg);
    a->auth = d->auth;
    a->store = d->store;
    a->writer = d->writer;
    a->pool = d->pool;
    a->client = d->client;
    a->relay = d->relay;
    a->server = d->server;
    a->apply_config = d->apply_config;
    a->apply_ud = d->apply_ud;
    a->data_dir = ag_strdup(d->cfg->data_dir);
    a->postgres_url = ag_strdup(d->cfg->store.postgres_url ? d->cfg->store.postgres_url : "");
    a->proxy_running = true;
    pthread_mutex_init(&a->db_mu, NULL);
    int64_t max_id = 0;
    if (a->store && ag_store_log_max_id(a->store, &max_id)) {
        ag_log_error("admin: cannot read the request log");
        ag_admin_free(a);
        return NULL;
    }
    a->monitor = ag_monitor_new(a->writer, (size_t)d->cfg->monitor.capacity, max_id + 1);
    ag_monitor_set_capture(a->monitor, d->cfg->monitor.capture_bodies,
                           (size_t)d->cfg->monitor.body_cap_bytes);
    ag_monitor_set_listener(a->monitor, on_entry, a);
    a->metrics = ag_metrics_new();
    a->sessions = ag_sessions_new();
    uv_timer_init(a->loop, &a->ping);
    a->ping.data = a;
    uv_unref((uv_handle_t *)&a->ping);
    uv_timer_start(&a->ping, on_ping, PING_MS, PING_MS);
    return a;
}

void ag_admin_attach(struct ag_admin *a, struct ag_relay *relay, struct ag_http_server *server)
{
    a->relay = relay;
    a->server = server;
    ag_http_server_set_admin_check(server, adm_session_check, a);
    adm_sessions_restore(a); /* once the gateway has applied its configuration to auth */
}

void ag_admin_set_config(struct ag_admin *a, struct ag_config *cfg)
{
    bool secret_changed =
        strcmp(a->cfg->auth.admin_password, cfg->auth.admin_password) != 0 ||
        (!cfg->auth.admin_password[0] && strcmp(a->cfg->auth.api_key, cfg->auth.api_key) != 0);
    struct ag_config *old = a->cfg;
    a->cfg = ag_config_ref(cfg);
    ag_config_unref(old);
    ag_monitor_set_capture(a->monitor, cfg->monitor.capture_bodies,
                           (size_t)cfg->monitor.body_cap_bytes);
    if (secret_changed) {
        ag_sessions_clear(a->sessions); /* a changed secret logs everybody out */
        if (a->writer)
            ag_writer_sessions_clear(a->writer);
    }
    adm_events_revalidate(a); /* and ends their event streams */
}

static void ping_closed(uv_handle_t *h)
{
    (void)h;
}

void ag_admin_shutdown(struct ag_admin *a)
{
    if (a->closing)
        return;
    a->closing = true;
    uv_timer_stop(&a->ping);
    uv_close((uv_handle_t *)&a->ping, ping_closed);
    adm_events_close_all(a);
    adm_oauth_cancel_all(a);
    adm_accounts_cancel_all(a);
}

void ag_admin_free(struct ag_admin *a)
{
    if (!a)
        return;
    if (!a->closing && a->monitor) {
        /* Never shut down (failed start): the timer is still open and must be closed first. */
        ag_admin_shutdown(a);
        uv_run(a->loop, UV_RUN_NOWAIT);
    }
    ag_monitor_free(a->monitor);
    ag_metrics_free(a->metrics);
    ag_sessions_free(a->sessions);
    ag_login_free(a->login);
    for (size_t i = 0; i < a->ndb_idle; i++)
        ag_store_free(a->db_idle[i]);
    pthread_mutex_destroy(&a->db_mu);
    ag_config_unref(a->cfg);
    free(a->data_dir);
    free(a->postgres_url);
    free(a);
}
