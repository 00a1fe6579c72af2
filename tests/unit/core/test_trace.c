/* Unit tests for core/trace.c: W3C traceparent parsing (valid forms, every malformed one ignored),
 * a request that continues a client's trace or starts its own, tracestate kept or dropped, and the
 * traceparent written upstream. */
#include "ag_test.h"

#include "core/err.h"
#include "core/hex.h"
#include "core/trace.h"

#include <string.h>

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID "00f067aa0ba902b7"

static void hex(const uint8_t *p, size_t n, char *out)
{
    ag_hex_encode(out, p, n);
}

static void valid_traceparent_is_read(void **state)
{
    uint8_t t[16], p[8], f = 0;
    char h[33];
    assert_int_equal(ag_trace_parse(ag_str_c("00-" TID "-" PID "-01"), t, p, &f), 0);
    hex(t, 16, h);
    assert_string_equal(h, TID);
    hex(p, 8, h);
    assert_string_equal(h, PID);
    assert_int_equal(f, 1);
    /* optional whitespace around the value */
    assert_int_equal(ag_trace_parse(ag_str_c(" 00-" TID "-" PID "-00\t"), t, p, &f), 0);
    assert_int_equal(f, 0);
    /* a later version may carry more fields after a '-' */
    assert_int_equal(ag_trace_parse(ag_str_c("01-" TID "-" PID "-01-what-comes"), t, p, &f), 0);
    assert_int_equal(ag_trace_parse(ag_str_c("cc-" TID "-" PID "-01"), t, p, &f), 0);
}

static void malformed_traceparent_is_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "00",
        "00-" TID "-" PID "-01-",                         /* version 00 has nothing after */
        "00-" TID "-" PID "-1",                           /* short flags */
        "00-" TID "-" PID "-011",                         /* long flags */
        "ff-" TID "-" PID "-01",                          /* forbidden version */
        "0g-" TID "-" PID "-01",                          /* not hex */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" PID "-01", /* uppercase */
        "00-00000000000000000000000000000000-" PID "-01", /* zero trace id */
        "00-" TID "-0000000000000000-01",                 /* zero parent id */
        "00_" TID "-" PID "-01",                          /* wrong separator */
        "00-" TID "_" PID "-01",
        "00-" TID "-" PID "_01",
        "00-" TID "x-" PID "-0",                         /* shifted fields */
        "01-" TID "-" PID "-01x",                        /* later version: no '-' after */
        "00-4bf92f3577b34da6a3ce929d0e0e473-" PID "-01", /* short trace id */
        "00-" TID "-" PID "-0z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t t[16] = {7}, p[8] = {7}, f = 9;
        if (ag_trace_parse(ag_str_c(bad[i]), t, p, &f) != AG_EINVAL)
            fail_msg("accepted: \"%s\"", bad[i]);
        assert_int_equal(t[0], 7); /* left untouched */
        assert_int_equal(f, 9);
    }
    uint8_t t[16], p[8], f;
    assert_int_equal(ag_trace_parse((struct ag_str){NULL, 0}, t, p, &f), AG_EINVAL);
    /* bytes after a NUL are not read past the slice */
    const char cut[] = "00-" TID "-" PID "-01";
    assert_int_equal(ag_trace_parse((struct ag_str){cut, sizeof(cut) - 3}, t, p, &f), AG_EINVAL);
}

static void client_trace_is_continued(void **state)
{
    struct ag_trace tr;
    char h[33];
    ag_trace_begin(&tr, ag_str_c("00-" TID "-" PID "-01"), ag_str_c("vendor=abc,other=1"));
    assert_true(tr.remote_parent);
    hex(tr.trace_id, 16, h);
    assert_string_equal(h, TID);
    hex(tr.parent_id, 8, h);
    assert_string_equal(h, PID);
    assert_int_equal(tr.flags, AG_TRACE_SAMPLED);
    assert_string_equal(tr.tracestate, "vendor=abc,other=1");
    hex(tr.span_id, 8, h);
    assert_string_not_equal(h, PID);
    assert_string_not_equal(h, "0000000000000000");
    /* unknown flag bits are not passed on; an unsampled parent stays unsampled */
    ag_trace_begin(&tr, ag_str_c("00-" TID "-" PID "-fe"), (struct ag_str){NULL, 0});
    assert_int_equal(tr.flags, 0);
    assert_string_equal(tr.tracestate, "");
}

static void bad_header_starts_a_new_trace(void **state)
{
    struct ag_trace a, b;
    ag_trace_begin(&a, ag_str_c("00-" TID "-" PID "-1"), ag_str_c("vendor=abc"));
    ag_trace_begin(&b, (struct ag_str){NULL, 0}, (struct ag_str){NULL, 0});
    assert_false(a.remote_parent);
    assert_false(b.remote_parent);
    assert_int_equal(a.flags, AG_TRACE_SAMPLED);
    assert_string_equal(a.tracestate, ""); /* a state without its parent is dropped */
    char h[33], z[33] = "00000000000000000000000000000000";
    hex(a.trace_id, 16, h);
    assert_string_not_equal(h, z);
    assert_string_not_equal(h, TID);
    assert_memory_not_equal(a.trace_id, b.trace_id, 16);
    assert_memory_not_equal(a.span_id, b.span_id, 8);
    static const uint8_t zero[8] = {0};
    assert_memory_equal(a.parent_id, zero, 8);
}

static void tracestate_limits(void **state)
{
    char big[AG_TRACESTATE_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct ag_trace tr;
    ag_trace_begin(&tr, ag_str_c("00-" TID "-" PID "-01"), ag_str_c(big)); /* one too long */
    assert_string_equal(tr.tracestate, "");
    big[AG_TRACESTATE_MAX] = '\0';
    ag_trace_begin(&tr, ag_str_c("00-" TID "-" PID "-01"), ag_str_c(big));
    assert_int_equal(strlen(tr.tracestate), AG_TRACESTATE_MAX);
    ag_trace_begin(&tr, ag_str_c("00-" TID "-" PID "-01"), ag_str_c("a=b\r\nx: y"));
    assert_string_equal(tr.tracestate, ""); /* no header injection upstream */
}

static void traceparent_is_written(void **state)
{
    uint8_t t[16], p[8], f;
    char out[AG_TRACEPARENT_SIZE];
    assert_int_equal(ag_trace_parse(ag_str_c("00-" TID "-" PID "-01"), t, p, &f), 0);
    assert_string_equal(ag_trace_format(out, t, p, f), "00-" TID "-" PID "-01");
    assert_int_equal(strlen(out), AG_TRACEPARENT_SIZE - 1);
    uint8_t id[8];
    for (int i = 0; i < 1000; i++) {
        static const uint8_t zero[8] = {0};
        assert_int_equal(ag_trace_new_id(id, sizeof(id)), 0);
        assert_memory_not_equal(id, zero, 8);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_traceparent_is_read),
        cmocka_unit_test(malformed_traceparent_is_refused),
        cmocka_unit_test(client_trace_is_continued),
        cmocka_unit_test(bad_header_starts_a_new_trace),
        cmocka_unit_test(tracestate_limits),
        cmocka_unit_test(traceparent_is_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
