/* tests/unit/upstream/test_client.c: the upstream client and the Cloud Code transport against the
 * real mock upstream over loopback: plain and streamed requests, endpoint fallthrough, every
 * timeout kind, cancellation (the mock sees the connection close), pause/resume, proxy URLs.
 * The mock is plain http://: the requests take the native HTTP/1.1 path, or libcurl when
 * AIGATE_TEST_UPSTREAM=curl (ctest runs the suite both ways). */
#include "ag_test.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "core/err.h"
#include "core/time.h"
#include "loopwait.h"
#include "proc.h"
#include "upstream/cloudcode.h"
#include "upstream/sse.h"

static struct ag_proc mock;

struct run {
    uv_loop_t loop;
    struct ag_upstream_client *client;
    struct ag_upstream_req *req;
    bool done;
    int err, status;
    enum ag_upstream_fail fail;
    struct ag_buf body;
    struct ag_sse_parser sse;
    int events, data_calls;
    bool cancel_in_data, pause_first;
    uv_timer_t timer;
    struct ag_str ctype;
    char ctype_buf[64];
    size_t endpoint;
    unsigned attempts;
};

static int on_event(const struct ag_sse_event *ev, void *ud)
{
    (void)ev;
    ((struct run *)ud)->events++;
    return 0;
}

static void setup_run(struct run *r)
{
    memset(r, 0, sizeof(*r));
    uv_loop_init(&r->loop);
    {
        const char *backend = getenv("AIGATE_TEST_UPSTREAM");
        struct ag_upstream_client_opts o = {.curl_only = backend && strcmp(backend, "curl") == 0};
        r->client = ag_upstream_client_new(&r->loop, &o);
    }
    assert_non_null(r->client);
    ag_buf_init(&r->body, 0);
    ag_sse_parser_init(&r->sse, 0, on_event, r);
    uv_timer_init(&r->loop, &r->timer);
    r->timer.data = r;
}

static void closed_cb(void *ud)
{
    *(bool *)ud = true;
}

static void teardown_run(struct run *r)
{
    bool closed = false;
    uv_close((uv_handle_t *)&r->timer, NULL);
    ag_upstream_client_close(r->client, closed_cb, &closed);
    for (int i = 0; i < 1000 && (!closed || uv_loop_alive(&r->loop)); i++)
        uv_run(&r->loop, UV_RUN_NOWAIT);
    assert_true(closed);
    assert_int_equal(uv_loop_close(&r->loop), 0);
    ag_buf_dispose(&r->body);
    ag_sse_parser_dispose(&r->sse);
}

/* Runs the loop until cond or timeout_ms (bounded in time and count). */
static void run_until(struct run *r, bool *cond, uint32_t timeout_ms)
{
    uint64_t deadline = ag_now_ms() + timeout_ms;
    for (int i = 0; i < 1000000 && !*cond && ag_now_ms() < deadline; i++)
        uv_run(&r->loop, UV_RUN_ONCE);
}

static int on_head(struct ag_upstream_req *req, int status, void *ud)
{
    struct run *r = ud;
    struct ag_str ct = ag_upstream_req_header(req, "content-type");
    r->status = status;
    snprintf(r->ctype_buf, sizeof(r->ctype_buf), "%.*s", (int)ct.len, ct.p ? ct.p : "");
    return 0;
}

static int on_data(struct ag_upstream_req *req, const char *p, size_t n, void *ud)
{
    struct run *r = ud;
    (void)req;
    r->data_calls++;
    if (r->pause_first && r->data_calls == 1)
        return AG_EAGAIN;
    ag_buf_append(&r->body, p, n);
    ag_sse_parser_feed(&r->sse, p, n);
    if (r->cancel_in_data) {
        ag_upstream_req_cancel(r->req);
        r->done = true; /* no on_done after a cancel */
    }
    return 0;
}

