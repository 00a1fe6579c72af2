/* http/server.h: the HTTP/1.1 server on a libuv loop. It accepts connections, parses requests
 * with llhttp, enforces limits (body, header size and count, header and idle timeouts), answers
 * CORS preflights and the auth check, and hands each complete request to the router's handler.
 *
 * Requests on one connection are handled one at a time, in order (pipelined requests wait in the
 * input buffer), so responses always leave in request order.
 *
 * Lifetime of a request: the server owns `struct ag_http_req`. A handler answers with
 * ag_http_respond*() or with ag_http_stream_begin/write/end, synchronously or later. If the client
 * goes away first, the server calls req->on_abort (when set): the handler must stop its work
 * synchronously there and never touch req afterwards. Without on_abort, the req stays valid until
 * the handler completes it; response calls on a dead connection return AG_ECLOSED and still
 * complete the request. */
#ifndef AG_HTTP_SERVER_H
#define AG_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "http/router.h"

struct ag_http_server;
struct ag_http_conn;
struct ag_http_req;
struct ag_router;

struct ag_http_header {
    struct ag_str name;
    struct ag_str value;
};

typedef void (*ag_http_abort_cb)(struct ag_http_req *req, void *ud);
typedef void (*ag_http_drain_cb)(struct ag_http_req *req, void *ud);

/** One request, from its first byte to its response's last. Fields are read-only for handlers. */
struct ag_http_req {
    struct ag_arena arena; /* per-request memory; released when the request ends */
    struct ag_str method;  /* "GET", "POST", ... */
    struct ag_str target;  /* raw request target */
    struct ag_str path;    /* target without the query */
    struct ag_str query;   /* after '?', without it; empty when absent */
    struct ag_http_header *headers;
    size_t nheaders;
    struct ag_buf body;                       /* complete (de-chunked) body */
    struct ag_str params[AG_HTTP_MAX_PARAMS]; /* router path parameters, in pattern order */
    size_t nparams;
    const struct ag_route *route; /* matched route (NULL for 404) */
    char id[24];                  /* request id, also sent as x-request-id */
    char client_ip[48];           /* peer address (no port) */
    uint64_t start_us;            /* monotonic time the first byte arrived */
    bool http10;                  /* HTTP/1.0 request */
    bool authed; /* the route required a key (or an admin secret or session) and it was shown */

    /* Set by the handler. */
    ag_http_abort_cb on_abort;
    ag_http_drain_cb on_drain;
    void *cb_ud;

    /* Private. */
    struct ag_http_conn *_conn;
    int _status;
    uint64_t _bytes_out;
    unsigned _state;  /* enum req_state in server_internal.h */
    size_t _reserved; /* body bytes reserved against the server's in-flight budget */
    bool _no_cors;    /* a refused preflight: no CORS headers */
    uint8_t _hold;    /* ag_http_req_hold: 1 held, 2 held and its response complete */
    bool _stream_chunked;
    struct ag_buf _extra_headers; /* headers added with ag_http_add_header, "Name: value\r\n"... */
    struct ag_ws *_ws;            /* a WebSocket message's request: the socket (http/ws.h) */
};

/** Looks up a request header (case-insensitive); returns AG_STR_NULL-like empty slice with p NULL
 * if absent. */
struct ag_str ag_http_req_header(const struct ag_http_req *req, const char *name);

/** Looks up a query parameter's raw (not percent-decoded) value; p NULL if absent. */
struct ag_str ag_http_req_query(const struct ag_http_req *req, const char *name);

/** Adds a response header for the response not yet begun ("x-aigate-model" etc.). Copies both. */
int ag_http_add_header(struct ag_http_req *req, const char *name, struct ag_str value);

/**
 * Sends a complete response with a Content-Length body (body copied) and completes the request.
 * content_type may be NULL (no Content-Type). Returns 0, or AG_ECLOSED if the client is gone
 * (the request is completed either way).
 */
int ag_http_respond(struct ag_http_req *req, int status, const char *content_type, const void *body,
                    size_t len);

/** ag_http_respond with "application/json". */
int ag_http_respond_json(struct ag_http_req *req, int status, const char *json, size_t len);

