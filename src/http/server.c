/* http/server.c: the server object (see server.h). Its limits and their defaults, the listeners
 * and accepting connections (refused at once past server.max_connections), the auth and browser
 * policies admission reads, and shutdown with a grace period. A connection's life is in conn.c,
 * its parsing in parse.c, admission in admission.c, responses in response.c. */
#include "http/server.h"
#include "http/server_internal.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/rand.h"
#include "core/time.h"
#include "http/auth.h"
#include "http/guard.h"
#include "http/iprules.h"
#include "http/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEF_MAX_BODY       (100u * 1024 * 1024)
#define DEF_MAX_HEADER     (64u * 1024)
#define DEF_MAX_HEADERS    100u
#define DEF_HEADER_TIMEOUT 30000u
#define DEF_IDLE_TIMEOUT   120000u
#define DEF_HIGH_WATER     (256u * 1024)
#define DEF_MAX_CONNS      8192u
#define DEF_BODY_INFLIGHT  (256u * 1024 * 1024)
#define DEF_MIN_BODY_RATE  4096u
/* Failed admin authentication: per address and minute (admin.login_max_failures), then a lockout
 * of a minute that doubles with every further one, up to an hour. */
#define AUTH_WINDOW_MS   60000
#define AUTH_LOCK_MS     60000
#define AUTH_LOCK_MAX_MS 3600000

/* ---------------------------------------------------------------- accepting */

static void on_connection(uv_stream_t *ls, int status)
{
    struct ag_http_server *s = ls->data;
    if (status < 0 || s->shutting_down)
        return;
    if (s->nconns >= s->lim.max_connections) {
        /* Over the limit: accept and close at once, so the backlog does not fill with them. */
        uv_tcp_t *t = AG_NEW(uv_tcp_t);
        uv_tcp_init(s->loop, t);
        if (uv_accept(ls, (uv_stream_t *)t) == 0)
            uv_tcp_close_reset(t, (uv_close_cb)free);
        else
            uv_close((uv_handle_t *)t, (uv_close_cb)free);
        s->refused_conns++;
        uint64_t now = ag_now_us();
        if (now - s->last_refusal_log_us > 10000000) {
            s->last_refusal_log_us = now;
            ag_log_warn("http: %zu connections open (server.max_connections): refusing new ones "
                        "(%llu so far)",
                        s->nconns, (unsigned long long)s->refused_conns);
        }
        return;
    }
    ag_http_conn_accept(s, ls);
}

/* ---------------------------------------------------------------- server */

struct ag_http_server *ag_http_server_new(uv_loop_t *loop, struct ag_router *router,
                                          const struct ag_http_limits *limits)
{
    ag_http_parse_setup();
    struct ag_http_server *s = AG_NEW(struct ag_http_server);
    s->loop = loop;
    s->router = router;
    if (limits)
        s->lim = *limits;
    if (!s->lim.max_body_bytes)
        s->lim.max_body_bytes = DEF_MAX_BODY;
    if (!s->lim.max_header_bytes)
        s->lim.max_header_bytes = DEF_MAX_HEADER;
    if (!s->lim.max_headers)
        s->lim.max_headers = DEF_MAX_HEADERS;
    if (!s->lim.header_timeout_ms)
        s->lim.header_timeout_ms = DEF_HEADER_TIMEOUT;
    if (!s->lim.idle_timeout_ms)
        s->lim.idle_timeout_ms = DEF_IDLE_TIMEOUT;
    if (!s->lim.stream_high_water)
        s->lim.stream_high_water = DEF_HIGH_WATER;
    if (!s->lim.max_connections)
        s->lim.max_connections = DEF_MAX_CONNS;
    if (!s->lim.max_body_inflight)
        s->lim.max_body_inflight = DEF_BODY_INFLIGHT;
    if (!s->lim.min_body_rate)
        s->lim.min_body_rate = DEF_MIN_BODY_RATE;
    s->limiter = ag_auth_limiter_new(5, AUTH_WINDOW_MS, AUTH_LOCK_MS, AUTH_LOCK_MAX_MS);
    if (ag_random_hex(s->id_prefix, sizeof(s->id_prefix), 4))
        ag_strlcpy(s->id_prefix, "00000000", sizeof(s->id_prefix));
    return s;
}

void ag_http_server_set_log_cb(struct ag_http_server *s, ag_http_log_cb cb, void *ud)
{
    s->log_cb = cb;
    s->log_ud = ud;
}

void ag_http_server_set_auth(struct ag_http_server *s, const struct ag_auth_policy *policy)
{
    s->auth = policy;
}

void ag_http_server_set_cors(struct ag_http_server *s, const struct ag_cors *cors)
{
    s->cors = cors;
}

void ag_http_server_set_hosts(struct ag_http_server *s, const struct ag_host_policy *hosts)
{
    s->hosts = hosts;
}

void ag_http_server_set_admin_check(struct ag_http_server *s, ag_http_admin_cb cb, void *ud)
{
    s->admin_check = cb;
    s->admin_ud = ud;
}

void ag_http_server_set_auth_failures(struct ag_http_server *s, int64_t per_minute)
{
    ag_auth_limiter_set_max(s->limiter, per_minute);
}

bool ag_http_req_auth_allowed(const struct ag_http_req *req, int64_t *retry_after_s)
{
    return ag_auth_limiter_allowed(req->_conn->srv->limiter, req->client_ip,
                                   (int64_t)(ag_now_us() / 1000), retry_after_s);
}

void ag_http_req_auth_failed(const struct ag_http_req *req)
{
    ag_auth_limiter_failed(req->_conn->srv->limiter, req->client_ip, (int64_t)(ag_now_us() / 1000));
}

