/* tests/unit/clients/test_json_edit.c: settings files in JSON keep every other member (order and
 * number text included) when aigate sets its own; JSON with comments, broken JSON and non-objects
 * are refused with a message saying which; .env files keep their other lines and comments. */
#include "ag_test.h"

#include <stdlib.h>
#include <string.h>

#include "clients/dotenv.h"
#include "clients/json_edit.h"
#include "core/err.h"

static yyjson_mut_doc *load_ok(const char *text)
{
    char err[256] = "";
    yyjson_mut_doc *d = ag_json_edit_load(text, strlen(text), err, sizeof(err));
    if (!d)
        fail_msg("refused: %s", err);
    return d;
}

static char *dump(yyjson_mut_doc *d)
{
    struct ag_buf b;
    ag_buf_init(&b, 1 << 20);
    assert_int_equal(ag_json_edit_dump(d, &b), 0);
    char *s = strndup(b.data, b.len);
    ag_buf_dispose(&b);
    return s;
}

static void test_set_keeps_everything_else(void **state)
{
    (void)state;
    yyjson_mut_doc *d = load_ok("{\"z\":1.50,\"big\":123456789012345678901234567890,"
                                "\"env\":{\"FOO\":\"bar\",\"ANTHROPIC_BASE_URL\":\"http://old\"},"
                                "\"list\":[true,null,\"\\u00e9\"]}");
    static const char *const url[] = {"env", "ANTHROPIC_BASE_URL"};
    static const char *const tok[] = {"env", "ANTHROPIC_AUTH_TOKEN"};
    char err[128];
    bool changed = false;
    assert_int_equal(
        ag_json_edit_set(d, url, 2, "http://127.0.0.1:8045", &changed, err, sizeof(err)), 0);
    assert_true(changed);
    assert_int_equal(ag_json_edit_set(d, tok, 2, "sk-1", &changed, err, sizeof(err)), 0);
    char *s = dump(d);
    assert_string_equal(s, "{\n"
                           "  \"z\": 1.50,\n"
                           "  \"big\": 123456789012345678901234567890,\n"
                           "  \"env\": {\n"
                           "    \"FOO\": \"bar\",\n"
                           "    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:8045\",\n"
                           "    \"ANTHROPIC_AUTH_TOKEN\": \"sk-1\"\n"
                           "  },\n"
                           "  \"list\": [\n"
                           "    true,\n"
                           "    null,\n"
                           "    \"\xc3\xa9\"\n"
                           "  ]\n"
                           "}\n");
    /* the same value again: no change */
    changed = false;
    assert_int_equal(ag_json_edit_set(d, tok, 2, "sk-1", &changed, err, sizeof(err)), 0);
    assert_false(changed);
    assert_string_equal(ag_json_edit_get(d, url, 2), "http://127.0.0.1:8045");
    free(s);
    yyjson_mut_doc_free(d);
}

static void test_creates_objects_and_refuses_non_objects(void **state)
{
    (void)state;
    yyjson_mut_doc *d = load_ok("  \n");
    static const char *const p[] = {"security", "auth", "selectedType"};
    char err[128];
    bool changed = false;
    assert_int_equal(ag_json_edit_set(d, p, 3, "gemini-api-key", &changed, err, sizeof(err)), 0);
    char *s = dump(d);
    assert_string_equal(s, "{\n  \"security\": {\n    \"auth\": {\n      \"selectedType\": "
                           "\"gemini-api-key\"\n    }\n  }\n}\n");
    free(s);
    yyjson_mut_doc_free(d);

    d = load_ok("{\"security\": \"strict\"}");
    changed = false;
    assert_int_equal(ag_json_edit_set(d, p, 3, "x", &changed, err, sizeof(err)), AG_EPARSE);
    assert_string_equal(err, "has \"security\" but it is not an object");
    assert_false(changed);
    yyjson_mut_doc_free(d);
}

