/* route/models.c: the model-id parser, the spec table with its family/version fallback rules,
 * quota groups and "-thinking" stripping. See models.h for the rules in sentences. */
#include "route/models.h"

#include <ctype.h>
#include <string.h>

#include "core/str.h"

#define MAX_TOKENS 16

/* A lower-cased copy of an id split at '-'. */
struct tokens {
    char buf[AG_MODEL_ID_MAX];
    struct ag_str tok[MAX_TOKENS];
    size_t n;
};

static void tokenize(struct ag_str id, struct tokens *t)
{
    size_t len = id.len < sizeof(t->buf) - 1 ? id.len : sizeof(t->buf) - 1;
    for (size_t i = 0; i < len; i++)
        t->buf[i] = (char)tolower((unsigned char)id.p[i]);
    t->buf[len] = '\0';
    t->n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len && t->n < MAX_TOKENS; i++) {
        if (i == len || t->buf[i] == '-') {
            t->tok[t->n++] = ag_str_make(t->buf + start, i - start);
            start = i + 1;
        }
    }
}

static bool all_digits(struct ag_str s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!isdigit((unsigned char)s.p[i]))
            return false;
    return true;
}

/* "3", "25" → major; "3.1" → major.minor. Only small numbers (1-2 digits) are versions. */
static bool parse_version(struct ag_str s, int *major, int *minor)
{
    ptrdiff_t dot = ag_str_find(s, '.');
    struct ag_str a = dot < 0 ? s : ag_str_make(s.p, (size_t)dot);
    struct ag_str b = dot < 0 ? AG_STR("") : ag_str_make(s.p + dot + 1, s.len - (size_t)dot - 1);
    if (!all_digits(a) || a.len > 2 || (dot >= 0 && (!all_digits(b) || b.len > 2)))
        return false;
    uint64_t v;
    if (ag_str_to_u64(a, 99, &v) != 0)
        return false;
    *major = (int)v;
    *minor = 0;
    if (dot >= 0) {
        if (ag_str_to_u64(b, 99, &v) != 0)
            return false;
        *minor = (int)v;
    }
    return true;
}

void ag_models_parse(struct ag_str id, struct ag_model_info *out)
{
    struct tokens t;
    tokenize(id, &t);
    memset(out, 0, sizeof(*out));
    out->major = -1;
    if (t.n == 0)
        return;

    struct ag_str first = t.tok[0];
    if (ag_str_eq_c(first, "gemini"))
        out->family = AG_MODEL_FAMILY_GEMINI;
    else if (ag_str_eq_c(first, "claude"))
        out->family = AG_MODEL_FAMILY_CLAUDE;
    else if (ag_str_eq_c(first, "gpt"))
        out->family = AG_MODEL_FAMILY_GPT;
    if (ag_str_has_prefix(first, "imagen") || ag_str_eq_c(first, "image"))
        out->image = true;

    bool version_done = false;
    size_t tier_at = 0, version_at = 0;
    for (size_t i = 1; i < t.n; i++) {
        struct ag_str k = t.tok[i];
        if (ag_str_eq_c(k, "image")) {
            out->image = true;
        } else if (ag_str_eq_c(k, "pro") && !out->tier) {
            out->tier = AG_MODEL_TIER_PRO;
            tier_at = i;
        } else if (ag_str_eq_c(k, "flash") && !out->tier) {
            out->tier = AG_MODEL_TIER_FLASH;
            tier_at = i;
        } else if (ag_str_eq_c(k, "lite") && out->tier == AG_MODEL_TIER_FLASH && tier_at == i - 1) {
            out->tier = AG_MODEL_TIER_FLASH_LITE;
        } else if (ag_str_eq_c(k, "opus") && !out->tier) {
            out->tier = AG_MODEL_TIER_OPUS;
            tier_at = i;
        } else if (ag_str_eq_c(k, "sonnet") && !out->tier) {
            out->tier = AG_MODEL_TIER_SONNET;
            tier_at = i;
        } else if (ag_str_eq_c(k, "haiku") && !out->tier) {
            out->tier = AG_MODEL_TIER_HAIKU;
            tier_at = i;
        } else if (ag_str_eq_c(k, "latest") || (k.len == 8 && all_digits(k))) {
            out->dated = true;
        } else if (!version_done && parse_version(k, &out->major, &out->minor)) {
            version_done = true;
            version_at = i;
            /* "claude-sonnet-4-6": a second small number right after is the minor version. */
            int mj, mn;
            if (ag_str_find(k, '.') < 0 && i + 1 < t.n && t.tok[i + 1].len <= 2 &&
                parse_version(t.tok[i + 1], &mj, &mn)) {
                out->minor = mj;
                i++;
            }
        }
    }
    if (ag_str_eq_c(t.tok[t.n - 1], "thinking"))
        out->thinking = true;
    if (out->family == AG_MODEL_FAMILY_CLAUDE && version_done && out->tier && version_at < tier_at)
        out->legacy_claude = true;
    if (out->image)
        out->family = AG_MODEL_FAMILY_IMAGE;
}

