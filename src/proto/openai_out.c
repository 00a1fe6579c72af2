/* proto/openai_out.c: the OpenAI client adapters' output side: canonical events -> chat.completion
 * chunks (or legacy text_completion chunks), collected answers -> one JSON body, errors ->
 * {"error":{...}}, and the two adapter tables. Streams open with a role chunk, carry content,
 * reasoning_content and indexed tool-call deltas, close each choice with a finish chunk, add a
 * usage chunk when the client asked (stream_options.include_usage), and end with [DONE]. Tool-call
 * ids carry the upstream's thought signature (toolid.h) so it survives the client round trip;
 * Claude signs its thinking, not its calls, so the signature of a Claude turn's thinking rides on
 * the turn's first tool call (the reasoning text goes out as reasoning_content; both come back
 * together as the signed thinking block Claude needs, see ag_request_fit_target). */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "proto/json.h"
#include "proto/openai.h"
#include "proto/toolid.h"

struct oa_choice {
    bool started;   /* role chunk sent */
    bool any_tool;  /* a tool call was sent: finish "stop" becomes "tool_calls" */
    bool tool_open; /* the current tool call's header is pending */
    bool header_sent;
    int tool_index;
    struct ag_str id, name;
    struct ag_signature sig;
    struct ag_signature think_sig; /* a Claude thinking signature not yet handed to a call */
};

/* The signature a tool call's id carries: its own, else the Claude thinking signature of the turn
 * that no earlier call took (consumed here). */
static struct ag_signature call_sig(struct ag_signature own, struct ag_signature *think)
{
    if (own.value.len || !think->value.len)
        return own;
    struct ag_signature s = *think;
    memset(think, 0, sizeof(*think));
    return s;
}

static void note_think_sig(struct ag_arena *arena, struct ag_signature *think,
                           const struct ag_signature *s)
{
    if (!s->value.len || !ag_str_eq_c(s->family, "claude"))
        return;
    think->value = ag_arena_str(arena, s->value);
    think->family = ag_arena_str(arena, s->family);
}

/* The bytes of a text chunk before and after its text. Text chunks are most of a stream and
 * differ only in the text; the bytes around it are written once per stream by the general path
 * (with an empty text), so the fast path writes exactly what it would. */
struct oa_tpl {
    bool tried; /* built, or found impossible (then the general path is used) */
    struct ag_str head, tail;
};

struct oa_stream {
    struct ag_client_stream base;
    struct ag_arena *arena;
    struct ag_str id;
    struct ag_str model;
    int64_t created;
    bool legacy;
    bool include_usage;
    bool has_usage;
    bool failed;
    struct ag_usage usage;
    struct oa_choice ch[AG_MAX_CHOICES];
    struct oa_tpl tpl[2]; /* choice 0's text chunks: content, reasoning_content */
};

const char *ag_openai_finish_str(enum ag_finish f)
{
    switch (f) {
    case AG_FINISH_LENGTH:
        return "length";
    case AG_FINISH_TOOL_CALLS:
        return "tool_calls";
    case AG_FINISH_CONTENT_FILTER:
        return "content_filter";
    default:
        /* OpenAI has no "error" finish reason; strict clients reject unknown values. */
        return "stop";
    }
}

static yyjson_mut_val *usage_obj(yyjson_mut_doc *d, const struct ag_usage *u)
{
    yyjson_mut_val *o = yyjson_mut_obj(d), *pd = yyjson_mut_obj(d), *cd = yyjson_mut_obj(d);
    yyjson_mut_obj_add_int(d, o, "prompt_tokens", u->input);
    yyjson_mut_obj_add_int(d, o, "completion_tokens", u->output);
    yyjson_mut_obj_add_int(d, o, "total_tokens", u->total ? u->total : u->input + u->output);
    yyjson_mut_obj_add_int(d, pd, "cached_tokens", u->cached);
    yyjson_mut_obj_add_val(d, o, "prompt_tokens_details", pd);
    yyjson_mut_obj_add_int(d, cd, "reasoning_tokens", u->reasoning);
    yyjson_mut_obj_add_val(d, o, "completion_tokens_details", cd);
    return o;
}

