/* Integration tests of the monitor's request detail with the real binaries: a request that moved
 * from a rate-limited account to another shows both attempts with their accounts, statuses and
 * reasons — from memory at once and from the database after a restart — and a captured request
 * sent again through POST /api/logs/:id/replay reaches the upstream a second time under a new
 * request id, without the browser ever holding the API key; the account's quota windows as the
 * upstream reports them (5-hour and weekly) reach GET /api/accounts. */
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

#define KEY "sk-monitor-test-key"

static const char *const tokens[] = {"rt-a", "rt-b", NULL};

static void env_start(struct ag_gwenv *e)
{
    static const char *const env[] = {"AIGATE_API_KEY=" KEY, "AIGATE_AUTH_MODE=all_except_health",
                                      NULL};
    const struct ag_gwenv_opts o = {
        .name = "monitor",
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"},"
                         "{\"email\":\"b@example.com\",\"refresh_token\":\"rt-b\","
                         "\"access_token\":\"at-b\",\"project\":\"proj-b\",\"tier\":\"PRO\"}]",
        .tokens = tokens,
        .config_json = "{\"monitor\":{\"capture_bodies\":true}}",
        .env = env,
    };
    ag_gwenv_start(e, &o);
}

static long admin(struct ag_gwenv *e, const char *method, const char *path, struct ag_buf *out)
{
    char url[256];
    const char *hdrs[] = {"Authorization: Bearer " KEY, "Content-Type: application/json", NULL};
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", e->port, path);
    ag_buf_reset(out);
    return ag_test_http(method, url, method[0] == 'P' ? "{}" : NULL, hdrs, out);
}

/* A chat request (a new conversation each time); its x-aigate-attempts header into attempts. */
static void chat(struct ag_gwenv *e, int turn, char *attempts, size_t cap)
{
    struct rh_resp r;
    char body[256];
    snprintf(body, sizeof(body),
             "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
             "\"content\":\"monitor turn %d\"}]}",
             turn);
    assert_true(rh_request(e->port, "POST", "/v1/chat/completions",
                           "Content-Type: application/json\r\nAuthorization: Bearer " KEY "\r\n",
                           body, &r));
    assert_int_equal(r.status, 200);
    assert_true(rh_header(&r, "x-aigate-attempts", attempts, cap));
    rh_resp_free(&r);
}

/* The id of the newest log row with the given number of attempts (memory first, then disk). */
static int64_t find_row(struct ag_gwenv *e, int attempts)
{
    struct ag_buf out;
    int64_t id = 0;
    ag_buf_init(&out, 0);
    assert_int_equal(admin(e, "GET", "/api/logs/recent?limit=50", &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    yyjson_val *v;
    size_t i, max;
    yyjson_arr_foreach(yyjson_obj_get(yyjson_doc_get_root(d), "items"), i, max, v)
    {
        if (!id && yyjson_get_int(yyjson_obj_get(v, "attempts")) == attempts)
            id = yyjson_get_int(yyjson_obj_get(v, "id"));
    }
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return id;
}

/* Checks the detail of row id: two attempts, a's 429 with its reason, then b's success. */
static void check_two_attempts(struct ag_gwenv *e, int64_t id)
{
    struct ag_buf out;
    char path[64];
    ag_buf_init(&out, 0);
    snprintf(path, sizeof(path), "/api/logs/%lld", (long long)id);
    assert_int_equal(admin(e, "GET", path, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    assert_non_null(d);
    yyjson_val *log = yyjson_obj_get(yyjson_doc_get_root(d), "attempt_log");
    assert_int_equal(yyjson_arr_size(log), 2);
    yyjson_val *a = yyjson_arr_get(log, 0), *b = yyjson_arr_get(log, 1);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(a, "account")), "a@example.com");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(a, "status")), 429);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(a, "outcome")), "rate_limited");
    const char *why = yyjson_get_str(yyjson_obj_get(a, "reason"));
    assert_non_null(why);
    assert_true(strlen(why) > 0);
    assert_true(yyjson_is_int(yyjson_obj_get(a, "upstream_ms")));
    assert_true(yyjson_is_int(yyjson_obj_get(a, "acquire_ms")));
    assert_string_equal(yyjson_get_str(yyjson_obj_get(b, "account")), "b@example.com");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(b, "status")), 200);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(b, "outcome")), "ok");
    assert_true(yyjson_is_int(yyjson_obj_get(b, "first_token_ms")));
    assert_true(yyjson_get_int(yyjson_obj_get(b, "start_ms")) >=
                yyjson_get_int(yyjson_obj_get(a, "start_ms")));
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
}

