/* Integration tests for the account pool (src/pool) and `aigate accounts`, against the real mock
 * upstream ($AIGATE_MOCK_BIN) on a loopback port. The pool runs in this process on its own libuv
 * loop and store; the CLI runs as the built binary ($AIGATE_BIN) on the same data dir. The mock's
 * recorded requests (/__mock/requests) count the upstream calls. Every wait is bounded. */
#include "ag_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>
#include <yyjson.h>

#include "child.h"
#include "loopwait.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/file.h"
#include "core/time.h"
#include "pool/pool.h"
#include "rawhttp.h"
#include "store/accounts.h"
#include "store/store.h"
#include "upstream/client.h"

static struct ag_child mock;
static int mock_port;

/* ---- the mock ---- */

static char *mock_call(const char *method, const char *path, const char *body)
{
    struct rh_resp r = {0};
    char *out = NULL;
    const char *hdr = body ? "Content-Type: application/json\r\n" : NULL;
    assert_true(rh_request(mock_port, method, path, hdr, body, &r));
    assert_true(r.status >= 200 && r.status < 300);
    out = r.body;
    r.body = NULL;
    rh_resp_free(&r);
    return out;
}

/* Requests the mock received whose target contains path. */
static size_t mock_count(const char *path)
{
    char q[256];
    snprintf(q, sizeof(q), "/__mock/requests?path=%s", path);
    char *body = mock_call("GET", q, NULL);
    yyjson_doc *d = yyjson_read(body, strlen(body), 0);
    size_t n = yyjson_arr_size(yyjson_doc_get_root(d));
    yyjson_doc_free(d);
    free(body);
    return n;
}

/* Accounts a, b, c (c revoked), all with project proj-<x>; requests and faults cleared. */
static void mock_setup(void)
{
    free(mock_call("POST", "/__mock/reset", "{}"));
    free(mock_call("PUT", "/__mock/accounts",
                   "[{\"email\":\"a@example.com\",\"refresh_token\":\"1//rt-a\",\"access_token\":"
                   "\"at-a\",\"project\":\"proj-a\",\"tier\":\"ULTRA\"},"
                   "{\"email\":\"b@example.com\",\"refresh_token\":\"1//rt-b\",\"access_token\":"
                   "\"at-b\",\"project\":\"proj-b\",\"tier\":\"PRO\"},"
                   "{\"email\":\"c@example.com\",\"refresh_token\":\"1//rt-c\",\"access_token\":"
                   "\"at-c\",\"project\":\"proj-c\",\"revoked\":true}]"));
    free(mock_call("DELETE", "/__mock/requests", NULL));
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

/* ---- a pool on its own loop ---- */

struct fx {
    char dir[64];
    uv_loop_t loop;
    struct ag_upstream_client *client;
    struct ag_store *store;
    struct ag_config *cfg;
    struct ag_pool *pool;
    int64_t now_ms; /* fake clock when nonzero */
};

static int64_t fake_now(void *ud)
{
    return ((struct fx *)ud)->now_ms;
}

static struct ag_config *make_cfg(const char *extra)
{
    char json[2048];
    struct ag_config *cfg = NULL;
    snprintf(json, sizeof(json),
             "{\"oauth\":{\"token_url\":\"http://127.0.0.1:%d/token\",\"userinfo_url\":"
             "\"http://127.0.0.1:%d/userinfo\",\"clients\":[{\"name\":\"other\",\"client_id\":"
             "\"other-client\"},{\"name\":\"mock\",\"client_id\":\"mock-client\"}]},"
             "\"upstream\":{\"cloudcode_endpoints\":[\"http://127.0.0.1:%d/v1internal\"]}%s}",
             mock_port, mock_port, mock_port, extra ? extra : "");
    assert_int_equal(ag_config_from_json(json, strlen(json), &cfg, NULL), 0);
    return cfg;
}

static void add_account(struct ag_store *s, const char *x, int64_t expiry, bool with_project,
                        char *id_out)
{
    char email[64], rt[32], at[32], proj[32];
    snprintf(email, sizeof(email), "%s@example.com", x);
    snprintf(rt, sizeof(rt), "1//rt-%s", x);
    snprintf(at, sizeof(at), "at-%s", x);
    snprintf(proj, sizeof(proj), "proj-%s", x);
    struct ag_account a = {.email = email,
                           .refresh_token = rt,
                           .access_token = at,
                           .token_expiry = expiry,
                           .project_id = with_project ? proj : NULL};
    assert_int_equal(ag_store_account_upsert(s, &a, id_out, NULL), 0);
}

static void fx_open(struct fx *f, const char *cfg_extra)
{
    char err[256];
    memset(f, 0, sizeof(*f));
    ag_strlcpy(f->dir, "/tmp/aigate-pool-XXXXXX", sizeof(f->dir));
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(ag_store_open(f->dir, &f->store, err, sizeof(err)), 0);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->client = ag_upstream_client_new(&f->loop, NULL);
    assert_non_null(f->client);
    f->cfg = make_cfg(cfg_extra);
    mock_setup();
}

static void fx_start(struct fx *f)
{
    f->pool = ag_pool_new(&f->loop, f->client, f->store, NULL, f->cfg);
    assert_non_null(f->pool);
}

static void set_flag(void *ud)
{
    *(bool *)ud = true;
}

static void fx_close(struct fx *f)
{
    bool done = false;
    if (f->pool) {
        ag_pool_close(f->pool, set_flag, &done);
        assert_true(ag_test_run_until(&f->loop, &done, 5000));
        ag_pool_free(f->pool);
    }
    done = false;
    ag_upstream_client_close(f->client, set_flag, &done);
    assert_true(ag_test_run_until(&f->loop, &done, 5000));
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    ag_config_unref(f->cfg);
    ag_store_free(f->store);
    ag_test_rmtree(f->dir);
}

/* ---- acquisitions ---- */

struct got {
    bool done;
    int err;
    enum ag_pool_denial_kind deny;
    char message[512];
    char email[64], token[64], project[64], id[AG_ACCOUNT_ID_SIZE];
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
        ag_strlcpy(g->token, lease->access_token, sizeof(g->token));
        ag_strlcpy(g->project, lease->project_id, sizeof(g->project));
        ag_strlcpy(g->id, lease->account_id, sizeof(g->id));
    } else {
        g->deny = d->kind;
        ag_strlcpy(g->message, d->message, sizeof(g->message));
    }
}

