/* Integration tests of upstream fidelity with the real binaries: aigate in front of the strict
 * mock upstream (tests/mock/strict.c). Google's generic 429 cools an account for seconds, not
 * until its quota reset; per-account models (an account that does not list the model, a 404 for
 * a model on one account); a 401 on a pool of one account; Retry-After on a final 429; Anthropic
 * count_tokens counting the system text and the tools; the headers sent for Claude models; a 403
 * to fetchAvailableModels asked again without the project; and the mock's own strictness.
 * Loopback only; every wait is bounded; every process is stopped by its PID. */
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
#include <sys/stat.h>
#include <unistd.h>
#include <yyjson.h>

/* Mock accounts (JSON array; refresh tokens rt-<x>, access tokens at-<x>), then `accounts add`
 * for each of tokens, an optional config.json, then the gateway. */
static void env_start(struct ag_gwenv *e, const char *accounts, const char *const *tokens,
                      const char *config_json)
{
    const struct ag_gwenv_opts o = {
        .name = "upstream",
        .mock_accounts = accounts,
        .tokens = tokens,
        .config_json = config_json,
    };
    ag_gwenv_start(e, &o);
}

/* One OpenAI chat request for model (a new conversation each time: no sticky session). */
static int chat(struct ag_gwenv *e, const char *model, struct rh_resp *r)
{
    static int turn;
    char body[512];
    snprintf(body, sizeof(body),
             "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"hello upstream, "
             "conversation %d\"}]}",
             model, ++turn);
    assert_true(rh_request(e->port, "POST", "/v1/chat/completions",
                           "Content-Type: application/json\r\n", body, r));
    return r->status;
}

/* The mock's records for path (a JSON array; the caller frees the document). */
static yyjson_doc *records(struct ag_gwenv *e, const char *path)
{
    struct ag_buf out;
    char q[200];
    ag_buf_init(&out, 0);
    snprintf(q, sizeof(q), "/__mock/requests?path=%s", path);
    assert_int_equal(ag_gwenv_mock(e, "GET", q, NULL, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    ag_buf_dispose(&out);
    assert_non_null(d);
    return d;
}

static const char *header_of(yyjson_val *rec, const char *name)
{
    return yyjson_get_str(yyjson_obj_get(yyjson_obj_get(rec, "headers"), name));
}

/* Calls of path by the account with access token token, and how many asked for model. */
static int count_calls(struct ag_gwenv *e, const char *path, const char *token, const char *model)
{
    yyjson_doc *d = records(e, path);
    yyjson_val *v;
    size_t i, max;
    char want[96], needle[160];
    int n = 0;
    snprintf(want, sizeof(want), "Bearer %s", token);
    snprintf(needle, sizeof(needle), "\"model\":\"%s\"", model ? model : "");
    yyjson_arr_foreach(yyjson_doc_get_root(d), i, max, v)
    {
        const char *auth = header_of(v, "authorization");
        const char *body = yyjson_get_str(yyjson_obj_get(v, "body"));
        if (auth && strcmp(auth, want) == 0 && (!model || (body && strstr(body, needle))))
            n++;
    }
    yyjson_doc_free(d);
    return n;
}

static const char two_accounts[] =
    "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\",\"access_token\":\"at-a\","
    "\"project\":\"proj-a\",\"tier\":\"PRO\"},"
    "{\"email\":\"b@example.com\",\"refresh_token\":\"rt-b\",\"access_token\":\"at-b\","
    "\"project\":\"proj-b\",\"tier\":\"PRO\"}]";
static const char *const two_tokens[] = {"rt-a", "rt-b", NULL};

/* ---- 429 kinds ---- */

static void generic_429_is_a_short_cooldown(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    env_start(&e, two_accounts, two_tokens, NULL);
    ag_buf_init(&out, 0);
    /* Google's generic RESOURCE_EXHAUSTED, no reason, no delay: a's first answer. The account's
     * stored quota resets in 2030 (the mock's resetTime), so a quota bench would last the whole
     * max_cooldown_s (a day). */
    assert_int_equal(
        ag_gwenv_mock(
            &e, "POST", "/__mock/faults",
            "{\"status\":429,\"token\":\"at-a\",\"count\":1,\"body\":\"{\\\"error\\\":{"
            "\\\"code\\\":429,\\\"message\\\":\\\"Resource has been exhausted (e.g. check "
            "quota).\\\",\\\"status\\\":\\\"RESOURCE_EXHAUSTED\\\"}}\"}",
            &out),
        200);
    int hit = 0;
    for (int i = 0; i < 10 && !hit; i++) {
        struct rh_resp r;
        assert_int_equal(chat(&e, "gemini-2.5-flash", &r), 200);
        rh_resp_free(&r);
        hit = count_calls(&e, ":streamGenerateContent", "at-a", NULL);
    }
    assert_int_equal(hit, 1); /* the 429 */
    /* a serves again within seconds (5 s cooldown, then one trial request). */
    bool back = false;
    for (int i = 0; i < 60 && !back; i++) {
        struct rh_resp r;
        usleep(250000);
        assert_int_equal(chat(&e, "gemini-2.5-flash", &r), 200);
        rh_resp_free(&r);
        back = count_calls(&e, ":streamGenerateContent", "at-a", NULL) > 1;
    }
    assert_true(back);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

static void final_429_carries_retry_after(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    struct rh_resp r;
    char ra[32];
    static const char *const one[] = {"rt-a", NULL};
    env_start(&e,
              "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\",\"access_token\":"
              "\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"}]",
              one, "{\"scheduling\":{\"max_attempts\":1}}");
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/faults",
                                   "{\"status\":429,\"permanent\":true,\"retry_delay\":\"20s\","
                                   "\"reason\":\"RATE_LIMIT_EXCEEDED\"}",
                                   &out),
                     200);
    assert_int_equal(chat(&e, "gemini-2.5-flash", &r), 429);
    assert_true(rh_header(&r, "retry-after", ra, sizeof(ra)));
    assert_int_equal(atoi(ra), 20);
    rh_resp_free(&r);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