const char *ag_models_family_name(enum ag_model_family f)
{
    switch (f) {
    case AG_MODEL_FAMILY_GEMINI:
        return "gemini";
    case AG_MODEL_FAMILY_CLAUDE:
        return "claude";
    case AG_MODEL_FAMILY_GPT:
        return "gpt";
    case AG_MODEL_FAMILY_IMAGE:
        return "image";
    case AG_MODEL_FAMILY_UNKNOWN:
        break;
    }
    return "unknown";
}

/* Exact numbers from Antigravity Manager: model_specs.json and the budgets the
 * variant table of Antigravity Manager assigns to its tier ids. Input limits are the vendors'
 * published context windows (1 Mi tokens for Gemini text models, 200k for Claude). */
#define GEM_IN    1048576u
#define CLAUDE_IN 200000u
static const struct {
    const char *id;
    struct ag_model_spec s;
} spec_table[] = {
    /* id                        max_out  input      budget max/default  supports by_default */
    {"gemini-2.0-flash", {65535, GEM_IN, 24576, 24576, true, true}},
    {"gemini-2.5-flash", {65535, GEM_IN, 32768, 32768, true, true}},
    {"gemini-3-flash", {65536, GEM_IN, 32768, 32768, true, true}},
    {"gemini-3-flash-agent", {65536, GEM_IN, 32768, 10000, true, true}},
    {"gemini-3.5-flash-low", {65536, GEM_IN, 32768, 4000, true, true}},
    {"gemini-3.5-flash-extra-low", {65536, GEM_IN, 32768, 1000, true, true}},
    {"gemini-3.1-flash-lite", {16384, GEM_IN, 0, 0, false, false}},
    {"gemini-3-pro-high", {65536, GEM_IN, 49152, 49152, true, true}},
    {"gemini-3.1-pro-preview", {65536, GEM_IN, 49152, 49152, true, true}},
    {"gemini-pro-agent", {65535, GEM_IN, 49152, 10001, true, true}},
    {"gemini-3.1-pro-low", {65535, GEM_IN, 49152, 1001, true, true}},
    {"claude-sonnet-4-6", {64000, CLAUDE_IN, 32768, 32768, true, false}},
    /* Antigravity Manager fixes opus-4-6-thinking's budget at 24576. */
    {"claude-opus-4-6-thinking", {64000, CLAUDE_IN, 32768, 24576, true, true}},
    {"gpt-oss-120b-medium", {32768, 131072, 0, 0, false, false}},
};

static bool version_at_least(const struct ag_model_info *mi, int major, int minor)
{
    if (mi->major < 0)
        return true; /* unversioned aliases ("gemini-pro-agent") track the newest version */
    return mi->major > major || (mi->major == major && mi->minor >= minor);
}

