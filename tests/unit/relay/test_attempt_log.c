/* Unit tests for relay/attempt_log.c: stage times from the marks the relay makes, the reason an
 * attempt moved on, the bound on attempts kept, and a cut reason that stays valid UTF-8 JSON. */
#include "ag_test.h"

#include "relay/attempt_log.h"

#include <stdio.h>
#include <string.h>
#include <yyjson.h>

#define MS 1000u /* µs per ms */

static yyjson_doc *to_json(const struct ag_attempt_log *log)
{
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    assert_int_equal(ag_attempt_log_json(log, &b), 0);
    yyjson_doc *d = yyjson_read(b.data, b.len, 0);
    assert_non_null(d);
    ag_buf_dispose(&b);
    return d;
}

static void rotation_after_a_429_keeps_both_attempts(void **state)
{
    struct ag_attempt_log log;
    ag_attempt_log_init(&log, 1000 * MS);
    ag_attempt_log_begin(&log, 1002 * MS);
    ag_attempt_log_acquired(&log, "a@example.com", "gemini-2.5-flash", 1005 * MS);
    ag_attempt_log_sent(&log, 1006 * MS);
    ag_attempt_log_head(&log, 429, 1046 * MS);
    ag_attempt_log_end(&log, 429, "rate_limited", "Resource exhausted\nretry in 30s", 1050 * MS);
    ag_attempt_log_begin(&log, 1051 * MS);
    ag_attempt_log_acquired(&log, "b@example.com", "gemini-2.5-flash", 1052 * MS);
    ag_attempt_log_sent(&log, 1052 * MS);
    ag_attempt_log_head(&log, 200, 1152 * MS);
    ag_attempt_log_token(&log, 1202 * MS);
    ag_attempt_log_token(&log, 1302 * MS); /* only the first counts */
    ag_attempt_log_end(&log, 200, "ok", NULL, 1402 * MS);
    ag_attempt_log_end(&log, 500, "late", NULL, 1500 * MS); /* nothing open: ignored */

    yyjson_doc *d = to_json(&log);
    yyjson_val *arr = yyjson_doc_get_root(d);
    assert_int_equal(yyjson_arr_size(arr), 2);
    yyjson_val *a = yyjson_arr_get(arr, 0), *b = yyjson_arr_get(arr, 1);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(a, "account")), "a@example.com");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(a, "outcome")), "rate_limited");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(a, "reason")),
                        "Resource exhausted retry in 30s");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(a, "status")), 429);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(a, "start_ms")), 2);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(a, "acquire_ms")), 3);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(a, "upstream_ms")), 40);
    assert_true(yyjson_is_null(yyjson_obj_get(a, "first_token_ms")));
    assert_int_equal(yyjson_get_int(yyjson_obj_get(a, "stream_ms")), 4);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(b, "account")), "b@example.com");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(b, "outcome")), "ok");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(b, "status")), 200);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(b, "start_ms")), 51);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(b, "upstream_ms")), 100);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(b, "first_token_ms")), 150);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(b, "stream_ms")), 250);
    yyjson_doc_free(d);
    ag_attempt_log_dispose(&log);
}

static void no_account_and_transport_failure(void **state)
{
    struct ag_attempt_log log;
    ag_attempt_log_init(&log, 0);
    /* the upstream never answered: the time until the failure is the upstream stage */
    ag_attempt_log_begin(&log, 0);
    ag_attempt_log_acquired(&log, "a@example.com", "m", 1 * MS);
    ag_attempt_log_sent(&log, 1 * MS);
    ag_attempt_log_end(&log, 0, "transport", "connection refused", 31 * MS);
    /* the pool had nothing */
    ag_attempt_log_begin(&log, 32 * MS);
    ag_attempt_log_end(&log, 0, "no_account", "every account is cooling down", 33 * MS);
    yyjson_doc *d = to_json(&log);
    yyjson_val *arr = yyjson_doc_get_root(d);
    yyjson_val *a = yyjson_arr_get(arr, 0), *b = yyjson_arr_get(arr, 1);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(a, "upstream_ms")), 30);
    assert_true(yyjson_is_null(yyjson_obj_get(a, "stream_ms")));
    assert_int_equal(yyjson_get_int(yyjson_obj_get(a, "status")), 0);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(b, "account")), "");
    assert_true(yyjson_is_null(yyjson_obj_get(b, "acquire_ms")));
    assert_string_equal(yyjson_get_str(yyjson_obj_get(b, "outcome")), "no_account");
    yyjson_doc_free(d);
    ag_attempt_log_dispose(&log);
}

