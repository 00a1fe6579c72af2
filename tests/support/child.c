/* tests/support/child.c: see child.h. */
#include "child.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int ag_child_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

/* Builds environ + extra (extra wins for the same name). Returns a malloc'd array. */
static char **merged_env(const char *const *extra)
{
    size_t n = 0, m = 0;
    while (environ[n])
        n++;
    while (extra && extra[m])
        m++;
    char **env = calloc(n + m + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool overridden = false;
        for (size_t j = 0; j < m; j++) {
            if (strncmp(extra[j], environ[i], nl) == 0 && extra[j][nl] == '=')
                overridden = true;
        }
        if (!overridden)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++)
        env[k++] = (char *)extra[j];
    env[k] = NULL;
    return env;
}

char *ag_child_output(const struct ag_child *c)
{
    FILE *f = fopen(c->log_path, "rb");
    if (!f)
        return strdup("");
    size_t cap = 8192, len = 0;
    char *b = malloc(cap);
    size_t n;
    while ((n = fread(b + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 4096) {
            cap *= 2;
            b = realloc(b, cap);
        }
    }
    fclose(f);
    b[len] = '\0';
    return b;
}

bool ag_child_wait_output(struct ag_child *c, const char *text, int timeout_ms)
{
    long end = now_ms() + timeout_ms;
    do {
        char *out = ag_child_output(c);
        bool hit = strstr(out, text) != NULL;
        free(out);
        if (hit)
            return true;
        int st;
        if (c->pid > 0 && waitpid(c->pid, &st, WNOHANG) == c->pid) {
            c->pid = -1;
            return false;
        }
        usleep(10000);
    } while (now_ms() < end);
    return false;
}

bool ag_child_start(struct ag_child *c, const char *const *argv, const char *const *env,
                    const char *ready_text, int timeout_ms)
{
    static int seq;
    snprintf(c->log_path, sizeof(c->log_path), "/tmp/ag-child-%d-%d.log", (int)getpid(), ++seq);
    int fd = open(c->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return false;
    char **envp = merged_env(env);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execve(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    free(envp);
    close(fd);
    if (pid < 0)
        return false;
    c->pid = pid;
    if (!ready_text)
        return true;
    if (ag_child_wait_output(c, ready_text, timeout_ms))
        return true;
    char *out = ag_child_output(c);
    fprintf(stderr, "child %s did not get ready; its output:\n%s\n", argv[0], out);
    free(out);
    ag_child_stop(c, SIGKILL, 1000);
    return false;
}

int ag_child_stop(struct ag_child *c, int sig, int timeout_ms)
{
    int st;
    if (c->pid <= 0)
        return -1;
    kill(c->pid, sig);
    long end = now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid)
            break;
        if (r < 0) {
            c->pid = -1;
            return -1;
        }
        if (now_ms() >= end) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &st, 0);
            c->pid = -1;
            return -1;
        }
        usleep(5000);
    }
    c->pid = -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

void ag_child_cleanup(struct ag_child *c)
{
    if (c->pid > 0)
        ag_child_stop(c, SIGKILL, 1000);
    unlink(c->log_path);
}

/* Reads all of fd into a malloc'd string, bounded by deadline. */
static char *drain(int fd, long deadline)
{
    size_t cap = 4096, len = 0;
    char *b = malloc(cap);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (now_ms() < deadline) {
        int r = poll(&p, 1, 50);
        if (r <= 0)
            continue;
        ssize_t n = read(fd, b + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (cap - len < 1024) {
            cap *= 2;
            b = realloc(b, cap);
        }
    }
    b[len] = '\0';
    return b;
}

int ag_child_run(const char *const *argv, const char *const *env, const char *stdin_text,
                 int timeout_ms, char **out, char **err)
{
    char tmpl_out[] = "/tmp/ag-run-out-XXXXXX", tmpl_err[] = "/tmp/ag-run-err-XXXXXX";
    int fo = mkstemp(tmpl_out), fe = mkstemp(tmpl_err);
    int in[2];
    if (fo < 0 || fe < 0 || pipe(in) < 0)
        return -1;
    char **envp = merged_env(env);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        close(in[1]);
        dup2(fo, 1);
        dup2(fe, 2);
        execve(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    free(envp);
    close(in[0]);
    if (stdin_text) {
        ssize_t w = write(in[1], stdin_text, strlen(stdin_text));
        (void)w;
    }
    close(in[1]);
    int st = 0, code = -1;
    long end = now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        if (now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        usleep(5000);
    }
    lseek(fo, 0, SEEK_SET);
    lseek(fe, 0, SEEK_SET);
    char *o = drain(fo, now_ms() + 1000), *e = drain(fe, now_ms() + 1000);
    close(fo);
    close(fe);
    unlink(tmpl_out);
    unlink(tmpl_err);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return code;
}

bool ag_child_maps(pid_t pid, const char *name)
{
    char path[64], line[512];
    bool found = false;
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f)) {
        const char *file = strrchr(line, '/');
        found = file && strncmp(file + 1, name, strlen(name)) == 0;
    }
    fclose(f);
    return found;
}
