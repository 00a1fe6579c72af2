/* tests/unit/alerts/test_alerts.c: webhook alerts (alerts/alerts.h) against a webhook receiver on
 * loopback — the project's own HTTP server on the same loop, checking each POST's JSON payload and
 * its X-Aigate-Signature with an HMAC computed here independently (OpenSSL). Retries after a 500,
 * giving up, a transport failure, the bounded queue (drops counted), the repeat guard, event
 * filters and the upstream error-rate window. */
#include "ag_test.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <yyjson.h>

#include "alerts/alerts.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/time.h"
#include "http/router.h"
#include "http/server.h"
#include "upstream/client.h"

#define MAX_GOT 32

struct got {
    int hook; /* 1 or 2: which receiver path */
    char body[2048];
    char sig[128];
    char event_hdr[64];
    char ctype[64];
};

struct rx {
    uv_loop_t loop;
    struct ag_router *router;
    struct ag_http_server *srv;
    struct ag_upstream_client *client;
    struct ag_alerts *alerts;
    struct ag_config *cfg;
    int port;
    struct got got[MAX_GOT];
    int ngot;
    int fail_first; /* answer 500 to this many requests first */
    int always;     /* when non-zero, answer this status to everything */
    bool hold;      /* keep requests unanswered */
    struct ag_http_req *held[MAX_GOT];
    int nheld;
};

static struct rx *R;

static void copy_header(struct ag_http_req *req, const char *name, char *out, size_t cap)
{
    struct ag_str v = ag_http_req_header(req, name);
    snprintf(out, cap, "%.*s", v.p ? (int)v.len : 0, v.p ? v.p : "");
}

static void h_hook(struct ag_http_req *req, void *ud)
{
    struct rx *r = R;
    if (r->ngot < MAX_GOT) {
        struct got *g = &r->got[r->ngot++];
        g->hook = (int)(intptr_t)ud;
        snprintf(g->body, sizeof(g->body), "%.*s", (int)req->body.len,
                 req->body.data ? req->body.data : "");
        copy_header(req, "x-aigate-signature", g->sig, sizeof(g->sig));
        copy_header(req, "x-aigate-event", g->event_hdr, sizeof(g->event_hdr));
        copy_header(req, "content-type", g->ctype, sizeof(g->ctype));
    }
    if (r->hold && r->nheld < MAX_GOT) {
        r->held[r->nheld++] = req;
        return;
    }
    int status = 200;
    if (r->always)
        status = r->always;
    else if (r->fail_first > 0) {
        r->fail_first--;
        status = 500;
    }
    ag_http_respond(req, status, "text/plain", "ok", 2);
}

static bool run_until(bool (*cond)(struct rx *), int timeout_ms)
{
    uint64_t end = ag_now_ms() + (uint64_t)timeout_ms;
    for (int i = 0; i < 200000 && !cond(R) && ag_now_ms() < end; i++)
        uv_run(&R->loop, UV_RUN_NOWAIT), uv_sleep(1);
    return cond(R);
}

/* Config with the receiver's port in place of each "PORT". */
static void configure(const char *text)
{
    char json[4096], port[16];
    struct ag_buf err;
    size_t n = 0;
    snprintf(port, sizeof(port), "%d", R->port);
    for (const char *p = text; *p && n + 8 < sizeof(json);) {
        if (strncmp(p, "PORT", 4) == 0) {
            n += (size_t)snprintf(json + n, sizeof(json) - n, "%s", port);
            p += 4;
        } else {
            json[n++] = *p++;
        }
    }
    json[n] = '\0';
    ag_buf_init(&err, 4096);
    struct ag_config *cfg = NULL;
    if (ag_config_from_json(json, strlen(json), &cfg, &err) != 0)
        fail_msg("config: %s", err.data);
    ag_buf_dispose(&err);
    if (R->alerts)
        ag_alerts_set_config(R->alerts, cfg);
    else
        R->alerts = ag_alerts_new(&R->loop, R->client, cfg);
    ag_config_unref(R->cfg);
    R->cfg = cfg;
    ag_alerts_set_backoff(R->alerts, 50);
}

static int setup(void **state)
{
    R = AG_NEW(struct rx);
    uv_loop_init(&R->loop);
    R->router = ag_router_new();
    struct ag_route r1 = {"POST",    "/hook/one",      h_hook,
                          (void *)1, AG_ACCESS_PUBLIC, &ag_errfmt_plain};
    struct ag_route r2 = {"POST",    "/hook/two",      h_hook,
                          (void *)2, AG_ACCESS_PUBLIC, &ag_errfmt_plain};
    assert_int_equal(ag_router_add(R->router, &r1), 0);
    assert_int_equal(ag_router_add(R->router, &r2), 0);
    R->srv = ag_http_server_new(&R->loop, R->router, NULL);
    assert_int_equal(ag_http_server_listen(R->srv, "127.0.0.1", 0), 0);
    R->port = ag_http_server_port(R->srv);
    R->client = ag_upstream_client_new(&R->loop, NULL);
    assert_non_null(R->client);
    *state = R;
    return 0;
}