/**
 * Starts a streamed response (chunked for HTTP/1.1, close-delimited for HTTP/1.0) with the given
 * content type. Headers added with ag_http_add_header are sent too.
 */
int ag_http_stream_begin(struct ag_http_req *req, int status, const char *content_type);

/**
 * Sends bytes of a streamed response (copied). Returns 0 or AG_ECLOSED. Never blocks; check
 * ag_http_stream_pending() for backpressure and set req->on_drain to learn when the client has
 * caught up (called once pending falls under the low-water mark after having passed the high one).
 */
int ag_http_stream_write(struct ag_http_req *req, const void *data, size_t len);

/** Bytes accepted for this connection but not yet written to the socket. */
size_t ag_http_stream_pending(const struct ag_http_req *req);

/** True once pending output is above the high-water mark: stop producing until on_drain. */
bool ag_http_stream_congested(const struct ag_http_req *req);

/** Ends a streamed response and completes the request. */
int ag_http_stream_end(struct ag_http_req *req);

/**
 * Drops the client's connection now, mid-response if need be (e.g. to end a stream that cannot be
 * finished cleanly). The request then ends as if the client had gone away: on_abort runs later, at
 * a safe point of the loop, and the handler must not use req after that.
 */
void ag_http_req_abort(struct ag_http_req *req);

/**
 * Holds req past its response: the call that completes the response (ag_http_respond,
 * ag_http_stream_end) still writes it, but req stays alive, and the connection waits, until
 * ag_http_req_release. For work about the request (records, logs) done after the answer left;
 * hold and release within one callback.
 */
void ag_http_req_hold(struct ag_http_req *req);

/** Ends a hold: completes req now if its response was completed while held (req is gone). */
void ag_http_req_release(struct ag_http_req *req);

/** True if the client connection is gone (responses will be dropped). */
bool ag_http_req_closed(const struct ag_http_req *req);

/** Status of the response begun or sent (0 if none yet). */
static inline int ag_http_req_status(const struct ag_http_req *req)
{
    return req->_status;
}

/** Limits and timeouts; zero fields take the defaults in server.c. */
struct ag_http_limits {
    size_t max_body_bytes;      /* 413 beyond this (default 100 MiB) */
    size_t max_header_bytes;    /* 431 beyond this, request line included (default 64 KiB) */
    size_t max_headers;         /* 431 beyond this many headers (default 100) */
    uint64_t header_timeout_ms; /* from a request's first byte to its headers' end (default 30 s) */
    uint64_t idle_timeout_ms;   /* keep-alive idle: no request at all (default 120 s) */
    size_t stream_high_water;   /* congested above this many pending bytes (default 256 KiB) */
    size_t max_connections;     /* connections beyond this are closed at accept (default 8192) */
    size_t max_body_inflight;   /* request-body bytes held at once, all connections (256 MiB) */
    size_t min_body_rate;       /* bytes/s a body must average after header_timeout (4096) */
};

/** Called once per request after the response completed (access log, metrics). */
typedef void (*ag_http_log_cb)(const struct ag_http_req *req, int status, uint64_t bytes_out,
                               uint64_t duration_us, void *ud);

struct ag_auth_policy;
struct ag_cors;

/**
 * Called after routing and auth when the headers are complete, before the body is read; returns
 * true to go on, or answers the request itself and returns false (e.g. 503 while the proxy is
 * stopped). The body is not available here.
 */
typedef bool (*ag_http_gate_cb)(struct ag_http_req *req, void *ud);

/** What the admin callback says of the credential a request shows. */
enum ag_http_admin_verdict {
    AG_HTTP_ADMIN_NO = 0, /* not one of its credentials: a wrong guess counts as a failure */
    AG_HTTP_ADMIN_OK,     /* a live credential (a login session) */
    AG_HTTP_ADMIN_STALE,  /* one of its credentials, no longer valid (a logged-out UI polling):
                           * refused, but not counted as a guess */
};

/**
 * Admin routes accept, besides the admin secret of the auth policy, what this callback accepts
 * (login session tokens). Called when a request's headers are complete; must not answer.
 */
