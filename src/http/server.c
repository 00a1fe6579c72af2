/* http/server.c: connections, llhttp parsing, limits and timeouts, dispatch (see server.h).
 *
 * One connection handles one request at a time. When llhttp finishes a message we pause it; the
 * bytes after the pause point stay in conn->in until the response completes, then parsing resumes.
 * That keeps pipelined responses in order without a response queue. The socket keeps being read
 * while a request is in flight so a client that goes away is noticed at once. */
#include "http/server.h"
#include "http/server_internal.h"

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rand.h"
#include "core/time.h"
#include "http/auth.h"
#include "http/cors.h"
#include "http/guard.h"
#include "http/router.h"
#include "http/ws.h"

#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEF_MAX_BODY       (100u * 1024 * 1024)
#define DEF_MAX_HEADER     (64u * 1024)
#define DEF_MAX_HEADERS    100u
#define DEF_HEADER_TIMEOUT 30000u
#define DEF_IDLE_TIMEOUT   120000u
#define DEF_HIGH_WATER     (256u * 1024)
#define DEF_MAX_CONNS      8192u
#define DEF_BODY_INFLIGHT  (256u * 1024 * 1024)
#define DEF_MIN_BODY_RATE  4096u
/* A refused request's body up to this size is read and dropped so the connection stays usable;
 * a larger (or chunked) one ends the connection with a lingering close. */
#define DISCARD_MAX (64u * 1024)
/* Lingering close: how long and how much input is dropped after the last response before the
 * socket is closed (closing with unread input would reset the connection, and the client could
 * lose the response it has not read yet). */
#define LINGER_MS        2000u
#define LINGER_MAX_BYTES (4u * 1024 * 1024)
/* Failed admin authentication: per address and minute (admin.login_max_failures), then a lockout
 * of a minute that doubles with every further one, up to an hour. */
#define AUTH_WINDOW_MS   60000
#define AUTH_LOCK_MS     60000
#define AUTH_LOCK_MAX_MS 3600000
#define ARENA_CHUNK      8192
#define ARENA_CAP        (512u * 1024 * 1024)
/* Input held while a request is in flight (pipelined requests, stray bytes) before we stop reading.
 */
#define MAX_PENDING_INPUT (1024u * 1024)
/* Read size: a connection starts with 16 KiB reads and doubles to 64 KiB while reads fill the
 * buffer (large bodies). The input buffer is released whenever it is empty, so an idle or
 * streaming connection holds none (it was 128 KiB per connection, most of a stream's memory). */
#define READ_CHUNK_MIN (16u * 1024)
#define READ_CHUNK_MAX (64u * 1024)

static llhttp_settings_t settings;
static void conn_process(struct ag_http_conn *c);
static void maybe_done(struct ag_http_server *s);

/* ---------------------------------------------------------------- request lifecycle */

static struct ag_http_req *req_new(struct ag_http_conn *c)
{
    struct ag_http_server *s = c->srv;
    struct ag_http_req *req = AG_NEW(struct ag_http_req);
    ag_arena_init(&req->arena, ARENA_CHUNK, ARENA_CAP);
    ag_buf_init(&req->body, s->lim.max_body_bytes);
    ag_buf_init(&req->_extra_headers, 64 * 1024);
    req->_conn = c;
    req->start_us = ag_now_us();
    snprintf(req->id, sizeof(req->id), "%s%08llx", s->id_prefix,
             (unsigned long long)(++s->next_id & 0xffffffffu));
    ag_strlcpy(req->client_ip, c->peer, sizeof(req->client_ip));
    return req;
}

struct ag_http_req *ag_http_req_new(struct ag_http_conn *c)
{
    c->srv->nactive++;
    return req_new(c);
}

static void req_free(struct ag_http_req *req)
{
    req->_conn->srv->body_inflight -= req->_reserved;
    ag_buf_dispose(&req->body);
    ag_buf_dispose(&req->_extra_headers);
    ag_arena_dispose(&req->arena);
    free(req->headers);
    free(req);
}

static void conn_maybe_free(struct ag_http_conn *c);

