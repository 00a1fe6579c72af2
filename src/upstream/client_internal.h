/* upstream/client_internal.h: what the client's files share. client.c drives libcurl's multi
 * handle on the libuv loop and owns the client's lists (started requests, deferred operations);
 * transfer.c owns one transfer's life (setup, callbacks, timeouts, the end); h1.c is the native
 * HTTP/1.1 path that plain http:// requests without a proxy take instead of libcurl. Not for other
 * files: they use client.h. */
#ifndef AG_UPSTREAM_CLIENT_INTERNAL_H
#define AG_UPSTREAM_CLIENT_INTERNAL_H

#include <llhttp.h>

#include "upstream/client.h"
#include "upstream/curl_api.h"

struct ag_h1_conn;
struct ag_h1_gai;

#define H1_MAX_ADDRS 4 /* addresses kept per host */

/* Native HTTP/1.1: where requests go, one entry per host and port (h1_head.c makes them). */
struct ag_h1_host {
    struct ag_h1_host *next;
    char *name;      /* host name or address as in the URL (IPv6 without brackets) */
    char *authority; /* the Host header: host[:port] as in the URL */
    int port;
    bool numeric; /* an address: never resolved */
    struct sockaddr_storage addrs[H1_MAX_ADDRS];
    unsigned naddrs;
    uint64_t resolved_ms;
    struct ag_h1_conn *idle; /* most recently used first (doubly linked) */
    size_t nidle;
};

/* Idle connections curl keeps for reuse. Its default (4 x the transfers in the multi handle at
 * that moment) shrinks whenever transfers finish together, and then closes connections the next
 * burst has to open again (one new connect per ~10 requests at 50 concurrent). The cache starts
 * at MIN and follows twice the peak of concurrent transfers up to MAX. */
#define MAX_IDLE_CONNS_MIN 256L
#define MAX_IDLE_CONNS_MAX 4096L

/* Easy handles kept for the next transfers (curl_easy_reset keeps a handle's buffers, so a
 * transfer does not pay for a fresh handle and its allocations). */
#define SPARE_EASY 64

/* Operations deferred while libcurl is running our callbacks (ag_upstream_client_defer). */
enum { OP_START = 1, OP_PAUSE = 2, OP_RESUME = 4, OP_CANCEL = 8 };

struct ag_upstream_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    struct ag_upstream_client_opts opts;
    char *ca_file;
    struct ag_upstream_req *all;     /* started, not finished (doubly linked) */
    struct ag_upstream_req *pending; /* requests with deferred operations (singly linked) */
    size_t active;
    long max_idle;           /* CURLMOPT_MAXCONNECTS now */
    CURL *spare[SPARE_EASY]; /* reset easy handles ready for reuse */
    size_t nspare;
    size_t open_handles;         /* libuv handles not yet closed (timer, polls, request timers) */
    int in_curl;                 /* >0 while libcurl (or h1.c) may call our callbacks */
    struct ag_h1_host *h1_hosts; /* native HTTP/1.1: one entry per host and port (h1.c) */
    char *h1_rbuf;               /* native HTTP/1.1: the read buffer every connection shares */
    bool closing;
    void (*close_done)(void *ud);
    void *close_ud;
};