/* Acquires for group with up to nex excluded ids; waits for the answer; releases the lease. */
static struct got acquire(struct fx *f, const char *group, const char *const *ex, size_t nex)
{
    struct got g = {0};
    struct ag_pool_want w = {.group = group, .exclude = ex, .nexclude = nex};
    assert_non_null(ag_pool_acquire(f->pool, &w, on_acquired, &g));
    assert_false(g.done); /* always deferred */
    assert_true(ag_test_run_until(&f->loop, &g.done, 10000));
    if (g.lease)
        ag_pool_release(f->pool, g.lease);
    g.lease = NULL;
    return g;
}

static void test_refresh_before_expiry(void **state)
{
    struct fx f;
    char id[AG_ACCOUNT_ID_SIZE];
    struct ag_account a = {0};
    int64_t now = ag_wall_s();
    fx_open(&f, NULL);
    add_account(f.store, "a", now + 60, true, id); /* inside the 90 s window */
    fx_start(&f);
    struct got g = acquire(&f, "claude", NULL, 0);
    assert_int_equal(g.err, 0);
    assert_string_equal(g.email, "a@example.com");
    assert_string_equal(g.token, "at-a");
    assert_int_equal(mock_count("/token"), 1);
    assert_int_equal(ag_store_account_get(f.store, id, &a), 0);
    assert_true(a.token_expiry > now + 3000);
    ag_account_dispose(&a);
    /* Fresh now: no more refreshes. */
    g = acquire(&f, "claude", NULL, 0);
    assert_int_equal(g.err, 0);
    assert_int_equal(mock_count("/token"), 1);
    fx_close(&f);
}

#define N_CONCURRENT 100

