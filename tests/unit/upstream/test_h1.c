/* tests/unit/upstream/test_h1.c: the upstream client's native HTTP/1.1 path (plain http://, no
 * proxy) against a scripted server on the same libuv loop, over real loopback sockets: what goes
 * on the wire, kept-alive connections and when they are not kept, a reused connection the server
 * closed (retried once), answers ended by the connection's close, chunked answers in pieces,
 * interim answers, HEAD, truncated and malformed answers, an oversized head, pause with held
 * bytes, host names with several addresses, refused connections. */
#include "ag_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "upstream/client.h"

/* ---- the scripted server ---- */

enum { ACT_ANSWER, ACT_ANSWER_CLOSE, ACT_CLOSE };

struct act {
    int kind;
    const char *pieces[8]; /* written one by one, a few ms apart; NULL ends */
};

struct srv {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int port;
    int accepted, requests;
    const struct act *script; /* one per request, the last one repeats */
    size_t nscript;
    char last_req[8192];
    size_t last_req_len, last_req_total;
};

struct sconn {
    uv_tcp_t tcp;
    struct srv *s;
    char buf[5u << 20];
    size_t len;
    const struct act *act;
    int piece;
    uv_timer_t timer;
    bool closing;
};

static void timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void sconn_closed(uv_handle_t *h)
{
    struct sconn *k = h->data;
    uv_close((uv_handle_t *)&k->timer, timer_closed);
}

static void sconn_close(struct sconn *k)
{
    if (k->closing)
        return;
    k->closing = true;
    uv_timer_stop(&k->timer);
    k->timer.data = k;
    uv_close((uv_handle_t *)&k->tcp, sconn_closed);
}

static void write_done(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void serve(struct sconn *k);

static void next_piece(uv_timer_t *t)
{
    struct sconn *k = t->data;
    const char *p = k->act->pieces[k->piece++];

    if (p) {
        uv_write_t *w = malloc(sizeof(*w));
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)strlen(p));
        uv_write(w, (uv_stream_t *)&k->tcp, &b, 1, write_done);
    }
    if (p && k->act->pieces[k->piece]) {
        uv_timer_start(&k->timer, next_piece, 3, 0);
        return;
    }
    if (k->act->kind == ACT_ANSWER_CLOSE) {
        sconn_close(k);
        return;
    }
    k->act = NULL;
    serve(k);
}

/* One whole request in the buffer: its length, else 0. */
static size_t request_len(const char *p, size_t n)
{
    const char *end = NULL, *cl;
    size_t body = 0;

    for (size_t i = 0; i + 3 < n; i++) {
        if (memcmp(p + i, "\r\n\r\n", 4) == 0) {
            end = p + i + 4;
            break;
        }
    }
    if (!end)
        return 0;
    cl = strcasestr(p, "\r\ncontent-length:");
    if (cl && cl < end)
        body = strtoul(cl + 17, NULL, 10);
    return (size_t)(end - p) + body <= n ? (size_t)(end - p) + body : 0;
}

static void s_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    struct sconn *k = h->data;
    (void)sz;
    *b = uv_buf_init(k->buf + k->len, (unsigned)(sizeof(k->buf) - k->len - 1));
}

static void s_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct sconn *k = st->data;
    (void)b;

    if (n < 0) {
        sconn_close(k);
        return;
    }
    k->len += (size_t)n;
    k->buf[k->len] = '\0';
    serve(k);
}

/* Answers the next whole request in the buffer, if any and none is being answered. */
static void serve(struct sconn *k)
{
    struct srv *s = k->s;
    size_t rl;

    if (!k->act && !k->closing && (rl = request_len(k->buf, k->len)) > 0) {
        size_t i = (size_t)s->requests < s->nscript ? (size_t)s->requests : s->nscript - 1;
        s->last_req_total = rl;
        s->last_req_len = rl < sizeof(s->last_req) - 1 ? rl : sizeof(s->last_req) - 1;
        memcpy(s->last_req, k->buf, s->last_req_len);
        s->last_req[s->last_req_len] = '\0';
        s->requests++;
        memmove(k->buf, k->buf + rl, k->len - rl);
        k->len -= rl;
        if (s->script[i].kind == ACT_CLOSE) {
            sconn_close(k);
            return;
        }
        k->act = &s->script[i];
        k->piece = 0;
        next_piece(&k->timer);
    }
}

