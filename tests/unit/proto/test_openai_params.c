/* tests/unit/proto/test_openai_params.c: the parameter an OpenAI chat error names. The decoder
 * formats these names only when a message is refused, so each error path is checked here for the
 * exact name: a content of the wrong type in a system, assistant and tool message, tool call
 * arguments nested too deep (tool_calls[i] and the legacy function_call), and a valid
 * conversation that is accepted. */
#include "ag_test.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "proto/adapter.h"

#include "proto_fixture.h"

/* Decodes body as an OpenAI chat request and checks the refusal names param. */
static void refused_naming(struct fixture *f, const char *body, const char *param)
{
    struct ag_client_hints h = {0};
    struct ag_request *req = NULL;
    struct ag_proto_error err = {0};
    int rc = ag_proto_openai_chat.decode_request(&f->ctx, ag_str_c(body), &h, &req, &err);
    assert_int_not_equal(rc, 0);
    assert_int_equal(err.status, 400);
    if (!ag_str_eq_c(err.param, param))
        fail_msg("param '%.*s', expected '%s'", (int)err.param.len, err.param.p, param);
}

static void content_of_the_wrong_type(void **state)
{
    refused_naming(*state,
                   "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                   "{\"role\":\"system\",\"content\":5}]}",
                   "messages[1].content");
    refused_naming(*state,
                   "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                   "{\"role\":\"assistant\",\"content\":\"a\"},{\"role\":\"user\",\"content\":"
                   "\"b\"},{\"role\":\"assistant\",\"content\":{}}]}",
                   "messages[3].content");
    refused_naming(*state,
                   "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                   "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
                   "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                   "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":true}]}",
                   "messages[2].content");
}

static void tool_arguments_too_deep(void **state)
{
    struct fixture *f = *state;
    f->ctx.max_json_depth = 7; /* the body itself nests 6 deep */
    refused_naming(f,
                   "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                   "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
                   "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},{\"id\":\"c2\",\"type\":"
                   "\"function\",\"function\":{\"name\":\"g\",\"arguments\":"
                   "\"[[[[[[[[[[1]]]]]]]]]]\"}}]}]}",
                   "messages[1].tool_calls[1].function.arguments");
    refused_naming(f,
                   "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                   "{\"role\":\"user\",\"content\":\"again\"},{\"role\":\"assistant\","
                   "\"function_call\":{\"name\":\"g\",\"arguments\":\"[[[[[[[[[[1]]]]]]]]]]\"}}]}",
                   "messages[2].function_call.arguments");
}

static void a_valid_conversation_is_accepted(void **state)
{
    struct fixture *f = *state;
    struct ag_client_hints h = {0};
    struct ag_request *req = NULL;
    struct ag_proto_error err = {0};
    const char *body =
        "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
        "{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":[{\"type\":"
        "\"text\",\"text\":\"a\"}],\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
        "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"r\"}]}";
    assert_int_equal(ag_proto_openai_chat.decode_request(&f->ctx, ag_str_c(body), &h, &req, &err),
                     0);
    assert_int_equal(req->n_system, 1);
    assert_int_equal(req->n_messages, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(content_of_the_wrong_type, setup, teardown),
        cmocka_unit_test_setup_teardown(tool_arguments_too_deep, setup, teardown),
        cmocka_unit_test_setup_teardown(a_valid_conversation_is_accepted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
