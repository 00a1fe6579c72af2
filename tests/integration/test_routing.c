/* Integration tests of routing to API-key accounts, with the real binaries: aigate in front of the
 * mock upstream's provider APIs (OpenAI-compatible, Anthropic, public Gemini) through accounts
 * added with `aigate accounts add --provider ...`, and routing.rules in config.json. Conversion
 * each way (streams included) through routed models; passthrough byte for byte when client and
 * provider speak the same protocol (the mock adds fields only that provider sends); fallback to
 * the next target on each class of fallback_on (429, 5xx, timeout, context-length) and not on a
 * class outside it; a weighted spread; the context-window fallback; the x-aigate-* headers; a
 * provider's 429 cooling its account down; cache tokens in the request log. Every process is
 * stopped by its PID; every loop is bounded. */
#include "ag_test.h"

#include "child.h"
#include "gwenv.h"
#include "core/buf.h"
#include "proc.h"
#include "rawhttp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#define MAIN_KEY "sk-routing-test-key"

static const char config[] =
    "{\"upstream\":{\"first_byte_timeout_s\":2},"
    "\"routing\":{\"rules\":["
    "{\"pattern\":\"fb-429\",\"fallback_on\":[\"429\"],\"targets\":["
    "{\"account\":\"oa1\",\"model\":\"p-429\"},{\"account\":\"an\",\"model\":\"claude-fb\"}]},"
    "{\"pattern\":\"fb-5xx\",\"fallback_on\":[\"5xx\"],\"targets\":["
    "{\"account\":\"oa1\",\"model\":\"p-5xx\"},{\"account\":\"gm\",\"model\":\"gemini-fb\"}]},"
    "{\"pattern\":\"fb-timeout\",\"fallback_on\":[\"timeout\"],\"targets\":["
    "{\"account\":\"oa1\",\"model\":\"p-timeout\"},{\"account\":\"oa2\",\"model\":\"s-timeout\"}]},"
    "{\"pattern\":\"fb-context\",\"fallback_on\":[\"context-length\"],\"targets\":["
    "{\"account\":\"oa1\",\"model\":\"p-context\"},{\"account\":\"oa2\",\"model\":\"s-context\"}]},"
    "{\"pattern\":\"no-fb\",\"fallback_on\":[\"429\"],\"targets\":["
    "{\"account\":\"oa1\",\"model\":\"p-nofb\"},{\"account\":\"oa2\",\"model\":\"s-nofb\"}]},"
    "{\"pattern\":\"spread\",\"strategy\":\"weighted\",\"targets\":["
    "{\"account\":\"oa1\",\"model\":\"w-three\",\"weight\":3},"
    "{\"account\":\"oa2\",\"model\":\"w-one\",\"weight\":1}]},"
    "{\"pattern\":\"window\",\"targets\":["
    "{\"account\":\"oa1\",\"model\":\"small-window\",\"context\":60},"
    "{\"account\":\"oa2\",\"model\":\"big-window\"}]},"
    "{\"pattern\":\"to-anthropic\",\"targets\":[{\"provider\":\"anthropic\","
    "\"model\":\"claude-routed\"}]},"
    "{\"pattern\":\"bad-key\",\"targets\":[{\"account\":\"badan\",\"model\":\"claude-bad\"},"
    "{\"account\":\"an\",\"model\":\"claude-good\"}]},"
    "{\"pattern\":\"to-gemini\",\"targets\":[{\"provider\":\"gemini\",\"model\":\"gemini-routed\"}]"
    "},"
    "{\"pattern\":\"to-openai*\",\"targets\":[{\"account\":\"oa1\",\"model\":\"oa-routed\"}]}"
    "]}}";

/* The gateway with four API-key accounts on the mock: oa1 and oa2 (OpenAI-compatible), an
 * (Anthropic), gm (Gemini). */
