/* core/failure.c: the failure tables (see failure.h). Each table is read by index or by a short
 * scan; no other file keeps its own switch over these kinds. */
#include "core/failure.h"

#include <stddef.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The upstream failure kinds. Retrying moves to another account (or, for a 401, the same account
 * after a token refresh): a 404 may be served by another account's model list, a 403 or 5xx by
 * another account; a bad request or an unreadable answer fails the same way anywhere. A client
 * never sees 401/403 for the gateway's own accounts: its key was fine, the pool was not (503). */
static const struct ag_failure failures[] = {
    /* a final 3xx: not an account's failure, yet nothing the client can use */
    [AG_ERRCLASS_NONE] = {"none", false, AG_POOL_REQUEST_ERROR, 502, 0, false},
    [AG_ERRCLASS_RATE_LIMITED] = {"rate_limited", true, AG_POOL_RATE_LIMITED, 429, 0, false},
    [AG_ERRCLASS_UNAUTHORIZED] = {"unauthorized", true, AG_POOL_UNAUTHORIZED, 503, 0, false},
    [AG_ERRCLASS_FORBIDDEN] = {"forbidden", true, AG_POOL_FORBIDDEN, 503, 0, false},
    [AG_ERRCLASS_NOT_FOUND] = {"not_found", true, AG_POOL_MODEL_GONE, 404, 0, false},
    [AG_ERRCLASS_BAD_REQUEST] = {"bad_request", false, AG_POOL_REQUEST_ERROR, 400, 0, true},
    [AG_ERRCLASS_SERVER_ERROR] = {"server_error", true, AG_POOL_SERVER_ERROR, 502, 503, false},
    [AG_ERRCLASS_TIMEOUT] = {"timeout", true, AG_POOL_TRANSPORT, 504, 0, false},
    [AG_ERRCLASS_TRANSPORT] = {"transport", true, AG_POOL_TRANSPORT, 502, 0, false},
    [AG_ERRCLASS_MALFORMED_STREAM] = {"malformed_stream", false, AG_POOL_REQUEST_ERROR, 502, 0,
                                      false},
};

static const struct ag_failure unknown_failure = {"unknown", false, AG_POOL_REQUEST_ERROR,
                                                  502,       0,     false};

const struct ag_failure *ag_failure_of(enum ag_errclass_kind kind)
{
    if ((unsigned)kind < COUNT(failures) && failures[kind].name)
        return &failures[kind];
    return &unknown_failure;
}

int ag_failure_client_status(enum ag_errclass_kind kind, int upstream_status, bool overloaded)
{
    const struct ag_failure *f = ag_failure_of(kind);
    if (f->pass_4xx && upstream_status >= 400 && upstream_status < 500)
        return upstream_status;
    if (overloaded && f->status_overloaded)
        return f->status_overloaded;
    return f->status;
}

/* The client error kinds as the protocol adapters write them. */
static const struct ag_error_names kind_names[] = {
    [AG_PERR_INVALID] = {"invalid_request_error", "invalid_request_error", "invalid_prompt"},
    [AG_PERR_AUTH] = {"authentication_error", "authentication_error", "server_error"},
    [AG_PERR_PERMISSION] = {"permission_error", "permission_error", "server_error"},
    [AG_PERR_NOT_FOUND] = {"not_found_error", "not_found_error", "server_error"},
    [AG_PERR_TOO_LARGE] = {"invalid_request_error", "request_too_large", "invalid_prompt"},
    [AG_PERR_RATE_LIMIT] = {"rate_limit_error", "rate_limit_error", "rate_limit_exceeded"},
    [AG_PERR_SERVER] = {"server_error", "api_error", "server_error"},
    [AG_PERR_UPSTREAM] = {"upstream_error", "api_error", "server_error"},
    [AG_PERR_OVERLOADED] = {"server_error", "overloaded_error", "server_error"},
    [AG_PERR_TIMEOUT] = {"timeout_error", "timeout_error", "server_error"},
};

const struct ag_error_names *ag_error_names_of(enum ag_error_kind kind)
{
    if ((unsigned)kind < COUNT(kind_names) && kind_names[kind].openai)
        return &kind_names[kind];
    return &kind_names[AG_PERR_SERVER];
}

/* The statuses the gateway answers with, as its own refusals name them. These names are older
 * than the adapters' (kind_names) and differ from them in a few places that clients may already
 * match on (OpenAI 404/408/502/504, Anthropic 408/503/504), so both are kept as they are. */
#define INV "invalid_request_error"
static const struct ag_status_names statuses[] = {
    {400, AG_PERR_INVALID, INV, INV, "INVALID_ARGUMENT"},
    {401, AG_PERR_AUTH, "authentication_error", "authentication_error", "UNAUTHENTICATED"},
    {403, AG_PERR_PERMISSION, "permission_error", "permission_error", "PERMISSION_DENIED"},
    {404, AG_PERR_NOT_FOUND, INV, "not_found_error", "NOT_FOUND"},
    {405, AG_PERR_INVALID, INV, INV, "UNIMPLEMENTED"},
    {408, AG_PERR_TIMEOUT, INV, INV, "DEADLINE_EXCEEDED"},
    {409, AG_PERR_INVALID, INV, INV, "ABORTED"},
    {413, AG_PERR_TOO_LARGE, INV, "request_too_large", "INVALID_ARGUMENT"},
    {422, AG_PERR_INVALID, INV, INV, "INVALID_ARGUMENT"},
    {429, AG_PERR_RATE_LIMIT, "rate_limit_error", "rate_limit_error", "RESOURCE_EXHAUSTED"},
    {431, AG_PERR_INVALID, INV, INV, "INVALID_ARGUMENT"},
    {501, AG_PERR_SERVER, "server_error", "api_error", "UNIMPLEMENTED"},
    {502, AG_PERR_UPSTREAM, "server_error", "api_error", "UNAVAILABLE"},
    {503, AG_PERR_OVERLOADED, "server_error", "api_error", "UNAVAILABLE"},
    {504, AG_PERR_TIMEOUT, "server_error", "api_error", "DEADLINE_EXCEEDED"},
    {529, AG_PERR_OVERLOADED, "server_error", "overloaded_error", "UNAVAILABLE"},
};
static const struct ag_status_names other_client_status = {0, AG_PERR_INVALID, INV, INV,
                                                           "FAILED_PRECONDITION"};
static const struct ag_status_names other_server_status = {0, AG_PERR_SERVER, "server_error",
                                                           "api_error", "INTERNAL"};
#undef INV

const struct ag_status_names *ag_status_names_of(int status)
{
    for (size_t i = 0; i < COUNT(statuses); i++) {
        if (statuses[i].status == status)
            return &statuses[i];
    }
    return status >= 500 ? &other_server_status : &other_client_status;
}

enum ag_error_kind ag_error_kind_for_status(int status)
{
    return ag_status_names_of(status)->kind;
}
