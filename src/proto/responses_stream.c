/* proto/responses_stream.c: canonical events -> the Responses API's named SSE events
 * ("event: <type>\ndata: <json>\n\n", every payload with its type and a sequence_number from 0).
 *
 * A stream opens with response.created and response.in_progress (at the first event), then each
 * output item goes added -> deltas -> done: a message item (content_part.added,
 * output_text.delta..., output_text.done, content_part.done), a reasoning item
 * (reasoning_summary_part.added, reasoning_summary_text.delta..., .done, part.done), or a
 * function_call item (function_call_arguments.delta..., .done). Only one item is open at a time;
 * a change of kind closes it. The stream ends with response.completed or response.incomplete
 * carrying the whole response, or, when the upstream fails, response.failed followed by an error
 * event. Only choice 0 is rendered (the Responses API has no n). */
#include <string.h>

#include "core/err.h"
#include "proto/responses.h"
#include "proto/toolid.h"

struct rs_stream {
    struct ag_client_stream base;
    struct ag_proto_ctx ctx; /* a copy: the relay's lives as long, the driver's may not */
    const struct ag_request *req;
    int64_t seq;
    bool started, ended;
    struct ag_ritem *items;
    size_t n_items, cap;
    struct ag_ritem *open; /* the open item, or NULL */
    bool summary_open;     /* the open reasoning item has its summary part */
    bool cut;              /* a length / safety stop: the last item is incomplete */
    struct ag_rstatus status;
    /* Where one event's document is built (doc_new): emptied when it is sent, so a long stream's
     * item and snapshot events do not pile up in the request's arena. Empty between events. */
    struct ag_arena scratch;
};

#define RS_SCRATCH_CHUNK 4096u

struct ag_client_stream *ag_responses_stream_new(const struct ag_proto_ctx *ctx,
                                                 const struct ag_request *req,
                                                 const struct ag_client_hints *hints)
{
    (void)hints;
    struct rs_stream *st = ag_arena_calloc(ctx->arena, sizeof(*st));
    if (!st)
        return NULL;
    st->base.proto = &ag_proto_openai_responses;
    st->ctx = *ctx;
    st->req = req;
    ag_arena_init(&st->scratch, RS_SCRATCH_CHUNK, ctx->arena->cap);
    return &st->base;
}

/* A payload object for one event; fields follow, sequence_number is added by send(). */
static yyjson_mut_val *event_obj(yyjson_mut_doc *d, const char *type)
{
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, o, "type", type);
    return o;
}

static int send(struct rs_stream *st, yyjson_mut_doc *d, yyjson_mut_val *o, struct ag_buf *out)
{
    const char *type = yyjson_mut_get_str(yyjson_mut_obj_get(o, "type"));
    yyjson_mut_obj_add_int(d, o, "sequence_number", st->seq++);
    int rc = ag_buf_append_c(out, "event: ");
    if (!rc)
        rc = ag_buf_append_c(out, type);
    if (!rc)
        rc = ag_buf_append_c(out, "\ndata: ");
    if (!rc)
        rc = ag_json_mut_append(out, o);
    if (!rc)
        rc = ag_buf_append_c(out, "\n\n");
    yyjson_mut_doc_free(d);
    ag_arena_dispose(&st->scratch);
    return rc;
}

/* An event's document, in the scratch arena (send() empties it). */
static yyjson_mut_doc *doc_new(struct rs_stream *st)
{
    yyjson_alc alc;
    ag_json_arena_alc(&alc, &st->scratch);
    return yyjson_mut_doc_new(&alc);
}

/* The context for what an event's document borrows: its temporaries go to the scratch too. */
static struct ag_proto_ctx scratch_ctx(struct rs_stream *st)
{
    struct ag_proto_ctx c = st->ctx;
    c.arena = &st->scratch;
    return c;
}

static size_t index_of(struct rs_stream *st, const struct ag_ritem *it)
{
    return (size_t)(it - st->items);
}

