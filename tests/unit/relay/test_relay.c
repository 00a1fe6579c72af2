/* Unit tests of the relay's request life without processes: a real pool (SQLite store with two
 * accounts) on a test loop, a fake upstream in place of the Cloud Code calls (the relay's
 * struct ag_relay_upstream) that the test answers by hand, and a fake client connection (the
 * relay's struct ag_relay_client) that keeps what the client was sent. Checked: a 429 moves the
 * request to the other account; a client that goes away mid-stream cancels the upstream transfer
 * and is recorded once; a congested client pauses the upstream transfer until it drains; an
 * API-key account that speaks the client's protocol gets the client's body (model replaced) at
 * its own URL with its key, and its stream's bytes reach the client unchanged, paused while the
 * client is congested; once a stream has begun, the decoded request (kept only for retries) is
 * released and the stream holds little more than its upstream body. */
#include "ag_test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "http/server.h"
#include "loopwait.h"
#include "pool/pool.h"
#include "relay/call.h"
#include "relay/record.h"
#include "relay/relay.h"
#include "relay/relay_internal.h"
#include "route/mapping.h"
#include "store/accounts.h"
#include "store/store.h"
#include "upstream/cloudcode.h"

#define MAX_CALLS 8

/* ---------------------------------------------------------------- fake upstream */

struct fake_call {
    struct ag_cloudcode_call_spec spec;
    char token[64];
    char retry_after[16];
    bool canceled;
    int pauses, resumes;
    bool paused;
};

static struct fake_call calls[MAX_CALLS];
static int ncalls;

static struct ag_cloudcode_call *fake_start(struct ag_upstream_client *client,
                                            const struct ag_cloudcode_call_spec *spec, int *err)
{
    if (ncalls == MAX_CALLS) {
        *err = -1;
        return NULL;
    }
    struct fake_call *f = &calls[ncalls++];
    memset(f, 0, sizeof(*f));
    f->spec = *spec;
    snprintf(f->token, sizeof(f->token), "%s", spec->access_token ? spec->access_token : "");
    return (struct ag_cloudcode_call *)f;
}

static void fake_cancel(struct ag_cloudcode_call *call)
{
    ((struct fake_call *)call)->canceled = true;
}

static void fake_pause(struct ag_cloudcode_call *call)
{
    struct fake_call *f = (struct fake_call *)call;
    f->pauses++;
    f->paused = true;
}

static void fake_resume(struct ag_cloudcode_call *call)
{
    struct fake_call *f = (struct fake_call *)call;
    f->resumes++;
    f->paused = false;
}

static struct ag_str fake_header(const struct ag_cloudcode_call *call, const char *name)
{
    const struct fake_call *f = (const struct fake_call *)call;
    if (strcmp(name, "retry-after") == 0 && f->retry_after[0])
        return ag_str_c(f->retry_after);
    return AG_STR_NULL;
}

static const struct ag_relay_upstream fake_upstream = {
    fake_start, fake_cancel, fake_pause, fake_resume, fake_header,
};

/* The upstream answers: its status, then its body (in one read), then the end. */
static int upstream_answer(struct fake_call *f, int status, const char *body)
{
    struct ag_cloudcode_call *cc = (struct ag_cloudcode_call *)f;
    int rc = f->spec.on_head ? f->spec.on_head(cc, status, f->spec.ud) : 0;
    if (!rc && body)
        rc = f->spec.on_data(cc, body, strlen(body), f->spec.ud);
    return rc;
}

static void upstream_done(struct fake_call *f, int err)
{
    struct ag_cloudcode_result res = {.err = err, .message = ""};
    f->spec.on_done((struct ag_cloudcode_call *)f, &res, f->spec.ud);
}

/* ---------------------------------------------------------------- fake client */

struct fake_req {
    struct ag_http_req req;
    int status; /* of the response or the stream */
    bool streaming, ended, responded;
    bool congested;
    int writes; /* stream_write calls */
    struct ag_buf sent;
    struct ag_buf headers;
};

