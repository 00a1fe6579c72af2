/* Unit tests for core/failure: the one table of what an upstream failure means (retry, the pool's
 * action, the client's status) and the protocol names of client error kinds and statuses. */
#include "ag_test.h"

#include "core/failure.h"

#include <string.h>

static void every_upstream_kind_has_a_row(void **state)
{
    for (int k = AG_ERRCLASS_NONE; k <= AG_ERRCLASS_MALFORMED_STREAM; k++) {
        const struct ag_failure *f = ag_failure_of((enum ag_errclass_kind)k);
        assert_non_null(f->name);
        assert_string_not_equal(f->name, "unknown");
        assert_true(f->status >= 400 && f->status < 600);
    }
    assert_string_equal(ag_failure_of((enum ag_errclass_kind)99)->name, "unknown");
    assert_false(ag_failure_of((enum ag_errclass_kind)99)->retryable);
}

static void retry_and_pool_action_per_kind(void **state)
{
    static const struct {
        enum ag_errclass_kind kind;
        bool retryable;
        enum ag_pool_outcome_kind pool;
    } want[] = {
        {AG_ERRCLASS_NONE, false, AG_POOL_REQUEST_ERROR},
        {AG_ERRCLASS_RATE_LIMITED, true, AG_POOL_RATE_LIMITED},
        {AG_ERRCLASS_UNAUTHORIZED, true, AG_POOL_UNAUTHORIZED},
        {AG_ERRCLASS_FORBIDDEN, true, AG_POOL_FORBIDDEN},
        {AG_ERRCLASS_NOT_FOUND, true, AG_POOL_MODEL_GONE},
        {AG_ERRCLASS_BAD_REQUEST, false, AG_POOL_REQUEST_ERROR},
        {AG_ERRCLASS_SERVER_ERROR, true, AG_POOL_SERVER_ERROR},
        {AG_ERRCLASS_TIMEOUT, true, AG_POOL_TRANSPORT},
        {AG_ERRCLASS_TRANSPORT, true, AG_POOL_TRANSPORT},
        {AG_ERRCLASS_MALFORMED_STREAM, false, AG_POOL_REQUEST_ERROR},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct ag_failure *f = ag_failure_of(want[i].kind);
        assert_int_equal(f->retryable, want[i].retryable);
        assert_int_equal(f->pool, want[i].pool);
    }
}

static void client_status_per_kind(void **state)
{
    assert_int_equal(ag_failure_client_status(AG_ERRCLASS_RATE_LIMITED, 429, false), 429);
    /* the gateway's accounts failed, not the client's key */
    assert_int_equal(ag_failure_client_status(AG_ERRCLASS_UNAUTHORIZED, 401, false), 503);
    assert_int_equal(ag_failure_client_status(AG_ERRCLASS_FORBIDDEN, 403, false), 503);
    assert_int_equal(ag_failure_client_status(AG_ERRCLASS_NOT_FOUND, 404, false), 404);
    /* a bad request passes its own 4xx on */
    assert_int_equal(ag_failure_client_status(AG_ERRCLASS_BAD_REQUEST, 400, false), 400);
    assert_int_equal(ag_failure_client_status(AG_ERRCLASS_BAD_REQUEST, 413, false), 413);
    assert_int_equal(ag_failure_client_status(AG_ERRCLASS_BAD_REQUEST, 0, false), 400);
    assert_int_equal(ag_failure_client_status(AG_ERRCLASS_SERVER_ERROR, 500, false), 502);
    assert_int_equal(ag_failure_client_status(AG_ERRCLASS_SERVER_ERROR, 529, true), 503);
    assert_int_equal(ag_failure_client_status(AG_ERRCLASS_TIMEOUT, 0, false), 504);
    assert_int_equal(ag_failure_client_status(AG_ERRCLASS_TRANSPORT, 0, false), 502);
    assert_int_equal(ag_failure_client_status(AG_ERRCLASS_MALFORMED_STREAM, 200, false), 502);
    assert_int_equal(ag_failure_client_status(AG_ERRCLASS_NONE, 302, false), 502);
    /* only a 4xx passes through: a 2xx bad request is still 400 */
    assert_int_equal(ag_failure_client_status(AG_ERRCLASS_BAD_REQUEST, 200, false), 400);
}

static void status_to_kind(void **state)
{
    assert_int_equal(ag_error_kind_for_status(400), AG_PERR_INVALID);
    assert_int_equal(ag_error_kind_for_status(422), AG_PERR_INVALID);
    assert_int_equal(ag_error_kind_for_status(401), AG_PERR_AUTH);
    assert_int_equal(ag_error_kind_for_status(403), AG_PERR_PERMISSION);
    assert_int_equal(ag_error_kind_for_status(404), AG_PERR_NOT_FOUND);
    assert_int_equal(ag_error_kind_for_status(408), AG_PERR_TIMEOUT);
    assert_int_equal(ag_error_kind_for_status(413), AG_PERR_TOO_LARGE);
    assert_int_equal(ag_error_kind_for_status(429), AG_PERR_RATE_LIMIT);
    assert_int_equal(ag_error_kind_for_status(500), AG_PERR_SERVER);
    assert_int_equal(ag_error_kind_for_status(502), AG_PERR_UPSTREAM);
    assert_int_equal(ag_error_kind_for_status(503), AG_PERR_OVERLOADED);
    assert_int_equal(ag_error_kind_for_status(529), AG_PERR_OVERLOADED);
    assert_int_equal(ag_error_kind_for_status(504), AG_PERR_TIMEOUT);
    assert_int_equal(ag_error_kind_for_status(418), AG_PERR_INVALID);
    assert_int_equal(ag_error_kind_for_status(599), AG_PERR_SERVER);
}

static void protocol_names(void **state)
{
    assert_string_equal(ag_error_names_of(AG_PERR_NOT_FOUND)->openai, "not_found_error");
    assert_string_equal(ag_error_names_of(AG_PERR_TOO_LARGE)->anthropic, "request_too_large");
    assert_string_equal(ag_error_names_of(AG_PERR_OVERLOADED)->anthropic, "overloaded_error");
    assert_string_equal(ag_error_names_of(AG_PERR_RATE_LIMIT)->responses, "rate_limit_exceeded");
    assert_string_equal(ag_error_names_of(AG_PERR_TOO_LARGE)->responses, "invalid_prompt");
    assert_string_equal(ag_error_names_of((enum ag_error_kind)77)->openai, "server_error");
    assert_string_equal(ag_status_names_of(404)->openai, "invalid_request_error");
    assert_string_equal(ag_status_names_of(529)->anthropic, "overloaded_error");
    assert_string_equal(ag_status_names_of(503)->anthropic, "api_error");
    assert_string_equal(ag_status_names_of(429)->gemini, "RESOURCE_EXHAUSTED");
    assert_string_equal(ag_status_names_of(415)->gemini, "FAILED_PRECONDITION");
    assert_string_equal(ag_status_names_of(500)->gemini, "INTERNAL");
    assert_string_equal(ag_status_names_of(405)->gemini, "UNIMPLEMENTED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_upstream_kind_has_a_row),
        cmocka_unit_test(retry_and_pool_action_per_kind),
        cmocka_unit_test(client_status_per_kind),
        cmocka_unit_test(status_to_kind),
        cmocka_unit_test(protocol_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
