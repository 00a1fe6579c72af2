/* proto/openai_up.c: the upstream adapter for OpenAI Chat Completions and the endpoints that copy
 * it (DeepSeek, OpenRouter, z.ai, Ollama, vLLM, llama.cpp): the canonical request becomes a
 * POST <base>/chat/completions body, and the answer (chat.completion.chunk SSE, or one
 * chat.completion body) becomes canonical events.
 *
 * Requests always stream with stream_options.include_usage, so usage is known for every answer;
 * non-stream clients get the collected events. Reasoning that compatible servers stream as
 * delta.reasoning_content (DeepSeek) or delta.reasoning (OpenRouter, vLLM) becomes thinking.
 * Thinking parts of the history are not sent back: Chat Completions has no place for them. OpenAI's
 * own models (gpt-*, o-series) take max_completion_tokens and reasoning_effort; other models get
 * max_tokens. OpenAI sends usage in a chunk after the one with finish_reason; finishes wait for it
 * so that usage comes first, as from every other upstream. FINISH events carry no raw reason:
 * the raw field holds Gemini's vocabulary, which clients of the Gemini protocol repeat. */
#include <string.h>

#include "core/err.h"
#include "proto/adapter.h"
#include "proto/json.h"
#include "proto/toolid.h"
#include "proto/upstream_ids.h"

#define MAX_TOOLS 128 /* tool calls per choice the decoder tracks */

/* ---- request ---- */

static bool is_openai_model(struct ag_str model)
{
    return strcmp(ag_model_family(model), "gpt") == 0;
}

static yyjson_mut_val *data_url(yyjson_mut_doc *d, struct ag_arena *a, const struct ag_part *p)
{
    if (p->url.len)
        return ag_json_mut_str(d, p->url);
    char *s = ag_arena_printf(a, "data:%.*s;base64,%.*s", (int)p->mime.len, p->mime.p,
                              (int)p->data.len, p->data.p);
    return s ? yyjson_mut_str(d, s) : NULL;
}

/* One media part as a Chat Completions content part. */
static yyjson_mut_val *media_part(yyjson_mut_doc *d, struct ag_arena *a, const struct ag_part *p)
{
    yyjson_mut_val *o = yyjson_mut_obj(d), *inner = yyjson_mut_obj(d);
    if (ag_str_has_prefix_ci(p->mime, "audio/") && p->data.len) {
        yyjson_mut_obj_add_str(d, o, "type", "input_audio");
        ag_json_add_str(d, inner, "data", p->data);
        yyjson_mut_obj_add_str(d, inner, "format",
                               ag_str_contains_ci(p->mime, "mp") ? "mp3" : "wav");
        yyjson_mut_obj_add_val(d, o, "input_audio", inner);
    } else if (ag_str_has_prefix_ci(p->mime, "image/") || !p->mime.len || p->url.len) {
        yyjson_mut_obj_add_str(d, o, "type", "image_url");
        yyjson_mut_obj_add_val(d, inner, "url", data_url(d, a, p));
        yyjson_mut_obj_add_val(d, o, "image_url", inner);
    } else {
        yyjson_mut_obj_add_str(d, o, "type", "file");
        yyjson_mut_obj_add_str(d, inner, "filename",
                               ag_str_contains_ci(p->mime, "pdf") ? "document.pdf" : "file");
        yyjson_mut_obj_add_val(d, inner, "file_data", data_url(d, a, p));
        yyjson_mut_obj_add_val(d, o, "file", inner);
    }
    return o;
}

static yyjson_mut_val *text_part(yyjson_mut_doc *d, struct ag_str text)
{
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, o, "type", "text");
    ag_json_add_str(d, o, "text", text);
    return o;
}

