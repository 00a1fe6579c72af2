/* http/ws.c: WebSocket connections (see ws.h). wslay does the framing; its I/O callbacks are
 * bridged to the connection's input buffer (reads never block: an empty buffer is "would block")
 * and to ag_http_conn_write (which takes every byte, queueing what the socket does not). Complete
 * messages wait in a short queue (those wslay had read together: the socket is not read while one
 * waits) and run one request at a time, in order. */
#include "http/ws.h"
#include "http/server_internal.h"

#include "core/err.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/time.h"
#include "http/auth.h"

#include <openssl/evp.h>
#include <string.h>
#include <wslay/wslay.h>

#define GUID           "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define SSE_HOLD_MAX   (16u * 1024 * 1024) /* a stream's bytes not yet making a whole event */
#define CLOSE_WAIT_MS  2000u               /* after our close frame, the peer's answer */
#define MAX_ROUNDS     4096                /* messages run per read (each one completed at once) */
#define MAX_WAITING    8                   /* complete messages waiting for their turn */
#define UPGRADE_HEADER "Sec-WebSocket-Version: 13\r\n"

struct ag_http_memo {
    struct ag_http_server *srv;
    struct ag_buf key;
    struct ag_buf value;
    size_t reserved; /* bytes counted in srv->body_inflight */
};

struct ag_ws {
    struct ag_http_conn *conn;
    wslay_event_context_ptr ctx;
    /* The upgrade request, for every message's request. */
    struct ag_arena arena;
    struct ag_str method, target, path, query;
    struct ag_http_header *headers;
    size_t nheaders;
    const struct ag_route *route;
    struct ag_str params[AG_HTTP_MAX_PARAMS];
    size_t nparams;
    bool http10;
    bool authed;
    struct {
        char *data;
        size_t len, reserved; /* reserved: body budget it holds */
    } waiting[MAX_WAITING];   /* complete text messages, oldest first */
    size_t nwaiting;
    size_t msg_reserved; /* body budget held by the message being received */
    struct ag_buf sse;   /* stream bytes not yet a whole event */
    struct ag_buf data;  /* one event's data */
    bool closing;        /* we queued a close frame */
    bool in_recv;        /* inside wslay_event_recv: frames are queued, sent after it returns */
    struct ag_http_memo memo;
};

/* ---------------------------------------------------------------- handshake */

void ag_ws_accept_key(struct ag_str key, char out[29])
{
    unsigned char in[64 + sizeof(GUID)], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t n = key.len < 64 ? key.len : 64; /* a valid key has 24 characters */
    memcpy(in, key.p, n);
    memcpy(in + n, GUID, sizeof(GUID) - 1);
    EVP_Digest(in, n + sizeof(GUID) - 1, md, &mdlen, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen); /* 20 bytes: 28 chars and a NUL */
}

/* A Sec-WebSocket-Key is the base64 of 16 bytes: 22 characters and "==". */
static bool key_valid(struct ag_str k)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (k.len != 24 || k.p[22] != '=' || k.p[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++) {
        if (!memchr(b64, k.p[i], sizeof(b64) - 1))
            return false;
    }
    return true;
}

static void memo_clear(struct ag_http_memo *m)
{
    m->srv->body_inflight -= m->reserved;
    m->reserved = 0;
    ag_buf_dispose(&m->key);
    ag_buf_dispose(&m->value);
}

void ag_ws_free(struct ag_ws *ws)
{
    if (!ws)
        return;
    if (ws->ctx)
        wslay_event_context_free(ws->ctx);
    memo_clear(&ws->memo);
    ws->memo.srv->body_inflight -= ws->msg_reserved;
    for (size_t i = 0; i < ws->nwaiting; i++) {
        ws->memo.srv->body_inflight -= ws->waiting[i].reserved;
        free(ws->waiting[i].data);
    }
    ag_buf_dispose(&ws->sse);
    ag_buf_dispose(&ws->data);
    ag_arena_dispose(&ws->arena);
    free(ws->headers);
    free(ws);
}

