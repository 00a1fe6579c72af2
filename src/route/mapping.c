/* route/mapping.c: the built-in model table, custom exact/wildcard rules, family rules for
 * names no table lists, and the filling of a route result (see mapping.h for the order). */
#include "route/mapping.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/err.h"
#include "core/mem.h"
#include "route/background.h"

#define FORWARD_MAX_HOPS 4

/* The built-in table: Antigravity Manager (CLAUDE_TO_GEMINI), the preview renames of Antigravity
 * Manager and the Claude 3.x aliases of Antigravity Manager Lookups are ASCII case-insensitive. */
static const struct {
    const char *from;
    const char *to;
} builtin[] = {
    {"claude-sonnet-4-6", "claude-sonnet-4-6"},
    {"claude-sonnet-4-5", "claude-sonnet-4-6"},
    {"claude-3-5-sonnet-20241022", "claude-sonnet-4-6"},
    {"claude-3-5-sonnet-20240620", "claude-sonnet-4-6"},
    {"claude-haiku-4", "claude-sonnet-4-6"},
    {"claude-3-haiku-20240307", "claude-sonnet-4-6"},
    {"claude-haiku-4-5-20251001", "claude-sonnet-4-6"},
    {"claude-sonnet-4-6-thinking", "claude-sonnet-4-6-thinking"},
    {"claude-sonnet-4-5-thinking", "claude-sonnet-4-6-thinking"},
    {"claude-sonnet-4-5-20250929", "claude-sonnet-4-6-thinking"},
    {"claude-3-7-sonnet-20250219", "claude-sonnet-4-6-thinking"},
    {"claude-opus-4", "claude-opus-4-6-thinking"},
    {"claude-opus-4-5-thinking", "claude-opus-4-6-thinking"},
    {"claude-opus-4-5-20251101", "claude-opus-4-6-thinking"},
    {"claude-opus-4-6-thinking", "claude-opus-4-6-thinking"},
    {"claude-opus-4-6", "claude-opus-4-6-thinking"},
    {"claude-opus-4.6-thinking", "claude-opus-4-6-thinking"},
    {"claude-opus-4.6", "claude-opus-4-6-thinking"},
    {"claude-opus-4-6-20260201", "claude-opus-4-6-thinking"},
    {"gpt-4", "gemini-2.5-flash"},
    {"gpt-4-turbo", "gemini-2.5-flash"},
    {"gpt-4-turbo-preview", "gemini-2.5-flash"},
    {"gpt-4-0125-preview", "gemini-2.5-flash"},
    {"gpt-4-1106-preview", "gemini-2.5-flash"},
    {"gpt-4-0613", "gemini-2.5-flash"},
    {"gpt-4o", "gemini-2.5-flash"},
    {"gpt-4o-2024-05-13", "gemini-2.5-flash"},
    {"gpt-4o-2024-08-06", "gemini-2.5-flash"},
    {"gpt-4o-mini", "gemini-2.5-flash"},
    {"gpt-4o-mini-2024-07-18", "gemini-2.5-flash"},
    {"gpt-3.5-turbo", "gemini-2.5-flash"},
    {"gpt-3.5-turbo-16k", "gemini-2.5-flash"},
    {"gpt-3.5-turbo-0125", "gemini-2.5-flash"},
    {"gpt-3.5-turbo-1106", "gemini-2.5-flash"},
    {"gpt-3.5-turbo-0613", "gemini-2.5-flash"},
    {"gemini-2.5-flash-lite", "gemini-2.5-flash"},
    {"gemini-2.5-flash", "gemini-2.5-flash"},
    {"internal-background-task", "gemini-2.5-flash"},
    {"gemini-2.5-flash-thinking", "gemini-2.5-flash-thinking"},
    {"gemini-3.1-pro-high", "gemini-pro-agent"},
    {"gemini-3-pro-high", "gemini-pro-agent"},
    {"gemini-3.1-pro-low", "gemini-3.1-pro-low"},
    {"gemini-3-pro-low", "gemini-3-pro-low"},
    {"gemini-3.1-pro", "gemini-3.1-pro-preview"},
    {"gemini-3.1-pro-preview", "gemini-3.1-pro-preview"},
    {"gemini-3-pro", "gemini-3-pro-preview"},
    {"gemini-3-pro-preview", "gemini-3-pro-preview"},
    {"gemini-3-flash", "gemini-3-flash"},
    {"gemini-3-flash-preview", "gemini-3-flash"},
    {"gemini-3-pro-image", "gemini-3-pro-image"},
    {"gemini-3-pro-image-preview", "gemini-3-pro-image"},
};

