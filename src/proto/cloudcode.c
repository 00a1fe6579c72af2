/* proto/cloudcode.c: the upstream adapter for Google Cloud Code v1internal. Requests are the
 * Gemini body (gemini_body.c) inside {"project","requestId","request","model","userAgent",
 * "requestType"}; answers are Gemini responses wrapped in {"response": ...}, streamed as SSE.
 * Chat answers are always requested as a stream (streamGenerateContent?alt=sse); non-stream
 * clients get the collected events. Image requests (req->image.on) are one generateContent call
 * with requestType "image_gen", as Antigravity Manager makes them, and their answer fails when it
 * carries no image (blocked: 400 content_policy_violation; otherwise 502 with the model's text). */
#include <string.h>

#include "core/err.h"
#include "proto/adapter.h"
#include "proto/gemini_body.h"
#include "proto/gemini_dec.h"
#include "proto/json.h"

struct cc_decoder {
    struct ag_upstream_decoder base;
    struct ag_gemini_dec dec;
    struct ag_arena *arena;
    size_t max_depth; /* nesting limit of the upstream's JSON (ctx->max_json_depth) */
    bool count_tokens;
    bool image;     /* an image request: an answer without media fails */
    bool saw_media; /* image: a MEDIA event went out */
    bool saw_error; /* image: an ERROR event went out already */
    enum ag_finish finish;
    struct ag_str raw_finish;
    char text[240]; /* image: the start of the model's text, for the failure message */
    size_t text_len;
};

/* Image requests: the decoder's events pass through here so the end can tell whether an image
 * came. */
struct watch {
    struct cc_decoder *st;
    ag_event_cb cb;
    void *ud;
};

static int watch_cb(void *ud, const struct ag_event *ev)
{
    struct watch *w = ud;
    struct cc_decoder *st = w->st;
    if (ev->type == AG_EV_MEDIA) {
        st->saw_media = true;
    } else if (ev->type == AG_EV_ERROR) {
        st->saw_error = true;
    } else if (ev->type == AG_EV_FINISH) {
        st->finish = ev->finish;
        st->raw_finish = ag_arena_str(st->arena, ev->raw);
    } else if (ev->type == AG_EV_TEXT) {
        size_t room = sizeof(st->text) - 1 - st->text_len;
        size_t n = ev->text.len < room ? ev->text.len : room;
        memcpy(st->text + st->text_len, ev->text.p, n);
        st->text_len += n;
        st->text[st->text_len] = '\0';
    }
    return w->cb(w->ud, ev);
}

/* After the end of an image answer: no image is an error event of its own. */
static int image_verdict(struct cc_decoder *st, ag_event_cb cb, void *ud)
{
    if (!st->image || st->saw_media || st->saw_error || st->dec.failed)
        return 0;
    struct ag_event ev = {.type = AG_EV_ERROR};
    if (st->finish == AG_FINISH_CONTENT_FILTER)
        ag_proto_error_set(&ev.error, st->arena, 400, AG_PERR_INVALID, NULL,
                           "content_policy_violation",
                           "The upstream's safety system refused to generate this image (%.*s).",
                           (int)st->raw_finish.len, st->raw_finish.p);
    else
        ag_proto_error_set(&ev.error, st->arena, 502, AG_PERR_UPSTREAM, NULL, "no_image",
                           "The upstream answered without an image%s%s", st->text_len ? ": " : ".",
                           st->text);
    st->saw_error = true;
    return cb(ud, &ev);
}

/* Room left for the answer beside the thoughts when maxOutputTokens must be raised above the
 * thinking budget (Antigravity Manager's rule: budget + 8192 when the client's max is too small,
 * budget + 32768 when the client gave none). */
#define ANSWER_ROOM_RAISED  8192
#define ANSWER_ROOM_DEFAULT 32768

static int64_t obj_int(yyjson_mut_val *o, const char *key, int64_t def)
{
    yyjson_mut_val *v = yyjson_mut_obj_get(o, key);
    return yyjson_mut_is_int(v) ? yyjson_mut_get_sint(v) : def;
}