static yyjson_mut_val *error_obj(yyjson_mut_doc *d, const struct ag_proto_error *e)
{
    yyjson_mut_val *root = yyjson_mut_obj(d), *o = yyjson_mut_obj(d);
    ag_json_add_str(d, o, "message", e->message);
    yyjson_mut_obj_add_str(d, o, "type", ag_error_names_of(e->kind)->openai);
    if (e->param.len)
        ag_json_add_str(d, o, "param", e->param);
    else
        yyjson_mut_obj_add_null(d, o, "param");
    if (e->code.len)
        ag_json_add_str(d, o, "code", e->code);
    else
        yyjson_mut_obj_add_null(d, o, "code");
    yyjson_mut_obj_add_val(d, root, "error", o);
    return root;
}

int ag_openai_encode_error(const struct ag_proto_error *err, struct ag_buf *out)
{
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    int rc = ag_json_mut_append(out, error_obj(d, err));
    yyjson_mut_doc_free(d);
    return rc;
}

/* ---- stream ---- */

struct ag_client_stream *ag_openai_stream_new(const struct ag_proto_ctx *ctx,
                                              const struct ag_request *req, bool legacy)
{
    struct oa_stream *st = ag_arena_calloc(ctx->arena, sizeof(*st));
    if (!st)
        return NULL;
    st->arena = ctx->arena;
    st->legacy = legacy;
    st->created = ctx->now;
    st->model = req->model;
    st->include_usage = req->include_usage;
    char *id = ag_arena_cat(ctx->arena, legacy ? "cmpl-" : "chatcmpl-", ctx->request_id);
    if (!id)
        return NULL;
    st->id = ag_str_c(id);
    return &st->base;
}

/* The chunk envelope; choices stays empty when choice < 0. */
static yyjson_mut_val *chunk(yyjson_mut_doc *d, struct oa_stream *st, int choice,
                             yyjson_mut_val *delta, const char *finish, yyjson_mut_val **choice_out)
{
    yyjson_mut_val *o = yyjson_mut_obj(d), *choices = yyjson_mut_arr(d);
    ag_json_add_str(d, o, "id", st->id);
    yyjson_mut_obj_add_str(d, o, "object",
                           st->legacy ? "text_completion" : "chat.completion.chunk");
    yyjson_mut_obj_add_int(d, o, "created", st->created);
    ag_json_add_str(d, o, "model", st->model);
    yyjson_mut_obj_add_val(d, o, "choices", choices);
    if (choice >= 0) {
        yyjson_mut_val *c = yyjson_mut_obj(d);
        if (st->legacy) {
            yyjson_mut_obj_add_val(d, c, "text", delta);
            yyjson_mut_obj_add_int(d, c, "index", choice);
        } else {
            yyjson_mut_obj_add_int(d, c, "index", choice);
            yyjson_mut_obj_add_val(d, c, "delta", delta);
        }
        yyjson_mut_obj_add_null(d, c, "logprobs");
        if (finish)
            yyjson_mut_obj_add_str(d, c, "finish_reason", finish);
        else
            yyjson_mut_obj_add_null(d, c, "finish_reason");
        yyjson_mut_arr_append(choices, c);
        if (choice_out)
            *choice_out = c;
    }
    return o;
}

static int send(struct ag_buf *out, yyjson_mut_doc *d, yyjson_mut_val *v)
{
    int rc = ag_json_sse_append(out, v);
    yyjson_mut_doc_free(d);
    return rc;
}

static int role_chunk(struct oa_stream *st, int ci, struct ag_buf *out)
{
    if (st->ch[ci].started || st->legacy)
        return 0;
    st->ch[ci].started = true;
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *delta = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, delta, "role", "assistant");
    yyjson_mut_obj_add_str(d, delta, "content", "");
    return send(out, d, chunk(d, st, ci, delta, NULL, NULL));
}

