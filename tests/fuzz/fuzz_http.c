/* tests/fuzz/fuzz_http.c: libFuzzer harness for the HTTP server's request path (llhttp parsing,
 * limits, routing, the Host / Origin / Content-Type guard, CORS, auth, dispatch, keep-alive and
 * pipelining, responses and streams), through the public API of http/server.h only.
 *
 * One server runs in-process on a libuv loop, listening on 127.0.0.1:0, with strict auth (a key and
 * an admin password), a Host rule, CORS rules and a small router: a route that answers at once, one
 * that streams, one that answers on a later loop turn (and so can be aborted), an admin route, a
 * health route, a multipart route and a gate. Per input, a client socket on the same loop connects,
 * writes the input in two pieces (the first byte chooses where to cut), lets the server run between
 * them, shuts its writing side and reads until the server closes (bounded in time).
 *
 * Invariants: whatever comes back starts like an HTTP/1.x response; every completed request has a
 * status in 100..599; once the client is gone the server holds no connection and no request. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "core/log.h"
#include "core/time.h"
#include "http/auth.h"
#include "http/cors.h"
#include "http/errfmt.h"
#include "http/guard.h"
#include "http/router.h"
#include "http/server.h"

#define CLIENT_BOUND_MS 3000 /* one input's exchange; the server closes on EOF long before */
#define DRAIN_BOUND_MS  5000 /* after the client closed, the server must have let go by then */
#define MAX_FD          256  /* the server and the client hold a handful of descriptors */

static uv_loop_t loop;
static struct ag_router *router;
static struct ag_http_server *srv;
static struct ag_cors *cors;
static struct ag_host_policy *hosts;
static struct ag_auth_policy policy = {
    .mode = AG_AUTH_MODE_STRICT,
    .api_key = "sk-fuzz-key",
    .admin_password = "fuzz-admin-secret",
};
static int port;

/* ------------------------------------------------------------------------------ handlers */

static void h_answer(struct ag_http_req *req, void *ud)
{
    char n[64];
    int len = snprintf(n, sizeof(n), "{\"bytes\":%zu,\"authed\":%s}", req->body.len,
                       req->authed ? "true" : "false");
    ag_http_add_header(req, "x-fuzz-path", req->path);
    ag_http_respond_json(req, 200, n, (size_t)len);
}

static void h_stream(struct ag_http_req *req, void *ud)
{
    static const char ev[] = "data: {\"n\":1}\n\n";
    if (ag_http_stream_begin(req, 200, "text/event-stream") == 0) {
        for (int i = 0; i < 3; i++)
            ag_http_stream_write(req, ev, sizeof(ev) - 1);
        ag_http_stream_write(req, req->body.data ? req->body.data : "", req->body.len);
    }
    ag_http_stream_end(req);
}

struct later {
    uv_timer_t t;
    struct ag_http_req *req;
};

static void later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void later_abort(struct ag_http_req *req, void *ud)
{
    struct later *l = ud;
    uv_timer_stop(&l->t);
    uv_close((uv_handle_t *)&l->t, later_closed);
}

static void later_fire(uv_timer_t *t)
{
    struct later *l = t->data;
    struct ag_http_req *req = l->req;
    req->on_abort = NULL;
    ag_http_respond(req, 202, "text/plain", "later", 5);
    uv_close((uv_handle_t *)&l->t, later_closed);
}

static void h_later(struct ag_http_req *req, void *ud)
{
    struct later *l = calloc(1, sizeof(*l));
    if (!l) {
        ag_http_respond(req, 500, NULL, NULL, 0);
        return;
    }
    l->req = req;
    l->t.data = l;
    uv_timer_init(&loop, &l->t);
    req->on_abort = later_abort;
    req->cb_ud = l;
    uv_timer_start(&l->t, later_fire, 0, 0);
}

static bool gate(struct ag_http_req *req, void *ud)
{
    if (ag_str_eq_c(req->path, "/v1/gated")) {
        struct ag_buf b;
        ag_buf_init(&b, 4096);
        ag_errfmt_openai.write(&b, 503, "overloaded", "Stopped");
        ag_http_respond_json(req, 503, b.data ? b.data : "", b.len);
        ag_buf_dispose(&b);
        return false;
    }
    return true;
}

