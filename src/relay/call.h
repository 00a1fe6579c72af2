/* relay/call.h: one AI request as the relay carries it — the state it is in, what it holds, and
 * the functions relay.c (decode, attempts, retries, the one end path) and stream.c (upstream bytes
 * to client frames, backpressure, keep-alive) call on each other. Internal to the relay.
 *
 * States and their transitions (call_set_state checks them):
 *
 *   DECODE → ACQUIRE → UPSTREAM → STREAMING → DONE
 *             ↑  │ ↑         │
 *             └──┘ └─ retry ─┘     (only before the client saw a byte)
 *
 * ACQUIRE → ACQUIRE: a routing.rules target without a usable account; the next target is asked
 * (plan.c).
 *
 * and from every state but DONE straight to DONE (answered, failed, or the client went away).
 */
#ifndef AG_RELAY_CALL_H
#define AG_RELAY_CALL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "core/trace.h"
#include "pool/pool.h"
#include "relay/attempt_log.h"
#include "proto/adapter.h"
#include "relay/relay_internal.h"
#include "route/mapping.h"
#include "route/models.h"
#include "upstream/cloudcode.h"
#include "upstream/errclass.h"
#include "upstream/sse.h"
#include "config/routing.h"

#define CALL_MAX_ATTEMPTS 8

enum call_state {
    CALL_DECODE = 0, /* decoding, preparing and routing the client's request */
    CALL_ACQUIRE,    /* waiting for an account from the pool */
    CALL_UPSTREAM,   /* an attempt on an account runs; the client has seen nothing yet */
    CALL_STREAMING,  /* the client's streamed response has begun: no more retries */
    CALL_DONE,       /* answered, failed or the client went away; being released */
};

/** What the attempts choose from: the model ids that may serve the request and the accounts
 * already tried. Only the attempts read it: it lives in the work arena (struct call.pick). */
struct call_pick {
    char exclude[CALL_MAX_ATTEMPTS][AG_ACCOUNT_ID_SIZE];
    const char *exclude_p[CALL_MAX_ATTEMPTS];
    /* the model ids that may serve the request, in preference order (ag_pool_want.models) */
    char models[2 + AG_MODELS_ALTERNATIVES_MAX][AG_MODEL_ID_MAX];
    const char *models_p[2 + AG_MODELS_ALTERNATIVES_MAX];
    size_t nmodels;
};

struct call {
    enum call_state state;
    struct ag_relay *relay;
    struct ag_config *cfg;   /* the snapshot this request started with (referenced) */
    struct ag_http_req *req; /* NULL once DONE: the server may free it */
    const struct ag_client_proto *cp;
    const struct ag_relay_proto *rp;
    const struct ag_upstream_proto *up;
    struct ag_client_hints hints;
    /* ctx.arena is work until a stream begins, then the request's arena (call_shed_request) */
    struct ag_proto_ctx ctx;
    /* The decoded request and what is built from it for the attempts (history, fitted parts, the
     * routing's choices): released once the client's stream has begun and no retry can come. */
    struct ag_arena work;
    /* The current attempt's upstream body, path and headers: the transfer borrows them until it
     * ends; the next attempt's replace them. */
    struct ag_arena sent;
    struct ag_relay_owner owner; /* whose stored state this request may see */
    struct ag_request *creq;
    struct ag_route_result route;
    struct ag_pool_wait *wait;
    struct ag_thinking_capture *think; /* this answer's Claude thinking, for the thinking store */
    struct ag_relay_fetch *fetch;      /* DECODE: reads from the shared stores (relay/shared.h) */
    struct ag_str conv;                /* the thinking store's key of this conversation */
    const struct ag_lease *lease;
    struct ag_cloudcode_call *cc;
    struct ag_cloudcode_target target;
    struct ag_upstream_call ucall;
    struct ag_upstream_decoder *dec;
    struct ag_client_stream *enc;
    struct ag_answer answer;
    struct ag_sse_parser sse;
    struct ag_buf errbody;
    struct ag_buf body;
    struct ag_buf out;
    struct call_pick *pick; /* from decoding until a stream begins (in work) */
    int attempts;
    int status;     /* the HTTP status of this attempt's answer */
    int stream_err; /* a decode/emit error during this attempt */
    bool paused;    /* STREAMING: the upstream transfer waits for the client to drain */
    /* one-shot retries, each at most once per request */
    bool fixed;    /* the protocol's fix_for_retry was used */
    bool reauthed; /* a 401 already got its retry on the same account */
    uv_timer_t ping;
    uint64_t last_write_ms;
    int64_t ts_ms;   /* wall clock at arrival */
    int64_t ttfb_ms; /* -1 until the first byte went to the client */
    struct ag_usage usage;
    char last_account[256]; /* e-mail of the last attempt's account */
    char last_error[512];
    int last_error_status;
    enum ag_error_kind last_error_kind;
    int64_t retry_after_ms;             /* the shortest upstream retry hint of a 429, -1 = none */
    char served_model[AG_MODEL_ID_MAX]; /* the id the last attempt's account was sent */
    char client_version[32];            /* x-client-version, from the configured User-Agent */
    const char *beta[1];                /* anthropic-beta for Claude models */
    struct ag_attempt_log alog;         /* each attempt's account, outcome and stage times */
    struct ag_trace trace;              /* the client's traceparent or a new trace (core/trace.h) */
    /* routing.rules and API-key accounts (plan.c); rule NULL = the Cloud Code mapping */
    const struct ag_route_rule *rule; /* in cfg, or implicit_rule */
    struct ag_route_rule implicit_rule;
    struct ag_route_target implicit_target;
    size_t plan[AG_ROUTING_MAX_TARGETS]; /* target indexes in the order to try them */
    size_t nplan, step;                  /* step: the current target's place in plan */
    bool hold_target;                    /* a failure outside fallback_on: stay on the target */
    bool passthrough;                    /* this attempt forwards the client's own body */
    bool pass_hides_usage;   /* the passthrough asked for the usage chunk the client did not */
    bool usage_refused;      /* the account refused that stream_options: not asked again */
    char shown_account[128]; /* an API-key account's label or name (headers) */
};

