/* upstream/provider.c: URL and auth headers of calls to API-key accounts (see provider.h). */
#include "upstream/provider.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"

static int header(struct ag_provider_call *out, const char *name, const char *value)
{
    if (out->nheaders >= AG_PROVIDER_HEADERS)
        return AG_ETOOBIG;
    char *b = out->header_buf[out->nheaders];
    int n = snprintf(b, AG_PROVIDER_HEADER_MAX, "%s: %s", name, value);
    if (n < 0 || n >= AG_PROVIDER_HEADER_MAX)
        return AG_ETOOBIG;
    out->headers[out->nheaders++] = b;
    return 0;
}

int ag_provider_call_prepare(enum ag_provider kind, const char *base_url, const char *api_key,
                             const char *path, struct ag_provider_call *out)
{
    const struct ag_provider_info *pi = ag_provider_info(kind);
    const char *base = base_url && *base_url ? base_url : pi->base_url;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (kind == AG_PROVIDER_GOOGLE || !base || !api_key || !*api_key || !path || path[0] != '/')
        return AG_EINVAL;
    size_t blen = strlen(base);
    while (blen && base[blen - 1] == '/')
        blen--;
    int n = snprintf(out->url, sizeof(out->url), "%.*s%s", (int)blen, base, path);
    if (n < 0 || (size_t)n >= sizeof(out->url))
        return AG_ETOOBIG;
    switch (pi->auth) {
    case AG_AUTH_X_API_KEY:
        rc = header(out, "x-api-key", api_key);
        if (!rc)
            rc = header(out, "anthropic-version", AG_ANTHROPIC_VERSION);
        break;
    case AG_AUTH_X_GOOG_KEY:
        rc = header(out, "x-goog-api-key", api_key);
        break;
    default: {
        char bearer[AG_PROVIDER_HEADER_MAX];
        n = snprintf(bearer, sizeof(bearer), "Bearer %s", api_key);
        rc = n < 0 || (size_t)n >= sizeof(bearer) ? AG_ETOOBIG
                                                  : header(out, "Authorization", bearer);
        break;
    }
    }
    if (!rc)
        rc = header(out, "Accept", "text/event-stream, application/json");
    return rc;
}
