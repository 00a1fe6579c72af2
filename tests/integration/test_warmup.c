/* Integration test of the warm-up (relay/warmup.h) with the real binaries: aigate in front of the
 * mock upstream with two accounts, one of them cooling down for Claude after a quota 429. A
 * manual run through the admin route sends exactly one minimal request per eligible account x
 * group (none for the cooling one, none where the quota is already in use), each recorded with
 * protocol "warmup"; a second run right after sends nothing (warmed recently); `aigate warmup`
 * asks the running gateway; a schedule a few seconds ahead, set through the admin config API
 * while running, fires on its own. Bad warmup.* values are refused with a clear message. Every
 * wait is bounded; loopback only. */
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
#include <time.h>
#include <unistd.h>
#include <yyjson.h>

#define KEY "sk-warmup-test-key"

static long admin_call(struct ag_gwenv *e, const char *method, const char *path, const char *body,
                       struct ag_buf *out)
{
    char url[256];
    const char *hdrs[] = {"Authorization: Bearer " KEY, "Content-Type: application/json", NULL};
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", e->port, path);
    ag_buf_reset(out);
    return ag_test_http(method, url, body, hdrs, out);
}

#define ACCOUNT_A                                                                                  \
    "{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\",\"access_token\":\"at-a\","           \
    "\"project\":\"proj-a\",\"tier\":\"PRO\",\"quotas\":{\"claude-sonnet-4-6\":1.0,"               \
    "\"claude-opus-4-6-thinking\":1.0,\"gemini-3-flash\":1.0,\"gemini-3-pro-high\":%s}}"
#define ACCOUNT_B                                                                                  \
    "{\"email\":\"b@example.com\",\"refresh_token\":\"rt-b\",\"access_token\":\"at-b\","           \
    "\"project\":\"proj-b\",\"tier\":\"PRO\",\"quotas\":{\"claude-sonnet-4-6\":1.0,"               \
    "\"gemini-3-flash\":1.0,\"gemini-3-pro-high\":1.0}}"

#define ACCOUNT_C                                                                                  \
    "{\"email\":\"c@example.com\",\"refresh_token\":\"rt-c\",\"access_token\":\"at-c\","           \
    "\"project\":\"proj-c\",\"tier\":\"PRO\",\"quotas\":{\"claude-sonnet-4-6\":1.0}}"

static void env_start(struct ag_gwenv *e)
{
    static const char *const tokens[] = {"rt-a", "rt-b", "rt-c", NULL};
    static const char *const env[] = {"AIGATE_API_KEY=" KEY, "AIGATE_AUTH_MODE=all_except_health",
                                      NULL};
    char accounts[1024];
    /* a: gemini-3-pro-high partly used (its window is counting already). */
    snprintf(accounts, sizeof(accounts), "[" ACCOUNT_A "," ACCOUNT_B "," ACCOUNT_C "]", "0.4");
    const struct ag_gwenv_opts opts = {
        .name = "warmup", .mock_accounts = accounts, .tokens = tokens, .env = env};
    ag_gwenv_prepare(e, &opts);
    /* c: disabled by the user, never warmed. */
    const char *disable[] = {"accounts", "disable", "c@example.com", NULL};
    char *od = NULL, *ed = NULL;
    assert_int_equal(ag_gwenv_cli(e, disable, &od, &ed), 0);
    free(od);
    free(ed);
    const char *set[] = {"config", "set", "warmup.groups",
                         "claude,gemini-3-flash,gemini-3-pro-high", NULL};
    char *o = NULL, *err = NULL;
    assert_int_equal(ag_gwenv_cli(e, set, &o, &err), 0);
    free(o);
    free(err);
    ag_gwenv_launch(e);
}

/* The generate calls the mock received, as {token, model, body document} triples. */
struct sent {
    char token[32];
    char model[96];
    yyjson_doc *body;
};

static size_t mock_sent(struct ag_gwenv *e, struct sent *s, size_t cap)
{
    struct ag_buf out;
    size_t n = 0;
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(e, "GET", "/__mock/requests?path=GenerateContent", NULL, &out),
                     200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    yyjson_val *v;
    size_t i, max;
    yyjson_arr_foreach(yyjson_doc_get_root(d), i, max, v)
    {
        const char *auth =
            yyjson_get_str(yyjson_obj_get(yyjson_obj_get(v, "headers"), "authorization"));
        const char *body = yyjson_get_str(yyjson_obj_get(v, "body"));
        if (n == cap || !auth || !body)
            continue;
        memset(&s[n], 0, sizeof(s[n]));
        snprintf(s[n].token, sizeof(s[n].token), "%s", auth + 7); /* after "Bearer " */
        s[n].body = yyjson_read(body, strlen(body), 0);
        const char *model = yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(s[n].body), "model"));
        snprintf(s[n].model, sizeof(s[n].model), "%s", model ? model : "");
        n++;
    }
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return n;
}

