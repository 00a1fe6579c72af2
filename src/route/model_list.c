/* route/model_list.c: building the served-model list and writing it as OpenAI and Gemini JSON. */
#include "route/model_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/err.h"
#include "core/mem.h"
#include "store/provider.h"

static const char *const extra_ids[] = {"gemini-3.1-pro-low", "gemini-2.0-flash-exp",
                                        "gemini-2.5-flash", "gemini-3-flash",
                                        "gemini-3.1-pro-high"};

void ag_model_list_init(struct ag_model_list *l)
{
    memset(l, 0, sizeof(*l));
}

void ag_model_list_dispose(struct ag_model_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->ids[i]);
    free(l->ids);
    free(l->owners);
    ag_model_list_init(l);
}

static int cmp(struct ag_str a, const char *b)
{
    size_t bl = strlen(b);
    int c = memcmp(a.p, b, a.len < bl ? a.len : bl);
    if (c != 0)
        return c;
    return a.len < bl ? -1 : a.len > bl;
}

ptrdiff_t ag_model_list_find(const struct ag_model_list *l, struct ag_str id)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp(id, l->ids[mid]);
        if (c == 0)
            return (ptrdiff_t)mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

int ag_model_list_add(struct ag_model_list *l, struct ag_str id)
{
    return ag_model_list_add_owned(l, id, AG_MODEL_LIST_DEFAULT_OWNER);
}

int ag_model_list_add_owned(struct ag_model_list *l, struct ag_str id, const char *owner)
{
    if (!owner || !*owner)
        owner = AG_MODEL_LIST_DEFAULT_OWNER;
    if (id.len == 0)
        return AG_EINVAL;
    if (id.len >= AG_MODEL_ID_MAX)
        return AG_ETOOBIG;
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp(id, l->ids[mid]);
        if (c == 0) {
            if (strcmp(l->owners[mid], AG_MODEL_LIST_DEFAULT_OWNER) == 0)
                l->owners[mid] = owner;
            return 0;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (l->n == l->_alloc) {
        l->_alloc = l->_alloc ? l->_alloc * 2 : 64;
        l->ids = ag_realloc(l->ids, l->_alloc * sizeof(*l->ids));
        l->owners = ag_realloc(l->owners, l->_alloc * sizeof(*l->owners));
    }
    memmove(l->ids + lo + 1, l->ids + lo, (l->n - lo) * sizeof(*l->ids));
    memmove(l->owners + lo + 1, l->owners + lo, (l->n - lo) * sizeof(*l->owners));
    l->ids[lo] = ag_str_dup(id);
    l->owners[lo] = owner;
    l->n++;
    return 0;
}

static void add_cb(void *ctx, struct ag_str name)
{
    (void)ag_model_list_add(ctx, name);
}

int ag_model_list_build(struct ag_model_list *l, const struct ag_mapping *m,
                        const struct ag_str *quota_ids, size_t n_quota, bool only_raw_quota_models)
{
    for (size_t i = 0; i < n_quota; i++)
        (void)ag_model_list_add(l, quota_ids[i]); /* unusable names are skipped */
    if (only_raw_quota_models)
        return 0;
    if (m)
        ag_mapping_foreach_name(m, add_cb, l);
    for (size_t i = 0; i < sizeof(extra_ids) / sizeof(extra_ids[0]); i++)
        (void)ag_model_list_add(l, ag_str_c(extra_ids[i]));
    static const char *const sizes[] = {"", "-2k", "-4k"};
    static const char *const ratios[] = {"", "-1x1", "-4x3", "-3x4", "-16x9", "-9x16", "-21x9"};
    for (size_t s = 0; s < 3; s++) {
        for (size_t r = 0; r < 7; r++) {
            char id[64];
            int n = snprintf(id, sizeof(id), "gemini-3-pro-image%s%s", sizes[s], ratios[r]);
            (void)ag_model_list_add(l, ag_str_make(id, (size_t)n));
        }
    }
    return 0;
}

void ag_model_list_add_rules(struct ag_model_list *l, const struct ag_config_routing_rules *rules,
                             const char *(*label_kind)(void *ud, const char *label), void *ud)
{
    for (size_t i = 0; rules && i < rules->n; i++) {
        const struct ag_route_rule *r = &rules->v[i];
        const char *owner = NULL;
        enum ag_provider kind;
        if (!r->pattern || strchr(r->pattern, '*'))
            continue;
        if (r->n && r->targets[0].provider && ag_provider_parse(r->targets[0].provider, &kind))
            owner = ag_provider_info(kind)->name;
        else if (r->n && r->targets[0].account && label_kind)
            owner = label_kind(ud, r->targets[0].account);
        (void)ag_model_list_add_owned(l, ag_str_c(r->pattern), owner); /* unusable: skipped */
    }
}

/* Serialises doc and appends it to out; frees doc. */
static int emit(yyjson_mut_doc *doc, struct ag_buf *out)
{
    size_t len = 0;
    char *json = yyjson_mut_write(doc, 0, &len);
    yyjson_mut_doc_free(doc);
    if (!json)
        return AG_ENOMEM;
    int rc = ag_buf_append(out, json, len);
    free(json);
    return rc;
}

int ag_model_list_write_openai(const struct ag_model_list *l, int64_t created, struct ag_buf *out)
{
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, root);
    yyjson_mut_obj_add_str(doc, root, "object", "list");
    yyjson_mut_val *data = yyjson_mut_obj_add_arr(doc, root, "data");
    for (size_t i = 0; i < l->n; i++) {
        yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, data);
        yyjson_mut_obj_add_str(doc, o, "id", l->ids[i]);
        yyjson_mut_obj_add_str(doc, o, "object", "model");
        yyjson_mut_obj_add_int(doc, o, "created", created);
        bool google = strcmp(l->owners[i], AG_MODEL_LIST_DEFAULT_OWNER) == 0;
        yyjson_mut_obj_add_str(doc, o, "owned_by", google ? "aigate" : l->owners[i]);
        yyjson_mut_obj_add_str(doc, o, "provider", l->owners[i]);
    }
    return emit(doc, out);
}

