/* Integration test of large request bodies, with the real binaries on loopback ports chosen at
 * run time: a 1 MB OpenAI conversation (texts with escapes) reaches the upstream intact whether it
 * comes after its headers in pieces of odd sizes, or in one write with a pipelined request behind
 * it on the same connection; a client that sends part of a large body and closes costs nothing
 * after it. The gateway reads such bodies in place (http/parse.c), so a byte put in the wrong
 * spot would break the JSON or the texts the upstream gets. */
#include "ag_test.h"

#include "core/buf.h"
#include "gwenv.h"
#include "rawhttp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yyjson.h>

#define KEY       "sk-large-body-test-0123456789"
#define MESSAGES  400
#define TEXT_SIZE 2600

static struct ag_gwenv the_env;

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Message i's text as JSON source (escaped) into src and as the string it stands for into txt. */
static void message_text(int i, struct ag_buf *src, struct ag_buf *txt)
{
    char mark[32];
    int n = snprintf(mark, sizeof(mark), "m%d-", i);
    ag_buf_reset(src);
    ag_buf_reset(txt);
    ag_buf_append(src, mark, (size_t)n);
    ag_buf_append(txt, mark, (size_t)n);
    for (int k = 0; txt->len < TEXT_SIZE; k++) {
        static const char *const src_pieces[] = {"line of text ", "\\n", "a \\\"quote\\\" ",
                                                 "caf\\u00e9 ", "tab\\t"};
        static const char *const txt_pieces[] = {"line of text ", "\n", "a \"quote\" ",
                                                 "caf\xc3\xa9 ", "tab\t"};
        int j = (k + i) % 5;
        ag_buf_append_c(src, src_pieces[j]);
        ag_buf_append_c(txt, txt_pieces[j]);
    }
}

/* The 1 MB conversation (MESSAGES messages, user and assistant in turn). */
static void conversation(struct ag_buf *b)
{
    struct ag_buf src, txt;
    ag_buf_init(&src, 0);
    ag_buf_init(&txt, 0);
    ag_buf_reset(b);
    ag_buf_append_c(b, "{\"model\":\"gemini-2.5-flash\",\"messages\":[");
    for (int i = 0; i < MESSAGES; i++) {
        message_text(i, &src, &txt);
        ag_buf_printf(b, "%s{\"role\":\"%s\",\"content\":\"", i ? "," : "",
                      i % 2 ? "assistant" : "user");
        ag_buf_append(b, src.data, src.len);
        ag_buf_append_c(b, "\"}");
    }
    ag_buf_append_c(b, "]}");
    ag_buf_dispose(&src);
    ag_buf_dispose(&txt);
}

static size_t request_head(char *out, size_t cap, size_t body_len)
{
    int n = snprintf(out, cap,
                     "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Authorization: Bearer " KEY "\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     body_len);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* The last upstream request's texts are the conversation's, every one of them, in order. */
static void check_upstream(struct ag_gwenv *e)
{
    struct ag_buf out, src, txt;
    ag_buf_init(&out, 0);
    ag_buf_init(&src, 0);
    ag_buf_init(&txt, 0);
    assert_int_equal(ag_gwenv_mock(e, "GET", "/__mock/requests?path=enerateContent", NULL, &out),
                     200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    assert_non_null(d);
    yyjson_val *all = yyjson_doc_get_root(d);
    assert_true(yyjson_arr_size(all) > 0);
    const char *body = yyjson_get_str(yyjson_obj_get(yyjson_arr_get_last(all), "body"));
    assert_non_null(body);
    yyjson_doc *up = yyjson_read(body, strlen(body), 0);
    assert_non_null(up);
    yyjson_val *contents =
        yyjson_obj_get(yyjson_obj_get(yyjson_doc_get_root(up), "request"), "contents");
    assert_int_equal(yyjson_arr_size(contents), MESSAGES);
    yyjson_val *c;
    size_t i, max;
    yyjson_arr_foreach(contents, i, max, c)
    {
        yyjson_val *part = yyjson_arr_get_first(yyjson_obj_get(c, "parts"));
        message_text((int)i, &src, &txt);
        assert_int_equal(yyjson_get_len(yyjson_obj_get(part, "text")), txt.len);
        assert_memory_equal(yyjson_get_str(yyjson_obj_get(part, "text")), txt.data, txt.len);
    }
    yyjson_doc_free(up);
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    ag_buf_dispose(&src);
    ag_buf_dispose(&txt);
}

static void read_ok(struct rh_conn *c)
{
    struct rh_resp r;
    assert_true(rh_read(c, &r, false));
    if (r.status != 200)
        fail_msg("want 200, got %d: %.300s", r.status, r.body);
    rh_resp_free(&r);
}

static void large_conversations_arrive_whole(void **state)
{
    struct ag_gwenv *e = &the_env;
    static const char *const tokens[] = {"rt-a", NULL};
    const struct ag_gwenv_opts o = {
        .name = "largebody",
        .config_json = "{\"auth\":{\"mode\":\"strict\",\"api_key\":\"" KEY "\"}}",
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"}]",
        .tokens = tokens,
    };
    ag_gwenv_start(e, &o);
    struct ag_buf body;
    ag_buf_init(&body, 0);
    conversation(&body);
    assert_true(body.len > 1000000);
    char head[256];
    size_t hl = request_head(head, sizeof(head), body.len);
    struct rh_conn c;
    assert_true(rh_connect(&c, e->port, 30000));

    /* The headers, then the body in pieces of odd sizes. */
    static const size_t pieces[] = {1, 7, 4093, 65537, 3, 300000};
    assert_true(rh_send(&c, head, hl));
    size_t at = 0;
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        nap_ms(5);
        assert_true(rh_send(&c, body.data + at, pieces[i]));
        at += pieces[i];
    }
    nap_ms(5);
    assert_true(rh_send(&c, body.data + at, body.len - at));
    read_ok(&c);
    check_upstream(e);

    /* Again on the same connection, all in one write with a pipelined request behind it. */
    struct ag_buf all;
    ag_buf_init(&all, 0);
    ag_buf_append(&all, head, hl);
    ag_buf_append(&all, body.data, body.len);
    ag_buf_append_c(&all, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Authorization: Bearer " KEY "\r\n\r\n");
    struct ag_buf scratch;
    ag_buf_init(&scratch, 0);
    assert_int_equal(ag_gwenv_mock(e, "DELETE", "/__mock/requests", NULL, &scratch), 200);
    ag_buf_dispose(&scratch);
    assert_true(rh_send(&c, all.data, all.len));
    read_ok(&c);
    read_ok(&c);
    check_upstream(e);
    rh_close(&c);

    /* Part of a large body, then the client is gone: the gateway goes on answering. */
    for (int round = 0; round < 3; round++) {
        assert_true(rh_connect(&c, e->port, 30000));
        assert_true(rh_send(&c, head, hl));
        nap_ms(10);
        assert_true(rh_send(&c, body.data, (size_t)(round + 1) * 100000));
        nap_ms(10);
        rh_close(&c);
    }
    struct rh_resp r;
    assert_true(
        rh_request(e->port, "GET", "/healthz", "Authorization: Bearer " KEY "\r\n", NULL, &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);

    ag_buf_dispose(&all);
    ag_buf_dispose(&body);
    ag_gwenv_stop(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(large_conversations_arrive_whole, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
