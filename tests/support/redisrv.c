/* tests/support/redisrv.c: see redisrv.h. */
#include "redisrv.h"

#include "ag_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool ag_redisrv_find(struct ag_redisrv *r)
{
    const char *path = getenv("PATH");
    char dirs[2048];
    snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/usr/sbin:/usr/local/bin", path ? path : "");
    for (const char *d = dirs; *d;) {
        size_t len = strcspn(d, ":");
        snprintf(r->bin, sizeof(r->bin), "%.*s/redis-server", (int)len, d);
        if (len && access(r->bin, X_OK) == 0)
            return true;
        d += len + (d[len] == ':');
    }
    r->bin[0] = '\0';
    return false;
}

bool ag_redisrv_installed(void)
{
    struct ag_redisrv r = {0};
    if (ag_redisrv_find(&r))
        return true;
    fprintf(stderr, "redis-server is not installed (Debian package redis-server): skipped\n");
    return false;
}

void ag_redisrv_start(struct ag_redisrv *r)
{
    char port[16];
    if (!r->bin[0] && !ag_redisrv_find(r))
        fail_msg("redis-server is not installed");
    if (!r->dir[0]) {
        snprintf(r->dir, sizeof(r->dir), "/tmp/ag-redis-XXXXXX");
        assert_non_null(mkdtemp(r->dir));
        r->port = ag_child_free_port();
    }
    snprintf(port, sizeof(port), "%d", r->port);
    const char *argv[] = {r->bin,  "--port",      port,     "--bind", "127.0.0.1",
                          "--dir", r->dir,        "--save", "",       "--appendonly",
                          "no",    "--daemonize", "no",     NULL};
    assert_true(ag_child_start(&r->child, argv, NULL, "Ready to accept connections", 15000));
}

void ag_redisrv_stop(struct ag_redisrv *r)
{
    if (r->child.pid > 0) {
        kill(r->child.pid, SIGCONT); /* a stopped server must run to exit */
        ag_child_stop(&r->child, SIGTERM, 5000);
    }
    ag_child_cleanup(&r->child);
    r->child.pid = 0;
}

void ag_redisrv_dispose(struct ag_redisrv *r)
{
    char cmd[128];
    ag_redisrv_stop(r);
    if (r->dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", r->dir);
    }
    r->dir[0] = '\0';
}

void ag_redisrv_url(const struct ag_redisrv *r, char *out, size_t cap)
{
    snprintf(out, cap, "redis://127.0.0.1:%d/0", r->port);
}
