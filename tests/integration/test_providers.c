/* Integration tests for API-key accounts of other providers: `aigate accounts add --provider ...`
 * (the built binary, $AIGATE_BIN, on a fresh data dir) with the model list of an
 * OpenAI-compatible endpoint read from the real mock upstream ($AIGATE_MOCK_BIN on a loopback
 * port), the key masked in lists and present only in an export, bad input refused; and the mock's
 * provider APIs as strict as the real ones (keys, Anthropic's required max_tokens, OpenAI's tool
 * messages). Every process is stopped by its PID; every wait is bounded. */
#include "ag_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "child.h"
#include "gwenv.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "loopwait.h"
#include "proc.h"
#include "proto/adapter.h"
#include "upstream/client.h"
#include "upstream/cloudcode.h"
#include "upstream/errclass.h"
#include "upstream/provider.h"
#include "upstream/sse.h"

static struct ag_proc mock;
static char dir[64];

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/aigate-prov-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    return ag_proc_start_mock(&mock, NULL);
}

static int group_teardown(void **state)
{
    char cmd[128];
    (void)state;
    ag_proc_stop(&mock, 3000);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs `aigate --data-dir DIR args...`; returns the exit code, output in *out / *err. */
static int cli(const char *const *args, char **out, char **err)
{
    const char *argv[20] = {getenv("AIGATE_BIN"), "--data-dir", dir};
    static const char *const env[] = {"AIGATE_LOG_LEVEL=warn", NULL};
    size_t n = 3;
    for (size_t i = 0; args[i] && n < 19; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return ag_child_run(argv, env, NULL, 20000, out, err);
}

static void test_add_list_export(void **state)
{
    char *out = NULL, *err = NULL, base[128];
    (void)state;
    const char *an[] = {"accounts",   "add",
                        "--provider", "anthropic",
                        "--api-key",  "sk-ant-secret-0123456789",
                        "--models",   "claude-sonnet-4-5",
                        "--label",    "work",
                        NULL};
    assert_int_equal(cli(an, &out, &err), 0);
    assert_non_null(strstr(out, "added anthropic:work"));
    assert_null(strstr(out, "secret"));
    free(out);
    free(err);

    /* an OpenAI-compatible endpoint names its own models (GET <base>/models) */
    snprintf(base, sizeof(base), "%s/v1", mock.base_url);
    const char *oc[] = {"accounts",          "add",       "--provider",
                        "openai-compatible", "--api-key", "local-key-0123456789",
                        "--base-url",        base,        NULL};
    assert_int_equal(cli(oc, &out, &err), 0);
    assert_non_null(strstr(out, "mock-chat-small,mock-chat-large,gpt-4o-mini"));
    free(out);
    free(err);

    const char *ls[] = {"accounts", "list", NULL};
    assert_int_equal(cli(ls, &out, &err), 0);
    assert_null(strstr(out, "sk-ant-secret-0123456789"));
    assert_null(strstr(out, "local-key-0123456789"));
    assert_non_null(strstr(out, "sk-\u20266789"));
    assert_non_null(strstr(out, "openai-compatible"));
    assert_non_null(strstr(out, base));
    free(out);
    free(err);

    const char *lj[] = {"accounts", "list", "--json", NULL};
    assert_int_equal(cli(lj, &out, &err), 0);
    assert_null(strstr(out, "secret-0123"));
    assert_non_null(strstr(out, "\"provider\": \"anthropic\""));
    free(out);
    free(err);

    const char *ex[] = {"accounts", "export", NULL};
    assert_int_equal(cli(ex, &out, &err), 0);
    assert_non_null(strstr(out, "\"api_key\": \"sk-ant-secret-0123456789\""));
    assert_non_null(strstr(out, "\"api_key\": \"local-key-0123456789\""));
    free(out);
    free(err);

    /* `accounts refresh` leaves them alone (nothing to refresh, no OAuth call) */
    const char *rf[] = {"accounts", "refresh", "anthropic:work", NULL};
    assert_int_equal(cli(rf, &out, &err), 0);
    assert_non_null(strstr(out, "skipped"));
    free(out);
    free(err);
}

static void test_bad_input(void **state)
{
    char *out = NULL, *err = NULL;
    (void)state;
    const char *nobase[] = {"accounts",  "add", "--provider", "openai-compatible",
                            "--api-key", "k",   NULL};
    assert_int_equal(cli(nobase, &out, &err), 2);
    assert_non_null(strstr(err, "--base-url"));
    free(out);
    free(err);
    const char *kind[] = {"accounts", "add", "--provider", "azure", "--api-key", "k", NULL};
    assert_int_equal(cli(kind, &out, &err), 2);
    assert_non_null(strstr(err, "unknown provider"));
    free(out);
    free(err);
    const char *userinfo[] = {"accounts",  "add", "--provider", "openai",
                              "--api-key", "k",   "--base-url", "https://u:p@example.com/v1",
                              NULL};
    assert_int_equal(cli(userinfo, &out, &err), 2);
    assert_non_null(strstr(err, "user info"));
    free(out);
    free(err);
    /* a refused key: the model list cannot be read, nothing is stored */
    char base[128];
    snprintf(base, sizeof(base), "%s/v1", mock.base_url);
    const char *badkey[] = {"accounts",          "add",       "--provider",
                            "openai-compatible", "--api-key", "bad-key",
                            "--base-url",        base,        NULL};
    assert_int_equal(cli(badkey, &out, &err), 1);
    assert_non_null(strstr(err, "401"));
    free(out);
    free(err);
    const char *ls[] = {"accounts", "export", NULL};
    assert_int_equal(cli(ls, &out, &err), 0);
    assert_null(strstr(out, "bad-key"));
    free(out);
    free(err);
}

/* ---- the mock's provider APIs are strict ---- */

static long post(const char *path, const char *body, const char *const *headers, char **out)
{
    char url[256];
    struct ag_buf b;
    ag_buf_init(&b, 0);
    snprintf(url, sizeof(url), "%s%s", mock.base_url, path);
    long st = ag_test_http("POST", url, body, headers, &b);
    ag_buf_append(&b, "", 1);
    *out = ag_buf_steal(&b, NULL);
    return st;
}

static void test_mock_is_strict(void **state)
{
    char *out = NULL;
    (void)state;
    static const char *const ant_ok[] = {"x-api-key: k1", "anthropic-version: 2023-06-01", NULL};
    static const char *const ant_nover[] = {"x-api-key: k1", NULL};
    static const char *const oa_ok[] = {"Authorization: Bearer k1", NULL};
    const char *msg = "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":50,"
                      "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    assert_int_equal(post("/v1/messages", msg, ant_ok, &out), 200);
    free(out);
    assert_int_equal(post("/v1/messages", msg, NULL, &out), 401);
    assert_non_null(strstr(out, "authentication_error"));
    free(out);
    assert_int_equal(post("/v1/messages", msg, ant_nover, &out), 400);
    free(out);
    assert_int_equal(post("/v1/messages",
                          "{\"model\":\"claude-sonnet-4-5\",\"messages\":[{\"role\":\"user\","
                          "\"content\":\"hi\"}]}",
                          ant_ok, &out),
                     400);
    assert_non_null(strstr(out, "max_tokens: Field required"));
    free(out);

    const char *chat = "{\"model\":\"mock-chat-small\",\"messages\":[{\"role\":\"user\","
                       "\"content\":\"hi\"}]}";
    assert_int_equal(post("/v1/chat/completions", chat, oa_ok, &out), 200);
    assert_non_null(strstr(out, "chat.completion"));
    free(out);
    assert_int_equal(post("/v1/chat/completions", chat, NULL, &out), 401);
    assert_non_null(strstr(out, "invalid_api_key"));
    free(out);
    assert_int_equal(post("/v1/chat/completions",
                          "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\","
                          "\"tool_call_id\":\"call_x\",\"content\":\"r\"}]}",
                          oa_ok, &out),
                     400);
    free(out);
    static const char *const g_ok[] = {"x-goog-api-key: k1", NULL};
    const char *gem = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}";
    assert_int_equal(post("/v1beta/models/gemini-2.5-flash:generateContent", gem, g_ok, &out), 200);
    free(out);
    assert_int_equal(post("/v1beta/models/gemini-2.5-flash:generateContent", gem, NULL, &out), 403);
    free(out);
}

/* ---- a converted request through the upstream transport to each provider kind ---- */

static void set_flag(void *ud)
{
    *(bool *)ud = true;
}

struct sent {
    bool done;
    int status, err;
    struct ag_errclass ec;
    struct ag_answer ans;
    const struct ag_upstream_proto *up;
    struct ag_upstream_decoder *dec;
    struct ag_sse_parser sse;
    bool json; /* the answer was one JSON body, not SSE */
    struct ag_buf body;
};

static int on_sse(const struct ag_sse_event *ev, void *ud)
{
    struct sent *s = ud;
    int rc = s->up->decode_event(s->dec, ev->data, ag_answer_cb, &s->ans);
    return rc == AG_EPARSE ? 0 : rc;
}

static int on_data(struct ag_cloudcode_call *cc, const char *p, size_t n, void *ud)
{
    struct sent *s = ud;
    (void)cc;
    ag_buf_append(&s->body, p, n);
    return s->status == 200 ? ag_sse_parser_feed(&s->sse, p, n) : 0;
}

static int on_head(struct ag_cloudcode_call *cc, int status, void *ud)
{
    struct sent *s = ud;
    s->status = status;
    struct ag_str ct = ag_cloudcode_call_header(cc, "content-type");
    s->json = ct.p && ag_str_contains(ct, "json");
    return 0;
}

static void on_done(struct ag_cloudcode_call *cc, const struct ag_cloudcode_result *res, void *ud)
{
    struct sent *s = ud;
    s->err = res->err;
    s->status = res->status;
    if (res->status >= 400)
        ag_errclass_http(res->status, ag_buf_str(&s->body),
                         ag_cloudcode_call_header(cc, "retry-after"), 0, &s->ec);
    else if (!res->err)
        s->up->decode_end(s->dec, ag_answer_cb, &s->ans);
    s->done = true;
}

/* Decodes an OpenAI chat body, converts it for kind and sends it with key through the transport
 * to the mock; fills *s with the collected answer or the classified failure. */
static void send_to(enum ag_provider kind, const char *key, const char *model, const char *chat,
                    struct ag_arena *arena, struct sent *s)
{
    uv_loop_t loop;
    struct ag_proto_ctx ctx = {.arena = arena, .request_id = AG_STR("req-prov-1"), .now = 1};
    struct ag_client_hints hints = {0};
    struct ag_request *req = NULL;
    struct ag_proto_error perr = {0};
    struct ag_upstream_target t = {.model = ag_str_c(model)};
    struct ag_upstream_call call;
    struct ag_provider_call pc;
    char base[128];
    int err = 0;

    memset(s, 0, sizeof(*s));
    ag_buf_init(&s->body, 1u << 20);
    assert_int_equal(ag_proto_openai_chat.decode_request(&ctx, ag_str_c(chat), &hints, &req, &perr),
                     0);
    s->up = ag_upstream_proto_find(ag_provider_info(kind)->upstream);
    assert_non_null(s->up);
    assert_int_equal(s->up->encode_request(&ctx, req, &t, &call), 0);
    snprintf(base, sizeof(base), "%s%s", mock.base_url,
             kind == AG_PROVIDER_OPENAI_COMPAT ? "/v1" : "");
    assert_int_equal(ag_provider_call_prepare(kind, base, key, call.path, &pc), 0);
    s->dec = s->up->decoder_new(&ctx, req, &t);
    ag_answer_init(&s->ans, arena);
    ag_sse_parser_init(&s->sse, 1u << 20, on_sse, s);

    assert_int_equal(uv_loop_init(&loop), 0);
    struct ag_upstream_client *client = ag_upstream_client_new(&loop, NULL);
    struct ag_cloudcode_target target = {.timeouts = {.connect_ms = 5000, .total_ms = 20000}};
    struct ag_cloudcode_call_spec spec = {.target = &target,
                                          .url = pc.url,
                                          .extra_headers = pc.headers,
                                          .nextra = pc.nheaders,
                                          .body = call.body.p,
                                          .body_len = call.body.len,
                                          .on_head = on_head,
                                          .on_data = on_data,
                                          .on_done = on_done,
                                          .ud = s};
    assert_non_null(ag_cloudcode_call_start(client, &spec, &err));
    assert_true(ag_test_run_until(&loop, &s->done, 20000));
    bool closed = false;
    ag_upstream_client_close(client, set_flag, &closed);
    assert_true(ag_test_run_until(&loop, &closed, 5000));
    assert_int_equal(uv_loop_close(&loop), 0);
    ag_sse_parser_dispose(&s->sse);
    ag_buf_dispose(&s->body);
}

static void test_transport_each_kind(void **state)
{
    static const struct {
        enum ag_provider kind;
        const char *model;
    } kinds[] = {{AG_PROVIDER_ANTHROPIC, "claude-sonnet-4-5"},
                 {AG_PROVIDER_OPENAI_COMPAT, "mock-chat-small"},
                 {AG_PROVIDER_GEMINI, "gemini-2.5-flash"}};
    const char *chat = "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
                       "\"Be brief.\"},{\"role\":\"user\",\"content\":\"ping provider\"}]}";
    (void)state;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        struct ag_arena arena;
        struct sent s;
        ag_arena_init(&arena, 8192, 16u << 20);
        send_to(kinds[i].kind, "good-key", kinds[i].model, chat, &arena, &s);
        assert_int_equal(s.err, 0);
        assert_int_equal(s.status, 200);
        assert_false(s.ans.failed);
        struct ag_str text = ag_choice_text(&arena, &s.ans.choices[0], AG_PART_TEXT);
        assert_true(ag_str_contains(text, "ping provider")); /* the mock echoes the prompt */
        assert_true(s.ans.has_usage);
        assert_true(s.ans.usage.input > 0);
        ag_arena_dispose(&arena);

        /* a refused key is classified like Cloud Code's 401/403 */
        ag_arena_init(&arena, 8192, 16u << 20);
        send_to(kinds[i].kind, "bad-key", kinds[i].model, chat, &arena, &s);
        assert_true(s.status == 401 || s.status == 400);
        ag_arena_dispose(&arena);
    }
}

