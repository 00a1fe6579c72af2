/* tests/unit/proto/test_multipart.c: the multipart/form-data parser (boundaries, parts, limits,
 * malformed bodies) and the images adapters' field handling that golden cases cannot show
 * (default models, route suffixes). */
#include "ag_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "proto/images.h"
#include "proto/multipart.h"

static struct ag_arena arena;

static int setup(void **state)
{
    (void)state;
    ag_arena_init(&arena, 4096, 1u << 20);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ag_arena_dispose(&arena);
    return 0;
}

static int parse(const char *boundary, const char *body, size_t len, struct ag_multipart *m)
{
    memset(m, 0, sizeof(*m));
    return ag_multipart_parse(&arena, ag_str_c(boundary), ag_str_make(body, len), m);
}

static void assert_str(struct ag_str s, const char *want)
{
    if (!ag_str_eq_c(s, want))
        fail_msg("got '%.*s', want '%s'", (int)s.len, s.p ? s.p : "", want);
}

static void test_boundary(void **state)
{
    struct ag_str b;
    (void)state;
    assert_int_equal(ag_multipart_boundary(AG_STR("multipart/form-data; boundary=abc"), &b), 0);
    assert_str(b, "abc");
    assert_int_equal(
        ag_multipart_boundary(AG_STR("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b:c\""), &b),
        0);
    assert_str(b, "a b:c");
    assert_int_equal(ag_multipart_boundary(AG_STR("application/json"), &b), AG_EINVAL);
    assert_int_equal(ag_multipart_boundary(AG_STR(""), &b), AG_EINVAL);
    assert_int_equal(ag_multipart_boundary(AG_STR("multipart/form-data"), &b), AG_EPARSE);
    assert_int_equal(ag_multipart_boundary(AG_STR("multipart/form-data; boundary="), &b),
                     AG_EPARSE);
    assert_int_equal(ag_multipart_boundary(AG_STR("multipart/form-data; boundary=\"open"), &b),
                     AG_EPARSE);
    char longb[128];
    snprintf(longb, sizeof(longb), "multipart/form-data; boundary=%071d", 0);
    assert_int_equal(ag_multipart_boundary(ag_str_c(longb), &b), AG_EPARSE);
}

static void test_fields_and_files(void **state)
{
    (void)state;
    static const char body[] =
        "preamble to ignore\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"prompt\"\r\n"
        "\r\n"
        "a hat\r\non two lines\r\n"
        "--XyZ\r\n"
        "content-disposition: form-data; name=\"image[]\"; filename=\"a \\\"q\\\".png\"\r\n"
        "Content-Type: image/png\r\n"
        "X-Other: skipped\r\n"
        "\r\n"
        "\x89PNG\r\n\x1a\n\0bin--XyZnot-a-delimiter\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=empty\r\n"
        "\r\n"
        "\r\n"
        "--XyZ--\r\n"
        "epilogue";
    struct ag_multipart m;
    assert_int_equal(parse("XyZ", body, sizeof(body) - 1, &m), 0);
    assert_int_equal(m.n_parts, 3);
    assert_str(m.parts[0].name, "prompt");
    assert_str(m.parts[0].data, "a hat\r\non two lines");
    assert_false(m.parts[0].is_file);
    assert_str(m.parts[1].name, "image[]");
    assert_str(m.parts[1].filename, "a \"q\".png");
    assert_str(m.parts[1].content_type, "image/png");
    assert_true(m.parts[1].is_file);
    assert_int_equal(m.parts[1].data.len, 32);
    assert_memory_equal(m.parts[1].data.p, "\x89PNG\r\n\x1a\n\0bin--XyZnot-a-delimiter", 32);
    assert_str(m.parts[2].name, "empty");
    assert_int_equal(m.parts[2].data.len, 0);
    assert_ptr_equal(ag_multipart_get(&m, "prompt"), &m.parts[0]);
    assert_null(ag_multipart_get(&m, "mask"));
}