/* The response is complete (or abandoned): log, free, and let the connection move on. */
void ag_http_req_complete(struct ag_http_req *req)
{
    struct ag_http_conn *c = req->_conn;
    struct ag_http_server *s = c->srv;
    uint64_t dur = ag_now_us() - req->start_us;
    req->_state = REQ_DONE;
    if (s->log_cb)
        s->log_cb(req, req->_status, req->_bytes_out, dur, s->log_ud);
    ag_log_info("%.*s %.*s %d %llu %.3fms id=%s", (int)req->method.len, req->method.p,
                (int)req->path.len, req->path.p, req->_status, (unsigned long long)req->_bytes_out,
                (double)dur / 1000.0, req->id);
    s->nactive--;
    c->req = NULL;
    req_free(req);
    c->congested = false;
    if (c->closing) {
        conn_maybe_free(c);
        maybe_done(s);
        return;
    }
    if (c->ws) {
        ag_ws_request_done(c); /* a WebSocket waits for its next message */
        return;
    }
    if (!ag_http_conn_keeps_alive(c)) {
        if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0)
            ag_http_conn_end(c);
        else
            c->close_after_write = true;
        return;
    }
    c->phase = c->discard ? PH_DISCARD : PH_IDLE;
    c->deadline_us =
        ag_now_us() + (c->discard ? s->lim.header_timeout_ms : s->lim.idle_timeout_ms) * 1000;
    if (!c->in_process)
        conn_process(c);
}

static void on_timer(uv_timer_t *t);

/* Each phase has a fixed deadline set when it begins (the body's moves with its minimum rate):
 * bytes arriving never restart a timer, so a client dripping one byte a second is dropped. */
