/* store/monitor_query.c: request_log listing and token-statistics aggregation (see
 * monitor_query.h). SQL is assembled from fixed fragments; every value is a bound parameter. */
#include "store/monitor_query.h"

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_internal.h"

#include <stdio.h>

#define LOG_COLUMNS                                                                                \
    "id, ts_ms, method, path, protocol, model_requested, model_served, account_email, status,"     \
    " error_class, attempts, ttfb_ms, total_ms, input_tokens, output_tokens, cached_tokens,"       \
    " reasoning_tokens, client_ip, user_agent, stream, error_message, key_name, attempts_json"

/* Parameters collected while the WHERE clause is written, bound in order afterwards. */
struct params {
    int n;
    struct {
        bool text;
        const char *s;
        int64_t i;
    } v[16];
};

static void add_i(struct params *p, int64_t i)
{
    p->v[p->n].text = false;
    p->v[p->n++].i = i;
}

static void add_s(struct params *p, const char *s)
{
    p->v[p->n].text = true;
    p->v[p->n++].s = s;
}

static int bind_all(struct ag_db_stmt *st, const struct params *p)
{
    for (int i = 0; i < p->n; i++) {
        int rc = p->v[i].text ? ag_db_bind_text(st, i + 1, p->v[i].s)
                              : (ag_db_bind_int64(st, i + 1, p->v[i].i) == 0 ? 0 : 1);
        if (rc)
            return AG_EDB;
    }
    return 0;
}

static const char *col_text(struct ag_db_stmt *st, int i)
{
    return ag_db_column_text(st, i);
}

static void read_row(struct ag_db_stmt *st, struct ag_request_record *r, bool bodies)
{
    *r = (struct ag_request_record){0};
    r->id = ag_db_column_int64(st, 0);
    r->ts_ms = ag_db_column_int64(st, 1);
    r->method = col_text(st, 2);
    r->path = col_text(st, 3);
    r->protocol = col_text(st, 4);
    r->model_requested = col_text(st, 5);
    r->model_served = col_text(st, 6);
    r->account_email = col_text(st, 7);
    r->status = (int)ag_db_column_int64(st, 8);
    r->error_class = col_text(st, 9);
    r->attempts = (int)ag_db_column_int64(st, 10);
    r->ttfb_ms = ag_db_column_is_null(st, 11) ? -1 : ag_db_column_int64(st, 11);
    r->total_ms = ag_db_column_int64(st, 12);
    r->input_tokens = ag_db_column_int64(st, 13);
    r->output_tokens = ag_db_column_int64(st, 14);
    r->cached_tokens = ag_db_column_int64(st, 15);
    r->reasoning_tokens = ag_db_column_int64(st, 16);
    r->client_ip = col_text(st, 17);
    r->user_agent = col_text(st, 18);
    r->stream = (int)ag_db_column_int64(st, 19) != 0;
    r->error_message = col_text(st, 20);
    r->key_name = col_text(st, 21);
    r->attempts_json = col_text(st, 22);
    if (bodies) {
        const char *b = col_text(st, 23);
        r->request_body = b ? ag_str_make(b, strlen(b)) : AG_STR_NULL;
        b = col_text(st, 24);
        r->response_body = b ? ag_str_make(b, strlen(b)) : AG_STR_NULL;
    }
}