static void env_start(struct ag_gwenv *e)
{
    static const char *const env[] = {"AIGATE_API_KEY=" MAIN_KEY, NULL};
    const struct ag_gwenv_opts o = {
        .name = "routing", .mock = true, .config_json = config, .env = env};
    char base[128], v1[140];
    ag_gwenv_prepare(e, &o);
    snprintf(base, sizeof(base), "%s", e->mock.base_url);
    snprintf(v1, sizeof(v1), "%s/v1", e->mock.base_url);
    const char *accounts[][9] = {
        {"openai-compatible", "key-oa1", v1, "oa1", "mock-chat-small"},
        {"openai-compatible", "key-oa2", v1, "oa2", "mock-chat-large"},
        {"anthropic", "key-an", base, "an", "claude-routed"},
        {"gemini", "key-gm", base, "gm", "gemini-routed"},
        {"anthropic", "bad-key-refused", base, "badan", "claude-bad"},
    };
    for (size_t i = 0; i < sizeof(accounts) / sizeof(accounts[0]); i++) {
        const char *args[] = {"accounts",  "add",          "--provider", accounts[i][0],
                              "--api-key", accounts[i][1], "--base-url", accounts[i][2],
                              "--label",   accounts[i][3], "--models",   accounts[i][4],
                              NULL};
        char *out = NULL, *err = NULL;
        int rc = ag_gwenv_cli(e, args, &out, &err);
        if (rc != 0)
            fail_msg("accounts add %s: %d %s", accounts[i][3], rc, err);
        free(out);
        free(err);
    }
    ag_gwenv_launch(e);
}

static void post(struct ag_gwenv *e, const char *path, const char *body, struct rh_resp *r)
{
    if (!rh_request(e->port, "POST", path, "Content-Type: application/json\r\n", body, r)) {
        char *log = ag_child_output(&e->gw); /* what the gateway said before it stopped answering */
        fail_msg("POST %s: no answer; aigate log:\n%s", path, log ? log : "");
    }
}

/* An OpenAI chat request for model. */
static void chat(struct ag_gwenv *e, const char *model, bool stream, const char *text,
                 struct rh_resp *r)
{
    char body[2048];
    snprintf(body, sizeof(body),
             "{\"model\":\"%s\",\"stream\":%s,\"messages\":[{\"role\":\"user\",\"content\":"
             "\"%s\"}]}",
             model, stream ? "true" : "false", text);
    post(e, "/v1/chat/completions", body, r);
}

static void header_is(const struct rh_resp *r, const char *name, const char *want)
{
    char v[256];
    if (!rh_header(r, name, v, sizeof(v)))
        fail_msg("no %s header in:\n%s", name, r->head);
    if (strcmp(v, want) != 0)
        fail_msg("%s: %s, expected %s", name, v, want);
}

/* A chat request (see chat) answered with status, and the x-aigate-account, -model and -attempts
 * headers that are not NULL as given. */
static void expect(struct ag_gwenv *e, const char *model, bool stream, const char *text,
                   long status, const char *account, const char *sent, const char *attempts)
{
    struct rh_resp r;
    chat(e, model, stream, text, &r);
    assert_int_equal(r.status, status);
    if (account)
        header_is(&r, "x-aigate-account", account);
    if (sent)
        header_is(&r, "x-aigate-model", sent);
    if (attempts)
        header_is(&r, "x-aigate-attempts", attempts);
    rh_resp_free(&r);
}

static void mock_ok(struct ag_gwenv *e, const char *method, const char *path, const char *body)
{
    struct ag_buf out;
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(e, method, path, body, &out), 200);
    ag_buf_dispose(&out);
}

