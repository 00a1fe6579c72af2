/* Unit tests for store/store.c + store/migrate.c: fresh file, file mode, pragmas, upgrade from
 * version 1 and from version 9 (the request log's indexes and the plans of its queries), refusal
 * of a newer file, and rollback of a failed step. */
#include "ag_test.h"

#include "core/err.h"
#include "store/accounts.h"
#include "store/migrate.h"
#include "store/request_log.h"
#include "store/store.h"

#include "store_test_util.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

static void fresh_db_is_latest_private_and_wal(void **state)
{
    SQLITE_ONLY();
    struct tmpdir t;
    struct ag_store *s = NULL;
    char err[256] = "";
    struct stat sb;
    int v = -1;

    tmpdir_make(&t);
    mode_t old = umask(0); /* the file must be 0600 whatever the umask */
    assert_int_equal(ag_store_open(t.dir, &s, err, sizeof(err)), 0);
    umask(old);
    assert_int_equal(ag_store_schema_version(s, &v), 0);
    assert_int_equal(v, AG_STORE_SCHEMA_VERSION);
    assert_int_equal(stat(t.db, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    /* The WAL file exists while the store is open and has the same mode. */
    char wal[160];
    snprintf(wal, sizeof(wal), "%s-wal", t.db);
    assert_int_equal(stat(wal, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM sqlite_master WHERE name IN"
                                   " ('accounts', 'meta', 'request_log', 'token_stats_hourly')"),
                     4);
    ag_store_free(s);

    /* journal_mode=WAL is persistent in the file. */
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(t.db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    tmpdir_remove(&t);
}

static void existing_file_is_made_private(void **state)
{
    SQLITE_ONLY();
    struct tmpdir t;
    struct ag_store *s = NULL;
    struct stat sb;
    tmpdir_make(&t);
    FILE *f = fopen(t.db, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(chmod(t.db, 0644), 0);
    assert_int_equal(ag_store_open(t.dir, &s, NULL, 0), 0);
    assert_int_equal(stat(t.db, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    ag_store_free(s);
    tmpdir_remove(&t);
}

static void upgrade_from_v1_keeps_accounts(void **state)
{
    SQLITE_ONLY();
    struct tmpdir t;
    struct ag_store *s = NULL;
    sqlite3 *db = NULL;
    char err[256] = "";
    tmpdir_make(&t);

    /* A file as version 1 of aigate left it, with one account. */
    assert_int_equal(sqlite3_open(t.db, &db), SQLITE_OK);
    assert_int_equal(ag_store_migrate(db, 1, err, sizeof(err)), 0);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO accounts (id, email, refresh_token, created_at)"
                                  " VALUES ('acc-1', 'old@example.com', '1//old', 100)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(raw_int(t.db, "PRAGMA user_version"), 1);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'request_log'"),
                     0);

    assert_int_equal(ag_store_open(t.dir, &s, err, sizeof(err)), 0);
    int v = 0;
    assert_int_equal(ag_store_schema_version(s, &v), 0);
    assert_int_equal(v, AG_STORE_SCHEMA_VERSION);
    struct ag_account a;
    assert_int_equal(ag_store_account_get_by_email(s, "old@example.com", &a), 0);
    assert_string_equal(a.id, "acc-1");
    assert_string_equal(a.refresh_token, "1//old");
    ag_account_dispose(&a);
    /* The new tables work. */
    struct ag_request_record r = {.ts_ms = 1, .method = "POST", .path = "/v1/x", .status = 200};
    assert_int_equal(ag_store_request_log_insert(s, &r, 0), 0);
    int64_t n = 0;
    assert_int_equal(ag_store_request_log_count(s, &n), 0);
    assert_int_equal(n, 1);
    ag_store_free(s);
    tmpdir_remove(&t);
}

static void newer_db_is_refused_untouched(void **state)
{
    SQLITE_ONLY();
    struct tmpdir t;
    struct ag_store *s = NULL;
    char err[256] = "";
    char sql[64];
    tmpdir_make(&t);
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", AG_STORE_SCHEMA_VERSION + 1);
    raw_exec(t.db, sql);

    assert_int_equal(ag_store_open(t.dir, &s, err, sizeof(err)), AG_EUNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(err, "newer aigate"));
    assert_int_equal(raw_int(t.db, "PRAGMA user_version"), AG_STORE_SCHEMA_VERSION + 1);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM sqlite_master"), 0);
    tmpdir_remove(&t);
}

static void failed_step_rolls_back_whole(void **state)
{
    SQLITE_ONLY();
    struct tmpdir t;
    struct ag_store *s = NULL;
    sqlite3 *db = NULL;
    char err[256] = "";
    tmpdir_make(&t);
    assert_int_equal(sqlite3_open(t.db, &db), SQLITE_OK);
    assert_int_equal(ag_store_migrate(db, 1, err, sizeof(err)), 0);
    /* Something squatting on a name migration 2 creates makes step 2 fail half-way. */
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE token_stats_hourly (x)", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(ag_store_open(t.dir, &s, err, sizeof(err)), AG_EDB);
    assert_non_null(strstr(err, "migration 2"));
    assert_int_equal(raw_int(t.db, "PRAGMA user_version"), 1);
    /* request_log, created before the failing statement, was rolled back with the step. */
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'request_log'"),
                     0);
    tmpdir_remove(&t);
}

static void missing_dir_is_an_io_error(void **state)
{
    SQLITE_ONLY();
    struct ag_store *s = NULL;
    char err[256] = "";
    assert_int_equal(ag_store_open("/tmp/aigate-no-such-dir-xyz/sub", &s, err, sizeof(err)),
                     AG_EIO);
    assert_null(s);
    assert_non_null(strstr(err, "cannot open"));
}

/* The query plan of sql on the file db (every row's detail, joined by " | "). */
static void plan_of(sqlite3 *db, const char *sql, char *out, size_t cap)
{
    char q[1024];
    sqlite3_stmt *st = NULL;
    size_t used = 0;
    snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW && used + 1 < cap) {
        int n = snprintf(out + used, cap - used, "%s | ", (const char *)sqlite3_column_text(st, 3));
        used += n > 0 ? (size_t)n : 0;
    }
    sqlite3_finalize(st);
}

/* Asserts that sql's plan on db searches or scans the index `index`. */
static void assert_plan_uses(sqlite3 *db, const char *sql, const char *index)
{
    char plan[2048];
    plan_of(db, sql, plan, sizeof(plan));
    if (!strstr(plan, index))
        fail_msg("%s\n  plan: %s\n  expected index %s", sql, plan, index);
}

/* Asserts that sql's plan on db looks rows up through `index` (a SEARCH on it, not a scan). */
static void assert_plan_searches(sqlite3 *db, const char *sql, const char *index)
{
    char plan[2048], want[128];
    plan_of(db, sql, plan, sizeof(plan));
    snprintf(want, sizeof(want), "INDEX %s (", index);
    const char *at = strstr(plan, want);
    const char *row = at;
    while (row && row > plan && strncmp(row, " | ", 3) != 0)
        row--;
    row = row && row > plan ? row + 3 : plan;
    if (!at || strncmp(row, "SEARCH", 6) != 0)
        fail_msg("%s\n  plan: %s\n  expected a search of index %s", sql, plan, index);
}

/* The request log's filters as the monitor's queries write them (store/monitor_query.c), and the
 * retention and disk-cap deletes (store/request_log.c). */
#define LOG_WHERE_TIME    " WHERE 1 = 1 AND ts_ms >= ? AND ts_ms < ?"
#define LOG_WHERE_STATUS  " WHERE 1 = 1 AND status >= ? AND status < ?"
#define LOG_WHERE_ACCOUNT " WHERE 1 = 1 AND account_email = ? COLLATE NOCASE"
#define LOG_WHERE_MODEL   " WHERE 1 = 1 AND (model_requested = ? OR model_served = ?)"
#define LOG_LIST          "SELECT id, status FROM request_log"
#define LOG_PAGE          " ORDER BY id DESC LIMIT ? OFFSET ?"

static void log_queries_keep_their_indexes(void **state)
{
    SQLITE_ONLY();
    struct tmpdir t;
    struct ag_store *s = NULL;
    sqlite3 *db = NULL;
    char err[256] = "";
    tmpdir_make(&t);
    assert_int_equal(ag_store_open(t.dir, &s, err, sizeof(err)), 0);
    for (int i = 0; i < 50; i++) {
        struct ag_request_record r = {.ts_ms = 1000 + i,
                                      .method = "POST",
                                      .path = "/v1/chat/completions",
                                      .model_requested = "m",
                                      .model_served = "m",
                                      .account_email = "a@example.com",
                                      .status = i % 10 ? 200 : 500};
        assert_int_equal(ag_store_request_log_insert(s, &r, 0), 0);
    }
    ag_store_free(s);

    /* The served-model index is gone: the model filter matches either model, so no index on one
     * of them could serve it (see upgrade_from_v9_drops_the_model_index). */
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND"
                                   " name = 'request_log_by_model'"),
                     0);
    assert_int_equal(sqlite3_open(t.db, &db), SQLITE_OK);
    assert_plan_uses(db, "SELECT COUNT(*) FROM request_log" LOG_WHERE_TIME, "request_log_by_time");
    assert_plan_uses(db, LOG_LIST LOG_WHERE_TIME LOG_PAGE, "request_log_by_time");
    assert_plan_uses(db, "SELECT COUNT(*) FROM request_log" LOG_WHERE_STATUS,
                     "request_log_by_status");
    assert_plan_uses(db, LOG_LIST LOG_WHERE_STATUS LOG_PAGE, "request_log_by_status");
    /* the account filter compares without case: the index must too, or both scan */
    assert_plan_searches(db, "SELECT COUNT(*) FROM request_log" LOG_WHERE_ACCOUNT,
                         "request_log_by_account");
    assert_plan_searches(db, LOG_LIST LOG_WHERE_ACCOUNT LOG_PAGE, "request_log_by_account");
    assert_plan_searches(db,
                         "SELECT 0 AS period, model AS k, SUM(requests) FROM token_stats_hourly"
                         " WHERE 1 = 1 AND hour_s >= ? AND account_email = ? COLLATE NOCASE"
                         " GROUP BY period, k",
                         "token_stats_by_account");
    assert_plan_uses(db, "DELETE FROM request_log WHERE ts_ms < ?1", "request_log_by_time");
    assert_plan_uses(db,
                     "DELETE FROM request_log WHERE id IN (SELECT id FROM request_log"
                     " ORDER BY ts_ms, id LIMIT ?1)",
                     "request_log_by_time");
    assert_plan_uses(db,
                     "DELETE FROM request_log WHERE id IN (SELECT id FROM request_log"
                     " ORDER BY ts_ms DESC, id DESC LIMIT -1 OFFSET ?1)",
                     "request_log_by_time");
    sqlite3_close(db);
    tmpdir_remove(&t);
}

