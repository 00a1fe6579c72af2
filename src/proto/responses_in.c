/* proto/responses_in.c: the Responses adapter's request side: a POST /v1/responses body ->
 * canonical request plus side data (responses.h), and continuing a stored conversation. Input
 * items (messages, function_call, function_call_output, reasoning) become canonical messages one
 * by one; the Gemini body encoder joins adjacent same-role messages into one turn. Only known
 * fields are read and only function tools are forwarded. Errors name the offending field the way
 * OpenAI does ("input[2].call_id"). */
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "proto/openai.h"
#include "proto/responses.h"
#include "proto/toolid.h"

struct dec {
    const struct ag_proto_ctx *ctx;
    struct ag_arena *a;
    struct ag_proto_error *err;
    struct ag_responses_request *r;
};

/* OpenAI's error wording and the basic readers are shared with the chat decoder (openai.h). */
static int bad_type(struct dec *d, const char *param, const char *want, yyjson_val *v)
{
    return ag_openai_bad_type(d->a, d->err, param, want, v);
}

static int bad_value(struct dec *d, const char *param, const char *code, const char *msg)
{
    return ag_openai_bad_value(d->a, d->err, param, code, msg);
}

static int get_num(struct dec *d, yyjson_val *root, const char *key, bool *has, double *out)
{
    return ag_openai_get_num(d->a, d->err, root, key, has, out);
}

static bool present(yyjson_val *v)
{
    return ag_json_present(v);
}

static int missing(struct dec *d, const char *param)
{
    ag_proto_error_set(d->err, d->a, 400, AG_PERR_INVALID, param, "missing_required_parameter",
                       "Missing required parameter: '%s'.", param);
    return AG_EINVAL;
}

static int bad_enum(struct dec *d, const char *param, struct ag_str got, const char *supported)
{
    ag_proto_error_set(d->err, d->a, 400, AG_PERR_INVALID, param, "invalid_value",
                       "Invalid value: '%.*s'. Supported values are: %s.", (int)got.len,
                       got.p ? got.p : "", supported);
    return AG_EINVAL;
}

static char *at(struct dec *d, const char *param, size_t i, const char *field)
{
    return ag_arena_printf(d->a, "%s[%zu]%s%s", param, i, *field ? "." : "", field);
}

/* Grows an arena array of elem-sized slots to hold one more; NULL on cap. */
static void *grow(struct ag_arena *a, void *arr, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *na = ag_arena_calloc(a, ncap * elem);
    if (!na)
        return NULL;
    if (n)
        memcpy(na, arr, n * elem);
    *cap = ncap;
    return na;
}

static struct ag_message *push_message(struct dec *d, enum ag_role role, size_t n_parts)
{
    struct ag_request *req = &d->r->req;
    struct ag_message *m = grow(d->a, req->messages, req->n_messages, &d->r->_msg_cap, sizeof(*m));
    struct ag_part *parts = ag_arena_calloc(d->a, (n_parts ? n_parts : 1) * sizeof(*parts));
    if (!m || !parts)
        return NULL;
    req->messages = m;
    m = &req->messages[req->n_messages++];
    m->role = role;
    m->parts = parts;
    m->n_parts = 0;
    return m;
}

static int push_system(struct dec *d, struct ag_str text)
{
    struct ag_request *req = &d->r->req;
    if (!text.len)
        return 0;
    struct ag_part *p = grow(d->a, req->system, req->n_system, &d->r->_sys_cap, sizeof(*p));
    if (!p)
        return AG_ETOOBIG;
    req->system = p;
    p = &req->system[req->n_system++];
    memset(p, 0, sizeof(*p));
    p->type = AG_PART_TEXT;
    p->text = text;
    return 0;
}