static void conn_arm_timer(struct ag_http_conn *c)
{
    if (c->phase == PH_BUSY || c->lingering) {
        if (c->phase == PH_BUSY)
            uv_timer_stop(&c->timer);
        return;
    }
    uint64_t now = ag_now_us();
    uint64_t ms = c->deadline_us > now ? (c->deadline_us - now + 999) / 1000 : 0;
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

void ag_http_conn_arm_timer(struct ag_http_conn *c)
{
    conn_arm_timer(c);
}

static void set_deadline(struct ag_http_conn *c, uint64_t ms)
{
    c->deadline_us = ag_now_us() + ms * 1000;
}

/* A limit was hit while parsing: answer in the best format we can and close (lingering, since the
 * rest of the request may still be on its way). */
static void conn_fail(struct ag_http_conn *c, int status, const char *kind, const char *msg)
{
    struct ag_http_req *req = c->req;
    c->keep_alive = false;
    c->linger = true;
    if (!req) {
        req = req_new(c);
        c->req = req;
        c->srv->nactive++;
    }
    if (!req->path.p) {
        req->path = AG_STR("/");
        req->method = AG_STR("GET");
    }
    req->_state = REQ_HANDLING;
    c->phase = PH_BUSY;
    uv_timer_stop(&c->timer);
    ag_http_respond_error(req, ag_router_errfmt_for_path(c->srv->router, req->path), status, kind,
                          msg);
}

static void on_timer(uv_timer_t *t)
{
    struct ag_http_conn *c = t->data;
    if (c->lingering) {
        ag_http_conn_close(c);
        return;
    }
    if (c->ws) {
        ag_ws_timeout(c);
        return;
    }
    if (c->phase == PH_HEADERS || c->phase == PH_BODY) {
        ag_log_debug("http: %s timed out reading a request", c->peer);
        conn_fail(c, 408, "request_timeout", "Request not received in time");
        return;
    }
    if (c->phase == PH_IDLE || c->phase == PH_DISCARD)
        ag_http_conn_close(c);
}

/* ---------------------------------------------------------------- admission and dispatch */

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
    enum ag_auth_result ar = s->auth ? ag_auth_check(s->auth, req, route->access) : AG_AUTH_ALLOW;
    enum ag_http_admin_verdict v = AG_HTTP_ADMIN_NO;
    if (ar != AG_AUTH_ALLOW && admin && s->admin_check)
        v = s->admin_check(req, s->admin_ud);
    if (v == AG_HTTP_ADMIN_OK)
        ar = AG_AUTH_ALLOW;
    if (ar == AG_AUTH_ALLOW) {
        req->authed = key_required(s->auth, route->access);
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

static bool reserve_body(struct ag_http_conn *c, size_t n)
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
static bool admit(struct ag_http_conn *c)
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
        !reserve_body(c, (size_t)c->parser.content_length)) {
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
    set_deadline(c, s->lim.header_timeout_ms);
    return true;
}

/* Runs when a request is complete: hands it to its route's handler. */
static void dispatch(struct ag_http_conn *c)
{
    struct ag_http_req *req = c->req;
    req->_state = REQ_HANDLING;
    c->phase = PH_BUSY;
    uv_timer_stop(&c->timer);

    if (c->upgrade) {
        /* Admitted on a route that takes WebSockets: 101, or a refusal of the handshake. */
        ag_ws_upgrade(c);
        return;
    }
    req->route->handler(req, req->route->ud);
}

/* ---------------------------------------------------------------- llhttp callbacks */

/* Splits req->target into path and query. An absolute-form target ("http://host/p?q") is answered
 * on its path ("/p"); an authority without a path means "/". Returns -1 for a malformed target. */
static int split_target(struct ag_http_req *req)
{
    struct ag_str t = req->target;
    size_t skip = 0;
    if (ag_str_has_prefix_ci(t, "http://"))
        skip = 7;
    else if (ag_str_has_prefix_ci(t, "https://"))
        skip = 8;
    if (skip) {
        struct ag_str rest = ag_str_make(t.p + skip, t.len - skip);
        size_t a = 0;
        while (a < rest.len && rest.p[a] != '/' && rest.p[a] != '?' && rest.p[a] != '#')
            a++;
        if (a == 0 || (a < rest.len && rest.p[a] == '#'))
            return -1; /* no authority, or a fragment, which a request never carries */
        if (a == rest.len || rest.p[a] == '?') {
            /* "http://host" or "http://host?q": the path is "/" */
            char *u = ag_arena_alloc(&req->arena, rest.len - a + 2);
            u[0] = '/';
            memcpy(u + 1, rest.p + a, rest.len - a);
            u[rest.len - a + 1] = '\0';
            t = ag_str_make(u, rest.len - a + 1);
        } else {
            t = ag_str_make(rest.p + a, rest.len - a);
        }
    }
    ptrdiff_t q = ag_str_find(t, '?');
    if (q >= 0) {
        req->path = ag_str_make(t.p, (size_t)q);
        req->query = ag_str_make(t.p + q + 1, t.len - (size_t)q - 1);
    } else {
        req->path = t;
        req->query = ag_str_make(t.p + t.len, 0);
    }
    return req->path.len && req->path.p[0] == '/' ? 0 : -1;
}

static int count_header_bytes(struct ag_http_conn *c, size_t n)
{
    c->header_bytes += n;
    if (c->header_bytes > c->srv->lim.max_header_bytes) {
        c->err_status = 431;
        c->err_msg = "Request headers too large";
        return HPE_USER;
    }
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    struct ag_http_conn *c = p->data;
    c->req = req_new(c);
    c->srv->nactive++;
    c->header_bytes = 0;
    c->hcap = 0;
    ag_buf_reset(&c->url);
    ag_buf_reset(&c->field);
    ag_buf_reset(&c->value);
    c->phase = PH_HEADERS;
    c->discard = false;
    set_deadline(c, c->srv->lim.header_timeout_ms);
    conn_arm_timer(c);
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct ag_http_conn *c = p->data;
    if (count_header_bytes(c, len))
        return HPE_USER;
    ag_buf_append(&c->url, at, len);
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct ag_http_conn *c = p->data;
    if (count_header_bytes(c, len))
        return HPE_USER;
    ag_buf_append(&c->field, at, len);
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct ag_http_conn *c = p->data;
    if (count_header_bytes(c, len))
        return HPE_USER;
    ag_buf_append(&c->value, at, len);
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    struct ag_http_conn *c = p->data;
    struct ag_http_req *req = c->req;
    if (req->nheaders >= c->srv->lim.max_headers) {
        c->err_status = 431;
        c->err_msg = "Too many request headers";
        return HPE_USER;
    }
    if (req->nheaders == c->hcap) {
        c->hcap = c->hcap ? c->hcap * 2 : 16;
        req->headers = ag_realloc(req->headers, c->hcap * sizeof(*req->headers));
    }
    struct ag_http_header *h = &req->headers[req->nheaders++];
    h->name = ag_arena_str(&req->arena, ag_buf_str(&c->field));
    h->value = ag_arena_str(&req->arena, ag_str_trim(ag_buf_str(&c->value)));
    ag_buf_reset(&c->field);
    ag_buf_reset(&c->value);
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct ag_http_conn *c = p->data;
    struct ag_http_req *req = c->req;
    const char *m = llhttp_method_name((llhttp_method_t)p->method);
    req->method = ag_str_c(m);
    req->http10 = p->http_major == 1 && p->http_minor == 0;
    req->target = ag_arena_str(&req->arena, ag_buf_str(&c->url));
    if (split_target(req)) {
        c->err_status = 400;
        c->err_msg = "Malformed request target";
        return -1;
    }
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->srv->lim.max_body_bytes) {
        c->err_status = 413;
        c->err_msg = "Request body too large";
        return -1;
    }
    struct ag_str expect = ag_http_req_header(req, "expect");
    if (expect.p && !ag_str_eq_ci(expect, AG_STR("100-continue"))) {
        c->err_status = 417;
        c->err_msg = "Unsupported Expect header";
        return -1;
    }
    c->keep_alive = llhttp_should_keep_alive(p);
    /* Pause before the body: admission (conn_process) decides whether it is read at all. */
    c->admit_pending = true;
    return HPE_PAUSED;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct ag_http_conn *c = p->data;
    struct ag_http_server *s = c->srv;
    if (c->discard)
        return 0;
    if ((p->flags & F_CHUNKED) && !reserve_body(c, len)) {
        c->err_status = 503;
        c->err_msg = "Too many request bodies in flight; retry shortly";
        return HPE_USER;
    }
    if (ag_buf_append(&c->req->body, at, len)) {
        c->err_status = 413;
        c->err_msg = "Request body too large";
        return HPE_USER;
    }
    /* The body must average lim.min_body_rate after a grace of the header timeout. */
    c->body_bytes += len;
    c->deadline_us = c->body_start_us + s->lim.header_timeout_ms * 1000 +
                     c->body_bytes * 1000000 / s->lim.min_body_rate;
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct ag_http_conn *c = p->data;
    if (c->discard) {
        /* Answered at admission; the connection goes on with the next request. */
        c->discard = false;
        c->phase = PH_IDLE;
        set_deadline(c, c->srv->lim.idle_timeout_ms);
        return 0;
    }
    c->keep_alive = llhttp_should_keep_alive(p);
    c->upgrade = p->upgrade;
    return HPE_PAUSED;
}

