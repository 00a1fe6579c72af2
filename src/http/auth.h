/* http/auth.h: who may call what. The policy is plain data taken from the configuration; the
 * server asks ag_auth_check() before any handler runs. Keys are compared in constant time. */
#ifndef AG_HTTP_AUTH_H
#define AG_HTTP_AUTH_H

#include <stdbool.h>

#include "config/config.h"
#include "core/str.h"
#include "http/router.h"
#include "keys/keys.h"

struct ag_http_req;

/* enum ag_auth_mode (AG_AUTH_MODE_OFF, _STRICT, _ALL_EXCEPT_HEALTH, _AUTO) is the config key's. */

struct ag_auth_policy {
    enum ag_auth_mode mode;
    bool allow_lan;             /* resolves AG_AUTH_MODE_AUTO */
    const char *api_key;        /* borrowed; NULL or "" = none */
    const char *admin_password; /* borrowed; NULL or "" = use api_key for admin routes */
    struct ag_keys *keys;       /* borrowed; user keys (keys/keys.h), NULL = none */
};

enum ag_auth_result {
    AG_AUTH_ALLOW = 0,
    AG_AUTH_MISSING,   /* a key was required and none was sent */
    AG_AUTH_WRONG,     /* a key was sent and is not the right one */
    AG_AUTH_NO_SECRET, /* the route needs a secret and none is configured */
};

/** Parses "off" | "strict" | "all_except_health" | "auto"; 0 or AG_EINVAL. */
int ag_auth_mode_parse(const char *s, enum ag_auth_mode *out);

/** Name of a mode as written in the configuration. */
const char *ag_auth_mode_name(enum ag_auth_mode m);

/** The mode in force once "auto" is resolved against LAN access. */
enum ag_auth_mode ag_auth_effective(const struct ag_auth_policy *p);

/**
 * The key the client sent, in this order: `Authorization: Bearer K` (a value without the Bearer
 * prefix is taken whole), `x-api-key`, `x-goog-api-key`, and `?key=` on /v1beta/ paths only.
 * Returns a slice into the request (p NULL when none).
 */
struct ag_str ag_auth_client_key(const struct ag_http_req *req);

/**
 * What the user keys say about the key req shows, for a proxy or health route (admin and public
 * routes answer AG_KEYS_NOT_A_KEY: a user key never opens the admin API). In every auth mode a
 * user key is held to its state, expiry and addresses; the caller answers a refusing verdict with
 * 401 (403 for AG_KEYS_IP_REFUSED) and ag_keys_verdict_message().
 */
enum ag_keys_verdict ag_auth_user_key(const struct ag_auth_policy *p, const struct ag_http_req *req,
                                      enum ag_route_access access);

/** Decides whether req may reach a route of the given access class. An active user key from an
 * allowed address opens proxy and health routes like the API key; a refused one is
 * AG_AUTH_WRONG. */
enum ag_auth_result ag_auth_check(const struct ag_auth_policy *p, const struct ag_http_req *req,
                                  enum ag_route_access access);

#endif
