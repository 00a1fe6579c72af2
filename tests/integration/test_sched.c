/* Integration tests of scheduling (src/pool) against the real mock upstream ($AIGATE_MOCK_BIN):
 * a pool on its own loop and store in this process for sticky sessions in cache_first,
 * performance_first spreading, quota refresh and protection, the concurrency limit and the
 * request-level 429 rule; and `aigate accounts login` ($AIGATE_BIN) end to end against the
 * mock's authorization and token endpoints, through the loopback callback and through a pasted
 * redirect URL or code. Every wait is bounded; loopback only. */
#include "ag_test.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "child.h"
#include "loopwait.h"
#include "config/config.h"
#include "core/err.h"
#include "core/str.h"
#include "core/time.h"
#include "pool/pool.h"
#include "rawhttp.h"
#include "store/accounts.h"
#include "store/store.h"
#include "upstream/client.h"

static struct ag_child mock;
static int mock_port;

static void mock_call(const char *method, const char *path, const char *body)
{
    struct rh_resp r = {0};
    const char *hdr = body ? "Content-Type: application/json\r\n" : NULL;
    assert_true(rh_request(mock_port, method, path, hdr, body, &r));
    assert_true(r.status >= 200 && r.status < 300);
    rh_resp_free(&r);
}

static int group_setup(void **state)
{
    return ag_test_mock_start(&mock, &mock_port);
}

static int group_teardown(void **state)
{
    ag_test_mock_stop(&mock);
    return 0;
}

static void mock_setup(void)
{
    mock_call("POST", "/__mock/reset", "{}");
    mock_call("PUT", "/__mock/accounts",
              "[{\"email\":\"a@example.com\",\"refresh_token\":\"1//rt-a\",\"access_token\":"
              "\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\",\"code\":\"code-a\","
              "\"quotas\":{\"claude-sonnet-4-5\":0.05,\"gemini-2.5-flash\":1.0}},"
              "{\"email\":\"b@example.com\",\"refresh_token\":\"1//rt-b\",\"access_token\":"
              "\"at-b\",\"project\":\"proj-b\",\"tier\":\"PRO\",\"code\":\"code-b\","
              "\"quotas\":{\"claude-sonnet-4-5\":0.9,\"gemini-2.5-flash\":1.0}},"
              "{\"email\":\"c@example.com\",\"refresh_token\":\"1//rt-c\",\"access_token\":"
              "\"at-c\",\"project\":\"proj-c\",\"tier\":\"ULTRA\",\"code\":\"code-c\"}]");
    mock_call("DELETE", "/__mock/requests", NULL);
}

/* ---- a pool on its own loop ---- */

struct fx {
    char dir[64];
    uv_loop_t loop;
    struct ag_upstream_client *client;
    struct ag_store *store;
    struct ag_config *cfg;
    struct ag_pool *pool;
    char ids[3][AG_ACCOUNT_ID_SIZE];
};

static void set_flag(void *ud)
{
    *(bool *)ud = true;
}

