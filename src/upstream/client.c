/* upstream/client.c: libcurl multi on the libuv loop (see client.h for the contract).
 *
 * Rules this file lives by (libuv + curl): no curl_multi_* call from inside a curl callback, so
 * operations requested from on_head/on_data (cancel, pause, resume, start) are queued and run right
 * after libcurl returns; on CURL_POLL_REMOVE the uv_poll is stopped and closed; at shutdown the
 * easy handles are removed and curl_multi_cleanup() closes the remaining sockets through the same
 * REMOVE path. Our own per-request timer enforces the first-byte, idle and total timeouts; curl
 * enforces the connect timeout (its timer is driven by ours, so it is the loop's timer too). */
#include "upstream/client.h"

#include <curl/curl.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/time.h"

#define DEFAULT_MAX_BODY    (16u * 1024u * 1024u)
#define MAX_HEAD_BYTES      (64u * 1024u)
#define MAX_DEFERRED_ROUNDS 64
/* curl's receive buffer per transfer: SSE events are small, and at thousands of concurrent
 * streams curl's 16 KiB default was a quarter of each stream's memory. */
#define DEFAULT_RECV_BUFFER (8L * 1024)
/* Idle connections curl keeps for reuse. Its default (4 x the transfers in the multi handle at
 * that moment) shrinks whenever transfers finish together, and then closes connections the next
 * burst has to open again (one new connect per ~10 requests at 50 concurrent). The cache starts
 * at MIN and follows twice the peak of concurrent transfers up to MAX. */
#define MAX_IDLE_CONNS_MIN 256L
#define MAX_IDLE_CONNS_MAX 4096L

enum { OP_START = 1, OP_PAUSE = 2, OP_RESUME = 4, OP_CANCEL = 8 };

struct sock {
    uv_poll_t poll;
    curl_socket_t fd;
    int events; /* UV_READABLE/UV_WRITABLE the poll handle is started with (0 = stopped) */
    struct ag_upstream_client *c;
};

struct ag_upstream_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    struct ag_upstream_client_opts opts;
    char *ca_file;
    struct ag_upstream_req *all;     /* started, not finished (doubly linked) */
    struct ag_upstream_req *pending; /* requests with deferred operations (singly linked) */
    size_t active;
    long max_idle;       /* CURLMOPT_MAXCONNECTS now */
    size_t open_handles; /* libuv handles not yet closed (timer, polls, request timers) */
    int in_curl;         /* >0 while libcurl may call our callbacks */
    bool closing;
    void (*close_done)(void *ud);
    void *close_ud;
};

struct ag_upstream_req {
    struct ag_upstream_client *c;
    struct ag_upstream_req *prev, *next; /* c->all */
    struct ag_upstream_req *next_pending;
    CURL *easy;
    struct curl_slist *slist;
    char *url;
    uv_timer_t timer;
    struct ag_upstream_req_spec spec; /* callbacks, timeouts, borrowed body */
    struct ag_buf head;               /* response headers, "name\0value\0" pairs */
    size_t nheaders;
    struct ag_buf body; /* collected when spec.on_data is NULL */
    int status;
    int cb_err;                 /* error returned by a callback, or AG_ETOOBIG */
    enum ag_upstream_fail fail; /* set when we abort a transfer ourselves */
    unsigned ops;               /* deferred OP_* */
    uint64_t start_ms, last_rx_ms;
    uint64_t start_us, ttfb_us, bytes_in;
    bool added;       /* in the multi handle */
    bool in_pending;  /* on c->pending */
    bool got_head;    /* on_head was called */
    bool in_block;    /* inside a header block (after a status line) */
    bool paused;      /* the caller wants no data */
    bool curl_paused; /* libcurl holds the data */
    bool canceled;
    bool finished; /* on_done running or done */
    bool has_proxy;
    char errbuf[CURL_ERROR_SIZE];
};

