/* tests/support/gwenv.c: see gwenv.h. */
#include "gwenv.h"

#include "ag_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yyjson.h>

/* The environment of the test that is running: the teardown stops it when an assertion failed
 * half-way (cmocka leaves the test function at the failed assertion). */
static struct ag_gwenv *running;

const char *ag_gwenv_bin(void)
{
    const char *b = getenv("AIGATE_BIN");
    if (!b)
        fail_msg("AIGATE_BIN is not set (run through ctest)");
    return b;
}

long ag_gwenv_mock(struct ag_gwenv *e, const char *method, const char *path, const char *body,
                   struct ag_buf *out)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", e->mock.base_url, path);
    ag_buf_reset(out);
    return ag_test_http(method, url, body, NULL, out);
}

long ag_gwenv_call(struct ag_gwenv *e, const char *method, const char *path, const char *body,
                   const char *const *hdrs, struct ag_buf *out)
{
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", e->port, path);
    ag_buf_reset(out);
    long st = ag_test_http(method, url, body, hdrs, out);
    ag_buf_append(out, "", 1);
    out->len--;
    return st;
}

void ag_gwenv_account_id(struct ag_gwenv *e, const char *needle, char *id, size_t cap)
{
    char *out = NULL, *err = NULL;
    const char *ls[] = {"accounts", "list", "--json", NULL};
    assert_int_equal(ag_gwenv_cli(e, ls, &out, &err), 0);
    yyjson_doc *d = yyjson_read(out, strlen(out), 0);
    assert_non_null(d);
    yyjson_val *v;
    size_t i, max;
    id[0] = '\0';
    yyjson_arr_foreach(yyjson_doc_get_root(d), i, max, v)
    {
        const char *email = yyjson_get_str(yyjson_obj_get(v, "email"));
        if (!id[0] && email && strstr(email, needle))
            snprintf(id, cap, "%s", yyjson_get_str(yyjson_obj_get(v, "id")));
    }
    yyjson_doc_free(d);
    free(out);
    free(err);
    assert_true(id[0] != '\0');
}

int ag_gwenv_cli(struct ag_gwenv *e, const char *const *args, char **out, char **err)
{
    const char *argv[24] = {ag_gwenv_bin(), "--port", e->port_arg};
    size_t n = 3;
    for (size_t i = 0; args && args[i] && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return ag_child_run(argv, e->envp, NULL, 60000, out, err);
}

/* Appends "<a><b><c>" to the environment. */
static void add_var(struct ag_gwenv *e, size_t *n, const char *a, const char *b, const char *c)
{
    if (*n >= AG_GWENV_VARS)
        fail_msg("gwenv: more than %d environment variables", AG_GWENV_VARS);
    snprintf(e->vars[*n], sizeof(e->vars[*n]), "%s%s%s", a, b, c);
    e->envp[*n] = e->vars[*n];
    (*n)++;
}

static void write_config(struct ag_gwenv *e, const char *json)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/config.json", e->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0600), 0);
}

