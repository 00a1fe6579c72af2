/* Unit tests for store/db.h, the database layer under the store: the rewriting of SQLite's SQL
 * for PostgreSQL, values of every kind through both backends, and what the request log does
 * when two gateways sharing one PostgreSQL database pick the same row id. */
#include "ag_test.h"

#include "core/err.h"
#include "store/db.h"
#include "store/monitor_query.h"
#include "store/request_log.h"
#include "store/token_stats.h"
#include "store/store.h"

#include "store_test_util.h"

static void translate_rewrites_placeholders_and_sqlite_words(void **state)
{
    char out[256];
    assert_true(ag_db_pg_translate("SELECT a FROM t WHERE b = ? AND c = ?", out, sizeof(out)) > 0);
    assert_string_equal(out, "SELECT a FROM t WHERE b = $1 AND c = $2");
    /* numbered ones keep their number; a bare ? after them takes the next */
    assert_true(ag_db_pg_translate("x = ?2 AND y = ?1 AND z = ?", out, sizeof(out)) > 0);
    assert_string_equal(out, "x = $2 AND y = $1 AND z = $3");
    /* nothing inside quotes or comments */
    assert_true(ag_db_pg_translate("SELECT '?', \"a?\" -- ?\n, ?", out, sizeof(out)) > 0);
    assert_string_equal(out, "SELECT '?', \"a?\" -- ?\n, $1");
    assert_true(ag_db_pg_translate("WHERE e = ? COLLATE NOCASE ORDER BY t LIMIT -1 OFFSET ?", out,
                                   sizeof(out)) > 0);
    assert_string_equal(out, "WHERE e = $1 COLLATE ag_nocase ORDER BY t LIMIT ALL OFFSET $2");
    /* only whole words */
    assert_true(ag_db_pg_translate("SELECT xLIMIT -1, 'COLLATE NOCASE'", out, sizeof(out)) > 0);
    assert_string_equal(out, "SELECT xLIMIT -1, 'COLLATE NOCASE'");
    assert_int_equal(ag_db_pg_translate("SELECT ?, ?, ?", out, 8), AG_ETOOBIG);
}

/* Opens a connection of the kind the suite runs on, to the database of dir. */
static struct ag_db *open_db(const struct tmpdir *t)
{
    struct ag_db *db = NULL;
    char err[256] = "";
    if (pg_test_url()) {
        char url[512];
        pg_url_for(t->dir, url, sizeof(url));
        assert_int_equal(ag_db_open_pg(url, &db, err, sizeof(err)), 0);
    } else {
        assert_int_equal(ag_db_open_sqlite(t->db, &db, err, sizeof(err)), 0);
    }
    return db;
}

static void values_of_every_kind_round_trip(void **state)
{
    struct tmpdir t;
    tmpdir_make(&t);
    struct ag_db *db = open_db(&t);
    bool pg = ag_db_kind(db) == AG_DB_PG;
    assert_int_equal(ag_db_exec(db,
                                pg ? "CREATE TABLE v (k BIGINT PRIMARY KEY, s TEXT, b BYTEA)"
                                   : "CREATE TABLE v (k INTEGER PRIMARY KEY, s TEXT, b BLOB)",
                                "test"),
                     0);
    struct ag_db_stmt *st = NULL;
    static const unsigned char bytes[] = {0, 1, 0xff, '\\', 'x', 0};
    assert_int_equal(ag_db_prepare(db, "INSERT INTO v (k, s, b) VALUES (?, ?, ?)", &st), 0);
    assert_int_equal(ag_db_bind_int64(st, 1, INT64_C(-9007199254740993)), 0);
    assert_int_equal(ag_db_bind_text(st, 2, "h\xc3\xa9llo 'q' \"d\""), 0);
    assert_int_equal(ag_db_bind_blob(st, 3, bytes, sizeof(bytes)), 0);
    assert_int_equal(ag_db_step(st), AG_DB_DONE);
    assert_int_equal(ag_db_changes(db), 1);
    /* the same statement again: the key is taken */
    assert_int_equal(ag_db_reset(st), 0);
    assert_int_equal(ag_db_step(st), AG_DB_CONSTRAINT);
    assert_int_equal(ag_db_reset(st), 0);
    assert_int_equal(ag_db_bind_int64(st, 1, 7), 0);
    assert_int_equal(ag_db_bind_text(st, 2, NULL), 0);
    assert_int_equal(ag_db_bind_null(st, 3), 0);
    assert_int_equal(ag_db_step(st), AG_DB_DONE);
    ag_db_finalize(st);

    assert_int_equal(ag_db_prepare(db, "SELECT k, s, b, k > 0 FROM v ORDER BY k", &st), 0);
    assert_int_equal(ag_db_step(st), AG_DB_ROW);
    assert_int_equal(ag_db_column_int64(st, 0), INT64_C(-9007199254740993));
    assert_string_equal(ag_db_column_text(st, 1), "h\xc3\xa9llo 'q' \"d\"");
    size_t n = 0;
    const void *b = ag_db_column_blob(st, 2, &n);
    assert_int_equal(n, sizeof(bytes));
    assert_memory_equal(b, bytes, sizeof(bytes));
    assert_int_equal(ag_db_column_int64(st, 3), 0); /* a boolean reads 0 or 1 */
    assert_false(ag_db_column_is_null(st, 1));
    assert_int_equal(ag_db_step(st), AG_DB_ROW);
    assert_int_equal(ag_db_column_int64(st, 0), 7);
    assert_true(ag_db_column_is_null(st, 1));
    assert_null(ag_db_column_text(st, 1));
    assert_null(ag_db_column_blob(st, 2, &n));
    assert_int_equal(ag_db_column_int64(st, 3), 1);
    assert_int_equal(ag_db_step(st), AG_DB_DONE);
    ag_db_finalize(st);

    /* a transaction rolled back leaves nothing */
    assert_false(ag_db_in_tx(db));
    assert_int_equal(ag_db_begin(db, "test"), 0);
    assert_true(ag_db_in_tx(db));
    assert_int_equal(ag_db_exec(db, "DELETE FROM v", "test"), 0);
    ag_db_rollback(db);
    assert_false(ag_db_in_tx(db));
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM v"), 2);
    /* a statement that cannot run says why */
    assert_int_equal(ag_db_exec(db, "SELECT * FROM no_such_table", "test"), AG_EDB);
    assert_non_null(strstr(ag_db_errmsg(db), "no_such_table"));
    ag_db_close(db);
    tmpdir_remove(&t);
}

