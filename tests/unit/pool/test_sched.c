/* Unit tests of the scheduler's pure parts (pool/sched.h, pool/sticky.h, ag_pool_cooldown_ms):
 * admission (quota, protection, concurrency), candidate order, the three strategies with an
 * injected random source, sticky bindings with an injected clock, and the cooldown arithmetic
 * from each upstream hint format (classified by upstream/errclass.h as the relay does). */
#include "ag_test.h"

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/str.h"
#include "pool/pool.h"
#include "pool/sched.h"
#include "pool/sticky.h"
#include "upstream/errclass.h"

static struct ag_config *cfg_of(const char *json)
{
    struct ag_config *c = NULL;
    assert_int_equal(ag_config_from_json(json, strlen(json), &c, NULL), 0);
    return c;
}

static struct ag_sched_cand cand(const char *id, size_t order, enum ag_tier tier, double rem,
                                 int64_t reset)
{
    return (struct ag_sched_cand){
        .id = id, .email = id, .order = order, .tier = tier, .remaining = rem, .reset_at = reset};
}

/* ---- admission ---- */

static void test_admit(void **state)
{
    struct ag_config *off = cfg_of("{}");
    struct ag_config *on = cfg_of("{\"quota\":{\"protection_threshold\":10},"
                                  "\"scheduling\":{\"max_concurrency_per_account\":2}}");
    struct ag_sched_ctx ctx = {.now_ms = 1000000000LL * 1000, .cfg = off};
    int64_t until = 0, now_s = ctx.now_ms / 1000;
    struct ag_sched_cand c = cand("a", 0, AG_TIER_PRO, 0.0, now_s + 600);

    /* Used up, reset ahead: no quota until the reset. */
    assert_int_equal(ag_sched_admit(&c, &ctx, &until), AG_SCHED_NO_QUOTA);
    assert_int_equal(until, (now_s + 600) * 1000);
    /* The reset passed: the stored 0 is stale, the account is admitted. */
    c.reset_at = now_s - 1;
    assert_int_equal(ag_sched_admit(&c, &ctx, NULL), AG_SCHED_ADMIT);
    /* Unknown quota is admitted. */
    c.remaining = -1;
    assert_int_equal(ag_sched_admit(&c, &ctx, NULL), AG_SCHED_ADMIT);
    /* Protection is off by default: 5 % is fine. */
    c.remaining = 0.05;
    c.reset_at = now_s + 3600;
    assert_int_equal(ag_sched_admit(&c, &ctx, NULL), AG_SCHED_ADMIT);
    /* With a 10 % threshold: 5 % protected, 9.99 % protected, 10 % not. */
    ctx.cfg = on;
    assert_int_equal(ag_sched_admit(&c, &ctx, &until), AG_SCHED_PROTECTED);
    assert_int_equal(until, (now_s + 3600) * 1000);
    c.remaining = 0.0999;
    assert_int_equal(ag_sched_admit(&c, &ctx, NULL), AG_SCHED_PROTECTED);
    c.remaining = 0.10;
    assert_int_equal(ag_sched_admit(&c, &ctx, NULL), AG_SCHED_ADMIT);
    /* Concurrency limit 2. */
    c.inflight = 1;
    assert_int_equal(ag_sched_admit(&c, &ctx, NULL), AG_SCHED_ADMIT);
    c.inflight = 2;
    assert_int_equal(ag_sched_admit(&c, &ctx, NULL), AG_SCHED_BUSY);
    ctx.cfg = off;
    assert_int_equal(ag_sched_admit(&c, &ctx, NULL), AG_SCHED_ADMIT); /* 0 = unlimited */
    ag_config_unref(off);
    ag_config_unref(on);
}

/* ---- order ---- */

