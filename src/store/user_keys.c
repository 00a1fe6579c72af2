/* store/user_keys.c: reads and writes of user_keys and key_usage_hourly (see user_keys.h). */
#include "store/user_keys.h"

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "store/token_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {"active", "disabled", "revoked"};

const char *ag_user_key_state_name(enum ag_user_key_state st)
{
    return (unsigned)st < 3 ? state_names[st] : "?";
}

int ag_user_key_state_parse(const char *s, enum ag_user_key_state *out)
{
    for (int i = 0; s && i < 3; i++) {
        if (strcmp(s, state_names[i]) == 0) {
            *out = (enum ag_user_key_state)i;
            return 0;
        }
    }
    return AG_EINVAL;
}

int ag_user_key_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > AG_USER_KEY_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int hash_valid(const char *h)
{
    if (strlen(h) != AG_USER_KEY_HASH_HEX)
        return 0;
    for (const char *c = h; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return 0;
    return 1;
}

#define KEY_COLUMNS                                                                                \
    "id, name, key_hash, models, expires_at, rpm, tpm, daily_tokens, monthly_tokens,"              \
    " max_concurrency, cidrs, note, state, created_at, updated_at, last_used_at"

static void copy_col(char *dst, size_t cap, struct ag_db_stmt *st, int col)
{
    const char *t = ag_db_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void read_row(struct ag_db_stmt *st, struct ag_user_key *k)
{
    memset(k, 0, sizeof(*k));
    k->id = ag_db_column_int64(st, 0);
    copy_col(k->name, sizeof(k->name), st, 1);
    copy_col(k->hash, sizeof(k->hash), st, 2);
    copy_col(k->models, sizeof(k->models), st, 3);
    k->expires_at = ag_db_column_int64(st, 4);
    k->rpm = ag_db_column_int64(st, 5);
    k->tpm = ag_db_column_int64(st, 6);
    k->daily_tokens = ag_db_column_int64(st, 7);
    k->monthly_tokens = ag_db_column_int64(st, 8);
    k->max_concurrency = ag_db_column_int64(st, 9);
    copy_col(k->cidrs, sizeof(k->cidrs), st, 10);
    copy_col(k->note, sizeof(k->note), st, 11);
    const char *state = ag_db_column_text(st, 12);
    if (ag_user_key_state_parse(state, &k->state))
        k->state = AG_USER_KEY_DISABLED; /* the CHECK constraint makes this unreachable */
    k->created_at = ag_db_column_int64(st, 13);
    k->updated_at = ag_db_column_int64(st, 14);
    k->last_used_at = ag_db_column_int64(st, 15);
}

/* Binds the mutable columns of k at ?2..?13 (?1 is the name). */
static int bind_fields(struct ag_db_stmt *st, const struct ag_user_key *k, int64_t now_s)
{
    if (ag_db_bind_text(st, 1, k->name) || ag_db_bind_text(st, 2, k->hash) ||
        ag_db_bind_text(st, 3, k->models) || ag_db_bind_int64(st, 4, k->expires_at) != 0 ||
        ag_db_bind_int64(st, 5, k->rpm) != 0 || ag_db_bind_int64(st, 6, k->tpm) != 0 ||
        ag_db_bind_int64(st, 7, k->daily_tokens) != 0 ||
        ag_db_bind_int64(st, 8, k->monthly_tokens) != 0 ||
        ag_db_bind_int64(st, 9, k->max_concurrency) != 0 || ag_db_bind_text(st, 10, k->cidrs) ||
        ag_db_bind_text(st, 11, k->note) ||
        ag_db_bind_text(st, 12, ag_user_key_state_name(k->state)) ||
        ag_db_bind_int64(st, 13, now_s) != 0)
        return AG_EDB;
    return 0;
}

static int write_key(struct ag_store *s, const char *sql, const struct ag_user_key *k,
                     int64_t now_s, const char *what)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    if (!ag_user_key_name_valid(k->name) || !hash_valid(k->hash))
        return AG_EINVAL;
    if (ag_db_prepare(s->conn, sql, &st) != 0)
        goto out;
    if (bind_fields(st, k, now_s))
        goto out;
    int rc = ag_db_step(st);
    if (rc == AG_DB_CONSTRAINT) {
        ret = AG_EEXIST;
        goto out;
    }
    if (rc != AG_DB_DONE)
        goto out;
    ret = ag_db_changes(s->conn) > 0 ? 0 : AG_ENOTFOUND;
out:
    if (ret == AG_EDB)
        ag_log_error("store: user key %s: %s", what, ag_db_errmsg(s->conn));
    ag_db_finalize(st);
    return ret;
}

int ag_store_user_key_insert(struct ag_store *s, const struct ag_user_key *k, int64_t now_s)
{
    return write_key(s,
                     "INSERT INTO user_keys (name, key_hash, models, expires_at, rpm, tpm,"
                     " daily_tokens, monthly_tokens, max_concurrency, cidrs, note, state,"
                     " created_at, updated_at) VALUES"
                     " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
                     k, now_s, "insert");
}

int ag_store_user_key_update(struct ag_store *s, const struct ag_user_key *k, int64_t now_s)
{
    return write_key(s,
                     "UPDATE user_keys SET key_hash = ?2, models = ?3, expires_at = ?4, rpm = ?5,"
                     " tpm = ?6, daily_tokens = ?7, monthly_tokens = ?8, max_concurrency = ?9,"
                     " cidrs = ?10, note = ?11, state = ?12, updated_at = ?13 WHERE name = ?1",
                     k, now_s, "update");
}

int ag_store_user_key_delete(struct ag_store *s, const char *name)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    if (ag_db_prepare(s->conn, "DELETE FROM user_keys WHERE name = ?1", &st) != 0 ||
        ag_db_bind_text(st, 1, name) || ag_db_step(st) != AG_DB_DONE) {
        ag_log_error("store: user key delete: %s", ag_db_errmsg(s->conn));
        goto out;
    }
    ret = ag_db_changes(s->conn) > 0 ? 0 : AG_ENOTFOUND;
out:
    ag_db_finalize(st);
    return ret;
}

