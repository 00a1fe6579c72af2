/* http/parse.c: a connection's input. Buffered bytes are fed to llhttp; its callbacks build the
 * request and enforce the header and body limits; the parser pauses when the headers are complete
 * (admission, http/admission.c, decides whether the body is read) and when the message is complete
 * (the request goes to its route's handler). Bytes after the pause point stay in the connection's
 * input until the response is complete, which keeps pipelined responses in order. The rest of an
 * admitted Content-Length body is read in place, into the body's own buffer (body_room,
 * feed_body at the end). */
#include "http/server.h"
#include "http/server_internal.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/time.h"
#include "http/router.h"
#include "http/ws.h"

#include <assert.h>
#include <llhttp.h>
#include <stdlib.h>
#include <string.h>

static llhttp_settings_t settings;

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
    c->req = ag_http_req_new(c);
    c->header_bytes = 0;
    c->hcap = 0;
    ag_buf_reset(&c->url);
    ag_buf_reset(&c->field);
    ag_buf_reset(&c->value);
    c->phase = PH_HEADERS;
    c->discard = false;
    ag_http_conn_set_deadline(c, c->srv->lim.header_timeout_ms);
    ag_http_conn_arm_timer(c);
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
    /* Pause before the body: admission (ag_http_conn_admit) decides whether it is read at all. */
    c->admit_pending = true;
    return HPE_PAUSED;
}

/* One allocation for a Content-Length body, n bytes (admission has checked them against the
 * limits), from the block cache when it is large: no realloc doubling, no fresh pages. */
static int reserve_body(struct ag_http_conn *c, size_t n)
{
    return ag_buf_reserve_cached(&c->req->body, n);
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct ag_http_conn *c = p->data;
    struct ag_http_server *s = c->srv;
    if (c->discard)
        return 0;
    if ((p->flags & F_CHUNKED) && !ag_http_conn_reserve_body(c, len)) {
        c->err_status = 503;
        c->err_msg = "Too many request bodies in flight; retry shortly";
        return HPE_USER;
    }
    struct ag_buf *body = &c->req->body;
    if (body->data && at == body->data + body->len) {
        /* Read in place (ag_http_conn_body_room): the bytes are already where they belong. */
        assert(len < body->_alloc - body->len);
        body->len += len;
        body->data[body->len] = '\0';
    } else {
        /* llhttp has already counted this span off content_length. */
        if (!body->data && (p->flags & F_CONTENT_LENGTH) &&
            reserve_body(c, len + (size_t)p->content_length)) {
            c->err_status = 413;
            c->err_msg = "Request body too large";
            return HPE_USER;
        }
        if (ag_buf_append(body, at, len)) {
            c->err_status = 413;
            c->err_msg = "Request body too large";
            return HPE_USER;
        }
        s->body_copied += len;
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
        ag_http_conn_set_deadline(c, c->srv->lim.idle_timeout_ms);
        return 0;
    }
    c->keep_alive = llhttp_should_keep_alive(p);
    c->upgrade = p->upgrade;
    return HPE_PAUSED;
}

void ag_http_parse_setup(void)
{
    static bool settings_ready;
    if (settings_ready)
        return;
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

void ag_http_conn_parser_init(struct ag_http_conn *c)
{
    llhttp_init(&c->parser, HTTP_REQUEST, &settings);
    c->parser.data = c;
}

/* ---------------------------------------------------------------- input processing */

/* The parser stopped on a message boundary: the headers are complete (admission decides about
 * the body) or the message is (its handler runs). */
static void on_pause(struct ag_http_conn *c)
{
    c->paused = true;
    if (c->admit_pending) {
        c->admit_pending = false;
        c->run_empty = ag_http_conn_admit(c) || c->discard;
    } else {
        dispatch(c);
    }
}

/* The parser stopped on an error: answer it (a limit hit in a callback, or malformed input). */
static void on_parse_error(struct ag_http_conn *c, llhttp_errno_t e)
{
    if (c->err_status) {
        ag_http_conn_fail(c, c->err_status,
                          c->err_status == 413   ? "request_too_large"
                          : c->err_status == 431 ? "headers_too_large"
                          : c->err_status == 503 ? "overloaded"
                                                 : "bad_request",
                          c->err_msg);
    } else if (e == HPE_PAUSED_UPGRADE) {
        ag_http_conn_fail(c, 400, "bad_request", "Protocol upgrade is not supported here");
    } else {
        ag_log_debug("http: %s parse error: %s", c->peer, llhttp_get_error_reason(&c->parser));
        ag_http_conn_fail(c, 400, "bad_request", "Malformed HTTP request");
    }
}

/* Feeds buffered input to the parser and dispatches complete requests, in order. */
void ag_http_conn_process(struct ag_http_conn *c)
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
            on_pause(c);
            continue;
        }
        ag_buf_reset(&c->in);
        on_parse_error(c, e);
        break;
    }
    c->in_process = false;
    if (c->closing || c->lingering)
        return;
    if (!c->req || c->req->_state == REQ_PARSING)
        ag_http_conn_arm_timer(c);
    /* Flow control: stop reading while too much unparsed input waits. */
    if (c->in.len > MAX_PENDING_INPUT && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* ---------------------------------------------------------------- bodies read in place */

bool ag_http_conn_body_room(struct ag_http_conn *c, char **at, size_t *n)
{
    struct ag_http_req *req = c->req;
    const llhttp_t *p = &c->parser;
    /* Only the plain case: an admitted Content-Length body, the parser inside it and nothing
     * buffered before it. Chunked bodies, upgrades and everything else go through c->in. */
    if (c->phase != PH_BODY || !req || req->_state != REQ_PARSING || c->in.len || c->paused ||
        c->run_empty || c->discard || c->linger || c->ws || c->closing || c->lingering ||
        p->upgrade || !(p->flags & F_CONTENT_LENGTH) || (p->flags & F_CHUNKED) ||
        p->content_length == 0 || llhttp_get_errno(p) != HPE_OK)
        return false;
    size_t rest = (size_t)p->content_length; /* what llhttp has not seen yet */
    if (!req->body.data && reserve_body(c, rest))
        return false;
    if (req->body._alloc - req->body.len <= rest)
        return false; /* not sized for it (cannot happen: sized from Content-Length) */
    *at = req->body.data + req->body.len;
    *n = rest;
    return true;
}

void ag_http_conn_feed_body(struct ag_http_conn *c, const char *at, size_t n)
{
    assert(!c->in_process); /* called from the read callback, never from inside the parser */
    if (c->closing || c->lingering)
        return;
    c->in_process = true;
    llhttp_errno_t e = llhttp_execute(&c->parser, at, n);
    if (e == HPE_PAUSED) {
        /* The message ended; offered no more than its rest, the parser used every byte. Should
         * it not have, the rest is input like any other. */
        size_t used = (size_t)(llhttp_get_error_pos(&c->parser) - at);
        if (used < n)
            (void)ag_buf_append(&c->in, at + used, n - used); /* c->in has no cap */
        on_pause(c);
    } else if (e != HPE_OK) {
        on_parse_error(c, e);
    }
    c->in_process = false;
    /* What follows (the next pipelined request, timers, flow control) as for any input. */
    ag_http_conn_process(c);
}
