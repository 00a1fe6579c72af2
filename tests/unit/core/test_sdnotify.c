/* Unit tests for core/sdnotify (the service manager's readiness datagram) and the journal line
 * format of core/log: a real AF_UNIX datagram socket stands in for systemd's notify socket, a
 * real file for the journal's stream. */
#include "ag_test.h"

#include "core/err.h"
#include "core/log.h"
#include "core/sdnotify.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A datagram socket bound to name ('@' = abstract); returns the fd. */
static int listener(const char *name)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    size_t n = strlen(name);
    assert_true(n < sizeof(sa.sun_path));
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(
        bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
        0);
    return fd;
}

/* Receives one datagram (waiting at most 5 s) into buf; returns its length, -1 when none came. */
static ssize_t receive(int fd, char *buf, size_t cap)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 5000) != 1)
        return -1;
    ssize_t n = recv(fd, buf, cap - 1, 0);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

static void unset_socket_means_nothing_to_do(void **state)
{
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(ag_sdnotify_send("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(ag_sdnotify_send("READY=1"), 0);
    unsetenv("NOTIFY_SOCKET");
}

static void path_socket_gets_the_state_as_one_datagram(void **state)
{
    char dir[] = "/tmp/ag-notify-XXXXXX";
    char path[64], buf[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/notify", dir);
    int fd = listener(path);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(ag_sdnotify_send("READY=1"), 1);
    assert_int_equal(receive(fd, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "READY=1");
    assert_int_equal(ag_sdnotify_send("STOPPING=1\nSTATUS=stopping"), 1);
    assert_int_equal(receive(fd, buf, sizeof(buf)), 26);
    assert_string_equal(buf, "STOPPING=1\nSTATUS=stopping");
    unsetenv("NOTIFY_SOCKET");
    close(fd);
    unlink(path);
    rmdir(dir);
}

static void abstract_socket_name_starts_with_at(void **state)
{
    char name[64], buf[64];
    snprintf(name, sizeof(name), "@aigate-test-notify-%ld", (long)getpid());
    int fd = listener(name);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_int_equal(ag_sdnotify_send("READY=1"), 1);
    assert_int_equal(receive(fd, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "READY=1");
    unsetenv("NOTIFY_SOCKET");
    close(fd);
}

static void bad_or_absent_sockets_are_errors(void **state)
{
    char longname[200];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[0] = '/';
    longname[sizeof(longname) - 1] = '\0';
    setenv("NOTIFY_SOCKET", "relative/notify", 1);
    assert_int_equal(ag_sdnotify_send("READY=1"), AG_EINVAL);
    setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
    assert_int_equal(ag_sdnotify_send("READY=1"), AG_EINVAL);
    setenv("NOTIFY_SOCKET", longname, 1);
    assert_int_equal(ag_sdnotify_send("READY=1"), AG_EINVAL);
    setenv("NOTIFY_SOCKET", "@", 1);
    assert_int_equal(ag_sdnotify_send("READY=1"), AG_EINVAL);
    /* Nobody bound there. */
    setenv("NOTIFY_SOCKET", "/tmp/ag-notify-nobody-listens-here", 1);
    assert_int_equal(ag_sdnotify_send("READY=1"), AG_EIO);
    unsetenv("NOTIFY_SOCKET");
}

/* Writes two lines through core/log with stderr pointed at a file and JOURNAL_STREAM set to
 * stream (NULL: unset; "self": the file's own device:inode); returns the file's content. */
static char *log_lines(const char *stream)
{
    static char out[1024];
    char path[] = "/tmp/ag-journal-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char self[64];
    snprintf(self, sizeof(self), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    if (!stream)
        unsetenv("JOURNAL_STREAM");
    else
        setenv("JOURNAL_STREAM", strcmp(stream, "self") == 0 ? self : stream, 1);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    ag_log_journal_detect();
    enum ag_log_level before = ag_log_threshold;
    ag_log_set_level(AG_LOG_INFO);
    ag_log_info("listening on %d", 8045);
    ag_log_debug("not written");
    ag_log_error("disk full");
    ag_log_warn("careful");
    ag_log_set_level(before);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    unsetenv("JOURNAL_STREAM");
    ag_log_journal_detect();
    ssize_t n = pread(fd, out, sizeof(out) - 1, 0);
    assert_true(n >= 0);
    out[n] = '\0';
    close(fd);
    unlink(path);
    return out;
}

static void journal_stream_of_stderr_gets_priority_prefixes(void **state)
{
    assert_string_equal(log_lines("self"), "<6>listening on 8045\n<3>disk full\n<4>careful\n");
    assert_false(ag_log_journal()); /* stderr is back to what it was, JOURNAL_STREAM unset */
}

static void other_or_malformed_journal_stream_keeps_timestamps(void **state)
{
    const char *cases[] = {NULL, "1:2", "abc", "12:", ":34", "12:34x"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *out = log_lines(cases[i]);
        /* "2026-12-05T18:00:00.000Z INFO  listening on 8045" */
        assert_true(strlen(out) > 30);
        assert_int_equal(out[4], '-');
        assert_int_equal(out[23], 'Z');
        assert_non_null(strstr(out, "Z INFO  listening on 8045\n"));
        assert_non_null(strstr(out, "Z ERROR disk full\n"));
        assert_null(strchr(out, '<'));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unset_socket_means_nothing_to_do),
        cmocka_unit_test(path_socket_gets_the_state_as_one_datagram),
        cmocka_unit_test(abstract_socket_name_starts_with_at),
        cmocka_unit_test(bad_or_absent_sockets_are_errors),
        cmocka_unit_test(journal_stream_of_stderr_gets_priority_prefixes),
        cmocka_unit_test(other_or_malformed_journal_stream_keeps_timestamps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
