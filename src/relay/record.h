/* relay/record.h: what the relay tells the rest of the gateway about each finished AI request —
 * the monitor, token statistics and metrics are all fed from this one record, so they agree. */
#ifndef AG_RELAY_RECORD_H
#define AG_RELAY_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"
#include "core/trace.h"
#include "relay/attempt_log.h"

/** One finished AI request. Every slice is borrowed for the duration of the callback only. */
struct ag_relay_record {
    int64_t ts_ms;               /* unix ms when the request arrived */
    struct ag_str request_id;    /* x-request-id */
    struct ag_str method;        /* "POST" */
    struct ag_str path;          /* "/v1/chat/completions" */
    const char *protocol;        /* client adapter name ("openai-chat", "gemini", "anthropic", ...),
                                    or "warmup" for a warm-up the gateway sent itself
                                    (relay/warmup.h); the request log and statistics keep it */
    struct ag_str model;         /* as the client named it; may be empty (bad request) */
    const char *served_model;    /* upstream model after mapping; "" when none */
    const char *account;         /* e-mail of the account of the last attempt; "" when none */
    struct ag_str key_name;      /* the user key that made the request (keys/keys.h); empty for
                                    the main API key or none */
    int status;                  /* HTTP status sent (200 for streams that began; see error) */
    const char *error_class;     /* "" on success; else e.g. "rate_limited", "bad_request",
                                    "client_closed", "no_account", "upstream_stream_error" */
    struct ag_str error_message; /* one line, may be empty */
    int attempts;                /* upstream attempts made (0 when none) */
    int64_t ttfb_ms;             /* arrival to the first byte sent to the client; -1 if none */
    int64_t total_ms;            /* arrival to the end */
    int64_t input_tokens, output_tokens, cached_tokens, reasoning_tokens;
    struct ag_str client_ip;
    struct ag_str user_agent;
    bool stream;
    struct ag_str request_body;  /* the client's body (uncapped here: the sink caps and redacts) */
    struct ag_str response_body; /* the body sent (non-stream) or the stream's first bytes */
    const struct ag_attempt_log *attempt_log; /* each attempt's account, outcome and stage
                                                 times (relay/attempt_log.h); NULL = none */
    const struct ag_trace *trace; /* the request's trace ids (core/trace.h); NULL = none */
};

/** Receives each record on the loop thread; must not block. */
typedef void (*ag_relay_record_cb)(const struct ag_relay_record *rec, void *ud);

#endif
