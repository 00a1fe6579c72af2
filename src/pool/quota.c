/* pool/quota.c: the quota the pool schedules by — each account's stored quota_json parsed into
 * quota groups (route/models.h ag_models_quota_group: remaining = the best model of the group,
 * reset = the earliest), and its refresh in the background.
 *
 * A refresh is loadCodeAssist (the tier; ultra / pro / free) then fetchAvailableModels (remaining
 * fraction and reset time per model), stored with ag_store_account_set_quota, then, best effort,
 * retrieveUserQuotaSummary (the 5-hour and weekly windows per group, stored with
 * ag_store_account_set_quota_windows; a failure there keeps the last windows). It needs a usable
 * access token: when the account has none, the account's token flight (tokens.c, single-flight)
 * runs first. A timer ticks every 30 s and starts up to AG_POOL_QUOTA_PARALLEL refreshes for:
 * accounts marked due (a quota error, ag_pool_refresh_quota), accounts whose quota is older than
 * quota.refresh_interval_s (or never fetched), and accounts whose used-up group has passed its
 * reset time. A failed refresh is not retried for AG_POOL_QUOTA_DEBOUNCE_MS.
 *
 * The parsed quota and model list are a cache of the account's record, filled when something
 * first reads them (the scheduler, a lease, a cooldown, the quota timer) and dropped whenever the
 * record changes: loading a thousand accounts parses none of their JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/json_depth.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "pool/codeassist.h"
#include "pool/pool_internal.h"
#include "route/forward.h"
#include "route/models.h"
#include "store/accounts.h"
#include "upstream/cloudcode.h"

#define TICK_MS       30000
#define FIRST_TICK_MS 30000

struct pool_qjob {
    struct pool_acct *acct;
    struct ag_config *cfg; /* referenced: the target borrows its strings */
    char *token, *project, *proxy;
    enum ag_tier tier;
    struct ag_buf body;
    struct ag_cloudcode_target target;
    struct ag_cloudcode_call *call;
    bool bare; /* fetchAvailableModels was retried with {} after a 403 */
};

/* ---- parsing ---- */

static uint32_t limit_of(yyjson_val *v)
{
    return yyjson_is_uint(v) && yyjson_get_uint(v) <= UINT32_MAX ? (uint32_t)yyjson_get_uint(v) : 0;
}

/* An API-key account's models come from its stored comma-separated list (no quota to read). */
static void provider_models_parse(struct pool_acct *a)
{
    const char *s = a->rec.models;
    size_t n = 1;
    if (!s || !*s)
        return;
    for (const char *q = s; *q; q++)
        n += *q == ',';
    free(a->models);
    a->models = ag_calloc(n, sizeof(*a->models));
    a->nmodels = 0;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        while (len && (*s == ' ' || *s == '\t'))
            s++, len--;
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        if (len && len < sizeof(a->models[0].id)) {
            memcpy(a->models[a->nmodels].id, s, len);
            a->models[a->nmodels++].id[len] = '\0';
        }
        if (!end)
            break;
        s = end + 1;
    }
}

/* The quota group of model id (ag_models_quota_group), remembered per pool. */
static void group_of(struct ag_pool *p, struct ag_str id, char *group, size_t cap)
{
    for (size_t i = 0; i < p->ngroup_memo && id.len < sizeof(p->group_memo[0].id); i++) {
        if (strlen(p->group_memo[i].id) == id.len &&
            memcmp(p->group_memo[i].id, id.p, id.len) == 0) {
            ag_strlcpy(group, p->group_memo[i].group, cap);
            return;
        }
    }
    ag_models_quota_group(id, group, cap);
    if (p->ngroup_memo < AG_POOL_GROUP_MEMO && id.len < sizeof(p->group_memo[0].id) &&
        memchr(id.p, '\0', id.len) == NULL) {
        memcpy(p->group_memo[p->ngroup_memo].id, id.p, id.len);
        p->group_memo[p->ngroup_memo].id[id.len] = '\0';
        ag_strlcpy(p->group_memo[p->ngroup_memo].group, group, sizeof(p->group_memo[0].group));
        p->ngroup_memo++;
    }
}

