/* store/request_log.c: request_log inserts, counting, and retention (request_log and
 * token_stats_hourly). Timestamps in request_log are milliseconds and in token_stats_hourly
 * seconds; the cutoffs below are computed in each table's own unit. */
#include "store/request_log.h"

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_internal.h"

#include <stdio.h>

#define MS_PER_DAY INT64_C(86400000)
#define S_PER_DAY  INT64_C(86400)

static int bind_body(struct ag_db_stmt *st, int idx, struct ag_str body, size_t cap)
{
    if (!body.p || cap == 0)
        return ag_db_bind_null(st, idx) == 0 ? 0 : AG_EDB;
    size_t n = body.len < cap ? body.len : cap;
    /* Cutting may split a UTF-8 sequence; back up to a character boundary. */
    if (n < body.len) {
        while (n > 0 && ((unsigned char)body.p[n] & 0xC0) == 0x80)
            n--;
    }
    return ag_db_bind_textn_kept(st, idx, body.p, n);
}

#define INSERT_HEAD                                                                                \
    "INSERT INTO request_log (ts_ms, method, path, protocol, model_requested,"                     \
    " model_served, account_email, status, error_class, attempts, ttfb_ms, total_ms,"              \
    " input_tokens, output_tokens, cached_tokens, reasoning_tokens, client_ip,"                    \
    " user_agent, stream, request_body, response_body, id, error_message, key_name,"               \
    " attempts_json) VALUES "
#define INSERT_PARAMS 25 /* per row, in the order above */

/* Binds r to parameters base + 1 .. base + INSERT_PARAMS. Not copied: r's strings outlive the
 * step, and every parameter is bound before each step (a copy of each string was a malloc, a
 * memcpy and a free per column). */
static int bind_row(struct ag_db_stmt *st, int base, const struct ag_request_record *r,
                    size_t body_cap)
{
    int b = base;
    if (ag_db_bind_int64(st, b + 1, r->ts_ms) != 0 ||
        ag_db_bind_text_kept(st, b + 2, r->method ? r->method : "") ||
        ag_db_bind_text_kept(st, b + 3, r->path ? r->path : "") ||
        ag_db_bind_text_kept(st, b + 4, r->protocol) ||
        ag_db_bind_text_kept(st, b + 5, r->model_requested) ||
        ag_db_bind_text_kept(st, b + 6, r->model_served) ||
        ag_db_bind_text_kept(st, b + 7, r->account_email) ||
        ag_db_bind_int64(st, b + 8, r->status) != 0 ||
        ag_db_bind_text_kept(st, b + 9, r->error_class) ||
        ag_db_bind_int64(st, b + 10, r->attempts > 0 ? r->attempts : 1) != 0 ||
        (r->ttfb_ms >= 0 ? ag_db_bind_int64(st, b + 11, r->ttfb_ms)
                         : ag_db_bind_null(st, b + 11)) != 0 ||
        ag_db_bind_int64(st, b + 12, r->total_ms) != 0 ||
        ag_db_bind_int64(st, b + 13, r->input_tokens) != 0 ||
        ag_db_bind_int64(st, b + 14, r->output_tokens) != 0 ||
        ag_db_bind_int64(st, b + 15, r->cached_tokens) != 0 ||
        ag_db_bind_int64(st, b + 16, r->reasoning_tokens) != 0 ||
        ag_db_bind_text_kept(st, b + 17, r->client_ip) ||
        ag_db_bind_text_kept(st, b + 18, r->user_agent) ||
        ag_db_bind_int64(st, b + 19, r->stream) != 0 ||
        bind_body(st, b + 20, r->request_body, body_cap) ||
        bind_body(st, b + 21, r->response_body, body_cap) ||
        (r->id > 0 ? ag_db_bind_int64(st, b + 22, r->id) : ag_db_bind_null(st, b + 22)) != 0 ||
        ag_db_bind_text_kept(st, b + 23, r->error_message) ||
        ag_db_bind_text_kept(st, b + 24, r->key_name && r->key_name[0] ? r->key_name : NULL) ||
        ag_db_bind_text_kept(st, b + 25, r->attempts_json))
        return AG_EDB;
    return 0;
}

