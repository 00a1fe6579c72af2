/* tests/mock/answer.c: the mock's deterministic answer to a chat request, whatever its wire
 * format. The answer echoes the last user turn ("echo: <text>"); if the request declares tools and
 * that text says "call <toolname>", it is a call of that tool with {"request": <text>}; each
 * "call <toolname> with <json object>" in it is instead a call with that object as its arguments,
 * all in one turn (parallel calls, at most MOCK_MAX_CALLS; see mock.h); if thinking
 * was requested, a thought ("Thinking about: <text>") with a signature derived from the text comes
 * first. Token counts derive from the sizes: input bytes / 4, output bytes / 4 (at least 1). */
#include <stdio.h>
#include <stdlib.h>

#include "core/json_depth.h"
#include "core/jsonw.h"
#include "mock.h"

#define MAX_TEXT  (64 * 1024)
#define MAX_TOOLS 64

struct ask {
    struct ag_buf text;
    const char *tools[MAX_TOOLS];
    size_t ntools;
    bool thinking;
};

static void add_text(struct ag_buf *b, const char *s, size_t n)
{
    if (b->len)
        ag_buf_append(b, "\n", 1);
    ag_buf_append(b, s, n);
}

static void add_json_text(struct ag_buf *b, yyjson_val *v)
{
    size_t len;
    char *json = yyjson_val_write(v, 0, &len);
    if (json)
        add_text(b, json, len);
    free(json);
}

static void add_tool(struct ask *k, yyjson_val *name)
{
    if (yyjson_is_str(name) && k->ntools < MAX_TOOLS)
        k->tools[k->ntools++] = yyjson_get_str(name);
}

/* ---- Gemini (public API and Cloud Code's inner request) ---- */

static void read_gemini(struct ask *k, yyjson_val *req)
{
    yyjson_val *contents = yyjson_obj_get(req, "contents"), *last = NULL, *c, *t, *gc;
    size_t i, n, j, m;

    yyjson_arr_foreach(contents, i, n, c)
    {
        const char *role = yyjson_get_str(yyjson_obj_get(c, "role"));
        if (!role || strcmp(role, "user") == 0)
            last = c;
    }
    if (last) {
        yyjson_val *parts = yyjson_obj_get(last, "parts"), *p;
        yyjson_arr_foreach(parts, j, m, p)
        {
            yyjson_val *tx = yyjson_obj_get(p, "text");
            if (yyjson_is_str(tx))
                add_text(&k->text, yyjson_get_str(tx), yyjson_get_len(tx));
            else if (yyjson_obj_get(p, "functionResponse"))
                add_json_text(&k->text,
                              yyjson_obj_get(yyjson_obj_get(p, "functionResponse"), "response"));
        }
    }
    yyjson_arr_foreach(yyjson_obj_get(req, "tools"), i, n, t)
    {
        yyjson_val *decls = yyjson_obj_get(t, "functionDeclarations"), *d;
        if (!decls)
            decls = yyjson_obj_get(t, "function_declarations");
        yyjson_arr_foreach(decls, j, m, d)
        {
            add_tool(k, yyjson_obj_get(d, "name"));
        }
    }
    gc = yyjson_obj_get(yyjson_obj_get(req, "generationConfig"), "thinkingConfig");
    if (gc) {
        yyjson_val *inc = yyjson_obj_get(gc, "includeThoughts"), *b;
        b = yyjson_obj_get(gc, "thinkingBudget");
        k->thinking = yyjson_get_bool(inc) || (yyjson_is_num(b) && yyjson_get_num(b) > 0);
    }
}

/* ---- OpenAI chat completions ---- */

static void add_content(struct ag_buf *b, yyjson_val *content)
{
    yyjson_val *p;
    size_t i, n;

    if (yyjson_is_str(content)) {
        add_text(b, yyjson_get_str(content), yyjson_get_len(content));
        return;
    }
    yyjson_arr_foreach(content, i, n, p)
    {
        yyjson_val *tx = yyjson_obj_get(p, "text");
        const char *type = yyjson_get_str(yyjson_obj_get(p, "type"));
        if (yyjson_is_str(tx))
            add_text(b, yyjson_get_str(tx), yyjson_get_len(tx));
        else if (type && strcmp(type, "tool_result") == 0)
            add_content(b, yyjson_obj_get(p, "content"));
    }
}

