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
#include <unistd.h>
#include <yyjson.h>

#include "core/buf.h"
#include "fleet.h"
#include "rawhttp.h"

#define KEY "sk-shared-state-test-key"
#define NGW 2

static struct ag_fleet t;

/* extra: appended to config.json's top object (or NULL); log_level: NULL for info */
static void start_all_with(const char *name, const char *const *tokens, const char *extra,
                           const char *log_level)
{
    const struct ag_fleet_opts o = {.name = name,
                                    .ngw = NGW,
                                    .api_key = KEY,
                                    .tokens = tokens,
                                    .extra_config = extra,
                                    .log_level = log_level};
    ag_fleet_start(&t, &o);
}

static void start_all_cfg(const char *name, const char *const *tokens, const char *extra)
{
    start_all_with(name, tokens, extra, NULL);
}

static void start_all(const char *name, const char *const *tokens)
{
    start_all_with(name, tokens, NULL, NULL);
}

static void stop_all(void)
{
    ag_fleet_stop(&t);
}

/* After a failed assertion: whatever runs is killed by its PID. */
static int teardown(void **state)
{
    ag_fleet_kill(&t);
    return 0;
}

/* One chat request to gateway i; session (may be NULL) names the conversation. The status. */
static int chat(int i, const char *session, int n)
{
    return ag_fleet_chat(&t, t.gw[i].port, session, n, NULL);
}

static const char *const both[] = {"rt-a", "rt-b", NULL};

/* A 429 on instance 0 keeps instance 1 off the account for the cooldown. */
static void cooldown_reaches_the_other_instance(void **state)
{
    start_all("shared-cd", both);
    /* a's quota is used up for a minute, for whoever asks */
    ag_fleet_exhaust(&t, "at-a");
    for (int n = 0; n < 4 && ag_fleet_calls(&t, "at-a") == 0; n++)
        assert_int_equal(chat(0, NULL, n), 200); /* the 429 is retried on b */
    assert_true(ag_fleet_calls(&t, "at-a") >= 1);
    int before = ag_fleet_calls(&t, "at-a");
    /* the message is on its way while instance 0 still answers: give instance 1 a moment to
     * apply it (the requests below decide, so the wait itself asserts nothing) */
    (void)ag_child_wait_output(&t.gw[1].gw, "as another instance saw", 10000);
    for (int n = 10; n < 16; n++)
        assert_int_equal(chat(1, NULL, n), 200);
    assert_int_equal(ag_fleet_calls(&t, "at-a"), before); /* none reached a from instance 1 */
    assert_true(ag_fleet_calls(&t, "at-b") >= 6);
    stop_all();
}