static void test_single_flight(void **state)
{
    struct fx f;
    static struct got gs[N_CONCURRENT];
    struct ag_account a = {0};
    char id[AG_ACCOUNT_ID_SIZE];
    size_t ndone = 0;
    fx_open(&f, ",\"scheduling\":{\"fixed_account\":\"\"}");
    add_account(f.store, "b", 1, false, id); /* expired long ago, no project */
    fx_start(&f);
    free(mock_call("DELETE", "/__mock/requests", NULL));
    memset(gs, 0, sizeof(gs));
    struct ag_pool_want w = {.group = "gemini-3-flash"};
    for (size_t i = 0; i < N_CONCURRENT; i++)
        assert_non_null(ag_pool_acquire(f.pool, &w, on_acquired, &gs[i]));
    uint64_t deadline = ag_now_ms() + 10000;
    while (ndone < N_CONCURRENT && ag_now_ms() < deadline) {
        uv_run(&f.loop, UV_RUN_ONCE);
        ndone = 0;
        for (size_t i = 0; i < N_CONCURRENT; i++)
            ndone += gs[i].done;
    }
    assert_int_equal(ndone, N_CONCURRENT);
    for (size_t i = 0; i < N_CONCURRENT; i++) {
        assert_int_equal(gs[i].err, 0);
        assert_string_equal(gs[i].project, "proj-b");
        ag_pool_release(f.pool, gs[i].lease);
    }
    /* One flight: one refresh and one project lookup for 100 waiters. */
    assert_int_equal(mock_count("/token"), 1);
    assert_int_equal(mock_count("loadCodeAssist"), 1);
    assert_int_equal(ag_store_account_get(f.store, id, &a), 0);
    assert_string_equal(a.project_id, "proj-b"); /* cached in the store */
    ag_account_dispose(&a);
    struct got g = acquire(&f, "gemini-3-flash", NULL, 0);
    assert_int_equal(g.err, 0);
    assert_int_equal(mock_count("loadCodeAssist"), 1);
    fx_close(&f);
}

static void test_invalid_grant_moves_on(void **state)
{
    struct fx f;
    char idc[AG_ACCOUNT_ID_SIZE], ida[AG_ACCOUNT_ID_SIZE];
    struct ag_account c = {0};
    fx_open(&f, NULL);
    add_account(f.store, "c", 1, true, idc); /* revoked upstream, first in order */
    add_account(f.store, "a", ag_wall_s() + 3600, true, ida);
    fx_start(&f);
    struct got g = acquire(&f, "claude", NULL, 0);
    assert_int_equal(g.err, 0);
    assert_string_equal(g.email, "a@example.com");
    assert_int_equal(ag_store_account_get(f.store, idc, &c), 0);
    assert_true(c.disabled);
    assert_non_null(strstr(c.disabled_reason, "invalid_grant"));
    ag_account_dispose(&c);
    /* Only c left usable? No: c is disabled now, so a serves again without any refresh. */
    g = acquire(&f, "claude", NULL, 0);
    assert_string_equal(g.email, "a@example.com");
    fx_close(&f);
}

static void test_rotation_and_exclusion(void **state)
{
    struct fx f;
    char ids[3][AG_ACCOUNT_ID_SIZE];
    const char *names[] = {"a", "b", "c"};
    fx_open(&f, NULL);
    for (int i = 0; i < 3; i++)
        add_account(f.store, names[i], ag_wall_s() + 3600, true, ids[i]);
    fx_start(&f);
    for (int round = 0; round < 6; round++) {
        struct got g = acquire(&f, "claude", NULL, 0);
        char want[32];
        snprintf(want, sizeof(want), "%s@example.com", names[round % 3]);
        assert_int_equal(g.err, 0);
        assert_string_equal(g.email, want);
    }
    const char *ex[] = {ids[0], ids[1]};
    for (int i = 0; i < 3; i++) {
        struct got g = acquire(&f, "claude", ex, 2);
        assert_string_equal(g.email, "c@example.com");
    }
    const char *all[] = {ids[0], ids[1], ids[2]};
    struct got g = acquire(&f, "claude", all, 3);
    assert_int_equal(g.err, AG_ENOTFOUND);
    assert_int_equal(g.deny, AG_POOL_DENY_ALL_EXCLUDED);
    assert_int_equal(mock_count("/token"), 0);
    fx_close(&f);
}

static void report(struct fx *f, const char *id, enum ag_pool_outcome_kind kind, int status,
                   int64_t delay_ms, const char *group)
{
    struct ag_pool_outcome o = {
        .kind = kind, .group = group, .status = status, .retry_delay_ms = delay_ms};
    ag_pool_report(f->pool, id, &o);
}

