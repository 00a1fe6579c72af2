/* relay/relay.c: one request's life (see relay.h and the state diagram in call.h), read top-down:
 * the entry point, decoding and routing, the attempts on accounts and their retries, then the one
 * way a request ends (record, answer, release). What happens between an attempt's start and its
 * end — upstream bytes becoming client frames — is in stream.c.
 *
 * A call is malloc'd (its keep-alive timer must outlive the request's arena until the timer's
 * close callback). What it builds lives in three arenas: the decoded request and everything made
 * from it for the attempts in the call's work arena (freed when a stream begins, see
 * call_shed_request), an attempt's upstream body in the sent arena (replaced per attempt), and
 * what the answer needs to its end (stream encoder and decoder state, ids, errors) in the
 * request's arena. When the client goes away, the server calls on_abort: the pool wait or
 * upstream call is canceled there, at once. */
#include "relay/relay.h"

#include "relay/call.h"
#include "relay/record.h"
#include "relay/keys_hook.h"
#include "relay/relay_internal.h"
#include "relay/response_store.h"
#include "relay/shared.h"

#include "config/config.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/hex.h"
#include "core/failure.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rand.h"
#include "core/time.h"
#include "http/router.h"
#include "http/server.h"
#include "pool/pool.h"
#include "proto/adapter.h"
#include "route/mapping.h"
#include "route/model_list.h"
#include "route/models.h"
#include "store/thinking.h"
#include "store/writer.h"
#include "upstream/cloudcode.h"
#include "upstream/errclass.h"
#include "upstream/sse.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UPSTREAM_BODY_CAP (64u * 1024 * 1024)
#define SSE_EVENT_CAP     (16u * 1024 * 1024)
#define SCRATCH_CHUNK     8192u /* the scratch arena of an upstream body's document */
#define WORK_CHUNK        2048u /* the decoded request's arena (struct call.work) */
#define SENT_CHUNK        1024u /* an attempt's body arena: a body gets a chunk of its size */

static struct call *call_new(struct ag_relay *r, struct ag_http_req *req,
                             const struct ag_relay_proto *rp, const struct ag_client_hints *hints);
static void call_decoded(struct call *c);
static void call_fetched(struct call *c);
static void start_attempt(struct call *c);
static void on_abort(struct ag_http_req *req, void *ud);
static void refuse(struct call *c, const struct ag_proto_error *perr);

/* ---------------------------------------------------------------- entry */

void ag_relay_start(struct ag_relay *r, struct ag_http_req *req, const struct ag_relay_proto *rp,
                    const struct ag_client_hints *hints)
{
    struct call *c = call_new(r, req, rp, hints);
    if (!c->ctx.request_id.len) {
        call_fail(c, 500, AG_PERR_SERVER, "server_error",
                  "the gateway has no source of randomness");
        return;
    }
    struct ag_proto_error perr = {0};
    if (rp->cp->decode_request(&c->ctx, ag_buf_str(&req->body), hints, &c->creq, &perr)) {
        refuse(c, &perr);
        return;
    }
    /* what it refers to and this instance lacks may be kept by another (shared.h) */
    if (ag_relay_shared_fetch(c, call_fetched))
        return;
    call_fetched(c);
}

/* Decoded, and what the shared stores had is in the local ones: prepare, name the conversation,
 * check the key's limits. */
static void call_fetched(struct call *c)
{
    struct ag_relay *r = c->relay;
    struct ag_http_req *req = c->req;
    const struct ag_relay_proto *rp = c->rp;
    struct ag_proto_error perr = {0};
    if (rp->prepare && rp->prepare(r, &c->ctx, &c->owner, c->creq, &perr)) {
        refuse(c, &perr);
        return;
    }
    if (ag_relay_session_key(req, &req->arena, c->creq)) {
        call_fail(c, 413, AG_PERR_TOO_LARGE, NULL, "request too large");
        return;
    }
    if (ag_relay_keys_begin(c))
        return;
    call_decoded(c);
}

static int next_request_id(struct ag_relay *r, char *out, size_t cap);

