/* http/response.c: the writing side of a request — headers added by handlers, complete
 * responses, streamed (chunked) responses with backpressure, error bodies. Writes try the socket
 * directly first (uv_try_write) and queue only what did not fit. */
#include "http/server.h"
#include "http/server_internal.h"

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/cors.h"
#include "http/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- request accessors */

struct ag_str ag_http_req_header(const struct ag_http_req *req, const char *name)
{
    struct ag_str n = ag_str_c(name);
    if (!n.len)
        return AG_STR_NULL;
    unsigned char first = (unsigned char)(n.p[0] | 0x20); /* header names: letters, digits, '-' */
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct ag_str h = req->headers[i].name;
        if (h.len == n.len && (unsigned char)(h.p[0] | 0x20) == first && ag_str_eq_ci(h, n))
            return req->headers[i].value;
    }
    return AG_STR_NULL;
}

struct ag_str ag_http_req_query(const struct ag_http_req *req, const char *name)
{
    struct ag_str q = req->query, n = ag_str_c(name);
    while (q.len) {
        ptrdiff_t amp = ag_str_find(q, '&');
        struct ag_str kv = ag_str_make(q.p, amp < 0 ? q.len : (size_t)amp);
        ptrdiff_t eq = ag_str_find(kv, '=');
        struct ag_str k = ag_str_make(kv.p, eq < 0 ? kv.len : (size_t)eq);
        if (ag_str_eq(k, n))
            return eq < 0 ? ag_str_make(kv.p + kv.len, 0)
                          : ag_str_make(kv.p + eq + 1, kv.len - (size_t)eq - 1);
        if (amp < 0)
            break;
        q.p += amp + 1;
        q.len -= (size_t)amp + 1;
    }
    return AG_STR_NULL;
}

void ag_http_req_abort(struct ag_http_req *req)
{
    if (req->_conn && !req->_conn->closing)
        ag_http_conn_close(req->_conn);
}

bool ag_http_req_closed(const struct ag_http_req *req)
{
    return !req->_conn || req->_conn->closing;
}

int ag_http_add_header(struct ag_http_req *req, const char *name, struct ag_str value)
{
    if (req->_state >= REQ_STREAMING)
        return AG_ESTATE;
    /* Header injection guard: values never carry CR/LF into the response. */
    for (size_t i = 0; i < value.len; i++) {
        if (value.p[i] == '\r' || value.p[i] == '\n')
            return AG_EINVAL;
    }
    int rc = ag_buf_append_c(&req->_extra_headers, name);
    if (!rc)
        rc = ag_buf_append(&req->_extra_headers, ": ", 2);
    if (!rc)
        rc = ag_buf_append_str(&req->_extra_headers, value);
    if (!rc)
        rc = ag_buf_append(&req->_extra_headers, "\r\n", 2);
    return rc;
}

/* ---------------------------------------------------------------- writing */

static void after_write(uv_write_t *w, int status)
{
    struct write_req *wr = (struct write_req *)w;
    struct ag_http_conn *c = wr->conn;
    free(wr);
    if (status < 0) {
        ag_http_conn_close(c);
        return;
    }
    size_t q = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
    if (c->congested && q <= c->srv->lim.stream_high_water / 4) {
        c->congested = false;
        if (c->req && c->req->on_drain && !c->closing)
            c->req->on_drain(c->req, c->req->cb_ud);
    }
    if (c->close_after_write && q == 0)
        ag_http_conn_end(c);
}

/* Writes bufs in order, trying the socket directly first (one writev, no epoll_ctl when it all
 * fits); what the socket does not take is copied into one queued write. */
static int conn_writev(struct ag_http_conn *c, const uv_buf_t *bufs, unsigned nbufs)
{
    size_t total = 0, skip = 0;
    if (c->closing)
        return AG_ECLOSED;
    for (unsigned i = 0; i < nbufs; i++)
        total += bufs[i].len;
    if (total == 0)
        return 0;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
        int n = uv_try_write((uv_stream_t *)&c->tcp, bufs, nbufs);
        if (n == (int)total)
            return 0;
        if (n > 0) {
            skip = (size_t)n;
        } else if (n != UV_EAGAIN && n != UV_ENOSYS) {
            ag_http_conn_close(c);
            return AG_ECLOSED;
        }
    }
    struct write_req *wr = ag_malloc(sizeof(*wr) + total - skip);
    wr->conn = c;
    wr->len = total - skip;
    char *p = wr->data;
    for (unsigned i = 0; i < nbufs; i++) {
        size_t len = bufs[i].len;
        const char *base = bufs[i].base;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        memcpy(p, base + skip, len - skip);
        p += len - skip;
        skip = 0;
    }
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)wr->len);
    int rc = uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, after_write);
    if (rc < 0) {
        free(wr);
        ag_http_conn_close(c);
        return AG_ECLOSED;
    }
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > c->srv->lim.stream_high_water)
        c->congested = true;
    return 0;
}

