/* tests/pg/test_pgserver.c: the throwaway PostgreSQL of tests/support/pgserver.h. It accepts
 * connections over TCP on 127.0.0.1 and over its own socket, as the unprivileged user when this
 * test runs as root, gives a fresh database on request, and is gone (process and directory) after
 * ag_pgserver_stop; a test process that dies without stopping it takes the server with it.
 * Exits 77 (skipped) when PostgreSQL's programs are not installed. */
#include "ag_test.h"
#include "child.h"
#include "pgserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct ag_pgserver pg;

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Alive and not a zombie (an orphan's zombie may wait for a reaper that never comes). */
static bool running(pid_t pid)
{
    char p[64], st[512];
    snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return false;
    size_t n = fread(st, 1, sizeof(st) - 1, f);
    fclose(f);
    st[n] = '\0';
    const char *close_paren = strrchr(st, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z' && close_paren[2] != 'X';
}

static char *psql(const char *db, const char *sql)
{
    char *out = NULL;
    assert_int_equal(ag_pgserver_psql(&pg, db, sql, &out), 0);
    assert_non_null(out);
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    return out;
}

static void serves_and_goes_away(void **state)
{
    (void)state;
    assert_true(pg.pid > 0); /* started by main */
    char want[128];
    snprintf(want, sizeof(want), "postgresql://aigate@127.0.0.1:%d/aigate_fixture", pg.port);
    assert_string_equal(pg.url, want);
    assert_true(port_accepts(pg.port));

    /* Over TCP with the URL a gateway gets: trusted on 127.0.0.1, the right database. */
    char *out = psql(pg.url, "SELECT current_database() || ' ' || current_user || ' ' || "
                             "host(inet_server_addr())");
    assert_string_equal(out, "aigate_fixture aigate 127.0.0.1");
    free(out);
    out = psql(NULL, "CREATE TABLE t (v int); INSERT INTO t VALUES (41), (1); "
                     "SELECT sum(v) FROM t");
    assert_string_equal(out, "42");
    free(out);
    out = psql(NULL, "SHOW listen_addresses");
    assert_string_equal(out, "127.0.0.1");
    free(out);
    /* A failing statement is an error, not an empty answer. */
    assert_int_not_equal(ag_pgserver_psql(&pg, NULL, "SELECT * FROM no_such_table", NULL), 0);

    /* A fresh database, empty. */
    char url[256];
    assert_int_equal(ag_pgserver_create_db(&pg, "second", url, sizeof(url)), 0);
    snprintf(want, sizeof(want), "postgresql://aigate@127.0.0.1:%d/second", pg.port);
    assert_string_equal(url, want);
    out = psql(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'");
    assert_string_equal(out, "0");
    free(out);
    assert_int_not_equal(ag_pgserver_create_db(&pg, "bad name;", url, sizeof(url)), 0);
    assert_true(ag_pgserver_connections(&pg, "second") >= 1);

    /* The server's files belong to the user it runs as: never root. */
    char data[128];
    struct stat sb;
    snprintf(data, sizeof(data), "%s/data/PG_VERSION", pg.dir);
    assert_int_equal(stat(data, &sb), 0);
    assert_int_not_equal(sb.st_uid, 0);
    assert_int_equal(sb.st_uid, geteuid() == 0 ? pg.uid : geteuid());

    char dir[64];
    pid_t pid = pg.pid;
    int port = pg.port;
    snprintf(dir, sizeof(dir), "%s", pg.dir);
    assert_int_equal(ag_pgserver_stop(&pg), 0);
    assert_false(running(pid));
    assert_false(port_accepts(port));
    assert_int_equal(access(dir, F_OK), -1);
    assert_int_equal(ag_pgserver_stop(&pg), 0); /* twice is harmless */
}

/* A test process killed before it could stop its server leaves no server running. */
static void dies_with_its_test(void **state)
{
    (void)state;
    int fds[2];
    /* The orphaned server comes to this process, which reaps it (no zombie left for init). */
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        static struct ag_pgserver mine;
        close(fds[0]);
        int rc = ag_pgserver_start(&mine, "orphan");
        char msg[128];
        int n = snprintf(msg, sizeof(msg), "%d %d %s\n", rc == 0 ? (int)mine.pid : -1, mine.port,
                         mine.dir);
        if (write(fds[1], msg, (size_t)n) != n)
            _exit(1);
        pause(); /* killed below, without a chance to stop anything */
        _exit(0);
    }
    close(fds[1]);
    char msg[128] = {0};
    size_t got = 0;
    ssize_t n;
    while (got < sizeof(msg) - 1 && (n = read(fds[0], msg + got, sizeof(msg) - 1 - got)) > 0) {
        got += (size_t)n;
        if (memchr(msg, '\n', got))
            break;
    }
    close(fds[0]);
    int pid = -1, port = 0;
    char dir[64] = {0};
    assert_int_equal(sscanf(msg, "%d %d %63s", &pid, &port, dir), 3);
    assert_true(pid > 0);
    assert_true(running(pid));
    assert_int_equal(kill(child, SIGKILL), 0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    bool gone = false;
    for (int i = 0; i < 300 && !gone; i++) { /* 30 s */
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) == pid)
            assert_true(WIFSIGNALED(st) || WIFEXITED(st));
        gone = !running(pid) && !port_accepts(port);
        if (!gone) {
            struct timespec ts = {0, 100000000L};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(gone);
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
    /* The directory is what such a death leaves behind; remove it through a stopped server. */
    static struct ag_pgserver left;
    snprintf(left.dir, sizeof(left.dir), "%s", dir);
    assert_int_equal(ag_pgserver_stop(&left), 0);
    assert_int_equal(access(dir, F_OK), -1);
}

static int teardown(void **state)
{
    (void)state;
    ag_pgserver_stop(&pg);
    return 0;
}

int main(void)
{
    int rc = ag_pgserver_start(&pg, "aigate_fixture");
    if (rc == AG_PGSERVER_UNAVAILABLE) {
        fprintf(stderr, "%s: skipped\n", pg.reason);
        return AG_PGSERVER_SKIP;
    }
    if (rc != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(serves_and_goes_away, teardown),
        cmocka_unit_test(dies_with_its_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
