/* Integration tests for managing API-key accounts, with the real `aigate` ($AIGATE_BIN) and mock
 * upstream ($AIGATE_MOCK_BIN) on loopback ports chosen at run time: the endpoint's own model list
 * read again (`aigate accounts refresh-models`, POST /api/accounts/{id}/refresh-models), a failing
 * list keeping the stored one; adding an account through the admin API (POST
 * /api/accounts/provider) and its kind, masked key, base URL and models in /api/accounts. Every
 * process is stopped by its PID; every wait is bounded. */
#include "ag_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yyjson.h>

#include "child.h"
#include "core/buf.h"
#include "gwenv.h"
#include "proc.h"

#define ADMIN_KEY "sk-prov-edges-admin-key"
#define OC_KEY    "local-secret-key-0123456789"

static const char *const hdrs[] = {"Authorization: Bearer " ADMIN_KEY, NULL};

/* An admin or AI call to the gateway with the admin key; the answer (NUL-terminated) in b. */
static long call(struct ag_gwenv *e, const char *method, const char *path, const char *body,
                 struct ag_buf *b)
{
    return ag_gwenv_call(e, method, path, body, hdrs, b);
}

static const char *config_json(void)
{
    return "{\"auth\":{\"mode\":\"all_except_health\",\"api_key\":\"" ADMIN_KEY "\"}}";
}

/* ---- the endpoint's model list, read again ---- */

static void test_refresh_models(void **state)
{
    static struct ag_gwenv e; /* static: the teardown stops it after a failed assertion */
    struct ag_gwenv_opts o = {.name = "prov-models", .mock = true, .config_json = config_json()};
    char *out = NULL, *err = NULL, base[160], id[64], path[160];
    struct ag_buf b;
    (void)state;
    ag_gwenv_prepare(&e, &o);
    snprintf(base, sizeof(base), "%s/v1", e.mock.base_url);

    /* named models at first; refresh-models replaces them with the endpoint's list */
    const char *add[] = {"accounts", "add",        "--provider", "openai-compatible", "--api-key",
                         OC_KEY,     "--base-url", base,         "--models",          "old-model",
                         "--label",  "local",      NULL};
    assert_int_equal(ag_gwenv_cli(&e, add, &out, &err), 0);
    assert_non_null(strstr(out, "models old-model"));
    free(out);
    free(err);
    const char *rm[] = {"accounts", "refresh-models", "openai-compatible:local", NULL};
    assert_int_equal(ag_gwenv_cli(&e, rm, &out, &err), 0);
    assert_non_null(strstr(out, "mock-chat-small,mock-chat-large,gpt-4o-mini"));
    assert_null(strstr(out, OC_KEY));
    free(out);
    free(err);
    const char *ls[] = {"accounts", "list", NULL};
    assert_int_equal(ag_gwenv_cli(&e, ls, &out, &err), 0);
    assert_non_null(strstr(out, "models mock-chat-small,mock-chat-large,gpt-4o-mini"));
    assert_null(strstr(out, "old-model"));
    free(out);
    free(err);

    /* a failing endpoint: a clear error, and the stored list stays */
    ag_buf_init(&b, 1u << 20);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/faults",
                                   "{\"path\":\"/v1/models\",\"status\":503,\"count\":1}", &b),
                     200);
    assert_int_equal(ag_gwenv_cli(&e, rm, &out, &err), 1);
    assert_non_null(strstr(err, "answered 503"));
    assert_non_null(strstr(err, "the stored list stays"));
    assert_null(strstr(err, OC_KEY));
    free(out);
    free(err);
    assert_int_equal(ag_gwenv_cli(&e, ls, &out, &err), 0);
    assert_non_null(strstr(out, "models mock-chat-small,mock-chat-large,gpt-4o-mini"));
    free(out);
    free(err);

    /* a kind whose API does not list models, an OAuth-less unknown account */
    const char *an[] = {"accounts",  "add",       "--provider", "anthropic",
                        "--api-key", "sk-ant-k1", "--models",   "claude-sonnet-4-5",
                        "--label",   "work",      NULL};
    assert_int_equal(ag_gwenv_cli(&e, an, &out, &err), 0);
    free(out);
    free(err);
    const char *rma[] = {"accounts", "refresh-models", "anthropic:work", NULL};
    assert_int_equal(ag_gwenv_cli(&e, rma, &out, &err), 2);
    assert_non_null(strstr(err, "does not list its models"));
    free(out);
    free(err);
    const char *rmx[] = {"accounts", "refresh-models", "nobody", NULL};
    assert_int_equal(ag_gwenv_cli(&e, rmx, &out, &err), 1);
    assert_non_null(strstr(err, "no account"));
    free(out);
    free(err);

    /* the same through the admin API of the running gateway */
    ag_gwenv_launch(&e);
    ag_gwenv_account_id(&e, "openai-compatible:local", id, sizeof(id));
    const char *set[] = {"accounts", "add",        "--provider", "openai-compatible", "--api-key",
                         OC_KEY,     "--base-url", base,         "--models",          "old-model",
                         "--label",  "local",      NULL};
    assert_int_equal(ag_gwenv_cli(&e, set, &out, &err), 0);
    free(out);
    free(err);
    snprintf(path, sizeof(path), "/api/accounts/%s/refresh-models", id);
    assert_int_equal(call(&e, "POST", path, "{}", &b), 200);
    assert_non_null(strstr(b.data, "\"models\":[\"mock-chat-small\",\"mock-chat-large\","
                                   "\"gpt-4o-mini\"]"));
    assert_null(strstr(b.data, OC_KEY));
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/faults",
                                   "{\"path\":\"/v1/models\",\"status\":500,\"count\":1}", &b),
                     200);
    assert_int_equal(call(&e, "POST", path, "{}", &b), 502);
    assert_non_null(strstr(b.data, "answered 500"));
    assert_int_equal(call(&e, "POST",
                          "/api/accounts/00000000-0000-4000-8000-000000000000/"
                          "refresh-models",
                          "{}", &b),
                     404);
    ag_buf_dispose(&b);
    ag_gwenv_stop(&e);
}