static struct call *call_new(struct ag_relay *r, struct ag_http_req *req,
                             const struct ag_relay_proto *rp, const struct ag_client_hints *hints)
{
    struct call *c = AG_NEW(struct call);
    char rid[33];
    c->state = CALL_DECODE;
    c->relay = r;
    c->cfg = ag_config_ref(r->cfg);
    c->req = req;
    c->cp = rp->cp;
    c->rp = rp;
    c->up = &ag_proto_cloudcode;
    c->hints = *hints;
    c->ttfb_ms = -1;
    c->retry_after_ms = -1;
    c->ts_ms = ag_wall_ms() - (int64_t)((ag_now_us() - req->start_us) / 1000);
    ag_attempt_log_init(&c->alog, req->start_us);
    ag_trace_begin(&c->trace, ag_http_req_header(req, "traceparent"),
                   ag_http_req_header(req, "tracestate"));
    r->active++;
    uv_timer_init(r->loop, &c->ping);
    c->ping.data = c;
    ag_buf_init(&c->errbody, AG_BUF_CAP_SHORT);
    ag_buf_init(&c->body, UPSTREAM_BODY_CAP);
    ag_buf_init(&c->out, AG_BUF_UNBOUNDED); /* frames of upstream bytes, themselves capped */
    ag_sse_parser_init(&c->sse, SSE_EVENT_CAP, stream_on_sse, c);
    int idrc = next_request_id(r, rid, sizeof(rid));
    ag_arena_init(&c->work, WORK_CHUNK, req->arena.cap);
    ag_arena_init(&c->sent, SENT_CHUNK, req->arena.cap);
    c->ctx.arena = &c->work;
    c->ctx.request_id = idrc ? AG_STR_NULL : ag_arena_str(&req->arena, ag_str_c(rid));
    c->ctx.now = ag_wall_s();
    c->ctx.max_json_depth = (size_t)c->cfg->server.max_json_depth;
    c->ctx.max_body = (size_t)c->cfg->server.max_body_bytes;
    ag_relay_owner_of(&c->owner, c->cfg, req);
    req->on_abort = on_abort;
    req->on_drain = stream_on_drain;
    req->cb_ud = c;
    return c;
}

/* A unique id per request: 32 hex digits of 128 random bits. It names what the request stores
 * (resp_<id>, fetched and deleted by id alone), so it must not be guessable from another id. The
 * random bytes come in blocks, so most requests cost no trip to the generator (OpenSSL's checks
 * getpid() on every call). 0, or AG_EIO when the generator fails (no id is made up instead). */
static int next_request_id(struct ag_relay *r, char *out, size_t cap)
{
    assert(cap >= 33);
    if (r->id_pool_left < 16) {
        if (ag_random_bytes(r->id_pool, sizeof(r->id_pool)))
            return AG_EIO;
        r->id_pool_left = sizeof(r->id_pool);
    }
    r->id_pool_left -= 16;
    unsigned char *b = r->id_pool + r->id_pool_left;
    ag_hex_encode(out, b, 16);
    memset(b, 0, 16); /* used bytes do not stay in memory */
    (void)cap;
    return 0;
}

static void choose_models(struct call *c, const struct ag_forward *fwd);

/* The client's request is decoded and complete (the one place decoding ends): map the model,
 * bring back stored thinking, fit the request to its target, and take the first account. */
static void call_decoded(struct call *c)
{
    struct ag_relay *r = c->relay;
    struct ag_http_req *req = c->req;
    c->pick = ag_arena_calloc(&c->work, sizeof(*c->pick));
    if (!c->pick) {
        call_fail(c, 413, AG_PERR_TOO_LARGE, NULL, "request too large");
        return;
    }
    if (plan_begin(c)) { /* routing.rules, or API-key accounts listing the model */
        start_attempt(c);
        return;
    }
    if (ag_mapping_resolve(r->mapping, NULL, c->creq->model, &c->route)) {
        call_fail(c, 404, AG_PERR_NOT_FOUND, "model_not_found",
                  "The model '%.*s' does not exist or is not served by this gateway",
                  (int)c->creq->model.len, c->creq->model.p);
        return;
    }
    if (c->route.thinking && c->creq->thinking.mode == AG_UNSET)
        c->creq->thinking.mode = AG_ON;
    /* Claude thinking a client dropped from its history comes back from the store, and this
     * answer's thinking is kept for the next turn */
    c->conv = ag_relay_thinking_conv(&req->arena, &c->owner, c->creq->session_key);
    if (c->conv.len && c->creq->kind == AG_REQ_GENERATE &&
        strcmp(ag_model_family(ag_str_c(c->route.model)), "claude") == 0) {
        ag_thinking_store_restore(r->thinking, c->conv, c->ctx.arena, c->creq, ag_wall_ms());
        c->think = AG_NEW(struct ag_thinking_capture);
        ag_thinking_capture_init(c->think);
    }
    if (c->rp->after_route)
        c->rp->after_route(c->creq, &c->route, r->mapping);
    choose_models(c, ag_pool_forward(r->pool));
    start_attempt(c);
}

/* Retired ids are forwarded to their successors (built-in table and the accounts'
 * deprecatedModelIds); the accounts may then serve the routed id, the retired one (an account that
 * still lists it) or another id of the same family (ag_pool_want.models). */
