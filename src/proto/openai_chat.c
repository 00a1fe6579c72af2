/* proto/openai_chat.c: the OpenAI chat completions client adapter's request side: a
 * /v1/chat/completions (or legacy /v1/completions) body -> canonical request. Only known fields
 * are read; everything else the client sends is dropped, never forwarded. Errors name the
 * offending field the way OpenAI does ("messages[2].content"). The output side is openai_out.c.
 */
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "proto/json.h"
#include "proto/openai.h"
#include "proto/toolid.h"

struct dec {
    const struct ag_proto_ctx *ctx;
    struct ag_arena *a;
    struct ag_proto_error *err;
    struct ag_request *req;
    uint64_t legacy_calls;  /* ids made for legacy function_call messages */
    struct ag_json_src src; /* where the body's strings came from (their literals) */
};

const char *ag_openai_type_name(yyjson_val *v)
{
    switch (yyjson_get_type(v)) {
    case YYJSON_TYPE_STR:
        return "a string";
    case YYJSON_TYPE_ARR:
        return "an array";
    case YYJSON_TYPE_OBJ:
        return "an object";
    case YYJSON_TYPE_BOOL:
        return "a boolean";
    case YYJSON_TYPE_NUM:
        return yyjson_is_real(v) ? "a decimal" : "an integer";
    default:
        return "null";
    }
}

int ag_openai_bad_type(struct ag_arena *a, struct ag_proto_error *err, const char *param,
                       const char *want, yyjson_val *v)
{
    ag_proto_error_set(err, a, 400, AG_PERR_INVALID, param, "invalid_type",
                       "Invalid type for '%s': expected %s, but got %s instead.", param, want,
                       ag_openai_type_name(v));
    return AG_EINVAL;
}

int ag_openai_bad_value(struct ag_arena *a, struct ag_proto_error *err, const char *param,
                        const char *code, const char *msg)
{
    ag_proto_error_set(err, a, 400, AG_PERR_INVALID, param, code, "Invalid '%s': %s", param, msg);
    return AG_EINVAL;
}

int ag_openai_get_num(struct ag_arena *a, struct ag_proto_error *err, yyjson_val *root,
                      const char *key, bool *has, double *out)
{
    yyjson_val *v = yyjson_obj_get(root, key);
    if (!ag_json_present(v))
        return 0;
    if (!yyjson_is_num(v))
        return ag_openai_bad_type(a, err, key, "a number", v);
    *has = true;
    *out = yyjson_get_num(v);
    return 0;
}

int ag_openai_too_deep(struct ag_arena *a, struct ag_proto_error *err, const char *param,
                       size_t max_depth)
{
    size_t lim = ag_json_depth_limit(max_depth);
    if (param)
        ag_proto_error_set(err, a, 400, AG_PERR_INVALID, param, "invalid_value",
                           "Invalid '%s': " AG_JSON_DEPTH_MSG ".", param, lim);
    else
        ag_proto_error_set(
            err, a, 400, AG_PERR_INVALID, NULL, NULL,
            "We could not parse the JSON body of your request: " AG_JSON_DEPTH_MSG ".", lim);
    return AG_EINVAL;
}

int ag_openai_read_object(struct ag_arena *a, struct ag_str body, size_t max_depth,
                          struct ag_proto_error *err, yyjson_val **root)
{
    struct ag_json_src src;
    return ag_openai_read_object_src(a, body, max_depth, err, root, &src);
}

int ag_openai_read_object_src(struct ag_arena *a, struct ag_str body, size_t max_depth,
                              struct ag_proto_error *err, yyjson_val **root,
                              struct ag_json_src *src)
{
    int rc;
    yyjson_doc *doc = ag_json_read(a, body, max_depth, &rc);
    ag_json_src_init(src, doc, body);
    *root = doc ? yyjson_doc_get_root(doc) : NULL;
    if (rc == AG_EDEPTH)
        return ag_openai_too_deep(a, err, NULL, max_depth);
    if (rc == AG_ETOOBIG) {
        ag_proto_error_set(err, a, 413, AG_PERR_TOO_LARGE, NULL, NULL, "The request is too large.");
        return AG_ETOOBIG;
    }
    if (!yyjson_is_obj(*root)) {
        ag_proto_error_set(err, a, 400, AG_PERR_INVALID, NULL, NULL,
                           "We could not parse the JSON body of your request. The API expects a "
                           "JSON object.");
        return AG_EINVAL;
    }
    return 0;
}

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

