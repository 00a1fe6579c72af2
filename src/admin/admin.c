/* admin/admin.c: the admin layer's object and its wiring: the route table with the admin check,
 * login sessions, the proxy gate and the record hook (monitor + metrics + live events). What the
 * api_*.c files share is in answer.c (JSON answers), request.c (reading requests) and jobs.c
 * (worker jobs); /metrics is api_metrics.c. */
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

/* ---- routes and the admin check ---- */

struct ag_admin *adm_of(void *ud)
{
    return ((struct adm_route *)ud)->a;
}

static enum ag_http_admin_verdict token_verdict(struct ag_admin *a, struct ag_str t)
{
    if (ag_sessions_valid(a->sessions, t, adm_now_ms()))
        return AG_HTTP_ADMIN_OK;
    /* Shaped like a session token: a logged-out or expired UI, not a guess at the secret. */
    return t.len == AG_SESSION_TOKEN_SIZE - 1 && ag_str_has_prefix(t, "ags_") ? AG_HTTP_ADMIN_STALE
                                                                              : AG_HTTP_ADMIN_NO;
}

/* The server's admin check (ag_http_admin_cb): a login session token. */
static enum ag_http_admin_verdict session_check(const struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = ud;
    struct ag_str k = ag_auth_client_key(req);
    if (k.p && k.len)
        return token_verdict(a, k);
    /* EventSource cannot send headers: /api/events also takes a session token in the query. */
    char t[AG_SESSION_TOKEN_SIZE + 1];
    if (ag_str_eq_c(req->path, "/api/events") &&
        adm_query((struct ag_http_req *)req, "token", t, sizeof(t)))
        return token_verdict(a, ag_str_c(t));
    return AG_HTTP_ADMIN_NO;
}

bool adm_authorized(struct ag_admin *a, struct ag_http_req *req)
{
    int64_t retry = 0;
    if (!ag_http_req_auth_allowed(req, &retry)) {
        adm_error(req, 429, "rate_limited", NULL,
                  "too many failed authentications from this address; try again in %lld s",
                  (long long)retry);
        return false;
    }
    enum ag_auth_result r = ag_auth_check(a->auth, req, AG_ACCESS_ADMIN);
    enum ag_http_admin_verdict v = r == AG_AUTH_ALLOW ? AG_HTTP_ADMIN_OK : session_check(req, a);
    if (v == AG_HTTP_ADMIN_OK)
        return true;
    if (r == AG_AUTH_WRONG && v == AG_HTTP_ADMIN_NO)
        ag_http_req_auth_failed(req);
    if (r == AG_AUTH_NO_SECRET)
        adm_error(req, 401, "authentication_error", NULL,
                  "the admin API needs a secret: set auth.admin_password or auth.api_key");
    else
        adm_error(req, 401, "authentication_error", NULL,
                  "admin secret or session token required (Authorization: Bearer ...)");
    return false;
}

/* ---- login ---- */

/* The admin secret logins are checked against: the admin password, else the API key. */
static const char *login_secret(const struct ag_admin *a)
{
    return a->auth->admin_password && a->auth->admin_password[0] ? a->auth->admin_password
                                                                 : a->auth->api_key;
}

/* SHA-256 of the token hash and the secret: a stored session counts only while the secret it
 * was created under is still the one in force. */
static void secret_tag(const struct ag_admin *a, const unsigned char hash[AG_SESSION_HASH_SIZE],
                       unsigned char out[AG_SESSION_HASH_SIZE])
{
    const char *secret = login_secret(a);
    size_t n = secret ? strlen(secret) : 0;
    unsigned char *m = ag_malloc(AG_SESSION_HASH_SIZE + n + 1);
    memcpy(m, hash, AG_SESSION_HASH_SIZE);
    if (n)
        memcpy(m + AG_SESSION_HASH_SIZE, secret, n);
    ag_sha256(m, AG_SESSION_HASH_SIZE + n, out);
    explicit_bzero(m, AG_SESSION_HASH_SIZE + n);
    free(m);
}