static enum ag_http_admin_verdict admin_check(const struct ag_http_req *req, void *ud)
{
    struct ag_str s = ag_http_req_header(req, "x-session");
    if (!s.p)
        return AG_HTTP_ADMIN_NO;
    if (ag_str_eq_c(s, "fuzz-session"))
        return AG_HTTP_ADMIN_OK;
    return ag_str_eq_c(s, "fuzz-session-old") ? AG_HTTP_ADMIN_STALE : AG_HTTP_ADMIN_NO;
}

static void on_log(const struct ag_http_req *req, int status, uint64_t bytes_out, uint64_t dur,
                   void *ud)
{
    if (status < 100 || status > 599) {
        fprintf(stderr, "fuzz_http: completed request with status %d\n", status);
        abort();
    }
}

static const struct ag_route routes[] = {
    {"POST", "/v1/chat/completions", h_answer, NULL, AG_ACCESS_PROXY, &ag_errfmt_openai},
    {"POST", "/v1/messages", h_stream, NULL, AG_ACCESS_PROXY, &ag_errfmt_anthropic},
    {"POST", "/v1beta/models/:model", h_later, NULL, AG_ACCESS_PROXY, &ag_errfmt_gemini},
    {"GET", "/v1/models", h_answer, NULL, AG_ACCESS_PROXY, &ag_errfmt_openai},
    {"POST", "/v1/gated", h_answer, NULL, AG_ACCESS_PROXY, &ag_errfmt_openai},
    {"POST", "/v1/images/edits", h_answer, NULL, AG_ACCESS_PROXY, &ag_errfmt_openai, true},
    {"GET", "/health", h_answer, NULL, AG_ACCESS_HEALTH, &ag_errfmt_plain},
    {"GET", "/api/config", h_answer, NULL, AG_ACCESS_ADMIN, &ag_errfmt_plain},
    {"PUT", "/api/config", h_stream, NULL, AG_ACCESS_ADMIN, &ag_errfmt_plain},
    {"*", "/ui/*", h_answer, NULL, AG_ACCESS_PUBLIC, &ag_errfmt_plain},
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const origins[] = {"https://allowed.example", "*"};
    static const char *const names[] = {"gateway.example"};
    ag_log_set_level(AG_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    router = ag_router_new();
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (ag_router_add(router, &routes[i]))
            abort();
    ag_router_set_fallback(router, &ag_errfmt_plain);
    struct ag_http_limits lim = {
        .max_body_bytes = 64 * 1024,
        .max_header_bytes = 8 * 1024,
        .max_headers = 32,
        .max_body_inflight = 1024 * 1024,
        .stream_high_water = 4096,
    };
    srv = ag_http_server_new(&loop, router, &lim);
    cors = ag_cors_new(origins, 2);
    hosts = ag_host_policy_new(true, names, 1);
    if (!srv || !cors || !hosts)
        abort();
    ag_http_server_set_auth(srv, &policy);
    ag_http_server_set_cors(srv, cors);
    ag_http_server_set_hosts(srv, hosts);
    ag_http_server_set_gate(srv, gate, NULL);
    ag_http_server_set_admin_check(srv, admin_check, NULL);
    ag_http_server_set_log_cb(srv, on_log, NULL);
    /* No lockout: every input must behave the same whatever ran before it. */
    ag_http_server_set_auth_failures(srv, INT64_MAX / 2);
    if (ag_http_server_listen(srv, "127.0.0.1", 0))
        abort();
    port = ag_http_server_port(srv);
    return 0;
}

/* ------------------------------------------------------------------------------ client */

struct client {
    uv_poll_t poll;
    uv_timer_t timer;
    int fd;
    const uint8_t *out;
    size_t out_len, sent;
    size_t cut;    /* write [0, cut) first, let the server run, then the rest */
    int pause;     /* loop turns left before writing on after the cut */
    bool shut;     /* our writing side is shut */
    bool done;     /* EOF, error or bound reached */
    char head[16]; /* first bytes received */
    size_t got;
    int closed; /* handles closed */
};

static void on_client_closed(uv_handle_t *h)
{
    struct client *c = h->data;
    c->closed++;
}

static void client_finish(struct client *c)
{
    if (c->done)
        return;
    c->done = true;
    uv_poll_stop(&c->poll);
    uv_timer_stop(&c->timer);
}

static void on_bound(uv_timer_t *t)
{
    client_finish(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct client *c = p->data;
    if (status < 0) {
        client_finish(c);
        return;
    }
    if (events & UV_READABLE) {
        char buf[16384];
        for (int i = 0; i < 64; i++) {
            ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
            if (n > 0) {
                if (c->got < sizeof(c->head))
                    memcpy(c->head + c->got, buf,
                           (size_t)n < sizeof(c->head) - c->got ? (size_t)n
                                                                : sizeof(c->head) - c->got);
                c->got += (size_t)n;
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                client_finish(c);
                return;
            }
            break;
        }
    }
    if (c->shut)
        return;
    if (c->sent == c->cut && c->pause > 0) {
        c->pause--; /* let the server parse the first piece alone */
        return;
    }
    size_t end = c->sent < c->cut ? c->cut : c->out_len;
    while (c->sent < end) {
        ssize_t n = send(c->fd, c->out + c->sent, end - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            client_finish(c); /* the server closed on us */
            return;
        }
        c->sent += (size_t)n;
    }
    if (c->sent == c->out_len) {
        shutdown(c->fd, SHUT_WR);
        c->shut = true;
        uv_poll_start(&c->poll, UV_READABLE | UV_DISCONNECT, on_poll);
    }
}

static void run_until_idle(uint64_t bound_ms)
{
    uint64_t end = ag_now_us() / 1000 + bound_ms;
    while ((ag_http_server_connections(srv) || ag_http_server_active_requests(srv)) &&
           ag_now_us() / 1000 < end)
        uv_run(&loop, UV_RUN_NOWAIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct client c = {.out = data + 1, .out_len = size - 1, .pause = 4};
    c.cut = c.out_len ? data[0] % (c.out_len + 1) : 0;

    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c.fd < 0 || c.fd > MAX_FD) {
        /* the lowest free number: a high one means descriptors leak */
        fprintf(stderr, "fuzz_http: socket() gave %d (%s)\n", c.fd, strerror(errno));
        abort();
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Non-blocking, so that libFuzzer's timer signal cannot interrupt it: the poll below sees the
     * socket writable once connected. */
    if (connect(c.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
        fprintf(stderr, "fuzz_http: connect: %s\n", strerror(errno));
        abort();
    }
    uv_poll_init(&loop, &c.poll, c.fd);
    uv_timer_init(&loop, &c.timer);
    c.poll.data = &c;
    c.timer.data = &c;
    uv_poll_start(&c.poll, UV_READABLE | UV_WRITABLE | UV_DISCONNECT, on_poll);
    uv_timer_start(&c.timer, on_bound, CLIENT_BOUND_MS, 0);
    while (!c.done)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&c.poll, on_client_closed);
    uv_close((uv_handle_t *)&c.timer, on_client_closed);
    while (c.closed < 2)
        uv_run(&loop, UV_RUN_ONCE);
    close(c.fd);

    run_until_idle(DRAIN_BOUND_MS);
    if (ag_http_server_connections(srv) || ag_http_server_active_requests(srv)) {
        fprintf(stderr,
                "fuzz_http: %zu connection(s), %zu request(s) still held after the client "
                "closed\n",
                ag_http_server_connections(srv), ag_http_server_active_requests(srv));
        abort();
    }
    size_t head = c.got < sizeof(c.head) ? c.got : sizeof(c.head);
    if (head >= 7 && memcmp(c.head, "HTTP/1.", 7) != 0) {
        fprintf(stderr, "fuzz_http: the answer does not start with a status line: %.*s\n",
                (int)head, c.head);
        abort();
    }
    return 0;
}
