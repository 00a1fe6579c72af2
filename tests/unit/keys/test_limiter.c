/* Unit tests of keys/keys.h: admission verdicts, the rpm/tpm buckets, concurrency, budget
 * reservations and settlement, day/month rollover at the clock's edges, expiry, alerts, reloads,
 * and the helpers (patterns, CIDRs, expiry parsing). The clock is the test's. */
#include "ag_test.h"

#include "core/err.h"
#include "keys/keys.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t clock_ms;

static int64_t test_now(void *ctx)
{
    (void)ctx;
    return clock_ms;
}

struct alerts {
    int n;
    char period[8][16];
    int percent[8];
};

static void on_budget(void *ctx, const char *key, const char *period, int percent)
{
    struct alerts *a = ctx;
    assert_string_equal(key, "alice");
    if (a->n < 8) {
        snprintf(a->period[a->n], sizeof(a->period[0]), "%s", period);
        a->percent[a->n] = percent;
    }
    a->n++;
}

#define SECRET "sk-0123456789abcdef0123456789abcdef"

/* 2026-03-31T23:59:59Z: the last second of a day and of a month. */
static int64_t ts(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return (int64_t)timegm(&tm);
}

static struct ag_keys *make(struct ag_user_key *k, struct alerts *a)
{
    struct ag_keys_config cfg = {
        .now_ms = test_now, .on_budget = a ? on_budget : NULL, .on_budget_ctx = a};
    struct ag_keys *ks = ag_keys_new(&cfg);
    snprintf(k->name, sizeof(k->name), "alice");
    ag_keys_hash_hex(SECRET, strlen(SECRET), k->hash, sizeof(k->hash));
    ag_keys_set(ks, k, 1, NULL, NULL);
    return ks;
}

static int begin(struct ag_keys *ks, const char *model, int64_t est, struct ag_keys_ticket *t,
                 struct ag_keys_refusal *r)
{
    return ag_keys_begin(ks, SECRET, strlen(SECRET), model, est, t, r);
}

static void unknown_secrets_are_not_keys(void **state)
{
    struct ag_user_key k = {0};
    clock_ms = ts(2026, 5, 1, 12, 0, 0) * 1000;
    struct ag_keys *ks = make(&k, NULL);
    const char *name = NULL;
    assert_int_equal(ag_keys_admit(ks, "sk-other", 8, "127.0.0.1", &name), AG_KEYS_NOT_A_KEY);
    assert_int_equal(ag_keys_admit(ks, SECRET, strlen(SECRET), "127.0.0.1", &name), AG_KEYS_OK);
    assert_string_equal(name, "alice");
    struct ag_keys_ticket t;
    struct ag_keys_refusal r;
    assert_int_equal(ag_keys_begin(ks, "sk-other", 8, "m", 10, &t, &r), 0);
    assert_null(t._entry);
    ag_keys_settle(ks, &t, 5, 5); /* nothing to settle */
    assert_int_equal(ag_keys_admit(NULL, SECRET, strlen(SECRET), "127.0.0.1", NULL),
                     AG_KEYS_NOT_A_KEY);
    ag_keys_free(ks);
}

