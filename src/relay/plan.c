/* relay/plan.c: a request routed by routing.rules (config/routing.h) or to the API-key accounts
 * that list its model, as the relay carries it (see call.h): which target each attempt asks the
 * pool for, when a failure moves the request to the next target, and how an attempt on an API-key
 * account is encoded and addressed.
 *
 * The plan is made once, after decoding: the first rule whose pattern matches the requested model
 * decides (ag_route_plan orders its targets by strategy, with a per-request seed and the targets'
 * requests in flight, and leaves out targets whose context length the request's estimated size
 * exceeds). Without a matching rule, a model that an enabled API-key account lists goes to those
 * accounts (one target, any API-key account listing it, every failure class moving on); any other
 * model keeps the Cloud Code mapping. An attempt's failure moves the request to the next target
 * when its class (ag_route_fallback_class) is in the rule's fallback_on; a target whose accounts
 * are all unavailable (none, disabled, cooling down) is passed over as well. A failure of another
 * class holds the request on its target: another account of the same target may retry it, but no
 * other target is tried.
 *
 * Passthrough: when the client speaks the provider's own protocol (OpenAI chat to openai /
 * openai-compatible, Anthropic Messages to anthropic, Gemini to gemini) the client's body goes
 * upstream with only the model replaced, and the answer's bytes go back as they arrive. The host
 * is always the account's admin-set base URL; a client's model name only ever lands in a path
 * after a character check. */
#include "relay/call.h"

#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "core/err.h"
#include "core/json_depth.h"
#include "core/log.h"
#include "core/str.h"
#include "http/server.h"
#include "proto/json.h"
#include "route/rules.h"
#include "upstream/provider.h"

/* A seed per request for the weighted order: the request id is 128 random bits in hex. */
static uint64_t request_seed(const struct call *c)
{
    uint64_t s = 0;
    struct ag_str id = c->ctx.request_id;
    for (size_t i = 0; i < id.len && i < 16; i++) {
        char ch = id.p[i];
        unsigned v = ch >= '0' && ch <= '9'   ? (unsigned)(ch - '0')
                     : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10)
                                              : 0;
        s = s << 4 | v;
    }
    return s;
}

bool plan_begin(struct call *c)
{
    struct ag_str model = c->creq->model;
    char name[AG_MODEL_ID_MAX];
    uint32_t busy[AG_ROUTING_MAX_TARGETS];
    if (!model.len || model.len >= sizeof(name))
        return false;
    memcpy(name, model.p, model.len);
    name[model.len] = '\0';
    c->rule = ag_route_rule_match(&c->cfg->routing.rules, model);
    if (!c->rule) {
        if (!ag_pool_provider_lists(c->relay->pool, name))
            return false;
        c->implicit_target =
            (struct ag_route_target){.provider = AG_POOL_ANY_PROVIDER, .weight = 1};
        c->implicit_rule = (struct ag_route_rule){.pattern = NULL,
                                                  .strategy = AG_ROUTE_PRIORITY,
                                                  .fallback_on = AG_FALLBACK_ALL,
                                                  .targets = &c->implicit_target,
                                                  .n = 1};
        c->rule = &c->implicit_rule;
    }
    for (size_t i = 0; i < c->rule->n && i < AG_ROUTING_MAX_TARGETS; i++)
        busy[i] =
            ag_pool_busy(c->relay->pool, c->rule->targets[i].provider, c->rule->targets[i].account);
    c->nplan = ag_route_plan(c->rule, ag_route_estimate_tokens(c->req->body.len), busy,
                             request_seed(c), c->plan, AG_ROUTING_MAX_TARGETS);
    c->step = 0;
    return c->nplan > 0;
}

const struct ag_route_target *plan_target(const struct call *c)
{
    return c->rule && c->step < c->nplan ? &c->rule->targets[c->plan[c->step]] : NULL;
}

/* A Cloud Code target ("google", or a Google account's label) is served by Cloud Code. */
static bool target_is_google(const struct ag_route_target *t)
{
    return t->provider && strcmp(t->provider, "google") == 0;
}