/* Adds the retired ids model k replaces (v's "replaces" array of strings) to a->replaces. */
static void replaces_parse(struct pool_acct *a, yyjson_val *k, yyjson_val *v)
{
    yyjson_val *arr = yyjson_obj_get(v, "replaces"), *old;
    size_t j, jmax;
    yyjson_arr_foreach(arr, j, jmax, old)
    {
        if (!yyjson_is_str(old))
            continue;
        a->replaces = ag_realloc(a->replaces, (a->nreplaces + 1) * sizeof(*a->replaces));
        a->replaces[a->nreplaces].from =
            ag_str_dup(ag_str_make(yyjson_get_str(old), yyjson_get_len(old)));
        a->replaces[a->nreplaces++].to =
            ag_str_dup(ag_str_make(yyjson_get_str(k), yyjson_get_len(k)));
    }
}

/* Reads a->quota and a->models from a->rec (quota_json; models for an API-key account). */
static void quota_parse(struct pool_acct *a)
{
    yyjson_doc *doc;
    yyjson_val *k, *v;
    size_t idx, max;
    a->quota_parsed = true;
    if (!a->rec.quota_json)
        goto provider;
    doc = ag_json_depth_read(a->rec.quota_json, strlen(a->rec.quota_json), AG_JSON_DEPTH_DEFAULT,
                             NULL, NULL, NULL);
    if (!yyjson_is_obj(yyjson_doc_get_root(doc))) {
        yyjson_doc_free(doc); /* unreadable: no quota and no model list, as if never fetched */
        goto provider;
    }
    a->quota = ag_calloc(yyjson_obj_size(yyjson_doc_get_root(doc)) + 1, sizeof(*a->quota));
    a->models = ag_calloc(yyjson_obj_size(yyjson_doc_get_root(doc)) + 1, sizeof(*a->models));
    yyjson_obj_foreach(yyjson_doc_get_root(doc), idx, max, k, v)
    {
        if (yyjson_get_len(k) >= sizeof(a->models[0].id) ||
            strlen(yyjson_get_str(k)) < yyjson_get_len(k))
            continue; /* an id it cannot keep whole is no model of its list */
        struct pool_model *m = &a->models[a->nmodels++];
        ag_strlcpy(m->id, yyjson_get_str(k), sizeof(m->id));
        m->max_output_tokens = limit_of(yyjson_obj_get(v, "max_output_tokens"));
        m->thinking_budget = limit_of(yyjson_obj_get(v, "thinking_budget"));
        replaces_parse(a, k, v);
    }
    yyjson_obj_foreach(yyjson_doc_get_root(doc), idx, max, k, v)
    {
        char group[AG_POOL_GROUP_MAX];
        yyjson_val *r = yyjson_obj_get(v, "remaining"), *t = yyjson_obj_get(v, "reset_at");
        double rem = yyjson_is_num(r) ? yyjson_get_num(r) : 0.0;
        int64_t reset = yyjson_is_int(t) ? yyjson_get_sint(t) : 0;
        struct pool_quota *q = NULL;
        group_of(a->pool, ag_str_make(yyjson_get_str(k), yyjson_get_len(k)), group, sizeof(group));
        for (size_t i = 0; i < a->nquota && !q; i++) {
            if (strcmp(a->quota[i].group, group) == 0)
                q = &a->quota[i];
        }
        if (!q) {
            q = &a->quota[a->nquota++];
            ag_strlcpy(q->group, group, sizeof(q->group));
            q->remaining = rem;
            q->reset_at = reset;
            continue;
        }
        if (rem > q->remaining)
            q->remaining = rem;
        if (reset > 0 && (q->reset_at <= 0 || reset < q->reset_at))
            q->reset_at = reset;
    }
    yyjson_doc_free(doc);
provider:
    if (a->kind != AG_PROVIDER_GOOGLE)
        provider_models_parse(a);
    a->models_sig = AG_FNV_INIT;
    for (size_t i = 0; i < a->nmodels; i++)
        a->models_sig =
            ag_hash_fnv1a_add(a->models_sig, a->models[i].id, strlen(a->models[i].id) + 1);
}

void pool_quota_stale(struct pool_acct *a)
{
    free(a->quota);
    a->quota = NULL;
    a->nquota = 0;
    free(a->models);
    a->models = NULL;
    a->nmodels = 0;
    for (size_t i = 0; i < a->nreplaces; i++) {
        free(a->replaces[i].from);
        free(a->replaces[i].to);
    }
    free(a->replaces);
    a->replaces = NULL;
    a->nreplaces = 0;
    a->quota_parsed = false;
    a->pool->fwd_stale = true;
}

