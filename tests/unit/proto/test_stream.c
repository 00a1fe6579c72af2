/* tests/unit/proto/test_stream.c: client stream encoders fed canonical events one at a time, the
 * answer collector, and signature-carrying tool ids. */
#include "ag_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "proto/adapter.h"
#include "proto/toolid.h"

struct fixture {
    struct ag_arena arena;
    struct ag_proto_ctx ctx;
    struct ag_request req;
    struct ag_buf out;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    ag_arena_init(&f->arena, 4096, 0);
    f->ctx.arena = &f->arena;
    f->ctx.request_id = AG_STR("r1");
    f->ctx.now = 1234;
    ag_request_init(&f->req);
    f->req.model = AG_STR("gpt-4o");
    ag_buf_init(&f->out, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ag_buf_dispose(&f->out);
    ag_arena_dispose(&f->arena);
    free(f);
    return 0;
}

/* Feeds one event and returns what it produced (valid until the next call). */
static const char *feed(struct fixture *f, struct ag_client_stream *st, struct ag_event ev)
{
    ag_buf_reset(&f->out);
    assert_int_equal(st->proto->stream_event(st, &ev, &f->out), 0);
    return f->out.data ? f->out.data : "";
}

#define CHUNK_PREFIX                                                                               \
    "data: {\"id\":\"chatcmpl-r1\",\"object\":\"chat.completion.chunk\",\"created\":1234,"         \
    "\"model\":\"gpt-4o\",\"choices\":[{\"index\":"

static void test_openai_incremental_tool_args(void **state)
{
    struct fixture *f = *state;
    struct ag_client_stream *st = ag_proto_openai_chat.stream_new(&f->ctx, &f->req, NULL);
    assert_non_null(st);
    assert_string_equal(feed(f, st, (struct ag_event){.type = AG_EV_START}),
                        CHUNK_PREFIX "0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                                     "\"logprobs\":null,\"finish_reason\":null}]}\n\n");
    /* the header waits for the first arguments so it goes out as one complete delta */
    assert_string_equal(feed(f, st,
                             (struct ag_event){.type = AG_EV_TOOL_START,
                                               .id = AG_STR("call_1"),
                                               .name = AG_STR("f")}),
                        "");
    assert_string_equal(
        feed(f, st, (struct ag_event){.type = AG_EV_TOOL_ARGS, .text = AG_STR("{\"a\":")}),
        CHUNK_PREFIX "0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":"
                     "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":\"}}]},"
                     "\"logprobs\":null,\"finish_reason\":null}]}\n\n");
    assert_string_equal(
        feed(f, st, (struct ag_event){.type = AG_EV_TOOL_ARGS, .text = AG_STR("1}")}),
        CHUNK_PREFIX "0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
                     "\"1}\"}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
    assert_string_equal(feed(f, st, (struct ag_event){.type = AG_EV_TOOL_END}), "");
    /* a finish of "stop" after tool calls is reported as tool_calls */
    assert_string_equal(
        feed(f, st, (struct ag_event){.type = AG_EV_FINISH, .finish = AG_FINISH_STOP}),
        CHUNK_PREFIX "0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}]}\n\n");
    ag_buf_reset(&f->out);
    assert_int_equal(st->proto->stream_finish(st, &f->out), 0);
    assert_string_equal(f->out.data, "data: [DONE]\n\n");
}

static void test_openai_tool_without_args(void **state)
{
    struct fixture *f = *state;
    struct ag_client_stream *st = ag_proto_openai_chat.stream_new(&f->ctx, &f->req, NULL);
    const char *s = feed(
        f, st, (struct ag_event){.type = AG_EV_TOOL_START, .id = AG_STR("c"), .name = AG_STR("g")});
    assert_non_null(strstr(s, "\"role\":\"assistant\"")); /* the choice opens lazily */
    s = feed(f, st, (struct ag_event){.type = AG_EV_TOOL_END});
    assert_non_null(strstr(s, "\"id\":\"c\",\"type\":\"function\""));
    assert_non_null(strstr(s, "\"arguments\":\"{}\""));
}

static void test_openai_second_choice_gets_role(void **state)
{
    struct fixture *f = *state;
    struct ag_client_stream *st = ag_proto_openai_chat.stream_new(&f->ctx, &f->req, NULL);
    feed(f, st, (struct ag_event){.type = AG_EV_START});
    const char *s =
        feed(f, st, (struct ag_event){.type = AG_EV_TEXT, .choice = 1, .text = AG_STR("x")});
    /* role chunk for choice 1, then its content */
    const char *second = strstr(s, "\n\ndata: ");
    assert_non_null(second);
    assert_non_null(strstr(s, "\"index\":1,\"delta\":{\"role\":\"assistant\""));
    assert_non_null(strstr(second, "\"index\":1,\"delta\":{\"content\":\"x\"}"));
}

static void test_openai_error_ends_stream(void **state)
{
    struct fixture *f = *state;
    struct ag_client_stream *st = ag_proto_openai_chat.stream_new(&f->ctx, &f->req, NULL);
    struct ag_event ev = {.type = AG_EV_ERROR};
    ev.error.status = 429;
    ev.error.kind = AG_PERR_RATE_LIMIT;
    ev.error.message = AG_STR("slow down");
    assert_string_equal(feed(f, st, ev),
                        "data: {\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\","
                        "\"param\":null,\"code\":null}}\n\n");
    /* nothing after an error but [DONE] */
    assert_string_equal(feed(f, st, (struct ag_event){.type = AG_EV_TEXT, .text = AG_STR("late")}),
                        "");
    f->req.include_usage = true;
    ag_buf_reset(&f->out);
    assert_int_equal(st->proto->stream_finish(st, &f->out), 0);
    assert_string_equal(f->out.data, "data: [DONE]\n\n");
}

static void test_openai_thinking_and_signature(void **state)
{
    struct fixture *f = *state;
    struct ag_client_stream *st = ag_proto_openai_chat.stream_new(&f->ctx, &f->req, NULL);
    feed(f, st, (struct ag_event){.type = AG_EV_START});
    const char *s = feed(f, st, (struct ag_event){.type = AG_EV_THINKING, .text = AG_STR("hmm")});
    assert_non_null(strstr(s, "\"delta\":{\"reasoning_content\":\"hmm\"}"));
    struct ag_event sig = {.type = AG_EV_SIGNATURE};
    sig.sig.value = AG_STR("c2ln");
    assert_string_equal(feed(f, st, sig), ""); /* OpenAI has no place for a bare signature */
}

static void test_gemini_json_array_framing(void **state)
{
    struct fixture *f = *state;
    struct ag_client_hints hints = {.stream = true, .sse = false};
    struct ag_client_stream *st = ag_proto_gemini.stream_new(&f->ctx, &f->req, &hints);
    ag_buf_reset(&f->out);
    assert_int_equal(st->proto->stream_finish(st, &f->out), 0);
    assert_string_equal(f->out.data, "[]"); /* an empty stream is still a JSON array */

    st = ag_proto_gemini.stream_new(&f->ctx, &f->req, &hints);
    const char *s = feed(f, st, (struct ag_event){.type = AG_EV_TEXT, .text = AG_STR("a")});
    assert_true(s[0] == '[');
    s = feed(f, st, (struct ag_event){.type = AG_EV_TEXT, .text = AG_STR("b")});
    assert_true(strncmp(s, ",\r\n{", 4) == 0);
    ag_buf_reset(&f->out);
    assert_int_equal(st->proto->stream_finish(st, &f->out), 0);
    assert_string_equal(f->out.data, "]");
}

static void test_gemini_tool_call_assembled(void **state)
{
    struct fixture *f = *state;
    struct ag_client_hints hints = {.stream = true, .sse = true};
    struct ag_client_stream *st = ag_proto_gemini.stream_new(&f->ctx, &f->req, &hints);
    struct ag_event start = {.type = AG_EV_TOOL_START, .name = AG_STR("f")};
    start.sig.value = AG_STR("U0lH");
    assert_string_equal(feed(f, st, start), "");
    assert_string_equal(
        feed(f, st, (struct ag_event){.type = AG_EV_TOOL_ARGS, .text = AG_STR("{\"x\"")}), "");
    assert_string_equal(
        feed(f, st, (struct ag_event){.type = AG_EV_TOOL_ARGS, .text = AG_STR(":[1]}")}), "");
    const char *s = feed(f, st, (struct ag_event){.type = AG_EV_TOOL_END});
    assert_non_null(strstr(s, "{\"functionCall\":{\"name\":\"f\",\"args\":{\"x\":[1]}},"
                              "\"thoughtSignature\":\"U0lH\"}"));
    assert_non_null(ag_proto_openai_chat.keepalive);
    assert_string_equal(ag_proto_openai_chat.keepalive, ": ping\n\n");
}

static void test_toolid_round_trip(void **state)
{
    struct fixture *f = *state;
    struct ag_signature sig = {AG_STR("ab+/cd=="), AG_STR("gemini")}, back;
    struct ag_str id = ag_toolid_pack(&f->arena, AG_STR("call_1"), &sig);
    assert_true(ag_str_eq_c(id, "call_1__thsig__gemini__ab-_cd"));
    struct ag_str base;
    assert_int_equal(ag_toolid_unpack(&f->arena, id, &base, &back), 0);
    assert_true(ag_str_eq_c(base, "call_1"));
    assert_true(ag_str_eq(back.value, sig.value));
    assert_true(ag_str_eq_c(back.family, "gemini"));
    /* Not canonical base64 (spaces, '_', padding that does not match the length): carried as raw
     * bytes instead, and restored byte-exact — a signature is never lost. */
    const char *odd_values[] = {"a b", "abcde==", "mocksig_0123abcd", "x", "\xff\x01 raw"};
    for (size_t k = 0; k < sizeof(odd_values) / sizeof(odd_values[0]); k++) {
        struct ag_signature odd = {ag_str_c(odd_values[k]), AG_STR("claude")};
        struct ag_str oid = ag_toolid_pack(&f->arena, AG_STR("c"), &odd);
        assert_true(ag_str_has_prefix(oid, "c__thsigr__claude__"));
        for (size_t i = 0; i < oid.len; i++)
            assert_non_null(strchr(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", oid.p[i]));
        assert_int_equal(ag_toolid_unpack(&f->arena, oid, &base, &back), 0);
        assert_true(ag_str_eq_c(base, "c"));
        assert_true(ag_str_eq(back.value, odd.value));
        assert_true(ag_str_eq_c(back.family, "claude"));
    }
    /* a plain id stays whole */
    assert_int_equal(ag_toolid_unpack(&f->arena, AG_STR("toolu_9"), &base, &back), 0);
    assert_true(ag_str_eq_c(base, "toolu_9"));
    assert_int_equal(back.value.len, 0);
    /* deterministic ids */
    struct ag_str a = ag_toolid_make(&f->arena, AG_STR("seed"), 1);
    struct ag_str b = ag_toolid_make(&f->arena, AG_STR("seed"), 1);
    struct ag_str c = ag_toolid_make(&f->arena, AG_STR("seed"), 2);
    assert_true(ag_str_eq(a, b));
    assert_false(ag_str_eq(a, c));
    assert_true(ag_str_has_prefix(a, "call_"));
}

static void test_answer_collects(void **state)
{
    struct fixture *f = *state;
    struct ag_answer a;
    ag_answer_init(&a, &f->arena);
    struct ag_event evs[] = {
        {.type = AG_EV_START, .id = AG_STR("resp"), .name = AG_STR("m")},
        {.type = AG_EV_THINKING, .text = AG_STR("t1")},
        {.type = AG_EV_THINKING, .text = AG_STR("t2")},
        {.type = AG_EV_SIGNATURE, .sig = {AG_STR("SIG"), AG_STR("gemini")}},
        {.type = AG_EV_TEXT, .text = AG_STR("Hel")},
        {.type = AG_EV_TEXT, .text = AG_STR("lo")},
        {.type = AG_EV_TOOL_START, .id = AG_STR("c1"), .name = AG_STR("f")},
        {.type = AG_EV_TOOL_ARGS, .text = AG_STR("{\"a\"")},
        {.type = AG_EV_TOOL_ARGS, .text = AG_STR(":1}")},
        {.type = AG_EV_TOOL_END},
        {.type = AG_EV_USAGE, .usage = {.input = 3, .output = 4, .total = 7}},
        {.type = AG_EV_FINISH, .finish = AG_FINISH_TOOL_CALLS},
    };
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        assert_int_equal(ag_answer_add(&a, &evs[i]), 0);
    assert_int_equal(a.n_choices, 1);
    const struct ag_choice *c = &a.choices[0];
    assert_int_equal(c->n_parts, 3);
    assert_true(ag_str_eq_c(c->parts[0].text, "t1t2"));
    assert_true(ag_str_eq_c(c->parts[0].sig.value, "SIG"));
    assert_true(ag_str_eq_c(c->parts[1].text, "Hello"));
    assert_true(ag_str_eq_c(c->parts[2].args, "{\"a\":1}"));
    assert_int_equal(c->finish, AG_FINISH_TOOL_CALLS);
    assert_int_equal(a.usage.total, 7);
    assert_true(ag_str_eq_c(a.id, "resp"));
    assert_false(a.failed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_openai_incremental_tool_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openai_tool_without_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openai_second_choice_gets_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openai_error_ends_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openai_thinking_and_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gemini_json_array_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gemini_tool_call_assembled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_toolid_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_collects, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