/* An input_image / input_file part -> media part. */
static int media_part(struct dec *d, yyjson_val *c, const char *param, struct ag_part *p)
{
    struct ag_str url = ag_json_get_str(c, "image_url");
    char *pp;
    if (ag_str_eq_c(ag_json_get_str(c, "type"), "input_file")) {
        url = ag_json_get_str(c, "file_data");
        if (url.len && !ag_str_has_prefix_ci(url, "data:")) {
            /* bare base64: the API documents PDFs here */
            p->type = AG_PART_MEDIA;
            p->mime = AG_STR("application/pdf");
            p->data = url;
            return 0;
        }
        if (!url.len)
            url = ag_json_get_str(c, "file_url");
        pp = ag_arena_printf(d->a, "%s.%s", param,
                             ag_json_get_str(c, "file_data").len ? "file_data" : "file_url");
    } else {
        pp = ag_arena_printf(d->a, "%s.image_url", param);
    }
    if (!url.len) {
        if (ag_json_get_str(c, "file_id").len)
            return bad_value(d, param, "unsupported_file",
                             "file ids are not supported; send the data inline or by URL.");
        return bad_value(d, pp, "missing_required_parameter", "a URL or inline data is required.");
    }
    return ag_openai_media_url(d->a, d->err, url, pp, p);
}

/* A message item: role + content (string or parts). */
static int message_item(struct dec *d, yyjson_val *it, const char *param, size_t i)
{
    yyjson_val *rv = yyjson_obj_get(it, "role");
    struct ag_str role = ag_json_str(rv);
    yyjson_val *c = yyjson_obj_get(it, "content");
    if (!present(rv))
        return missing(d, at(d, param, i, "role"));
    bool sys = ag_str_eq_c(role, "system") || ag_str_eq_c(role, "developer");
    bool user = ag_str_eq_c(role, "user");
    if (!sys && !user && !ag_str_eq_c(role, "assistant"))
        return bad_enum(d, at(d, param, i, "role"), role,
                        "'user', 'assistant', 'system', and 'developer'");
    if (!present(c))
        return missing(d, at(d, param, i, "content"));
    if (yyjson_is_str(c)) {
        if (sys)
            return push_system(d, ag_json_str(c));
        struct ag_message *m = push_message(d, user ? AG_ROLE_USER : AG_ROLE_ASSISTANT, 1);
        if (!m)
            return AG_ETOOBIG;
        m->parts[0].type = AG_PART_TEXT;
        m->parts[0].text = ag_json_str(c);
        m->n_parts = 1;
        return 0;
    }
    if (!yyjson_is_arr(c))
        return bad_type(d, at(d, param, i, "content"), "a string or an array", c);
    struct ag_message *m = NULL;
    if (!sys && !(m = push_message(d, user ? AG_ROLE_USER : AG_ROLE_ASSISTANT, yyjson_arr_size(c))))
        return AG_ETOOBIG;
    size_t j, max;
    yyjson_val *part;
    yyjson_arr_foreach(c, j, max, part)
    {
        struct ag_str type = ag_json_get_str(part, "type");
        char *pp = ag_arena_printf(d->a, "%s[%zu].content[%zu]", param, i, j);
        int rc;
        if (!yyjson_is_obj(part))
            return bad_type(d, pp, "an object", part);
        if (ag_str_eq_c(type, "input_text") || ag_str_eq_c(type, "output_text") ||
            ag_str_eq_c(type, "text") || ag_str_eq_c(type, "refusal")) {
            struct ag_str t =
                ag_json_get_str(part, ag_str_eq_c(type, "refusal") ? "refusal" : "text");
            if (sys) {
                if ((rc = push_system(d, t)))
                    return rc;
            } else if (t.len) {
                m->parts[m->n_parts].type = AG_PART_TEXT;
                m->parts[m->n_parts++].text = t;
            }
        } else if ((ag_str_eq_c(type, "input_image") || ag_str_eq_c(type, "input_file")) && user) {
            if ((rc = media_part(d, part, pp, &m->parts[m->n_parts])))
                return rc;
            m->n_parts++;
        }
        /* other part types (audio, annotations-only parts) are dropped */
    }
    if (m && !m->n_parts)
        d->r->req.n_messages--; /* nothing usable: no empty turn */
    return 0;
}

