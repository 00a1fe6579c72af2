/* tests/support/fleet.c: see fleet.h. */
#include "fleet.h"

#include "ag_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yyjson.h>

#include "core/buf.h"
#include "keys/keys.h"
#include "store/store.h"

#define DEFAULT_ACCOUNTS                                                                           \
    "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\",\"access_token\":\"at-a\","          \
    "\"project\":\"proj-a\",\"tier\":\"PRO\"},"                                                    \
    "{\"email\":\"b@example.com\",\"refresh_token\":\"rt-b\",\"access_token\":\"at-b\","           \
    "\"project\":\"proj-b\",\"tier\":\"PRO\"}]"

long ag_fleet_mock(struct ag_fleet *f, const char *method, const char *path, const char *body)
{
    char url[256];
    struct ag_buf out;
    ag_buf_init(&out, 0);
    snprintf(url, sizeof(url), "%s%s", f->mock.base_url, path);
    long st = ag_test_http(method, url, body, NULL, &out);
    ag_buf_dispose(&out);
    return st;
}

void ag_fleet_start(struct ag_fleet *f, const struct ag_fleet_opts *o)
{
    char cfg[1024], redis_url[64], state[256] = "";
    char env_ep[256], env_tok[256], env_ui[256], env_lvl[64];
    memset(f, 0, sizeof(*f));
    snprintf(f->api_key, sizeof(f->api_key), "%s", o->api_key ? o->api_key : "");
    assert_true(o->ngw >= 1 && o->ngw <= AG_FLEET_MAX);
    ag_redisrv_start(&f->redis);
    assert_int_equal(ag_proc_start_mock(&f->mock, NULL), 0);
    assert_int_equal(ag_fleet_mock(f, "PUT", "/__mock/accounts",
                                   o->mock_accounts ? o->mock_accounts : DEFAULT_ACCOUNTS),
                     200);
    ag_redisrv_url(&f->redis, redis_url, sizeof(redis_url));
    if (!o->without_redis)
        snprintf(state, sizeof(state), ",\"state\":{\"redis_url\":\"%s\"%s}", redis_url,
                 o->state_extra ? o->state_extra : "");
    snprintf(cfg, sizeof(cfg), "{\"auth\":{\"mode\":\"off\",\"api_key\":\"%s\"}%s%s}",
             o->api_key ? o->api_key : "", state, o->extra_config ? o->extra_config : "");
    snprintf(env_ep, sizeof(env_ep), "AIGATE_CLOUDCODE_ENDPOINTS=%s/v1internal", f->mock.base_url);
    snprintf(env_tok, sizeof(env_tok), "AIGATE_OAUTH_TOKEN_URL=%s/token", f->mock.base_url);
    snprintf(env_ui, sizeof(env_ui), "AIGATE_USERINFO_URL=%s/userinfo", f->mock.base_url);
    snprintf(env_lvl, sizeof(env_lvl), "AIGATE_LOG_LEVEL=%s", o->log_level ? o->log_level : "info");
    const char *env[] = {env_ep,
                         env_tok,
                         env_ui,
                         "AIGATE_OAUTH_CLIENT_ID=fleet-test",
                         "AIGATE_OAUTH_CLIENT_SECRET=fleet-secret",
                         env_lvl,
                         NULL};
    for (int i = 0; i < o->ngw; i++) {
        const struct ag_gwenv_opts g = {
            .name = o->name, .tokens = o->tokens, .config_json = cfg, .env = env};
        ag_gwenv_prepare(&f->gw[i], &g);
        f->ngw = i + 1;
        if (o->prepare)
            o->prepare(&f->gw[i], o->prepare_ud);
    }
    if (o->record_startup)
        assert_int_equal(ag_fleet_mock(f, "DELETE", "/__mock/requests", NULL), 200);
    for (int i = 0; i < o->ngw; i++)
        ag_gwenv_launch(&f->gw[i]);
    for (int i = 0; i < o->ngw && !o->without_redis; i++)
        assert_true(ag_child_wait_output(&f->gw[i].gw, "sharing state through Redis", 15000));
    if (!o->record_startup)
        assert_int_equal(ag_fleet_mock(f, "DELETE", "/__mock/requests", NULL), 200);
}

