/* store/thinking.h: the table behind the relay's thinking store (relay/thinking_store.h), so
 * recent Claude thinking survives a restart. Rows are written by the writer thread
 * (ag_writer_thinking_put / ag_writer_thinking_clear); the gateway reads them back once at start,
 * before its event loop runs. The table is bounded: every put also deletes the rows older than
 * the TTL and the oldest rows beyond the count bound. */
#ifndef AG_STORE_THINKING_H
#define AG_STORE_THINKING_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct ag_store;

/** One kept turn: the conversation, its first tool-call id, the thinking text and signature. */
struct ag_thinking_row {
    struct ag_str conv;
    struct ag_str tool_id;
    struct ag_str text;
    struct ag_str sig;
    int64_t stored_ms; /* unix milliseconds when it was kept */
};

/** Called per row by ag_store_thinking_load; the strings are valid during the call only. */
typedef void (*ag_thinking_row_fn)(const struct ag_thinking_row *row, void *ud);

/**
 * Reads the rows stored less than ttl_ms before now_ms, oldest first, on the store's own
 * connection (blocking: for start-up, before the event loop runs). Returns how many rows were
 * passed to fn, or a negative AG_E* (logged).
 */
int64_t ag_store_thinking_load(struct ag_store *s, int64_t now_ms, int64_t ttl_ms,
                               ag_thinking_row_fn fn, void *ud);

/** Rows in the table (expired ones included until a put or clear removes them); -1 on error. */
int64_t ag_store_thinking_count(struct ag_store *s);

#endif
