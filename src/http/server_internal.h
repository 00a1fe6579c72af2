/* http/server_internal.h: what the server's own files share (server.c: the server, listeners and
 * shutdown; conn.c: a connection's life, deadlines and reading; parse.c: llhttp and dispatch;
 * admission.c: the checks before a body is read; response.c: writing responses; ws.c: WebSocket).
 * Not for other layers: they use server.h. */
#ifndef AG_HTTP_SERVER_INTERNAL_H
#define AG_HTTP_SERVER_INTERNAL_H

#include <llhttp.h>
#include <uv.h>

#include "core/buf.h"
#include "http/errfmt.h"
#include "http/server.h"

#define MAX_LISTENERS 4
/* Input held while a request is in flight (pipelined requests, stray bytes) before we stop reading.
 */
#define MAX_PENDING_INPUT (1024u * 1024)

enum req_state {
    REQ_PARSING = 0, /* headers/body arriving */
    REQ_HANDLING,    /* handler owns it, nothing sent */
    REQ_STREAMING,   /* streamed response begun */
    REQ_DONE,        /* response complete */
};

enum conn_phase {
    PH_IDLE,    /* waiting for a request's first byte */
    PH_HEADERS, /* inside request line/headers */
    PH_BODY,    /* inside the body */
    PH_BUSY,    /* a handler has the request */
    PH_DISCARD, /* a refused request's (small) body is being read and dropped */
};

struct ag_http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct ag_http_server *srv;
    struct ag_http_conn *prev, *next;
    llhttp_t parser;
    struct ag_buf in;    /* unparsed input while paused */
    struct ag_buf field; /* header name being assembled */
    struct ag_buf value; /* header value being assembled */
    struct ag_buf url;
    struct ag_http_req *req;
    struct ag_ws *ws; /* after a WebSocket upgrade: frames, not HTTP (http/ws.h) */
    enum conn_phase phase;
    size_t header_bytes;
    size_t hcap;    /* capacity of req->headers */
    int err_status; /* a limit hit inside a parser callback */
    const char *err_msg;
    int handles;         /* open uv handles (tcp, timer) */
    unsigned read_chunk; /* bytes offered to the next read, READ_CHUNK_MIN..MAX */
    bool closing;
    bool keep_alive;
    bool paused; /* parser paused on a message boundary */
    bool reading;
    bool in_process;        /* inside ag_http_conn_process (no re-entry) */
    bool close_after_write; /* close once the write queue drains */
    bool congested;         /* high water passed; on_drain owed */
    bool in_close_cb;       /* on_handle_closed is running: it frees the connection itself */
    bool upgrade;           /* the request asked for a protocol upgrade (WebSocket) */
    bool admit_pending;     /* headers complete: admission runs before any body byte is read */
    bool discard;           /* the current message was answered at admission: drop its body */
    bool run_empty;         /* run the parser once more even without input (after admission) */
    bool read_in_place;     /* the read buffer handed to libuv is the body's tail */
    bool linger;            /* close by lingering: shut down writing, drop input for a while */
    bool lingering;         /* the lingering close has begun */
    uint64_t deadline_us;   /* when the current phase times out (PH_BUSY has none) */
    uint64_t body_start_us; /* admission time: the body's minimum rate counts from here */
    uint64_t body_bytes;    /* body bytes received for the current request */
    size_t lingered;        /* bytes dropped while lingering */
    uv_shutdown_t shutdown;
    char peer[48];
};

struct ag_http_server {
    uv_loop_t *loop;
    struct ag_router *router;
    struct ag_http_limits lim;
    uv_tcp_t listeners[MAX_LISTENERS];
    int nlisten;
    int nlisten_open;
    int port;
    struct ag_http_conn *conns;
    size_t nconns;
    size_t nactive;
    uint64_t next_id;
    char id_prefix[9];
    ag_http_log_cb log_cb;
    void *log_ud;
    const struct ag_auth_policy *auth;
    const struct ag_cors *cors;
    const struct ag_host_policy *hosts;
    struct ag_auth_limiter *limiter;
    ag_http_admin_cb admin_check;
    void *admin_ud;
    size_t body_inflight; /* request-body bytes reserved by requests not yet freed */
    uint64_t body_copied; /* request-body bytes copied from c->in (the rest were read in place) */
    uint64_t refused_conns;
    uint64_t last_refusal_log_us;
    ag_http_gate_cb gate;
    void *gate_ud;
    const struct ag_ip_rules *ip_rules; /* NULL: every address */
    struct ag_ip_refusals *ip_refusals; /* may be NULL */
    bool shutting_down;
    uv_timer_t grace;
    bool grace_open;
    void (*done)(void *);
    void *done_ud;
};

