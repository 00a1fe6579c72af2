/* HTTP server over real loopback sockets: keep-alive, pipelining, chunked bodies, 100-continue,
 * limits (413, 431, 400), slow and idle clients, disconnects, graceful shutdown, CORS, routing,
 * and the auth matrix. The server runs on its own loop in a thread; the test talks to it only
 * through sockets (and reads a few atomic counters). */
#include "server_fixture.h"

#include <signal.h>

/* ------------------------------------------------------------------ tests */

static void health_and_request_id(void **state)
{
    struct fixture *fx = *state;
    struct rh_resp r;
    char id[64], id2[64];
    assert_true(rh_request(fx->port, "GET", "/healthz", NULL, NULL, &r));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    assert_true(rh_header(&r, "x-request-id", id, sizeof(id)));
    rh_resp_free(&r);
    assert_true(rh_request(fx->port, "GET", "/healthz", NULL, NULL, &r));
    assert_true(rh_header(&r, "x-request-id", id2, sizeof(id2)));
    assert_string_not_equal(id, id2);
    rh_resp_free(&r);
}

static void keep_alive_and_pipelining_in_order(void **state)
{
    struct fixture *fx = *state;
    struct rh_conn c;
    struct rh_resp r;
    assert_true(rh_connect(&c, fx->port, 5000));
    /* Three requests in one write; the first is the slowest, answers must still come in order. */
    assert_true(rh_send_str(&c, "GET /slow?ms=150 HTTP/1.1\r\nHost: x\r\n\r\n"
                                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                                "GET /slow?ms=10 HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_true(rh_read(&c, &r, false));
    assert_string_equal(r.body, "slow 150");
    rh_resp_free(&r);
    assert_true(rh_read(&c, &r, false));
    assert_string_equal(r.body, "hello");
    rh_resp_free(&r);
    assert_true(rh_read(&c, &r, false));
    assert_string_equal(r.body, "slow 10");
    rh_resp_free(&r);
    /* Still open: a fourth request on the same connection. */
    assert_true(rh_send_str(&c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    rh_close(&c);
}

static void chunked_request_body(void **state)
{
    struct fixture *fx = *state;
    struct rh_conn c;
    struct rh_resp r;
    char v[32];
    size_t conns, active;
    assert_true(fx_counts(fx, &conns, &active));
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send_str(&c,
                            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "5\r\nhello\r\n"));
    assert_true(fx_wait_counts(fx, -1, (long)active + 1)); /* read before the rest is sent */
    assert_true(rh_send_str(&c, "1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n"));
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello world!");
    assert_true(rh_header(&r, "x-body-len", v, sizeof(v)));
    assert_string_equal(v, "12");
    rh_resp_free(&r);
    rh_close(&c);
}

static void expect_100_continue(void **state)
{
    struct fixture *fx = *state;
    struct rh_conn c;
    struct rh_resp r;
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                                "Content-Length: 4\r\n\r\n"));
    assert_true(rh_read_any(&c, &r));
    assert_int_equal(r.status, 100);
    rh_resp_free(&r);
    assert_true(rh_send_str(&c, "body"));
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "body");
    rh_resp_free(&r);
    rh_close(&c);
}

static void unknown_route_and_method(void **state)
{
    struct fixture *fx = *state;
    struct rh_resp r;
    assert_true(rh_request(fx->port, "GET", "/nope", NULL, NULL, &r));
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "\"error\""));
    rh_resp_free(&r);
    assert_true(rh_request(fx->port, "GET", "/v1/chat/completions", NULL, NULL, &r));
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.body, "\"type\":\"invalid_request_error\""));
    rh_resp_free(&r);
    assert_true(rh_request(fx->port, "GET", "/v1beta/unknown", NULL, NULL, &r));
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "\"status\":\"NOT_FOUND\""));
    rh_resp_free(&r);
    assert_true(rh_request(fx->port, "POST",
                           "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", NULL,
                           "{}", &r));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "gemini-2.5-pro|streamGenerateContent");
    rh_resp_free(&r);
}