static void states_expiry_and_addresses(void **state)
{
    struct ag_user_key k = {0};
    int64_t now = ts(2026, 5, 1, 12, 0, 0);
    clock_ms = now * 1000;
    k.expires_at = now + 60;
    snprintf(k.cidrs, sizeof(k.cidrs), "10.0.0.0/8, 2001:db8::/32");
    struct ag_keys *ks = make(&k, NULL);
    assert_int_equal(ag_keys_admit(ks, SECRET, strlen(SECRET), "10.1.2.3", NULL), AG_KEYS_OK);
    assert_int_equal(ag_keys_admit(ks, SECRET, strlen(SECRET), "::ffff:10.1.2.3", NULL),
                     AG_KEYS_OK);
    assert_int_equal(ag_keys_admit(ks, SECRET, strlen(SECRET), "2001:db8::1", NULL), AG_KEYS_OK);
    assert_int_equal(ag_keys_admit(ks, SECRET, strlen(SECRET), "127.0.0.1", NULL),
                     AG_KEYS_IP_REFUSED);
    assert_int_equal(ag_keys_admit(ks, SECRET, strlen(SECRET), "2001:db9::1", NULL),
                     AG_KEYS_IP_REFUSED);
    /* Expiry is exclusive: the key works until its second, not at it. */
    clock_ms = (now + 59) * 1000 + 999;
    assert_int_equal(ag_keys_admit(ks, SECRET, strlen(SECRET), "10.0.0.1", NULL), AG_KEYS_OK);
    clock_ms = (now + 60) * 1000;
    assert_int_equal(ag_keys_admit(ks, SECRET, strlen(SECRET), "10.0.0.1", NULL), AG_KEYS_EXPIRED);
    struct ag_keys_ticket t;
    struct ag_keys_refusal r;
    assert_int_equal(begin(ks, "m", 1, &t, &r), AG_EAUTH);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.message, "expired"));

    k.expires_at = 0;
    k.state = AG_USER_KEY_DISABLED;
    ag_keys_set(ks, &k, 1, NULL, NULL);
    assert_int_equal(ag_keys_admit(ks, SECRET, strlen(SECRET), "10.0.0.1", NULL), AG_KEYS_DISABLED);
    k.state = AG_USER_KEY_REVOKED;
    ag_keys_set(ks, &k, 1, NULL, NULL);
    assert_int_equal(ag_keys_admit(ks, SECRET, strlen(SECRET), "10.0.0.1", NULL), AG_KEYS_REVOKED);
    ag_keys_free(ks);
}

static void model_patterns(void **state)
{
    assert_true(ag_keys_model_allowed("", "anything"));
    assert_true(ag_keys_model_allowed("gemini-*,claude-sonnet-4-5", "gemini-2.5-pro"));
    assert_true(ag_keys_model_allowed("gemini-*, claude-sonnet-4-5", "claude-sonnet-4-5"));
    assert_false(ag_keys_model_allowed("gemini-*,claude-sonnet-4-5", "claude-opus-4-5"));

    struct ag_user_key k = {0};
    clock_ms = ts(2026, 5, 1, 12, 0, 0) * 1000;
    snprintf(k.models, sizeof(k.models), "gemini-*");
    struct ag_keys *ks = make(&k, NULL);
    struct ag_keys_ticket t;
    struct ag_keys_refusal r;
    assert_int_equal(begin(ks, "claude-opus-4-5", 1, &t, &r), AG_EINVAL);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.kind, "model_not_allowed");
    assert_null(t._entry);
    assert_string_equal(t.name, "alice"); /* the request log names the key of a refusal */
    assert_int_equal(begin(ks, "gemini-2.5-flash", 1, &t, &r), 0);
    assert_non_null(t._entry);
    assert_string_equal(t.name, "alice");
    ag_keys_settle(ks, &t, 1, 0);
    ag_keys_free(ks);
}

static void rpm_bucket_refills_evenly(void **state)
{
    struct ag_user_key k = {0};
    clock_ms = ts(2026, 5, 1, 12, 0, 0) * 1000;
    k.rpm = 2;
    struct ag_keys *ks = make(&k, NULL);
    struct ag_keys_ticket t[3];
    struct ag_keys_refusal r;
    assert_int_equal(begin(ks, "m", 0, &t[0], &r), 0);
    assert_int_equal(begin(ks, "m", 0, &t[1], &r), 0);
    assert_int_equal(begin(ks, "m", 0, &t[2], &r), AG_ETOOBIG);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.kind, "rate_limited");
    /* Two per minute: one request comes back every 30 s. */
    assert_int_equal(r.retry_after_s, 30);
    ag_keys_settle(ks, &t[0], 0, 0); /* settling does not give a request back */
    ag_keys_settle(ks, &t[1], 0, 0);
    clock_ms += 29999;
    assert_int_equal(begin(ks, "m", 0, &t[2], &r), AG_ETOOBIG);
    assert_int_equal(r.retry_after_s, 1);
    clock_ms += 1;
    assert_int_equal(begin(ks, "m", 0, &t[2], &r), 0);
    ag_keys_settle(ks, &t[2], 0, 0);
    /* A long pause refills to the capacity, not beyond. */
    clock_ms += 3600 * 1000;
    assert_int_equal(begin(ks, "m", 0, &t[0], &r), 0);
    assert_int_equal(begin(ks, "m", 0, &t[1], &r), 0);
    assert_int_equal(begin(ks, "m", 0, &t[2], &r), AG_ETOOBIG);
    ag_keys_settle(ks, &t[0], 0, 0);
    ag_keys_settle(ks, &t[1], 0, 0);
    ag_keys_free(ks);
}

