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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(refused_keys_in_every_protocol, ag_gwenv_teardown),
        cmocka_unit_test_teardown(admin_api_keys_and_stored_responses, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
