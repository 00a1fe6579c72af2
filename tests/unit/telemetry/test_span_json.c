/* Unit tests for telemetry/span_json.c: a request with a 429 and a 200 attempt becomes one SERVER
 * span and two CLIENT spans in the OTLP/HTTP JSON mapping (hex ids, parent links, nanosecond
 * strings, typed attribute values), with nothing secret in it; the envelope around a batch; the
 * span name of Gemini's per-model routes. */
#include "ag_test.h"

#include "core/err.h"
#include "core/hex.h"
#include "core/trace.h"
#include "telemetry/span_json.h"

#include <stdio.h>
#include <string.h>
#include <yyjson.h>

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID "00f067aa0ba902b7"
#define MS  1000u

static struct ag_attempt_log alog;
static struct ag_trace tr;

static int release_log(void **state)
{
    (void)state;
    ag_attempt_log_dispose(&alog);
    return 0;
}

static struct ag_relay_record sample(void)
{
    ag_attempt_log_dispose(&alog); /* the last test's */
    ag_attempt_log_init(&alog, 5000 * MS);
    ag_attempt_log_begin(&alog, 5001 * MS);
    ag_attempt_log_acquired(&alog, "alice.secret@example.com", "gemini-2.5-flash", 5002 * MS);
    ag_attempt_log_sent(&alog, 5003 * MS);
    ag_attempt_log_head(&alog, 429, 5010 * MS);
    ag_attempt_log_end(&alog, 429, "rate_limited", "quota of alice.secret@example.com", 5011 * MS);
    ag_attempt_log_begin(&alog, 5012 * MS);
    ag_attempt_log_acquired(&alog, "openai-compatible:127.0.0.1:ab12cd", "gpt-x", 5013 * MS);
    ag_attempt_log_sent(&alog, 5014 * MS);
    ag_attempt_log_head(&alog, 200, 5020 * MS);
    ag_attempt_log_token(&alog, 5025 * MS);
    ag_attempt_log_end(&alog, 200, "ok", NULL, 5030 * MS);
    ag_trace_begin(&tr, ag_str_c("00-" TID "-" PID "-01"), ag_str_c("v=1"));
    struct ag_relay_record r = {
        .ts_ms = 1700000000000,
        .request_id = ag_str_c("0123456789abcdef0123456789abcdef"),
        .method = ag_str_c("POST"),
        .path = ag_str_c("/v1beta/models/gemini-2.5-flash:generateContent?key=SECRETKEY"),
        .protocol = "gemini",
        .model = ag_str_c("gemini-2.5-flash"),
        .served_model = "gpt-x",
        .account = "openai-compatible:127.0.0.1:ab12cd",
        .key_name = ag_str_c("ci-bot"),
        .status = 200,
        .error_class = "",
        .error_message = ag_str_c(""),
        .attempts = 2,
        .ttfb_ms = 21,
        .total_ms = 31,
        .input_tokens = 12,
        .output_tokens = 34,
        .request_body = ag_str_c("{\"contents\":\"PROMPT TEXT\"}"),
        .response_body = ag_str_c("ANSWER TEXT"),
        .attempt_log = &alog,
        .trace = &tr,
    };
    return r;
}

static yyjson_val *attr(yyjson_val *span, const char *key)
{
    yyjson_val *a = yyjson_obj_get(span, "attributes");
    size_t i, n;
    yyjson_val *kv;
    yyjson_arr_foreach(a, i, n, kv)
    {
        if (strcmp(yyjson_get_str(yyjson_obj_get(kv, "key")), key) == 0)
            return yyjson_obj_get(kv, "value");
    }
    return NULL;
}

static const char *attr_s(yyjson_val *span, const char *key)
{
    yyjson_val *v = attr(span, key);
    return v ? yyjson_get_str(yyjson_obj_get(v, "stringValue")) : NULL;
}

static const char *attr_i(yyjson_val *span, const char *key)
{
    yyjson_val *v = attr(span, key);
    return v ? yyjson_get_str(yyjson_obj_get(v, "intValue")) : NULL;
}

static const char *str(yyjson_val *o, const char *k)
{
    return yyjson_get_str(yyjson_obj_get(o, k));
}

