/* admin/api_config.c: GET /api/config (secrets masked, with the key table) and PUT/POST
 * /api/config (validated, saved atomically, applied without restart where possible; the answer
 * names the keys that need one). Also adm_config_change(), used by the proxy and account routes
 * that change a key (API key regeneration, fixed account). */
#include "admin/admin_internal.h"
#include "admin/api_config.h"
#include "config/config.h"
#include "config/schema.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/errfmt.h"
#include "http/server.h"
#include "proto/json.h"

#include <stdlib.h>
#include <string.h>

static void write_config(struct ag_admin *a, struct ag_buf *b)
{
    ag_jsonw_key(b, "config");
    ag_config_to_json(a->cfg, true, false, b);
}

static void h_get(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    size_t n;
    const struct ag_config_key *keys = ag_config_keys(&n);
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    ag_jsonw_open(&b, NULL, '{');
    write_config(a, &b);
    ag_jsonw_str(&b, "data_dir", a->data_dir ? a->data_dir : "");
    if (a->data_dir && a->data_dir[0]) {
        ag_buf_append_c(&b, ",\"config_path\":");
        struct ag_buf path;
        ag_buf_init(&path, AG_BUF_CAP_SHORT);
        ag_buf_printf(&path, "%s/config.json", a->data_dir);
        ag_jsonw_quote(&b, path.data, path.len);
        ag_buf_dispose(&path);
    }
    ag_jsonw_open(&b, "keys", '[');
    for (size_t i = 0; i < n; i++) {
        struct ag_buf allowed;
        ag_buf_init(&allowed, AG_BUF_CAP_SHORT);
        ag_config_key_allowed(&keys[i], &allowed);
        ag_jsonw_open(&b, NULL, '{');
        ag_jsonw_str(&b, "name", keys[i].name);
        ag_jsonw_str(&b, "allowed", allowed.data ? allowed.data : "");
        ag_jsonw_bool(&b, "secret", keys[i].flags & AG_CONFIG_SECRET);
        ag_jsonw_bool(&b, "restart", keys[i].flags & AG_CONFIG_RESTART);
        ag_jsonw_str(&b, "env", keys[i].env);
        ag_jsonw_str(&b, "help", keys[i].help);
        ag_jsonw_close(&b, '}');
        ag_buf_dispose(&allowed);
    }
    ag_jsonw_close(&b, ']');
    ag_jsonw_close(&b, '}');
    adm_json(req, 200, &b);
    ag_buf_dispose(&b);
}

/* ---- changes ---- */

void adm_changes_free(struct adm_changes *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->key[i]);
        free(c->text[i]);
    }
    free(c->new_cfg_json);
    ag_config_unref(c->cfg);
    free(c);
}

int adm_changes_add(struct adm_changes *c, const char *key, const char *text, struct ag_buf *why)
{
    if (c->n == ADM_MAX_CHANGES) {
        ag_buf_printf(why, "at most %d keys per change", ADM_MAX_CHANGES);
        return AG_ETOOBIG;
    }
    int rc = ag_config_check(key, text, "admin API", why);
    if (rc)
        return rc;
    c->key[c->n] = ag_strdup(key);
    c->text[c->n] = ag_strdup(text);
    c->n++;
    return 0;
}

/* Text form of a JSON value for ag_config_check/set: strings raw, everything else as JSON. */
static char *value_text(yyjson_val *v)
{
    if (yyjson_is_str(v))
        return ag_strdup(yyjson_get_str(v));
    char *t = yyjson_val_write(v, 0, NULL);
    char *r = ag_strdup(t ? t : "");
    free(t);
    return r;
}

/* True when some key lives under name ("server", "oauth"): a section one may nest into. */
static bool is_section(const char *name)
{
    size_t n, len = strlen(name);
    const struct ag_config_key *keys = ag_config_keys(&n);
    for (size_t i = 0; i < n; i++)
        if (strncmp(keys[i].name, name, len) == 0 && keys[i].name[len] == '.')
            return true;
    return false;
}

/* Walks obj (dotted names or nested objects) into c; false after answering 400. It nests only
 * into sections of the key table, so its depth is the table's, never the body's. */
