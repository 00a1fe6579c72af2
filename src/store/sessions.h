/* store/sessions.h: the admin_sessions table, so admin login sessions (admin/session.h) survive
 * a restart. A row is the SHA-256 of a session token (never the token) with its creation and
 * expiry times and a tag of the admin secret it was created under. Rows are written by the writer
 * thread (ag_writer_session_put / _delete / _clear); the gateway reads the unexpired ones back once
 * at start, before its event loop runs. The table is bounded: every put deletes the expired rows
 * and the oldest beyond the row bound. */
#ifndef AG_STORE_SESSIONS_H
#define AG_STORE_SESSIONS_H

#include <stdint.h>

struct ag_store;

/** Bytes of a stored session hash (a SHA-256 digest). */
#define AG_SESSION_HASH_SIZE 32

/** One session as stored. */
struct ag_session_row {
    unsigned char hash[AG_SESSION_HASH_SIZE];       /* SHA-256 of the token */
    unsigned char secret_tag[AG_SESSION_HASH_SIZE]; /* ties the row to the admin secret of its
                                                       login (api_auth.c), so a changed secret
                                                       ends it even across a restart */
    int64_t created_ms;                             /* unix milliseconds */
    int64_t expires_ms;                             /* unix milliseconds */
};

/** Called per row by ag_store_sessions_load; row is valid during the call only. */
typedef void (*ag_session_row_fn)(const struct ag_session_row *row, void *ud);

/**
 * Reads the rows that expire after now_ms, oldest first, on the store's own connection
 * (blocking: for start-up, before the event loop runs). Returns how many rows were passed to fn,
 * or a negative AG_E* (logged).
 */
int64_t ag_store_sessions_load(struct ag_store *s, int64_t now_ms, ag_session_row_fn fn, void *ud);

/** Rows in the table (expired ones included until a put removes them); -1 on error. */
int64_t ag_store_sessions_count(struct ag_store *s);

#endif
