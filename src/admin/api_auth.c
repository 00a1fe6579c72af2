/* admin/api_auth.c: who may use the admin API. The admin check the server runs on admin routes (the
 * admin secret, or a login session token), the same check for routes that decide for themselves
 * (adm_authorized), the login session routes (/api/auth/login, logout, session) and, at start, the
 * stored sessions still valid under the secret in force. */
#include "admin/admin_internal.h"

#include "admin/session.h"
#include "config/config.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rand.h"
#include "http/auth.h"
#include "http/server.h"
#include "store/store.h"
#include "store/writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the admin check ---- */

static enum ag_http_admin_verdict token_verdict(struct ag_admin *a, struct ag_str t)
{
    if (ag_sessions_valid(a->sessions, t, adm_now_ms()))
        return AG_HTTP_ADMIN_OK;
    /* Shaped like a session token: a logged-out or expired UI, not a guess at the secret. */
    return t.len == AG_SESSION_TOKEN_SIZE - 1 && ag_str_has_prefix(t, "ags_") ? AG_HTTP_ADMIN_STALE
                                                                              : AG_HTTP_ADMIN_NO;
}

/* The server's admin check (ag_http_admin_cb): a login session token. */
enum ag_http_admin_verdict adm_session_check(const struct ag_http_req *req, void *ud)
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
    enum ag_http_admin_verdict v =
        r == AG_AUTH_ALLOW ? AG_HTTP_ADMIN_OK : adm_session_check(req, a);
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
        memcpy(m + AG_SESSION_HASH_SIZE, secret, n + 1); /* its NUL is not hashed */
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

int ag_admin_session_new(struct ag_admin *a, int64_t ttl_ms, char *token, int64_t *expires_ms)
{
    int64_t now = adm_now_ms();
    int rc = ag_sessions_create(a->sessions, now, ttl_ms, token, NULL);
    if (rc == 0 && expires_ms)
        *expires_ms = now + ttl_ms;
    return rc;
}

/* ---- stored sessions ---- */

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

void adm_sessions_restore(struct ag_admin *a)
{
    if (a->store) {
        /* Sessions of the previous run (hashes and expiry) still valid under the secret now in
         * force. */
        struct restore_ctx rc = {a, adm_now_ms(), 0};
        ag_store_sessions_load(a->store, rc.now_ms, restore_session, &rc);
        if (rc.kept > 0)
            ag_log_info("admin: %lld login sessions restored", (long long)rc.kept);
    }
}

const struct adm_route_def adm_auth_routes[] = {
    {"POST", "/api/auth/login", h_login, true},
    {"POST", "/api/auth/logout", h_logout, false},
    {"GET", "/api/auth/session", h_session, false},
    {NULL, NULL, NULL, false},
};
