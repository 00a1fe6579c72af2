/* relay/stream.c: an attempt's upstream answer on its way to the client (see call.h). Upstream
 * bytes go through the SSE parser and the upstream decoder into canonical events, which the
 * client's stream encoder turns into frames (or which are collected into one answer). Frames leave
 * once per upstream read (gathered over libcurl's callbacks for it); when the client's connection
 * is congested, the upstream transfer is paused until it drains. A streamed response gets the
 * protocol's keep-alive when idle.
 *
 * Stop codes of the parser and decoder callbacks: AG_ECLOSED when the request is already over
 * (the client went away), AG_ECANCELED when the client's answer is complete on its own (a stop
 * sequence matched) and the rest of the upstream transfer is not wanted. */
#include "relay/call.h"

#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "http/server.h"

#include <assert.h>
#include <string.h>

#define ERRBODY_CAP (64 * 1024)

static int emit(void *ud, const struct ag_event *ev);
static void on_ping(uv_timer_t *t);

/* ---------------------------------------------------------------- upstream callbacks */

int stream_on_head(struct ag_cloudcode_call *cc, int status, void *ud)
{
    struct call *c = ud;
    c->status = status;
    ag_attempt_log_head(&c->alog, status, ag_now_us());
    /* an answer that is no event stream (a JSON error) has no usage chunk: its bytes go out as
     * they came, not as the events the SSE parser would find in them (none) */
    if (c->pass_hides_usage && status >= 200 && status < 300 &&
        !ag_str_contains_ci(c->relay->upstream->header(cc, "content-type"), "text/event-stream"))
        c->pass_hides_usage = false;
    if (status >= 200 && status < 300 && c->creq->stream && c->ucall.stream)
        stream_begin(c);
    return 0;
}

int stream_on_data(struct ag_cloudcode_call *cc, const char *p, size_t n, void *ud)
{
    struct call *c = ud;
    if (c->state == CALL_DONE)
        return AG_ECLOSED;
    if (c->status < 200 || c->status >= 300) {
        if (c->errbody.len < ERRBODY_CAP)
            ag_buf_append(&c->errbody, p,
                          n < ERRBODY_CAP - c->errbody.len ? n : ERRBODY_CAP - c->errbody.len);
        return 0;
    }
    if (!c->ucall.stream) {
        if (ag_buf_append(&c->body, p, n))
            return AG_ETOOBIG;
        return 0;
    }
    /* Passthrough: the bytes go out as they came; the parser only reads the usage. A stream
     * that hides its usage chunk goes out event by event instead (stream_on_sse). */
    bool pending = c->out.len > 0;
    if (c->passthrough && !c->pass_hides_usage && ag_buf_append(&c->out, p, n))
        return AG_ETOOBIG;
    int rc = ag_sse_parser_feed(&c->sse, p, n);
    /* libcurl hands over one HTTP chunk (one upstream event, as a rule) per call, several for one
     * socket read: the frames gather in c->out and leave in one write once the read is handled,
     * when the ping timer fires at once (on_ping), before the loop next waits for input. */
    if (c->out.len && !pending && c->state == CALL_STREAMING)
        uv_timer_start(&c->ping, on_ping, 0, c->relay->keepalive_ms);
    if (rc && rc != AG_ECANCELED)
        c->stream_err = rc;
    return rc; /* AG_ECANCELED: the answer is complete, the transfer is cut */
}

/* Skips JSON whitespace from p (up to end). */
static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* True for a Chat Completions usage chunk: "choices" an empty array and "usage" an object. The
 * text is read only when it has an empty "choices" array somewhere, once per stream as a rule. */
static bool usage_chunk(struct ag_str data)
{
    const char *end = data.p + data.len, *p = data.p;
    bool empty = false;
    ptrdiff_t at;
    while (!empty &&
           (at = ag_str_search(ag_str_make(p, (size_t)(end - p)), ag_str_c("\"choices\""))) >= 0) {
        p = skip_ws(p + at + 9, end);
        if (p < end && *p == ':')
            p = skip_ws(p + 1, end);
        if (p < end && *p == '[') {
            p = skip_ws(p + 1, end);
            empty = p < end && *p == ']';
        }
    }
    if (!empty)
        return false;
    yyjson_doc *d = yyjson_read(data.p, data.len, 0);
    yyjson_val *root = yyjson_doc_get_root(d);
    yyjson_val *ch = yyjson_obj_get(root, "choices");
    bool yes = yyjson_is_arr(ch) && yyjson_arr_size(ch) == 0 &&
               yyjson_is_obj(yyjson_obj_get(root, "usage"));
    yyjson_doc_free(d);
    return yes;
}

