/* tests/desktop/harness.h: what the desktop tests share — a private X server (Xvfb on a display
 * number of its own) and a private D-Bus session bus, started by the test and stopped by PID; the
 * aigate-desktop binary started in them with a home, data dir and port of its own; and looks at the
 * screen from outside (xwininfo, xwd). Every wait is bounded. */
#ifndef AG_TEST_DESKTOP_HARNESS_H
#define AG_TEST_DESKTOP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#include "child.h"

/** Exit code of a test that cannot run here (ctest SKIP_RETURN_CODE). */
#define DESK_SKIP 77

struct desk_env {
    char dir[128]; /* private tree: home, data, runtime dir, logs */
    int display;   /* :N of the Xvfb */
    char bus[256]; /* the session bus address */
    int port;      /* the gateway's port */
    struct ag_child xvfb, dbus;
    char env_buf[12][320];
    const char *env[13]; /* NULL-terminated "K=V" list for the children */
};

/** Starts Xvfb and the session bus. False (with a message) when one of them cannot start. */
bool desk_env_start(struct desk_env *e);

/** Stops the X server and the bus by PID and removes the private tree. */
void desk_env_stop(struct desk_env *e);

/** Starts aigate-desktop with the extra arguments (NULL-terminated, may be NULL) and waits for
 * "aigate-desktop: serving" (or, with wait_ready false, not at all). */
bool desk_app_start(struct desk_env *e, struct ag_child *app, const char *const *args,
                    bool wait_ready);

/** Starts aigate-desktop like desk_app_start and waits for ready_text in its output. */
bool desk_app_start_until(struct desk_env *e, struct ag_child *app, const char *const *args,
                          const char *ready_text);

/** Runs aigate-desktop to completion with args (at most timeout_ms); its exit code or -1. */
int desk_app_run(struct desk_env *e, const char *const *args, int timeout_ms);

/**
 * Looks for a top-level window whose title is title: its id into *id. With viewable, only a window
 * that is mapped and viewable counts. Polls up to timeout_ms.
 */
bool desk_find_window(struct desk_env *e, const char *title, bool viewable, unsigned long *id,
                      int timeout_ms);

/** Takes a screenshot of window id (xwd) and returns how many different colours it has (sampled
 * on a grid), or -1 when no screenshot could be taken. *w and *h get its size. */
int desk_window_colours(struct desk_env *e, unsigned long id, int *w, int *h);

/** True when something accepts TCP connections on 127.0.0.1:port. */
bool desk_port_open(int port);

/** How many running processes execute the aigate-desktop binary under test. */
int desk_count_app_processes(void);

/** How many direct children of pid have a name (/proc comm) starting with prefix. */
int desk_count_children(int pid, const char *prefix);

/** The path of a program in PATH (static buffer) or NULL. */
const char *desk_which(const char *name);

/** Sleeps ms milliseconds while dispatching the default GLib main context (D-Bus doubles). */
void desk_pump(int ms);

#endif
