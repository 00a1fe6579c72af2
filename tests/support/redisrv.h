/* tests/support/redisrv.h: a real redis-server from Debian's package for a test: a temp
 * directory, a loopback port chosen at run time (kept across a stop and a start, so the clients
 * come back to the same address), no persistence, stopped by its own PID. */
#ifndef AG_TEST_REDISRV_H
#define AG_TEST_REDISRV_H

#include <stdbool.h>

#include "child.h"

struct ag_redisrv {
    struct ag_child child; /* the server while it runs (child.pid > 0) */
    int port;
    char dir[64];  /* its working directory, removed by ag_redisrv_dispose */
    char bin[256]; /* the redis-server found by ag_redisrv_find */
};

/** Looks for redis-server in $PATH, /usr/bin, /usr/sbin and /usr/local/bin; false when absent. */
bool ag_redisrv_find(struct ag_redisrv *r);

/** Whether redis-server is installed; when it is not, says so on stderr for a skipped test. */
bool ag_redisrv_installed(void);

/**
 * Starts the server and waits (15 s at most) until it accepts connections; fails the test when it
 * does not. The first start makes the directory and picks the port; later starts reuse both.
 */
void ag_redisrv_start(struct ag_redisrv *r);

/** Stops the server by its PID (a stopped, SIGSTOPped one is continued first); no-op when down. */
void ag_redisrv_stop(struct ag_redisrv *r);

/** Stops the server and removes its directory. */
void ag_redisrv_dispose(struct ag_redisrv *r);

/** "redis://127.0.0.1:<port>/0" into out (cap bytes). */
void ag_redisrv_url(const struct ag_redisrv *r, char *out, size_t cap);

#endif