/* The requests the mock got whose body names model (or, for Gemini, whose target does). */
static int calls_for(struct ag_gwenv *e, const char *model)
{
    struct ag_buf out;
    char want[128];
    int n = 0;
    ag_buf_init(&out, 0);
    snprintf(want, sizeof(want), "\"model\":\"%s\"", model);
    assert_int_equal(ag_gwenv_mock(e, "GET", "/__mock/requests", NULL, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    yyjson_val *v;
    size_t i, max;
    yyjson_arr_foreach(yyjson_doc_get_root(d), i, max, v)
    {
        const char *body = yyjson_get_str(yyjson_obj_get(v, "body"));
        const char *target = yyjson_get_str(yyjson_obj_get(v, "target"));
        if ((body && strstr(body, want)) || (target && strstr(target, model)))
            n++;
    }
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return n;
}

/* The last request the mock got (method, target, body), copied. */
static char *last_request(struct ag_gwenv *e, const char *field)
{
    struct ag_buf out;
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(e, "GET", "/__mock/requests", NULL, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    yyjson_val *arr = yyjson_doc_get_root(d);
    size_t n = yyjson_arr_size(arr);
    assert_true(n > 0);
    char *s = strdup(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(arr, n - 1), field)));
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return s;
}

/* ---- conversion each way, streams included ---- */

static void conversion_through_routed_models(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    env_start(&e);

    /* OpenAI chat in, Anthropic out */
    chat(&e, "to-anthropic", false, "hello anthropic", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"object\":\"chat.completion\""));
    assert_non_null(strstr(r.body, "echo: hello anthropic"));
    header_is(&r, "x-aigate-model", "claude-routed");
    header_is(&r, "x-aigate-account", "an");
    header_is(&r, "x-aigate-attempts", "1");
    rh_resp_free(&r);
    char *target = last_request(&e, "target");
    assert_string_equal(target, "/v1/messages");
    free(target);
    char *body = last_request(&e, "body");
    assert_non_null(strstr(body, "\"max_tokens\"")); /* Anthropic's required field was added */
    free(body);

    chat(&e, "to-anthropic", true, "stream anthropic", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "chat.completion.chunk"));
    assert_non_null(strstr(r.body, "data: [DONE]"));
    header_is(&r, "x-aigate-account", "an");
    header_is(&r, "x-aigate-model", "claude-routed");
    header_is(&r, "x-aigate-attempts", "1");
    rh_resp_free(&r);

    /* OpenAI chat in, Gemini out (streamed) */
    chat(&e, "to-gemini", true, "stream gemini", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "chat.completion.chunk"));
    assert_non_null(strstr(r.body, "echo: stream gemini") || strstr(r.body, "echo:"));
    header_is(&r, "x-aigate-account", "gm");
    rh_resp_free(&r);
    target = last_request(&e, "target");
    assert_string_equal(target, "/v1beta/models/gemini-routed:streamGenerateContent?alt=sse");
    free(target);

    /* Anthropic Messages in, OpenAI-compatible out (streamed) */
    post(&e, "/v1/messages",
         "{\"model\":\"to-openai\",\"max_tokens\":100,\"stream\":true,\"messages\":[{\"role\":"
         "\"user\",\"content\":\"hello from anthropic\"}]}",
         &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "event: message_start"));
    assert_non_null(strstr(r.body, "content_block_delta"));
    assert_non_null(strstr(r.body, "event: message_stop"));
    header_is(&r, "x-aigate-account", "oa1");
    header_is(&r, "x-aigate-model", "oa-routed");
    rh_resp_free(&r);
    target = last_request(&e, "target");
    assert_string_equal(target, "/v1/chat/completions");
    free(target);

    /* Gemini in, OpenAI-compatible out (streamed, SSE) */
    post(&e, "/v1beta/models/to-openai-gem:streamGenerateContent?alt=sse",
         "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hello from gemini\"}]}]}", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"candidates\""));
    assert_non_null(strstr(r.body, "echo:"));
    header_is(&r, "x-aigate-account", "oa1");
    rh_resp_free(&r);

    /* a model an API-key account lists, without a rule, goes to that account */
    expect(&e, "mock-chat-large", false, "listed model", 200, "oa2", "mock-chat-large", NULL);
    ag_gwenv_stop(&e);
}

/* ---- passthrough ---- */

/* What the mock answers to the exact request the gateway sent last (the same key): the bytes a
 * passthrough must have handed on. */
static char *direct_answer(struct ag_gwenv *e, const char *path, const char *hdrs, size_t *len)
{
    char *body = last_request(e, "body");
    struct rh_resp r;
    assert_true(rh_request(e->mock.port, "POST", path, hdrs, body, &r));
    assert_int_equal(r.status, 200);
    char *out = malloc(r.body_len + 1);
    memcpy(out, r.body, r.body_len + 1);
    *len = r.body_len;
    rh_resp_free(&r);
    free(body);
    return out;
}

