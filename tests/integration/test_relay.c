/* Integration tests of the relay with the real binaries: aigate in front of the mock upstream with
 * three accounts, faults scripted per account token. Rotation around a rate-limited account, a
 * cooldown that ends, 401 → refresh, 403 → forbidden, every account limited → 429 + Retry-After,
 * a failure mid-stream → an error event (never a silent retry), a client that leaves cancels the
 * upstream transfer, and a graceful stop lets a stream finish. */
#include "ag_test.h"

#include "child.h"
#include "gwenv.h"
#include "loopwait.h"
#include "core/buf.h"
#include "proc.h"
#include "rawhttp.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yyjson.h>

#define RELAY_KEY "sk-relay-test-key"

static const char *const relay_tokens[] = {"rt-a", "rt-b", "rt-c", NULL};

/* Three accounts (a, b, c) on the mock; strict-ish auth with a key (only then do answers name the
 * account that served them); extra gateway arguments gw_args. */
static void env_start(struct ag_gwenv *e, const char *const *gw_args)
{
    static const char *const env[] = {"AIGATE_API_KEY=" RELAY_KEY,
                                      "AIGATE_AUTH_MODE=all_except_health", NULL};
    const struct ag_gwenv_opts o = {
        .name = "relay",
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"},"
                         "{\"email\":\"b@example.com\",\"refresh_token\":\"rt-b\","
                         "\"access_token\":\"at-b\",\"project\":\"proj-b\",\"tier\":\"PRO\"},"
                         "{\"email\":\"c@example.com\",\"refresh_token\":\"rt-c\","
                         "\"access_token\":\"at-c\",\"project\":\"proj-c\",\"tier\":\"PRO\"}]",
        .tokens = relay_tokens,
        .env = env,
        .gw_args = gw_args,
    };
    ag_gwenv_start(e, &o);
}

static int chat(struct ag_gwenv *e, bool stream, struct rh_resp *r)
{
    /* A new conversation each time: the same first message would be one sticky session, kept on
     * one account by the scheduler. */
    static int turn;
    char body[512];
    snprintf(body, sizeof(body),
             "{\"model\":\"gemini-2.5-flash\",\"stream\":%s,\"messages\":[{\"role\":\"user\","
             "\"content\":\"hello relay, conversation %d\"}]}",
             stream ? "true" : "false", ++turn);
    assert_true(rh_request(
        e->port, "POST", "/v1/chat/completions",
        "Content-Type: application/json\r\nAuthorization: Bearer " RELAY_KEY "\r\n", body, r));
    return r->status;
}

/* How many requests the mock got for path with the given bearer token. */
static int count_calls(struct ag_gwenv *e, const char *path, const char *token)
{
    struct ag_buf out;
    char q[160], want[96];
    int n = 0;
    ag_buf_init(&out, 0);
    snprintf(q, sizeof(q), "/__mock/requests?path=%s", path);
    snprintf(want, sizeof(want), "Bearer %s", token);
    assert_int_equal(ag_gwenv_mock(e, "GET", q, NULL, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    yyjson_val *v;
    size_t i, max;
    yyjson_arr_foreach(yyjson_doc_get_root(d), i, max, v)
    {
        const char *auth =
            yyjson_get_str(yyjson_obj_get(yyjson_obj_get(v, "headers"), "authorization"));
        if (auth && strcmp(auth, want) == 0)
            n++;
    }
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return n;
}

static void rotation_avoids_a_rate_limited_account(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    char acct[128], attempts[16];
    env_start(&e, NULL);
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/faults",
                                   "{\"status\":429,\"token\":\"at-b\",\"permanent\":true,"
                                   "\"retry_delay\":\"30s\",\"reason\":\"RATE_LIMIT_EXCEEDED\"}",
                                   &out),
                     200);
    int retried = 0;
    for (int i = 0; i < 15; i++) {
        struct rh_resp r;
        assert_int_equal(chat(&e, i % 2, &r), 200);
        assert_true(rh_header(&r, "x-aigate-account", acct, sizeof(acct)));
        assert_string_not_equal(acct, "b@example.com");
        assert_true(rh_header(&r, "x-aigate-attempts", attempts, sizeof(attempts)));
        if (strcmp(attempts, "1") != 0)
            retried++;
        rh_resp_free(&r);
    }
    /* b was tried once, put in cooldown, and never again. */
    assert_int_equal(retried, 1);
    assert_int_equal(count_calls(&e, ":streamGenerateContent", "at-b"), 1);
    assert_true(count_calls(&e, ":streamGenerateContent", "at-a") >= 5);
    assert_true(count_calls(&e, ":streamGenerateContent", "at-c") >= 5);

    /* `accounts list` shows the running gateway's live cooldown of b, with its end. */
    const char *argv[] = {ag_gwenv_bin(), "--port", e.port_arg, "accounts", "list", NULL};
    char *o = NULL, *err = NULL;
    assert_int_equal(ag_child_run(argv, e.envp, NULL, 10000, &o, &err), 0);
    char *b_at = strstr(o, "b@example.com");
    assert_non_null(b_at);
    char *cool = strstr(b_at, "cooling down:");
    char *next = strstr(b_at, "c@example.com");
    assert_non_null(cool);
    assert_true(!next || cool < next);
    assert_non_null(strstr(o, "live cooldowns of the gateway running on port"));
    free(o);
    free(err);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

static void cooldown_ends_and_the_account_returns(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    env_start(&e, NULL);
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/faults",
                                   "{\"status\":429,\"token\":\"at-a\",\"count\":1,"
                                   "\"retry_delay\":\"1s\"}",
                                   &out),
                     200);
    for (int i = 0; i < 3; i++) {
        struct rh_resp r;
        assert_int_equal(chat(&e, false, &r), 200);
        rh_resp_free(&r);
    }
    int before = count_calls(&e, ":streamGenerateContent", "at-a");
    assert_int_equal(before, 1); /* the 429 */
    bool back = false;
    for (int i = 0; i < 40 && !back; i++) {
        struct rh_resp r;
        usleep(100000);
        assert_int_equal(chat(&e, false, &r), 200);
        rh_resp_free(&r);
        back = count_calls(&e, ":streamGenerateContent", "at-a") > before;
    }
    assert_true(back);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