/* Names in the table that are not client-facing models. */
static bool internal_name(const char *name)
{
    return strcmp(name, "internal-background-task") == 0;
}

struct rule {
    char *key;
    char *target;
    size_t literal; /* non-'*' characters in key */
    bool wildcard;
};

struct ag_mapping {
    struct rule *rules; /* config order */
    size_t n_rules;
    char *background_model; /* "" = off */
};

/* ---- building ---- */

static void set_err(char *err, size_t errcap, const char *what, const char *key)
{
    if (err && errcap)
        snprintf(err, errcap, "mapping.custom: %s%s%s", what, key ? ": " : "", key ? key : "");
}

void ag_mapping_swap(struct ag_mapping *a, struct ag_mapping *b)
{
    struct ag_mapping t = *a;
    *a = *b;
    *b = t;
}

void ag_mapping_free(struct ag_mapping *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_rules; i++) {
        free(m->rules[i].key);
        free(m->rules[i].target);
    }
    free(m->rules);
    free(m->background_model);
    free(m);
}

/* Validates and appends one custom rule; 0 or AG_EINVAL with err set. */
static int add_rule(struct ag_mapping *m, struct ag_str key, const char *target, size_t tlen,
                    char *err, size_t errcap)
{
    char shown[AG_MODEL_ID_MAX]; /* the key for the message, cut to fit */
    size_t n = key.len < sizeof(shown) - 1 ? key.len : sizeof(shown) - 1;
    if (n)
        memcpy(shown, key.p, n);
    shown[n] = '\0';
    if (key.len == 0) {
        set_err(err, errcap, "empty model name", NULL);
        return AG_EINVAL;
    }
    if (!target || tlen == 0) {
        set_err(err, errcap, "target must be a non-empty string", shown);
        return AG_EINVAL;
    }
    if (key.len >= AG_MODEL_ID_MAX || tlen >= AG_MODEL_ID_MAX) {
        set_err(err, errcap, "model name too long", shown);
        return AG_EINVAL;
    }
    if (memchr(target, '*', tlen)) {
        set_err(err, errcap, "target cannot contain '*'", shown);
        return AG_EINVAL;
    }
    struct rule *r = &m->rules[m->n_rules++];
    r->key = ag_str_dup(key);
    r->target = ag_str_dup(ag_str_make(target, tlen));
    for (size_t i = 0; i < key.len; i++) {
        if (key.p[i] == '*')
            r->wildcard = true;
        else
            r->literal++;
    }
    return 0;
}

static int load_json_rules(struct ag_mapping *m, const struct ag_mapping_config *cfg, char *err,
                           size_t errcap)
{
    int rc = 0;
    yyjson_doc *doc = yyjson_read(cfg->custom_json, cfg->custom_len, 0);
    yyjson_val *root = yyjson_doc_get_root(doc);
    if (!doc) {
        set_err(err, errcap, "not valid JSON", NULL);
        rc = AG_EPARSE;
        goto out;
    }
    if (yyjson_is_null(root))
        goto out;
    if (!yyjson_is_obj(root)) {
        set_err(err, errcap, "must be an object of model names", NULL);
        rc = AG_EPARSE;
        goto out;
    }
    m->rules = ag_calloc(yyjson_obj_size(root) + 1, sizeof(*m->rules));
    size_t idx, max;
    yyjson_val *k, *v;
    yyjson_obj_foreach(root, idx, max, k, v)
    {
        struct ag_str key = ag_str_make(yyjson_get_str(k), yyjson_get_len(k));
        rc = add_rule(m, key, yyjson_is_str(v) ? yyjson_get_str(v) : NULL, yyjson_get_len(v), err,
                      errcap);
        if (rc != 0)
            goto out;
    }
out:
    yyjson_doc_free(doc);
    return rc;
}

