/* proto/gemini_scan.h: the fast reader of the common Gemini response events (text, thoughts and
 * their signatures, finish reasons, usage, ids), one pass over the event's text without a yyjson
 * document. Anything it does not fully understand is left to the yyjson reader (gemini_dec.c),
 * which stays the reference: what the fast reader decodes, it decodes into the same events. */
#ifndef AG_PROTO_GEMINI_SCAN_H
#define AG_PROTO_GEMINI_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"
#include "proto/canon.h"
#include "proto/gemini_dec.h"

/**
 * Decodes text, one JSON response object (envelope: or the Cloud Code envelope around one, read as
 * decode_payload in cloudcode.c unwraps it: the first "response" member when it is an object, else
 * the object itself), as ag_gemini_dec_response would after yyjson read it with the nesting limit
 * max_depth, and returns true with *rc set to what that returned. Returns false, having sent
 * nothing and changed nothing in st, when the text is not one it fully understands: not JSON,
 * nested deeper than max_depth, or not of the common shapes (an error, prompt feedback, function
 * calls, inline data, code parts, escaped keys, numbers it does not read exactly, more candidates
 * or parts than it keeps); the caller then reads it with yyjson. Nothing is allocated for the
 * common event; strings with escapes are unescaped into memory the thread keeps. The events
 * borrow text and that memory for the duration of each cb call.
 */
bool ag_gemini_scan_decode(struct ag_gemini_dec *st, struct ag_str text, size_t max_depth,
                           bool envelope, ag_event_cb cb, void *ud, int *rc);

#endif
