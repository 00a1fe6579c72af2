/* WebSocket on the HTTP server (http/ws.h), through real loopback sockets: the handshake and its
 * admission (101 with the RFC's accept value, extensions declined; 400 where no route takes
 * WebSockets; 403 for a foreign Origin; 401 without the key before any upgrade; 426 for another
 * version), then messages: an echo, a stream as one message per event with the keep-alive as a
 * ping, an error answer as an error event, one message at a time, ping/pong, the close handshake,
 * the size limit (1009), a protocol violation (1002) and the idle timeout. */
#include "server_fixture.h"
#include "wsclient.h"

static void open_101(struct fixture *fx, struct rh_conn *c, const char *path)
{
    struct rh_resp r;
    assert_true(ws_open(c, fx->port, path, NULL, &r));
    if (r.status != 101)
        fail_msg("upgrade answered %d: %s", r.status, r.head);
    rh_resp_free(&r);
}

static void expect_text(struct rh_conn *c, const char *want)
{
    struct ws_frame f;
    assert_true(ws_read(c, &f, 5000));
    assert_int_equal(f.opcode, WS_TEXT);
    assert_true(f.fin);
    assert_string_equal(f.data, want);
    ws_frame_free(&f);
}

static void expect_close(struct rh_conn *c, int code)
{
    struct ws_frame f;
    assert_true(ws_read_message(c, &f, 5000));
    assert_int_equal(f.opcode, WS_CLOSE);
    assert_int_equal(ws_close_code(&f), code);
    ws_frame_free(&f);
}

static void handshake_answers_101_with_the_accept_value(void **state)
{
    struct fixture *fx = *state;
    struct rh_conn c;
    struct rh_resp r;
    char v[128];
    assert_true(ws_open(&c, fx->port, "/socket",
                        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
                        &r));
    assert_int_equal(r.status, 101);
    assert_true(rh_header(&r, "sec-websocket-accept", v, sizeof(v)));
    assert_string_equal(v, WS_TEST_ACCEPT);
    assert_true(rh_header(&r, "upgrade", v, sizeof(v)));
    assert_string_equal(v, "websocket");
    /* permessage-deflate is declined: not echoed */
    assert_false(rh_header(&r, "sec-websocket-extensions", v, sizeof(v)));
    rh_resp_free(&r);
    /* the connection now speaks frames: a message is echoed, twice on the same socket */
    assert_true(ws_send_text(&c, "{\"hello\":1}"));
    expect_text(&c, "{\"hello\":1}");
    assert_true(ws_send_text(&c, "{\"hello\":2}"));
    expect_text(&c, "{\"hello\":2}");
    rh_close(&c);
}

static void upgrades_are_refused_where_no_route_takes_them(void **state)
{
    struct fixture *fx = *state;
    struct rh_conn c;
    struct rh_resp r;
    /* a route without WebSocket support */
    assert_true(ws_open(&c, fx->port, "/healthz", NULL, &r));
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "upgrade_not_supported"));
    rh_resp_free(&r);
    assert_true(rh_wait_closed(&c, 2000));
    rh_close(&c);
    /* another protocol than WebSocket on the WebSocket route */
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send_str(&c, "GET /socket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                                "Upgrade: h2c\r\n\r\n"));
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 400);
    rh_resp_free(&r);
    rh_close(&c);
    /* another version */
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send_str(&c, "GET /socket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                                "Upgrade: websocket\r\nSec-WebSocket-Version: 8\r\n"
                                "Sec-WebSocket-Key: " WS_TEST_KEY "\r\n\r\n"));
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 426);
    char v[16];
    assert_true(rh_header(&r, "sec-websocket-version", v, sizeof(v)));
    assert_string_equal(v, "13");
    rh_resp_free(&r);
    rh_close(&c);
    /* a key that is not 16 bytes of base64 */
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send_str(&c, "GET /socket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                                "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                                "Sec-WebSocket-Key: short\r\n\r\n"));
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 400);
    rh_resp_free(&r);
    rh_close(&c);
    /* the route over plain HTTP */
    assert_true(rh_request(fx->port, "GET", "/socket", NULL, NULL, &r));
    assert_int_equal(r.status, 426);
    rh_resp_free(&r);
}

