/* Unit tests for route/mapping and route/forward: built-in table, custom exact and wildcard
 * rules and their precedence, family pass-through, unknown models, "-thinking", "-online" and
 * image suffixes, deprecation forwarding, configuration errors. */
#include "ag_test.h"

#include <string.h>

#include "core/err.h"
#include "route/forward.h"
#include "route/mapping.h"

static struct ag_mapping *build(const char *custom)
{
    struct ag_mapping_config cfg = {.custom_json = custom,
                                    .custom_len = custom ? strlen(custom) : 0};
    char err[128];
    struct ag_mapping *m = ag_mapping_new(&cfg, err, sizeof(err));
    assert_non_null(m);
    return m;
}

/* Resolves name and checks the upstream id; returns the result for further checks. */
static struct ag_route_result route(const struct ag_mapping *m, const char *name, const char *want)
{
    struct ag_route_result r;
    int rc = ag_mapping_resolve(m, NULL, ag_str_c(name), &r);
    assert_int_equal(rc, 0);
    assert_string_equal(r.model, want);
    return r;
}

static void builtin_table_maps_real_client_names(void **state)
{
    struct ag_mapping *m = build(NULL);
    struct ag_route_result r;
    r = route(m, "claude-3-5-sonnet-20241022", "claude-sonnet-4-6");
    assert_int_equal(r.source, AG_ROUTE_BUILTIN);
    assert_int_equal(r.family, AG_MODEL_FAMILY_CLAUDE);
    assert_string_equal(r.provider, "cloudcode");
    assert_string_equal(r.quota_group, "claude");
    assert_int_equal(r.spec.max_output_tokens, 64000);
    r = route(m, "claude-opus-4", "claude-opus-4-6-thinking");
    assert_true(r.thinking);
    assert_string_equal(r.no_thinking_model, "claude-opus-4-6");
    route(m, "claude-haiku-4-5-20251001", "claude-sonnet-4-6");
    route(m, "claude-sonnet-4-5-20250929", "claude-sonnet-4-6-thinking");
    r = route(m, "gpt-4o", "gemini-2.5-flash");
    assert_int_equal(r.family, AG_MODEL_FAMILY_GEMINI);
    assert_string_equal(r.quota_group, "gemini-3-flash");
    route(m, "gpt-3.5-turbo", "gemini-2.5-flash");
    r = route(m, "gemini-3-pro-high", "gemini-pro-agent");
    assert_string_equal(r.quota_group, "gemini-3-pro-high");
    assert_true(r.spec.supports_thinking);
    route(m, "gemini-3.1-pro", "gemini-3.1-pro-preview");
    route(m, "gemini-3-flash-preview", "gemini-3-flash");
    /* The table is case-insensitive. */
    route(m, "Claude-Opus-4.6", "claude-opus-4-6-thinking");
    ag_mapping_free(m);
}

static void custom_exact_beats_wildcard_and_builtin(void **state)
{
    struct ag_mapping *m = build("{\"gpt-4*\":\"gemini-3-flash\","
                                 "\"gpt-4o\":\"claude-sonnet-4-6\","
                                 "\"claude-opus-*\":\"gemini-pro-agent\"}");
    struct ag_route_result r = route(m, "gpt-4o", "claude-sonnet-4-6");
    assert_int_equal(r.source, AG_ROUTE_CUSTOM_EXACT);
    assert_int_equal(r.rule_index, 1);
    r = route(m, "gpt-4-turbo", "gemini-3-flash");
    assert_int_equal(r.source, AG_ROUTE_CUSTOM_WILDCARD);
    /* A custom wildcard beats the built-in table ("claude-opus-4" is a built-in key). */
    r = route(m, "claude-opus-4", "gemini-pro-agent");
    assert_int_equal(r.source, AG_ROUTE_CUSTOM_WILDCARD);
    /* Exact rules are case-sensitive; the mismatch falls through to the built-in table. */
    r = route(m, "GPT-4O", "gemini-2.5-flash");
    assert_int_equal(r.source, AG_ROUTE_BUILTIN);
    ag_mapping_free(m);
}

