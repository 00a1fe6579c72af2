/* proto/gemini_body.c: canonical request -> Gemini GenerateContentRequest (see gemini_body.h). */
#include "proto/gemini_body.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "proto/json.h"
#include "proto/json_schema.h"

struct builder {
    yyjson_mut_doc *d;
    struct ag_arena *arena;
    const struct ag_gemini_body_opts *o;
    const char *family; /* of the target model */
    /* Claude targets need ids on calls and results; Gemini clients may send none. */
    struct ag_str gen_names[64];
    int gen_calls[64], gen_results[64];
    int n_gen;
};

static bool sig_ok(const struct builder *b, const struct ag_signature *s)
{
    return s->value.len && ag_str_eq_c(s->family, b->family);
}

static void add_sig(struct builder *b, yyjson_mut_val *part, struct ag_str sig)
{
    yyjson_mut_obj_add_val(b->d, part, "thoughtSignature", ag_json_mut_str(b->d, sig));
}

/* "call_<name>_<k>": the k-th call (or result) of that name in this request. */
static struct ag_str gen_id(struct builder *b, struct ag_str name, bool result)
{
    int i;
    for (i = 0; i < b->n_gen; i++)
        if (ag_str_eq(b->gen_names[i], name))
            break;
    if (i == b->n_gen) {
        if (b->n_gen == 64)
            return AG_STR_NULL;
        b->gen_names[b->n_gen] = name;
        b->gen_calls[b->n_gen] = b->gen_results[b->n_gen] = 0;
        b->n_gen++;
    }
    int k = result ? b->gen_results[i]++ : b->gen_calls[i]++;
    char *s = ag_arena_printf(b->arena, "call_%.*s_%d", (int)name.len, name.p, k);
    return s ? ag_str_c(s) : AG_STR_NULL;
}

static yyjson_mut_val *media_part(struct builder *b, const struct ag_part *p)
{
    yyjson_mut_val *part = yyjson_mut_obj(b->d), *in = yyjson_mut_obj(b->d);
    ag_json_add_str(b->d, in, "mimeType", p->mime);
    if (p->url.len) {
        ag_json_add_str(b->d, in, "fileUri", p->url);
        yyjson_mut_obj_add_val(b->d, part, "fileData", in);
    } else {
        ag_json_add_str(b->d, in, "data", p->data);
        yyjson_mut_obj_add_val(b->d, part, "inlineData", in);
    }
    return part;
}

/* A part's text as a JSON value: the client's own string literal while it still stands for the
 * text (copied as it is, not unescaped and escaped again: most of a long conversation's bytes),
 * else the text. */
static yyjson_mut_val *text_val(yyjson_mut_doc *d, const struct ag_part *p)
{
    struct ag_str lit = ag_part_literal(p);
    return lit.p ? yyjson_mut_rawn(d, lit.p, lit.len) : ag_json_mut_str(d, p->text);
}

