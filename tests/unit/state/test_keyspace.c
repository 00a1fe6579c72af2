/* Unit tests of state/keyspace: the redis:// URL, key names and the message format. */
#include "ag_test.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "state/keyspace.h"

static void url_forms(void **state)
{
    struct ag_state_url u;
    char why[256];
    assert_int_equal(ag_state_url_parse("redis://127.0.0.1:6380/2", &u, why, sizeof(why)), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    assert_string_equal(u.password, "");
    assert_int_equal(ag_state_url_parse("redis://cache.internal", &u, why, sizeof(why)), 0);
    assert_string_equal(u.host, "cache.internal");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    /* password only, the user:password form (ACL), escapes, '+' and '@' kept */
    assert_int_equal(ag_state_url_parse("redis://:s3cr%2Ft+x@h:1/0", &u, why, sizeof(why)), 0);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "s3cr/t+x");
    assert_string_equal(u.host, "h");
    assert_int_equal(ag_state_url_parse("redis://app:p@ss@h", &u, why, sizeof(why)), 0);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.password, "p@ss");
    assert_int_equal(ag_state_url_parse("redis://pw@h", &u, why, sizeof(why)), 0);
    assert_string_equal(u.password, "pw");
    assert_int_equal(ag_state_url_parse("redis://[::1]:7000/15", &u, why, sizeof(why)), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 15);
    assert_int_equal(ag_state_url_parse("REDIS://h/", &u, why, sizeof(why)), 0);
}

static void url_refusals(void **state)
{
    struct ag_state_url u;
    char why[256];
    assert_int_equal(ag_state_url_parse("rediss://h:6380", &u, why, sizeof(why)), AG_EINVAL);
    assert_non_null(strstr(why, "TLS"));
    assert_non_null(strstr(why, "hiredis 0.14"));
    static const char *const bad[] = {"",
                                      "http://h",
                                      "redis://",
                                      "redis://:pw@",
                                      "redis://h:0",
                                      "redis://h:65536",
                                      "redis://h:port",
                                      "redis://h/16",
                                      "redis://h/x",
                                      "redis://[::1",
                                      "redis://[::1]x",
                                      NULL};
    for (size_t i = 0; bad[i]; i++) {
        why[0] = '\0';
        assert_int_equal(ag_state_url_parse(bad[i], &u, why, sizeof(why)), AG_EINVAL);
        assert_true(why[0] != '\0');
    }
    assert_int_equal(ag_state_url_parse(NULL, &u, NULL, 0), AG_EINVAL);
}

static void key_names(void **state)
{
    char k[64];
    assert_int_equal(ag_state_key(k, sizeof(k), "aigate:", "cd", "a@example.com", "claude"),
                     strlen("aigate:cd:a@example.com:claude"));
    assert_string_equal(k, "aigate:cd:a@example.com:claude");
    assert_true(ag_state_key(k, sizeof(k), "aigate:", "cd", "a@example.com", "") > 0);
    assert_string_equal(k, "aigate:cd:a@example.com:");
    /* separators and spaces in a component are escaped: two pairs never share a name */
    assert_true(ag_state_key(k, sizeof(k), "p:", "cd", "x:y", "z") > 0);
    assert_string_equal(k, "p:cd:x%3Ay:z");
    char k2[64];
    assert_true(ag_state_key(k2, sizeof(k2), "p:", "cd", "x", "y:z") > 0);
    assert_string_equal(k2, "p:cd:x:y%3Az");
    assert_string_not_equal(k, k2);
    assert_true(ag_state_key(k, sizeof(k), "p:", "st", "sid-1 2*", NULL) > 0);
    assert_string_equal(k, "p:st:sid-1%202%2A");
    /* too long: 0 and an empty string, never a cut name */
    char small[12];
    assert_int_equal(ag_state_key(small, sizeof(small), "aigate:", "cd", "long@example.com", "g"),
                     0);
    assert_string_equal(small, "");
}

static void round_trip(const struct ag_state_msg *in, const char *rec, struct ag_state_msg *out)
{
    struct ag_buf b;
    ag_buf_init(&b, 4096);
    assert_int_equal(ag_state_msg_encode(in, rec, &b), 0);
    assert_int_equal(ag_state_msg_decode(b.data, b.len, out), 0);
    ag_buf_dispose(&b);
}

