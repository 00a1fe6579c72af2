/* admin/api_keys.c: user keys (keys/keys.h) over the admin API, the same operations as
 * `aigate keys`:
 *   GET  /api/keys                      {"keys":[{name, state, limits, usage, live?}...]}
 *   POST /api/keys                      {"name", models?, expires?, rpm?, tpm?, daily_tokens?,
 *                                        monthly_tokens?, max_concurrency?, ips?, note?}
 *                                       -> 201 {"key":{...},"secret":"sk-..."} (shown once)
 *   POST /api/keys/:name                the same fields, changed ones only -> {"key":{...}}
 *   POST /api/keys/:name/disable|enable|revoke -> {"key":{...}}
 *   POST /api/keys/:name/rotate         -> {"key":{...},"secret":"sk-..."}
 *   GET  /api/stats/keys?hours|days|from_s&to_s&bucket=hour|day&tz_offset_min
 *                                       token statistics by key: {"items":[{bucket_s, key,
 *                                        requests, input_tokens, output_tokens, tokens, errors}]}
 * Writes go to the store on the loop's connection (one short statement) and the gateway's table is
 * reloaded at once; "live" carries the running gateway's in-flight count and reservations. */
#include "admin/admin_internal.h"
#include "core/err.h"
#include "core/mem.h"
#include "keys/edit.h"
#include "keys/keys.h"
#include "store/user_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ag_admin_set_keys(struct ag_admin *a, struct ag_keys *keys)
{
    a->keys = keys;
}

static bool ready(struct ag_admin *a, struct ag_http_req *req)
{
    if (a->store)
        return true;
    adm_error(req, 503, "unavailable", NULL, "the key store is not open");
    return false;
}

static void add_live(struct ag_admin *a, yyjson_mut_doc *d, yyjson_mut_val *o, const char *name)
{
    struct ag_keys_stat st;
    if (!a->keys || ag_keys_stat_get(a->keys, name, &st))
        return;
    yyjson_mut_val *l = yyjson_mut_obj(d);
    yyjson_mut_obj_add_int(d, l, "in_flight", st.in_flight);
    yyjson_mut_obj_add_int(d, l, "reserved_tokens", st.reserved);
    yyjson_mut_obj_add_uint(d, l, "requests", st.requests);
    yyjson_mut_obj_add_uint(d, l, "refused", st.refused);
    yyjson_mut_obj_add_int(d, l, "shared_in_flight", st.shared_in_flight);
    yyjson_mut_obj_add_uint(d, l, "shared_updates", st.shared_updates);
    yyjson_mut_obj_add_val(d, o, "live", l);
}

static void send_doc(struct ag_http_req *req, int status, yyjson_mut_doc *d)
{
    size_t n = 0;
    char *text = yyjson_mut_write(d, 0, &n);
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    if (text)
        ag_buf_append(&b, text, n);
    free(text);
    adm_json(req, status, &b);
    ag_buf_dispose(&b);
}

/* Answers {"key":{...}[,"secret":...]} for the key named name, after reloading the gateway's
 * table so the change applies to the next request. */
static void answer_key(struct ag_admin *a, struct ag_http_req *req, int status, const char *name,
                       const char *secret)
{
    struct ag_user_key k;
    if (a->keys)
        ag_keys_reload(a->keys, a->store);
    int rc = ag_store_user_key_get(a->store, name, &k);
    if (rc) {
        adm_error_rc(req, rc, "cannot read the key back");
        return;
    }
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(d);
    yyjson_mut_doc_set_root(d, root);
    yyjson_mut_val *o = ag_keys_to_json(d, a->store, &k, (int64_t)time(NULL));
    add_live(a, d, o, k.name);
    yyjson_mut_obj_add_val(d, root, "key", o);
    if (secret)
        yyjson_mut_obj_add_strcpy(d, root, "secret", secret);
    send_doc(req, status, d);
    yyjson_mut_doc_free(d);
}

static void h_list(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    struct ag_user_key *keys = NULL;
    size_t n = 0;
    if (!ready(a, req))
        return;
    int rc = ag_store_user_key_list(a->store, &keys, &n);
    if (rc) {
        adm_error_rc(req, rc, "cannot read the keys");
        return;
    }
    int64_t now = (int64_t)time(NULL);
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(d);
    yyjson_mut_doc_set_root(d, root);
    yyjson_mut_val *arr = yyjson_mut_obj_add_arr(d, root, "keys");
    for (size_t i = 0; i < n; i++) {
        yyjson_mut_val *o = ag_keys_to_json(d, a->store, &keys[i], now);
        add_live(a, d, o, keys[i].name);
        yyjson_mut_arr_append(arr, o);
    }
    send_doc(req, 200, d);
    yyjson_mut_doc_free(d);
    free(keys);
}

