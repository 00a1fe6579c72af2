/* proto/responses_out.c: the Responses adapter's output side: the response object (shared by the
 * non-stream body, the stream's snapshot events and GET), output items, the stored form and what
 * can be read back from it, and the adapter table. The output_text convenience field is not
 * sent: it is not part of the wire format (the SDKs compute it from output). */
#include <string.h>

#include "core/err.h"
#include "proto/openai.h"
#include "proto/responses.h"
#include "proto/toolid.h"

struct ag_str ag_responses_item_id(struct ag_arena *arena, struct ag_str seed, const char *prefix,
                                   size_t index)
{
    /* the 24 hex digits of a made tool-call id, under this item kind's prefix */
    struct ag_str base = ag_toolid_make(arena, seed, 2000000 + index);
    if (!base.p)
        return AG_STR_NULL;
    char *id = ag_arena_printf(arena, "%s%.*s", prefix, (int)base.len - 5, base.p + 5);
    return ag_str_c(id);
}

int ag_ritem_append(struct ag_arena *arena, struct ag_ritem *it, struct ag_str s)
{
    if (!s.len)
        return 0;
    if (it->text.len + s.len + 1 > it->_cap) {
        size_t ncap = it->_cap ? it->_cap : 64;
        while (ncap < it->text.len + s.len + 1)
            ncap *= 2;
        char *n = ag_arena_alloc(arena, ncap);
        if (!n)
            return AG_ETOOBIG;
        if (it->text.len)
            memcpy(n, it->text.p, it->text.len);
        it->text.p = n;
        it->_cap = ncap;
    }
    memcpy((char *)it->text.p + it->text.len, s.p, s.len);
    it->text.len += s.len;
    ((char *)it->text.p)[it->text.len] = '\0';
    return 0;
}

const char *ag_responses_error_code(const struct ag_proto_error *e)
{
    return ag_error_names_of(e->kind)->responses;
}

/* A string field, or null when empty. */
static void add_str_or_null(yyjson_mut_doc *d, yyjson_mut_val *o, const char *key, struct ag_str s)
{
    if (s.len)
        ag_json_add_str(d, o, key, s);
    else
        yyjson_mut_obj_add_null(d, o, key);
}

/* A JSON text field parsed into d, or def when empty / unparsable. */
static void add_json(yyjson_mut_doc *d, struct ag_arena *a, yyjson_mut_val *o, const char *key,
                     struct ag_str text, yyjson_mut_val *def)
{
    yyjson_mut_val *v = ag_json_parse_into(d, a, text);
    yyjson_mut_obj_add_val(d, o, key, v ? v : def);
}

static struct ag_str encrypted(struct ag_arena *a, const struct ag_ritem *it)
{
    if (!it->sig.value.len)
        return AG_STR_NULL;
    struct ag_str packed = ag_toolid_pack(a, AG_STR("rs"), &it->sig);
    return packed.len > 2 ? packed : AG_STR_NULL; /* not packable: nothing to carry */
}