/* Appends the Gemini parts for one canonical part to arr. */
static void add_parts(struct builder *b, yyjson_mut_val *arr, const struct ag_part *p)
{
    yyjson_mut_doc *d = b->d;
    yyjson_mut_val *part;
    switch (p->type) {
    case AG_PART_TEXT:
        if (!p->text.len)
            return;
        part = yyjson_mut_obj(d);
        yyjson_mut_obj_add_val(d, part, "text", text_val(d, p));
        if (sig_ok(b, &p->sig))
            add_sig(b, part, p->sig.value);
        yyjson_mut_arr_append(arr, part);
        return;
    case AG_PART_THINKING:
        /* Unsigned or foreign thinking cannot be replayed to this model: it is dropped rather
         * than sent as a thought it would reject or as text it never wrote. */
        if (!sig_ok(b, &p->sig))
            return;
        part = yyjson_mut_obj(d);
        ag_json_add_str(d, part, "text", p->text);
        yyjson_mut_obj_add_bool(d, part, "thought", true);
        add_sig(b, part, p->sig.value);
        yyjson_mut_arr_append(arr, part);
        return;
    case AG_PART_MEDIA:
        yyjson_mut_arr_append(arr, media_part(b, p));
        return;
    case AG_PART_TOOL_CALL: {
        part = yyjson_mut_obj(d);
        yyjson_mut_val *fc = yyjson_mut_obj(d);
        ag_json_add_str(d, fc, "name", p->name);
        yyjson_mut_val *args = ag_json_parse_into(d, b->arena, p->args);
        if (!yyjson_mut_is_obj(args))
            args = yyjson_mut_obj(d);
        yyjson_mut_obj_add_val(d, fc, "args", args);
        struct ag_str id = p->id;
        if (!id.len && strcmp(b->family, "claude") == 0)
            id = gen_id(b, p->name, false);
        if (id.len)
            ag_json_add_str(d, fc, "id", id);
        yyjson_mut_obj_add_val(d, part, "functionCall", fc);
        if (sig_ok(b, &p->sig))
            add_sig(b, part, p->sig.value);
        else if (strcmp(b->family, "gemini") == 0)
            add_sig(b, part, AG_STR(AG_GEMINI_SKIP_SIGNATURE));
        yyjson_mut_arr_append(arr, part);
        return;
    }
    case AG_PART_TOOL_RESULT: {
        part = yyjson_mut_obj(d);
        yyjson_mut_val *fr = yyjson_mut_obj(d);
        ag_json_add_str(d, fr, "name", p->name);
        yyjson_mut_val *resp = p->json ? ag_json_parse_into(d, b->arena, p->text) : NULL;
        if (!yyjson_mut_is_obj(resp)) {
            resp = yyjson_mut_obj(d);
            yyjson_mut_obj_add_val(d, resp, p->is_error ? "error" : "result", text_val(d, p));
        }
        yyjson_mut_obj_add_val(d, fr, "response", resp);
        struct ag_str id = p->id;
        if (!id.len && strcmp(b->family, "claude") == 0)
            id = gen_id(b, p->name, true);
        if (id.len)
            ag_json_add_str(d, fr, "id", id);
        yyjson_mut_obj_add_val(d, part, "functionResponse", fr);
        yyjson_mut_arr_append(arr, part);
        for (size_t i = 0; i < p->n_parts; i++)
            if (p->parts[i].type == AG_PART_MEDIA)
                yyjson_mut_arr_append(arr, media_part(b, &p->parts[i]));
            else if (p->parts[i].type == AG_PART_TEXT)
                add_parts(b, arr, &p->parts[i]);
        return;
    }
    }
}

static yyjson_mut_val *build_contents(struct builder *b, const struct ag_request *req)
{
    yyjson_mut_doc *d = b->d;
    yyjson_mut_val *contents = yyjson_mut_arr(d);
    yyjson_mut_val *cur_parts = NULL;
    enum ag_role cur_role = AG_ROLE_USER;
    for (size_t i = 0; i < req->n_messages; i++) {
        const struct ag_message *m = &req->messages[i];
        /* Gemini wants alternating turns: consecutive same-role messages share one content. */
        if (!cur_parts || m->role != cur_role || yyjson_mut_arr_size(cur_parts) == 0) {
            if (!cur_parts || m->role != cur_role) {
                yyjson_mut_val *c = yyjson_mut_obj(d);
                yyjson_mut_obj_add_str(d, c, "role", m->role == AG_ROLE_USER ? "user" : "model");
                cur_parts = yyjson_mut_arr(d);
                yyjson_mut_obj_add_val(d, c, "parts", cur_parts);
                yyjson_mut_arr_append(contents, c);
                cur_role = m->role;
            }
        }
        for (size_t j = 0; j < m->n_parts; j++)
            add_parts(b, cur_parts, &m->parts[j]);
    }
    /* Contents left without parts (e.g. only dropped thinking) are removed. */
    yyjson_mut_val *clean = yyjson_mut_arr(d);
    size_t idx, max;
    yyjson_mut_val *c;
    yyjson_mut_arr_foreach(contents, idx, max, c)
    {
        if (yyjson_mut_arr_size(yyjson_mut_obj_get(c, "parts")) == 0)
            continue;
        /* removing an empty content may make two same-role contents adjacent: merge them */
        yyjson_mut_val *prev = yyjson_mut_arr_get_last(clean);
        if (prev &&
            yyjson_mut_equals(yyjson_mut_obj_get(prev, "role"), yyjson_mut_obj_get(c, "role"))) {
            yyjson_mut_val *pp = yyjson_mut_obj_get(prev, "parts");
            yyjson_mut_val *cp = yyjson_mut_obj_get(c, "parts");
            while (yyjson_mut_arr_size(cp))
                yyjson_mut_arr_append(pp, yyjson_mut_arr_remove_first(cp));
            continue;
        }
        yyjson_mut_arr_append(clean, yyjson_mut_val_mut_copy(d, c));
    }
    return clean;
}

