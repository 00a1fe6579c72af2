/* Unit tests for route/models: id parsing, spec table and family/version rules, quota groups
 * (including model versions no table names), "-thinking" stripping. */
#include "ag_test.h"

#include "route/models.h"

static const char *group(const char *id)
{
    static char out[AG_MODEL_ID_MAX];
    ag_models_quota_group(ag_str_c(id), out, sizeof(out));
    return out;
}

static void parse_takes_ids_apart(void **state)
{
    struct ag_model_info mi;
    ag_models_parse(AG_STR("gemini-3.1-pro-preview"), &mi);
    assert_int_equal(mi.family, AG_MODEL_FAMILY_GEMINI);
    assert_int_equal(mi.tier, AG_MODEL_TIER_PRO);
    assert_int_equal(mi.major, 3);
    assert_int_equal(mi.minor, 1);
    ag_models_parse(AG_STR("claude-sonnet-4-6-thinking"), &mi);
    assert_int_equal(mi.family, AG_MODEL_FAMILY_CLAUDE);
    assert_int_equal(mi.tier, AG_MODEL_TIER_SONNET);
    assert_int_equal(mi.major, 4);
    assert_int_equal(mi.minor, 6);
    assert_true(mi.thinking);
    assert_false(mi.legacy_claude);
    ag_models_parse(AG_STR("claude-3-5-sonnet-20241022"), &mi);
    assert_true(mi.legacy_claude);
    assert_true(mi.dated);
    assert_int_equal(mi.major, 3);
    assert_int_equal(mi.minor, 5);
    ag_models_parse(AG_STR("gemini-2.5-flash-lite"), &mi);
    assert_int_equal(mi.tier, AG_MODEL_TIER_FLASH_LITE);
    ag_models_parse(AG_STR("gemini-pro-agent"), &mi);
    assert_int_equal(mi.major, -1);
    ag_models_parse(AG_STR("gemini-3-pro-image"), &mi);
    assert_int_equal(mi.family, AG_MODEL_FAMILY_IMAGE);
    ag_models_parse(AG_STR("llama-3"), &mi);
    assert_int_equal(mi.family, AG_MODEL_FAMILY_UNKNOWN);
    assert_string_equal(ag_models_family_name(AG_MODEL_FAMILY_GPT), "gpt");
}

static void quota_groups_follow_family_rules(void **state)
{
    /* Reference normalisation for known ids. */
    assert_string_equal(group("gemini-3-flash"), "gemini-3-flash");
    assert_string_equal(group("gemini-pro-agent"), "gemini-3-pro-high");
    assert_string_equal(group("gemini-3.1-flash-image"), "gemini-3.1-flash-image");
    assert_string_equal(group("gemini-3-pro-image"), "gemini-3-pro-image");
    assert_string_equal(group("claude-opus-4-6-thinking"), "claude");
    /* Versions no table lists get the group of their family and tier. */
    assert_string_equal(group("gemini-4-flash"), "gemini-3-flash");
    assert_string_equal(group("gemini-4.5-flash-lite-preview"), "gemini-3-flash");
    assert_string_equal(group("gemini-5-pro-exp"), "gemini-3-pro-high");
    assert_string_equal(group("gemini-4-flash-image"), "gemini-3.1-flash-image");
    assert_string_equal(group("gemini-4-pro-image"), "gemini-3-pro-image");
    assert_string_equal(group("claude-sonnet-5"), "claude");
    assert_string_equal(group("Claude-Haiku-9"), "claude");
    /* No group: the raw id, lower-cased. Tokens, not substrings: "proto" is not "pro". */
    assert_string_equal(group("GPT-OSS-120b-medium"), "gpt-oss-120b-medium");
    assert_string_equal(group("gemini-proto-x"), "gemini-proto-x");
    char small[4];
    assert_true(ag_models_quota_group(AG_STR("gemini-3-flash"), small, sizeof(small)));
    assert_string_equal(small, "gem");
}

static void specs_from_table_prefix_and_rules(void **state)
{
    struct ag_model_spec s;
    ag_models_spec(AG_STR("claude-sonnet-4-6"), &s);
    assert_int_equal(s.max_output_tokens, 64000);
    assert_int_equal(s.thinking_budget_max, 32768);
    assert_true(s.supports_thinking);
    assert_false(s.thinking_by_default);
    ag_models_spec(AG_STR("claude-opus-4-6-thinking"), &s);
    assert_int_equal(s.thinking_budget_default, 24576);
    assert_true(s.thinking_by_default);
    ag_models_spec(AG_STR("gemini-3-pro-high"), &s);
    assert_int_equal(s.thinking_budget_max, 49152);
    ag_models_spec(AG_STR("gpt-oss-120b-medium"), &s);
    assert_int_equal(s.max_output_tokens, 32768);
    assert_false(s.supports_thinking);
    ag_models_spec(AG_STR("gemini-3.1-flash-lite"), &s);
    assert_int_equal(s.max_output_tokens, 16384);
    assert_false(s.supports_thinking);
    /* Prefix within the same tier: flash-preview uses flash; flash-lite does not. */
    ag_models_spec(AG_STR("gemini-3-flash-preview"), &s);
    assert_int_equal(s.max_output_tokens, 65536);
    assert_int_equal(s.thinking_budget_max, 32768);
    ag_models_spec(AG_STR("gemini-2.5-flash-lite"), &s);
    assert_false(s.thinking_by_default);
    assert_int_equal(s.thinking_budget_default, 0);
    /* Family/version rules for ids no table lists. */
    ag_models_spec(AG_STR("gemini-4-pro"), &s);
    assert_int_equal(s.thinking_budget_max, 49152);
    assert_true(s.thinking_by_default);
    ag_models_spec(AG_STR("gemini-1.5-flash"), &s);
    assert_int_equal(s.max_output_tokens, 65535);
    assert_int_equal(s.thinking_budget_max, 24576);
    ag_models_spec(AG_STR("claude-opus-5"), &s);
    assert_true(s.thinking_by_default);
    ag_models_spec(AG_STR("claude-3-5-sonnet"), &s);
    assert_false(s.supports_thinking);
    ag_models_spec(AG_STR("claude-3-7-sonnet"), &s);
    assert_true(s.supports_thinking);
    ag_models_spec(AG_STR("mystery-model"), &s);
    assert_int_equal(s.max_output_tokens, 65535);
    assert_int_equal(s.thinking_budget_max, 24576);
    assert_false(s.supports_thinking);
    ag_models_spec(AG_STR("mystery-model-thinking"), &s);
    assert_true(s.supports_thinking);
}

static void strip_thinking_for_signature_retry(void **state)
{
    char out[AG_MODEL_ID_MAX];
    assert_true(ag_models_strip_thinking(AG_STR("claude-opus-4-6-thinking"), out, sizeof(out)));
    assert_string_equal(out, "claude-opus-4-6");
    assert_false(ag_models_strip_thinking(AG_STR("claude-sonnet-4-6"), out, sizeof(out)));
    assert_string_equal(out, "claude-sonnet-4-6");
    assert_false(ag_models_strip_thinking(AG_STR("-thinking"), out, sizeof(out)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_takes_ids_apart),
        cmocka_unit_test(quota_groups_follow_family_rules),
        cmocka_unit_test(specs_from_table_prefix_and_rules),
        cmocka_unit_test(strip_thinking_for_signature_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
