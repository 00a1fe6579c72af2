/* relay/routes.c: the AI routes — which path speaks which client protocol — and the model lists.
 * Everything else a request needs happens in relay.c. */
#include "config/config.h"
#include "core/buf.h"
#include "core/jsonw.h"
#include "core/rand.h"
#include "core/time.h"
#include "http/router.h"
#include "http/server.h"
#include "http/ws.h"
#include "proto/json.h"
#include "relay/relay.h"
#include "pool/pool.h"
#include "pool/provider_health.h"
#include "proto/responses.h"
#include "relay/relay_internal.h"
#include "relay/response_store.h"
#include "relay/shared.h"
#include "route/model_list.h"

#include <string.h>

static void h_chat(struct ag_http_req *req, void *ud)
{
    struct ag_client_hints h = {0};
    ag_relay_start(ud, req, &ag_relay_openai_chat, &h);
}

static void h_completions(struct ag_http_req *req, void *ud)
{
    struct ag_client_hints h = {0};
    ag_relay_start(ud, req, &ag_relay_openai_completions, &h);
}

static void gemini_call(struct ag_relay *r, struct ag_http_req *req, struct ag_str model,
                        struct ag_str action)
{
    struct ag_client_hints h = {.model = model};
    if (ag_str_eq_c(action, "generateContent")) {
    } else if (ag_str_eq_c(action, "streamGenerateContent")) {
        struct ag_str alt = ag_http_req_query(req, "alt");
        h.stream = true;
        h.sse = alt.p && ag_str_eq_c(alt, "sse");
    } else if (ag_str_eq_c(action, "countTokens")) {
        h.count_tokens = true;
    } else {
        struct ag_buf b;
        ag_buf_init(&b, AG_BUF_CAP_SHORT);
        ag_errfmt_gemini.write(&b, 404, "not_found", "Unknown method on a model");
        ag_http_respond_json(req, 404, b.data, b.len);
        ag_buf_dispose(&b);
        return;
    }
    ag_relay_start(r, req, &ag_relay_gemini, &h);
}

static void h_gemini(struct ag_http_req *req, void *ud)
{
    struct ag_str model, action;
    ag_router_split_action(req->params[0], &model, &action);
    gemini_call(ud, req, model, action);
}

static void h_gemini_count(struct ag_http_req *req, void *ud)
{
    gemini_call(ud, req, req->params[0], AG_STR("countTokens"));
}

static void h_messages(struct ag_http_req *req, void *ud)
{
    struct ag_client_hints h = {0};
    ag_relay_start(ud, req, &ag_relay_anthropic, &h);
}

static void h_messages_count(struct ag_http_req *req, void *ud)
{
    struct ag_client_hints h = {.count_tokens = true};
    ag_relay_start(ud, req, &ag_relay_anthropic, &h);
}

static void h_responses(struct ag_http_req *req, void *ud)
{
    struct ag_client_hints h = {0};
    ag_relay_start(ud, req, &ag_relay_openai_responses, &h);
}

static void socket_error(struct ag_http_req *req, int status, const char *kind, const char *msg)
{
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_errfmt_openai.write(&b, status, kind, msg);
    ag_http_respond_json(req, status, b.data, b.len);
    ag_buf_dispose(&b);
}

/* response.create with generate: false prepares a turn without a model call: the gateway answers
 * (response.created, response.in_progress, response.completed with no output) and keeps the
 * conversation as any response, so the next turn can continue it by id. */
static void warm_up(struct ag_relay *r, struct ag_http_req *req)
{
    const struct ag_client_proto *cp = ag_relay_openai_responses.cp;
    struct ag_client_hints h = {.stream = true, .warmup = true};
    struct ag_proto_ctx ctx = {.arena = &req->arena,
                               .now = ag_wall_s(),
                               .max_body = (size_t)r->cfg->server.max_body_bytes,
                               .max_json_depth = (size_t)r->cfg->server.max_json_depth};
    struct ag_proto_error perr = {0};
    struct ag_request *creq = NULL;
    struct ag_relay_owner who;
    struct ag_buf out;
    char id[33];
    if (ag_random_hex(id, sizeof(id), 16)) {
        socket_error(req, 500, "server_error", "the gateway has no source of randomness");
        return;
    }
    ctx.request_id = ag_arena_str(&req->arena, ag_str_c(id));
    ag_relay_owner_of(&who, r->cfg, req);
    ag_buf_init(&out, AG_BUF_CAP_DOC);
    int rc = cp->decode_request(&ctx, ag_buf_str(&req->body), &h, &creq, &perr);
    if (!rc && ag_relay_openai_responses.prepare)
        rc = ag_relay_openai_responses.prepare(r, &ctx, &who, creq, &perr);
    if (rc) {
        cp->encode_error(&perr, &out);
        ag_http_respond_json(req, perr.status ? perr.status : 400, out.data, out.len);
        ag_buf_dispose(&out);
        return;
    }
    struct ag_client_stream *enc = cp->stream_new(&ctx, creq, &h);
    if (!enc || cp->stream_finish(enc, &out)) {
        socket_error(req, 413, "invalid_request_error", "request too large");
        ag_buf_dispose(&out);
        return;
    }
    ag_relay_openai_responses.on_finish(r, &ctx, &who, creq, NULL, enc);
    ag_http_stream_begin(req, 200, "text/event-stream");
    ag_http_stream_write(req, out.data, out.len);
    ag_http_stream_end(req);
    ag_buf_dispose(&out);
}

