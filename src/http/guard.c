/* http/guard.c: Host, Origin and Content-Type rules and the failed-authentication limiter (see
 * guard.h). */
#include "http/guard.h"

#include "core/mem.h"
#include "core/str.h"
#include "http/cors.h"
#include "http/server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- Host */

struct ag_host_policy *ag_host_policy_new(bool loopback_only, const char *const *names, size_t n)
{
    struct ag_host_policy *p = AG_NEW(struct ag_host_policy);
    p->any = !loopback_only && n == 0;
    p->names = ag_calloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        p->names[i] = ag_strdup(names[i]);
        for (char *s = p->names[i]; *s; s++)
            *s = (char)tolower((unsigned char)*s);
    }
    p->nnames = n;
    return p;
}

void ag_host_policy_free(struct ag_host_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nnames; i++)
        free(p->names[i]);
    free(p->names);
    free(p);
}

/* The name part of a Host value: "[::1]:8045" -> "[::1]", "a.b:80" -> "a.b"; p NULL when
 * malformed (an unbracketed name with several colons, an empty name). A trailing dot goes. */
static struct ag_str host_name(struct ag_str host)
{
    struct ag_str name = host;
    if (host.len && host.p[0] == '[') {
        ptrdiff_t e = ag_str_find(host, ']');
        if (e < 0)
            return AG_STR_NULL;
        name = ag_str_make(host.p, (size_t)e + 1);
        if ((size_t)e + 1 < host.len && host.p[e + 1] != ':')
            return AG_STR_NULL;
    } else {
        ptrdiff_t c = ag_str_find(host, ':');
        if (c >= 0) {
            name = ag_str_make(host.p, (size_t)c);
            if (ag_str_find(ag_str_make(host.p + c + 1, host.len - (size_t)c - 1), ':') >= 0)
                return AG_STR_NULL;
        }
    }
    if (name.len && name.p[name.len - 1] == '.')
        name.len--;
    return name.len ? name : AG_STR_NULL;
}

