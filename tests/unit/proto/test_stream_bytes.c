/* tests/unit/proto/test_stream_bytes.c: the exact bytes every client stream encoder writes for
 * one multi-event answer (role/start, many text and thinking deltas with quotes, backslashes,
 * control characters, slashes, DEL, multi-byte UTF-8 and U+2028, a second choice, a tool call,
 * usage, finish). The golden cases compare data: frames as JSON; this pins them byte for byte,
 * so that a faster encoder cannot change a single byte a client receives. Expected streams are
 * in tests/unit/proto/stream_bytes/<name>.txt; AIGATE_STREAM_BYTES_BLESS=1 writes missing ones
 * from the actual output (review them before committing). */
#include "ag_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "proto/adapter.h"

/* Texts each stream carries, one event each: every class of byte a JSON writer treats apart. */
static const char *const texts[] = {
    "Hello",
    ", world. ",
    "She said \"hi\" \\ then left.",
    "line one\nline two\r\n\ttabbed",
    "ctl \x01\x02\x1f and DEL \x7f end",
    "path /usr/bin and </script>",
    "\xc3\xbcn\xc3\xaf"
    "c\xc3\xb8"
    "d\xc3\xa9 \xe2\x80\x94 dash",
    "emoji \xf0\x9f\x98\x80 and sep \xe2\x80\xa8 here \xe2\x80\xa9",
    "\xef\xbb\xbf"
    "bom inside, nul-free, \xc2\x80 first two-byte",
    " and a long tail: lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod",
};

static void feed(const struct ag_client_proto *cp, struct ag_client_stream *st, struct ag_buf *out,
                 struct ag_event ev)
{
    assert_int_equal(cp->stream_event(st, &ev, out), 0);
}

/* Runs one answer through the encoder of cp and returns what it wrote. */
static void run(const struct ag_client_proto *cp, const char *body, const struct ag_client_hints *h,
                bool two_choices, bool tool, struct ag_buf *out)
{
    struct ag_arena arena;
    ag_arena_init(&arena, 4096, 0);
    struct ag_proto_ctx ctx = {.arena = &arena,
                               .request_id = AG_STR("0123456789abcdef0123456789abcdef"),
                               .now = 1733456789};
    struct ag_request *req = NULL;
    struct ag_proto_error err;
    memset(&err, 0, sizeof(err));
    assert_int_equal(cp->decode_request(&ctx, ag_str_c(body), h, &req, &err), 0);
    struct ag_client_stream *st = cp->stream_new(&ctx, req, h);
    assert_non_null(st);
    feed(cp, st, out,
         (struct ag_event){.type = AG_EV_START, .id = AG_STR("resp-1"), .name = AG_STR("m-v1")});
    for (size_t i = 0; i < 3; i++)
        feed(cp, st, out, (struct ag_event){.type = AG_EV_THINKING, .text = ag_str_c(texts[i])});
    feed(cp, st, out,
         (struct ag_event){.type = AG_EV_SIGNATURE,
                           .sig = {.value = AG_STR("c2lnbmF0dXJl"), .family = AG_STR("claude")}});
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        feed(cp, st, out, (struct ag_event){.type = AG_EV_TEXT, .text = ag_str_c(texts[i])});
        if (two_choices)
            feed(cp, st, out,
                 (struct ag_event){.type = AG_EV_TEXT, .choice = 1, .text = ag_str_c(texts[i])});
    }
    if (tool) {
        feed(cp, st, out,
             (struct ag_event){
                 .type = AG_EV_TOOL_START, .id = AG_STR("call_1"), .name = AG_STR("get_weather")});
        feed(cp, st, out, (struct ag_event){.type = AG_EV_TOOL_ARGS, .text = AG_STR("{\"city\":")});
        feed(cp, st, out, (struct ag_event){.type = AG_EV_TOOL_ARGS, .text = AG_STR("\"Paris\"}")});
        feed(cp, st, out, (struct ag_event){.type = AG_EV_TOOL_END});
    }
    struct ag_event u = {.type = AG_EV_USAGE};
    u.usage.input = 120;
    u.usage.output = 45;
    u.usage.cached = 20;
    u.usage.reasoning = 7;
    feed(cp, st, out, u);
    feed(cp, st, out,
         (struct ag_event){.type = AG_EV_FINISH, .finish = AG_FINISH_STOP, .raw = AG_STR("STOP")});
    if (two_choices)
        feed(cp, st, out,
             (struct ag_event){.type = AG_EV_FINISH,
                               .choice = 1,
                               .finish = AG_FINISH_STOP,
                               .raw = AG_STR("STOP")});
    assert_int_equal(cp->stream_finish(st, out), 0);
    ag_arena_dispose(&arena);
}

