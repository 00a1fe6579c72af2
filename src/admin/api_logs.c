/* admin/api_logs.c: the monitor's routes — GET /api/logs (filters, paging), GET /api/logs/:id
 * (with bodies and the attempts), POST /api/logs/:id/replay (the captured request sent to the
 * gateway again), GET /api/logs/recent (the in-memory ring), POST /api/logs/clear,
 * GET /api/monitor (counters) — and the live event stream GET /api/events (SSE). */
#include "admin/admin_internal.h"
#include "admin/monitor.h"
#include "config/config.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/rand.h"
#include "http/auth.h"
#include "http/server.h"
#include "store/monitor_query.h"
#include "store/writer.h"
#include "upstream/client.h"

#include "upstream/curl_api.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void adm_write_entry(struct ag_buf *b, const struct ag_request_record *r, const char *request_id,
                     bool bodies)
{
    ag_jsonw_open(b, NULL, '{');
    ag_jsonw_int(b, "id", r->id);
    ag_jsonw_int(b, "ts_ms", r->ts_ms);
    if (request_id)
        ag_jsonw_str(b, "request_id", request_id);
    ag_jsonw_str(b, "method", r->method);
    ag_jsonw_str(b, "path", r->path);
    ag_jsonw_str(b, "protocol", r->protocol);
    ag_jsonw_str(b, "model", r->model_requested);
    ag_jsonw_str(b, "served_model", r->model_served);
    ag_jsonw_str(b, "account", r->account_email);
    ag_jsonw_str(b, "key", r->key_name && r->key_name[0] ? r->key_name : NULL);
    ag_jsonw_int(b, "status", r->status);
    ag_jsonw_str(b, "error_class", r->error_class && r->error_class[0] ? r->error_class : NULL);
    ag_jsonw_str(b, "error_message",
                 r->error_message && r->error_message[0] ? r->error_message : NULL);
    ag_jsonw_int(b, "attempts", r->attempts);
    if (r->ttfb_ms >= 0)
        ag_jsonw_int(b, "ttfb_ms", r->ttfb_ms);
    else
        ag_jsonw_raw(b, "ttfb_ms", NULL);
    ag_jsonw_int(b, "total_ms", r->total_ms);
    ag_jsonw_int(b, "input_tokens", r->input_tokens);
    ag_jsonw_int(b, "output_tokens", r->output_tokens);
    ag_jsonw_int(b, "cached_tokens", r->cached_tokens);
    ag_jsonw_int(b, "reasoning_tokens", r->reasoning_tokens);
    ag_jsonw_str(b, "client_ip", r->client_ip);
    ag_jsonw_str(b, "user_agent", r->user_agent);
    ag_jsonw_bool(b, "stream", r->stream);
    if (bodies) {
        /* the attempts, as the monitor wrote them (admin/monitor.c) */
        ag_jsonw_raw(b, "attempt_log", r->attempts_json ? r->attempts_json : "[]");
        ag_jsonw_strn(b, "request_body", r->request_body);
        ag_jsonw_strn(b, "response_body", r->response_body);
    }
    ag_jsonw_close(b, '}');
}

/* ---- GET /api/logs ---- */

struct logs_arg {
    struct ag_log_filter f;
    char model[256], account[256], protocol[64], text[256];
    int64_t total;
};

static int row_out(const struct ag_request_record *r, void *ud)
{
    struct adm_job *j = ud;
    adm_write_entry(&j->out, r, NULL, j->i1 != 0);
    return 0;
}

static int logs_work(struct ag_store *db, struct adm_job *j)
{
    struct logs_arg *la = j->arg;
    ag_jsonw_open(&j->out, NULL, '{');
    ag_jsonw_open(&j->out, "items", '[');
    int rc = ag_store_log_query(db, &la->f, row_out, j, &la->total);
    ag_jsonw_close(&j->out, ']');
    ag_jsonw_int(&j->out, "total", la->total);
    ag_jsonw_int(&j->out, "limit", la->f.limit);
    ag_jsonw_int(&j->out, "offset", la->f.offset);
    ag_jsonw_close(&j->out, '}');
    return rc;
}

