/* config/schema_json.c: the kinds of keys whose value is a JSON structure (AG_CONFIG_JSON): the
 * alerts.webhooks list, the oauth.clients list and string-to-string maps (mapping.custom). Each
 * parses and checks its value, emits it (secrets masked on request) and frees it; the key table
 * in schema.c names them. */
#include "config/schema.h"
#include "config/schema_internal.h"

#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "core/url.h"

#include <stdlib.h>
#include <string.h>

/* ---- json kind: alerts.webhooks ---- */

/* The events a webhook may name (alerts/alerts.h sends them); "*" names them all. */
static const char *const alert_events[] = {"key.budget",
                                           "account.disabled",
                                           "account.needs_validation",
                                           "pool.all_limited",
                                           "upstream.error_rate",
                                           "alert.test",
                                           "*",
                                           NULL};

static void webhooks_dispose(void *field)
{
    struct ag_config_webhooks *w = field;
    for (size_t i = 0; i < w->n; i++) {
        free(w->v[i].url);
        free(w->v[i].secret);
        for (size_t j = 0; j < w->v[i].events.n; j++)
            free(w->v[i].events.v[j]);
        free(w->v[i].events.v);
    }
    free(w->v);
    w->v = NULL;
    w->n = 0;
}

static bool known_event(const char *e)
{
    for (size_t i = 0; alert_events[i]; i++)
        if (strcmp(alert_events[i], e) == 0)
            return true;
    return false;
}

/* Item i of alerts.webhooks: an object of "url" (http or https), "events" (1 to 16 names, checked
 * as they are copied) and an optional real "secret". 0, or AG_EINVAL with the reason in why. */
static int webhook_check(yyjson_val *item, size_t i, struct ag_buf *why)
{
    if (!yyjson_is_obj(item)) {
        ag_buf_printf(why, "item %zu is not an object", i);
        return AG_EINVAL;
    }
    size_t j, jmax;
    yyjson_val *k, *val;
    yyjson_obj_foreach(item, j, jmax, k, val)
    {
        const char *kn = yyjson_get_str(k);
        if (strcmp(kn, "url") != 0 && strcmp(kn, "events") != 0 && strcmp(kn, "secret") != 0) {
            ag_buf_printf(why, "item %zu has an unknown member \"%.64s\"", i, kn);
            return AG_EINVAL;
        }
    }
    yyjson_val *url = yyjson_obj_get(item, "url");
    yyjson_val *events = yyjson_obj_get(item, "events");
    yyjson_val *secret = yyjson_obj_get(item, "secret");
    if (!yyjson_is_str(url) || yyjson_get_len(url) > 2048 ||
        !ag_config_http_url(yyjson_get_str(url))) {
        ag_buf_printf(why, "item %zu: \"url\" must be an http:// or https:// URL", i);
        return AG_EINVAL;
    }
    if (secret && (!yyjson_is_str(secret) || yyjson_get_len(secret) > 1024)) {
        ag_buf_printf(why, "item %zu: \"secret\" must be a string (at most 1024 bytes)", i);
        return AG_EINVAL;
    }
    /* What GET /api/config shows instead of a secret is not a secret. */
    if (secret && (strcmp(yyjson_get_str(secret), "****") == 0 ||
                   strstr(yyjson_get_str(secret), "\xe2\x80\xa6"))) {
        ag_buf_printf(why,
                      "item %zu: \"secret\" is the masked form the admin API shows; send "
                      "the real secret",
                      i);
        return AG_EINVAL;
    }
    if (!yyjson_is_arr(events) || yyjson_arr_size(events) == 0 || yyjson_arr_size(events) > 16) {
        ag_buf_printf(why, "item %zu: \"events\" must be a non-empty array of event names", i);
        return AG_EINVAL;
    }
    return 0;
}