int64_t ag_gemini_thinking_budget(const struct ag_request *req, struct ag_str model)
{
    const struct ag_thinking *t = &req->thinking;
    if (t->mode == AG_OFF || t->effort == AG_EFFORT_NONE)
        return -1;
    if (t->mode == AG_UNSET && t->budget < 0 && t->effort == AG_EFFORT_UNSET)
        return -1;
    if (t->budget >= 0)
        return t->budget;
    switch (t->effort) {
    case AG_EFFORT_MINIMAL:
        return 1024;
    case AG_EFFORT_LOW:
        return 8192;
    case AG_EFFORT_MEDIUM:
        return 16384;
    case AG_EFFORT_HIGH:
        return 24576;
    case AG_EFFORT_MAX:
        return 32768;
    default:
        return strcmp(ag_model_family(model), "claude") == 0 ? 16000 : 24576;
    }
}

static void build_gen(struct builder *b, const struct ag_request *req, yyjson_mut_val *gc)
{
    yyjson_mut_doc *d = b->d;
    const struct ag_gen *g = &req->gen;
    if (g->has_temperature)
        yyjson_mut_obj_add_real(d, gc, "temperature", g->temperature);
    if (g->has_top_p)
        yyjson_mut_obj_add_real(d, gc, "topP", g->top_p);
    if (g->top_k >= 0)
        yyjson_mut_obj_add_int(d, gc, "topK", g->top_k);
    int64_t budget = ag_gemini_thinking_budget(req, b->o->model);
    int64_t max = g->max_tokens;
    if (budget > 0 && max >= 0 && max <= budget)
        max = budget + 8192; /* the answer must fit beside the thoughts */
    if (max >= 0)
        yyjson_mut_obj_add_int(d, gc, "maxOutputTokens", max);
    if (g->n > 1)
        yyjson_mut_obj_add_int(d, gc, "candidateCount", g->n);
    if (g->n_stop) {
        yyjson_mut_val *arr = yyjson_mut_arr(d);
        for (size_t i = 0; i < g->n_stop; i++)
            yyjson_mut_arr_append(arr, ag_json_mut_str(d, g->stop[i]));
        yyjson_mut_obj_add_val(d, gc, "stopSequences", arr);
    }
    if (g->has_presence)
        yyjson_mut_obj_add_real(d, gc, "presencePenalty", g->presence_penalty);
    if (g->has_frequency)
        yyjson_mut_obj_add_real(d, gc, "frequencyPenalty", g->frequency_penalty);
    if (g->has_seed)
        yyjson_mut_obj_add_int(d, gc, "seed", g->seed);
    if (g->format != AG_FORMAT_TEXT)
        yyjson_mut_obj_add_str(d, gc, "responseMimeType", "application/json");
    if (g->format == AG_FORMAT_JSON_SCHEMA && g->schema.len) {
        yyjson_mut_val *s = ag_json_schema_clean_text(d, b->arena, g->schema);
        if (s)
            yyjson_mut_obj_add_val(d, gc, "responseSchema", s);
    }
    if (req->image.on && (req->image.aspect_ratio.len || req->image.image_size.len)) {
        yyjson_mut_val *ic = yyjson_mut_obj(d);
        if (req->image.aspect_ratio.len)
            ag_json_add_str(d, ic, "aspectRatio", req->image.aspect_ratio);
        if (req->image.image_size.len)
            ag_json_add_str(d, ic, "imageSize", req->image.image_size);
        yyjson_mut_obj_add_val(d, gc, "imageConfig", ic);
    }
    if (budget >= 0) {
        yyjson_mut_val *tc = yyjson_mut_obj(d);
        yyjson_mut_obj_add_bool(d, tc, "includeThoughts", req->thinking.include != AG_OFF);
        yyjson_mut_obj_add_int(d, tc, "thinkingBudget", budget);
        yyjson_mut_obj_add_val(d, gc, "thinkingConfig", tc);
    } else if (req->thinking.mode == AG_OFF || req->thinking.effort == AG_EFFORT_NONE ||
               req->thinking.include == AG_OFF) {
        /* A budget of 0 is invalid on models that always think; hiding thoughts is safe. */
        yyjson_mut_val *tc = yyjson_mut_obj(d);
        yyjson_mut_obj_add_bool(d, tc, "includeThoughts", false);
        yyjson_mut_obj_add_val(d, gc, "thinkingConfig", tc);
    }
}

