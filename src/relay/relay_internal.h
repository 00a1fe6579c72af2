/* relay/relay_internal.h: what the relay's files share — the relay object, the per-protocol hooks
 * (what one client protocol needs beyond its proto/ adapter: Anthropic's background model and
 * signature retry, count_tokens estimates, ...) and the entry point the route handlers call. */
#ifndef AG_RELAY_RELAY_INTERNAL_H
#define AG_RELAY_RELAY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "proto/adapter.h"
#include "relay/record.h"
#include "route/mapping.h"
#include "upstream/errclass.h"

struct ag_config;
struct ag_http_req;
struct ag_pool;
struct ag_upstream_client;
struct ag_response_store;

struct ag_relay {
    uv_loop_t *loop;
    struct ag_config *cfg;
    struct ag_upstream_client *client;
    struct ag_pool *pool;
    struct ag_mapping *mapping;
    void (*on_record)(const struct ag_relay_record *rec, void *ud);
    void *record_ud;
    struct ag_response_store *responses; /* kept /v1/responses answers */
    size_t active;
    uint64_t keepalive_ms;
    char id_prefix[13]; /* random, per relay: request ids are prefix + counter */
    uint64_t id_seq;
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
    int (*prepare)(struct ag_relay *r, const struct ag_proto_ctx *ctx, struct ag_request *req,
                   struct ag_proto_error *err);

    /**
     * The answer is complete (collected: answer set; streamed: enc set, after stream_finish),
     * failed or not: e.g. keep it for later lookups.
     */
    void (*on_finish)(struct ag_relay *r, const struct ag_proto_ctx *ctx,
                      const struct ag_request *req, const struct ag_answer *answer,
                      struct ag_client_stream *enc);
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
