/* desktop/main.c: aigate-desktop — the gateway with a window and a tray. One instance per user
 * session (GApplication's unique name on the session bus: a second launch raises the first
 * window and exits). At start it attaches to a gateway already answering on the configured port
 * (or --attach URL), else runs one in this process (desktop/engine); the window signs in with a
 * session made for this launch (desktop/window.c). This file owns the app's life: options, the
 * settings file, the start-at-login entry, the status poll, proxy start/stop, notifications of the
 * pool's events, and quit. */
#include "desktop/app.h"

#include "config/config.h"
#include "core/buf.h"
#include "core/log.h"
#include "desktop/engine.h"
#include "desktop/link.h"

#include "upstream/curl_api.h"
#include <errno.h>
#include <glib/gstdio.h>
#include <libnotify/notify.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* The window's session lives as long as the process at most; this caps it for a process that runs
 * for weeks. */
#define SESSION_TTL_MS (30LL * 24 * 3600 * 1000)
/* The tray follows the gateway's status at this pace. */
#define POLL_SECONDS 3
/* After a pool "every account limited" event the tray says so for this long. */
#define LIMITED_HOLD_MS (60 * 1000)

static int64_t now_ms(void)
{
    return g_get_real_time() / 1000;
}

/* ---- settings and start at login ---- */

static char *autostart_path(void)
{
    return g_build_filename(g_get_user_config_dir(), "autostart", "aigate-desktop.desktop", NULL);
}

static void settings_load(struct ag_desk *d)
{
    GKeyFile *k = g_key_file_new();
    d->settings_path = g_build_filename(g_get_user_config_dir(), "aigate", "desktop.ini", NULL);
    if (g_key_file_load_from_file(k, d->settings_path, G_KEY_FILE_NONE, NULL)) {
        d->autostart = g_key_file_get_boolean(k, "desktop", "autostart", NULL);
        d->lightweight = g_key_file_get_boolean(k, "desktop", "lightweight", NULL);
    }
    g_key_file_free(k);
}

static void settings_save(struct ag_desk *d)
{
    GKeyFile *k = g_key_file_new();
    GError *err = NULL;
    g_key_file_set_boolean(k, "desktop", "autostart", d->autostart);
    g_key_file_set_boolean(k, "desktop", "lightweight", d->lightweight);
    char *dir = g_path_get_dirname(d->settings_path);
    g_mkdir_with_parents(dir, 0700);
    if (!g_key_file_save_to_file(k, d->settings_path, &err)) {
        ag_log_warn("desktop: cannot save %s: %s", d->settings_path, err->message);
        g_clear_error(&err);
    }
    g_free(dir);
    g_key_file_free(k);
}

/* Writes or removes the XDG autostart entry so that it matches the setting. */
static void autostart_sync(struct ag_desk *d)
{
    char *path = autostart_path();
    GError *err = NULL;
    if (!d->autostart) {
        if (g_unlink(path) != 0 && errno != ENOENT)
            ag_log_warn("desktop: cannot remove %s: %s", path, g_strerror(errno));
        goto out;
    }
    char *exe = g_file_read_link("/proc/self/exe", NULL);
    char *quoted = g_shell_quote(exe ? exe : "aigate-desktop");
    char *text = g_strdup_printf("[Desktop Entry]\n"
                                 "Type=Application\n"
                                 "Name=aigate\n"
                                 "Comment=Local AI gateway, started in the tray at login\n"
                                 "Exec=%s --hidden\n"
                                 "Icon=aigate\n"
                                 "Terminal=false\n"
                                 "X-GNOME-Autostart-enabled=true\n",
                                 quoted);
    char *dir = g_path_get_dirname(path);
    g_mkdir_with_parents(dir, 0700);
    if (!g_file_set_contents(path, text, -1, &err)) {
        ag_log_warn("desktop: cannot write %s: %s", path, err->message);
        g_clear_error(&err);
    }
    g_free(dir);
    g_free(text);
    g_free(quoted);
    g_free(exe);
out:
    g_free(path);
}

