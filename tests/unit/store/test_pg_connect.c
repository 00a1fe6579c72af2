/* Unit test of connecting to PostgreSQL (store/db_pg.c) when the server does not answer: a
 * listening socket on loopback that takes the connection and never says a word. The attempt must
 * end with an error (connect_timeout by default) instead of waiting for ever; an alarm bounds the
 * test itself. No PostgreSQL server is needed. */
#include "ag_test.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "store/db_pg.h"

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "connecting to a silent server did not end within 60 s\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(1);
}

static void a_silent_server_ends_in_an_error(void **state)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(listen(fd, 4), 0); /* the kernel completes the handshake; nobody answers */
    char url[128], err[512] = "";
    snprintf(url, sizeof(url), "postgresql://u:pw-s3cret@127.0.0.1:%d/db", ntohs(sa.sin_port));
    struct ag_pg_conn *c = NULL;
    signal(SIGALRM, on_alarm);
    alarm(60);
    assert_int_equal(ag_db_pg_open(url, &c, err, sizeof(err)), AG_EIO);
    alarm(0);
    assert_null(c);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL"));
    assert_null(strstr(err, "pw-s3cret"));
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_silent_server_ends_in_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
