/* relay/protos.c: the client protocols the relay serves, with the hooks each one needs beyond its
 * proto/ adapter. */
#include "proto/anthropic.h"
#include "relay/relay_internal.h"

const struct ag_relay_proto ag_relay_openai_chat = {.cp = &ag_proto_openai_chat};
const struct ag_relay_proto ag_relay_openai_completions = {.cp = &ag_proto_openai_completions};
const struct ag_relay_proto ag_relay_gemini = {.cp = &ag_proto_gemini};

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

/* A 400 naming a thought signature: drop every signature and try once more (the reference meant
 * to do this and never set its retry flag). */
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
};