static void s_accept(uv_stream_t *l, int status)
{
    struct srv *s = l->data;
    struct sconn *k = calloc(1, sizeof(*k));
    (void)status;
    k->s = s;
    uv_tcp_init(s->loop, &k->tcp);
    uv_timer_init(s->loop, &k->timer);
    k->tcp.data = k;
    k->timer.data = k;
    if (uv_accept(l, (uv_stream_t *)&k->tcp) != 0) {
        sconn_close(k);
        return;
    }
    s->accepted++;
    uv_read_start((uv_stream_t *)&k->tcp, s_alloc, s_read);
}

static void srv_start(struct srv *s, uv_loop_t *loop, const struct act *script, size_t n)
{
    struct sockaddr_in a;
    int len = sizeof(a);
    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->script = script;
    s->nscript = n;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    assert_int_equal(uv_tcp_bind(&s->listener, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->listener, 64, s_accept), 0);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
}

/* ---- the client side ---- */

struct run {
    uv_loop_t loop;
    struct ag_upstream_client *client;
    struct ag_upstream_req *req;
    struct srv srv;
    bool done;
    int err, status;
    enum ag_upstream_fail fail;
    char message[256];
    struct ag_buf body;
    int data_calls;
    bool pause_first;
    uv_timer_t resume;
};

static void on_done(struct ag_upstream_req *req, const struct ag_upstream_result *res, void *ud)
{
    struct run *r = ud;
    (void)req;
    r->done = true;
    r->err = res->err;
    r->fail = res->fail;
    r->status = res->status;
    snprintf(r->message, sizeof(r->message), "%s", res->message);
    if (res->body.len)
        ag_buf_append(&r->body, res->body.p, res->body.len);
    r->req = NULL;
}

static int on_data(struct ag_upstream_req *req, const char *p, size_t n, void *ud)
{
    struct run *r = ud;
    (void)req;
    if (r->pause_first && r->data_calls++ == 0)
        return AG_EAGAIN;
    ag_buf_append(&r->body, p, n);
    return 0;
}

static void setup(struct run *r, const struct act *script, size_t n)
{
    memset(r, 0, sizeof(*r));
    uv_loop_init(&r->loop);
    r->client = ag_upstream_client_new(&r->loop, NULL);
    ag_buf_init(&r->body, 0);
    srv_start(&r->srv, &r->loop, script, n);
    uv_timer_init(&r->loop, &r->resume);
    r->resume.data = r;
}

static void closed_cb(void *ud)
{
    *(bool *)ud = true;
}

static void teardown(struct run *r)
{
    bool closed = false;
    ag_upstream_client_close(r->client, closed_cb, &closed);
    uv_close((uv_handle_t *)&r->srv.listener, NULL);
    uv_close((uv_handle_t *)&r->resume, NULL);
    for (int i = 0; i < 2000 && !closed; i++)
        uv_run(&r->loop, UV_RUN_NOWAIT);
    assert_true(closed);
    ag_buf_dispose(&r->body);
}

static void teardown_loop(struct run *r)
{
    /* The server's connections close once the client's side has closed. */
    uint64_t end = ag_now_ms() + 3000;
    while (uv_loop_alive(&r->loop) && ag_now_ms() < end)
        uv_run(&r->loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&r->loop), 0);
}

static void run_until_done(struct run *r, uint32_t ms)
{
    uint64_t end = ag_now_ms() + ms;
    for (int i = 0; i < 1000000 && !r->done && ag_now_ms() < end; i++)
        uv_run(&r->loop, UV_RUN_NOWAIT);
    assert_true(r->done);
}

/* Starts one request to path on the scripted server (or to url when given) and runs it to its end.
 */