static void test_cooldowns(void **state)
{
    struct fx f;
    char ida[AG_ACCOUNT_ID_SIZE], idb[AG_ACCOUNT_ID_SIZE];
    struct ag_pool_snapshot snap;
    fx_open(&f, NULL);
    add_account(f.store, "a", ag_wall_s() + 7200, true, ida);
    add_account(f.store, "b", ag_wall_s() + 7200, true, idb);
    fx_start(&f);
    f.now_ms = ag_wall_ms();
    ag_pool_set_clock(f.pool, fake_now, &f);

    /* 429 without a delay: a short cooldown for that group only. */
    report(&f, ida, AG_POOL_RATE_LIMITED, 429, 0, "claude");
    for (int i = 0; i < 3; i++)
        assert_string_equal(acquire(&f, "claude", NULL, 0).email, "b@example.com");
    assert_int_equal(ag_pool_snapshot(f.pool, &snap), 0);
    assert_int_equal(snap.items[0].ncooldowns, 1);
    assert_string_equal(snap.items[0].cooldowns[0].group, "claude");
    assert_true(snap.items[0].cooldowns[0].until_ms <= f.now_ms + AG_POOL_COOLDOWN_BASE_MS);
    assert_non_null(snap.items[0].last_error);
    ag_pool_snapshot_dispose(&snap);
    struct got g = acquire(&f, "gemini-3-flash", NULL, 0);
    assert_int_equal(g.err, 0); /* other groups unaffected */

    /* Both cooling: a clear 503 reason with the time. */
    report(&f, idb, AG_POOL_RATE_LIMITED, 429, 30000, "claude");
    g = acquire(&f, "claude", NULL, 0);
    assert_int_equal(g.err, AG_ENOTFOUND);
    assert_int_equal(g.deny, AG_POOL_DENY_COOLING);
    assert_non_null(strstr(g.message, "cooling down for claude until"));

    /* a's default cooldown ends after 5 s; b's upstream delay (30 s + margin) holds. */
    f.now_ms += AG_POOL_COOLDOWN_BASE_MS + 100;
    for (int i = 0; i < 2; i++)
        assert_string_equal(acquire(&f, "claude", NULL, 0).email, "a@example.com");
    f.now_ms += 30000;
    int seen_b = 0;
    for (int i = 0; i < 2; i++)
        seen_b += strcmp(acquire(&f, "claude", NULL, 0).email, "b@example.com") == 0;
    assert_int_equal(seen_b, 1);

    /* A long upstream delay is trusted as given (quota exhausted for hours). */
    report(&f, ida, AG_POOL_RATE_LIMITED, 429, 2 * 3600 * 1000, "claude");
    f.now_ms += 3600 * 1000;
    assert_string_equal(acquire(&f, "claude", NULL, 0).email, "b@example.com");
    assert_int_equal(ag_pool_clear_cooldowns(f.pool, ida), 0);
    assert_int_equal(acquire(&f, "claude", NULL, 0).err, 0);

    /* 401: refreshed before the next use. */
    free(mock_call("DELETE", "/__mock/requests", NULL));
    ag_pool_set_clock(f.pool, NULL, NULL);
    report(&f, ida, AG_POOL_UNAUTHORIZED, 401, 0, "claude");
    report(&f, idb, AG_POOL_UNAUTHORIZED, 401, 0, "claude");
    g = acquire(&f, "claude", NULL, 0);
    assert_int_equal(g.err, 0);
    assert_true(mock_count("/token") >= 1);
    fx_close(&f);
}

/* The last error carries its time and goes away with the account's next success. */
static void test_last_error_clears(void **state)
{
    struct fx f;
    char ida[AG_ACCOUNT_ID_SIZE];
    struct ag_pool_snapshot snap;
    (void)state;
    fx_open(&f, NULL);
    add_account(f.store, "a", ag_wall_s() + 7200, true, ida);
    fx_start(&f);
    f.now_ms = ag_wall_ms();
    ag_pool_set_clock(f.pool, fake_now, &f);
    struct ag_pool_outcome bad = {.kind = AG_POOL_SERVER_ERROR,
                                  .group = "claude",
                                  .status = 503,
                                  .message = "backend overloaded"};
    ag_pool_report(f.pool, ida, &bad);
    assert_int_equal(ag_pool_snapshot(f.pool, &snap), 0);
    assert_non_null(snap.items[0].last_error);
    assert_non_null(strstr(snap.items[0].last_error, "backend overloaded"));
    assert_int_equal(snap.items[0].last_error_ms, f.now_ms);
    ag_pool_snapshot_dispose(&snap);

    f.now_ms += 1000;
    report(&f, ida, AG_POOL_OK, 200, 0, "gemini-3-flash");
    assert_int_equal(ag_pool_snapshot(f.pool, &snap), 0);
    assert_null(snap.items[0].last_error);
    assert_int_equal(snap.items[0].last_error_ms, 0);
    ag_pool_snapshot_dispose(&snap);
    fx_close(&f);
}

