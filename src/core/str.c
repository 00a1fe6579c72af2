/* core/str.c: slice helpers and bounded string functions. */
#include "core/str.h"

#include "core/err.h"
#include "core/mem.h"

#include <stdlib.h>

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool ag_str_eq_ci(struct ag_str a, struct ag_str b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++) {
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
            return false;
    }
    return true;
}

bool ag_str_has_suffix(struct ag_str s, const char *suffix)
{
    size_t n = strlen(suffix);
    return s.len >= n && memcmp(s.p + s.len - n, suffix, n) == 0;
}

ptrdiff_t ag_str_search(struct ag_str hay, struct ag_str needle)
{
    if (!needle.len)
        return 0;
    const char *hit = hay.len ? memmem(hay.p, hay.len, needle.p, needle.len) : NULL;
    return hit ? hit - hay.p : -1;
}

ptrdiff_t ag_str_search_ci(struct ag_str hay, struct ag_str needle)
{
    if (!needle.len)
        return needle.len <= hay.len ? 0 : -1;
    unsigned char first = lower((unsigned char)needle.p[0]);
    for (size_t i = 0; i + needle.len <= hay.len; i++)
        if (lower((unsigned char)hay.p[i]) == first &&
            ag_str_eq_ci(ag_str_make(hay.p + i, needle.len), needle))
            return (ptrdiff_t)i;
    return -1;
}

bool ag_str_has_prefix_ci(struct ag_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && ag_str_eq_ci(ag_str_make(s.p, n), ag_str_make(prefix, n));
}

bool ag_str_has_suffix_ci(struct ag_str s, const char *suffix)
{
    size_t n = strlen(suffix);
    return s.len >= n && ag_str_eq_ci(ag_str_make(s.p + s.len - n, n), ag_str_make(suffix, n));
}

struct ag_str ag_str_trim(struct ag_str s)
{
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

int ag_str_to_u64(struct ag_str s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s.len == 0)
        return AG_EPARSE;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9)
            return AG_EPARSE;
        if (v > (UINT64_MAX - d) / 10)
            return AG_ETOOBIG;
        v = v * 10 + d;
    }
    if (v > max)
        return AG_ETOOBIG;
    *out = v;
    return 0;
}

int ag_str_to_i64(struct ag_str s, int64_t min, int64_t max, int64_t *out)
{
    bool neg = s.len && s.p[0] == '-';
    uint64_t mag;
    int rc;
    if (neg || (s.len && s.p[0] == '+')) {
        s.p++;
        s.len--;
    }
    rc = ag_str_to_u64(s, (uint64_t)INT64_MAX + 1, &mag);
    if (rc)
        return rc;
    if (!neg && mag > (uint64_t)INT64_MAX)
        return AG_ETOOBIG;
    int64_t v = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    if (v < min || v > max)
        return AG_ETOOBIG;
    *out = v;
    return 0;
}

size_t ag_strlcpy(char *dst, const char *src, size_t cap)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}

size_t ag_str_copy(char *dst, size_t cap, struct ag_str s)
{
    size_t n = s.len < cap ? s.len : cap - 1;
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
    return n;
}

char *ag_str_dup(struct ag_str s)
{
    char *d = ag_malloc(s.len + 1);
    if (s.len)
        memcpy(d, s.p, s.len);
    d[s.len] = '\0';
    return d;
}

char *ag_strdup(const char *s)
{
    return s ? ag_str_dup(ag_str_c(s)) : NULL;
}
