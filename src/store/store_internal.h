/* store/store_internal.h: what the files of store/ share and nobody else sees: the layout of
 * struct ag_store, the connection opener every connection (main and writer) goes through, and
 * small SQLite binding helpers. Not part of the public API. */
#ifndef AG_STORE_INTERNAL_H
#define AG_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "store/request_log.h"
#include "store/sessions.h"
#include "store/thinking.h"
#include "store/token_stats.h"
#include "store/user_keys.h"

struct ag_store {
    struct ag_db *conn; /* the loop thread's (or the CLI's) connection, either database */
    sqlite3 *db;        /* SQLite: conn's handle; NULL on PostgreSQL */
    char *path;         /* owned: <data dir>/aigate.db, or the PostgreSQL URL */
    bool pg;            /* path is a PostgreSQL URL */
    int64_t data_ver;   /* last PRAGMA data_version seen by ag_store_accounts_changed */
    uint64_t counter;   /* accounts_version read at that time */
    bool counter_ok;    /* data_ver and counter hold values */
    bool own_write;     /* this connection wrote accounts since (data_version misses those) */
};

/**
 * Opens (creating with mode 0600 if needed) the database file at path and configures the
 * connection: WAL, busy_timeout, synchronous=NORMAL, foreign keys. No migration happens here.
 * On failure writes a sentence into err (cap bytes, may be NULL) and returns AG_EIO / AG_EDB.
 */
int ag_store_conn_open(const char *path, sqlite3 **out, char *err, size_t errcap);

/** Opens another connection to the same database as s (the writer's, admin jobs'): 0 or AG_EIO
 * / AG_EDB with a sentence in err. */
int ag_store_conn_again(const struct ag_store *s, struct ag_db **out, char *err, size_t errcap);

/** Formats into err (when err and cap are non-zero); always NUL-terminates. */
void ag_store_seterr(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Binds a NUL-terminated string, or SQL NULL for a NULL pointer (the text is copied). */
int ag_store_bind_text(sqlite3_stmt *st, int idx, const char *s);

/** Runs one or more statements that return no rows; 0 or AG_EDB (logged with context). */
int ag_store_exec(sqlite3 *db, const char *sql, const char *what);

/** Inserts one request_log row on the given connection; bodies are cut at body_cap bytes. */
int ag_store_request_log_insert_db(struct ag_db *db, struct ag_db_stmt **cache,
                                   const struct ag_request_record *rec, size_t body_cap);

/** Most rows ag_store_request_log_insert_rows_db writes in one statement. */
#define AG_LOG_INSERT_ROWS_MAX 16

/**
 * Inserts n (1..AG_LOG_INSERT_ROWS_MAX) request_log rows in one statement on a SQLite connection
 * (*cache: the statement for this n, prepared on first use). All or none: on AG_EDB the statement
 * has undone itself (inside a transaction the rest of it stays), nothing is logged, and the caller
 * may write the rows one by one to find the one that fails. AG_EINVAL on PostgreSQL, whose
 * insert takes another id when a row's is taken (ag_store_request_log_insert_db).
 */
int ag_store_request_log_insert_rows_db(struct ag_db *db, struct ag_db_stmt **cache,
                                        const struct ag_request_record *const *rows, size_t n,
                                        size_t body_cap);

/**
 * Prepares into *cache, unless it holds one already, the statement that
 * ag_store_request_log_insert_rows_db uses for n rows. 0, AG_EINVAL (as there), or AG_EDB (logged).
 */
int ag_store_request_log_rows_prepare_db(struct ag_db *db, struct ag_db_stmt **cache, size_t n);

/** Applies one token-statistics increment on the given connection. */
int ag_store_token_stats_add_db(struct ag_db *db, struct ag_db_stmt **cache,
                                const struct ag_token_delta *d);

/** Moves an account's last_used_at forward (never back) on the given connection. */
int ag_store_account_touch_db(struct ag_db *db, struct ag_db_stmt **cache, const char *id,
                              int64_t when_s);

/**
 * Upserts one thinking row on the given connection, then deletes the rows stored more than
 * ttl_ms before row->stored_ms, the oldest beyond max_rows, and the oldest beyond max_bytes of
 * text and signature (each bound <= 0: off).
 * 0, AG_EINVAL (empty conv, tool_id or sig), AG_EDB (logged).
 */
int ag_store_thinking_put_db(struct ag_db *db, const struct ag_thinking_row *row, int64_t ttl_ms,
                             int64_t max_rows, int64_t max_bytes);

/** Deletes every thinking row on the given connection. 0 or AG_EDB (logged). */
int ag_store_thinking_clear_db(struct ag_db *db);

/**
 * Inserts (or replaces) one admin session row on the given connection, then deletes the rows
 * expired by row->created_ms and the oldest beyond max_rows (<= 0: no row bound). 0 or AG_EDB
 * (logged).
 */
int ag_store_session_put_db(struct ag_db *db, const struct ag_session_row *row, int64_t max_rows);

/** Deletes the admin session row with this token hash. 0 or AG_EDB (logged). */
int ag_store_session_delete_db(struct ag_db *db, const unsigned char hash[AG_SESSION_HASH_SIZE]);

/** Deletes every admin session row on the given connection. 0 or AG_EDB (logged). */
int ag_store_sessions_clear_db(struct ag_db *db);

/** Adds one key-usage increment on the given connection and moves the key's last_used_at
 * forward (store/user_keys.h); the statements are cached in *cache and *touch. 0 or AG_EDB. */
int ag_store_key_usage_add_db(struct ag_db *db, struct ag_db_stmt **cache,
                              struct ag_db_stmt **touch, const struct ag_key_usage_delta *d);

/** Runs retention on the given connection (see ag_store_retention_run). */
int ag_store_retention_run_db(struct ag_db *db, const struct ag_retention *r, int64_t now_ms,
                              struct ag_retention_result *res);

/** Runs the disk cap on the given connection (see ag_store_disk_cap_run). */
int ag_store_disk_cap_run_db(struct ag_db *db, int64_t max_bytes, struct ag_disk_cap_result *res);

/** Bytes in use and in total on the given connection (see ag_store_disk_usage). */
int ag_store_disk_usage_db(struct ag_db *db, int64_t *in_use, int64_t *total);

/**
 * Makes sure the file is in auto_vacuum=INCREMENTAL mode, which the disk cap needs to give space
 * back. A file made before this mode existed is converted once by a full VACUUM (which rewrites
 * the file and needs as much free space as the data; trim it with max_bytes first, > 0). Long:
 * the writer thread runs it at start, never the event loop. 0, or AG_EDB (the file stays as it
 * was; logged).
 */
int ag_store_vacuum_mode_ensure(struct ag_db *db, int64_t max_bytes);

#endif
