/* http/iprules.c: compiled address rules and the log of refused addresses (see iprules.h). */
#include "http/iprules.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

struct ag_ip_rules {
    struct ag_cidr *allow, *deny;
    size_t nallow, ndeny;
};

struct entry {
    struct ag_ip ip;
    struct ag_ip_refusal r;
};

struct ag_ip_refusals {
    struct entry e[AG_IP_REFUSALS_MAX];
    size_t n;
    uint64_t total;
};

static bool compile(const char *list, const char *const *items, size_t n, struct ag_cidr **out,
                    struct ag_buf *errmsg)
{
    *out = n ? ag_calloc(n, sizeof(**out)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const char *why = "";
        if (ag_cidr_parse(items[i], &(*out)[i], &why) != 0) {
            if (errmsg)
                ag_buf_printf(errmsg, "%s item %zu (\"%.64s\") is %s", list, i, items[i], why);
            return false;
        }
    }
    return true;
}

struct ag_ip_rules *ag_ip_rules_new(const char *const *allow, size_t nallow,
                                    const char *const *deny, size_t ndeny, struct ag_buf *errmsg)
{
    struct ag_ip_rules *r = AG_NEW(struct ag_ip_rules);
    r->nallow = nallow;
    r->ndeny = ndeny;
    if (!compile("security.ip_allow", allow, nallow, &r->allow, errmsg) ||
        !compile("security.ip_deny", deny, ndeny, &r->deny, errmsg)) {
        ag_ip_rules_free(r);
        return NULL;
    }
    return r;
}

void ag_ip_rules_free(struct ag_ip_rules *r)
{
    if (!r)
        return;
    free(r->allow);
    free(r->deny);
    free(r);
}

bool ag_ip_rules_empty(const struct ag_ip_rules *r)
{
    return !r || (r->nallow == 0 && r->ndeny == 0);
}

bool ag_ip_rules_allows(const struct ag_ip_rules *r, const struct ag_ip *ip)
{
    if (!r)
        return true;
    for (size_t i = 0; i < r->ndeny; i++)
        if (ag_cidr_match(&r->deny[i], ip))
            return false;
    if (r->nallow == 0)
        return true;
    for (size_t i = 0; i < r->nallow; i++)
        if (ag_cidr_match(&r->allow[i], ip))
            return true;
    return false;
}

struct ag_ip_refusals *ag_ip_refusals_new(void)
{
    return AG_NEW(struct ag_ip_refusals);
}

void ag_ip_refusals_free(struct ag_ip_refusals *l)
{
    free(l);
}

uint64_t ag_ip_refusals_note(struct ag_ip_refusals *l, const struct ag_ip *ip, int64_t now_ms)
{
    if (!l)
        return 0;
    l->total++;
    size_t i, oldest = 0;
    for (i = 0; i < l->n; i++) {
        if (memcmp(l->e[i].ip.b, ip->b, sizeof(ip->b)) == 0)
            break;
        if (l->e[i].r.last_ms < l->e[oldest].r.last_ms)
            oldest = i;
    }
    if (i == l->n) {
        /* a new address: a free slot, else the least recently refused one's */
        i = l->n < AG_IP_REFUSALS_MAX ? l->n++ : oldest;
        memset(&l->e[i], 0, sizeof(l->e[i]));
        l->e[i].ip = *ip;
        ag_ip_format(ip, l->e[i].r.addr, sizeof(l->e[i].r.addr));
        l->e[i].r.first_ms = now_ms;
    }
    l->e[i].r.count++;
    l->e[i].r.last_ms = now_ms;
    return l->e[i].r.count;
}

static int by_last_desc(const void *pa, const void *pb)
{
    const struct ag_ip_refusal *a = pa, *b = pb;
    return a->last_ms < b->last_ms ? 1 : a->last_ms > b->last_ms ? -1 : 0;
}

size_t ag_ip_refusals_list(const struct ag_ip_refusals *l, struct ag_ip_refusal *out, size_t cap)
{
    if (!l || cap == 0)
        return 0;
    struct ag_ip_refusal all[AG_IP_REFUSALS_MAX] = {0};
    for (size_t i = 0; i < l->n; i++)
        all[i] = l->e[i].r;
    qsort(all, l->n, sizeof(all[0]), by_last_desc);
    size_t n = l->n < cap ? l->n : cap;
    memcpy(out, all, n * sizeof(*out));
    return n;
}

uint64_t ag_ip_refusals_total(const struct ag_ip_refusals *l)
{
    return l ? l->total : 0;
}
