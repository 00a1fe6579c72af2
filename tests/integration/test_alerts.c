/* tests/integration/test_alerts.c: webhook alerts through the real gateway and mock upstream. A
 * receiver on loopback (tests/support/hookrx) is the webhook: an account that answers 403
 * VALIDATION_REQUIRED sends account.needs_validation, every account out of quota sends
 * pool.all_limited, each signed with the webhook's secret (checked here with OpenSSL); the
 * receiver's first 500 is retried; POST /api/alerts/test and GET /api/alerts show it all; an
 * account whose refresh token was revoked is disabled and sends account.disabled; an upstream
 * answering 500 sends upstream.error_rate; a user key crossing 80 % and 100 % of its daily
 * budget sends key.budget twice. */
#include "ag_test.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yyjson.h>

#include "core/buf.h"
#include "gwenv.h"
#include "hookrx.h"
#include "proc.h"
#include "rawhttp.h"

#define KEY    "sk-alerts-test-key"
#define SECRET "hook-secret-0123456789"

static struct hookrx rx;

static const char *const tokens[] = {"rt-a", "rt-b", NULL};

static int chat(struct ag_gwenv *e, int turn)
{
    char body[256];
    struct rh_resp r;
    snprintf(body, sizeof(body),
             "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
             "\"content\":\"alerts conversation %d\"}]}",
             turn);
    assert_true(rh_request(e->port, "POST", "/v1/chat/completions",
                           "Content-Type: application/json\r\nAuthorization: Bearer " KEY "\r\n",
                           body, &r));
    int st = r.status;
    rh_resp_free(&r);
    return st;
}

/* The request with this event, checked: JSON payload and signature; its index or -1. */
static int find_event(const char *event, const char *subject)
{
    struct hookrx_msg m;
    for (int i = 0; hookrx_get(&rx, i, &m); i++) {
        yyjson_doc *d = yyjson_read(m.body, m.body_len, 0);
        if (!d)
            fail_msg("webhook body is not JSON: %s", m.body);
        yyjson_val *o = yyjson_doc_get_root(d);
        const char *ev = yyjson_get_str(yyjson_obj_get(o, "event"));
        const char *subj = yyjson_get_str(yyjson_obj_get(o, "subject"));
        bool hit = ev && strcmp(ev, event) == 0 && (!subject || (subj && !strcmp(subj, subject)));
        if (hit) {
            assert_non_null(yyjson_get_str(yyjson_obj_get(o, "message")));
            assert_non_null(yyjson_get_str(yyjson_obj_get(o, "time")));
            assert_string_equal(yyjson_get_str(yyjson_obj_get(o, "instance")), "edge-test");
            char sig[128], want[128] = "sha256=";
            unsigned char mac[32];
            unsigned int n = 0;
            assert_true(hookrx_header(&m, "x-aigate-signature", sig, sizeof(sig)));
            HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)m.body,
                 m.body_len, mac, &n);
            for (unsigned k = 0; k < n; k++)
                snprintf(want + 7 + 2 * k, 3, "%02x", mac[k]);
            assert_string_equal(sig, want);
        }
        yyjson_doc_free(d);
        if (hit)
            return i;
    }
    return -1;
}

