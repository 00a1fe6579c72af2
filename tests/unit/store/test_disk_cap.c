/* Unit tests for the database disk cap (store/request_log.c, store/writer.c, store/migrate.c):
 * rows written past a small cap keep the file under it, the oldest rows go first, and a file made
 * without incremental vacuum is converted once by the writer. Real SQLite files in /tmp. */
#include "ag_test.h"

#include "core/err.h"
#include "store/request_log.h"
#include "store/store.h"
#include "store/writer.h"

#include "store_test_util.h"

#include <sys/stat.h>

#define CAP       (2 * 1024 * 1024)
#define BODY      8000
#define ROWS      1500
#define WAL_SLACK (1024 * 1024)

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* A record whose request body is BODY bytes of text (no cap: the writer keeps bodies whole). */
static struct ag_request_record record(int64_t ts_ms, const char *body)
{
    return (struct ag_request_record){
        .ts_ms = ts_ms,
        .method = "POST",
        .path = "/v1/chat/completions",
        .protocol = "openai",
        .model_requested = "m",
        .status = 200,
        .attempts = 1,
        .ttfb_ms = 1,
        .total_ms = 2,
        .request_body = ag_str_make(body, BODY),
    };
}

static void writer_keeps_the_file_under_the_cap_dropping_the_oldest(void **state)
{
    SQLITE_ONLY();
    struct tmpdir t;
    struct ag_store *s = NULL;
    char wal[160];
    tmpdir_make(&t);
    snprintf(wal, sizeof(wal), "%s-wal", t.db);
    assert_int_equal(ag_store_open(t.dir, &s, NULL, 0), 0);
    struct ag_writer_options o = {
        .body_cap = BODY + 1,
        .batch_max = 32,
        .batch_delay_ms = -1,
        .retention = {.log_max_age_days = -1, .log_max_rows = -1, .stats_max_age_days = -1},
        .max_disk_bytes = CAP,
    };
    struct ag_writer *w = ag_writer_new(s, &o);
    assert_non_null(w);
    static char body[BODY];
    memset(body, 'x', sizeof(body));
    /* 1500 rows of 8 KB: six times the cap. Ids and times both grow, so "oldest" is unambiguous. */
    int64_t largest = 0;
    for (int i = 1; i <= ROWS; i++) {
        struct ag_request_record r = record(1700000000000 + i, body);
        r.id = i;
        while (ag_writer_record(w, &r) == AG_ETOOBIG)
            assert_int_equal(ag_writer_flush(w), 0);
        if (i % 100 == 0) {
            assert_int_equal(ag_writer_flush(w), 0);
            /* the file never outgrows the cap by more than the log of one transaction */
            int64_t size = file_size(t.db) + file_size(wal);
            if (size > largest)
                largest = size;
        }
    }
    assert_int_equal(ag_writer_flush(w), 0);
    struct ag_writer_stats st;
    ag_writer_get_stats(w, &st);
    ag_writer_free(w);

    int64_t in_use = 0, total = 0;
    assert_int_equal(ag_store_disk_usage(s, &in_use, &total), 0);
    assert_true(in_use <= CAP);
    assert_true(total <= CAP + WAL_SLACK);
    assert_true(file_size(t.db) <= CAP);
    assert_true(largest <= CAP + WAL_SLACK);
    /* rows went, and exactly the oldest ones: what is left is the newest run of ids */
    long long n = raw_int(t.db, "SELECT COUNT(*) FROM request_log");
    long long lo = raw_int(t.db, "SELECT MIN(id) FROM request_log");
    long long hi = raw_int(t.db, "SELECT MAX(id) FROM request_log");
    print_message("kept %lld of %d rows; largest file + log %lld bytes, now %lld in use "
                  "(cap %d)\n",
                  n, ROWS, (long long)largest, (long long)in_use, CAP);
    assert_true(n > 50 && n < ROWS);
    assert_int_equal(hi, ROWS);
    assert_int_equal(hi - lo + 1, n);
    assert_int_equal(st.disk_cap_deleted, ROWS - n);
    /* statistics are never what the cap removes */
    assert_int_equal(raw_int(t.db, "SELECT SUM(requests) FROM token_stats_hourly"), ROWS);
    ag_store_free(s);
    tmpdir_remove(&t);
}