static bool parse_status(struct ag_http_req *req, enum ag_log_status_class *out)
{
    char v[16];
    static const struct {
        const char *name;
        enum ag_log_status_class c;
    } names[] = {{"2xx", AG_LOG_STATUS_2XX},     {"3xx", AG_LOG_STATUS_3XX},
                 {"4xx", AG_LOG_STATUS_4XX},     {"5xx", AG_LOG_STATUS_5XX},
                 {"error", AG_LOG_STATUS_ERROR}, {"ok", AG_LOG_STATUS_OK}};
    if (!adm_query(req, "status", v, sizeof(v)) || !v[0])
        return true;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(v, names[i].name) == 0) {
            *out = names[i].c;
            return true;
        }
    }
    adm_error(req, 400, "invalid_request", "status",
              "status must be one of 2xx, 3xx, 4xx, 5xx, error, ok");
    return false;
}

static void h_logs(struct ag_http_req *req, void *ud)
{
    struct logs_arg *la = ag_calloc(1, sizeof(*la));
    la->f.limit = 100;
    if (!adm_query_int(req, "from_ms", 0, INT64_MAX, &la->f.from_ms) ||
        !adm_query_int(req, "to_ms", 0, INT64_MAX, &la->f.to_ms) ||
        !adm_query_int(req, "limit", 1, 1000, &la->f.limit) ||
        !adm_query_int(req, "offset", 0, INT64_MAX, &la->f.offset) ||
        !adm_query_int(req, "before_id", 0, INT64_MAX, &la->f.before_id) ||
        !parse_status(req, &la->f.status_class)) {
        free(la);
        return;
    }
    if (la->f.from_ms && la->f.to_ms && la->f.to_ms <= la->f.from_ms) {
        free(la);
        adm_error(req, 400, "invalid_request", "to_ms", "to_ms must be after from_ms");
        return;
    }
    if (adm_query(req, "model", la->model, sizeof(la->model)))
        la->f.model = la->model;
    if (adm_query(req, "account", la->account, sizeof(la->account)))
        la->f.account = la->account;
    if (adm_query(req, "protocol", la->protocol, sizeof(la->protocol)))
        la->f.protocol = la->protocol;
    if (adm_query(req, "q", la->text, sizeof(la->text)))
        la->f.text = la->text;
    struct adm_job *j = adm_job_new(adm_of(ud), req, logs_work, NULL);
    j->arg = la;
    j->free_arg = free;
    adm_job_start(j);
}

/* ---- GET /api/logs/:id ---- */

static int log_work(struct ag_store *db, struct adm_job *j)
{
    int rc = ag_store_log_get(db, j->i2, row_out, j);
    if (rc == AG_ENOTFOUND)
        snprintf(j->err, sizeof(j->err), "no request log entry %lld", (long long)j->i2);
    return rc;
}

static void log_done(struct adm_job *j)
{
    /* Not on disk (yet, or the writer dropped it): the in-memory entry, without bodies. */
    const struct ag_monitor_entry *e =
        j->rc == AG_ENOTFOUND ? ag_monitor_find(j->a->monitor, j->i2) : NULL;
    if (e) {
        ag_buf_reset(&j->out);
        adm_write_entry(&j->out, &e->rec, e->request_id, true);
        adm_json(j->req, 200, &j->out);
    } else if (j->rc) {
        adm_error_rc(j->req, j->rc, j->err);
    } else {
        adm_json(j->req, 200, &j->out);
    }
}

static void h_log(struct ag_http_req *req, void *ud)
{
    int64_t id;
    if (ag_str_to_i64(req->params[0], 1, INT64_MAX, &id)) {
        adm_error(req, 404, "not_found", "id", "no request log entry %.*s",
                  (int)(req->params[0].len > 64 ? 64 : req->params[0].len), req->params[0].p);
        return;
    }
    struct adm_job *j = adm_job_new(adm_of(ud), req, log_work, log_done);
    j->i1 = 1; /* bodies */
    j->i2 = id;
    adm_job_start(j);
}

/* ---- POST /api/logs/:id/replay ---- */

/* Bytes of the replayed answer given back to the UI, and the longest a replay may take. */
#define REPLAY_KEEP       (64 * 1024)
#define REPLAY_TIMEOUT_MS 300000L

/* What a replay needs, taken on the loop (the worker must not read the live config). */
struct replay_arg {
    int port;
    char auth[512]; /* "Authorization: Bearer <main key>", or "" when there is none */
    char method[16];
    char path[512];
    char *body; /* the captured request body (malloc'd), NULL when none was kept */
    size_t body_len;
    bool stream;
};

static void replay_arg_free(void *p)
{
    struct replay_arg *ra = p;
    if (ra)
        free(ra->body);
    free(ra);
}

