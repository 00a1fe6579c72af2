/* Integration tests of `aigate clients` and /api/clients with the real binary against real client
 * config files in a temporary HOME: a dry run prints the change and writes nothing; setup keeps
 * comments and other settings, makes the key file 0600, is a no-op the second time; a file with
 * comments (JSONC) is refused and left untouched; --key / --model are written; status --json shows
 * which clients point here; restore puts the old file back; usage errors exit 2. Then the admin API
 * of a running gateway gives the same preview / apply / restore / status. */
#include "ag_test.h"

#include "child.h"
#include "core/buf.h"
#include "core/file.h"
#include "gwenv.h"
#include "proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAIN_KEY "sk-clients-test-0123456789abcdef"

static char home[64];
static char vars[5][200];
static const char *envv[6];

static const char codex_before[] = "# my Codex settings\n"
                                   "model = \"gemini-2.5-flash\" # keep this comment\n"
                                   "\n"
                                   "[mcp_servers.docs]\n"
                                   "command = \"docs-mcp\"\n";

static const char gemini_jsonc[] = "{\n  // my theme\n  \"ui\": {\"theme\": \"GitHub\"},\n}\n";

static void path_of(char *out, size_t cap, const char *rel)
{
    snprintf(out, cap, "%s/%s", home, rel);
}

static void put(const char *rel, const char *text)
{
    char p[256], d[256];
    path_of(p, sizeof(p), rel);
    snprintf(d, sizeof(d), "%s", p);
    *strrchr(d, '/') = '\0';
    assert_int_equal(ag_file_mkdirs(d, 0700), 0);
    assert_int_equal(ag_file_write_atomic(p, text, strlen(text), 0644), 0);
}

static char *get(const char *rel)
{
    char p[256];
    struct ag_buf b;
    path_of(p, sizeof(p), rel);
    ag_buf_init(&b, 1 << 20);
    if (ag_file_read(p, 1 << 20, &b)) {
        ag_buf_dispose(&b);
        return NULL;
    }
    char *s = strndup(b.data ? b.data : "", b.len);
    ag_buf_dispose(&b);
    return s;
}

static void make_home(void)
{
    snprintf(home, sizeof(home), "/tmp/ag-clients-home-XXXXXX");
    assert_non_null(mkdtemp(home));
    /* every variable that moves a client's files, so nothing of the caller's is used */
    snprintf(vars[0], sizeof(vars[0]), "HOME=%s", home);
    snprintf(vars[1], sizeof(vars[1]), "XDG_CONFIG_HOME=%s/.config", home);
    snprintf(vars[2], sizeof(vars[2]), "CODEX_HOME=%s/.codex", home);
    snprintf(vars[3], sizeof(vars[3]), "CLAUDE_CONFIG_DIR=%s/.claude", home);
    snprintf(vars[4], sizeof(vars[4]), "GEMINI_CLI_HOME=%s", home);
    for (int i = 0; i < 5; i++)
        envv[i] = vars[i];
    envv[5] = NULL;
}

static void remove_home(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    assert_int_equal(system(cmd), 0);
}

static void prepare(struct ag_gwenv *e)
{
    const struct ag_gwenv_opts o = {
        .name = "clients",
        .config_json = "{\"auth\":{\"mode\":\"strict\",\"api_key\":\"" MAIN_KEY "\"}}",
        .env = envv,
    };
    ag_gwenv_prepare(e, &o);
}

/* `aigate --port N clients ARGS...`: the exit code, stdout and stderr (the caller frees). */
static int clients(struct ag_gwenv *e, const char *const *args, char **out, char **err)
{
    const char *a[16] = {"clients"};
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 15; i++)
        a[n++] = args[i];
    a[n] = NULL;
    *out = *err = NULL;
    return ag_gwenv_cli(e, a, out, err);
}