/* content of a user turn: one string when it is a single text, else an array of parts. */
static void add_user(yyjson_mut_doc *d, struct ag_arena *a, yyjson_mut_val *msgs,
                     const struct ag_part *parts, size_t n)
{
    size_t n_text = 0, n_other = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].type == AG_PART_TEXT)
            n_text++;
        else if (parts[i].type == AG_PART_MEDIA)
            n_other++;
    }
    if (!n_text && !n_other)
        return;
    yyjson_mut_val *m = yyjson_mut_arr_add_obj(d, msgs);
    yyjson_mut_obj_add_str(d, m, "role", "user");
    if (n_text == 1 && !n_other) {
        for (size_t i = 0; i < n; i++)
            if (parts[i].type == AG_PART_TEXT)
                ag_json_add_str(d, m, "content", parts[i].text);
        return;
    }
    yyjson_mut_val *arr = yyjson_mut_obj_add_arr(d, m, "content");
    for (size_t i = 0; i < n; i++) {
        if (parts[i].type == AG_PART_TEXT)
            yyjson_mut_arr_append(arr, text_part(d, parts[i].text));
        else if (parts[i].type == AG_PART_MEDIA)
            yyjson_mut_arr_append(arr, media_part(d, a, &parts[i]));
    }
}

static int add_message(yyjson_mut_doc *d, struct ag_arena *a, yyjson_mut_val *msgs,
                       const struct ag_message *msg, const struct ag_str *ids)
{
    if (msg->role == AG_ROLE_ASSISTANT) {
        struct ag_buf text;
        yyjson_mut_val *m = yyjson_mut_obj(d), *calls = NULL;
        ag_buf_init(&text, AG_BUF_UNBOUNDED); /* joins texts of the request body, capped by
                                                 server.max_body_bytes */
        yyjson_mut_obj_add_str(d, m, "role", "assistant");
        for (size_t i = 0; i < msg->n_parts; i++) {
            const struct ag_part *p = &msg->parts[i];
            if (p->type == AG_PART_TEXT) {
                ag_buf_append(&text, p->text.p, p->text.len);
            } else if (p->type == AG_PART_TOOL_CALL) {
                if (!calls)
                    calls = yyjson_mut_arr(d);
                yyjson_mut_val *c = yyjson_mut_arr_add_obj(d, calls), *fn = yyjson_mut_obj(d);
                ag_json_add_str(d, c, "id", ids[i]);
                yyjson_mut_obj_add_str(d, c, "type", "function");
                ag_json_add_str(d, fn, "name", p->name);
                ag_json_add_str(d, fn, "arguments", p->args.len ? p->args : AG_STR("{}"));
                yyjson_mut_obj_add_val(d, c, "function", fn);
            }
        }
        if (text.len)
            yyjson_mut_obj_add_strncpy(d, m, "content", text.data, text.len);
        else if (calls)
            yyjson_mut_obj_add_null(d, m, "content");
        else
            yyjson_mut_obj_add_str(d, m, "content", "");
        ag_buf_dispose(&text);
        if (calls)
            yyjson_mut_obj_add_val(d, m, "tool_calls", calls);
        yyjson_mut_arr_append(msgs, m);
        return 0;
    }
    /* A user turn: tool results first (each its own "tool" message, right after the calls),
     * then images a tool returned (a tool message holds text only), then the user's own parts. */
    yyjson_mut_val *media = NULL;
    for (size_t i = 0; i < msg->n_parts; i++) {
        const struct ag_part *p = &msg->parts[i];
        if (p->type != AG_PART_TOOL_RESULT)
            continue;
        yyjson_mut_val *m = yyjson_mut_arr_add_obj(d, msgs);
        yyjson_mut_obj_add_str(d, m, "role", "tool");
        ag_json_add_str(d, m, "tool_call_id", ids[i]);
        struct ag_str text = p->text;
        if (p->is_error && !p->json)
            text = ag_str_c(ag_arena_printf(a, "Error: %.*s", (int)text.len, text.p));
        ag_json_add_str(d, m, "content", text);
        for (size_t j = 0; j < p->n_parts; j++) {
            if (p->parts[j].type != AG_PART_MEDIA)
                continue;
            if (!media)
                media = yyjson_mut_arr(d);
            yyjson_mut_arr_append(media, media_part(d, a, &p->parts[j]));
        }
    }
    if (media) {
        yyjson_mut_val *m = yyjson_mut_arr_add_obj(d, msgs);
        yyjson_mut_obj_add_str(d, m, "role", "user");
        yyjson_mut_obj_add_val(d, m, "content", media);
    }
    add_user(d, a, msgs, msg->parts, msg->n_parts);
    return 0;
}

