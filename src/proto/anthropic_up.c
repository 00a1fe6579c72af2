/* proto/anthropic_up.c: the upstream adapter for Anthropic's Messages API: the canonical request
 * becomes a POST <base>/v1/messages body (count requests: /v1/messages/count_tokens), and the
 * answer (the message_start ... message_stop SSE stream, or one message body) becomes canonical
 * events.
 *
 * The API is strict, and the body is made to pass it: max_tokens is always sent (the client's,
 * else the model's known limit, else 8192) and kept above a thinking budget; a budget is at least
 * 1024; temperature and top_k are left out while thinking is on (the API refuses them then);
 * empty text blocks are dropped; thinking blocks are replayed only with a Claude signature; every
 * tool gets an input_schema. Usage counts input as input_tokens plus cache reads and writes, and
 * cache reads as cached, as the canonical usage counts them. */
#include <string.h>

#include "core/err.h"
#include "proto/adapter.h"
#include "proto/gemini_body.h" /* ag_gemini_thinking_budget */
#include "proto/json.h"
#include "proto/toolid.h"
#include "proto/upstream_ids.h"

#define MAX_BLOCKS  256 /* content blocks per message the decoder tracks */
#define DEFAULT_MAX 8192
#define MIN_BUDGET  1024
#define ANSWER_ROOM 8192

/* ---- request ---- */

static yyjson_mut_val *media_block(yyjson_mut_doc *d, const struct ag_part *p)
{
    yyjson_mut_val *o = yyjson_mut_obj(d), *src = yyjson_mut_obj(d);
    bool image = ag_str_has_prefix_ci(p->mime, "image/") || !p->mime.len;
    yyjson_mut_obj_add_str(d, o, "type", image ? "image" : "document");
    if (p->url.len) {
        yyjson_mut_obj_add_str(d, src, "type", "url");
        ag_json_add_str(d, src, "url", p->url);
    } else {
        yyjson_mut_obj_add_str(d, src, "type", "base64");
        ag_json_add_str(d, src, "media_type", p->mime.len ? p->mime : AG_STR("image/png"));
        ag_json_add_str(d, src, "data", p->data);
    }
    yyjson_mut_obj_add_val(d, o, "source", src);
    return o;
}

static yyjson_mut_val *text_block(yyjson_mut_doc *d, struct ag_str text)
{
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, o, "type", "text");
    ag_json_add_str(d, o, "text", text);
    return o;
}

static yyjson_mut_val *result_block(yyjson_mut_doc *d, const struct ag_part *p, struct ag_str id)
{
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, o, "type", "tool_result");
    ag_json_add_str(d, o, "tool_use_id", id);
    bool media = false;
    for (size_t j = 0; j < p->n_parts; j++)
        media = media || p->parts[j].type == AG_PART_MEDIA;
    if (!media) {
        ag_json_add_str(d, o, "content", p->text);
    } else {
        yyjson_mut_val *arr = yyjson_mut_obj_add_arr(d, o, "content");
        if (p->text.len)
            yyjson_mut_arr_append(arr, text_block(d, p->text));
        for (size_t j = 0; j < p->n_parts; j++)
            if (p->parts[j].type == AG_PART_MEDIA)
                yyjson_mut_arr_append(arr, media_block(d, &p->parts[j]));
    }
    if (p->is_error)
        yyjson_mut_obj_add_bool(d, o, "is_error", true);
    return o;
}