/* ---------------------------------------------------------------- input processing */

/* Feeds buffered input to the parser and dispatches complete requests, in order. */
static void conn_process(struct ag_http_conn *c)
{
    if (c->in_process)
        return;
    c->in_process = true;
    while (!c->closing && !c->lingering) {
        if (c->ws) {
            ag_ws_process(c); /* after an upgrade: frames */
            break;
        }
        if (c->linger && !c->req)
            break; /* answered early; the rest of the input is dropped while lingering */
        if (c->req && c->req->_state != REQ_PARSING)
            break; /* a handler has the current request */
        if (c->paused) {
            llhttp_resume(&c->parser);
            c->paused = false;
        }
        /* After admission the parser runs once even without input: a message without a body
         * completes there. */
        if (c->in.len == 0 && !c->run_empty)
            break;
        c->run_empty = false;
        const char *base = c->in.data ? c->in.data : "";
        llhttp_errno_t e = llhttp_execute(&c->parser, base, c->in.len);
        if (e == HPE_OK) {
            ag_buf_reset(&c->in);
            break;
        }
        if (e == HPE_PAUSED) {
            size_t used = (size_t)(llhttp_get_error_pos(&c->parser) - base);
            ag_buf_consume(&c->in, used);
            c->paused = true;
            if (c->admit_pending) {
                c->admit_pending = false;
                c->run_empty = admit(c) || c->discard;
            } else {
                dispatch(c);
            }
            continue;
        }
        ag_buf_reset(&c->in);
        if (c->err_status) {
            conn_fail(c, c->err_status,
                      c->err_status == 413   ? "request_too_large"
                      : c->err_status == 431 ? "headers_too_large"
                      : c->err_status == 503 ? "overloaded"
                                             : "bad_request",
                      c->err_msg);
        } else if (e == HPE_PAUSED_UPGRADE) {
            conn_fail(c, 400, "bad_request", "Protocol upgrade is not supported here");
        } else {
            ag_log_debug("http: %s parse error: %s", c->peer, llhttp_get_error_reason(&c->parser));
            conn_fail(c, 400, "bad_request", "Malformed HTTP request");
        }
        break;
    }
    c->in_process = false;
    if (c->closing || c->lingering)
        return;
    if (!c->req || c->req->_state == REQ_PARSING)
        conn_arm_timer(c);
    /* Flow control: stop reading while too much unparsed input waits. */
    if (c->in.len > MAX_PENDING_INPUT && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

void ag_http_conn_process(struct ag_http_conn *c)
{
    conn_process(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ag_http_conn *c = h->data;
    (void)suggested;
    if (ag_buf_reserve(&c->in, c->read_chunk - 1)) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    buf->base = c->in.data + c->in.len;
    buf->len = c->in._alloc - c->in.len - 1;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct ag_http_conn *c = st->data;
    if (n < 0) {
        ag_http_conn_close(c);
        return;
    }
    if (c->lingering || (c->linger && !c->req)) {
        c->lingered += (size_t)n;
        ag_buf_dispose(&c->in);
        if (c->lingered > LINGER_MAX_BYTES)
            ag_http_conn_close(c);
        return;
    }
    if (n > 0) {
        if ((size_t)n == buf->len && c->read_chunk < READ_CHUNK_MAX)
            c->read_chunk *= 2;
        c->in.len += (size_t)n;
        c->in.data[c->in.len] = '\0';
        if (c->in.len > MAX_PENDING_INPUT + 65536 && c->req && c->req->_state != REQ_PARSING) {
            uv_read_stop(st);
            c->reading = false;
        }
        conn_process(c);
    }
    /* Nothing waits in the buffer (the parser copies what it keeps): give the memory back. */
    if (c->in.len == 0)
        ag_buf_dispose(&c->in);
}

/* ---------------------------------------------------------------- connection lifetime */

static void conn_maybe_free(struct ag_http_conn *c)
{
    if (c->handles > 0 || c->req || c->in_close_cb)
        return;
    struct ag_http_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    ag_ws_free(c->ws);
    ag_buf_dispose(&c->in);
    ag_buf_dispose(&c->field);
    ag_buf_dispose(&c->value);
    ag_buf_dispose(&c->url);
    free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct ag_http_conn *c = h->data;
    c->handles--;
    if (c->handles > 0)
        return;
    /* Safe point: both handles closed, no callback of ours is running for this connection. */
    struct ag_http_server *s = c->srv;
    struct ag_http_req *req = c->req;
    c->in_close_cb = true;
    if (req && req->_state != REQ_DONE) {
        if (req->_state == REQ_PARSING) {
            /* Never handed to anyone: no response, no log line. */
            c->req = NULL;
            c->srv->nactive--;
            req_free(req);
        } else if (req->on_abort) {
            ag_http_abort_cb cb = req->on_abort;
            req->on_abort = NULL;
            cb(req, req->cb_ud);
            if (c->req == req) {
                req->_status = req->_status ? req->_status : 499;
                ag_http_req_complete(req);
            }
        }
        /* else: the handler still holds req and completes it later (responses are dropped). */
    }
    c->in_close_cb = false;
    conn_maybe_free(c);
    maybe_done(s);
}

static void on_shutdown(uv_shutdown_t *sr, int status)
{
    struct ag_http_conn *c = sr->data;
    if (status < 0)
        ag_http_conn_close(c);
}

void ag_http_conn_end(struct ag_http_conn *c)
{
    if (c->closing || c->lingering)
        return;
    if (!c->linger || !c->reading) {
        ag_http_conn_close(c);
        return;
    }
    /* Send FIN after the answer, keep reading (and dropping) until the client closes, or a
     * bounded time or amount has passed. */
    c->lingering = true;
    ag_buf_dispose(&c->in);
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        ag_http_conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timer, LINGER_MS, 0);
}

void ag_http_conn_close(struct ag_http_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_connection(uv_stream_t *ls, int status)
{
    struct ag_http_server *s = ls->data;
    if (status < 0 || s->shutting_down)
        return;
    if (s->nconns >= s->lim.max_connections) {
        /* Over the limit: accept and close at once, so the backlog does not fill with them. */
        uv_tcp_t *t = AG_NEW(uv_tcp_t);
        uv_tcp_init(s->loop, t);
        if (uv_accept(ls, (uv_stream_t *)t) == 0)
            uv_tcp_close_reset(t, (uv_close_cb)free);
        else
            uv_close((uv_handle_t *)t, (uv_close_cb)free);
        s->refused_conns++;
        uint64_t now = ag_now_us();
        if (now - s->last_refusal_log_us > 10000000) {
            s->last_refusal_log_us = now;
            ag_log_warn("http: %zu connections open (server.max_connections): refusing new ones "
                        "(%llu so far)",
                        s->nconns, (unsigned long long)s->refused_conns);
        }
        return;
    }
    struct ag_http_conn *c = AG_NEW(struct ag_http_conn);
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    c->handles = 1;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
        return;
    }
    uv_timer_init(s->loop, &c->timer);
    c->timer.data = c;
    c->handles = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    ag_buf_init(&c->in, 0);
    c->read_chunk = READ_CHUNK_MIN;
    ag_buf_init(&c->field, 0);
    ag_buf_init(&c->value, 0);
    ag_buf_init(&c->url, 0);
    llhttp_init(&c->parser, HTTP_REQUEST, &settings);
    c->parser.data = c;
    uv_tcp_nodelay(&c->tcp, 1);

    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof(c->peer));
        else
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof(c->peer));
    }
    c->phase = PH_IDLE;
    set_deadline(c, s->lim.idle_timeout_ms);
    conn_arm_timer(c);
    c->reading = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0;
}