static int request(struct run *r, const char *method, const char *url, const char *body,
                   const char *const *hdrs, size_t nh, bool stream)
{
    char u[256];
    struct ag_upstream_req_spec s = {0};
    int err = 0;
    if (url[0] == '/')
        snprintf(u, sizeof(u), "http://127.0.0.1:%d%s", r->srv.port, url);
    else
        snprintf(u, sizeof(u), "%s", url);
    r->done = false;
    ag_buf_reset(&r->body);
    s.method = method;
    s.url = u;
    s.headers = hdrs;
    s.nheaders = nh;
    s.body = body;
    s.body_len = body ? strlen(body) : 0;
    s.timeouts.total_ms = 5000;
    s.on_data = stream ? on_data : NULL;
    s.on_done = on_done;
    s.ud = r;
    r->req = ag_upstream_req_start(r->client, &s, &err);
    if (!r->req)
        return err;
    run_until_done(r, 6000);
    if (r->err && getenv("H1_TEST_DEBUG"))
        fprintf(stderr, "%s -> %s\n", url, r->message);
    return 0;
}

#define OK_HELLO "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

/* ---- tests ---- */

static void test_wire_and_reuse(void **state)
{
    static const struct act script[] = {{ACT_ANSWER, {OK_HELLO, NULL}}};
    const char *hdrs[] = {"Authorization: Bearer t", "X-Remove:", "X-Empty;",
                          "Content-Type: application/json"};
    struct run r;
    (void)state;
    setup(&r, script, 1);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(request(&r, "POST", "/v1/x?alt=sse#frag", "{\"a\":1}", hdrs, 4, i % 2), 0);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body.len, 5);
        assert_memory_equal(r.body.data, "hello", 5);
    }
    /* Five requests, one connection. */
    assert_int_equal(r.srv.requests, 5);
    assert_int_equal(r.srv.accepted, 1);
    {
        char host[64];
        snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%d\r\n", r.srv.port);
        assert_true(strncmp(r.srv.last_req, "POST /v1/x?alt=sse HTTP/1.1\r\n", 29) == 0);
        assert_non_null(strstr(r.srv.last_req, host));
        assert_non_null(strstr(r.srv.last_req, "\r\nAuthorization: Bearer t\r\n"));
        assert_non_null(strstr(r.srv.last_req, "\r\nX-Empty:\r\n"));
        assert_null(strcasestr(r.srv.last_req, "X-Remove"));
        assert_non_null(strstr(r.srv.last_req, "\r\nContent-Length: 7\r\n\r\n{\"a\":1}"));
    }
    /* A body larger than the socket takes at once: the rest follows the first write. */
    {
        size_t big = 4u << 20;
        char *body = malloc(big + 1);
        memset(body, 'b', big);
        body[big] = '\0';
        assert_int_equal(request(&r, "POST", "/big", body, NULL, 0, false), 0);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.srv.requests, 6);
        assert_non_null(strstr(r.srv.last_req, "\r\nContent-Length: 4194304\r\n"));
        assert_int_equal(r.srv.last_req_total,
                         strstr(r.srv.last_req, "\r\n\r\n") + 4 - r.srv.last_req + big);
        free(body);
    }
    /* A header that would split the head is refused before anything is sent. */
    {
        const char *bad[] = {"X-Evil: a\r\nInjected: 1"};
        assert_int_equal(request(&r, "POST", "/", "{}", bad, 1, false), AG_EINVAL);
        assert_int_equal(r.srv.requests, 6);
    }
    teardown(&r);
    teardown_loop(&r);
}

static void test_stale_reused_connection_retried(void **state)
{
    /* The second request finds its kept-alive connection closed by the server without an answer:
     * it goes again on a fresh connection and succeeds. */
    static const struct act script[] = {
        {ACT_ANSWER, {OK_HELLO, NULL}}, {ACT_CLOSE, {NULL}}, {ACT_ANSWER, {OK_HELLO, NULL}}};
    struct run r;
    (void)state;
    setup(&r, script, 3);
    assert_int_equal(request(&r, "GET", "/a", NULL, NULL, 0, false), 0);
    assert_int_equal(r.err, 0);
    assert_int_equal(request(&r, "GET", "/b", NULL, NULL, 0, true), 0);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body.data, "hello", 5);
    assert_int_equal(r.srv.requests, 3);
    assert_int_equal(r.srv.accepted, 2);
    teardown(&r);
    teardown_loop(&r);
}

