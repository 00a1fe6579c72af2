/* Integration tests of user keys with the real binaries (aigate in front of the mock upstream) on
 * loopback ports chosen at run time: keys made with `aigate keys`, then requests in each client
 * protocol (OpenAI chat, Responses, images, Anthropic, Gemini, the Responses WebSocket) refused in
 * that protocol's error shape — expired / disabled / revoked 401, outside its addresses 403, a
 * model outside its patterns 403, over rpm / concurrency / budget 429 with Retry-After — while the
 * main API key works as before; stored responses stay with the key that made them; usage reaches
 * the request log, `aigate keys list`, the by-key statistics and /metrics; 50 parallel requests
 * against a small budget overshoot it by at most the requests in flight. */
#include "ag_test.h"

#include "child.h"
#include "core/buf.h"
#include "gwenv.h"
#include "proc.h"
#include "rawhttp.h"
#include "wsclient.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yyjson.h>

#define MAIN_KEY "sk-keys-test-main-0123456789abcdef"

static struct ag_gwenv the_env;

static const char mock_accounts[] =
    "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\",\"access_token\":\"at-a\","
    "\"project\":\"proj-a\",\"tier\":\"PRO\"}]";

/* Prepares the environment (strict auth with MAIN_KEY, one account) without the gateway. */
static void env_prepare(struct ag_gwenv *e)
{
    static const char *const tokens[] = {"rt-a", NULL};
    const struct ag_gwenv_opts o = {
        .name = "keys",
        .config_json = "{\"auth\":{\"mode\":\"strict\",\"api_key\":\"" MAIN_KEY "\"}}",
        .mock_accounts = mock_accounts,
        .tokens = tokens,
    };
    ag_gwenv_prepare(e, &o);
}

