/* Unit tests of state/keyspace's per-key part: window key names and the "ku" message. */
#include "ag_test.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "state/keyspace.h"

static void window_names(void **state)
{
    char k[128];
    assert_int_equal(ag_state_key_window(k, sizeof(k), "aigate:", "team-a", 'r', 29412345),
                     strlen("aigate:kw:team-a:r29412345"));
    assert_string_equal(k, "aigate:kw:team-a:r29412345");
    assert_true(ag_state_key_window(k, sizeof(k), "p:", "team.b_1", 'd', 1796515200) > 0);
    assert_string_equal(k, "p:kw:team.b_1:d1796515200");
    assert_true(ag_state_key_window(k, sizeof(k), "p:", "x", 'm', 1795996800) > 0);
    assert_string_equal(k, "p:kw:x:m1795996800");
    assert_true(ag_state_key_window(k, sizeof(k), "p:", "x", 't', 7) > 0);
    assert_string_equal(k, "p:kw:x:t7");
    /* a name with a separator is escaped: it cannot pose as another key's window */
    assert_true(ag_state_key_window(k, sizeof(k), "p:", "a:r1", 'r', 2) > 0);
    assert_string_equal(k, "p:kw:a%3Ar1:r2");
    /* another letter, or too small a buffer: 0 and an empty string */
    assert_int_equal(ag_state_key_window(k, sizeof(k), "p:", "x", 'q', 1), 0);
    assert_string_equal(k, "");
    char small[12];
    assert_int_equal(ag_state_key_window(small, sizeof(small), "aigate:", "team", 'r', 123456), 0);
    assert_string_equal(small, "");
}

static void message_round_trip(void **state)
{
    struct ag_state_keymsg in = {.in_flight = 3,
                                 .reserved = 4500,
                                 .requests = 1,
                                 .tokens = -120,
                                 .used = 880,
                                 .day_start = 1796515200,
                                 .month_start = 1795996800},
                           out;
    struct ag_buf b;
    strcpy(in.instance, "0123456789abcdef");
    strcpy(in.key, "team-a");
    ag_buf_init(&b, 4096);
    assert_int_equal(ag_state_keymsg_encode(&in, &b), 0);
    assert_non_null(strstr(b.data, "\"k\":\"ku\""));
    assert_int_equal(ag_state_keymsg_decode(b.data, b.len, &out), 0);
    assert_string_equal(out.instance, in.instance);
    assert_string_equal(out.key, in.key);
    assert_int_equal(out.in_flight, 3);
    assert_int_equal(out.reserved, 4500);
    assert_int_equal(out.requests, 1);
    assert_int_equal(out.tokens, -120);
    assert_int_equal(out.used, 880);
    assert_int_equal(out.day_start, in.day_start);
    assert_int_equal(out.month_start, in.month_start);
    /* an empty key is not a message */
    ag_buf_reset(&b);
    in.key[0] = '\0';
    assert_int_equal(ag_state_keymsg_encode(&in, &b), AG_EINVAL);
    /* the output cap holds */
    struct ag_buf tiny;
    ag_buf_init(&tiny, 16);
    strcpy(in.key, "team-a");
    assert_int_equal(ag_state_keymsg_encode(&in, &tiny), AG_ETOOBIG);
    ag_buf_dispose(&tiny);
    ag_buf_dispose(&b);
}

static void decode_refusals(void **state)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{\"k\":\"cd\",\"i\":\"x\",\"n\":\"a\",\"c\":0,\"v\":0,\"r\":0,\"t\":0,\"u\":0,\"d\":0,"
        "\"m\":0}",
        "{\"k\":\"ku\",\"n\":\"a\",\"c\":0,\"v\":0,\"r\":0,\"t\":0,\"u\":0,\"d\":0,\"m\":0}",
        "{\"k\":\"ku\",\"i\":\"x\",\"n\":\"\",\"c\":0,\"v\":0,\"r\":0,\"t\":0,\"u\":0,\"d\":0,"
        "\"m\":0}",
        "{\"k\":\"ku\",\"i\":\"x\",\"n\":\"a\",\"c\":-1,\"v\":0,\"r\":0,\"t\":0,\"u\":0,\"d\":0,"
        "\"m\":0}",
        "{\"k\":\"ku\",\"i\":\"x\",\"n\":\"a\",\"c\":0,\"v\":0,\"r\":0,\"t\":0,\"u\":-5,\"d\":0,"
        "\"m\":0}",
        "{\"k\":\"ku\",\"i\":\"x\",\"n\":\"a\",\"c\":0,\"v\":0,\"r\":0,\"t\":0,\"u\":0,\"d\":0}",
        "{\"k\":\"ku\",\"i\":\"x\",\"n\":\"a\",\"c\":\"1\",\"v\":0,\"r\":0,\"t\":0,\"u\":0,\"d\":0,"
        "\"m\":0}",
        "{\"k\":\"ku\",\"i\":\"x\",\"n\":\"a\",\"c\":0,\"v\":0,\"r\":0,\"t\":1e3,\"u\":0,\"d\":0,"
        "\"m\":0}",
        "{\"k\":\"ku\",\"i\":\"x\",\"n\":\"a\",\"c\":0,\"v\":0,\"r\":0,\"t\":0,"
        "\"u\":18446744073709551615,\"d\":0,\"m\":0}",
        "{\"k\":\"ku\",\"i\":\"x\",\"n\":\"a\",\"c\":0,\"v\":0,\"r\":2000000000000,\"t\":0,\"u\":0,"
        "\"d\":0,\"m\":0}",
    };
    struct ag_state_keymsg m;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ag_state_keymsg_decode(bad[i], strlen(bad[i]), &m) != AG_EINVAL)
            fail_msg("accepted: %s", bad[i]);
        assert_string_equal(m.key, "");
    }
    /* a key name longer than the field is refused, not cut */
    char big[600];
    int n = snprintf(big, sizeof(big), "{\"k\":\"ku\",\"i\":\"x\",\"n\":\"");
    memset(big + n, 'a', 300);
    snprintf(big + n + 300, sizeof(big) - (size_t)n - 300,
             "\",\"c\":0,\"v\":0,\"r\":0,\"t\":0,\"u\":0,\"d\":0,\"m\":0}");
    assert_int_equal(ag_state_keymsg_decode(big, strlen(big), &m), AG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(window_names),
        cmocka_unit_test(message_round_trip),
        cmocka_unit_test(decode_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