static const char *const fail_names[] = {
    [AG_UPSTREAM_FAIL_NONE] = "none",
    [AG_UPSTREAM_FAIL_CONNECT_REFUSED] = "connect_refused",
    [AG_UPSTREAM_FAIL_DNS] = "dns",
    [AG_UPSTREAM_FAIL_PROXY] = "proxy",
    [AG_UPSTREAM_FAIL_TLS] = "tls",
    [AG_UPSTREAM_FAIL_CONNECT_TIMEOUT] = "connect_timeout",
    [AG_UPSTREAM_FAIL_FIRST_BYTE_TIMEOUT] = "first_byte_timeout",
    [AG_UPSTREAM_FAIL_IDLE_TIMEOUT] = "idle_timeout",
    [AG_UPSTREAM_FAIL_TOTAL_TIMEOUT] = "total_timeout",
    [AG_UPSTREAM_FAIL_RESET] = "reset",
    [AG_UPSTREAM_FAIL_TOO_BIG] = "too_big",
    [AG_UPSTREAM_FAIL_CANCELED] = "canceled",
    [AG_UPSTREAM_FAIL_CALLBACK] = "callback",
    [AG_UPSTREAM_FAIL_OTHER] = "other",
};

const char *ag_upstream_fail_name(enum ag_upstream_fail kind)
{
    if ((unsigned)kind < sizeof(fail_names) / sizeof(fail_names[0]) && fail_names[kind])
        return fail_names[kind];
    return "unknown";
}

bool ag_upstream_fail_is_timeout(enum ag_upstream_fail kind)
{
    return kind == AG_UPSTREAM_FAIL_CONNECT_TIMEOUT ||
           kind == AG_UPSTREAM_FAIL_FIRST_BYTE_TIMEOUT || kind == AG_UPSTREAM_FAIL_IDLE_TIMEOUT ||
           kind == AG_UPSTREAM_FAIL_TOTAL_TIMEOUT;
}

static void drive(struct ag_upstream_client *c, curl_socket_t s, int flags);
static void arm_timer(struct ag_upstream_req *r);

/* ---- handle bookkeeping ---- */

static void handle_closed(struct ag_upstream_client *c)
{
    assert(c->open_handles > 0);
    if (--c->open_handles == 0 && c->closing) {
        void (*done)(void *) = c->close_done;
        void *ud = c->close_ud;
        free(c->ca_file);
        free(c);
        if (done)
            done(ud);
    }
}

static void sock_closed(uv_handle_t *h)
{
    struct sock *k = h->data;
    struct ag_upstream_client *c = k->c;
    free(k);
    handle_closed(c);
}

static void req_closed(uv_handle_t *h)
{
    struct ag_upstream_req *r = h->data;
    struct ag_upstream_client *c = r->c;
    ag_buf_dispose(&r->head);
    ag_buf_dispose(&r->body);
    free(r->url);
    free(r);
    handle_closed(c);
}

static void client_timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

/* ---- libcurl's socket and timer callbacks ---- */

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sock *k = h->data;
    int flags = 0;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    drive(k->c, k->fd, flags);
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *sockp)
{
    struct ag_upstream_client *c = ud;
    struct sock *k = sockp;
    int events = 0;
    (void)e;

    if (what == CURL_POLL_REMOVE) {
        if (k) {
            /* uv_close stops the poll itself (one EPOLL_CTL_DEL); a uv_poll_stop before it
             * would issue a second DEL that fails with ENOENT. */
            if (!c->closing)
                curl_multi_assign(c->multi, s, NULL);
            uv_close((uv_handle_t *)&k->poll, sock_closed);
        }
        return 0;
    }
    if (!k) {
        k = AG_NEW(struct sock);
        k->fd = s;
        k->c = c;
        if (uv_poll_init_socket(c->loop, &k->poll, s) != 0) {
            free(k);
            return -1;
        }
        k->poll.data = k;
        c->open_handles++;
        curl_multi_assign(c->multi, s, k);
    }
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    /* libuv re-registers the descriptor on every uv_poll_start (an EPOLL_CTL_DEL at once, an ADD
     * on the next loop turn), and curl repeats unchanged wishes: only act on a change. */
    if (events != k->events) {
        k->events = events;
        uv_poll_start(&k->poll, events, on_poll);
    }
    return 0;
}

