/* tests/mock/openai.c: OpenAI /v1/chat/completions and Anthropic /v1/messages upstream shapes,
 * streamed and not, with the same deterministic answers as the Google side (answer.c). */
#include <stdio.h>
#include <stdlib.h>

#include "core/json_depth.h"
#include "http/router.h"
#include "mock.h"

#define MAX_CHUNKS 4096

static void send_doc(struct mock_reply *r, yyjson_mut_doc *doc)
{
    size_t len;
    char *json = yyjson_mut_write(doc, 0, &len);
    mock_reply_body(r, 200, "application/json", json, len);
    free(json);
    yyjson_mut_doc_free(doc);
}

/* Parses the body and applies faults; returns the parsed doc, or NULL once answered. */
static yyjson_doc *prologue(struct ag_http_req *req, struct mock_reply *r, enum mock_format fmt,
                            struct ag_str *model, bool *stream)
{
    yyjson_doc *doc = req->body.len ? ag_json_depth_read(req->body.data, req->body.len,
                                                         AG_JSON_DEPTH_INTERNAL, NULL, NULL, NULL)
                                    : NULL;
    yyjson_val *root = doc ? yyjson_doc_get_root(doc) : NULL, *m;

    mock_record(req);
    g_mock.requests_total++;
    m = yyjson_obj_get(root, "model");
    *model = yyjson_is_str(m) ? ag_str_make(yyjson_get_str(m), yyjson_get_len(m)) : AG_STR("");
    *stream = yyjson_get_bool(yyjson_obj_get(root, "stream"));
    if (!mock_provider_auth(r, req, fmt) ||
        mock_apply_fault(req, r, fmt, mock_bearer(req), *model)) {
        yyjson_doc_free(doc);
        return NULL;
    }
    if (!yyjson_is_obj(root)) {
        mock_send_error(r, fmt, 400, "Could not parse the JSON body of your request.", NULL);
        yyjson_doc_free(doc);
        return NULL;
    }
    if (!mock_provider_strict(r, fmt, root)) {
        yyjson_doc_free(doc);
        return NULL;
    }
    return doc;
}

/* ---- OpenAI ---- */

static yyjson_mut_val *oa_chunk(yyjson_mut_doc *doc, const struct mock_answer *a,
                                yyjson_mut_val **delta, const char *finish)
{
    yyjson_mut_val *o = yyjson_mut_obj(doc), *choices, *c;
    yyjson_mut_doc_set_root(doc, o);
    yyjson_mut_obj_add_str(doc, o, "id", "chatcmpl-mock1");
    yyjson_mut_obj_add_str(doc, o, "object", "chat.completion.chunk");
    yyjson_mut_obj_add_int(doc, o, "created", 1730000000);
    yyjson_mut_obj_add_strcpy(doc, o, "model", a->model);
    if (g_mock.settings.provider_extras) {
        yyjson_mut_obj_add_str(doc, o, "system_fingerprint", "fp_mock_0042");
        yyjson_mut_val *x = yyjson_mut_obj_add_obj(doc, o, "x_mock_extra");
        yyjson_mut_obj_add_str(doc, x, "provider", "openai");
    }
    choices = yyjson_mut_obj_add_arr(doc, o, "choices");
    c = yyjson_mut_arr_add_obj(doc, choices);
    yyjson_mut_obj_add_int(doc, c, "index", 0);
    *delta = yyjson_mut_obj_add_obj(doc, c, "delta");
    if (finish)
        yyjson_mut_obj_add_str(doc, c, "finish_reason", finish);
    else
        yyjson_mut_obj_add_null(doc, c, "finish_reason");
    return o;
}

static void oa_usage(yyjson_mut_doc *doc, yyjson_mut_val *o, const struct mock_answer *a)
{
    yyjson_mut_val *u = yyjson_mut_obj_add_obj(doc, o, "usage");
    yyjson_mut_obj_add_int(doc, u, "prompt_tokens", a->input_tokens);
    yyjson_mut_obj_add_int(doc, u, "completion_tokens", a->output_tokens + a->thought_tokens);
    yyjson_mut_obj_add_int(doc, u, "total_tokens",
                           a->input_tokens + a->output_tokens + a->thought_tokens);
    if (g_mock.settings.provider_extras) {
        /* a cache hit on half the prompt, as OpenAI reports it */
        yyjson_mut_val *d = yyjson_mut_obj_add_obj(doc, u, "prompt_tokens_details");
        yyjson_mut_obj_add_int(doc, d, "cached_tokens", a->input_tokens / 2);
    }
}