/* Accounts a (pro), b (pro), c (ultra unless tiers_equal) with valid tokens and projects. */
static void fx_open(struct fx *f, const char *sched, bool tiers_equal)
{
    char err[256], json[2048];
    const char *names[] = {"a", "b", "c"};
    memset(f, 0, sizeof(*f));
    ag_strlcpy(f->dir, "/tmp/aigate-sched-XXXXXX", sizeof(f->dir));
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(ag_store_open(f->dir, &f->store, err, sizeof(err)), 0);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->client = ag_upstream_client_new(&f->loop, NULL);
    snprintf(json, sizeof(json),
             "{\"oauth\":{\"token_url\":\"http://127.0.0.1:%d/token\",\"userinfo_url\":"
             "\"http://127.0.0.1:%d/userinfo\",\"clients\":[{\"name\":\"mock\",\"client_id\":"
             "\"mock-client\"}]},\"upstream\":{\"cloudcode_endpoints\":[\"http://127.0.0.1:%d/"
             "v1internal\"]},%s}",
             mock_port, mock_port, mock_port, sched);
    assert_int_equal(ag_config_from_json(json, strlen(json), &f->cfg, NULL), 0);
    mock_setup();
    for (int i = 0; i < 3; i++) {
        char email[32], rt[32], at[32], proj[32];
        snprintf(email, sizeof(email), "%s@example.com", names[i]);
        snprintf(rt, sizeof(rt), "1//rt-%s", names[i]);
        snprintf(at, sizeof(at), "at-%s", names[i]);
        snprintf(proj, sizeof(proj), "proj-%s", names[i]);
        struct ag_account a = {.email = email,
                               .refresh_token = rt,
                               .access_token = at,
                               .token_expiry = ag_wall_s() + 7200,
                               .project_id = proj};
        assert_int_equal(ag_store_account_upsert(f->store, &a, f->ids[i], NULL), 0);
        assert_int_equal(ag_store_account_set_quota(
                             f->store, f->ids[i], "{}",
                             i == 2 && !tiers_equal ? AG_TIER_ULTRA : AG_TIER_PRO, ag_wall_s()),
                         0);
    }
    f->pool = ag_pool_new(&f->loop, f->client, f->store, NULL, f->cfg);
    assert_non_null(f->pool);
}

static void fx_close(struct fx *f)
{
    bool done = false;
    ag_pool_close(f->pool, set_flag, &done);
    assert_true(ag_test_run_until(&f->loop, &done, 5000));
    ag_pool_free(f->pool);
    done = false;
    ag_upstream_client_close(f->client, set_flag, &done);
    assert_true(ag_test_run_until(&f->loop, &done, 5000));
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    ag_config_unref(f->cfg);
    ag_store_free(f->store);
    ag_test_rmtree(f->dir);
}

struct got {
    bool done;
    int err;
    enum ag_pool_denial_kind deny;
    char email[64], id[AG_ACCOUNT_ID_SIZE];
    const struct ag_lease *lease;
};

static void on_acquired(int err, const struct ag_lease *lease, const struct ag_pool_denial *d,
                        void *ud)
{
    struct got *g = ud;
    g->done = true;
    g->err = err;
    g->lease = lease;
    if (lease) {
        ag_strlcpy(g->email, lease->email, sizeof(g->email));
        ag_strlcpy(g->id, lease->account_id, sizeof(g->id));
    } else {
        g->deny = d->kind;
    }
}

static void start(struct fx *f, struct got *g, const char *group, const char *session,
                  const char *const *ex, size_t nex)
{
    struct ag_pool_want w = {
        .group = group, .session_key = session, .exclude = ex, .nexclude = nex};
    memset(g, 0, sizeof(*g));
    assert_non_null(ag_pool_acquire(f->pool, &w, on_acquired, g));
}

/* Acquires, waits, reports outcome kind (OK unless told), releases. */
static struct got turn(struct fx *f, const char *group, const char *session,
                       enum ag_pool_outcome_kind kind, int64_t delay_ms)
{
    struct got g;
    start(f, &g, group, session, NULL, 0);
    assert_true(ag_test_run_until(&f->loop, &g.done, 10000));
    if (g.lease) {
        struct ag_pool_outcome o = {.kind = kind,
                                    .group = group,
                                    .status = kind == AG_POOL_OK ? 200 : 429,
                                    .retry_delay_ms = delay_ms};
        ag_pool_report(f->pool, g.lease->account_id, &o);
        ag_pool_release(f->pool, g.lease);
        g.lease = NULL;
    }
    return g;
}

/* ---- sticky sessions ---- */

