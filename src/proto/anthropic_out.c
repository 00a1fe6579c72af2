/* proto/anthropic_out.c: the Anthropic Messages adapter's output side and its adapter table.
 *
 * Streams are named SSE events, each "event: <type>\ndata: <json>\n\n":
 *   message_start (message object, usage zeros or the counts already known)
 *   per content block: content_block_start, content_block_delta (text_delta, thinking_delta,
 *     signature_delta, input_json_delta), content_block_stop; the index grows by one per block
 *   message_delta (stop_reason, stop_sequence, usage), message_stop
 * with ping as the keep-alive and an error event when the upstream fails after the stream began.
 * A signature the upstream put on a thinking part is sent as that block's signature_delta; one
 * put on a text part (Gemini does that) follows the text as a thinking block with empty text, and
 * one put on a function call travels inside the tool_use id (toolid.h). Signatures are never
 * rewritten. Stop sequences are matched here (anthropic.h says why): text that could be the start
 * of one is held back until it is known not to be.
 *
 * Usage: canonical input includes cached tokens; Anthropic's input_tokens excludes them and
 * reports them as cache_read_input_tokens. output_tokens includes thinking, as Anthropic bills. */
#include <string.h>

#include "core/err.h"
#include "proto/anthropic.h"
#include "proto/json.h"
#include "proto/toolid.h"

enum blk {
    BLK_NONE = 0,
    BLK_TEXT,
    BLK_THINKING,
    BLK_TOOL,
};

struct an_stream {
    struct ag_client_stream base;
    struct ag_arena *arena;
    const struct ag_anthropic_request *ar;
    struct ag_str id, model;
    bool started, finished, failed, stopped;
    enum blk open;
    bool open_signed; /* the open thinking block got its signature: the next thought is new */
    int index;        /* of the open block */
    int n_blocks;
    bool any_tool;
    int tool_index;
    struct ag_str held; /* text held back while it may begin a stop sequence (arena) */
    size_t sent_bytes;  /* text and thinking written: estimates output when usage is missing */
    bool has_usage;
    struct ag_usage usage;
};

/* ---- shared pieces ---- */

static yyjson_mut_val *error_obj(yyjson_mut_doc *d, const struct ag_proto_error *e)
{
    yyjson_mut_val *root = yyjson_mut_obj(d), *o = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, root, "type", "error");
    yyjson_mut_obj_add_str(d, o, "type", ag_error_names_of(e->kind)->anthropic);
    ag_json_add_str(d, o, "message", e->message.len ? e->message : AG_STR("error"));
    yyjson_mut_obj_add_val(d, root, "error", o);
    return root;
}

static int an_encode_error(const struct ag_proto_error *err, struct ag_buf *out)
{
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    int rc = ag_json_mut_append(out, error_obj(d, err));
    yyjson_mut_doc_free(d);
    return rc;
}

static yyjson_mut_val *usage_obj(yyjson_mut_doc *d, const struct ag_usage *u)
{
    yyjson_mut_val *o = yyjson_mut_obj(d);
    int64_t input = u->input - u->cached;
    yyjson_mut_obj_add_int(d, o, "input_tokens", input > 0 ? input : 0);
    yyjson_mut_obj_add_int(d, o, "cache_creation_input_tokens", 0);
    yyjson_mut_obj_add_int(d, o, "cache_read_input_tokens", u->cached);
    yyjson_mut_obj_add_int(d, o, "output_tokens", u->output);
    return o;
}

static const char *stop_reason(enum ag_finish f, bool any_tool)
{
    switch (f) {
    case AG_FINISH_LENGTH:
        return "max_tokens";
    case AG_FINISH_TOOL_CALLS:
        return "tool_use";
    case AG_FINISH_STOP_SEQUENCE:
        return "stop_sequence";
    case AG_FINISH_CONTENT_FILTER:
        return "refusal";
    default:
        return any_tool ? "tool_use" : "end_turn";
    }
}

