/* tests/fuzz/fuzz_decode.c: libFuzzer harness for every client request decoder (OpenAI chat and
 * completions, Responses, Anthropic messages and count_tokens, Gemini generateContent /
 * streamGenerateContent / countTokens, OpenAI images generations and edits), followed, when the
 * decode succeeds, by what the relay does next: the adapter's own fitting (Anthropic target fit and
 * token estimate, images route defaults), the session fingerprint, and the Cloud Code upstream
 * encoder, so the encoders run on hostile canonical data too.
 *
 * Input: one selector byte, then the request body. (selector - 'A') % NV picks the variant below,
 * (selector - 'A') / NV % NT the routed upstream model; seeds use 'A' + variant.
 *
 * Invariants: a failed decode returns a negative code and an error with an HTTP status 400..599
 * whose rendering (encode_error) is JSON; a successful one yields a request whose upstream body,
 * when it encodes, is JSON. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "proto/adapter.h"
#include "proto/anthropic.h"
#include "proto/images.h"

#define S(lit)                                                                                     \
    {                                                                                              \
        (lit), sizeof(lit) - 1                                                                     \
    }

struct variant {
    const struct ag_client_proto *proto;
    struct ag_client_hints hints;
};

/* Drops every text's literal (canon.h), so the encoder escapes the texts itself. */
static void forget_literals(struct ag_request *req)
{
    for (size_t i = 0; i < req->n_system; i++)
        req->system[i]._literal = AG_STR_NULL;
    for (size_t i = 0; i < req->n_messages; i++) {
        for (size_t j = 0; j < req->messages[i].n_parts; j++) {
            struct ag_part *p = &req->messages[i].parts[j];
            p->_literal = AG_STR_NULL;
            for (size_t k = 0; k < p->n_parts; k++)
                p->parts[k]._literal = AG_STR_NULL;
        }
    }
}

static bool same_json(struct ag_str a, struct ag_str b)
{
    yyjson_doc *x = yyjson_read(a.p, a.len, 0), *y = yyjson_read(b.p, b.len, 0);
    bool same = x && y && yyjson_equals(yyjson_doc_get_root(x), yyjson_doc_get_root(y));
    yyjson_doc_free(x);
    yyjson_doc_free(y);
    return same;
}

static const struct variant variants[] = {
    {&ag_proto_openai_chat, {0}},
    {&ag_proto_openai_completions, {0}},
    {&ag_proto_openai_responses, {0}},
    {&ag_proto_anthropic, {0}},
    {&ag_proto_anthropic, {.count_tokens = true}},
    {&ag_proto_gemini, {.model = S("gemini-2.5-flash")}},
    {&ag_proto_gemini, {.model = S("gemini-2.5-pro"), .stream = true, .sse = true}},
    {&ag_proto_gemini, {.model = S("claude-sonnet-4-5"), .stream = true}},
    {&ag_proto_gemini, {.model = S("gemini-2.5-flash"), .count_tokens = true}},
    {&ag_proto_openai_images, {0}},
    {&ag_proto_openai_image_edits, {.content_type = S("application/json")}},
};
#define NV (sizeof(variants) / sizeof(variants[0]))

static const char *const targets[] = {"gemini-2.5-flash", "claude-sonnet-4-5-thinking",
                                      "gemini-3-pro-image"};
#define NT (sizeof(targets) / sizeof(targets[0]))

static void must_be_json(const char *what, const char *p, size_t len)
{
    yyjson_doc *d = yyjson_read(p, len, 0);
    if (!d) {
        fprintf(stderr, "fuzz_decode: %s is not JSON: %.*s\n", what, (int)(len > 2000 ? 2000 : len),
                p);
        abort();
    }
    yyjson_doc_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = (uint8_t)(data[0] - 'A');
    const struct variant *v = &variants[sel % NV];
    const char *target_model = targets[sel / NV % NT];
    struct ag_str body = ag_str_make((const char *)data + 1, size - 1);

    struct ag_arena arena;
    ag_arena_init(&arena, 8192, 64u << 20);
    struct ag_proto_ctx ctx = {
        .arena = &arena, .request_id = AG_STR("fuzz0001"), .now = 1700000000};
    struct ag_request *req = NULL;
    struct ag_proto_error err = {0};
    struct ag_buf out;
    ag_buf_init(&out, 0);

    int rc = v->proto->decode_request(&ctx, body, &v->hints, &req, &err);
    if (rc != 0) {
        if (rc > 0 || err.status < 400 || err.status > 599) {
            fprintf(stderr, "fuzz_decode: %s failed with %d and status %d\n", v->proto->name, rc,
                    err.status);
            abort();
        }
        if (v->proto->encode_error(&err, &out) == 0)
            must_be_json("the error body", out.data, out.len);
        goto out;
    }
    if (!req)
        abort();

    if (v->proto == &ag_proto_anthropic) {
        ag_anthropic_fit_target(req, ag_str_c(target_model));
        (void)ag_anthropic_estimate_tokens(req);
    }
    if (v->proto == &ag_proto_openai_images || v->proto == &ag_proto_openai_image_edits)
        ag_images_apply_route(req, NULL, NULL);
    (void)ag_request_fingerprint(&arena, req);

    struct ag_upstream_target target = {
        .model = ag_str_c(target_model),
        .project = AG_STR("fuzz-project"),
        .session_id = AG_STR("-1234567890"),
    };
    struct ag_upstream_call call = {0};
    if (ag_proto_cloudcode.encode_request(&ctx, req, &target, &call) == 0) {
        must_be_json("the upstream body", call.body.p, call.body.len);
        /* the texts copied as the client's literals say what they say escaped again */
        struct ag_upstream_call again = {0};
        forget_literals(req);
        if (ag_proto_cloudcode.encode_request(&ctx, req, &target, &again) != 0 ||
            !same_json(call.body, again.body)) {
            fprintf(stderr, "the upstream body differs with the client's literals\n");
            abort();
        }
    }
    if (v->proto == &ag_proto_anthropic) {
        /* the relay's retry after an upstream signature complaint */
        ag_anthropic_drop_signatures(req);
        ag_anthropic_fit_target(req, ag_str_c(target_model));
        if (ag_proto_cloudcode.encode_request(&ctx, req, &target, &call) == 0)
            must_be_json("the upstream body (signatures dropped)", call.body.p, call.body.len);
    }
out:
    ag_buf_dispose(&out);
    ag_arena_dispose(&arena);
    return 0;
}
