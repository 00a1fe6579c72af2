/* store/account_json.c: account export, import-file parsing and quota JSON checks (see
 * account_json.h). All yyjson; nothing here touches the database or the network. */
#include "store/account_json.h"

#include "core/err.h"
#include "core/json_depth.h"
#include "core/mem.h"
#include "core/str.h"
#include "store/provider.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#define IMPORT_FILE_MAX (16u * 1024 * 1024)

/* ---- export ---- */

static void add_str(yyjson_mut_doc *d, yyjson_mut_val *o, const char *key, const char *v)
{
    if (v)
        yyjson_mut_obj_add_str(d, o, key, v); /* borrowed: accts outlive the write below */
}

int ag_account_export_json(const struct ag_account *accts, size_t n, char **out, size_t *len)
{
    int ret = AG_ENOMEM;
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    size_t wlen = 0;

    *out = NULL;
    if (!d)
        return AG_ENOMEM;
    yyjson_mut_val *arr = yyjson_mut_arr(d);
    if (!arr)
        goto out;
    yyjson_mut_doc_set_root(d, arr);
    for (size_t i = 0; i < n; i++) {
        const struct ag_account *a = &accts[i];
        yyjson_mut_val *o = yyjson_mut_obj(d);
        if (!o || !yyjson_mut_arr_append(arr, o))
            goto out;
        add_str(d, o, "email", a->email);
        if (ag_account_is_provider(a)) {
            /* An API-key account: its key instead of a refresh token. */
            add_str(d, o, "provider", a->provider);
            add_str(d, o, "api_key", a->api_key);
            add_str(d, o, "base_url", a->base_url);
            add_str(d, o, "models", a->models);
        } else {
            add_str(d, o, "refresh_token", a->refresh_token);
        }
        add_str(d, o, "id", a->id);
        add_str(d, o, "name", a->name);
        add_str(d, o, "access_token", a->access_token);
        yyjson_mut_obj_add_int(d, o, "token_expiry", a->token_expiry);
        add_str(d, o, "project_id", a->project_id);
        yyjson_mut_obj_add_str(d, o, "tier", ag_tier_name(a->tier));
        if (a->quota_json) {
            /* Embedded as JSON, not as a string; a stored value that no longer parses is left
             * out rather than failing the whole backup. */
            yyjson_doc *q = ag_json_depth_read(a->quota_json, strlen(a->quota_json),
                                               AG_JSON_DEPTH_DEFAULT, NULL, NULL, NULL);
            yyjson_mut_val *qv = q ? yyjson_val_mut_copy(d, yyjson_doc_get_root(q)) : NULL;
            yyjson_doc_free(q);
            if (qv)
                yyjson_mut_obj_add_val(d, o, "quota", qv);
        }
        yyjson_mut_obj_add_int(d, o, "quota_updated_at", a->quota_updated_at);
        yyjson_mut_obj_add_bool(d, o, "disabled", a->disabled);
        add_str(d, o, "disabled_reason", a->disabled_reason);
        if (a->disabled_at)
            yyjson_mut_obj_add_int(d, o, "disabled_at", a->disabled_at);
        yyjson_mut_obj_add_bool(d, o, "forbidden", a->forbidden);
        add_str(d, o, "forbidden_reason", a->forbidden_reason);
        if (a->forbidden_until)
            yyjson_mut_obj_add_int(d, o, "forbidden_until", a->forbidden_until);
        add_str(d, o, "validation_url", a->validation_url);
        add_str(d, o, "proxy_url", a->proxy_url);
        add_str(d, o, "label", a->label);
        add_str(d, o, "oauth_client", a->oauth_client);
        yyjson_mut_obj_add_int(d, o, "created_at", a->created_at);
        yyjson_mut_obj_add_int(d, o, "last_used_at", a->last_used_at);
    }
    *out = yyjson_mut_write(d, YYJSON_WRITE_PRETTY_TWO_SPACES, &wlen);
    if (!*out)
        goto out;
    if (len)
        *len = wlen;
    ret = 0;
out:
    yyjson_mut_doc_free(d);
    return ret;
}

/* ---- import ---- */