/* The earliest occurrence of any stop sequence in s: its offset (or -1) and which one. */
static ptrdiff_t find_stop(const struct ag_anthropic_request *ar, struct ag_str s, size_t *which)
{
    ptrdiff_t best = -1;
    for (size_t k = 0; k < ar->n_stop; k++) {
        ptrdiff_t at = ag_str_search(s, ar->stop[k]);
        if (at >= 0 && (best < 0 || at < best)) {
            best = at;
            *which = k;
        }
    }
    return best;
}

/* Length of the longest tail of s that is a proper prefix of some stop sequence. */
static size_t stop_prefix_tail(const struct ag_anthropic_request *ar, struct ag_str s)
{
    size_t best = 0;
    for (size_t k = 0; k < ar->n_stop; k++) {
        struct ag_str st = ar->stop[k];
        for (size_t n = st.len - 1; n > best; n--)
            if (n <= s.len && memcmp(s.p + s.len - n, st.p, n) == 0) {
                best = n;
                break;
            }
    }
    return best;
}

/* ---- stream ---- */

static struct ag_client_stream *an_stream_new(const struct ag_proto_ctx *ctx,
                                              const struct ag_request *req,
                                              const struct ag_client_hints *hints)
{
    struct an_stream *st = ag_arena_calloc(ctx->arena, sizeof(*st));
    if (!st)
        return NULL;
    st->base.proto = &ag_proto_anthropic;
    st->arena = ctx->arena;
    st->ar = (const struct ag_anthropic_request *)req;
    st->model = req->model;
    char *id = ag_arena_printf(ctx->arena, "msg_%.*s", (int)ctx->request_id.len,
                               ctx->request_id.p ? ctx->request_id.p : "");
    if (!id)
        return NULL;
    st->id = ag_str_c(id);
    return &st->base;
}

bool ag_anthropic_stream_done(const struct ag_client_stream *base)
{
    return ((const struct an_stream *)base)->stopped;
}

/* Appends one "event: <type>\ndata: <json>\n\n" frame; frees d. Never leaves half a frame. */
static int frame(struct ag_buf *out, const char *type, yyjson_mut_doc *d, yyjson_mut_val *v)
{
    size_t mark = out->len;
    int rc = ag_buf_append_c(out, "event: ");
    if (rc == 0)
        rc = ag_buf_append_c(out, type);
    if (rc == 0)
        rc = ag_buf_append_c(out, "\ndata: ");
    if (rc == 0)
        rc = ag_json_mut_append(out, v);
    if (rc == 0)
        rc = ag_buf_append_c(out, "\n\n");
    if (rc != 0 && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    yyjson_mut_doc_free(d);
    return rc;
}

static int message_start(struct an_stream *st, struct ag_buf *out)
{
    if (st->started)
        return 0;
    st->started = true;
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(d), *m = yyjson_mut_obj(d);
    struct ag_usage zero = {0};
    yyjson_mut_obj_add_str(d, o, "type", "message_start");
    ag_json_add_str(d, m, "id", st->id);
    yyjson_mut_obj_add_str(d, m, "type", "message");
    yyjson_mut_obj_add_str(d, m, "role", "assistant");
    ag_json_add_str(d, m, "model", st->model);
    yyjson_mut_obj_add_val(d, m, "content", yyjson_mut_arr(d));
    yyjson_mut_obj_add_null(d, m, "stop_reason");
    yyjson_mut_obj_add_null(d, m, "stop_sequence");
    yyjson_mut_obj_add_val(d, m, "usage", usage_obj(d, st->has_usage ? &st->usage : &zero));
    yyjson_mut_obj_add_val(d, o, "message", m);
    return frame(out, "message_start", d, o);
}

/* content_block_delta with delta {"type": dtype, key: value}: most of a stream's frames, written
 * straight into out (dtype and key are plain literals), the same bytes as a yyjson document of
 * them would give. */
static int delta(struct an_stream *st, struct ag_buf *out, const char *dtype, const char *key,
                 struct ag_str value)
{
    if (strcmp(key, "text") == 0 || strcmp(key, "thinking") == 0)
        st->sent_bytes += value.len;
    size_t mark = out->len;
    static const char open[] = "event: content_block_delta\ndata: "
                               "{\"type\":\"content_block_delta\",\"index\":";
    char num[24];
    const char *head[] = {
        open, ag_json_int_text(num, st->index), ",\"delta\":{\"type\":\"", dtype, "\",\"", key,
        "\":"};
    int rc = ag_json_lits_append(out, head, sizeof(head) / sizeof(head[0]));
    if (!rc)
        rc = ag_json_str_append(out, value);
    if (!rc)
        rc = ag_buf_append(out, "}}\n\n", 4);
    if (rc && out->data) {
        out->len = mark; /* never leave half a frame behind */
        out->data[mark] = '\0';
    }
    return rc;
}

static int close_block(struct an_stream *st, struct ag_buf *out)
{
    int rc;
    if (st->open == BLK_NONE)
        return 0;
    if (st->open == BLK_TEXT && st->held.len) {
        /* the stream moves on: what was held back cannot begin a stop sequence any more */
        struct ag_str h = st->held;
        st->held = AG_STR_NULL;
        if ((rc = delta(st, out, "text_delta", "text", h)))
            return rc;
    }
    st->open = BLK_NONE;
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, o, "type", "content_block_stop");
    yyjson_mut_obj_add_int(d, o, "index", st->index);
    return frame(out, "content_block_stop", d, o);
}