static int load_pair_rules(struct ag_mapping *m, const struct ag_config_strmap *map, char *err,
                           size_t errcap)
{
    m->rules = ag_calloc(map->n + 1, sizeof(*m->rules));
    for (size_t i = 0; i < map->n; i++) {
        const char *v = map->v[i].value;
        int rc = add_rule(m, ag_str_c(map->v[i].key), v, v ? strlen(v) : 0, err, errcap);
        if (rc != 0)
            return rc;
    }
    return 0;
}

struct ag_mapping *ag_mapping_new(const struct ag_mapping_config *cfg, char *err, size_t errcap)
{
    struct ag_mapping *m = AG_NEW(struct ag_mapping);
    if (err && errcap)
        err[0] = '\0';
    const char *bg =
        cfg && cfg->background_model ? cfg->background_model : AG_MAPPING_BACKGROUND_DEFAULT;
    struct ag_str bgs = ag_str_trim(ag_str_c(bg));
    if (bgs.len >= AG_MODEL_ID_MAX) {
        if (err && errcap)
            snprintf(err, errcap, "mapping.background_model: model name too long");
        goto fail;
    }
    m->background_model = ag_str_dup(bgs);
    if (cfg && cfg->custom_json && cfg->custom_len > 0) {
        if (load_json_rules(m, cfg, err, errcap) != 0)
            goto fail;
    } else if (cfg && cfg->custom && cfg->custom->n > 0) {
        if (load_pair_rules(m, cfg->custom, err, errcap) != 0)
            goto fail;
    }
    return m;
fail:
    ag_mapping_free(m);
    return NULL;
}

const char *ag_mapping_background_model(const struct ag_mapping *m)
{
    return m->background_model;
}

/* ---- matching ---- */