/* ---------------------------------------------------------------- server */

struct ag_http_server *ag_http_server_new(uv_loop_t *loop, struct ag_router *router,
                                          const struct ag_http_limits *limits)
{
    static bool settings_ready;
    if (!settings_ready) {
        llhttp_settings_init(&settings);
        settings.on_message_begin = on_message_begin;
        settings.on_url = on_url;
        settings.on_header_field = on_header_field;
        settings.on_header_value = on_header_value;
        settings.on_header_value_complete = on_header_value_complete;
        settings.on_headers_complete = on_headers_complete;
        settings.on_body = on_body;
        settings.on_message_complete = on_message_complete;
        settings_ready = true;
    }
    struct ag_http_server *s = AG_NEW(struct ag_http_server);
    s->loop = loop;
    s->router = router;
    if (limits)
        s->lim = *limits;
    if (!s->lim.max_body_bytes)
        s->lim.max_body_bytes = DEF_MAX_BODY;
    if (!s->lim.max_header_bytes)
        s->lim.max_header_bytes = DEF_MAX_HEADER;
    if (!s->lim.max_headers)
        s->lim.max_headers = DEF_MAX_HEADERS;
    if (!s->lim.header_timeout_ms)
        s->lim.header_timeout_ms = DEF_HEADER_TIMEOUT;
    if (!s->lim.idle_timeout_ms)
        s->lim.idle_timeout_ms = DEF_IDLE_TIMEOUT;
    if (!s->lim.stream_high_water)
        s->lim.stream_high_water = DEF_HIGH_WATER;
    if (!s->lim.max_connections)
        s->lim.max_connections = DEF_MAX_CONNS;
    if (!s->lim.max_body_inflight)
        s->lim.max_body_inflight = DEF_BODY_INFLIGHT;
    if (!s->lim.min_body_rate)
        s->lim.min_body_rate = DEF_MIN_BODY_RATE;
    s->limiter = ag_auth_limiter_new(5, AUTH_WINDOW_MS, AUTH_LOCK_MS, AUTH_LOCK_MAX_MS);
    if (ag_random_hex(s->id_prefix, sizeof(s->id_prefix), 4))
        ag_strlcpy(s->id_prefix, "00000000", sizeof(s->id_prefix));
    return s;
}