static void tpm_bucket_settles_real_usage(void **state)
{
    struct ag_user_key k = {0};
    clock_ms = ts(2026, 5, 1, 12, 0, 0) * 1000;
    k.tpm = 1000;
    struct ag_keys *ks = make(&k, NULL);
    struct ag_keys_ticket t, u;
    struct ag_keys_refusal r;
    assert_int_equal(begin(ks, "m", 600, &t, &r), 0);
    /* 400 left: a request estimated at 500 waits for 100 tokens = 6 s at 1000 per minute. */
    assert_int_equal(begin(ks, "m", 500, &u, &r), AG_ETOOBIG);
    assert_int_equal(r.retry_after_s, 6);
    /* The first used only 100: 500 come back. */
    ag_keys_settle(ks, &t, 60, 40);
    assert_int_equal(begin(ks, "m", 500, &u, &r), 0);
    /* It used 1500 against 500 reserved: the bucket (400 after it began) goes 600 into debt... */
    ag_keys_settle(ks, &u, 1000, 500);
    assert_int_equal(begin(ks, "m", 1, &t, &r), AG_ETOOBIG);
    /* ...and needs 601 tokens of refill: 36.06 s, rounded up. */
    assert_int_equal(r.retry_after_s, 37);
    clock_ms += 37 * 1000;
    assert_int_equal(begin(ks, "m", 1, &t, &r), 0);
    ag_keys_settle(ks, &t, 1, 0);
    /* An estimate above the whole bucket passes when the bucket is full. */
    clock_ms += 120 * 1000;
    assert_int_equal(begin(ks, "m", 5000, &t, &r), 0);
    ag_keys_settle(ks, &t, 10, 10);
    ag_keys_free(ks);
}

static void concurrency_counts_in_flight(void **state)
{
    struct ag_user_key k = {0};
    clock_ms = ts(2026, 5, 1, 12, 0, 0) * 1000;
    k.max_concurrency = 2;
    struct ag_keys *ks = make(&k, NULL);
    struct ag_keys_ticket t[3];
    struct ag_keys_refusal r;
    assert_int_equal(begin(ks, "m", 1, &t[0], &r), 0);
    assert_int_equal(begin(ks, "m", 1, &t[1], &r), 0);
    assert_int_equal(begin(ks, "m", 1, &t[2], &r), AG_ETOOBIG);
    assert_int_equal(r.status, 429);
    assert_true(r.retry_after_s >= 1);
    ag_keys_settle(ks, &t[0], 1, 1);
    ag_keys_settle(ks, &t[0], 1, 1); /* a second settle does nothing */
    struct ag_keys_stat st;
    assert_int_equal(ag_keys_stat_get(ks, "alice", &st), 0);
    assert_int_equal(st.in_flight, 1);
    assert_int_equal(st.day_tokens, 2);
    assert_int_equal(begin(ks, "m", 1, &t[2], &r), 0);
    ag_keys_settle(ks, &t[1], 0, 0);
    ag_keys_settle(ks, &t[2], 0, 0);
    assert_int_equal(ag_keys_stat_get(ks, "alice", &st), 0);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(st.reserved, 0);
    assert_int_equal(st.refused, 1);
    ag_keys_free(ks);
}