void ag_gwenv_prepare(struct ag_gwenv *e, const struct ag_gwenv_opts *o)
{
    const char *name = o->name ? o->name : "gwenv";
    size_t n = 0;
    memset(e, 0, sizeof(*e));
    running = e;
    snprintf(e->base, sizeof(e->base), "/tmp/ag-%.16s-XXXXXX", name);
    assert_non_null(mkdtemp(e->base));
    snprintf(e->dir, sizeof(e->dir), "%s/data", e->base);
    assert_int_equal(mkdir(e->dir, 0700), 0);
    if (o->config_json)
        write_config(e, o->config_json);
    add_var(e, &n, "AIGATE_DATA_DIR=", e->dir, "");
    /* info unless the test asks for another level in its own environment */
    bool own_level = false;
    for (size_t i = 0; o->env && o->env[i]; i++)
        own_level = own_level || strncmp(o->env[i], "AIGATE_LOG_LEVEL=", 17) == 0;
    if (!own_level)
        add_var(e, &n, "AIGATE_LOG_LEVEL=info", "", "");
    if (o->mock || o->mock_accounts) {
        struct ag_buf out;
        ag_buf_init(&out, 0);
        assert_int_equal(ag_proc_start_mock(&e->mock, NULL), 0);
        e->with_mock = true;
        if (o->mock_accounts)
            assert_int_equal(ag_gwenv_mock(e, "PUT", "/__mock/accounts", o->mock_accounts, &out),
                             200);
        if (o->mock_faults)
            assert_int_equal(ag_gwenv_mock(e, "POST", "/__mock/faults", o->mock_faults, &out), 200);
        ag_buf_dispose(&out);
        add_var(e, &n, "AIGATE_CLOUDCODE_ENDPOINTS=", e->mock.base_url, "/v1internal");
        add_var(e, &n, "AIGATE_OAUTH_TOKEN_URL=", e->mock.base_url, "/token");
        add_var(e, &n, "AIGATE_USERINFO_URL=", e->mock.base_url, "/userinfo");
        add_var(e, &n, "AIGATE_OAUTH_CLIENT_ID=", name, "-test");
        add_var(e, &n, "AIGATE_OAUTH_CLIENT_SECRET=", name, "-secret");
    }
    for (size_t i = 0; o->env && o->env[i]; i++)
        add_var(e, &n, "", o->env[i], "");
    e->envp[n] = NULL;
    e->port = ag_child_free_port();
    snprintf(e->port_arg, sizeof(e->port_arg), "%d", e->port);
    size_t a = 0;
    for (; o->gw_args && o->gw_args[a] && a < 15; a++)
        e->gw_args[a] = o->gw_args[a];
    e->gw_args[a] = NULL;
    for (size_t i = 0; o->tokens && o->tokens[i]; i++) {
        const char *args[] = {"accounts", "add", "--refresh-token", o->tokens[i], NULL};
        char *out = NULL, *err = NULL;
        int code = ag_gwenv_cli(e, args, &out, &err);
        if (code != 0)
            fail_msg("accounts add %s: %d %s", o->tokens[i], code, err ? err : "");
        free(out);
        free(err);
    }
}

void ag_gwenv_launch(struct ag_gwenv *e)
{
    const char *argv[24] = {ag_gwenv_bin(), "--port", e->port_arg};
    size_t n = 3;
    for (size_t i = 0; e->gw_args[i] && n < 23; i++)
        argv[n++] = e->gw_args[i];
    argv[n] = NULL;
    /* The port was free when prepare chose it, but anything on the machine may have bound it
     * since (another test's port 0 included): then another free one, at most twice. */
    for (int attempt = 0; !ag_child_start(&e->gw, argv, e->envp, "listening on", 10000);
         attempt++) {
        char *log = ag_child_output(&e->gw);
        bool taken = log && strstr(log, "address already in use");
        free(log);
        ag_child_cleanup(&e->gw);
        if (!taken || attempt >= 2)
            fail_msg("aigate did not start on port %d", e->port);
        e->port = ag_child_free_port();
        snprintf(e->port_arg, sizeof(e->port_arg), "%d", e->port);
        fprintf(stderr, "port taken meanwhile: aigate starts again on %d\n", e->port);
    }
    if (e->with_mock) {
        struct ag_buf out;
        ag_buf_init(&out, 0);
        ag_gwenv_mock(e, "DELETE", "/__mock/requests", NULL, &out);
        ag_buf_dispose(&out);
    }
}

void ag_gwenv_start(struct ag_gwenv *e, const struct ag_gwenv_opts *o)
{
    ag_gwenv_prepare(e, o);
    ag_gwenv_launch(e);
}

static int remove_dir(const char *dir)
{
    char cmd[128];
    if (!dir[0])
        return 0;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

void ag_gwenv_stop(struct ag_gwenv *e)
{
    running = NULL;
    int code = e->gw.pid > 0 ? ag_child_stop(&e->gw, SIGTERM, 15000) : 0;
    if (code != 0) {
        char *log = ag_child_output(&e->gw);
        fprintf(stderr, "aigate log:\n%s\n", log ? log : "");
        free(log);
    }
    ag_child_cleanup(&e->gw);
    if (e->with_mock)
        ag_proc_stop(&e->mock, 5000);
    int rm = remove_dir(e->base);
    /* Asserted only now: a failure must not leave a process or a directory behind. */
    assert_int_equal(code, 0);
    assert_int_equal(rm, 0);
}

int ag_gwenv_teardown(void **state)
{
    (void)state;
    struct ag_gwenv *e = running;
    if (!e)
        return 0;
    running = NULL;
    if (e->gw.pid > 0)
        ag_child_stop(&e->gw, SIGKILL, 5000);
    ag_child_cleanup(&e->gw);
    if (e->with_mock)
        ag_proc_stop(&e->mock, 5000);
    if (remove_dir(e->base) != 0)
        fprintf(stderr, "could not remove %s\n", e->base);
    return 0;
}