static void on_done(struct ag_upstream_req *req, const struct ag_upstream_result *res, void *ud)
{
    struct run *r = ud;
    (void)req;
    r->done = true;
    r->err = res->err;
    r->fail = res->fail;
    r->status = res->status;
    if (res->body.len)
        ag_buf_append(&r->body, res->body.p, res->body.len);
    ag_sse_parser_finish(&r->sse);
    r->req = NULL;
}

static struct ag_upstream_req *start(struct run *r, const char *method, const char *path,
                                     const char *body, const char *const *hdrs, size_t nh,
                                     struct ag_upstream_timeouts to, bool stream)
{
    char url[256];
    struct ag_upstream_req_spec s = {0};
    int err = 0;
    snprintf(url, sizeof(url), "%s%s", mock.base_url, path);
    s.method = method;
    s.url = url;
    s.headers = hdrs;
    s.nheaders = nh;
    s.body = body;
    s.body_len = body ? strlen(body) : 0;
    s.timeouts = to;
    s.on_head = on_head;
    s.on_data = stream ? on_data : NULL;
    s.on_done = on_done;
    s.ud = r;
    r->req = ag_upstream_req_start(r->client, &s, &err);
    assert_int_equal(err, 0);
    return r->req;
}

static const char stream_body[] =
    "{\"project\":\"p\",\"model\":\"gemini-2.5-pro\",\"request\":{\"contents\":[{\"role\":"
    "\"user\",\"parts\":[{\"text\":\"hello streaming world\"}]}]}}";

static long control(const char *method, const char *path, const char *body, struct ag_buf *out)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", mock.base_url, path);
    ag_buf_reset(out);
    return ag_test_http(method, url, body, NULL, out);
}

static int group_setup(void **state)
{
    (void)state;
    return ag_proc_start_mock(&mock, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    return ag_proc_stop(&mock, 3000) == 0 ? 0 : -1;
}

static int reset_mock(void **state)
{
    struct ag_buf b;
    (void)state;
    ag_buf_init(&b, 0);
    control("POST", "/__mock/reset", "{}", &b);
    ag_buf_dispose(&b);
    return 0;
}

static void test_plain(void **state)
{
    struct run r;
    const char *h[] = {"Authorization: Bearer at-mock"};
    (void)state;
    setup_run(&r);
    start(&r, "GET", "/userinfo", NULL, h, 1, (struct ag_upstream_timeouts){.total_ms = 5000},
          false);
    run_until(&r, &r.done, 5000);
    assert_true(r.done);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype_buf, "application/json");
    assert_non_null(strstr(r.body.data, "\"email\":\"mock@example.com\""));
    teardown_run(&r);
}

static void test_streaming(void **state)
{
    struct run r;
    const char *h[] = {"Authorization: Bearer at-mock", "x-mock-sse-events: 20",
                       "x-mock-sse-delay-ms: 5", "Content-Type: application/json"};
    (void)state;
    setup_run(&r);
    start(&r, "POST", "/v1internal:streamGenerateContent?alt=sse", stream_body, h, 4,
          (struct ag_upstream_timeouts){.first_byte_ms = 5000, .idle_ms = 2000, .total_ms = 10000},
          true);
    run_until(&r, &r.done, 10000);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype_buf, "text/event-stream");
    assert_int_equal(r.events, 20);
    assert_true(r.data_calls >= 10); /* paced: delivered as it came, not buffered */
    assert_non_null(strstr(r.body.data, "\"finishReason\":\"STOP\""));
    teardown_run(&r);
}

/* ---- Cloud Code fallthrough ---- */

struct ccrun {
    struct run r;
    struct ag_cloudcode_result res;
    char msg[256];
};

static void cc_done(struct ag_cloudcode_call *call, const struct ag_cloudcode_result *res, void *ud)
{
    struct ccrun *c = ud;
    (void)call;
    c->res = *res;
    c->res.body = AG_STR_NULL;
    ag_buf_append(&c->r.body, res->body.p, res->body.len);
    snprintf(c->msg, sizeof(c->msg), "%s", res->message);
    c->r.done = true;
}

