/* tests/unit/upstream/test_oauth.c: OAuth refresh, code exchange, invalid_grant and userinfo
 * against the mock upstream's /token and /userinfo. */
#include "ag_test.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/time.h"
#include "proc.h"
#include "upstream/oauth.h"

static struct ag_proc mock;

struct outcome {
    bool done;
    int err, status;
    bool invalid_grant;
    char access[128], refresh[128], email[128], error[64];
    int64_t expires_in;
};

static void on_result(struct ag_oauth_op *op, const struct ag_oauth_result *res, void *ud)
{
    struct outcome *o = ud;
    (void)op;
    o->done = true;
    o->err = res->err;
    o->status = res->status;
    o->invalid_grant = res->invalid_grant;
    o->expires_in = res->expires_in;
    snprintf(o->access, sizeof(o->access), "%s", res->access_token);
    snprintf(o->refresh, sizeof(o->refresh), "%s", res->refresh_token);
    snprintf(o->email, sizeof(o->email), "%s", res->email);
    snprintf(o->error, sizeof(o->error), "%s", res->error);
}

static void closed(void *ud)
{
    *(bool *)ud = true;
}

enum call { REFRESH, EXCHANGE, USERINFO };

static struct outcome run(enum call which, const char *arg)
{
    uv_loop_t loop;
    struct ag_upstream_client *c;
    struct outcome o = {0};
    char token_url[96], info_url[96];
    struct ag_oauth_cfg cfg = {.token_url = token_url,
                               .userinfo_url = info_url,
                               .client_id = "client-1.apps.example",
                               .client_secret = "s3cret &=+",
                               .user_agent = "vscode/1.0 (aigate)",
                               .timeout_ms = 5000};
    bool done = false;
    int err = 0;
    struct ag_oauth_op *op = NULL;
    uint64_t deadline = ag_now_ms() + 5000;

    snprintf(token_url, sizeof(token_url), "%s/token", mock.base_url);
    snprintf(info_url, sizeof(info_url), "%s/userinfo", mock.base_url);
    uv_loop_init(&loop);
    c = ag_upstream_client_new(&loop, NULL);
    if (which == REFRESH)
        op = ag_oauth_refresh(c, &cfg, arg, on_result, &o, &err);
    else if (which == EXCHANGE)
        op = ag_oauth_exchange_code(c, &cfg, arg, "http://localhost:1/cb", on_result, &o, &err);
    else
        op = ag_oauth_userinfo(c, &cfg, arg, on_result, &o, &err);
    assert_non_null(op);
    for (int i = 0; i < 100000 && !o.done && ag_now_ms() < deadline; i++)
        uv_run(&loop, UV_RUN_ONCE);
    assert_true(o.done);
    ag_upstream_client_close(c, closed, &done);
    for (int i = 0; i < 1000 && uv_loop_alive(&loop); i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_true(done);
    uv_loop_close(&loop);
    return o;
}

static void test_refresh(void **state)
{
    struct outcome o = run(REFRESH, "rt-mock");
    struct ag_buf b;
    char url[128];
    (void)state;
    assert_int_equal(o.err, 0);
    assert_string_equal(o.access, "at-mock");
    assert_int_equal(o.expires_in, 3599);
    assert_string_equal(o.refresh, "");
    /* The form was encoded as Google expects. */
    ag_buf_init(&b, 0);
    snprintf(url, sizeof(url), "%s/__mock/requests?path=/token", mock.base_url);
    assert_int_equal(ag_test_http("GET", url, NULL, NULL, &b), 200);
    assert_non_null(strstr(b.data, "client_id=client-1.apps.example&refresh_token=rt-mock&"
                                   "grant_type=refresh_token&client_secret=s3cret+%26%3D%2B"));
    assert_non_null(strstr(b.data, "application/x-www-form-urlencoded"));
    assert_non_null(strstr(b.data, "\"user-agent\":\"vscode/1.0 (aigate)\""));
    ag_buf_dispose(&b);
}

static void test_invalid_grant(void **state)
{
    struct outcome o = run(REFRESH, "rt-revoked-or-unknown");
    (void)state;
    assert_int_equal(o.err, AG_EAUTH);
    assert_int_equal(o.status, 400);
    assert_true(o.invalid_grant);
    assert_string_equal(o.error, "invalid_grant");
    o = run(EXCHANGE, "code-wrong");
    assert_true(o.invalid_grant);
}

static void test_exchange_and_userinfo(void **state)
{
    struct outcome o = run(EXCHANGE, "code-mock");
    (void)state;
    assert_int_equal(o.err, 0);
    assert_string_equal(o.refresh, "rt-mock");
    assert_string_equal(o.access, "at-mock");
    o = run(USERINFO, "at-mock");
    assert_int_equal(o.err, 0);
    assert_string_equal(o.email, "mock@example.com");
    o = run(USERINFO, "at-unknown");
    assert_int_equal(o.err, AG_EAUTH);
    assert_int_equal(o.status, 401);
    assert_string_equal(o.error, "UNAUTHENTICATED");
}

static int setup(void **state)
{
    (void)state;
    return ag_proc_start_mock(&mock, NULL);
}

static int teardown(void **state)
{
    (void)state;
    return ag_proc_stop(&mock, 3000) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refresh),
        cmocka_unit_test(test_invalid_grant),
        cmocka_unit_test(test_exchange_and_userinfo),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
