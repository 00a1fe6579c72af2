/* store/request_log.h: the monitor's request log table and retention.
 *
 * The gateway never calls the insert below on the loop: it hands records to the writer thread
 * (ag_writer_log_request in store/writer.h). The synchronous functions here are for the CLI, the
 * admin API's worker and tests. */
#ifndef AG_STORE_REQUEST_LOG_H
#define AG_STORE_REQUEST_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct ag_store;

/**
 * One finished request as the monitor records it. All pointers are borrowed (NULL = unknown);
 * whoever stores the record copies what it keeps. Bodies are optional and cut at the store's body
 * cap when copied. Times: ts_ms is unix milliseconds of the request's start; ttfb_ms and total_ms
 * are durations in milliseconds (ttfb_ms < 0 = no first byte).
 */
struct ag_request_record {
    int64_t id; /* row id to use (the monitor assigns ids so memory and disk agree); 0 = next */
    int64_t ts_ms;
    const char *method;
    const char *path;
    const char *protocol; /* "openai", "anthropic", "gemini", ... */
    const char *model_requested;
    const char *model_served;
    const char *account_email;
    const char *key_name; /* the user key that made the request (store/user_keys.h); NULL = none */
    int status;
    const char *error_class;   /* "rate_limited", "auth", "upstream_5xx", "transport", ... */
    const char *error_message; /* one line; NULL = none */
    int attempts;
    int64_t ttfb_ms;
    int64_t total_ms;
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t cached_tokens;
    int64_t reasoning_tokens;
    const char *client_ip;
    const char *user_agent;
    bool stream;
    struct ag_str request_body;  /* p NULL = not recorded */
    struct ag_str response_body; /* p NULL = not recorded */
    const char *attempts_json;   /* the upstream attempts as a JSON array
                                    (relay/attempt_log.h); NULL = none */
};

/** True when a record counts as an error in statistics: status >= 400 or an error class. */
static inline bool ag_request_record_failed(const struct ag_request_record *r)
{
    return r->status >= 400 || (r->error_class && r->error_class[0]);
}

/** Retention limits; 0 disables a limit. */
struct ag_retention {
    int log_max_age_days;   /* request_log rows older than this many days go */
    int64_t log_max_rows;   /* only the newest this many request_log rows stay */
    int stats_max_age_days; /* token_stats_hourly hours older than this go */
};

/** What one retention run removed. */
struct ag_retention_result {
    int64_t log_rows_deleted;
    int64_t stats_rows_deleted;
};

/**
 * Inserts one record synchronously (bodies cut at body_cap bytes, 0 = no bodies kept).
 * rec is borrowed. 0 or AG_EDB.
 */
int ag_store_request_log_insert(struct ag_store *s, const struct ag_request_record *rec,
                                size_t body_cap);

/** Counts request_log rows. */
int ag_store_request_log_count(struct ag_store *s, int64_t *out);

/**
 * Applies retention as of now_ms (unix milliseconds): request_log rows with ts_ms older than
 * now_ms - days * 86,400,000 are deleted, then all but the newest log_max_rows; token statistics
 * whose hour started before now - days * 86,400 s are deleted. res (may be NULL) gets the counts.
 * One transaction. 0 or AG_EDB. The writer thread runs this periodically on its own connection.
 */
int ag_store_retention_run(struct ag_store *s, const struct ag_retention *r, int64_t now_ms,
                           struct ag_retention_result *res);

/** What one disk-cap pass did (ag_store_disk_cap_run). */
struct ag_disk_cap_result {
    int64_t log_rows_deleted; /* oldest request_log rows removed */
    int64_t bytes_before;     /* database bytes in use before the pass (pages not free) */
    int64_t bytes_after;      /* and after it */
    bool vacuumed;            /* free pages were handed back to the file system */
};

/**
 * Keeps the database under max_bytes (> 0). When the bytes in use (pages that are not free)
 * exceed it, the oldest request_log rows (by ts_ms, then id) go, in growing chunks, until use is
 * at most nine tenths of max_bytes or the log is empty; token statistics and accounts are never
 * touched. When rows went, or free pages alone make the file larger than max_bytes, the free pages
 * are returned to the file system (incremental vacuum: the file must be in auto_vacuum=INCREMENTAL
 * mode, see ag_store_vacuum_mode_ensure) and the write-ahead log is checkpointed and truncated.
 * res (may be NULL) gets what happened. 0 or AG_EDB. The writer thread runs this after every
 * batch on its own connection; it is cheap when nothing is over.
 */
int ag_store_disk_cap_run(struct ag_store *s, int64_t max_bytes, struct ag_disk_cap_result *res);

/**
 * Bytes the database uses now (pages in use, not counting free pages) into *in_use and its whole
 * logical size (all pages) into *total; either may be NULL. 0 or AG_EDB.
 */
int ag_store_disk_usage(struct ag_store *s, int64_t *in_use, int64_t *total);

#endif