/* `aigate keys create NAME args...`: the printed secret into secret (64 bytes). */
static void key_create(struct ag_gwenv *e, const char *name, const char *const *opts, char *secret)
{
    const char *args[24] = {"keys", "create", name};
    size_t n = 3;
    for (size_t i = 0; opts && opts[i]; i++)
        args[n++] = opts[i];
    args[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = ag_gwenv_cli(e, args, &out, &err);
    if (rc != 0)
        fail_msg("keys create %s: exit %d: %s%s", name, rc, out ? out : "", err ? err : "");
    const char *p = strstr(out, "  sk-");
    assert_non_null(p);
    p += 2;
    assert_int_equal(strspn(p + 3, "0123456789abcdef"), 32);
    memcpy(secret, p, 35);
    secret[35] = '\0';
    free(out);
    free(err);
}

/* `aigate keys ACTION NAME` (disable, enable, revoke), which must succeed. */
static void key_action(struct ag_gwenv *e, const char *action, const char *name)
{
    const char *args[] = {"keys", action, name, NULL};
    char *out = NULL, *err = NULL;
    int rc = ag_gwenv_cli(e, args, &out, &err);
    if (rc != 0)
        fail_msg("keys %s %s: exit %d: %s", action, name, rc, err ? err : "");
    free(out);
    free(err);
}

/* The protocols and how each shows a key and names a model. */
enum proto { P_CHAT, P_RESPONSES, P_IMAGES, P_ANTHROPIC, P_GEMINI, P_COUNT };
static const char *const proto_names[P_COUNT] = {"openai-chat", "responses", "images", "anthropic",
                                                 "gemini"};

/* One request in protocol p with key for model; r is the caller's to free. */
static int call(struct ag_gwenv *e, enum proto p, const char *key, const char *model,
                struct rh_resp *r)
{
    char headers[512], body[512], path[256];
    const char *hdr = p == P_ANTHROPIC ? "x-api-key: "
                      : p == P_GEMINI  ? "x-goog-api-key: "
                                       : "Authorization: Bearer ";
    snprintf(headers, sizeof(headers), "%s%s\r\nContent-Type: application/json\r\n%s", hdr, key,
             p == P_ANTHROPIC ? "anthropic-version: 2023-06-01\r\n" : "");
    switch (p) {
    case P_CHAT:
        snprintf(path, sizeof(path), "/v1/chat/completions");
        snprintf(body, sizeof(body),
                 "{\"model\":\"%s\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\","
                 "\"content\":\"hello keys\"}]}",
                 model);
        break;
    case P_RESPONSES:
        snprintf(path, sizeof(path), "/v1/responses");
        snprintf(body, sizeof(body),
                 "{\"model\":\"%s\",\"max_output_tokens\":64,\"input\":\"hello keys\","
                 "\"store\":false}",
                 model);
        break;
    case P_IMAGES:
        snprintf(path, sizeof(path), "/v1/images/generations");
        snprintf(body, sizeof(body), "{\"model\":\"%s\",\"prompt\":\"a red square\",\"n\":1}",
                 model);
        break;
    case P_ANTHROPIC:
        snprintf(path, sizeof(path), "/v1/messages");
        snprintf(body, sizeof(body),
                 "{\"model\":\"%s\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\","
                 "\"content\":\"hello keys\"}]}",
                 model);
        break;
    case P_GEMINI:
    case P_COUNT:
        snprintf(path, sizeof(path), "/v1beta/models/%s:generateContent", model);
        snprintf(body, sizeof(body),
                 "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hello keys\"}]}],"
                 "\"generationConfig\":{\"maxOutputTokens\":64}}");
        break;
    }
    assert_true(rh_request(e->port, "POST", path, headers, body, r));
    return r->status;
}

/* Fails unless body is an error in protocol p's shape for status, with want in its message. */
static void assert_error_shape(enum proto p, const struct rh_resp *r, int status, const char *want)
{
    if (r->status != status)
        fail_msg("%s: status %d, expected %d: %s", proto_names[p], r->status, status, r->body);
    yyjson_doc *d = yyjson_read(r->body, r->body_len, 0);
    if (!d)
        fail_msg("%s: not JSON: %s", proto_names[p], r->body);
    yyjson_val *root = yyjson_doc_get_root(d), *err = yyjson_obj_get(root, "error");
    assert_non_null(err);
    const char *msg = yyjson_get_str(yyjson_obj_get(err, "message"));
    assert_non_null(msg);
    if (want && !strstr(msg, want))
        fail_msg("%s: message \"%s\" lacks \"%s\"", proto_names[p], msg, want);
    if (p == P_ANTHROPIC) {
        assert_string_equal(yyjson_get_str(yyjson_obj_get(root, "type")), "error");
        const char *t = yyjson_get_str(yyjson_obj_get(err, "type"));
        assert_string_equal(t, status == 401   ? "authentication_error"
                               : status == 403 ? "permission_error"
                                               : "rate_limit_error");
    } else if (p == P_GEMINI) {
        assert_int_equal(yyjson_get_int(yyjson_obj_get(err, "code")), status);
        assert_string_equal(yyjson_get_str(yyjson_obj_get(err, "status")),
                            status == 401   ? "UNAUTHENTICATED"
                            : status == 403 ? "PERMISSION_DENIED"
                                            : "RESOURCE_EXHAUSTED");
    } else {
        assert_non_null(yyjson_get_str(yyjson_obj_get(err, "type")));
    }
    yyjson_doc_free(d);
}

static const char *model_of(enum proto p)
{
    return p == P_IMAGES      ? "gemini-3-pro-image"
           : p == P_ANTHROPIC ? "claude-sonnet-4-5"
                              : "gemini-2.5-flash";
}

/* The string member name of the JSON object in r's body, copied into out (fails when absent). */
static void body_str(const struct rh_resp *r, const char *name, char *out, size_t cap)
{
    yyjson_doc *d = yyjson_read(r->body, r->body_len, 0);
    assert_non_null(d);
    const char *v = yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(d), name));
    if (!v)
        fail_msg("no \"%s\" in %s", name, r->body);
    assert_true(strlen(v) < cap);
    memcpy(out, v, strlen(v) + 1);
    yyjson_doc_free(d);
}

