/* tests/fuzz/fuzz_upstream.c: libFuzzer harness for the upstream answer path: Cloud Code, OpenAI,
 * Anthropic and public Gemini API SSE streams (through the SSE parser) and JSON bodies decoded into
 * canonical events, then through each client encoder, streamed (stream_new / stream_event /
 * stream_finish) or collected into an answer (encode_response / encode_error); for the Responses
 * adapter also the stored form and what is read back from it (GET body, continuation).
 *
 * Input: a row byte, a mode byte, then the upstream bytes. (row - 'A') % NR picks the client
 * request below (decoded afresh per input); m = (mode - 'a') % 16 picks the upstream adapter by
 * m / 4 (a-d Cloud Code, e-h OpenAI Chat Completions, i-l Anthropic Messages, m-p the public
 * Gemini API) and by m % 4: SSE streamed to the client, SSE collected into one body, JSON body
 * collected, JSON body streamed.
 *
 * Invariants: every JSON the encoders write is JSON (each SSE data frame, a JSON-array stream as a
 * whole, response and error bodies), and a stored Responses form is readable back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "proto/adapter.h"
#include "proto/anthropic.h"
#include "proto/responses.h"
#include "upstream/sse.h"

#define TOOLS_OAI "[{\"type\":\"function\",\"function\":{\"name\":\"get\",\"parameters\":{}}}]"
#define USER_OAI  "[{\"role\":\"user\",\"content\":\"what is the weather like today?\"}]"

struct row {
    const struct ag_client_proto *proto;
    struct ag_client_hints hints;
    const char *body;
    const char *target;
};

#define S(lit)                                                                                     \
    {                                                                                              \
        (lit), sizeof(lit) - 1                                                                     \
    }

static const struct row rows[] = {
    {&ag_proto_openai_chat,
     {0},
     "{\"model\":\"gemini-2.5-flash\",\"messages\":" USER_OAI ",\"tools\":" TOOLS_OAI "}",
     "gemini-2.5-flash"},
    {&ag_proto_openai_chat,
     {0},
     "{\"model\":\"gemini-2.5-pro\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
     "\"n\":2,\"reasoning_effort\":\"high\",\"messages\":" USER_OAI ",\"tools\":" TOOLS_OAI "}",
     "gemini-2.5-pro"},
    {&ag_proto_openai_completions,
     {0},
     "{\"model\":\"gemini-2.5-flash\",\"prompt\":\"hello\",\"stream\":true,\"n\":2}",
     "gemini-2.5-flash"},
    {&ag_proto_openai_responses,
     {0},
     "{\"model\":\"gemini-2.5-flash\",\"input\":\"hi\",\"tools\":[{\"type\":\"function\","
     "\"name\":\"get\",\"parameters\":{}}]}",
     "gemini-2.5-flash"},
    {&ag_proto_openai_responses,
     {0},
     "{\"model\":\"claude-sonnet-4-5\",\"input\":\"hi\",\"stream\":true,\"reasoning\":"
     "{\"effort\":\"high\",\"summary\":\"auto\"},\"tools\":[{\"type\":\"function\","
     "\"name\":\"get\",\"parameters\":{}}]}",
     "claude-sonnet-4-5-thinking"},
    {&ag_proto_anthropic,
     {0},
     "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":100,\"stop_sequences\":[\"STOP\",\"\\n\\n\"],"
     "\"messages\":[{\"role\":\"user\",\"content\":\"hi there\"}],\"tools\":[{\"name\":\"get\","
     "\"input_schema\":{\"type\":\"object\"}}]}",
     "claude-sonnet-4-5"},
    {&ag_proto_anthropic,
     {0},
     "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":4000,\"stream\":true,\"stop_sequences\":"
     "[\"END\"],\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2000},\"messages\":"
     "[{\"role\":\"user\",\"content\":\"hi there\"}],\"tools\":[{\"name\":\"get\","
     "\"input_schema\":{\"type\":\"object\"}}]}",
     "claude-sonnet-4-5-thinking"},
    {&ag_proto_anthropic,
     {.count_tokens = true},
     "{\"model\":\"claude-sonnet-4-5\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
     "claude-sonnet-4-5"},
    {&ag_proto_gemini,
     {.model = S("gemini-2.5-flash")},
     "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],\"tools\":"
     "[{\"functionDeclarations\":[{\"name\":\"get\"}]}]}",
     "gemini-2.5-flash"},
    {&ag_proto_gemini,
     {.model = S("gemini-2.5-pro"), .stream = true, .sse = true},
     "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":"
     "{\"candidateCount\":2,\"thinkingConfig\":{\"includeThoughts\":true}}}",
     "gemini-2.5-pro"},
    {&ag_proto_gemini,
     {.model = S("gemini-2.5-flash"), .stream = true},
     "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}",
     "gemini-2.5-flash"},
    {&ag_proto_gemini,
     {.model = S("gemini-2.5-flash"), .count_tokens = true},
     "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}",
     "gemini-2.5-flash"},
    {&ag_proto_openai_images, {0}, "{\"prompt\":\"a cat\",\"n\":2}", "gemini-3-pro-image"},
    {&ag_proto_openai_images,
     {0},
     "{\"prompt\":\"a cat\",\"response_format\":\"url\"}",
     "gemini-3-pro-image"},
};
#define NR (sizeof(rows) / sizeof(rows[0]))

static void must_be_json(const char *what, const char *p, size_t len)
{
    yyjson_doc *d = yyjson_read(p, len, 0);
    if (!d) {
        fprintf(stderr, "fuzz_upstream: %s is not JSON: %.*s\n", what,
                (int)(len > 2000 ? 2000 : len), p);
        abort();
    }
    yyjson_doc_free(d);
}

/* Each "data: {...}" line of an SSE stream must hold JSON; a JSON-array stream must be JSON. */
static void check_stream(const struct ag_buf *out)
{
    if (!out->len)
        return;
    if (out->data[0] == '[' || out->data[0] == '{') {
        must_be_json("the JSON stream", out->data, out->len);
        return;
    }
    size_t i = 0;
    while (i < out->len) {
        size_t e = i;
        while (e < out->len && out->data[e] != '\n')
            e++;
        struct ag_str line = ag_str_make(out->data + i, e - i);
        if (ag_str_has_prefix(line, "data: {"))
            must_be_json("an SSE data frame", line.p + 6, line.len - 6);
        i = e + 1;
    }
}

