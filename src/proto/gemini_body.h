/* proto/gemini_body.h: the Gemini GenerateContentRequest body built from a canonical request
 * (contents, systemInstruction, tools, toolConfig, generationConfig with thinkingConfig,
 * safetySettings), plus the Gemini names of finish reasons and usage counters. Shared by every
 * adapter that speaks Gemini's shapes: the Cloud Code upstream (which wraps the body in its
 * envelope), the Gemini client adapter (which renders answers) and, later, the public Gemini API
 * upstream. */
#ifndef AG_PROTO_GEMINI_BODY_H
#define AG_PROTO_GEMINI_BODY_H

#include <yyjson.h>

#include "core/arena.h"
#include "proto/canon.h"

/** The sentinel Gemini accepts on a function call that has no signature of its own. */
#define AG_GEMINI_SKIP_SIGNATURE "skip_thought_signature_validator"

struct ag_gemini_body_opts {
    struct ag_str model;      /* target model: decides which signatures may be sent */
    bool cloudcode;           /* Cloud Code dialect: VALIDATED default mode, tool_config twin,
                                 includeServerSideToolInvocations, safety OFF by default */
    struct ag_str session_id; /* emitted as "sessionId" when non-empty */
};

/**
 * Builds the request body object in d. Returns it, or NULL with *err set to AG_EINVAL (with a
 * reason in *why: e.g. a tool schema that is not JSON) or AG_ETOOBIG.
 */
yyjson_mut_val *ag_gemini_body_build(yyjson_mut_doc *d, struct ag_arena *arena,
                                     const struct ag_request *req,
                                     const struct ag_gemini_body_opts *o, int *err,
                                     const char **why);

/** Builds only {"contents":[...]} (countTokens). */
yyjson_mut_val *ag_gemini_contents_build(yyjson_mut_doc *d, struct ag_arena *arena,
                                         const struct ag_request *req,
                                         const struct ag_gemini_body_opts *o);

/** Canonical finish reason of a Gemini finishReason string (unknown ones map to STOP). */
enum ag_finish ag_gemini_finish_parse(struct ag_str reason);

/** The Gemini finishReason for a canonical one (raw wins when non-empty). */
struct ag_str ag_gemini_finish_str(enum ag_finish f, struct ag_str raw);

/** Reads a usageMetadata object (both the camelCase and the newer snake_case keys). */
void ag_gemini_usage_parse(yyjson_val *um, struct ag_usage *u);

/** Builds a usageMetadata object. */
yyjson_mut_val *ag_gemini_usage_build(yyjson_mut_doc *d, const struct ag_usage *u);

/** Thinking budget a canonical request asks for, or -1 for "off / not asked". */
int64_t ag_gemini_thinking_budget(const struct ag_request *req, struct ag_str model);

#endif
