/* tests/support/hookrx.h: a webhook receiver for tests — a small blocking HTTP/1.1 server on a
 * free 127.0.0.1 port, in a thread of its own, that keeps each POST it gets (headers and body)
 * and answers 200, or 500 to the first fail_first requests. Every wait is bounded in time. */
#ifndef AG_TEST_HOOKRX_H
#define AG_TEST_HOOKRX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define HOOKRX_MAX 32

struct hookrx_msg {
    char head[4096]; /* request line and headers */
    char body[8192];
    size_t body_len;
};

struct hookrx {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    atomic_bool stop;
    int fail_first; /* set before requests arrive */
    struct hookrx_msg msgs[HOOKRX_MAX];
    int n;
};

/** Starts a receiver; false when it cannot listen. */
bool hookrx_start(struct hookrx *rx);

/** Stops the thread and closes the socket. */
void hookrx_stop(struct hookrx *rx);

/** Waits up to timeout_ms until at least n requests arrived; returns how many there are. */
int hookrx_wait(struct hookrx *rx, int n, int timeout_ms);

/** Copies request i (0-based, in arrival order) into *out; false when there is none. */
bool hookrx_get(struct hookrx *rx, int i, struct hookrx_msg *out);

/** A header's value of a kept request (case-insensitive name) into out; false if absent. */
bool hookrx_header(const struct hookrx_msg *m, const char *name, char *out, size_t cap);

#endif