static void choose_models(struct call *c, const struct ag_forward *fwd)
{
    char before[AG_MODEL_ID_MAX], alt[AG_MODELS_ALTERNATIVES_MAX][AG_MODEL_ID_MAX];
    ag_strlcpy(before, c->route.model, sizeof(before));
    bool moved = ag_mapping_forward(fwd, &c->route);
    if (moved)
        ag_log_debug("relay: %s is retired upstream, sending %s", before, c->route.model);
    struct call_pick *k = c->pick;
    k->nmodels = 0;
    ag_strlcpy(k->models[k->nmodels++], c->route.model, AG_MODEL_ID_MAX);
    if (moved)
        ag_strlcpy(k->models[k->nmodels++], before, AG_MODEL_ID_MAX);
    size_t n = ag_models_alternatives(ag_str_c(c->route.model), alt, AG_MODELS_ALTERNATIVES_MAX);
    for (size_t i = 0; i < n && k->nmodels < sizeof(k->models) / sizeof(k->models[0]); i++) {
        if (strcmp(alt[i], before) != 0)
            ag_strlcpy(k->models[k->nmodels++], alt[i], AG_MODEL_ID_MAX);
    }
    for (size_t i = 0; i < k->nmodels; i++)
        k->models_p[i] = k->models[i];
}

/* Answers a request the gateway refuses before any upstream call (its error, its status). */
static void refuse(struct call *c, const struct ag_proto_error *perr)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "%.*s", (int)perr->message.len, perr->message.p);
    struct call_outcome o = {.status = perr->status ? perr->status : 400,
                             .error_class = "bad_request",
                             .message = msg,
                             .error = perr,
                             .record_body = true};
    call_end(c, &o);
}

/* ---------------------------------------------------------------- attempts */

static void on_acquired(int err, const struct ag_lease *lease, const struct ag_pool_denial *denial,
                        void *ud);

static void start_attempt(struct call *c)
{
    struct ag_pool_want want = {
        .group = c->route.quota_group,
        .model = c->route.model,
        .models = c->pick->models_p,
        .nmodels = c->pick->nmodels,
        .exclude = c->pick->exclude_p,
        .nexclude = (size_t)c->attempts,
    };
    char session[128];
    ag_str_copy(session, sizeof(session), c->creq->session_key);
    want.session_key = session;
    if (c->rule && plan_want(c, &want)) {
        call_fail(c, 404, AG_PERR_NOT_FOUND, "model_not_found",
                  "The model '%.*s' of a routing.rules target cannot be routed",
                  (int)c->creq->model.len, c->creq->model.p);
        return;
    }
    call_set_state(c, CALL_ACQUIRE);
    c->attempts++;
    ag_attempt_log_begin(&c->alog, ag_now_us());
    c->wait = ag_pool_acquire(c->relay->pool, &want, on_acquired, c);
    if (!c->wait)
        call_fail(c, 503, AG_PERR_OVERLOADED, "no_account_available",
                  "the gateway is shutting down");
}

static void add_retry_after(struct call *c);
static void send_upstream(struct call *c);
static void answer_estimate(struct call *c);

/* The pool could not give an account: the most telling reason, in the client's format. */
static void acquire_denied(struct call *c, const struct ag_pool_denial *denial)
{
    /* Every account cooling down: say when to come back, in seconds (Retry-After). */
    if (denial && denial->kind == AG_POOL_DENY_COOLING && denial->until_ms > 0) {
        int64_t wait_s = (denial->until_ms - ag_wall_ms() + 999) / 1000;
        char ra[24];
        snprintf(ra, sizeof(ra), "%lld", (long long)(wait_s > 0 ? wait_s : 1));
        c->relay->conn->add_header(c->req, "retry-after", ag_str_c(ra));
        call_fail(c, 429, AG_PERR_RATE_LIMIT, "all_accounts_limited", "%s",
                  denial->message ? denial->message : "every account is rate limited");
        return;
    }
    /* After failed attempts, the last upstream error says more than "no account left". */
    if (c->attempts > 1 && c->last_error[0]) {
        add_retry_after(c);
        call_fail(c, c->last_error_status, c->last_error_kind, "upstream_error", "%s",
                  c->last_error);
        return;
    }
    if (denial && denial->kind == AG_POOL_DENY_NO_MODEL) {
        call_fail(c, 404, AG_PERR_NOT_FOUND, "model_not_found", "%s", denial->message);
        return;
    }
    call_fail(c, 503, AG_PERR_OVERLOADED, "no_account_available", "%s",
              denial && denial->message ? denial->message : "no upstream account is available");
}