static void rm_rf(const char *dir)
{
    char cmd[160];
    if (!dir[0])
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

void ag_fleet_crash(struct ag_fleet *f, int i)
{
    ag_child_stop(&f->gw[i].gw, SIGKILL, 5000);
    f->killed[i] = true;
}

void ag_fleet_stop(struct ag_fleet *f)
{
    int codes[AG_FLEET_MAX] = {0};
    int n = f->ngw;
    for (int i = 0; i < n; i++) {
        codes[i] = f->killed[i] ? 0 : ag_child_stop(&f->gw[i].gw, SIGTERM, 15000);
        if (codes[i] != 0) {
            char *log = ag_child_output(&f->gw[i].gw);
            fprintf(stderr, "aigate %d log:\n%s\n", i, log ? log : "");
            free(log);
        }
        ag_child_cleanup(&f->gw[i].gw);
        rm_rf(f->gw[i].base);
    }
    f->ngw = 0;
    ag_proc_stop(&f->mock, 5000);
    ag_redisrv_dispose(&f->redis);
    for (int i = 0; i < n; i++)
        assert_int_equal(codes[i], 0);
}

void ag_fleet_kill(struct ag_fleet *f)
{
    for (int i = 0; i < f->ngw; i++) {
        if (f->gw[i].gw.pid > 0)
            ag_child_stop(&f->gw[i].gw, SIGKILL, 5000);
        ag_child_cleanup(&f->gw[i].gw);
        rm_rf(f->gw[i].base);
    }
    f->ngw = 0;
    if (f->mock.pid > 0)
        ag_proc_stop(&f->mock, 5000);
    ag_redisrv_dispose(&f->redis);
}

/* The mock's record of generation requests, parsed (the caller frees it). */
static yyjson_doc *requests(struct ag_fleet *f)
{
    char url[256];
    struct ag_buf out;
    ag_buf_init(&out, 0);
    snprintf(url, sizeof(url), "%s/__mock/requests?path=GenerateContent", f->mock.base_url);
    assert_int_equal(ag_test_http("GET", url, NULL, NULL, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    ag_buf_dispose(&out);
    assert_non_null(d);
    return d;
}

static const char *auth_of(yyjson_val *req)
{
    return yyjson_get_str(yyjson_obj_get(yyjson_obj_get(req, "headers"), "authorization"));
}

int ag_fleet_calls(struct ag_fleet *f, const char *token)
{
    char want[64];
    int n = 0;
    snprintf(want, sizeof(want), "Bearer %s", token);
    yyjson_doc *d = requests(f);
    yyjson_val *v;
    size_t i, max;
    yyjson_arr_foreach(yyjson_doc_get_root(d), i, max, v)
    {
        const char *auth = auth_of(v);
        if (auth && strcmp(auth, want) == 0)
            n++;
    }
    yyjson_doc_free(d);
    return n;
}

void ag_fleet_last_token(struct ag_fleet *f, char *out, size_t cap)
{
    yyjson_doc *d = requests(f);
    yyjson_val *root = yyjson_doc_get_root(d);
    size_t n = yyjson_arr_size(root);
    const char *auth = n ? auth_of(yyjson_arr_get(root, n - 1)) : NULL;
    snprintf(out, cap, "%s", auth ? auth : "");
    yyjson_doc_free(d);
}

int ag_fleet_count_text(struct ag_fleet *f, int i, const char *text)
{
    char *log = ag_child_output(&f->gw[i].gw);
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, text)); p += strlen(text))
        n++;
    free(log);
    return n;
}

void ag_fleet_exhaust(struct ag_fleet *f, const char *token)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"status\":429,\"token\":\"%s\",\"permanent\":true,"
             "\"reason\":\"QUOTA_EXHAUSTED\",\"retry_delay\":\"60s\"}",
             token);
    assert_int_equal(ag_fleet_mock(f, "POST", "/__mock/faults", body), 200);
}

int ag_fleet_chat(struct ag_fleet *f, int port, const char *session, int n, struct rh_resp *out)
{
    return ag_fleet_chat_key(f, port, f->api_key, session, n, out);
}

