/* admin/session.h: admin login sessions. A successful login (the admin secret in
 * POST /api/auth/login) gets a random token with an expiry; the token is then accepted like the
 * secret on admin routes until it expires or is revoked. Failed logins count toward the server's
 * failed-authentication limit (http/guard.h), like wrong secrets on every admin route. In memory
 * only: a restart logs everyone out. Loop thread only. */
#ifndef AG_ADMIN_SESSION_H
#define AG_ADMIN_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

/** "ags_" + 48 hex digits + NUL. */
#define AG_SESSION_TOKEN_SIZE 53

struct ag_sessions;

struct ag_sessions *ag_sessions_new(void);
void ag_sessions_free(struct ag_sessions *s);

/**
 * Creates a session valid until now_ms + ttl_ms; writes its token into token (AG_SESSION_TOKEN_SIZE
 * bytes). The oldest session is evicted when the table is full. 0 or AG_EIO (no randomness).
 */
int ag_sessions_create(struct ag_sessions *s, int64_t now_ms, int64_t ttl_ms, char *token);

/** True when token names a live session (constant-time compare). */
bool ag_sessions_valid(struct ag_sessions *s, struct ag_str token, int64_t now_ms);

/** Ends the session of token; true when there was one. */
bool ag_sessions_revoke(struct ag_sessions *s, struct ag_str token);

/** Ends every session (the admin secret changed). */
void ag_sessions_clear(struct ag_sessions *s);

#endif
