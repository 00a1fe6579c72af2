/* tests/unit/upstream/test_errclass.c: upstream failure classification, one case per kind, with
 * the error body shapes Google's Cloud Code API actually sends. */
#include "ag_test.h"

#include "core/err.h"
#include "upstream/errclass.h"

#define NOW 1750000000 /* a fixed "now" for HTTP-date Retry-After */

static void classify(int status, const char *body, const char *retry_after, struct ag_errclass *e)
{
    ag_errclass_http(status, ag_str_c(body), retry_after ? ag_str_c(retry_after) : AG_STR_NULL, NOW,
                     e);
}

static void test_durations(void **state)
{
    int64_t ms;
    (void)state;
    assert_int_equal(ag_errclass_parse_duration(AG_STR("1.203608125s"), &ms, NULL), 0);
    assert_int_equal(ms, 1204);
    assert_int_equal(ag_errclass_parse_duration(AG_STR("1h16m0.667s"), &ms, NULL), 0);
    assert_int_equal(ms, 4560667);
    assert_int_equal(ag_errclass_parse_duration(AG_STR("510.79ms"), &ms, NULL), 0);
    assert_int_equal(ms, 511);
    assert_int_equal(ag_errclass_parse_duration(AG_STR("2m 30s"), &ms, NULL), 0);
    assert_int_equal(ms, 150000);
    assert_int_equal(ag_errclass_parse_duration(AG_STR("99 Seconds."), &ms, NULL), 0);
    assert_int_equal(ms, 99000);
    assert_int_equal(ag_errclass_parse_duration(AG_STR("soon"), &ms, NULL), AG_EPARSE);
    assert_int_equal(ag_errclass_parse_duration(AG_STR("12"), &ms, NULL), AG_EPARSE);
}

static void test_429_retry_info(void **state)
{
    struct ag_errclass e;
    (void)state;
    classify(429,
             "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check "
             "quota).\",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":\"type."
             "googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"RATE_LIMIT_EXCEEDED\","
             "\"domain\":\"cloudcode-pa.googleapis.com\",\"metadata\":{\"model\":\"gemini-2.5-"
             "pro\"}},{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":"
             "\"1.203608125s\"}]}}",
             NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_RATE_LIMITED);
    assert_int_equal(e.retry_delay_ms, 1204);
    assert_int_equal(e.delay_src, AG_DELAY_RETRY_INFO);
    assert_int_equal(e.limit, AG_LIMIT_RATE);
    assert_false(e.quota_exhausted);
    assert_string_equal(e.reason, "RATE_LIMIT_EXCEEDED");
    assert_string_equal(ag_errclass_kind_name(e.kind), "rate_limited");
}

static void test_429_quota_reset_delay(void **state)
{
    struct ag_errclass e;
    (void)state;
    /* Cloud Code's quota exhaustion, sometimes wrapped in a one-element array. */
    classify(429,
             "[{\"error\":{\"code\":429,\"message\":\"You have exhausted your capacity on this "
             "model. Your quota will reset after 2h1m1s.\",\"status\":\"RESOURCE_EXHAUSTED\","
             "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":"
             "\"QUOTA_EXHAUSTED\",\"domain\":\"cloudcode-pa.googleapis.com\",\"metadata\":{"
             "\"quotaResetDelay\":\"2h1m1s\",\"quotaResetTimeStamp\":\"2025-06-15T17:02:41Z\","
             "\"model\":\"claude-sonnet-4-5\"}}]}}]",
             NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_RATE_LIMITED);
    assert_int_equal(e.retry_delay_ms, (2 * 3600 + 60 + 1) * 1000);
    assert_int_equal(e.delay_src, AG_DELAY_QUOTA_RESET);
    assert_true(e.quota_exhausted);
    assert_int_equal(e.limit, AG_LIMIT_QUOTA_EXHAUSTED);
}

static void test_429_retry_after_header(void **state)
{
    struct ag_errclass e;
    (void)state;
    classify(429, "Too Many Requests", "30", &e);
    assert_int_equal(e.retry_delay_ms, 30000);
    assert_int_equal(e.delay_src, AG_DELAY_RETRY_AFTER);
    assert_int_equal(e.limit, AG_LIMIT_RATE);
    /* HTTP-date form, 90 s after NOW. */
    classify(429, "", "Sun, 15 Jun 2025 15:08:10 GMT", &e);
    assert_int_equal(e.delay_src, AG_DELAY_RETRY_AFTER);
    assert_int_equal(e.retry_delay_ms, 90000);
}

static void test_429_no_hint(void **state)
{
    struct ag_errclass e;
    (void)state;
    classify(429,
             "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check "
             "quota).\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
             NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_RATE_LIMITED);
    assert_int_equal(e.retry_delay_ms, -1);
    assert_int_equal(e.delay_src, AG_DELAY_NONE);
    /* Google's generic RESOURCE_EXHAUSTED names no quota ("check quota" is advice): a short
     * rate limit, never a used-up quota that would bench the account until its reset. */
    assert_int_equal(e.limit, AG_LIMIT_RATE);
    assert_false(e.quota_exhausted);
    classify(429, "{\"error\":{\"code\":429,\"message\":\"Model is overloaded, retry after 5s\"}}",
             NULL, &e);
    assert_int_equal(e.retry_delay_ms, 5000);
    assert_int_equal(e.delay_src, AG_DELAY_MESSAGE);
}