static int call_item(struct dec *d, yyjson_val *it, const char *param, size_t i)
{
    struct ag_str name = ag_json_get_str(it, "name");
    struct ag_str id = ag_json_get_str(it, "call_id");
    if (!name.len)
        return missing(d, at(d, param, i, "name"));
    if (!id.len)
        return missing(d, at(d, param, i, "call_id"));
    struct ag_message *m = push_message(d, AG_ROLE_ASSISTANT, 1);
    if (!m)
        return AG_ETOOBIG;
    struct ag_part *p = &m->parts[m->n_parts++];
    p->type = AG_PART_TOOL_CALL;
    p->name = name;
    int rc = ag_toolid_unpack(d->a, id, &p->id, &p->sig);
    if (rc)
        return rc;
    rc = ag_openai_tool_args(d->a, yyjson_obj_get(it, "arguments"), d->ctx->max_json_depth,
                             &p->args);
    if (rc == AG_EDEPTH)
        return ag_openai_too_deep(d->a, d->err, at(d, param, i, "arguments"),
                                  d->ctx->max_json_depth);
    return rc;
}

static int output_item(struct dec *d, yyjson_val *it, const char *param, size_t i,
                       bool allow_pending)
{
    struct ag_str id = ag_json_get_str(it, "call_id");
    yyjson_val *out = yyjson_obj_get(it, "output");
    if (!id.len)
        return missing(d, at(d, param, i, "call_id"));
    struct ag_message *m = push_message(d, AG_ROLE_USER, 1);
    if (!m)
        return AG_ETOOBIG;
    struct ag_part *p = &m->parts[m->n_parts++];
    p->type = AG_PART_TOOL_RESULT;
    struct ag_signature ignored;
    int rc = ag_toolid_unpack(d->a, id, &p->id, &ignored);
    if (rc)
        return rc;
    p->name = ag_request_call_name(&d->r->req, p->id);
    if (!p->name.len) {
        if (!allow_pending) {
            char *pp = at(d, param, i, "call_id");
            ag_proto_error_set(d->err, d->a, 400, AG_PERR_INVALID, pp, "invalid_value",
                               "No tool call found for function call output with call_id %.*s.",
                               (int)id.len, id.p);
            return AG_EINVAL;
        }
        d->r->meta.pending_results = true;
    }
    if (yyjson_is_str(out)) {
        p->text = ag_json_str(out);
        return 0;
    }
    if (!yyjson_is_arr(out))
        return bad_type(d, at(d, param, i, "output"), "a string or an array", out);
    /* content parts: text joined, images travel with the result */
    struct ag_buf b;
    size_t j, max, n = 0;
    yyjson_val *c;
    ag_buf_init(
        &b,
        AG_BUF_UNBOUNDED); /* joins texts of the request body, capped by server.max_body_bytes */
    p->parts = ag_arena_calloc(d->a, (yyjson_arr_size(out) + 1) * sizeof(struct ag_part));
    if (!p->parts) {
        ag_buf_dispose(&b);
        return AG_ETOOBIG;
    }
    yyjson_arr_foreach(out, j, max, c)
    {
        struct ag_str type = ag_json_get_str(c, "type");
        if (ag_str_eq_c(type, "input_text") || ag_str_eq_c(type, "output_text")) {
            if (b.len)
                ag_buf_append_c(&b, "\n");
            ag_buf_append_str(&b, ag_json_get_str(c, "text"));
        } else if (ag_str_eq_c(type, "input_image") || ag_str_eq_c(type, "input_file")) {
            char *pp = ag_arena_printf(d->a, "%s[%zu].output[%zu]", param, i, j);
            if ((rc = media_part(d, c, pp, &p->parts[n]))) {
                ag_buf_dispose(&b);
                return rc;
            }
            n++;
        }
    }
    p->n_parts = n;
    p->text = ag_arena_str(d->a, ag_buf_str(&b));
    ag_buf_dispose(&b);
    return 0;
}