/* t's file as schema version `version` left it, with one logged request whose column `col` is
 * value; open (close it). */
static sqlite3 *old_file(struct tmpdir *t, int version, const char *col, const char *value)
{
    sqlite3 *db = NULL;
    char err[256] = "", sql[256];
    assert_int_equal(sqlite3_open(t->db, &db), SQLITE_OK);
    assert_int_equal(ag_store_migrate(db, version, err, sizeof(err)), 0);
    snprintf(sql, sizeof(sql),
             "INSERT INTO request_log (id, ts_ms, method, path, status, %s)"
             " VALUES (7, 1000, 'POST', '/v1/x', 200, '%s')",
             col, value);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    return db;
}

/* Opens the store on t's old file (old_file): it is brought to the latest version with its row. */
static void upgrade_keeps_the_row(struct tmpdir *t)
{
    struct ag_store *s = NULL;
    char err[256] = "";
    int v = 0;
    int64_t n = 0;
    assert_int_equal(ag_store_open(t->dir, &s, err, sizeof(err)), 0);
    assert_int_equal(ag_store_schema_version(s, &v), 0);
    assert_int_equal(v, AG_STORE_SCHEMA_VERSION);
    assert_int_equal(ag_store_request_log_count(s, &n), 0);
    assert_int_equal(n, 1);
    ag_store_free(s);
}

