/* tests/support/wsclient.h: a tiny blocking WebSocket client (RFC 6455) on rawhttp's connection,
 * for tests: the upgrade request, masked client frames (or unmasked ones, to test refusals), and
 * server frames read whole with a timeout, so a test can never hang on one. */
#ifndef AG_TEST_WSCLIENT_H
#define AG_TEST_WSCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rawhttp.h"

enum { WS_CONT = 0, WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };

struct ws_frame {
    int opcode;
    bool fin;
    char *data; /* payload, NUL-terminated (malloc'd) */
    size_t len;
};

/**
 * Connects to 127.0.0.1:port and sends an upgrade request for path (with a fixed key and
 * Sec-WebSocket-Version 13, plus extra_headers "Name: v\r\n..." or NULL), then reads the answer's
 * head into r (its body too unless the status is 101). false when no answer came.
 */
bool ws_open(struct rh_conn *c, int port, const char *path, const char *extra_headers,
             struct rh_resp *r);

/** The Sec-WebSocket-Key ws_open sends, and the Sec-WebSocket-Accept it calls for (RFC 6455 1.3).
 */
#define WS_TEST_KEY    "dGhlIHNhbXBsZSBub25jZQ=="
#define WS_TEST_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/** Sends one frame; masked as a client must unless masked is false. false on failure. */
bool ws_send_frame(struct rh_conn *c, int opcode, bool fin, const void *data, size_t len,
                   bool masked);

/** Sends a text message in one masked frame. */
bool ws_send_text(struct rh_conn *c, const char *s);

/** Reads one frame within timeout_ms; false on timeout, close of the connection or bad framing. */
bool ws_read(struct rh_conn *c, struct ws_frame *f, int timeout_ms);

/** Reads frames until a data (text/binary) or close frame, answering nothing: pings are skipped. */
bool ws_read_message(struct rh_conn *c, struct ws_frame *f, int timeout_ms);

/** The status code of a close frame (0 when it has none). */
int ws_close_code(const struct ws_frame *f);

void ws_frame_free(struct ws_frame *f);

#endif