/* Applies every member of body but "name" to k; false after a 400 naming the field. */
static bool apply_body(struct ag_http_req *req, yyjson_val *body, struct ag_user_key *k)
{
    size_t idx, max;
    yyjson_val *key, *val;
    char err[256], num[32];
    int64_t now = (int64_t)time(NULL);
    yyjson_obj_foreach(body, idx, max, key, val)
    {
        const char *field = yyjson_get_str(key);
        const char *text;
        if (strcmp(field, "name") == 0)
            continue;
        if (yyjson_is_str(val)) {
            text = yyjson_get_str(val);
        } else if (yyjson_is_null(val)) {
            text = strcmp(field, "expires") == 0 ? "never"
                   : strcmp(field, "models") == 0 || strcmp(field, "ips") == 0 ||
                           strcmp(field, "note") == 0
                       ? ""
                       : "0";
        } else if (yyjson_is_int(val)) {
            snprintf(num, sizeof(num), "%lld", (long long)yyjson_get_sint(val));
            text = num;
        } else {
            adm_error(req, 400, "invalid_request", field, "%s must be a string or a number", field);
            return false;
        }
        int rc = ag_keys_field_set(k, field, text, now, err, sizeof(err));
        if (rc) {
            adm_error(req, 400, "invalid_request", field, "%s", err);
            return false;
        }
    }
    return true;
}

static void h_create(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    struct ag_user_key k = {0};
    const char *name = NULL;
    char secret[40], err[256];
    yyjson_val *body = adm_body(req, false);
    if (!body || !adm_get_str(req, body, "name", true, &name) || !ready(a, req))
        return;
    if (!ag_user_key_name_valid(name)) {
        adm_error(req, 400, "invalid_request", "name",
                  "a key name is 1 to %d characters of A-Z a-z 0-9 . _ -", AG_USER_KEY_NAME_MAX);
        return;
    }
    snprintf(k.name, sizeof(k.name), "%s", name);
    if (!apply_body(req, body, &k))
        return;
    int rc =
        ag_keys_create(a->store, &k, (int64_t)time(NULL), secret, sizeof(secret), err, sizeof(err));
    if (rc == AG_EEXIST) {
        adm_error(req, 409, "conflict", "name", "%s", err);
        return;
    }
    if (rc) {
        adm_error_rc(req, rc, err);
        return;
    }
    answer_key(a, req, 201, k.name, secret);
}

static void h_update(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    struct ag_user_key k;
    char *name = adm_param(req, 0);
    yyjson_val *body = adm_body(req, false);
    if (!body || !ready(a, req))
        return;
    int rc = ag_store_user_key_get(a->store, name, &k);
    if (rc == AG_ENOTFOUND) {
        adm_error(req, 404, "not_found", NULL, "no key named \"%s\"", name);
        return;
    }
    if (rc) {
        adm_error_rc(req, rc, "cannot read the key");
        return;
    }
    if (!apply_body(req, body, &k))
        return;
    rc = ag_store_user_key_update(a->store, &k, (int64_t)time(NULL));
    if (rc) {
        adm_error_rc(req, rc, "cannot write the key");
        return;
    }
    answer_key(a, req, 200, k.name, NULL);
}

static void state_change(struct ag_http_req *req, void *ud, const char *action)
{
    struct ag_admin *a = adm_of(ud);
    char *name = adm_param(req, 0);
    char err[256];
    if (!ready(a, req))
        return;
    int rc = ag_keys_set_state(a->store, name, action, (int64_t)time(NULL), err, sizeof(err));
    if (rc == AG_ENOTFOUND)
        adm_error(req, 404, "not_found", NULL, "%s", err);
    else if (rc == AG_ESTATE)
        adm_error(req, 409, "conflict", NULL, "%s", err);
    else if (rc)
        adm_error_rc(req, rc, err);
    else
        answer_key(a, req, 200, name, NULL);
}

static void h_disable(struct ag_http_req *req, void *ud)
{
    state_change(req, ud, "disable");
}

static void h_enable(struct ag_http_req *req, void *ud)
{
    state_change(req, ud, "enable");
}

static void h_revoke(struct ag_http_req *req, void *ud)
{
    state_change(req, ud, "revoke");
}

