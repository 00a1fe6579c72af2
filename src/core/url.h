/* core/url.h: reading application/x-www-form-urlencoded text — URL query strings and form bodies
 * ("a=1&b=x%20y"): finding a name's value and percent-decoding it; and hiding the credentials a
 * URL may carry ("http://user:password@host") before it is shown. */
#ifndef AG_CORE_URL_H
#define AG_CORE_URL_H

#include "core/str.h"

#include <stdbool.h>
#include <stddef.h>

/**
 * Percent-decodes in into out: "%XX" (two hex digits) becomes that byte, '+' becomes a space, and
 * anything else, a malformed '%' included, is copied as it is. Writes at most cap - 1 bytes and a
 * terminating NUL (nothing when cap is 0). Like snprintf, returns the length of the whole decoded
 * value: the result is >= cap when out holds only its first cap - 1 bytes. out is the caller's.
 */
size_t ag_url_decode(struct ag_str in, char *out, size_t cap);

/**
 * Finds the first "name=value" pair in query (split on '&'; a pair without '=' does not match)
 * and returns its raw, still encoded value: a slice into query, or AG_STR_NULL when absent. A
 * fragment is not stripped: cut query at '#' first where one may be present.
 */
struct ag_str ag_url_query_find(struct ag_str query, const char *name);

/**
 * Finds name in query (as ag_url_query_find) and percent-decodes its value into out (as
 * ag_url_decode). Returns false when name is absent (out is untouched) or when the value does not
 * fit (out then holds its first cap - 1 bytes).
 */
bool ag_url_query_get(struct ag_str query, const char *name, char *out, size_t cap);

/** What a URL's hidden credentials are replaced with. */
#define AG_URL_MASK "****"

/**
 * Copies url into out (cap bytes, always NUL-terminated when cap > 0) with the credentials of its
 * authority hidden: "scheme://user:password@host..." becomes "scheme://user:" AG_URL_MASK
 * "@host...", and a user alone ("scheme://token@host", which proxies also take as a secret) becomes
 * "scheme://" AG_URL_MASK "@host...". A URL without user info is copied unchanged. Returns true
 * when something was hidden. A result longer than cap is cut (the credentials are never what is
 * kept).
 */
bool ag_url_mask_userinfo(const char *url, char *out, size_t cap);

#endif
