/* relay/protos.c: the client protocols the relay serves, with the hooks each one needs beyond its
 * proto/ adapter. */
#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "http/ws.h"
#include "proto/anthropic.h"
#include "proto/images.h"
#include "proto/responses.h"
#include "relay/relay_internal.h"
#include "relay/response_store.h"
#include "relay/shared.h"

#include <stdio.h>

/* OpenAI chat, Responses and Gemini: an image model makes an image request (image_gen with the
 * ratio and size), and the history is fitted to the target's family (a Claude turn's thinking comes
 * back as reasoning text plus the signature its tool call carried). */
static void fit_after_route(struct ag_request *req, struct ag_route_result *route,
                            const struct ag_mapping *m)
{
    (void)m;
    if (route->image && req->kind == AG_REQ_GENERATE)
        ag_images_fit_chat(req, route->aspect_ratio, route->image_size);
    ag_request_fit_target(req, ag_str_c(route->model));
}

/* A 400 naming a thought signature: drop every signature and try once more. */
static bool fit_fix_for_retry(struct ag_request *req, const struct ag_route_result *route,
                              const struct ag_errclass *ec)
{
    if (ec->kind != AG_ERRCLASS_BAD_REQUEST ||
        !ag_anthropic_is_signature_error(ag_str_c(ec->message)))
        return false;
    ag_anthropic_drop_signatures(req);
    ag_request_fit_target(req, ag_str_c(route->model));
    return true;
}

/* What a begun stream still reads of a request, copied into a: its kind, model, flags and settings.
 * The history, system text, tools, schema and safety settings (the upstream body's material) stay
 * behind. false on arena cap. */
static bool keep_strs(struct ag_arena *a, struct ag_str *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!s[i].p)
            continue;
        s[i] = ag_arena_str(a, s[i]);
        if (!s[i].p)
            return false;
    }
    return true;
}

static bool keep_core(struct ag_arena *a, const struct ag_request *src, struct ag_request *dst)
{
    *dst = *src;
    dst->system = NULL;
    dst->n_system = 0;
    dst->messages = NULL;
    dst->n_messages = 0;
    dst->tools = NULL;
    dst->n_tools = 0;
    dst->gen.schema = AG_STR_NULL;
    dst->safety_json = AG_STR_NULL;
    struct ag_str one[] = {
        dst->model,           dst->tool_choice_name,   dst->session_key,     dst->user,
        dst->gen.schema_name, dst->image.aspect_ratio, dst->image.image_size};
    if (!keep_strs(a, one, sizeof(one) / sizeof(one[0])) ||
        !keep_strs(a, dst->gen.stop, dst->gen.n_stop))
        return false;
    dst->model = one[0];
    dst->tool_choice_name = one[1];
    dst->session_key = one[2];
    dst->user = one[3];
    dst->gen.schema_name = one[4];
    dst->image.aspect_ratio = one[5];
    dst->image.image_size = one[6];
    return true;
}

static struct ag_request *keep_request(struct ag_arena *a, const struct ag_request *req)
{
    struct ag_request *k = ag_arena_alloc(a, sizeof(*k));
    return k && keep_core(a, req, k) ? k : NULL;
}

/* Anthropic's stream encoder also matches the client's stop sequences. */
static struct ag_request *keep_anthropic(struct ag_arena *a, const struct ag_request *req)
{
    const struct ag_anthropic_request *src = (const struct ag_anthropic_request *)req;
    struct ag_anthropic_request *k = ag_arena_alloc(a, sizeof(*k));
    if (!k)
        return NULL;
    *k = *src;
    k->system_text = AG_STR_NULL;
    k->user_text = AG_STR_NULL;
    if (!keep_core(a, &src->req, &k->req) || !keep_strs(a, k->stop, k->n_stop))
        return NULL;
    return &k->req;
}

const struct ag_relay_proto ag_relay_openai_chat = {
    .cp = &ag_proto_openai_chat,
    .after_route = fit_after_route,
    .fix_for_retry = fit_fix_for_retry,
    .stream_keep = keep_request,
};
const struct ag_relay_proto ag_relay_openai_completions = {
    .cp = &ag_proto_openai_completions,
    .stream_keep = keep_request,
};
const struct ag_relay_proto ag_relay_gemini = {
    .cp = &ag_proto_gemini,
    .after_route = fit_after_route,
    .fix_for_retry = fit_fix_for_retry,
    .stream_keep = keep_request,
};

/* Anthropic: background tasks go to the background model (without thinking), and the history is
 * fitted to the target's family (signatures, thinking) — again after any re-route. */
