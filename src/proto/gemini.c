/* proto/gemini.c: the Gemini-native client adapter (/v1beta/models/{model}:generateContent,
 * :streamGenerateContent with alt=sse or Google's default JSON-array framing, :countTokens).
 * Decodes a GenerateContentRequest into the canonical form, renders events as
 * GenerateContentResponse chunks and collected answers as one response, and errors as
 * {"error":{"code","message","status"}}. */
#include <stddef.h>
#include <string.h>

#include "core/err.h"
#include "proto/adapter.h"
#include "proto/gemini_body.h"
#include "proto/json.h"

/* ---- errors ---- */

static yyjson_mut_val *error_obj(yyjson_mut_doc *d, const struct ag_proto_error *e)
{
    yyjson_mut_val *root = yyjson_mut_obj(d), *o = yyjson_mut_obj(d);
    bool google = e->code.len && e->code.p[0] >= 'A' && e->code.p[0] <= 'Z';
    yyjson_mut_obj_add_int(d, o, "code", e->status);
    ag_json_add_str(d, o, "message", e->message);
    if (google)
        ag_json_add_str(d, o, "status", e->code);
    else
        yyjson_mut_obj_add_str(d, o, "status", ag_status_names_of(e->status)->gemini);
    yyjson_mut_obj_add_val(d, root, "error", o);
    return root;
}

static int gm_encode_error(const struct ag_proto_error *err, struct ag_buf *out)
{
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    int rc = ag_json_mut_append(out, error_obj(d, err));
    yyjson_mut_doc_free(d);
    return rc;
}

/* ---- request ---- */

struct dec {
    struct ag_arena *a;
    struct ag_proto_error *err;
    struct ag_request *req;
    struct ag_str family;
    struct ag_json_src src; /* where the body's strings came from (their literals) */
};

static int invalid(struct dec *d, const char *param, const char *msg)
{
    ag_proto_error_set(d->err, d->a, 400, AG_PERR_INVALID, param, NULL, "%s", msg);
    return AG_EINVAL;
}

static yyjson_val *get2(yyjson_val *o, const char *camel, const char *snake)
{
    yyjson_val *v = yyjson_obj_get(o, camel);
    return v ? v : yyjson_obj_get(o, snake);
}

static int decode_part(struct dec *d, yyjson_val *p, struct ag_part *out, bool *keep)
{
    yyjson_val *v;
    *keep = true;
    struct ag_str sig = ag_json_str(get2(p, "thoughtSignature", "thought_signature"));
    if (sig.len) {
        out->sig.value = sig;
        out->sig.family = d->family;
    }
    if ((v = get2(p, "functionCall", "function_call")) && yyjson_is_obj(v)) {
        out->type = AG_PART_TOOL_CALL;
        out->name = ag_json_get_str(v, "name");
        out->id = ag_json_get_str(v, "id");
        yyjson_val *args = yyjson_obj_get(v, "args");
        out->args = yyjson_is_obj(args) ? ag_json_val_text(d->a, args) : AG_STR("{}");
        return 0;
    }
    if ((v = get2(p, "functionResponse", "function_response")) && yyjson_is_obj(v)) {
        out->type = AG_PART_TOOL_RESULT;
        out->name = ag_json_get_str(v, "name");
        out->id = ag_json_get_str(v, "id");
        yyjson_val *resp = yyjson_obj_get(v, "response");
        out->json = yyjson_is_obj(resp);
        out->text = out->json ? ag_json_val_text(d->a, resp) : ag_json_str(resp);
        return 0;
    }
    if ((v = get2(p, "inlineData", "inline_data")) && yyjson_is_obj(v)) {
        out->type = AG_PART_MEDIA;
        out->mime = ag_json_str(get2(v, "mimeType", "mime_type"));
        out->data = ag_json_get_str(v, "data");
        return 0;
    }
    if ((v = get2(p, "fileData", "file_data")) && yyjson_is_obj(v)) {
        out->type = AG_PART_MEDIA;
        out->mime = ag_json_str(get2(v, "mimeType", "mime_type"));
        out->url = ag_json_str(get2(v, "fileUri", "file_uri"));
        return 0;
    }
    if ((v = yyjson_obj_get(p, "text"))) {
        out->type = yyjson_get_bool(yyjson_obj_get(p, "thought")) ? AG_PART_THINKING : AG_PART_TEXT;
        ag_part_set_text(out, ag_json_str(v), ag_json_literal(&d->src, v));
        *keep = out->text.len || out->sig.value.len;
        return 0;
    }
    *keep = false; /* executableCode, videoMetadata, ...: not carried */
    return 0;
}

