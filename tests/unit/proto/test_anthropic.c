/* tests/unit/proto/test_anthropic.c: the Anthropic adapter's behaviour that golden cases cannot
 * show: tool arguments arriving in several deltas, a stop sequence split over three deltas, the
 * error-type table, the count_tokens fallback, target fitting, signature families from packed ids,
 * and the local estimate. */
#include "ag_test.h"

#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "proto/anthropic.h"

#include "proto_fixture.h"

static struct ag_request *decode(struct fixture *f, const char *body, bool count)
{
    struct ag_client_hints h = {.count_tokens = count};
    struct ag_request *req = NULL;
    struct ag_proto_error err = {0};
    int rc = ag_proto_anthropic.decode_request(&f->ctx, ag_str_c(body), &h, &req, &err);
    if (rc)
        fail_msg("decode failed: %.*s", (int)err.message.len, err.message.p);
    return req;
}

static void feed(struct ag_client_stream *st, struct ag_buf *out, enum ag_event_type t,
                 const char *text)
{
    struct ag_event ev = {.type = t};
    ev.text = ag_str_c(text);
    if (t == AG_EV_TOOL_START) {
        ev.id = AG_STR("toolu_1");
        ev.name = AG_STR("edit");
        ev.text = AG_STR_NULL;
    }
    assert_int_equal(ag_proto_anthropic.stream_event(st, &ev, out), 0);
}

/* Joins the partial_json of every input_json_delta frame. */
static void joined_partial_json(struct ag_buf *out, struct ag_buf *joined)
{
    const char *p = out->data;
    while ((p = strstr(p, "data: {")) != NULL) {
        const char *e = strstr(p, "\n\n");
        yyjson_doc *doc = yyjson_read(p + 6, (size_t)(e - p - 6), 0);
        yyjson_val *d = yyjson_obj_get(yyjson_doc_get_root(doc), "delta");
        const char *pj = yyjson_get_str(yyjson_obj_get(d, "partial_json"));
        if (pj)
            ag_buf_append_c(joined, pj);
        yyjson_doc_free(doc);
        p = e;
    }
}

static void test_tool_args_in_pieces(void **state)
{
    struct fixture *f = *state;
    struct ag_request *req =
        decode(f,
               "{\"model\":\"claude-x\",\"max_tokens\":9,\"messages\":[{\"role\":\"user\","
               "\"content\":\"go\"}]}",
               false);
    struct ag_client_stream *st = ag_proto_anthropic.stream_new(&f->ctx, req, NULL);
    feed(st, &f->out, AG_EV_TOOL_START, NULL);
    feed(st, &f->out, AG_EV_TOOL_ARGS, "{\"path\":\"a\\\"b");
    feed(st, &f->out, AG_EV_TOOL_ARGS, "\",\"n\":[1,");
    feed(st, &f->out, AG_EV_TOOL_ARGS, "2]}");
    feed(st, &f->out, AG_EV_TOOL_END, NULL);
    assert_int_equal(ag_proto_anthropic.stream_finish(st, &f->out), 0);
    struct ag_buf joined;
    ag_buf_init(&joined, 0);
    joined_partial_json(&f->out, &joined);
    yyjson_doc *got = yyjson_read(joined.data, joined.len, 0);
    const char *w = "{\"path\":\"a\\\"b\",\"n\":[1,2]}";
    yyjson_doc *want = yyjson_read(w, strlen(w), 0);
    assert_non_null(got);
    assert_true(yyjson_equals(yyjson_doc_get_root(got), yyjson_doc_get_root(want)));
    yyjson_doc_free(got);
    yyjson_doc_free(want);
    ag_buf_dispose(&joined);
    assert_non_null(strstr(f->out.data, "\"stop_reason\":\"tool_use\""));
}