/* ---- per-account models ---- */

static void model_only_on_some_accounts(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    /* a lists only gemini-2.5-flash; b the whole catalog. */
    env_start(&e,
              "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\",\"access_token\":\"at-a\","
              "\"project\":\"proj-a\",\"tier\":\"PRO\",\"quotas\":{\"gemini-2.5-flash\":1.0}},"
              "{\"email\":\"b@example.com\",\"refresh_token\":\"rt-b\",\"access_token\":\"at-b\","
              "\"project\":\"proj-b\",\"tier\":\"PRO\"}]",
              two_tokens, NULL);
    ag_buf_init(&out, 0);
    for (int i = 0; i < 6; i++) {
        struct rh_resp r;
        char attempts[16];
        assert_int_equal(chat(&e, "gemini-3-flash", &r), 200);
        assert_true(rh_header(&r, "x-aigate-attempts", attempts, sizeof(attempts)));
        assert_string_equal(attempts, "1");
        rh_resp_free(&r);
    }
    assert_int_equal(count_calls(&e, ":streamGenerateContent", "at-b", "gemini-3-flash"), 6);
    /* a was never asked for a model it does not list; it still serves its own. */
    assert_int_equal(count_calls(&e, ":streamGenerateContent", "at-a", NULL), 0);
    bool a_served = false;
    for (int i = 0; i < 8 && !a_served; i++) {
        struct rh_resp r;
        assert_int_equal(chat(&e, "gemini-2.5-flash", &r), 200);
        rh_resp_free(&r);
        a_served = count_calls(&e, ":streamGenerateContent", "at-a", "gemini-2.5-flash") > 0;
    }
    assert_true(a_served);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

static void not_found_on_one_account_moves_and_is_remembered(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    env_start(&e, two_accounts, two_tokens, NULL);
    ag_buf_init(&out, 0);
    /* Both list gemini-3-flash, but a's upstream answers 404 for it. */
    assert_int_equal(
        ag_gwenv_mock(
            &e, "POST", "/__mock/faults",
            "{\"status\":404,\"token\":\"at-a\",\"model\":\"gemini-3-flash\",\"permanent\":"
            "true}",
            &out),
        200);
    for (int i = 0; i < 6; i++) {
        struct rh_resp r;
        assert_int_equal(chat(&e, "gemini-3-flash", &r), 200);
        rh_resp_free(&r);
    }
    assert_int_equal(count_calls(&e, ":streamGenerateContent", "at-b", "gemini-3-flash"), 6);
    /* At most one 404 on a: remembered, a is not offered that model again. */
    assert_true(count_calls(&e, ":streamGenerateContent", "at-a", "gemini-3-flash") <= 1);
    /* A model no account serves is the client's 404, in its own format. */
    struct rh_resp r;
    assert_int_equal(chat(&e, "gemini-2.5-flash-lite-nonexistent", &r), 404);
    assert_non_null(strstr(r.body, "\"error\""));
    rh_resp_free(&r);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

/* ---- retired model ids ---- */

static void retired_id_is_forwarded(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    env_start(&e, two_accounts, two_tokens, NULL);
    /* The accounts' fetchAvailableModels says gemini-2.5-pro-preview is now gemini-2.5-pro; the
     * retired id itself is answered 404 by the upstream. */
    assert_int_equal(chat(&e, "gemini-2.5-pro-preview", &r), 200);
    rh_resp_free(&r);
    yyjson_doc *d = records(&e, ":streamGenerateContent");
    yyjson_val *rec = yyjson_arr_get_first(yyjson_doc_get_root(d));
    assert_int_equal(yyjson_arr_size(yyjson_doc_get_root(d)), 1);
    assert_non_null(
        strstr(yyjson_get_str(yyjson_obj_get(rec, "body")), "\"model\":\"gemini-2.5-pro\""));
    yyjson_doc_free(d);
    ag_gwenv_stop(&e);
}

/* ---- 401 on a pool of one ---- */

static void unauthorized_single_account_refreshes_and_retries(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    struct rh_resp r;
    char attempts[16];
    static const char *const one[] = {"rt-a", NULL};
    env_start(&e,
              "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\",\"access_token\":"
              "\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"}]",
              one, NULL);
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/faults",
                                   "{\"status\":401,\"token\":\"at-a\",\"count\":1}", &out),
                     200);
    assert_int_equal(chat(&e, "gemini-2.5-flash", &r), 200);
    assert_true(rh_header(&r, "x-aigate-attempts", attempts, sizeof(attempts)));
    assert_string_equal(attempts, "2");
    rh_resp_free(&r);
    yyjson_doc *d = records(&e, "/token");
    assert_true(yyjson_arr_size(yyjson_doc_get_root(d)) >= 1); /* the token was refreshed */
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

