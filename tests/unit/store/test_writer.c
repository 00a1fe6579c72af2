/* Unit tests for store/writer.c and retention: batching (by queue and by time), the bounded queue's
 * drop counter, flush on shutdown, token statistics and touches through the thread, body caps, and
 * retention that deletes old rows (in the right units) while keeping new ones. */
#include "ag_test.h"

#include <sqlite3.h>

#include "core/err.h"
#include "core/time.h"
#include "store/accounts.h"
#include "store/request_log.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "store/token_stats.h"
#include "store/user_keys.h"
#include "store/writer.h"

#include "store_test_util.h"

#include <stdio.h>
#include <time.h>

#define DAY_MS INT64_C(86400000)

struct fixture {
    struct tmpdir t;
    struct ag_store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    tmpdir_make(&f->t);
    assert_int_equal(ag_store_open(f->t.dir, &f->s, NULL, 0), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ag_store_free(f->s);
    tmpdir_remove(&f->t);
    free(f);
    return 0;
}

static const struct ag_writer_options no_retention = {
    .queue_capacity = 8,
    .batch_max = 64,
    .retention = {.log_max_age_days = -1, .log_max_rows = -1, .stats_max_age_days = -1},
};

static struct ag_request_record record(int64_t ts_ms, int status)
{
    return (struct ag_request_record){.ts_ms = ts_ms,
                                      .method = "POST",
                                      .path = "/v1/chat/completions",
                                      .protocol = "openai",
                                      .model_requested = "gpt-4o",
                                      .model_served = "gemini-3-flash",
                                      .account_email = "a@example.com",
                                      .status = status,
                                      .attempts = 1,
                                      .ttfb_ms = 120,
                                      .total_ms = 900,
                                      .input_tokens = 10,
                                      .output_tokens = 20,
                                      .stream = true};
}

static int64_t log_count(struct ag_store *s)
{
    int64_t n = -1;
    assert_int_equal(ag_store_request_log_count(s, &n), 0);
    return n;
}

static void full_queue_drops_and_counts_then_batches(void **state)
{
    struct fixture *f = *state;
    struct ag_writer *w = ag_writer_new(f->s, &no_retention);
    assert_non_null(w);
    ag_writer_pause(w);
    int accepted = 0, refused = 0;
    for (int i = 0; i < 11; i++) {
        struct ag_request_record r = record(ag_wall_ms(), 200);
        int rc = ag_writer_log_request(w, &r);
        if (rc == 0)
            accepted++;
        else if (rc == AG_ETOOBIG)
            refused++;
    }
    assert_int_equal(accepted, 8);
    assert_int_equal(refused, 3);
    assert_int_equal(ag_writer_dropped(w), 3);
    /* Flushing a paused writer would wait forever: refused. */
    assert_int_equal(ag_writer_flush(w), AG_ESTATE);
    assert_int_equal(log_count(f->s), 0);

    ag_writer_resume(w);
    assert_int_equal(ag_writer_flush(w), 0);
    struct ag_writer_stats st;
    ag_writer_get_stats(w, &st);
    assert_int_equal(st.accepted, 8);
    assert_int_equal(st.written, 8);
    assert_int_equal(st.dropped, 3);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.batches, 1); /* eight jobs, one transaction */
    assert_int_equal(st.queued, 0);
    assert_int_equal(log_count(f->s), 8);
    ag_writer_free(w);
}

static void batch_max_splits_transactions(void **state)
{
    struct fixture *f = *state;
    struct ag_writer_options o = no_retention;
    o.queue_capacity = 100;
    o.batch_max = 10;
    struct ag_writer *w = ag_writer_new(f->s, &o);
    assert_non_null(w);
    ag_writer_pause(w);
    for (int i = 0; i < 95; i++) {
        struct ag_request_record r = record(ag_wall_ms(), 200);
        assert_int_equal(ag_writer_log_request(w, &r), 0);
    }
    ag_writer_resume(w);
    assert_int_equal(ag_writer_flush(w), 0);
    struct ag_writer_stats st;
    ag_writer_get_stats(w, &st);
    assert_int_equal(st.written, 95);
    assert_int_equal(st.batches, 10);
    ag_writer_free(w);
}

/* Jobs arriving within batch_delay_ms of a commit wait for the next one: 40 requests submitted
 * one by one (no pause) cost two transactions, not 40. The delay is long so the test cannot
 * race the clock; flush writes the gathered jobs at once instead of waiting it out. */
