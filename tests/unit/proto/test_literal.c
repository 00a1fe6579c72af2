/* tests/unit/proto/test_literal.c: a client's message texts travel to the upstream as the JSON
 * string literals the client wrote (ag_json_literal, ag_part_literal): copied, not unescaped and
 * escaped again. The literal found for a string must read back as that very string whatever its
 * escapes; a text changed after decoding must go out as changed, never as the stale literal. */
#include "ag_test.h"

#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "proto/adapter.h"
#include "proto/json.h"

#include "proto_fixture.h"

/* Every string value and key of the document: its literal reads back as the same string. */
static void test_literals_read_back(void **state)
{
    struct fixture *f = *state;
    static const char body[] =
        "{\"plain\":\"hello\",\"empty\":\"\",\"\\u0041key\":\"\\\"quoted\\\" at both ends\\\"\","
        "\"nl\":\"\\nstarts and ends\\n\",\"bs\":\"ends with a backslash\\\\\","
        "\"bs2\":\"\\\\\\\\\\\"\",\"uni\":\"caf\\u00e9 \\ud83d\\ude00 \xc3\xa9\","
        "\"slash\":\"a\\/b\\tc\\r\\b\\f\",\"arr\":[\"x\",\"\\\"\",{\"deep\":\"\\\\\\\"\\\\\"}],"
        "\"num\":1,\"t\":true}";
    int rc;
    struct ag_str text = ag_str_make(body, sizeof(body) - 1);
    yyjson_doc *doc = ag_json_read(f->ctx.arena, text, 0, &rc);
    assert_non_null(doc);
    struct ag_json_src src;
    ag_json_src_init(&src, doc, text);
    size_t strings = 0;
    yyjson_val *stack[64]; /* every value of the document at once, at most */
    size_t top = 0;
    stack[top++] = yyjson_doc_get_root(doc);
    while (top) {
        yyjson_val *v = stack[--top];
        if (yyjson_is_ctn(v)) {
            size_t i, max;
            yyjson_val *k, *e;
            if (yyjson_is_obj(v)) {
                yyjson_obj_foreach(v, i, max, k, e)
                {
                    stack[top++] = k;
                    stack[top++] = e;
                }
            } else {
                yyjson_arr_foreach(v, i, max, e) stack[top++] = e;
            }
            continue;
        }
        struct ag_str lit = ag_json_literal(&src, v);
        if (!yyjson_is_str(v)) {
            assert_null(lit.p);
            continue;
        }
        strings++;
        assert_non_null(lit.p);
        assert_true(lit.p >= body && lit.p + lit.len <= body + sizeof(body) - 1);
        assert_int_equal(lit.p[0], '"');
        assert_int_equal(lit.p[lit.len - 1], '"');
        yyjson_doc *back = yyjson_read(lit.p, lit.len, 0);
        assert_non_null(back);
        yyjson_val *s = yyjson_doc_get_root(back);
        assert_true(yyjson_is_str(s));
        assert_int_equal(yyjson_get_len(s), yyjson_get_len(v));
        assert_memory_equal(yyjson_get_str(s), yyjson_get_str(v), yyjson_get_len(v));
        yyjson_doc_free(back);
    }
    assert_int_equal(strings, 23); /* 11 keys, 12 string values */
}

/* A document with no known source (read in place, or none) has no literals. */
static void test_unknown_source(void **state)
{
    (void)state;
    char buf[] = "{\"a\":\"b\"}    ";
    yyjson_doc *doc = yyjson_read_opts(buf, 9, YYJSON_READ_INSITU, NULL, NULL);
    assert_non_null(doc);
    struct ag_json_src src;
    ag_json_src_init(&src, doc, ag_str_make(buf, 9));
    assert_null(ag_json_literal(&src, yyjson_obj_get(yyjson_doc_get_root(doc), "a")).p);
    yyjson_doc_free(doc);
    ag_json_src_init(&src, NULL, AG_STR_NULL);
    assert_null(ag_json_literal(&src, NULL).p);
}

static struct ag_request *decode_chat(struct fixture *f, const char *body)
{
    struct ag_request *req = NULL;
    struct ag_proto_error err = {0};
    struct ag_client_hints h = {0};
    assert_int_equal(ag_proto_openai_chat.decode_request(&f->ctx, ag_str_c(body), &h, &req, &err),
                     0);
    return req;
}