struct run {
    const struct ag_client_proto *client;
    const struct ag_upstream_proto *up;
    struct ag_upstream_decoder *dec;
    struct ag_client_stream *enc;
    struct ag_answer ans;
    struct ag_buf *out;
    bool stream;
    int rc;
};

static int to_client(void *ud, const struct ag_event *ev)
{
    struct run *r = ud;
    if (r->stream)
        return r->client->stream_event(r->enc, ev, r->out);
    return ag_answer_add(&r->ans, ev);
}

/* The upstream adapters, in the order the mode byte picks them. */
static const struct ag_upstream_proto *const ups[] = {
    &ag_proto_cloudcode, &ag_proto_openai_api, &ag_proto_anthropic_api, &ag_proto_gemini_api};

static int on_sse(const struct ag_sse_event *ev, void *ud)
{
    struct run *r = ud;
    int rc = r->up->decode_event(r->dec, ev->data, to_client, r);
    if (rc == AG_EPARSE)
        return 0; /* reported to the client as an error event; the relay reads on */
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const struct row *row = &rows[(uint8_t)(data[0] - 'A') % NR];
    unsigned m = (uint8_t)(data[1] - 'a') % 16, mode = m % 4;
    const struct ag_upstream_proto *upp = ups[m / 4];
    struct ag_str up = ag_str_make((const char *)data + 2, size - 2);

    struct ag_arena arena;
    ag_arena_init(&arena, 8192, 64u << 20);
    struct ag_proto_ctx ctx = {
        .arena = &arena, .request_id = AG_STR("fuzz0001"), .now = 1700000000};
    struct ag_request *req = NULL;
    struct ag_proto_error err = {0};
    struct ag_buf out, extra;
    ag_buf_init(&out, 0);
    ag_buf_init(&extra, 0);
    if (row->proto->decode_request(&ctx, ag_str_c(row->body), &row->hints, &req, &err) != 0) {
        fprintf(stderr, "fuzz_upstream: the fixed request of %s does not decode: %.*s\n",
                row->proto->name, (int)err.message.len, err.message.p);
        abort();
    }
    struct ag_upstream_target target = {
        .model = ag_str_c(row->target),
        .project = AG_STR("fuzz-project"),
        .session_id = AG_STR("-1234567890"),
    };
    struct run r = {.client = row->proto, .up = upp, .out = &out, .stream = mode == 0 || mode == 3};
    r.dec = upp->decoder_new(&ctx, req, &target);
    if (!r.dec)
        goto out;
    ag_answer_init(&r.ans, &arena);
    if (r.stream) {
        r.enc = row->proto->stream_new(&ctx, req, &row->hints);
        if (!r.enc)
            goto out;
    }

    if (mode <= 1) {
        struct ag_sse_parser p;
        ag_sse_parser_init(&p, 1u << 20, on_sse, &r);
        int rc = ag_sse_parser_feed(&p, up.p, up.len);
        if (rc == 0)
            rc = ag_sse_parser_finish(&p);
        ag_sse_parser_dispose(&p);
        if (rc == 0)
            rc = upp->decode_end(r.dec, to_client, &r);
        r.rc = rc;
    } else {
        r.rc = upp->decode_response(r.dec, up, to_client, &r);
    }

    if (r.stream) {
        if (r.rc == 0 && row->proto->stream_finish(r.enc, &out) == 0)
            check_stream(&out);
        if (r.rc == 0 && row->proto == &ag_proto_openai_responses &&
            ag_responses_stream_store(r.enc, &extra) == 0 &&
            ag_responses_stored_body(&arena, ag_str_make(extra.data, extra.len), true, &out) ==
                AG_EINVAL) {
            fprintf(stderr, "fuzz_upstream: a stored stream is not readable back\n");
            abort();
        }
        goto out;
    }
    if (r.ans.failed) {
        if (row->proto->encode_error(&r.ans.error, &out) == 0)
            must_be_json("the error body", out.data, out.len);
        goto out;
    }
    if (row->proto->encode_response(&ctx, req, &r.ans, &out) == 0)
        must_be_json("the response body", out.data, out.len);
    if (row->proto == &ag_proto_openai_responses &&
        ag_responses_store(&ctx, req, &r.ans, &extra) == 0) {
        struct ag_str stored = ag_str_make(extra.data, extra.len);
        struct ag_buf body;
        ag_buf_init(&body, 0);
        int rc = ag_responses_stored_body(&arena, stored, true, &body);
        if (rc == AG_EINVAL) {
            fprintf(stderr, "fuzz_upstream: a stored answer is not readable back\n");
            abort();
        }
        if (rc == 0)
            must_be_json("the stored response body", body.data, body.len);
        ag_buf_dispose(&body);
        struct ag_message *msgs = NULL;
        size_t n = 0;
        (void)ag_responses_stored_messages(&arena, stored, &msgs, &n);
        /* a follow-up request continuing this answer */
        struct ag_request *next = NULL;
        if (row->proto->decode_request(&ctx, ag_str_c(row->body), &row->hints, &next, &err) == 0 &&
            ag_responses_continue(&ctx, next, stored, &err) == 0) {
            struct ag_upstream_call call;
            if (ag_proto_cloudcode.encode_request(&ctx, next, &target, &call) == 0)
                must_be_json("the continued upstream body", call.body.p, call.body.len);
        }
    }
out:
    ag_buf_dispose(&extra);
    ag_buf_dispose(&out);
    ag_arena_dispose(&arena);
    return 0;
}