static int get_int(struct dec *d, yyjson_val *root, const char *key, int64_t *out)
{
    yyjson_val *v = yyjson_obj_get(root, key);
    if (!present(v))
        return 0;
    int rc = ag_json_int(v, AG_JSON_INT_MAX, out);
    if (rc == AG_EINVAL)
        return bad_type(d, key, "an integer", v);
    if (rc)
        return bad_value(d, key, "integer_above_max_value", "must be at most 2147483647.");
    if (*out < 0)
        return bad_value(d, key, "integer_below_min_value", "must not be negative.");
    return 0;
}

/* The mime type a remote URL probably has, from its extension (no fetching here). */
static struct ag_str guess_mime(struct ag_str url, const char *fallback)
{
    static const struct {
        const char *ext, *mime;
    } map[] = {{".png", "image/png"},   {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},
               {".gif", "image/gif"},   {".webp", "image/webp"},     {".heic", "image/heic"},
               {".heif", "image/heif"}, {".pdf", "application/pdf"}, {".mp3", "audio/mp3"},
               {".wav", "audio/wav"},   {".mp4", "video/mp4"},       {".txt", "text/plain"}};
    ptrdiff_t q = ag_str_find(url, '?');
    if (q >= 0)
        url.len = (size_t)q;
    q = ag_str_find(url, '#');
    if (q >= 0)
        url.len = (size_t)q;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        size_t n = strlen(map[i].ext);
        if (url.len >= n && ag_str_eq_ci(ag_str_make(url.p + url.len - n, n), ag_str_c(map[i].ext)))
            return ag_str_c(map[i].mime);
    }
    return ag_str_c(fallback);
}

/* "data:<mime>;base64,<data>" -> media part; http(s) URL -> file URL part. */
static int url_part(struct dec *d, struct ag_str url, const char *param, struct ag_part *p)
{
    p->type = AG_PART_MEDIA;
    if (ag_str_has_prefix_ci(url, "data:")) {
        ptrdiff_t comma = ag_str_find(url, ',');
        ptrdiff_t semi = ag_str_find(url, ';');
        if (comma < 0 || semi < 0 || semi > comma ||
            !ag_str_eq_c(ag_str_make(url.p + semi, (size_t)(comma - semi)), ";base64"))
            return bad_value(d, param, "invalid_image_url",
                             "expected a base64 data URL (data:<mime>;base64,<data>).");
        p->mime = ag_str_make(url.p + 5, (size_t)semi - 5);
        p->data = ag_str_make(url.p + comma + 1, url.len - (size_t)comma - 1);
        return 0;
    }
    if (ag_str_has_prefix_ci(url, "https://") || ag_str_has_prefix_ci(url, "http://")) {
        p->url = url;
        p->mime = guess_mime(url, "image/jpeg");
        return 0;
    }
    /* Local paths are never read: a client must not make the gateway open its files. */
    return bad_value(d, param, "invalid_image_url", "expected an http(s) URL or a data URL.");
}

int ag_openai_media_url(struct ag_arena *arena, struct ag_proto_error *err, struct ag_str url,
                        const char *param, struct ag_part *p)
{
    struct dec d = {.a = arena, .err = err};
    return url_part(&d, url, param, p);
}

int ag_openai_tool_args(struct ag_arena *arena, yyjson_val *args, size_t max_depth,
                        struct ag_str *out)
{
    struct ag_str s = AG_STR_NULL;
    if (yyjson_is_str(args)) {
        s = ag_json_str(args);
        /* Parsed later for the upstream: held to the same nesting limit as the body. */
        int rc = ag_json_text_depth_check(arena, s, max_depth);
        if (rc)
            return rc;
    } else if (yyjson_is_obj(args)) {
        s = ag_json_val_text(arena, args);
    }
    *out = s.len ? s : AG_STR("{}");
    return 0;
}

static char *param_at(struct dec *d, size_t mi, const char *field, long sub);

/* Text of a string content or of the text parts of an array content. An error names param, or
 * messages[mi].content when param is NULL (formatted only then). */