int ag_http_conn_write(struct ag_http_conn *c, const char *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    return conn_writev(c, &b, 1);
}

/* What a response head may take: the fixed lines, CORS and the Content-Type (each well under the
 * slack) and the headers the handler added. */
static size_t head_cap(const struct ag_http_req *req)
{
    return AG_BUF_CAP_SHORT + req->_extra_headers.len;
}

static int head_begin(struct ag_http_req *req, struct ag_buf *h, int status, const char *ctype)
{
    struct ag_http_conn *c = req->_conn;
    /* Appends, no printf: this runs once per response. */
    int rc = ag_buf_append_c(h, req->http10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    if (!rc)
        rc = ag_buf_append_int(h, status);
    if (!rc)
        rc = ag_buf_append(h, " ", 1);
    if (!rc)
        rc = ag_buf_append_c(h, ag_http_reason(status));
    if (!rc && ctype) {
        rc = ag_buf_append_c(h, "\r\nContent-Type: ");
        rc = rc ? rc : ag_buf_append_c(h, ctype);
    }
    if (!rc)
        rc = ag_buf_append_c(h, "\r\nx-request-id: ");
    if (!rc)
        rc = ag_buf_append_c(h, req->id);
    if (!rc)
        rc = ag_buf_append(h, "\r\n", 2);
    if (!rc && c && c->srv->cors && !req->_no_cors)
        rc = ag_cors_append_headers(c->srv->cors, req, h);
    if (!rc && req->_extra_headers.len)
        rc = ag_buf_append_str(h, ag_buf_str(&req->_extra_headers));
    return rc;
}

bool ag_http_conn_keeps_alive(struct ag_http_conn *c)
{
    return c->keep_alive && !c->srv->shutting_down && !c->closing;
}

int ag_http_respond(struct ag_http_req *req, int status, const char *content_type, const void *body,
                    size_t len)
{
    struct ag_http_conn *c = req->_conn;
    int rc = 0;
    if (req->_state >= REQ_STREAMING)
        return AG_ESTATE;
    req->_status = status;
    if (req->_ws) {
        /* A WebSocket message's answer leaves as a message (http/ws.h). */
        rc = ag_http_req_closed(req) ? AG_ECLOSED : ag_ws_respond(req, status, body, len);
        ag_http_req_complete(req);
        return rc;
    }
    if (!ag_http_req_closed(req)) {
        struct ag_buf out;
        bool head = ag_str_eq_c(req->method, "HEAD");
        bool no_body = status == 204 || status == 304 || status < 200;
        ag_buf_init(&out, head_cap(req) + len);
        rc = ag_buf_reserve(&out, 512 + req->_extra_headers.len + (head || no_body ? 0 : len));
        rc = rc ? rc : head_begin(req, &out, status, content_type);
        if (!rc && !no_body)
            rc = ag_buf_append_c(&out, "Content-Length: ");
        if (!rc && !no_body)
            rc = ag_buf_append_int(&out, (long long)len);
        if (!rc && !no_body)
            rc = ag_buf_append(&out, "\r\n", 2);
        if (!rc && !ag_http_conn_keeps_alive(c))
            rc = ag_buf_append_c(&out, "Connection: close\r\n");
        if (!rc)
            rc = ag_buf_append(&out, "\r\n", 2);
        if (!rc && !head && !no_body)
            rc = ag_buf_append(&out, body, len);
        if (!rc) {
            req->_bytes_out += out.len;
            rc = ag_http_conn_write(c, out.data, out.len);
        }
        ag_buf_dispose(&out);
    } else {
        rc = AG_ECLOSED;
    }
    ag_http_req_complete(req);
    return rc;
}

int ag_http_respond_json(struct ag_http_req *req, int status, const char *json, size_t len)
{
    return ag_http_respond(req, status, "application/json", json, len);
}

int ag_http_stream_begin(struct ag_http_req *req, int status, const char *content_type)
{
    struct ag_http_conn *c = req->_conn;
    int rc;
    if (req->_state >= REQ_STREAMING)
        return AG_ESTATE;
    req->_state = REQ_STREAMING;
    req->_status = status;
    if (ag_http_req_closed(req))
        return AG_ECLOSED;
    if (req->_ws)
        return 0; /* no head: the events leave as messages */
    struct ag_buf out;
    ag_buf_init(&out, head_cap(req));
    req->_stream_chunked = !req->http10;
    if (!req->_stream_chunked)
        c->keep_alive = false;
    rc = head_begin(req, &out, status, content_type);
    if (!rc && req->_stream_chunked)
        rc = ag_buf_append_c(&out, "Transfer-Encoding: chunked\r\n");
    if (!rc && !ag_http_conn_keeps_alive(c))
        rc = ag_buf_append_c(&out, "Connection: close\r\n");
    if (!rc)
        rc = ag_buf_append_c(&out, "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n\r\n");
    if (!rc) {
        req->_bytes_out += out.len;
        rc = ag_http_conn_write(c, out.data, out.len);
    }
    ag_buf_dispose(&out);
    return rc;
}

/* Writes a chunk's size line ("<hex>\r\n", lowercase, no leading zeros) into head, which holds
 * 2 * sizeof(size_t) + 2 bytes; returns its length. Once per streamed write: no printf. */
static size_t chunk_head(char *head, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char d[2 * sizeof(size_t)];
    size_t i = sizeof(d);
    do {
        d[--i] = hex[len & 15];
        len >>= 4;
    } while (len);
    size_t n = sizeof(d) - i;
    memcpy(head, d + i, n);
    head[n] = '\r';
    head[n + 1] = '\n';
    return n + 2;
}

int ag_http_stream_write(struct ag_http_req *req, const void *data, size_t len)
{
    if (req->_state != REQ_STREAMING)
        return AG_ESTATE;
    if (ag_http_req_closed(req))
        return AG_ECLOSED;
    if (len == 0)
        return 0;
    if (req->_ws)
        return ag_ws_stream_write(req, data, len);
    req->_bytes_out += len;
    if (!req->_stream_chunked)
        return ag_http_conn_write(req->_conn, data, len);
    /* One chunk = size line, data, CRLF, written together without copying the data. */
    char head[2 * sizeof(size_t) + 2];
    size_t hl = chunk_head(head, len);
    uv_buf_t bufs[3] = {uv_buf_init(head, (unsigned)hl), uv_buf_init((char *)data, (unsigned)len),
                        uv_buf_init("\r\n", 2)};
    return conn_writev(req->_conn, bufs, 3);
}

size_t ag_http_stream_pending(const struct ag_http_req *req)
{
    if (ag_http_req_closed(req))
        return 0;
    return uv_stream_get_write_queue_size((const uv_stream_t *)&req->_conn->tcp);
}

bool ag_http_stream_congested(const struct ag_http_req *req)
{
    return !ag_http_req_closed(req) && req->_conn->congested;
}

int ag_http_stream_end(struct ag_http_req *req)
{
    int rc = 0;
    if (req->_state != REQ_STREAMING)
        return AG_ESTATE;
    if (!ag_http_req_closed(req)) {
        if (req->_ws)
            rc = ag_ws_stream_end(req);
        else if (req->_stream_chunked)
            rc = ag_http_conn_write(req->_conn, "0\r\n\r\n", 5);
        else
            req->_conn->close_after_write = true;
    } else {
        rc = AG_ECLOSED;
    }
    ag_http_req_complete(req);
    return rc;
}

/* Answers with an error body in the route's protocol format. */
void ag_http_respond_error(struct ag_http_req *req, const struct ag_errfmt *fmt, int status,
                           const char *kind, const char *msg)
{
    struct ag_buf b;
    /* JSON escaping makes a byte at most 6 ("\u001f"); the rest of the shape is short */
    ag_buf_init(&b, 6 * (strlen(msg) + (kind ? strlen(kind) : 0)) + AG_BUF_CAP_SHORT);
    if (!fmt)
        fmt = &ag_errfmt_plain;
    fmt->write(&b, status, kind, msg);
    ag_http_respond(req, status, fmt->content_type, b.data, b.len);
    ag_buf_dispose(&b);
}
