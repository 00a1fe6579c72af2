/* Integration tests of what several instances share on Redis beyond cooldowns, bindings and
 * accounts (src/state/stores.c, relay/shared.c, pool/shared_stores.c, pool/tokens.c,
 * admin/api_shared.c): a real redis-server from Debian's package (temp directory, loopback port
 * chosen at run time, stopped by its PID), two real gateways ($AIGATE_BIN) with their own data
 * directories, and one mock upstream ($AIGATE_MOCK_BIN).
 *   - a Responses request on one instance, its previous_response_id follow-up on the other: the
 *     upstream sees the whole conversation; its GET and DELETE through the other, and the
 *     deletion reaching the first;
 *   - Claude thinking kept on one instance is put back by the other into a tool loop whose client
 *     dropped it;
 *   - both instances with an expired token: the token endpoint is called once;
 *   - an account removed on one stops serving on the other;
 *   - a configuration change made through one instance's admin API shows in the other's.
 * Exits 77 (skipped) when redis-server is not installed. Every wait is bounded; loopback only. */
#include "ag_test.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yyjson.h>

#include "child.h"
#include "core/buf.h"
#include "fleet.h"
#include "gwenv.h"
#include "proc.h"
#include "rawhttp.h"

#define KEY "sk-shared-stores-test-key"
#define NGW 2

static struct ag_fleet t;

static long mock_call(const char *method, const char *path, const char *body)
{
    return ag_fleet_mock(&t, method, path, body);
}

/* Sets every account's token of a gateway as expired (before it starts). */
static void expire_tokens(struct ag_gwenv *gw, void *ud)
{
    char path[256];
    sqlite3 *db = NULL;
    (void)ud;
    snprintf(path, sizeof(path), "%s/aigate.db", gw->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE accounts SET token_expiry = 1", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_true(sqlite3_changes(db) > 0);
    sqlite3_close(db);
}

/* Redis, the mock with accounts a and b, and NGW gateways sharing state with both accounts.
 * expired: their access tokens have expired when the gateways start. The mock's record of
 * requests starts before the gateways do. */
static void start_all(const char *name, bool expired)
{
    static const char *const tokens[] = {"rt-a", "rt-b", NULL};
    const struct ag_fleet_opts o = {
        .name = name,
        .ngw = NGW,
        .api_key = KEY,
        .tokens = tokens,
        .prepare = expired ? expire_tokens : NULL,
        .record_startup = true,
    };
    ag_fleet_start(&t, &o);
}

/* A clean stop: every gateway must exit 0 (no crash), then the mock and Redis. */
static void stop_all(void)
{
    ag_fleet_stop(&t);
}

/* After a failed assertion: the gateways' logs, then whatever runs is killed by its PID. */
static int teardown(void **state)
{
    for (int i = 0; i < t.ngw; i++) {
        if (t.gw[i].gw.pid > 0) {
            char *log = ag_child_output(&t.gw[i].gw);
            fprintf(stderr, "aigate %d log:\n%s\n", i, log ? log : "");
            free(log);
        }
    }
    ag_fleet_kill(&t);
    return 0;
}

/* A JSON request to gateway i; the status, the body in out (NUL-terminated). */
static long call(int i, const char *method, const char *path, const char *body, struct ag_buf *out)
{
    char url[256];
    const char *hdrs[] = {"Authorization: Bearer " KEY, "Content-Type: application/json", NULL};
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", t.gw[i].port, path);
    ag_buf_reset(out);
    long st = ag_test_http(method, url, body, hdrs, out);
    ag_buf_append(out, "", 1);
    out->len--;
    return st;
}

/* The body of the last upstream request whose path contains path_part, parsed (free it). */
static yyjson_doc *last_upstream(const char *path_part, int *count)
{
    char url[256];
    struct ag_buf b;
    ag_buf_init(&b, 0);
    snprintf(url, sizeof(url), "%s/__mock/requests?path=%s", t.mock.base_url, path_part);
    assert_int_equal(ag_test_http("GET", url, NULL, NULL, &b), 200);
    yyjson_doc *d = yyjson_read(b.data, b.len, 0);
    assert_non_null(d);
    yyjson_val *root = yyjson_doc_get_root(d);
    size_t n = yyjson_arr_size(root);
    if (count)
        *count = (int)n;
    yyjson_doc *body = NULL;
    if (n) {
        const char *s = yyjson_get_str(yyjson_obj_get(yyjson_arr_get(root, n - 1), "body"));
        body = s ? yyjson_read(s, strlen(s), 0) : NULL;
    }
    yyjson_doc_free(d);
    ag_buf_dispose(&b);
    return body;
}

/* A Responses request with store: true on instance 0; its id into id. */
static void keep_response(const char *input, char *id, size_t cap, struct ag_buf *out)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"model\":\"gemini-2.5-flash\",\"store\":true,\"input\":\"%s\"}",
             input);
    assert_int_equal(call(0, "POST", "/v1/responses", body, out), 200);
    yyjson_doc *d = yyjson_read(out->data, out->len, 0);
    const char *rid = yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(d), "id"));
    assert_non_null(rid);
    snprintf(id, cap, "%s", rid ? rid : "");
    yyjson_doc_free(d);
}