bool ag_mapping_wildcard_match(struct ag_str pat, struct ag_str s)
{
    size_t p = 0, i = 0, star = SIZE_MAX, mark = 0;
    while (i < s.len) {
        if (p < pat.len && pat.p[p] == '*') {
            star = p++;
            mark = i;
        } else if (p < pat.len && pat.p[p] == s.p[i]) {
            p++;
            i++;
        } else if (star != SIZE_MAX) {
            /* Let the last '*' swallow one more character and retry from there. */
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

static const struct rule *custom_exact(const struct ag_mapping *m, struct ag_str name,
                                       size_t *index)
{
    for (size_t i = 0; i < m->n_rules; i++) {
        if (!m->rules[i].wildcard && ag_str_eq_c(name, m->rules[i].key)) {
            *index = i;
            return &m->rules[i];
        }
    }
    return NULL;
}

static const struct rule *custom_wildcard(const struct ag_mapping *m, struct ag_str name,
                                          size_t *index)
{
    const struct rule *best = NULL;
    for (size_t i = 0; i < m->n_rules; i++) {
        const struct rule *r = &m->rules[i];
        if (!r->wildcard || (best && r->literal <= best->literal))
            continue; /* strictly more specific only: ties keep the earlier rule */
        if (ag_mapping_wildcard_match(ag_str_c(r->key), name)) {
            best = r;
            *index = i;
        }
    }
    return best;
}

static const char *builtin_lookup(struct ag_str name)
{
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        if (ag_str_eq_ci(name, ag_str_c(builtin[i].from)))
            return builtin[i].to;
    return NULL;
}

static void copy_lower(char *dst, struct ag_str s)
{
    for (size_t i = 0; i < s.len; i++)
        dst[i] = (char)tolower((unsigned char)s.p[i]);
    dst[s.len] = '\0';
}

/* Step 4 of mapping.h: ids of known families. Writes the upstream id into out->model. */
static int family_route(struct ag_str name, struct ag_route_result *out)
{
    struct ag_model_info mi;
    ag_models_parse(name, &mi);
    const char *to = NULL;
    switch (mi.family) {
    case AG_MODEL_FAMILY_GEMINI:
    case AG_MODEL_FAMILY_IMAGE:
        break; /* real upstream ids: pass through */
    case AG_MODEL_FAMILY_CLAUDE:
        /* Cloud Code serves sonnet and opus only; API snapshot names and old-style names are
         * the client's, not the upstream's. */
        if (mi.tier == AG_MODEL_TIER_OPUS && (mi.dated || mi.legacy_claude))
            to = "claude-opus-4-6-thinking";
        else if (mi.tier == AG_MODEL_TIER_SONNET && (mi.dated || mi.legacy_claude))
            to = mi.thinking || (mi.legacy_claude && mi.major == 3 && mi.minor >= 7)
                     ? "claude-sonnet-4-6-thinking"
                     : "claude-sonnet-4-6";
        else if (mi.tier != AG_MODEL_TIER_OPUS && mi.tier != AG_MODEL_TIER_SONNET)
            to = mi.thinking ? "claude-sonnet-4-6-thinking" : "claude-sonnet-4-6";
        break;
    case AG_MODEL_FAMILY_GPT:
        if (!ag_str_has_prefix_ci(name, "gpt-oss-"))
            to = "gemini-2.5-flash";
        break;
    case AG_MODEL_FAMILY_UNKNOWN:
        copy_lower(out->model, name);
        return AG_ENOTFOUND;
    }
    if (to) {
        ag_strlcpy(out->model, to, sizeof(out->model));
        out->source = AG_ROUTE_FAMILY;
        return 0;
    }
    copy_lower(out->model, name);
    out->source = AG_ROUTE_PASSTHROUGH;
    if (mi.family == AG_MODEL_FAMILY_GEMINI && mi.thinking) {
        /* Gemini thinking is a request setting; "gemini-x-thinking" ids that no table lists
         * do not exist upstream. */
        out->model[name.len - strlen("-thinking")] = '\0';
        out->thinking = true;
    }
    return 0;
}

/* Image ids: strip size and ratio suffixes after the "-image" token. */
static void strip_image_suffixes(struct ag_route_result *out)
{
    static const struct {
        const char *suffix;
        const char *size;
    } sizes[] = {{"-4k", "4K"}, {"-hd", "4K"},       {"-2k", "2K"},
                 {"-1k", "1K"}, {"-standard", "1K"}, {"-medium", "2K"}};
    static const char *const ratios[] = {"21:9", "16:9", "9:16", "4:3", "3:4",
                                         "3:2",  "2:3",  "5:4",  "4:5", "1:1"};
    char *img = strstr(out->model, "-image");
    if (!img)
        return;
    size_t floor = (size_t)(img - out->model) + strlen("-image");
    size_t len = strlen(out->model);
    bool again = true;
    while (again) {
        again = false;
        struct ag_str s = ag_str_make(out->model, len);
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && !again; i++) {
            size_t n = strlen(sizes[i].suffix);
            if (len - floor >= n && ag_str_has_suffix(s, sizes[i].suffix)) {
                if (!out->image_size[0])
                    ag_strlcpy(out->image_size, sizes[i].size, sizeof(out->image_size));
                len -= n;
                again = true;
            }
        }
        for (size_t i = 0; i < sizeof(ratios) / sizeof(ratios[0]) && !again; i++) {
            char x[8], d[8];
            size_t c = strcspn(ratios[i], ":");
            snprintf(x, sizeof(x), "-%.*sx%s", (int)c, ratios[i], ratios[i] + c + 1);
            snprintf(d, sizeof(d), "-%.*s-%s", (int)c, ratios[i], ratios[i] + c + 1);
            size_t n = strlen(x);
            if (len - floor >= n && (ag_str_has_suffix(s, x) || ag_str_has_suffix(s, d))) {
                if (!out->aspect_ratio[0])
                    ag_strlcpy(out->aspect_ratio, ratios[i], sizeof(out->aspect_ratio));
                len -= n;
                again = true;
            }
        }
    }
    out->model[len] = '\0';
}

static void fill_facts(struct ag_route_result *out)
{
    struct ag_str id = ag_str_c(out->model);
    struct ag_model_info mi;
    ag_models_parse(id, &mi);
    out->provider = AG_ROUTE_PROVIDER_CLOUDCODE;
    out->family = mi.family;
    out->image = mi.image;
    ag_models_quota_group(id, out->quota_group, sizeof(out->quota_group));
    ag_models_spec(id, &out->spec);
    if (mi.thinking)
        out->thinking = true;
    if (out->thinking && out->spec.thinking_budget_max > 0) {
        out->spec.supports_thinking = true;
        out->spec.thinking_by_default = true;
    }
    ag_models_strip_thinking(id, out->no_thinking_model, sizeof(out->no_thinking_model));
}

/* Follows the forwarding rules from out->model; true when it moved. */
static bool follow(const struct ag_forward *fwd, struct ag_route_result *out)
{
    struct ag_str to;
    bool moved = false;
    for (int hop = 0; hop < FORWARD_MAX_HOPS && ag_forward_lookup(fwd, ag_str_c(out->model), &to);
         hop++) {
        ag_strlcpy(out->model, to.p, sizeof(out->model));
        out->forwarded = moved = true;
    }
    return moved;
}

int ag_mapping_resolve(const struct ag_mapping *m, const struct ag_forward *fwd,
                       struct ag_str client_model, struct ag_route_result *out)
{
    memset(out, 0, sizeof(*out));
    out->provider = AG_ROUTE_PROVIDER_CLOUDCODE;
    struct ag_str name = ag_str_trim(client_model);
    if (name.len == 0)
        return AG_EINVAL;
    if (name.len >= AG_MODEL_ID_MAX) {
        ag_strlcpy(out->model, "(model name too long)", sizeof(out->model));
        return AG_EINVAL;
    }
    static const char online[] = "-online";
    if (name.len > sizeof(online) - 1 &&
        ag_str_eq_ci(ag_str_make(name.p + name.len - 7, 7), AG_STR(online))) {
        name.len -= sizeof(online) - 1;
        out->web_search = true;
    }
    if (ag_str_has_suffix(name, "-thinking"))
        out->thinking = true;

    const struct rule *r;
    const char *b;
    size_t index = 0;
    if ((r = custom_exact(m, name, &index))) {
        ag_strlcpy(out->model, r->target, sizeof(out->model));
        out->source = AG_ROUTE_CUSTOM_EXACT;
        out->rule_index = index;
    } else if ((r = custom_wildcard(m, name, &index))) {
        ag_strlcpy(out->model, r->target, sizeof(out->model));
        out->source = AG_ROUTE_CUSTOM_WILDCARD;
        out->rule_index = index;
    } else if ((b = builtin_lookup(name))) {
        ag_strlcpy(out->model, b, sizeof(out->model));
        out->source = AG_ROUTE_BUILTIN;
    } else {
        int rc = family_route(name, out);
        if (rc != 0)
            return rc;
    }

    struct ag_model_info mi;
    ag_models_parse(ag_str_c(out->model), &mi);
    if (mi.image)
        strip_image_suffixes(out);

    follow(fwd, out);
    fill_facts(out);
    return 0;
}

bool ag_mapping_forward(const struct ag_forward *fwd, struct ag_route_result *r)
{
    if (!follow(fwd, r))
        return false;
    fill_facts(r);
    return true;
}

int ag_mapping_background(const struct ag_mapping *m, const struct ag_forward *fwd,
                          const struct ag_background_req *req, struct ag_route_result *out)
{
    if (m->background_model[0] == '\0')
        return 0;
    if (ag_background_detect(req) == AG_BACKGROUND_NONE)
        return 0;
    int rc = ag_mapping_resolve(m, fwd, ag_str_c(m->background_model), out);
    return rc < 0 ? rc : 1;
}

void ag_mapping_foreach_name(const struct ag_mapping *m, ag_mapping_name_cb cb, void *ctx)
{
    for (size_t i = 0; i < m->n_rules; i++)
        if (!m->rules[i].wildcard)
            cb(ctx, ag_str_c(m->rules[i].key));
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        if (!internal_name(builtin[i].from))
            cb(ctx, ag_str_c(builtin[i].from));
}
