/* tests/unit/clients/test_clients.c: the set-up of each client against real files in a temporary
 * HOME: other settings and comments stay, a timestamped backup holds the old text, a second run
 * changes nothing and makes no backup, files with the key get mode 0600, a file that does not
 * parse (or uses a form aigate does not edit) is refused and left untouched, restore puts the old
 * files back (and removes the ones the set-up created), status tells which clients point here. */
#include "clients_fixture.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clients/clients.h"
#include "core/err.h"
#include "core/file.h"

static char *get(const char *rel)
{
    char p[512];
    struct ag_buf b;
    snprintf(p, sizeof(p), "%s/%s", home, rel);
    ag_buf_init(&b, 1 << 20);
    if (ag_file_read(p, 1 << 20, &b)) {
        ag_buf_dispose(&b);
        return NULL;
    }
    char *s = strndup(b.data ? b.data : "", b.len);
    ag_buf_dispose(&b);
    return s;
}

static mode_t mode_of(const char *rel)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", home, rel);
    assert_int_equal(stat(p, &st), 0);
    return st.st_mode & 0777;
}

/* Number of entries of dir (relative to home) whose name contains ".aigate-". */
static int backups(const char *rel)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", home, rel);
    DIR *d = opendir(p);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".aigate-") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* Plans and applies name; returns the plan's result (0 = applied or nothing to do). */
static int run_setup(const char *name, const struct ag_clients_target *t, bool *changed, char *err,
                     size_t cap)
{
    struct ag_clients_plan plan;
    long ci = ag_clients_find(name);
    assert_true(ci >= 0);
    int rc = ag_clients_plan(&env, (size_t)ci, t, &plan, err, cap);
    if (!rc) {
        *changed = ag_clients_plan_changes(&plan);
        rc = ag_clients_apply(&plan, time(NULL), NULL, err, cap);
    }
    ag_clients_plan_dispose(&plan);
    return rc;
}

static void restore(const char *name, int want)
{
    struct ag_buf report;
    char err[512] = "";
    ag_buf_init(&report, 1 << 16);
    int rc = ag_clients_restore(&env, (size_t)ag_clients_find(name), &report, err, sizeof(err));
    if (rc != want)
        fail_msg("restore %s: %d (%s)", name, rc, err);
    ag_buf_dispose(&report);
}

static const char claude_before[] = "{\n"
                                    "  \"permissions\": {\n"
                                    "    \"allow\": [\n"
                                    "      \"Bash(ls)\"\n"
                                    "    ]\n"
                                    "  },\n"
                                    "  \"env\": {\n"
                                    "    \"FOO\": \"bar\"\n"
                                    "  },\n"
                                    "  \"model\": \"opus\"\n"
                                    "}\n";

