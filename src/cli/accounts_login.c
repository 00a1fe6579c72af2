/* cli/accounts_login.c: `aigate accounts login` and `aigate accounts refresh`.
 *
 * login runs the OAuth authorization-code flow of pool/login.h on a private loop: a tiny HTTP
 * listener on 127.0.0.1 with a random port (the project's own server core) receives the
 * browser's redirect at /oauth-callback; the URL is printed (and opened with xdg-open when a
 * display is available); a code or the whole redirect URL pasted on stdin works as well, for a
 * browser on another machine. The state is checked either way. It gives up after --timeout.
 *
 * refresh re-reads tokens, tier and quota of one account or all enabled ones through onboarding
 * (refresh grant, userinfo, loadCodeAssist, fetchAvailableModels); a running gateway picks the
 * stored result up within a second. An account whose refresh token is refused (invalid_grant)
 * is disabled with the reason, as the gateway would. */
#include "cli/cmd.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "http/router.h"
#include "http/server.h"
#include "pool/login.h"
#include "pool/onboard.h"
#include "store/accounts.h"
#include "store/store.h"
#include "upstream/client.h"

#define DEFAULT_TIMEOUT_S 300

struct login_run {
    uv_loop_t loop;
    struct ag_upstream_client *client;
    struct ag_config *cfg;
    struct ag_store *store;
    struct ag_login *login;
    struct ag_router *router;
    struct ag_http_server *server;
    uv_timer_t timer;
    uv_tty_t tty;
    uv_pipe_t pipe;
    uv_stream_t *in; /* stdin, when it can be read */
    char line[4096];
    size_t line_len;
    char state[AG_LOGIN_STATE_SIZE];
    struct ag_http_req *req; /* the browser's callback, answered when the login ends */
    bool completing, done, timed_out;
    int err;
    bool closed_client, closed_server;
};

static void on_login(const struct ag_login_result *res, void *ud)
{
    struct login_run *run = ud;
    char text[768];
    run->completing = false;
    run->done = true;
    run->err = res->err;
    if (res->err) {
        fprintf(stderr, "aigate: login failed: %s\n", res->message);
        snprintf(text, sizeof(text), "%s", res->message);
    } else {
        const struct ag_onboard_result *a = res->account;
        printf("%s %s (tier %s, project %s, %zu models with quota)\n",
               a->created ? "added" : "updated", a->email, ag_tier_name(a->tier),
               a->project_id[0] ? a->project_id : "unknown", a->nmodels);
        if (a->warning[0])
            fprintf(stderr, "aigate: warning: %s: %s\n", a->email, a->warning);
        snprintf(text, sizeof(text), "%s was %s. You can close this window.", a->email,
                 a->created ? "added to aigate" : "updated");
    }
    fflush(stdout);
    if (run->req) {
        run->req->on_abort = NULL;
        ag_login_page_respond(run->req, res->err ? 502 : 200,
                              res->err ? "Login failed" : "Account added", text);
        run->req = NULL;
    }
}

/* Hands a code to the login; reports a refusal. Returns true when the completion started. */
static bool complete(struct login_run *run, const char *code)
{
    int rc;
    if (run->completing || run->done)
        return false;
    rc = ag_login_complete(run->login, run->state, code, on_login, run);
    if (rc) {
        fprintf(stderr, "aigate: cannot complete the login: %s\n", ag_strerror(rc));
        if (rc == AG_ENOTFOUND) { /* expired: nothing more can succeed */
            run->done = true;
            run->err = rc;
        }
        return false;
    }
    run->completing = true;
    printf("exchanging the authorization code...\n");
    fflush(stdout);
    return true;
}

static void on_req_abort(struct ag_http_req *req, void *ud)
{
    ((struct login_run *)ud)->req = NULL;
}