static void test_cache_first_keeps_a_session_20_turns(void **state)
{
    struct fx f;
    char bound[64], other[32];
    fx_open(&f, "\"scheduling\":{\"mode\":\"cache_first\",\"max_wait_s\":5}", true);
    struct got g = turn(&f, "claude", "sid-conversation-1", AG_POOL_OK, 0);
    assert_int_equal(g.err, 0);
    ag_strlcpy(bound, g.email, sizeof(bound));
    for (int i = 1; i < 20; i++) {
        /* Other conversations and session-less requests in between spread over the pool. */
        snprintf(other, sizeof(other), "sid-other-%d", i);
        assert_int_equal(turn(&f, "claude", other, AG_POOL_OK, 0).err, 0);
        assert_int_equal(turn(&f, "claude", NULL, AG_POOL_OK, 0).err, 0);
        if (i == 10) {
            /* The bound account is rate limited for a second: cache_first waits for it. */
            struct got h;
            uint64_t t0 = ag_now_ms();
            start(&f, &h, "claude", "sid-conversation-1", NULL, 0);
            assert_true(ag_test_run_until(&f.loop, &h.done, 10000));
            struct ag_pool_outcome o = {.kind = AG_POOL_RATE_LIMITED,
                                        .group = "claude",
                                        .status = 429,
                                        .retry_delay_ms = 700};
            /* Twice: one 429 alone on a busy account may be the request's fault (pain #1). */
            ag_pool_report(f.pool, h.lease->account_id, &o);
            ag_pool_report(f.pool, h.lease->account_id, &o);
            ag_pool_release(f.pool, h.lease);
            g = turn(&f, "claude", "sid-conversation-1", AG_POOL_OK, 0);
            assert_true(ag_now_ms() - t0 >= 1000); /* 700 ms + margin */
            assert_string_equal(g.email, bound);
            continue;
        }
        g = turn(&f, "claude", "sid-conversation-1", AG_POOL_OK, 0);
        assert_int_equal(g.err, 0);
        assert_string_equal(g.email, bound);
    }
    fx_close(&f);
}

static void test_balance_moves_a_session_off_a_cooling_account(void **state)
{
    struct fx f;
    char bound[64];
    fx_open(&f, "\"scheduling\":{\"mode\":\"balance\"}", true);
    struct got g = turn(&f, "claude", "sid-x", AG_POOL_OK, 0);
    ag_strlcpy(bound, g.email, sizeof(bound));
    for (int i = 0; i < 3; i++)
        assert_string_equal(turn(&f, "claude", "sid-x", AG_POOL_OK, 0).email, bound);
    /* A real limit: two 429s in a row (the first alone could be the request's fault). */
    for (int i = 0; i < 2; i++) {
        g = turn(&f, "claude", "sid-x", AG_POOL_RATE_LIMITED, 60000);
        assert_string_equal(g.email, bound);
    }
    g = turn(&f, "claude", "sid-x", AG_POOL_OK, 0);
    assert_string_not_equal(g.email, bound); /* moved, and bound there now */
    ag_strlcpy(bound, g.email, sizeof(bound));
    assert_string_equal(turn(&f, "claude", "sid-x", AG_POOL_OK, 0).email, bound);
    fx_close(&f);
}

/* ---- performance_first ---- */

static void test_performance_first_spreads(void **state)
{
    struct fx f;
    struct got gs[9];
    int per[3] = {0};
    fx_open(&f, "\"scheduling\":{\"mode\":\"performance_first\"}", true);
    /* Concurrent requests (leases held): the less busy of two random picks wins. */
    for (int i = 0; i < 9; i++) {
        start(&f, &gs[i], "claude", "sid-same", NULL, 0);
        assert_true(ag_test_run_until(&f.loop, &gs[i].done, 10000));
        assert_int_equal(gs[i].err, 0);
        for (int k = 0; k < 3; k++)
            per[k] += strcmp(gs[i].id, f.ids[k]) == 0;
    }
    for (int k = 0; k < 3; k++)
        assert_true(per[k] >= 2); /* no stickiness, and never one account while others idle */
    for (int i = 0; i < 9; i++)
        ag_pool_release(f.pool, gs[i].lease);
    fx_close(&f);
}

/* ---- quota ---- */