static void on_acquired(int err, const struct ag_lease *lease, const struct ag_pool_denial *denial,
                        void *ud)
{
    struct call *c = ud;
    c->wait = NULL;
    if (c->state == CALL_DONE) {
        if (lease)
            ag_pool_release(c->relay->pool, lease);
        return;
    }
    if (err) {
        ag_attempt_log_end(&c->alog, 0, "no_account",
                           denial && denial->message ? denial->message : NULL, ag_now_us());
        if (c->rule && plan_unavailable(c)) {
            start_attempt(c); /* this target has no usable account: the next one */
            return;
        }
        acquire_denied(c, denial);
        return;
    }
    c->lease = lease;
    c->up = lease->kind == AG_PROVIDER_GOOGLE
                ? &ag_proto_cloudcode
                : ag_upstream_proto_find(ag_provider_info(lease->kind)->upstream);
    ag_strlcpy(c->shown_account, plan_account_shown(lease), sizeof(c->shown_account));
    ag_attempt_log_acquired(&c->alog, lease->email, lease->model[0] ? lease->model : c->route.model,
                            ag_now_us());
    if (c->attempts <= CALL_MAX_ATTEMPTS) {
        ag_strlcpy(c->pick->exclude[c->attempts - 1], lease->account_id, AG_ACCOUNT_ID_SIZE);
        c->pick->exclude_p[c->attempts - 1] = c->pick->exclude[c->attempts - 1];
    }
    call_set_state(c, CALL_UPSTREAM);
    send_upstream(c);
}

static void release_lease(struct call *c)
{
    if (c->lease) {
        ag_strlcpy(c->last_account, c->lease->email, sizeof(c->last_account));
        ag_pool_release(c->relay->pool, c->lease);
        c->lease = NULL;
    }
}

static void set_target(struct call *c);

/* Encodes the request for the leased account and starts the upstream call. */
static void send_upstream(struct call *c)
{
    struct ag_relay *r = c->relay;
    struct ag_upstream_target t = {
        .model = ag_str_c(c->lease->model[0] ? c->lease->model : c->route.model),
        .project = ag_str_c(c->lease->project_id),
    };
    ag_strlcpy(c->served_model, t.model.p, sizeof(c->served_model));
    bool key = c->lease->kind != AG_PROVIDER_GOOGLE; /* an API-key account (plan.c) */
    /* The model's limits on this account, else the built-in table (Cloud Code's ids). */
    if (!key)
        ag_models_limits(t.model, c->lease->max_output_tokens, c->lease->thinking_budget,
                         &t.max_output_tokens, &t.thinking_budget_max);
    /* The body, path and headers go into the sent arena, which the previous attempt's transfer
     * (over by now) no longer borrows: a retried request keeps one body, not one per attempt. */
    struct ag_arena *work = c->ctx.arena;
    ag_arena_dispose(&c->sent);
    char sid[32];
    ag_relay_upstream_session(c->creq->session_key, c->lease->account_id, sid, sizeof(sid));
    t.session_id = ag_str_c(sid); /* read by the encoders only, during this function */

    c->passthrough = false;
    c->pass_hides_usage = false;
    /* The body's JSON document is built in a scratch arena, freed as soon as its text is written:
     * it is several times the text's size. */
    struct ag_arena scratch;
    size_t used = ag_arena_used(work); /* the scratch gets what the request has left */
    ag_arena_init(&scratch, SCRATCH_CHUNK,
                  !work->cap         ? 0
                  : work->cap > used ? work->cap - used
                                     : 1);
    c->ctx.scratch = &scratch;
    c->ctx.arena = &c->sent;
    int rc = !c->up ? AG_EUNSUPPORTED
             : key  ? plan_encode(c, &t)
                    : c->up->encode_request(&c->ctx, c->creq, &t, &c->ucall);
    c->ctx.arena = work;
    c->ctx.scratch = NULL;
    ag_arena_dispose(&scratch);
    if (rc == AG_EUNSUPPORTED && c->creq->kind == AG_REQ_COUNT_TOKENS && c->rp->estimate_tokens) {
        release_lease(c); /* this provider counts nothing: the local estimate answers */
        answer_estimate(c);
        return;
    }
    if (rc) {
        call_fail(c, rc == AG_ETOOBIG ? 413 : 400,
                  rc == AG_ETOOBIG ? AG_PERR_TOO_LARGE : AG_PERR_INVALID, NULL,
                  "cannot convert this request for the upstream: %s", ag_strerror(rc));
        return;
    }
    /* the decoder lives as long as the answer: in the request's arena */
    struct ag_proto_ctx dctx = c->ctx;
    dctx.arena = &c->req->arena;
    c->dec = c->up->decoder_new(&dctx, c->creq, &t);
    if (!c->dec) {
        call_fail(c, 413, AG_PERR_TOO_LARGE, NULL, "request too large");
        return;
    }
    ag_answer_init(&c->answer, &c->req->arena);
    ag_sse_parser_reset(&c->sse);
    ag_buf_reset(&c->errbody);
    ag_buf_reset(&c->body);
    c->status = 0;
    c->stream_err = 0;
    if (c->think)
        ag_thinking_capture_reset(c->think);
    set_target(c);
    struct ag_cloudcode_call_spec spec = {
        .target = &c->target,
        .method = c->ucall.method,
        .sse = c->ucall.query && strstr(c->ucall.query, "alt=sse"),
        .access_token = c->lease->access_token,
        .project = c->lease->project_id,
        .extra_headers = c->beta,
        .nextra = c->beta[0] ? 1 : 0,
        .body = c->ucall.body.p,
        .body_len = c->ucall.body.len,
        .on_head = stream_on_head,
        .on_data = stream_on_data,
        .on_done = stream_on_done,
        .ud = c,
    };
    int err = 0;
    if (key) {
        c->ctx.arena = &c->sent; /* the URL and headers, borrowed by the transfer */
        err = plan_spec(c, &spec);
        c->ctx.arena = work;
    }
    if (err) {
        release_lease(c);
        call_fail(c, 502, AG_PERR_UPSTREAM, NULL, "cannot address the account: %s",
                  ag_strerror(err));
        return;
    }
    ag_attempt_log_sent(&c->alog, ag_now_us());
    c->cc = r->upstream->start(r->client, &spec, &err);
    if (!c->cc) {
        release_lease(c);
        call_fail(c, 502, AG_PERR_UPSTREAM, NULL, "cannot start the upstream call: %s",
                  ag_strerror(err));
    }
}