/** How a request ends: what its record says and what the client is sent. */
struct call_outcome {
    int status;                         /* the record's status (a begun stream records 200) */
    const char *error_class;            /* "" on success */
    const char *message;                /* "" on success */
    const struct ag_proto_error *error; /* the error to answer with; NULL = c->out is the answer */
    bool stream;      /* a streamed answer, even if no frame was sent yet (an empty answer) */
    bool answered;    /* an upstream answer was collected: on_finish sees c->answer */
    bool record_body; /* the record keeps the JSON body sent */
    bool client_gone; /* the client went away: nothing is sent */
};

/** Moves c to state s; a transition the diagram above does not have is a bug (logged, asserted
 * in debug builds, then made anyway). */
void call_set_state(struct call *c, enum call_state s);

/** The one way a request ends (relay.c): record, answer or end the stream, release. c is DONE
 * after it and must not be used past the loop iteration. */
void call_end(struct call *c, const struct call_outcome *o);

/** Ends the request with an error in the client's protocol (a begun stream gets an error event). */
void call_fail(struct call *c, int status, enum ag_error_kind kind, const char *code,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/** The attempt's upstream answer arrived complete (relay.c): report, answer the client. */
void call_succeeded(struct call *c);

/** The attempt failed as ec says (relay.c): report, then retry or end the request. */
void call_attempt_failed(struct call *c, const struct ag_errclass *ec);

/** The response headers a client gets (the served model, the account, the attempts). */
void call_add_info_headers(struct call *c);

/** Notes when the first byte went to the client. */
void call_mark_first_byte(struct call *c);

/** The client's stream has begun (no retry can come): when the protocol says what its stream
 * still reads of the request (ag_relay_proto.stream_keep), that is copied to the request's arena
 * and the work arena (the decoded request, the history) is freed; ctx.arena becomes the request's.
 * Otherwise, or when the copy does not fit, nothing changes. */
void call_shed_request(struct call *c);

/* plan.c */

/** Routes c by routing.rules, or to the API-key accounts that list its model: true when so (the
 * plan is made); false = the Cloud Code mapping. */
bool plan_begin(struct call *c);

/** The current target; NULL past the plan's end or when c is not routed by a plan. */
const struct ag_route_target *plan_target(const struct call *c);

/** Fills want's model(s), provider and label for the current target, and c->route for it. 0, or
 * AG_ENOTFOUND / AG_EINVAL (the target's model cannot be routed). */
int plan_want(struct call *c, struct ag_pool_want *want);

/** An attempt failed as ec says: true when the request moves to the next target (its class is
 * in fallback_on and a target is left); a class outside fallback_on holds c on its target. */
bool plan_fallback(struct call *c, const struct ag_errclass *ec);

/** The pool had no account for the current target: true when c moves to the next one. */
bool plan_unavailable(struct call *c);

/**
 * After a failed attempt: true (and the request no longer asks for usage) when it was a
 * passthrough that asked for the usage chunk and the account refused stream_options (400 or
 * 422 naming it): the same target is then asked again, as the client asked.
 */
bool plan_usage_refused(struct call *c, const struct ag_errclass *ec);

/** Fills c->ucall for the leased API-key account: the client's body with the model replaced
 * (passthrough, c->passthrough set) or the upstream adapter's encoding. 0 or an AG_E*. */
int plan_encode(struct call *c, const struct ag_upstream_target *t);

/** The account's URL and auth headers into spec (in the request's arena). 0 or an AG_E*. */
int plan_spec(struct call *c, struct ag_cloudcode_call_spec *spec);

/** What the x-aigate-account header says of an API-key account (its label, else its name);
 * "" for Cloud Code accounts. Never a secret. */
const char *plan_account_shown(const struct ag_lease *l);

/* stream.c */

/** The upstream callbacks of an attempt (ag_cloudcode_call_spec on_head / on_data / on_done). */
int stream_on_head(struct ag_cloudcode_call *cc, int status, void *ud);
int stream_on_data(struct ag_cloudcode_call *cc, const char *p, size_t n, void *ud);
void stream_on_done(struct ag_cloudcode_call *cc, const struct ag_cloudcode_result *res, void *ud);

/** The SSE parser's callback of an attempt: one upstream event into the decoder. */
int stream_on_sse(const struct ag_sse_event *ev, void *ud);

/** The client drained its pending output: resume a paused upstream transfer. */
void stream_on_drain(struct ag_http_req *req, void *ud);

/** Begins the client's streamed response (UPSTREAM → STREAMING); a no-op once begun. */
void stream_begin(struct call *c);

/** The end-of-stream path (from call_end only): begins the stream if no frame was sent yet, then
 * the error event when err, the protocol's closing frames, on_finish, the last write and the end
 * of the response. */
void stream_close(struct call *c, const struct ag_proto_error *err);

/** Sends what c->out holds to the client, pausing the upstream when the client is congested. */
void stream_write_out(struct call *c);

#endif