/* A reasoning item: summary text + encrypted_content (our packed signature) -> thinking. */
static int reasoning_item(struct dec *d, yyjson_val *it)
{
    struct ag_buf b;
    size_t j, max;
    yyjson_val *s;
    struct ag_str enc = ag_json_get_str(it, "encrypted_content"), base;
    struct ag_signature sig = {{0}, {0}};
    int rc = ag_toolid_unpack(d->a, enc, &base, &sig);
    if (rc)
        return rc;
    ag_buf_init(
        &b,
        AG_BUF_UNBOUNDED); /* joins texts of the request body, capped by server.max_body_bytes */
    yyjson_arr_foreach(yyjson_obj_get(it, "summary"), j, max, s)
    {
        struct ag_str t = ag_json_get_str(s, "text");
        if (!t.len)
            continue;
        if (b.len)
            ag_buf_append_c(&b, "\n\n");
        ag_buf_append_str(&b, t);
    }
    struct ag_str text = ag_arena_str(d->a, ag_buf_str(&b));
    ag_buf_dispose(&b);
    if (!text.len && !sig.value.len)
        return 0; /* nothing a model could use (e.g. OpenAI's own encrypted reasoning) */
    struct ag_message *m = push_message(d, AG_ROLE_ASSISTANT, 1);
    if (!m)
        return AG_ETOOBIG;
    m->parts[0].type = AG_PART_THINKING;
    m->parts[0].text = text;
    m->parts[0].sig = sig;
    m->n_parts = 1;
    return 0;
}

int ag_responses_items(const struct ag_proto_ctx *ctx, struct ag_responses_request *r,
                       yyjson_val *items, const char *param, bool allow_pending,
                       struct ag_proto_error *err)
{
    struct dec d = {.ctx = ctx, .a = ctx->arena, .err = err, .r = r};
    size_t i, max;
    yyjson_val *it;
    yyjson_arr_foreach(items, i, max, it)
    {
        int rc = 0;
        if (!yyjson_is_obj(it))
            return bad_type(&d, at(&d, param, i, ""), "an object", it);
        struct ag_str type = ag_json_get_str(it, "type");
        if (ag_str_eq_c(type, "message") || (!type.len && yyjson_obj_get(it, "role")))
            rc = message_item(&d, it, param, i);
        else if (ag_str_eq_c(type, "function_call"))
            rc = call_item(&d, it, param, i);
        else if (ag_str_eq_c(type, "function_call_output"))
            rc = output_item(&d, it, param, i, allow_pending);
        else if (ag_str_eq_c(type, "reasoning"))
            rc = reasoning_item(&d, it);
        /* other items (item_reference, hosted tool calls we never issued) are dropped */
        if (rc)
            return rc;
    }
    return 0;
}

static int decode_tools(struct dec *d, yyjson_val *root)
{
    struct ag_request *req = &d->r->req;
    yyjson_val *tools = yyjson_obj_get(root, "tools");
    if (!present(tools))
        return 0;
    if (!yyjson_is_arr(tools))
        return bad_type(d, "tools", "an array", tools);
    size_t n = yyjson_arr_size(tools), i, max;
    yyjson_val *t;
    yyjson_mut_doc *echo = NULL;
    yyjson_alc alc;
    ag_json_arena_alc(&alc, d->a);
    echo = yyjson_mut_doc_new(&alc);
    yyjson_mut_val *arr = echo ? yyjson_mut_arr(echo) : NULL;
    req->tools = ag_arena_calloc(d->a, (n ? n : 1) * sizeof(struct ag_tool));
    if (!req->tools || !arr)
        return AG_ETOOBIG;
    yyjson_arr_foreach(tools, i, max, t)
    {
        struct ag_str type = ag_json_get_str(t, "type");
        if (!yyjson_is_obj(t))
            return bad_type(d, at(d, "tools", i, ""), "an object", t);
        if (!ag_str_eq_c(type, "function")) {
            /* web_search, web_search_preview, web_search_preview_2025_03_11, ... */
            if (ag_str_has_prefix(type, "web_search"))
                d->r->meta.web_search = true;
            else
                d->r->meta.dropped_tools++;
            continue;
        }
        struct ag_str name = ag_json_get_str(t, "name");
        if (!name.len)
            return missing(d, at(d, "tools", i, "name"));
        struct ag_tool *tool = &req->tools[req->n_tools++];
        tool->name = name;
        tool->description = ag_json_get_str(t, "description");
        yyjson_val *params = yyjson_obj_get(t, "parameters");
        if (present(params) && !yyjson_is_obj(params))
            return bad_type(d, at(d, "tools", i, "parameters"), "an object", params);
        if (params)
            tool->schema = ag_json_val_text(d->a, params);
        yyjson_mut_arr_append(arr, yyjson_val_mut_copy(echo, t));
    }
    d->r->meta.tools = ag_json_mut_text(d->a, arr);
    return 0;
}