static void read_openai(struct ask *k, yyjson_val *req)
{
    yyjson_val *msgs = yyjson_obj_get(req, "messages"), *m, *last = NULL, *t;
    size_t i, n;

    yyjson_arr_foreach(msgs, i, n, m)
    {
        const char *role = yyjson_get_str(yyjson_obj_get(m, "role"));
        if (role && (strcmp(role, "user") == 0 || strcmp(role, "tool") == 0))
            last = m;
    }
    if (last)
        add_content(&k->text, yyjson_obj_get(last, "content"));
    yyjson_arr_foreach(yyjson_obj_get(req, "tools"), i, n, t)
    {
        add_tool(k, yyjson_obj_get(yyjson_obj_get(t, "function"), "name"));
    }
    k->thinking = yyjson_is_str(yyjson_obj_get(req, "reasoning_effort"));
}

/* ---- Anthropic messages ---- */

static void read_anthropic(struct ask *k, yyjson_val *req)
{
    yyjson_val *msgs = yyjson_obj_get(req, "messages"), *m, *last = NULL, *t, *th;
    size_t i, n;

    yyjson_arr_foreach(msgs, i, n, m)
    {
        const char *role = yyjson_get_str(yyjson_obj_get(m, "role"));
        if (role && strcmp(role, "user") == 0)
            last = m;
    }
    if (last)
        add_content(&k->text, yyjson_obj_get(last, "content"));
    yyjson_arr_foreach(yyjson_obj_get(req, "tools"), i, n, t)
    {
        add_tool(k, yyjson_obj_get(t, "name"));
    }
    th = yyjson_obj_get(req, "thinking");
    {
        const char *type = yyjson_get_str(yyjson_obj_get(th, "type"));
        k->thinking = type && (strcmp(type, "enabled") == 0 || strcmp(type, "adaptive") == 0);
    }
}

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

/* Whether "call <name>" (name not followed by more of an identifier) starts at text[i]. */
static bool call_at(struct ag_str text, size_t i, const char *name)
{
    size_t n = strlen(name);
    if (i + 5 + n > text.len || memcmp(text.p + i, "call ", 5) != 0 ||
        memcmp(text.p + i + 5, name, n) != 0)
        return false;
    char after = i + 5 + n < text.len ? text.p[i + 5 + n] : ' ';
    bool ident = (after >= 'a' && after <= 'z') || (after >= 'A' && after <= 'Z') ||
                 (after >= '0' && after <= '9') || after == '_' || after == '-';
    return !ident;
}

static bool mentions_call(struct ag_str text, const char *name)
{
    for (size_t i = 0; i < text.len; i++)
        if (call_at(text, i, name))
            return true;
    return false;
}

/* The JSON object at text[i] ("call <name> with " already skipped) written compactly into out;
 * the bytes it took, 0 when it is not an object or nests too deep. */
static size_t read_args(struct ag_str text, size_t i, struct ag_buf *out)
{
    yyjson_read_err err;
    yyjson_doc *doc = yyjson_read_opts((char *)(uintptr_t)(text.p + i), text.len - i,
                                       YYJSON_READ_STOP_WHEN_DONE, NULL, &err);
    size_t used = 0, len;
    if (doc && yyjson_is_obj(yyjson_doc_get_root(doc)) &&
        ag_json_depth_check(yyjson_doc_get_root(doc), AG_JSON_DEPTH_INTERNAL) == 0) {
        char *json = yyjson_val_write(yyjson_doc_get_root(doc), 0, &len);
        if (json && ag_buf_append(out, json, len) == 0)
            used = yyjson_doc_get_read_size(doc);
        free(json);
    }
    yyjson_doc_free(doc);
    return used;
}

/* Each "call <tool> with <json object>" of text, in order: the first becomes the answer's call,
 * the rest its more[]. Returns how many there were. */
static size_t calls_with_args(struct mock_answer *a, const struct ask *k, struct ag_str text,
                              uint64_t h)
{
    size_t found = 0;
    for (size_t i = 0; i < text.len && found < MOCK_MAX_CALLS; i++) {
        for (size_t t = 0; t < k->ntools; t++) {
            size_t n = strlen(k->tools[t]), at = i + 5 + n;
            if (!call_at(text, i, k->tools[t]) || at + 6 > text.len ||
                memcmp(text.p + at, " with ", 6) != 0)
                continue;
            char *name = found ? a->more[found - 1].name : a->call_name;
            char *id = found ? a->more[found - 1].id : a->call_id;
            struct ag_buf *args = found ? &a->more[found - 1].args : &a->call_args;
            if (found)
                ag_buf_init(args, 0);
            size_t used = read_args(text, at + 6, args);
            if (!used) {
                if (found)
                    ag_buf_dispose(args);
                break;
            }
            ag_strlcpy(name, k->tools[t], sizeof(a->call_name));
            snprintf(id, sizeof(a->call_id), "call_%016llx_%zu", (unsigned long long)h, found);
            if (found)
                a->nmore++;
            found++;
            i = at + 6 + used - 1;
            break;
        }
    }
    return found;
}

