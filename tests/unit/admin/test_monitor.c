/* Unit tests for admin/monitor.c and admin/metrics.c: the ring keeps the newest N with ids that
 * continue, the listener sees each record, records reach the store through the writer with the
 * same ids (bodies redacted, token statistics from the same record), and the metrics text. */
#include "ag_test.h"

#include "admin/metrics.h"
#include "admin/monitor.h"
#include "core/buf.h"
#include "relay/record.h"
#include "store/monitor_query.h"
#include "store/store.h"
#include "store/writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct ag_relay_record rec(const char *model, int status, const char *err)
{
    return (struct ag_relay_record){
        .ts_ms = 1700000000000,
        .request_id = AG_STR("req"),
        .method = AG_STR("POST"),
        .path = AG_STR("/v1/chat/completions"),
        .protocol = "openai-chat",
        .model = ag_str_c(model),
        .served_model = model,
        .account = "a@example.com",
        .status = status,
        .error_class = err,
        .attempts = 2,
        .ttfb_ms = 5,
        .total_ms = 12,
        .input_tokens = 10,
        .output_tokens = 4,
        .client_ip = AG_STR("127.0.0.1"),
        .user_agent = AG_STR("ua"),
        .request_body = AG_STR("{\"api_key\":\"secret\",\"q\":1}"),
        .response_body = AG_STR("ok"),
    };
}

static int seen;
static void listener(const struct ag_monitor_entry *e, void *ud)
{
    seen++;
}

static void ring(void **state)
{
    struct ag_monitor *m = ag_monitor_new(NULL, 3, 10);
    ag_monitor_set_listener(m, listener, NULL);
    for (int i = 0; i < 5; i++) {
        struct ag_relay_record r = rec("m", 200, "");
        assert_int_equal(ag_monitor_record(m, &r), 10 + i);
    }
    assert_int_equal(seen, 5);
    assert_int_equal(ag_monitor_len(m), 3);
    assert_int_equal(ag_monitor_at(m, 0)->rec.id, 14);
    assert_int_equal(ag_monitor_at(m, 2)->rec.id, 12);
    assert_null(ag_monitor_at(m, 3));
    assert_non_null(ag_monitor_find(m, 13));
    assert_null(ag_monitor_find(m, 11));
    assert_null(ag_monitor_find(m, 15));
    assert_string_equal(ag_monitor_find(m, 13)->rec.path, "/v1/chat/completions");
    assert_int_equal(ag_monitor_total(m), 5);
    ag_monitor_free(m);
}

static int got_rows;
static int on_row(const struct ag_request_record *r, void *ud)
{
    got_rows++;
    assert_int_equal(r->id, 7);
    assert_null(strstr(r->request_body.p, "secret"));
    assert_non_null(strstr(r->request_body.p, "[REDACTED]"));
    assert_string_equal(r->error_class, "rate_limited");
    return 0;
}

static void persisted(void **state)
{
    char dir[] = "/tmp/ag-monitor-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct ag_store *s;
    assert_int_equal(ag_store_open(dir, &s, NULL, 0), 0);
    struct ag_writer *w = ag_writer_new(s, NULL);
    struct ag_monitor *m = ag_monitor_new(w, 10, 7);
    ag_monitor_set_capture(m, true, 1024);
    struct ag_relay_record r = rec("gemini-2.5-flash", 429, "rate_limited");
    ag_monitor_record(m, &r);
    assert_int_equal(ag_writer_flush(w), 0);
    assert_int_equal(ag_store_log_get(s, 7, on_row, NULL), 0);
    assert_int_equal(got_rows, 1);
    struct ag_token_stats_row row;
    assert_int_equal(
        ag_store_token_stats_get(s, 1700000000, "a@example.com", "gemini-2.5-flash", &row), 0);
    assert_int_equal(row.requests, 1);
    assert_int_equal(row.errors, 1);
    assert_int_equal(row.input_tokens, 10);
    int64_t max;
    assert_int_equal(ag_store_log_max_id(s, &max), 0);
    assert_int_equal(max, 7);
    ag_monitor_free(m);
    ag_writer_free(w);
    ag_store_free(s);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void metrics_text(void **state)
{
    struct ag_metrics *m = ag_metrics_new();
    struct ag_relay_record r = rec("we\"ird\nmodel", 200, "");
    ag_metrics_observe(m, &r);
    r = rec("gemini-2.5-pro", 429, "rate_limited");
    r.path = AG_STR("/v1beta/models/gemini-2.5-pro:streamGenerateContent");
    ag_metrics_observe(m, &r);
    struct ag_buf b;
    ag_buf_init(&b, 0);
    struct ag_metrics_gauges g = {.writer_queued = 3};
    assert_int_equal(ag_metrics_render(m, &g, &b), 0);
    assert_non_null(strstr(b.data, "model=\"we\\\"ird\\nmodel\""));
    assert_non_null(
        strstr(b.data, "route=\"/v1beta/models/:model:streamGenerateContent\",status=\"429\""));
    assert_non_null(strstr(b.data, "aigate_request_errors_total{route="));
    assert_non_null(strstr(b.data, "aigate_upstream_retries_total{reason=\"rate_limited\"} 1"));
    assert_non_null(strstr(b.data, "aigate_upstream_retries_total{reason=\"ok\"} 1"));
    assert_non_null(strstr(b.data, "le=\"+Inf\"} 1"));
    assert_non_null(strstr(b.data, "aigate_writer_queue_depth 3"));
    ag_buf_dispose(&b);
    ag_metrics_free(m);
}

/* Requests over more label sets than the gateway remembers between requests (12 accounts x 2
 * statuses, interleaved, three rounds): every series counts exactly its own requests and tokens. */
static void metrics_many_label_sets(void **state)
{
    (void)state;
    struct ag_metrics *m = ag_metrics_new();
    char acct[12][32];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 24; i++) {
            snprintf(acct[i % 12], sizeof(acct[0]), "u%d@example.com", i % 12);
            struct ag_relay_record r = rec("gemini-2.5-pro", i < 12 ? 200 : 503, "");
            r.account = acct[i % 12];
            r.input_tokens = i % 12 + 1;
            r.attempts = 1;
            ag_metrics_observe(m, &r);
        }
    }
    struct ag_buf b;
    ag_buf_init(&b, 0);
    struct ag_metrics_gauges g = {0};
    assert_int_equal(ag_metrics_render(m, &g, &b), 0);
    char want[256];
    for (int i = 0; i < 12; i++) {
        for (int k = 0; k < 2; k++) {
            snprintf(want, sizeof(want),
                     "aigate_requests_total{route=\"/v1/chat/completions\",status=\"%s\","
                     "model=\"gemini-2.5-pro\",account=\"u%d@example.com\"} 3\n",
                     k ? "503" : "200", i);
            if (!strstr(b.data, want))
                fail_msg("missing: %s", want);
        }
        snprintf(want, sizeof(want),
                 "aigate_tokens_total{model=\"gemini-2.5-pro\",account=\"u%d@example.com\","
                 "kind=\"input\"} %d\n",
                 i, 6 * (i + 1));
        if (!strstr(b.data, want))
            fail_msg("missing: %s", want);
    }
    assert_non_null(
        strstr(b.data, "aigate_upstream_attempts_total{route=\"/v1/chat/completions\"} 72\n"));
    ag_buf_dispose(&b);
    ag_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ring),
        cmocka_unit_test(persisted),
        cmocka_unit_test(metrics_text),
        cmocka_unit_test(metrics_many_label_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