typedef enum ag_http_admin_verdict (*ag_http_admin_cb)(const struct ag_http_req *req, void *ud);

/** Creates a server on loop routing through router (borrowed; must outlive the server). */
struct ag_http_server *ag_http_server_new(uv_loop_t *loop, struct ag_router *router,
                                          const struct ag_http_limits *limits);

/** Sets the completed-request callback. */
void ag_http_server_set_log_cb(struct ag_http_server *s, ag_http_log_cb cb, void *ud);

/** Sets the auth policy checked before every handler (borrowed; may be swapped at any time). */
void ag_http_server_set_auth(struct ag_http_server *s, const struct ag_auth_policy *policy);

/** Sets the CORS rules (borrowed; may be swapped at any time). NULL sends no CORS headers. */
void ag_http_server_set_cors(struct ag_http_server *s, const struct ag_cors *cors);

/** Sets the Host rule (borrowed; may be swapped at any time). NULL serves every Host. */
struct ag_host_policy;
void ag_http_server_set_hosts(struct ag_http_server *s, const struct ag_host_policy *hosts);

/** Sets the extra admin credential check (see ag_http_admin_cb). */
void ag_http_server_set_admin_check(struct ag_http_server *s, ag_http_admin_cb cb, void *ud);

/** Sets the failed admin authentications allowed per client address per minute (default 5). */
void ag_http_server_set_auth_failures(struct ag_http_server *s, int64_t per_minute);

/**
 * The failed-authentication limit, for handlers that check a secret themselves (the login
 * route): ag_http_req_auth_allowed() is false while req's client address is locked out, with
 * *retry_after_s the seconds left; ag_http_req_auth_failed() counts one failure,
 * ag_http_req_auth_succeeded() clears the count.
 */
bool ag_http_req_auth_allowed(const struct ag_http_req *req, int64_t *retry_after_s);
void ag_http_req_auth_failed(const struct ag_http_req *req);
void ag_http_req_auth_succeeded(const struct ag_http_req *req);

struct ag_ip_rules;
struct ag_ip_refusals;

/**
 * Sets the client address rules (http/iprules.h) checked at accept, before anything is read: a
 * refused connection is reset at once and counted in log. Both borrowed; may be swapped at any
 * time; NULL rules admit everyone, NULL log counts nowhere.
 */
void ag_http_server_set_ip_rules(struct ag_http_server *s, const struct ag_ip_rules *rules,
                                 struct ag_ip_refusals *log);

/** Sets the gate run before each handler (when the headers are complete, before the body). */
void ag_http_server_set_gate(struct ag_http_server *s, ag_http_gate_cb gate, void *ud);

/**
 * Starts listening on host:port ("127.0.0.1", "0.0.0.0", "::"...). port 0 picks a free port;
 * ag_http_server_port() tells which. May be called more than once for several addresses.
 * Returns 0 or a negative libuv error (e.g. UV_EADDRINUSE).
 */
int ag_http_server_listen(struct ag_http_server *s, const char *host, int port);

/** The port of the first listener. */
int ag_http_server_port(const struct ag_http_server *s);

/**
 * Graceful stop: closes the listeners, closes idle connections, lets requests in flight finish
 * for up to grace_ms, then closes everything. done(ud) is called once all connections are closed.
 */
void ag_http_server_shutdown(struct ag_http_server *s, uint64_t grace_ms, void (*done)(void *ud),
                             void *ud);

/** Number of open connections and of requests in flight (for tests and metrics). */
size_t ag_http_server_connections(const struct ag_http_server *s);
size_t ag_http_server_active_requests(const struct ag_http_server *s);

/**
 * Request-body bytes copied out of the connections' read buffers since the server started. A
 * Content-Length body is read straight into its own buffer once its headers are admitted, so
 * only the part that arrived together with the headers counts here; chunked bodies count whole.
 * For tests and diagnostics.
 */
uint64_t ag_http_server_body_copied(const struct ag_http_server *s);

/** Frees a server after shutdown's done callback ran (NULL is a no-op). */
void ag_http_server_free(struct ag_http_server *s);

#endif
