/* desktop/app.h: the state of the desktop app shared by its parts — the gateway it shows (run in
 * this process by desktop/engine, or a service beside it), the window, the tray and the settings.
 * GTK main thread only, except where a member says otherwise. */
#ifndef AG_DESKTOP_APP_H
#define AG_DESKTOP_APP_H

#include <gtk/gtk.h>
#include <webkit2/webkit2.h>
#include <stdbool.h>
#include <stdint.h>

struct ag_config;
struct ag_desk_engine;
struct ag_desk_tray;
struct ag_desk_clients;

/** Base URLs and tokens fit in these (loopback URLs and "ags_" session tokens are much shorter). */
#define AG_DESK_URL_SIZE   256
#define AG_DESK_TOKEN_SIZE 128

/** What the tray shows. */
enum ag_desk_state {
    AG_DESK_UNKNOWN = 0, /* no status read yet */
    AG_DESK_RUNNING,     /* the proxy serves requests */
    AG_DESK_STOPPED,     /* the proxy is stopped (AI routes answer 503) or the gateway is gone */
    AG_DESK_LIMITED,     /* running, but every account is limited or unusable */
};

struct ag_desk {
    GtkApplication *app;
    int exit_code;

    /* command line */
    char *opt_attach;   /* --attach URL */
    char *opt_data_dir; /* --data-dir DIR */
    int opt_port;       /* --port N (0: the configuration's) */
    gboolean opt_hidden;

    /* the gateway */
    struct ag_config *cfg;
    struct ag_desk_engine *engine; /* NULL when attached to a gateway running beside us */
    char base[AG_DESK_URL_SIZE];   /* http://127.0.0.1:PORT */
    char token[AG_DESK_TOKEN_SIZE];
    int64_t token_expires_ms;

    /* settings ($XDG_CONFIG_HOME/aigate/desktop.ini) */
    char *settings_path;
    bool autostart;   /* an XDG autostart entry starts the app at login, in the tray */
    bool lightweight; /* the web view is destroyed while the window is hidden */

    /* the window */
    GtkWidget *window;
    GtkWidget *view;
    WebKitWebContext *web;

    /* status read from the gateway */
    enum ag_desk_state state;
    bool polling;
    unsigned gen; /* counts start/stop requests (a status read from before one is dropped) */
    bool proxy_running;
    int64_t limited_until_ms; /* a pool "all limited" event keeps the state LIMITED until then */
    bool was_unusable;

    struct ag_desk_tray *tray;
    bool quitting;

    /* the coding clients' own configuration (desktop/clients.c) */
    struct ag_desk_clients *clients;
    unsigned clients_stale; /* clients set up through aigate whose config needs an update */
};

/** Shows the window (creating it and its web view when needed) and raises it. */
void ag_desk_window_show(struct ag_desk *d);

/** Hides the window; in lightweight mode the window and its web view are destroyed. */
void ag_desk_window_hide(struct ag_desk *d);

/** Destroys the window for good (quit). */
void ag_desk_window_destroy(struct ag_desk *d);

/** Creates the tray icon and its menu. Returns NULL when no indicator could be made. */
struct ag_desk_tray *ag_desk_tray_new(struct ag_desk *d);

/** Shows d's state, proxy and settings in the tray's icon and menu. */
void ag_desk_tray_update(struct ag_desk_tray *t);

/** Frees the tray (NULL is a no-op). */
void ag_desk_tray_free(struct ag_desk_tray *t);

/** Reads the gateway's status now, off the GTK thread; the tray follows when it is back. */
void ag_desk_poll(struct ag_desk *d);

/** Asks the gateway to start (on) or stop its proxy, then reads the status again. */
void ag_desk_set_proxy(struct ag_desk *d, bool on);

/** Sets and saves the start-at-login setting, writing or removing the autostart entry. */
void ag_desk_set_autostart(struct ag_desk *d, bool on);

/** Sets and saves lightweight mode. */
void ag_desk_set_lightweight(struct ag_desk *d, bool on);

/**
 * Loads the configuration as the gateway would (data_dir may be NULL; port_override > 0 stands
 * for --port). NULL with a message on stderr when it does not load. Any thread.
 */
struct ag_config *ag_desk_config_load(const char *data_dir, int port_override);

/**
 * Starts watching the coding clients set up through aigate (clients/clients.h): a check now, every
 * minute and when the configuration file changes, off the GTK thread. A client whose config a
 * set-up would now change gets one notification per distinct reason, with "Update" (the set-up,
 * with its backup) and "Dismiss"; d->clients_stale counts them for the tray. NULL when d shows a
 * gateway off this machine.
 */
struct ag_desk_clients *ag_desk_clients_new(struct ag_desk *d);

/** Checks the clients again now (a check under way is followed by one more). */
void ag_desk_clients_check(struct ag_desk_clients *c);

/** Stops the timer and the file monitor and closes its notifications (quit). NULL: no-op. */
void ag_desk_clients_stop(struct ag_desk_clients *c);

/** Frees c after the main loop ended (NULL: no-op). */
void ag_desk_clients_free(struct ag_desk_clients *c);

/** A desktop notification (libnotify); failures are logged only. */
void ag_desk_notify(const char *summary, const char *body);

/** Stops everything and ends the app with exit code 0. */
void ag_desk_quit(struct ag_desk *d);

#endif