int ag_fleet_chat_key(struct ag_fleet *f, int port, const char *key, const char *session, int n,
                      struct rh_resp *out)
{
    char body[256], hdr[512];
    struct rh_resp r = {0};
    snprintf(body, sizeof(body),
             "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":"
             "\"turn %d\"}]}",
             n);
    snprintf(hdr, sizeof(hdr),
             "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n%s%s%s", key,
             session ? "x-claude-code-session-id: " : "", session ? session : "",
             session ? "\r\n" : "");
    assert_true(rh_request(port, "POST", "/v1/chat/completions", hdr, body, &r));
    int st = r.status;
    if (out)
        *out = r;
    else
        rh_resp_free(&r);
    return st;
}

void ag_fleet_stream(struct ag_fleet *f, struct rh_conn *c, int port)
{
    char body[512], req[1024];
    snprintf(body, sizeof(body),
             "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"messages\":[{\"role\":\"user\","
             "\"content\":\"%s\"}]}",
             "a long answer, streamed slowly, one character after the other, while the other "
             "instances decide where their own requests go");
    snprintf(req, sizeof(req),
             "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             f->api_key, strlen(body), body);
    assert_true(rh_connect(c, port, 15000));
    assert_true(rh_send_str(c, req));
}

void ag_fleet_add_account(struct ag_fleet *f, int i, const char *refresh_token)
{
    char url[128], body[256], auth[192];
    struct ag_buf out;
    ag_buf_init(&out, 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/accounts", f->gw[i].port);
    snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", refresh_token);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", f->api_key);
    const char *hdrs[] = {auth, NULL};
    long st = ag_test_http("POST", url, body, hdrs, &out);
    ag_buf_dispose(&out);
    if (st != 200 && st != 201)
        fail_msg("POST /api/accounts on gateway %d: %ld", i, st);
}

/* Gateway i's runtime.inflight_elsewhere of the account email; -1 when it does not list it. */
static int inflight_elsewhere(struct ag_fleet *f, int i, const char *email)
{
    char url[128], auth[192];
    struct ag_buf out;
    int v = -1;
    ag_buf_init(&out, 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/accounts", f->gw[i].port);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", f->api_key);
    const char *hdrs[] = {auth, NULL};
    assert_int_equal(ag_test_http("GET", url, NULL, hdrs, &out), 200);
    yyjson_doc *d = yyjson_read(out.data, out.len, 0);
    yyjson_val *acct;
    size_t k, max;
    yyjson_arr_foreach(yyjson_obj_get(yyjson_doc_get_root(d), "accounts"), k, max, acct)
    {
        const char *e = yyjson_get_str(yyjson_obj_get(acct, "email"));
        yyjson_val *n = yyjson_obj_get(yyjson_obj_get(acct, "runtime"), "inflight_elsewhere");
        if (e && strcmp(e, email) == 0 && yyjson_is_int(n))
            v = (int)yyjson_get_sint(n);
    }
    yyjson_doc_free(d);
    ag_buf_dispose(&out);
    return v;
}

void ag_fleet_wait_inflight_elsewhere(struct ag_fleet *f, int i, const char *email, int want)
{
    int v = -1;
    for (int n = 0; n < 400 && (v = inflight_elsewhere(f, i, email)) != want; n++)
        usleep(25 * 1000);
    if (v != want)
        fail_msg("gateway %d: %s has %d requests in flight elsewhere, expected %d", i, email, v,
                 want);
}

void ag_fleet_put_key(const char *dir, const char *name, const char *secret,
                      const struct ag_user_key *limits)
{
    struct ag_store *s = NULL;
    char err[256];
    struct ag_user_key k = *limits;
    if (ag_store_open(dir, &s, err, sizeof(err)) != 0)
        fail_msg("store %s: %s", dir, err);
    snprintf(k.name, sizeof(k.name), "%s", name);
    ag_keys_hash_hex(secret, strlen(secret), k.hash, sizeof(k.hash));
    k.state = AG_USER_KEY_ACTIVE;
    assert_int_equal(ag_store_user_key_insert(s, &k, (int64_t)time(NULL)), 0);
    ag_store_free(s);
}
