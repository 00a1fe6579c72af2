/* tests/support/child.h: start a program of ours (aigate, the mock upstream) as a child process
 * for an integration test, wait until it says it is ready, and stop it by its own PID. Its stdout
 * and stderr go to a log file (never a pipe that could fill up and stall it). Every wait is
 * bounded. */
#ifndef AG_TEST_CHILD_H
#define AG_TEST_CHILD_H

#include <stdbool.h>
#include <sys/types.h>

struct ag_child {
    pid_t pid;
    char log_path[256];
};

/** A TCP port on 127.0.0.1 that was free a moment ago. */
int ag_child_free_port(void);

/**
 * Starts argv[0] with argv and the current environment plus env (NULL-terminated "K=V" list, may
 * be NULL). Waits up to timeout_ms for ready_text to appear in its output (NULL: don't wait).
 * Returns false (and stops the child) if it exits or never gets ready.
 */
bool ag_child_start(struct ag_child *c, const char *const *argv, const char *const *env,
                    const char *ready_text, int timeout_ms);

/** Waits up to timeout_ms for text to appear in the child's output. */
bool ag_child_wait_output(struct ag_child *c, const char *text, int timeout_ms);

/**
 * Sends sig and waits up to timeout_ms; then SIGKILL. Returns the exit code (0..255), 128+signal
 * if it died of a signal, or -1. The log file is kept for ag_child_output until ag_child_cleanup.
 */
int ag_child_stop(struct ag_child *c, int sig, int timeout_ms);

/** The child's output so far (malloc'd, NUL-terminated; the caller frees). */
char *ag_child_output(const struct ag_child *c);

/** Removes the log file. */
void ag_child_cleanup(struct ag_child *c);

/**
 * Whether process pid has a file whose name starts with name (as "libcurl.so") mapped, from
 * /proc/<pid>/maps; false when it has none or cannot be read.
 */
bool ag_child_maps(pid_t pid, const char *name);

/**
 * Runs argv to completion (bounded by timeout_ms, then killed) with extra env and optional stdin
 * text; returns the exit code (or -1) and its stdout/stderr when out/err are not NULL (malloc'd).
 */
int ag_child_run(const char *const *argv, const char *const *env, const char *stdin_text,
                 int timeout_ms, char **out, char **err);

#endif