/* Where and how the attempt goes: endpoints, headers, proxy and timeouts from the config. */
static void set_target(struct call *c)
{
    const struct ag_config *cfg = c->cfg;
    c->target.endpoints = (const char *const *)cfg->upstream.cloudcode_endpoints.v;
    c->target.nendpoints = cfg->upstream.cloudcode_endpoints.n;
    c->target.user_agent = cfg->upstream.user_agent;
    c->target.client_version =
        ag_cloudcode_client_version(cfg->upstream.user_agent, c->client_version,
                                    sizeof(c->client_version))
            ? c->client_version
            : NULL;
    /* As Antigravity: Claude models get the claude-code beta (the Gemini route also interleaved
     * thinking and fine-grained tool streaming). */
    c->beta[0] = !strstr(c->served_model, "claude") ? NULL
                 : c->cp == &ag_proto_gemini
                     ? "anthropic-beta: claude-code-20250219,interleaved-thinking-2025-05-14,"
                       "fine-grained-tool-streaming-2025-05-14"
                     : "anthropic-beta: claude-code-20250219";
    c->target.proxy = c->lease->proxy_url[0] ? c->lease->proxy_url : NULL;
    c->target.timeouts = (struct ag_upstream_timeouts){
        .connect_ms = (uint32_t)(cfg->upstream.connect_timeout_s * 1000),
        .first_byte_ms = (uint32_t)(cfg->upstream.first_byte_timeout_s * 1000),
        .idle_ms = (uint32_t)(cfg->upstream.idle_timeout_s * 1000),
        .total_ms = (uint32_t)(cfg->upstream.total_timeout_s * 1000),
    };
}

/* ---------------------------------------------------------------- an attempt's end */

static void keep_thinking(struct call *c);
static void answer_estimate(struct call *c);

void call_succeeded(struct call *c)
{
    struct ag_pool_outcome po = {.kind = AG_POOL_OK,
                                 .group = c->route.quota_group,
                                 .model = c->route.model,
                                 .status = c->status};
    if (!c->creq->stream) {
        po.tokens_in = (uint64_t)c->answer.usage.input;
        po.tokens_out = (uint64_t)c->answer.usage.output;
    }
    if (c->lease)
        ag_pool_report(c->relay->pool, c->lease->account_id, &po);
    ag_attempt_log_end(&c->alog, c->status, "ok", NULL, ag_now_us());
    if (c->answer.has_usage)
        c->usage = c->answer.usage;
    keep_thinking(c);

    struct call_outcome o = {.status = 200, .error_class = "", .message = ""};
    char msg[512];
    if (c->creq->stream) {
        o.stream = true;
    } else if (c->passthrough) {
        ag_buf_reset(&c->out); /* the upstream's own body, as it came */
        if (ag_buf_append(&c->out, c->body.data, c->body.len)) {
            call_fail(c, 502, AG_PERR_UPSTREAM, NULL, "the answer is too large");
            return;
        }
        o.answered = true;
        o.record_body = true;
    } else if (c->answer.failed) {
        snprintf(msg, sizeof(msg), "%.*s", (int)c->answer.error.message.len,
                 c->answer.error.message.p);
        o = (struct call_outcome){
            .status = c->answer.error.status ? c->answer.error.status : 502,
            .error_class = "upstream_error",
            .message = msg,
            .error = &c->answer.error,
            .answered = true,
            .record_body = true,
        };
    } else {
        ag_buf_reset(&c->out);
        int rc = c->cp->encode_response(&c->ctx, c->creq, &c->answer, &c->out);
        if (rc) {
            call_fail(c, 502, AG_PERR_UPSTREAM, NULL, "cannot encode the answer: %s",
                      ag_strerror(rc));
            return;
        }
        o.answered = true;
        o.record_body = true;
    }
    call_end(c, &o);
}