static void jobs_close_together_share_a_transaction(void **state)
{
    struct fixture *f = *state;
    struct ag_writer_options o = no_retention;
    o.queue_capacity = 100;
    o.batch_delay_ms = 60 * 1000;
    struct ag_writer *w = ag_writer_new(f->s, &o);
    assert_non_null(w);
    struct ag_request_record r = record(ag_wall_ms(), 200);
    assert_int_equal(ag_writer_log_request(w, &r), 0);
    /* After a quiet spell the first job is written without waiting for the delay. */
    struct ag_writer_stats st = {0};
    for (int i = 0; i < 500 && st.written == 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        ag_writer_get_stats(w, &st);
    }
    assert_int_equal(st.written, 1);
    for (int i = 0; i < 39; i++)
        assert_int_equal(ag_writer_log_request(w, &r), 0);
    ag_writer_get_stats(w, &st);
    assert_int_equal(st.queued, 39); /* gathering: the next commit is a minute away */
    assert_int_equal(ag_writer_flush(w), 0);
    ag_writer_get_stats(w, &st);
    assert_int_equal(st.written, 40);
    assert_int_equal(st.batches, 2);
    assert_int_equal(log_count(f->s), 40);
    ag_writer_free(w);
}

/* Without flush, gathered jobs go out by themselves once the delay has passed. */
static void gathered_jobs_commit_after_the_delay(void **state)
{
    struct fixture *f = *state;
    struct ag_writer_options o = no_retention;
    o.queue_capacity = 100;
    o.batch_delay_ms = 100;
    struct ag_writer *w = ag_writer_new(f->s, &o);
    assert_non_null(w);
    struct ag_request_record r = record(ag_wall_ms(), 200);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ag_writer_log_request(w, &r), 0);
    struct ag_writer_stats st = {0};
    for (int i = 0; i < 500 && st.written < 5; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        ag_writer_get_stats(w, &st);
    }
    assert_int_equal(st.written, 5);
    assert_true(st.batches <= 2);
    assert_int_equal(log_count(f->s), 5);
    ag_writer_free(w);
}

static void shutdown_flushes_everything(void **state)
{
    struct fixture *f = *state;
    struct ag_writer_options o = no_retention;
    o.queue_capacity = 2000;
    char id[AG_ACCOUNT_ID_SIZE];
    struct ag_account in = {.email = "a@example.com", .refresh_token = "1//a"};
    assert_int_equal(ag_store_account_upsert(f->s, &in, id, NULL), 0);
    uint64_t since = 0;
    assert_int_equal(ag_store_accounts_changed(f->s, &since), 1);

    struct ag_writer *w = ag_writer_new(f->s, &o);
    assert_non_null(w);
    ag_writer_pause(w);         /* even a paused writer drains on shutdown */
    int64_t now_s = 1760000000; /* an hour boundary is not needed: all in one hour */
    for (int i = 0; i < 1500; i++) {
        struct ag_request_record r = record(ag_wall_ms(), i % 10 == 0 ? 429 : 200);
        assert_int_equal(ag_writer_log_request(w, &r), 0);
    }
    for (int i = 0; i < 3; i++) {
        struct ag_token_delta d = {.ts_s = now_s + i,
                                   .account_email = "a@example.com",
                                   .model = "gemini-3-flash",
                                   .requests = 1,
                                   .input_tokens = 100,
                                   .output_tokens = 50,
                                   .cached_tokens = 7,
                                   .reasoning_tokens = 3,
                                   .errors = i == 2};
        assert_int_equal(ag_writer_add_tokens(w, &d), 0);
    }
    assert_int_equal(ag_writer_touch_account(w, id, 4000000000), 0);
    ag_writer_free(w);

    assert_int_equal(log_count(f->s), 1500);
    struct ag_token_stats_row row;
    assert_int_equal(ag_store_token_stats_get(f->s, now_s, "a@example.com", "gemini-3-flash", &row),
                     0);
    assert_int_equal(row.hour_s, now_s - now_s % 3600);
    assert_int_equal(row.requests, 3);
    assert_int_equal(row.input_tokens, 300);
    assert_int_equal(row.output_tokens, 150);
    assert_int_equal(row.cached_tokens, 21);
    assert_int_equal(row.reasoning_tokens, 9);
    assert_int_equal(row.errors, 1);
    assert_int_equal(ag_store_token_stats_get(f->s, now_s, "b@example.com", "gemini-3-flash", &row),
                     AG_ENOTFOUND);

    struct ag_account a;
    assert_int_equal(ag_store_account_get(f->s, id, &a), 0);
    assert_int_equal(a.last_used_at, 4000000000);
    ag_account_dispose(&a);
    /* The writer's touch did not count as an account change. */
    assert_int_equal(ag_store_accounts_changed(f->s, &since), 0);
}