static void test_cli(void **state)
{
    (void)state;
    struct ag_gwenv e;
    char *out, *err, *s;
    char port_url[64];
    make_home();
    prepare(&e);
    snprintf(port_url, sizeof(port_url), "http://127.0.0.1:%d", e.port);
    put(".codex/config.toml", codex_before);
    put(".gemini/settings.json", gemini_jsonc);

    /* dry run: the change is shown (key masked), nothing is written */
    const char *dry[] = {"setup", "codex", "--dry-run", NULL};
    assert_int_equal(clients(&e, dry, &out, &err), 0);
    assert_non_null(strstr(out, "+model_provider = \"aigate\"\n"));
    assert_non_null(strstr(out, "+experimental_bearer_token = \"sk-cl...cdef\"\n"));
    assert_null(strstr(out, MAIN_KEY));
    assert_non_null(strstr(out, "(dry run: nothing was written)"));
    free(out);
    free(err);
    s = get(".codex/config.toml");
    assert_string_equal(s, codex_before);
    free(s);

    /* setup: comments and the other table kept, the provider selected, the key in a 0600 file */
    const char *codex[] = {"setup", "codex", NULL};
    assert_int_equal(clients(&e, codex, &out, &err), 0);
    assert_non_null(strstr(out, "Codex CLI now uses http://127.0.0.1:"));
    assert_non_null(strstr(out, "undo with: aigate clients restore codex"));
    free(out);
    free(err);
    s = get(".codex/config.toml");
    char want[1024];
    snprintf(want, sizeof(want),
             "# my Codex settings\n"
             "model = \"gemini-2.5-flash\" # keep this comment\n"
             "model_provider = \"aigate\"\n"
             "\n"
             "[mcp_servers.docs]\n"
             "command = \"docs-mcp\"\n"
             "\n"
             "[model_providers.aigate]\n"
             "name = \"aigate\"\n"
             "base_url = \"%s/v1\"\n"
             "wire_api = \"responses\"\n"
             "experimental_bearer_token = \"" MAIN_KEY "\"\n",
             port_url);
    assert_string_equal(s, want);
    free(s);
    char p[256];
    struct stat st;
    path_of(p, sizeof(p), ".codex/config.toml");
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* the second run: nothing to do */
    assert_int_equal(clients(&e, codex, &out, &err), 0);
    assert_non_null(strstr(out, "already uses"));
    assert_non_null(strstr(out, "nothing changed"));
    free(out);
    free(err);

    /* a settings file with comments: refused, both Gemini files untouched */
    const char *gemini[] = {"setup", "gemini-cli", NULL};
    assert_int_equal(clients(&e, gemini, &out, &err), 1);
    assert_non_null(strstr(err, "settings.json has comments or trailing commas"));
    assert_non_null(strstr(err, "left untouched"));
    free(out);
    free(err);
    s = get(".gemini/settings.json");
    assert_string_equal(s, gemini_jsonc);
    free(s);
    assert_null(get(".gemini/.env"));

    /* a user key and a model choice */
    const char *claude[] = {"setup",   "claude-code",    "--key", "sk-user-key-1",
                            "--model", "gemini-3-flash", NULL};
    assert_int_equal(clients(&e, claude, &out, &err), 0);
    free(out);
    free(err);
    s = get(".claude/settings.json");
    assert_non_null(strstr(s, "\"ANTHROPIC_AUTH_TOKEN\": \"sk-user-key-1\""));
    assert_non_null(strstr(s, "\"ANTHROPIC_MODEL\": \"gemini-3-flash\""));
    free(s);

    /* status */
    const char *status[] = {"status", "--json", NULL};
    assert_int_equal(clients(&e, status, &out, &err), 0);
    char frag[512];
    snprintf(frag, sizeof(frag),
             "{\"name\":\"codex\",\"title\":\"Codex CLI\",\"configured\":true,\"points_here\":true,"
             "\"key_matches\":true,\"url\":\"%s\"",
             port_url);
    assert_non_null(strstr(out, frag));
    assert_non_null(strstr(out, "\"name\":\"claude-code\",\"title\":\"Claude Code\",\"configured\":"
                                "true,\"points_here\":true,\"key_matches\":false"));
    assert_non_null(strstr(out, "\"name\":\"gemini-cli\",\"title\":\"Gemini CLI\",\"configured\":"
                                "false"));
    free(out);
    free(err);
    const char *status_text[] = {"status", NULL};
    assert_int_equal(clients(&e, status_text, &out, &err), 0);
    assert_non_null(strstr(out, "codex        points here"));
    assert_non_null(strstr(out, "claude-code  points here, other key"));
    free(out);
    free(err);

    /* restore: the file as it was */
    const char *restore[] = {"restore", "codex", NULL};
    assert_int_equal(clients(&e, restore, &out, &err), 0);
    assert_non_null(strstr(out, "restored"));
    free(out);
    free(err);
    s = get(".codex/config.toml");
    assert_string_equal(s, codex_before);
    free(s);
    assert_int_equal(clients(&e, restore, &out, &err), 1);
    assert_non_null(strstr(err, "no backup"));
    free(out);
    free(err);

    /* usage errors */
    const char *bad[] = {"setup", "vim", NULL};
    assert_int_equal(clients(&e, bad, &out, &err), 2);
    assert_non_null(strstr(err, "unknown client \"vim\""));
    free(out);
    free(err);
    const char *badkey[] = {"setup", "codex", "--key", "has space", NULL};
    assert_int_equal(clients(&e, badkey, &out, &err), 2);
    free(out);
    free(err);
    const char *help[] = {"--help", NULL};
    assert_int_equal(ag_gwenv_cli(&e, help, &out, &err), 0);
    assert_non_null(strstr(out, "clients setup NAME [--dry-run]"));
    free(out);
    free(err);

    ag_gwenv_stop(&e);
    remove_home();
}