static void a_foreign_origin_is_refused(void **state)
{
    struct fixture *fx = *state;
    struct rh_conn c;
    struct rh_resp r;
    /* cross-site WebSocket hijacking: a page elsewhere opening the socket */
    assert_true(ws_open(&c, fx->port, "/socket", "Origin: https://evil.example\r\n", &r));
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "origin_not_allowed"));
    rh_resp_free(&r);
    rh_close(&c);
    /* the gateway's own origin is fine */
    char own[64];
    snprintf(own, sizeof(own), "Origin: http://127.0.0.1:%d\r\n", fx->port);
    assert_true(ws_open(&c, fx->port, "/socket", own, &r));
    assert_int_equal(r.status, 101);
    rh_resp_free(&r);
    rh_close(&c);
}

static void the_key_is_checked_before_any_upgrade(void **state)
{
    struct ag_auth_policy pol = {.mode = AG_AUTH_MODE_STRICT, .api_key = "sk-right"};
    struct fixture *fx = fx_start(NULL, &pol);
    struct rh_conn c;
    struct rh_resp r;
    assert_true(ws_open(&c, fx->port, "/socket", NULL, &r));
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "invalid_api_key"));
    rh_resp_free(&r);
    rh_close(&c);
    assert_true(ws_open(&c, fx->port, "/socket", "Authorization: Bearer sk-wrong\r\n", &r));
    assert_int_equal(r.status, 401);
    rh_resp_free(&r);
    rh_close(&c);
    assert_true(ws_open(&c, fx->port, "/socket", "Authorization: Bearer sk-right\r\n", &r));
    assert_int_equal(r.status, 101);
    rh_resp_free(&r);
    assert_true(ws_send_text(&c, "keyed"));
    expect_text(&c, "keyed");
    rh_close(&c);
    fx_stop(fx);
}

static void answers_become_messages(void **state)
{
    struct fixture *fx = *state;
    struct rh_conn c;
    struct ws_frame f;
    open_101(fx, &c, "/socket");
    /* a stream: one text message per event's data, the keep-alive comment as a ping */
    assert_true(ws_send_text(&c, "stream"));
    expect_text(&c, "{\"n\":1}");
    assert_true(ws_read(&c, &f, 5000));
    assert_int_equal(f.opcode, WS_PING);
    ws_frame_free(&f);
    expect_text(&c, "{\"n\":2}");
    /* an error answer: OpenAI's error event */
    assert_true(ws_send_text(&c, "fail"));
    assert_true(ws_read(&c, &f, 5000));
    assert_int_equal(f.opcode, WS_TEXT);
    assert_non_null(strstr(f.data, "{\"type\":\"error\",\"status\":400,\"error\":{"));
    assert_non_null(strstr(f.data, "\"message\":\"failed\""));
    ws_frame_free(&f);
    /* a ping is answered with its payload; the socket still works after */
    assert_true(ws_send_frame(&c, WS_PING, true, "pp", 2, true));
    assert_true(ws_read(&c, &f, 5000));
    assert_int_equal(f.opcode, WS_PONG);
    assert_string_equal(f.data, "pp");
    ws_frame_free(&f);
    /* a message in two fragments is one message */
    assert_true(ws_send_frame(&c, WS_TEXT, false, "frag", 4, true));
    assert_true(ws_send_frame(&c, WS_CONT, true, "ment", 4, true));
    expect_text(&c, "fragment");
    /* a binary message is refused with an error event; the socket stays open */
    assert_true(ws_send_frame(&c, WS_BINARY, true, "\x01", 1, true));
    assert_true(ws_read(&c, &f, 5000));
    assert_int_equal(f.opcode, WS_TEXT);
    assert_non_null(strstr(f.data, "\"type\":\"error\",\"status\":400"));
    ws_frame_free(&f);
    assert_true(ws_send_text(&c, "still open"));
    expect_text(&c, "still open");
    /* the close handshake: our close is answered and the connection ends */
    assert_true(ws_send_frame(&c, WS_CLOSE, true, "\x03\xe8", 2, true));
    expect_close(&c, 1000);
    assert_true(rh_wait_closed(&c, 2000));
    rh_close(&c);
}