int plan_want(struct call *c, struct ag_pool_want *want)
{
    const struct ag_route_target *t = plan_target(c);
    struct ag_str model = t && t->model ? ag_str_c(t->model) : c->creq->model;
    if (!t)
        return AG_ENOTFOUND;
    if (target_is_google(t)) {
        if (ag_mapping_resolve(c->relay->mapping, ag_pool_forward(c->relay->pool), model,
                               &c->route))
            return AG_ENOTFOUND;
    } else {
        if (!model.len || model.len >= sizeof(c->route.model))
            return AG_EINVAL;
        memset(&c->route, 0, sizeof(c->route));
        memcpy(c->route.model, model.p, model.len);
        c->route.model[model.len] = '\0';
    }
    ag_strlcpy(c->pick->models[0], c->route.model, AG_MODEL_ID_MAX);
    c->pick->models_p[0] = c->pick->models[0];
    c->pick->nmodels = 1;
    want->group = c->route.quota_group;
    want->model = c->route.model;
    want->models = c->pick->models_p;
    want->nmodels = 1;
    want->provider = t->provider;
    want->label = t->account;
    return 0;
}

/* The attempts a routed request may make: every target once at least, within the call's cap. */
static int routed_max(const struct call *c)
{
    int64_t n = c->cfg->scheduling.max_attempts;
    if (n < (int64_t)c->nplan)
        n = (int64_t)c->nplan;
    return n > CALL_MAX_ATTEMPTS ? CALL_MAX_ATTEMPTS : (int)n;
}

bool plan_fallback(struct call *c, const struct ag_errclass *ec)
{
    unsigned cls = ag_route_fallback_class(ec->kind, ec->status, ag_buf_str(&c->errbody));
    if (!ag_route_falls_back(c->rule, cls)) {
        c->hold_target = true; /* not a class that moves on: this target answers */
        return false;
    }
    if (c->step + 1 >= c->nplan || c->attempts >= routed_max(c))
        return false;
    c->step++;
    ag_log_info("relay %s: moving to target %zu of %zu after %s (%d)", c->req->id, c->step + 1,
                c->nplan, ag_errclass_kind_name(ec->kind), ec->status);
    return true;
}

bool plan_unavailable(struct call *c)
{
    if (c->hold_target || c->step + 1 >= c->nplan || c->attempts >= routed_max(c))
        return false;
    c->step++;
    return true;
}

_Static_assert(AG_RELAY_ACCOUNT_ID_SIZE == AG_ACCOUNT_ID_SIZE, "the relay keeps account ids whole");

/* True when the account refused stream_options before (remembered by the relay). */
static bool refuses_usage(const struct ag_relay *r, const char *account_id)
{
    for (size_t i = 0; i < AG_RELAY_USAGE_REFUSERS; i++)
        if (r->usage_refusers[i][0] && strcmp(r->usage_refusers[i], account_id) == 0)
            return true;
    return false;
}

bool plan_usage_refused(struct call *c, const struct ag_errclass *ec)
{
    /* some OpenAI-compatible APIs reject stream_options (an unknown or forbidden field) */
    if (!c->pass_hides_usage || c->usage_refused || (ec->status != 400 && ec->status != 422) ||
        ag_str_search(ag_buf_str(&c->errbody), ag_str_c("stream_options")) < 0)
        return false;
    c->usage_refused = true;
    /* the account's next streams are not asked again (the lease is gone: the attempt's id) */
    struct ag_relay *r = c->relay;
    const char *id = c->attempts >= 1 && c->attempts <= CALL_MAX_ATTEMPTS
                         ? c->pick->exclude[c->attempts - 1]
                         : "";
    if (id[0] && !refuses_usage(r, id)) {
        ag_strlcpy(r->usage_refusers[r->usage_refusers_next], id, sizeof(r->usage_refusers[0]));
        r->usage_refusers_next = (r->usage_refusers_next + 1) % AG_RELAY_USAGE_REFUSERS;
    }
    ag_log_info("relay %s: the account refused stream_options: asked again without", c->req->id);
    return true;
}

