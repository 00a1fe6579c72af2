/* upstream/h1.c: the native HTTP/1.1 path of the upstream client (see client.h for the contract):
 * plain http:// requests without a proxy go over libuv TCP handles of our own instead of libcurl.
 *
 * A host entry (one per host and port) keeps the resolved addresses and a stack of idle
 * kept-alive connections; a request takes the most recently used one or connects anew (trying
 * each resolved address in turn). The request head is built once; head and body go out in one
 * uv_write from the caller's buffers. Every connection reads into the client's one shared buffer
 * (reads are handled synchronously, one connection at a time) and llhttp parses the response;
 * body bytes go to on_data as they are parsed. Bytes on_data refuses (pause) are kept in the
 * request's held buffer and reading stops until resume. A reused connection that the server had
 * closed before answering (nothing received yet) is retried once on a fresh connection, as a
 * kept-alive connection can always be closed by the server at the moment it is reused.
 *
 * The URL, the host entry and the request head are h1_head.c's.
 *
 * Outcomes found outside a loop callback of ours (a synchronous failure at the start, the end of a
 * response still held while paused) are reported through the request's timer at once, so no
 * callback runs inside ag_upstream_req_start or ag_upstream_req_resume. */
#include "upstream/client.h"
#include "upstream/client_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/time.h"

#define H1_READ_BUF       (64u * 1024u) /* the shared read buffer */
#define H1_IDLE_MAX_MS    50000u        /* idle connections older than this are not reused */
#define DEFAULT_DNS_TTL_S 300

struct ag_h1_conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    llhttp_t parser;
    struct ag_upstream_client *c;
    struct ag_h1_host *host;
    struct ag_upstream_req *req;    /* the request it carries; NULL while idle */
    struct ag_h1_conn *prev, *next; /* host->idle */
    uint64_t idle_since_ms;
    unsigned served; /* requests carried before the current one */
    bool writing, reading, reusable, idle, closing;
};

struct ag_h1_gai {
    uv_getaddrinfo_t req;
    struct ag_upstream_client *c;
    struct ag_upstream_req *r; /* NULL once the request left */
    struct ag_h1_host *host;
};

static void conn_open(struct ag_upstream_req *r);
static void conn_close(struct ag_h1_conn *k);
static void reading(struct ag_h1_conn *k, bool on);

/* ---- outcomes ---- */

/* Notes why r fails (its kind, error and message); the request ends with it from a loop callback
 * of ours (finish_failed), or through its timer where no callback may run (fail_later). */
__attribute__((format(printf, 4, 5))) static void
note_fail(struct ag_upstream_req *r, enum ag_upstream_fail fail, int err, const char *fmt, ...)
{
    va_list ap;

    r->fail = fail;
    r->cb_err = err;
    va_start(ap, fmt);
    vsnprintf(r->errbuf, sizeof(r->errbuf), fmt, ap);
    va_end(ap);
}

/* Ends r with the failure noted: only outside any caller callback. */
static void finish_failed(struct ag_upstream_req *r)
{
    char msg[sizeof(r->errbuf) + 32];

    snprintf(msg, sizeof(msg), "%s: %s", ag_upstream_fail_name(r->fail), r->errbuf);
    ag_upstream_req_finish(r, r->cb_err ? r->cb_err : AG_EIO, r->fail, msg);
}

#define fail_now(r, ...)                                                                           \
    do {                                                                                           \
        note_fail(r, __VA_ARGS__);                                                                 \
        finish_failed(r);                                                                          \
    } while (0)

/* Reports a failure through r's timer (no callback may run where we are). */
#define fail_later(r, ...)                                                                         \
    do {                                                                                           \
        if (!(r)->h1_fail_now) {                                                                   \
            note_fail(r, __VA_ARGS__);                                                             \
            (r)->h1_fail_now = true;                                                               \
            ag_upstream_req_arm_timer(r);                                                          \
        }                                                                                          \
    } while (0)

