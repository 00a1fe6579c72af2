/* relay/relay.h: one AI request's whole life — decode the client's request, map the model, take
 * an account from the pool, encode and send the upstream call, convert the (streamed) answer back
 * into the client's protocol, and on a failure before anything reached the client, report it to
 * the pool and retry on another account within the attempt budget.
 *
 * Threading: the loop thread only. */
#ifndef AG_RELAY_RELAY_H
#define AG_RELAY_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct ag_config;
struct ag_mapping;
struct ag_pool;
struct ag_router;
struct ag_store;
struct ag_writer;
struct ag_upstream_client;
struct ag_relay_record;

struct ag_relay;

/** What the relay works with; all borrowed and outliving the relay (cfg is referenced). */
struct ag_relay_deps {
    uv_loop_t *loop;
    struct ag_config *cfg;
    struct ag_upstream_client *client;
    struct ag_pool *pool;
    struct ag_mapping *mapping;
    /* Called once per finished AI request (monitor, statistics, metrics); may be NULL. */
    void (*on_record)(const struct ag_relay_record *rec, void *ud);
    void *record_ud;
    /* Keeps the thinking store's turns in the database (store/thinking.h); may be NULL. */
    struct ag_writer *writer;
    /* User keys and their limits (keys/keys.h); may be NULL. */
    struct ag_keys *keys;
};

/** Creates the relay. */
struct ag_relay *ag_relay_new(const struct ag_relay_deps *deps);

/**
 * Registers the AI routes on router: OpenAI (chat and legacy completions, Responses over HTTP and
 * WebSocket with stored responses, image generations and edits, models), Anthropic (Messages,
 * count_tokens) and Gemini (generateContent and streaming, countTokens, models). 0 or a negative
 * AG_E*.
 */
int ag_relay_add_routes(struct ag_relay *r, struct ag_router *router);

/**
 * Puts a new configuration snapshot in force (referenced; the old one is released). Requests in
 * flight keep the snapshot they started with; new requests use cfg (upstream endpoints and
 * timeouts, scheduling.max_attempts, server.stream_keepalive_s).
 */
void ag_relay_set_config(struct ag_relay *r, struct ag_config *cfg);

/**
 * Forgets the Claude thinking the relay keeps for clients that drop it from their history
 * (relay/thinking_store.h), in memory and (through the writer) in the database; returns how
 * many turns were kept in memory.
 */
size_t ag_relay_thinking_clear(struct ag_relay *r);

/**
 * Loads the unexpired turns of the store's thinking table into the relay's thinking store, oldest
 * first, with their original times. Reads the database synchronously: for start-up, before the
 * event loop runs. Returns how many rows were read, or a negative AG_E*.
 */
int64_t ag_relay_thinking_load(struct ag_relay *r, struct ag_store *store);

/** Requests in flight. */
size_t ag_relay_active(const struct ag_relay *r);

/** Frees the relay (requests must be finished: the server's shutdown guarantees it). */
void ag_relay_free(struct ag_relay *r);

#endif