static long api(struct ag_gwenv *e, const char *method, const char *path, const char *body,
                bool auth, struct ag_buf *out)
{
    char url[256];
    const char *h[] = {"Authorization: Bearer " MAIN_KEY, NULL};
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", e->port, path);
    ag_buf_reset(out);
    return ag_test_http(method, url, body, auth ? h : NULL, out);
}

static void test_admin_api(void **state)
{
    (void)state;
    struct ag_gwenv e;
    struct ag_buf b;
    char *s;
    make_home();
    prepare(&e);
    ag_gwenv_launch(&e);
    ag_buf_init(&b, 1 << 20);
    put(".gemini/settings.json", gemini_jsonc);

    assert_int_equal(api(&e, "GET", "/api/clients", NULL, false, &b), 401);
    assert_int_equal(api(&e, "GET", "/api/clients", NULL, true, &b), 200);
    assert_non_null(strstr(b.data, "\"name\":\"opencode\""));

    /* preview: the diff, nothing written */
    assert_int_equal(api(&e, "POST", "/api/clients/opencode/preview",
                         "{\"model\":\"gemini-3-flash\"}", true, &b),
                     200);
    assert_non_null(strstr(b.data, "\"changes\":true"));
    assert_non_null(strstr(b.data, "+  \\\"model\\\": \\\"aigate/gemini-3-flash\\\""));
    assert_null(strstr(b.data, MAIN_KEY));
    assert_null(get(".config/opencode/opencode.json"));

    /* apply, then again: no change */
    assert_int_equal(
        api(&e, "POST", "/api/clients/opencode/apply", "{\"model\":\"gemini-3-flash\"}", true, &b),
        200);
    assert_non_null(strstr(b.data, "\"changes\":true"));
    s = get(".config/opencode/opencode.json");
    assert_non_null(s);
    assert_non_null(strstr(s, "\"apiKey\": \"" MAIN_KEY "\""));
    free(s);
    assert_int_equal(
        api(&e, "POST", "/api/clients/opencode/apply", "{\"model\":\"gemini-3-flash\"}", true, &b),
        200);
    assert_non_null(strstr(b.data, "\"changes\":false"));
    assert_int_equal(api(&e, "GET", "/api/clients", NULL, true, &b), 200);
    assert_non_null(strstr(b.data,
                           "\"name\":\"opencode\",\"title\":\"OpenCode\",\"configured\":true,"
                           "\"points_here\":true,\"key_matches\":true"));

    /* a file that does not parse: 422, untouched */
    assert_int_equal(api(&e, "POST", "/api/clients/gemini-cli/apply", "{}", true, &b), 422);
    assert_non_null(strstr(b.data, "\"type\":\"unparseable_config\""));
    s = get(".gemini/settings.json");
    assert_string_equal(s, gemini_jsonc);
    free(s);

    /* bad requests */
    assert_int_equal(api(&e, "POST", "/api/clients/vim/apply", "{}", true, &b), 404);
    assert_int_equal(api(&e, "POST", "/api/clients/codex/apply", "{\"key\":\"a b\"}", true, &b),
                     400);
    assert_int_equal(api(&e, "POST", "/api/clients/codex/apply", "{\"model\":3}", true, &b), 400);

    /* restore: the file the set-up created goes away; then there is nothing to restore */
    assert_int_equal(api(&e, "POST", "/api/clients/opencode/restore", NULL, true, &b), 200);
    assert_non_null(strstr(b.data, "removed"));
    assert_null(get(".config/opencode/opencode.json"));
    assert_int_equal(api(&e, "POST", "/api/clients/opencode/restore", NULL, true, &b), 404);

    ag_buf_dispose(&b);
    ag_gwenv_stop(&e);
    remove_home();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_cli, ag_gwenv_teardown),
        cmocka_unit_test_teardown(test_admin_api, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
