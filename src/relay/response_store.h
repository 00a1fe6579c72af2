/* relay/response_store.h: responses kept for the OpenAI Responses API (GET /v1/responses/{id},
 * previous_response_id). In memory, bounded by entry count and bytes, each entry expiring after a
 * time to live; the least recently stored entry goes first when a bound is reached. Loop thread
 * only.
 *
 * Owners. An entry may be bound to the caller that made it: owner is the SHA-256 of the
 * credential that request presented (AG_SHA256_SIZE bytes). A bound entry is found only by a
 * caller presenting the same owner; to anyone else (another key, or no key at all) it does not
 * exist, exactly as an unknown id. An entry stored without an owner is found by every caller. */
#ifndef AG_RELAY_RESPONSE_STORE_H
#define AG_RELAY_RESPONSE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hash.h"
#include "core/str.h"

struct ag_response_store;

/** Creates a store; zero arguments take defaults (1,000 entries, 64 MiB, one hour). */
struct ag_response_store *ag_response_store_new(size_t max_entries, size_t max_bytes,
                                                int64_t ttl_ms);

/** Frees the store and everything in it (NULL is a no-op). */
void ag_response_store_free(struct ag_response_store *s);

/** Keeps a copy of json under id (replacing an older one), bound to owner (AG_SHA256_SIZE bytes,
 * copied; NULL = unbound); 0 or AG_ETOOBIG (larger than the byte bound on its own). now_ms is the
 * wall clock. */
int ag_response_store_put(struct ag_response_store *s, struct ag_str id, const unsigned char *owner,
                          struct ag_str json, int64_t now_ms);

/** The JSON kept under id for this caller (owner as in _put, NULL = the caller presented no
 * credential), borrowed until the next put or delete; p NULL when unknown, expired or bound to
 * another owner. */
struct ag_str ag_response_store_get(struct ag_response_store *s, struct ag_str id,
                                    const unsigned char *owner, int64_t now_ms);

/** Forgets id when this caller may see it (as _get); true if it was there (and not expired). An
 * entry of another owner is left alone and reported as absent. */
bool ag_response_store_delete(struct ag_response_store *s, struct ag_str id,
                              const unsigned char *owner, int64_t now_ms);

/** Entries and bytes held (tests, metrics). */
size_t ag_response_store_count(const struct ag_response_store *s);
size_t ag_response_store_bytes(const struct ag_response_store *s);

#endif