static void test_claude_round_trip(void **state)
{
    (void)state;
    char err[512] = "";
    bool changed = false;
    put(".claude/settings.json", claude_before, 0644);
    assert_int_equal(run_setup("claude-code", &target, &changed, err, sizeof(err)), 0);
    assert_true(changed);
    char *s = get(".claude/settings.json");
    assert_string_equal(s, "{\n"
                           "  \"permissions\": {\n"
                           "    \"allow\": [\n"
                           "      \"Bash(ls)\"\n"
                           "    ]\n"
                           "  },\n"
                           "  \"env\": {\n"
                           "    \"FOO\": \"bar\",\n"
                           "    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:18045\",\n"
                           "    \"ANTHROPIC_AUTH_TOKEN\": \"sk-0123456789abcdef\"\n"
                           "  },\n"
                           "  \"model\": \"opus\"\n"
                           "}\n");
    free(s);
    assert_int_equal(mode_of(".claude/settings.json"), 0600);
    assert_int_equal(backups(".claude"), 1);

    /* idempotent: no change, no second backup */
    assert_int_equal(run_setup("claude-code", &target, &changed, err, sizeof(err)), 0);
    assert_false(changed);
    assert_int_equal(backups(".claude"), 1);

    struct ag_clients_state st;
    ag_clients_status(&env, (size_t)ag_clients_find("claude-code"), &target, &st);
    assert_true(st.configured && st.points_here && st.key_matches);
    struct ag_clients_target other = target;
    other.key = "sk-other";
    ag_clients_status(&env, (size_t)ag_clients_find("claude-code"), &other, &st);
    assert_true(st.points_here);
    assert_false(st.key_matches);

    /* a model choice is one more change, and one more backup */
    struct ag_clients_target with_model = target;
    with_model.model = "gemini-3-flash";
    assert_int_equal(run_setup("claude-code", &with_model, &changed, err, sizeof(err)), 0);
    assert_true(changed);
    s = get(".claude/settings.json");
    assert_non_null(strstr(s, "\"ANTHROPIC_MODEL\": \"gemini-3-flash\""));
    free(s);
    assert_int_equal(backups(".claude"), 2);

    /* restore walks back one set-up at a time, down to the original */
    restore("claude-code", 0);
    s = get(".claude/settings.json");
    assert_null(strstr(s, "ANTHROPIC_MODEL"));
    assert_non_null(strstr(s, "ANTHROPIC_BASE_URL"));
    free(s);
    restore("claude-code", 0);
    s = get(".claude/settings.json");
    assert_string_equal(s, claude_before);
    free(s);
    assert_int_equal(backups(".claude"), 0);
    restore("claude-code", AG_ENOTFOUND);
    ag_clients_status(&env, (size_t)ag_clients_find("claude-code"), &target, &st);
    assert_false(st.configured);
}

/* A key for Anthropic already in the env block would go out beside the gateway's: it gets the
 * gateway's key too; without one, none is added. */
static void test_claude_api_key_in_block(void **state)
{
    (void)state;
    char err[512] = "";
    bool changed;
    put(".claude/settings.json", "{\"env\": {\"ANTHROPIC_API_KEY\": \"sk-ant-real\"}}", 0644);
    assert_int_equal(run_setup("claude-code", &target, &changed, err, sizeof(err)), 0);
    char *s = get(".claude/settings.json");
    assert_non_null(strstr(s, "\"ANTHROPIC_API_KEY\": \"sk-0123456789abcdef\""));
    assert_null(strstr(s, "sk-ant-real"));
    free(s);
    restore("claude-code", 0);
    s = get(".claude/settings.json");
    assert_non_null(strstr(s, "sk-ant-real"));
    free(s);
}

static void test_claude_config_dir_and_symlink(void **state)
{
    (void)state;
    char err[512] = "";
    bool changed;
    char dir[300], link[600], real[600];
    snprintf(dir, sizeof(dir), "%s/cc", home);
    env.claude_config_dir = dir;
    /* a settings file that is a link (a dotfiles manager's): the link stays, its target changes */
    put("dotfiles/claude.json", "{}", 0644);
    assert_int_equal(ag_file_mkdirs(dir, 0700), 0);
    snprintf(link, sizeof(link), "%s/settings.json", dir);
    snprintf(real, sizeof(real), "%s/dotfiles/claude.json", home);
    assert_int_equal(symlink(real, link), 0);
    assert_int_equal(run_setup("claude-code", &target, &changed, err, sizeof(err)), 0);
    env.claude_config_dir = NULL;
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    char *s = get("dotfiles/claude.json");
    assert_non_null(strstr(s, "ANTHROPIC_BASE_URL"));
    free(s);
    assert_null(get(".claude/settings.json"));
}

static const char codex_before[] = "# Codex settings\n"
                                   "model = \"gpt-5\" # mine\n"
                                   "\n"
                                   "# providers\n"
                                   "[model_providers.aigate]\n"
                                   "name = \"aigate\"\n"
                                   "base_url = \"http://127.0.0.1:8045/v1\"\n"
                                   "env_key = \"AIGATE_API_KEY\"\n"
                                   "wire_api = \"responses\"\n"
                                   "supports_websockets = true # keep me\n"
                                   "\n"
                                   "[mcp_servers.docs]\n"
                                   "command = \"docs-mcp\"\n"
                                   "args = [\"--port\", \"9\"]\n";