static void request_with_a_retry_becomes_three_spans(void **state)
{
    struct ag_relay_record r = sample();
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    assert_int_equal(ag_span_json_open(&b, "edge"), 0);
    assert_int_equal(ag_span_json_request(&r, &b), 3);
    assert_int_equal(ag_span_json_request(&r, &b), 3); /* a second request in the same batch */
    assert_int_equal(ag_span_json_close(&b), 0);
    yyjson_doc *d = yyjson_read(b.data, b.len, 0);
    assert_non_null(d);
    yyjson_val *rs = yyjson_arr_get(yyjson_obj_get(yyjson_doc_get_root(d), "resourceSpans"), 0);
    yyjson_val *res = yyjson_obj_get(rs, "resource");
    assert_string_equal(attr_s(res, "service.name"), "edge");
    yyjson_val *ss = yyjson_arr_get(yyjson_obj_get(rs, "scopeSpans"), 0);
    assert_string_equal(str(yyjson_obj_get(ss, "scope"), "name"), "aigate");
    yyjson_val *spans = yyjson_obj_get(ss, "spans");
    assert_int_equal(yyjson_arr_size(spans), 6);

    yyjson_val *srv = yyjson_arr_get(spans, 0);
    assert_string_equal(str(srv, "traceId"), TID);
    assert_string_equal(str(srv, "parentSpanId"), PID);
    assert_string_equal(str(srv, "traceState"), "v=1");
    char sid[17];
    ag_hex_encode(sid, tr.span_id, 8);
    assert_string_equal(str(srv, "spanId"), sid);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(srv, "kind")), AG_SPAN_KIND_SERVER);
    assert_string_equal(str(srv, "name"), "POST /v1beta/models/{model}:generateContent");
    assert_string_equal(str(srv, "startTimeUnixNano"), "1700000000000000000");
    assert_string_equal(str(srv, "endTimeUnixNano"), "1700000000031000000");
    assert_string_equal(attr_s(srv, "url.path"), "/v1beta/models/gemini-2.5-flash:generateContent");
    assert_string_equal(attr_i(srv, "http.response.status_code"), "200");
    assert_string_equal(attr_s(srv, "aigate.protocol"), "gemini");
    assert_string_equal(attr_s(srv, "gen_ai.request.model"), "gemini-2.5-flash");
    assert_string_equal(attr_s(srv, "gen_ai.response.model"), "gpt-x");
    assert_string_equal(attr_s(srv, "aigate.key.name"), "ci-bot");
    assert_string_equal(attr_i(srv, "gen_ai.usage.input_tokens"), "12");
    assert_string_equal(attr_i(srv, "gen_ai.usage.output_tokens"), "34");
    assert_string_equal(attr_i(srv, "aigate.attempts"), "2");
    assert_true(yyjson_get_bool(yyjson_obj_get(attr(srv, "aigate.stream"), "boolValue")) == false);
    assert_null(attr(srv, "error.type"));
    assert_int_equal(yyjson_get_int(yyjson_obj_get(yyjson_obj_get(srv, "status"), "code")), 1);

    yyjson_val *a1 = yyjson_arr_get(spans, 1), *a2 = yyjson_arr_get(spans, 2);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(a1, "kind")), AG_SPAN_KIND_CLIENT);
    assert_string_equal(str(a1, "traceId"), TID);
    assert_string_equal(str(a1, "parentSpanId"), sid);
    assert_string_equal(str(a2, "parentSpanId"), sid);
    char a1id[17], a2id[17];
    ag_hex_encode(a1id, ag_attempt_log_at(&alog, 0)->span_id, 8);
    ag_hex_encode(a2id, ag_attempt_log_at(&alog, 1)->span_id, 8);
    assert_string_equal(str(a1, "spanId"), a1id);
    assert_string_equal(str(a2, "spanId"), a2id);
    assert_string_not_equal(a1id, a2id);
    assert_string_equal(str(a1, "startTimeUnixNano"), "1700000000001000000");
    assert_string_equal(str(a1, "endTimeUnixNano"), "1700000000011000000");
    assert_string_equal(attr_i(a1, "aigate.attempt"), "1");
    assert_string_equal(attr_i(a1, "http.response.status_code"), "429");
    assert_string_equal(attr_s(a1, "aigate.retry_reason"), "rate_limited");
    assert_string_equal(attr_s(a1, "error.type"), "rate_limited");
    assert_string_equal(attr_i(a1, "aigate.time_to_first_byte_ms"), "7");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(yyjson_obj_get(a1, "status"), "code")), 2);
    assert_string_equal(attr_s(a1, "gen_ai.request.model"), "gemini-2.5-flash");
    const char *masked = attr_s(a1, "aigate.account");
    assert_non_null(masked);
    assert_null(strstr(masked, "alice.secret"));
    assert_string_equal(attr_i(a2, "aigate.attempt"), "2");
    assert_string_equal(attr_s(a2, "aigate.account"), "openai-compatible:127.0.0.1:ab12cd");
    assert_string_equal(attr_s(a2, "aigate.outcome"), "ok");
    assert_null(attr(a2, "aigate.retry_reason"));
    assert_string_equal(attr_i(a2, "aigate.time_to_first_token_ms"), "11");
    /* nothing secret or private anywhere */
    static const char *const never[] = {"SECRETKEY", "PROMPT TEXT", "ANSWER TEXT", "alice.secret",
                                        "quota of"};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        assert_null(strstr(b.data, never[i]));
    yyjson_doc_free(d);
    ag_buf_dispose(&b);
}

