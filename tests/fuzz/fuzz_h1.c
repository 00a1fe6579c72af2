/* tests/fuzz/fuzz_h1.c: libFuzzer harness for the upstream client's native HTTP/1.1 path
 * (src/upstream/h1.c): a server on the harness's own libuv loop answers the client's request with
 * the input's bytes over a real loopback connection and then closes it; the client reads them in
 * pieces of the size the input picks, streaming or collecting, its on_data refusing (pause) or
 * cancelling as the input says.
 *
 * Input: a flags byte, a read-size byte, then the answer. Flags: bit 0 stream (on_data) or
 * collect; bit 1 HEAD instead of GET; bits 2-3 how often on_data refuses bytes (never, every
 * call, every second call, the first call only), resumed from a timer on the next loop turn;
 * bit 4 cancel from on_data at its fourth call; bit 5 a second request on the same client after
 * the first (a kept-alive connection that the server then closed, or a new one).
 *
 * Invariants: the request ends exactly once (not at all after a cancel), within its timeout;
 * when it succeeds, the body the client delivered is exactly the body llhttp finds in the same
 * bytes parsed in one piece (pause and held bytes lose, repeat or reorder nothing). */
#include <llhttp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "upstream/client.h"

struct srv {
    uv_tcp_t listener;
    const uint8_t *answer;
    size_t answer_len;
    int port;
};

struct sconn {
    uv_tcp_t tcp;
    uv_write_t w;
    struct srv *s;
    char req[4096];
    size_t len;
    bool answered;
};

struct run {
    uv_loop_t loop;
    struct ag_upstream_client *client;
    struct ag_upstream_req *req;
    struct srv srv;
    uv_timer_t resume;
    struct ag_buf body;
    unsigned flags, calls;
    int done;
    int err;
    bool canceled;
};

static void sconn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void written(uv_write_t *w, int status)
{
    struct sconn *k = w->data;
    (void)status;
    uv_close((uv_handle_t *)&k->tcp, sconn_closed);
}

static void s_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    struct sconn *k = h->data;
    (void)sz;
    *b = uv_buf_init(k->req + k->len, (unsigned)(sizeof(k->req) - 1 - k->len));
}

static void s_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct sconn *k = st->data;
    (void)b;
    if (n < 0 || k->len + (size_t)n >= sizeof(k->req) - 1) {
        if (!k->answered) {
            k->answered = true;
            uv_close((uv_handle_t *)&k->tcp, sconn_closed);
        }
        return;
    }
    k->len += (size_t)n;
    k->req[k->len] = '\0';
    if (!k->answered && strstr(k->req, "\r\n\r\n")) {
        uv_buf_t out = uv_buf_init((char *)k->s->answer, (unsigned)k->s->answer_len);
        k->answered = true;
        uv_read_stop(st);
        k->w.data = k;
        if (uv_write(&k->w, st, &out, 1, written) != 0)
            uv_close((uv_handle_t *)&k->tcp, sconn_closed);
    }
}

static void s_accept(uv_stream_t *l, int status)
{
    struct srv *s = l->data;
    struct sconn *k = calloc(1, sizeof(*k));
    (void)status;
    k->s = s;
    uv_tcp_init(l->loop, &k->tcp);
    k->tcp.data = k;
    if (uv_accept(l, (uv_stream_t *)&k->tcp) != 0) {
        uv_close((uv_handle_t *)&k->tcp, sconn_closed);
        return;
    }
    uv_read_start((uv_stream_t *)&k->tcp, s_alloc, s_read);
}

static void resume_cb(uv_timer_t *t)
{
    struct run *r = t->data;
    if (r->req)
        ag_upstream_req_resume(r->req);
}

static int on_data(struct ag_upstream_req *req, const char *p, size_t n, void *ud)
{
    struct run *r = ud;
    unsigned refuse = (r->flags >> 2) & 3u, call = r->calls++;
    (void)req;

    if ((r->flags & 16u) && call == 3) {
        ag_upstream_req_cancel(r->req);
        r->canceled = true;
        r->req = NULL;
        return 0;
    }
    if ((refuse == 1 && call % 2 == 0) || (refuse == 2 && call % 4 == 1) ||
        (refuse == 3 && call == 0)) {
        uv_timer_start(&r->resume, resume_cb, 0, 0);
        return AG_EAGAIN;
    }
    ag_buf_append(&r->body, p, n);
    return 0;
}

