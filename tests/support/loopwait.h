/* tests/support/loopwait.h: what the in-process pool tests (integration/test_accounts.c,
 * test_sched.c) share around their own libuv loop: the mock upstream as a child on a free port,
 * a bounded wait for a callback, and removing a test's temporary directory. */
#ifndef AG_TEST_LOOPWAIT_H
#define AG_TEST_LOOPWAIT_H

#include <stdbool.h>
#include <uv.h>

#include "child.h"

/**
 * Starts $AIGATE_MOCK_BIN on a free loopback port into *c and stores the port in *port; 0 once it
 * listens, -1 (a cmocka group setup failure) when the variable is unset or it does not start.
 */
int ag_test_mock_start(struct ag_child *c, int *port);

/** Stops what ag_test_mock_start started (SIGTERM, 5 s grace) and frees c's log. */
void ag_test_mock_stop(struct ag_child *c);

/**
 * Runs loop until *flag is set or timeout_ms has passed, then runs it once more without waiting
 * so the guard timer is closed; returns *flag.
 */
bool ag_test_run_until(uv_loop_t *loop, bool *flag, int timeout_ms);

/** Removes dir and everything below it (not following links); errors are ignored. */
void ag_test_rmtree(const char *dir);

#endif