int ag_store_request_log_insert_db(struct ag_db *db, struct ag_db_stmt **cache,
                                   const struct ag_request_record *r, size_t body_cap)
{
    /* PostgreSQL: several gateways share the table, so an id another one already used is not
     * taken twice: the row then gets the next id of the table's sequence (the caller retries with
     * no id when nothing was inserted). */
    bool pg = ag_db_kind(db) == AG_DB_PG;
    if (!*cache && ag_db_prepare(db,
                                 pg ? INSERT_HEAD
                                     "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                                     " ?15, ?16, ?17, ?18, ?19, ?20, ?21,"
                                     " COALESCE(?22, nextval(pg_get_serial_sequence("
                                     "'request_log', 'id'))), ?23, ?24, ?25)"
                                     " ON CONFLICT (id) DO NOTHING"
                                    : INSERT_HEAD
                                     "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                                     " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
                                 cache) != 0) {
        ag_log_error("store: request_log prepare: %s", ag_db_errmsg(db));
        return AG_EDB;
    }
    struct ag_db_stmt *st = *cache;
    int ret = AG_EDB;
    ag_db_reset(st);
    if (bind_row(st, 0, r, body_cap) != 0)
        goto out;
    if (ag_db_step(st) != AG_DB_DONE) {
        ag_log_warn("store: request_log insert: %s", ag_db_errmsg(db));
        goto out;
    }
    /* Nothing inserted: the id was taken (by another gateway, or the sequence lags behind the
     * ids gateways chose). Move the sequence past the largest id and take its next one. */
    for (int tries = 0; pg && ag_db_changes(db) == 0; tries++) {
        ag_db_reset(st);
        if (tries == 3 ||
            ag_db_exec(db,
                       "SELECT setval(pg_get_serial_sequence('request_log', 'id'),"
                       " (SELECT COALESCE(MAX(id), 0) + 1 FROM request_log), false)",
                       "request_log id") ||
            ag_db_bind_null(st, 22) || ag_db_step(st) != AG_DB_DONE) {
            ag_log_warn("store: request_log insert: %s", ag_db_errmsg(db));
            goto out;
        }
    }
    ret = 0;
out:
    ag_db_reset(st);
    return ret;
}

int ag_store_request_log_rows_prepare_db(struct ag_db *db, struct ag_db_stmt **cache, size_t n)
{
    if (ag_db_kind(db) != AG_DB_SQLITE || n < 1 || n > AG_LOG_INSERT_ROWS_MAX)
        return AG_EINVAL;
    if (*cache)
        return 0;
    char sql[4096];
    size_t len = (size_t)snprintf(sql, sizeof(sql), "%s", INSERT_HEAD);
    for (size_t i = 0; i < n; i++) {
        for (int c = 1; c <= INSERT_PARAMS && len < sizeof(sql); c++)
            len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s?%zu%s",
                                    c > 1 ? ", " : (i ? ", (" : "("), i * INSERT_PARAMS + (size_t)c,
                                    c < INSERT_PARAMS ? "" : ")");
    }
    if (len >= sizeof(sql) || ag_db_prepare(db, sql, cache) != 0) {
        ag_log_error("store: request_log prepare (%zu rows): %s", n, ag_db_errmsg(db));
        return AG_EDB;
    }
    return 0;
}

int ag_store_request_log_insert_rows_db(struct ag_db *db, struct ag_db_stmt **cache,
                                        const struct ag_request_record *const *rows, size_t n,
                                        size_t body_cap)
{
    int rc = ag_store_request_log_rows_prepare_db(db, cache, n);
    if (rc)
        return rc;
    struct ag_db_stmt *st = *cache;
    int ret = AG_EDB;
    ag_db_reset(st);
    for (size_t i = 0; i < n; i++) {
        if (bind_row(st, (int)(i * INSERT_PARAMS), rows[i], body_cap) != 0)
            goto out;
    }
    if (ag_db_step(st) != AG_DB_DONE)
        goto out; /* the statement undid itself; the caller writes the rows one by one */
    ret = 0;
out:
    ag_db_reset(st);
    return ret;
}

