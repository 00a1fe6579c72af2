/* core/trace.h: W3C Trace Context (https://www.w3.org/TR/trace-context/) — the ids of a request's
 * trace: reading a client's `traceparent` / `tracestate`, drawing fresh trace and span ids, and
 * writing a `traceparent` value. No I/O beyond the random generator, no gateway knowledge. */
#ifndef AG_CORE_TRACE_H
#define AG_CORE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

#define AG_TRACE_ID_SIZE 16
#define AG_SPAN_ID_SIZE  8
/** The longest tracestate kept (the W3C limit); a longer one is dropped whole. */
#define AG_TRACESTATE_MAX 512
/** Bytes of a traceparent value written by ag_trace_format, with its NUL. */
#define AG_TRACEPARENT_SIZE 56
/** trace-flags bit 0: the caller records this trace. */
#define AG_TRACE_SAMPLED 0x01

/** One request's place in a trace (embedded; filled by ag_trace_begin). */
struct ag_trace {
    uint8_t trace_id[AG_TRACE_ID_SIZE];
    uint8_t span_id[AG_SPAN_ID_SIZE];       /* the request's own (server) span */
    uint8_t parent_id[AG_SPAN_ID_SIZE];     /* the client's span; all zero when the trace is new */
    bool remote_parent;                     /* the ids came from the client's traceparent */
    uint8_t flags;                          /* trace-flags to record and pass on */
    char tracestate[AG_TRACESTATE_MAX + 1]; /* the client's, as sent; "" when none or dropped */
};

/**
 * Reads a traceparent header value: version "00" exactly as specified (55 characters), or a later
 * version (not "ff") whose first 55 characters have that shape; lowercase hex only; all-zero trace
 * or parent ids are invalid. On success fills trace_id, parent_id and flags and returns 0; else
 * AG_EINVAL and leaves them untouched.
 */
int ag_trace_parse(struct ag_str v, uint8_t trace_id[AG_TRACE_ID_SIZE],
                   uint8_t parent_id[AG_SPAN_ID_SIZE], uint8_t *flags);

/**
 * Starts the trace of a request: a child of the client's span when traceparent is valid (the
 * client's trace id and flags, tracestate kept when it is at most AG_TRACESTATE_MAX printable
 * ASCII characters), else a new trace with a random id, sampled. The request's span id is always
 * new. Malformed headers are ignored, never an error. Either slice may be empty (p NULL).
 */
void ag_trace_begin(struct ag_trace *t, struct ag_str traceparent, struct ag_str tracestate);

/**
 * Fills out with n random bytes, not all zero (ids), from a per-thread block of the cryptographic
 * generator's output. 0, or AG_EIO when the generator fails (out is then zero).
 */
int ag_trace_new_id(void *out, size_t n);

/**
 * Writes "00-<trace id>-<span id>-<flags>" and a NUL into out (AG_TRACEPARENT_SIZE bytes) and
 * returns out.
 */
char *ag_trace_format(char out[AG_TRACEPARENT_SIZE], const uint8_t trace_id[AG_TRACE_ID_SIZE],
                      const uint8_t span_id[AG_SPAN_ID_SIZE], uint8_t flags);

#endif
