/* tests/unit/proto/test_scratch.c: an upstream encoder given a scratch arena builds the body's JSON
 * document there and leaves only the body's text (and path) in the request's arena. The text must
 * be exactly what the encoder writes without one, and must not point into the scratch arena once
 * it is freed (AddressSanitizer reads it after the free). A streamed request keeps its arena for
 * the stream's life, so the document it no longer needs is most of a stream's memory. */
#include "ag_test.h"

#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "proto/adapter.h"

#include "proto_fixture.h"

/* An OpenAI chat conversation of n turns: texts with escapes, tool calls and their results. */
static void conversation(struct ag_buf *b, size_t n)
{
    ag_buf_append_c(b,
                    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1000,\"messages\":["
                    "{\"role\":\"system\",\"content\":\"You are terse.\\nAnswer \\\"fast\\\".\"}");
    for (size_t i = 0; i < n; i++) {
        char m[640];
        int len = snprintf(
            m, sizeof(m),
            ",{\"role\":\"user\",\"content\":\"turn %zu: read the file\\tand \\u00e9 \\\"quoted\\\""
            " lines\\nmore text to make the message a little longer than a word\"}"
            ",{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_%zu\","
            "\"type\":\"function\",\"function\":{\"name\":\"read\",\"arguments\":"
            "\"{\\\"path\\\":\\\"/tmp/f%zu\\\"}\"}}]}"
            ",{\"role\":\"tool\",\"tool_call_id\":\"call_%zu\",\"content\":\"line one\\nline "
            "two\"}",
            i, i, i, i);
        assert_true(len > 0 && (size_t)len < sizeof(m));
        ag_buf_append(b, m, (size_t)len);
    }
    ag_buf_append_c(b, "],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"read\","
                       "\"parameters\":{\"type\":\"object\",\"properties\":{\"path\":"
                       "{\"type\":\"string\"}},\"required\":[\"path\"]}}}]}");
}

static const struct ag_upstream_proto *const ups[] = {
    &ag_proto_cloudcode,
    &ag_proto_gemini_api,
    &ag_proto_anthropic_api,
    &ag_proto_openai_api,
};

static void encode_with_and_without_scratch(struct fixture *f, size_t turns, bool count)
{
    struct ag_buf in;
    ag_buf_init(&in, 0);
    conversation(&in, turns);
    struct ag_request *req = NULL;
    struct ag_proto_error err = {0};
    struct ag_client_hints h = {0};
    assert_int_equal(ag_proto_openai_chat.decode_request(&f->ctx, ag_buf_str(&in), &h, &req, &err),
                     0);
    if (count)
        req->kind = AG_REQ_COUNT_TOKENS;
    for (size_t u = 0; u < sizeof(ups) / sizeof(ups[0]); u++) {
        struct ag_upstream_target t = {.model = AG_STR("claude-sonnet-4-5"),
                                       .project = AG_STR("p"),
                                       .session_id = AG_STR("-123")};
        /* without a scratch arena: the reference text */
        struct ag_upstream_call plain;
        int rc = ups[u]->encode_request(&f->ctx, req, &t, &plain);
        if (rc == AG_EUNSUPPORTED)
            continue; /* e.g. Chat Completions counts no tokens */
        assert_int_equal(rc, 0);

        /* with one: the same text, and the request's arena grows by about the text only */
        struct ag_arena keep, scratch;
        ag_arena_init(&keep, 8192, 0);
        ag_arena_init(&scratch, 8192, 0);
        struct ag_proto_ctx ctx = f->ctx;
        ctx.arena = &keep;
        ctx.scratch = &scratch;
        struct ag_upstream_call call;
        assert_int_equal(ups[u]->encode_request(&ctx, req, &t, &call), 0);
        size_t scratch_used = ag_arena_used(&scratch);
        ag_arena_dispose(&scratch); /* the body and path must not point into it */
        assert_int_equal(call.body.len, plain.body.len);
        assert_memory_equal(call.body.p, plain.body.p, plain.body.len);
        assert_true((call.path == NULL) == (plain.path == NULL));
        if (plain.path)
            assert_string_equal(call.path, plain.path);
        assert_ptr_equal(call.method, plain.method);
        /* the document was built in the scratch arena, at least as large as its text */
        assert_true(scratch_used >= call.body.len);
        /* What stays is the text (its buffer grown by half once or twice when escapes made it
         * longer than the estimate) and its path; the document was 8-10 times the text. */
        size_t kept = ag_arena_used(&keep);
        if (kept > 3 * call.body.len + 2 * 8192)
            fail_msg("upstream %zu (%s): %zu bytes kept in the request's arena for a %zu-byte body",
                     u, plain.method ? plain.method : "", kept, call.body.len);
        yyjson_doc *doc = yyjson_read(call.body.p, call.body.len, 0);
        assert_non_null(doc);
        yyjson_doc_free(doc);
        ag_arena_dispose(&keep);
    }
    ag_buf_dispose(&in);
}

static void test_small_request(void **state)
{
    encode_with_and_without_scratch(*state, 2, false);
}

static void test_large_request(void **state)
{
    encode_with_and_without_scratch(*state, 400, false); /* ~150 KB */
}

static void test_count_tokens(void **state)
{
    encode_with_and_without_scratch(*state, 50, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_small_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_tokens, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
