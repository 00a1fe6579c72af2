/* tests/mock/reply.c: sends a mock response, whole or as paced SSE events, with the scripted
 * transport faults: a slow first byte, a disconnect after N events, a malformed event. A reply
 * owns a timer; if the client goes away (on_abort) the reply stops at once and is freed when the
 * timer has closed. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "core/mem.h"
#include "mock.h"

struct mock_reply {
    struct ag_http_req *req; /* NULL once finished or aborted */
    uv_timer_t timer;
    int status;
    char ctype[64];
    struct ag_buf body;   /* whole-body reply */
    struct ag_buf frames; /* SSE frames back to back */
    size_t *ends;         /* end offset of each frame */
    size_t nframes, cap_frames, next;
    char **headers; /* name, value pairs */
    size_t nheaders;
    uint32_t first_ms, between_ms;
    int disconnect_after, malformed_after;
    bool streaming, begun, waiting_drain;
};

struct mock_reply *mock_reply_new(struct ag_http_req *req)
{
    struct mock_reply *r = AG_NEW(struct mock_reply);
    r->req = req;
    ag_buf_init(&r->body, 0);
    ag_buf_init(&r->frames, 0);
    r->disconnect_after = r->malformed_after = -1;
    uv_timer_init(g_mock.loop, &r->timer);
    r->timer.data = r;
    return r;
}

void mock_reply_set_delay(struct mock_reply *r, uint32_t first_byte_ms, uint32_t between_ms)
{
    if (first_byte_ms) /* 0 keeps a slow-first-byte fault's delay */
        r->first_ms = first_byte_ms;
    r->between_ms = between_ms;
}

void mock_reply_set_fault(struct mock_reply *r, const struct mock_fault *f)
{
    if (f->delay_ms)
        r->first_ms = f->delay_ms;
    if (f->kind == FAULT_DISCONNECT)
        r->disconnect_after = f->after_events;
    else if (f->kind == FAULT_MALFORMED)
        r->malformed_after = f->after_events;
}

void mock_reply_add_header(struct mock_reply *r, const char *name, const char *value)
{
    r->headers = ag_realloc(r->headers, (r->nheaders + 2) * sizeof(char *));
    r->headers[r->nheaders++] = ag_strdup(name);
    r->headers[r->nheaders++] = ag_strdup(value);
}

void mock_reply_body(struct mock_reply *r, int status, const char *ctype, const char *body,
                     size_t len)
{
    r->status = status;
    r->streaming = false;
    ag_strlcpy(r->ctype, ctype, sizeof(r->ctype));
    ag_buf_reset(&r->body);
    ag_buf_append(&r->body, body, len);
}

void mock_reply_event(struct mock_reply *r, const char *frame, size_t len)
{
    if (r->nframes == r->cap_frames) {
        r->cap_frames = r->cap_frames ? r->cap_frames * 2 : 16;
        r->ends = ag_realloc(r->ends, r->cap_frames * sizeof(size_t));
    }
    ag_buf_append(&r->frames, frame, len);
    r->ends[r->nframes++] = r->frames.len;
    r->streaming = true;
    r->status = 200;
}

static void reply_closed(uv_handle_t *h)
{
    struct mock_reply *r = h->data;
    for (size_t i = 0; i < r->nheaders; i++)
        free(r->headers[i]);
    free(r->headers);
    free(r->ends);
    ag_buf_dispose(&r->body);
    ag_buf_dispose(&r->frames);
    free(r);
}

static void reply_free(struct mock_reply *r)
{
    if (r->streaming && r->begun)
        g_mock.streams_active--;
    r->req = NULL;
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, reply_closed);
}

static void on_abort(struct ag_http_req *req, void *ud)
{
    struct mock_reply *r = ud;
    (void)req;
    if (r->streaming && r->begun)
        g_mock.streams_aborted++;
    reply_free(r);
}

/* Drops the client's TCP connection mid-response: the server then closes the connection and calls
 * on_abort. */
static void drop_connection(struct mock_reply *r)
{
    ag_http_req_abort(r->req);
}

static void pump(struct mock_reply *r);

static void on_timer(uv_timer_t *t)
{
    pump(t->data);
}

static void on_drain(struct ag_http_req *req, void *ud)
{
    struct mock_reply *r = ud;
    (void)req;
    if (r->waiting_drain) {
        r->waiting_drain = false;
        pump(r);
    }
}

static void begin(struct mock_reply *r)
{
    struct ag_http_req *req = r->req;

    for (size_t i = 0; i + 1 < r->nheaders; i += 2)
        ag_http_add_header(req, r->headers[i], ag_str_c(r->headers[i + 1]));
    r->begun = true;
    if (!r->streaming) {
        req->on_abort = NULL;
        ag_http_respond(req, r->status, r->ctype, r->body.data, r->body.len);
        reply_free(r);
        return;
    }
    g_mock.streams_started++;
    g_mock.streams_active++;
    ag_http_add_header(req, "Cache-Control", ag_str_c("no-cache"));
    ag_http_stream_begin(req, 200, "text/event-stream");
    pump(r);
}

/* Sends the next event(s); paced ones one per timer tick. */
static void pump(struct mock_reply *r)
{
    struct ag_http_req *req = r->req;

    if (!req)
        return;
    if (!r->begun) {
        begin(r);
        return;
    }
    while (r->next < r->nframes) {
        size_t from = r->next ? r->ends[r->next - 1] : 0, to = r->ends[r->next];
        if ((int)r->next == r->disconnect_after) {
            drop_connection(r);
            return; /* on_abort follows */
        }
        if ((int)r->next == r->malformed_after) {
            static const char bad[] = "data: {\"response\": {\"candidates\": [{\"content\n"
                                      "event without data\n\n"
                                      "data: {not json at all}\n\n";
            ag_http_stream_write(req, bad, sizeof(bad) - 1);
            req->on_abort = NULL;
            ag_http_stream_end(req);
            reply_free(r);
            return;
        }
        if (ag_http_stream_write(req, r->frames.data + from, to - from) < 0)
            return; /* closed: on_abort follows */
        r->next++;
        if (r->between_ms && r->next < r->nframes) {
            uv_timer_start(&r->timer, on_timer, r->between_ms, 0);
            return;
        }
        if (ag_http_stream_congested(req)) {
            r->waiting_drain = true;
            return;
        }
    }
    if (r->disconnect_after >= 0 && (size_t)r->disconnect_after >= r->nframes) {
        drop_connection(r);
        return;
    }
    req->on_abort = NULL;
    ag_http_stream_end(req);
    reply_free(r);
}

void mock_reply_send(struct mock_reply *r)
{
    r->req->on_abort = on_abort;
    r->req->on_drain = on_drain;
    r->req->cb_ud = r;
    if (r->first_ms) {
        uv_timer_start(&r->timer, on_timer, r->first_ms, 0);
        return;
    }
    pump(r);
}

void mock_reply_json_event(struct mock_reply *r, const char *event, yyjson_mut_doc *doc)
{
    size_t len;
    char *json = yyjson_mut_write(doc, 0, &len);
    struct ag_buf f;

    ag_buf_init(&f, 0);
    if (event)
        ag_buf_printf(&f, "event: %s\n", event);
    ag_buf_append_c(&f, "data: ");
    ag_buf_append(&f, json, len);
    ag_buf_append_c(&f, "\n\n");
    mock_reply_event(r, f.data, f.len);
    ag_buf_dispose(&f);
    free(json);
}
