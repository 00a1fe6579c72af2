/* Integration tests for `aigate serve`: the real binary on a loopback port chosen at run time,
 * with a temporary data dir. Start-up, first-run files, auth from the environment, bad
 * configuration files, a taken port, and a clean stop on SIGTERM/SIGINT. */
#include "ag_test.h"

#include "child.h"
#include "rawhttp.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct gw {
    struct ag_child child;
    char base[64];
    char dir[128];
    char env_dir[200];
    char port_arg[16];
    int port;
};

static const char *bin(void)
{
    const char *b = getenv("AIGATE_BIN");
    if (!b)
        fail_msg("AIGATE_BIN is not set (run through ctest)");
    return b;
}

static void gw_prepare(struct gw *g)
{
    memset(g, 0, sizeof(*g));
    snprintf(g->base, sizeof(g->base), "/tmp/ag-gw-XXXXXX");
    assert_non_null(mkdtemp(g->base));
    snprintf(g->dir, sizeof(g->dir), "%s/data", g->base);
    snprintf(g->env_dir, sizeof(g->env_dir), "AIGATE_DATA_DIR=%s", g->dir);
    g->port = ag_child_free_port();
    snprintf(g->port_arg, sizeof(g->port_arg), "%d", g->port);
}

/* Starts aigate with extra env (besides the data dir) and extra arguments. */
static bool gw_start(struct gw *g, const char *const *env_extra, const char *const *args_extra)
{
    const char *env[12] = {g->env_dir, "AIGATE_LOG_LEVEL=info"};
    size_t ne = 2;
    for (size_t i = 0; env_extra && env_extra[i] && ne < 11; i++)
        env[ne++] = env_extra[i];
    env[ne] = NULL;
    const char *argv[16] = {bin(), "--port", g->port_arg};
    size_t na = 3;
    for (size_t i = 0; args_extra && args_extra[i] && na < 15; i++)
        argv[na++] = args_extra[i];
    argv[na] = NULL;
    return ag_child_start(&g->child, argv, env, "listening on", 10000);
}

static void gw_cleanup(struct gw *g)
{
    char cmd[256];
    ag_child_cleanup(&g->child);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g->base);
    assert_int_equal(system(cmd), 0);
}

