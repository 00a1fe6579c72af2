/* proto/gemini_api.c: the upstream adapter for the public Gemini API (generativelanguage, an AI
 * Studio key): the same GenerateContentRequest body as Cloud Code (gemini_body.c) without the
 * envelope, sent to <base>/v1beta/models/<model>:streamGenerateContent?alt=sse (count requests:
 * :countTokens with the whole request as generateContentRequest, so the system instruction and
 * the tools count too), and its answers unwrapped, decoded by gemini_dec.c. */
#include <string.h>

#include "core/err.h"
#include "proto/adapter.h"
#include "proto/gemini_body.h"
#include "proto/gemini_dec.h"
#include "proto/json.h"

struct ga_decoder {
    struct ag_upstream_decoder base;
    struct ag_gemini_dec dec;
    size_t max_depth;
    bool count;
};

static int ga_encode_request(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                             const struct ag_upstream_target *t, struct ag_upstream_call *out)
{
    yyjson_alc alc;
    int err = 0;
    const char *why = NULL;
    struct ag_arena *tmp = ag_proto_scratch(ctx);
    memset(out, 0, sizeof(*out));
    ag_json_arena_alc(&alc, tmp);
    yyjson_mut_doc *d = yyjson_mut_doc_new(&alc);
    if (!d)
        return AG_ETOOBIG;
    struct ag_gemini_body_opts o = {.model = t->model};
    yyjson_mut_val *body = ag_gemini_body_build(d, tmp, req, &o, &err, &why);
    if (!body)
        return err ? err : AG_ETOOBIG;
    bool count = req->kind == AG_REQ_COUNT_TOKENS;
    out->method = count           ? "countTokens"
                  : req->image.on ? "generateContent"
                                  : "streamGenerateContent";
    out->query = count || req->image.on ? NULL : "alt=sse";
    out->stream = out->query != NULL;
    if (count) {
        yyjson_mut_val *wrap = yyjson_mut_obj(d);
        char *model = ag_arena_printf(tmp, "models/%.*s", (int)t->model.len, t->model.p);
        if (!model)
            return AG_ETOOBIG;
        yyjson_mut_obj_add_strcpy(d, body, "model", model);
        yyjson_mut_obj_add_val(d, wrap, "generateContentRequest", body);
        body = wrap;
    }
    char *path =
        ag_arena_printf(ctx->arena, "/v1beta/models/%.*s:%s%s%s", (int)t->model.len, t->model.p,
                        out->method, out->query ? "?" : "", out->query ? out->query : "");
    out->body = ag_json_mut_text(ctx->arena, body);
    if (!path || !out->body.p)
        return AG_ETOOBIG;
    out->path = path;
    if (ctx->max_body && out->body.len > ctx->max_body)
        return AG_ETOOBIG;
    return 0;
}

static struct ag_upstream_decoder *ga_decoder_new(const struct ag_proto_ctx *ctx,
                                                  const struct ag_request *req,
                                                  const struct ag_upstream_target *t)
{
    struct ga_decoder *st = ag_arena_calloc(ctx->arena, sizeof(*st));
    if (!st)
        return NULL;
    st->base.proto = &ag_proto_gemini_api;
    st->max_depth = ag_json_depth_limit(ctx->max_json_depth);
    st->count = req->kind == AG_REQ_COUNT_TOKENS;
    ag_gemini_dec_init(&st->dec, ctx->arena, ctx->request_id, t->model);
    return &st->base;
}

static int decode_text(struct ga_decoder *st, struct ag_str payload, bool whole, ag_event_cb cb,
                       void *ud)
{
    payload = ag_str_trim(payload);
    if (!payload.len || ag_str_eq_c(payload, "[DONE]"))
        return 0;
    int jerr, rc;
    yyjson_doc *doc = ag_json_depth_read(payload.p, payload.len, st->max_depth, NULL, NULL, &jerr);
    if (!doc) {
        rc = ag_event_upstream_failed(cb, ud,
                                      jerr == AG_EDEPTH
                                          ? AG_STR("upstream sent JSON nested too deeply")
                                          : AG_STR("upstream sent data that is not JSON"),
                                      &st->dec.failed);
        return rc ? rc : AG_EPARSE;
    }
    yyjson_val *root = yyjson_doc_get_root(doc);
    if (yyjson_is_arr(root)) /* an error may come as a one-element array */
        root = yyjson_arr_get_first(root);
    if (st->count && whole && !yyjson_is_obj(yyjson_obj_get(root, "error"))) {
        struct ag_event ev = {.type = AG_EV_START};
        int64_t n = 0;
        st->dec.started = true;
        rc = cb(ud, &ev);
        if (!rc) {
            ag_json_int(yyjson_obj_get(root, "totalTokens"), AG_USAGE_MAX, &n);
            struct ag_event u = {.type = AG_EV_USAGE};
            u.usage.input = u.usage.total = n;
            rc = cb(ud, &u);
        }
    } else {
        rc = ag_gemini_dec_response(&st->dec, root, cb, ud);
    }
    yyjson_doc_free(doc);
    return rc;
}

static int ga_decode_event(struct ag_upstream_decoder *dec, struct ag_str payload, ag_event_cb cb,
                           void *ud)
{
    return decode_text((struct ga_decoder *)dec, payload, false, cb, ud);
}

static int ga_decode_end(struct ag_upstream_decoder *dec, ag_event_cb cb, void *ud)
{
    return ag_gemini_dec_end(&((struct ga_decoder *)dec)->dec, cb, ud);
}

static int ga_decode_response(struct ag_upstream_decoder *dec, struct ag_str body, ag_event_cb cb,
                              void *ud)
{
    struct ga_decoder *st = (struct ga_decoder *)dec;
    int rc = decode_text(st, body, true, cb, ud);
    return rc ? rc : ag_gemini_dec_end(&st->dec, cb, ud);
}

const struct ag_upstream_proto ag_proto_gemini_api = {
    .name = "gemini",
    .encode_request = ga_encode_request,
    .decoder_new = ga_decoder_new,
    .decode_event = ga_decode_event,
    .decode_end = ga_decode_end,
    .decode_response = ga_decode_response,
};
