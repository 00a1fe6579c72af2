/* proto/responses.h: the OpenAI Responses API client adapter (POST /v1/responses), and what the
 * relay needs beyond the adapter table to keep responses: the request's side data
 * (previous_response_id, store, echo fields), continuing a stored conversation, the stored form,
 * and the bodies of GET / DELETE /v1/responses/{id}.
 *
 * Files: responses_in.c (request -> canonical, continuing), responses_out.c (response object,
 * stored form, adapter table), responses_stream.c (canonical events -> named SSE events).
 *
 * The stored form is one JSON text the relay keeps as it is (memory, SQLite, Redis):
 *   {"response": <the response object exactly as GET returns it, reasoning signatures included>,
 *    "input": [<every input item of the conversation up to this response, in Responses wire
 *              format: the previous responses' input and output items, then this request's>]}
 * so a later previous_response_id needs one lookup, not a walk along the chain. */
#ifndef AG_PROTO_RESPONSES_H
#define AG_PROTO_RESPONSES_H

#include "proto/adapter.h"
#include "proto/json.h"

/**
 * What a /v1/responses body says beyond the canonical request. Slices point into the request's
 * arena; JSON fields hold compact JSON text (empty = the client did not send it).
 */
struct ag_responses_meta {
    struct ag_str previous_response_id; /* continue this stored response (see _continue) */
    bool store;                         /* keep the response for GET / previous_response_id */
    bool include_encrypted;             /* include: "reasoning.encrypted_content" */
    bool web_search;                    /* a web_search tool was asked for; not forwarded */
    size_t dropped_tools;               /* other built-in tools (file_search, mcp, ...) dropped */
    bool pending_results;               /* function_call_output items whose call is in the
                                           previous response: names resolved by _continue */
    struct ag_str instructions;         /* also the first system part of the request */
    struct ag_str effort;               /* reasoning.effort as written */
    struct ag_str summary;              /* reasoning.summary as written */
    struct ag_str truncation;           /* as written */
    struct ag_str metadata;             /* JSON object */
    struct ag_str tools;                /* JSON array of the function tools (echoed back) */
    struct ag_str tool_choice;          /* JSON value */
    struct ag_str text_format;          /* JSON object of text.format */
    struct ag_str input;                /* JSON array of this request's input items (a string
                                           input becomes one user message item) */
    struct ag_str history;              /* JSON array of the items _continue prepended */
};

/**
 * The side data of a request decoded by ag_proto_openai_responses (and only by it: the request
 * must come from that adapter's decode_request). Borrowed; lives as long as the request.
 */
const struct ag_responses_meta *ag_responses_meta_of(const struct ag_request *req);

/**
 * Continues a conversation: turns a stored form (text from ag_responses_store*) into canonical
 * messages, puts them in front of req's messages, resolves the function names of
 * function_call_output items that answer calls of the stored response, and recomputes the
 * session key. Instructions are not inherited (as in OpenAI's API). req must come from this
 * adapter. Returns 0; AG_EINVAL with err filled (400) when stored is not a stored form or a
 * function_call_output still answers no known call; AG_ETOOBIG on arena cap. stored is copied.
 */
int ag_responses_continue(const struct ag_proto_ctx *ctx, struct ag_request *req,
                          struct ag_str stored, struct ag_proto_error *err);

/**
 * Fills err with OpenAI's answer for an unknown response id: 404 for GET / DELETE (param NULL),
 * 400 with param "previous_response_id" when previous is set.
 */
void ag_responses_not_found(struct ag_proto_error *err, struct ag_arena *arena, struct ag_str id,
                            bool previous);

/**
 * Appends the stored form of a finished non-stream answer to out (req from this adapter, the
 * answer it was collected for). 0, AG_ETOOBIG or AG_ENOMEM.
 */
int ag_responses_store(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                       const struct ag_answer *answer, struct ag_buf *out);

/**
 * Appends the stored form of a finished stream to out, after stream_finish (st from this
 * adapter's stream_new). A stream that failed is stored with status "failed". 0 or AG_ETOOBIG.
 */
int ag_responses_stream_store(struct ag_client_stream *st, struct ag_buf *out);

/**
 * Appends the body of GET /v1/responses/{id} for a stored form: the response object, with
 * encrypted reasoning content only when include_encrypted (include=reasoning.encrypted_content).
 * Returns 0, AG_EINVAL when stored is not a stored form, or AG_ETOOBIG.
 */
int ag_responses_stored_body(struct ag_arena *arena, struct ag_str stored, bool include_encrypted,
                             struct ag_buf *out);