static void cors_preflight_and_simple(void **state)
{
    struct rh_resp r;
    char v[256];
    const char *preflight = "Origin: http://app.example\r\nAccess-Control-Request-Method: POST\r\n"
                            "Access-Control-Request-Headers: authorization, content-type\r\n";
    /* Auth off: a page of another origin gets no CORS answer, and its requests are refused. */
    struct fixture *fx = fx_start(NULL, NULL);
    assert_true(rh_request(fx->port, "OPTIONS", "/v1/chat/completions", preflight, NULL, &r));
    assert_int_equal(r.status, 204);
    assert_false(rh_header(&r, "access-control-allow-origin", v, sizeof(v)));
    rh_resp_free(&r);
    assert_true(
        rh_request(fx->port, "GET", "/healthz", "Origin: http://app.example\r\n", NULL, &r));
    assert_int_equal(r.status, 403);
    rh_resp_free(&r);
    assert_true(rh_request(fx->port, "GET", "/healthz", NULL, NULL, &r));
    assert_int_equal(r.status, 200);
    assert_false(rh_header(&r, "access-control-allow-origin", v, sizeof(v)));
    rh_resp_free(&r);
    fx_stop(fx);

    /* Auth on: "*" serves any origin that shows the key. */
    struct ag_auth_policy pol = {.mode = AG_AUTH_MODE_STRICT, .api_key = "sk-right"};
    fx = fx_start(NULL, &pol);
    assert_true(rh_request(fx->port, "OPTIONS", "/v1/chat/completions", preflight, NULL, &r));
    assert_int_equal(r.status, 204);
    assert_true(rh_header(&r, "access-control-allow-origin", v, sizeof(v)));
    assert_string_equal(v, "*");
    assert_true(rh_header(&r, "access-control-allow-methods", v, sizeof(v)));
    assert_non_null(strstr(v, "POST"));
    assert_true(rh_header(&r, "access-control-allow-headers", v, sizeof(v)));
    assert_string_equal(v, "authorization, content-type");
    assert_false(rh_header(&r, "access-control-allow-credentials", v, sizeof(v)));
    rh_resp_free(&r);
    assert_true(rh_request(fx->port, "GET", "/healthz",
                           "Origin: http://app.example\r\nAuthorization: Bearer sk-right\r\n", NULL,
                           &r));
    assert_int_equal(r.status, 200);
    assert_true(rh_header(&r, "access-control-allow-origin", v, sizeof(v)));
    rh_resp_free(&r);
    fx_stop(fx);
}

static void websocket_upgrade_is_refused_plainly(void **state)
{
    struct fixture *fx = *state;
    struct rh_conn c;
    struct rh_resp r;
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send_str(&c, "GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                                "Sec-WebSocket-Version: 13\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"));
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "upgrade_not_supported"));
    assert_non_null(strstr(r.body, "\"type\":\"invalid_request_error\""));
    rh_resp_free(&r);
    assert_true(rh_wait_closed(&c, 2000));
    rh_close(&c);
}

