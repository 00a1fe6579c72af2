/* Unit tests for relay/session_key.c: the upstream sessionId keeps its value from one version to
 * the next (the upstream keeps a conversation's prompt cache under it). */
#include "ag_test.h"

#include "relay/relay_internal.h"

#include <string.h>

static void upstream_session_id_is_stable(void **state)
{
    char sid[32];
    /* per conversation: FNV-1 of the session key, printed signed */
    ag_relay_upstream_session(AG_STR("sid-0123456789abcdef"), "acct-1", sid, sizeof(sid));
    assert_string_equal(sid, "6628879084206234056");
    /* without a key: per account */
    ag_relay_upstream_session(AG_STR_NULL, "acct-1", sid, sizeof(sid));
    assert_string_equal(sid, "7462063725643693482");
    ag_relay_upstream_session(AG_STR_NULL, NULL, sid, sizeof(sid));
    assert_string_equal(sid, "-3750763034362895579"); /* the offset basis, signed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(upstream_session_id_is_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