/**
 * The output items of a stored form as canonical assistant messages (tool calls keep their
 * signatures, reasoning becomes signed thinking) in arena. Returns 0, AG_EINVAL when stored is
 * not a stored form, AG_ETOOBIG on arena cap.
 */
int ag_responses_stored_messages(struct ag_arena *arena, struct ag_str stored,
                                 struct ag_message **msgs, size_t *n_msgs);

/** Appends {"id":…,"object":"response","deleted":true} (the DELETE answer) to out. */
int ag_responses_deleted_body(struct ag_str id, struct ag_buf *out);

/* ---- shared by the responses*.c files ---- */

/** decode_request of the adapter (responses_in.c). */
int ag_responses_decode(const struct ag_proto_ctx *ctx, struct ag_str body,
                        const struct ag_client_hints *hints, struct ag_request **out,
                        struct ag_proto_error *err);

/** The stream side of the adapter (responses_stream.c). */
struct ag_client_stream *ag_responses_stream_new(const struct ag_proto_ctx *ctx,
                                                 const struct ag_request *req,
                                                 const struct ag_client_hints *hints);
int ag_responses_stream_event(struct ag_client_stream *st, const struct ag_event *ev,
                              struct ag_buf *out);
int ag_responses_stream_finish(struct ag_client_stream *st, struct ag_buf *out);

/** The request with its side data (one allocation; decode_request returns &r->req). */
struct ag_responses_request {
    struct ag_request req;
    struct ag_responses_meta meta;
    size_t _msg_cap, _sys_cap; /* capacities of req.messages / req.system while decoding */
};

/**
 * Decodes a list of input items (a JSON array) into canonical messages appended to req (system
 * and developer messages go to req->system). param names the array in error messages ("input").
 * allow_pending: a function_call_output whose call is unknown keeps an empty name instead of
 * failing (its call may be in the previous response).
 */
int ag_responses_items(const struct ag_proto_ctx *ctx, struct ag_responses_request *r,
                       yyjson_val *items, const char *param, bool allow_pending,
                       struct ag_proto_error *err);

/** One output item being built (stream) or rebuilt from collected parts (non-stream). */
enum ag_ritem_kind {
    AG_RITEM_MESSAGE = 0,
    AG_RITEM_REASONING,
    AG_RITEM_CALL,
};

struct ag_ritem {
    enum ag_ritem_kind kind;
    struct ag_str id;        /* msg_…, rs_…, fc_… */
    struct ag_str text;      /* message text, reasoning summary, or call arguments */
    size_t _cap;             /* capacity of text while appending */
    struct ag_str call_id;   /* CALL: client-facing id (signature packed in) */
    struct ag_str name;      /* CALL */
    struct ag_signature sig; /* REASONING: the thought signature (-> encrypted_content) */
    bool done;
    bool incomplete; /* the response failed while this item was open */
};

/** Output status of a finished response. */
struct ag_rstatus {
    enum ag_finish finish;
    bool failed;
    struct ag_proto_error error;
    bool has_usage;
    struct ag_usage usage;
};

/** Item id "<prefix>" + 24 hex digits derived from the request id and the output index. */
struct ag_str ag_responses_item_id(struct ag_arena *arena, struct ag_str seed, const char *prefix,
                                   size_t index);

/** Appends s to it->text in arena (doubling); 0 or AG_ETOOBIG. */
int ag_ritem_append(struct ag_arena *arena, struct ag_ritem *it, struct ag_str s);

/**
 * Builds the response object in d: status from st (NULL = "in_progress" with no usage), the
 * items (NULL/0 = empty output), echo fields from req's side data. encrypted: add reasoning
 * signatures as encrypted_content.
 */
yyjson_mut_val *ag_responses_object(yyjson_mut_doc *d, const struct ag_proto_ctx *ctx,
                                    const struct ag_request *req, const struct ag_ritem *items,
                                    size_t n_items, const struct ag_rstatus *st, bool encrypted);

/** One output item as JSON in d (status "in_progress" unless it->done). */
yyjson_mut_val *ag_responses_item_json(yyjson_mut_doc *d, struct ag_arena *arena,
                                       const struct ag_ritem *it, bool encrypted);

/** The error object's code for a failed response ("server_error", "rate_limit_exceeded"...). */
const char *ag_responses_error_code(const struct ag_proto_error *e);

/** Appends the stored form for a response object built by ag_responses_object. */
int ag_responses_store_object(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                              yyjson_mut_doc *d, yyjson_mut_val *response, struct ag_buf *out);

#endif