/* The family/tier/version rule for ids the table does not name. */
static void spec_by_rule(const struct ag_model_info *mi, struct ag_model_spec *s)
{
    /* Antigravity Manager's defaults for an unknown model. */
    *s = (struct ag_model_spec){65535, 128000, 24576, 24576, false, false};
    switch (mi->family) {
    case AG_MODEL_FAMILY_IMAGE:
        *s = (struct ag_model_spec){32768, 65536, 24576, 24576, false, false};
        s->supports_thinking = version_at_least(mi, 3, 0);
        s->thinking_by_default = s->supports_thinking;
        break;
    case AG_MODEL_FAMILY_GEMINI:
        s->input_token_limit = GEM_IN;
        if (mi->tier == AG_MODEL_TIER_FLASH_LITE) {
            s->supports_thinking = version_at_least(mi, 2, 5);
            s->thinking_budget_default = 0; /* lite models answer without thinking by default */
        } else if (mi->tier == AG_MODEL_TIER_FLASH) {
            if (version_at_least(mi, 2, 5)) {
                s->max_output_tokens = 65536;
                s->thinking_budget_max = s->thinking_budget_default = 32768;
            }
            s->supports_thinking = s->thinking_by_default = true;
        } else if (mi->tier == AG_MODEL_TIER_PRO) {
            if (version_at_least(mi, 2, 5)) {
                s->max_output_tokens = 65536;
                s->thinking_budget_max = s->thinking_budget_default = 49152;
            }
            s->supports_thinking = s->thinking_by_default = version_at_least(mi, 2, 0);
        }
        break;
    case AG_MODEL_FAMILY_CLAUDE:
        *s = (struct ag_model_spec){64000, CLAUDE_IN, 32768, 32768, false, false};
        /* Extended thinking exists from Claude 3.7 on; opus ≥ 4.5 thinks by default. */
        s->supports_thinking = !mi->legacy_claude || version_at_least(mi, 3, 7);
        s->thinking_by_default = mi->tier == AG_MODEL_TIER_OPUS && version_at_least(mi, 4, 5);
        break;
    case AG_MODEL_FAMILY_GPT:
        *s = (struct ag_model_spec){32768, 131072, 0, 0, false, false};
        break;
    case AG_MODEL_FAMILY_UNKNOWN:
        break;
    }
}

void ag_models_spec(struct ag_str id, struct ag_model_spec *spec)
{
    struct ag_model_info mi;
    ag_models_parse(id, &mi);

    size_t best = SIZE_MAX, best_len = 0;
    for (size_t i = 0; i < sizeof(spec_table) / sizeof(spec_table[0]); i++) {
        struct ag_str e = ag_str_c(spec_table[i].id);
        if (id.len < e.len || !ag_str_eq_ci(ag_str_make(id.p, e.len), e))
            continue;
        if (id.len > e.len && id.p[e.len] != '-')
            continue;
        if (id.len > e.len) {
            /* A prefix only counts within the same tier: "gemini-2.5-flash-lite" is not flash. */
            struct ag_model_info ei;
            ag_models_parse(e, &ei);
            if (ei.tier != mi.tier || ei.image != mi.image)
                continue;
        }
        if (e.len > best_len) {
            best = i;
            best_len = e.len;
        }
    }
    if (best != SIZE_MAX)
        *spec = spec_table[best].s;
    else
        spec_by_rule(&mi, spec);

    if (mi.thinking && spec->thinking_budget_max > 0) {
        spec->supports_thinking = true;
        spec->thinking_by_default = true;
        if (spec->thinking_budget_default == 0)
            spec->thinking_budget_default = spec->thinking_budget_max;
    }
    if (!spec->supports_thinking)
        spec->thinking_by_default = false;
}