/* ---------------------------------------------------------------- admission */

static void refused_keys_in_every_protocol(void **state)
{
    struct ag_gwenv *e = &the_env;
    char ok[64], disabled[64], revoked[64], expired[64], far[64];
    struct rh_resp r;
    env_prepare(e);
    key_create(e, "ok", NULL, ok);
    key_create(e, "disabled", NULL, disabled);
    key_create(e, "revoked", NULL, revoked);
    static const char *const past[] = {"--expires", "2020-01-01", NULL};
    key_create(e, "expired", past, expired);
    static const char *const ips[] = {"--ips", "10.0.0.0/8, 2001:db8::/32", NULL};
    key_create(e, "far", ips, far);
    key_action(e, "disable", "disabled");
    key_action(e, "revoke", "revoked");
    ag_gwenv_launch(e);

    for (int p = 0; p < P_COUNT; p++) {
        const char *m = model_of((enum proto)p);
        /* The main key and an active user key work; a made-up key is refused as before. */
        if (call(e, (enum proto)p, MAIN_KEY, m, &r) != 200)
            fail_msg("%s with the main key: %d %s", proto_names[p], r.status, r.body);
        rh_resp_free(&r);
        if (call(e, (enum proto)p, ok, m, &r) != 200)
            fail_msg("%s with a user key: %d %s", proto_names[p], r.status, r.body);
        rh_resp_free(&r);
        call(e, (enum proto)p, "sk-not-a-key-0000000000000000000000", m, &r);
        assert_error_shape((enum proto)p, &r, 401, "Invalid API key");
        rh_resp_free(&r);
        call(e, (enum proto)p, disabled, m, &r);
        assert_error_shape((enum proto)p, &r, 401, "disabled");
        rh_resp_free(&r);
        call(e, (enum proto)p, revoked, m, &r);
        assert_error_shape((enum proto)p, &r, 401, "revoked");
        rh_resp_free(&r);
        call(e, (enum proto)p, expired, m, &r);
        assert_error_shape((enum proto)p, &r, 401, "expired");
        rh_resp_free(&r);
        call(e, (enum proto)p, far, m, &r);
        assert_error_shape((enum proto)p, &r, 403, "address");
        rh_resp_free(&r);
    }

    /* The Responses WebSocket: the upgrade is refused the same way. */
    struct rh_conn c;
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", revoked);
    assert_true(ws_open(&c, e->port, "/v1/responses", hdr, &r));
    assert_error_shape(P_RESPONSES, &r, 401, "revoked");
    rh_resp_free(&r);
    rh_close(&c);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", far);
    assert_true(ws_open(&c, e->port, "/v1/responses", hdr, &r));
    assert_error_shape(P_RESPONSES, &r, 403, "address");
    rh_resp_free(&r);
    rh_close(&c);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", ok);
    assert_true(ws_open(&c, e->port, "/v1/responses", hdr, &r));
    assert_int_equal(r.status, 101);
    rh_resp_free(&r);
    rh_close(&c);

    /* A user key never opens the admin API. */
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", ok);
    assert_true(rh_request(e->port, "GET", "/api/keys", hdr, NULL, &r));
    assert_int_equal(r.status, 401);
    rh_resp_free(&r);

    /* Revoked while the gateway runs: refused within a few seconds (the table polls the store). */
    key_action(e, "revoke", "ok");
    bool refused = false;
    for (int i = 0; i < 50 && !refused; i++) {
        call(e, P_CHAT, ok, "gemini-2.5-flash", &r);
        refused = r.status == 401;
        rh_resp_free(&r);
        if (!refused)
            usleep(100 * 1000);
    }
    assert_true(refused);
    ag_gwenv_stop(e);
}