/* One canonical part as a content block; NULL when the part has no place here. */
static yyjson_mut_val *block(yyjson_mut_doc *d, struct ag_arena *a, const struct ag_part *p,
                             struct ag_str id, bool thinking_on)
{
    switch (p->type) {
    case AG_PART_TEXT:
        return p->text.len ? text_block(d, p->text) : NULL;
    case AG_PART_MEDIA:
        return media_block(d, p);
    case AG_PART_TOOL_CALL: {
        yyjson_mut_val *o = yyjson_mut_obj(d);
        yyjson_mut_val *input = ag_json_parse_into(d, a, p->args.len ? p->args : AG_STR("{}"));
        yyjson_mut_obj_add_str(d, o, "type", "tool_use");
        ag_json_add_str(d, o, "id", id);
        ag_json_add_str(d, o, "name", p->name);
        yyjson_mut_obj_add_val(d, o, "input", yyjson_mut_is_obj(input) ? input : yyjson_mut_obj(d));
        return o;
    }
    case AG_PART_TOOL_RESULT:
        return result_block(d, p, id);
    case AG_PART_THINKING: {
        /* Only Claude's own signed thinking can be replayed, and only with thinking on. */
        if (!thinking_on || !p->sig.value.len || !ag_str_eq_c(p->sig.family, "claude"))
            return NULL;
        yyjson_mut_val *o = yyjson_mut_obj(d);
        if (p->redacted) {
            yyjson_mut_obj_add_str(d, o, "type", "redacted_thinking");
            ag_json_add_str(d, o, "data", p->sig.value);
            return o;
        }
        yyjson_mut_obj_add_str(d, o, "type", "thinking");
        ag_json_add_str(d, o, "thinking", p->text);
        ag_json_add_str(d, o, "signature", p->sig.value);
        return o;
    }
    }
    return NULL;
}

static void add_messages(yyjson_mut_doc *d, struct ag_arena *a, yyjson_mut_val *body,
                         const struct ag_request *req, const struct ag_str *ids, bool thinking_on)
{
    yyjson_mut_val *msgs = yyjson_mut_obj_add_arr(d, body, "messages");
    size_t k = 0;
    for (size_t i = 0; i < req->n_messages; i++) {
        const struct ag_message *m = &req->messages[i];
        yyjson_mut_val *content = yyjson_mut_arr(d);
        /* tool results open a user turn, as the API wants them */
        for (int pass = 0; pass < 2; pass++) {
            for (size_t j = 0; j < m->n_parts; j++) {
                bool result = m->parts[j].type == AG_PART_TOOL_RESULT;
                if (m->role == AG_ROLE_USER && result != (pass == 0))
                    continue;
                if (m->role == AG_ROLE_ASSISTANT && pass == 1)
                    continue;
                yyjson_mut_val *b = block(d, a, &m->parts[j], ids[k + j], thinking_on);
                if (b)
                    yyjson_mut_arr_append(content, b);
            }
        }
        k += m->n_parts;
        if (!yyjson_mut_arr_size(content))
            continue;
        yyjson_mut_val *o = yyjson_mut_arr_add_obj(d, msgs);
        yyjson_mut_obj_add_str(d, o, "role", m->role == AG_ROLE_ASSISTANT ? "assistant" : "user");
        yyjson_mut_obj_add_val(d, o, "content", content);
    }
}

static void add_system(yyjson_mut_doc *d, yyjson_mut_val *body, const struct ag_request *req)
{
    yyjson_mut_val *sys = NULL;
    for (size_t i = 0; i < req->n_system; i++) {
        if (req->system[i].type != AG_PART_TEXT || !req->system[i].text.len)
            continue;
        if (!sys)
            sys = yyjson_mut_obj_add_arr(d, body, "system");
        yyjson_mut_arr_append(sys, text_block(d, req->system[i].text));
    }
}