static void messages(void **state)
{
    struct ag_state_msg m = {.kind = AG_STATE_MSG_COOLDOWN,
                             .instance = "inst1",
                             .account = "a@example.com",
                             .group = "claude",
                             .until_ms = 1900000000123,
                             .strikes = 3,
                             .probing = true,
                             .reason = "HTTP 429 \"QUOTA_EXHAUSTED\""};
    struct ag_state_msg d;
    round_trip(&m, NULL, &d);
    assert_int_equal(d.kind, AG_STATE_MSG_COOLDOWN);
    assert_string_equal(d.instance, "inst1");
    assert_string_equal(d.account, "a@example.com");
    assert_string_equal(d.group, "claude");
    assert_true(d.until_ms == 1900000000123);
    assert_int_equal(d.strikes, 3);
    assert_true(d.probing);
    assert_string_equal(d.reason, "HTTP 429 \"QUOTA_EXHAUSTED\"");
    ag_state_msg_dispose(&d);

    struct ag_state_msg s = {.kind = AG_STATE_MSG_STICKY,
                             .instance = "i2",
                             .session = "hdr-0123456789abcdef",
                             .account = "b@example.com",
                             .until_ms = 42};
    round_trip(&s, NULL, &d);
    assert_int_equal(d.kind, AG_STATE_MSG_STICKY);
    assert_string_equal(d.session, "hdr-0123456789abcdef");
    assert_string_equal(d.account, "b@example.com");
    assert_true(d.until_ms == 42);
    ag_state_msg_dispose(&d);

    struct ag_state_msg a = {.kind = AG_STATE_MSG_ACCOUNT, .instance = "i3"};
    round_trip(&a, "{\"email\":\"c@example.com\",\"refresh_token\":\"rt\"}", &d);
    assert_int_equal(d.kind, AG_STATE_MSG_ACCOUNT);
    assert_non_null(d.rec);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(d.rec, "email")), "c@example.com");
    ag_state_msg_dispose(&d);
    assert_null(d.doc);

    struct ag_state_msg y = {.kind = AG_STATE_MSG_SYNC, .instance = "i4"};
    round_trip(&y, NULL, &d);
    assert_int_equal(d.kind, AG_STATE_MSG_SYNC);
    assert_string_equal(d.instance, "i4");
    ag_state_msg_dispose(&d);

    struct ag_state_msg f = {
        .kind = AG_STATE_MSG_INFLIGHT, .instance = "i5", .account = "a@example.com", .count = 7};
    round_trip(&f, NULL, &d);
    assert_int_equal(d.kind, AG_STATE_MSG_INFLIGHT);
    assert_string_equal(d.account, "a@example.com");
    assert_int_equal(d.count, 7);
    ag_state_msg_dispose(&d);

    /* an account message needs an object */
    struct ag_buf b;
    ag_buf_init(&b, 4096);
    assert_int_equal(ag_state_msg_encode(&a, "[1]", &b), AG_EINVAL);
    assert_int_equal(ag_state_msg_encode(&a, NULL, &b), AG_EINVAL);
    struct ag_state_msg bad = {.kind = 99};
    assert_int_equal(ag_state_msg_encode(&bad, NULL, &b), AG_EINVAL);
    /* the buffer's cap holds */
    struct ag_buf tiny;
    ag_buf_init(&tiny, 16);
    assert_int_equal(ag_state_msg_encode(&m, NULL, &tiny), AG_ETOOBIG);
    ag_buf_dispose(&tiny);
    ag_buf_dispose(&b);
}

static void decode_refusals(void **state)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{\"k\":\"cd\"}",                                             /* no instance */
        "{\"k\":\"zz\",\"i\":\"x\"}",                                 /* unknown kind */
        "{\"k\":\"cd\",\"i\":\"x\",\"a\":\"a\",\"g\":\"\"}",          /* no until */
        "{\"k\":\"cd\",\"i\":\"x\",\"a\":\"a\",\"g\":\"\",\"u\":-5}", /* until <= 0 */
        "{\"k\":\"cd\",\"i\":\"x\",\"a\":\"\",\"g\":\"\",\"u\":5}",   /* no account */
        "{\"k\":\"st\",\"i\":\"x\",\"s\":\"\",\"a\":\"a\",\"u\":5}",  /* no session */
        "{\"k\":\"acct\",\"i\":\"x\",\"rec\":\"str\"}",               /* rec not object */
        "{\"k\":\"cd\",\"i\":\"x\",\"a\":\"a\",\"g\":1,\"u\":5}",     /* group not string */
        "{\"k\":\"if\",\"i\":\"x\",\"a\":\"a\"}",                     /* no count */
        "{\"k\":\"if\",\"i\":\"x\",\"a\":\"a\",\"n\":-1}",            /* negative count */
        "{\"k\":\"if\",\"i\":\"x\",\"a\":\"\",\"n\":1}",              /* no account */
        NULL};
    struct ag_state_msg d;
    for (size_t i = 0; bad[i]; i++) {
        assert_int_equal(ag_state_msg_decode(bad[i], strlen(bad[i]), &d), AG_EINVAL);
        assert_null(d.doc);
    }
    /* a name longer than its field is refused, not cut */
    char big[1200];
    char acct[400];
    memset(acct, 'x', sizeof(acct) - 1);
    acct[sizeof(acct) - 1] = '\0';
    snprintf(big, sizeof(big), "{\"k\":\"cd\",\"i\":\"x\",\"a\":\"%s\",\"g\":\"\",\"u\":5}", acct);
    assert_int_equal(ag_state_msg_decode(big, strlen(big), &d), AG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(url_forms), cmocka_unit_test(url_refusals),    cmocka_unit_test(key_names),
        cmocka_unit_test(messages),  cmocka_unit_test(decode_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
