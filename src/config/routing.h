/* config/routing.h: the routing.rules configuration: which accounts serve which models, in what
 * order, and when a request moves on to the next target. A rule is a model pattern (exact, or with
 * '*' anywhere) and targets, each a provider kind ("anthropic", "openai-compatible", "google", ...)
 * or one account (by its label), with the upstream model name to ask for (default: the requested
 * one), a weight and a context length. Strategy "priority" tries targets in order, "weighted"
 * spreads requests by weight, "least-busy" prefers the target with the fewest requests in flight;
 * fallback_on names the failure classes ("429", "5xx", "timeout", "context-length") that move a
 * request to the next target before its first byte. route/rules.h plans with it. */
#ifndef AG_CONFIG_ROUTING_H
#define AG_CONFIG_ROUTING_H

#include <stddef.h>
#include <stdint.h>

#include "config/schema.h"

#define AG_ROUTING_MAX_RULES   64
#define AG_ROUTING_MAX_TARGETS 16

enum ag_route_strategy {
    AG_ROUTE_PRIORITY = 0,
    AG_ROUTE_WEIGHTED,
    AG_ROUTE_LEAST_BUSY,
};

/** Failure classes of fallback_on, as bits. */
enum ag_route_fallback {
    AG_FALLBACK_429 = 1u << 0,
    AG_FALLBACK_5XX = 1u << 1,
    AG_FALLBACK_TIMEOUT = 1u << 2,
    AG_FALLBACK_CONTEXT = 1u << 3, /* "context-length": the prompt is longer than the model takes */
    AG_FALLBACK_ALL = 0xf,
};

struct ag_route_target {
    char *provider;  /* a kind name (store/provider.h), or NULL when account is set */
    char *account;   /* an account's label, or NULL when provider is set */
    char *model;     /* upstream model; NULL = the requested model */
    int64_t weight;  /* 1..1000, for "weighted" */
    int64_t context; /* the model's context length in tokens; 0 = unknown */
};

struct ag_route_rule {
    char *pattern;
    enum ag_route_strategy strategy;
    unsigned fallback_on; /* enum ag_route_fallback bits */
    struct ag_route_target *targets;
    size_t n;
};

/** routing.rules: the first rule whose pattern matches a requested model decides. */
struct ag_config_routing_rules {
    size_t n;
    struct ag_route_rule *v;
};

/** The provider kind names a target may give (NULL-terminated); store/provider.h owns them. */
extern const char *const ag_routing_provider_names[];

/** The AG_CONFIG_JSON kind of routing.rules (parse, emit, dispose). */
extern const struct ag_config_json_ops ag_config_routing_ops;

#endif