static int decode_choice(struct dec *d, yyjson_val *root)
{
    struct ag_request *req = &d->r->req;
    yyjson_val *tc = yyjson_obj_get(root, "tool_choice");
    if (!present(tc))
        return 0;
    d->r->meta.tool_choice = ag_json_val_text(d->a, tc);
    if (yyjson_is_str(tc)) {
        struct ag_str s = ag_json_str(tc);
        if (ag_str_eq_c(s, "auto"))
            req->tool_choice = AG_TOOL_CHOICE_AUTO;
        else if (ag_str_eq_c(s, "none"))
            req->tool_choice = AG_TOOL_CHOICE_NONE;
        else if (ag_str_eq_c(s, "required"))
            req->tool_choice = AG_TOOL_CHOICE_REQUIRED;
        else
            return bad_enum(d, "tool_choice", s, "'none', 'auto', and 'required'");
        return 0;
    }
    if (!yyjson_is_obj(tc))
        return bad_type(d, "tool_choice", "a string or an object", tc);
    struct ag_str type = ag_json_get_str(tc, "type");
    if (ag_str_eq_c(type, "function")) {
        struct ag_str name = ag_json_get_str(tc, "name");
        if (!name.len)
            return missing(d, "tool_choice.name");
        req->tool_choice = AG_TOOL_CHOICE_NAMED;
        req->tool_choice_name = name;
    } else if (ag_str_eq_c(type, "allowed_tools")) {
        bool req_mode = ag_str_eq_c(ag_json_get_str(tc, "mode"), "required");
        req->tool_choice = req_mode ? AG_TOOL_CHOICE_REQUIRED : AG_TOOL_CHOICE_AUTO;
    } else {
        req->tool_choice = AG_TOOL_CHOICE_AUTO; /* a hosted tool: ours are not forwarded */
    }
    return 0;
}

static int decode_reasoning(struct dec *d, yyjson_val *root)
{
    static const struct {
        const char *name;
        enum ag_effort e;
    } efforts[] = {{"none", AG_EFFORT_NONE}, {"minimal", AG_EFFORT_MINIMAL},
                   {"low", AG_EFFORT_LOW},   {"medium", AG_EFFORT_MEDIUM},
                   {"high", AG_EFFORT_HIGH}, {"xhigh", AG_EFFORT_MAX}};
    struct ag_request *req = &d->r->req;
    yyjson_val *r = yyjson_obj_get(root, "reasoning");
    if (!present(r))
        return 0;
    if (!yyjson_is_obj(r))
        return bad_type(d, "reasoning", "an object", r);
    yyjson_val *e = yyjson_obj_get(r, "effort"), *s = yyjson_obj_get(r, "summary");
    if (present(e)) {
        struct ag_str v = ag_json_str(e);
        size_t i, n = sizeof(efforts) / sizeof(efforts[0]);
        if (!yyjson_is_str(e))
            return bad_type(d, "reasoning.effort", "a string", e);
        for (i = 0; i < n && !ag_str_eq_c(v, efforts[i].name); i++)
            ;
        if (i == n)
            return bad_enum(d, "reasoning.effort", v,
                            "'none', 'minimal', 'low', 'medium', 'high', and 'xhigh'");
        req->thinking.effort = efforts[i].e;
        req->thinking.mode = efforts[i].e == AG_EFFORT_NONE ? AG_OFF : AG_ON;
        d->r->meta.effort = v;
    }
    if (!present(s))
        s = yyjson_obj_get(r, "generate_summary"); /* the older name */
    if (present(s)) {
        struct ag_str v = ag_json_str(s);
        if (!ag_str_eq_c(v, "auto") && !ag_str_eq_c(v, "concise") && !ag_str_eq_c(v, "detailed"))
            return bad_enum(d, "reasoning.summary", v, "'auto', 'concise', and 'detailed'");
        d->r->meta.summary = v;
        req->thinking.include = AG_ON;
    }
    return 0;
}

