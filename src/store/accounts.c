/* store/accounts.c: reads and writes of the accounts table (see accounts.h). */
#include "store/accounts.h"

#include "core/err.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rand.h"
#include "core/str.h"
#include "core/time.h"
#include "store/account_json.h"
#include "store/provider.h"
#include "store/store.h"
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 64

static const char *const tier_names[] = {"unknown", "free", "pro", "ultra"};

const char *ag_tier_name(enum ag_tier t)
{
    return (t >= AG_TIER_UNKNOWN && t <= AG_TIER_ULTRA) ? tier_names[t] : "unknown";
}

static bool contains_ci(const char *hay, const char *needle)
{
    struct ag_str h = ag_str_c(hay);
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= h.len; i++) {
        if (ag_str_eq_ci(ag_str_make(h.p + i, n), ag_str_make(needle, n)))
            return true;
    }
    return false;
}

enum ag_tier ag_tier_from_text(const char *s)
{
    if (!s)
        return AG_TIER_UNKNOWN;
    if (contains_ci(s, "ultra"))
        return AG_TIER_ULTRA;
    if (contains_ci(s, "pro"))
        return AG_TIER_PRO;
    if (contains_ci(s, "free"))
        return AG_TIER_FREE;
    return AG_TIER_UNKNOWN;
}

void ag_account_dispose(struct ag_account *a)
{
    if (!a)
        return;
    char **strs[] = {&a->id,
                     &a->email,
                     &a->name,
                     &a->refresh_token,
                     &a->access_token,
                     &a->project_id,
                     &a->quota_json,
                     &a->disabled_reason,
                     &a->forbidden_reason,
                     &a->validation_url,
                     &a->proxy_url,
                     &a->label,
                     &a->oauth_client,
                     &a->provider,
                     &a->api_key,
                     &a->base_url,
                     &a->models,
                     &a->quota_windows};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(*strs[i]);
    memset(a, 0, sizeof(*a));
}

void ag_account_list_dispose(struct ag_account_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->len; i++)
        ag_account_dispose(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->len = 0;
}

/* Column order shared by every SELECT and by row_to_account. */
#define ACCOUNT_COLUMNS                                                                            \
    "id, email, name, refresh_token, access_token, token_expiry, project_id, tier, quota_json,"    \
    " quota_updated_at, disabled, disabled_reason, disabled_at, forbidden, forbidden_reason,"      \
    " forbidden_until, validation_url, proxy_url, label, oauth_client, created_at, last_used_at,"  \
    " sort_order, provider, api_key, base_url, models, quota_windows"

static char *col_text(struct ag_db_stmt *st, int i)
{
    const char *t = ag_db_column_text(st, i);
    return t ? ag_str_dup(ag_str_make(t, strlen(t))) : NULL;
}

static enum ag_tier tier_from_name(const char *s)
{
    for (int t = AG_TIER_UNKNOWN; t <= AG_TIER_ULTRA; t++) {
        if (s && strcmp(s, tier_names[t]) == 0)
            return (enum ag_tier)t;
    }
    return AG_TIER_UNKNOWN;
}

static void row_to_account(struct ag_db_stmt *st, struct ag_account *a)
{
    memset(a, 0, sizeof(*a));
    a->id = col_text(st, 0);
    a->email = col_text(st, 1);
    a->name = col_text(st, 2);
    a->refresh_token = col_text(st, 3);
    a->access_token = col_text(st, 4);
    a->token_expiry = ag_db_column_int64(st, 5);
    a->project_id = col_text(st, 6);
    a->tier = tier_from_name(ag_db_column_text(st, 7));
    a->quota_json = col_text(st, 8);
    a->quota_updated_at = ag_db_column_int64(st, 9);
    a->disabled = (int)ag_db_column_int64(st, 10) != 0;
    a->disabled_reason = col_text(st, 11);
    a->disabled_at = ag_db_column_int64(st, 12);
    a->forbidden = (int)ag_db_column_int64(st, 13) != 0;
    a->forbidden_reason = col_text(st, 14);
    a->forbidden_until = ag_db_column_int64(st, 15);
    a->validation_url = col_text(st, 16);
    a->proxy_url = col_text(st, 17);
    a->label = col_text(st, 18);
    a->oauth_client = col_text(st, 19);
    a->created_at = ag_db_column_int64(st, 20);
    a->last_used_at = ag_db_column_int64(st, 21);
    a->sort_order = ag_db_column_int64(st, 22);
    a->provider = col_text(st, 23);
    a->api_key = col_text(st, 24);
    a->base_url = col_text(st, 25);
    a->models = col_text(st, 26);
    a->quota_windows = col_text(st, 27);
}