/* A Responses answer kept on instance 0 is continued on instance 1. */
static void responses_follow_up_on_the_other_instance(void **state)
{
    struct ag_buf out;
    char id[128] = "", body[512];
    ag_buf_init(&out, 0);
    start_all("shared-resp", false);
    keep_response("remember the word zebra-7781", id, sizeof(id), &out);
    snprintf(body, sizeof(body),
             "{\"model\":\"gemini-2.5-flash\",\"previous_response_id\":\"%s\","
             "\"input\":\"which word was it?\"}",
             id);
    assert_int_equal(mock_call("DELETE", "/__mock/requests", NULL), 200);
    /* at once, as a client behind a load balancer would: the put left for Redis before the
     * answer did */
    assert_int_equal(call(1, "POST", "/v1/responses", body, &out), 200);
    yyjson_doc *up = last_upstream("GenerateContent", NULL);
    assert_non_null(up);
    char *text = yyjson_write(up, 0, NULL);
    assert_non_null(strstr(text, "zebra-7781"));         /* the first turn */
    assert_non_null(strstr(text, "which word was it?")); /* and the follow-up */
    free(text);
    yyjson_doc_free(up);
    ag_buf_dispose(&out);
    stop_all();
}

/* GET path on gateway i until it answers want (bounded: 40 x 50 ms); the last status. */
static long get_until(int i, const char *path, long want, struct ag_buf *out)
{
    long st = 0;
    for (int k = 0; k < 40 && st != want; k++) {
        st = call(i, "GET", path, NULL, out);
        if (st != want)
            usleep(50 * 1000);
    }
    return st;
}

/* A Responses answer kept on instance 0 is read and deleted through instance 1; the deletion
 * reaches instance 0. */
static void responses_read_and_deleted_on_the_other_instance(void **state)
{
    struct ag_buf out;
    char id[128] = "", path[192];
    ag_buf_init(&out, 0);
    start_all("shared-rget", false);
    keep_response("keep the word quokka-3310", id, sizeof(id), &out);
    snprintf(path, sizeof(path), "/v1/responses/%s", id);

    /* instance 1 never saw it, and reads it (the put travels to Redis meanwhile) */
    assert_int_equal(get_until(1, path, 200, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(d), "id")), id);
    yyjson_doc_free(d);
    /* an id no instance kept is still unknown */
    assert_int_equal(
        call(1, "GET", "/v1/responses/resp_0000000000000000000000000000dead", NULL, &out), 404);

    /* deleted through instance 1: gone there, gone from Redis, and gone from instance 0 */
    assert_int_equal(call(1, "DELETE", path, NULL, &out), 200);
    assert_non_null(strstr(out.data, "\"deleted\":true"));
    assert_int_equal(call(1, "GET", path, NULL, &out), 404);
    assert_int_equal(get_until(0, path, 404, &out), 404);
    assert_int_equal(call(1, "DELETE", path, NULL, &out), 404);

    /* a client that leaves while its instance waits for a Redis that does not answer: the wait
     * is dropped with it (no crash, under ASan no use after free), and the instance goes on */
    assert_int_equal(kill(t.redis.child.pid, SIGSTOP), 0);
    for (int k = 0; k < 3; k++) {
        struct rh_conn c;
        assert_true(rh_connect(&c, t.gw[1].port, 2000));
        assert_true(rh_send_str(&c, "GET /v1/responses/resp_00000000000000000000000000000aba"
                                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " KEY
                                    "\r\n\r\n"));
        usleep(30 * 1000);
        rh_close(&c);
    }
    usleep(300 * 1000); /* past the longest wait */
    assert_int_equal(kill(t.redis.child.pid, SIGCONT), 0);
    assert_int_equal(call(1, "GET", "/healthz", NULL, &out), 200);
    ag_buf_dispose(&out);
    stop_all();
}

