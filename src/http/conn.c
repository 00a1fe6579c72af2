/* http/conn.c: one client connection's life. A request's memory and its completion (log line,
 * keep-alive or close, then the next pipelined request), the connection's deadlines (one timer
 * against a deadline fixed when each phase begins), reading the socket with flow control (a
 * Content-Length body's rest straight into the body's buffer, parse.c), and closing: at once, or
 * by lingering when the client may still be sending. */
#include "http/server.h"
#include "http/server_internal.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/time.h"
#include "http/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 4096
#define ARENA_CAP   (512u * 1024 * 1024)
/* Lingering close: how long and how much input is dropped after the last response before the
 * socket is closed (closing with unread input would reset the connection, and the client could
 * lose the response it has not read yet). */
#define LINGER_MS        2000u
#define LINGER_MAX_BYTES (4u * 1024 * 1024)
/* Read size: a connection starts with 16 KiB reads and doubles to 64 KiB while reads fill the
 * buffer (large bodies). The input buffer is released whenever it is empty, so an idle or
 * streaming connection holds none (it was 128 KiB per connection, most of a stream's memory);
 * large read buffers go back to the block cache (core/blocks.h), not to malloc. */
#define READ_CHUNK_MIN (16u * 1024)
#define READ_CHUNK_MAX (64u * 1024)

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
    /* the server's prefix and eight hex digits of the sequence, no printf on this path */
    size_t n = ag_strlcpy(req->id, s->id_prefix, sizeof(req->id) - 8);
    uint32_t seq = (uint32_t)++s->next_id;
    for (int i = 7; i >= 0; i--, seq >>= 4)
        req->id[n + (size_t)i] = "0123456789abcdef"[seq & 15];
    req->id[n + 8] = '\0';
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
    ag_buf_dispose(&req->body); /* sized from Content-Length in parse.c */
    ag_buf_dispose(&req->_extra_headers);
    ag_arena_dispose(&req->arena);
    free(req->headers);
    free(req);
}

static void conn_maybe_free(struct ag_http_conn *c);

/* The response is complete (or abandoned): log, free, and let the connection move on. */
void ag_http_req_complete(struct ag_http_req *req)
{
    if (req->_hold) {
        req->_hold = 2; /* ag_http_req_release completes it */
        return;
    }
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
        ag_http_server_maybe_done(s);
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
        ag_http_conn_process(c);
}

void ag_http_req_hold(struct ag_http_req *req)
{
    req->_hold = 1;
}

void ag_http_req_release(struct ag_http_req *req)
{
    bool complete = req->_hold == 2;
    req->_hold = 0;
    if (complete)
        ag_http_req_complete(req);
}

static void on_timer(uv_timer_t *t);

/* Each phase has a fixed deadline set when it begins (the body's moves with its minimum rate):
 * bytes arriving never restart a timer, so a client dripping one byte a second is dropped. */
void ag_http_conn_arm_timer(struct ag_http_conn *c)
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

void ag_http_conn_set_deadline(struct ag_http_conn *c, uint64_t ms)
{
    c->deadline_us = ag_now_us() + ms * 1000;
}

/* A limit was hit while parsing: answer in the best format we can and close (lingering, since the
 * rest of the request may still be on its way). */
void ag_http_conn_fail(struct ag_http_conn *c, int status, const char *kind, const char *msg)
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
        ag_http_conn_fail(c, 408, "request_timeout", "Request not received in time");
        return;
    }
    if (c->phase == PH_IDLE || c->phase == PH_DISCARD)
        ag_http_conn_close(c);
}

/* ---------------------------------------------------------------- reading */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ag_http_conn *c = h->data;
    (void)suggested;
    /* Inside a Content-Length body the bytes land where they belong, in one read if they can. */
    c->read_in_place = ag_http_conn_body_room(c, &buf->base, &buf->len);
    if (c->read_in_place)
        return;
    if (ag_buf_reserve_cached(&c->in, c->read_chunk - 1)) {
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
    if (c->read_in_place) {
        c->read_in_place = false;
        if (n > 0)
            ag_http_conn_feed_body(c, buf->base, (size_t)n);
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
        ag_http_conn_process(c);
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
    ag_http_server_maybe_done(s);
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

void ag_http_conn_accept(struct ag_http_server *s, uv_stream_t *ls)
{
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
    if (!ag_http_server_admit_peer(s, &c->tcp)) {
        /* Refused by address: reset before a byte is read or the connection is counted. */
        c->closing = true;
        uv_tcp_close_reset(&c->tcp, (uv_close_cb)free);
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
    ag_buf_init(&c->in, AG_BUF_UNBOUNDED); /* reading pauses past MAX_PENDING_INPUT */
    c->read_chunk = READ_CHUNK_MIN;
    ag_buf_init(&c->field, s->lim.max_header_bytes);
    ag_buf_init(&c->value, s->lim.max_header_bytes);
    ag_buf_init(&c->url, s->lim.max_header_bytes);
    ag_http_conn_parser_init(c);
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
    ag_http_conn_set_deadline(c, s->lim.idle_timeout_ms);
    ag_http_conn_arm_timer(c);
    c->reading = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0;
}
