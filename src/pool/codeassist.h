/* pool/codeassist.h: the account-level Cloud Code calls the pool and onboarding make —
 * loadCodeAssist (project id and subscription tier) and fetchAvailableModels (per-model quota) —
 * as request bodies, a call target built from the config, and pure parsers of the answers.
 * The parsers do no I/O and are unit-tested on their own. */
#ifndef AG_POOL_CODEASSIST_H
#define AG_POOL_CODEASSIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "store/accounts.h"
#include "upstream/cloudcode.h"

struct ag_config;

/** The loadCodeAssist request body (static text). */
extern const char ag_codeassist_load_body[];

/**
 * Fills t for an account call: the config's endpoints and user agent (borrowed from cfg, which
 * must outlive the call), proxy (borrowed; NULL or "" = direct) and timeouts from upstream.*
 * (connect as configured, 30 s in total).
 */
void ag_codeassist_target(const struct ag_config *cfg, const char *proxy,
                          struct ag_cloudcode_target *t);

/**
 * Reads a loadCodeAssist answer. *project gets a malloc'd id (NULL when the answer names none;
 * "cloudaicompanionProject" as a string or as {"id": ...}); *tier the tier from paidTier, else
 * currentTier (name, else id), else AG_TIER_UNKNOWN; tier_text (may be NULL) a malloc'd copy of
 * that text (NULL when none). Returns 0 or AG_EPARSE (not a JSON object).
 */
int ag_codeassist_parse_load(const char *body, size_t len, char **project, enum ag_tier *tier,
                             char **tier_text);

/** Appends the fetchAvailableModels body ({"project": id}, or {} when project is NULL/""). */
int ag_codeassist_models_body(const char *project, struct ag_buf *out);

/**
 * Converts a fetchAvailableModels answer into the stored quota JSON
 * ({"<model>": {"remaining": f, "reset_at": s}}, see store/account_json.h): models with a
 * quotaInfo whose id starts with gemini, claude, gpt, image or imagen; a missing
 * remainingFraction counts as 0 (upstream omits it when the quota is used up). Each model also
 * keeps the limits the API reports ("max_output_tokens" from maxOutputTokens, "thinking_budget"
 * from thinkingBudget) and "replaces": the retired ids deprecatedModelIds forwards to it. *out is
 * malloc'd,
 * *nmodels (may be NULL) the count. Returns 0, AG_EPARSE, or AG_ENOMEM.
 */
int ag_codeassist_parse_models(const char *body, size_t len, char **out, size_t *nmodels);

/** Groups and buckets kept from one retrieveUserQuotaSummary answer (the rest is dropped). */
#define AG_CODEASSIST_WINDOWS_MAX 32

/**
 * Converts a retrieveUserQuotaSummary answer ({groups: [{displayName, buckets: [{bucketId,
 * window, remainingFraction, resetTime, displayName}]}]}) into the stored quota windows:
 * [{"group": name, "buckets": [{"id", "window", "name", "remaining" (0..1, missing = 0),
 * "reset_at" (unix s, left out when unknown)}]}], at most AG_CODEASSIST_WINDOWS_MAX groups and
 * as many buckets in all. *out is malloc'd. 0, AG_EPARSE (no groups array) or AG_ENOMEM.
 */
int ag_codeassist_parse_summary(const char *body, size_t len, char **out);

/** Parses an RFC 3339 time ("2025-01-02T03:04:05.678Z", "+01:00" offsets) into unix seconds;
 * returns -1 when it is not one. */
int64_t ag_codeassist_parse_time(const char *s);

#endif