static void passthrough_is_byte_exact(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    size_t len;
    env_start(&e);
    mock_ok(&e, "POST", "/__mock/config", "{\"provider_extras\":true}");

    /* OpenAI chat to an OpenAI-compatible account, streamed: a field of the client's own goes up,
     * the provider's own fields come back, byte for byte */
    post(&e, "/v1/chat/completions",
         "{\"model\":\"to-openai\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
         "\"x_client_field\":{\"keep\":[1,2,3]},\"messages\":[{\"role\":\"user\",\"content\":"
         "\"pass me through\"}]}",
         &r);
    assert_int_equal(r.status, 200);
    header_is(&r, "x-aigate-account", "oa1");
    header_is(&r, "x-aigate-model", "oa-routed");
    header_is(&r, "x-aigate-attempts", "1");
    assert_non_null(strstr(r.body, "fp_mock_0042"));
    assert_non_null(strstr(r.body, "x_mock_extra"));
    char *sent = last_request(&e, "body");
    assert_non_null(strstr(sent, "\"x_client_field\":{\"keep\":[1,2,3]}"));
    assert_non_null(strstr(sent, "\"model\":\"oa-routed\""));
    assert_null(strstr(sent, "to-openai"));
    free(sent);
    char *direct = direct_answer(&e, "/v1/chat/completions",
                                 "Content-Type: application/json\r\nAuthorization: Bearer "
                                 "key-oa1\r\n",
                                 &len);
    assert_int_equal(r.body_len, len);
    assert_memory_equal(r.body, direct, len);
    free(direct);
    rh_resp_free(&r);

    /* Anthropic Messages to an Anthropic account, not streamed */
    post(&e, "/v1/messages",
         "{\"model\":\"to-anthropic\",\"max_tokens\":64,\"metadata\":{\"user_id\":\"u-1\"},"
         "\"messages\":[{\"role\":\"user\",\"content\":\"anthropic passthrough\"}]}",
         &r);
    assert_int_equal(r.status, 200);
    header_is(&r, "x-aigate-account", "an");
    assert_non_null(strstr(r.body, "cache_read_input_tokens"));
    direct = direct_answer(&e, "/v1/messages",
                           "Content-Type: application/json\r\nx-api-key: key-an\r\n"
                           "anthropic-version: 2023-06-01\r\n",
                           &len);
    assert_int_equal(r.body_len, len);
    assert_memory_equal(r.body, direct, len);
    free(direct);
    rh_resp_free(&r);

    /* Anthropic Messages to an Anthropic account, streamed: the ping events survive */
    post(&e, "/v1/messages",
         "{\"model\":\"to-anthropic\",\"max_tokens\":64,\"stream\":true,\"messages\":[{\"role\":"
         "\"user\",\"content\":\"anthropic stream passthrough\"}]}",
         &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "event: ping"));
    direct = direct_answer(&e, "/v1/messages",
                           "Content-Type: application/json\r\nx-api-key: key-an\r\n"
                           "anthropic-version: 2023-06-01\r\n",
                           &len);
    assert_int_equal(r.body_len, len);
    assert_memory_equal(r.body, direct, len);
    free(direct);
    rh_resp_free(&r);

    /* usage, cache tokens included, reached the request log of each */
    struct rh_resp lg;
    assert_true(rh_request(e.port, "GET", "/api/logs/recent?limit=10",
                           "Authorization: Bearer " MAIN_KEY "\r\n", NULL, &lg));
    assert_int_equal(lg.status, 200);
    yyjson_doc *d = yyjson_read(lg.body, lg.body_len, 0);
    yyjson_val *items = yyjson_obj_get(yyjson_doc_get_root(d), "items"), *it;
    size_t i, max, with_cache = 0;
    yyjson_arr_foreach(items, i, max, it)
    {
        int64_t in = yyjson_get_sint(yyjson_obj_get(it, "input_tokens"));
        int64_t cached = yyjson_get_sint(yyjson_obj_get(it, "cached_tokens"));
        if (in > 0 && cached > 0)
            with_cache++;
    }
    assert_int_equal(with_cache, 3);
    yyjson_doc_free(d);
    rh_resp_free(&lg);
    ag_gwenv_stop(&e);
}

/* ---- fallback ---- */