bool ag_h1_on_timer(struct ag_upstream_req *r)
{
    if (r->h1_fail_now) {
        finish_failed(r);
        return true;
    }
    if (r->h1_complete && !r->held.len && !r->paused) {
        ag_upstream_req_finish(r, 0, AG_UPSTREAM_FAIL_NONE, NULL);
        return true;
    }
    return false;
}

/* ---- the response parser's callbacks ---- */

static struct ag_upstream_req *parser_req(llhttp_t *p)
{
    return ((struct ag_h1_conn *)p->data)->req;
}

static int on_message_begin(llhttp_t *p)
{
    struct ag_upstream_req *r = parser_req(p);

    if (!r->ttfb_us)
        r->ttfb_us = ag_now_us() - r->start_us;
    r->in_block = true;
    ag_buf_reset(&r->head);
    r->nheaders = 0;
    return 0;
}

/* Appends to one of r's buffers (the head, the held bytes, a collected body); over its cap the
 * request fails as too big and the parser stops. */
static int keep(struct ag_upstream_req *r, struct ag_buf *b, const char *at, size_t n)
{
    if (ag_buf_append(b, at, n) < 0) {
        note_fail(r, AG_UPSTREAM_FAIL_TOO_BIG, AG_ETOOBIG, "the answer outgrew its cap");
        return -1;
    }
    return 0;
}

static int head_append(struct ag_upstream_req *r, const char *at, size_t n)
{
    return keep(r, &r->head, at, n);
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    return head_append(parser_req(p), at, n);
}

static int on_header_field_complete(llhttp_t *p)
{
    return head_append(parser_req(p), "", 1);
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    return head_append(parser_req(p), at, n);
}

static int on_header_value_complete(llhttp_t *p)
{
    struct ag_upstream_req *r = parser_req(p);

    while (r->head.len &&
           (r->head.data[r->head.len - 1] == ' ' || r->head.data[r->head.len - 1] == '\t') &&
           r->head.data[r->head.len - 1] != '\0')
        r->head.len--;
    r->nheaders++;
    return head_append(r, "", 1);
}

static int on_headers_complete(llhttp_t *p)
{
    struct ag_h1_conn *k = p->data;
    struct ag_upstream_req *r = k->req;
    int status = (int)p->status_code;

    r->last_rx_ms = ag_now_ms();
    r->status = status;
    if (status == 101) {
        note_fail(r, AG_UPSTREAM_FAIL_OTHER, AG_EIO, "the server switched protocols (101)");
        return -1;
    }
    if (status >= 100 && status < 200)
        return 0; /* interim: the real answer follows */
    r->in_block = false;
    r->got_head = true;
    if (r->spec.on_head) {
        int rc = r->spec.on_head(r, status, r->spec.ud);
        if (r->canceled)
            return -1;
        if (rc < 0) {
            note_fail(r, AG_UPSTREAM_FAIL_CALLBACK, rc, "the caller stopped the answer");
            return -1;
        }
    }
    return p->method == HTTP_HEAD ? 1 : 0;
}

static int hold(struct ag_upstream_req *r, const char *at, size_t n)
{
    return keep(r, &r->held, at, n);
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    struct ag_upstream_req *r = parser_req(p);
    int rc;

    r->last_rx_ms = ag_now_ms();
    if (!r->spec.on_data) {
        if (keep(r, &r->body, at, n) < 0)
            return -1;
        r->bytes_in += n;
        return 0;
    }
    if (r->paused || r->held.len)
        return hold(r, at, n);
    rc = r->spec.on_data(r, at, n, r->spec.ud);
    if (r->canceled)
        return -1;
    if (rc == AG_EAGAIN) {
        r->paused = true;
        return hold(r, at, n);
    }
    if (rc < 0) {
        note_fail(r, AG_UPSTREAM_FAIL_CALLBACK, rc, "the caller stopped the answer");
        return -1;
    }
    r->bytes_in += n;
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct ag_upstream_req *r = parser_req(p);

    if (r->status >= 100 && r->status < 200) {
        r->in_block = false;
        return 0; /* an interim response ended; the final one follows */
    }
    r->h1_complete = true;
    return HPE_PAUSED; /* anything after the answer is not ours to parse */
}