static int decode_parts(struct dec *d, yyjson_val *parts, const char *param, struct ag_part **out,
                        size_t *n)
{
    if (!yyjson_is_arr(parts))
        return invalid(d, param, "Invalid value: expected a list of parts.");
    size_t i, max;
    yyjson_val *p;
    *out = ag_arena_calloc(d->a, (yyjson_arr_size(parts) + 1) * sizeof(struct ag_part));
    if (!*out)
        return AG_ETOOBIG;
    *n = 0;
    yyjson_arr_foreach(parts, i, max, p)
    {
        bool keep;
        int rc = decode_part(d, p, &(*out)[*n], &keep);
        if (rc)
            return rc;
        if (keep)
            (*n)++;
    }
    return 0;
}

static int decode_contents(struct dec *d, yyjson_val *contents)
{
    struct ag_request *req = d->req;
    size_t i, max;
    yyjson_val *c;
    req->messages =
        ag_arena_calloc(d->a, (yyjson_arr_size(contents) + 1) * sizeof(struct ag_message));
    if (!req->messages)
        return AG_ETOOBIG;
    yyjson_arr_foreach(contents, i, max, c)
    {
        char *param = ag_arena_printf(d->a, "contents[%zu].parts", i);
        if (!yyjson_is_obj(c))
            return invalid(d, "contents", "Invalid value at 'contents': expected Content objects.");
        struct ag_message *m = &req->messages[req->n_messages];
        struct ag_str role = ag_json_get_str(c, "role");
        m->role = ag_str_eq_c(role, "model") ? AG_ROLE_ASSISTANT : AG_ROLE_USER;
        int rc = decode_parts(d, yyjson_obj_get(c, "parts"), param ? param : "parts", &m->parts,
                              &m->n_parts);
        if (rc)
            return rc;
        if (m->n_parts)
            req->n_messages++;
    }
    return 0;
}

/* generationConfig.thinkingConfig: includeThoughts, thinkingBudget (0 turns thinking off),
 * thinkingLevel. */
static void decode_thinking_config(struct ag_request *req, yyjson_val *tc)
{
    yyjson_val *inc = get2(tc, "includeThoughts", "include_thoughts");
    yyjson_val *b = get2(tc, "thinkingBudget", "thinking_budget");
    struct ag_str level = ag_json_str(get2(tc, "thinkingLevel", "thinking_level"));
    if (yyjson_is_bool(inc)) {
        req->thinking.include = yyjson_get_bool(inc) ? AG_ON : AG_OFF;
        if (yyjson_get_bool(inc))
            req->thinking.mode = AG_ON;
    }
    if (yyjson_is_int(b)) {
        int64_t bv = yyjson_get_sint(b);
        if (bv == 0)
            req->thinking.mode = AG_OFF;
        else if (bv > 0)
            req->thinking.budget = bv;
        if (bv != 0)
            req->thinking.mode = AG_ON;
    }
    if (ag_str_eq_ci(level, AG_STR("low")))
        req->thinking.effort = AG_EFFORT_LOW;
    else if (ag_str_eq_ci(level, AG_STR("medium")))
        req->thinking.effort = AG_EFFORT_MEDIUM;
    else if (ag_str_eq_ci(level, AG_STR("high")))
        req->thinking.effort = AG_EFFORT_HIGH;
    else if (ag_str_eq_ci(level, AG_STR("minimal")))
        req->thinking.effort = AG_EFFORT_MINIMAL;
    if (req->thinking.effort != AG_EFFORT_UNSET && req->thinking.mode == AG_UNSET)
        req->thinking.mode = AG_ON;
}