bool ag_account_is_provider(const struct ag_account *a)
{
    return a && ag_provider_of(a->provider) != AG_PROVIDER_GOOGLE;
}

static int prepare(struct ag_store *s, const char *sql, struct ag_db_stmt **st)
{
    if (ag_db_prepare(s->conn, sql, st) != 0) {
        ag_log_error("store: prepare failed: %s", ag_db_errmsg(s->conn));
        return AG_EDB;
    }
    return 0;
}

static int get_one(struct ag_store *s, const char *sql, const char *key, struct ag_account *out)
{
    struct ag_db_stmt *st = NULL;
    int ret;
    memset(out, 0, sizeof(*out));
    if (!key)
        return AG_EINVAL;
    ret = prepare(s, sql, &st);
    if (ret)
        goto out;
    ret = ag_db_bind_text(st, 1, key);
    if (ret)
        goto out;
    int rc = ag_db_step(st);
    if (rc == AG_DB_ROW) {
        row_to_account(st, out);
        ret = 0;
    } else if (rc == AG_DB_DONE) {
        ret = AG_ENOTFOUND;
    } else {
        ag_log_error("store: account read: %s", ag_db_errmsg(s->conn));
        ret = AG_EDB;
    }
out:
    ag_db_finalize(st);
    return ret;
}

int ag_store_account_get(struct ag_store *s, const char *id, struct ag_account *out)
{
    return get_one(s, "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = ?1", id, out);
}

int ag_store_account_get_by_email(struct ag_store *s, const char *email, struct ag_account *out)
{
    return get_one(s, "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE email = ?1", email, out);
}

int ag_store_account_list(struct ag_store *s, struct ag_account_list *out)
{
    struct ag_db_stmt *st = NULL;
    struct ag_account_list l = {NULL, 0};
    size_t alloc = 0;
    int rc, ret;

    out->items = NULL;
    out->len = 0;
    ret = prepare(s, "SELECT " ACCOUNT_COLUMNS " FROM accounts ORDER BY sort_order, created_at, id",
                  &st);
    if (ret)
        goto out;
    while ((rc = ag_db_step(st)) == AG_DB_ROW) {
        if (l.len == alloc) {
            alloc = alloc ? alloc * 2 : 16;
            l.items = ag_realloc(l.items, alloc * sizeof(*l.items));
        }
        row_to_account(st, &l.items[l.len++]);
    }
    if (rc != AG_DB_DONE) {
        ag_log_error("store: account list: %s", ag_db_errmsg(s->conn));
        ret = AG_EDB;
        goto out;
    }
    *out = l;
    l.items = NULL;
    l.len = 0;
out:
    ag_account_list_dispose(&l);
    ag_db_finalize(st);
    return ret;
}

int ag_store_account_count(struct ag_store *s, int64_t *out)
{
    struct ag_db_stmt *st = NULL;
    int ret = prepare(s, "SELECT COUNT(*) FROM accounts", &st);
    if (ret)
        goto out;
    if (ag_db_step(st) != AG_DB_ROW) {
        ret = AG_EDB;
        goto out;
    }
    *out = ag_db_column_int64(st, 0);
out:
    ag_db_finalize(st);
    return ret;
}

static void format_uuid(char *out)
{
    unsigned char b[16];
    if (ag_random_bytes(b, sizeof(b)) != 0)
        abort(); /* no randomness means a broken machine; ids must not collide */
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    /* 8-4-4-4-12 digits */
    static const unsigned char groups[] = {4, 2, 2, 2, 6};
    const unsigned char *in = b;
    for (size_t g = 0; g < sizeof(groups); g++) {
        if (g)
            *out++ = '-';
        out = ag_hex_encode(out, in, groups[g]);
        in += groups[g];
    }
}

static bool blank(const char *s)
{
    return !s || !*s;
}

