/* store/db.c: the backend-neutral half of the database layer and its SQLite side (store/db.h). */
#include "store/db.h"

#include "core/log.h"
#include "core/mem.h"
#include "store/db_pg.h"
#include "store/store_internal.h"

#include <stdlib.h>

int ag_db_open_sqlite(const char *path, struct ag_db **out, char *err, size_t errcap)
{
    sqlite3 *lite = NULL;
    *out = NULL;
    int rc = ag_store_conn_open(path, &lite, err, errcap);
    if (rc)
        return rc;
    struct ag_db *db = AG_NEW(struct ag_db);
    db->kind = AG_DB_SQLITE;
    db->lite = lite;
    *out = db;
    return 0;
}

void ag_db_close(struct ag_db *db)
{
    if (!db)
        return;
    if (db->lite)
        sqlite3_close(db->lite);
    else
        ag_db_pg_close(db->pg);
    free(db);
}

const char *ag_db_errmsg(struct ag_db *db)
{
    if (db->lite)
        return sqlite3_errmsg(db->lite);
    return ag_db_pg_errmsg(db->pg);
}

int ag_db_exec(struct ag_db *db, const char *sql, const char *what)
{
    if (db->lite)
        return ag_store_exec(db->lite, sql, what);
    if (ag_db_pg_exec(db->pg, sql) != 0) {
        ag_log_error("store: %s: %s", what, ag_db_pg_errmsg(db->pg));
        return AG_EDB;
    }
    return 0;
}

int ag_db_prepare(struct ag_db *db, const char *sql, struct ag_db_stmt **out)
{
    *out = NULL;
    struct ag_db_stmt *st = AG_NEW(struct ag_db_stmt);
    st->db = db;
    int rc =
        db->lite
            ? (sqlite3_prepare_v2(db->lite, sql, -1, &st->lite, NULL) == SQLITE_OK ? 0 : AG_EDB)
            : ag_db_pg_prepare(db->pg, sql, &st->pg);
    if (rc) {
        sqlite3_finalize(st->lite);
        free(st);
        return AG_EDB;
    }
    *out = st;
    return 0;
}

void ag_db_finalize(struct ag_db_stmt *st)
{
    if (!st)
        return;
    if (st->lite)
        sqlite3_finalize(st->lite);
    else
        ag_db_pg_finalize(st->pg);
    free(st);
}

int ag_db_begin(struct ag_db *db, const char *what)
{
    return ag_db_exec(db, db->lite ? "BEGIN IMMEDIATE" : "BEGIN", what);
}

int ag_db_commit(struct ag_db *db, const char *what)
{
    if (ag_db_exec(db, "COMMIT", what) != 0) {
        ag_db_rollback(db);
        return AG_EDB;
    }
    return 0;
}

void ag_db_rollback(struct ag_db *db)
{
    if (!ag_db_in_tx(db))
        return;
    if (db->lite)
        sqlite3_exec(db->lite, "ROLLBACK", NULL, NULL, NULL);
    else
        ag_db_pg_exec(db->pg, "ROLLBACK");
}

bool ag_db_in_tx(struct ag_db *db)
{
    if (db->lite)
        return !sqlite3_get_autocommit(db->lite);
    return ag_db_pg_in_tx(db->pg);
}
