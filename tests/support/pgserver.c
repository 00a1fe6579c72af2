/* tests/support/pgserver.c: see pgserver.h. */
#include "pgserver.h"

#include "child.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG_SUPERUSER   "aigate"
#define PG_INITDB_MS   180000 /* initdb on a loaded machine */
#define PG_READY_MS    90000
#define PG_PSQL_MS     60000
#define PG_STOP_MS     15000
#define PG_OUT_CAP     (4u << 20) /* psql output kept for the caller */
#define PG_START_TRIES 3          /* a port taken between choosing and binding: choose again */

/* The programs' environment: nothing of the caller's (no PG* variables, no sanitizer options). */
static char *const pg_env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", "TZ=UTC", NULL};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void nap_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool is_exe(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return access(p, X_OK) == 0;
}

static bool bindir_ok(const char *dir)
{
    return is_exe(dir, "initdb") && is_exe(dir, "postgres") && is_exe(dir, "psql");
}

/* $AIGATE_PG_BINDIR, the newest /usr/lib/postgresql/<N>/bin, or the directory of initdb in PATH. */
static bool find_bindir(struct ag_pgserver *s)
{
    const char *env = getenv("AIGATE_PG_BINDIR");
    if (env && *env) {
        snprintf(s->bindir, sizeof(s->bindir), "%s", env);
        return bindir_ok(s->bindir);
    }
    long best = -1;
    DIR *d = opendir("/usr/lib/postgresql");
    if (d) {
        struct dirent *e;
        // cppcheck-suppress readdirCalled ; one thread reads its own directory stream
        while ((e = readdir(d)) != NULL) {
            char *end = NULL;
            long v = strtol(e->d_name, &end, 10);
            char cand[256];
            if (end == e->d_name || *end != '\0' || v <= best)
                continue;
            snprintf(cand, sizeof(cand), "/usr/lib/postgresql/%ld/bin", v);
            if (bindir_ok(cand)) {
                best = v;
                snprintf(s->bindir, sizeof(s->bindir), "%s", cand);
            }
        }
        closedir(d);
    }
    if (best >= 0)
        return true;
    const char *path = getenv("PATH");
    for (const char *p = path ? path : ""; *p;) {
        size_t len = strcspn(p, ":");
        snprintf(s->bindir, sizeof(s->bindir), "%.*s", (int)len, p);
        if (len && bindir_ok(s->bindir))
            return true;
        p += len + (p[len] == ':');
    }
    s->bindir[0] = '\0';
    return false;
}

/* In a forked child: become the unprivileged user when this process is root. */
static void child_identity(const struct ag_pgserver *s)
{
    if (!s->drop)
        return;
    if (setgroups(0, NULL) != 0 || setgid(s->gid) != 0 || setuid(s->uid) != 0) {
        perror("pgserver: dropping privileges");
        _exit(127);
    }
}

/* Runs argv (a program of bindir) to completion as the server's user, in the temp directory.
 * stdout is collected into *out when out is not NULL (capped), stderr goes to the server's log.
 * Returns the exit code, or -1 (not started, killed by a signal or past timeout_ms). */
