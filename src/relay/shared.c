/* relay/shared.c: the Responses and thinking stores shared through Redis (see shared.h).
 *
 * In Redis a kept response is "<owner hex or ->\n<json>" under rs:<id>, and a kept thinking turn
 * {"t":text,"s":signature,"ms":stored} under th:<conversation>:<first tool-call id>. What comes
 * back is put in the local store with its owner and original time, and the request then reads
 * the local store exactly as before: the owner checks stay where they are. A deleted response's
 * key holds "deleted\n" until its TTL, and a notice (rs.del: id, owner) drops the others' copies.
 */
#include "relay/shared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/buf.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/time.h"
#include "http/server.h"
#include "http/ws.h"
#include "proto/canon.h"
#include "proto/responses.h"
#include "relay/call.h"
#include "relay/relay_internal.h"
#include "relay/response_store.h"
#include "relay/thinking_store.h"
#include "route/mapping.h"
#include "state/state.h"
#include "state/stores.h"

#define ID_MAX 256

/* One read: a response or a thinking turn. */
struct read {
    struct ag_relay_fetch *f;
    struct ag_state_op *op;
    char id[ID_MAX]; /* response id, or tool-call id */
};

struct ag_relay_fetch {
    struct call *c;
    void (*resume)(struct call *c);
    struct ag_str conv; /* in the request's arena */
    size_t pending;
    size_t nreads;
    struct read reads[1 + AG_RELAY_SHARED_THINKING_READS];
};

static void on_deleted(void *ud, const char *instance, yyjson_val *body);

void ag_relay_set_state(struct ag_relay *r, struct ag_state *st)
{
    if (r->state && r->state != st)
        (void)ag_state_listen(r->state, "rs.del", NULL, NULL);
    r->state = st;
    if (st)
        (void)ag_state_listen(st, "rs.del", on_deleted, r);
}

/* "<owner hex>" (out filled, true) or "-" (unbound: true, *bound false); false for anything else.
 */