/* One batch whose records fall on more token-statistics rows than the writer sums at once (two
 * hours x 40 models), a key's usage spread over them, and touches out of order: every row gets
 * exactly its own records' sums, a key's usage and an account's last use their totals and latest.
 */
static void a_batch_sums_each_row_once_and_exactly(void **state)
{
    struct fixture *f = *state;
    struct ag_writer_options o = no_retention;
    o.queue_capacity = 1024;
    o.batch_max = 1024;
    char id[AG_ACCOUNT_ID_SIZE];
    struct ag_account in = {.email = "a@example.com", .refresh_token = "1//a"};
    assert_int_equal(ag_store_account_upsert(f->s, &in, id, NULL), 0);
    struct ag_writer *w = ag_writer_new(f->s, &o);
    assert_non_null(w);
    ag_writer_pause(w); /* everything below is one batch */
    int64_t hour0_s = 1760000400 - 1760000400 % 3600;
    char model[32];
    for (int i = 0; i < 240; i++) {
        int m = i % 40, hour = (i / 40) % 2;
        snprintf(model, sizeof(model), "model-%d", m);
        struct ag_request_record r =
            record((hour0_s + hour * 3600 + i) * 1000, i % 6 == 0 ? 500 : 200);
        r.model_served = model;
        r.input_tokens = m + 1;
        r.output_tokens = 2;
        r.key_name = i % 2 ? "bob" : NULL;
        assert_int_equal(ag_writer_record(w, &r), 0);
    }
    int64_t touches[] = {4000000300, 4000000100, 4000000900, 4000000200};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ag_writer_touch_account(w, id, touches[i]), 0);
    ag_writer_resume(w);
    assert_int_equal(ag_writer_flush(w), 0);
    struct ag_writer_stats st;
    ag_writer_get_stats(w, &st);
    ag_writer_free(w);
    assert_int_equal(st.written, 244);
    assert_int_equal(st.failed, 0);
    assert_int_equal(log_count(f->s), 240);

    /* i = 40 * (3 * k + hour) + m: each (hour, model) row has 3 records. */
    for (int hour = 0; hour < 2; hour++) {
        for (int m = 0; m < 40; m++) {
            struct ag_token_stats_row row;
            int64_t errors = 0;
            for (int k = 0; k < 3; k++)
                errors += (40 * (2 * k + hour) + m) % 6 == 0;
            snprintf(model, sizeof(model), "model-%d", m);
            assert_int_equal(
                ag_store_token_stats_get(f->s, hour0_s + hour * 3600, "a@example.com", model, &row),
                0);
            assert_int_equal(row.requests, 3);
            assert_int_equal(row.input_tokens, 3 * (m + 1));
            assert_int_equal(row.output_tokens, 6);
            assert_int_equal(row.errors, errors);
        }
    }
    struct ag_user_key_usage u;
    assert_int_equal(ag_store_key_usage_since(f->s, "bob", hour0_s, &u), 0);
    assert_int_equal(u.requests, 120);
    int64_t in_tokens = 0;
    for (int i = 1; i < 240; i += 2)
        in_tokens += i % 40 + 1;
    assert_int_equal(u.input_tokens, in_tokens);
    assert_int_equal(u.output_tokens, 240);
    assert_int_equal(ag_store_key_usage_since(f->s, "bob", hour0_s + 3600, &u), 0);
    assert_int_equal(u.requests, 60);

    struct ag_account a;
    assert_int_equal(ag_store_account_get(f->s, id, &a), 0);
    assert_int_equal(a.last_used_at, 4000000900);
    ag_account_dispose(&a);
}

/* 37 rows in one batch, each followed by a touch, go in statements of several rows each (SQLite):
 * every column of every row lands as given, and a row whose id is taken fails alone, the rows of
 * its statement written. */
