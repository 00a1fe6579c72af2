/* tests/mock/control.c: the control API under /__mock/ (JSON in, JSON out).
 *   GET    /__mock/requests[?path=SUBSTR]  requests received, oldest first:
 *                                          [{"method","target","headers":{lower-case name:
 * value},"body"}] DELETE /__mock/requests                forget them GET    /__mock/stats
 * {"connections","active_requests","requests_total",
 *                                           "streams_started","streams_active","streams_aborted"}
 *   GET    /__mock/faults                  the scripted faults with their hit counts
 *   POST   /__mock/faults                  add one fault (object) or several (array); answers ids
 *   DELETE /__mock/faults                  remove all faults
 *   GET    /__mock/accounts                the accounts
 *   POST   /__mock/accounts                upsert one account (object) or several (array)
 *   PUT    /__mock/accounts                replace all accounts with the array given
 *   GET    /__mock/config                  pacing settings
 *   POST   /__mock/config {"sse_events","sse_chunk_bytes","sse_delay_ms","accept_any_token",
 *                           "provider_extras"} POST
 * /__mock/reset                   faults and records cleared, settings back to the start values
 * Fault object: {"status":429|401|403|404|500|503|529|..., "disconnect_after_events":N,
 * "malformed_after_events":N, "delay_ms":N (slow first byte), "token", "model", "path" (matchers),
 * "count":N (next N matching requests, default 1) or "permanent":true, "retry_delay":"1.5s",
 * "quota_reset_delay":"2h1m1s", "reason":"QUOTA_EXHAUSTED", "retry_after":30,
 * "validation_url":"https://...", "body":"<raw error body>", "nest_depth":N (a 200 answer whose
 * call arguments nest N arrays deep)}. */
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/json_depth.h"
#include "core/jsonw.h"
#include "http/router.h"
#include "mock.h"

static void respond_doc(struct ag_http_req *req, int status, yyjson_mut_doc *doc)
{
    size_t len;
    char *json = yyjson_mut_write(doc, 0, &len);
    ag_http_respond_json(req, status, json, len);
    free(json);
    yyjson_mut_doc_free(doc);
}

static void respond_msg(struct ag_http_req *req, int status, const char *msg)
{
    struct ag_buf b;
    ag_buf_init(&b, 0);
    ag_buf_append_c(&b, "{\"error\":{\"message\":");
    ag_jsonw_quote(&b, msg, strlen(msg));
    ag_buf_append_c(&b, "}}");
    ag_http_respond_json(req, status, b.data, b.len);
    ag_buf_dispose(&b);
}

static yyjson_doc *read_body(struct ag_http_req *req)
{
    if (!req->body.len)
        return NULL;
    return ag_json_depth_read(req->body.data, req->body.len, AG_JSON_DEPTH_INTERNAL, NULL, NULL,
                              NULL);
}

/* ---- requests ---- */

static void get_requests(struct ag_http_req *req, void *ud)
{
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *arr = yyjson_mut_arr(doc);
    struct ag_str filter = ag_http_req_query(req, "path");
    size_t start = (g_mock.record_head + MOCK_MAX_RECORDS - g_mock.nrecords) % MOCK_MAX_RECORDS;
    (void)ud;

    for (size_t i = 0; i < g_mock.nrecords; i++) {
        struct mock_record *r = &g_mock.records[(start + i) % MOCK_MAX_RECORDS];
        yyjson_mut_val *o;
        yyjson_doc *h;
        if (filter.p && filter.len) {
            char f[256];
            size_t n = filter.len < sizeof(f) - 1 ? filter.len : sizeof(f) - 1;
            memcpy(f, filter.p, n);
            f[n] = '\0';
            if (!strstr(r->target, f))
                continue;
        }
        o = yyjson_mut_arr_add_obj(doc, arr);
        yyjson_mut_obj_add_strcpy(doc, o, "method", r->method);
        yyjson_mut_obj_add_strcpy(doc, o, "target", r->target);
        h = ag_json_depth_read(r->headers_json, strlen(r->headers_json), AG_JSON_DEPTH_INTERNAL,
                               NULL, NULL, NULL);
        yyjson_mut_obj_add_val(doc, o, "headers", yyjson_val_mut_copy(doc, yyjson_doc_get_root(h)));
        yyjson_doc_free(h);
        yyjson_mut_obj_add_strcpy(doc, o, "body", r->body);
    }
    yyjson_mut_doc_set_root(doc, arr);
    respond_doc(req, 200, doc);
}