static void bounded_with_the_last_attempt_kept(void **state)
{
    struct ag_attempt_log log;
    char acct[32];
    ag_attempt_log_init(&log, 0);
    for (int i = 0; i < AG_ATTEMPT_LOG_MAX + 3; i++) {
        snprintf(acct, sizeof(acct), "n%d@example.com", i);
        ag_attempt_log_begin(&log, (uint64_t)i * MS);
        ag_attempt_log_acquired(&log, acct, "m", (uint64_t)i * MS);
        ag_attempt_log_end(&log, 503, "upstream_5xx", NULL, (uint64_t)i * MS);
    }
    assert_int_equal(log.n, AG_ATTEMPT_LOG_MAX);
    assert_int_equal(log.dropped, 3);
    yyjson_doc *d = to_json(&log);
    yyjson_val *arr = yyjson_doc_get_root(d);
    assert_int_equal(yyjson_arr_size(arr), AG_ATTEMPT_LOG_MAX + 1);
    snprintf(acct, sizeof(acct), "n%d@example.com", AG_ATTEMPT_LOG_MAX + 2);
    assert_string_equal(
        yyjson_get_str(yyjson_obj_get(yyjson_arr_get(arr, AG_ATTEMPT_LOG_MAX - 1), "account")),
        acct);
    assert_int_equal(
        yyjson_get_int(yyjson_obj_get(yyjson_arr_get(arr, AG_ATTEMPT_LOG_MAX), "dropped")), 3);
    yyjson_doc_free(d);
    ag_attempt_log_dispose(&log);
}

/* One attempt needs no memory of its own: a stream keeps its log for its whole life. */
static void one_attempt_allocates_nothing(void **state)
{
    struct ag_attempt_log log;
    ag_attempt_log_init(&log, 0);
    ag_attempt_log_begin(&log, 0);
    ag_attempt_log_acquired(&log, "a@example.com", "m", 1 * MS);
    ag_attempt_log_end(&log, 200, "ok", NULL, 2 * MS);
    assert_null(log.more);
    assert_true(sizeof(log) < 2 * sizeof(struct ag_attempt));
    assert_string_equal(ag_attempt_log_at(&log, 0)->account, "a@example.com");
    ag_attempt_log_begin(&log, 3 * MS);
    assert_non_null(log.more);
    assert_int_equal(log.n, 2);
    ag_attempt_log_dispose(&log);
}

static void a_cut_reason_stays_valid_utf8(void **state)
{
    struct ag_attempt_log log;
    char reason[600];
    memset(reason, 'x', sizeof(reason));
    /* "é" (2 bytes) straddles the 256-byte field's last byte */
    reason[254] = (char)0xC3;
    reason[255] = (char)0xA9;
    reason[sizeof(reason) - 1] = '\0';
    ag_attempt_log_init(&log, 0);
    ag_attempt_log_begin(&log, 0);
    ag_attempt_log_end(&log, 400, "bad_request", reason, 0);
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    assert_int_equal(ag_attempt_log_json(&log, &b), 0);
    /* yyjson refuses invalid UTF-8 by default */
    yyjson_doc *d = yyjson_read(b.data, b.len, 0);
    assert_non_null(d);
    const char *got =
        yyjson_get_str(yyjson_obj_get(yyjson_arr_get(yyjson_doc_get_root(d), 0), "reason"));
    assert_int_equal(strlen(got), 254);
    yyjson_doc_free(d);
    ag_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rotation_after_a_429_keeps_both_attempts),
        cmocka_unit_test(no_account_and_transport_failure),
        cmocka_unit_test(bounded_with_the_last_attempt_kept),
        cmocka_unit_test(a_cut_reason_stays_valid_utf8),
        cmocka_unit_test(one_attempt_allocates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