static int decode_gen(struct dec *d, yyjson_val *gc)
{
    struct ag_request *req = d->req;
    struct ag_gen *g = &req->gen;
    yyjson_val *v;
    if (!yyjson_is_obj(gc))
        return 0;
    if (yyjson_is_num(v = yyjson_obj_get(gc, "temperature"))) {
        g->has_temperature = true;
        g->temperature = yyjson_get_num(v);
    }
    if (yyjson_is_num(v = get2(gc, "topP", "top_p"))) {
        g->has_top_p = true;
        g->top_p = yyjson_get_num(v);
    }
    static const struct {
        const char *name, *alt;
        size_t off;
    } ints[] = {{"topK", "top_k", offsetof(struct ag_gen, top_k)},
                {"maxOutputTokens", "max_output_tokens", offsetof(struct ag_gen, max_tokens)},
                {"candidateCount", "candidate_count", offsetof(struct ag_gen, n)}};
    for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
        int64_t x;
        if (!yyjson_is_num(v = get2(gc, ints[k].name, ints[k].alt)))
            continue;
        if (ag_json_int(v, AG_JSON_INT_MAX, &x) || x < 0) {
            char *msg =
                ag_arena_printf(d->a, "Invalid value at 'generation_config.%s' (TYPE_INT32), %s",
                                ints[k].alt, yyjson_is_real(v) ? "out of range" : "negative");
            return invalid(d, "generationConfig", msg ? msg : "Invalid value.");
        }
        *(int64_t *)((char *)g + ints[k].off) = x;
    }
    if (yyjson_is_num(v = get2(gc, "presencePenalty", "presence_penalty"))) {
        g->has_presence = true;
        g->presence_penalty = yyjson_get_num(v);
    }
    if (yyjson_is_num(v = get2(gc, "frequencyPenalty", "frequency_penalty"))) {
        g->has_frequency = true;
        g->frequency_penalty = yyjson_get_num(v);
    }
    if (yyjson_is_int(v = yyjson_obj_get(gc, "seed"))) {
        g->has_seed = true;
        g->seed = yyjson_get_sint(v);
    }
    size_t i, max;
    yyjson_val *s;
    yyjson_arr_foreach(get2(gc, "stopSequences", "stop_sequences"), i, max, s)
    {
        if (yyjson_is_str(s) && g->n_stop < AG_MAX_STOP)
            g->stop[g->n_stop++] = ag_json_str(s);
    }
    if (ag_str_eq_c(ag_json_str(get2(gc, "responseMimeType", "response_mime_type")),
                    "application/json"))
        g->format = AG_FORMAT_JSON_OBJECT;
    yyjson_val *schema = get2(gc, "responseJsonSchema", "response_json_schema");
    if (!schema)
        schema = get2(gc, "responseSchema", "response_schema");
    if (yyjson_is_obj(schema)) {
        g->format = AG_FORMAT_JSON_SCHEMA;
        g->schema = ag_json_val_text(d->a, schema);
    }
    /* kept for an image model (the relay turns req->image on after routing, images.h) */
    yyjson_val *ic = get2(gc, "imageConfig", "image_config");
    if (yyjson_is_obj(ic)) {
        req->image.aspect_ratio = ag_json_str(get2(ic, "aspectRatio", "aspect_ratio"));
        req->image.image_size = ag_json_str(get2(ic, "imageSize", "image_size"));
    }
    yyjson_val *tc = get2(gc, "thinkingConfig", "thinking_config");
    if (yyjson_is_obj(tc))
        decode_thinking_config(req, tc);
    return 0;
}

