/* telemetry/otlp.c: the OTLP/HTTP span exporter (see otlp.h). */
#include "telemetry/otlp.h"

#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/trace.h"
#include "telemetry/span_json.h"
#include "upstream/client.h"

#include <stdbool.h>
#include <stdlib.h>

/* Bytes the waiting spans may take (a span is well under 4 KiB: every attribute is capped). */
#define PENDING_CAP AG_BUF_CAP_DOC
/* A collector's answer is read up to this and dropped. */
#define REPLY_MAX (64u * 1024)

struct ag_otlp {
    uv_loop_t *loop;
    struct ag_upstream_client *client;
    struct ag_config *cfg;
    uv_timer_t timer;
    bool armed;                  /* the timer runs toward the next export */
    struct ag_buf pending;       /* span objects, comma separated, waiting for the next export */
    size_t npending;             /* spans in pending */
    struct ag_buf sending;       /* the body of the export in flight */
    size_t nsending;             /* spans in it */
    struct ag_upstream_req *req; /* the export in flight; NULL = none */
    bool warned;                 /* a failure was logged; quiet until an export succeeds */
    struct ag_otlp_stats st;
};

static void export_now(struct ag_otlp *o);

static void on_timer(uv_timer_t *t)
{
    struct ag_otlp *o = t->data;
    o->armed = false;
    export_now(o);
}

/* Arms the timer for the next export when spans wait and none is armed or in flight. */
static void arm(struct ag_otlp *o, uint64_t ms)
{
    if (o->armed || o->req || !o->npending)
        return;
    o->armed = uv_timer_start(&o->timer, on_timer, ms, 0) == 0;
}

static void on_done(struct ag_upstream_req *r, const struct ag_upstream_result *res, void *ud)
{
    struct ag_otlp *o = ud;
    o->req = NULL;
    if (res->err == 0 && res->status >= 200 && res->status < 300) {
        o->st.exported += o->nsending;
        if (o->warned)
            ag_log_info("telemetry: spans reach the OTLP collector again");
        o->warned = false;
    } else {
        o->st.dropped += o->nsending;
        o->st.failed++;
        if (!o->warned) {
            if (res->err)
                ag_log_warn("telemetry: cannot export spans to the OTLP collector (%s); they are "
                            "dropped and counted until it answers",
                            res->message && res->message[0] ? res->message : ag_strerror(res->err));
            else
                ag_log_warn("telemetry: the OTLP collector answered %d; spans are dropped and "
                            "counted until it accepts them",
                            res->status);
        }
        o->warned = true;
    }
    o->nsending = 0;
    ag_buf_reset(&o->sending);
    arm(o, o->npending >= AG_OTLP_BATCH_SPANS ? 0 : (uint64_t)o->cfg->telemetry.export_interval_ms);
}

/* Sends what waits, as one ExportTraceServiceRequest, unless an export is in flight. */
static void export_now(struct ag_otlp *o)
{
    if (o->req || !o->npending)
        return;
    const char *url = o->cfg->telemetry.otlp_endpoint;
    ag_buf_reset(&o->sending);
    int rc = ag_span_json_open(&o->sending, o->cfg->telemetry.service_name);
    if (!rc)
        rc = ag_buf_append(&o->sending, o->pending.data, o->pending.len);
    if (!rc)
        rc = ag_span_json_close(&o->sending);
    o->nsending = o->npending;
    o->npending = 0;
    ag_buf_reset(&o->pending);
    if (rc || !url[0]) {
        o->st.dropped += o->nsending;
        o->nsending = 0;
        return;
    }
    static const char *const hdrs[] = {"Content-Type: application/json"};
    struct ag_upstream_req_spec s = {
        .method = "POST",
        .url = url,
        .headers = hdrs,
        .nheaders = 1,
        .body = o->sending.data,
        .body_len = o->sending.len,
        .timeouts = {.connect_ms = 5000,
                     .first_byte_ms = 10000,
                     .idle_ms = 10000,
                     .total_ms = 15000},
        .max_body = REPLY_MAX,
        .on_done = on_done,
        .ud = o,
    };
    int err = 0;
    o->req = ag_upstream_req_start(o->client, &s, &err);
    if (!o->req) {
        struct ag_upstream_result res = {.err = err ? err : AG_EINVAL, .message = ag_strerror(err)};
        on_done(NULL, &res, o);
    }
}

