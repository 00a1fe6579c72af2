/* tests/unit/proto/test_responses.c: the Responses adapter's stored responses: storing an answer
 * (non-stream and stream), continuing it with previous_response_id (tool results answering the
 * stored calls, signatures restored, history carried into the next stored form), GET bodies,
 * stored output as canonical messages, and the side data the relay reads. */
#include "ag_test.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "proto/responses.h"

#include "proto_fixture.h"

static struct ag_request *decode(struct fixture *f, const char *body)
{
    struct ag_request *req = NULL;
    struct ag_proto_error err = {0};
    int rc = ag_proto_openai_responses.decode_request(&f->ctx, ag_str_c(body), NULL, &req, &err);
    if (rc)
        fail_msg("decode: %.*s", (int)err.message.len, err.message.p);
    return req;
}

#define SIG "CpwBAXLI2nx+Ry3/8fGz0sig1Qk9xTestSignatureForToolCallNumberOne+abc/def=="

/* First turn: a user question answered by a signed thought and a signed tool call. */
static char *first_turn(struct fixture *f)
{
    struct ag_request *req =
        decode(f, "{\"model\":\"gemini-2.5-pro\",\"instructions\":\"Be brief.\","
                  "\"input\":\"Weather in Paris today?\",\"tools\":[{\"type\":\"function\","
                  "\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}]}");
    struct ag_answer a;
    ag_answer_init(&a, &f->arena);
    struct ag_event evs[] = {
        {.type = AG_EV_START},
        {.type = AG_EV_THINKING, .text = AG_STR("Need the tool.")},
        {.type = AG_EV_SIGNATURE, .sig = {AG_STR("Ev0BthoughtSig00"), AG_STR("gemini")}},
        {.type = AG_EV_TOOL_START,
         .id = AG_STR("call_1"),
         .name = AG_STR("get_weather"),
         .sig = {AG_STR(SIG), AG_STR("gemini")}},
        {.type = AG_EV_TOOL_ARGS, .text = AG_STR("{\"city\":\"Paris\"}")},
        {.type = AG_EV_TOOL_END},
        {.type = AG_EV_USAGE, .usage = {.input = 10, .output = 5, .total = 15}},
        {.type = AG_EV_FINISH, .finish = AG_FINISH_TOOL_CALLS},
    };
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        assert_int_equal(ag_answer_add(&a, &evs[i]), 0);
    ag_buf_reset(&f->out);
    assert_int_equal(ag_responses_store(&f->ctx, req, &a, &f->out), 0);
    return ag_arena_strndup(&f->arena, f->out.data, f->out.len);
}

static void test_meta(void **state)
{
    struct fixture *f = *state;
    struct ag_request *req = decode(
        f, "{\"model\":\"m\",\"input\":\"hello there\",\"store\":false,\"previous_response_id\":"
           "\"resp_x\",\"include\":[\"reasoning.encrypted_content\"],\"tools\":[{\"type\":"
           "\"web_search\"},{\"type\":\"file_search\"},{\"type\":\"mcp\"}],"
           "\"prompt_cache_key\":\"conv-123\"}");
    const struct ag_responses_meta *m = ag_responses_meta_of(req);
    assert_false(m->store);
    assert_true(m->include_encrypted);
    assert_true(m->web_search);
    assert_int_equal(m->dropped_tools, 2);
    assert_int_equal(req->n_tools, 0);
    assert_true(ag_str_eq_c(m->previous_response_id, "resp_x"));
    assert_true(ag_str_eq_c(req->session_key, "conv-123"));
    assert_string_equal(ag_client_proto_find("openai-responses")->name, "openai-responses");
}

