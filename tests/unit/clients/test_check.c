/* tests/unit/clients/test_check.c: ag_clients_check() against real files in a temporary HOME: a
 * client nobody set up through aigate is "not set up" (even when it points here by hand); right
 * after a set-up it is up to date; then each reason for an update is found alone — the gateway's
 * port moved, its key changed, the file no longer names aigate, the recorded model was edited
 * away, the set-up format is older, another setting the set-up owns differs, a file that does not
 * parse — and a set-up with what the check used makes it up to date again. Restoring the last
 * backup makes it "not set up" again. */
#include "clients_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clients/clients.h"
#include "core/err.h"
#include "core/file.h"

static size_t idx(const char *name)
{
    long i = ag_clients_find(name);
    assert_true(i >= 0);
    return (size_t)i;
}

static void run_setup(const char *name, const struct ag_clients_target *t)
{
    struct ag_clients_plan plan;
    char err[512] = "";
    int rc = ag_clients_plan(&env, idx(name), t, &plan, err, sizeof(err));
    if (!rc)
        rc = ag_clients_apply(&plan, time(NULL), NULL, err, sizeof(err));
    ag_clients_plan_dispose(&plan);
    if (rc)
        fail_msg("setup %s: %s", name, err);
}

static struct ag_clients_check check(const char *name, const struct ag_clients_target *t)
{
    struct ag_clients_check c;
    assert_int_equal(ag_clients_check(&env, idx(name), t, &c), 0);
    return c;
}

/* Asserts that name needs an update for exactly the reasons why, the reason naming text. */
static void needs(const char *name, const struct ag_clients_target *t, unsigned why,
                  const char *text)
{
    struct ag_clients_check c = check(name, t);
    if (c.verdict != AG_CLIENTS_NEEDS_UPDATE || c.why != why || !strstr(c.reason, text))
        fail_msg("%s: verdict %d why %#x (want %#x) reason \"%s\" (want \"%s\")", name,
                 (int)c.verdict, c.why, why, c.reason, text);
}

static void test_not_set_up(void **state)
{
    (void)state;
    for (size_t i = 0; i < ag_clients_count(); i++) {
        struct ag_clients_check c;
        assert_int_equal(ag_clients_check(&env, i, &target, &c), 0);
        assert_int_equal(c.verdict, AG_CLIENTS_NOT_SET_UP);
    }
    /* pointed here by hand (docs/clients.md), even at another port: not aigate's to update */
    put(".claude/settings.json",
        "{\"env\":{\"ANTHROPIC_BASE_URL\":\"http://127.0.0.1:1\","
        "\"ANTHROPIC_AUTH_TOKEN\":\"sk-x\"}}\n",
        0600);
    assert_int_equal(check("claude-code", &target).verdict, AG_CLIENTS_NOT_SET_UP);
    struct ag_clients_check c;
    assert_int_equal(ag_clients_check(&env, 99, &target, &c), AG_EINVAL);
    const struct ag_clients_target bad = {"ftp://x", "k", NULL};
    assert_int_equal(ag_clients_check(&env, 0, &bad, &c), AG_EINVAL);
}

