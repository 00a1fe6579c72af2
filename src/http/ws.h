/* http/ws.h: WebSocket connections on the HTTP server (RFC 6455; framing by wslay).
 *
 * A route that declares WebSocket support (struct ag_route.websocket) answers an upgrade request
 * with 101 Switching Protocols once the request passed admission like any other (route, Host and
 * Origin rules, auth, gate). From then on the connection carries frames, not HTTP. Each complete
 * text message becomes one request on the route's handler: the upgrade's method, path, query and
 * headers, the message as its body (ag_http_req_is_websocket() is true). The handler answers as it
 * would over HTTP and the server turns the answer into messages:
 *   - a streamed answer (ag_http_stream_*) carries server-sent events: the data of each event
 *     leaves as one text message (the "event:" name is dropped; the JSON names its own type), and
 *     an event with only a comment (a keep-alive) becomes a ping;
 *   - a complete answer (ag_http_respond*) leaves as one text message; an error status (>= 400)
 *     with a JSON object body {...} leaves as {"type":"error","status":N,...}, OpenAI's WebSocket
 *     error event; an empty body sends nothing.
 * One message is handled at a time: a text message arriving while the previous one's request runs
 * is answered with an error event (409) and dropped. Pings are answered, a close is answered and
 * ends the connection (a request in flight is aborted), a message over server.max_body_bytes is
 * refused with close code 1009, frames that break the protocol with 1002. Received messages count
 * against the server's request-body budget; with the budget spent the connection is closed with
 * 1013. Between messages the idle timeout applies (then a close 1000). Extensions such as
 * permessage-deflate are declined (not echoed in the 101). */
#ifndef AG_HTTP_WS_H
#define AG_HTTP_WS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

struct ag_http_req;
struct ag_http_conn;
struct ag_ws;

/** True when req is a message received on a WebSocket (not an HTTP request). */
bool ag_http_req_is_websocket(const struct ag_http_req *req);

/**
 * A WebSocket's memory between its messages: one value under one key that the handler of a
 * message leaves for later messages of the same connection (e.g. the last response of a
 * conversation, for a client that continues it by id). Owned by the connection; gone when it
 * closes.
 */
struct ag_http_memo;

/** The memo of the socket req came on; NULL for an HTTP request. Valid while req is. */
struct ag_http_memo *ag_http_req_memo(const struct ag_http_req *req);

/** The value kept under key, borrowed until the next put; p NULL when another key (or none) is
 * kept. */
struct ag_str ag_http_memo_get(const struct ag_http_memo *m, struct ag_str key);

/**
 * Keeps value under key (both copied), replacing what was kept. The bytes count against the
 * server's request-body budget while kept. Returns 0, or AG_ETOOBIG when key and value together
 * exceed max_body_bytes or the budget has no room (the memo is then empty).
 */
int ag_http_memo_put(struct ag_http_memo *m, struct ag_str key, struct ag_str value);

/* ---- for the server's own files (server.c, conn.c, parse.c, response.c) ---- */

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + RFC 6455 GUID)), NUL-ended. */
void ag_ws_accept_key(struct ag_str key, char out[29]);

/**
 * Answers the upgrade request on c (admitted, complete, its route declaring WebSocket support):
 * 101 and the connection turns into a WebSocket, or 400 / 426 (Sec-WebSocket-Version: 13) when
 * the handshake headers are wrong, after which the connection closes.
 */
void ag_ws_upgrade(struct ag_http_conn *c);

/** Reads the frames waiting in c->in, runs a complete message, sends what is queued. */
void ag_ws_process(struct ag_http_conn *c);

/** The request of a message has completed (called by ag_http_req_complete). */
void ag_ws_request_done(struct ag_http_conn *c);

/** The connection's timer fired: an idle socket is closed with 1000, a closing one dropped. */
void ag_ws_timeout(struct ag_http_conn *c);

/** The server stops: close with 1001 (going away) once no message is in flight. */
void ag_ws_going_away(struct ag_http_conn *c);

/** Frees the WebSocket state of a connection being freed (NULL is a no-op). */
void ag_ws_free(struct ag_ws *ws);

/** The answers of a message's request (see the file comment); 0 or AG_ECLOSED. */
int ag_ws_respond(struct ag_http_req *req, int status, const void *body, size_t len);
int ag_ws_stream_write(struct ag_http_req *req, const void *data, size_t len);
int ag_ws_stream_end(struct ag_http_req *req);

#endif