static bool collect(struct ag_http_req *req, struct ag_admin *a, yyjson_val *obj,
                    const char *prefix, struct adm_changes *c)
{
    size_t i, max;
    yyjson_val *k, *v;
    yyjson_obj_foreach(obj, i, max, k, v)
    {
        char name[256];
        snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] ? "." : "", yyjson_get_str(k));
        const struct ag_config_key *key = ag_config_key_find(name);
        if (!key) {
            if (yyjson_is_obj(v) && is_section(name)) {
                if (!collect(req, a, v, name, c))
                    return false;
                continue;
            }
            adm_error(req, 400, "invalid_request", name, "unknown configuration key %s", name);
            return false;
        }
        char *text = value_text(v);
        if (key->flags & (AG_CONFIG_SECRET | AG_CONFIG_URL_SECRET)) {
            /* A masked value sent back unchanged (the UI echoes what GET gave) is no change. */
            char masked[4096], cur[4096];
            struct ag_buf cb;
            ag_buf_init(&cb, sizeof(cur));
            struct ag_buf ge;
            ag_buf_init(&ge, 1024);
            ag_config_get(a->cfg, name, false, &cb, &ge);
            ag_buf_dispose(&ge);
            ag_strlcpy(cur, cb.data ? cb.data : "", sizeof(cur));
            ag_buf_dispose(&cb);
            ag_config_key_shown(key, cur, masked, sizeof(masked));
            if (cur[0] && strcmp(text, masked) == 0) {
                free(text);
                continue;
            }
        }
        struct ag_buf why;
        ag_buf_init(&why, 4096);
        int rc = adm_changes_add(c, name, text, &why);
        free(text);
        if (rc) {
            adm_error(req, 400, "invalid_request", name, "%s", why.data ? why.data : "invalid");
            ag_buf_dispose(&why);
            return false;
        }
        ag_buf_dispose(&why);
    }
    return true;
}

/* Worker: saves every change to config.json (atomically, one key at a time, all validated
 * first) and builds the new snapshot from the running one plus the changes, so environment and
 * command-line values in force stay in force. */
static int change_work(struct ag_store *db, struct adm_job *j)
{
    struct adm_changes *c = j->arg;
    struct ag_config_source src = {.data_dir = j->a->data_dir};
    struct ag_buf err;
    int rc = 0;
    ag_buf_init(&err, 4096);
    for (size_t i = 0; i < c->n && !rc; i++) {
        rc = ag_config_set(&src, c->key[i], c->text[i], &err);
        if (rc)
            snprintf(j->err, sizeof(j->err), "%s: %s", c->key[i], err.data ? err.data : "");
    }
    ag_buf_dispose(&err);
    if (rc)
        return rc;

    /* new snapshot = running snapshot (unmasked) + the changes */
    yyjson_read_err re;
    yyjson_doc *cur = yyjson_read(c->new_cfg_json, strlen(c->new_cfg_json), 0);
    yyjson_mut_doc *doc = yyjson_doc_mut_copy(cur, NULL);
    yyjson_doc_free(cur);
    yyjson_mut_val *root = yyjson_mut_doc_get_root(doc);
    for (size_t i = 0; i < c->n; i++) {
        const struct ag_config_key *key = ag_config_key_find(c->key[i]);
        yyjson_mut_val *val = NULL;
        struct ag_buf why;
        ag_buf_init(&why, 1024);
        ag_config_text_to_json(key, c->text[i], doc, &val, &why);
        ag_buf_dispose(&why);
        /* walk/create the nested objects of the dotted name */
        yyjson_mut_val *o = root;
        const char *p = c->key[i];
        for (const char *dot; (dot = strchr(p, '.')); p = dot + 1) {
            yyjson_mut_val *sub = yyjson_mut_obj_getn(o, p, (size_t)(dot - p));
            if (!sub) {
                sub = yyjson_mut_obj(doc);
                yyjson_mut_obj_add(o, yyjson_mut_strncpy(doc, p, (size_t)(dot - p)), sub);
            }
            o = sub;
        }
        yyjson_mut_obj_remove_str(o, p);
        if (val)
            yyjson_mut_obj_add(o, yyjson_mut_strcpy(doc, p), val);
    }
    size_t len;
    char *text = yyjson_mut_write(doc, 0, &len);
    yyjson_mut_doc_free(doc);
    (void)re;
    struct ag_buf msg;
    ag_buf_init(&msg, 4096);
    rc = text ? ag_config_from_json(text, len, &c->cfg, &msg) : AG_ENOMEM;
    if (rc)
        snprintf(j->err, sizeof(j->err), "%s", msg.data ? msg.data : "invalid configuration");
    ag_buf_dispose(&msg);
    free(text);
    return rc;
}