static int content_text(struct dec *d, yyjson_val *c, const char *param, size_t mi,
                        struct ag_part *out)
{
    ag_part_set_text(out, AG_STR_NULL, AG_STR_NULL);
    if (!present(c))
        return 0;
    if (yyjson_is_str(c)) {
        ag_part_set_text(out, ag_json_str(c), ag_json_literal(&d->src, c));
        return 0;
    }
    if (!yyjson_is_arr(c))
        return bad_type(d, param ? param : param_at(d, mi, "content", -1), "a string or an array",
                        c);
    struct ag_buf b;
    size_t i, max;
    yyjson_val *it;
    ag_buf_init(
        &b,
        AG_BUF_UNBOUNDED); /* joins texts of the request body, capped by server.max_body_bytes */
    yyjson_arr_foreach(c, i, max, it)
    {
        struct ag_str t = ag_json_get_str(it, "text");
        if (!t.len)
            t = ag_json_get_str(it, "refusal");
        if (!t.len)
            continue;
        if (b.len)
            ag_buf_append_c(&b, "\n");
        ag_buf_append_str(&b, t);
    }
    out->text = ag_arena_str(d->a, ag_buf_str(&b)); /* joined: no literal */
    ag_buf_dispose(&b);
    return 0;
}

static char *param_at(struct dec *d, size_t mi, const char *field, long sub)
{
    if (sub >= 0)
        return ag_arena_printf(d->a, "messages[%zu].%s[%ld]", mi, field, sub);
    return ag_arena_printf(d->a, "messages[%zu].%s", mi, field);
}

/* User content: string, or parts text / image_url / input_audio / file. */
static int user_parts(struct dec *d, yyjson_val *c, size_t mi, struct ag_message *m)
{
    if (yyjson_is_str(c)) {
        m->parts = ag_arena_calloc(d->a, sizeof(struct ag_part));
        if (!m->parts)
            return AG_ETOOBIG;
        m->parts[0].type = AG_PART_TEXT;
        ag_part_set_text(&m->parts[0], ag_json_str(c), ag_json_literal(&d->src, c));
        m->n_parts = 1;
        return 0;
    }
    if (!yyjson_is_arr(c))
        return bad_type(d, param_at(d, mi, "content", -1), "a string or an array", c);
    size_t n = yyjson_arr_size(c), i, max;
    yyjson_val *it;
    m->parts = ag_arena_calloc(d->a, (n ? n : 1) * sizeof(struct ag_part));
    if (!m->parts)
        return AG_ETOOBIG;
    yyjson_arr_foreach(c, i, max, it)
    {
        struct ag_part *p = &m->parts[m->n_parts];
        struct ag_str type = ag_json_get_str(it, "type");
        if (ag_str_eq_c(type, "text") || ag_str_eq_c(type, "input_text")) {
            yyjson_val *tv = yyjson_obj_get(it, "text");
            p->type = AG_PART_TEXT;
            ag_part_set_text(p, ag_json_str(tv), ag_json_literal(&d->src, tv));
        } else if (ag_str_eq_c(type, "image_url")) {
            yyjson_val *iu = yyjson_obj_get(it, "image_url");
            struct ag_str url = yyjson_is_str(iu) ? ag_json_str(iu) : ag_json_get_str(iu, "url");
            char *param = ag_arena_printf(d->a, "messages[%zu].content[%zu].image_url.url", mi, i);
            if (!url.len)
                return bad_value(d, param, "missing_required_parameter",
                                 "an image URL is required.");
            int rc = url_part(d, url, param, p);
            if (rc)
                return rc;
        } else if (ag_str_eq_c(type, "input_audio")) {
            yyjson_val *ia = yyjson_obj_get(it, "input_audio");
            struct ag_str fmt = ag_json_get_str(ia, "format");
            p->type = AG_PART_MEDIA;
            p->data = ag_json_get_str(ia, "data");
            char *mime = ag_arena_printf(d->a, "audio/%.*s", (int)fmt.len, fmt.p);
            p->mime = ag_str_c(mime);
        } else if (ag_str_eq_c(type, "file")) {
            yyjson_val *f = yyjson_obj_get(it, "file");
            struct ag_str fd = ag_json_get_str(f, "file_data");
            char *param = ag_arena_printf(d->a, "messages[%zu].content[%zu].file.file_data", mi, i);
            if (!fd.len)
                return bad_value(d, param, "unsupported_file",
                                 "only inline file_data is supported.");
            int rc = url_part(d, fd, param, p);
            if (rc)
                return rc;
        } else {
            continue; /* unknown part types are dropped */
        }
        m->n_parts++;
    }
    return 0;
}

/* The id of the latest legacy function_call of this name (legacy "function" results have none). */
static struct ag_str legacy_call_id(struct dec *d, struct ag_str name)
{
    for (size_t i = d->req->n_messages; i-- > 0;) {
        const struct ag_message *m = &d->req->messages[i];
        for (size_t j = m->n_parts; j-- > 0;)
            if (m->parts[j].type == AG_PART_TOOL_CALL && ag_str_eq(m->parts[j].name, name))
                return m->parts[j].id;
    }
    return AG_STR_NULL;
}

