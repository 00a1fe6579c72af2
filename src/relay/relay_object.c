/* relay/relay_object.c: the relay object (created once per gateway, shared by every request: its
 * configuration, stores, upstream and client operations) and the checked transitions of a call's
 * state machine (the diagram is in call.h). One request's life is in relay.c. */
#include "relay/relay.h"

#include "relay/call.h"
#include "relay/relay_internal.h"
#include "relay/response_store.h"
#include "relay/thinking_store.h"

#include "config/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/time.h"
#include "http/server.h"
#include "store/thinking.h"
#include "store/writer.h"
#include "upstream/cloudcode.h"

#include <assert.h>
#include <stdlib.h>

#define DEFAULT_KEEPALIVE 15000

/* ---------------------------------------------------------------- states */

static const char *const state_names[] = {
    [CALL_DECODE] = "decode",       [CALL_ACQUIRE] = "acquire", [CALL_UPSTREAM] = "upstream",
    [CALL_STREAMING] = "streaming", [CALL_DONE] = "done",
};

/* allowed[from] has bit (1 << to) for each transition of the diagram in call.h */
static const unsigned allowed[] = {
    [CALL_DECODE] = 1u << CALL_ACQUIRE | 1u << CALL_DONE,
    [CALL_ACQUIRE] = 1u << CALL_ACQUIRE | 1u << CALL_UPSTREAM | 1u << CALL_DONE,
    [CALL_UPSTREAM] = 1u << CALL_ACQUIRE | 1u << CALL_STREAMING | 1u << CALL_DONE,
    [CALL_STREAMING] = 1u << CALL_DONE,
    [CALL_DONE] = 0,
};

void call_set_state(struct call *c, enum call_state s)
{
    if (!(allowed[c->state] & (1u << s))) {
        ag_log_error("relay: invalid transition %s -> %s", state_names[c->state], state_names[s]);
        assert(!"invalid relay state transition");
    }
    c->state = s;
}

/* ---------------------------------------------------------------- the relay object */

const struct ag_relay_upstream ag_relay_upstream_cloudcode = {
    .start = ag_cloudcode_call_start,
    .cancel = ag_cloudcode_call_cancel,
    .pause = ag_cloudcode_call_pause,
    .resume = ag_cloudcode_call_resume,
    .header = ag_cloudcode_call_header,
};

const struct ag_relay_client ag_relay_client_http = {
    .add_header = ag_http_add_header,
    .respond_json = ag_http_respond_json,
    .stream_begin = ag_http_stream_begin,
    .stream_write = ag_http_stream_write,
    .stream_end = ag_http_stream_end,
    .stream_congested = ag_http_stream_congested,
    .hold = ag_http_req_hold,
    .release = ag_http_req_release,
};

static uint64_t keepalive_ms(const struct ag_config *cfg)
{
    return cfg->server.stream_keepalive_s > 0 ? (uint64_t)cfg->server.stream_keepalive_s * 1000
                                              : DEFAULT_KEEPALIVE;
}

struct ag_relay *ag_relay_new(const struct ag_relay_deps *d)
{
    struct ag_relay *r = AG_NEW(struct ag_relay);
    r->loop = d->loop;
    r->cfg = ag_config_ref(d->cfg);
    r->client = d->client;
    r->pool = d->pool;
    r->mapping = d->mapping;
    r->on_record = d->on_record;
    r->keys = d->keys;
    r->responses = ag_response_store_new(0, 0, 0);
    r->thinking = ag_thinking_store_new();
    r->record_ud = d->record_ud;
    r->writer = d->writer;
    r->keepalive_ms = keepalive_ms(d->cfg);
    r->upstream = &ag_relay_upstream_cloudcode;
    r->conn = &ag_relay_client_http;
    return r;
}

void ag_relay_set_config(struct ag_relay *r, struct ag_config *cfg)
{
    struct ag_config *old = r->cfg;
    r->cfg = ag_config_ref(cfg);
    r->keepalive_ms = keepalive_ms(cfg);
    ag_config_unref(old);
}

size_t ag_relay_thinking_clear(struct ag_relay *r)
{
    if (r->writer)
        ag_writer_thinking_clear(r->writer);
    return ag_thinking_store_clear(r->thinking);
}

static void thinking_load_row(const struct ag_thinking_row *row, void *ud)
{
    struct ag_relay *r = ud;
    ag_thinking_store_put(r->thinking, row->conv, row->tool_id, row->text, row->sig,
                          row->stored_ms);
}

int64_t ag_relay_thinking_load(struct ag_relay *r, struct ag_store *store)
{
    return ag_store_thinking_load(store, ag_wall_ms(), AG_THINKING_STORE_TTL_MS, thinking_load_row,
                                  r);
}

size_t ag_relay_active(const struct ag_relay *r)
{
    return r->active;
}

void ag_relay_free(struct ag_relay *r)
{
    if (!r)
        return;
    ag_config_unref(r->cfg);
    ag_response_store_free(r->responses);
    ag_thinking_store_free(r->thinking);
    free(r);
}