int ag_store_user_key_get(struct ag_store *s, const char *name, struct ag_user_key *out)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    if (ag_db_prepare(s->conn, "SELECT " KEY_COLUMNS " FROM user_keys WHERE name = ?1", &st) != 0 ||
        ag_db_bind_text(st, 1, name))
        goto out;
    int rc = ag_db_step(st);
    if (rc == AG_DB_DONE) {
        ret = AG_ENOTFOUND;
        goto out;
    }
    if (rc != AG_DB_ROW)
        goto out;
    read_row(st, out);
    ret = 0;
out:
    if (ret == AG_EDB)
        ag_log_error("store: user key get: %s", ag_db_errmsg(s->conn));
    ag_db_finalize(st);
    return ret;
}

int ag_store_user_key_list(struct ag_store *s, struct ag_user_key **out, size_t *n)
{
    struct ag_db_stmt *st = NULL;
    struct ag_user_key *arr = NULL;
    size_t len = 0, cap = 0;
    int ret = AG_EDB, rc;
    *out = NULL;
    *n = 0;
    if (ag_db_prepare(s->conn, "SELECT " KEY_COLUMNS " FROM user_keys ORDER BY name", &st) != 0)
        goto out;
    while ((rc = ag_db_step(st)) == AG_DB_ROW) {
        if (len == cap) {
            cap = cap ? cap * 2 : 8;
            arr = ag_realloc(arr, cap * sizeof(*arr));
        }
        read_row(st, &arr[len++]);
    }
    if (rc != AG_DB_DONE)
        goto out;
    *out = arr;
    *n = len;
    arr = NULL;
    ret = 0;
out:
    if (ret)
        ag_log_error("store: user key list: %s", ag_db_errmsg(s->conn));
    free(arr);
    ag_db_finalize(st);
    return ret;
}

int ag_store_user_keys_version(struct ag_store *s, uint64_t *out)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    if (ag_db_prepare(s->conn, "SELECT value FROM meta WHERE key = 'user_keys_version'", &st) ==
            0 &&
        ag_db_step(st) == AG_DB_ROW) {
        *out = (uint64_t)ag_db_column_int64(st, 0);
        ret = 0;
    }
    ag_db_finalize(st);
    return ret;
}

int ag_store_key_usage_since(struct ag_store *s, const char *name, int64_t since_s,
                             struct ag_user_key_usage *out)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    memset(out, 0, sizeof(*out));
    if (ag_db_prepare(s->conn,
                      "SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(input_tokens), 0), "
                      "COALESCE(SUM(output_tokens), 0)"
                      " FROM key_usage_hourly WHERE key_name = ?1 AND hour_s >= ?2",
                      &st) != 0 ||
        ag_db_bind_text(st, 1, name) || ag_db_bind_int64(st, 2, since_s) != 0 ||
        ag_db_step(st) != AG_DB_ROW)
        goto out;
    out->requests = ag_db_column_int64(st, 0);
    out->input_tokens = ag_db_column_int64(st, 1);
    out->output_tokens = ag_db_column_int64(st, 2);
    out->tokens = out->input_tokens + out->output_tokens;
    ret = 0;
out:
    if (ret)
        ag_log_error("store: key usage: %s", ag_db_errmsg(s->conn));
    ag_db_finalize(st);
    return ret;
}