static const char *effort_name(enum ag_effort e)
{
    switch (e) {
    case AG_EFFORT_MINIMAL:
        return "minimal";
    case AG_EFFORT_LOW:
        return "low";
    case AG_EFFORT_MEDIUM:
        return "medium";
    case AG_EFFORT_HIGH:
    case AG_EFFORT_MAX:
        return "high";
    default:
        return NULL;
    }
}

static void add_params(yyjson_mut_doc *d, struct ag_arena *a, yyjson_mut_val *body,
                       const struct ag_request *req, struct ag_str model)
{
    const struct ag_gen *g = &req->gen;
    bool openai = is_openai_model(model);
    if (g->max_tokens >= 0)
        yyjson_mut_obj_add_int(d, body, openai ? "max_completion_tokens" : "max_tokens",
                               g->max_tokens);
    if (g->has_temperature)
        yyjson_mut_obj_add_real(d, body, "temperature", g->temperature);
    if (g->has_top_p)
        yyjson_mut_obj_add_real(d, body, "top_p", g->top_p);
    if (g->has_presence)
        yyjson_mut_obj_add_real(d, body, "presence_penalty", g->presence_penalty);
    if (g->has_frequency)
        yyjson_mut_obj_add_real(d, body, "frequency_penalty", g->frequency_penalty);
    if (g->has_seed)
        yyjson_mut_obj_add_int(d, body, "seed", g->seed);
    if (g->n > 1)
        yyjson_mut_obj_add_int(d, body, "n", g->n);
    if (g->n_stop) {
        yyjson_mut_val *stop = yyjson_mut_obj_add_arr(d, body, "stop");
        for (size_t i = 0; i < g->n_stop; i++)
            yyjson_mut_arr_append(stop, ag_json_mut_str(d, g->stop[i]));
    }
    if (g->format == AG_FORMAT_JSON_OBJECT) {
        yyjson_mut_val *rf = yyjson_mut_obj_add_obj(d, body, "response_format");
        yyjson_mut_obj_add_str(d, rf, "type", "json_object");
    } else if (g->format == AG_FORMAT_JSON_SCHEMA) {
        yyjson_mut_val *rf = yyjson_mut_obj_add_obj(d, body, "response_format");
        yyjson_mut_val *js = yyjson_mut_obj_add_obj(d, rf, "json_schema");
        yyjson_mut_val *schema = ag_json_parse_into(d, a, g->schema);
        yyjson_mut_obj_add_str(d, rf, "type", "json_schema");
        ag_json_add_str(d, js, "name", g->schema_name.len ? g->schema_name : AG_STR("response"));
        yyjson_mut_obj_add_val(d, js, "schema", schema ? schema : yyjson_mut_obj(d));
    }
    const char *effort = effort_name(req->thinking.effort);
    if (openai && effort)
        yyjson_mut_obj_add_str(d, body, "reasoning_effort", effort);
    if (req->user.len)
        ag_json_add_str(d, body, "user", req->user);
}

static void add_tools(yyjson_mut_doc *d, struct ag_arena *a, yyjson_mut_val *body,
                      const struct ag_request *req)
{
    if (req->n_tools) {
        yyjson_mut_val *tools = yyjson_mut_obj_add_arr(d, body, "tools");
        for (size_t i = 0; i < req->n_tools; i++) {
            const struct ag_tool *t = &req->tools[i];
            yyjson_mut_val *o = yyjson_mut_arr_add_obj(d, tools), *fn = yyjson_mut_obj(d);
            yyjson_mut_obj_add_str(d, o, "type", "function");
            ag_json_add_str(d, fn, "name", t->name);
            if (t->description.len)
                ag_json_add_str(d, fn, "description", t->description);
            yyjson_mut_val *schema = ag_upstream_schema(d, a, t->schema);
            if (!schema) {
                schema = yyjson_mut_obj(d);
                yyjson_mut_obj_add_str(d, schema, "type", "object");
                yyjson_mut_obj_add_obj(d, schema, "properties");
            }
            yyjson_mut_obj_add_val(d, fn, "parameters", schema);
            yyjson_mut_obj_add_val(d, o, "function", fn);
        }
    }
    switch (req->tool_choice) {
    case AG_TOOL_CHOICE_AUTO:
        yyjson_mut_obj_add_str(d, body, "tool_choice", "auto");
        break;
    case AG_TOOL_CHOICE_NONE:
        yyjson_mut_obj_add_str(d, body, "tool_choice", "none");
        break;
    case AG_TOOL_CHOICE_REQUIRED:
        yyjson_mut_obj_add_str(d, body, "tool_choice", "required");
        break;
    case AG_TOOL_CHOICE_NAMED: {
        yyjson_mut_val *tc = yyjson_mut_obj_add_obj(d, body, "tool_choice");
        yyjson_mut_val *fn = yyjson_mut_obj_add_obj(d, tc, "function");
        yyjson_mut_obj_add_str(d, tc, "type", "function");
        ag_json_add_str(d, fn, "name", req->tool_choice_name);
        break;
    }
    default:
        break;
    }
    if (req->n_tools && req->parallel_tools != AG_UNSET)
        yyjson_mut_obj_add_bool(d, body, "parallel_tool_calls", req->parallel_tools == AG_ON);
}