static void rows_written_together_keep_every_column_and_a_bad_row_fails_alone(void **state)
{
    struct fixture *f = *state;
    struct ag_writer_options o = no_retention;
    o.queue_capacity = 128;
    o.batch_max = 128;
    o.body_cap = 8;
    bool pg = pg_test_url() != NULL;
    struct ag_request_record taken = record(1, 200);
    taken.id = 1005;
    assert_int_equal(ag_store_request_log_insert(f->s, &taken, 0), 0);
    char id[AG_ACCOUNT_ID_SIZE];
    struct ag_account in = {.email = "a@example.com", .refresh_token = "1//a"};
    assert_int_equal(ag_store_account_upsert(f->s, &in, id, NULL), 0);
    struct ag_writer *w = ag_writer_new(f->s, &o);
    assert_non_null(w);
    ag_writer_pause(w); /* one batch */
    char model[37][16], attempts[37][16], msg[37][16];
    for (int i = 0; i < 37; i++) {
        struct ag_request_record r = record(2000 + i, i % 5 ? 200 : 429);
        snprintf(model[i], sizeof(model[i]), "m-%d", i);
        snprintf(attempts[i], sizeof(attempts[i]), "[%d]", i);
        snprintf(msg[i], sizeof(msg[i]), "e-%d", i);
        r.id = 1000 + i;
        r.model_served = model[i];
        r.attempts_json = attempts[i];
        r.error_message = i % 5 ? NULL : msg[i];
        r.ttfb_ms = i % 3 ? 100 + i : -1;
        r.key_name = i % 2 ? "bob" : NULL;
        r.input_tokens = i;
        r.request_body = i % 4 ? AG_STR_NULL : AG_STR("0123456789");
        assert_int_equal(ag_writer_record(w, &r), 0);
        /* As the gateway does: each record followed by its account's touch. */
        assert_int_equal(ag_writer_touch_account(w, id, 4000000000 + i), 0);
    }
    ag_writer_resume(w);
    assert_int_equal(ag_writer_flush(w), 0);
    struct ag_writer_stats st;
    ag_writer_get_stats(w, &st);
    ag_writer_free(w);
    struct ag_account a;
    assert_int_equal(ag_store_account_get(f->s, id, &a), 0);
    assert_int_equal(a.last_used_at, 4000000036);
    ag_account_dispose(&a);
    /* PostgreSQL gives the row whose id is taken the table's next free id instead (and so the
     * ids of the rows after it move up too). */
    assert_int_equal(st.written, 37 + (pg ? 37 : 36));
    assert_int_equal(st.failed, pg ? 0 : 1);
    assert_int_equal(log_count(f->s), 38 - (pg ? 0 : 1));
    assert_int_equal(raw_int(f->t.db, "SELECT ts_ms FROM request_log WHERE id = 1005"), 1);
    char sql[640];
    for (int i = 0; i < 37; i++) {
        if (i == 5)
            continue;
        snprintf(
            sql, sizeof(sql),
            "SELECT COUNT(*) FROM request_log WHERE id %s %d AND ts_ms = %d AND method = 'POST'"
            " AND path = '/v1/chat/completions' AND protocol = 'openai'"
            " AND model_requested = 'gpt-4o' AND model_served = 'm-%d'"
            " AND account_email = 'a@example.com' AND status = %d AND attempts = 1"
            " AND ttfb_ms %s AND total_ms = 900 AND input_tokens = %d AND output_tokens = 20"
            " AND stream = 1 AND attempts_json = '[%d]' AND error_message %s"
            " AND key_name %s AND request_body %s AND response_body IS NULL",
            pg ? ">=" : "=", 1000 + i, 2000 + i, i, i % 5 ? 200 : 429, i % 3 ? "> 100" : "IS NULL",
            i, i, i % 5 ? "IS NULL" : "LIKE 'e-%'", i % 2 ? "= 'bob'" : "IS NULL",
            i % 4 ? "IS NULL" : "= '01234567'");
        if (raw_int(f->t.db, sql) != 1)
            fail_msg("row %d: %s", i, sql);
    }
}

/* The several-row insert the writer uses on SQLite: all rows or none (a taken id fails the
 * statement, which undoes itself), each size prepared once; PostgreSQL's is refused. */
