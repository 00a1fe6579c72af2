/* Integration tests of three gateways behind nginx: real processes on loopback, as a deployment
 * runs them. One redis-server (tests/support/redisrv.h), one mock upstream recording which
 * account's token each request carried, three aigate instances each with its own data directory
 * (tests/support/fleet.h), and Debian's nginx doing round-robin over them with the proxy settings
 * of deploy/nginx/aigate-proxy.conf (tests/support/nginxsrv.h). Every request of a case goes
 * through nginx unless the case needs one instance in particular; nginx names the instance that
 * served each answer, and each case checks that its requests landed on every instance.
 *   - a 429 seen by one instance cools the account on all: during the cooldown no request of any
 *     instance reaches it;
 *   - a conversation keeps its account whichever instance each turn lands on;
 *   - an account added through one instance's admin API serves requests on the others;
 *   - an instance killed (SIGKILL) mid-stream: requests go on through the others, the finished
 *     requests' log rows and the accounts are still in each instance's own database (the killed
 *     one's included, read after a restart), and its lease on the account expires;
 *   - Redis stopped and started again under a bounded load loop: no crash, every request answered,
 *     and a cooldown set after the restart reaches all three instances;
 *   - the Responses API over a WebSocket (GET /v1/responses) passes nginx's upgrade: two turns on
 *     one socket, each to its response.completed (this one is about the proxy settings, not the
 *     shared state: it fails without the Upgrade / Connection lines of aigate-proxy.conf).
 * Each shared-state case fails when the instances are not given state.redis_url: run the test with
 * AG_CLUSTER_WITHOUT_REDIS=1 to see it. Exits 77 (skipped) when redis-server or nginx is not
 * installed. Every loop is bounded in count and time; every process is stopped by its PID. */
#include "ag_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yyjson.h>

#include "core/buf.h"
#include "fleet.h"
#include "nginxsrv.h"
#include "rawhttp.h"
#include "wsclient.h"

#define KEY  "sk-cluster-test-key"
#define NGW  3
#define LOAD 9 /* requests through nginx per check: three rounds of the round-robin */

static struct ag_fleet t;
static struct ag_nginxsrv lb;
static bool without_redis;

static const char *const both[] = {"rt-a", "rt-b", NULL};

/* The fleet of o (its name, accounts, config and hook; the rest is the test's) behind nginx. */
static void start_fleet(struct ag_fleet_opts o)
{
    int ports[NGW];
    o.ngw = NGW;
    o.api_key = KEY;
    o.without_redis = without_redis;
    memset(&lb, 0, sizeof(lb));
    ag_fleet_start(&t, &o);
    for (int i = 0; i < NGW; i++)
        ports[i] = t.gw[i].port;
    ag_nginxsrv_start(&lb, ports, NGW);
}

static void start_cfg(const char *name, const char *const *tokens, const char *extra)
{
    start_fleet((struct ag_fleet_opts){.name = name, .tokens = tokens, .extra_config = extra});
}

static void start(const char *name, const char *const *tokens)
{
    start_cfg(name, tokens, NULL);
}

static void stop(void)
{
    ag_nginxsrv_stop(&lb);
    ag_fleet_stop(&t);
}

static int teardown(void **state)
{
    (void)state;
    char *log = lb.dir[0] ? ag_nginxsrv_error_log(&lb) : NULL;
    if (log && log[0])
        fprintf(stderr, "nginx error.log:\n%s\n", log);
    free(log);
    ag_nginxsrv_stop(&lb);
    ag_fleet_kill(&t);
    return 0;
}

/* The instance (0..NGW-1) whose port is in r's X-Aigate-Upstream, or -1. */
static int served_by(const struct rh_resp *r)
{
    char v[128];
    if (!rh_header(r, "X-Aigate-Upstream", v, sizeof(v)))
        return -1;
    /* "127.0.0.1:P", or "127.0.0.1:Q, 127.0.0.1:P" after nginx skipped a dead instance */
    const char *last = strrchr(v, ':');
    int port = last ? (int)strtol(last + 1, NULL, 10) : 0;
    for (int i = 0; i < NGW; i++)
        if (t.gw[i].port == port)
            return i;
    return -1;
}

/* One chat request through nginx (or to instance gw when gw >= 0); session (may be NULL) names
 * the conversation. The status; *by (may be NULL) gets the instance that answered. */
static int chat_via(int gw, const char *session, int n, int *by)
{
    struct rh_resp r = {0};
    int st = ag_fleet_chat(&t, gw >= 0 ? t.gw[gw].port : lb.port, session, n, &r);
    if (by)
        *by = gw >= 0 ? gw : served_by(&r);
    if (st != 200)
        fprintf(stderr, "turn %d: %d %s\n", n, st, r.body ? r.body : "");
    rh_resp_free(&r);
    return st;
}

