/* admin/api_alerts.c: webhook alerts (alerts/alerts.h) in the admin API — GET /api/alerts (the
 * webhooks in force, shown by host and events only; the counters; the last deliveries, newest
 * first) and POST /api/alerts/test (sends "alert.test" to every webhook that takes it, so an
 * admin can check a receiver; answers 202 with how many deliveries were queued). The webhooks
 * themselves are configuration (alerts.webhooks): set through /api/config or config.json. */
#include "admin/admin_internal.h"
#include "alerts/alerts.h"
#include "config/config.h"

#include <stdio.h>
#include <string.h>

void ag_admin_set_alerts(struct ag_admin *a, struct ag_alerts *alerts)
{
    a->alerts = alerts;
}

/* The host[:port] of a webhook URL, without user info or path (which may carry tokens). */
static void url_host(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    for (const char *at; (at = memchr(p, '@', n));) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    snprintf(out, cap, "%.*s", (int)(n < 255 ? n : 255), p);
}

static void h_get(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    const struct ag_config_webhooks *hooks = &a->cfg->alerts.webhooks;
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    ag_jsonw_open(&b, NULL, '{');
    ag_jsonw_bool(&b, "running", a->alerts != NULL);
    ag_jsonw_open(&b, "webhooks", '[');
    for (size_t i = 0; i < hooks->n; i++) {
        char host[256];
        url_host(hooks->v[i].url, host, sizeof(host));
        ag_jsonw_open(&b, NULL, '{');
        ag_jsonw_str(&b, "host", host);
        ag_jsonw_open(&b, "events", '[');
        for (size_t j = 0; j < hooks->v[i].events.n; j++)
            ag_jsonw_str(&b, NULL, hooks->v[i].events.v[j]);
        ag_jsonw_close(&b, ']');
        ag_jsonw_bool(&b, "signed", hooks->v[i].secret[0] != '\0');
        ag_jsonw_close(&b, '}');
    }
    ag_jsonw_close(&b, ']');
    struct ag_alerts_stats st = {0};
    if (a->alerts)
        ag_alerts_stats(a->alerts, &st);
    ag_jsonw_open(&b, "stats", '{');
    ag_jsonw_int(&b, "emitted", (int64_t)st.emitted);
    ag_jsonw_int(&b, "suppressed", (int64_t)st.suppressed);
    ag_jsonw_int(&b, "delivered", (int64_t)st.delivered);
    ag_jsonw_int(&b, "failed", (int64_t)st.failed);
    ag_jsonw_int(&b, "dropped", (int64_t)st.dropped);
    ag_jsonw_int(&b, "retries", (int64_t)st.retries);
    ag_jsonw_int(&b, "pending", (int64_t)st.pending);
    ag_jsonw_close(&b, '}');
    ag_jsonw_open(&b, "deliveries", '[');
    static struct ag_alerts_delivery d[AG_ALERTS_RING]; /* loop thread only */
    size_t n = a->alerts ? ag_alerts_deliveries(a->alerts, d, AG_ALERTS_RING) : 0;
    for (size_t i = 0; i < n; i++) {
        ag_jsonw_open(&b, NULL, '{');
        ag_jsonw_int(&b, "time_ms", d[i].time_ms);
        ag_jsonw_str(&b, "event", d[i].event);
        ag_jsonw_str(&b, "subject", d[i].subject);
        ag_jsonw_str(&b, "host", d[i].host);
        ag_jsonw_int(&b, "status", d[i].status);
        ag_jsonw_int(&b, "attempts", d[i].attempts);
        ag_jsonw_bool(&b, "delivered", d[i].delivered);
        ag_jsonw_str(&b, "error", d[i].error);
        ag_jsonw_close(&b, '}');
    }
    ag_jsonw_close(&b, ']');
    ag_jsonw_close(&b, '}');
    adm_json(req, 200, &b);
    ag_buf_dispose(&b);
}

static void h_test(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    if (!a->alerts) {
        adm_error(req, 503, "unavailable", NULL, "alerts are not running");
        return;
    }
    int n = ag_alerts_emit(a->alerts, AG_ALERT_TEST, "",
                           "a test alert sent from the admin API (POST /api/alerts/test)");
    if (n < 0) {
        adm_error_rc(req, n, NULL);
        return;
    }
    if (n == 0) {
        adm_error(req, 409, "conflict", "alerts.webhooks",
                  "no webhook takes alert.test (list \"*\" or \"alert.test\" in its events), or "
                  "the delivery queue is full");
        return;
    }
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_buf_printf(&b, "{\"queued\":%d}", n);
    adm_json(req, 202, &b);
    ag_buf_dispose(&b);
}

const struct adm_route_def adm_alerts_routes[] = {
    {"GET", "/api/alerts", h_get, false},
    {"POST", "/api/alerts/test", h_test, false},
    {NULL, NULL, NULL, false},
};