static void test_stop_sequence_over_three_deltas(void **state)
{
    struct fixture *f = *state;
    struct ag_request *req =
        decode(f,
               "{\"model\":\"claude-x\",\"max_tokens\":9,\"stop_sequences\":[\"STOP\",\"xyz\"],"
               "\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"go\"}]}",
               false);
    assert_int_equal(req->gen.n_stop, 0); /* enforced here, not sent upstream */
    struct ag_client_stream *st = ag_proto_anthropic.stream_new(&f->ctx, req, NULL);
    feed(st, &f->out, AG_EV_TEXT, "abc S");
    feed(st, &f->out, AG_EV_TEXT, "T");
    assert_false(ag_anthropic_stream_done(st));
    feed(st, &f->out, AG_EV_TEXT, "OP tail");
    assert_true(ag_anthropic_stream_done(st));
    feed(st, &f->out, AG_EV_TEXT, "ignored");
    assert_int_equal(ag_proto_anthropic.stream_finish(st, &f->out), 0);
    assert_non_null(strstr(f->out.data, "\"text\":\"abc \""));
    assert_null(strstr(f->out.data, "tail"));
    assert_null(strstr(f->out.data, "ignored"));
    assert_non_null(strstr(f->out.data, "\"stop_sequence\":\"STOP\""));
    const char *stop = strstr(f->out.data, "event: message_stop");
    assert_non_null(stop);
    assert_null(strstr(stop + 1, "event: message_stop")); /* finish writes no second one */
}