static void pool_events_reach_the_webhook(void **state)
{
    struct ag_gwenv e;
    char cfg[1024];
    assert_true(hookrx_start(&rx));
    rx.fail_first = 1; /* the first delivery gets a 500 and is retried */
    snprintf(cfg, sizeof(cfg),
             "{\"auth\":{\"mode\":\"all_except_health\",\"api_key\":\"" KEY "\"},"
             "\"alerts\":{\"instance\":\"edge-test\",\"repeat_s\":0,\"webhooks\":[{\"url\":"
             "\"http://127.0.0.1:%d/hook\",\"events\":[\"*\"],\"secret\":\"" SECRET "\"}]}}",
             rx.port);
    const struct ag_gwenv_opts o = {
        .name = "alerts",
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"},"
                         "{\"email\":\"b@example.com\",\"refresh_token\":\"rt-b\","
                         "\"access_token\":\"at-b\",\"project\":\"proj-b\",\"tier\":\"PRO\"}]",
        .tokens = tokens,
        .config_json = cfg,
    };
    ag_gwenv_start(&e, &o);
    struct ag_buf out;
    ag_buf_init(&out, 0);
    /* a needs validation; b is out of quota for hours */
    assert_int_equal(
        ag_gwenv_mock(&e, "POST", "/__mock/faults",
                      "[{\"status\":403,\"token\":\"at-a\",\"permanent\":true,"
                      "\"validation_url\":\"https://example.com/verify\"},"
                      "{\"status\":429,\"token\":\"at-b\",\"permanent\":true,"
                      "\"reason\":\"QUOTA_EXHAUSTED\",\"quota_reset_delay\":\"3h0m0s\"}]",
                      &out),
        200);
    for (int i = 0; i < 3; i++)
        assert_true(chat(&e, i) >= 400);
    /* validation (retried once after the 500) and all-limited arrive */
    int found_v = -1, found_l = -1;
    for (int tries = 0; tries < 100 && (found_v < 0 || found_l < 0); tries++) {
        hookrx_wait(&rx, HOOKRX_MAX, 100);
        found_v = find_event("account.needs_validation", "a@example.com");
        found_l = find_event("pool.all_limited", NULL);
    }
    assert_true(found_v >= 0);
    assert_true(found_l >= 0);
    struct hookrx_msg m;
    assert_true(hookrx_get(&rx, found_v, &m));
    assert_non_null(strstr(m.body, "https://example.com/verify"));
    assert_non_null(strstr(m.head, "POST /hook HTTP/1.1"));
    char ev[64];
    assert_true(hookrx_header(&m, "x-aigate-event", ev, sizeof(ev)));
    assert_string_equal(ev, "account.needs_validation");

    /* the test route, then the deliveries as the admin API shows them */
    char url[128];
    const char *hdrs[] = {"Authorization: Bearer " KEY, NULL};
    int before = hookrx_wait(&rx, 0, 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/alerts/test", e.port);
    assert_int_equal(ag_test_http("POST", url, "{}", hdrs, &out), 202);
    assert_true(hookrx_wait(&rx, before + 1, 10000) > before);
    assert_true(find_event("alert.test", "") >= 0);
    /* without the admin key the route is refused */
    assert_int_equal(ag_test_http("POST", url, "{}", NULL, &out), 401);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/alerts", e.port);
    yyjson_doc *d = NULL;
    yyjson_val *dl = NULL;
    for (int tries = 0; tries < 50; tries++) {
        ag_buf_reset(&out);
        assert_int_equal(ag_test_http("GET", url, NULL, hdrs, &out), 200);
        yyjson_doc_free(d);
        d = yyjson_read(out.data, out.len, 0);
        assert_non_null(d);
        dl = yyjson_obj_get(yyjson_doc_get_root(d), "deliveries");
        yyjson_val *pending =
            yyjson_obj_get(yyjson_obj_get(yyjson_doc_get_root(d), "stats"), "pending");
        if (yyjson_arr_size(dl) >= 3 && yyjson_get_int(pending) == 0)
            break;
        usleep(100000);
    }
    assert_true(yyjson_arr_size(dl) >= 3);
    assert_null(strstr(out.data, SECRET)); /* the secret never leaves */
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%d", rx.port);
    bool retried = false;
    size_t i, max;
    yyjson_val *it;
    yyjson_arr_foreach(dl, i, max, it)
    {
        assert_string_equal(yyjson_get_str(yyjson_obj_get(it, "host")), host);
        assert_true(yyjson_get_bool(yyjson_obj_get(it, "delivered")));
        assert_int_equal(yyjson_get_int(yyjson_obj_get(it, "status")), 200);
        if (yyjson_get_int(yyjson_obj_get(it, "attempts")) == 2)
            retried = true;
    }
    assert_true(retried);
    yyjson_val *st = yyjson_obj_get(yyjson_doc_get_root(d), "stats");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(st, "retries")), 1);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(st, "dropped")), 0);
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
    hookrx_stop(&rx);
}