static void h_rotate(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    char *name = adm_param(req, 0);
    char secret[40], err[256];
    if (!ready(a, req))
        return;
    int rc = ag_keys_rotate(a->store, name, (int64_t)time(NULL), secret, sizeof(secret), err,
                            sizeof(err));
    if (rc == AG_ENOTFOUND)
        adm_error(req, 404, "not_found", NULL, "%s", err);
    else if (rc == AG_ESTATE)
        adm_error(req, 409, "conflict", NULL, "%s", err);
    else if (rc)
        adm_error_rc(req, rc, err);
    else
        answer_key(a, req, 200, name, secret);
}

/* ---- GET /api/stats/keys?hours=N|days=N|from_s&to_s&bucket=hour|day ---- */

static void usage_row(const struct ag_key_usage_row *row, void *ud)
{
    struct ag_buf *o = ud;
    ag_jsonw_open(o, NULL, '{');
    ag_jsonw_int(o, "bucket_s", row->bucket_s);
    ag_jsonw_str(o, "key", row->key_name);
    ag_jsonw_int(o, "requests", row->requests);
    ag_jsonw_int(o, "input_tokens", row->input_tokens);
    ag_jsonw_int(o, "output_tokens", row->output_tokens);
    ag_jsonw_int(o, "tokens", row->input_tokens + row->output_tokens);
    ag_jsonw_int(o, "errors", row->errors);
    ag_jsonw_close(o, '}');
}

static int usage_work(struct ag_store *db, struct adm_job *j)
{
    struct ag_buf *o = &j->out;
    ag_jsonw_open(o, NULL, '{');
    ag_jsonw_int(o, "from_s", j->i1);
    ag_jsonw_int(o, "to_s", j->i2);
    const int64_t *arg = j->arg; /* bucket, time zone offset */
    ag_jsonw_int(o, "bucket_s", arg[0]);
    ag_jsonw_open(o, "items", '[');
    int rc = ag_store_key_usage_query(db, j->i1, j->i2, arg[0], arg[1], usage_row, o);
    ag_jsonw_close(o, ']');
    ag_jsonw_close(o, '}');
    return rc;
}

static void h_usage(struct ag_http_req *req, void *ud)
{
    int64_t now = adm_now_ms() / 1000, hours = 24, days = 0, from = 0, to = 0, tz_min = 0;
    char v[16];
    if (!adm_query_int(req, "from_s", 0, INT64_MAX, &from) ||
        !adm_query_int(req, "to_s", 0, INT64_MAX, &to) ||
        !adm_query_int(req, "hours", 1, 24 * 3660, &hours) ||
        !adm_query_int(req, "days", 1, 3660, &days) ||
        !adm_query_int(req, "tz_offset_min", -24 * 60, 24 * 60, &tz_min))
        return;
    if (!from) {
        int64_t span = days ? days * 86400 : hours * 3600;
        from = (now - span) - (now - span) % 3600;
    }
    if (!to)
        to = now + 3600;
    if (to <= from) {
        adm_error(req, 400, "invalid_request", "to_s", "to_s must be after from_s");
        return;
    }
    int64_t bucket = days ? 86400 : 3600;
    if (adm_query(req, "bucket", v, sizeof(v))) {
        if (strcmp(v, "hour") == 0) {
            bucket = 3600;
        } else if (strcmp(v, "day") == 0) {
            bucket = 86400;
        } else {
            adm_error(req, 400, "invalid_request", "bucket", "bucket must be hour or day");
            return;
        }
    }
    struct adm_job *j = adm_job_new(adm_of(ud), req, usage_work, NULL);
    j->i1 = from;
    j->i2 = to;
    int64_t *arg = ag_malloc(2 * sizeof(*arg));
    arg[0] = bucket;
    arg[1] = tz_min * 60;
    j->arg = arg;
    j->free_arg = free;
    adm_job_start(j);
}

const struct adm_route_def adm_keys_routes[] = {
    {"GET", "/api/stats/keys", h_usage, false},
    {"GET", "/api/keys", h_list, false},
    {"POST", "/api/keys", h_create, false},
    {"POST", "/api/keys/:name", h_update, false},
    {"POST", "/api/keys/:name/disable", h_disable, false},
    {"POST", "/api/keys/:name/enable", h_enable, false},
    {"POST", "/api/keys/:name/revoke", h_revoke, false},
    {"POST", "/api/keys/:name/rotate", h_rotate, false},
    {NULL, NULL, NULL, false},
};