static void add_tools(yyjson_mut_doc *d, struct ag_arena *a, yyjson_mut_val *body,
                      const struct ag_request *req)
{
    if (!req->n_tools || req->tool_choice == AG_TOOL_CHOICE_NONE) {
        if (req->n_tools) { /* "none" keeps the tools declared (the history may use them) */
            yyjson_mut_val *tc = yyjson_mut_obj_add_obj(d, body, "tool_choice");
            yyjson_mut_obj_add_str(d, tc, "type", "none");
        } else {
            return;
        }
    }
    yyjson_mut_val *tools = yyjson_mut_obj_add_arr(d, body, "tools");
    for (size_t i = 0; i < req->n_tools; i++) {
        const struct ag_tool *t = &req->tools[i];
        yyjson_mut_val *o = yyjson_mut_arr_add_obj(d, tools);
        ag_json_add_str(d, o, "name", t->name);
        if (t->description.len)
            ag_json_add_str(d, o, "description", t->description);
        yyjson_mut_val *schema = ag_upstream_schema(d, a, t->schema);
        if (!yyjson_mut_is_obj(schema)) {
            schema = yyjson_mut_obj(d);
            yyjson_mut_obj_add_str(d, schema, "type", "object");
            yyjson_mut_obj_add_obj(d, schema, "properties");
        }
        yyjson_mut_obj_add_val(d, o, "input_schema", schema);
    }
    if (req->tool_choice == AG_TOOL_CHOICE_NONE)
        return;
    const char *type = req->tool_choice == AG_TOOL_CHOICE_REQUIRED ? "any"
                       : req->tool_choice == AG_TOOL_CHOICE_NAMED  ? "tool"
                       : req->tool_choice == AG_TOOL_CHOICE_AUTO   ? "auto"
                                                                   : NULL;
    if (!type && req->parallel_tools == AG_OFF)
        type = "auto";
    if (!type)
        return;
    yyjson_mut_val *tc = yyjson_mut_obj_add_obj(d, body, "tool_choice");
    yyjson_mut_obj_add_str(d, tc, "type", type);
    if (req->tool_choice == AG_TOOL_CHOICE_NAMED)
        ag_json_add_str(d, tc, "name", req->tool_choice_name);
    if (req->parallel_tools == AG_OFF)
        yyjson_mut_obj_add_bool(d, tc, "disable_parallel_tool_use", true);
}

/* max_tokens, thinking, sampling and stop sequences. */
static void add_params(yyjson_mut_doc *d, yyjson_mut_val *body, const struct ag_request *req,
                       const struct ag_upstream_target *t)
{
    const struct ag_gen *g = &req->gen;
    int64_t limit = t->max_output_tokens;
    int64_t max = g->max_tokens > 0 ? g->max_tokens : limit > 0 ? limit : DEFAULT_MAX;
    int64_t budget = ag_gemini_thinking_budget(req, t->model);
    if (limit > 0 && max > limit)
        max = limit;
    if (budget >= 0) {
        if (budget < MIN_BUDGET)
            budget = MIN_BUDGET;
        if (t->thinking_budget_max > 0 && budget > t->thinking_budget_max)
            budget = t->thinking_budget_max;
        if (max <= budget) {
            max = budget + ANSWER_ROOM;
            if (limit > 0 && max > limit)
                max = limit;
            if (max <= budget)
                budget = max / 2 > MIN_BUDGET ? max / 2 : MIN_BUDGET;
        }
        if (max <= budget) /* the model cannot think at all within its limit */
            budget = -1;
    }
    yyjson_mut_obj_add_int(d, body, "max_tokens", max);
    if (budget >= 0) {
        yyjson_mut_val *th = yyjson_mut_obj_add_obj(d, body, "thinking");
        yyjson_mut_obj_add_str(d, th, "type", "enabled");
        yyjson_mut_obj_add_int(d, th, "budget_tokens", budget);
    } else {
        if (g->has_temperature)
            yyjson_mut_obj_add_real(d, body, "temperature",
                                    g->temperature > 1.0 ? 1.0 : g->temperature);
        if (g->top_k > 0)
            yyjson_mut_obj_add_int(d, body, "top_k", g->top_k);
    }
    if (g->has_top_p && budget < 0)
        yyjson_mut_obj_add_real(d, body, "top_p", g->top_p);
    if (g->n_stop) {
        yyjson_mut_val *stop = yyjson_mut_obj_add_arr(d, body, "stop_sequences");
        for (size_t i = 0; i < g->n_stop; i++)
            yyjson_mut_arr_append(stop, ag_json_mut_str(d, g->stop[i]));
    }
    if (req->user.len) {
        yyjson_mut_val *md = yyjson_mut_obj_add_obj(d, body, "metadata");
        ag_json_add_str(d, md, "user_id", req->user);
    }
}