static void cc_call(struct ccrun *c, const char *const *eps, size_t n, const char *project)
{
    struct ag_cloudcode_target t = {.endpoints = eps,
                                    .nendpoints = n,
                                    .user_agent = "aigate-test/1.0",
                                    .client_version = "1.2.3",
                                    .timeouts = {.connect_ms = 2000, .total_ms = 10000}};
    struct ag_cloudcode_call_spec s = {.target = &t,
                                       .method = "generateContent",
                                       .access_token = "at-mock",
                                       .project = project,
                                       .body = stream_body,
                                       .body_len = strlen(stream_body),
                                       .on_done = cc_done,
                                       .ud = c};
    int err = 0;
    assert_non_null(ag_cloudcode_call_start(c->r.client, &s, &err));
    run_until(&c->r, &c->r.done, 10000);
    assert_true(c->r.done);
}

static void test_fallthrough(void **state)
{
    struct ccrun c;
    struct ag_buf b;
    char e1[96], e2[96], e3[96];
    const char *eps[] = {e1, e2, e3};
    (void)state;
    snprintf(e1, sizeof(e1), "http://127.0.0.1:%d/v1internal", ag_test_refused_port());
    snprintf(e2, sizeof(e2), "%s/e2/v1internal", mock.base_url);
    snprintf(e3, sizeof(e3), "%s/e3/v1internal/", mock.base_url);
    ag_buf_init(&b, 0);
    assert_int_equal(control("POST", "/__mock/faults", "{\"status\":503,\"path\":\"/e2/\"}", &b),
                     200);
    memset(&c, 0, sizeof(c));
    setup_run(&c.r);
    cc_call(&c, eps, 3, "proj-1");
    assert_int_equal(c.res.err, 0);
    assert_int_equal(c.res.status, 200);
    assert_int_equal(c.res.endpoint, 2);
    assert_int_equal(c.res.attempts, 3);
    assert_non_null(strstr(c.r.body.data, "\"response\""));
    assert_non_null(strstr(c.r.body.data, "echo: hello streaming world"));
    /* The mock saw e2 (answered 503) then e3, each with Antigravity Manager's headers. */
    assert_int_equal(control("GET", "/__mock/requests?path=v1internal", NULL, &b), 200);
    assert_non_null(strstr(b.data, "\"target\":\"/e2/v1internal:generateContent\""));
    assert_non_null(strstr(b.data, "\"target\":\"/e3/v1internal:generateContent\""));
    assert_true(strstr(b.data, "/e2/") < strstr(b.data, "/e3/"));
    assert_non_null(strstr(b.data, "\"authorization\":\"Bearer at-mock\""));
    assert_non_null(strstr(b.data, "\"x-client-name\":\"antigravity\""));
    assert_non_null(strstr(b.data, "\"x-client-version\":\"1.2.3\""));
    assert_non_null(strstr(b.data, "\"user-agent\":\"aigate-test/1.0\""));
    assert_non_null(strstr(b.data, "\"x-goog-user-project\":\"proj-1\""));
    assert_null(strstr(b.data, "x-machine-id"));
    teardown_run(&c.r);

    /* A 400 is returned as is: no fallthrough. */
    reset_mock(NULL);
    control("POST", "/__mock/faults", "{\"status\":400,\"path\":\"/e2/\"}", &b);
    memset(&c, 0, sizeof(c));
    setup_run(&c.r);
    cc_call(&c, eps + 1, 2, NULL);
    assert_int_equal(c.res.status, 400);
    assert_int_equal(c.res.attempts, 1);
    assert_int_equal(c.res.endpoint, 0);
    assert_non_null(strstr(c.r.body.data, "INVALID_ARGUMENT"));
    control("GET", "/__mock/requests?path=/e3/", NULL, &b);
    assert_string_equal(b.data, "[]");
    teardown_run(&c.r);

    /* 403 with x-goog-user-project: once more from the first endpoint without it. */
    reset_mock(NULL);
    control("POST", "/__mock/faults", "{\"status\":403,\"path\":\"/e2/\"}", &b);
    memset(&c, 0, sizeof(c));
    setup_run(&c.r);
    cc_call(&c, eps + 1, 2, "proj-1");
    assert_int_equal(c.res.status, 200);
    assert_int_equal(c.res.endpoint, 0);
    assert_int_equal(c.res.attempts, 2);
    control("GET", "/__mock/requests?path=/e2/", NULL, &b);
    {
        /* Two calls to e2: the first with the header, the second without. */
        const char *first = strstr(b.data, "x-goog-user-project");
        assert_non_null(first);
        assert_null(strstr(first + 1, "x-goog-user-project"));
        assert_non_null(strstr(first, "\"target\":\"/e2/v1internal:generateContent\""));
    }
    teardown_run(&c.r);

    /* All endpoints down: the transport error comes back. */
    memset(&c, 0, sizeof(c));
    setup_run(&c.r);
    cc_call(&c, eps, 1, NULL);
    assert_int_equal(c.res.err, AG_EIO);
    assert_int_equal(c.res.fail, AG_UPSTREAM_FAIL_CONNECT_REFUSED);
    teardown_run(&c.r);
    ag_buf_dispose(&b);
}

