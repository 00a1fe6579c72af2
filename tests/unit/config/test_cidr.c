/* tests/unit/config/test_cidr.c: IP addresses and CIDR blocks (core/cidr.h): IPv4, IPv6 and
 * IPv4-mapped addresses, prefixes /0 /32 /128 and in between, host bits, garbage refused with a
 * reason; and the security.ip_* and alerts.* configuration keys that use them. */
#include "ag_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/cidr.h"
#include "core/err.h"

static struct ag_cidr block(const char *s)
{
    struct ag_cidr c;
    const char *why = NULL;
    int rc = ag_cidr_parse(s, &c, &why);
    if (rc)
        fail_msg("%s: %s", s, why ? why : "?");
    return c;
}

static bool in(const char *cidr, const char *addr)
{
    struct ag_cidr c = block(cidr);
    struct ag_ip ip;
    assert_int_equal(ag_ip_parse(addr, &ip), 0);
    return ag_cidr_match(&c, &ip);
}

static void test_v4(void **state)
{
    (void)state;
    assert_true(in("10.0.0.0/8", "10.255.1.2"));
    assert_false(in("10.0.0.0/8", "11.0.0.1"));
    assert_true(in("192.168.1.0/24", "192.168.1.77"));
    assert_false(in("192.168.1.0/24", "192.168.2.1"));
    assert_true(in("172.16.0.0/12", "172.31.255.255"));
    assert_false(in("172.16.0.0/12", "172.32.0.0"));
    /* /32 and a lone address are one host */
    assert_true(in("127.0.0.1/32", "127.0.0.1"));
    assert_false(in("127.0.0.1/32", "127.0.0.2"));
    assert_true(in("127.0.0.1", "127.0.0.1"));
    assert_false(in("127.0.0.1", "127.0.0.2"));
    /* /0 is every IPv4 address, and no IPv6 one */
    assert_true(in("0.0.0.0/0", "8.8.8.8"));
    assert_true(in("0.0.0.0/0", "0.0.0.0"));
    assert_false(in("0.0.0.0/0", "::1"));
    /* an odd prefix cuts inside a byte */
    assert_true(in("10.0.0.128/25", "10.0.0.200"));
    assert_false(in("10.0.0.128/25", "10.0.0.127"));
}

static void test_v6(void **state)
{
    (void)state;
    assert_true(in("::1/128", "::1"));
    assert_false(in("::1/128", "::2"));
    assert_true(in("::1", "::1"));
    assert_true(in("fd00::/8", "fd12:3456::1"));
    assert_false(in("fd00::/8", "fe80::1"));
    assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
    assert_false(in("2001:db8::/33", "2001:db8:8000::1"));
    /* ::/0 is every IPv6 address, and no IPv4 one */
    assert_true(in("::/0", "2001:db8::1"));
    assert_true(in("::/0", "::1"));
    assert_false(in("::/0", "127.0.0.1"));
    assert_false(in("::1", "127.0.0.1"));
}

static void test_v4_mapped(void **state)
{
    (void)state;
    /* a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d: IPv4 blocks match them */
    assert_true(in("127.0.0.0/8", "::ffff:127.0.0.1"));
    assert_true(in("127.0.0.1/32", "::ffff:127.0.0.1"));
    assert_false(in("10.0.0.0/8", "::ffff:127.0.0.1"));
    assert_true(in("0.0.0.0/0", "::ffff:1.2.3.4"));
    assert_false(in("::/0", "::ffff:1.2.3.4"));
    /* an IPv6 spelling of an IPv4 block is that block */
    assert_true(in("::ffff:10.0.0.0/104", "10.9.8.7"));
    assert_false(in("::ffff:10.0.0.0/104", "11.9.8.7"));
    assert_true(in("::ffff:127.0.0.1", "127.0.0.1"));

    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    struct ag_ip a, b;
    char t[AG_CIDR_TEXT_MAX];
    inet_pton(AF_INET6, "::ffff:192.0.2.5", &s6.sin6_addr);
    inet_pton(AF_INET, "192.0.2.5", &s4.sin_addr);
    assert_int_equal(ag_ip_from_sockaddr((struct sockaddr *)&s6, &a), 0);
    assert_int_equal(ag_ip_from_sockaddr((struct sockaddr *)&s4, &b), 0);
    assert_memory_equal(a.b, b.b, 16);
    assert_true(ag_ip_is_v4(&a));
    ag_ip_format(&a, t, sizeof(t));
    assert_string_equal(t, "192.0.2.5");
    inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
    assert_int_equal(ag_ip_from_sockaddr((struct sockaddr *)&s6, &a), 0);
    assert_false(ag_ip_is_v4(&a));
    ag_ip_format(&a, t, sizeof(t));
    assert_string_equal(t, "2001:db8::1");
    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_int_equal(ag_ip_from_sockaddr(&un, &a), AG_EINVAL);
}

static void test_format_and_host_bits(void **state)
{
    (void)state;
    char t[AG_CIDR_TEXT_MAX];
    struct ag_cidr c = block(" 10.1.2.3/8 ");
    ag_cidr_format(&c, t, sizeof(t));
    assert_string_equal(t, "10.0.0.0/8");
    c = block("2001:db8::ffff/32");
    ag_cidr_format(&c, t, sizeof(t));
    assert_string_equal(t, "2001:db8::/32");
    c = block("::1");
    ag_cidr_format(&c, t, sizeof(t));
    assert_string_equal(t, "::1/128");
    c = block("1.2.3.4");
    ag_cidr_format(&c, t, sizeof(t));
    assert_string_equal(t, "1.2.3.4/32");
    c = block("0.0.0.0/0");
    ag_cidr_format(&c, t, sizeof(t));
    assert_string_equal(t, "0.0.0.0/0");
}

