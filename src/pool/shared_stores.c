/* pool/shared_stores.c: what the pool shares through Redis besides shared.c's cooldowns,
 * bindings and account records: removed accounts (a notice "acct.del" naming the e-mail; every
 * other instance removes its account of that address) and, for tokens.c, the refreshed token an
 * instance publishes after it refreshed under the account's refresh lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yyjson.h>

#include "core/err.h"
#include "core/log.h"
#include "core/str.h"
#include "core/time.h"
#include "pool/pool_internal.h"
#include "state/state.h"
#include "state/stores.h"
#include "store/accounts.h"

static void lower_copy(char *dst, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < cap; i++)
        dst[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    dst[i] = '\0';
}

void pool_shared_removed(struct ag_pool *p, const struct pool_acct *a,
                         struct pool_acct *const *kept, size_t nkept)
{
    struct ag_state *st = pool_shared_state(p);
    char email[AG_STATE_NAME_MAX];
    if (!st || !a->rec.email || !a->rec.email[0])
        return;
    for (size_t i = 0; i < nkept; i++) /* the same address under a new id: not removed */
        if (kept[i]->rec.email && strcasecmp(kept[i]->rec.email, a->rec.email) == 0)
            return;
    lower_copy(email, sizeof(email), a->rec.email);
    pool_shared_forget(p, email);
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_doc_set_root(d, o);
    yyjson_mut_obj_add_strcpy(d, o, "email", email);
    char *json = yyjson_mut_write(d, 0, NULL);
    yyjson_mut_doc_free(d);
    if (json && !ag_state_notify(st, "acct.del", json))
        ag_log_warn("pool: the removal of %s could not reach the other instances (Redis is "
                    "down): remove it there too",
                    email);
    free(json);
}

/* Another instance removed an account: so does this one (by e-mail; ids differ). */
static void on_removed(void *ud, const char *instance, yyjson_val *body)
{
    struct ag_pool *p = ud;
    struct ag_account have = {0};
    const char *email = yyjson_get_str(yyjson_obj_get(body, "email"));
    (void)instance;
    if (!email || !email[0] || ag_store_account_get_by_email(p->store, email, &have) != 0)
        return;
    int rc = ag_store_account_delete(p->store, have.id);
    if (rc && rc != AG_ENOTFOUND) {
        ag_log_warn("pool: cannot remove account %s as another instance did: %s", email,
                    ag_strerror(rc));
    } else {
        pool_shared_forget(p, email);
        ag_log_info("pool: account %s removed, as another instance did", email);
        ag_pool_reload(p); /* its notice finds nothing to send: the others have removed it */
    }
    ag_account_dispose(&have);
}

void pool_shared_listen(struct ag_pool *p, struct ag_state *st, bool on)
{
    if (st)
        (void)ag_state_listen(st, "acct.del", on ? on_removed : NULL, on ? p : NULL);
}

void pool_shared_token_put(struct ag_pool *p, const struct pool_acct *a, const char *access_token,
                           int64_t expiry_s, const char *refresh_token)
{
    struct ag_state *st = pool_shared_state(p);
    char email[AG_STATE_NAME_MAX];
    int64_t ttl_ms = (expiry_s - AG_POOL_REFRESH_SKEW_S) * 1000 - ag_wall_ms();
    if (!st || !a->rec.email || ttl_ms <= 0)
        return;
    lower_copy(email, sizeof(email), a->rec.email);
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_doc_set_root(d, o);
    yyjson_mut_obj_add_strcpy(d, o, "at", access_token);
    yyjson_mut_obj_add_int(d, o, "exp", expiry_s);
    if (refresh_token)
        yyjson_mut_obj_add_strcpy(d, o, "rt", refresh_token);
    size_t len = 0;
    char *json = yyjson_mut_write(d, 0, &len);
    yyjson_mut_doc_free(d);
    if (json)
        (void)ag_state_put(st, "tk", email, NULL, json, len, ttl_ms, AG_POOL_SHARED_TOKENS_MAX);
    free(json);
}

int pool_shared_token_parse(const char *data, size_t len, char **access_token, int64_t *expiry_s,
                            char **refresh_token)
{
    yyjson_doc *d = yyjson_read(data, len, 0);
    yyjson_val *o = yyjson_doc_get_root(d);
    const char *at = yyjson_get_str(yyjson_obj_get(o, "at"));
    const char *rt = yyjson_get_str(yyjson_obj_get(o, "rt"));
    int64_t exp = yyjson_get_sint(yyjson_obj_get(o, "exp"));
    int rc = AG_EPARSE;
    if (at && at[0] && exp > 0) {
        *access_token = ag_strdup(at);
        *refresh_token = rt && rt[0] ? ag_strdup(rt) : NULL;
        *expiry_s = exp;
        rc = 0;
    }
    yyjson_doc_free(d);
    return rc;
}
