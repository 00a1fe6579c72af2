/* Integration tests of user-key limits shared on Redis (src/state/keyshare.c, src/keys/keys.c): a
 * real redis-server from Debian's package (temp directory, loopback port chosen at run time,
 * stopped by its PID) and two real gateways ($AIGATE_BIN), each with its own data directory
 * holding the same user keys, against one mock upstream ($AIGATE_MOCK_BIN).
 *   - a key with rpm N: N requests spread over both instances, the next one is 429 on either;
 *   - a daily budget spent on one instance is refused on the other;
 *   - concurrency 1 held by a slow stream on one instance: the other answers 429, and serves
 *     once the stream ends;
 *   - the lease of an instance killed mid-stream expires: the other serves the key again;
 *   - state.on_redis_down = closed refuses a limited key (503, the route's error format) while
 *     Redis is stopped, never a key without limits, and serves again once Redis is back;
 *     = open serves on local counts.
 * Exits 77 (skipped) when redis-server is not installed. Every wait is bounded; loopback only. */
#include "ag_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yyjson.h>

#include "child.h"
#include "core/buf.h"
#include "fleet.h"
#include "gwenv.h"
#include "proc.h"
#include "rawhttp.h"
#include "store/user_keys.h"

#define LIMITED "sk-0123456789abcdef0123456789abcdef"
#define FREE    "sk-fedcba9876543210fedcba9876543210"
#define ADMIN   "sk-shared-keys-admin-key"
#define NGW     2

static struct ag_fleet t;

struct keys_ud {
    const struct ag_user_key *lim;
};

/* Puts the key "team" (secret LIMITED, limits from ud) and "open-bar" (secret FREE, no limits)
 * into a gateway's data directory before it starts. */
static void put_keys(struct ag_gwenv *gw, void *ud)
{
    const struct keys_ud *k = ud;
    const struct ag_user_key none = {0};
    ag_fleet_put_key(gw->dir, "team", LIMITED, k->lim);
    ag_fleet_put_key(gw->dir, "open-bar", FREE, &none);
}

/* Redis, the mock with one account, and NGW gateways sharing state whose stores hold the keys of
 * put_keys; state.on_redis_down is down. */
static void start_all(const char *name, const struct ag_user_key *lim, const char *down)
{
    static const char *const tokens[] = {"rt-a", NULL};
    char extra[64];
    struct keys_ud ud = {.lim = lim};
    snprintf(extra, sizeof(extra), ",\"on_redis_down\":\"%s\"", down);
    const struct ag_fleet_opts o = {
        .name = name,
        .ngw = NGW,
        .api_key = ADMIN,
        .tokens = tokens,
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"}]",
        .state_extra = extra,
        .prepare = put_keys,
        .prepare_ud = &ud,
    };
    ag_fleet_start(&t, &o);
    for (int i = 0; i < NGW; i++)
        assert_true(
            ag_child_wait_output(&t.gw[i].gw, "sharing per-key limits through Redis", 15000));
}

static void stop_all(void)
{
    ag_fleet_stop(&t);
}

static int teardown(void **state)
{
    ag_fleet_kill(&t);
    return 0;
}

static long mock_call(const char *method, const char *path, const char *body)
{
    return ag_fleet_mock(&t, method, path, body);
}

/* One chat request to gateway i with the key secret; the status, and the body into body (cap
 * bytes, may be NULL). */
static int chat_body(int i, const char *secret, int n, char *body, size_t cap)
{
    char req[256], hdr[256];
    struct rh_resp r = {0};
    snprintf(req, sizeof(req),
             "{\"model\":\"gemini-2.5-flash\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\","
             "\"content\":\"shared keys, turn %d\"}]}",
             n);
    snprintf(hdr, sizeof(hdr), "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n",
             secret);
    assert_true(rh_request(t.gw[i].port, "POST", "/v1/chat/completions", hdr, req, &r));
    int st = r.status;
    if (body && cap)
        snprintf(body, cap, "%.*s", (int)r.body_len, r.body ? r.body : "");
    rh_resp_free(&r);
    return st;
}

static int chat(int i, const char *secret, int n)
{
    return chat_body(i, secret, n, NULL, 0);
}