static void set_true(void *ud)
{
    *(bool *)ud = true;
}

static int teardown(void **state)
{
    bool srv_done = false, cl_done = false;
    ag_alerts_close(R->alerts);
    ag_http_server_shutdown(R->srv, 100, set_true, &srv_done);
    ag_upstream_client_close(R->client, set_true, &cl_done);
    for (int i = 0; i < 5000 && (!srv_done || !cl_done || uv_loop_alive(&R->loop)); i++)
        uv_run(&R->loop, UV_RUN_NOWAIT), uv_sleep(1);
    ag_http_server_free(R->srv);
    ag_router_free(R->router);
    ag_config_unref(R->cfg);
    assert_int_equal(uv_loop_close(&R->loop), 0);
    free(R);
    return 0;
}

/* A fresh alerts object and receiver state for each test. */
static int reset(void **state)
{
    if (R->alerts) {
        ag_alerts_close(R->alerts);
        R->alerts = NULL;
        uv_run(&R->loop, UV_RUN_NOWAIT);
    }
    memset(R->got, 0, sizeof(R->got));
    R->ngot = 0;
    R->fail_first = 0;
    R->always = 0;
    R->hold = false;
    R->nheld = 0;
    return 0;
}

static bool got2(struct rx *r)
{
    return r->ngot >= 2;
}

static bool got1(struct rx *r)
{
    return r->ngot >= 1;
}

static bool idle(struct rx *r)
{
    struct ag_alerts_stats st;
    ag_alerts_stats(r->alerts, &st);
    return st.pending == 0;
}

static const char *jstr(yyjson_val *o, const char *k)
{
    const char *s = yyjson_get_str(yyjson_obj_get(o, k));
    return s ? s : "(missing)";
}

static void test_payload_and_signature(void **state)
{
    configure("{\"alerts\":{\"instance\":\"gw-test\",\"webhooks\":["
              "{\"url\":\"http://127.0.0.1:PORT/hook/one\",\"events\":[\"account.disabled\"],"
              "\"secret\":\"top-secret-key\"},"
              "{\"url\":\"http://user:pw@127.0.0.1:PORT/hook/two\",\"events\":[\"*\"]}]}}");
    assert_int_equal(ag_alerts_emit(R->alerts, AG_ALERT_ACCOUNT_DISABLED, "a@example.com",
                                    "invalid_grant: Token has been expired or revoked."),
                     2);
    assert_true(run_until(got2, 10000));
    assert_true(run_until(idle, 10000));
    for (int i = 0; i < 2; i++) {
        struct got *g = &R->got[i];
        yyjson_doc *d = yyjson_read(g->body, strlen(g->body), 0);
        assert_non_null(d);
        yyjson_val *o = yyjson_doc_get_root(d);
        assert_int_equal(yyjson_obj_size(o), 5);
        assert_string_equal(jstr(o, "event"), "account.disabled");
        assert_string_equal(jstr(o, "subject"), "a@example.com");
        assert_string_equal(jstr(o, "message"),
                            "invalid_grant: Token has been expired or revoked.");
        assert_string_equal(jstr(o, "instance"), "gw-test");
        const char *t = jstr(o, "time");
        assert_int_equal(strlen(t), 20); /* 2026-01-02T03:04:05Z */
        assert_int_equal(t[10], 'T');
        assert_int_equal(t[19], 'Z');
        yyjson_doc_free(d);
        assert_string_equal(g->ctype, "application/json");
        assert_string_equal(g->event_hdr, "account.disabled");
        if (g->hook == 1) {
            /* the receiver's own check: HMAC-SHA-256 of the exact body under the secret */
            unsigned char mac[32];
            unsigned int n = 0;
            char want[128] = "sha256=";
            HMAC(EVP_sha256(), "top-secret-key", 14, (const unsigned char *)g->body,
                 strlen(g->body), mac, &n);
            for (unsigned k = 0; k < n; k++)
                snprintf(want + 7 + 2 * k, 3, "%02x", mac[k]);
            assert_string_equal(g->sig, want);
        } else {
            assert_string_equal(g->sig, "");
        }
    }
    assert_true(R->got[0].hook != R->got[1].hook);

    /* an event only the "*" webhook wants */
    assert_int_equal(ag_alerts_emit(R->alerts, AG_ALERT_POOL_ALL_LIMITED, "claude", "all limited"),
                     1);
    assert_true(run_until(idle, 10000));
    assert_int_equal(R->ngot, 3);
    assert_int_equal(R->got[2].hook, 2);

    struct ag_alerts_delivery d[8];
    size_t n = ag_alerts_deliveries(R->alerts, d, 8);
    assert_int_equal(n, 3);
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%d", R->port);
    assert_string_equal(d[0].event, "pool.all_limited"); /* newest first */
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(d[i].host, host); /* no credentials, no path */
        assert_int_equal(d[i].status, 200);
        assert_int_equal(d[i].attempts, 1);
        assert_true(d[i].delivered);
    }
    struct ag_alerts_stats st;
    ag_alerts_stats(R->alerts, &st);
    assert_int_equal(st.delivered, 3);
    assert_int_equal(st.emitted, 2);
}

