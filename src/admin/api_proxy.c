/* admin/api_proxy.c: proxy control — GET /api/proxy/status, POST /api/proxy/start|stop (stopped:
 * AI routes answer 503 in their protocol's format), POST /api/proxy/api-key/regenerate,
 * POST /api/proxy/cooldowns/clear, POST /api/proxy/session-bindings/clear. */
#include "admin/admin_internal.h"
#include "admin/api_config.h"
#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rand.h"
#include "http/server.h"
#include "pool/pool.h"
#include "relay/relay.h"

#include <stdlib.h>
#include <string.h>

static void status_json(struct ag_admin *a, struct ag_buf *b)
{
    int port = a->server ? ag_http_server_port(a->server) : 0;
    struct ag_pool_snapshot snap = {0};
    size_t usable = 0;
    if (a->pool && ag_pool_snapshot(a->pool, &snap) == 0) {
        for (size_t i = 0; i < snap.len; i++)
            usable += !snap.items[i].disabled && !snap.items[i].forbidden;
    }
    jw_open(b, NULL, '{');
    jw_bool(b, "running", a->proxy_running);
    jw_int(b, "port", port);
    ag_buf_printf(b, ",\"base_url\":\"http://127.0.0.1:%d\"", port);
    jw_bool(b, "allow_lan_access", a->cfg->server.allow_lan_access);
    jw_int(b, "accounts", (int64_t)snap.len);
    jw_int(b, "usable_accounts", (int64_t)usable);
    jw_int(b, "waiting", (int64_t)snap.waiting);
    jw_int(b, "active_requests", a->relay ? (int64_t)ag_relay_active(a->relay) : 0);
    jw_str(b, "fixed_account", a->cfg->scheduling.fixed_account);
    jw_close(b, '}');
    ag_pool_snapshot_dispose(&snap);
}

static void h_status(struct ag_http_req *req, void *ud)
{
    struct ag_buf b;
    ag_buf_init(&b, 0);
    status_json(adm_of(ud), &b);
    adm_json(req, 200, &b);
    ag_buf_dispose(&b);
}

static void set_running(struct ag_http_req *req, void *ud, bool on)
{
    struct ag_admin *a = adm_of(ud);
    if (a->proxy_running != on)
        ag_log_info("admin: proxy %s", on ? "started" : "stopped (AI routes answer 503)");
    a->proxy_running = on;
    if (on && a->pool)
        ag_pool_reload(a->pool);
    h_status(req, ud);
}

static void h_start(struct ag_http_req *req, void *ud)
{
    set_running(req, ud, true);
}

static void h_stop(struct ag_http_req *req, void *ud)
{
    set_running(req, ud, false);
}

/* The new key is answered once, in clear: the caller asked for it. */
static void key_applied(struct adm_job *j, int rc, const struct ag_buf *restart)
{
    struct adm_changes *c = j->arg;
    if (!j->req)
        return;
    if (rc) {
        adm_error_rc(j->req, rc, j->err);
        return;
    }
    struct ag_buf b;
    ag_buf_init(&b, 0);
    jw_open(&b, NULL, '{');
    jw_str(&b, "api_key", c->text[0]);
    jw_close(&b, '}');
    adm_json(j->req, 200, &b);
    ag_buf_dispose(&b);
}

static void h_regen(struct ag_http_req *req, void *ud)
{
    char key[64];
    struct ag_buf why;
    if (ag_random_api_key(key, sizeof(key))) {
        adm_error(req, 500, "server_error", NULL, "no randomness for a key");
        return;
    }
    struct adm_changes *c = ag_calloc(1, sizeof(*c));
    ag_buf_init(&why, 1024);
    adm_changes_add(c, "auth.api_key", key, &why);
    ag_buf_dispose(&why);
    c->on_applied = key_applied;
    adm_changes_start(adm_of(ud), req, c);
}

static void h_cooldowns(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    yyjson_val *body = adm_body(req, true);
    const char *id = NULL;
    if (!body || !adm_get_str(req, body, "account_id", false, &id))
        return;
    int rc = a->pool ? ag_pool_clear_cooldowns(a->pool, id) : 0;
    if (rc == AG_ENOTFOUND) {
        adm_error(req, 404, "not_found", "account_id", "no account %s", id);
        return;
    }
    adm_ok(req);
}

static void h_sessions(struct ag_http_req *req, void *ud)
{
    /* The pool keeps no sticky session bindings yet (scheduling picks per request), so there
     * is nothing to clear; the route exists so the UI's button has a stable contract. */
    static const char body[] = "{\"ok\":true,\"cleared\":0}";
    ag_http_respond_json(req, 200, body, sizeof(body) - 1);
}

const struct adm_route_def adm_proxy_routes[] = {
    {"GET", "/api/proxy/status", h_status, false},
    {"POST", "/api/proxy/start", h_start, false},
    {"POST", "/api/proxy/stop", h_stop, false},
    {"POST", "/api/proxy/api-key/regenerate", h_regen, false},
    {"POST", "/api/proxy/cooldowns/clear", h_cooldowns, false},
    {"POST", "/api/proxy/session-bindings/clear", h_sessions, false},
    {NULL, NULL, NULL, false},
};
