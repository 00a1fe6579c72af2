/* admin/api_proxy.c: proxy control — GET /api/proxy/status, POST /api/proxy/start|stop (stopped:
 * AI routes answer 503 in their protocol's format), POST /api/proxy/api-key/regenerate,
 * POST /api/proxy/cooldowns/clear, POST /api/proxy/session-bindings/clear,
 * POST /api/proxy/thinking/clear. */
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
#include "route/mapping.h"

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
    ag_jsonw_open(b, NULL, '{');
    ag_jsonw_bool(b, "running", a->proxy_running);
    ag_jsonw_int(b, "port", port);
    ag_buf_printf(b, ",\"base_url\":\"http://127.0.0.1:%d\"", port);
    ag_jsonw_bool(b, "allow_lan_access", a->cfg->server.allow_lan_access);
    ag_jsonw_int(b, "accounts", (int64_t)snap.len);
    ag_jsonw_int(b, "usable_accounts", (int64_t)usable);
    ag_jsonw_int(b, "waiting", (int64_t)snap.waiting);
    ag_jsonw_int(b, "active_requests", a->relay ? (int64_t)ag_relay_active(a->relay) : 0);
    ag_jsonw_str(b, "fixed_account", a->cfg->scheduling.fixed_account);
    ag_jsonw_close(b, '}');
    ag_pool_snapshot_dispose(&snap);
}

static void h_status(struct ag_http_req *req, void *ud)
{
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_DOC);
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
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_jsonw_open(&b, NULL, '{');
    ag_jsonw_str(&b, "api_key", c->text[0]);
    ag_jsonw_close(&b, '}');
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
    struct ag_admin *a = adm_of(ud);
    struct ag_buf b;
    size_t n = a->pool ? ag_pool_clear_sessions(a->pool) : 0;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_buf_printf(&b, "{\"ok\":true,\"cleared\":%zu}", n);
    adm_json(req, 200, &b);
    ag_buf_dispose(&b);
}

/* Forgets the Claude thinking the relay keeps for clients that drop it (relay/thinking_store.h). */
static void h_thinking(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    struct ag_buf b;
    size_t n = a->relay ? ag_relay_thinking_clear(a->relay) : 0;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_buf_printf(&b, "{\"ok\":true,\"cleared\":%zu}", n);
    adm_json(req, 200, &b);
    ag_buf_dispose(&b);
}

/* The API key in full (the admin already holds a secret; config reads mask it). */
static void h_api_key(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    ag_jsonw_open(&b, NULL, '{');
    ag_jsonw_str(&b, "api_key", a->cfg->auth.api_key);
    ag_jsonw_close(&b, '}');
    adm_json(req, 200, &b);
    ag_buf_dispose(&b);
}

struct names {
    const struct ag_mapping *m;
    const struct ag_config *cfg;
    struct ag_buf *b;
    bool first;
};

static void builtin_row(void *ctx, struct ag_str name)
{
    struct names *n = ctx;
    struct ag_route_result rr;
    /* Custom exact rules are listed under "custom"; the built-in table is everything else. */
    for (size_t i = 0; i < n->cfg->mapping.custom.n; i++) {
        if (ag_str_eq_c(name, n->cfg->mapping.custom.v[i].key))
            return;
    }
    if (ag_mapping_resolve(n->m, NULL, name, &rr))
        return;
    ag_buf_append_c(n->b, n->first ? "{\"from\":" : ",{\"from\":");
    ag_jsonw_quote(n->b, name.p, name.len);
    ag_buf_append_c(n->b, ",\"to\":");
    ag_jsonw_quote(n->b, rr.model, strlen(rr.model));
    ag_buf_append_c(n->b, "}");
    n->first = false;
}

/* The model mapping in force: custom rules, background model, and the built-in table. */
static void h_mapping(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    char err[256];
    struct ag_mapping_config mc = {.custom = &a->cfg->mapping.custom,
                                   .background_model = a->cfg->mapping.background_model};
    struct ag_mapping *m = ag_mapping_new(&mc, err, sizeof(err));
    if (!m) {
        adm_error(req, 500, "server_error", "mapping.custom", "%s", err);
        return;
    }
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    ag_jsonw_open(&b, NULL, '{');
    ag_jsonw_open(&b, "custom", '{');
    for (size_t i = 0; i < a->cfg->mapping.custom.n; i++)
        ag_jsonw_str(&b, a->cfg->mapping.custom.v[i].key, a->cfg->mapping.custom.v[i].value);
    ag_jsonw_close(&b, '}');
    ag_jsonw_str(&b, "background_model", a->cfg->mapping.background_model);
    ag_buf_append_c(&b, ",\"builtin\":[");
    struct names n = {m, a->cfg, &b, true};
    ag_mapping_foreach_name(m, builtin_row, &n);
    ag_buf_append_c(&b, "]");
    ag_jsonw_close(&b, '}');
    adm_json(req, 200, &b);
    ag_buf_dispose(&b);
    ag_mapping_free(m);
}

const struct adm_route_def adm_proxy_routes[] = {
    {"GET", "/api/proxy/status", h_status, false},
    {"POST", "/api/proxy/start", h_start, false},
    {"POST", "/api/proxy/stop", h_stop, false},
    {"POST", "/api/proxy/api-key/regenerate", h_regen, false},
    {"POST", "/api/proxy/cooldowns/clear", h_cooldowns, false},
    {"POST", "/api/proxy/session-bindings/clear", h_sessions, false},
    {"POST", "/api/proxy/thinking/clear", h_thinking, false},
    {"GET", "/api/proxy/api-key", h_api_key, false},
    {"GET", "/api/mapping", h_mapping, false},
    {NULL, NULL, NULL, false},
};