static bool quota_fetched(struct fx *f, int i)
{
    struct ag_pool_snapshot s;
    bool ok;
    assert_int_equal(ag_pool_snapshot(f->pool, &s), 0);
    ok = !s.items[i].quota_refreshing && s.items[i].quota_updated_at > 0 &&
         s.items[i].tier == (i == 2 ? AG_TIER_ULTRA : AG_TIER_PRO);
    ag_pool_snapshot_dispose(&s);
    return ok;
}

static void test_quota_refresh_and_protection(void **state)
{
    struct fx f;
    struct ag_account a = {0};
    bool never = false;
    fx_open(&f, "\"quota\":{\"protection_threshold\":10},\"scheduling\":{\"mode\":\"balance\"}",
            true);
    /* Before any fetch c is "pro" (stored), the mock says ULTRA: the refresh finds out. */
    assert_int_equal(ag_pool_refresh_quota(f.pool, NULL), 0);
    uint64_t deadline = ag_now_ms() + 10000;
    while (!(quota_fetched(&f, 0) && quota_fetched(&f, 1) && quota_fetched(&f, 2)) &&
           ag_now_ms() < deadline)
        ag_test_run_until(&f.loop, &never, 50);
    for (int i = 0; i < 3; i++)
        assert_true(quota_fetched(&f, i));
    assert_int_equal(ag_store_account_get(f.store, f.ids[0], &a), 0);
    assert_non_null(strstr(a.quota_json, "claude-sonnet-4-5"));
    ag_account_dispose(&a);
    /* Claude: c (ultra) first; a (5 % < 10 %) is never chosen, b (90 %) is. */
    int seen[3] = {0};
    for (int i = 0; i < 12; i++) {
        const char *const ex[] = {f.ids[2]};
        struct got g;
        start(&f, &g, "claude", NULL, i % 2 ? ex : NULL, i % 2);
        assert_true(ag_test_run_until(&f.loop, &g.done, 10000));
        assert_int_equal(g.err, 0);
        for (int k = 0; k < 3; k++)
            seen[k] += strcmp(g.id, f.ids[k]) == 0;
        ag_pool_release(f.pool, g.lease);
    }
    assert_int_equal(seen[0], 0);
    assert_int_equal(seen[1], 6);
    assert_int_equal(seen[2], 6);
    /* The other group has quota on a: a serves it. */
    const char *const ex2[] = {f.ids[1], f.ids[2]};
    struct got g;
    start(&f, &g, "gemini-3-flash", NULL, ex2, 2);
    assert_true(ag_test_run_until(&f.loop, &g.done, 10000));
    assert_string_equal(g.email, "a@example.com");
    ag_pool_release(f.pool, g.lease);
    /* Only a for claude: protected -> 429-style denial with the reset time. */
    const char *const ex3[] = {f.ids[1], f.ids[2]};
    start(&f, &g, "claude", NULL, ex3, 2);
    assert_true(ag_test_run_until(&f.loop, &g.done, 10000));
    assert_int_equal(g.deny, AG_POOL_DENY_COOLING);
    fx_close(&f);
}

/* ---- concurrency limit ---- */

