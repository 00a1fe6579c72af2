/* telemetry/span_json.c: OTLP/HTTP JSON spans of a finished request (see span_json.h). */
#include "telemetry/span_json.h"

#include "core/err.h"
#include "core/hex.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/str.h"

#include <stdio.h>
#include <string.h>

/* OTLP Status.StatusCode values. */
#define STATUS_OK    1
#define STATUS_ERROR 2

/* ---- attributes: {"key": k, "value": {"<type>Value": v}} ----
 * Names and keys are this file's own ASCII literals: written as they are, in few appends (a
 * request's spans are encoded on the loop, so every call counts); values are quoted. */

static int lit(struct ag_buf *b, const char *s)
{
    return ag_buf_append(b, s, strlen(s));
}

/* The head of an attribute of name k (a literal) and value type t, up to the value. */
#define ATTR(k, t) "{\"key\":\"" k "\",\"value\":{\"" t "\":"
#define S(k)       ATTR(k, "stringValue")
#define I(k)       ATTR(k, "intValue")
#define B(k)       ATTR(k, "boolValue")

static int attr_open(struct ag_buf *b, const char *head)
{
    int rc = ag_jsonw_sep(b);
    return rc ? rc : lit(b, head);
}

static int attr_strn(struct ag_buf *b, const char *head, struct ag_str v)
{
    if (!v.p || !v.len)
        return 0; /* an empty value says nothing: left out */
    int rc = attr_open(b, head);
    if (!rc)
        rc = ag_jsonw_quote(b, v.p, v.len);
    if (!rc)
        rc = lit(b, "}}");
    return rc;
}

static int attr_str(struct ag_buf *b, const char *head, const char *v)
{
    return attr_strn(b, head, ag_str_c(v ? v : ""));
}

/* 64-bit integers are strings in the JSON mapping. */
static int attr_int(struct ag_buf *b, const char *head, int64_t v)
{
    int rc = attr_open(b, head);
    if (!rc)
        rc = lit(b, "\"");
    if (!rc)
        rc = ag_buf_append_int(b, v);
    if (!rc)
        rc = lit(b, "\"}}");
    return rc;
}

static int attr_bool(struct ag_buf *b, const char *head, bool v)
{
    int rc = attr_open(b, head);
    if (!rc)
        rc = lit(b, v ? "true}}" : "false}}");
    return rc;
}

/* ---- span pieces ---- */

/* sep "<k>":"<hex of id>" */
static int hex_member(struct ag_buf *b, const char *k, const uint8_t *id, size_t n)
{
    char h[2 * AG_TRACE_ID_SIZE + 1];
    int rc = ag_jsonw_key(b, k);
    if (!rc)
        rc = lit(b, "\"");
    if (!rc)
        rc = ag_buf_append(b, h, (size_t)(ag_hex_encode(h, id, n) - h));
    if (!rc)
        rc = lit(b, "\"");
    return rc;
}

static int nanos_member(struct ag_buf *b, const char *k, uint64_t ns)
{
    int rc = ag_jsonw_key(b, k);
    if (!rc)
        rc = lit(b, "\"");
    if (!rc)
        rc = ag_buf_append_int(b, (long long)ns); /* fits: unix nanoseconds until 2262 */
    if (!rc)
        rc = lit(b, "\"");
    return rc;
}

/* The common head of a span: ids, name, kind and times; leaves the object open. */
static int span_head(struct ag_buf *b, const struct ag_trace *t, const uint8_t *span_id,
                     const uint8_t *parent_id, const char *name, int kind, uint64_t start_ns,
                     uint64_t end_ns)
{
    int rc = ag_jsonw_open(b, NULL, '{');
    if (!rc)
        rc = hex_member(b, "traceId", t->trace_id, AG_TRACE_ID_SIZE);
    if (!rc)
        rc = hex_member(b, "spanId", span_id, AG_SPAN_ID_SIZE);
    if (!rc && parent_id)
        rc = hex_member(b, "parentSpanId", parent_id, AG_SPAN_ID_SIZE);
    if (!rc && t->tracestate[0])
        rc = ag_jsonw_str(b, "traceState", t->tracestate);
    if (!rc)
        rc = ag_jsonw_str(b, "name", name);
    if (!rc)
        rc = ag_jsonw_int(b, "kind", kind);
    if (!rc)
        rc = nanos_member(b, "startTimeUnixNano", start_ns);
    if (!rc)
        rc = nanos_member(b, "endTimeUnixNano", end_ns < start_ns ? start_ns : end_ns);
    return rc;
}

/* Closes the attributes array, writes the status (its message a failure class, never a text
 * from upstream or client) and closes the span. */