static void fallback_on_each_listed_class(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    env_start(&e);

    /* 429 with Retry-After: the next target answers, and the account cools down */
    mock_ok(&e, "POST", "/__mock/faults",
            "{\"status\":429,\"model\":\"p-429\",\"retry_after\":30,\"count\":1}");
    expect(&e, "fb-429", false, "rate limited", 200, "an", "claude-fb", "2");
    assert_int_equal(calls_for(&e, "p-429"), 1);
    /* the cooldown holds: the next request does not ask oa1 for p-429 again */
    expect(&e, "fb-429", true, "rate limited again", 200, "an", NULL, NULL);
    assert_int_equal(calls_for(&e, "p-429"), 1);
    assert_int_equal(calls_for(&e, "claude-fb"), 2);

    /* 5xx (streamed request): Gemini answers */
    mock_ok(&e, "POST", "/__mock/faults", "{\"status\":503,\"model\":\"p-5xx\",\"count\":1}");
    chat(&e, "fb-5xx", true, "server error", &r);
    assert_int_equal(r.status, 200);
    header_is(&r, "x-aigate-account", "gm");
    header_is(&r, "x-aigate-model", "gemini-fb");
    header_is(&r, "x-aigate-attempts", "2");
    assert_non_null(strstr(r.body, "data: [DONE]"));
    rh_resp_free(&r);

    /* timeout: the first target's first byte comes too late (2 s) */
    mock_ok(&e, "POST", "/__mock/faults",
            "{\"status\":200,\"delay_ms\":6000,\"model\":\"p-timeout\",\"count\":1}");
    expect(&e, "fb-timeout", false, "slow", 200, "oa2", "s-timeout", NULL);

    /* context-length: the provider's own wording */
    mock_ok(&e, "POST", "/__mock/faults",
            "{\"status\":400,\"model\":\"p-context\",\"count\":1,\"body\":\"{\\\"error\\\":"
            "{\\\"message\\\":\\\"This model's maximum context length is 8192 tokens\\\","
            "\\\"type\\\":\\\"invalid_request_error\\\",\\\"code\\\":"
            "\\\"context_length_exceeded\\\"}}\"}");
    expect(&e, "fb-context", false, "too long", 200, "oa2", "s-context", NULL);
    ag_gwenv_stop(&e);
}

static void no_fallback_on_an_unlisted_class(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    env_start(&e);
    /* fallback_on names 429 only: a 500 is answered, the second target is never asked */
    mock_ok(&e, "POST", "/__mock/faults",
            "{\"status\":500,\"model\":\"p-nofb\",\"permanent\":true}");
    chat(&e, "no-fb", false, "server error", &r);
    assert_true(r.status >= 500);
    assert_non_null(strstr(r.body, "\"error\""));
    header_is(&r, "x-aigate-account", "oa1");
    rh_resp_free(&r);
    assert_int_equal(calls_for(&e, "s-nofb"), 0);
    assert_true(calls_for(&e, "p-nofb") >= 1);
    /* a 400 that is not about the context is not a fallback class either */
    mock_ok(&e, "DELETE", "/__mock/faults", NULL);
    mock_ok(&e, "POST", "/__mock/faults",
            "{\"status\":400,\"model\":\"p-context\",\"count\":1,\"body\":\"{\\\"error\\\":"
            "{\\\"message\\\":\\\"temperature is out of range\\\"}}\"}");
    expect(&e, "fb-context", false, "bad request", 400, NULL, NULL, NULL);
    assert_int_equal(calls_for(&e, "s-context"), 0);
    ag_gwenv_stop(&e);
}

/* A refused key (401) marks its account forbidden: the next request goes past it. */
static void refused_key_marks_the_account(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    env_start(&e);
    chat(&e, "bad-key", false, "refused key", &r);
    assert_int_equal(r.status, 503); /* the gateway's account failed, not the client's key */
    rh_resp_free(&r);
    assert_int_equal(calls_for(&e, "claude-bad"), 1);
    expect(&e, "bad-key", false, "refused key again", 200, "an", "claude-good", NULL);
    assert_int_equal(calls_for(&e, "claude-bad"), 1); /* not asked again */
    const char *argv[] = {ag_gwenv_bin(), "--port", e.port_arg, "accounts", "list", NULL};
    char *o = NULL, *err = NULL;
    assert_int_equal(ag_child_run(argv, e.envp, NULL, 10000, &o, &err), 0);
    char *line = strstr(o, "anthropic:badan");
    assert_non_null(line);
    assert_non_null(strstr(line, "forbidden"));
    free(o);
    free(err);
    ag_gwenv_stop(&e);
}

/* ---- strategies and the context window ---- */

static void weighted_spread(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    char model[64];
    int three = 0, one = 0;
    env_start(&e);
    for (int i = 0; i < 60; i++) {
        chat(&e, "spread", i % 2, "spread me", &r);
        assert_int_equal(r.status, 200);
        assert_true(rh_header(&r, "x-aigate-model", model, sizeof(model)));
        if (strcmp(model, "w-three") == 0)
            three++;
        else if (strcmp(model, "w-one") == 0)
            one++;
        rh_resp_free(&r);
    }
    /* 3:1 over 60 requests: 45 expected; the bounds are more than 4 standard deviations wide */
    assert_int_equal(three + one, 60);
    assert_in_range(three, 31, 58);
    assert_in_range(one, 2, 29);
    ag_gwenv_stop(&e);
}