static int text_chunk_doc(struct oa_stream *st, int ci, const char *key, struct ag_str text,
                          struct ag_buf *out)
{
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *delta;
    if (st->legacy) {
        delta = ag_json_mut_str(d, text);
    } else {
        delta = yyjson_mut_obj(d);
        yyjson_mut_obj_add_val(d, delta, key, ag_json_mut_str(d, text));
    }
    return send(out, d, chunk(d, st, ci, delta, NULL, NULL));
}

/* Splits choice 0's text chunk with an empty text around the text's place into t (in the
 * stream's arena). The place is where '"<key>":""' first occurs: never inside a string (a quote
 * there is always escaped), and no key before the delta's is one of these. */
static void tpl_make(struct oa_stream *st, const char *key, struct oa_tpl *t)
{
    struct ag_buf b;
    char mark[32];
    t->tried = true;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    int n = snprintf(mark, sizeof(mark), "\"%s\":\"\"", st->legacy ? "text" : key);
    if (n > 0 && (size_t)n < sizeof(mark) && text_chunk_doc(st, 0, key, AG_STR(""), &b) == 0) {
        const char *at = memmem(b.data, b.len, mark, (size_t)n);
        if (at) {
            size_t head = (size_t)(at - b.data) + (size_t)n - 2; /* up to the value */
            t->head = ag_arena_str(st->arena, ag_str_make(b.data, head));
            t->tail = ag_arena_str(st->arena, ag_str_make(at + n, b.len - head - 2));
            if (!t->head.p || !t->tail.p)
                t->head = t->tail = AG_STR_NULL;
        }
    }
    ag_buf_dispose(&b);
}

static int text_chunk(struct oa_stream *st, int ci, const char *key, struct ag_str text,
                      struct ag_buf *out)
{
    struct oa_tpl *t = ci == 0 ? &st->tpl[strcmp(key, "content") == 0 ? 0 : 1] : NULL;
    if (t && !t->tried)
        tpl_make(st, key, t);
    if (!t || !t->head.len)
        return text_chunk_doc(st, ci, key, text, out);
    size_t mark = out->len;
    int rc = ag_buf_append_str(out, t->head);
    if (!rc)
        rc = ag_json_str_append(out, text);
    if (!rc)
        rc = ag_buf_append_str(out, t->tail);
    if (rc && out->data) {
        out->len = mark; /* never leave half a frame behind */
        out->data[mark] = '\0';
    }
    return rc;
}

static int tool_chunk(struct oa_stream *st, int ci, struct ag_str args, struct ag_buf *out)
{
    struct oa_choice *c = &st->ch[ci];
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *delta = yyjson_mut_obj(d), *calls = yyjson_mut_arr(d);
    yyjson_mut_val *call = yyjson_mut_obj(d), *fn = yyjson_mut_obj(d);
    yyjson_mut_obj_add_int(d, call, "index", c->tool_index);
    if (!c->header_sent) {
        struct ag_str id = ag_toolid_pack(st->arena, c->id, &c->sig);
        ag_json_add_str(d, call, "id", id);
        yyjson_mut_obj_add_str(d, call, "type", "function");
        ag_json_add_str(d, fn, "name", c->name);
        c->header_sent = true;
    }
    ag_json_add_str(d, fn, "arguments", args);
    yyjson_mut_obj_add_val(d, call, "function", fn);
    yyjson_mut_arr_append(calls, call);
    yyjson_mut_obj_add_val(d, delta, "tool_calls", calls);
    return send(out, d, chunk(d, st, ci, delta, NULL, NULL));
}

/* A tool call begins on choice c: what its chunks will carry. */
static void open_tool(struct oa_stream *st, struct oa_choice *c, const struct ag_event *ev)
{
    c->tool_open = true;
    c->header_sent = false;
    c->any_tool = true;
    c->tool_index = ev->tool_index;
    c->id = ag_arena_str(st->arena, ev->id);
    c->name = ag_arena_str(st->arena, ev->name);
    c->sig.value = ag_arena_str(st->arena, ev->sig.value);
    c->sig.family = ag_arena_str(st->arena, ev->sig.family);
    c->sig = call_sig(c->sig, &c->think_sig);
}