/* Message mi's tool call number call (-1: its legacy function_call); an error names it
 * ("messages[1].tool_calls[0].function.arguments"), formatted only then. */
static int tool_call_part(struct dec *d, yyjson_val *fn, struct ag_str id, size_t mi, long call,
                          struct ag_part *p)
{
    p->type = AG_PART_TOOL_CALL;
    int rc = ag_toolid_unpack(d->a, id, &p->id, &p->sig);
    if (rc)
        return rc;
    p->name = ag_json_get_str(fn, "name");
    rc = ag_openai_tool_args(d->a, yyjson_obj_get(fn, "arguments"), d->ctx->max_json_depth,
                             &p->args);
    if (rc == AG_EDEPTH) {
        const char *param =
            call >= 0 ? ag_arena_printf(d->a, "messages[%zu].tool_calls[%ld].function.arguments",
                                        mi, call)
                      : ag_arena_printf(d->a, "messages[%zu].function_call.arguments", mi);
        return ag_openai_too_deep(d->a, d->err, param, d->ctx->max_json_depth);
    }
    return rc;
}

static int assistant_parts(struct dec *d, yyjson_val *msg, size_t mi, struct ag_message *m)
{
    yyjson_val *calls = yyjson_obj_get(msg, "tool_calls");
    yyjson_val *fcall = yyjson_obj_get(msg, "function_call");
    size_t n = 2 + (yyjson_is_arr(calls) ? yyjson_arr_size(calls) : 0) + (fcall ? 1 : 0);
    m->parts = ag_arena_calloc(d->a, n * sizeof(struct ag_part));
    if (!m->parts)
        return AG_ETOOBIG;
    struct ag_str reasoning = ag_json_get_str(msg, "reasoning_content");
    if (reasoning.len) {
        m->parts[m->n_parts].type = AG_PART_THINKING;
        m->parts[m->n_parts++].text = reasoning;
    }
    struct ag_part text = {0};
    int rc = content_text(d, yyjson_obj_get(msg, "content"), NULL, mi, &text);
    if (rc)
        return rc;
    if (text.text.len) {
        text.type = AG_PART_TEXT;
        m->parts[m->n_parts++] = text;
    }
    if (present(calls) && !yyjson_is_arr(calls))
        return bad_type(d, param_at(d, mi, "tool_calls", -1), "an array", calls);
    size_t i, max;
    yyjson_val *tc;
    yyjson_arr_foreach(calls, i, max, tc)
    {
        yyjson_val *fn = yyjson_obj_get(tc, "function");
        if (!yyjson_is_obj(fn) || !ag_json_get_str(fn, "name").len)
            return bad_value(d, param_at(d, mi, "tool_calls", (long)i), "invalid_value",
                             "a tool call needs function.name.");
        if ((rc = tool_call_part(d, fn, ag_json_get_str(tc, "id"), mi, (long)i,
                                 &m->parts[m->n_parts++])))
            return rc;
    }
    if (yyjson_is_obj(fcall)) {
        struct ag_str id = ag_toolid_make(d->a, d->ctx->request_id, 1000000 + d->legacy_calls++);
        if ((rc = tool_call_part(d, fcall, id, mi, -1, &m->parts[m->n_parts++])))
            return rc;
    }
    return 0;
}