static void test_forbidden_and_fixed(void **state)
{
    struct fx f;
    char ida[AG_ACCOUNT_ID_SIZE], idb[AG_ACCOUNT_ID_SIZE];
    struct ag_account a = {0};
    fx_open(&f, ",\"scheduling\":{\"fixed_account\":\"B@example.com\"}");
    add_account(f.store, "a", ag_wall_s() + 7200, true, ida);
    add_account(f.store, "b", ag_wall_s() + 7200, true, idb);
    fx_start(&f);
    for (int i = 0; i < 3; i++)
        assert_string_equal(acquire(&f, "claude", NULL, 0).email, "b@example.com");
    /* The fixed account cooling: rotation takes over meanwhile. */
    report(&f, idb, AG_POOL_RATE_LIMITED, 429, 60000, "claude");
    assert_string_equal(acquire(&f, "claude", NULL, 0).email, "a@example.com");
    /* 403 VALIDATION_REQUIRED: a timed block stored in the database. */
    struct ag_pool_outcome o = {.kind = AG_POOL_FORBIDDEN,
                                .status = 403,
                                .validation_required = true,
                                .validation_url = "https://example.com/verify"};
    ag_pool_report(f.pool, ida, &o);
    assert_int_equal(ag_store_account_get(f.store, ida, &a), 0);
    assert_true(a.forbidden);
    assert_true(a.forbidden_until >= ag_wall_s() + AG_POOL_VALIDATION_BLOCK_S - 5);
    assert_string_equal(a.validation_url, "https://example.com/verify");
    ag_account_dispose(&a);
    struct got g = acquire(&f, "claude", NULL, 0);
    assert_int_equal(g.err, AG_ENOTFOUND);
    assert_int_equal(g.deny, AG_POOL_DENY_COOLING); /* b cools, a is forbidden */
    fx_close(&f);
}

static void test_no_usable_accounts(void **state)
{
    struct fx f;
    char ida[AG_ACCOUNT_ID_SIZE];
    fx_open(&f, NULL);
    fx_start(&f);
    struct got g = acquire(&f, "claude", NULL, 0);
    assert_int_equal(g.err, AG_ENOTFOUND);
    assert_int_equal(g.deny, AG_POOL_DENY_NO_ACCOUNTS);
    add_account(f.store, "a", ag_wall_s() + 7200, true, ida);
    assert_int_equal(ag_store_account_set_disabled(f.store, ida, true, "by test"), 0);
    assert_int_equal(ag_pool_reload(f.pool), 0);
    g = acquire(&f, "claude", NULL, 0);
    assert_int_equal(g.err, AG_ENOTFOUND);
    assert_int_equal(g.deny, AG_POOL_DENY_ALL_DISABLED);
    assert_non_null(strstr(g.message, "disabled"));
    fx_close(&f);
}

/* Waits (running the loop) until the pool's snapshot satisfies pred. */
static bool wait_snapshot(struct fx *f, bool (*pred)(const struct ag_pool_snapshot *),
                          int timeout_ms)
{
    uint64_t deadline = ag_now_ms() + (uint64_t)timeout_ms;
    bool ok = false, never = false;
    while (!ok && ag_now_ms() < deadline) {
        struct ag_pool_snapshot s;
        assert_int_equal(ag_pool_snapshot(f->pool, &s), 0);
        ok = pred(&s);
        ag_pool_snapshot_dispose(&s);
        if (!ok)
            ag_test_run_until(&f->loop, &never, 100);
    }
    return ok;
}

static bool has_two(const struct ag_pool_snapshot *s)
{
    return s->len == 2;
}

static bool b_disabled_a_cooling(const struct ag_pool_snapshot *s)
{
    return s->len == 2 && s->items[1].disabled && s->items[0].ncooldowns == 1;
}

static bool b_enabled(const struct ag_pool_snapshot *s)
{
    return s->len == 2 && !s->items[1].disabled;
}

static bool only_a(const struct ag_pool_snapshot *s)
{
    return s->len == 1;
}