static void on_client_timer(uv_timer_t *t)
{
    drive(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static int on_multi_timer(CURLM *m, long timeout_ms, void *ud)
{
    struct ag_upstream_client *c = ud;
    (void)m;

    if (c->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_client_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- client ---- */

struct ag_upstream_client *ag_upstream_client_new(uv_loop_t *loop,
                                                  const struct ag_upstream_client_opts *opts)
{
    static bool global_done;
    struct ag_upstream_client *c;

    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        global_done = true;
    }
    c = AG_NEW(struct ag_upstream_client);
    c->loop = loop;
    if (opts)
        c->opts = *opts;
    c->ca_file = ag_strdup(c->opts.ca_file);
    c->opts.ca_file = c->ca_file;
    c->multi = curl_multi_init();
    if (!c->multi) {
        free(c->ca_file);
        free(c);
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_multi_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    c->max_idle = MAX_IDLE_CONNS_MIN;
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, c->max_idle);
    if (c->opts.max_host_connections > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, c->opts.max_host_connections);
    if (c->opts.max_total_connections > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, c->opts.max_total_connections);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 1;
    return c;
}

size_t ag_upstream_client_active(const struct ag_upstream_client *c)
{
    return c->active;
}

/* ---- finishing a request ---- */

static void unlink_req(struct ag_upstream_req *r)
{
    struct ag_upstream_client *c = r->c;

    if (r->prev)
        r->prev->next = r->next;
    else if (c->all == r)
        c->all = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    if (r->in_pending) {
        struct ag_upstream_req **pp = &c->pending;
        while (*pp && *pp != r)
            pp = &(*pp)->next_pending;
        if (*pp)
            *pp = r->next_pending;
        r->in_pending = false;
    }
    c->active--;
}

/* Removes the transfer and releases curl state; never called inside a curl callback. */
static void detach(struct ag_upstream_req *r)
{
    assert(r->c->in_curl == 0);
    if (r->added) {
        curl_multi_remove_handle(r->c->multi, r->easy);
        r->added = false;
    }
    if (r->easy) {
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
    }
    curl_slist_free_all(r->slist);
    r->slist = NULL;
    uv_timer_stop(&r->timer);
}

static void release(struct ag_upstream_req *r)
{
    uv_close((uv_handle_t *)&r->timer, req_closed);
}

/* Ends a request: detaches it, reports (unless canceled) and schedules its memory release. */
static void finish(struct ag_upstream_req *r, int err, enum ag_upstream_fail fail, const char *msg)
{
    struct ag_upstream_result res = {0};

    if (r->finished)
        return;
    r->finished = true;
    unlink_req(r);
    detach(r);
    if (!r->canceled) {
        res.err = err;
        res.fail = err ? fail : AG_UPSTREAM_FAIL_NONE;
        res.status = r->status;
        res.message = msg ? msg : "";
        res.body = ag_buf_str(&r->body);
        if (!res.body.p)
            res.body = ag_str_make("", 0);
        res.bytes_in = r->bytes_in;
        res.ttfb_us = r->ttfb_us;
        res.duration_us = ag_now_us() - r->start_us;
        r->spec.on_done(r, &res, r->spec.ud);
    }
    release(r);
}

static enum ag_upstream_fail classify(struct ag_upstream_req *r, CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_CONNECT:
        if (r->has_proxy)
            return AG_UPSTREAM_FAIL_PROXY;
        return AG_UPSTREAM_FAIL_CONNECT_REFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
        return AG_UPSTREAM_FAIL_DNS;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_PROXY:
        return AG_UPSTREAM_FAIL_PROXY;
    case CURLE_OPERATION_TIMEDOUT:
        /* Our own timers remove the transfer before curl could see them expire: this is the
         * connect timeout, the only one curl enforces. */
        return AG_UPSTREAM_FAIL_CONNECT_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        return AG_UPSTREAM_FAIL_TLS;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
        return AG_UPSTREAM_FAIL_RESET;
    default:
        return AG_UPSTREAM_FAIL_OTHER;
    }
}

static void on_transfer_done(struct ag_upstream_req *r, CURLcode code)
{
    enum ag_upstream_fail fail;
    char msg[CURL_ERROR_SIZE + 64];
    int err;

    if (r->canceled) {
        finish(r, AG_ECANCELED, AG_UPSTREAM_FAIL_CANCELED, NULL);
        return;
    }
    if (code == CURLE_OK) {
        finish(r, 0, AG_UPSTREAM_FAIL_NONE, NULL);
        return;
    }
    if (r->fail != AG_UPSTREAM_FAIL_NONE) {
        fail = r->fail;
        err = r->cb_err ? r->cb_err : AG_EIO;
    } else {
        fail = classify(r, code);
        err = ag_upstream_fail_is_timeout(fail) ? AG_ETIMEDOUT : AG_EIO;
    }
    snprintf(msg, sizeof(msg), "%s: %s", ag_upstream_fail_name(fail),
             r->errbuf[0] ? r->errbuf : curl_easy_strerror(code));
    finish(r, err, fail, msg);
}

/* Runs deferred operations; called whenever libcurl has returned to us. */
static void run_pending(struct ag_upstream_client *c)
{
    for (int round = 0; c->pending && round < MAX_DEFERRED_ROUNDS * 1024; round++) {
        struct ag_upstream_req *r = c->pending;
        unsigned ops = r->ops;

        c->pending = r->next_pending;
        r->in_pending = false;
        r->ops = 0;
        if ((ops & OP_CANCEL) || r->canceled) {
            finish(r, AG_ECANCELED, AG_UPSTREAM_FAIL_CANCELED, NULL);
            continue;
        }
        if (ops & OP_START) {
            CURLMcode mc = curl_multi_add_handle(c->multi, r->easy);
            if (mc != CURLM_OK) {
                finish(r, AG_EIO, AG_UPSTREAM_FAIL_OTHER, curl_multi_strerror(mc));
                continue;
            }
            r->added = true;
        }
        if ((ops & OP_PAUSE) && r->paused && !r->curl_paused) {
            curl_easy_pause(r->easy, CURLPAUSE_RECV);
            r->curl_paused = true;
        }
        if ((ops & OP_RESUME) && !r->paused && r->curl_paused) {
            r->curl_paused = false;
            c->in_curl++;
            curl_easy_pause(r->easy, CURLPAUSE_CONT);
            c->in_curl--;
        }
    }
}

static void defer(struct ag_upstream_req *r, unsigned op)
{
    r->ops |= op;
    if (!r->in_pending) {
        struct ag_upstream_req **pp = &r->c->pending;
        while (*pp)
            pp = &(*pp)->next_pending;
        *pp = r;
        r->next_pending = NULL;
        r->in_pending = true;
    }
}

static void read_done(struct ag_upstream_client *c)
{
    CURLMsg *msg;
    int left;

    while (c->multi && (msg = curl_multi_info_read(c->multi, &left))) {
        struct ag_upstream_req *r = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r)
            on_transfer_done(r, msg->data.result);
    }
}

static void drive(struct ag_upstream_client *c, curl_socket_t s, int flags)
{
    int running;

    if (c->closing)
        return;
    c->in_curl++;
    curl_multi_socket_action(c->multi, s, flags, &running);
    c->in_curl--;
    read_done(c);
    run_pending(c);
    read_done(c);
}

void ag_upstream_client_close(struct ag_upstream_client *c, void (*done)(void *ud), void *ud)
{
    c->close_done = done;
    c->close_ud = ud;
    assert(c->in_curl == 0);
    c->closing = true; /* from here on, no new request starts and no socket is driven */
    while (c->all)
        finish(c->all, AG_ECANCELED, AG_UPSTREAM_FAIL_CANCELED, "client closed");
    c->pending = NULL;
    curl_multi_cleanup(c->multi); /* closes pooled sockets via CURL_POLL_REMOVE */
    c->multi = NULL;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, client_timer_closed);
}

