/* tests/unit/proto/test_numbers.c: numbers outside the int64 range, from clients and from the
 * upstream. A JSON number such as 1e30 in an integer field (max_tokens, budget_tokens, top_k,
 * maxOutputTokens, usage counts) must be refused with a 400 or read as a sane value; it must never
 * be converted to int64 unchecked (undefined behaviour, in practice INT64_MIN on x86-64) or added
 * up past INT64_MAX. Found by the tests/fuzz harnesses (fuzz_decode, fuzz_upstream). */
#include "ag_test.h"

#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "proto/adapter.h"

#include "proto_fixture.h"

/* Decodes body with proto; a refusal must be a 400, an acceptance must encode an upstream body
 * whose generationConfig numbers are all >= 0. */
static void refused_or_sane(struct fixture *f, const struct ag_client_proto *proto,
                            const struct ag_client_hints *hints, const char *body)
{
    struct ag_request *req = NULL;
    struct ag_proto_error err = {0};
    int rc = proto->decode_request(&f->ctx, ag_str_c(body), hints, &req, &err);
    if (rc != 0) {
        assert_int_equal(err.status, 400);
        return;
    }
    assert_true(req->gen.max_tokens == -1 || req->gen.max_tokens >= 1);
    assert_true(req->gen.top_k >= -1);
    assert_true(req->thinking.budget >= -1);
    struct ag_upstream_target target = {
        .model = AG_STR("gemini-2.5-flash"), .project = AG_STR("p"), .session_id = AG_STR("s")};
    struct ag_upstream_call call;
    assert_int_equal(ag_proto_cloudcode.encode_request(&f->ctx, req, &target, &call), 0);
    yyjson_doc *doc = yyjson_read(call.body.p, call.body.len, 0);
    assert_non_null(doc);
    yyjson_val *gc = yyjson_ptr_get(yyjson_doc_get_root(doc), "/request/generationConfig");
    size_t i, max;
    yyjson_val *k, *v;
    yyjson_obj_foreach(gc, i, max, k, v)
    {
        if (yyjson_is_int(v) && yyjson_get_sint(v) < 0)
            fail_msg("upstream generationConfig.%s is %lld", yyjson_get_str(k),
                     (long long)yyjson_get_sint(v));
    }
    yyjson_doc_free(doc);
}

static void test_anthropic_max_tokens_1e30(void **state)
{
    struct ag_client_hints h = {0};
    refused_or_sane(*state, &ag_proto_anthropic, &h,
                    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1e30,"
                    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
}

static void test_anthropic_budget_and_top_k_1e30(void **state)
{
    struct ag_client_hints h = {0};
    refused_or_sane(*state, &ag_proto_anthropic, &h,
                    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":100,\"top_k\":1e30,"
                    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    refused_or_sane(*state, &ag_proto_anthropic, &h,
                    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":100,\"thinking\":"
                    "{\"type\":\"enabled\",\"budget_tokens\":1e30},"
                    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
}

static void test_openai_max_tokens_1e30(void **state)
{
    struct ag_client_hints h = {0};
    refused_or_sane(*state, &ag_proto_openai_chat, &h,
                    "{\"model\":\"m\",\"max_tokens\":1e30,"
                    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
}

static void test_responses_max_output_tokens_1e30(void **state)
{
    struct ag_client_hints h = {0};
    refused_or_sane(*state, &ag_proto_openai_responses, &h,
                    "{\"model\":\"m\",\"max_output_tokens\":1e30,\"input\":\"hi\"}");
}

static void test_gemini_generation_config_1e30(void **state)
{
    struct ag_client_hints h = {.model = AG_STR("gemini-2.5-flash")};
    refused_or_sane(*state, &ag_proto_gemini, &h,
                    "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],"
                    "\"generationConfig\":{\"maxOutputTokens\":1e30}}");
    refused_or_sane(*state, &ag_proto_gemini, &h,
                    "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],"
                    "\"generationConfig\":{\"topK\":-1e30,\"candidateCount\":1e30}}");
}

static int last_usage(void *ud, const struct ag_event *ev)
{
    if (ev->type == AG_EV_USAGE)
        *(struct ag_usage *)ud = ev->usage;
    return 0;
}

static void test_upstream_usage_out_of_range(void **state)
{
    struct fixture *f = *state;
    struct ag_client_hints h = {0};
    struct ag_request *req = NULL;
    struct ag_proto_error err = {0};
    assert_int_equal(ag_proto_openai_chat.decode_request(
                         &f->ctx,
                         AG_STR("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                                "\"hi\"}]}"),
                         &h, &req, &err),
                     0);
    struct ag_upstream_target target = {.model = AG_STR("gemini-2.5-flash")};
    static const char *const bodies[] = {
        "{\"response\":{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]},"
        "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":1e30,"
        "\"candidatesTokenCount\":1,\"totalTokenCount\":-1e30}}}",
        "{\"response\":{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]},"
        "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":1,"
        "\"candidatesTokenCount\":9223372036854775807,"
        "\"thoughtsTokenCount\":9223372036854775807}}}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct ag_upstream_decoder *dec = ag_proto_cloudcode.decoder_new(&f->ctx, req, &target);
        assert_non_null(dec);
        struct ag_usage u = {0};
        assert_int_equal(
            ag_proto_cloudcode.decode_response(dec, ag_str_c(bodies[i]), last_usage, &u), 0);
        if (u.input < 0 || u.output < 0 || u.reasoning < 0 || u.cached < 0 || u.total < 0)
            fail_msg("body %zu: usage in %lld out %lld reasoning %lld total %lld", i,
                     (long long)u.input, (long long)u.output, (long long)u.reasoning,
                     (long long)u.total);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_anthropic_max_tokens_1e30, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anthropic_budget_and_top_k_1e30, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openai_max_tokens_1e30, setup, teardown),
        cmocka_unit_test_setup_teardown(test_responses_max_output_tokens_1e30, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gemini_generation_config_1e30, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upstream_usage_out_of_range, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
