/* store/monitor_query.h: the read side of the monitor and the token statistics, for the admin
 * API: request_log listing with filters and paging, one row with its bodies, and token totals
 * grouped by hour or day and by account, model or client protocol.
 *
 * Threading: synchronous on the store's connection. The gateway calls these from a libuv worker
 * thread on a connection of its own (admin/), never on the loop. */
#ifndef AG_STORE_MONITOR_QUERY_H
#define AG_STORE_MONITOR_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "store/request_log.h"
#include "store/token_stats.h"

struct ag_store;

/** Status classes a log filter can ask for. */
enum ag_log_status_class {
    AG_LOG_STATUS_ANY = 0,
    AG_LOG_STATUS_2XX = 2,
    AG_LOG_STATUS_3XX = 3,
    AG_LOG_STATUS_4XX = 4,
    AG_LOG_STATUS_5XX = 5,
    AG_LOG_STATUS_ERROR = 9, /* status >= 400 or an error class (ag_request_record_failed) */
    AG_LOG_STATUS_OK = 10,   /* the complement of AG_LOG_STATUS_ERROR */
};

/** A request_log filter; zero / NULL fields do not filter. Strings are borrowed. */
struct ag_log_filter {
    int64_t from_ms, to_ms; /* ts_ms in [from_ms, to_ms) */
    enum ag_log_status_class status_class;
    const char *model;    /* equal to the requested or the served model */
    const char *account;  /* account e-mail, case-insensitive */
    const char *protocol; /* client protocol */
    const char *text;     /* substring of path, models, account, error class, client IP or UA */
    int64_t before_id;    /* only rows with id < before_id (cursor paging) */
    int64_t limit;        /* rows at most (default 100, at most 1000) */
    int64_t offset;       /* rows skipped (offset paging) */
};

/**
 * Called per row; row and its strings are valid during the call only. Return 0 to go on, or a
 * negative AG_E* to stop (it becomes the query's result).
 */
typedef int (*ag_log_row_cb)(const struct ag_request_record *row, void *ud);

/**
 * Lists rows matching f, newest first (by id), without bodies. *total (may be NULL) gets the
 * number of rows matching f ignoring limit, offset and before_id. 0, the callback's error, or
 * AG_EDB.
 */
int ag_store_log_query(struct ag_store *s, const struct ag_log_filter *f, ag_log_row_cb cb,
                       void *ud, int64_t *total);

/** Reads one row with its bodies; AG_ENOTFOUND when there is no such id. */
int ag_store_log_get(struct ag_store *s, int64_t id, ag_log_row_cb cb, void *ud);

/** The largest request_log id (0 for an empty table). */
int ag_store_log_max_id(struct ag_store *s, int64_t *out);

/**
 * Called per account and hour: hour_ms is the hour's start (unix ms, a multiple of 3,600,000), ok
 * and errors the attempts of that account in the hour that succeeded and that failed. account is
 * valid during the call only. Return 0 to go on or a negative AG_E* to stop.
 */
typedef int (*ag_health_row_cb)(const char *account, int64_t hour_ms, int64_t ok, int64_t errors,
                                void *ud);

/**
 * Each account's attempts per hour for requests that arrived in [from_ms, to_ms): from the
 * request's attempts (attempts_json) where the row has them, so an account that failed before
 * another served the request counts its failure; else the row itself under its account. Rows
 * come ordered by account, then hour. 0, the callback's error, or AG_EDB.
 */
int ag_store_account_health(struct ag_store *s, int64_t from_ms, int64_t to_ms, ag_health_row_cb cb,
                            void *ud);

/** Deletes every request_log row; *deleted (may be NULL) gets how many. */
int ag_store_log_clear(struct ag_store *s, int64_t *deleted);

/** What token statistics are grouped by besides time. */
enum ag_stats_group {
    AG_STATS_BY_NONE = 0,
    AG_STATS_BY_ACCOUNT,
    AG_STATS_BY_MODEL,
    AG_STATS_BY_PROTOCOL,
};

/** A token-statistics query; zero / NULL fields do not filter. Strings are borrowed. */
struct ag_stats_query {
    int64_t from_s, to_s; /* hours starting in [from_s, to_s) */
    int64_t bucket_s;     /* 0: no time grouping; 3600: per hour; 86400: per day */
    int64_t tz_offset_s;  /* day buckets start at local midnight for this UTC offset */
    enum ag_stats_group group;
    const char *account, *model, *protocol;
};

/**
 * Called per result row: period_s is the bucket's start (unix s; 0 without time grouping), key
 * the group's value ("" for AG_STATS_BY_NONE). Return 0 to go on or a negative AG_E* to stop.
 */
typedef int (*ag_stats_row_cb)(int64_t period_s, const char *key,
                               const struct ag_token_stats_row *row, void *ud);

/**
 * Sums token_stats_hourly per bucket and group. Rows come ordered by period, then (without time
 * grouping) by total tokens descending, then by key. 0, the callback's error, or AG_EDB.
 */
int ag_store_stats_query(struct ag_store *s, const struct ag_stats_query *q, ag_stats_row_cb cb,
                         void *ud);

/** Deletes every token-statistics row. */
int ag_store_stats_clear(struct ag_store *s);

#endif