static void first_start_serves_health_and_writes_private_files(void **state)
{
    struct gw g;
    struct rh_resp r;
    struct stat st;
    char path[256];
    gw_prepare(&g);
    assert_true(gw_start(&g, NULL, NULL));
    assert_true(rh_request(g.port, "GET", "/healthz", NULL, NULL, &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"ok\""));
    assert_non_null(strstr(r.body, "\"version\":\""));
    rh_resp_free(&r);

    assert_int_equal(stat(g.dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/config.json", g.dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* The access log names each request; the API key never appears in the output. */
    assert_int_equal(ag_child_stop(&g.child, SIGTERM, 10000), 0);
    char *out = ag_child_output(&g.child);
    assert_non_null(strstr(out, "GET /healthz 200"));
    assert_non_null(strstr(out, "127.0.0.1"));
    FILE *f = fopen(path, "r");
    char cfg[8192] = "";
    size_t n = fread(cfg, 1, sizeof(cfg) - 1, f);
    fclose(f);
    cfg[n] = '\0';
    char *k = strstr(cfg, "\"sk-");
    assert_non_null(k);
    char key[40];
    memcpy(key, k + 1, 35);
    key[35] = '\0';
    assert_null(strstr(out, key));
    free(out);
    gw_cleanup(&g);
}

static void auth_mode_and_key_from_environment(void **state)
{
    struct gw g;
    struct rh_resp r;
    const char *env[] = {"AIGATE_AUTH_MODE=strict", "AIGATE_API_KEY=sk-from-env-0123456789", NULL};
    gw_prepare(&g);
    assert_true(gw_start(&g, env, NULL));
    assert_true(rh_request(g.port, "GET", "/healthz", NULL, NULL, &r));
    assert_int_equal(r.status, 401);
    rh_resp_free(&r);
    assert_true(rh_request(g.port, "GET", "/healthz",
                           "Authorization: Bearer sk-from-env-0123456789\r\n", NULL, &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    assert_int_equal(ag_child_stop(&g.child, SIGINT, 10000), 0);
    gw_cleanup(&g);

    /* all_except_health from the command line beats the environment's strict. */
    const char *args[] = {"--auth-mode", "all_except_health", NULL};
    gw_prepare(&g);
    assert_true(gw_start(&g, env, args));
    assert_true(rh_request(g.port, "GET", "/healthz", NULL, NULL, &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    assert_true(rh_request(g.port, "POST", "/v1/api/event_logging/batch", NULL, "{}", &r));
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "\"type\":\"authentication_error\""));
    rh_resp_free(&r);
    assert_int_equal(ag_child_stop(&g.child, SIGTERM, 10000), 0);
    gw_cleanup(&g);
}

/* Sends raw bytes on a new connection; the status of the one response, 0 when none came. */
static int raw_status(int port, const char *bytes)
{
    struct rh_conn c;
    struct rh_resp r;
    int st = 0;
    if (!rh_connect(&c, port, 5000))
        return -1;
    if (rh_send_str(&c, bytes) && rh_read(&c, &r, false)) {
        st = r.status;
        rh_resp_free(&r);
    }
    rh_close(&c);
    return st;
}

/* The defaults (auth off, loopback) against hostile input and a web page, on the real binary. */
static void defaults_hold_against_hostile_requests_and_pages(void **state)
{
    struct gw g;
    struct rh_resp r;
    gw_prepare(&g);
    assert_true(gw_start(&g, NULL, NULL));
    /* The 26-byte absolute-form request that crashed the server. */
    assert_int_equal(raw_status(g.port, "GET http:// HTTP/1.0\r\n\r\n"), 400);
    /* "/": the UI, or its 503 when built without it (AIGATE_WEB_UI=OFF) */
    int root = raw_status(g.port, "GET https://x?a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_true(root == 200 || root == 503);
    /* DNS rebinding: a foreign Host on the loopback listener. */
    assert_int_equal(raw_status(g.port, "GET /v1/models HTTP/1.1\r\nHost: evil.example:8045\r\n"
                                        "Connection: close\r\n\r\n"),
                     403);
    /* A page of another origin, and a simple text/plain POST. */
    assert_true(rh_request(g.port, "POST", "/v1/chat/completions",
                           "Origin: http://evil.example\r\nContent-Type: application/json\r\n",
                           "{}", &r));
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "\"error\""));
    rh_resp_free(&r);
    assert_true(
        rh_request(g.port, "POST", "/v1/messages", "Content-Type: text/plain\r\n", "{}", &r));
    assert_int_equal(r.status, 415);
    assert_non_null(strstr(r.body, "\"type\":\"error\"")); /* Anthropic's shape */
    rh_resp_free(&r);
    /* Still alive, and curl-style clients still reach the routes. */
    assert_true(rh_request(g.port, "GET", "/v1/models", NULL, NULL, &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    assert_int_equal(ag_child_stop(&g.child, SIGTERM, 10000), 0);
    gw_cleanup(&g);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void bad_config_stops_start_and_is_kept(void **state)
{
    struct gw g;
    char path[256], *out = NULL, *err = NULL;
    static const char broken[] = "{\n  \"server\": {\n    \"port\": 8045,\n  }\n}\n";
    gw_prepare(&g);
    assert_int_equal(mkdir(g.dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/config.json", g.dir);
    write_file(path, broken);
    const char *argv[] = {bin(), "--port", g.port_arg, NULL};
    const char *env[] = {g.env_dir, NULL};
    int code = ag_child_run(argv, env, NULL, 10000, &out, &err);
    assert_int_not_equal(code, 0);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "config.json:3:17"));
    free(out);
    free(err);
    char now[256] = "";
    FILE *f = fopen(path, "r");
    size_t n = fread(now, 1, sizeof(now) - 1, f);
    fclose(f);
    now[n] = '\0';
    assert_string_equal(now, broken);

    /* A valid JSON file with an invalid value names the key and the value. */
    write_file(path, "{\"auth\":{\"mode\":\"sometimes\"}}");
    code = ag_child_run(argv, env, NULL, 10000, &out, &err);
    assert_int_not_equal(code, 0);
    assert_non_null(strstr(err, "auth.mode"));
    assert_non_null(strstr(err, "sometimes"));
    free(out);
    free(err);
    gw_cleanup(&g);
}

static void taken_port_is_a_clear_error(void **state)
{
    struct gw a, b;
    char *out = NULL, *err = NULL;
    gw_prepare(&a);
    assert_true(gw_start(&a, NULL, NULL));
    gw_prepare(&b);
    const char *argv[] = {bin(), "--port", a.port_arg, NULL};
    const char *env[] = {b.env_dir, NULL};
    int code = ag_child_run(argv, env, NULL, 10000, &out, &err);
    assert_int_equal(code, 1);
    assert_non_null(strstr(err, "cannot listen"));
    assert_non_null(strstr(err, a.port_arg));
    free(out);
    free(err);
    assert_int_equal(ag_child_stop(&a.child, SIGTERM, 10000), 0);
    gw_cleanup(&a);
    gw_cleanup(&b);
}

static void lan_without_auth_warns(void **state)
{
    struct gw g;
    struct rh_resp r;
    const char *args[] = {"--allow-lan", "--auth-mode", "off", NULL};
    gw_prepare(&g);
    assert_true(gw_start(&g, NULL, args));
    assert_true(ag_child_wait_output(&g.child, "auth.mode=off", 2000));
    assert_true(rh_request(g.port, "GET", "/healthz", NULL, NULL, &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    assert_int_equal(ag_child_stop(&g.child, SIGTERM, 10000), 0);
    gw_cleanup(&g);

    /* auto with LAN access on protects AI routes. */
    const char *args2[] = {"--allow-lan", "--auth-mode", "auto", NULL};
    gw_prepare(&g);
    assert_true(gw_start(&g, NULL, args2));
    assert_true(rh_request(g.port, "POST", "/v1/api/event_logging/batch", NULL, "{}", &r));
    assert_int_equal(r.status, 401);
    rh_resp_free(&r);
    char *out = ag_child_output(&g.child);
    assert_null(strstr(out, "auth.mode=off"));
    free(out);
    assert_int_equal(ag_child_stop(&g.child, SIGTERM, 10000), 0);
    gw_cleanup(&g);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_start_serves_health_and_writes_private_files),
        cmocka_unit_test(auth_mode_and_key_from_environment),
        cmocka_unit_test(defaults_hold_against_hostile_requests_and_pages),
        cmocka_unit_test(bad_config_stops_start_and_is_kept),
        cmocka_unit_test(taken_port_is_a_clear_error),
        cmocka_unit_test(lan_without_auth_warns),
    };
    return cmocka_run_group_tests_name("gateway", tests, NULL, NULL);
}