static void test_retry_after_500(void **state)
{
    configure("{\"alerts\":{\"webhooks\":[{\"url\":\"http://127.0.0.1:PORT/hook/one\","
              "\"events\":[\"*\"],\"secret\":\"k\"}]}}");
    R->fail_first = 1;
    assert_int_equal(
        ag_alerts_emit(R->alerts, AG_ALERT_ACCOUNT_VALIDATION, "b@example.com", "needs validation"),
        1);
    assert_true(run_until(got2, 10000));
    assert_true(run_until(idle, 10000));
    assert_int_equal(R->ngot, 2);
    /* the retry is the same body with the same signature */
    assert_string_equal(R->got[0].body, R->got[1].body);
    assert_string_equal(R->got[0].sig, R->got[1].sig);
    struct ag_alerts_delivery d[4];
    assert_int_equal(ag_alerts_deliveries(R->alerts, d, 4), 1);
    assert_true(d[0].delivered);
    assert_int_equal(d[0].attempts, 2);
    assert_int_equal(d[0].status, 200);
    struct ag_alerts_stats st;
    ag_alerts_stats(R->alerts, &st);
    assert_int_equal(st.retries, 1);
    assert_int_equal(st.delivered, 1);
    assert_int_equal(st.failed, 0);
}

static void test_give_up(void **state)
{
    configure("{\"alerts\":{\"max_attempts\":3,\"webhooks\":[{\"url\":"
              "\"http://127.0.0.1:PORT/hook/one\",\"events\":[\"*\"]}]}}");
    R->always = 503;
    assert_int_equal(ag_alerts_emit(R->alerts, AG_ALERT_TEST, "", "test"), 1);
    assert_true(run_until(idle, 10000));
    assert_int_equal(R->ngot, 3);
    struct ag_alerts_delivery d[4];
    assert_int_equal(ag_alerts_deliveries(R->alerts, d, 4), 1);
    assert_false(d[0].delivered);
    assert_int_equal(d[0].attempts, 3);
    assert_int_equal(d[0].status, 503);
    assert_string_equal(d[0].error, "HTTP 503");
    struct ag_alerts_stats st;
    ag_alerts_stats(R->alerts, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.retries, 2);
}

static void test_transport_failure(void **state)
{
    /* port 1 on loopback: nothing listens there */
    configure("{\"alerts\":{\"max_attempts\":2,\"webhooks\":[{\"url\":"
              "\"http://127.0.0.1:1/x\",\"events\":[\"*\"]}]}}");
    assert_int_equal(ag_alerts_emit(R->alerts, AG_ALERT_TEST, "", "test"), 1);
    assert_true(run_until(idle, 20000));
    struct ag_alerts_delivery d[4];
    assert_int_equal(ag_alerts_deliveries(R->alerts, d, 4), 1);
    assert_false(d[0].delivered);
    assert_int_equal(d[0].status, 0);
    assert_int_equal(d[0].attempts, 2);
    assert_true(strlen(d[0].error) > 0);
    assert_string_equal(d[0].host, "127.0.0.1:1");
}

static bool held3(struct rx *r)
{
    return r->nheld >= 3;
}

static void test_queue_bound(void **state)
{
    configure("{\"alerts\":{\"queue_capacity\":3,\"repeat_s\":0,\"webhooks\":[{\"url\":"
              "\"http://127.0.0.1:PORT/hook/one\",\"events\":[\"*\"]}]}}");
    R->hold = true;
    int queued[5];
    for (int i = 0; i < 5; i++) {
        char subj[16];
        snprintf(subj, sizeof(subj), "acct-%d", i);
        queued[i] = ag_alerts_emit(R->alerts, AG_ALERT_ACCOUNT_DISABLED, subj, "disabled");
    }
    assert_int_equal(queued[0], 1);
    assert_int_equal(queued[1], 1);
    assert_int_equal(queued[2], 1);
    assert_int_equal(queued[3], 0);
    assert_int_equal(queued[4], 0);
    struct ag_alerts_stats st;
    ag_alerts_stats(R->alerts, &st);
    assert_int_equal(st.dropped, 2);
    assert_int_equal(st.pending, 3);
    /* the three in flight reach the receiver; release them */
    assert_true(run_until(held3, 10000));
    for (int i = 0; i < R->nheld; i++)
        ag_http_respond(R->held[i], 200, NULL, NULL, 0);
    R->nheld = 0;
    R->hold = false;
    assert_true(run_until(idle, 10000));
    ag_alerts_stats(R->alerts, &st);
    assert_int_equal(st.delivered, 3);
    assert_int_equal(R->ngot, 3);
    /* room again */
    assert_int_equal(ag_alerts_emit(R->alerts, AG_ALERT_ACCOUNT_DISABLED, "acct-9", "x"), 1);
    assert_true(run_until(idle, 10000));
}