void ag_desk_set_autostart(struct ag_desk *d, bool on)
{
    d->autostart = on;
    settings_save(d);
    autostart_sync(d);
    ag_desk_tray_update(d->tray);
}

void ag_desk_set_lightweight(struct ag_desk *d, bool on)
{
    d->lightweight = on;
    settings_save(d);
    if (on && d->window && !gtk_widget_get_visible(d->window))
        ag_desk_window_hide(d); /* frees it now */
    ag_desk_tray_update(d->tray);
}

/* ---- status and proxy control (admin API calls off the GTK thread) ---- */

struct call {
    struct ag_desk *d;
    char base[AG_DESK_URL_SIZE];
    char token[AG_DESK_TOKEN_SIZE];
    const char *method, *path;
    unsigned gen; /* d->gen when the call began: a status read before a start/stop is stale */
    /* results */
    long status;
    bool running;
    int64_t accounts, usable;
};

static void call_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    struct call *k = data;
    yyjson_doc *doc = ag_desk_link_call(k->base, k->token, k->method, k->path, 3000, &k->status);
    yyjson_val *root = yyjson_doc_get_root(doc);
    k->running = yyjson_get_bool(yyjson_obj_get(root, "running"));
    k->accounts = yyjson_get_sint(yyjson_obj_get(root, "accounts"));
    k->usable = yyjson_get_sint(yyjson_obj_get(root, "usable_accounts"));
    yyjson_doc_free(doc);
    g_task_return_boolean(task, TRUE);
}

static void call_free(gpointer p)
{
    struct call *k = p;
    explicit_bzero(k->token, sizeof(k->token));
    g_free(k);
}

static void call_done(GObject *src, GAsyncResult *res, gpointer ud)
{
    struct call *k = g_task_get_task_data(G_TASK(res));
    struct ag_desk *d = k->d;
    if (strcmp(k->method, "GET") == 0)
        d->polling = false;
    if (d->quitting || k->gen != d->gen)
        return;
    if (k->status != 200) {
        d->state = AG_DESK_STOPPED;
        d->proxy_running = false;
    } else {
        bool unusable = k->accounts > 0 && k->usable == 0;
        d->proxy_running = k->running;
        d->state = !k->running                                  ? AG_DESK_STOPPED
                   : unusable || now_ms() < d->limited_until_ms ? AG_DESK_LIMITED
                                                                : AG_DESK_RUNNING;
        if (unusable && !d->was_unusable)
            ag_desk_notify("aigate: no usable account",
                           "Every account is disabled or needs attention. Open aigate to fix it.");
        d->was_unusable = unusable;
    }
    ag_desk_tray_update(d->tray);
}

static void call_start(struct ag_desk *d, const char *method, const char *path)
{
    struct call *k = g_new0(struct call, 1);
    k->d = d;
    g_strlcpy(k->base, d->base, sizeof(k->base));
    g_strlcpy(k->token, d->token, sizeof(k->token));
    k->method = method;
    k->path = path;
    if (strcmp(method, "GET") == 0)
        d->polling = true;
    else
        d->gen++;
    k->gen = d->gen;
    GTask *task = g_task_new(NULL, NULL, call_done, NULL);
    g_task_set_task_data(task, k, call_free);
    g_task_run_in_thread(task, call_thread);
    g_object_unref(task);
}

void ag_desk_poll(struct ag_desk *d)
{
    if (!d->polling && !d->quitting)
        call_start(d, "GET", "/api/proxy/status");
}

void ag_desk_set_proxy(struct ag_desk *d, bool on)
{
    if (!d->quitting)
        call_start(d, "POST", on ? "/api/proxy/start" : "/api/proxy/stop");
}

static gboolean poll_tick(gpointer ud)
{
    ag_desk_poll(ud);
    return G_SOURCE_CONTINUE;
}