static void budget_reservations_bound_a_burst(void **state)
{
    struct ag_user_key k = {0};
    struct alerts a = {0};
    clock_ms = ts(2026, 5, 1, 12, 0, 0) * 1000;
    k.daily_tokens = 1000;
    struct ag_keys *ks = make(&k, &a);
    struct ag_keys_ticket t[20];
    struct ag_keys_refusal r;
    /* A burst of 20 requests estimated at 300: only three fit (900 reserved). */
    int admitted = 0;
    for (int i = 0; i < 20; i++) {
        if (begin(ks, "m", 300, &t[admitted], &r) == 0)
            admitted++;
        else
            assert_string_equal(r.kind, "budget_exceeded");
    }
    assert_int_equal(admitted, 3);
    assert_non_null(strstr(r.message, "daily budget of 1000 tokens"));
    assert_true(r.retry_after_s > 0 && r.retry_after_s <= 12 * 3600);
    /* Each really used 350: the overshoot is what they used beyond their estimates (150). */
    for (int i = 0; i < admitted; i++)
        ag_keys_settle(ks, &t[i], 200, 150);
    struct ag_keys_stat st;
    assert_int_equal(ag_keys_stat_get(ks, "alice", &st), 0);
    assert_int_equal(st.day_tokens, 1050);
    assert_true(st.day_tokens - k.daily_tokens <= admitted * (350 - 300));
    assert_int_equal(begin(ks, "m", 0, &t[0], &r), AG_ETOOBIG);
    /* Alerts: 80 % then 100 %, once each. */
    assert_int_equal(a.n, 2);
    assert_string_equal(a.period[0], "daily");
    assert_int_equal(a.percent[0], 80);
    assert_int_equal(a.percent[1], 100);
    ag_keys_free(ks);
}

static void settling_less_frees_the_rest(void **state)
{
    struct ag_user_key k = {0};
    clock_ms = ts(2026, 5, 1, 12, 0, 0) * 1000;
    k.monthly_tokens = 1000;
    struct ag_keys *ks = make(&k, NULL);
    struct ag_keys_ticket t, u;
    struct ag_keys_refusal r;
    assert_int_equal(begin(ks, "m", 800, &t, &r), 0);
    assert_int_equal(begin(ks, "m", 300, &u, &r), AG_ETOOBIG);
    assert_non_null(strstr(r.message, "monthly budget"));
    ag_keys_settle(ks, &t, 100, 0); /* a failed or short answer gives the reservation back */
    assert_int_equal(begin(ks, "m", 300, &u, &r), 0);
    ag_keys_settle(ks, &u, 0, 0);
    ag_keys_free(ks);
}