static int oa_encode_request(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                             const struct ag_upstream_target *t, struct ag_upstream_call *out)
{
    yyjson_alc alc;
    memset(out, 0, sizeof(*out));
    if (req->kind != AG_REQ_GENERATE || req->image.on)
        return AG_EUNSUPPORTED; /* Chat Completions counts no tokens and draws no images */
    struct ag_arena *tmp = ag_proto_scratch(ctx);
    ag_json_arena_alc(&alc, tmp);
    yyjson_mut_doc *d = yyjson_mut_doc_new(&alc);
    struct ag_str *ids = ag_upstream_tool_ids(tmp, req);
    if (!d || !ids)
        return AG_ETOOBIG;
    yyjson_mut_val *body = yyjson_mut_obj(d);
    ag_json_add_str(d, body, "model", t->model);
    yyjson_mut_val *msgs = yyjson_mut_obj_add_arr(d, body, "messages");
    if (req->n_system) {
        struct ag_buf sys;
        ag_buf_init(&sys, AG_BUF_UNBOUNDED); /* joins texts of the request body, capped by
                                                server.max_body_bytes */
        for (size_t i = 0; i < req->n_system; i++) {
            if (req->system[i].type != AG_PART_TEXT)
                continue;
            if (sys.len)
                ag_buf_append_c(&sys, "\n\n");
            ag_buf_append(&sys, req->system[i].text.p, req->system[i].text.len);
        }
        yyjson_mut_val *m = yyjson_mut_arr_add_obj(d, msgs);
        yyjson_mut_obj_add_str(d, m, "role", "system");
        yyjson_mut_obj_add_strncpy(d, m, "content", sys.data ? sys.data : "", sys.len);
        ag_buf_dispose(&sys);
    }
    size_t k = 0;
    for (size_t i = 0; i < req->n_messages; i++) {
        add_message(d, tmp, msgs, &req->messages[i], ids + k);
        k += req->messages[i].n_parts;
    }
    add_tools(d, tmp, body, req);
    add_params(d, tmp, body, req, t->model);
    yyjson_mut_obj_add_bool(d, body, "stream", true);
    yyjson_mut_val *so = yyjson_mut_obj_add_obj(d, body, "stream_options");
    yyjson_mut_obj_add_bool(d, so, "include_usage", true);
    out->body = ag_json_mut_text(ctx->arena, body);
    if (!out->body.p)
        return AG_ETOOBIG;
    if (ctx->max_body && out->body.len > ctx->max_body)
        return AG_ETOOBIG;
    out->method = "chat/completions";
    out->path = "/chat/completions";
    out->stream = true;
    return 0;
}

/* ---- answer ---- */

struct oa_choice {
    bool used, finished, pending; /* pending: finish_reason seen, FINISH not yet sent */
    enum ag_finish finish;
    int n_tools;
    int open[MAX_TOOLS]; /* upstream index -> canonical tool_index + 1 (0 = not started) */
    bool ended[MAX_TOOLS];
};

struct oa_decoder {
    struct ag_upstream_decoder base;
    struct ag_arena *arena;
    struct ag_str seed;
    size_t max_depth;
    bool started, failed;
    uint64_t tool_seq;
    struct oa_choice ch[AG_MAX_CHOICES];
};