static yyjson_mut_val *build_tools(struct builder *b, const struct ag_request *req, int *err,
                                   const char **why)
{
    yyjson_mut_doc *d = b->d;
    yyjson_mut_val *decls = yyjson_mut_arr(d);
    for (size_t i = 0; i < req->n_tools; i++) {
        const struct ag_tool *t = &req->tools[i];
        yyjson_mut_val *fd = yyjson_mut_obj(d);
        ag_json_add_str(d, fd, "name", t->name);
        if (t->description.len)
            ag_json_add_str(d, fd, "description", t->description);
        if (t->schema.len) {
            yyjson_mut_val *s = ag_json_schema_clean_text(d, b->arena, t->schema);
            if (!s) {
                *err = AG_EINVAL;
                *why = "tool parameters are not a JSON schema";
                return NULL;
            }
            yyjson_mut_obj_add_val(d, fd, "parameters", s);
        }
        yyjson_mut_arr_append(decls, fd);
    }
    yyjson_mut_val *tools = yyjson_mut_arr(d);
    yyjson_mut_val *one = yyjson_mut_obj(d);
    yyjson_mut_obj_add_val(d, one, "functionDeclarations", decls);
    yyjson_mut_arr_append(tools, one);
    return tools;
}

static void build_tool_config(struct builder *b, const struct ag_request *req, yyjson_mut_val *body)
{
    yyjson_mut_doc *d = b->d;
    const char *mode;
    switch (req->tool_choice) {
    case AG_TOOL_CHOICE_AUTO:
        mode = "AUTO";
        break;
    case AG_TOOL_CHOICE_NONE:
        mode = "NONE";
        break;
    case AG_TOOL_CHOICE_REQUIRED:
    case AG_TOOL_CHOICE_NAMED:
        mode = "ANY";
        break;
    default:
        mode = b->o->cloudcode ? "VALIDATED" : "AUTO";
    }
    for (int twin = 0; twin < (b->o->cloudcode ? 2 : 1); twin++) {
        yyjson_mut_val *tc = yyjson_mut_obj(d), *fcc = yyjson_mut_obj(d);
        yyjson_mut_obj_add_str(d, fcc, "mode", mode);
        if (req->tool_choice == AG_TOOL_CHOICE_NAMED) {
            yyjson_mut_val *names = yyjson_mut_arr(d);
            yyjson_mut_arr_append(names, ag_json_mut_str(d, req->tool_choice_name));
            yyjson_mut_obj_add_val(d, fcc, twin ? "allowed_function_names" : "allowedFunctionNames",
                                   names);
        }
        yyjson_mut_obj_add_val(d, tc, twin ? "function_calling_config" : "functionCallingConfig",
                               fcc);
        if (b->o->cloudcode)
            yyjson_mut_obj_add_bool(d, tc,
                                    twin ? "include_server_side_tool_invocations"
                                         : "includeServerSideToolInvocations",
                                    true);
        yyjson_mut_obj_add_val(d, body, twin ? "tool_config" : "toolConfig", tc);
    }
}

