/* Unit tests for route/background and ag_mapping_background(): which requests are downgraded,
 * to what, and that the feature can be switched off. */
#include "ag_test.h"

#include <string.h>

#include "route/background.h"
#include "route/mapping.h"

static struct ag_background_req req(const char *system, const char *user)
{
    return (struct ag_background_req){ag_str_c(system), ag_str_c(user), -1, false};
}

static void detects_title_summary_and_probe_requests(void **state)
{
    struct ag_background_req r = req("", "Please write a 5-10 word title for the following");
    assert_int_equal(ag_background_detect(&r), AG_BACKGROUND_TITLE);
    r = req("", "Summarize this coding conversation in under 50 characters");
    assert_int_equal(ag_background_detect(&r), AG_BACKGROUND_SUMMARY);
    r = req("", "test connection");
    assert_int_equal(ag_background_detect(&r), AG_BACKGROUND_PROBE);
    r = req("", "为对话起个标题");
    assert_int_equal(ag_background_detect(&r), AG_BACKGROUND_TITLE);
    /* The system prompt can carry the task; the user text is then the conversation. */
    r = req("Generate a title for the conversation below.", "how do I fix my build?");
    assert_int_equal(ag_background_detect(&r), AG_BACKGROUND_TITLE);
    assert_string_equal(ag_background_kind_name(AG_BACKGROUND_SUMMARY), "summary");
}

static void leaves_real_turns_alone(void **state)
{
    struct ag_background_req r = req("You are a coding agent.", "Refactor src/main.c please");
    assert_int_equal(ag_background_detect(&r), AG_BACKGROUND_NONE);
    /* Keywords are case-sensitive, as in Antigravity Manager. */
    r = req("", "please WRITE A 5-10 WORD TITLE");
    assert_int_equal(ag_background_detect(&r), AG_BACKGROUND_NONE);
    /* Tools, a large output budget or a long text make it a real turn. */
    r = req("", "Generate a title for this");
    r.has_tools = true;
    assert_int_equal(ag_background_detect(&r), AG_BACKGROUND_NONE);
    r.has_tools = false;
    r.max_tokens = 32000;
    assert_int_equal(ag_background_detect(&r), AG_BACKGROUND_NONE);
    r.max_tokens = 512;
    assert_int_equal(ag_background_detect(&r), AG_BACKGROUND_TITLE);
    char longtext[900];
    memset(longtext, 'x', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    memcpy(longtext, "Generate a title for", 20);
    r = req("", longtext);
    assert_int_equal(ag_background_detect(&r), AG_BACKGROUND_NONE);
    /* Only the first 500 bytes are searched. */
    longtext[700] = '\0';
    memcpy(longtext, "xxxxxxxxxxxxxxxxxxxx", 20);
    memcpy(longtext + 600, "Generate a title for", 20);
    r = req("", longtext);
    assert_int_equal(ag_background_detect(&r), AG_BACKGROUND_NONE);
    /* "Warmup" in a system prompt says nothing about the request. */
    r = req("Warmup", "what does this function do?");
    assert_int_equal(ag_background_detect(&r), AG_BACKGROUND_NONE);
}

static void downgrade_on_default_custom_and_off(void **state)
{
    struct ag_background_req r = req("", "Respond with the title only");
    struct ag_route_result out;

    struct ag_mapping_config cfg = {0};
    struct ag_mapping *m = ag_mapping_new(&cfg, NULL, 0);
    assert_string_equal(ag_mapping_background_model(m), "gemini-2.5-flash");
    assert_int_equal(ag_mapping_background(m, NULL, &r, &out), 1);
    assert_string_equal(out.model, "gemini-2.5-flash");
    struct ag_background_req real = req("", "Add a unit test for the parser");
    memset(&out, 0x5a, sizeof(out));
    assert_int_equal(ag_mapping_background(m, NULL, &real, &out), 0);
    assert_int_equal((unsigned char)out.model[0], 0x5a); /* untouched */
    ag_mapping_free(m);

    /* A configured model is routed through the same rules (built-in alias here). */
    cfg.background_model = "gemini-3-pro-high";
    m = ag_mapping_new(&cfg, NULL, 0);
    assert_int_equal(ag_mapping_background(m, NULL, &r, &out), 1);
    assert_string_equal(out.model, "gemini-pro-agent");
    ag_mapping_free(m);

    cfg.background_model = "";
    m = ag_mapping_new(&cfg, NULL, 0);
    assert_int_equal(ag_mapping_background(m, NULL, &r, &out), 0);
    ag_mapping_free(m);

    cfg.background_model = "no-such-model";
    m = ag_mapping_new(&cfg, NULL, 0);
    assert_true(ag_mapping_background(m, NULL, &r, &out) < 0);
    ag_mapping_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(detects_title_summary_and_probe_requests),
        cmocka_unit_test(leaves_real_turns_alone),
        cmocka_unit_test(downgrade_on_default_custom_and_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
