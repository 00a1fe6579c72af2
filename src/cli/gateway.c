/* cli/gateway.c: builds the router and the server from the configuration and owns them. */
#include "cli/gateway.h"

#include "admin/admin.h"
#include "admin/ui_assets.h"
#include "alerts/alerts.h"
#include "config/schema.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/auth.h"
#include "http/cors.h"
#include "http/guard.h"
#include "http/iprules.h"
#include "http/router.h"
#include "http/server.h"
#include "keys/keys.h"
#include "pool/pool.h"
#include "pool/shared.h"
#include "relay/relay.h"
#include "relay/shared.h"
#include "relay/warmup.h"
#include "route/mapping.h"
#include "state/keyshare.h"
#include "state/state.h"
#include "store/store.h"
#include "store/writer.h"
#include "telemetry/otlp.h"
#include "upstream/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ag_gateway {
    uv_loop_t *loop;
    struct ag_config *cfg;
    struct ag_router *router;
    struct ag_http_server *server;
    struct ag_cors *cors;
    struct ag_host_policy *hosts;
    struct ag_auth_policy auth;
    struct ag_store *store;
    struct ag_writer *writer;
    struct ag_keys *keys; /* user keys and their limits (keys/keys.h) */
    struct ag_upstream_client *client;
    struct ag_pool *pool;
    struct ag_state *state; /* shared with other instances on Redis (state/state.h); NULL = none */
    struct ag_keyshare *keyshare; /* user keys' limits shared the same way (state/keyshare.h) */
    struct ag_mapping *mapping;
    struct ag_relay *relay;
    struct ag_warmup *warmup;     /* scheduled and manual warm-up (relay/warmup.h) */
    struct ag_admin *admin;       /* admin API, monitor, metrics (composition root: may reach up) */
    struct ag_alerts *alerts;     /* webhook alerts; NULL once closed */
    struct ag_otlp *telemetry;    /* span exporter (telemetry/otlp.h); NULL once closed */
    struct ag_ip_rules *ip_rules; /* security.ip_allow / ip_deny, compiled */
    struct ag_ip_refusals *ip_refusals; /* addresses refused lately (admin API) */
    void (*done)(void *);
    void *done_ud;
    void (*event_cb)(int ev, const char *subject, const char *message, void *ud);
    void *event_ud;
};

static void h_health(struct ag_http_req *req, void *ud)
{
    static const char body[] = "{\"status\":\"ok\",\"version\":\"" AIGATE_VERSION "\"}";
    ag_http_respond_json(req, 200, body, sizeof(body) - 1);
}

/* Claude Code posts telemetry to the base URL; it is swallowed, as users expect. */
static void h_silent_ok(struct ag_http_req *req, void *ud)
{
    ag_http_respond(req, 200, NULL, NULL, 0);
}

