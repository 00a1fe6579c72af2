/* route/rules.h: planning with routing.rules (config/routing.h). For a requested model: the rule
 * that decides (the first whose pattern matches), the order its targets are tried in (strategy,
 * and targets whose context length the request's estimated size exceeds moved out: the request
 * goes to the next target that fits instead of failing upstream), and whether a failure moves the
 * request on (its class in the rule's fallback_on). Pure functions: the relay supplies the load
 * and the random seed, so plans are testable. */
#ifndef AG_ROUTE_RULES_H
#define AG_ROUTE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/routing.h"
#include "core/failure.h"
#include "core/str.h"

/** The first rule of rules whose pattern matches model ('*' matches any run); NULL if none. */
const struct ag_route_rule *ag_route_rule_match(const struct ag_config_routing_rules *rules,
                                                struct ag_str model);

/**
 * Writes to order (cap entries) the indexes of rule's targets in the order to try them, and
 * returns how many. est_tokens is the request's estimated size (0 = unknown): targets with a
 * known context length below it are left out, unless no target fits (then all are kept, and the
 * upstream decides). busy[i] is target i's requests in flight (least-busy; may be NULL otherwise).
 * seed picks the weighted order (the same seed gives the same order).
 */
size_t ag_route_plan(const struct ag_route_rule *rule, int64_t est_tokens, const uint32_t *busy,
                     uint64_t seed, size_t *order, size_t cap);

/**
 * The fallback class of a failure (enum ag_route_fallback bit; 0 = none): 429 for rate limits,
 * 5xx for server errors (overloaded included), timeout for timeouts and transport failures, and
 * context-length for a 400/413 whose body says the prompt is too long (ag_route_context_exceeded).
 */
unsigned ag_route_fallback_class(enum ag_errclass_kind kind, int status, struct ag_str body);

/** True when rule's fallback_on lets a failure of that class move to the next target. */
bool ag_route_falls_back(const struct ag_route_rule *rule, unsigned fallback_class);

/**
 * True when an upstream error body says the request exceeds the model's context: OpenAI's
 * "context_length_exceeded" / "maximum context length", Anthropic's "prompt is too long", Gemini's
 * "exceeds the maximum number of tokens", and the same wording of compatible servers.
 */
bool ag_route_context_exceeded(struct ag_str body);

/** A rough token estimate of a request body: one token per 4 bytes. */
int64_t ag_route_estimate_tokens(size_t body_bytes);

#endif