static struct ag_request_record row(int64_t id, const char *path)
{
    struct ag_request_record r = {
        .id = id, .ts_ms = 1700000000000, .method = "POST", .path = path, .status = 200};
    return r;
}

/* Two gateways on one PostgreSQL database number their log rows each on its own; a row whose id
 * the other one already used is kept under the next id of the table's sequence. */
static void pg_a_request_id_taken_by_another_gateway_gets_a_new_one(void **state)
{
    PG_ONLY();
    struct tmpdir t;
    struct ag_store *a = NULL, *b = NULL;
    tmpdir_make(&t);
    assert_int_equal(ag_store_open(t.dir, &a, NULL, 0), 0);
    assert_int_equal(ag_store_open(t.dir, &b, NULL, 0), 0);
    struct ag_request_record r1 = row(1, "/from-a"), r2 = row(1, "/from-b"), r3 = row(0, "/auto");
    assert_int_equal(ag_store_request_log_insert(a, &r1, 0), 0);
    assert_int_equal(ag_store_request_log_insert(b, &r2, 0), 0);
    assert_int_equal(ag_store_request_log_insert(b, &r3, 0), 0);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM request_log"), 3);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(DISTINCT id) FROM request_log"), 3);
    assert_int_equal(raw_int(t.db, "SELECT id FROM request_log WHERE path = '/from-a'"), 1);
    assert_true(raw_int(t.db, "SELECT id FROM request_log WHERE path = '/from-b'") != 1);
    ag_store_free(a);
    ag_store_free(b);
    tmpdir_remove(&t);
}

/* The server ends the store's connection (a restart, an idle timeout): the next call outside a
 * transaction reconnects and runs instead of failing from then on. */