/* GET /v1/responses: the Responses API over a WebSocket (http/ws.h). Each text message is one
 * client event: response.create runs as POST /v1/responses with stream: true does (its events
 * come back one per message), or only warms up with generate: false; response.processed (an
 * acknowledgement) needs no answer. */
static void h_responses_socket(struct ag_http_req *req, void *ud)
{
    struct ag_relay *r = ud;
    if (!ag_http_req_is_websocket(req)) {
        ag_http_add_header(req, "Upgrade", AG_STR("websocket"));
        socket_error(req, 426, "invalid_request_error",
                     "GET on this path opens a WebSocket (Upgrade: websocket); send a single "
                     "request with POST");
        return;
    }
    int jerr = 0;
    yyjson_doc *doc = ag_json_read(&req->arena, ag_buf_str(&req->body),
                                   (size_t)r->cfg->server.max_json_depth, &jerr);
    yyjson_val *root = doc ? yyjson_doc_get_root(doc) : NULL;
    if (!yyjson_is_obj(root)) {
        socket_error(
            req, 400, "invalid_request_error",
            "Each message must be a JSON object such as {\"type\":\"response.create\",...}");
        return;
    }
    struct ag_str type = ag_json_get_str(root, "type");
    if (ag_str_eq_c(type, "response.processed")) {
        ag_http_respond(req, 204, NULL, NULL, 0);
        return;
    }
    if (!ag_str_eq_c(type, "response.create")) {
        char msg[160];
        snprintf(msg, sizeof(msg), "Unsupported message type '%.*s': send response.create",
                 (int)(type.len > 64 ? 64 : type.len), type.p ? type.p : "");
        socket_error(req, 400, "invalid_request_error", msg);
        return;
    }
    if (yyjson_is_false(yyjson_obj_get(root, "generate"))) {
        warm_up(r, req);
        return;
    }
    struct ag_client_hints h = {.stream = true};
    ag_relay_start(r, req, &ag_relay_openai_responses, &h);
}

static void h_images(struct ag_http_req *req, void *ud)
{
    struct ag_client_hints h = {0};
    ag_relay_start(ud, req, &ag_relay_openai_images, &h);
}

static void h_image_edits(struct ag_http_req *req, void *ud)
{
    struct ag_client_hints h = {.content_type = ag_http_req_header(req, "content-type")};
    ag_relay_start(ud, req, &ag_relay_openai_image_edits, &h);
}

static void response_missing(struct ag_http_req *req, struct ag_str id)
{
    struct ag_proto_error e;
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_responses_not_found(&e, &req->arena, id, false);
    ag_proto_openai_responses.encode_error(&e, &b);
    ag_http_respond_json(req, e.status ? e.status : 404, b.data, b.len);
    ag_buf_dispose(&b);
}

/* GET /v1/responses/{id}: fetched means the shared stores were asked already (or cannot be). */
static void response_get(struct ag_http_req *req, struct ag_relay *r, bool fetched);

static void response_get_again(struct ag_http_req *req, struct ag_relay *r)
{
    response_get(req, r, true);
}

static void response_get(struct ag_http_req *req, struct ag_relay *r, bool fetched)
{
    struct ag_str id = req->params[0];
    struct ag_relay_owner who;
    ag_relay_owner_of(&who, r->cfg, req);
    /* Another caller's response is answered exactly like an unknown id. */
    struct ag_str stored =
        ag_response_store_get(r->responses, id, ag_relay_owner_key(&who), ag_wall_ms());
    if (!stored.p) {
        if (!fetched && ag_relay_shared_lookup(r, req, id, response_get_again))
            return; /* another instance may have kept it */
        response_missing(req, id);
        return;
    }
    struct ag_str inc = ag_http_req_query(req, "include");
    bool enc = ag_str_contains(inc, "reasoning.encrypted_content");
    struct ag_buf b;
    ag_buf_init(&b, stored.len + AG_BUF_CAP_SHORT);
    if (ag_responses_stored_body(&req->arena, stored, enc, &b) == 0)
        ag_http_respond_json(req, 200, b.data, b.len);
    else
        response_missing(req, id);
    ag_buf_dispose(&b);
}

