/* relay/thinking_store.h: recent Claude thinking kept by the gateway, for clients that drop it.
 *
 * Claude continues a tool loop with thinking on only when the assistant turn that made the calls
 * comes back opening with its signed thinking block, text unchanged. Chat apps and Gemini CLI drop
 * reasoning text (and OpenAI apps that rewrite tool ids drop the signature too), so the relay keeps
 * the thinking text and signature of each Claude turn that ended in tool calls, keyed by the
 * conversation (its session key and the caller) and the turn's first tool-call id, and puts them
 * back into a later request whose history has the call but not the thinking.
 *
 * Bounded: at most AG_THINKING_STORE_MAX entries and AG_THINKING_STORE_BYTES bytes of text and
 * signatures (the least recently stored go first), each kept AG_THINKING_STORE_TTL_MS after it
 * was stored. This is the in-memory copy the relay reads; the relay also hands each kept turn to
 * the writer thread, which keeps it in the store's thinking table (store/thinking.h, bounded by
 * the same bounds and TTL), and the gateway loads the unexpired rows back here at
 * start with their original times, so a restart does not lose them. Loop thread only; the caller
 * passes the time. */
#ifndef AG_RELAY_THINKING_STORE_H
#define AG_RELAY_THINKING_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "proto/canon.h"

#define AG_THINKING_STORE_MAX      4096
#define AG_THINKING_STORE_BYTES    (32u << 20)
#define AG_THINKING_STORE_TTL_MS   (6 * 3600 * 1000LL)
#define AG_THINKING_STORE_TEXT_MAX (256u << 10) /* a longer turn's thinking is not kept */

struct ag_thinking_store;

/** A new, empty store. Never NULL (allocation failure aborts). */
struct ag_thinking_store *ag_thinking_store_new(void);

/** Frees the store; NULL is a no-op. */
void ag_thinking_store_free(struct ag_thinking_store *s);

/**
 * Keeps text and signature (both copied) for the turn whose first tool call is tool_id in the
 * conversation named by conv, replacing an earlier entry of the same key. Entries beyond the
 * bounds go, oldest first. Empty conv, tool_id or sig: nothing is kept.
 */
void ag_thinking_store_put(struct ag_thinking_store *s, struct ag_str conv, struct ag_str tool_id,
                           struct ag_str text, struct ag_str sig, int64_t now_ms);

/**
 * Looks up a turn; true and *text, *sig borrowed from the store (valid until the next put or
 * clear) when found and not expired at now_ms.
 */
bool ag_thinking_store_get(struct ag_thinking_store *s, struct ag_str conv, struct ag_str tool_id,
                           int64_t now_ms, struct ag_str *text, struct ag_str *sig);

/** Drops every entry; returns how many there were. */
size_t ag_thinking_store_clear(struct ag_thinking_store *s);

/** Entries kept (expired ones included until they are pushed out). */
size_t ag_thinking_store_count(const struct ag_thinking_store *s);

/**
 * Puts kept thinking back into req: each assistant message with tool calls but no thinking text
 * gets, when the store has its first call, a signed Claude thinking part (text and signature
 * copied into arena) in front. Returns how many messages were restored (0 on arena cap).
 */
size_t ag_thinking_store_restore(struct ag_thinking_store *s, struct ag_str conv,
                                 struct ag_arena *arena, struct ag_request *req, int64_t now_ms);

/**
 * What one answer's events say about its thinking, gathered while it streams: the Claude
 * thinking text and signature of the turn and its first tool call. Embedded in the caller's
 * state; ag_thinking_capture_dispose frees its buffer.
 */
struct ag_thinking_capture {
    struct ag_buf text;
    char sig[8192];
    size_t sig_len;
    char tool_id[256];
    bool too_big;
};

void ag_thinking_capture_init(struct ag_thinking_capture *c);
void ag_thinking_capture_dispose(struct ag_thinking_capture *c);

/** Forgets what was captured (a new attempt of the same request starts). */
void ag_thinking_capture_reset(struct ag_thinking_capture *c);

/** Notes one event of choice 0 (thinking text, a Claude signature, the first tool call). */
void ag_thinking_capture_event(struct ag_thinking_capture *c, const struct ag_event *ev);

/**
 * Keeps what was captured (a signed Claude turn that ended in a tool call) under conv; true when
 * something was kept (then the capture's text, sig and tool_id are what was kept).
 */
bool ag_thinking_capture_commit(struct ag_thinking_capture *c, struct ag_thinking_store *s,
                                struct ag_str conv, int64_t now_ms);

#endif
