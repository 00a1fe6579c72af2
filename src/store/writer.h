/* store/writer.h: the writer thread. Per-request writes (monitor rows, token-statistics
 * increments, account last-used touches, kept thinking) are queued here by the loop thread and
 * written by one thread on its own SQLite connection, many jobs per transaction, so the event loop
 * never waits on disk. Transactions are rate-limited: after a commit the writer lets jobs gather
 * for batch_delay_ms (or until batch_max are waiting) before the next one, so under load one commit
 * carries many requests; a job arriving after a quiet spell is written at once.
 *
 * The queue is bounded. Submitting never blocks beyond a short mutex hold (the writer holds the
 * mutex only to take jobs out, never during disk I/O): when the queue is full the job is dropped
 * and counted, readable through ag_writer_dropped / ag_writer_get_stats.
 *
 * The writer also applies retention (request_log age and row cap, token statistics age) at start
 * and then every retention_interval_s, and a disk cap after every transaction (the oldest log rows
 * go when the database outgrows max_disk_bytes, and the space is handed back), so the log cannot
 * grow without bound. At start it first makes sure the file can hand space back (incremental
 * vacuum; an older file is converted once by a full VACUUM, here on the writer thread).
 *
 * Threading: submit functions, ag_writer_dropped and ag_writer_get_stats may be called from any
 * thread. ag_writer_new / ag_writer_free belong to the thread that owns the writer. */
#ifndef AG_STORE_WRITER_H
#define AG_STORE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/request_log.h"
#include "store/sessions.h"
#include "store/thinking.h"
#include "store/token_stats.h"

struct ag_store;
struct ag_writer;

/** Settings; a zero field takes the default named beside it, a negative retention limit
 * disables that limit. */
struct ag_writer_options {
    size_t queue_capacity;         /* jobs waiting at most; default 4096 */
    size_t batch_max;              /* jobs per transaction at most; default 256 */
    int batch_delay_ms;            /* least time between two transactions while fewer than
                                      batch_max jobs wait; default 50, negative = none */
    size_t body_cap;               /* bytes of each request/response body kept; default 64 KiB.
                                      Bodies are only kept when the record carries them. */
    struct ag_retention retention; /* defaults: log 30 days and 100,000 rows, stats 400 days */
    int retention_interval_s;      /* default 3600 */
    int64_t max_disk_bytes;        /* database size cap; default 1 GiB, negative = no cap */
};

/** Counters since ag_writer_new. */
struct ag_writer_stats {
    uint64_t accepted;             /* jobs queued */
    uint64_t dropped;              /* jobs refused because the queue was full */
    uint64_t written;              /* jobs committed */
    uint64_t failed;               /* jobs whose write or transaction failed (logged) */
    uint64_t batches;              /* transactions */
    uint64_t retention_runs;       /* retention passes */
    int64_t retention_log_deleted; /* request_log rows removed by retention */
    int64_t disk_cap_deleted;      /* request_log rows removed to keep under max_disk_bytes */
    size_t queued;                 /* jobs waiting now */
};

/**
 * Opens a second connection to the store's file and starts the thread. The store is only used
 * for its path and may be freed afterwards. opts may be NULL (all defaults). Returns NULL when the
 * connection or the thread cannot be created (logged).
 */
struct ag_writer *ag_writer_new(const struct ag_store *store, const struct ag_writer_options *opts);

/**
 * Stops taking jobs, writes everything still queued (even when paused), joins the thread and
 * closes the connection. NULL is a no-op.
 */
void ag_writer_free(struct ag_writer *w);

/**
 * Queues a request_log row. rec and everything it points to are borrowed and copied (bodies cut
 * to body_cap) before returning. 0, or AG_ETOOBIG when the queue is full (the job is dropped and
 * counted), AG_ECLOSED after shutdown began.
 */
int ag_writer_log_request(struct ag_writer *w, const struct ag_request_record *rec);

/**
 * Queues one finished request as a single job: its request_log row and the token-statistics
 * increment derived from the same record (hour of ts_ms, account_email, model_served or else
 * model_requested, protocol, one request, its tokens, one error when ag_request_record_failed).
 * Both are written in the same transaction or dropped together, so the monitor and the
 * statistics always agree. Results as ag_writer_log_request.
 */
int ag_writer_record(struct ag_writer *w, const struct ag_request_record *rec);

/** Queues a token-statistics increment; d is copied. Results as ag_writer_log_request. */
int ag_writer_add_tokens(struct ag_writer *w, const struct ag_token_delta *d);

/**
 * Queues "account id was used at when_s" (last_used_at only moves forward; no change-counter
 * bump). id is copied. Results as ag_writer_log_request.
 */
int ag_writer_touch_account(struct ag_writer *w, const char *id, int64_t when_s);

/**
 * Queues "keep this thinking row" (store/thinking.h): an upsert by (conv, tool_id), after which
 * the same job deletes the rows stored more than ttl_ms before row->stored_ms, the oldest beyond
 * max_rows and the oldest beyond max_bytes of text and signature (each bound <= 0: off). row's
 * strings are copied. AG_EINVAL for an empty
 * conv, tool_id or sig; otherwise results as ag_writer_log_request.
 */
int ag_writer_thinking_put(struct ag_writer *w, const struct ag_thinking_row *row, int64_t ttl_ms,
                           int64_t max_rows, int64_t max_bytes);

/** Queues "delete every thinking row". Results as ag_writer_log_request. */
int ag_writer_thinking_clear(struct ag_writer *w);

/**
 * Queues "keep this admin session" (store/sessions.h): the row (copied) is inserted, then the rows
 * expired by row->created_ms and the oldest beyond max_rows go. Results as ag_writer_log_request.
 */
int ag_writer_session_put(struct ag_writer *w, const struct ag_session_row *row, int64_t max_rows);

/** Queues "forget the admin session with this token hash" (copied). Results as above. */
int ag_writer_session_delete(struct ag_writer *w, const unsigned char hash[AG_SESSION_HASH_SIZE]);

/** Queues "forget every admin session". Results as ag_writer_log_request. */
int ag_writer_sessions_clear(struct ag_writer *w);

/**
 * Blocks until every job accepted before the call is written (or failed), without waiting for
 * batch_delay_ms. For shutdown paths, the CLI and tests; never call it on the event loop.
 * AG_ESTATE when the writer is paused.
 */
int ag_writer_flush(struct ag_writer *w);

/**
 * Pauses draining: jobs keep queueing (and dropping when full) until ag_writer_resume. For
 * maintenance on the file (backup, vacuum) and for tests that need a full queue.
 */
void ag_writer_pause(struct ag_writer *w);

/** Resumes draining after ag_writer_pause. */
void ag_writer_resume(struct ag_writer *w);

/** Jobs dropped so far because the queue was full. */
uint64_t ag_writer_dropped(struct ag_writer *w);

/** Copies the counters into *out. */
void ag_writer_get_stats(struct ag_writer *w, struct ag_writer_stats *out);

#endif