static void test_transport_faults_classified(void **state)
{
    char url[160];
    struct ag_buf b;
    struct ag_arena arena;
    struct sent s;
    const char *chat = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    (void)state;
    snprintf(url, sizeof(url), "%s/__mock/faults", mock.base_url);
    ag_buf_init(&b, 0);
    assert_int_equal(ag_test_http("POST", url,
                                  "[{\"status\":529,\"path\":\"/v1/messages\"},"
                                  "{\"status\":429,\"path\":\"/v1/chat/completions\","
                                  "\"retry_after\":7}]",
                                  NULL, &b),
                     200);
    ag_buf_dispose(&b);
    ag_arena_init(&arena, 8192, 16u << 20);
    send_to(AG_PROVIDER_ANTHROPIC, "k", "claude-sonnet-4-5", chat, &arena, &s);
    assert_int_equal(s.status, 529);
    assert_int_equal(s.ec.kind, AG_ERRCLASS_SERVER_ERROR);
    assert_true(s.ec.overloaded);
    ag_arena_dispose(&arena);
    ag_arena_init(&arena, 8192, 16u << 20);
    send_to(AG_PROVIDER_OPENAI_COMPAT, "k", "mock-chat-small", chat, &arena, &s);
    assert_int_equal(s.status, 429);
    assert_int_equal(s.ec.kind, AG_ERRCLASS_RATE_LIMITED);
    assert_int_equal(s.ec.retry_delay_ms, 7000);
    ag_arena_dispose(&arena);
}

