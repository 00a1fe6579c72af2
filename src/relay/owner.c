/* relay/owner.c: which caller a request speaks for, as far as stored state is concerned (see
 * struct ag_relay_owner in relay_internal.h). The credential is read the way the auth check reads
 * it, so whatever key the auth layer accepted is the one a stored response is bound to. */
#include "config/config.h"
#include "core/hash.h"
#include "http/auth.h"
#include "http/server.h"
#include "http/ws.h"
#include "relay/relay_internal.h"

#include <string.h>

void ag_relay_owner_of(struct ag_relay_owner *o, const struct ag_config *cfg,
                       const struct ag_http_req *req)
{
    struct ag_auth_policy p = {
        .mode = cfg->auth.mode,
        .allow_lan = cfg->server.allow_lan_access,
    };
    memset(o, 0, sizeof(*o));
    o->memo = ag_http_req_memo(req);
    /* Without auth every caller is the same anonymous one: binding to an unchecked header would
     * only hide a response from the same user's other tools. A user key is checked in every mode
     * (the admission marks the request authed), so what it stores stays its own even then. */
    if (ag_auth_effective(&p) == AG_AUTH_MODE_OFF && !req->authed)
        return;
    struct ag_str key = ag_auth_client_key(req);
    o->bound = true;
    ag_sha256(key.p, key.p ? key.len : 0, o->sha256);
}
