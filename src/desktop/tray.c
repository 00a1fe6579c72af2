/* desktop/tray.c: the tray icon (a StatusNotifierItem through libayatana-appindicator3) and its
 * menu — the gateway's state, the client configs needing an update, open the window, start/stop the
 * proxy, copy the base URL, the two settings, quit — and the desktop notifications (libnotify). */
#include "desktop/app.h"

#include "core/log.h"

#include <libayatana-appindicator/app-indicator.h>
#include <libnotify/notify.h>
#include <string.h>

struct ag_desk_tray {
    struct ag_desk *d;
    AppIndicator *ind;
    GtkWidget *menu;
    GtkWidget *status, *clients, *open, *start, *stop, *copy, *autostart, *lightweight, *quit;
    bool updating; /* set while the check items are set from d, so their handlers stay quiet */
};

static void on_open(GtkMenuItem *i, gpointer ud)
{
    ag_desk_window_show(((struct ag_desk_tray *)ud)->d);
}

static void on_start(GtkMenuItem *i, gpointer ud)
{
    ag_desk_set_proxy(((struct ag_desk_tray *)ud)->d, true);
}

static void on_stop(GtkMenuItem *i, gpointer ud)
{
    ag_desk_set_proxy(((struct ag_desk_tray *)ud)->d, false);
}

static void on_copy(GtkMenuItem *i, gpointer ud)
{
    struct ag_desk_tray *t = ud;
    /* Both selections: Ctrl+V and a middle click paste it. */
    gtk_clipboard_set_text(gtk_clipboard_get(GDK_SELECTION_CLIPBOARD), t->d->base, -1);
    gtk_clipboard_set_text(gtk_clipboard_get(GDK_SELECTION_PRIMARY), t->d->base, -1);
}

static void on_autostart(GtkCheckMenuItem *i, gpointer ud)
{
    struct ag_desk_tray *t = ud;
    if (!t->updating)
        ag_desk_set_autostart(t->d, gtk_check_menu_item_get_active(i));
}

static void on_lightweight(GtkCheckMenuItem *i, gpointer ud)
{
    struct ag_desk_tray *t = ud;
    if (!t->updating)
        ag_desk_set_lightweight(t->d, gtk_check_menu_item_get_active(i));
}

static void on_quit(GtkMenuItem *i, gpointer ud)
{
    ag_desk_quit(((struct ag_desk_tray *)ud)->d);
}

static GtkWidget *item(struct ag_desk_tray *t, const char *label, GCallback cb)
{
    GtkWidget *w = gtk_menu_item_new_with_label(label);
    if (cb)
        g_signal_connect(w, "activate", cb, t);
    gtk_menu_shell_append(GTK_MENU_SHELL(t->menu), w);
    return w;
}

static GtkWidget *check(struct ag_desk_tray *t, const char *label, GCallback cb)
{
    GtkWidget *w = gtk_check_menu_item_new_with_label(label);
    g_signal_connect(w, "toggled", cb, t);
    gtk_menu_shell_append(GTK_MENU_SHELL(t->menu), w);
    return w;
}

static void separator(struct ag_desk_tray *t)
{
    gtk_menu_shell_append(GTK_MENU_SHELL(t->menu), gtk_separator_menu_item_new());
}

struct ag_desk_tray *ag_desk_tray_new(struct ag_desk *d)
{
    struct ag_desk_tray *t = g_new0(struct ag_desk_tray, 1);
    t->d = d;
    t->ind = app_indicator_new("aigate", "aigate", APP_INDICATOR_CATEGORY_APPLICATION_STATUS);
    if (!t->ind) {
        g_free(t);
        return NULL;
    }
    app_indicator_set_title(t->ind, "aigate");
    t->menu = gtk_menu_new();
    t->status = item(t, "aigate", NULL);
    gtk_widget_set_sensitive(t->status, FALSE);
    t->clients = item(t, "Client configs", G_CALLBACK(on_open));
    separator(t);
    t->open = item(t, "Open aigate", G_CALLBACK(on_open));
    t->start = item(t, "Start proxy", G_CALLBACK(on_start));
    t->stop = item(t, "Stop proxy", G_CALLBACK(on_stop));
    t->copy = item(t, "Copy base URL", G_CALLBACK(on_copy));
    separator(t);
    t->autostart = check(t, "Start at login", G_CALLBACK(on_autostart));
    t->lightweight =
        check(t, "Lightweight mode (free the window while hidden)", G_CALLBACK(on_lightweight));
    separator(t);
    t->quit = item(t, "Quit", G_CALLBACK(on_quit));
    gtk_widget_show_all(t->menu);
    gtk_widget_hide(t->clients);
    app_indicator_set_menu(t->ind, GTK_MENU(t->menu));
    /* A click on the icon (where the host supports it) opens the window. */
    app_indicator_set_secondary_activate_target(t->ind, t->open);
    app_indicator_set_status(t->ind, APP_INDICATOR_STATUS_ACTIVE);
    ag_desk_tray_update(t);
    return t;
}

void ag_desk_tray_update(struct ag_desk_tray *t)
{
    if (!t)
        return;
    struct ag_desk *d = t->d;
    const char *icon = "aigate", *what = "aigate: starting";
    char label[AG_DESK_URL_SIZE + 64];
    switch (d->state) {
    case AG_DESK_RUNNING:
        what = "aigate: proxy running";
        break;
    case AG_DESK_STOPPED:
        icon = "aigate-stopped";
        what = d->proxy_running ? "aigate: gateway not reachable" : "aigate: proxy stopped";
        break;
    case AG_DESK_LIMITED:
        icon = "aigate-limited";
        what = "aigate: accounts limited";
        break;
    case AG_DESK_UNKNOWN:
        break;
    }
    app_indicator_set_icon_full(t->ind, icon, what);
    snprintf(label, sizeof(label), "%s — %s", what, d->base);
    gtk_menu_item_set_label(GTK_MENU_ITEM(t->status), label);
    gtk_widget_set_sensitive(t->start, d->state != AG_DESK_UNKNOWN && !d->proxy_running);
    gtk_widget_set_sensitive(t->stop, d->proxy_running);
    /* Opening the window leads to the API Proxy page's set-up; the notification updates too. */
    snprintf(label, sizeof(label), "Client configs: %u need%s updating", d->clients_stale,
             d->clients_stale == 1 ? "s" : "");
    gtk_menu_item_set_label(GTK_MENU_ITEM(t->clients), label);
    gtk_widget_set_visible(t->clients, d->clients_stale > 0);
    t->updating = true;
    gtk_check_menu_item_set_active(GTK_CHECK_MENU_ITEM(t->autostart), d->autostart);
    gtk_check_menu_item_set_active(GTK_CHECK_MENU_ITEM(t->lightweight), d->lightweight);
    t->updating = false;
}

void ag_desk_tray_free(struct ag_desk_tray *t)
{
    if (!t)
        return;
    g_clear_object(&t->ind);
    g_free(t);
}

void ag_desk_notify(const char *summary, const char *body)
{
    GError *err = NULL;
    if (!notify_is_initted() && !notify_init("aigate"))
        return;
    NotifyNotification *n = notify_notification_new(summary, body, "aigate");
    notify_notification_set_app_name(n, "aigate");
    if (!notify_notification_show(n, &err)) {
        ag_log_info("desktop: notification not shown: %s", err ? err->message : "?");
        g_clear_error(&err);
    }
    g_object_unref(n);
}
