/* store/provider.c: the table of account kinds and the checks of what the admin types for them
 * (see provider.h). */
#include "store/provider.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"

#define BASE_URL_MAX 1024

static const struct ag_provider_info table[AG_PROVIDER_COUNT] = {
    [AG_PROVIDER_GOOGLE] = {AG_PROVIDER_GOOGLE, "google", "cloudcode", "gemini", NULL,
                            AG_AUTH_OAUTH, false},
    [AG_PROVIDER_GEMINI] = {AG_PROVIDER_GEMINI, "gemini", "gemini", "gemini",
                            "https://generativelanguage.googleapis.com", AG_AUTH_X_GOOG_KEY, false},
    [AG_PROVIDER_ANTHROPIC] = {AG_PROVIDER_ANTHROPIC, "anthropic", "anthropic", "anthropic",
                               "https://api.anthropic.com", AG_AUTH_X_API_KEY, false},
    [AG_PROVIDER_OPENAI] = {AG_PROVIDER_OPENAI, "openai", "openai", "openai-chat",
                            "https://api.openai.com/v1", AG_AUTH_BEARER, true},
    [AG_PROVIDER_OPENAI_COMPAT] = {AG_PROVIDER_OPENAI_COMPAT, "openai-compatible", "openai",
                                   "openai-chat", NULL, AG_AUTH_BEARER, true},
};

const struct ag_provider_info *ag_provider_info(enum ag_provider kind)
{
    if ((int)kind < 0 || kind >= AG_PROVIDER_COUNT)
        kind = AG_PROVIDER_GOOGLE;
    return &table[kind];
}

bool ag_provider_parse(const char *name, enum ag_provider *out)
{
    if (!name || !*name) {
        *out = AG_PROVIDER_GOOGLE;
        return true;
    }
    for (int k = 0; k < AG_PROVIDER_COUNT; k++) {
        if (strcmp(name, table[k].name) == 0) {
            *out = (enum ag_provider)k;
            return true;
        }
    }
    return false;
}

enum ag_provider ag_provider_of(const char *stored)
{
    enum ag_provider k;
    return ag_provider_parse(stored, &k) ? k : AG_PROVIDER_GOOGLE;
}

static int invalid(char *why, size_t cap, const char *msg)
{
    if (why && cap)
        ag_strlcpy(why, msg, cap);
    return AG_EINVAL;
}

int ag_provider_base_url_check(const char *in, char *out, size_t cap, char *why, size_t why_cap)
{
    struct ag_str u = ag_str_trim(ag_str_c(in ? in : ""));
    size_t skip;
    if (u.len == 0)
        return invalid(why, why_cap, "the base URL is empty");
    if (u.len > BASE_URL_MAX || u.len + 1 > cap)
        return invalid(why, why_cap, "the base URL is too long");
    if (ag_str_has_prefix_ci(u, "https://"))
        skip = 8;
    else if (ag_str_has_prefix_ci(u, "http://"))
        skip = 7;
    else
        return invalid(why, why_cap, "the base URL must start with http:// or https://");
    struct ag_str rest = ag_str_make(u.p + skip, u.len - skip);
    ptrdiff_t slash = ag_str_find(rest, '/');
    struct ag_str host = slash < 0 ? rest : ag_str_make(rest.p, (size_t)slash);
    if (host.len == 0 || host.p[0] == ':')
        return invalid(why, why_cap, "the base URL has no host");
    if (ag_str_find(host, '@') >= 0)
        return invalid(why, why_cap,
                       "the base URL must not carry user info (give the key with --api-key)");
    for (size_t i = 0; i < u.len; i++) {
        unsigned char c = (unsigned char)u.p[i];
        if (c == '?' || c == '#')
            return invalid(why, why_cap, "the base URL must not have a query or fragment");
        if (c <= ' ' || c == 0x7f)
            return invalid(why, why_cap, "the base URL contains white space or control bytes");
    }
    while (u.len > skip && u.p[u.len - 1] == '/')
        u.len--;
    memcpy(out, u.p, u.len);
    out[u.len] = '\0';
    return 0;
}

void ag_provider_mask_key(const char *key, char *out, size_t cap)
{
    size_t n = key ? strlen(key) : 0;
    if (!cap)
        return;
    if (n > 12)
        snprintf(out, cap, "%.3s\u2026%s", key, key + n - 4);
    else if (n > 4)
        snprintf(out, cap, "\u2026%s", key + n - 2);
    else
        snprintf(out, cap, "\u2026");
}