/* The health strip's sums of account acct over the whole window: ok and failed attempts. */
static void health_of(struct ag_gwenv *e, const char *acct, int64_t *ok, int64_t *bad)
{
    struct ag_buf out;
    ag_buf_init(&out, 0);
    *ok = *bad = 0;
    assert_int_equal(admin(e, "GET", "/api/stats/health?hours=24", &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    yyjson_val *root = yyjson_doc_get_root(d), *v, *n;
    assert_int_equal(yyjson_get_int(yyjson_obj_get(root, "hours")), 24);
    size_t i, max, k, kmax;
    yyjson_arr_foreach(yyjson_obj_get(root, "accounts"), i, max, v)
    {
        if (strcmp(yyjson_get_str(yyjson_obj_get(v, "account")), acct) != 0)
            continue;
        assert_int_equal(yyjson_arr_size(yyjson_obj_get(v, "ok")), 24);
        yyjson_arr_foreach(yyjson_obj_get(v, "ok"), k, kmax, n) *ok += yyjson_get_int(n);
        yyjson_arr_foreach(yyjson_obj_get(v, "errors"), k, kmax, n) *bad += yyjson_get_int(n);
    }
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
}

static void rotation_from_a_429_shows_two_attempts(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    char attempts[16] = "";
    env_start(&e);
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/faults",
                                   "{\"status\":429,\"token\":\"at-a\",\"permanent\":true,"
                                   "\"retry_delay\":\"60s\",\"reason\":\"RATE_LIMIT_EXCEEDED\"}",
                                   &out),
                     200);
    /* a is tried once, cools down, and b serves the rest: one request shows both */
    for (int i = 0; i < 6 && strcmp(attempts, "2") != 0; i++)
        chat(&e, i, attempts, sizeof(attempts));
    assert_string_equal(attempts, "2");
    int64_t id = find_row(&e, 2);
    assert_true(id > 0);
    check_two_attempts(&e, id);

    /* after a restart the row comes from the database alone */
    assert_int_equal(ag_child_stop(&e.gw, SIGTERM, 15000), 0);
    ag_child_cleanup(&e.gw);
    ag_gwenv_launch(&e);
    check_two_attempts(&e, id);

    /* the health strip counts a's failure although b served that request */
    int64_t ok, bad;
    health_of(&e, "a@example.com", &ok, &bad);
    assert_int_equal(bad, 1);
    assert_int_equal(ok, 0);
    health_of(&e, "b@example.com", &ok, &bad);
    assert_true(ok >= 1);
    assert_int_equal(bad, 0);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

/* How many chat calls the mock got. */
static int upstream_calls(struct ag_gwenv *e)
{
    struct ag_buf out;
    ag_buf_init(&out, 0);
    assert_int_equal(
        ag_gwenv_mock(e, "GET", "/__mock/requests?path=:streamGenerateContent", NULL, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    int n = (int)yyjson_arr_size(yyjson_doc_get_root(d));
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return n;
}

static void replay_sends_the_captured_request_again(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    char attempts[16];
    env_start(&e);
    ag_buf_init(&out, 0);
    chat(&e, 100, attempts, sizeof(attempts));
    int64_t id = find_row(&e, 1);
    assert_true(id > 0);
    char path[64];
    snprintf(path, sizeof(path), "/api/logs/%lld/replay", (long long)id);
    /* the row reaches the database through the writer thread: bounded wait for it */
    long st = 0;
    for (int i = 0; i < 50; i++) {
        st = admin(&e, "POST", path, &out);
        if (st != 404)
            break;
        usleep(100000);
    }
    assert_int_equal(st, 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    yyjson_val *root = yyjson_doc_get_root(d);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(root, "status")), 200);
    assert_non_null(strstr(yyjson_get_str(yyjson_obj_get(root, "body")), "chat.completion"));
    assert_non_null(yyjson_get_str(yyjson_obj_get(root, "request_id")));
    yyjson_doc_free(d);
    assert_int_equal(upstream_calls(&e), 2);
    /* the answer never carries the key the gateway sent with the replay */
    assert_null(strstr(out.data, KEY));
    /* the replay is a request of its own in the monitor */
    assert_true(find_row(&e, 1) > id);

    /* nothing to replay: a row that does not exist */
    assert_int_equal(admin(&e, "POST", "/api/logs/999999/replay", &out), 404);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

static void quota_windows_as_the_upstream_reports_them(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    static const char *const env[] = {"AIGATE_API_KEY=" KEY, NULL};
    const struct ag_gwenv_opts o = {
        .name = "monitor",
        .mock_accounts = "[{\"email\":\"q@example.com\",\"refresh_token\":\"rt-q\","
                         "\"access_token\":\"at-q\",\"project\":\"proj-q\",\"tier\":\"PRO\","
                         "\"quotas\":{\"gemini-2.5-flash\":0.4,\"claude-sonnet-4-5\":0.9}}]",
        .tokens = (const char *const[]){"rt-q", NULL},
        .env = env,
    };
    ag_gwenv_start(&e, &o);
    ag_buf_init(&out, 0);
    assert_int_equal(admin(&e, "GET", "/api/accounts", &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    yyjson_val *acct = yyjson_arr_get(yyjson_obj_get(yyjson_doc_get_root(d), "accounts"), 0);
    yyjson_val *groups = yyjson_obj_get(acct, "quota_windows");
    assert_int_equal(yyjson_arr_size(groups), 2);
    yyjson_val *g = yyjson_arr_get(groups, 0);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(g, "group")), "Gemini Models");
    yyjson_val *b5 = yyjson_arr_get(yyjson_obj_get(g, "buckets"), 0);
    yyjson_val *bw = yyjson_arr_get(yyjson_obj_get(g, "buckets"), 1);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(b5, "window")), "5h");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(b5, "id")), "gemini-5h");
    assert_true(yyjson_get_num(yyjson_obj_get(b5, "remaining")) < 0.41);
    assert_true(yyjson_get_num(yyjson_obj_get(b5, "remaining")) > 0.39);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(bw, "window")), "weekly");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(bw, "reset_at")), 1893888000); /* 2030-01-06 */
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(rotation_from_a_429_shows_two_attempts, ag_gwenv_teardown),
        cmocka_unit_test_teardown(replay_sends_the_captured_request_again, ag_gwenv_teardown),
        cmocka_unit_test_teardown(quota_windows_as_the_upstream_reports_them, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
