/* alerts/alerts.h: alerts posted to webhooks (config alerts.*). An alert is an event name
 * ("account.disabled"), a subject (what it is about: an account's e-mail, a key's name) and one
 * line of text; each webhook whose "events" name it (or "*") gets one POST of
 *
 *   {"event": ..., "subject": ..., "message": ..., "time": "2026-01-02T03:04:05Z",
 *    "instance": ...}
 *
 * with Content-Type application/json, X-Aigate-Event: <event> and, when the webhook has a secret,
 * X-Aigate-Signature: sha256=<hex HMAC-SHA-256 of the body under the secret>.
 *
 * Deliveries leave off the request path, through the upstream client on the loop: at most
 * AG_ALERTS_PARALLEL at once, retried with a doubling back-off (AG_ALERTS_BACKOFF_MS, then twice
 * that... up to AG_ALERTS_BACKOFF_MAX_MS) until a 2xx or alerts.max_attempts. Waiting deliveries
 * are bounded by alerts.queue_capacity: beyond it a new one is dropped, counted and logged. The
 * same event and subject is not sent again within alerts.repeat_s (except alert.test, sent by
 * hand, and key.budget, which the keys send once per threshold crossing). The last AG_ALERTS_RING
 * finished deliveries (delivered or given up) are kept for the admin API.
 *
 * The upstream error rate is measured here too: the gateway reports each request that reached an
 * upstream (ag_alerts_note_request), and "upstream.error_rate" is sent when the failed share over
 * alerts.error_rate_window_s reaches alerts.error_rate_threshold percent.
 *
 * Threading: everything runs on the loop thread; nothing is thread-safe. */
#ifndef AG_ALERTS_ALERTS_H
#define AG_ALERTS_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct ag_config;
struct ag_upstream_client;
struct ag_alerts;

/** Deliveries in flight at once. */
#define AG_ALERTS_PARALLEL 4
/** Finished deliveries remembered for the admin API. */
#define AG_ALERTS_RING 64
/** First retry delay; each further one doubles, up to AG_ALERTS_BACKOFF_MAX_MS. */
#define AG_ALERTS_BACKOFF_MS     1000
#define AG_ALERTS_BACKOFF_MAX_MS 60000
/** Longest subject and message kept (bytes, NUL included); longer ones are cut. */
#define AG_ALERTS_SUBJECT_MAX 256
#define AG_ALERTS_MESSAGE_MAX 1024

/** The events the gateway sends (the names alerts.webhooks "events" may list). */
#define AG_ALERT_KEY_BUDGET          "key.budget"
#define AG_ALERT_ACCOUNT_DISABLED    "account.disabled"
#define AG_ALERT_ACCOUNT_VALIDATION  "account.needs_validation"
#define AG_ALERT_POOL_ALL_LIMITED    "pool.all_limited"
#define AG_ALERT_UPSTREAM_ERROR_RATE "upstream.error_rate"
#define AG_ALERT_TEST                "alert.test"

/** One finished delivery (ring entry). */
struct ag_alerts_delivery {
    int64_t time_ms; /* unix ms of the last attempt's end */
    char event[40];
    char subject[96];
    char host[256]; /* the webhook URL's host (no path, no credentials) */
    int status;     /* the last attempt's HTTP status; 0 when none (transport failure) */
    int attempts;
    bool delivered;  /* a 2xx came back */
    char error[160]; /* why the last attempt failed ("" when delivered) */
};

/** Counters since start. */
struct ag_alerts_stats {
    uint64_t emitted;    /* ag_alerts_emit calls that matched at least one webhook */
    uint64_t suppressed; /* alerts not sent again within alerts.repeat_s */
    uint64_t delivered;  /* deliveries that got a 2xx */
    uint64_t failed;     /* deliveries given up after alerts.max_attempts */
    uint64_t dropped;    /* deliveries refused because the queue was full */
    uint64_t retries;    /* attempts after a first failed one */
    size_t pending;      /* deliveries waiting or in flight now */
};

/**
 * Creates the alerts on loop, sending through client (borrowed; must outlive the alerts until
 * ag_alerts_close). cfg is referenced. Returns NULL when the timer cannot be set up.
 */
struct ag_alerts *ag_alerts_new(uv_loop_t *loop, struct ag_upstream_client *client,
                                struct ag_config *cfg);

/** Swaps in a new configuration (referenced; the old one is released). Deliveries already
 * queued keep the webhook they were made for; the error-rate window restarts if its length
 * changed. */
void ag_alerts_set_config(struct ag_alerts *a, struct ag_config *cfg);

/**
 * Sends an alert to every webhook whose events name event (or "*"). event, subject and message
 * are copied (subject and message cut at AG_ALERTS_SUBJECT_MAX / AG_ALERTS_MESSAGE_MAX; NULL
 * reads as ""). Returns the number of deliveries queued: 0 when no webhook wants it or the same
 * event and subject was sent within alerts.repeat_s; deliveries the full queue refused are
 * counted in stats.dropped, not here. a NULL is a no-op (0).
 */
int ag_alerts_emit(struct ag_alerts *a, const char *event, const char *subject,
                   const char *message);

/**
 * Counts one request that reached an upstream, failed or not, for the upstream error rate; sends
 * "upstream.error_rate" when the window's failed share reaches the threshold (see the top of this
 * file). a NULL is a no-op.
 */
void ag_alerts_note_request(struct ag_alerts *a, bool failed);

/** Copies the counters into *out. */
void ag_alerts_stats(const struct ag_alerts *a, struct ag_alerts_stats *out);

/** Copies up to cap finished deliveries, newest first, into out; returns how many. */
size_t ag_alerts_deliveries(const struct ag_alerts *a, struct ag_alerts_delivery *out, size_t cap);

/** Sets the first retry delay (ms; tests use a short one). 0 restores AG_ALERTS_BACKOFF_MS. */
void ag_alerts_set_backoff(struct ag_alerts *a, uint32_t first_ms);

/**
 * Stops the alerts: deliveries in flight are cancelled, waiting ones dropped, and the memory is
 * freed once the timer has closed (the loop must run on). Later calls with a are not allowed;
 * NULL is a no-op.
 */
void ag_alerts_close(struct ag_alerts *a);

#endif