static int span_tail(struct ag_buf *b, int rc, const char *error_class)
{
    bool failed = error_class && error_class[0];
    if (!rc)
        rc = ag_jsonw_close(b, ']');
    if (!rc)
        rc = ag_jsonw_open(b, "status", '{');
    if (!rc && failed)
        rc = ag_jsonw_str(b, "message", error_class);
    if (!rc)
        rc = ag_jsonw_int(b, "code", failed ? STATUS_ERROR : STATUS_OK);
    if (!rc)
        rc = ag_jsonw_close(b, '}');
    if (!rc)
        rc = ag_jsonw_close(b, '}');
    return rc;
}

/* An account as a trace may name it: an API-key account's made-up name ("<kind>:<host>:<hash>")
 * or label as it is, an e-mail masked the way logs mask secrets. */
static void account_shown(const char *account, char *out, size_t cap)
{
    if (strchr(account, '@'))
        ag_log_mask(account, out, cap);
    else
        ag_strlcpy(out, account, cap);
}

void ag_span_json_name(struct ag_str method, struct ag_str path, char *out, size_t cap)
{
    static const char *const per_model[] = {"/v1beta/models/", "/v1/models/", "/v1beta1/models/"};
    size_t q = 0;
    while (q < path.len && path.p[q] != '?')
        q++;
    path.len = q;
    for (size_t i = 0; i < sizeof(per_model) / sizeof(per_model[0]); i++) {
        size_t n = strlen(per_model[i]);
        if (path.len <= n || memcmp(path.p, per_model[i], n) != 0)
            continue;
        const char *colon = memchr(path.p + n, ':', path.len - n);
        if (!colon)
            break; /* a model's own page (/v1beta/models/<model>): the route as it is */
        snprintf(out, cap, "%.*s %s{model}%.*s", (int)method.len, method.p ? method.p : "",
                 per_model[i], (int)(path.p + path.len - colon), colon);
        return;
    }
    snprintf(out, cap, "%.*s %.*s", (int)method.len, method.p ? method.p : "", (int)path.len,
             path.p ? path.p : "");
}

/* ---- the spans of one request ---- */

static int server_span(struct ag_buf *b, const struct ag_relay_record *rec, uint64_t start_ns,
                       uint64_t end_ns)
{
    const struct ag_trace *t = rec->trace;
    char name[160];
    ag_span_json_name(rec->method, rec->path, name, sizeof(name));
    int rc = span_head(b, t, t->span_id, t->remote_parent ? t->parent_id : NULL, name,
                       AG_SPAN_KIND_SERVER, start_ns, end_ns);
    if (!rc)
        rc = ag_jsonw_open(b, "attributes", '[');
    struct ag_str path = rec->path;
    for (size_t i = 0; i < path.len; i++) {
        if (path.p[i] == '?')
            path.len = i; /* a query may carry a key (Gemini's ?key=) */
    }
    if (!rc)
        rc = attr_strn(b, S("http.request.method"), rec->method);
    if (!rc)
        rc = attr_strn(b, S("url.path"), path);
    if (!rc)
        rc = attr_int(b, I("http.response.status_code"), rec->status);
    if (!rc)
        rc = attr_str(b, S("aigate.protocol"), rec->protocol);
    if (!rc)
        rc = attr_strn(b, S("aigate.request_id"), rec->request_id);
    if (!rc)
        rc = attr_strn(b, S("gen_ai.request.model"), rec->model);
    if (!rc)
        rc = attr_str(b, S("gen_ai.response.model"), rec->served_model);
    if (!rc)
        rc = attr_strn(b, S("aigate.key.name"), rec->key_name);
    if (!rc)
        rc = attr_bool(b, B("aigate.stream"), rec->stream);
    if (!rc)
        rc = attr_int(b, I("aigate.attempts"), rec->attempts);
    if (!rc && rec->attempt_log && rec->attempt_log->dropped)
        rc = attr_int(b, I("aigate.attempts_not_traced"), (int64_t)rec->attempt_log->dropped);
    if (!rc && rec->ttfb_ms >= 0)
        rc = attr_int(b, I("aigate.time_to_first_byte_ms"), rec->ttfb_ms);
    if (!rc)
        rc = attr_int(b, I("gen_ai.usage.input_tokens"), rec->input_tokens);
    if (!rc)
        rc = attr_int(b, I("gen_ai.usage.output_tokens"), rec->output_tokens);
    if (!rc && rec->cached_tokens)
        rc = attr_int(b, I("aigate.usage.cached_tokens"), rec->cached_tokens);
    if (!rc && rec->reasoning_tokens)
        rc = attr_int(b, I("aigate.usage.reasoning_tokens"), rec->reasoning_tokens);
    if (!rc)
        rc = attr_str(b, S("error.type"), rec->error_class);
    return span_tail(b, rc, rec->error_class);
}