static void delete_requests(struct ag_http_req *req, void *ud)
{
    (void)ud;
    mock_records_clear();
    ag_http_respond_json(req, 200, "{\"ok\":true}", 11);
}

static void get_stats(struct ag_http_req *req, void *ud)
{
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(doc);
    (void)ud;
    /* The control connection itself is one of the open connections. */
    yyjson_mut_obj_add_uint(doc, o, "connections", ag_http_server_connections(g_mock.server));
    yyjson_mut_obj_add_uint(doc, o, "active_requests",
                            ag_http_server_active_requests(g_mock.server));
    yyjson_mut_obj_add_uint(doc, o, "requests_total", g_mock.requests_total);
    yyjson_mut_obj_add_uint(doc, o, "streams_started", g_mock.streams_started);
    yyjson_mut_obj_add_uint(doc, o, "streams_active", g_mock.streams_active);
    yyjson_mut_obj_add_uint(doc, o, "streams_aborted", g_mock.streams_aborted);
    yyjson_mut_doc_set_root(doc, o);
    respond_doc(req, 200, doc);
}

/* ---- faults ---- */

static void copy_str(char *dst, size_t cap, yyjson_val *v)
{
    if (yyjson_is_str(v))
        ag_strlcpy(dst, yyjson_get_str(v), cap);
}

static int int_of(yyjson_val *o, const char *key, int dflt)
{
    yyjson_val *v = yyjson_obj_get(o, key);
    return yyjson_is_num(v) ? (int)yyjson_get_num(v) : dflt;
}

static int add_fault(yyjson_val *o)
{
    struct mock_fault *f;

    if (!yyjson_is_obj(o))
        return AG_EINVAL;
    if (g_mock.nfaults >= MOCK_MAX_FAULTS)
        return AG_ETOOBIG;
    f = &g_mock.faults[g_mock.nfaults];
    memset(f, 0, sizeof(*f));
    f->status = int_of(o, "status", 0);
    f->after_events = -1;
    if (yyjson_obj_get(o, "disconnect_after_events")) {
        f->kind = FAULT_DISCONNECT;
        f->after_events = int_of(o, "disconnect_after_events", 0);
    } else if (yyjson_obj_get(o, "malformed_after_events")) {
        f->kind = FAULT_MALFORMED;
        f->after_events = int_of(o, "malformed_after_events", 0);
    } else if (yyjson_obj_get(o, "nest_depth")) {
        f->kind = FAULT_DEEP;
        f->nest_depth = int_of(o, "nest_depth", 0);
        if (f->nest_depth < 1 || f->nest_depth > 8 * 1024 * 1024)
            return AG_EINVAL;
    } else if (f->status) {
        f->kind = FAULT_STATUS;
    } else {
        f->kind = FAULT_SLOW;
    }
    f->delay_ms = (uint32_t)int_of(o, "delay_ms", 0);
    if (f->kind == FAULT_SLOW && !f->delay_ms)
        return AG_EINVAL;
    if (f->kind == FAULT_STATUS && (f->status < 100 || f->status > 599))
        return AG_EINVAL;
    copy_str(f->token, sizeof(f->token), yyjson_obj_get(o, "token"));
    copy_str(f->model, sizeof(f->model), yyjson_obj_get(o, "model"));
    copy_str(f->path, sizeof(f->path), yyjson_obj_get(o, "path"));
    copy_str(f->body, sizeof(f->body), yyjson_obj_get(o, "body"));
    copy_str(f->retry_delay, sizeof(f->retry_delay), yyjson_obj_get(o, "retry_delay"));
    copy_str(f->quota_reset, sizeof(f->quota_reset), yyjson_obj_get(o, "quota_reset_delay"));
    copy_str(f->reason, sizeof(f->reason), yyjson_obj_get(o, "reason"));
    copy_str(f->validation_url, sizeof(f->validation_url), yyjson_obj_get(o, "validation_url"));
    f->retry_after = int_of(o, "retry_after", -1);
    f->remaining = yyjson_get_bool(yyjson_obj_get(o, "permanent")) ? -1 : int_of(o, "count", 1);
    if (f->remaining == 0)
        return AG_EINVAL;
    f->id = g_mock.next_fault_id++;
    g_mock.nfaults++;
    return f->id;
}