/* ---- per-request timer ---- */

static void on_req_timer(uv_timer_t *t)
{
    struct ag_upstream_req *r = t->data;
    const struct ag_upstream_timeouts *to = &r->spec.timeouts;
    uint64_t now = ag_now_ms();
    enum ag_upstream_fail fail = AG_UPSTREAM_FAIL_NONE;
    char msg[96];

    if (to->total_ms && now >= r->start_ms + to->total_ms)
        fail = AG_UPSTREAM_FAIL_TOTAL_TIMEOUT;
    else if (!r->got_head && !r->in_block && to->first_byte_ms &&
             now >= r->start_ms + to->first_byte_ms)
        fail = AG_UPSTREAM_FAIL_FIRST_BYTE_TIMEOUT;
    else if ((r->got_head || r->in_block) && !r->paused && to->idle_ms &&
             now >= r->last_rx_ms + to->idle_ms)
        fail = AG_UPSTREAM_FAIL_IDLE_TIMEOUT;
    if (fail == AG_UPSTREAM_FAIL_NONE) {
        arm_timer(r);
        return;
    }
    snprintf(msg, sizeof(msg), "%s after %llu ms", ag_upstream_fail_name(fail),
             (unsigned long long)(now - r->start_ms));
    finish(r, AG_ETIMEDOUT, fail, msg);
}

