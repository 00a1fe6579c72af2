/* desktop/clients.c: the coding clients set up through aigate (Claude Code, Codex CLI, Gemini
 * CLI, OpenCode) whose own configuration a set-up would now write differently — the gateway's
 * port or key changed, the file was edited, the set-up format is newer — become a notification
 * with "Update" (the same set-up as `aigate clients setup`, with its backup) and "Dismiss", and
 * a line in the tray menu. The files are read on a worker thread (GTask): at start, every
 * CHECK_SECONDS and when the configuration file changes; the GTK thread only compares results. */
#include "desktop/app.h"

#include "clients/clients.h"
#include "config/config.h"
#include "core/log.h"

#include <libnotify/notify.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CHECK_SECONDS 60
/* More than the client table holds (clients/formats.c). */
#define MAX_CLIENTS 8

struct ag_desk_clients {
    struct ag_desk *d;
    bool busy, again, stopped;
    long pending; /* a client whose update waits for the check under way (-1: none) */
    guint timer;
    GFileMonitor *mon;
    char notified[MAX_CLIENTS][1024]; /* the reason last notified ("" = none) */
    NotifyNotification *shown[MAX_CLIENTS];
};

/* One check (and, with update >= 0, first the set-up of that client), on a worker thread. */
struct job {
    struct ag_desk_clients *c; /* read on the GTK thread only */
    char base[AG_DESK_URL_SIZE];
    char *data_dir;
    int port;
    long update;
    /* results */
    size_t n;
    struct ag_clients_check res[MAX_CLIENTS];
    char error[1200];
};

/* A notification's action: which client. */
struct action {
    struct ag_desk_clients *c;
    size_t client;
};

static void job_free(gpointer p)
{
    struct job *j = p;
    g_free(j->data_dir);
    g_free(j);
}

/* Plans and applies the set-up of client with t (the check's model); the error in j->error. */
static void update(struct job *j, size_t client, const struct ag_clients_env *env,
                   const struct ag_clients_target *t)
{
    struct ag_clients_plan plan;
    char err[1024] = "", stamp[32];
    int rc = ag_clients_plan(env, client, t, &plan, err, sizeof(err));
    if (!rc)
        rc = ag_clients_apply(&plan, time(NULL), stamp, err, sizeof(err));
    ag_clients_plan_dispose(&plan);
    if (rc)
        snprintf(j->error, sizeof(j->error), "%s", err[0] ? err : "the set-up failed");
    else
        ag_log_info("desktop: %s set up for %s", ag_clients_name(client), t->base_url);
}

static void job_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
    struct job *j = data;
    struct ag_clients_env env;
    /* The key as the configuration says now (the UI may have rotated it). */
    struct ag_config *cfg = ag_desk_config_load(j->data_dir, j->port);
    if (cfg && !ag_clients_env_from_process(&env)) {
        struct ag_clients_target t = {j->base, cfg->auth.api_key, NULL};
        j->n = ag_clients_count() < MAX_CLIENTS ? ag_clients_count() : MAX_CLIENTS;
        if (j->update >= 0 && (size_t)j->update < j->n) {
            struct ag_clients_check pre;
            if (!ag_clients_check(&env, (size_t)j->update, &t, &pre)) {
                t.model = pre.model[0] ? pre.model : NULL;
                update(j, (size_t)j->update, &env, &t);
                t.model = NULL;
            }
        }
        for (size_t i = 0; i < j->n; i++) {
            if (ag_clients_check(&env, i, &t, &j->res[i]))
                memset(&j->res[i], 0, sizeof(j->res[i])); /* no key: nothing to compare */
        }
    }
    ag_config_unref(cfg);
    g_task_return_boolean(task, TRUE);
}

static void start(struct ag_desk_clients *c, long update);

static void on_closed(NotifyNotification *n, gpointer ud)
{
    struct action *a = ud;
    if (a->c->shown[a->client] == n) {
        a->c->shown[a->client] = NULL;
        g_object_unref(n);
    }
}

static void on_action(NotifyNotification *n, char *name, gpointer ud)
{
    struct action *a = ud;
    if (strcmp(name, "update") == 0 && !a->c->stopped)
        start(a->c, (long)a->client);
    notify_notification_close(n, NULL);
}

/* The notification for client i, kept until the server closes it (its actions need it alive). */
static void show(struct ag_desk_clients *c, size_t i, const struct ag_clients_check *r)
{
    char summary[256], body[4096]; /* reason, path and base URL fit whole */
    GError *err = NULL;
    if (!notify_is_initted() && !notify_init("aigate"))
        return;
    snprintf(summary, sizeof(summary), "aigate: %s needs a configuration update",
             ag_clients_title(i));
    snprintf(body, sizeof(body), "%s. Update rewrites %s for %s (a backup is kept).", r->reason,
             r->state.path, c->d->base);
    if (c->shown[i])
        notify_notification_close(c->shown[i], NULL);
    NotifyNotification *n = notify_notification_new(summary, body, "aigate");
    notify_notification_set_app_name(n, "aigate");
    struct action *a = g_new0(struct action, 1);
    a->c = c;
    a->client = i;
    notify_notification_add_action(n, "update", "Update", on_action, a, g_free);
    notify_notification_add_action(n, "dismiss", "Dismiss", on_action, a, NULL);
    g_signal_connect(n, "closed", G_CALLBACK(on_closed), a);
    if (!notify_notification_show(n, &err)) {
        ag_log_info("desktop: notification not shown: %s", err ? err->message : "?");
        g_clear_error(&err);
        g_object_unref(n);
        return;
    }
    if (c->shown[i])
        g_object_unref(c->shown[i]);
    c->shown[i] = n;
}

