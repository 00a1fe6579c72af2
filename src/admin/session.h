/* admin/session.h: admin login sessions. A successful login (the admin secret in
 * POST /api/auth/login) gets a random token with an expiry; the token is then accepted like the
 * secret on admin routes until it expires or is revoked. Failed logins count toward the server's
 * failed-authentication limit (http/guard.h), like wrong secrets on every admin route.
 *
 * The table keeps only the SHA-256 of each token, never the token itself, so what it holds (and
 * what the gateway persists through store/sessions.h to keep sessions across a restart) cannot be
 * used to log in. Loop thread only. */
#ifndef AG_ADMIN_SESSION_H
#define AG_ADMIN_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"
#include "store/sessions.h"

/** "ags_" + 48 hex digits + NUL. */
#define AG_SESSION_TOKEN_SIZE 53

/** Sessions kept at most; creating one more evicts the oldest. */
#define AG_SESSIONS_MAX 64

struct ag_sessions;

struct ag_sessions *ag_sessions_new(void);
void ag_sessions_free(struct ag_sessions *s);

/**
 * Creates a session valid until now_ms + ttl_ms; writes its token into token (AG_SESSION_TOKEN_SIZE
 * bytes) and, when row is not NULL, the hash and times to persist into *row. The oldest session is
 * evicted when the table is full. 0 or AG_EIO (no randomness).
 */
int ag_sessions_create(struct ag_sessions *s, int64_t now_ms, int64_t ttl_ms, char *token,
                       struct ag_session_row *row);

/**
 * Puts back a session read from the store (its hash and times as they were stored). Rows already
 * expired at now_ms are ignored; a full table evicts its oldest session as create does.
 */
void ag_sessions_restore(struct ag_sessions *s, const struct ag_session_row *row, int64_t now_ms);

/** True when token names a live session (constant-time compare of the hashes). */
bool ag_sessions_valid(struct ag_sessions *s, struct ag_str token, int64_t now_ms);

/** Ends the session of token; true when there was one (its hash is then in hash when not NULL). */
bool ag_sessions_revoke(struct ag_sessions *s, struct ag_str token,
                        unsigned char hash[AG_SESSION_HASH_SIZE]);

/** Ends every session (the admin secret changed). */
void ag_sessions_clear(struct ag_sessions *s);

#endif