static void test_codex_round_trip(void **state)
{
    (void)state;
    char err[512] = "";
    bool changed;
    put(".codex/config.toml", codex_before, 0644);
    assert_int_equal(run_setup("codex", &target, &changed, err, sizeof(err)), 0);
    char *s = get(".codex/config.toml");
    assert_string_equal(s, "# Codex settings\n"
                           "model = \"gpt-5\" # mine\n"
                           "model_provider = \"aigate\"\n"
                           "\n"
                           "# providers\n"
                           "[model_providers.aigate]\n"
                           "name = \"aigate\"\n"
                           "base_url = \"http://127.0.0.1:18045/v1\"\n"
                           "wire_api = \"responses\"\n"
                           "supports_websockets = true # keep me\n"
                           "experimental_bearer_token = \"sk-0123456789abcdef\"\n"
                           "\n"
                           "[mcp_servers.docs]\n"
                           "command = \"docs-mcp\"\n"
                           "args = [\"--port\", \"9\"]\n");
    free(s);
    assert_int_equal(mode_of(".codex/config.toml"), 0600);
    assert_int_equal(run_setup("codex", &target, &changed, err, sizeof(err)), 0);
    assert_false(changed);
    assert_int_equal(backups(".codex"), 1);
    struct ag_clients_state st;
    ag_clients_status(&env, (size_t)ag_clients_find("codex"), &target, &st);
    assert_true(st.points_here && st.key_matches);
    restore("codex", 0);
    s = get(".codex/config.toml");
    assert_string_equal(s, codex_before);
    free(s);
}

/* A file aigate cannot edit is refused with a message naming it, and no file changes. */
static void refused(const char *client, const char *rel, const char *text, const char *why)
{
    char err[1024] = "";
    bool changed;
    put(rel, text, 0644);
    int rc = run_setup(client, &target, &changed, err, sizeof(err));
    assert_int_equal(rc, AG_EPARSE);
    if (!strstr(err, why) || !strstr(err, rel) || !strstr(err, "left untouched"))
        fail_msg("message: %s", err);
    char *s = get(rel);
    assert_string_equal(s, text);
    free(s);
    assert_int_equal(mode_of(rel), 0644);
}

static void test_refusals(void **state)
{
    (void)state;
    refused("claude-code", ".claude/settings.json", "{\n  // mine\n  \"a\": 1\n}\n",
            "comments or trailing commas");
    refused("claude-code", ".claude/settings.json", "{\"a\": 1,,}", "not valid JSON");
    refused("claude-code", ".claude/settings.json", "{\"env\": [1]}", "not an object");
    refused("codex", ".codex/config.toml", "model = gpt-5\n", "line 1: invalid value");
    refused("codex", ".codex/config.toml", "model_providers.aigate.base_url = \"x\"\n",
            "outside a [model_providers.aigate] table");
    refused("codex", ".codex/config.toml", "[model_providers]\naigate = { name = \"x\" }\n",
            "outside a [model_providers.aigate] table");
    refused("opencode", ".config/opencode/opencode.json", "{\"provider\": {\"aigate\": 3}}",
            "not an object");
    /* Gemini: one bad file stops both; the .env that parses is not written either */
    put(".gemini/.env", "A=1\n", 0644);
    refused("gemini-cli", ".gemini/settings.json", "{/* c */}", "comments");
    char *s = get(".gemini/.env");
    assert_string_equal(s, "A=1\n");
    free(s);
    put(".gemini/settings.json", "{}", 0644);
    refused("gemini-cli", ".gemini/.env", "K=\"open\nx\"\n", "does not end on its line");
    s = get(".gemini/settings.json");
    assert_string_equal(s, "{}");
    free(s);
    assert_int_equal(backups(".gemini") + backups(".codex") + backups(".claude"), 0);
}