static void obj_set_int(yyjson_mut_doc *d, yyjson_mut_val *o, const char *key, int64_t n)
{
    yyjson_mut_obj_remove_key(o, key);
    yyjson_mut_obj_add_int(d, o, key, n);
}

/* Fits generationConfig to the model's limits for this account (see ag_upstream_target): the
 * real upstream answers 400 INVALID_ARGUMENT to a maxOutputTokens over the model's limit, to a
 * thinking budget over the model's, and to a budget that leaves no room for the answer. */
static void fit_generation(yyjson_mut_doc *d, yyjson_mut_val *body,
                           const struct ag_upstream_target *t)
{
    yyjson_mut_val *gc = yyjson_mut_obj_get(body, "generationConfig");
    yyjson_mut_val *tc = yyjson_mut_obj_get(gc, "thinkingConfig");
    int64_t limit = t->max_output_tokens, budget = obj_int(tc, "thinkingBudget", -1);
    int64_t max = obj_int(gc, "maxOutputTokens", -1), want = max;
    if (!yyjson_mut_is_obj(gc))
        return;
    if (budget > 0 && t->thinking_budget_max > 0 && budget > t->thinking_budget_max)
        budget = t->thinking_budget_max;
    if (limit > 0 && max > limit)
        max = limit;
    /* Without a known limit a missing max stays missing: the upstream's default is then the
     * model's own maximum, and a made-up one could exceed it. */
    if (budget > 0 && max <= budget && (max >= 0 || limit > 0)) {
        max = budget + (max < 0 ? ANSWER_ROOM_DEFAULT : ANSWER_ROOM_RAISED);
        if (limit > 0 && max > limit)
            max = limit;
        if (max <= budget) /* the limit itself is too small: the thoughts give way */
            budget = max - (max / 2 < ANSWER_ROOM_RAISED ? max / 2 : ANSWER_ROOM_RAISED);
    }
    if (max != want)
        obj_set_int(d, gc, "maxOutputTokens", max);
    if (budget != obj_int(tc, "thinkingBudget", -1))
        obj_set_int(d, tc, "thinkingBudget", budget);
}

/* countTokens' request is {"model": "models/<id>", "contents": [...]} (the shape Gemini CLI
 * sends): it has no place for the system instruction or the tools, which count as input all the
 * same. They go first, as one user turn of text (the system parts, then the tool declarations as
 * JSON), so that the count covers what a generation with this request would be charged for. */
static yyjson_mut_val *count_request(yyjson_mut_doc *d, struct ag_arena *arena,
                                     const struct ag_request *req,
                                     const struct ag_gemini_body_opts *o,
                                     const struct ag_upstream_target *t)
{
    int err = 0;
    const char *why = NULL;
    yyjson_mut_val *body = ag_gemini_body_build(d, arena, req, o, &err, &why);
    yyjson_mut_val *out = yyjson_mut_obj(d), *contents, *pre = yyjson_mut_arr(d), *p, *v;
    char *model = ag_arena_cat(arena, "models/", t->model);
    size_t idx, max;
    if (!body || !model || !out || !pre)
        return NULL;
    contents = yyjson_mut_obj_get(body, "contents");
    yyjson_mut_arr_foreach(
        yyjson_mut_obj_get(yyjson_mut_obj_get(body, "systemInstruction"), "parts"), idx, max, p)
    {
        if ((v = yyjson_mut_obj_get(p, "text")))
            yyjson_mut_obj_add_val(d, yyjson_mut_arr_add_obj(d, pre), "text",
                                   yyjson_mut_val_mut_copy(d, v));
    }
    if ((v = yyjson_mut_obj_get(body, "tools"))) {
        struct ag_str text = ag_json_mut_text(arena, v);
        if (!text.p)
            return NULL;
        ag_json_add_str(d, yyjson_mut_arr_add_obj(d, pre), "text", text);
    }
    yyjson_mut_obj_add_strcpy(d, out, "model", model);
    if (yyjson_mut_arr_size(pre)) {
        yyjson_mut_val *first = yyjson_mut_obj(d), *all = yyjson_mut_arr(d);
        yyjson_mut_obj_add_str(d, first, "role", "user");
        yyjson_mut_obj_add_val(d, first, "parts", pre);
        yyjson_mut_arr_append(all, first);
        yyjson_mut_arr_foreach(contents, idx, max, v)
        {
            yyjson_mut_arr_append(all, yyjson_mut_val_mut_copy(d, v));
        }
        contents = all;
    }
    yyjson_mut_obj_add_val(d, out, "contents", contents ? contents : yyjson_mut_arr(d));
    return out;
}

