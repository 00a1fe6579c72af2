/* pool/sticky.h: sticky-session bindings — which account served a conversation (the decoded
 * request's session key, proto/canon.h), so its next turn goes to the same account and the
 * upstream's prompt cache stays warm. A binding lives scheduling.sticky_ttl_s after its last use
 * (sliding); the table is bounded (the oldest binding goes when it is full). In memory only: a
 * restart forgets the bindings, which costs one cold cache per conversation, nothing more.
 *
 * Pure data structure: the caller passes the time, so tests inject a clock. Loop thread only. */
#ifndef AG_POOL_STICKY_H
#define AG_POOL_STICKY_H

#include <stddef.h>
#include <stdint.h>

struct ag_sticky;

/** A table holding at most cap bindings (0 = 65536). Never NULL (allocation failure aborts). */
struct ag_sticky *ag_sticky_new(size_t cap);

/** Frees the table. NULL is a no-op. */
void ag_sticky_free(struct ag_sticky *s);

/**
 * The account bound to key, or NULL when none or expired at now_ms. The pointer is the table's
 * and valid until the next call that changes the table.
 */
const char *ag_sticky_get(struct ag_sticky *s, const char *key, int64_t now_ms);

/**
 * Binds key to account_id (both copied) until now_ms + ttl_ms, replacing any binding; binding the
 * same account again just extends it. ttl_ms <= 0 removes the binding instead.
 */
void ag_sticky_bind(struct ag_sticky *s, const char *key, const char *account_id, int64_t now_ms,
                    int64_t ttl_ms);

/** Removes the binding of key, if any. */
void ag_sticky_unbind(struct ag_sticky *s, const char *key);

/** Removes every binding to account_id (account removed, disabled or forbidden). */
void ag_sticky_forget_account(struct ag_sticky *s, const char *account_id);

/** Bindings alive at now_ms (expired ones are dropped on the way). */
size_t ag_sticky_count(struct ag_sticky *s, int64_t now_ms);

/** Calls fn for every binding alive at now_ms (key, account id, expiry in unix ms); fn must not
 * change the table. */
void ag_sticky_foreach(struct ag_sticky *s, int64_t now_ms,
                       void (*fn)(void *ud, const char *key, const char *account_id,
                                  int64_t expires_ms),
                       void *ud);

/** Drops every binding; returns how many there were. */
size_t ag_sticky_clear(struct ag_sticky *s);

#endif
