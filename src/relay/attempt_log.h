/* relay/attempt_log.h: the upstream attempts of one request, as the monitor shows them — which
 * account and model each attempt used, how it ended and why the request moved on, and the time
 * it spent in each stage. The relay marks the stages as they happen; the record of the finished
 * request (relay/record.h) carries the log, and the monitor stores it as JSON with the request's
 * row. Bounded: at most AG_ATTEMPT_LOG_MAX attempts are kept; past that the last slot is reused,
 * so the final attempt is always there, and the number left out is counted. No I/O, no clock of its
 * own: every function takes the time (monotonic microseconds) from its caller. */
#ifndef AG_RELAY_ATTEMPT_LOG_H
#define AG_RELAY_ATTEMPT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/** Attempts kept per request. */
#define AG_ATTEMPT_LOG_MAX 8

/**
 * One attempt. Stage times are milliseconds, -1 when the attempt did not reach the stage:
 * acquire_ms from the attempt's start to the account lease (queueing in the pool included),
 * upstream_ms from sending to the upstream's response head (connect and first byte),
 * first_token_ms from sending to the first decoded answer event, stream_ms from the head to the
 * attempt's end.
 */
struct ag_attempt {
    char account[128]; /* e-mail of the account; "" when the pool gave none */
    char model[96];    /* the model id the account was sent */
    int status;        /* the upstream's HTTP status; 0 when none arrived */
    char outcome[32];  /* "ok", or why the request moved on: "rate_limited", "unauthorized",
                          "no_account", "client_closed", ... */
    char reason[256];  /* the upstream's or the pool's message, one line; "" when none */
    int64_t start_ms;  /* the attempt's start, from the request's arrival */
    int64_t acquire_ms, upstream_ms, first_token_ms, stream_ms;
    int64_t begin_us, end_us; /* the attempt's span from the request's arrival; end 0 while open */
    uint8_t span_id[8];       /* the attempt's span in the request's trace (core/trace.h) */
    /* stage clocks (monotonic µs); 0 = not reached */
    uint64_t _begin_us, _send_us, _head_us;
    bool _open;
};

/**
 * The attempts of one request (embedded in the relay's call; zeroed = empty). The first attempt is
 * kept inline and the others in an array allocated at the second: most requests make one, and a
 * stream holds its log for its whole life. Read attempt i with ag_attempt_log_at; release with
 * ag_attempt_log_dispose.
 */
struct ag_attempt_log {
    struct ag_attempt first;
    struct ag_attempt *more; /* attempts 1 .. AG_ATTEMPT_LOG_MAX - 1; NULL until needed */
    size_t n;                /* attempts kept, at most AG_ATTEMPT_LOG_MAX */
    size_t dropped;          /* attempts left out (the last slot was reused for a later one) */
    uint64_t arrival_us;
};

/** Starts an empty log for a request that arrived at arrival_us. */
void ag_attempt_log_init(struct ag_attempt_log *log, uint64_t arrival_us);

/** Frees what the log allocated; it is empty afterwards. */
void ag_attempt_log_dispose(struct ag_attempt_log *log);

/** Attempt i (i < log->n). */
static inline const struct ag_attempt *ag_attempt_log_at(const struct ag_attempt_log *log, size_t i)
{
    return i == 0 ? &log->first : &log->more[i - 1];
}

/** A new attempt begins (waiting for an account). An attempt still open is ended first as
 * "abandoned". Without memory for a second attempt's slot, the last slot is reused (counted as
 * dropped). */
void ag_attempt_log_begin(struct ag_attempt_log *log, uint64_t now_us);

/** The open attempt got an account (e-mail) and will send model; both copied, may be NULL. */
void ag_attempt_log_acquired(struct ag_attempt_log *log, const char *account, const char *model,
                             uint64_t now_us);

/** The open attempt's request went to the upstream. */
void ag_attempt_log_sent(struct ag_attempt_log *log, uint64_t now_us);

/** The upstream's response head arrived with status. */
void ag_attempt_log_head(struct ag_attempt_log *log, int status, uint64_t now_us);

/** An answer event was decoded (only the first one of an attempt counts). */
void ag_attempt_log_token(struct ag_attempt_log *log, uint64_t now_us);

/**
 * Ends the open attempt: status (0 = keep what the head said), outcome ("ok" or a short reason
 * name) and reason (a message, may be NULL; cut to one line). A no-op when no attempt is open.
 */
void ag_attempt_log_end(struct ag_attempt_log *log, int status, const char *outcome,
                        const char *reason, uint64_t now_us);

/**
 * Appends the log as a JSON array of objects {account, model, status, outcome, reason, start_ms,
 * acquire_ms, upstream_ms, first_token_ms, stream_ms} (a stage not reached is null), and, when
 * attempts were left out, a last object {"dropped": n}. 0 or AG_ETOOBIG (the buffer's cap).
 */
int ag_attempt_log_json(const struct ag_attempt_log *log, struct ag_buf *out);

#endif
