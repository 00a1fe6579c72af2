/* clients/check.c: is a client set up through aigate still set up the way a set-up would write it
 * now? The answer is the set-up's own plan (clients.c) for the gateway's base URL and key and the
 * recorded model: no change means up to date; a change is explained from what status reads in the
 * files (another base URL, none, another key) and from the set-up record (an older format, the
 * model). */
#include "clients/clients_internal.h"

#include "core/err.h"
#include "core/str.h"

#include <stdio.h>
#include <string.h>

/* Whether planning t for client changes a file: 1 yes, 0 no, negative an error (message in err). */
static int plan_changes(const struct ag_clients_env *env, size_t client,
                        const struct ag_clients_target *t, char *err, size_t cap)
{
    struct ag_clients_plan plan;
    int rc = ag_clients_plan(env, client, t, &plan, err, cap);
    if (!rc)
        rc = ag_clients_plan_changes(&plan) ? 1 : 0;
    ag_clients_plan_dispose(&plan);
    return rc;
}

/* Appends what to the reason in out (cap bytes), "; " between reasons; cut at cap. */
static void add(char *out, size_t cap, const char *what)
{
    size_t n = strlen(out);
    if (n && n + 2 < cap) {
        memcpy(out + n, "; ", 2);
        n += 2;
        out[n] = '\0';
    }
    if (n + 1 < cap)
        ag_strlcpy(out + n, what, cap - n);
}

int ag_clients_check(const struct ag_clients_env *env, size_t client,
                     const struct ag_clients_target *t, struct ag_clients_check *out)
{
    char rec[AG_CLIENTS_PATH_MAX], stamp[64], err[1024] = "", line[1200];
    memset(out, 0, sizeof(*out));
    if (client >= ag_clients_ntable || ag_clients_check_target(t, err, sizeof(err)))
        return AG_EINVAL;
    int rrc = ag_clients_record_path(env, client, rec, sizeof(rec));
    if (!rrc)
        rrc = ag_clients_record_read(rec, &out->version, out->model, sizeof(out->model));
    if (ag_clients_backup_stamp(env, client, stamp, sizeof(stamp)))
        stamp[0] = '\0';
    if (rrc == AG_ENOTFOUND && !stamp[0])
        return 0; /* NOT_SET_UP */
    ag_clients_status(env, client, t, &out->state);
    const struct ag_clients_state *st = &out->state;

    struct ag_clients_target now = {t->base_url, t->key, out->model[0] ? out->model : NULL};
    int changes = st->error[0] ? AG_EPARSE : plan_changes(env, client, &now, err, sizeof(err));
    if (changes == 0 && out->version >= AG_CLIENTS_SETUP_VERSION) {
        out->verdict = AG_CLIENTS_UP_TO_DATE;
        return 0;
    }
    out->verdict = AG_CLIENTS_NEEDS_UPDATE;
    if (changes < 0) {
        out->why |= AG_CLIENTS_WHY_UNREADABLE;
        snprintf(out->reason, sizeof(out->reason), "%s", st->error[0] ? st->error : err);
        return 0;
    }
    if (!st->configured) {
        out->why |= AG_CLIENTS_WHY_GONE;
        add(out->reason, sizeof(out->reason), "its configuration no longer points at aigate");
    } else if (!st->points_here) {
        out->why |= AG_CLIENTS_WHY_URL;
        snprintf(line, sizeof(line), "it points at %s, the gateway is at %s", st->url, t->base_url);
        add(out->reason, sizeof(out->reason), line);
    }
    if (st->configured && !st->key_same) {
        out->why |= AG_CLIENTS_WHY_KEY;
        add(out->reason, sizeof(out->reason), "its key is not the gateway's key");
    }
    if (out->version < AG_CLIENTS_SETUP_VERSION) {
        out->why |= AG_CLIENTS_WHY_VERSION;
        snprintf(line, sizeof(line), "it was set up by an older aigate (set-up format %d, now %d)",
                 out->version, AG_CLIENTS_SETUP_VERSION);
        add(out->reason, sizeof(out->reason), line);
    }
    if (changes > 0 &&
        !(out->why & (AG_CLIENTS_WHY_URL | AG_CLIENTS_WHY_GONE | AG_CLIENTS_WHY_KEY))) {
        /* The same plan without the model changes nothing: the model is what differs. */
        struct ag_clients_target bare = {t->base_url, t->key, NULL};
        bool model = now.model && plan_changes(env, client, &bare, err, sizeof(err)) == 0;
        out->why |= model ? AG_CLIENTS_WHY_MODEL : AG_CLIENTS_WHY_OTHER;
        if (model) {
            snprintf(line, sizeof(line), "its model is no longer %s", now.model);
            add(out->reason, sizeof(out->reason), line);
        } else {
            add(out->reason, sizeof(out->reason),
                "settings the set-up writes differ from what it would write now");
        }
    }
    return 0;
}
