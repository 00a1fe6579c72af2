/* http/admission.c: what happens between a request's headers and its body. Routing, the browser
 * rules (Host, Origin, Content-Type), auth with the failed-authentication limiter, the gate and the
 * body budget decide whether the body is read at all; a refusal is answered at once in the route's
 * own error format, and the refused body is dropped or the connection ends with a lingering close
 * (see docs/internals/http.md, "Admission"). */
#include "http/server.h"
#include "http/server_internal.h"

#include "core/log.h"
#include "core/time.h"
#include "http/auth.h"
#include "http/cors.h"
#include "http/guard.h"
#include "http/router.h"

#include <llhttp.h>
#include <stdio.h>

/* A refused request's body up to this size is read and dropped so the connection stays usable;
 * a larger (or chunked) one ends the connection with a lingering close. */
#define DISCARD_MAX (64u * 1024)

static bool has_body(const llhttp_t *p)
{
    return (p->flags & F_CHUNKED) || p->content_length > 0;
}

/* Prepares the answer to a request refused (or answered) before its body was read: the body is
 * dropped as it arrives, or, when it is large or of unknown length, the connection ends with a
 * lingering close after the answer. */
static void answer_early(struct ag_http_conn *c)
{
    struct ag_http_req *req = c->req;
    c->discard = true;
    if (c->parser.upgrade) {
        /* A refused upgrade ends the connection: what follows may be frames, not HTTP. */
        c->keep_alive = false;
        c->linger = true;
    }
    if (has_body(&c->parser) &&
        ((c->parser.flags & F_CHUNKED) || c->parser.content_length > DISCARD_MAX)) {
        c->keep_alive = false;
        c->linger = true;
    }
    req->_state = REQ_HANDLING;
    c->phase = PH_BUSY;
    uv_timer_stop(&c->timer);
}

static void refuse(struct ag_http_conn *c, const struct ag_errfmt *fmt, int status,
                   const char *kind, const char *msg)
{
    answer_early(c);
    ag_http_respond_error(c->req, fmt, status, kind, msg);
}

/* Whether a route of this access class takes a key under the policy in force. */
static bool key_required(const struct ag_auth_policy *p, enum ag_route_access access)
{
    enum ag_auth_mode mode = p ? ag_auth_effective(p) : AG_AUTH_MODE_OFF;
    switch (access) {
    case AG_ACCESS_ADMIN:
        return true;
    case AG_ACCESS_PROXY:
        return mode != AG_AUTH_MODE_OFF;
    case AG_ACCESS_HEALTH:
        return mode == AG_AUTH_MODE_STRICT;
    case AG_ACCESS_PUBLIC:
        return false;
    }
    return true;
}