static void check(const char *name, struct ag_buf *out)
{
    const char *src = getenv("AIGATE_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/unit/proto/stream_bytes/%s.txt", src ? src : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        const char *bless = getenv("AIGATE_STREAM_BYTES_BLESS");
        if (bless && strcmp(bless, "1") == 0) {
            f = fopen(path, "wb");
            assert_non_null(f);
            assert_int_equal(fwrite(out->data, 1, out->len, f), out->len);
            fclose(f);
            return;
        }
        fail_msg("missing %s (AIGATE_STREAM_BYTES_BLESS=1 writes it)", path);
    }
    struct ag_buf want;
    ag_buf_init(&want, 0);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        ag_buf_append(&want, tmp, n);
    fclose(f);
    size_t at = 0;
    while (at < want.len && at < out->len && want.data[at] == out->data[at])
        at++;
    if (at != want.len || at != out->len) {
        size_t from = at > 60 ? at - 60 : 0;
        fail_msg("%s differs at byte %zu of %zu (got %zu)\nwant: %.*s\ngot:  %.*s", name, at,
                 want.len, out->len, (int)(want.len - from < 160 ? want.len - from : 160),
                 want.data + from, (int)(out->len - from < 160 ? out->len - from : 160),
                 out->data ? out->data + from : "");
    }
    ag_buf_dispose(&want);
}

static void test_openai_chat(void **state)
{
    (void)state;
    struct ag_buf out;
    ag_buf_init(&out, 0);
    run(&ag_proto_openai_chat,
        "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"n\":2,"
        "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
        NULL, true, true, &out);
    check("openai-chat", &out);
    ag_buf_dispose(&out);
}

static void test_openai_chat_usage(void **state)
{
    (void)state;
    struct ag_buf out;
    ag_buf_init(&out, 0);
    run(&ag_proto_openai_chat,
        "{\"model\":\"m\\\"odel/\\u00e9\",\"stream\":true,\"stream_options\":{\"include_usage\":"
        "true},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
        NULL, false, false, &out);
    check("openai-chat-usage", &out);
    ag_buf_dispose(&out);
}

static void test_openai_completions(void **state)
{
    (void)state;
    struct ag_buf out;
    ag_buf_init(&out, 0);
    run(&ag_proto_openai_completions,
        "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"prompt\":\"hi\"}", NULL, false, false,
        &out);
    check("openai-completions", &out);
    ag_buf_dispose(&out);
}

static void test_anthropic(void **state)
{
    (void)state;
    struct ag_buf out;
    ag_buf_init(&out, 0);
    run(&ag_proto_anthropic,
        "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,\"stream\":true,"
        "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
        NULL, false, true, &out);
    check("anthropic", &out);
    ag_buf_dispose(&out);
}

static void test_anthropic_stop_sequences(void **state)
{
    (void)state;
    struct ag_buf out;
    ag_buf_init(&out, 0);
    run(&ag_proto_anthropic,
        "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,\"stream\":true,"
        "\"stop_sequences\":[\"never appears\",\"tail: lorem\"],"
        "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
        NULL, false, false, &out);
    check("anthropic-stop", &out);
    ag_buf_dispose(&out);
}

static void test_gemini_sse(void **state)
{
    (void)state;
    struct ag_buf out;
    ag_buf_init(&out, 0);
    struct ag_client_hints h = {.model = AG_STR("gemini-2.5-flash"), .stream = true, .sse = true};
    run(&ag_proto_gemini, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}", &h,
        true, true, &out);
    check("gemini-sse", &out);
    ag_buf_dispose(&out);
}

static void test_gemini_array(void **state)
{
    (void)state;
    struct ag_buf out;
    ag_buf_init(&out, 0);
    struct ag_client_hints h = {.model = AG_STR("gemini-2.5-flash"), .stream = true};
    run(&ag_proto_gemini, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}", &h,
        false, false, &out);
    check("gemini-array", &out);
    ag_buf_dispose(&out);
}

static void test_responses(void **state)
{
    (void)state;
    struct ag_buf out;
    ag_buf_init(&out, 0);
    run(&ag_proto_openai_responses,
        "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"input\":\"hi\"}", NULL, false, true,
        &out);
    check("responses", &out);
    ag_buf_dispose(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openai_chat),
        cmocka_unit_test(test_openai_chat_usage),
        cmocka_unit_test(test_openai_completions),
        cmocka_unit_test(test_anthropic),
        cmocka_unit_test(test_anthropic_stop_sequences),
        cmocka_unit_test(test_gemini_sse),
        cmocka_unit_test(test_gemini_array),
        cmocka_unit_test(test_responses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
