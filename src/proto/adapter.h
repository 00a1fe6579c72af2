/* proto/adapter.h: the two adapter vtables and the context they run in.
 *
 * A client adapter speaks one client wire protocol (OpenAI chat and legacy completions, OpenAI
 * Responses, OpenAI image generations and edits, Anthropic Messages, Gemini native): it decodes the
 * client's request into the canonical form, turns canonical events into the client's stream frames,
 * renders a collected answer as one JSON body, and renders errors in the protocol's own shape. An
 * upstream adapter speaks one provider protocol (Cloud Code v1internal, the public Gemini API,
 * OpenAI Chat Completions, Anthropic Messages): it encodes the canonical request and decodes the
 * provider's SSE payloads / JSON bodies into canonical events. Adapters are chosen once, by table,
 * from the route (path) and the upstream kind; nothing else switches on protocols.
 *
 * How the relay drives one request:
 *   1. req = client->decode_request(&ctx, body, &hints, &err)   (error: client->encode_error)
 *   2. upstream->encode_request(&ctx, req, &target, &call)      -> POST call.method?call.query
 *   3. dec = upstream->decoder_new(&ctx, req, &target)
 *      stream:     enc = client->stream_new(&ctx, req);
 *                  per SSE data payload: upstream->decode_event(dec, payload, cb, ud) where cb
 *                  calls client->stream_event(enc, ev, out) and writes out to the socket;
 *                  at upstream EOF: upstream->decode_end(dec, cb, ud); client->stream_finish(enc,
 *                  out). Keep-alive: write client->keepalive when idle (if not NULL).
 *      non-stream: the same decode loop with cb = ag_answer_cb into a struct ag_answer, then
 *                  client->encode_response(&ctx, req, &answer, out) (or encode_error when
 *                  answer.failed). A non-stream upstream body goes through decode_response.
 * All adapter state lives in ctx->arena; nothing needs freeing besides the arena.
 */
#ifndef AG_PROTO_ADAPTER_H
#define AG_PROTO_ADAPTER_H

#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "proto/canon.h"

/**
 * Per-request context. Everything random or time-dependent comes from here, so golden tests are
 * deterministic: the relay fills request_id with 32 hex digits of 128 random bits (unguessable:
 * stored responses are fetched by ids derived from it) and now with the wall clock; the golden
 * driver fixes both.
 */
struct ag_proto_ctx {
    struct ag_arena *arena;   /* the request's arena: all adapter memory comes from it */
    struct ag_str request_id; /* unique per request (32 hex digits); seeds generated ids */
    int64_t now;              /* unix seconds, for "created" fields */
    size_t max_body;          /* cap on encoded upstream bodies (server.max_body_bytes); 0 = none */
    size_t max_json_depth;    /* nesting limit of every JSON read (server.max_json_depth); 0 =
                                 AG_JSON_DEPTH_DEFAULT */
    /* Where an upstream encoder builds what it throws away (the body's JSON document, several
     * times the size of its text): freed by the caller right after encode_request, so only the
     * body's text and path stay in arena. NULL = arena. */
    struct ag_arena *scratch;
};

/** The arena for an encoder's temporary work: ctx->scratch, or ctx->arena without one. */
static inline struct ag_arena *ag_proto_scratch(const struct ag_proto_ctx *ctx)
{
    return ctx->scratch ? ctx->scratch : ctx->arena;
}

/* ---- client side ------------------------------------------------------------------------ */

/** What the route knows beyond the body (Gemini puts model and method in the URL). */
struct ag_client_hints {
    struct ag_str model; /* from the path; empty when the body names it */
    bool stream;         /* the method/path asks for a stream (Gemini streamGenerateContent) */
    bool sse;            /* stream as SSE (alt=sse) rather than the protocol's default framing */
    bool count_tokens;   /* the client asks for a token count only (Gemini countTokens) */
    bool warmup; /* prepares a turn without a model call (Responses generate: false): instructions
                    and tools alone are a valid input */
    struct ag_str content_type; /* the request's Content-Type (multipart bodies need it) */
};

/** Base of every client stream encoder's state; adapters embed it first. */
struct ag_client_stream {
    const struct ag_client_proto *proto;
};

struct ag_client_proto {
    const char *name; /* "openai-chat", "openai-completions", "gemini", ... */

    /**
     * Decodes a client body. On success *out is a request in ctx->arena and 0 is returned. On a
     * bad request returns AG_EINVAL (or AG_ETOOBIG on arena cap) and fills err (status, kind,
     * param, message) for encode_error. The body is only borrowed.
     */
    int (*decode_request)(const struct ag_proto_ctx *ctx, struct ag_str body,
                          const struct ag_client_hints *hints, struct ag_request **out,
                          struct ag_proto_error *err);

    /** Creates the stream encoder state in ctx->arena; NULL on arena cap. */
    struct ag_client_stream *(*stream_new)(const struct ag_proto_ctx *ctx,
                                           const struct ag_request *req,
                                           const struct ag_client_hints *hints);

