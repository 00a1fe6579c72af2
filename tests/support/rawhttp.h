/* tests/support/rawhttp.h: a tiny blocking HTTP/1.1 client over real loopback sockets, for tests
 * that need byte-level control (pipelining, partial sends, slow clients). Every read has a
 * timeout, so a test can never hang on it. */
#ifndef AG_TEST_RAWHTTP_H
#define AG_TEST_RAWHTTP_H

#include <stdbool.h>
#include <stddef.h>

struct rh_conn {
    int fd;
    char *buf; /* received, not yet consumed */
    size_t len, cap;
};

struct rh_resp {
    int status;
    char *head; /* status line + headers, NUL-terminated (malloc'd) */
    char *body; /* de-chunked body, NUL-terminated (malloc'd) */
    size_t body_len;
    bool chunked;
};

/** Connects to 127.0.0.1:port with a receive timeout of timeout_ms; false on failure. */
bool rh_connect(struct rh_conn *c, int port, int timeout_ms);

/** Sends all bytes; false on failure. */
bool rh_send(struct rh_conn *c, const char *data, size_t len);
bool rh_send_str(struct rh_conn *c, const char *s);

/**
 * Reads one response (skipping 1xx interim responses unless keep_interim). false on timeout, close
 * before a whole response, or malformed response. A HEAD response has no body: pass head_request.
 */
bool rh_read(struct rh_conn *c, struct rh_resp *r, bool head_request);

/**
 * Reads only the status line and headers of the next response into r (head and status; body
 * NULL) and leaves the body in the connection: for a stream that is still running. false on
 * timeout, close before the end of the head, or a malformed status line.
 */
bool rh_read_head(struct rh_conn *c, struct rh_resp *r);

/** Reads a response that may be interim (100 Continue) — returns whatever status comes first. */
bool rh_read_any(struct rh_conn *c, struct rh_resp *r);

/** True when bytes (or the peer's close) can be read within timeout_ms; nothing is consumed. */
bool rh_wait_readable(struct rh_conn *c, int timeout_ms);

/** True if the peer closed the connection (EOF) within timeout_ms with no more data. */
bool rh_wait_closed(struct rh_conn *c, int timeout_ms);

/** Value of a response header (case-insensitive) copied into out; false if absent. */
bool rh_header(const struct rh_resp *r, const char *name, char *out, size_t cap);

void rh_resp_free(struct rh_resp *r);
void rh_close(struct rh_conn *c);

/** One-shot request with Connection: close; extra_headers is "Name: v\r\n..." or NULL. */
bool rh_request(int port, const char *method, const char *path, const char *extra_headers,
                const char *body, struct rh_resp *r);

#endif