static void sent_free(struct sent *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        yyjson_doc_free(s[i].body);
}

static bool sent_has(const struct sent *s, size_t n, const char *token, const char *model)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s[i].token, token) == 0 && strcmp(s[i].model, model) == 0)
            return true;
    }
    return false;
}

/* Every warm-up body is minimal: one user turn with a short text, a small maxOutputTokens, no
 * tools, no thinking budget. */
static void assert_minimal(const struct sent *s)
{
    yyjson_val *req = yyjson_obj_get(yyjson_doc_get_root(s->body), "request");
    yyjson_val *contents = yyjson_obj_get(req, "contents");
    assert_int_equal(yyjson_arr_size(contents), 1);
    yyjson_val *parts = yyjson_obj_get(yyjson_arr_get(contents, 0), "parts");
    assert_int_equal(yyjson_arr_size(parts), 1);
    const char *text = yyjson_get_str(yyjson_obj_get(yyjson_arr_get(parts, 0), "text"));
    assert_non_null(text);
    assert_true(strlen(text) > 0 && strlen(text) <= 16);
    yyjson_val *gc = yyjson_obj_get(req, "generationConfig");
    yyjson_val *max = yyjson_obj_get(gc, "maxOutputTokens");
    assert_true(yyjson_is_int(max));
    assert_true(yyjson_get_sint(max) >= 1 && yyjson_get_sint(max) <= 16);
    assert_null(yyjson_obj_get(yyjson_obj_get(gc, "thinkingConfig"), "thinkingBudget"));
    assert_null(yyjson_obj_get(req, "tools"));
    assert_null(yyjson_obj_get(req, "systemInstruction"));
}

/* Polls GET /api/warmup until the run with that id (any run when id < 0) with that trigger has
 * finished; returns its document (caller frees) or NULL after timeout_ms. */
static yyjson_doc *wait_run(struct ag_gwenv *e, int64_t id, const char *trigger, int timeout_ms)
{
    struct ag_buf out;
    ag_buf_init(&out, 0);
    for (int waited = 0; waited <= timeout_ms; waited += 200) {
        assert_int_equal(admin_call(e, "GET", "/api/warmup", NULL, &out), 200);
        yyjson_doc *d = yyjson_read(out.data, out.len, 0);
        yyjson_val *run = yyjson_obj_get(yyjson_doc_get_root(d), "last_run");
        if (yyjson_is_obj(run) && (id < 0 || yyjson_get_sint(yyjson_obj_get(run, "id")) == id) &&
            strcmp(yyjson_get_str(yyjson_obj_get(run, "trigger")), trigger) == 0 &&
            yyjson_get_sint(yyjson_obj_get(run, "finished_ms")) > 0) {
            ag_buf_dispose(&out);
            return d;
        }
        yyjson_doc_free(d);
        usleep(200000);
    }
    ag_buf_dispose(&out);
    return NULL;
}

/* The result of account (e-mail) x group in a run document: its outcome and reason. */
static void result_of(yyjson_doc *d, const char *email, const char *group, char *outcome,
                      char *reason)
{
    yyjson_val *v;
    size_t i, max;
    outcome[0] = reason[0] = '\0';
    yyjson_arr_foreach(
        yyjson_obj_get(yyjson_obj_get(yyjson_doc_get_root(d), "last_run"), "results"), i, max, v)
    {
        if (strcmp(yyjson_get_str(yyjson_obj_get(v, "email")), email) == 0 &&
            strcmp(yyjson_get_str(yyjson_obj_get(v, "group")), group) == 0) {
            const char *oc = yyjson_get_str(yyjson_obj_get(v, "outcome"));
            const char *rs = yyjson_get_str(yyjson_obj_get(v, "reason"));
            snprintf(outcome, 16, "%s", oc ? oc : "?");
            snprintf(reason, 64, "%s", rs ? rs : "?");
            return;
        }
    }
}

#define EXPECT(d, email, group, want_outcome, want_reason)                                         \
    do {                                                                                           \
        char o_[16], r_[64];                                                                       \
        result_of(d, email, group, o_, r_);                                                        \
        if (strcmp(o_, want_outcome) != 0 || strcmp(r_, want_reason) != 0)                         \
            fail_msg("%s x %s: %s/%s, expected %s/%s", email, group, o_, r_, want_outcome,         \
                     want_reason);                                                                 \
    } while (0)

static int64_t start_run(struct ag_gwenv *e, const char *body)
{
    struct ag_buf out;
    ag_buf_init(&out, 0);
    assert_int_equal(admin_call(e, "POST", "/api/warmup", body, &out), 202);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    int64_t id = yyjson_get_sint(yyjson_obj_get(yyjson_doc_get_root(d), "run"));
    assert_true(id > 0);
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return id;
}

