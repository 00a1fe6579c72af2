/* telemetry/otlp.h: the span exporter — traces of finished AI requests sent to an OpenTelemetry
 * collector over OTLP/HTTP with JSON bodies (config telemetry.*). Each request's spans
 * (telemetry/span_json.h) are encoded when the relay records it and wait in one bounded batch;
 * every telemetry.export_interval_ms, or sooner when AG_OTLP_BATCH_SPANS wait, the batch is
 * POSTed through the upstream client (curl multi on the loop), one export at a time. Spans that
 * find the queue full (telemetry.queue_capacity) or whose export fails are dropped and counted:
 * a collector that is down costs a counter and one warning until an export succeeds again, and
 * never delays a request. A failed batch is not retried. Loop thread only. */
#ifndef AG_TELEMETRY_OTLP_H
#define AG_TELEMETRY_OTLP_H

#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "relay/record.h"

struct ag_config;
struct ag_upstream_client;
struct ag_otlp;

/** Spans that start an export before the interval is over. */
#define AG_OTLP_BATCH_SPANS 512

/** Counters for /metrics. */
struct ag_otlp_stats {
    uint64_t exported; /* spans the collector accepted (2xx) */
    uint64_t dropped;  /* spans dropped: queue full, export failed, or encoding over the cap */
    uint64_t failed;   /* exports that failed (transport error or a non-2xx status) */
    uint64_t queued;   /* spans waiting or in flight now */
};

/**
 * Creates the exporter on loop, sending through client (borrowed; it must outlive the exporter),
 * under cfg (referenced). With telemetry.otlp_endpoint empty it records nothing until a
 * configuration names one. NULL only when the timer cannot be set up.
 */
struct ag_otlp *ag_otlp_new(uv_loop_t *loop, struct ag_upstream_client *client,
                            struct ag_config *cfg);

/** A new configuration (referenced): endpoint, service name, interval and capacity take effect
 * from the next batch; with the endpoint emptied, waiting spans are dropped (not counted). */
void ag_otlp_set_config(struct ag_otlp *o, struct ag_config *cfg);

/**
 * Queues the spans of a finished request (rec is borrowed for the call). Does nothing when no
 * endpoint is set, rec has no trace, or the client's traceparent said it does not record the
 * trace (sampled flag clear).
 */
void ag_otlp_record(struct ag_otlp *o, const struct ag_relay_record *rec);

/** The counters so far. */
void ag_otlp_stats(const struct ag_otlp *o, struct ag_otlp_stats *out);

/** Appends the counters in the Prometheus text format (aigate_telemetry_*). NULL o writes zeros.
 * 0 or AG_ETOOBIG. */
int ag_otlp_metrics(const struct ag_otlp *o, struct ag_buf *out);

/** Cancels an export in flight, drops waiting spans and frees o once its timer is closed. NULL
 * is a no-op. */
void ag_otlp_close(struct ag_otlp *o);

#endif
