/* tests/mock/provider.c: what the mock's provider APIs (OpenAI chat completions, Anthropic
 * messages, the public Gemini API) check before they answer, the way the real ones do: the API key
 * (Authorization: Bearer / x-api-key with anthropic-version / x-goog-api-key or ?key=; a missing
 * key, or one starting with "bad", is refused in the provider's own error shape), the required
 * fields and the refusals clients meet in practice (Anthropic: max_tokens, non-empty text blocks,
 * tool_result ids that answer the previous turn's tool_use, the thinking budget rules; OpenAI:
 * model, messages, tool messages that answer the previous assistant's calls, max_tokens on
 * OpenAI's reasoning models); and the model lists (GET /v1/models in OpenAI's shape for a Bearer
 * key and Anthropic's for x-api-key, GET /v1beta/models for Gemini). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/url.h"
#include "http/router.h"
#include "mock.h"

/* The models the OpenAI-style and Anthropic-style lists name (any model is answered). */
static const char *const openai_models[] = {"mock-chat-small", "mock-chat-large", "gpt-4o-mini"};
static const char *const anthropic_models[] = {"claude-sonnet-4-5", "claude-haiku-4-5"};

static struct ag_str header(const struct ag_http_req *req, const char *name)
{
    struct ag_str v = ag_http_req_header(req, name);
    return v.p ? ag_str_trim(v) : AG_STR("");
}

static struct ag_str bearer(const struct ag_http_req *req)
{
    struct ag_str v = header(req, "authorization");
    if (ag_str_has_prefix_ci(v, "Bearer "))
        return ag_str_trim(ag_str_make(v.p + 7, v.len - 7));
    return AG_STR("");
}

bool mock_provider_auth(struct mock_reply *r, const struct ag_http_req *req, enum mock_format fmt)
{
    struct ag_str key;
    if (fmt == FMT_OPENAI) {
        key = bearer(req);
        if (!key.len) {
            mock_send_error(r, fmt, 401,
                            "You didn't provide an API key. You need to provide your API key in "
                            "an Authorization header using Bearer auth.",
                            NULL);
            return false;
        }
        if (ag_str_has_prefix(key, "bad")) {
            mock_send_error(r, fmt, 401, "Incorrect API key provided.", NULL);
            return false;
        }
        return true;
    }
    if (fmt == FMT_ANTHROPIC) {
        key = header(req, "x-api-key");
        if (!key.len || ag_str_has_prefix(key, "bad")) {
            mock_send_error(r, fmt, 401,
                            key.len ? "invalid x-api-key" : "x-api-key header is required", NULL);
            return false;
        }
        if (!header(req, "anthropic-version").len) {
            mock_send_error(r, fmt, 400, "anthropic-version: header is required", NULL);
            return false;
        }
        return true;
    }
    key = header(req, "x-goog-api-key");
    char qkey[256] = "";
    if (!key.len && ag_url_query_get(req->query, "key", qkey, sizeof(qkey)))
        key = ag_str_c(qkey);
    if (!key.len) {
        mock_send_error(r, fmt, 403,
                        "Method doesn't allow unregistered callers (callers without established "
                        "identity). Please use API Key or other form of API consumer identity to "
                        "call this API.",
                        NULL);
        return false;
    }
    if (ag_str_has_prefix(key, "bad")) {
        mock_send_error(r, fmt, 400, "API key not valid. Please pass a valid API key.", NULL);
        return false;
    }
    return true;
}

/* ---- strictness ---- */

static bool refuse(struct mock_reply *r, enum mock_format fmt, const char *msg)
{
    mock_send_error(r, fmt, 400, msg, NULL);
    return false;
}

/* True when ids (an array of tool_use / tool_calls objects) has one whose "id" is id. */
static bool has_id(yyjson_val *arr, struct ag_str id, const char *type)
{
    yyjson_val *b;
    size_t i, max;
    yyjson_arr_foreach(arr, i, max, b)
    {
        yyjson_val *t = yyjson_obj_get(b, "type");
        if (type && !(yyjson_is_str(t) && strcmp(yyjson_get_str(t), type) == 0))
            continue;
        yyjson_val *v = yyjson_obj_get(b, "id");
        if (yyjson_is_str(v) && ag_str_eq(ag_str_make(yyjson_get_str(v), yyjson_get_len(v)), id))
            return true;
    }
    return false;
}