/* An account whose refresh token the upstream revoked: the pool disables it on the refresh a 401
 * forces, and account.disabled reaches the webhook (the other account keeps serving). */
static void disabled_account_reaches_the_webhook(void **state)
{
    struct ag_gwenv e;
    char cfg[1024];
    assert_true(hookrx_start(&rx));
    snprintf(cfg, sizeof(cfg),
             "{\"auth\":{\"mode\":\"all_except_health\",\"api_key\":\"" KEY "\"},"
             "\"alerts\":{\"instance\":\"edge-test\",\"webhooks\":[{\"url\":"
             "\"http://127.0.0.1:%d/hook\",\"events\":[\"account.disabled\"],\"secret\":\"" SECRET
             "\"}]}}",
             rx.port);
    const struct ag_gwenv_opts o = {
        .name = "alerts-dis",
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"},"
                         "{\"email\":\"b@example.com\",\"refresh_token\":\"rt-b\","
                         "\"access_token\":\"at-b\",\"project\":\"proj-b\",\"tier\":\"PRO\"}]",
        .tokens = tokens,
        .config_json = cfg,
    };
    ag_gwenv_start(&e, &o);
    struct ag_buf out;
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/accounts",
                                   "{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                                   "\"access_token\":\"at-a\",\"project\":\"proj-a\","
                                   "\"tier\":\"PRO\",\"revoked\":true}",
                                   &out),
                     200);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/faults",
                                   "{\"status\":401,\"token\":\"at-a\",\"permanent\":true}", &out),
                     200);
    int found = -1;
    for (int i = 0; i < 10 && found < 0; i++) {
        chat(&e, 100 + i);
        hookrx_wait(&rx, 1, 200);
        found = find_event("account.disabled", "a@example.com");
    }
    for (int tries = 0; tries < 50 && found < 0; tries++) {
        hookrx_wait(&rx, 1, 100);
        found = find_event("account.disabled", "a@example.com");
    }
    assert_true(found >= 0);
    struct hookrx_msg m;
    assert_true(hookrx_get(&rx, found, &m));
    assert_non_null(strstr(m.body, "invalid_grant"));
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
    hookrx_stop(&rx);
}

/* Every upstream answer a 500: the requests that reached it fail, and upstream.error_rate is sent
 * once the window holds alerts.error_rate_min_requests of them. */
static void error_rate_reaches_the_webhook(void **state)
{
    struct ag_gwenv e;
    char cfg[1024];
    assert_true(hookrx_start(&rx));
    snprintf(cfg, sizeof(cfg),
             "{\"auth\":{\"mode\":\"all_except_health\",\"api_key\":\"" KEY "\"},"
             "\"scheduling\":{\"circuit_breaker\":false},"
             "\"alerts\":{\"instance\":\"edge-test\",\"error_rate_threshold\":50,"
             "\"error_rate_min_requests\":3,\"webhooks\":[{\"url\":"
             "\"http://127.0.0.1:%d/hook\",\"events\":[\"upstream.error_rate\"],"
             "\"secret\":\"" SECRET "\"}]}}",
             rx.port);
    const struct ag_gwenv_opts o = {
        .name = "alerts-rate",
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"},"
                         "{\"email\":\"b@example.com\",\"refresh_token\":\"rt-b\","
                         "\"access_token\":\"at-b\",\"project\":\"proj-b\",\"tier\":\"PRO\"}]",
        .tokens = tokens,
        .config_json = cfg,
    };
    ag_gwenv_start(&e, &o);
    struct ag_buf out;
    ag_buf_init(&out, 0);
    /* two answers go through, then every call fails */
    assert_int_equal(chat(&e, 200), 200);
    assert_int_equal(chat(&e, 201), 200);
    assert_int_equal(
        ag_gwenv_mock(&e, "POST", "/__mock/faults", "{\"status\":500,\"permanent\":true}", &out),
        200);
    assert_true(chat(&e, 202) >= 500);
    assert_true(chat(&e, 203) >= 500);
    /* 2 failed of 4: 50 %, the threshold */
    int found = -1;
    for (int tries = 0; tries < 50 && found < 0; tries++) {
        hookrx_wait(&rx, 1, 100);
        found = find_event("upstream.error_rate", "upstream");
    }
    assert_true(found >= 0);
    struct hookrx_msg m;
    assert_true(hookrx_get(&rx, found, &m));
    assert_non_null(strstr(m.body, "2 of the last 4 upstream requests (50%)"));
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
    hookrx_stop(&rx);
}