/* The choice's last chunk: its finish reason (tool_calls when it called tools), and the usage
 * when the client did not ask for a usage chunk of its own. */
static int finish_chunk(struct oa_stream *st, int ci, enum ag_finish f, struct ag_buf *out)
{
    struct oa_choice *c = &st->ch[ci];
    int rc;
    if ((rc = role_chunk(st, ci, out)))
        return rc;
    if (c->any_tool && (f == AG_FINISH_STOP || f == AG_FINISH_NONE))
        f = AG_FINISH_TOOL_CALLS;
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *delta = st->legacy ? yyjson_mut_str(d, "") : yyjson_mut_obj(d);
    yyjson_mut_val *o = chunk(d, st, ci, delta, ag_openai_finish_str(f), NULL);
    /* Without include_usage the usage rides on the finish chunk, where many clients look. */
    if (st->has_usage && !st->include_usage)
        yyjson_mut_obj_add_val(d, o, "usage", usage_obj(d, &st->usage));
    return send(out, d, o);
}

int ag_openai_stream_event(struct ag_client_stream *base, const struct ag_event *ev,
                           struct ag_buf *out)
{
    struct oa_stream *st = (struct oa_stream *)base;
    int ci = ev->choice, rc;
    if (st->failed || ci < 0 || ci >= AG_MAX_CHOICES)
        return 0;
    struct oa_choice *c = &st->ch[ci];
    switch (ev->type) {
    case AG_EV_START:
        return role_chunk(st, 0, out);
    case AG_EV_TEXT:
        if (!ev->text.len)
            return 0;
        if ((rc = role_chunk(st, ci, out)))
            return rc;
        return text_chunk(st, ci, "content", ev->text, out);
    case AG_EV_THINKING:
        note_think_sig(st->arena, &c->think_sig, &ev->sig);
        if (!ev->text.len || st->legacy)
            return 0;
        if ((rc = role_chunk(st, ci, out)))
            return rc;
        return text_chunk(st, ci, "reasoning_content", ev->text, out);
    case AG_EV_MEDIA: {
        char *md = ag_arena_printf(st->arena, "![image](data:%.*s;base64,%.*s)", (int)ev->mime.len,
                                   ev->mime.p ? ev->mime.p : "", (int)ev->text.len,
                                   ev->text.p ? ev->text.p : "");
        if (!md)
            return AG_ETOOBIG;
        if ((rc = role_chunk(st, ci, out)))
            return rc;
        return text_chunk(st, ci, "content", ag_str_c(md), out);
    }
    case AG_EV_TOOL_START:
        if (st->legacy)
            return 0;
        open_tool(st, c, ev);
        return role_chunk(st, ci, out);
    case AG_EV_TOOL_ARGS:
        if (!c->tool_open || (!ev->text.len && c->header_sent))
            return 0;
        return tool_chunk(st, ci, ev->text, out);
    case AG_EV_TOOL_END:
        if (!c->tool_open)
            return 0;
        c->tool_open = false;
        return c->header_sent ? 0 : tool_chunk(st, ci, AG_STR("{}"), out);
    case AG_EV_USAGE:
        st->usage = ev->usage;
        st->has_usage = true;
        return 0;
    case AG_EV_FINISH:
        return finish_chunk(st, ci, ev->finish, out);
    case AG_EV_ERROR: {
        st->failed = true;
        yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
        return send(out, d, error_obj(d, &ev->error));
    }
    case AG_EV_SIGNATURE:
        note_think_sig(st->arena, &c->think_sig, &ev->sig);
        return 0;
    }
    return 0;
}

int ag_openai_stream_finish(struct ag_client_stream *base, struct ag_buf *out)
{
    struct oa_stream *st = (struct oa_stream *)base;
    if (st->include_usage && st->has_usage && !st->failed) {
        yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
        yyjson_mut_val *o = chunk(d, st, -1, NULL, NULL, NULL);
        yyjson_mut_obj_add_val(d, o, "usage", usage_obj(d, &st->usage));
        int rc = send(out, d, o);
        if (rc)
            return rc;
    }
    return ag_buf_append_c(out, "data: [DONE]\n\n");
}

