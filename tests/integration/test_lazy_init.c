/* Integration tests of what the gateway initialises at start with the real binaries: an idle
 * gateway with accounts whose tokens are fresh does not initialise libcurl and OpenSSL (ids,
 * keys and tokens drawn at start come from the kernel's getrandom), and has neither libcurl nor
 * libpq mapped (both are loaded on first use); the first upstream call loads and initialises
 * libcurl, and it succeeds; after a restart the first use of libcurl may be a worker's (a request
 * log replay) and it succeeds too. A gateway whose libcurl cannot be loaded starts, answers, and
 * fails upstream requests with an error instead of crashing. OpenSSL's initialisation is seen
 * from outside: it reads the file named by OPENSSL_CONF, which the test watches with inotify;
 * the libraries, in /proc/PID/maps. Loopback only; every wait is bounded; every process is
 * stopped by its PID. */
#include "ag_test.h"

#include "child.h"
#include "gwenv.h"
#include "core/buf.h"
#include "proc.h"
#include "rawhttp.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <yyjson.h>

#define KEY "sk-lazy-init-test-key"

struct conf_watch {
    char dir[64];
    char path[96];
    char env[128]; /* "OPENSSL_CONF=<path>" */
    int fd;        /* inotify; -1 before conf_watch_start */
};

/* An empty OpenSSL configuration file (valid: OpenSSL's defaults) in a directory of its own. */
static void conf_make(struct conf_watch *w)
{
    snprintf(w->dir, sizeof(w->dir), "/tmp/aigate-lazy-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    snprintf(w->path, sizeof(w->path), "%s/openssl.cnf", w->dir);
    int fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    snprintf(w->env, sizeof(w->env), "OPENSSL_CONF=%s", w->path);
    w->fd = -1;
}

/* From here on, every open of the file is an event. */
static void conf_watch_start(struct conf_watch *w)
{
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    assert_true(w->fd >= 0);
    assert_true(inotify_add_watch(w->fd, w->path, IN_OPEN) >= 0);
}

/* Whether the file was opened since the watch started (or the last call), waiting up to
 * wait_ms for a first open. */
static bool conf_opened(struct conf_watch *w, int wait_ms)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool opened = false;
    for (int waited = 0;; waited += 50) {
        ssize_t n;
        while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
            for (char *p = buf; p < buf + n;) {
                const struct inotify_event *ev = (const struct inotify_event *)p;
                if (ev->mask & IN_OPEN)
                    opened = true;
                p += sizeof(*ev) + ev->len;
            }
        }
        assert_true(n < 0 && errno == EAGAIN);
        if (opened || waited >= wait_ms)
            return opened;
        usleep(50 * 1000);
    }
}

static void conf_remove(struct conf_watch *w)
{
    if (w->fd >= 0)
        close(w->fd);
    unlink(w->path);
    rmdir(w->dir);
}

static void env_prepare(struct ag_gwenv *e, struct conf_watch *w, bool with_key)
{
    /* With a key, the key check (an HMAC) initialises OpenSSL, though not libcurl. */
    const char *const env_off[] = {w->env, NULL};
    const char *const env_key[] = {w->env, "AIGATE_API_KEY=" KEY,
                                   "AIGATE_AUTH_MODE=all_except_health", NULL};
    const struct ag_gwenv_opts o = {
        .name = "lazy",
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"},"
                         "{\"email\":\"b@example.com\",\"refresh_token\":\"rt-b\","
                         "\"access_token\":\"at-b\",\"project\":\"proj-b\",\"tier\":\"PRO\"}]",
        .tokens = (const char *const[]){"rt-a", "rt-b", NULL},
        .config_json = with_key ? "{\"monitor\":{\"capture_bodies\":true}}" : NULL,
        .env = with_key ? env_key : env_off,
    };
    /* `accounts add` (a CLI process) initialises OpenSSL itself: the watch starts after it. */
    ag_gwenv_prepare(e, &o);
}

/* Upstream calls through a proxy: the mock itself, which takes absolute-form requests. A proxied
 * call always goes through libcurl (a plain http:// one without a proxy may take the client's
 * native path, which needs no libcurl). set holds the argument (cap bytes). */