static void upgrade_from_v9_drops_the_model_index(void **state)
{
    SQLITE_ONLY();
    struct tmpdir t;
    sqlite3 *db = NULL;
    char plan[2048];
    tmpdir_make(&t);

    /* A file as version 9 left it, with one logged request. */
    db = old_file(&t, 9, "model_served", "m");
    /* What the index cost without serving: the log's model filter never used it. */
    plan_of(db, "SELECT COUNT(*) FROM request_log" LOG_WHERE_MODEL, plan, sizeof(plan));
    assert_null(strstr(plan, "request_log_by_model"));
    plan_of(db, LOG_LIST LOG_WHERE_MODEL LOG_PAGE, plan, sizeof(plan));
    assert_null(strstr(plan, "request_log_by_model"));
    sqlite3_close(db);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND"
                                   " name = 'request_log_by_model'"),
                     1);

    upgrade_keeps_the_row(&t);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND"
                                   " name = 'request_log_by_model'"),
                     0);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND"
                                   " name LIKE 'request_log_by_%'"),
                     3);
    tmpdir_remove(&t);
}

/* The per-account indexes of a version 10 file are remade to compare without case. */
static void upgrade_from_v10_makes_the_account_indexes_caseless(void **state)
{
    SQLITE_ONLY();
    struct tmpdir t;
    sqlite3 *db = NULL;
    char plan[2048];
    tmpdir_make(&t);
    db = old_file(&t, 10, "account_email", "A@example.com");
    /* what version 10 did with the account filter: no search of its index */
    plan_of(db, LOG_LIST LOG_WHERE_ACCOUNT LOG_PAGE, plan, sizeof(plan));
    assert_null(strstr(plan, "SEARCH request_log USING INDEX request_log_by_account"));
    sqlite3_close(db);

    upgrade_keeps_the_row(&t);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND"
                                   " name IN ('request_log_by_account', 'token_stats_by_account')"
                                   " AND sql LIKE '%account_email COLLATE NOCASE%'"),
                     2);
    assert_int_equal(sqlite3_open(t.db, &db), SQLITE_OK);
    assert_plan_searches(db, LOG_LIST LOG_WHERE_ACCOUNT LOG_PAGE, "request_log_by_account");
    sqlite3_close(db);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM request_log WHERE account_email ="
                                   " 'a@EXAMPLE.com' COLLATE NOCASE"),
                     1);
    tmpdir_remove(&t);
}

