/* tests/desktop/harness.c: see harness.h. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <gio/gio.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void desk_pump(int ms)
{
    long end = now_ms() + ms;
    do {
        while (g_main_context_iteration(NULL, FALSE))
            ;
        usleep(10000);
    } while (now_ms() < end);
}

const char *desk_which(const char *name)
{
    static char out[PATH_MAX];
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    for (const char *d = path; *d;) {
        size_t n = strcspn(d, ":");
        if (n > 0 && (size_t)snprintf(out, sizeof(out), "%.*s/%s", (int)n, d, name) < sizeof(out) &&
            access(out, X_OK) == 0)
            return out;
        d += n;
        d += *d == ':';
    }
    return NULL;
}

static void set_env(struct desk_env *e, int i, const char *name, const char *v)
{
    snprintf(e->env_buf[i], sizeof(e->env_buf[i]), "%s=%s", name, v);
    e->env[i] = e->env_buf[i];
}

static void mkdirs(struct desk_env *e, const char *sub)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", e->dir, sub);
    mkdir(p, 0700);
}

bool desk_env_start(struct desk_env *e)
{
    char xvfb[PATH_MAX], dbus[PATH_MAX], disp[16], lock[64], sock[64], addr[200], dir[256];
    memset(e, 0, sizeof(*e));
    e->xvfb.pid = e->dbus.pid = -1;
    if (!desk_which("Xvfb") || !desk_which("xwininfo") || !desk_which("xwd") ||
        !desk_which("dbus-daemon")) {
        fprintf(stderr, "Xvfb, xwininfo, xwd or dbus-daemon missing: run scripts/deps.sh\n");
        return false;
    }
    snprintf(xvfb, sizeof(xvfb), "%s", desk_which("Xvfb"));
    snprintf(dbus, sizeof(dbus), "%s", desk_which("dbus-daemon"));
    snprintf(e->dir, sizeof(e->dir), "/tmp/ag-desk-XXXXXX");
    if (!mkdtemp(e->dir))
        return false;
    mkdirs(e, "home");
    mkdirs(e, "home/.config");
    mkdirs(e, "home/.cache");
    mkdirs(e, "home/.local");
    mkdirs(e, "home/.local/share");
    mkdirs(e, "data");
    mkdirs(e, "run");

    /* A display number nobody uses: no lock file and no socket. */
    for (int n = 100 + (int)(getpid() % 400), tries = 0; tries < 200; n++, tries++) {
        snprintf(lock, sizeof(lock), "/tmp/.X%d-lock", n);
        snprintf(sock, sizeof(sock), "/tmp/.X11-unix/X%d", n);
        if (access(lock, F_OK) != 0 && access(sock, F_OK) != 0) {
            e->display = n;
            break;
        }
    }
    if (!e->display)
        return false;
    snprintf(disp, sizeof(disp), ":%d", e->display);
    const char *xargv[] = {xvfb,        disp,  "-screen",  "0", "1280x800x24",
                           "-nolisten", "tcp", "-noreset", NULL};
    if (!ag_child_start(&e->xvfb, xargv, NULL, NULL, 0))
        return false;
    long end = now_ms() + 20000;
    while (access(sock, F_OK) != 0 && now_ms() < end)
        usleep(20000);
    if (access(sock, F_OK) != 0) {
        fprintf(stderr, "Xvfb did not start on %s\n", disp);
        return false;
    }

    snprintf(addr, sizeof(addr), "--address=unix:path=%s/bus", e->dir);
    const char *dargv[] = {dbus, "--session", "--nofork", "--print-address=1", addr, NULL};
    if (!ag_child_start(&e->dbus, dargv, NULL, "unix:path=", 10000))
        return false;
    snprintf(e->bus, sizeof(e->bus), "unix:path=%s/bus", e->dir);

    e->port = ag_child_free_port();
    set_env(e, 0, "DISPLAY", disp);
    set_env(e, 1, "DBUS_SESSION_BUS_ADDRESS", e->bus);
    snprintf(dir, sizeof(dir), "%s/home", e->dir);
    set_env(e, 2, "HOME", dir);
    snprintf(dir, sizeof(dir), "%s/home/.config", e->dir);
    set_env(e, 3, "XDG_CONFIG_HOME", dir);
    snprintf(dir, sizeof(dir), "%s/home/.cache", e->dir);
    set_env(e, 4, "XDG_CACHE_HOME", dir);
    snprintf(dir, sizeof(dir), "%s/home/.local/share", e->dir);
    set_env(e, 5, "XDG_DATA_HOME", dir);
    snprintf(dir, sizeof(dir), "%s/run", e->dir);
    set_env(e, 6, "XDG_RUNTIME_DIR", dir);
    snprintf(dir, sizeof(dir), "%s/data", e->dir);
    set_env(e, 7, "AIGATE_DATA_DIR", dir);
    set_env(e, 8, "LANG", "C.UTF-8");
    set_env(e, 9, "NO_AT_BRIDGE", "1");
    set_env(e, 10, "GDK_BACKEND", "x11");
    set_env(e, 11, "AIGATE_LOG_LEVEL", "info");
    e->env[12] = NULL;
    /* The test process itself talks to the same bus (the D-Bus doubles). */
    setenv("DBUS_SESSION_BUS_ADDRESS", e->bus, 1);
    setenv("DISPLAY", disp, 1);
    return true;
}