static void most_specific_wildcard_wins(void **state)
{
    /* Written least specific first so that config order cannot be what decides. */
    struct ag_mapping *m = build("{\"*\":\"gemini-2.5-flash\","
                                 "\"gpt*\":\"gemini-3-flash\","
                                 "\"gpt-4*\":\"gemini-3-pro-preview\","
                                 "\"claude-opus-*\":\"claude-sonnet-4-6\","
                                 "\"claude-opus*thinking\":\"claude-opus-4-6-thinking\","
                                 "\"a*b*c\":\"gemini-3-flash\","
                                 "\"x*\":\"gemini-3-flash\",\"*y\":\"claude-sonnet-4-6\"}");
    route(m, "gpt-4.1", "gemini-3-pro-preview");
    route(m, "gpt-5", "gemini-3-flash");
    route(m, "claude-opus-9-thinking", "claude-opus-4-6-thinking");
    route(m, "claude-opus-9", "claude-sonnet-4-6");
    route(m, "aXXbYYc", "gemini-3-flash");
    /* The catch-all takes anything nothing else matched, even names that would be unknown. */
    struct ag_route_result r = route(m, "totally-unknown", "gemini-2.5-flash");
    assert_int_equal(r.rule_index, 0);
    /* Equal specificity: the rule written first wins. */
    r = route(m, "xy", "gemini-3-flash");
    assert_int_equal(r.rule_index, 6);
    ag_mapping_free(m);
}

static void wildcard_matcher_handles_stars(void **state)
{
    assert_true(ag_mapping_wildcard_match(AG_STR("a*b*c"), AG_STR("abc")));
    assert_true(ag_mapping_wildcard_match(AG_STR("a*b*c"), AG_STR("a-b-b-c")));
    assert_false(ag_mapping_wildcard_match(AG_STR("a*b*c"), AG_STR("a-b-c-d")));
    assert_true(ag_mapping_wildcard_match(AG_STR("*"), AG_STR("")));
    assert_true(ag_mapping_wildcard_match(AG_STR("**x"), AG_STR("yyx")));
    assert_false(ag_mapping_wildcard_match(AG_STR("gpt-4*"), AG_STR("gpt-5")));
    assert_false(ag_mapping_wildcard_match(AG_STR("Gpt*"), AG_STR("gpt-4")));
}

static void known_families_pass_through_unknown_names_fail(void **state)
{
    struct ag_mapping *m = build(NULL);
    struct ag_route_result r;
    r = route(m, "gemini-3.5-flash", "gemini-3.5-flash");
    assert_int_equal(r.source, AG_ROUTE_PASSTHROUGH);
    route(m, "Gemini-4-Pro", "gemini-4-pro");
    route(m, "claude-sonnet-5", "claude-sonnet-5");
    route(m, "gpt-oss-120b-medium", "gpt-oss-120b-medium");
    /* Anthropic API snapshot names and haiku (not served upstream) go to the tier's model. */
    r = route(m, "claude-opus-4-1-20250805", "claude-opus-4-6-thinking");
    assert_int_equal(r.source, AG_ROUTE_FAMILY);
    route(m, "claude-3-7-sonnet-latest", "claude-sonnet-4-6-thinking");
    route(m, "claude-haiku-4-5", "claude-sonnet-4-6");
    /* New OpenAI names are covered by the family rule like the table's GPT entries. */
    r = route(m, "gpt-5.1", "gemini-2.5-flash");
    assert_int_equal(r.source, AG_ROUTE_FAMILY);

    assert_int_equal(ag_mapping_resolve(m, NULL, AG_STR("llama-3-70b"), &r), AG_ENOTFOUND);
    assert_string_equal(r.model, "llama-3-70b");
    assert_int_equal(ag_mapping_resolve(m, NULL, AG_STR("  "), &r), AG_EINVAL);
    char big[200];
    memset(big, 'g', sizeof(big));
    assert_int_equal(ag_mapping_resolve(m, NULL, ag_str_make(big, sizeof(big)), &r), AG_EINVAL);
    ag_mapping_free(m);
}

