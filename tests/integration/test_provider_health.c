/* Integration tests for API-key accounts in the running gateway's pool, with the real `aigate`
 * ($AIGATE_BIN) and mock upstream ($AIGATE_MOCK_BIN) on loopback ports chosen at run time:
 * GET /v1/models and /v1beta/models naming every routable model with its provider (Cloud Code,
 * the accounts' models, routing.rules names); and scheduled health checks: an account whose
 * endpoint fails is marked unhealthy (admin API, `accounts list`, /metrics) and cooled down, and
 * comes back when the endpoint answers again, with the key in no log line; no checks unless
 * configured. Every process is stopped by its PID; every wait is bounded. */
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

/* ---- GET /v1/models names every routable model with its provider ---- */

/* The provider of id in an OpenAI model list (NULL when not listed). */
static const char *provider_of(yyjson_doc *d, const char *id, const char *field)
{
    yyjson_val *v;
    size_t i, max;
    yyjson_arr_foreach(yyjson_obj_get(yyjson_doc_get_root(d), "data"), i, max, v)
    {
        if (strcmp(yyjson_get_str(yyjson_obj_get(v, "id")), id) == 0)
            return yyjson_get_str(yyjson_obj_get(v, field));
    }
    return NULL;
}

static void test_model_list(void **state)
{
    static struct ag_gwenv e;
    static const char *const tokens[] = {"rt-mock", NULL};
    struct ag_gwenv_opts o = {
        .name = "prov-list",
        .mock = true,
        .tokens = tokens,
        .config_json =
            "{\"auth\":{\"mode\":\"all_except_health\",\"api_key\":\"" ADMIN_KEY "\"},"
            "\"routing\":{\"rules\":["
            "{\"pattern\":\"house-coder\",\"targets\":[{\"account\":\"local\",\"model\":"
            "\"mock-chat-large\"}]},"
            "{\"pattern\":\"fast\",\"targets\":[{\"provider\":\"anthropic\",\"model\":"
            "\"claude-haiku-4-5\"}]},"
            "{\"pattern\":\"gpt-*\",\"targets\":[{\"provider\":\"openai-compatible\"}]}]}}",
    };
    char *out = NULL, *err = NULL, base[160];
    struct ag_buf b;
    (void)state;
    ag_gwenv_prepare(&e, &o);
    snprintf(base, sizeof(base), "%s/v1", e.mock.base_url);
    const char *oc[] = {"accounts",  "add",   "--provider", "openai-compatible",
                        "--api-key", OC_KEY,  "--base-url", base,
                        "--label",   "local", NULL};
    assert_int_equal(ag_gwenv_cli(&e, oc, &out, &err), 0);
    free(out);
    free(err);
    const char *an[] = {"accounts",  "add",      "--provider",        "anthropic", "--api-key",
                        "sk-ant-k1", "--models", "claude-opus-4-1-x", NULL};
    assert_int_equal(ag_gwenv_cli(&e, an, &out, &err), 0);
    free(out);
    free(err);
    const char *off[] = {"accounts", "add",        "--provider", "openai", "--api-key", "sk-off-k1",
                         "--models", "gone-model", "--label",    "off",    NULL};
    assert_int_equal(ag_gwenv_cli(&e, off, &out, &err), 0);
    free(out);
    free(err);
    const char *dis[] = {"accounts", "disable", "openai:off", NULL};
    assert_int_equal(ag_gwenv_cli(&e, dis, &out, &err), 0);
    free(out);
    free(err);
    ag_gwenv_launch(&e);

    ag_buf_init(&b, 1u << 20);
    assert_int_equal(call(&e, "GET", "/v1/models", NULL, &b), 200);
    yyjson_doc *d = yyjson_read(b.data, b.len, 0);
    assert_non_null(d);
    /* the endpoint's own models, read when the account was added */
    assert_string_equal(provider_of(d, "mock-chat-small", "provider"), "openai-compatible");
    assert_string_equal(provider_of(d, "mock-chat-small", "owned_by"), "openai-compatible");
    assert_string_equal(provider_of(d, "gpt-4o-mini", "provider"), "openai-compatible");
    /* --models of an anthropic account */
    assert_string_equal(provider_of(d, "claude-opus-4-1-x", "provider"), "anthropic");
    /* routing.rules names: by the target's kind, or the labelled account's kind */
    assert_string_equal(provider_of(d, "house-coder", "provider"), "openai-compatible");
    assert_string_equal(provider_of(d, "fast", "provider"), "anthropic");
    assert_null(provider_of(d, "gpt-*", "provider"));
    /* Cloud Code's models as before */
    assert_string_equal(provider_of(d, "gemini-2.5-flash", "owned_by"), "aigate");
    assert_string_equal(provider_of(d, "gemini-2.5-flash", "provider"), "google");
    /* a disabled account's models are not routable */
    assert_null(provider_of(d, "gone-model", "provider"));
    yyjson_doc_free(d);
    assert_null(strstr(b.data, OC_KEY));

    /* one model, as the OpenAI SDK's retrieve asks for it */
    assert_int_equal(call(&e, "GET", "/v1/models/mock-chat-small", NULL, &b), 200);
    assert_non_null(strstr(b.data, "\"id\":\"mock-chat-small\""));
    assert_non_null(strstr(b.data, "\"owned_by\":\"openai-compatible\""));
    assert_int_equal(call(&e, "GET", "/v1/models/house-coder", NULL, &b), 200);
    assert_non_null(strstr(b.data, "\"provider\":\"openai-compatible\""));
    assert_int_equal(call(&e, "GET", "/v1/models/gemini-2.5-flash", NULL, &b), 200);
    assert_non_null(strstr(b.data, "\"owned_by\":\"aigate\""));
    assert_int_equal(call(&e, "GET", "/v1/models/gone-model", NULL, &b), 404);

    /* the Gemini-shaped list names them too */
    assert_int_equal(call(&e, "GET", "/v1beta/models", NULL, &b), 200);
    assert_non_null(strstr(b.data, "\"name\":\"models/mock-chat-small\""));
    assert_non_null(strstr(b.data, "\"name\":\"models/house-coder\""));
    ag_buf_dispose(&b);
    ag_gwenv_stop(&e);
}