/* Closes the open block and starts a new one; cb is the content_block object, built in d. */
static int open_block(struct an_stream *st, struct ag_buf *out, enum blk kind, yyjson_mut_doc *d,
                      yyjson_mut_val *cb)
{
    int rc = message_start(st, out);
    if (rc == 0)
        rc = close_block(st, out);
    if (rc) {
        yyjson_mut_doc_free(d);
        return rc;
    }
    st->open = kind;
    st->open_signed = false;
    st->index = st->n_blocks++;
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, o, "type", "content_block_start");
    yyjson_mut_obj_add_int(d, o, "index", st->index);
    yyjson_mut_obj_add_val(d, o, "content_block", cb);
    return frame(out, "content_block_start", d, o);
}

static int open_simple(struct an_stream *st, struct ag_buf *out, enum blk kind)
{
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *cb = yyjson_mut_obj(d);
    if (kind == BLK_TEXT) {
        yyjson_mut_obj_add_str(d, cb, "type", "text");
        yyjson_mut_obj_add_str(d, cb, "text", "");
    } else {
        yyjson_mut_obj_add_str(d, cb, "type", "thinking");
        yyjson_mut_obj_add_str(d, cb, "thinking", "");
        yyjson_mut_obj_add_str(d, cb, "signature", "");
    }
    return open_block(st, out, kind, d, cb);
}

static int finish(struct an_stream *st, struct ag_buf *out, const char *reason,
                  struct ag_str stop_seq)
{
    int rc = message_start(st, out);
    if (rc == 0)
        rc = close_block(st, out);
    if (rc)
        return rc;
    st->finished = true;
    struct ag_usage zero = {0};
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(d), *dl = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, o, "type", "message_delta");
    yyjson_mut_obj_add_str(d, dl, "stop_reason", reason);
    if (stop_seq.p)
        ag_json_add_str(d, dl, "stop_sequence", stop_seq);
    else
        yyjson_mut_obj_add_null(d, dl, "stop_sequence");
    yyjson_mut_obj_add_val(d, o, "delta", dl);
    yyjson_mut_obj_add_val(d, o, "usage", usage_obj(d, st->has_usage ? &st->usage : &zero));
    if ((rc = frame(out, "message_delta", d, o)))
        return rc;
    d = yyjson_mut_doc_new(NULL);
    o = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, o, "type", "message_stop");
    return frame(out, "message_stop", d, o);
}

