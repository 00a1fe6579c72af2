/* relay/keys_hook.c: the relay's side of user keys (see keys_hook.h). */
#include "relay/keys_hook.h"

#include "core/str.h"
#include "http/auth.h"
#include "http/server.h"
#include "keys/keys.h"
#include "relay/call.h"
#include "relay/relay_internal.h"

#include <stdio.h>

bool ag_relay_keys_begin(struct call *c)
{
    struct ag_keys *ks = c->relay->keys;
    /* Counting tokens costs no upstream call: neither limited nor charged. */
    if (!ks || !c->creq || c->creq->kind == AG_REQ_COUNT_TOKENS)
        return false;
    struct ag_str key = ag_auth_client_key(c->req);
    char model[256];
    ag_str_copy(model, sizeof(model), c->creq->model);
    int64_t est = ag_keys_estimate(c->req->body.len, c->creq->gen.max_tokens);
    struct ag_keys_refusal kr;
    if (ag_keys_begin(ks, key.p, key.len, model, est, &c->owner.key, &kr) == 0)
        return false;
    if (kr.retry_after_s > 0) {
        char v[24];
        snprintf(v, sizeof(v), "%lld", (long long)kr.retry_after_s);
        c->relay->conn->add_header(c->req, "retry-after", ag_str_c(v));
    }
    enum ag_error_kind kind = kr.status == 401   ? AG_PERR_AUTH
                              : kr.status == 403 ? AG_PERR_PERMISSION
                              : kr.status == 503 ? AG_PERR_OVERLOADED
                                                 : AG_PERR_RATE_LIMIT;
    call_fail(c, kr.status, kind, kr.kind, "%s", kr.message);
    return true;
}

void ag_relay_keys_settle(struct call *c)
{
    ag_keys_settle(c->relay->keys, &c->owner.key, c->usage.input, c->usage.output);
}
