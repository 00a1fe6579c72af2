/* tests/mock/main.c: aigate-mock-upstream's entry point.
 *   aigate-mock-upstream [--port N] [--host 127.0.0.1] [--accounts FILE] [--sse-delay-ms N]
 *                        [--sse-events N] [--sse-chunk-bytes N] [--accept-any-token]
 *                        [--max-connections N]
 * Prints "listening on 127.0.0.1:<port>" as its first stdout line; SIGTERM/SIGINT stop it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
#include "http/router.h"
#include "mock.h"

static uv_signal_t sig_term, sig_int;
static bool stopping;

static void on_stopped(void *ud)
{
    (void)ud;
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)h;
    (void)signum;
    if (stopping)
        return;
    stopping = true;
    ag_http_server_shutdown(g_mock.server, 200, on_stopped, NULL);
}

static int usage(void)
{
    fprintf(stderr, "usage: aigate-mock-upstream [--port N] [--host ADDR] [--accounts FILE]\n"
                    "         [--sse-delay-ms N] [--sse-events N] [--sse-chunk-bytes N]\n"
                    "         [--accept-any-token] [--max-connections N]\n");
    return 2;
}

static bool is_loopback(const char *h)
{
    return strcmp(h, "127.0.0.1") == 0 || strcmp(h, "::1") == 0 || strcmp(h, "localhost") == 0 ||
           strncmp(h, "127.", 4) == 0;
}

static int num_arg(const char *s, uint64_t max, int *out)
{
    uint64_t v;
    if (!s || ag_str_to_u64(ag_str_c(s), max, &v) < 0)
        return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *accounts = NULL, *lvl = getenv("AIGATE_LOG_LEVEL");
    int port = 0, n, rc;
    struct ag_http_limits lim = {0}; /* zero fields: the server's defaults */
    enum ag_log_level level;

    signal(SIGPIPE, SIG_IGN);
    ag_log_set_level(AG_LOG_WARN);
    if (lvl && ag_log_level_parse(lvl, &level) == 0)
        ag_log_set_level(level);
    g_mock.loop = uv_default_loop();
    mock_state_init();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--port") == 0 && num_arg(v, 65535, &port) == 0) {
            i++;
        } else if (strcmp(a, "--host") == 0 && v) {
            host = v;
            i++;
        } else if (strcmp(a, "--accounts") == 0 && v) {
            accounts = v;
            i++;
        } else if (strcmp(a, "--sse-delay-ms") == 0 && num_arg(v, 600000, &n) == 0) {
            g_mock.settings.sse_delay_ms = (uint32_t)n;
            i++;
        } else if (strcmp(a, "--sse-events") == 0 && num_arg(v, 100000, &n) == 0) {
            g_mock.settings.sse_events = n;
            i++;
        } else if (strcmp(a, "--sse-chunk-bytes") == 0 && num_arg(v, 1 << 20, &n) == 0 && n > 0) {
            g_mock.settings.sse_chunk_bytes = n;
            i++;
        } else if (strcmp(a, "--max-connections") == 0 && num_arg(v, 1000000, &n) == 0 && n > 0) {
            lim.max_connections = (size_t)n;
            i++;
        } else if (strcmp(a, "--accept-any-token") == 0) {
            g_mock.settings.accept_any_token = true;
        } else {
            return usage();
        }
    }
    if (!is_loopback(host)) {
        fprintf(stderr, "mock: refusing to listen on %s (loopback only)\n", host);
        return 2;
    }
    if (accounts && mock_accounts_load_file(accounts) < 0)
        return 1;
    g_mock.initial_settings = g_mock.settings;

    g_mock.router = ag_router_new();
    ag_router_set_fallback(g_mock.router, &ag_errfmt_plain);
    mock_register_control(g_mock.router);
    mock_register_google(g_mock.router);
    mock_register_openai_anthropic(g_mock.router);
    mock_register_provider(g_mock.router);
    g_mock.server = ag_http_server_new(g_mock.loop, g_mock.router, &lim);
    rc = ag_http_server_listen(g_mock.server, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host,
                               port);
    if (rc < 0) {
        fprintf(stderr, "mock: cannot listen on %s:%d: %s\n", host, port, uv_strerror(rc));
        return 1;
    }
    printf("listening on %s:%d\n", strcmp(host, "::1") == 0 ? "[::1]" : host,
           ag_http_server_port(g_mock.server));
    fflush(stdout);

    uv_signal_init(g_mock.loop, &sig_term);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_signal_init(g_mock.loop, &sig_int);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_run(g_mock.loop, UV_RUN_DEFAULT);

    ag_http_server_free(g_mock.server);
    ag_router_free(g_mock.router);
    mock_state_dispose();
    uv_loop_close(g_mock.loop);
    return 0;
}
