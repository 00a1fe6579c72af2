/* keys/edit.c: changing user keys from the CLI and the admin API (see edit.h). */
#include "keys/edit.h"

#include "core/err.h"
#include "core/str.h"
#include "keys/keys.h"
#include "store/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LIMIT_MAX INT64_C(1000000000000)

static int set_err(char *err, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int set_err(char *err, size_t cap, int rc, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int set_text(char *dst, size_t cap, const char *field, const char *v, char *err,
                    size_t errcap)
{
    if (strlen(v) >= cap)
        return set_err(err, errcap, AG_EINVAL, "%s is longer than %zu bytes", field, cap - 1);
    snprintf(dst, cap, "%s", v);
    return 0;
}

int ag_keys_field_set(struct ag_user_key *k, const char *field, const char *value, int64_t now_s,
                      char *err, size_t errcap)
{
    char f[32];
    size_t n = strlen(field);
    if (n >= sizeof(f))
        return set_err(err, errcap, AG_ENOTFOUND, "unknown key field \"%.40s\"", field);
    for (size_t i = 0; i <= n; i++)
        f[i] = field[i] == '-' ? '_' : field[i];
    if (!value)
        value = "";
    if (strcmp(f, "models") == 0)
        return set_text(k->models, sizeof(k->models), "models", value, err, errcap);
    if (strcmp(f, "note") == 0)
        return set_text(k->note, sizeof(k->note), "note", value, err, errcap);
    if (strcmp(f, "ips") == 0 || strcmp(f, "cidrs") == 0) {
        char why[160];
        if (ag_keys_cidrs_check(value, why, sizeof(why)))
            return set_err(err, errcap, AG_EINVAL, "ips: %s", why);
        return set_text(k->cidrs, sizeof(k->cidrs), "ips", value, err, errcap);
    }
    if (strcmp(f, "expires") == 0) {
        if (ag_keys_parse_expiry(value, now_s, &k->expires_at))
            return set_err(err, errcap, AG_EINVAL,
                           "expires: \"%.60s\" is not a date (2026-12-31, "
                           "2026-12-31T18:00:00Z), a duration (30d, 12h, 90m, 3600s) or never",
                           value);
        return 0;
    }
    int64_t *slot = strcmp(f, "rpm") == 0               ? &k->rpm
                    : strcmp(f, "tpm") == 0             ? &k->tpm
                    : strcmp(f, "daily_tokens") == 0    ? &k->daily_tokens
                    : strcmp(f, "monthly_tokens") == 0  ? &k->monthly_tokens
                    : strcmp(f, "max_concurrency") == 0 ? &k->max_concurrency
                                                        : NULL;
    if (!slot)
        return set_err(err, errcap, AG_ENOTFOUND, "unknown key field \"%.40s\"", field);
    if (ag_str_to_i64(ag_str_c(value), 0, LIMIT_MAX, slot))
        return set_err(err, errcap, AG_EINVAL,
                       "%s: \"%.40s\" is not a whole number from 0 (no limit) to 10^12", f, value);
    return 0;
}

int ag_keys_create(struct ag_store *s, struct ag_user_key *k, int64_t now_s, char *secret,
                   size_t cap, char *err, size_t errcap)
{
    if (!ag_user_key_name_valid(k->name))
        return set_err(err, errcap, AG_EINVAL,
                       "a key name is 1 to %d characters of A-Z a-z 0-9 . _ -",
                       AG_USER_KEY_NAME_MAX);
    if (ag_keys_generate(secret, cap, k->hash, sizeof(k->hash)))
        return set_err(err, errcap, AG_EIO, "cannot read random bytes");
    k->state = AG_USER_KEY_ACTIVE;
    int rc = ag_store_user_key_insert(s, k, now_s);
    if (rc == AG_EEXIST)
        return set_err(err, errcap, rc, "a key named \"%s\" already exists", k->name);
    if (rc)
        return set_err(err, errcap, rc, "cannot write the key: %s", ag_strerror(rc));
    return 0;
}

static int load(struct ag_store *s, const char *name, struct ag_user_key *k, char *err,
                size_t errcap)
{
    int rc = ag_store_user_key_get(s, name, k);
    if (rc == AG_ENOTFOUND)
        return set_err(err, errcap, rc, "no key named \"%.64s\"", name);
    if (rc)
        return set_err(err, errcap, rc, "cannot read the keys: %s", ag_strerror(rc));
    return 0;
}

int ag_keys_rotate(struct ag_store *s, const char *name, int64_t now_s, char *secret, size_t cap,
                   char *err, size_t errcap)
{
    struct ag_user_key k;
    int rc = load(s, name, &k, err, errcap);
    if (rc)
        return rc;
    if (k.state == AG_USER_KEY_REVOKED)
        return set_err(err, errcap, AG_ESTATE, "the key \"%s\" is revoked", name);
    if (ag_keys_generate(secret, cap, k.hash, sizeof(k.hash)))
        return set_err(err, errcap, AG_EIO, "cannot read random bytes");
    rc = ag_store_user_key_update(s, &k, now_s);
    if (rc)
        return set_err(err, errcap, rc, "cannot write the key: %s", ag_strerror(rc));
    return 0;
}

int ag_keys_set_state(struct ag_store *s, const char *name, const char *action, int64_t now_s,
                      char *err, size_t errcap)
{
    enum ag_user_key_state to;
    if (strcmp(action, "enable") == 0)
        to = AG_USER_KEY_ACTIVE;
    else if (strcmp(action, "disable") == 0)
        to = AG_USER_KEY_DISABLED;
    else if (strcmp(action, "revoke") == 0)
        to = AG_USER_KEY_REVOKED;
    else
        return set_err(err, errcap, AG_EINVAL, "unknown action \"%.20s\"", action);
    struct ag_user_key k;
    int rc = load(s, name, &k, err, errcap);
    if (rc)
        return rc;
    if (k.state == AG_USER_KEY_REVOKED && to != AG_USER_KEY_REVOKED)
        return set_err(err, errcap, AG_ESTATE,
                       "the key \"%s\" is revoked for good: create a new one", name);
    k.state = to;
    rc = ag_store_user_key_update(s, &k, now_s);
    if (rc)
        return set_err(err, errcap, rc, "cannot write the key: %s", ag_strerror(rc));
    return 0;
}

static yyjson_mut_val *usage_json(yyjson_mut_doc *d, const struct ag_user_key_usage *u)
{
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_obj_add_int(d, o, "requests", u->requests);
    yyjson_mut_obj_add_int(d, o, "input_tokens", u->input_tokens);
    yyjson_mut_obj_add_int(d, o, "output_tokens", u->output_tokens);
    yyjson_mut_obj_add_int(d, o, "tokens", u->tokens);
    return o;
}

yyjson_mut_val *ag_keys_to_json(yyjson_mut_doc *d, struct ag_store *s, const struct ag_user_key *k,
                                int64_t now_s)
{
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_obj_add_strcpy(d, o, "name", k->name);
    yyjson_mut_obj_add_str(d, o, "state", ag_user_key_state_name(k->state));
    yyjson_mut_obj_add_strcpy(d, o, "models", k->models);
    yyjson_mut_obj_add_strcpy(d, o, "ips", k->cidrs);
    yyjson_mut_obj_add_strcpy(d, o, "note", k->note);
    yyjson_mut_obj_add_int(d, o, "expires_at", k->expires_at);
    yyjson_mut_obj_add_bool(d, o, "expired", k->expires_at > 0 && now_s >= k->expires_at);
    yyjson_mut_obj_add_int(d, o, "rpm", k->rpm);
    yyjson_mut_obj_add_int(d, o, "tpm", k->tpm);
    yyjson_mut_obj_add_int(d, o, "daily_tokens", k->daily_tokens);
    yyjson_mut_obj_add_int(d, o, "monthly_tokens", k->monthly_tokens);
    yyjson_mut_obj_add_int(d, o, "max_concurrency", k->max_concurrency);
    yyjson_mut_obj_add_int(d, o, "created_at", k->created_at);
    yyjson_mut_obj_add_int(d, o, "updated_at", k->updated_at);
    yyjson_mut_obj_add_int(d, o, "last_used_at", k->last_used_at);
    struct ag_user_key_usage day = {0}, month = {0};
    ag_store_key_usage_since(s, k->name, ag_keys_day_start(now_s), &day);
    ag_store_key_usage_since(s, k->name, ag_keys_month_start(now_s), &month);
    yyjson_mut_val *u = yyjson_mut_obj(d);
    yyjson_mut_obj_add_val(d, u, "today", usage_json(d, &day));
    yyjson_mut_obj_add_val(d, u, "month", usage_json(d, &month));
    yyjson_mut_obj_add_val(d, o, "usage", u);
    return o;
}
