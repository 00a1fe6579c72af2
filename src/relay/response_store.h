/* relay/response_store.h: responses kept for the OpenAI Responses API (GET /v1/responses/{id},
 * previous_response_id). In memory, bounded by entry count and bytes, each entry expiring after a
 * time to live; the least recently stored entry goes first when a bound is reached. Loop thread
 * only. */
#ifndef AG_RELAY_RESPONSE_STORE_H
#define AG_RELAY_RESPONSE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct ag_response_store;

/** Creates a store; zero arguments take defaults (1,000 entries, 64 MiB, one hour). */
struct ag_response_store *ag_response_store_new(size_t max_entries, size_t max_bytes,
                                                int64_t ttl_ms);

/** Frees the store and everything in it (NULL is a no-op). */
void ag_response_store_free(struct ag_response_store *s);

/** Keeps a copy of json under id (replacing an older one); 0 or AG_ETOOBIG (larger than the
 * byte bound on its own). now_ms is the wall clock. */
int ag_response_store_put(struct ag_response_store *s, struct ag_str id, struct ag_str json,
                          int64_t now_ms);

/** The JSON kept under id (borrowed until the next put or delete), or p NULL when unknown or
 * expired. */
struct ag_str ag_response_store_get(struct ag_response_store *s, struct ag_str id, int64_t now_ms);

/** Forgets id; true if it was there (and not expired). */
bool ag_response_store_delete(struct ag_response_store *s, struct ag_str id, int64_t now_ms);

/** Entries and bytes held (tests, metrics). */
size_t ag_response_store_count(const struct ag_response_store *s);
size_t ag_response_store_bytes(const struct ag_response_store *s);

#endif
