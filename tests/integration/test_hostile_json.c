/* Integration test: deeply nested JSON never crashes the gateway. The real aigate in front of the
 * real mock upstream gets 200 000-level bodies on every AI route (in the body itself and inside
 * tool-call argument strings, which the gateway parses), on the admin config and account import
 * routes, and an upstream answer nested as deep. Each is refused in the route's own error shape
 * (400 for requests, a 5xx upstream error for the answer), /healthz answers after each, and the
 * gateway still stops cleanly at the end. The limit is exact (128 levels pass, 129 do not) and
 * follows server.max_json_depth when the admin API changes it. */
#include "ag_test.h"

#include "child.h"
#include "gwenv.h"
#include "core/buf.h"
#include "proc.h"
#include "rawhttp.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yyjson.h>

#define KEY   "sk-hostile-json-0123456789"
#define DEEP  200000 /* levels: 400 KB of brackets */
#define MODEL "gemini-2.5-flash"

static long mock_call(struct ag_gwenv *e, const char *method, const char *path, const char *body)
{
    struct ag_buf out;
    ag_buf_init(&out, 0);
    long st = ag_gwenv_mock(e, method, path, body, &out);
    ag_buf_dispose(&out);
    return st;
}

static void env_start(struct ag_gwenv *e)
{
    static const char *const tokens[] = {"rt-a", NULL};
    static const char *const env[] = {"AIGATE_API_KEY=" KEY, NULL};
    const struct ag_gwenv_opts o = {
        .name = "deep",
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"}]",
        .tokens = tokens,
        .env = env,
    };
    ag_gwenv_start(e, &o);
}

/* fmt with every "%s" replaced by n nested arrays ([[...]]). malloc'd. */
static char *nest(const char *fmt, size_t n)
{
    struct ag_buf b;
    ag_buf_init(&b, 0);
    for (const char *p = fmt; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            for (size_t i = 0; i < n; i++)
                ag_buf_append(&b, "[", 1);
            for (size_t i = 0; i < n; i++)
                ag_buf_append(&b, "]", 1);
            p++;
        } else {
            ag_buf_append(&b, p, 1);
        }
    }
    char *s = malloc(b.len + 1);
    assert_non_null(s);
    memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    ag_buf_dispose(&b);
    return s;
}

/* One request with the key and a JSON body; the response is the caller's to free. */
static int call(struct ag_gwenv *e, const char *method, const char *path, const char *body,
                struct rh_resp *r)
{
    assert_true(rh_request(e->port, method, path,
                           "Authorization: Bearer " KEY "\r\nContent-Type: application/json\r\n",
                           body, r));
    return r->status;
}