/* a with its quota and model list read: they are a cache of a->rec, filled on first use (through
 * a const view too: the account itself is never const, only the callers' view of it). */
static const struct pool_acct *loaded(const struct pool_acct *a)
{
    if (!a->quota_parsed)
        quota_parse((struct pool_acct *)a);
    return a;
}

size_t pool_acct_nmodels(const struct pool_acct *a)
{
    return loaded(a)->nmodels;
}

const struct pool_model *pool_acct_model(const struct pool_acct *a, const char *id)
{
    a = loaded(a);
    for (size_t i = 0; id && i < a->nmodels; i++) {
        if (strcmp(a->models[i].id, id) == 0)
            return &a->models[i];
    }
    return NULL;
}

bool pool_acct_model_gone(const struct pool_acct *a, const char *id)
{
    for (size_t i = 0; id && i < a->ngone; i++) {
        if (strcmp(a->gone[i], id) == 0)
            return true;
    }
    return false;
}

void pool_acct_model_gone_add(struct pool_acct *a, const char *id)
{
    if (!id || !*id || pool_acct_model_gone(a, id) || a->ngone >= AG_POOL_GONE_MAX)
        return;
    a->gone = ag_realloc(a->gone, (a->ngone + 1) * sizeof(*a->gone));
    ag_strlcpy(a->gone[a->ngone++], id, sizeof(a->gone[0]));
    ag_log_info("pool: %s does not serve %s (404): not offered it until its next quota refresh",
                a->rec.email, id);
}

/* The retired ids every account's stored models replace ("replaces"), over the built-in ones. */
static void forward_rebuild(struct ag_pool *p)
{
    struct ag_forward *f = ag_forward_new();
    ag_forward_add_builtin(f);
    for (size_t i = 0; i < p->naccts; i++) {
        const struct pool_acct *a = p->accts[i];
        if (a->rec.disabled || !a->rec.quota_json)
            continue;
        a = loaded(a);
        for (size_t j = 0; j < a->nreplaces; j++)
            (void)ag_forward_add(f, ag_str_c(a->replaces[j].from), ag_str_c(a->replaces[j].to));
    }
    ag_forward_free(p->fwd);
    p->fwd = f;
    p->fwd_stale = false;
}

const struct ag_forward *ag_pool_forward(struct ag_pool *p)
{
    if (!p->fwd || p->fwd_stale)
        forward_rebuild(p);
    return p->fwd;
}

void pool_quota_for(const struct pool_acct *a, const char *group, const char *model,
                    double *remaining, int64_t *reset_at)
{
    char key[AG_POOL_GROUP_MAX];
    *remaining = -1;
    *reset_at = 0;
    if (group && *group)
        ag_strlcpy(key, group, sizeof(key));
    else if (model && *model)
        ag_models_quota_group(ag_str_c(model), key, sizeof(key));
    else
        return;
    a = loaded(a);
    for (size_t i = 0; i < a->nquota; i++) {
        if (strcmp(a->quota[i].group, key) == 0) {
            *remaining = a->quota[i].remaining;
            *reset_at = a->quota[i].reset_at;
            return;
        }
    }
}

/* ---- refresh ---- */

static void on_tick(uv_timer_t *t);

static void schedule_now(struct ag_pool *p)
{
    if (!p->closing)
        uv_timer_start(&p->quota_timer, on_tick, 0, TICK_MS);
}

static void job_free(struct pool_qjob *j)
{
    ag_config_unref(j->cfg);
    free(j->token);
    free(j->project);
    free(j->proxy);
    ag_buf_dispose(&j->body);
    free(j);
}

/* Ends a's refresh: failures are logged and not retried before the debounce. */
static void job_end(struct pool_qjob *j, const char *failure)
{
    struct pool_acct *a = j->acct;
    struct ag_pool *p = a->pool;
    if (failure) {
        ag_log_warn("pool: quota refresh of %s failed: %s", a->rec.email, failure);
        a->quota_next_ms = pool_now_ms(p) + AG_POOL_QUOTA_DEBOUNCE_MS;
    }
    a->qjob = NULL;
    p->nqjobs--;
    job_free(j);
    schedule_now(p); /* others may be due */
}