/* A thinking block that carries only a signature (one the upstream put on a non-thought part). */
static int signature_block(struct an_stream *st, struct ag_buf *out, struct ag_str sig)
{
    int rc = open_simple(st, out, BLK_THINKING);
    if (rc == 0)
        rc = delta(st, out, "signature_delta", "signature", sig);
    if (rc == 0)
        rc = close_block(st, out);
    return rc;
}

static int text_event(struct an_stream *st, struct ag_buf *out, struct ag_str text,
                      struct ag_str sig)
{
    int rc = 0;
    if (st->open != BLK_TEXT && (text.len || sig.len) && (rc = open_simple(st, out, BLK_TEXT)))
        return rc;
    if (text.len && st->ar->n_stop) {
        /* held + text, searched for a stop sequence as one piece */
        char *buf = ag_arena_alloc(st->arena, st->held.len + text.len + 1);
        if (!buf)
            return AG_ETOOBIG;
        memcpy(buf, st->held.p ? st->held.p : "", st->held.len);
        memcpy(buf + st->held.len, text.p, text.len);
        struct ag_str all = ag_str_make(buf, st->held.len + text.len);
        size_t which = 0;
        ptrdiff_t at = find_stop(st->ar, all, &which);
        st->held = AG_STR_NULL;
        if (at >= 0) {
            if (at > 0 && (rc = delta(st, out, "text_delta", "text", ag_str_make(buf, (size_t)at))))
                return rc;
            st->stopped = true;
            if (!st->has_usage) {
                /* cut before the upstream counted: about 4 bytes per token, never zero */
                st->usage.output = (int64_t)(st->sent_bytes + 3) / 4;
                st->has_usage = true;
            }
            return finish(st, out, "stop_sequence", st->ar->stop[which]);
        }
        size_t keep = stop_prefix_tail(st->ar, all);
        st->held = ag_str_make(buf + all.len - keep, keep);
        text = ag_str_make(buf, all.len - keep);
    }
    if (text.len && (rc = delta(st, out, "text_delta", "text", text)))
        return rc;
    if (sig.len)
        rc = signature_block(st, out, sig);
    return rc;
}