/* A passthrough event written out again as the upstream framed it: its type, each data line. */
static int pass_event(struct call *c, const struct ag_sse_event *ev)
{
    int rc = 0;
    if (ev->event.len)
        rc = ag_buf_append_c(&c->out, "event: ") ||
             ag_buf_append(&c->out, ev->event.p, ev->event.len) || ag_buf_append_c(&c->out, "\n");
    const char *p = ev->data.len ? ev->data.p : "", *end = p + ev->data.len;
    while (!rc) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        rc = ag_buf_append_c(&c->out, "data: ") ||
             ag_buf_append(&c->out, p, (size_t)(line_end - p)) || ag_buf_append_c(&c->out, "\n");
        if (!nl)
            break;
        p = nl + 1;
    }
    return rc || ag_buf_append_c(&c->out, "\n") ? AG_ETOOBIG : 0;
}

int stream_on_sse(const struct ag_sse_event *ev, void *ud)
{
    struct call *c = ud;
    if (c->pass_hides_usage && c->state != CALL_DONE && !usage_chunk(ev->data) && pass_event(c, ev))
        return AG_ETOOBIG;
    if (ev->data.len == 0 || ag_str_eq_c(ev->data, "[DONE]"))
        return 0;
    int rc = c->up->decode_event(c->dec, ev->data, emit, c);
    if (rc == AG_EPARSE)
        return 0; /* an AG_EV_ERROR was emitted for it already */
    return rc;
}

/* True when the client's stream ended on its own (a stop sequence): the upstream was cut. */
static bool finished_early(const struct call *c)
{
    return c->enc && c->rp->stream_done && c->rp->stream_done(c->enc);
}

static void classify(struct call *c, struct ag_cloudcode_call *cc,
                     const struct ag_cloudcode_result *res, struct ag_errclass *ec);

void stream_on_done(struct ag_cloudcode_call *cc, const struct ag_cloudcode_result *res, void *ud)
{
    struct call *c = ud;
    struct ag_errclass ec;
    c->cc = NULL;
    assert(c->state == CALL_UPSTREAM || c->state == CALL_STREAMING);
    if (finished_early(c)) {
        call_succeeded(c);
        return;
    }
    if (res->err == 0 && c->status >= 200 && c->status < 300) {
        int rc = 0;
        if (c->ucall.stream) {
            rc = ag_sse_parser_finish(&c->sse);
            if (!rc && !c->stream_err)
                rc = c->up->decode_end(c->dec, emit, c);
        } else {
            rc = c->up->decode_response(c->dec, ag_buf_str(&c->body), emit, c);
        }
        if (rc && rc != AG_EPARSE && !c->stream_err)
            c->stream_err = rc;
        if (!c->stream_err || c->state == CALL_STREAMING || c->creq->stream || c->answer.failed ||
            c->passthrough) {
            call_succeeded(c);
            return;
        }
        ag_errclass_malformed(ag_strerror(c->stream_err), &ec);
    } else {
        classify(c, cc, res, &ec);
    }
    call_attempt_failed(c, &ec);
}

/* What a failed transfer or a non-2xx answer means. */
static void classify(struct call *c, struct ag_cloudcode_call *cc,
                     const struct ag_cloudcode_result *res, struct ag_errclass *ec)
{
    if (res->err && res->fail == AG_UPSTREAM_FAIL_CALLBACK && c->stream_err)
        ag_errclass_malformed(ag_strerror(c->stream_err), ec);
    else if (res->err)
        ag_errclass_transport(res->fail, res->message, ec);
    else
        ag_errclass_http(c->status, ag_buf_str(&c->errbody),
                         c->relay->upstream->header(cc, "retry-after"), ag_wall_s(), ec);
}

/* ---------------------------------------------------------------- events to frames */