/* Arms the request timer for the nearest deadline that applies in the current phase. The idle
 * deadline moves with every chunk, but is only checked lazily here when the timer fires. */
static void arm_timer(struct ag_upstream_req *r)
{
    const struct ag_upstream_timeouts *to = &r->spec.timeouts;
    uint64_t now = ag_now_ms(), next = UINT64_MAX;
    bool receiving = r->got_head || r->in_block;

    if (to->total_ms)
        next = r->start_ms + to->total_ms;
    if (!receiving && to->first_byte_ms && r->start_ms + to->first_byte_ms < next)
        next = r->start_ms + to->first_byte_ms;
    if (receiving && !r->paused && to->idle_ms && r->last_rx_ms + to->idle_ms < next)
        next = r->last_rx_ms + to->idle_ms;
    if (next == UINT64_MAX) {
        uv_timer_stop(&r->timer);
        return;
    }
    uv_timer_start(&r->timer, on_req_timer, next > now ? next - now : 0, 0);
}

/* ---- curl's per-transfer callbacks ---- */

static int parse_status(const char *p, size_t n)
{
    /* "HTTP/1.1 200 OK", "HTTP/2 200" */
    size_t i = 0;
    int status = 0;

    if (n < 12 || strncmp(p, "HTTP/", 5) != 0)
        return -1;
    while (i < n && p[i] != ' ')
        i++;
    while (i < n && p[i] == ' ')
        i++;
    for (int d = 0; d < 3; d++, i++) {
        if (i >= n || p[i] < '0' || p[i] > '9')
            return -1;
        status = status * 10 + (p[i] - '0');
    }
    return status;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct ag_upstream_req *r = ud;
    size_t len = size * n;
    struct ag_str line = ag_str_make(p, len);

    if (r->canceled || r->got_head)
        return r->canceled ? 0 : len; /* trailers after the body are ignored */
    while (line.len && (line.p[line.len - 1] == '\n' || line.p[line.len - 1] == '\r'))
        line.len--;
    if (!r->in_block) {
        int status = parse_status(line.p, line.len);
        if (status < 0)
            return len;
        if (!r->ttfb_us)
            r->ttfb_us = ag_now_us() - r->start_us;
        r->status = status;
        r->in_block = true;
        r->last_rx_ms = ag_now_ms();
        ag_buf_reset(&r->head);
        r->nheaders = 0;
        return len;
    }
    r->last_rx_ms = ag_now_ms();
    if (line.len == 0) {
        r->in_block = false;
        if (r->status >= 100 && r->status < 200)
            return len; /* interim response; the real one follows */
        r->got_head = true;
        if (r->spec.on_head) {
            int rc;
            r->c->in_curl++;
            rc = r->spec.on_head(r, r->status, r->spec.ud);
            r->c->in_curl--;
            if (r->canceled)
                return 0;
            if (rc < 0) {
                r->cb_err = rc;
                r->fail = AG_UPSTREAM_FAIL_CALLBACK;
                return 0;
            }
        }
        return len;
    }
    {
        ptrdiff_t colon = ag_str_find(line, ':');
        struct ag_str name, value;
        if (colon <= 0)
            return len;
        name = ag_str_trim(ag_str_make(line.p, (size_t)colon));
        value = ag_str_trim(ag_str_make(line.p + colon + 1, line.len - (size_t)colon - 1));
        if (ag_buf_append_str(&r->head, name) < 0 || ag_buf_append(&r->head, "", 1) < 0 ||
            ag_buf_append_str(&r->head, value) < 0 || ag_buf_append(&r->head, "", 1) < 0) {
            r->cb_err = AG_ETOOBIG;
            r->fail = AG_UPSTREAM_FAIL_TOO_BIG;
            return 0;
        }
        r->nheaders++;
    }
    return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    struct ag_upstream_req *r = ud;
    size_t len = size * n;
    int rc;

    if (r->canceled)
        return 0;
    if (r->paused) {
        r->curl_paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    r->last_rx_ms = ag_now_ms();
    if (!r->spec.on_data) {
        if (ag_buf_append(&r->body, p, len) < 0) {
            r->cb_err = AG_ETOOBIG;
            r->fail = AG_UPSTREAM_FAIL_TOO_BIG;
            return 0;
        }
        r->bytes_in += len;
        return len;
    }
    r->c->in_curl++;
    rc = r->spec.on_data(r, p, len, r->spec.ud);
    r->c->in_curl--;
    if (r->canceled)
        return 0;
    if (rc == AG_EAGAIN) {
        r->paused = true;
        r->curl_paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (rc < 0) {
        r->cb_err = rc;
        r->fail = AG_UPSTREAM_FAIL_CALLBACK;
        return 0;
    }
    r->bytes_in += len;
    return len;
}

/* ---- requests ---- */

static bool valid_method(const char *m)
{
    if (!m || !*m || strlen(m) > 16)
        return false;
    for (const char *p = m; *p; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || *p == '-'))
            return false;
    }
    return true;
}