static void on_callback(struct ag_http_req *req, void *ud)
{
    struct login_run *run = ud;
    char code[2048] = "", state[128] = "", error[256] = "";
    ag_login_query_value(req->query.p, req->query.len, "code", code, sizeof(code));
    ag_login_query_value(req->query.p, req->query.len, "state", state, sizeof(state));
    ag_login_query_value(req->query.p, req->query.len, "error", error, sizeof(error));
    if (strcmp(state, run->state) != 0) {
        ag_login_page_respond(req, 400, "Login failed",
                              "This callback does not belong to this login (state).");
        return;
    }
    if (error[0] || !code[0]) {
        fprintf(stderr, "aigate: the authorization was not granted: %s\n",
                error[0] ? error : "no code");
        ag_login_page_respond(req, 400, "Login failed",
                              error[0] ? error : "the callback carries no code");
        run->done = true;
        run->err = AG_EAUTH;
        return;
    }
    if (run->req || !complete(run, code)) {
        ag_login_page_respond(req, 409, "Login in progress",
                              "This login is already being completed.");
        return;
    }
    run->req = req;
    req->on_abort = on_req_abort;
    req->cb_ud = run;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char chunk[1024];
    (void)h;
    (void)hint;
    buf->base = chunk;
    buf->len = sizeof(chunk);
}

static void pasted(struct login_run *run)
{
    char code[2048], state[128];
    run->line[run->line_len] = '\0';
    run->line_len = 0;
    if (!ag_str_trim(ag_str_c(run->line)).len)
        return;
    if (ag_login_parse_pasted(run->line, code, sizeof(code), state, sizeof(state)) != 0) {
        fprintf(stderr, "aigate: that is neither a code nor a redirect URL with code=\n");
        return;
    }
    if (state[0] && strcmp(state, run->state) != 0) {
        fprintf(stderr, "aigate: that redirect URL belongs to another login (state differs)\n");
        return;
    }
    complete(run, code);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct login_run *run = s->data;
    if (n < 0) {
        uv_read_stop(s); /* EOF: the browser may still come back */
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        char c = buf->base[i];
        if (c == '\n') {
            pasted(run);
        } else if (run->line_len + 1 < sizeof(run->line)) {
            run->line[run->line_len++] = c;
        }
    }
}

static void on_timeout(uv_timer_t *t)
{
    struct login_run *run = t->data;
    if (run->completing)
        return; /* the exchange has its own timeouts */
    run->timed_out = true;
    run->done = true;
    run->err = AG_ETIMEDOUT;
}

static void open_stdin(struct login_run *run)
{
    switch (uv_guess_handle(0)) {
    case UV_TTY:
        if (uv_tty_init(&run->loop, &run->tty, 0, 1) == 0)
            run->in = (uv_stream_t *)&run->tty;
        break;
    case UV_NAMED_PIPE:
        if (uv_pipe_init(&run->loop, &run->pipe, 0) == 0) {
            if (uv_pipe_open(&run->pipe, 0) == 0)
                run->in = (uv_stream_t *)&run->pipe;
            else
                uv_close((uv_handle_t *)&run->pipe, NULL);
        }
        break;
    default:
        break;
    }
    if (run->in) {
        run->in->data = run;
        if (uv_read_start(run->in, on_alloc, on_read) != 0) {
            uv_close((uv_handle_t *)run->in, NULL);
            run->in = NULL;
        }
    }
}

static void open_browser(const char *url)
{
    const char *display = getenv("DISPLAY"), *wayland = getenv("WAYLAND_DISPLAY");
    if ((!display || !*display) && (!wayland || !*wayland))
        return;
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec: open + dup2, not freopen. */
        int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd >= 0) {
            dup2(null_fd, STDOUT_FILENO);
            dup2(null_fd, STDERR_FILENO);
            if (null_fd > STDERR_FILENO)
                close(null_fd);
        }
        execlp("xdg-open", "xdg-open", url, (char *)NULL);
        _exit(127);
    }
    /* Not waited for: xdg-open returns quickly; SIGCHLD is left to its default (reaped at exit). */
}

static void on_server_down(void *ud)
{
    ((struct login_run *)ud)->closed_server = true;
}

static void on_client_closed(void *ud)
{
    ((struct login_run *)ud)->closed_client = true;
}

