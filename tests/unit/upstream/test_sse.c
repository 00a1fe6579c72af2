/* tests/unit/upstream/test_sse.c: the SSE parser over real transcripts (Cloud Code, OpenAI,
 * Anthropic) and an edge-case stream, fed whole, split at every byte boundary, and byte by byte:
 * every split must yield exactly the events of the whole feed. */
#include "ag_test.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/err.h"
#include "upstream/sse.h"

/* Each event is recorded as "event\x1f" "data\x1f" "id\x1f" "retry\x1e". */
static int record(const struct ag_sse_event *ev, void *ud)
{
    struct ag_buf *out = ud;
    ag_buf_append_str(out, ev->event);
    ag_buf_append(out, "\x1f", 1);
    ag_buf_append_str(out, ev->data);
    ag_buf_append(out, "\x1f", 1);
    ag_buf_append_str(out, ev->id);
    ag_buf_printf(out, "\x1f%lld\x1e", (long long)ev->retry_ms);
    return 0;
}

static char *load(const char *name, size_t *len)
{
    char path[1024];
    const char *src = getenv("AIGATE_SOURCE_DIR");
    FILE *f;
    char *data;
    long n;

    snprintf(path, sizeof(path), "%s/tests/unit/upstream/fixtures/%s", src ? src : ".", name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s (is AIGATE_SOURCE_DIR set?)", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)n + 1);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return data;
}

/* Parses data split at the given cut points; returns the recorded events. */
static void parse_split(const char *data, size_t len, const size_t *cuts, size_t ncuts,
                        struct ag_buf *out)
{
    struct ag_sse_parser p;
    size_t from = 0;

    ag_sse_parser_init(&p, 64 * 1024, record, out);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        assert_int_equal(ag_sse_parser_feed(&p, data + from, to - from), 0);
        from = to;
    }
    assert_int_equal(ag_sse_parser_finish(&p), 0);
    ag_sse_parser_dispose(&p);
}

static size_t count_events(const struct ag_buf *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->len; i++)
        n += b->data[i] == '\x1e';
    return n;
}

/* The whole-feed result, checked against every 2-way split and a byte-at-a-time feed. */
static void check_all_splits(const char *data, size_t len, struct ag_buf *whole)
{
    parse_split(data, len, NULL, 0, whole);
    for (size_t cut = 0; cut <= len; cut++) {
        struct ag_buf got;
        ag_buf_init(&got, 0);
        parse_split(data, len, &cut, 1, &got);
        if (got.len != whole->len || memcmp(got.data, whole->data, got.len) != 0)
            fail_msg("split at byte %zu gives different events", cut);
        ag_buf_dispose(&got);
    }
    {
        size_t *cuts = malloc(len * sizeof(*cuts));
        struct ag_buf got;
        for (size_t i = 0; i < len; i++)
            cuts[i] = i;
        ag_buf_init(&got, 0);
        parse_split(data, len, cuts, len, &got);
        assert_int_equal(got.len, whole->len);
        assert_memory_equal(got.data, whole->data, got.len);
        ag_buf_dispose(&got);
        free(cuts);
    }
}

static void test_cloudcode(void **state)
{
    size_t len;
    char *data = load("cloudcode_stream.sse", &len);
    struct ag_buf whole;
    (void)state;
    ag_buf_init(&whole, 0);
    check_all_splits(data, len, &whole);
    assert_int_equal(count_events(&whole), 5);
    /* The first event's data is the JSON line itself, starting right after "data: ". */
    assert_true(strncmp(whole.data, "\x1f{\"response\":{\"candidates\"", 26) == 0);
    assert_non_null(strstr(whole.data, "How can I help — today? ☀"));
    assert_null(strchr(whole.data, '\r'));
    ag_buf_dispose(&whole);
    free(data);
}

static void test_openai(void **state)
{
    size_t len;
    char *data = load("openai_stream.sse", &len);
    struct ag_buf whole;
    (void)state;
    ag_buf_init(&whole, 0);
    check_all_splits(data, len, &whole);
    assert_int_equal(count_events(&whole), 10);
    assert_non_null(strstr(whole.data, "\x1f[DONE]\x1f\x1f-1\x1e"));
    ag_buf_dispose(&whole);
    free(data);
}