yyjson_mut_val *ag_responses_item_json(yyjson_mut_doc *d, struct ag_arena *arena,
                                       const struct ag_ritem *it, bool with_encrypted)
{
    yyjson_mut_val *o = yyjson_mut_obj(d);
    const char *status = it->done ? "completed" : it->incomplete ? "incomplete" : "in_progress";
    ag_json_add_str(d, o, "id", it->id);
    if (it->kind == AG_RITEM_MESSAGE) {
        yyjson_mut_val *content = yyjson_mut_arr(d);
        yyjson_mut_obj_add_str(d, o, "type", "message");
        yyjson_mut_obj_add_str(d, o, "status", status);
        yyjson_mut_obj_add_str(d, o, "role", "assistant");
        if (it->done || it->text.len) {
            yyjson_mut_val *part = yyjson_mut_obj(d);
            yyjson_mut_obj_add_str(d, part, "type", "output_text");
            ag_json_add_str(d, part, "text", it->text);
            yyjson_mut_obj_add_val(d, part, "annotations", yyjson_mut_arr(d));
            yyjson_mut_arr_append(content, part);
        }
        yyjson_mut_obj_add_val(d, o, "content", content);
    } else if (it->kind == AG_RITEM_REASONING) {
        yyjson_mut_val *summary = yyjson_mut_arr(d);
        yyjson_mut_obj_add_str(d, o, "type", "reasoning");
        if (it->text.len) {
            yyjson_mut_val *part = yyjson_mut_obj(d);
            yyjson_mut_obj_add_str(d, part, "type", "summary_text");
            ag_json_add_str(d, part, "text", it->text);
            yyjson_mut_arr_append(summary, part);
        }
        yyjson_mut_obj_add_val(d, o, "summary", summary);
        struct ag_str enc = with_encrypted ? encrypted(arena, it) : AG_STR_NULL;
        if (enc.len)
            ag_json_add_str(d, o, "encrypted_content", enc);
    } else {
        yyjson_mut_obj_add_str(d, o, "type", "function_call");
        yyjson_mut_obj_add_str(d, o, "status", status);
        ag_json_add_str(d, o, "arguments", it->text);
        ag_json_add_str(d, o, "call_id", it->call_id);
        ag_json_add_str(d, o, "name", it->name);
    }
    return o;
}

static yyjson_mut_val *usage_obj(yyjson_mut_doc *d, const struct ag_usage *u)
{
    yyjson_mut_val *o = yyjson_mut_obj(d), *in = yyjson_mut_obj(d), *out = yyjson_mut_obj(d);
    yyjson_mut_obj_add_int(d, o, "input_tokens", u->input);
    yyjson_mut_obj_add_int(d, in, "cached_tokens", u->cached);
    yyjson_mut_obj_add_val(d, o, "input_tokens_details", in);
    yyjson_mut_obj_add_int(d, o, "output_tokens", u->output);
    yyjson_mut_obj_add_int(d, out, "reasoning_tokens", u->reasoning);
    yyjson_mut_obj_add_val(d, o, "output_tokens_details", out);
    yyjson_mut_obj_add_int(d, o, "total_tokens", u->total ? u->total : u->input + u->output);
    return o;
}

/* "status", "background", "error" and "incomplete_details" of a response in state st (NULL: in
 * progress). */
static void add_outcome(yyjson_mut_doc *d, yyjson_mut_val *o, const struct ag_rstatus *st)
{
    const char *status = "in_progress", *reason = NULL;
    struct ag_proto_error generic = {.kind = AG_PERR_UPSTREAM};
    const struct ag_proto_error *err = NULL;
    if (st && st->failed) {
        status = "failed";
        err = &st->error;
    } else if (st && st->finish == AG_FINISH_ERROR) {
        status = "failed";
        generic.message = AG_STR("The model failed to generate a response.");
        err = &generic;
    } else if (st && (st->finish == AG_FINISH_LENGTH || st->finish == AG_FINISH_CONTENT_FILTER)) {
        status = "incomplete";
        reason = st->finish == AG_FINISH_LENGTH ? "max_output_tokens" : "content_filter";
    } else if (st) {
        status = "completed";
    }
    yyjson_mut_obj_add_str(d, o, "status", status);
    yyjson_mut_obj_add_bool(d, o, "background", false);
    if (err) {
        yyjson_mut_val *e = yyjson_mut_obj(d);
        yyjson_mut_obj_add_str(d, e, "code", ag_responses_error_code(err));
        ag_json_add_str(d, e, "message", err->message.len ? err->message : AG_STR("error"));
        yyjson_mut_obj_add_val(d, o, "error", e);
    } else {
        yyjson_mut_obj_add_null(d, o, "error");
    }
    if (reason) {
        yyjson_mut_val *inc = yyjson_mut_obj(d);
        yyjson_mut_obj_add_str(d, inc, "reason", reason);
        yyjson_mut_obj_add_val(d, o, "incomplete_details", inc);
    } else {
        yyjson_mut_obj_add_null(d, o, "incomplete_details");
    }
}