/* ---- health checks: failing, then recovering ---- */

/* Polls /api/accounts (at most 40 times, 250 ms apart) until the account's health is want. */
static bool wait_health(struct ag_gwenv *e, const char *id, const char *want, struct ag_buf *b)
{
    char needle[64];
    snprintf(needle, sizeof(needle), "\"health\":{\"state\":\"%s\"", want);
    for (int i = 0; i < 40; i++) {
        char path[128];
        snprintf(path, sizeof(path), "/api/accounts/%s", id);
        if (call(e, "GET", path, NULL, b) == 200 && strstr(b->data, needle))
            return true;
        usleep(250 * 1000);
    }
    return false;
}

static void test_health_checks(void **state)
{
    static struct ag_gwenv e;
    struct ag_gwenv_opts o = {
        .name = "prov-health",
        .mock = true,
        .config_json = "{\"auth\":{\"mode\":\"all_except_health\",\"api_key\":\"" ADMIN_KEY "\"},"
                       "\"providers\":{\"health_check_interval_s\":1}}",
    };
    char *out = NULL, *err = NULL, base[160], id[64];
    struct ag_buf b;
    (void)state;
    ag_gwenv_prepare(&e, &o);
    snprintf(base, sizeof(base), "%s/v1", e.mock.base_url);
    const char *oc[] = {"accounts",  "add",   "--provider", "openai-compatible",
                        "--api-key", OC_KEY,  "--base-url", base,
                        "--label",   "local", NULL};
    assert_int_equal(ag_gwenv_cli(&e, oc, &out, &err), 0);
    free(out);
    free(err);
    ag_gwenv_launch(&e);
    ag_gwenv_account_id(&e, "openai-compatible:local", id, sizeof(id));
    ag_buf_init(&b, 1u << 20);

    /* checks run and succeed */
    assert_true(wait_health(&e, id, "healthy", &b));

    /* the endpoint fails: the account turns unhealthy, everywhere it is shown */
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/faults",
                                   "{\"path\":\"/v1/models\",\"status\":503,\"permanent\":true}",
                                   &b),
                     200);
    assert_true(wait_health(&e, id, "unhealthy", &b));
    assert_non_null(strstr(b.data, "answered 503"));
    assert_int_equal(call(&e, "GET", "/metrics", NULL, &b), 200);
    assert_non_null(strstr(b.data,
                           "aigate_provider_account_healthy{account=\"openai-compatible:"
                           "local\",provider=\"openai-compatible\",state=\"unhealthy\"} 0"));
    const char *ls[] = {"accounts", "list", NULL};
    assert_int_equal(ag_gwenv_cli(&e, ls, &out, &err), 0);
    assert_non_null(strstr(out, "health: unhealthy"));
    free(out);
    free(err);
    /* while unhealthy it is cooling down as a whole: requests go elsewhere */
    assert_int_equal(call(&e, "GET", "/api/accounts", NULL, &b), 200);
    assert_non_null(strstr(b.data, "\"cooldowns\":[{\"group\":\"\""));

    /* the endpoint recovers: the next check brings the account back */
    assert_int_equal(ag_gwenv_mock(&e, "DELETE", "/__mock/faults", NULL, &b), 200);
    assert_true(wait_health(&e, id, "healthy", &b));
    assert_non_null(strstr(b.data, "\"failures\":0"));
    assert_non_null(strstr(b.data, "\"cooldowns\":[]"));
    assert_int_equal(call(&e, "GET", "/metrics", NULL, &b), 200);
    assert_non_null(strstr(b.data, "state=\"healthy\"} 1"));

    /* the checks carried the key, and no log line did */
    assert_int_equal(ag_gwenv_mock(&e, "GET", "/__mock/requests", NULL, &b), 200);
    assert_non_null(strstr(b.data, "Bearer " OC_KEY));
    char *log = ag_child_output(&e.gw);
    assert_non_null(log);
    assert_non_null(strstr(log, "unhealthy"));
    assert_null(strstr(log, OC_KEY));
    free(log);
    ag_buf_dispose(&b);
    ag_gwenv_stop(&e);
}