/* A user key with a small daily budget: crossing 80 % and then 100 % sends key.budget twice. */
static void key_budget_reaches_the_webhook(void **state)
{
    struct ag_gwenv e;
    char cfg[1024];
    assert_true(hookrx_start(&rx));
    snprintf(cfg, sizeof(cfg),
             "{\"auth\":{\"mode\":\"strict\",\"api_key\":\"" KEY "\"},"
             "\"alerts\":{\"instance\":\"edge-test\",\"webhooks\":[{\"url\":"
             "\"http://127.0.0.1:%d/hook\",\"events\":[\"key.budget\"],\"secret\":\"" SECRET
             "\"}]}}",
             rx.port);
    static const char *const one[] = {"rt-a", NULL};
    const struct ag_gwenv_opts o = {
        .name = "alerts-keys",
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"}]",
        .tokens = one,
        .config_json = cfg,
    };
    ag_gwenv_prepare(&e, &o);
    const char *args[] = {"keys", "create", "ci-bot", "--daily-tokens", "400", NULL};
    char *cout = NULL, *cerr = NULL;
    assert_int_equal(ag_gwenv_cli(&e, args, &cout, &cerr), 0);
    const char *p = strstr(cout, "sk-");
    assert_non_null(p);
    char secret[40], hdr[128];
    snprintf(secret, sizeof(secret), "%.35s", p);
    free(cout);
    free(cerr);
    ag_gwenv_launch(&e);
    snprintf(hdr, sizeof(hdr), "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n",
             secret);
    int i100 = -1;
    for (int i = 0; i < 30 && i100 < 0; i++) {
        struct rh_resp r;
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"model\":\"gemini-2.5-flash\",\"max_tokens\":8,\"messages\":[{\"role\":"
                 "\"user\",\"content\":\"budget turn %d\"}]}",
                 i);
        assert_true(rh_request(e.port, "POST", "/v1/chat/completions", hdr, body, &r));
        rh_resp_free(&r);
        hookrx_wait(&rx, HOOKRX_MAX, 50);
        struct hookrx_msg m;
        for (int k = 0; hookrx_get(&rx, k, &m); k++)
            if (strstr(m.body, "100% of its daily token budget"))
                i100 = k;
    }
    assert_true(i100 >= 0);
    int i80 = find_event("key.budget", "ci-bot"); /* checks the payload and the signature */
    assert_true(i80 >= 0 && i80 < i100);
    struct hookrx_msg m;
    assert_true(hookrx_get(&rx, i80, &m));
    assert_non_null(strstr(m.body, "user key ci-bot has used 80% of its daily token budget"));
    ag_gwenv_stop(&e);
    hookrx_stop(&rx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(pool_events_reach_the_webhook, ag_gwenv_teardown),
        cmocka_unit_test_teardown(disabled_account_reaches_the_webhook, ag_gwenv_teardown),
        cmocka_unit_test_teardown(error_rate_reaches_the_webhook, ag_gwenv_teardown),
        cmocka_unit_test_teardown(key_budget_reaches_the_webhook, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