static bool check_auth(struct ag_http_conn *c, const struct ag_route *route)
{
    struct ag_http_server *s = c->srv;
    struct ag_http_req *req = c->req;
    bool admin = route->access == AG_ACCESS_ADMIN;
    int64_t retry = 0;
    if (admin &&
        !ag_auth_limiter_allowed(s->limiter, c->peer, (int64_t)(ag_now_us() / 1000), &retry)) {
        char v[24];
        snprintf(v, sizeof(v), "%lld", (long long)retry);
        answer_early(c);
        ag_http_add_header(req, "Retry-After", ag_str_c(v));
        ag_http_respond_error(req, route->errfmt, 429, "rate_limited",
                              "Too many failed authentications from this address; try again "
                              "later (see Retry-After)");
        return false;
    }
    /* A user key is held to its state, expiry and addresses in every auth mode. */
    enum ag_keys_verdict kv = ag_auth_user_key(s->auth, req, route->access);
    if (kv == AG_KEYS_IP_REFUSED || (kv != AG_KEYS_OK && kv != AG_KEYS_NOT_A_KEY)) {
        bool ip = kv == AG_KEYS_IP_REFUSED;
        refuse(c, route->errfmt, ip ? 403 : 401, ip ? "permission_denied" : "invalid_api_key",
               ag_keys_verdict_message(kv));
        return false;
    }
    enum ag_auth_result ar = s->auth ? ag_auth_check(s->auth, req, route->access) : AG_AUTH_ALLOW;
    enum ag_http_admin_verdict v = AG_HTTP_ADMIN_NO;
    if (ar != AG_AUTH_ALLOW && admin && s->admin_check)
        v = s->admin_check(req, s->admin_ud);
    if (v == AG_HTTP_ADMIN_OK)
        ar = AG_AUTH_ALLOW;
    if (ar == AG_AUTH_ALLOW) {
        req->authed = kv == AG_KEYS_OK || key_required(s->auth, route->access);
        if (admin)
            ag_auth_limiter_succeeded(s->limiter, c->peer);
        return true;
    }
    /* Only a wrong guess counts: not a missing key, not an expired session of the owner's UI. */
    if (admin && ar == AG_AUTH_WRONG && v != AG_HTTP_ADMIN_STALE) {
        ag_auth_limiter_failed(s->limiter, c->peer, (int64_t)(ag_now_us() / 1000));
        ag_log_warn("http: failed admin authentication from %s", c->peer);
    }
    const char *msg = ar == AG_AUTH_MISSING ? "Missing API key"
                      : ar == AG_AUTH_WRONG ? "Invalid API key"
                      : admin
                          ? "The admin API needs a secret: set auth.admin_password or auth.api_key"
                          : "No API key is configured for this route";
    refuse(c, route->errfmt, 401, admin ? "authentication_error" : "invalid_api_key", msg);
    return false;
}

/* Whether CORS "*" opens a route to pages of any origin: only where a key is required (a page
 * cannot know it), and never for the admin API, whose UI is served from the gateway itself (a page
 * sending wrong secrets there would lock the owner out). */
static bool star_applies(const struct ag_http_server *s, const struct ag_route *route)
{
    return route->access != AG_ACCESS_ADMIN && key_required(s->auth, route->access);
}

/* The browser threat model (http/guard.h): Host, Origin, Content-Type. */
static bool check_browser(struct ag_http_conn *c, const struct ag_route *route)
{
    struct ag_http_server *s = c->srv;
    struct ag_http_req *req = c->req;
    if (!ag_host_allowed(s->hosts, ag_http_req_header(req, "host"))) {
        refuse(c, route->errfmt, 403, "host_not_allowed",
               "This Host is not served: aigate listens on loopback and answers only loopback "
               "names (add others to server.allowed_hosts)");
        return false;
    }
    enum ag_origin_kind from = ag_origin_classify(req);
    bool safe_public = route->access == AG_ACCESS_PUBLIC &&
                       (ag_str_eq_c(req->method, "GET") || ag_str_eq_c(req->method, "HEAD"));
    if (from == AG_ORIGIN_FOREIGN && !safe_public &&
        !ag_origin_allowed(s->cors, req, star_applies(s, route))) {
        refuse(c, route->errfmt, 403, "origin_not_allowed",
               "Cross-origin requests are refused: list the page's origin in "
               "server.cors_allowed_origins (\"*\" applies only where a key is required)");
        return false;
    }
    if (has_body(&c->parser) &&
        ag_ctype_check(req, route->multipart, from != AG_ORIGIN_NONE) != AG_CTYPE_OK) {
        refuse(c, route->errfmt, 415, "unsupported_media_type",
               route->multipart ? "Send the body as application/json or multipart/form-data"
                                : "Send the body as application/json");
        return false;
    }
    return true;
}

bool ag_http_conn_reserve_body(struct ag_http_conn *c, size_t n)
{
    struct ag_http_server *s = c->srv;
    if (n > s->lim.max_body_inflight - s->body_inflight)
        return false;
    s->body_inflight += n;
    c->req->_reserved += n;
    return true;
}