static void post_faults(struct ag_http_req *req, void *ud)
{
    yyjson_doc *doc = read_body(req);
    yyjson_val *root = doc ? yyjson_doc_get_root(doc) : NULL, *v;
    yyjson_mut_doc *out = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *ids = yyjson_mut_arr(out), *o = yyjson_mut_obj(out);
    size_t idx, max;
    int bad = 0;
    (void)ud;

    if (yyjson_is_obj(root)) {
        int id = add_fault(root);
        if (id < 0)
            bad = id;
        else
            yyjson_mut_arr_add_int(out, ids, id);
    } else if (yyjson_is_arr(root)) {
        yyjson_arr_foreach(root, idx, max, v)
        {
            int id = add_fault(v);
            if (id < 0)
                bad = id;
            else
                yyjson_mut_arr_add_int(out, ids, id);
        }
    } else {
        bad = AG_EINVAL;
    }
    yyjson_doc_free(doc);
    if (bad) {
        yyjson_mut_doc_free(out);
        respond_msg(req, 400,
                    "bad fault: expected status 100..599, delay_ms, "
                    "disconnect_after_events or malformed_after_events; count >= 1");
        return;
    }
    yyjson_mut_obj_add_val(out, o, "ids", ids);
    yyjson_mut_doc_set_root(out, o);
    respond_doc(req, 200, out);
}

static void get_faults(struct ag_http_req *req, void *ud)
{
    static const char *const kinds[] = {"status", "disconnect", "malformed", "slow"};
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *arr = yyjson_mut_arr(doc);
    (void)ud;
    for (size_t i = 0; i < g_mock.nfaults; i++) {
        const struct mock_fault *f = &g_mock.faults[i];
        yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, arr);
        yyjson_mut_obj_add_int(doc, o, "id", f->id);
        yyjson_mut_obj_add_str(doc, o, "kind", kinds[f->kind]);
        yyjson_mut_obj_add_int(doc, o, "status", f->status);
        yyjson_mut_obj_add_strcpy(doc, o, "token", f->token);
        yyjson_mut_obj_add_strcpy(doc, o, "model", f->model);
        yyjson_mut_obj_add_strcpy(doc, o, "path", f->path);
        yyjson_mut_obj_add_int(doc, o, "remaining", f->remaining);
        yyjson_mut_obj_add_int(doc, o, "hits", f->hits);
    }
    yyjson_mut_doc_set_root(doc, arr);
    respond_doc(req, 200, doc);
}

static void delete_faults(struct ag_http_req *req, void *ud)
{
    (void)ud;
    g_mock.nfaults = 0;
    ag_http_respond_json(req, 200, "{\"ok\":true}", 11);
}

/* ---- accounts ---- */

static void get_accounts(struct ag_http_req *req, void *ud)
{
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *arr = yyjson_mut_arr(doc);
    (void)ud;
    for (size_t i = 0; i < g_mock.naccounts; i++) {
        const struct mock_account *a = &g_mock.accounts[i];
        yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, arr), *q = yyjson_mut_obj(doc);
        yyjson_mut_obj_add_strcpy(doc, o, "email", a->email);
        yyjson_mut_obj_add_strcpy(doc, o, "refresh_token", a->refresh_token);
        yyjson_mut_obj_add_strcpy(doc, o, "access_token", a->access_token);
        yyjson_mut_obj_add_strcpy(doc, o, "code", a->code);
        yyjson_mut_obj_add_strcpy(doc, o, "project", a->project);
        yyjson_mut_obj_add_strcpy(doc, o, "tier", a->tier);
        yyjson_mut_obj_add_bool(doc, o, "revoked", a->revoked);
        for (size_t k = 0; k < a->nquotas; k++) {
            yyjson_mut_val *m = yyjson_mut_obj_add_obj(doc, q, a->quotas[k].model);
            yyjson_mut_obj_add_real(doc, m, "remainingFraction", a->quotas[k].remaining);
            yyjson_mut_obj_add_strcpy(doc, m, "resetTime", a->quotas[k].reset_time);
        }
        yyjson_mut_obj_add_val(doc, o, "quotas", q);
    }
    yyjson_mut_doc_set_root(doc, arr);
    respond_doc(req, 200, doc);
}