static void rmtree(const char *p)
{
    struct stat st;
    if (lstat(p, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(p);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char sub[1024];
            snprintf(sub, sizeof(sub), "%s/%s", p, de->d_name);
            rmtree(sub);
        }
        if (d)
            closedir(d);
        rmdir(p);
    } else {
        unlink(p);
    }
}

void desk_env_stop(struct desk_env *e)
{
    if (e->dbus.pid > 0)
        ag_child_stop(&e->dbus, SIGTERM, 5000);
    if (e->xvfb.pid > 0)
        ag_child_stop(&e->xvfb, SIGTERM, 5000);
    ag_child_cleanup(&e->dbus);
    ag_child_cleanup(&e->xvfb);
    if (e->dir[0])
        rmtree(e->dir);
}

static const char *app_bin(void)
{
    const char *b = getenv("AIGATE_DESKTOP_BIN");
    return b && b[0] ? b : "./aigate-desktop";
}

static void app_argv(struct desk_env *e, const char *const *args, const char **argv, char *port,
                     size_t cap)
{
    size_t n = 0;
    snprintf(port, cap, "%d", e->port);
    argv[n++] = app_bin();
    argv[n++] = "--port";
    argv[n++] = port;
    for (size_t i = 0; args && args[i] && n < 14; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
}

bool desk_app_start(struct desk_env *e, struct ag_child *app, const char *const *args,
                    bool wait_ready)
{
    const char *argv[16];
    char port[16];
    app_argv(e, args, argv, port, sizeof(port));
    return ag_child_start(app, argv, e->env, wait_ready ? "aigate-desktop: serving" : NULL, 60000);
}

bool desk_app_start_until(struct desk_env *e, struct ag_child *app, const char *const *args,
                          const char *ready_text)
{
    const char *argv[16];
    char port[16];
    app_argv(e, args, argv, port, sizeof(port));
    return ag_child_start(app, argv, e->env, ready_text, 60000);
}

int desk_app_run(struct desk_env *e, const char *const *args, int timeout_ms)
{
    const char *argv[16];
    char port[16];
    char *out = NULL, *err = NULL;
    app_argv(e, args, argv, port, sizeof(port));
    int rc = ag_child_run(argv, e->env, NULL, timeout_ms, &out, &err);
    if (rc != 0)
        fprintf(stderr, "aigate-desktop %s: exit %d\n%s%s\n", args && args[0] ? args[0] : "", rc,
                out ? out : "", err ? err : "");
    free(out);
    free(err);
    return rc;
}

/* Runs a tool with the test's display; its stdout (malloc'd) or NULL. */
static char *tool(struct desk_env *e, const char *const *argv)
{
    char *out = NULL;
    if (ag_child_run(argv, e->env, NULL, 10000, &out, NULL) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static bool viewable(struct desk_env *e, unsigned long id)
{
    char ids[32], path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", desk_which("xwininfo"));
    snprintf(ids, sizeof(ids), "0x%lx", id);
    const char *argv[] = {path, "-id", ids, NULL};
    char *out = tool(e, argv);
    bool ok = out && strstr(out, "Map State: IsViewable");
    free(out);
    return ok;
}

bool desk_find_window(struct desk_env *e, const char *title, bool want_viewable, unsigned long *id,
                      int timeout_ms)
{
    char path[PATH_MAX], quoted[512];
    snprintf(path, sizeof(path), "%s", desk_which("xwininfo"));
    snprintf(quoted, sizeof(quoted), "\"%s\":", title);
    const char *argv[] = {path, "-root", "-tree", NULL};
    long end = now_ms() + timeout_ms;
    do {
        char *out = tool(e, argv);
        for (char *line = out, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            char *q = strstr(line, quoted);
            if (!q)
                continue;
            unsigned long v = strtoul(line + strspn(line, " "), NULL, 16);
            if (v && (!want_viewable || viewable(e, v))) {
                *id = v;
                free(out);
                return true;
            }
        }
        free(out);
        desk_pump(200);
    } while (now_ms() < end);
    return false;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int desk_window_colours(struct desk_env *e, unsigned long id, int *w, int *h)
{
    char path[PATH_MAX], ids[32], file[256];
    int colours = -1;
    unsigned char *img = NULL;
    snprintf(path, sizeof(path), "%s", desk_which("xwd"));
    snprintf(ids, sizeof(ids), "0x%lx", id);
    snprintf(file, sizeof(file), "%s/shot.xwd", e->dir);
    const char *argv[] = {path, "-silent", "-id", ids, "-out", file, NULL};
    char *out = tool(e, argv);
    if (!out)
        return -1;
    free(out);
    FILE *f = fopen(file, "rb");
    if (!f)
        return -1;
    img = malloc(64u << 20);
    size_t len = fread(img, 1, 64u << 20, f);
    fclose(f);
    /* XWD: 25 big-endian 32-bit header fields, the window name, ncolors 12-byte entries, pixels. */
    if (len < 100)
        goto out;
    uint32_t hsize = be32(img), width = be32(img + 16), height = be32(img + 20);
    uint32_t bpp = be32(img + 44), bpl = be32(img + 48), ncolors = be32(img + 76);
    size_t off = (size_t)hsize + (size_t)ncolors * 12;
    if (bpp != 32 || width == 0 || height == 0 || off + (size_t)bpl * height > len)
        goto out;
    *w = (int)width;
    *h = (int)height;
    /* Distinct colours on a grid of every 4th pixel, up to 4096 remembered. */
    static uint32_t seen[4096];
    int n = 0;
    for (uint32_t y = 0; y < height; y += 4) {
        for (uint32_t x = 0; x < width; x += 4) {
            const unsigned char *p = img + off + (size_t)y * bpl + (size_t)x * 4;
            uint32_t c = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
            bool known = false;
            for (int i = 0; i < n && !known; i++)
                known = seen[i] == c;
            if (!known && n < 4096)
                seen[n++] = c;
        }
    }
    colours = n;
out:
    free(img);
    return colours;
}

bool desk_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

int desk_count_app_processes(void)
{
    char want[PATH_MAX], exe[PATH_MAX], link[300];
    int n = 0;
    if (!realpath(app_bin(), want))
        return -1;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        snprintf(link, sizeof(link), "/proc/%s/exe", de->d_name);
        ssize_t k = readlink(link, exe, sizeof(exe) - 1);
        if (k <= 0)
            continue;
        exe[k] = '\0';
        n += strcmp(exe, want) == 0;
    }
    if (d)
        closedir(d);
    return n;
}

int desk_count_children(int pid, const char *prefix)
{
    char path[300], buf[512];
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = '\0';
        /* pid (comm) state ppid ...; comm may hold spaces, so read from the last ')'. */
        char *open = strchr(buf, '('), *close = strrchr(buf, ')');
        if (!open || !close || close < open)
            continue;
        int ppid = (int)strtol(close + 4, NULL, 10);
        size_t plen = strlen(prefix);
        if (ppid == pid && (size_t)(close - open - 1) >= plen &&
            strncmp(open + 1, prefix, plen) == 0)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}