static int tool_result(struct dec *d, yyjson_val *msg, size_t mi, bool legacy_fn,
                       struct ag_message *m)
{
    struct ag_part *p = ag_arena_calloc(d->a, sizeof(*p));
    if (!p)
        return AG_ETOOBIG;
    m->role = AG_ROLE_USER;
    m->parts = p;
    m->n_parts = 1;
    p->type = AG_PART_TOOL_RESULT;
    struct ag_str name = ag_json_get_str(msg, "name");
    int rc;
    if (legacy_fn) {
        p->name = name;
        p->id = legacy_call_id(d, name);
    } else {
        struct ag_str id = ag_json_get_str(msg, "tool_call_id");
        if (!id.len)
            return bad_value(d, param_at(d, mi, "tool_call_id", -1), "missing_required_parameter",
                             "a tool message needs tool_call_id.");
        if ((rc = ag_toolid_unpack(d->a, id, &p->id, &(struct ag_signature){{0}, {0}})))
            return rc;
        p->name = ag_request_call_name(d->req, p->id);
        if (!p->name.len)
            p->name = name;
        if (!p->name.len)
            return bad_value(d, param_at(d, mi, "tool_call_id", -1), "invalid_tool_call_id",
                             "no earlier assistant tool call has this id.");
    }
    yyjson_val *c = yyjson_obj_get(msg, "content");
    rc = content_text(d, c, NULL, mi, p);
    if (rc)
        return rc;
    /* images returned by a tool travel with its result */
    if (yyjson_is_arr(c)) {
        size_t n = 0, i, max;
        yyjson_val *it;
        p->parts = ag_arena_calloc(d->a, (yyjson_arr_size(c) + 1) * sizeof(struct ag_part));
        if (!p->parts)
            return AG_ETOOBIG;
        yyjson_arr_foreach(c, i, max, it)
        {
            if (!ag_str_eq_c(ag_json_get_str(it, "type"), "image_url"))
                continue;
            yyjson_val *iu = yyjson_obj_get(it, "image_url");
            struct ag_str url = yyjson_is_str(iu) ? ag_json_str(iu) : ag_json_get_str(iu, "url");
            char *param = ag_arena_printf(d->a, "messages[%zu].content[%zu].image_url.url", mi, i);
            if ((rc = url_part(d, url, param, &p->parts[n])))
                return rc;
            n++;
        }
        p->n_parts = n;
    }
    return 0;
}

static int decode_messages(struct dec *d, yyjson_val *msgs)
{
    struct ag_request *req = d->req;
    size_t n = yyjson_arr_size(msgs), i, max;
    yyjson_val *msg;
    req->messages = ag_arena_calloc(d->a, n * sizeof(struct ag_message));
    req->system = ag_arena_calloc(d->a, n * sizeof(struct ag_part));
    if (!req->messages || !req->system)
        return AG_ETOOBIG;
    yyjson_arr_foreach(msgs, i, max, msg)
    {
        int rc = 0;
        if (!yyjson_is_obj(msg))
            return bad_type(d, param_at(d, i, "", -1), "an object", msg);
        yyjson_val *rv = yyjson_obj_get(msg, "role");
        struct ag_str role = ag_json_str(rv);
        struct ag_message *m = &req->messages[req->n_messages];
        if (!rv)
            return bad_value(d, param_at(d, i, "role", -1), "missing_required_parameter",
                             "every message needs a role.");
        if (ag_str_eq_c(role, "system") || ag_str_eq_c(role, "developer")) {
            struct ag_part *p = &req->system[req->n_system];
            rc = content_text(d, yyjson_obj_get(msg, "content"), NULL, i, p);
            if (rc)
                return rc;
            p->type = AG_PART_TEXT;
            if (p->text.len)
                req->n_system++;
            continue;
        } else if (ag_str_eq_c(role, "user")) {
            m->role = AG_ROLE_USER;
            yyjson_val *c = yyjson_obj_get(msg, "content");
            if (!present(c))
                return bad_value(d, param_at(d, i, "content", -1), "missing_required_parameter",
                                 "a user message needs content.");
            rc = user_parts(d, c, i, m);
        } else if (ag_str_eq_c(role, "assistant")) {
            m->role = AG_ROLE_ASSISTANT;
            rc = assistant_parts(d, msg, i, m);
        } else if (ag_str_eq_c(role, "tool") || ag_str_eq_c(role, "function")) {
            rc = tool_result(d, msg, i, ag_str_eq_c(role, "function"), m);
        } else {
            char *param = param_at(d, i, "role", -1);
            ag_proto_error_set(d->err, d->a, 400, AG_PERR_INVALID, param, "invalid_value",
                               "Invalid value for '%s': '%.*s' is not one of 'system', "
                               "'developer', 'user', 'assistant', 'tool'.",
                               param, (int)role.len, role.p ? role.p : "");
            return AG_EINVAL;
        }
        if (rc)
            return rc;
        if (m->n_parts)
            req->n_messages++;
    }
    return 0;
}