static void test_order(void **state)
{
    int64_t t = 1700000000;
    struct ag_sched_cand c[] = {
        cand("free-full", 0, AG_TIER_FREE, 1.0, t),
        cand("pro-unknown", 1, AG_TIER_PRO, -1, 0),
        cand("pro-50", 2, AG_TIER_PRO, 0.50, t + 7200),
        cand("pro-55-early", 3, AG_TIER_PRO, 0.55, t + 60),
        cand("ultra-20", 4, AG_TIER_ULTRA, 0.20, t),
        cand("pro-90", 5, AG_TIER_PRO, 0.90, t),
        cand("pro-59", 6, AG_TIER_PRO, 0.59, t + 7200),
    };
    ag_sched_sort(c, 7);
    /* Tier first, whatever the quota. */
    assert_string_equal(c[0].id, "ultra-20");
    /* Then quota bands of 10 points. */
    assert_string_equal(c[1].id, "pro-90");
    /* 50, 55 and 59 share the 50-59 band: the earlier reset goes first (its quota would be lost),
     * equal resets keep pool order. */
    assert_string_equal(c[2].id, "pro-55-early");
    assert_string_equal(c[3].id, "pro-50");
    assert_string_equal(c[4].id, "pro-59");
    /* Unknown quota after every known band of the same tier. */
    assert_string_equal(c[5].id, "pro-unknown");
    assert_string_equal(c[6].id, "free-full");
    assert_int_equal(ag_sched_compare(&c[3], &c[4]), 0);
}

/* ---- strategies ---- */

static uint64_t script_rand(void *ud)
{
    uint64_t **p = ud;
    return *(*p)++;
}

static void test_balance_spreads_over_equals(void **state)
{
    struct ag_config *cfg = cfg_of("{}");
    struct ag_sched_ctx ctx = {.cfg = cfg};
    const char *why = NULL;
    struct ag_sched_cand c[] = {
        cand("a", 0, AG_TIER_PRO, 0.8, 0),
        cand("b", 1, AG_TIER_PRO, 0.85, 0),
        cand("c", 2, AG_TIER_PRO, 0.3, 0),
    };
    assert_ptr_equal(ag_sched_for_config(cfg), &ag_sched_balance);
    ag_sched_sort(c, 3);
    /* a and b are equals (80-89 band); nobody used yet: pool order. */
    assert_string_equal(c[ag_sched_balance.pick(NULL, &ctx, c, 3, &why)].id, "a");
    assert_non_null(why);
    /* a used more recently than b: b. */
    c[0].last_use = 5;
    c[1].last_use = 3;
    assert_string_equal(c[ag_sched_balance.pick(NULL, &ctx, c, 3, &why)].id, "b");
    /* b busier than a: a, whatever the recency. */
    c[1].inflight = 2;
    c[0].inflight = 1;
    assert_string_equal(c[ag_sched_balance.pick(NULL, &ctx, c, 3, &why)].id, "a");
    /* c (30 %) is never taken while a better band has candidates. */
    c[0].inflight = c[1].inflight = 50;
    assert_string_not_equal(c[ag_sched_balance.pick(NULL, &ctx, c, 3, &why)].id, "c");
    assert_true(ag_sched_balance.sticky && !ag_sched_balance.wait_sticky);
    ag_config_unref(cfg);
}

static void test_modes_from_config(void **state)
{
    struct ag_config *cf = cfg_of("{\"scheduling\":{\"mode\":\"cache_first\"}}");
    struct ag_config *pf = cfg_of("{\"scheduling\":{\"mode\":\"performance_first\"}}");
    assert_ptr_equal(ag_sched_for_config(cf), &ag_sched_cache_first);
    assert_true(ag_sched_cache_first.sticky && ag_sched_cache_first.wait_sticky);
    assert_ptr_equal(ag_sched_for_config(pf), &ag_sched_performance_first);
    assert_false(ag_sched_performance_first.sticky);
    ag_config_unref(cf);
    ag_config_unref(pf);
}

