/* tests/support/proc.h: start a server binary for a test and stop it by PID. The binary must print
 * "listening on <host>:<port>" as its first stdout line (aigate-mock-upstream and aigate do). */
#ifndef AG_TEST_PROC_H
#define AG_TEST_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "child.h"
#include "core/buf.h"

struct ag_proc {
    pid_t pid;
    int port;
    char base_url[64];     /* "http://127.0.0.1:<port>" */
    struct ag_child child; /* the process itself (tests/support/child.h) */
};

/**
 * Spawns argv[0] (argv NULL-terminated) and waits up to timeout_ms for its "listening on" line.
 * Returns 0, or -1 (the child, if any, is killed).
 */
int ag_proc_spawn(struct ag_proc *p, char *const argv[], uint32_t timeout_ms);

/**
 * Stops the process: SIGTERM, then SIGKILL after grace_ms; reaps it. Returns its exit status
 * (0..255), 128+signal when killed by a signal, or -1 if it was not running.
 */
int ag_proc_stop(struct ag_proc *p, uint32_t grace_ms);

/**
 * Starts $AIGATE_MOCK_BIN --port 0 plus extra (NULL-terminated, may be NULL). Returns 0 or -1
 * (also when AIGATE_MOCK_BIN is unset).
 */
int ag_proc_start_mock(struct ag_proc *p, const char *const *extra);

/**
 * A blocking HTTP call for tests (libcurl easy): method, url, optional body (JSON) and
 * "Name: value" headers (NULL-terminated, may be NULL). The body goes into out (initialised by the
 * caller). Returns the status, or -1 on transport failure.
 */
long ag_test_http(const char *method, const char *url, const char *body, const char *const *headers,
                  struct ag_buf *out);

/** Returns a loopback TCP port that nothing listens on (bound, then closed). */
int ag_test_refused_port(void);

#endif