static int an_stream_event(struct ag_client_stream *base, const struct ag_event *ev,
                           struct ag_buf *out)
{
    struct an_stream *st = (struct an_stream *)base;
    int rc;
    /* Anthropic has one candidate; after message_stop or an error nothing more is written */
    if (st->failed || st->finished || ev->choice != 0)
        return 0;
    switch (ev->type) {
    case AG_EV_START:
        return 0; /* message_start waits for the first content or usage */
    case AG_EV_TEXT:
        return text_event(st, out, ev->text, ev->sig.value);
    case AG_EV_MEDIA: {
        char *md = ag_arena_printf(st->arena, "![image](data:%.*s;base64,%.*s)", (int)ev->mime.len,
                                   ev->mime.p ? ev->mime.p : "", (int)ev->text.len,
                                   ev->text.p ? ev->text.p : "");
        return md ? text_event(st, out, ag_str_c(md), AG_STR_NULL) : AG_ETOOBIG;
    }
    case AG_EV_THINKING:
        if (!ev->text.len && !ev->sig.value.len)
            return 0;
        if ((st->open != BLK_THINKING || st->open_signed) &&
            (rc = open_simple(st, out, BLK_THINKING)))
            return rc;
        if (ev->text.len && (rc = delta(st, out, "thinking_delta", "thinking", ev->text)))
            return rc;
        if (ev->sig.value.len) {
            st->open_signed = true;
            return delta(st, out, "signature_delta", "signature", ev->sig.value);
        }
        return 0;
    case AG_EV_SIGNATURE:
        if (!ev->sig.value.len)
            return 0;
        if (st->open == BLK_THINKING && !st->open_signed) {
            st->open_signed = true;
            return delta(st, out, "signature_delta", "signature", ev->sig.value);
        }
        return signature_block(st, out, ev->sig.value);
    case AG_EV_TOOL_START: {
        yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
        yyjson_mut_val *cb = yyjson_mut_obj(d);
        struct ag_str id = ag_toolid_pack(st->arena, ev->id, &ev->sig);
        if (!id.p) {
            yyjson_mut_doc_free(d);
            return AG_ETOOBIG;
        }
        yyjson_mut_obj_add_str(d, cb, "type", "tool_use");
        ag_json_add_str(d, cb, "id", id);
        ag_json_add_str(d, cb, "name", ev->name);
        yyjson_mut_obj_add_val(d, cb, "input", yyjson_mut_obj(d));
        st->any_tool = true;
        st->tool_index = ev->tool_index;
        return open_block(st, out, BLK_TOOL, d, cb);
    }
    case AG_EV_TOOL_ARGS:
        if (st->open != BLK_TOOL || st->tool_index != ev->tool_index || !ev->text.len)
            return 0;
        return delta(st, out, "input_json_delta", "partial_json", ev->text);
    case AG_EV_TOOL_END:
        if (st->open != BLK_TOOL || st->tool_index != ev->tool_index)
            return 0;
        return close_block(st, out);
    case AG_EV_USAGE:
        st->usage = ev->usage;
        st->has_usage = true;
        return message_start(st, out);
    case AG_EV_FINISH:
        return finish(st, out, stop_reason(ev->finish, st->any_tool), AG_STR_NULL);
    case AG_EV_ERROR: {
        st->failed = true;
        yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
        return frame(out, "error", d, error_obj(d, &ev->error));
    }
    }
    return 0;
}

static int an_stream_finish(struct ag_client_stream *base, struct ag_buf *out)
{
    struct an_stream *st = (struct an_stream *)base;
    if (st->failed || st->finished)
        return 0;
    return finish(st, out, st->any_tool ? "tool_use" : "end_turn", AG_STR_NULL);
}

/* ---- whole answer ---- */

static yyjson_mut_val *thinking_block(yyjson_mut_doc *d, struct ag_str text, struct ag_str sig)
{
    yyjson_mut_val *b = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, b, "type", "thinking");
    ag_json_add_str(d, b, "thinking", text);
    ag_json_add_str(d, b, "signature", sig);
    return b;
}

static yyjson_mut_val *text_block(yyjson_mut_doc *d, struct ag_str text)
{
    yyjson_mut_val *b = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, b, "type", "text");
    ag_json_add_str(d, b, "text", text);
    return b;
}

/* Renders choice 0's parts as content blocks; stops at the first stop sequence in the text. */
static void content_blocks(yyjson_mut_doc *d, struct ag_arena *arena,
                           const struct ag_anthropic_request *ar, const struct ag_choice *c,
                           yyjson_mut_val *content, bool *any_tool, struct ag_str *stop_seq)
{
    for (size_t i = 0; i < c->n_parts; i++) {
        const struct ag_part *p = &c->parts[i];
        switch (p->type) {
        case AG_PART_TEXT: {
            size_t which = 0;
            ptrdiff_t at = find_stop(ar, p->text, &which);
            if (at >= 0) {
                if (at > 0)
                    yyjson_mut_arr_append(content,
                                          text_block(d, ag_str_make(p->text.p, (size_t)at)));
                *stop_seq = ar->stop[which];
                return;
            }
            if (p->text.len)
                yyjson_mut_arr_append(content, text_block(d, p->text));
            if (p->sig.value.len)
                yyjson_mut_arr_append(content, thinking_block(d, AG_STR(""), p->sig.value));
            break;
        }
        case AG_PART_THINKING:
            yyjson_mut_arr_append(content, thinking_block(d, p->text, p->sig.value));
            break;
        case AG_PART_MEDIA: {
            char *md = ag_arena_printf(arena, "![image](data:%.*s;base64,%.*s)", (int)p->mime.len,
                                       p->mime.p ? p->mime.p : "", (int)p->data.len,
                                       p->data.p ? p->data.p : "");
            if (md)
                yyjson_mut_arr_append(content, text_block(d, ag_str_c(md)));
            break;
        }
        case AG_PART_TOOL_CALL: {
            yyjson_mut_val *b = yyjson_mut_obj(d);
            yyjson_mut_val *input = ag_json_parse_into(d, arena, p->args);
            yyjson_mut_obj_add_str(d, b, "type", "tool_use");
            ag_json_add_str(d, b, "id", ag_toolid_pack(arena, p->id, &p->sig));
            ag_json_add_str(d, b, "name", p->name);
            yyjson_mut_obj_add_val(d, b, "input",
                                   yyjson_mut_is_obj(input) ? input : yyjson_mut_obj(d));
            yyjson_mut_arr_append(content, b);
            *any_tool = true;
            break;
        }
        case AG_PART_TOOL_RESULT:
            break;
        }
    }
}