static void warmup_sends_one_minimal_request_per_eligible_account_and_group(void **state)
{
    struct ag_gwenv e;
    struct ag_buf out;
    struct sent s[32];
    size_t n;
    env_start(&e);
    ag_buf_init(&out, 0);

    /* b runs out of Claude quota on a real request: it cools down for the claude group. */
    assert_int_equal(
        ag_gwenv_mock(&e, "POST", "/__mock/faults",
                      "{\"status\":429,\"token\":\"at-b\",\"model\":\"claude-sonnet-4-6\","
                      "\"permanent\":true,\"reason\":\"QUOTA_EXHAUSTED\","
                      "\"quota_reset_delay\":\"1h\"}",
                      &out),
        200);
    bool b_tried = false;
    for (int i = 0; i < 12 && !b_tried; i++) {
        char body[256];
        struct rh_resp r;
        snprintf(body, sizeof(body),
                 "{\"model\":\"claude-sonnet-4-6\",\"messages\":[{\"role\":\"user\","
                 "\"content\":\"a real question number %d\"}]}",
                 i);
        assert_true(rh_request(
            e.port, "POST", "/v1/chat/completions",
            "Content-Type: application/json\r\nAuthorization: Bearer " KEY "\r\n", body, &r));
        rh_resp_free(&r);
        n = mock_sent(&e, s, 32);
        b_tried = sent_has(s, n, "at-b", "claude-sonnet-4-6");
        sent_free(s, n);
    }
    assert_true(b_tried);
    assert_int_equal(ag_gwenv_mock(&e, "DELETE", "/__mock/faults", NULL, &out), 200);
    assert_int_equal(ag_gwenv_mock(&e, "DELETE", "/__mock/requests", NULL, &out), 200);

    /* Bad requests get clear errors. */
    assert_int_equal(
        admin_call(&e, "POST", "/api/warmup", "{\"account\":\"nobody@example.com\"}", &out), 404);
    assert_non_null(strstr(out.data, "nobody@example.com"));
    assert_int_equal(admin_call(&e, "POST", "/api/warmup", "{\"account\":7}", &out), 400);

    /* A manual run. */
    int64_t id = start_run(&e, "{}");
    yyjson_doc *d = wait_run(&e, id, "manual", 60000);
    assert_non_null(d);
    EXPECT(d, "a@example.com", "claude", "ok", "sent");
    EXPECT(d, "a@example.com", "gemini-3-flash", "ok", "sent");
    EXPECT(d, "a@example.com", "gemini-3-pro-high", "skipped", "quota_not_full");
    EXPECT(d, "b@example.com", "claude", "skipped", "cooling");
    EXPECT(d, "b@example.com", "gemini-3-flash", "ok", "sent");
    EXPECT(d, "b@example.com", "gemini-3-pro-high", "ok", "sent");
    EXPECT(d, "c@example.com", "claude", "skipped", "disabled");
    EXPECT(d, "c@example.com", "gemini-3-flash", "skipped", "disabled");
    yyjson_doc_free(d);

    /* Exactly one minimal request per eligible account x group, none for b's Claude. */
    n = mock_sent(&e, s, 32);
    assert_int_equal(n, 4);
    assert_true(sent_has(s, n, "at-a", "claude-sonnet-4-6"));
    assert_true(sent_has(s, n, "at-a", "gemini-3-flash"));
    assert_true(sent_has(s, n, "at-b", "gemini-3-flash"));
    assert_true(sent_has(s, n, "at-b", "gemini-3-pro-high"));
    for (size_t i = 0; i < n; i++)
        assert_minimal(&s[i]);
    sent_free(s, n);

    /* The request log shows them as warm-ups. Its rows reach the database through the writer
     * thread, after the run has finished: bounded wait until four are there (or more, which the
     * assertion below refuses). */
    yyjson_doc *logs = NULL;
    yyjson_val *items = NULL, *v;
    for (int tries = 0; tries < 100; tries++) {
        assert_int_equal(admin_call(&e, "GET", "/api/logs?protocol=warmup&limit=50", NULL, &out),
                         200);
        yyjson_doc_free(logs);
        logs = yyjson_read(out.data, out.len, 0);
        assert_non_null(logs);
        items = yyjson_obj_get(yyjson_doc_get_root(logs), "items");
        if (yyjson_arr_size(items) >= 4)
            break;
        usleep(100 * 1000);
    }
    size_t i, max;
    assert_int_equal(yyjson_arr_size(items), 4);
    yyjson_arr_foreach(items, i, max, v)
    {
        assert_string_equal(yyjson_get_str(yyjson_obj_get(v, "protocol")), "warmup");
        assert_int_equal(yyjson_get_sint(yyjson_obj_get(v, "status")), 200);
    }
    yyjson_doc_free(logs);

    /* Right after, nothing is sent again: every warmed account x group was warmed recently. */
    assert_int_equal(ag_gwenv_mock(&e, "DELETE", "/__mock/requests", NULL, &out), 200);
    const char *args[] = {"warmup", "--account", "a@example.com", NULL};
    char *o = NULL, *err = NULL;
    assert_int_equal(ag_gwenv_cli(&e, args, &o, &err), 0);
    assert_non_null(strstr(o, "0 sent"));
    assert_non_null(strstr(o, "warmed_recently"));
    assert_null(strstr(o, "b@example.com"));
    free(o);
    free(err);
    n = mock_sent(&e, s, 32);
    assert_int_equal(n, 0);

    /* A schedule a few seconds ahead, set while running, fires on its own. a's pro quota is full
     * again (its window ended), so that run warms it. */
    char accounts[1024], cfg[256], hhmmss[3][16];
    snprintf(accounts, sizeof(accounts), ACCOUNT_A, "1.0");
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/accounts", accounts, &out), 200);
    /* Three times ahead, in case applying the config is slow: the first one still ahead fires;
     * later ones find nothing left to warm. */
    const int ahead[3] = {4, 10, 20};
    for (int k = 0; k < 3; k++) {
        time_t at = time(NULL) + ahead[k];
        struct tm tm;
        localtime_r(&at, &tm);
        strftime(hhmmss[k], sizeof(hhmmss[k]), "%H:%M:%S", &tm);
    }
    snprintf(cfg, sizeof(cfg), "{\"warmup\":{\"enabled\":true,\"times\":[\"%s\",\"%s\",\"%s\"]}}",
             hhmmss[0], hhmmss[1], hhmmss[2]);
    assert_int_equal(admin_call(&e, "PUT", "/api/config", cfg, &out), 200);
    assert_int_equal(admin_call(&e, "GET", "/api/warmup", NULL, &out), 200);
    assert_non_null(strstr(out.data, "\"enabled\":true"));
    assert_null(strstr(out.data, "\"next_run_ms\":0"));
    d = wait_run(&e, -1, "schedule", 45000);
    assert_non_null(d);
    EXPECT(d, "a@example.com", "gemini-3-pro-high", "ok", "sent");
    EXPECT(d, "a@example.com", "claude", "skipped", "warmed_recently");
    yyjson_doc_free(d);
    n = mock_sent(&e, s, 32);
    assert_int_equal(n, 1);
    assert_true(sent_has(s, n, "at-a", "gemini-3-pro-high"));
    sent_free(s, n);

    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
}

