/* pool/provider_health.h: the pool's view of its API-key accounts (store/provider.h) for what is
 * not a request: the models they serve (for the model lists), and their health checks.
 *
 * Model lists: each enabled API-key account's stored models (what the admin named with --models,
 * or what the endpoint's own list said when it was added or refreshed) are routable models of its
 * kind, and so is every concrete routing.rules pattern.
 *
 * Health checks are off unless providers.health_check_interval_s is set. Then every enabled API-key
 * account is asked for its model list (the tiniest request each kind answers without spending
 * tokens: GET <base>/models for openai and openai-compatible, GET <base>/v1/models for anthropic,
 * GET <base>/v1beta/models for gemini) once per interval, with its own key, proxy and a bounded
 * time. A check that fails (no answer, or a status other than 2xx and 429) marks the account
 * unhealthy: it gets an account-wide cooldown that lasts until the next check, so requests go to
 * other accounts. The first check that succeeds brings it back at once. The key never reaches a
 * log line or a message: messages name the URL (which never carries the key) and the status.
 *
 * Threading: the loop thread, like the rest of the pool. */
#ifndef AG_POOL_PROVIDER_HEALTH_H
#define AG_POOL_PROVIDER_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/routing.h"
#include "route/model_list.h"
#include "store/accounts.h"
#include "store/provider.h"

struct ag_pool;

/** Longest time one health check may take, whatever the interval. */
#define AG_POOL_HEALTH_TIMEOUT_MS 10000

/** An account's health as the last check saw it. */
enum ag_pool_health {
    AG_POOL_HEALTH_UNCHECKED = 0, /* checks off, or not checked yet */
    AG_POOL_HEALTH_OK,
    AG_POOL_HEALTH_DOWN,
};

/** "unchecked" / "healthy" / "unhealthy"; never NULL. */
const char *ag_pool_health_name(enum ag_pool_health h);

/** What the checks know of one account. */
struct ag_pool_health_state {
    enum ag_pool_health health;
    int64_t checked_ms; /* unix ms of the last finished check; 0 = none */
    int64_t since_ms;   /* unix ms the current health began */
    int status;         /* HTTP status of the last check; 0 = no answer */
    unsigned failures;  /* consecutive failed checks */
    char error[256];    /* why the last check failed; "" after a success */
};

/**
 * Fills *out for the account id and returns true when it is an API-key account the pool holds
 * (unchecked when health checks are off or have not run yet); false otherwise (out zeroed).
 */
bool ag_pool_provider_health(struct ag_pool *p, const char *id, struct ag_pool_health_state *out);

/** One API-key account as listings see it; every pointer is borrowed for the callback only. */
struct ag_pool_provider_view {
    const char *id;
    const char *email; /* the account's name in lists */
    const char *label; /* NULL when none */
    enum ag_provider kind;
    const char *models; /* comma-separated ids it serves; NULL = any of the provider's */
    bool disabled;
    enum ag_pool_health health;
};

/** Calls cb for every API-key account of the pool, in pool order. */
void ag_pool_foreach_provider(struct ag_pool *p,
                              void (*cb)(void *ud, const struct ag_pool_provider_view *v),
                              void *ud);

/**
 * Adds to l the models of p's enabled API-key accounts, each owned by its kind, then the concrete
 * patterns of rules (ag_model_list_add_rules; a target naming an account label takes that
 * account's kind). p and rules may be NULL.
 */
void ag_pool_add_models(struct ag_pool *p, struct ag_model_list *l,
                        const struct ag_config_routing_rules *rules);

#endif
