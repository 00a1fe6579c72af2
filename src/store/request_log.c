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

static int bind_body(sqlite3_stmt *st, int idx, struct ag_str body, size_t cap)
{
    if (!body.p || cap == 0)
        return sqlite3_bind_null(st, idx) == SQLITE_OK ? 0 : AG_EDB;
    size_t n = body.len < cap ? body.len : cap;
    /* Cutting may split a UTF-8 sequence; back up to a character boundary. */
    if (n < body.len) {
        while (n > 0 && ((unsigned char)body.p[n] & 0xC0) == 0x80)
            n--;
    }
    return sqlite3_bind_text(st, idx, body.p, (int)n, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : AG_EDB;
}

int ag_store_request_log_insert_db(sqlite3 *db, sqlite3_stmt **cache,
                                   const struct ag_request_record *r, size_t body_cap)
{
    if (!*cache &&
        sqlite3_prepare_v2(
            db,
            "INSERT INTO request_log (ts_ms, method, path, protocol, model_requested,"
            " model_served, account_email, status, error_class, attempts, ttfb_ms, total_ms,"
            " input_tokens, output_tokens, cached_tokens, reasoning_tokens, client_ip,"
            " user_agent, stream, request_body, response_body, id, error_message)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
            " ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
            -1, cache, NULL) != SQLITE_OK) {
        ag_log_error("store: request_log prepare: %s", sqlite3_errmsg(db));
        return AG_EDB;
    }
    sqlite3_stmt *st = *cache;
    int ret = AG_EDB;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (sqlite3_bind_int64(st, 1, r->ts_ms) != SQLITE_OK ||
        ag_store_bind_text(st, 2, r->method ? r->method : "") ||
        ag_store_bind_text(st, 3, r->path ? r->path : "") ||
        ag_store_bind_text(st, 4, r->protocol) || ag_store_bind_text(st, 5, r->model_requested) ||
        ag_store_bind_text(st, 6, r->model_served) || ag_store_bind_text(st, 7, r->account_email) ||
        sqlite3_bind_int(st, 8, r->status) != SQLITE_OK ||
        ag_store_bind_text(st, 9, r->error_class) ||
        sqlite3_bind_int(st, 10, r->attempts > 0 ? r->attempts : 1) != SQLITE_OK ||
        (r->ttfb_ms >= 0 ? sqlite3_bind_int64(st, 11, r->ttfb_ms) : sqlite3_bind_null(st, 11)) !=
            SQLITE_OK ||
        sqlite3_bind_int64(st, 12, r->total_ms) != SQLITE_OK ||
        sqlite3_bind_int64(st, 13, r->input_tokens) != SQLITE_OK ||
        sqlite3_bind_int64(st, 14, r->output_tokens) != SQLITE_OK ||
        sqlite3_bind_int64(st, 15, r->cached_tokens) != SQLITE_OK ||
        sqlite3_bind_int64(st, 16, r->reasoning_tokens) != SQLITE_OK ||
        ag_store_bind_text(st, 17, r->client_ip) || ag_store_bind_text(st, 18, r->user_agent) ||
        sqlite3_bind_int(st, 19, r->stream) != SQLITE_OK ||
        bind_body(st, 20, r->request_body, body_cap) ||
        bind_body(st, 21, r->response_body, body_cap) ||
        (r->id > 0 ? sqlite3_bind_int64(st, 22, r->id) : sqlite3_bind_null(st, 22)) != SQLITE_OK ||
        ag_store_bind_text(st, 23, r->error_message))
        goto out;
    if (sqlite3_step(st) != SQLITE_DONE) {
        ag_log_warn("store: request_log insert: %s", sqlite3_errmsg(db));
        goto out;
    }
    ret = 0;
out:
    sqlite3_reset(st);
    return ret;
}

int ag_store_request_log_insert(struct ag_store *s, const struct ag_request_record *rec,
                                size_t body_cap)
{
    sqlite3_stmt *st = NULL;
    int ret = ag_store_request_log_insert_db(s->db, &st, rec, body_cap);
    sqlite3_finalize(st);
    return ret;
}

int ag_store_request_log_count(struct ag_store *s, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int ret = AG_EDB;
    if (sqlite3_prepare_v2(s->db, "SELECT COUNT(*) FROM request_log", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        goto out;
    *out = sqlite3_column_int64(st, 0);
    ret = 0;
out:
    sqlite3_finalize(st);
    return ret;
}

/* Runs a DELETE with one integer parameter; adds the rows removed to *deleted. */
static int delete_with(sqlite3 *db, const char *sql, int64_t arg, int64_t *deleted)
{
    sqlite3_stmt *st = NULL;
    int ret = AG_EDB;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, arg) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
        ag_log_error("store: retention: %s", sqlite3_errmsg(db));
        goto out;
    }
    *deleted += sqlite3_changes(db);
    ret = 0;
out:
    sqlite3_finalize(st);
    return ret;
}

int ag_store_retention_run_db(sqlite3 *db, const struct ag_retention *r, int64_t now_ms,
                              struct ag_retention_result *res)
{
    struct ag_retention_result got = {0, 0};
    int ret = ag_store_exec(db, "BEGIN IMMEDIATE", "retention");
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
                          "DELETE FROM request_log WHERE id IN (SELECT id FROM request_log"
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
    }
    ret = ag_store_exec(db, "COMMIT", "retention");
out:
    if (ret)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    else if (res)
        *res = got;
    return ret;
}

int ag_store_retention_run(struct ag_store *s, const struct ag_retention *r, int64_t now_ms,
                           struct ag_retention_result *res)
{
    return ag_store_retention_run_db(s->db, r, now_ms, res);
}
