/* store/sessions.c: the admin_sessions table (see sessions.h). */
#include "store/sessions.h"

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_internal.h"

#include <string.h>

int ag_store_session_put_db(struct ag_db *db, const struct ag_session_row *row, int64_t max_rows)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    if (ag_db_prepare(db,
                      "INSERT INTO admin_sessions(token_hash, created_ms, expires_ms, secret_tag)"
                      " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(token_hash) DO UPDATE SET"
                      " created_ms = excluded.created_ms, expires_ms = excluded.expires_ms,"
                      " secret_tag = excluded.secret_tag",
                      &st) != 0 ||
        ag_db_bind_blob(st, 1, row->hash, AG_SESSION_HASH_SIZE) ||
        ag_db_bind_int64(st, 2, row->created_ms) || ag_db_bind_int64(st, 3, row->expires_ms) ||
        ag_db_bind_blob(st, 4, row->secret_tag, AG_SESSION_HASH_SIZE) ||
        ag_db_step(st) != AG_DB_DONE)
        goto out;
    ag_db_finalize(st);
    st = NULL;
    /* A new session's creation time is "now": whatever expired by then goes. */
    if (ag_db_prepare(db, "DELETE FROM admin_sessions WHERE expires_ms <= ?1", &st) != 0 ||
        ag_db_bind_int64(st, 1, row->created_ms) || ag_db_step(st) != AG_DB_DONE)
        goto out;
    ag_db_finalize(st);
    st = NULL;
    if (max_rows > 0) {
        if (ag_db_prepare(db,
                          "DELETE FROM admin_sessions WHERE token_hash IN (SELECT token_hash "
                          "FROM admin_sessions ORDER BY created_ms DESC LIMIT -1 OFFSET ?1)",
                          &st) != 0 ||
            ag_db_bind_int64(st, 1, max_rows) || ag_db_step(st) != AG_DB_DONE)
            goto out;
    }
    ret = 0;
out:
    if (ret)
        ag_log_error("store: session put: %s", ag_db_errmsg(db));
    ag_db_finalize(st);
    return ret;
}

int ag_store_session_delete_db(struct ag_db *db, const unsigned char hash[AG_SESSION_HASH_SIZE])
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    if (ag_db_prepare(db, "DELETE FROM admin_sessions WHERE token_hash = ?1", &st) == 0 &&
        ag_db_bind_blob(st, 1, hash, AG_SESSION_HASH_SIZE) == 0 && ag_db_step(st) == AG_DB_DONE)
        ret = 0;
    else
        ag_log_error("store: session delete: %s", ag_db_errmsg(db));
    ag_db_finalize(st);
    return ret;
}

int ag_store_sessions_clear_db(struct ag_db *db)
{
    return ag_db_exec(db, "DELETE FROM admin_sessions", "sessions clear");
}

int64_t ag_store_sessions_load(struct ag_store *s, int64_t now_ms, ag_session_row_fn fn, void *ud)
{
    struct ag_db_stmt *st = NULL;
    int64_t n = 0;
    int rc;
    if (ag_db_prepare(s->conn,
                      "SELECT token_hash, created_ms, expires_ms, secret_tag FROM admin_sessions "
                      "WHERE expires_ms > ?1 ORDER BY created_ms",
                      &st) != 0 ||
        ag_db_bind_int64(st, 1, now_ms)) {
        n = AG_EDB;
        goto out;
    }
    while ((rc = ag_db_step(st)) == AG_DB_ROW) {
        struct ag_session_row row = {
            .created_ms = ag_db_column_int64(st, 1),
            .expires_ms = ag_db_column_int64(st, 2),
        };
        size_t hlen = 0, tlen = 0;
        const void *hash = ag_db_column_blob(st, 0, &hlen);
        const void *tag = ag_db_column_blob(st, 3, &tlen);
        if (!hash || !tag || hlen != AG_SESSION_HASH_SIZE || tlen != AG_SESSION_HASH_SIZE)
            continue; /* not a row this code wrote */
        memcpy(row.hash, hash, AG_SESSION_HASH_SIZE);
        memcpy(row.secret_tag, tag, AG_SESSION_HASH_SIZE);
        fn(&row, ud);
        n++;
    }
    if (rc != AG_DB_DONE)
        n = AG_EDB;
out:
    if (n < 0)
        ag_log_error("store: sessions load: %s", ag_db_errmsg(s->conn));
    ag_db_finalize(st);
    return n;
}

int64_t ag_store_sessions_count(struct ag_store *s)
{
    struct ag_db_stmt *st = NULL;
    int64_t n = -1;
    if (ag_db_prepare(s->conn, "SELECT count(*) FROM admin_sessions", &st) == 0 &&
        ag_db_step(st) == AG_DB_ROW)
        n = ag_db_column_int64(st, 0);
    ag_db_finalize(st);
    return n;
}