/* This answer's Claude thinking goes to the thinking store (and through the writer, to disk). */
static void keep_thinking(struct call *c)
{
    if (!c->think)
        return;
    int64_t now = ag_wall_ms();
    bool kept = ag_thinking_capture_commit(c->think, c->relay->thinking, c->conv, now);
    if (kept && c->relay->writer) {
        struct ag_thinking_row row = {.conv = c->conv,
                                      .tool_id = ag_str_c(c->think->tool_id),
                                      .text = ag_buf_str(&c->think->text),
                                      .sig = ag_str_make(c->think->sig, c->think->sig_len),
                                      .stored_ms = now};
        ag_writer_thinking_put(c->relay->writer, &row, AG_THINKING_STORE_TTL_MS,
                               AG_THINKING_STORE_MAX, AG_THINKING_STORE_BYTES);
    }
    if (kept)
        ag_relay_shared_thinking_put(c->relay, c->conv, ag_str_c(c->think->tool_id),
                                     ag_buf_str(&c->think->text),
                                     ag_str_make(c->think->sig, c->think->sig_len), now);
}

static bool retry_decided(struct call *c, const struct ag_errclass *ec);

void call_attempt_failed(struct call *c, const struct ag_errclass *ec)
{
    struct ag_pool_outcome po;
    ag_pool_outcome_from_errclass(ec, c->route.quota_group,
                                  c->served_model[0] ? c->served_model : c->route.model, &po);
    if (ec->kind == AG_ERRCLASS_RATE_LIMITED && ec->retry_delay_ms > 0 &&
        (c->retry_after_ms < 0 || ec->retry_delay_ms < c->retry_after_ms))
        c->retry_after_ms = ec->retry_delay_ms;
    ag_attempt_log_end(&c->alog, ec->status, ag_errclass_kind_name(ec->kind), ec->message,
                       ag_now_us());
    if (c->lease) {
        ag_pool_report(c->relay->pool, c->lease->account_id, &po);
        ag_log_info("relay %s: attempt %d on %s failed: %s (%d) %s", c->req->id, c->attempts,
                    c->lease->email, ag_errclass_kind_name(ec->kind), ec->status, ec->message);
    }
    release_lease(c);
    snprintf(c->last_error, sizeof(c->last_error), "%s",
             ec->message[0] ? ec->message : ag_errclass_kind_name(ec->kind));
    c->last_error_status = ag_failure_client_status(ec->kind, ec->status, ec->overloaded);
    c->last_error_kind = ag_error_kind_for_status(c->last_error_status);

    if (c->state == CALL_UPSTREAM && retry_decided(c, ec))
        return;
    if (c->creq->kind == AG_REQ_COUNT_TOKENS && c->rp->estimate_tokens) {
        answer_estimate(c);
        return;
    }
    add_retry_after(c);
    call_fail(c, c->last_error_status, c->last_error_kind, ag_errclass_kind_name(ec->kind), "%s",
              c->last_error);
}

static int64_t attempts_max(const struct call *c)
{
    int64_t n = c->cfg->scheduling.max_attempts;
    return n < 1 ? 1 : (n > CALL_MAX_ATTEMPTS ? CALL_MAX_ATTEMPTS : n);
}

/* Before the client saw a byte: true when another attempt was started. */
static bool retry_decided(struct call *c, const struct ag_errclass *ec)
{
    if (plan_usage_refused(c, ec) && c->attempts < CALL_MAX_ATTEMPTS) {
        c->pick->exclude[c->attempts - 1][0] = '\0'; /* the same account, asked as the client did */
        start_attempt(c);
        return true;
    }
    if (c->rule && plan_fallback(c, ec)) {
        start_attempt(c); /* routing.rules: the next target */
        return true;
    }
    if (!c->fixed && !c->passthrough && c->rp->fix_for_retry &&
        c->rp->fix_for_retry(c->creq, &c->route, ec)) {
        /* The request was at fault, not the account: the same account may serve the retry. */
        c->fixed = true;
        c->pick->exclude[c->attempts - 1][0] = '\0';
        ag_log_info("relay %s: retrying once with the request fixed for: %s", c->req->id,
                    ec->message);
        start_attempt(c);
        return true;
    }
    if (ec->kind == AG_ERRCLASS_UNAUTHORIZED && c->up == &ag_proto_cloudcode && !c->reauthed &&
        c->attempts < attempts_max(c)) {
        /* A stale token is the account's to fix: the pool refreshes it before the account's
         * next use, so the account stays a candidate (a pool of one must not answer 503). */
        c->reauthed = true;
        c->pick->exclude[c->attempts - 1][0] = '\0';
        start_attempt(c);
        return true;
    }
    if (ag_failure_of(ec->kind)->retryable && c->attempts < attempts_max(c)) {
        start_attempt(c);
        return true;
    }
    return false;
}

