/* core/url.c: finding and percent-decoding values in URL query strings and form bodies; masking
 * the credentials of a URL. */
#include "core/url.h"
#include "core/hex.h"

#include <string.h>

size_t ag_url_decode(struct ag_str in, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.p[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < in.len && ag_hex_value(in.p[i + 1]) >= 0 &&
                   ag_hex_value(in.p[i + 2]) >= 0) {
            c = (char)(ag_hex_value(in.p[i + 1]) * 16 + ag_hex_value(in.p[i + 2]));
            i += 2;
        }
        if (n + 1 < cap)
            out[n] = c;
        n++;
    }
    if (cap)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}

struct ag_str ag_url_query_find(struct ag_str query, const char *name)
{
    size_t nlen = strlen(name), i = 0;
    while (i < query.len) {
        size_t end = i;
        while (end < query.len && query.p[end] != '&')
            end++;
        if (end - i > nlen && memcmp(query.p + i, name, nlen) == 0 && query.p[i + nlen] == '=')
            return ag_str_make(query.p + i + nlen + 1, end - i - nlen - 1);
        i = end + 1;
    }
    return AG_STR_NULL;
}

bool ag_url_query_get(struct ag_str query, const char *name, char *out, size_t cap)
{
    struct ag_str v = ag_url_query_find(query, name);
    if (!v.p)
        return false;
    return ag_url_decode(v, out, cap) < cap;
}

bool ag_url_mask_userinfo(const char *url, char *out, size_t cap)
{
    if (cap == 0)
        return false;
    out[0] = '\0';
    if (!url)
        return false;
    const char *auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    /* The authority ends at the first '/', '?' or '#'; user info is what precedes its last '@'. */
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *q = auth; q < auth + alen; q++) {
        if (*q == '@')
            at = q;
    }
    if (!at) {
        ag_strlcpy(out, url, cap);
        return false;
    }
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    /* scheme:// and the user name (when a password follows it) are kept; the secret is not. */
    size_t keep = colon ? (size_t)(colon + 1 - url) : (size_t)(auth - url);
    size_t n = 0;
    for (size_t i = 0; i < keep && n + 1 < cap; i++)
        out[n++] = url[i];
    for (const char *m = AG_URL_MASK; *m && n + 1 < cap; m++)
        out[n++] = *m;
    for (const char *r = at; *r && n + 1 < cap; r++)
        out[n++] = *r;
    out[n] = '\0';
    return true;
}
