/* Unit tests for what the relay asks of route/ once an account is in view: retired ids forwarded
 * after routing (built-in table, an account's deprecatedModelIds), the family alternatives an
 * account may serve instead of the routed id, and the output / thinking limits to send. */
#include "ag_test.h"

#include <string.h>

#include "route/forward.h"
#include "route/mapping.h"
#include "route/models.h"

static struct ag_route_result routed(const char *name)
{
    struct ag_mapping_config cfg = {0};
    char err[128];
    struct ag_mapping *m = ag_mapping_new(&cfg, err, sizeof(err));
    struct ag_route_result r;
    assert_non_null(m);
    assert_int_equal(ag_mapping_resolve(m, NULL, ag_str_c(name), &r), 0);
    ag_mapping_free(m);
    return r;
}

static void builtin_forwarding_follows_retired_ids(void **state)
{
    struct ag_forward *f = ag_forward_new();
    ag_forward_add_builtin(f);
    assert_true(ag_forward_count(f) >= 5);
    /* A user's custom rule that names a retired id, as the route result holds it. */
    struct ag_route_result r = routed("gemini-3.1-pro-high");
    strcpy(r.model, "gemini-3.1-pro-high");
    assert_true(ag_mapping_forward(f, &r));
    assert_string_equal(r.model, "gemini-pro-agent");
    assert_true(r.forwarded);
    assert_string_equal(r.quota_group, "gemini-3-pro-high"); /* facts refilled for the new id */
    strcpy(r.model, "claude-sonnet-4-5");
    assert_true(ag_mapping_forward(f, &r));
    assert_string_equal(r.model, "claude-sonnet-4-6");
    assert_string_equal(r.quota_group, "claude");
    /* Current ids stay. */
    r = routed("gemini-2.5-flash");
    assert_false(ag_mapping_forward(f, &r));
    assert_string_equal(r.model, "gemini-2.5-flash");
    assert_false(ag_mapping_forward(NULL, &r));
    ag_forward_free(f);
}

static void account_rules_win_and_chain(void **state)
{
    struct ag_forward *f = ag_forward_new();
    ag_forward_add_builtin(f);
    const char *dep = "{\"gemini-3.1-pro-high\":{\"newModelId\":\"gemini-3.2-pro\"},"
                      "\"gemini-3.2-pro\":{\"newModelId\":\"gemini-3.3-pro\"}}";
    assert_int_equal(ag_forward_add_json(f, dep, strlen(dep)), 0);
    struct ag_route_result r = routed("gemini-2.5-flash");
    strcpy(r.model, "gemini-3.1-pro-high");
    assert_true(ag_mapping_forward(f, &r));
    assert_string_equal(r.model, "gemini-3.3-pro");
    ag_forward_free(f);
}

static void family_alternatives(void **state)
{
    char alt[AG_MODELS_ALTERNATIVES_MAX][AG_MODEL_ID_MAX];
    size_t n = ag_models_alternatives(AG_STR("gemini-pro-agent"), alt, AG_MODELS_ALTERNATIVES_MAX);
    assert_int_equal(n, 6);
    assert_string_equal(alt[0], "gemini-3.1-pro-preview");
    assert_string_equal(alt[1], "gemini-3-pro-preview");
    assert_string_equal(alt[2], "gemini-3.1-pro-high");
    assert_string_equal(alt[5], "gemini-3-pro-low");
    n = ag_models_alternatives(AG_STR("gemini-3-pro-preview"), alt, AG_MODELS_ALTERNATIVES_MAX);
    assert_int_equal(n, 6);
    assert_string_equal(alt[0], "gemini-pro-agent");
    n = ag_models_alternatives(AG_STR("gemini-3-pro-image"), alt, AG_MODELS_ALTERNATIVES_MAX);
    assert_int_equal(n, 1);
    assert_string_equal(alt[0], "gemini-3.1-pro-image");
    n = ag_models_alternatives(AG_STR("gemini-3-flash-image"), alt, AG_MODELS_ALTERNATIVES_MAX);
    assert_int_equal(n, 1);
    assert_string_equal(alt[0], "gemini-3.1-flash-image");
    /* Other families have no stand-ins: a 2.5 pro, flash, Claude. */
    assert_int_equal(ag_models_alternatives(AG_STR("gemini-2.5-pro"), alt, 8), 0);
    assert_int_equal(ag_models_alternatives(AG_STR("gemini-3-flash"), alt, 8), 0);
    assert_int_equal(ag_models_alternatives(AG_STR("claude-sonnet-4-6"), alt, 8), 0);
    assert_int_equal(ag_models_alternatives(AG_STR("gemini-pro-agent"), alt, 2), 2); /* capped */
}

static void limits_account_first_then_table(void **state)
{
    uint32_t max, budget;
    ag_models_limits(AG_STR("gemini-3-flash"), 0, 0, &max, &budget);
    assert_int_equal(max, 65536);
    assert_int_equal(budget, 32768);
    ag_models_limits(AG_STR("claude-opus-4-6-thinking"), 0, 0, &max, &budget);
    assert_int_equal(max, 64000);
    assert_int_equal(budget, 32768);
    ag_models_limits(AG_STR("gemini-3-flash"), 40000, 24576, &max, &budget);
    assert_int_equal(max, 40000);
    assert_int_equal(budget, 24576);
    ag_models_limits(AG_STR("gemini-3-flash"), 0, 16000, &max, &budget);
    assert_int_equal(max, 65536);
    assert_int_equal(budget, 16000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_forwarding_follows_retired_ids),
        cmocka_unit_test(account_rules_win_and_chain),
        cmocka_unit_test(family_alternatives),
        cmocka_unit_test(limits_account_first_then_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