static void test_performance_first_p2c(void **state)
{
    struct ag_config *cfg = cfg_of("{}");
    uint64_t seq[] = {0, 0, 3, 2, 7, 7, 4, 0};
    uint64_t *cur = seq;
    struct ag_sched_ctx ctx = {.cfg = cfg, .rand = script_rand, .rand_ud = &cur};
    const char *why = NULL;
    struct ag_sched_cand c[7];
    for (size_t i = 0; i < 7; i++)
        c[i] = cand("x", i, AG_TIER_PRO, 1.0, 0);
    c[1].id = "b";
    c[0].id = "a";
    c[3].id = "d";
    c[2].id = "c";
    c[4].id = "e";
    c[5].id = "f-outside-best-five";
    c[1].inflight = 3;
    /* rand 0,0: the first is index 0, the second index 0 of the other four -> 1 (distinct). a
     * (idle) beats b (3 in flight). */
    assert_string_equal(c[ag_sched_performance_first.pick(NULL, &ctx, c, 7, &why)].id, "a");
    assert_string_equal(why, "power of two choices");
    /* 3 % 5 = d, 2 % 4 = 2 -> c: equal load and quota, neither used: pool order -> c. */
    assert_string_equal(c[ag_sched_performance_first.pick(NULL, &ctx, c, 7, &why)].id, "c");
    /* 7 % 5 = 2 (c), 7 % 4 = 3 -> 4 (e): c used more recently -> e. */
    c[2].last_use = 9;
    assert_string_equal(c[ag_sched_performance_first.pick(NULL, &ctx, c, 7, &why)].id, "e");
    /* Only the best five are drawn from: f (index 5) never. 4 % 5 = 4, 0 % 4 = 0. */
    size_t k = ag_sched_performance_first.pick(NULL, &ctx, c, 7, &why);
    assert_true(k < 5);
    /* One candidate: no randomness needed. */
    assert_int_equal(ag_sched_performance_first.pick(NULL, &ctx, c, 1, &why), 0);
    ag_config_unref(cfg);
}

/* ---- sticky bindings ---- */

static void test_sticky_ttl(void **state)
{
    struct ag_sticky *s = ag_sticky_new(3);
    int64_t now = 1000;
    assert_null(ag_sticky_get(s, "sid-1", now));
    ag_sticky_bind(s, "sid-1", "acct-a", now, 100);
    assert_string_equal(ag_sticky_get(s, "sid-1", now + 99), "acct-a");
    /* Sliding: a use at +50 extends to +150. */
    ag_sticky_bind(s, "sid-1", "acct-a", now + 50, 100);
    assert_string_equal(ag_sticky_get(s, "sid-1", now + 149), "acct-a");
    assert_null(ag_sticky_get(s, "sid-1", now + 150));
    /* Rebinding moves the session. */
    ag_sticky_bind(s, "sid-2", "acct-a", now, 100);
    ag_sticky_bind(s, "sid-2", "acct-b", now + 1, 100);
    assert_string_equal(ag_sticky_get(s, "sid-2", now + 2), "acct-b");
    /* Forgetting an account drops its bindings only. */
    ag_sticky_bind(s, "sid-3", "acct-a", now, 100);
    ag_sticky_forget_account(s, "acct-a");
    assert_null(ag_sticky_get(s, "sid-3", now + 1));
    assert_string_equal(ag_sticky_get(s, "sid-2", now + 2), "acct-b");
    /* Bounded: a full table evicts the binding closest to expiry. */
    ag_sticky_bind(s, "k1", "x", now, 10);
    ag_sticky_bind(s, "k2", "y", now, 500);
    assert_int_equal(ag_sticky_count(s, now + 3), 3);
    ag_sticky_bind(s, "k3", "z", now + 3, 500);
    assert_int_equal(ag_sticky_count(s, now + 3), 3);
    assert_null(ag_sticky_get(s, "k1", now + 3));
    assert_string_equal(ag_sticky_get(s, "k3", now + 3), "z");
    /* ttl 0 unbinds. */
    ag_sticky_bind(s, "k3", "z", now + 3, 0);
    assert_null(ag_sticky_get(s, "k3", now + 3));
    ag_sticky_free(s);
}

/* ---- cooldown arithmetic ---- */

static int64_t cooldown_for(int status, const char *body, const char *retry_after, unsigned strikes,
                            int64_t quota_reset_s, bool *probing)
{
    struct ag_errclass ec;
    struct ag_pool_outcome o;
    int64_t now_ms = 1700000000000LL;
    ag_errclass_http(status, ag_str_c(body), retry_after ? ag_str_c(retry_after) : AG_STR_NULL,
                     now_ms / 1000, &ec);
    ag_pool_outcome_from_errclass(&ec, "claude", "claude-sonnet-4-5", &o);
    return ag_pool_cooldown_ms(&o, strikes, now_ms, quota_reset_s, 86400 * 1000LL, probing);
}