static void thinking_suffix_handling(void **state)
{
    struct ag_mapping *m = build("{\"my-model-thinking\":\"gemini-3-flash\"}");
    struct ag_route_result r;
    /* Claude: the suffix is part of the upstream id; the no-thinking retry id drops it. */
    r = route(m, "claude-sonnet-4-6-thinking", "claude-sonnet-4-6-thinking");
    assert_true(r.thinking);
    assert_true(r.spec.thinking_by_default);
    assert_string_equal(r.no_thinking_model, "claude-sonnet-4-6");
    r = route(m, "claude-sonnet-4-6", "claude-sonnet-4-6");
    assert_false(r.thinking);
    assert_false(r.spec.thinking_by_default);
    assert_string_equal(r.no_thinking_model, "claude-sonnet-4-6");
    /* Gemini: a listed thinking id stays; an unlisted one becomes a thinking request. */
    r = route(m, "gemini-2.5-flash-thinking", "gemini-2.5-flash-thinking");
    assert_true(r.thinking);
    r = route(m, "gemini-3.5-flash-thinking", "gemini-3.5-flash");
    assert_true(r.thinking);
    assert_int_equal(r.source, AG_ROUTE_PASSTHROUGH);
    /* The client's "-thinking" asks for thinking even when a custom rule renames the model. */
    r = route(m, "my-model-thinking", "gemini-3-flash");
    assert_true(r.thinking);
    ag_mapping_free(m);
}

static void online_and_image_suffixes(void **state)
{
    struct ag_mapping *m = build(NULL);
    struct ag_route_result r = route(m, "gemini-3-flash-online", "gemini-3-flash");
    assert_true(r.web_search);
    r = route(m, "gemini-3-flash", "gemini-3-flash");
    assert_false(r.web_search);
    r = route(m, "gemini-3-pro-image-4k-16x9", "gemini-3-pro-image");
    assert_true(r.image);
    assert_int_equal(r.family, AG_MODEL_FAMILY_IMAGE);
    assert_string_equal(r.image_size, "4K");
    assert_string_equal(r.aspect_ratio, "16:9");
    assert_string_equal(r.quota_group, "gemini-3-pro-image");
    r = route(m, "gemini-3.1-flash-image-21-9", "gemini-3.1-flash-image");
    assert_string_equal(r.aspect_ratio, "21:9");
    assert_string_equal(r.image_size, "");
    assert_string_equal(r.quota_group, "gemini-3.1-flash-image");
    ag_mapping_free(m);
}

