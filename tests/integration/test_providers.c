/* Integration tests for API-key accounts of other providers: `aigate accounts add --provider ...`
 * (the built binary, $AIGATE_BIN, on a fresh data dir) with the model list of an
 * OpenAI-compatible endpoint read from the real mock upstream ($AIGATE_MOCK_BIN on a loopback
 * port), the key masked in lists and present only in an export, bad input refused; and the mock's
 * provider APIs as strict as the real ones (keys, Anthropic's required max_tokens, OpenAI's tool
 * messages). Every process is stopped by its PID; every wait is bounded. */
#include "ag_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "core/buf.h"
#include "proc.h"

static struct ag_proc mock;
static char dir[64];

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/aigate-prov-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    return ag_proc_start_mock(&mock, NULL);
}

static int group_teardown(void **state)
{
    char cmd[128];
    (void)state;
    ag_proc_stop(&mock, 3000);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs `aigate --data-dir DIR args...`; returns the exit code, output in *out / *err. */
static int cli(const char *const *args, char **out, char **err)
{
    const char *argv[20] = {getenv("AIGATE_BIN"), "--data-dir", dir};
    static const char *const env[] = {"AIGATE_LOG_LEVEL=warn", NULL};
    size_t n = 3;
    for (size_t i = 0; args[i] && n < 19; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return ag_child_run(argv, env, NULL, 20000, out, err);
}

static void test_add_list_export(void **state)
{
    char *out = NULL, *err = NULL, base[128];
    (void)state;
    const char *an[] = {"accounts",   "add",
                        "--provider", "anthropic",
                        "--api-key",  "sk-ant-secret-0123456789",
                        "--models",   "claude-sonnet-4-5",
                        "--label",    "work",
                        NULL};
    assert_int_equal(cli(an, &out, &err), 0);
    assert_non_null(strstr(out, "added anthropic:work"));
    assert_null(strstr(out, "secret"));
    free(out);
    free(err);

    /* an OpenAI-compatible endpoint names its own models (GET <base>/models) */
    snprintf(base, sizeof(base), "%s/v1", mock.base_url);
    const char *oc[] = {"accounts",          "add",       "--provider",
                        "openai-compatible", "--api-key", "local-key-0123456789",
                        "--base-url",        base,        NULL};
    assert_int_equal(cli(oc, &out, &err), 0);
    assert_non_null(strstr(out, "mock-chat-small,mock-chat-large,gpt-4o-mini"));
    free(out);
    free(err);

    const char *ls[] = {"accounts", "list", NULL};
    assert_int_equal(cli(ls, &out, &err), 0);
    assert_null(strstr(out, "sk-ant-secret-0123456789"));
    assert_null(strstr(out, "local-key-0123456789"));
    assert_non_null(strstr(out, "sk-\u20266789"));
    assert_non_null(strstr(out, "openai-compatible"));
    assert_non_null(strstr(out, base));
    free(out);
    free(err);

    const char *lj[] = {"accounts", "list", "--json", NULL};
    assert_int_equal(cli(lj, &out, &err), 0);
    assert_null(strstr(out, "secret-0123"));
    assert_non_null(strstr(out, "\"provider\": \"anthropic\""));
    free(out);
    free(err);

    const char *ex[] = {"accounts", "export", NULL};
    assert_int_equal(cli(ex, &out, &err), 0);
    assert_non_null(strstr(out, "\"api_key\": \"sk-ant-secret-0123456789\""));
    assert_non_null(strstr(out, "\"api_key\": \"local-key-0123456789\""));
    free(out);
    free(err);

    /* `accounts refresh` leaves them alone (nothing to refresh, no OAuth call) */
    const char *rf[] = {"accounts", "refresh", "anthropic:work", NULL};
    assert_int_equal(cli(rf, &out, &err), 0);
    assert_non_null(strstr(out, "skipped"));
    free(out);
    free(err);
}

static void test_bad_input(void **state)
{
    char *out = NULL, *err = NULL;
    (void)state;
    const char *nobase[] = {"accounts",  "add", "--provider", "openai-compatible",
                            "--api-key", "k",   NULL};
    assert_int_equal(cli(nobase, &out, &err), 2);
    assert_non_null(strstr(err, "--base-url"));
    free(out);
    free(err);
    const char *kind[] = {"accounts", "add", "--provider", "azure", "--api-key", "k", NULL};
    assert_int_equal(cli(kind, &out, &err), 2);
    assert_non_null(strstr(err, "unknown provider"));
    free(out);
    free(err);
    const char *userinfo[] = {"accounts",  "add", "--provider", "openai",
                              "--api-key", "k",   "--base-url", "https://u:p@example.com/v1",
                              NULL};
    assert_int_equal(cli(userinfo, &out, &err), 2);
    assert_non_null(strstr(err, "user info"));
    free(out);
    free(err);
    /* a refused key: the model list cannot be read, nothing is stored */
    char base[128];
    snprintf(base, sizeof(base), "%s/v1", mock.base_url);
    const char *badkey[] = {"accounts",          "add",       "--provider",
                            "openai-compatible", "--api-key", "bad-key",
                            "--base-url",        base,        NULL};
    assert_int_equal(cli(badkey, &out, &err), 1);
    assert_non_null(strstr(err, "401"));
    free(out);
    free(err);
    const char *ls[] = {"accounts", "export", NULL};
    assert_int_equal(cli(ls, &out, &err), 0);
    assert_null(strstr(out, "bad-key"));
    free(out);
    free(err);
}

/* ---- the mock's provider APIs are strict ---- */

static long post(const char *path, const char *body, const char *const *headers, char **out)
{
    char url[256];
    struct ag_buf b;
    ag_buf_init(&b, 0);
    snprintf(url, sizeof(url), "%s%s", mock.base_url, path);
    long st = ag_test_http("POST", url, body, headers, &b);
    ag_buf_append(&b, "", 1);
    *out = ag_buf_steal(&b, NULL);
    return st;
}

static void test_mock_is_strict(void **state)
{
    char *out = NULL;
    (void)state;
    static const char *const ant_ok[] = {"x-api-key: k1", "anthropic-version: 2023-06-01", NULL};
    static const char *const ant_nover[] = {"x-api-key: k1", NULL};
    static const char *const oa_ok[] = {"Authorization: Bearer k1", NULL};
    const char *msg = "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":50,"
                      "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    assert_int_equal(post("/v1/messages", msg, ant_ok, &out), 200);
    free(out);
    assert_int_equal(post("/v1/messages", msg, NULL, &out), 401);
    assert_non_null(strstr(out, "authentication_error"));
    free(out);
    assert_int_equal(post("/v1/messages", msg, ant_nover, &out), 400);
    free(out);
    assert_int_equal(post("/v1/messages",
                          "{\"model\":\"claude-sonnet-4-5\",\"messages\":[{\"role\":\"user\","
                          "\"content\":\"hi\"}]}",
                          ant_ok, &out),
                     400);
    assert_non_null(strstr(out, "max_tokens: Field required"));
    free(out);

    const char *chat = "{\"model\":\"mock-chat-small\",\"messages\":[{\"role\":\"user\","
                       "\"content\":\"hi\"}]}";
    assert_int_equal(post("/v1/chat/completions", chat, oa_ok, &out), 200);
    assert_non_null(strstr(out, "chat.completion"));
    free(out);
    assert_int_equal(post("/v1/chat/completions", chat, NULL, &out), 401);
    assert_non_null(strstr(out, "invalid_api_key"));
    free(out);
    assert_int_equal(post("/v1/chat/completions",
                          "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\","
                          "\"tool_call_id\":\"call_x\",\"content\":\"r\"}]}",
                          oa_ok, &out),
                     400);
    free(out);
    static const char *const g_ok[] = {"x-goog-api-key: k1", NULL};
    const char *gem = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}";
    assert_int_equal(post("/v1beta/models/gemini-2.5-flash:generateContent", gem, g_ok, &out), 200);
    free(out);
    assert_int_equal(post("/v1beta/models/gemini-2.5-flash:generateContent", gem, NULL, &out), 403);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_list_export),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_mock_is_strict),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
