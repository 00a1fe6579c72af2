/* store/thinking.c: the thinking table (see thinking.h). */
#include "store/thinking.h"

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_internal.h"

#include <string.h>

static struct ag_str col_str(struct ag_db_stmt *st, int i)
{
    size_t n = 0;
    const void *p = ag_db_column_blob(st, i, &n);
    return p && n > 0 ? ag_str_make((const char *)p, n) : AG_STR_NULL;
}

static int bind_str(struct ag_db_stmt *st, int idx, struct ag_str s)
{
    return ag_db_bind_textn(st, idx, s.p, s.len);
}

int ag_store_thinking_put_db(struct ag_db *db, const struct ag_thinking_row *row, int64_t ttl_ms,
                             int64_t max_rows, int64_t max_bytes)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    if (!row->conv.len || !row->tool_id.len || !row->sig.len)
        return AG_EINVAL;
    if (row->conv.len > INT32_MAX || row->tool_id.len > INT32_MAX || row->text.len > INT32_MAX ||
        row->sig.len > INT32_MAX)
        return AG_ETOOBIG;
    if (ag_db_prepare(db,
                      "INSERT INTO thinking(conv, tool_id, text, sig, stored_ms) "
                      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(conv, tool_id) DO UPDATE SET "
                      "text = excluded.text, sig = excluded.sig, "
                      "stored_ms = excluded.stored_ms",
                      &st) != 0)
        goto out;
    if (bind_str(st, 1, row->conv) || bind_str(st, 2, row->tool_id) ||
        ag_db_bind_blob(st, 3, row->text.p ? row->text.p : "", row->text.len) ||
        bind_str(st, 4, row->sig) || ag_db_bind_int64(st, 5, row->stored_ms) ||
        ag_db_step(st) != AG_DB_DONE)
        goto out;
    ag_db_finalize(st);
    st = NULL;
    if (ttl_ms > 0) {
        if (ag_db_prepare(db, "DELETE FROM thinking WHERE stored_ms < ?1", &st) != 0 ||
            ag_db_bind_int64(st, 1, row->stored_ms - ttl_ms) || ag_db_step(st) != AG_DB_DONE)
            goto out;
        ag_db_finalize(st);
        st = NULL;
    }
    if (max_rows > 0) {
        const char *sql = ag_db_kind(db) == AG_DB_PG
                              ? "DELETE FROM thinking WHERE rowid IN (SELECT rowid FROM thinking "
                                "ORDER BY stored_ms DESC, rowid DESC OFFSET ?1)"
                              : "DELETE FROM thinking WHERE rowid IN (SELECT rowid FROM thinking "
                                "ORDER BY stored_ms DESC, rowid DESC LIMIT -1 OFFSET ?1)";
        if (ag_db_prepare(db, sql, &st) != 0 || ag_db_bind_int64(st, 1, max_rows) ||
            ag_db_step(st) != AG_DB_DONE)
            goto out;
        ag_db_finalize(st);
        st = NULL;
    }
    if (max_bytes > 0) {
        /* the newest rows whose text and signature fit in max_bytes stay */
        const char *sql =
            ag_db_kind(db) == AG_DB_PG
                ? "DELETE FROM thinking WHERE rowid IN (SELECT rowid FROM (SELECT "
                  "rowid, sum(octet_length(text) + octet_length(sig)) "
                  "OVER (ORDER BY stored_ms DESC, rowid DESC) AS run FROM thinking) r "
                  "WHERE run > ?1)"
                : "DELETE FROM thinking WHERE rowid IN (SELECT rowid FROM (SELECT "
                  "rowid, sum(length(CAST(text AS BLOB)) + length(CAST(sig AS BLOB))) "
                  "OVER (ORDER BY stored_ms DESC, rowid DESC) AS run FROM thinking) "
                  "WHERE run > ?1)";
        if (ag_db_prepare(db, sql, &st) != 0 || ag_db_bind_int64(st, 1, max_bytes) ||
            ag_db_step(st) != AG_DB_DONE)
            goto out;
    }
    ret = 0;
out:
    if (ret == AG_EDB)
        ag_log_error("store: thinking put: %s", ag_db_errmsg(db));
    ag_db_finalize(st);
    return ret;
}

int ag_store_thinking_clear_db(struct ag_db *db)
{
    return ag_db_exec(db, "DELETE FROM thinking", "thinking clear");
}

int64_t ag_store_thinking_load(struct ag_store *s, int64_t now_ms, int64_t ttl_ms,
                               ag_thinking_row_fn fn, void *ud)
{
    struct ag_db_stmt *st = NULL;
    int64_t n = 0;
    int rc;
    if (ag_db_prepare(s->conn,
                      "SELECT conv, tool_id, text, sig, stored_ms FROM thinking "
                      "WHERE stored_ms >= ?1 ORDER BY stored_ms, rowid",
                      &st) != 0 ||
        ag_db_bind_int64(st, 1, ttl_ms > 0 ? now_ms - ttl_ms : INT64_MIN)) {
        n = AG_EDB;
        goto out;
    }
    while ((rc = ag_db_step(st)) == AG_DB_ROW) {
        struct ag_thinking_row row = {
            .conv = col_str(st, 0),
            .tool_id = col_str(st, 1),
            .text = col_str(st, 2),
            .sig = col_str(st, 3),
            .stored_ms = ag_db_column_int64(st, 4),
        };
        fn(&row, ud);
        n++;
    }
    if (rc != AG_DB_DONE)
        n = AG_EDB;
out:
    if (n < 0)
        ag_log_error("store: thinking load: %s", ag_db_errmsg(s->conn));
    ag_db_finalize(st);
    return n;
}

int64_t ag_store_thinking_count(struct ag_store *s)
{
    struct ag_db_stmt *st = NULL;
    int64_t n = -1;
    if (ag_db_prepare(s->conn, "SELECT count(*) FROM thinking", &st) == 0 &&
        ag_db_step(st) == AG_DB_ROW)
        n = ag_db_column_int64(st, 0);
    ag_db_finalize(st);
    return n;
}