/* ---- off by default ---- */

static void test_health_off_by_default(void **state)
{
    static struct ag_gwenv e;
    struct ag_gwenv_opts o = {.name = "prov-nohealth", .mock = true, .config_json = config_json()};
    char *out = NULL, *err = NULL, base[160], id[64];
    struct ag_buf b;
    (void)state;
    ag_gwenv_prepare(&e, &o);
    snprintf(base, sizeof(base), "%s/v1", e.mock.base_url);
    const char *oc[] = {"accounts", "add",        "--provider", "openai-compatible", "--api-key",
                        OC_KEY,     "--base-url", base,         "--models",          "m1",
                        "--label",  "quiet",      NULL};
    assert_int_equal(ag_gwenv_cli(&e, oc, &out, &err), 0);
    free(out);
    free(err);
    ag_buf_init(&b, 1u << 20);
    assert_int_equal(ag_gwenv_mock(&e, "DELETE", "/__mock/requests", NULL, &b), 200);
    ag_gwenv_launch(&e);
    ag_gwenv_account_id(&e, "openai-compatible:quiet", id, sizeof(id));
    sleep(3);
    char path[128];
    snprintf(path, sizeof(path), "/api/accounts/%s", id);
    assert_int_equal(call(&e, "GET", path, NULL, &b), 200);
    assert_non_null(strstr(b.data, "\"health\":{\"state\":\"unchecked\""));
    assert_int_equal(ag_gwenv_mock(&e, "GET", "/__mock/requests", NULL, &b), 200);
    assert_null(strstr(b.data, "/v1/models"));
    ag_buf_dispose(&b);
    ag_gwenv_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_model_list, ag_gwenv_teardown),
        cmocka_unit_test_teardown(test_health_checks, ag_gwenv_teardown),
        cmocka_unit_test_teardown(test_health_off_by_default, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