static void test_fresh_connection_closed_is_reset(void **state)
{
    static const struct act script[] = {{ACT_CLOSE, {NULL}}};
    struct run r;
    (void)state;
    setup(&r, script, 1);
    assert_int_equal(request(&r, "GET", "/", NULL, NULL, 0, false), 0);
    assert_int_equal(r.err, AG_EIO);
    assert_int_equal(r.fail, AG_UPSTREAM_FAIL_RESET);
    assert_non_null(strstr(r.message, "empty reply"));
    assert_int_equal(r.srv.requests, 1); /* not retried: it was not a reused connection */
    teardown(&r);
    teardown_loop(&r);
}

static void test_answer_shapes(void **state)
{
    static const struct act script[] = {
        /* ended by the connection's close */
        {ACT_ANSWER_CLOSE, {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhel", "lo", NULL}},
        /* chunked, split inside the chunk sizes and data */
        {ACT_ANSWER,
         {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r", "\nhel\r\n2",
          "\r\nlo\r\n0\r\n", "\r\n", NULL}},
        /* interim answer first */
        {ACT_ANSWER, {"HTTP/1.1 100 Continue\r\n\r\n", OK_HELLO, NULL}},
        /* HEAD: a length and no body */
        {ACT_ANSWER, {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", NULL}},
        /* "Connection: close" */
        {ACT_ANSWER,
         {"HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello", NULL}},
        {ACT_ANSWER, {OK_HELLO, NULL}},
    };
    struct run r;
    (void)state;
    setup(&r, script, 6);
    for (int stream = 0; stream < 2; stream++) {
        r.srv.requests = 0;
        r.srv.accepted = 0;
        assert_int_equal(request(&r, "GET", "/close", NULL, NULL, 0, stream), 0);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.body.len, 5);
        assert_memory_equal(r.body.data, "hello", 5);
        assert_int_equal(request(&r, "GET", "/chunked", NULL, NULL, 0, stream), 0);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.body.len, 5);
        assert_memory_equal(r.body.data, "hello", 5);
        assert_int_equal(request(&r, "GET", "/interim", NULL, NULL, 0, stream), 0);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.status, 200);
        assert_memory_equal(r.body.data, "hello", 5);
        assert_int_equal(request(&r, "HEAD", "/head", NULL, NULL, 0, stream), 0);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.body.len, 0);
        assert_int_equal(request(&r, "GET", "/busy", NULL, NULL, 0, stream), 0);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.status, 503);
        assert_int_equal(request(&r, "GET", "/after", NULL, NULL, 0, stream), 0);
        assert_int_equal(r.err, 0);
        /* The close-delimited answer's connection is not kept: chunked opens a new one, which
         * carries interim, HEAD and busy; busy's "Connection: close" makes the last one open
         * another. The second round begins on the first round's last connection. */
        assert_int_equal(r.srv.accepted, stream ? 2 : 3);
        assert_int_equal(r.srv.requests, 6);
    }
    teardown(&r);
    teardown_loop(&r);
}

static void expect_failure(const struct act *a, enum ag_upstream_fail want, const char *text)
{
    struct run r;
    setup(&r, a, 1);
    assert_int_equal(request(&r, "GET", "/", NULL, NULL, 0, true), 0);
    if (r.fail != want)
        fail_msg("got %s (%s)", ag_upstream_fail_name(r.fail), r.message);
    assert_int_not_equal(r.err, 0);
    if (text && !strstr(r.message, text))
        fail_msg("message \"%s\" lacks \"%s\"", r.message, text);
    teardown(&r);
    teardown_loop(&r);
}