static bool anthropic_check(struct mock_reply *r, yyjson_val *root)
{
    yyjson_val *msgs = yyjson_obj_get(root, "messages"), *m, *prev = NULL;
    yyjson_val *max = yyjson_obj_get(root, "max_tokens"), *th = yyjson_obj_get(root, "thinking");
    size_t i, n;
    if (!yyjson_is_str(yyjson_obj_get(root, "model")))
        return refuse(r, FMT_ANTHROPIC, "model: Field required");
    if (!yyjson_is_int(max))
        return refuse(r, FMT_ANTHROPIC, "max_tokens: Field required");
    if (!yyjson_is_arr(msgs) || !yyjson_arr_size(msgs))
        return refuse(r, FMT_ANTHROPIC, "messages: Field required");
    if (yyjson_is_obj(th) && yyjson_is_str(yyjson_obj_get(th, "type")) &&
        strcmp(yyjson_get_str(yyjson_obj_get(th, "type")), "enabled") == 0) {
        int64_t budget = yyjson_get_sint(yyjson_obj_get(th, "budget_tokens"));
        if (budget < 1024)
            return refuse(r, FMT_ANTHROPIC,
                          "thinking.enabled.budget_tokens: Input should be greater than or equal "
                          "to 1024");
        if (yyjson_get_sint(max) <= budget)
            return refuse(r, FMT_ANTHROPIC,
                          "`max_tokens` must be greater than `thinking.budget_tokens`");
        yyjson_val *temp = yyjson_obj_get(root, "temperature");
        if (temp && yyjson_get_num(temp) != 1.0)
            return refuse(r, FMT_ANTHROPIC,
                          "`temperature` may only be set to 1 when thinking is enabled");
    }
    bool thinking = yyjson_is_obj(th) && yyjson_equals_str(yyjson_obj_get(th, "type"), "enabled");
    yyjson_val *last_assistant = NULL;
    yyjson_arr_foreach(msgs, i, n, m)
    {
        if (yyjson_equals_str(yyjson_obj_get(m, "role"), "assistant"))
            last_assistant = m;
    }
    if (thinking && last_assistant) {
        /* a tool-use turn must open with its (signed) thinking when thinking is on */
        yyjson_val *c = yyjson_obj_get(last_assistant, "content"), *b;
        bool uses_tools = false;
        yyjson_arr_foreach(c, i, n, b)
        {
            uses_tools = uses_tools || yyjson_equals_str(yyjson_obj_get(b, "type"), "tool_use");
        }
        yyjson_val *first = yyjson_arr_get_first(c);
        if (uses_tools && !yyjson_equals_str(yyjson_obj_get(first, "type"), "thinking") &&
            !yyjson_equals_str(yyjson_obj_get(first, "type"), "redacted_thinking"))
            return refuse(r, FMT_ANTHROPIC,
                          "messages: Expected `thinking` or `redacted_thinking`, but found "
                          "`tool_use`. When `thinking` is enabled, a final `assistant` message "
                          "must start with a thinking block.");
    }
    yyjson_arr_foreach(msgs, i, n, m)
    {
        yyjson_val *content = yyjson_obj_get(m, "content"), *b;
        const char *role = yyjson_get_str(yyjson_obj_get(m, "role"));
        size_t j, jmax;
        if (!role || (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0))
            return refuse(r, FMT_ANTHROPIC, "messages: roles must be user or assistant");
        if (yyjson_is_str(content) && !yyjson_get_len(content))
            return refuse(r, FMT_ANTHROPIC, "messages: text content blocks must be non-empty");
        yyjson_arr_foreach(content, j, jmax, b)
        {
            const char *type = yyjson_get_str(yyjson_obj_get(b, "type"));
            if (!type)
                return refuse(r, FMT_ANTHROPIC, "messages: content blocks need a type");
            if (strcmp(type, "text") == 0 && !yyjson_get_len(yyjson_obj_get(b, "text")))
                return refuse(r, FMT_ANTHROPIC, "messages: text content blocks must be non-empty");
            if (strcmp(type, "tool_result") == 0) {
                yyjson_val *id = yyjson_obj_get(b, "tool_use_id");
                if (!yyjson_is_str(id) ||
                    !has_id(yyjson_obj_get(prev, "content"),
                            ag_str_make(yyjson_get_str(id), yyjson_get_len(id)), "tool_use"))
                    return refuse(r, FMT_ANTHROPIC,
                                  "messages: unexpected `tool_use_id` found in `tool_result` "
                                  "blocks. Each `tool_result` block must have a corresponding "
                                  "`tool_use` block in the previous message.");
            }
        }
        prev = m;
    }
    yyjson_val *tools = yyjson_obj_get(root, "tools"), *t;
    yyjson_arr_foreach(tools, i, n, t)
    {
        if (!yyjson_is_obj(yyjson_obj_get(t, "input_schema")))
            return refuse(r, FMT_ANTHROPIC, "tools.0.custom.input_schema: Field required");
    }
    return true;
}