static void oa_tool_calls(yyjson_mut_doc *doc, yyjson_mut_val *parent, const struct mock_answer *a,
                          bool stream)
{
    yyjson_mut_val *arr = yyjson_mut_obj_add_arr(doc, parent, "tool_calls");
    yyjson_mut_val *tc = yyjson_mut_arr_add_obj(doc, arr), *fn;
    if (stream)
        yyjson_mut_obj_add_int(doc, tc, "index", 0);
    yyjson_mut_obj_add_strcpy(doc, tc, "id", a->call_id);
    yyjson_mut_obj_add_str(doc, tc, "type", "function");
    fn = yyjson_mut_obj_add_obj(doc, tc, "function");
    yyjson_mut_obj_add_strcpy(doc, fn, "name", a->call_name);
    yyjson_mut_obj_add_strncpy(doc, fn, "arguments", a->call_args.data, a->call_args.len);
}

static void h_openai(struct ag_http_req *req, void *ud)
{
    struct mock_reply *r = mock_reply_new(req);
    struct mock_settings s = mock_settings_for(req);
    struct ag_str model;
    bool stream;
    yyjson_doc *in = prologue(req, r, FMT_OPENAI, &model, &stream);
    struct mock_answer a;
    yyjson_mut_doc *doc;
    yyjson_mut_val *o, *delta;
    (void)ud;

    if (!in) {
        mock_reply_send(r);
        return;
    }
    mock_answer_build(&a, FMT_OPENAI, yyjson_doc_get_root(in), model, req->body.len);
    if (!stream) {
        yyjson_mut_val *choices, *c, *msg;
        doc = yyjson_mut_doc_new(NULL);
        o = yyjson_mut_obj(doc);
        yyjson_mut_doc_set_root(doc, o);
        yyjson_mut_obj_add_str(doc, o, "id", "chatcmpl-mock1");
        yyjson_mut_obj_add_str(doc, o, "object", "chat.completion");
        yyjson_mut_obj_add_int(doc, o, "created", 1730000000);
        yyjson_mut_obj_add_strcpy(doc, o, "model", a.model);
        choices = yyjson_mut_obj_add_arr(doc, o, "choices");
        c = yyjson_mut_arr_add_obj(doc, choices);
        yyjson_mut_obj_add_int(doc, c, "index", 0);
        msg = yyjson_mut_obj_add_obj(doc, c, "message");
        yyjson_mut_obj_add_str(doc, msg, "role", "assistant");
        if (a.call_name[0]) {
            yyjson_mut_obj_add_null(doc, msg, "content");
            oa_tool_calls(doc, msg, &a, false);
        } else {
            yyjson_mut_obj_add_strncpy(doc, msg, "content", a.text.data, a.text.len);
        }
        yyjson_mut_obj_add_str(doc, c, "finish_reason", a.call_name[0] ? "tool_calls" : "stop");
        oa_usage(doc, o, &a);
        send_doc(r, doc);
    } else {
        yyjson_val *so = yyjson_obj_get(yyjson_doc_get_root(in), "stream_options");
        bool usage = yyjson_get_bool(yyjson_obj_get(so, "include_usage"));
        struct ag_str chunks[MAX_CHUNKS];
        size_t n = a.call_name[0] ? 0 : mock_answer_chunks(&a, &s, chunks, MAX_CHUNKS);

        mock_reply_set_delay(r, 0, s.sse_delay_ms);
        doc = yyjson_mut_doc_new(NULL);
        oa_chunk(doc, &a, &delta, NULL);
        yyjson_mut_obj_add_str(doc, delta, "role", "assistant");
        yyjson_mut_obj_add_str(doc, delta, "content", "");
        mock_reply_json_event(r, NULL, doc);
        yyjson_mut_doc_free(doc);
        for (size_t i = 0; i < n; i++) {
            doc = yyjson_mut_doc_new(NULL);
            oa_chunk(doc, &a, &delta, NULL);
            yyjson_mut_obj_add_strncpy(doc, delta, "content", chunks[i].p, chunks[i].len);
            mock_reply_json_event(r, NULL, doc);
            yyjson_mut_doc_free(doc);
        }
        if (a.call_name[0]) {
            doc = yyjson_mut_doc_new(NULL);
            oa_chunk(doc, &a, &delta, NULL);
            oa_tool_calls(doc, delta, &a, true);
            mock_reply_json_event(r, NULL, doc);
            yyjson_mut_doc_free(doc);
        }
        doc = yyjson_mut_doc_new(NULL);
        oa_chunk(doc, &a, &delta, a.call_name[0] ? "tool_calls" : "stop");
        mock_reply_json_event(r, NULL, doc);
        yyjson_mut_doc_free(doc);
        if (usage) {
            doc = yyjson_mut_doc_new(NULL);
            o = oa_chunk(doc, &a, &delta, NULL);
            yyjson_mut_arr_clear(yyjson_mut_obj_get(o, "choices"));
            oa_usage(doc, o, &a);
            mock_reply_json_event(r, NULL, doc);
            yyjson_mut_doc_free(doc);
        }
        mock_reply_event(r, "data: [DONE]\n\n", 14);
    }
    mock_answer_dispose(&a);
    yyjson_doc_free(in);
    mock_reply_send(r);
}