static void assert_healthy(struct ag_gwenv *e)
{
    struct rh_resp r;
    assert_true(rh_request(e->port, "GET", "/healthz", NULL, NULL, &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
}

enum shape { OPENAI, ANTHROPIC, GEMINI, ADMIN };

static const char *str_at(yyjson_val *o, const char *k1, const char *k2)
{
    yyjson_val *v = yyjson_obj_get(o, k1);
    return yyjson_get_str(k2 ? yyjson_obj_get(v, k2) : v);
}

/* Asserts an error body in the route's protocol whose message contains want. */
static void assert_error_shape(const struct rh_resp *r, enum shape shape, int status,
                               const char *want)
{
    yyjson_doc *d = yyjson_read(r->body, r->body_len, 0);
    if (!d)
        fail_msg("not JSON: %.300s", r->body);
    yyjson_val *root = yyjson_doc_get_root(d);
    const char *msg = str_at(root, "error", "message");
    if (!msg || !strstr(msg, want))
        fail_msg("message without \"%s\": %.300s", want, r->body);
    switch (shape) {
    case OPENAI:
        assert_non_null(str_at(root, "error", "type"));
        if (status == 400)
            assert_string_equal(str_at(root, "error", "type"), "invalid_request_error");
        break;
    case ANTHROPIC:
        assert_string_equal(str_at(root, "type", NULL), "error");
        assert_string_equal(str_at(root, "error", "type"), "invalid_request_error");
        break;
    case GEMINI:
        assert_int_equal(yyjson_get_int(yyjson_obj_get(yyjson_obj_get(root, "error"), "code")),
                         status);
        assert_string_equal(str_at(root, "error", "status"), "INVALID_ARGUMENT");
        break;
    case ADMIN:
        assert_string_equal(str_at(root, "error", "type"), "invalid_request");
        break;
    }
    yyjson_doc_free(d);
}

/* Sends fmt nested depth levels deep and expects a 400 naming limit, in shape; then /healthz. */
static void expect_refused(struct ag_gwenv *e, const char *method, const char *path,
                           const char *fmt, size_t depth, enum shape shape, int limit)
{
    char want[64];
    struct rh_resp r;
    char *body = nest(fmt, depth);
    snprintf(want, sizeof(want), "nested deeper than %d levels", limit);
    if (call(e, method, path, body, &r) != 400)
        fail_msg("%s %s: status %d, expected 400: %.300s", method, path, r.status,
                 r.body ? r.body : "");
    assert_error_shape(&r, shape, 400, want);
    rh_resp_free(&r);
    free(body);
    assert_healthy(e);
}

/* Tool-call argument strings hold JSON the gateway parses: {"a":<nested>} inside a string. */
#define CHAT_ARGS                                                                                  \
    "{\"model\":\"" MODEL "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"               \
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"            \
    "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":%s}\"}}]},"              \
    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"ok\"}],\"tools\":[{\"type\":"        \
    "\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}]}"
#define RESPONSES_ARGS                                                                             \
    "{\"model\":\"" MODEL "\",\"input\":[{\"role\":\"user\",\"content\":\"hi\"},"                  \
    "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":"                 \
    "\"{\\\"a\\\":%s}\"},{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":"        \
    "\"ok\"}]}"
#define ANTHROPIC_INPUT                                                                            \
    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\","         \
    "\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":"      \
    "\"t1\",\"name\":\"f\",\"input\":{\"a\":%s}}]},{\"role\":\"user\",\"content\":[{\"type\":"     \
    "\"tool_result\",\"tool_use_id\":\"t1\",\"content\":\"ok\"}]}]}"
#define GEMINI_ARGS                                                                                \
    "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]},{\"role\":\"model\","        \
    "\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":%s}}}]},{\"role\":\"user\","     \
    "\"parts\":[{\"functionResponse\":{\"name\":\"f\",\"response\":{\"ok\":1}}}]}]}"

static void every_route_refuses_deep_json_and_stays_up(void **state)
{
    (void)state;
    struct ag_gwenv e;
    env_start(&e);
    static const struct {
        const char *method, *path, *fmt;
        enum shape shape;
    } cases[] = {
        {"POST", "/v1/chat/completions", CHAT_ARGS, OPENAI},
        {"POST", "/v1/chat/completions",
         "{\"model\":\"" MODEL "\",\"messages\":[{\"role\":\"user\",\"content\":%s}]}", OPENAI},
        {"POST", "/v1/completions", "{\"model\":\"" MODEL "\",\"prompt\":%s}", OPENAI},
        {"POST", "/v1/responses", RESPONSES_ARGS, OPENAI},
        {"POST", "/v1/responses", "{\"model\":\"" MODEL "\",\"input\":%s}", OPENAI},
        {"POST", "/v1/messages", ANTHROPIC_INPUT, ANTHROPIC},
        {"POST", "/v1/messages/count_tokens", ANTHROPIC_INPUT, ANTHROPIC},
        {"POST", "/v1beta/models/" MODEL ":generateContent", GEMINI_ARGS, GEMINI},
        {"POST", "/v1beta/models/" MODEL ":streamGenerateContent?alt=sse", GEMINI_ARGS, GEMINI},
        {"POST", "/v1beta/models/" MODEL ":countTokens", GEMINI_ARGS, GEMINI},
        {"POST", "/v1/images/generations", "{\"prompt\":\"a cat\",\"extra\":%s}", OPENAI},
        {"PUT", "/api/config", "{\"log\":{\"level\":%s}}", ADMIN},
        {"POST", "/api/accounts/import", "[{\"refresh_token\":\"rt-z\",\"extra\":%s}]", ADMIN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_refused(&e, cases[i].method, cases[i].path, cases[i].fmt, DEEP, cases[i].shape, 128);

    /* the argument strings are named as the culprit */
    struct rh_resp r;
    char *body = nest(CHAT_ARGS, DEEP);
    assert_int_equal(call(&e, "POST", "/v1/chat/completions", body, &r), 400);
    assert_non_null(strstr(r.body, "messages[1].tool_calls[0].function.arguments"));
    rh_resp_free(&r);
    free(body);
    body = nest(RESPONSES_ARGS, DEEP);
    assert_int_equal(call(&e, "POST", "/v1/responses", body, &r), 400);
    assert_non_null(strstr(r.body, "input[1].arguments"));
    rh_resp_free(&r);
    free(body);
    ag_gwenv_stop(&e);
}

/* {"a":<n-1 arrays>} is n levels deep. */
static int chat_with_args_depth(struct ag_gwenv *e, size_t n, struct rh_resp *r)
{
    char *body = nest(CHAT_ARGS, n - 1);
    int st = call(e, "POST", "/v1/chat/completions", body, r);
    free(body);
    return st;
}

static void limit_is_exact_and_follows_the_config(void **state)
{
    (void)state;
    struct ag_gwenv e;
    struct rh_resp r;
    env_start(&e);
    assert_int_equal(chat_with_args_depth(&e, 128, &r), 200);
    rh_resp_free(&r);
    assert_int_equal(chat_with_args_depth(&e, 129, &r), 400);
    assert_error_shape(&r, OPENAI, 400, "nested deeper than 128 levels");
    rh_resp_free(&r);

    /* applied at once, no restart */
    assert_int_equal(call(&e, "PUT", "/api/config", "{\"server\":{\"max_json_depth\":16}}", &r),
                     200);
    assert_null(strstr(r.body, "\"restart_required\":[\"server.max_json_depth\""));
    rh_resp_free(&r);
    assert_int_equal(chat_with_args_depth(&e, 16, &r), 200);
    rh_resp_free(&r);
    assert_int_equal(chat_with_args_depth(&e, 17, &r), 400);
    assert_error_shape(&r, OPENAI, 400, "nested deeper than 16 levels");
    rh_resp_free(&r);
    expect_refused(&e, "POST", "/v1beta/models/" MODEL ":generateContent", GEMINI_ARGS, 20, GEMINI,
                   16);
    expect_refused(&e, "POST", "/api/accounts/export", "{\"ids\":%s}", 20, ADMIN, 16);

    /* outside 8..1024: a clear error, the limit stays */
    assert_int_equal(call(&e, "PUT", "/api/config", "{\"server\":{\"max_json_depth\":100000}}", &r),
                     400);
    assert_non_null(strstr(r.body, "server.max_json_depth"));
    rh_resp_free(&r);
    assert_int_equal(chat_with_args_depth(&e, 17, &r), 400);
    rh_resp_free(&r);
    ag_gwenv_stop(&e);
}

static void deep_upstream_answer_is_an_upstream_error(void **state)
{
    (void)state;
    struct ag_gwenv e;
    struct rh_resp r;
    char fault[64];
    env_start(&e);
    snprintf(fault, sizeof(fault), "{\"nest_depth\":%d,\"permanent\":true}", DEEP);
    assert_int_equal(mock_call(&e, "POST", "/__mock/faults", fault), 200);

    static const struct {
        const char *path, *body;
        enum shape shape;
    } cases[] = {
        {"/v1/chat/completions",
         "{\"model\":\"" MODEL "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", OPENAI},
        {"/v1/messages",
         "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\","
         "\"content\":\"hi\"}]}",
         ANTHROPIC},
        {"/v1/responses", "{\"model\":\"" MODEL "\",\"input\":\"hi\"}", OPENAI},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st = call(&e, "POST", cases[i].path, cases[i].body, &r);
        if (st < 500 || st > 599)
            fail_msg("%s: status %d, expected an upstream error: %.300s", cases[i].path, st,
                     r.body ? r.body : "");
        assert_non_null(strstr(r.body, "nested deeper than 128 levels"));
        if (cases[i].shape == ANTHROPIC) {
            yyjson_doc *d = yyjson_read(r.body, r.body_len, 0);
            assert_non_null(d);
            assert_string_equal(str_at(yyjson_doc_get_root(d), "type", NULL), "error");
            yyjson_doc_free(d);
        }
        rh_resp_free(&r);
        assert_healthy(&e);
    }

    /* streamed: the answer starts, then ends in an error, never a crash */
    int st = call(&e, "POST", "/v1/chat/completions",
                  "{\"model\":\"" MODEL "\",\"stream\":true,\"messages\":[{\"role\":"
                  "\"user\",\"content\":\"hi\"}]}",
                  &r);
    assert_int_equal(st, r.status);
    assert_true(r.status == 200 || (r.status >= 500 && r.status <= 599));
    assert_non_null(strstr(r.body, "nested deeper than 128 levels"));
    rh_resp_free(&r);
    assert_healthy(&e);
    ag_gwenv_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(every_route_refuses_deep_json_and_stays_up, ag_gwenv_teardown),
        cmocka_unit_test_teardown(limit_is_exact_and_follows_the_config, ag_gwenv_teardown),
        cmocka_unit_test_teardown(deep_upstream_answer_is_an_upstream_error, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