#define TOOLS                                                                                      \
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","                    \
    "\"description\":\"Weather for a city\",\"parameters\":{\"type\":\"object\","                  \
    "\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}]"
#define THINKING_MODEL "claude-sonnet-4-6-thinking"

/* Claude thinking kept on instance 0 is put back by instance 1 into the next turn of a tool loop
 * whose client dropped it (a chat app that keeps only content and tool calls). */
/* GET commands Redis has run so far (redis-cli INFO commandstats). */
static long redis_gets(void)
{
    char port[16], cli[300];
    char *o = NULL, *err = NULL;
    long n = 0;
    snprintf(port, sizeof(port), "%d", t.redis.port);
    /* redis-cli is installed beside redis-server (Debian's redis-tools, its dependency) */
    snprintf(cli, sizeof(cli), "%s", t.redis.bin);
    char *slash = strrchr(cli, '/');
    snprintf(slash ? slash + 1 : cli, sizeof(cli) - (size_t)(slash ? slash + 1 - cli : 0),
             "redis-cli");
    const char *argv[] = {cli, "-h", "127.0.0.1", "-p", port, "INFO", "commandstats", NULL};
    assert_int_equal(ag_child_run(argv, NULL, NULL, 10000, &o, &err), 0);
    const char *g = o ? strstr(o, "cmdstat_get:calls=") : NULL;
    if (g)
        n = strtol(g + strlen("cmdstat_get:calls="), NULL, 10);
    free(o);
    free(err);
    return n;
}

