/* tests/unit/clients/test_toml_edit.c: the TOML scanner accepts real config files and refuses
 * broken ones; set / remove change only the one value or line and keep comments and unrelated
 * tables byte for byte. */
#include "ag_test.h"

#include <stdlib.h>
#include <string.h>

#include "clients/toml_edit.h"
#include "core/err.h"

static const char codex_cfg[] = "# my Codex settings\n"
                                "model = \"gpt-5\"  # the default\n"
                                "approval_policy = 'never'\n"
                                "notify = [\n"
                                "  \"notify-send\", # a comment inside\n"
                                "  \"Codex\",\n"
                                "]\n"
                                "created = 1979-05-27 07:32:00Z\n"
                                "ratio = +1.5e3\n"
                                "flags = { a = true, b = [1, 2, { c = \"d\" }] }\n"
                                "\"quoted key\".x = 1\n"
                                "motd = \"\"\"\n"
                                "line one \\\"\n"
                                "[not a table]\n"
                                "\"\"\"\n"
                                "raw = '''\n"
                                "x = 'y'\n"
                                "'''\n"
                                "\n"
                                "# the OpenAI provider\n"
                                "[model_providers.openai-proxy]\n"
                                "name = \"proxy\"\n"
                                "base_url = \"https://example.com/v1\"\n"
                                "\n"
                                "[[profiles.list]]\n"
                                "id = 1\n"
                                "[[profiles.list]]\n"
                                "id = 2\n"
                                "\r\n"
                                "[tui]\r\n"
                                "notifications = true\r\n";

static void scan_ok(const char *text, struct ag_toml_doc *doc)
{
    char err[256];
    int rc = ag_toml_scan(text, strlen(text), doc, err, sizeof(err));
    if (rc)
        fail_msg("scan failed: %s", err);
}

static void test_scan_real_file(void **state)
{
    (void)state;
    struct ag_toml_doc doc;
    char v[128];
    scan_ok(codex_cfg, &doc);
    assert_true(ag_toml_get_string(&doc, NULL, "model", v, sizeof(v)));
    assert_string_equal(v, "gpt-5");
    assert_true(ag_toml_get_string(&doc, NULL, "approval_policy", v, sizeof(v)));
    assert_string_equal(v, "never");
    /* a part that needs its quotes keeps them */
    assert_true(ag_toml_find(&doc, NULL, "\"quoted key\".x") >= 0);
    assert_int_equal(ag_toml_find(&doc, NULL, "quoted key.x"), -1);
    /* the [not a table] line is inside a multi-line string */
    assert_int_equal(ag_toml_find_table(&doc, "not a table"), -1);
    assert_true(ag_toml_get_string(&doc, "model_providers.openai-proxy", "base_url", v, sizeof(v)));
    assert_string_equal(v, "https://example.com/v1");
    assert_true(ag_toml_find(&doc, "tui", "notifications") >= 0);
    assert_false(ag_toml_get_string(&doc, NULL, "ratio", v, sizeof(v))); /* not a string */
    ag_toml_dispose(&doc);
}

static void refused(const char *text, const char *why)
{
    struct ag_toml_doc doc;
    char err[256] = "";
    int rc = ag_toml_scan(text, strlen(text), &doc, err, sizeof(err));
    if (rc != AG_EPARSE)
        fail_msg("accepted (%d): %s", rc, text);
    if (!strstr(err, why))
        fail_msg("message \"%s\" does not say \"%s\"", err, why);
}

static void test_scan_refuses(void **state)
{
    (void)state;
    refused("a = \"open\n", "line 1: string not closed on its line");
    refused("x = 1\na = bare\n", "line 2: invalid value");
    refused("a 1\n", "expected '='");
    refused("a = 1 b = 2\n", "unexpected text after the value");
    refused("[t]\nx = 1\n[t]\n", "table [t] is defined twice");
    refused("[t\n", "expected ']'");
    refused("a = [1, 2\n", "expected ',' or ']'");
    refused("a = \"\"\"never closed\n", "multi-line string not closed");
    refused("a = { b = 1\n", "inline table");
    refused("= 1\n", "expected a key");
    refused("a = 1\r\rb = 2\n", "unexpected text");
    /* a NUL byte */
    struct ag_toml_doc doc;
    char err[128];
    assert_int_equal(ag_toml_scan("a = 1\0\n", 7, &doc, err, sizeof(err)), AG_EPARSE);
}

static void test_scan_bounds(void **state)
{
    (void)state;
    struct ag_toml_doc doc;
    char err[128];
    /* nesting past the limit is refused, at the limit accepted */
    size_t n = AG_TOML_MAX_NEST + 2;
    char *deep = calloc(1, 2 * n + 16);
    memcpy(deep, "a = ", 4);
    memset(deep + 4, '[', n);
    memset(deep + 4 + n, ']', n);
    assert_int_equal(ag_toml_scan(deep, strlen(deep), &doc, err, sizeof(err)), AG_EPARSE);
    assert_non_null(strstr(err, "nested too deeply"));
    n = AG_TOML_MAX_NEST;
    memset(deep + 4, '[', n);
    memset(deep + 4 + n, ']', n);
    deep[4 + 2 * n] = '\0';
    assert_int_equal(ag_toml_scan(deep, strlen(deep), &doc, err, sizeof(err)), 0);
    ag_toml_dispose(&doc);
    free(deep);
    /* too large */
    char *big = malloc(AG_TOML_MAX_TEXT + 1);
    memset(big, '\n', AG_TOML_MAX_TEXT + 1);
    assert_int_equal(ag_toml_scan(big, AG_TOML_MAX_TEXT + 1, &doc, err, sizeof(err)), AG_ETOOBIG);
    free(big);
}