static void h_response_get(struct ag_http_req *req, void *ud)
{
    response_get(req, ud, false);
}

static void response_delete(struct ag_http_req *req, struct ag_relay *r, bool fetched);

static void response_delete_again(struct ag_http_req *req, struct ag_relay *r)
{
    response_delete(req, r, true);
}

static void response_delete(struct ag_http_req *req, struct ag_relay *r, bool fetched)
{
    struct ag_str id = req->params[0];
    struct ag_relay_owner who;
    ag_relay_owner_of(&who, r->cfg, req);
    const unsigned char *owner = ag_relay_owner_key(&who);
    if (!ag_response_store_delete(r->responses, id, owner, ag_wall_ms())) {
        /* kept by another instance: fetched first, so that its owner is checked here */
        if (!fetched && ag_relay_shared_lookup(r, req, id, response_delete_again))
            return;
        response_missing(req, id);
        return;
    }
    char *cid = ag_arena_strndup(&req->arena, id.p, id.len);
    if (cid)
        ag_relay_shared_response_delete(r, cid, owner);
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_responses_deleted_body(id, &b);
    ag_http_respond_json(req, 200, b.data, b.len);
    ag_buf_dispose(&b);
}

static void h_response_delete(struct ag_http_req *req, void *ud)
{
    response_delete(req, ud, false);
}

struct quota_ids {
    struct ag_arena *arena;
    struct ag_str *v;
    size_t n, cap;
};

static void add_quota_id(void *ud, const char *model, size_t len)
{
    struct quota_ids *q = ud;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 32;
        struct ag_str *v = ag_arena_alloc(q->arena, cap * sizeof(*v));
        if (!v)
            return;
        if (q->n)
            memcpy(v, q->v, q->n * sizeof(*v));
        q->v = v;
        q->cap = cap;
    }
    q->v[q->n++] = ag_arena_str(q->arena, ag_str_make(model, len));
}

/* Fills l (empty) with the models this gateway serves: the mapping table's names, every model
 * an account has quota for, API-key accounts' models and routing.rules names. */
static void served_models(struct ag_http_req *req, struct ag_relay *r, struct ag_model_list *l)
{
    struct quota_ids q = {.arena = &req->arena};
    if (r->pool)
        ag_pool_foreach_quota_model(r->pool, add_quota_id, &q);
    ag_model_list_build(l, r->mapping, q.v, q.n, r->cfg->mapping.only_quota_models);
    ag_pool_add_models(r->pool, l, &r->cfg->routing.rules);
}

/* The models this gateway serves in one protocol's list shape. */
static void respond_model_list(struct ag_http_req *req, struct ag_relay *r, bool gemini)
{
    struct ag_model_list l;
    struct ag_buf b;
    ag_model_list_init(&l);
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    served_models(req, r, &l);
    if (gemini)
        ag_model_list_write_gemini(&l, r->mapping, &b);
    else
        ag_model_list_write_openai(&l, ag_wall_s(), &b);
    ag_http_respond_json(req, 200, b.data, b.len);
    ag_buf_dispose(&b);
    ag_model_list_dispose(&l);
}

static void h_models_openai(struct ag_http_req *req, void *ud)
{
    respond_model_list(req, ud, false);
}

static void h_model_openai(struct ag_http_req *req, void *ud)
{
    struct ag_relay *r = ud;
    struct ag_route_result rr;
    struct ag_model_list l;
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_model_list_init(&l);
    served_models(req, r, &l);
    ptrdiff_t at = ag_model_list_find(&l, req->params[0]);
    if (at < 0 && ag_mapping_resolve(r->mapping, NULL, req->params[0], &rr)) {
        ag_errfmt_openai.write(&b, 404, "model_not_found", "The model does not exist");
        ag_http_respond_json(req, 404, b.data, b.len);
    } else {
        /* Its owner in the list, or Cloud Code's for a name only the mapping knows. */
        const char *owner = at < 0 ? AG_MODEL_LIST_DEFAULT_OWNER : l.owners[at];
        bool google = strcmp(owner, AG_MODEL_LIST_DEFAULT_OWNER) == 0;
        ag_buf_append_c(&b, "{\"id\":");
        ag_jsonw_quote(&b, req->params[0].p, req->params[0].len);
        ag_buf_printf(&b,
                      ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"%s\","
                      "\"provider\":\"%s\"}",
                      (long long)ag_wall_s(), google ? "aigate" : owner, owner);
        ag_http_respond_json(req, 200, b.data, b.len);
    }
    ag_model_list_dispose(&l);
    ag_buf_dispose(&b);
}