/* An event about the open item: item_id and output_index filled. */
static yyjson_mut_val *item_event(yyjson_mut_doc *d, struct rs_stream *st, const char *type,
                                  const struct ag_ritem *it)
{
    yyjson_mut_val *o = event_obj(d, type);
    ag_json_add_str(d, o, "item_id", it->id);
    yyjson_mut_obj_add_uint(d, o, "output_index", index_of(st, it));
    return o;
}

static int snapshot(struct rs_stream *st, const char *type, const struct ag_rstatus *status,
                    struct ag_buf *out)
{
    yyjson_mut_doc *d = doc_new(st);
    if (!d)
        return AG_ETOOBIG;
    yyjson_mut_val *o = event_obj(d, type);
    bool enc = ag_responses_meta_of(st->req)->include_encrypted;
    struct ag_proto_ctx sctx = scratch_ctx(st);
    yyjson_mut_obj_add_val(d, o, "response",
                           ag_responses_object(d, &sctx, st->req, status ? st->items : NULL,
                                               status ? st->n_items : 0, status, enc));
    return send(st, d, o, out);
}

static int start(struct rs_stream *st, struct ag_buf *out)
{
    int rc;
    if (st->started)
        return 0;
    st->started = true;
    if ((rc = snapshot(st, "response.created", NULL, out)))
        return rc;
    return snapshot(st, "response.in_progress", NULL, out);
}

/* "output_text" or "summary_text" part with text. */
static yyjson_mut_val *text_part(yyjson_mut_doc *d, const char *type, struct ag_str text)
{
    yyjson_mut_val *p = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, p, "type", type);
    ag_json_add_str(d, p, "text", text);
    if (strcmp(type, "output_text") == 0)
        yyjson_mut_obj_add_val(d, p, "annotations", yyjson_mut_arr(d));
    return p;
}

static int item_added_or_done(struct rs_stream *st, struct ag_ritem *it, bool done,
                              struct ag_buf *out)
{
    yyjson_mut_doc *d = doc_new(st);
    if (!d)
        return AG_ETOOBIG;
    bool enc = ag_responses_meta_of(st->req)->include_encrypted;
    yyjson_mut_val *o =
        event_obj(d, done ? "response.output_item.done" : "response.output_item.added");
    yyjson_mut_obj_add_uint(d, o, "output_index", index_of(st, it));
    yyjson_mut_obj_add_val(d, o, "item", ag_responses_item_json(d, &st->scratch, it, enc));
    return send(st, d, o, out);
}

/* Events carrying a part or text of the open item (content / summary index 0). */
static int part_event(struct rs_stream *st, struct ag_ritem *it, const char *type,
                      const char *text_key, struct ag_str text, const char *part_type,
                      struct ag_buf *out)
{
    yyjson_mut_doc *d = doc_new(st);
    if (!d)
        return AG_ETOOBIG;
    yyjson_mut_val *o = item_event(d, st, type, it);
    bool message = it->kind == AG_RITEM_MESSAGE;
    yyjson_mut_obj_add_int(d, o, message ? "content_index" : "summary_index", 0);
    if (part_type)
        yyjson_mut_obj_add_val(d, o, "part", text_part(d, part_type, text));
    else
        ag_json_add_str(d, o, text_key, text);
    if (message && !part_type)
        yyjson_mut_obj_add_val(d, o, "logprobs", yyjson_mut_arr(d));
    return send(st, d, o, out);
}

/* A text delta of the open item (output_text or reasoning summary): most of a stream's events,
 * written straight into out, the same bytes as part_event(..., "delta", text, NULL) gives. */
