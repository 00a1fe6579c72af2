/* cli/gateway.h: the running gateway — the composition root that owns the server, the router,
 * the configuration snapshot in force and everything the routes need, on one libuv loop. */
#ifndef AG_CLI_GATEWAY_H
#define AG_CLI_GATEWAY_H

#include <uv.h>

#include "config/config.h"
#include "core/buf.h"

struct ag_gateway;

/**
 * Builds a gateway on loop from cfg (a reference is taken) and starts listening: on 127.0.0.1 and
 * ::1, or on 0.0.0.0 and :: with server.allow_lan_access. Returns NULL with a one-line reason in
 * errmsg (port in use, ...).
 */
struct ag_gateway *ag_gateway_new(uv_loop_t *loop, struct ag_config *cfg, struct ag_buf *errmsg);

/**
 * Puts a new configuration snapshot in force (a reference is taken): auth, CORS, model mapping
 * and the pool's settings apply at once; the names of changed keys that need a restart (port,
 * LAN binding, monitor limits, timeouts, upstream settings the relay holds) are appended to
 * restart, one per line. Returns 0, or AG_EINVAL when the mapping does not build (nothing
 * changes then).
 */
int ag_gateway_apply_config(struct ag_gateway *g, struct ag_config *cfg, struct ag_buf *restart);

/** The port the gateway listens on. */
int ag_gateway_port(const struct ag_gateway *g);

/**
 * Graceful stop: no new connections, requests in flight finish up to server.shutdown_grace_s,
 * then everything closes; done(ud) runs when the gateway's handles are all closed.
 */
void ag_gateway_shutdown(struct ag_gateway *g, void (*done)(void *ud), void *ud);

/**
 * A login session for the admin UI of a window in this process (ag_admin_session_new): token gets
 * AG_SESSION_TOKEN_SIZE bytes, *expires_ms its expiry. Never stored; it ends with the process.
 * Loop thread, or before the loop runs. 0 or AG_EIO.
 */
int ag_gateway_admin_session(struct ag_gateway *g, int64_t ttl_ms, char *token,
                             int64_t *expires_ms);

/**
 * An observer of the pool's events besides the alerts (the desktop's notifications): cb(ev,
 * subject, message, ud) runs on the loop thread with borrowed strings, ev an enum ag_pool_event
 * (pool/pool.h). NULL removes it.
 */
void ag_gateway_set_event_cb(struct ag_gateway *g,
                             void (*cb)(int ev, const char *subject, const char *message, void *ud),
                             void *ud);

/** Frees a gateway after its shutdown completed (NULL is a no-op). */
void ag_gateway_free(struct ag_gateway *g);

#endif