int ag_store_account_upsert(struct ag_store *s, const struct ag_account *in, char *id_out,
                            bool *created)
{
    /* All SET expressions see the old row, so the re-enable test compares old with new tokens. */
#define CHANGED                                                                                    \
    "(accounts.refresh_token IS DISTINCT FROM excluded.refresh_token OR"                           \
    " (excluded.access_token IS NOT NULL AND"                                                      \
    " accounts.access_token IS DISTINCT FROM excluded.access_token))"
    static const char sql[] =
        "INSERT INTO accounts (id, email, name, refresh_token, access_token, token_expiry,"
        " project_id, oauth_client, label, proxy_url, created_at, last_used_at, sort_order)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11,"
        " (SELECT COALESCE(MAX(sort_order), 0) + 1 FROM accounts))"
        " ON CONFLICT(email) DO UPDATE SET"
        "  disabled = CASE WHEN " CHANGED " THEN 0 ELSE accounts.disabled END,"
        "  disabled_reason = CASE WHEN " CHANGED " THEN NULL ELSE accounts.disabled_reason END,"
        "  disabled_at = CASE WHEN " CHANGED " THEN NULL ELSE accounts.disabled_at END,"
        "  refresh_token = excluded.refresh_token,"
        "  access_token = COALESCE(excluded.access_token, accounts.access_token),"
        "  token_expiry = CASE WHEN excluded.access_token IS NOT NULL"
        "    THEN excluded.token_expiry ELSE accounts.token_expiry END,"
        "  name = COALESCE(excluded.name, accounts.name),"
        "  project_id = COALESCE(excluded.project_id, accounts.project_id),"
        "  oauth_client = COALESCE(excluded.oauth_client, accounts.oauth_client),"
        "  last_used_at = CASE WHEN excluded.last_used_at > accounts.last_used_at"
        "    THEN excluded.last_used_at ELSE accounts.last_used_at END"
        " RETURNING id";
#undef CHANGED
    struct ag_db_stmt *st = NULL;
    char id[AG_ACCOUNT_ID_SIZE];
    int ret;

    if (!in || blank(in->email) || blank(in->refresh_token))
        return AG_EINVAL;
    format_uuid(id);
    ret = prepare(s, sql, &st);
    if (ret)
        goto out;
    int64_t now = ag_wall_s();
    if (ag_db_bind_text(st, 1, id) || ag_db_bind_text(st, 2, in->email) ||
        ag_db_bind_text(st, 3, in->name) || ag_db_bind_text(st, 4, in->refresh_token) ||
        ag_db_bind_text(st, 5, in->access_token) ||
        ag_db_bind_int64(st, 6, in->token_expiry) != 0 || ag_db_bind_text(st, 7, in->project_id) ||
        ag_db_bind_text(st, 8, in->oauth_client) ||
        ag_db_bind_text(st, 9, blank(in->label) ? NULL : in->label) ||
        ag_db_bind_text(st, 10, blank(in->proxy_url) ? NULL : in->proxy_url) ||
        ag_db_bind_int64(st, 11, now) != 0) {
        ret = AG_EDB;
        goto out;
    }
    if (ag_db_step(st) != AG_DB_ROW) {
        ag_log_error("store: account upsert: %s", ag_db_errmsg(s->conn));
        ret = AG_EDB;
        goto out;
    }
    const char *got = ag_db_column_text(st, 0);
    if (created)
        *created = got && strcmp(got, id) == 0;
    if (id_out)
        ag_strlcpy(id_out, got ? got : "", AG_ACCOUNT_ID_SIZE);
    /* Step to completion so the statement's write is finished before finalize. */
    while (ag_db_step(st) == AG_DB_ROW) {
    }
    s->own_write = true;
out:
    ag_db_finalize(st);
    return ret;
}