static int decode_tools(struct dec *d, yyjson_val *root)
{
    struct ag_request *req = d->req;
    yyjson_val *tools = yyjson_obj_get(root, "tools");
    yyjson_val *fns = yyjson_obj_get(root, "functions");
    if (present(tools) && !yyjson_is_arr(tools))
        return bad_type(d, "tools", "an array", tools);
    if (present(fns) && !yyjson_is_arr(fns))
        return bad_type(d, "functions", "an array", fns);
    size_t n = yyjson_arr_size(tools) + yyjson_arr_size(fns), i, max;
    if (!n)
        return 0;
    req->tools = ag_arena_calloc(d->a, n * sizeof(struct ag_tool));
    if (!req->tools)
        return AG_ETOOBIG;
    yyjson_val *t;
    for (int pass = 0; pass < 2; pass++) {
        yyjson_arr_foreach(pass ? fns : tools, i, max, t)
        {
            yyjson_val *fn = pass ? t : yyjson_obj_get(t, "function");
            if (!pass && !ag_str_eq_c(ag_json_get_str(t, "type"), "function"))
                continue; /* built-in tool types have no Gemini equivalent here */
            struct ag_str name = ag_json_get_str(fn, "name");
            if (!name.len) {
                char *param = ag_arena_printf(d->a, "%s[%zu].%sname", pass ? "functions" : "tools",
                                              i, pass ? "" : "function.");
                return bad_value(d, param, "missing_required_parameter",
                                 "a function needs a name.");
            }
            struct ag_tool *tool = &req->tools[req->n_tools++];
            tool->name = name;
            tool->description = ag_json_get_str(fn, "description");
            yyjson_val *params = yyjson_obj_get(fn, "parameters");
            if (yyjson_is_obj(params))
                tool->schema = ag_json_val_text(d->a, params);
        }
    }
    return 0;
}

static int decode_choice(struct dec *d, yyjson_val *root)
{
    struct ag_request *req = d->req;
    const char *key = "tool_choice";
    yyjson_val *tc = yyjson_obj_get(root, key);
    if (!present(tc)) {
        key = "function_call";
        tc = yyjson_obj_get(root, key);
    }
    if (!present(tc))
        return 0;
    if (yyjson_is_str(tc)) {
        struct ag_str s = ag_json_str(tc);
        if (ag_str_eq_c(s, "auto"))
            req->tool_choice = AG_TOOL_CHOICE_AUTO;
        else if (ag_str_eq_c(s, "none"))
            req->tool_choice = AG_TOOL_CHOICE_NONE;
        else if (ag_str_eq_c(s, "required"))
            req->tool_choice = AG_TOOL_CHOICE_REQUIRED;
        else
            return bad_value(d, key, "invalid_value", "expected 'none', 'auto' or 'required'.");
        return 0;
    }
    if (!yyjson_is_obj(tc))
        return bad_type(d, key, "a string or an object", tc);
    yyjson_val *fn = yyjson_obj_get(tc, "function");
    struct ag_str name = ag_json_get_str(yyjson_is_obj(fn) ? fn : tc, "name");
    if (!name.len)
        return bad_value(d, key, "missing_required_parameter", "a named tool choice needs a name.");
    req->tool_choice = AG_TOOL_CHOICE_NAMED;
    req->tool_choice_name = name;
    return 0;
}

/* "stop": a string or an array of strings, at most AG_MAX_STOP. */
static int decode_stop(struct dec *d, yyjson_val *root)
{
    struct ag_gen *g = &d->req->gen;
    yyjson_val *stop = yyjson_obj_get(root, "stop");
    if (yyjson_is_str(stop)) {
        g->stop[g->n_stop++] = ag_json_str(stop);
    } else if (yyjson_is_arr(stop)) {
        size_t i, max;
        yyjson_val *s;
        yyjson_arr_foreach(stop, i, max, s)
        {
            if (!yyjson_is_str(s))
                return bad_type(d, "stop", "an array of strings", stop);
            if (g->n_stop == AG_MAX_STOP)
                return bad_value(d, "stop", "array_above_max_length", "too many stop sequences.");
            g->stop[g->n_stop++] = ag_json_str(s);
        }
    } else if (present(stop)) {
        return bad_type(d, "stop", "a string or an array", stop);
    }
    return 0;
}

/* "response_format": text, json_object, or json_schema with its schema. */
static int decode_format(struct dec *d, yyjson_val *root)
{
    struct ag_gen *g = &d->req->gen;
    yyjson_val *rf = yyjson_obj_get(root, "response_format");
    if (!present(rf))
        return 0;
    if (!yyjson_is_obj(rf))
        return bad_type(d, "response_format", "an object", rf);
    struct ag_str t = ag_json_get_str(rf, "type");
    if (ag_str_eq_c(t, "json_object")) {
        g->format = AG_FORMAT_JSON_OBJECT;
    } else if (ag_str_eq_c(t, "json_schema")) {
        yyjson_val *js = yyjson_obj_get(rf, "json_schema");
        yyjson_val *schema = yyjson_obj_get(js, "schema");
        if (!yyjson_is_obj(schema))
            return bad_value(d, "response_format.json_schema.schema", "missing_required_parameter",
                             "a JSON schema object is required.");
        g->format = AG_FORMAT_JSON_SCHEMA;
        g->schema = ag_json_val_text(d->a, schema);
        g->schema_name = ag_json_get_str(js, "name");
    } else if (!ag_str_eq_c(t, "text")) {
        return bad_value(d, "response_format.type", "invalid_value",
                         "expected 'text', 'json_object' or 'json_schema'.");
    }
    return 0;
}