static void change_done(struct adm_job *j)
{
    struct adm_changes *c = j->arg;
    struct ag_admin *a = j->a;
    struct ag_buf restart, b;
    ag_buf_init(&restart, AG_BUF_CAP_SHORT);
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    int rc = j->rc;
    if (!rc)
        rc = adm_config_apply(a, c->cfg, &restart);
    if (!rc && j->req)
        adm_shared_config_changed(a, c); /* made here: the other instances make it too */
    if (c->on_applied)
        c->on_applied(j, rc, &restart);
    else if (j->req && rc)
        adm_error_rc(j->req, rc, j->err);
    else if (j->req) {
        ag_jsonw_open(&b, NULL, '{');
        ag_jsonw_open(&b, "changed", '[');
        for (size_t i = 0; i < c->n; i++)
            ag_jsonw_str(&b, NULL, c->key[i]);
        ag_jsonw_close(&b, ']');
        ag_jsonw_open(&b, "restart_required", '[');
        for (char *p = restart.data; p && *p;) {
            char *nl = strchr(p, '\n');
            ag_jsonw_strn(&b, NULL, ag_str_make(p, nl ? (size_t)(nl - p) : strlen(p)));
            p = nl ? nl + 1 : p + strlen(p);
        }
        ag_jsonw_close(&b, ']');
        ag_jsonw_open(&b, "overridden_by_environment", '[');
        for (size_t i = 0; i < c->n; i++) {
            const struct ag_config_key *key = ag_config_key_find(c->key[i]);
            const char *e = key && key->env ? getenv(key->env) : NULL;
            if (e && e[0])
                ag_jsonw_str(&b, NULL, c->key[i]);
        }
        ag_jsonw_close(&b, ']');
        write_config(a, &b);
        ag_jsonw_close(&b, '}');
        adm_json(j->req, 200, &b);
    }
    ag_buf_dispose(&restart);
    ag_buf_dispose(&b);
}

int adm_config_apply(struct ag_admin *a, struct ag_config *cfg, struct ag_buf *restart)
{
    int rc = a->apply_config ? a->apply_config(a->apply_ud, cfg, restart) : 0;
    if (!rc)
        ag_admin_set_config(a, cfg);
    return rc;
}

void adm_changes_start(struct ag_admin *a, struct ag_http_req *req, struct adm_changes *c)
{
    struct ag_buf cur;
    ag_buf_init(&cur, AG_BUF_CAP_DOC);
    ag_config_to_json(a->cfg, false, false, &cur);
    c->new_cfg_json = ag_buf_steal(&cur, NULL);
    struct adm_job *j = adm_job_new(a, req, change_work, change_done);
    j->always_done = true; /* saved is applied, also when the client went away meanwhile */
    j->arg = c;
    j->free_arg = (void (*)(void *))adm_changes_free;
    adm_job_start(j);
}

static void h_put(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    yyjson_val *body = adm_body(req, false);
    if (!body)
        return;
    yyjson_val *changes = yyjson_obj_get(body, "changes");
    if (changes && !yyjson_is_obj(changes)) {
        adm_error(req, 400, "invalid_request", "changes", "\"changes\" must be an object");
        return;
    }
    struct adm_changes *c = ag_calloc(1, sizeof(*c));
    if (!collect(req, a, changes ? changes : body, "", c)) {
        adm_changes_free(c);
        return;
    }
    if (c->n == 0) {
        adm_changes_free(c);
        adm_error(req, 400, "invalid_request", "changes", "no configuration key to change");
        return;
    }
    adm_changes_start(a, req, c);
}

const struct adm_route_def adm_config_routes[] = {
    {"GET", "/api/config", h_get, false},
    {"PUT", "/api/config", h_put, false},
    {"POST", "/api/config", h_put, false},
    {NULL, NULL, NULL, false},
};
