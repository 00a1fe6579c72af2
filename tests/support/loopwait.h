/* tests/support/loopwait.h: what tests share to wait on a condition instead of sleeping: the
 * mock upstream as a child on a free port, a bounded wait for a callback on a test's own libuv
 * loop, a bounded poll of a condition made true elsewhere, and removing a test's temporary
 * directory. */
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

/**
 * Calls cond(ud) until it returns true or timeout_ms has passed, pausing between calls (1 ms at
 * first, doubling up to 20 ms) so a condition that another thread or process makes true is
 * polled without spinning; returns the last result. For conditions outside any loop the test
 * runs (a server thread's counters, the mock's statistics).
 */
bool ag_test_wait_for(bool (*cond)(void *ud), void *ud, int timeout_ms);

/** Removes dir and everything below it (not following links); errors are ignored. */
void ag_test_rmtree(const char *dir);

#endif