/* ---------------------------------------------------------------- wslay callbacks */

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
    struct ag_ws *ws = ud;
    struct ag_http_conn *c = ws->conn;
    (void)flags;
    if (ws->nwaiting || c->in.len == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = c->in.len < len ? c->in.len : len;
    memcpy(buf, c->in.data, n);
    ag_buf_consume(&c->in, n);
    return (ssize_t)n;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
    struct ag_ws *ws = ud;
    (void)flags;
    if (ag_http_conn_write(ws->conn, (const char *)data, len)) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void close_with(struct ag_ws *ws, uint16_t code, const char *reason)
{
    if (!ws->closing &&
        wslay_event_queue_close(ws->ctx, code, (const uint8_t *)reason, strlen(reason)) == 0)
        ws->closing = true;
    wslay_event_shutdown_read(ws->ctx);
}

/* Data frames reserve their payload against the server's request-body budget as they begin. */
static void on_frame_start(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *arg, void *ud)
{
    struct ag_ws *ws = ud;
    struct ag_http_server *s = ws->conn->srv;
    (void)ctx;
    if (wslay_is_ctrl_frame(arg->opcode))
        return;
    if (arg->payload_length > s->lim.max_body_bytes - ws->msg_reserved)
        return; /* too big in any case: wslay refuses it with 1009 */
    size_t n = (size_t)arg->payload_length;
    if (n > s->lim.max_body_inflight - s->body_inflight) {
        ag_log_warn("http: %s: request-body budget spent, closing a WebSocket", ws->conn->peer);
        close_with(ws, 1013, "Too many request bodies in flight; retry shortly");
        return;
    }
    s->body_inflight += n;
    ws->msg_reserved += n;
}

static void release_msg(struct ag_ws *ws)
{
    ws->memo.srv->body_inflight -= ws->msg_reserved;
    ws->msg_reserved = 0;
}

static int send_text(struct ag_ws *ws, const char *p, size_t len);

/* What an error body may take: JSON escaping makes a byte at most 6 ("\u001f"). */
static size_t error_cap(const char *kind, const char *msg)
{
    return 6 * (strlen(msg) + (kind ? strlen(kind) : 0)) + AG_BUF_CAP_SHORT;
}

/* An error event in the route's error format, outside any request. */
static void send_error(struct ag_ws *ws, int status, const char *kind, const char *msg)
{
    struct ag_buf b, ev;
    ag_buf_init(&b, error_cap(kind, msg));
    ag_buf_init(&ev, error_cap(kind, msg) + AG_BUF_CAP_SHORT);
    const struct ag_errfmt *fmt = ws->route->errfmt ? ws->route->errfmt : &ag_errfmt_plain;
    fmt->write(&b, status, kind, msg);
    ag_buf_printf(&ev, "{\"type\":\"error\",\"status\":%d,", status);
    ag_buf_append(&ev, b.data + 1, b.len - 1); /* the body after its '{' */
    send_text(ws, ev.data, ev.len);
    ag_buf_dispose(&b);
    ag_buf_dispose(&ev);
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud)
{
    struct ag_ws *ws = ud;
    struct ag_http_conn *c = ws->conn;
    (void)ctx;
    if (wslay_is_ctrl_frame(arg->opcode))
        return; /* pong and close answered by wslay; pongs need nothing */
    if (arg->opcode != WSLAY_TEXT_FRAME) {
        release_msg(ws);
        send_error(ws, 400, "invalid_request_error", "Send JSON messages as text frames");
        return;
    }
    if (c->req || ws->nwaiting == MAX_WAITING) {
        release_msg(ws);
        send_error(ws, 409, "conflict",
                   "A response is already in progress on this connection: wait for it to end "
                   "before sending the next message");
        return;
    }
    /* wslay may have read several messages at once: they run in order. */
    ws->waiting[ws->nwaiting].data = ag_malloc(arg->msg_length + 1);
    memcpy(ws->waiting[ws->nwaiting].data, arg->msg, arg->msg_length);
    ws->waiting[ws->nwaiting].data[arg->msg_length] = '\0';
    ws->waiting[ws->nwaiting].len = arg->msg_length;
    ws->waiting[ws->nwaiting].reserved = ws->msg_reserved;
    ws->msg_reserved = 0;
    ws->nwaiting++;
}

/* ---------------------------------------------------------------- sending */

/* After sending: when wslay wants neither to read nor to write, the close handshake is over. */
static void flush(struct ag_ws *ws)
{
    struct ag_http_conn *c = ws->conn;
    if (c->closing)
        return;
    if (wslay_event_want_write(ws->ctx) && wslay_event_send(ws->ctx) < 0) {
        ag_http_conn_close(c);
        return;
    }
    if (wslay_event_want_read(ws->ctx) || wslay_event_want_write(ws->ctx))
        return;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0)
        ag_http_conn_close(c);
    else
        c->close_after_write = true;
}