struct ag_otlp *ag_otlp_new(uv_loop_t *loop, struct ag_upstream_client *client,
                            struct ag_config *cfg)
{
    struct ag_otlp *o = AG_NEW(struct ag_otlp);
    o->loop = loop;
    o->client = client;
    if (uv_timer_init(loop, &o->timer) != 0) {
        free(o);
        return NULL;
    }
    o->timer.data = o;
    o->cfg = ag_config_ref(cfg);
    ag_buf_init(&o->pending, PENDING_CAP);
    ag_buf_init(&o->sending, PENDING_CAP + AG_BUF_CAP_SHORT); /* the batch and its envelope */
    return o;
}

void ag_otlp_set_config(struct ag_otlp *o, struct ag_config *cfg)
{
    struct ag_config *old = o->cfg;
    o->cfg = ag_config_ref(cfg);
    ag_config_unref(old);
    if (!cfg->telemetry.otlp_endpoint[0]) {
        o->npending = 0;
        ag_buf_reset(&o->pending);
    }
}

void ag_otlp_record(struct ag_otlp *o, const struct ag_relay_record *rec)
{
    const struct ag_config *c = o->cfg;
    if (!c->telemetry.otlp_endpoint[0] || !rec->trace || !(rec->trace->flags & AG_TRACE_SAMPLED))
        return;
    size_t spans = 1 + (rec->attempt_log ? rec->attempt_log->n : 0);
    if (o->npending + o->nsending + spans > (size_t)c->telemetry.queue_capacity) {
        o->st.dropped += spans;
        return;
    }
    size_t mark = o->pending.len;
    int n = ag_span_json_request(rec, &o->pending);
    if (n < 0) {
        o->pending.len = mark; /* the cut text goes */
        if (o->pending.data)
            o->pending.data[mark] = '\0';
        o->st.dropped += spans;
        return;
    }
    o->npending += (size_t)n;
    if (o->npending >= AG_OTLP_BATCH_SPANS && !o->req) {
        if (o->armed)
            uv_timer_stop(&o->timer);
        o->armed = false;
        arm(o, 0); /* on the next turn of the loop, not inside the relay's callback */
    } else {
        arm(o, (uint64_t)c->telemetry.export_interval_ms);
    }
}

void ag_otlp_stats(const struct ag_otlp *o, struct ag_otlp_stats *out)
{
    *out = o->st;
    out->queued = o->npending + o->nsending;
}

int ag_otlp_metrics(const struct ag_otlp *o, struct ag_buf *out)
{
    struct ag_otlp_stats st = {0};
    if (o)
        ag_otlp_stats(o, &st);
    return ag_buf_printf(
        out,
        "# HELP aigate_telemetry_spans_exported_total Spans the OTLP collector accepted\n"
        "# TYPE aigate_telemetry_spans_exported_total counter\n"
        "aigate_telemetry_spans_exported_total %llu\n"
        "# HELP aigate_telemetry_spans_dropped_total Spans dropped (queue full or export failed)\n"
        "# TYPE aigate_telemetry_spans_dropped_total counter\n"
        "aigate_telemetry_spans_dropped_total %llu\n"
        "# HELP aigate_telemetry_export_failures_total Span exports that failed\n"
        "# TYPE aigate_telemetry_export_failures_total counter\n"
        "aigate_telemetry_export_failures_total %llu\n"
        "# HELP aigate_telemetry_spans_queued Spans waiting for export or in flight\n"
        "# TYPE aigate_telemetry_spans_queued gauge\n"
        "aigate_telemetry_spans_queued %llu\n",
        (unsigned long long)st.exported, (unsigned long long)st.dropped,
        (unsigned long long)st.failed, (unsigned long long)st.queued);
}

static void on_closed(uv_handle_t *h)
{
    struct ag_otlp *o = h->data;
    ag_buf_dispose(&o->pending);
    ag_buf_dispose(&o->sending);
    ag_config_unref(o->cfg);
    free(o);
}

void ag_otlp_close(struct ag_otlp *o)
{
    if (!o)
        return;
    if (o->req)
        ag_upstream_req_cancel(o->req);
    o->req = NULL;
    uv_close((uv_handle_t *)&o->timer, on_closed);
}