static int webhooks_parse(yyjson_val *v, void *field, struct ag_buf *why)
{
    struct ag_config_webhooks *w = field;
    if (!yyjson_is_arr(v)) {
        ag_buf_append_c(why, "not an array");
        return AG_EINVAL;
    }
    size_t n = yyjson_arr_size(v);
    if (n > 16) {
        ag_buf_append_c(why, "more than 16 webhooks");
        return AG_EINVAL;
    }
    w->v = n ? ag_calloc(n, sizeof(*w->v)) : NULL;
    w->n = 0;
    size_t i, max;
    yyjson_val *item;
    yyjson_arr_foreach(v, i, max, item)
    {
        if (webhook_check(item, i, why))
            goto bad;
        yyjson_val *url = yyjson_obj_get(item, "url");
        yyjson_val *events = yyjson_obj_get(item, "events");
        yyjson_val *secret = yyjson_obj_get(item, "secret");
        struct ag_config_webhook *h = &w->v[w->n++];
        h->url = ag_strdup(yyjson_get_str(url));
        h->secret = ag_strdup(secret ? yyjson_get_str(secret) : "");
        h->events.v = ag_calloc(yyjson_arr_size(events), sizeof(char *));
        size_t e, emax;
        yyjson_val *ev;
        yyjson_arr_foreach(events, e, emax, ev)
        {
            if (!yyjson_is_str(ev) || !known_event(yyjson_get_str(ev))) {
                ag_buf_printf(why,
                              "item %zu: events[%zu] is not one of key.budget, account.disabled, "
                              "account.needs_validation, pool.all_limited, upstream.error_rate, "
                              "alert.test, *",
                              i, e);
                goto bad;
            }
            h->events.v[h->events.n++] = ag_strdup(yyjson_get_str(ev));
        }
    }
    return 0;
bad:
    webhooks_dispose(w);
    return AG_EINVAL;
}

static yyjson_mut_val *webhooks_emit(yyjson_mut_doc *doc, const void *field, bool mask)
{
    const struct ag_config_webhooks *w = field;
    yyjson_mut_val *arr = yyjson_mut_arr(doc);
    for (size_t i = 0; i < w->n; i++) {
        yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, arr);
        char shown[2048];
        /* A URL may carry a token in its user info; the path of chat webhooks often does too,
         * but hiding the path would hide which webhook it is. */
        if (mask)
            ag_url_mask_userinfo(w->v[i].url, shown, sizeof(shown));
        yyjson_mut_obj_add_strcpy(doc, o, "url", mask ? shown : w->v[i].url);
        yyjson_mut_val *ev = yyjson_mut_obj_add_arr(doc, o, "events");
        for (size_t j = 0; j < w->v[i].events.n; j++)
            yyjson_mut_arr_add_strcpy(doc, ev, w->v[i].events.v[j]);
        if (w->v[i].secret[0])
            yyjson_mut_obj_add_val(doc, o, "secret",
                                   ag_config_masked_str(doc, w->v[i].secret, mask));
    }
    return arr;
}

const struct ag_config_json_ops ag_config_webhooks_ops = {
    .allowed = "an array of at most 16 {\"url\", \"events\", \"secret\"} objects: an http:// "
               "or https:// URL, a non-empty list of event names, an optional signing secret",
    .parse = webhooks_parse,
    .emit = webhooks_emit,
    .dispose = webhooks_dispose,
};

/* ---- json kind: oauth.clients ---- */

static void clients_dispose(void *field)
{
    struct ag_config_oauth_clients *c = field;
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].name);
        free(c->v[i].client_id);
        free(c->v[i].client_secret);
    }
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

static int clients_parse(yyjson_val *v, void *field, struct ag_buf *why)
{
    struct ag_config_oauth_clients *c = field;
    if (!yyjson_is_arr(v)) {
        ag_buf_append_c(why, "not an array");
        return AG_EINVAL;
    }
    size_t n = yyjson_arr_size(v);
    c->v = n ? ag_calloc(n, sizeof(*c->v)) : NULL;
    c->n = 0;
    size_t i, max;
    yyjson_val *item;
    yyjson_arr_foreach(v, i, max, item)
    {
        if (!yyjson_is_obj(item)) {
            ag_buf_printf(why, "item %zu is not an object", i);
            goto bad;
        }
        size_t j, jmax;
        yyjson_val *k, *val;
        yyjson_obj_foreach(item, j, jmax, k, val)
        {
            const char *kn = yyjson_get_str(k);
            if (strcmp(kn, "name") != 0 && strcmp(kn, "client_id") != 0 &&
                strcmp(kn, "client_secret") != 0) {
                ag_buf_printf(why, "item %zu has an unknown member \"%s\"", i, kn);
                goto bad;
            }
        }
        yyjson_val *name = yyjson_obj_get(item, "name");
        yyjson_val *id = yyjson_obj_get(item, "client_id");
        yyjson_val *secret = yyjson_obj_get(item, "client_secret");
        if (!yyjson_is_str(name) || yyjson_get_len(name) == 0) {
            ag_buf_printf(why, "item %zu: \"name\" must be a non-empty string", i);
            goto bad;
        }
        if (!yyjson_is_str(id) || yyjson_get_len(id) == 0) {
            ag_buf_printf(why, "item %zu: \"client_id\" must be a non-empty string", i);
            goto bad;
        }
        if (secret && !yyjson_is_str(secret)) {
            ag_buf_printf(why, "item %zu: \"client_secret\" must be a string", i);
            goto bad;
        }
        for (size_t p = 0; p < c->n; p++) {
            if (strcmp(c->v[p].name, yyjson_get_str(name)) == 0) {
                ag_buf_printf(why, "item %zu: duplicate name \"%s\"", i, yyjson_get_str(name));
                goto bad;
            }
        }
        c->v[c->n].name = ag_strdup(yyjson_get_str(name));
        c->v[c->n].client_id = ag_strdup(yyjson_get_str(id));
        c->v[c->n].client_secret = ag_strdup(secret ? yyjson_get_str(secret) : "");
        c->n++;
    }
    return 0;
bad:
    clients_dispose(c);
    return AG_EINVAL;
}