static int setup_easy(struct ag_upstream_req *r, const struct ag_upstream_req_spec *spec)
{
    const struct ag_upstream_client_opts *o = &r->c->opts;
    const char *method = spec->method ? spec->method : (spec->body ? "POST" : "GET");
    CURL *e = r->easy;

    if (!valid_method(method))
        return AG_EINVAL;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 60L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 30L);
    curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT,
                     o->dns_cache_timeout_s > 0 ? o->dns_cache_timeout_s : 300L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE,
                     o->recv_buffer_bytes > 0 ? o->recv_buffer_bytes : DEFAULT_RECV_BUFFER);
    if (o->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
    if (o->insecure_skip_verify_host)
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    if (spec->timeouts.connect_ms)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)spec->timeouts.connect_ms);

    /* An explicit empty proxy keeps http_proxy & co. from the environment out: the gateway's
     * configuration decides. */
    if (spec->proxy && *spec->proxy) {
        char proxy[2048];
        int rc = ag_upstream_proxy_normalize(spec->proxy, proxy, sizeof(proxy));
        if (rc < 0)
            return AG_EINVAL;
        curl_easy_setopt(e, CURLOPT_PROXY, proxy);
        r->has_proxy = true;
    } else {
        curl_easy_setopt(e, CURLOPT_PROXY, "");
    }

    for (size_t i = 0; i < spec->nheaders; i++) {
        struct curl_slist *l = curl_slist_append(r->slist, spec->headers[i]);
        if (!l)
            return AG_ENOMEM;
        r->slist = l;
    }
    /* No "Expect: 100-continue" round trip for large bodies. */
    r->slist = curl_slist_append(r->slist, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->slist);

    if (strcmp(method, "GET") == 0 && !spec->body) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)spec->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, spec->body ? (const char *)spec->body : "");
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    return 0;
}

