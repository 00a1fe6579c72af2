/* admin/answer.c: how admin handlers answer: a small JSON writer into a buffer (jw_*) and the
 * JSON answers built with it (a body, an error in the admin API's shape, an AG_E* turned into a
 * status, {"ok":true}). */
#include "admin/admin_internal.h"

#include "core/err.h"
#include "http/server.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- JSON writing ---- */

void jw_sep(struct ag_buf *b)
{
    if (b->len && !strchr("{[:", b->data[b->len - 1]))
        ag_buf_append(b, ",", 1);
}

void jw_key(struct ag_buf *b, const char *k)
{
    jw_sep(b);
    if (k) {
        ag_json_quote(b, k, strlen(k));
        ag_buf_append(b, ":", 1);
    }
}

void jw_str(struct ag_buf *b, const char *k, const char *v)
{
    jw_key(b, k);
    if (v)
        ag_json_quote(b, v, strlen(v));
    else
        ag_buf_append_c(b, "null");
}

void jw_strn(struct ag_buf *b, const char *k, struct ag_str v)
{
    jw_key(b, k);
    if (v.p)
        ag_json_quote(b, v.p, v.len);
    else
        ag_buf_append_c(b, "null");
}

void jw_int(struct ag_buf *b, const char *k, int64_t v)
{
    jw_key(b, k);
    ag_buf_printf(b, "%lld", (long long)v);
}

void jw_num(struct ag_buf *b, const char *k, double v)
{
    jw_key(b, k);
    ag_buf_printf(b, "%.6g", v);
}

void jw_bool(struct ag_buf *b, const char *k, bool v)
{
    jw_key(b, k);
    ag_buf_append_c(b, v ? "true" : "false");
}

void jw_raw(struct ag_buf *b, const char *k, const char *json)
{
    jw_key(b, k);
    ag_buf_append_c(b, json ? json : "null");
}

void jw_open(struct ag_buf *b, const char *k, char c)
{
    jw_key(b, k);
    ag_buf_append(b, &c, 1);
}

void jw_close(struct ag_buf *b, char c)
{
    ag_buf_append(b, &c, 1);
}

/* ---- answers ---- */

void adm_json(struct ag_http_req *req, int status, const struct ag_buf *b)
{
    ag_http_add_header(req, "Cache-Control", AG_STR("no-store"));
    ag_http_respond_json(req, status, b->data ? b->data : "{}", b->data ? b->len : 2);
}

void adm_error(struct ag_http_req *req, int status, const char *type, const char *field,
               const char *fmt, ...)
{
    struct ag_buf msg, b;
    va_list ap;
    ag_buf_init(&msg, 4096);
    ag_buf_init(&b, 8192);
    va_start(ap, fmt);
    ag_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    jw_open(&b, NULL, '{');
    jw_open(&b, "error", '{');
    jw_str(&b, "message", msg.data ? msg.data : "");
    jw_str(&b, "type", type);
    if (field)
        jw_str(&b, "field", field);
    jw_close(&b, '}');
    jw_close(&b, '}');
    adm_json(req, status, &b);
    ag_buf_dispose(&msg);
    ag_buf_dispose(&b);
}

void adm_error_rc(struct ag_http_req *req, int rc, const char *msg)
{
    const char *m = msg && msg[0] ? msg : ag_strerror(rc);
    switch (rc) {
    case AG_ENOTFOUND:
        adm_error(req, 404, "not_found", NULL, "%s", m);
        break;
    case AG_EINVAL:
    case AG_EPARSE:
        adm_error(req, 400, "invalid_request", NULL, "%s", m);
        break;
    case AG_EEXIST:
    case AG_ESTATE:
        adm_error(req, 409, "conflict", NULL, "%s", m);
        break;
    case AG_EAUTH:
        adm_error(req, 422, "upstream_refused", NULL, "%s", m);
        break;
    case AG_EUPSTREAM:
    case AG_ETIMEDOUT:
    case AG_EIO:
        adm_error(req, 502, "upstream_error", NULL, "%s", m);
        break;
    default:
        adm_error(req, 500, "server_error", NULL, "%s", m);
    }
}

void adm_ok(struct ag_http_req *req)
{
    static const char ok[] = "{\"ok\":true}";
    ag_http_respond_json(req, 200, ok, sizeof(ok) - 1);
}
