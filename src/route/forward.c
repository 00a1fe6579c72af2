/* route/forward.c: the upstream's deprecated-model forwarding rules (a small owned list). */
#include "route/forward.h"

#include <stdlib.h>
#include <yyjson.h>

#include "core/err.h"
#include "core/mem.h"
#include "route/models.h"

struct rule {
    char *from;
    char *to;
};

struct ag_forward {
    struct rule *rules;
    size_t n;
    size_t alloc;
};

struct ag_forward *ag_forward_new(void)
{
    return AG_NEW(struct ag_forward);
}

void ag_forward_free(struct ag_forward *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->rules[i].from);
        free(f->rules[i].to);
    }
    free(f->rules);
    free(f);
}

int ag_forward_add(struct ag_forward *f, struct ag_str from, struct ag_str to)
{
    if (from.len == 0 || to.len == 0 || ag_str_eq(from, to))
        return AG_EINVAL;
    if (from.len >= AG_MODEL_ID_MAX || to.len >= AG_MODEL_ID_MAX)
        return AG_ETOOBIG;
    for (size_t i = 0; i < f->n; i++) {
        if (ag_str_eq_c(from, f->rules[i].from)) {
            free(f->rules[i].to);
            f->rules[i].to = ag_str_dup(to);
            return 0;
        }
    }
    if (f->n == f->alloc) {
        f->alloc = f->alloc ? f->alloc * 2 : 8;
        f->rules = ag_realloc(f->rules, f->alloc * sizeof(*f->rules));
    }
    f->rules[f->n].from = ag_str_dup(from);
    f->rules[f->n].to = ag_str_dup(to);
    f->n++;
    return 0;
}

int ag_forward_add_json(struct ag_forward *f, const char *json, size_t len)
{
    yyjson_doc *doc = yyjson_read(json, len, 0);
    yyjson_val *root = yyjson_doc_get_root(doc);
    if (!yyjson_is_obj(root)) {
        yyjson_doc_free(doc);
        return AG_EPARSE;
    }
    size_t idx, max;
    yyjson_val *k, *v;
    yyjson_obj_foreach(root, idx, max, k, v)
    {
        yyjson_val *target = yyjson_is_obj(v) ? yyjson_obj_get(v, "newModelId") : v;
        if (!yyjson_is_str(target))
            continue;
        struct ag_str from = ag_str_make(yyjson_get_str(k), yyjson_get_len(k));
        struct ag_str to = ag_str_make(yyjson_get_str(target), yyjson_get_len(target));
        (void)ag_forward_add(f, from, to); /* an unusable entry is skipped, not fatal */
    }
    yyjson_doc_free(doc);
    return 0;
}

/* Upstream ids the Cloud Code API no longer serves, with their successors (Antigravity Manager's
 * redirects and the deprecatedModelIds the API has announced). */
static const struct {
    const char *from, *to;
} builtin[] = {
    {"claude-sonnet-4-5", "claude-sonnet-4-6"},
    {"claude-sonnet-4-5-thinking", "claude-sonnet-4-6-thinking"},
    {"claude-opus-4-5", "claude-opus-4-6-thinking"},
    {"claude-opus-4-5-thinking", "claude-opus-4-6-thinking"},
    {"gemini-3.1-pro-high", "gemini-pro-agent"},
    {"gemini-3-pro-image-preview", "gemini-3-pro-image"},
    {"gemini-3-flash-preview", "gemini-3-flash"},
};

void ag_forward_add_builtin(struct ag_forward *f)
{
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        (void)ag_forward_add(f, ag_str_c(builtin[i].from), ag_str_c(builtin[i].to));
}

size_t ag_forward_count(const struct ag_forward *f)
{
    return f ? f->n : 0;
}

bool ag_forward_lookup(const struct ag_forward *f, struct ag_str from, struct ag_str *to)
{
    if (!f)
        return false;
    for (size_t i = 0; i < f->n; i++) {
        if (ag_str_eq_c(from, f->rules[i].from)) {
            *to = ag_str_c(f->rules[i].to);
            return true;
        }
    }
    return false;
}