static void use_proxy(struct ag_gwenv *e, char *set, size_t cap)
{
    snprintf(set, cap, "upstream.proxy_url=%s", e->mock.base_url);
    e->gw_args[0] = "--set";
    e->gw_args[1] = set;
    e->gw_args[2] = NULL;
}

static long call(struct ag_gwenv *e, const char *method, const char *path, const char *body,
                 struct ag_buf *out)
{
    const char *const hdrs[] = {"Authorization: Bearer " KEY, "Content-Type: application/json",
                                NULL};
    return ag_gwenv_call(e, method, path, body, hdrs, out);
}

static const char chat_body[] = "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
                                "\"content\":\"hello from an idle gateway\"}]}";

static void idle_gateway_initialises_no_tls_until_the_first_upstream_call(void **state)
{
    struct ag_gwenv e;
    struct conf_watch w = {.fd = -1};
    struct ag_buf out;
    char set[160];
    conf_make(&w);
    ag_buf_init(&out, 0);
    env_prepare(&e, &w, false);
    use_proxy(&e, set, sizeof(set));
    conf_watch_start(&w);
    ag_gwenv_launch(&e);

    /* Started with its accounts loaded, answering, and idle for a second: nothing of this needs
     * TLS. */
    assert_int_equal(call(&e, "GET", "/healthz", NULL, &out), 200);
    assert_false(conf_opened(&w, 1000));
    /* Neither libcurl (with its tree of TLS, Kerberos, LDAP, SSH libraries) nor libpq is even
     * mapped. */
    assert_false(ag_child_maps(e.gw.pid, "libcurl.so"));
    assert_false(ag_child_maps(e.gw.pid, "libpq.so"));

    /* The first upstream call loads libcurl, initialises it (and OpenSSL with it) and goes
     * through. */
    assert_int_equal(call(&e, "POST", "/v1/chat/completions", chat_body, &out), 200);
    assert_non_null(strstr(out.data, "chat.completion"));
    assert_true(conf_opened(&w, 2000));
    assert_true(ag_child_maps(e.gw.pid, "libcurl.so.4"));
    assert_false(ag_child_maps(e.gw.pid, "libpq.so"));
    /* and the next one finds everything ready */
    assert_int_equal(call(&e, "POST", "/v1/chat/completions", chat_body, &out), 200);

    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
    conf_remove(&w);
}

/* Upstreams over plain http:// without a proxy take the client's native HTTP/1.1 path: answered
 * requests, and still no libcurl in the process. */
static void plain_http_upstream_calls_need_no_libcurl(void **state)
{
    struct ag_gwenv e;
    struct conf_watch w = {.fd = -1};
    struct ag_buf out;
    conf_make(&w);
    ag_buf_init(&out, 0);
    env_prepare(&e, &w, false);
    ag_gwenv_launch(&e);

    for (int i = 0; i < 3; i++) {
        assert_int_equal(call(&e, "POST", "/v1/chat/completions", chat_body, &out), 200);
        assert_non_null(strstr(out.data, "chat.completion"));
    }
    assert_false(ag_child_maps(e.gw.pid, "libcurl.so"));

    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
    conf_remove(&w);
}