/* Whether the request a preflight announces (Access-Control-Request-Method on this path) would
 * pass the Host and Origin rules. */
static bool preflight_allowed(struct ag_http_conn *c)
{
    struct ag_http_server *s = c->srv;
    struct ag_http_req *req = c->req;
    struct ag_str want = ag_str_trim(ag_http_req_header(req, "access-control-request-method"));
    const struct ag_route *target = NULL;
    struct ag_str params[AG_HTTP_MAX_PARAMS];
    size_t np = 0;
    if (!want.p || !ag_host_allowed(s->hosts, ag_http_req_header(req, "host")) ||
        ag_router_match(s->router, want, req->path, &target, params, &np) != AG_ROUTER_FOUND)
        return false;
    return ag_origin_classify(req) != AG_ORIGIN_FOREIGN ||
           ag_origin_allowed(s->cors, req, star_applies(s, target));
}

/* Runs when a request's headers are complete and before any of its body is read: routing, the
 * browser rules, auth, the gate and the body budget. Returns true when the body may be read;
 * otherwise the request has been answered. */
bool ag_http_conn_admit(struct ag_http_conn *c)
{
    struct ag_http_server *s = c->srv;
    struct ag_http_req *req = c->req;
    const struct ag_route *route = NULL;
    enum ag_router_match m =
        ag_router_match(s->router, req->method, req->path, &route, req->params, &req->nparams);
    const struct ag_errfmt *pathfmt = ag_router_errfmt_for_path(s->router, req->path);
    if (c->parser.upgrade && (m != AG_ROUTER_FOUND || !route->websocket)) {
        /* No upgrade here (WebSocket only where a route takes it, never h2c): say so plainly in
         * the path's protocol and close; whatever the client sends next is dropped. */
        c->keep_alive = false;
        c->linger = true;
        refuse(c, pathfmt, 400, "upgrade_not_supported",
               "Protocol upgrades (WebSocket) are not supported on this path: send the request "
               "over HTTP (with stream: true for server-sent events)");
        return false;
    }
    if (ag_str_eq_c(req->method, "OPTIONS") && m != AG_ROUTER_FOUND) {
        /* A preflight: CORS headers only where the request it announces would be allowed. */
        req->_no_cors = !preflight_allowed(c);
        answer_early(c);
        ag_http_respond(req, 204, NULL, NULL, 0);
        return false;
    }
    if (m == AG_ROUTER_NOT_FOUND) {
        refuse(c, pathfmt, 404, "not_found", "No route for this path");
        return false;
    }
    if (m == AG_ROUTER_METHOD_NOT_ALLOWED) {
        refuse(c, route->errfmt, 405, "method_not_allowed", "Method not allowed on this path");
        return false;
    }
    req->route = route;
    if (!check_browser(c, route) || !check_auth(c, route))
        return false;
    if (s->gate) {
        /* The gate may answer; prepare for that without committing to it. */
        bool discard = c->discard, linger = c->linger, ka = c->keep_alive;
        answer_early(c);
        if (!s->gate(req, s->gate_ud))
            return false;
        c->discard = discard;
        c->linger = linger;
        c->keep_alive = ka;
        req->_state = REQ_PARSING;
    }
    if (!(c->parser.flags & F_CHUNKED) && c->parser.content_length > 0 &&
        !ag_http_conn_reserve_body(c, (size_t)c->parser.content_length)) {
        ag_http_add_header(req, "Retry-After", AG_STR("1"));
        refuse(c, route->errfmt, 503, "overloaded",
               "Too many request bodies in flight; retry shortly");
        return false;
    }
    struct ag_str expect = ag_http_req_header(req, "expect");
    if (expect.p && !req->http10)
        ag_http_conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    c->phase = PH_BODY;
    c->body_start_us = ag_now_us();
    c->body_bytes = 0;
    ag_http_conn_set_deadline(c, s->lim.header_timeout_ms);
    return true;
}