static int replay_row(const struct ag_request_record *r, void *ud)
{
    struct replay_arg *ra = ud;
    snprintf(ra->method, sizeof(ra->method), "%s", r->method ? r->method : "POST");
    snprintf(ra->path, sizeof(ra->path), "%s", r->path ? r->path : "");
    ra->stream = r->stream;
    if (r->request_body.p) {
        ra->body = ag_malloc(r->request_body.len + 1);
        memcpy(ra->body, r->request_body.p, r->request_body.len);
        ra->body[r->request_body.len] = '\0';
        ra->body_len = r->request_body.len;
    }
    return 0;
}

static size_t replay_collect(char *p, size_t size, size_t n, void *ud)
{
    struct ag_buf *b = ud;
    size_t len = size * n;
    size_t room = b->len < REPLAY_KEEP ? REPLAY_KEEP - b->len : 0;
    if (room)
        ag_buf_append(b, p, len < room ? len : room);
    return len; /* the rest is read and dropped: the gateway's request runs to its end */
}

static size_t replay_header(char *p, size_t size, size_t n, void *ud)
{
    char *rid = ud;
    size_t len = size * n;
    static const char name[] = "x-request-id:";
    if (len > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        size_t i = sizeof(name) - 1, end = len;
        while (i < end && (p[i] == ' ' || p[i] == '\t'))
            i++;
        while (end > i && (p[end - 1] == '\r' || p[end - 1] == '\n' || p[end - 1] == ' '))
            end--;
        snprintf(rid, 64, "%.*s", (int)(end - i), p + i);
    }
    return len;
}

/* On a worker: the stored request goes to the gateway's own port on loopback, with the main API
 * key (which never leaves the server); the answer's status, request id and first bytes come back.
 */
static int replay_work(struct ag_store *db, struct adm_job *j)
{
    struct replay_arg *ra = j->arg;
    int rc = ag_store_log_get(db, j->i2, replay_row, ra);
    if (rc == AG_ENOTFOUND) {
        snprintf(j->err, sizeof(j->err), "no request log entry %lld", (long long)j->i2);
        return rc;
    }
    if (rc)
        return rc;
    if (!ra->body || strcmp(ra->method, "POST") != 0 || ra->path[0] != '/') {
        snprintf(j->err, sizeof(j->err),
                 "request %lld has no captured body to send again (turn on body capture in "
                 "Settings for new requests)",
                 (long long)j->i2);
        return AG_ESTATE;
    }
    char url[600], rid[64] = "";
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", ra->port, ra->path);
    struct ag_buf body;
    ag_buf_init(&body, REPLAY_KEEP + 1);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "X-Aigate-Replay: 1");
    if (ra->auth[0])
        h = curl_slist_append(h, ra->auth);
    /* The first use of libcurl in the process may be this worker's (it is initialised lazily). */
    CURL *cu = ag_upstream_global_init() == 0 ? curl_easy_init() : NULL;
    long status = 0;
    rc = AG_EIO;
    if (!cu || !h)
        goto out;
    curl_easy_setopt(cu, CURLOPT_URL, url);
    curl_easy_setopt(cu, CURLOPT_POST, 1L);
    curl_easy_setopt(cu, CURLOPT_POSTFIELDS, ra->body);
    curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)ra->body_len);
    curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, replay_collect);
    curl_easy_setopt(cu, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, replay_header);
    curl_easy_setopt(cu, CURLOPT_HEADERDATA, rid);
    curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, REPLAY_TIMEOUT_MS);
    curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(cu, CURLOPT_NOPROXY, "*");
    CURLcode cc = curl_easy_perform(cu);
    if (cc != CURLE_OK) {
        snprintf(j->err, sizeof(j->err), "the gateway did not answer the replay: %s",
                 curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &status);
    ag_jsonw_open(&j->out, NULL, '{');
    ag_jsonw_int(&j->out, "status", status);
    ag_jsonw_str(&j->out, "request_id", rid[0] ? rid : NULL);
    ag_jsonw_bool(&j->out, "stream", ra->stream);
    ag_jsonw_strn(&j->out, "body", ag_buf_str(&body));
    ag_jsonw_bool(&j->out, "truncated", body.len >= REPLAY_KEEP);
    ag_jsonw_close(&j->out, '}');
    rc = 0;
out:
    if (cu)
        curl_easy_cleanup(cu);
    curl_slist_free_all(h);
    ag_buf_dispose(&body);
    return rc;
}