static int delta_event(struct rs_stream *st, struct ag_ritem *it, const char *type,
                       struct ag_str text, struct ag_buf *out)
{
    bool message = it->kind == AG_RITEM_MESSAGE;
    char num[24], seq[24];
    const char *head[] = {"event: ", type, "\ndata: {\"type\":\"", type, "\",\"item_id\":"};
    int rc = ag_json_lits_append(out, head, sizeof(head) / sizeof(head[0]));
    if (!rc)
        rc = ag_json_str_append(out, it->id);
    if (!rc) {
        const char *mid[] = {",\"output_index\":", ag_json_int_text(num, (int64_t)index_of(st, it)),
                             message ? ",\"content_index\":0,\"delta\":"
                                     : ",\"summary_index\":0,\"delta\":"};
        rc = ag_json_lits_append(out, mid, sizeof(mid) / sizeof(mid[0]));
    }
    if (!rc)
        rc = ag_json_str_append(out, text);
    if (!rc) {
        const char *tail[] = {message ? ",\"logprobs\":[]" : "",
                              ",\"sequence_number\":", ag_json_int_text(seq, st->seq), "}\n\n"};
        rc = ag_json_lits_append(out, tail, sizeof(tail) / sizeof(tail[0]));
    }
    st->seq++;
    return rc;
}

static int close_item(struct rs_stream *st, struct ag_buf *out)
{
    struct ag_ritem *it = st->open;
    int rc = 0;
    if (!it)
        return 0;
    st->open = NULL;
    it->done = !st->cut;
    it->incomplete = st->cut;
    if (it->kind == AG_RITEM_MESSAGE) {
        if ((rc = part_event(st, it, "response.output_text.done", "text", it->text, NULL, out)) ||
            (rc = part_event(st, it, "response.content_part.done", NULL, it->text, "output_text",
                             out)))
            return rc;
    } else if (it->kind == AG_RITEM_REASONING && st->summary_open) {
        st->summary_open = false;
        if ((rc = part_event(st, it, "response.reasoning_summary_text.done", "text", it->text, NULL,
                             out)) ||
            (rc = part_event(st, it, "response.reasoning_summary_part.done", NULL, it->text,
                             "summary_text", out)))
            return rc;
    } else if (it->kind == AG_RITEM_CALL) {
        if (!it->text.len && (rc = ag_ritem_append(st->ctx.arena, it, AG_STR("{}"))))
            return rc;
        yyjson_mut_doc *d = doc_new(st);
        if (!d)
            return AG_ETOOBIG;
        yyjson_mut_val *o = item_event(d, st, "response.function_call_arguments.done", it);
        ag_json_add_str(d, o, "name", it->name);
        ag_json_add_str(d, o, "arguments", it->text);
        if ((rc = send(st, d, o, out)))
            return rc;
    }
    return item_added_or_done(st, it, true, out);
}

/* Closes the open item unless it is of this kind, and opens one of this kind (not for calls:
 * each call is its own item). */
static int open_item(struct rs_stream *st, enum ag_ritem_kind kind, struct ag_buf *out)
{
    int rc;
    if (st->open && st->open->kind == kind && kind != AG_RITEM_CALL)
        return 0;
    if ((rc = start(st, out)) || (rc = close_item(st, out)))
        return rc;
    if (st->n_items == st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 8;
        struct ag_ritem *n = ag_arena_calloc(st->ctx.arena, ncap * sizeof(*n));
        if (!n)
            return AG_ETOOBIG;
        if (st->n_items)
            memcpy(n, st->items, st->n_items * sizeof(*n));
        st->items = n;
        st->cap = ncap;
    }
    struct ag_ritem *it = &st->items[st->n_items];
    it->kind = kind;
    it->id = ag_responses_item_id(st->ctx.arena, st->ctx.request_id,
                                  kind == AG_RITEM_MESSAGE     ? "msg_"
                                  : kind == AG_RITEM_REASONING ? "rs_"
                                                               : "fc_",
                                  st->n_items);
    if (!it->id.p)
        return AG_ETOOBIG;
    st->n_items++;
    st->open = it;
    return 0;
}