int ag_model_list_write_gemini(const struct ag_model_list *l, const struct ag_mapping *m,
                               struct ag_buf *out)
{
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, root);
    yyjson_mut_val *models = yyjson_mut_obj_add_arr(doc, root, "models");
    for (size_t i = 0; i < l->n; i++) {
        struct ag_model_spec spec;
        struct ag_route_result route;
        if (m && ag_mapping_resolve(m, NULL, ag_str_c(l->ids[i]), &route) == 0)
            spec = route.spec;
        else
            ag_models_spec(ag_str_c(l->ids[i]), &spec);
        yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, models);
        /* "models/<id>", copied into the document (ids are shorter than AG_MODEL_ID_MAX). */
        char full[AG_MODEL_ID_MAX + 8];
        size_t n = (size_t)snprintf(full, sizeof(full), "models/%s", l->ids[i]);
        yyjson_mut_val *name = yyjson_mut_strncpy(doc, full, n < sizeof(full) ? n : 0);
        yyjson_mut_obj_add_val(doc, o, "name", name);
        yyjson_mut_obj_add_str(doc, o, "version", "001");
        yyjson_mut_obj_add_str(doc, o, "displayName", l->ids[i]);
        yyjson_mut_obj_add_str(doc, o, "description", "");
        yyjson_mut_obj_add_uint(doc, o, "inputTokenLimit", spec.input_token_limit);
        yyjson_mut_obj_add_uint(doc, o, "outputTokenLimit", spec.max_output_tokens);
        yyjson_mut_val *methods = yyjson_mut_obj_add_arr(doc, o, "supportedGenerationMethods");
        yyjson_mut_arr_add_str(doc, methods, "generateContent");
        yyjson_mut_arr_add_str(doc, methods, "streamGenerateContent");
        yyjson_mut_arr_add_str(doc, methods, "countTokens");
        yyjson_mut_obj_add_real(doc, o, "temperature", 1.0);
        yyjson_mut_obj_add_real(doc, o, "topP", 0.95);
        yyjson_mut_obj_add_int(doc, o, "topK", 64);
        yyjson_mut_obj_add_bool(doc, o, "thinking", spec.supports_thinking);
    }
    return emit(doc, out);
}