static const char *const *cli_env(void)
{
    static char tok[128], ui[128], cc[128];
    static const char *env[8];
    snprintf(tok, sizeof(tok), "AIGATE_OAUTH_TOKEN_URL=http://127.0.0.1:%d/token", mock_port);
    snprintf(ui, sizeof(ui), "AIGATE_USERINFO_URL=http://127.0.0.1:%d/userinfo", mock_port);
    snprintf(cc, sizeof(cc), "AIGATE_CLOUDCODE_ENDPOINTS=http://127.0.0.1:%d/v1internal",
             mock_port);
    env[0] = tok;
    env[1] = ui;
    env[2] = cc;
    env[3] = "AIGATE_OAUTH_CLIENT_ID=mock-client";
    env[4] = "AIGATE_LOG_LEVEL=warn";
    env[5] = NULL;
    return env;
}

/* Runs `aigate --data-dir DIR args...`; returns the exit code, output in *out / *err. */
static int cli(const char *dir, const char *const *args, char **out, char **err)
{
    const char *argv[16] = {getenv("AIGATE_BIN"), "--data-dir", dir};
    size_t n = 3;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return ag_child_run(argv, cli_env(), NULL, 20000, out, err);
}

static void test_reload_sees_second_connection(void **state)
{
    struct fx f;
    char ida[AG_ACCOUNT_ID_SIZE], idb[AG_ACCOUNT_ID_SIZE], err[256];
    struct ag_store *other = NULL;
    fx_open(&f, NULL);
    add_account(f.store, "a", ag_wall_s() + 7200, true, ida);
    fx_start(&f);
    report(&f, ida, AG_POOL_RATE_LIMITED, 429, 60000, "claude");
    /* A second connection, as another process would have. */
    assert_int_equal(ag_store_open(f.dir, &other, err, sizeof(err)), 0);
    add_account(other, "b", ag_wall_s() + 7200, true, idb);
    assert_true(wait_snapshot(&f, has_two, 3000));
    assert_int_equal(ag_store_account_set_disabled(other, idb, true, "elsewhere"), 0);
    assert_true(wait_snapshot(&f, b_disabled_a_cooling, 3000)); /* a kept its cooldown */
    ag_store_free(other);
    fx_close(&f);
}

/* A running pool sees `aigate accounts ...` run by another process. (No second connection is
 * opened in this process here: see the report about ag_store_conn_open's open/close.) */
static void test_pool_sees_cli_changes(void **state)
{
    struct fx f;
    char ida[AG_ACCOUNT_ID_SIZE], idb[AG_ACCOUNT_ID_SIZE];
    char *out = NULL, *errs = NULL;
    fx_open(&f, NULL);
    add_account(f.store, "a", ag_wall_s() + 7200, true, ida);
    add_account(f.store, "b", ag_wall_s() + 7200, true, idb);
    fx_start(&f);
    report(&f, ida, AG_POOL_RATE_LIMITED, 429, 60000, "claude");
    const char *dis[] = {"accounts", "disable", "b@example.com", NULL};
    assert_int_equal(cli(f.dir, dis, &out, &errs), 0);
    free(out);
    free(errs);
    assert_true(wait_snapshot(&f, b_disabled_a_cooling, 3000));
    const char *en[] = {"accounts", "enable", "b@example.com", NULL};
    assert_int_equal(cli(f.dir, en, &out, &errs), 0);
    free(out);
    free(errs);
    assert_true(wait_snapshot(&f, b_enabled, 3000));
    assert_string_equal(acquire(&f, "claude", NULL, 0).email, "b@example.com");
    const char *rm[] = {"accounts", "remove", idb, NULL};
    assert_int_equal(cli(f.dir, rm, &out, &errs), 0);
    free(out);
    free(errs);
    assert_true(wait_snapshot(&f, only_a, 3000));
    fx_close(&f);
}

/* ---- the CLI ---- */

static void write_file(const char *path, const char *text)
{
    assert_int_equal(ag_file_write_atomic(path, text, strlen(text), 0600), 0);
}

