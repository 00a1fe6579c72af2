/* relay/keys_hook.h: the relay's two calls into user keys (keys/keys.h): the limits once the
 * model is known (before an account is chosen), and the settlement when the request is recorded. */
#ifndef AG_RELAY_KEYS_HOOK_H
#define AG_RELAY_KEYS_HOOK_H

#include <stdbool.h>

struct call;

/**
 * Checks the user key the request shows (if any) against its model patterns, rate limits,
 * concurrency and budgets, reserving the request's token estimate. Returns true when the request
 * was refused: it has been answered (403 or 429 with Retry-After, in the client's protocol) and
 * ended. False: go on.
 */
bool ag_relay_keys_begin(struct call *c);

/** Replaces the request's reservation by its real usage; safe to call more than once. */
void ag_relay_keys_settle(struct call *c);

#endif