static bool call(struct pool_qjob *j, const char *method, const char *body, size_t len,
                 ag_cloudcode_done_cb done)
{
    struct ag_cloudcode_call_spec spec = {
        .target = &j->target,
        .method = method,
        .access_token = j->token,
        .project = NULL, /* account calls send no x-goog-user-project (as Antigravity does) */
        .body = body,
        .body_len = len,
        .max_body = 4 * 1024 * 1024,
        .on_done = done,
        .ud = j,
    };
    int err = 0;
    j->call = ag_cloudcode_call_start(j->acct->pool->client, &spec, &err);
    return j->call != NULL;
}

/* The answer failed: a message for the log; a 401 makes the token stale. */
static bool failed(struct pool_qjob *j, const char *what, const struct ag_cloudcode_result *res,
                   char *msg, size_t cap)
{
    if (!res->err && res->status >= 200 && res->status < 300)
        return false;
    if (res->err)
        snprintf(msg, cap, "%s: %s", what, res->message);
    else
        snprintf(msg, cap, "%s: HTTP %d", what, res->status);
    if (res->status == 401)
        j->acct->force_refresh = true;
    return true;
}

static void on_summary(struct ag_cloudcode_call *cc, const struct ag_cloudcode_result *res,
                       void *ud);

static void on_models(struct ag_cloudcode_call *cc, const struct ag_cloudcode_result *res, void *ud)
{
    struct pool_qjob *j = ud;
    struct pool_acct *a = j->acct;
    struct ag_pool *p = a->pool;
    char msg[256], *quota = NULL;
    size_t n = 0;
    int64_t now_s = pool_now_ms(p) / 1000;
    int rc;
    (void)cc;
    j->call = NULL;
    if (!res->err && res->status == 403 && !j->bare && j->project && *j->project) {
        /* As Antigravity: a 403 to the account's project is asked again without one. */
        j->bare = true;
        ag_log_info("pool: fetchAvailableModels of %s: 403 for project %s, asking without it",
                    a->rec.email, j->project);
        ag_buf_reset(&j->body);
        if (ag_codeassist_models_body(NULL, &j->body) < 0 ||
            !call(j, "fetchAvailableModels", j->body.data, j->body.len, on_models))
            job_end(j, "cannot start fetchAvailableModels");
        return;
    }
    if (failed(j, "fetchAvailableModels", res, msg, sizeof(msg))) {
        job_end(j, msg);
        return;
    }
    if (ag_codeassist_parse_models(res->body.p, res->body.len, &quota, &n) != 0) {
        job_end(j, "fetchAvailableModels: unreadable answer");
        return;
    }
    rc = ag_store_account_set_quota(p->store, a->rec.id, quota, j->tier, now_s);
    if (rc && rc != AG_ENOTFOUND)
        ag_log_warn("pool: cannot store the quota of %s: %s", a->rec.email, ag_strerror(rc));
    free(a->rec.quota_json);
    a->rec.quota_json = quota;
    a->rec.quota_updated_at = now_s;
    free(a->gone); /* a fresh model list: models that answered 404 get another chance */
    a->gone = NULL;
    a->ngone = 0;
    if (j->tier != AG_TIER_UNKNOWN)
        a->rec.tier = j->tier;
    pool_quota_stale(a);
    ag_log_debug("pool: quota of %s refreshed (%zu models, tier %s)", a->rec.email, n,
                 ag_tier_name(a->rec.tier));
    if (p->waits)
        pool_kick(p); /* an account may be usable again */
    /* The windows the upstream reports (best effort; the body is fetchAvailableModels'). */
    if (!call(j, "retrieveUserQuotaSummary", j->body.data, j->body.len, on_summary))
        job_end(j, NULL);
}