static void test_401(void **state)
{
    struct ag_errclass e;
    (void)state;
    classify(401,
             "{\"error\":{\"code\":401,\"message\":\"Request had invalid authentication "
             "credentials. Expected OAuth 2 access token, login cookie or other valid "
             "authentication credential.\",\"status\":\"UNAUTHENTICATED\"}}",
             NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_UNAUTHORIZED);
    assert_string_equal(e.reason, "UNAUTHENTICATED");
    assert_non_null(strstr(e.message, "invalid authentication"));
}

static void test_403_validation(void **state)
{
    struct ag_errclass e;
    (void)state;
    classify(403,
             "{\"error\":{\"code\":403,\"message\":\"Verify your account to continue.\","
             "\"status\":\"PERMISSION_DENIED\",\"details\":[{\"@type\":\"type.googleapis.com/"
             "google.rpc.ErrorInfo\",\"reason\":\"VALIDATION_REQUIRED\",\"domain\":"
             "\"cloudcode-pa.googleapis.com\",\"metadata\":{\"validation_url\":\"https://"
             "accounts.google.com/signin/continue?sarp=1\\u0026scc=1\"}}]}}",
             NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_FORBIDDEN);
    assert_true(e.validation_required);
    assert_string_equal(e.validation_url,
                        "https://accounts.google.com/signin/continue?sarp=1&scc=1");
    /* Only in the text. */
    classify(403,
             "{\"error\":{\"code\":403,\"message\":\"VALIDATION_REQUIRED: please visit "
             "https://support.google.com/verify?x=1\\u0026y=2 to continue\"}}",
             NULL, &e);
    assert_true(e.validation_required);
    assert_string_equal(e.validation_url, "https://support.google.com/verify?x=1&y=2");
    /* A plain 403 is forbidden without validation. */
    classify(403,
             "{\"error\":{\"code\":403,\"message\":\"The caller does not have permission\","
             "\"status\":\"PERMISSION_DENIED\"}}",
             NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_FORBIDDEN);
    assert_false(e.validation_required);
    assert_string_equal(e.validation_url, "");
}

static void test_404_400(void **state)
{
    struct ag_errclass e;
    (void)state;
    classify(404,
             "{\"error\":{\"code\":404,\"message\":\"Requested entity was not found.\","
             "\"status\":\"NOT_FOUND\"}}",
             NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_NOT_FOUND);
    classify(400,
             "{\"error\":{\"code\":400,\"message\":\"Invalid JSON payload received. Unknown name "
             "\\\"foo\\\": Cannot find field.\",\"status\":\"INVALID_ARGUMENT\"}}",
             NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_BAD_REQUEST);
    assert_string_equal(e.reason, "INVALID_ARGUMENT");
    classify(413, "payload too large", NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_BAD_REQUEST);
    assert_string_equal(e.message, "payload too large");
}

static void test_5xx(void **state)
{
    struct ag_errclass e;
    (void)state;
    classify(500,
             "{\"error\":{\"code\":500,\"message\":\"Internal error encountered.\",\"status\":"
             "\"INTERNAL\"}}",
             NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_SERVER_ERROR);
    assert_false(e.overloaded);
    classify(503,
             "{\"error\":{\"code\":503,\"message\":\"The model is overloaded. Please try again "
             "later.\",\"status\":\"UNAVAILABLE\"}}",
             NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_SERVER_ERROR);
    assert_true(e.overloaded);
    classify(529,
             "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":"
             "\"Overloaded\"}}",
             NULL, &e);
    assert_true(e.overloaded);
    assert_string_equal(e.reason, "overloaded_error");
    classify(502, "<html>Bad Gateway</html>", NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_SERVER_ERROR);
    assert_false(e.overloaded);
}

static void test_timeout_transport_malformed(void **state)
{
    struct ag_errclass e;
    (void)state;
    ag_errclass_transport(AG_UPSTREAM_FAIL_IDLE_TIMEOUT, "idle_timeout after 3000 ms", &e);
    assert_int_equal(e.kind, AG_ERRCLASS_TIMEOUT);
    assert_int_equal(e.fail, AG_UPSTREAM_FAIL_IDLE_TIMEOUT);
    ag_errclass_transport(AG_UPSTREAM_FAIL_CONNECT_REFUSED, NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_TRANSPORT);
    assert_string_equal(e.message, "connect_refused");
    classify(408, "Request Timeout", NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_TIMEOUT);
    ag_errclass_malformed("bad JSON in event 3", &e);
    assert_int_equal(e.kind, AG_ERRCLASS_MALFORMED_STREAM);
    assert_string_equal(ag_errclass_kind_name(e.kind), "malformed_stream");
    classify(200, "{}", NULL, &e);
    assert_int_equal(e.kind, AG_ERRCLASS_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_429_retry_info),
        cmocka_unit_test(test_429_quota_reset_delay),
        cmocka_unit_test(test_429_retry_after_header),
        cmocka_unit_test(test_429_no_hint),
        cmocka_unit_test(test_401),
        cmocka_unit_test(test_403_validation),
        cmocka_unit_test(test_404_400),
        cmocka_unit_test(test_5xx),
        cmocka_unit_test(test_timeout_transport_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