/* Writes " WHERE ..." for f (without the cursor) into sql and its values into p. */
static void log_where(const struct ag_log_filter *f, struct ag_buf *sql, struct params *p)
{
    ag_buf_append_c(sql, " WHERE 1 = 1");
    if (f->from_ms > 0) {
        ag_buf_append_c(sql, " AND ts_ms >= ?");
        add_i(p, f->from_ms);
    }
    if (f->to_ms > 0) {
        ag_buf_append_c(sql, " AND ts_ms < ?");
        add_i(p, f->to_ms);
    }
    switch (f->status_class) {
    case AG_LOG_STATUS_2XX:
    case AG_LOG_STATUS_3XX:
    case AG_LOG_STATUS_4XX:
    case AG_LOG_STATUS_5XX:
        ag_buf_append_c(sql, " AND status >= ? AND status < ?");
        add_i(p, (int64_t)f->status_class * 100);
        add_i(p, (int64_t)f->status_class * 100 + 100);
        break;
    case AG_LOG_STATUS_ERROR:
        ag_buf_append_c(sql, " AND (status >= 400 OR COALESCE(error_class, '') <> '')");
        break;
    case AG_LOG_STATUS_OK:
        ag_buf_append_c(sql, " AND status < 400 AND COALESCE(error_class, '') = ''");
        break;
    case AG_LOG_STATUS_ANY:
        break;
    }
    if (f->model && f->model[0]) {
        ag_buf_append_c(sql, " AND (model_requested = ? OR model_served = ?)");
        add_s(p, f->model);
        add_s(p, f->model);
    }
    if (f->account && f->account[0]) {
        ag_buf_append_c(sql, " AND account_email = ? COLLATE NOCASE");
        add_s(p, f->account);
    }
    if (f->protocol && f->protocol[0]) {
        ag_buf_append_c(sql, " AND protocol = ?");
        add_s(p, f->protocol);
    }
    if (f->text && f->text[0]) {
        /* instr() instead of LIKE: no wildcard characters to escape in the user's text. */
        ag_buf_append_c(sql, " AND (instr(lower(path || ' ' || COALESCE(model_requested, '') ||"
                             " ' ' || COALESCE(model_served, '') || ' ' ||"
                             " COALESCE(account_email, '') || ' ' || COALESCE(error_class, '') ||"
                             " ' ' || COALESCE(client_ip, '') || ' ' || COALESCE(user_agent, '')"
                             " || ' ' || status), lower(?)) > 0)");
        add_s(p, f->text);
    }
}

static int run_count(struct ag_db *db, const char *sql, const struct params *p, int64_t *out)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    if (ag_db_prepare(db, sql, &st) != 0 || bind_all(st, p) || ag_db_step(st) != AG_DB_ROW)
        goto out;
    *out = ag_db_column_int64(st, 0);
    ret = 0;
out:
    if (ret)
        ag_log_error("store: log count: %s", ag_db_errmsg(db));
    ag_db_finalize(st);
    return ret;
}

int ag_store_log_query(struct ag_store *s, const struct ag_log_filter *f, ag_log_row_cb cb,
                       void *ud, int64_t *total)
{
    struct ag_buf sql;
    struct params p = {0};
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    ag_buf_init(&sql, AG_BUF_CAP_SHORT);
    if (total) {
        ag_buf_append_c(&sql, "SELECT COUNT(*) FROM request_log");
        log_where(f, &sql, &p);
        if ((ret = run_count(s->conn, sql.data, &p, total)))
            goto out;
        ag_buf_reset(&sql);
        p.n = 0;
        ret = AG_EDB;
    }
    ag_buf_append_c(&sql, "SELECT " LOG_COLUMNS " FROM request_log");
    log_where(f, &sql, &p);
    if (f->before_id > 0) {
        ag_buf_append_c(&sql, " AND id < ?");
        add_i(&p, f->before_id);
    }
    ag_buf_append_c(&sql, " ORDER BY id DESC LIMIT ? OFFSET ?");
    add_i(&p, f->limit > 0 ? (f->limit > 1000 ? 1000 : f->limit) : 100);
    add_i(&p, f->offset > 0 ? f->offset : 0);
    if (ag_db_prepare(s->conn, sql.data, &st) != 0 || bind_all(st, &p))
        goto out;
    int rc;
    while ((rc = ag_db_step(st)) == AG_DB_ROW) {
        struct ag_request_record r;
        read_row(st, &r, false);
        int cr = cb(&r, ud);
        if (cr) {
            ret = cr;
            goto out;
        }
    }
    if (rc == AG_DB_DONE)
        ret = 0;
out:
    if (ret == AG_EDB)
        ag_log_error("store: log query: %s", ag_db_errmsg(s->conn));
    ag_db_finalize(st);
    ag_buf_dispose(&sql);
    return ret;
}

