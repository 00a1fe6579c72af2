/* upstream/sse.h: an incremental parser for Server-Sent Events (the WHATWG "event stream"
 * format). It is a pure function over bytes: feed it any split of a stream and it calls back
 * once per complete event, exactly as if the stream had arrived in one piece. No I/O, no clock.
 *
 * Rules implemented (WHATWG HTML, "Parsing an event stream"): lines end in LF, CRLF or a lone CR
 * (a CRLF split across two feeds counts once); a leading UTF-8 BOM is skipped; lines starting with
 * ':' are comments; "field: value" drops one space after the colon, a line without a colon is a
 * field with an empty value; "data" lines are joined with LF; "event" sets the type; "id" sets the
 * last event id (kept across events, ignored when it contains NUL); "retry" takes digits only;
 * unknown fields are ignored; a blank line dispatches the event, or only resets the type when no
 * data line was seen. At end of input, ag_sse_parser_finish() treats an unterminated last line
 * and a missing final blank line as if they had been there (servers often omit them). */
#ifndef AG_UPSTREAM_SSE_H
#define AG_UPSTREAM_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"

/** One dispatched event. The slices point into the parser and are valid only during the call. */
struct ag_sse_event {
    struct ag_str event; /* the "event:" type; empty when none was given (meaning "message") */
    struct ag_str data;  /* the data lines joined with LF, without a trailing LF */
    struct ag_str id;    /* the last event id seen so far on this stream (may be empty) */
    int64_t retry_ms;    /* value of a "retry:" field in this event, or -1 */
};

/**
 * Receives each event. Return 0 to go on; any other value stops the current feed, which returns
 * that value (use a negative AG_E* code, e.g. AG_ECANCELED).
 */
typedef int (*ag_sse_event_cb)(const struct ag_sse_event *ev, void *ud);

struct ag_sse_parser {
    ag_sse_event_cb cb;
    void *ud;
    size_t max_event; /* cap on one event's buffered bytes (line + data + type) */
    /* Private. */
    struct ag_buf _line;  /* an unterminated line carried over from the previous feed */
    struct ag_buf _data;  /* data lines of the event being built, each followed by LF */
    struct ag_buf _event; /* event type of the event being built */
    struct ag_buf _id;    /* last event id */
    struct ag_str _one;   /* the event's only data line so far, still in the bytes being fed */
    int64_t _retry;
    bool _has_data;
    bool _in_one;   /* _one holds the data (not yet copied into _data) */
    bool _skip_lf;  /* the previous feed ended with CR: a leading LF belongs to it */
    bool _started;  /* some byte seen (BOM check done) */
    bool _bom_part; /* bytes of a BOM prefix are in _line */
    int _error;     /* sticky error after AG_ETOOBIG */
};

/**
 * Prepares a parser calling cb(ev, ud) per event. max_event caps the bytes one event may hold
 * (its longest line and its joined data); 0 means 1 MiB.
 */
void ag_sse_parser_init(struct ag_sse_parser *p, size_t max_event, ag_sse_event_cb cb, void *ud);

/** Frees the parser's buffers. */
void ag_sse_parser_dispose(struct ag_sse_parser *p);

/** Forgets all state (for a new stream), keeping the callback and the cap. */
void ag_sse_parser_reset(struct ag_sse_parser *p);

/**
 * Parses len more bytes. Returns 0; AG_ETOOBIG when an event outgrows the cap (sticky: the stream
 * is unusable afterwards); or the callback's non-zero result.
 */
int ag_sse_parser_feed(struct ag_sse_parser *p, const void *bytes, size_t len);

/**
 * Ends the stream: a pending unterminated line is processed and a pending event with data is
 * dispatched. Returns as ag_sse_parser_feed. The parser can then be reset for another stream.
 */
int ag_sse_parser_finish(struct ag_sse_parser *p);

#endif
