/* Unit tests for store/account_json.c: import of both accepted formats, per-entry problems,
 * whole-file rejection with positions, the export round trip, and the quota JSON check. */
#include "ag_test.h"

#include "core/err.h"
#include "store/account_json.h"

#include "store_test_util.h"

static int parse(const char *text, struct ag_account_import *imp)
{
    return ag_account_import_parse(text, strlen(text), imp);
}

static void array_format_with_entry_problems(void **state)
{
    struct ag_account_import imp;
    const char *text = "[\n"
                       "  {\"refresh_token\": \"1//aaa\", \"email\": \"a@example.com\"},\n"
                       "  {\"refresh_token\": \"  1//bbb\\n\", \"label\": \"team\"},\n"
                       "  {\"email\": \"c@example.com\"},\n"
                       "  {\"refresh_token\": 42},\n"
                       "  \"1//not-an-object\",\n"
                       "  {\"refresh_token\": \"1//aaa\"},\n"
                       "  {\"refresh_token\": \"\"},\n"
                       "  {\"token\": {\"refresh_token\": \"1//nested\"}, \"email\": 7}\n"
                       "]";
    assert_int_equal(parse(text, &imp), 0);
    assert_int_equal(imp.format, AG_IMPORT_ARRAY);
    assert_int_equal(imp.len, 8);
    assert_int_equal(imp.usable, 2);

    assert_null(imp.entries[0].error);
    assert_string_equal(imp.entries[0].refresh_token, "1//aaa");
    assert_string_equal(imp.entries[0].email, "a@example.com");
    assert_null(imp.entries[1].error);
    assert_string_equal(imp.entries[1].refresh_token, "1//bbb"); /* trimmed */
    assert_null(imp.entries[1].email);
    assert_string_equal(imp.entries[1].label, "team");

    assert_int_equal(imp.entries[2].index, 2);
    assert_null(imp.entries[2].refresh_token);
    assert_string_equal(imp.entries[2].error, "missing \"refresh_token\"");
    assert_string_equal(imp.entries[3].error, "\"refresh_token\" is not a string");
    assert_string_equal(imp.entries[4].error, "not a JSON object");
    assert_string_equal(imp.entries[5].error, "duplicate of entry 1");
    assert_string_equal(imp.entries[6].error, "\"refresh_token\" is empty");
    assert_string_equal(imp.entries[7].error, "\"email\" is not a string");
    ag_account_import_dispose(&imp);
}

static void reference_export_format(void **state)
{
    struct ag_account_import imp;
    /* With a UTF-8 byte-order mark, as some editors save it. */
    const char *text = "\xEF\xBB\xBF{\"accounts\": [{\"email\": \"x@example.com\","
                       " \"refresh_token\": \"1//x\"}, {\"email\": \"y@example.com\","
                       " \"refresh_token\": \"1//y\"}]}";
    assert_int_equal(parse(text, &imp), 0);
    assert_int_equal(imp.format, AG_IMPORT_WRAPPED);
    assert_int_equal(imp.len, 2);
    assert_int_equal(imp.usable, 2);
    assert_string_equal(imp.entries[1].email, "y@example.com");
    assert_string_equal(imp.entries[1].refresh_token, "1//y");
    ag_account_import_dispose(&imp);

    /* Antigravity Manager's per-account file: one object with a nested token. */
    assert_int_equal(
        parse("{\"email\":\"z@example.com\",\"token\":{\"refresh_token\":\"1//z\"}}", &imp), 0);
    assert_int_equal(imp.format, AG_IMPORT_SINGLE);
    assert_int_equal(imp.usable, 1);
    assert_string_equal(imp.entries[0].refresh_token, "1//z");
    ag_account_import_dispose(&imp);

    /* An empty array is a valid file with nothing in it. */
    assert_int_equal(parse("[]", &imp), 0);
    assert_int_equal(imp.len, 0);
    ag_account_import_dispose(&imp);
}