static void test_concurrency_limit(void **state)
{
    struct fx f;
    struct got g1, g2, g3, g4, g5;
    fx_open(&f,
            "\"scheduling\":{\"mode\":\"balance\",\"max_concurrency_per_account\":1,"
            "\"max_wait_s\":1}",
            true);
    assert_int_equal(ag_store_account_set_disabled(f.store, f.ids[2], true, "test"), 0);
    assert_int_equal(ag_pool_reload(f.pool), 0);
    start(&f, &g1, "claude", NULL, NULL, 0);
    assert_true(ag_test_run_until(&f.loop, &g1.done, 5000));
    start(&f, &g2, "claude", NULL, NULL, 0);
    assert_true(ag_test_run_until(&f.loop, &g2.done, 5000));
    assert_string_not_equal(g1.id, g2.id); /* one request per account */
    /* A third waits for a release, and gets the released account. */
    start(&f, &g3, "claude", NULL, NULL, 0);
    bool never = false;
    ag_test_run_until(&f.loop, &never, 200);
    assert_false(g3.done);
    ag_pool_release(f.pool, g1.lease);
    assert_true(ag_test_run_until(&f.loop, &g3.done, 5000));
    assert_string_equal(g3.id, g1.id);
    /* Nothing released within max_wait_s: denied as busy. */
    uint64_t t0 = ag_now_ms();
    start(&f, &g4, "claude", NULL, NULL, 0);
    assert_true(ag_test_run_until(&f.loop, &g4.done, 5000));
    assert_int_equal(g4.deny, AG_POOL_DENY_BUSY);
    assert_true(ag_now_ms() - t0 >= 900);
    ag_pool_release(f.pool, g2.lease);
    ag_pool_release(f.pool, g3.lease);
    start(&f, &g5, "claude", NULL, NULL, 0);
    assert_true(ag_test_run_until(&f.loop, &g5.done, 5000));
    assert_int_equal(g5.err, 0);
    ag_pool_release(f.pool, g5.lease);
    fx_close(&f);
}

/* ---- one refused request must not cool the pool ---- */

static size_t cooldowns_of(struct fx *f, int i)
{
    struct ag_pool_snapshot s;
    size_t n;
    assert_int_equal(ag_pool_snapshot(f->pool, &s), 0);
    n = s.items[i].ncooldowns;
    ag_pool_snapshot_dispose(&s);
    return n;
}

static int index_of(struct fx *f, const char *id)
{
    for (int i = 0; i < 3; i++) {
        if (strcmp(f->ids[i], id) == 0)
            return i;
    }
    fail();
    return -1;
}

static void test_request_level_429(void **state)
{
    struct fx f;
    struct got g;
    const char *tried[3];
    fx_open(&f, "\"scheduling\":{\"mode\":\"balance\"}", true);
    /* Every account serves other requests fine. */
    for (int i = 0; i < 6; i++)
        assert_int_equal(turn(&f, "claude", NULL, AG_POOL_OK, 0).err, 0);
    /* One oversized request: 429 on its first account, then on its second. */
    struct ag_pool_outcome o = {
        .kind = AG_POOL_RATE_LIMITED, .group = "claude", .status = 429, .retry_delay_ms = 30000};
    for (size_t k = 0; k < 2; k++) {
        start(&f, &g, "claude", NULL, tried, k);
        assert_true(ag_test_run_until(&f.loop, &g.done, 5000));
        assert_int_equal(g.err, 0);
        tried[k] = f.ids[index_of(&f, g.id)];
        ag_pool_report(f.pool, g.lease->account_id, &o);
        ag_pool_release(f.pool, g.lease);
        /* Not cooled down: it served others a moment ago. */
        assert_int_equal(cooldowns_of(&f, index_of(&f, g.id)), 0);
    }
    /* Its third try is answered instead of burning the third account. */
    start(&f, &g, "claude", NULL, tried, 2);
    assert_true(ag_test_run_until(&f.loop, &g.done, 5000));
    assert_int_equal(g.err, AG_ENOTFOUND);
    assert_int_equal(g.deny, AG_POOL_DENY_REQUEST_REJECTED);
    /* Everybody else is still served by every account. */
    int seen[3] = {0};
    for (int i = 0; i < 6; i++) {
        g = turn(&f, "claude", NULL, AG_POOL_OK, 0);
        seen[index_of(&f, g.id)]++;
    }
    assert_true(seen[0] && seen[1] && seen[2]);
    /* Two 429s in a row on one account (no success between) are its own limit: it cools. */
    int a = index_of(&f, tried[0]);
    ag_pool_report(f.pool, f.ids[a], &o);
    assert_int_equal(cooldowns_of(&f, a), 0); /* the first: suspect */
    ag_pool_report(f.pool, f.ids[a], &o);
    assert_int_equal(cooldowns_of(&f, a), 1);
    fx_close(&f);
}

/* ---- aigate accounts login ---- */

