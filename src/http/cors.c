/* http/cors.c: CORS response headers (see cors.h). */
#include "http/cors.h"

#include "core/mem.h"
#include "core/str.h"
#include "http/server.h"

#include <stdlib.h>
#include <string.h>

struct ag_cors *ag_cors_new(const char *const *origins, size_t n)
{
    struct ag_cors *c = AG_NEW(struct ag_cors);
    c->origins = ag_calloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        c->origins[i] = ag_strdup(origins[i]);
        if (strcmp(origins[i], "*") == 0)
            c->any = true;
    }
    c->n = n;
    return c;
}

void ag_cors_free(struct ag_cors *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->origins[i]);
    free(c->origins);
    free(c);
}

bool ag_cors_allows(const struct ag_cors *c, const char *origin, size_t len)
{
    if (c->any)
        return true;
    for (size_t i = 0; i < c->n; i++) {
        if (strlen(c->origins[i]) == len && memcmp(c->origins[i], origin, len) == 0)
            return true;
    }
    return false;
}

int ag_cors_append_headers(const struct ag_cors *c, const struct ag_http_req *req,
                           struct ag_buf *out)
{
    struct ag_str origin = ag_http_req_header(req, "origin");
    int rc;
    if (!origin.p || !ag_cors_allows(c, origin.p, origin.len))
        return 0;
    for (size_t i = 0; i < origin.len; i++) {
        if (origin.p[i] == '\r' || origin.p[i] == '\n')
            return 0;
    }
    if (c->any) {
        rc = ag_buf_append_c(out, "Access-Control-Allow-Origin: *\r\n");
    } else {
        rc = ag_buf_printf(out, "Access-Control-Allow-Origin: %.*s\r\nVary: Origin\r\n",
                           (int)origin.len, origin.p);
    }
    if (rc)
        return rc;
    if (!ag_str_eq_c(req->method, "OPTIONS"))
        return ag_buf_append_c(out, "Access-Control-Expose-Headers: x-request-id, x-aigate-model, "
                                    "x-aigate-attempts, retry-after, "
                                    "x-aigate-account\r\n");
    struct ag_str want = ag_http_req_header(req, "access-control-request-headers");
    bool safe = want.p != NULL;
    for (size_t i = 0; safe && i < want.len; i++) {
        if (want.p[i] == '\r' || want.p[i] == '\n')
            safe = false;
    }
    rc = ag_buf_append_c(out, "Access-Control-Allow-Methods: GET, POST, PUT, PATCH, DELETE, HEAD, "
                              "OPTIONS\r\nAccess-Control-Max-Age: 3600\r\n");
    if (!rc)
        rc = safe ? ag_buf_printf(out, "Access-Control-Allow-Headers: %.*s\r\n", (int)want.len,
                                  want.p)
                  : ag_buf_append_c(out, "Access-Control-Allow-Headers: *\r\n");
    return rc;
}