yyjson_mut_val *ag_responses_object(yyjson_mut_doc *d, const struct ag_proto_ctx *ctx,
                                    const struct ag_request *req, const struct ag_ritem *items,
                                    size_t n_items, const struct ag_rstatus *st,
                                    bool with_encrypted)
{
    const struct ag_responses_meta *meta = ag_responses_meta_of(req);
    struct ag_arena *a = ctx->arena;
    yyjson_mut_val *o = yyjson_mut_obj(d), *output = yyjson_mut_arr(d);
    char *id = ag_arena_printf(a, "resp_%.*s", (int)ctx->request_id.len,
                               ctx->request_id.p ? ctx->request_id.p : "");
    yyjson_mut_obj_add_strcpy(d, o, "id", id ? id : "resp_");
    yyjson_mut_obj_add_str(d, o, "object", "response");
    yyjson_mut_obj_add_int(d, o, "created_at", ctx->now);
    add_outcome(d, o, st);
    add_str_or_null(d, o, "instructions", meta->instructions);
    if (req->gen.max_tokens >= 0)
        yyjson_mut_obj_add_int(d, o, "max_output_tokens", req->gen.max_tokens);
    else
        yyjson_mut_obj_add_null(d, o, "max_output_tokens");
    ag_json_add_str(d, o, "model", req->model);
    for (size_t i = 0; i < n_items; i++)
        yyjson_mut_arr_append(output, ag_responses_item_json(d, a, &items[i], with_encrypted));
    yyjson_mut_obj_add_val(d, o, "output", output);
    yyjson_mut_obj_add_bool(d, o, "parallel_tool_calls", req->parallel_tools != AG_OFF);
    add_str_or_null(d, o, "previous_response_id", meta->previous_response_id);
    yyjson_mut_val *reasoning = yyjson_mut_obj(d);
    add_str_or_null(d, reasoning, "effort", meta->effort);
    add_str_or_null(d, reasoning, "summary", meta->summary);
    yyjson_mut_obj_add_val(d, o, "reasoning", reasoning);
    yyjson_mut_obj_add_bool(d, o, "store", meta->store);
    if (req->gen.has_temperature)
        yyjson_mut_obj_add_real(d, o, "temperature", req->gen.temperature);
    else
        yyjson_mut_obj_add_null(d, o, "temperature");
    yyjson_mut_val *text = yyjson_mut_obj(d), *fmt = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, fmt, "type", "text");
    add_json(d, a, text, "format", meta->text_format, fmt);
    yyjson_mut_obj_add_val(d, o, "text", text);
    add_json(d, a, o, "tool_choice", meta->tool_choice, yyjson_mut_str(d, "auto"));
    add_json(d, a, o, "tools", meta->tools, yyjson_mut_arr(d));
    if (req->gen.has_top_p)
        yyjson_mut_obj_add_real(d, o, "top_p", req->gen.top_p);
    else
        yyjson_mut_obj_add_null(d, o, "top_p");
    ag_json_add_str(d, o, "truncation",
                    meta->truncation.len ? meta->truncation : AG_STR("disabled"));
    if (st && st->has_usage)
        yyjson_mut_obj_add_val(d, o, "usage", usage_obj(d, &st->usage));
    else
        yyjson_mut_obj_add_null(d, o, "usage");
    add_str_or_null(d, o, "user", req->user);
    add_json(d, a, o, "metadata", meta->metadata, yyjson_mut_obj(d));
    return o;
}

/* Rebuilds the output items from a collected answer, grouped as the stream groups them: runs of
 * text (and media) form one message, runs of thinking one reasoning item, each call its own. */