/* A final 429 tells the client when to come back: the shortest hint an upstream gave. */
static void add_retry_after(struct call *c)
{
    char ra[24];
    if (c->last_error_status != 429 || c->retry_after_ms <= 0)
        return;
    snprintf(ra, sizeof(ra), "%lld", (long long)((c->retry_after_ms + 999) / 1000));
    c->relay->conn->add_header(c->req, "retry-after", ag_str_c(ra));
}

/* The upstream could not count: answer with the protocol's local estimate, marked as such. */
static void answer_estimate(struct call *c)
{
    struct ag_event ev = {.type = AG_EV_USAGE};
    ev.usage.input = c->rp->estimate_tokens(c->creq);
    ev.usage.total = ev.usage.input;
    ag_answer_init(&c->answer, &c->req->arena);
    ag_answer_add(&c->answer, &ev);
    c->relay->conn->add_header(c->req, "x-aigate-token-count", AG_STR("estimate"));
    call_succeeded(c);
}

/* ---------------------------------------------------------------- the end of a request */

static void record(struct call *c, int status, const char *error_class, const char *message,
                   struct ag_str response_body);
static void call_finish(struct call *c);

/* A request that is over cannot end again: a bug in the caller. */
static bool ended_already(const struct call *c, const char *what)
{
    if (c->state != CALL_DONE)
        return false;
    ag_log_error("relay: a request that is over was ended again (%s)", what ? what : "");
    assert(!"a relay request ended twice");
    return true;
}

void call_fail(struct call *c, int status, enum ag_error_kind kind, const char *code,
               const char *fmt, ...)
{
    if (ended_already(c, code))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct ag_proto_error e;
    ag_proto_error_set(&e, &c->req->arena, status, kind, NULL, code, "%s", msg);
    struct call_outcome o = {
        .status = status, .error_class = code ? code : "error", .message = msg, .error = &e};
    call_end(c, &o);
}

/* The last of the answer: the stream's end, or the whole answer in c->out. */
static void send_last(struct call *c, const struct call_outcome *o)
{
    if (c->state == CALL_STREAMING || o->stream) {
        stream_close(c, o->error);
    } else {
        call_add_info_headers(c);
        c->relay->conn->respond_json(c->req, o->status, c->out.data, c->out.len);
    }
}

void call_end(struct call *c, const struct call_outcome *o)
{
    if (ended_already(c, o->error_class))
        return;
    bool streamed = c->state == CALL_STREAMING || (o->stream && !o->client_gone);
    struct ag_http_req *req = c->req;
    if (!streamed && !o->client_gone && o->error) {
        ag_buf_reset(&c->out);
        c->cp->encode_error(o->error, &c->out);
    }
    if (!streamed && o->answered && c->rp->on_finish)
        c->rp->on_finish(c->relay, &c->ctx, &c->owner, c->creq, &c->answer, NULL);
    int status = streamed && !o->client_gone ? 200 : o->status;
    struct ag_str body = o->record_body && !streamed ? ag_buf_str(&c->out) : AG_STR_NULL;
    req->on_abort = NULL;
    req->on_drain = NULL;
    /* The answer leaves first, then the request is recorded (monitor, metrics, the log row):
     * the client does not wait for the bookkeeping. The hold keeps req, which the last response
     * call would otherwise free, until the record is made. */
    const struct ag_relay_client *conn = c->relay->conn;
    if (!o->client_gone) {
        conn->hold(req);
        send_last(c, o);
    }
    record(c, status, o->error_class, o->message, body);
    if (!o->client_gone)
        conn->release(req);
    c->req = NULL;
    call_finish(c);
}

