/* core/url.c: finding and percent-decoding values in URL query strings and form bodies. */
#include "core/url.h"

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t ag_url_decode(struct ag_str in, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.p[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < in.len && hexval(in.p[i + 1]) >= 0 &&
                   hexval(in.p[i + 2]) >= 0) {
            c = (char)(hexval(in.p[i + 1]) * 16 + hexval(in.p[i + 2]));
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
