/* route/rules.c: target plans and fallback decisions for routing.rules (see rules.h). */
#include "route/rules.h"

#include <string.h>

/* Glob match with '*' only; iterative with one backtrack point, so linear in practice. */
static bool glob(struct ag_str pat, struct ag_str s)
{
    size_t p = 0, i = 0, star = (size_t)-1, mark = 0;
    while (i < s.len) {
        if (p < pat.len && pat.p[p] == '*') {
            star = p++;
            mark = i;
        } else if (p < pat.len && pat.p[p] == s.p[i]) {
            p++;
            i++;
        } else if (star != (size_t)-1) {
            p = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (p < pat.len && pat.p[p] == '*')
        p++;
    return p == pat.len;
}

const struct ag_route_rule *ag_route_rule_match(const struct ag_config_routing_rules *rules,
                                                struct ag_str model)
{
    for (size_t i = 0; rules && i < rules->n; i++)
        if (glob(ag_str_c(rules->v[i].pattern), model))
            return &rules->v[i];
    return NULL;
}

/* splitmix64: a small, well-mixed step for deterministic weighted choices. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

size_t ag_route_plan(const struct ag_route_rule *rule, int64_t est_tokens, const uint32_t *busy,
                     uint64_t seed, size_t *order, size_t cap)
{
    size_t n = 0, fit = 0;
    if (!rule || !cap)
        return 0;
    for (size_t i = 0; i < rule->n; i++) {
        const struct ag_route_target *t = &rule->targets[i];
        if (est_tokens <= 0 || t->context <= 0 || est_tokens <= t->context)
            fit++;
    }
    for (size_t i = 0; i < rule->n && n < cap; i++) {
        const struct ag_route_target *t = &rule->targets[i];
        if (fit && est_tokens > 0 && t->context > 0 && est_tokens > t->context)
            continue; /* too small for this request: the next target that fits takes it */
        order[n++] = i;
    }
    if (rule->strategy == AG_ROUTE_WEIGHTED) {
        /* draw without replacement, each pick in proportion to the weights left */
        for (size_t k = 0; k + 1 < n; k++) {
            int64_t total = 0;
            for (size_t j = k; j < n; j++)
                total += rule->targets[order[j]].weight;
            int64_t r = total > 0 ? (int64_t)(next_rand(&seed) % (uint64_t)total) : 0;
            size_t pick = k;
            for (size_t j = k; j < n; j++) {
                r -= rule->targets[order[j]].weight;
                if (r < 0) {
                    pick = j;
                    break;
                }
            }
            size_t tmp = order[k];
            order[k] = order[pick];
            order[pick] = tmp;
        }
    } else if (rule->strategy == AG_ROUTE_LEAST_BUSY && busy) {
        /* stable insertion sort by requests in flight: ties keep the listed order */
        for (size_t k = 1; k < n; k++) {
            size_t v = order[k], j = k;
            while (j > 0 && busy[order[j - 1]] > busy[v]) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = v;
        }
    }
    return n;
}

bool ag_route_context_exceeded(struct ag_str body)
{
    static const char *const words[] = {"context_length_exceeded",
                                        "maximum context length",
                                        "context length",
                                        "prompt is too long",
                                        "exceeds the maximum number of tokens",
                                        "too many tokens",
                                        "context window"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (ag_str_contains_ci(body, words[i]))
            return true;
    return false;
}

unsigned ag_route_fallback_class(enum ag_errclass_kind kind, int status, struct ag_str body)
{
    switch (kind) {
    case AG_ERRCLASS_RATE_LIMITED:
        return AG_FALLBACK_429;
    case AG_ERRCLASS_SERVER_ERROR:
        return AG_FALLBACK_5XX;
    case AG_ERRCLASS_TIMEOUT:
    case AG_ERRCLASS_TRANSPORT:
        return AG_FALLBACK_TIMEOUT;
    case AG_ERRCLASS_BAD_REQUEST:
        return (status == 400 || status == 413) && ag_route_context_exceeded(body)
                   ? AG_FALLBACK_CONTEXT
                   : 0;
    default:
        return 0;
    }
}

bool ag_route_falls_back(const struct ag_route_rule *rule, unsigned fallback_class)
{
    return rule && fallback_class && (rule->fallback_on & fallback_class);
}

int64_t ag_route_estimate_tokens(size_t body_bytes)
{
    return (int64_t)(body_bytes / 4) + 1;
}