static int run_prog(const struct ag_pgserver *s, char *const argv[], long timeout_ms, char **out)
{
    char logp[128];
    int fds[2] = {-1, -1};
    snprintf(logp, sizeof(logp), "%s/programs.log", s->dir);
    if (out) {
        *out = NULL;
        if (pipe2(fds, O_CLOEXEC) != 0)
            return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        if (out) {
            close(fds[0]);
            close(fds[1]);
        }
        return -1;
    }
    if (pid == 0) {
        child_identity(s);
        int log = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (log < 0 || nul < 0 || chdir(s->dir) != 0)
            _exit(127);
        dup2(nul, 0);
        dup2(out ? fds[1] : log, 1);
        dup2(log, 2);
        execve(argv[0], argv, pg_env);
        _exit(127);
    }
    size_t len = 0, cap = 0;
    char *buf = NULL;
    long deadline = now_ms() + timeout_ms;
    bool timed_out = false;
    if (out) {
        close(fds[1]);
        for (;;) {
            long left = deadline - now_ms();
            struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
            if (left <= 0) {
                timed_out = true;
                break;
            }
            int pr = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
            if (pr < 0 && errno == EINTR)
                continue;
            if (pr <= 0)
                continue;
            if (cap - len < 4096 && cap < PG_OUT_CAP) {
                size_t ncap = cap ? cap * 2 : 8192;
                char *nb = realloc(buf, ncap + 1);
                if (!nb)
                    break;
                buf = nb;
                cap = ncap;
            }
            char sink[4096];
            char *dst = cap - len > 0 ? buf + len : sink;
            size_t room = cap - len > 0 ? cap - len : sizeof(sink);
            ssize_t n = read(fds[0], dst, room);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            if (dst != sink)
                len += (size_t)n;
        }
        close(fds[0]);
    }
    int st = 0;
    pid_t w = 0;
    while (!timed_out && (w = waitpid(pid, &st, WNOHANG)) == 0) {
        if (now_ms() >= deadline) {
            timed_out = true;
            break;
        }
        nap_ms(20);
    }
    if (timed_out || w != pid) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        free(buf);
        return -1;
    }
    if (out) {
        if (!buf)
            buf = calloc(1, 1);
        else
            buf[len] = '\0';
        *out = buf;
    } else {
        free(buf);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Prints a file (the server's log) to stderr, bounded. */
static void dump_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char line[1024];
    int n = 0;
    fprintf(stderr, "---- %s\n", path);
    while (n++ < 200 && fgets(line, sizeof(line), f))
        fputs(line, stderr);
    fclose(f);
}

static bool file_has(const char *path, const char *text)
{
    FILE *f = fopen(path, "rb");
    bool found = false;
    char line[1024];
    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

/* The postmaster's status line (the 8th of postmaster.pid) says "ready" once it accepts. */
static bool pid_file_ready(const struct ag_pgserver *s)
{
    char p[128];
    char line[256];
    int n = 0;
    bool ready = false;
    snprintf(p, sizeof(p), "%s/data/postmaster.pid", s->dir);
    FILE *f = fopen(p, "r");
    if (!f)
        return false;
    while (fgets(line, sizeof(line), f)) {
        if (++n == 8) {
            ready = strncmp(line, "ready", 5) == 0;
            break;
        }
    }
    fclose(f);
    return ready;
}

static int write_file(const struct ag_pgserver *s, const char *name, const char *text)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/data/%s", s->dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    int rc = write(fd, text, len) == (ssize_t)len ? 0 : -1;
    if (rc == 0 && s->drop && fchown(fd, s->uid, s->gid) != 0)
        rc = -1;
    if (close(fd) != 0)
        rc = -1;
    return rc;
}

/* Starts the postmaster on s->port; 0 when it accepts, 1 when its port was taken, -1 else. */
static int start_postmaster(struct ag_pgserver *s)
{
    char data[96], sock[96], logp[96], port[16], pidp[128];
    snprintf(data, sizeof(data), "%s/data", s->dir);
    snprintf(sock, sizeof(sock), "%s/sock", s->dir);
    snprintf(logp, sizeof(logp), "%s/postgres.log", s->dir);
    snprintf(pidp, sizeof(pidp), "%s/postmaster.pid", data);
    snprintf(port, sizeof(port), "%d", s->port);
    char prog[300];
    snprintf(prog, sizeof(prog), "%s/postgres", s->bindir);
    char *const argv[] = {prog,
                          "-D",
                          data,
                          "-p",
                          port,
                          "-k",
                          sock,
                          "-c",
                          "listen_addresses=127.0.0.1",
                          "-c",
                          "fsync=off",
                          "-c",
                          "synchronous_commit=off",
                          "-c",
                          "full_page_writes=off",
                          "-c",
                          "logging_collector=off",
                          "-c",
                          "log_connections=on",
                          NULL};
    unlink(pidp);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        child_identity(s);
        /* After the identity change (which clears it): the server goes when this process does. */
        prctl(PR_SET_PDEATHSIG, SIGQUIT);
        if (getppid() != parent)
            _exit(127);
        int log = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (log < 0 || nul < 0 || chdir(s->dir) != 0)
            _exit(127);
        dup2(nul, 0);
        dup2(log, 1);
        dup2(log, 2);
        execve(prog, argv, pg_env);
        _exit(127);
    }
    s->pid = pid;
    long deadline = now_ms() + PG_READY_MS;
    while (now_ms() < deadline) {
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            if (file_has(logp, "could not bind") || file_has(logp, "already in use"))
                return 1;
            snprintf(s->reason, sizeof(s->reason),
                     "postgres exited (status %d) before it was ready",
                     WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
            return -1;
        }
        if (pid_file_ready(s))
            return 0;
        nap_ms(50);
    }
    snprintf(s->reason, sizeof(s->reason), "postgres did not accept connections within %d s",
             PG_READY_MS / 1000);
    return -1;
}