static void test_gemini_and_opencode(void **state)
{
    (void)state;
    char err[512] = "";
    bool changed;
    put(".gemini/settings.json", "{\n  \"ui\": {\n    \"theme\": \"GitHub\"\n  }\n}\n", 0644);
    struct ag_clients_target t = target;
    t.model = "gemini-3-flash";
    assert_int_equal(run_setup("gemini-cli", &t, &changed, err, sizeof(err)), 0);
    char *s = get(".gemini/settings.json");
    assert_string_equal(s, "{\n  \"ui\": {\n    \"theme\": \"GitHub\"\n  },\n  \"security\": {\n"
                           "    \"auth\": {\n      \"selectedType\": \"gemini-api-key\"\n    }\n"
                           "  },\n  \"model\": {\n    \"name\": \"gemini-3-flash\"\n  }\n}\n");
    free(s);
    assert_int_equal(mode_of(".gemini/settings.json"), 0644); /* no key in it */
    s = get(".gemini/.env");
    assert_string_equal(s, "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:18045\n"
                           "GEMINI_API_KEY=sk-0123456789abcdef\n");
    free(s);
    assert_int_equal(mode_of(".gemini/.env"), 0600);
    /* restore: settings.json back, the .env the set-up created removed */
    restore("gemini-cli", 0);
    s = get(".gemini/settings.json");
    assert_string_equal(s, "{\n  \"ui\": {\n    \"theme\": \"GitHub\"\n  }\n}\n");
    free(s);
    assert_null(get(".gemini/.env"));

    /* OpenCode under XDG_CONFIG_HOME */
    char xdg[300];
    snprintf(xdg, sizeof(xdg), "%s/xdg", home);
    env.xdg_config_home = xdg;
    assert_int_equal(run_setup("opencode", &t, &changed, err, sizeof(err)), 0);
    s = get("xdg/opencode/opencode.json");
    assert_non_null(strstr(s, "\"npm\": \"@ai-sdk/openai-compatible\""));
    assert_non_null(strstr(s, "\"baseURL\": \"http://127.0.0.1:18045/v1\""));
    assert_non_null(strstr(s, "\"apiKey\": \"sk-0123456789abcdef\""));
    assert_non_null(strstr(s, "\"model\": \"aigate/gemini-3-flash\""));
    free(s);
    struct ag_clients_state st;
    ag_clients_status(&env, (size_t)ag_clients_find("opencode"), &target, &st);
    assert_true(st.points_here && st.key_matches);
    restore("opencode", 0);
    assert_null(get("xdg/opencode/opencode.json"));
    env.xdg_config_home = NULL;
}

static void test_preview_masks_the_key(void **state)
{
    (void)state;
    struct ag_clients_plan plan;
    char err[512];
    put(".claude/settings.json", "{\"a\": 1}\n", 0644);
    assert_int_equal(ag_clients_plan(&env, (size_t)ag_clients_find("claude-code"), &target, &plan,
                                     err, sizeof(err)),
                     0);
    struct ag_buf d;
    ag_buf_init(&d, 1 << 20);
    assert_int_equal(ag_clients_plan_diff(&plan, target.key, &d), 0);
    assert_non_null(strstr(d.data, "-{\"a\": 1}\n"));
    assert_non_null(strstr(d.data, "+    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:18045\",\n"));
    assert_non_null(strstr(d.data, "sk-01...cdef"));
    assert_null(strstr(d.data, target.key));
    ag_buf_dispose(&d);
    ag_clients_plan_dispose(&plan);
    /* nothing was written */
    char *s = get(".claude/settings.json");
    assert_string_equal(s, "{\"a\": 1}\n");
    free(s);
}

static void test_bad_targets(void **state)
{
    (void)state;
    char err[256];
    struct ag_clients_target t = target;
    t.key = "has space";
    assert_int_equal(ag_clients_check_target(&t, err, sizeof(err)), AG_EINVAL);
    t.key = "sk-\"quote";
    assert_int_equal(ag_clients_check_target(&t, err, sizeof(err)), AG_EINVAL);
    t = target;
    t.base_url = "ftp://x";
    assert_int_equal(ag_clients_check_target(&t, err, sizeof(err)), AG_EINVAL);
    t.base_url = "http://x/";
    assert_int_equal(ag_clients_check_target(&t, err, sizeof(err)), AG_EINVAL);
    assert_int_equal(ag_clients_find("nope"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_claude_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claude_api_key_in_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claude_config_dir_and_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_codex_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gemini_and_opencode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preview_masks_the_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_targets, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
