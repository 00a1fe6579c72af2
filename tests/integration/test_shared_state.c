/* Integration tests of the state shared on Redis (src/state, src/pool/shared.c): a real
 * redis-server from Debian's package (temp directory, loopback port chosen at run time, stopped
 * by its PID) and two real gateways ($AIGATE_BIN), each with its own data directory, against one
 * mock upstream ($AIGATE_MOCK_BIN) that records which account's token each request carried.
 *   - a 429 seen by one instance cools the account on the other: no request of the other reaches
 *     it during the cooldown;
 *   - a conversation keeps its account when its turns land on different instances;
 *   - an account added through one instance's admin API serves requests on the other;
 *   - with one request per account at a time, a stream on one instance keeps the other off its
 *     account, and the lease of an instance killed mid-stream is forgotten by the other;
 *   - Redis stopped and started again while requests run: no crash, requests go on, one warning
 *     per outage, and a cooldown set during the outage reaches the other instance afterwards;
 *   - a Redis that stops answering (SIGSTOP) is noticed, and both instances come back to it.
 * Exits 77 (skipped) when redis-server is not installed. Every wait is bounded; loopback only. */
#include "ag_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yyjson.h>

#include "child.h"
#include "core/buf.h"
#include "gwenv.h"
#include "proc.h"
#include "rawhttp.h"

#define KEY "sk-shared-state-test-key"
#define NGW 2

static char redis_bin[256];

static struct {
    struct ag_child redis;
    int redis_port;
    char redis_dir[64];
    struct ag_proc mock;
    struct ag_gwenv gw[NGW];
    bool killed[NGW]; /* stopped with SIGKILL on purpose: no exit code to check */
    int ngw;
} t;

static bool find_redis(void)
{
    const char *path = getenv("PATH");
    char dirs[2048];
    snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/usr/sbin:/usr/local/bin", path ? path : "");
    for (const char *d = dirs; *d;) {
        size_t len = strcspn(d, ":");
        snprintf(redis_bin, sizeof(redis_bin), "%.*s/redis-server", (int)len, d);
        if (len && access(redis_bin, X_OK) == 0)
            return true;
        d += len + (d[len] == ':');
    }
    return false;
}

static void redis_start(void)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", t.redis_port);
    const char *argv[] = {redis_bin, "--port",      port,     "--bind", "127.0.0.1",
                          "--dir",   t.redis_dir,   "--save", "",       "--appendonly",
                          "no",      "--daemonize", "no",     NULL};
    assert_true(ag_child_start(&t.redis, argv, NULL, "Ready to accept connections", 15000));
}

static void redis_stop(void)
{
    if (t.redis.pid > 0)
        kill(t.redis.pid, SIGCONT); /* a stopped server must run to exit */
    if (t.redis.pid > 0)
        ag_child_stop(&t.redis, SIGTERM, 5000);
    ag_child_cleanup(&t.redis);
    t.redis.pid = 0;
}

static long mock_call(const char *method, const char *path, const char *body)
{
    char url[256];
    struct ag_buf out;
    ag_buf_init(&out, 0);
    snprintf(url, sizeof(url), "%s%s", t.mock.base_url, path);
    long st = ag_test_http(method, url, body, NULL, &out);
    ag_buf_dispose(&out);
    return st;
}

/* Redis, the mock with accounts a and b, and NGW gateways sharing state, each with the accounts
 * named by tokens (NULL-terminated refresh tokens). */