/* ---------------------------------------------------------------- API-key accounts */

/* The model as it may stand in a URL path: letters, digits and . _ - : @ only, no "..". */
static bool path_safe(const char *m)
{
    if (!*m || strstr(m, ".."))
        return false;
    for (const char *p = m; *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-' || ch == ':' || ch == '@'))
            return false;
    }
    return true;
}

/* True when the client's own body can go to the account as it is (model aside). */
static bool can_pass(const struct call *c, enum ag_provider kind)
{
    const struct ag_client_proto *same = ag_client_proto_find(ag_provider_info(kind)->client);
    if (!same || same != c->cp || c->rp->prepare)
        return false;
    if (c->creq->kind == AG_REQ_COUNT_TOKENS)
        return kind == AG_PROVIDER_ANTHROPIC || kind == AG_PROVIDER_GEMINI;
    if (c->creq->kind != AG_REQ_GENERATE)
        return false;
    /* Gemini streams without alt=sse as one JSON array: converted, so usage is read. */
    return !(kind == AG_PROVIDER_GEMINI && c->creq->stream && !c->hints.sse);
}

/* stream_options.include_usage set to true in root, the object's other members kept. */
static int ask_usage(yyjson_mut_doc *d, yyjson_mut_val *root)
{
    yyjson_mut_val *so = yyjson_mut_obj_get(root, "stream_options");
    if (!yyjson_mut_is_obj(so)) {
        so = yyjson_mut_obj(d);
        yyjson_mut_val *k = yyjson_mut_strn(d, "stream_options", 14);
        if (!so || !k || !yyjson_mut_obj_put(root, k, so))
            return AG_ETOOBIG;
    }
    yyjson_mut_val *k = yyjson_mut_strn(d, "include_usage", 13);
    yyjson_mut_val *v = yyjson_mut_true(d);
    return k && v && yyjson_mut_obj_put(so, k, v) ? 0 : AG_ETOOBIG;
}

/* The client's body with its "model" replaced (OpenAI, Anthropic): every other field as sent; a
 * Chat Completions stream also asks for its usage. */
static int pass_body(struct call *c, struct ag_str model, struct ag_str *out)
{
    yyjson_alc alc;
    struct ag_buf *body = &c->req->body;
    ag_json_arena_alc(&alc, ag_proto_scratch(&c->ctx));
    yyjson_doc *doc =
        ag_json_depth_read(body->data, body->len, c->ctx.max_json_depth, &alc, NULL, NULL);
    if (!doc || !yyjson_is_obj(yyjson_doc_get_root(doc)))
        return AG_EINVAL;
    yyjson_mut_doc *d = yyjson_doc_mut_copy(doc, &alc);
    yyjson_mut_val *root = d ? yyjson_mut_doc_get_root(d) : NULL;
    if (!root)
        return AG_ETOOBIG;
    yyjson_mut_val *key = yyjson_mut_strn(d, "model", 5);
    yyjson_mut_val *val = yyjson_mut_strncpy(d, model.p, model.len);
    if (!key || !val || !yyjson_mut_obj_put(root, key, val))
        return AG_ETOOBIG;
    if (c->lease->kind != AG_PROVIDER_ANTHROPIC && c->creq->stream && !c->creq->include_usage &&
        !c->usage_refused && !refuses_usage(c->relay, c->lease->account_id)) {
        /* Chat Completions streams report usage only when asked: asked for the record, and the
         * usage chunk is kept from the client (stream.c), which did not ask */
        int rc = ask_usage(d, root);
        if (rc)
            return rc;
        c->pass_hides_usage = true;
    }
    *out = ag_json_mut_text(c->ctx.arena, root);
    return out->p ? 0 : AG_ETOOBIG;
}