static void anthropic_after_route(struct ag_request *req, struct ag_route_result *route,
                                  const struct ag_mapping *m)
{
    struct ag_anthropic_request *ar = ag_anthropic_request_of(req);
    struct ag_background_req bg = {
        .system_text = ar->system_text,
        .user_text = ar->user_text,
        .max_tokens = ar->client_max_tokens,
        .has_tools = req->n_tools > 0,
    };
    struct ag_route_result bg_route;
    if (req->kind == AG_REQ_GENERATE && ag_mapping_background(m, NULL, &bg, &bg_route) == 1) {
        *route = bg_route;
        req->thinking.mode = AG_OFF;
    }
    ag_anthropic_fit_target(req, ag_str_c(route->model));
}

/* A 400 naming a thought signature: drop every signature and try once more (Antigravity Manager
 * meant to do this and never set its retry flag). */
static bool anthropic_fix_for_retry(struct ag_request *req, const struct ag_route_result *route,
                                    const struct ag_errclass *ec)
{
    if (ec->kind != AG_ERRCLASS_BAD_REQUEST ||
        !ag_anthropic_is_signature_error(ag_str_c(ec->message)))
        return false;
    ag_anthropic_drop_signatures(req);
    ag_anthropic_fit_target(req, ag_str_c(route->model));
    return true;
}

const struct ag_relay_proto ag_relay_anthropic = {
    .cp = &ag_proto_anthropic,
    .after_route = anthropic_after_route,
    .fix_for_retry = anthropic_fix_for_retry,
    .stream_done = ag_anthropic_stream_done,
    .estimate_tokens = ag_anthropic_estimate_tokens,
    .stream_keep = keep_anthropic,
};

/* Responses API: previous_response_id continues a kept conversation; store keeps the answer. Over
 * a WebSocket the socket's memo also keeps its last response, stored or not (OpenAI's WebSocket
 * mode continues store: false conversations on the same connection). */
static int responses_prepare(struct ag_relay *r, const struct ag_proto_ctx *ctx,
                             const struct ag_relay_owner *who, struct ag_request *req,
                             struct ag_proto_error *err)
{
    const struct ag_responses_meta *meta = ag_responses_meta_of(req);
    if (!meta->previous_response_id.len)
        return 0;
    char id[80];
    snprintf(id, sizeof(id), "%.*s", (int)meta->previous_response_id.len,
             meta->previous_response_id.p);
    struct ag_str stored = ag_http_memo_get(who->memo, ag_str_c(id));
    /* Another caller's response is answered exactly like an unknown id. */
    if (!stored.p)
        stored = ag_response_store_get(r->responses, meta->previous_response_id,
                                       ag_relay_owner_key(who), ag_wall_ms());
    if (!stored.p) {
        ag_responses_not_found(err, ctx->arena, meta->previous_response_id, true);
        return AG_ENOTFOUND;
    }
    return ag_responses_continue(ctx, req, stored, err);
}

static void responses_finish(struct ag_relay *r, const struct ag_proto_ctx *ctx,
                             const struct ag_relay_owner *who, const struct ag_request *req,
                             const struct ag_answer *answer, struct ag_client_stream *enc)
{
    const struct ag_responses_meta *meta = ag_responses_meta_of(req);
    struct ag_buf b;
    char id[64];
    if ((!meta->store && !who->memo) || !ctx->request_id.len)
        return;
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    int rc = enc ? ag_responses_stream_store(enc, &b) : ag_responses_store(ctx, req, answer, &b);
    snprintf(id, sizeof(id), "resp_%.*s", (int)ctx->request_id.len, ctx->request_id.p);
    if (!rc && who->memo && ag_http_memo_put(who->memo, ag_str_c(id), ag_buf_str(&b)))
        ag_log_info("responses: %s is too large to keep on its WebSocket", id);
    if (!rc && meta->store)
        rc = ag_response_store_put(r->responses, ag_str_c(id), ag_relay_owner_key(who),
                                   ag_buf_str(&b), ag_wall_ms());
    if (!rc && meta->store)
        ag_relay_shared_response_put(r, id, ag_relay_owner_key(who), ag_buf_str(&b));
    if (rc)
        ag_log_warn("responses: could not keep %s: %s", id, ag_strerror(rc));
    ag_buf_dispose(&b);
}

const struct ag_relay_proto ag_relay_openai_responses = {
    .cp = &ag_proto_openai_responses,
    .prepare = responses_prepare,
    .after_route = fit_after_route,
    .fix_for_retry = fit_fix_for_retry,
    .on_finish = responses_finish,
};

/* Images: the model name's size/ratio suffixes fill what the client's fields left open. */
static void images_after_route(struct ag_request *req, struct ag_route_result *route,
                               const struct ag_mapping *m)
{
    (void)m;
    ag_images_apply_route(req, route->aspect_ratio, route->image_size);
}

const struct ag_relay_proto ag_relay_openai_images = {
    .cp = &ag_proto_openai_images,
    .after_route = images_after_route,
};

const struct ag_relay_proto ag_relay_openai_image_edits = {
    .cp = &ag_proto_openai_image_edits,
    .after_route = images_after_route,
};