int ag_store_account_put_provider(struct ag_store *s, const struct ag_account *in, char *id_out,
                                  bool *created)
{
    static const char sql[] =
        "INSERT INTO accounts (id, email, refresh_token, provider, api_key, base_url, models,"
        " label, proxy_url, created_at, last_used_at, sort_order)"
        " VALUES (?1, ?2, '', ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0,"
        " (SELECT COALESCE(MAX(sort_order), 0) + 1 FROM accounts))"
        " ON CONFLICT(email) DO UPDATE SET"
        "  disabled = CASE WHEN accounts.api_key IS DISTINCT FROM excluded.api_key THEN 0"
        "    ELSE accounts.disabled END,"
        "  disabled_reason = CASE WHEN accounts.api_key IS DISTINCT FROM excluded.api_key THEN NULL"
        "    ELSE accounts.disabled_reason END,"
        "  disabled_at = CASE WHEN accounts.api_key IS DISTINCT FROM excluded.api_key THEN NULL"
        "    ELSE accounts.disabled_at END,"
        "  provider = excluded.provider, api_key = excluded.api_key,"
        "  base_url = excluded.base_url, models = excluded.models,"
        "  label = COALESCE(excluded.label, accounts.label), proxy_url = excluded.proxy_url"
        " RETURNING id";
    struct ag_db_stmt *st = NULL;
    char id[AG_ACCOUNT_ID_SIZE];
    enum ag_provider kind;
    int ret;

    if (!in || blank(in->email) || blank(in->api_key) || !ag_provider_parse(in->provider, &kind) ||
        kind == AG_PROVIDER_GOOGLE || (in->label && strlen(in->label) > LABEL_MAX))
        return AG_EINVAL;
    format_uuid(id);
    ret = prepare(s, sql, &st);
    if (ret)
        goto out;
    if (ag_db_bind_text(st, 1, id) || ag_db_bind_text(st, 2, in->email) ||
        ag_db_bind_text(st, 3, ag_provider_info(kind)->name) ||
        ag_db_bind_text(st, 4, in->api_key) ||
        ag_db_bind_text(st, 5, blank(in->base_url) ? NULL : in->base_url) ||
        ag_db_bind_text(st, 6, blank(in->models) ? NULL : in->models) ||
        ag_db_bind_text(st, 7, blank(in->label) ? NULL : in->label) ||
        ag_db_bind_text(st, 8, blank(in->proxy_url) ? NULL : in->proxy_url) ||
        ag_db_bind_int64(st, 9, ag_wall_s()) != 0) {
        ret = AG_EDB;
        goto out;
    }
    if (ag_db_step(st) != AG_DB_ROW) {
        ag_log_error("store: provider account put: %s", ag_db_errmsg(s->conn));
        ret = AG_EDB;
        goto out;
    }
    const char *got = ag_db_column_text(st, 0);
    if (created)
        *created = got && strcmp(got, id) == 0;
    if (id_out)
        ag_strlcpy(id_out, got ? got : "", AG_ACCOUNT_ID_SIZE);
    while (ag_db_step(st) == AG_DB_ROW) {
    }
    s->own_write = true;
out:
    ag_db_finalize(st);
    return ret;
}

/*
 * Runs an UPDATE/DELETE with ?1 = id and the binder's further parameters; AG_ENOTFOUND when no
 * row matched. bind may be NULL.
 */
typedef int (*binder)(struct ag_db_stmt *st, const void *arg);

static int write_one(struct ag_store *s, const char *sql, const char *id, binder bind,
                     const void *arg)
{
    struct ag_db_stmt *st = NULL;
    int ret;
    if (blank(id))
        return AG_EINVAL;
    ret = prepare(s, sql, &st);
    if (ret)
        goto out;
    if (ag_db_bind_text(st, 1, id) || (bind && bind(st, arg))) {
        ret = AG_EDB;
        goto out;
    }
    if (ag_db_step(st) != AG_DB_DONE) {
        ag_log_error("store: account write: %s", ag_db_errmsg(s->conn));
        ret = AG_EDB;
        goto out;
    }
    ret = ag_db_changes(s->conn) > 0 ? 0 : AG_ENOTFOUND;
    s->own_write = true;
out:
    ag_db_finalize(st);
    return ret;
}

struct disabled_args {
    bool on;
    const char *reason;
    int64_t now;
};

static int bind_disabled(struct ag_db_stmt *st, const void *arg)
{
    const struct disabled_args *a = arg;
    return ag_db_bind_int64(st, 2, a->on) != 0 ||
                   ag_db_bind_text(st, 3, a->on ? a->reason : NULL) ||
                   (a->on ? ag_db_bind_int64(st, 4, a->now) : ag_db_bind_null(st, 4)) != 0
               ? AG_EDB
               : 0;
}