static int emit(void *ud, const struct ag_event *ev)
{
    struct call *c = ud;
    if (c->state == CALL_DONE)
        return AG_ECLOSED;
    if (ev->type == AG_EV_USAGE)
        c->usage = ev->usage;
    else if (ev->type >= AG_EV_TEXT && ev->type <= AG_EV_TOOL_ARGS)
        ag_attempt_log_token(&c->alog, ag_now_us()); /* the first answer content */
    if (c->think)
        ag_thinking_capture_event(c->think, ev);
    if (!c->creq->stream)
        return ag_answer_add(&c->answer, ev);
    if (c->passthrough)
        return 0; /* the upstream's own bytes are the client's frames */
    stream_begin(c);
    if (!c->enc)
        return AG_ETOOBIG;
    /* Frames gather in c->out and leave once per upstream read (stream_on_data), not once per
     * event: one socket write for everything one read decoded. */
    int rc = c->cp->stream_event(c->enc, ev, &c->out);
    if (!rc && finished_early(c))
        return AG_ECANCELED; /* stops the parser; stream_on_data's result cuts the transfer */
    return rc;
}

static const char *content_type(const struct call *c, char *type, size_t cap)
{
    if (c->passthrough && c->cc) {
        /* the upstream's own type, when it is a plain one */
        struct ag_str v = c->relay->upstream->header(c->cc, "content-type");
        if (v.p && v.len && v.len < cap && !memchr(v.p, '\r', v.len) && !memchr(v.p, '\n', v.len)) {
            memcpy(type, v.p, v.len);
            type[v.len] = '\0';
            return type;
        }
        return "text/event-stream";
    }
    /* Gemini without alt=sse streams one JSON array. */
    return (!c->hints.sse && c->cp == &ag_proto_gemini) ? "application/json" : "text/event-stream";
}

void stream_begin(struct call *c)
{
    if (c->state != CALL_UPSTREAM)
        return;
    call_add_info_headers(c);
    call_set_state(c, CALL_STREAMING);
    call_mark_first_byte(c);
    char type[64];
    c->relay->conn->stream_begin(c->req, 200, content_type(c, type, sizeof(type)));
    call_shed_request(c); /* no retry can come: what only the attempts needed goes */
    if (!c->passthrough)
        c->enc = c->cp->stream_new(&c->ctx, c->creq, &c->hints);
    c->last_write_ms = ag_now_ms();
    uv_timer_start(&c->ping, on_ping, c->relay->keepalive_ms, c->relay->keepalive_ms);
}

void stream_close(struct call *c, const struct ag_proto_error *err)
{
    stream_begin(c); /* an empty answer still gets a well-formed stream */
    if (c->passthrough && err) {
        /* the upstream's frames went out as they were; the error comes in the protocol's own
         * frame, after them */
        c->enc = c->cp->stream_new(&c->ctx, c->creq, &c->hints);
        struct ag_event ev = {.type = AG_EV_ERROR, .error = *err};
        if (c->enc)
            c->cp->stream_event(c->enc, &ev, &c->out);
    } else if (c->enc) {
        if (err) {
            struct ag_event ev = {.type = AG_EV_ERROR, .error = *err};
            c->cp->stream_event(c->enc, &ev, &c->out);
        }
        c->cp->stream_finish(c->enc, &c->out);
        if (c->rp->on_finish)
            c->rp->on_finish(c->relay, &c->ctx, &c->owner, c->creq, NULL, c->enc);
    }
    stream_write_out(c);
    c->relay->conn->stream_end(c->req);
}

/* ---------------------------------------------------------------- flow */

void stream_write_out(struct call *c)
{
    if (c->out.len == 0)
        return;
    c->relay->conn->stream_write(c->req, c->out.data, c->out.len);
    ag_buf_reset(&c->out);
    c->last_write_ms = ag_now_ms();
    if (c->cc && !c->paused && c->relay->conn->stream_congested(c->req)) {
        c->paused = true;
        c->relay->upstream->pause(c->cc);
    }
}

void stream_on_drain(struct ag_http_req *req, void *ud)
{
    struct call *c = ud;
    if (c->paused && c->cc) {
        c->paused = false;
        c->relay->upstream->resume(c->cc);
    }
}

static void on_ping(uv_timer_t *t)
{
    struct call *c = t->data;
    if (c->state == CALL_STREAMING && c->out.len) {
        stream_write_out(c); /* the frames of the last upstream reads (stream_on_data) */
        return;
    }
    if (c->state != CALL_STREAMING || !c->cp->keepalive)
        return;
    if (ag_now_ms() - c->last_write_ms + 5 < c->relay->keepalive_ms)
        return;
    ag_buf_append_c(&c->out, c->cp->keepalive);
    stream_write_out(c);
}