int ag_store_request_log_insert(struct ag_store *s, const struct ag_request_record *rec,
                                size_t body_cap)
{
    struct ag_db_stmt *st = NULL;
    int ret = ag_store_request_log_insert_db(s->conn, &st, rec, body_cap);
    ag_db_finalize(st);
    return ret;
}

int ag_store_request_log_count(struct ag_store *s, int64_t *out)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    if (ag_db_prepare(s->conn, "SELECT COUNT(*) FROM request_log", &st) != 0 ||
        ag_db_step(st) != AG_DB_ROW)
        goto out;
    *out = ag_db_column_int64(st, 0);
    ret = 0;
out:
    ag_db_finalize(st);
    return ret;
}

/* Runs a DELETE with one integer parameter; adds the rows removed to *deleted. */
static int delete_with(struct ag_db *db, const char *sql, int64_t arg, int64_t *deleted)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    if (ag_db_prepare(db, sql, &st) != 0 || ag_db_bind_int64(st, 1, arg) != 0 ||
        ag_db_step(st) != AG_DB_DONE) {
        ag_log_error("store: retention: %s", ag_db_errmsg(db));
        goto out;
    }
    *deleted += ag_db_changes(db);
    ret = 0;
out:
    ag_db_finalize(st);
    return ret;
}

int ag_store_retention_run_db(struct ag_db *db, const struct ag_retention *r, int64_t now_ms,
                              struct ag_retention_result *res)
{
    struct ag_retention_result got = {0, 0};
    int ret = ag_db_begin(db, "retention");
    if (ret)
        return ret;
    if (r->log_max_age_days > 0) {
        ret =
            delete_with(db, "DELETE FROM request_log WHERE ts_ms < ?1",
                        now_ms - (int64_t)r->log_max_age_days * MS_PER_DAY, &got.log_rows_deleted);
        if (ret)
            goto out;
    }
    if (r->log_max_rows > 0) {
        /* Keep the newest rows by time (id breaks ties); everything past them goes. */
        ret = delete_with(db,
                          ag_db_kind(db) == AG_DB_PG
                              ? "DELETE FROM request_log WHERE id IN (SELECT id FROM request_log"
                                " ORDER BY ts_ms DESC, id DESC OFFSET ?1)"
                              : "DELETE FROM request_log WHERE id IN (SELECT id FROM request_log"
                                " ORDER BY ts_ms DESC, id DESC LIMIT -1 OFFSET ?1)",
                          r->log_max_rows, &got.log_rows_deleted);
        if (ret)
            goto out;
    }
    if (r->stats_max_age_days > 0) {
        ret = delete_with(db, "DELETE FROM token_stats_hourly WHERE hour_s < ?1",
                          now_ms / 1000 - (int64_t)r->stats_max_age_days * S_PER_DAY,
                          &got.stats_rows_deleted);
        if (ret)
            goto out;
        /* Key usage is what monthly budgets are counted from: at least two months stay. */
        int key_days = r->stats_max_age_days > 62 ? r->stats_max_age_days : 62;
        int64_t key_rows = 0;
        ret = delete_with(db, "DELETE FROM key_usage_hourly WHERE hour_s < ?1",
                          now_ms / 1000 - (int64_t)key_days * S_PER_DAY, &key_rows);
        if (ret)
            goto out;
    }
    ret = ag_db_exec(db, "COMMIT", "retention");
out:
    if (ret)
        ag_db_rollback(db);
    else if (res)
        *res = got;
    return ret;
}

int ag_store_retention_run(struct ag_store *s, const struct ag_retention *r, int64_t now_ms,
                           struct ag_retention_result *res)
{
    return ag_store_retention_run_db(s->conn, r, now_ms, res);
}

/* ---- the disk cap ---- */

/* Rows one step of a pass deletes at most, and steps per pass at most. */
#define CAP_MAX_CHUNK 65536
#define CAP_MAX_STEPS 64

static int read_pragma(struct ag_db *db, const char *sql, int64_t *out)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    if (ag_db_prepare(db, sql, &st) == 0 && ag_db_step(st) == AG_DB_ROW) {
        *out = ag_db_column_int64(st, 0);
        ret = 0;
    } else {
        ag_log_error("store: %s: %s", sql, ag_db_errmsg(db));
    }
    ag_db_finalize(st);
    return ret;
}