static struct fake_req *fr_of(const struct ag_http_req *req)
{
    return (struct fake_req *)req; /* req is the first member */
}

/* The server frees a request in the call that completes it; the fake marks its hooks instead, so
 * a relay that still writes to it afterwards is caught. */
static void completed_abort(struct ag_http_req *req, void *ud)
{
    fail_msg("on_abort of a completed request");
}

/* The request the relay holds past its response (ag_http_req_hold), and whether its response
 * was completed meanwhile. */
static struct fake_req *on_hold;
static bool on_hold_done;

static void complete(struct ag_http_req *req)
{
    if (on_hold && req == &on_hold->req) {
        on_hold_done = true; /* completed when released */
        return;
    }
    req->on_abort = completed_abort;
    req->on_drain = NULL;
    req->cb_ud = NULL;
}

static void assert_not_touched_after_completion(const struct fake_req *r)
{
    assert_ptr_equal(r->req.on_abort, completed_abort);
    assert_null(r->req.cb_ud);
}

static int fake_add_header(struct ag_http_req *req, const char *name, struct ag_str value)
{
    return ag_buf_printf(&fr_of(req)->headers, "%s: %.*s\n", name, (int)value.len, value.p);
}

static int fake_respond_json(struct ag_http_req *req, int status, const char *json, size_t len)
{
    struct fake_req *r = fr_of(req);
    assert_false(r->responded || r->streaming);
    r->responded = true;
    r->status = status;
    int rc = ag_buf_append(&r->sent, json, len);
    complete(req);
    return rc;
}

static int fake_stream_begin(struct ag_http_req *req, int status, const char *content_type)
{
    struct fake_req *r = fr_of(req);
    assert_false(r->responded || r->streaming);
    r->streaming = true;
    r->status = status;
    return 0;
}

static int fake_stream_write(struct ag_http_req *req, const void *data, size_t len)
{
    struct fake_req *r = fr_of(req);
    assert_true(r->streaming && !r->ended);
    r->writes++;
    return ag_buf_append(&r->sent, data, len);
}

static int fake_stream_end(struct ag_http_req *req)
{
    struct fake_req *r = fr_of(req);
    assert_true(r->streaming && !r->ended);
    r->ended = true;
    complete(req);
    return 0;
}

static bool fake_congested(const struct ag_http_req *req)
{
    return fr_of(req)->congested;
}

static void fake_hold(struct ag_http_req *req)
{
    assert_null(on_hold);
    on_hold = fr_of(req);
    on_hold_done = false;
}

static void fake_release(struct ag_http_req *req)
{
    assert_ptr_equal(fr_of(req), on_hold);
    on_hold = NULL;
    if (on_hold_done)
        complete(req);
}

static const struct ag_relay_client fake_conn = {
    fake_add_header, fake_respond_json, fake_stream_begin, fake_stream_write,
    fake_stream_end, fake_congested,    fake_hold,         fake_release,
};

static void req_init(struct fake_req *r, const char *path, const char *body)
{
    memset(r, 0, sizeof(*r));
    ag_arena_init(&r->req.arena, 0, 0);
    ag_buf_init(&r->req.body, 0);
    ag_buf_append_c(&r->req.body, body);
    r->req.method = AG_STR("POST");
    r->req.path = ag_str_c(path);
    r->req.target = r->req.path;
    snprintf(r->req.id, sizeof(r->req.id), "test-req");
    snprintf(r->req.client_ip, sizeof(r->req.client_ip), "127.0.0.1");
    r->req.start_us = ag_now_us();
    ag_buf_init(&r->sent, 0);
    ag_buf_init(&r->headers, 0);
}

static void req_dispose(struct fake_req *r)
{
    ag_arena_dispose(&r->req.arena);
    ag_buf_dispose(&r->req.body);
    ag_buf_dispose(&r->sent);
    ag_buf_dispose(&r->headers);
}

/* b's bytes as a C string (the NUL is not counted in b->len). */
static const char *cstr(struct ag_buf *b)
{
    assert_int_equal(ag_buf_append(b, "", 1), 0);
    b->len--;
    return b->data;
}