static struct ag_upstream_decoder *oa_decoder_new(const struct ag_proto_ctx *ctx,
                                                  const struct ag_request *req,
                                                  const struct ag_upstream_target *t)
{
    struct oa_decoder *st = ag_arena_calloc(ctx->arena, sizeof(*st));
    (void)req;
    (void)t;
    if (!st)
        return NULL;
    st->base.proto = &ag_proto_openai_api;
    st->arena = ctx->arena;
    st->seed = ctx->request_id;
    st->max_depth = ag_json_depth_limit(ctx->max_json_depth);
    return &st->base;
}

static enum ag_finish finish_parse(struct ag_str r)
{
    if (ag_str_eq_c(r, "length"))
        return AG_FINISH_LENGTH;
    if (ag_str_eq_c(r, "tool_calls") || ag_str_eq_c(r, "function_call"))
        return AG_FINISH_TOOL_CALLS;
    if (ag_str_eq_c(r, "content_filter"))
        return AG_FINISH_CONTENT_FILTER;
    return AG_FINISH_STOP;
}

/* An error object ({"error": {...}}) in a stream or body: one ERROR event. */
static int error_event(struct oa_decoder *st, yyjson_val *err, ag_event_cb cb, void *ud)
{
    struct ag_event ev = {.type = AG_EV_ERROR};
    int64_t code = 0;
    yyjson_val *c = yyjson_obj_get(err, "code");
    if (yyjson_is_int(c))
        code = yyjson_get_sint(c);
    struct ag_str type = ag_json_get_str(err, "type");
    if (code < 400 || code > 599)
        code = ag_str_contains(type, "rate_limit")        ? 429
               : ag_str_contains(type, "invalid_request") ? 400
               : ag_str_contains(type, "authentication")  ? 401
                                                          : 502;
    struct ag_str msg = ag_json_get_str(err, "message");
    ev.error.status = (int)code;
    ev.error.kind = ag_error_kind_for_status((int)code);
    ev.error.message = msg.len ? msg : AG_STR("upstream error");
    ev.error.code = ag_json_get_str(err, "code");
    st->failed = true;
    return cb(ud, &ev);
}

static int start(struct oa_decoder *st, yyjson_val *root, ag_event_cb cb, void *ud)
{
    if (st->started)
        return 0;
    st->started = true;
    struct ag_event ev = {.type = AG_EV_START};
    ev.id = ag_json_get_str(root, "id");
    ev.name = ag_json_get_str(root, "model");
    return cb(ud, &ev);
}

static int end_tools(struct oa_choice *c, int ci, ag_event_cb cb, void *ud)
{
    for (int i = 0; i < MAX_TOOLS; i++) {
        if (!c->open[i] || c->ended[i])
            continue;
        c->ended[i] = true;
        struct ag_event ev = {.type = AG_EV_TOOL_END, .choice = ci, .tool_index = c->open[i] - 1};
        int rc = cb(ud, &ev);
        if (rc)
            return rc;
    }
    return 0;
}

static int send_finishes(struct oa_decoder *st, ag_event_cb cb, void *ud)
{
    for (int ci = 0; ci < AG_MAX_CHOICES; ci++) {
        struct oa_choice *c = &st->ch[ci];
        if (!c->pending)
            continue;
        c->pending = false;
        c->finished = true;
        struct ag_event ev = {.type = AG_EV_FINISH, .choice = ci, .finish = c->finish};
        int rc = cb(ud, &ev);
        if (rc)
            return rc;
    }
    return 0;
}

