/* store/db.h: the database layer the store files use instead of calling SQLite directly, so the
 * same store code runs on the embedded SQLite file (the default) and on PostgreSQL
 * (store.postgres_url, through libpq).
 *
 * One struct ag_db is one connection and belongs to one thread at a time (like a sqlite3 handle).
 * SQL is written once with `?` placeholders (or `?N`, numbered from 1), which the PostgreSQL side
 * rewrites to `$N`; where the two dialects differ the caller picks the text with ag_db_kind().
 * Values are int64, text (NUL-terminated), blob and NULL; PostgreSQL booleans read as 0/1.
 *
 * On SQLite every call below is a thin inline wrapper over the sqlite3_* function of the same
 * name (no copy, no allocation beyond the statement's handle), so the embedded path keeps its
 * speed. On PostgreSQL a statement is prepared on the server once and executed with its bound
 * parameters at the first ag_db_step; its rows are read from the result in memory. Every
 * PostgreSQL call blocks the calling thread until the server answers: the gateway makes them on
 * the writer thread, in admin jobs and in the CLI, and only a few short ones on the loop thread
 * (docs/internals/store.md says which). */
#ifndef AG_STORE_DB_H
#define AG_STORE_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/** Which database a connection talks to. */
enum ag_db_kind {
    AG_DB_SQLITE = 0,
    AG_DB_PG = 1,
};

/** ag_db_step: a row is ready to read. */
#define AG_DB_ROW 1
/** ag_db_step: the statement ran to completion. */
#define AG_DB_DONE 0
/** ag_db_step: a UNIQUE, PRIMARY KEY, CHECK or NOT NULL constraint refused the change. */
#define AG_DB_CONSTRAINT (-1000)

struct ag_pg_conn;
struct ag_pg_stmt;

/** One connection. Fields are the layer's own; callers use the functions. */
struct ag_db {
    enum ag_db_kind kind;
    sqlite3 *lite;         /* AG_DB_SQLITE */
    struct ag_pg_conn *pg; /* AG_DB_PG */
};

/** One prepared statement of one connection. */
struct ag_db_stmt {
    struct ag_db *db;
    sqlite3_stmt *lite;    /* AG_DB_SQLITE */
    struct ag_pg_stmt *pg; /* AG_DB_PG */
};

/**
 * Opens (creating with mode 0600 when missing) the SQLite file at path with the store's settings
 * (WAL, busy_timeout, synchronous=NORMAL, foreign keys). No migration. 0, or AG_EIO / AG_EDB
 * with a sentence in err (errcap bytes, err may be NULL).
 */
int ag_db_open_sqlite(const char *path, struct ag_db **out, char *err, size_t errcap);

/**
 * Connects to PostgreSQL at url (postgresql://[user[:password]@]host[:port]/dbname[?...] or a
 * libpq key=value string), blocking until connected. No migration. 0, or AG_EIO (cannot connect;
 * the sentence in err never contains the password).
 */
int ag_db_open_pg(const char *url, struct ag_db **out, char *err, size_t errcap);

/** Closes the connection; every statement must be finalized first. NULL is a no-op. */
void ag_db_close(struct ag_db *db);

/** The connection's database. */
static inline enum ag_db_kind ag_db_kind(const struct ag_db *db)
{
    return db->kind;
}

/** The last error of the connection, for logs; borrowed until the next call. */
const char *ag_db_errmsg(struct ag_db *db);

/**
 * Runs one or more `;`-separated statements that return no rows and take no parameters.
 * 0, or AG_EDB logged as "store: <what>: <message>".
 */
int ag_db_exec(struct ag_db *db, const char *sql, const char *what);

/**
 * Prepares one statement (placeholders `?` or `?N`). 0 and a statement in *out (free with
 * ag_db_finalize), or AG_EDB (nothing logged; see ag_db_errmsg).
 */
int ag_db_prepare(struct ag_db *db, const char *sql, struct ag_db_stmt **out);

/** Frees a statement. NULL is a no-op. */
void ag_db_finalize(struct ag_db_stmt *st);