void ag_http_server_set_log_cb(struct ag_http_server *s, ag_http_log_cb cb, void *ud)
{
    s->log_cb = cb;
    s->log_ud = ud;
}

void ag_http_server_set_auth(struct ag_http_server *s, const struct ag_auth_policy *policy)
{
    s->auth = policy;
}

void ag_http_server_set_cors(struct ag_http_server *s, const struct ag_cors *cors)
{
    s->cors = cors;
}

void ag_http_server_set_hosts(struct ag_http_server *s, const struct ag_host_policy *hosts)
{
    s->hosts = hosts;
}

void ag_http_server_set_admin_check(struct ag_http_server *s, ag_http_admin_cb cb, void *ud)
{
    s->admin_check = cb;
    s->admin_ud = ud;
}

void ag_http_server_set_auth_failures(struct ag_http_server *s, int64_t per_minute)
{
    ag_auth_limiter_set_max(s->limiter, per_minute);
}

bool ag_http_req_auth_allowed(const struct ag_http_req *req, int64_t *retry_after_s)
{
    return ag_auth_limiter_allowed(req->_conn->srv->limiter, req->client_ip,
                                   (int64_t)(ag_now_us() / 1000), retry_after_s);
}

void ag_http_req_auth_failed(const struct ag_http_req *req)
{
    ag_auth_limiter_failed(req->_conn->srv->limiter, req->client_ip, (int64_t)(ag_now_us() / 1000));
}