static void on_summary(struct ag_cloudcode_call *cc, const struct ag_cloudcode_result *res,
                       void *ud)
{
    struct pool_qjob *j = ud;
    struct pool_acct *a = j->acct;
    char *windows = NULL;
    (void)cc;
    j->call = NULL;
    if (!res->err && res->status >= 200 && res->status < 300 &&
        ag_codeassist_parse_summary(res->body.p, res->body.len, &windows) == 0) {
        int rc = ag_store_account_set_quota_windows(a->pool->store, a->rec.id, windows);
        if (rc && rc != AG_ENOTFOUND)
            ag_log_warn("pool: cannot store the quota windows of %s: %s", a->rec.email,
                        ag_strerror(rc));
        free(a->rec.quota_windows);
        a->rec.quota_windows = windows;
    } else {
        ag_log_debug("pool: no quota windows for %s (%s %d)", a->rec.email,
                     res->err ? res->message : "HTTP", res->status);
    }
    job_end(j, NULL);
}

static void on_load(struct ag_cloudcode_call *cc, const struct ag_cloudcode_result *res, void *ud)
{
    struct pool_qjob *j = ud;
    char msg[256], *project = NULL;
    (void)cc;
    j->call = NULL;
    if (failed(j, "loadCodeAssist", res, msg, sizeof(msg))) {
        job_end(j, msg);
        return;
    }
    ag_codeassist_parse_load(res->body.p, res->body.len, &project, &j->tier, NULL);
    free(project); /* the pool's project stays as tokens.c found it */
    ag_buf_reset(&j->body);
    if (ag_codeassist_models_body(j->project, &j->body) < 0 ||
        !call(j, "fetchAvailableModels", j->body.data, j->body.len, on_models))
        job_end(j, "cannot start fetchAvailableModels");
}

/* a's token is usable: starts the calls. */
static void job_begin(struct pool_acct *a)
{
    struct ag_pool *p = a->pool;
    struct pool_qjob *j = AG_NEW(struct pool_qjob);
    const char *proxy =
        a->rec.proxy_url && a->rec.proxy_url[0] ? a->rec.proxy_url : p->cfg->upstream.proxy_url;
    j->acct = a;
    j->cfg = ag_config_ref(p->cfg);
    j->token = ag_strdup(a->rec.access_token);
    j->project = ag_strdup(a->rec.project_id ? a->rec.project_id : "");
    j->proxy = proxy && *proxy ? ag_strdup(proxy) : NULL;
    ag_buf_init(&j->body, 64 * 1024);
    ag_codeassist_target(j->cfg, j->proxy, &j->target);
    a->qjob = j;
    p->nqjobs++;
    if (!call(j, "loadCodeAssist", ag_codeassist_load_body, strlen(ag_codeassist_load_body),
              on_load))
        job_end(j, "cannot start loadCodeAssist");
}

static void job_start(struct pool_acct *a)
{
    struct ag_pool *p = a->pool;
    char msg[256] = "";
    a->quota_due = false;
    if (pool_acct_ready(a, pool_now_ms(p))) {
        job_begin(a);
        return;
    }
    a->quota_after_flight = true; /* before the start: a flight may end at once */
    if (a->flight)
        return;
    int rc = pool_tokens_start(a, msg, sizeof(msg));
    if (rc && a->quota_after_flight) {
        a->quota_after_flight = false;
        ag_log_warn("pool: quota refresh of %s: %s", a->rec.email, msg);
        a->quota_next_ms = pool_now_ms(p) + AG_POOL_QUOTA_DEBOUNCE_MS;
    }
}

void pool_quota_flight_done(struct pool_acct *a, int err)
{
    if (!a->quota_after_flight)
        return;
    a->quota_after_flight = false;
    if (err || a->rec.disabled || a->qjob) {
        a->quota_next_ms = pool_now_ms(a->pool) + AG_POOL_QUOTA_DEBOUNCE_MS;
        return;
    }
    job_begin(a);
}

/* Whether a wants a refresh now (due, stale, or a used-up group past its reset). */
static bool wants(const struct pool_acct *a, int64_t now_ms)
{
    int64_t interval_s = a->pool->cfg->quota.refresh_interval_s;
    if (a->rec.disabled || a->qjob || a->quota_after_flight || a->kind != AG_PROVIDER_GOOGLE)
        return false; /* API-key accounts have no Cloud Code quota to read */
    if (a->quota_due)
        return true;
    if (now_ms < a->quota_next_ms)
        return false;
    if (a->rec.quota_updated_at <= 0 || now_ms / 1000 - a->rec.quota_updated_at >= interval_s)
        return true;
    a = loaded(a);
    for (size_t i = 0; i < a->nquota; i++) {
        if (a->quota[i].remaining <= 0 && a->quota[i].reset_at > 0 &&
            a->quota[i].reset_at * 1000 <= now_ms)
            return true;
    }
    return false;
}

