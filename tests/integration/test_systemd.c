/* Integration tests of aigate under a service manager, with the real binary ($AIGATE_BIN): the
 * readiness protocol of systemd's Type=notify (READY=1 once it listens, STOPPING=1 when a stop
 * begins, sent to the datagram socket named by NOTIFY_SOCKET) and the journal's line format when
 * JOURNAL_STREAM names its stderr. A real AF_UNIX socket and a real file play systemd's part. */
#include "ag_test.h"

#include "child.h"
#include "rawhttp.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *bin(void)
{
    const char *b = getenv("AIGATE_BIN");
    if (!b)
        fail_msg("AIGATE_BIN is not set (run through ctest)");
    return b;
}

struct env {
    char base[64];
    char data[160]; /* "AIGATE_DATA_DIR=..." */
    char port_arg[16];
    int port;
};

static void env_prepare(struct env *e)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->base, sizeof(e->base), "/tmp/ag-systemd-XXXXXX");
    assert_non_null(mkdtemp(e->base));
    snprintf(e->data, sizeof(e->data), "AIGATE_DATA_DIR=%s/data", e->base);
    e->port = ag_child_free_port();
    snprintf(e->port_arg, sizeof(e->port_arg), "%d", e->port);
}

static void env_cleanup(struct env *e)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->base);
    assert_int_equal(system(cmd), 0);
}

/* A datagram socket bound to the abstract name (name[0] == '@'), as systemd binds its own. */
static int notify_listener(const char *name)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    size_t n = strlen(name);
    assert_true(n < sizeof(sa.sun_path));
    memcpy(sa.sun_path, name, n);
    sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(
        bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
        0);
    return fd;
}

/* One datagram within timeout_ms into buf (NUL-terminated); false when none came. */
static bool notify_receive(int fd, char *buf, size_t cap, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1)
        return false;
    ssize_t n = recv(fd, buf, cap - 1, 0);
    if (n < 0)
        return false;
    buf[n] = '\0';
    return true;
}

static void notify_socket_gets_ready_once_listening_and_stopping_on_sigterm(void **state)
{
    struct env e;
    struct ag_child gw;
    struct rh_resp r;
    char name[64], msg[256], notify[80];
    env_prepare(&e);
    snprintf(name, sizeof(name), "@aigate-test-notify-%ld", (long)getpid());
    snprintf(notify, sizeof(notify), "NOTIFY_SOCKET=%s", name);
    int fd = notify_listener(name);
    const char *env[] = {e.data, notify, "AIGATE_LOG_LEVEL=info", NULL};
    const char *argv[] = {bin(), "serve", "--port", e.port_arg, NULL};
    /* Not waiting for the log line: READY=1 itself must mean "listening". */
    assert_true(ag_child_start(&gw, argv, env, NULL, 0));
    bool ready = notify_receive(fd, msg, sizeof(msg), 30000);
    if (!ready) {
        char *out = ag_child_output(&gw);
        fprintf(stderr, "no READY=1 within 30 s; aigate's output:\n%s\n", out);
        free(out);
        ag_child_stop(&gw, SIGKILL, 5000);
        ag_child_cleanup(&gw);
        close(fd);
    }
    assert_true(ready);
    assert_string_equal(msg, "READY=1");
    bool up = rh_request(e.port, "GET", "/healthz", NULL, NULL, &r);
    int stopped = ag_child_stop(&gw, SIGTERM, 20000);
    assert_true(up);
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    assert_int_equal(stopped, 0);
    assert_true(notify_receive(fd, msg, sizeof(msg), 1000));
    assert_string_equal(msg, "STOPPING=1");
    assert_false(notify_receive(fd, msg, sizeof(msg), 100)); /* nothing else */
    close(fd);
    ag_child_cleanup(&gw);
    env_cleanup(&e);
}

/* Runs aigate serve with stderr to a file and JOURNAL_STREAM naming that file (or another);
 * stops it once it listens and returns what it wrote (malloc'd). */
static char *serve_log(struct env *e, bool own_stream)
{
    char path[200], stream[80];
    snprintf(path, sizeof(path), "%s/stderr", e->base);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    snprintf(stream, sizeof(stream), "JOURNAL_STREAM=%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + (own_stream ? 0 : 1));
    const char *argv[] = {bin(), "serve", "--port", e->port_arg, NULL};
    const char *envp[] = {e->data, stream, "AIGATE_LOG_LEVEL=info", "PATH=/usr/bin:/bin", NULL};
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        execve(argv[0], (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    static char buf[8192];
    bool listening = false;
    for (int i = 0; i < 3000 && !listening; i++) { /* at most 30 s */
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        listening = strstr(buf, "listening on") != NULL;
        if (!listening)
            usleep(10000);
    }
    kill(pid, SIGTERM);
    int status = -1;
    for (int i = 0; i < 2000; i++) { /* at most 20 s */
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        usleep(10000);
        status = -1;
    }
    if (status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    assert_true(listening);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return strdup(buf);
}

static void journal_stream_lines_carry_priorities_and_no_timestamps(void **state)
{
    struct env e;
    env_prepare(&e);
    char *out = serve_log(&e, true);
    /* Every line is "<N>text": where it listens (info), that it stopped (info). */
    assert_true(strncmp(out, "<6>", 3) == 0);
    assert_non_null(strstr(out, "\n<6>aigate " AIGATE_VERSION " listening on http://127.0.0.1:"));
    assert_non_null(strstr(out, "<6>stopped\n"));
    for (const char *l = out; *l; l = strchr(l, '\n') + 1) {
        assert_true(l[0] == '<' && l[1] >= '0' && l[1] <= '7' && l[2] == '>');
        if (!strchr(l, '\n'))
            break;
    }
    assert_null(strstr(out, "Z INFO "));
    free(out);

    /* A JOURNAL_STREAM that is not stderr (inherited by a process whose stderr was redirected)
     * keeps the plain format. */
    out = serve_log(&e, false);
    assert_non_null(strstr(out, "Z INFO  aigate "));
    assert_null(strstr(out, "<6>"));
    free(out);
    env_cleanup(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(notify_socket_gets_ready_once_listening_and_stopping_on_sigterm),
        cmocka_unit_test(journal_stream_lines_carry_priorities_and_no_timestamps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
