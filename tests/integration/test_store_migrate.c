/* `aigate store migrate --to postgres URL` with the real binaries: a data directory filled by the
 * gateway on SQLite (an account, a user key, requests through the mock upstream: log rows, token
 * statistics, key usage) is copied into a throwaway PostgreSQL (tests/support/pgserver.h) in
 * batches of two rows; the counts of every table match, a second run is refused while the
 * target holds data, --force replaces it without doubling anything; then the gateway runs on
 * store.postgres_url with the SQLite file moved away and shows the account, the log rows and the
 * statistics, accepts the user key, takes a key made afterwards (the identity sequences were
 * moved past the copied ids) and logs new requests after the copied ones. Exits 77 (skipped)
 * without PostgreSQL's programs. */
#include "ag_test.h"

#include "child.h"
#include "core/buf.h"
#include "gwenv.h"
#include "pgserver.h"
#include "proc.h"
#include "rawhttp.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yyjson.h>

#define KEY   "sk-store-migrate-test-key"
#define CHATS 5

static struct ag_pgserver pg;

static void env_start(struct ag_gwenv *e)
{
    static const char *const tokens[] = {"rt-a", NULL};
    static const char *const env[] = {"AIGATE_API_KEY=" KEY, "AIGATE_AUTH_MODE=all_except_health",
                                      NULL};
    const struct ag_gwenv_opts o = {
        .name = "pgmigrate",
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"}]",
        .tokens = tokens,
        .env = env,
    };
    ag_gwenv_start(e, &o);
}

static int chat(struct ag_gwenv *e, const char *key, int turn)
{
    struct rh_resp r;
    char body[256], hdrs[256];
    snprintf(body, sizeof(body),
             "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
             "\"content\":\"migrate turn %d\"}]}",
             turn);
    snprintf(hdrs, sizeof(hdrs), "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n",
             key);
    assert_true(rh_request(e->port, "POST", "/v1/chat/completions", hdrs, body, &r));
    int status = r.status;
    rh_resp_free(&r);
    return status;
}

static yyjson_doc *admin_get(struct ag_gwenv *e, const char *path)
{
    char url[256];
    struct ag_buf out;
    const char *hdrs[] = {"Authorization: Bearer " KEY, NULL};
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", e->port, path);
    ag_buf_init(&out, 0);
    long st = ag_test_http("GET", url, NULL, hdrs, &out);
    if (st != 200)
        fail_msg("GET %s: %ld %s", path, st, out.data ? out.data : "");
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    ag_buf_dispose(&out);
    assert_non_null(d);
    return d;
}