/* ---- the pool's events (gateway thread) become notifications (GTK thread) ---- */

struct pool_event {
    struct ag_desk *d;
    int ev;
    char *subject, *message;
};

static gboolean pool_event_show(gpointer p)
{
    struct pool_event *e = p;
    struct ag_desk *d = e->d;
    char summary[512];
    /* The values of enum ag_pool_event (pool/pool.h). */
    switch (e->ev) {
    case 1:
        snprintf(summary, sizeof(summary), "aigate: account %s disabled", e->subject);
        ag_desk_notify(summary, e->message);
        break;
    case 2:
        snprintf(summary, sizeof(summary), "aigate: account %s needs validation", e->subject);
        ag_desk_notify(summary, e->message);
        break;
    case 3:
        /* One notification per limited period, not one per refused request. */
        if (now_ms() >= d->limited_until_ms)
            ag_desk_notify("aigate: every account is limited", e->message);
        d->limited_until_ms = now_ms() + LIMITED_HOLD_MS;
        if (d->state == AG_DESK_RUNNING) {
            d->state = AG_DESK_LIMITED;
            ag_desk_tray_update(d->tray);
        }
        break;
    default:
        break;
    }
    g_free(e->subject);
    g_free(e->message);
    g_free(e);
    return G_SOURCE_REMOVE;
}

static void on_pool_event(int ev, const char *subject, const char *message, void *ud)
{
    struct pool_event *e = g_new0(struct pool_event, 1);
    e->d = ud;
    e->ev = ev;
    e->subject = g_strdup(subject ? subject : "");
    e->message = g_strdup(message ? message : "");
    g_idle_add(pool_event_show, e);
}

/* ---- start: attach or run the gateway here ---- */

struct ag_config *ag_desk_config_load(const char *data_dir, int port_override)
{
    struct ag_config_source src = {0};
    struct ag_config_override ov[1];
    char port[24];
    struct ag_config *cfg = NULL;
    struct ag_buf err;
    ag_buf_init(&err, AG_BUF_CAP_SHORT);
    src.data_dir = data_dir;
    src.getenv = ag_config_getenv_process;
    if (port_override > 0) {
        snprintf(port, sizeof(port), "%d", port_override);
        ov[0] =
            (struct ag_config_override){.key = "server.port", .value = port, .origin = "--port"};
        src.overrides = ov;
        src.n_overrides = 1;
    }
    if (ag_config_load(&src, &cfg, &err) != 0)
        fprintf(stderr, "aigate-desktop: %s\n",
                err.data ? err.data : "cannot load the configuration");
    ag_buf_dispose(&err);
    return cfg;
}

/* An http URL on this machine's loopback, where the configuration's secret may be sent. */
static bool loopback(const char *base)
{
    static const char *const ok[] = {"http://127.0.0.1:", "http://localhost:", "http://[::1]:"};
    for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
        if (g_str_has_prefix(base, ok[i]))
            return true;
    }
    return false;
}

static int attach(struct ag_desk *d, const char *base)
{
    g_strlcpy(d->base, base, sizeof(d->base));
    size_t n = strlen(d->base);
    while (n > 0 && d->base[n - 1] == '/')
        d->base[--n] = '\0';
    if (!ag_desk_link_alive(d->base, 2000)) {
        fprintf(stderr, "aigate-desktop: no aigate answers at %s\n", d->base);
        return -1;
    }
    /* The secret of this machine's configuration signs the window in, and only on this machine;
     * without one (or another gateway's), the window shows the sign-in form. */
    const char *secret = NULL;
    if (d->cfg && loopback(d->base))
        secret =
            d->cfg->auth.admin_password[0] ? d->cfg->auth.admin_password : d->cfg->auth.api_key;
    if (!secret || !secret[0] ||
        ag_desk_link_login(d->base, secret, d->token, sizeof(d->token), &d->token_expires_ms))
        ag_log_warn("desktop: could not sign in to %s with this machine's configuration", d->base);
    ag_log_info("desktop: attached to the gateway at %s", d->base);
    return 0;
}