static bool openai_check(struct mock_reply *r, yyjson_val *root)
{
    yyjson_val *msgs = yyjson_obj_get(root, "messages"), *m, *calls = NULL;
    yyjson_val *model = yyjson_obj_get(root, "model");
    size_t i, n, answered = 0;
    if (!yyjson_is_str(model))
        return refuse(r, FMT_OPENAI, "you must provide a model parameter");
    if (!yyjson_is_arr(msgs) || !yyjson_arr_size(msgs))
        return refuse(r, FMT_OPENAI, "Missing required parameter: 'messages'.");
    const char *mn = yyjson_get_str(model);
    if (yyjson_obj_get(root, "max_tokens") &&
        (strncmp(mn, "gpt-5", 5) == 0 || (mn[0] == 'o' && mn[1] >= '1' && mn[1] <= '9')))
        return refuse(r, FMT_OPENAI,
                      "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                      "'max_completion_tokens' instead.");
    yyjson_arr_foreach(msgs, i, n, m)
    {
        const char *role = yyjson_get_str(yyjson_obj_get(m, "role"));
        if (!role)
            return refuse(r, FMT_OPENAI, "Missing required parameter: 'messages[].role'.");
        if (strcmp(role, "tool") == 0) {
            yyjson_val *id = yyjson_obj_get(m, "tool_call_id");
            if (!yyjson_is_str(id) ||
                !has_id(calls, ag_str_make(yyjson_get_str(id), yyjson_get_len(id)), NULL))
                return refuse(r, FMT_OPENAI,
                              "Invalid parameter: messages with role 'tool' must be a response "
                              "to a preceeding message with 'tool_calls'.");
            answered++;
            continue;
        }
        if (calls && answered < yyjson_arr_size(calls))
            return refuse(r, FMT_OPENAI,
                          "An assistant message with 'tool_calls' must be followed by tool "
                          "messages responding to each 'tool_call_id'.");
        calls = NULL;
        answered = 0;
        if (strcmp(role, "assistant") == 0 && yyjson_arr_size(yyjson_obj_get(m, "tool_calls")))
            calls = yyjson_obj_get(m, "tool_calls");
        else if (strcmp(role, "system") != 0 && strcmp(role, "developer") != 0 &&
                 strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0)
            return refuse(r, FMT_OPENAI, "Invalid value for 'messages[].role'.");
    }
    return true;
}

bool mock_provider_strict(struct mock_reply *r, enum mock_format fmt, yyjson_val *root)
{
    if (fmt == FMT_ANTHROPIC)
        return anthropic_check(r, root);
    if (fmt == FMT_OPENAI)
        return openai_check(r, root);
    return true;
}

/* ---- model lists ---- */

static void h_models(struct ag_http_req *req, void *ud)
{
    struct mock_reply *r = mock_reply_new(req);
    bool anthropic = header(req, "x-api-key").len && !bearer(req).len;
    enum mock_format fmt = anthropic ? FMT_ANTHROPIC : FMT_OPENAI;
    (void)ud;
    mock_record(req);
    g_mock.requests_total++;
    if (mock_apply_fault(req, r, fmt, mock_bearer(req), AG_STR("")) ||
        !mock_provider_auth(r, req, fmt)) {
        mock_reply_send(r);
        return;
    }
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(doc), *data;
    yyjson_mut_doc_set_root(doc, o);
    if (!anthropic)
        yyjson_mut_obj_add_str(doc, o, "object", "list");
    data = yyjson_mut_obj_add_arr(doc, o, "data");
    size_t n = anthropic ? sizeof(anthropic_models) / sizeof(anthropic_models[0])
                         : sizeof(openai_models) / sizeof(openai_models[0]);
    for (size_t i = 0; i < n; i++) {
        yyjson_mut_val *m = yyjson_mut_arr_add_obj(doc, data);
        yyjson_mut_obj_add_str(doc, m, "id", anthropic ? anthropic_models[i] : openai_models[i]);
        if (anthropic) {
            yyjson_mut_obj_add_str(doc, m, "type", "model");
            yyjson_mut_obj_add_str(doc, m, "display_name", anthropic_models[i]);
            yyjson_mut_obj_add_str(doc, m, "created_at", "2025-09-29T00:00:00Z");
        } else {
            yyjson_mut_obj_add_str(doc, m, "object", "model");
            yyjson_mut_obj_add_int(doc, m, "created", 1730000000);
            yyjson_mut_obj_add_str(doc, m, "owned_by", "mock");
        }
    }
    if (anthropic) {
        yyjson_mut_obj_add_bool(doc, o, "has_more", false);
        yyjson_mut_obj_add_str(doc, o, "first_id", anthropic_models[0]);
        yyjson_mut_obj_add_str(doc, o, "last_id", anthropic_models[n - 1]);
    }
    size_t len;
    char *json = yyjson_mut_write(doc, 0, &len);
    mock_reply_body(r, 200, "application/json", json, len);
    free(json);
    yyjson_mut_doc_free(doc);
    mock_reply_send(r);
}

static void h_gemini_models(struct ag_http_req *req, void *ud)
{
    struct mock_reply *r = mock_reply_new(req);
    const struct mock_model *cat;
    size_t n = mock_catalog(&cat);
    (void)ud;
    mock_record(req);
    g_mock.requests_total++;
    if (!mock_provider_auth(r, req, FMT_GEMINI)) {
        mock_reply_send(r);
        return;
    }
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(doc), *arr = yyjson_mut_obj_add_arr(doc, o, "models");
    yyjson_mut_doc_set_root(doc, o);
    for (size_t i = 0; i < n; i++) {
        char name[160];
        if (!strstr(cat[i].id, "gemini"))
            continue;
        snprintf(name, sizeof(name), "models/%s", cat[i].id);
        yyjson_mut_val *m = yyjson_mut_arr_add_obj(doc, arr);
        yyjson_mut_obj_add_strcpy(doc, m, "name", name);
        yyjson_mut_obj_add_int(doc, m, "outputTokenLimit", cat[i].max_output_tokens);
    }
    size_t len;
    char *json = yyjson_mut_write(doc, 0, &len);
    mock_reply_body(r, 200, "application/json", json, len);
    free(json);
    yyjson_mut_doc_free(doc);
    mock_reply_send(r);
}

/* POST /v1/messages/count_tokens: the request's bytes / 4, as the other count routes do. */
static void h_count(struct ag_http_req *req, void *ud)
{
    struct mock_reply *r = mock_reply_new(req);
    (void)ud;
    mock_record(req);
    g_mock.requests_total++;
    if (mock_provider_auth(r, req, FMT_ANTHROPIC)) {
        char body[64];
        int n = snprintf(body, sizeof(body), "{\"input_tokens\":%zu}", req->body.len / 4 + 1);
        mock_reply_body(r, 200, "application/json", body, (size_t)n);
    }
    mock_reply_send(r);
}

void mock_register_provider(struct ag_router *router)
{
    struct ag_route rt = {.method = "GET",
                          .pattern = "/v1/models",
                          .handler = h_models,
                          .access = AG_ACCESS_PUBLIC,
                          .errfmt = &ag_errfmt_openai};
    ag_router_add(router, &rt);
    rt.method = "POST";
    rt.pattern = "/v1/messages/count_tokens";
    rt.handler = h_count;
    rt.errfmt = &ag_errfmt_anthropic;
    ag_router_add(router, &rt);
    rt.method = "GET";
    rt.pattern = "/v1beta/models";
    rt.handler = h_gemini_models;
    rt.errfmt = &ag_errfmt_gemini;
    ag_router_add(router, &rt);
}
