/* Integration tests of the Responses API over a WebSocket with the real binaries (aigate in front
 * of the mock upstream) on loopback ports chosen at run time, spoken by a raw client
 * (tests/support/wsclient.h): the events of a turn are those of the SSE stream of the same
 * request, one per text message; a second turn on the same socket continues the first by
 * previous_response_id although nothing was stored (store: false); a warm-up (generate: false)
 * answers without the upstream; a malformed message gets an error event and the socket stays
 * open; ping/pong and the close handshake; an oversize message is refused with 1009; the key is
 * checked before the upgrade. */
#include "ag_test.h"

#include "child.h"
#include "gwenv.h"
#include "core/buf.h"
#include "proc.h"
#include "rawhttp.h"
#include "wsclient.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yyjson.h>

#define KEY      "sk-websocket-test-0123456789"
#define AUTH     "Authorization: Bearer " KEY "\r\n"
#define MAX_BODY 16384

/* The one environment: static, so teardown still finds it after a failed assertion has left the
 * test's frame. */
static struct ag_gwenv the_env;
static void env_start(struct ag_gwenv *e)
{
    static const char *const tokens[] = {"rt-a", NULL};
    char config[256];
    snprintf(config, sizeof(config),
             "{\"auth\":{\"mode\":\"strict\",\"api_key\":\"" KEY "\"},"
             "\"server\":{\"max_body_bytes\":%d}}",
             MAX_BODY);
    const struct ag_gwenv_opts o = {
        .name = "ws",
        .config_json = config,
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"}]",
        .tokens = tokens,
    };
    ag_gwenv_start(e, &o);
}

/* ---------------------------------------------------------------- events */

/* The events of one turn, as parsed JSON documents (at most 256). */
struct turn {
    yyjson_doc *ev[256];
    size_t n;
};

static void turn_free(struct turn *t)
{
    for (size_t i = 0; i < t->n; i++)
        yyjson_doc_free(t->ev[i]);
    t->n = 0;
}

static const char *ev_type(const struct turn *t, size_t i)
{
    return yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(t->ev[i]), "type"));
}

static void turn_add(struct turn *t, const char *json, size_t len)
{
    assert_true(t->n < 256);
    t->ev[t->n] = yyjson_read(json, len, 0);
    if (!t->ev[t->n])
        fail_msg("not JSON: %.*s", (int)len, json);
    t->n++;
}

/* The events of an SSE body: each "data:" line. */
static void turn_from_sse(struct turn *t, const char *body)
{
    const char *p = body;
    while ((p = strstr(p, "data: "))) {
        p += 6;
        const char *end = strchr(p, '\n');
        assert_non_null(end);
        turn_add(t, p, (size_t)(end - p));
        p = end;
    }
}

/* Reads messages up to the turn's last event (response.completed / failed / incomplete, or an
 * error event). */
static void turn_from_socket(struct turn *t, struct rh_conn *c)
{
    for (int i = 0; i < 256; i++) {
        struct ws_frame f;
        assert_true(ws_read_message(c, &f, 10000));
        if (f.opcode != WS_TEXT)
            fail_msg("frame %d (close %d) instead of an event", f.opcode, ws_close_code(&f));
        turn_add(t, f.data, f.len);
        ws_frame_free(&f);
        const char *type = ev_type(t, t->n - 1);
        if (!strcmp(type, "response.completed") || !strcmp(type, "response.failed") ||
            !strcmp(type, "response.incomplete") || !strcmp(type, "error"))
            return;
    }
    fail_msg("no end of the turn");
}

/* What an event says apart from what differs between two runs of one request: its JSON without
 * "id", "item_id", "call_id", "created_at" and "cached_tokens" members (recursively; the mock
 * counts the second run's prompt as cached, as the real upstream would). */
static void strip(yyjson_mut_val *v)
{
    if (yyjson_mut_is_obj(v)) {
        static const char *drop[] = {"id", "item_id", "call_id", "created_at", "cached_tokens"};
        for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
            yyjson_mut_obj_remove_key(v, drop[i]);
        yyjson_mut_obj_iter it;
        yyjson_mut_obj_iter_init(v, &it);
        yyjson_mut_val *k;
        while ((k = yyjson_mut_obj_iter_next(&it)))
            strip(yyjson_mut_obj_iter_get_val(k));
    } else if (yyjson_mut_is_arr(v)) {
        yyjson_mut_arr_iter it;
        yyjson_mut_arr_iter_init(v, &it);
        yyjson_mut_val *e;
        while ((e = yyjson_mut_arr_iter_next(&it)))
            strip(e);
    }
}

