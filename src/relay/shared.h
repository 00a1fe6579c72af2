/* relay/shared.h: the relay's stores shared with other instances through Redis
 * (state/stores.h). What this instance keeps in its Responses store and its thinking store it
 * also puts in Redis (bounded, with the local TTLs); a request that needs a kept response or kept
 * thinking this instance lacks waits for Redis at most AG_RELAY_SHARED_WAIT_MS, then goes on
 * as a local miss would. Without Redis (or while it is down) nothing waits. Loop thread only. */
#ifndef AG_RELAY_SHARED_H
#define AG_RELAY_SHARED_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

struct ag_http_req;
struct ag_relay;
struct ag_state;
struct call;

/** Longest wait for Redis before a request goes on without what it asked for. */
#define AG_RELAY_SHARED_WAIT_MS 200
/** Kept responses in Redis at most, and the largest one shared (larger ones stay local). */
#define AG_RELAY_SHARED_RESPONSES_MAX  2000
#define AG_RELAY_SHARED_RESPONSE_BYTES (8u << 20)
/** How long a response is kept in Redis (the local store's default TTL). */
#define AG_RELAY_SHARED_RESPONSE_TTL_MS (3600 * 1000LL)
/** Thinking lookups started per request at most (the latest turns first). */
#define AG_RELAY_SHARED_THINKING_READS 8

/** Shares the relay's stores through st (borrowed; NULL stops sharing). */
void ag_relay_set_state(struct ag_relay *r, struct ag_state *st);

/**
 * Before the request is prepared: reads from Redis what it refers to and this instance lacks (a
 * previous_response_id, the thinking of its earlier tool-call turns), into the local stores.
 * Returns false when nothing is to be read (the caller goes on at once), true when reads run:
 * resume(c) runs later, once, when they answered or the wait ran out, unless
 * ag_relay_shared_cancel(c) comes first.
 */
bool ag_relay_shared_fetch(struct call *c, void (*resume)(struct call *c));

/** Stops c's reads (the client went away); resume will not run. No reads: no-op. */
void ag_relay_shared_cancel(struct call *c);

/** Puts a kept response (id "resp_…", owner AG_SHA256_SIZE bytes or NULL, json) in Redis. */
void ag_relay_shared_response_put(struct ag_relay *r, const char *id, const unsigned char *owner,
                                  struct ag_str json);

/**
 * GET or DELETE /v1/responses/{id} that this instance lacks: reads id from Redis into the local
 * store (waiting at most AG_RELAY_SHARED_WAIT_MS) and then calls resume(req, r) once, which looks
 * again. Sets req's on_abort (cleared before resume). False when nothing is to be read (no Redis,
 * or an id that cannot be one): the caller answers at once.
 */
bool ag_relay_shared_lookup(struct ag_relay *r, struct ag_http_req *req, struct ag_str id,
                            void (*resume)(struct ag_http_req *req, struct ag_relay *r));

/**
 * A kept response deleted here: Redis then holds a mark instead (what the others read is no
 * response), and the others drop the copy they fetched for the same owner (NULL = unbound).
 */
void ag_relay_shared_response_delete(struct ag_relay *r, const char *id,
                                     const unsigned char *owner);

/** Puts a kept thinking turn in Redis (as ag_thinking_store_put). */
void ag_relay_shared_thinking_put(struct ag_relay *r, struct ag_str conv, struct ag_str tool_id,
                                  struct ag_str text, struct ag_str sig, int64_t now_ms);

#endif
