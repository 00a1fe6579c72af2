/* store/sessions.c: the admin_sessions table (see sessions.h). */
#include "store/sessions.h"

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_internal.h"

#include <sqlite3.h>
#include <string.h>

int ag_store_session_put_db(sqlite3 *db, const struct ag_session_row *row, int64_t max_rows)
{
    sqlite3_stmt *st = NULL;
    int ret = AG_EDB;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO admin_sessions(token_hash, created_ms, "
                           "expires_ms, secret_tag) VALUES (?1, ?2, ?3, ?4)",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_blob(st, 1, row->hash, AG_SESSION_HASH_SIZE, SQLITE_TRANSIENT) ||
        sqlite3_bind_int64(st, 2, row->created_ms) || sqlite3_bind_int64(st, 3, row->expires_ms) ||
        sqlite3_bind_blob(st, 4, row->secret_tag, AG_SESSION_HASH_SIZE, SQLITE_TRANSIENT) ||
        sqlite3_step(st) != SQLITE_DONE)
        goto out;
    sqlite3_finalize(st);
    st = NULL;
    /* A new session's creation time is "now": whatever expired by then goes. */
    if (sqlite3_prepare_v2(db, "DELETE FROM admin_sessions WHERE expires_ms <= ?1", -1, &st,
                           NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, row->created_ms) || sqlite3_step(st) != SQLITE_DONE)
        goto out;
    sqlite3_finalize(st);
    st = NULL;
    if (max_rows > 0) {
        if (sqlite3_prepare_v2(db,
                               "DELETE FROM admin_sessions WHERE token_hash IN (SELECT token_hash "
                               "FROM admin_sessions ORDER BY created_ms DESC LIMIT -1 OFFSET ?1)",
                               -1, &st, NULL) != SQLITE_OK ||
            sqlite3_bind_int64(st, 1, max_rows) || sqlite3_step(st) != SQLITE_DONE)
            goto out;
    }
    ret = 0;
out:
    if (ret)
        ag_log_error("store: session put: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return ret;
}

int ag_store_session_delete_db(sqlite3 *db, const unsigned char hash[AG_SESSION_HASH_SIZE])
{
    sqlite3_stmt *st = NULL;
    int ret = AG_EDB;
    if (sqlite3_prepare_v2(db, "DELETE FROM admin_sessions WHERE token_hash = ?1", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_bind_blob(st, 1, hash, AG_SESSION_HASH_SIZE, SQLITE_TRANSIENT) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_DONE)
        ret = 0;
    else
        ag_log_error("store: session delete: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return ret;
}

int ag_store_sessions_clear_db(sqlite3 *db)
{
    return ag_store_exec(db, "DELETE FROM admin_sessions", "sessions clear");
}

int64_t ag_store_sessions_load(struct ag_store *s, int64_t now_ms, ag_session_row_fn fn, void *ud)
{
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    int rc;
    if (sqlite3_prepare_v2(
            s->db,
            "SELECT token_hash, created_ms, expires_ms, secret_tag FROM admin_sessions "
            "WHERE expires_ms > ?1 ORDER BY created_ms",
            -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, now_ms)) {
        n = AG_EDB;
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct ag_session_row row = {
            .created_ms = sqlite3_column_int64(st, 1),
            .expires_ms = sqlite3_column_int64(st, 2),
        };
        if (sqlite3_column_bytes(st, 0) != AG_SESSION_HASH_SIZE ||
            sqlite3_column_bytes(st, 3) != AG_SESSION_HASH_SIZE)
            continue; /* not a row this code wrote */
        memcpy(row.hash, sqlite3_column_blob(st, 0), AG_SESSION_HASH_SIZE);
        memcpy(row.secret_tag, sqlite3_column_blob(st, 3), AG_SESSION_HASH_SIZE);
        fn(&row, ud);
        n++;
    }
    if (rc != SQLITE_DONE)
        n = AG_EDB;
out:
    if (n < 0)
        ag_log_error("store: sessions load: %s", sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return n;
}

int64_t ag_store_sessions_count(struct ag_store *s)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM admin_sessions", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}