static int decode_text(struct dec *d, yyjson_val *root)
{
    struct ag_gen *g = &d->r->req.gen;
    yyjson_val *t = yyjson_obj_get(root, "text");
    if (!present(t))
        return 0;
    if (!yyjson_is_obj(t))
        return bad_type(d, "text", "an object", t);
    yyjson_val *f = yyjson_obj_get(t, "format");
    if (!present(f))
        return 0;
    if (!yyjson_is_obj(f))
        return bad_type(d, "text.format", "an object", f);
    struct ag_str type = ag_json_get_str(f, "type");
    if (ag_str_eq_c(type, "json_object")) {
        g->format = AG_FORMAT_JSON_OBJECT;
    } else if (ag_str_eq_c(type, "json_schema")) {
        yyjson_val *schema = yyjson_obj_get(f, "schema");
        if (!present(schema))
            return missing(d, "text.format.schema");
        if (!yyjson_is_obj(schema))
            return bad_type(d, "text.format.schema", "an object", schema);
        g->format = AG_FORMAT_JSON_SCHEMA;
        g->schema = ag_json_val_text(d->a, schema);
        g->schema_name = ag_json_get_str(f, "name");
    } else if (!ag_str_eq_c(type, "text")) {
        return bad_enum(d, "text.format.type", type, "'text', 'json_object', and 'json_schema'");
    }
    d->r->meta.text_format = ag_json_val_text(d->a, f);
    return 0;
}

static int get_str(struct dec *d, yyjson_val *root, const char *key, struct ag_str *out)
{
    yyjson_val *v = yyjson_obj_get(root, key);
    if (!present(v))
        return 0;
    if (!yyjson_is_str(v))
        return bad_type(d, key, "a string", v);
    *out = ag_json_str(v);
    return 0;
}

static int get_bool(struct dec *d, yyjson_val *root, const char *key, bool *out)
{
    yyjson_val *v = yyjson_obj_get(root, key);
    if (!present(v))
        return 0;
    if (!yyjson_is_bool(v))
        return bad_type(d, key, "a boolean", v);
    *out = yyjson_get_bool(v);
    return 0;
}

static int decode_params(struct dec *d, yyjson_val *root)
{
    struct ag_request *req = &d->r->req;
    struct ag_responses_meta *meta = &d->r->meta;
    struct ag_gen *g = &req->gen;
    int rc;
    bool ptc = true, ptc_given = yyjson_obj_get(root, "parallel_tool_calls") != NULL;
    if ((rc = get_num(d, root, "temperature", &g->has_temperature, &g->temperature)) ||
        (rc = get_num(d, root, "top_p", &g->has_top_p, &g->top_p)) ||
        (rc = get_bool(d, root, "store", &meta->store)) ||
        (rc = get_bool(d, root, "parallel_tool_calls", &ptc)) ||
        (rc = get_str(d, root, "user", &req->user)) ||
        (rc = get_str(d, root, "truncation", &meta->truncation)))
        return rc;
    if (ptc_given)
        req->parallel_tools = ptc ? AG_ON : AG_OFF;
    yyjson_val *mot = yyjson_obj_get(root, "max_output_tokens");
    if (present(mot)) {
        int irc = ag_json_int(mot, AG_JSON_INT_MAX, &g->max_tokens);
        if (irc == AG_EINVAL)
            return bad_type(d, "max_output_tokens", "an integer", mot);
        if (irc)
            return bad_value(d, "max_output_tokens", "integer_above_max_value",
                             "must be at most 2147483647.");
        if (g->max_tokens < 1)
            return bad_value(d, "max_output_tokens", "integer_below_min_value",
                             "must be at least 1.");
    }
    yyjson_val *md = yyjson_obj_get(root, "metadata");
    if (present(md) && !yyjson_is_obj(md))
        return bad_type(d, "metadata", "an object", md);
    if (md)
        meta->metadata = ag_json_val_text(d->a, md);
    yyjson_val *inc = yyjson_obj_get(root, "include");
    if (present(inc) && !yyjson_is_arr(inc))
        return bad_type(d, "include", "an array", inc);
    size_t i, max;
    yyjson_val *s;
    yyjson_arr_foreach(inc, i, max,
                       s) if (ag_str_eq_c(ag_json_str(s), "reasoning.encrypted_content"))
        meta->include_encrypted = true;
    return 0;
}