static int send_frame(struct ag_ws *ws, uint8_t opcode, const char *p, size_t len)
{
    struct wslay_event_msg m = {.opcode = opcode, .msg = (const uint8_t *)p, .msg_length = len};
    if (ws->conn->closing || wslay_event_queue_msg(ws->ctx, &m) != 0)
        return AG_ECLOSED;
    if (!ws->in_recv)
        flush(ws);
    return ws->conn->closing ? AG_ECLOSED : 0;
}

static int send_text(struct ag_ws *ws, const char *p, size_t len)
{
    return send_frame(ws, WSLAY_TEXT_FRAME, p, len);
}

/* One server-sent event (without its blank line): its data as a text message; a comment alone is
 * a keep-alive and becomes a ping. Lines end with "\n" (the gateway's own encoders write them). */
static int send_event(struct ag_http_req *req, struct ag_str ev)
{
    struct ag_ws *ws = req->_ws;
    bool data = false, comment = false;
    ag_buf_reset(&ws->data);
    while (ev.len) {
        ptrdiff_t nl = ag_str_find(ev, '\n');
        struct ag_str line = ag_str_make(ev.p, nl < 0 ? ev.len : (size_t)nl);
        ev.p += line.len + (nl < 0 ? 0 : 1);
        ev.len -= line.len + (nl < 0 ? 0 : 1);
        if (ag_str_has_prefix(line, "data:")) {
            struct ag_str v = ag_str_make(line.p + 5, line.len - 5);
            if (v.len && v.p[0] == ' ')
                v = ag_str_make(v.p + 1, v.len - 1);
            if ((data && ag_buf_append(&ws->data, "\n", 1)) || ag_buf_append_str(&ws->data, v))
                return AG_ETOOBIG;
            data = true;
        } else if (line.len && line.p[0] == ':') {
            comment = true;
        }
    }
    if (data) {
        req->_bytes_out += ws->data.len;
        return send_text(ws, ws->data.data, ws->data.len);
    }
    return comment ? send_frame(ws, WSLAY_PING, "", 0) : 0;
}

int ag_ws_stream_write(struct ag_http_req *req, const void *data, size_t len)
{
    struct ag_ws *ws = req->_ws;
    int rc = 0;
    if (ag_buf_append(&ws->sse, data, len)) {
        ag_log_warn("http %s: a streamed event over %u bytes, closing the WebSocket", req->id,
                    SSE_HOLD_MAX);
        ag_http_conn_close(ws->conn);
        return AG_ECLOSED;
    }
    while (!rc) {
        ptrdiff_t end = ag_str_search(ag_buf_str(&ws->sse), AG_STR("\n\n"));
        if (end < 0)
            break;
        size_t n = (size_t)end;
        rc = send_event(req, ag_str_make(ws->sse.data, n));
        ag_buf_consume(&ws->sse, n + 2);
    }
    return rc;
}

int ag_ws_stream_end(struct ag_http_req *req)
{
    struct ag_ws *ws = req->_ws;
    int rc = ws->sse.len ? send_event(req, ag_buf_str(&ws->sse)) : 0;
    ag_buf_reset(&ws->sse);
    return rc;
}