static bool owner_parse(const char *s, size_t len, unsigned char out[AG_SHA256_SIZE], bool *bound)
{
    *bound = false;
    if (len == 1 && s[0] == '-')
        return true;
    if (len != 2 * AG_SHA256_SIZE)
        return false;
    for (size_t i = 0; i < AG_SHA256_SIZE; i++) {
        int hi = ag_hex_value(s[2 * i]), lo = ag_hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    *bound = true;
    return true;
}

/* A response as Redis holds it ("<owner>\n<json>"), into the local store; a deleted one's mark
 * (or anything else) is a miss. */
static void response_from_redis(struct ag_relay *r, const char *id, const char *data, size_t len)
{
    const char *nl = data ? memchr(data, '\n', len) : NULL;
    unsigned char owner[AG_SHA256_SIZE] = {0};
    bool bound;
    if (!nl || !owner_parse(data, (size_t)(nl - data), owner, &bound))
        return;
    struct ag_str json = ag_str_make(nl + 1, len - (size_t)(nl - data) - 1);
    if (ag_response_store_put(r->responses, ag_str_c(id), bound ? owner : NULL, json,
                              ag_wall_ms()) == 0)
        ag_log_debug("responses: %s came from another instance", id);
}

static void read_done(struct ag_relay_fetch *f)
{
    if (--f->pending > 0)
        return;
    struct call *c = f->c;
    void (*resume)(struct call *) = f->resume;
    c->fetch = NULL;
    free(f);
    resume(c);
}

static void on_response(void *ud, const char *data, size_t len)
{
    struct read *rd = ud;
    rd->op = NULL;
    response_from_redis(rd->f->c->relay, rd->id, data, len);
    read_done(rd->f);
}

static void on_thinking(void *ud, const char *data, size_t len)
{
    struct read *rd = ud;
    struct ag_relay *r = rd->f->c->relay;
    rd->op = NULL;
    yyjson_doc *d = data ? yyjson_read(data, len, 0) : NULL;
    yyjson_val *o = yyjson_doc_get_root(d);
    yyjson_val *t = yyjson_obj_get(o, "t"), *s = yyjson_obj_get(o, "s");
    int64_t ms = yyjson_get_sint(yyjson_obj_get(o, "ms"));
    if (yyjson_is_str(t) && yyjson_is_str(s) && ms > 0) {
        ag_thinking_store_put(r->thinking, rd->f->conv, ag_str_c(rd->id),
                              ag_str_make(yyjson_get_str(t), yyjson_get_len(t)),
                              ag_str_make(yyjson_get_str(s), yyjson_get_len(s)), ms);
        ag_log_debug("relay: kept thinking of %s came from another instance", rd->id);
    }
    yyjson_doc_free(d);
    read_done(rd->f);
}

static struct read *next_read(struct ag_relay_fetch **fp, struct call *c, struct ag_str id)
{
    if (!*fp) {
        *fp = AG_NEW(struct ag_relay_fetch);
        (*fp)->c = c;
    }
    struct ag_relay_fetch *f = *fp;
    if (f->nreads >= sizeof(f->reads) / sizeof(f->reads[0]) || id.len >= ID_MAX)
        return NULL;
    struct read *rd = &f->reads[f->nreads];
    rd->f = f;
    memcpy(rd->id, id.p, id.len);
    rd->id[id.len] = '\0';
    return rd;
}

/* The previous response the request continues, when this instance does not have it. */
static void want_response(struct call *c, struct ag_relay_fetch **fp)
{
    struct ag_relay *r = c->relay;
    if (c->rp != &ag_relay_openai_responses)
        return;
    const struct ag_responses_meta *meta = ag_responses_meta_of(c->creq);
    struct ag_str id = meta->previous_response_id;
    if (!id.len || ag_http_memo_get(c->owner.memo, id).p ||
        ag_response_store_get(r->responses, id, ag_relay_owner_key(&c->owner), ag_wall_ms()).p)
        return;
    struct read *rd = next_read(fp, c, id);
    if (!rd)
        return;
    rd->op = ag_state_get(r->state, "rs", rd->id, NULL, AG_RELAY_SHARED_WAIT_MS, on_response, rd);
    if (rd->op)
        (*fp)->nreads++;
}

/* The thinking of the request's tool-call turns that this instance does not have (the latest
 * turns first: the last one is what a tool loop needs). */
static void want_thinking(struct call *c, struct ag_relay_fetch **fp)
{
    struct ag_relay *r = c->relay;
    struct ag_request *q = c->creq;
    if (q->kind != AG_REQ_GENERATE || ag_relay_session_key(c->req, &c->req->arena, q))
        return;
    /* kept thinking comes back only to a request mapped to a Claude model (call_decoded): no
     * read for the tool calls of the others */
    struct ag_route_result route;
    if (ag_mapping_resolve(r->mapping, NULL, q->model, &route) != 0 ||
        strcmp(ag_model_family(ag_str_c(route.model)), "claude") != 0)
        return;
    struct ag_str conv = ag_relay_thinking_conv(&c->req->arena, &c->owner, q->session_key);
    if (!conv.len)
        return;
    int64_t now = ag_wall_ms();
    size_t started = 0;
    for (size_t i = q->n_messages; i-- > 0 && started < AG_RELAY_SHARED_THINKING_READS;) {
        const struct ag_message *m = &q->messages[i];
        const struct ag_part *call = NULL;
        bool has_sig = false;
        for (size_t j = 0; j < m->n_parts; j++) {
            if (m->parts[j].type == AG_PART_TOOL_CALL && !call)
                call = &m->parts[j];
            if (m->parts[j].type == AG_PART_THINKING && m->parts[j].sig.value.len)
                has_sig = true;
        }
        struct ag_str text, sig;
        if (!call || has_sig || !call->id.len ||
            ag_thinking_store_get(r->thinking, conv, call->id, now, &text, &sig))
            continue;
        struct read *rd = next_read(fp, c, call->id);
        if (!rd)
            return;
        (*fp)->conv = conv;
        char cv[AG_STATE_STORE_KEY_MAX];
        if (conv.len >= sizeof(cv))
            return;
        memcpy(cv, conv.p, conv.len);
        cv[conv.len] = '\0';
        rd->op = ag_state_get(r->state, "th", cv, rd->id, AG_RELAY_SHARED_WAIT_MS, on_thinking, rd);
        if (rd->op)
            (*fp)->nreads++;
        started++;
    }
}

bool ag_relay_shared_fetch(struct call *c, void (*resume)(struct call *c))
{
    struct ag_relay_fetch *f = NULL;
    if (!c->relay->state || !ag_state_up(c->relay->state))
        return false;
    want_response(c, &f);
    want_thinking(c, &f);
    if (!f || !f->nreads) {
        free(f);
        return false;
    }
    f->resume = resume;
    f->pending = f->nreads;
    c->fetch = f;
    return true;
}

void ag_relay_shared_cancel(struct call *c)
{
    struct ag_relay_fetch *f = c->fetch;
    if (!f)
        return;
    for (size_t i = 0; i < f->nreads; i++)
        ag_state_op_cancel(f->reads[i].op);
    c->fetch = NULL;
    free(f);
}

void ag_relay_shared_response_put(struct ag_relay *r, const char *id, const unsigned char *owner,
                                  struct ag_str json)
{
    struct ag_buf b;
    char hex[2 * AG_SHA256_SIZE + 1] = "";
    if (!r->state || !ag_state_up(r->state) || json.len > AG_RELAY_SHARED_RESPONSE_BYTES)
        return;
    ag_buf_init(&b, AG_RELAY_SHARED_RESPONSE_BYTES + sizeof(hex) + 1);
    if (owner)
        ag_hex_encode(hex, owner, AG_SHA256_SIZE);
    if (ag_buf_append_c(&b, owner ? hex : "-") || ag_buf_append(&b, "\n", 1) ||
        ag_buf_append(&b, json.p, json.len))
        goto out;
    ag_state_put(r->state, "rs", id, NULL, b.data, b.len, AG_RELAY_SHARED_RESPONSE_TTL_MS,
                 AG_RELAY_SHARED_RESPONSES_MAX);
out:
    ag_buf_dispose(&b);
}

void ag_relay_shared_thinking_put(struct ag_relay *r, struct ag_str conv, struct ag_str tool_id,
                                  struct ag_str text, struct ag_str sig, int64_t now_ms)
{
    char cv[AG_STATE_STORE_KEY_MAX], tid[ID_MAX];
    if (!r->state || !ag_state_up(r->state) || conv.len >= sizeof(cv) || tool_id.len >= ID_MAX)
        return;
    memcpy(cv, conv.p, conv.len);
    cv[conv.len] = '\0';
    memcpy(tid, tool_id.p, tool_id.len);
    tid[tool_id.len] = '\0';
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_doc_set_root(d, o);
    yyjson_mut_obj_add_strncpy(d, o, "t", text.p, text.len);
    yyjson_mut_obj_add_strncpy(d, o, "s", sig.p, sig.len);
    yyjson_mut_obj_add_int(d, o, "ms", now_ms);
    size_t len = 0;
    char *json = yyjson_mut_write(d, 0, &len);
    yyjson_mut_doc_free(d);
    if (json)
        ag_state_put(r->state, "th", cv, tid, json, len, AG_THINKING_STORE_TTL_MS,
                     AG_THINKING_STORE_MAX);
    free(json);
}

/* ---- GET and DELETE /v1/responses/{id} ---- */

struct lookup {
    struct ag_relay *r;
    struct ag_http_req *req;
    struct ag_state_op *op;
    void (*resume)(struct ag_http_req *req, struct ag_relay *r);
    char id[ID_MAX];
};

static void lookup_abort(struct ag_http_req *req, void *ud)
{
    struct lookup *lk = ud;
    (void)req;
    ag_state_op_cancel(lk->op);
    free(lk);
}

static void lookup_done(void *ud, const char *data, size_t len)
{
    struct lookup *lk = ud;
    lk->req->on_abort = NULL;
    lk->req->cb_ud = NULL;
    response_from_redis(lk->r, lk->id, data, len);
    lk->resume(lk->req, lk->r);
    free(lk);
}

bool ag_relay_shared_lookup(struct ag_relay *r, struct ag_http_req *req, struct ag_str id,
                            void (*resume)(struct ag_http_req *req, struct ag_relay *r))
{
    if (!r->state || !ag_state_up(r->state) || !id.len || id.len >= ID_MAX ||
        memchr(id.p, '\0', id.len))
        return false;
    struct lookup *lk = AG_NEW(struct lookup);
    lk->r = r;
    lk->req = req;
    lk->resume = resume;
    memcpy(lk->id, id.p, id.len);
    lk->op = ag_state_get(r->state, "rs", lk->id, NULL, AG_RELAY_SHARED_WAIT_MS, lookup_done, lk);
    if (!lk->op) {
        free(lk);
        return false;
    }
    req->on_abort = lookup_abort;
    req->cb_ud = lk;
    return true;
}

void ag_relay_shared_response_delete(struct ag_relay *r, const char *id, const unsigned char *owner)
{
    char hex[2 * AG_SHA256_SIZE + 1] = "-";
    if (!r->state || !ag_state_up(r->state))
        return;
    if (owner)
        ag_hex_encode(hex, owner, AG_SHA256_SIZE);
    /* what another instance then reads is no response (response_from_redis) */
    ag_state_put(r->state, "rs", id, NULL, "deleted\n", 8, AG_RELAY_SHARED_RESPONSE_TTL_MS,
                 AG_RELAY_SHARED_RESPONSES_MAX);
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(d);
    yyjson_mut_doc_set_root(d, o);
    yyjson_mut_obj_add_strcpy(d, o, "id", id);
    yyjson_mut_obj_add_strcpy(d, o, "owner", hex);
    char *json = yyjson_mut_write(d, 0, NULL);
    yyjson_mut_doc_free(d);
    if (!json || !ag_state_notify(r->state, "rs.del", json))
        ag_log_warn("responses: the deletion of %s could not reach the other instances", id);
    free(json);
}

/* Another instance deleted a response: a copy this one fetched goes too (for the same caller). */
static void on_deleted(void *ud, const char *instance, yyjson_val *body)
{
    struct ag_relay *r = ud;
    yyjson_val *id = yyjson_obj_get(body, "id"), *ow = yyjson_obj_get(body, "owner");
    unsigned char owner[AG_SHA256_SIZE];
    bool bound;
    (void)instance;
    if (!yyjson_is_str(id) || !yyjson_is_str(ow) ||
        !owner_parse(yyjson_get_str(ow), yyjson_get_len(ow), owner, &bound))
        return;
    if (ag_response_store_delete(r->responses, ag_str_make(yyjson_get_str(id), yyjson_get_len(id)),
                                 bound ? owner : NULL, ag_wall_ms()))
        ag_log_debug("responses: %s deleted, as another instance did", yyjson_get_str(id));
}
