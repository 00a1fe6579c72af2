/* admin/answer.c: how admin handlers answer: JSON answers built with core/jsonw.h (a body, an
 * error in the admin API's shape, an AG_E* turned into a status, {"ok":true}). */
#include "admin/admin_internal.h"

#include "core/err.h"
#include "http/server.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
    ag_jsonw_open(&b, NULL, '{');
    ag_jsonw_open(&b, "error", '{');
    ag_jsonw_str(&b, "message", msg.data ? msg.data : "");
    ag_jsonw_str(&b, "type", type);
    if (field)
        ag_jsonw_str(&b, "field", field);
    ag_jsonw_close(&b, '}');
    ag_jsonw_close(&b, '}');
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
