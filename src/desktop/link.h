/* desktop/link.h: the desktop app's calls to a gateway's admin API over loopback HTTP — the same
 * calls whether the gateway runs in this process or as a service beside it. Blocking, each capped
 * in time: callers run them off the GTK thread (GTask), except the short ones at start. */
#ifndef AG_DESKTOP_LINK_H
#define AG_DESKTOP_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <yyjson.h>

/** True when base (e.g. "http://127.0.0.1:8045") answers GET /healthz with 200 within timeout_ms.
 */
bool ag_desk_link_alive(const char *base, long timeout_ms);

/**
 * POST base/api/auth/login with secret (the admin password or API key of the configuration) and
 * copies the session token into token (cap bytes, NUL-terminated) and its expiry into *expires_ms.
 * Returns 0, or -1 when the gateway did not answer, refused, or the token does not fit.
 */
int ag_desk_link_login(const char *base, const char *secret, char *token, size_t cap,
                       int64_t *expires_ms);

/**
 * One admin call: method on path (e.g. "/api/proxy/status") with the session token, no body.
 * Returns the parsed JSON answer (the caller frees it with yyjson_doc_free) or NULL; *status (may
 * be NULL) gets the HTTP status, 0 when nothing answered.
 */
yyjson_doc *ag_desk_link_call(const char *base, const char *token, const char *method,
                              const char *path, long timeout_ms, long *status);

#endif
