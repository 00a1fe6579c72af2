/* admin/request.c: how admin handlers read a request: the JSON body (depth-limited, in the
 * request's arena), query and path parameters, and typed members of a body, each answering 400 in
 * the admin API's shape when the input is wrong. */
#include "admin/admin_internal.h"

#include "config/config.h"
#include "core/err.h"
#include "core/url.h"
#include "http/server.h"
#include "proto/json.h"

#include <string.h>

/* ---- requests ---- */

yyjson_val *adm_body(struct ag_http_req *req, bool allow_empty)
{
    int rc = 0;
    struct ag_str text = ag_buf_str(&req->body);
    /* Every admin route's ud is its adm_route: the nesting limit comes from the running config. */
    size_t depth = ag_json_depth_limit(
        req->route ? (size_t)adm_of(req->route->ud)->cfg->server.max_json_depth : 0);
    if (text.len == 0 && allow_empty)
        text = AG_STR("{}");
    /* Parsed into the request's arena: released with the request. */
    yyjson_doc *d = text.len ? ag_json_read(&req->arena, text, depth, &rc) : NULL;
    yyjson_val *root = d ? yyjson_doc_get_root(d) : NULL;
    if (rc == AG_EDEPTH) {
        adm_error(req, 400, "invalid_request", "body", AG_JSON_DEPTH_MSG, depth);
        return NULL;
    }
    if (!root) {
        adm_error(req, 400, "invalid_request", "body", "the body must be a JSON object%s",
                  rc == AG_ETOOBIG ? " (too large)" : "");
        return NULL;
    }
    if (!yyjson_is_obj(root)) {
        adm_error(req, 400, "invalid_request", "body", "the body must be a JSON object");
        return NULL;
    }
    return root;
}

bool adm_query(const struct ag_http_req *req, const char *name, char *out, size_t cap)
{
    struct ag_str v = ag_http_req_query(req, name);
    if (!v.p)
        return false;
    ag_url_decode(v, out, cap); /* a value too long for out is cut, as before */
    return true;
}

bool adm_query_int(struct ag_http_req *req, const char *name, int64_t min, int64_t max,
                   int64_t *out)
{
    char v[32];
    if (!adm_query(req, name, v, sizeof(v)))
        return true;
    int64_t x;
    if (ag_str_to_i64(ag_str_c(v), min, max, &x)) {
        adm_error(req, 400, "invalid_request", name, "%s must be an integer from %lld to %lld",
                  name, (long long)min, (long long)max);
        return false;
    }
    *out = x;
    return true;
}

char *adm_param(struct ag_http_req *req, size_t i)
{
    struct ag_str p = req->params[i];
    char *s = ag_arena_alloc(&req->arena, p.len + 1);
    memcpy(s, p.p, p.len);
    s[p.len] = '\0';
    return s;
}

bool adm_get_str(struct ag_http_req *req, yyjson_val *obj, const char *key, bool required,
                 const char **out)
{
    yyjson_val *v = yyjson_obj_get(obj, key);
    if (!v || yyjson_is_null(v)) {
        if (!required)
            return true;
        adm_error(req, 400, "invalid_request", key, "\"%s\" is required", key);
        return false;
    }
    if (!yyjson_is_str(v)) {
        adm_error(req, 400, "invalid_request", key, "\"%s\" must be a string", key);
        return false;
    }
    *out = yyjson_get_str(v);
    return true;
}

bool adm_get_bool(struct ag_http_req *req, yyjson_val *obj, const char *key, bool required,
                  bool *out)
{
    yyjson_val *v = yyjson_obj_get(obj, key);
    if (!v) {
        if (!required)
            return true;
        adm_error(req, 400, "invalid_request", key, "\"%s\" is required", key);
        return false;
    }
    if (!yyjson_is_bool(v)) {
        adm_error(req, 400, "invalid_request", key, "\"%s\" must be true or false", key);
        return false;
    }
    *out = yyjson_get_bool(v);
    return true;
}