static void locate(const char *data, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (data[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int reject(struct ag_account_import *out, const char *data, size_t off, const char *what)
{
    out->err_offset = off;
    locate(data, off, &out->err_line, &out->err_column);
    snprintf(out->error, sizeof(out->error), "line %zu, column %zu (byte %zu): %s", out->err_line,
             out->err_column, off, what);
    return AG_EPARSE;
}

static char *duplicate_error(size_t first_index)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "duplicate of entry %zu", first_index + 1);
    return ag_strdup(buf);
}

/* A string member as a trimmed malloc'd copy; NULL when absent. *bad = present but no string. */
static char *opt_str(yyjson_val *obj, const char *key, bool *bad)
{
    yyjson_val *v = yyjson_obj_get(obj, key);
    *bad = false;
    if (!v || yyjson_is_null(v))
        return NULL;
    if (!yyjson_is_str(v)) {
        *bad = true;
        return NULL;
    }
    struct ag_str s = ag_str_trim(ag_str_make(yyjson_get_str(v), yyjson_get_len(v)));
    /* Also drop line breaks around pasted tokens. */
    while (s.len && (s.p[s.len - 1] == '\n' || s.p[s.len - 1] == '\r'))
        s.len--;
    while (s.len && (s.p[0] == '\n' || s.p[0] == '\r')) {
        s.p++;
        s.len--;
    }
    return ag_str_dup(s);
}

static bool has_space(const char *s)
{
    for (; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            return true;
    }
    return false;
}

/* An API-key account (our export writes "provider", "api_key", "base_url", "models"). */
static void parse_provider_entry(struct ag_account_import *imp, struct ag_import_entry *e,
                                 yyjson_val *v)
{
    bool bad1, bad2, bad3, bad4;
    enum ag_provider kind;
    e->provider = opt_str(v, "provider", &bad1);
    e->api_key = opt_str(v, "api_key", &bad2);
    e->base_url = opt_str(v, "base_url", &bad3);
    e->models = opt_str(v, "models", &bad4);
    if (bad1 || bad2 || bad3 || bad4)
        e->error = ag_strdup("\"provider\", \"api_key\", \"base_url\" and \"models\" must be "
                             "strings");
    else if (!e->provider || !ag_provider_parse(e->provider, &kind) || kind == AG_PROVIDER_GOOGLE)
        e->error = ag_strdup("\"provider\" must be gemini, anthropic, openai or "
                             "openai-compatible with \"api_key\"");
    else if (!e->api_key || !*e->api_key || has_space(e->api_key))
        e->error = ag_strdup("\"api_key\" is empty or contains white space");
    else if (!e->email)
        e->error = ag_strdup("missing \"email\" (the account's name)");
    else if (kind == AG_PROVIDER_OPENAI_COMPAT && !e->base_url)
        e->error = ag_strdup("an openai-compatible account needs \"base_url\"");
    if (!e->error)
        imp->usable++;
}

static void parse_entry(struct ag_account_import *imp, yyjson_val *v, size_t index)
{
    struct ag_import_entry *e = &imp->entries[imp->len++];
    bool bad;
    memset(e, 0, sizeof(*e));
    e->index = index;
    if (!yyjson_is_obj(v)) {
        e->error = ag_strdup("not a JSON object");
        return;
    }
    e->email = opt_str(v, "email", &bad);
    if (bad) {
        e->error = ag_strdup("\"email\" is not a string");
        return;
    }
    e->label = opt_str(v, "label", &bad);
    e->proxy_url = bad ? NULL : opt_str(v, "proxy_url", &bad);
    if (!bad && yyjson_obj_get(v, "api_key")) {
        parse_provider_entry(imp, e, v);
        return;
    }
    char *token = opt_str(v, "refresh_token", &bad);
    if (!token && !bad) {
        yyjson_val *nested = yyjson_obj_get(v, "token");
        if (yyjson_is_obj(nested))
            token = opt_str(nested, "refresh_token", &bad);
    }
    if (bad) {
        e->error = ag_strdup("\"refresh_token\" is not a string");
    } else if (!token) {
        e->error = ag_strdup("missing \"refresh_token\"");
    } else if (!*token) {
        e->error = ag_strdup("\"refresh_token\" is empty");
    } else if (has_space(token)) {
        e->error = ag_strdup("\"refresh_token\" contains white space");
    } else {
        for (size_t i = 0; i + 1 < imp->len; i++) {
            const struct ag_import_entry *p = &imp->entries[i];
            if (p->refresh_token && strcmp(p->refresh_token, token) == 0) {
                e->error = duplicate_error(p->index);
                break;
            }
        }
    }
    if (e->error) {
        free(token);
        return;
    }
    e->refresh_token = token;
    imp->usable++;
}

int ag_account_import_parse(const char *data, size_t len, struct ag_account_import *out)
{
    yyjson_read_err rerr;
    size_t skip = 0;
    yyjson_val *arr = NULL;

    memset(out, 0, sizeof(*out));
    if (!data)
        return reject(out, "", 0, "no data");
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        skip = 3;
    size_t first = skip;
    while (first < len && (data[first] == ' ' || data[first] == '\t' || data[first] == '\n' ||
                           data[first] == '\r'))
        first++;
    if (first == len)
        return reject(out, data, len, "the file is empty");

    /* Import files are read where no configuration is at hand: the default nesting limit. */
    int jerr;
    yyjson_doc *doc =
        ag_json_depth_read(data + skip, len - skip, AG_JSON_DEPTH_DEFAULT, NULL, &rerr, &jerr);
    if (jerr == AG_EDEPTH) {
        char what[64];
        snprintf(what, sizeof(what), AG_JSON_DEPTH_MSG, (size_t)AG_JSON_DEPTH_DEFAULT);
        return reject(out, data, first, what);
    }
    if (!doc)
        return reject(out, data, skip + rerr.pos, rerr.msg ? rerr.msg : "malformed JSON");
    yyjson_val *root = yyjson_doc_get_root(doc);
    if (yyjson_is_arr(root)) {
        out->format = AG_IMPORT_ARRAY;
        arr = root;
    } else if (yyjson_is_obj(root) && yyjson_obj_get(root, "accounts")) {
        arr = yyjson_obj_get(root, "accounts");
        out->format = AG_IMPORT_WRAPPED;
        if (!yyjson_is_arr(arr)) {
            yyjson_doc_free(doc);
            return reject(out, data, first, "\"accounts\" is not an array");
        }
    } else if (yyjson_is_obj(root) &&
               (yyjson_obj_get(root, "refresh_token") || yyjson_obj_get(root, "token") ||
                yyjson_obj_get(root, "api_key"))) {
        out->format = AG_IMPORT_SINGLE;
    } else {
        yyjson_doc_free(doc);
        return reject(out, data, first,
                      "expected a JSON array of accounts or an object with an \"accounts\" "
                      "array");
    }

    if (arr) {
        size_t n = yyjson_arr_size(arr);
        out->entries = ag_calloc(n ? n : 1, sizeof(*out->entries));
        size_t idx, max;
        yyjson_val *v;
        yyjson_arr_foreach(arr, idx, max, v)
        {
            parse_entry(out, v, idx);
        }
    } else {
        out->entries = ag_calloc(1, sizeof(*out->entries));
        parse_entry(out, root, 0);
    }
    yyjson_doc_free(doc);
    return 0;
}

int ag_account_import_parse_file(const char *path, struct ag_account_import *out)
{
    int ret = AG_EIO;
    char *data = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");

    memset(out, 0, sizeof(*out));
    if (!f) {
        snprintf(out->error, sizeof(out->error), "cannot open %s: %s", path, strerror(errno));
        return AG_EIO;
    }
    data = ag_malloc(IMPORT_FILE_MAX + 1);
    len = fread(data, 1, IMPORT_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(out->error, sizeof(out->error), "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if (len > IMPORT_FILE_MAX) {
        snprintf(out->error, sizeof(out->error), "%s is larger than %u bytes", path,
                 IMPORT_FILE_MAX);
        ret = AG_ETOOBIG;
        goto out;
    }
    ret = ag_account_import_parse(data, len, out);
out:
    free(data);
    fclose(f);
    return ret;
}

void ag_account_import_dispose(struct ag_account_import *imp)
{
    if (!imp)
        return;
    for (size_t i = 0; i < imp->len; i++) {
        struct ag_import_entry *e = &imp->entries[i];
        free(e->refresh_token);
        free(e->email);
        free(e->label);
        free(e->proxy_url);
        free(e->provider);
        free(e->api_key);
        free(e->base_url);
        free(e->models);
        free(e->error);
    }
    free(imp->entries);
    imp->entries = NULL;
    imp->len = 0;
    imp->usable = 0;
}

/* ---- quota ---- */

int ag_quota_json_check(const char *json, size_t len, char *err, size_t cap)
{
    int ret = AG_EPARSE;
    yyjson_read_err rerr;
    char msg[160] = "";
    int jerr;
    yyjson_doc *doc = ag_json_depth_read(json, len, AG_JSON_DEPTH_DEFAULT, NULL, &rerr, &jerr);
    if (jerr == AG_EDEPTH) {
        snprintf(msg, sizeof(msg), AG_JSON_DEPTH_MSG, (size_t)AG_JSON_DEPTH_DEFAULT);
        goto out;
    }
    if (!doc) {
        snprintf(msg, sizeof(msg), "byte %zu: %s", rerr.pos, rerr.msg);
        goto out;
    }
    yyjson_val *root = yyjson_doc_get_root(doc);
    if (!yyjson_is_obj(root)) {
        snprintf(msg, sizeof(msg), "quota must be an object keyed by model");
        goto out;
    }
    size_t idx, max;
    yyjson_val *k, *v;
    yyjson_obj_foreach(root, idx, max, k, v)
    {
        const char *model = yyjson_get_str(k);
        yyjson_val *rem = yyjson_obj_get(v, "remaining");
        yyjson_val *reset = yyjson_obj_get(v, "reset_at");
        if (!yyjson_is_obj(v)) {
            snprintf(msg, sizeof(msg), "quota for \"%.60s\" is not an object", model);
            goto out;
        }
        double f = yyjson_is_num(rem) ? yyjson_get_num(rem) : -1;
        if (!(f >= 0.0 && f <= 1.0)) {
            snprintf(msg, sizeof(msg), "\"%.60s\".remaining must be a number in [0, 1]", model);
            goto out;
        }
        if (reset && !yyjson_is_uint(reset) &&
            !(yyjson_is_sint(reset) && yyjson_get_sint(reset) >= 0)) {
            snprintf(msg, sizeof(msg), "\"%.60s\".reset_at must be unix seconds", model);
            goto out;
        }
    }
    ret = 0;
out:
    if (ret && err && cap)
        snprintf(err, cap, "%s", msg);
    yyjson_doc_free(doc);
    return ret;
}