/* Tells the monitor about the request; req must still be alive (see call_end). */
static void record(struct call *c, int status, const char *error_class, const char *message,
                   struct ag_str response_body)
{
    struct ag_http_req *req = c->req;
    struct ag_relay *r = c->relay;
    ag_relay_keys_settle(c);
    if (!r->on_record)
        return;
    ag_attempt_log_end(&c->alog, 0, error_class && error_class[0] ? error_class : "ok", message,
                       ag_now_us());
    struct ag_relay_record rec = {
        .ts_ms = c->ts_ms,
        .request_id = ag_str_c(req->id),
        .method = req->method,
        .path = req->path,
        .protocol = c->cp->name,
        .model = c->creq ? c->creq->model : AG_STR_NULL,
        .served_model = c->route.model,
        .account = c->lease ? c->lease->email : c->last_account,
        .key_name = ag_str_c(c->owner.key.name),
        .status = status,
        .error_class = error_class ? error_class : "",
        .error_message = ag_str_c(message ? message : ""),
        .attempts = c->attempts,
        .ttfb_ms = c->ttfb_ms,
        .total_ms = (int64_t)((ag_now_us() - req->start_us) / 1000),
        .input_tokens = c->usage.input,
        .output_tokens = c->usage.output,
        .cached_tokens = c->usage.cached,
        .reasoning_tokens = c->usage.reasoning,
        .client_ip = ag_str_c(req->client_ip),
        .user_agent = ag_http_req_header(req, "user-agent"),
        .stream = c->creq ? c->creq->stream : false,
        .request_body = ag_buf_str(&req->body),
        .response_body = response_body,
        .attempt_log = &c->alog,
        .trace = &c->trace,
    };
    r->on_record(&rec, r->record_ud);
}

static void on_ping_closed(uv_handle_t *h);

/* The request is over (answered or aborted; req is gone): drop everything the call still
 * holds. */
static void call_finish(struct call *c)
{
    call_set_state(c, CALL_DONE);
    if (c->wait) {
        ag_pool_acquire_cancel(c->wait);
        c->wait = NULL;
    }
    if (c->cc) {
        c->relay->upstream->cancel(c->cc);
        c->cc = NULL;
    }
    release_lease(c);
    c->relay->active--;
    uv_timer_stop(&c->ping);
    uv_close((uv_handle_t *)&c->ping, on_ping_closed);
}

static void on_ping_closed(uv_handle_t *h)
{
    struct call *c = h->data;
    ag_buf_dispose(&c->errbody);
    ag_buf_dispose(&c->body);
    ag_buf_dispose(&c->out);
    ag_sse_parser_dispose(&c->sse);
    ag_attempt_log_dispose(&c->alog);
    ag_arena_dispose(&c->work);
    ag_arena_dispose(&c->sent);
    if (c->think)
        ag_thinking_capture_dispose(c->think);
    free(c->think);
    ag_config_unref(c->cfg);
    free(c);
}

static void on_abort(struct ag_http_req *req, void *ud)
{
    struct call *c = ud;
    ag_log_debug("relay %s: client went away, canceling upstream", req->id);
    ag_relay_shared_cancel(c);
    struct call_outcome o = {.status = 499,
                             .error_class = "client_closed",
                             .message = "the client closed the connection",
                             .client_gone = true};
    call_end(c, &o);
}

void call_add_info_headers(struct call *c)
{
    const struct ag_relay_client *conn = c->relay->conn;
    const char *model = c->served_model[0] ? c->served_model : c->route.model;
    if (model[0])
        conn->add_header(c->req, "x-aigate-model", ag_str_c(model));
    /* An API-key account is named by its label or its made-up name, which say nothing
     * personal: every client is told. */
    if (c->shown_account[0])
        conn->add_header(c->req, "x-aigate-account", ag_str_c(c->shown_account));
    /* An account's e-mail is told only to a client that showed the key: with auth off, any
     * local program (or a page the Host and Origin rules let through) could read it. */
    const char *acct = c->lease && c->lease->email[0] ? c->lease->email : c->last_account;
    if (!c->shown_account[0] && c->req->authed && acct[0])
        conn->add_header(c->req, "x-aigate-account", ag_str_c(acct));
    if (c->attempts > 0) {
        char n[24];
        conn->add_header(c->req, "x-aigate-attempts", ag_str_c(ag_int_text(n, c->attempts)));
    }
}

void call_shed_request(struct call *c)
{
    if (!c->rp->stream_keep || c->ctx.arena != &c->work || !c->creq || !c->req)
        return;
    struct ag_request *kept = c->rp->stream_keep(&c->req->arena, c->creq);
    if (!kept)
        return; /* no room for the copy: the whole request stays */
    c->creq = kept;
    c->pick = NULL;
    c->ctx.arena = &c->req->arena;
    ag_arena_dispose(&c->work);
}

void call_mark_first_byte(struct call *c)
{
    if (c->ttfb_ms < 0 && c->req)
        c->ttfb_ms = (int64_t)((ag_now_us() - c->req->start_us) / 1000);
}
