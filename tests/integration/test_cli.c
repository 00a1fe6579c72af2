/* Integration tests for the aigate command line: runs the built binary ($AIGATE_BIN) with a
 * controlled environment and a temporary data dir, and checks exit codes, output and the file. */
#include "ag_test.h"

#include "core/buf.h"
#include "core/file.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yyjson.h>

struct run {
    int code;
    char *out;
    char *err;
};

struct fixture {
    char base[64];
    char dir[128];
    char path[160];
    char env_dir[160]; /* "AIGATE_DATA_DIR=..." */
    char env_home[160];
    const char *env[8];
    struct run r;
};

static const char *bin(void)
{
    const char *b = getenv("AIGATE_BIN");
    if (!b)
        fail_msg("AIGATE_BIN is not set (run through ctest)");
    return b;
}

static char *slurp(const char *path)
{
    struct ag_buf b;
    ag_buf_init(&b, 0);
    if (ag_file_read(path, 1 << 20, &b) != 0) {
        ag_buf_dispose(&b);
        return NULL;
    }
    return ag_buf_steal(&b, NULL);
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

/* Runs aigate with argv (NULL-terminated, without argv[0]) and exactly the environment env. */
static void run(struct fixture *f, const char *const *env, const char *const *args)
{
    char out_path[200], err_path[200];
    snprintf(out_path, sizeof(out_path), "%s/stdout", f->base);
    snprintf(err_path, sizeof(err_path), "%s/stderr", f->base);
    const char *argv[32] = {bin()};
    for (int i = 0; args[i] && i < 30; i++)
        argv[i + 1] = args[i];
    run_free(&f->r);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0)
            _exit(127);
        dup2(o, 1);
        dup2(e, 2);
        execve(argv[0], (char *const *)argv, (char *const *)env);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    f->r.code = WEXITSTATUS(st);
    f->r.out = slurp(out_path);
    f->r.err = slurp(err_path);
    unlink(out_path);
    unlink(err_path);
}

#define RUN(f, ...)          run((f), (f)->env, (const char *const[]){__VA_ARGS__, NULL})
#define RUN_ENV(f, env, ...) run((f), (env), (const char *const[]){__VA_ARGS__, NULL})

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("expected \"%s\" in: %s", needle, hay ? hay : "(null)");
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->base, sizeof(f->base), "/tmp/aigate-cli-XXXXXX");
    assert_non_null(mkdtemp(f->base));
    snprintf(f->dir, sizeof(f->dir), "%s/data", f->base);
    snprintf(f->path, sizeof(f->path), "%s/config.json", f->dir);
    snprintf(f->env_dir, sizeof(f->env_dir), "AIGATE_DATA_DIR=%s", f->dir);
    snprintf(f->env_home, sizeof(f->env_home), "HOME=%s/home", f->base);
    f->env[0] = f->env_dir;
    f->env[1] = f->env_home;
    f->env[2] = "AIGATE_LOG_LEVEL=warn";
    f->env[3] = NULL;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    run_free(&f->r);
    nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void help_and_version(void **state)
{
    struct fixture *f = *state;
    RUN(f, "--help");
    assert_int_equal(f->r.code, 0);
    assert_contains(f->r.out, "Usage: aigate");
    static const char *const must[] = {
        "serve",
        "config show",
        "config get KEY",
        "config set KEY VALUE",
        "config path",
        "--data-dir DIR",
        "--port N",
        "--allow-lan",
        "--auth-mode",
        "--set KEY=VALUE",
        "~/.local/share/aigate",
        "$XDG_DATA_HOME/aigate",
        "AIGATE_DATA_DIR",
        "AIGATE_PORT",
        "AIGATE_ALLOW_LAN",
        "AIGATE_AUTH_MODE",
        "AIGATE_API_KEY",
        "AIGATE_LOG_LEVEL",
        "AIGATE_CLOUDCODE_ENDPOINTS",
        "AIGATE_OAUTH_TOKEN_URL",
        "AIGATE_OAUTH_AUTH_URL",
        "AIGATE_USERINFO_URL",
        "AIGATE_OAUTH_CLIENT_ID",
        "AIGATE_OAUTH_CLIENT_SECRET",
    };
    for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
        assert_contains(f->r.out, must[i]);
    assert_int_equal(access(f->dir, F_OK), -1); /* help touches nothing */

    RUN(f, "-h");
    assert_int_equal(f->r.code, 0);
    assert_contains(f->r.out, "Usage: aigate");

    RUN(f, "--version");
    assert_int_equal(f->r.code, 0);
    assert_string_equal(f->r.out, "aigate " AIGATE_VERSION "\n");
    RUN(f, "version");
    assert_int_equal(f->r.code, 0);
    assert_string_equal(f->r.out, "aigate " AIGATE_VERSION "\n");
}