static void on_tick(uv_timer_t *t)
{
    struct ag_pool *p = t->data;
    int64_t now = pool_now_ms(p);
    if (p->closing)
        return;
    /* Due accounts first, then stale ones. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < p->naccts && p->nqjobs < AG_POOL_QUOTA_PARALLEL; i++) {
            struct pool_acct *a = p->accts[i];
            if ((pass == 0) == a->quota_due && wants(a, now))
                job_start(a);
        }
    }
}

void pool_quota_start(struct ag_pool *p)
{
    uv_timer_start(&p->quota_timer, on_tick, FIRST_TICK_MS, TICK_MS);
}

void pool_quota_due(struct pool_acct *a, bool force)
{
    int64_t now = pool_now_ms(a->pool);
    if (!force && (a->quota_due || now < a->quota_next_ms))
        return;
    a->quota_due = true;
    a->quota_next_ms = now + AG_POOL_QUOTA_DEBOUNCE_MS;
    schedule_now(a->pool);
}

void pool_quota_cancel(struct pool_acct *a)
{
    struct pool_qjob *j = a->qjob;
    a->quota_after_flight = false;
    if (!j)
        return;
    if (j->call)
        ag_cloudcode_call_cancel(j->call);
    a->qjob = NULL;
    a->pool->nqjobs--;
    job_free(j);
}

int ag_pool_refresh_quota(struct ag_pool *p, const char *account_id)
{
    struct pool_acct *a = NULL;
    if (account_id && !(a = pool_find_acct(p, account_id)))
        return AG_ENOTFOUND;
    for (size_t i = 0; i < p->naccts; i++) {
        if ((a && p->accts[i] != a) || p->accts[i]->rec.disabled ||
            p->accts[i]->kind != AG_PROVIDER_GOOGLE)
            continue;
        pool_quota_due(p->accts[i], true);
    }
    return 0;
}

/* The ids seen so far by ag_pool_foreach_quota_model: open addressing on the id's hash. Past
 * SEEN_MAX distinct ids, every id is passed on (the caller's list drops repeats too). */
#define SEEN_SLOTS 512
#define SEEN_MAX   384
#define SIGS_MAX   64 /* distinct model lists remembered */

static bool seen_before(const char **slots, size_t *n, const char *id)
{
    if (*n >= SEEN_MAX)
        return false;
    size_t len = strlen(id);
    size_t i = (size_t)ag_hash_fnv1a(id, len) & (SEEN_SLOTS - 1);
    for (; slots[i]; i = (i + 1) & (SEEN_SLOTS - 1))
        if (strcmp(slots[i], id) == 0)
            return true;
    slots[i] = id;
    (*n)++;
    return false;
}

/* True when an account with the same model list (by its hash) was seen already. */
static bool list_seen(uint64_t *sigs, size_t *n, uint64_t sig)
{
    for (size_t i = 0; i < *n; i++)
        if (sigs[i] == sig)
            return true;
    if (*n < SIGS_MAX)
        sigs[(*n)++] = sig;
    return false;
}

void ag_pool_foreach_quota_model(struct ag_pool *p,
                                 void (*cb)(void *ud, const char *model, size_t len), void *ud)
{
    const char *slots[SEEN_SLOTS] = {0};
    uint64_t sigs[SIGS_MAX];
    size_t nseen = 0, nsigs = 0;
    for (size_t i = 0; i < p->naccts; i++) {
        const struct pool_acct *a = p->accts[i];
        if (a->rec.disabled || !a->rec.quota_json || a->kind != AG_PROVIDER_GOOGLE)
            continue;
        /* the parsed list (kept with the account), not its JSON read again per call; accounts
         * mostly list the same models: a list seen already adds nothing */
        a = loaded(a);
        if (list_seen(sigs, &nsigs, a->models_sig))
            continue;
        for (size_t j = 0; j < a->nmodels; j++) {
            const char *id = a->models[j].id;
            if (!seen_before(slots, &nseen, id))
                cb(ud, id, strlen(id));
        }
    }
}