static void usage_parse(yyjson_val *u, struct ag_usage *out)
{
    int64_t v;
    memset(out, 0, sizeof(*out));
    if (!ag_json_int(yyjson_obj_get(u, "prompt_tokens"), AG_USAGE_MAX, &v))
        out->input = v;
    if (!ag_json_int(yyjson_obj_get(u, "completion_tokens"), AG_USAGE_MAX, &v))
        out->output = v;
    /* OpenAI's prompt_tokens_details.cached_tokens, else DeepSeek's prompt_cache_hit_tokens */
    if (!ag_json_int(yyjson_obj_get(yyjson_obj_get(u, "prompt_tokens_details"), "cached_tokens"),
                     AG_USAGE_MAX, &v) ||
        !ag_json_int(yyjson_obj_get(u, "prompt_cache_hit_tokens"), AG_USAGE_MAX, &v))
        out->cached = v;
    if (!ag_json_int(
            yyjson_obj_get(yyjson_obj_get(u, "completion_tokens_details"), "reasoning_tokens"),
            AG_USAGE_MAX, &v))
        out->reasoning = v;
    if (!ag_json_int(yyjson_obj_get(u, "total_tokens"), AG_USAGE_MAX, &v))
        out->total = v;
    else
        out->total = out->input + out->output;
}

/* One tool call delta {index, id?, function: {name?, arguments?}} of choice ci. */
static int tool_delta(struct oa_decoder *st, int ci, yyjson_val *tc, int pos, ag_event_cb cb,
                      void *ud)
{
    struct oa_choice *c = &st->ch[ci];
    yyjson_val *iv = yyjson_obj_get(tc, "index");
    int idx = yyjson_is_int(iv) ? (int)yyjson_get_sint(iv) : pos;
    yyjson_val *fn = yyjson_obj_get(tc, "function");
    int rc;
    if (idx < 0 || idx >= MAX_TOOLS)
        return 0;
    if (!c->open[idx]) {
        struct ag_event ev = {.type = AG_EV_TOOL_START, .choice = ci};
        ev.tool_index = c->n_tools++;
        c->open[idx] = ev.tool_index + 1;
        ev.id = ag_json_get_str(tc, "id");
        if (!ev.id.len)
            ev.id = ag_toolid_make(st->arena, st->seed, st->tool_seq);
        st->tool_seq++;
        ev.name = ag_json_get_str(fn, "name");
        if ((rc = cb(ud, &ev)))
            return rc;
    }
    struct ag_str args = ag_json_get_str(fn, "arguments");
    if (args.len) {
        struct ag_event ev = {.type = AG_EV_TOOL_ARGS, .choice = ci};
        ev.tool_index = c->open[idx] - 1;
        ev.text = args;
        if ((rc = cb(ud, &ev)))
            return rc;
    }
    return 0;
}

/* A choice of a chunk (delta) or of a whole completion (message). */
static int choice_events(struct oa_decoder *st, yyjson_val *choice, size_t pos, ag_event_cb cb,
                         void *ud)
{
    yyjson_val *iv = yyjson_obj_get(choice, "index");
    int ci = yyjson_is_int(iv) ? (int)yyjson_get_sint(iv) : (int)pos, rc;
    if (ci < 0 || ci >= AG_MAX_CHOICES)
        return 0;
    struct oa_choice *c = &st->ch[ci];
    c->used = true;
    yyjson_val *delta = yyjson_obj_get(choice, "delta");
    if (!delta)
        delta = yyjson_obj_get(choice, "message");
    struct ag_str reasoning = ag_json_get_str(delta, "reasoning_content");
    if (!reasoning.len)
        reasoning = ag_json_get_str(delta, "reasoning");
    if (reasoning.len) {
        struct ag_event ev = {.type = AG_EV_THINKING, .choice = ci, .text = reasoning};
        if ((rc = cb(ud, &ev)))
            return rc;
    }
    struct ag_str text = ag_json_get_str(delta, "content");
    if (text.len) {
        struct ag_event ev = {.type = AG_EV_TEXT, .choice = ci, .text = text};
        if ((rc = cb(ud, &ev)))
            return rc;
    }
    struct ag_str refusal = ag_json_get_str(delta, "refusal");
    if (refusal.len) {
        struct ag_event ev = {.type = AG_EV_TEXT, .choice = ci, .text = refusal};
        if ((rc = cb(ud, &ev)))
            return rc;
    }
    yyjson_val *calls = yyjson_obj_get(delta, "tool_calls"), *tc;
    size_t i, max;
    yyjson_arr_foreach(calls, i, max, tc)
    {
        if ((rc = tool_delta(st, ci, tc, (int)i, cb, ud)))
            return rc;
    }
    struct ag_str reason = ag_json_get_str(choice, "finish_reason");
    if (reason.len && !c->finished && !c->pending) {
        if ((rc = end_tools(c, ci, cb, ud)))
            return rc;
        c->pending = true;
        c->finish = finish_parse(reason);
        if (c->finish == AG_FINISH_STOP && c->n_tools)
            c->finish = AG_FINISH_TOOL_CALLS;
    }
    return 0;
}

