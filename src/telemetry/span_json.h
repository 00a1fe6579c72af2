/* telemetry/span_json.h: the spans of one finished AI request in the OTLP/HTTP JSON encoding
 * (the protobuf JSON mapping of opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest:
 * lowerCamelCase names, trace and span ids as lowercase hex, 64-bit integers and times in unix
 * nanoseconds as decimal strings, enums as numbers). One SERVER span for the request and one
 * CLIENT span per upstream attempt, built from the relay's record (relay/record.h). Attributes
 * name the protocol, models, status, tokens, the user key's name, accounts (e-mails masked) and
 * failure classes; never a prompt, an answer, an error message or a secret. No I/O. */
#ifndef AG_TELEMETRY_SPAN_JSON_H
#define AG_TELEMETRY_SPAN_JSON_H

#include <stddef.h>

#include "core/buf.h"
#include "relay/record.h"

/** OTLP Span.SpanKind values. */
#define AG_SPAN_KIND_SERVER 2
#define AG_SPAN_KIND_CLIENT 3

/**
 * Appends the spans of rec (rec->trace must be set) to out as JSON objects, each preceded by a
 * comma unless out ends in '[' (the inside of a "spans" array). Returns the number of spans
 * written (1 + the attempts kept), or AG_ETOOBIG when out's cap was reached (out then holds a
 * cut text: the caller truncates it back).
 */
int ag_span_json_request(const struct ag_relay_record *rec, struct ag_buf *out);

/**
 * Appends the head of an ExportTraceServiceRequest up to the opening of its "spans" array: one
 * resourceSpans entry whose resource has service.name (service_name, NULL or "" = "aigate"),
 * service.version and telemetry.sdk.language, and one scopeSpans entry (scope "aigate").
 * 0 or AG_ETOOBIG.
 */
int ag_span_json_open(struct ag_buf *out, const char *service_name);

/** Closes what ag_span_json_open opened. 0 or AG_ETOOBIG. */
int ag_span_json_close(struct ag_buf *out);

/**
 * The span name of a request: "<method> <route>", where route is path without its query and with
 * a Gemini model segment ("/v1beta/models/<model>:<verb>") written as "{model}", so names stay
 * few. Written into out (cap bytes, cut when longer).
 */
void ag_span_json_name(struct ag_str method, struct ag_str path, char *out, size_t cap);

#endif