static void h_models_gemini(struct ag_http_req *req, void *ud)
{
    respond_model_list(req, ud, true);
}

static void h_model_gemini(struct ag_http_req *req, void *ud)
{
    struct ag_relay *r = ud;
    struct ag_model_list l;
    struct ag_buf b;
    struct ag_route_result rr;
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    ag_model_list_init(&l);
    if (ag_mapping_resolve(r->mapping, NULL, req->params[0], &rr)) {
        ag_errfmt_gemini.write(&b, 404, "not_found", "Model not found");
        ag_http_respond_json(req, 404, b.data, b.len);
    } else {
        /* One model in the list shape, then cut out its single element. */
        ag_model_list_add(&l, req->params[0]);
        ag_model_list_write_gemini(&l, r->mapping, &b);
        char *open = strchr(b.data, '[');
        char *close = strrchr(b.data, ']');
        if (open && close && close > open + 1)
            ag_http_respond_json(req, 200, open + 1, (size_t)(close - open - 1));
        else
            ag_http_respond_json(req, 200, b.data, b.len);
    }
    ag_model_list_dispose(&l);
    ag_buf_dispose(&b);
}

int ag_relay_add_routes(struct ag_relay *r, struct ag_router *router)
{
    const struct ag_route routes[] = {
        {"POST", "/v1/chat/completions", h_chat, r, AG_ACCESS_PROXY, &ag_errfmt_openai},
        {"POST", "/chat/completions", h_chat, r, AG_ACCESS_PROXY, &ag_errfmt_openai},
        {"POST", "/v1/completions", h_completions, r, AG_ACCESS_PROXY, &ag_errfmt_openai},
        {"POST", "/v1/responses", h_responses, r, AG_ACCESS_PROXY, &ag_errfmt_openai},
        {"POST", "/responses", h_responses, r, AG_ACCESS_PROXY, &ag_errfmt_openai},
        {"GET", "/v1/responses", h_responses_socket, r, AG_ACCESS_PROXY, &ag_errfmt_openai,
         .websocket = true},
        {"GET", "/responses", h_responses_socket, r, AG_ACCESS_PROXY, &ag_errfmt_openai,
         .websocket = true},
        {"POST", "/v1/images/generations", h_images, r, AG_ACCESS_PROXY, &ag_errfmt_openai},
        {"POST", "/v1/images/edits", h_image_edits, r, AG_ACCESS_PROXY, &ag_errfmt_openai, true},
        {"GET", "/v1/responses/:id", h_response_get, r, AG_ACCESS_PROXY, &ag_errfmt_openai},
        {"DELETE", "/v1/responses/:id", h_response_delete, r, AG_ACCESS_PROXY, &ag_errfmt_openai},
        {"POST", "/v1/messages", h_messages, r, AG_ACCESS_PROXY, &ag_errfmt_anthropic},
        {"POST", "/v1/messages/count_tokens", h_messages_count, r, AG_ACCESS_PROXY,
         &ag_errfmt_anthropic},
        {"GET", "/v1/models/claude", h_models_openai, r, AG_ACCESS_PROXY, &ag_errfmt_openai},
        {"GET", "/v1/models", h_models_openai, r, AG_ACCESS_PROXY, &ag_errfmt_openai},
        {"GET", "/v1/models/:model", h_model_openai, r, AG_ACCESS_PROXY, &ag_errfmt_openai},
        {"GET", "/v1beta/models", h_models_gemini, r, AG_ACCESS_PROXY, &ag_errfmt_gemini},
        {"GET", "/v1beta/models/:model", h_model_gemini, r, AG_ACCESS_PROXY, &ag_errfmt_gemini},
        {"POST", "/v1beta/models/:model", h_gemini, r, AG_ACCESS_PROXY, &ag_errfmt_gemini},
        {"POST", "/v1beta/models/:model/countTokens", h_gemini_count, r, AG_ACCESS_PROXY,
         &ag_errfmt_gemini},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = ag_router_add(router, &routes[i]);
        if (rc)
            return rc;
    }
    return 0;
}
