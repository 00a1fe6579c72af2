/* proto/openai.h: pieces shared by the OpenAI client adapters (chat completions, legacy
 * completions, and the helpers the Responses adapter borrows): the request decoder lives in
 * openai_chat.c, the output side in openai_out.c. */
#ifndef AG_PROTO_OPENAI_H
#define AG_PROTO_OPENAI_H

#include "proto/adapter.h"
#include "proto/json.h"

/** Decodes a chat completions body (legacy = a /v1/completions body with "prompt"). */
int ag_openai_decode(const struct ag_proto_ctx *ctx, struct ag_str body, bool legacy,
                     struct ag_request **out, struct ag_proto_error *err);

/** Stream encoder state for chat (legacy = text_completion chunks). */
struct ag_client_stream *ag_openai_stream_new(const struct ag_proto_ctx *ctx,
                                              const struct ag_request *req, bool legacy);
int ag_openai_stream_event(struct ag_client_stream *st, const struct ag_event *ev,
                           struct ag_buf *out);
int ag_openai_stream_finish(struct ag_client_stream *st, struct ag_buf *out);

/** Renders a collected answer as chat.completion (or text_completion when legacy). */
int ag_openai_encode_response(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                              const struct ag_answer *a, bool legacy, struct ag_buf *out);

/** {"error":{"message","type","param","code"}}. */
int ag_openai_encode_error(const struct ag_proto_error *err, struct ag_buf *out);

/** OpenAI's finish_reason string for a canonical reason. */
const char *ag_openai_finish_str(enum ag_finish f);

/**
 * A media part from an image/file URL: a base64 data URL becomes inline data, an http(s) URL a
 * file URL (mime guessed from the extension); local paths are refused. 0, or AG_EINVAL with err
 * filled naming param. p's slices borrow url.
 */
int ag_openai_media_url(struct ag_arena *arena, struct ag_proto_error *err, struct ag_str url,
                        const char *param, struct ag_part *p);

/**
 * A tool call's "arguments" as JSON text into *out: a string as it is (borrowed), an object
 * serialized into arena; "{}" when absent, empty or of another type. Returns 0, AG_EDEPTH when a
 * string holds JSON nested deeper than max_depth (0 = the default), or AG_ETOOBIG (arena cap).
 */
int ag_openai_tool_args(struct ag_arena *arena, yyjson_val *args, size_t max_depth,
                        struct ag_str *out);

/** "a string", "an array", ... for "expected X, but got Y" messages. */
const char *ag_openai_type_name(yyjson_val *v);

/*
 * OpenAI-style request errors, shared by the chat and Responses decoders: each fills err (text in
 * arena a) with OpenAI's wording and code and returns AG_EINVAL.
 */
int ag_openai_bad_type(struct ag_arena *a, struct ag_proto_error *err, const char *param,
                       const char *want, yyjson_val *v);
int ag_openai_bad_value(struct ag_arena *a, struct ag_proto_error *err, const char *param,
                        const char *code, const char *msg);

/** root[key] as a number into *out (and *has = true) when present; a 400 when not a number. */
int ag_openai_get_num(struct ag_arena *a, struct ag_proto_error *err, yyjson_val *root,
                      const char *key, bool *has, double *out);

/**
 * Reads a request body that must be a JSON object into *root (document in arena a). Returns 0,
 * AG_ETOOBIG (413, arena cap) or AG_EINVAL (400, not a JSON object, or nested deeper than
 * max_depth, 0 = the default) with err filled.
 */
int ag_openai_read_object(struct ag_arena *a, struct ag_str body, size_t max_depth,
                          struct ag_proto_error *err, yyjson_val **root);

/** As ag_openai_read_object, and fills src with where the document's strings came from. */
int ag_openai_read_object_src(struct ag_arena *a, struct ag_str body, size_t max_depth,
                              struct ag_proto_error *err, yyjson_val **root,
                              struct ag_json_src *src);

/**
 * The 400 for JSON nested deeper than max_depth (0 = the default): about param (e.g.
 * "messages[1].tool_calls[0].function.arguments"), or the whole body when param is NULL. Fills
 * err (text in arena a) and returns AG_EINVAL.
 */
int ag_openai_too_deep(struct ag_arena *a, struct ag_proto_error *err, const char *param,
                       size_t max_depth);

#endif