static int cc_encode_request(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                             const struct ag_upstream_target *t, struct ag_upstream_call *out)
{
    yyjson_alc alc;
    struct ag_arena *tmp = ag_proto_scratch(ctx);
    ag_json_arena_alc(&alc, tmp);
    yyjson_mut_doc *d = yyjson_mut_doc_new(&alc);
    if (!d)
        return AG_ETOOBIG;
    struct ag_gemini_body_opts o = {
        .model = t->model, .cloudcode = true, .session_id = t->session_id};
    memset(out, 0, sizeof(*out));
    yyjson_mut_val *env = yyjson_mut_obj(d);
    if (req->kind == AG_REQ_COUNT_TOKENS) {
        /* countTokens takes only {"request": {...}}: model and project are rejected there. */
        o.session_id = AG_STR_NULL;
        yyjson_mut_val *creq = count_request(d, tmp, req, &o, t);
        if (!creq)
            return AG_ETOOBIG;
        yyjson_mut_obj_add_val(d, env, "request", creq);
        out->method = "countTokens";
    } else {
        int err = 0;
        const char *why = NULL;
        yyjson_mut_val *body = ag_gemini_body_build(d, tmp, req, &o, &err, &why);
        if (!body)
            return err ? err : AG_ETOOBIG;
        fit_generation(d, body, t);
        char *rid = ag_arena_cat(tmp, "agent/", ctx->request_id);
        if (!rid)
            return AG_ETOOBIG;
        ag_json_add_str(d, env, "project", t->project);
        yyjson_mut_obj_add_strcpy(d, env, "requestId", rid);
        yyjson_mut_obj_add_val(d, env, "request", body);
        ag_json_add_str(d, env, "model", t->model);
        ag_json_add_str(d, env, "userAgent",
                        t->user_agent.len ? t->user_agent : AG_STR("antigravity"));
        ag_json_add_str(d, env, "requestType",
                        t->request_type.len ? t->request_type
                        : req->image.on     ? AG_STR("image_gen")
                                            : AG_STR("agent"));
        if (req->image.on) {
            out->method = "generateContent"; /* one JSON answer: images do not stream */
        } else {
            out->method = "streamGenerateContent";
            out->query = "alt=sse";
            out->stream = true;
        }
    }
    out->body = ag_json_mut_text(ctx->arena, env);
    if (!out->body.p)
        return AG_ETOOBIG;
    if (ctx->max_body && out->body.len > ctx->max_body)
        return AG_ETOOBIG;
    return 0;
}

static struct ag_upstream_decoder *cc_decoder_new(const struct ag_proto_ctx *ctx,
                                                  const struct ag_request *req,
                                                  const struct ag_upstream_target *t)
{
    struct cc_decoder *st = ag_arena_calloc(ctx->arena, sizeof(*st));
    if (!st)
        return NULL;
    st->base.proto = &ag_proto_cloudcode;
    st->arena = ctx->arena;
    st->max_depth = ag_json_depth_limit(ctx->max_json_depth);
    st->count_tokens = req->kind == AG_REQ_COUNT_TOKENS;
    st->image = req->image.on && !st->count_tokens;
    ag_gemini_dec_init(&st->dec, ctx->arena, ctx->request_id, t->model);
    return &st->base;
}

/* The upstream sent something unusable: an error event (502) for the client. too_deep: it was
 * JSON, but nested deeper than the limit. */