int ag_store_key_usage_add_db(struct ag_db *db, struct ag_db_stmt **cache,
                              struct ag_db_stmt **touch, const struct ag_key_usage_delta *d)
{
    if (!d->key_name || !d->key_name[0])
        return 0;
    if (!*cache &&
        ag_db_prepare(db,
                      "INSERT INTO key_usage_hourly (hour_s, key_name, requests,"
                      " input_tokens, output_tokens, cached_tokens, errors)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                      " ON CONFLICT(key_name, hour_s) DO UPDATE SET"
                      "  requests = key_usage_hourly.requests + excluded.requests,"
                      "  input_tokens = key_usage_hourly.input_tokens + excluded.input_tokens,"
                      "  output_tokens = key_usage_hourly.output_tokens + excluded.output_tokens,"
                      "  cached_tokens = key_usage_hourly.cached_tokens + excluded.cached_tokens,"
                      "  errors = key_usage_hourly.errors + excluded.errors",
                      cache) != 0)
        goto fail;
    if (!*touch && ag_db_prepare(db,
                                 "UPDATE user_keys SET last_used_at = ?2"
                                 " WHERE name = ?1 AND last_used_at < ?2",
                                 touch) != 0)
        goto fail;
    struct ag_db_stmt *st = *cache;
    ag_db_reset(st);
    if (ag_db_bind_int64(st, 1, ag_token_stats_hour(d->ts_s)) != 0 ||
        ag_db_bind_text(st, 2, d->key_name) || ag_db_bind_int64(st, 3, d->requests) != 0 ||
        ag_db_bind_int64(st, 4, d->input_tokens) != 0 ||
        ag_db_bind_int64(st, 5, d->output_tokens) != 0 ||
        ag_db_bind_int64(st, 6, d->cached_tokens) != 0 || ag_db_bind_int64(st, 7, d->errors) != 0 ||
        ag_db_step(st) != AG_DB_DONE) {
        ag_db_reset(st);
        goto fail;
    }
    ag_db_reset(st);
    st = *touch;
    ag_db_reset(st);
    if (ag_db_bind_text(st, 1, d->key_name) || ag_db_bind_int64(st, 2, d->ts_s) != 0 ||
        ag_db_step(st) != AG_DB_DONE) {
        ag_db_reset(st);
        goto fail;
    }
    ag_db_reset(st);
    return 0;
fail:
    ag_log_warn("store: key usage add: %s", ag_db_errmsg(db));
    return AG_EDB;
}

int ag_store_key_usage_add(struct ag_store *s, const struct ag_key_usage_delta *d)
{
    struct ag_db_stmt *a = NULL, *b = NULL;
    int ret = ag_store_key_usage_add_db(s->conn, &a, &b, d);
    ag_db_finalize(a);
    ag_db_finalize(b);
    return ret;
}

int ag_store_key_usage_query(struct ag_store *s, int64_t from_s, int64_t to_s, int64_t bucket_s,
                             int64_t tz_offset_s, ag_key_usage_row_cb cb, void *ud)
{
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB, rc;
    if (bucket_s != 86400) {
        bucket_s = 3600;
        tz_offset_s = 0;
    }
    tz_offset_s %= 86400;
    if (tz_offset_s < 0)
        tz_offset_s += 86400; /* the same midnights, and hour_s + offset stays positive */
    if (ag_db_prepare(s->conn,
                      "SELECT hour_s - ((hour_s + ?4) % ?3) AS b, key_name, SUM(requests),"
                      " SUM(input_tokens), SUM(output_tokens), SUM(cached_tokens),"
                      " SUM(errors) FROM key_usage_hourly"
                      " WHERE hour_s >= ?1 AND hour_s < ?2 GROUP BY b, key_name"
                      " ORDER BY b, key_name",
                      &st) != 0 ||
        ag_db_bind_int64(st, 1, from_s) != 0 || ag_db_bind_int64(st, 2, to_s) != 0 ||
        ag_db_bind_int64(st, 3, bucket_s) != 0 || ag_db_bind_int64(st, 4, tz_offset_s) != 0)
        goto out;
    while ((rc = ag_db_step(st)) == AG_DB_ROW) {
        struct ag_key_usage_row r = {
            .bucket_s = ag_db_column_int64(st, 0),
            .key_name = ag_db_column_text(st, 1),
            .requests = ag_db_column_int64(st, 2),
            .input_tokens = ag_db_column_int64(st, 3),
            .output_tokens = ag_db_column_int64(st, 4),
            .cached_tokens = ag_db_column_int64(st, 5),
            .errors = ag_db_column_int64(st, 6),
        };
        cb(&r, ud);
    }
    if (rc == AG_DB_DONE)
        ret = 0;
out:
    if (ret)
        ag_log_error("store: key usage query: %s", ag_db_errmsg(s->conn));
    ag_db_finalize(st);
    return ret;
}