int plan_encode(struct call *c, const struct ag_upstream_target *t)
{
    enum ag_provider kind = c->lease->kind;
    struct ag_arena *a = c->ctx.arena;
    c->passthrough = false;
    c->pass_hides_usage = false;
    if (kind == AG_PROVIDER_GEMINI && !path_safe(c->served_model))
        return AG_EINVAL; /* the model goes into the URL's path */
    if (!can_pass(c, kind))
        return c->up->encode_request(&c->ctx, c->creq, t, &c->ucall);
    memset(&c->ucall, 0, sizeof(c->ucall));
    bool count = c->creq->kind == AG_REQ_COUNT_TOKENS;
    if (kind == AG_PROVIDER_GEMINI) {
        const char *method = count             ? "countTokens"
                             : c->creq->stream ? "streamGenerateContent"
                                               : "generateContent";
        bool sse = c->creq->stream && !count;
        c->ucall.body = ag_buf_str(&c->req->body);
        c->ucall.path = ag_arena_printf(a, "/v1beta/models/%s:%s%s", c->served_model, method,
                                        sse ? "?alt=sse" : "");
        if (!c->ucall.path)
            return AG_ETOOBIG;
        c->ucall.stream = sse;
    } else {
        int rc = pass_body(c, t->model, &c->ucall.body);
        if (rc)
            return rc;
        c->ucall.path = kind == AG_PROVIDER_ANTHROPIC
                            ? (count ? "/v1/messages/count_tokens" : "/v1/messages")
                            : "/chat/completions";
        c->ucall.stream = c->creq->stream && !count;
    }
    c->ucall.method = c->ucall.path;
    c->passthrough = true;
    return 0;
}

/* With telemetry.propagate_upstream (and traces exported), an API-key account's upstream is told
 * the attempt's span as its parent: traceparent, and the client's tracestate as it came. Cloud
 * Code never is (plan_spec serves only API-key accounts): the official client sends no trace
 * headers there. 0 or AG_ETOOBIG (arena cap). */
static int plan_traceparent(struct call *c, struct ag_cloudcode_call_spec *spec)
{
    const struct ag_attempt *a = c->alog.n ? ag_attempt_log_at(&c->alog, c->alog.n - 1) : NULL;
    if (!a || !c->cfg->telemetry.propagate_upstream || !c->cfg->telemetry.otlp_endpoint[0])
        return 0;
    const char **h = ag_arena_alloc(c->ctx.arena, (spec->nextra + 2) * sizeof(*h));
    char tp[AG_TRACEPARENT_SIZE];
    if (!h)
        return AG_ETOOBIG;
    memcpy(h, spec->extra_headers, spec->nextra * sizeof(*h));
    ag_trace_format(tp, c->trace.trace_id, a->span_id, c->trace.flags);
    size_t n = spec->nextra;
    h[n++] = ag_arena_printf(c->ctx.arena, "traceparent: %s", tp);
    if (c->trace.tracestate[0])
        h[n++] = ag_arena_printf(c->ctx.arena, "tracestate: %s", c->trace.tracestate);
    for (size_t i = spec->nextra; i < n; i++) {
        if (!h[i])
            return AG_ETOOBIG;
    }
    spec->extra_headers = h;
    spec->nextra = n;
    return 0;
}

int plan_spec(struct call *c, struct ag_cloudcode_call_spec *spec)
{
    struct ag_provider_call *pc = ag_arena_alloc(c->ctx.arena, sizeof(*pc));
    if (!pc)
        return AG_ETOOBIG;
    int rc = ag_provider_call_prepare(c->lease->kind, c->lease->base_url, c->lease->api_key,
                                      c->ucall.path, pc);
    if (rc)
        return rc;
    spec->url = pc->url;
    spec->extra_headers = pc->headers;
    spec->nextra = pc->nheaders;
    spec->access_token = NULL;
    spec->project = NULL;
    return plan_traceparent(c, spec);
}

const char *plan_account_shown(const struct ag_lease *l)
{
    if (l->kind == AG_PROVIDER_GOOGLE)
        return "";
    return l->label[0] ? l->label : l->email; /* "<kind>:<host>:<hash>" names no secret */
}