static void on_done(struct ag_upstream_req *req, const struct ag_upstream_result *res, void *ud)
{
    struct run *r = ud;
    (void)req;
    if (r->canceled)
        abort(); /* no on_done after a cancel */
    r->done++;
    r->err = res->err;
    if (res->body.len)
        ag_buf_append(&r->body, res->body.p, res->body.len);
    r->req = NULL;
}

/* The body llhttp finds in the whole answer at once (the oracle). */
static int oracle_body(llhttp_t *p, const char *at, size_t n)
{
    return ag_buf_append(p->data, at, n) < 0 ? -1 : 0;
}

static int oracle_headers(llhttp_t *p)
{
    return p->method == HTTP_HEAD ? 1 : 0;
}

static int oracle_done(llhttp_t *p)
{
    return p->status_code >= 100 && p->status_code < 200 && p->status_code != 101 ? 0 : HPE_PAUSED;
}

static bool oracle(const uint8_t *d, size_t n, bool head, struct ag_buf *out)
{
    llhttp_settings_t st;
    llhttp_t p;
    llhttp_errno_t e;

    llhttp_settings_init(&st);
    st.on_body = oracle_body;
    st.on_headers_complete = oracle_headers;
    st.on_message_complete = oracle_done;
    llhttp_init(&p, HTTP_RESPONSE, &st);
    p.data = out;
    p.method = head ? HTTP_HEAD : HTTP_GET;
    e = llhttp_execute(&p, (const char *)d, n);
    if (e == HPE_OK)
        e = llhttp_finish(&p);
    return e == HPE_PAUSED || e == HPE_OK;
}

static void one_request(struct run *r, bool head)
{
    char url[64];
    struct ag_upstream_req_spec s = {0};
    int err;
    uint64_t end;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/f", r->srv.port);
    s.method = head ? "HEAD" : "GET";
    s.url = url;
    s.timeouts.total_ms = 2000;
    s.on_data = (r->flags & 1u) ? on_data : NULL;
    s.on_done = on_done;
    s.ud = r;
    r->done = 0;
    r->calls = 0;
    r->canceled = false;
    ag_buf_reset(&r->body);
    r->req = ag_upstream_req_start(r->client, &s, &err);
    if (!r->req)
        abort();
    end = ag_now_ms() + 3000;
    while (!r->done && !r->canceled && ag_now_ms() < end)
        uv_run(&r->loop, UV_RUN_ONCE);
    if (!r->done && !r->canceled)
        abort(); /* the request never ended */
}

static void client_closed(void *ud)
{
    *(bool *)ud = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run r;
    struct sockaddr_in a;
    int alen = sizeof(a);
    bool head, closed = false;
    struct ag_upstream_client_opts o = {0};
    struct ag_buf want;

    if (size < 2)
        return 0;
    memset(&r, 0, sizeof(r));
    r.flags = data[0];
    head = (r.flags & 2u) != 0;
    o.recv_buffer_bytes = 1 + data[1] % 64;
    r.srv.answer = data + 2;
    r.srv.answer_len = size - 2;
    uv_loop_init(&r.loop);
    r.client = ag_upstream_client_new(&r.loop, &o);
    ag_buf_init(&r.body, 0);
    ag_buf_init(&want, 0);
    uv_timer_init(&r.loop, &r.resume);
    r.resume.data = &r;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(&r.loop, &r.srv.listener);
    r.srv.listener.data = &r.srv;
    if (uv_tcp_bind(&r.srv.listener, (struct sockaddr *)&a, 0) != 0 ||
        uv_listen((uv_stream_t *)&r.srv.listener, 16, s_accept) != 0)
        abort();
    uv_tcp_getsockname(&r.srv.listener, (struct sockaddr *)&a, &alen);
    r.srv.port = ntohs(a.sin_port);

    one_request(&r, head);
    if (r.done == 1 && r.err == 0 && oracle(data + 2, size - 2, head, &want)) {
        if (want.len != r.body.len || (want.len && memcmp(want.data, r.body.data, want.len) != 0))
            abort(); /* the delivered body differs from the answer's */
    }
    if (r.flags & 32u)
        one_request(&r, head);

    ag_upstream_client_close(r.client, client_closed, &closed);
    uv_close((uv_handle_t *)&r.srv.listener, NULL);
    uv_close((uv_handle_t *)&r.resume, NULL);
    for (int i = 0; i < 10000 && uv_loop_alive(&r.loop); i++)
        uv_run(&r.loop, UV_RUN_NOWAIT);
    if (!closed || uv_loop_close(&r.loop) != 0)
        abort();
    ag_buf_dispose(&r.body);
    ag_buf_dispose(&want);
    return 0;
}