/* ---- adding through the admin API; /api/accounts shows kind, masked key, base URL, models ---- */

static void test_admin_add(void **state)
{
    static struct ag_gwenv e;
    struct ag_gwenv_opts o = {.name = "prov-admin", .mock = true, .config_json = config_json()};
    char body[512], base[160];
    struct ag_buf b;
    (void)state;
    ag_gwenv_start(&e, &o);
    snprintf(base, sizeof(base), "%s/v1", e.mock.base_url);
    ag_buf_init(&b, 1u << 20);

    /* no models given: the endpoint's own list is read and stored */
    snprintf(body, sizeof(body),
             "{\"provider\":\"openai-compatible\",\"api_key\":\"" OC_KEY "\",\"base_url\":\"%s\","
             "\"label\":\"ui\"}",
             base);
    assert_int_equal(call(&e, "POST", "/api/accounts/provider", body, &b), 200);
    assert_non_null(strstr(b.data, "\"provider\":\"openai-compatible\""));
    assert_non_null(strstr(b.data, "\"email\":\"openai-compatible:ui\""));
    assert_non_null(strstr(b.data, "\"api_key_masked\":\"loc\u20266789\""));
    assert_non_null(strstr(b.data, "\"models\":[\"mock-chat-small\""));
    assert_null(strstr(b.data, OC_KEY));

    /* given models, the kind's default base URL */
    assert_int_equal(call(&e, "POST", "/api/accounts/provider",
                          "{\"provider\":\"anthropic\",\"api_key\":\"sk-ant-admin-0123456789\","
                          "\"models\":\"claude-sonnet-4-5, claude-haiku-4-5\"}",
                          &b),
                     200);
    assert_non_null(strstr(b.data, "\"base_url\":\"https://api.anthropic.com\""));
    assert_non_null(strstr(b.data, "\"models\":[\"claude-sonnet-4-5\",\"claude-haiku-4-5\"]"));

    assert_int_equal(call(&e, "GET", "/api/accounts", NULL, &b), 200);
    assert_non_null(strstr(b.data, "\"api_key_masked\":\"sk-\u20266789\""));
    assert_null(strstr(b.data, OC_KEY));
    assert_null(strstr(b.data, "sk-ant-admin-0123456789"));

    /* refusals: in the admin API's error shape, nothing stored */
    assert_int_equal(call(&e, "POST", "/api/accounts/provider",
                          "{\"provider\":\"azure\",\"api_key\":\"k\"}", &b),
                     400);
    assert_non_null(strstr(b.data, "unknown provider"));
    assert_int_equal(call(&e, "POST", "/api/accounts/provider",
                          "{\"provider\":\"openai-compatible\",\"api_key\":\"k\"}", &b),
                     400);
    assert_non_null(strstr(b.data, "base-url"));
    assert_int_equal(call(&e, "POST", "/api/accounts/provider", "{\"provider\":\"openai\"}", &b),
                     400);
    assert_non_null(strstr(b.data, "api_key"));
    snprintf(body, sizeof(body),
             "{\"provider\":\"openai-compatible\",\"api_key\":\"bad-key\",\"base_url\":\"%s\"}",
             base);
    assert_int_equal(call(&e, "POST", "/api/accounts/provider", body, &b), 502);
    assert_non_null(strstr(b.data, "answered 401"));
    assert_int_equal(call(&e, "GET", "/api/accounts", NULL, &b), 200);
    assert_null(strstr(b.data, "azure"));
    assert_null(strstr(b.data, "bad-key"));
    ag_buf_dispose(&b);
    ag_gwenv_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_refresh_models, ag_gwenv_teardown),
        cmocka_unit_test_teardown(test_admin_add, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