static int chat(const char *session, int n, int *by)
{
    return chat_via(-1, session, n, by);
}

/* Which instances served: a bit per instance. */
static unsigned all_instances(void)
{
    return (1u << NGW) - 1;
}

/* Waits (bounded, asserting nothing) until every instance but `except` applied a cooldown that
 * another instance saw; the requests after it decide. */
static void let_cooldown_spread(int except)
{
    for (int i = 0; i < NGW; i++)
        if (i != except && !t.killed[i])
            (void)ag_child_wait_output(&t.gw[i].gw, "as another instance saw", 10000);
}

/* Sends requests through nginx until one of them reached account `token` (at most 6); returns the
 * instance that served that one. */
static int hit_once(const char *token, int *n)
{
    int before = ag_fleet_calls(&t, token), by = -1;
    for (int k = 0; k < 6 && ag_fleet_calls(&t, token) == before; k++)
        assert_int_equal(chat(NULL, (*n)++, &by), 200); /* the 429 is retried on b */
    assert_true(ag_fleet_calls(&t, token) > before);
    return by;
}

/* LOAD requests through nginx: all answered, on every instance, none of them by token. */
static void none_reach(const char *token, int *n)
{
    unsigned seen = 0;
    int before = ag_fleet_calls(&t, token);
    for (int k = 0; k < LOAD; k++) {
        int by = -1;
        assert_int_equal(chat(NULL, (*n)++, &by), 200);
        assert_true(by >= 0);
        seen |= 1u << by;
    }
    assert_int_equal(seen, all_instances());
    assert_int_equal(ag_fleet_calls(&t, token), before);
}

/* A 429 seen by one instance keeps all three off the account for the cooldown. */
static void cooldown_reaches_every_instance(void **state)
{
    (void)state;
    int n = 0;
    start("cl-cd", both);
    ag_fleet_exhaust(&t, "at-a");
    int first = hit_once("at-a", &n);
    let_cooldown_spread(first);
    none_reach("at-a", &n);
    assert_true(ag_fleet_calls(&t, "at-b") >= LOAD);
    stop();
}