/* PostgreSQL halves of the inline functions below (db_pg.c). */
int ag_db_pg_bind_int64(struct ag_pg_stmt *st, int idx, int64_t v);
int ag_db_pg_bind_text(struct ag_pg_stmt *st, int idx, const char *s, size_t len);
int ag_db_pg_bind_blob(struct ag_pg_stmt *st, int idx, const void *p, size_t len);
int ag_db_pg_bind_null(struct ag_pg_stmt *st, int idx);
int ag_db_pg_step(struct ag_pg_stmt *st);
int ag_db_pg_reset(struct ag_pg_stmt *st);
bool ag_db_pg_column_is_null(struct ag_pg_stmt *st, int col);
int64_t ag_db_pg_column_int64(struct ag_pg_stmt *st, int col);
const char *ag_db_pg_column_text(struct ag_pg_stmt *st, int col);
const void *ag_db_pg_column_blob(struct ag_pg_stmt *st, int col, size_t *len);
int64_t ag_db_pg_changes(struct ag_pg_conn *c);

/** Binds an integer to parameter idx (from 1). 0 or AG_EDB. */
static inline int ag_db_bind_int64(struct ag_db_stmt *st, int idx, int64_t v)
{
    if (st->lite)
        return sqlite3_bind_int64(st->lite, idx, v) == SQLITE_OK ? 0 : AG_EDB;
    return ag_db_pg_bind_int64(st->pg, idx, v);
}