static int decode_tools(struct dec *d, yyjson_val *tools, yyjson_val *tcfg)
{
    struct ag_request *req = d->req;
    size_t n = 0, i, max, j, jmax;
    yyjson_val *t, *fd;
    yyjson_arr_foreach(tools, i, max, t) n +=
        yyjson_arr_size(get2(t, "functionDeclarations", "function_declarations"));
    if (n) {
        req->tools = ag_arena_calloc(d->a, n * sizeof(struct ag_tool));
        if (!req->tools)
            return AG_ETOOBIG;
    }
    yyjson_arr_foreach(tools, i, max, t)
    {
        /* built-in tools (googleSearch, codeExecution, ...) are not carried */
        yyjson_arr_foreach(get2(t, "functionDeclarations", "function_declarations"), j, jmax, fd)
        {
            struct ag_tool *tool = &req->tools[req->n_tools];
            tool->name = ag_json_get_str(fd, "name");
            if (!tool->name.len)
                return invalid(d, "tools", "A function declaration needs a name.");
            tool->description = ag_json_get_str(fd, "description");
            yyjson_val *p = get2(fd, "parametersJsonSchema", "parameters_json_schema");
            if (!p)
                p = yyjson_obj_get(fd, "parameters");
            if (yyjson_is_obj(p))
                tool->schema = ag_json_val_text(d->a, p);
            req->n_tools++;
        }
    }
    yyjson_val *fcc = get2(tcfg, "functionCallingConfig", "function_calling_config");
    struct ag_str mode = ag_json_get_str(fcc, "mode");
    yyjson_val *allowed = get2(fcc, "allowedFunctionNames", "allowed_function_names");
    if (ag_str_eq_c(mode, "AUTO"))
        req->tool_choice = AG_TOOL_CHOICE_AUTO;
    else if (ag_str_eq_c(mode, "NONE"))
        req->tool_choice = AG_TOOL_CHOICE_NONE;
    else if (ag_str_eq_c(mode, "ANY"))
        req->tool_choice = AG_TOOL_CHOICE_REQUIRED;
    if (req->tool_choice == AG_TOOL_CHOICE_REQUIRED && yyjson_arr_size(allowed) == 1) {
        req->tool_choice = AG_TOOL_CHOICE_NAMED;
        req->tool_choice_name = ag_json_str(yyjson_arr_get_first(allowed));
    }
    return 0;
}

static int gm_decode(const struct ag_proto_ctx *ctx, struct ag_str body,
                     const struct ag_client_hints *hints, struct ag_request **out,
                     struct ag_proto_error *err)
{
    struct dec d = {.a = ctx->arena, .err = err};
    int rc;
    yyjson_doc *doc = ag_json_read(d.a, body, ctx->max_json_depth, &rc);
    yyjson_val *root = doc ? yyjson_doc_get_root(doc) : NULL;
    ag_json_src_init(&d.src, doc, body);
    if (rc == AG_EDEPTH) {
        ag_proto_error_set(err, d.a, 400, AG_PERR_INVALID, NULL, NULL,
                           "Invalid JSON payload received. " AG_JSON_DEPTH_MSG ".",
                           ag_json_depth_limit(ctx->max_json_depth));
        return AG_EINVAL;
    }
    if (rc == AG_ETOOBIG) {
        ag_proto_error_set(err, d.a, 413, AG_PERR_TOO_LARGE, NULL, NULL, "Request too large.");
        return AG_ETOOBIG;
    }
    if (!yyjson_is_obj(root)) {
        ag_proto_error_set(err, d.a, 400, AG_PERR_INVALID, NULL, NULL,
                           "Invalid JSON payload received. Expected a JSON object.");
        return AG_EINVAL;
    }
    struct ag_request *req = ag_arena_alloc(d.a, sizeof(*req));
    if (!req)
        return AG_ETOOBIG;
    ag_request_init(req);
    d.req = req;
    req->model = hints ? hints->model : AG_STR_NULL;
    if (!req->model.len)
        req->model = ag_json_get_str(root, "model");
    if (ag_str_has_prefix(req->model, "models/"))
        req->model = ag_str_make(req->model.p + 7, req->model.len - 7);
    if (!req->model.len)
        return invalid(&d, "model", "Missing model: the URL must name a model.");
    d.family = ag_str_c(ag_model_family(req->model));
    if (hints && hints->count_tokens) {
        req->kind = AG_REQ_COUNT_TOKENS;
        yyjson_val *inner = get2(root, "generateContentRequest", "generate_content_request");
        if (yyjson_is_obj(inner))
            root = inner;
    }
    req->stream = hints && hints->stream;