static void refused(const char *text, const char *why)
{
    char err[512] = "";
    yyjson_mut_doc *d = ag_json_edit_load(text, strlen(text), err, sizeof(err));
    if (d)
        fail_msg("accepted: %s", text);
    if (!strstr(err, why))
        fail_msg("message \"%s\" does not say \"%s\"", err, why);
}

static void test_refusals(void **state)
{
    (void)state;
    refused("{\n  // a comment\n  \"a\": 1\n}", "comments or trailing commas");
    refused("{\"a\": 1,}", "comments or trailing commas");
    refused("{\"a\": 1 /* c */}", "comments or trailing commas");
    refused("{\"a\": }", "is not valid JSON");
    refused("[1, 2]", "not an object");
    refused("\"text\"", "not an object");
    char deep[600];
    memset(deep, 0, sizeof(deep));
    deep[0] = '{';
    size_t n = 1;
    for (int i = 0; i < AG_JSON_EDIT_MAX_DEPTH; i++) {
        memcpy(deep + n, "\"a\":{", 5);
        n += 5;
    }
    for (int i = 0; i <= AG_JSON_EDIT_MAX_DEPTH; i++)
        deep[n++] = '}';
    refused(deep, "nests deeper");
}

static char *env_set(const char *text, const char *name, const char *value, bool *changed)
{
    struct ag_buf b;
    char err[128];
    assert_int_equal(ag_dotenv_check(text, strlen(text), err, sizeof(err)), 0);
    ag_buf_init(&b, 1 << 20);
    assert_int_equal(ag_dotenv_set(text, strlen(text), name, value, &b, changed), 0);
    char *s = strndup(b.data ? b.data : "", b.len);
    ag_buf_dispose(&b);
    return s;
}

static void test_dotenv(void **state)
{
    (void)state;
    bool changed;
    const char *text = "# my keys\nOTHER=\"a b\" # note\nexport GEMINI_API_KEY=old\n\nX: y\n";
    char *s = env_set(text, "GEMINI_API_KEY", "sk-new", &changed);
    assert_true(changed);
    assert_string_equal(s, "# my keys\nOTHER=\"a b\" # note\nGEMINI_API_KEY=sk-new\n\nX: y\n");
    char *s2 = env_set(s, "GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:1", &changed);
    assert_true(changed);
    assert_string_equal(s2, "# my keys\nOTHER=\"a b\" # note\nGEMINI_API_KEY=sk-new\n\nX: y\n"
                            "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:1\n");
    char *s3 = env_set(s2, "GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:1", &changed);
    assert_false(changed);
    assert_string_equal(s3, s2);
    char v[64];
    assert_true(ag_dotenv_get(s3, strlen(s3), "OTHER", v, sizeof(v)));
    assert_string_equal(v, "a b");
    assert_true(ag_dotenv_get(s3, strlen(s3), "GEMINI_API_KEY", v, sizeof(v)));
    assert_string_equal(v, "sk-new");
    assert_false(ag_dotenv_get(s3, strlen(s3), "NOPE", v, sizeof(v)));
    free(s);
    free(s2);
    free(s3);
    /* no final newline: one is added before the new line */
    s = env_set("A=1", "B", "2", &changed);
    assert_string_equal(s, "A=1\nB=2\n");
    free(s);

    char err[128];
    const char *multi = "KEY=\"first\nsecond\"\n";
    assert_int_equal(ag_dotenv_check(multi, strlen(multi), err, sizeof(err)), AG_EPARSE);
    assert_string_equal(err, "line 1: a quoted value that does not end on its line");
    const char *junk = "A=1\nthis is not a definition\n";
    assert_int_equal(ag_dotenv_check(junk, strlen(junk), err, sizeof(err)), AG_EPARSE);
    assert_string_equal(err, "line 2: not NAME=value");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_keeps_everything_else),
        cmocka_unit_test(test_creates_objects_and_refuses_non_objects),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_dotenv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
