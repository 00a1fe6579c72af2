/* http/router.h: method + path → handler. Patterns are '/'-separated segments; a segment ":name"
 * captures one whole segment (for Gemini's "/v1beta/models/:model" the capture is e.g.
 * "gemini-2.5-pro:generateContent"; ag_router_split_action() splits it), a final "*" captures the
 * rest of the path. Each route carries the protocol its errors are written in and its auth class,
 * so the server can reject a request in the client's own format before any handler runs. */
#ifndef AG_HTTP_ROUTER_H
#define AG_HTTP_ROUTER_H

#include <stdbool.h>

#include "core/str.h"
#include "http/errfmt.h"

#define AG_HTTP_MAX_PARAMS 4

struct ag_http_req;

typedef void (*ag_http_handler)(struct ag_http_req *req, void *ud);

/** Who may call a route. */
enum ag_route_access {
    AG_ACCESS_PROXY = 0, /* AI routes: checked per auth.mode */
    AG_ACCESS_HEALTH,    /* health: exempt in all_except_health */
    AG_ACCESS_ADMIN,     /* admin API: always needs the admin secret */
    AG_ACCESS_PUBLIC,    /* never checked (OAuth callback, UI assets) */
};

struct ag_route {
    const char *method;  /* "GET", "POST", ... or "*" */
    const char *pattern; /* "/v1beta/models/:model" */
    ag_http_handler handler;
    void *ud;
    enum ag_route_access access;
    const struct ag_errfmt *errfmt; /* how errors on this route are written */
    bool multipart;                 /* the body may be multipart/form-data (file uploads) */
    bool websocket; /* GET may upgrade to a WebSocket whose messages come here (http/ws.h) */
};

struct ag_router;

/** Creates an empty router. */
struct ag_router *ag_router_new(void);

/** Frees a router (NULL is a no-op). */
void ag_router_free(struct ag_router *r);

/**
 * Adds a route. The struct is copied; its strings (method, pattern) are borrowed and must outlive
 * the router (string literals in practice). Returns 0 or AG_EINVAL for a malformed pattern.
 */
int ag_router_add(struct ag_router *r, const struct ag_route *route);

/** Sets the error format for paths that match no route (404), chosen by prefix. */
void ag_router_set_fallback(struct ag_router *r, const struct ag_errfmt *errfmt);

enum ag_router_match {
    AG_ROUTER_FOUND,
    AG_ROUTER_NOT_FOUND,          /* no pattern matches the path */
    AG_ROUTER_METHOD_NOT_ALLOWED, /* a pattern matches, not with this method */
};

/**
 * Matches method + path. On FOUND stores the route and fills params (slices into path) and their
 * count. On the other results *route is a route whose pattern matched (for 405) or NULL.
 */
enum ag_router_match ag_router_match(const struct ag_router *r, struct ag_str method,
                                     struct ag_str path, const struct ag_route **route,
                                     struct ag_str *params, size_t *nparams);

/** The error format for a path no route matched: by its protocol prefix. */
const struct ag_errfmt *ag_router_errfmt_for_path(const struct ag_router *r, struct ag_str path);

/**
 * Splits "model:action" at the last ':' into the model and the action; action is empty when there
 * is no ':'.
 */
void ag_router_split_action(struct ag_str seg, struct ag_str *model, struct ag_str *action);

/** True if some route's pattern matches path (any method): for CORS preflight answers. */
bool ag_router_path_known(const struct ag_router *r, struct ag_str path);

#endif