    yyjson_val *contents = yyjson_obj_get(root, "contents");
    if (!contents)
        return invalid(&d, "contents",
                       "* GenerateContentRequest.contents: contents is not specified");
    if (!yyjson_is_arr(contents))
        return invalid(&d, "contents",
                       "Invalid value at 'contents': expected a list of Content objects.");
    if ((rc = decode_contents(&d, contents)))
        return rc;
    if (!req->n_messages)
        return invalid(&d, "contents",
                       "* GenerateContentRequest.contents: contents is not specified");
    yyjson_val *si = get2(root, "systemInstruction", "system_instruction");
    if (yyjson_is_obj(si) &&
        (rc = decode_parts(&d, yyjson_obj_get(si, "parts"), "systemInstruction.parts", &req->system,
                           &req->n_system)))
        return rc;
    if (yyjson_is_str(si)) {
        req->system = ag_arena_calloc(d.a, sizeof(struct ag_part));
        if (!req->system)
            return AG_ETOOBIG;
        req->system[0].text = ag_json_str(si);
        req->n_system = 1;
    }
    if ((rc = decode_tools(&d, yyjson_obj_get(root, "tools"),
                           get2(root, "toolConfig", "tool_config"))) ||
        (rc = decode_gen(&d, get2(root, "generationConfig", "generation_config"))))
        return rc;
    yyjson_val *safety = get2(root, "safetySettings", "safety_settings");
    if (yyjson_is_arr(safety))
        req->safety_json = ag_json_val_text(d.a, safety);
    if ((rc = ag_request_fingerprint(d.a, req)))
        return rc;
    *out = req;
    return 0;
}

/* ---- output ---- */

struct gm_stream {
    struct ag_client_stream base;
    struct ag_arena *arena;
    bool sse;
    bool kind_count;
    int frames;
    bool failed;
    bool has_usage;
    bool usage_sent;
    struct ag_usage usage;
    struct ag_str model, response_id;
    /* the tool call being assembled */
    struct ag_str tool_id, tool_name;
    struct ag_signature tool_sig;
    struct ag_str tool_args;
    size_t tool_cap;
    bool tool_open;
    /* Claude signs its thinking, not its calls; Gemini CLI drops thought parts from the history it
     * sends back but keeps functionCall parts whole, so the thinking's signature also rides on the
     * turn's first call (see ag_request_fit_target). */
    struct ag_str think_sig;
};

static bool claude_sig(const struct ag_signature *s)
{
    return s->value.len && ag_str_eq_c(s->family, "claude");
}

static void add_sig(yyjson_mut_doc *d, yyjson_mut_val *part, const struct ag_signature *s)
{
    if (s->value.len)
        yyjson_mut_obj_add_val(d, part, "thoughtSignature", ag_json_mut_str(d, s->value));
}

static yyjson_mut_val *text_part(yyjson_mut_doc *d, struct ag_str text, bool thought,
                                 const struct ag_signature *sig)
{
    yyjson_mut_val *p = yyjson_mut_obj(d);
    ag_json_add_str(d, p, "text", text);
    if (thought)
        yyjson_mut_obj_add_bool(d, p, "thought", true);
    add_sig(d, p, sig);
    return p;
}

static yyjson_mut_val *media_part(yyjson_mut_doc *d, struct ag_str mime, struct ag_str data)
{
    yyjson_mut_val *p = yyjson_mut_obj(d), *in = yyjson_mut_obj(d);
    ag_json_add_str(d, in, "mimeType", mime);
    ag_json_add_str(d, in, "data", data);
    yyjson_mut_obj_add_val(d, p, "inlineData", in);
    return p;
}