/* reasoning: OpenAI's reasoning_effort, or the Anthropic-style thinking object some clients send
 * to OpenAI-compatible gateways. */
static int decode_reasoning(struct dec *d, yyjson_val *root)
{
    struct ag_request *req = d->req;
    static const struct {
        const char *name;
        enum ag_effort e;
    } efforts[] = {{"none", AG_EFFORT_NONE}, {"minimal", AG_EFFORT_MINIMAL},
                   {"low", AG_EFFORT_LOW},   {"medium", AG_EFFORT_MEDIUM},
                   {"high", AG_EFFORT_HIGH}, {"xhigh", AG_EFFORT_MAX}};
    yyjson_val *re = yyjson_obj_get(root, "reasoning_effort");
    if (present(re)) {
        struct ag_str s = ag_json_str(re);
        size_t i;
        for (i = 0; i < sizeof(efforts) / sizeof(efforts[0]); i++)
            if (ag_str_eq_c(s, efforts[i].name))
                break;
        if (i == sizeof(efforts) / sizeof(efforts[0]))
            return bad_value(d, "reasoning_effort", "invalid_value",
                             "expected 'none', 'minimal', 'low', 'medium', 'high' or 'xhigh'.");
        req->thinking.effort = efforts[i].e;
        req->thinking.mode = efforts[i].e == AG_EFFORT_NONE ? AG_OFF : AG_ON;
    }
    yyjson_val *th = yyjson_obj_get(root, "thinking");
    if (yyjson_is_obj(th)) {
        struct ag_str t = ag_json_get_str(th, "type");
        yyjson_val *b = yyjson_obj_get(th, "budget_tokens");
        if (!b)
            b = yyjson_obj_get(th, "budgetTokens");
        if (ag_str_eq_c(t, "disabled"))
            req->thinking.mode = AG_OFF;
        else if (ag_str_eq_c(t, "enabled") || ag_str_eq_c(t, "adaptive"))
            req->thinking.mode = AG_ON;
        if (yyjson_is_int(b) && yyjson_get_sint(b) >= 0)
            req->thinking.budget = yyjson_get_sint(b);
    }
    return 0;
}

static int decode_params(struct dec *d, yyjson_val *root)
{
    struct ag_request *req = d->req;
    struct ag_gen *g = &req->gen;
    int rc;
    int64_t mct = -1;
    if ((rc = get_num(d, root, "temperature", &g->has_temperature, &g->temperature)) ||
        (rc = get_num(d, root, "top_p", &g->has_top_p, &g->top_p)) ||
        (rc = get_num(d, root, "presence_penalty", &g->has_presence, &g->presence_penalty)) ||
        (rc = get_num(d, root, "frequency_penalty", &g->has_frequency, &g->frequency_penalty)) ||
        (rc = get_int(d, root, "max_tokens", &g->max_tokens)) ||
        (rc = get_int(d, root, "max_completion_tokens", &mct)) ||
        (rc = get_int(d, root, "n", &g->n)))
        return rc;
    if (mct >= 0)
        g->max_tokens = mct; /* the newer name wins */
    yyjson_val *seed = yyjson_obj_get(root, "seed");
    if (present(seed)) {
        if (!yyjson_is_int(seed))
            return bad_type(d, "seed", "an integer", seed);
        g->has_seed = true;
        g->seed = yyjson_get_sint(seed);
    }
    if ((rc = decode_stop(d, root)) || (rc = decode_format(d, root)))
        return rc;
    yyjson_val *so = yyjson_obj_get(root, "stream_options");
    req->include_usage = yyjson_get_bool(yyjson_obj_get(so, "include_usage"));
    yyjson_val *ptc = yyjson_obj_get(root, "parallel_tool_calls");
    if (yyjson_is_bool(ptc))
        req->parallel_tools = yyjson_get_bool(ptc) ? AG_ON : AG_OFF;
    req->user = ag_json_get_str(root, "user");
    return decode_reasoning(d, root);
}

