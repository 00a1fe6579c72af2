/* relay/relay_internal.h: what the relay's files share — the relay object, the per-protocol hooks
 * (what one client protocol needs beyond its proto/ adapter: Anthropic's background model and
 * signature retry, count_tokens estimates, ...) and the entry point the route handlers call. */
#ifndef AG_RELAY_RELAY_INTERNAL_H
#define AG_RELAY_RELAY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/hash.h"
#include "keys/keys.h"
#include "proto/adapter.h"
#include "relay/record.h"
#include "relay/thinking_store.h"
#include "route/mapping.h"
#include "upstream/errclass.h"

struct ag_config;
struct ag_http_req;
struct ag_pool;
struct ag_upstream_client;
struct ag_response_store;
struct ag_state;

/**
 * Who made a request, as stored state sees it: when the auth mode in force required a key for
 * the AI routes, or the request showed an active user key (checked in every mode), the SHA-256 of
 * the credential the request presented (bound); otherwise nobody in particular (not bound). Stored
 * responses are visible only to their owner (response_store.h).
 */
struct ag_relay_owner {
    bool bound;
    unsigned char sha256[AG_SHA256_SIZE];
    /* A WebSocket's own memory (http/ws.h), NULL over HTTP: the last response of the socket, for
     * a client continuing by id what it did not ask to store (store: false). */
    struct ag_http_memo *memo;
    /* The user key the caller showed, if any, and this request's hold on its limits
     * (relay/keys_hook.h): taken after decoding, given back when the request is recorded. */
    struct ag_keys_ticket key;
};

/** Fills o for req under the configuration cfg (relay/owner.c). o->memo is req's. */
void ag_relay_owner_of(struct ag_relay_owner *o, const struct ag_config *cfg,
                       const struct ag_http_req *req);

/** The owner digest to give the response store: NULL when o is not bound. */
static inline const unsigned char *ag_relay_owner_key(const struct ag_relay_owner *o)
{
    return o->bound ? o->sha256 : NULL;
}

/**
 * Names the conversation of creq from the request's headers when the client sends one
 * (relay/session_key.c: x-claude-code-session-id, Codex thread-id / session-id, any
 * x-<tool>-session-id; a sub-agent's x-<tool>-agent-id makes it a conversation of its own):
 * creq->session_key becomes "hdr-" + 16 hex digits (in arena). Without such a header the key the
 * decoder set stays. 0 or AG_ETOOBIG (arena cap).
 */
int ag_relay_session_key(const struct ag_http_req *req, struct ag_arena *arena,
                         struct ag_request *creq);

/**
 * The upstream sessionId (a signed decimal number, cap >= 21) for a request: one per conversation
 * (from session_key) so each keeps its own prompt cache, or, for a request without a key, one per
 * account.
 */
void ag_relay_upstream_session(struct ag_str session_key, const char *account_id, char *out,
                               size_t cap);

/**
 * The thinking store's key of a conversation: its session key, bound to the caller when the auth
 * mode names one (so one key's conversations never see another's thinking). Empty when the request
 * has no session key. In arena.
 */
struct ag_str ag_relay_thinking_conv(struct ag_arena *arena, const struct ag_relay_owner *owner,
                                     struct ag_str session_key);

struct ag_cloudcode_call;
struct ag_cloudcode_call_spec;

/**
 * The upstream calls the relay makes, as upstream/cloudcode.h has them
 * (ag_relay_upstream_cloudcode). A test may put a fake in struct ag_relay.upstream before the
 * first request.
 */
struct ag_relay_upstream {
    struct ag_cloudcode_call *(*start)(struct ag_upstream_client *client,
                                       const struct ag_cloudcode_call_spec *spec, int *err);
    void (*cancel)(struct ag_cloudcode_call *call);
    void (*pause)(struct ag_cloudcode_call *call);
    void (*resume)(struct ag_cloudcode_call *call);
    struct ag_str (*header)(const struct ag_cloudcode_call *call, const char *name);
};

/**
 * How the relay answers a client, as http/server.h has it (ag_relay_client_http). A test may put
 * a fake in struct ag_relay.conn before the first request.
 */
struct ag_relay_client {
    int (*add_header)(struct ag_http_req *req, const char *name, struct ag_str value);
    int (*respond_json)(struct ag_http_req *req, int status, const char *json, size_t len);
    int (*stream_begin)(struct ag_http_req *req, int status, const char *content_type);
    int (*stream_write)(struct ag_http_req *req, const void *data, size_t len);
    int (*stream_end)(struct ag_http_req *req);
    bool (*stream_congested)(const struct ag_http_req *req);
    /* Keep req past its response until release (ag_http_req_hold). */
    void (*hold)(struct ag_http_req *req);
    void (*release)(struct ag_http_req *req);
};