/* ---------------------------------------------------------------- fixture */

struct rec {
    bool answer_out; /* the client had the whole answer when the record was made */
    bool req_alive;  /* and the request was not completed (freed, for the server) yet */
    int status;
    char error_class[64];
    char account[64];
    char model[64];
    int attempts;
};

struct fx {
    uv_loop_t loop;
    char dir[64];
    struct ag_store *store;
    struct ag_config *cfg;
    struct ag_mapping *mapping;
    struct ag_pool *pool;
    struct ag_relay *relay;
    struct rec recs[8];
    int nrecs;
    bool pool_closed;
};

static void on_record(const struct ag_relay_record *rec, void *ud)
{
    struct fx *f = ud;
    assert_true(f->nrecs < 8);
    struct rec *r = &f->recs[f->nrecs++];
    r->answer_out = on_hold && (on_hold->responded || on_hold->ended);
    r->req_alive = on_hold && on_hold->req.on_abort != completed_abort;
    r->status = rec->status;
    snprintf(r->error_class, sizeof(r->error_class), "%s", rec->error_class);
    snprintf(r->account, sizeof(r->account), "%s", rec->account ? rec->account : "");
    r->attempts = rec->attempts;
    snprintf(r->model, sizeof(r->model), "%.*s", (int)rec->model.len,
             rec->model.p ? rec->model.p : "");
}

static void add_account(struct fx *f, const char *email, const char *token)
{
    struct ag_account a = {.email = (char *)email,
                           .refresh_token = "1//refresh",
                           .access_token = (char *)token,
                           .token_expiry = ag_wall_s() + 86400,
                           .project_id = "proj-test"};
    char id[AG_ACCOUNT_ID_SIZE];
    bool created;
    assert_int_equal(ag_store_account_upsert(f->store, &a, id, &created), 0);
}