static int parse_login_args(int argc, char **argv, bool *no_browser, int64_t *timeout_s)
{
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--no-browser") == 0) {
            *no_browser = true;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            if (ag_str_to_i64(ag_str_c(argv[++i]), 1, 86400, timeout_s) != 0)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* The run of a login: the configuration (with at least one OAuth client) and the account store;
 * NULL after saying why not. */
static struct login_run *login_prepare(struct ag_cli *cli)
{
    char err[512] = "";
    struct login_run *run = calloc(1, sizeof(*run));
    if (!run || !(run->cfg = ag_cli_load(cli))) {
        free(run);
        return NULL;
    }
    if (run->cfg->oauth.clients.n == 0) {
        fprintf(stderr, "aigate: no OAuth client is configured (oauth.clients or "
                        "AIGATE_OAUTH_CLIENT_ID)\n");
        ag_config_unref(run->cfg);
        free(run);
        return NULL;
    }
    if (ag_store_open_with(run->cfg->data_dir, run->cfg->store.postgres_url, &run->store, err,
                           sizeof(err)) != 0) {
        fprintf(stderr, "aigate: %s\n", err[0] ? err : "cannot open the account store");
        ag_config_unref(run->cfg);
        free(run);
        return NULL;
    }
    return run;
}

/* Closes what the run opened on its loop, waits for the client and the server to close, and
 * frees the run. */
static void login_teardown(struct login_run *run)
{
    ag_login_free(run->login);
    if (run->in) {
        uv_read_stop(run->in);
        uv_close((uv_handle_t *)run->in, NULL);
    }
    uv_close((uv_handle_t *)&run->timer, NULL);
    if (run->client)
        ag_upstream_client_close(run->client, on_client_closed, run);
    else
        run->closed_client = true;
    while (!run->closed_client || !run->closed_server)
        uv_run(&run->loop, UV_RUN_ONCE);
    uv_run(&run->loop, UV_RUN_NOWAIT);
    ag_http_server_free(run->server);
    ag_router_free(run->router);
    uv_loop_close(&run->loop);
    ag_store_free(run->store);
    ag_config_unref(run->cfg);
    free(run);
}

int ag_cli_accounts_login(struct ag_cli *cli, int argc, char **argv)
{
    struct login_run *run;
    bool no_browser = false;
    int64_t timeout_s = DEFAULT_TIMEOUT_S;
    char redirect[64], *url = NULL;
    int rc, exit_code = AG_CLI_EXIT_FAIL;

    if (parse_login_args(argc, argv, &no_browser, &timeout_s) != 0)
        return ag_cli_usage_error("usage: aigate accounts login [--no-browser] [--timeout S]");
    run = login_prepare(cli);
    if (!run)
        return AG_CLI_EXIT_FAIL;
    uv_loop_init(&run->loop);
    run->client = ag_upstream_client_new(&run->loop, NULL);
    run->login = ag_login_new(run->client, run->store);
    run->router = ag_router_new();
    struct ag_route rt = {.method = "GET",
                          .pattern = "/oauth-callback",
                          .handler = on_callback,
                          .ud = run,
                          .access = AG_ACCESS_PUBLIC};
    ag_router_add(run->router, &rt);
    run->server = ag_http_server_new(&run->loop, run->router, NULL);
    uv_timer_init(&run->loop, &run->timer);
    run->timer.data = run;
    if (!run->client || !run->server || ag_http_server_listen(run->server, "127.0.0.1", 0) != 0) {
        fprintf(stderr, "aigate: cannot listen on 127.0.0.1 for the OAuth callback\n");
        run->closed_server = true;
        goto out;
    }
    snprintf(redirect, sizeof(redirect), "http://127.0.0.1:%d/oauth-callback",
             ag_http_server_port(run->server));
    if ((rc = ag_login_start(run->login, run->cfg, redirect, &url, run->state)) != 0) {
        fprintf(stderr, "aigate: cannot start the login: %s\n", ag_strerror(rc));
        goto shutdown;
    }
    printf("Open this URL in a browser and log in with the Google account to add:\n\n  %s\n\n"
           "Waiting for the browser at %s (for %lld s).\n"
           "If the browser runs on another machine, paste the code or the whole address it ends "
           "on here and press Enter.\n",
           url, redirect, (long long)timeout_s);
    fflush(stdout);
    if (!no_browser)
        open_browser(url);
    open_stdin(run);
    uv_timer_start(&run->timer, on_timeout, (uint64_t)timeout_s * 1000, 1000);
    while (!run->done)
        uv_run(&run->loop, UV_RUN_ONCE);
    if (run->timed_out)
        fprintf(stderr, "aigate: no callback or code within %lld s; the login is abandoned\n",
                (long long)timeout_s);
    exit_code = run->err ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
shutdown:
    ag_http_server_shutdown(run->server, 1000, on_server_down, run);
out:
    free(url);
    login_teardown(run);
    return exit_code;
}
