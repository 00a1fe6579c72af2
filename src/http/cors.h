/* http/cors.h: Cross-Origin Resource Sharing. Allowed origins come from the configuration
 * (default "*", as Antigravity Manager does). Credentials are never allowed with "*". Preflight
 * (OPTIONS) requests are answered by the server for every path with these headers. */
#ifndef AG_HTTP_CORS_H
#define AG_HTTP_CORS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

struct ag_http_req;

struct ag_cors {
    char **origins; /* owned copies; "*" allows any origin */
    size_t n;
    bool any;
};

/** Builds the rules from a list of origins (copied). Returns NULL only for n == 0 and NULL list. */
struct ag_cors *ag_cors_new(const char *const *origins, size_t n);

/** Frees the rules (NULL is a no-op). */
void ag_cors_free(struct ag_cors *c);

/** True if a browser page from origin may read responses. */
bool ag_cors_allows(const struct ag_cors *c, const char *origin, size_t len);

/**
 * Appends the CORS response headers for req (nothing when the request has no Origin or the origin
 * is not allowed; preflight headers when req is an OPTIONS request). 0 or AG_ETOOBIG.
 */
int ag_cors_append_headers(const struct ag_cors *c, const struct ag_http_req *req,
                           struct ag_buf *out);

#endif
