/* The HTTP server against hostile clients and web pages, over real loopback sockets: absolute-form
 * targets, auth decided before the body, the body budget and the connection limit, fixed header
 * deadlines and the minimum body rate, the Host / Origin / Content-Type rules, and the failed
 * admin authentication limit. Each case would have failed (or crashed) on the server before these
 * rules. */
#include "server_fixture.h"

#include <signal.h>

static bool alive(int port)
{
    struct rh_resp r;
    bool ok = rh_request(port, "GET", "/healthz", NULL, NULL, &r) && r.status == 200;
    if (ok)
        rh_resp_free(&r);
    return ok;
}

/* Sends raw bytes on a new connection and reads one response; its status, or 0 when none came. */
static int raw_status(int port, const char *bytes, struct rh_resp *out)
{
    struct rh_conn c;
    struct rh_resp r;
    int st = 0;
    if (!rh_connect(&c, port, 3000))
        return -1;
    if (rh_send_str(&c, bytes) && rh_read(&c, &r, false)) {
        st = r.status;
        if (out)
            *out = r;
        else
            rh_resp_free(&r);
    }
    rh_close(&c);
    return st;
}

static void absolute_form_targets(void **state)
{
    struct fixture *fx = fx_start(NULL, NULL);
    struct rh_resp r;
    /* The 26-byte request that used to read past the buffer. */
    assert_int_equal(raw_status(fx->port, "GET http:// HTTP/1.0\r\n\r\n", NULL), 400);
    assert_int_equal(raw_status(fx->port, "GET https:// HTTP/1.0\r\n\r\n", NULL), 400);
    assert_int_equal(raw_status(fx->port, "GET http://? HTTP/1.0\r\n\r\n", NULL), 400);
    assert_int_equal(raw_status(fx->port, "GET http://h#f HTTP/1.0\r\n\r\n", NULL), 400);
    /* An authority without a path means "/" (no route there: 404, in one piece). */
    assert_int_equal(raw_status(fx->port, "GET https://x?a HTTP/1.1\r\nHost: x\r\n\r\n", NULL),
                     404);
    assert_int_equal(raw_status(fx->port, "GET http://h HTTP/1.1\r\nHost: h\r\n\r\n", NULL), 404);
    /* Both schemes, any case, reach the path. */
    assert_int_equal(
        raw_status(fx->port, "GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: x\r\n\r\n", NULL),
        200);
    assert_int_equal(
        raw_status(fx->port, "GET HTTPS://a.b/healthz?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", NULL), 200);
    assert_int_equal(raw_status(fx->port,
                                "POST http://h/v1beta/models/m:generateContent?alt=sse HTTP/1.1\r\n"
                                "Host: x\r\nContent-Length: 2\r\n\r\n{}",
                                &r),
                     200);
    assert_string_equal(r.body, "m|generateContent");
    rh_resp_free(&r);
    assert_true(alive(fx->port));
    fx_stop(fx);
}

static void auth_is_decided_before_the_body(void **state)
{
    struct ag_auth_policy pol = {.mode = AG_AUTH_MODE_STRICT, .api_key = "sk-right"};
    struct fixture *fx = fx_start(NULL, &pol);
    struct rh_conn c;
    struct rh_resp r;
    /* 50 MB announced, nothing sent: the refusal comes at once, without a 100 Continue. */
    assert_true(rh_connect(&c, fx->port, 3000));
    assert_true(rh_send_str(&c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                                "Content-Length: 50000000\r\n\r\n"));
    assert_true(rh_read_any(&c, &r));
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "invalid_api_key"));
    rh_resp_free(&r);
    /* The body is never read: the connection ends (lingering) instead. */
    assert_true(rh_wait_closed(&c, 5000));
    rh_close(&c);

    /* A small refused body is dropped and the connection serves the next request. */
    assert_true(rh_connect(&c, fx->port, 3000));
    assert_true(rh_send_str(&c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                "Authorization: Bearer sk-wrong\r\nContent-Length: 2\r\n\r\n{}"
                                "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                "Authorization: Bearer sk-right\r\n\r\n"));
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 401);
    rh_resp_free(&r);
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    rh_close(&c);
    fx_stop(fx);
}