static void day_and_month_roll_over_at_utc_edges(void **state)
{
    struct ag_user_key k = {0};
    struct alerts a = {0};
    k.daily_tokens = 100;
    k.monthly_tokens = 250;
    clock_ms = ts(2026, 3, 31, 23, 59, 59) * 1000 + 999; /* last ms of March */
    struct ag_keys *ks = make(&k, &a);
    struct ag_keys_ticket t;
    struct ag_keys_refusal r;
    assert_int_equal(begin(ks, "m", 100, &t, &r), 0);
    /* The request ends after midnight: its usage counts in the new day and month. */
    clock_ms += 1;
    ag_keys_settle(ks, &t, 100, 0);
    struct ag_keys_stat st;
    assert_int_equal(ag_keys_stat_get(ks, "alice", &st), 0);
    assert_int_equal(st.day_tokens, 100);
    assert_int_equal(st.month_tokens, 100);
    assert_int_equal(begin(ks, "m", 1, &t, &r), AG_ETOOBIG);
    assert_non_null(strstr(r.message, "daily"));
    /* The last ms of April 1st: still that day. */
    clock_ms = ts(2026, 4, 1, 23, 59, 59) * 1000 + 999;
    assert_int_equal(begin(ks, "m", 1, &t, &r), AG_ETOOBIG);
    assert_int_equal(r.retry_after_s, 1);
    clock_ms += 1; /* April 2nd: a new day, the same month */
    assert_int_equal(begin(ks, "m", 100, &t, &r), 0);
    ag_keys_settle(ks, &t, 100, 0);
    clock_ms += 86400 * 1000;
    assert_int_equal(begin(ks, "m", 100, &t, &r), AG_ETOOBIG); /* 200 + 100 > 250 */
    assert_non_null(strstr(r.message, "monthly"));
    assert_int_equal(begin(ks, "m", 50, &t, &r), 0);
    ag_keys_settle(ks, &t, 50, 0);
    assert_int_equal(ag_keys_stat_get(ks, "alice", &st), 0);
    assert_int_equal(st.month_tokens, 250);
    /* May 1st 00:00:00.000 UTC: both reset. */
    clock_ms = ts(2026, 5, 1, 0, 0, 0) * 1000;
    assert_int_equal(ag_keys_stat_get(ks, "alice", &st), 0);
    assert_int_equal(st.day_tokens, 0);
    assert_int_equal(st.month_tokens, 0);
    assert_int_equal(begin(ks, "m", 100, &t, &r), 0);
    ag_keys_settle(ks, &t, 100, 0);
    /* Alerts per period: daily 100 (twice, on two days, each with its 80 first), monthly 80 and
     * 100 in April, daily 100 with its 80 again on May 1st... counted, not listed. */
    assert_true(a.n >= 6);
    ag_keys_free(ks);
}

static void reload_keeps_counters_and_seeds_new_keys(void **state)
{
    struct ag_user_key k = {0};
    clock_ms = ts(2026, 5, 1, 12, 0, 0) * 1000;
    k.daily_tokens = 1000;
    k.max_concurrency = 5;
    struct ag_keys *ks = make(&k, NULL);
    struct ag_keys_ticket t;
    struct ag_keys_refusal r;
    assert_int_equal(begin(ks, "m", 100, &t, &r), 0);
    /* A reload (e.g. a rotation: new hash, same name) keeps the request in flight. */
    struct ag_user_key k2[2];
    k2[0] = k;
    const char *secret2 = "sk-ffffffffffffffffffffffffffffffff";
    ag_keys_hash_hex(secret2, strlen(secret2), k2[0].hash, sizeof(k2[0].hash));
    k2[1] = k;
    snprintf(k2[1].name, sizeof(k2[1].name), "bob");
    ag_keys_hash_hex("sk-bob", 6, k2[1].hash, sizeof(k2[1].hash));
    int64_t day[2] = {999, 900}, month[2] = {999, 900};
    ag_keys_set(ks, k2, 2, day, month);
    assert_int_equal(ag_keys_count(ks), 2);
    struct ag_keys_stat st;
    assert_int_equal(ag_keys_stat_get(ks, "alice", &st), 0);
    assert_int_equal(st.in_flight, 1);
    assert_int_equal(st.day_tokens, 0); /* kept, not re-seeded */
    assert_int_equal(ag_keys_stat_get(ks, "bob", &st), 0);
    assert_int_equal(st.day_tokens, 900);
    /* The old secret is gone, the new one works. */
    assert_int_equal(ag_keys_admit(ks, SECRET, strlen(SECRET), "127.0.0.1", NULL),
                     AG_KEYS_NOT_A_KEY);
    assert_int_equal(ag_keys_admit(ks, secret2, strlen(secret2), "127.0.0.1", NULL), AG_KEYS_OK);
    ag_keys_settle(ks, &t, 10, 10);
    assert_int_equal(ag_keys_stat_get(ks, "alice", &st), 0);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(st.day_tokens, 20);
    /* A key dropped while a request is in flight: the ticket still settles safely. */
    assert_int_equal(ag_keys_begin(ks, "sk-bob", 6, "m", 50, &t, &r), 0);
    ag_keys_set(ks, k2, 1, NULL, NULL);
    assert_int_equal(ag_keys_stat_get(ks, "bob", &st), AG_ENOTFOUND);
    ag_keys_settle(ks, &t, 5, 5);
    ag_keys_free(ks);
}