static void h_login(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    int64_t now = adm_now_ms(), retry = 60;
    if (!ag_http_req_auth_allowed(req, &retry)) {
        char v[24];
        snprintf(v, sizeof(v), "%lld", (long long)retry);
        ag_http_add_header(req, "Retry-After", ag_str_c(v));
        adm_error(req, 429, "rate_limited", NULL,
                  "too many failed logins from this address; try again in %lld s",
                  (long long)retry);
        return;
    }
    yyjson_val *body = adm_body(req, false);
    const char *pw = NULL;
    if (!body || !adm_get_str(req, body, "password", true, &pw))
        return;
    const char *secret = login_secret(a);
    if (!secret || !secret[0]) {
        adm_error(req, 401, "authentication_error", NULL,
                  "the admin API needs a secret: set auth.admin_password or auth.api_key");
        return;
    }
    if (!ag_secret_eq(secret, strlen(secret), pw, strlen(pw))) {
        ag_http_req_auth_failed(req);
        ag_log_warn("admin: failed login from %s", req->client_ip);
        adm_error(req, 401, "authentication_error", "password", "wrong password");
        return;
    }
    ag_http_req_auth_succeeded(req);
    char token[AG_SESSION_TOKEN_SIZE];
    struct ag_session_row row;
    int64_t ttl = a->cfg->admin.session_ttl_s * 1000;
    if (ag_sessions_create(a->sessions, now, ttl, token, &row)) {
        adm_error(req, 500, "server_error", NULL, "no randomness for a session token");
        return;
    }
    secret_tag(a, row.hash, row.secret_tag);
    if (a->writer) /* kept across a restart (its hash only); a dropped job just costs a login */
        ag_writer_session_put(a->writer, &row, AG_SESSIONS_MAX);
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_jsonw_open(&b, NULL, '{');
    ag_jsonw_str(&b, "token", token);
    ag_jsonw_int(&b, "expires_at_ms", now + ttl);
    ag_jsonw_close(&b, '}');
    adm_json(req, 200, &b);
    ag_buf_dispose(&b);
}

static void h_logout(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    unsigned char hash[AG_SESSION_HASH_SIZE];
    if (ag_sessions_revoke(a->sessions, ag_auth_client_key(req), hash) && a->writer)
        ag_writer_session_delete(a->writer, hash);
    adm_events_revalidate(a); /* the session's event streams end with it */
    adm_ok(req);
}

static void h_session(struct ag_http_req *req, void *ud)
{
    static const char ok[] = "{\"authenticated\":true}";
    ag_http_respond_json(req, 200, ok, sizeof(ok) - 1);
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
    {"POST", "/api/auth/login", h_login, true},
    {"POST", "/api/auth/logout", h_logout, false},
    {"GET", "/api/auth/session", h_session, false},
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
         * the admin secret, or a session token through session_check. Rows marked open (login,
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
        core_routes,     adm_accounts_routes, adm_config_routes,  adm_proxy_routes,
        adm_logs_routes, adm_stats_routes,    adm_oauth_routes,   adm_warmup_routes,
        adm_keys_routes, adm_alerts_routes,   adm_security_routes};
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

struct restore_ctx {
    struct ag_admin *a;
    int64_t now_ms;
    int64_t kept;
};

static void restore_session(const struct ag_session_row *row, void *ud)
{
    struct restore_ctx *rc = ud;
    unsigned char tag[AG_SESSION_HASH_SIZE];
    secret_tag(rc->a, row->hash, tag);
    if (memcmp(tag, row->secret_tag, sizeof(tag)) == 0) {
        ag_sessions_restore(rc->a->sessions, row, rc->now_ms);
        rc->kept++;
    }
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
    ag_http_server_set_admin_check(server, session_check, a);
    if (a->store) {
        /* Sessions of the previous run (hashes and expiry) still valid under the secret now in
         * force: read here, once the gateway has applied its configuration to auth. */
        struct restore_ctx rc = {a, adm_now_ms(), 0};
        ag_store_sessions_load(a->store, rc.now_ms, restore_session, &rc);
        if (rc.kept > 0)
            ag_log_info("admin: %lld login sessions restored", (long long)rc.kept);
    }
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
    free(a);
}
