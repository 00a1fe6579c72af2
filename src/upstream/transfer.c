/* upstream/transfer.c: one upstream transfer's life (see client.h for the contract): the easy
 * handle's setup, curl's header and write callbacks (the response head, the body to on_data or
 * into a buffer), our own first-byte, idle and total timeouts, what a failure was, and the end:
 * on_done once, then the memory released at a safe point. The multi handle, the loop glue and the
 * deferred operations are in client.c. */
#include "upstream/client.h"
#include "upstream/client_internal.h"

#include "upstream/curl_api.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/time.h"

#define DEFAULT_MAX_BODY (16u * 1024u * 1024u)
#define MAX_HEAD_BYTES   (64u * 1024u)
/* Body bytes a paused native request holds: what was left of one read (h1.c reads 64 KiB). */
#define MAX_HELD_BYTES      (128u * 1024u)
#define MAX_DEFERRED_ROUNDS 64
/* curl's receive buffer per transfer: SSE events are small, and at thousands of concurrent
 * streams curl's 16 KiB default was a quarter of each stream's memory. */
#define DEFAULT_RECV_BUFFER (8L * 1024)

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

/* ---- finishing a request ---- */

static void req_closed(uv_handle_t *h)
{
    struct ag_upstream_req *r = h->data;
    struct ag_upstream_client *c = r->c;
    ag_buf_dispose(&r->head);
    ag_buf_dispose(&r->body);
    ag_buf_dispose(&r->held);
    free(r->h1_head);
    free(r->url);
    free(r);
    ag_upstream_client_handle_closed(c);
}

