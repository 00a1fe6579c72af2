/* Integration test of the cap on the body sent upstream (server.max_body_bytes, the same key that
 * caps the client's body), with the real binaries on loopback ports chosen at run time: a request
 * that fits the server's limit but whose upstream body would not (an image edit: its image
 * becomes base64, a third larger) is refused with 413 in the route's own error shape, and nothing
 * reaches the upstream; the same route with a small image is answered. */
#include "ag_test.h"

#include "core/buf.h"
#include "gwenv.h"
#include "rawhttp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#define KEY      "sk-body-cap-test-0123456789"
#define MAX_BODY 4096
#define BOUNDARY "aigateBodyCapBoundary"

static struct ag_gwenv the_env;

static void env_start(struct ag_gwenv *e)
{
    static const char *const tokens[] = {"rt-a", NULL};
    char config[256];
    snprintf(config, sizeof(config),
             "{\"auth\":{\"mode\":\"strict\",\"api_key\":\"" KEY "\"},"
             "\"server\":{\"max_body_bytes\":%d}}",
             MAX_BODY);
    const struct ag_gwenv_opts o = {
        .name = "bodycap",
        .config_json = config,
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"}]",
        .tokens = tokens,
    };
    ag_gwenv_start(e, &o);
}

/* A multipart image edit whose image is a PNG signature and then image_len - 8 filler bytes. */
static void edit_body(struct ag_buf *b, size_t image_len)
{
    ag_buf_reset(b);
    ag_buf_append_c(b, "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n"
                       "put a hat on the cat\r\n"
                       "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"image\"; "
                       "filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
                       "\x89PNG\r\n\x1a\n");
    for (size_t i = 8; i < image_len; i++)
        ag_buf_append(b, "A", 1);
    ag_buf_append_c(b, "\r\n--" BOUNDARY "--\r\n");
}

static size_t upstream_requests(struct ag_gwenv *e)
{
    struct ag_buf out;
    char url[256];
    ag_buf_init(&out, 1 << 20);
    snprintf(url, sizeof(url), "%s/__mock/requests?path=:generateContent", e->mock.base_url);
    assert_int_equal(ag_test_http("GET", url, NULL, NULL, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    assert_non_null(d);
    size_t n = yyjson_arr_size(yyjson_doc_get_root(d));
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return n;
}

static void post_edit(struct ag_gwenv *e, const struct ag_buf *body, struct rh_resp *r)
{
    assert_true(rh_request(e->port, "POST", "/v1/images/edits",
                           "Authorization: Bearer " KEY "\r\n"
                           "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\n",
                           body->data, r));
}

static void upstream_body_over_the_cap_is_refused_in_openai_shape(void **state)
{
    struct ag_gwenv *e = &the_env;
    struct ag_buf body;
    struct rh_resp r;
    ag_buf_init(&body, MAX_BODY);
    env_start(e);

    /* the client's body fits the limit; base64 of its image alone (4/3) does not */
    edit_body(&body, 3200);
    assert_true(body.len < MAX_BODY);
    post_edit(e, &body, &r);
    if (r.status != 413)
        fail_msg("want 413, got %d: %s", r.status, r.body);
    yyjson_doc *d = yyjson_read(r.body, r.body_len, 0);
    assert_non_null(d);
    yyjson_val *err = yyjson_obj_get(yyjson_doc_get_root(d), "error");
    assert_true(yyjson_is_obj(err)); /* OpenAI's {"error":{"message","type",...}} */
    assert_true(yyjson_is_str(yyjson_obj_get(err, "message")));
    assert_true(yyjson_is_str(yyjson_obj_get(err, "type")));
    yyjson_doc_free(d);
    rh_resp_free(&r);
    assert_int_equal(upstream_requests(e), 0);

    /* a small image on the same route goes through */
    edit_body(&body, 200);
    post_edit(e, &body, &r);
    if (r.status != 200)
        fail_msg("want 200, got %d: %s", r.status, r.body);
    rh_resp_free(&r);
    assert_int_equal(upstream_requests(e), 1);

    ag_buf_dispose(&body);
    ag_gwenv_stop(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(upstream_body_over_the_cap_is_refused_in_openai_shape,
                                  ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