/* The live number `field` of the key "team" at gateway i (GET /api/keys), -1 when absent. */
static int64_t live(int i, const char *field)
{
    char url[128];
    struct ag_buf out;
    int64_t v = -1;
    const char *hdrs[] = {"Authorization: Bearer " ADMIN, NULL};
    ag_buf_init(&out, 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/keys", t.gw[i].port);
    assert_int_equal(ag_test_http("GET", url, NULL, hdrs, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    yyjson_val *keys = yyjson_obj_get(yyjson_doc_get_root(d), "keys"), *k;
    size_t idx, max;
    yyjson_arr_foreach(keys, idx, max, k)
    {
        const char *name = yyjson_get_str(yyjson_obj_get(k, "name"));
        yyjson_val *f = yyjson_obj_get(yyjson_obj_get(k, "live"), field);
        if (name && strcmp(name, "team") == 0 && yyjson_is_int(f))
            v = yyjson_get_sint(f);
    }
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return v;
}

/* Waits (bounded: 200 x 25 ms) until gateway i's live `field` of "team" reaches at least want:
 * what the other instance published has arrived. Messages travel through Redis in a
 * millisecond or so, but a loaded machine may take longer, and the test must not race them. */
static void wait_live(int i, const char *field, int64_t want)
{
    int64_t v = -1;
    for (int n = 0; n < 200 && (v = live(i, field)) < want; n++)
        usleep(25 * 1000);
    if (v < want)
        fail_msg("gateway %d: live %s of key team is %lld, expected %lld", i, field, (long long)v,
                 (long long)want);
}

/* Starts a slow streaming request with the limited key on gateway i and waits for its first
 * bytes: from then on it holds one of the key's concurrency units. */
static void start_stream(struct rh_conn *c, int i)
{
    char body[256], req[768];
    snprintf(body, sizeof(body),
             "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"messages\":"
             "[{\"role\":\"user\",\"content\":\"a slow one\"}]}");
    snprintf(req, sizeof(req),
             "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Authorization: Bearer " LIMITED "\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    assert_true(rh_connect(c, t.gw[i].port, 5000));
    assert_true(rh_send_str(c, req));
    assert_true(rh_wait_readable(c, 15000));
}

/* rpm 3: three requests over both instances, then 429 on either. */
static void rpm_holds_across_instances(void **state)
{
    const struct ag_user_key lim = {.rpm = 3};
    start_all("skeys-rpm", &lim, "open");
    /* each request sends two updates (its start, its settlement) */
    assert_int_equal(chat(0, LIMITED, 1), 200);
    wait_live(1, "shared_updates", 2);
    assert_int_equal(chat(1, LIMITED, 2), 200);
    wait_live(0, "shared_updates", 2);
    assert_int_equal(chat(0, LIMITED, 3), 200);
    wait_live(1, "shared_updates", 4);
    assert_int_equal(chat(1, LIMITED, 4), 429); /* instance 1 alone has seen only one */
    assert_int_equal(chat(0, LIMITED, 5), 429);
    assert_int_equal(chat(1, FREE, 6), 200); /* a key without limits is never refused */
    stop_all();
}

/* A daily budget used up through instance 0 is refused on instance 1. */
static void daily_budget_spent_on_one_is_refused_on_the_other(void **state)
{
    char body[2048];
    const struct ag_user_key lim = {.daily_tokens = 300};
    start_all("skeys-budget", &lim, "open");
    int ok = 0, st = 200;
    for (int n = 0; n < 20 && st == 200; n++) {
        st = chat(0, LIMITED, n);
        ok += st == 200;
    }
    assert_int_equal(st, 429);
    assert_true(ok >= 1);
    wait_live(1, "shared_updates", 2 * ok);
    assert_int_equal(chat_body(1, LIMITED, 50, body, sizeof(body)), 429);
    assert_non_null(strstr(body, "daily budget"));
    stop_all();
}

/* Concurrency 1 held by a stream on instance 0: instance 1 answers 429 until it ends. */
static void concurrency_held_on_one_refuses_on_the_other(void **state)
{
    struct rh_conn c;
    const struct ag_user_key lim = {.max_concurrency = 1};
    start_all("skeys-conc", &lim, "open");
    assert_int_equal(
        mock_call("POST", "/__mock/config", "{\"sse_events\":20,\"sse_delay_ms\":150}"), 200);
    start_stream(&c, 0);
    wait_live(1, "shared_in_flight", 1);
    assert_int_equal(chat(1, LIMITED, 1), 429);
    /* the stream ends (about 3 s), its unit is given back, and instance 1 serves the key */
    struct rh_resp r = {0};
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    rh_close(&c);
    assert_int_equal(mock_call("POST", "/__mock/config", "{\"sse_events\":2,\"sse_delay_ms\":0}"),
                     200);
    int st = 429;
    for (int i = 0; i < 100 && st == 429; i++) {
        st = chat(1, LIMITED, 10 + i);
        if (st == 429)
            usleep(100 * 1000);
    }
    assert_int_equal(st, 200);
    stop_all();
}

/* The lease of an instance killed mid-stream is never given back: it expires at the other. */
static void lease_of_a_killed_instance_expires(void **state)
{
    struct rh_conn c;
    const struct ag_user_key lim = {.max_concurrency = 1};
    start_all("skeys-kill", &lim, "open");
    assert_int_equal(
        mock_call("POST", "/__mock/config", "{\"sse_events\":1000,\"sse_delay_ms\":150}"), 200);
    start_stream(&c, 0);
    wait_live(1, "shared_in_flight", 1);
    assert_int_equal(chat(1, LIMITED, 1), 429);
    ag_fleet_crash(&t, 0);
    rh_close(&c);
    assert_int_equal(mock_call("POST", "/__mock/config", "{\"sse_events\":2,\"sse_delay_ms\":0}"),
                     200);
    assert_true(ag_child_wait_output(&t.gw[1].gw, "a lease on key team at instance", 15000));
    assert_int_equal(chat(1, LIMITED, 2), 200);
    stop_all();
}

/* on_redis_down = closed: a limited key is refused while Redis is away, and served again once
 * it is back; a key without limits is always served. */
static void closed_refuses_limited_keys_while_redis_is_down(void **state)
{
    char body[2048];
    const struct ag_user_key lim = {.rpm = 1000};
    start_all("skeys-closed", &lim, "closed");
    assert_int_equal(chat(0, LIMITED, 1), 200);
    ag_redisrv_stop(&t.redis);
    assert_true(ag_child_wait_output(&t.gw[0].gw, "per-key limits cannot be shared", 15000));
    assert_int_equal(chat_body(0, LIMITED, 2, body, sizeof(body)), 503);
    assert_non_null(strstr(body, "\"error\"")); /* OpenAI's error object */
    assert_non_null(strstr(body, "state.on_redis_down"));
    assert_int_equal(chat(0, FREE, 3), 200);
    ag_redisrv_start(&t.redis);
    assert_true(ag_child_wait_output(&t.gw[0].gw, "(again)", 20000));
    assert_int_equal(chat(0, LIMITED, 4), 200);
    stop_all();
}

/* on_redis_down = open: a limited key is served on local counts while Redis is away. */
static void open_serves_limited_keys_while_redis_is_down(void **state)
{
    const struct ag_user_key lim = {.rpm = 1000};
    start_all("skeys-open", &lim, "open");
    ag_redisrv_stop(&t.redis);
    assert_true(ag_child_wait_output(&t.gw[0].gw, "per-key limits cannot be shared", 15000));
    assert_int_equal(chat(0, LIMITED, 1), 200);
    assert_int_equal(chat(1, LIMITED, 2), 200);
    stop_all();
}

int main(void)
{
    if (!ag_redisrv_installed())
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(rpm_holds_across_instances, teardown),
        cmocka_unit_test_teardown(daily_budget_spent_on_one_is_refused_on_the_other, teardown),
        cmocka_unit_test_teardown(concurrency_held_on_one_refuses_on_the_other, teardown),
        cmocka_unit_test_teardown(lease_of_a_killed_instance_expires, teardown),
        cmocka_unit_test_teardown(closed_refuses_limited_keys_while_redis_is_down, teardown),
        cmocka_unit_test_teardown(open_serves_limited_keys_while_redis_is_down, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