static const char *const *login_env(void)
{
    static char v[4][160];
    static const char *env[8];
    snprintf(v[0], 160, "AIGATE_OAUTH_TOKEN_URL=http://127.0.0.1:%d/token", mock_port);
    snprintf(v[1], 160, "AIGATE_USERINFO_URL=http://127.0.0.1:%d/userinfo", mock_port);
    snprintf(v[2], 160, "AIGATE_CLOUDCODE_ENDPOINTS=http://127.0.0.1:%d/v1internal", mock_port);
    snprintf(v[3], 160, "AIGATE_OAUTH_AUTH_URL=http://127.0.0.1:%d/o/oauth2/v2/auth", mock_port);
    for (int i = 0; i < 4; i++)
        env[i] = v[i];
    env[4] = "AIGATE_OAUTH_CLIENT_ID=mock-client";
    env[5] = "AIGATE_LOG_LEVEL=warn";
    env[6] = "DISPLAY=";
    env[7] = NULL;
    return env;
}

/* Waits for the login's URL in the child's output; writes its path+query into path. */
static void login_url(struct ag_child *c, char *path, size_t cap)
{
    char prefix[64], *out, *p, *end;
    assert_true(ag_child_wait_output(c, "Waiting for the browser", 10000));
    out = ag_child_output(c);
    snprintf(prefix, sizeof(prefix), "http://127.0.0.1:%d", mock_port);
    p = strstr(out, prefix);
    assert_non_null(p);
    p += strlen(prefix);
    end = strpbrk(p, " \r\n");
    assert_non_null(end);
    assert_true((size_t)(end - p) < cap);
    memcpy(path, p, (size_t)(end - p));
    path[end - p] = '\0';
    assert_non_null(strstr(path, "state="));
    assert_non_null(strstr(path, "cloud-platform"));
    assert_non_null(strstr(path, "access_type=offline"));
    free(out);
}

/* The mock's consent page: its redirect (Location), for login_hint email. */
static void authorize(const char *path, const char *email, char *location, size_t cap)
{
    char full[4096];
    struct rh_resp r = {0};
    snprintf(full, sizeof(full), "%s&login_hint=%s", path, email);
    assert_true(rh_request(mock_port, "GET", full, NULL, NULL, &r));
    assert_int_equal(r.status, 302);
    assert_true(rh_header(&r, "location", location, cap));
    rh_resp_free(&r);
}

static void login_child(struct ag_child *c, const char *dir, const char *fifo)
{
    static char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "exec \"%s\" --data-dir '%s' accounts login --no-browser --timeout 20%s%s%s",
             getenv("AIGATE_BIN"), dir, fifo ? " < '" : " < /dev/null", fifo ? fifo : "",
             fifo ? "'" : "");
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    assert_true(ag_child_start(c, argv, login_env(), NULL, 0));
}

static void assert_account(const char *dir, const char *email)
{
    struct ag_store *s = NULL;
    struct ag_account a = {0};
    char err[256];
    assert_int_equal(ag_store_open(dir, &s, err, sizeof(err)), 0);
    assert_int_equal(ag_store_account_get_by_email(s, email, &a), 0);
    assert_non_null(a.quota_json);
    assert_non_null(a.project_id);
    ag_account_dispose(&a);
    ag_store_free(s);
}