static int start_gateway(struct ag_desk *d)
{
    char base[AG_DESK_URL_SIZE];
    d->cfg = ag_desk_config_load(d->opt_data_dir, d->opt_port);
    if (d->opt_attach)
        return attach(d, d->opt_attach);
    if (!d->cfg)
        return -1;
    ag_log_set_level(d->cfg->log.level);
    snprintf(base, sizeof(base), "http://127.0.0.1:%lld", (long long)d->cfg->server.port);
    if (d->cfg->server.port > 0 && ag_desk_link_alive(base, 1000))
        return attach(d, base); /* a gateway runs already (e.g. as a service) */
    struct ag_buf err;
    ag_buf_init(&err, AG_BUF_CAP_SHORT);
    d->engine = ag_desk_engine_start(d->cfg, SESSION_TTL_MS, on_pool_event, d, &err);
    if (!d->engine) {
        fprintf(stderr, "aigate-desktop: %s\n", err.data ? err.data : "cannot start the gateway");
        ag_buf_dispose(&err);
        return -1;
    }
    ag_buf_dispose(&err);
    snprintf(d->base, sizeof(d->base), "http://127.0.0.1:%d", ag_desk_engine_port(d->engine));
    g_strlcpy(d->token, ag_desk_engine_token(d->engine, &d->token_expires_ms), sizeof(d->token));
    return 0;
}

/* ---- quit ---- */

void ag_desk_quit(struct ag_desk *d)
{
    if (d->quitting)
        return;
    d->quitting = true;
    ag_desk_clients_stop(d->clients);
    ag_desk_window_destroy(d);
    if (d->engine) {
        ag_desk_engine_stop(d->engine); /* requests in flight finish first */
        d->engine = NULL;
        ag_log_info("desktop: gateway stopped");
    } else if (d->token[0]) {
        yyjson_doc_free(
            ag_desk_link_call(d->base, d->token, "POST", "/api/auth/logout", 1000, NULL));
    }
    explicit_bzero(d->token, sizeof(d->token));
    ag_desk_tray_free(d->tray);
    d->tray = NULL;
    g_application_release(G_APPLICATION(d->app));
}

static gboolean on_signal(gpointer ud)
{
    ag_desk_quit(ud);
    return G_SOURCE_CONTINUE;
}

/* ---- GApplication ---- */

static void act_quit(GSimpleAction *a, GVariant *p, gpointer ud)
{
    ag_desk_quit(ud);
}

static void act_show(GSimpleAction *a, GVariant *p, gpointer ud)
{
    ag_desk_window_show(ud);
}

static void act_hide(GSimpleAction *a, GVariant *p, gpointer ud)
{
    ag_desk_window_hide(ud);
}

static void on_startup(GApplication *app, gpointer ud)
{
    struct ag_desk *d = ud;
    g_application_hold(app); /* the app lives in the tray, with or without a window */
    if (start_gateway(d)) {
        d->exit_code = 1;
        d->quitting = true;
        g_application_release(app);
        return;
    }
    /* Also on the session bus (org.gtk.Actions at /dev/aigate/Desktop), e.g. for scripts. */
    static const GActionEntry actions[] = {{"quit", act_quit, NULL, NULL, NULL, {0}},
                                           {"show", act_show, NULL, NULL, NULL, {0}},
                                           {"hide", act_hide, NULL, NULL, NULL, {0}}};
    g_action_map_add_action_entries(G_ACTION_MAP(app), actions, G_N_ELEMENTS(actions), d);
    settings_load(d);
    autostart_sync(d);
    d->tray = ag_desk_tray_new(d);
    g_unix_signal_add(SIGINT, on_signal, d);
    g_unix_signal_add(SIGTERM, on_signal, d);
    g_timeout_add_seconds(POLL_SECONDS, poll_tick, d);
    ag_desk_poll(d);
    d->clients = ag_desk_clients_new(d);
    printf("aigate-desktop: %s %s\n", d->engine ? "serving" : "attached to", d->base);
    fflush(stdout);
}