int ag_ws_respond(struct ag_http_req *req, int status, const void *body, size_t len)
{
    struct ag_ws *ws = req->_ws;
    struct ag_str b = ag_str_trim(ag_str_make(body ? body : "", len));
    if (status < 400) {
        req->_bytes_out += b.len;
        return b.len ? send_text(ws, b.p, b.len) : 0;
    }
    /* An error: OpenAI's WebSocket error event, the body's members after type and status. */
    struct ag_buf ev;
    ag_buf_init(&ev, b.len + AG_BUF_CAP_SHORT);
    int rc = ag_buf_printf(&ev, "{\"type\":\"error\",\"status\":%d", status);
    if (!rc && b.len >= 2 && b.p[0] == '{') {
        struct ag_str rest = ag_str_trim(ag_str_make(b.p + 1, b.len - 1));
        if (rest.len && rest.p[0] != '}')
            rc = ag_buf_append(&ev, ",", 1);
        if (!rc)
            rc = ag_buf_append_str(&ev, rest);
    } else if (!rc) {
        rc = ag_buf_append_c(&ev, ",\"error\":{\"type\":\"server_error\",\"message\":");
        if (!rc)
            rc = ag_jsonw_quote(&ev, b.p, b.len);
        if (!rc)
            rc = ag_buf_append_c(&ev, "}}");
    }
    if (!rc) {
        req->_bytes_out += ev.len;
        rc = send_text(ws, ev.data, ev.len);
    }
    ag_buf_dispose(&ev);
    return rc;
}

/* ---------------------------------------------------------------- upgrade */

/* Copies what every message's request needs from the upgrade request into ws's arena. */
static int keep_request(struct ag_ws *ws, const struct ag_http_req *req)
{
    struct ag_arena *a = &ws->arena;
    ws->method = ag_arena_str(a, req->method);
    ws->target = ag_arena_str(a, req->target);
    ws->path = ag_arena_str(a, req->path);
    ws->query = ag_arena_str(a, req->query);
    ws->route = req->route;
    ws->http10 = req->http10;
    ws->authed = req->authed;
    ws->nparams = req->nparams;
    for (size_t i = 0; i < req->nparams; i++)
        ws->params[i] = ag_arena_str(a, req->params[i]);
    ws->nheaders = req->nheaders;
    ws->headers = ag_calloc(req->nheaders ? req->nheaders : 1, sizeof(*ws->headers));
    for (size_t i = 0; i < req->nheaders; i++) {
        ws->headers[i].name = ag_arena_str(a, req->headers[i].name);
        ws->headers[i].value = ag_arena_str(a, req->headers[i].value);
        if ((req->headers[i].name.len && !ws->headers[i].name.p) ||
            (req->headers[i].value.len && !ws->headers[i].value.p))
            return AG_ETOOBIG;
    }
    return 0;
}

static bool header_is(const struct ag_http_req *req, const char *name, const char *value)
{
    struct ag_str v = ag_http_req_header(req, name);
    return v.p && ag_str_eq_ci(ag_str_trim(v), ag_str_c(value));
}

