/* proto/gemini_dec.h: a Gemini GenerateContentResponse (one streamed chunk or a whole answer)
 * -> canonical events. Shared by the upstream adapters that receive Gemini-shaped answers (Cloud
 * Code unwraps its envelope first). The state lives in the request arena. */
#ifndef AG_PROTO_GEMINI_DEC_H
#define AG_PROTO_GEMINI_DEC_H

#include <yyjson.h>

#include "core/arena.h"
#include "proto/canon.h"

struct ag_gemini_dec {
    struct ag_arena *arena;
    struct ag_str seed;   /* request id: seeds tool-call ids the upstream did not give */
    struct ag_str family; /* of the upstream model: stamped on signatures */
    bool started;
    bool failed;
    uint64_t tool_seq;
    int n_tools[AG_MAX_CHOICES];
    bool used[AG_MAX_CHOICES];
    bool finished[AG_MAX_CHOICES];
};

/** Prepares the state; seed and model are borrowed for the decoder's life. */
void ag_gemini_dec_init(struct ag_gemini_dec *st, struct ag_arena *arena, struct ag_str seed,
                        struct ag_str model);

/**
 * Emits the events of one response object (already unwrapped from any envelope). An {"error":…}
 * object becomes an AG_EV_ERROR. Returns 0 or what cb returned.
 */
int ag_gemini_dec_response(struct ag_gemini_dec *st, yyjson_val *resp, ag_event_cb cb, void *ud);

/**
 * Emits an AG_EV_ERROR for an upstream error object {"code","message","status"}; also used for
 * HTTP error bodies.
 */
int ag_gemini_dec_error(struct ag_gemini_dec *st, yyjson_val *err, ag_event_cb cb, void *ud);

/** End of the answer: FINISH for choices that got none; an ERROR when nothing came at all. */
int ag_gemini_dec_end(struct ag_gemini_dec *st, ag_event_cb cb, void *ud);

#endif