static void job_done(GObject *src, GAsyncResult *res, gpointer ud)
{
    struct job *j = g_task_get_task_data(G_TASK(res));
    struct ag_desk_clients *c = j->c;
    c->busy = false;
    if (c->stopped)
        return;
    unsigned stale = 0;
    for (size_t i = 0; i < j->n; i++) {
        const struct ag_clients_check *r = &j->res[i];
        if (r->verdict != AG_CLIENTS_NEEDS_UPDATE) {
            c->notified[i][0] = '\0';
            if (c->shown[i])
                notify_notification_close(c->shown[i], NULL);
            continue;
        }
        stale++;
        /* once per client and reason, not at every check */
        if (strcmp(c->notified[i], r->reason) != 0) {
            g_strlcpy(c->notified[i], r->reason, sizeof(c->notified[i]));
            ag_log_info("desktop: %s needs a configuration update: %s", ag_clients_name(i),
                        r->reason);
            show(c, i, r);
        }
    }
    if (j->error[0] && j->update >= 0) {
        char summary[256];
        snprintf(summary, sizeof(summary), "aigate: %s was not updated",
                 ag_clients_title((size_t)j->update));
        ag_desk_notify(summary, j->error);
    }
    if (c->d->clients_stale != stale) {
        c->d->clients_stale = stale;
        ag_desk_tray_update(c->d->tray);
    }
    if (c->again) {
        long next = c->pending;
        c->again = false;
        c->pending = -1;
        start(c, next);
    }
}

static void start(struct ag_desk_clients *c, long update)
{
    struct ag_desk *d = c->d;
    if (c->busy) {
        c->again = true;
        if (update >= 0)
            c->pending = update;
        return;
    }
    struct job *j = g_new0(struct job, 1);
    j->c = c;
    g_strlcpy(j->base, d->base, sizeof(j->base));
    j->data_dir = g_strdup(d->opt_data_dir);
    j->port = d->opt_port;
    j->update = update;
    c->busy = true;
    GTask *task = g_task_new(NULL, NULL, job_done, NULL);
    g_task_set_task_data(task, j, job_free);
    g_task_run_in_thread(task, job_thread);
    g_object_unref(task);
}

void ag_desk_clients_check(struct ag_desk_clients *c)
{
    if (c && !c->stopped)
        start(c, -1);
}

static gboolean tick(gpointer ud)
{
    ag_desk_clients_check(ud);
    return G_SOURCE_CONTINUE;
}

static void on_config_changed(GFileMonitor *m, GFile *f, GFile *other, GFileMonitorEvent ev,
                              gpointer ud)
{
    if (ev != G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED)
        ag_desk_clients_check(ud);
}

struct ag_desk_clients *ag_desk_clients_new(struct ag_desk *d)
{
    /* A set-up writes http://127.0.0.1:<port>: a gateway elsewhere is not one to compare with. */
    if (!d->cfg || !g_str_has_prefix(d->base, "http://127.0.0.1:"))
        return NULL;
    struct ag_desk_clients *c = g_new0(struct ag_desk_clients, 1);
    c->d = d;
    c->pending = -1;
    c->timer = g_timeout_add_seconds(CHECK_SECONDS, tick, c);
    if (d->cfg->path && d->cfg->path[0]) {
        GFile *f = g_file_new_for_path(d->cfg->path);
        c->mon = g_file_monitor_file(f, G_FILE_MONITOR_WATCH_MOVES, NULL, NULL);
        if (c->mon)
            g_signal_connect(c->mon, "changed", G_CALLBACK(on_config_changed), c);
        g_object_unref(f);
    }
    start(c, -1);
    return c;
}

void ag_desk_clients_stop(struct ag_desk_clients *c)
{
    if (!c || c->stopped)
        return;
    c->stopped = true;
    if (c->timer)
        g_source_remove(c->timer);
    c->timer = 0;
    if (c->mon) {
        g_file_monitor_cancel(c->mon);
        g_clear_object(&c->mon);
    }
    for (size_t i = 0; i < MAX_CLIENTS; i++) {
        if (c->shown[i])
            notify_notification_close(c->shown[i], NULL);
    }
}

void ag_desk_clients_free(struct ag_desk_clients *c)
{
    if (!c)
        return;
    ag_desk_clients_stop(c);
    for (size_t i = 0; i < MAX_CLIENTS; i++)
        g_clear_object(&c->shown[i]);
    g_free(c);
}
