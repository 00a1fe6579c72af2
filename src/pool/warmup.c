/* pool/warmup.c: the warm-up eligibility rule (pool/warmup.h), read from the pool's accounts:
 * state, cooldowns, and the per-model remaining fractions of the stored quota. */
#include "pool/warmup.h"

#include <string.h>
#include <yyjson.h>

#include "core/json_depth.h"
#include "core/str.h"
#include "pool/pool_internal.h"
#include "route/models.h"

const char *ag_pool_warm_verdict_name(enum ag_pool_warm_verdict v)
{
    switch (v) {
    case AG_POOL_WARM_GO:
        return "go";
    case AG_POOL_WARM_UNKNOWN:
        return "unknown_account";
    case AG_POOL_WARM_DISABLED:
        return "disabled";
    case AG_POOL_WARM_FORBIDDEN:
        return "forbidden";
    case AG_POOL_WARM_COOLING:
        return "cooling";
    case AG_POOL_WARM_QUOTA_UNKNOWN:
        return "quota_unknown";
    case AG_POOL_WARM_NO_MODEL:
        return "no_model";
    case AG_POOL_WARM_QUOTA_NOT_FULL:
        return "quota_not_full";
    }
    return "unknown";
}

/* Rank of a candidate model: lower is better. */
static int rank(const char *id, const char *preferred)
{
    if (preferred && strcmp(id, preferred) == 0)
        return 0;
    return ag_str_has_suffix(ag_str_c(id), "-thinking") ? 2 : 1;
}

/* Picks the model of group to ping on a from its stored quota; out->remaining gets the group's
 * best fraction. */
static void pick_model(const struct pool_acct *a, const char *group, const char *preferred,
                       struct ag_pool_warm *out)
{
    yyjson_doc *doc = NULL;
    yyjson_val *k, *v;
    size_t idx, max;
    int best = 3;
    bool seen = false;
    out->remaining = -1;
    if (!a->rec.quota_json)
        return;
    doc = ag_json_depth_read(a->rec.quota_json, strlen(a->rec.quota_json), AG_JSON_DEPTH_DEFAULT,
                             NULL, NULL, NULL);
    yyjson_obj_foreach(yyjson_doc_get_root(doc), idx, max, k, v)
    {
        char g[AG_POOL_GROUP_MAX];
        const char *id = yyjson_get_str(k);
        yyjson_val *r = yyjson_obj_get(v, "remaining");
        double rem = yyjson_is_num(r) ? yyjson_get_num(r) : 0.0;
        ag_models_quota_group(ag_str_make(id, yyjson_get_len(k)), g, sizeof(g));
        if (strcmp(g, group) != 0)
            continue;
        seen = true;
        if (rem > out->remaining)
            out->remaining = rem;
        if (rem < AG_POOL_WARM_FULL || pool_acct_model_gone(a, id))
            continue;
        int rk = rank(id, preferred);
        if (rk < best) {
            best = rk;
            ag_strlcpy(out->model, id, sizeof(out->model));
        }
    }
    yyjson_doc_free(doc);
    if (!seen)
        out->remaining = -1;
}

void ag_pool_warm_check(struct ag_pool *p, const char *account_id, const char *group,
                        const char *preferred, struct ag_pool_warm *out)
{
    memset(out, 0, sizeof(*out));
    out->remaining = -1;
    const struct pool_acct *a = account_id ? pool_find_acct(p, account_id) : NULL;
    int64_t now = pool_now_ms(p);
    if (!a) {
        out->verdict = AG_POOL_WARM_UNKNOWN;
        return;
    }
    if (a->rec.disabled) {
        out->verdict = AG_POOL_WARM_DISABLED;
        return;
    }
    if (a->rec.forbidden && !(a->rec.forbidden_until > 0 && now / 1000 >= a->rec.forbidden_until)) {
        out->verdict = AG_POOL_WARM_FORBIDDEN;
        return;
    }
    if (pool_acct_cooling(a, pool_cd_key(group, NULL), now, &out->cooling_until_ms)) {
        out->verdict = AG_POOL_WARM_COOLING;
        return;
    }
    pick_model(a, group, preferred, out);
    if (out->remaining < 0) {
        out->verdict = a->rec.quota_json ? AG_POOL_WARM_NO_MODEL : AG_POOL_WARM_QUOTA_UNKNOWN;
        out->model[0] = '\0';
    } else if (!out->model[0]) {
        out->verdict = AG_POOL_WARM_QUOTA_NOT_FULL;
    } else {
        out->verdict = AG_POOL_WARM_GO;
    }
}