static yyjson_mut_val *call_part(yyjson_mut_doc *d, struct ag_arena *a, struct ag_str id,
                                 struct ag_str name, struct ag_str args,
                                 const struct ag_signature *sig)
{
    yyjson_mut_val *p = yyjson_mut_obj(d), *fc = yyjson_mut_obj(d);
    ag_json_add_str(d, fc, "name", name);
    yyjson_mut_val *av = ag_json_parse_into(d, a, args);
    yyjson_mut_obj_add_val(d, fc, "args", yyjson_mut_is_obj(av) ? av : yyjson_mut_obj(d));
    if (id.len)
        ag_json_add_str(d, fc, "id", id);
    yyjson_mut_obj_add_val(d, p, "functionCall", fc);
    add_sig(d, p, sig);
    return p;
}

/* One GenerateContentResponse with one candidate. */
static yyjson_mut_val *response(yyjson_mut_doc *d, struct ag_str model, struct ag_str rid, int ci,
                                yyjson_mut_val *parts, const struct ag_str *finish,
                                const struct ag_usage *usage)
{
    yyjson_mut_val *o = yyjson_mut_obj(d), *cands = yyjson_mut_arr(d);
    yyjson_mut_val *cand = yyjson_mut_obj(d), *content = yyjson_mut_obj(d);
    yyjson_mut_obj_add_str(d, content, "role", "model");
    yyjson_mut_obj_add_val(d, content, "parts", parts);
    yyjson_mut_obj_add_val(d, cand, "content", content);
    if (finish)
        yyjson_mut_obj_add_val(d, cand, "finishReason", ag_json_mut_str(d, *finish));
    yyjson_mut_obj_add_int(d, cand, "index", ci);
    yyjson_mut_arr_append(cands, cand);
    yyjson_mut_obj_add_val(d, o, "candidates", cands);
    if (usage)
        yyjson_mut_obj_add_val(d, o, "usageMetadata", ag_gemini_usage_build(d, usage));
    if (model.len)
        ag_json_add_str(d, o, "modelVersion", model);
    if (rid.len)
        ag_json_add_str(d, o, "responseId", rid);
    return o;
}

static int frame(struct gm_stream *st, struct ag_buf *out, yyjson_mut_doc *d, yyjson_mut_val *v)
{
    int rc;
    if (st->sse) {
        rc = ag_json_sse_append(out, v);
    } else {
        rc = ag_buf_append_c(out, st->frames ? ",\r\n" : "[");
        if (rc == 0)
            rc = ag_json_mut_append(out, v);
    }
    st->frames++;
    yyjson_mut_doc_free(d);
    return rc;
}

/* A text, thought or signature frame: most of a stream's frames, written straight into out, the
 * same bytes as frame(response(text_part(...))) gives. */
static int text_frame(struct gm_stream *st, struct ag_buf *out, const struct ag_event *ev)
{
    int rc = 0;
    size_t mark = out->len;
    bool first = st->frames == 0;
    st->frames++;
    if (st->sse)
        rc = ag_buf_append(out, "data: ", 6);
    else
        rc = ag_buf_append_c(out, first ? "[" : ",\r\n");
    size_t json = out->len;
    static const char open[] =
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":";
    if (!rc)
        rc = ag_buf_append(out, open, sizeof(open) - 1);
    if (!rc)
        rc = ag_json_str_append(out, ev->text);
    if (!rc && ev->type == AG_EV_THINKING)
        rc = ag_buf_append_c(out, ",\"thought\":true");
    if (!rc && ev->sig.value.len) {
        rc = ag_buf_append_c(out, ",\"thoughtSignature\":");
        if (!rc)
            rc = ag_json_str_append(out, ev->sig.value);
    }
    if (!rc) {
        char num[24];
        const char *mid[] = {"}]},\"index\":", ag_json_int_text(num, ev->choice), "}]",
                             st->model.len ? ",\"modelVersion\":" : ""};
        rc = ag_json_lits_append(out, mid, sizeof(mid) / sizeof(mid[0]));
    }
    if (!rc && st->model.len)
        rc = ag_json_str_append(out, st->model);
    if (!rc && st->response_id.len) {
        rc = ag_buf_append_c(out, ",\"responseId\":");
        if (!rc)
            rc = ag_json_str_append(out, st->response_id);
    }
    if (!rc)
        rc = ag_buf_append_c(out, st->sse ? "}\n\n" : "}");
    if (rc && out->data) {
        /* as frame(): an SSE frame goes entirely, the array's separator stays */
        out->len = st->sse ? mark : json;
        out->data[out->len] = '\0';
    }
    return rc;
}

