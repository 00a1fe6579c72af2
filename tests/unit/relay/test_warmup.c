/* Unit tests of the warm-up schedule (relay/warmup.h ag_warmup_next_fire) and of the time-of-day
 * syntax of warmup.times (config.h ag_config_time_of_day): the next fire from a list of local
 * times and a given now, strictly after now, across midnight, unsorted lists, seconds, and the two
 * DST days of a zone with summer time (POSIX TZ strings, so no tz database is needed). */
#include "ag_test.h"

#include <stdlib.h>
#include <time.h>

#include "config/config.h"
#include "core/err.h"
#include "relay/warmup.h"

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static int32_t tod(const char *s)
{
    int32_t v = -1;
    assert_int_equal(ag_config_time_of_day(s, &v), 0);
    return v;
}

static void time_of_day_syntax(void **state)
{
    int32_t v = -1;
    assert_int_equal(tod("00:00"), 0);
    assert_int_equal(tod("07:00"), 7 * 3600);
    assert_int_equal(tod("23:59:59"), 86399);
    assert_int_equal(tod("18:00:30"), 18 * 3600 + 30);
    const char *bad[] = {"24:00",  "7:00", "07:60",       "07:00:60", "07-00",  "0700",
                         "07:00:", "",     "07:00:00:00", "ab:cd",    " 07:00", "07:00 "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ag_config_time_of_day(bad[i], &v) != AG_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
    }
    assert_int_equal(ag_config_time_of_day(NULL, &v), AG_EINVAL);
}

static void next_fire_in_utc(void **state)
{
    set_tz("UTC0");
    int32_t seven[] = {tod("07:00")};
    /* 2026-01-10 06:59:59 UTC: the same day at 07:00. */
    assert_int_equal(ag_warmup_next_fire(seven, 1, 1768028399), 1768028400);
    /* Exactly at the time: strictly after, so the next day. */
    assert_int_equal(ag_warmup_next_fire(seven, 1, 1768028400), 1768114800);
    /* Across midnight: 23:30 with 00:15 and 07:00 gives 00:15 of the next day. */
    int32_t night[] = {tod("07:00"), tod("00:15")};
    assert_int_equal(ag_warmup_next_fire(night, 2, 1768087800), 1768090500);
    /* Unsorted, at 12:00:01: 18:00. */
    int32_t three[] = {tod("18:00"), tod("06:30"), tod("12:00")};
    assert_int_equal(ag_warmup_next_fire(three, 3, 1768046401), 1768068000);
    /* Seconds count: 12:00:30 is 29 s after 12:00:01. */
    int32_t secs[] = {tod("12:00:30")};
    assert_int_equal(ag_warmup_next_fire(secs, 1, 1768046401), 1768046430);
    /* Nothing scheduled. */
    assert_int_equal(ag_warmup_next_fire(NULL, 0, 1768046401), 0);
}

static void next_fire_follows_the_local_zone(void **state)
{
    /* UTC-5 (no DST in this string): 07:00 local is 12:00 UTC. */
    set_tz("EST5");
    int32_t seven[] = {tod("07:00")};
    assert_int_equal(ag_warmup_next_fire(seven, 1, 1768028400), 1768046400);
}

static void next_fire_on_dst_days(void **state)
{
    /* Central Europe: summer time from the last Sunday of March 02:00 to the last Sunday of
     * October 03:00. */
    set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
    int32_t t0230[] = {tod("02:30")};
    int32_t t0700[] = {tod("07:00")};
    /* 2026-03-29 00:00 CET. 07:00 is CEST that day: 05:00 UTC. */
    assert_int_equal(ag_warmup_next_fire(t0700, 1, 1774738800), 1774738800 + 6 * 3600);
    /* 02:30 does not exist that day: it fires once that night at the instant mktime shifts it
     * to (between 00:30 and 01:30 UTC), never skipping the day. */
    int64_t f = ag_warmup_next_fire(t0230, 1, 1774738800);
    assert_true(f >= 1774747800 - 3600 && f <= 1774747800);
    assert_true(ag_warmup_next_fire(t0230, 1, f) > f + 20 * 3600);
    /* 2026-10-25 00:00 CEST: 02:30 happens twice; it fires once, then the next day 02:30 CET. */
    f = ag_warmup_next_fire(t0230, 1, 1792879200);
    assert_true(f == 1792888200 || f == 1792891800);
    assert_int_equal(ag_warmup_next_fire(t0230, 1, f), 1792978200);
    /* 07:00 that day is CET again: 06:00 UTC. */
    assert_int_equal(ag_warmup_next_fire(t0700, 1, 1792879200), 1792879200 + 8 * 3600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_of_day_syntax),
        cmocka_unit_test(next_fire_in_utc),
        cmocka_unit_test(next_fire_follows_the_local_zone),
        cmocka_unit_test(next_fire_on_dst_days),
    };
    return cmocka_run_group_tests_name("relay.warmup", tests, NULL, NULL);
}