static void test_garbage(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        " ",
        "abc",
        "10.0.0.0/33",
        "::1/129",
        "10.0.0.0/",
        "/8",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "10.0.0.0/8x",
        "1.2.3",
        "1.2.3.4.5",
        "256.0.0.1",
        "010.0.0.1",
        "1.02.3.4",
        "fe80::1%eth0",
        ":::1",
        "1.2.3.4/8/8",
        "10.0.0.0/0008",
        "12345::",
        "localhost",
        "10.0.0.0 /8",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ag_cidr c;
        const char *why = NULL;
        if (ag_cidr_parse(bad[i], &c, &why) != AG_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_non_null(why);
        assert_true(strlen(why) > 5);
    }
    struct ag_ip ip;
    assert_int_equal(ag_ip_parse("", &ip), AG_EINVAL);
    assert_int_equal(ag_ip_parse(NULL, &ip), AG_EINVAL);
    assert_int_equal(ag_ip_parse("10.0.0.0/8", &ip), AG_EINVAL);
}

static void test_config_keys(void **state)
{
    (void)state;
    struct ag_config *cfg = NULL;
    struct ag_buf err;
    ag_buf_init(&err, 4096);
    const char ok[] = "{\"security\":{\"ip_allow\":[\"127.0.0.1\",\"::1\",\"10.0.0.0/8\"],"
                      "\"ip_deny\":[\"10.9.0.0/16\"]},"
                      "\"alerts\":{\"webhooks\":[{\"url\":\"http://127.0.0.1:9/h\","
                      "\"events\":[\"*\"],\"secret\":\"s3cret-value-long\"},"
                      "{\"url\":\"https://example.com/x\",\"events\":[\"pool.all_limited\"]}]}}";
    assert_int_equal(ag_config_from_json(ok, sizeof(ok) - 1, &cfg, &err), 0);
    assert_int_equal(cfg->security.ip_allow.n, 3);
    assert_int_equal(cfg->security.ip_deny.n, 1);
    assert_int_equal(cfg->alerts.webhooks.n, 2);
    assert_string_equal(cfg->alerts.webhooks.v[0].secret, "s3cret-value-long");
    assert_string_equal(cfg->alerts.webhooks.v[1].secret, "");
    assert_string_equal(cfg->alerts.webhooks.v[1].events.v[0], "pool.all_limited");
    /* the secret is masked when shown */
    struct ag_buf shown;
    ag_buf_init(&shown, 0);
    assert_int_equal(ag_config_to_json(cfg, true, false, &shown), 0);
    assert_null(strstr(shown.data, "s3cret-value-long"));
    assert_non_null(strstr(shown.data, "\"secret\":\"s3cr"));
    ag_buf_dispose(&shown);
    ag_config_unref(cfg);

    static const struct {
        const char *json, *want1, *want2;
    } bads[] = {
        {"{\"security\":{\"ip_allow\":[\"10.0.0.0/33\"]}}", "security.ip_allow",
         "IPv4 prefix length is at most 32"},
        {"{\"security\":{\"ip_deny\":[\"127.0.0.1\",\"nonsense\"]}}", "security.ip_deny",
         "item 1 (\"nonsense\") is not an IPv4 or IPv6 address"},
        {"{\"alerts\":{\"webhooks\":[{\"url\":\"ftp://x\",\"events\":[\"*\"]}]}}",
         "alerts.webhooks", "http:// or https:// URL"},
        {"{\"alerts\":{\"webhooks\":[{\"url\":\"http://x\",\"events\":[]}]}}", "alerts.webhooks",
         "non-empty array of event names"},
        {"{\"alerts\":{\"webhooks\":[{\"url\":\"http://x\",\"events\":[\"key.budgets\"]}]}}",
         "alerts.webhooks", "events[0] is not one of"},
        {"{\"alerts\":{\"webhooks\":[{\"url\":\"http://x\",\"events\":[\"*\"],\"hdr\":1}]}}",
         "alerts.webhooks", "unknown member"},
        {"{\"alerts\":{\"webhooks\":[{\"url\":\"http://x\",\"events\":[\"*\"],"
         "\"secret\":\"s3cr\xe2\x80\xa6ng\"}]}}",
         "alerts.webhooks", "masked form"},
    };
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        ag_buf_reset(&err);
        cfg = NULL;
        assert_int_equal(ag_config_from_json(bads[i].json, strlen(bads[i].json), &cfg, &err),
                         AG_EINVAL);
        assert_null(cfg);
        if (!strstr(err.data, bads[i].want1) || !strstr(err.data, bads[i].want2))
            fail_msg("case %zu: %s", i, err.data);
    }
    ag_buf_dispose(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4),        cmocka_unit_test(test_v6),
        cmocka_unit_test(test_v4_mapped), cmocka_unit_test(test_format_and_host_bits),
        cmocka_unit_test(test_garbage),   cmocka_unit_test(test_config_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