static void test_repeat_guard(void **state)
{
    configure("{\"alerts\":{\"repeat_s\":300,\"webhooks\":[{\"url\":"
              "\"http://127.0.0.1:PORT/hook/one\",\"events\":[\"pool.all_limited\"]}]}}");
    assert_int_equal(ag_alerts_emit(R->alerts, AG_ALERT_POOL_ALL_LIMITED, "claude", "m"), 1);
    assert_int_equal(ag_alerts_emit(R->alerts, AG_ALERT_POOL_ALL_LIMITED, "claude", "m"), 0);
    assert_int_equal(ag_alerts_emit(R->alerts, AG_ALERT_POOL_ALL_LIMITED, "gemini", "m"), 1);
    /* budget alerts come once per threshold from the keys: never held back */
    configure("{\"alerts\":{\"repeat_s\":300,\"webhooks\":[{\"url\":"
              "\"http://127.0.0.1:PORT/hook/one\",\"events\":[\"pool.all_limited\","
              "\"key.budget\"]}]}}");
    assert_int_equal(ag_alerts_emit(R->alerts, AG_ALERT_KEY_BUDGET, "ci-bot", "80%"), 1);
    assert_int_equal(ag_alerts_emit(R->alerts, AG_ALERT_KEY_BUDGET, "ci-bot", "100%"), 1);
    /* an event no webhook wants is not counted at all */
    assert_int_equal(ag_alerts_emit(R->alerts, AG_ALERT_ACCOUNT_DISABLED, "x", "m"), 0);
    assert_true(run_until(idle, 10000));
    struct ag_alerts_stats st;
    ag_alerts_stats(R->alerts, &st);
    assert_int_equal(st.suppressed, 1);
    assert_int_equal(st.emitted, 4);
    assert_int_equal(R->ngot, 4);
}

static void test_error_rate(void **state)
{
    configure("{\"alerts\":{\"error_rate_threshold\":50,\"error_rate_min_requests\":4,"
              "\"error_rate_window_s\":600,\"webhooks\":[{\"url\":"
              "\"http://127.0.0.1:PORT/hook/two\",\"events\":[\"upstream.error_rate\"]}]}}");
    ag_alerts_note_request(R->alerts, false);
    ag_alerts_note_request(R->alerts, false);
    ag_alerts_note_request(R->alerts, true); /* 1 of 3: under the minimum */
    struct ag_alerts_stats st;
    ag_alerts_stats(R->alerts, &st);
    assert_int_equal(st.emitted, 0);
    ag_alerts_note_request(R->alerts, true); /* 2 of 4 = 50 % */
    ag_alerts_stats(R->alerts, &st);
    assert_int_equal(st.emitted, 1);
    assert_true(run_until(got1, 10000));
    assert_true(strstr(R->got[0].body, "\"event\":\"upstream.error_rate\"") != NULL);
    assert_true(strstr(R->got[0].body, "2 of the last 4 upstream requests (50%)") != NULL);
    /* threshold 0 is off */
    configure("{\"alerts\":{\"error_rate_threshold\":0,\"error_rate_min_requests\":1,"
              "\"repeat_s\":0,\"webhooks\":[{\"url\":"
              "\"http://127.0.0.1:PORT/hook/two\",\"events\":[\"*\"]}]}}");
    for (int i = 0; i < 10; i++)
        ag_alerts_note_request(R->alerts, true);
    ag_alerts_stats(R->alerts, &st);
    assert_int_equal(st.emitted, 1);
    assert_true(run_until(idle, 10000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_payload_and_signature, reset),
        cmocka_unit_test_setup(test_retry_after_500, reset),
        cmocka_unit_test_setup(test_give_up, reset),
        cmocka_unit_test_setup(test_transport_failure, reset),
        cmocka_unit_test_setup(test_queue_bound, reset),
        cmocka_unit_test_setup(test_repeat_guard, reset),
        cmocka_unit_test_setup(test_error_rate, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
