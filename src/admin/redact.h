/* admin/redact.h: removes secrets from captured request and response bodies before the monitor
 * keeps them: values of secret-named JSON members and form/query parameters (authorization,
 * api_key, x-api-key, x-goog-api-key, key, refresh_token, access_token, id_token, client_secret,
 * private_key, secret, password, admin_password, code), whether the name is written plainly or
 * with JSON escapes ("\u0061pi_key") or percent escapes (api%5Fkey); "Bearer <token>"; and
 * token-shaped strings wherever they appear (sk-..., Google access tokens ya29...., refresh tokens
 * 1//... also as 1\/\/..., Google API keys AIza + 35 characters). Works on text that may be cut or
 * not JSON at all (SSE, forms), so it scans bytes instead of parsing. */
#ifndef AG_ADMIN_REDACT_H
#define AG_ADMIN_REDACT_H

#include <stddef.h>

#include "core/buf.h"
#include "core/str.h"

/** The text secrets are replaced with. */
#define AG_REDACTED "[REDACTED]"

/**
 * Appends to out the redacted form of in, cut to at most cap bytes of output (at a UTF-8
 * character boundary; a cut body ends with no marker, the caller knows the cap). The input is
 * scanned a little past cap so that a secret crossing the cut is still recognised. Returns 0 or
 * AG_ETOOBIG (out's own cap).
 */
int ag_redact(struct ag_str in, size_t cap, struct ag_buf *out);

#endif
