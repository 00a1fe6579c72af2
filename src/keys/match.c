/* keys/match.c: the small pure helpers of user keys (keys.h): model patterns, CIDR lists,
 * UTC day and month starts, expiry parsing, secret generation and hashing. */
#include "keys/keys.h"

#include "core/err.h"
#include "core/hash.h"
#include "core/hex.h"
#include "core/rand.h"

#include <arpa/inet.h>
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

struct cidr {
    int family; /* 4 or 6 */
    unsigned char addr[16];
    int prefix;
};

/* Reads "a.b.c.d[/n]" or "x::y[/n]"; IPv4-mapped IPv6 addresses become IPv4. */
static int parse_addr(const char *s, struct cidr *c, bool allow_prefix)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof(buf) || (slash && !allow_prefix))
        return AG_EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    memset(c, 0, sizeof(*c));
    if (inet_pton(AF_INET, buf, c->addr) == 1) {
        c->family = 4;
        c->prefix = 32;
    } else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        c->family = 6;
        c->prefix = 128;
        if (memcmp(c->addr, mapped, 12) == 0) {
            memmove(c->addr, c->addr + 12, 4);
            memset(c->addr + 4, 0, 12);
            c->family = 4;
            c->prefix = 32;
            if (slash)
                return AG_EINVAL; /* a mapped prefix is ambiguous: write the IPv4 form */
        }
    } else {
        return AG_EINVAL;
    }
    if (slash) {
        const char *d = slash + 1;
        int v = 0;
        if (!*d || strlen(d) > 3)
            return AG_EINVAL;
        for (; *d; d++) {
            if (*d < '0' || *d > '9')
                return AG_EINVAL;
            v = v * 10 + (*d - '0');
        }
        if (v > (c->family == 4 ? 32 : 128))
            return AG_EINVAL;
        c->prefix = v;
    }
    return 0;
}

static bool cidr_contains(const struct cidr *net, const struct cidr *ip)
{
    if (net->family != ip->family)
        return false;
    int full = net->prefix / 8, rest = net->prefix % 8;
    if (memcmp(net->addr, ip->addr, (size_t)full) != 0)
        return false;
    if (rest) {
        unsigned char mask = (unsigned char)(0xff << (8 - rest));
        if ((net->addr[full] & mask) != (ip->addr[full] & mask))
            return false;
    }
    return true;
}

int ag_keys_cidrs_check(const char *list, char *err, size_t errcap)
{
    char item[128];
    const char *p = list ? list : "";
    struct cidr c;
    while (next_item(&p, item, sizeof(item))) {
        if (parse_addr(item, &c, true)) {
            if (err && errcap)
                snprintf(err, errcap, "\"%s\" is not an IPv4 or IPv6 address or CIDR", item);
            return AG_EINVAL;
        }
    }
    return 0;
}

bool ag_keys_ip_allowed(const char *cidrs, const char *ip)
{
    char item[128];
    const char *p = cidrs ? cidrs : "";
    struct cidr net, who;
    bool any = false, parsed = ip && parse_addr(ip, &who, false) == 0;
    while (next_item(&p, item, sizeof(item))) {
        any = true;
        if (parsed && parse_addr(item, &net, true) == 0 && cidr_contains(&net, &who))
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