int ag_store_log_get(struct ag_store *s, int64_t id, ag_log_row_cb cb, void *ud)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    if (ag_db_prepare(s->conn,
                      "SELECT " LOG_COLUMNS ", request_body, response_body FROM request_log"
                      " WHERE id = ?1",
                      &st) != 0 ||
        ag_db_bind_int64(st, 1, id) != 0)
        goto out;
    int rc = ag_db_step(st);
    if (rc == AG_DB_DONE) {
        ret = AG_ENOTFOUND;
    } else if (rc == AG_DB_ROW) {
        struct ag_request_record r;
        read_row(st, &r, true);
        ret = cb(&r, ud);
    }
out:
    if (ret == AG_EDB)
        ag_log_error("store: log get: %s", ag_db_errmsg(s->conn));
    ag_db_finalize(st);
    return ret;
}

int ag_store_account_health(struct ag_store *s, int64_t from_ms, int64_t to_ms, ag_health_row_cb cb,
                            void *ud)
{
    static const char sql[] =
        "SELECT acct, h * 3600000, SUM(ok), SUM(bad) FROM ("
        " SELECT json_extract(j.value, '$.account') AS acct, r.ts_ms / 3600000 AS h,"
        "  json_extract(j.value, '$.outcome') = 'ok' AS ok,"
        "  json_extract(j.value, '$.outcome') <> 'ok' AS bad"
        " FROM request_log r, json_each(r.attempts_json) j"
        " WHERE r.ts_ms >= ?1 AND r.ts_ms < ?2 AND r.attempts_json IS NOT NULL"
        "  AND json_valid(r.attempts_json)"
        " UNION ALL"
        " SELECT account_email, ts_ms / 3600000,"
        "  status < 400 AND COALESCE(error_class, '') = '',"
        "  status >= 400 OR COALESCE(error_class, '') <> ''"
        " FROM request_log WHERE ts_ms >= ?1 AND ts_ms < ?2 AND attempts_json IS NULL)"
        " WHERE COALESCE(acct, '') <> ''"
        " GROUP BY acct COLLATE NOCASE, h ORDER BY acct COLLATE NOCASE, h";
    /* The same on PostgreSQL: jsonb instead of json_each (ag_json_array: the text's array, [] for
     * anything else), 0/1 sums instead of booleans, and an aggregate for the grouped name. */
    static const char sql_pg[] =
        "SELECT min(acct), h * 3600000, SUM(ok), SUM(bad) FROM ("
        " SELECT j.value ->> 'account' AS acct, r.ts_ms / 3600000 AS h,"
        "  CASE WHEN j.value ->> 'outcome' = 'ok' THEN 1 ELSE 0 END AS ok,"
        "  CASE WHEN j.value ->> 'outcome' <> 'ok' THEN 1 ELSE 0 END AS bad"
        " FROM request_log r, jsonb_array_elements(ag_json_array(r.attempts_json)) j"
        " WHERE r.ts_ms >= ?1 AND r.ts_ms < ?2 AND r.attempts_json IS NOT NULL"
        " UNION ALL"
        " SELECT account_email, ts_ms / 3600000,"
        "  CASE WHEN status < 400 AND COALESCE(error_class, '') = '' THEN 1 ELSE 0 END,"
        "  CASE WHEN status >= 400 OR COALESCE(error_class, '') <> '' THEN 1 ELSE 0 END"
        " FROM request_log WHERE ts_ms >= ?1 AND ts_ms < ?2 AND attempts_json IS NULL) x"
        " WHERE COALESCE(acct, '') <> ''"
        " GROUP BY acct COLLATE NOCASE, h ORDER BY acct COLLATE NOCASE, h";
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB, rc;
    if (ag_db_prepare(s->conn, ag_db_kind(s->conn) == AG_DB_PG ? sql_pg : sql, &st) != 0 ||
        ag_db_bind_int64(st, 1, from_ms) != 0 || ag_db_bind_int64(st, 2, to_ms) != 0)
        goto out;
    while ((rc = ag_db_step(st)) == AG_DB_ROW) {
        int cr = cb(col_text(st, 0), ag_db_column_int64(st, 1), ag_db_column_int64(st, 2),
                    ag_db_column_int64(st, 3), ud);
        if (cr) {
            ret = cr;
            goto out;
        }
    }
    if (rc == AG_DB_DONE)
        ret = 0;
out:
    if (ret == AG_EDB)
        ag_log_error("store: account health: %s", ag_db_errmsg(s->conn));
    ag_db_finalize(st);
    return ret;
}