static int announce(struct rs_stream *st, struct ag_buf *out)
{
    int rc = item_added_or_done(st, st->open, false, out);
    if (rc || st->open->kind != AG_RITEM_MESSAGE)
        return rc;
    return part_event(st, st->open, "response.content_part.added", NULL, AG_STR(""), "output_text",
                      out);
}

static int text_delta(struct rs_stream *st, struct ag_str text, struct ag_buf *out)
{
    int rc;
    if (!text.len)
        return 0;
    if (!st->open || st->open->kind != AG_RITEM_MESSAGE) {
        if ((rc = open_item(st, AG_RITEM_MESSAGE, out)) || (rc = announce(st, out)))
            return rc;
    }
    if ((rc = ag_ritem_append(st->ctx.arena, st->open, text)))
        return rc;
    return delta_event(st, st->open, "response.output_text.delta", text, out);
}

static int copy_sig(struct rs_stream *st, struct ag_ritem *it, const struct ag_signature *sig)
{
    if (!sig->value.len)
        return 0;
    it->sig.value = ag_arena_str(st->ctx.arena, sig->value);
    it->sig.family = ag_arena_str(st->ctx.arena, sig->family);
    return it->sig.value.p ? 0 : AG_ETOOBIG;
}

static int thinking(struct rs_stream *st, const struct ag_event *ev, struct ag_buf *out)
{
    int rc;
    if (!ev->text.len && !ev->sig.value.len)
        return 0;
    if (!st->open || st->open->kind != AG_RITEM_REASONING) {
        if ((rc = open_item(st, AG_RITEM_REASONING, out)) || (rc = announce(st, out)))
            return rc;
    }
    struct ag_ritem *it = st->open;
    if ((rc = copy_sig(st, it, &ev->sig)) || !ev->text.len)
        return rc;
    if (!st->summary_open) {
        st->summary_open = true;
        if ((rc = part_event(st, it, "response.reasoning_summary_part.added", NULL, AG_STR(""),
                             "summary_text", out)))
            return rc;
    }
    if ((rc = ag_ritem_append(st->ctx.arena, it, ev->text)))
        return rc;
    return delta_event(st, it, "response.reasoning_summary_text.delta", ev->text, out);
}

static int tool_start(struct rs_stream *st, const struct ag_event *ev, struct ag_buf *out)
{
    int rc = open_item(st, AG_RITEM_CALL, out);
    if (rc)
        return rc;
    struct ag_ritem *it = st->open;
    it->call_id = ag_toolid_pack(st->ctx.arena, ev->id, &ev->sig);
    it->name = ag_arena_str(st->ctx.arena, ev->name);
    if (!it->call_id.p || !it->name.p)
        return AG_ETOOBIG;
    return announce(st, out);
}

static int tool_args(struct rs_stream *st, struct ag_str text, struct ag_buf *out)
{
    struct ag_ritem *it = st->open;
    int rc;
    if (!it || it->kind != AG_RITEM_CALL || !text.len)
        return 0;
    if ((rc = ag_ritem_append(st->ctx.arena, it, text)))
        return rc;
    yyjson_mut_doc *d = doc_new(st);
    if (!d)
        return AG_ETOOBIG;
    yyjson_mut_val *o = item_event(d, st, "response.function_call_arguments.delta", it);
    ag_json_add_str(d, o, "delta", text);
    return send(st, d, o, out);
}

static int fail(struct rs_stream *st, const struct ag_proto_error *e, struct ag_buf *out)
{
    int rc;
    if ((rc = start(st, out)))
        return rc;
    st->ended = true;
    st->status.failed = true;
    st->status.error = *e;
    st->status.error.message = ag_arena_str(st->ctx.arena, e->message);
    if (st->open) {
        st->open->incomplete = true;
        st->open = NULL;
    }
    if ((rc = snapshot(st, "response.failed", &st->status, out)))
        return rc;
    yyjson_mut_doc *d = doc_new(st);
    if (!d)
        return AG_ETOOBIG;
    yyjson_mut_val *o = event_obj(d, "error");
    yyjson_mut_obj_add_str(d, o, "code", ag_responses_error_code(e));
    ag_json_add_str(d, o, "message", e->message.len ? e->message : AG_STR("error"));
    if (e->param.len)
        ag_json_add_str(d, o, "param", e->param);
    else
        yyjson_mut_obj_add_null(d, o, "param");
    return send(st, d, o, out);
}