static int attempt_span(struct ag_buf *b, const struct ag_relay_record *rec,
                        const struct ag_attempt *a, size_t index, uint64_t arrival_ns)
{
    char acct[160];
    account_shown(a->account, acct, sizeof(acct));
    bool ok = strcmp(a->outcome, "ok") == 0;
    int rc = span_head(b, rec->trace, a->span_id, rec->trace->span_id, "upstream attempt",
                       AG_SPAN_KIND_CLIENT, arrival_ns + (uint64_t)a->begin_us * 1000u,
                       arrival_ns + (uint64_t)a->end_us * 1000u);
    if (!rc)
        rc = ag_jsonw_open(b, "attributes", '[');
    if (!rc)
        rc = attr_int(b, I("aigate.attempt"), (int64_t)index + 1);
    if (!rc)
        rc = attr_str(b, S("aigate.account"), acct);
    if (!rc)
        rc = attr_str(b, S("gen_ai.request.model"), a->model);
    if (!rc && a->status)
        rc = attr_int(b, I("http.response.status_code"), a->status);
    if (!rc)
        rc = attr_str(b, S("aigate.outcome"), a->outcome);
    if (!rc && !ok)
        rc = attr_str(b, S("aigate.retry_reason"), a->outcome);
    if (!rc && a->acquire_ms >= 0)
        rc = attr_int(b, I("aigate.acquire_ms"), a->acquire_ms);
    if (!rc && a->upstream_ms >= 0)
        rc = attr_int(b, I("aigate.time_to_first_byte_ms"), a->upstream_ms);
    if (!rc && a->first_token_ms >= 0)
        rc = attr_int(b, I("aigate.time_to_first_token_ms"), a->first_token_ms);
    if (!rc && !ok)
        rc = attr_str(b, S("error.type"), a->outcome);
    return span_tail(b, rc, ok ? NULL : a->outcome);
}

int ag_span_json_request(const struct ag_relay_record *rec, struct ag_buf *out)
{
    const struct ag_attempt_log *log = rec->attempt_log;
    uint64_t start_ns = rec->ts_ms > 0 ? (uint64_t)rec->ts_ms * 1000000u : 0;
    uint64_t end_ns = start_ns + (uint64_t)(rec->total_ms > 0 ? rec->total_ms : 0) * 1000000u;
    /* total_ms is cut to whole milliseconds: the request ends no earlier than its last attempt */
    for (size_t i = 0; log && i < log->n; i++) {
        uint64_t e = start_ns + (uint64_t)ag_attempt_log_at(log, i)->end_us * 1000u;
        if (e > end_ns)
            end_ns = e;
    }
    int rc = server_span(out, rec, start_ns, end_ns);
    int n = 1;
    for (size_t i = 0; !rc && log && i < log->n; i++, n++)
        rc = attempt_span(out, rec, ag_attempt_log_at(log, i),
                          i + (i + 1 == log->n ? log->dropped : 0), start_ns);
    return rc ? rc : n;
}

int ag_span_json_open(struct ag_buf *out, const char *service_name)
{
    int rc = ag_jsonw_open(out, NULL, '{');
    if (!rc)
        rc = ag_jsonw_open(out, "resourceSpans", '[');
    if (!rc)
        rc = ag_jsonw_open(out, NULL, '{');
    if (!rc)
        rc = ag_jsonw_open(out, "resource", '{');
    if (!rc)
        rc = ag_jsonw_open(out, "attributes", '[');
    if (!rc)
        rc = attr_str(out, S("service.name"),
                      service_name && service_name[0] ? service_name : "aigate");
    if (!rc)
        rc = attr_str(out, S("service.version"), AIGATE_VERSION);
    if (!rc)
        rc = attr_str(out, S("telemetry.sdk.language"), "c");
    if (!rc)
        rc = ag_jsonw_close(out, ']');
    if (!rc)
        rc = ag_jsonw_close(out, '}');
    if (!rc)
        rc = ag_jsonw_open(out, "scopeSpans", '[');
    if (!rc)
        rc = ag_jsonw_open(out, NULL, '{');
    if (!rc)
        rc = ag_jsonw_open(out, "scope", '{');
    if (!rc)
        rc = ag_jsonw_str(out, "name", "aigate");
    if (!rc)
        rc = ag_jsonw_str(out, "version", AIGATE_VERSION);
    if (!rc)
        rc = ag_jsonw_close(out, '}');
    if (!rc)
        rc = ag_jsonw_open(out, "spans", '[');
    return rc;
}

int ag_span_json_close(struct ag_buf *out)
{
    int rc = 0;
    static const char tail[] = "]}]}]}";
    for (size_t i = 0; !rc && i < sizeof(tail) - 1; i++)
        rc = ag_jsonw_close(out, tail[i]);
    return rc;
}