void ag_http_req_auth_succeeded(const struct ag_http_req *req)
{
    ag_auth_limiter_succeeded(req->_conn->srv->limiter, req->client_ip);
}

void ag_http_server_set_gate(struct ag_http_server *s, ag_http_gate_cb gate, void *ud)
{
    s->gate = gate;
    s->gate_ud = ud;
}

void ag_http_server_set_ip_rules(struct ag_http_server *s, const struct ag_ip_rules *rules,
                                 struct ag_ip_refusals *log)
{
    s->ip_rules = rules;
    s->ip_refusals = log;
}

bool ag_http_server_admit_peer(struct ag_http_server *s, uv_tcp_t *t)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    struct ag_ip ip;
    if (ag_ip_rules_empty(s->ip_rules))
        return true;
    /* A peer whose address cannot be read cannot be shown to pass the rules. */
    if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len) != 0 ||
        ag_ip_from_sockaddr((struct sockaddr *)&ss, &ip) != 0) {
        ag_log_debug("http: connection refused: its address cannot be read");
        return false;
    }
    if (ag_ip_rules_allows(s->ip_rules, &ip))
        return true;
    uint64_t n = ag_ip_refusals_note(s->ip_refusals, &ip, ag_wall_ms());
    char text[AG_CIDR_TEXT_MAX];
    ag_ip_format(&ip, text, sizeof(text));
    if (n == 1)
        ag_log_info("http: connection from %s refused (security.ip_allow / security.ip_deny)",
                    text);
    else
        ag_log_debug("http: connection from %s refused (%llu so far)", text, (unsigned long long)n);
    return false;
}

int ag_http_server_listen(struct ag_http_server *s, const char *host, int port)
{
    struct sockaddr_storage ss;
    int rc;
    if (s->nlisten == MAX_LISTENERS)
        return UV_ENOBUFS;
    if (strchr(host, ':'))
        rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss);
    else
        rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
    if (rc)
        return rc;
    uv_tcp_t *l = &s->listeners[s->nlisten];
    uv_tcp_init(s->loop, l);
    l->data = s;
    unsigned flags = strchr(host, ':') ? UV_TCP_IPV6ONLY : 0;
    rc = uv_tcp_bind(l, (struct sockaddr *)&ss, flags);
    if (!rc)
        rc = uv_listen((uv_stream_t *)l, 4096, on_connection);
    if (rc) {
        uv_close((uv_handle_t *)l, NULL);
        return rc;
    }
    if (s->nlisten == 0) {
        int len = sizeof(ss);
        uv_tcp_getsockname(l, (struct sockaddr *)&ss, &len);
        s->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                : ((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    s->nlisten++;
    s->nlisten_open++;
    return 0;
}

int ag_http_server_port(const struct ag_http_server *s)
{
    return s->port;
}

size_t ag_http_server_connections(const struct ag_http_server *s)
{
    return s->nconns;
}

size_t ag_http_server_active_requests(const struct ag_http_server *s)
{
    return s->nactive;
}

uint64_t ag_http_server_body_copied(const struct ag_http_server *s)
{
    return s->body_copied;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct ag_http_server *s = h->data;
    s->nlisten_open--;
    ag_http_server_maybe_done(s);
}

static void on_grace_closed(uv_handle_t *h)
{
    struct ag_http_server *s = h->data;
    s->grace_open = false;
    ag_http_server_maybe_done(s);
}

void ag_http_server_maybe_done(struct ag_http_server *s)
{
    if (!s->shutting_down || s->nconns > 0 || s->nlisten_open > 0)
        return;
    if (s->grace_open) {
        if (!uv_is_closing((uv_handle_t *)&s->grace))
            uv_close((uv_handle_t *)&s->grace, on_grace_closed);
        return;
    }
    if (s->done) {
        void (*done)(void *) = s->done;
        s->done = NULL;
        done(s->done_ud);
    }
}

static void on_grace(uv_timer_t *t)
{
    struct ag_http_server *s = t->data;
    struct ag_http_conn *c = s->conns, *next;
    ag_log_warn("shutdown: grace period over, closing %zu connection(s)", s->nconns);
    for (; c; c = next) {
        next = c->next;
        ag_http_conn_close(c);
    }
}

void ag_http_server_shutdown(struct ag_http_server *s, uint64_t grace_ms, void (*done)(void *ud),
                             void *ud)
{
    if (s->shutting_down)
        return;
    s->shutting_down = true;
    s->done = done;
    s->done_ud = ud;
    for (int i = 0; i < s->nlisten; i++)
        uv_close((uv_handle_t *)&s->listeners[i], on_listener_closed);
    struct ag_http_conn *c = s->conns, *next;
    for (; c; c = next) {
        next = c->next;
        if (c->ws) {
            ag_ws_going_away(c); /* now when idle, else once its message is answered */
            continue;
        }
        if (!c->req || c->req->_state == REQ_PARSING) {
            if (c->phase == PH_IDLE)
                ag_http_conn_close(c);
            /* a request mid-arrival may finish; keep-alive is off from now on */
        }
    }
    uv_timer_init(s->loop, &s->grace);
    s->grace.data = s;
    s->grace_open = true;
    uv_timer_start(&s->grace, on_grace, grace_ms ? grace_ms : 1, 0);
    ag_http_server_maybe_done(s);
}

void ag_http_server_free(struct ag_http_server *s)
{
    if (!s)
        return;
    ag_auth_limiter_free(s->limiter);
    free(s);
}