static struct ag_str encode_cloudcode(struct fixture *f, const struct ag_request *req)
{
    struct ag_upstream_target t = {
        .model = AG_STR("gemini-2.5-flash"), .project = AG_STR("p"), .session_id = AG_STR("-1")};
    struct ag_upstream_call call;
    assert_int_equal(ag_proto_cloudcode.encode_request(&f->ctx, req, &t, &call), 0);
    return call.body;
}

static bool contains(struct ag_str hay, const char *needle)
{
    return memmem(hay.p, hay.len, needle, strlen(needle)) != NULL;
}

static const char chat[] =
    "{\"model\":\"gemini-2.5-flash\",\"messages\":["
    "{\"role\":\"system\",\"content\":\"Be caf\\u00e9-terse.\\nAlways.\"},"
    "{\"role\":\"user\",\"content\":\"line\\none \\\"q\\\" caf\\u00e9\"},"
    "{\"role\":\"assistant\",\"content\":\"ok\\tfine\",\"tool_calls\":[{\"id\":\"call_1\","
    "\"type\":\"function\",\"function\":{\"name\":\"read\",\"arguments\":\"{}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"r\\u00e9sult\\n\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"part \\u00e9\"}]}]}";

/* The literals go out as the client wrote them (\u00e9 stays six characters) in every place a
 * text goes: system instruction, user string and part, assistant text, tool result. */
static void test_texts_go_out_as_written(void **state)
{
    struct fixture *f = *state;
    struct ag_request *req = decode_chat(f, chat);
    struct ag_str body = encode_cloudcode(f, req);
    assert_true(contains(body, "\"Be caf\\u00e9-terse.\\nAlways.\""));
    assert_true(contains(body, "\"line\\none \\\"q\\\" caf\\u00e9\""));
    assert_true(contains(body, "\"ok\\tfine\""));
    assert_true(contains(body, "\"r\\u00e9sult\\n\""));
    assert_true(contains(body, "\"part \\u00e9\""));

    /* the same JSON as the texts escaped again */
    for (size_t i = 0; i < req->n_system; i++)
        req->system[i]._literal = AG_STR_NULL;
    for (size_t i = 0; i < req->n_messages; i++)
        for (size_t j = 0; j < req->messages[i].n_parts; j++)
            req->messages[i].parts[j]._literal = AG_STR_NULL;
    struct ag_str again = encode_cloudcode(f, req);
    assert_false(contains(again, "\\u00e9"));
    yyjson_doc *a = yyjson_read(body.p, body.len, 0), *b = yyjson_read(again.p, again.len, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(yyjson_equals(yyjson_doc_get_root(a), yyjson_doc_get_root(b)));
    yyjson_doc_free(a);
    yyjson_doc_free(b);
}

/* A text changed after decoding (a hook, a fit to the model) goes out changed. */
static void test_changed_text_is_not_the_literal(void **state)
{
    struct fixture *f = *state;
    struct ag_request *req = decode_chat(f, chat);
    struct ag_part *user = &req->messages[0].parts[0];
    assert_non_null(ag_part_literal(user).p);
    user->text = AG_STR("replaced");
    assert_null(ag_part_literal(user).p);
    struct ag_part *sys = &req->system[0];
    sys->text.len -= 1; /* cut in place: same start, shorter */
    assert_null(ag_part_literal(sys).p);
    struct ag_str body = encode_cloudcode(f, req);
    assert_true(contains(body, "\"replaced\""));
    assert_false(contains(body, "caf\\u00e9\""));
    assert_false(contains(body, "Always.\""));
    assert_true(contains(body, "Always\""));
}

/* Gemini clients (Gemini CLI): contents and the system instruction go out as written too. */
static void test_gemini_client_texts(void **state)
{
    struct fixture *f = *state;
    static const char body[] =
        "{\"systemInstruction\":{\"parts\":[{\"text\":\"sys caf\\u00e9\\n\"}]},"
        "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"a \\\"b\\\" caf\\u00e9\"}]}]}";
    struct ag_request *req = NULL;
    struct ag_proto_error err = {0};
    struct ag_client_hints h = {.model = AG_STR("gemini-2.5-flash")};
    assert_int_equal(ag_proto_gemini.decode_request(&f->ctx, ag_str_c(body), &h, &req, &err), 0);
    struct ag_str out = encode_cloudcode(f, req);
    assert_true(contains(out, "\"sys caf\\u00e9\\n\""));
    assert_true(contains(out, "\"a \\\"b\\\" caf\\u00e9\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_literals_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_texts_go_out_as_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_text_is_not_the_literal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gemini_client_texts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
