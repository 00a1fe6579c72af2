/* Integration tests of what the gateway stores and shows, with the real binaries (aigate in front
 * of the mock upstream) on loopback ports chosen at run time: stored Responses API answers have
 * unguessable ids and are visible only to the key that made them; health probes stay out of the
 * request log; a proxy URL's password never leaves through the admin API and survives a masked
 * round-trip; an admin event stream ends with the login (or the secret) that opened it: at
 * logout, at a secret change, and when the session expires (that test waits a minute). */
#include "ag_test.h"

#include "child.h"
#include "gwenv.h"
#include "core/buf.h"
#include "proc.h"
#include "rawhttp.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yyjson.h>

#define KEY_A "sk-stored-data-key-a-0123456789"
#define KEY_B "sk-stored-data-key-b-9876543210"

/* The whole file (malloc'd). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *s = calloc(1, 1 << 16);
    size_t n = fread(s, 1, (1 << 16) - 1, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Starts aigate (strict auth, key A, from config.json) and, with_mock, the mock upstream with one
 * account. */
static void env_start(struct ag_gwenv *e, bool with_mock)
{
    static const char *const tokens[] = {"rt-a", NULL};
    const struct ag_gwenv_opts o = {
        .name = "stored",
        .config_json = "{\"auth\":{\"mode\":\"strict\",\"api_key\":\"" KEY_A "\"}}",
        .mock_accounts = with_mock ? "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                                     "\"access_token\":\"at-a\",\"project\":\"proj-a\","
                                     "\"tier\":\"PRO\"}]"
                                   : NULL,
        .tokens = with_mock ? tokens : NULL,
    };
    ag_gwenv_start(e, &o);
}

/* One request with key (NULL = none) and a JSON body (NULL = none); r is the caller's to free. */
static int call(struct ag_gwenv *e, const char *method, const char *path, const char *key,
                const char *body, struct rh_resp *r)
{
    char headers[256];
    snprintf(headers, sizeof(headers), "%s%s%s%s", key ? "Authorization: Bearer " : "",
             key ? key : "", key ? "\r\n" : "", body ? "Content-Type: application/json\r\n" : "");
    assert_true(rh_request(e->port, method, path, headers, body, r));
    return r->status;
}

/* Creates a stored response with key; its id goes into id (64 bytes). */
static void create_response(struct ag_gwenv *e, const char *key, const char *text, char *id)
{
    char body[512];
    struct rh_resp r;
    snprintf(body, sizeof(body), "{\"model\":\"gemini-2.5-flash\",\"input\":\"%s\",\"store\":true}",
             text);
    assert_int_equal(call(e, "POST", "/v1/responses", key, body, &r), 200);
    yyjson_doc *d = yyjson_read(r.body, r.body_len, 0);
    assert_non_null(d);
    const char *v = yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(d), "id"));
    assert_non_null(v);
    assert_true(strlen(v) < 64);
    memcpy(id, v, strlen(v) + 1);
    yyjson_doc_free(d);
    rh_resp_free(&r);
}

/* "resp_" and 32 lowercase hex digits: 128 bits. */
static void assert_random_id(const char *id)
{
    assert_int_equal(strncmp(id, "resp_", 5), 0);
    assert_int_equal(strlen(id), 5 + 32);
    for (size_t i = 5; id[i]; i++)
        assert_true(isxdigit((unsigned char)id[i]) && !isupper((unsigned char)id[i]));
}

static void set_api_key(struct ag_gwenv *e, const char *admin_key, const char *new_key)
{
    char body[256];
    struct rh_resp r;
    snprintf(body, sizeof(body), "{\"auth.api_key\":\"%s\"}", new_key);
    assert_int_equal(call(e, "PUT", "/api/config", admin_key, body, &r), 200);
    rh_resp_free(&r);
}