static void test_login_loopback_callback(void **state)
{
    char dir[64] = "/tmp/aigate-login-XXXXXX", path[4096], loc[4096];
    struct ag_child c;
    struct rh_resp r = {0};
    int port = 0;
    assert_non_null(mkdtemp(dir));
    mock_setup();
    login_child(&c, dir, NULL);
    login_url(&c, path, sizeof(path));
    authorize(path, "c@example.com", loc, sizeof(loc));
    /* The browser follows the redirect to the CLI's loopback listener. */
    assert_int_equal(sscanf(loc, "http://127.0.0.1:%d/", &port), 1);
    const char *cb = strstr(loc + 7, "/");
    assert_non_null(strstr(cb, "code=code-c"));
    /* A callback with another state is refused, and the login goes on. */
    char bad[4096];
    snprintf(bad, sizeof(bad), "/oauth-callback?code=code-c&state=0123");
    assert_true(rh_request(port, "GET", bad, NULL, NULL, &r));
    assert_int_equal(r.status, 400);
    rh_resp_free(&r);
    assert_true(rh_request(port, "GET", cb, NULL, NULL, &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "c@example.com"));
    rh_resp_free(&r);
    assert_int_equal(ag_child_stop(&c, 0, 10000), 0); /* signal 0: wait for its own exit */
    char *out = ag_child_output(&c);
    assert_non_null(strstr(out, "added c@example.com (tier ultra, project proj-c"));
    free(out);
    ag_child_cleanup(&c);
    assert_account(dir, "c@example.com");
    ag_test_rmtree(dir);
}

static void test_login_pasted_redirect_url_and_code(void **state)
{
    char dir[64] = "/tmp/aigate-login-XXXXXX", fifo[128], path[4096], loc[4096];
    struct ag_child c;
    assert_non_null(mkdtemp(dir));
    mock_setup();
    snprintf(fifo, sizeof(fifo), "%s/stdin", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    login_child(&c, dir, fifo);
    int fd = open(fifo, O_WRONLY); /* the shell opens the other end at once */
    assert_true(fd >= 0);
    login_url(&c, path, sizeof(path));
    authorize(path, "b@example.com", loc, sizeof(loc));
    /* The user pastes where the browser ended (e.g. a browser on another machine). */
    const char *junk = "not a code at all\n";
    assert_true(write(fd, junk, strlen(junk)) > 0);
    assert_true(write(fd, loc, strlen(loc)) > 0);
    assert_true(write(fd, "\n", 1) == 1);
    assert_true(ag_child_wait_output(&c, "added b@example.com", 10000));
    close(fd);
    assert_int_equal(ag_child_stop(&c, 0, 10000), 0); /* signal 0: wait for its own exit */
    ag_child_cleanup(&c);
    assert_account(dir, "b@example.com");

    /* A bare code pasted on stdin works too. */
    const char *argv[] = {getenv("AIGATE_BIN"), "--data-dir", dir,  "accounts", "login",
                          "--no-browser",       "--timeout",  "20", NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(ag_child_run(argv, login_env(), "code-a\n", 20000, &out, &err), 0);
    assert_non_null(strstr(out, "added a@example.com"));
    free(out);
    free(err);
    /* A refused code: exit 1 with the reason. */
    assert_int_equal(ag_child_run(argv, login_env(), "code-nobody\n", 20000, &out, &err), 1);
    assert_non_null(strstr(err, "invalid_grant"));
    free(out);
    free(err);
    /* And `accounts refresh` re-reads tokens, tier and quota. */
    const char *refresh[] = {getenv("AIGATE_BIN"), "--data-dir", dir, "accounts", "refresh", NULL};
    assert_int_equal(ag_child_run(refresh, login_env(), NULL, 20000, &out, &err), 0);
    assert_non_null(strstr(out, "refreshed 2 of 2 enabled accounts"));
    free(out);
    free(err);
    const char *list[] = {getenv("AIGATE_BIN"), "--data-dir", dir, "accounts", "list", NULL};
    assert_int_equal(ag_child_run(list, login_env(), NULL, 20000, &out, &err), 0);
    assert_non_null(strstr(out, "claude 5%"));
    assert_non_null(strstr(out, "stored state"));
    free(out);
    free(err);
    ag_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_first_keeps_a_session_20_turns),
        cmocka_unit_test(test_balance_moves_a_session_off_a_cooling_account),
        cmocka_unit_test(test_performance_first_spreads),
        cmocka_unit_test(test_quota_refresh_and_protection),
        cmocka_unit_test(test_concurrency_limit),
        cmocka_unit_test(test_request_level_429),
        cmocka_unit_test(test_login_loopback_callback),
        cmocka_unit_test(test_login_pasted_redirect_url_and_code),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