/* ---- count_tokens, headers ---- */

static void count_tokens_counts_system_and_tools(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    env_start(&e, two_accounts, two_tokens, NULL);
    const char *body =
        "{\"model\":\"claude-sonnet-4-6\",\"system\":\"You are the SYSTEM-PROMPT-MARKER.\","
        "\"tools\":[{\"name\":\"lookup_weather_marker\",\"description\":\"Weather\","
        "\"input_schema\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
        "\"string\"}}}}],\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
    assert_true(rh_request(e.port, "POST", "/v1/messages/count_tokens",
                           "Content-Type: application/json\r\n", body, &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "input_tokens"));
    rh_resp_free(&r);
    yyjson_doc *d = records(&e, ":countTokens");
    yyjson_val *rec = yyjson_arr_get_first(yyjson_doc_get_root(d));
    const char *sent = yyjson_get_str(yyjson_obj_get(rec, "body"));
    assert_non_null(sent);
    assert_non_null(strstr(sent, "SYSTEM-PROMPT-MARKER"));
    assert_non_null(strstr(sent, "lookup_weather_marker"));
    yyjson_doc_free(d);
    ag_gwenv_stop(&e);
}

static void claude_models_get_the_beta_and_client_version(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    env_start(&e, two_accounts, two_tokens, NULL);
    assert_int_equal(chat(&e, "claude-sonnet-4-6", &r), 200);
    rh_resp_free(&r);
    assert_int_equal(chat(&e, "gemini-2.5-flash", &r), 200);
    rh_resp_free(&r);
    yyjson_doc *d = records(&e, ":streamGenerateContent");
    yyjson_val *v;
    size_t i, max;
    int claude = 0, gemini = 0;
    yyjson_arr_foreach(yyjson_doc_get_root(d), i, max, v)
    {
        const char *b = yyjson_get_str(yyjson_obj_get(v, "body"));
        const char *beta = header_of(v, "anthropic-beta");
        assert_non_null(header_of(v, "x-client-version"));
        assert_string_equal(header_of(v, "x-client-version"), "4.3.0");
        if (b && strstr(b, "\"model\":\"claude-sonnet-4-6\"")) {
            claude++;
            assert_non_null(beta);
            assert_string_equal(beta, "claude-code-20250219");
        } else {
            gemini++;
            assert_null(beta);
        }
    }
    assert_int_equal(claude, 1);
    assert_int_equal(gemini, 1);
    yyjson_doc_free(d);
    ag_gwenv_stop(&e);
}