/* ---- Anthropic ---- */

static yyjson_mut_doc *an_event(const char *type, yyjson_mut_val **o)
{
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    *o = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, *o);
    yyjson_mut_obj_add_str(doc, *o, "type", type);
    return doc;
}

static void an_emit(struct mock_reply *r, const char *type, yyjson_mut_doc *doc)
{
    mock_reply_json_event(r, type, doc);
    yyjson_mut_doc_free(doc);
}

static void an_message(yyjson_mut_doc *doc, yyjson_mut_val *m, const struct mock_answer *a,
                       bool final)
{
    yyjson_mut_val *u;
    yyjson_mut_obj_add_str(doc, m, "id", "msg_mock01");
    yyjson_mut_obj_add_str(doc, m, "type", "message");
    yyjson_mut_obj_add_str(doc, m, "role", "assistant");
    yyjson_mut_obj_add_strcpy(doc, m, "model", a->model);
    if (final)
        yyjson_mut_obj_add_str(doc, m, "stop_reason", a->call_name[0] ? "tool_use" : "end_turn");
    else
        yyjson_mut_obj_add_null(doc, m, "stop_reason");
    yyjson_mut_obj_add_null(doc, m, "stop_sequence");
    u = yyjson_mut_obj_add_obj(doc, m, "usage");
    yyjson_mut_obj_add_int(doc, u, "input_tokens", a->input_tokens);
    if (g_mock.settings.provider_extras) {
        yyjson_mut_obj_add_int(doc, u, "cache_creation_input_tokens", 3);
        yyjson_mut_obj_add_int(doc, u, "cache_read_input_tokens", 5);
        yyjson_mut_val *x = yyjson_mut_obj_add_obj(doc, m, "x_mock_extra");
        yyjson_mut_obj_add_str(doc, x, "provider", "anthropic");
    }
    yyjson_mut_obj_add_int(doc, u, "output_tokens",
                           final ? a->output_tokens + a->thought_tokens : 1);
}

static void an_block(yyjson_mut_doc *doc, yyjson_mut_val *b, const struct mock_answer *a,
                     const char *kind, bool full)
{
    yyjson_mut_obj_add_str(doc, b, "type", kind);
    if (strcmp(kind, "thinking") == 0) {
        yyjson_mut_obj_add_strncpy(doc, b, "thinking", full ? a->thought.data : "",
                                   full ? a->thought.len : 0);
        yyjson_mut_obj_add_strcpy(doc, b, "signature", full ? a->signature : "");
    } else if (strcmp(kind, "text") == 0) {
        yyjson_mut_obj_add_strncpy(doc, b, "text", full ? a->text.data : "",
                                   full ? a->text.len : 0);
    } else {
        yyjson_doc *args = ag_json_depth_read(a->call_args.data, a->call_args.len,
                                              AG_JSON_DEPTH_INTERNAL, NULL, NULL, NULL);
        yyjson_mut_obj_add_strcpy(doc, b, "id", a->call_id);
        yyjson_mut_obj_add_strcpy(doc, b, "name", a->call_name);
        if (full)
            yyjson_mut_obj_add_val(doc, b, "input",
                                   yyjson_val_mut_copy(doc, yyjson_doc_get_root(args)));
        else
            yyjson_mut_obj_add_obj(doc, b, "input");
        yyjson_doc_free(args);
    }
}