static struct ag_client_stream *gm_stream_new(const struct ag_proto_ctx *ctx,
                                              const struct ag_request *req,
                                              const struct ag_client_hints *hints)
{
    struct gm_stream *st = ag_arena_calloc(ctx->arena, sizeof(*st));
    if (!st)
        return NULL;
    st->base.proto = &ag_proto_gemini;
    st->arena = ctx->arena;
    st->sse = hints ? hints->sse : true;
    st->model = req->model;
    return &st->base;
}

static int append_args(struct gm_stream *st, struct ag_str s)
{
    if (st->tool_args.len + s.len + 1 > st->tool_cap) {
        size_t cap = st->tool_cap ? st->tool_cap : 256;
        while (cap < st->tool_args.len + s.len + 1)
            cap *= 2;
        char *n = ag_arena_alloc(st->arena, cap);
        if (!n)
            return AG_ETOOBIG;
        if (st->tool_args.len)
            memcpy(n, st->tool_args.p, st->tool_args.len);
        st->tool_args.p = n;
        st->tool_cap = cap;
    }
    memcpy((char *)st->tool_args.p + st->tool_args.len, s.p, s.len);
    st->tool_args.len += s.len;
    return 0;
}

static int gm_stream_event(struct ag_client_stream *base, const struct ag_event *ev,
                           struct ag_buf *out)
{
    struct gm_stream *st = (struct gm_stream *)base;
    if (st->failed)
        return 0;
    yyjson_mut_doc *d;
    yyjson_mut_val *parts;
    switch (ev->type) {
    case AG_EV_START:
        if (ev->name.len)
            st->model = ag_arena_str(st->arena, ev->name);
        if (ev->id.len)
            st->response_id = ag_arena_str(st->arena, ev->id);
        return 0;
    case AG_EV_TEXT:
    case AG_EV_THINKING:
    case AG_EV_SIGNATURE:
    case AG_EV_MEDIA:
        if (ev->type != AG_EV_TEXT && claude_sig(&ev->sig))
            st->think_sig = ag_arena_str(st->arena, ev->sig.value);
        if (ev->type != AG_EV_MEDIA)
            return text_frame(st, out, ev);
        d = yyjson_mut_doc_new(NULL);
        parts = yyjson_mut_arr(d);
        if (ev->type == AG_EV_MEDIA)
            yyjson_mut_arr_append(parts, media_part(d, ev->mime, ev->text));
        else
            yyjson_mut_arr_append(parts,
                                  text_part(d, ev->text, ev->type == AG_EV_THINKING, &ev->sig));
        return frame(st, out, d,
                     response(d, st->model, st->response_id, ev->choice, parts, NULL, NULL));
    case AG_EV_TOOL_START:
        st->tool_open = true;
        st->tool_id = ag_arena_str(st->arena, ev->id);
        st->tool_name = ag_arena_str(st->arena, ev->name);
        st->tool_sig.value = ag_arena_str(st->arena, ev->sig.value);
        st->tool_sig.family = AG_STR_NULL;
        if (!st->tool_sig.value.len) {
            st->tool_sig.value = st->think_sig;
            st->think_sig = AG_STR_NULL;
        }
        st->tool_args = AG_STR_NULL;
        st->tool_cap = 0;
        return 0;
    case AG_EV_TOOL_ARGS:
        return st->tool_open ? append_args(st, ev->text) : 0;
    case AG_EV_TOOL_END:
        if (!st->tool_open)
            return 0;
        st->tool_open = false;
        d = yyjson_mut_doc_new(NULL);
        parts = yyjson_mut_arr(d);
        yyjson_mut_arr_append(parts, call_part(d, st->arena, st->tool_id, st->tool_name,
                                               st->tool_args, &st->tool_sig));
        return frame(st, out, d,
                     response(d, st->model, st->response_id, ev->choice, parts, NULL, NULL));
    case AG_EV_USAGE:
        st->usage = ev->usage;
        st->has_usage = true;
        return 0;
    case AG_EV_FINISH: {
        struct ag_str reason = ag_gemini_finish_str(ev->finish, ev->raw);
        d = yyjson_mut_doc_new(NULL);
        parts = yyjson_mut_arr(d);
        yyjson_mut_arr_append(parts, text_part(d, AG_STR(""), false, &ev->sig));
        st->usage_sent = st->has_usage;
        return frame(st, out, d,
                     response(d, st->model, st->response_id, ev->choice, parts, &reason,
                              st->has_usage ? &st->usage : NULL));
    }
    case AG_EV_ERROR:
        st->failed = true;
        d = yyjson_mut_doc_new(NULL);
        return frame(st, out, d, error_obj(d, &ev->error));
    }
    return 0;
}