static void h_replay(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    int64_t id;
    if (ag_str_to_i64(req->params[0], 1, INT64_MAX, &id)) {
        adm_error(req, 404, "not_found", "id", "no request log entry %.*s",
                  (int)(req->params[0].len > 64 ? 64 : req->params[0].len), req->params[0].p);
        return;
    }
    struct replay_arg *ra = ag_calloc(1, sizeof(*ra));
    ra->port = (int)a->cfg->server.port;
    if (a->auth->api_key && a->auth->api_key[0])
        snprintf(ra->auth, sizeof(ra->auth), "Authorization: Bearer %s", a->auth->api_key);
    struct adm_job *j = adm_job_new(a, req, replay_work, NULL);
    j->arg = ra;
    j->free_arg = replay_arg_free;
    j->i2 = id;
    adm_job_start(j);
}

/* ---- GET /api/logs/recent ---- */

static void h_recent(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    int64_t limit = 100;
    if (!adm_query_int(req, "limit", 1, 100000, &limit))
        return;
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    ag_jsonw_open(&b, NULL, '{');
    ag_jsonw_open(&b, "items", '[');
    for (size_t i = 0; i < ag_monitor_len(a->monitor) && (int64_t)i < limit; i++) {
        const struct ag_monitor_entry *e = ag_monitor_at(a->monitor, i);
        adm_write_entry(&b, &e->rec, e->request_id, false);
    }
    ag_jsonw_close(&b, ']');
    ag_jsonw_close(&b, '}');
    adm_json(req, 200, &b);
    ag_buf_dispose(&b);
}

/* ---- POST /api/logs/clear ---- */

static int clear_work(struct ag_store *db, struct adm_job *j)
{
    int64_t n = 0;
    int rc = ag_store_log_clear(db, &n);
    ag_buf_printf(&j->out, "{\"deleted\":%lld}", (long long)n);
    return rc;
}

static void h_clear(struct ag_http_req *req, void *ud)
{
    adm_job_start(adm_job_new(adm_of(ud), req, clear_work, NULL));
}

/* ---- GET /api/monitor ---- */

static void h_monitor(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    struct ag_writer_stats ws = {0};
    if (a->writer)
        ag_writer_get_stats(a->writer, &ws);
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    ag_jsonw_open(&b, NULL, '{');
    ag_jsonw_int(&b, "recorded", (int64_t)ag_monitor_total(a->monitor));
    ag_jsonw_int(&b, "in_memory", (int64_t)ag_monitor_len(a->monitor));
    ag_jsonw_int(&b, "capacity", a->cfg->monitor.capacity);
    ag_jsonw_int(&b, "not_persisted", (int64_t)ag_monitor_not_queued(a->monitor));
    ag_jsonw_bool(&b, "capture_bodies", a->cfg->monitor.capture_bodies);
    ag_jsonw_open(&b, "writer", '{');
    ag_jsonw_int(&b, "queued", (int64_t)ws.queued);
    ag_jsonw_int(&b, "accepted", (int64_t)ws.accepted);
    ag_jsonw_int(&b, "dropped", (int64_t)ws.dropped);
    ag_jsonw_int(&b, "written", (int64_t)ws.written);
    ag_jsonw_int(&b, "failed", (int64_t)ws.failed);
    ag_jsonw_int(&b, "retention_runs", (int64_t)ws.retention_runs);
    ag_jsonw_int(&b, "retention_deleted", ws.retention_log_deleted);
    ag_jsonw_int(&b, "disk_cap_deleted", ws.disk_cap_deleted);
    ag_jsonw_int(&b, "max_disk_mb", a->cfg->log.max_disk_mb);
    ag_jsonw_close(&b, '}');
    ag_jsonw_int(&b, "event_subscribers", (int64_t)a->nsubs);
    ag_jsonw_close(&b, '}');
    adm_json(req, 200, &b);
    ag_buf_dispose(&b);
}

/* ---- GET /api/events ---- */

static void sub_unlink(struct ag_admin *a, struct adm_sub *s)
{
    for (struct adm_sub **p = &a->subs; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            a->nsubs--;
            break;
        }
    }
    free(s);
}

static void sub_abort(struct ag_http_req *req, void *ud)
{
    struct adm_sub *s = ud;
    sub_unlink(s->a, s);
}

/* The admin secret in force (the admin password, else the API key; "" when none). */
static const char *admin_secret(const struct ag_admin *a)
{
    if (a->auth->admin_password && a->auth->admin_password[0])
        return a->auth->admin_password;
    return a->auth->api_key ? a->auth->api_key : "";
}

/* Ends one stream with a last event saying why; the client's EventSource then reconnects with
 * its old credential and is refused. */
