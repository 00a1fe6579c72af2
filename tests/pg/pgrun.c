/* tests/pg/pgrun.c: aigate-test-pgrun PROGRAM [ARG...] runs a test program against a throwaway
 * PostgreSQL (tests/support/pgserver.h): starts the server, exports its database's URL as
 * AIGATE_TEST_PG_URL, runs the program, stops the server by its PID and exits with the program's
 * exit code. It fails the run when the program never connected to that database (a suite that
 * ignores the URL would only repeat its SQLite run), and exits 77 (skipped) when PostgreSQL's
 * programs are not installed. */
#include "pgserver.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define PGRUN_DB "aigate_test"

int main(int argc, char **argv)
{
    static struct ag_pgserver pg;
    if (argc < 2) {
        fprintf(stderr, "usage: aigate-test-pgrun PROGRAM [ARG...]\n");
        return 2;
    }
    int rc = ag_pgserver_start(&pg, PGRUN_DB);
    if (rc == AG_PGSERVER_UNAVAILABLE) {
        fprintf(stderr, "%s: skipped\n", pg.reason);
        return AG_PGSERVER_SKIP;
    }
    if (rc != 0)
        return 1;
    /* Before the test program's first connection: the connections counted below are its own. */
    int before = ag_pgserver_connections(&pg, PGRUN_DB);
    if (setenv("AIGATE_TEST_PG_URL", pg.url, 1) != 0) {
        ag_pgserver_stop(&pg);
        return 1;
    }
    fprintf(stderr, "aigate-test-pgrun: PostgreSQL at %s (%s)\n", pg.url, pg.bindir);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        execv(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    int st = 0;
    rc = 1;
    /* Bounded by ctest's TIMEOUT: when ctest kills this runner, the program and the server get
     * their parent-death signals. */
    if (pid > 0 && waitpid(pid, &st, 0) == pid)
        rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    int used = ag_pgserver_connections(&pg, PGRUN_DB) - before;
    if (ag_pgserver_stop(&pg) != 0)
        fprintf(stderr, "aigate-test-pgrun: the server had to be killed or its directory stayed\n");
    if (rc == 0 && used <= 0) {
        fprintf(stderr,
                "aigate-test-pgrun: %s never connected to %s: it did not run on "
                "PostgreSQL\n",
                argv[1], pg.url);
        return 1;
    }
    return rc;
}