/* ---- whole answer ---- */

static yyjson_mut_val *choice_body(yyjson_mut_doc *d, struct ag_arena *arena,
                                   const struct ag_choice *c, int index, bool legacy)
{
    yyjson_mut_val *o = yyjson_mut_obj(d), *calls = yyjson_mut_arr(d);
    struct ag_buf text, reasoning;
    struct ag_signature think = {{0}, {0}};
    ag_buf_init(&text,
                AG_BUF_UNBOUNDED); /* joins texts of the answer, capped by the upstream body cap */
    ag_buf_init(&reasoning,
                AG_BUF_UNBOUNDED); /* joins texts of the answer, capped by the upstream body cap */
    for (size_t i = 0; i < c->n_parts; i++) {
        const struct ag_part *p = &c->parts[i];
        if (p->type == AG_PART_TEXT) {
            ag_buf_append_str(&text, p->text);
        } else if (p->type == AG_PART_THINKING) {
            ag_buf_append_str(&reasoning, p->text);
            if (ag_str_eq_c(p->sig.family, "claude") && p->sig.value.len)
                think = p->sig;
        } else if (p->type == AG_PART_MEDIA) {
            ag_buf_printf(&text, "![image](data:%.*s;base64,%.*s)", (int)p->mime.len,
                          p->mime.p ? p->mime.p : "", (int)p->data.len, p->data.p ? p->data.p : "");
        } else if (p->type == AG_PART_TOOL_CALL && !legacy) {
            yyjson_mut_val *call = yyjson_mut_obj(d), *fn = yyjson_mut_obj(d);
            struct ag_signature sig = call_sig(p->sig, &think);
            ag_json_add_str(d, call, "id", ag_toolid_pack(arena, p->id, &sig));
            yyjson_mut_obj_add_str(d, call, "type", "function");
            ag_json_add_str(d, fn, "name", p->name);
            ag_json_add_str(d, fn, "arguments", p->args.len ? p->args : AG_STR("{}"));
            yyjson_mut_obj_add_val(d, call, "function", fn);
            yyjson_mut_arr_append(calls, call);
        }
    }
    enum ag_finish f = c->finish;
    if (yyjson_mut_arr_size(calls) && (f == AG_FINISH_STOP || f == AG_FINISH_NONE))
        f = AG_FINISH_TOOL_CALLS;
    if (legacy) {
        yyjson_mut_obj_add_val(d, o, "text", ag_json_mut_str(d, ag_buf_str(&text)));
        yyjson_mut_obj_add_int(d, o, "index", index);
        yyjson_mut_obj_add_null(d, o, "logprobs");
    } else {
        yyjson_mut_val *msg = yyjson_mut_obj(d);
        yyjson_mut_obj_add_int(d, o, "index", index);
        yyjson_mut_obj_add_str(d, msg, "role", "assistant");
        if (!text.len && yyjson_mut_arr_size(calls))
            yyjson_mut_obj_add_null(d, msg, "content");
        else
            yyjson_mut_obj_add_val(d, msg, "content", ag_json_mut_str(d, ag_buf_str(&text)));
        if (reasoning.len)
            yyjson_mut_obj_add_val(d, msg, "reasoning_content",
                                   ag_json_mut_str(d, ag_buf_str(&reasoning)));
        if (yyjson_mut_arr_size(calls))
            yyjson_mut_obj_add_val(d, msg, "tool_calls", calls);
        yyjson_mut_obj_add_val(d, o, "message", msg);
        yyjson_mut_obj_add_null(d, o, "logprobs");
    }
    yyjson_mut_obj_add_str(d, o, "finish_reason", ag_openai_finish_str(f));
    ag_buf_dispose(&text);
    ag_buf_dispose(&reasoning);
    return o;
}

