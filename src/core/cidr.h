/* core/cidr.h: IP addresses and CIDR blocks (IPv4 and IPv6) for address rules. Every address is
 * held in one 16-byte form: IPv6 as it is, IPv4 as its IPv4-mapped IPv6 address (::ffff:a.b.c.d),
 * so a peer that reaches a dual-stack socket as ::ffff:127.0.0.1 and one that reaches an IPv4
 * socket as 127.0.0.1 are the same address.
 *
 * A block written in IPv4 form ("10.0.0.0/8") matches IPv4 addresses (mapped ones included); a
 * block written in IPv6 form matches IPv6 addresses only, except a block inside ::ffff:0:0/96
 * ("::ffff:10.0.0.0/104"), which is the IPv4 block it spells. So "::/0" is every IPv6 address and
 * "0.0.0.0/0" every IPv4 one. */
#ifndef AG_CORE_CIDR_H
#define AG_CORE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/** Longest text of an address or block ("ffff:...:ffff/128" and a NUL fit). */
#define AG_CIDR_TEXT_MAX 64

/** An address in its 16-byte form. */
struct ag_ip {
    uint8_t b[16];
};

/** A block: the address with its host bits cleared, and the prefix length over the 16 bytes. */
struct ag_cidr {
    struct ag_ip net;
    uint8_t bits; /* 0..128; an IPv4 "/n" is 96 + n */
    bool v4;      /* matches IPv4 addresses (else IPv6 ones) */
};

/** True when ip is an IPv4 address (an IPv4-mapped IPv6 address). */
bool ag_ip_is_v4(const struct ag_ip *ip);

/**
 * Parses an address without a prefix ("127.0.0.1", "::1", "::ffff:10.0.0.1") into *out. Dotted
 * IPv4 must have four decimal parts; zone ids ("%eth0") are refused. Returns 0 or AG_EINVAL.
 */
int ag_ip_parse(const char *s, struct ag_ip *out);

/**
 * The address of a socket address (AF_INET or AF_INET6) into *out. Returns 0, or AG_EINVAL for
 * another family.
 */
int ag_ip_from_sockaddr(const struct sockaddr *sa, struct ag_ip *out);

/** Writes ip as text into out (cap bytes, NUL-terminated): IPv4 dotted, IPv6 in RFC 5952 form. */
void ag_ip_format(const struct ag_ip *ip, char *out, size_t cap);

/**
 * Parses a block "ADDR/N" or a lone address (a host: /32 for IPv4, /128 for IPv6) into *out;
 * surrounding spaces are allowed. N is 0..32 for IPv4 and 0..128 for IPv6, in decimal without a
 * sign. Host bits set under the prefix are cleared ("10.1.2.3/8" is 10.0.0.0/8). Returns 0, or
 * AG_EINVAL with a reason (static text) in *why when why is not NULL.
 */
int ag_cidr_parse(const char *s, struct ag_cidr *out, const char **why);

/** True when ip lies inside c (see the family rule at the top of this file). */
bool ag_cidr_match(const struct ag_cidr *c, const struct ag_ip *ip);

/** Writes c as text ("10.0.0.0/8", "::1/128") into out (cap bytes, NUL-terminated). */
void ag_cidr_format(const struct ag_cidr *c, char *out, size_t cap);

#endif
