/* admin/monitor.c: the ring of recent requests and the hand-off to the writer (see monitor.h). */
#include "admin/monitor.h"

#include "admin/redact.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/str.h"
#include "relay/record.h"
#include "store/writer.h"

#include <stdlib.h>
#include <string.h>

struct ag_monitor {
    struct ag_writer *writer;
    struct ag_monitor_entry *ring;
    size_t cap, head, len; /* head: where the next entry goes */
    int64_t next_id;
    bool capture;
    size_t body_cap;
    uint64_t total, not_queued;
    ag_monitor_listener listener;
    void *listener_ud;
};

struct ag_monitor *ag_monitor_new(struct ag_writer *writer, size_t capacity, int64_t first_id)
{
    struct ag_monitor *m = AG_NEW(struct ag_monitor);
    m->writer = writer;
    m->cap = capacity ? capacity : 1;
    m->ring = ag_calloc(m->cap, sizeof(*m->ring));
    m->next_id = first_id > 0 ? first_id : 1;
    m->body_cap = 64 * 1024;
    return m;
}

void ag_monitor_set_capture(struct ag_monitor *m, bool capture, size_t cap)
{
    m->capture = capture;
    m->body_cap = cap;
}

void ag_monitor_set_listener(struct ag_monitor *m, ag_monitor_listener cb, void *ud)
{
    m->listener = cb;
    m->listener_ud = ud;
}

/* Copies the slices and C strings of an entry into one block (owned by the entry), the attempts
 * as their JSON text. */
static void entry_fill(struct ag_monitor_entry *e, const struct ag_relay_record *r, int64_t id)
{
    struct ag_buf att;
    ag_buf_init(&att, AG_BUF_CAP_SHORT);
    if (r->attempt_log && r->attempt_log->n && ag_attempt_log_json(r->attempt_log, &att))
        ag_buf_reset(&att); /* over the cap: the row goes without its attempts */
    struct ag_str parts[] = {r->method,
                             r->path,
                             ag_str_c(r->protocol),
                             r->model,
                             ag_str_c(r->served_model),
                             ag_str_c(r->account),
                             ag_str_c(r->error_class),
                             r->client_ip,
                             r->user_agent,
                             r->request_id,
                             r->error_message,
                             r->key_name,
                             ag_buf_str(&att)};
    enum { N = sizeof(parts) / sizeof(parts[0]) };
    size_t total = 0;
    for (size_t i = 0; i < N; i++)
        total += parts[i].len + 1;
    char *blk = ag_malloc(total), *c = blk;
    const char *out[N];
    for (size_t i = 0; i < N; i++) {
        if (parts[i].len)
            memcpy(c, parts[i].p, parts[i].len);
        c[parts[i].len] = '\0';
        out[i] = c;
        c += parts[i].len + 1;
    }
    ag_buf_dispose(&att);
    free(e->_strings);
    *e = (struct ag_monitor_entry){
        .rec =
            {
                .id = id,
                .ts_ms = r->ts_ms,
                .method = out[0],
                .path = out[1],
                .protocol = out[2],
                .model_requested = out[3],
                .model_served = out[4],
                .account_email = out[5],
                .key_name = out[11][0] ? out[11] : NULL,
                .status = r->status,
                .error_class = out[6],
                .error_message = out[10],
                .attempts = r->attempts,
                .ttfb_ms = r->ttfb_ms,
                .total_ms = r->total_ms,
                .input_tokens = r->input_tokens,
                .output_tokens = r->output_tokens,
                .cached_tokens = r->cached_tokens,
                .reasoning_tokens = r->reasoning_tokens,
                .client_ip = out[7],
                .user_agent = out[8],
                .stream = r->stream,
                .attempts_json = out[12][0] ? out[12] : NULL,
            },
        .request_id = out[9],
        .error_message = out[10],
        ._strings = blk,
    };
}

int64_t ag_monitor_record(struct ag_monitor *m, const struct ag_relay_record *r)
{
    int64_t id = m->next_id++;
    struct ag_monitor_entry *e = &m->ring[m->head];
    entry_fill(e, r, id);
    m->head = (m->head + 1) % m->cap;
    if (m->len < m->cap)
        m->len++;
    m->total++;

    if (m->writer) {
        struct ag_request_record w = e->rec;
        struct ag_buf req, resp;
        ag_buf_init(&req, AG_BUF_CAP_DOC);
        ag_buf_init(&resp, AG_BUF_CAP_DOC);
        w.request_body = AG_STR_NULL;
        w.response_body = AG_STR_NULL;
        if (m->capture) {
            /* Redacted before anything leaves the loop: secrets never reach the disk. */
            if (r->request_body.len && ag_redact(r->request_body, m->body_cap, &req) == 0)
                w.request_body = ag_str_make(req.data ? req.data : "", req.len);
            if (r->response_body.len && ag_redact(r->response_body, m->body_cap, &resp) == 0)
                w.response_body = ag_str_make(resp.data ? resp.data : "", resp.len);
        }
        if (ag_writer_record(m->writer, &w) != 0)
            m->not_queued++;
        ag_buf_dispose(&req);
        ag_buf_dispose(&resp);
    }
    if (m->listener)
        m->listener(e, m->listener_ud);
    return id;
}

size_t ag_monitor_len(const struct ag_monitor *m)
{
    return m->len;
}

const struct ag_monitor_entry *ag_monitor_at(const struct ag_monitor *m, size_t i)
{
    if (i >= m->len)
        return NULL;
    return &m->ring[(m->head + m->cap - 1 - i) % m->cap];
}

const struct ag_monitor_entry *ag_monitor_find(const struct ag_monitor *m, int64_t id)
{
    const struct ag_monitor_entry *newest = ag_monitor_at(m, 0);
    if (!newest || id > newest->rec.id || id <= newest->rec.id - (int64_t)m->len)
        return NULL;
    return ag_monitor_at(m, (size_t)(newest->rec.id - id));
}

uint64_t ag_monitor_total(const struct ag_monitor *m)
{
    return m->total;
}

uint64_t ag_monitor_not_queued(const struct ag_monitor *m)
{
    return m->not_queued;
}

void ag_monitor_free(struct ag_monitor *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->ring[i]._strings);
    free(m->ring);
    free(m);
}