void mock_signature(struct ag_str text, char *out, size_t cap)
{
    uint64_t h = fnv(text.p ? text.p : "", text.len);
    /* Long enough to pass signature-length checks (>= 50), stable for a given text. */
    snprintf(out, cap, "mocksig_%016llx%016llx%016llx%016llx", (unsigned long long)h,
             (unsigned long long)(h * 31u), (unsigned long long)(h ^ 0x5bd1e995u),
             (unsigned long long)(h + 7u));
}

void mock_answer_build(struct mock_answer *a, enum mock_format fmt, yyjson_val *root,
                       struct ag_str model, size_t input_bytes)
{
    struct ask k = {0};
    struct ag_str text;
    uint64_t h;

    memset(a, 0, sizeof(*a));
    ag_buf_init(&a->text, 0);
    ag_buf_init(&a->thought, 0);
    ag_buf_init(&a->call_args, 0);
    ag_buf_init(&k.text, MAX_TEXT);
    switch (fmt) {
    case FMT_GEMINI:
        read_gemini(&k, root);
        break;
    case FMT_CLOUDCODE:
        read_gemini(&k, yyjson_obj_get(root, "request"));
        break;
    case FMT_OPENAI:
        read_openai(&k, root);
        break;
    case FMT_ANTHROPIC:
        read_anthropic(&k, root);
        break;
    }
    text = ag_buf_str(&k.text);
    if (!text.p)
        text = AG_STR("");
    snprintf(a->model, sizeof(a->model), "%.*s", (int)model.len, model.p ? model.p : "");
    ag_buf_append_c(&a->text, "echo: ");
    ag_buf_append_str(&a->text, text);
    h = fnv(text.p, text.len);
    if (k.thinking) {
        ag_buf_append_c(&a->thought, MOCK_THOUGHT_PREFIX);
        ag_buf_append_str(&a->thought, text);
        mock_signature(text, a->signature, sizeof(a->signature));
    }
    size_t with_args = calls_with_args(a, &k, text, h);
    for (size_t i = 0; !with_args && i < k.ntools; i++) {
        if (mentions_call(text, k.tools[i])) {
            ag_strlcpy(a->call_name, k.tools[i], sizeof(a->call_name));
            ag_buf_append_c(&a->call_args, "{\"request\":");
            ag_jsonw_quote(&a->call_args, text.p, text.len);
            ag_buf_append_c(&a->call_args, "}");
            snprintf(a->call_id, sizeof(a->call_id), "call_%016llx", (unsigned long long)h);
            break;
        }
    }
    a->input_tokens = (int64_t)(input_bytes / 4) + 1;
    a->output_tokens = (int64_t)((a->call_name[0] ? a->call_args.len : a->text.len) / 4) + 1;
    a->thought_tokens = a->thought.len ? (int64_t)(a->thought.len / 4) + 1 : 0;
    ag_buf_dispose(&k.text);
}

void mock_answer_dispose(struct mock_answer *a)
{
    ag_buf_dispose(&a->text);
    ag_buf_dispose(&a->thought);
    ag_buf_dispose(&a->call_args);
    for (size_t i = 0; i < a->nmore; i++)
        ag_buf_dispose(&a->more[i].args);
}

size_t mock_answer_chunks(const struct mock_answer *a, const struct mock_settings *s,
                          struct ag_str *out, size_t max)
{
    const char *p = a->text.data;
    size_t len = a->text.len, n = 0, pos = 0;
    size_t want = s->sse_events > 0 ? (size_t)s->sse_events : 0;
    size_t size =
        want ? (len + want - 1) / want : (size_t)(s->sse_chunk_bytes > 0 ? s->sse_chunk_bytes : 16);

    if (size == 0)
        size = 1;
    while (pos < len && n < max) {
        size_t end = pos + size < len ? pos + size : len;
        /* never cut a UTF-8 sequence */
        while (end < len && ((unsigned char)p[end] & 0xC0) == 0x80)
            end++;
        out[n++] = ag_str_make(p + pos, end - pos);
        pos = end;
    }
    /* Asked for more events than the text has bytes: the rest are empty deltas. */
    while (n < want && n < max)
        out[n++] = ag_str_make(p + len, 0);
    return n;
}
