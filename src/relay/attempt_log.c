/* relay/attempt_log.c: the attempts of one request and their stage times (see attempt_log.h). */
#include "relay/attempt_log.h"

#include "core/jsonw.h"
#include "core/str.h"
#include "core/trace.h"

#include <stdlib.h>
#include <string.h>

void ag_attempt_log_init(struct ag_attempt_log *log, uint64_t arrival_us)
{
    memset(log, 0, sizeof(*log));
    log->arrival_us = arrival_us;
}

void ag_attempt_log_dispose(struct ag_attempt_log *log)
{
    free(log->more);
    log->more = NULL;
    log->n = 0;
}

static struct ag_attempt *slot(struct ag_attempt_log *log, size_t i)
{
    return i == 0 ? &log->first : &log->more[i - 1];
}

/* Copies src into dst (cap bytes) and, when it was cut, drops a UTF-8 sequence the cut split. */
static void copy_text(char *dst, const char *src, size_t cap)
{
    size_t n = ag_strlcpy(dst, src ? src : "", cap);
    if (!src || src[n] == '\0')
        return; /* all of it fit */
    size_t end = n;
    size_t lead = end;
    while (lead > 0 && ((unsigned char)dst[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead > 0 && ((unsigned char)dst[lead - 1] & 0xC0) == 0xC0) {
        unsigned char c = (unsigned char)dst[lead - 1];
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (end - (lead - 1) < need)
            dst[lead - 1] = '\0';
    }
}

static struct ag_attempt *open_attempt(struct ag_attempt_log *log)
{
    if (log->n == 0 || !slot(log, log->n - 1)->_open)
        return NULL;
    return slot(log, log->n - 1);
}

static int64_t ms_between(uint64_t from_us, uint64_t to_us)
{
    return to_us >= from_us ? (int64_t)((to_us - from_us) / 1000) : 0;
}

void ag_attempt_log_begin(struct ag_attempt_log *log, uint64_t now_us)
{
    if (open_attempt(log))
        ag_attempt_log_end(log, 0, "abandoned", NULL, now_us);
    if (log->n == 1 && !log->more)
        log->more = malloc((AG_ATTEMPT_LOG_MAX - 1) * sizeof(*log->more));
    if (log->n == AG_ATTEMPT_LOG_MAX || (log->n >= 1 && !log->more)) {
        log->dropped++; /* the last slot takes the newer attempt */
        log->n--;
    }
    struct ag_attempt *a = slot(log, log->n++);
    memset(a, 0, sizeof(*a));
    a->start_ms = ms_between(log->arrival_us, now_us);
    a->acquire_ms = a->upstream_ms = a->first_token_ms = a->stream_ms = -1;
    a->_begin_us = now_us;
    a->begin_us = now_us >= log->arrival_us ? (int64_t)(now_us - log->arrival_us) : 0;
    ag_trace_new_id(a->span_id, sizeof(a->span_id));
    a->_open = true;
}

void ag_attempt_log_acquired(struct ag_attempt_log *log, const char *account, const char *model,
                             uint64_t now_us)
{
    struct ag_attempt *a = open_attempt(log);
    if (!a)
        return;
    copy_text(a->account, account, sizeof(a->account));
    copy_text(a->model, model, sizeof(a->model));
    a->acquire_ms = ms_between(a->_begin_us, now_us);
}

void ag_attempt_log_sent(struct ag_attempt_log *log, uint64_t now_us)
{
    struct ag_attempt *a = open_attempt(log);
    if (a)
        a->_send_us = now_us;
}

void ag_attempt_log_head(struct ag_attempt_log *log, int status, uint64_t now_us)
{
    struct ag_attempt *a = open_attempt(log);
    if (!a || a->_head_us)
        return;
    a->status = status;
    a->_head_us = now_us;
    if (a->_send_us)
        a->upstream_ms = ms_between(a->_send_us, now_us);
}

void ag_attempt_log_token(struct ag_attempt_log *log, uint64_t now_us)
{
    struct ag_attempt *a = open_attempt(log);
    if (a && a->first_token_ms < 0 && a->_send_us)
        a->first_token_ms = ms_between(a->_send_us, now_us);
}

void ag_attempt_log_end(struct ag_attempt_log *log, int status, const char *outcome,
                        const char *reason, uint64_t now_us)
{
    struct ag_attempt *a = open_attempt(log);
    if (!a)
        return;
    if (status)
        a->status = status;
    copy_text(a->outcome, outcome && outcome[0] ? outcome : "error", sizeof(a->outcome));
    copy_text(a->reason, reason, sizeof(a->reason));
    for (char *p = a->reason; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    }
    if (a->_head_us)
        a->stream_ms = ms_between(a->_head_us, now_us);
    else if (a->_send_us)
        a->upstream_ms = ms_between(a->_send_us, now_us); /* failed before any head */
    a->end_us = now_us >= log->arrival_us ? (int64_t)(now_us - log->arrival_us) : 0;
    a->_open = false;
}

static int stage(struct ag_buf *out, const char *k, int64_t ms)
{
    return ms >= 0 ? ag_jsonw_int(out, k, ms) : ag_jsonw_raw(out, k, NULL);
}

int ag_attempt_log_json(const struct ag_attempt_log *log, struct ag_buf *out)
{
    int rc = ag_jsonw_open(out, NULL, '[');
    for (size_t i = 0; i < log->n && !rc; i++) {
        const struct ag_attempt *a = ag_attempt_log_at(log, i);
        rc = ag_jsonw_open(out, NULL, '{');
        rc = rc ? rc : ag_jsonw_str(out, "account", a->account);
        rc = rc ? rc : ag_jsonw_str(out, "model", a->model);
        rc = rc ? rc : ag_jsonw_int(out, "status", a->status);
        rc = rc ? rc : ag_jsonw_str(out, "outcome", a->_open ? "open" : a->outcome);
        rc = rc ? rc : ag_jsonw_str(out, "reason", a->reason);
        rc = rc ? rc : ag_jsonw_int(out, "start_ms", a->start_ms);
        rc = rc ? rc : stage(out, "acquire_ms", a->acquire_ms);
        rc = rc ? rc : stage(out, "upstream_ms", a->upstream_ms);
        rc = rc ? rc : stage(out, "first_token_ms", a->first_token_ms);
        rc = rc ? rc : stage(out, "stream_ms", a->stream_ms);
        rc = rc ? rc : ag_jsonw_close(out, '}');
    }
    if (!rc && log->dropped) {
        rc = ag_jsonw_open(out, NULL, '{');
        rc = rc ? rc : ag_jsonw_int(out, "dropped", (int64_t)log->dropped);
        rc = rc ? rc : ag_jsonw_close(out, '}');
    }
    return rc ? rc : ag_jsonw_close(out, ']');
}
