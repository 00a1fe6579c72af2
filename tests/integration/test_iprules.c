/* tests/integration/test_iprules.c: security.ip_allow / security.ip_deny through the real gateway.
 * Clients connect to the gateway on loopback from chosen source addresses (127.0.0.1, 127.0.0.2,
 * and ::1 when the machine has IPv6 loopback): a refused address is closed at accept without a
 * byte of answer, the others are served; the refusals show in GET /api/security/ip; the rules
 * change without a restart through PUT /api/config, deny wins over allow, and a bad block is
 * refused with a clear error (admin API and `aigate config set`). */
#include "ag_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <yyjson.h>

#include "gwenv.h"

#define KEY "sk-iprules-test-key"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends req to dst:port from the source address src and reads the whole answer (Connection:
 * close) into out. Returns the HTTP status, 0 when the connection was closed or reset before any
 * byte came back, -1 when it could not connect at all. Bounded to 5 s. */
static int call(const char *src, const char *dst, int port, const char *req, char *out, size_t cap)
{
    bool v6 = strchr(dst, ':') != NULL;
    struct sockaddr_storage sa = {0}, da = {0};
    socklen_t len;
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa, *d6 = (struct sockaddr_in6 *)&da;
        s6->sin6_family = d6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, src, &s6->sin6_addr);
        inet_pton(AF_INET6, dst, &d6->sin6_addr);
        d6->sin6_port = htons((uint16_t)port);
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&sa, *d4 = (struct sockaddr_in *)&da;
        s4->sin_family = d4->sin_family = AF_INET;
        inet_pton(AF_INET, src, &s4->sin_addr);
        inet_pton(AF_INET, dst, &d4->sin_addr);
        d4->sin_port = htons((uint16_t)port);
        len = sizeof(*s4);
    }
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) != 0 ||
        connect(fd, (struct sockaddr *)&da, len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* the refusal may already be on its way: a failed send is a refusal too */
    (void)!write(fd, req, strlen(req));
    size_t n = 0;
    long long end = now_ms() + 5000;
    while (n + 1 < cap && now_ms() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t k = read(fd, out + n, cap - 1 - n);
        if (k <= 0)
            break; /* EOF, or ECONNRESET from the refusal */
        n += (size_t)k;
    }
    out[n] = '\0';
    close(fd);
    int status = 0;
    if (n > 12 && sscanf(out, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    return status;
}

static int health(const char *src, const char *dst, int port)
{
    char req[128], out[4096];
    snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
             strchr(dst, ':') ? "[::1]" : "127.0.0.1");
    return call(src, dst, port, req, out, sizeof(out));
}

static int admin(const char *src, int port, const char *method, const char *path, const char *body,
                 char *out, size_t cap)
{
    char req[2048];
    snprintf(req, sizeof(req),
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " KEY
             "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: "
             "close\r\n\r\n%s",
             method, path, body ? strlen(body) : 0, body ? body : "");
    return call(src, "127.0.0.1", port, req, out, cap);
}

/* The body of a raw answer. */
static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

static bool have_ipv6_loopback(void)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void rules_apply_at_accept_and_reload(void **state)
{
    struct ag_gwenv e;
    static char out[65536];
    const struct ag_gwenv_opts o = {
        .name = "iprules",
        .config_json = "{\"auth\":{\"mode\":\"all_except_health\",\"api_key\":\"" KEY "\"},"
                       "\"security\":{\"ip_deny\":[\"127.0.0.2\"]}}",
    };
    ag_gwenv_start(&e, &o);

    /* 127.0.0.2 is denied: closed at accept, no answer at all; 127.0.0.1 is served */
    assert_int_equal(health("127.0.0.1", "127.0.0.1", e.port), 200);
    assert_int_equal(health("127.0.0.2", "127.0.0.1", e.port), 0);
    assert_int_equal(health("127.0.0.2", "127.0.0.1", e.port), 0);
    /* a denied client's request never reaches a handler, whatever it asks */
    assert_int_equal(admin("127.0.0.2", e.port, "GET", "/api/security/ip", NULL, out, sizeof(out)),
                     0);
    assert_string_equal(out, "");

    assert_int_equal(admin("127.0.0.1", e.port, "GET", "/api/security/ip", NULL, out, sizeof(out)),
                     200);
    yyjson_doc *d = yyjson_read(body_of(out), strlen(body_of(out)), 0);
    assert_non_null(d);
    yyjson_val *root = yyjson_doc_get_root(d);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(root, "refused_total")), 3);
    yyjson_val *refused = yyjson_obj_get(root, "refused");
    assert_int_equal(yyjson_arr_size(refused), 1);
    yyjson_val *r0 = yyjson_arr_get_first(refused);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(r0, "address")), "127.0.0.2");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(r0, "count")), 3);
    assert_true(yyjson_get_int(yyjson_obj_get(r0, "last_ms")) > 0);
    assert_string_equal(yyjson_get_str(yyjson_arr_get_first(yyjson_obj_get(root, "deny"))),
                        "127.0.0.2");
    assert_int_equal(yyjson_arr_size(yyjson_obj_get(root, "allow")), 0);
    yyjson_doc_free(d);

    /* a bad block is refused with the key, the item and the reason; nothing changes */
    assert_int_equal(admin("127.0.0.1", e.port, "PUT", "/api/config",
                           "{\"security.ip_allow\":[\"127.0.0.1\",\"10.0.0.0/33\"]}", out,
                           sizeof(out)),
                     400);
    assert_non_null(strstr(out, "security.ip_allow"));
    assert_non_null(strstr(out, "item 1"));
    assert_non_null(strstr(out, "IPv4 prefix length is at most 32"));
    assert_int_equal(health("127.0.0.1", "127.0.0.1", e.port), 200);

    /* hot reload: only 127.0.0.2 and ::1 allowed now; 127.0.0.1 is refused from the next
     * connection on */
    assert_int_equal(admin("127.0.0.1", e.port, "PUT", "/api/config",
                           "{\"security.ip_allow\":[\"127.0.0.2/32\",\"::1\"],"
                           "\"security.ip_deny\":[]}",
                           out, sizeof(out)),
                     200);
    assert_null(strstr(body_of(out), "\"restart_required\":[\"security"));
    assert_int_equal(health("127.0.0.1", "127.0.0.1", e.port), 0);
    assert_int_equal(health("127.0.0.2", "127.0.0.1", e.port), 200);

    if (have_ipv6_loopback()) {
        assert_int_equal(health("::1", "::1", e.port), 200);
        /* deny wins over allow: ::/0 covers ::1, which allow lists */
        assert_int_equal(admin("127.0.0.2", e.port, "PUT", "/api/config",
                               "{\"security.ip_deny\":[\"::/0\"]}", out, sizeof(out)),
                         200);
        assert_int_equal(health("::1", "::1", e.port), 0);
        assert_int_equal(health("127.0.0.2", "127.0.0.1", e.port), 200);
        assert_int_equal(
            admin("127.0.0.2", e.port, "GET", "/api/security/ip", NULL, out, sizeof(out)), 200);
        assert_non_null(strstr(body_of(out), "\"address\":\"::1\""));
    } else {
        print_message("skipped the ::1 checks: this machine has no IPv6 loopback\n");
    }

    /* back to open, and the saved file says so */
    assert_int_equal(admin("127.0.0.2", e.port, "PUT", "/api/config",
                           "{\"security.ip_allow\":[],\"security.ip_deny\":[]}", out, sizeof(out)),
                     200);
    assert_int_equal(health("127.0.0.1", "127.0.0.1", e.port), 200);

    /* the CLI refuses garbage with the reason */
    const char *args[] = {"config", "set", "security.ip_deny", "192.168.1.0/24,not-an-ip", NULL};
    char *cout = NULL, *cerr = NULL;
    assert_int_not_equal(ag_gwenv_cli(&e, args, &cout, &cerr), 0);
    assert_non_null(cerr);
    assert_non_null(strstr(cerr, "security.ip_deny"));
    assert_non_null(strstr(cerr, "not an IPv4 or IPv6 address"));
    free(cout);
    free(cerr);
    ag_gwenv_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(rules_apply_at_accept_and_reload, ag_gwenv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
