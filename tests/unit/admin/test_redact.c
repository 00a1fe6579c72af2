/* Unit tests for admin/redact.c: secrets never survive into captured bodies, the rest does. */
#include "ag_test.h"

#include "admin/redact.h"
#include "core/buf.h"

#include <string.h>

static char *red(const char *in, size_t cap)
{
    static struct ag_buf b;
    ag_buf_dispose(&b);
    ag_buf_init(&b, 0);
    assert_int_equal(ag_redact(ag_str_c(in), cap, &b), 0);
    return b.data ? b.data : "";
}

static void json_members(void **state)
{
    assert_string_equal(red("{\"refresh_token\": \"1//abcdef\", \"model\":\"m\"}", 1000),
                        "{\"refresh_token\": \"[REDACTED]\", \"model\":\"m\"}");
    assert_string_equal(red("{\"api_key\":\"x\\\"y\",\"n\":1}", 1000),
                        "{\"api_key\":\"[REDACTED]\",\"n\":1}");
    assert_string_equal(red("{\"Authorization\":\"Bearer abc\"}", 1000),
                        "{\"Authorization\":\"[REDACTED]\"}");
    /* error codes in JSON are kept */
    assert_string_equal(red("{\"code\":\"rate_limit\"}", 1000), "{\"code\":\"rate_limit\"}");
    assert_string_equal(red("{\"access_token\":\"\"}", 1000), "{\"access_token\":\"\"}");
}

static void tokens_anywhere(void **state)
{
    assert_string_equal(red("my key is sk-0123456789abcdef0123 ok", 1000),
                        "my key is sk-[REDACTED] ok");
    assert_string_equal(red("tok ya29.a0AfH6SMBxyz_123-456", 1000), "tok ya29.[REDACTED]");
    assert_string_equal(red("Authorization: Bearer abc.def", 1000),
                        "Authorization: Bearer [REDACTED]");
    /* too short to be a token, or part of a word */
    assert_string_equal(red("task-12 desk-0123456789abc", 1000), "task-12 desk-0123456789abc");
}

static void forms_and_queries(void **state)
{
    assert_string_equal(red("grant_type=refresh_token&refresh_token=1%2F%2Fx&client_id=c", 1000),
                        "grant_type=refresh_token&refresh_token=[REDACTED]&client_id=c");
    assert_string_equal(red("/auth/callback?code=4/abc&state=s", 1000),
                        "/auth/callback?code=[REDACTED]&state=s");
}

static void cap_and_utf8(void **state)
{
    assert_string_equal(red("abcdef", 3), "abc");
    /* "é" is two bytes: a cut inside it backs up */
    assert_string_equal(red("a\xc3\xa9", 2), "a");
    /* a secret crossing the cut is still redacted, never shown in part */
    const char *s = red("xx sk-0123456789abcdefghij", 8);
    assert_null(strstr(s, "sk-0"));
}

static void escaped_names(void **state)
{
    /* a JSON writer may escape any character of a member name */
    assert_string_equal(red("{\"\\u0061pi_key\":\"hunter2\",\"n\":1}", 1000),
                        "{\"\\u0061pi_key\":\"[REDACTED]\",\"n\":1}");
    assert_string_equal(red("{\"refresh\\u005Ftoken\" : \"opaque-value\"}", 1000),
                        "{\"refresh\\u005Ftoken\" : \"[REDACTED]\"}");
    assert_string_equal(red("{\"\\u0070\\u0061\\u0073\\u0073word\":\"pw\"}", 1000),
                        "{\"\\u0070\\u0061\\u0073\\u0073word\":\"[REDACTED]\"}");
    /* percent-escaped form parameter names */
    assert_string_equal(red("a=1&api%5Fkey=hunter2&b=2", 1000), "a=1&api%5Fkey=[REDACTED]&b=2");
    /* an escaped name that is not a secret stays */
    assert_string_equal(red("{\"\\u006dodel\":\"m\"}", 1000), "{\"\\u006dodel\":\"m\"}");
    /* a broken escape is no name, and the text is kept as it is */
    assert_string_equal(red("{\"\\u00zzkey\":\"v\"}", 1000), "{\"\\u00zzkey\":\"v\"}");
}

static void google_keys_and_tokens(void **state)
{
    /* a Google API key anywhere: AIza + 35 characters */
    assert_string_equal(red("use AIzaSyA1234567890abcdefghijklmnopqrstu_- now", 1000),
                        "use AIza[REDACTED] now");
    assert_string_equal(red("{\"text\":\"k=AIzaSyA1234567890abcdefghijklmnopqrstuv\"}", 1000),
                        "{\"text\":\"k=AIza[REDACTED]\"}");
    /* in a URL query under another name */
    assert_string_equal(
        red("GET /v1beta/models?alt=sse&k=AIzaSyA1234567890abcdefghijklmnopqrstuv", 1000),
        "GET /v1beta/models?alt=sse&k=AIza[REDACTED]");
    /* too short to be one */
    assert_string_equal(red("AIzaShort", 1000), "AIzaShort");
    /* refresh tokens, also JSON-escaped with \/ */
    assert_string_equal(red("rt 1//0gAbCdEfGhIjKlMn ok", 1000), "rt 1//[REDACTED] ok");
    assert_string_equal(red("{\"t\":\"1\\/\\/0gAbCdEfGhIjKlMn\"}", 1000),
                        "{\"t\":\"1\\/\\/[REDACTED]\"}");
    /* access tokens and keys inside other text */
    assert_string_equal(red("{\"msg\":\"token ya29.a0AfH6SMBxyz_123-456 expired\"}", 1000),
                        "{\"msg\":\"token ya29.[REDACTED] expired\"}");
    assert_string_equal(red("x-api-key: sk-ant-api03-abcdefghijklmnop", 1000),
                        "x-api-key: sk-[REDACTED]");
    assert_string_equal(red("authorization: bearer eyJhbGciOiJI.payload.sig", 1000),
                        "authorization: bearer [REDACTED]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escaped_names),     cmocka_unit_test(google_keys_and_tokens),
        cmocka_unit_test(json_members),      cmocka_unit_test(tokens_anywhere),
        cmocka_unit_test(forms_and_queries), cmocka_unit_test(cap_and_utf8),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    red("", 1); /* releases the static buffer's previous contents */
    return rc;
}
