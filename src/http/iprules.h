/* http/iprules.h: the client address rules (security.ip_allow / security.ip_deny) and the log of
 * refused addresses. The server checks each connection's peer address at accept, before reading
 * anything: an address in a deny block, or outside every allow block when there are any, is
 * closed at once (see docs/security.md). Deny wins over allow; an empty allow list allows every
 * address. IPv4 peers seen as IPv4-mapped IPv6 addresses match IPv4 blocks (core/cidr.h).
 *
 * Threading: the loop thread only. */
#ifndef AG_HTTP_IPRULES_H
#define AG_HTTP_IPRULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/cidr.h"

/** Distinct addresses the refusal log remembers (the least recently refused one goes first). */
#define AG_IP_REFUSALS_MAX 128

struct ag_ip_rules;
struct ag_ip_refusals;

/**
 * Compiles the two lists (each item an address or CIDR block, as core/cidr.h parses them). On a
 * bad item returns NULL and appends to errmsg which list, which item and why. Two empty lists give
 * rules that allow everything. The strings are not kept.
 */
struct ag_ip_rules *ag_ip_rules_new(const char *const *allow, size_t nallow,
                                    const char *const *deny, size_t ndeny, struct ag_buf *errmsg);

/** Frees rules (NULL is a no-op). */
void ag_ip_rules_free(struct ag_ip_rules *r);

/** True when ip may connect: not in a deny block, and in an allow block or no allow list. NULL
 * rules allow everything. */
bool ag_ip_rules_allows(const struct ag_ip_rules *r, const struct ag_ip *ip);

/** True when the rules refuse nobody (no lists at all). */
bool ag_ip_rules_empty(const struct ag_ip_rules *r);

/** One refused address. */
struct ag_ip_refusal {
    char addr[AG_CIDR_TEXT_MAX]; /* as text: "192.0.2.7", "2001:db8::1" */
    uint64_t count;              /* connections refused from it since it entered the log */
    int64_t first_ms, last_ms;   /* unix ms */
};

/** Creates an empty refusal log. */
struct ag_ip_refusals *ag_ip_refusals_new(void);

/** Frees a log (NULL is a no-op). */
void ag_ip_refusals_free(struct ag_ip_refusals *l);

/** Counts one refused connection from ip at now_ms (unix ms); returns the address's count in the
 * log (1 for an address new to it), 0 when l is NULL. */
uint64_t ag_ip_refusals_note(struct ag_ip_refusals *l, const struct ag_ip *ip, int64_t now_ms);

/** Copies up to cap entries, most recently refused first, into out; returns how many. */
size_t ag_ip_refusals_list(const struct ag_ip_refusals *l, struct ag_ip_refusal *out, size_t cap);

/** Connections refused in all since start (entries pushed out of the log included). */
uint64_t ag_ip_refusals_total(const struct ag_ip_refusals *l);

#endif