/* Opens the store of dir (PostgreSQL) on a thread, for the concurrent first open below. */
static void *open_on_thread(void *arg)
{
    struct ag_store *s = NULL;
    char err[256] = "";
    intptr_t rc = ag_store_open(arg, &s, err, sizeof(err));
    if (rc)
        fprintf(stderr, "open: %s\n", err);
    ag_store_free(s);
    return (void *)rc;
}

static void pg_empty_database_gets_the_schema_once(void **state)
{
    PG_ONLY();
    struct tmpdir t;
    struct ag_store *s = NULL;
    char err[256] = "";
    int v = -1;
    tmpdir_make(&t);
    /* Two gateways meeting an empty database at once: one makes the schema, the other finds it
     * (an advisory lock makes them take turns). */
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, open_on_thread, t.dir), 0);
    for (int i = 0; i < 2; i++) {
        void *rc = NULL;
        assert_int_equal(pthread_join(th[i], &rc), 0);
        assert_int_equal((intptr_t)rc, 0);
    }
    assert_int_equal(ag_store_open(t.dir, &s, err, sizeof(err)), 0);
    assert_true(ag_store_is_pg(s));
    assert_int_equal(ag_store_schema_version(s, &v), 0);
    assert_int_equal(v, AG_STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(t.db,
                             "SELECT COUNT(*) FROM information_schema.tables"
                             " WHERE table_schema = 'public' AND table_name IN"
                             " ('meta', 'accounts', 'request_log', 'token_stats_hourly',"
                             " 'thinking', 'user_keys', 'key_usage_hourly', 'admin_sessions')"),
                     8);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM meta WHERE key = 'schema_version'"), 1);
    ag_store_free(s);
    tmpdir_remove(&t);
}

