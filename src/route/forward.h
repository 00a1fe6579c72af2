/* route/forward.h: model forwarding rules announced by the upstream itself
 * (`fetchAvailableModels.deprecatedModelIds`: old id → `newModelId`).
 *
 * The pool builds one `struct ag_forward` (ag_pool_forward: the built-in rules, then the retired
 * ids the accounts' stored models replace) and builds it anew once an account's stored models were
 * read again (a quota refresh or a reload); the relay applies it to a routed result with
 * ag_mapping_forward() while it chooses the models, within one loop callback, so a set is never
 * used after the pool replaced it. No I/O here. */
#ifndef AG_ROUTE_FORWARD_H
#define AG_ROUTE_FORWARD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

struct ag_forward;

/** Creates an empty rule set; aborts on OOM like every ag_malloc. */
struct ag_forward *ag_forward_new(void);

/** Frees the set and its strings; NULL is a no-op. */
void ag_forward_free(struct ag_forward *f);

/**
 * Adds (or replaces) the rule from → to; both are copied. Returns 0, AG_EINVAL for an empty id or
 * from == to, AG_ETOOBIG for ids of AG_MODEL_ID_MAX bytes or more.
 */
int ag_forward_add(struct ag_forward *f, struct ag_str from, struct ag_str to);

/**
 * Adds every rule of a `deprecatedModelIds` JSON object ({"old":{"newModelId":"new"},…}); a
 * plain string value ({"old":"new"}) is accepted too. Entries without a usable target are
 * skipped. Returns 0, or AG_EPARSE when json is not a JSON object (nothing is added then).
 */
int ag_forward_add_json(struct ag_forward *f, const char *json, size_t len);

/**
 * Adds the built-in rules: upstream ids known to be retired and what replaced them
 * ("claude-sonnet-4-5" → "claude-sonnet-4-6", "gemini-3.1-pro-high" → "gemini-pro-agent", ...).
 * The accounts' own deprecatedModelIds, added after, win over these.
 */
void ag_forward_add_builtin(struct ag_forward *f);

/** Number of rules. */
size_t ag_forward_count(const struct ag_forward *f);

/**
 * Looks up an exact (case-sensitive) id; on a hit stores a slice owned by f in *to and returns
 * true. A NULL set never matches.
 */
bool ag_forward_lookup(const struct ag_forward *f, struct ag_str from, struct ag_str *to);

#endif
