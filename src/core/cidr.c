/* core/cidr.c: IP addresses and CIDR blocks in one 16-byte form (see cidr.h). */
#include "core/cidr.h"

#include "core/err.h"
#include "core/str.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool ag_ip_is_v4(const struct ag_ip *ip)
{
    return memcmp(ip->b, v4_prefix, sizeof(v4_prefix)) == 0;
}

static void from_v4(const uint8_t v4[4], struct ag_ip *out)
{
    memcpy(out->b, v4_prefix, sizeof(v4_prefix));
    memcpy(out->b + 12, v4, 4);
}

int ag_ip_parse(const char *s, struct ag_ip *out)
{
    uint8_t v4[4];
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= AG_CIDR_TEXT_MAX)
        return AG_EINVAL;
    if (strchr(s, ':'))
        return inet_pton(AF_INET6, s, out->b) == 1 ? 0 : AG_EINVAL;
    /* inet_pton takes exactly four decimal parts; check there are no leading zeros, which some
     * tools read as octal ("010.0.0.1"), so a rule never means two different things. */
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '0' && (i == 0 || s[i - 1] == '.') && i + 1 < n && s[i + 1] != '.')
            return AG_EINVAL;
    }
    if (inet_pton(AF_INET, s, v4) != 1)
        return AG_EINVAL;
    from_v4(v4, out);
    return 0;
}

int ag_ip_from_sockaddr(const struct sockaddr *sa, struct ag_ip *out)
{
    if (!sa)
        return AG_EINVAL;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        from_v4((const uint8_t *)&in->sin_addr, out);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        memcpy(out->b, &in6->sin6_addr, 16);
        return 0;
    }
    return AG_EINVAL;
}

void ag_ip_format(const struct ag_ip *ip, char *out, size_t cap)
{
    char t[INET6_ADDRSTRLEN] = "";
    if (ag_ip_is_v4(ip))
        inet_ntop(AF_INET, ip->b + 12, t, sizeof(t));
    else
        inet_ntop(AF_INET6, ip->b, t, sizeof(t));
    if (cap)
        ag_strlcpy(out, t, cap);
}

static void mask_host_bits(struct ag_ip *ip, unsigned bits)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned lo = i * 8;
        if (bits >= lo + 8)
            continue;
        ip->b[i] = bits <= lo ? 0 : (uint8_t)(ip->b[i] & (0xff00u >> (bits - lo)));
    }
}

int ag_cidr_parse(const char *s, struct ag_cidr *out, const char **why)
{
    const char *dummy;
    char addr[AG_CIDR_TEXT_MAX];
    struct ag_str t = ag_str_trim(ag_str_c(s ? s : ""));
    struct ag_ip ip;
    int64_t n = -1;
    if (!why)
        why = &dummy;
    if (t.len == 0) {
        *why = "an empty entry";
        return AG_EINVAL;
    }
    if (t.len >= sizeof(addr)) {
        *why = "too long to be an address";
        return AG_EINVAL;
    }
    ptrdiff_t slash = ag_str_find(t, '/');
    size_t alen = slash < 0 ? t.len : (size_t)slash;
    memcpy(addr, t.p, alen);
    addr[alen] = '\0';
    if (slash >= 0) {
        struct ag_str p = ag_str_make(t.p + slash + 1, t.len - (size_t)slash - 1);
        bool digits = p.len > 0 && p.len <= 3;
        for (size_t i = 0; digits && i < p.len; i++)
            digits = p.p[i] >= '0' && p.p[i] <= '9';
        if (!digits || ag_str_to_i64(p, 0, 128, &n) != 0) {
            *why = "the prefix length after '/' must be a number (0-32 for IPv4, 0-128 for IPv6)";
            return AG_EINVAL;
        }
    }
    if (ag_ip_parse(addr, &ip) != 0) {
        *why = "not an IPv4 or IPv6 address";
        return AG_EINVAL;
    }
    bool written_v4 = strchr(addr, ':') == NULL;
    if (written_v4 && n > 32) {
        *why = "an IPv4 prefix length is at most 32";
        return AG_EINVAL;
    }
    unsigned bits = n < 0 ? 128 : written_v4 ? 96 + (unsigned)n : (unsigned)n;
    mask_host_bits(&ip, bits);
    out->net = ip;
    out->bits = (uint8_t)bits;
    /* An IPv6 spelling of an IPv4 block (inside ::ffff:0:0/96) is that IPv4 block. */
    out->v4 = bits >= 96 && ag_ip_is_v4(&ip);
    return 0;
}

bool ag_cidr_match(const struct ag_cidr *c, const struct ag_ip *ip)
{
    if (c->v4 != ag_ip_is_v4(ip))
        return false;
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->net.b, ip->b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t m = (uint8_t)(0xff00u >> rest);
    return (ip->b[full] & m) == c->net.b[full];
}

void ag_cidr_format(const struct ag_cidr *c, char *out, size_t cap)
{
    char a[INET6_ADDRSTRLEN];
    ag_ip_format(&c->net, a, sizeof(a));
    snprintf(out, cap, "%s/%u", a, c->v4 ? (unsigned)c->bits - 96 : (unsigned)c->bits);
}