/* ---- timeouts ---- */

static void expect_fail(const char *fault, const char *const *h, size_t nh,
                        struct ag_upstream_timeouts to, enum ag_upstream_fail want)
{
    struct run r;
    struct ag_buf b;
    ag_buf_init(&b, 0);
    reset_mock(NULL);
    if (fault)
        assert_int_equal(control("POST", "/__mock/faults", fault, &b), 200);
    setup_run(&r);
    start(&r, "POST", "/v1internal:streamGenerateContent?alt=sse", stream_body, h, nh, to, true);
    run_until(&r, &r.done, 10000);
    assert_true(r.done);
    if (r.fail != want)
        fail_msg("got %s, wanted %s", ag_upstream_fail_name(r.fail), ag_upstream_fail_name(want));
    assert_int_equal(r.err, ag_upstream_fail_is_timeout(want) ? AG_ETIMEDOUT : AG_EIO);
    teardown_run(&r);
    ag_buf_dispose(&b);
}

static void test_timeouts(void **state)
{
    const char *slow[] = {"Authorization: Bearer at-mock", "x-mock-sse-events: 5",
                          "x-mock-sse-delay-ms: 1500"};
    const char *steady[] = {"Authorization: Bearer at-mock", "x-mock-sse-events: 40",
                            "x-mock-sse-delay-ms: 50"};
    (void)state;
    expect_fail("{\"delay_ms\":3000}", slow, 1, (struct ag_upstream_timeouts){.first_byte_ms = 300},
                AG_UPSTREAM_FAIL_FIRST_BYTE_TIMEOUT);
    expect_fail(NULL, slow, 3, (struct ag_upstream_timeouts){.first_byte_ms = 2000, .idle_ms = 300},
                AG_UPSTREAM_FAIL_IDLE_TIMEOUT);
    expect_fail(NULL, steady, 3, (struct ag_upstream_timeouts){.idle_ms = 1000, .total_ms = 500},
                AG_UPSTREAM_FAIL_TOTAL_TIMEOUT);
    expect_fail("{\"disconnect_after_events\":2}", slow, 1, (struct ag_upstream_timeouts){0},
                AG_UPSTREAM_FAIL_RESET);
}