static void test_each_reason(void **state)
{
    (void)state;
    put(".claude/settings.json", "{\"model\":\"opus\"}\n", 0600);
    run_setup("claude-code", &target);
    struct ag_clients_check c = check("claude-code", &target);
    assert_int_equal(c.verdict, AG_CLIENTS_UP_TO_DATE);
    assert_int_equal(c.version, AG_CLIENTS_SETUP_VERSION);
    assert_int_equal(c.why, 0);
    assert_string_equal(c.reason, "");

    /* the gateway moved to another port */
    const struct ag_clients_target moved = {"http://127.0.0.1:18046", target.key, NULL};
    needs("claude-code", &moved, AG_CLIENTS_WHY_URL,
          "it points at http://127.0.0.1:18045, the gateway is at http://127.0.0.1:18046");
    /* the key was rotated */
    const struct ag_clients_target rotated = {target.base_url, "sk-rotated-0000", NULL};
    needs("claude-code", &rotated, AG_CLIENTS_WHY_KEY, "key");
    /* both at once */
    const struct ag_clients_target both = {moved.base_url, rotated.key, NULL};
    needs("claude-code", &both, AG_CLIENTS_WHY_URL | AG_CLIENTS_WHY_KEY, "18046");

    /* a set-up with the new target makes it up to date again */
    run_setup("claude-code", &both);
    assert_int_equal(check("claude-code", &both).verdict, AG_CLIENTS_UP_TO_DATE);

    /* edited so that it no longer points at aigate */
    put(".claude/settings.json", "{\"model\":\"opus\",\"env\":{}}\n", 0600);
    needs("claude-code", &both, AG_CLIENTS_WHY_GONE, "no longer points at aigate");

    /* the model the set-up wrote was changed in the file */
    const struct ag_clients_target model = {both.base_url, both.key, "gemini-3-flash"};
    run_setup("claude-code", &model);
    c = check("claude-code", &both); /* the check takes the model from the record */
    assert_int_equal(c.verdict, AG_CLIENTS_UP_TO_DATE);
    assert_string_equal(c.model, "gemini-3-flash");
    put(".claude/settings.json",
        "{\"model\":\"opus\",\"env\":{\"ANTHROPIC_BASE_URL\":\"http://127.0.0.1:18046\","
        "\"ANTHROPIC_AUTH_TOKEN\":\"sk-rotated-0000\",\"ANTHROPIC_MODEL\":\"other\"}}\n",
        0600);
    needs("claude-code", &both, AG_CLIENTS_WHY_MODEL, "its model is no longer gemini-3-flash");

    /* a file that does not parse */
    put(".claude/settings.json", "{\"env\": {\n", 0600);
    needs("claude-code", &both, AG_CLIENTS_WHY_UNREADABLE, "settings.json");
}

static void test_version_and_other(void **state)
{
    (void)state;
    char rec[512];
    run_setup("codex", &target);
    assert_int_equal(check("codex", &target).verdict, AG_CLIENTS_UP_TO_DATE);

    /* a record of an older set-up format */
    snprintf(rec, sizeof(rec), "%s/.local/state/aigate/clients/codex.setup", home);
    assert_int_equal(ag_file_write_atomic(rec, "version=0\nmodel=\n", 17, 0600), 0);
    needs("codex", &target, AG_CLIENTS_WHY_VERSION, "older aigate");
    /* set up before records were kept: the backup alone says it was aigate's */
    assert_int_equal(unlink(rec), 0);
    needs("codex", &target, AG_CLIENTS_WHY_VERSION, "set-up format 0");
    run_setup("codex", &target);
    assert_int_equal(check("codex", &target).verdict, AG_CLIENTS_UP_TO_DATE);

    /* another setting the set-up owns (Codex's wire API) */
    char cfg[512];
    snprintf(cfg, sizeof(cfg),
             "model_provider = \"aigate\"\n\n[model_providers.aigate]\nname = \"aigate\"\n"
             "base_url = \"%s/v1\"\nwire_api = \"chat\"\nexperimental_bearer_token = \"%s\"\n",
             target.base_url, target.key);
    put(".codex/config.toml", cfg, 0600);
    needs("codex", &target, AG_CLIENTS_WHY_OTHER, "differ");

    /* Gemini CLI: two files, the base URL in .env */
    run_setup("gemini-cli", &target);
    assert_int_equal(check("gemini-cli", &target).verdict, AG_CLIENTS_UP_TO_DATE);
    const struct ag_clients_target moved = {"http://127.0.0.1:28045", target.key, NULL};
    needs("gemini-cli", &moved, AG_CLIENTS_WHY_URL, "28045");
}

static void test_restore_ends_the_set_up(void **state)
{
    (void)state;
    struct ag_buf report;
    char err[256] = "";
    run_setup("opencode", &target);
    assert_int_equal(check("opencode", &target).verdict, AG_CLIENTS_UP_TO_DATE);
    ag_buf_init(&report, 1 << 16);
    assert_int_equal(ag_clients_restore(&env, idx("opencode"), &report, err, sizeof(err)), 0);
    ag_buf_dispose(&report);
    assert_int_equal(check("opencode", &target).verdict, AG_CLIENTS_NOT_SET_UP);

    /* XDG_STATE_HOME holds the record when set */
    char state_dir[300], rec[400];
    snprintf(state_dir, sizeof(state_dir), "%s/state", home);
    env.xdg_state_home = state_dir;
    run_setup("opencode", &target);
    snprintf(rec, sizeof(rec), "%s/aigate/clients/opencode.setup", state_dir);
    assert_int_equal(access(rec, F_OK), 0);
    assert_int_equal(check("opencode", &target).verdict, AG_CLIENTS_UP_TO_DATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_not_set_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_and_other, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_ends_the_set_up, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
