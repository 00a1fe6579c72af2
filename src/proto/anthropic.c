/* proto/anthropic.c: the Anthropic Messages client adapter's request side: a /v1/messages (or
 * /v1/messages/count_tokens) body -> canonical request. Only known fields are read; everything
 * else (context_management, output_config beyond its effort, container, mcp_servers, beta-only
 * fields, cache_control on any block) is dropped, never forwarded. Errors name the offending field
 * the way Anthropic does ("messages.2.content.0.type: …"). Thinking signatures are kept byte-exact
 * and stamped with the family of the model that issued them (see family_of_message). */
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "proto/anthropic.h"
#include "proto/json.h"
#include "proto/toolid.h"

struct dec {
    const struct ag_proto_ctx *ctx;
    struct ag_arena *a;
    struct ag_proto_error *err;
    struct ag_anthropic_request *ar;
    struct ag_request *req;
    struct ag_str family;   /* of the model the client names: the default issuer of signatures */
    struct ag_json_src src; /* where the body's strings came from (their literals) */
};

/* p's text is the string value v, with the literal the client wrote it as. */
static void set_text(struct dec *d, struct ag_part *p, yyjson_val *v)
{
    ag_part_set_text(p, ag_json_str(v), ag_json_literal(&d->src, v));
}

/* "<param>: <message>", the shape of Anthropic's validation messages. */
static int invalid(struct dec *d, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int invalid(struct dec *d, const char *param, const char *fmt, ...)
{
    char tmp[768];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        tmp[0] = '\0';
    if (param)
        ag_proto_error_set(d->err, d->a, 400, AG_PERR_INVALID, param, NULL, "%s: %s", param, tmp);
    else
        ag_proto_error_set(d->err, d->a, 400, AG_PERR_INVALID, NULL, NULL, "%s", tmp);
    return AG_EINVAL;
}

static bool present(yyjson_val *v)
{
    return ag_json_present(v);
}

static const char *path(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *path(struct dec *d, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        tmp[0] = '\0';
    char *s = ag_arena_strndup(d->a, tmp, strlen(tmp));
    return s ? s : "request";
}

/* An integer within what a request may carry (AG_JSON_INT_MAX; larger ones such as 1e30 are not
 * valid integers here). */
static bool is_integral(yyjson_val *v)
{
    int64_t x;
    return ag_json_int(v, AG_JSON_INT_MAX, &x) == 0;
}

static int64_t int_of(yyjson_val *v)
{
    int64_t x = 0;
    ag_json_int(v, AG_JSON_INT_MAX, &x);
    return x;
}

static struct ag_part *new_parts(struct dec *d, size_t n)
{
    return ag_arena_calloc(d->a, (n ? n : 1) * sizeof(struct ag_part));
}

/* ---- media ---- */

/* The image type a URL probably has, from its extension; nothing is fetched here. */
static struct ag_str url_mime(struct ag_str url, const char *fallback)
{
    static const char *const map[][2] = {{".png", "image/png"},   {".jpg", "image/jpeg"},
                                         {".jpeg", "image/jpeg"}, {".gif", "image/gif"},
                                         {".webp", "image/webp"}, {".pdf", "application/pdf"}};
    ptrdiff_t q = ag_str_find(url, '?');
    if (q >= 0)
        url.len = (size_t)q;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (ag_str_has_suffix(url, map[i][0]))
            return ag_str_c(map[i][1]);
    return ag_str_c(fallback);
}

/* image / document source -> MEDIA (or TEXT for plain-text documents). */
static int source_part(struct dec *d, yyjson_val *blk, const char *at, bool document,
                       struct ag_part *p)
{
    yyjson_val *src = yyjson_obj_get(blk, "source");
    if (!yyjson_is_obj(src))
        return invalid(d, path(d, "%s.source", at), "Field required");
    struct ag_str type = ag_json_get_str(src, "type");
    p->type = AG_PART_MEDIA;
    if (ag_str_eq_c(type, "base64")) {
        p->mime = ag_json_get_str(src, "media_type");
        p->data = ag_json_get_str(src, "data");
        if (!p->mime.len && document)
            p->mime = AG_STR("application/pdf");
        if (!p->mime.len)
            return invalid(d, path(d, "%s.source.media_type", at), "Field required");
        if (!p->data.len)
            return invalid(d, path(d, "%s.source.data", at), "Field required");
        return 0;
    }
    if (ag_str_eq_c(type, "url")) {
        p->url = ag_json_get_str(src, "url");
        if (!ag_str_has_prefix_ci(p->url, "https://") && !ag_str_has_prefix_ci(p->url, "http://"))
            /* local paths and other schemes are never opened on the client's behalf */
            return invalid(d, path(d, "%s.source.url", at), "expected an http(s) URL");
        p->mime = url_mime(p->url, document ? "application/pdf" : "image/jpeg");
        return 0;
    }
    if (document && ag_str_eq_c(type, "text")) {
        p->type = AG_PART_TEXT;
        p->text = ag_json_get_str(src, "data");
        return 0;
    }
    if (document && ag_str_eq_c(type, "content")) {
        /* a document made of content blocks: its text blocks, joined */
        yyjson_val *c = yyjson_obj_get(src, "content");
        p->type = AG_PART_TEXT;
        if (yyjson_is_str(c)) {
            p->text = ag_json_str(c);
            return 0;
        }
        struct ag_buf b;
        size_t i, max;
        yyjson_val *it;
        ag_buf_init(&b, AG_BUF_UNBOUNDED); /* joins texts of the request body, capped by
                                              server.max_body_bytes */
        yyjson_arr_foreach(c, i, max, it)
        {
            struct ag_str t = ag_json_get_str(it, "text");
            if (t.len && b.len)
                ag_buf_append_c(&b, "\n");
            ag_buf_append_str(&b, t);
        }
        p->text = ag_arena_str(d->a, ag_buf_str(&b));
        ag_buf_dispose(&b);
        return 0;
    }
    return invalid(d, path(d, "%s.source.type", at),
                   "'%.*s' sources are not supported here; use 'base64'%s or 'url'", (int)type.len,
                   type.p ? type.p : "", document ? ", 'text', 'content'" : "");
}

/* ---- tool results ---- */

static int tool_result(struct dec *d, yyjson_val *blk, const char *at, struct ag_part *p)
{
    struct ag_signature ignored;
    p->type = AG_PART_TOOL_RESULT;
    struct ag_str id = ag_json_get_str(blk, "tool_use_id");
    if (!id.len)
        return invalid(d, path(d, "%s.tool_use_id", at), "Field required");
    int rc = ag_toolid_unpack(d->a, id, &p->id, &ignored);
    if (rc)
        return rc;
    p->name = ag_request_call_name(d->req, p->id);
    if (!p->name.len)
        return invalid(d, at,
                       "unexpected `tool_use_id` found in `tool_result` blocks: %.*s. Each "
                       "`tool_result` block must have a corresponding `tool_use` block before it.",
                       (int)id.len, id.p);
    p->is_error = yyjson_get_bool(yyjson_obj_get(blk, "is_error"));
    yyjson_val *c = yyjson_obj_get(blk, "content");
    if (!present(c) || yyjson_is_str(c)) {
        set_text(d, p, c);
        return 0;
    }
    if (!yyjson_is_arr(c))
        return invalid(d, path(d, "%s.content", at), "Input should be a valid string or list");
    /* text blocks joined; images and documents travel with the result as media parts */
    struct ag_buf b;
    size_t i, max, n = 0;
    yyjson_val *it;
    p->parts = new_parts(d, yyjson_arr_size(c));
    if (!p->parts)
        return AG_ETOOBIG;
    ag_buf_init(
        &b,
        AG_BUF_UNBOUNDED); /* joins texts of the request body, capped by server.max_body_bytes */
    yyjson_arr_foreach(c, i, max, it)
    {
        struct ag_str type = ag_json_get_str(it, "type");
        if (ag_str_eq_c(type, "text")) {
            if (b.len)
                ag_buf_append_c(&b, "\n");
            ag_buf_append_str(&b, ag_json_get_str(it, "text"));
        } else if (ag_str_eq_c(type, "image") || ag_str_eq_c(type, "document")) {
            rc = source_part(d, it, path(d, "%s.content.%zu", at, i), type.p[0] == 'd',
                             &p->parts[n]);
            if (rc)
                break;
            if (p->parts[n].type == AG_PART_TEXT) {
                if (b.len)
                    ag_buf_append_c(&b, "\n");
                ag_buf_append_str(&b, p->parts[n].text);
                memset(&p->parts[n], 0, sizeof(p->parts[n]));
                continue;
            }
            n++;
        }
    }
    p->n_parts = n;
    p->text = ag_arena_str(d->a, ag_buf_str(&b));
    ag_buf_dispose(&b);
    return rc;
}

/* ---- messages ---- */

/*
 * The family that issued the signatures of one assistant message. A tool_use id that carries a
 * packed signature names its family exactly; otherwise the issuer is taken to be the family of the
 * model the client asks for now (a conversation normally stays with one model; a signature that
 * is then sent to the wrong family is what the relay's signature retry is for).
 */
static struct ag_str family_of_message(struct dec *d, const struct ag_message *m)
{
    for (size_t j = 0; j < m->n_parts; j++)
        if (m->parts[j].type == AG_PART_TOOL_CALL && m->parts[j].sig.family.len)
            return m->parts[j].sig.family;
    return d->family;
}

static bool role_allows(struct dec *d, enum ag_role role, struct ag_str type, const char *at)
{
    bool assistant_only = ag_str_eq_c(type, "tool_use") || ag_str_eq_c(type, "thinking") ||
                          ag_str_eq_c(type, "redacted_thinking");
    if (assistant_only && role == AG_ROLE_USER) {
        invalid(d, at, "`%.*s` blocks are only allowed in assistant messages", (int)type.len,
                type.p);
        return false;
    }
    if (ag_str_eq_c(type, "tool_result") && role == AG_ROLE_ASSISTANT) {
        invalid(d, at, "`tool_result` blocks are only allowed in user messages");
        return false;
    }
    return true;
}

/* Server-side blocks the client echoes from earlier answers: nothing to forward upstream. */
static bool server_block(struct ag_str type)
{
    static const char *const names[] = {"server_tool_use",
                                        "web_search_tool_result",
                                        "web_fetch_tool_result",
                                        "code_execution_tool_result",
                                        "bash_code_execution_tool_result",
                                        "text_editor_code_execution_tool_result",
                                        "mcp_tool_use",
                                        "mcp_tool_result",
                                        "container_upload",
                                        "tool_search_tool_result"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (ag_str_eq_c(type, names[i]))
            return true;
    return false;
}

/* A tool_use block at path at: a tool call with its id (the tool id packs the signature), name and
 * input object. */
static int tool_use(struct dec *d, yyjson_val *blk, const char *at, struct ag_part *p)
{
    int rc;
    struct ag_str id = ag_json_get_str(blk, "id");
    p->type = AG_PART_TOOL_CALL;
    p->name = ag_json_get_str(blk, "name");
    if (!id.len)
        return invalid(d, path(d, "%s.id", at), "Field required");
    if (!p->name.len)
        return invalid(d, path(d, "%s.name", at), "Field required");
    if ((rc = ag_toolid_unpack(d->a, id, &p->id, &p->sig)))
        return rc;
    yyjson_val *input = yyjson_obj_get(blk, "input");
    if (present(input) && !yyjson_is_obj(input))
        return invalid(d, path(d, "%s.input", at), "Input should be a valid dictionary");
    p->args = yyjson_is_obj(input) ? ag_json_val_text(d->a, input) : AG_STR("{}");
    if (!p->args.p)
        return AG_ETOOBIG;
    /* a signature field on the block (other gateways add one) */
    struct ag_str s = ag_json_get_str(blk, "signature");
    if (!p->sig.value.len && s.len)
        p->sig.value = s;
    return 0;
}

static int block(struct dec *d, yyjson_val *blk, size_t mi, size_t bi, struct ag_message *m)
{
    const char *at = path(d, "messages.%zu.content.%zu", mi, bi);
    if (!yyjson_is_obj(blk))
        return invalid(d, at, "Input should be a valid dictionary");
    yyjson_val *tv = yyjson_obj_get(blk, "type");
    struct ag_str type = ag_json_str(tv);
    if (!tv)
        return invalid(d, path(d, "%s.type", at), "Field required");
    if (!role_allows(d, m->role, type, at))
        return AG_EINVAL;
    struct ag_part *p = &m->parts[m->n_parts];
    struct ag_part *prev = m->n_parts ? &m->parts[m->n_parts - 1] : NULL;
    int rc = 0;
    if (ag_str_eq_c(type, "text")) {
        p->type = AG_PART_TEXT;
        set_text(d, p, yyjson_obj_get(blk, "text"));
        if (!p->text.len)
            return 0;
    } else if (ag_str_eq_c(type, "image") || ag_str_eq_c(type, "document")) {
        if ((rc = source_part(d, blk, at, type.p[0] == 'd', p)))
            return rc;
        if (p->type == AG_PART_TEXT && !p->text.len)
            return 0;
    } else if (ag_str_eq_c(type, "tool_use")) {
        if ((rc = tool_use(d, blk, at, p)))
            return rc;
    } else if (ag_str_eq_c(type, "tool_result")) {
        if ((rc = tool_result(d, blk, at, p)))
            return rc;
    } else if (ag_str_eq_c(type, "thinking") || ag_str_eq_c(type, "redacted_thinking")) {
        p->type = AG_PART_THINKING;
        if (type.p[0] == 'r') {
            /* the opaque data is what the issuer needs back: it travels as the signature */
            p->redacted = true;
            p->sig.value = ag_json_get_str(blk, "data");
        } else {
            p->text = ag_json_get_str(blk, "thinking");
            p->sig.value = ag_json_get_str(blk, "signature");
        }
        if (!p->sig.value.len) {
            /* written by a provider that does not sign (or stripped): never replayed as a
             * thought; the upstream encoder drops it */
            d->ar->foreign_history = true;
            if (!p->text.len)
                return 0;
        } else if (!p->redacted && !p->text.len && prev && prev->type == AG_PART_TEXT &&
                   !prev->sig.value.len) {
            /* a signature-only block right after text is how anthropic_out.c hands out a
             * signature the upstream put on a text part: give it back to that part */
            prev->sig.value = p->sig.value;
            return 0;
        }
    } else if (server_block(type)) {
        return 0;
    } else {
        return invalid(d, path(d, "%s.type", at),
                       "Input tag '%.*s' found using 'type' does not match any of the expected "
                       "tags: 'text', 'image', 'document', 'tool_use', 'tool_result', "
                       "'thinking', 'redacted_thinking'",
                       (int)type.len, type.p ? type.p : "");
    }
    m->n_parts++;
    return 0;
}

static int message(struct dec *d, yyjson_val *msg, size_t mi)
{
    struct ag_request *req = d->req;
    const char *at = path(d, "messages.%zu", mi);
    if (!yyjson_is_obj(msg))
        return invalid(d, at, "Input should be a valid dictionary");
    yyjson_val *rv = yyjson_obj_get(msg, "role");
    struct ag_str role = ag_json_str(rv);
    yyjson_val *c = yyjson_obj_get(msg, "content");
    if (!rv)
        return invalid(d, path(d, "%s.role", at), "Field required");
    if (!present(c))
        return invalid(d, path(d, "%s.content", at), "Field required");
    if (!yyjson_is_str(c) && !yyjson_is_arr(c))
        return invalid(d, path(d, "%s.content", at), "Input should be a valid string or list");

    struct ag_message *m = &req->messages[req->n_messages];
    size_t n = yyjson_is_arr(c) ? yyjson_arr_size(c) : 1, i, max;
    if (ag_str_eq_c(role, "user")) {
        m->role = AG_ROLE_USER;
    } else if (ag_str_eq_c(role, "assistant")) {
        m->role = AG_ROLE_ASSISTANT;
    } else if (ag_str_eq_c(role, "system") && yyjson_is_str(c)) {
        /* not Anthropic's API, but some clients put it there: it joins the system prompt */
        struct ag_part *sp = &req->system[req->n_system];
        sp->type = AG_PART_TEXT;
        set_text(d, sp, c);
        if (sp->text.len)
            req->n_system++;
        return 0;
    } else {
        return invalid(d, path(d, "%s.role", at), "Input should be 'user' or 'assistant'");
    }
    m->parts = new_parts(d, n);
    if (!m->parts)
        return AG_ETOOBIG;
    if (yyjson_is_str(c)) {
        m->parts[0].type = AG_PART_TEXT;
        set_text(d, &m->parts[0], c);
        m->n_parts = m->parts[0].text.len ? 1 : 0;
    } else {
        yyjson_val *blk;
        yyjson_arr_foreach(c, i, max, blk)
        {
            int rc = block(d, blk, mi, i, m);
            if (rc)
                return rc;
        }
    }
    if (m->role == AG_ROLE_ASSISTANT) {
        struct ag_str fam = family_of_message(d, m);
        for (size_t j = 0; j < m->n_parts; j++)
            if (m->parts[j].sig.value.len && !m->parts[j].sig.family.len)
                m->parts[j].sig.family = fam;
    }
    if (m->n_parts)
        req->n_messages++;
    return 0;
}

static int decode_system(struct dec *d, yyjson_val *sys)
{
    struct ag_request *req = d->req;
    if (!present(sys))
        return 0;
    if (yyjson_is_str(sys)) {
        req->system[0].type = AG_PART_TEXT;
        set_text(d, &req->system[0], sys);
        req->n_system = req->system[0].text.len ? 1 : 0;
        return 0;
    }
    if (!yyjson_is_arr(sys))
        return invalid(d, "system", "Input should be a valid string or list");
    size_t i, max;
    yyjson_val *b;
    yyjson_arr_foreach(sys, i, max, b)
    {
        struct ag_str type = ag_json_get_str(b, "type");
        if (!ag_str_eq_c(type, "text"))
            return invalid(d, path(d, "system.%zu.type", i), "Input should be 'text'");
        struct ag_part *p = &req->system[req->n_system];
        p->type = AG_PART_TEXT;
        set_text(d, p, yyjson_obj_get(b, "text")); /* cache_control and citations are ignored */
        if (p->text.len)
            req->n_system++;
    }
    return 0;
}

static int decode_tools(struct dec *d, yyjson_val *tools)
{
    struct ag_request *req = d->req;
    if (!present(tools))
        return 0;
    if (!yyjson_is_arr(tools))
        return invalid(d, "tools", "Input should be a valid list");
    req->tools = ag_arena_calloc(d->a, (yyjson_arr_size(tools) + 1) * sizeof(struct ag_tool));
    if (!req->tools)
        return AG_ETOOBIG;
    size_t i, max;
    yyjson_val *t;
    yyjson_arr_foreach(tools, i, max, t)
    {
        if (!yyjson_is_obj(t))
            return invalid(d, path(d, "tools.%zu", i), "Input should be a valid dictionary");
        struct ag_str type = ag_json_get_str(t, "type");
        if (type.len && !ag_str_eq_c(type, "custom")) {
            /* server tools (web_search_*, web_fetch_*, code_execution_*) and Anthropic-defined
             * client tools (bash_*, text_editor_*, computer_*) have no schema to declare */
            if (ag_str_has_prefix(type, "web_search"))
                d->ar->web_search = true;
            d->ar->n_server_tools++;
            continue;
        }
        struct ag_tool *tool = &req->tools[req->n_tools];
        tool->name = ag_json_get_str(t, "name");
        if (!tool->name.len)
            return invalid(d, path(d, "tools.%zu.name", i), "Field required");
        tool->description = ag_json_get_str(t, "description");
        yyjson_val *schema = yyjson_obj_get(t, "input_schema");
        if (present(schema) && !yyjson_is_obj(schema))
            return invalid(d, path(d, "tools.%zu.input_schema", i),
                           "Input should be a valid dictionary");
        if (yyjson_is_obj(schema) && !(tool->schema = ag_json_val_text(d->a, schema)).p)
            return AG_ETOOBIG;
        req->n_tools++;
    }
    return 0;
}

static int decode_choice(struct dec *d, yyjson_val *tc)
{
    struct ag_request *req = d->req;
    if (!present(tc))
        return 0;
    if (!yyjson_is_obj(tc))
        return invalid(d, "tool_choice", "Input should be a valid dictionary");
    struct ag_str type = ag_json_get_str(tc, "type");
    if (ag_str_eq_c(type, "auto")) {
        req->tool_choice = AG_TOOL_CHOICE_AUTO;
    } else if (ag_str_eq_c(type, "any")) {
        req->tool_choice = AG_TOOL_CHOICE_REQUIRED;
    } else if (ag_str_eq_c(type, "none")) {
        req->tool_choice = AG_TOOL_CHOICE_NONE;
    } else if (ag_str_eq_c(type, "tool")) {
        req->tool_choice = AG_TOOL_CHOICE_NAMED;
        req->tool_choice_name = ag_json_get_str(tc, "name");
        if (!req->tool_choice_name.len)
            return invalid(d, "tool_choice.tool.name", "Field required");
    } else {
        return invalid(d, "tool_choice.type",
                       "Input tag '%.*s' found using 'type' does not match any of the expected "
                       "tags: 'auto', 'any', 'tool', 'none'",
                       (int)type.len, type.p ? type.p : "");
    }
    yyjson_val *dp = yyjson_obj_get(tc, "disable_parallel_tool_use");
    if (yyjson_is_bool(dp))
        req->parallel_tools = yyjson_get_bool(dp) ? AG_OFF : AG_ON;
    return 0;
}

static enum ag_effort effort_of(struct ag_str s)
{
    if (ag_str_eq_c(s, "low"))
        return AG_EFFORT_LOW;
    if (ag_str_eq_c(s, "medium"))
        return AG_EFFORT_MEDIUM;
    if (ag_str_eq_c(s, "high"))
        return AG_EFFORT_HIGH;
    if (ag_str_eq_c(s, "max"))
        return AG_EFFORT_MAX;
    return AG_EFFORT_UNSET;
}

/*
 * thinking {enabled + budget_tokens | adaptive | disabled}. The effort of output_config (the only
 * part of output_config read) sets the canonical effort for adaptive thinking. When a budget is
 * given, max_tokens is raised to stay above it, as the upstream needs room for the answer beside
 * the thoughts: max_tokens <= budget becomes min(budget + 8192, 65536), and a budget that still
 * does not fit under that cap is lowered to max_tokens - 8192.
 */
static int decode_thinking(struct dec *d, yyjson_val *root)
{
    struct ag_request *req = d->req;
    yyjson_val *th = yyjson_obj_get(root, "thinking");
    if (present(th)) {
        if (!yyjson_is_obj(th))
            return invalid(d, "thinking", "Input should be a valid dictionary");
        struct ag_str type = ag_json_get_str(th, "type");
        if (ag_str_eq_c(type, "disabled")) {
            req->thinking.mode = AG_OFF;
        } else if (ag_str_eq_c(type, "enabled") || ag_str_eq_c(type, "adaptive")) {
            req->thinking.mode = AG_ON;
            yyjson_val *b = yyjson_obj_get(th, "budget_tokens");
            if (!b)
                b = yyjson_obj_get(th, "budgetTokens");
            if (present(b) && (!is_integral(b) || int_of(b) < 0))
                return invalid(d, "thinking.budget_tokens",
                               "Input should be a non-negative integer");
            if (present(b) && type.p[0] == 'e')
                req->thinking.budget = int_of(b);
        } else {
            return invalid(d, "thinking.type",
                           "Input tag '%.*s' found using 'type' does not match any of the "
                           "expected tags: 'enabled', 'disabled', 'adaptive'",
                           (int)type.len, type.p ? type.p : "");
        }
    }
    struct ag_str effort = ag_json_get_str(yyjson_obj_get(root, "output_config"), "effort");
    if (req->thinking.mode != AG_OFF && effort_of(effort) != AG_EFFORT_UNSET)
        req->thinking.effort = effort_of(effort);

    int64_t budget = req->thinking.budget, *max = &req->gen.max_tokens;
    if (req->thinking.mode == AG_ON && budget > 0 && *max >= 0 && *max <= budget) {
        *max = budget + 8192 < 65536 ? budget + 8192 : 65536;
        if (*max <= budget)
            req->thinking.budget = *max - 8192;
    }
    return 0;
}

static int decode_params(struct dec *d, yyjson_val *root)
{
    struct ag_request *req = d->req;
    struct ag_gen *g = &req->gen;
    static const char *const reals[] = {"temperature", "top_p"};
    for (int k = 0; k < 2; k++) {
        yyjson_val *v = yyjson_obj_get(root, reals[k]);
        if (!present(v))
            continue;
        if (!yyjson_is_num(v))
            return invalid(d, reals[k], "Input should be a valid number");
        if (k == 0) {
            g->has_temperature = true;
            g->temperature = yyjson_get_num(v);
        } else {
            g->has_top_p = true;
            g->top_p = yyjson_get_num(v);
        }
    }
    yyjson_val *tk = yyjson_obj_get(root, "top_k");
    if (present(tk)) {
        if (!is_integral(tk) || int_of(tk) < 0)
            return invalid(d, "top_k", "Input should be a non-negative integer");
        g->top_k = int_of(tk);
    }
    yyjson_val *stop = yyjson_obj_get(root, "stop_sequences");
    if (present(stop)) {
        size_t i, max;
        yyjson_val *s;
        if (!yyjson_is_arr(stop))
            return invalid(d, "stop_sequences", "Input should be a valid list");
        yyjson_arr_foreach(stop, i, max, s)
        {
            if (!yyjson_is_str(s))
                return invalid(d, path(d, "stop_sequences.%zu", i),
                               "Input should be a valid string");
            if (!yyjson_get_len(s))
                continue;
            if (d->ar->n_stop == AG_MAX_STOP)
                return invalid(d, "stop_sequences", "at most %d stop sequences are supported",
                               AG_MAX_STOP);
            d->ar->stop[d->ar->n_stop++] = ag_json_str(s);
        }
    }
    yyjson_val *stream = yyjson_obj_get(root, "stream");
    if (present(stream) && !yyjson_is_bool(stream))
        return invalid(d, "stream", "Input should be a valid boolean");
    req->stream = req->kind == AG_REQ_GENERATE && yyjson_get_bool(stream);
    yyjson_val *md = yyjson_obj_get(root, "metadata");
    if (present(md) && !yyjson_is_obj(md))
        return invalid(d, "metadata", "Input should be a valid dictionary");
    req->user = ag_json_get_str(md, "user_id");
    return decode_thinking(d, root);
}

/* Session key: "uid-" + 16 hex digits of SHA-256 over metadata.user_id (Claude Code puts its
 * session there), else the first-user-message fingerprint every protocol uses. */
static int session_key(struct dec *d)
{
    struct ag_request *req = d->req;
    if (!req->user.len)
        return ag_request_fingerprint(d->a, req);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_Digest(req->user.p, req->user.len, digest, &dlen, EVP_sha256(), NULL) != 1)
        return AG_ENOMEM;
    return ag_request_set_session_key(d->a, req, "uid-", digest);
}

/* The texts route/'s background-task detection looks at (see anthropic.h). */
static int background_texts(struct dec *d)
{
    struct ag_request *req = d->req;
    struct ag_buf b;
    ag_buf_init(
        &b,
        AG_BUF_UNBOUNDED); /* joins texts of the request body, capped by server.max_body_bytes */
    for (size_t i = 0; i < req->n_system; i++) {
        if (b.len)
            ag_buf_append_c(&b, "\n");
        ag_buf_append_str(&b, req->system[i].text);
    }
    d->ar->system_text = ag_arena_str(d->a, ag_buf_str(&b));
    for (size_t i = req->n_messages; i-- > 0;) {
        const struct ag_message *m = &req->messages[i];
        if (m->role != AG_ROLE_USER)
            continue;
        ag_buf_reset(&b);
        for (size_t j = 0; j < m->n_parts; j++) {
            if (m->parts[j].type != AG_PART_TEXT)
                continue;
            if (b.len)
                ag_buf_append_c(&b, " ");
            ag_buf_append_str(&b, m->parts[j].text);
        }
        struct ag_str t = ag_str_trim(ag_buf_str(&b));
        if (!t.len || ag_str_has_prefix(t, "Warmup") || ag_str_contains(t, "<system-reminder>"))
            continue;
        d->ar->user_text = ag_arena_str(d->a, t);
        break;
    }
    ag_buf_dispose(&b);
    return 0;
}

int ag_anthropic_decode(const struct ag_proto_ctx *ctx, struct ag_str body,
                        const struct ag_client_hints *hints, struct ag_request **out,
                        struct ag_proto_error *err)
{
    struct dec d = {.ctx = ctx, .a = ctx->arena, .err = err};
    int rc;
    yyjson_doc *doc = ag_json_read(ctx->arena, body, ctx->max_json_depth, &rc);
    yyjson_val *root = doc ? yyjson_doc_get_root(doc) : NULL;
    ag_json_src_init(&d.src, doc, body);
    if (rc == AG_EDEPTH)
        return invalid(&d, NULL, "Invalid request body: " AG_JSON_DEPTH_MSG ".",
                       ag_json_depth_limit(ctx->max_json_depth));
    if (rc == AG_ETOOBIG) {
        ag_proto_error_set(err, d.a, 413, AG_PERR_TOO_LARGE, NULL, NULL,
                           "Request exceeds the maximum allowed size.");
        return AG_ETOOBIG;
    }
    if (!doc)
        return invalid(&d, NULL, "Invalid request body: the body is not valid JSON.");
    if (!yyjson_is_obj(root))
        return invalid(&d, NULL, "Invalid request body: expected a JSON object.");
    d.ar = ag_arena_calloc(d.a, sizeof(*d.ar));
    if (!d.ar)
        return AG_ETOOBIG;
    struct ag_request *req = d.req = &d.ar->req;
    ag_request_init(req);
    req->kind = hints && hints->count_tokens ? AG_REQ_COUNT_TOKENS : AG_REQ_GENERATE;

    yyjson_val *model = yyjson_obj_get(root, "model");
    if (!present(model))
        return invalid(&d, "model", "Field required");
    if (!yyjson_is_str(model) || !yyjson_get_len(model))
        return invalid(&d, "model", "Input should be a non-empty string");
    req->model = ag_json_str(model);
    d.family = ag_str_c(ag_model_family(req->model));

    yyjson_val *mt = yyjson_obj_get(root, "max_tokens");
    if (!present(mt) && req->kind == AG_REQ_GENERATE)
        return invalid(&d, "max_tokens", "Field required");
    if (present(mt) && !is_integral(mt))
        return invalid(&d, "max_tokens", "Input should be a valid integer");
    if (present(mt) && int_of(mt) < 1 && req->kind == AG_REQ_GENERATE)
        return invalid(&d, "max_tokens", "Input should be greater than or equal to 1");
    if (present(mt) && req->kind == AG_REQ_GENERATE)
        req->gen.max_tokens = int_of(mt);
    d.ar->client_max_tokens = req->gen.max_tokens;

    yyjson_val *msgs = yyjson_obj_get(root, "messages");
    if (!present(msgs))
        return invalid(&d, "messages", "Field required");
    if (!yyjson_is_arr(msgs))
        return invalid(&d, "messages", "Input should be a valid list");
    size_t n = yyjson_arr_size(msgs), i, max;
    yyjson_val *sys = yyjson_obj_get(root, "system");
    size_t nsys = (yyjson_is_arr(sys) ? yyjson_arr_size(sys) : 1) + n;
    req->messages = ag_arena_calloc(d.a, (n ? n : 1) * sizeof(struct ag_message));
    req->system = new_parts(&d, nsys);
    if (!req->messages || !req->system)
        return AG_ETOOBIG;
    if ((rc = decode_system(&d, sys)))
        return rc;
    yyjson_val *msg;
    yyjson_arr_foreach(msgs, i, max, msg)
    {
        if ((rc = message(&d, msg, i)))
            return rc;
    }
    if (!req->n_messages)
        return invalid(&d, "messages", "at least one message with content is required");
    if ((rc = decode_tools(&d, yyjson_obj_get(root, "tools"))) ||
        (rc = decode_choice(&d, yyjson_obj_get(root, "tool_choice"))) ||
        (rc = decode_params(&d, root)) || (rc = session_key(&d)) || (rc = background_texts(&d)))
        return rc;
    *out = req;
    return 0;
}
