/* desktop/engine.h: the gateway inside the desktop app — the same gateway as `aigate serve`, on a
 * libuv loop of its own running on a thread of its own, so the GTK main loop and the gateway's loop
 * never wait on each other. */
#ifndef AG_DESKTOP_ENGINE_H
#define AG_DESKTOP_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "admin/session.h"
#include "core/buf.h"

struct ag_config;
struct ag_desk_engine;

/**
 * A pool event (enum ag_pool_event of pool/pool.h): account disabled, account needing validation,
 * every account limited. Runs on the gateway's thread with borrowed strings; the callee copies
 * what it keeps and hands it to its own thread.
 */
typedef void (*ag_desk_event_cb)(int ev, const char *subject, const char *message, void *ud);

/**
 * Builds the gateway from cfg (a reference is taken), starts listening, creates the window's login
 * session (valid session_ttl_ms, never stored) and runs the loop on a new thread. cb (may be NULL)
 * gets the pool's events. Returns NULL with a one-line reason in errmsg (port in use, ...).
 */
struct ag_desk_engine *ag_desk_engine_start(struct ag_config *cfg, int64_t session_ttl_ms,
                                            ag_desk_event_cb cb, void *ud, struct ag_buf *errmsg);

/** The port the gateway listens on. */
int ag_desk_engine_port(const struct ag_desk_engine *e);

/** The window's session token (borrowed, lives as long as e) and its expiry in *expires_ms. */
const char *ag_desk_engine_token(const struct ag_desk_engine *e, int64_t *expires_ms);

/**
 * Graceful stop (requests in flight finish within server.shutdown_grace_s), waits for the thread
 * to end and frees everything. NULL is a no-op. Not from the gateway's thread.
 */
void ag_desk_engine_stop(struct ag_desk_engine *e);

#endif