/* ---- fetchAvailableModels 403 ---- */

static void models_403_is_asked_again_without_project(void **state)
{
    struct ag_gwenv e;
    static const char *const tokens[] = {"rt-a", NULL};
    /* The fault is in place before `accounts add` fetches the models. */
    const struct ag_gwenv_opts opts = {
        .name = "upstream",
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"}]",
        .mock_faults = "{\"status\":403,\"path\":\"fetchAvailableModels\",\"count\":1}",
        .tokens = tokens,
    };
    char *o = NULL, *err = NULL;
    ag_gwenv_prepare(&e, &opts);
    yyjson_doc *d = records(&e, ":fetchAvailableModels");
    yyjson_val *root = yyjson_doc_get_root(d);
    assert_int_equal(yyjson_arr_size(root), 2);
    assert_non_null(
        strstr(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(root, 0), "body")), "proj-a"));
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(root, 1), "body")), "{}");
    assert_null(header_of(yyjson_arr_get(root, 1), "x-goog-user-project"));
    yyjson_doc_free(d);
    /* The quota of the second answer was stored. */
    const char *list[] = {ag_gwenv_bin(), "accounts", "list", "--json", NULL};
    assert_int_equal(ag_child_run(list, e.envp, NULL, 10000, &o, &err), 0);
    assert_non_null(strstr(o, "gemini-2.5-flash"));
    free(o);
    free(err);
    ag_gwenv_stop(&e);
}

/* ---- the mock refuses what the real API refuses ---- */

static long cc(struct ag_gwenv *e, const char *method, const char *token, const char *body,
               struct ag_buf *out)
{
    char url[256], auth[128];
    snprintf(url, sizeof(url), "%s/v1internal:%s", e->mock.base_url, method);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    const char *h[] = {auth, NULL};
    ag_buf_reset(out);
    return ag_test_http("POST", url, body, h, out);
}