static bool is_loopback_name(struct ag_str name)
{
    char tmp[64];
    if (ag_str_eq_ci(name, AG_STR("localhost")) || ag_str_has_suffix_ci(name, ".localhost"))
        return true;
    if (name.len >= sizeof(tmp))
        return false;
    if (name.p[0] == '[') {
        struct in6_addr a6;
        memcpy(tmp, name.p + 1, name.len - 2);
        tmp[name.len - 2] = '\0';
        return inet_pton(AF_INET6, tmp, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    struct in_addr a4;
    memcpy(tmp, name.p, name.len);
    tmp[name.len] = '\0';
    return inet_pton(AF_INET, tmp, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

bool ag_host_allowed(const struct ag_host_policy *p, struct ag_str host)
{
    if (!host.p || !p || p->any)
        return true;
    struct ag_str name = host_name(ag_str_trim(host));
    if (!name.p)
        return false;
    if (is_loopback_name(name))
        return true;
    for (size_t i = 0; i < p->nnames; i++) {
        if (ag_str_eq_ci(name, ag_str_c(p->names[i])))
            return true;
    }
    return false;
}

/* ---------------------------------------------------------------- Origin */

enum ag_origin_kind ag_origin_classify(const struct ag_http_req *req)
{
    struct ag_str origin = ag_http_req_header(req, "origin");
    if (origin.p) {
        struct ag_str host = ag_http_req_header(req, "host");
        origin = ag_str_trim(origin);
        /* "scheme://authority": the gateway serves plain HTTP, so only http:// can be its own. */
        if (!host.p || !ag_str_has_prefix_ci(origin, "http://"))
            return AG_ORIGIN_FOREIGN;
        struct ag_str auth = ag_str_make(origin.p + 7, origin.len - 7);
        return ag_str_eq_ci(auth, ag_str_trim(host)) ? AG_ORIGIN_SAME : AG_ORIGIN_FOREIGN;
    }
    struct ag_str site = ag_http_req_header(req, "sec-fetch-site");
    if (!site.p)
        return AG_ORIGIN_NONE;
    site = ag_str_trim(site);
    if (ag_str_eq_ci(site, AG_STR("same-origin")))
        return AG_ORIGIN_SAME;
    if (ag_str_eq_ci(site, AG_STR("none")))
        return AG_ORIGIN_NONE; /* typed into the address bar or opened from a bookmark */
    return AG_ORIGIN_FOREIGN;  /* cross-site, same-site (another port), anything new */
}

bool ag_origin_allowed(const struct ag_cors *cors, const struct ag_http_req *req, bool key_required)
{
    if (!cors)
        return false;
    struct ag_str origin = ag_http_req_header(req, "origin");
    if (origin.p) {
        origin = ag_str_trim(origin);
        for (size_t i = 0; i < cors->n; i++) {
            if (strcmp(cors->origins[i], "*") != 0 &&
                ag_str_eq_ci(origin, ag_str_c(cors->origins[i])))
                return true;
        }
    }
    return cors->any && key_required;
}

/* ---------------------------------------------------------------- Content-Type */

enum ag_ctype_verdict ag_ctype_check(const struct ag_http_req *req, bool multipart, bool browser)
{
    struct ag_str ct = ag_http_req_header(req, "content-type");
    if (!ct.p)
        return browser ? AG_CTYPE_REFUSED : AG_CTYPE_OK;
    ptrdiff_t semi = ag_str_find(ct, ';');
    struct ag_str media = ag_str_trim(semi < 0 ? ct : ag_str_make(ct.p, (size_t)semi));
    if (ag_str_eq_ci(media, AG_STR("application/json")) || ag_str_has_suffix_ci(media, "+json"))
        return AG_CTYPE_OK;
    if (multipart && ag_str_eq_ci(media, AG_STR("multipart/form-data")))
        return AG_CTYPE_OK;
    if (!browser && ag_str_eq_ci(media, AG_STR("application/x-www-form-urlencoded")))
        return AG_CTYPE_OK; /* curl -d sends this by default */
    return AG_CTYPE_REFUSED;
}

/* ---------------------------------------------------------------- failed authentication */

#define LIMITER_SLOTS 256

struct slot {
    char ip[48];
    int64_t window_start;
    int64_t failures;
    int64_t lock_until;
    int64_t last_ms; /* last failure, for reuse of the oldest slot */
    unsigned level;  /* lockouts so far: the next one lasts base << level */
};

struct ag_auth_limiter {
    int64_t max_failures, window_ms, base_lock_ms, max_lock_ms;
    struct slot slots[LIMITER_SLOTS];
};

struct ag_auth_limiter *ag_auth_limiter_new(int64_t max_failures, int64_t window_ms,
                                            int64_t base_lock_ms, int64_t max_lock_ms)
{
    struct ag_auth_limiter *l = AG_NEW(struct ag_auth_limiter);
    l->max_failures = max_failures > 0 ? max_failures : 1;
    l->window_ms = window_ms;
    l->base_lock_ms = base_lock_ms;
    l->max_lock_ms = max_lock_ms;
    return l;
}

void ag_auth_limiter_free(struct ag_auth_limiter *l)
{
    free(l);
}

void ag_auth_limiter_set_max(struct ag_auth_limiter *l, int64_t max_failures)
{
    l->max_failures = max_failures > 0 ? max_failures : 1;
}

static struct slot *find(struct ag_auth_limiter *l, const char *ip)
{
    for (size_t i = 0; i < LIMITER_SLOTS; i++) {
        if (l->slots[i].ip[0] && strcmp(l->slots[i].ip, ip) == 0)
            return &l->slots[i];
    }
    return NULL;
}

bool ag_auth_limiter_allowed(struct ag_auth_limiter *l, const char *ip, int64_t now_ms,
                             int64_t *retry_after_s)
{
    struct slot *s = find(l, ip);
    if (!s || now_ms >= s->lock_until)
        return true;
    if (retry_after_s)
        *retry_after_s = (s->lock_until - now_ms + 999) / 1000;
    return false;
}

void ag_auth_limiter_failed(struct ag_auth_limiter *l, const char *ip, int64_t now_ms)
{
    struct slot *s = find(l, ip);
    if (!s) {
        s = &l->slots[0];
        for (size_t i = 1; i < LIMITER_SLOTS && s->ip[0]; i++) {
            if (!l->slots[i].ip[0] || l->slots[i].last_ms < s->last_ms)
                s = &l->slots[i];
        }
        memset(s, 0, sizeof(*s));
        ag_strlcpy(s->ip, ip, sizeof(s->ip));
        s->window_start = now_ms;
    }
    s->last_ms = now_ms;
    if (now_ms - s->window_start > l->window_ms) {
        s->window_start = now_ms;
        s->failures = 0;
    }
    if (++s->failures < l->max_failures)
        return;
    int64_t lock = l->base_lock_ms;
    for (unsigned i = 0; i < s->level && lock < l->max_lock_ms; i++)
        lock *= 2;
    s->lock_until = now_ms + (lock < l->max_lock_ms ? lock : l->max_lock_ms);
    s->level++;
    s->failures = 0;
    s->window_start = now_ms;
}

void ag_auth_limiter_succeeded(struct ag_auth_limiter *l, const char *ip)
{
    struct slot *s = find(l, ip);
    if (s) {
        s->failures = 0;
        s->lock_until = 0;
    }
}