static void body_budget_and_connection_limit(void **state)
{
    struct ag_http_limits lim = {.max_body_inflight = 1024 * 1024, .max_connections = 3};
    struct fixture *fx = fx_start(&lim, NULL);
    struct rh_conn a, b, extra;
    struct rh_resp r;
    char v[32];
    /* A holds 800 KB of budget while its body arrives; B does not fit beside it. */
    assert_true(rh_connect(&a, fx->port, 3000));
    assert_true(rh_send_str(&a, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 800000\r\n\r\n"
                                "partial"));
    assert_true(fx_wait_counts(fx, 1, 1)); /* A's headers are in: its budget is held */
    assert_true(rh_connect(&b, fx->port, 3000));
    assert_true(
        rh_send_str(&b, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 800000\r\n\r\n"));
    assert_true(rh_read(&b, &r, false));
    assert_int_equal(r.status, 503);
    assert_true(rh_header(&r, "retry-after", v, sizeof(v)));
    rh_resp_free(&r);
    rh_close(&b);
    assert_true(fx_wait_counts(fx, 1, 1)); /* B is gone, A still holds its budget */
    /* A third and a fourth connection: the fourth is over the limit of three and closed. */
    assert_true(rh_connect(&b, fx->port, 3000));
    assert_true(fx_wait_counts(fx, 2, 1));
    assert_true(rh_connect(&extra, fx->port, 3000));
    assert_true(fx_wait_counts(fx, 3, 1));
    struct rh_conn over;
    assert_true(rh_connect(&over, fx->port, 3000));
    assert_true(rh_wait_closed(&over, 3000));
    rh_close(&over);
    rh_close(&extra);
    rh_close(&b);
    rh_close(&a);
    /* Once A is gone its budget is back. */
    assert_true(fx_wait_counts(fx, 0, 0));
    struct ag_buf big;
    ag_buf_init(&big, 0);
    for (int i = 0; i < 800000; i++)
        ag_buf_append(&big, "x", 1);
    ag_buf_append(&big, "", 1);
    assert_true(rh_request(fx->port, "POST", "/echo", NULL, big.data, &r));
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 800000);
    rh_resp_free(&r);
    ag_buf_dispose(&big);
    fx_stop(fx);
}

static void slow_clients_meet_fixed_deadlines(void **state)
{
    struct ag_http_limits lim = {
        .header_timeout_ms = 400, .idle_timeout_ms = 400, .min_body_rate = 1000};
    struct fixture *fx = fx_start(&lim, NULL);
    struct rh_conn c;
    struct rh_resp r;
    bool got = false;
    /* A body trickling at 100 bytes/s against a minimum of 1000 bytes/s: 408 after the grace. */
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(
        rh_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"));
    for (int i = 0; i < 60 && !got; i++) { /* bounded: 60 sends */
        rh_wait_readable(&c, 100);         /* 10 bytes per 100 ms, or sooner once answered */
        if (!rh_send_str(&c, "0123456789"))
            break;
        if (i > 3 && rh_read(&c, &r, false)) {
            assert_int_equal(r.status, 408);
            rh_resp_free(&r);
            got = true;
        }
    }
    assert_true(got);
    rh_close(&c);

    /* Stray CRLFs between requests are not a request: the idle deadline still holds. */
    assert_true(rh_connect(&c, fx->port, 5000));
    bool closed = false;
    for (int i = 0; i < 40 && !closed; i++) { /* bounded: 40 rounds of about 100 ms */
        if (!rh_send_str(&c, "\r\n") || rh_wait_closed(&c, 100))
            closed = true;
    }
    assert_true(closed);
    rh_close(&c);
    assert_true(alive(fx->port));
    fx_stop(fx);
}

static int call_host(int port, const char *host)
{
    char req[256];
    snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
             host);
    return raw_status(port, req, NULL);
}

static void loopback_host_rule(void **state)
{
    struct fixture *fx = fx_start_with(NULL, NULL, true, NULL);
    const char *ok[] = {"127.0.0.1",  "127.0.0.1:8045", "localhost",   "LOCALHOST:1",
                        "[::1]",      "[::1]:8045",     "a.localhost", "127.9.8.7:80",
                        "localhost.", "app.internal:9"};
    const char *bad[] = {"evil.example",
                         "evil.example:8045",
                         "127.0.0.1.evil.example",
                         "192.168.1.5",
                         "[::2]",
                         "localhost.evil",
                         "[::1",
                         "a:b:c",
                         ":8045"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (call_host(fx->port, ok[i]) != 200)
            fail_msg("Host %s refused", ok[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (call_host(fx->port, bad[i]) != 403)
            fail_msg("Host %s served", bad[i]);
    }
    /* A DNS-rebinding page: same-origin to itself, but its Host is refused, in the route's own
     * protocol format. */
    struct rh_resp r;
    assert_int_equal(raw_status(fx->port,
                                "POST /v1/chat/completions HTTP/1.1\r\nHost: evil.example:8045\r\n"
                                "Origin: http://evil.example:8045\r\n"
                                "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
                                &r),
                     403);
    assert_non_null(strstr(r.body, "\"error\""));
    assert_non_null(strstr(r.body, "allowed_hosts"));
    rh_resp_free(&r);
    fx_stop(fx);
}

static int post_chat(int port, const char *headers)
{
    char req[1024];
    snprintf(req, sizeof(req),
             "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8045\r\n%s"
             "Content-Length: 2\r\nConnection: close\r\n\r\n{}",
             headers);
    return raw_status(port, req, NULL);
}

static void web_pages_cannot_use_an_open_gateway(void **state)
{
    /* Auth off (the default). */
    struct fixture *fx = fx_start_with(NULL, NULL, true, NULL);
    /* Tools: curl -d (form-encoded) and no content type keep working. */
    assert_int_equal(post_chat(fx->port, "Content-Type: application/json\r\n"), 200);
    assert_int_equal(post_chat(fx->port, "Content-Type: application/x-www-form-urlencoded\r\n"),
                     200);
    assert_int_equal(post_chat(fx->port, ""), 200);
    /* The gateway's own UI (same origin) works. */
    assert_int_equal(
        post_chat(fx->port, "Origin: http://127.0.0.1:8045\r\nContent-Type: application/json\r\n"),
        200);
    /* A page of another origin: a CORS request, a simple text/plain POST, a form POST. */
    assert_int_equal(
        post_chat(fx->port, "Origin: http://evil.example\r\nContent-Type: application/json\r\n"),
        403);
    assert_int_equal(
        post_chat(fx->port, "Origin: http://evil.example\r\nContent-Type: text/plain\r\n"), 403);
    assert_int_equal(post_chat(fx->port, "Origin: null\r\nContent-Type: application/json\r\n"),
                     403);
    assert_int_equal(
        post_chat(fx->port, "Sec-Fetch-Site: cross-site\r\nContent-Type: application/json\r\n"),
        403);
    /* A simple POST from the same origin with a form-like type: refused too (browser). */
    assert_int_equal(post_chat(fx->port, "Origin: http://127.0.0.1:8045\r\n"
                                         "Content-Type: application/x-www-form-urlencoded\r\n"),
                     415);
    /* text/plain is never JSON. */
    assert_int_equal(post_chat(fx->port, "Content-Type: text/plain\r\n"), 415);
    /* Multipart only where the route takes files. */
    assert_int_equal(post_chat(fx->port, "Content-Type: multipart/form-data; boundary=x\r\n"), 415);
    struct rh_resp r;
    assert_true(rh_request(fx->port, "POST", "/upload",
                           "Content-Type: multipart/form-data; boundary=x\r\n", "--x--", &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    /* A GET of a public page (the UI, the OAuth callback) from another site is a navigation. */
    assert_true(rh_request(fx->port, "GET", "/slow?ms=1",
                           "Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: navigate\r\n", NULL, &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    fx_stop(fx);

    /* An origin the user listed may use the open gateway; others still may not. */
    fx = fx_start_with(NULL, NULL, true, "http://chat.local:3000");
    assert_int_equal(post_chat(fx->port, "Origin: http://chat.local:3000\r\n"
                                         "Content-Type: application/json\r\n"),
                     200);
    assert_int_equal(
        post_chat(fx->port, "Origin: http://evil.example\r\nContent-Type: application/json\r\n"),
        403);
    fx_stop(fx);

    /* Auth on: "*" lets a page that shows the key through (it cannot know the key). */
    struct ag_auth_policy pol = {.mode = AG_AUTH_MODE_ALL_EXCEPT_HEALTH, .api_key = "sk-right"};
    fx = fx_start_with(NULL, &pol, true, NULL);
    assert_int_equal(post_chat(fx->port, "Origin: http://evil.example\r\n"
                                         "Content-Type: application/json\r\n"
                                         "Authorization: Bearer sk-right\r\n"),
                     200);
    assert_int_equal(
        post_chat(fx->port, "Origin: http://evil.example\r\nContent-Type: application/json\r\n"),
        401);
    fx_stop(fx);
}

static int admin_get(int port, const char *headers, char *retry, size_t cap)
{
    char req[512];
    struct rh_resp r;
    snprintf(req, sizeof(req), "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", headers);
    int st = raw_status(port, req, &r);
    if (st > 0) {
        if (retry && !rh_header(&r, "retry-after", retry, cap))
            retry[0] = '\0';
        rh_resp_free(&r);
    }
    return st;
}

static void admin_guessing_is_limited_and_pages_cannot_lock_out(void **state)
{
    struct ag_auth_policy pol = {.mode = AG_AUTH_MODE_OFF, .api_key = "sk-right"};
    struct fixture *fx = fx_start_with(NULL, &pol, true, NULL);
    char retry[32];
    /* A web page hammering the admin API is refused by origin, without counting. */
    for (int i = 0; i < 20; i++)
        assert_int_equal(admin_get(fx->port,
                                   "Origin: http://evil.example\r\nAuthorization: Bearer x\r\n",
                                   NULL, 0),
                         403);
    for (int i = 0; i < 20; i++)
        assert_int_equal(admin_get(fx->port, "Sec-Fetch-Site: cross-site\r\n", NULL, 0), 403);
    assert_int_equal(admin_get(fx->port, "Authorization: Bearer sk-right\r\n", NULL, 0), 200);
    /* A local guesser: five failures (the default per minute), then a lockout with Retry-After
     * that holds even for the right secret. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(admin_get(fx->port, "Authorization: Bearer guess\r\n", NULL, 0), 401);
    assert_int_equal(
        admin_get(fx->port, "Authorization: Bearer sk-right\r\n", retry, sizeof(retry)), 429);
    long secs = strtol(retry, NULL, 10);
    assert_true(secs >= 50 && secs <= 60);
    fx_stop(fx);
}

static void limiter_delay_grows(void **state)
{
    struct ag_auth_limiter *l = ag_auth_limiter_new(3, 60000, 1000, 8000);
    int64_t retry = 0, now = 1000000;
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 3; i++) {
            assert_true(ag_auth_limiter_allowed(l, "10.0.0.1", now, NULL));
            ag_auth_limiter_failed(l, "10.0.0.1", now);
        }
        assert_false(ag_auth_limiter_allowed(l, "10.0.0.1", now, &retry));
        int64_t want = round == 0 ? 1 : round == 1 ? 2 : round == 2 ? 4 : 8;
        assert_int_equal(retry, want);
        /* Another address is not affected. */
        assert_true(ag_auth_limiter_allowed(l, "10.0.0.2", now, NULL));
        now += retry * 1000;
    }
    ag_auth_limiter_succeeded(l, "10.0.0.1");
    assert_true(ag_auth_limiter_allowed(l, "10.0.0.1", now, NULL));
    /* The table is bounded: many addresses reuse the oldest slots. */
    char ip[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 256, i % 256);
        ag_auth_limiter_failed(l, ip, now + i);
    }
    ag_auth_limiter_free(l);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(absolute_form_targets),
        cmocka_unit_test(auth_is_decided_before_the_body),
        cmocka_unit_test(body_budget_and_connection_limit),
        cmocka_unit_test(slow_clients_meet_fixed_deadlines),
        cmocka_unit_test(loopback_host_rule),
        cmocka_unit_test(web_pages_cannot_use_an_open_gateway),
        cmocka_unit_test(admin_guessing_is_limited_and_pages_cannot_lock_out),
        cmocka_unit_test(limiter_delay_grows),
    };
    return cmocka_run_group_tests_name("http hardening", tests, NULL, NULL);
}