static void start_all_cfg(const char *name, const char *const *tokens, const char *extra)
{
    char cfg[512], env_ep[256], env_tok[256], env_ui[256];
    memset(&t, 0, sizeof(t));
    snprintf(t.redis_dir, sizeof(t.redis_dir), "/tmp/ag-redis-XXXXXX");
    assert_non_null(mkdtemp(t.redis_dir));
    t.redis_port = ag_child_free_port();
    redis_start();
    assert_int_equal(ag_proc_start_mock(&t.mock, NULL), 0);
    assert_true(mock_call("PUT", "/__mock/accounts",
                          "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                          "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"},"
                          "{\"email\":\"b@example.com\",\"refresh_token\":\"rt-b\","
                          "\"access_token\":\"at-b\",\"project\":\"proj-b\",\"tier\":\"PRO\"}]") ==
                200);
    snprintf(cfg, sizeof(cfg),
             "{\"auth\":{\"mode\":\"off\",\"api_key\":\"" KEY "\"},"
             "\"state\":{\"redis_url\":\"redis://127.0.0.1:%d/0\"}%s}",
             t.redis_port, extra);
    snprintf(env_ep, sizeof(env_ep), "AIGATE_CLOUDCODE_ENDPOINTS=%s/v1internal", t.mock.base_url);
    snprintf(env_tok, sizeof(env_tok), "AIGATE_OAUTH_TOKEN_URL=%s/token", t.mock.base_url);
    snprintf(env_ui, sizeof(env_ui), "AIGATE_USERINFO_URL=%s/userinfo", t.mock.base_url);
    const char *env[] = {env_ep,
                         env_tok,
                         env_ui,
                         "AIGATE_OAUTH_CLIENT_ID=shared-test",
                         "AIGATE_OAUTH_CLIENT_SECRET=shared-secret",
                         NULL};
    for (int i = 0; i < NGW; i++) {
        const struct ag_gwenv_opts o = {
            .name = name, .tokens = tokens, .config_json = cfg, .env = env};
        ag_gwenv_prepare(&t.gw[i], &o);
        t.ngw = i + 1;
        ag_gwenv_launch(&t.gw[i]);
    }
    for (int i = 0; i < NGW; i++)
        assert_true(ag_child_wait_output(&t.gw[i].gw, "sharing state through Redis", 15000));
    assert_int_equal(mock_call("DELETE", "/__mock/requests", NULL), 200);
}

static void start_all(const char *name, const char *const *tokens)
{
    start_all_cfg(name, tokens, "");
}

