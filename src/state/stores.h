/* state/stores.h: what the shared state keeps besides the pool's cooldowns and bindings —
 * records read back on demand (the Responses store, the thinking store), a lock per account for
 * its OAuth refresh with the refreshed token beside it, and notices of other kinds (a changed
 * setting, a deleted account) on the change channel (state.h).
 *
 * Keys (prefix is state.key_prefix; components escaped as in keyspace.h), each with an expiry:
 *   <prefix>rs:<id>              a kept Responses answer ("<owner hex or ->\n<json>")
 *   <prefix>th:<conv>:<tool id>  kept Claude thinking ({"t":text,"s":signature,"ms":stored})
 *   <prefix>tk:<email>           an account's refreshed access token ({"at","exp","rt"})
 *   <prefix>rl:<email>           the refresh lock: the id of the instance refreshing
 *   <prefix>ix:<kind>            the index of a bounded kind (a sorted set: key -> time stored)
 * A bounded kind keeps at most its max entries: the oldest go when a put passes the bound, and
 * every entry expires after its TTL. These keys are not loaded at a (re)connect (only read when
 * asked for), so keeping many costs an instance nothing.
 *
 * Notices: {"k":"n.<kind>","i":instance,"b":{body}} on the change channel; an instance's own
 * come back to it and are ignored.
 *
 * Nothing here blocks: every read answers later through its callback, and gives up after its
 * timeout. With Redis down, reads answer "absent" at once (NULL handle), writes are dropped.
 * Loop thread only. */
#ifndef AG_STATE_STORES_H
#define AG_STATE_STORES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yyjson.h>

struct ag_state;
struct ag_state_op;

/** Longest key name built here (longer ids are not shared: they stay local). */
#define AG_STATE_STORE_KEY_MAX 1024

/**
 * A read's answer: data (len bytes, valid during the call) is the value, or NULL when the key is
 * absent, Redis failed or the timeout passed first. Runs once per read unless canceled.
 */
typedef void (*ag_state_get_cb)(void *ud, const char *data, size_t len);

/**
 * Reads <prefix><kind>:<esc a>[:<esc b>] (b may be NULL). cb runs later, never inside this call,
 * at the latest after timeout_ms. Returns a handle for ag_state_op_cancel, or NULL (cb will not
 * run) when Redis is down or the name does not fit: the caller goes on as on a miss.
 */
struct ag_state_op *ag_state_get(struct ag_state *st, const char *kind, const char *a,
                                 const char *b, uint64_t timeout_ms, ag_state_get_cb cb, void *ud);

/** The callback of a read or claim will not run any more; the handle is freed later. NULL: no-op.
 */
void ag_state_op_cancel(struct ag_state_op *op);

/**
 * Stores len bytes of data under <prefix><kind>:<esc a>[:<esc b>] for ttl_ms, and trims kind to
 * its max newest entries (its index expires with its newest entry). Dropped (false) when Redis is
 * down or the name does not fit. The command leaves for Redis within the call (as far as the
 * socket takes it), so a reader that hears of the entry afterwards finds it.
 */
bool ag_state_put(struct ag_state *st, const char *kind, const char *a, const char *b,
                  const char *data, size_t len, int64_t ttl_ms, size_t max);

/** What a claim found. */
enum ag_state_claim {
    AG_STATE_CLAIM_FAILED = 0, /* Redis failed or the timeout passed: decide locally */
    AG_STATE_CLAIM_VALUE,      /* the value key holds a value (data) */
    AG_STATE_CLAIM_LOCKED,     /* no value; this instance holds the lock now */
    AG_STATE_CLAIM_BUSY,       /* no value; another instance holds the lock */
};

/** A claim's answer; data (len bytes) only with AG_STATE_CLAIM_VALUE, valid during the call. */
typedef void (*ag_state_claim_cb)(void *ud, enum ag_state_claim c, const char *data, size_t len);

/**
 * One atomic step of "one instance does it, the others wait for its result": when
 * <prefix><value_kind>:<esc id> holds a value not containing ignore (NULL or "" = any), answers
 * it; else takes <prefix><lock_kind>:<esc id> for lock_ms when free (SET NX PX) and answers
 * LOCKED, or BUSY when another instance holds it. Timing and cancel as ag_state_get; NULL when
 * Redis is down.
 */
struct ag_state_op *ag_state_claim(struct ag_state *st, const char *lock_kind,
                                   const char *value_kind, const char *id, const char *ignore,
                                   int64_t lock_ms, uint64_t timeout_ms, ag_state_claim_cb cb,
                                   void *ud);

/** Frees <prefix><lock_kind>:<esc id> when this instance holds it. Dropped when Redis is down. */
void ag_state_unlock(struct ag_state *st, const char *lock_kind, const char *id);

/** A notice of another instance: body is its "b" object, borrowed for the call. */
typedef void (*ag_state_notice_cb)(void *ud, const char *instance, yyjson_val *body);

/** Most notice kinds listened to at once. */
#define AG_STATE_LISTENERS_MAX 8

/**
 * Calls cb for every notice of kind (at most 16 bytes) another instance sends; a second listen
 * to the same kind replaces the first, cb NULL removes it. Returns 0 or AG_ETOOBIG.
 */
int ag_state_listen(struct ag_state *st, const char *kind, ag_state_notice_cb cb, void *ud);

/**
 * Sends a notice of kind with body_json (a JSON object) to every other instance. Dropped (false)
 * while Redis is down: notices are not queued.
 */
bool ag_state_notify(struct ag_state *st, const char *kind, const char *body_json);

/* ---- for state.c ---- */

/** state.c's hook for every message on the channel: true when it was a notice (handled here). */
bool ag_state_stores_dispatch(struct ag_state *st, const char *data, size_t len);

/** True when key (len bytes) is one of this file's (skipped when state.c loads the keys). */
bool ag_state_stores_key(const struct ag_state *st, const char *key, size_t len);

/** Frees the listeners (ag_state_close). */
void ag_state_stores_free(struct ag_state *st);

#endif