static int an_encode_request(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                             const struct ag_upstream_target *t, struct ag_upstream_call *out)
{
    yyjson_alc alc;
    memset(out, 0, sizeof(*out));
    if (req->image.on)
        return AG_EUNSUPPORTED;
    struct ag_arena *tmp = ag_proto_scratch(ctx);
    ag_json_arena_alc(&alc, tmp);
    yyjson_mut_doc *d = yyjson_mut_doc_new(&alc);
    struct ag_str *ids = ag_upstream_tool_ids(tmp, req);
    if (!d || !ids)
        return AG_ETOOBIG;
    bool count = req->kind == AG_REQ_COUNT_TOKENS;
    bool thinking_on = !count && ag_gemini_thinking_budget(req, t->model) >= 0;
    yyjson_mut_val *body = yyjson_mut_obj(d);
    ag_json_add_str(d, body, "model", t->model);
    if (!count)
        add_params(d, body, req, t);
    add_system(d, body, req);
    add_messages(d, tmp, body, req, ids, thinking_on);
    add_tools(d, tmp, body, req);
    if (!count) {
        yyjson_mut_obj_add_bool(d, body, "stream", true);
        out->stream = true;
        out->method = "messages";
        out->path = "/v1/messages";
    } else {
        out->method = "countTokens";
        out->path = "/v1/messages/count_tokens";
    }
    out->body = ag_json_mut_text(ctx->arena, body);
    if (!out->body.p)
        return AG_ETOOBIG;
    if (ctx->max_body && out->body.len > ctx->max_body)
        return AG_ETOOBIG;
    return 0;
}

/* ---- answer ---- */

enum block_kind { B_NONE = 0, B_TEXT, B_THINKING, B_TOOL, B_OTHER };

struct an_decoder {
    struct ag_upstream_decoder base;
    struct ag_arena *arena;
    struct ag_str seed;
    size_t max_depth;
    bool count, started, failed, finished;
    int n_tools;
    uint64_t tool_seq;
    struct ag_usage usage;
    enum block_kind kind[MAX_BLOCKS];
    int tool_index[MAX_BLOCKS];
    bool args_seen[MAX_BLOCKS];
};

static struct ag_upstream_decoder *an_decoder_new(const struct ag_proto_ctx *ctx,
                                                  const struct ag_request *req,
                                                  const struct ag_upstream_target *t)
{
    struct an_decoder *st = ag_arena_calloc(ctx->arena, sizeof(*st));
    (void)t;
    if (!st)
        return NULL;
    st->base.proto = &ag_proto_anthropic_api;
    st->arena = ctx->arena;
    st->seed = ctx->request_id;
    st->max_depth = ag_json_depth_limit(ctx->max_json_depth);
    st->count = req->kind == AG_REQ_COUNT_TOKENS;
    return &st->base;
}

static enum ag_finish stop_parse(struct ag_str r)
{
    if (ag_str_eq_c(r, "max_tokens") || ag_str_eq_c(r, "model_context_window_exceeded"))
        return AG_FINISH_LENGTH;
    if (ag_str_eq_c(r, "tool_use"))
        return AG_FINISH_TOOL_CALLS;
    if (ag_str_eq_c(r, "stop_sequence"))
        return AG_FINISH_STOP_SEQUENCE;
    if (ag_str_eq_c(r, "refusal"))
        return AG_FINISH_CONTENT_FILTER;
    return AG_FINISH_STOP;
}