void ag_ws_upgrade(struct ag_http_conn *c)
{
    struct ag_http_req *req = c->req;
    struct ag_http_server *s = c->srv;
    const struct ag_errfmt *fmt = req->route->errfmt;
    struct ag_str key = ag_str_trim(ag_http_req_header(req, "sec-websocket-key"));
    c->keep_alive = false; /* a refusal ends the connection, dropping what follows (frames) */
    c->linger = true;
    if (!header_is(req, "upgrade", "websocket") || req->http10 ||
        !ag_str_eq_c(req->method, "GET")) {
        ag_http_respond_error(req, fmt, 400, "upgrade_not_supported",
                              "Only a WebSocket upgrade (GET, HTTP/1.1, Upgrade: websocket) is "
                              "supported on this path");
        return;
    }
    if (!header_is(req, "sec-websocket-version", "13")) {
        ag_http_add_header(req, "Sec-WebSocket-Version", AG_STR("13"));
        ag_http_respond_error(req, fmt, 426, "upgrade_required",
                              "Unsupported WebSocket version: use version 13");
        return;
    }
    if (!key_valid(key)) {
        ag_http_respond_error(req, fmt, 400, "invalid_request_error",
                              "Sec-WebSocket-Key must be the base64 of 16 bytes");
        return;
    }

    struct ag_ws *ws = AG_NEW(struct ag_ws);
    ws->conn = c;
    ws->memo.srv = s;
    ag_arena_init(&ws->arena, 4096, s->lim.max_header_bytes * 4 + 65536);
    ag_buf_init(&ws->sse, SSE_HOLD_MAX);
    ag_buf_init(&ws->data, SSE_HOLD_MAX);
    ag_buf_init(&ws->memo.key, s->lim.max_body_bytes);
    ag_buf_init(&ws->memo.value, s->lim.max_body_bytes);
    struct wslay_event_callbacks cb = {
        .recv_callback = on_recv,
        .send_callback = on_send,
        .on_frame_recv_start_callback = on_frame_start,
        .on_msg_recv_callback = on_msg,
    };
    if (keep_request(ws, req) || wslay_event_context_server_init(&ws->ctx, &cb, ws)) {
        ag_ws_free(ws);
        ag_http_respond_error(req, fmt, 500, "server_error", "Cannot open the WebSocket");
        return;
    }
    wslay_event_config_set_max_recv_msg_length(ws->ctx, s->lim.max_body_bytes);

    char accept[29];
    struct ag_buf out;
    ag_ws_accept_key(key, accept);
    ag_buf_init(&out, AG_BUF_CAP_SHORT);
    ag_buf_printf(&out,
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nx-request-id: %s\r\n\r\n",
                  accept, req->id);
    req->_status = 101;
    req->_bytes_out = out.len;
    int rc = ag_http_conn_write(c, out.data, out.len);
    ag_buf_dispose(&out);
    c->ws = ws;
    c->keep_alive = true;
    c->linger = false;
    ag_log_debug("http %s: WebSocket open on %.*s from %s", req->id, (int)ws->path.len, ws->path.p,
                 c->peer);
    ag_http_req_complete(req); /* the upgrade's own request ends with the 101 */
    if (rc)
        ag_http_conn_close(c);
}

/* ---------------------------------------------------------------- messages */

/* Runs the waiting message as a request on the upgrade's route. */
static void run_message(struct ag_ws *ws)
{
    struct ag_http_conn *c = ws->conn;
    struct ag_http_server *s = c->srv;
    struct ag_http_req *req = ag_http_req_new(c);
    req->_ws = ws;
    req->method = ws->method;
    req->target = ws->target;
    req->path = ws->path;
    req->query = ws->query;
    req->http10 = ws->http10;
    req->route = ws->route;
    req->nparams = ws->nparams;
    memcpy(req->params, ws->params, sizeof(req->params));
    req->nheaders = ws->nheaders;
    req->headers = ag_calloc(ws->nheaders ? ws->nheaders : 1, sizeof(*req->headers));
    memcpy(req->headers, ws->headers, ws->nheaders * sizeof(*req->headers));
    /* The oldest waiting message becomes the body; its budget goes with it. */
    ag_buf_append(&req->body, ws->waiting[0].data, ws->waiting[0].len); /* within max_body */
    free(ws->waiting[0].data);
    req->_reserved = ws->waiting[0].reserved;
    ws->nwaiting--;
    memmove(&ws->waiting[0], &ws->waiting[1], ws->nwaiting * sizeof(ws->waiting[0]));
    req->_state = REQ_HANDLING;
    c->req = req;
    c->phase = PH_BUSY;
    uv_timer_stop(&c->timer);

    /* The key is checked again for each message: one revoked since the upgrade stops here. */
    const struct ag_route *route = ws->route;
    enum ag_keys_verdict kv = ag_auth_user_key(s->auth, req, route->access);
    enum ag_auth_result ar = s->auth ? ag_auth_check(s->auth, req, route->access) : AG_AUTH_ALLOW;
    if (ar != AG_AUTH_ALLOW) {
        bool ip = kv == AG_KEYS_IP_REFUSED;
        ag_http_respond_error(req, route->errfmt, ip ? 403 : 401,
                              ip ? "permission_denied" : "invalid_api_key",
                              kv != AG_KEYS_NOT_A_KEY ? ag_keys_verdict_message(kv)
                              : ar == AG_AUTH_MISSING ? "Missing API key"
                                                      : "Invalid API key");
        close_with(ws, 1008, "Authentication failed");
        flush(ws);
        return;
    }
    req->authed = ws->authed;
    if (s->gate && !s->gate(req, s->gate_ud))
        return;
    route->handler(req, route->ud);
}

