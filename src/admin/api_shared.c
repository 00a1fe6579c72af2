/* admin/api_shared.c: configuration changes made through this instance's admin API reach the
 * other instances sharing state on Redis (state.redis_url), and theirs reach this one: a notice
 * "config" {"changes":{key: text, ...}} after a change is saved and applied here; a receiver saves
 * and applies the same changes through its own admin path (config.json, then the running
 * snapshot), without sending them on. The settings of one instance's own process and host —
 * server.*, state.*, store.*, log.* and telemetry.* — are not sent. */
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "admin/admin_internal.h"
#include "admin/api_config.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "state/state.h"
#include "state/stores.h"

static bool local_key(const char *key)
{
    static const char *const local[] = {"server.", "state.", "store.", "log.", "telemetry."};
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
        if (strncmp(key, local[i], strlen(local[i])) == 0)
            return true;
    return false;
}

void adm_shared_config_changed(struct ag_admin *a, const struct adm_changes *c)
{
    if (!a->state)
        return;
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(d), *ch = yyjson_mut_obj(d);
    yyjson_mut_doc_set_root(d, root);
    yyjson_mut_obj_add_val(d, root, "changes", ch);
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (local_key(c->key[i]))
            continue;
        yyjson_mut_obj_add_strcpy(d, ch, c->key[i], c->text[i]);
        n++;
    }
    char *json = n ? yyjson_mut_write(d, 0, NULL) : NULL;
    yyjson_mut_doc_free(d);
    if (json && !ag_state_notify(a->state, "config", json))
        ag_log_warn("admin: the configuration change could not reach the other instances (Redis "
                    "is down): make it there too");
    free(json);
}

/* Another instance changed its configuration: the same changes, saved and applied here. */
static void on_config(void *ud, const char *instance, yyjson_val *body)
{
    struct ag_admin *a = ud;
    yyjson_val *changes = yyjson_obj_get(body, "changes");
    size_t i, max;
    yyjson_val *k, *v;
    struct ag_buf why;
    if (!yyjson_is_obj(changes))
        return;
    struct adm_changes *c = ag_calloc(1, sizeof(*c));
    ag_buf_init(&why, 4096);
    yyjson_obj_foreach(changes, i, max, k, v)
    {
        const char *key = yyjson_get_str(k), *text = yyjson_get_str(v);
        if (!text || local_key(key))
            continue;
        ag_buf_reset(&why);
        if (adm_changes_add(c, key, text, &why) != 0)
            ag_log_warn("admin: ignoring %s from instance %s: %s", key, instance,
                        why.data ? why.data : "invalid");
    }
    ag_buf_dispose(&why);
    if (!c->n) {
        adm_changes_free(c);
        return;
    }
    ag_log_info("admin: applying %zu configuration change(s) made on instance %s", c->n, instance);
    adm_changes_start(a, NULL, c); /* no request: not sent on */
}

void ag_admin_set_state(struct ag_admin *a, struct ag_state *st)
{
    if (a->state)
        (void)ag_state_listen(a->state, "config", NULL, NULL);
    a->state = st;
    if (st)
        (void)ag_state_listen(st, "config", on_config, a);
}