/* A conversation bound on one instance keeps its account on the other two. */
static void conversation_keeps_its_account(void **state)
{
    (void)state;
    char tok[64];
    unsigned seen = 0;
    start_fleet((struct ag_fleet_opts){.name = "cl-st", .tokens = both, .log_level = "debug"});
    /* instance 0 serves an unrelated request first (on a, its first account), so the
     * conversation goes to b there; instances 1 and 2, fresh, would pick a on their own */
    assert_int_equal(chat_via(0, NULL, 1, NULL), 200);
    ag_fleet_last_token(&t, tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-a");
    assert_int_equal(chat_via(0, "conv-cluster-7", 2, NULL), 200);
    ag_fleet_last_token(&t, tok, sizeof(tok));
    assert_string_equal(tok, "Bearer at-b");
    /* the binding reaches the other two by pub/sub (bounded wait until they have it, or a turn
     * could land on one before it heard) */
    for (int i = 1; i < NGW; i++)
        assert_true(ag_child_wait_output(&t.gw[i].gw, "a conversation sticks to", 10000));
    for (int k = 0; k < LOAD; k++) {
        int by = -1;
        assert_int_equal(chat("conv-cluster-7", 10 + k, &by), 200);
        assert_true(by >= 0);
        seen |= 1u << by;
        ag_fleet_last_token(&t, tok, sizeof(tok));
        assert_string_equal(tok, "Bearer at-b");
    }
    assert_int_equal(seen, all_instances());
    stop();
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* GET path from instance i's admin API, which must answer 200: the body, NUL-terminated, in
 * out (initialised by the caller, reset first). */
static void admin_get(int i, const char *path, struct ag_buf *out)
{
    char url[160];
    const char *hdrs[] = {"Authorization: Bearer " KEY, NULL};
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", t.gw[i].port, path);
    ag_buf_reset(out);
    assert_int_equal(ag_test_http("GET", url, NULL, hdrs, out), 200);
    ag_buf_append(out, "", 1);
    out->len--;
}

/* True when instance i's GET /api/accounts lists email. */
static bool lists_account(int i, const char *email)
{
    struct ag_buf out;
    ag_buf_init(&out, 0);
    admin_get(i, "/api/accounts", &out);
    bool hit = strstr(out.data, email) != NULL;
    ag_buf_dispose(&out);
    return hit;
}

/* An account added through instance 0's admin API serves requests on the other two. */
static void account_added_on_one_serves_on_all(void **state)
{
    (void)state;
    static const char *const only_a[] = {"rt-a", NULL};
    start("cl-acct", only_a);
    ag_fleet_add_account(&t, 0, "rt-b");
    /* the others list it soon: bounded at 5 s (the measure is printed, not asserted) */
    long t0 = now_ms();
    bool seen = false;
    while (!seen && now_ms() - t0 < 5000) {
        seen = lists_account(1, "b@example.com") && lists_account(2, "b@example.com");
        if (!seen)
            usleep(20 * 1000);
    }
    fprintf(stderr, "the added account reached both other instances after %ld ms\n", now_ms() - t0);
    assert_true(seen);
    /* with a refusing everything, every answer through nginx comes from b, on every instance */
    ag_fleet_exhaust(&t, "at-a");
    int b_before = ag_fleet_calls(&t, "at-b");
    unsigned by_mask = 0;
    for (int k = 0; k < LOAD; k++) {
        int by = -1;
        assert_int_equal(chat(NULL, k, &by), 200);
        assert_true(by >= 0);
        by_mask |= 1u << by;
    }
    assert_int_equal(by_mask, all_instances());
    assert_int_equal(ag_fleet_calls(&t, "at-b"), b_before + LOAD);
    stop();
}

/* Starts a streaming request through nginx and waits for its first bytes: from then on it holds
 * its account at the instance that serves it, which is returned. */
static int start_stream(struct rh_conn *c)
{
    ag_fleet_stream(&t, c, lb.port);
    /* the head arrives with the first event: it names the instance */
    struct rh_resp r;
    assert_true(rh_read_head(c, &r));
    assert_int_equal(r.status, 200);
    int by = served_by(&r);
    rh_resp_free(&r);
    assert_true(by >= 0);
    return by;
}

/* 2xx rows in instance i's request log. */
static long log_rows(int i)
{
    struct ag_buf out;
    ag_buf_init(&out, 0);
    admin_get(i, "/api/logs?status=2xx&limit=1", &out);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    assert_non_null(d);
    long total = (long)yyjson_get_sint(yyjson_obj_get(yyjson_doc_get_root(d), "total"));
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return total;
}

/* An instance killed mid-stream: the others go on, nothing finished is lost from any instance's
 * database, and its lease on the account expires. */
static void killed_instance_mid_stream(void **state)
{
    (void)state;
    char tok[64];
    int served[NGW] = {0};
    struct rh_conn c0, c1;
    start_cfg("cl-kill", both, ",\"scheduling\":{\"max_concurrency_per_account\":1}");
    /* finished requests on every instance first */
    for (int k = 0; k < LOAD; k++) {
        int by = -1;
        assert_int_equal(chat(NULL, k, &by), 200);
        assert_true(by >= 0);
        served[by]++;
    }
    for (int i = 0; i < NGW; i++)
        assert_true(served[i] > 0);
    /* The disk writer commits in batches (50 ms apart at the most while rows arrive): a row is
     * durable once committed, and a crash loses only what waits in its queue. Wait (bounded)
     * until each instance's database holds the rows of what it finished, and say how long. */
    long t0 = now_ms();
    bool all = false;
    while (!all && now_ms() - t0 < 5000) {
        all = true;
        for (int i = 0; i < NGW; i++)
            all = all && log_rows(i) >= served[i];
        if (!all)
            usleep(5 * 1000);
    }
    fprintf(stderr, "the finished requests' rows were on disk after %ld ms\n", now_ms() - t0);
    assert_true(all);
    /* streams of about 100 events 150 ms apart: 15 s */
    assert_int_equal(
        ag_fleet_mock(&t, "POST", "/__mock/config", "{\"sse_events\":1000,\"sse_delay_ms\":150}"),
        200);
    int k0 = start_stream(&c0);
    ag_fleet_last_token(&t, tok, sizeof(tok));
    char held[64];
    snprintf(held, sizeof(held), "%s", tok);
    const char *held_email = strcmp(held, "Bearer at-a") == 0 ? "a@example.com" : "b@example.com";
    const char *other_email = held_email[0] == 'a' ? "b@example.com" : "a@example.com";
    /* the others hear of k0's stream by pub/sub: bounded wait until they have (a stream sent
     * before could land on one that has not) */
    for (int i = 0; i < NGW; i++)
        if (i != k0)
            ag_fleet_wait_inflight_elsewhere(&t, i, held_email, 1);
    /* the next stream lands on another instance, which must leave k0's account alone */
    int k1 = start_stream(&c1);
    assert_true(k1 != k0);
    ag_fleet_last_token(&t, tok, sizeof(tok));
    assert_string_not_equal(tok, held);
    /* and the third hears of k1's before it has to choose below */
    for (int i = 0; i < NGW; i++)
        if (i != k0 && i != k1)
            ag_fleet_wait_inflight_elsewhere(&t, i, other_email, 1);
    ag_fleet_crash(&t, k0);
    rh_close(&c0);
    /* every account looks busy to the survivors; a short request waits for a free one: the
     * killed instance's, once its lease is no longer renewed (k1's stream has seconds to go) */
    assert_int_equal(
        ag_fleet_mock(&t, "POST", "/__mock/config", "{\"sse_events\":2,\"sse_delay_ms\":0}"), 200);
    int by = -1;
    assert_int_equal(chat(NULL, 100, &by), 200);
    assert_true(by >= 0 && by != k0);
    ag_fleet_last_token(&t, tok, sizeof(tok));
    assert_string_equal(tok, held);
    rh_close(&c1);
    /* requests go on through the two others */
    for (int k = 0; k < LOAD; k++) {
        assert_int_equal(chat(NULL, 200 + k, &by), 200);
        assert_true(by >= 0 && by != k0);
    }
    /* the killed instance's database still holds what it finished and its accounts: started
     * again on the same data directory, it lists them */
    ag_gwenv_launch(&t.gw[k0]);
    t.killed[k0] = false;
    assert_true(log_rows(k0) >= served[k0]);
    assert_true(lists_account(k0, "a@example.com") && lists_account(k0, "b@example.com"));
    for (int i = 0; i < NGW; i++)
        assert_true(log_rows(i) >= served[i]);
    stop();
}

/* Redis stops and starts again while a bounded loop of requests runs through nginx. */
static void redis_restart_under_load(void **state)
{
    (void)state;
    int n = 0;
    start("cl-restart", both);
    /* (the instances' log lines about Redis are checked only when they use it, so that without
     * it the convergence below is what fails) */
    for (int k = 0; k < 3 * LOAD; k++, n++) {
        if (k == LOAD)
            ag_redisrv_stop(&t.redis);
        if (k == 2 * LOAD) {
            for (int i = 0; i < NGW && !without_redis; i++)
                assert_true(ag_child_wait_output(&t.gw[i].gw, "is unreachable", 10000));
            ag_redisrv_start(&t.redis); /* same port, empty */
        }
        assert_int_equal(chat(NULL, n, NULL), 200);
    }
    for (int i = 0; i < NGW && !without_redis; i++)
        assert_true(ag_child_wait_output(&t.gw[i].gw, "is reachable again", 20000));
    /* converged: a cooldown set now reaches all three */
    ag_fleet_exhaust(&t, "at-a");
    int first = hit_once("at-a", &n);
    let_cooldown_spread(first);
    none_reach("at-a", &n);
    /* one warning per outage, not one per retry */
    for (int i = 0; i < NGW && !without_redis; i++)
        assert_int_equal(ag_fleet_count_text(&t, i, "is unreachable"), 1);
    stop();
}

#define TEAM_SECRET "sk-cluster-team-key-0123456789abcdef"
#define TEAM_RPM    6

/* Every instance's database holds the user key "team" with TEAM_RPM requests a minute. */
static void put_team_key(struct ag_gwenv *gw, void *ud)
{
    (void)ud;
    const struct ag_user_key lim = {.rpm = TEAM_RPM};
    ag_fleet_put_key(gw->dir, "team", TEAM_SECRET, &lim);
}

/* The updates of the key "team" instance i has heard of from the others (GET /api/keys, its
 * live.shared_updates), -1 when it does not list them. */
static int64_t team_updates(int i)
{
    struct ag_buf out;
    int64_t v = -1;
    ag_buf_init(&out, 0);
    admin_get(i, "/api/keys", &out);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    assert_non_null(d);
    yyjson_val *keys = yyjson_obj_get(yyjson_doc_get_root(d), "keys"), *k;
    size_t idx, max;
    yyjson_arr_foreach(keys, idx, max, k)
    {
        const char *name = yyjson_get_str(yyjson_obj_get(k, "name"));
        yyjson_val *f = yyjson_obj_get(yyjson_obj_get(k, "live"), "shared_updates");
        if (name && strcmp(name, "team") == 0 && yyjson_is_int(f))
            v = yyjson_get_sint(f);
    }
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return v;
}

/* A key's rpm holds across the three instances: TEAM_RPM requests through nginx (spread over all
 * three) are served, the next one on each instance is refused. */
static void key_rpm_holds_across_instances(void **state)
{
    (void)state;
    int served[NGW] = {0};
    start_fleet((struct ag_fleet_opts){.name = "cl-rpm", .tokens = both, .prepare = put_team_key});
    for (int k = 0; k < TEAM_RPM; k++) {
        struct rh_resp r = {0};
        assert_int_equal(ag_fleet_chat_key(&t, lb.port, TEAM_SECRET, NULL, k, &r), 200);
        int by = served_by(&r);
        rh_resp_free(&r);
        assert_true(by >= 0);
        served[by]++;
        /* each request sends two updates (its admission, its settlement): wait (bounded: 200 x
         * 25 ms) until every other instance heard of all of them, so the count below does not
         * race the messages (limits hold within the in-flight bound, not exactly) */
        for (int i = 0; i < NGW && !without_redis; i++) {
            int64_t want = 2 * (k + 1 - served[i]), v = -1;
            for (int w = 0; w < 200 && (v = team_updates(i)) < want; w++)
                usleep(25 * 1000);
            if (v < want)
                fail_msg("instance %d heard of %lld updates of key team, expected %lld", i,
                         (long long)v, (long long)want);
        }
    }
    for (int i = 0; i < NGW; i++)
        assert_true(served[i] > 0);
    /* the minute's allowance is spent on every instance: one more on each is refused */
    unsigned refused = 0;
    for (int k = 0; k < NGW; k++) {
        struct rh_resp r = {0};
        assert_int_equal(ag_fleet_chat_key(&t, lb.port, TEAM_SECRET, NULL, 100 + k, &r), 429);
        int by = served_by(&r);
        rh_resp_free(&r);
        assert_true(by >= 0);
        refused |= 1u << by;
    }
    assert_int_equal(refused, all_instances());
    /* the gateway's own key has no limits and goes on */
    assert_int_equal(chat(NULL, 200, NULL), 200);
    stop();
}

/* Reads WebSocket messages up to the end of one turn (at most 256, 10 s each); true when it ended
 * with response.completed. */
static bool ws_turn_completes(struct rh_conn *c)
{
    for (int i = 0; i < 256; i++) {
        struct ws_frame f;
        assert_true(ws_read_message(c, &f, 10000));
        assert_int_equal(f.opcode, WS_TEXT);
        yyjson_doc *d = yyjson_read(f.data, f.len, 0);
        assert_non_null(d);
        const char *type = yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(d), "type"));
        bool done = type && strcmp(type, "response.completed") == 0;
        bool failed = !type || strcmp(type, "response.failed") == 0 || strcmp(type, "error") == 0;
        if (failed)
            fprintf(stderr, "websocket turn ended with: %.300s\n", f.data);
        yyjson_doc_free(d);
        ws_frame_free(&f);
        if (done || failed)
            return done;
    }
    return false;
}