yyjson_mut_val *ag_config_masked_str(yyjson_mut_doc *doc, const char *s, bool mask)
{
    char m[64];
    return yyjson_mut_strcpy(doc, mask ? ag_log_mask(s, m, sizeof(m)) : s);
}

static yyjson_mut_val *clients_emit(yyjson_mut_doc *doc, const void *field, bool mask)
{
    const struct ag_config_oauth_clients *c = field;
    yyjson_mut_val *arr = yyjson_mut_arr(doc);
    for (size_t i = 0; i < c->n; i++) {
        yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, arr);
        yyjson_mut_obj_add_strcpy(doc, o, "name", c->v[i].name);
        yyjson_mut_obj_add_strcpy(doc, o, "client_id", c->v[i].client_id);
        yyjson_mut_obj_add_val(doc, o, "client_secret",
                               ag_config_masked_str(doc, c->v[i].client_secret, mask));
    }
    return arr;
}

const struct ag_config_json_ops ag_config_clients_ops = {
    .allowed = "an array of {\"name\", \"client_id\", \"client_secret\"} objects with non-empty, "
               "unique names and non-empty client ids",
    .parse = clients_parse,
    .emit = clients_emit,
    .dispose = clients_dispose,
};

/* ---- json kind: string -> string maps (mapping.custom) ---- */

static void strmap_dispose(void *field)
{
    struct ag_config_strmap *m = field;
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].value);
    }
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

static int strmap_parse(yyjson_val *v, void *field, struct ag_buf *why)
{
    struct ag_config_strmap *m = field;
    if (!yyjson_is_obj(v)) {
        ag_buf_append_c(why, "not an object");
        return AG_EINVAL;
    }
    size_t n = yyjson_obj_size(v);
    m->v = n ? ag_calloc(n, sizeof(*m->v)) : NULL;
    m->n = 0;
    size_t i, max;
    yyjson_val *k, *val;
    yyjson_obj_foreach(v, i, max, k, val)
    {
        if (!yyjson_is_str(val)) {
            ag_buf_printf(why, "the value of \"%s\" is not a string", yyjson_get_str(k));
            strmap_dispose(m);
            return AG_EINVAL;
        }
        for (size_t p = 0; p < m->n; p++) {
            if (strcmp(m->v[p].key, yyjson_get_str(k)) == 0) {
                ag_buf_printf(why, "duplicate key \"%s\"", yyjson_get_str(k));
                strmap_dispose(m);
                return AG_EINVAL;
            }
        }
        m->v[m->n].key = ag_strdup(yyjson_get_str(k));
        m->v[m->n].value = ag_strdup(yyjson_get_str(val));
        m->n++;
    }
    return 0;
}

static yyjson_mut_val *strmap_emit(yyjson_mut_doc *doc, const void *field, bool mask)
{
    const struct ag_config_strmap *m = field;
    yyjson_mut_val *o = yyjson_mut_obj(doc);
    for (size_t i = 0; i < m->n; i++)
        yyjson_mut_obj_add_strcpy(doc, o, m->v[i].key, m->v[i].value);
    return o;
}

const struct ag_config_json_ops ag_config_strmap_ops = {
    .allowed = "an object mapping model names to model names (strings)",
    .parse = strmap_parse,
    .emit = strmap_emit,
    .dispose = strmap_dispose,
};