static void bad_warmup_config_is_refused_clearly(void **state)
{
    char dir[64], var[128], *o = NULL, *err = NULL;
    snprintf(dir, sizeof(dir), "/tmp/ag-warmup-cfg-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(var, sizeof(var), "AIGATE_DATA_DIR=%s", dir);
    const char *envp[] = {var, NULL};
    const char *bad_time[] = {ag_gwenv_bin(), "config", "set", "warmup.times", "07:00,25:00", NULL};
    assert_int_equal(ag_child_run(bad_time, envp, NULL, 10000, &o, &err), 2);
    assert_non_null(strstr(err, "warmup.times"));
    assert_non_null(strstr(err, "HH:MM"));
    assert_non_null(strstr(err, "item 1"));
    free(o);
    free(err);
    const char *bad_group[] = {ag_gwenv_bin(),  "config",      "set",
                               "warmup.groups", "Claude Opus", NULL};
    assert_int_equal(ag_child_run(bad_group, envp, NULL, 10000, &o, &err), 2);
    assert_non_null(strstr(err, "warmup.groups"));
    free(o);
    free(err);
    const char *empty[] = {ag_gwenv_bin(), "config", "set", "warmup.groups", "[]", NULL};
    assert_int_equal(ag_child_run(empty, envp, NULL, 10000, &o, &err), 2);
    assert_non_null(strstr(err, "1 to 16"));
    free(o);
    free(err);
    const char *good[] = {ag_gwenv_bin(), "config", "set", "warmup.times", "06:30,18:00:30", NULL};
    assert_int_equal(ag_child_run(good, envp, NULL, 10000, &o, &err), 0);
    free(o);
    free(err);
    const char *nogw[] = {ag_gwenv_bin(), "--port", "1", "warmup", NULL};
    assert_int_equal(ag_child_run(nogw, envp, NULL, 10000, &o, &err), 1);
    assert_non_null(strstr(err, "no gateway answered"));
    free(o);
    free(err);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(warmup_sends_one_minimal_request_per_eligible_account_and_group,
                                  ag_gwenv_teardown),
        cmocka_unit_test(bad_warmup_config_is_refused_clearly),
    };
    return cmocka_run_group_tests_name("warmup", tests, NULL, NULL);
}
