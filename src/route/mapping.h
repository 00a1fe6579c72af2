/* route/mapping.h: client model name → upstream model, provider and model facts.
 *
 * A `struct ag_mapping` is built once from configuration (`mapping.custom`,
 * `mapping.background_model`) and is immutable afterwards: any thread may resolve through it at
 * the same time. A configuration change builds a new mapping and swaps the pointer.
 *
 * Resolution order for a client model name (after a trailing "-online" is removed and remembered
 * as a web-search request):
 *   1. custom exact rule (`mapping.custom` key without '*'; case-sensitive);
 *   2. custom wildcard rule: '*' matches any run of characters (also empty), several '*' allowed,
 *      case-sensitive. The most specific pattern wins = the one with the most literal (non-'*')
 *      characters; between equally specific patterns the one written first in the config wins
 *      (Antigravity Manager left that to hash-map order);
 *   3. the built-in table;
 *   4. the family rule: ids that look like real upstream ids of a known family pass through
 *      lower-cased (gemini-*, imagen-*, undated claude-<tier>-<version>, gpt-oss-*); Anthropic
 *      API snapshot names (dated, "-latest", "claude-3-…" order) go to the current upstream model
 *      of their tier; other gpt-* names go to gemini-2.5-flash like the table's GPT entries;
 *   5. anything else is an unknown model: AG_ENOTFOUND.
 * The target of a custom rule is used as written (it is not looked up again). Then:
 *   - image ids lose their size/ratio suffixes ("-4k", "-16x9" …), which are
 *     reported in the result;
 *   - a Gemini id that only exists through the family rule and ends in "-thinking" loses the
 *     suffix (Gemini thinking is a request setting, not a model id) and sets `thinking`;
 *   - the upstream's deprecation forwarding rules (route/forward.h) rewrite the upstream id,
 *     following chains up to 4 steps. They apply to the result rather than to the client's name
 *     (Antigravity Manager checks them first): a user's explicit custom rule still wins, and
 * built-in entries that point at a retired id follow the upstream automatically.
 *
 * Unknown models: the caller answers HTTP 404 in the client's own error format — OpenAI
 * `{"error":{"type":"invalid_request_error","code":"model_not_found",…}}`, Anthropic
 * `not_found_error`, Gemini `NOT_FOUND` — which is what the three vendors answer themselves. */
#ifndef AG_ROUTE_MAPPING_H
#define AG_ROUTE_MAPPING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/str.h"
#include "route/forward.h"
#include "route/models.h"

/** The only upstream provider today; `ag_route_result.provider` names it. */
#define AG_ROUTE_PROVIDER_CLOUDCODE "cloudcode"

/** Default of `mapping.background_model`. */
#define AG_MAPPING_BACKGROUND_DEFAULT "gemini-2.5-flash"

/** Which rule produced a route (for logs, the admin UI and tests). */
enum ag_route_source {
    AG_ROUTE_CUSTOM_EXACT = 1,
    AG_ROUTE_CUSTOM_WILDCARD,
    AG_ROUTE_BUILTIN,
    AG_ROUTE_FAMILY,      /* a family rule chose another upstream model */
    AG_ROUTE_PASSTHROUGH, /* the client's name is used as the upstream id */
};

/** Everything the relay, the pool and the adapters need to know about one routed model. */
struct ag_route_result {
    char model[AG_MODEL_ID_MAX];             /* upstream model id */
    const char *provider;                    /* static; AG_ROUTE_PROVIDER_CLOUDCODE */
    enum ag_model_family family;             /* of the upstream model */
    char quota_group[AG_MODEL_ID_MAX];       /* ag_models_quota_group() of the upstream id */
    struct ag_model_spec spec;               /* limits and thinking facts of the upstream id */
    bool thinking;                           /* the name asks for thinking ("-thinking" suffix) */
    char no_thinking_model[AG_MODEL_ID_MAX]; /* id for a retry without thinking  */
    bool image;                              /* image-generation model */
    char image_size[4];                      /* "1K", "2K", "4K" from a suffix, or "" */
    char aspect_ratio[6];                    /* "16:9" … from a suffix, or "" */
    bool web_search;                         /* the client's name ended in "-online" */
    bool forwarded;                          /* a deprecation forwarding rule rewrote the id */
    enum ag_route_source source;
    size_t rule_index; /* custom rules: index in config order; otherwise 0 */
};

