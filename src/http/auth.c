/* http/auth.c: the auth modes of the configuration applied to one request (see auth.h). */
#include "http/auth.h"

#include "core/err.h"
#include "core/rand.h"
#include "http/server.h"

#include <string.h>

static const char *const mode_names[] = {"off", "strict", "all_except_health", "auto"};

int ag_auth_mode_parse(const char *s, enum ag_auth_mode *out)
{
    for (int i = 0; s && i < 4; i++) {
        if (strcmp(s, mode_names[i]) == 0) {
            *out = (enum ag_auth_mode)i;
            return 0;
        }
    }
    return AG_EINVAL;
}

const char *ag_auth_mode_name(enum ag_auth_mode m)
{
    return (unsigned)m < 4 ? mode_names[m] : "?";
}

enum ag_auth_mode ag_auth_effective(const struct ag_auth_policy *p)
{
    if (p->mode == AG_AUTH_MODE_AUTO)
        return p->allow_lan ? AG_AUTH_MODE_ALL_EXCEPT_HEALTH : AG_AUTH_MODE_OFF;
    return p->mode;
}

struct ag_str ag_auth_client_key(const struct ag_http_req *req)
{
    struct ag_str v = ag_http_req_header(req, "authorization");
    if (v.p) {
        v = ag_str_trim(v);
        if (ag_str_has_prefix_ci(v, "bearer "))
            v = ag_str_trim(ag_str_make(v.p + 7, v.len - 7));
        return v;
    }
    v = ag_http_req_header(req, "x-api-key");
    if (v.p)
        return ag_str_trim(v);
    v = ag_http_req_header(req, "x-goog-api-key");
    if (v.p)
        return ag_str_trim(v);
    if (ag_str_has_prefix(req->path, "/v1beta/"))
        return ag_http_req_query(req, "key");
    return AG_STR_NULL;
}

static enum ag_auth_result against(const char *secret, struct ag_str key)
{
    if (!secret || !secret[0])
        return AG_AUTH_NO_SECRET;
    if (!key.p || key.len == 0)
        return AG_AUTH_MISSING;
    return ag_secret_eq(secret, strlen(secret), key.p, key.len) ? AG_AUTH_ALLOW : AG_AUTH_WRONG;
}

enum ag_keys_verdict ag_auth_user_key(const struct ag_auth_policy *p, const struct ag_http_req *req,
                                      enum ag_route_access access)
{
    if (!p || !p->keys || (access != AG_ACCESS_PROXY && access != AG_ACCESS_HEALTH))
        return AG_KEYS_NOT_A_KEY;
    struct ag_str key = ag_auth_client_key(req);
    return ag_keys_admit(p->keys, key.p, key.len, req->client_ip, NULL);
}

enum ag_auth_result ag_auth_check(const struct ag_auth_policy *p, const struct ag_http_req *req,
                                  enum ag_route_access access)
{
    enum ag_auth_mode mode = ag_auth_effective(p);
    enum ag_keys_verdict kv = ag_auth_user_key(p, req, access);
    if (kv == AG_KEYS_OK)
        return AG_AUTH_ALLOW;
    if (kv != AG_KEYS_NOT_A_KEY)
        return AG_AUTH_WRONG;
    switch (access) {
    case AG_ACCESS_PUBLIC:
        return AG_AUTH_ALLOW;
    case AG_ACCESS_ADMIN:
        /* Admin routes are never open: the admin password when set, else the API key. */
        if (p->admin_password && p->admin_password[0])
            return against(p->admin_password, ag_auth_client_key(req));
        return against(p->api_key, ag_auth_client_key(req));
    case AG_ACCESS_HEALTH:
        if (mode != AG_AUTH_MODE_STRICT)
            return AG_AUTH_ALLOW;
        return against(p->api_key, ag_auth_client_key(req));
    case AG_ACCESS_PROXY:
        if (mode == AG_AUTH_MODE_OFF)
            return AG_AUTH_ALLOW;
        return against(p->api_key, ag_auth_client_key(req));
    }
    return AG_AUTH_WRONG;
}