static void response_ids_are_random_and_bound_to_the_key(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    char id1[64], id2[64], id3[64], path[128];
    env_start(&e, true);
    create_response(&e, KEY_A, "first", id1);
    create_response(&e, KEY_A, "second", id2);
    /* 128 random bits each; no shared prefix or counter relates two ids */
    assert_random_id(id1);
    assert_random_id(id2);
    size_t common = 0;
    while (id1[5 + common] && id1[5 + common] == id2[5 + common])
        common++;
    assert_true(common < 8);
    assert_true(strcmp(id1 + 5 + 24, id2 + 5 + 24) != 0);

    /* the key that made it reads it */
    snprintf(path, sizeof(path), "/v1/responses/%s", id1);
    assert_int_equal(call(&e, "GET", path, KEY_A, NULL, &r), 200);
    assert_non_null(strstr(r.body, id1));
    rh_resp_free(&r);

    /* a well-formed id nobody was given is not found, in OpenAI's error shape */
    assert_int_equal(
        call(&e, "GET", "/v1/responses/resp_0123456789abcdef0123456789abcdef", KEY_A, NULL, &r),
        404);
    assert_non_null(strstr(r.body, "\"error\""));
    assert_non_null(strstr(r.body, "not found"));
    rh_resp_free(&r);

    /* the key changes: the new key's caller cannot read, delete or continue the old response,
     * and is told exactly what an unknown id gets */
    set_api_key(&e, KEY_A, KEY_B);
    assert_int_equal(call(&e, "GET", path, KEY_B, NULL, &r), 404);
    assert_non_null(strstr(r.body, "\"error\""));
    assert_non_null(strstr(r.body, "not found"));
    assert_null(strstr(r.body, "\"output\""));
    rh_resp_free(&r);
    assert_int_equal(call(&e, "DELETE", path, KEY_B, NULL, &r), 404);
    rh_resp_free(&r);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"model\":\"gemini-2.5-flash\",\"input\":\"go on\",\"previous_response_id\":\"%s\"}",
             id1);
    assert_int_equal(call(&e, "POST", "/v1/responses", KEY_B, body, &r), 400);
    assert_non_null(strstr(r.body, "previous_response_not_found"));
    rh_resp_free(&r);
    /* its own responses work as before */
    create_response(&e, KEY_B, "third", id3);
    assert_random_id(id3);
    char path3[128];
    snprintf(path3, sizeof(path3), "/v1/responses/%s", id3);
    assert_int_equal(call(&e, "GET", path3, KEY_B, NULL, &r), 200);
    rh_resp_free(&r);

    /* back to the first key: its response is still there (the refused delete did nothing), and
     * it continues the conversation */
    set_api_key(&e, KEY_B, KEY_A);
    assert_int_equal(call(&e, "GET", path, KEY_A, NULL, &r), 200);
    rh_resp_free(&r);
    assert_int_equal(call(&e, "GET", path3, KEY_A, NULL, &r), 404);
    rh_resp_free(&r);
    assert_int_equal(call(&e, "POST", "/v1/responses", KEY_A, body, &r), 200);
    rh_resp_free(&r);
    assert_int_equal(call(&e, "DELETE", path, KEY_A, NULL, &r), 200);
    rh_resp_free(&r);
    assert_int_equal(call(&e, "GET", path, KEY_A, NULL, &r), 404);
    rh_resp_free(&r);
    ag_gwenv_stop(&e);
}

static void health_probes_stay_out_of_the_request_log(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    char id[64];
    env_start(&e, true);
    assert_int_equal(call(&e, "GET", "/healthz", KEY_A, NULL, &r), 200);
    rh_resp_free(&r);
    assert_true(rh_request(e.port, "HEAD", "/", "Authorization: Bearer " KEY_A "\r\n", NULL, &r));
    rh_resp_free(&r);
    call(&e, "GET", "/metrics", KEY_A, NULL, &r);
    rh_resp_free(&r);
    create_response(&e, KEY_A, "logged", id);

    /* the AI request reaches the log (written by the writer thread: wait for it) ... */
    bool seen = false;
    for (int i = 0; i < 100 && !seen; i++) {
        assert_int_equal(call(&e, "GET", "/api/logs", KEY_A, NULL, &r), 200);
        seen = strstr(r.body, "\"/v1/responses\"") != NULL;
        if (seen) {
            /* ... and the probes never do */
            assert_null(strstr(r.body, "/healthz"));
            assert_null(strstr(r.body, "/metrics"));
            assert_null(strstr(r.body, "\"HEAD\""));
        }
        rh_resp_free(&r);
        if (!seen)
            usleep(50 * 1000);
    }
    assert_true(seen);
    assert_int_equal(call(&e, "GET", "/api/logs/recent", KEY_A, NULL, &r), 200);
    assert_non_null(strstr(r.body, "/v1/responses"));
    assert_null(strstr(r.body, "/healthz"));
    rh_resp_free(&r);
    /* the disk cap in force is the default, and nothing needed removing */
    assert_int_equal(call(&e, "GET", "/api/monitor", KEY_A, NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"max_disk_mb\":1024"));
    assert_non_null(strstr(r.body, "\"disk_cap_deleted\":0"));
    rh_resp_free(&r);
    ag_gwenv_stop(&e);
}

