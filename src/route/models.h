/* route/models.h: what aigate knows about upstream model ids without asking anyone — the model
 * family/version parser, the spec table (output limits, thinking budgets), thinking support and
 * the quota-group normalisation used by scheduling and quota protection.
 *
 * Decisions are made from a parsed id (family, tier, version, suffixes) rather than from lists of
 * literal names, so a new upstream version ("gemini-4-flash", "claude-sonnet-5") gets sensible
 * limits, thinking support and a quota group without a code change.
 * Literal entries exist only where Antigravity Manager gives exact numbers.
 * Everything here is pure and thread-safe. */
#ifndef AG_ROUTE_MODELS_H
#define AG_ROUTE_MODELS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

/** Longest model id aigate handles, including the terminating NUL. */
#define AG_MODEL_ID_MAX 128

/** Upstream model family. Image-generation models are their own family whatever their vendor. */
enum ag_model_family {
    AG_MODEL_FAMILY_UNKNOWN = 0,
    AG_MODEL_FAMILY_GEMINI,
    AG_MODEL_FAMILY_CLAUDE,
    AG_MODEL_FAMILY_GPT,
    AG_MODEL_FAMILY_IMAGE,
};

/** Product tier inside a family ("pro", "flash", "sonnet" ...). */
enum ag_model_tier {
    AG_MODEL_TIER_NONE = 0,
    AG_MODEL_TIER_PRO,
    AG_MODEL_TIER_FLASH,
    AG_MODEL_TIER_FLASH_LITE,
    AG_MODEL_TIER_OPUS,
    AG_MODEL_TIER_SONNET,
    AG_MODEL_TIER_HAIKU,
};

/**
 * A model id taken apart. Parsing is ASCII case-insensitive and splits at '-'. The version is the
 * first one or two small numbers ("3.1", "4-6", "2.5"); 8-digit dates are not versions.
 */
struct ag_model_info {
    enum ag_model_family family;
    enum ag_model_tier tier;
    int major;          /* -1 when the id carries no version ("gemini-pro-agent") */
    int minor;          /* 0 when only a major version is given */
    bool thinking;      /* ends with "-thinking" */
    bool image;         /* has an "image" token or starts with "imagen" */
    bool dated;         /* carries an 8-digit snapshot date or "-latest" (an API alias) */
    bool legacy_claude; /* "claude-3-5-sonnet-…" order (version before tier) */
};

/** Limits and thinking behaviour of one upstream model. */
struct ag_model_spec {
    uint32_t max_output_tokens;
    uint32_t input_token_limit;
    uint32_t thinking_budget_max;     /* cap applied to a client's budget; 0 = no thinking */
    uint32_t thinking_budget_default; /* budget used when thinking is on and the client gave none */
    bool supports_thinking;           /* thinking can be enabled on this model */
    bool thinking_by_default;         /* thinking is on when the client says nothing */
};

/** Parses id into out (always filled; unknown shapes give AG_MODEL_FAMILY_UNKNOWN). */
void ag_models_parse(struct ag_str id, struct ag_model_info *out);

/** Lower-case name of a family ("gemini", "claude", "gpt", "image", "unknown"). */
const char *ag_models_family_name(enum ag_model_family f);

/**
 * Fills spec for an upstream id. Order: the exact entry of the built-in spec table; else the
 * longest table entry that is a '-'-boundary prefix of id ("gemini-3-flash-preview" uses
 * "gemini-3-flash"); else the family/tier/version rule; else Antigravity Manager's defaults (65535
 * output tokens, 24576 thinking budget). Never fails.
 */
void ag_models_spec(struct ag_str id, struct ag_model_spec *spec);

/**
 * Writes the quota group of a model id into out (cap bytes, NUL-terminated), per accounts-ops
 * the same groups but on parsed tokens instead of raw substrings: image+flash →
 * "gemini-3.1-flash-image", image → "gemini-3-pro-image", flash (and flash-lite) →
 * "gemini-3-flash", pro → "gemini-3-pro-high", claude/opus/sonnet/haiku → "claude", otherwise the
 * id itself lower-cased. The group names are Antigravity Manager's, so
 * `quota_protection.monitored_models` keeps working. Returns true when a group rule matched, false
 * when the raw id was written.
 */
bool ag_models_quota_group(struct ag_str id, char *out, size_t cap);

/** Most ids ag_models_alternatives() writes. */
#define AG_MODELS_ALTERNATIVES_MAX 8

/**
 * Writes into out (up to cap ids) the other upstream ids that serve the same model family as id,
 * in the order to try them on an account that does not list id itself (Antigravity Manager's
 * per-account rewrite): the Gemini 3 pro family ("gemini-pro-agent", "gemini-3.1-pro-preview",
 * "gemini-3-pro-preview", the -high and then the -low ids), the pro image models
 * ("gemini-3.1-pro-image", "gemini-3-pro-image") and the flash image models
 * ("gemini-3.1-flash-image", "gemini-3-flash-image"). id itself is never written. Returns how
 * many; 0 for ids outside these families.
 */
size_t ag_models_alternatives(struct ag_str id, char (*out)[AG_MODEL_ID_MAX], size_t cap);

/**
 * The output and thinking limits to send a model with: the serving account's own
 * (fetchAvailableModels maxOutputTokens / thinkingBudget; 0 = not reported), else the spec table
 * (ag_models_spec). *max_out and *budget_max get 0 only where neither knows a limit.
 */
void ag_models_limits(struct ag_str id, uint32_t account_max_out, uint32_t account_budget,
                      uint32_t *max_out, uint32_t *budget_max);

/**
 * Writes the id to use when an Anthropic thinking-signature error forces a retry without
 * thinking: "claude-sonnet-4-6-thinking" → "claude-sonnet-4-6",
 * "claude-opus-4-6-thinking" → "claude-opus-4-6", any other "-thinking" id loses the suffix.
 * Returns true when out differs from id, false (out = id) when there is nothing to strip.
 */
bool ag_models_strip_thinking(struct ag_str id, char *out, size_t cap);

#endif