static void test_cli_accounts(void **state)
{
    char dir[64] = "/tmp/aigate-cli-XXXXXX", path[128], bad[128], exp[128];
    char *out = NULL, *err = NULL;
    struct stat st;
    assert_non_null(mkdtemp(dir));
    mock_setup();

    const char *add_a[] = {"accounts", "add", "--refresh-token", "1//rt-a", NULL};
    assert_int_equal(cli(dir, add_a, &out, &err), 0);
    assert_non_null(strstr(out, "added a@example.com"));
    assert_non_null(strstr(out, "tier ultra"));
    assert_non_null(strstr(out, "project proj-a"));
    assert_null(strstr(out, "1//rt-a"));
    free(out);
    free(err);

    /* A refused token: nothing stored, exit 1, the reason shown. */
    const char *add_c[] = {"accounts", "add", "--refresh-token", "1//rt-c", NULL};
    assert_int_equal(cli(dir, add_c, &out, &err), 1);
    assert_non_null(strstr(err, "invalid_grant"));
    free(out);
    free(err);

    /* Malformed file: rejected whole with the position. */
    snprintf(bad, sizeof(bad), "%s/bad.json", dir);
    write_file(bad, "[{\"refresh_token\": \"1//rt-b\"},\n {\"refresh_token\": }]");
    const char *imp_bad[] = {"accounts", "import", bad, NULL};
    assert_int_equal(cli(dir, imp_bad, &out, &err), 1);
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "nothing was imported"));
    free(out);
    free(err);

    /* Three entries, one refused: the others import, exit 1, a summary. */
    snprintf(path, sizeof(path), "%s/in.json", dir);
    write_file(path, "{\"accounts\": [{\"email\":\"b@example.com\",\"refresh_token\":\"1//rt-b\"},"
                     "{\"email\":\"c@example.com\",\"refresh_token\":\"1//rt-c\"},"
                     "{\"refresh_token\":\"1//rt-a\",\"label\":\"main\"}]}");
    const char *imp[] = {"accounts", "import", path, NULL};
    assert_int_equal(cli(dir, imp, &out, &err), 1);
    assert_non_null(strstr(out, "imported 2 of 3 accounts, 1 failed"));
    assert_non_null(strstr(err, "entry 2 (c@example.com)"));
    free(out);
    free(err);

    const char *ls[] = {"accounts", "list", "--json", NULL};
    assert_int_equal(cli(dir, ls, &out, &err), 0);
    yyjson_doc *d = yyjson_read(out, strlen(out), 0);
    assert_int_equal(yyjson_arr_size(yyjson_doc_get_root(d)), 2);
    yyjson_doc_free(d);
    assert_null(strstr(out, "rt-"));
    assert_null(strstr(out, "at-a"));
    free(out);
    free(err);

    const char *dis[] = {"accounts", "disable", "b@example.com", "--reason", "testing", NULL};
    assert_int_equal(cli(dir, dis, &out, &err), 0);
    free(out);
    free(err);
    const char *ls2[] = {"accounts", "list", NULL};
    assert_int_equal(cli(dir, ls2, &out, &err), 0);
    assert_non_null(strstr(out, "disabled (testing)"));
    assert_non_null(strstr(out, "active"));
    free(out);
    free(err);

    snprintf(exp, sizeof(exp), "%s/backup.json", dir);
    const char *ex[] = {"accounts", "export", exp, NULL};
    assert_int_equal(cli(dir, ex, &out, &err), 0);
    free(out);
    free(err);
    assert_int_equal(stat(exp, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    const char *ex_out[] = {"accounts", "export", NULL};
    assert_int_equal(cli(dir, ex_out, &out, &err), 0);
    assert_non_null(strstr(out, "1//rt-b"));
    free(out);
    free(err);

    const char *rm[] = {"accounts", "remove", "a@example.com", NULL};
    assert_int_equal(cli(dir, rm, &out, &err), 0);
    free(out);
    free(err);
    const char *rm2[] = {"accounts", "remove", "a@example.com", NULL};
    assert_int_equal(cli(dir, rm2, &out, &err), 1);
    free(out);
    free(err);

    /* The export restores what was removed. */
    const char *imp_exp[] = {"accounts", "import", exp, NULL};
    assert_int_equal(cli(dir, imp_exp, &out, &err), 0);
    assert_non_null(strstr(out, "imported 2 of 2 accounts"));
    free(out);
    free(err);
    ag_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refresh_before_expiry),
        cmocka_unit_test(test_single_flight),
        cmocka_unit_test(test_invalid_grant_moves_on),
        cmocka_unit_test(test_rotation_and_exclusion),
        cmocka_unit_test(test_cooldowns),
        cmocka_unit_test(test_last_error_clears),
        cmocka_unit_test(test_forbidden_and_fixed),
        cmocka_unit_test(test_no_usable_accounts),
        cmocka_unit_test(test_reload_sees_second_connection),
        cmocka_unit_test(test_pool_sees_cli_changes),
        cmocka_unit_test(test_cli_accounts),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
