/* upstream/client.h: the upstream HTTP(S) client. Plain http:// requests without a proxy (a
 * local provider, a TLS-terminating sidecar, the bench's and the tests' upstreams) take a native
 * HTTP/1.1 path on the loop (h1.c: kept-alive connections per host, the body written from the
 * caller's buffer, one read buffer shared by every connection). Everything else goes through one
 * libcurl multi handle per process, driven by the gateway's libuv loop (a uv_poll per socket, one
 * uv_timer, curl_multi_socket_action), so upstream transfers never block the loop. Connections are
 * kept alive and HTTP/2 streams share a connection (PIPEWAIT).
 *
 * Threading: everything here runs on the loop thread; nothing is thread-safe except
 * ag_upstream_global_init.
 *
 * A request (struct ag_upstream_req) is started with ag_upstream_req_start() and reports through
 * its callbacks: on_head once when the final response head has arrived, on_data for body bytes, and
 * on_done exactly once at the end (success, HTTP done, transport error, timeout). The client owns
 * the request and frees it after on_done returns; the caller must drop its pointer there.
 * ag_upstream_req_cancel() ends a request early: the transfer is removed at once (the upstream sees
 * its connection closed) and no callback runs for it afterwards, not even on_done.
 *
 * "Inside a curl callback" below means inside on_head or on_data (they run within libcurl). From
 * there, cancel, pause and resume of any request are allowed: they are deferred to just after
 * libcurl returns. Starting requests is allowed anywhere. on_done runs outside libcurl. */
#ifndef AG_UPSTREAM_CLIENT_H
#define AG_UPSTREAM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "core/str.h"

struct ag_upstream_client;
struct ag_upstream_req;

/** Client-wide settings; zero fields take defaults. */
struct ag_upstream_client_opts {
    const char *ca_file;            /* extra CA bundle (tests); NULL = system store */
    long max_host_connections;      /* per host (0 = unlimited, curl's default) */
    long max_total_connections;     /* 0 = unlimited */
    long dns_cache_timeout_s;       /* default 300 */
    long recv_buffer_bytes;         /* curl's receive buffer per transfer (default 8 KiB); the
                                       native path's read size when below its 64 KiB */
    bool insecure_skip_verify_host; /* never in production: tests with self-signed certs only */
    bool curl_only;                 /* every request through libcurl, plain http:// too */
};

/**
 * Creates the client on loop. libcurl (and the TLS library under it) is initialised by the
 * client's first request, not here: a request that cannot initialise it fails to start. Returns
 * NULL only when memory runs out.
 */
struct ag_upstream_client *ag_upstream_client_new(uv_loop_t *loop,
                                                  const struct ag_upstream_client_opts *opts);

/**
 * Initialises libcurl for the process once (curl_global_init), from any thread; later calls
 * return the first one's result. A thread other than the loop's that uses libcurl on its own
 * calls it before its first curl call. 0, or AG_EIO when libcurl cannot be initialised.
 */
int ag_upstream_global_init(void);

/**
 * Closes the client: every request still running ends with on_done (err AG_ECANCELED, kind
 * AG_UPSTREAM_FAIL_CANCELED), the curl handles are released, and once all libuv handles are closed
 * done(ud) runs and the client memory is freed. Call it once; the loop must keep running until
 * done has been called.
 */
void ag_upstream_client_close(struct ag_upstream_client *c, void (*done)(void *ud), void *ud);

/** Number of requests started and not yet finished (tests, metrics). */
size_t ag_upstream_client_active(const struct ag_upstream_client *c);

/** Why a request failed below HTTP (the status, if any, is reported separately). */
enum ag_upstream_fail {
    AG_UPSTREAM_FAIL_NONE = 0,
    AG_UPSTREAM_FAIL_CONNECT_REFUSED,    /* TCP connection refused / host unreachable */
    AG_UPSTREAM_FAIL_DNS,                /* host name did not resolve */
    AG_UPSTREAM_FAIL_PROXY,              /* proxy unreachable, refused or failed the handshake */
    AG_UPSTREAM_FAIL_TLS,                /* TLS handshake or certificate failure */
    AG_UPSTREAM_FAIL_CONNECT_TIMEOUT,    /* no connection within timeouts.connect_ms */
    AG_UPSTREAM_FAIL_FIRST_BYTE_TIMEOUT, /* no response head within timeouts.first_byte_ms */
    AG_UPSTREAM_FAIL_IDLE_TIMEOUT,       /* no bytes for timeouts.idle_ms while receiving */
    AG_UPSTREAM_FAIL_TOTAL_TIMEOUT,      /* the whole request took longer than timeouts.total_ms */
    AG_UPSTREAM_FAIL_RESET,    /* connection reset/closed early, empty reply, truncated body */
    AG_UPSTREAM_FAIL_TOO_BIG,  /* a collected body or the response head outgrew its cap */
    AG_UPSTREAM_FAIL_CANCELED, /* the client was closed */
    AG_UPSTREAM_FAIL_CALLBACK, /* on_head/on_data returned an error */
    AG_UPSTREAM_FAIL_OTHER,
};