static void mock_is_strict(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    ag_buf_init(&out, 0);
    ag_gwenv_prepare(&e, &(const struct ag_gwenv_opts){.name = "upstream", .mock = true});
#define GEN(extra_gc)                                                                              \
    "{\"project\":\"p\",\"model\":\"gemini-3-flash\",\"request\":{\"contents\":[{\"role\":"        \
    "\"user\",\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{" extra_gc "}}}"
    /* the mock's default account (token at-mock) offers the catalog: gemini-3-flash 65536 / 32768
     */
    assert_int_equal(cc(&e, "generateContent", "at-mock", GEN("\"maxOutputTokens\":65536"), &out),
                     200);
    assert_int_equal(cc(&e, "generateContent", "at-mock", GEN("\"maxOutputTokens\":131072"), &out),
                     400);
    assert_non_null(strstr(out.data, "INVALID_ARGUMENT"));
    assert_non_null(strstr(out.data, "maxOutputTokens"));
    assert_int_equal(cc(&e, "generateContent", "at-mock",
                        GEN("\"thinkingConfig\":{\"thinkingBudget\":60000}"), &out),
                     400);
    assert_int_equal(cc(&e, "generateContent", "at-mock",
                        GEN("\"maxOutputTokens\":8000,\"thinkingConfig\":{\"thinkingBudget\":"
                            "8000}"),
                        &out),
                     400);
    assert_non_null(strstr(out.data, "budget_tokens"));
    assert_int_equal(cc(&e, "generateContent", "at-mock",
                        GEN("\"maxOutputTokens\":16000,\"thinkingConfig\":{\"thinkingBudget\":"
                            "8000}"),
                        &out),
                     200);
    /* unknown model: the real API's 404 */
    assert_int_equal(cc(&e, "generateContent", "at-mock",
                        "{\"project\":\"p\",\"model\":\"gemini-3-flash-lite\",\"request\":{"
                        "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}}",
                        &out),
                     404);
    assert_non_null(strstr(out.data, "Requested entity was not found."));
    assert_non_null(strstr(out.data, "NOT_FOUND"));
    /* missing fields */
    assert_int_equal(cc(&e, "generateContent", "at-mock",
                        "{\"model\":\"gemini-3-flash\",\"request\":{\"contents\":[{\"role\":"
                        "\"user\",\"parts\":[{\"text\":\"hi\"}]}]}}",
                        &out),
                     400);
    assert_int_equal(cc(&e, "generateContent", "at-mock",
                        "{\"project\":\"p\",\"request\":{\"contents\":[{\"role\":\"user\","
                        "\"parts\":[{\"text\":\"hi\"}]}]}}",
                        &out),
                     400);
    assert_int_equal(cc(&e, "streamGenerateContent", "at-mock",
                        "{\"project\":\"p\",\"model\":\"gemini-3-flash\",\"request\":{}}", &out),
                     400);
    assert_non_null(strstr(out.data, "contents"));
    assert_int_equal(cc(&e, "countTokens", "at-mock",
                        "{\"model\":\"gemini-3-flash\",\"request\":{\"contents\":[]}}", &out),
                     400);
    assert_int_equal(cc(&e, "countTokens", "at-mock",
                        "{\"request\":{\"model\":\"models/gemini-3-flash\",\"contents\":[]}}",
                        &out),
                     200);
#undef GEN
    ag_gwenv_stop(&e);
    ag_buf_dispose(&out);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(mock_is_strict, ag_gwenv_teardown),
        cmocka_unit_test_teardown(generic_429_is_a_short_cooldown, ag_gwenv_teardown),
        cmocka_unit_test_teardown(final_429_carries_retry_after, ag_gwenv_teardown),
        cmocka_unit_test_teardown(model_only_on_some_accounts, ag_gwenv_teardown),
        cmocka_unit_test_teardown(not_found_on_one_account_moves_and_is_remembered,
                                  ag_gwenv_teardown),
        cmocka_unit_test_teardown(retired_id_is_forwarded, ag_gwenv_teardown),
        cmocka_unit_test_teardown(unauthorized_single_account_refreshes_and_retries,
                                  ag_gwenv_teardown),
        cmocka_unit_test_teardown(count_tokens_counts_system_and_tools, ag_gwenv_teardown),
        cmocka_unit_test_teardown(claude_models_get_the_beta_and_client_version, ag_gwenv_teardown),
        cmocka_unit_test_teardown(models_403_is_asked_again_without_project, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