static void unknown_command_and_option_exit_2(void **state)
{
    struct fixture *f = *state;
    RUN(f, "frobnicate");
    assert_int_equal(f->r.code, 2);
    assert_contains(f->r.err, "unknown command \"frobnicate\"");
    assert_contains(f->r.err, "Usage: aigate");
    assert_string_equal(f->r.out, "");
    RUN(f, "--frobnicate");
    assert_int_equal(f->r.code, 2);
    assert_contains(f->r.err, "--frobnicate");
    assert_contains(f->r.err, "Usage: aigate");
    RUN(f, "config", "frob");
    assert_int_equal(f->r.code, 2);
    RUN(f, "config");
    assert_int_equal(f->r.code, 2);
    RUN(f, "--port", "0", "config", "show");
    assert_int_equal(f->r.code, 2);
    assert_contains(f->r.err, "--port");
    assert_contains(f->r.err, "server.port");
    RUN(f, "--set", "server.nope=1", "config", "show");
    assert_int_equal(f->r.code, 2);
    assert_contains(f->r.err, "server.nope");
    RUN(f, "--data-dir");
    assert_int_equal(f->r.code, 2);
    assert_int_equal(access(f->dir, F_OK), -1); /* usage errors touch nothing */
}

static void show_masks_get_reveals(void **state)
{
    struct fixture *f = *state;
    RUN(f, "config", "get", "auth.api_key");
    assert_int_equal(f->r.code, 0);
    char key[64];
    assert_int_equal(strlen(f->r.out), 36); /* sk- + 32 hex + newline */
    assert_true(strncmp(f->r.out, "sk-", 3) == 0);
    snprintf(key, sizeof(key), "%.35s", f->r.out);
    struct stat st;
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    RUN(f, "config", "show");
    assert_int_equal(f->r.code, 0);
    assert_null(strstr(f->r.out, key));
    yyjson_doc *d = yyjson_read(f->r.out, strlen(f->r.out), 0);
    assert_non_null(d);
    assert_int_equal(yyjson_get_int(yyjson_doc_ptr_get(d, "/server/port")), 8045);
    const char *shown = yyjson_get_str(yyjson_doc_ptr_get(d, "/auth/api_key"));
    assert_non_null(shown);
    assert_true(strncmp(shown, key, 4) == 0); /* masked: prefix kept, rest hidden */
    assert_string_not_equal(shown, key);
    assert_string_equal(yyjson_get_str(yyjson_doc_ptr_get(d, "/log/level")), "warn"); /* env */
    yyjson_doc_free(d);

    /* The key is stable from run to run. */
    RUN(f, "config", "get", "auth.api_key");
    assert_int_equal(strncmp(f->r.out, key, 35), 0);
}

static void set_get_and_precedence(void **state)
{
    struct fixture *f = *state;
    RUN(f, "config", "set", "server.port", "9001");
    assert_int_equal(f->r.code, 0);
    assert_contains(f->r.out, "restart");
    RUN(f, "config", "get", "server.port");
    assert_int_equal(f->r.code, 0);
    assert_string_equal(f->r.out, "9001\n");

    const char *env[] = {f->env_dir, f->env_home, "AIGATE_PORT=7000", NULL};
    RUN_ENV(f, env, "config", "get", "server.port");
    assert_string_equal(f->r.out, "7000\n");
    RUN_ENV(f, env, "--port", "7100", "config", "get", "server.port");
    assert_string_equal(f->r.out, "7100\n");
    RUN_ENV(f, env, "config", "get", "server.port", "--set", "server.port=7200");
    assert_string_equal(f->r.out, "7200\n");
    char *text = slurp(f->path);
    assert_non_null(strstr(text, "9001"));
    assert_null(strstr(text, "7000"));
    assert_null(strstr(text, "7100"));
    free(text);

    RUN(f, "config", "set", "auth.admin_password", "hunter22");
    assert_int_equal(f->r.code, 0);
    assert_null(strstr(f->r.out, "hunter22")); /* secrets are not echoed */
    RUN(f, "config", "show");
    assert_null(strstr(f->r.out, "hunter22"));
    RUN(f, "config", "get", "auth.admin_password");
    assert_string_equal(f->r.out, "hunter22\n");

    RUN(f, "--allow-lan", "--auth-mode", "auto", "config", "get", "server.allow_lan_access");
    assert_string_equal(f->r.out, "true\n");
    RUN(f, "config", "get", "upstream.cloudcode_endpoints");
    assert_contains(f->r.out, "[\"https://daily-cloudcode-pa.sandbox.googleapis.com/v1internal\"");
}

