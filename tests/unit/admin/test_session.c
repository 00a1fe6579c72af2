/* Unit tests for admin/session.c: tokens expire and revoke; failed logins are limited per address
 * over a sliding minute. */
#include "ag_test.h"

#include "admin/session.h"

#include <string.h>

static void tokens(void **state)
{
    struct ag_sessions *s = ag_sessions_new();
    char t[AG_SESSION_TOKEN_SIZE];
    assert_int_equal(ag_sessions_create(s, 1000, 5000, t), 0);
    assert_int_equal(strlen(t), AG_SESSION_TOKEN_SIZE - 1);
    assert_true(ag_sessions_valid(s, ag_str_c(t), 1001));
    assert_false(ag_sessions_valid(s, ag_str_c(t), 6000)); /* expired */
    assert_false(ag_sessions_valid(s, AG_STR("ags_nope"), 1001));
    char t2[AG_SESSION_TOKEN_SIZE];
    assert_int_equal(ag_sessions_create(s, 2000, 5000, t2), 0);
    assert_string_not_equal(t, t2);
    assert_true(ag_sessions_revoke(s, ag_str_c(t2)));
    assert_false(ag_sessions_valid(s, ag_str_c(t2), 2001));
    assert_false(ag_sessions_revoke(s, ag_str_c(t2)));
    ag_sessions_free(s);
}

static void eviction(void **state)
{
    struct ag_sessions *s = ag_sessions_new();
    char first[AG_SESSION_TOKEN_SIZE], t[AG_SESSION_TOKEN_SIZE];
    assert_int_equal(ag_sessions_create(s, 0, 1000000, first), 0);
    for (int i = 1; i <= 64; i++)
        assert_int_equal(ag_sessions_create(s, i, 1000000, t), 0);
    assert_false(ag_sessions_valid(s, ag_str_c(first), 100)); /* the oldest made room */
    assert_true(ag_sessions_valid(s, ag_str_c(t), 100));
    ag_sessions_clear(s);
    assert_false(ag_sessions_valid(s, ag_str_c(t), 100));
    ag_sessions_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens),
        cmocka_unit_test(eviction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