static void test_continue_restores_calls(void **state)
{
    struct fixture *f = *state;
    char *stored = first_turn(f);
    assert_non_null(strstr(stored, "\"input\":[{\"type\":\"message\""));
    assert_non_null(
        strstr(stored, "\"encrypted_content\":\"rs__thsig__gemini__Ev0BthoughtSig00\""));

    /* the client answers the call by its (signature-carrying) call_id only */
    const char *packed = strstr(stored, "call_1__thsig__");
    assert_non_null(packed);
    size_t plen = strcspn(packed, "\"");
    char *body = ag_arena_printf(&f->arena,
                                 "{\"model\":\"gemini-2.5-pro\",\"previous_response_id\":"
                                 "\"resp_r1\",\"input\":[{\"type\":\"function_call_output\","
                                 "\"call_id\":\"%.*s\",\"output\":\"21C\"}]}",
                                 (int)plen, packed);
    f->ctx.request_id = AG_STR("r2");
    struct ag_request *req = decode(f, body);
    assert_true(ag_responses_meta_of(req)->pending_results);
    assert_int_equal(req->n_messages, 1);
    assert_int_equal(req->messages[0].parts[0].name.len, 0);

    struct ag_proto_error err = {0};
    assert_int_equal(ag_responses_continue(&f->ctx, req, ag_str_c(stored), &err), 0);
    /* user question, thinking, call, result */
    assert_int_equal(req->n_messages, 4);
    assert_int_equal(req->messages[0].role, AG_ROLE_USER);
    assert_true(ag_str_eq_c(req->messages[0].parts[0].text, "Weather in Paris today?"));
    assert_int_equal(req->messages[1].parts[0].type, AG_PART_THINKING);
    assert_true(ag_str_eq_c(req->messages[1].parts[0].sig.value, "Ev0BthoughtSig00"));
    const struct ag_part *call = &req->messages[2].parts[0];
    assert_int_equal(call->type, AG_PART_TOOL_CALL);
    assert_true(ag_str_eq_c(call->id, "call_1"));
    assert_true(ag_str_eq_c(call->sig.value, SIG));
    assert_true(ag_str_eq_c(call->sig.family, "gemini"));
    const struct ag_part *res = &req->messages[3].parts[0];
    assert_int_equal(res->type, AG_PART_TOOL_RESULT);
    assert_true(ag_str_eq_c(res->id, "call_1"));
    assert_true(ag_str_eq_c(res->name, "get_weather"));
    /* instructions are not inherited; the session key follows the first user message */
    assert_int_equal(req->n_system, 0);
    assert_true(ag_str_has_prefix(req->session_key, "sid-"));

    /* the second stored form carries the whole conversation */
    struct ag_answer a;
    ag_answer_init(&a, &f->arena);
    struct ag_event ev = {.type = AG_EV_TEXT, .text = AG_STR("It is 21C.")};
    assert_int_equal(ag_answer_add(&a, &ev), 0);
    ev = (struct ag_event){.type = AG_EV_FINISH, .finish = AG_FINISH_STOP};
    assert_int_equal(ag_answer_add(&a, &ev), 0);
    ag_buf_reset(&f->out);
    assert_int_equal(ag_responses_store(&f->ctx, req, &a, &f->out), 0);
    char *stored2 = ag_arena_strndup(&f->arena, f->out.data, f->out.len);
    assert_non_null(strstr(stored2, "\"previous_response_id\":\"resp_r1\""));
    assert_non_null(strstr(stored2, "\"id\":\"resp_r2\""));

    /* a third turn on top of the second sees all of it */
    f->ctx.request_id = AG_STR("r3");
    req = decode(f, "{\"model\":\"gemini-2.5-pro\",\"previous_response_id\":\"resp_r2\","
                    "\"input\":\"Thanks!\"}");
    assert_int_equal(ag_responses_continue(&f->ctx, req, ag_str_c(stored2), &err), 0);
    assert_int_equal(req->n_messages, 6);
    assert_true(ag_str_eq_c(req->messages[4].parts[0].text, "It is 21C."));
    assert_true(ag_str_eq_c(req->messages[5].parts[0].text, "Thanks!"));
}

static void test_continue_unknown_call(void **state)
{
    struct fixture *f = *state;
    char *stored = first_turn(f);
    struct ag_request *req =
        decode(f, "{\"model\":\"m\",\"previous_response_id\":\"resp_r1\",\"input\":[{\"type\":"
                  "\"function_call_output\",\"call_id\":\"call_zzz\",\"output\":\"x\"}]}");
    struct ag_proto_error err = {0};
    assert_int_equal(ag_responses_continue(&f->ctx, req, ag_str_c(stored), &err), AG_EINVAL);
    assert_int_equal(err.status, 400);
    assert_true(ag_str_eq_c(err.param, "input"));
    assert_int_equal(ag_responses_continue(&f->ctx, req, AG_STR("{\"nope\":1}"), &err), AG_EINVAL);
    assert_true(ag_str_eq_c(err.param, "previous_response_id"));
}

