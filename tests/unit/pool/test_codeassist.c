/* Unit tests for pool/codeassist.h's fetchAvailableModels reader: the quota it stores per model,
 * with the limits the API reports and the retired ids (deprecatedModelIds) each model replaces,
 * in the shape of a real answer. */
#include "ag_test.h"

#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/err.h"
#include "pool/codeassist.h"

static const char answer[] =
    "{\"models\":{"
    "\"gemini-pro-agent\":{\"displayName\":\"Gemini 3.1 Pro (High)\",\"supportsThinking\":true,"
    "\"thinkingBudget\":49152,\"maxTokens\":1048576,\"maxOutputTokens\":65535,"
    "\"quotaInfo\":{\"remainingFraction\":0.75,\"resetTime\":\"2030-01-01T00:00:00Z\"}},"
    "\"claude-sonnet-4-6\":{\"maxOutputTokens\":\"64000\",\"quotaInfo\":{}},"
    "\"chat_20706\":{\"isInternal\":true,\"quotaInfo\":{\"remainingFraction\":1}},"
    "\"gemini-2.5-flash\":{\"displayName\":\"Gemini 2.5 Flash\"}},"
    "\"deprecatedModelIds\":{\"gemini-3.1-pro-high\":{\"newModelId\":\"gemini-pro-agent\"},"
    "\"gemini-3-pro-high\":\"gemini-pro-agent\",\"claude-sonnet-4-5\":{\"newModelId\":"
    "\"claude-sonnet-4-6\"}}}";

static void limits_and_replaced_ids_are_kept(void **state)
{
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(ag_codeassist_parse_models(answer, strlen(answer), &out, &n), 0);
    assert_int_equal(n, 2); /* internal ids and models without quotaInfo are not kept */
    yyjson_doc *d = yyjson_read(out, strlen(out), 0);
    yyjson_val *root = yyjson_doc_get_root(d);
    yyjson_val *pro = yyjson_obj_get(root, "gemini-pro-agent");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(pro, "max_output_tokens")), 65535);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(pro, "thinking_budget")), 49152);
    yyjson_val *rep = yyjson_obj_get(pro, "replaces");
    assert_int_equal(yyjson_arr_size(rep), 2);
    assert_string_equal(yyjson_get_str(yyjson_arr_get(rep, 0)), "gemini-3.1-pro-high");
    assert_string_equal(yyjson_get_str(yyjson_arr_get(rep, 1)), "gemini-3-pro-high");
    yyjson_val *son = yyjson_obj_get(root, "claude-sonnet-4-6");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(son, "max_output_tokens")), 64000);
    assert_null(yyjson_obj_get(son, "thinking_budget"));
    assert_string_equal(yyjson_get_str(yyjson_arr_get(yyjson_obj_get(son, "replaces"), 0)),
                        "claude-sonnet-4-5");
    assert_true(yyjson_get_num(yyjson_obj_get(son, "remaining")) == 0.0);
    yyjson_doc_free(d);
    free(out);
}

static void quota_summary_windows(void **state)
{
    static const char body[] =
        "{\"groups\":[{\"displayName\":\"Gemini Models\",\"buckets\":["
        "{\"bucketId\":\"gemini-5h\",\"window\":\"5h\",\"remainingFraction\":0.25,"
        "\"resetTime\":\"2030-01-01T05:00:00Z\",\"displayName\":\"5-hour\"},"
        "{\"bucketId\":\"gemini-weekly\",\"window\":\"weekly\"}]},"
        "{\"displayName\":\"no buckets\"}, 7]}";
    char *out = NULL;
    assert_int_equal(ag_codeassist_parse_summary(body, sizeof(body) - 1, &out), 0);
    assert_string_equal(out, "[{\"group\":\"Gemini Models\",\"buckets\":["
                             "{\"id\":\"gemini-5h\",\"window\":\"5h\",\"name\":\"5-hour\","
                             "\"remaining\":0.25,\"reset_at\":1893474000},"
                             "{\"id\":\"gemini-weekly\",\"window\":\"weekly\",\"name\":\"\","
                             "\"remaining\":0.0}]}]");
    free(out);
    /* no groups array: not a summary */
    assert_int_equal(ag_codeassist_parse_summary("{}", 2, &out), AG_EPARSE);
    assert_null(out);
    assert_int_equal(ag_codeassist_parse_summary("[", 1, &out), AG_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limits_and_replaced_ids_are_kept),
        cmocka_unit_test(quota_summary_windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