static long long sqlite_count(const char *dir, const char *table)
{
    char path[256], sql[128];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    snprintf(path, sizeof(path), "%s/aigate.db", dir);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static long long pg_count(const char *url, const char *table)
{
    char sql[128], *out = NULL;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    assert_int_equal(ag_pgserver_psql(&pg, url, sql, &out), 0);
    long long n = strtoll(out, NULL, 10);
    free(out);
    return n;
}

/* The tables every data directory has, and what this test put in them at least. */
static const struct {
    const char *name;
    long long at_least;
} tables[] = {
    {"accounts", 1},       {"request_log", CHATS + 1}, {"token_stats_hourly", 1},
    {"user_keys", 1},      {"key_usage_hourly", 1},    {"thinking", 0},
    {"admin_sessions", 0},
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

static int migrate(struct ag_gwenv *e, const char *url, const char *extra, char **out, char **err)
{
    const char *args[] = {"store", "migrate", "--to", "postgres", url, "--batch", "2", extra, NULL};
    return ag_gwenv_cli(e, args, out, err);
}

static void counts_match(const char *url, const long long *src)
{
    for (size_t i = 0; i < NTABLES; i++) {
        long long have = pg_count(url, tables[i].name);
        if (have != src[i])
            fail_msg("%s: %lld rows in SQLite, %lld in PostgreSQL", tables[i].name, src[i], have);
    }
}

static void migrate_then_serve_from_postgres(void **state)
{
    (void)state;
    struct ag_gwenv e;
    char url[256], user_key[80] = "";
    char *out = NULL, *err = NULL;
    long long src[NTABLES];
    assert_int_equal(ag_pgserver_create_db(&pg, "migrated", url, sizeof(url)), 0);

    /* A data directory filled by the gateway on SQLite. */
    env_start(&e);
    const char *create[] = {"keys", "create", "team", NULL};
    assert_int_equal(ag_gwenv_cli(&e, create, &out, &err), 0);
    const char *sk = strstr(out, "sk-");
    assert_non_null(sk);
    snprintf(user_key, sizeof(user_key), "%.*s", (int)strspn(sk, "sk-0123456789abcdef"), sk);
    free(out);
    free(err);
    for (int i = 0; i < CHATS; i++)
        assert_int_equal(chat(&e, KEY, i), 200);
    assert_int_equal(chat(&e, user_key, 99), 200);
    /* A clean stop writes every pending row. */
    assert_int_equal(ag_child_stop(&e.gw, SIGTERM, 15000), 0);
    ag_child_cleanup(&e.gw);
    e.gw.pid = 0;
    for (size_t i = 0; i < NTABLES; i++) {
        src[i] = sqlite_count(e.dir, tables[i].name);
        if (src[i] < tables[i].at_least)
            fail_msg("%s: %lld rows in SQLite, expected %lld or more", tables[i].name, src[i],
                     tables[i].at_least);
    }

    /* Copied in batches of two, counted per table and verified. */
    int code = migrate(&e, url, NULL, &out, &err);
    if (code != 0)
        fail_msg("store migrate: %d\n%s\n%s", code, out, err);
    fprintf(stderr, "%s", out);
    assert_non_null(strstr(out, "request_log"));
    assert_non_null(strstr(out, "verified"));
    for (size_t i = 0; i < NTABLES; i++)
        assert_non_null(strstr(out, tables[i].name));
    free(out);
    free(err);
    counts_match(url, src);

    /* Again: the target holds data now, nothing changes without --force. */
    code = migrate(&e, url, NULL, &out, &err);
    assert_int_equal(code, 1);
    assert_non_null(strstr(err, "already holds data"));
    free(out);
    free(err);
    counts_match(url, src);
    code = migrate(&e, url, "--force", &out, &err);
    if (code != 0)
        fail_msg("store migrate --force: %d\n%s\n%s", code, out, err);
    free(out);
    free(err);
    counts_match(url, src);

    /* The gateway on PostgreSQL, with nothing left in SQLite to fall back on. */
    char from[256], to[256];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(from, sizeof(from), "%s/aigate.db%s", e.dir, sfx[i]);
        snprintf(to, sizeof(to), "%s/moved.db%s", e.dir, sfx[i]);
        assert_true(rename(from, to) == 0 || i > 0);
    }
    char set[300];
    snprintf(set, sizeof(set), "store.postgres_url=%s", url);
    e.gw_args[0] = "--set";
    e.gw_args[1] = set;
    e.gw_args[2] = NULL;
    ag_gwenv_launch(&e);
    assert_int_equal(access(from, F_OK), -1); /* no SQLite file was made */
    /* libpq is no library of the gateway's; the store loaded it for its first connection. */
    assert_true(ag_child_maps(e.gw.pid, "libpq.so.5"));

    yyjson_doc *d = admin_get(&e, "/api/accounts");
    yyjson_val *v;
    size_t i, max;
    bool found = false;
    yyjson_val *accs = yyjson_doc_get_root(d);
    if (yyjson_is_obj(accs))
        accs = yyjson_obj_get(accs, "accounts");
    yyjson_arr_foreach(accs, i, max, v)
    {
        const char *email = yyjson_get_str(yyjson_obj_get(v, "email"));
        found = found || (email && strcmp(email, "a@example.com") == 0);
    }
    yyjson_doc_free(d);
    assert_true(found);

    d = admin_get(&e, "/api/logs?limit=50");
    assert_int_equal(yyjson_get_sint(yyjson_obj_get(yyjson_doc_get_root(d), "total")), src[1]);
    yyjson_doc_free(d);
    d = admin_get(&e, "/api/stats/summary?hours=24");
    assert_int_equal(yyjson_get_sint(yyjson_obj_get(yyjson_doc_get_root(d), "requests")), src[1]);
    yyjson_doc_free(d);

    /* The user key came along; an unknown one is still refused. */
    assert_int_equal(chat(&e, user_key, 100), 200);
    assert_int_equal(chat(&e, "sk-00000000000000000000000000000000", 101), 401);

    /* A key made now gets an id after the copied ones (the identity sequence moved past them; at
     * 1 the insert would collide), and the running gateway takes it. */
    const char *create2[] = {"--set", set, "keys", "create", "second", NULL};
    code = ag_gwenv_cli(&e, create2, &out, &err);
    if (code != 0)
        fail_msg("keys create on PostgreSQL: %d\n%s\n%s", code, out, err);
    sk = strstr(out, "sk-");
    assert_non_null(sk);
    char key2[80];
    snprintf(key2, sizeof(key2), "%.*s", (int)strspn(sk, "sk-0123456789abcdef"), sk);
    free(out);
    free(err);
    int st2 = 0;
    for (int n = 0; n < 100 && st2 != 200; n++) {
        st2 = chat(&e, key2, 200 + n);
        if (st2 != 200) {
            struct timespec ts = {0, 100000000L};
            nanosleep(&ts, NULL);
        }
    }
    assert_int_equal(st2, 200);
    assert_int_equal(pg_count(url, "user_keys"), src[3] + 1);

    /* New log rows after the copied ones. */
    long long total = 0;
    for (int n = 0; n < 100 && total < src[1] + 1; n++) {
        d = admin_get(&e, "/api/logs?limit=1");
        total = yyjson_get_sint(yyjson_obj_get(yyjson_doc_get_root(d), "total"));
        yyjson_doc_free(d);
        if (total < src[1] + 1) {
            struct timespec ts = {0, 100000000L};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(total >= src[1] + 1);
    assert_true(pg_count(url, "request_log") >= src[1] + 1);
    ag_gwenv_stop(&e);
}

/* What the command refuses before it touches anything. */
static void refusals(void **state)
{
    (void)state;
    struct ag_gwenv e;
    char url[256], *out = NULL, *err = NULL;
    const struct ag_gwenv_opts o = {.name = "pgmigrate-no"};
    assert_int_equal(ag_pgserver_create_db(&pg, "untouched", url, sizeof(url)), 0);
    ag_gwenv_prepare(&e, &o);

    const char *other[] = {"store", "migrate", "--to", "mysql", url, NULL};
    assert_int_equal(ag_gwenv_cli(&e, other, &out, &err), 2);
    free(out);
    free(err);
    const char *no_url[] = {"store", "migrate", "--to", "postgres", NULL};
    assert_int_equal(ag_gwenv_cli(&e, no_url, &out, &err), 2);
    free(out);
    free(err);
    /* libpq's key=value form would keep its password out of the redaction of URLs. */
    const char *kv[] = {"store", "migrate", "--to", "postgres", "host=127.0.0.1 password=x", NULL};
    assert_int_equal(ag_gwenv_cli(&e, kv, &out, &err), 2);
    assert_null(strstr(err, "password=x"));
    free(out);
    free(err);
    /* An empty data directory has nothing to copy. */
    assert_int_equal(migrate(&e, url, NULL, &out, &err), 1);
    assert_non_null(strstr(err, "no SQLite database"));
    free(out);
    free(err);
    char *tables_out = NULL;
    assert_int_equal(ag_pgserver_psql(&pg, url,
                                      "SELECT count(*) FROM pg_tables WHERE schemaname "
                                      "= 'public'",
                                      &tables_out),
                     0);
    assert_int_equal(strtol(tables_out, NULL, 10), 0);
    free(tables_out);
    ag_gwenv_stop(&e);
}

int main(void)
{
    int rc = ag_pgserver_start(&pg, "aigate_migrate");
    if (rc == AG_PGSERVER_UNAVAILABLE) {
        fprintf(stderr, "%s: skipped\n", pg.reason);
        return AG_PGSERVER_SKIP;
    }
    if (rc != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(migrate_then_serve_from_postgres, ag_gwenv_teardown),
        cmocka_unit_test_teardown(refusals, ag_gwenv_teardown),
    };
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    ag_pgserver_stop(&pg);
    return rc;
}