static char *essence(yyjson_doc *d)
{
    yyjson_mut_doc *m = yyjson_doc_mut_copy(d, NULL);
    strip(yyjson_mut_doc_get_root(m));
    char *s = yyjson_mut_write(m, YYJSON_WRITE_NOFLAG, NULL);
    yyjson_mut_doc_free(m);
    return s;
}

static const char *response_id(const struct turn *t)
{
    yyjson_val *r = yyjson_obj_get(yyjson_doc_get_root(t->ev[t->n - 1]), "response");
    return yyjson_get_str(yyjson_obj_get(r, "id"));
}

/* The mock's upstream requests so far (JSON text, malloc'd). */
static char *upstream_requests(struct ag_gwenv *e)
{
    struct ag_buf out;
    char url[256];
    ag_buf_init(&out, 0);
    snprintf(url, sizeof(url), "%s/__mock/requests?path=:streamGenerateContent", e->mock.base_url);
    assert_int_equal(ag_test_http("GET", url, NULL, NULL, &out), 200);
    return out.data ? out.data : calloc(1, 1);
}

static void clear_upstream_requests(struct ag_gwenv *e)
{
    struct ag_buf out;
    char url[256];
    ag_buf_init(&out, 0);
    snprintf(url, sizeof(url), "%s/__mock/requests", e->mock.base_url);
    ag_test_http("DELETE", url, NULL, NULL, &out);
    ag_buf_dispose(&out);
}

static void open_socket(struct ag_gwenv *e, struct rh_conn *c)
{
    struct rh_resp r;
    assert_true(ws_open(c, e->port, "/v1/responses", AUTH, &r));
    if (r.status != 101)
        fail_msg("upgrade answered %d: %s%s", r.status, r.head, r.body);
    rh_resp_free(&r);
}

/* ---------------------------------------------------------------- tests */

static void turns_on_a_socket_are_the_sse_stream(void **state)
{
    struct ag_gwenv *e = &the_env;
    struct rh_conn c;
    struct rh_resp r;
    struct turn sse = {0}, ws = {0}, second = {0};
    env_start(e);

    /* the same request over HTTP with stream: true */
    assert_true(rh_request(e->port, "POST", "/v1/responses",
                           AUTH "Content-Type: application/json\r\n",
                           "{\"model\":\"gemini-2.5-flash\",\"input\":\"hello socket\","
                           "\"stream\":true,\"store\":false}",
                           &r));
    assert_int_equal(r.status, 200);
    turn_from_sse(&sse, r.body);
    rh_resp_free(&r);
    assert_true(sse.n >= 4);

    /* over the socket (no stream field: a socket always streams), store: false */
    open_socket(e, &c);
    assert_true(ws_send_text(&c, "{\"type\":\"response.create\",\"model\":\"gemini-2.5-flash\","
                                 "\"input\":\"hello socket\",\"store\":false}"));
    turn_from_socket(&ws, &c);
    assert_int_equal(ws.n, sse.n);
    for (size_t i = 0; i < sse.n; i++) {
        char *a = essence(sse.ev[i]), *b = essence(ws.ev[i]);
        if (strcmp(a, b) != 0) {
            size_t k = 0;
            while (a[k] && a[k] == b[k])
                k++;
            fail_msg("event %zu differs at %zu:\nSSE: %.300s\nWS:  %.300s", i, k,
                     a + (k > 100 ? k - 100 : 0), b + (k > 100 ? k - 100 : 0));
        }
        free(a);
        free(b);
    }
    assert_string_equal(ev_type(&ws, ws.n - 1), "response.completed");

    /* a second turn on the same socket continues the first, which was not stored */
    char prev[80];
    snprintf(prev, sizeof(prev), "%s", response_id(&ws));
    clear_upstream_requests(e);
    char msg[512];
    snprintf(msg, sizeof(msg),
             "{\"type\":\"response.create\",\"model\":\"gemini-2.5-flash\",\"store\":false,"
             "\"previous_response_id\":\"%s\",\"input\":[{\"type\":\"message\",\"role\":\"user\","
             "\"content\":[{\"type\":\"input_text\",\"text\":\"second turn\"}]}]}",
             prev);
    assert_true(ws_send_text(&c, msg));
    turn_from_socket(&second, &c);
    assert_string_equal(ev_type(&second, second.n - 1), "response.completed");
    char *up = upstream_requests(e);
    assert_non_null(strstr(up, "hello socket")); /* the first turn's input ... */
    assert_non_null(strstr(up, "second turn"));  /* ... and this one's, in one upstream call */
    free(up);
    /* not stored: over HTTP the id is unknown */
    char path[128];
    snprintf(path, sizeof(path), "/v1/responses/%s", prev);
    assert_true(rh_request(e->port, "GET", path, AUTH, NULL, &r));
    assert_int_equal(r.status, 404);
    rh_resp_free(&r);

    /* ping/pong, then the close handshake */
    struct ws_frame f;
    assert_true(ws_send_frame(&c, WS_PING, true, "abc", 3, true));
    assert_true(ws_read(&c, &f, 5000));
    assert_int_equal(f.opcode, WS_PONG);
    assert_string_equal(f.data, "abc");
    ws_frame_free(&f);
    assert_true(ws_send_frame(&c, WS_CLOSE, true, "\x03\xe8", 2, true));
    assert_true(ws_read_message(&c, &f, 5000));
    assert_int_equal(f.opcode, WS_CLOSE);
    assert_int_equal(ws_close_code(&f), 1000);
    ws_frame_free(&f);
    assert_true(rh_wait_closed(&c, 3000));
    rh_close(&c);
    turn_free(&sse);
    turn_free(&ws);
    turn_free(&second);
    ag_gwenv_stop(e);
}