static void sub_end(struct ag_admin *a, struct adm_sub *s, const char *why)
{
    char m[160];
    int n = snprintf(m, sizeof(m), "event: end\ndata: {\"reason\":\"%s\"}\n\n", why);
    s->req->on_abort = NULL;
    ag_http_stream_write(s->req, m, (size_t)n);
    ag_http_stream_end(s->req);
    sub_unlink(a, s);
}

size_t adm_events_revalidate(struct ag_admin *a)
{
    if (!a->subs)
        return 0;
    const char *secret = admin_secret(a);
    unsigned char cur[AG_SHA256_SIZE];
    ag_sha256(secret, strlen(secret), cur);
    int64_t now = adm_now_ms();
    size_t ended = 0;
    struct adm_sub *next;
    for (struct adm_sub *s = a->subs; s; s = next) {
        next = s->next;
        bool ok = s->via_session ? ag_sessions_valid(a->sessions, ag_str_c(s->session), now)
                                 : secret[0] && ag_secret_eq((const char *)cur, sizeof(cur),
                                                             (const char *)s->secret_sha256,
                                                             sizeof(s->secret_sha256));
        if (!ok) {
            sub_end(a, s, s->via_session ? "session ended" : "admin secret changed");
            ended++;
        }
    }
    return ended;
}

void adm_events_publish(struct ag_admin *a, const char *event, const struct ag_buf *data)
{
    /* Nothing reaches a stream whose login ended since the last event. */
    adm_events_revalidate(a);
    struct ag_buf frame;
    ag_buf_init(&frame, data->len + AG_BUF_CAP_SHORT);
    ag_buf_printf(&frame, "event: %s\ndata: %.*s\n\n", event, (int)data->len,
                  data->data ? data->data : "");
    for (struct adm_sub *s = a->subs; s; s = s->next) {
        /* A slow reader misses events instead of growing our memory; it is told how many. */
        if (ag_http_stream_congested(s->req)) {
            s->missed++;
            continue;
        }
        if (s->missed) {
            char m[96];
            int n = snprintf(m, sizeof(m), "event: missed\ndata: {\"count\":%llu}\n\n",
                             (unsigned long long)s->missed);
            ag_http_stream_write(s->req, m, (size_t)n);
            s->missed = 0;
        }
        ag_http_stream_write(s->req, frame.data, frame.len);
    }
    ag_buf_dispose(&frame);
}

void adm_events_close_all(struct ag_admin *a)
{
    while (a->subs) {
        struct adm_sub *s = a->subs;
        s->req->on_abort = NULL;
        ag_http_stream_end(s->req);
        sub_unlink(a, s);
    }
}

static void h_events(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    if (a->closing) {
        adm_error(req, 503, "unavailable", NULL, "shutting down");
        return;
    }
    struct adm_sub *s = AG_NEW(struct adm_sub);
    /* Remember which credential opened the stream (the server already checked it): the admin
     * secret itself, else a session token from the header or the query. */
    struct ag_str key = ag_auth_client_key(req);
    if (ag_auth_check(a->auth, req, AG_ACCESS_ADMIN) == AG_AUTH_ALLOW) {
        ag_sha256(key.p, key.len, s->secret_sha256);
    } else {
        s->via_session = true;
        if (key.p && key.len < sizeof(s->session))
            memcpy(s->session, key.p, key.len);
        if (!ag_sessions_valid(a->sessions, ag_str_c(s->session), adm_now_ms()))
            adm_query(req, "token", s->session, sizeof(s->session));
    }
    s->req = req;
    s->a = a;
    s->next = a->subs;
    a->subs = s;
    a->nsubs++;
    req->on_abort = sub_abort;
    req->cb_ud = s;
    ag_http_add_header(req, "Cache-Control", AG_STR("no-store"));
    ag_http_stream_begin(req, 200, "text/event-stream");
    static const char hello[] = "retry: 3000\nevent: hello\ndata: {}\n\n";
    ag_http_stream_write(req, hello, sizeof(hello) - 1);
}

/* one route per line */
/* clang-format off */
const struct adm_route_def adm_logs_routes[] = {
    {"GET", "/api/logs", h_logs, false},
    {"GET", "/api/logs/recent", h_recent, false},
    {"GET", "/api/logs/:id", h_log, false},
    {"POST", "/api/logs/:id/replay", h_replay, false},
    {"POST", "/api/logs/clear", h_clear, false},
    {"GET", "/api/monitor", h_monitor, false},
    {"GET", "/api/events", h_events, false},
    {NULL, NULL, NULL, false},
};
/* clang-format on */