static void several_rows_go_in_one_statement_all_or_none(void **state)
{
    struct fixture *f = *state;
    struct ag_db_stmt *st = NULL;
    struct ag_request_record recs[AG_LOG_INSERT_ROWS_MAX];
    const struct ag_request_record *rows[AG_LOG_INSERT_ROWS_MAX];
    char model[AG_LOG_INSERT_ROWS_MAX][16];
    for (int i = 0; i < AG_LOG_INSERT_ROWS_MAX; i++) {
        recs[i] = record(3000 + i, 200);
        recs[i].id = 500 + i;
        snprintf(model[i], sizeof(model[i]), "m-%d", i);
        recs[i].model_served = model[i];
        rows[i] = &recs[i];
    }
    if (pg_test_url()) {
        assert_int_equal(ag_store_request_log_insert_rows_db(f->s->conn, &st, rows, 2, 0),
                         AG_EINVAL);
        return;
    }
    assert_int_equal(ag_store_request_log_insert_rows_db(f->s->conn, &st, rows, 0, 0), AG_EINVAL);
    assert_int_equal(
        ag_store_request_log_insert_rows_db(f->s->conn, &st, rows, AG_LOG_INSERT_ROWS_MAX + 1, 0),
        AG_EINVAL);
    assert_int_equal(
        ag_store_request_log_insert_rows_db(f->s->conn, &st, rows, AG_LOG_INSERT_ROWS_MAX, 0), 0);
    assert_int_equal(log_count(f->s), AG_LOG_INSERT_ROWS_MAX);
    assert_int_equal(raw_int(f->t.db,
                             "SELECT COUNT(*) FROM request_log WHERE id - 500 = ts_ms - 3000"
                             " AND model_served = 'm-' || (id - 500)"),
                     AG_LOG_INSERT_ROWS_MAX);
    /* The same statement again, its last row's id free: the taken ones fail it whole. */
    recs[AG_LOG_INSERT_ROWS_MAX - 1].id = 900;
    assert_int_equal(
        ag_store_request_log_insert_rows_db(f->s->conn, &st, rows, AG_LOG_INSERT_ROWS_MAX, 0),
        AG_EDB);
    assert_int_equal(log_count(f->s), AG_LOG_INSERT_ROWS_MAX);
    assert_int_equal(raw_int(f->t.db, "SELECT COUNT(*) FROM request_log WHERE id = 900"), 0);
    ag_db_finalize(st);
}

static void submit_after_free_of_caller_data_is_safe_and_bodies_are_capped(void **state)
{
    struct fixture *f = *state;
    struct ag_writer_options o = no_retention;
    o.body_cap = 16;
    struct ag_writer *w = ag_writer_new(f->s, &o);
    assert_non_null(w);
    char *model = strdup("claude-sonnet-4-6");
    char body[100];
    memset(body, 'b', sizeof(body));
    /* "é" straddles the cap: bytes 15 and 16 (0xC3 0xA9). */
    body[15] = (char)0xC3;
    body[16] = (char)0xA9;
    struct ag_request_record r = record(ag_wall_ms(), 200);
    r.model_served = model;
    r.request_body = ag_str_make(body, sizeof(body));
    r.response_body = AG_STR("short");
    assert_int_equal(ag_writer_log_request(w, &r), 0);
    memset(model, 'x', strlen(model)); /* the caller reuses its memory at once */
    free(model);
    assert_int_equal(ag_writer_flush(w), 0);
    ag_writer_free(w);

    assert_int_equal(raw_int(f->t.db, "SELECT COUNT(*) FROM request_log"
                                      " WHERE model_served = 'claude-sonnet-4-6'"),
                     1);
    assert_int_equal(raw_int(f->t.db, "SELECT length(CAST(request_body AS BLOB)) FROM request_log"),
                     15);
    assert_int_equal(raw_int(f->t.db, "SELECT length(response_body) FROM request_log"), 5);
    assert_int_equal(raw_int(f->t.db, "SELECT ttfb_ms FROM request_log"), 120);
    assert_int_equal(raw_int(f->t.db, "SELECT stream FROM request_log"), 1);
}

