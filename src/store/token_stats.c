/* store/token_stats.c: increments and reads of token_stats_hourly (see token_stats.h). */
#include "store/token_stats.h"

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_internal.h"

int ag_store_token_stats_add_db(struct ag_db *db, struct ag_db_stmt **cache,
                                const struct ag_token_delta *d)
{
    if (!*cache &&
        ag_db_prepare(
            db,
            "INSERT INTO token_stats_hourly (hour_s, account_email, model, requests,"
            " input_tokens, output_tokens, cached_tokens, reasoning_tokens, errors,"
            " protocol) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            " ON CONFLICT(hour_s, account_email, model, protocol) DO UPDATE SET"
            "  requests = token_stats_hourly.requests + excluded.requests,"
            "  input_tokens = token_stats_hourly.input_tokens + excluded.input_tokens,"
            "  output_tokens = token_stats_hourly.output_tokens + excluded.output_tokens,"
            "  cached_tokens = token_stats_hourly.cached_tokens + excluded.cached_tokens,"
            "  reasoning_tokens = token_stats_hourly.reasoning_tokens + excluded.reasoning_tokens,"
            "  errors = token_stats_hourly.errors + excluded.errors",
            cache) != 0) {
        ag_log_error("store: token stats prepare: %s", ag_db_errmsg(db));
        return AG_EDB;
    }
    struct ag_db_stmt *st = *cache;
    int ret = AG_EDB;
    ag_db_reset(st);
    /* Not copied: d's strings outlive the step, and every parameter is bound before each step. */
    if (ag_db_bind_int64(st, 1, ag_token_stats_hour(d->ts_s)) != 0 ||
        ag_db_bind_text_kept(st, 2, d->account_email ? d->account_email : "") ||
        ag_db_bind_text_kept(st, 3, d->model ? d->model : "") ||
        ag_db_bind_int64(st, 4, d->requests) != 0 ||
        ag_db_bind_int64(st, 5, d->input_tokens) != 0 ||
        ag_db_bind_int64(st, 6, d->output_tokens) != 0 ||
        ag_db_bind_int64(st, 7, d->cached_tokens) != 0 ||
        ag_db_bind_int64(st, 8, d->reasoning_tokens) != 0 ||
        ag_db_bind_int64(st, 9, d->errors) != 0 ||
        ag_db_bind_text_kept(st, 10, d->protocol ? d->protocol : ""))
        goto out;
    if (ag_db_step(st) != AG_DB_DONE) {
        ag_log_warn("store: token stats add: %s", ag_db_errmsg(db));
        goto out;
    }
    ret = 0;
out:
    ag_db_reset(st);
    return ret;
}

int ag_store_token_stats_add(struct ag_store *s, const struct ag_token_delta *d)
{
    struct ag_db_stmt *st = NULL;
    int ret = ag_store_token_stats_add_db(s->conn, &st, d);
    ag_db_finalize(st);
    return ret;
}

int ag_store_token_stats_get(struct ag_store *s, int64_t ts_s, const char *account_email,
                             const char *model, struct ag_token_stats_row *out)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    if (ag_db_prepare(s->conn,
                      "SELECT hour_s, SUM(requests), SUM(input_tokens), SUM(output_tokens),"
                      " SUM(cached_tokens), SUM(reasoning_tokens), SUM(errors)"
                      " FROM token_stats_hourly"
                      " WHERE hour_s = ?1 AND account_email = ?2 AND model = ?3"
                      " GROUP BY hour_s",
                      &st) != 0)
        goto out;
    if (ag_db_bind_int64(st, 1, ag_token_stats_hour(ts_s)) != 0 ||
        ag_db_bind_text(st, 2, account_email ? account_email : "") ||
        ag_db_bind_text(st, 3, model ? model : ""))
        goto out;
    int rc = ag_db_step(st);
    if (rc == AG_DB_DONE) {
        ret = AG_ENOTFOUND;
        goto out;
    }
    if (rc != AG_DB_ROW)
        goto out;
    out->hour_s = ag_db_column_int64(st, 0);
    out->requests = ag_db_column_int64(st, 1);
    out->input_tokens = ag_db_column_int64(st, 2);
    out->output_tokens = ag_db_column_int64(st, 3);
    out->cached_tokens = ag_db_column_int64(st, 4);
    out->reasoning_tokens = ag_db_column_int64(st, 5);
    out->errors = ag_db_column_int64(st, 6);
    ret = 0;
out:
    if (ret == AG_EDB)
        ag_log_error("store: token stats get: %s", ag_db_errmsg(s->conn));
    ag_db_finalize(st);
    return ret;
}
