/* proto/schema_cache.h: the tool schemas already converted, per thread. A client sends the same
 * tools on every turn of a conversation (Claude Code about twenty, each with its JSON Schema);
 * converting a schema (parse, $ref and allOf expansion, the whitelist) costs about ten thousand
 * instructions, and its result depends on the schema text alone. The cache maps a schema's text
 * to the converted schema's JSON text, which an encoder puts into its document as a raw value.
 *
 * A set-associative table (SCHEMA_CACHE_SETS sets of SCHEMA_CACHE_WAYS entries, the least
 * recently used replaced), entries of at most SCHEMA_CACHE_ENTRY_MAX bytes, SCHEMA_CACHE_BYTES in
 * all per thread; a thread's entries are freed when it exits. */
#ifndef AG_PROTO_SCHEMA_CACHE_H
#define AG_PROTO_SCHEMA_CACHE_H

#include "core/str.h"

/** The converted text cached for the schema text key, or AG_STR_NULL. Valid until the next put
 * on this thread. */
struct ag_str ag_schema_cache_get(struct ag_str key);

/** Caches value (converted JSON text) for key on this thread when both fit the budget. */
void ag_schema_cache_put(struct ag_str key, struct ag_str value);

/** Frees this thread's entries. */
void ag_schema_cache_clear(void);

#endif
