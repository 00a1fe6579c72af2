/* http/router.c: a linear route table. Aigate has a few dozen routes; matching segment by segment
 * over a small array beats any tree at this size and keeps the order of precedence obvious: the
 * first pattern added that matches wins. */
#include "http/router.h"

#include "core/err.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

struct ag_router {
    struct ag_route *routes;
    size_t n, cap;
    const struct ag_errfmt *fallback;
};

struct ag_router *ag_router_new(void)
{
    struct ag_router *r = AG_NEW(struct ag_router);
    r->fallback = &ag_errfmt_plain;
    return r;
}

void ag_router_free(struct ag_router *r)
{
    if (!r)
        return;
    free(r->routes);
    free(r);
}

int ag_router_add(struct ag_router *r, const struct ag_route *route)
{
    if (!route->pattern || route->pattern[0] != '/' || !route->method || !route->handler)
        return AG_EINVAL;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 32;
        r->routes = ag_realloc(r->routes, r->cap * sizeof(*r->routes));
    }
    r->routes[r->n] = *route;
    if (!r->routes[r->n].errfmt)
        r->routes[r->n].errfmt = &ag_errfmt_plain;
    r->n++;
    return 0;
}

void ag_router_set_fallback(struct ag_router *r, const struct ag_errfmt *errfmt)
{
    r->fallback = errfmt;
}

/* Takes the next '/'-separated segment of *s (after the leading '/'); false at the end. */
static bool next_seg(struct ag_str *s, struct ag_str *seg)
{
    if (s->len == 0)
        return false;
    if (s->p[0] == '/') {
        s->p++;
        s->len--;
    }
    ptrdiff_t slash = ag_str_find(*s, '/');
    size_t n = slash < 0 ? s->len : (size_t)slash;
    *seg = ag_str_make(s->p, n);
    s->p += n;
    s->len -= n;
    return true;
}

static bool match_pattern(const char *pattern, struct ag_str path, struct ag_str *params,
                          size_t *np)
{
    /* next_seg leaves *seg untouched when it finds no segment: start both empty so every read
     * below sees a defined value (gcc -O3 cannot prove hp/hs guard them). */
    struct ag_str pat = ag_str_c(pattern), ps = AG_STR_NULL, ss = AG_STR_NULL;
    size_t n = 0;
    for (;;) {
        bool hp = next_seg(&pat, &ps);
        if (hp && ps.len == 1 && ps.p[0] == '*') {
            if (n < AG_HTTP_MAX_PARAMS)
                params[n++] =
                    path.len && path.p[0] == '/' ? ag_str_make(path.p + 1, path.len - 1) : path;
            *np = n;
            return true;
        }
        bool hs = next_seg(&path, &ss);
        if (!hp || !hs) {
            *np = n;
            return hp == hs;
        }
        if (ps.len && ps.p[0] == ':') {
            if (ss.len == 0)
                return false;
            if (n < AG_HTTP_MAX_PARAMS)
                params[n++] = ss;
        } else if (!ag_str_eq(ps, ss)) {
            return false;
        }
    }
}

enum ag_router_match ag_router_match(const struct ag_router *r, struct ag_str method,
                                     struct ag_str path, const struct ag_route **route,
                                     struct ag_str *params, size_t *nparams)
{
    const struct ag_route *path_hit = NULL;
    struct ag_str tmp[AG_HTTP_MAX_PARAMS];
    size_t nt = 0;
    *route = NULL;
    *nparams = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct ag_route *rt = &r->routes[i];
        if (!match_pattern(rt->pattern, path, tmp, &nt))
            continue;
        if (strcmp(rt->method, "*") == 0 || ag_str_eq_c(method, rt->method) ||
            (ag_str_eq_c(method, "HEAD") && strcmp(rt->method, "GET") == 0)) {
            *route = rt;
            memcpy(params, tmp, nt * sizeof(*tmp));
            *nparams = nt;
            return AG_ROUTER_FOUND;
        }
        if (!path_hit)
            path_hit = rt;
    }
    *route = path_hit;
    return path_hit ? AG_ROUTER_METHOD_NOT_ALLOWED : AG_ROUTER_NOT_FOUND;
}

bool ag_router_path_known(const struct ag_router *r, struct ag_str path)
{
    struct ag_str tmp[AG_HTTP_MAX_PARAMS];
    size_t nt;
    for (size_t i = 0; i < r->n; i++) {
        if (match_pattern(r->routes[i].pattern, path, tmp, &nt))
            return true;
    }
    return false;
}

const struct ag_errfmt *ag_router_errfmt_for_path(const struct ag_router *r, struct ag_str path)
{
    if (ag_str_has_prefix(path, "/v1beta/") || ag_str_eq_c(path, "/v1beta"))
        return &ag_errfmt_gemini;
    if (ag_str_has_prefix(path, "/v1/messages"))
        return &ag_errfmt_anthropic;
    if (ag_str_has_prefix(path, "/v1/"))
        return &ag_errfmt_openai;
    return r->fallback;
}

void ag_router_split_action(struct ag_str seg, struct ag_str *model, struct ag_str *action)
{
    for (size_t i = seg.len; i > 0; i--) {
        if (seg.p[i - 1] == ':') {
            *model = ag_str_make(seg.p, i - 1);
            *action = ag_str_make(seg.p + i, seg.len - i);
            return;
        }
    }
    *model = seg;
    *action = ag_str_make(seg.p + seg.len, 0);
}
