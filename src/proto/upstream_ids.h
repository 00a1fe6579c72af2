/* proto/upstream_ids.h: what the provider adapters (OpenAI, Anthropic) need beyond the canonical
 * form: tool-call ids, and tool schemas whose type names are lower-case.
 *
 * Tool-call ids for providers that require them. Gemini-native clients send
 * function calls and responses without ids (they pair them by name and order), but OpenAI's
 * tool_call_id and Anthropic's tool_use_id must match a call. This gives every tool call and tool
 * result of a canonical request an id: its own when it has one; a call without one gets a
 * deterministic "call_..." id, and a result without one takes the id of the latest earlier call of
 * the same function that no result answered yet (the first such call of the latest turn that has
 * one, so results pair with calls in order, as Gemini pairs them). */
#ifndef AG_PROTO_UPSTREAM_IDS_H
#define AG_PROTO_UPSTREAM_IDS_H

#include <yyjson.h>

#include "core/arena.h"
#include "proto/canon.h"

/**
 * Returns an array in arena with one slot per part of req's messages, in order (message 0's parts,
 * then message 1's, ...): the id to send for each TOOL_CALL and TOOL_RESULT part, AG_STR_NULL for
 * other parts. NULL on arena cap (or when req has no parts at all). req is borrowed.
 */
struct ag_str *ag_upstream_tool_ids(struct ag_arena *arena, const struct ag_request *req);

/**
 * Parses a tool's JSON Schema text into d with every "type" name in lower case (Gemini clients
 * write "OBJECT", "STRING", which OpenAI and Anthropic refuse); the rest is kept as written.
 * Returns NULL when text is empty or not a JSON object. Scratch memory comes from arena.
 */
yyjson_mut_val *ag_upstream_schema(yyjson_mut_doc *d, struct ag_arena *arena, struct ag_str text);

#endif