struct ag_upstream_req {
    struct ag_upstream_client *c;
    struct ag_upstream_req *prev, *next; /* c->all */
    struct ag_upstream_req *next_pending;
    CURL *easy;
    struct curl_slist *slist;
    char *url;
    uv_timer_t timer;
    struct ag_upstream_req_spec spec; /* callbacks, timeouts, borrowed body */
    struct ag_buf head;               /* response headers, "name\0value\0" pairs */
    size_t nheaders;
    struct ag_buf body; /* collected when spec.on_data is NULL */
    int status;
    int cb_err;                 /* error returned by a callback, or AG_ETOOBIG */
    enum ag_upstream_fail fail; /* set when we abort a transfer ourselves */
    unsigned ops;               /* deferred OP_* */
    uint64_t start_ms, last_rx_ms;
    uint64_t start_us, ttfb_us, bytes_in;
    bool added;       /* in the multi handle */
    bool in_pending;  /* on c->pending */
    bool got_head;    /* on_head was called */
    bool in_block;    /* inside a header block (after a status line) */
    bool paused;      /* the caller wants no data */
    bool curl_paused; /* libcurl holds the data */
    bool canceled;
    bool finished; /* on_done running or done */
    bool has_proxy;
    /* native HTTP/1.1 (h1.c) */
    bool native;             /* this request takes h1.c, not libcurl */
    bool h1_connecting;      /* no connection established yet (the connect timeout applies) */
    bool h1_complete;        /* the whole response has been parsed */
    bool h1_retried;         /* already retried once on a fresh connection */
    bool h1_fail_now;        /* fail with fail/cb_err/errbuf at the next timer turn */
    struct ag_h1_conn *h1;   /* the connection carrying it (NULL while resolving, after) */
    struct ag_h1_gai *gai;   /* host name resolution in flight */
    struct ag_h1_host *host; /* where it goes */
    char *h1_head;           /* the request head */
    size_t h1_head_len;
    struct ag_buf held; /* body bytes on_data refused while paused: delivered first */
    unsigned h1_addr;   /* index of the address being connected to */
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- client.c ---- */

/* One of the client's libuv handles has closed; the last one after ag_upstream_client_close frees
 * the client and calls its done callback. */
void ag_upstream_client_handle_closed(struct ag_upstream_client *c);

/* Links a started request into c's list and grows the connection cache with the busiest moment. */
void ag_upstream_client_link(struct ag_upstream_client *c, struct ag_upstream_req *r);

/* Takes r off c's lists (started, deferred) and out of the active count. */
void ag_upstream_client_unlink(struct ag_upstream_req *r);

/* Queues op (OP_*) on r, to run once libcurl has returned (ag_upstream_client_run_pending). */
void ag_upstream_client_defer(struct ag_upstream_req *r, unsigned op);

/* An easy handle for a new transfer: a spare one (reset) or a new one; NULL when out of memory. */
CURL *ag_upstream_client_get_easy(struct ag_upstream_client *c);

/* Takes back the easy handle of a transfer that left the multi handle: reset and kept as a spare,
 * or cleaned up when there are enough spares or the client is closing. */
void ag_upstream_client_put_easy(struct ag_upstream_client *c, CURL *e);

/* Runs deferred operations; called whenever libcurl has returned to us. */
void ag_upstream_client_run_pending(struct ag_upstream_client *c);

/* ---- transfer.c ---- */

/* Arms r's timer for its nearest deadline (or at once for a native request with an outcome). */
void ag_upstream_req_arm_timer(struct ag_upstream_req *r);

/* Ends a request: detaches it, reports (unless canceled) and schedules its memory release. */
void ag_upstream_req_finish(struct ag_upstream_req *r, int err, enum ag_upstream_fail fail,
                            const char *msg);

/* libcurl says r's transfer is done with code: reports the outcome (ag_upstream_req_finish). */
void ag_upstream_req_transfer_done(struct ag_upstream_req *r, CURLcode code);

/* ---- h1.c: the native HTTP/1.1 path ---- */

/* Prepares r for h1.c when spec can go through it: an http:// URL with a host name or address, an
 * optional port and no user name, no proxy, and the client not limited to libcurl. Makes the host
 * entry and the request head. 0; AG_EUNSUPPORTED when libcurl is to take the request; AG_EINVAL
 * for a header that cannot be sent (CR, LF or NUL in it). */
int ag_h1_prepare(struct ag_upstream_req *r, const struct ag_upstream_req_spec *spec,
                  const char *method);

/* Sends r: on an idle kept-alive connection to its host, or a new one (resolving the name first
 * unless known). Failures are reported through r's timer, never before this returns. */
void ag_h1_begin(struct ag_upstream_req *r);

/* r leaves its connection: kept for the next request when the whole response was read and the
 * connection may be reused, otherwise closed. Name resolution in flight is abandoned. */
void ag_h1_detach(struct ag_upstream_req *r);

/* The caller paused r: no more reading from its connection until ag_h1_resume. */
void ag_h1_pause(struct ag_upstream_req *r);

/* The caller resumed r (outside callbacks): held bytes are delivered, then reading goes on. */
void ag_h1_resume(struct ag_upstream_req *r);

/* The timer of a native request fired: true when h1.c ended the request (its outcome). */
bool ag_h1_on_timer(struct ag_upstream_req *r);

/* The client closes: every idle connection is closed and the host entries are freed. */
void ag_h1_client_close(struct ag_upstream_client *c);

#endif