static void test_bare_lf(void **state)
{
    (void)state;
    static const char body[] = "--b\n"
                               "Content-Disposition: form-data; name=\"n\"\n"
                               "\n"
                               "2\n"
                               "--b--";
    struct ag_multipart m;
    assert_int_equal(parse("b", body, sizeof(body) - 1, &m), 0);
    assert_int_equal(m.n_parts, 1);
    assert_str(m.parts[0].data, "2");
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",                                                                  /* nothing */
        "no delimiter at all",                                               /* no boundary */
        "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx",        /* never closed */
        "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n",             /* headers never end */
        "--b\r\nno colon here\r\n\r\nx\r\n--b--",                            /* bad header line */
        "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",                 /* no disposition */
        "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",           /* no name */
        "--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--",  /* not form-data */
        "--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--b--", /* open quote */
        "--bjunk\r\n", /* junk after delimiter */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ag_multipart m;
        int rc = parse("b", bad[i], strlen(bad[i]), &m);
        if (rc != AG_EPARSE)
            fail_msg("case %zu: got %d, want AG_EPARSE", i, rc);
    }
}

static void test_limits(void **state)
{
    (void)state;
    struct ag_buf b;
    struct ag_multipart m;
    ag_buf_init(&b, 0);
    for (int i = 0; i < AG_MULTIPART_MAX_PARTS + 1; i++)
        ag_buf_printf(&b, "--b\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i);
    ag_buf_append_c(&b, "--b--\r\n");
    assert_int_equal(parse("b", b.data, b.len, &m), AG_ETOOBIG);

    /* too many header lines in one part */
    ag_buf_reset(&b);
    ag_buf_append_c(&b, "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n");
    for (int i = 0; i < AG_MULTIPART_MAX_HEADERS; i++)
        ag_buf_printf(&b, "X-H%d: v\r\n", i);
    ag_buf_append_c(&b, "\r\nx\r\n--b--\r\n");
    assert_int_equal(parse("b", b.data, b.len, &m), AG_EPARSE);

    /* a header block past the byte cap */
    ag_buf_reset(&b);
    ag_buf_append_c(&b, "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Long: ");
    for (int i = 0; i < AG_MULTIPART_MAX_HEADER_BYTES; i++)
        ag_buf_append_c(&b, "a");
    ag_buf_append_c(&b, "\r\n\r\nx\r\n--b--\r\n");
    assert_int_equal(parse("b", b.data, b.len, &m), AG_EPARSE);
    ag_buf_dispose(&b);
}

/* Every prefix of a valid body either parses or is rejected cleanly (run under ASan). */
static void test_every_prefix(void **state)
{
    (void)state;
    static const char body[] = "--q\r\nContent-Disposition: form-data; name=\"image\"; "
                               "filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\nDATA\r\n"
                               "--q\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n"
                               "p\r\n--q--\r\n";
    for (size_t n = 0; n < sizeof(body); n++) {
        char *copy = malloc(n ? n : 1);
        memcpy(copy, body, n);
        struct ag_multipart m;
        int rc = parse("q", copy, n, &m);
        assert_true(rc == 0 || rc == AG_EPARSE);
        if (rc == 0)
            assert_int_equal(m.n_parts, 2);
        free(copy);
    }
}

/* ---- images adapters ---- */

static struct ag_request *decode_gen(const char *json)
{
    struct ag_proto_ctx ctx = {.arena = &arena, .request_id = AG_STR("r1"), .now = 1};
    struct ag_client_hints h = {0};
    struct ag_request *req = NULL;
    struct ag_proto_error err = {0};
    int rc = ag_proto_openai_images.decode_request(&ctx, ag_str_c(json), &h, &req, &err);
    if (rc)
        fail_msg("decode failed: %.*s", (int)err.message.len, err.message.p);
    return req;
}

static void test_default_models(void **state)
{
    (void)state;
    assert_str(decode_gen("{\"prompt\":\"x\"}")->model, AG_IMAGES_DEFAULT_MODEL);
    assert_str(decode_gen("{\"prompt\":\"x\",\"model\":\"dall-e-3\"}")->model,
               AG_IMAGES_DEFAULT_MODEL);
    assert_str(decode_gen("{\"prompt\":\"x\",\"model\":\"gpt-image-1\"}")->model,
               AG_IMAGES_DEFAULT_MODEL);
    assert_str(decode_gen("{\"prompt\":\"x\",\"model\":\"gemini-3-pro-image-4k-16x9\"}")->model,
               "gemini-3-pro-image-4k-16x9");
    struct ag_request *r = decode_gen("{\"prompt\":\"x\",\"user\":\"me\",\"n\":3}");
    assert_true(r->image.on);
    assert_false(r->stream);
    assert_int_equal(r->gen.n, 3);
    assert_str(r->user, "me");
}

static void test_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *json, *ratio, *size;
    } cases[] = {
        {"{\"prompt\":\"x\",\"size\":\"1024x1024\"}", "1:1", ""},
        {"{\"prompt\":\"x\",\"size\":\"1792x1024\"}", "16:9", ""},
        {"{\"prompt\":\"x\",\"size\":\"1024x1792\"}", "9:16", ""},
        {"{\"prompt\":\"x\",\"size\":\"1536x1024\"}", "3:2", ""},
        {"{\"prompt\":\"x\",\"size\":\"2560x1080\"}", "21:9", "2K"},
        {"{\"prompt\":\"x\",\"size\":\"4096x4096\"}", "1:1", "4K"},
        {"{\"prompt\":\"x\",\"size\":\"1000x3000\"}", "9:16", "2K"}, /* nearest, not 1:1 */
        {"{\"prompt\":\"x\",\"size\":\"auto\"}", "", ""},
        {"{\"prompt\":\"x\",\"size\":\"4:5\",\"quality\":\"standard\"}", "4:5", "1K"},
        {"{\"prompt\":\"x\",\"quality\":\"medium\"}", "", "2K"},
        {"{\"prompt\":\"x\",\"quality\":\"hd\",\"image_size\":\"1k\"}", "", "1K"},
        {"{\"prompt\":\"x\",\"size\":\"1024x1024\",\"aspect_ratio\":\"21:9\"}", "21:9", ""},
        {"{\"prompt\":\"x\",\"size\":\"4096x4096\",\"quality\":\"low\"}", "1:1", "1K"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ag_request *r = decode_gen(cases[i].json);
        if (!ag_str_eq_c(r->image.aspect_ratio, cases[i].ratio) ||
            !ag_str_eq_c(r->image.image_size, cases[i].size))
            fail_msg("%s: got ratio '%.*s' size '%.*s'", cases[i].json,
                     (int)r->image.aspect_ratio.len, r->image.aspect_ratio.p,
                     (int)r->image.image_size.len, r->image.image_size.p);
    }
}

static void test_route_suffixes(void **state)
{
    (void)state;
    /* suffixes fill what the client left open */
    struct ag_request *r = decode_gen("{\"prompt\":\"x\"}");
    ag_images_apply_route(r, "16:9", "4K");
    assert_str(r->image.aspect_ratio, "16:9");
    assert_str(r->image.image_size, "4K");
    /* the client's own size and quality win */
    r = decode_gen("{\"prompt\":\"x\",\"size\":\"1024x1792\",\"quality\":\"medium\"}");
    ag_images_apply_route(r, "16:9", "4K");
    assert_str(r->image.aspect_ratio, "9:16");
    assert_str(r->image.image_size, "2K");
    /* generations default to 1:1; auto leaves the ratio to a suffix, then 1:1 */
    r = decode_gen("{\"prompt\":\"x\",\"size\":\"auto\"}");
    ag_images_apply_route(r, "", "");
    assert_str(r->image.aspect_ratio, "1:1");
    assert_int_equal(r->image.image_size.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fields_and_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bare_lf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_models, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_suffixes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
