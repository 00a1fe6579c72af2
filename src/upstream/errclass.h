/* upstream/errclass.h: what an upstream failure means for the caller (retry here, rotate the
 * account, cool it down for how long, give up). A pure function of the status, body and headers
 * (or of the transport failure kind): no I/O, no clock beyond the "now" passed in. The retry delay
 * is the upstream's own hint, without any grace added: the pool's policy adds its margins. */
#ifndef AG_UPSTREAM_ERRCLASS_H
#define AG_UPSTREAM_ERRCLASS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/failure.h" /* enum ag_errclass_kind and what each kind means */
#include "core/str.h"
#include "upstream/client.h"

/**
 * What kind of 429 it is. The structured details decide first: google.rpc.ErrorInfo.reason
 * (QUOTA_EXHAUSTED; RATE_LIMIT_EXCEEDED, a quota when its metadata names a daily limit;
 * MODEL_CAPACITY_EXHAUSTED), then the period of the quota hit (ErrorInfo.metadata.quota_limit,
 * QuotaFailure.violations[].quotaId: "PerDay" or "PerMinute"); then the message: rate wording
 * ("per minute", "rate limit", "too many requests"), "no capacity available", explicit quota
 * wording ("quota will reset", "exhausted your capacity", "per day", "daily quota", "quota
 * reached"). A generic RESOURCE_EXHAUSTED ("Resource has been exhausted (e.g. check quota).")
 * names no quota: a rate limit, never a used-up quota.
 */
enum ag_errclass_limit {
    AG_LIMIT_UNKNOWN = 0,
    AG_LIMIT_QUOTA_EXHAUSTED, /* the account's quota (for this model) is used up: long wait */
    AG_LIMIT_RATE,            /* requests/tokens per minute: short wait */
    AG_LIMIT_MODEL_CAPACITY,  /* the model is saturated for everyone: short wait, same account ok */
};

/** Where retry_delay_ms came from. */
enum ag_errclass_delay_src {
    AG_DELAY_NONE = 0,
    AG_DELAY_RETRY_INFO,  /* error.details[] google.rpc.RetryInfo.retryDelay */
    AG_DELAY_QUOTA_RESET, /* error.details[].metadata.quotaResetDelay */
    AG_DELAY_RESET_TIME,  /* error.details[].metadata.quotaResetTimeStamp, minus now */
    AG_DELAY_RETRY_AFTER, /* the Retry-After header (seconds or HTTP date) */
    AG_DELAY_BODY_FIELD,  /* error.retry_after (seconds) */
    AG_DELAY_MESSAGE,     /* "retry after 30s", "quota will reset after 2h", "try again in ...",
                             "Please retry in 3.9s", "Resets in 9h22m20s" */
};

struct ag_errclass {
    enum ag_errclass_kind kind;
    int status;                 /* HTTP status, 0 for transport failures */
    enum ag_upstream_fail fail; /* transport/timeout kind, NONE for HTTP answers */
    int64_t retry_delay_ms;     /* the upstream's hint, -1 when it gave none */
    enum ag_errclass_delay_src delay_src;
    enum ag_errclass_limit limit; /* for RATE_LIMITED */
    bool quota_exhausted;         /* limit == AG_LIMIT_QUOTA_EXHAUSTED */
    bool overloaded;              /* 529, or 503 / "overloaded" wording */
    bool validation_required;     /* 403 asking the user to verify the account */
    char validation_url[1024];    /* where to verify, "" when none was given */
    char reason[64];              /* ErrorInfo reason or error.status ("QUOTA_EXHAUSTED") */
    char message[512];            /* error.message (truncated), or the transport detail */
};

/**
 * Classifies an HTTP answer. body is the raw response body (Google's JSON error, or any text);
 * retry_after is the Retry-After header value (p NULL when absent); now_s is the Unix time used for
 * an HTTP-date Retry-After. Never fails: unknown shapes fall back to the status alone.
 */
void ag_errclass_http(int status, struct ag_str body, struct ag_str retry_after, int64_t now_s,
                      struct ag_errclass *out);

/** Classifies a transport failure (timeouts become AG_ERRCLASS_TIMEOUT). */
void ag_errclass_transport(enum ag_upstream_fail fail, const char *message,
                           struct ag_errclass *out);

/** Classifies a stream that could not be parsed (bad SSE or JSON, or an oversized event). */
void ag_errclass_malformed(const char *message, struct ag_errclass *out);

/** Stable lower-case name of a kind ("rate_limited", "server_error", ...). */
const char *ag_errclass_kind_name(enum ag_errclass_kind kind);

/**
 * Parses a duration like "1.203608125s", "2h1m1s", "510.79ms", "1h16m0.667s" or "99 seconds" into
 * milliseconds (rounded). Returns 0, or AG_EPARSE when s does not start with a duration.
 * *used is set to the bytes consumed (may be NULL).
 */
int ag_errclass_parse_duration(struct ag_str s, int64_t *ms, size_t *used);

#endif
