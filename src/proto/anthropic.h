/* proto/anthropic.h: the Anthropic Messages client adapter (POST /v1/messages and
 * /v1/messages/count_tokens). The request side lives in anthropic.c, the output side (SSE events,
 * message bodies, errors, the adapter table) in anthropic_out.c, and the helpers the relay calls
 * around routing (target-aware history normalisation, signature stripping, background-task texts,
 * the local token estimate) in anthropic_fit.c.
 *
 * What the decoder records beyond the canonical request (facts that have no canonical field)
 * lives in struct ag_anthropic_request, which embeds the canonical request first; the relay gets
 * it back with ag_anthropic_request_of() for requests this adapter decoded. */
#ifndef AG_PROTO_ANTHROPIC_H
#define AG_PROTO_ANTHROPIC_H

#include "proto/adapter.h"

/** Anthropic-only facts of a decoded request. All slices live in the request's arena. */
struct ag_anthropic_request {
    struct ag_request req; /* must stay first */
    /* Stop sequences are enforced by the output side, not sent upstream: Gemini reports a hit
     * as a plain STOP, so only local matching can answer stop_reason "stop_sequence" with the
     * sequence that matched (see anthropic_out.c). */
    struct ag_str stop[AG_MAX_STOP];
    size_t n_stop;
    bool web_search;      /* a server web_search tool was declared (not forwarded as a function) */
    int n_server_tools;   /* server / Anthropic-defined tools recognised and not forwarded */
    bool foreign_history; /* history had thinking without a signature (another provider's) */
    /* For route/'s background-task detection: the system text (blocks joined by
     * "\n") and the last user message that is non-empty, does not start with "Warmup" and does
     * not contain "<system-reminder>" (its text blocks joined by a space). */
    struct ag_str system_text;
    struct ag_str user_text;
    int64_t client_max_tokens; /* max_tokens as sent (-1 when absent), before any adjustment */
};

/**
 * The Anthropic facts of req, which must have been decoded by ag_proto_anthropic (the relay knows
 * which adapter it used). Borrowed; lives as long as req.
 */
static inline struct ag_anthropic_request *ag_anthropic_request_of(struct ag_request *req)
{
    return (struct ag_anthropic_request *)req;
}

/** Decodes a /v1/messages body (count_tokens when hints->count_tokens; see adapter.h). */
int ag_anthropic_decode(const struct ag_proto_ctx *ctx, struct ag_str body,
                        const struct ag_client_hints *hints, struct ag_request **out,
                        struct ag_proto_error *err);

/**
 * True once the stream encoder has written message_stop because a stop sequence matched: the
 * relay should cancel the upstream transfer then (later events are ignored anyway).
 */
bool ag_anthropic_stream_done(const struct ag_client_stream *st);

/**
 * Fits the decoded history to the routed target model. Call after routing
 * and after the route's thinking default was applied, again whenever an attempt changes the
 * target model's family. For a Claude-family target with thinking on, a tool loop whose latest
 * assistant turn does not open with a thinking block signed by the same family cannot be
 * continued with thinking (Claude answers "Expected `thinking` … but found `tool_use`"): thinking
 * is turned off for this request. With thinking off on a Claude target, signed thinking in the
 * history is not replayed. Returns true when thinking was turned off here.
 */
bool ag_anthropic_fit_target(struct ag_request *req, struct ag_str target_model);

/**
 * Forgets every signature in the history (thinking is then dropped on encode, Gemini function
 * calls get the skip sentinel). For the relay's one retry after an upstream 400 that complains
 * about a signature; call ag_anthropic_fit_target again afterwards.
 */
void ag_anthropic_drop_signatures(struct ag_request *req);

/** True when an upstream error message looks like a rejected thought signature. */
bool ag_anthropic_is_signature_error(struct ag_str message);

/**
 * A local estimate of the input tokens of req (system, messages, tools), for count_tokens when
 * the upstream cannot count. An estimate only: about 4 ASCII characters or 1.5 other characters
 * per token, fixed costs for media, per-message and per-tool overheads.
 */
int64_t ag_anthropic_estimate_tokens(const struct ag_request *req);

#endif