static int rm_rf(const char *dir)
{
    char cmd[160];
    if (!dir[0])
        return 0;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

/* A clean stop: every gateway must exit 0 (no crash), then the mock and Redis. */
static void stop_all(void)
{
    int codes[NGW] = {0};
    for (int i = 0; i < t.ngw; i++) {
        codes[i] = t.killed[i] ? 0 : ag_child_stop(&t.gw[i].gw, SIGTERM, 15000);
        if (codes[i] != 0) {
            char *log = ag_child_output(&t.gw[i].gw);
            fprintf(stderr, "aigate %d log:\n%s\n", i, log ? log : "");
            free(log);
        }
        ag_child_cleanup(&t.gw[i].gw);
        rm_rf(t.gw[i].base);
    }
    t.ngw = 0;
    ag_proc_stop(&t.mock, 5000);
    redis_stop();
    rm_rf(t.redis_dir);
    for (int i = 0; i < NGW; i++)
        assert_int_equal(codes[i], 0);
}

/* After a failed assertion: whatever runs is killed by its PID. */
static int teardown(void **state)
{
    for (int i = 0; i < t.ngw; i++) {
        if (t.gw[i].gw.pid > 0)
            ag_child_stop(&t.gw[i].gw, SIGKILL, 5000);
        ag_child_cleanup(&t.gw[i].gw);
        rm_rf(t.gw[i].base);
    }
    t.ngw = 0;
    if (t.mock.pid > 0)
        ag_proc_stop(&t.mock, 5000);
    redis_stop();
    rm_rf(t.redis_dir);
    return 0;
}

/* One chat request to gateway i; session (may be NULL) names the conversation. The status. */
static int chat(int i, const char *session, int n)
{
    char body[256], hdr[256];
    struct rh_resp r = {0};
    snprintf(body, sizeof(body),
             "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":"
             "\"shared state, turn %d\"}]}",
             n);
    snprintf(hdr, sizeof(hdr),
             "Content-Type: application/json\r\nAuthorization: Bearer " KEY "\r\n%s%s%s",
             session ? "x-claude-code-session-id: " : "", session ? session : "",
             session ? "\r\n" : "");
    assert_true(rh_request(t.gw[i].port, "POST", "/v1/chat/completions", hdr, body, &r));
    int st = r.status;
    rh_resp_free(&r);
    return st;
}

/* Generation requests the mock got with token (a substring of the Authorization value). */
static int count_calls(const char *token)
{
    char url[256], want[64];
    struct ag_buf out;
    int n = 0;
    ag_buf_init(&out, 0);
    snprintf(url, sizeof(url), "%s/__mock/requests?path=GenerateContent", t.mock.base_url);
    snprintf(want, sizeof(want), "Bearer %s", token);
    assert_int_equal(ag_test_http("GET", url, NULL, NULL, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    assert_non_null(d);
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

/* The token of the last generation request the mock got ("" when none). */
static void last_token(char *out, size_t cap)
{
    char url[256];
    struct ag_buf b;
    ag_buf_init(&b, 0);
    out[0] = '\0';
    snprintf(url, sizeof(url), "%s/__mock/requests?path=GenerateContent", t.mock.base_url);
    assert_int_equal(ag_test_http("GET", url, NULL, NULL, &b), 200);
    yyjson_doc *d = yyjson_read(b.data, b.len, 0);
    yyjson_val *root = yyjson_doc_get_root(d);
    size_t n = yyjson_arr_size(root);
    if (n) {
        const char *auth = yyjson_get_str(yyjson_obj_get(
            yyjson_obj_get(yyjson_arr_get(root, n - 1), "headers"), "authorization"));
        snprintf(out, cap, "%s", auth ? auth : "");
    }
    yyjson_doc_free(d);
    ag_buf_dispose(&b);
}

static int count_text(int i, const char *text)
{
    char *log = ag_child_output(&t.gw[i].gw);
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, text)); p += strlen(text))
        n++;
    free(log);
    return n;
}

static const char *const both[] = {"rt-a", "rt-b", NULL};

/* A 429 on instance 0 keeps instance 1 off the account for the cooldown. */
static void cooldown_reaches_the_other_instance(void **state)
{
    start_all("shared-cd", both);
    /* a's quota is used up for a minute, for whoever asks */
    assert_int_equal(mock_call("POST", "/__mock/faults",
                               "{\"status\":429,\"token\":\"at-a\",\"permanent\":true,"
                               "\"reason\":\"QUOTA_EXHAUSTED\",\"retry_delay\":\"60s\"}"),
                     200);
    for (int n = 0; n < 4 && count_calls("at-a") == 0; n++)
        assert_int_equal(chat(0, NULL, n), 200); /* the 429 is retried on b */
    assert_true(count_calls("at-a") >= 1);
    int before = count_calls("at-a");
    /* the message is on its way while instance 0 still answers: give instance 1 a moment to
     * apply it (the requests below decide, so the wait itself asserts nothing) */
    (void)ag_child_wait_output(&t.gw[1].gw, "as another instance saw", 10000);
    for (int n = 10; n < 16; n++)
        assert_int_equal(chat(1, NULL, n), 200);
    assert_int_equal(count_calls("at-a"), before); /* none reached a from instance 1 */
    assert_true(count_calls("at-b") >= 6);
    stop_all();
}

/* A conversation bound on instance 0 keeps its account on instance 1. */
static void conversation_keeps_its_account_across_instances(void **state)
{
    char tok[64];
    start_all("shared-st", both);
    /* instance 0 serves an unrelated request first (on a, its first account), so the
     * conversation goes to b, the account instance 1 would not pick on its own */
    assert_int_equal(chat(0, NULL, 1), 200);
    last_token(tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-a");
    assert_int_equal(chat(0, "conv-shared-42", 2), 200);
    last_token(tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-b");
    for (int n = 3; n < 6; n++) {
        assert_int_equal(chat(n % 2 ? 1 : 0, "conv-shared-42", n), 200);
        last_token(tok, sizeof(tok));
        assert_string_equal(tok, "Bearer at-b");
    }
    /* and instance 1 on its own would have chosen a for a new conversation */
    assert_int_equal(chat(1, "conv-shared-43", 7), 200);
    last_token(tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-a");
    stop_all();
}

/* An account added through instance 0's admin API serves requests on instance 1. */
static void account_added_on_one_serves_on_the_other(void **state)
{
    static const char *const only_a[] = {"rt-a", NULL};
    char url[128];
    struct ag_buf out;
    const char *hdrs[] = {"Authorization: Bearer " KEY, NULL};
    ag_buf_init(&out, 0);
    start_all("shared-acct", only_a);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/accounts", t.gw[0].port);
    long st = ag_test_http("POST", url, "{\"refresh_token\":\"rt-b\"}", hdrs, &out);
    assert_true(st == 200 || st == 201);
    /* instance 1 lists it soon (bounded wait: 100 x 50 ms) */
    bool seen = false;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/accounts", t.gw[1].port);
    for (int i = 0; i < 100 && !seen; i++) {
        ag_buf_reset(&out);
        assert_int_equal(ag_test_http("GET", url, NULL, hdrs, &out), 200);
        seen = out.data && strstr(out.data, "b@example.com") != NULL;
        if (!seen)
            usleep(50 * 1000);
    }
    assert_true(seen);
    /* and serves there: with a refusing everything, instance 1's answer comes from b */
    assert_int_equal(mock_call("POST", "/__mock/faults",
                               "{\"status\":429,\"token\":\"at-a\",\"permanent\":true,"
                               "\"reason\":\"QUOTA_EXHAUSTED\",\"retry_delay\":\"60s\"}"),
                     200);
    int b_before = count_calls("at-b");
    assert_int_equal(chat(1, NULL, 1), 200);
    assert_true(count_calls("at-b") > b_before);
    ag_buf_dispose(&out);
    stop_all();
}

/* With one request per account at a time, a stream on instance 0 keeps instance 1 off its
 * account: the in-flight counts hold over both instances. */
static void inflight_counts_across_instances(void **state)
{
    char tok[64];
    struct rh_conn c;
    start_all_cfg("shared-if", both, ",\"scheduling\":{\"max_concurrency_per_account\":1}");
    /* slow streams: 20 events 150 ms apart */
    assert_int_equal(
        mock_call("POST", "/__mock/config", "{\"sse_events\":20,\"sse_delay_ms\":150}"), 200);
    assert_true(rh_connect(&c, t.gw[0].port, 5000));
    assert_true(rh_send_str(&c, "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Content-Type: application/json\r\nContent-Length: 92\r\n\r\n"
                                "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"messages\":"
                                "[{\"role\":\"user\",\"content\":\"long one\"}]}"));
    assert_true(rh_wait_readable(&c, 15000)); /* streaming: it holds its account */
    last_token(tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-a");
    /* instance 1 on its own would pick a (its first account); a is busy at instance 0 */
    assert_int_equal(chat(1, NULL, 1), 200);
    last_token(tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-b");
    rh_close(&c);
    stop_all();
}

/* Starts a streaming request on gateway i and waits for its first bytes: from then on it holds
 * its account. The answer echoes the text, one character per event at the mock's pace. */
static void start_stream(struct rh_conn *c, int i)
{
    char body[512], req[768];
    snprintf(body, sizeof(body),
             "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"messages\":[{\"role\":\"user\","
             "\"content\":\"%s\"}]}",
             "a long answer, streamed slowly, one character after the other, while the other "
             "instance decides where its own requests go");
    snprintf(req, sizeof(req),
             "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    assert_true(rh_connect(c, t.gw[i].port, 5000));
    assert_true(rh_send_str(c, req));
    assert_true(rh_wait_readable(c, 15000));
}

/* An instance killed mid-stream never releases its lease: the others forget it once it is no
 * longer renewed, and the account serves again before the other stream ends. */
static void leases_of_a_killed_instance_expire(void **state)
{
    char tok[64];
    struct rh_conn c0, c1;
    start_all_cfg("shared-kill", both, ",\"scheduling\":{\"max_concurrency_per_account\":1}");
    /* streams of about 100 events 150 ms apart: 15 s */
    assert_int_equal(
        mock_call("POST", "/__mock/config", "{\"sse_events\":1000,\"sse_delay_ms\":150}"), 200);
    start_stream(&c0, 0);
    last_token(tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-a");
    start_stream(&c1, 1); /* a is busy at instance 0: b */
    last_token(tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-b");
    ag_child_stop(&t.gw[0].gw, SIGKILL, 5000);
    t.killed[0] = true;
    rh_close(&c0);
    /* both accounts look busy to instance 1; the request waits for a free one: a, once its
     * lease at the dead instance is forgotten (b's stream has seconds to go) */
    assert_int_equal(mock_call("POST", "/__mock/config", "{\"sse_events\":2,\"sse_delay_ms\":0}"),
                     200);
    assert_int_equal(chat(1, NULL, 1), 200);
    last_token(tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-a");
    rh_close(&c1);
    stop_all();
}

/* Redis goes away and comes back while requests run. */
static void redis_restart_under_load(void **state)
{
    int n = 0;
    start_all("shared-restart", both);
    for (int k = 0; k < 6; k++, n++)
        assert_int_equal(chat(n % NGW, NULL, n), 200);
    redis_stop();
    /* requests go on, on local state */
    for (int k = 0; k < 10; k++, n++)
        assert_int_equal(chat(n % NGW, NULL, n), 200);
    for (int i = 0; i < NGW; i++)
        assert_true(ag_child_wait_output(&t.gw[i].gw, "is unreachable", 10000));
    /* during the outage instance 0 learns that a is out of quota */
    assert_int_equal(mock_call("POST", "/__mock/faults",
                               "{\"status\":429,\"token\":\"at-a\",\"permanent\":true,"
                               "\"reason\":\"QUOTA_EXHAUSTED\",\"retry_delay\":\"60s\"}"),
                     200);
    int a_before = count_calls("at-a");
    for (int k = 0; k < 4 && count_calls("at-a") == a_before; k++, n++)
        assert_int_equal(chat(0, NULL, n), 200);
    assert_true(count_calls("at-a") > a_before);
    /* more requests while Redis is still down, then it comes back (same port, empty) */
    for (int k = 0; k < 4; k++, n++)
        assert_int_equal(chat(0, NULL, n), 200);
    redis_start();
    for (int i = 0; i < NGW; i++)
        assert_true(ag_child_wait_output(&t.gw[i].gw, "is reachable again", 20000));
    /* converged: instance 1 gets the cooldown instance 0 set while Redis was away (the
     * requests below decide) */
    (void)ag_child_wait_output(&t.gw[1].gw, "as another instance saw", 10000);
    int a_now = count_calls("at-a");
    for (int k = 0; k < 6; k++, n++)
        assert_int_equal(chat(1, NULL, n), 200);
    assert_int_equal(count_calls("at-a"), a_now);
    /* one warning per outage, not one per retry */
    for (int i = 0; i < NGW; i++)
        assert_int_equal(count_text(i, "is unreachable"), 1);
    stop_all();
}

/* A Redis that stops answering without closing its connections (SIGSTOP) is noticed by the
 * heartbeat: requests go on meanwhile, and both instances reconnect once it answers again. */
static void redis_that_stops_answering_is_noticed(void **state)
{
    start_all("shared-hang", both);
    assert_int_equal(kill(t.redis.pid, SIGSTOP), 0);
    for (int n = 0; n < 6; n++)
        assert_int_equal(chat(n % NGW, "conv-during-hang", n), 200);
    for (int i = 0; i < NGW; i++)
        assert_true(ag_child_wait_output(&t.gw[i].gw, "is unreachable", 15000));
    assert_int_equal(kill(t.redis.pid, SIGCONT), 0);
    for (int i = 0; i < NGW; i++)
        assert_true(ag_child_wait_output(&t.gw[i].gw, "is reachable again", 20000));
    for (int n = 10; n < 14; n++)
        assert_int_equal(chat(n % NGW, NULL, n), 200);
    stop_all();
}

int main(void)
{
    if (!find_redis()) {
        fprintf(stderr, "redis-server is not installed (Debian package redis-server): skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(cooldown_reaches_the_other_instance, teardown),
        cmocka_unit_test_teardown(conversation_keeps_its_account_across_instances, teardown),
        cmocka_unit_test_teardown(account_added_on_one_serves_on_the_other, teardown),
        cmocka_unit_test_teardown(inflight_counts_across_instances, teardown),
        cmocka_unit_test_teardown(leases_of_a_killed_instance_expire, teardown),
        cmocka_unit_test_teardown(redis_restart_under_load, teardown),
        cmocka_unit_test_teardown(redis_that_stops_answering_is_noticed, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
