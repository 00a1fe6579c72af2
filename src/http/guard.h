/* http/guard.h: the browser threat model and the failed-authentication limit, decided when a
 * request's headers are complete and before its body is read (docs/security.md explains why).
 *
 * A web page the user visits can make the browser send requests to 127.0.0.1: cross-origin
 * fetches, "simple" form-like POSTs that need no preflight, and DNS rebinding (a name of the
 * attacker's resolving to 127.0.0.1, so the page counts as same-origin). The guard refuses them:
 * - Host: on a loopback listener only loopback names (localhost, *.localhost, 127.0.0.0/8, [::1])
 *   and the names the user lists are served, which defeats DNS rebinding;
 * - Origin: a request from a page of another origin is served only where the route needs a key
 *   (CORS "*" then applies) or where the user listed that origin;
 * - Content-Type: a request body from a browser must be JSON (multipart on routes that take
 *   files); tools such as curl may also send form-encoded bodies or none.
 * Failed authentication is counted per client address; past the limit, that address waits a delay
 * that doubles with every further lockout. Loop thread only. */
#ifndef AG_HTTP_GUARD_H
#define AG_HTTP_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct ag_http_req;
struct ag_cors;

/** The Host rule. Built from the configuration; swapped whole on a config change. */
struct ag_host_policy {
    bool any;     /* listening beyond loopback without a list: every Host is served */
    char **names; /* extra names allowed (lower case, without port); owned */
    size_t nnames;
};

/** Builds the Host rule: loopback_only when every listener is on loopback. names are copied. */
struct ag_host_policy *ag_host_policy_new(bool loopback_only, const char *const *names, size_t n);

/** Frees a Host rule (NULL is a no-op). */
void ag_host_policy_free(struct ag_host_policy *p);

/** True when the Host header value (name with optional port) may be served. An absent Host
 * (HTTP/1.0, tools) is allowed: browsers always send one. */
bool ag_host_allowed(const struct ag_host_policy *p, struct ag_str host);

/** Where a request comes from, as far as a browser tells. */
enum ag_origin_kind {
    AG_ORIGIN_NONE = 0, /* no Origin and no Sec-Fetch-Site: not a browser, or a same-origin GET */
    AG_ORIGIN_SAME,     /* a page of the gateway itself (the web UI) */
    AG_ORIGIN_FOREIGN,  /* a page of another origin */
};

/** Classifies req from its Origin, Sec-Fetch-Site and Host headers. */
enum ag_origin_kind ag_origin_classify(const struct ag_http_req *req);

/**
 * True when a foreign-origin request may proceed: its origin is listed by name in cors, or cors
 * lists "*" and the route needs a key (key_required). A page cannot learn the key, so "*" never
 * opens a route that takes no key.
 */
bool ag_origin_allowed(const struct ag_cors *cors, const struct ag_http_req *req,
                       bool key_required);

/** What the Content-Type rule says of a request that has a body. */
enum ag_ctype_verdict {
    AG_CTYPE_OK = 0,
    AG_CTYPE_REFUSED, /* 415 */
};

/**
 * Applies the Content-Type rule to a request with a body: JSON (application/json or any
 * +json type) is always accepted, multipart/form-data where multipart is true, and
 * form-encoded or no content type only from non-browser clients (browser false).
 */
enum ag_ctype_verdict ag_ctype_check(const struct ag_http_req *req, bool multipart, bool browser);

/** Failed-authentication counter per client address (bounded table, oldest entries reused). */
struct ag_auth_limiter;

/** Creates a limiter allowing max_failures per window_ms before a lockout of base_lock_ms, which
 * doubles with every further lockout of the same address up to max_lock_ms. */
struct ag_auth_limiter *ag_auth_limiter_new(int64_t max_failures, int64_t window_ms,
                                            int64_t base_lock_ms, int64_t max_lock_ms);

/** Frees a limiter (NULL is a no-op). */
void ag_auth_limiter_free(struct ag_auth_limiter *l);

/** Changes the failures allowed per window (configuration hot update). */
void ag_auth_limiter_set_max(struct ag_auth_limiter *l, int64_t max_failures);

/** True when ip may try now; otherwise *retry_after_s (may be NULL) gets the seconds to wait. */
bool ag_auth_limiter_allowed(struct ag_auth_limiter *l, const char *ip, int64_t now_ms,
                             int64_t *retry_after_s);

/** Counts a failure from ip (may start a lockout). */
void ag_auth_limiter_failed(struct ag_auth_limiter *l, const char *ip, int64_t now_ms);

/** Forgets ip's failures after a success (its lockout level stays). */
void ag_auth_limiter_succeeded(struct ag_auth_limiter *l, const char *ip);

#endif