/* The id of the newest request log row, from the database (so it survives a restart). */
static int64_t newest_row(struct ag_gwenv *e)
{
    struct ag_buf out;
    int64_t id = 0;
    ag_buf_init(&out, 0);
    assert_int_equal(call(e, "GET", "/api/logs/recent?limit=5", NULL, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    assert_non_null(d);
    yyjson_val *first = yyjson_arr_get(yyjson_obj_get(yyjson_doc_get_root(d), "items"), 0);
    if (first)
        id = yyjson_get_sint(yyjson_obj_get(first, "id"));
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return id;
}

static void replay_as_the_first_curl_use_after_a_restart(void **state)
{
    struct ag_gwenv e;
    struct conf_watch w = {.fd = -1};
    struct ag_buf out;
    char path[64];
    conf_make(&w);
    ag_buf_init(&out, 0);
    env_prepare(&e, &w, true);
    ag_gwenv_launch(&e);
    assert_int_equal(call(&e, "POST", "/v1/chat/completions", chat_body, &out), 200);
    int64_t id = newest_row(&e);
    assert_true(id > 0);
    snprintf(path, sizeof(path), "/api/logs/%lld", (long long)id);
    /* the row reaches the database through the writer thread: bounded wait for it */
    long st = 0;
    for (int i = 0; i < 50 && st != 200; i++) {
        st = call(&e, "GET", path, NULL, &out);
        if (st != 200)
            usleep(100 * 1000);
    }
    assert_int_equal(st, 200);

    /* A fresh process: the replay, on a worker thread, is the first to use libcurl, while the
     * loop starts the replayed request's upstream call. */
    assert_int_equal(ag_child_stop(&e.gw, SIGTERM, 15000), 0);
    ag_child_cleanup(&e.gw);
    ag_gwenv_launch(&e);
    assert_false(ag_child_maps(e.gw.pid, "libcurl.so"));
    snprintf(path, sizeof(path), "/api/logs/%lld/replay", (long long)id);
    assert_int_equal(call(&e, "POST", path, "{}", &out), 200);
    assert_true(ag_child_maps(e.gw.pid, "libcurl.so.4"));
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    assert_non_null(d);
    yyjson_val *root = yyjson_doc_get_root(d);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(root, "status")), 200);
    assert_non_null(strstr(yyjson_get_str(yyjson_obj_get(root, "body")), "chat.completion"));
    yyjson_doc_free(d);

    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
    conf_remove(&w);
}

/* A libcurl.so.4 that is no library (an empty file), first in the gateway's library path: the
 * dynamic loader refuses it, as it would a missing one. */
static void without_libcurl_the_gateway_runs_and_upstream_calls_fail(void **state)
{
    struct ag_gwenv e;
    struct conf_watch w = {.fd = -1};
    struct ag_buf out;
    char lib[160], set[160];
    conf_make(&w);
    ag_buf_init(&out, 0);
    env_prepare(&e, &w, false);
    use_proxy(&e, set, sizeof(set));
    snprintf(lib, sizeof(lib), "%s/libcurl.so.4", w.dir);
    int fd = open(lib, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    size_t n = 0;
    while (e.envp[n])
        n++;
    assert_true(n < AG_GWENV_VARS);
    snprintf(e.vars[n], sizeof(e.vars[n]), "LD_LIBRARY_PATH=%s", w.dir);
    e.envp[n] = e.vars[n];
    e.envp[n + 1] = NULL;
    ag_gwenv_launch(&e);

    assert_int_equal(call(&e, "GET", "/healthz", NULL, &out), 200);
    /* Twice: the second finds the failed load, not a half-loaded library. */
    for (int i = 0; i < 2; i++) {
        long st = call(&e, "POST", "/v1/chat/completions", chat_body, &out);
        assert_true(st >= 500 && st <= 599);
        assert_non_null(strstr(out.data, "\"error\""));
        assert_non_null(strstr(out.data, "a library it needs could not be loaded"));
    }
    assert_false(ag_child_maps(e.gw.pid, "libcurl.so"));
    char *log = ag_child_output(&e.gw);
    assert_non_null(log);
    bool said = strstr(log, "libcurl could not be loaded") != NULL;
    free(log);
    assert_true(said);
    /* Still answering, and it stops cleanly (ag_gwenv_stop checks the exit code). */
    assert_int_equal(call(&e, "GET", "/healthz", NULL, &out), 200);

    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
    unlink(lib);
    conf_remove(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(idle_gateway_initialises_no_tls_until_the_first_upstream_call,
                                  ag_gwenv_teardown),
        cmocka_unit_test_teardown(plain_http_upstream_calls_need_no_libcurl, ag_gwenv_teardown),
        cmocka_unit_test_teardown(replay_as_the_first_curl_use_after_a_restart, ag_gwenv_teardown),
        cmocka_unit_test_teardown(without_libcurl_the_gateway_runs_and_upstream_calls_fail,
                                  ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