static void rejected_set_leaves_file_alone(void **state)
{
    struct fixture *f = *state;
    RUN(f, "config", "set", "server.port", "9002");
    assert_int_equal(f->r.code, 0);
    char *before = slurp(f->path);

    RUN(f, "config", "set", "server.port", "abc");
    assert_int_equal(f->r.code, 2);
    assert_contains(f->r.err, "server.port");
    assert_contains(f->r.err, "\"abc\"");
    assert_contains(f->r.err, "from 1 to 65535");
    RUN(f, "config", "set", "auth.mode", "sometimes");
    assert_int_equal(f->r.code, 2);
    assert_contains(f->r.err, "one of off, strict, all_except_health, auto");
    RUN(f, "config", "set", "upstream.proxy_url", "gopher://x");
    assert_int_equal(f->r.code, 2);
    RUN(f, "config", "set", "no.such.key", "1");
    assert_int_equal(f->r.code, 2);
    assert_contains(f->r.err, "no.such.key");
    RUN(f, "config", "get", "no.such.key");
    assert_int_equal(f->r.code, 2);
    RUN(f, "config", "set", "server.port");
    assert_int_equal(f->r.code, 2);

    char *after = slurp(f->path);
    assert_string_equal(before, after);
    free(after);
    free(before);
}

static void broken_file_is_reported_and_kept(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(ag_file_mkdirs(f->dir, 0700), 0);
    const char *text = "{\n  \"server\": {\"port\": 8045,}\n}\n";
    assert_int_equal(ag_file_write_atomic(f->path, text, strlen(text), 0600), 0);
    RUN(f, "config", "show");
    assert_int_equal(f->r.code, 1);
    char want[256];
    snprintf(want, sizeof(want), "%s:2:", f->path);
    assert_contains(f->r.err, want);
    RUN(f, "config", "set", "server.port", "9000");
    assert_int_equal(f->r.code, 1);
    char *now = slurp(f->path);
    assert_string_equal(now, text);
    free(now);
}

static void path_follows_data_dir_rules(void **state)
{
    struct fixture *f = *state;
    char want[300];
    RUN(f, "config", "path");
    assert_int_equal(f->r.code, 0);
    snprintf(want, sizeof(want), "%s\n", f->path);
    assert_string_equal(f->r.out, want);

    RUN(f, "--data-dir", "/tmp/elsewhere-aigate", "config", "path");
    assert_string_equal(f->r.out, "/tmp/elsewhere-aigate/config.json\n");

    const char *env[] = {f->env_home, NULL};
    RUN_ENV(f, env, "config", "path");
    snprintf(want, sizeof(want), "%s/home/.local/share/aigate/config.json\n", f->base);
    assert_string_equal(f->r.out, want);

    char xdg[200];
    snprintf(xdg, sizeof(xdg), "XDG_DATA_HOME=%s/xdg", f->base);
    const char *env2[] = {f->env_home, xdg, NULL};
    RUN_ENV(f, env2, "config", "path");
    snprintf(want, sizeof(want), "%s/xdg/aigate/config.json\n", f->base);
    assert_string_equal(f->r.out, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(help_and_version, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_command_and_option_exit_2, setup, teardown),
        cmocka_unit_test_setup_teardown(show_masks_get_reveals, setup, teardown),
        cmocka_unit_test_setup_teardown(set_get_and_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(rejected_set_leaves_file_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(broken_file_is_reported_and_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(path_follows_data_dir_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