struct ag_upstream_req *ag_upstream_req_start(struct ag_upstream_client *c,
                                              const struct ag_upstream_req_spec *spec, int *err)
{
    struct ag_upstream_req *r = NULL;
    int rc = AG_EINVAL;

    if (c->closing) {
        rc = AG_ESTATE;
        goto out;
    }
    if (!spec->url || !spec->on_done)
        goto out;
    {
        struct ag_str u = ag_str_c(spec->url);
        if (!ag_str_has_prefix_ci(u, "http://") && !ag_str_has_prefix_ci(u, "https://"))
            goto out;
    }
    r = AG_NEW(struct ag_upstream_req);
    r->c = c;
    r->spec = *spec;
    r->spec.headers = NULL;
    r->spec.nheaders = 0;
    r->spec.proxy = NULL;
    r->spec.url = NULL;
    r->spec.method = NULL;
    r->url = ag_strdup(spec->url);
    ag_buf_init(&r->head, MAX_HEAD_BYTES);
    ag_buf_init(&r->body, spec->max_body ? spec->max_body : DEFAULT_MAX_BODY);
    r->easy = curl_easy_init();
    if (!r->easy) {
        rc = AG_ENOMEM;
        goto out;
    }
    rc = setup_easy(r, spec);
    if (rc < 0)
        goto out;

    uv_timer_init(c->loop, &r->timer);
    r->timer.data = r;
    c->open_handles++;
    r->start_us = ag_now_us();
    r->start_ms = r->start_us / 1000u;
    r->last_rx_ms = r->start_ms;
    r->next = c->all;
    if (c->all)
        c->all->prev = r;
    c->all = r;
    c->active++;
    arm_timer(r);
    /* Keep room in the connection cache for every transfer of the busiest moment so far. Not from
     * inside a curl callback; the next start outside one catches up. */
    if (!c->in_curl && (long)c->active * 2 > c->max_idle && c->max_idle < MAX_IDLE_CONNS_MAX) {
        c->max_idle =
            (long)c->active * 2 < MAX_IDLE_CONNS_MAX ? (long)c->active * 2 : MAX_IDLE_CONNS_MAX;
        curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, c->max_idle);
    }

    if (c->in_curl) {
        defer(r, OP_START);
    } else {
        CURLMcode mc = curl_multi_add_handle(c->multi, r->easy);
        if (mc != CURLM_OK) {
            unlink_req(r);
            detach(r);
            release(r);
            r = NULL;
            rc = AG_EIO;
            goto out_nofree;
        }
        r->added = true;
    }
    rc = 0;
out:
    if (rc < 0 && r) {
        if (r->easy)
            curl_easy_cleanup(r->easy);
        curl_slist_free_all(r->slist);
        ag_buf_dispose(&r->head);
        ag_buf_dispose(&r->body);
        free(r->url);
        free(r);
        r = NULL;
    }