int ag_store_account_set_disabled(struct ag_store *s, const char *id, bool disabled,
                                  const char *reason)
{
    struct disabled_args a = {disabled, reason, ag_wall_s()};
    return write_one(s,
                     "UPDATE accounts SET disabled = ?2, disabled_reason = ?3, disabled_at = ?4"
                     " WHERE id = ?1",
                     id, bind_disabled, &a);
}

struct forbidden_args {
    bool on;
    const char *reason;
    int64_t until;
    const char *url;
};

static int bind_forbidden(struct ag_db_stmt *st, const void *arg)
{
    const struct forbidden_args *a = arg;
    if (ag_db_bind_int64(st, 2, a->on) != 0)
        return AG_EDB;
    if (ag_db_bind_text(st, 3, a->on ? a->reason : NULL))
        return AG_EDB;
    if ((a->on && a->until > 0 ? ag_db_bind_int64(st, 4, a->until) : ag_db_bind_null(st, 4)) != 0)
        return AG_EDB;
    return ag_db_bind_text(st, 5, a->on && !blank(a->url) ? a->url : NULL);
}

int ag_store_account_set_forbidden(struct ag_store *s, const char *id, bool forbidden,
                                   const char *reason, int64_t until, const char *validation_url)
{
    struct forbidden_args a = {forbidden, reason, until, validation_url};
    return write_one(s,
                     "UPDATE accounts SET forbidden = ?2, forbidden_reason = ?3,"
                     " forbidden_until = ?4, validation_url = ?5 WHERE id = ?1",
                     id, bind_forbidden, &a);
}

static int bind_text2(struct ag_db_stmt *st, const void *arg)
{
    const char *t = arg;
    return ag_db_bind_text(st, 2, blank(t) ? NULL : t);
}

int ag_store_account_set_label(struct ag_store *s, const char *id, const char *label)
{
    if (label && strlen(label) > LABEL_MAX)
        return AG_EINVAL;
    return write_one(s, "UPDATE accounts SET label = ?2 WHERE id = ?1", id, bind_text2, label);
}

int ag_store_account_set_proxy(struct ag_store *s, const char *id, const char *proxy_url)
{
    return write_one(s, "UPDATE accounts SET proxy_url = ?2 WHERE id = ?1", id, bind_text2,
                     proxy_url);
}

int ag_store_account_set_models(struct ag_store *s, const char *id, const char *models)
{
    return write_one(s, "UPDATE accounts SET models = ?2 WHERE id = ?1", id, bind_text2, models);
}

struct tokens_args {
    const char *access;
    int64_t expiry;
    const char *refresh;
    const char *project;
};

static int bind_tokens(struct ag_db_stmt *st, const void *arg)
{
    const struct tokens_args *a = arg;
    return ag_db_bind_text(st, 2, a->access) || ag_db_bind_int64(st, 3, a->expiry) != 0 ||
                   ag_db_bind_text(st, 4, blank(a->refresh) ? NULL : a->refresh) ||
                   ag_db_bind_text(st, 5, blank(a->project) ? NULL : a->project)
               ? AG_EDB
               : 0;
}

int ag_store_account_update_tokens(struct ag_store *s, const char *id, const char *access_token,
                                   int64_t token_expiry, const char *refresh_token,
                                   const char *project_id)
{
    struct tokens_args a = {access_token, token_expiry, refresh_token, project_id};
    return write_one(s,
                     "UPDATE accounts SET access_token = ?2, token_expiry = ?3,"
                     " refresh_token = COALESCE(?4, refresh_token),"
                     " project_id = COALESCE(?5, project_id) WHERE id = ?1",
                     id, bind_tokens, &a);
}

struct quota_args {
    const char *json;
    enum ag_tier tier;
    int64_t at;
};

static int bind_quota(struct ag_db_stmt *st, const void *arg)
{
    const struct quota_args *a = arg;
    return ag_db_bind_text(st, 2, a->json) || ag_db_bind_text(st, 3, ag_tier_name(a->tier)) ||
                   ag_db_bind_int64(st, 4, a->at) != 0
               ? AG_EDB
               : 0;
}