int ag_responses_stream_event(struct ag_client_stream *base, const struct ag_event *ev,
                              struct ag_buf *out)
{
    struct rs_stream *st = (struct rs_stream *)base;
    if (st->ended || (ev->choice != 0 && ev->type != AG_EV_ERROR && ev->type != AG_EV_USAGE))
        return 0;
    switch (ev->type) {
    case AG_EV_START:
        return start(st, out);
    case AG_EV_TEXT:
        return text_delta(st, ev->text, out);
    case AG_EV_THINKING:
        return thinking(st, ev, out);
    case AG_EV_SIGNATURE:
        /* a text part's signature has nowhere to go in this protocol */
        if (st->open && st->open->kind == AG_RITEM_MESSAGE)
            return 0;
        return thinking(st, ev, out);
    case AG_EV_MEDIA: {
        char *md = ag_arena_printf(st->ctx.arena, "![image](data:%.*s;base64,%.*s)",
                                   (int)ev->mime.len, ev->mime.p ? ev->mime.p : "",
                                   (int)ev->text.len, ev->text.p ? ev->text.p : "");
        return md ? text_delta(st, ag_str_c(md), out) : AG_ETOOBIG;
    }
    case AG_EV_TOOL_START:
        return tool_start(st, ev, out);
    case AG_EV_TOOL_ARGS:
        return tool_args(st, ev->text, out);
    case AG_EV_TOOL_END:
        return st->open && st->open->kind == AG_RITEM_CALL ? close_item(st, out) : 0;
    case AG_EV_USAGE:
        st->status.usage = ev->usage;
        st->status.has_usage = true;
        return 0;
    case AG_EV_FINISH:
        st->status.finish = ev->finish;
        return 0;
    case AG_EV_ERROR:
        return fail(st, &ev->error, out);
    }
    return 0;
}

int ag_responses_stream_finish(struct ag_client_stream *base, struct ag_buf *out)
{
    struct rs_stream *st = (struct rs_stream *)base;
    int rc;
    enum ag_finish f = st->status.finish;
    if (st->ended)
        return 0;
    st->cut = f == AG_FINISH_LENGTH || f == AG_FINISH_CONTENT_FILTER;
    if ((rc = start(st, out)) || (rc = close_item(st, out)))
        return rc;
    st->ended = true;
    const char *type = f == AG_FINISH_LENGTH || f == AG_FINISH_CONTENT_FILTER
                           ? "response.incomplete"
                       : f == AG_FINISH_ERROR ? "response.failed"
                                              : "response.completed";
    if (f == AG_FINISH_NONE)
        st->status.finish = AG_FINISH_STOP;
    return snapshot(st, type, &st->status, out);
}

int ag_responses_stream_store(struct ag_client_stream *base, struct ag_buf *out)
{
    struct rs_stream *st = (struct rs_stream *)base;
    yyjson_mut_doc *d = doc_new(st);
    if (!d)
        return AG_ETOOBIG;
    struct ag_rstatus status = st->status;
    if (!st->ended && !status.failed)
        status.finish = AG_FINISH_ERROR; /* stored before the end: it did not complete */
    struct ag_proto_ctx sctx = scratch_ctx(st);
    yyjson_mut_val *o =
        ag_responses_object(d, &sctx, st->req, st->items, st->n_items, &status, true);
    int rc = ag_responses_store_object(&sctx, st->req, d, o, out);
    ag_arena_dispose(&st->scratch);
    return rc;
}
