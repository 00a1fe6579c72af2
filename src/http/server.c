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
#include "http/router.h"

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
#define ARENA_CHUNK        8192
#define ARENA_CAP          (512u * 1024 * 1024)
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

static void req_free(struct ag_http_req *req)
{
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
    if (!ag_http_conn_keeps_alive(c)) {
        if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0)
            ag_http_conn_close(c);
        else
            c->close_after_write = true;
        return;
    }
    c->phase = PH_IDLE;
    if (!c->in_process)
        conn_process(c);
}

static void on_timer(uv_timer_t *t);

static void conn_arm_timer(struct ag_http_conn *c)
{
    uint64_t ms = 0;
    switch (c->phase) {
    case PH_IDLE:
    case PH_BODY:
        ms = c->srv->lim.idle_timeout_ms;
        break;
    case PH_HEADERS:
        ms = c->srv->lim.header_timeout_ms;
        break;
    case PH_BUSY:
        uv_timer_stop(&c->timer);
        return;
    }
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* A limit was hit while parsing: answer in the best format we can and close. */
static void conn_fail(struct ag_http_conn *c, int status, const char *kind, const char *msg)
{
    struct ag_http_req *req = c->req;
    c->keep_alive = false;
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
    if (c->phase == PH_HEADERS || c->phase == PH_BODY) {
        ag_log_debug("http: %s timed out reading a request", c->peer);
        conn_fail(c, 408, "request_timeout", "Request not received in time");
        return;
    }
    if (c->phase == PH_IDLE)
        ag_http_conn_close(c);
}

/* ---------------------------------------------------------------- dispatch */

static void dispatch(struct ag_http_conn *c)
{
    struct ag_http_server *s = c->srv;
    struct ag_http_req *req = c->req;
    const struct ag_route *route = NULL;
    req->_state = REQ_HANDLING;
    c->phase = PH_BUSY;
    uv_timer_stop(&c->timer);

    if (c->upgrade) {
        /* No WebSocket (or h2c) here: say so plainly, in the path's protocol, and close. */
        c->keep_alive = false;
        ag_http_respond_error(req, ag_router_errfmt_for_path(s->router, req->path), 400,
                              "upgrade_not_supported",
                              "Protocol upgrades (WebSocket) are not supported: send the request "
                              "over HTTP (with stream: true for server-sent events)");
        return;
    }
    enum ag_router_match m =
        ag_router_match(s->router, req->method, req->path, &route, req->params, &req->nparams);
    if (ag_str_eq_c(req->method, "OPTIONS") && m != AG_ROUTER_FOUND) {
        ag_http_respond(req, 204, NULL, NULL, 0);
        return;
    }
    if (m == AG_ROUTER_NOT_FOUND) {
        ag_http_respond_error(req, ag_router_errfmt_for_path(s->router, req->path), 404,
                              "not_found", "No route for this path");
        return;
    }
    if (m == AG_ROUTER_METHOD_NOT_ALLOWED) {
        ag_http_respond_error(req, route->errfmt, 405, "method_not_allowed",
                              "Method not allowed on this path");
        return;
    }
    req->route = route;
    if (s->auth) {
        enum ag_auth_result ar = ag_auth_check(s->auth, req, route->access);
        if (ar != AG_AUTH_ALLOW) {
            const char *msg = ar == AG_AUTH_MISSING ? "Missing API key"
                              : ar == AG_AUTH_WRONG ? "Invalid API key"
                                                    : "No API key is configured for this route";
            ag_http_respond_error(req, route->errfmt, 401, "invalid_api_key", msg);
            return;
        }
    }
    if (s->gate && !s->gate(req, s->gate_ud))
        return; /* the gate answered */
    route->handler(req, route->ud);
}

/* ---------------------------------------------------------------- llhttp callbacks */

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
    ptrdiff_t q = ag_str_find(req->target, '?');
    if (q >= 0) {
        req->path = ag_str_make(req->target.p, (size_t)q);
        req->query = ag_str_make(req->target.p + q + 1, req->target.len - (size_t)q - 1);
    } else {
        req->path = req->target;
        req->query = ag_str_make(req->target.p + req->target.len, 0);
    }
    /* Absolute-form targets ("http://host/path") are answered on their path. */
    if (ag_str_has_prefix(req->path, "http://") || ag_str_has_prefix(req->path, "https://")) {
        struct ag_str rest = ag_str_make(req->path.p + 8, req->path.len - 8);
        ptrdiff_t sl = ag_str_find(rest, '/');
        req->path = sl < 0 ? AG_STR("/") : ag_str_make(rest.p + sl, rest.len - (size_t)sl);
    }
    if (req->path.len == 0 || req->path.p[0] != '/') {
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
    if (expect.p) {
        if (!ag_str_eq_ci(expect, AG_STR("100-continue"))) {
            c->err_status = 417;
            c->err_msg = "Unsupported Expect header";
            return -1;
        }
        if (!req->http10)
            ag_http_conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
    c->phase = PH_BODY;
    conn_arm_timer(c);
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct ag_http_conn *c = p->data;
    if (ag_buf_append(&c->req->body, at, len)) {
        c->err_status = 413;
        c->err_msg = "Request body too large";
        return HPE_USER;
    }
    conn_arm_timer(c);
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct ag_http_conn *c = p->data;
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
    while (!c->closing) {
        if (c->req && c->req->_state != REQ_PARSING)
            break; /* a handler has the current request */
        if (c->paused) {
            llhttp_resume(&c->parser);
            c->paused = false;
        }
        if (c->in.len == 0)
            break;
        llhttp_errno_t e = llhttp_execute(&c->parser, c->in.data, c->in.len);
        if (e == HPE_OK) {
            ag_buf_reset(&c->in);
            break;
        }
        if (e == HPE_PAUSED) {
            size_t used = (size_t)(llhttp_get_error_pos(&c->parser) - c->in.data);
            ag_buf_consume(&c->in, used);
            c->paused = true;
            dispatch(c);
            continue;
        }
        ag_buf_reset(&c->in);
        if (c->err_status) {
            conn_fail(c, c->err_status,
                      c->err_status == 413   ? "request_too_large"
                      : c->err_status == 431 ? "headers_too_large"
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
    if (c->closing)
        return;
    if (!c->req || c->req->_state == REQ_PARSING)
        conn_arm_timer(c);
    /* Flow control: stop reading while too much unparsed input waits. */
    if (c->in.len > MAX_PENDING_INPUT && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
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
    free(s);
}