static void thinking_kept_on_one_is_restored_on_the_other(void **state)
{
    struct ag_buf out;
    char reasoning[2048], tool_id[256], name[64], args[256], body[4096];
    ag_buf_init(&out, 0);
    start_all("shared-think", false);
    assert_int_equal(call(0, "POST", "/v1/chat/completions",
                          "{\"model\":\"" THINKING_MODEL "\",\"reasoning_effort\":\"low\"," TOOLS
                          ",\"messages\":[{\"role\":\"user\",\"content\":"
                          "\"please call get_weather for Oslo\"}]}",
                          &out),
                     200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    yyjson_val *msg = yyjson_obj_get(
        yyjson_arr_get(yyjson_obj_get(yyjson_doc_get_root(d), "choices"), 0), "message");
    const char *r = yyjson_get_str(yyjson_obj_get(msg, "reasoning_content"));
    yyjson_val *tc = yyjson_arr_get(yyjson_obj_get(msg, "tool_calls"), 0);
    const char *tid = yyjson_get_str(yyjson_obj_get(tc, "id"));
    yyjson_val *fn = yyjson_obj_get(tc, "function");
    assert_non_null(r);
    assert_non_null(tid);
    snprintf(reasoning, sizeof(reasoning), "%s", r ? r : "");
    snprintf(tool_id, sizeof(tool_id), "%s", tid ? tid : "");
    char *cut = strstr(tool_id, "__thsig"); /* the client rewrites the id: no signature in it */
    if (cut)
        *cut = '\0';
    const char *nm = yyjson_get_str(yyjson_obj_get(fn, "name"));
    snprintf(name, sizeof(name), "%s", nm ? nm : "");
    yyjson_val *a = yyjson_obj_get(fn, "arguments");
    char *aj = yyjson_val_write(a, 0, NULL); /* a JSON string: written with its quotes */
    snprintf(args, sizeof(args), "%s", aj ? aj : "\"{}\"");
    free(aj);
    yyjson_doc_free(d);
    snprintf(body, sizeof(body),
             "{\"model\":\"" THINKING_MODEL "\",\"reasoning_effort\":\"low\"," TOOLS
             ",\"messages\":[{\"role\":\"user\",\"content\":\"please call get_weather for Oslo\"},"
             "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"%s\","
             "\"type\":\"function\",\"function\":{\"name\":\"%s\",\"arguments\":%s}}]},"
             "{\"role\":\"tool\",\"tool_call_id\":\"%s\",\"content\":\"3C, snow\"}]}",
             tool_id, name, args, tool_id);
    /* at once, as a client behind a load balancer would: the put left for Redis before the
     * answer did */
    bool restored = false;
    {
        assert_int_equal(call(1, "POST", "/v1/chat/completions", body, &out), 200);
        yyjson_doc *up = last_upstream("GenerateContent", NULL);
        assert_non_null(up);
        yyjson_val *contents =
            yyjson_obj_get(yyjson_obj_get(yyjson_doc_get_root(up), "request"), "contents");
        yyjson_val *model = NULL, *c;
        size_t i, max;
        yyjson_arr_foreach(contents, i, max, c)
        {
            const char *role = yyjson_get_str(yyjson_obj_get(c, "role"));
            if (role && strcmp(role, "model") == 0)
                model = c;
        }
        yyjson_val *p0 = yyjson_arr_get(yyjson_obj_get(model, "parts"), 0);
        const char *text = yyjson_get_str(yyjson_obj_get(p0, "text"));
        restored = yyjson_get_bool(yyjson_obj_get(p0, "thought")) && text &&
                   strcmp(text, reasoning) == 0 &&
                   yyjson_get_str(yyjson_obj_get(p0, "thoughtSignature"));
        yyjson_doc_free(up);
    }
    assert_true(restored);
    /* the same tool turn for a model that is not Claude: nothing is read from Redis for it */
    char other[4096];
    snprintf(other, sizeof(other),
             "{\"model\":\"gemini-2.5-flash\"," TOOLS
             ",\"messages\":[{\"role\":\"user\",\"content\":\"please call get_weather for Oslo\"},"
             "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_other_1\","
             "\"type\":\"function\",\"function\":{\"name\":\"%s\",\"arguments\":%s}}]},"
             "{\"role\":\"tool\",\"tool_call_id\":\"call_other_1\",\"content\":\"3C, snow\"}]}",
             name, args);
    long gets = redis_gets();
    assert_int_equal(call(1, "POST", "/v1/chat/completions", other, &out), 200);
    assert_int_equal(redis_gets(), gets);
    ag_buf_dispose(&out);
    stop_all();
}

/* Calls of the token endpoint with refresh token rt. */
static int count_token_calls(const char *rt)
{
    char url[256], want[64];
    struct ag_buf b;
    int n = 0;
    ag_buf_init(&b, 0);
    snprintf(url, sizeof(url), "%s/__mock/requests?path=/token", t.mock.base_url);
    snprintf(want, sizeof(want), "refresh_token=%s&", rt);
    assert_int_equal(ag_test_http("GET", url, NULL, NULL, &b), 200);
    yyjson_doc *d = yyjson_read(b.data, b.len, 0);
    yyjson_val *v;
    size_t i, max;
    yyjson_arr_foreach(yyjson_doc_get_root(d), i, max, v)
    {
        const char *body = yyjson_get_str(yyjson_obj_get(v, "body"));
        char padded[1024];
        snprintf(padded, sizeof(padded), "%s&", body ? body : "");
        if (strstr(padded, want))
            n++;
    }
    yyjson_doc_free(d);
    ag_buf_dispose(&b);
    return n;
}

/* Both instances start with an expired token: one refresh for both. */
static void one_refresh_for_all_instances(void **state)
{
    struct ag_buf out;
    ag_buf_init(&out, 0);
    start_all("shared-token", true);
    const char *chat = "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
                       "\"content\":\"hello\"}]}";
    /* both at once: one instance refreshes, the other waits for its token */
    struct rh_conn c[NGW];
    char req[512];
    snprintf(req, sizeof(req),
             "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(chat), chat);
    for (int i = 0; i < NGW; i++) {
        assert_true(rh_connect(&c[i], t.gw[i].port, 15000));
        assert_true(rh_send_str(&c[i], req));
    }
    for (int i = 0; i < NGW; i++) {
        struct rh_resp r = {0};
        assert_true(rh_read(&c[i], &r, false));
        assert_int_equal(r.status, 200);
        rh_resp_free(&r);
        rh_close(&c[i]);
    }
    /* and later requests on either need none */
    for (int i = 0; i < 4; i++)
        assert_int_equal(call(i % NGW, "POST", "/v1/chat/completions", chat, &out), 200);
    /* one refresh per account for both instances (the later requests may go to b too) */
    assert_int_equal(count_token_calls("rt-a"), 1);
    assert_true(count_token_calls("rt-b") <= 1);
    ag_buf_dispose(&out);
    stop_all();
}

/* The id of the account with email on gateway i. */
/* email's account at gateway i (GET /api/accounts): its id into id (cap bytes; may be NULL) and
 * whether it is disabled (1, 0, or -1 when there is no such account). */
static int find_account(int i, const char *email, char *id, size_t cap)
{
    struct ag_buf out;
    int v = -1;
    ag_buf_init(&out, 0);
    assert_int_equal(call(i, "GET", "/api/accounts", NULL, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    yyjson_val *root = yyjson_doc_get_root(d);
    yyjson_val *list = yyjson_is_arr(root) ? root : yyjson_obj_get(root, "accounts");
    yyjson_val *a;
    size_t k, max;
    yyjson_arr_foreach(list, k, max, a)
    {
        const char *e = yyjson_get_str(yyjson_obj_get(a, "email"));
        if (!e || strcmp(e, email) != 0)
            continue;
        v = yyjson_get_bool(yyjson_obj_get(a, "disabled")) ? 1 : 0;
        if (id) {
            const char *s = yyjson_get_str(yyjson_obj_get(a, "id"));
            snprintf(id, cap, "%s", s ? s : "");
        }
    }
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return v;
}

static int account_disabled(int i, const char *email)
{
    return find_account(i, email, NULL, 0);
}

/* Waits (bounded: 100 x 50 ms) until email's account at gateway i is disabled (want 1) or
 * enabled (want 0); fails the test when it never is. */
static void wait_disabled(int i, const char *email, int want)
{
    int v = -1;
    for (int k = 0; k < 100 && (v = account_disabled(i, email)) != want; k++)
        usleep(50 * 1000);
    if (v != want)
        fail_msg("gateway %d: %s disabled=%d, expected %d", i, email, v, want);
}

static void account_id(int i, const char *email, char *id, size_t cap)
{
    id[0] = '\0';
    assert_true(find_account(i, email, id, cap) >= 0 && id[0] != '\0');
}

/* An account disabled through instance 0's admin API is disabled on instance 1 and serves no
 * request there; enabled again on 0, it is enabled on 1. */
static void account_disabled_on_one_is_disabled_on_the_other(void **state)
{
    struct ag_buf out;
    char id[128], path[192], url[256];
    ag_buf_init(&out, 0);
    start_all("shared-dis", false);
    account_id(0, "b@example.com", id, sizeof(id));
    assert_int_equal(account_disabled(1, "b@example.com"), 0);
    snprintf(path, sizeof(path), "/api/accounts/%s/disable", id);
    assert_int_equal(call(0, "POST", path, "{}", &out), 200);
    wait_disabled(1, "b@example.com", 1);
    /* with a refusing everything, nothing reaches b at instance 1 */
    assert_int_equal(mock_call("POST", "/__mock/faults",
                               "{\"status\":429,\"token\":\"at-a\",\"permanent\":true,"
                               "\"reason\":\"QUOTA_EXHAUSTED\",\"retry_delay\":\"60s\"}"),
                     200);
    assert_int_equal(mock_call("DELETE", "/__mock/requests", NULL), 200);
    const char *chat = "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
                       "\"content\":\"anyone there?\"}]}";
    assert_true(call(1, "POST", "/v1/chat/completions", chat, &out) >= 400);
    snprintf(url, sizeof(url), "%s/__mock/requests?path=GenerateContent", t.mock.base_url);
    ag_buf_reset(&out);
    assert_int_equal(ag_test_http("GET", url, NULL, NULL, &out), 200);
    ag_buf_append(&out, "", 1);
    assert_null(strstr(out.data, "Bearer at-b"));
    /* enabled again on 0: enabled on 1 */
    snprintf(path, sizeof(path), "/api/accounts/%s/enable", id);
    assert_int_equal(call(0, "POST", path, "{}", &out), 200);
    wait_disabled(1, "b@example.com", 0);
    ag_buf_dispose(&out);
    stop_all();
}

/* An account removed through instance 0's admin API stops serving on instance 1. */
static void account_removed_on_one_is_removed_on_the_other(void **state)
{
    struct ag_buf out;
    char id[128], path[192];
    ag_buf_init(&out, 0);
    start_all("shared-del", false);
    account_id(0, "b@example.com", id, sizeof(id));
    snprintf(path, sizeof(path), "/api/accounts/%s", id);
    long st = call(0, "DELETE", path, NULL, &out);
    assert_true(st == 200 || st == 204);
    bool gone = false;
    for (int k = 0; k < 100 && !gone; k++) { /* bounded: 100 x 50 ms */
        assert_int_equal(call(1, "GET", "/api/accounts", NULL, &out), 200);
        gone = strstr(out.data, "b@example.com") == NULL;
        if (!gone)
            usleep(50 * 1000);
    }
    assert_true(gone);
    /* and serves no more there: with a refusing everything, nothing reaches b */
    assert_int_equal(mock_call("POST", "/__mock/faults",
                               "{\"status\":429,\"token\":\"at-a\",\"permanent\":true,"
                               "\"reason\":\"QUOTA_EXHAUSTED\",\"retry_delay\":\"60s\"}"),
                     200);
    assert_int_equal(mock_call("DELETE", "/__mock/requests", NULL), 200);
    const char *chat = "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
                       "\"content\":\"anyone there?\"}]}";
    assert_int_equal(call(1, "POST", "/v1/chat/completions", chat, &out), 429);
    int n = 0;
    yyjson_doc *d = last_upstream("GenerateContent", &n);
    char *all = d ? yyjson_write(d, 0, NULL) : NULL;
    assert_true(n >= 1); /* a was tried */
    free(all);
    yyjson_doc_free(d);
    char url[256];
    snprintf(url, sizeof(url), "%s/__mock/requests?path=GenerateContent", t.mock.base_url);
    ag_buf_reset(&out);
    assert_int_equal(ag_test_http("GET", url, NULL, NULL, &out), 200);
    ag_buf_append(&out, "", 1);
    assert_null(strstr(out.data, "Bearer at-b"));
    ag_buf_dispose(&out);
    stop_all();
}

/* A configuration change made through instance 0's admin API shows in instance 1's. */
static void config_change_reaches_the_other_instance(void **state)
{
    struct ag_buf out;
    ag_buf_init(&out, 0);
    start_all("shared-cfg", false);
    assert_int_equal(
        call(0, "PUT", "/api/config", "{\"scheduling\":{\"max_cooldown_s\":4321}}", &out), 200);
    bool seen = false;
    for (int k = 0; k < 100 && !seen; k++) { /* bounded: 100 x 50 ms */
        assert_int_equal(call(1, "GET", "/api/config", NULL, &out), 200);
        seen = strstr(out.data, "\"max_cooldown_s\":4321") != NULL;
        if (!seen)
            usleep(50 * 1000);
    }
    assert_true(seen);
    /* kept there too: in instance 1's own config.json */
    char path[256], text[8192] = "";
    snprintf(path, sizeof(path), "%s/config.json", t.gw[1].dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_non_null(strstr(text, "4321"));
    /* the instance's own settings stay its own */
    assert_int_equal(call(0, "PUT", "/api/config", "{\"log\":{\"level\":\"debug\"}}", &out), 200);
    ag_buf_dispose(&out);
    stop_all();
}

int main(void)
{
    if (!ag_redisrv_installed())
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(responses_follow_up_on_the_other_instance, teardown),
        cmocka_unit_test_teardown(responses_read_and_deleted_on_the_other_instance, teardown),
        cmocka_unit_test_teardown(thinking_kept_on_one_is_restored_on_the_other, teardown),
        cmocka_unit_test_teardown(one_refresh_for_all_instances, teardown),
        cmocka_unit_test_teardown(account_removed_on_one_is_removed_on_the_other, teardown),
        cmocka_unit_test_teardown(account_disabled_on_one_is_disabled_on_the_other, teardown),
        cmocka_unit_test_teardown(config_change_reaches_the_other_instance, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