static const char *const harm_categories[] = {
    "HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT"};

yyjson_mut_val *ag_gemini_body_build(yyjson_mut_doc *d, struct ag_arena *arena,
                                     const struct ag_request *req,
                                     const struct ag_gemini_body_opts *o, int *err,
                                     const char **why)
{
    struct builder b;
    memset(&b, 0, sizeof(b));
    b.d = d;
    b.arena = arena;
    b.o = o;
    b.family = ag_model_family(o->model);
    *err = 0;
    *why = NULL;

    /* Key order matters to Google's prefix cache: stable parts first, contents last. */
    yyjson_mut_val *body = yyjson_mut_obj(d);
    if (req->n_system) {
        yyjson_mut_val *si = yyjson_mut_obj(d), *parts = yyjson_mut_arr(d);
        yyjson_mut_obj_add_str(d, si, "role", "user");
        for (size_t i = 0; i < req->n_system; i++)
            add_parts(&b, parts, &req->system[i]);
        yyjson_mut_obj_add_val(d, si, "parts", parts);
        if (yyjson_mut_arr_size(parts))
            yyjson_mut_obj_add_val(d, body, "systemInstruction", si);
    }
    if (req->n_tools) {
        yyjson_mut_val *tools = build_tools(&b, req, err, why);
        if (!tools)
            return NULL;
        yyjson_mut_obj_add_val(d, body, "tools", tools);
        build_tool_config(&b, req, body);
    }
    yyjson_mut_val *gc = yyjson_mut_obj(d);
    build_gen(&b, req, gc);
    if (yyjson_mut_obj_size(gc))
        yyjson_mut_obj_add_val(d, body, "generationConfig", gc);
    yyjson_mut_val *safety = NULL;
    if (req->safety_json.len)
        safety = ag_json_parse_into(d, arena, req->safety_json);
    if (!safety && o->cloudcode) {
        safety = yyjson_mut_arr(d);
        for (size_t i = 0; i < 4; i++) {
            yyjson_mut_val *s = yyjson_mut_obj(d);
            yyjson_mut_obj_add_str(d, s, "category", harm_categories[i]);
            yyjson_mut_obj_add_str(d, s, "threshold", "OFF");
            yyjson_mut_arr_append(safety, s);
        }
    }
    if (safety)
        yyjson_mut_obj_add_val(d, body, "safetySettings", safety);
    if (o->session_id.len)
        ag_json_add_str(d, body, "sessionId", o->session_id);
    yyjson_mut_obj_add_val(d, body, "contents", build_contents(&b, req));
    return body;
}

yyjson_mut_val *ag_gemini_contents_build(yyjson_mut_doc *d, struct ag_arena *arena,
                                         const struct ag_request *req,
                                         const struct ag_gemini_body_opts *o)
{
    struct builder b;
    memset(&b, 0, sizeof(b));
    b.d = d;
    b.arena = arena;
    b.o = o;
    b.family = ag_model_family(o->model);
    yyjson_mut_val *body = yyjson_mut_obj(d);
    yyjson_mut_obj_add_val(d, body, "contents", build_contents(&b, req));
    return body;
}

/* ---- finish reasons and usage ---- */