static void context_window_fallback(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    char big[1024];
    env_start(&e);
    /* a short request fits the small window */
    chat(&e, "window", false, "short", &r);
    assert_int_equal(r.status, 200);
    header_is(&r, "x-aigate-model", "small-window");
    header_is(&r, "x-aigate-account", "oa1");
    rh_resp_free(&r);
    /* a long one (about 150 tokens by the estimate) goes straight to the target that fits */
    memset(big, 'x', 600);
    big[600] = '\0';
    chat(&e, "window", true, big, &r);
    assert_int_equal(r.status, 200);
    header_is(&r, "x-aigate-model", "big-window");
    header_is(&r, "x-aigate-account", "oa2");
    header_is(&r, "x-aigate-attempts", "1");
    rh_resp_free(&r);
    assert_int_equal(calls_for(&e, "small-window"), 1);
    ag_gwenv_stop(&e);
}

/* The newest request log row's field, as an integer. */
static int64_t newest_log_int(struct ag_gwenv *e, const char *field)
{
    struct rh_resp lg;
    assert_true(rh_request(e->port, "GET", "/api/logs/recent?limit=1",
                           "Authorization: Bearer " MAIN_KEY "\r\n", NULL, &lg));
    assert_int_equal(lg.status, 200);
    yyjson_doc *d = yyjson_read(lg.body, lg.body_len, 0);
    yyjson_val *items = yyjson_obj_get(yyjson_doc_get_root(d), "items");
    assert_int_equal(yyjson_arr_size(items), 1);
    int64_t v = yyjson_get_sint(yyjson_obj_get(yyjson_arr_get(items, 0), field));
    yyjson_doc_free(d);
    rh_resp_free(&lg);
    return v;
}

/* A Chat Completions stream passed through without stream_options.include_usage: the gateway asks
 * for the usage (the client's other stream_options kept), records it, and hands the client every
 * frame but the usage chunk, as the upstream framed them. */
static void passthrough_stream_asks_for_its_usage(void **state)
{
    static const char *const bodies[] = {
        "{\"model\":\"to-openai\",\"stream\":true,\"messages\":[{\"role\":\"user\","
        "\"content\":\"count my tokens\"}]}",
        "{\"model\":\"to-openai\",\"stream\":true,\"stream_options\":{\"include_usage\":false,"
        "\"x_keep\":7},\"messages\":[{\"role\":\"user\",\"content\":\"count mine too\"}]}",
    };
    struct ag_gwenv e;
    struct rh_resp r;
    size_t len;
    env_start(&e);
    mock_ok(&e, "POST", "/__mock/config", "{\"provider_extras\":true}");
    for (size_t i = 0; i < 2; i++) {
        post(&e, "/v1/chat/completions", bodies[i], &r);
        assert_int_equal(r.status, 200);
        header_is(&r, "x-aigate-account", "oa1");
        char *sent = last_request(&e, "body");
        assert_non_null(strstr(sent, "\"include_usage\":true"));
        if (i == 1)
            assert_non_null(strstr(sent, "\"x_keep\":7"));
        free(sent);
        /* the client asked for no usage chunk and gets none */
        assert_null(strstr(r.body, "\"usage\""));
        assert_non_null(strstr(r.body, "fp_mock_0042"));
        assert_non_null(strstr(r.body, "data: [DONE]\n\n"));
        /* every other frame is the upstream's own, byte for byte */
        char *direct = direct_answer(&e, "/v1/chat/completions",
                                     "Content-Type: application/json\r\nAuthorization: Bearer "
                                     "key-oa1\r\n",
                                     &len);
        char *u = strstr(direct, "\"choices\":[]");
        assert_non_null(u);
        char *from = u;
        while (from > direct && strncmp(from - 2, "\n\n", 2) != 0)
            from--;
        char *to = strstr(u, "\n\n");
        assert_non_null(to);
        to += 2;
        memmove(from, to, strlen(to) + 1);
        assert_int_equal(r.body_len, strlen(direct));
        assert_memory_equal(r.body, direct, r.body_len);
        free(direct);
        rh_resp_free(&r);
        /* and the usage, cache tokens included, reached the request log */
        assert_true(newest_log_int(&e, "input_tokens") > 0);
        assert_true(newest_log_int(&e, "output_tokens") > 0);
        assert_true(newest_log_int(&e, "cached_tokens") > 0);
    }
    ag_gwenv_stop(&e);
}