static void test_connect_timeout(void **state)
{
    /* A listener whose accept queue is full drops new SYNs: the connect hangs. */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), cfd[4];
    struct run r;
    char url[96];
    struct ag_upstream_req_spec s = {0};
    int err;
    (void)state;
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(lfd, 0), 0);
    getsockname(lfd, (struct sockaddr *)&a, &len);
    for (int i = 0; i < 4; i++) {
        cfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(cfd[i], (struct sockaddr *)&a, sizeof(a));
    }
    /* The first one is established (the queue is full) once it is writable. */
    struct pollfd established = {.fd = cfd[0], .events = POLLOUT};
    assert_int_equal(poll(&established, 1, 5000), 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ntohs(a.sin_port));
    setup_run(&r);
    s.url = url;
    s.timeouts.connect_ms = 300;
    s.timeouts.total_ms = 5000;
    s.on_done = on_done;
    s.ud = &r;
    r.req = ag_upstream_req_start(r.client, &s, &err);
    run_until(&r, &r.done, 6000);
    assert_true(r.done);
    if (r.fail != AG_UPSTREAM_FAIL_CONNECT_TIMEOUT)
        fail_msg("got %s", ag_upstream_fail_name(r.fail));
    assert_int_equal(r.err, AG_ETIMEDOUT);
    teardown_run(&r);
    for (int i = 0; i < 4; i++)
        close(cfd[i]);
    close(lfd);
}

/* ---- cancellation ---- */

static long stat_of(struct ag_buf *b, const char *key)
{
    char k[64];
    const char *p;
    control("GET", "/__mock/stats", NULL, b);
    snprintf(k, sizeof(k), "\"%s\":", key);
    p = strstr(b->data, k);
    return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

static int mock_connections(struct ag_buf *b)
{
    return (int)stat_of(b, "connections");
}

struct conns_want {
    struct ag_buf *b;
    int want;
};

static bool mock_connections_are(void *ud)
{
    struct conns_want *w = ud;
    return mock_connections(w->b) == w->want;
}

static void cancel_timer(uv_timer_t *t)
{
    struct run *r = t->data;
    ag_upstream_req_cancel(r->req);
    r->done = true;
}

static void check_cancel(bool in_callback)
{
    const char *h[] = {"Authorization: Bearer at-mock", "x-mock-sse-events: 50",
                       "x-mock-sse-delay-ms: 100"};
    struct run r;
    struct ag_buf b;
    int before;
    long aborted;

    ag_buf_init(&b, 0);
    reset_mock(NULL);
    aborted = stat_of(&b, "streams_aborted");
    before = mock_connections(&b); /* our control connection only */
    setup_run(&r);
    r.cancel_in_data = in_callback;
    start(&r, "POST", "/v1internal:streamGenerateContent?alt=sse", stream_body, h, 3,
          (struct ag_upstream_timeouts){.total_ms = 20000}, true);
    if (!in_callback)
        uv_timer_start(&r.timer, cancel_timer, 250, 0);
    run_until(&r, &r.done, 5000);
    assert_true(r.done);
    for (int i = 0; i < 10; i++)
        uv_run(&r.loop, UV_RUN_NOWAIT);
    /* The mock sees the cancelled connection close. */
    assert_true(ag_test_wait_for(mock_connections_are, &(struct conns_want){&b, before}, 2000));
    assert_int_equal(stat_of(&b, "streams_aborted"), aborted + 1);
    assert_true(r.events < 50);
    teardown_run(&r);
    ag_buf_dispose(&b);
}

static void test_cancel(void **state)
{
    (void)state;
    check_cancel(false);
    check_cancel(true);
}

static void resume_timer(uv_timer_t *t)
{
    ag_upstream_req_resume(((struct run *)t->data)->req);
}

static void test_pause_resume(void **state)
{
    const char *h[] = {"Authorization: Bearer at-mock", "x-mock-sse-events: 10"};
    struct run r;
    (void)state;
    reset_mock(NULL);
    setup_run(&r);
    r.pause_first = true;
    start(&r, "POST", "/v1internal:streamGenerateContent?alt=sse", stream_body, h, 2,
          (struct ag_upstream_timeouts){.idle_ms = 200, .total_ms = 5000}, true);
    uv_timer_start(&r.timer, resume_timer, 600, 0); /* paused longer than the idle timeout */
    run_until(&r, &r.done, 5000);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.events, 10); /* nothing lost: the refused bytes came again */
    teardown_run(&r);
}