/** Binds a NUL-terminated string (copied), or NULL for a NULL pointer. 0 or AG_EDB. */
static inline int ag_db_bind_text(struct ag_db_stmt *st, int idx, const char *s)
{
    if (st->lite) {
        int rc = s ? sqlite3_bind_text(st->lite, idx, s, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(st->lite, idx);
        return rc == SQLITE_OK ? 0 : AG_EDB;
    }
    return s ? ag_db_pg_bind_text(st->pg, idx, s, SIZE_MAX) : ag_db_pg_bind_null(st->pg, idx);
}

/** Binds len bytes of text (copied; s need not be NUL-terminated, may be NULL when len is 0:
 * binds ''). 0 or AG_EDB. */
static inline int ag_db_bind_textn(struct ag_db_stmt *st, int idx, const char *s, size_t len)
{
    if (st->lite)
        return sqlite3_bind_text(st->lite, idx, s ? s : "", (int)len, SQLITE_TRANSIENT) == SQLITE_OK
                   ? 0
                   : AG_EDB;
    return ag_db_pg_bind_text(st->pg, idx, s ? s : "", len);
}

/**
 * Binds a NUL-terminated string, or NULL for a NULL pointer, without copying it on SQLite (the
 * statement reads s when it steps): the caller keeps s unchanged until the statement's next step
 * has run, and binds the parameter again before any later step. 0 or AG_EDB.
 */
static inline int ag_db_bind_text_kept(struct ag_db_stmt *st, int idx, const char *s)
{
    if (st->lite) {
        int rc = s ? sqlite3_bind_text(st->lite, idx, s, -1, SQLITE_STATIC)
                   : sqlite3_bind_null(st->lite, idx);
        return rc == SQLITE_OK ? 0 : AG_EDB;
    }
    return s ? ag_db_pg_bind_text(st->pg, idx, s, SIZE_MAX) : ag_db_pg_bind_null(st->pg, idx);
}

/** ag_db_bind_textn, not copied on SQLite: s is kept as ag_db_bind_text_kept says. 0 or AG_EDB. */
static inline int ag_db_bind_textn_kept(struct ag_db_stmt *st, int idx, const char *s, size_t len)
{
    if (st->lite)
        return sqlite3_bind_text(st->lite, idx, s ? s : "", (int)len, SQLITE_STATIC) == SQLITE_OK
                   ? 0
                   : AG_EDB;
    return ag_db_pg_bind_text(st->pg, idx, s ? s : "", len);
}

/** Binds len bytes (copied) as a blob (BLOB / BYTEA). 0 or AG_EDB. */
static inline int ag_db_bind_blob(struct ag_db_stmt *st, int idx, const void *p, size_t len)
{
    if (st->lite)
        return sqlite3_bind_blob(st->lite, idx, p, (int)len, SQLITE_TRANSIENT) == SQLITE_OK
                   ? 0
                   : AG_EDB;
    return ag_db_pg_bind_blob(st->pg, idx, p, len);
}

/** Binds SQL NULL. 0 or AG_EDB. */
static inline int ag_db_bind_null(struct ag_db_stmt *st, int idx)
{
    if (st->lite)
        return sqlite3_bind_null(st->lite, idx) == SQLITE_OK ? 0 : AG_EDB;
    return ag_db_pg_bind_null(st->pg, idx);
}

/**
 * Runs the statement or moves to its next row: AG_DB_ROW, AG_DB_DONE, AG_DB_CONSTRAINT, or AG_EDB
 * (see ag_db_errmsg).
 */
static inline int ag_db_step(struct ag_db_stmt *st)
{
    if (st->lite) {
        int rc = sqlite3_step(st->lite);
        if (rc == SQLITE_ROW)
            return AG_DB_ROW;
        if (rc == SQLITE_DONE)
            return AG_DB_DONE;
        return (rc & 0xff) == SQLITE_CONSTRAINT ? AG_DB_CONSTRAINT : AG_EDB;
    }
    return ag_db_pg_step(st->pg);
}

/** Makes the statement ready to run again; the bound values stay. 0 or AG_EDB. */
static inline int ag_db_reset(struct ag_db_stmt *st)
{
    if (st->lite) {
        sqlite3_reset(st->lite);
        return 0;
    }
    return ag_db_pg_reset(st->pg);
}

/** Whether column col (from 0) of the current row is NULL. */
static inline bool ag_db_column_is_null(struct ag_db_stmt *st, int col)
{
    if (st->lite)
        return sqlite3_column_type(st->lite, col) == SQLITE_NULL;
    return ag_db_pg_column_is_null(st->pg, col);
}

/** Column col of the current row as an integer (NULL reads 0). */
static inline int64_t ag_db_column_int64(struct ag_db_stmt *st, int col)
{
    if (st->lite)
        return sqlite3_column_int64(st->lite, col);
    return ag_db_pg_column_int64(st->pg, col);
}

/** Column col as NUL-terminated text, NULL for SQL NULL; valid until the next step, reset or
 * finalize. */
static inline const char *ag_db_column_text(struct ag_db_stmt *st, int col)
{
    if (st->lite)
        return (const char *)sqlite3_column_text(st->lite, col);
    return ag_db_pg_column_text(st->pg, col);
}

/** Column col as bytes (NULL for SQL NULL or empty) and their count in *len; valid until the
 * next step, reset or finalize. */
static inline const void *ag_db_column_blob(struct ag_db_stmt *st, int col, size_t *len)
{
    if (st->lite) {
        const void *p = sqlite3_column_blob(st->lite, col);
        *len = (size_t)sqlite3_column_bytes(st->lite, col);
        return p;
    }
    return ag_db_pg_column_blob(st->pg, col, len);
}

/** Rows changed by the connection's last INSERT, UPDATE or DELETE. */
static inline int64_t ag_db_changes(struct ag_db *db)
{
    if (db->lite)
        return sqlite3_changes(db->lite);
    return ag_db_pg_changes(db->pg);
}

/**
 * Starts a write transaction (SQLite: BEGIN IMMEDIATE, so the write lock is taken at once;
 * PostgreSQL: BEGIN). 0 or AG_EDB (logged with what).
 */
int ag_db_begin(struct ag_db *db, const char *what);

/** Commits; on failure rolls back. 0 or AG_EDB (logged with what). */
int ag_db_commit(struct ag_db *db, const char *what);

/** Rolls back the open transaction, if any; never fails. */
void ag_db_rollback(struct ag_db *db);

/** Whether a transaction is open on the connection. */
bool ag_db_in_tx(struct ag_db *db);

/**
 * Rewrites `?` and `?N` placeholders of sql into PostgreSQL's `$N`, and SQLite's `COLLATE
 * NOCASE` into the schema's case-insensitive `COLLATE ag_nocase` and `LIMIT -1` into `LIMIT ALL`
 * (outside quotes and comments),
 * into out (cap bytes). Returns the length written, or AG_ETOOBIG when out is too
 * small. Exposed for the tests.
 */
int ag_db_pg_translate(const char *sql, char *out, size_t cap);

#endif
