/* proto/toolid.h: tool-call ids that carry a thought signature through clients that cannot.
 *
 * Gemini requires the signature of a function call to come back with it in the next turn, but
 * OpenAI-style clients echo only the call's id. So the id handed to such a client is
 *   <base id> "__thsig__" <family> "__" <signature as base64url without padding>
 * which uses only [A-Za-z0-9_-] (safe for Anthropic-style id rules too) and is unpacked when the
 * client sends the call and its result back. A signature that is not canonical base64 (so could
 * not be restored byte-exact from the compact form) travels as
 *   <base id> "__thsigr__" <family> "__" <its raw bytes as base64url without padding>
 * so no signature is ever lost on the way through a client. */
#ifndef AG_PROTO_TOOLID_H
#define AG_PROTO_TOOLID_H

#include "core/arena.h"
#include "core/str.h"
#include "proto/canon.h"

/**
 * Returns the client-facing id for base id + signature in arena (just base when sig is empty or
 * not packable); AG_STR_NULL on arena cap.
 */
struct ag_str ag_toolid_pack(struct ag_arena *arena, struct ag_str base,
                             const struct ag_signature *sig);

/**
 * Splits a client-supplied id into its base and signature (decoded into arena). An id without a
 * packed signature gives base = id and an empty signature. Returns 0 or AG_ETOOBIG.
 */
int ag_toolid_unpack(struct ag_arena *arena, struct ag_str id, struct ag_str *base,
                     struct ag_signature *sig);

/** Writes a deterministic id "call_" + 24 hex digits derived from seed and n into arena. */
struct ag_str ag_toolid_make(struct ag_arena *arena, struct ag_str seed, uint64_t n);

#endif