static void test_anthropic(void **state)
{
    size_t len;
    char *data = load("anthropic_stream.sse", &len);
    struct ag_buf whole;
    (void)state;
    ag_buf_init(&whole, 0);
    check_all_splits(data, len, &whole);
    assert_int_equal(count_events(&whole), 12);
    assert_true(strncmp(whole.data, "message_start\x1f{\"type\":\"message_start\"", 37) == 0);
    assert_non_null(
        strstr(whole.data, "\x1emessage_stop\x1f{\"type\":\"message_stop\"}\x1f\x1f-1\x1e"));
    ag_buf_dispose(&whole);
    free(data);
}

static void test_edge_cases(void **state)
{
    size_t len;
    char *data = load("edge_cases.sse", &len);
    struct ag_buf whole;
    const char expect[] = "custom\x1f"
                          "first\nsecond\n\x1f"
                          "7\x1f"
                          "1500\x1e"
                          "\x1f"
                          " two spaces\x1f\x1f-1\x1e"
                          "\x1f"
                          "last without blank line\x1f\x1f-1\x1e";
    (void)state;
    ag_buf_init(&whole, 0);
    check_all_splits(data, len, &whole);
    assert_int_equal(whole.len, sizeof(expect) - 1);
    assert_memory_equal(whole.data, expect, whole.len);
    ag_buf_dispose(&whole);
    free(data);
}

static void test_bom_not_bom(void **state)
{
    /* Two BOM-like bytes followed by something else are line content, not a BOM. */
    const char data[] = "\xef\xbbX: y\ndata: z\n\n";
    struct ag_buf whole;
    (void)state;
    ag_buf_init(&whole, 0);
    check_all_splits(data, sizeof(data) - 1, &whole);
    assert_string_equal(whole.data, "\x1fz\x1f\x1f-1\x1e");
    ag_buf_dispose(&whole);
}

static void test_cap(void **state)
{
    struct ag_sse_parser p;
    struct ag_buf out;
    char big[300];
    (void)state;
    memset(big, 'a', sizeof(big));
    ag_buf_init(&out, 0);
    ag_sse_parser_init(&p, 256, record, &out);
    /* A long line split over feeds hits the line cap. */
    assert_int_equal(ag_sse_parser_feed(&p, "data: ", 6), 0);
    assert_int_equal(ag_sse_parser_feed(&p, big, sizeof(big)), AG_ETOOBIG);
    assert_int_equal(ag_sse_parser_feed(&p, "\n\n", 2), AG_ETOOBIG); /* sticky */
    assert_int_equal(ag_sse_parser_finish(&p), AG_ETOOBIG);
    /* Many short data lines hit the data cap even when each line arrives whole. */
    ag_sse_parser_reset(&p);
    for (int i = 0; i < 40; i++) {
        int rc = ag_sse_parser_feed(&p, "data: 0123456789\n", 17);
        if (rc) {
            assert_int_equal(rc, AG_ETOOBIG);
            assert_int_equal(i, 23); /* 23 lines of 11 bytes fit in 256 */
            break;
        }
        assert_true(i < 30);
    }
    assert_int_equal(out.len, 0);
    ag_sse_parser_dispose(&p);
    ag_buf_dispose(&out);
}

static int stop_after_one(const struct ag_sse_event *ev, void *ud)
{
    (void)ev;
    (*(int *)ud)++;
    return AG_ECANCELED;
}

static void test_callback_stops(void **state)
{
    struct ag_sse_parser p;
    int n = 0;
    (void)state;
    ag_sse_parser_init(&p, 0, stop_after_one, &n);
    assert_int_equal(ag_sse_parser_feed(&p, "data: a\n\ndata: b\n\n", 18), AG_ECANCELED);
    assert_int_equal(n, 1);
    ag_sse_parser_dispose(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cloudcode),      cmocka_unit_test(test_openai),
        cmocka_unit_test(test_anthropic),      cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_bom_not_bom),    cmocka_unit_test(test_cap),
        cmocka_unit_test(test_callback_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