/* A conversation bound on instance 0 keeps its account on instance 1. */
static void conversation_keeps_its_account_across_instances(void **state)
{
    char tok[64];
    start_all_with("shared-st", both, NULL, "debug");
    /* instance 0 serves an unrelated request first (on a, its first account), so the
     * conversation goes to b, the account instance 1 would not pick on its own */
    assert_int_equal(chat(0, NULL, 1), 200);
    ag_fleet_last_token(&t, tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-a");
    assert_int_equal(chat(0, "conv-shared-42", 2), 200);
    ag_fleet_last_token(&t, tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-b");
    /* the binding reaches instance 1 by pub/sub (bounded wait until it has it, or the next turn
     * could land there before it heard: seen once under ASan) */
    assert_true(ag_child_wait_output(&t.gw[1].gw, "a conversation sticks to", 10000));
    for (int n = 3; n < 6; n++) {
        assert_int_equal(chat(n % 2 ? 1 : 0, "conv-shared-42", n), 200);
        ag_fleet_last_token(&t, tok, sizeof(tok));
        assert_string_equal(tok, "Bearer at-b");
    }
    /* and instance 1 on its own would have chosen a for a new conversation */
    assert_int_equal(chat(1, "conv-shared-43", 7), 200);
    ag_fleet_last_token(&t, tok, sizeof(tok));
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
    ag_fleet_add_account(&t, 0, "rt-b");
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
    ag_fleet_exhaust(&t, "at-a");
    int b_before = ag_fleet_calls(&t, "at-b");
    assert_int_equal(chat(1, NULL, 1), 200);
    assert_true(ag_fleet_calls(&t, "at-b") > b_before);
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
        ag_fleet_mock(&t, "POST", "/__mock/config", "{\"sse_events\":20,\"sse_delay_ms\":150}"),
        200);
    assert_true(rh_connect(&c, t.gw[0].port, 5000));
    assert_true(rh_send_str(&c, "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Content-Type: application/json\r\nContent-Length: 92\r\n\r\n"
                                "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"messages\":"
                                "[{\"role\":\"user\",\"content\":\"long one\"}]}"));
    assert_true(rh_wait_readable(&c, 15000)); /* streaming: it holds its account */
    ag_fleet_last_token(&t, tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-a");
    /* the count reaches instance 1 by pub/sub: bounded wait until it has it (a request sent
     * before could be there first) */
    ag_fleet_wait_inflight_elsewhere(&t, 1, "a@example.com", 1);
    /* instance 1 on its own would pick a (its first account); a is busy at instance 0 */
    assert_int_equal(chat(1, NULL, 1), 200);
    ag_fleet_last_token(&t, tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-b");
    rh_close(&c);
    stop_all();
}

/* Starts a streaming request on gateway i and waits for its first bytes: from then on it holds
 * its account. The answer echoes the text, one character per event at the mock's pace. */
static void start_stream(struct rh_conn *c, int i)
{
    ag_fleet_stream(&t, c, t.gw[i].port);
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
        ag_fleet_mock(&t, "POST", "/__mock/config", "{\"sse_events\":1000,\"sse_delay_ms\":150}"),
        200);
    start_stream(&c0, 0);
    ag_fleet_last_token(&t, tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-a");
    ag_fleet_wait_inflight_elsewhere(&t, 1, "a@example.com", 1); /* instance 1 heard of it */
    start_stream(&c1, 1);                                        /* a is busy at instance 0: b */
    ag_fleet_last_token(&t, tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-b");
    ag_fleet_crash(&t, 0);
    rh_close(&c0);
    /* both accounts look busy to instance 1; the request waits for a free one: a, once its
     * lease at the dead instance is forgotten (b's stream has seconds to go) */
    assert_int_equal(
        ag_fleet_mock(&t, "POST", "/__mock/config", "{\"sse_events\":2,\"sse_delay_ms\":0}"), 200);
    assert_int_equal(chat(1, NULL, 1), 200);
    ag_fleet_last_token(&t, tok, sizeof(tok));
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
    ag_redisrv_stop(&t.redis);
    /* requests go on, on local state */
    for (int k = 0; k < 10; k++, n++)
        assert_int_equal(chat(n % NGW, NULL, n), 200);
    for (int i = 0; i < NGW; i++)
        assert_true(ag_child_wait_output(&t.gw[i].gw, "is unreachable", 10000));
    /* during the outage instance 0 learns that a is out of quota */
    ag_fleet_exhaust(&t, "at-a");
    int a_before = ag_fleet_calls(&t, "at-a");
    for (int k = 0; k < 4 && ag_fleet_calls(&t, "at-a") == a_before; k++, n++)
        assert_int_equal(chat(0, NULL, n), 200);
    assert_true(ag_fleet_calls(&t, "at-a") > a_before);
    /* more requests while Redis is still down, then it comes back (same port, empty) */
    for (int k = 0; k < 4; k++, n++)
        assert_int_equal(chat(0, NULL, n), 200);
    ag_redisrv_start(&t.redis);
    for (int i = 0; i < NGW; i++)
        assert_true(ag_child_wait_output(&t.gw[i].gw, "is reachable again", 20000));
    /* converged: instance 1 gets the cooldown instance 0 set while Redis was away (the
     * requests below decide) */
    (void)ag_child_wait_output(&t.gw[1].gw, "as another instance saw", 10000);
    int a_now = ag_fleet_calls(&t, "at-a");
    for (int k = 0; k < 6; k++, n++)
        assert_int_equal(chat(1, NULL, n), 200);
    assert_int_equal(ag_fleet_calls(&t, "at-a"), a_now);
    /* one warning per outage, not one per retry */
    for (int i = 0; i < NGW; i++)
        assert_int_equal(ag_fleet_count_text(&t, i, "is unreachable"), 1);
    stop_all();
}

/* A Redis that stops answering without closing its connections (SIGSTOP) is noticed by the
 * heartbeat: requests go on meanwhile, and both instances reconnect once it answers again. */
static void redis_that_stops_answering_is_noticed(void **state)
{
    start_all("shared-hang", both);
    assert_int_equal(kill(t.redis.child.pid, SIGSTOP), 0);
    for (int n = 0; n < 6; n++)
        assert_int_equal(chat(n % NGW, "conv-during-hang", n), 200);
    for (int i = 0; i < NGW; i++)
        assert_true(ag_child_wait_output(&t.gw[i].gw, "is unreachable", 15000));
    assert_int_equal(kill(t.redis.child.pid, SIGCONT), 0);
    for (int i = 0; i < NGW; i++)
        assert_true(ag_child_wait_output(&t.gw[i].gw, "is reachable again", 20000));
    for (int n = 10; n < 14; n++)
        assert_int_equal(chat(n % NGW, NULL, n), 200);
    stop_all();
}

int main(void)
{
    if (!ag_redisrv_installed())
        return 77;
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
