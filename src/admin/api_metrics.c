/* admin/api_metrics.c: GET /metrics, the Prometheus text of admin/metrics.c's counters with the
 * live gauges (requests, connections, writer, monitor) and the accounts' states from the pool
 * (API-key accounts' health included).
 * Public when metrics.public is set, else behind the admin check. */
#include "admin/admin_internal.h"

#include "admin/metrics.h"
#include "admin/monitor.h"
#include "config/config.h"
#include "http/server.h"
#include "pool/pool.h"
#include "pool/provider_health.h"
#include "relay/relay.h"
#include "store/writer.h"
#include "telemetry/otlp.h"

static void provider_health_line(void *ud, const struct ag_pool_provider_view *v)
{
    struct ag_buf *o = ud;
    ag_buf_append_c(o, "aigate_provider_account_healthy{account=\"");
    ag_metrics_escape(o, v->email);
    ag_buf_printf(o, "\",provider=\"%s\",state=\"%s\"} %d\n", ag_provider_info(v->kind)->name,
                  ag_pool_health_name(v->health), v->health == AG_POOL_HEALTH_OK);
}

static void account_gauges(struct ag_admin *a, struct ag_buf *o)
{
    struct ag_pool_snapshot snap = {0};
    if (!a->pool || ag_pool_snapshot(a->pool, &snap))
        return;
    int64_t now = adm_now_ms();
    size_t st[4] = {0};
    ag_buf_append_c(o, "# HELP aigate_account_cooldowns Active cooldowns per account\n"
                       "# TYPE aigate_account_cooldowns gauge\n");
    for (size_t i = 0; i < snap.len; i++) {
        const struct ag_pool_account_state *s = &snap.items[i];
        size_t cool = 0;
        for (size_t k = 0; k < s->ncooldowns; k++)
            cool += s->cooldowns[k].until_ms > now;
        st[s->disabled ? 1 : s->forbidden ? 2 : cool ? 3 : 0]++;
        ag_buf_append_c(o, "aigate_account_cooldowns{account=\"");
        ag_metrics_escape(o, s->email);
        ag_buf_printf(o, "\"} %zu\n", cool);
    }
    static const char *const names[4] = {"available", "disabled", "forbidden", "cooling"};
    ag_buf_append_c(o, "# HELP aigate_accounts Accounts by state\n# TYPE aigate_accounts gauge\n");
    for (int i = 0; i < 4; i++)
        ag_buf_printf(o, "aigate_accounts{state=\"%s\"} %zu\n", names[i], st[i]);
    ag_buf_printf(o,
                  "# HELP aigate_pool_waiting Acquisitions waiting for an account\n"
                  "# TYPE aigate_pool_waiting gauge\naigate_pool_waiting %zu\n",
                  snap.waiting);
    ag_buf_append_c(o, "# HELP aigate_provider_account_healthy API-key accounts: 1 when the last "
                       "health check succeeded (state: healthy, unhealthy, unchecked)\n"
                       "# TYPE aigate_provider_account_healthy gauge\n");
    ag_pool_foreach_provider(a->pool, provider_health_line, o);
    ag_pool_snapshot_dispose(&snap);
}

void ag_admin_set_telemetry(struct ag_admin *a, struct ag_otlp *telemetry)
{
    a->telemetry = telemetry;
}

void adm_metrics_handler(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    if (!a->cfg->metrics.public && !adm_authorized(a, req))
        return;
    struct ag_writer_stats ws = {0};
    if (a->writer)
        ag_writer_get_stats(a->writer, &ws);
    struct ag_metrics_gauges g = {
        .active_requests = a->relay ? ag_relay_active(a->relay) : 0,
        .http_connections = a->server ? ag_http_server_connections(a->server) : 0,
        .http_requests = a->server ? ag_http_server_active_requests(a->server) : 0,
        .event_subscribers = a->nsubs,
        .writer_queued = ws.queued,
        .writer_dropped = ws.dropped,
        .writer_written = ws.written,
        .writer_failed = ws.failed,
        .monitor_not_queued = ag_monitor_not_queued(a->monitor),
        .retention_deleted = ws.retention_log_deleted,
        .proxy_running = a->proxy_running,
    };
    struct ag_buf o;
    ag_buf_init(&o, 64u << 20);
    ag_metrics_render(a->metrics, &g, &o);
    account_gauges(a, &o);
    ag_otlp_metrics(a->telemetry, &o);
    ag_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", o.data, o.len);
    ag_buf_dispose(&o);
}