static void helpers(void **state)
{
    char err[128];
    assert_int_equal(ag_keys_cidrs_check("10.0.0.0/8,::1,192.168.1.7", err, sizeof(err)), 0);
    assert_int_equal(ag_keys_cidrs_check("10.0.0.0/33", err, sizeof(err)), AG_EINVAL);
    assert_non_null(strstr(err, "10.0.0.0/33"));
    assert_int_equal(ag_keys_cidrs_check("example.com", err, sizeof(err)), AG_EINVAL);
    assert_true(ag_keys_ip_allowed("", "1.2.3.4"));
    assert_true(ag_keys_ip_allowed("0.0.0.0/0", "1.2.3.4"));
    assert_false(ag_keys_ip_allowed("0.0.0.0/0", "::1"));
    assert_true(ag_keys_ip_allowed("192.168.0.0/23", "192.168.1.255"));
    assert_false(ag_keys_ip_allowed("192.168.0.0/23", "192.168.2.0"));
    assert_false(ag_keys_ip_allowed("10.0.0.0/8", "garbage"));

    int64_t now = ts(2026, 5, 1, 12, 0, 0), e;
    assert_int_equal(ag_keys_parse_expiry("30d", now, &e), 0);
    assert_int_equal(e, now + 30 * 86400);
    assert_int_equal(ag_keys_parse_expiry("12h", now, &e), 0);
    assert_int_equal(e, now + 12 * 3600);
    assert_int_equal(ag_keys_parse_expiry("2026-12-31", now, &e), 0);
    assert_int_equal(e, ts(2027, 1, 1, 0, 0, 0));
    assert_int_equal(ag_keys_parse_expiry("2026-12-31T18:00:00Z", now, &e), 0);
    assert_int_equal(e, ts(2026, 12, 31, 18, 0, 0));
    assert_int_equal(ag_keys_parse_expiry("never", now, &e), 0);
    assert_int_equal(e, 0);
    assert_int_equal(ag_keys_parse_expiry("tomorrow", now, &e), AG_EINVAL);
    assert_int_equal(ag_keys_parse_expiry("0d", now, &e), AG_EINVAL);
    assert_int_equal(ag_keys_parse_expiry("2026-13-01", now, &e), AG_EINVAL);

    assert_int_equal(ag_keys_month_start(ts(2028, 2, 29, 23, 0, 0)), ts(2028, 2, 1, 0, 0, 0));
    assert_int_equal(ag_keys_day_start(ts(2028, 2, 29, 23, 0, 0)), ts(2028, 2, 29, 0, 0, 0));
    assert_int_equal(ag_keys_estimate(400, 0), 100 + AG_KEYS_OUTPUT_DEFAULT);
    assert_int_equal(ag_keys_estimate(400, 10), 110);
    assert_int_equal(ag_keys_estimate(0, 1000000), AG_KEYS_OUTPUT_CAP);

    char secret[40], hash[65];
    assert_int_equal(ag_keys_generate(secret, sizeof(secret), hash, sizeof(hash)), 0);
    assert_int_equal(strlen(secret), 35);
    assert_memory_equal(secret, "sk-", 3);
    assert_int_equal(strlen(hash), 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_secrets_are_not_keys),
        cmocka_unit_test(states_expiry_and_addresses),
        cmocka_unit_test(model_patterns),
        cmocka_unit_test(rpm_bucket_refills_evenly),
        cmocka_unit_test(tpm_bucket_settles_real_usage),
        cmocka_unit_test(concurrency_counts_in_flight),
        cmocka_unit_test(budget_reservations_bound_a_burst),
        cmocka_unit_test(settling_less_frees_the_rest),
        cmocka_unit_test(day_and_month_roll_over_at_utc_edges),
        cmocka_unit_test(reload_keeps_counters_and_seeds_new_keys),
        cmocka_unit_test(helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