static int gm_stream_finish(struct ag_client_stream *base, struct ag_buf *out)
{
    struct gm_stream *st = (struct gm_stream *)base;
    if (st->sse)
        return 0;
    return ag_buf_append_c(out, st->frames ? "]" : "[]");
}

static int gm_encode_response(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                              const struct ag_answer *a, struct ag_buf *out)
{
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o;
    if (req->kind == AG_REQ_COUNT_TOKENS) {
        o = yyjson_mut_obj(d);
        yyjson_mut_obj_add_int(d, o, "totalTokens", a->usage.input);
    } else {
        o = yyjson_mut_obj(d);
        yyjson_mut_val *cands = yyjson_mut_arr(d);
        int n = a->n_choices ? a->n_choices : 1;
        for (int ci = 0; ci < n; ci++) {
            const struct ag_choice *c = &a->choices[ci];
            yyjson_mut_val *parts = yyjson_mut_arr(d);
            struct ag_signature think = {{0}, {0}};
            for (size_t i = 0; i < c->n_parts; i++) {
                const struct ag_part *p = &c->parts[i];
                if (p->type == AG_PART_THINKING && claude_sig(&p->sig))
                    think = p->sig;
                if (p->type == AG_PART_TEXT || p->type == AG_PART_THINKING) {
                    yyjson_mut_arr_append(
                        parts, text_part(d, p->text, p->type == AG_PART_THINKING, &p->sig));
                } else if (p->type == AG_PART_MEDIA) {
                    yyjson_mut_arr_append(parts, media_part(d, p->mime, p->data));
                } else if (p->type == AG_PART_TOOL_CALL) {
                    struct ag_signature sig = p->sig;
                    if (!sig.value.len) {
                        sig = think;
                        memset(&think, 0, sizeof(think));
                    }
                    yyjson_mut_arr_append(parts,
                                          call_part(d, ctx->arena, p->id, p->name, p->args, &sig));
                }
            }
            struct ag_str reason = ag_gemini_finish_str(c->finish, c->raw_finish);
            yyjson_mut_val *r = response(d, AG_STR_NULL, AG_STR_NULL, ci, parts, &reason, NULL);
            yyjson_mut_arr_append(cands,
                                  yyjson_mut_arr_get_first(yyjson_mut_obj_get(r, "candidates")));
        }
        yyjson_mut_obj_add_val(d, o, "candidates", cands);
        if (a->has_usage)
            yyjson_mut_obj_add_val(d, o, "usageMetadata", ag_gemini_usage_build(d, &a->usage));
        ag_json_add_str(d, o, "modelVersion", a->model.len ? a->model : req->model);
        if (a->id.len)
            ag_json_add_str(d, o, "responseId", a->id);
    }
    int rc = ag_json_mut_append(out, o);
    yyjson_mut_doc_free(d);
    return rc;
}

const struct ag_client_proto ag_proto_gemini = {
    .name = "gemini",
    .decode_request = gm_decode,
    .stream_new = gm_stream_new,
    .stream_event = gm_stream_event,
    .stream_finish = gm_stream_finish,
    .encode_response = gm_encode_response,
    .encode_error = gm_encode_error,
    .keepalive = NULL, /* Google's streams have no comment frames; JSON-array framing has none */
};