static void warm_up_errors_and_limits(void **state)
{
    struct ag_gwenv *e = &the_env;
    struct rh_conn c;
    struct rh_resp r;
    struct turn t = {0};
    env_start(e);

    /* without the key: 401 before any upgrade */
    assert_true(ws_open(&c, e->port, "/v1/responses", NULL, &r));
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "\"invalid_api_key\""));
    rh_resp_free(&r);
    rh_close(&c);

    open_socket(e, &c);
    /* a malformed message: an error event in OpenAI's shape, the socket stays open */
    assert_true(ws_send_text(&c, "{not json"));
    turn_from_socket(&t, &c);
    assert_int_equal(t.n, 1);
    yyjson_val *root = yyjson_doc_get_root(t.ev[0]);
    assert_string_equal(ev_type(&t, 0), "error");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(root, "status")), 400);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(root, "error"), "type")),
                        "invalid_request_error");
    turn_free(&t);
    /* an unknown previous_response_id: 400 previous_response_not_found (Codex then resends all) */
    assert_true(ws_send_text(&c, "{\"type\":\"response.create\",\"model\":\"gemini-2.5-flash\","
                                 "\"previous_response_id\":\"resp_nope\",\"input\":\"x\"}"));
    turn_from_socket(&t, &c);
    root = yyjson_doc_get_root(t.ev[0]);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(root, "error"), "code")),
                        "previous_response_not_found");
    turn_free(&t);

    /* a warm-up: no upstream call, an empty completed response, continued by the next turn */
    clear_upstream_requests(e);
    assert_true(ws_send_text(&c, "{\"type\":\"response.create\",\"model\":\"gemini-2.5-flash\","
                                 "\"generate\":false,\"instructions\":\"be brief\",\"input\":[]}"));
    turn_from_socket(&t, &c);
    assert_string_equal(ev_type(&t, 0), "response.created");
    assert_string_equal(ev_type(&t, t.n - 1), "response.completed");
    char *up = upstream_requests(e);
    assert_null(strstr(up, "be brief"));
    free(up);
    char msg[512];
    snprintf(msg, sizeof(msg),
             "{\"type\":\"response.create\",\"model\":\"gemini-2.5-flash\","
             "\"previous_response_id\":\"%s\",\"input\":\"after the warm-up\"}",
             response_id(&t));
    turn_free(&t);
    assert_true(ws_send_text(&c, msg));
    turn_from_socket(&t, &c);
    assert_string_equal(ev_type(&t, t.n - 1), "response.completed");
    turn_free(&t);
    up = upstream_requests(e);
    assert_non_null(strstr(up, "after the warm-up"));
    free(up);

    /* a message over server.max_body_bytes: close 1009 */
    char *big = malloc(MAX_BODY + 100);
    memset(big, ' ', MAX_BODY + 100);
    struct ws_frame f;
    assert_true(ws_send_frame(&c, WS_TEXT, true, big, MAX_BODY + 100, true));
    free(big);
    assert_true(ws_read_message(&c, &f, 5000));
    assert_int_equal(f.opcode, WS_CLOSE);
    assert_int_equal(ws_close_code(&f), 1009);
    ws_frame_free(&f);
    assert_true(rh_wait_closed(&c, 3000));
    rh_close(&c);

    /* the gateway still serves */
    assert_true(rh_request(e->port, "GET", "/healthz", AUTH, NULL, &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    ag_gwenv_stop(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(turns_on_a_socket_are_the_sse_stream, ag_gwenv_teardown),
        cmocka_unit_test_teardown(warm_up_errors_and_limits, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests_name("responses over websocket", tests, NULL, NULL);
}