struct ag_mapping;

/** How a mapping is built; all strings are borrowed for the duration of ag_mapping_new(). */
struct ag_mapping_config {
    const char *custom_json; /* `mapping.custom` as JSON text (an object model→model), or NULL */
    size_t custom_len;
    /* The same rules as a config snapshot holds them (`&cfg->mapping.custom`), used when
     * custom_json is NULL; rule order = map order. May be NULL. */
    const struct ag_config_strmap *custom;
    const char *background_model; /* `mapping.background_model`; NULL = default, "" = off */
};

/**
 * Builds a mapping. Returns NULL when the custom rules are invalid (not a JSON object, a value
 * that is not a non-empty string, an empty key, an id of AG_MODEL_ID_MAX bytes or more, a target
 * containing '*') and writes the reason into err (errcap bytes, may be NULL/0) for the config
 * validator to show. The caller owns the result (ag_mapping_free).
 */
struct ag_mapping *ag_mapping_new(const struct ag_mapping_config *cfg, char *err, size_t errcap);

/** Frees a mapping; NULL is a no-op. */
void ag_mapping_free(struct ag_mapping *m);

/**
 * Exchanges the contents of a and b, so that holders of a pointer to a see b's rules from now
 * on (hot reload of mapping.* without touching who borrows the mapping). Loop thread only.
 */
void ag_mapping_swap(struct ag_mapping *a, struct ag_mapping *b);

/**
 * Routes client_model (see the order above). fwd may be NULL. Fills *out and returns 0;
 * AG_ENOTFOUND for an unknown model (out->model then holds the lower-cased name for the error
 * message), AG_EINVAL for an empty name or one of AG_MODEL_ID_MAX bytes or more.
 * out owns no memory; it stays valid after m and fwd are gone.
 */
int ag_mapping_resolve(const struct ag_mapping *m, const struct ag_forward *fwd,
                       struct ag_str client_model, struct ag_route_result *out);

/**
 * Applies the forwarding rules fwd (NULL = none) to an already routed result, as
 * ag_mapping_resolve() does with its fwd: the id is rewritten (chains up to 4 steps), `forwarded`
 * set and the model facts (family, quota group, spec, ...) refilled. Returns true when the id
 * changed.
 */
bool ag_mapping_forward(const struct ag_forward *fwd, struct ag_route_result *r);

/** What ag_mapping_background() looks at: a small description of an Anthropic request. */
struct ag_background_req {
    struct ag_str system_text; /* system prompt text (blocks joined), may be empty */
    struct ag_str user_text;   /* the last real user message's text (see background.h) */
    int64_t max_tokens;        /* the client's max_tokens, or -1 when absent */
    bool has_tools;            /* the request declares tools */
};

/**
 * Background-task downgrade. When ag_background_detect() classifies req as a background task and
 * the mapping has a background model, resolves that model (through the same rules and fwd) into
 * *out and returns 1; the caller then drops thinking from the request. Returns 0 (out untouched)
 * when the request is not a background task or the feature is off (`mapping.background_model` =
 * ""), or a negative AG_E* from resolving the background model.
 */
int ag_mapping_background(const struct ag_mapping *m, const struct ag_forward *fwd,
                          const struct ag_background_req *req, struct ag_route_result *out);

/** The configured background model ("" when off). Owned by m. */
const char *ag_mapping_background_model(const struct ag_mapping *m);

/** Called once per name by ag_mapping_foreach_name(). */
typedef void (*ag_mapping_name_cb)(void *ctx, struct ag_str name);

/**
 * Calls cb for every client name the mapping answers by name: the exact custom keys (config
 * order) and then the built-in table's keys. Wildcard keys and internal names are skipped. The
 * slices are owned by m (or static) and valid while m lives.
 */
void ag_mapping_foreach_name(const struct ag_mapping *m, ag_mapping_name_cb cb, void *ctx);

/**
 * Matches a '*' pattern against s (case-sensitive; '*' matches any run, also empty). Exposed for
 * the config validator and tests.
 */
bool ag_mapping_wildcard_match(struct ag_str pattern, struct ag_str s);

#endif