static void one_message_at_a_time(void **state)
{
    struct fixture *fx = *state;
    struct rh_conn c;
    struct ws_frame f;
    open_101(fx, &c, "/socket?ms=300");
    size_t conns, active;
    assert_true(fx_counts(fx, &conns, &active));
    assert_true(ws_send_text(&c, "slow"));
    assert_true(fx_wait_counts(fx, -1, (long)active + 1)); /* the first one runs */
    assert_true(ws_send_text(&c, "too soon"));
    /* the second is refused at once, the first still answered */
    assert_true(ws_read(&c, &f, 5000));
    assert_int_equal(f.opcode, WS_TEXT);
    if (!strstr(f.data, "\"type\":\"error\",\"status\":409"))
        fail_msg("got %d: %s", f.opcode, f.data);
    ws_frame_free(&f);
    expect_text(&c, "slow 300");
    /* then the socket takes the next one; messages sent together run in turn */
    assert_true(ws_send_text(&c, "next"));
    expect_text(&c, "next");
    char two[64];
    size_t n = 0;
    memcpy(two,
           "\x81\x84"
           "\0\0\0\0"
           "slow"
           "\x81\x84"
           "\0\0\0\0"
           "last",
           n = 20);
    assert_true(rh_send(&c, two, n)); /* two masked frames (zero mask) in one segment */
    expect_text(&c, "slow 300");
    expect_text(&c, "last");
    rh_close(&c);
}

static void a_client_leaving_mid_message_aborts_its_request(void **state)
{
    struct fixture *fx = *state;
    struct rh_conn c;
    int before = atomic_load(&fx->aborted);
    open_101(fx, &c, "/socket?ms=2000");
    size_t conns, active;
    assert_true(fx_counts(fx, &conns, &active));
    assert_true(ws_send_text(&c, "slow"));
    assert_true(fx_wait_counts(fx, -1, (long)active + 1)); /* it runs */
    rh_close(&c);
    assert_true(fx_wait_atomic(&fx->aborted, before + 1, 5000));
    assert_int_equal(atomic_load(&fx->aborted), before + 1);
}

static void limits_and_protocol_errors_close_the_socket(void **state)
{
    struct ag_http_limits lim = {.max_body_bytes = 1024, .idle_timeout_ms = 400};
    struct fixture *fx = fx_start(&lim, NULL);
    struct rh_conn c;
    char big[2048];
    memset(big, 'x', sizeof(big));
    /* a message over max_body_bytes: 1009 */
    open_101(fx, &c, "/socket");
    assert_true(ws_send_frame(&c, WS_TEXT, true, big, sizeof(big), true));
    expect_close(&c, 1009);
    assert_true(rh_wait_closed(&c, 2000));
    rh_close(&c);
    /* ... also when it comes in fragments each under the limit */
    open_101(fx, &c, "/socket");
    assert_true(ws_send_frame(&c, WS_TEXT, false, big, 700, true));
    assert_true(ws_send_frame(&c, WS_CONT, true, big, 700, true));
    expect_close(&c, 1009);
    rh_close(&c);
    /* an unmasked client frame breaks the protocol: 1002 */
    open_101(fx, &c, "/socket");
    assert_true(ws_send_frame(&c, WS_TEXT, true, "hi", 2, false));
    expect_close(&c, 1002);
    rh_close(&c);
    /* an idle socket is closed with 1000 after the idle timeout */
    open_101(fx, &c, "/socket");
    assert_true(ws_send_text(&c, "one"));
    expect_text(&c, "one");
    expect_close(&c, 1000);
    rh_close(&c);
    fx_stop(fx);
}

static void shutdown_says_going_away(void **state)
{
    struct fixture *fx = fx_start(NULL, NULL);
    struct rh_conn c;
    open_101(fx, &c, "/socket");
    assert_true(ws_send_text(&c, "before"));
    expect_text(&c, "before");
    uv_async_send(&fx->stop);
    expect_close(&c, 1001);
    rh_close(&c);
    uv_thread_join(&fx->thread);
    uv_sem_destroy(&fx->ready);
    free(fx);
}

int main(void)
{
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(handshake_answers_101_with_the_accept_value),
        cmocka_unit_test(upgrades_are_refused_where_no_route_takes_them),
        cmocka_unit_test(a_foreign_origin_is_refused),
        cmocka_unit_test(answers_become_messages),
        cmocka_unit_test(one_message_at_a_time),
        cmocka_unit_test(a_client_leaving_mid_message_aborts_its_request),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(the_key_is_checked_before_any_upgrade),
        cmocka_unit_test(limits_and_protocol_errors_close_the_socket),
        cmocka_unit_test(shutdown_says_going_away),
    };
    int failed = cmocka_run_group_tests_name("websocket", shared, setup, teardown);
    failed += cmocka_run_group_tests_name("websocket limits and auth", own, NULL, NULL);
    return failed;
}