static void retention_deletes_old_rows_only(void **state)
{
    struct fixture *f = *state;
    int64_t now = ag_wall_ms();
    /* Ages: 40 days, 31 days, 29 days, 2 hours, 1 minute. */
    int64_t ages[] = {40 * DAY_MS, 31 * DAY_MS, 29 * DAY_MS, 2 * 3600 * 1000, 60 * 1000};
    for (size_t i = 0; i < 5; i++) {
        struct ag_request_record r = record(now - ages[i], 200);
        assert_int_equal(ag_store_request_log_insert(f->s, &r, 0), 0);
    }
    /* Token statistics: one hour 500 days ago, one now. */
    struct ag_token_delta old = {.ts_s = now / 1000 - 500 * 86400, .model = "m", .requests = 1};
    struct ag_token_delta cur = {.ts_s = now / 1000, .model = "m", .requests = 1};
    assert_int_equal(ag_store_token_stats_add(f->s, &old), 0);
    assert_int_equal(ag_store_token_stats_add(f->s, &cur), 0);

    struct ag_retention keep30 = {.log_max_age_days = 30, .stats_max_age_days = 400};
    struct ag_retention_result res = {-1, -1};
    assert_int_equal(ag_store_retention_run(f->s, &keep30, now, &res), 0);
    assert_int_equal(res.log_rows_deleted, 2);
    assert_int_equal(res.stats_rows_deleted, 1);
    assert_int_equal(log_count(f->s), 3);
    /* The survivors are exactly the three newer ones (a seconds/ms mix-up would differ). */
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT MIN(ts_ms) FROM request_log");
    assert_int_equal(raw_int(f->t.db, sql), now - 29 * DAY_MS);
    struct ag_token_stats_row row;
    assert_int_equal(ag_store_token_stats_get(f->s, cur.ts_s, NULL, "m", &row), 0);
    assert_int_equal(ag_store_token_stats_get(f->s, old.ts_s, NULL, "m", &row), AG_ENOTFOUND);

    /* Row cap: the newest two stay. */
    struct ag_retention cap2 = {.log_max_rows = 2};
    assert_int_equal(ag_store_retention_run(f->s, &cap2, now, &res), 0);
    assert_int_equal(res.log_rows_deleted, 1);
    assert_int_equal(log_count(f->s), 2);
    assert_int_equal(raw_int(f->t.db, sql), now - 2 * 3600 * 1000);

    /* Nothing configured deletes nothing. */
    struct ag_retention none = {0};
    assert_int_equal(ag_store_retention_run(f->s, &none, now, &res), 0);
    assert_int_equal(log_count(f->s), 2);
}

static void writer_applies_retention_at_start(void **state)
{
    struct fixture *f = *state;
    int64_t now = ag_wall_ms();
    struct ag_request_record oldr = record(now - 10 * DAY_MS, 200);
    struct ag_request_record newr = record(now - 1000, 200);
    assert_int_equal(ag_store_request_log_insert(f->s, &oldr, 0), 0);
    assert_int_equal(ag_store_request_log_insert(f->s, &newr, 0), 0);

    struct ag_writer_options o = {.retention = {.log_max_age_days = 7}};
    struct ag_writer *w = ag_writer_new(f->s, &o);
    assert_non_null(w);
    struct ag_writer_stats st = {0};
    /* not while the gateway starts (over a large log the pass reads the whole table) */
    struct timespec soon = {0, 300 * 1000 * 1000};
    nanosleep(&soon, NULL);
    ag_writer_get_stats(w, &st);
    assert_int_equal(st.retention_runs, 0);
    /* but a moment later */
    for (int i = 0; i < 500 && st.retention_runs == 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        ag_writer_get_stats(w, &st);
    }
    assert_int_equal(st.retention_runs, 1);
    assert_int_equal(st.retention_log_deleted, 1);
    ag_writer_free(w);
    assert_int_equal(log_count(f->s), 1);
}

/* SQLite keeps no memory statistics: with them every allocation of the loop's and the writer's
 * connections took one process-wide mutex. */
static void sqlite_keeps_no_memory_statistics(void **state)
{
    struct fixture *f = *state;
    int64_t now = ag_wall_ms();
    struct ag_request_record r = record(now, 200);
    assert_int_equal(ag_store_request_log_insert(f->s, &r, 0), 0);
    assert_int_equal(log_count(f->s), 1);
    assert_int_equal(sqlite3_memory_used(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(full_queue_drops_and_counts_then_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_max_splits_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(jobs_close_together_share_a_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(gathered_jobs_commit_after_the_delay, setup, teardown),
        cmocka_unit_test_setup_teardown(shutdown_flushes_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(a_batch_sums_each_row_once_and_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(
            submit_after_free_of_caller_data_is_safe_and_bodies_are_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(
            rows_written_together_keep_every_column_and_a_bad_row_fails_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(several_rows_go_in_one_statement_all_or_none, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(retention_deletes_old_rows_only, setup, teardown),
        cmocka_unit_test_setup_teardown(writer_applies_retention_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(sqlite_keeps_no_memory_statistics, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
