/* tests/fuzz/fuzz_multipart.c: libFuzzer harness for the multipart/form-data parser and the
 * OpenAI image edits decoder built on it (POST /v1/images/edits), followed by the Cloud Code
 * encoder when the decode succeeds.
 *
 * Input: the first byte chooses how much of the rest is the Content-Type header (byte % 96); the
 * remainder is the body. The parser must never read outside the body, and every part it returns
 * must lie inside it; the decoder either fails with a 4xx/5xx error or yields a request whose
 * upstream body is JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "proto/adapter.h"
#include "proto/images.h"
#include "proto/multipart.h"

static void parse_only(struct ag_str ct, struct ag_str body)
{
    struct ag_str boundary;
    if (ag_multipart_boundary(ct, &boundary))
        boundary = AG_STR("b");
    struct ag_arena arena;
    ag_arena_init(&arena, 4096, 1u << 22);
    struct ag_multipart *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    if (ag_multipart_parse(&arena, boundary, body, m) == 0) {
        for (size_t i = 0; i < m->n_parts; i++) {
            const struct ag_multipart_part *p = &m->parts[i];
            if (p->data.p < body.p || p->data.p + p->data.len > body.p + body.len || !p->name.len)
                abort();
        }
    }
    free(m);
    ag_arena_dispose(&arena);
}

static void decode_edits(struct ag_str ct, struct ag_str body)
{
    struct ag_arena arena;
    ag_arena_init(&arena, 8192, 64u << 20);
    struct ag_proto_ctx ctx = {
        .arena = &arena, .request_id = AG_STR("fuzz0001"), .now = 1700000000};
    struct ag_client_hints hints = {.content_type = ct};
    struct ag_request *req = NULL;
    struct ag_proto_error err = {0};
    int rc = ag_proto_openai_image_edits.decode_request(&ctx, body, &hints, &req, &err);
    if (rc != 0) {
        if (rc > 0 || err.status < 400 || err.status > 599)
            abort();
        goto out;
    }
    ag_images_apply_route(req, NULL, NULL);
    struct ag_upstream_target target = {
        .model = AG_STR("gemini-3-pro-image"),
        .project = AG_STR("fuzz-project"),
        .session_id = AG_STR("-1234567890"),
    };
    struct ag_upstream_call call;
    if (ag_proto_cloudcode.encode_request(&ctx, req, &target, &call) == 0) {
        yyjson_doc *d = yyjson_read(call.body.p, call.body.len, 0);
        if (!d) {
            fprintf(stderr, "fuzz_multipart: the upstream body is not JSON\n");
            abort();
        }
        yyjson_doc_free(d);
    }
out:
    ag_arena_dispose(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t ct_len = data[0] % 96;
    if (ct_len > size - 1)
        ct_len = size - 1;
    struct ag_str ct = ag_str_make((const char *)data + 1, ct_len);
    struct ag_str body = ag_str_make((const char *)data + 1 + ct_len, size - 1 - ct_len);
    parse_only(ct, body);
    decode_edits(ct, body);
    return 0;
}