static int setup(void **state)
{
    static const char conf[] = "{\"scheduling\":{\"max_attempts\":3}}";
    struct fx *f = calloc(1, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    snprintf(f->dir, sizeof(f->dir), "/tmp/aigate-relay-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(ag_store_open(f->dir, &f->store, NULL, 0), 0);
    add_account(f, "a@example.com", "token-a");
    add_account(f, "b@example.com", "token-b");
    assert_int_equal(ag_config_from_json(conf, sizeof(conf) - 1, &f->cfg, NULL), 0);
    char err[256];
    struct ag_mapping_config mc = {.custom = &f->cfg->mapping.custom,
                                   .background_model = f->cfg->mapping.background_model};
    f->mapping = ag_mapping_new(&mc, err, sizeof(err));
    assert_non_null(f->mapping);
    f->pool = ag_pool_new(&f->loop, NULL, f->store, NULL, f->cfg);
    assert_non_null(f->pool);
    struct ag_relay_deps deps = {.loop = &f->loop,
                                 .cfg = f->cfg,
                                 .pool = f->pool,
                                 .mapping = f->mapping,
                                 .on_record = on_record,
                                 .record_ud = f};
    f->relay = ag_relay_new(&deps);
    f->relay->upstream = &fake_upstream;
    f->relay->conn = &fake_conn;
    ncalls = 0;
    *state = f;
    return 0;
}

static void pool_closed(void *ud)
{
    ((struct fx *)ud)->pool_closed = true;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    assert_int_equal(ag_relay_active(f->relay), 0);
    ag_pool_close(f->pool, pool_closed, f);
    assert_true(ag_test_run_until(&f->loop, &f->pool_closed, 5000));
    ag_relay_free(f->relay);
    ag_pool_free(f->pool);
    ag_mapping_free(f->mapping);
    ag_config_unref(f->cfg);
    ag_store_free(f->store);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* the calls' timers close */
    assert_int_equal(uv_loop_close(&f->loop), 0);
    ag_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* Runs the loop until the upstream has seen n calls (bounded: the pool answers at once). */
static void run_until_calls(struct fx *f, int n)
{
    for (int i = 0; i < 200 && ncalls < n; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(ncalls, n);
}

static const char chat[] = "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
                           "\"content\":\"hi\"}]}";
static const char chat_stream[] = "{\"model\":\"gemini-2.5-flash\",\"stream\":true,"
                                  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

/* a collected answer comes as a stream too (streamGenerateContent) */
static const char answer_sse[] =
    "data: {\"response\":{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":"
    "\"Hello there\"}]},\"finishReason\":\"STOP\"}],\"modelVersion\":\"gemini-2.5-flash\","
    "\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2,"
    "\"totalTokenCount\":5}}}\n\n";

static const char sse_first[] = "data: {\"response\":{\"candidates\":[{\"content\":{\"role\":"
                                "\"model\",\"parts\":[{\"text\":\"Hello\"}]}}]}}\n\n";
static const char sse_last[] =
    "data: {\"response\":{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":"
    "\" there\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":3,"
    "\"candidatesTokenCount\":2,\"totalTokenCount\":5}}}\n\n";

static const char rate_limited[] =
    "{\"error\":{\"code\":429,\"message\":\"Too many requests, slow down\","
    "\"status\":\"RESOURCE_EXHAUSTED\"}}";

/* ---------------------------------------------------------------- tests */

static void rate_limit_moves_to_the_other_account(void **state)
{
    struct fx *f = *state;
    struct fake_req r;
    struct ag_client_hints h = {0};
    req_init(&r, "/v1/chat/completions", chat);
    ag_relay_start(f->relay, &r.req, &ag_relay_openai_chat, &h);
    run_until_calls(f, 1);
    char first[64];
    snprintf(first, sizeof(first), "%s", calls[0].token);

    snprintf(calls[0].retry_after, sizeof(calls[0].retry_after), "7");
    assert_int_equal(upstream_answer(&calls[0], 429, rate_limited), 0);
    upstream_done(&calls[0], 0);
    assert_false(r.responded); /* the client saw nothing of the 429 */
    run_until_calls(f, 2);
    assert_string_not_equal(calls[1].token, first); /* the other account */

    assert_int_equal(upstream_answer(&calls[1], 200, answer_sse), 0);
    upstream_done(&calls[1], 0);
    assert_true(r.responded);
    if (r.status != 200)
        fail_msg("%d %s", r.status, cstr(&r.sent));
    assert_non_null(strstr(cstr(&r.sent), "Hello there"));
    assert_non_null(strstr(cstr(&r.headers), "x-aigate-attempts: 2"));
    assert_int_equal(f->nrecs, 1);
    assert_int_equal(f->recs[0].status, 200);
    assert_int_equal(f->recs[0].attempts, 2);
    assert_not_touched_after_completion(&r);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    req_dispose(&r);
}

/* The client gets its answer before the request is recorded (monitor, metrics, log row): the
 * bookkeeping is not on its path. The request is still alive for the record. */
static void the_answer_leaves_before_the_record_is_made(void **state)
{
    struct fx *f = *state;
    for (int stream = 0; stream < 2; stream++) {
        struct fake_req r;
        struct ag_client_hints h = {.sse = stream};
        req_init(&r, "/v1/chat/completions", stream ? chat_stream : chat);
        ag_relay_start(f->relay, &r.req, &ag_relay_openai_chat, &h);
        run_until_calls(f, stream + 1);
        assert_int_equal(upstream_answer(&calls[stream], 200, answer_sse), 0);
        upstream_done(&calls[stream], 0);
        assert_true(stream ? r.ended : r.responded);
        assert_int_equal(f->nrecs, stream + 1);
        assert_true(f->recs[stream].answer_out);
        assert_true(f->recs[stream].req_alive);
        assert_int_equal(f->recs[stream].status, 200);
        assert_null(on_hold);
        assert_not_touched_after_completion(&r); /* completed once released */
        uv_run(&f->loop, UV_RUN_NOWAIT);
        req_dispose(&r);
    }
}

static void every_account_rate_limited_answers_429(void **state)
{
    struct fx *f = *state;
    struct fake_req r;
    struct ag_client_hints h = {0};
    req_init(&r, "/v1/chat/completions", chat);
    ag_relay_start(f->relay, &r.req, &ag_relay_openai_chat, &h);
    for (int i = 0; i < 2; i++) {
        run_until_calls(f, i + 1);
        snprintf(calls[i].retry_after, sizeof(calls[i].retry_after), "%d", 9 - i * 4);
        assert_int_equal(upstream_answer(&calls[i], 429, rate_limited), 0);
        upstream_done(&calls[i], 0);
    }
    for (int i = 0; i < 200 && !r.responded; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_true(r.responded);
    assert_int_equal(r.status, 429);
    assert_string_not_equal(calls[0].token, calls[1].token);
    assert_non_null(strstr(cstr(&r.sent), "rate_limit_error"));
    /* the shortest hint an upstream gave */
    assert_non_null(strstr(cstr(&r.headers), "retry-after: 5"));
    assert_int_equal(f->nrecs, 1);
    assert_int_equal(f->recs[0].status, 429);
    assert_not_touched_after_completion(&r);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    req_dispose(&r);
}

static void client_gone_mid_stream_cancels_the_upstream(void **state)
{
    struct fx *f = *state;
    struct fake_req r;
    struct ag_client_hints h = {.sse = true};
    req_init(&r, "/v1/chat/completions", chat_stream);
    ag_relay_start(f->relay, &r.req, &ag_relay_openai_chat, &h);
    run_until_calls(f, 1);
    assert_true(calls[0].spec.sse);
    assert_int_equal(upstream_answer(&calls[0], 200, sse_first), 0);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* the read is handled: its frames leave */
    assert_true(r.streaming);
    assert_non_null(strstr(cstr(&r.sent), "Hello"));
    assert_int_equal(ag_relay_active(f->relay), 1);

    /* the server notices the client is gone */
    r.req.on_abort(&r.req, r.req.cb_ud);
    assert_true(calls[0].canceled);
    assert_false(r.ended); /* nothing more was sent to a client that is gone */
    assert_null(r.req.on_abort);
    assert_null(r.req.on_drain);
    assert_int_equal(ag_relay_active(f->relay), 0);
    assert_int_equal(f->nrecs, 1);
    assert_int_equal(f->recs[0].status, 499);
    assert_string_equal(f->recs[0].error_class, "client_closed");
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(f->nrecs, 1); /* recorded once */
    assert_int_equal(ncalls, 1);   /* and not retried */
    req_dispose(&r);
}

static void congested_client_pauses_the_upstream(void **state)
{
    struct fx *f = *state;
    struct fake_req r;
    struct ag_client_hints h = {.sse = true};
    req_init(&r, "/v1/chat/completions", chat_stream);
    ag_relay_start(f->relay, &r.req, &ag_relay_openai_chat, &h);
    run_until_calls(f, 1);

    r.congested = true;
    assert_int_equal(upstream_answer(&calls[0], 200, sse_first), 0);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* the read is handled: its frames leave */
    assert_int_equal(calls[0].pauses, 1);
    assert_true(calls[0].paused);
    /* still congested: the upstream stays paused, not paused again, nothing resumes it */
    struct ag_cloudcode_call *cc = (struct ag_cloudcode_call *)&calls[0];
    assert_int_equal(calls[0].spec.on_data(cc, "\n", 1, calls[0].spec.ud), 0);
    assert_int_equal(calls[0].pauses, 1);
    assert_int_equal(calls[0].resumes, 0);

    r.congested = false;
    r.req.on_drain(&r.req, r.req.cb_ud);
    assert_int_equal(calls[0].resumes, 1);
    assert_false(calls[0].paused);
    r.req.on_drain(&r.req, r.req.cb_ud); /* a second drain has nothing to resume */
    assert_int_equal(calls[0].resumes, 1);

    assert_int_equal(calls[0].spec.on_data(cc, sse_last, strlen(sse_last), calls[0].spec.ud), 0);
    upstream_done(&calls[0], 0);
    assert_true(r.ended);
    assert_non_null(strstr(cstr(&r.sent), "[DONE]"));
    assert_int_equal(f->nrecs, 1);
    assert_int_equal(f->recs[0].status, 200);
    assert_not_touched_after_completion(&r);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    req_dispose(&r);
}

/* libcurl hands over one HTTP chunk per callback, many for one socket read: the frames of all of
 * them leave in one write once the read is handled, not one write per upstream event. */
static void frames_of_one_read_leave_in_one_write(void **state)
{
    struct fx *f = *state;
    struct fake_req r;
    struct ag_client_hints h = {.sse = true};
    req_init(&r, "/v1/chat/completions", chat_stream);
    ag_relay_start(f->relay, &r.req, &ag_relay_openai_chat, &h);
    run_until_calls(f, 1);
    struct ag_cloudcode_call *cc = (struct ag_cloudcode_call *)&calls[0];
    assert_int_equal(upstream_answer(&calls[0], 200, sse_first), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(calls[0].spec.on_data(cc, sse_first, strlen(sse_first), calls[0].spec.ud),
                         0);
    assert_true(r.streaming);
    assert_int_equal(r.writes, 0);
    /* the attempt's arena holds its upstream body (one block of the text's estimated size) and
     * nothing else: not a chunk for small strings beside it */
    struct call *c = r.req.cb_ud;
    if (ag_arena_used(&c->sent) > calls[0].spec.body_len + calls[0].spec.body_len * 3 / 5)
        fail_msg("%zu bytes kept for a %zu-byte upstream body", ag_arena_used(&c->sent),
                 calls[0].spec.body_len);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(r.writes, 1);
    /* the role chunk and four text chunks, in order */
    const char *p = cstr(&r.sent);
    assert_non_null(strstr(p, "\"role\":\"assistant\""));
    int n = 0;
    for (const char *q = p; (q = strstr(q, "\"content\":\"Hello\"")); q++)
        n++;
    assert_int_equal(n, 4);
    /* the next read goes out in the next write; the end of the stream flushes at once */
    assert_int_equal(calls[0].spec.on_data(cc, sse_last, strlen(sse_last), calls[0].spec.ud), 0);
    upstream_done(&calls[0], 0);
    assert_true(r.ended);
    assert_int_equal(r.writes, 2);
    assert_non_null(strstr(cstr(&r.sent), "\" there\""));
    assert_non_null(strstr(cstr(&r.sent), "[DONE]"));
    assert_not_touched_after_completion(&r);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    req_dispose(&r);
}

/* An Anthropic API-key account that lists claude-routed: an Anthropic client's stream passes. */
static void passthrough_streams_the_upstream_bytes(void **state)
{
    struct fx *f = *state;
    struct ag_account a = {.provider = "anthropic",
                           .api_key = "k-anthropic-0123",
                           .email = "anthropic:an",
                           .label = "an",
                           .base_url = "http://up.test",
                           .models = "claude-routed"};
    char id[AG_ACCOUNT_ID_SIZE];
    bool created;
    assert_int_equal(ag_store_account_put_provider(f->store, &a, id, &created), 0);
    assert_int_equal(ag_pool_reload(f->pool), 0);

    static const char body[] = "{\"model\":\"claude-routed\",\"max_tokens\":9,\"stream\":true,"
                               "\"x_own\":7,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static const char up1[] =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\","
        "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-routed\","
        "\"usage\":{\"input_tokens\":12,\"output_tokens\":1},\"x_vendor\":1}}\n\n";
    static const char up2[] =
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
        "\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    struct fake_req r;
    struct ag_client_hints h = {.sse = true};
    req_init(&r, "/v1/messages", body);
    ag_relay_start(f->relay, &r.req, &ag_relay_anthropic, &h);
    run_until_calls(f, 1);
    struct fake_call *c = &calls[0];
    assert_string_equal(c->spec.url, "http://up.test/v1/messages");
    bool key = false;
    for (size_t i = 0; i < c->spec.nextra; i++)
        key = key || strcmp(c->spec.extra_headers[i], "x-api-key: k-anthropic-0123") == 0;
    assert_true(key);
    struct ag_str sent = ag_str_make(c->spec.body, c->spec.body_len);
    assert_true(ag_str_contains(sent, "\"x_own\":7"));

    r.congested = true;
    assert_int_equal(upstream_answer(c, 200, up1), 0);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* the read is handled: its bytes leave */
    assert_true(r.streaming);
    assert_int_equal(c->pauses, 1);
    r.congested = false;
    r.req.on_drain(&r.req, r.req.cb_ud);
    assert_int_equal(c->resumes, 1);
    struct ag_cloudcode_call *cc = (struct ag_cloudcode_call *)c;
    assert_int_equal(c->spec.on_data(cc, up2, strlen(up2), c->spec.ud), 0);
    upstream_done(c, 0);
    assert_true(r.ended);
    /* the client got the upstream's bytes, nothing added, nothing left out */
    assert_int_equal(r.sent.len, strlen(up1) + strlen(up2));
    assert_memory_equal(r.sent.data, up1, strlen(up1));
    assert_memory_equal(r.sent.data + strlen(up1), up2, strlen(up2));
    assert_non_null(strstr(cstr(&r.headers), "x-aigate-account: an\n"));
    assert_non_null(strstr(cstr(&r.headers), "x-aigate-model: claude-routed\n"));
    assert_int_equal(f->nrecs, 1);
    assert_int_equal(f->recs[0].status, 200);
    assert_string_equal(f->recs[0].account, "anthropic:an");
    assert_not_touched_after_completion(&r);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    req_dispose(&r);
}

/* The bytes a call holds in its arenas and the request's, but for the upstream body's. */
static size_t held(struct fake_req *r)
{
    struct call *c = r->req.cb_ud;
    return ag_arena_used(&r->req.arena) + ag_arena_used(&c->work);
}

/* What a begun stream may hold: a few KB besides its upstream body (which the transfer borrows
 * until it ends, in an arena of its own). */
static void assert_begun_stream_small(struct fake_req *r, const struct fake_call *up)
{
    struct call *c = r->req.cb_ud;
    if (held(r) > 16 * 1024)
        fail_msg("a begun stream holds %zu bytes besides its upstream body", held(r));
    assert_int_equal(ag_arena_used(&c->work), 0);
    assert_null(c->pick); /* the attempts' choices went with it */
    assert_true(ag_arena_used(&c->sent) <= 2 * up->spec.body_len);
    /* what stays for the stream's whole life: the call itself stays small (the attempts' model
     * and account lists, 1.7 KB, are not in it) */
    assert_true(sizeof(struct call) <= 4608);
}

/* A stream request whose one message is n bytes of text, in b; proto "openai" or "anthropic". */
static void big_stream_body(struct ag_buf *b, const char *proto, size_t n)
{
    ag_buf_init(b, 0);
    if (strcmp(proto, "anthropic") == 0)
        ag_buf_append_c(b, "{\"model\":\"gemini-2.5-flash\",\"max_tokens\":99,\"stream\":true,"
                           "\"stop_sequences\":[\"STOP\"],\"messages\":[{\"role\":\"user\","
                           "\"content\":\"");
    else
        ag_buf_append_c(b, "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"messages\":["
                           "{\"role\":\"user\",\"content\":\"");
    for (size_t i = 0; i < n; i++)
        ag_buf_append(b, i % 64 == 63 ? "\\n" : "a", i % 64 == 63 ? 2 : 1);
    ag_buf_append_c(b, "\"}]}");
}

#define BIG_TEXT (48u * 1024)

/* Once the client has seen the stream's first bytes no retry can come: the decoded request (a
 * 48 KB message, its JSON document, the history fitted to the target) is released. What stays is
 * the upstream body, which the transfer borrows until it ends, and a few KB of stream state; the
 * stream and its record still have the model. */
static void begun_stream_releases_the_decoded_request(void **state)
{
    struct fx *f = *state;
    struct fake_req r;
    struct ag_buf body;
    struct ag_client_hints h = {.sse = true};
    big_stream_body(&body, "openai", BIG_TEXT);
    req_init(&r, "/v1/chat/completions", cstr(&body));
    ag_relay_start(f->relay, &r.req, &ag_relay_openai_chat, &h);
    run_until_calls(f, 1);
    assert_true(calls[0].spec.body_len > BIG_TEXT);
    assert_true(held(&r) > BIG_TEXT); /* the request, decoded: its document copies the text */

    assert_int_equal(upstream_answer(&calls[0], 200, sse_first), 0);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_true(r.streaming);
    assert_begun_stream_small(&r, &calls[0]);

    struct ag_cloudcode_call *cc = (struct ag_cloudcode_call *)&calls[0];
    for (int i = 0; i < 50; i++)
        assert_int_equal(calls[0].spec.on_data(cc, sse_first, strlen(sse_first), calls[0].spec.ud),
                         0);
    assert_int_equal(calls[0].spec.on_data(cc, sse_last, strlen(sse_last), calls[0].spec.ud), 0);
    upstream_done(&calls[0], 0);
    assert_true(r.ended);
    assert_non_null(strstr(cstr(&r.sent), "\"model\":\"gemini-2.5-flash\""));
    assert_non_null(strstr(cstr(&r.sent), "[DONE]"));
    assert_int_equal(f->nrecs, 1);
    assert_int_equal(f->recs[0].status, 200);
    assert_string_equal(f->recs[0].model, "gemini-2.5-flash");
    assert_not_touched_after_completion(&r);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    req_dispose(&r);
    ag_buf_dispose(&body);
}

/* The same for an Anthropic client, whose stream matches the request's stop sequences after the
 * request was released. */
static void begun_anthropic_stream_keeps_its_stop_sequences(void **state)
{
    static const char stop_sse[] = "data: {\"response\":{\"candidates\":[{\"content\":{\"role\":"
                                   "\"model\",\"parts\":[{\"text\":\" and STOP here\"}]}}]}}\n\n";
    struct fx *f = *state;
    struct fake_req r;
    struct ag_buf body;
    struct ag_client_hints h = {.sse = true};
    big_stream_body(&body, "anthropic", BIG_TEXT);
    req_init(&r, "/v1/messages", cstr(&body));
    ag_relay_start(f->relay, &r.req, &ag_relay_anthropic, &h);
    run_until_calls(f, 1);
    assert_int_equal(upstream_answer(&calls[0], 200, sse_first), 0);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_true(r.streaming);
    assert_begun_stream_small(&r, &calls[0]);
    struct ag_cloudcode_call *cc = (struct ag_cloudcode_call *)&calls[0];
    /* the stop sequence ends the client's answer and cuts the transfer */
    assert_int_equal(calls[0].spec.on_data(cc, stop_sse, strlen(stop_sse), calls[0].spec.ud),
                     AG_ECANCELED);
    upstream_done(&calls[0], 0);
    assert_true(r.ended);
    const char *sent = cstr(&r.sent);
    assert_non_null(strstr(sent, "\"stop_reason\":\"stop_sequence\""));
    assert_non_null(strstr(sent, "\"stop_sequence\":\"STOP\""));
    assert_null(strstr(sent, "here"));
    assert_int_equal(f->nrecs, 1);
    assert_string_equal(f->recs[0].model, "gemini-2.5-flash");
    uv_run(&f->loop, UV_RUN_NOWAIT);
    req_dispose(&r);
    ag_buf_dispose(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rate_limit_moves_to_the_other_account, setup, teardown),
        cmocka_unit_test_setup_teardown(every_account_rate_limited_answers_429, setup, teardown),
        cmocka_unit_test_setup_teardown(the_answer_leaves_before_the_record_is_made, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(client_gone_mid_stream_cancels_the_upstream, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(congested_client_pauses_the_upstream, setup, teardown),
        cmocka_unit_test_setup_teardown(frames_of_one_read_leave_in_one_write, setup, teardown),
        cmocka_unit_test_setup_teardown(passthrough_streams_the_upstream_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(begun_stream_releases_the_decoded_request, setup, teardown),
        cmocka_unit_test_setup_teardown(begun_anthropic_stream_keeps_its_stop_sequences, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