out_nofree:
    if (err)
        *err = rc;
    return r;
}

void ag_upstream_req_cancel(struct ag_upstream_req *r)
{
    if (!r || r->finished || r->canceled)
        return;
    r->canceled = true;
    if (r->c->in_curl)
        defer(r, OP_CANCEL);
    else
        finish(r, AG_ECANCELED, AG_UPSTREAM_FAIL_CANCELED, NULL);
}

void ag_upstream_req_pause(struct ag_upstream_req *r)
{
    if (r->finished || r->canceled || r->paused)
        return;
    r->paused = true;
    if (r->c->in_curl || !r->added) {
        defer(r, OP_PAUSE);
        return;
    }
    curl_easy_pause(r->easy, CURLPAUSE_RECV);
    r->curl_paused = true;
}

void ag_upstream_req_resume(struct ag_upstream_req *r)
{
    struct ag_upstream_client *c = r->c;

    if (r->finished || r->canceled || !r->paused)
        return;
    r->paused = false;
    r->last_rx_ms = ag_now_ms(); /* the idle clock restarts */
    if (!r->curl_paused)
        return;
    if (c->in_curl || !r->added) {
        defer(r, OP_RESUME);
        return;
    }
    r->curl_paused = false;
    c->in_curl++;
    curl_easy_pause(r->easy, CURLPAUSE_CONT);
    c->in_curl--;
    /* Delivered data may have asked for cancellation or other requests' operations. */
    run_pending(c);
}

bool ag_upstream_req_paused(const struct ag_upstream_req *r)
{
    return r->paused;
}

bool ag_upstream_req_header_at(const struct ag_upstream_req *r, size_t i, struct ag_str *name,
                               struct ag_str *value)
{
    const char *p = r->head.data, *end = p + r->head.len;

    if (i >= r->nheaders)
        return false;
    for (size_t k = 0; p < end; k++) {
        const char *n = p, *v = n + strlen(n) + 1;
        p = v + strlen(v) + 1;
        if (k == i) {
            *name = ag_str_c(n);
            *value = ag_str_c(v);
            return true;
        }
    }
    return false;
}

struct ag_str ag_upstream_req_header(const struct ag_upstream_req *r, const char *name)
{
    struct ag_str found = AG_STR_NULL, n, v, want = ag_str_c(name);

    for (size_t i = 0; ag_upstream_req_header_at(r, i, &n, &v); i++) {
        if (ag_str_eq_ci(n, want))
            found = v;
    }
    return found;
}

const char *ag_upstream_req_url(const struct ag_upstream_req *r)
{
    return r->url;
}

int ag_upstream_req_status(const struct ag_upstream_req *r)
{
    return r->status;
}

int ag_upstream_proxy_normalize(const char *in, char *out, size_t cap)
{
    static const char *const schemes[] = {"http",    "https",  "socks4",
                                          "socks4a", "socks5", "socks5h"};
    CURLU *u = NULL;
    char *scheme = NULL, *host = NULL;
    int rc = AG_EINVAL, n;
    bool ok = false;

    if (!in || !*in || strlen(in) > 2000)
        goto out;
    for (const char *p = in; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            goto out;
    }
    if (strstr(in, "://"))
        n = snprintf(out, cap, "%s", in);
    else
        n = snprintf(out, cap, "http://%s", in);
    if (n < 0 || (size_t)n >= cap) {
        rc = AG_ETOOBIG;
        goto out;
    }
    u = curl_url();
    if (!u || curl_url_set(u, CURLUPART_URL, out, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0])
        goto out;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        ok = ok || strcmp(scheme, schemes[i]) == 0;
    if (!ok)
        goto out;
    rc = 0;
out:
    if (rc < 0 && cap)
        out[0] = '\0';
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}