int ag_store_account_set_quota(struct ag_store *s, const char *id, const char *quota_json,
                               enum ag_tier tier, int64_t updated_at)
{
    if (!quota_json || ag_quota_json_check(quota_json, strlen(quota_json), NULL, 0) != 0)
        return AG_EINVAL;
    struct quota_args a = {quota_json, tier, updated_at};
    return write_one(s,
                     "UPDATE accounts SET quota_json = ?2,"
                     " tier = CASE WHEN ?3 = 'unknown' THEN tier ELSE ?3 END,"
                     " quota_updated_at = ?4 WHERE id = ?1",
                     id, bind_quota, &a);
}

static int bind_windows(struct ag_db_stmt *st, const void *arg)
{
    return ag_db_bind_text(st, 2, arg) ? AG_EDB : 0;
}

int ag_store_account_set_quota_windows(struct ag_store *s, const char *id, const char *windows)
{
    return write_one(s, "UPDATE accounts SET quota_windows = ?2 WHERE id = ?1", id, bind_windows,
                     windows);
}

int ag_store_account_touch(struct ag_store *s, const char *id, int64_t when_s)
{
    struct ag_db_stmt *st = NULL;
    if (blank(id))
        return AG_EINVAL;
    int ret = ag_store_account_touch_db(s->conn, &st, id, when_s);
    ag_db_finalize(st);
    return ret;
}

int ag_store_account_touch_db(struct ag_db *db, struct ag_db_stmt **cache, const char *id,
                              int64_t when_s)
{
    if (!*cache && ag_db_prepare(db,
                                 "UPDATE accounts SET last_used_at = ?2"
                                 " WHERE id = ?1 AND last_used_at < ?2",
                                 cache) != 0)
        return AG_EDB;
    struct ag_db_stmt *st = *cache;
    ag_db_reset(st);
    if (ag_db_bind_text(st, 1, id) || ag_db_bind_int64(st, 2, when_s) != 0)
        return AG_EDB;
    if (ag_db_step(st) != AG_DB_DONE) {
        ag_log_warn("store: account touch: %s", ag_db_errmsg(db));
        ag_db_reset(st);
        return AG_EDB;
    }
    ag_db_reset(st);
    return 0;
}

int ag_store_account_reorder(struct ag_store *s, const char *const *ids, size_t n)
{
    struct ag_account_list l = {NULL, 0};
    struct ag_db_stmt *st = NULL;
    int ret;
    bool in_tx = false;

    ret = ag_db_begin(s->conn, "reorder");
    if (ret)
        goto out;
    in_tx = true;
    ret = ag_store_account_list(s, &l);
    if (ret)
        goto out;
    ret = prepare(s, "UPDATE accounts SET sort_order = ?2 WHERE id = ?1", &st);
    if (ret)
        goto out;
    /* Requested ids take orders 1..n (unknown ones leave a harmless gap); others follow. */
    int64_t next = 1;
    for (size_t i = 0; i < n; i++) {
        ag_db_reset(st);
        if (ag_db_bind_text(st, 1, ids[i]) || ag_db_bind_int64(st, 2, next++) != 0 ||
            ag_db_step(st) != AG_DB_DONE) {
            ret = AG_EDB;
            goto out;
        }
    }
    for (size_t j = 0; j < l.len; j++) {
        bool listed = false;
        for (size_t i = 0; i < n && !listed; i++)
            listed = ids[i] && strcmp(ids[i], l.items[j].id) == 0;
        if (listed)
            continue;
        ag_db_reset(st);
        if (ag_db_bind_text(st, 1, l.items[j].id) || ag_db_bind_int64(st, 2, next++) != 0 ||
            ag_db_step(st) != AG_DB_DONE) {
            ret = AG_EDB;
            goto out;
        }
    }
    ret = ag_db_exec(s->conn, "COMMIT", "reorder");
    if (ret)
        goto out;
    in_tx = false;
    s->own_write = true;
out:
    ag_db_finalize(st);
    if (in_tx)
        ag_db_rollback(s->conn);
    ag_account_list_dispose(&l);
    return ret;
}

int ag_store_account_delete(struct ag_store *s, const char *id)
{
    return write_one(s, "DELETE FROM accounts WHERE id = ?1", id, NULL, NULL);
}
