/* tests/support/loopwait.c: the mock child, bounded waits (on a test's loop, or polling a
 * condition) and tree removal. */
#include "loopwait.h"

#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int ag_test_mock_start(struct ag_child *c, int *port)
{
    const char *bin = getenv("AIGATE_MOCK_BIN");
    char p[16];
    if (!bin)
        return -1;
    *port = ag_child_free_port();
    snprintf(p, sizeof(p), "%d", *port);
    const char *argv[] = {bin, "--port", p, NULL};
    return ag_child_start(c, argv, NULL, "listening on", 10000) ? 0 : -1;
}

void ag_test_mock_stop(struct ag_child *c)
{
    ag_child_stop(c, SIGTERM, 5000);
    ag_child_cleanup(c);
}

static void on_guard(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

bool ag_test_run_until(uv_loop_t *loop, bool *flag, int timeout_ms)
{
    bool expired = false;
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, (uint64_t)timeout_ms, 0);
    /* NOWAIT first: a ONCE run that already ran the callback setting *flag would then block in
     * the poll until the next timer (up to the pool's 1 s reload tick). */
    while (!*flag && !expired) {
        uv_run(loop, UV_RUN_NOWAIT);
        if (!*flag && !expired)
            uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return *flag;
}

bool ag_test_wait_for(bool (*cond)(void *ud), void *ud, int timeout_ms)
{
    uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
    int pause_ms = 1;
    for (;;) {
        if (cond(ud))
            return true;
        if (uv_hrtime() >= deadline)
            return cond(ud);
        struct timespec ts = {0, (long)pause_ms * 1000000L};
        nanosleep(&ts, NULL);
        if (pause_ms < 20)
            pause_ms *= 2;
    }
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void ag_test_rmtree(const char *dir)
{
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}