static void test_proxy_and_errors(void **state)
{
    char out[256];
    struct run r;
    struct ag_upstream_req_spec s = {0};
    char url[96];
    int err = 0;
    (void)state;
    assert_int_equal(ag_upstream_proxy_normalize("127.0.0.1:3128", out, sizeof(out)), 0);
    assert_string_equal(out, "http://127.0.0.1:3128");
    assert_int_equal(ag_upstream_proxy_normalize("socks5://user:pw@127.0.0.1:1080", out, 256), 0);
    assert_int_equal(ag_upstream_proxy_normalize("socks5h://localhost:1080", out, 256), 0);
    assert_int_equal(ag_upstream_proxy_normalize("https://127.0.0.1", out, 256), 0);
    assert_int_equal(ag_upstream_proxy_normalize("ftp://127.0.0.1", out, 256), AG_EINVAL);
    assert_int_equal(ag_upstream_proxy_normalize("http://", out, 256), AG_EINVAL);
    assert_int_equal(ag_upstream_proxy_normalize("http://h:99999", out, 256), AG_EINVAL);
    assert_int_equal(ag_upstream_proxy_normalize("http://a b", out, 256), AG_EINVAL);
    assert_int_equal(ag_upstream_proxy_normalize("", out, 256), AG_EINVAL);
    assert_int_equal(ag_upstream_proxy_normalize("127.0.0.1:1", out, 8), AG_ETOOBIG);

    setup_run(&r);
    snprintf(url, sizeof(url), "%s/userinfo", mock.base_url);
    s.url = url;
    s.on_done = on_done;
    s.ud = &r;
    s.proxy = "gopher://127.0.0.1:1";
    assert_null(ag_upstream_req_start(r.client, &s, &err));
    assert_int_equal(err, AG_EINVAL);
    s.proxy = NULL;
    s.url = "file:///etc/passwd";
    assert_null(ag_upstream_req_start(r.client, &s, &err));
    assert_int_equal(err, AG_EINVAL);
    /* A proxy that refuses connections. */
    snprintf(out, sizeof(out), "127.0.0.1:%d", ag_test_refused_port());
    s.url = url;
    s.proxy = out;
    assert_non_null(r.req = ag_upstream_req_start(r.client, &s, &err));
    run_until(&r, &r.done, 5000);
    assert_int_equal(r.fail, AG_UPSTREAM_FAIL_PROXY);
    /* Direct to a refused port. */
    r.done = false;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ag_test_refused_port());
    s.proxy = NULL;
    assert_non_null(r.req = ag_upstream_req_start(r.client, &s, &err));
    run_until(&r, &r.done, 5000);
    assert_int_equal(r.fail, AG_UPSTREAM_FAIL_CONNECT_REFUSED);
    /* A collected body over its cap. */
    r.done = false;
    snprintf(url, sizeof(url), "%s/__mock/accounts", mock.base_url);
    s.max_body = 16;
    assert_non_null(r.req = ag_upstream_req_start(r.client, &s, &err));
    run_until(&r, &r.done, 5000);
    assert_int_equal(r.fail, AG_UPSTREAM_FAIL_TOO_BIG);
    assert_int_equal(r.err, AG_ETOOBIG);
    teardown_run(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_plain, reset_mock),
        cmocka_unit_test_setup(test_streaming, reset_mock),
        cmocka_unit_test_setup(test_fallthrough, reset_mock),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_proxy_and_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