static void malformed_request_gets_400_and_close(void **state)
{
    struct fixture *fx = *state;
    struct rh_conn c;
    struct rh_resp r;
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send_str(&c, "HELLO THERE\r\n\r\n"));
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 400);
    rh_resp_free(&r);
    assert_true(rh_wait_closed(&c, 2000));
    rh_close(&c);
    /* The server still serves others. */
    assert_true(rh_request(fx->port, "GET", "/healthz", NULL, NULL, &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
}

static void client_disconnects_mid_request_and_mid_stream(void **state)
{
    struct fixture *fx = *state;
    struct rh_conn c;
    struct rh_resp r;
    int before = atomic_load(&fx->aborted);
    size_t conns, active;
    assert_true(fx_counts(fx, &conns, &active));
    /* Half a body, then gone. */
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(
        rh_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"));
    rh_close(&c);
    /* A stream, read one chunk, then gone: the handler's work is cancelled. */
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send_str(&c, "GET /stream?ms=100 HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_true(rh_wait_readable(&c, 5000)); /* the stream has begun */
    rh_close(&c);
    assert_true(fx_wait_atomic(&fx->aborted, before + 1, 5000));
    /* A slow request abandoned before its answer (once it is the only one in progress). */
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send_str(&c, "GET /slow?ms=500 HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_true(fx_wait_counts(fx, -1, (long)active + 1));
    rh_close(&c);
    assert_true(fx_wait_atomic(&fx->aborted, before + 2, 5000));
    assert_int_equal(atomic_load(&fx->aborted), before + 2);
    assert_true(rh_request(fx->port, "GET", "/healthz", NULL, NULL, &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
}

static void streamed_response_is_chunked(void **state)
{
    struct fixture *fx = *state;
    struct rh_conn c;
    struct rh_resp r;
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send_str(&c, "GET /stream?ms=5 HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_true(rh_read(&c, &r, false));
    assert_true(r.chunked);
    assert_string_equal(r.body, "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");
    rh_resp_free(&r);
    rh_close(&c);
}

/* ---- tests with their own limits ---- */

static void limits_413_431(void **state)
{
    struct ag_http_limits lim = {
        .max_body_bytes = 1024, .max_header_bytes = 2048, .max_headers = 10};
    struct fixture *fx = fx_start(&lim, NULL);
    struct rh_conn c;
    struct rh_resp r;

    /* Declared body over the limit: 413 at once, no 100 Continue, closed. */
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                                "Content-Length: 5000\r\n\r\n"));
    assert_true(rh_read_any(&c, &r));
    assert_int_equal(r.status, 413);
    rh_resp_free(&r);
    assert_true(rh_wait_closed(&c, 2000));
    rh_close(&c);

    /* Chunked body that grows over the limit. */
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(
        rh_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    char chunk[700];
    memset(chunk, 'a', sizeof(chunk));
    char hdr[16];
    for (int i = 0; i < 2; i++) {
        snprintf(hdr, sizeof(hdr), "%zx\r\n", sizeof(chunk));
        rh_send_str(&c, hdr);
        rh_send(&c, chunk, sizeof(chunk));
        rh_send_str(&c, "\r\n");
    }
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 413);
    rh_resp_free(&r);
    rh_close(&c);

    /* Header block too large. */
    struct ag_buf big;
    ag_buf_init(&big, 0);
    ag_buf_append_c(&big, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    for (int i = 0; i < 3000; i++)
        ag_buf_append_c(&big, "b");
    ag_buf_append_c(&big, "\r\n\r\n");
    assert_true(rh_connect(&c, fx->port, 5000));
    rh_send(&c, big.data, big.len);
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 431);
    rh_resp_free(&r);
    rh_close(&c);
    ag_buf_dispose(&big);

    /* Too many headers. */
    ag_buf_init(&big, 0);
    ag_buf_append_c(&big, "GET /healthz HTTP/1.1\r\n");
    for (int i = 0; i < 12; i++)
        ag_buf_printf(&big, "X-H%d: v\r\n", i);
    ag_buf_append_c(&big, "\r\n");
    assert_true(rh_connect(&c, fx->port, 5000));
    rh_send(&c, big.data, big.len);
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 431);
    rh_resp_free(&r);
    rh_close(&c);
    ag_buf_dispose(&big);

    /* Within the limits all is well. */
    assert_true(rh_request(fx->port, "POST", "/echo", NULL, "small", &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    fx_stop(fx);
}

static void slowloris_and_idle_clients_are_dropped(void **state)
{
    struct ag_http_limits lim = {.header_timeout_ms = 300, .idle_timeout_ms = 400};
    struct fixture *fx = fx_start(&lim, NULL);
    struct rh_conn slow, idle;
    struct rh_resp r;
    assert_true(rh_connect(&slow, fx->port, 5000));
    assert_true(rh_connect(&idle, fx->port, 5000));
    assert_true(rh_send_str(&slow, "GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    /* Drip one header byte every 50 ms: a slowloris never finishes its headers. */
    bool dropped = false;
    for (int i = 0; i < 40 && !dropped; i++) {
        rh_wait_readable(&slow, 50); /* one byte per 50 ms, or sooner once answered */
        if (!rh_send_str(&slow, "X"))
            dropped = true;
        /* Others are served meanwhile. */
        if (i == 2) {
            assert_true(rh_request(fx->port, "GET", "/healthz", NULL, NULL, &r));
            assert_int_equal(r.status, 200);
            rh_resp_free(&r);
        }
        if (i > 10) {
            if (rh_read(&slow, &r, false)) {
                assert_int_equal(r.status, 408);
                rh_resp_free(&r);
                dropped = true;
            }
        }
    }
    assert_true(dropped);
    assert_true(rh_wait_closed(&idle, 3000));
    rh_close(&slow);
    rh_close(&idle);
    fx_stop(fx);
}

static void graceful_shutdown_finishes_in_flight(void **state)
{
    struct fixture *fx = fx_start(NULL, NULL);
    struct rh_conn c, idle;
    struct rh_resp r;
    char v[64];
    assert_true(rh_connect(&idle, fx->port, 5000));
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send_str(&c, "GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_true(fx_wait_counts(fx, 2, 1)); /* in flight */
    uv_async_send(&fx->stop);
    /* The request in flight still gets its answer, marked as the connection's last. */
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "slow 300");
    assert_true(rh_header(&r, "connection", v, sizeof(v)));
    assert_string_equal(v, "close");
    rh_resp_free(&r);
    assert_true(rh_wait_closed(&c, 2000));
    assert_true(rh_wait_closed(&idle, 2000));
    rh_close(&c);
    rh_close(&idle);
    uv_thread_join(&fx->thread);
    /* Nothing listens any more. */
    struct rh_conn late;
    assert_false(rh_connect(&late, fx->port, 500));
    uv_sem_destroy(&fx->ready);
    free(fx);
}

static void shutdown_grace_expires(void **state)
{
    struct fixture *fx = fx_start(NULL, NULL);
    struct rh_conn c;
    fx->grace_ms = 200;
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send_str(&c, "GET /slow?ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_true(fx_wait_counts(fx, 1, 1)); /* in flight */
    uv_async_send(&fx->stop);
    assert_true(rh_wait_closed(&c, 3000));
    rh_close(&c);
    uv_thread_join(&fx->thread);
    assert_int_equal(atomic_load(&fx->aborted), 1);
    uv_sem_destroy(&fx->ready);
    free(fx);
}

/* ---- auth matrix ---- */

enum how { KEY_BEARER, KEY_X_API, KEY_GOOG, KEY_QUERY, NHOW };
enum which { K_RIGHT, K_WRONG, K_MISSING, NWHICH };

static int call_with(int port, const char *path, enum how how, enum which which, struct rh_resp *r)
{
    const char *key = which == K_RIGHT ? "sk-right" : "sk-wrong";
    char hdr[256] = "", url[512];
    snprintf(url, sizeof(url), "%s", path);
    if (which != K_MISSING) {
        switch (how) {
        case KEY_BEARER:
            snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", key);
            break;
        case KEY_X_API:
            snprintf(hdr, sizeof(hdr), "x-api-key: %s\r\n", key);
            break;
        case KEY_GOOG:
            snprintf(hdr, sizeof(hdr), "x-goog-api-key: %s\r\n", key);
            break;
        case KEY_QUERY:
            snprintf(url, sizeof(url), "%s%ckey=%s", path, strchr(path, '?') ? '&' : '?', key);
            break;
        default:
            break;
        }
    }
    const char *method = strncmp(path, "/healthz", 8) == 0 ? "GET" : "POST";
    assert_true(rh_request(port, method, url, hdr, strcmp(method, "POST") == 0 ? "{}" : NULL, r));
    return r->status;
}

static void auth_matrix(void **state)
{
    const enum ag_auth_mode modes[] = {AG_AUTH_MODE_OFF, AG_AUTH_MODE_STRICT,
                                       AG_AUTH_MODE_ALL_EXCEPT_HEALTH, AG_AUTH_MODE_AUTO};
    for (int lan = 0; lan < 2; lan++) {
        for (size_t m = 0; m < 4; m++) {
            if (lan && modes[m] != AG_AUTH_MODE_AUTO)
                continue;
            struct ag_auth_policy pol = {.mode = modes[m], .allow_lan = lan, .api_key = "sk-right"};
            struct fixture *fx = fx_start(NULL, &pol);
            enum ag_auth_mode eff = ag_auth_effective(&pol);
            for (int how = 0; how < NHOW; how++) {
                for (int which = 0; which < NWHICH; which++) {
                    struct rh_resp r;
                    bool ok_key = which == K_RIGHT;
                    /* AI route on the Gemini path: every way of sending the key applies there. */
                    int st =
                        call_with(fx->port, "/v1beta/models/g:generateContent", how, which, &r);
                    int want = (eff == AG_AUTH_MODE_OFF || ok_key) ? 200 : 401;
                    if (st != want)
                        fail_msg("mode %s lan %d how %d which %d: gemini route got %d want %d",
                                 ag_auth_mode_name(modes[m]), lan, how, which, st, want);
                    if (st == 401)
                        assert_non_null(strstr(r.body, "\"status\":\"UNAUTHENTICATED\""));
                    rh_resp_free(&r);

                    /* OpenAI route: ?key= is not a way to send the key there. */
                    st = call_with(fx->port, "/v1/chat/completions", how, which, &r);
                    want = (eff == AG_AUTH_MODE_OFF || (ok_key && how != KEY_QUERY)) ? 200 : 401;
                    if (st != want)
                        fail_msg("mode %s how %d which %d: openai route got %d want %d",
                                 ag_auth_mode_name(modes[m]), how, which, st, want);
                    if (st == 401) {
                        assert_non_null(strstr(r.body, "\"code\":\"invalid_api_key\""));
                        assert_non_null(strstr(r.body, "\"type\":\"authentication_error\""));
                    }
                    rh_resp_free(&r);

                    st = call_with(fx->port, "/v1/messages", how, which, &r);
                    if (st == 401)
                        assert_non_null(strstr(r.body, "\"type\":\"authentication_error\""));
                    rh_resp_free(&r);

                    /* Health: only strict protects it. */
                    st = call_with(fx->port, "/healthz", how, which, &r);
                    want = (eff != AG_AUTH_MODE_STRICT || (ok_key && how != KEY_QUERY)) ? 200 : 401;
                    if (st != want)
                        fail_msg("mode %s how %d which %d: health got %d want %d",
                                 ag_auth_mode_name(modes[m]), how, which, st, want);
                    rh_resp_free(&r);
                }
            }
            fx_stop(fx);
        }
    }
}

static void admin_routes_always_need_a_secret(void **state)
{
    struct rh_resp r;
    struct ag_auth_policy pol = {.mode = AG_AUTH_MODE_OFF, .api_key = "sk-right"};
    struct fixture *fx = fx_start(NULL, &pol);
    assert_true(rh_request(fx->port, "GET", "/api/status", NULL, NULL, &r));
    assert_int_equal(r.status, 401);
    rh_resp_free(&r);
    assert_true(
        rh_request(fx->port, "GET", "/api/status", "Authorization: Bearer sk-right\r\n", NULL, &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    fx_stop(fx);

    /* With an admin password, only it opens admin routes; the API key does not. */
    pol.admin_password = "hunter22";
    fx = fx_start(NULL, &pol);
    assert_true(
        rh_request(fx->port, "GET", "/api/status", "Authorization: Bearer sk-right\r\n", NULL, &r));
    assert_int_equal(r.status, 401);
    rh_resp_free(&r);
    assert_true(rh_request(fx->port, "GET", "/api/status", "x-api-key: hunter22\r\n", NULL, &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    fx_stop(fx);

    /* No secret configured at all: admin routes stay closed. */
    pol.admin_password = NULL;
    pol.api_key = "";
    fx = fx_start(NULL, &pol);
    assert_true(rh_request(fx->port, "GET", "/api/status", "Authorization: Bearer \r\n", NULL, &r));
    assert_int_equal(r.status, 401);
    rh_resp_free(&r);
    fx_stop(fx);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(health_and_request_id),
        cmocka_unit_test(keep_alive_and_pipelining_in_order),
        cmocka_unit_test(chunked_request_body),
        cmocka_unit_test(expect_100_continue),
        cmocka_unit_test(unknown_route_and_method),
        cmocka_unit_test(malformed_request_gets_400_and_close),
        cmocka_unit_test(websocket_upgrade_is_refused_plainly),
        cmocka_unit_test(client_disconnects_mid_request_and_mid_stream),
        cmocka_unit_test(streamed_response_is_chunked),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(limits_413_431),
        cmocka_unit_test(cors_preflight_and_simple),
        cmocka_unit_test(slowloris_and_idle_clients_are_dropped),
        cmocka_unit_test(graceful_shutdown_finishes_in_flight),
        cmocka_unit_test(shutdown_grace_expires),
        cmocka_unit_test(auth_matrix),
        cmocka_unit_test(admin_routes_always_need_a_secret),
    };
    int failed = cmocka_run_group_tests_name("http server", shared, setup, teardown);
    failed += cmocka_run_group_tests_name("http server limits and auth", own, NULL, NULL);
    return failed;
}