/* The Responses API over a WebSocket through nginx: the upgrade passes, turns complete. */
static void responses_websocket_through_nginx(void **state)
{
    (void)state;
    struct rh_conn c;
    struct rh_resp r;
    start("cl-ws", both);
    assert_true(ws_open(&c, lb.port, "/v1/responses", "Authorization: Bearer " KEY "\r\n", &r));
    int st = r.status, by = served_by(&r);
    rh_resp_free(&r);
    assert_int_equal(st, 101);
    assert_true(by >= 0);
    for (int turn = 0; turn < 2; turn++) {
        assert_true(ws_send_text(&c, "{\"type\":\"response.create\",\"model\":\"gemini-2.5-flash\","
                                     "\"input\":\"hello through nginx\",\"store\":false}"));
        assert_true(ws_turn_completes(&c));
    }
    rh_close(&c);
    stop();
}

int main(void)
{
    struct ag_redisrv r = {0};
    if (!ag_redisrv_find(&r) || !ag_nginxsrv_find(&lb)) {
        fprintf(stderr, "redis-server or nginx is not installed (Debian packages redis-server, "
                        "nginx-light): skipped\n");
        return 77;
    }
    const char *w = getenv("AG_CLUSTER_WITHOUT_REDIS");
    without_redis = w && strcmp(w, "1") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(cooldown_reaches_every_instance, teardown),
        cmocka_unit_test_teardown(conversation_keeps_its_account, teardown),
        cmocka_unit_test_teardown(account_added_on_one_serves_on_all, teardown),
        cmocka_unit_test_teardown(killed_instance_mid_stream, teardown),
        cmocka_unit_test_teardown(redis_restart_under_load, teardown),
        cmocka_unit_test_teardown(responses_websocket_through_nginx, teardown),
        cmocka_unit_test_teardown(key_rpm_holds_across_instances, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