static void test_stored_body_and_messages(void **state)
{
    struct fixture *f = *state;
    char *stored = first_turn(f);
    ag_buf_reset(&f->out);
    assert_int_equal(ag_responses_stored_body(&f->arena, ag_str_c(stored), false, &f->out), 0);
    assert_null(strstr(f->out.data, "encrypted_content"));
    assert_non_null(strstr(f->out.data, "\"object\":\"response\""));
    assert_null(strstr(f->out.data, "\"input\":"));
    ag_buf_reset(&f->out);
    assert_int_equal(ag_responses_stored_body(&f->arena, ag_str_c(stored), true, &f->out), 0);
    assert_non_null(strstr(f->out.data, "encrypted_content"));
    assert_int_equal(ag_responses_stored_body(&f->arena, AG_STR("[]"), true, &f->out), AG_EINVAL);

    struct ag_message *msgs = NULL;
    size_t n = 0;
    assert_int_equal(ag_responses_stored_messages(&f->arena, ag_str_c(stored), &msgs, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(msgs[0].role, AG_ROLE_ASSISTANT);
    assert_int_equal(msgs[0].parts[0].type, AG_PART_THINKING);
    assert_true(ag_str_eq_c(msgs[1].parts[0].sig.value, SIG));

    ag_buf_reset(&f->out);
    assert_int_equal(ag_responses_deleted_body(AG_STR("resp_r1"), &f->out), 0);
    assert_string_equal(f->out.data,
                        "{\"id\":\"resp_r1\",\"object\":\"response\",\"deleted\":true}");
    struct ag_proto_error err = {0};
    ag_responses_not_found(&err, &f->arena, AG_STR("resp_q"), false);
    assert_int_equal(err.status, 404);
    ag_responses_not_found(&err, &f->arena, AG_STR("resp_q"), true);
    assert_int_equal(err.status, 400);
    assert_true(ag_str_eq_c(err.code, "previous_response_not_found"));
}

static void test_stream_store(void **state)
{
    struct fixture *f = *state;
    struct ag_request *req = decode(f, "{\"model\":\"m\",\"input\":\"Say hi\",\"stream\":true}");
    struct ag_client_stream *st = ag_proto_openai_responses.stream_new(&f->ctx, req, NULL);
    assert_non_null(st);
    struct ag_event evs[] = {
        {.type = AG_EV_START},
        {.type = AG_EV_TEXT, .text = AG_STR("Hi")},
        {.type = AG_EV_TEXT, .text = AG_STR("!")},
        {.type = AG_EV_FINISH, .finish = AG_FINISH_STOP},
    };
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        assert_int_equal(st->proto->stream_event(st, &evs[i], &f->out), 0);
    assert_int_equal(st->proto->stream_finish(st, &f->out), 0);
    /* finishing twice adds nothing */
    size_t len = f->out.len;
    assert_int_equal(st->proto->stream_finish(st, &f->out), 0);
    assert_int_equal(f->out.len, len);
    assert_non_null(strstr(f->out.data, "event: response.completed\ndata: "));
    ag_buf_reset(&f->out);
    assert_int_equal(ag_responses_stream_store(st, &f->out), 0);
    assert_non_null(strstr(f->out.data, "\"status\":\"completed\""));
    assert_non_null(strstr(f->out.data, "\"text\":\"Hi!\""));
    assert_non_null(strstr(f->out.data, "\"input\":[{\"type\":\"message\",\"role\":\"user\","
                                        "\"content\":\"Say hi\"}]"));
}

/* A Responses stream's item events (here a function call's argument deltas, one document each)
 * are built in memory emptied per event: the request's arena grows with the arguments' text, not
 * with the number of events. */
static void test_stream_events_do_not_grow_the_arena(void **state)
{
    struct fixture *f = *state;
    struct ag_request *req = decode(f, "{\"model\":\"m\",\"input\":\"Call f\",\"stream\":true}");
    struct ag_client_stream *st = ag_proto_openai_responses.stream_new(&f->ctx, req, NULL);
    assert_non_null(st);
    struct ag_event start = {.type = AG_EV_START};
    struct ag_event call = {.type = AG_EV_TOOL_START, .id = AG_STR("call_1"), .name = AG_STR("f")};
    struct ag_event args = {.type = AG_EV_TOOL_ARGS, .text = AG_STR("1")};
    assert_int_equal(st->proto->stream_event(st, &start, &f->out), 0);
    assert_int_equal(st->proto->stream_event(st, &call, &f->out), 0);
    size_t after = 0;
    for (int i = 0; i < 600; i++) {
        if (i == 100)
            after = ag_arena_used(&f->arena);
        assert_int_equal(st->proto->stream_event(st, &args, &f->out), 0);
        ag_buf_reset(&f->out);
    }
    size_t grown = ag_arena_used(&f->arena) - after;
    if (grown > 4096)
        fail_msg("500 argument deltas took %zu bytes of the request's arena", grown);
    struct ag_event end = {.type = AG_EV_TOOL_END};
    struct ag_event fin = {.type = AG_EV_FINISH, .finish = AG_FINISH_TOOL_CALLS};
    assert_int_equal(st->proto->stream_event(st, &end, &f->out), 0);
    assert_int_equal(st->proto->stream_event(st, &fin, &f->out), 0);
    assert_int_equal(st->proto->stream_finish(st, &f->out), 0);
    assert_non_null(strstr(f->out.data, "event: response.completed\ndata: "));
    assert_non_null(strstr(f->out.data, "\"arguments\":\"111"));
    ag_buf_reset(&f->out);
    assert_int_equal(ag_responses_stream_store(st, &f->out), 0);
    assert_non_null(strstr(f->out.data, "\"name\":\"f\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_continue_restores_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_continue_unknown_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stored_body_and_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_events_do_not_grow_the_arena, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