static void proxy_password_is_masked_and_kept(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    char path[256];
    env_start(&e, false);
    snprintf(path, sizeof(path), "%s/config.json", e.dir);
    assert_int_equal(call(&e, "PUT", "/api/config", KEY_A,
                          "{\"upstream.proxy_url\":\"http://bob:pr0xy-s3cret@127.0.0.1:3128\"}",
                          &r),
                     200);
    rh_resp_free(&r);
    assert_int_equal(call(&e, "GET", "/api/config", KEY_A, NULL, &r), 200);
    assert_null(strstr(r.body, "pr0xy-s3cret"));
    assert_non_null(strstr(r.body, "\"http://bob:****@127.0.0.1:3128\""));
    rh_resp_free(&r);

    /* the UI sends the masked value back with another change: the real password stays */
    assert_int_equal(call(&e, "PUT", "/api/config", KEY_A,
                          "{\"upstream.proxy_url\":\"http://bob:****@127.0.0.1:3128\","
                          "\"log.level\":\"debug\"}",
                          &r),
                     200);
    rh_resp_free(&r);
    char *file = slurp(path);
    assert_non_null(strstr(file, "http://bob:pr0xy-s3cret@127.0.0.1:3128"));
    assert_null(strstr(file, "****"));
    free(file);

    /* a new password is a change */
    assert_int_equal(call(&e, "PUT", "/api/config", KEY_A,
                          "{\"upstream.proxy_url\":\"http://bob:n3w-pass@127.0.0.1:3128\"}", &r),
                     200);
    rh_resp_free(&r);
    file = slurp(path);
    assert_non_null(strstr(file, "http://bob:n3w-pass@127.0.0.1:3128"));
    free(file);

    /* and the gateway's own output never showed either password */
    assert_int_equal(ag_child_stop(&e.gw, SIGTERM, 15000), 0);
    char *log = ag_child_output(&e.gw);
    assert_null(strstr(log, "pr0xy-s3cret"));
    assert_null(strstr(log, "n3w-pass"));
    free(log);
    e.gw.pid = 0;
    ag_gwenv_stop(&e);
}

/* Opens GET /api/events with the given extra headers and path; reads past the response head. */
static void open_events(struct ag_gwenv *e, struct rh_conn *c, const char *path,
                        const char *headers)
{
    char req[512];
    /* shorter than the 15 s ping interval: a stream that does not end fails the read */
    assert_true(rh_connect(c, e->port, 10000));
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", path,
             headers ? headers : "");
    assert_true(rh_send_str(c, req));
}

/* The stream ends (its whole chunked response arrives) with an "end" event. Without the end the
 * read times out and fails. */
static void assert_stream_ends(struct rh_conn *c)
{
    struct rh_resp r;
    assert_true(rh_read(c, &r, false));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "event: hello"));
    assert_non_null(strstr(r.body, "event: end"));
    rh_resp_free(&r);
    rh_close(c);
}