static void post_accounts(struct ag_http_req *req, void *ud)
{
    yyjson_doc *doc = read_body(req);
    yyjson_val *root = doc ? yyjson_doc_get_root(doc) : NULL, *v;
    size_t idx, max;
    int rc = 0;
    bool replace = (uintptr_t)ud == 1;

    if (replace && !yyjson_is_arr(root))
        rc = AG_EINVAL;
    if (!rc && replace)
        g_mock.naccounts = 0;
    if (!rc && yyjson_is_obj(root)) {
        rc = mock_account_upsert_json(root);
    } else if (!rc && yyjson_is_arr(root)) {
        yyjson_arr_foreach(root, idx, max, v)
        {
            if (mock_account_upsert_json(v) < 0)
                rc = AG_EINVAL;
        }
    } else if (!rc) {
        rc = AG_EINVAL;
    }
    yyjson_doc_free(doc);
    if (rc < 0)
        respond_msg(req, 400, "expected an account object (with email) or an array of them");
    else
        get_accounts(req, NULL);
}

/* ---- settings ---- */

static void get_config(struct ag_http_req *req, void *ud)
{
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(doc);
    (void)ud;
    yyjson_mut_obj_add_int(doc, o, "sse_events", g_mock.settings.sse_events);
    yyjson_mut_obj_add_int(doc, o, "sse_chunk_bytes", g_mock.settings.sse_chunk_bytes);
    yyjson_mut_obj_add_uint(doc, o, "sse_delay_ms", g_mock.settings.sse_delay_ms);
    yyjson_mut_obj_add_bool(doc, o, "accept_any_token", g_mock.settings.accept_any_token);
    yyjson_mut_obj_add_bool(doc, o, "provider_extras", g_mock.settings.provider_extras);
    yyjson_mut_doc_set_root(doc, o);
    respond_doc(req, 200, doc);
}

static void post_config(struct ag_http_req *req, void *ud)
{
    yyjson_doc *doc = read_body(req);
    yyjson_val *root = doc ? yyjson_doc_get_root(doc) : NULL, *v;
    struct mock_settings *s = &g_mock.settings;

    if (!yyjson_is_obj(root)) {
        yyjson_doc_free(doc);
        respond_msg(req, 400, "expected a JSON object");
        return;
    }
    s->sse_events = int_of(root, "sse_events", s->sse_events);
    s->sse_chunk_bytes = int_of(root, "sse_chunk_bytes", s->sse_chunk_bytes);
    s->sse_delay_ms = (uint32_t)int_of(root, "sse_delay_ms", (int)s->sse_delay_ms);
    v = yyjson_obj_get(root, "accept_any_token");
    if (yyjson_is_bool(v))
        s->accept_any_token = yyjson_get_bool(v);
    v = yyjson_obj_get(root, "provider_extras");
    if (yyjson_is_bool(v))
        s->provider_extras = yyjson_get_bool(v);
    if (s->sse_events < 0 || s->sse_events > 100000)
        s->sse_events = 0;
    if (s->sse_chunk_bytes <= 0)
        s->sse_chunk_bytes = 16;
    yyjson_doc_free(doc);
    get_config(req, ud);
}

static void post_reset(struct ag_http_req *req, void *ud)
{
    (void)ud;
    g_mock.nfaults = 0;
    mock_records_clear();
    g_mock.settings = g_mock.initial_settings;
    ag_http_respond_json(req, 200, "{\"ok\":true}", 11);
}

void mock_register_control(struct ag_router *r)
{
    static const struct {
        const char *method, *pattern;
        ag_http_handler h;
        uintptr_t ud;
    } routes[] = {
        {"GET", "/__mock/requests", get_requests, 0},
        {"DELETE", "/__mock/requests", delete_requests, 0},
        {"GET", "/__mock/stats", get_stats, 0},
        {"GET", "/__mock/faults", get_faults, 0},
        {"POST", "/__mock/faults", post_faults, 0},
        {"DELETE", "/__mock/faults", delete_faults, 0},
        {"GET", "/__mock/accounts", get_accounts, 0},
        {"POST", "/__mock/accounts", post_accounts, 0},
        {"PUT", "/__mock/accounts", post_accounts, 1},
        {"GET", "/__mock/config", get_config, 0},
        {"POST", "/__mock/config", post_config, 0},
        {"POST", "/__mock/reset", post_reset, 0},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        struct ag_route rt = {
            .method = routes[i].method,
            .pattern = routes[i].pattern,
            .handler = routes[i].h,
            .ud = (void *)routes[i].ud,
            .access = AG_ACCESS_PUBLIC,
            .errfmt = &ag_errfmt_plain,
        };
        ag_router_add(r, &rt);
    }
}