static void an_stream(struct mock_reply *r, const struct mock_answer *a,
                      const struct mock_settings *s)
{
    yyjson_mut_doc *doc;
    yyjson_mut_val *o, *x;
    int index = 0;

    mock_reply_set_delay(r, 0, s->sse_delay_ms);
    doc = an_event("message_start", &o);
    an_message(doc, yyjson_mut_obj_add_obj(doc, o, "message"), a, false);
    yyjson_mut_obj_add_arr(doc, yyjson_mut_obj_get(o, "message"), "content");
    an_emit(r, "message_start", doc);
    if (g_mock.settings.provider_extras)
        an_emit(r, "ping", an_event("ping", &o));
    if (a->thought.len) {
        doc = an_event("content_block_start", &o);
        yyjson_mut_obj_add_int(doc, o, "index", index);
        an_block(doc, yyjson_mut_obj_add_obj(doc, o, "content_block"), a, "thinking", false);
        an_emit(r, "content_block_start", doc);
        doc = an_event("content_block_delta", &o);
        yyjson_mut_obj_add_int(doc, o, "index", index);
        x = yyjson_mut_obj_add_obj(doc, o, "delta");
        yyjson_mut_obj_add_str(doc, x, "type", "thinking_delta");
        yyjson_mut_obj_add_strncpy(doc, x, "thinking", a->thought.data, a->thought.len);
        an_emit(r, "content_block_delta", doc);
        doc = an_event("content_block_delta", &o);
        yyjson_mut_obj_add_int(doc, o, "index", index);
        x = yyjson_mut_obj_add_obj(doc, o, "delta");
        yyjson_mut_obj_add_str(doc, x, "type", "signature_delta");
        yyjson_mut_obj_add_strcpy(doc, x, "signature", a->signature);
        an_emit(r, "content_block_delta", doc);
        doc = an_event("content_block_stop", &o);
        yyjson_mut_obj_add_int(doc, o, "index", index++);
        an_emit(r, "content_block_stop", doc);
    }
    doc = an_event("content_block_start", &o);
    yyjson_mut_obj_add_int(doc, o, "index", index);
    an_block(doc, yyjson_mut_obj_add_obj(doc, o, "content_block"), a,
             a->call_name[0] ? "tool_use" : "text", false);
    an_emit(r, "content_block_start", doc);
    if (a->call_name[0]) {
        doc = an_event("content_block_delta", &o);
        yyjson_mut_obj_add_int(doc, o, "index", index);
        x = yyjson_mut_obj_add_obj(doc, o, "delta");
        yyjson_mut_obj_add_str(doc, x, "type", "input_json_delta");
        yyjson_mut_obj_add_strncpy(doc, x, "partial_json", a->call_args.data, a->call_args.len);
        an_emit(r, "content_block_delta", doc);
    } else {
        struct ag_str chunks[MAX_CHUNKS];
        size_t n = mock_answer_chunks(a, s, chunks, MAX_CHUNKS);
        for (size_t i = 0; i < n; i++) {
            doc = an_event("content_block_delta", &o);
            yyjson_mut_obj_add_int(doc, o, "index", index);
            x = yyjson_mut_obj_add_obj(doc, o, "delta");
            yyjson_mut_obj_add_str(doc, x, "type", "text_delta");
            yyjson_mut_obj_add_strncpy(doc, x, "text", chunks[i].p, chunks[i].len);
            an_emit(r, "content_block_delta", doc);
        }
    }
    doc = an_event("content_block_stop", &o);
    yyjson_mut_obj_add_int(doc, o, "index", index);
    an_emit(r, "content_block_stop", doc);
    doc = an_event("message_delta", &o);
    x = yyjson_mut_obj_add_obj(doc, o, "delta");
    yyjson_mut_obj_add_str(doc, x, "stop_reason", a->call_name[0] ? "tool_use" : "end_turn");
    yyjson_mut_obj_add_null(doc, x, "stop_sequence");
    x = yyjson_mut_obj_add_obj(doc, o, "usage");
    yyjson_mut_obj_add_int(doc, x, "output_tokens", a->output_tokens + a->thought_tokens);
    an_emit(r, "message_delta", doc);
    doc = an_event("message_stop", &o);
    an_emit(r, "message_stop", doc);
}

static void h_anthropic(struct ag_http_req *req, void *ud)
{
    struct mock_reply *r = mock_reply_new(req);
    struct mock_settings s = mock_settings_for(req);
    struct ag_str model;
    bool stream;
    yyjson_doc *in = prologue(req, r, FMT_ANTHROPIC, &model, &stream);
    struct mock_answer a;
    (void)ud;

    if (!in) {
        mock_reply_send(r);
        return;
    }
    mock_answer_build(&a, FMT_ANTHROPIC, yyjson_doc_get_root(in), model, req->body.len);
    if (stream) {
        an_stream(r, &a, &s);
    } else {
        yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
        yyjson_mut_val *m = yyjson_mut_obj(doc), *content;
        yyjson_mut_doc_set_root(doc, m);
        an_message(doc, m, &a, true);
        content = yyjson_mut_obj_add_arr(doc, m, "content");
        if (a.thought.len)
            an_block(doc, yyjson_mut_arr_add_obj(doc, content), &a, "thinking", true);
        an_block(doc, yyjson_mut_arr_add_obj(doc, content), &a,
                 a.call_name[0] ? "tool_use" : "text", true);
        send_doc(r, doc);
    }
    mock_answer_dispose(&a);
    yyjson_doc_free(in);
    mock_reply_send(r);
}

void mock_register_openai_anthropic(struct ag_router *router)
{
    struct ag_route rt = {.method = "POST",
                          .pattern = "/v1/chat/completions",
                          .handler = h_openai,
                          .access = AG_ACCESS_PUBLIC,
                          .errfmt = &ag_errfmt_openai};
    ag_router_add(router, &rt);
    rt.pattern = "/v1/messages";
    rt.handler = h_anthropic;
    rt.errfmt = &ag_errfmt_anthropic;
    ag_router_add(router, &rt);
}
