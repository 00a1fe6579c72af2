/* core/str.h: string slices (pointer + length into someone else's buffer) and the bounded
 * string helpers the project uses instead of the libc functions style.md forbids. */
#ifndef AG_CORE_STR_H
#define AG_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** A borrowed byte range; never owns memory, not NUL-terminated in general. */
struct ag_str {
    const char *p;
    size_t len;
};

#define AG_STR(lit) ((struct ag_str){(lit), sizeof(lit) - 1})
#define AG_STR_NULL ((struct ag_str){NULL, 0})

static inline struct ag_str ag_str_make(const char *p, size_t len)
{
    return (struct ag_str){p, len};
}

/** A slice over a NUL-terminated string (NULL gives the empty slice). */
static inline struct ag_str ag_str_c(const char *s)
{
    return (struct ag_str){s, s ? strlen(s) : 0};
}

static inline bool ag_str_eq(struct ag_str a, struct ag_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool ag_str_eq_c(struct ag_str a, const char *b)
{
    return ag_str_eq(a, ag_str_c(b));
}

/** ASCII case-insensitive equality (header names, tokens). */
bool ag_str_eq_ci(struct ag_str a, struct ag_str b);

static inline bool ag_str_has_prefix(struct ag_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

bool ag_str_has_suffix(struct ag_str s, const char *suffix);

/** ASCII case-insensitive prefix test. */
bool ag_str_has_prefix_ci(struct ag_str s, const char *prefix);

/** ASCII case-insensitive suffix test. */
bool ag_str_has_suffix_ci(struct ag_str s, const char *suffix);

/** Trims ASCII spaces and tabs at both ends. */
struct ag_str ag_str_trim(struct ag_str s);

/** Finds byte c; returns its index or -1. */
static inline ptrdiff_t ag_str_find(struct ag_str s, char c)
{
    const char *hit = s.len ? memchr(s.p, c, s.len) : NULL;
    return hit ? hit - s.p : -1;
}

/**
 * Finds the first occurrence of needle in hay; returns its index or -1. An empty needle is found
 * at 0.
 */
ptrdiff_t ag_str_search(struct ag_str hay, struct ag_str needle);

/** True when the NUL-terminated needle occurs in hay. */
static inline bool ag_str_contains(struct ag_str hay, const char *needle)
{
    return ag_str_search(hay, ag_str_c(needle)) >= 0;
}

/** ASCII case-insensitive ag_str_search. */
ptrdiff_t ag_str_search_ci(struct ag_str hay, struct ag_str needle);

/** True when needle occurs in hay, ASCII case ignored. */
static inline bool ag_str_contains_ci(struct ag_str hay, const char *needle)
{
    return ag_str_search_ci(hay, ag_str_c(needle)) >= 0;
}

/**
 * Parses a whole slice as an unsigned decimal number no greater than max.
 * Returns 0 and stores the value, or AG_EPARSE (not a number, trailing bytes) / AG_ETOOBIG.
 */
int ag_str_to_u64(struct ag_str s, uint64_t max, uint64_t *out);

/** Parses a whole slice as a signed decimal within [min, max]; errors as ag_str_to_u64. */
int ag_str_to_i64(struct ag_str s, int64_t min, int64_t max, int64_t *out);

/**
 * Copies src into dst (capacity cap, cap > 0), always NUL-terminating; returns the length copied.
 * Truncates silently: use where a cut is acceptable (log lines, fixed ids).
 */
size_t ag_strlcpy(char *dst, const char *src, size_t cap);

/** ag_strlcpy for a slice (p may be NULL when len is 0): at most cap - 1 bytes, NUL-terminated. */
size_t ag_str_copy(char *dst, size_t cap, struct ag_str s);

/** Duplicates a slice as a malloc'd NUL-terminated string (the caller frees); aborts on OOM. */
char *ag_str_dup(struct ag_str s);

/** strdup that aborts on OOM and maps NULL to NULL. */
char *ag_strdup(const char *s);

#endif