void ag_http_req_auth_succeeded(const struct ag_http_req *req)
{
    ag_auth_limiter_succeeded(req->_conn->srv->limiter, req->client_ip);
}

void ag_http_server_set_gate(struct ag_http_server *s, ag_http_gate_cb gate, void *ud)
{
    s->gate = gate;
    s->gate_ud = ud;
}

int ag_http_server_listen(struct ag_http_server *s, const char *host, int port)
{
    struct sockaddr_storage ss;
    int rc;
    if (s->nlisten == MAX_LISTENERS)
        return UV_ENOBUFS;
    if (strchr(host, ':'))
        rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss);
    else
        rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
    if (rc)
        return rc;
    uv_tcp_t *l = &s->listeners[s->nlisten];
    uv_tcp_init(s->loop, l);
    l->data = s;
    unsigned flags = strchr(host, ':') ? UV_TCP_IPV6ONLY : 0;
    rc = uv_tcp_bind(l, (struct sockaddr *)&ss, flags);
    if (!rc)
        rc = uv_listen((uv_stream_t *)l, 4096, on_connection);
    if (rc) {
        uv_close((uv_handle_t *)l, NULL);
        return rc;
    }
    if (s->nlisten == 0) {
        int len = sizeof(ss);
        uv_tcp_getsockname(l, (struct sockaddr *)&ss, &len);
        s->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                : ((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    s->nlisten++;
    s->nlisten_open++;
    return 0;
}

int ag_http_server_port(const struct ag_http_server *s)
{
    return s->port;
}

size_t ag_http_server_connections(const struct ag_http_server *s)
{
    return s->nconns;
}

size_t ag_http_server_active_requests(const struct ag_http_server *s)
{
    return s->nactive;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct ag_http_server *s = h->data;
    s->nlisten_open--;
    maybe_done(s);
}

static void on_grace_closed(uv_handle_t *h)
{
    struct ag_http_server *s = h->data;
    s->grace_open = false;
    maybe_done(s);
}

static void maybe_done(struct ag_http_server *s)
{
    if (!s->shutting_down || s->nconns > 0 || s->nlisten_open > 0)
        return;
    if (s->grace_open) {
        if (!uv_is_closing((uv_handle_t *)&s->grace))
            uv_close((uv_handle_t *)&s->grace, on_grace_closed);
        return;
    }
    if (s->done) {
        void (*done)(void *) = s->done;
        s->done = NULL;
        done(s->done_ud);
    }
}

static void on_grace(uv_timer_t *t)
{
    struct ag_http_server *s = t->data;
    struct ag_http_conn *c = s->conns, *next;
    ag_log_warn("shutdown: grace period over, closing %zu connection(s)", s->nconns);
    for (; c; c = next) {
        next = c->next;
        ag_http_conn_close(c);
    }
}

void ag_http_server_shutdown(struct ag_http_server *s, uint64_t grace_ms, void (*done)(void *ud),
                             void *ud)
{
    if (s->shutting_down)
        return;
    s->shutting_down = true;
    s->done = done;
    s->done_ud = ud;
    for (int i = 0; i < s->nlisten; i++)
        uv_close((uv_handle_t *)&s->listeners[i], on_listener_closed);
    struct ag_http_conn *c = s->conns, *next;
    for (; c; c = next) {
        next = c->next;
        if (c->ws) {
            ag_ws_going_away(c); /* now when idle, else once its message is answered */
            continue;
        }
        if (!c->req || c->req->_state == REQ_PARSING) {
            if (c->phase == PH_IDLE)
                ag_http_conn_close(c);
            /* a request mid-arrival may finish; keep-alive is off from now on */
        }
    }
    uv_timer_init(s->loop, &s->grace);
    s->grace.data = s;
    s->grace_open = true;
    uv_timer_start(&s->grace, on_grace, grace_ms ? grace_ms : 1, 0);
    maybe_done(s);
}

void ag_http_server_free(struct ag_http_server *s)
{
    if (!s)
        return;
    ag_auth_limiter_free(s->limiter);
    free(s);
}