static const struct {
    const char *name;
    enum ag_finish f;
} finish_map[] = {
    {"STOP", AG_FINISH_STOP},
    {"MAX_TOKENS", AG_FINISH_LENGTH},
    {"SAFETY", AG_FINISH_CONTENT_FILTER},
    {"RECITATION", AG_FINISH_CONTENT_FILTER},
    {"BLOCKLIST", AG_FINISH_CONTENT_FILTER},
    {"PROHIBITED_CONTENT", AG_FINISH_CONTENT_FILTER},
    {"SPII", AG_FINISH_CONTENT_FILTER},
    {"IMAGE_SAFETY", AG_FINISH_CONTENT_FILTER},
    {"IMAGE_PROHIBITED_CONTENT", AG_FINISH_CONTENT_FILTER},
    {"LANGUAGE", AG_FINISH_CONTENT_FILTER},
    {"MALFORMED_FUNCTION_CALL", AG_FINISH_ERROR},
    {"UNEXPECTED_TOOL_CALL", AG_FINISH_ERROR},
    {"TOO_MANY_TOOL_CALLS", AG_FINISH_ERROR},
    {"OTHER", AG_FINISH_ERROR},
};

enum ag_finish ag_gemini_finish_parse(struct ag_str reason)
{
    for (size_t i = 0; i < sizeof(finish_map) / sizeof(finish_map[0]); i++)
        if (ag_str_eq_c(reason, finish_map[i].name))
            return finish_map[i].f;
    return AG_FINISH_STOP;
}

struct ag_str ag_gemini_finish_str(enum ag_finish f, struct ag_str raw)
{
    if (raw.len)
        return raw;
    switch (f) {
    case AG_FINISH_LENGTH:
        return AG_STR("MAX_TOKENS");
    case AG_FINISH_CONTENT_FILTER:
        return AG_STR("SAFETY");
    case AG_FINISH_ERROR:
        return AG_STR("OTHER");
    default:
        return AG_STR("STOP");
    }
}

static int64_t num(yyjson_val *obj, const char *a, const char *b, bool *found)
{
    yyjson_val *v = yyjson_obj_get(obj, a);
    if (!v && b)
        v = yyjson_obj_get(obj, b);
    int64_t x;
    /* A count the upstream cannot have meant (negative, 1e30) is read as unknown. */
    if (!yyjson_is_num(v) || ag_json_int(v, AG_USAGE_MAX, &x) || x < 0)
        return 0;
    *found = true;
    return x;
}

void ag_gemini_usage_parse(yyjson_val *um, struct ag_usage *u)
{
    bool f = false, ft = false;
    memset(u, 0, sizeof(*u));
    u->input = num(um, "promptTokenCount", "total_input_tokens", &f);
    int64_t cand = num(um, "candidatesTokenCount", "total_output_tokens", &f);
    u->reasoning = num(um, "thoughtsTokenCount", "total_thought_tokens", &f);
    u->cached = num(um, "cachedContentTokenCount", "total_cached_tokens", &f);
    int64_t tool = num(um, "toolUsePromptTokenCount", "total_tool_use_tokens", &f);
    u->output = cand + u->reasoning;
    u->total = num(um, "totalTokenCount", "total_tokens", &ft);
    if (!ft)
        u->total = u->input + tool + u->output;
}

yyjson_mut_val *ag_gemini_usage_build(yyjson_mut_doc *d, const struct ag_usage *u)
{
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_obj_add_int(d, o, "promptTokenCount", u->input);
    yyjson_mut_obj_add_int(d, o, "candidatesTokenCount", u->output - u->reasoning);
    yyjson_mut_obj_add_int(d, o, "totalTokenCount", u->total);
    if (u->cached)
        yyjson_mut_obj_add_int(d, o, "cachedContentTokenCount", u->cached);
    if (u->reasoning)
        yyjson_mut_obj_add_int(d, o, "thoughtsTokenCount", u->reasoning);
    return o;
}