static void malformed_files_are_rejected_with_position(void **state)
{
    struct ag_account_import imp;
    /* A trailing comma on line 2: yyjson points at the comma. */
    const char *text = "[\n  {\"refresh_token\": \"1//a\",}\n]";
    assert_int_equal(parse(text, &imp), AG_EPARSE);
    assert_int_equal(imp.len, 0);
    assert_null(imp.entries);
    assert_int_equal(imp.err_line, 2);
    assert_int_equal(imp.err_column, 27);
    assert_int_equal(imp.err_offset, 28);
    assert_int_equal(text[imp.err_offset], ',');
    assert_non_null(strstr(imp.error, "line 2, column 27 (byte 28): trailing comma"));
    ag_account_import_dispose(&imp);

    /* Truncated: the position is the end of the input. */
    const char *cut = "[{\"refresh_token\": \"1//a\"},\n {\"email\": \"b";
    assert_int_equal(parse(cut, &imp), AG_EPARSE);
    assert_int_equal(imp.err_line, 2);
    assert_int_equal(imp.err_offset, strlen(cut));
    assert_int_equal(imp.err_column, strlen(cut) - 28 + 1);

    /* The BOM counts in the byte offset but the position is still right. */
    assert_int_equal(parse("\xEF\xBB\xBF[1,,2]", &imp), AG_EPARSE);
    assert_int_equal(imp.err_offset, 6);
    assert_int_equal(imp.err_line, 1);

    /* Well-formed JSON of the wrong shape. */
    assert_int_equal(parse("  {\"foo\": 1}", &imp), AG_EPARSE);
    assert_int_equal(imp.err_column, 3);
    assert_non_null(strstr(imp.error, "expected a JSON array"));
    assert_int_equal(parse("{\"accounts\": {}}", &imp), AG_EPARSE);
    assert_non_null(strstr(imp.error, "\"accounts\" is not an array"));
    assert_int_equal(parse("42", &imp), AG_EPARSE);

    assert_int_equal(parse(" \n ", &imp), AG_EPARSE);
    assert_non_null(strstr(imp.error, "empty"));
    assert_int_equal(ag_account_import_parse("", 0, &imp), AG_EPARSE);
}

static void parse_file_reads_and_reports(void **state)
{
    struct tmpdir t;
    struct ag_account_import imp;
    char path[160];
    tmpdir_make(&t);
    snprintf(path, sizeof(path), "%s/import.json", t.dir);
    assert_int_equal(ag_account_import_parse_file(path, &imp), AG_EIO);
    assert_non_null(strstr(imp.error, "cannot open"));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[{\"refresh_token\": \"1//file\"}]", f);
    fclose(f);
    assert_int_equal(ag_account_import_parse_file(path, &imp), 0);
    assert_int_equal(imp.usable, 1);
    assert_string_equal(imp.entries[0].refresh_token, "1//file");
    ag_account_import_dispose(&imp);
    tmpdir_remove(&t);
}

static void export_round_trips_through_import(void **state)
{
    struct ag_account accts[2] = {
        {.id = "id-1",
         .email = "a@example.com",
         .refresh_token = "1//a",
         .access_token = "ya29.a",
         .tier = AG_TIER_ULTRA,
         .quota_json = "{\"gemini-3-flash\":{\"remaining\":0.5,\"reset_at\":1760000000}}",
         .label = "team",
         .created_at = 100},
        {.id = "id-2", .email = "b@example.com", .refresh_token = "1//b", .disabled = true},
    };
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(ag_account_export_json(accts, 2, &json, &len), 0);
    assert_int_equal(strlen(json), len);
    assert_non_null(strstr(json, "\"refresh_token\": \"1//a\""));
    assert_non_null(strstr(json, "\"tier\": \"ultra\""));
    /* Quota is embedded as an object, not a string. */
    assert_non_null(strstr(json, "\"quota\": {"));

    struct ag_account_import imp;
    assert_int_equal(ag_account_import_parse(json, len, &imp), 0);
    assert_int_equal(imp.usable, 2);
    assert_string_equal(imp.entries[0].email, "a@example.com");
    assert_string_equal(imp.entries[0].refresh_token, "1//a");
    assert_string_equal(imp.entries[0].label, "team");
    assert_string_equal(imp.entries[1].refresh_token, "1//b");
    ag_account_import_dispose(&imp);
    free(json);

    assert_int_equal(ag_account_export_json(NULL, 0, &json, &len), 0);
    assert_string_equal(json, "[]");
    free(json);
}

static void quota_json_check(void **state)
{
    char err[160];
    const char *ok = "{\"a\":{\"remaining\":1,\"reset_at\":0},\"b\":{\"remaining\":0.25}}";
    assert_int_equal(ag_quota_json_check(ok, strlen(ok), err, sizeof(err)), 0);
    const char *bad[] = {
        "[]",
        "{\"a\":{\"remaining\":-0.1}}",
        "{\"a\":{\"remaining\":\"0.5\"}}",
        "{\"a\":{}}",
        "{\"a\":{\"remaining\":0.5,\"reset_at\":-5}}",
        "{\"a\":{\"remaining\":0.5,\"reset_at\":\"2026-01-01T00:00:00Z\"}}",
        "{\"a\":1}",
        "{\"a\":",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(ag_quota_json_check(bad[i], strlen(bad[i]), err, sizeof(err)), AG_EPARSE);
        assert_true(err[0] != '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(array_format_with_entry_problems),
        cmocka_unit_test(reference_export_format),
        cmocka_unit_test(malformed_files_are_rejected_with_position),
        cmocka_unit_test(parse_file_reads_and_reports),
        cmocka_unit_test(export_round_trips_through_import),
        cmocka_unit_test(quota_json_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