static int an_encode_response(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                              const struct ag_answer *a, struct ag_buf *out)
{
    const struct ag_anthropic_request *ar = (const struct ag_anthropic_request *)req;
    yyjson_alc alc; /* the document and its text live in the request's arena */
    ag_json_arena_alc(&alc, ctx->arena);
    yyjson_mut_doc *d = yyjson_mut_doc_new(&alc);
    yyjson_mut_val *o = yyjson_mut_obj(d);
    if (req->kind == AG_REQ_COUNT_TOKENS) {
        /* the upstream's count when it gave one, else the local estimate (never a zero) */
        yyjson_mut_obj_add_int(d, o, "input_tokens",
                               a->has_usage ? a->usage.input : ag_anthropic_estimate_tokens(req));
    } else {
        yyjson_mut_val *content = yyjson_mut_arr(d);
        bool any_tool = false;
        struct ag_str stop_seq = AG_STR_NULL;
        char *id = ag_arena_cat(ctx->arena, "msg_", ctx->request_id);
        if (!id) {
            yyjson_mut_doc_free(d);
            return AG_ETOOBIG;
        }
        content_blocks(d, ctx->arena, ar, &a->choices[0], content, &any_tool, &stop_seq);
        yyjson_mut_obj_add_strcpy(d, o, "id", id);
        yyjson_mut_obj_add_str(d, o, "type", "message");
        yyjson_mut_obj_add_str(d, o, "role", "assistant");
        ag_json_add_str(d, o, "model", req->model);
        yyjson_mut_obj_add_val(d, o, "content", content);
        if (stop_seq.p) {
            yyjson_mut_obj_add_str(d, o, "stop_reason", "stop_sequence");
            ag_json_add_str(d, o, "stop_sequence", stop_seq);
        } else {
            yyjson_mut_obj_add_str(d, o, "stop_reason",
                                   stop_reason(a->choices[0].finish, any_tool));
            yyjson_mut_obj_add_null(d, o, "stop_sequence");
        }
        struct ag_usage zero = {0};
        yyjson_mut_obj_add_val(d, o, "usage", usage_obj(d, a->has_usage ? &a->usage : &zero));
    }
    struct ag_str text = ag_json_mut_text(ctx->arena, o);
    yyjson_mut_doc_free(d);
    return text.p ? ag_buf_append(out, text.p, text.len) : AG_ETOOBIG;
}

const struct ag_client_proto ag_proto_anthropic = {
    .name = "anthropic",
    .decode_request = ag_anthropic_decode,
    .stream_new = an_stream_new,
    .stream_event = an_stream_event,
    .stream_finish = an_stream_finish,
    .encode_response = an_encode_response,
    .encode_error = an_encode_error,
    .keepalive = "event: ping\ndata: {\"type\": \"ping\"}\n\n",
};