int ag_store_disk_usage_db(struct ag_db *db, int64_t *in_use, int64_t *total)
{
    int64_t size, pages, free_pages;
    if (ag_db_kind(db) == AG_DB_PG) {
        /* The server's own accounting: everything the database takes on disk. */
        if (read_pragma(db, "SELECT pg_database_size(current_database())", &size))
            return AG_EDB;
        if (in_use)
            *in_use = size;
        if (total)
            *total = size;
        return 0;
    }
    if (read_pragma(db, "PRAGMA page_size", &size) ||
        read_pragma(db, "PRAGMA page_count", &pages) ||
        read_pragma(db, "PRAGMA freelist_count", &free_pages))
        return AG_EDB;
    if (in_use)
        *in_use = (pages - free_pages) * size;
    if (total)
        *total = pages * size;
    return 0;
}

int ag_store_disk_usage(struct ag_store *s, int64_t *in_use, int64_t *total)
{
    return ag_store_disk_usage_db(s->conn, in_use, total);
}

int ag_store_disk_cap_run_db(struct ag_db *db, int64_t max_bytes, struct ag_disk_cap_result *res)
{
    struct ag_disk_cap_result got = {0};
    int64_t used, total;
    if (max_bytes <= 0)
        return AG_EINVAL;
    if (ag_store_disk_usage_db(db, &used, &total))
        return AG_EDB;
    got.bytes_before = used;
    if (ag_db_kind(db) == AG_DB_PG) {
        /* PostgreSQL gives deleted space back only through its own VACUUM, and the database is
         * the administrator's to size: only retention bounds the log there. */
        got.bytes_after = used;
        if (res)
            *res = got;
        return 0;
    }
    if (used > max_bytes) {
        int64_t low = max_bytes / 10 * 9, rows = 0, chunk;
        /* The first step guesses from the average row (everything in use counted against the
         * log's rows, so it guesses low); later steps from what their rows freed. */
        if (read_pragma(db, "SELECT COUNT(*) FROM request_log", &rows))
            return AG_EDB;
        chunk = rows > 0 ? (used - low) / (used / rows > 0 ? used / rows : 1) + 1 : 1;
        if (chunk > CAP_MAX_CHUNK)
            chunk = CAP_MAX_CHUNK;
        for (int step = 0; step < CAP_MAX_STEPS && used > low; step++) {
            int64_t n = 0, before = used;
            if (delete_with(db,
                            "DELETE FROM request_log WHERE id IN (SELECT id FROM request_log"
                            " ORDER BY ts_ms, id LIMIT ?1)",
                            chunk, &n))
                return AG_EDB;
            got.log_rows_deleted += n;
            if (n == 0)
                break; /* the log is empty: the rest is accounts and statistics */
            if (ag_store_disk_usage_db(db, &used, &total))
                return AG_EDB;
            /* Size the next step from what a row freed (pages free up only when emptied, so a
             * step may free nothing: then take twice as many). */
            int64_t freed = before - used;
            chunk = freed > 0 ? (used - low) / (freed / n > 0 ? freed / n : 1) + 1 : chunk * 2;
            if (chunk > CAP_MAX_CHUNK)
                chunk = CAP_MAX_CHUNK;
        }
    }
    if (total > used && (got.log_rows_deleted > 0 || total > max_bytes)) {
        /* Free pages go back to the file system: moved to the end and cut off by the vacuum,
         * and the file itself shrinks when the write-ahead log is checkpointed. */
        if (ag_db_exec(db, "PRAGMA incremental_vacuum", "disk cap"))
            return AG_EDB;
        sqlite3_exec(db->lite, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
        got.vacuumed = true;
    }
    if (ag_store_disk_usage_db(db, &used, NULL))
        return AG_EDB;
    got.bytes_after = used;
    if (res)
        *res = got;
    return 0;
}

int ag_store_disk_cap_run(struct ag_store *s, int64_t max_bytes, struct ag_disk_cap_result *res)
{
    return ag_store_disk_cap_run_db(s->conn, max_bytes, res);
}