void ag_ws_process(struct ag_http_conn *c)
{
    struct ag_ws *ws = c->ws;
    for (int i = 0; i < MAX_ROUNDS && !c->closing; i++) {
        if (!wslay_event_get_read_enabled(ws->ctx)) {
            ag_buf_reset(&c->in); /* closing: input is dropped */
        } else {
            ws->in_recv = true;
            int rc = wslay_event_recv(ws->ctx);
            ws->in_recv = false;
            if (rc < 0) {
                ag_http_conn_close(c);
                return;
            }
        }
        if (!ws->nwaiting || c->req || c->closing || !wslay_event_get_read_enabled(ws->ctx))
            break; /* nothing to run, one running, or the peer closed: what waits is dropped */
        run_message(ws);
    }
    flush(ws);
}

void ag_ws_request_done(struct ag_http_conn *c)
{
    struct ag_ws *ws = c->ws;
    ag_buf_reset(&ws->sse);
    if (c->srv->shutting_down) {
        ag_ws_going_away(c);
        return;
    }
    c->phase = PH_IDLE;
    c->deadline_us = ag_now_us() + c->srv->lim.idle_timeout_ms * 1000;
    ag_http_conn_arm_timer(c);
    if (!c->in_process)
        ag_http_conn_process(c);
}

static void close_now(struct ag_http_conn *c, uint16_t code, const char *reason)
{
    struct ag_ws *ws = c->ws;
    close_with(ws, code, reason);
    flush(ws);
    if (c->closing)
        return;
    /* Wait a little for the peer's close frame, then drop the connection. */
    c->deadline_us = ag_now_us() + CLOSE_WAIT_MS * 1000;
    ag_http_conn_arm_timer(c);
}

void ag_ws_timeout(struct ag_http_conn *c)
{
    if (c->ws->closing || c->req) {
        ag_http_conn_close(c);
        return;
    }
    close_now(c, 1000, "Idle timeout");
}

void ag_ws_going_away(struct ag_http_conn *c)
{
    if (!c->req && !c->closing)
        close_now(c, 1001, "Server shutting down");
}

/* ---------------------------------------------------------------- for handlers */

bool ag_http_req_is_websocket(const struct ag_http_req *req)
{
    return req->_ws != NULL;
}

struct ag_http_memo *ag_http_req_memo(const struct ag_http_req *req)
{
    return req->_ws ? &req->_ws->memo : NULL;
}

struct ag_str ag_http_memo_get(const struct ag_http_memo *m, struct ag_str key)
{
    if (!m || !m->key.data || !ag_str_eq(ag_buf_str(&m->key), key))
        return AG_STR_NULL;
    return ag_buf_str(&m->value);
}

int ag_http_memo_put(struct ag_http_memo *m, struct ag_str key, struct ag_str value)
{
    struct ag_http_server *s = m->srv;
    memo_clear(m);
    size_t n = key.len + value.len;
    if (n > s->lim.max_body_bytes || n > s->lim.max_body_inflight - s->body_inflight)
        return AG_ETOOBIG;
    if (ag_buf_append_str(&m->key, key) || ag_buf_append_str(&m->value, value)) {
        memo_clear(m);
        return AG_ETOOBIG;
    }
    s->body_inflight += n;
    m->reserved = n;
    return 0;
}