static void new_trace_and_failure(void **state)
{
    struct ag_relay_record r = sample();
    ag_trace_begin(&tr, ag_str_c("garbage"), ag_str_c("v=1"));
    r.status = 502;
    r.error_class = "upstream_error";
    r.error_message = ag_str_c("upstream said: PROMPT TEXT was bad");
    r.attempt_log = NULL;
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    assert_int_equal(ag_buf_append_c(&b, "["), 0);
    assert_int_equal(ag_span_json_request(&r, &b), 1);
    assert_int_equal(ag_buf_append_c(&b, "]"), 0);
    yyjson_doc *d = yyjson_read(b.data, b.len, 0);
    assert_non_null(d);
    yyjson_val *srv = yyjson_arr_get(yyjson_doc_get_root(d), 0);
    assert_null(yyjson_obj_get(srv, "parentSpanId"));
    assert_null(yyjson_obj_get(srv, "traceState"));
    assert_int_equal(strlen(str(srv, "traceId")), 32);
    assert_string_not_equal(str(srv, "traceId"), TID);
    assert_string_equal(attr_s(srv, "error.type"), "upstream_error");
    yyjson_val *st = yyjson_obj_get(srv, "status");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(st, "code")), 2);
    assert_string_equal(str(st, "message"), "upstream_error");
    assert_null(strstr(b.data, "PROMPT TEXT"));
    yyjson_doc_free(d);
    ag_buf_dispose(&b);
}

static void cap_is_reported(void **state)
{
    struct ag_relay_record r = sample();
    struct ag_buf b;
    ag_buf_init(&b, 300);
    assert_int_equal(ag_span_json_request(&r, &b), AG_ETOOBIG);
    ag_buf_dispose(&b);
}

static void span_names(void **state)
{
    char n[128];
    ag_span_json_name(ag_str_c("POST"), ag_str_c("/v1/chat/completions"), n, sizeof(n));
    assert_string_equal(n, "POST /v1/chat/completions");
    ag_span_json_name(ag_str_c("POST"),
                      ag_str_c("/v1beta/models/gemini-3-pro:streamGenerateContent?alt=sse"), n,
                      sizeof(n));
    assert_string_equal(n, "POST /v1beta/models/{model}:streamGenerateContent");
    ag_span_json_name(ag_str_c("GET"), ag_str_c("/v1beta/models/gemini-3-pro"), n, sizeof(n));
    assert_string_equal(n, "GET /v1beta/models/gemini-3-pro");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_with_a_retry_becomes_three_spans),
        cmocka_unit_test(new_trace_and_failure),
        cmocka_unit_test(cap_is_reported),
        cmocka_unit_test(span_names),
    };
    return cmocka_run_group_tests(tests, NULL, release_log);
}
