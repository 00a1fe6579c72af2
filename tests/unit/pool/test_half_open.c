/* Unit tests of the half-open state after a default cooldown (pool/select.c): once the cooldown
 * has passed, one trial request at a time, counting the requests another instance sharing state
 * has in flight on the account (remote_inflight, pool/shared.c) like this instance's own. */
#include "ag_test.h"

#include <string.h>

#include "pool/pool_internal.h"

static void acct_with_probe(struct pool_acct *a, struct pool_cd *cd, int64_t until_ms)
{
    memset(a, 0, sizeof(*a));
    memset(cd, 0, sizeof(*cd));
    cd->until_ms = until_ms;
    cd->probing = true;
    a->cds = cd;
    a->ncds = 1;
}

static void no_trial_in_flight_lets_one_through(void **state)
{
    struct pool_acct a;
    struct pool_cd cd;
    int64_t until = -1;
    acct_with_probe(&a, &cd, 1000);
    assert_false(pool_acct_cooling(&a, "gemini", 2000, &until));
    assert_int_equal(until, 0);
}

static void a_local_trial_holds_the_others(void **state)
{
    struct pool_acct a;
    struct pool_cd cd;
    int64_t until = -1;
    acct_with_probe(&a, &cd, 1000);
    a.inflight = 1;
    assert_true(pool_acct_cooling(&a, "gemini", 2000, &until));
    assert_int_equal(until, 0);
}

static void a_trial_at_another_instance_holds_this_one(void **state)
{
    struct pool_acct a;
    struct pool_cd cd;
    int64_t until = -1;
    acct_with_probe(&a, &cd, 1000);
    a.remote_inflight = 1;
    assert_true(pool_acct_cooling(&a, "gemini", 2000, &until));
    /* not probing (a cooldown the upstream timed): other instances' requests do not hold it */
    cd.probing = false;
    assert_false(pool_acct_cooling(&a, "gemini", 2000, &until));
}

static void still_cooling_reports_until(void **state)
{
    struct pool_acct a;
    struct pool_cd cd;
    int64_t until = 0;
    acct_with_probe(&a, &cd, 5000);
    a.remote_inflight = 3;
    assert_true(pool_acct_cooling(&a, "gemini", 2000, &until));
    assert_int_equal(until, 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_trial_in_flight_lets_one_through),
        cmocka_unit_test(a_local_trial_holds_the_others),
        cmocka_unit_test(a_trial_at_another_instance_holds_this_one),
        cmocka_unit_test(still_cooling_reports_until),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