/* The HTTP status Anthropic gives each error type (errors inside a 200 stream carry no status). */
static int error_status(struct ag_str type)
{
    static const struct {
        const char *type;
        int status;
    } map[] = {{"invalid_request_error", 400},
               {"authentication_error", 401},
               {"permission_error", 403},
               {"not_found_error", 404},
               {"request_too_large", 413},
               {"rate_limit_error", 429},
               {"api_error", 500},
               {"overloaded_error", 529}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (ag_str_eq_c(type, map[i].type))
            return map[i].status;
    return 502;
}

static int error_event(struct an_decoder *st, yyjson_val *err, ag_event_cb cb, void *ud)
{
    struct ag_event ev = {.type = AG_EV_ERROR};
    struct ag_str type = ag_json_get_str(err, "type"), msg = ag_json_get_str(err, "message");
    ev.error.status = error_status(type);
    ev.error.kind = ag_error_kind_for_status(ev.error.status);
    ev.error.message = msg.len ? msg : AG_STR("upstream error");
    ev.error.code = type;
    st->failed = true;
    return cb(ud, &ev);
}

/* usage objects of message_start / message_delta / a whole message; later counts replace. */
static void usage_merge(struct an_decoder *st, yyjson_val *u)
{
    int64_t v;
    static const char *const in_keys[] = {"input_tokens", "cache_read_input_tokens",
                                          "cache_creation_input_tokens"};
    int64_t parts[3] = {-1, -1, -1};
    if (!yyjson_is_obj(u))
        return;
    for (int i = 0; i < 3; i++)
        if (!ag_json_int(yyjson_obj_get(u, in_keys[i]), AG_USAGE_MAX, &v))
            parts[i] = v;
    if (parts[0] >= 0 || parts[1] >= 0 || parts[2] >= 0) {
        st->usage.input = (parts[0] > 0 ? parts[0] : 0) + (parts[1] > 0 ? parts[1] : 0) +
                          (parts[2] > 0 ? parts[2] : 0);
        if (parts[1] >= 0)
            st->usage.cached = parts[1];
    }
    if (!ag_json_int(yyjson_obj_get(u, "output_tokens"), AG_USAGE_MAX, &v))
        st->usage.output = v;
    st->usage.total = st->usage.input + st->usage.output;
}

static int start(struct an_decoder *st, yyjson_val *msg, ag_event_cb cb, void *ud)
{
    if (st->started)
        return 0;
    st->started = true;
    struct ag_event ev = {.type = AG_EV_START};
    ev.id = ag_json_get_str(msg, "id");
    ev.name = ag_json_get_str(msg, "model");
    return cb(ud, &ev);
}

static int block_start(struct an_decoder *st, int idx, yyjson_val *b, ag_event_cb cb, void *ud)
{
    struct ag_str type = ag_json_get_str(b, "type");
    int rc;
    if (idx < 0 || idx >= MAX_BLOCKS)
        return 0;
    if (ag_str_eq_c(type, "text")) {
        st->kind[idx] = B_TEXT;
        struct ag_event ev = {.type = AG_EV_TEXT, .text = ag_json_get_str(b, "text")};
        return ev.text.len ? cb(ud, &ev) : 0;
    }
    if (ag_str_eq_c(type, "thinking")) {
        st->kind[idx] = B_THINKING;
        struct ag_event ev = {.type = AG_EV_THINKING, .text = ag_json_get_str(b, "thinking")};
        return ev.text.len ? cb(ud, &ev) : 0;
    }
    if (ag_str_eq_c(type, "tool_use") || ag_str_eq_c(type, "server_tool_use")) {
        st->kind[idx] = B_TOOL;
        struct ag_event ev = {.type = AG_EV_TOOL_START};
        ev.tool_index = st->tool_index[idx] = st->n_tools++;
        ev.id = ag_json_get_str(b, "id");
        if (!ev.id.len)
            ev.id = ag_toolid_make(st->arena, st->seed, st->tool_seq);
        st->tool_seq++;
        ev.name = ag_json_get_str(b, "name");
        if ((rc = cb(ud, &ev)))
            return rc;
        /* a whole message carries the input at once; a stream sends {} and then deltas */
        yyjson_val *input = yyjson_obj_get(b, "input");
        if (yyjson_is_obj(input) && yyjson_obj_size(input)) {
            struct ag_event a = {.type = AG_EV_TOOL_ARGS, .tool_index = ev.tool_index};
            a.text = ag_json_val_text(st->arena, input);
            st->args_seen[idx] = true;
            return a.text.p ? cb(ud, &a) : AG_ETOOBIG;
        }
        return 0;
    }
    st->kind[idx] = B_OTHER; /* redacted_thinking, web search results: nothing a client reads */
    return 0;
}

static int block_delta(struct an_decoder *st, int idx, yyjson_val *dl, ag_event_cb cb, void *ud)
{
    struct ag_str type = ag_json_get_str(dl, "type");
    struct ag_event ev = {.type = AG_EV_TEXT};
    if (idx < 0 || idx >= MAX_BLOCKS)
        return 0;
    if (ag_str_eq_c(type, "text_delta")) {
        ev.text = ag_json_get_str(dl, "text");
    } else if (ag_str_eq_c(type, "thinking_delta")) {
        ev.type = AG_EV_THINKING;
        ev.text = ag_json_get_str(dl, "thinking");
    } else if (ag_str_eq_c(type, "signature_delta")) {
        ev.type = AG_EV_SIGNATURE;
        ev.sig.value = ag_json_get_str(dl, "signature");
        ev.sig.family = AG_STR("claude");
        return ev.sig.value.len ? cb(ud, &ev) : 0;
    } else if (ag_str_eq_c(type, "input_json_delta") && st->kind[idx] == B_TOOL) {
        ev.type = AG_EV_TOOL_ARGS;
        ev.tool_index = st->tool_index[idx];
        ev.text = ag_json_get_str(dl, "partial_json");
        if (ev.text.len)
            st->args_seen[idx] = true;
    } else {
        return 0;
    }
    return ev.text.len ? cb(ud, &ev) : 0;
}

static int block_stop(struct an_decoder *st, int idx, ag_event_cb cb, void *ud)
{
    int rc;
    if (idx < 0 || idx >= MAX_BLOCKS || st->kind[idx] != B_TOOL)
        return 0;
    st->kind[idx] = B_NONE;
    if (!st->args_seen[idx]) {
        struct ag_event a = {.type = AG_EV_TOOL_ARGS, .tool_index = st->tool_index[idx]};
        a.text = AG_STR("{}");
        if ((rc = cb(ud, &a)))
            return rc;
    }
    struct ag_event ev = {.type = AG_EV_TOOL_END, .tool_index = st->tool_index[idx]};
    return cb(ud, &ev);
}

static int finish(struct an_decoder *st, struct ag_str reason, ag_event_cb cb, void *ud)
{
    int rc;
    if (st->finished)
        return 0;
    st->finished = true;
    struct ag_event u = {.type = AG_EV_USAGE, .usage = st->usage};
    if ((rc = cb(ud, &u)))
        return rc;
    /* no raw reason: that field carries Gemini's vocabulary, which Gemini clients repeat */
    struct ag_event ev = {.type = AG_EV_FINISH};
    ev.finish = reason.len ? stop_parse(reason) : AG_FINISH_STOP;
    return cb(ud, &ev);
}

/* One stream event, or (whole) one message body. */
static int decode_root(struct an_decoder *st, yyjson_val *root, bool whole, ag_event_cb cb,
                       void *ud)
{
    struct ag_str type = ag_json_get_str(root, "type");
    int rc;
    int idx = (int)yyjson_get_sint(yyjson_obj_get(root, "index"));
    if (ag_str_eq_c(type, "error") || yyjson_is_obj(yyjson_obj_get(root, "error")))
        return error_event(st, yyjson_obj_get(root, "error"), cb, ud);
    if (st->count && whole) {
        struct ag_event ev = {.type = AG_EV_START};
        int64_t n = 0;
        st->started = true;
        if ((rc = cb(ud, &ev)))
            return rc;
        ag_json_int(yyjson_obj_get(root, "input_tokens"), AG_USAGE_MAX, &n);
        struct ag_event u = {.type = AG_EV_USAGE};
        u.usage.input = u.usage.total = n;
        st->finished = true;
        return cb(ud, &u);
    }
    if (whole && ag_str_eq_c(type, "message")) {
        if ((rc = start(st, root, cb, ud)))
            return rc;
        yyjson_val *content = yyjson_obj_get(root, "content"), *b;
        size_t i, max;
        yyjson_arr_foreach(content, i, max, b)
        {
            if ((rc = block_start(st, (int)i, b, cb, ud)) || (rc = block_stop(st, (int)i, cb, ud)))
                return rc;
            /* a whole thinking block's signature follows its text */
            struct ag_str sig = ag_json_get_str(b, "signature");
            if (sig.len && ag_str_eq_c(ag_json_get_str(b, "type"), "thinking")) {
                struct ag_event ev = {.type = AG_EV_SIGNATURE};
                ev.sig.value = sig;
                ev.sig.family = AG_STR("claude");
                if ((rc = cb(ud, &ev)))
                    return rc;
            }
        }
        usage_merge(st, yyjson_obj_get(root, "usage"));
        return finish(st, ag_json_get_str(root, "stop_reason"), cb, ud);
    }
    if (ag_str_eq_c(type, "message_start")) {
        yyjson_val *msg = yyjson_obj_get(root, "message");
        usage_merge(st, yyjson_obj_get(msg, "usage"));
        return start(st, msg, cb, ud);
    }
    if (ag_str_eq_c(type, "content_block_start"))
        return block_start(st, idx, yyjson_obj_get(root, "content_block"), cb, ud);
    if (ag_str_eq_c(type, "content_block_delta"))
        return block_delta(st, idx, yyjson_obj_get(root, "delta"), cb, ud);
    if (ag_str_eq_c(type, "content_block_stop"))
        return block_stop(st, idx, cb, ud);
    if (ag_str_eq_c(type, "message_delta")) {
        usage_merge(st, yyjson_obj_get(root, "usage"));
        struct ag_str reason = ag_json_get_str(yyjson_obj_get(root, "delta"), "stop_reason");
        return reason.len ? finish(st, reason, cb, ud) : 0;
    }
    return 0; /* ping, message_stop */
}

static int decode_text(struct an_decoder *st, struct ag_str payload, bool whole, ag_event_cb cb,
                       void *ud)
{
    payload = ag_str_trim(payload);
    if (!payload.len || st->failed)
        return 0;
    int jerr;
    yyjson_doc *doc = ag_json_depth_read(payload.p, payload.len, st->max_depth, NULL, NULL, &jerr);
    if (!doc) {
        int rc = ag_event_upstream_failed(cb, ud,
                                          jerr == AG_EDEPTH
                                              ? AG_STR("upstream sent JSON nested too deeply")
                                              : AG_STR("upstream sent data that is not JSON"),
                                          &st->failed);
        return rc ? rc : AG_EPARSE;
    }
    int rc = decode_root(st, yyjson_doc_get_root(doc), whole, cb, ud);
    yyjson_doc_free(doc);
    return rc;
}

static int an_decode_event(struct ag_upstream_decoder *dec, struct ag_str payload, ag_event_cb cb,
                           void *ud)
{
    return decode_text((struct an_decoder *)dec, payload, false, cb, ud);
}

static int an_decode_end(struct ag_upstream_decoder *dec, ag_event_cb cb, void *ud)
{
    struct an_decoder *st = (struct an_decoder *)dec;
    int rc;
    if (st->failed)
        return 0;
    if (!st->started) {
        return ag_event_upstream_failed(cb, ud, AG_STR("upstream ended without an answer"),
                                        &st->failed);
    }
    for (int i = 0; i < MAX_BLOCKS; i++)
        if ((rc = block_stop(st, i, cb, ud)))
            return rc;
    return st->count ? 0 : finish(st, AG_STR_NULL, cb, ud);
}

static int an_decode_response(struct ag_upstream_decoder *dec, struct ag_str body, ag_event_cb cb,
                              void *ud)
{
    int rc = decode_text((struct an_decoder *)dec, body, true, cb, ud);
    return rc ? rc : an_decode_end(dec, cb, ud);
}

const struct ag_upstream_proto ag_proto_anthropic_api = {
    .name = "anthropic",
    .encode_request = an_encode_request,
    .decoder_new = an_decoder_new,
    .decode_event = an_decode_event,
    .decode_end = an_decode_end,
    .decode_response = an_decode_response,
};