/* The legacy completions' "prompt" (a string, or strings joined by newlines) as one message. */
static int decode_prompt(struct dec *d, yyjson_val *root)
{
    struct ag_request *req = d->req;
    yyjson_val *prompt = yyjson_obj_get(root, "prompt");
    struct ag_part text = {0};
    int rc;
    if (!present(prompt)) {
        ag_proto_error_set(d->err, d->a, 400, AG_PERR_INVALID, "prompt",
                           "missing_required_parameter", "Missing required parameter: 'prompt'.");
        return AG_EINVAL;
    }
    if (yyjson_is_arr(prompt)) {
        size_t i, max;
        yyjson_val *s;
        yyjson_arr_foreach(prompt, i, max, s) if (!yyjson_is_str(s)) return bad_type(
            d, "prompt", "a string or an array of strings", prompt);
    }
    if ((rc = content_text(d, prompt, "prompt", 0, &text)))
        return rc;
    /* content_text joins text parts; a string array has none, so join it here */
    if (yyjson_is_arr(prompt)) {
        struct ag_buf b;
        size_t i, max;
        yyjson_val *s;
        ag_buf_init(&b, AG_BUF_UNBOUNDED); /* joins texts of the request body, capped by
                                              server.max_body_bytes */
        yyjson_arr_foreach(prompt, i, max, s)
        {
            if (i)
                ag_buf_append_c(&b, "\n");
            ag_buf_append_str(&b, ag_json_str(s));
        }
        ag_part_set_text(&text, ag_arena_str(d->a, ag_buf_str(&b)), AG_STR_NULL);
        ag_buf_dispose(&b);
    }
    req->messages = ag_arena_calloc(d->a, sizeof(struct ag_message));
    struct ag_part *p = ag_arena_calloc(d->a, sizeof(struct ag_part));
    if (!req->messages || !p)
        return AG_ETOOBIG;
    *p = text;
    p->type = AG_PART_TEXT;
    req->messages[0].parts = p;
    req->messages[0].n_parts = 1;
    req->n_messages = 1;
    return 0;
}

/* Chat completions' "messages": a non-empty array with at least one user or assistant message. */
static int decode_chat(struct dec *d, yyjson_val *root)
{
    int rc;
    yyjson_val *msgs = yyjson_obj_get(root, "messages");
    if (!present(msgs)) {
        ag_proto_error_set(d->err, d->a, 400, AG_PERR_INVALID, "messages",
                           "missing_required_parameter", "Missing required parameter: 'messages'.");
        return AG_EINVAL;
    }
    if (!yyjson_is_arr(msgs))
        return bad_type(d, "messages", "an array", msgs);
    if (yyjson_arr_size(msgs) == 0)
        return bad_value(d, "messages", "empty_array",
                         "empty array. Expected an array with minimum length 1, but got an "
                         "empty array instead.");
    if ((rc = decode_messages(d, msgs)))
        return rc;
    if (!d->req->n_messages)
        return bad_value(d, "messages", "invalid_value",
                         "at least one user or assistant message is required.");
    return 0;
}

int ag_openai_decode(const struct ag_proto_ctx *ctx, struct ag_str body, bool legacy,
                     struct ag_request **out, struct ag_proto_error *err)
{
    struct dec d = {.ctx = ctx, .a = ctx->arena, .err = err};
    yyjson_val *root;
    int rc = ag_openai_read_object_src(d.a, body, ctx->max_json_depth, err, &root, &d.src);
    if (rc)
        return rc;
    struct ag_request *req = ag_arena_alloc(d.a, sizeof(*req));
    if (!req)
        return AG_ETOOBIG;
    ag_request_init(req);
    d.req = req;

    yyjson_val *model = yyjson_obj_get(root, "model");
    if (!present(model)) {
        ag_proto_error_set(err, d.a, 400, AG_PERR_INVALID, "model", "missing_required_parameter",
                           "you must provide a model parameter");
        return AG_EINVAL;
    }
    if (!yyjson_is_str(model))
        return bad_type(&d, "model", "a string", model);
    req->model = ag_json_str(model);
    yyjson_val *stream = yyjson_obj_get(root, "stream");
    if (present(stream) && !yyjson_is_bool(stream))
        return bad_type(&d, "stream", "a boolean", stream);
    req->stream = yyjson_get_bool(stream);

    if ((rc = legacy ? decode_prompt(&d, root) : decode_chat(&d, root)))
        return rc;
    if ((rc = decode_tools(&d, root)) || (rc = decode_choice(&d, root)) ||
        (rc = decode_params(&d, root)))
        return rc;
    if ((rc = ag_request_fingerprint(d.a, req)))
        return rc;
    *out = req;
    return 0;
}
