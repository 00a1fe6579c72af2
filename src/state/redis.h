/* state/redis.h: one connection to Redis through hiredis's asynchronous API on the libuv loop,
 * with the reconnects the shared state needs. Nothing here blocks the loop: the host name is
 * resolved on libuv's thread pool (uv_getaddrinfo) and hiredis is handed the address, so its own
 * blocking getaddrinfo never runs; connect, AUTH, SELECT and every command are non-blocking.
 *
 * The libuv glue is this file's own rather than hiredis's adapters/libuv.h: in hiredis 0.14 that
 * adapter ignores a poll error status, and libuv reports a refused or reset connection exactly
 * that way (UV_EBADF with the handle stopped), which would leave a connection attempt hanging
 * forever. Here such a status hands the socket to hiredis, which reads the error and fails the
 * connection.
 *
 * Life of a connection: RESOLVING -> CONNECTING -> HELLO (AUTH, SELECT) -> UP; any failure goes to
 * WAITING and the next attempt starts after a backoff (100 ms doubling to 5 s, reset once UP).
 * While UP, a command connection sends PING every second and drops itself when one stays
 * unanswered for 3 s (a stopped or unreachable server sends no reset). Loop thread only. */
#ifndef AG_STATE_REDIS_H
#define AG_STATE_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "state/keyspace.h"

struct redisReply;
struct ag_redis;

/** The connection went up (up true: AUTH and SELECT succeeded) or down (why: one line). */
typedef void (*ag_redis_state_cb)(struct ag_redis *r, bool up, const char *why, void *ud);

/**
 * A command's reply: reply NULL when the connection failed or closed before it came (the reply
 * is hiredis's, valid during the call only). For SUBSCRIBE it runs for every message until the
 * connection goes down (then once more with NULL).
 */
typedef void (*ag_redis_reply_cb)(struct ag_redis *r, struct redisReply *reply, void *ud);

/** Most commands waiting for their replies on one connection; more are refused (AG_ETOOBIG). */
#define AG_REDIS_MAX_PENDING 20000

/**
 * Creates a connection to url (copied) and starts connecting. name ("cmd", "sub") appears in
 * logs. heartbeat: PING every second (not for a subscribed connection, where hiredis 0.14 would
 * hand pub/sub messages to the PING's callback). on_state runs on every up/down change. Never
 * NULL.
 */
struct ag_redis *ag_redis_new(uv_loop_t *loop, const struct ag_state_url *url, const char *name,
                              bool heartbeat, ag_redis_state_cb on_state, void *ud);

/** True when the connection is UP. */
bool ag_redis_up(const struct ag_redis *r);

/**
 * Hands the commands queued so far to the socket now, as far as it takes them without waiting,
 * instead of at the loop's next turn: for a write that whoever is answered next may ask another
 * instance about. No callback runs here; a failed write is left for the loop to find.
 */
void ag_redis_flush(struct ag_redis *r);

/**
 * Sends a command (argv borrowed for the call; hiredis copies it). cb (may be NULL) gets the
 * reply later, never inside this call. Returns 0, AG_ECLOSED when the connection is not UP,
 * AG_ETOOBIG when AG_REDIS_MAX_PENDING replies are outstanding.
 */
int ag_redis_command(struct ag_redis *r, ag_redis_reply_cb cb, void *ud, int argc,
                     const char **argv, const size_t *argvlen);

/** Drops the connection now (as if it failed) and reconnects after the backoff. */
void ag_redis_reset(struct ag_redis *r, const char *why);

/**
 * Closes: pending commands get their callback with NULL, on_state is not called any more, and
 * done(ud) runs once every libuv handle is closed (the loop must run); then the object is freed.
 * Call once.
 */
void ag_redis_close(struct ag_redis *r, void (*done)(void *ud), void *ud);

#endif
