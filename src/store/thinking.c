/* store/thinking.c: the thinking table (see thinking.h). */
#include "store/thinking.h"

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_internal.h"

#include <sqlite3.h>

static struct ag_str col_str(sqlite3_stmt *st, int i)
{
    const void *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    return p && n > 0 ? ag_str_make((const char *)p, (size_t)n) : AG_STR_NULL;
}

static int bind_str(sqlite3_stmt *st, int idx, struct ag_str s)
{
    return sqlite3_bind_text(st, idx, s.p ? s.p : "", (int)s.len, SQLITE_TRANSIENT);
}

int ag_store_thinking_put_db(sqlite3 *db, const struct ag_thinking_row *row, int64_t ttl_ms,
                             int64_t max_rows, int64_t max_bytes)
{
    sqlite3_stmt *st = NULL;
    int ret = AG_EDB;
    if (!row->conv.len || !row->tool_id.len || !row->sig.len)
        return AG_EINVAL;
    if (row->conv.len > INT32_MAX || row->tool_id.len > INT32_MAX || row->text.len > INT32_MAX ||
        row->sig.len > INT32_MAX)
        return AG_ETOOBIG;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO thinking(conv, tool_id, text, sig, stored_ms) "
                           "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(conv, tool_id) DO UPDATE SET "
                           "text = excluded.text, sig = excluded.sig, "
                           "stored_ms = excluded.stored_ms",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    if (bind_str(st, 1, row->conv) || bind_str(st, 2, row->tool_id) ||
        sqlite3_bind_blob(st, 3, row->text.p ? row->text.p : "", (int)row->text.len,
                          SQLITE_TRANSIENT) ||
        bind_str(st, 4, row->sig) || sqlite3_bind_int64(st, 5, row->stored_ms) ||
        sqlite3_step(st) != SQLITE_DONE)
        goto out;
    sqlite3_finalize(st);
    st = NULL;
    if (ttl_ms > 0) {
        if (sqlite3_prepare_v2(db, "DELETE FROM thinking WHERE stored_ms < ?1", -1, &st, NULL) !=
                SQLITE_OK ||
            sqlite3_bind_int64(st, 1, row->stored_ms - ttl_ms) || sqlite3_step(st) != SQLITE_DONE)
            goto out;
        sqlite3_finalize(st);
        st = NULL;
    }
    if (max_rows > 0) {
        if (sqlite3_prepare_v2(db,
                               "DELETE FROM thinking WHERE rowid IN (SELECT rowid FROM thinking "
                               "ORDER BY stored_ms DESC, rowid DESC LIMIT -1 OFFSET ?1)",
                               -1, &st, NULL) != SQLITE_OK ||
            sqlite3_bind_int64(st, 1, max_rows) || sqlite3_step(st) != SQLITE_DONE)
            goto out;
        sqlite3_finalize(st);
        st = NULL;
    }
    if (max_bytes > 0) {
        /* the newest rows whose text and signature fit in max_bytes stay */
        if (sqlite3_prepare_v2(db,
                               "DELETE FROM thinking WHERE rowid IN (SELECT rowid FROM (SELECT "
                               "rowid, sum(length(CAST(text AS BLOB)) + length(CAST(sig AS BLOB))) "
                               "OVER (ORDER BY stored_ms DESC, rowid DESC) AS run FROM thinking) "
                               "WHERE run > ?1)",
                               -1, &st, NULL) != SQLITE_OK ||
            sqlite3_bind_int64(st, 1, max_bytes) || sqlite3_step(st) != SQLITE_DONE)
            goto out;
    }
    ret = 0;
out:
    if (ret == AG_EDB)
        ag_log_error("store: thinking put: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return ret;
}

int ag_store_thinking_clear_db(sqlite3 *db)
{
    return ag_store_exec(db, "DELETE FROM thinking", "thinking clear");
}

int64_t ag_store_thinking_load(struct ag_store *s, int64_t now_ms, int64_t ttl_ms,
                               ag_thinking_row_fn fn, void *ud)
{
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    int rc;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT conv, tool_id, text, sig, stored_ms FROM thinking "
                           "WHERE stored_ms >= ?1 ORDER BY stored_ms, rowid",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, ttl_ms > 0 ? now_ms - ttl_ms : INT64_MIN)) {
        n = AG_EDB;
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct ag_thinking_row row = {
            .conv = col_str(st, 0),
            .tool_id = col_str(st, 1),
            .text = col_str(st, 2),
            .sig = col_str(st, 3),
            .stored_ms = sqlite3_column_int64(st, 4),
        };
        fn(&row, ud);
        n++;
    }
    if (rc != SQLITE_DONE)
        n = AG_EDB;
out:
    if (n < 0)
        ag_log_error("store: thinking load: %s", sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return n;
}

int64_t ag_store_thinking_count(struct ag_store *s)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM thinking", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}