static void test_bad_answers(void **state)
{
    static const struct act truncated = {
        ACT_ANSWER_CLOSE, {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", NULL}};
    static const struct act garbage = {ACT_ANSWER, {"HELLO THERE\r\n\r\n", NULL}};
    static char big[80 * 1024];
    struct act huge = {ACT_ANSWER, {"HTTP/1.1 200 OK\r\n", big, "\r\n\r\n", NULL}};
    (void)state;
    expect_failure(&truncated, AG_UPSTREAM_FAIL_RESET, "before the answer ended");
    expect_failure(&garbage, AG_UPSTREAM_FAIL_OTHER, "malformed");
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'a', sizeof(big) - 8);
    expect_failure(&huge, AG_UPSTREAM_FAIL_TOO_BIG, NULL);
}

static void resume_cb(uv_timer_t *t)
{
    struct run *r = t->data;
    if (r->req)
        ag_upstream_req_resume(r->req);
}

static void test_pause_holds_bytes(void **state)
{
    /* The first body bytes are refused (pause) while the rest of the answer arrives and ends:
     * nothing is lost, the order is kept and the end waits for the resume. */
    static const struct act script[] = {
        {ACT_ANSWER, {"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", "def", "ghi", NULL}}};
    struct run r;
    char u[64];
    struct ag_upstream_req_spec s = {0};
    int err;
    (void)state;
    setup(&r, script, 1);
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/p", r.srv.port);
    r.pause_first = true;
    s.url = u;
    s.timeouts = (struct ag_upstream_timeouts){.idle_ms = 100, .total_ms = 5000};
    s.on_data = on_data;
    s.on_done = on_done;
    s.ud = &r;
    r.req = ag_upstream_req_start(r.client, &s, &err);
    assert_non_null(r.req);
    uv_timer_start(&r.resume, resume_cb, 300, 0); /* paused for longer than the idle timeout */
    run_until_done(&r, 6000);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.body.len, 9);
    assert_memory_equal(r.body.data, "abcdefghi", 9);
    teardown(&r);
    teardown_loop(&r);
}

static void test_names_and_refusal(void **state)
{
    static const struct act script[] = {{ACT_ANSWER, {OK_HELLO, NULL}}};
    struct run r;
    char u[96];
    int port;
    (void)state;
    setup(&r, script, 1);
    /* "localhost" may resolve to ::1 first; the server only listens on 127.0.0.1. */
    snprintf(u, sizeof(u), "http://localhost:%d/n", r.srv.port);
    assert_int_equal(request(&r, "GET", u, NULL, NULL, 0, false), 0);
    assert_int_equal(r.err, 0);
    assert_memory_equal(r.body.data, "hello", 5);
    /* A port nobody listens on. */
    port = r.srv.port;
    uv_close((uv_handle_t *)&r.srv.listener, NULL);
    uv_run(&r.loop, UV_RUN_NOWAIT);
    r.srv.listener.data = NULL;
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/n", port);
    assert_int_equal(request(&r, "GET", u, NULL, NULL, 0, false), 0);
    assert_int_equal(r.fail, AG_UPSTREAM_FAIL_CONNECT_REFUSED);
    snprintf(u, sizeof(u), "http://no-such-host.invalid:%d/n", port);
    assert_int_equal(request(&r, "GET", u, NULL, NULL, 0, false), 0);
    assert_int_equal(r.fail, AG_UPSTREAM_FAIL_DNS);
    {
        bool closed = false;
        ag_upstream_client_close(r.client, closed_cb, &closed);
        uv_close((uv_handle_t *)&r.resume, NULL);
        for (int i = 0; i < 2000 && !closed; i++)
            uv_run(&r.loop, UV_RUN_NOWAIT);
        assert_true(closed);
        ag_buf_dispose(&r.body);
    }
    teardown_loop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_and_reuse),
        cmocka_unit_test(test_stale_reused_connection_retried),
        cmocka_unit_test(test_fresh_connection_closed_is_reset),
        cmocka_unit_test(test_answer_shapes),
        cmocka_unit_test(test_bad_answers),
        cmocka_unit_test(test_pause_holds_bytes),
        cmocka_unit_test(test_names_and_refusal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