static int malformed(struct cc_decoder *st, ag_event_cb cb, void *ud, bool too_deep)
{
    struct ag_str msg = AG_STR("upstream sent data that is not JSON");
    if (too_deep) {
        char *m = ag_arena_printf(st->arena, "upstream sent " AG_JSON_DEPTH_MSG, st->max_depth);
        msg = m ? ag_str_c(m) : AG_STR("upstream sent JSON nested too deeply");
    }
    int rc = ag_event_upstream_failed(cb, ud, msg, &st->dec.failed);
    return rc ? rc : AG_EPARSE;
}

/* Parses one payload outside the arena (streams can be long; the arena keeps only what events
 * keep), in the thread's reusable reader memory. */
static int decode_payload(struct cc_decoder *st, struct ag_str payload, ag_event_cb cb, void *ud,
                          bool whole)
{
    payload = ag_str_trim(payload);
    while (payload.len &&
           (payload.p[payload.len - 1] == '\r' || payload.p[payload.len - 1] == '\n'))
        payload.len--;
    if (!payload.len || ag_str_eq_c(payload, "[DONE]"))
        return 0;
    int jerr;
    yyjson_doc *doc = ag_json_event_read(payload, st->max_depth, &jerr);
    if (!doc)
        return malformed(st, cb, ud, jerr == AG_EDEPTH);
    yyjson_val *root = yyjson_doc_get_root(doc);
    yyjson_val *resp = yyjson_obj_get(root, "response");
    if (!yyjson_is_obj(resp))
        resp = root;
    int rc;
    if (st->count_tokens && whole) {
        yyjson_val *tt = yyjson_obj_get(resp, "totalTokens");
        if (yyjson_is_obj(yyjson_obj_get(resp, "error"))) {
            rc = ag_gemini_dec_response(&st->dec, resp, cb, ud);
        } else {
            struct ag_event ev = {.type = AG_EV_START};
            st->dec.started = true;
            rc = cb(ud, &ev);
            if (!rc) {
                struct ag_event u = {.type = AG_EV_USAGE};
                u.usage.input = u.usage.total = yyjson_get_sint(tt);
                rc = cb(ud, &u);
            }
        }
    } else {
        rc = ag_gemini_dec_response(&st->dec, resp, cb, ud);
    }
    ag_json_event_free(doc);
    return rc;
}

static int cc_decode_event(struct ag_upstream_decoder *dec, struct ag_str payload, ag_event_cb cb,
                           void *ud)
{
    struct cc_decoder *st = (struct cc_decoder *)dec;
    struct watch w = {st, cb, ud};
    if (st->image)
        return decode_payload(st, payload, watch_cb, &w, false);
    return decode_payload(st, payload, cb, ud, false);
}

static int cc_decode_end(struct ag_upstream_decoder *dec, ag_event_cb cb, void *ud)
{
    struct cc_decoder *st = (struct cc_decoder *)dec;
    struct watch w = {st, cb, ud};
    if (!st->image)
        return ag_gemini_dec_end(&st->dec, cb, ud);
    int rc = ag_gemini_dec_end(&st->dec, watch_cb, &w);
    return rc ? rc : image_verdict(st, cb, ud);
}

static int cc_decode_response(struct ag_upstream_decoder *dec, struct ag_str body, ag_event_cb cb,
                              void *ud)
{
    struct cc_decoder *st = (struct cc_decoder *)dec;
    struct watch w = {st, cb, ud};
    ag_event_cb use = st->image ? watch_cb : cb;
    void *use_ud = st->image ? (void *)&w : ud;
    int rc = decode_payload(st, body, use, use_ud, true);
    if (rc)
        return rc;
    rc = ag_gemini_dec_end(&st->dec, use, use_ud);
    return rc ? rc : image_verdict(st, cb, ud);
}

const struct ag_upstream_proto ag_proto_cloudcode = {
    .name = "cloudcode",
    .encode_request = cc_encode_request,
    .decoder_new = cc_decoder_new,
    .decode_event = cc_decode_event,
    .decode_end = cc_decode_end,
    .decode_response = cc_decode_response,
};