extern const struct ag_relay_upstream ag_relay_upstream_cloudcode;
extern const struct ag_relay_client ag_relay_client_http;

/** Bytes of randomness a relay draws at once for its request ids. */
#define AG_RELAY_ID_POOL         512

#define AG_RELAY_USAGE_REFUSERS  16
#define AG_RELAY_ACCOUNT_ID_SIZE 37 /* AG_ACCOUNT_ID_SIZE (store/accounts.h) */

struct ag_relay {
    uv_loop_t *loop;
    struct ag_config *cfg;
    struct ag_upstream_client *client;
    struct ag_pool *pool;
    struct ag_mapping *mapping;
    void (*on_record)(const struct ag_relay_record *rec, void *ud);
    void *record_ud;
    struct ag_keys *keys;                /* user keys (keys/keys.h); NULL = none */
    struct ag_response_store *responses; /* kept /v1/responses answers */
    struct ag_thinking_store *thinking;  /* recent Claude thinking (thinking_store.h) */
    struct ag_writer *writer;            /* keeps thinking in the database; may be NULL */
    size_t active;
    uint64_t keepalive_ms;
    unsigned char id_pool[AG_RELAY_ID_POOL]; /* random bytes for request ids, used from the end */
    size_t id_pool_left;
    const struct ag_relay_upstream *upstream; /* the upstream calls (a test's fake) */
    const struct ag_relay_client *conn;       /* the client's side (a test's fake) */
    struct ag_state *state; /* shares the stores with other instances (shared.h); may be NULL */
    /* API-key accounts that refused stream_options (plan.c): their streams are not asked for
     * usage again; the oldest is forgotten first */
    char usage_refusers[AG_RELAY_USAGE_REFUSERS][AG_RELAY_ACCOUNT_ID_SIZE];
    size_t usage_refusers_next;
};

/**
 * One client protocol as the relay drives it: its adapter and optional hooks (NULL = none). The
 * hooks see the decoded request in its arena and may change it.
 */
struct ag_relay_proto {
    const struct ag_client_proto *cp;

    /**
     * After routing (route holds the mapped model, thinking default applied): may re-route (e.g.
     * a background-task model) and fit the request to the target. m is the mapping in force.
     */
    void (*after_route)(struct ag_request *req, struct ag_route_result *route,
                        const struct ag_mapping *m);

    /**
     * An upstream refusal before the client saw a byte: return true after changing the request so
     * that one more attempt can succeed (e.g. stripping rejected thought signatures). Called at
     * most once per request.
     */
    bool (*fix_for_retry)(struct ag_request *req, const struct ag_route_result *route,
                          const struct ag_errclass *ec);

    /** True when the stream encoder has finished on its own (e.g. a stop sequence matched). */
    bool (*stream_done)(const struct ag_client_stream *st);

    /** A local input-token estimate for count requests the upstream could not count. */
    int64_t (*estimate_tokens)(const struct ag_request *req);

    /**
     * After decoding, before routing: may complete the request from gateway state (a stored
     * conversation). Returns 0, or an error with err filled (answered in the client's format).
     */
    int (*prepare)(struct ag_relay *r, const struct ag_proto_ctx *ctx,
                   const struct ag_relay_owner *who, struct ag_request *req,
                   struct ag_proto_error *err);

    /**
     * The client's stream has begun: a copy of req in arena holding what the protocol's stream
     * encoder and on_finish still read (model, flags, stop sequences), without the history, system
     * text and tools the upstream body was built from. NULL on arena cap. A protocol without it
     * keeps its whole request to the end.
     */
    struct ag_request *(*stream_keep)(struct ag_arena *arena, const struct ag_request *req);

    /**
     * The answer is complete (collected: answer set; streamed: enc set, after stream_finish),
     * failed or not: e.g. keep it for later lookups (bound to who).
     */
    void (*on_finish)(struct ag_relay *r, const struct ag_proto_ctx *ctx,
                      const struct ag_relay_owner *who, const struct ag_request *req,
                      const struct ag_answer *answer, struct ag_client_stream *enc);
};

extern const struct ag_relay_proto ag_relay_openai_chat;
extern const struct ag_relay_proto ag_relay_openai_completions;
extern const struct ag_relay_proto ag_relay_gemini;
extern const struct ag_relay_proto ag_relay_anthropic;
extern const struct ag_relay_proto ag_relay_openai_responses;
extern const struct ag_relay_proto ag_relay_openai_images;
extern const struct ag_relay_proto ag_relay_openai_image_edits;

/** Runs one AI request through the relay (the route handlers' single entry point). */
void ag_relay_start(struct ag_relay *r, struct ag_http_req *req, const struct ag_relay_proto *rp,
                    const struct ag_client_hints *hints);

#endif