bool ag_models_quota_group(struct ag_str id, char *out, size_t cap)
{
    struct ag_model_info mi;
    ag_models_parse(id, &mi);
    bool flashy = mi.tier == AG_MODEL_TIER_FLASH || mi.tier == AG_MODEL_TIER_FLASH_LITE;
    const char *g = NULL;
    if (mi.image && flashy)
        g = "gemini-3.1-flash-image";
    else if (mi.image)
        g = "gemini-3-pro-image";
    else if (flashy)
        g = "gemini-3-flash";
    else if (mi.tier == AG_MODEL_TIER_PRO)
        g = "gemini-3-pro-high";
    else if (mi.family == AG_MODEL_FAMILY_CLAUDE || mi.tier == AG_MODEL_TIER_OPUS ||
             mi.tier == AG_MODEL_TIER_SONNET || mi.tier == AG_MODEL_TIER_HAIKU)
        g = "claude";
    if (cap == 0)
        return g != NULL;
    if (g) {
        ag_strlcpy(out, g, cap);
        return true;
    }
    size_t n = id.len < cap - 1 ? id.len : cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)id.p[i]);
    out[n] = '\0';
    return false;
}

size_t ag_models_alternatives(struct ag_str id, char (*out)[AG_MODEL_ID_MAX], size_t cap)
{
    static const char *const pro[] = {"gemini-pro-agent",     "gemini-3.1-pro-preview",
                                      "gemini-3-pro-preview", "gemini-3.1-pro-high",
                                      "gemini-3-pro-high",    "gemini-3.1-pro-low",
                                      "gemini-3-pro-low"};
    static const char *const pro_image[] = {"gemini-3.1-pro-image", "gemini-3-pro-image"};
    static const char *const flash_image[] = {"gemini-3.1-flash-image", "gemini-3-flash-image"};
    const char *const *list = NULL;
    size_t nlist = 0, n = 0;
    struct ag_model_info mi;
    ag_models_parse(id, &mi);
    bool gemini = ag_str_has_prefix_ci(id, "gemini-");
    if (gemini && mi.image && mi.tier == AG_MODEL_TIER_PRO && version_at_least(&mi, 3, 0)) {
        list = pro_image;
        nlist = sizeof(pro_image) / sizeof(pro_image[0]);
    } else if (gemini && mi.image && mi.tier == AG_MODEL_TIER_FLASH &&
               version_at_least(&mi, 3, 0)) {
        list = flash_image;
        nlist = sizeof(flash_image) / sizeof(flash_image[0]);
    } else if (mi.family == AG_MODEL_FAMILY_GEMINI && mi.tier == AG_MODEL_TIER_PRO &&
               version_at_least(&mi, 3, 0)) {
        list = pro;
        nlist = sizeof(pro) / sizeof(pro[0]);
    }
    for (size_t i = 0; i < nlist && n < cap; i++) {
        if (!ag_str_eq_ci(id, ag_str_c(list[i])))
            ag_strlcpy(out[n++], list[i], AG_MODEL_ID_MAX);
    }
    return n;
}

void ag_models_limits(struct ag_str id, uint32_t account_max_out, uint32_t account_budget,
                      uint32_t *max_out, uint32_t *budget_max)
{
    struct ag_model_spec spec;
    ag_models_spec(id, &spec);
    *max_out = account_max_out ? account_max_out : spec.max_output_tokens;
    *budget_max = account_budget ? account_budget : spec.thinking_budget_max;
}

bool ag_models_strip_thinking(struct ag_str id, char *out, size_t cap)
{
    static const char suffix[] = "-thinking";
    size_t n = id.len;
    bool strip = ag_str_has_suffix(id, suffix) && id.len > sizeof(suffix) - 1;
    if (strip)
        n -= sizeof(suffix) - 1;
    if (cap == 0)
        return strip;
    if (n > cap - 1)
        n = cap - 1;
    memcpy(out, id.p, n);
    out[n] = '\0';
    return strip;
}