static void pg_a_lost_connection_is_opened_again(void **state)
{
    PG_ONLY();
    struct tmpdir t;
    struct ag_store *s = NULL;
    int64_t n = -1;
    tmpdir_make(&t);
    assert_int_equal(ag_store_open(t.dir, &s, NULL, 0), 0);
    assert_int_equal(ag_store_request_log_count(s, &n), 0);
    raw_exec(t.db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                   " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    struct ag_request_record r = row(0, "/after");
    assert_int_equal(ag_store_request_log_insert(s, &r, 0), 0);
    assert_int_equal(ag_store_request_log_count(s, &n), 0);
    assert_int_equal(n, 1);
    ag_store_free(s);
    tmpdir_remove(&t);
}

/* Row counters of the monitor's queries below. */
static int count_log(const struct ag_request_record *r, void *ud)
{
    (*(int *)ud)++;
    return 0;
}

struct health_seen {
    int rows;
    int64_t ok, errors;
};

static int count_health(const char *account, int64_t hour_ms, int64_t ok, int64_t errors, void *ud)
{
    struct health_seen *h = ud;
    h->rows++;
    h->ok += ok;
    h->errors += errors;
    return 0;
}

struct stats_seen {
    int rows;
    int64_t input;
    char first_key[64];
};

static int count_stats(int64_t period_s, const char *key, const struct ag_token_stats_row *row,
                       void *ud)
{
    struct stats_seen *st = ud;
    if (st->rows++ == 0)
        snprintf(st->first_key, sizeof(st->first_key), "%s", key);
    st->input += row->input_tokens;
    return 0;
}

/* The monitor's filters, its account health (attempts kept as JSON) and the statistics' groups
 * give the same answers on either backend. */
static void monitor_queries_answer_alike(void **state)
{
    struct tmpdir t;
    struct ag_store *s = NULL;
    tmpdir_make(&t);
    assert_int_equal(ag_store_open(t.dir, &s, NULL, 0), 0);
    const int64_t t0 = INT64_C(1700000000000);
    struct ag_request_record r = row(0, "/v1/chat/completions");
    r.ts_ms = t0;
    r.account_email = "A@example.com";
    r.model_served = "gemini-x";
    r.protocol = "openai-chat";
    r.user_agent = "curl/8";
    r.attempts_json = "[{\"account\":\"b@example.com\",\"outcome\":\"rate_limited\"},"
                      "{\"account\":\"a@example.com\",\"outcome\":\"ok\"}]";
    assert_int_equal(ag_store_request_log_insert(s, &r, 0), 0);
    r.ts_ms = t0 + 1000;
    r.status = 500;
    r.error_class = "upstream";
    r.attempts_json = "not json";
    r.account_email = "a@EXAMPLE.com";
    assert_int_equal(ag_store_request_log_insert(s, &r, 0), 0);
    r.attempts_json = NULL;
    r.status = 200;
    r.error_class = NULL;
    r.account_email = "c@example.com";
    assert_int_equal(ag_store_request_log_insert(s, &r, 0), 0);

    int n = 0;
    int64_t total = -1;
    struct ag_log_filter f = {.account = "a@example.com"};
    assert_int_equal(ag_store_log_query(s, &f, count_log, &n, &total), 0);
    assert_int_equal(n, 2); /* the account matches whatever its case */
    assert_int_equal(total, 2);
    struct ag_log_filter g = {.text = "CURL", .status_class = AG_LOG_STATUS_ERROR, .limit = 5};
    n = 0;
    assert_int_equal(ag_store_log_query(s, &g, count_log, &n, &total), 0);
    assert_int_equal(n, 1);
    assert_int_equal(total, 1);

    struct health_seen h = {0};
    assert_int_equal(ag_store_account_health(s, t0, t0 + 3600000, count_health, &h), 0);
    /* a@ (ok attempt) and b@ (failed attempt) from the JSON; c@ from its row; the row with
     * unreadable attempts counts for nothing */
    assert_int_equal(h.rows, 3);
    assert_int_equal(h.ok, 2);
    assert_int_equal(h.errors, 1);

    struct ag_token_delta d = {.ts_s = t0 / 1000,
                               .account_email = "a@example.com",
                               .model = "m1",
                               .protocol = "gemini",
                               .requests = 1,
                               .input_tokens = 10};
    assert_int_equal(ag_store_token_stats_add(s, &d), 0);
    assert_int_equal(ag_store_token_stats_add(s, &d), 0);
    d.model = "m2";
    d.input_tokens = 100;
    assert_int_equal(ag_store_token_stats_add(s, &d), 0);
    struct stats_seen st = {0};
    struct ag_stats_query q = {.group = AG_STATS_BY_MODEL, .account = "A@EXAMPLE.COM"};
    assert_int_equal(ag_store_stats_query(s, &q, count_stats, &st), 0);
    assert_int_equal(st.rows, 2);
    assert_string_equal(st.first_key, "m2"); /* most tokens first */
    assert_int_equal(st.input, 120);
    memset(&st, 0, sizeof(st));
    struct ag_stats_query days = {.bucket_s = 86400, .tz_offset_s = 3600};
    assert_int_equal(ag_store_stats_query(s, &days, count_stats, &st), 0);
    assert_int_equal(st.rows, 1);
    assert_int_equal(st.input, 120);
    ag_store_free(s);
    tmpdir_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(translate_rewrites_placeholders_and_sqlite_words),
        cmocka_unit_test(values_of_every_kind_round_trip),
        cmocka_unit_test(pg_a_request_id_taken_by_another_gateway_gets_a_new_one),
        cmocka_unit_test(pg_a_lost_connection_is_opened_again),
        cmocka_unit_test(monitor_queries_answer_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