static int answer_items(const struct ag_proto_ctx *ctx, const struct ag_answer *ans,
                        struct ag_ritem **out, size_t *n_out)
{
    struct ag_arena *a = ctx->arena;
    const struct ag_choice *c = &ans->choices[0];
    struct ag_ritem *items = ag_arena_calloc(a, (c->n_parts + 1) * sizeof(*items));
    size_t n = 0;
    if (!items)
        return AG_ETOOBIG;
    for (size_t i = 0; i < c->n_parts; i++) {
        const struct ag_part *p = &c->parts[i];
        struct ag_ritem *last = n ? &items[n - 1] : NULL;
        enum ag_ritem_kind kind;
        struct ag_str text = p->text;
        int rc = 0;
        if (p->type == AG_PART_TEXT || p->type == AG_PART_MEDIA) {
            if (p->type == AG_PART_MEDIA) {
                char *md = ag_arena_printf(a, "![image](data:%.*s;base64,%.*s)", (int)p->mime.len,
                                           p->mime.p ? p->mime.p : "", (int)p->data.len,
                                           p->data.p ? p->data.p : "");
                if (!md)
                    return AG_ETOOBIG;
                text = ag_str_c(md);
            }
            if (!text.len)
                continue;
            kind = AG_RITEM_MESSAGE;
        } else if (p->type == AG_PART_THINKING) {
            if (!text.len && !p->sig.value.len)
                continue;
            kind = AG_RITEM_REASONING;
        } else if (p->type == AG_PART_TOOL_CALL) {
            kind = AG_RITEM_CALL;
        } else {
            continue;
        }
        if (!last || last->kind != kind || kind == AG_RITEM_CALL) {
            last = &items[n];
            last->kind = kind;
            last->done = true;
            last->id = ag_responses_item_id(a, ctx->request_id,
                                            kind == AG_RITEM_MESSAGE     ? "msg_"
                                            : kind == AG_RITEM_REASONING ? "rs_"
                                                                         : "fc_",
                                            n);
            n++;
        }
        if (kind == AG_RITEM_CALL) {
            last->call_id = ag_toolid_pack(a, p->id, &p->sig);
            last->name = p->name;
            text = p->args.len ? p->args : AG_STR("{}");
        }
        if (p->sig.value.len && kind == AG_RITEM_REASONING)
            last->sig = p->sig;
        if ((rc = ag_ritem_append(a, last, text)))
            return rc;
    }
    /* the item a length or safety stop cut short is incomplete, as OpenAI marks it */
    if (n && (c->finish == AG_FINISH_LENGTH || c->finish == AG_FINISH_CONTENT_FILTER)) {
        items[n - 1].done = false;
        items[n - 1].incomplete = true;
    }
    *out = items;
    *n_out = n;
    return 0;
}

static struct ag_rstatus answer_status(const struct ag_answer *ans)
{
    struct ag_rstatus st = {.finish = ans->choices[0].finish};
    st.failed = ans->failed;
    st.error = ans->error;
    st.has_usage = ans->has_usage;
    st.usage = ans->usage;
    return st;
}

static int answer_object(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                         const struct ag_answer *ans, bool with_encrypted, yyjson_mut_doc **d,
                         yyjson_mut_val **obj)
{
    struct ag_ritem *items;
    size_t n;
    int rc = answer_items(ctx, ans, &items, &n);
    if (rc)
        return rc;
    struct ag_rstatus st = answer_status(ans);
    yyjson_alc alc;
    ag_json_arena_alc(&alc, ctx->arena);
    *d = yyjson_mut_doc_new(&alc);
    if (!*d)
        return AG_ETOOBIG;
    *obj = ag_responses_object(*d, ctx, req, items, n, &st, with_encrypted);
    return 0;
}

static int responses_encode(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                            const struct ag_answer *ans, struct ag_buf *out)
{
    yyjson_mut_doc *d;
    yyjson_mut_val *o;
    int rc = answer_object(ctx, req, ans, ag_responses_meta_of(req)->include_encrypted, &d, &o);
    return rc ? rc : ag_json_mut_append(out, o);
}

/* ---- the stored form ---- */