    /** Appends the client frames for one event to out (maybe none); 0 or AG_ETOOBIG. */
    int (*stream_event)(struct ag_client_stream *st, const struct ag_event *ev, struct ag_buf *out);

    /** Appends the closing frames (usage chunk, [DONE], "]"); 0 or AG_ETOOBIG. */
    int (*stream_finish)(struct ag_client_stream *st, struct ag_buf *out);

    /** Renders a collected answer as the protocol's JSON body; 0 or AG_ETOOBIG. */
    int (*encode_response)(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                           const struct ag_answer *answer, struct ag_buf *out);

    /** Renders an error body in the protocol's shape (the caller sends err->status). */
    int (*encode_error)(const struct ag_proto_error *err, struct ag_buf *out);

    /** Keep-alive bytes to write while upstream is silent, or NULL when the protocol has none. */
    const char *keepalive;
};

/* ---- upstream side ---------------------------------------------------------------------- */

/** Where the request goes, decided by route/ and pool/. */
struct ag_upstream_target {
    struct ag_str model;        /* upstream model name after routing */
    struct ag_str project;      /* Cloud Code project id */
    struct ag_str session_id;   /* upstream sessionId (account-derived) */
    struct ag_str user_agent;   /* envelope userAgent; empty = "antigravity" */
    struct ag_str request_type; /* envelope requestType; empty = "agent" */
    /* The model's limits for the account that serves the call (its fetchAvailableModels answer,
     * else the built-in table): generationConfig.maxOutputTokens is capped at max_output_tokens
     * and thinkingConfig.thinkingBudget at thinking_budget_max; with thinking on, maxOutputTokens
     * is set (also when the client gave none) above the budget. 0 = no known limit. */
    uint32_t max_output_tokens;
    uint32_t thinking_budget_max;
};

/** The encoded upstream call: body bytes (in the arena) and the method to call. */
struct ag_upstream_call {
    struct ag_str body;
    const char *method; /* "streamGenerateContent", "generateContent", "countTokens" */
    const char *query;  /* "alt=sse" or NULL */
    bool stream;        /* the answer comes as SSE */
    /* Provider APIs: the path to append to the account's base URL ("/chat/completions",
     * "/v1/messages", "/v1beta/models/<model>:streamGenerateContent"), query included; NULL for
     * Cloud Code, whose URL is built from method and query. Lives in ctx->arena or is static. */
    const char *path;
};

/** Base of every upstream decoder's state; adapters embed it first. */
struct ag_upstream_decoder {
    const struct ag_upstream_proto *proto;
};

struct ag_upstream_proto {
    const char *name; /* "cloudcode", ... */

    /** Encodes the canonical request; 0, AG_EINVAL (unencodable request) or AG_ETOOBIG. */
    int (*encode_request)(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                          const struct ag_upstream_target *target, struct ag_upstream_call *out);

    /** Creates per-answer decoder state in ctx->arena; NULL on arena cap. */
    struct ag_upstream_decoder *(*decoder_new)(const struct ag_proto_ctx *ctx,
                                               const struct ag_request *req,
                                               const struct ag_upstream_target *target);

    /**
     * Decodes one SSE data payload (without "data: ") into zero or more events passed to cb.
     * Returns 0, a negative value returned by cb, or AG_EPARSE for a payload that is not JSON
     * (after emitting an AG_EV_ERROR event for it).
     */
    int (*decode_event)(struct ag_upstream_decoder *dec, struct ag_str payload, ag_event_cb cb,
                        void *ud);

    /** Upstream ended: emits what is still owed (a FINISH when none came). */
    int (*decode_end)(struct ag_upstream_decoder *dec, ag_event_cb cb, void *ud);

    /** Decodes one non-stream JSON body into events (START ... FINISH). */
    int (*decode_response)(struct ag_upstream_decoder *dec, struct ag_str body, ag_event_cb cb,
                           void *ud);
};

/* The adapters of this layer. */
extern const struct ag_client_proto ag_proto_openai_chat;
extern const struct ag_client_proto ag_proto_openai_completions;
extern const struct ag_client_proto ag_proto_gemini;
extern const struct ag_client_proto ag_proto_openai_responses;
extern const struct ag_client_proto ag_proto_anthropic;
extern const struct ag_client_proto ag_proto_openai_images;      /* "openai-images" */
extern const struct ag_client_proto ag_proto_openai_image_edits; /* "openai-image-edits" */
extern const struct ag_upstream_proto ag_proto_cloudcode;
extern const struct ag_upstream_proto ag_proto_gemini_api;    /* "gemini": public Gemini API */
extern const struct ag_upstream_proto ag_proto_anthropic_api; /* "anthropic": Messages API */
extern const struct ag_upstream_proto ag_proto_openai_api;    /* "openai": Chat Completions */

/** Finds a client adapter by name ("openai-chat", "openai-completions", "gemini"); NULL if none. */
const struct ag_client_proto *ag_client_proto_find(const char *name);

/** Finds an upstream adapter by name ("cloudcode", "gemini", "anthropic", "openai"); NULL if
 * none. */
const struct ag_upstream_proto *ag_upstream_proto_find(const char *name);

#endif