static void unauthorized_refreshes_and_forbidden_is_marked(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    env_start(&e, NULL);
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/faults",
                                   "[{\"status\":401,\"token\":\"at-a\",\"count\":1},"
                                   "{\"status\":403,\"token\":\"at-c\",\"permanent\":true}]",
                                   &out),
                     200);
    ag_gwenv_mock(&e, "DELETE", "/__mock/requests", NULL, &out);
    for (int i = 0; i < 9; i++) {
        struct rh_resp r;
        assert_int_equal(chat(&e, false, &r), 200);
        rh_resp_free(&r);
    }
    /* a: the 401 made the pool refresh its token, then it served again. */
    ag_gwenv_mock(&e, "GET", "/__mock/requests?path=/token", NULL, &out);
    assert_non_null(strstr(out.data, "rt-a"));
    assert_true(count_calls(&e, ":streamGenerateContent", "at-a") >= 2);
    /* c: forbidden after its 403 (one attempt, which the transport may repeat once without
     * x-goog-user-project), never tried again, and shown so. */
    int c_calls = count_calls(&e, ":streamGenerateContent", "at-c");
    assert_true(c_calls >= 1 && c_calls <= 2);
    for (int i = 0; i < 6; i++) {
        struct rh_resp r;
        assert_int_equal(chat(&e, false, &r), 200);
        rh_resp_free(&r);
    }
    assert_int_equal(count_calls(&e, ":streamGenerateContent", "at-c"), c_calls);
    const char *argv[] = {ag_gwenv_bin(), "accounts", "list", "--json", NULL};
    char *o = NULL, *err = NULL;
    assert_int_equal(ag_child_run(argv, e.envp, NULL, 10000, &o, &err), 0);
    yyjson_doc *d = yyjson_read(o, strlen(o), 0);
    yyjson_val *v;
    size_t i, max;
    bool seen = false;
    yyjson_val *root = yyjson_doc_get_root(d);
    if (yyjson_is_obj(root))
        root = yyjson_obj_get(root, "accounts");
    yyjson_arr_foreach(root, i, max, v)
    {
        const char *email = yyjson_get_str(yyjson_obj_get(v, "email"));
        if (email && strcmp(email, "c@example.com") == 0) {
            seen = true;
            assert_string_equal(yyjson_get_str(yyjson_obj_get(v, "state")), "forbidden");
        }
    }
    assert_true(seen);
    yyjson_doc_free(d);
    free(o);
    free(err);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

static void all_accounts_limited_is_429_with_retry_after(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    struct rh_resp r;
    char ra[32];
    env_start(&e, NULL);
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/faults",
                                   "{\"status\":429,\"permanent\":true,\"retry_delay\":\"40s\","
                                   "\"reason\":\"RATE_LIMIT_EXCEEDED\"}",
                                   &out),
                     200);
    assert_int_equal(chat(&e, false, &r), 429);
    assert_non_null(strstr(r.body, "\"error\""));
    rh_resp_free(&r);
    /* Now every account cools down: answered at once, with when to come back. */
    assert_int_equal(chat(&e, false, &r), 429);
    assert_true(rh_header(&r, "retry-after", ra, sizeof(ra)));
    assert_true(atoi(ra) >= 1 && atoi(ra) <= 45);
    rh_resp_free(&r);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