int ag_responses_store_object(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                              yyjson_mut_doc *d, yyjson_mut_val *response, struct ag_buf *out)
{
    const struct ag_responses_meta *meta = ag_responses_meta_of(req);
    yyjson_mut_val *root = yyjson_mut_obj(d), *input = yyjson_mut_arr(d);
    struct ag_str parts[2] = {meta->history, meta->input};
    for (int k = 0; k < 2; k++) {
        yyjson_mut_val *arr = ag_json_parse_into(d, ctx->arena, parts[k]), *it;
        yyjson_mut_arr_iter iter;
        if (!yyjson_mut_is_arr(arr))
            continue;
        yyjson_mut_arr_iter_init(arr, &iter);
        while ((it = yyjson_mut_arr_iter_next(&iter)))
            yyjson_mut_arr_append(input, yyjson_mut_val_mut_copy(d, it));
    }
    yyjson_mut_obj_add_val(d, root, "response", response);
    yyjson_mut_obj_add_val(d, root, "input", input);
    return ag_json_mut_append(out, root);
}

int ag_responses_store(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                       const struct ag_answer *answer, struct ag_buf *out)
{
    yyjson_mut_doc *d;
    yyjson_mut_val *o;
    int rc = answer_object(ctx, req, answer, true, &d, &o);
    return rc ? rc : ag_responses_store_object(ctx, req, d, o, out);
}

int ag_responses_stored_body(struct ag_arena *arena, struct ag_str stored, bool include_encrypted,
                             struct ag_buf *out)
{
    yyjson_doc *doc = ag_json_read(arena, stored, AG_JSON_DEPTH_INTERNAL, NULL);
    yyjson_val *resp = yyjson_obj_get(doc ? yyjson_doc_get_root(doc) : NULL, "response");
    if (!yyjson_is_obj(resp))
        return AG_EINVAL;
    yyjson_alc alc;
    ag_json_arena_alc(&alc, arena);
    yyjson_mut_doc *d = yyjson_mut_doc_new(&alc);
    if (!d)
        return AG_ETOOBIG;
    yyjson_mut_val *o = yyjson_val_mut_copy(d, resp);
    if (!include_encrypted) {
        yyjson_mut_val *output = yyjson_mut_obj_get(o, "output"), *it;
        yyjson_mut_arr_iter iter;
        yyjson_mut_arr_iter_init(output, &iter);
        while ((it = yyjson_mut_arr_iter_next(&iter)))
            yyjson_mut_obj_remove_key(it, "encrypted_content");
    }
    return ag_json_mut_append(out, o);
}

int ag_responses_stored_messages(struct ag_arena *arena, struct ag_str stored,
                                 struct ag_message **msgs, size_t *n_msgs)
{
    yyjson_doc *doc = ag_json_read(arena, stored, AG_JSON_DEPTH_INTERNAL, NULL);
    yyjson_val *output =
        yyjson_obj_get(yyjson_obj_get(doc ? yyjson_doc_get_root(doc) : NULL, "response"), "output");
    if (!yyjson_is_arr(output))
        return AG_EINVAL;
    struct ag_responses_request *r = ag_arena_calloc(arena, sizeof(*r));
    if (!r)
        return AG_ETOOBIG;
    ag_request_init(&r->req);
    struct ag_proto_ctx ctx = {.arena = arena, .max_json_depth = AG_JSON_DEPTH_INTERNAL};
    struct ag_proto_error err;
    int rc = ag_responses_items(&ctx, r, output, "output", true, &err);
    if (rc)
        return rc;
    *msgs = r->req.messages;
    *n_msgs = r->req.n_messages;
    return 0;
}

int ag_responses_deleted_body(struct ag_str id, struct ag_buf *out)
{
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(d);
    ag_json_add_str(d, o, "id", id);
    yyjson_mut_obj_add_str(d, o, "object", "response");
    yyjson_mut_obj_add_bool(d, o, "deleted", true);
    int rc = ag_json_mut_append(out, o);
    yyjson_mut_doc_free(d);
    return rc;
}

const struct ag_client_proto ag_proto_openai_responses = {
    .name = "openai-responses",
    .decode_request = ag_responses_decode,
    .stream_new = ag_responses_stream_new,
    .stream_event = ag_responses_stream_event,
    .stream_finish = ag_responses_stream_finish,
    .encode_response = responses_encode,
    .encode_error = ag_openai_encode_error,
    .keepalive = ": ping\n\n",
};