int ag_openai_encode_response(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                              const struct ag_answer *a, bool legacy, struct ag_buf *out)
{
    /* The document and its text live in the request's arena: no trip through malloc. */
    yyjson_alc alc;
    ag_json_arena_alc(&alc, ctx->arena);
    yyjson_mut_doc *d = yyjson_mut_doc_new(&alc);
    yyjson_mut_val *o = yyjson_mut_obj(d), *choices = yyjson_mut_arr(d);
    char *id = ag_arena_cat(ctx->arena, legacy ? "cmpl-" : "chatcmpl-", ctx->request_id);
    if (!id) {
        yyjson_mut_doc_free(d);
        return AG_ETOOBIG;
    }
    yyjson_mut_obj_add_strcpy(d, o, "id", id);
    yyjson_mut_obj_add_str(d, o, "object", legacy ? "text_completion" : "chat.completion");
    yyjson_mut_obj_add_int(d, o, "created", ctx->now);
    ag_json_add_str(d, o, "model", req->model);
    int n = a->n_choices ? a->n_choices : 1;
    for (int i = 0; i < n; i++)
        yyjson_mut_arr_append(choices, choice_body(d, ctx->arena, &a->choices[i], i, legacy));
    yyjson_mut_obj_add_val(d, o, "choices", choices);
    if (a->has_usage)
        yyjson_mut_obj_add_val(d, o, "usage", usage_obj(d, &a->usage));
    struct ag_str text = ag_json_mut_text(ctx->arena, o);
    yyjson_mut_doc_free(d);
    return text.p ? ag_buf_append(out, text.p, text.len) : AG_ETOOBIG;
}

/* ---- the two adapters ---- */

static int chat_decode(const struct ag_proto_ctx *ctx, struct ag_str body,
                       const struct ag_client_hints *hints, struct ag_request **out,
                       struct ag_proto_error *err)
{
    return ag_openai_decode(ctx, body, false, out, err);
}

static int legacy_decode(const struct ag_proto_ctx *ctx, struct ag_str body,
                         const struct ag_client_hints *hints, struct ag_request **out,
                         struct ag_proto_error *err)
{
    return ag_openai_decode(ctx, body, true, out, err);
}

static struct ag_client_stream *chat_stream_new(const struct ag_proto_ctx *ctx,
                                                const struct ag_request *req,
                                                const struct ag_client_hints *hints)
{
    struct ag_client_stream *st = ag_openai_stream_new(ctx, req, false);
    if (st)
        st->proto = &ag_proto_openai_chat;
    return st;
}

static struct ag_client_stream *legacy_stream_new(const struct ag_proto_ctx *ctx,
                                                  const struct ag_request *req,
                                                  const struct ag_client_hints *hints)
{
    struct ag_client_stream *st = ag_openai_stream_new(ctx, req, true);
    if (st)
        st->proto = &ag_proto_openai_completions;
    return st;
}

static int chat_response(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                         const struct ag_answer *a, struct ag_buf *out)
{
    return ag_openai_encode_response(ctx, req, a, false, out);
}

static int legacy_response(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                           const struct ag_answer *a, struct ag_buf *out)
{
    return ag_openai_encode_response(ctx, req, a, true, out);
}

const struct ag_client_proto ag_proto_openai_chat = {
    .name = "openai-chat",
    .decode_request = chat_decode,
    .stream_new = chat_stream_new,
    .stream_event = ag_openai_stream_event,
    .stream_finish = ag_openai_stream_finish,
    .encode_response = chat_response,
    .encode_error = ag_openai_encode_error,
    .keepalive = ": ping\n\n",
};

const struct ag_client_proto ag_proto_openai_completions = {
    .name = "openai-completions",
    .decode_request = legacy_decode,
    .stream_new = legacy_stream_new,
    .stream_event = ag_openai_stream_event,
    .stream_finish = ag_openai_stream_finish,
    .encode_response = legacy_response,
    .encode_error = ag_openai_encode_error,
    .keepalive = ": ping\n\n",
};