static void deprecation_forwarding_applies_to_the_upstream_id(void **state)
{
    struct ag_mapping *m = build("{\"keep-me\":\"gemini-3-pro-preview\"}");
    struct ag_forward *f = ag_forward_new();
    const char *dep = "{\"gemini-3-pro-preview\":{\"newModelId\":\"gemini-3.1-pro-preview\"},"
                      "\"gemini-3.1-pro-preview\":{\"newModelId\":\"gemini-3.2-pro-preview\"},"
                      "\"bad\":{}}";
    assert_int_equal(ag_forward_add_json(f, dep, strlen(dep)), 0);
    assert_int_equal(ag_forward_count(f), 2);
    assert_int_equal(ag_forward_add_json(f, "[1]", 3), AG_EPARSE);
    struct ag_route_result r;
    /* The built-in "gemini-3-pro" → gemini-3-pro-preview follows the chain to the newest id. */
    assert_int_equal(ag_mapping_resolve(m, f, AG_STR("gemini-3-pro"), &r), 0);
    assert_string_equal(r.model, "gemini-3.2-pro-preview");
    assert_true(r.forwarded);
    assert_int_equal(ag_mapping_resolve(m, f, AG_STR("keep-me"), &r), 0);
    assert_string_equal(r.model, "gemini-3.2-pro-preview");
    /* A cycle stops after the hop limit instead of looping. */
    assert_int_equal(
        ag_forward_add(f, AG_STR("gemini-3.2-pro-preview"), AG_STR("gemini-3-pro-preview")), 0);
    assert_int_equal(ag_mapping_resolve(m, f, AG_STR("gemini-3-flash"), &r), 0);
    assert_string_equal(r.model, "gemini-3-flash");
    assert_false(r.forwarded);
    assert_int_equal(ag_mapping_resolve(m, f, AG_STR("gemini-3-pro"), &r), 0);
    assert_true(r.forwarded);
    /* Without the rule set nothing is forwarded. */
    assert_int_equal(ag_mapping_resolve(m, NULL, AG_STR("gemini-3-pro"), &r), 0);
    assert_string_equal(r.model, "gemini-3-pro-preview");
    assert_int_equal(ag_forward_add(f, AG_STR("x"), AG_STR("x")), AG_EINVAL);
    ag_forward_free(f);
    ag_mapping_free(m);
}

static void invalid_custom_rules_are_rejected(void **state)
{
    static const char *const bad[] = {"[1,2]",        "{\"a\":1}",      "{\"a\":\"\"}",
                                      "{\"\":\"b\"}", "{\"a\":\"b*\"}", "{not json"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ag_mapping_config cfg = {.custom_json = bad[i], .custom_len = strlen(bad[i])};
        char err[128] = "";
        assert_null(ag_mapping_new(&cfg, err, sizeof(err)));
        assert_true(strncmp(err, "mapping.custom:", 15) == 0);
    }
    struct ag_mapping_config ok = {.custom_json = "null", .custom_len = 4, .background_model = ""};
    struct ag_mapping *m = ag_mapping_new(&ok, NULL, 0);
    assert_non_null(m);
    assert_string_equal(ag_mapping_background_model(m), "");
    ag_mapping_free(m);
    ag_mapping_free(NULL);
}

static void rules_from_a_config_snapshot_map(void **state)
{
    struct ag_config_pair pairs[] = {{"claude-*", "gemini-3-flash"},
                                     {"claude-opus-4", "claude-sonnet-4-6"}};
    struct ag_config_strmap map = {2, pairs};
    struct ag_mapping_config cfg = {.custom = &map};
    struct ag_mapping *m = ag_mapping_new(&cfg, NULL, 0);
    assert_non_null(m);
    route(m, "claude-opus-4", "claude-sonnet-4-6");
    route(m, "claude-sonnet-4-5", "gemini-3-flash");
    ag_mapping_free(m);

    struct ag_config_pair bad[] = {{"x", "y*"}};
    struct ag_config_strmap badmap = {1, bad};
    cfg.custom = &badmap;
    char err[128];
    assert_null(ag_mapping_new(&cfg, err, sizeof(err)));
    assert_string_equal(err, "mapping.custom: target cannot contain '*': x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_table_maps_real_client_names),
        cmocka_unit_test(custom_exact_beats_wildcard_and_builtin),
        cmocka_unit_test(most_specific_wildcard_wins),
        cmocka_unit_test(wildcard_matcher_handles_stars),
        cmocka_unit_test(known_families_pass_through_unknown_names_fail),
        cmocka_unit_test(thinking_suffix_handling),
        cmocka_unit_test(online_and_image_suffixes),
        cmocka_unit_test(deprecation_forwarding_applies_to_the_upstream_id),
        cmocka_unit_test(invalid_custom_rules_are_rejected),
        cmocka_unit_test(rules_from_a_config_snapshot_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
