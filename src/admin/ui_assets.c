/* admin/ui_assets.c: serves the embedded web UI: lookup by path, content negotiation between the
 * brotli, gzip and raw copies, cache headers (hashed assets immutable for a year, index.html
 * revalidated on every load through its ETag), 304 for a matching If-None-Match, a few security
 * headers, and the 503 page of a binary built without the UI. */
#include "admin/ui_assets.h"

#include "core/err.h"
#include "http/errfmt.h"
#include "http/router.h"
#include "http/server.h"

#include <string.h>

/* The UI talks only to its own origin; uPlot and Preact set inline styles, nothing else is
 * inline. */
#define UI_CSP                                                                                     \
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' "     \
    "data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "      \
    "form-action 'self'"

static const char missing_page_head[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>aigate: web UI not "
    "built</title><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em;"
    "color:#16181d}code{background:#eef0f3;padding:1px 4px;border-radius:4px}</style></head><body>"
    "<h1>The web UI is not built into this aigate</h1><p>";
static const char missing_page_tail[] =
    "</p><p>Install Node.js 20+ and npm (<code>sh scripts/deps.sh</code> does) and run "
    "<code>make</code> again: the build runs <code>npm ci</code> and <code>npm run build</code> in "
    "<code>web/</code> and embeds the result. The gateway and its admin API under "
    "<code>/api/</code> work without it.</p></body></html>";

const struct ag_ui_asset *ag_ui_assets_find(struct ag_str path)
{
    for (size_t i = 0; i < ag_ui_asset_count; i++) {
        if (ag_str_eq_c(path, ag_ui_asset_table[i].path))
            return &ag_ui_asset_table[i];
    }
    return NULL;
}

bool ag_ui_assets_present(void)
{
    return ag_ui_assets_find(AG_STR("/index.html")) != NULL;
}

/* Whether the Accept-Encoding list accepts coding: its own token (or "*") without q=0. */
static bool accepts(struct ag_str list, const char *coding)
{
    bool star = false, named = false, star_ok = false, named_ok = false;
    size_t i = 0;
    while (i < list.len) {
        size_t j = i;
        while (j < list.len && list.p[j] != ',')
            j++;
        struct ag_str item = ag_str_trim(ag_str_make(list.p + i, j - i));
        ptrdiff_t semi = ag_str_find(item, ';');
        struct ag_str tok = ag_str_trim(semi < 0 ? item : ag_str_make(item.p, (size_t)semi));
        bool ok = true;
        if (semi >= 0) {
            struct ag_str params = ag_str_make(item.p + semi + 1, item.len - (size_t)semi - 1);
            params = ag_str_trim(params);
            /* q=0, q=0.0, q=0.00...: refused. */
            if (params.len >= 3 && (params.p[0] == 'q' || params.p[0] == 'Q') &&
                params.p[1] == '=') {
                ok = false;
                for (size_t k = 2; k < params.len; k++) {
                    if (params.p[k] != '0' && params.p[k] != '.') {
                        ok = params.p[k] >= '1' && params.p[k] <= '9';
                        break;
                    }
                }
            }
        }
        if (ag_str_eq_ci(tok, ag_str_c(coding))) {
            named = true;
            named_ok = ok;
        } else if (ag_str_eq_c(tok, "*")) {
            star = true;
            star_ok = ok;
        }
        i = j + 1;
    }
    return named ? named_ok : (star && star_ok);
}

char ag_ui_assets_pick_encoding(struct ag_str accept_encoding, bool have_br, bool have_gz)
{
    if (!accept_encoding.p || !accept_encoding.len)
        return 0;
    if (have_br && accepts(accept_encoding, "br"))
        return 'b';
    if (have_gz && (accepts(accept_encoding, "gzip") || accepts(accept_encoding, "x-gzip")))
        return 'g';
    return 0;
}

static void security_headers(struct ag_http_req *req)
{
    ag_http_add_header(req, "X-Content-Type-Options", AG_STR("nosniff"));
    ag_http_add_header(req, "Referrer-Policy", AG_STR("no-referrer"));
    ag_http_add_header(req, "X-Frame-Options", AG_STR("DENY"));
}

static void send_missing(struct ag_http_req *req)
{
    struct ag_buf b;
    ag_buf_init(&b, 8192);
    ag_buf_append(&b, missing_page_head, sizeof(missing_page_head) - 1);
    ag_buf_append_c(&b, ag_ui_missing_reason[0] ? ag_ui_missing_reason
                                                : "This binary was built without the web UI.");
    ag_buf_append(&b, missing_page_tail, sizeof(missing_page_tail) - 1);
    security_headers(req);
    ag_http_add_header(req, "Cache-Control", AG_STR("no-store"));
    ag_http_add_header(req, "Retry-After", AG_STR("3600"));
    ag_http_respond(req, 503, "text/html; charset=utf-8", b.data, b.len);
    ag_buf_dispose(&b);
}

/* True if the request's If-None-Match lists etag (or is "*"). */
static bool not_modified(const struct ag_http_req *req, const char *etag)
{
    struct ag_str inm = ag_http_req_header(req, "If-None-Match");
    if (!inm.p)
        return false;
    return ag_str_find(inm, '*') >= 0 || ag_str_contains(inm, etag);
}

static void send_asset(struct ag_http_req *req, const struct ag_ui_asset *a)
{
    security_headers(req);
    if (strncmp(a->content_type, "text/html", 9) == 0)
        ag_http_add_header(req, "Content-Security-Policy", AG_STR(UI_CSP));
    ag_http_add_header(req, "Cache-Control",
                       a->immutable ? AG_STR("public, max-age=31536000, immutable")
                                    : AG_STR("no-cache"));
    ag_http_add_header(req, "ETag", ag_str_c(a->etag));
    ag_http_add_header(req, "Vary", AG_STR("Accept-Encoding"));
    if (not_modified(req, a->etag)) {
        ag_http_respond(req, 304, NULL, NULL, 0);
        return;
    }
    char enc = ag_ui_assets_pick_encoding(ag_http_req_header(req, "Accept-Encoding"), a->br != NULL,
                                          a->gz != NULL);
    const unsigned char *body = a->raw;
    size_t len = a->raw_len;
    if (enc == 'b') {
        ag_http_add_header(req, "Content-Encoding", AG_STR("br"));
        body = a->br;
        len = a->br_len;
    } else if (enc == 'g') {
        ag_http_add_header(req, "Content-Encoding", AG_STR("gzip"));
        body = a->gz;
        len = a->gz_len;
    }
    ag_http_respond(req, 200, a->content_type, body, len);
}

static void h_index(struct ag_http_req *req, void *ud)
{
    const struct ag_ui_asset *a = ag_ui_assets_find(AG_STR("/index.html"));
    if (!a) {
        send_missing(req);
        return;
    }
    send_asset(req, a);
}

static void h_file(struct ag_http_req *req, void *ud)
{
    const struct ag_ui_asset *a = ag_ui_assets_find(req->path);
    if (a) {
        send_asset(req, a);
        return;
    }
    if (!ag_ui_assets_present()) {
        send_missing(req);
        return;
    }
    static const char msg[] = "no such file in the web UI\n";
    ag_http_add_header(req, "Cache-Control", AG_STR("no-store"));
    ag_http_respond(req, 404, "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
}

static int add(struct ag_router *router, const char *pattern, ag_http_handler h)
{
    struct ag_route r = {"GET", pattern, h, NULL, AG_ACCESS_PUBLIC, &ag_errfmt_plain};
    return ag_router_add(router, &r);
}

int ag_ui_assets_add_routes(struct ag_router *router)
{
    int rc = add(router, "/", h_index);
    for (size_t i = 0; !rc && ag_ui_page_paths[i]; i++)
        rc = add(router, ag_ui_page_paths[i], h_index);
    if (!rc)
        rc = add(router, "/assets/*", h_file);
    /* Top-level files of the build (index.html, favicon.svg, ...), each by its own path. */
    for (size_t i = 0; !rc && i < ag_ui_asset_count; i++) {
        const char *p = ag_ui_asset_table[i].path;
        if (strchr(p + 1, '/') == NULL)
            rc = add(router, p, h_file);
    }
    return rc;
}
