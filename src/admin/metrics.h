/* admin/metrics.h: Prometheus counters and histograms fed by the relay's records, rendered with
 * gauges read at scrape time (accounts, cooldowns, in-flight requests, writer queue) in the
 * Prometheus text exposition format 0.0.4. Loop thread only. */
#ifndef AG_ADMIN_METRICS_H
#define AG_ADMIN_METRICS_H

#include <stdint.h>

#include "core/buf.h"

struct ag_metrics;
struct ag_relay_record;

/** Gauges the caller reads at scrape time and hands to ag_metrics_render. */
struct ag_metrics_gauges {
    uint64_t active_requests;   /* AI requests in flight (relay) */
    uint64_t http_connections;  /* open client connections */
    uint64_t http_requests;     /* requests in flight on the server (all routes) */
    uint64_t event_subscribers; /* live /api/events streams */
    uint64_t writer_queued, writer_dropped, writer_written, writer_failed;
    uint64_t monitor_not_queued;
    int64_t retention_deleted;
    bool proxy_running;
};

struct ag_metrics *ag_metrics_new(void);
void ag_metrics_free(struct ag_metrics *m);

/** Counts one finished AI request. */
void ag_metrics_observe(struct ag_metrics *m, const struct ag_relay_record *rec);

/** Appends the counters, histograms and g in the text format; 0 or AG_ETOOBIG. */
int ag_metrics_render(const struct ag_metrics *m, const struct ag_metrics_gauges *g,
                      struct ag_buf *out);

/** Appends s with the label-value escapes of the text format (\\, \", \n). */
int ag_metrics_escape(struct ag_buf *out, const char *s);

/**
 * The route label of a path: Gemini's per-model paths lose the model
 * ("/v1beta/models/:model:streamGenerateContent"); others stay as they are. Written into out.
 */
void ag_metrics_route(const char *path, size_t len, char *out, size_t cap);

#endif
