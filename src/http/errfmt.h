/* http/errfmt.h: how an error body looks in each client protocol. The server needs this before any
 * adapter runs (401, 404, 413, 503 ...), so the shapes live here as a small table of formatters;
 * the protocol adapters in proto/ reuse the same ones. */
#ifndef AG_HTTP_ERRFMT_H
#define AG_HTTP_ERRFMT_H

#include "core/buf.h"

struct ag_errfmt {
    const char *name; /* "openai", "anthropic", "gemini", "plain" */
    /**
     * Appends the error body for HTTP status with the given message to out. kind is a short
     * machine name ("authentication_error", "not_found", ...) mapped to the protocol's own type
     * field where it has one. Returns 0 or AG_ETOOBIG.
     */
    int (*write)(struct ag_buf *out, int status, const char *kind, const char *message);
    const char *content_type;
};

extern const struct ag_errfmt ag_errfmt_openai;    /* {"error":{"message","type","param","code"}} */
extern const struct ag_errfmt ag_errfmt_anthropic; /* {"type":"error","error":{"type","message"}} */
extern const struct ag_errfmt ag_errfmt_gemini;    /* {"error":{"code","message","status"}} */
extern const struct ag_errfmt ag_errfmt_plain;     /* {"error":{"message","type"}} generic JSON */

/** The protocol's own error type / status name for an HTTP status: OpenAI's `type`
 * ("invalid_request_error", ...), Anthropic's `error.type` ("not_found_error", ...), Google's
 * `status` ("RESOURCE_EXHAUSTED", ...), as the status table of core/failure.h gives them. Static
 * strings, never NULL. */
const char *ag_errfmt_openai_type(int status);
const char *ag_errfmt_anthropic_type(int status);
const char *ag_errfmt_gemini_status(int status);

/** Standard reason phrase for an HTTP status ("Not Found"); "Unknown" otherwise. */
const char *ag_http_reason(int status);

#endif