/* Applies set (value NULL: remove) to text and returns the new text (malloc'd). */
static char *edit(const char *text, const char *table, const char *key, const char *value,
                  bool *changed)
{
    struct ag_toml_doc doc;
    struct ag_buf out;
    scan_ok(text, &doc);
    ag_buf_init(&out, AG_TOML_MAX_TEXT * 2);
    int rc = value ? ag_toml_set(&doc, table, key, value, &out, changed)
                   : ag_toml_remove(&doc, table, key, &out, changed);
    assert_int_equal(rc, 0);
    ag_toml_dispose(&doc);
    char *s = strndup(out.data ? out.data : "", out.len);
    ag_buf_dispose(&out);
    /* whatever we write scans again */
    scan_ok(s, &doc);
    ag_toml_dispose(&doc);
    return s;
}

static void test_set_in_place_keeps_comment(void **state)
{
    (void)state;
    bool changed;
    char *s = edit(codex_cfg, NULL, "model", "\"gemini-3-flash\"", &changed);
    assert_true(changed);
    assert_non_null(strstr(s, "model = \"gemini-3-flash\"  # the default\n"));
    /* everything else is as it was */
    const char *old = strstr(codex_cfg, "approval_policy");
    assert_non_null(strstr(s, old));
    free(s);
    /* the same value again: no change, the same bytes */
    s = edit(codex_cfg, NULL, "model", "\"gpt-5\"", &changed);
    assert_false(changed);
    assert_string_equal(s, codex_cfg);
    free(s);
}

static void test_set_inserts_at_top_level(void **state)
{
    (void)state;
    bool changed;
    char *s = edit(codex_cfg, NULL, "model_provider", "\"aigate\"", &changed);
    assert_true(changed);
    /* after the last top-level key (the multi-line string), before the comment of the table */
    assert_non_null(strstr(s, "'''\nmodel_provider = \"aigate\"\n\n# the OpenAI provider\n"));
    struct ag_toml_doc doc;
    scan_ok(s, &doc);
    assert_true(ag_toml_find(&doc, NULL, "model_provider") >= 0);
    ag_toml_dispose(&doc);
    free(s);
    /* a file that starts with a table: the key goes first */
    s = edit("[t]\nx = 1", NULL, "k", "2", &changed);
    assert_string_equal(s, "k = 2\n[t]\nx = 1");
    free(s);
}

static void test_set_in_table(void **state)
{
    (void)state;
    bool changed;
    char *s =
        edit(codex_cfg, "model_providers.openai-proxy", "wire_api", "\"responses\"", &changed);
    assert_non_null(strstr(s, "base_url = \"https://example.com/v1\"\nwire_api = \"responses\"\n\n"
                              "[[profiles.list]]"));
    free(s);
    /* a table without keys: right after its header; a last line without newline gets one */
    s = edit("[a]\n[b]\nx = 1", "a", "k", "1", &changed);
    assert_string_equal(s, "[a]\nk = 1\n[b]\nx = 1");
    free(s);
    s = edit("[b]\nx = 1", "b", "k", "1", &changed);
    assert_string_equal(s, "[b]\nx = 1\nk = 1\n");
    free(s);
}

static void test_new_table_appended(void **state)
{
    (void)state;
    bool changed;
    char *s = edit(codex_cfg, "model_providers.aigate", "name", "\"aigate\"", &changed);
    assert_true(changed);
    size_t n = strlen(codex_cfg);
    assert_memory_equal(s, codex_cfg, n);
    assert_string_equal(s + n, "\n[model_providers.aigate]\nname = \"aigate\"\n");
    free(s);
    s = edit("", "t", "k", "1", &changed);
    assert_string_equal(s, "[t]\nk = 1\n");
    free(s);
    s = edit("a = 1", "t", "k", "1", &changed);
    assert_string_equal(s, "a = 1\n\n[t]\nk = 1\n");
    free(s);
}

static void test_remove(void **state)
{
    (void)state;
    bool changed;
    char *s = edit("[p]\nname = \"x\"\nenv_key = \"K\" # old\nbase_url = \"u\"\n", "p", "env_key",
                   NULL, &changed);
    assert_true(changed);
    assert_string_equal(s, "[p]\nname = \"x\"\nbase_url = \"u\"\n");
    free(s);
    s = edit("[p]\nname = \"x\"\n", "p", "env_key", NULL, &changed);
    assert_false(changed);
    assert_string_equal(s, "[p]\nname = \"x\"\n");
    free(s);
}

static void test_quote(void **state)
{
    (void)state;
    struct ag_buf b;
    ag_buf_init(&b, 256);
    assert_int_equal(ag_toml_quote(&b, "a\"b\\c\nd"), 0);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000ad\"");
    ag_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_real_file),
        cmocka_unit_test(test_scan_refuses),
        cmocka_unit_test(test_scan_bounds),
        cmocka_unit_test(test_set_in_place_keeps_comment),
        cmocka_unit_test(test_set_inserts_at_top_level),
        cmocka_unit_test(test_set_in_table),
        cmocka_unit_test(test_new_table_appended),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