static void test_error_types(void **state)
{
    static const struct {
        enum ag_error_kind k;
        const char *type;
    } map[] = {{AG_PERR_INVALID, "invalid_request_error"},
               {AG_PERR_AUTH, "authentication_error"},
               {AG_PERR_PERMISSION, "permission_error"},
               {AG_PERR_NOT_FOUND, "not_found_error"},
               {AG_PERR_TOO_LARGE, "request_too_large"},
               {AG_PERR_RATE_LIMIT, "rate_limit_error"},
               {AG_PERR_SERVER, "api_error"},
               {AG_PERR_UPSTREAM, "api_error"},
               {AG_PERR_OVERLOADED, "overloaded_error"},
               {AG_PERR_TIMEOUT, "timeout_error"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        struct ag_buf b;
        struct ag_proto_error e = {.kind = map[i].k, .message = AG_STR("m")};
        char want[160];
        snprintf(want, sizeof(want),
                 "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":\"m\"}}", map[i].type);
        ag_buf_init(&b, 0);
        assert_int_equal(ag_proto_anthropic.encode_error(&e, &b), 0);
        assert_string_equal(b.data, want);
        ag_buf_dispose(&b);
    }
    (void)state;
    assert_string_equal(ag_proto_anthropic.keepalive,
                        "event: ping\ndata: {\"type\": \"ping\"}\n\n");
}

static void test_count_tokens_falls_back_to_estimate(void **state)
{
    struct fixture *f = *state;
    struct ag_request *req =
        decode(f,
               "{\"model\":\"claude-x\",\"system\":\"be brief\",\"messages\":[{\"role\":\"user\","
               "\"content\":\"How many tokens are in this message, roughly?\"}]}",
               true);
    assert_int_equal(req->kind, AG_REQ_COUNT_TOKENS);
    struct ag_answer a;
    ag_answer_init(&a, &f->arena);
    assert_int_equal(ag_proto_anthropic.encode_response(&f->ctx, req, &a, &f->out), 0);
    int64_t est = ag_anthropic_estimate_tokens(req);
    assert_true(est > 10 && est < 40);
    char want[64];
    snprintf(want, sizeof(want), "{\"input_tokens\":%lld}", (long long)est);
    assert_string_equal(f->out.data, want);
}

static void test_fit_target(void **state)
{
    struct fixture *f = *state;
#define LOOP(first)                                                                                \
    "{\"model\":\"claude-x\",\"max_tokens\":9000,\"thinking\":{\"type\":\"enabled\","              \
    "\"budget_tokens\":2000},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"                \
    "{\"role\":\"assistant\",\"content\":[" first "{\"type\":\"tool_use\",\"id\":\"t1\","          \
    "\"name\":\"f\",\"input\":{}}]},{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","    \
    "\"tool_use_id\":\"t1\",\"content\":\"ok\"}]}]}"
    /* a tool loop begun without thinking: Claude cannot go on with thinking */
    struct ag_request *req = decode(f, LOOP(""), false);
    assert_false(ag_anthropic_fit_target(req, AG_STR("gemini-3-pro")));
    assert_int_equal(req->thinking.mode, AG_ON);
    assert_true(ag_anthropic_fit_target(req, AG_STR("claude-sonnet-4-5-thinking")));
    assert_int_equal(req->thinking.mode, AG_OFF);
    /* begun with a Claude-signed thought: kept */
    req = decode(f, LOOP("{\"type\":\"thinking\",\"thinking\":\"t\",\"signature\":\"c2ln\"},"),
                 false);
    assert_true(ag_str_eq_c(req->messages[1].parts[0].sig.family, "claude"));
    assert_false(ag_anthropic_fit_target(req, AG_STR("claude-sonnet-4-5-thinking")));
    assert_int_equal(req->thinking.mode, AG_ON);
    /* the signature retry forgets every signature; then thinking goes */
    ag_anthropic_drop_signatures(req);
    assert_int_equal(req->messages[1].parts[0].sig.value.len, 0);
    assert_true(ag_anthropic_fit_target(req, AG_STR("claude-opus-4-5")));
    assert_true(ag_anthropic_is_signature_error(AG_STR("Invalid `signature` in `thinking` block")));
    assert_true(ag_anthropic_is_signature_error(AG_STR("Corrupted thought signature.")));
    assert_false(ag_anthropic_is_signature_error(AG_STR("Resource exhausted")));
}

static void test_family_from_packed_tool_id(void **state)
{
    struct fixture *f = *state;
    /* the client names a Claude model, but the packed id says Gemini issued this turn */
    struct ag_request *req = decode(
        f,
        "{\"model\":\"claude-x\",\"max_tokens\":9,\"messages\":[{\"role\":\"user\",\"content\":"
        "\"hi\"},{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"t\","
        "\"signature\":\"QUJD\"},{\"type\":\"tool_use\",\"id\":\"c1__thsig__gemini__WFla\","
        "\"name\":\"f\",\"input\":{}}]},{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
        "\"tool_use_id\":\"c1__thsig__gemini__WFla\",\"content\":\"ok\"}]}]}",
        false);
    const struct ag_message *m = &req->messages[1];
    assert_true(ag_str_eq_c(m->parts[0].sig.family, "gemini"));
    assert_true(ag_str_eq_c(m->parts[1].id, "c1"));
    assert_true(ag_str_eq_c(m->parts[1].sig.value, "WFla"));
    assert_true(ag_str_eq_c(req->messages[2].parts[0].id, "c1"));
    assert_true(ag_str_eq_c(req->messages[2].parts[0].name, "f"));
}

static void test_session_and_background_texts(void **state)
{
    struct fixture *f = *state;
    struct ag_request *req = decode(
        f,
        "{\"model\":\"claude-x\",\"max_tokens\":9,\"system\":[{\"type\":\"text\",\"text\":\"A\"},"
        "{\"type\":\"text\",\"text\":\"B\"}],\"metadata\":{\"user_id\":\"u_1_session_x\"},"
        "\"messages\":[{\"role\":\"user\",\"content\":\"Write a 5-10 word title\"},"
        "{\"role\":\"assistant\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":[{\"type\":"
        "\"text\",\"text\":\"<system-reminder>x</system-reminder>\"}]}]}",
        false);
    struct ag_anthropic_request *ar = ag_anthropic_request_of(req);
    assert_true(ag_str_eq_c(ar->system_text, "A\nB"));
    assert_true(ag_str_eq_c(ar->user_text, "Write a 5-10 word title"));
    assert_true(ag_str_has_prefix(req->session_key, "uid-"));
    assert_int_equal(req->session_key.len, 20);
    assert_int_equal(ar->client_max_tokens, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tool_args_in_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_sequence_over_three_deltas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_tokens_falls_back_to_estimate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fit_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_family_from_packed_tool_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_and_background_texts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