static void pg_version_9_is_brought_to_the_latest(void **state)
{
    PG_ONLY();
    struct tmpdir t;
    struct ag_store *s = NULL;
    char err[256] = "";
    int v = -1;
    tmpdir_make(&t);
    assert_int_equal(ag_store_open(t.dir, &s, err, sizeof(err)), 0);
    ag_store_free(s);
    s = NULL;
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM pg_indexes WHERE tablename ="
                                   " 'request_log' AND indexname LIKE 'request_log_by_%'"),
                     3);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM pg_indexes WHERE indexname IN"
                                   " ('request_log_by_account', 'token_stats_by_account')"
                                   " AND indexdef LIKE '%account_email COLLATE ag_nocase%'"),
                     2);
    /* The schema as version 9 made it: the served-model index back, the per-account indexes with
     * the column's own collation, the version 9. */
    raw_exec(t.db, "CREATE INDEX request_log_by_model ON request_log(model_served, ts_ms)");
    raw_exec(t.db, "DROP INDEX request_log_by_account");
    raw_exec(t.db, "CREATE INDEX request_log_by_account ON request_log(account_email, ts_ms)");
    raw_exec(t.db, "DROP INDEX token_stats_by_account");
    raw_exec(t.db,
             "CREATE INDEX token_stats_by_account ON token_stats_hourly(account_email, hour_s)");
    raw_exec(t.db, "UPDATE meta SET value = 9 WHERE key = 'schema_version'");
    assert_int_equal(ag_store_open(t.dir, &s, err, sizeof(err)), 0);
    assert_int_equal(ag_store_schema_version(s, &v), 0);
    assert_int_equal(v, AG_STORE_SCHEMA_VERSION);
    ag_store_free(s);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM pg_indexes WHERE indexname ="
                                   " 'request_log_by_model'"),
                     0);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM pg_indexes WHERE indexname IN"
                                   " ('request_log_by_account', 'token_stats_by_account')"
                                   " AND indexdef LIKE '%account_email COLLATE ag_nocase%'"),
                     2);
    assert_int_equal(raw_int(t.db, "SELECT value FROM meta WHERE key = 'schema_version'"),
                     AG_STORE_SCHEMA_VERSION);
    tmpdir_remove(&t);
}

static void pg_newer_schema_is_refused_untouched(void **state)
{
    PG_ONLY();
    struct tmpdir t;
    struct ag_store *s = NULL;
    char err[256] = "";
    char sql[128];
    tmpdir_make(&t);
    assert_int_equal(ag_store_open(t.dir, &s, err, sizeof(err)), 0);
    ag_store_free(s);
    s = NULL;
    snprintf(sql, sizeof(sql), "UPDATE meta SET value = %d WHERE key = 'schema_version'",
             AG_STORE_SCHEMA_VERSION + 1);
    raw_exec(t.db, sql);
    assert_int_equal(ag_store_open(t.dir, &s, err, sizeof(err)), AG_EUNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(err, "newer aigate"));
    assert_int_equal(raw_int(t.db, "SELECT value FROM meta WHERE key = 'schema_version'"),
                     AG_STORE_SCHEMA_VERSION + 1);
    tmpdir_remove(&t);
}

static void pg_unreachable_server_is_an_io_error_without_the_password(void **state)
{
    struct ag_store *s = NULL;
    char err[512] = "";
    /* Port 1 on loopback: nothing listens there. */
    assert_int_equal(ag_store_open_pg("postgresql://aigate:s3cr3tpw@127.0.0.1:1/aigate?"
                                      "connect_timeout=5",
                                      &s, err, sizeof(err)),
                     AG_EIO);
    assert_null(s);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL"));
    assert_null(strstr(err, "s3cr3tpw"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresh_db_is_latest_private_and_wal),
        cmocka_unit_test(existing_file_is_made_private),
        cmocka_unit_test(upgrade_from_v1_keeps_accounts),
        cmocka_unit_test(newer_db_is_refused_untouched),
        cmocka_unit_test(failed_step_rolls_back_whole),
        cmocka_unit_test(missing_dir_is_an_io_error),
        cmocka_unit_test(log_queries_keep_their_indexes),
        cmocka_unit_test(upgrade_from_v9_drops_the_model_index),
        cmocka_unit_test(upgrade_from_v10_makes_the_account_indexes_caseless),
        cmocka_unit_test(pg_empty_database_gets_the_schema_once),
        cmocka_unit_test(pg_version_9_is_brought_to_the_latest),
        cmocka_unit_test(pg_newer_schema_is_refused_untouched),
        cmocka_unit_test(pg_unreachable_server_is_an_io_error_without_the_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