static int decode_root(struct oa_decoder *st, yyjson_val *root, ag_event_cb cb, void *ud)
{
    int rc;
    yyjson_val *err = yyjson_obj_get(root, "error");
    if (yyjson_is_obj(err))
        return error_event(st, err, cb, ud);
    if ((rc = start(st, root, cb, ud)))
        return rc;
    yyjson_val *choices = yyjson_obj_get(root, "choices"), *choice;
    size_t i, max;
    yyjson_arr_foreach(choices, i, max, choice)
    {
        if ((rc = choice_events(st, choice, i, cb, ud)))
            return rc;
    }
    yyjson_val *u = yyjson_obj_get(root, "usage");
    if (yyjson_is_obj(u)) {
        struct ag_event ev = {.type = AG_EV_USAGE};
        usage_parse(u, &ev.usage);
        if ((rc = cb(ud, &ev)))
            return rc;
        return send_finishes(st, cb, ud); /* usage came: the finishes may follow it */
    }
    return 0;
}

static int malformed(struct oa_decoder *st, ag_event_cb cb, void *ud, bool too_deep)
{
    int rc = ag_event_upstream_failed(cb, ud,
                                      too_deep ? AG_STR("upstream sent JSON nested too deeply")
                                               : AG_STR("upstream sent data that is not JSON"),
                                      &st->failed);
    return rc ? rc : AG_EPARSE;
}

static int decode_text(struct oa_decoder *st, struct ag_str payload, ag_event_cb cb, void *ud)
{
    payload = ag_str_trim(payload);
    if (!payload.len || ag_str_eq_c(payload, "[DONE]") || st->failed)
        return 0;
    int jerr;
    yyjson_doc *doc = ag_json_depth_read(payload.p, payload.len, st->max_depth, NULL, NULL, &jerr);
    if (!doc)
        return malformed(st, cb, ud, jerr == AG_EDEPTH);
    int rc = decode_root(st, yyjson_doc_get_root(doc), cb, ud);
    yyjson_doc_free(doc);
    return rc;
}

static int oa_decode_event(struct ag_upstream_decoder *dec, struct ag_str payload, ag_event_cb cb,
                           void *ud)
{
    return decode_text((struct oa_decoder *)dec, payload, cb, ud);
}

static int oa_decode_end(struct ag_upstream_decoder *dec, ag_event_cb cb, void *ud)
{
    struct oa_decoder *st = (struct oa_decoder *)dec;
    int rc;
    if (st->failed)
        return 0;
    if (!st->started) {
        return ag_event_upstream_failed(cb, ud, AG_STR("upstream ended without an answer"),
                                        &st->failed);
    }
    if ((rc = send_finishes(st, cb, ud)))
        return rc;
    st->ch[0].used = true;
    for (int ci = 0; ci < AG_MAX_CHOICES; ci++) {
        struct oa_choice *c = &st->ch[ci];
        if (!c->used || c->finished)
            continue;
        if ((rc = end_tools(c, ci, cb, ud)))
            return rc;
        c->finished = true;
        struct ag_event ev = {.type = AG_EV_FINISH, .choice = ci};
        ev.finish = c->n_tools ? AG_FINISH_TOOL_CALLS : AG_FINISH_STOP;
        if ((rc = cb(ud, &ev)))
            return rc;
    }
    return 0;
}

static int oa_decode_response(struct ag_upstream_decoder *dec, struct ag_str body, ag_event_cb cb,
                              void *ud)
{
    int rc = decode_text((struct oa_decoder *)dec, body, cb, ud);
    return rc ? rc : oa_decode_end(dec, cb, ud);
}

const struct ag_upstream_proto ag_proto_openai_api = {
    .name = "openai",
    .encode_request = oa_encode_request,
    .decoder_new = oa_decoder_new,
    .decode_event = oa_decode_event,
    .decode_end = oa_decode_end,
    .decode_response = oa_decode_response,
};