static int add_routes(struct ag_gateway *g)
{
    const struct ag_route routes[] = {
        {"GET", "/healthz", h_health, g, AG_ACCESS_HEALTH, &ag_errfmt_plain},
        {"GET", "/health", h_health, g, AG_ACCESS_HEALTH, &ag_errfmt_plain},
        {"POST", "/v1/api/event_logging/batch", h_silent_ok, g, AG_ACCESS_PROXY,
         &ag_errfmt_anthropic},
        {"POST", "/v1/api/event_logging", h_silent_ok, g, AG_ACCESS_PROXY, &ag_errfmt_anthropic},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = ag_router_add(g->router, &routes[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static void teardown_sync(struct ag_gateway *g);

/* The relay's records feed the admin layer and, for requests that reached an upstream, the
 * upstream error rate of the alerts: a 5xx answer, or a stream the upstream broke after it began
 * (status 200 with an error class), counts as failed. */
static void on_record(const struct ag_relay_record *rec, void *ud)
{
    struct ag_gateway *g = ud;
    ag_admin_on_record(rec, g->admin);
    if (g->telemetry)
        ag_otlp_record(g->telemetry, rec);
    if (g->alerts && rec->attempts > 0) {
        bool broken = rec->status == 200 && rec->error_class && rec->error_class[0] &&
                      strcmp(rec->error_class, "client_closed") != 0;
        ag_alerts_note_request(g->alerts, rec->status >= 500 || broken);
    }
}

/* A user key crossing 80 % or 100 % of a token budget (keys/keys.h) becomes key.budget. */
static void on_key_budget(void *ctx, const char *key_name, const char *period, int percent)
{
    struct ag_gateway *g = ctx;
    char msg[256];
    snprintf(msg, sizeof(msg), "user key %s has used %d%% of its %s token budget", key_name,
             percent, period);
    ag_alerts_emit(g->alerts, AG_ALERT_KEY_BUDGET, key_name, msg);
}

/* Pool events become alerts. */
static void on_pool_event(enum ag_pool_event ev, const char *subject, const char *message, void *ud)
{
    struct ag_gateway *g = ud;
    const char *name = ev == AG_POOL_EVENT_ACCOUNT_DISABLED   ? AG_ALERT_ACCOUNT_DISABLED
                       : ev == AG_POOL_EVENT_NEEDS_VALIDATION ? AG_ALERT_ACCOUNT_VALIDATION
                       : ev == AG_POOL_EVENT_ALL_LIMITED      ? AG_ALERT_POOL_ALL_LIMITED
                                                              : NULL;
    if (name)
        ag_alerts_emit(g->alerts, name, subject, message);
    if (g->event_cb)
        g->event_cb((int)ev, subject, message, g->event_ud);
}

/* Compiles security.ip_allow / ip_deny for the server; the snapshot was validated, so a failure
 * here keeps the rules in force and says why. */
static void apply_ip_rules(struct ag_gateway *g)
{
    const struct ag_config *c = g->cfg;
    struct ag_buf err;
    ag_buf_init(&err, 1024);
    struct ag_ip_rules *r =
        ag_ip_rules_new((const char *const *)c->security.ip_allow.v, c->security.ip_allow.n,
                        (const char *const *)c->security.ip_deny.v, c->security.ip_deny.n, &err);
    if (r) {
        ag_http_server_set_ip_rules(g->server, r, g->ip_refusals);
        ag_ip_rules_free(g->ip_rules);
        g->ip_rules = r;
    } else {
        ag_log_error("security: address rules not changed: %s", err.data ? err.data : "");
    }
    ag_buf_dispose(&err);
}

static void apply_config(struct ag_gateway *g)
{
    const struct ag_config *c = g->cfg;
    g->auth.mode = c->auth.mode;
    g->auth.allow_lan = c->server.allow_lan_access;
    g->auth.api_key = c->auth.api_key;
    g->auth.admin_password = c->auth.admin_password;
    g->auth.keys = g->keys;
    ag_cors_free(g->cors);
    g->cors = ag_cors_new((const char *const *)c->server.cors_allowed_origins.v,
                          c->server.cors_allowed_origins.n);
    ag_host_policy_free(g->hosts);
    g->hosts = ag_host_policy_new(!c->server.allow_lan_access,
                                  (const char *const *)c->server.allowed_hosts.v,
                                  c->server.allowed_hosts.n);
    ag_http_server_set_auth(g->server, &g->auth);
    ag_http_server_set_cors(g->server, g->cors);
    ag_http_server_set_hosts(g->server, g->hosts);
    ag_http_server_set_auth_failures(g->server, c->admin.login_max_failures);
    apply_ip_rules(g);
}

int ag_gateway_apply_config(struct ag_gateway *g, struct ag_config *cfg, struct ag_buf *restart)
{
    size_t n;
    const struct ag_config_key *keys = ag_config_keys(&n);
    bool mapping_changed = false;
    struct ag_buf va, vb, e;
    ag_buf_init(&va, AG_BUF_CAP_DOC);
    ag_buf_init(&vb, AG_BUF_CAP_DOC);
    ag_buf_init(&e, AG_BUF_CAP_SHORT);
    for (size_t i = 0; i < n; i++) {
        ag_buf_reset(&va);
        ag_buf_reset(&vb);
        ag_config_get(g->cfg, keys[i].name, false, &va, &e);
        ag_config_get(cfg, keys[i].name, false, &vb, &e);
        if (ag_str_eq(ag_buf_str(&va), ag_buf_str(&vb)))
            continue;
        if (strncmp(keys[i].name, "mapping.", 8) == 0)
            mapping_changed = true;
        /* Hot: auth, CORS, mapping, everything the pool and the relay read (new requests take
         * the new snapshot), the JSON nesting limit. The server's limits and timeouts are fixed
         * when it starts. */
        bool server_key = (strncmp(keys[i].name, "server.max_", 11) == 0 &&
                           strcmp(keys[i].name, "server.max_json_depth") != 0) ||
                          strncmp(keys[i].name, "server.header_timeout", 21) == 0 ||
                          strncmp(keys[i].name, "server.idle_timeout", 19) == 0;
        if ((keys[i].flags & AG_CONFIG_RESTART) || server_key)
            ag_buf_printf(restart, "%s\n", keys[i].name);
    }
    ag_buf_dispose(&va);
    ag_buf_dispose(&vb);
    ag_buf_dispose(&e);
    if (mapping_changed) {
        char err[512];
        struct ag_mapping_config mc = {.custom = &cfg->mapping.custom,
                                       .background_model = cfg->mapping.background_model};
        struct ag_mapping *m = ag_mapping_new(&mc, err, sizeof(err));
        if (!m)
            return AG_EINVAL;
        ag_mapping_swap(g->mapping, m); /* the relay borrows g->mapping: it sees the new rules */
        ag_mapping_free(m);
    }
    struct ag_config *old = g->cfg;
    g->cfg = ag_config_ref(cfg);
    apply_config(g);
    ag_pool_set_config(g->pool, cfg);
    ag_relay_set_config(g->relay, cfg);
    ag_warmup_set_config(g->warmup, cfg);
    if (g->alerts)
        ag_alerts_set_config(g->alerts, cfg);
    if (g->telemetry)
        ag_otlp_set_config(g->telemetry, cfg);
    ag_config_unref(old);
    return 0;
}

static int apply_config_cb(void *ud, struct ag_config *cfg, struct ag_buf *restart)
{
    return ag_gateway_apply_config(ud, cfg, restart);
}

/* The database, the user keys and the request-log writer. 0, or -1 with errmsg set. */
static int open_storage(struct ag_gateway *g, struct ag_buf *errmsg)
{
    const struct ag_config *c = g->cfg;
    char err[512] = "";
    int rc = ag_store_open_with(c->data_dir, c->store.postgres_url, &g->store, err, sizeof(err));
    if (rc) {
        ag_buf_printf(errmsg, "%s", err[0] ? err : ag_strerror(rc));
        return -1;
    }
    g->keys = ag_keys_new(NULL);
    ag_keys_attach_store(g->keys, g->store);
    if (ag_keys_reload(g->keys, g->store))
        ag_log_warn("keys: cannot read the user keys; none are loaded until the store answers");
    ag_keys_set_budget_cb(g->keys, on_key_budget, g);
    struct ag_writer_options wo = {
        .queue_capacity = (size_t)c->monitor.queue_capacity,
        .body_cap = (size_t)c->monitor.body_cap_bytes + 64, /* the monitor caps; this is a guard */
        .max_disk_bytes = c->log.max_disk_mb << 20,
        .retention = {.log_max_age_days =
                          c->monitor.retention_days ? (int)c->monitor.retention_days : -1,
                      .log_max_rows = c->monitor.retention_rows ? c->monitor.retention_rows : -1,
                      .stats_max_age_days = c->monitor.stats_retention_days
                                                ? (int)c->monitor.stats_retention_days
                                                : -1},
    };
    g->writer = ag_writer_new(g->store, &wo);
    return 0;
}

/* The upstream client and what talks through it or decides over it: alerts, the model mapping,
 * the account pool. 0, or -1 with errmsg set. */
static int start_upstream(struct ag_gateway *g, struct ag_buf *errmsg)
{
    const struct ag_config *c = g->cfg;
    char err[512] = "";
    g->client = ag_upstream_client_new(g->loop, NULL);
    if (!g->client) {
        ag_buf_printf(errmsg, "cannot initialise the upstream HTTP client");
        return -1;
    }
    g->alerts = ag_alerts_new(g->loop, g->client, g->cfg);
    g->telemetry = ag_otlp_new(g->loop, g->client, g->cfg);
    g->ip_refusals = ag_ip_refusals_new();
    struct ag_mapping_config mc = {.custom = &c->mapping.custom,
                                   .background_model = c->mapping.background_model};
    g->mapping = ag_mapping_new(&mc, err, sizeof(err));
    if (!g->mapping) {
        ag_buf_printf(errmsg, "%s", err);
        return -1;
    }
    g->pool = ag_pool_new(g->loop, g->client, g->store, g->writer, g->cfg);
    if (!g->pool) {
        ag_buf_printf(errmsg, "cannot load the account pool");
        return -1;
    }
    ag_pool_set_event_cb(g->pool, on_pool_event, g);
    if (c->state.redis_url[0]) {
        if (ag_state_new(g->loop, c->state.redis_url, c->state.key_prefix, &g->state, err,
                         sizeof(err)) != 0) {
            ag_buf_printf(errmsg, "state.redis_url: %s", err);
            return -1;
        }
        ag_pool_set_state(g->pool, g->state);
        if (ag_keyshare_new(g->loop, c->state.redis_url, c->state.key_prefix,
                            c->state.on_redis_down == AG_REDIS_DOWN_CLOSED, &g->keyshare, err,
                            sizeof(err)) == 0)
            ag_keys_set_share(g->keys, g->keyshare);
    }
    return 0;
}

/* The admin layer, the relay and the warm-up, wired to each other. 0, or -1 with errmsg set. */
static int start_services(struct ag_gateway *g, struct ag_buf *errmsg)
{
    struct ag_config *cfg = g->cfg;
    struct ag_admin_deps ad = {.loop = g->loop,
                               .cfg = cfg,
                               .auth = &g->auth,
                               .store = g->store,
                               .writer = g->writer,
                               .pool = g->pool,
                               .client = g->client,
                               .apply_config = apply_config_cb,
                               .apply_ud = g};
    g->admin = ag_admin_new(&ad);
    if (!g->admin) {
        ag_buf_printf(errmsg, "cannot read the request log");
        return -1;
    }
    struct ag_relay_deps deps = {.loop = g->loop,
                                 .cfg = cfg,
                                 .client = g->client,
                                 .pool = g->pool,
                                 .mapping = g->mapping,
                                 .on_record = on_record,
                                 .record_ud = g,
                                 .writer = g->writer,
                                 .keys = g->keys};
    g->relay = ag_relay_new(&deps);
    ag_relay_set_state(g->relay, g->state); /* the Responses and thinking stores are shared */
    ag_admin_set_state(g->admin, g->state); /* and configuration changes */
    int64_t kept = ag_relay_thinking_load(g->relay, g->store);
    if (kept > 0)
        ag_log_info("relay: %lld kept thinking turns loaded", (long long)kept);
    struct ag_warmup_deps wd = {.loop = g->loop,
                                .cfg = cfg,
                                .client = g->client,
                                .pool = g->pool,
                                .on_record = ag_admin_on_record,
                                .record_ud = g->admin};
    g->warmup = ag_warmup_new(&wd);
    if (!g->warmup) {
        ag_buf_printf(errmsg, "cannot start the warm-up timer");
        return -1;
    }
    ag_admin_set_warmup(g->admin, g->warmup);
    ag_admin_set_keys(g->admin, g->keys);
    ag_admin_set_alerts(g->admin, g->alerts);
    ag_admin_set_telemetry(g->admin, g->telemetry);
    ag_admin_set_ip_refusals(g->admin, g->ip_refusals);
    return 0;
}

/* The route table and the HTTP server over it, configured (not listening yet). 0, or -1 with
 * errmsg set. */
static int make_server(struct ag_gateway *g, struct ag_buf *errmsg)
{
    const struct ag_config *c = g->cfg;
    int rc;
    g->router = ag_router_new();
    if ((rc = add_routes(g)) || (rc = ag_relay_add_routes(g->relay, g->router)) ||
        (rc = ag_admin_add_routes(g->admin, g->router)) ||
        (rc = ag_ui_assets_add_routes(g->router))) {
        ag_buf_printf(errmsg, "route table: %s", ag_strerror(rc));
        return -1;
    }
    struct ag_http_limits lim = {
        .max_body_bytes = (size_t)c->server.max_body_bytes,
        .max_header_bytes = (size_t)c->server.max_header_bytes,
        .max_headers = (size_t)c->server.max_headers,
        .header_timeout_ms = (uint64_t)c->server.header_timeout_s * 1000,
        .idle_timeout_ms = (uint64_t)c->server.idle_timeout_s * 1000,
        .max_connections = (size_t)c->server.max_connections,
        .max_body_inflight = (size_t)c->server.max_body_in_flight_bytes,
        .min_body_rate = (size_t)c->server.min_body_bytes_per_s,
    };
    g->server = ag_http_server_new(g->loop, g->router, &lim);
    apply_config(g);
    ag_http_server_set_gate(g->server, ag_admin_gate, g->admin);
    ag_admin_attach(g->admin, g->relay, g->server);
    return 0;
}

struct ag_gateway *ag_gateway_new(uv_loop_t *loop, struct ag_config *cfg, struct ag_buf *errmsg)
{
    struct ag_gateway *g = AG_NEW(struct ag_gateway);
    const struct ag_config *c = cfg;
    int rc;
    g->loop = loop;
    g->cfg = ag_config_ref(cfg);
    if (open_storage(g, errmsg) || start_upstream(g, errmsg) || start_services(g, errmsg) ||
        make_server(g, errmsg))
        goto fail;

    const char *v4 = c->server.allow_lan_access ? "0.0.0.0" : "127.0.0.1";
    const char *v6 = c->server.allow_lan_access ? "::" : "::1";
    rc = ag_http_server_listen(g->server, v4, (int)c->server.port);
    if (rc) {
        ag_buf_printf(errmsg, "cannot listen on %s:%lld: %s", v4, (long long)c->server.port,
                      uv_strerror(rc));
        goto fail_server;
    }
    /* IPv6 is a bonus: a machine without it still serves on IPv4. */
    rc = ag_http_server_listen(g->server, v6, (int)c->server.port);
    if (rc)
        ag_log_debug("not listening on [%s]:%lld: %s", v6, (long long)c->server.port,
                     uv_strerror(rc));

    ag_log_info("aigate %s listening on http://%s:%d (data dir %s)", AIGATE_VERSION, v4,
                ag_http_server_port(g->server), c->data_dir);
    if (c->server.allow_lan_access && ag_auth_effective(&g->auth) == AG_AUTH_MODE_OFF)
        ag_log_warn("listening beyond loopback with auth.mode=off: anyone on the network can use "
                    "your accounts; set auth.mode to auto, all_except_health or strict");
    return g;

fail_server:
    /* Nothing accepted yet: the server can be shut down and the loop run to close listeners. */
    ag_http_server_shutdown(g->server, 1, NULL, NULL);
fail:
    g->done = NULL;
    teardown_sync(g);
    return NULL;
}

int ag_gateway_port(const struct ag_gateway *g)
{
    return ag_http_server_port(g->server);
}

/* Closing runs bottom-up: server (requests finish) → pool → upstream client → writer (flushes). */
static void client_closed(void *ud)
{
    struct ag_gateway *g = ud;
    g->client = NULL;
    ag_writer_free(g->writer);
    g->writer = NULL;
    if (g->done)
        g->done(g->done_ud);
}

static void state_closed(void *ud)
{
    struct ag_gateway *g = ud;
    if (g->client)
        ag_upstream_client_close(g->client, client_closed, g);
    else
        client_closed(g);
}

static void keyshare_closed(void *ud)
{
    struct ag_gateway *g = ud;
    struct ag_state *st = g->state;
    g->state = NULL;
    ag_state_close(st, state_closed, g);
}

static void pool_closed(void *ud)
{
    struct ag_gateway *g = ud;
    ag_pool_free(g->pool); /* detaches from the shared state */
    g->pool = NULL;
    ag_keys_set_share(g->keys, NULL);
    struct ag_keyshare *ksh = g->keyshare;
    g->keyshare = NULL;
    ag_keyshare_close(ksh, keyshare_closed, g);
}

/* The alerts and the span exporter go before the pool and the upstream client they send
 * through. */
static void close_alerts(struct ag_gateway *g)
{
    if (g->admin) {
        ag_admin_set_alerts(g->admin, NULL);
        ag_admin_set_telemetry(g->admin, NULL);
    }
    ag_alerts_close(g->alerts);
    g->alerts = NULL;
    ag_otlp_close(g->telemetry);
    g->telemetry = NULL;
}

static void server_done(void *ud)
{
    struct ag_gateway *g = ud;
    close_alerts(g);
    if (g->pool)
        ag_pool_close(g->pool, pool_closed, g);
    else
        pool_closed(g);
}

/* For a start that failed half-way: close what was built, running the loop until it is closed. */
static void teardown_sync(struct ag_gateway *g)
{
    if (g->warmup)
        ag_warmup_close(g->warmup);
    close_alerts(g);
    if (g->pool) {
        ag_pool_close(g->pool, pool_closed, g);
    } else if (g->client) {
        ag_upstream_client_close(g->client, client_closed, g);
    } else {
        ag_writer_free(g->writer);
        g->writer = NULL;
    }
    uv_run(g->loop, UV_RUN_DEFAULT);
    ag_gateway_free(g);
}

void ag_gateway_shutdown(struct ag_gateway *g, void (*done)(void *ud), void *ud)
{
    ag_admin_set_state(g->admin, NULL);
    ag_relay_set_state(g->relay, NULL);
    g->done = done;
    g->done_ud = ud;
    ag_admin_shutdown(g->admin); /* live event streams end, so requests in flight can finish */
    ag_warmup_close(g->warmup);  /* its requests end and give their leases back */
    ag_http_server_shutdown(g->server, (uint64_t)g->cfg->server.shutdown_grace_s * 1000,
                            server_done, g);
}

int ag_gateway_admin_session(struct ag_gateway *g, int64_t ttl_ms, char *token, int64_t *expires_ms)
{
    return ag_admin_session_new(g->admin, ttl_ms, token, expires_ms);
}

void ag_gateway_set_event_cb(struct ag_gateway *g,
                             void (*cb)(int ev, const char *subject, const char *message, void *ud),
                             void *ud)
{
    g->event_cb = cb;
    g->event_ud = ud;
}

void ag_gateway_free(struct ag_gateway *g)
{
    if (!g)
        return;
    ag_relay_free(g->relay);
    ag_warmup_free(g->warmup);
    ag_admin_free(g->admin);
    ag_mapping_free(g->mapping);
    ag_keys_free(g->keys); /* after the relay: every ticket is settled */
    ag_store_free(g->store);
    ag_http_server_free(g->server);
    ag_router_free(g->router);
    ag_cors_free(g->cors);
    ag_host_policy_free(g->hosts);
    ag_ip_rules_free(g->ip_rules);
    ag_ip_refusals_free(g->ip_refusals);
    ag_config_unref(g->cfg);
    free(g);
}
