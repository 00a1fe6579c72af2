/* keys/match.c: the small pure helpers of user keys (keys.h): model patterns, CIDR lists,
 * UTC day and month starts, expiry parsing, secret generation and hashing. */
#include "keys/keys.h"

#include "core/cidr.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/hex.h"
#include "core/rand.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Copies the next comma-separated item of *list (trimmed) into out; false at the end. An item
 * longer than cap is cut (it then cannot match anything real). */
static bool next_item(const char **list, char *out, size_t cap)
{
    const char *p = *list;
    while (*p == ' ' || *p == ',')
        p++;
    if (!*p)
        return false;
    const char *e = p;
    while (*e && *e != ',')
        e++;
    *list = e;
    while (e > p && e[-1] == ' ')
        e--;
    size_t n = (size_t)(e - p);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

bool ag_keys_model_allowed(const char *patterns, const char *model)
{
    char pat[256];
    const char *p = patterns ? patterns : "";
    bool any = false;
    if (!model)
        model = "";
    while (next_item(&p, pat, sizeof(pat))) {
        any = true;
        if (fnmatch(pat, model, 0) == 0)
            return true;
    }
    return !any;
}

int ag_keys_cidrs_check(const char *list, char *err, size_t errcap)
{
    char item[AG_CIDR_TEXT_MAX + 8];
    const char *p = list ? list : "";
    struct ag_cidr c;
    const char *why = NULL;
    while (next_item(&p, item, sizeof(item))) {
        if (ag_cidr_parse(item, &c, &why)) {
            if (err && errcap)
                snprintf(err, errcap, "\"%s\" is not an IPv4 or IPv6 address or CIDR (%s)", item,
                         why ? why : "malformed");
            return AG_EINVAL;
        }
    }
    return 0;
}

bool ag_keys_ip_allowed(const char *cidrs, const char *ip)
{
    char item[AG_CIDR_TEXT_MAX + 8];
    const char *p = cidrs ? cidrs : "";
    struct ag_cidr net;
    struct ag_ip who;
    bool any = false, parsed = ip && ag_ip_parse(ip, &who) == 0;
    while (next_item(&p, item, sizeof(item))) {
        any = true;
        if (parsed && ag_cidr_parse(item, &net, NULL) == 0 && ag_cidr_match(&net, &who))
            return true;
    }
    return !any;
}

int64_t ag_keys_day_start(int64_t now_s)
{
    int64_t r = now_s % 86400;
    return now_s - (r < 0 ? r + 86400 : r);
}

int64_t ag_keys_month_start(int64_t now_s)
{
    time_t t = (time_t)now_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    return (int64_t)timegm(&tm);
}

void ag_keys_hash_hex(const char *secret, size_t len, char *hash, size_t hashcap)
{
    unsigned char d[AG_SHA256_SIZE];
    ag_sha256(secret, len, d);
    if (hashcap < 2 * AG_SHA256_SIZE + 1) {
        if (hashcap)
            hash[0] = '\0';
        return;
    }
    ag_hex_encode(hash, d, AG_SHA256_SIZE); /* lowercase: the stored hashes keep their value */
}

int ag_keys_generate(char *secret, size_t cap, char *hash, size_t hashcap)
{
    int rc = ag_random_api_key(secret, cap);
    if (rc)
        return rc;
    ag_keys_hash_hex(secret, strlen(secret), hash, hashcap);
    return 0;
}

/* Reads exactly n digits at *p into *v. */
static bool digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return false;
        *v = *v * 10 + (**p - '0');
    }
    return true;
}

int ag_keys_parse_expiry(const char *s, int64_t now_s, int64_t *out)
{
    if (!s || !*s || strcmp(s, "never") == 0) {
        *out = 0;
        return 0;
    }
    size_t n = strlen(s);
    char unit = s[n - 1];
    if (n >= 2 && n <= 12 && (unit == 'd' || unit == 'h' || unit == 'm' || unit == 's')) {
        int64_t v = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return AG_EINVAL;
            v = v * 10 + (s[i] - '0');
        }
        int64_t mul = unit == 'd' ? 86400 : unit == 'h' ? 3600 : unit == 'm' ? 60 : 1;
        if (v <= 0 || v > INT64_C(36500) * 86400 / mul)
            return AG_EINVAL;
        *out = now_s + v * mul;
        return 0;
    }
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return AG_EINVAL;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
            !digits(&p, 2, &se))
            return AG_EINVAL;
        if (*p == 'Z')
            p++;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970)
        return AG_EINVAL;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = se};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return AG_EINVAL;
    /* A date alone expires at the end of that day (UTC). */
    *out = (int64_t)t + (s[10] == '\0' ? 86400 : 0);
    return 0;
}