/* The input as an item array: a string input becomes one user message item. */
static int decode_input(struct dec *d, yyjson_val *input)
{
    struct ag_responses_meta *meta = &d->r->meta;
    if (yyjson_is_str(input)) {
        yyjson_alc alc;
        ag_json_arena_alc(&alc, d->a);
        yyjson_mut_doc *doc = yyjson_mut_doc_new(&alc);
        if (!doc)
            return AG_ETOOBIG;
        yyjson_mut_val *arr = yyjson_mut_arr(doc), *msg = yyjson_mut_obj(doc);
        yyjson_mut_obj_add_str(doc, msg, "type", "message");
        yyjson_mut_obj_add_str(doc, msg, "role", "user");
        ag_json_add_str(doc, msg, "content", ag_json_str(input));
        yyjson_mut_arr_append(arr, msg);
        meta->input = ag_json_mut_text(d->a, arr);
        struct ag_message *m = push_message(d, AG_ROLE_USER, 1);
        if (!m || !meta->input.p)
            return AG_ETOOBIG;
        m->parts[0].type = AG_PART_TEXT;
        m->parts[0].text = ag_json_str(input);
        m->n_parts = 1;
        return 0;
    }
    if (!yyjson_is_arr(input))
        return bad_type(d, "input", "a string or an array", input);
    meta->input = ag_json_val_text(d->a, input);
    return ag_responses_items(d->ctx, d->r, input, "input", meta->previous_response_id.len > 0,
                              d->err);
}

int ag_responses_decode(const struct ag_proto_ctx *ctx, struct ag_str body,
                        const struct ag_client_hints *hints, struct ag_request **out,
                        struct ag_proto_error *err)
{
    struct dec d = {.ctx = ctx, .a = ctx->arena, .err = err};
    yyjson_val *root;
    int rc = ag_openai_read_object(d.a, body, ctx->max_json_depth, err, &root);
    if (rc)
        return rc;
    struct ag_responses_request *r = ag_arena_calloc(d.a, sizeof(*r));
    if (!r)
        return AG_ETOOBIG;
    ag_request_init(&r->req);
    r->meta.store = true;
    d.r = r;
    struct ag_request *req = &r->req;

    yyjson_val *model = yyjson_obj_get(root, "model");
    if (!present(model))
        return missing(&d, "model");
    if (!yyjson_is_str(model))
        return bad_type(&d, "model", "a string", model);
    req->model = ag_json_str(model);
    if ((rc = get_bool(&d, root, "stream", &req->stream)) ||
        (rc = get_str(&d, root, "previous_response_id", &r->meta.previous_response_id)) ||
        (rc = get_str(&d, root, "instructions", &r->meta.instructions)) ||
        (rc = push_system(&d, r->meta.instructions)))
        return rc;
    if (hints && hints->stream)
        req->stream = true; /* a WebSocket streams whatever the message says */
    req->include_usage = true;
    yyjson_val *input = yyjson_obj_get(root, "input");
    if (!present(input))
        return missing(&d, "input");
    if ((rc = decode_input(&d, input)) || (rc = decode_tools(&d, root)) ||
        (rc = decode_choice(&d, root)) || (rc = decode_reasoning(&d, root)) ||
        (rc = decode_text(&d, root)) || (rc = decode_params(&d, root)))
        return rc;
    if (!req->n_messages && !r->meta.previous_response_id.len && !(hints && hints->warmup))
        return bad_value(&d, "input", "empty_array",
                         "at least one user or assistant item is required.");
    struct ag_str pck = ag_json_get_str(root, "prompt_cache_key");
    if (pck.len && pck.len <= 128)
        req->session_key = pck; /* Codex: the conversation id, the best sticky key there is */
    else if ((rc = ag_request_fingerprint(d.a, req)))
        return rc;
    *out = req;
    return 0;
}

const struct ag_responses_meta *ag_responses_meta_of(const struct ag_request *req)
{
    /* req is the first member of the allocation decode_request made */
    return &((const struct ag_responses_request *)(const void *)req)->meta;
}