/** Short stable name of a failure kind ("connect_refused", "idle_timeout", ...). */
const char *ag_upstream_fail_name(enum ag_upstream_fail kind);

/** True for the four timeout kinds. */
bool ag_upstream_fail_is_timeout(enum ag_upstream_fail kind);

/** Per-request timeouts in milliseconds; 0 disables one. */
struct ag_upstream_timeouts {
    uint32_t connect_ms;    /* TCP (+ proxy + TLS) connection established */
    uint32_t first_byte_ms; /* from start to the first byte of the response head */
    uint32_t idle_ms;       /* longest silence between received chunks (not counted while paused) */
    uint32_t total_ms;      /* from start to the end of the body */
};

/** How a request ended; passed to on_done, valid during that call only. */
struct ag_upstream_result {
    int err;                    /* 0, or AG_ETIMEDOUT / AG_EIO / AG_ECANCELED / AG_ETOOBIG / ... */
    enum ag_upstream_fail fail; /* AG_UPSTREAM_FAIL_NONE when err == 0 */
    int status;                 /* final HTTP status, 0 if no response head was received */
    const char *message;        /* human-readable detail of a failure ("" on success) */
    struct ag_str body;         /* collected body when on_data was NULL (else empty) */
    uint64_t bytes_in;          /* body bytes received */
    uint64_t ttfb_us;           /* start to response head, 0 if none */
    uint64_t duration_us;       /* start to end */
};

/** Response head: status and headers, valid until on_done returns. */
typedef int (*ag_upstream_head_cb)(struct ag_upstream_req *r, int status, void *ud);

/**
 * Body bytes. Return 0 when consumed; AG_EAGAIN to pause without consuming them (the same bytes
 * come again after ag_upstream_req_resume()); any other negative value aborts the request, which
 * ends with fail AG_UPSTREAM_FAIL_CALLBACK and that error.
 */
typedef int (*ag_upstream_data_cb)(struct ag_upstream_req *r, const char *p, size_t n, void *ud);

/** The end; runs exactly once unless the request was canceled. The client frees r afterwards. */
typedef void (*ag_upstream_done_cb)(struct ag_upstream_req *r, const struct ag_upstream_result *res,
                                    void *ud);

/** Everything one request needs. The client copies what it keeps, except body (borrowed). */
struct ag_upstream_req_spec {
    const char *method;         /* "GET", "POST", ... (NULL: POST with a body, else GET) */
    const char *url;            /* absolute http:// or https:// URL */
    const char *const *headers; /* "Name: value" strings */
    size_t nheaders;
    const void *body; /* borrowed: must stay valid until on_done or cancel */
    size_t body_len;
    const char *proxy; /* http://, https://, socks5://, socks5h:// URL; NULL/"" = none */
    struct ag_upstream_timeouts timeouts;
    size_t max_body;             /* cap when collecting the body (on_data NULL); 0 = 16 MiB */
    ag_upstream_head_cb on_head; /* may be NULL */
    ag_upstream_data_cb on_data; /* NULL: the body is collected into result.body */
    ag_upstream_done_cb on_done; /* required */
    void *ud;
};

/**
 * Starts a request. Returns it, or NULL with *err set (AG_EINVAL: bad URL, method or proxy URL;
 * AG_ESTATE: the client is closing). No callback runs before this returns.
 */
struct ag_upstream_req *ag_upstream_req_start(struct ag_upstream_client *c,
                                              const struct ag_upstream_req_spec *spec, int *err);

/**
 * Cancels a request: the transfer is removed and its connection closed at once (or, inside a curl
 * callback, right after libcurl returns), and no callback runs for it again. Calling it from the
 * request's own on_done is a no-op.
 */
void ag_upstream_req_cancel(struct ag_upstream_req *r);

/** Stops delivering body bytes (backpressure); the idle timeout is suspended meanwhile. */
void ag_upstream_req_pause(struct ag_upstream_req *r);

/**
 * Delivers body bytes again. Outside curl callbacks libcurl may hand buffered bytes to on_data
 * before this returns.
 */
void ag_upstream_req_resume(struct ag_upstream_req *r);

/** True while paused. */
bool ag_upstream_req_paused(const struct ag_upstream_req *r);

/** A response header's value (case-insensitive name, the last one wins); p NULL if absent. */
struct ag_str ag_upstream_req_header(const struct ag_upstream_req *r, const char *name);

/** The i-th response header (0-based); false past the end. */
bool ag_upstream_req_header_at(const struct ag_upstream_req *r, size_t i, struct ag_str *name,
                               struct ag_str *value);

/** The URL this request was sent to (owned by the request). */
const char *ag_upstream_req_url(const struct ag_upstream_req *r);

/** The final HTTP status (0 before the head). */
int ag_upstream_req_status(const struct ag_upstream_req *r);

/**
 * Checks and normalises a proxy URL into out: a URL without a scheme gets "http://"; accepted
 * schemes are http, https, socks4, socks4a, socks5 and socks5h; a host is required, and a port, if
 * present, must be 1..65535. Returns 0, AG_EINVAL, or AG_ETOOBIG when out is too small.
 */
int ag_upstream_proxy_normalize(const char *in, char *out, size_t cap);

#endif