static void test_cooldown_from_hints(void **state)
{
    bool probing = true;
    int64_t now_s = 1700000000;
    /* google.rpc.RetryInfo.retryDelay */
    assert_int_equal(
        cooldown_for(429,
                     "{\"error\":{\"code\":429,\"message\":\"slow down\",\"status\":"
                     "\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":\"type.googleapis.com/"
                     "google.rpc.RetryInfo\",\"retryDelay\":\"1.203608125s\"}]}}",
                     NULL, 0, 0, &probing),
        1204 + AG_POOL_DELAY_MARGIN_MS);
    assert_false(probing);
    /* ErrorInfo.metadata.quotaResetDelay: hours are trusted as given. */
    assert_int_equal(
        cooldown_for(429,
                     "{\"error\":{\"code\":429,\"message\":\"You have exhausted your capacity\","
                     "\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":"
                     "\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"QUOTA_EXHAUSTED\","
                     "\"metadata\":{\"quotaResetDelay\":\"2h1m1s\"}}]}}",
                     NULL, 0, 0, &probing),
        (2 * 3600 + 61) * 1000LL + AG_POOL_DELAY_MARGIN_MS);
    /* Retry-After header (seconds). */
    assert_int_equal(
        cooldown_for(429, "{\"error\":{\"code\":429,\"message\":\"busy\"}}", "30", 0, 0, &probing),
        30000 + AG_POOL_DELAY_MARGIN_MS);
    /* "retry after" wording in the message. */
    assert_int_equal(cooldown_for(429,
                                  "{\"error\":{\"code\":429,\"message\":\"Rate limited, please "
                                  "retry after 12s.\"}}",
                                  NULL, 0, 0, &probing),
                     12000 + AG_POOL_DELAY_MARGIN_MS);
    /* Quota exhausted without a delay: the stored quota reset time. */
    const char *qe = "{\"error\":{\"code\":429,\"message\":\"Quota exhausted\",\"status\":"
                     "\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":\"type.googleapis.com/"
                     "google.rpc.ErrorInfo\",\"reason\":\"QUOTA_EXHAUSTED\"}]}}";
    assert_int_equal(cooldown_for(429, qe, NULL, 0, now_s + 600, &probing),
                     600000 + AG_POOL_DELAY_MARGIN_MS);
    assert_false(probing);
    /* ... and without a known reset: the short steps with a probe. */
    assert_int_equal(cooldown_for(429, qe, NULL, 0, 0, &probing), AG_POOL_COOLDOWN_BASE_MS);
    assert_true(probing);
    /* Model capacity: everyone's problem, a tiny cooldown. */
    assert_int_equal(cooldown_for(429,
                                  "{\"error\":{\"code\":429,\"message\":\"No capacity\",\"status\":"
                                  "\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":\"type."
                                  "googleapis.com/google.rpc.ErrorInfo\",\"reason\":"
                                  "\"MODEL_CAPACITY_EXHAUSTED\"}]}}",
                                  NULL, 0, 0, &probing),
                     AG_POOL_COOLDOWN_BASE_MS / 2);
    /* No hint: 5, 10, 20, 40, 60, 60 s by strike (never 30-minute lockouts). */
    const char *plain = "{\"error\":{\"code\":500,\"message\":\"internal\"}}";
    int64_t steps[] = {5000, 10000, 20000, 40000, 60000, 60000};
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(cooldown_for(500, plain, NULL, i, 0, &probing), steps[i]);
    /* Capped. */
    struct ag_pool_outcome o = {.kind = AG_POOL_RATE_LIMITED, .retry_delay_ms = 10LL * 86400000};
    assert_int_equal(ag_pool_cooldown_ms(&o, 0, 0, 0, 3600000, NULL), 3600000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admit),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_balance_spreads_over_equals),
        cmocka_unit_test(test_modes_from_config),
        cmocka_unit_test(test_performance_first_p2c),
        cmocka_unit_test(test_sticky_ttl),
        cmocka_unit_test(test_cooldown_from_hints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