static void failure_mid_stream_is_an_error_event(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    struct rh_resp r;
    env_start(&e, NULL);
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/config", "{\"sse_events\":8}", &out), 200);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/faults",
                                   "{\"disconnect_after_events\":3,\"count\":1}", &out),
                     200);
    ag_gwenv_mock(&e, "DELETE", "/__mock/requests", NULL, &out);
    assert_int_equal(chat(&e, true, &r), 200);
    assert_non_null(strstr(r.body, "data: {\"id\"")); /* content began */
    assert_non_null(strstr(r.body, "\"error\""));     /* then the error, in-stream */
    assert_non_null(strstr(r.body, "data: [DONE]"));  /* and a well-formed end */
    rh_resp_free(&r);
    /* Not retried after the first byte. */
    ag_gwenv_mock(&e, "GET", "/__mock/requests?path=:streamGenerateContent", NULL, &out);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    assert_int_equal(yyjson_arr_size(yyjson_doc_get_root(d)), 1);
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

static int mock_stat(struct ag_gwenv *e, const char *name)
{
    struct ag_buf out;
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(e, "GET", "/__mock/stats", NULL, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    int v = (int)yyjson_get_int(yyjson_obj_get(yyjson_doc_get_root(d), name));
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return v;
}

struct stat_wait {
    struct ag_gwenv *e;
    const char *name;
    int above;
};

static bool stat_above(void *ud)
{
    const struct stat_wait *w = ud;
    return mock_stat(w->e, w->name) > w->above;
}

/* Polls the mock's statistic name until it is over above (at most timeout_ms); whether it got
 * there. */
static bool wait_stat_above(struct ag_gwenv *e, const char *name, int above, int timeout_ms)
{
    struct stat_wait w = {e, name, above};
    return ag_test_wait_for(stat_above, &w, timeout_ms);
}

static void client_leaving_cancels_upstream_and_stop_is_graceful(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    struct rh_conn c;
    struct rh_resp r;
    env_start(&e, NULL);
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/config",
                                   "{\"sse_events\":20,\"sse_delay_ms\":100}", &out),
                     200);
    static const char body[] = "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"messages\":"
                               "[{\"role\":\"user\",\"content\":\"leave\"}]}";
    char req[512];
    snprintf(req, sizeof(req),
             "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Authorization: Bearer " RELAY_KEY "\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    int started = mock_stat(&e, "streams_started");
    assert_true(rh_connect(&c, e.port, 5000));
    assert_true(rh_send_str(&c, req));
    /* the client leaves once the upstream stream runs (a fixed pause could end before the
     * gateway, slow under ASan, had even sent it: then there is nothing to cancel) */
    assert_true(wait_stat_above(&e, "streams_started", started, 10000));
    int aborted_before = mock_stat(&e, "streams_aborted");
    rh_close(&c);
    /* the stream would end by itself after 2 s: aborted only if the gateway cut it */
    assert_true(wait_stat_above(&e, "streams_aborted", aborted_before, 10000));

    /* A stream in flight when SIGTERM arrives still completes. */
    started = mock_stat(&e, "streams_started");
    assert_true(rh_connect(&c, e.port, 10000));
    assert_true(rh_send_str(&c, req));
    /* in flight: the upstream stream has begun (not merely a request sent to the gateway) */
    assert_true(wait_stat_above(&e, "streams_started", started, 10000));
    kill(e.gw.pid, SIGTERM);
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "data: [DONE]"));
    rh_resp_free(&r);
    rh_close(&c);
    /* ... and then the gateway exits 0 by itself (signal 0 only waits). */
    assert_int_equal(ag_child_stop(&e.gw, 0, 10000), 0);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

static void long_silences_get_keepalive_pings(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    struct rh_resp r;
    const char *args[] = {"--set", "server.stream_keepalive_s=1", NULL};
    env_start(&e, args);
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/config",
                                   "{\"sse_events\":3,\"sse_delay_ms\":1600}", &out),
                     200);
    assert_int_equal(chat(&e, true, &r), 200);
    assert_non_null(strstr(r.body, ": ping"));
    assert_non_null(strstr(r.body, "data: [DONE]"));
    rh_resp_free(&r);
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(rotation_avoids_a_rate_limited_account, ag_gwenv_teardown),
        cmocka_unit_test_teardown(cooldown_ends_and_the_account_returns, ag_gwenv_teardown),
        cmocka_unit_test_teardown(unauthorized_refreshes_and_forbidden_is_marked,
                                  ag_gwenv_teardown),
        cmocka_unit_test_teardown(all_accounts_limited_is_429_with_retry_after, ag_gwenv_teardown),
        cmocka_unit_test_teardown(failure_mid_stream_is_an_error_event, ag_gwenv_teardown),
        cmocka_unit_test_teardown(client_leaving_cancels_upstream_and_stop_is_graceful,
                                  ag_gwenv_teardown),
        cmocka_unit_test_teardown(long_silences_get_keepalive_pings, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests_name("relay", tests, NULL, NULL);
}
