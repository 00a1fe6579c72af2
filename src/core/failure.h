/* core/failure.h: what a failure means, decided in one place. An upstream failure kind (what
 * upstream/errclass.c made of a status, body or transport error) has one row in one table: may
 * another attempt succeed, what the account pool does about it, and what the client is told (HTTP
 * status, then the error kind whose type strings each protocol writes). The client-side error
 * kinds and the HTTP statuses the gateway answers with have their protocol names here too, so the
 * error formats of the server (http/errfmt.c), the protocol adapters (proto/) and the relay cannot
 * drift apart.
 *
 * Pure data: the layers above (http, upstream, proto, pool, relay) all read it; nothing here
 * does I/O or knows a connection. */
#ifndef AG_CORE_FAILURE_H
#define AG_CORE_FAILURE_H

#include <stdbool.h>

/** What an upstream answer or transport failure was (upstream/errclass.h classifies). */
enum ag_errclass_kind {
    AG_ERRCLASS_NONE = 0,         /* not a failure (2xx/3xx) */
    AG_ERRCLASS_RATE_LIMITED,     /* 429 */
    AG_ERRCLASS_UNAUTHORIZED,     /* 401: the access token is bad or expired */
    AG_ERRCLASS_FORBIDDEN,        /* 403 (see validation_required) */
    AG_ERRCLASS_NOT_FOUND,        /* 404 */
    AG_ERRCLASS_BAD_REQUEST,      /* 400 and other 4xx not listed here */
    AG_ERRCLASS_SERVER_ERROR,     /* 5xx (see overloaded) */
    AG_ERRCLASS_TIMEOUT,          /* our timeouts, or an upstream 408 */
    AG_ERRCLASS_TRANSPORT,        /* connect/DNS/TLS/proxy/reset failures */
    AG_ERRCLASS_MALFORMED_STREAM, /* the body or stream could not be parsed */
};

/** What the account pool does with one attempt's outcome (pool/health.c acts on it). */
enum ag_pool_outcome_kind {
    AG_POOL_OK = 0,        /* 2xx answer: clears the account's cooldowns */
    AG_POOL_RATE_LIMITED,  /* 429: cooldown of account x group (or a suspect request) */
    AG_POOL_UNAUTHORIZED,  /* 401: the token is refreshed before the account's next use */
    AG_POOL_FORBIDDEN,     /* 403: account marked forbidden (disabled) in the store */
    AG_POOL_SERVER_ERROR,  /* 5xx (incl. 529 overloaded): cooldown of account x group */
    AG_POOL_TRANSPORT,     /* connect/TLS/proxy/reset/timeout: short whole-account cooldown */
    AG_POOL_REQUEST_ERROR, /* 400 and other faults of the request, not the account:
                              nothing (no cooldown) */
    AG_POOL_MODEL_GONE,    /* 404 NOT_FOUND: this account does not serve o->model; it is not
                              offered that model again until its next quota refresh */
};

/** Kinds of errors a client is told about, named by cause; each protocol names them its way. */
enum ag_error_kind {
    AG_PERR_INVALID = 0, /* 400: the client's request is wrong */
    AG_PERR_AUTH,        /* 401 */
    AG_PERR_PERMISSION,  /* 403 */
    AG_PERR_NOT_FOUND,   /* 404 */
    AG_PERR_TOO_LARGE,   /* 413 */
    AG_PERR_RATE_LIMIT,  /* 429 */
    AG_PERR_SERVER,      /* 500 */
    AG_PERR_UPSTREAM,    /* 502: the upstream failed or answered nonsense */
    AG_PERR_OVERLOADED,  /* 503 / 529 */
    AG_PERR_TIMEOUT,     /* 504 */
};

/** One upstream failure kind: everything the gateway decides from it. */
struct ag_failure {
    const char *name;               /* stable lower-case name ("rate_limited") */
    bool retryable;                 /* another attempt (account) may succeed */
    enum ag_pool_outcome_kind pool; /* what the pool does with the account */
    int status;                     /* the client's HTTP status when this ends the request */
    int status_overloaded;          /* instead of status when the upstream said it is overloaded
                                       (0 = no difference) */
    bool pass_4xx;                  /* the upstream's own 4xx status goes to the client */
};

/** The row of kind; an out-of-range kind gets a row named "unknown" (not retryable, 502). */
const struct ag_failure *ag_failure_of(enum ag_errclass_kind kind);

/**
 * The client's HTTP status when a failure of kind ends the request: the row's status, the
 * upstream's own status (upstream_status) where the row passes 4xx through, or the overloaded
 * status when overloaded.
 */
int ag_failure_client_status(enum ag_errclass_kind kind, int upstream_status, bool overloaded);

/** How each protocol names a client error kind in the bodies the adapters write. */
struct ag_error_names {
    const char *openai;    /* OpenAI error.type ("invalid_request_error") */
    const char *anthropic; /* Anthropic error.type ("not_found_error") */
    const char *responses; /* Responses API error.code of a failed response ("server_error") */
};

/** The names of kind; an out-of-range kind gets the server-error names. Never NULL. */
const struct ag_error_names *ag_error_names_of(enum ag_error_kind kind);

/**
 * An HTTP status the gateway answers with: the client error kind that matches it, and how the
 * server's own error bodies (http/errfmt.c) name it in each protocol.
 */
struct ag_status_names {
    int status;              /* 0 for the fallback rows of other 4xx / 5xx statuses */
    enum ag_error_kind kind; /* what ag_error_kind_for_status answers */
    const char *openai;      /* OpenAI error.type */
    const char *anthropic;   /* Anthropic error.type */
    const char *gemini;      /* Google error.status ("RESOURCE_EXHAUSTED") */
};

/** The names of status (a fallback row for statuses not listed). Never NULL. */
const struct ag_status_names *ag_status_names_of(int status);

/** The kind that best matches an HTTP status (for upstream failures passed on to clients). */
enum ag_error_kind ag_error_kind_for_status(int status);

#endif