static void cap_pass_reports_and_spares_a_small_file(void **state)
{
    SQLITE_ONLY();
    struct tmpdir t;
    struct ag_store *s = NULL;
    tmpdir_make(&t);
    assert_int_equal(ag_store_open(t.dir, &s, NULL, 0), 0);
    static char body[BODY];
    memset(body, 'y', sizeof(body));
    for (int i = 1; i <= 40; i++) {
        struct ag_request_record r = record(1700000000000 + i, body);
        assert_int_equal(ag_store_request_log_insert(s, &r, BODY + 1), 0);
    }
    struct ag_disk_cap_result res;
    /* under the cap: nothing happens */
    assert_int_equal(ag_store_disk_cap_run(s, CAP, &res), 0);
    assert_int_equal(res.log_rows_deleted, 0);
    assert_false(res.vacuumed);
    /* a cap below what 40 rows take: the oldest go until nine tenths of it are in use */
    assert_int_equal(ag_store_disk_cap_run(s, 200 * 1024, &res), 0);
    assert_true(res.log_rows_deleted > 0);
    assert_true(res.vacuumed);
    assert_true(res.bytes_before > 200 * 1024);
    assert_true(res.bytes_after <= 200 * 1024);
    assert_int_equal(raw_int(t.db, "SELECT MAX(id) FROM request_log"), 40);
    assert_int_equal(raw_int(t.db, "SELECT MIN(id) FROM request_log"), 1 + res.log_rows_deleted);
    assert_int_equal(ag_store_disk_cap_run(s, 0, &res), AG_EINVAL);
    ag_store_free(s);
    tmpdir_remove(&t);
}

/* PostgreSQL: the database's size is the server's own (pg_database_size) and its space comes back
 * only through PostgreSQL's VACUUM, so a cap pass reports the size and deletes nothing. */
static void pg_cap_pass_reports_the_size_and_keeps_the_log(void **state)
{
    PG_ONLY();
    struct tmpdir t;
    struct ag_store *s = NULL;
    tmpdir_make(&t);
    assert_int_equal(ag_store_open(t.dir, &s, NULL, 0), 0);
    static char body[BODY];
    memset(body, 'y', sizeof(body));
    for (int i = 1; i <= 40; i++) {
        struct ag_request_record r = record(1700000000000 + i, body);
        assert_int_equal(ag_store_request_log_insert(s, &r, BODY + 1), 0);
    }
    int64_t used = 0, total = 0;
    assert_int_equal(ag_store_disk_usage(s, &used, &total), 0);
    assert_true(used > 40 * BODY);
    struct ag_disk_cap_result res;
    assert_int_equal(ag_store_disk_cap_run(s, 200 * 1024, &res), 0);
    assert_int_equal(res.log_rows_deleted, 0);
    assert_false(res.vacuumed);
    assert_true(res.bytes_before > 200 * 1024);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM request_log"), 40);
    ag_store_free(s);
    tmpdir_remove(&t);
}

static void new_file_is_incremental_and_old_file_is_converted_once(void **state)
{
    SQLITE_ONLY();
    struct tmpdir t;
    struct ag_store *s = NULL;
    tmpdir_make(&t);
    assert_int_equal(ag_store_open(t.dir, &s, NULL, 0), 0);
    /* a new file is born in incremental mode (2) */
    assert_int_equal(raw_int(t.db, "PRAGMA auto_vacuum"), 2);
    ag_store_free(s);

    /* a file from before: auto_vacuum off, with rows */
    raw_exec(t.db, "PRAGMA auto_vacuum = NONE; VACUUM;");
    assert_int_equal(raw_int(t.db, "PRAGMA auto_vacuum"), 0);
    assert_int_equal(ag_store_open(t.dir, &s, NULL, 0), 0);
    static char body[BODY];
    memset(body, 'z', sizeof(body));
    for (int i = 1; i <= 10; i++) {
        struct ag_request_record r = record(1700000000000 + i, body);
        assert_int_equal(ag_store_request_log_insert(s, &r, BODY + 1), 0);
    }
    struct ag_writer_options o = {
        .retention = {.log_max_age_days = -1, .log_max_rows = -1, .stats_max_age_days = -1},
        .max_disk_bytes = CAP,
    };
    struct ag_writer *w = ag_writer_new(s, &o);
    assert_non_null(w);
    struct ag_request_record r = record(1700000000100, body);
    assert_int_equal(ag_writer_record(w, &r), 0);
    assert_int_equal(ag_writer_flush(w), 0);
    ag_writer_free(w);
    /* converted by the writer, with nothing lost */
    assert_int_equal(raw_int(t.db, "PRAGMA auto_vacuum"), 2);
    assert_int_equal(raw_int(t.db, "SELECT COUNT(*) FROM request_log"), 11);
    ag_store_free(s);
    tmpdir_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writer_keeps_the_file_under_the_cap_dropping_the_oldest),
        cmocka_unit_test(cap_pass_reports_and_spares_a_small_file),
        cmocka_unit_test(new_file_is_incremental_and_old_file_is_converted_once),
        cmocka_unit_test(pg_cap_pass_reports_the_size_and_keeps_the_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