/* An OpenAI-compatible API that refuses stream_options (Mistral answers 422, older Azure 400): the
 * stream is asked again as the client sent it, on the same account, and answered. */
static void passthrough_stream_without_usage_when_refused(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    env_start(&e);
    mock_ok(&e, "POST", "/__mock/faults",
            "{\"status\":422,\"model\":\"oa-routed\",\"count\":1,\"body\":\"{\\\"object\\\":"
            "\\\"error\\\",\\\"message\\\":{\\\"detail\\\":[{\\\"type\\\":\\\"extra_forbidden\\\","
            "\\\"loc\\\":[\\\"body\\\",\\\"stream_options\\\",\\\"include_usage\\\"]}]}}\"}");
    post(&e, "/v1/chat/completions",
         "{\"model\":\"to-openai\",\"stream\":true,\"messages\":[{\"role\":\"user\","
         "\"content\":\"no options please\"}]}",
         &r);
    assert_int_equal(r.status, 200);
    header_is(&r, "x-aigate-account", "oa1");
    header_is(&r, "x-aigate-attempts", "2");
    assert_non_null(strstr(r.body, "\"finish_reason\":\"stop\""));
    assert_non_null(strstr(r.body, "data: [DONE]\n\n"));
    rh_resp_free(&r);
    assert_int_equal(calls_for(&e, "oa-routed"), 2);
    char *sent = last_request(&e, "body");
    assert_null(strstr(sent, "stream_options"));
    free(sent);
    /* the account's next stream is not asked for usage again: one attempt, as the client sent */
    post(&e, "/v1/chat/completions",
         "{\"model\":\"to-openai\",\"stream\":true,\"messages\":[{\"role\":\"user\","
         "\"content\":\"still no options\"}]}",
         &r);
    assert_int_equal(r.status, 200);
    header_is(&r, "x-aigate-attempts", "1");
    rh_resp_free(&r);
    assert_int_equal(calls_for(&e, "oa-routed"), 3);
    sent = last_request(&e, "body");
    assert_null(strstr(sent, "stream_options"));
    free(sent);
    ag_gwenv_stop(&e);
}

/* A passthrough stream that asked for its usage, answered with a JSON body instead of an event
 * stream (an upstream's error with status 200): the client gets that body as it came. */
static void passthrough_stream_answered_with_json_passes_it_on(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    env_start(&e);
    mock_ok(&e, "POST", "/__mock/faults",
            "{\"status\":200,\"model\":\"oa-routed\",\"count\":1,\"body\":\"{\\\"error\\\":"
            "{\\\"message\\\":\\\"upstream says no\\\"}}\"}");
    post(&e, "/v1/chat/completions",
         "{\"model\":\"to-openai\",\"stream\":true,\"messages\":[{\"role\":\"user\","
         "\"content\":\"hello\"}]}",
         &r);
    assert_int_equal(r.status, 200);
    header_is(&r, "content-type", "application/json");
    assert_non_null(strstr(r.body, "{\"error\":{\"message\":\"upstream says no\"}}"));
    rh_resp_free(&r);
    ag_gwenv_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(conversion_through_routed_models, ag_gwenv_teardown),
        cmocka_unit_test_teardown(passthrough_is_byte_exact, ag_gwenv_teardown),
        cmocka_unit_test_teardown(passthrough_stream_asks_for_its_usage, ag_gwenv_teardown),
        cmocka_unit_test_teardown(passthrough_stream_without_usage_when_refused, ag_gwenv_teardown),
        cmocka_unit_test_teardown(passthrough_stream_answered_with_json_passes_it_on,
                                  ag_gwenv_teardown),
        cmocka_unit_test_teardown(fallback_on_each_listed_class, ag_gwenv_teardown),
        cmocka_unit_test_teardown(no_fallback_on_an_unlisted_class, ag_gwenv_teardown),
        cmocka_unit_test_teardown(refused_key_marks_the_account, ag_gwenv_teardown),
        cmocka_unit_test_teardown(weighted_spread, ag_gwenv_teardown),
        cmocka_unit_test_teardown(context_window_fallback, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