static const llhttp_settings_t h1_settings = {
    .on_message_begin = on_message_begin,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void parser_reset(struct ag_h1_conn *k, const char *method)
{
    llhttp_init(&k->parser, HTTP_RESPONSE, &h1_settings);
    k->parser.data = k;
    /* llhttp skips the body of an answer to HEAD when told the method. */
    k->parser.method = strncmp(method, "HEAD ", 5) == 0 ? HTTP_HEAD : HTTP_GET;
}

/* ---- connections ---- */

static void conn_closed(uv_handle_t *h)
{
    struct ag_h1_conn *k = h->data;
    struct ag_upstream_client *c = k->c;
    free(k);
    ag_upstream_client_handle_closed(c);
}

static void idle_unlink(struct ag_h1_conn *k)
{
    struct ag_h1_host *h = k->host;

    if (!k->idle)
        return;
    if (k->prev)
        k->prev->next = k->next;
    else
        h->idle = k->next;
    if (k->next)
        k->next->prev = k->prev;
    k->prev = k->next = NULL;
    k->idle = false;
    h->nidle--;
}

static void conn_close(struct ag_h1_conn *k)
{
    if (k->closing)
        return;
    k->closing = true;
    idle_unlink(k);
    k->req = NULL;
    uv_close((uv_handle_t *)&k->tcp, conn_closed);
}

static void idle_put(struct ag_h1_conn *k)
{
    struct ag_h1_host *h = k->host;
    struct ag_upstream_client *c = k->c;

    k->req = NULL;
    k->served++;
    k->idle = true;
    k->idle_since_ms = ag_now_ms();
    k->prev = NULL;
    k->next = h->idle;
    if (h->idle)
        h->idle->prev = k;
    h->idle = k;
    h->nidle++;
    /* An idle connection keeps reading: the server closing it is seen at once. */
    reading(k, true);
    while (h->nidle > (size_t)c->max_idle && h->idle) {
        struct ag_h1_conn *last = h->idle;
        while (last->next)
            last = last->next;
        conn_close(last);
    }
}

static struct ag_h1_conn *idle_take(struct ag_h1_host *h)
{
    uint64_t now = ag_now_ms();

    while (h->idle) {
        struct ag_h1_conn *k = h->idle;
        idle_unlink(k);
        if (now - k->idle_since_ms <= H1_IDLE_MAX_MS)
            return k;
        conn_close(k);
    }
    return NULL;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ag_h1_conn *k = h->data;
    struct ag_upstream_client *c = k->c;
    (void)suggested;

    size_t n = H1_READ_BUF;

    /* A smaller receive buffer, when set, caps each read (tests read answers in small pieces). */
    if (c->opts.recv_buffer_bytes > 0 && (size_t)c->opts.recv_buffer_bytes < n)
        n = (size_t)c->opts.recv_buffer_bytes;
    if (!c->h1_rbuf)
        c->h1_rbuf = malloc(H1_READ_BUF);
    *buf = uv_buf_init(c->h1_rbuf, c->h1_rbuf ? (unsigned)n : 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void reading(struct ag_h1_conn *k, bool on)
{
    if (k->closing || k->reading == on)
        return;
    k->reading = on;
    if (on)
        uv_read_start((uv_stream_t *)&k->tcp, on_alloc, on_read);
    else
        uv_read_stop((uv_stream_t *)&k->tcp);
}

/* The connection failed under r before any answer: once more on a fresh connection when it was a
 * reused one (the server may close a kept-alive connection just as it is reused). */
static bool retry_fresh(struct ag_h1_conn *k, struct ag_upstream_req *r)
{
    if (!k->served || r->h1_retried || r->in_block || r->got_head || r->bytes_in)
        return false;
    r->h1_retried = true;
    r->h1 = NULL;
    conn_close(k);
    r->h1_addr = 0;
    conn_open(r);
    return true;
}

/* Ends r after its connection broke (EOF or an error before the whole answer). */
static void conn_broke(struct ag_h1_conn *k, struct ag_upstream_req *r, const char *why)
{
    k->reusable = false;
    if (retry_fresh(k, r))
        return;
    if (!r->in_block && !r->got_head)
        fail_now(r, AG_UPSTREAM_FAIL_RESET, AG_EIO, "empty reply from server (%s)", why);
    else
        fail_now(r, AG_UPSTREAM_FAIL_RESET, AG_EIO,
                 "connection closed before the answer ended (%s)", why);
}

static void after_parse(struct ag_h1_conn *k, struct ag_upstream_req *r, llhttp_errno_t e,
                        const char *end)
{
    struct ag_upstream_client *c = k->c;

    if (r->canceled) {
        ag_upstream_client_run_pending(c);
        return;
    }
    if (r->fail != AG_UPSTREAM_FAIL_NONE) {
        k->reusable = false;
        finish_failed(r);
    } else if (e == HPE_PAUSED && r->h1_complete) {
        if (llhttp_get_error_pos(&k->parser) != end || !llhttp_should_keep_alive(&k->parser))
            k->reusable = false; /* bytes after the answer, or "Connection: close" */
        if (!r->held.len)
            ag_upstream_req_finish(r, 0, AG_UPSTREAM_FAIL_NONE, NULL);
        else
            reading(k, false);
    } else if (e != HPE_OK) {
        k->reusable = false;
        fail_now(r, AG_UPSTREAM_FAIL_OTHER, AG_EIO, "malformed answer: %s",
                 llhttp_get_error_reason(&k->parser));
    } else if (r->paused) {
        reading(k, false);
    }
    ag_upstream_client_run_pending(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct ag_h1_conn *k = s->data;
    struct ag_upstream_req *r = k->req;
    struct ag_upstream_client *c = k->c;
    llhttp_errno_t e;

    if (nread == 0)
        return;
    if (!r) {
        conn_close(k); /* idle: the server closed it or sent what nobody asked for */
        return;
    }
    if (nread < 0) {
        if (nread == UV_EOF && (r->in_block || r->got_head)) {
            c->in_curl++;
            e = llhttp_finish(&k->parser);
            c->in_curl--;
            if (r->h1_complete) { /* an answer that ends with the connection */
                k->reusable = false;
                after_parse(k, r, HPE_PAUSED, NULL);
                return;
            }
            if (r->canceled || r->fail != AG_UPSTREAM_FAIL_NONE) {
                after_parse(k, r, e, NULL);
                return;
            }
        }
        conn_broke(k, r, uv_strerror((int)nread));
        ag_upstream_client_run_pending(c);
        return;
    }
    r->last_rx_ms = ag_now_ms();
    c->in_curl++;
    e = llhttp_execute(&k->parser, buf->base, (size_t)nread);
    c->in_curl--;
    after_parse(k, r, e, buf->base + nread);
}

static void on_write(uv_write_t *w, int status)
{
    struct ag_h1_conn *k = w->data;
    struct ag_upstream_req *r = k->req;

    k->writing = false;
    if (status == 0 || status == UV_ECANCELED || !r || r->finished || r->h1_complete)
        return;
    k->reusable = false;
    /* The answer may already be on its way (a server refusing a body answers and closes): let
     * the read side report it unless nothing will come. */
    if (r->in_block || r->got_head)
        return;
    conn_broke(k, r, uv_strerror(status));
    ag_upstream_client_run_pending(k->c);
}

static void send_req(struct ag_h1_conn *k, struct ag_upstream_req *r)
{
    uv_buf_t bufs[2];
    unsigned n = 1, first = 0;
    int rc;

    if (r->h1_connecting) { /* the connect deadline no longer applies */
        r->h1_connecting = false;
        ag_upstream_req_arm_timer(r);
    }
    parser_reset(k, r->h1_head);
    k->reusable = true;
    reading(k, true);
    bufs[0] = uv_buf_init(r->h1_head, (unsigned)r->h1_head_len);
    if (r->spec.body && r->spec.body_len)
        bufs[n++] = uv_buf_init((char *)r->spec.body, (unsigned)r->spec.body_len);
    /* Written at once when the socket takes it all (the usual case): no write request, and no
     * poll update that a completed uv_write costs. Whatever is left goes through uv_write. */
    rc = uv_try_write((uv_stream_t *)&k->tcp, bufs, n);
    if (rc == UV_EAGAIN)
        rc = 0;
    if (rc < 0) {
        k->reusable = false;
        if (!retry_fresh(k, r))
            fail_later(r, AG_UPSTREAM_FAIL_RESET, AG_EIO, "send failed: %s", uv_strerror(rc));
        return;
    }
    {
        size_t done = (size_t)rc;
        while (first < n && done >= bufs[first].len)
            done -= bufs[first++].len;
        if (first == n)
            return;
        bufs[first].base += done;
        bufs[first].len -= done;
    }
    k->write.data = k;
    rc = uv_write(&k->write, (uv_stream_t *)&k->tcp, bufs + first, n - first, on_write);
    if (rc < 0) {
        k->reusable = false;
        fail_later(r, AG_UPSTREAM_FAIL_RESET, AG_EIO, "send failed: %s", uv_strerror(rc));
        return;
    }
    k->writing = true;
}

static enum ag_upstream_fail connect_fail_kind(int status)
{
    return status == UV_ETIMEDOUT ? AG_UPSTREAM_FAIL_CONNECT_TIMEOUT
                                  : AG_UPSTREAM_FAIL_CONNECT_REFUSED;
}

static void on_connect(uv_connect_t *cr, int status)
{
    struct ag_h1_conn *k = cr->data;
    struct ag_upstream_req *r = k->req;

    if (!r || k->closing)
        return;
    if (status < 0) {
        r->h1 = NULL;
        conn_close(k);
        if (++r->h1_addr < r->host->naddrs) {
            conn_open(r);
            return;
        }
        fail_now(r, connect_fail_kind(status), status == UV_ETIMEDOUT ? AG_ETIMEDOUT : AG_EIO,
                 "could not connect: %s", uv_strerror(status));
        ag_upstream_client_run_pending(k->c);
        return;
    }
    uv_tcp_nodelay(&k->tcp, 1);
    uv_tcp_keepalive(&k->tcp, 1, 60);
    send_req(k, r);
}

/* Connects r anew to its host's address number r->h1_addr. */
static void conn_open(struct ag_upstream_req *r)
{
    struct ag_upstream_client *c = r->c;
    struct ag_h1_conn *k = AG_NEW(struct ag_h1_conn);
    const struct sockaddr *sa = (const struct sockaddr *)&r->host->addrs[r->h1_addr];
    int rc;

    k->c = c;
    k->host = r->host;
    k->req = r;
    r->h1 = k;
    r->h1_connecting = true;
    ag_upstream_req_arm_timer(r);
    uv_tcp_init(c->loop, &k->tcp);
    k->tcp.data = k;
    c->open_handles++;
    k->connect.data = k;
    rc = uv_tcp_connect(&k->connect, &k->tcp, sa, on_connect);
    if (rc < 0) {
        r->h1 = NULL;
        conn_close(k);
        fail_later(r, connect_fail_kind(rc), rc == UV_ETIMEDOUT ? AG_ETIMEDOUT : AG_EIO,
                   "could not connect: %s", uv_strerror(rc));
    }
}

/* ---- names ---- */

static void on_resolved(uv_getaddrinfo_t *q, int status, struct addrinfo *res)
{
    struct ag_h1_gai *g = q->data;
    struct ag_upstream_client *c = g->c;
    struct ag_upstream_req *r = g->r;
    struct ag_h1_host *h = g->host;

    if (status == 0 && !c->closing) {
        unsigned n = 0;
        for (struct addrinfo *a = res; a && n < H1_MAX_ADDRS; a = a->ai_next) {
            if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) &&
                a->ai_addrlen <= sizeof(h->addrs[0])) {
                memcpy(&h->addrs[n], a->ai_addr, a->ai_addrlen);
                n++;
            }
        }
        h->naddrs = n;
        h->resolved_ms = ag_now_ms();
    }
    if (res)
        uv_freeaddrinfo(res);
    free(g);
    if (r) {
        r->gai = NULL;
        if (status < 0 || !h->naddrs)
            fail_now(r, AG_UPSTREAM_FAIL_DNS, AG_EIO, "could not resolve host: %s",
                     status < 0 ? uv_strerror(status) : "no address");
        else
            conn_open(r);
    }
    ag_upstream_client_handle_closed(c);
}

void ag_h1_begin(struct ag_upstream_req *r)
{
    struct ag_upstream_client *c = r->c;
    struct ag_h1_host *h = r->host;
    long ttl_s = c->opts.dns_cache_timeout_s > 0 ? c->opts.dns_cache_timeout_s : DEFAULT_DNS_TTL_S;
    struct ag_h1_conn *k = idle_take(h);
    char port[8];
    int rc;

    if (k) {
        k->req = r;
        r->h1 = k;
        send_req(k, r);
        return;
    }
    r->h1_addr = 0;
    if (h->numeric || (h->naddrs && ag_now_ms() - h->resolved_ms < (uint64_t)ttl_s * 1000u)) {
        conn_open(r);
        return;
    }
    r->gai = AG_NEW(struct ag_h1_gai);
    r->gai->c = c;
    r->gai->r = r;
    r->gai->host = h;
    r->gai->req.data = r->gai;
    snprintf(port, sizeof(port), "%d", h->port);
    r->h1_connecting = true;
    ag_upstream_req_arm_timer(r);
    rc = uv_getaddrinfo(c->loop, &r->gai->req, on_resolved, h->name, port,
                        &(struct addrinfo){.ai_socktype = SOCK_STREAM});
    if (rc < 0) {
        free(r->gai);
        r->gai = NULL;
        fail_later(r, AG_UPSTREAM_FAIL_DNS, AG_EIO, "could not resolve host: %s", uv_strerror(rc));
        return;
    }
    c->open_handles++;
}

void ag_h1_detach(struct ag_upstream_req *r)
{
    struct ag_h1_conn *k = r->h1;

    if (r->gai) {
        r->gai->r = NULL;
        uv_cancel((uv_req_t *)&r->gai->req);
        r->gai = NULL;
    }
    if (!k)
        return;
    r->h1 = NULL;
    if (r->h1_complete && k->reusable && !k->writing && !r->c->closing)
        idle_put(k);
    else
        conn_close(k);
}

void ag_h1_pause(struct ag_upstream_req *r)
{
    if (r->h1)
        reading(r->h1, false);
}

void ag_h1_resume(struct ag_upstream_req *r)
{
    if (r->held.len) {
        struct ag_upstream_client *c = r->c;
        int rc;
        c->in_curl++;
        rc = r->spec.on_data(r, r->held.data, r->held.len, r->spec.ud);
        c->in_curl--;
        if (r->canceled)
            return;
        if (rc == AG_EAGAIN) {
            r->paused = true;
            return;
        }
        if (rc < 0) {
            fail_later(r, AG_UPSTREAM_FAIL_CALLBACK, rc, "the caller stopped the answer");
            return;
        }
        r->bytes_in += r->held.len;
        ag_buf_reset(&r->held);
        if (r->paused)
            return; /* paused again from inside on_data */
    }
    if (r->h1_complete)
        ag_upstream_req_arm_timer(r); /* the end is reported from the timer */
    else if (r->h1)
        reading(r->h1, true);
}

void ag_h1_client_close(struct ag_upstream_client *c)
{
    while (c->h1_hosts) {
        struct ag_h1_host *h = c->h1_hosts;
        c->h1_hosts = h->next;
        while (h->idle)
            conn_close(h->idle);
        free(h->name);
        free(h->authority);
        free(h);
    }
    free(c->h1_rbuf);
    c->h1_rbuf = NULL;
}
