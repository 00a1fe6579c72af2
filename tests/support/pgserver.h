/* tests/support/pgserver.h: a throwaway PostgreSQL server for tests, from Debian's packages
 * (postgresql-15: initdb, postgres and psql under /usr/lib/postgresql/<version>/bin), never the
 * system's service.
 *
 * ag_pgserver_start makes a temp directory under /tmp, runs initdb into it (trust authentication,
 * for the unix socket in that directory and 127.0.0.1 only), starts the postmaster as a child of
 * this process on 127.0.0.1 with a port chosen at run time, waits until it accepts connections,
 * and creates one database. ag_pgserver_stop shuts the postmaster down by its PID (SIGQUIT, the
 * signal of `pg_ctl stop -m immediate`; SIGKILL if it outlives the bound), reaps it and removes
 * the directory. Should the test process die first, the postmaster gets SIGQUIT from the kernel
 * (parent-death signal). PostgreSQL refuses to run as root: when the test runs as root (CI), the
 * server's programs run as the unprivileged user `nobody` (or $AIGATE_PG_USER), which owns the
 * directory; as any other user they run as that user.
 *
 * Use in a test (exit code 77 is ctest's SKIP_RETURN_CODE for the PostgreSQL tests):
 *
 *     static struct ag_pgserver pg;
 *     int main(void)
 *     {
 *         int rc = ag_pgserver_start(&pg, "aigate");
 *         if (rc == AG_PGSERVER_UNAVAILABLE) {
 *             fprintf(stderr, "%s: skipped\n", pg.reason);
 *             return AG_PGSERVER_SKIP;
 *         }
 *         if (rc != 0) { fprintf(stderr, "%s\n", pg.reason); return 1; }
 *         ... pg.url is "postgresql://aigate@127.0.0.1:<port>/aigate" ...
 *         ... ag_pgserver_create_db(&pg, "t1", url, sizeof(url)) gives a fresh, empty database ...
 *         ag_pgserver_stop(&pg);
 *     }
 *
 * The store's unit suites need none of this: ctest runs them a second time through
 * aigate-test-pgrun (tests/pgrun/), which starts a server, exports its URL as AIGATE_TEST_PG_URL
 * (and the psql path as AIGATE_TEST_PSQL) to the suite, and stops the server when the suite ends.
 * A suite that reads AIGATE_TEST_PG_URL runs its cases against that database when it is set. */
#ifndef AG_TEST_PGSERVER_H
#define AG_TEST_PGSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/** ag_pgserver_start's result when PostgreSQL's programs (or an unprivileged user) are missing. */
#define AG_PGSERVER_UNAVAILABLE 1
/** The exit code of a test that cannot run here (ctest SKIP_RETURN_CODE). */
#define AG_PGSERVER_SKIP 77

struct ag_pgserver {
    pid_t pid;        /* the postmaster, a child of this process (0: not running) */
    int port;         /* its TCP port on 127.0.0.1 */
    char dir[64];     /* the temp directory: data/, sock/ and the server's log */
    char bindir[256]; /* where initdb, postgres and psql are */
    char url[256];    /* postgresql://aigate@127.0.0.1:<port>/<database> */
    char reason[512]; /* why start failed or the server is unavailable */
    bool drop;        /* programs run as uid/gid below (this process is root) */
    uid_t uid;
    gid_t gid;
};

/**
 * Finds PostgreSQL's programs ($AIGATE_PG_BINDIR, else the newest /usr/lib/postgresql/N/bin,
 * else initdb in PATH), makes the directory, runs initdb, starts the server, waits (bounded) until
 * it accepts connections, and creates database dbname (plain identifier). Fills s->url.
 * Returns 0; AG_PGSERVER_UNAVAILABLE when the programs or the unprivileged user are missing; -1
 * on any other failure (everything started is stopped and removed; s->reason and the server's
 * log on stderr say why).
 */
int ag_pgserver_start(struct ag_pgserver *s, const char *dbname);

/**
 * Creates another, empty database name (plain identifier) on the running server and writes its
 * URL into url (cap bytes). Returns 0 or -1.
 */
int ag_pgserver_create_db(struct ag_pgserver *s, const char *name, char *url, size_t cap);

/**
 * Runs sql through psql on database db (a name, or a postgresql:// URL such as s->url to go over
 * TCP; NULL: the database of ag_pgserver_start, over the unix socket) with
 * ON_ERROR_STOP, unaligned tuples-only output. Returns psql's exit code (0 = success) or -1;
 * when out is not NULL, *out gets its stdout (malloc'd, the caller frees; NULL on failure).
 */
int ag_pgserver_psql(struct ag_pgserver *s, const char *db, const char *sql, char **out);

/**
 * How many client connections to database db the server has accepted so far (from its log;
 * psql calls of ag_pgserver_psql count too). Returns the count, or -1 when the log is missing.
 */
int ag_pgserver_connections(const struct ag_pgserver *s, const char *db);

/**
 * Stops the server by its PID (SIGQUIT, then SIGKILL after a bounded wait), reaps it and removes
 * the directory. Safe to call twice or after a failed start. Returns 0, or -1 when the server
 * had to be killed or the directory could not be removed.
 */
int ag_pgserver_stop(struct ag_pgserver *s);

#endif