int ag_store_log_max_id(struct ag_store *s, int64_t *out)
{
    struct params p = {0};
    return run_count(s->conn, "SELECT COALESCE(MAX(id), 0) FROM request_log", &p, out);
}

int ag_store_log_clear(struct ag_store *s, int64_t *deleted)
{
    int ret = ag_db_exec(s->conn, "DELETE FROM request_log", "log clear");
    if (!ret && deleted)
        *deleted = ag_db_changes(s->conn);
    return ret;
}

int ag_store_stats_clear(struct ag_store *s)
{
    return ag_db_exec(s->conn, "DELETE FROM token_stats_hourly", "stats clear");
}

int ag_store_stats_query(struct ag_store *s, const struct ag_stats_query *q, ag_stats_row_cb cb,
                         void *ud)
{
    static const char *const keys[] = {"''", "account_email", "model", "protocol"};
    struct ag_buf sql;
    struct params p = {0};
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    const char *key = (unsigned)q->group < 4 ? keys[q->group] : "''";
    ag_buf_init(&sql, AG_BUF_CAP_SHORT);
    if (q->bucket_s > 0) {
        /* Buckets aligned to the offset's midnight/hour: ((h + tz) / b) * b - tz. */
        ag_buf_printf(&sql, "SELECT ((hour_s + ?) / ?) * ? - ? AS period, %s AS k,", key);
        add_i(&p, q->tz_offset_s);
        add_i(&p, q->bucket_s);
        add_i(&p, q->bucket_s);
        add_i(&p, q->tz_offset_s);
    } else {
        ag_buf_printf(&sql, "SELECT 0 AS period, %s AS k,", key);
    }
    ag_buf_append_c(&sql, " SUM(requests), SUM(input_tokens), SUM(output_tokens),"
                          " SUM(cached_tokens), SUM(reasoning_tokens), SUM(errors)"
                          " FROM token_stats_hourly WHERE 1 = 1");
    if (q->from_s > 0) {
        ag_buf_append_c(&sql, " AND hour_s >= ?");
        add_i(&p, q->from_s);
    }
    if (q->to_s > 0) {
        ag_buf_append_c(&sql, " AND hour_s < ?");
        add_i(&p, q->to_s);
    }
    if (q->account && q->account[0]) {
        ag_buf_append_c(&sql, " AND account_email = ? COLLATE NOCASE");
        add_s(&p, q->account);
    }
    if (q->model && q->model[0]) {
        ag_buf_append_c(&sql, " AND model = ?");
        add_s(&p, q->model);
    }
    if (q->protocol && q->protocol[0]) {
        ag_buf_append_c(&sql, " AND protocol = ?");
        add_s(&p, q->protocol);
    }
    ag_buf_append_c(&sql, " GROUP BY period, k ORDER BY period,"
                          " SUM(input_tokens) + SUM(output_tokens) DESC, k");
    if (ag_db_prepare(s->conn, sql.data, &st) != 0 || bind_all(st, &p))
        goto out;
    int rc;
    while ((rc = ag_db_step(st)) == AG_DB_ROW) {
        struct ag_token_stats_row row = {
            .hour_s = ag_db_column_int64(st, 0),
            .requests = ag_db_column_int64(st, 2),
            .input_tokens = ag_db_column_int64(st, 3),
            .output_tokens = ag_db_column_int64(st, 4),
            .cached_tokens = ag_db_column_int64(st, 5),
            .reasoning_tokens = ag_db_column_int64(st, 6),
            .errors = ag_db_column_int64(st, 7),
        };
        const char *k = col_text(st, 1);
        int cr = cb(row.hour_s, k ? k : "", &row, ud);
        if (cr) {
            ret = cr;
            goto out;
        }
    }
    if (rc == AG_DB_DONE)
        ret = 0;
out:
    if (ret == AG_EDB)
        ag_log_error("store: stats query: %s", ag_db_errmsg(s->conn));
    ag_db_finalize(st);
    ag_buf_dispose(&sql);
    return ret;
}