/* ---- the running gateway and its admin API leave API-key accounts alone ---- */

#define ADMIN_KEY "sk-providers-admin-key"

static void test_gateway_admin(void **state)
{
    static struct ag_gwenv e; /* static: the teardown stops it after a failed assertion */
    struct ag_gwenv_opts o = {
        .name = "providers",
        .config_json = "{\"auth\":{\"mode\":\"all_except_health\",\"api_key\":\"" ADMIN_KEY "\"}}",
    };
    char *out = NULL, *err = NULL, url[256], id[64] = "";
    struct ag_buf b;
    const char *hdrs[] = {"Authorization: Bearer " ADMIN_KEY, NULL};
    (void)state;
    ag_gwenv_start(&e, &o);
    const char *add[] = {"accounts",  "add",       "--provider", "anthropic",
                         "--api-key", "sk-ant-k1", "--models",   "claude-sonnet-4-5",
                         "--label",   "lab",       NULL};
    assert_int_equal(ag_gwenv_cli(&e, add, &out, &err), 0);
    free(out);
    free(err);
    const char *ls[] = {"accounts", "list", "--json", NULL};
    assert_int_equal(ag_gwenv_cli(&e, ls, &out, &err), 0);
    char *p = strstr(out, "\"id\": \"");
    assert_non_null(p);
    snprintf(id, sizeof(id), "%.36s", p + 7);
    free(out);
    free(err);

    ag_buf_init(&b, 1u << 20);
    /* refreshing quota is an OAuth onboarding: refused for an API-key account */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/accounts/%s/refresh-quota", e.port, id);
    assert_int_equal(ag_test_http("POST", url, "{}", hdrs, &b), 400);
    ag_buf_append(&b, "", 1);
    assert_non_null(strstr(b.data, "no quota to refresh"));
    /* the admin import leaves an export's API-key entries to the CLI, with a reason */
    const char *ex[] = {"accounts", "export", NULL};
    assert_int_equal(ag_gwenv_cli(&e, ex, &out, &err), 0);
    free(err);
    ag_buf_reset(&b);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/accounts/import", e.port);
    long st = ag_test_http("POST", url, out, hdrs, &b);
    free(out);
    ag_buf_append(&b, "", 1);
    assert_true(st == 200 || st == 400);
    assert_non_null(strstr(b.data, "aigate accounts import"));
    ag_buf_dispose(&b);
    /* and the account is still enabled, untouched by the gateway's pool */
    assert_int_equal(ag_gwenv_cli(&e, ls, &out, &err), 0);
    assert_non_null(strstr(out, "\"state\": \"active\""));
    assert_non_null(strstr(out, "\"provider\": \"anthropic\""));
    free(out);
    free(err);
    ag_gwenv_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_list_export),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_mock_is_strict),
        cmocka_unit_test(test_transport_each_kind),
        cmocka_unit_test(test_transport_faults_classified),
        cmocka_unit_test_teardown(test_gateway_admin, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
