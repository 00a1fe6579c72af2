/* upstream/client_internal.h: what the client's two files share. client.c drives libcurl's multi
 * handle on the libuv loop and owns the client's lists (started requests, deferred operations);
 * transfer.c owns one transfer's life (setup, callbacks, timeouts, the end). Not for other files:
 * they use client.h. */
#ifndef AG_UPSTREAM_CLIENT_INTERNAL_H
#define AG_UPSTREAM_CLIENT_INTERNAL_H

#include "upstream/curl_api.h"

#include "upstream/client.h"

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
    size_t open_handles; /* libuv handles not yet closed (timer, polls, request timers) */
    int in_curl;         /* >0 while libcurl may call our callbacks */
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

/* Ends a request: detaches it, reports (unless canceled) and schedules its memory release. */
void ag_upstream_req_finish(struct ag_upstream_req *r, int err, enum ag_upstream_fail fail,
                            const char *msg);

/* libcurl says r's transfer is done with code: reports the outcome (ag_upstream_req_finish). */
void ag_upstream_req_transfer_done(struct ag_upstream_req *r, CURLcode code);

#endif