/* A key made through the admin API works at once; stored responses stay with their key. */
static void admin_api_keys_and_stored_responses(void **state)
{
    struct ag_gwenv *e = &the_env;
    struct rh_resp r;
    char a[64], b[64], body[100], path[160];
    env_prepare(e);
    ag_gwenv_launch(e);
    assert_true(rh_request(e->port, "POST", "/api/keys",
                           "Authorization: Bearer " MAIN_KEY
                           "\r\nContent-Type: application/json\r\n",
                           "{\"name\":\"alice\",\"rpm\":100,\"note\":\"made by the API\"}", &r));
    if (r.status != 201)
        fail_msg("POST /api/keys: %d %s", r.status, r.body);
    body_str(&r, "secret", a, sizeof(a));
    yyjson_doc *d = yyjson_read(r.body, r.body_len, 0);
    yyjson_val *key = yyjson_obj_get(yyjson_doc_get_root(d), "key");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(key, "rpm")), 100);
    assert_null(yyjson_obj_get(key, "hash"));
    assert_null(strstr(r.body, "key_hash"));
    yyjson_doc_free(d);
    rh_resp_free(&r);
    /* A bad field is a 400 naming it; a duplicate name a 409. */
    assert_true(rh_request(e->port, "POST", "/api/keys",
                           "Authorization: Bearer " MAIN_KEY
                           "\r\nContent-Type: application/json\r\n",
                           "{\"name\":\"bob\",\"ips\":\"not-an-address\"}", &r));
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "ips"));
    rh_resp_free(&r);
    assert_true(rh_request(e->port, "POST", "/api/keys",
                           "Authorization: Bearer " MAIN_KEY
                           "\r\nContent-Type: application/json\r\n",
                           "{\"name\":\"alice\"}", &r));
    assert_int_equal(r.status, 409);
    rh_resp_free(&r);
    assert_true(rh_request(e->port, "POST", "/api/keys",
                           "Authorization: Bearer " MAIN_KEY
                           "\r\nContent-Type: application/json\r\n",
                           "{\"name\":\"bob\"}", &r));
    assert_int_equal(r.status, 201);
    body_str(&r, "secret", b, sizeof(b));
    rh_resp_free(&r);

    /* A stored response made with key A is not visible to key B (nor to the main key). */
    char headers[256];
    snprintf(headers, sizeof(headers),
             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", a);
    assert_true(rh_request(e->port, "POST", "/v1/responses", headers,
                           "{\"model\":\"gemini-2.5-flash\",\"input\":\"remember\",\"store\":true}",
                           &r));
    assert_int_equal(r.status, 200);
    body_str(&r, "id", body, sizeof(body));
    rh_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/responses/%s", body);
    assert_true(rh_request(e->port, "GET", path, headers, NULL, &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", b);
    assert_true(rh_request(e->port, "GET", path, headers, NULL, &r));
    assert_int_equal(r.status, 404);
    rh_resp_free(&r);
    assert_true(
        rh_request(e->port, "GET", path, "Authorization: Bearer " MAIN_KEY "\r\n", NULL, &r));
    assert_int_equal(r.status, 404);
    rh_resp_free(&r);

    /* Rotation: the old secret stops at once, the new one works. */
    snprintf(path, sizeof(path), "/api/keys/alice/rotate");
    assert_true(
        rh_request(e->port, "POST", path, "Authorization: Bearer " MAIN_KEY "\r\n", NULL, &r));
    assert_int_equal(r.status, 200);
    char rotated[64];
    body_str(&r, "secret", rotated, sizeof(rotated));
    rh_resp_free(&r);
    assert_string_not_equal(rotated, a);
    call(e, P_CHAT, a, "gemini-2.5-flash", &r);
    assert_error_shape(P_CHAT, &r, 401, "Invalid API key");
    rh_resp_free(&r);
    assert_int_equal(call(e, P_CHAT, rotated, "gemini-2.5-flash", &r), 200);
    rh_resp_free(&r);
    ag_gwenv_stop(e);
}

/* With auth off a user key is still checked, and what it stores stays its own: a response stored
 * with key A is visible to A only, not to key B nor to a caller without a key. */
static void stored_responses_follow_the_user_key_with_auth_off(void **state)
{
    struct ag_gwenv *e = &the_env;
    static const char *const tokens[] = {"rt-a", NULL};
    const struct ag_gwenv_opts o = {
        .name = "keys-off",
        .config_json = "{\"auth\":{\"mode\":\"off\"}}",
        .mock_accounts = mock_accounts,
        .tokens = tokens,
    };
    struct rh_resp r;
    char a[64], b[64], id[100], path[160], headers[256];
    ag_gwenv_prepare(e, &o);
    key_create(e, "alice", NULL, a);
    key_create(e, "bob", NULL, b);
    ag_gwenv_launch(e);
    snprintf(headers, sizeof(headers),
             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", a);
    assert_true(rh_request(e->port, "POST", "/v1/responses", headers,
                           "{\"model\":\"gemini-2.5-flash\",\"input\":\"mine\",\"store\":true}",
                           &r));
    assert_int_equal(r.status, 200);
    body_str(&r, "id", id, sizeof(id));
    rh_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/responses/%s", id);
    assert_true(rh_request(e->port, "GET", path, headers, NULL, &r));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", b);
    assert_true(rh_request(e->port, "GET", path, headers, NULL, &r));
    assert_int_equal(r.status, 404);
    rh_resp_free(&r);
    assert_true(rh_request(e->port, "GET", path, "", NULL, &r));
    assert_int_equal(r.status, 404);
    rh_resp_free(&r);
    ag_gwenv_stop(e);
}

/* ---------------------------------------------------------------- limits (relay) */

/* GET path on the admin API with the main key; the body (malloc'd) or fails. */
static char *admin_get(struct ag_gwenv *e, const char *path)
{
    struct rh_resp r;
    assert_true(
        rh_request(e->port, "GET", path, "Authorization: Bearer " MAIN_KEY "\r\n", NULL, &r));
    if (r.status != 200)
        fail_msg("GET %s: %d %s", path, r.status, r.body);
    char *body = strdup(r.body);
    rh_resp_free(&r);
    return body;
}

/* The live in-flight count of key name (GET /api/keys). */
static int64_t in_flight(struct ag_gwenv *e, const char *name)
{
    char *body = admin_get(e, "/api/keys");
    yyjson_doc *d = yyjson_read(body, strlen(body), 0);
    yyjson_val *arr = yyjson_obj_get(yyjson_doc_get_root(d), "keys"), *k;
    size_t i, n;
    int64_t v = -1;
    yyjson_arr_foreach(arr, i, n, k)
    {
        if (strcmp(yyjson_get_str(yyjson_obj_get(k, "name")), name) == 0)
            v = yyjson_get_sint(yyjson_obj_get(yyjson_obj_get(k, "live"), "in_flight"));
    }
    yyjson_doc_free(d);
    free(body);
    return v;
}

struct bg_call {
    struct ag_gwenv *e;
    enum proto p;
    const char *key;
    struct rh_resp r;
    int status;
};

static void *bg_run(void *arg)
{
    struct bg_call *b = arg;
    b->status = call(b->e, b->p, b->key, model_of(b->p), &b->r);
    return NULL;
}

static void limits_in_every_protocol(void **state)
{
    struct ag_gwenv *e = &the_env;
    char narrow[64], poor[64], monthly[64], slow[P_COUNT][64], busy[P_COUNT][64], tpm[64];
    struct rh_resp r;
    char hv[32];
    env_prepare(e);
    static const char *const o_narrow[] = {"--models", "nothing-*,other-*", NULL};
    key_create(e, "narrow", o_narrow, narrow);
    static const char *const o_poor[] = {"--daily-tokens", "10", NULL};
    key_create(e, "poor", o_poor, poor);
    static const char *const o_monthly[] = {"--monthly-tokens", "10", NULL};
    key_create(e, "monthly", o_monthly, monthly);
    static const char *const o_tpm[] = {"--tpm", "60", NULL};
    key_create(e, "tpm", o_tpm, tpm);
    for (int p = 0; p < P_COUNT; p++) {
        char name[32];
        static const char *const o_slow[] = {"--rpm", "1", NULL};
        static const char *const o_busy[] = {"--max-concurrency", "1", NULL};
        snprintf(name, sizeof(name), "slow-%d", p);
        key_create(e, name, o_slow, slow[p]);
        snprintf(name, sizeof(name), "busy-%d", p);
        key_create(e, name, o_busy, busy[p]);
    }
    ag_gwenv_launch(e);

    for (int p = 0; p < P_COUNT; p++) {
        enum proto pp = (enum proto)p;
        const char *m = model_of(pp);
        call(e, pp, narrow, m, &r);
        assert_error_shape(pp, &r, 403, "not allowed for this API key");
        rh_resp_free(&r);
        call(e, pp, poor, m, &r);
        assert_error_shape(pp, &r, 429, "daily budget of 10 tokens");
        assert_true(rh_header(&r, "retry-after", hv, sizeof(hv)) && atoi(hv) >= 1);
        rh_resp_free(&r);
        call(e, pp, monthly, m, &r);
        assert_error_shape(pp, &r, 429, "monthly budget of 10 tokens");
        rh_resp_free(&r);
        /* rpm 1: the first passes, the second waits about a minute. */
        if (call(e, pp, slow[p], m, &r) != 200)
            fail_msg("%s: first request of an rpm-1 key: %d %s", proto_names[p], r.status, r.body);
        rh_resp_free(&r);
        call(e, pp, slow[p], m, &r);
        assert_error_shape(pp, &r, 429, "requests per minute");
        assert_true(rh_header(&r, "retry-after", hv, sizeof(hv)));
        assert_true(atoi(hv) >= 1 && atoi(hv) <= 60);
        rh_resp_free(&r);
    }
    /* Counting tokens costs nothing upstream: not refused by an exhausted budget. */
    char h[256];
    snprintf(h, sizeof(h),
             "x-api-key: %s\r\nContent-Type: application/json\r\nanthropic-version: "
             "2023-06-01\r\n",
             poor);
    assert_true(rh_request(e->port, "POST", "/v1/messages/count_tokens", h,
                           "{\"model\":\"claude-sonnet-4-5\",\"messages\":[{\"role\":\"user\","
                           "\"content\":\"count me\"}]}",
                           &r));
    if (r.status != 200)
        fail_msg("count_tokens with a key over its budget: %d %s", r.status, r.body);
    rh_resp_free(&r);
    /* tpm 60: the first request takes the whole minute's tokens (its estimate is above 60). */
    assert_int_equal(call(e, P_CHAT, tpm, "gemini-2.5-flash", &r), 200);
    rh_resp_free(&r);
    call(e, P_CHAT, tpm, "gemini-2.5-flash", &r);
    assert_error_shape(P_CHAT, &r, 429, "tokens per minute");
    assert_true(rh_header(&r, "retry-after", hv, sizeof(hv)) && atoi(hv) >= 1);
    rh_resp_free(&r);

    /* Concurrency 1: a request held by a slow upstream; a second one meanwhile is refused. */
    struct ag_buf out;
    ag_buf_init(&out, 0);
    assert_int_equal(
        ag_gwenv_mock(e, "POST", "/__mock/faults", "{\"delay_ms\":1500,\"permanent\":true}", &out),
        200);
    ag_buf_dispose(&out);
    for (int p = 0; p < P_COUNT; p++) {
        enum proto pp = (enum proto)p;
        char name[32];
        snprintf(name, sizeof(name), "busy-%d", p);
        struct bg_call b = {.e = e, .p = pp, .key = busy[p]};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, bg_run, &b), 0);
        bool held = false;
        for (int i = 0; i < 100 && !held; i++) {
            held = in_flight(e, name) == 1;
            if (!held)
                usleep(20 * 1000);
        }
        assert_true(held);
        call(e, pp, busy[p], model_of(pp), &r);
        assert_error_shape(pp, &r, 429, "in flight");
        assert_true(rh_header(&r, "retry-after", hv, sizeof(hv)));
        rh_resp_free(&r);
        pthread_join(th, NULL);
        if (b.status != 200)
            fail_msg("%s: the held request: %d %s", proto_names[p], b.status, b.r.body);
        rh_resp_free(&b.r);
        assert_int_equal(in_flight(e, name), 0);
    }
    ag_buf_init(&out, 0);
    ag_gwenv_mock(e, "DELETE", "/__mock/faults", NULL, &out);
    ag_buf_dispose(&out);

    /* The Responses WebSocket: a message with a model outside the patterns gets an error event. */
    struct rh_conn c;
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", narrow);
    assert_true(ws_open(&c, e->port, "/v1/responses", hdr, &r));
    assert_int_equal(r.status, 101);
    rh_resp_free(&r);
    assert_true(ws_send_text(&c, "{\"type\":\"response.create\",\"model\":\"gemini-2.5-flash\","
                                 "\"input\":\"hello\",\"store\":false}"));
    struct ws_frame f;
    assert_true(ws_read_message(&c, &f, 10000));
    assert_int_equal(f.opcode, WS_TEXT);
    assert_non_null(strstr(f.data, "\"error\""));
    assert_non_null(strstr(f.data, "403"));
    assert_non_null(strstr(f.data, "not allowed"));
    ws_frame_free(&f);
    rh_close(&c);
    ag_gwenv_stop(e);
}

#define BURST 50

static void *burst_run(void *arg)
{
    struct bg_call *b = arg;
    char headers[256];
    snprintf(headers, sizeof(headers),
             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", b->key);
    if (!rh_request(b->e->port, "POST", "/v1/chat/completions", headers,
                    "{\"model\":\"gemini-2.5-flash\",\"max_tokens\":8,\"messages\":[{\"role\":"
                    "\"user\",\"content\":\"burst\"}]}",
                    &b->r))
        b->status = -1;
    else
        b->status = b->r.status;
    return NULL;
}

/* 50 parallel requests against a budget of a few requests: the day's usage ends at most the
 * in-flight overshoot above the budget (what the admitted requests used beyond their
 * estimates), however the requests interleave; usage shows in keys list, the request log, the
 * statistics by key and /metrics. */
static void a_burst_overshoots_by_at_most_the_requests_in_flight(void **state)
{
    struct ag_gwenv *e = &the_env;
    char key[64];
    /* The gateway's estimate: a quarter of the body's bytes plus max_tokens (8). */
    const int64_t body_len = (int64_t)strlen("{\"model\":\"gemini-2.5-flash\",\"max_tokens\":8,"
                                             "\"messages\":[{\"role\":\"user\",\"content\":"
                                             "\"burst\"}]}");
    const int64_t est = body_len / 4 + 8, budget = 5 * est;
    char budget_arg[24];
    snprintf(budget_arg, sizeof(budget_arg), "%lld", (long long)budget);
    env_prepare(e);
    const char *const opts[] = {"--daily-tokens", budget_arg, NULL};
    key_create(e, "burst", opts, key);
    ag_gwenv_launch(e);
    struct ag_buf out;
    ag_buf_init(&out, 0);
    /* A slow first byte keeps the admitted requests in flight while the others arrive. */
    assert_int_equal(
        ag_gwenv_mock(e, "POST", "/__mock/faults", "{\"delay_ms\":1000,\"permanent\":true}", &out),
        200);
    ag_buf_dispose(&out);

    static struct bg_call b[BURST];
    pthread_t th[BURST];
    for (int i = 0; i < BURST; i++) {
        b[i] = (struct bg_call){.e = e, .key = key};
        assert_int_equal(pthread_create(&th[i], NULL, burst_run, &b[i]), 0);
    }
    int ok = 0, refused = 0;
    int64_t used = 0, over = 0;
    for (int i = 0; i < BURST; i++) {
        pthread_join(th[i], NULL);
        if (b[i].status == 200) {
            ok++;
            yyjson_doc *d = yyjson_read(b[i].r.body, b[i].r.body_len, 0);
            yyjson_val *u = yyjson_obj_get(yyjson_doc_get_root(d), "usage");
            int64_t real = yyjson_get_sint(yyjson_obj_get(u, "prompt_tokens")) +
                           yyjson_get_sint(yyjson_obj_get(u, "completion_tokens"));
            assert_true(real > 0);
            used += real;
            over += real > est ? real - est : 0;
            yyjson_doc_free(d);
        } else if (b[i].status == 429) {
            refused++;
            assert_non_null(strstr(b[i].r.body, "daily budget"));
        } else {
            fail_msg("burst request %d: %d %s", i, b[i].status, b[i].r.body);
        }
        rh_resp_free(&b[i].r);
    }
    assert_true(ok >= 1);
    assert_true(refused >= 1);
    assert_int_equal(ok + refused, BURST);
    print_message("burst of %d against a budget of %lld tokens (estimate %lld each): %d admitted, "
                  "%d refused, %lld tokens used, in-flight overshoot bound %lld\n",
                  BURST, (long long)budget, (long long)est, ok, refused, (long long)used,
                  (long long)over);
    /* The bound: usage above the budget is at most what admitted requests used beyond their
     * reservations. Without reservations every request of the burst would be admitted. */
    if (used > budget + over)
        fail_msg("%d admitted used %lld tokens: budget %lld + in-flight overshoot %lld", ok,
                 (long long)used, (long long)budget, (long long)over);

    /* The same usage in the key's day (through the writer: wait for all BURST records). */
    int64_t day_tokens = -1, day_requests = 0;
    for (int i = 0; i < 100 && day_requests < BURST; i++) {
        char *body = admin_get(e, "/api/keys");
        yyjson_doc *d = yyjson_read(body, strlen(body), 0);
        yyjson_val *k = yyjson_arr_get_first(yyjson_obj_get(yyjson_doc_get_root(d), "keys"));
        yyjson_val *today = yyjson_obj_get(yyjson_obj_get(k, "usage"), "today");
        day_requests = yyjson_get_sint(yyjson_obj_get(today, "requests"));
        day_tokens = yyjson_get_sint(yyjson_obj_get(today, "tokens"));
        yyjson_doc_free(d);
        free(body);
        if (day_requests < BURST)
            usleep(50 * 1000);
    }
    assert_int_equal(day_requests, BURST); /* refusals count as requests (with no tokens) */
    assert_int_equal(day_tokens, used);

    /* The request log names the key; the statistics by key and /metrics count it. */
    char *logs = admin_get(e, "/api/logs?limit=5");
    assert_non_null(strstr(logs, "\"key\":\"burst\""));
    free(logs);
    char *stats = admin_get(e, "/api/stats/keys?hours=2");
    assert_non_null(strstr(stats, "\"key\":\"burst\""));
    char want[64];
    snprintf(want, sizeof(want), "\"tokens\":%lld", (long long)used);
    assert_non_null(strstr(stats, want));
    free(stats);
    char *metrics = admin_get(e, "/metrics");
    snprintf(want, sizeof(want), "aigate_key_requests_total{key=\"burst\",status=\"200\"} %d", ok);
    if (!strstr(metrics, want))
        fail_msg("no \"%s\" in /metrics", want);
    assert_non_null(strstr(metrics, "aigate_key_tokens_total{key=\"burst\",kind=\"input\"}"));
    free(metrics);
    ag_gwenv_stop(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(refused_keys_in_every_protocol, ag_gwenv_teardown),
        cmocka_unit_test_teardown(admin_api_keys_and_stored_responses, ag_gwenv_teardown),
        cmocka_unit_test_teardown(stored_responses_follow_the_user_key_with_auth_off,
                                  ag_gwenv_teardown),
        cmocka_unit_test_teardown(limits_in_every_protocol, ag_gwenv_teardown),
        cmocka_unit_test_teardown(a_burst_overshoots_by_at_most_the_requests_in_flight,
                                  ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