void ag_responses_not_found(struct ag_proto_error *err, struct ag_arena *arena, struct ag_str id,
                            bool previous)
{
    if (previous)
        ag_proto_error_set(
            err, arena, 400, AG_PERR_INVALID, "previous_response_id", "previous_response_not_found",
            "Previous response with id '%.*s' not found.", (int)id.len, id.p ? id.p : "");
    else
        ag_proto_error_set(err, arena, 404, AG_PERR_NOT_FOUND, NULL, NULL,
                           "Response with id '%.*s' not found.", (int)id.len, id.p ? id.p : "");
}

static int stored_invalid(struct ag_proto_error *err, struct ag_arena *a)
{
    ag_proto_error_set(err, a, 400, AG_PERR_INVALID, "previous_response_id", "invalid_value",
                       "The previous response cannot be continued.");
    return AG_EINVAL;
}

int ag_responses_continue(const struct ag_proto_ctx *ctx, struct ag_request *req,
                          struct ag_str stored, struct ag_proto_error *err)
{
    struct ag_responses_request *r = (struct ag_responses_request *)(void *)req;
    struct ag_arena *a = ctx->arena;
    yyjson_doc *doc = ag_json_read(a, stored, AG_JSON_DEPTH_INTERNAL, NULL);
    yyjson_val *root = doc ? yyjson_doc_get_root(doc) : NULL;
    yyjson_val *input = yyjson_obj_get(root, "input");
    yyjson_val *output = yyjson_obj_get(yyjson_obj_get(root, "response"), "output");
    if (!yyjson_is_arr(input) || !yyjson_is_arr(output))
        return stored_invalid(err, a);

    /* history = stored input ++ stored output, kept for the next stored form */
    yyjson_alc alc;
    ag_json_arena_alc(&alc, a);
    yyjson_mut_doc *md = yyjson_mut_doc_new(&alc);
    yyjson_mut_val *hist = md ? yyjson_mut_arr(md) : NULL;
    if (!hist)
        return AG_ETOOBIG;
    size_t i, max;
    yyjson_val *it;
    yyjson_arr_foreach(input, i, max, it) yyjson_mut_arr_append(hist, yyjson_val_mut_copy(md, it));
    yyjson_arr_foreach(output, i, max, it) yyjson_mut_arr_append(hist, yyjson_val_mut_copy(md, it));
    r->meta.history = ag_json_mut_text(a, hist);
    if (!r->meta.history.p)
        return AG_ETOOBIG;

    /* decode the history into fresh messages, then put this request's after them */
    struct ag_message *cur = req->messages;
    size_t n_cur = req->n_messages;
    req->messages = NULL;
    req->n_messages = 0;
    r->_msg_cap = 0;
    int rc = ag_responses_items(ctx, r, input, "previous_response.input", true, err);
    if (!rc)
        rc = ag_responses_items(ctx, r, output, "previous_response.output", true, err);
    if (rc)
        return rc == AG_EINVAL ? stored_invalid(err, a) : rc;
    struct dec d = {.ctx = ctx, .a = a, .err = err, .r = r};
    for (size_t k = 0; k < n_cur; k++) {
        struct ag_message *m = push_message(&d, cur[k].role, 0);
        if (!m)
            return AG_ETOOBIG;
        *m = cur[k];
    }
    /* results answering calls of the previous response get their function names now */
    for (size_t k = 0; k < req->n_messages; k++) {
        struct ag_message *m = &req->messages[k];
        for (size_t j = 0; j < m->n_parts; j++) {
            struct ag_part *p = &m->parts[j];
            if (p->type != AG_PART_TOOL_RESULT || p->name.len)
                continue;
            p->name = ag_request_call_name(req, p->id);
            if (!p->name.len) {
                ag_proto_error_set(err, a, 400, AG_PERR_INVALID, "input", "invalid_value",
                                   "No tool call found for function call output with call_id "
                                   "%.*s.",
                                   (int)p->id.len, p->id.p);
                return AG_EINVAL;
            }
        }
    }
    r->meta.pending_results = false;
    if (!req->session_key.len || ag_str_has_prefix(req->session_key, "sid-"))
        return ag_request_fingerprint(a, req);
    return 0;
}