struct write_req {
    uv_write_t w;
    struct ag_http_conn *conn;
    size_t len;
    char data[];
};

/* Accepts a connection from listener ls (conn.c) and starts reading it. */
void ag_http_conn_accept(struct ag_http_server *s, uv_stream_t *ls);

/* Calls the shutdown's done callback once nothing is left open (server.c). */
void ag_http_server_maybe_done(struct ag_http_server *s);

/* Sets up the llhttp callbacks once (parse.c); before any connection's parser is used. */
void ag_http_parse_setup(void);

/* Initialises c's request parser (parse.c). */
void ag_http_conn_parser_init(struct ag_http_conn *c);

/* Runs when a request's headers are complete and before any of its body is read: routing, the
 * browser rules, auth, the gate and the body budget (admission.c). Returns true when the body may
 * be read; otherwise the request has been answered. */
bool ag_http_conn_admit(struct ag_http_conn *c);

/* Reserves n body bytes of c's request against the server's in-flight budget; false when it is
 * spent (admission.c). */
bool ag_http_conn_reserve_body(struct ag_http_conn *c, size_t n);

/* Sets c's deadline ms milliseconds from now (conn.c). */
void ag_http_conn_set_deadline(struct ag_http_conn *c, uint64_t ms);

/* A limit was hit while parsing: answers with status in the path's error format and closes by
 * lingering (conn.c). */
void ag_http_conn_fail(struct ag_http_conn *c, int status, const char *kind, const char *msg);

/* server.c: true when the peer of a just-accepted socket passes the address rules (else it is
 * counted as refused, and the caller resets the connection). */
bool ag_http_server_admit_peer(struct ag_http_server *s, uv_tcp_t *t);

/* A new request on c (counted in flight; c->req is not set). */
struct ag_http_req *ag_http_req_new(struct ag_http_conn *c);

/* Where the next read may land in place (parse.c): when c is inside an admitted Content-Length
 * body with nothing buffered before it, sets *at to the end of the request's body buffer (sized
 * for the whole body, allocated here if no byte of it came yet) and *n to the bytes of the body
 * still to come, and returns true. Otherwise false: the read goes to c->in. */
bool ag_http_conn_body_room(struct ag_http_conn *c, char **at, size_t *n);

/* n bytes were read in place at the spot ag_http_conn_body_room gave (parse.c): the parser sees
 * them there (on_body counts them into the body without a copy), and what is complete runs as
 * in ag_http_conn_process. */
void ag_http_conn_feed_body(struct ag_http_conn *c, const char *at, size_t n);

/* Feeds c's buffered input to the parser (or to its WebSocket) and runs what is complete. */
void ag_http_conn_process(struct ag_http_conn *c);

/* (Re)arms c's timer for c->deadline_us (stopped while a handler has the request). */
void ag_http_conn_arm_timer(struct ag_http_conn *c);

/* Writes bytes to the client (copied when they do not go out at once); 0 or AG_ECLOSED. */
int ag_http_conn_write(struct ag_http_conn *c, const char *data, size_t len);

/* True while the connection may carry another request after this one. */
bool ag_http_conn_keeps_alive(struct ag_http_conn *c);

/* Closes a connection asynchronously (on_abort runs from its close callback). */
void ag_http_conn_close(struct ag_http_conn *c);

/* Ends a connection whose last response is written: a lingering close when input may still be
 * arriving (a refused request's body), else ag_http_conn_close. */
void ag_http_conn_end(struct ag_http_conn *c);

/* The response is complete (or abandoned): log, free, and let the connection move on. */
void ag_http_req_complete(struct ag_http_req *req);

/* Answers with an error body in the given protocol format (plain when NULL). */
void ag_http_respond_error(struct ag_http_req *req, const struct ag_errfmt *fmt, int status,
                           const char *kind, const char *msg);

#endif
