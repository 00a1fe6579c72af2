/* tests/integration/test_telemetry.c: traces over OTLP/HTTP through the real gateway and mock
 * upstream. An OTLP receiver on loopback (a small HTTP server in this file, on a thread of its own)
 * collects the exported JSON: a request that meets a 429 and then a 200 gives one SERVER span and
 * two CLIENT attempt spans with the right parents, under the client's traceparent; nothing secret
 * or private is in the export; Cloud Code is never sent a traceparent, an API-key account is when
 * telemetry.propagate_upstream says so (naming the attempt's span); with the receiver down requests
 * still succeed and the spans are counted as dropped in /metrics. */
#include "ag_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <yyjson.h>

#include "core/buf.h"
#include "gwenv.h"
#include "rawhttp.h"

#define KEY    "sk-telemetry-test-key"
#define TID    "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID    "00f067aa0ba902b7"
#define PROMPT "telemetry-prompt-do-not-export"

/* ---- the OTLP receiver: keeps each POST body, answers 200 {} ---- */

#define RX_MAX  16
#define RX_BODY (1u << 20)

static struct {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t mu;
    atomic_bool stop;
    char *bodies[RX_MAX];
    char paths[RX_MAX][128];
    char ctypes[RX_MAX][128];
    int n;
} rx;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One request from fd (5 s bound): its path, content type and body (malloc'd); NULL if cut. */
static char *rx_read(int fd, char *path, size_t pcap, char *ctype, size_t ccap)
{
    size_t cap = RX_BODY + 8192, len = 0, head = 0, blen = 0;
    char *buf = malloc(cap + 1);
    long long end = now_ms() + 5000;
    while (buf && len < cap && now_ms() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t k = read(fd, buf + len, cap - len);
        if (k <= 0)
            break;
        len += (size_t)k;
        buf[len] = '\0';
        if (!head) {
            char *e = strstr(buf, "\r\n\r\n");
            if (!e)
                continue;
            head = (size_t)(e - buf) + 4;
            sscanf(buf, "%*s %127s", path);
            (void)pcap;
            const char *cl = strcasestr(buf, "\r\ncontent-length:");
            if (!cl || cl > e)
                break;
            blen = strtoul(cl + 17, NULL, 10);
            const char *ct = strcasestr(buf, "\r\ncontent-type:");
            if (ct && ct < e)
                sscanf(ct + 15, " %127[^\r]", ctype);
            (void)ccap;
            if (blen > RX_BODY)
                break;
        }
        if (head && len >= head + blen) {
            memmove(buf, buf + head, blen);
            buf[blen] = '\0';
            return buf;
        }
    }
    free(buf);
    return NULL;
}

static void *rx_run(void *arg)
{
    (void)arg;
    while (!atomic_load(&rx.stop)) {
        struct pollfd p = {.fd = rx.fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(rx.fd, NULL, NULL);
        if (c < 0)
            continue;
        char path[128] = "", ctype[128] = "";
        char *body = rx_read(c, path, sizeof(path), ctype, sizeof(ctype));
        if (body) {
            pthread_mutex_lock(&rx.mu);
            if (rx.n < RX_MAX) {
                rx.bodies[rx.n] = body;
                snprintf(rx.paths[rx.n], sizeof(rx.paths[0]), "%s", path);
                snprintf(rx.ctypes[rx.n], sizeof(rx.ctypes[0]), "%s", ctype);
                rx.n++;
                body = NULL;
            }
            pthread_mutex_unlock(&rx.mu);
            free(body);
            static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
            if (write(c, ok, sizeof(ok) - 1) < 0)
                perror("otlp receiver write");
        }
        close(c);
    }
    return NULL;
}

static void rx_start(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    memset(&rx, 0, sizeof(rx));
    rx.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(rx.fd >= 0);
    assert_int_equal(bind(rx.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(rx.fd, 16), 0);
    assert_int_equal(getsockname(rx.fd, (struct sockaddr *)&a, &al), 0);
    rx.port = ntohs(a.sin_port);
    pthread_mutex_init(&rx.mu, NULL);
    assert_int_equal(pthread_create(&rx.thread, NULL, rx_run, NULL), 0);
}

static void rx_stop(void)
{
    atomic_store(&rx.stop, true);
    pthread_join(rx.thread, NULL);
    close(rx.fd);
    for (int i = 0; i < rx.n; i++)
        free(rx.bodies[i]);
    pthread_mutex_destroy(&rx.mu);
    memset(&rx, 0, sizeof(rx));
}

/* ---- reading the export ---- */

struct span {
    char trace[40], id[24], parent[24], name[96];
    int kind, status_code;
    char outcome[40], retry[40], account[160], model[96], protocol[40], key_name[64];
    long long http_status;
};

#define SPANS_MAX 64
static struct span spans[SPANS_MAX];
static int nspans;

static const char *s_of(yyjson_val *o, const char *k)
{
    const char *s = yyjson_get_str(yyjson_obj_get(o, k));
    return s ? s : "";
}

static void read_attrs(yyjson_val *sp, struct span *s)
{
    size_t i, n;
    yyjson_val *kv;
    yyjson_arr_foreach(yyjson_obj_get(sp, "attributes"), i, n, kv)
    {
        const char *k = s_of(kv, "key");
        yyjson_val *v = yyjson_obj_get(kv, "value");
        const char *sv = s_of(v, "stringValue");
        const char *iv = s_of(v, "intValue");
        if (strcmp(k, "aigate.outcome") == 0)
            snprintf(s->outcome, sizeof(s->outcome), "%s", sv);
        else if (strcmp(k, "aigate.retry_reason") == 0)
            snprintf(s->retry, sizeof(s->retry), "%s", sv);
        else if (strcmp(k, "aigate.account") == 0)
            snprintf(s->account, sizeof(s->account), "%s", sv);
        else if (strcmp(k, "gen_ai.request.model") == 0)
            snprintf(s->model, sizeof(s->model), "%s", sv);
        else if (strcmp(k, "aigate.protocol") == 0)
            snprintf(s->protocol, sizeof(s->protocol), "%s", sv);
        else if (strcmp(k, "aigate.key.name") == 0)
            snprintf(s->key_name, sizeof(s->key_name), "%s", sv);
        else if (strcmp(k, "http.response.status_code") == 0)
            s->http_status = strtoll(iv, NULL, 10);
    }
}

/* Waits (bounded) until the receiver holds at least want spans; parses every body into spans.
 * Fails on a body that is not an ExportTraceServiceRequest. */
static int collect(int want)
{
    for (int tries = 0; tries < 150; tries++) {
        nspans = 0;
        pthread_mutex_lock(&rx.mu);
        for (int b = 0; b < rx.n; b++) {
            assert_string_equal(rx.paths[b], "/v1/traces");
            assert_string_equal(rx.ctypes[b], "application/json");
            yyjson_doc *d = yyjson_read(rx.bodies[b], strlen(rx.bodies[b]), 0);
            if (!d)
                fail_msg("export is not JSON: %s", rx.bodies[b]);
            yyjson_val *rs =
                yyjson_arr_get(yyjson_obj_get(yyjson_doc_get_root(d), "resourceSpans"), 0);
            yyjson_val *ss = yyjson_arr_get(yyjson_obj_get(rs, "scopeSpans"), 0);
            size_t i, n;
            yyjson_val *sp;
            yyjson_arr_foreach(yyjson_obj_get(ss, "spans"), i, n, sp)
            {
                if (nspans >= SPANS_MAX)
                    break;
                struct span *s = &spans[nspans++];
                memset(s, 0, sizeof(*s));
                snprintf(s->trace, sizeof(s->trace), "%s", s_of(sp, "traceId"));
                snprintf(s->id, sizeof(s->id), "%s", s_of(sp, "spanId"));
                snprintf(s->parent, sizeof(s->parent), "%s", s_of(sp, "parentSpanId"));
                snprintf(s->name, sizeof(s->name), "%s", s_of(sp, "name"));
                s->kind = (int)yyjson_get_int(yyjson_obj_get(sp, "kind"));
                s->status_code =
                    (int)yyjson_get_int(yyjson_obj_get(yyjson_obj_get(sp, "status"), "code"));
                read_attrs(sp, s);
            }
            yyjson_doc_free(d);
        }
        pthread_mutex_unlock(&rx.mu);
        if (nspans >= want)
            return nspans;
        usleep(100 * 1000);
    }
    return nspans;
}

/* Every byte the receiver got, for the secret search. */
static bool export_contains(const char *needle)
{
    bool hit = false;
    pthread_mutex_lock(&rx.mu);
    for (int b = 0; b < rx.n && !hit; b++)
        hit = strstr(rx.bodies[b], needle) != NULL;
    pthread_mutex_unlock(&rx.mu);
    return hit;
}

static const struct span *find_kind(int kind, int nth)
{
    for (int i = 0; i < nspans; i++) {
        if (spans[i].kind == kind && nth-- == 0)
            return &spans[i];
    }
    return NULL;
}

/* ---- the gateway ---- */

static int chat(struct ag_gwenv *e, const char *model, const char *extra, struct rh_resp *r)
{
    char body[512], hdrs[512];
    snprintf(body, sizeof(body),
             "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"" PROMPT "\"}]}",
             model);
    snprintf(hdrs, sizeof(hdrs),
             "Content-Type: application/json\r\nAuthorization: Bearer " KEY "\r\n%s",
             extra ? extra : "");
    assert_true(rh_request(e->port, "POST", "/v1/chat/completions", hdrs, body, r));
    return r->status;
}

/* The value of a metric line "name value" in /metrics; -1 when absent. */
static long long metric(struct ag_gwenv *e, const char *name)
{
    static const char *const h[] = {"Authorization: Bearer " KEY, NULL};
    struct ag_buf b;
    ag_buf_init(&b, 0);
    assert_int_equal(ag_gwenv_call(e, "GET", "/metrics", NULL, h, &b), 200);
    long long v = -1;
    char pat[128];
    snprintf(pat, sizeof(pat), "\n%s ", name);
    const char *p = strstr(b.data, pat);
    if (p)
        v = strtoll(p + strlen(pat), NULL, 10);
    ag_buf_dispose(&b);
    return v;
}

static long long wait_metric(struct ag_gwenv *e, const char *name, long long at_least)
{
    long long v = -1;
    for (int tries = 0; tries < 100 && v < at_least; tries++) {
        v = metric(e, name);
        if (v < at_least)
            usleep(100 * 1000);
    }
    return v;
}

static const char *const tokens[] = {"rt-tel-a", "rt-tel-b", NULL};
static const char mock_accounts[] =
    "[{\"email\":\"tel-a@example.com\",\"refresh_token\":\"rt-tel-a\",\"access_token\":"
    "\"at-tel-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"},{\"email\":\"tel-b@example.com\","
    "\"refresh_token\":\"rt-tel-b\",\"access_token\":\"at-tel-b\",\"project\":\"proj-b\","
    "\"tier\":\"PRO\"}]";

/* A 429 on the first attempt, a 200 on the second: three spans under the client's trace. */
static void retried_request_is_traced(void **state)
{
    static struct ag_gwenv e; /* static: the teardown stops it after a failed assertion */
    char cfg[1024];
    rx_start();
    snprintf(cfg, sizeof(cfg),
             "{\"auth\":{\"mode\":\"all_except_health\",\"api_key\":\"" KEY "\"},"
             "\"telemetry\":{\"otlp_endpoint\":\"http://127.0.0.1:%d/v1/traces\","
             "\"service_name\":\"tel-test\",\"export_interval_ms\":100,"
             "\"propagate_upstream\":true}}",
             rx.port);
    const struct ag_gwenv_opts o = {
        .name = "telemetry", .mock_accounts = mock_accounts, .tokens = tokens, .config_json = cfg};
    ag_gwenv_start(&e, &o);
    struct ag_buf out;
    ag_buf_init(&out, 0);
    assert_int_equal(ag_gwenv_mock(&e, "POST", "/__mock/faults",
                                   "{\"status\":429,\"count\":1,\"retry_delay\":\"0.2s\"}", &out),
                     200);
    struct rh_resp r;
    assert_int_equal(chat(&e, "gemini-2.5-flash",
                          "traceparent: 00-" TID "-" PID "-01\r\n"
                          "tracestate: tel=1\r\n",
                          &r),
                     200);
    rh_resp_free(&r);
    assert_true(collect(3) >= 3);
    assert_int_equal(nspans, 3);
    const struct span *srv = find_kind(2, 0), *a1 = find_kind(3, 0), *a2 = find_kind(3, 1);
    assert_non_null(srv);
    assert_non_null(a1);
    assert_non_null(a2);
    /* the client's trace continues: same trace id, its span is the parent */
    assert_string_equal(srv->trace, TID);
    assert_string_equal(srv->parent, PID);
    assert_int_equal(strlen(srv->id), 16);
    assert_string_equal(srv->name, "POST /v1/chat/completions");
    assert_int_equal(srv->http_status, 200);
    assert_string_equal(srv->protocol, "openai-chat");
    assert_string_equal(srv->model, "gemini-2.5-flash");
    assert_int_equal(srv->status_code, 1);
    /* each attempt is a child of the request's span */
    assert_string_equal(a1->trace, TID);
    assert_string_equal(a2->trace, TID);
    assert_string_equal(a1->parent, srv->id);
    assert_string_equal(a2->parent, srv->id);
    assert_string_not_equal(a1->id, a2->id);
    assert_int_equal(a1->http_status, 429);
    assert_string_equal(a1->retry, "rate_limited");
    assert_int_equal(a1->status_code, 2);
    assert_int_equal(a2->http_status, 200);
    assert_string_equal(a2->outcome, "ok");
    assert_string_equal(a2->retry, "");
    assert_string_equal(a1->model, "gemini-2.5-flash");
    assert_true(a1->account[0] != '\0');
    /* nothing secret or private: the key, the accounts' tokens and e-mails, the prompt */
    static const char *const never[] = {
        KEY,        "at-tel-a",          "at-tel-b",          "rt-tel-a",
        "rt-tel-b", "tel-a@example.com", "tel-b@example.com", PROMPT};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        if (export_contains(never[i]))
            fail_msg("the export contains %s", never[i]);
    }
    assert_true(export_contains("\"tel-test\""));
    /* Cloud Code is never told the trace, propagate_upstream or not */
    assert_int_equal(ag_gwenv_mock(&e, "GET", "/__mock/requests", NULL, &out), 200);
    assert_null(strstr(out.data, "traceparent"));
    assert_null(strstr(out.data, TID));
    /* /metrics counts them */
    assert_int_equal(wait_metric(&e, "aigate_telemetry_spans_exported_total", 3), 3);
    assert_int_equal(metric(&e, "aigate_telemetry_spans_dropped_total"), 0);

    /* a malformed traceparent starts a trace of its own */
    assert_int_equal(chat(&e, "gemini-2.5-flash", "traceparent: 00-" TID "-" PID "-1\r\n", &r),
                     200);
    rh_resp_free(&r);
    assert_true(collect(5) >= 5);
    const struct span *fresh = find_kind(2, 1);
    assert_non_null(fresh);
    assert_int_equal(strlen(fresh->trace), 32);
    assert_string_not_equal(fresh->trace, TID);
    assert_string_equal(fresh->parent, "");
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
    rx_stop();
}

/* An API-key account is sent traceparent naming the attempt's span, with the client's trace id. */
static void api_key_account_gets_traceparent(void **state)
{
    static struct ag_gwenv e;
    char cfg[1024], base[160];
    rx_start();
    snprintf(cfg, sizeof(cfg),
             "{\"auth\":{\"mode\":\"all_except_health\",\"api_key\":\"" KEY "\"},"
             "\"telemetry\":{\"otlp_endpoint\":\"http://127.0.0.1:%d/v1/traces\","
             "\"export_interval_ms\":100,\"propagate_upstream\":true},"
             "\"routing\":{\"rules\":[{\"pattern\":\"mock-chat-small\",\"targets\":["
             "{\"account\":\"oa1\",\"model\":\"mock-chat-small\"}]}]}}",
             rx.port);
    const struct ag_gwenv_opts o = {.name = "telemetry-up", .mock = true, .config_json = cfg};
    ag_gwenv_prepare(&e, &o);
    snprintf(base, sizeof(base), "%s/v1", e.mock.base_url);
    const char *add[] = {"accounts",   "add",
                         "--provider", "openai-compatible",
                         "--api-key",  "key-oa1-secret-value",
                         "--base-url", base,
                         "--label",    "oa1",
                         "--models",   "mock-chat-small",
                         NULL};
    char *cout = NULL, *cerr = NULL;
    if (ag_gwenv_cli(&e, add, &cout, &cerr) != 0)
        fail_msg("accounts add: %s", cerr);
    free(cout);
    free(cerr);
    ag_gwenv_launch(&e);
    struct rh_resp r;
    assert_int_equal(chat(&e, "mock-chat-small",
                          "traceparent: 00-" TID "-" PID "-01\r\ntracestate: tel=1\r\n", &r),
                     200);
    rh_resp_free(&r);
    assert_true(collect(2) >= 2);
    const struct span *srv = find_kind(2, 0), *a1 = find_kind(3, 0);
    assert_non_null(srv);
    assert_non_null(a1);
    assert_string_equal(a1->parent, srv->id);
    assert_string_equal(a1->account, "openai-compatible:oa1"); /* its name, no secret */
    struct ag_buf out;
    ag_buf_init(&out, 0);
    assert_int_equal(
        ag_gwenv_mock(&e, "GET", "/__mock/requests?path=/chat/completions", NULL, &out), 200);
    char want[128];
    snprintf(want, sizeof(want), "\"traceparent\":\"00-%s-%s-01\"", TID, a1->id);
    if (!strstr(out.data, want))
        fail_msg("the upstream was not sent %s:\n%s", want, out.data);
    assert_non_null(strstr(out.data, "\"tracestate\":\"tel=1\""));
    assert_false(export_contains("key-oa1-secret-value"));
    ag_buf_dispose(&out);
    ag_gwenv_stop(&e);
    rx_stop();
}

/* A receiver that is down: requests succeed, the spans are counted as dropped. */
static void receiver_down_costs_a_counter(void **state)
{
    static struct ag_gwenv e;
    char cfg[1024];
    int dead = ag_test_refused_port();
    snprintf(cfg, sizeof(cfg),
             "{\"auth\":{\"mode\":\"all_except_health\",\"api_key\":\"" KEY "\"},"
             "\"telemetry\":{\"otlp_endpoint\":\"http://127.0.0.1:%d/v1/traces\","
             "\"export_interval_ms\":100}}",
             dead);
    const struct ag_gwenv_opts o = {.name = "telemetry-down",
                                    .mock_accounts = mock_accounts,
                                    .tokens = tokens,
                                    .config_json = cfg};
    ag_gwenv_start(&e, &o);
    for (int i = 0; i < 3; i++) {
        struct rh_resp r;
        assert_int_equal(chat(&e, "gemini-2.5-flash", NULL, &r), 200);
        rh_resp_free(&r);
    }
    assert_true(wait_metric(&e, "aigate_telemetry_spans_dropped_total", 3) >= 3);
    assert_true(metric(&e, "aigate_telemetry_export_failures_total") >= 1);
    assert_int_equal(metric(&e, "aigate_telemetry_spans_exported_total"), 0);
    /* one warning, however many exports fail */
    char *log = ag_child_output(&e.gw);
    assert_non_null(log);
    const char *w = strstr(log, "cannot export spans");
    assert_non_null(w);
    assert_null(strstr(w + 1, "cannot export spans"));
    free(log);
    ag_gwenv_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(retried_request_is_traced, ag_gwenv_teardown),
        cmocka_unit_test_teardown(api_key_account_gets_traceparent, ag_gwenv_teardown),
        cmocka_unit_test_teardown(receiver_down_costs_a_counter, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