static void event_streams_end_with_their_login(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    struct rh_conn c1, c2, c3;
    char token[128], path[256], hdr[256];
    env_start(&e, false);

    /* a session's stream ends when that session logs out; another session's stream does not */
    char tokens[2][128];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
            call(&e, "POST", "/api/auth/login", NULL, "{\"password\":\"" KEY_A "\"}", &r), 200);
        yyjson_doc *d = yyjson_read(r.body, r.body_len, 0);
        const char *t = yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(d), "token"));
        assert_non_null(t);
        snprintf(tokens[i], sizeof(tokens[i]), "%s", t ? t : "");
        yyjson_doc_free(d);
        rh_resp_free(&r);
    }
    snprintf(token, sizeof(token), "%s", tokens[0]);
    snprintf(path, sizeof(path), "/api/events?token=%s", token);
    open_events(&e, &c1, path, NULL);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tokens[1]);
    open_events(&e, &c2, "/api/events", hdr);
    /* both streams are registered before the logout */
    for (int i = 0; i < 100; i++) {
        assert_int_equal(call(&e, "GET", "/api/monitor", KEY_A, NULL, &r), 200);
        bool both = strstr(r.body, "\"event_subscribers\":2") != NULL;
        rh_resp_free(&r);
        if (both)
            break;
        usleep(50 * 1000);
    }
    assert_int_equal(call(&e, "POST", "/api/auth/logout", token, "{}", &r), 200);
    rh_resp_free(&r);
    assert_stream_ends(&c1);
    assert_int_equal(call(&e, "GET", "/api/monitor", KEY_A, NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"event_subscribers\":1"));
    rh_resp_free(&r);
    /* the logged-out token no longer opens one */
    assert_int_equal(call(&e, "GET", path, NULL, NULL, &r), 401);
    rh_resp_free(&r);

    /* a stream opened with the admin secret ends when the secret changes (and so does every
     * session's: a new secret logs everybody out) */
    open_events(&e, &c3, "/api/events", "Authorization: Bearer " KEY_A "\r\n");
    for (int i = 0; i < 100; i++) {
        assert_int_equal(call(&e, "GET", "/api/monitor", KEY_A, NULL, &r), 200);
        bool both = strstr(r.body, "\"event_subscribers\":2") != NULL;
        rh_resp_free(&r);
        if (both)
            break;
        usleep(50 * 1000);
    }
    set_api_key(&e, KEY_A, KEY_B);
    assert_stream_ends(&c3);
    assert_stream_ends(&c2);
    assert_int_equal(call(&e, "GET", "/api/monitor", KEY_B, NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"event_subscribers\":0"));
    rh_resp_free(&r);
    ag_gwenv_stop(&e);
}

/* Session expiry: the shortest session lifetime is a minute, so this test waits that long. */
static void event_stream_ends_when_its_session_expires(void **state)
{
    struct ag_gwenv e;
    struct rh_resp r;
    struct rh_conn c;
    char path[256];
    env_start(&e, false);
    assert_int_equal(call(&e, "PUT", "/api/config", KEY_A, "{\"admin.session_ttl_s\":60}", &r),
                     200);
    rh_resp_free(&r);
    assert_int_equal(call(&e, "POST", "/api/auth/login", NULL, "{\"password\":\"" KEY_A "\"}", &r),
                     200);
    yyjson_doc *d = yyjson_read(r.body, r.body_len, 0);
    const char *t = yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(d), "token"));
    assert_non_null(t);
    snprintf(path, sizeof(path), "/api/events?token=%s", t ? t : "");
    yyjson_doc_free(d);
    rh_resp_free(&r);
    open_events(&e, &c, path, NULL);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(call(&e, "GET", "/api/monitor", KEY_A, NULL, &r), 200);
        bool one = strstr(r.body, "\"event_subscribers\":1") != NULL;
        rh_resp_free(&r);
        if (one)
            break;
        usleep(50 * 1000);
    }
    /* past the session's minute (a bounded wait, no assertion on time) */
    for (int i = 0; i < 62; i++)
        sleep(1);
    /* the next event (this request's record; no account, so it fails fast) finds it expired */
    call(&e, "POST", "/v1/chat/completions", KEY_A,
         "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
         &r);
    rh_resp_free(&r);
    assert_stream_ends(&c);
    assert_int_equal(call(&e, "GET", path, NULL, NULL, &r), 401);
    rh_resp_free(&r);
    ag_gwenv_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(response_ids_are_random_and_bound_to_the_key, ag_gwenv_teardown),
        cmocka_unit_test_teardown(health_probes_stay_out_of_the_request_log, ag_gwenv_teardown),
        cmocka_unit_test_teardown(proxy_password_is_masked_and_kept, ag_gwenv_teardown),
        cmocka_unit_test_teardown(event_streams_end_with_their_login, ag_gwenv_teardown),
        cmocka_unit_test_teardown(event_stream_ends_when_its_session_expires, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