/* Removes the transfer and releases curl state; never called inside a curl callback. */
static void detach(struct ag_upstream_req *r)
{
    assert(r->c->in_curl == 0);
    if (r->native)
        ag_h1_detach(r);
    if (r->added) {
        curl_multi_remove_handle(r->c->multi, r->easy);
        r->added = false;
    }
    if (r->easy) {
        ag_upstream_client_put_easy(r->c, r->easy);
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

void ag_upstream_req_finish(struct ag_upstream_req *r, int err, enum ag_upstream_fail fail,
                            const char *msg)
{
    struct ag_upstream_result res = {0};

    if (r->finished)
        return;
    r->finished = true;
    ag_upstream_client_unlink(r);
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

void ag_upstream_req_transfer_done(struct ag_upstream_req *r, CURLcode code)
{
    enum ag_upstream_fail fail;
    char msg[CURL_ERROR_SIZE + 64];
    int err;

    if (r->canceled) {
        ag_upstream_req_finish(r, AG_ECANCELED, AG_UPSTREAM_FAIL_CANCELED, NULL);
        return;
    }
    if (code == CURLE_OK) {
        ag_upstream_req_finish(r, 0, AG_UPSTREAM_FAIL_NONE, NULL);
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
    ag_upstream_req_finish(r, err, fail, msg);
}

/* ---- per-request timer ---- */

static void on_req_timer(uv_timer_t *t)
{
    struct ag_upstream_req *r = t->data;
    const struct ag_upstream_timeouts *to = &r->spec.timeouts;
    uint64_t now = ag_now_ms();
    enum ag_upstream_fail fail = AG_UPSTREAM_FAIL_NONE;
    char msg[96];

    if (r->native && ag_h1_on_timer(r))
        return;
    if (to->total_ms && now >= r->start_ms + to->total_ms)
        fail = AG_UPSTREAM_FAIL_TOTAL_TIMEOUT;
    else if (r->h1_connecting && to->connect_ms && now >= r->start_ms + to->connect_ms)
        fail = AG_UPSTREAM_FAIL_CONNECT_TIMEOUT;
    else if (!r->got_head && !r->in_block && to->first_byte_ms &&
             now >= r->start_ms + to->first_byte_ms)
        fail = AG_UPSTREAM_FAIL_FIRST_BYTE_TIMEOUT;
    else if ((r->got_head || r->in_block) && !r->paused && to->idle_ms &&
             now >= r->last_rx_ms + to->idle_ms)
        fail = AG_UPSTREAM_FAIL_IDLE_TIMEOUT;
    if (fail == AG_UPSTREAM_FAIL_NONE) {
        ag_upstream_req_arm_timer(r);
        return;
    }
    snprintf(msg, sizeof(msg), "%s after %llu ms", ag_upstream_fail_name(fail),
             (unsigned long long)(now - r->start_ms));
    ag_upstream_req_finish(r, AG_ETIMEDOUT, fail, msg);
}

/* Arms the request timer for the nearest deadline that applies in the current phase. The idle
 * deadline moves with every chunk, but is only checked lazily here when the timer fires. A native
 * request with an outcome to report (h1.c) gets it at once; one still connecting has the connect
 * deadline too (libcurl keeps that one itself). */
void ag_upstream_req_arm_timer(struct ag_upstream_req *r)
{
    const struct ag_upstream_timeouts *to = &r->spec.timeouts;
    uint64_t now = ag_now_ms(), next = UINT64_MAX;
    bool receiving = r->got_head || r->in_block;

    if (r->h1_fail_now || (r->h1_complete && !r->held.len && !r->paused))
        next = now;
    if (r->h1_connecting && to->connect_ms && r->start_ms + to->connect_ms < next)
        next = r->start_ms + to->connect_ms;
    if (to->total_ms && r->start_ms + to->total_ms < next)
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

static int setup_easy(struct ag_upstream_req *r, const struct ag_upstream_req_spec *spec,
                      const char *method)
{
    const struct ag_upstream_client_opts *o = &r->c->opts;
    CURL *e = r->easy;

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
    const char *method = spec->method ? spec->method : (spec->body ? "POST" : "GET");
    int rc = AG_EINVAL;

    if (c->closing) {
        rc = AG_ESTATE;
        goto out;
    }
    if (!spec->url || !spec->on_done || !valid_method(method))
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
    ag_buf_init(&r->held, MAX_HELD_BYTES);
    rc = ag_h1_prepare(r, spec, method);
    if (rc == AG_EUNSUPPORTED) {
        r->easy = ag_upstream_client_get_easy(c);
        if (r->easy)
            rc = setup_easy(r, spec, method);
        else /* libcurl missing or unloadable says so, not "out of memory" */
            rc = ag_curl_api_load() != 0 ? AG_ENOLIB : AG_ENOMEM;
    }
    if (rc < 0)
        goto out;

    uv_timer_init(c->loop, &r->timer);
    r->timer.data = r;
    c->open_handles++;
    r->start_us = ag_now_us();
    r->start_ms = r->start_us / 1000u;
    r->last_rx_ms = r->start_ms;
    ag_upstream_client_link(c, r);
    ag_upstream_req_arm_timer(r);

    if (c->in_curl) {
        ag_upstream_client_defer(r, OP_START);
    } else if (r->native) {
        ag_h1_begin(r);
    } else {
        CURLMcode mc = curl_multi_add_handle(c->multi, r->easy);
        if (mc != CURLM_OK) {
            ag_upstream_client_unlink(r);
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
        ag_buf_dispose(&r->held);
        free(r->h1_head);
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
        ag_upstream_client_defer(r, OP_CANCEL);
    else
        ag_upstream_req_finish(r, AG_ECANCELED, AG_UPSTREAM_FAIL_CANCELED, NULL);
}

void ag_upstream_req_pause(struct ag_upstream_req *r)
{
    if (r->finished || r->canceled || r->paused)
        return;
    r->paused = true;
    if (r->native) {
        ag_h1_pause(r);
        return;
    }
    if (r->c->in_curl || !r->added) {
        ag_upstream_client_defer(r, OP_PAUSE);
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
    if (r->native) {
        if (c->in_curl) {
            ag_upstream_client_defer(r, OP_RESUME);
            return;
        }
        ag_h1_resume(r);
        ag_upstream_client_run_pending(c);
        return;
    }
    if (!r->curl_paused)
        return;
    if (c->in_curl || !r->added) {
        ag_upstream_client_defer(r, OP_RESUME);
        return;
    }
    r->curl_paused = false;
    c->in_curl++;
    curl_easy_pause(r->easy, CURLPAUSE_CONT);
    c->in_curl--;
    /* Delivered data may have asked for cancellation or other requests' operations. */
    ag_upstream_client_run_pending(c);
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