static bool plain_ident(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 63 || (name[0] >= '0' && name[0] <= '9'))
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

int ag_pgserver_psql(struct ag_pgserver *s, const char *db, const char *sql, char **out)
{
    char prog[300], sock[96], port[16], dbarg[300];
    if (out)
        *out = NULL;
    if (s->pid <= 0)
        return -1;
    if (!db) {
        const char *slash = strrchr(s->url, '/');
        db = slash ? slash + 1 : "postgres";
    }
    snprintf(prog, sizeof(prog), "%s/psql", s->bindir);
    snprintf(sock, sizeof(sock), "%s/sock", s->dir);
    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(dbarg, sizeof(dbarg), "%s", db);
    char *const argv[] = {prog,  "-X", "-q",        "-A", "-t", "-v",         "ON_ERROR_STOP=1",
                          "-h",  sock, "-p",        port, "-U", PG_SUPERUSER, "-d",
                          dbarg, "-c", (char *)sql, NULL};
    return run_prog(s, argv, PG_PSQL_MS, out);
}

int ag_pgserver_create_db(struct ag_pgserver *s, const char *name, char *url, size_t cap)
{
    char sql[128];
    if (!plain_ident(name))
        return -1;
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    if (ag_pgserver_psql(s, "postgres", sql, NULL) != 0)
        return -1;
    int n = snprintf(url, cap, "postgresql://%s@127.0.0.1:%d/%s", PG_SUPERUSER, s->port, name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int ag_pgserver_connections(const struct ag_pgserver *s, const char *db)
{
    char p[128], line[1024], want[96];
    int n = 0;
    snprintf(p, sizeof(p), "%s/postgres.log", s->dir);
    snprintf(want, sizeof(want), "database=%s ", db);
    FILE *f = fopen(p, "rb");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        if (len && line[len - 1] == '\n')
            line[len - 1] = ' '; /* the database may end the line */
        if (strstr(line, "connection authorized") && strstr(line, want))
            n++;
    }
    fclose(f);
    return n;
}

int ag_pgserver_stop(struct ag_pgserver *s)
{
    int rc = 0;
    if (s->pid > 0) {
        int st = 0;
        pid_t w = 0;
        kill(s->pid, SIGQUIT); /* immediate shutdown, as pg_ctl stop -m immediate */
        long deadline = now_ms() + PG_STOP_MS;
        while ((w = waitpid(s->pid, &st, WNOHANG)) == 0 && now_ms() < deadline)
            nap_ms(20);
        if (w != s->pid) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
            rc = -1;
        }
        s->pid = 0;
    }
    if (s->dir[0]) {
        if (nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
            rc = -1;
        s->dir[0] = '\0';
    }
    return rc;
}

static int fail(struct ag_pgserver *s)
{
    char p[128];
    if (s->dir[0]) {
        snprintf(p, sizeof(p), "%s/programs.log", s->dir);
        dump_file(p);
        snprintf(p, sizeof(p), "%s/postgres.log", s->dir);
        dump_file(p);
    }
    fprintf(stderr, "pgserver: %s\n", s->reason);
    ag_pgserver_stop(s);
    return -1;
}

int ag_pgserver_start(struct ag_pgserver *s, const char *dbname)
{
    memset(s, 0, sizeof(*s));
    if (!plain_ident(dbname)) {
        snprintf(s->reason, sizeof(s->reason), "database name '%s' is not a plain identifier",
                 dbname);
        return -1;
    }
    if (!find_bindir(s)) {
        snprintf(s->reason, sizeof(s->reason),
                 "PostgreSQL's initdb, postgres and psql were not found (Debian package "
                 "postgresql-15, or AIGATE_PG_BINDIR)");
        return AG_PGSERVER_UNAVAILABLE;
    }
    if (geteuid() == 0) {
        const char *who = getenv("AIGATE_PG_USER");
        // cppcheck-suppress getpwnamCalled ; tests start their servers from one thread
        const struct passwd *pw = getpwnam(who && *who ? who : "nobody");
        if (!pw || pw->pw_uid == 0) {
            snprintf(s->reason, sizeof(s->reason),
                     "running as root and user '%s' (PostgreSQL's programs refuse root) does "
                     "not exist",
                     who && *who ? who : "nobody");
            return AG_PGSERVER_UNAVAILABLE;
        }
        s->drop = true;
        s->uid = pw->pw_uid;
        s->gid = pw->pw_gid;
    }
    /* Under /tmp, whatever TMPDIR says: the unprivileged user must reach it, and the socket's
     * path must stay short. */
    snprintf(s->dir, sizeof(s->dir), "/tmp/aigate-pg-XXXXXX");
    if (!mkdtemp(s->dir)) {
        s->dir[0] = '\0';
        snprintf(s->reason, sizeof(s->reason), "mkdtemp: %s", strerror(errno));
        return -1;
    }
    char sock[96];
    snprintf(sock, sizeof(sock), "%s/sock", s->dir);
    if (mkdir(sock, 0700) != 0 ||
        (s->drop && (chown(s->dir, s->uid, s->gid) != 0 || chown(sock, s->uid, s->gid) != 0))) {
        snprintf(s->reason, sizeof(s->reason), "preparing %s: %s", s->dir, strerror(errno));
        return fail(s);
    }

    char prog[300], data[96];
    snprintf(prog, sizeof(prog), "%s/initdb", s->bindir);
    snprintf(data, sizeof(data), "%s/data", s->dir);
    char *const initdb[] = {prog,    "-D", data,   "-U",          PG_SUPERUSER, "-A",
                            "trust", "-E", "UTF8", "--no-locale", "--no-sync",  NULL};
    int rc = run_prog(s, initdb, PG_INITDB_MS, NULL);
    if (rc != 0) {
        snprintf(s->reason, sizeof(s->reason), "initdb failed (exit %d)", rc);
        return fail(s);
    }
    /* Trust only this directory's socket and 127.0.0.1 (initdb's file also lists ::1 and
     * replication). */
    if (write_file(s, "pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n") !=
        0) {
        snprintf(s->reason, sizeof(s->reason), "writing pg_hba.conf: %s", strerror(errno));
        return fail(s);
    }
    for (int i = 0; i < PG_START_TRIES; i++) {
        s->port = ag_child_free_port();
        if (s->port <= 0) {
            snprintf(s->reason, sizeof(s->reason), "no free loopback port");
            return fail(s);
        }
        rc = start_postmaster(s);
        if (rc != 1)
            break;
        snprintf(s->reason, sizeof(s->reason), "port %d was taken %d times", s->port, i + 1);
    }
    if (rc != 0)
        return fail(s);
    if (ag_pgserver_create_db(s, dbname, s->url, sizeof(s->url)) != 0) {
        snprintf(s->reason, sizeof(s->reason), "CREATE DATABASE %s failed", dbname);
        return fail(s);
    }
    return 0;
}