/* The first launch (unless --hidden) and every later one show the window. */
static void on_activate(GApplication *app, gpointer ud)
{
    struct ag_desk *d = ud;
    static bool first = true;
    bool hidden = first && d->opt_hidden;
    first = false;
    if (!hidden)
        ag_desk_window_show(d);
}

static gboolean opt_quit, opt_version;

static gint on_local_options(GApplication *app, GVariantDict *opts, gpointer ud)
{
    GError *err = NULL;
    if (opt_version) {
        printf("aigate-desktop %s\n", AIGATE_VERSION);
        return 0;
    }
    if (!opt_quit)
        return -1;
    /* --quit: ask the running instance to quit; never become one. */
    GDBusConnection *bus = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &err);
    GVariant *r =
        bus ? g_dbus_connection_call_sync(
                  bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                  "NameHasOwner", g_variant_new("(s)", g_application_get_application_id(app)),
                  G_VARIANT_TYPE("(b)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &err)
            : NULL;
    gboolean running = FALSE;
    if (r) {
        g_variant_get(r, "(b)", &running);
        g_variant_unref(r);
    }
    g_clear_object(&bus);
    if (err) {
        fprintf(stderr, "aigate-desktop: %s\n", err->message);
        g_clear_error(&err);
        return 1;
    }
    if (!running) {
        fprintf(stderr, "aigate-desktop: not running\n");
        return 1;
    }
    g_application_set_flags(app, g_application_get_flags(app) | G_APPLICATION_IS_LAUNCHER);
    if (!g_application_register(app, NULL, &err)) {
        fprintf(stderr, "aigate-desktop: %s\n", err->message);
        g_clear_error(&err);
        return 1;
    }
    g_action_group_activate_action(G_ACTION_GROUP(app), "quit", NULL);
    if (g_application_get_dbus_connection(app)) /* the request is out before this process ends */
        g_dbus_connection_flush_sync(g_application_get_dbus_connection(app), NULL, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    struct ag_desk d = {0};
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread */
    const GOptionEntry entries[] = {
        {"attach", 0, 0, G_OPTION_ARG_STRING, &d.opt_attach,
         "Show the gateway running at URL instead of starting one", "URL"},
        {"data-dir", 0, 0, G_OPTION_ARG_FILENAME, &d.opt_data_dir,
         "Data directory (default $AIGATE_DATA_DIR, else ~/.local/share/aigate)", "DIR"},
        {"port", 0, 0, G_OPTION_ARG_INT, &d.opt_port, "Listen port (same as aigate --port)", "N"},
        {"hidden", 0, 0, G_OPTION_ARG_NONE, &d.opt_hidden, "Start in the tray, window hidden",
         NULL},
        {"quit", 0, 0, G_OPTION_ARG_NONE, &opt_quit, "Quit the running instance", NULL},
        {"version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    d.app = gtk_application_new("dev.aigate.Desktop", G_APPLICATION_DEFAULT_FLAGS);
    g_application_add_main_option_entries(G_APPLICATION(d.app), entries);
    g_signal_connect(d.app, "handle-local-options", G_CALLBACK(on_local_options), &d);
    g_signal_connect(d.app, "startup", G_CALLBACK(on_startup), &d);
    g_signal_connect(d.app, "activate", G_CALLBACK(on_activate), &d);
    int rc = g_application_run(G_APPLICATION(d.app), argc, argv);
    g_clear_object(&d.web);
    g_object_unref(d.app);
    ag_desk_clients_free(d.clients);
    ag_config_unref(d.cfg);
    g_free(d.settings_path);
    g_free(d.opt_attach);
    g_free(d.opt_data_dir);
    if (notify_is_initted())
        notify_uninit();
    curl_global_cleanup();
    return rc ? rc : d.exit_code;
}
